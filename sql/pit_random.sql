-- Randomized differential test: the PitJoin node against the LATERAL oracle
-- of pit-semantics.md, on many seeds, for every strategy, with skewed keys,
-- compound keys, ties, NULLs, TTL edges, as_of, strict and spills.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
CREATE SCHEMA pit_rnd;
SET search_path = pit_rnd, public;

CREATE TABLE rnd_hist (
	k1 integer,
	k2 text,
	event_timestamp timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	f_num bigint,
	f_txt text,
	UNIQUE (k1, k2, event_timestamp, created_at)
);
CREATE TABLE rnd_spine (id serial, k1 integer, k2 text, ts timestamptz, label int);

-- rnd_fill draws one data set: a few hot entities, timestamps on an hour
-- grid (ties on event_timestamp), created_at on a coarser grid, spine
-- timestamps on the grid, one microsecond off it, or NULL.
CREATE FUNCTION rnd_fill(seed float8, nhist int, nspine int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE rnd_hist, rnd_spine;
	PERFORM setseed(seed);
	INSERT INTO rnd_hist (k1, k2, event_timestamp, created_at, f_num, f_txt)
	SELECT CASE WHEN random() < 0.02 THEN NULL ELSE floor(power(random(), 3) * 12)::int END,
		   (ARRAY['a', 'b', 'ab', ''])[1 + floor(random() * 4)::int],
		   timestamptz '2024-03-09 00:00+00' + floor(random() * 72) * interval '1 hour',
		   timestamptz '2024-03-09 00:00+00' + floor(random() * 30) * interval '3 hours',
		   g,
		   repeat('x', floor(random() * 3)::int) || g
	  FROM generate_series(1, nhist) g
	ON CONFLICT DO NOTHING;
	INSERT INTO rnd_spine (k1, k2, ts, label)
	SELECT CASE WHEN random() < 0.03 THEN NULL ELSE floor(power(random(), 3) * 14)::int END,
		   CASE WHEN random() < 0.02 THEN NULL ELSE (ARRAY['a', 'b', 'ab', ''])[1 + floor(random() * 4)::int] END,
		   CASE WHEN random() < 0.03 THEN NULL
				ELSE timestamptz '2024-03-08 20:00+00' + floor(random() * 84) * interval '1 hour'
					 + CASE WHEN random() < 0.2 THEN interval '1 microsecond'
							WHEN random() < 0.1 THEN interval '-1 microsecond' ELSE interval '0' END
		   END,
		   g
	  FROM generate_series(1, nspine) g;
	-- exact duplicate spine rows are kept
	INSERT INTO rnd_spine (k1, k2, ts, label)
	SELECT k1, k2, ts, label FROM rnd_spine WHERE id % 17 = 0;
	ANALYZE rnd_hist;
	ANALYZE rnd_spine;
END $$;

-- rnd_sym_diff counts the rows two queries do not share, both ways
CREATE FUNCTION rnd_sym_diff(a text, b text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s)) d',
				   a, b, b, a) INTO n;
	RETURN n;
END $$;

-- rnd_diff counts the rows where the node and the oracle disagree
CREATE FUNCTION rnd_diff(ttl interval, as_of timestamptz, strict boolean, inner_join boolean)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	node text;
	oracle text;
BEGIN
	node := format($q$
		SELECT s.k1, s.k2, s.ts, s.label, f.f_num, f.f_txt
		  FROM rnd_spine s %s JOIN rnd_hist f
			ON f.k1 = s.k1 AND f.k2 = s.k2
		   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, %L::interval, %L::timestamptz, %L::boolean)$q$,
		CASE WHEN inner_join THEN 'INNER' ELSE 'LEFT' END, ttl, as_of, strict);
	oracle := format($q$
		SELECT s.k1, s.k2, s.ts, s.label, w.f_num, w.f_txt
		  FROM rnd_spine s %s JOIN LATERAL (
			SELECT r.f_num, r.f_txt FROM rnd_hist r
			 WHERE r.k1 = s.k1 AND r.k2 = s.k2
			   AND r.event_timestamp <= s.ts
			   AND (%L::interval IS NULL OR r.event_timestamp >= s.ts - %L::interval)
			   AND (%L::timestamptz IS NULL OR r.created_at <= %L::timestamptz)
			   AND (NOT %L::boolean OR r.created_at <= s.ts)
			 ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true$q$,
		CASE WHEN inner_join THEN 'INNER' ELSE 'LEFT' END, ttl, ttl, as_of, as_of, strict);
	RETURN rnd_sym_diff(node, oracle);
END $$;

-- every seed, every strategy, several option sets; report any disagreement
DO $$
DECLARE
	seed int;
	strat text;
	opt record;
	d bigint;
	runs int := 0;
	bad int := 0;
BEGIN
	FOR seed IN 1 .. 60 LOOP
		PERFORM rnd_fill(seed / 1000.0, 50 + (seed * 37) % 900,
						 CASE WHEN seed % 5 = 0 THEN 1000 ELSE 20 + (seed * 53) % 400 END);
		FOR strat IN SELECT unnest(ARRAY['hash', 'merge', 'probe', 'auto']) LOOP
			PERFORM set_config('featstore.pit_strategy', strat, true);
			-- seeds divisible by 5 run with the smallest work_mem: hash runs in batches
			PERFORM set_config('work_mem', CASE WHEN seed % 5 = 0 THEN '64kB' ELSE '4MB' END, true);
			FOR opt IN
				SELECT * FROM (VALUES
					(NULL::interval, NULL::timestamptz, false, false),
					(interval '6 hours', NULL, false, false),
					(interval '1 day', NULL, false, true),
					(interval '3 hours', timestamptz '2024-03-10 12:00+00', false, false),
					(NULL, NULL, true, false),
					(interval '12 hours', timestamptz '2024-03-11 00:00+00', true, false)) v(ttl, as_of, is_strict, inner_join)
			LOOP
				d := rnd_diff(opt.ttl, opt.as_of, opt.is_strict, opt.inner_join);
				runs := runs + 1;
				IF d <> 0 THEN
					bad := bad + 1;
					RAISE WARNING 'seed % strategy % ttl % as_of % strict % inner %: % rows differ',
						seed, strat, opt.ttl, opt.as_of, opt.is_strict, opt.inner_join, d;
				END IF;
			END LOOP;
		END LOOP;
	END LOOP;
	RAISE NOTICE 'differential test: % comparisons, % with differences', runs, bad;
END $$;

-- one integer key takes the batched, prefetching path of the hash strategy;
-- work_mem 64kB makes it go to batches midway through the history.  The
-- table is unique on (k1, event_timestamp, created_at), as a group's is.
CREATE TABLE rnd_hist1 (LIKE rnd_hist, UNIQUE (k1, event_timestamp, created_at));
DO $$
DECLARE
	seed int;
	strat text;
	wm text;
	d bigint;
	runs int := 0;
	bad int := 0;
BEGIN
	FOR seed IN 1 .. 12 LOOP
		PERFORM rnd_fill(seed / 91.0, 300 + seed * 97, 100 + seed * 83);
		TRUNCATE rnd_hist1;
		INSERT INTO rnd_hist1 SELECT DISTINCT ON (k1, event_timestamp, created_at) *
		  FROM rnd_hist ORDER BY k1, event_timestamp, created_at, f_num;
		ANALYZE rnd_hist1;
		FOREACH strat IN ARRAY ARRAY['hash', 'merge', 'probe'] LOOP
			FOREACH wm IN ARRAY ARRAY['64kB', '4MB'] LOOP
				PERFORM set_config('featstore.pit_strategy', strat, true);
				PERFORM set_config('work_mem', wm, true);
				EXECUTE $q$
					SELECT count(*) FROM (
					  (SELECT s.id, f.f_num, f.f_txt FROM rnd_spine s LEFT JOIN rnd_hist1 f ON f.k1 = s.k1
						  AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '7 hours')
					   EXCEPT ALL
					   SELECT s.id, w.f_num, w.f_txt FROM rnd_spine s LEFT JOIN LATERAL (
						 SELECT r.f_num, r.f_txt FROM rnd_hist1 r WHERE r.k1 = s.k1 AND r.event_timestamp <= s.ts
							AND r.event_timestamp >= s.ts - interval '7 hours'
						  ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true)
					  UNION ALL
					  (SELECT s.id, w.f_num, w.f_txt FROM rnd_spine s LEFT JOIN LATERAL (
						 SELECT r.f_num, r.f_txt FROM rnd_hist1 r WHERE r.k1 = s.k1 AND r.event_timestamp <= s.ts
							AND r.event_timestamp >= s.ts - interval '7 hours'
						  ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true
					   EXCEPT ALL
					   SELECT s.id, f.f_num, f.f_txt FROM rnd_spine s LEFT JOIN rnd_hist1 f ON f.k1 = s.k1
						  AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '7 hours'))) d$q$ INTO d;
				runs := runs + 1;
				IF d <> 0 THEN
					bad := bad + 1;
					RAISE WARNING 'integer key, seed % strategy % work_mem %: % rows differ', seed, strat, wm, d;
				END IF;
			END LOOP;
		END LOOP;
	END LOOP;
	RAISE NOTICE 'integer key: % comparisons, % with differences', runs, bad;
END $$;
RESET work_mem;
SET featstore.pit_strategy = hash;
SET work_mem = '64kB';
SELECT rnd_fill(0.5, 1500, 400);
TRUNCATE rnd_hist1;
INSERT INTO rnd_hist1 SELECT DISTINCT ON (k1, event_timestamp, created_at) *
  FROM rnd_hist ORDER BY k1, event_timestamp, created_at, f_num;
ANALYZE rnd_hist1;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT * FROM rnd_spine s LEFT JOIN rnd_hist1 f
  ON f.k1 = s.k1 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '7 hours');
RESET work_mem;
RESET featstore.pit_strategy;
DROP TABLE rnd_hist1;

-- the probe strategy on an index that stores event_timestamp descending
CREATE TABLE rnd_hist_desc (LIKE rnd_hist);
CREATE INDEX ON rnd_hist_desc (k1, k2, event_timestamp DESC, created_at DESC);
DO $$
DECLARE
	seed int;
	d bigint;
	bad int := 0;
BEGIN
	PERFORM set_config('featstore.pit_strategy', 'probe', true);
	FOR seed IN 1 .. 10 LOOP
		PERFORM rnd_fill(seed / 77.0, 600, 300);
		TRUNCATE rnd_hist_desc;
		INSERT INTO rnd_hist_desc SELECT * FROM rnd_hist;
		ANALYZE rnd_hist_desc;
		EXECUTE $q$
			SELECT count(*) FROM (
			  (SELECT s.id, f.f_num FROM rnd_spine s LEFT JOIN rnd_hist_desc f ON f.k1 = s.k1 AND f.k2 = s.k2
				  AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '9 hours', '2024-03-11', false)
			   EXCEPT ALL
			   SELECT s.id, w.f_num FROM rnd_spine s LEFT JOIN LATERAL (
				 SELECT r.f_num FROM rnd_hist r WHERE r.k1 = s.k1 AND r.k2 = s.k2 AND r.event_timestamp <= s.ts
					AND r.event_timestamp >= s.ts - interval '9 hours' AND r.created_at <= '2024-03-11'
				  ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true)) d$q$ INTO d;
		IF d <> 0 THEN
			bad := bad + 1;
			RAISE WARNING 'descending index, seed %: % rows differ', seed, d;
		END IF;
	END LOOP;
	RAISE NOTICE 'descending-index probe: 10 seeds, % with differences', bad;
END $$;
SET featstore.pit_strategy = probe;
EXPLAIN (COSTS OFF)
SELECT * FROM rnd_spine s LEFT JOIN rnd_hist_desc f
  ON f.k1 = s.k1 AND f.k2 = s.k2 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
DROP TABLE rnd_hist_desc;

-- the plans really were PitJoin with the forced strategy
SET featstore.pit_strategy = merge;
EXPLAIN (COSTS OFF)
SELECT * FROM rnd_spine s LEFT JOIN rnd_hist f
  ON f.k1 = s.k1 AND f.k2 = s.k2 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
SET featstore.pit_strategy = hash;
EXPLAIN (COSTS OFF)
SELECT * FROM rnd_spine s LEFT JOIN rnd_hist f
  ON f.k1 = s.k1 AND f.k2 = s.k2 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
RESET featstore.pit_strategy;

-- the parallel-aware node (Gather over a Parallel PitJoin: each participant
-- reads both inputs and joins the key-hash partitions it claims) against
-- the oracle: hash and merge (and hash in batches), compound and
-- single integer keys, with two workers, with no worker launched (the
-- leader joins every partition), without the leader, and under
-- force_parallel_mode
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET featstore.pit_parallel = force;
CREATE TABLE rnd_hist1 (LIKE rnd_hist, UNIQUE (k1, event_timestamp, created_at));
CREATE FUNCTION rnd_diff1(ttl interval) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format($q$
		SELECT count(*) FROM (
		  (SELECT s.id, f.f_num, f.f_txt FROM rnd_spine s LEFT JOIN rnd_hist1 f ON f.k1 = s.k1
			  AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, %1$L::interval)
		   EXCEPT ALL
		   SELECT s.id, w.f_num, w.f_txt FROM rnd_spine s LEFT JOIN LATERAL (
			 SELECT r.f_num, r.f_txt FROM rnd_hist1 r WHERE r.k1 = s.k1 AND r.event_timestamp <= s.ts
				AND r.event_timestamp >= s.ts - %1$L::interval
			  ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true)
		  UNION ALL
		  (SELECT s.id, w.f_num, w.f_txt FROM rnd_spine s LEFT JOIN LATERAL (
			 SELECT r.f_num, r.f_txt FROM rnd_hist1 r WHERE r.k1 = s.k1 AND r.event_timestamp <= s.ts
				AND r.event_timestamp >= s.ts - %1$L::interval
			  ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true
		   EXCEPT ALL
		   SELECT s.id, f.f_num, f.f_txt FROM rnd_spine s LEFT JOIN rnd_hist1 f ON f.k1 = s.k1
			  AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, %1$L::interval))) d$q$, ttl)
	  INTO n;
	RETURN n;
END $$;
-- rnd_participants varies the participants with the seed: two workers, no
-- worker launched, no leader, force_parallel_mode (for the transaction)
CREATE FUNCTION rnd_participants(seed int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('max_parallel_workers', CASE WHEN seed % 4 = 1 THEN '0' ELSE '8' END, true);
	PERFORM set_config('parallel_leader_participation', CASE WHEN seed % 4 = 2 THEN 'off' ELSE 'on' END, true);
	PERFORM set_config('force_parallel_mode', CASE WHEN seed % 4 = 3 THEN 'regress' ELSE 'off' END, true);
END $$;
-- rnd_parallel_plan tells whether the join below runs as a parallel PitJoin
CREATE FUNCTION rnd_parallel_plan() RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	plan text := '';
	line text;
BEGIN
	FOR line IN EXECUTE $q$EXPLAIN (COSTS OFF) SELECT * FROM rnd_spine s LEFT JOIN rnd_hist f
		ON f.k1 = s.k1 AND f.k2 = s.k2 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)$q$
	LOOP
		plan := plan || line || E'\n';
	END LOOP;
	RETURN plan LIKE '%Gather%Parallel Custom Scan (PitJoin)%';
END $$;
DO $$
DECLARE
	seed int;
	strat text;
	opt record;
	d bigint;
	runs int := 0;
	bad int := 0;
	notpar int := 0;
BEGIN
	FOR seed IN 1 .. 24 LOOP
		PERFORM rnd_fill(seed / 313.0, 100 + (seed * 41) % 900,
						 CASE WHEN seed % 6 = 0 THEN 1000 ELSE 30 + (seed * 59) % 400 END);
		TRUNCATE rnd_hist1;
		INSERT INTO rnd_hist1 SELECT DISTINCT ON (k1, event_timestamp, created_at) *
		  FROM rnd_hist ORDER BY k1, event_timestamp, created_at, f_num;
		ANALYZE rnd_hist1;
		-- the participants vary with the seed
		PERFORM rnd_participants(seed);
		FOREACH strat IN ARRAY ARRAY['hash', 'merge'] LOOP
			PERFORM set_config('featstore.pit_strategy', strat, true);
			-- seeds divisible by 3 run with the smallest work_mem: hash runs in batches
			PERFORM set_config('work_mem', CASE WHEN seed % 3 = 0 THEN '64kB' ELSE '4MB' END, true);
			IF NOT rnd_parallel_plan() THEN
				notpar := notpar + 1;
			END IF;
			FOR opt IN
				SELECT * FROM (VALUES
					(NULL::interval, NULL::timestamptz, false, false),
					(interval '6 hours', NULL, false, false),
					(interval '1 day', NULL, false, true),
					(interval '12 hours', timestamptz '2024-03-11 00:00+00', true, false)) v(ttl, as_of, is_strict, inner_join)
			LOOP
				d := rnd_diff(opt.ttl, opt.as_of, opt.is_strict, opt.inner_join);
				runs := runs + 1;
				IF d <> 0 THEN
					bad := bad + 1;
					RAISE WARNING 'parallel, seed % strategy % ttl % as_of % strict % inner %: % rows differ',
						seed, strat, opt.ttl, opt.as_of, opt.is_strict, opt.inner_join, d;
				END IF;
			END LOOP;
			d := rnd_diff1(interval '7 hours');
			runs := runs + 1;
			IF d <> 0 THEN
				bad := bad + 1;
				RAISE WARNING 'parallel, integer key, seed % strategy %: % rows differ', seed, strat, d;
			END IF;
		END LOOP;
	END LOOP;
	RAISE NOTICE 'parallel differential test: % comparisons, % with differences, % plans not parallel',
		runs, bad, notpar;
END $$;
RESET featstore.pit_strategy;
RESET work_mem;
SELECT rnd_fill(0.77, 800, 300);
EXPLAIN (COSTS OFF)
SELECT * FROM rnd_spine s LEFT JOIN rnd_hist f
  ON f.k1 = s.k1 AND f.k2 = s.k2 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
-- EXPLAIN ANALYZE sums the participants' counts: one per spine row
DO $$
DECLARE
	j jsonb;
	node jsonb;
BEGIN
	EXECUTE $q$EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM rnd_spine s LEFT JOIN rnd_hist f
		ON f.k1 = s.k1 AND f.k2 = s.k2
	   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '5 hours')$q$ INTO j;
	node := jsonb_path_query_first(j, 'strict $.**? (@."Custom Plan Provider" == "PitJoin")');
	RAISE NOTICE 'parallel aware: %, counts add up to the spine: %',
		node->'Parallel Aware',
		(node->>'Matched')::bigint + (node->>'No Match')::bigint + (node->>'TTL Expired')::bigint
		  = (SELECT count(*) FROM rnd_spine);
END $$;
-- rescans under Gather: a subplan run once per outer row, against the serial plan
CREATE TEMP TABLE rnd_rescan AS
SELECT g, (SELECT count(*) FILTER (WHERE x.f_num > g * 100) || '/' || count(*)
			 FROM (SELECT s.label, f.f_num FROM rnd_spine s LEFT JOIN rnd_hist f
					 ON f.k1 = s.k1 AND f.k2 = s.k2
					AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '9 hours')) x) AS c
  FROM generate_series(1, 4) g;
EXPLAIN (COSTS OFF)
SELECT g, (SELECT count(*) FILTER (WHERE x.f_num > g * 100) || '/' || count(*)
			 FROM (SELECT s.label, f.f_num FROM rnd_spine s LEFT JOIN rnd_hist f
					 ON f.k1 = s.k1 AND f.k2 = s.k2
					AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '9 hours')) x) AS c
  FROM generate_series(1, 4) g;
SET featstore.pit_parallel = off;
SELECT count(*) AS rescans_differing FROM (
  SELECT g, (SELECT count(*) FILTER (WHERE x.f_num > g * 100) || '/' || count(*)
			   FROM (SELECT s.label, f.f_num FROM rnd_spine s LEFT JOIN rnd_hist f
					   ON f.k1 = s.k1 AND f.k2 = s.k2
					  AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '9 hours')) x) AS c
	FROM generate_series(1, 4) g
  EXCEPT SELECT * FROM rnd_rescan) d;
-- off forbids the parallel plan
EXPLAIN (COSTS OFF)
SELECT * FROM rnd_spine s LEFT JOIN rnd_hist f
  ON f.k1 = s.k1 AND f.k2 = s.k2 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
-- a spine two reads could see differently (here a LIMIT without ORDER BY)
-- is never split among participants, even when forced
SET featstore.pit_parallel = force;
EXPLAIN (COSTS OFF)
SELECT * FROM (SELECT * FROM rnd_spine LIMIT 50) s LEFT JOIN rnd_hist f
  ON f.k1 = s.k1 AND f.k2 = s.k2 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
-- the split read (docs/pit-join.md, "Parallel"): a history of fixed-width
-- rows read in shares of blocks, each participant holding the whole spine
-- and sending the others the best row of each of their positions.  Forced,
-- against the oracle, with the participants varying as above (no worker:
-- the leader also emits the partition it did not hold while reading; no
-- leader; force_parallel_mode), single and compound keys, and a spine the
-- planner underestimates (a filter it cannot estimate) under the smallest
-- work_mem, so that a participant's copy outgrows it at run time and it
-- reads as without the split
SET featstore.pit_parallel_split = force;
CREATE TABLE rnd_hist2 (k1 integer, k2 integer, event_timestamp timestamptz NOT NULL,
	created_at timestamptz NOT NULL, f_num bigint, f_dbl float8);
CREATE TABLE rnd_spine2 (id integer, k1 integer, k2 integer, ts timestamptz, label integer);
CREATE FUNCTION rnd_diff2(ttl interval, compound boolean, spine text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	keys text := CASE WHEN compound THEN 'AND f.k2 = s.k2' ELSE '' END;
	rkeys text := CASE WHEN compound THEN 'AND r.k2 = s.k2' ELSE '' END;
	node text;
	oracle text;
BEGIN
	node := format($q$SELECT s.id, f.f_num, f.f_dbl FROM %s s LEFT JOIN rnd_hist2 f
		ON f.k1 = s.k1 %s AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, %L::interval)$q$,
		spine, keys, ttl);
	oracle := format($q$SELECT s.id, w.f_num, w.f_dbl FROM %s s LEFT JOIN LATERAL (
		SELECT r.f_num, r.f_dbl FROM rnd_hist2 r WHERE r.k1 = s.k1 %s AND r.event_timestamp <= s.ts
		   AND (%L::interval IS NULL OR r.event_timestamp >= s.ts - %L::interval)
		 ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true$q$,
		spine, rkeys, ttl, ttl);
	RETURN rnd_sym_diff(node, oracle);
END $$;
-- rnd_split_used runs the join under EXPLAIN ANALYZE: did a participant read split?
CREATE FUNCTION rnd_split_used(compound boolean, spine text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	j jsonb;
BEGIN
	EXECUTE format($q$EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM %s s LEFT JOIN rnd_hist2 f
		ON f.k1 = s.k1 %s AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)$q$,
		spine, CASE WHEN compound THEN 'AND f.k2 = s.k2' ELSE '' END) INTO j;
	RETURN jsonb_path_exists(j, 'strict $.**? (@."Custom Plan Provider" == "PitJoin")."History Read"');
END $$;
DO $$
DECLARE
	seed int;
	compound boolean;
	spine text;
	d bigint;
	runs int := 0;
	bad int := 0;
	split_runs int := 0;
	fallback_split int := 0;
BEGIN
	FOR seed IN 1 .. 16 LOOP
		PERFORM rnd_fill(seed / 211.0, 300 + (seed * 97) % 1500,
						 CASE WHEN seed % 4 = 0 THEN 2000 ELSE 40 + (seed * 59) % 400 END);
		TRUNCATE rnd_hist2, rnd_spine2;
		INSERT INTO rnd_hist2 SELECT DISTINCT ON (k1, event_timestamp, created_at)
			   k1, length(k2), event_timestamp, created_at, f_num, f_num / 7.0
		  FROM rnd_hist ORDER BY k1, event_timestamp, created_at, f_num;
		INSERT INTO rnd_spine2 SELECT id, k1, length(k2), ts, label FROM rnd_spine;
		ANALYZE rnd_hist2;
		ANALYZE rnd_spine2;
		PERFORM rnd_participants(seed);
		PERFORM set_config('featstore.pit_strategy', 'hash', true);
		FOREACH compound IN ARRAY ARRAY[false, true] LOOP
			FOREACH spine IN ARRAY ARRAY['rnd_spine2', '(SELECT * FROM rnd_spine2 WHERE label % 1 = 0)'] LOOP
				-- the underestimated spine with the smallest work_mem: it cannot hold the spine
				PERFORM set_config('work_mem',
					CASE WHEN seed % 4 = 0 AND spine <> 'rnd_spine2' THEN '64kB' ELSE '4MB' END, true);
				IF rnd_split_used(compound, spine) THEN
					split_runs := split_runs + 1;
					IF current_setting('work_mem') = '64kB' THEN
						fallback_split := fallback_split + 1;
					END IF;
				END IF;
				d := rnd_diff2(NULL, compound, spine) + rnd_diff2(interval '7 hours', compound, spine);
				runs := runs + 2;
				IF d <> 0 THEN
					bad := bad + 1;
					RAISE WARNING 'split read, seed % compound % spine %: % rows differ', seed, compound, spine, d;
				END IF;
			END LOOP;
		END LOOP;
	END LOOP;
	-- 16 seeds x 2 key sets x 2 spines = 64 plans; the 8 underestimated
	-- spines under 64kB fall back, the other 56 read split
	RAISE NOTICE 'split read: % comparisons, % with differences, % joins read split, % of them under 64kB',
		runs, bad, split_runs, fallback_split;
END $$;
SET featstore.pit_strategy = hash;
-- variable-length history rows are never read split, even when forced
EXPLAIN (COSTS OFF)
SELECT * FROM rnd_spine s LEFT JOIN rnd_hist f
  ON f.k1 = s.k1 AND f.k2 = s.k2 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
-- fixed-width ones are, and EXPLAIN says so
EXPLAIN (COSTS OFF)
SELECT * FROM rnd_spine2 s LEFT JOIN rnd_hist2 f
  ON f.k1 = s.k1 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
SELECT rnd_split_used(false, 'rnd_spine2') AS read_split;
-- the underestimated spine: planned split, but at run time its copy does
-- not fit in 64kB, so no participant reads split (the results above agree)
SET work_mem = '64kB';
EXPLAIN (COSTS OFF)
SELECT * FROM (SELECT * FROM rnd_spine2 WHERE label % 1 = 0) s LEFT JOIN rnd_hist2 f
  ON f.k1 = s.k1 AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
SELECT rnd_split_used(false, '(SELECT * FROM rnd_spine2 WHERE label % 1 = 0)') AS read_split;
RESET work_mem;
-- rescans under Gather: the rerun reads the whole history in every participant
SELECT count(*) AS split_rescans_differing FROM (
  SELECT g, (SELECT count(*) FILTER (WHERE f.f_num > g * 100) || '/' || count(*)
			   FROM rnd_spine2 s LEFT JOIN rnd_hist2 f ON f.k1 = s.k1
				AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '9 hours')) AS c
	FROM generate_series(1, 4) g
  EXCEPT
  SELECT g, (SELECT count(*) FILTER (WHERE w.f_num > g * 100) || '/' || count(*)
			   FROM rnd_spine2 s LEFT JOIN LATERAL (
				 SELECT r.f_num FROM rnd_hist2 r WHERE r.k1 = s.k1 AND r.event_timestamp <= s.ts
					AND r.event_timestamp >= s.ts - interval '9 hours'
				  ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) w ON true) AS c
	FROM generate_series(1, 4) g) d;
RESET featstore.pit_strategy;
RESET featstore.pit_parallel_split;
DROP FUNCTION rnd_diff2(interval, boolean, text);
DROP FUNCTION rnd_split_used(boolean, text);
DROP TABLE rnd_hist2, rnd_spine2;
RESET featstore.pit_parallel;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE rnd_rescan, rnd_hist1;
DROP FUNCTION rnd_diff1(interval);
DROP FUNCTION rnd_parallel_plan();
DROP FUNCTION rnd_participants(int);

DROP FUNCTION rnd_diff(interval, timestamptz, boolean, boolean);
DROP FUNCTION rnd_sym_diff(text, text);
DROP FUNCTION rnd_fill(float8, int, int);
DROP TABLE rnd_hist, rnd_spine;
DROP SCHEMA pit_rnd;
