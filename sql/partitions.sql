-- partitioned history (issue 14): PARTITION BY RANGE / HASH, the layout in
-- the registry, the maintenance (partitions ahead, rows moved out of
-- DEFAULT), retention and its refusals, the join's run-time pruning, and a
-- randomized differential test against the LATERAL oracle on a range- and a
-- hash-partitioned group.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
CREATE SCHEMA pt;
SET search_path = pt, public;
SET TimeZone = 'UTC';

DO LANGUAGE featstore $$
CREATE ENTITY pt_user (user_id text);
CREATE ENTITY pt_pair (k1 integer, k2 text);
CREATE FEATURE GROUP pt.pt_r ENTITY pt_pair FEATURES (f_num bigint, f_txt text)
    TTL '1 day' PARTITION BY RANGE (event_timestamp) INTERVAL '6 hours' ONLINE
    DESCRIPTION 'range-partitioned';
CREATE FEATURE GROUP pt.pt_h ENTITY pt_pair FEATURES (f_num bigint, f_txt text)
    PARTITION BY HASH (k1, k2) PARTITIONS 5 TAGS ('hashed');
CREATE FEATURE GROUP pt.pt_d ENTITY pt_user FEATURES (v int) TTL '2 days'
    PARTITION BY RANGE (event_timestamp);
$$;

-- the layout, in the registry and the overview
SELECT group_name, method, partition_interval, hash_columns, partitions, retention
  FROM featstore.group_partitioning ORDER BY group_name;
SELECT group_name, partitioning FROM featstore.group_overview
 WHERE group_name LIKE 'pt\_%' ORDER BY group_name;
-- hash: all partitions at creation; range: DEFAULT plus the current
-- interval and featstore.partition_premake (3) more
SELECT group_name, method, count(*) AS partitions,
       count(*) FILTER (WHERE bound = 'DEFAULT') AS default_partitions
  FROM featstore.partitions GROUP BY 1, 2 ORDER BY 1;
SELECT partition_name, bound FROM featstore.partitions WHERE group_name = 'pt_h' ORDER BY 1;
-- the parent carries the indexes, comments and capture triggers
SELECT c.relkind, pg_catalog.obj_description(c.oid, 'pg_class') AS comment,
       (SELECT count(*) FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid) AS indexes,
       (SELECT count(*) FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid
         AND t.tgname LIKE 'featstore_online_%') AS capture_triggers
  FROM pg_catalog.pg_class c WHERE c.oid = 'pt.pt_r'::regclass;
SELECT count(*) AS partition_indexes FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_index x ON x.indrelid = i.inhrelid
 WHERE i.inhparent = 'pt.pt_h'::regclass;

-- refusals, each with its SQLSTATE (echoed after it) and hint
\set VERBOSITY default
\set SHOW_CONTEXT never
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY RANGE (event_timestamp) INTERVAL '0 days' $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY RANGE (event_timestamp) INTERVAL '1 month' $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY RANGE (event_timestamp) INTERVAL '10 minutes' $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY RANGE (event_timestamp) INTERVAL 1 $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY RANGE (created_at) $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY HASH (v) $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY HASH (user_id, user_id) $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY HASH (user_id) PARTITIONS 0 $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY HASH (user_id) PARTITIONS 1025 $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY HASH (user_id) PARTITIONS 2 PARTITION BY HASH (user_id) $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FEATURES (v int) PARTITION BY LIST (user_id) $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
CREATE TABLE pt.events (user_id text, ts timestamptz, amount int);
DO LANGUAGE featstore $$ CREATE FEATURE GROUP e1 ENTITY pt_user FROM pt.events TIMESTAMP ts FEATURES (n bigint AS count(*)) PARTITION BY RANGE (event_timestamp) $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT count(*) AS e1_left_behind FROM pg_catalog.pg_class WHERE relname = 'e1';
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_h SET RETENTION '400 days' $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_d SET RETENTION '1 day' $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_d SET RETENTION 400 $$;
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT featstore.set_retention('pt_d', interval '1 month');
\echo sqlstate :LAST_ERROR_SQLSTATE
SELECT * FROM featstore.maintain_partitions('pt_h');
\echo sqlstate :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- maintenance: rows of intervals without a partition land in DEFAULT, and
-- the maintenance makes their partitions and moves them there
INSERT INTO pt.pt_d (user_id, event_timestamp, created_at, v) VALUES
  ('u1', '2024-03-09 10:00+00', '2024-03-09 10:00+00', 1),
  ('u1', '2024-03-10 10:00+00', '2024-03-10 10:00+00', 2),
  ('u2', '2024-03-10 23:59:59.999999+00', '2024-03-11 00:00+00', 3),
  ('u2', '2024-03-11 00:00+00', '2024-03-11 00:00+00', 4);
SELECT tableoid::regclass AS partition, v FROM pt.pt_d ORDER BY v;
SELECT action, partition_name, rows FROM featstore.maintain_partitions('pt_d') ORDER BY partition_name;
SELECT tableoid::regclass AS partition, v FROM pt.pt_d ORDER BY v;
SELECT partition_name, bound FROM featstore.partitions
 WHERE group_name = 'pt_d' AND bound LIKE '%2024%' ORDER BY 1;
-- a second run finds nothing to do
SELECT count(*) AS actions FROM featstore.maintain_partitions('pt_d');
-- infinite event times, and one whose interval would end past the last
-- timestamp, stay in DEFAULT, and the maintenance goes on without an error
INSERT INTO pt.pt_d (user_id, event_timestamp, created_at, v) VALUES
  ('u3', 'infinity', '2024-03-09+00', 10), ('u3', '-infinity', '2024-03-09+00', 11),
  ('u3', '294276-12-31 10:00+00', '2024-03-09+00', 12);
SELECT count(*) AS actions FROM featstore.maintain_partitions('pt_d');
SELECT tableoid::regclass AS partition, v FROM pt.pt_d WHERE v >= 10 ORDER BY v;
DELETE FROM pt.pt_d WHERE v >= 10;

-- retention: a TTL is needed, it must cover the TTL; SET TTL is held to it
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_d SET RETENTION '3 days' $$;
SELECT group_name, partitioning FROM featstore.group_overview WHERE group_name = 'pt_d';
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_d SET TTL '5 days' $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_d SET TTL NONE $$;
-- the 2024 partitions are past it: dropped; the current ones stay
SELECT action, rows FROM featstore.maintain_partitions('pt_d') ORDER BY 1, 2;
SELECT count(*) AS rows_2024 FROM pt.pt_d;
SELECT count(*) FILTER (WHERE bound LIKE '%2024%') AS old_partitions, count(*) > 1 AS current_partitions
  FROM featstore.partitions WHERE group_name = 'pt_d';
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_d DROP RETENTION $$;
SELECT retention FROM featstore.group_partitioning WHERE group_name = 'pt_d';

-- a training set that reaches back sets the floor of the retention
INSERT INTO pt.pt_d (user_id, event_timestamp, created_at, v)
VALUES ('u1', now() - interval '20 days', now() - interval '20 days', 5);
CREATE TABLE pt.labels_d (user_id text, ts timestamptz);
INSERT INTO pt.labels_d VALUES ('u1', now() - interval '10 days');
DO LANGUAGE featstore $$
CREATE FEATURE SERVICE pt_svc FEATURES (pt_d.v);
CREATE TRAINING SET pt.pt_set FOR SERVICE pt_svc FROM pt.labels_d;
$$;
-- (terse: the detail and hint name instants relative to now())
\set VERBOSITY terse
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_d SET RETENTION '5 days' $$;
\set VERBOSITY default
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_d SET RETENTION '13 days' $$;
DO LANGUAGE featstore $$ DROP TRAINING SET pt_set; DROP FEATURE SERVICE pt_svc; $$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_d DROP RETENTION $$;
SELECT command, object_name, statement FROM featstore.definition_history
 WHERE object_name = 'pt_d' AND statement LIKE '%RETENTION%' ORDER BY id;

-- privileges: the maintenance is the table owner's; a reader is refused
CREATE ROLE pt_reader LOGIN IN ROLE featstore_reader;
CREATE ROLE pt_editor LOGIN IN ROLE featstore_editor;
SET ROLE pt_reader;
SELECT * FROM featstore.maintain_partitions('pt_d');
RESET ROLE;
SET ROLE pt_editor;
SELECT * FROM featstore.maintain_partitions('pt_d');
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_d SET RETENTION '400 days' $$;
RESET ROLE;

-- a foreign or sub-partitioned partition is refused at every read
CREATE TABLE pt.pt_d_sub PARTITION OF pt.pt_d FOR VALUES FROM ('2020-01-01+00') TO ('2020-01-02+00')
  PARTITION BY RANGE (event_timestamp);
SELECT * FROM featstore.pit_join(NULL::pt.labels_d, 'pt.labels_d', features => '{pt_d}');
DROP TABLE pt.pt_d_sub;

-- a hostile owner's code on a partition is refused as it is made: an index
-- whose predicate calls the owner's function, on a partition or on a table
-- being attached (the planner would run it in a reader's session)
CREATE FUNCTION pt.owner_fn(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE INDEX pt_d_bad ON pt.pt_d_default (v) WHERE pt.owner_fn(v);
CREATE TABLE pt.pt_d_att (LIKE pt.pt_d);
CREATE INDEX pt_d_att_bad ON pt.pt_d_att (v) WHERE pt.owner_fn(v);
ALTER TABLE pt.pt_d ATTACH PARTITION pt.pt_d_att FOR VALUES FROM ('2019-01-01+00') TO ('2019-01-02+00');
SELECT count(*) AS attached FROM pg_catalog.pg_inherits WHERE inhrelid = 'pt.pt_d_att'::regclass;
-- one slipped in with the guards off (a superuser can) is refused at every read
SET session_replication_role = replica;
ALTER TABLE pt.pt_d ATTACH PARTITION pt.pt_d_att FOR VALUES FROM ('2019-01-01+00') TO ('2019-01-02+00');
RESET session_replication_role;
SELECT * FROM featstore.pit_join(NULL::pt.labels_d, 'pt.labels_d', features => '{pt_d}');
DROP TABLE pt.pt_d_att;

-- a reader needs SELECT on the group's table; the partitions have no grants
SELECT featstore.create_pit_view('pt.pjd', 'pt.labels_d', features => '{pt_d}');
GRANT USAGE ON SCHEMA pt TO pt_reader;
GRANT SELECT ON pt.labels_d TO pt_reader;
SET ROLE pt_reader;
SELECT count(*) FROM featstore.pit_join(NULL::pt.pjd, 'pt.labels_d', features => '{pt_d}');
SELECT count(*) FROM pt.pt_d_default;
RESET ROLE;
GRANT SELECT ON pt.pt_d TO pt_reader;
SET ROLE pt_reader;
SELECT count(*) FROM featstore.pit_join(NULL::pt.pjd, 'pt.labels_d', features => '{pt_d}');
SELECT count(*) FROM pt.pt_d_default;
RESET ROLE;
DROP VIEW pt.pjd;
REVOKE ALL ON SCHEMA pt FROM pt_reader;
REVOKE ALL ON pt.labels_d, pt.pt_d FROM pt_reader;

-- the join over partitions: data in 2024, 6-hour partitions
CREATE TABLE pt.spine (id serial, k1 integer, k2 text, ts timestamptz);
CREATE FUNCTION pt.fill(seed float8, nhist int, nspine int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE pt.pt_r, pt.pt_h, pt.spine;
	PERFORM setseed(seed);
	INSERT INTO pt.pt_r (k1, k2, event_timestamp, created_at, f_num, f_txt)
	SELECT floor(power(random(), 3) * 12)::int,
		   (ARRAY['a', 'b', 'ab', ''])[1 + floor(random() * 4)::int],
		   timestamptz '2024-03-09 00:00+00' + floor(random() * 72) * interval '1 hour',
		   timestamptz '2024-03-09 00:00+00' + floor(random() * 30) * interval '3 hours',
		   g, repeat('x', floor(random() * 3)::int) || g
	  FROM generate_series(1, nhist) g
	ON CONFLICT DO NOTHING;
	INSERT INTO pt.pt_h SELECT * FROM pt.pt_r;
	-- the spine sometimes covers all the history, sometimes a few hours of it
	INSERT INTO pt.spine (k1, k2, ts)
	SELECT CASE WHEN random() < 0.03 THEN NULL ELSE floor(power(random(), 3) * 14)::int END,
		   (ARRAY['a', 'b', 'ab', ''])[1 + floor(random() * 4)::int],
		   CASE WHEN random() < 0.03 THEN NULL
				ELSE timestamptz '2024-03-08 20:00+00'
					 + CASE WHEN (seed * 1000)::int % 2 = 0 THEN floor(random() * 84) ELSE 30 + floor(random() * 8) END * interval '1 hour'
					 + CASE WHEN random() < 0.2 THEN interval '1 microsecond' ELSE interval '0' END
		   END
	  FROM generate_series(1, nspine) g;
	ANALYZE pt.pt_r;
	ANALYZE pt.pt_h;
	ANALYZE pt.spine;
END $$;
-- the 2024 rows land in DEFAULT; the maintenance gives them partitions
SELECT pt.fill(0.5, 2000, 10);
SELECT count(*) AS created FROM featstore.maintain_partitions('pt_r') WHERE action = 'created';
SELECT count(*) AS rows_in_default FROM ONLY pt.pt_r_default;

-- node_spine: the join reads this copy of pt.spine's rows (the oracle pt.spine)
CREATE FUNCTION pt.diff(grp text, ttl interval, as_of timestamptz, strict boolean, inner_join boolean,
						node_spine text DEFAULT 'spine')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	node text;
	oracle text;
BEGIN
	node := format($q$
		SELECT s.id, f.f_num, f.f_txt FROM pt.%I s %s JOIN pt.%I f
			ON f.k1 = s.k1 AND f.k2 = s.k2
		   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, %L::interval, %L::timestamptz, %L::boolean)$q$,
		node_spine, CASE WHEN inner_join THEN 'INNER' ELSE 'LEFT' END, grp, ttl, as_of, strict);
	oracle := format($q$
		SELECT s.id, w.f_num, w.f_txt FROM pt.spine s %s JOIN LATERAL (
			SELECT r.f_num, r.f_txt FROM pt.%I r
			 WHERE r.k1 = s.k1 AND r.k2 = s.k2 AND r.event_timestamp <= s.ts
			   AND (%L::interval IS NULL OR r.event_timestamp >= s.ts - %L::interval)
			   AND (%L::timestamptz IS NULL OR r.created_at <= %L::timestamptz)
			   AND (NOT %L::boolean OR r.created_at <= s.ts)
			 ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true$q$,
		CASE WHEN inner_join THEN 'INNER' ELSE 'LEFT' END, grp, ttl, ttl, as_of, as_of, strict);
	EXECUTE format('SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s)) d',
				   node, oracle, oracle, node) INTO n;
	RETURN n;
END $$;

DO $$
DECLARE
	seed int;
	grp text;
	strat text;
	opt record;
	d bigint;
	runs int := 0;
	bad int := 0;
BEGIN
	FOR seed IN 1 .. 24 LOOP
		PERFORM pt.fill(seed / 1000.0, 100 + (seed * 37) % 900, 20 + (seed * 53) % 300);
		FOREACH grp IN ARRAY ARRAY['pt_r', 'pt_h'] LOOP
			FOREACH strat IN ARRAY ARRAY['hash', 'merge', 'auto'] LOOP
				PERFORM set_config('featstore.pit_strategy', strat, true);
				PERFORM set_config('work_mem', CASE WHEN seed % 6 = 0 THEN '64kB' ELSE '4MB' END, true);
				FOR opt IN
					SELECT * FROM (VALUES
						(NULL::interval, NULL::timestamptz, false, false),
						(interval '6 hours', NULL, false, false),
						(interval '1 day', NULL, false, true),
						(interval '3 hours', timestamptz '2024-03-10 12:00+00', false, false),
						(interval '12 hours', timestamptz '2024-03-11 00:00+00', true, false)) v(ttl, as_of, is_strict, inner_join)
				LOOP
					d := pt.diff(grp, opt.ttl, opt.as_of, opt.is_strict, opt.inner_join);
					runs := runs + 1;
					IF d <> 0 THEN
						bad := bad + 1;
						RAISE WARNING 'group % seed % strategy % ttl % as_of % strict % inner %: % rows differ',
							grp, seed, strat, opt.ttl, opt.as_of, opt.is_strict, opt.inner_join, d;
					END IF;
				END LOOP;
			END LOOP;
		END LOOP;
	END LOOP;
	RAISE NOTICE 'partitioned differential test: % comparisons, % with differences', runs, bad;
END $$;
RESET work_mem;

-- a partition-wise join: with enable_partitionwise_join and a spine
-- hash-partitioned like pt_h, PostgreSQL pairs the partitions and each pair
-- is a PitJoin under an Append; against the oracle on the same rows (pt.diff)
CREATE TABLE pt.spine_h (id int, k1 integer, k2 text, ts timestamptz) PARTITION BY HASH (k1, k2);
DO $$
BEGIN
	FOR r IN 0 .. 4 LOOP
		EXECUTE format('CREATE TABLE pt.spine_h%s PARTITION OF pt.spine_h FOR VALUES WITH (MODULUS 5, REMAINDER %s)', r, r);
	END LOOP;
END $$;
SET enable_partitionwise_join = on;
SELECT pt.fill(0.25, 600, 150);
INSERT INTO pt.spine_h SELECT * FROM pt.spine;
ANALYZE pt.spine_h;
EXPLAIN (COSTS OFF)
SELECT s.id, f.f_num FROM pt.spine_h s LEFT JOIN pt.pt_h f
  ON f.k1 = s.k1 AND f.k2 = s.k2
 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '7 hours');
DO $$
DECLARE
	seed int;
	strat text;
	opt record;
	d bigint;
	runs int := 0;
	bad int := 0;
BEGIN
	FOR seed IN 1 .. 8 LOOP
		PERFORM pt.fill(seed / 100.0, 100 + (seed * 37) % 900, 20 + (seed * 53) % 300);
		TRUNCATE pt.spine_h;
		INSERT INTO pt.spine_h SELECT * FROM pt.spine;
		ANALYZE pt.spine_h;
		FOREACH strat IN ARRAY ARRAY['hash', 'merge', 'probe', 'auto'] LOOP
			PERFORM set_config('featstore.pit_strategy', strat, true);
			FOR opt IN
				SELECT * FROM (VALUES
					(NULL::interval, NULL::timestamptz, false, false),
					(interval '6 hours', NULL, false, true),
					(interval '12 hours', timestamptz '2024-03-11 00:00+00', true, false)) v(ttl, as_of, is_strict, inner_join)
			LOOP
				d := pt.diff('pt_h', opt.ttl, opt.as_of, opt.is_strict, opt.inner_join, 'spine_h');
				runs := runs + 1;
				IF d <> 0 THEN
					bad := bad + 1;
					RAISE WARNING 'partition-wise seed % strategy % ttl % as_of % strict % inner %: % rows differ',
						seed, strat, opt.ttl, opt.as_of, opt.is_strict, opt.inner_join, d;
				END IF;
			END LOOP;
		END LOOP;
	END LOOP;
	RAISE NOTICE 'partition-wise differential test: % comparisons, % with differences', runs, bad;
END $$;
RESET featstore.pit_strategy;
-- a PII feature stays masked when the join reads the group's partitions
-- (each pair's PitJoin finds the group through the partition's parent)
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_h ALTER FEATURE f_txt SET PII $$;
GRANT USAGE ON SCHEMA pt TO pt_reader;
GRANT SELECT ON pt.pt_h, pt.spine_h TO pt_reader;
SET ROLE pt_reader;
SELECT count(*) AS joined, count(f.f_txt) AS f_txt_seen, count(f.f_num) AS f_num_seen
  FROM pt.spine_h s LEFT JOIN pt.pt_h f ON f.k1 = s.k1 AND f.k2 = s.k2
   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
RESET ROLE;
SELECT count(*) AS joined, count(f.f_txt) AS f_txt_seen, count(f.f_num) AS f_num_seen
  FROM pt.spine_h s LEFT JOIN pt.pt_h f ON f.k1 = s.k1 AND f.k2 = s.k2
   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
REVOKE SELECT ON pt.pt_h, pt.spine_h FROM pt_reader;
REVOKE USAGE ON SCHEMA pt FROM pt_reader;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_h ALTER FEATURE f_txt DROP PII $$;
RESET enable_partitionwise_join;
DROP TABLE pt.spine_h;
-- back to the data the differential test left (its last seed), for what follows
DO $$ BEGIN PERFORM pt.fill(24 / 1000.0, 100 + (24 * 37) % 900, 20 + (24 * 53) % 300); END $$;

-- pruning: a spine of a few hours reads the partitions of [min ts - TTL, max ts].
-- pt.explain shows the plan without the partitions made for the current
-- date (their names and number depend on when the test runs): the Append
-- lists the partitions read, and the node how many
CREATE FUNCTION pt.explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		CONTINUE WHEN line ~ 'pt_r_p20(2[5-9]|[3-9])';
		RETURN NEXT regexp_replace(regexp_replace(line, 'of \d+ read, \d+ pruned', 'read, the others pruned'),
								   ' f_\d+ ', ' f ');
	END LOOP;
END $$;
TRUNCATE pt.spine;
INSERT INTO pt.spine (k1, k2, ts) VALUES (1, 'a', '2024-03-10 13:00+00'), (2, 'b', '2024-03-10 17:59+00');
SET featstore.pit_strategy = hash;
SELECT pt.explain($q$SELECT s.id, f.f_num FROM pt.spine s LEFT JOIN pt.pt_r f
  ON f.k1 = s.k1 AND f.k2 = s.k2
 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '7 hours')$q$);
SET featstore.pit_strategy = merge;
-- a TTL of 30 minutes: fewer partitions below the smallest ts
SELECT pt.explain($q$SELECT s.id, f.f_num FROM pt.spine s LEFT JOIN pt.pt_r f
  ON f.k1 = s.k1 AND f.k2 = s.k2
 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '30 minutes')$q$);
-- a spine without any ts reads no partition at all
TRUNCATE pt.spine;
INSERT INTO pt.spine (k1, k2, ts) VALUES (1, 'a', NULL);
SELECT pt.explain($q$SELECT s.id, f.f_num FROM pt.spine s LEFT JOIN pt.pt_r f
  ON f.k1 = s.k1 AND f.k2 = s.k2
 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '7 hours')$q$);
RESET featstore.pit_strategy;
-- a hash-partitioned history is read whole (no run-time pruning by time)
EXPLAIN (COSTS OFF)
SELECT s.id, f.f_num FROM pt.spine s LEFT JOIN pt.pt_h f
  ON f.k1 = s.k1 AND f.k2 = s.k2
 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '7 hours');

-- pit_join() reads the partitioned groups too
INSERT INTO pt.spine (k1, k2, ts) VALUES (1, 'a', '2024-03-11 00:00+00');
SELECT featstore.create_pit_view('pt.pj', 'pt.spine', features => '{pt_r, pt_h}', qualified => true);
SELECT count(*) = (SELECT count(*) FROM pt.spine) AS one_row_per_spine_row FROM pt.pj;
SELECT k1, k2, ts, pt_r__f_num, pt_r__f_txt, pt_h__f_num, pt_h__f_txt
  FROM featstore.pit_join(NULL::pt.pj, 'pt.spine', features => '{pt_r, pt_h}', qualified => true)
 ORDER BY ts;
DROP VIEW pt.pj;

-- ADD FEATURE reaches every partition; DROP FEATURE GROUP drops them with the table
DO LANGUAGE featstore $$ ALTER FEATURE GROUP pt_h ADD FEATURE extra int $$;
SELECT count(*) AS partitions_with_extra FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.inhrelid AND a.attname = 'extra'
 WHERE i.inhparent = 'pt.pt_h'::regclass;
DO LANGUAGE featstore $$ DROP FEATURE GROUP pt_h; DROP FEATURE GROUP pt_d $$;
SELECT count(*) AS left_behind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pt' AND (c.relname LIKE 'pt\_h%' OR c.relname LIKE 'pt\_d%');
SELECT group_name FROM featstore.group_partitioning ORDER BY 1;

DO LANGUAGE featstore $$ DROP FEATURE GROUP pt_r; DROP ENTITY pt_pair; DROP ENTITY pt_user $$;
DROP SCHEMA pt CASCADE;
DROP ROLE pt_reader;
DROP ROLE pt_editor;
