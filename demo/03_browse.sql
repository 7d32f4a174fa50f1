\echo
\echo '== 3. Browse the catalog (plain views and tables, with comments and foreign keys, for BI tools)'
\echo
SELECT group_name, entity_key, table_name, active_features, ttl, online, owner, estimated_rows
  FROM featstore.group_overview ORDER BY group_name;

\echo '-- every feature, its type and description:'
SELECT qualified_name, data_type, description FROM featstore.catalog ORDER BY group_name, position;

\echo '-- discovery: who already computes something about "amount"?'
SELECT qualified_name, data_type, matched_on FROM featstore.search('amount');

\echo '-- the features model fraud_model_v3 consumes:'
SELECT position, group_name, feature_name, data_type FROM featstore.service_features
 WHERE service_name = 'fraud_model_v3' ORDER BY position;

\echo '-- the foreign keys BI tools draw relationships from:'
SELECT conrelid::regclass AS "table", confrelid::regclass AS references
  FROM pg_constraint WHERE contype = 'f' AND connamespace = 'featstore'::regnamespace ORDER BY 1, 2;

\echo '-- evolve a definition: add a feature, deprecate one; types never change in place'
DO LANGUAGE featstore $$
	ALTER FEATURE GROUP merchant_features
		ADD FEATURE refund_rate_30d double precision 'Refunds per sale, 30 days',
		DEPRECATE FEATURE tx_count_7d
$$;
\echo '-- a deliberate mistake: changing a feature''s type in place.  The ERROR below is expected:'
\echo '-- models trained on the old type must keep reading it, and the hint gives the command to use.'
\set ON_ERROR_STOP 0
DO LANGUAGE featstore $$ ALTER FEATURE GROUP merchant_features ALTER FEATURE chargeback_rate_90d TYPE numeric $$;
\set ON_ERROR_STOP 1

\echo '-- the definition history (audit trail):'
SELECT to_char(executed_at, 'HH24:MI:SS') AS at, executed_by, command, object_name,
	   left(regexp_replace(statement, '\s+', ' ', 'g'), 70) AS statement
  FROM featstore.definition_history ORDER BY id;

\echo '-- a source group has no history table to fill: its view is the features at each of its events'
\echo '-- (computed from transactions by the same engine as the training join and Redis):'
SELECT user_id, event_timestamp, tx_count_1h, tx_count_24h, unique_merchants_7d,
	   round(tx_amount_avg_30d::numeric, 2) AS avg_30d, last_merchant
  FROM user_transaction_features WHERE user_id = 'u0001' ORDER BY event_timestamp DESC LIMIT 5;
