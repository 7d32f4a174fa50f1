-- The hash strategy in batches (pit_exec_grace.c): spines that outgrow
-- work_mem, against the LATERAL oracle of pit-semantics.md, on randomized
-- data: integer keys (the batched filing path), text and compound keys (the
-- row path), every option, estimates far off (so batches double while the
-- join runs), one hot key larger than work_mem on its own, a parallel plan,
-- rescans, a cursor closed early, and temp_file_limit.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
CREATE SCHEMA pit_bat;
SET search_path = pit_bat, public;
SET featstore.pit_strategy = hash;

CREATE TABLE bat_hist (
	k1 integer,
	k2 text,
	event_timestamp timestamptz NOT NULL,
	created_at timestamptz NOT NULL,
	f_num bigint,
	f_txt text,
	UNIQUE (k1, k2, event_timestamp, created_at)
);
CREATE INDEX ON bat_hist (k2, event_timestamp);
CREATE TABLE bat_spine (id serial, k1 integer, k2 text, ts timestamptz, label int)
	WITH (autovacuum_enabled = off);

-- bat_fill draws a data set over nkeys keys, skewed (a third of the rows on
-- a few keys), hour-grid event times with ties, created_at up to 5 hours
-- late and unique (so that no two rows of a key tie on both times, which
-- would let either win), a few NULL keys and spine times, and spine times
-- on and off the grid; k2 is a text key of about 111 values, and (k1, k2)
-- a compound one
CREATE FUNCTION bat_fill(seed float8, nhist int, nspine int, nkeys int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE bat_hist, bat_spine;
	PERFORM setseed(seed);
	INSERT INTO bat_hist (k1, k2, event_timestamp, created_at, f_num, f_txt)
	SELECT k, (ARRAY['a', 'b', 'ab'])[1 + floor(random() * 3)::int] || coalesce((k % 37)::text, ''),
		   t, t + floor(random() * 6) * interval '1 hour' + g * interval '1 microsecond',
		   g, 'v' || g
	  FROM (SELECT g,
				   CASE WHEN random() < 0.01 THEN NULL
						WHEN random() < 0.3 THEN floor(random() * 4)::int
						ELSE floor(random() * nkeys)::int END AS k,
				   timestamptz '2024-03-09 00:00+00' + floor(random() * 400) * interval '1 hour' AS t
			  FROM generate_series(1, nhist) g) r;
	INSERT INTO bat_spine (k1, k2, ts, label)
	SELECT k, (ARRAY['a', 'b', 'ab'])[1 + floor(random() * 3)::int] || coalesce((k % 37)::text, ''),
		   CASE WHEN random() < 0.02 THEN NULL
				ELSE timestamptz '2024-03-09 00:00+00' + floor(random() * 420) * interval '1 hour'
					 + CASE WHEN random() < 0.3 THEN interval '1 microsecond' ELSE interval '0' END END,
		   floor(random() * 2)::int
	  FROM (SELECT CASE WHEN random() < 0.02 THEN NULL
						WHEN random() < 0.3 THEN floor(random() * 4)::int
						ELSE floor(random() * (nkeys * 1.1))::int END AS k
			  FROM generate_series(1, nspine)) r;
END $$;

-- bat_join is the join under test, or the oracle, for keys 'int', 'text'
-- or 'both', a TTL, as_of, strict and the join type
CREATE FUNCTION bat_join(oracle boolean, keys text, ttl interval, as_of timestamptz,
						 strict boolean, inner_join boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	fk text := CASE keys WHEN 'int' THEN 'f.k1 = s.k1' WHEN 'text' THEN 'f.k2 = s.k2'
					ELSE 'f.k1 = s.k1 AND f.k2 = s.k2' END;
	rk text := CASE keys WHEN 'int' THEN 'r.k1 = s.k1' WHEN 'text' THEN 'r.k2 = s.k2'
					ELSE 'r.k1 = s.k1 AND r.k2 = s.k2' END;
	jt text := CASE WHEN inner_join THEN 'INNER' ELSE 'LEFT' END;
BEGIN
	IF NOT oracle THEN
		RETURN format($q$SELECT s.id, f.f_num, f.f_txt FROM bat_spine s %s JOIN bat_hist f
			ON %s AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts,
										  %L::interval, %L::timestamptz, %L::boolean)$q$,
			jt, fk, ttl, as_of, strict);
	END IF;
	RETURN format($q$SELECT s.id, w.f_num, w.f_txt FROM bat_spine s %s JOIN LATERAL (
		SELECT r.f_num, r.f_txt FROM bat_hist r
		 WHERE %s AND r.event_timestamp <= s.ts
		   AND (%L::interval IS NULL OR r.event_timestamp >= s.ts - %L::interval)
		   AND (%L::timestamptz IS NULL OR r.created_at <= %L::timestamptz)
		   AND (NOT %L::boolean OR r.created_at <= s.ts)
		 ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true$q$,
		jt, rk, ttl, ttl, as_of, as_of, strict);
END $$;

-- bat_diff counts the rows the join and the oracle do not share, both ways
CREATE FUNCTION bat_diff(keys text, ttl interval, as_of timestamptz, strict boolean,
						 inner_join boolean) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	a text := bat_join(false, keys, ttl, as_of, strict, inner_join);
	b text := bat_join(true, keys, ttl, as_of, strict, inner_join);
	n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s)) d',
				   a, b, b, a) INTO n;
	RETURN n;
END $$;

-- bat_batches is how many batches the join ran in (1: all in memory), the
-- most of any participant's under a Gather
CREATE FUNCTION bat_batches(keys text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	plan json;
	node json;
	strategy text;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' ||
		bat_join(false, keys, NULL, NULL, false, false) INTO plan;
	node := plan -> 0 -> 'Plan';
	IF node ->> 'Node Type' = 'Gather' THEN
		node := node -> 'Plans' -> 0;
	END IF;
	strategy := node ->> 'Strategy';
	IF strategy NOT LIKE 'hash%' THEN
		RAISE EXCEPTION 'not the hash strategy: %', strategy;
	END IF;
	RETURN coalesce(substring(strategy FROM 'hash, (\d+) batches')::int, 1);
END $$;

-- the differential test: 4 seeds x 3 key kinds x 2 work_mem x 4 option sets
DO $$
DECLARE
	seed int;
	keys text;
	wm text;
	d bigint;
	runs int := 0;
	bad int := 0;
	batched int := 0;
BEGIN
	FOR seed IN 1 .. 4 LOOP
		PERFORM bat_fill(seed / 7.0, 6000 + seed * 500, 2500 + seed * 300, 150 + seed * 40);
		ANALYZE bat_hist, bat_spine;
		FOREACH keys IN ARRAY ARRAY['int', 'text', 'both'] LOOP
			FOREACH wm IN ARRAY ARRAY['64kB', '256kB'] LOOP
				PERFORM set_config('work_mem', wm, true);
				IF bat_batches(keys) > 1 THEN
					batched := batched + 1;
				END IF;
				FOR i IN 1 .. 4 LOOP
					d := CASE i
						WHEN 1 THEN bat_diff(keys, NULL, NULL, false, false)
						WHEN 2 THEN bat_diff(keys, '20 hours', NULL, false, false)
						WHEN 3 THEN bat_diff(keys, NULL, '2024-03-20 00:00+00', true, false)
						ELSE bat_diff(keys, '3 days', NULL, true, true) END;
					runs := runs + 1;
					IF d <> 0 THEN
						bad := bad + 1;
						RAISE WARNING 'seed % keys % work_mem % options %: % rows differ',
							seed, keys, wm, i, d;
					END IF;
				END LOOP;
			END LOOP;
		END LOOP;
	END LOOP;
	RAISE NOTICE 'batches: % comparisons, % with differences; % of 24 joins ran in batches',
		runs, bad, batched;
END $$;

-- estimates far off: the statistics say 100 spine rows, the table holds
-- 8000, so the first guess of the batches is low and they double as the
-- spine, then the history, are read
SELECT bat_fill(0.5, 12000, 100, 300);
ANALYZE bat_hist, bat_spine;
INSERT INTO bat_spine (k1, k2, ts, label)
SELECT floor(random() * 330)::int, (ARRAY['a', 'b', 'ab'])[1 + floor(random() * 3)::int] || '1',
	   timestamptz '2024-03-09 00:00+00' + floor(random() * 420) * interval '1 hour', 0
  FROM generate_series(1, 7900);
SET work_mem = '64kB';
SELECT bat_batches('int') >= 16 AS doubled, bat_diff('int', NULL, NULL, false, false) AS int_diff,
	   bat_batches('both') >= 16 AS doubled_both, bat_diff('both', '2 days', NULL, false, false) AS both_diff;

-- one hot key whose spine rows alone outgrow work_mem: splitting cannot
-- divide it, so its batch is joined over work_mem (as PostgreSQL's hash
-- join does), and the result is still exact
SELECT bat_fill(0.25, 4000, 10, 50);
INSERT INTO bat_spine (k1, k2, ts, label)
SELECT 7, 'a', timestamptz '2024-03-09 00:00+00' + floor(random() * 420) * interval '1 hour', 1
  FROM generate_series(1, 3000);
INSERT INTO bat_hist (k1, k2, event_timestamp, created_at, f_num, f_txt)
SELECT 7, 'a', t, t, g, 'hot' || g
  FROM (SELECT g, timestamptz '2024-03-09 00:00+00' + g * interval '7 minutes' AS t
		  FROM generate_series(1, 3000) g) r;
ANALYZE bat_hist, bat_spine;
SELECT bat_batches('int') > 1 AS batched, bat_diff('int', NULL, NULL, false, false) AS int_diff,
	   bat_diff('both', '1 hour', NULL, false, true) AS both_diff;

-- what EXPLAIN ANALYZE shows: the batches and the rows written to them
SELECT bat_fill(0.75, 3000, 1500, 100);
ANALYZE bat_hist, bat_spine;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT s.id, f.f_num FROM bat_spine s LEFT JOIN bat_hist f
  ON f.k1 = s.k1 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '1 day');

-- rescans: the join in a correlated subquery, once per outer row, each scan
-- in batches afresh, against the oracle
SELECT g.l,
	   (SELECT count(f.f_num) FROM bat_spine s LEFT JOIN bat_hist f
		  ON f.k1 = s.k1 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
		 WHERE s.label = g.l) =
	   (SELECT count(w.f_num) FROM bat_spine s LEFT JOIN LATERAL (
		  SELECT r.f_num FROM bat_hist r WHERE r.k1 = s.k1 AND r.event_timestamp <= s.ts
		   ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true
		 WHERE s.label = g.l) AS equal
  FROM (VALUES (0), (1), (0)) g(l);

-- a cursor closed after a few rows closes its batch files: no temporary
-- file leak is reported at commit
BEGIN;
DECLARE c CURSOR FOR
SELECT s.id, f.f_num FROM bat_spine s LEFT JOIN bat_hist f
  ON f.k1 = s.k1 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
MOVE 10 IN c;
CLOSE c;
COMMIT;

-- the parallel node: each participant joins its partitions in batches
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET featstore.pit_parallel = force;
SELECT bat_fill(0.125, 9000, 4000, 300);
ANALYZE bat_hist, bat_spine;
SELECT bat_batches('int') > 1 AS batched, bat_batches('text') > 1 AS batched_text,
	   bat_diff('int', NULL, NULL, false, false) AS int_diff,
	   bat_diff('both', '20 hours', '2024-03-20 00:00+00', true, false) AS both_diff;
EXPLAIN (COSTS OFF)
SELECT s.id, f.f_num FROM bat_spine s LEFT JOIN bat_hist f
  ON f.k1 = s.k1 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
RESET featstore.pit_parallel;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;

-- temp_file_limit applies to the batch files: a clean error, and the
-- session goes on
SET temp_file_limit = '64kB';
SELECT count(*) FROM bat_spine s LEFT JOIN bat_hist f
  ON f.k1 = s.k1 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
RESET temp_file_limit;
SELECT bat_diff('int', NULL, NULL, false, false) AS after_error_diff;

-- the planner costs the batches instead of ruling hash out: with the
-- spine far larger than work_mem, auto may still choose it
RESET featstore.pit_strategy;
SELECT bat_fill(0.875, 20000, 8000, 2000);
ANALYZE bat_hist, bat_spine;
EXPLAIN (COSTS OFF)
SELECT s.id, f.f_num FROM bat_spine s LEFT JOIN bat_hist f
  ON f.k1 = s.k1 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
SELECT bat_diff('int', NULL, NULL, false, false) AS auto_diff;

RESET work_mem;
DROP SCHEMA pit_bat CASCADE;
