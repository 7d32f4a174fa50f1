-- Point-in-time join semantics (pit-semantics.md), edge by edge, for every
-- strategy, on groups made with the featstore DDL.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
SET TimeZone = 'UTC';
CREATE SCHEMA pit_sem;
SET search_path = pit_sem, public;
\set SHOW_CONTEXT never

SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY sem_user (user_id text);
	CREATE ENTITY sem_pair (a text, b text);
	CREATE FEATURE GROUP user_g ENTITY sem_user FEATURES (v bigint, w bigint) TTL '1 day';
	CREATE FEATURE GROUP pair_g ENTITY sem_pair FEATURES (v bigint);
$$);

INSERT INTO user_g VALUES
	-- ties on event_timestamp: the later created_at wins
	('u1', '2024-01-10 00:00', '2024-01-10 00:00', 1, 10),
	('u1', '2024-01-10 00:00', '2024-01-12 00:00', 2, 20),	-- backfilled correction
	('u1', '2024-01-11 00:00', '2024-01-11 00:00', 3, 30),
	-- the TTL bound: exactly one day before the spine row, and just over
	('u2', '2024-01-10 00:00', '2024-01-10 00:00', 4, NULL),
	-- a late row: its event is old but it was written much later
	('u3', '2024-01-01 00:00', '2024-01-20 00:00', 5, 50),
	('u3', '2023-12-31 12:00', '2023-12-31 12:00', 6, 60);
CREATE TABLE spine (id int, user_id text, ts timestamptz, label text);
INSERT INTO spine VALUES
	(1, 'u1', '2024-01-09 23:59:59.999999', 'before the first row'),
	(2, 'u1', '2024-01-10 00:00', 'at the tie'),
	(3, 'u1', '2024-01-10 12:00', 'after the tie'),
	(4, 'u1', '2024-01-11 00:00', 'exactly at a row'),
	(5, 'u1', '2024-01-11 00:00', 'exactly at a row'),	-- duplicate spine row
	(6, 'u2', '2024-01-11 00:00', 'at the TTL bound'),
	(7, 'u2', '2024-01-11 00:00:00.000001', 'one microsecond past the TTL'),
	(8, 'u3', '2024-01-01 06:00', 'late row'),
	(9, 'nobody', '2024-01-11 00:00', 'missing entity'),
	(10, NULL, '2024-01-11 00:00', 'NULL key'),
	(11, 'u1', NULL, 'NULL ts'),
	(12, 'u1', '2024-01-11 01:00+01', 'same instant as 4, other zone');
ANALYZE user_g;
ANALYZE spine;

CREATE FUNCTION pit_rows(strategy text, as_of timestamptz DEFAULT NULL, strict boolean DEFAULT false)
RETURNS TABLE (id int, label text, v bigint, w bigint) LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('featstore.pit_strategy', strategy, true);
	RETURN QUERY EXECUTE format($q$
		SELECT s.id, s.label, f.v, f.w FROM spine s LEFT JOIN user_g f
		    ON f.user_id = s.user_id
		   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '1 day', %L, %L)
		 ORDER BY s.id$q$, as_of, strict);
END $$;

-- the rule, with each strategy
SELECT * FROM pit_rows('hash');
SELECT * FROM pit_rows('merge') EXCEPT ALL SELECT * FROM pit_rows('hash');
SELECT * FROM pit_rows('hash') EXCEPT ALL SELECT * FROM pit_rows('merge');

-- as_of: nothing written after 2024-01-11 counts (no correction, no late row)
SELECT * FROM pit_rows('hash', '2024-01-11 00:00');
SELECT * FROM pit_rows('merge', '2024-01-11 00:00') EXCEPT ALL SELECT * FROM pit_rows('hash', '2024-01-11 00:00');

-- strict: only rows already written at the spine timestamp
SELECT * FROM pit_rows('hash', NULL, true);
SELECT * FROM pit_rows('merge', NULL, true) EXCEPT ALL SELECT * FROM pit_rows('hash', NULL, true);

-- compound keys that would collide if concatenated: (ab, c) vs (a, bc)
INSERT INTO pair_g VALUES ('ab', 'c', '2024-01-01', '2024-01-01', 1), ('a', 'bc', '2024-01-01', '2024-01-01', 2),
	('a', 'b', '2024-01-01', '2024-01-01', 3);
CREATE TABLE pair_spine (a text, b text, ts timestamptz);
INSERT INTO pair_spine VALUES ('ab', 'c', '2024-02-01'), ('a', 'bc', '2024-02-01'), ('a', 'b', '2024-02-01'),
	('abc', '', '2024-02-01'), ('a', NULL, '2024-02-01');
SET featstore.pit_strategy = hash;
SELECT s.*, f.v FROM pair_spine s LEFT JOIN pair_g f ON f.a = s.a AND f.b = s.b
	AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts) ORDER BY s.a, s.b;
SET featstore.pit_strategy = merge;
SELECT s.*, f.v FROM pair_spine s LEFT JOIN pair_g f ON f.a = s.a AND f.b = s.b
	AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts) ORDER BY s.a, s.b;
RESET featstore.pit_strategy;

-- an inner join drops spine rows without a winner
SELECT s.id, f.v FROM spine s JOIN user_g f ON f.user_id = s.user_id
	AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '1 day') ORDER BY s.id;

-- pit_join: several groups with different entities in one call
CREATE TABLE multi_spine (user_id text, a text, b text, ts timestamptz, y int);
INSERT INTO multi_spine VALUES ('u1', 'a', 'bc', '2024-01-11 00:00', 1), ('u2', 'ab', 'c', '2024-01-10 12:00', 0),
	('u3', 'zz', 'zz', '2024-01-01 00:00', 1);
CREATE TYPE multi_row AS (user_id text, a text, b text, ts timestamptz, y int, v bigint, w bigint, pair_v bigint);
-- without qualified names the two groups' "v" collide
SELECT * FROM featstore.pit_join(NULL::multi_row, 'multi_spine', '{user_g,pair_g}') ORDER BY y, user_id;
CREATE TYPE multi_q AS (user_id text, a text, b text, ts timestamptz, y int,
	user_g__v bigint, user_g__w bigint, pair_g__v bigint);
SELECT * FROM featstore.pit_join(NULL::multi_q, 'multi_spine', '{user_g,pair_g}', qualified => true) ORDER BY y, user_id;
-- group.feature references, a spine query, as_of and strict through pit_join
CREATE TYPE one_v AS (user_id text, ts timestamptz, v bigint);
SELECT * FROM featstore.pit_join(NULL::one_v, 'SELECT user_id, ts FROM spine WHERE id IN (2, 3, 8)', '{user_g.v}') ORDER BY ts;
SELECT * FROM featstore.pit_join(NULL::one_v, 'SELECT user_id, ts FROM spine WHERE id IN (2, 3, 8)', '{user_g.v}',
	as_of => '2024-01-11') ORDER BY ts;
SELECT * FROM featstore.pit_join(NULL::one_v, 'SELECT user_id, ts FROM spine WHERE id IN (2, 3, 8)', '{user_g.v}',
	strict => true) ORDER BY ts;
-- feature services, whole groups and single features
SELECT command, object_name FROM featstore.exec($$
	CREATE FEATURE SERVICE svc FEATURES (user_g.w, pair_g.*);
$$);
CREATE TYPE svc_row AS (user_id text, a text, b text, ts timestamptz, y int, w bigint, v bigint);
SELECT * FROM featstore.pit_join(NULL::svc_row, 'multi_spine', service => 'svc') ORDER BY y, user_id;
-- the spine timestamp by name, when there are two
CREATE TABLE two_ts (user_id text, ts timestamptz, label_time timestamptz);
INSERT INTO two_ts VALUES ('u1', '2024-01-10 12:00', '2024-01-30');
CREATE TYPE two_ts_row AS (user_id text, ts timestamptz, label_time timestamptz, v bigint, w bigint);
SELECT * FROM featstore.pit_join(NULL::two_ts_row, 'two_ts', '{user_g}', spine_ts => 'ts');
SELECT featstore.pit_join_sql('two_ts', '{user_g}', spine_ts => 'ts', as_of => '2024-01-11', strict => true);
-- as_of is written into the join in UTC ISO form, whatever the session's
-- DateStyle and TimeZone: in Asia/Kolkata the Postgres style prints the zone
-- as IST, which would read back as Israel time, 3.5 hours later
SELECT command, object_name FROM featstore.exec($$
	CREATE FEATURE GROUP tz_g ENTITY sem_user FEATURES (v bigint);
$$);
INSERT INTO tz_g VALUES ('u4', '2024-01-10 00:00+00', '2024-01-10 00:00+00', 40),
	('u4', '2024-01-10 12:00+00', '2024-01-11 01:00+00', 41);	-- written after as_of
CREATE TYPE tz_row AS (user_id text, ts timestamptz, v bigint);
SET TimeZone = 'Asia/Kolkata';
SHOW DateStyle;
CREATE TABLE tz_spine (user_id text, ts timestamptz);
INSERT INTO tz_spine VALUES ('u4', '2024-01-12 00:00+00');
SELECT featstore.pit_join_sql('tz_spine', '{tz_g}', as_of => '2024-01-11 00:00+00');
SELECT * FROM featstore.pit_join(NULL::tz_row, 'tz_spine', '{tz_g}', as_of => '2024-01-11 00:00+00');
SELECT featstore.pit_join_sql('two_ts', '{user_g}', spine_ts => 'ts', as_of => '-infinity') LIKE '%''-infinity''::pg_catalog.timestamptz%' AS minus_infinity_kept;
SET TimeZone = 'UTC';
DROP TABLE tz_spine;
DROP TYPE tz_row;
SELECT command, object_name FROM featstore.exec($$ DROP FEATURE GROUP tz_g $$);

-- the training set equals a view of the same join, and survives CTAS and COPY
SELECT featstore.create_pit_view('multi_training', 'multi_spine', '{user_g,pair_g}', qualified => true);
\d multi_training
SELECT (SELECT count(*) FROM (SELECT * FROM multi_training EXCEPT ALL
		SELECT * FROM featstore.pit_join(NULL::multi_training, 'multi_spine', '{user_g,pair_g}', qualified => true)) d) AS differences;
CREATE TABLE multi_ctas AS SELECT * FROM featstore.pit_join(NULL::multi_training, 'multi_spine', '{user_g,pair_g}', qualified => true);
\d multi_ctas
COPY (SELECT * FROM featstore.pit_join(NULL::multi_training, 'multi_spine', '{user_g,pair_g}', qualified => true) ORDER BY y, user_id) TO STDOUT;
-- what a driver sees: the extended-protocol Describe of the statement
SELECT * FROM featstore.pit_join(NULL::multi_training, 'multi_spine', '{user_g,pair_g}', as_of => now(), qualified => true) \gdesc
PREPARE training(timestamptz) AS
	SELECT * FROM featstore.pit_join(NULL::multi_training, 'multi_spine', '{user_g,pair_g}', as_of => $1, qualified => true)
	 ORDER BY y, user_id;
EXECUTE training('2024-01-11');
EXECUTE training(NULL);
DEALLOCATE training;

SET client_min_messages = warning;
SELECT command, object_name FROM featstore.exec($$
	DROP FEATURE SERVICE svc;
	DROP ENTITY sem_user CASCADE;
	DROP ENTITY sem_pair CASCADE;
$$);
DROP SCHEMA pit_sem CASCADE;
