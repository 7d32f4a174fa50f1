-- training sets (issue 12, part ts): CREATE / DROP TRAINING SET and their
-- SQL twins, the typed view that returns the same rows whatever happens to
-- history after as_of, the guards on what sets use, ADD FEATURE's refusal
-- of name collisions in services, lineage and the catalog's counts.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT coalesce(max(id), 0) AS history_before FROM featstore.definition_history \gset
CREATE ROLE ts_alice LOGIN IN ROLE featstore_editor;
CREATE ROLE ts_bob LOGIN IN ROLE featstore_editor;
CREATE ROLE ts_reader LOGIN IN ROLE featstore_reader;
CREATE SCHEMA ml AUTHORIZATION ts_alice;
GRANT USAGE ON SCHEMA ml TO ts_bob, ts_reader;

-- the checksum a training set records, written in SQL: SHA-256 of each
-- row's text and a newline, rows sorted by that text in collation "C",
-- printed with TimeZone UTC and DateStyle ISO
CREATE FUNCTION public.ts_sum(rel regclass) RETURNS text LANGUAGE plpgsql
SET TimeZone = 'UTC' SET DateStyle = 'ISO, YMD' SET extra_float_digits = 1 AS $$
DECLARE r text;
BEGIN
	EXECUTE format('SELECT encode(sha256(convert_to(coalesce(string_agg(x || E''\n'', '''' ORDER BY x COLLATE "C"), ''''), ''UTF8'')), ''hex'') FROM (SELECT t::text AS x FROM %s t) q', rel) INTO r;
	RETURN r;
END $$;
GRANT EXECUTE ON FUNCTION public.ts_sum(regclass) TO PUBLIC;

SET ROLE ts_alice;
SET search_path = ml, public;
DO LANGUAGE featstore $$
CREATE ENTITY user (user_id text);
CREATE FEATURE GROUP ml.tx ENTITY user
	FEATURES (n bigint 'Transactions in the last hour', amt double precision 'Average amount') TTL '1 day';
CREATE FEATURE GROUP ml.prof ENTITY user FEATURES (country text, score numeric(6,2));
CREATE FEATURE SERVICE fraud_v3 FEATURES (tx.*, prof.country) DESCRIPTION 'fraud model v3';
$$;
-- history written in the past (created_at given), so sets see it
INSERT INTO ml.tx (user_id, event_timestamp, created_at, n, amt) VALUES
	('u1', '2026-10-01 10:00+00', '2026-10-01 10:00+00', 1, 10.5),
	('u1', '2026-10-02 10:00+00', '2026-10-02 10:05+00', 2, 20.25),
	('u2', '2026-10-01 09:00+00', '2026-10-03 00:00+00', 7, 0.1),	-- written late
	('u3', '2026-10-01 08:00+00', '2026-10-01 08:00+00', 3, NULL);
INSERT INTO ml.prof (user_id, event_timestamp, created_at, country, score) VALUES
	('u1', '2026-09-01 00:00+00', '2026-09-01 00:00+00', 'FR', 1.5),
	('u2', '2026-09-01 00:00+00', '2026-09-01 00:00+00', 'DE', 2);
CREATE TABLE ml.labels (user_id text, ts timestamptz, fraud boolean);
INSERT INTO ml.labels VALUES
	('u1', '2026-10-01 12:00+00', false), ('u1', '2026-10-02 12:00+00', true),
	('u1', '2026-10-02 12:00+00', true),	-- a duplicate spine row
	('u2', '2026-10-01 12:00+00', true), ('u3', '2026-10-03 12:00+00', false),
	('u4', '2026-10-01 12:00+00', NULL), (NULL, '2026-10-01 12:00+00', NULL);

-- the issue's form: a table spine, AS OF, the default (not strict)
DO LANGUAGE featstore $$
CREATE TRAINING SET fraud_train_2026_10
    FOR SERVICE fraud_v3
    FROM labels
    AS OF '2026-10-20 00:00+00'
    DESCRIPTION 'October labels' OWNER 'fraud-team' TAGS ('model:fraud_v3', 'october');
$$;
SELECT * FROM fraud_train_2026_10 ORDER BY user_id, ts, fraud;
-- STRICT, a query spine, and exec()'s report
SELECT * FROM featstore.exec($$
	CREATE TRAINING SET ml.strict_set FOR SERVICE fraud_v3
	  FROM (SELECT user_id, ts FROM labels WHERE fraud) STRICT AS OF '2026-10-20 00:00+00'
$$);
SELECT * FROM strict_set ORDER BY user_id, ts;
-- the default AS OF is the transaction's start, now()
BEGIN;
DO LANGUAGE featstore $$ CREATE TRAINING SET now_set FOR SERVICE fraud_v3 FROM labels $$;
SELECT as_of = now() AS as_of_is_now, created_at = now() AS created_now
  FROM featstore.training_sets WHERE name = 'now_set';
COMMIT;
-- the SQL twin returns the view
SELECT featstore.create_training_set('early_set', 'fraud_v3', 'SELECT * FROM labels WHERE user_id = ''u1''',
	as_of => '2026-10-01 12:00+00', tags => ARRAY['model:fraud_v2']);
SELECT * FROM early_set ORDER BY ts, fraud;

-- what is recorded
SELECT name, service_name, schema_name, view_name, spine_table, spine,
	   CASE WHEN name = 'now_set' THEN as_of = created_at ELSE NULL END AS as_of_is_creation,
	   CASE WHEN name <> 'now_set' THEN as_of END AS as_of, strict, row_count,
	   description, owner, tags, created_by, history_position - :history_before AS history_position
  FROM featstore.training_sets ORDER BY name;
SELECT * FROM featstore.training_set_features ORDER BY training_set, position;
SELECT checksum = public.ts_sum('ml.fraud_train_2026_10') AS checksum_is_sha256_of_rows,
	   spine_checksum = public.ts_sum('ml.fraud_train_2026_10_spine') AS spine_checksum_ok
  FROM featstore.training_sets WHERE name = 'fraud_train_2026_10';
-- the view's columns are typed: the spine's, then the features'
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a WHERE a.attrelid = 'ml.fraud_train_2026_10'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT obj_description('ml.fraud_train_2026_10'::regclass, 'pg_class');
SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner) AS owner, c.relacl, c.reloptions
  FROM pg_class c WHERE c.relnamespace = 'ml'::regnamespace AND c.relname LIKE 'fraud_train%' ORDER BY 1;
-- the recorded checksum does not depend on the session's settings
SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'SQL, DMY';
SET extra_float_digits = -3;
SELECT training_set, row_count, rows_now, checksum = checksum_now AS same, spine_unchanged, unchanged
  FROM featstore.verify_training_set('fraud_train_2026_10');
RESET TimeZone;
RESET DateStyle;
RESET extra_float_digits;

-- ---- the same rows forever: the view's checksum before and after each change ----
CREATE TEMP TABLE sums AS
SELECT name, public.ts_sum(format('%I.%I', schema_name, view_name)::regclass) AS before
  FROM featstore.training_sets;
CREATE FUNCTION pg_temp.unchanged() RETURNS TABLE (name text, same boolean, verified boolean)
LANGUAGE sql AS $$
	SELECT s.name, s.before = public.ts_sum(format('%I.%I', t.schema_name, t.view_name)::regclass),
		   (featstore.verify_training_set(s.name)).unchanged
	  FROM pg_temp.sums s JOIN featstore.training_sets t USING (name) ORDER BY 1
$$;
-- later ingestion (created_at now, after every as_of)
INSERT INTO ml.tx (user_id, event_timestamp, n, amt) VALUES
	('u4', '2026-10-01 11:00+00', 9, 9), ('u1', '2026-10-02 11:00+00', 5, 5);
SELECT * FROM pg_temp.unchanged();
-- a correction: the same (key, event_timestamp), written later
INSERT INTO ml.tx (user_id, event_timestamp, n, amt) VALUES ('u1', '2026-10-02 10:00+00', 200, 2000);
SELECT * FROM pg_temp.unchanged();
-- a promoted backfill: rows stamped with the promote time (part bf's PROMOTE)
INSERT INTO ml.tx (user_id, event_timestamp, created_at, n, amt)
SELECT 'u3', '2026-10-03 11:00+00', now(), 30, 3;
SELECT * FROM pg_temp.unchanged();
-- the spine's own table changes: the set has its copy
INSERT INTO ml.labels VALUES ('u2', '2026-10-02 00:00+00', false);
DELETE FROM ml.labels WHERE user_id = 'u3';
SELECT * FROM pg_temp.unchanged();
-- ADD FEATURE: fraud_v3 (tx.*) gains it, the sets keep their columns
DO LANGUAGE featstore $$ ALTER FEATURE GROUP tx ADD FEATURE merchants integer $$;
SELECT count(*) AS fraud_v3_features FROM featstore.service_features WHERE service_name = 'fraud_v3';
SELECT * FROM pg_temp.unchanged();
-- DEPRECATE FEATURE: allowed, with a warning naming the services and sets
DO LANGUAGE featstore $$ ALTER FEATURE GROUP tx DEPRECATE FEATURE amt $$;
SELECT * FROM pg_temp.unchanged();
-- a changed service definition, then the service dropped: sets keep their own list
DO LANGUAGE featstore $$ CREATE OR REPLACE FEATURE SERVICE fraud_v3 FEATURES (prof.*) $$;
SELECT * FROM pg_temp.unchanged();
DO LANGUAGE featstore $$ DROP FEATURE SERVICE fraud_v3 $$;
SELECT * FROM pg_temp.unchanged();
SELECT count(*) AS rows_left FROM fraud_train_2026_10;
-- the spine copy is not writable by its owner by accident
INSERT INTO ml.fraud_train_2026_10_spine VALUES ('u9', '2026-10-01', true);
TRUNCATE ml.fraud_train_2026_10_spine;
-- what is not covered: rewriting history in place (UPDATE) changes a set, and verify says so
UPDATE ml.tx SET n = 1000 WHERE user_id = 'u1' AND event_timestamp = '2026-10-01 10:00+00' AND n = 1;
SELECT * FROM pg_temp.unchanged();
UPDATE ml.tx SET n = 1 WHERE user_id = 'u1' AND event_timestamp = '2026-10-01 10:00+00' AND n = 1000;
SELECT * FROM pg_temp.unchanged();
-- and the owner who grants herself back the write and changes the copy
GRANT INSERT, DELETE ON ml.early_set_spine TO ts_alice;
INSERT INTO ml.early_set_spine VALUES ('u1', '2026-10-05', true);
SELECT training_set, row_count, rows_now, spine_unchanged, unchanged FROM featstore.verify_training_set('early_set');
DELETE FROM ml.early_set_spine WHERE ts = '2026-10-05';
SELECT training_set, row_count, rows_now, spine_unchanged, unchanged FROM featstore.verify_training_set('early_set');

-- ---- a group computed FROM a source: windows at the spine's times, as of the set ----
CREATE TABLE ml.events (user_id text, event_time timestamptz, created timestamptz, amount numeric);
INSERT INTO ml.events VALUES
	('u1', '2026-10-01 09:00+00', '2026-10-01 09:00+00', 10),
	('u1', '2026-10-01 11:00+00', '2026-10-01 11:00+00', 5),
	('u2', '2026-10-01 10:00+00', '2026-10-05 00:00+00', 7);	-- written late
DO LANGUAGE featstore $$
CREATE FEATURE GROUP ml.tx_w ENTITY user FROM ml.events TIMESTAMP event_time CREATED created
	FEATURES (events_1d bigint AS count(*) OVER '1 day', amount_1d numeric AS sum(amount) OVER '1 day');
CREATE FEATURE GROUP ml.tx_nc ENTITY user FROM ml.events TIMESTAMP event_time
	FEATURES (events_all bigint AS count(*));
CREATE FEATURE SERVICE windows FEATURES (tx_w.*);
CREATE FEATURE SERVICE windows_nc FEATURES (tx_nc.*);
CREATE TRAINING SET window_set FOR SERVICE windows FROM labels AS OF '2026-10-20 00:00+00';
$$;
SELECT * FROM window_set ORDER BY user_id, ts;
-- an event written after as_of, inside the windows: not counted
INSERT INTO ml.events VALUES ('u1', '2026-10-01 11:30+00', now(), 100);
SELECT training_set, row_count, rows_now, unchanged FROM featstore.verify_training_set('window_set');
-- without CREATED nothing bounds when events were written: no as_of, so no training set
DO LANGUAGE featstore $$ CREATE TRAINING SET window_nc FOR SERVICE windows_nc FROM labels $$;
DO LANGUAGE featstore $$ DROP TRAINING SET window_set; DROP FEATURE GROUP tx_w CASCADE; DROP FEATURE GROUP tx_nc CASCADE $$;

-- ---- export ----
COPY (SELECT * FROM fraud_train_2026_10 ORDER BY user_id, ts, fraud) TO STDOUT WITH (FORMAT csv, HEADER);

-- ---- lineage and the catalog ----
DO LANGUAGE featstore $$ CREATE FEATURE SERVICE churn FEATURES (prof.*, tx.n) $$;
SELECT group_name, feature_name, qualified_name, status, service_name, in_service, training_set, model
  FROM featstore.lineage ORDER BY qualified_name, service_name NULLS LAST, training_set NULLS FIRST;
SELECT count(*) AS lineage_rows_with_the_sets_as_of
  FROM featstore.lineage l JOIN featstore.training_sets t ON t.name = l.training_set
 WHERE l.training_set_as_of = t.as_of AND l.training_set_created_at = t.created_at;
SELECT qualified_name, status, services, training_sets FROM featstore.catalog
 WHERE group_name IN ('tx', 'prof') ORDER BY group_name, position;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP prof DEPRECATE FEATURE score $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP prof DEPRECATE FEATURE score $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP tx DEPRECATE FEATURE merchants $$;

-- ---- services that evolve safely: ADD FEATURE that would collide in a service ----
-- churn takes prof.* and tx.n: a feature n in prof would be a second n in churn
DO LANGUAGE featstore $$ ALTER FEATURE GROUP prof ADD FEATURE n bigint $$;
SELECT featstore.add_feature('prof', 'n', 'integer');
-- a name the service does not hold is fine; a service naming features is not affected
DO LANGUAGE featstore $$ ALTER FEATURE GROUP prof ADD FEATURE segment text $$;
DO LANGUAGE featstore $$ CREATE OR REPLACE FEATURE SERVICE churn FEATURES (prof.country, prof.segment, tx.n) $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP prof ADD FEATURE n bigint $$;
SELECT name FROM featstore.features WHERE group_name = 'prof' ORDER BY position;

-- ---- guards: what a training set uses ----
DO LANGUAGE featstore $$ ALTER FEATURE GROUP tx ALTER FEATURE n TYPE integer $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP tx $$;
SELECT featstore.drop_feature_group('tx');
DO LANGUAGE featstore $$ DROP ENTITY user $$;
SELECT count(*) AS sets FROM featstore.training_sets;

-- ---- errors ----
-- syntax
DO LANGUAGE featstore $$ CREATE TRAINING fraud FOR SERVICE s FROM labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud SERVICE s FROM labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR s FROM labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE s labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE s FROM 'labels' $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE s FROM () $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE s FROM (SELECT 1 $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE s FROM labels AS '2026-10-01' $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE s FROM labels AS OF now() $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE s FROM labels STRICT STRICT $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE s FROM labels AS OF '2026-01-01' AS OF '2026-01-02' $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE s FROM labels TAGS ('a') TAGS ('b') $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE s FROM labels LIMIT 3 $$;
DO LANGUAGE featstore $$ CREATE OR REPLACE TRAINING SET fraud FOR SERVICE s FROM labels $$;
DO LANGUAGE featstore $$ CREATE FEATURE TRAINING SET fraud $$;
DO LANGUAGE featstore $$ DROP TRAINING fraud $$;
DO LANGUAGE featstore $$ DROP TRAINING SET $$;
-- names, objects and values
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud_train_2026_10 FOR SERVICE churn FROM labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE nosuch FROM labels $$;
DO LANGUAGE featstore $$
CREATE FEATURE GROUP ml.old ENTITY user FEATURES (gone integer);
CREATE FEATURE SERVICE empty_svc FEATURES (old.*);
ALTER FEATURE GROUP old DEPRECATE FEATURE gone;
$$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE empty_svc FROM labels $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP old CASCADE $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE churn FROM nosuch_labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE churn FROM (DELETE FROM labels RETURNING *) $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE churn FROM (SELECT 1; SELECT 2) $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE churn FROM labels AS OF '2999-01-01' $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE churn FROM labels AS OF 'yesterday-ish' $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE churn FROM labels AS OF '-infinity' $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET a_name_of_fifty_eight_bytes_that_leaves_no_room_for_spines FOR SERVICE churn FROM labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET featstore.fraud FOR SERVICE churn FROM labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET pg_catalog.fraud FOR SERVICE churn FROM labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET nosuch_schema.fraud FOR SERVICE churn FROM labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET public.fraud FOR SERVICE churn FROM labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET labels FOR SERVICE churn FROM labels $$;
CREATE TABLE ml.taken_spine (x int);
DO LANGUAGE featstore $$ CREATE TRAINING SET taken FOR SERVICE churn FROM labels $$;
DROP TABLE ml.taken_spine;
-- spines the point-in-time join refuses
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE churn FROM (SELECT ts FROM labels) $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE churn FROM (SELECT user_id::int AS user_id, ts FROM labels WHERE user_id IS NULL) $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE churn FROM (SELECT user_id, ts, ts AS ts2 FROM labels) $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET fraud FOR SERVICE churn FROM (SELECT user_id, ts, 'x' AS country FROM labels) $$;
-- nothing of the failed statements is left
SELECT count(*) AS sets FROM featstore.training_sets;
SELECT relname FROM pg_class WHERE relname LIKE 'fraud%' OR relname LIKE 'taken%' ORDER BY 1;
-- the SQL twin's arguments
SELECT featstore.create_training_set(NULL, 'churn', 'labels');
SELECT featstore.create_training_set('x', NULL, 'labels');
SELECT featstore.create_training_set('x', 'churn', NULL);
SELECT featstore.create_training_set('x', 'churn', 'labels', tags => ARRAY['a', NULL]);
SELECT featstore.create_training_set('x', 'churn', 'labels', as_of => 'infinity');
-- DROP
DO LANGUAGE featstore $$ DROP TRAINING SET nosuch $$;
SELECT * FROM featstore.exec($$ DROP TRAINING SET IF EXISTS nosuch $$);
SELECT featstore.drop_training_set('nosuch', if_exists => true);
SELECT featstore.drop_training_set(NULL);
CREATE VIEW ml.on_top AS SELECT user_id FROM ml.now_set;
DO LANGUAGE featstore $$ DROP TRAINING SET now_set $$;
DO LANGUAGE featstore $$ DROP TRAINING SET now_set CASCADE $$;
SELECT to_regclass('ml.on_top') AS on_top, to_regclass('ml.now_set') AS now_set, to_regclass('ml.now_set_spine') AS spine;
SELECT featstore.drop_training_set('early_set');
-- a view dropped behind featstore's back: verify says so, DROP removes the rest and
-- leaves a table made since under the view's name alone
DROP VIEW ml.strict_set;
SELECT training_set, row_count, rows_now, unchanged FROM featstore.verify_training_set('strict_set');
CREATE TABLE ml.strict_set (x integer);
SELECT training_set, row_count, rows_now, unchanged FROM featstore.verify_training_set('strict_set');
DO LANGUAGE featstore $$ DROP TRAINING SET strict_set RESTRICT $$;
SELECT to_regclass('ml.strict_set') AS kept_table, to_regclass('ml.strict_set_spine') AS spine;
DROP TABLE ml.strict_set;
RESET ROLE;

-- ---- privileges and row-level security ----
-- a reader cannot make a set; an editor cannot drop another's
SET ROLE ts_reader;
DO LANGUAGE featstore $$ CREATE TRAINING SET r FOR SERVICE churn FROM ml.labels $$;
SELECT featstore.create_training_set('r', 'churn', 'ml.labels');
-- nor read alice's set without grants, nor with a grant on the view alone
SELECT * FROM ml.fraud_train_2026_10;
RESET ROLE;
GRANT SELECT ON ml.fraud_train_2026_10 TO ts_reader;
SET ROLE ts_reader;
SELECT * FROM ml.fraud_train_2026_10;
SELECT * FROM featstore.verify_training_set('fraud_train_2026_10');
-- the registry rows are browsable
SELECT name, row_count FROM featstore.training_sets;
RESET ROLE;
SET ROLE ts_bob;
DO LANGUAGE featstore $$ DROP TRAINING SET fraud_train_2026_10 $$;
-- bob cannot build a set in alice's schema, nor from what he cannot read
DO LANGUAGE featstore $$ CREATE TRAINING SET ml.bobs FOR SERVICE churn FROM ml.labels $$;
RESET ROLE;
CREATE SCHEMA bob AUTHORIZATION ts_bob;
SET ROLE ts_bob;
DO LANGUAGE featstore $$ CREATE TRAINING SET bob.bobs FOR SERVICE churn FROM ml.labels $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET bob.bobs FOR SERVICE churn FROM (VALUES ('u1', '2026-10-02 12:00+00'::timestamptz)) AS s(user_id, ts) $$;
DO LANGUAGE featstore $$ CREATE TRAINING SET bob.bobs FOR SERVICE churn FROM (SELECT * FROM (VALUES ('u1', '2026-10-02 12:00+00'::timestamptz)) AS s(user_id, ts)) $$;
RESET ROLE;
SELECT relname FROM pg_class WHERE relnamespace = 'bob'::regnamespace;
-- with SELECT on the tables, bob's set reads them as bob: row-level
-- security of alice's table applies to him, at creation and at every read
ALTER TABLE ml.tx ENABLE ROW LEVEL SECURITY;
SET ROLE ts_alice;
CREATE POLICY only_u2 ON ml.tx FOR SELECT TO ts_bob USING (user_id = 'u2');
GRANT SELECT ON ml.tx, ml.prof, ml.labels TO ts_bob;
RESET ROLE;
SET ROLE ts_bob;
DO LANGUAGE featstore $$ CREATE TRAINING SET bob.bobs FOR SERVICE churn FROM ml.labels AS OF '2026-10-20 00:00+00' $$;
SELECT * FROM bob.bobs ORDER BY user_id, ts;
RESET ROLE;
-- alice, reading bob's view with its grants, sees her own rows: verify says they differ
GRANT USAGE ON SCHEMA bob TO ts_alice;
GRANT SELECT ON bob.bobs, bob.bobs_spine TO ts_alice;
SET ROLE ts_alice;
SELECT * FROM bob.bobs ORDER BY user_id, ts;
SELECT training_set, row_count, rows_now, unchanged FROM featstore.verify_training_set('bobs');
RESET ROLE;

-- ---- the history ----
SELECT command, object_type, object_name, executed_by
  FROM featstore.definition_history
 WHERE id > :history_before AND object_type = 'training set' ORDER BY id;

-- ---- DROP ... CASCADE drops the sets, also those of other roles ----
SET ROLE ts_alice;
SELECT * FROM featstore.exec($$ DROP FEATURE GROUP tx CASCADE $$);
SELECT name FROM featstore.training_sets ORDER BY 1;
SELECT to_regclass('bob.bobs') AS bobs, to_regclass('bob.bobs_spine') AS bobs_spine,
	   to_regclass('ml.fraud_train_2026_10') AS fraud_train;
DO LANGUAGE featstore $$ DROP ENTITY user CASCADE $$;
SELECT count(*) AS sets, (SELECT count(*) FROM featstore.training_set_features) AS set_features
  FROM featstore.training_sets;
DROP TABLE pg_temp.sums;
DROP FUNCTION pg_temp.unchanged();
RESET ROLE;
RESET search_path;
DROP SCHEMA ml CASCADE;
DROP SCHEMA bob CASCADE;
DROP FUNCTION public.ts_sum(regclass);
DROP ROLE ts_alice;
DROP ROLE ts_bob;
DROP ROLE ts_reader;
