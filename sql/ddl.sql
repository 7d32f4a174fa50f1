-- featstore statement language: definitions, catalog, history
SET client_min_messages = notice;

-- entities: single, integer and compound keys, several statements per block
SELECT * FROM featstore.exec($$
	CREATE ENTITY user (user_id text) DESCRIPTION 'A customer of the bank' OWNER 'fraud-team';
	CREATE ENTITY merchant (merchant_id bigint) OWNER 'payments';
	-- a compound key: the same device id can exist in two regions
	CREATE ENTITY device (region text, device_id uuid);
$$);

SELECT name, description, owner FROM featstore.entities ORDER BY name;
SELECT entity_name, position, column_name, data_type FROM featstore.entity_keys ORDER BY 1, 2;

-- the fraud example from the seeds
DO LANGUAGE featstore $$
CREATE FEATURE GROUP user_transaction_features
    ENTITY user
    FEATURES (
        tx_count_1h         bigint            'Transaction count in last 1 hour',
        tx_count_24h        bigint            'Transaction count in last 24 hours',
        tx_amount_sum_1h    double precision  'Sum of transaction amounts, 1h window',
        tx_amount_avg_30d   double precision  'Average transaction amount, 30d window' TAGS ('amount'),
        tx_amount_std_30d   double precision  'Std deviation of amounts, 30d window',
        unique_merchants_7d bigint            'Unique merchants in last 7 days',
        max_single_tx_24h   double precision  'Largest single transaction, 24h',
        is_new_device       bigint            'Device not seen in last 90 days'
    )
    TTL '24 hours' ONLINE
    TAGS ('fraud', 'transactions') OWNER 'fraud-team'
    DESCRIPTION 'Rolling transaction statistics per user for fraud scoring';
$$;

\d user_transaction_features
SELECT obj_description('user_transaction_features'::regclass, 'pg_class');
SELECT attname, col_description(attrelid, attnum)
  FROM pg_attribute WHERE attrelid = 'user_transaction_features'::regclass AND attnum > 0
 ORDER BY attnum;

-- a group in its own schema, without TTL, offline; options in any order
CREATE SCHEMA ml;
SELECT * FROM featstore.exec($$
	CREATE FEATURE GROUP IF NOT EXISTS ml.merchant_features
		ENTITY merchant
		FEATURES (chargeback_rate_90d numeric(6,4) 'Chargebacks per sale, 90 days', category text)
		OWNER 'payments' OFFLINE TAGS ('fraud', 'merchant');
$$);
\d ml.merchant_features

-- compound keys, and every supported type family
DO LANGUAGE featstore $$
CREATE FEATURE GROUP device_profile ENTITY device FEATURES (
	f_smallint smallint, f_integer integer, f_bigint bigint, f_real real,
	f_double double precision, f_numeric numeric(12, 2), f_text text,
	f_varchar varchar(20), f_bool boolean, f_date date, f_ts timestamp,
	f_tstz timestamp with time zone, f_interval interval, f_uuid uuid,
	f_jsonb jsonb, f_json json, f_bytea bytea,
	embedding real[] 'Device embedding, 8 dimensions', f_tags text[]
) TTL '1 day 2 hours';
$$;
\d device_profile

-- the catalog: one row per feature
SELECT group_name, feature_name, data_type, status, entity_name, entity_key, ttl, online, owner, table_name
  FROM featstore.catalog ORDER BY group_name, position;
SELECT group_name, entity_key, table_name, active_features, deprecated_features, ttl, online, tags
  FROM featstore.group_overview ORDER BY group_name;

-- IF NOT EXISTS skips an existing group and says so
SELECT * FROM featstore.exec($$
	CREATE FEATURE GROUP IF NOT EXISTS user_transaction_features ENTITY user FEATURES (x int);
	CREATE ENTITY IF NOT EXISTS user (user_id text);
$$);

-- ALTER FEATURE GROUP: several actions in one statement
SELECT * FROM featstore.exec($$
	ALTER FEATURE GROUP user_transaction_features
		ADD FEATURE tx_count_7d bigint 'Transaction count in last 7 days' TAGS ('count'),
		DEPRECATE FEATURE is_new_device,
		ALTER FEATURE tx_count_1h SET DESCRIPTION 'Transactions in the last hour',
		ALTER FEATURE tx_count_24h SET TAGS ('count', 'daily'),
		SET TTL '2 days',
		SET TAGS ('fraud'),
		SET OWNER 'risk-team',
		SET DESCRIPTION 'Per-user transaction statistics';
$$);
SELECT name, data_type, description, tags, status, position, deprecated_at IS NOT NULL AS deprecated
  FROM featstore.features WHERE group_name = 'user_transaction_features' ORDER BY position;
SELECT ttl, online, owner, tags, description, updated_at >= created_at AS touched
  FROM featstore.feature_groups WHERE name = 'user_transaction_features';
SELECT attname, col_description(attrelid, attnum)
  FROM pg_attribute WHERE attrelid = 'user_transaction_features'::regclass
   AND attname IN ('tx_count_1h', 'tx_count_7d');
SELECT obj_description('user_transaction_features'::regclass, 'pg_class') AS table_comment;

-- TTL NONE, OFFLINE and back
DO LANGUAGE featstore $$ ALTER FEATURE GROUP user_transaction_features SET TTL NONE, SET OFFLINE $$;
SELECT ttl, online FROM featstore.feature_groups WHERE name = 'user_transaction_features';
DO LANGUAGE featstore $$ ALTER FEATURE GROUP user_transaction_features SET TTL INTERVAL '24 hours', SET ONLINE $$;
SELECT ttl, online FROM featstore.feature_groups WHERE name = 'user_transaction_features';

-- ALTER ENTITY
DO LANGUAGE featstore $$ ALTER ENTITY merchant SET DESCRIPTION 'A card acceptor', SET OWNER 'merchant-team' $$;
SELECT name, description, owner FROM featstore.entities WHERE name = 'merchant';

-- feature services: chosen features and whole groups (active features only)
SELECT * FROM featstore.exec($$
	CREATE FEATURE SERVICE fraud_model_v3
		FEATURES (user_transaction_features.tx_count_1h,
				  user_transaction_features.tx_amount_avg_30d,
				  merchant_features.*)
		DESCRIPTION 'Card fraud model, version 3' OWNER 'fraud-team';
$$);
SELECT * FROM featstore.feature_service_members ORDER BY service_name, position;
SELECT service_name, position, group_name, feature_name, data_type FROM featstore.service_features ORDER BY 1, 2;

-- group names are global; the schema only places the table.  OR REPLACE redefines.
SELECT * FROM featstore.exec($$
	CREATE OR REPLACE FEATURE SERVICE fraud_model_v3
		FEATURES (user_transaction_features.*) DESCRIPTION 'Card fraud model, version 3.1';
$$);
SELECT service_name, position, group_name, feature_name FROM featstore.service_features ORDER BY 1, 2;

-- search: name, description, group and tags, case-insensitive, literal
SELECT qualified_name, matched_on FROM featstore.search('amount');
SELECT qualified_name, matched_on FROM featstore.search('MERCHANT');
SELECT count(*) FROM featstore.search('%');

-- the offline store: created_at is stamped by the database, exact duplicates are refused
INSERT INTO user_transaction_features (user_id, event_timestamp, tx_count_1h)
VALUES ('u1', '2026-01-01 10:00+00', 3);
SELECT user_id, event_timestamp, tx_count_1h, created_at > '2026-01-01' AS stamped FROM user_transaction_features;
INSERT INTO user_transaction_features (user_id, event_timestamp, created_at, tx_count_1h)
VALUES ('u2', '2026-01-01 10:00+00', '2026-01-01 11:00+00', 1),
	   ('u2', '2026-01-01 10:00+00', '2026-01-01 11:00+00', 2);

-- quoting tricks: names are identifiers, never SQL
SELECT * FROM featstore.exec($$
	CREATE ENTITY "we""ird" ("key; DROP TABLE ml.merchant_features; --" text);
	CREATE FEATURE GROUP "Robert'); DROP TABLE students;--" ENTITY "we""ird"
		FEATURES ("x"") bigint; --" bigint 'it''s quoted');
$$);
SELECT feature_name, group_name, entity_key, table_name FROM featstore.catalog WHERE entity_name = 'we"ird';
\d "Robert'); DROP TABLE students;--"
SELECT to_regclass('ml.merchant_features') IS NOT NULL AS merchant_table_still_there;

-- statements are transactional: a failure in statement 2 undoes statement 1
DO LANGUAGE featstore $$
	CREATE ENTITY shop (shop_id integer);
	CREATE FEATURE GROUP shop_features ENTITY shop FEATURES (revenue money);
$$;
SELECT count(*) AS shop_entities FROM featstore.entities WHERE name = 'shop';
SELECT to_regclass('shop_features') AS shop_table;

-- drops: services, groups with CASCADE, entities with CASCADE
SELECT * FROM featstore.exec($$
	DROP FEATURE SERVICE IF EXISTS no_such_service;
	DROP FEATURE GROUP user_transaction_features CASCADE;
	DROP ENTITY device CASCADE;
	DROP ENTITY IF EXISTS "we""ird" CASCADE;
$$);
SELECT name FROM featstore.feature_services;
SELECT name FROM featstore.feature_groups ORDER BY name;
SELECT to_regclass('user_transaction_features') AS dropped_table, to_regclass('device_profile') AS dropped_table2;

-- the definition history records every change with its statement
SELECT command, object_type, object_name, executed_by
  FROM featstore.definition_history ORDER BY id;
SELECT statement FROM featstore.definition_history WHERE command = 'ALTER ENTITY';

-- leave the database as we found it for the other tests
DO LANGUAGE featstore $$ DROP ENTITY user CASCADE; DROP ENTITY merchant CASCADE $$;
DROP SCHEMA ml;
SELECT count(*) AS groups_left FROM featstore.feature_groups;
