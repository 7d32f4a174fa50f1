-- The spine argument is a table or view name, or exactly one query that
-- only reads.  Anything else is refused before any of it runs: side effects
-- are recorded in a table, which stays empty.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
SET TimeZone = 'UTC';
CREATE SCHEMA pit_spn;
SET search_path = pit_spn, public;
\set SHOW_CONTEXT never

SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY spn_user (user_id text);
	CREATE FEATURE GROUP spn_g ENTITY spn_user FEATURES (v bigint);
$$);
INSERT INTO spn_g (user_id, event_timestamp, created_at, v) VALUES ('u1', '2024-01-10', '2024-01-10', 1);
CREATE TABLE spine (id int, user_id text, ts timestamptz);
INSERT INTO spine VALUES (1, 'u1', '2024-01-11'), (2, 'u2', '2024-01-11');
CREATE TABLE "Mixed Spine" (id int, user_id text, ts timestamptz);
INSERT INTO "Mixed Spine" VALUES (3, 'u1', '2024-01-09');
CREATE TABLE effects (what text);
CREATE FUNCTION side_effect() RETURNS int LANGUAGE sql AS
$$ INSERT INTO pit_spn.effects VALUES ('side_effect() ran'); SELECT 1 $$;
CREATE VIEW proto AS SELECT * FROM spine, LATERAL (SELECT NULL::bigint AS v) x;

-- statements after the query, closed and reopened around it
SELECT featstore.pit_join_sql('SELECT * FROM spine) x; SELECT pit_spn.side_effect(); SELECT * FROM (SELECT * FROM spine', '{spn_g}');
SELECT * FROM featstore.pit_join(NULL::proto, 'SELECT * FROM spine) x; SELECT pit_spn.side_effect(); SELECT * FROM (SELECT * FROM spine', '{spn_g}');
SELECT featstore.create_pit_view('spn_view', 'SELECT * FROM spine) x; SELECT pit_spn.side_effect(); SELECT * FROM (SELECT * FROM spine', '{spn_g}');
SELECT featstore.pit_join_sql('SELECT * FROM spine; DELETE FROM pit_spn.spine', '{spn_g}');
SELECT featstore.pit_join_sql('TABLE spine; TABLE spine', '{spn_g}');
-- data-modifying WITH, at the top and nested
SELECT featstore.pit_join_sql('WITH d AS (DELETE FROM pit_spn.spine RETURNING *) SELECT * FROM d', '{spn_g}');
SELECT featstore.pit_join_sql('WITH i AS (INSERT INTO pit_spn.effects VALUES (''cte ran'') RETURNING 1) SELECT * FROM spine', '{spn_g}');
SELECT featstore.pit_join_sql('SELECT * FROM (WITH u AS (UPDATE pit_spn.spine SET id = 0 RETURNING *) SELECT * FROM u) x', '{spn_g}');
-- a statement that is not a query, SELECT INTO, row locks
SELECT featstore.pit_join_sql('DELETE FROM pit_spn.spine RETURNING *', '{spn_g}');
SELECT featstore.pit_join_sql('EXPLAIN SELECT * FROM spine', '{spn_g}');
SELECT featstore.pit_join_sql('SELECT * INTO pit_spn.copied FROM spine', '{spn_g}');
SELECT featstore.pit_join_sql('SELECT * FROM spine FOR UPDATE', '{spn_g}');
SELECT featstore.pit_join_sql('SELECT * FROM (SELECT * FROM spine FOR SHARE) x', '{spn_g}');
SELECT featstore.pit_join_sql('/* nothing */ ;', '{spn_g}');
-- a syntax error points into the spine
SELECT featstore.pit_join_sql('SELECT * FROM spine WHERE', '{spn_g}');
-- a name that resolves to nothing
SELECT featstore.pit_join_sql('no_such_spine', '{spn_g}');
SELECT featstore.pit_join_sql('pit_spn.spine x', '{spn_g}');
-- the internal describe function checks what it runs too
SELECT * FROM featstore.pit_describe('pit_spn.spine s LIMIT 0; SELECT pit_spn.side_effect(); SELECT 1');

-- nothing ran: no side effect, the spine intact, no view, no table
SELECT count(*) AS side_effects FROM effects;
SELECT count(*) AS spine_rows, min(id) FROM spine;
SELECT count(*) AS stray_objects FROM pg_class
 WHERE relnamespace = 'pit_spn'::regnamespace AND relname IN ('spn_view', 'copied');

-- what is accepted: names (qualified, quoted) and every form of one query
SELECT featstore.pit_join_sql('spine', '{spn_g}');
SELECT featstore.pit_join_sql(' pit_spn . "Mixed Spine" ', '{spn_g}');
SELECT featstore.pit_join_sql('SELECT * FROM spine;', '{spn_g}');
SELECT featstore.pit_join_sql('/* leading */ TABLE spine -- trailing', '{spn_g}');
SELECT id, user_id, ts, v FROM featstore.pit_join(NULL::proto, '/* leading */ TABLE spine -- trailing', '{spn_g}') ORDER BY id;
SELECT id, user_id, ts, v FROM featstore.pit_join(NULL::proto,
	'WITH w AS (SELECT * FROM spine) SELECT * FROM w UNION ALL SELECT * FROM "Mixed Spine"', '{spn_g}') ORDER BY id;
SELECT featstore.pit_spine_from($$VALUES (7, 'u1', timestamptz '2024-01-12')$$);
SELECT id, user_id, ts, v FROM featstore.pit_join(NULL::proto, '(SELECT * FROM spine ORDER BY id LIMIT 1)', '{spn_g}');
SELECT count(*) AS side_effects FROM effects;

-- clean up
SET client_min_messages = warning;
DROP VIEW proto;
SELECT command FROM featstore.exec($$
	DROP FEATURE GROUP spn_g;
	DROP ENTITY spn_user;
$$);
DROP SCHEMA pit_spn CASCADE;
RESET client_min_messages;
RESET search_path;
