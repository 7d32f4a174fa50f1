-- every error of the statement language: SQLSTATE, the object named, a hint,
-- and a cursor for errors inside the block; nothing is left half-created
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT featstore.exec($$CREATE ENTITY user (user_id text)$$);
SELECT featstore.exec($$CREATE FEATURE GROUP g ENTITY user FEATURES (f bigint) TTL '1 hour'$$);
SELECT featstore.exec($$CREATE FEATURE SERVICE s FEATURES (g.f)$$);

-- syntax errors, with the cursor on the offending token
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 FEATURES (f bigint) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint,) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint) TTL 24 $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint) ONLINE OFFLINE $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint) nonsense $$;
DO LANGUAGE featstore $$ CREATE TABLE t (a int) $$;
DO LANGUAGE featstore $$ SELECT 1 $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint 'unterminated) $$;
DO LANGUAGE featstore $$ DROP FEATURE VIEW g $$;
DO LANGUAGE featstore $$ CREATE FEATURE SERVICE s2 FEATURES (g) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP g RENAME TO h $$;
DO LANGUAGE featstore $$ -- only a comment
$$;
SELECT featstore.exec(NULL);
-- the cursor also lands inside a multi-line block of featstore.exec()
SELECT * FROM featstore.exec($$
	CREATE ENTITY merchant (merchant_id bigint);
	CREATE FEATURE GROUP merchant_features
		ENTITY merchant
		FEATURES (a bigint 'fine', b bigint 'also fine' c bigint)
$$);
-- a syntax error anywhere runs nothing
SELECT count(*) AS merchants FROM featstore.entities WHERE name = 'merchant';

-- unknown types, unsupported types
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint, h no_such_type) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f point) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f real[][]) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f numeric(5,2,1)) $$;
DO LANGUAGE featstore $$ CREATE ENTITY account (account_id varchar(10)) $$;
DO LANGUAGE featstore $$ CREATE ENTITY account (account_id double precision) $$;
DO LANGUAGE featstore $$ CREATE ENTITY account (account_id nosuchtype) $$;

-- unknown entities, groups, features, services
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY nobody FEATURES (f bigint) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP nogroup SET ONLINE $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP nogroup $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP g DEPRECATE FEATURE nofeature $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP g ALTER FEATURE nofeature SET DESCRIPTION 'x' $$;
DO LANGUAGE featstore $$ CREATE FEATURE SERVICE s2 FEATURES (g.f, nogroup.f) $$;
DO LANGUAGE featstore $$ CREATE FEATURE SERVICE s2 FEATURES (g.nofeature) $$;
DO LANGUAGE featstore $$ DROP FEATURE SERVICE noservice $$;
DO LANGUAGE featstore $$ DROP ENTITY nobody $$;
DO LANGUAGE featstore $$ ALTER ENTITY nobody SET OWNER 'x' $$;

-- duplicate names
DO LANGUAGE featstore $$ CREATE ENTITY user (user_id text) $$;
DO LANGUAGE featstore $$ CREATE ENTITY pair (a text, a bigint) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g ENTITY user FEATURES (f bigint) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint, f text) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP g ADD FEATURE f text $$;
DO LANGUAGE featstore $$ CREATE FEATURE SERVICE s FEATURES (g.f) $$;
DO LANGUAGE featstore $$ CREATE FEATURE SERVICE s2 FEATURES (g.f, g.f) $$;
DO LANGUAGE featstore $$ CREATE FEATURE SERVICE s2 FEATURES (g.f, g.*) $$;
CREATE TABLE taken (a int);
DO LANGUAGE featstore $$ CREATE FEATURE GROUP taken ENTITY user FEATURES (f bigint) $$;

-- reserved column names
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (event_timestamp timestamptz) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint, created_at timestamptz) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (ctid bigint) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (user_id text) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP g ADD FEATURE user_id text $$;
DO LANGUAGE featstore $$ CREATE ENTITY thing (event_timestamp text) $$;

-- invalid TTLs
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint) TTL 'forever' $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint) TTL '-1 hour' $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint) TTL '0 seconds' $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint) TTL '1 month' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP g SET TTL '1 year' $$;
SELECT featstore.set_ttl('g', interval '-5 minutes');
-- TTLs whose microseconds overflow int64, or past 100 years, are refused, not wrapped
DO LANGUAGE featstore $$ CREATE FEATURE GROUP g2 ENTITY user FEATURES (f bigint) TTL '213503983 days' $$;
SELECT featstore.set_ttl('g', interval '213503983 days');
SELECT featstore.set_ttl('g', interval '36526 days');
SELECT featstore.set_ttl('g', interval '106751991 days 23:59:59');
SELECT ttl FROM featstore.feature_groups WHERE name = 'g';

-- dependencies
DO LANGUAGE featstore $$ DROP FEATURE GROUP g $$;
DO LANGUAGE featstore $$ DROP ENTITY user $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP g RESTRICT $$;

-- a feature's type never changes in place
DO LANGUAGE featstore $$ ALTER FEATURE GROUP g ALTER FEATURE f TYPE double precision $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP g ALTER FEATURE f SET DATA TYPE text $$;

-- schemas
DO LANGUAGE featstore $$ CREATE FEATURE GROUP featstore.g2 ENTITY user FEATURES (f bigint) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP pg_catalog.g2 ENTITY user FEATURES (f bigint) $$;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP no_schema.g2 ENTITY user FEATURES (f bigint) $$;

-- a group's table goes only with its group
DROP TABLE g;
CREATE SCHEMA doomed;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP doomed.doomed_features ENTITY user FEATURES (f bigint) $$;
DROP SCHEMA doomed CASCADE;
DO LANGUAGE featstore $$ DROP FEATURE GROUP doomed_features $$;
DROP SCHEMA doomed;
SELECT to_regclass('g') IS NOT NULL AS g_table_kept;

-- names: too long, Unicode escapes, empty
SELECT featstore.create_entity(repeat('x', 64), ARRAY['k'], ARRAY['text']);
DO LANGUAGE featstore $$ CREATE ENTITY U&"d\0061t\+000061" (k text) $$;
DO LANGUAGE featstore $$ CREATE ENTITY "" (k text) $$;

-- the language runs only DO blocks
CREATE FUNCTION f_in_featstore() RETURNS int LANGUAGE featstore AS $$ CREATE ENTITY x (a text) $$;

-- nothing above left anything behind
SELECT name FROM featstore.entities ORDER BY name;
SELECT name FROM featstore.feature_groups ORDER BY name;
SELECT name FROM featstore.feature_services ORDER BY name;
SELECT count(*) AS g2_tables FROM pg_class WHERE relname = 'g2';
SELECT count(*) AS history_of_failed_statements FROM featstore.definition_history
 WHERE object_name IN ('g2', 'pair', 'account', 'thing', 'merchant', 'merchant_features', 's2', 'taken', 'nobody');

DROP TABLE taken;
DO LANGUAGE featstore $$ DROP ENTITY user CASCADE $$;
