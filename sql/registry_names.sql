-- Awkward names reach the point-in-time join exactly as featstore statements
-- name them: SQL identifier rules, so a quoted name may hold dots, spaces,
-- quotes and capitals (featstore.resolve_features, the registry's C code).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
\set VERBOSITY default
CREATE SCHEMA reg_names;
SET search_path = reg_names, public;

SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY "Rider Id" ("Rider Key" bigint);
	CREATE FEATURE GROUP "trips.v2" ENTITY "Rider Id"
		FEATURES ("km.total" bigint, "It's" text, Plain integer);
	CREATE FEATURE GROUP "Odd ""g""" ENTITY "Rider Id" FEATURES ("x y" bigint) TTL '1 day';
	CREATE FEATURE SERVICE "svc.v1" FEATURES ("trips.v2".*, "Odd ""g"""."x y");
$$);
SELECT entity_name, column_name, data_type, pg_typeof(data_type) FROM featstore.entity_keys
 WHERE entity_name = 'Rider Id';
SELECT group_name, entity_key FROM featstore.group_overview ORDER BY 1;

CREATE TABLE spine AS
SELECT 1::bigint AS "Rider Key", timestamptz '2026-01-02 00:00' AS ts;
INSERT INTO "trips.v2" ("Rider Key", event_timestamp, "km.total", "It's", plain)
VALUES (1, '2026-01-01 12:00', 7, 'q', 3), (1, '2026-01-02 12:00', 8, 'late', 4);
INSERT INTO "Odd ""g""" ("Rider Key", event_timestamp, "x y") VALUES (1, '2026-01-01 06:00', 11);

-- a service, then group.feature with a dot in both names, a bare group
-- with quotes in its name, and a folded unquoted feature name
SELECT * FROM featstore.resolve_features(
	'{"\"trips.v2\".\"km.total\"", "\"Odd \"\"g\"\"\"", "\"trips.v2\".PLAIN"}', 'svc.v1');
SELECT featstore.create_pit_view('names_v', 'spine',
	features => '{"\"trips.v2\".\"km.total\"", "\"Odd \"\"g\"\"\"", "\"trips.v2\".\"It''s\""}');
SELECT * FROM names_v;
SELECT * FROM featstore.pit_join(NULL::names_v, 'spine',
	features => '{"\"trips.v2\".\"km.total\"", "\"Odd \"\"g\"\"\"", "\"trips.v2\".\"It''s\""}');
-- the marker-free path: the SQL pit_join runs
SELECT featstore.pit_join_sql('spine', '{"\"trips.v2\".\"km.total\""}');
SELECT * FROM featstore.pit_join(NULL::names_v, 'spine', service => 'svc.v1', qualified => true)
  LIMIT 0;

-- what does not resolve says so, as before
SELECT * FROM featstore.pit_join(NULL::names_v, 'spine', '{trips.v2}');
SELECT * FROM featstore.pit_join(NULL::names_v, 'spine', '{"\"trips.v2\".It''s"}');
SELECT * FROM featstore.pit_join(NULL::names_v, 'spine', '{"\"svc.v1\""}');
SELECT * FROM featstore.resolve_features('{"\"trips.v2"}');
SELECT * FROM featstore.resolve_features(NULL, 'svc.v2');
SELECT * FROM featstore.resolve_features(ARRAY['"trips.v2"', NULL]);

-- a key type featstore does not support is refused, never guessed
SET client_min_messages = warning;
ALTER TABLE featstore.entity_keys DROP CONSTRAINT entity_keys_data_type_check;
UPDATE featstore.entity_keys SET data_type = 'date' WHERE entity_name = 'Rider Id';
RESET client_min_messages;
SELECT featstore.check_feature_group('trips.v2');
UPDATE featstore.entity_keys SET data_type = 'bigint' WHERE entity_name = 'Rider Id';
ALTER TABLE featstore.entity_keys ADD CONSTRAINT entity_keys_data_type_check
	CHECK (data_type IN ('text'::regtype, 'integer'::regtype, 'bigint'::regtype, 'uuid'::regtype));
SELECT featstore.check_feature_group('trips.v2');

DROP VIEW names_v;
SELECT count(*) FROM featstore.exec($$ DROP ENTITY "Rider Id" CASCADE $$);
DROP SCHEMA reg_names CASCADE;
