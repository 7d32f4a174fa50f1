-- Spine keys and timestamps that are expressions.  A spine subquery that
-- computes its key (lower(k) AS user_id) or timestamp (local_ts AT TIME
-- ZONE 'UTC' AS ts) is pulled up into the join, so the marker and the key
-- equalities see the expressions; the join must still be a PitJoin, through
-- pit_join() and through a hand-written marker join, for every strategy,
-- and equal the LATERAL oracle on randomized data.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
SET TimeZone = 'UTC';
CREATE SCHEMA pit_expr;
SET search_path = pit_expr, public;
\set SHOW_CONTEXT never

SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY ex_user (user_id text);
	CREATE FEATURE GROUP ex_g ENTITY ex_user FEATURES (v bigint) TTL '36 hours';
$$);
-- the raw spine: mixed-case keys, a local timestamp, a number to build keys from
CREATE TABLE ex_raw (id int, k text, n int, local_ts timestamp, ts timestamptz);
CREATE TABLE ex_proto (id int, user_id text, ts timestamptz, v bigint);

-- the case from the error hint: a timestamp without time zone is refused,
-- with the advice to convert it in a spine query; the advice works
INSERT INTO ex_g (user_id, event_timestamp, created_at, v) VALUES ('u1', '2024-03-09 10:00+00', '2024-03-09 10:00+00', 7);
INSERT INTO ex_raw VALUES (1, 'U1', 1, '2024-03-09 12:00', NULL);
SELECT * FROM featstore.pit_join(NULL::ex_proto, 'SELECT id, lower(k) AS user_id, local_ts AS ts FROM ex_raw', '{ex_g}');
SELECT * FROM featstore.pit_join(NULL::ex_proto,
	$$SELECT id, lower(k) AS user_id, local_ts AT TIME ZONE 'UTC' AS ts FROM ex_raw$$, '{ex_g}');
-- the same as a hand-written marker join; the node computes the
-- expressions in its spine child
EXPLAIN (COSTS OFF)
SELECT s.id, f.v
  FROM (SELECT id, lower(k) AS user_id, local_ts AT TIME ZONE 'UTC' AS ts FROM ex_raw) s
  LEFT JOIN ex_g f ON f.user_id = s.user_id
   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '36 hours');
SELECT s.id, f.v
  FROM (SELECT id, lower(k) AS user_id, local_ts AT TIME ZONE 'UTC' AS ts FROM ex_raw) s
  LEFT JOIN ex_g f ON f.user_id = s.user_id
   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '36 hours');
-- a constant key: the key equality becomes a filter on the feature table
EXPLAIN (COSTS OFF)
SELECT s.id, f.v
  FROM (SELECT id, 'u1'::text AS user_id, ts FROM ex_raw) s
  LEFT JOIN ex_g f ON f.user_id = s.user_id
   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
-- what still cannot be a spine timestamp: a volatile expression (the
-- subquery is not pulled up, so this is a plain column) and an expression
-- over the feature table, which the safety net refuses
SELECT count(*) FROM (SELECT id, lower(k) AS user_id,
						   local_ts AT TIME ZONE 'UTC' + random() * interval '0 s' AS ts FROM ex_raw) s
  LEFT JOIN ex_g f ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
SELECT count(*) FROM ex_raw s
  LEFT JOIN ex_g f ON f.user_id = lower(s.k)
   AND featstore.pit_match(f.event_timestamp, f.created_at, f.event_timestamp + interval '1 hour');

-- ex_fill draws one data set: keys u0..u9 (spine keys in mixed case, some
-- NULL), event timestamps on an hour grid with ties broken by created_at
CREATE FUNCTION ex_fill(seed float8) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE ex_g, ex_raw;
	PERFORM setseed(seed);
	INSERT INTO ex_g (user_id, event_timestamp, created_at, v)
	SELECT 'u' || floor(power(random(), 2) * 10)::int,
		   timestamptz '2024-03-09 00:00+00' + floor(random() * 72) * interval '1 hour',
		   timestamptz '2024-03-09 00:00+00' + floor(random() * 30) * interval '3 hours',
		   g
	  FROM generate_series(1, 300) g
	ON CONFLICT DO NOTHING;
	INSERT INTO ex_raw (id, k, n, local_ts, ts)
	SELECT g,
		   CASE WHEN random() < 0.05 THEN NULL
				ELSE (ARRAY['u', 'U'])[1 + floor(random() * 2)::int] || floor(power(random(), 2) * 12)::int END,
		   CASE WHEN random() < 0.05 THEN NULL ELSE floor(random() * 12)::int END,
		   CASE WHEN random() < 0.05 THEN NULL
				ELSE timestamp '2024-03-08 20:00' + floor(random() * 84) * interval '1 hour'
					 + CASE WHEN random() < 0.2 THEN interval '1 microsecond' ELSE interval '0' END END,
		   CASE WHEN random() < 0.05 THEN NULL
				ELSE timestamptz '2024-03-08 20:00+00' + floor(random() * 84) * interval '1 hour' END
	  FROM generate_series(1, 200) g;
	ANALYZE ex_g;
	ANALYZE ex_raw;
END $$;

-- the spine forms: computed key, computed timestamp, both, a filtered
-- plain spine (control), a constant key, and a spine that is itself a join
-- with a timestamp computed from both sides
CREATE TABLE ex_forms (form int PRIMARY KEY, spine text);
INSERT INTO ex_forms VALUES
	(1, $$SELECT id, lower(k) AS user_id, local_ts AT TIME ZONE 'UTC' AS ts FROM pit_expr.ex_raw$$),
	(2, $$SELECT id, 'u' || n AS user_id, ts + interval '30 minutes' AS ts FROM pit_expr.ex_raw$$),
	(3, $$SELECT id, 'u' || substr(k, 2) AS user_id, ts FROM pit_expr.ex_raw$$),
	(4, $$SELECT id, k AS user_id, ts FROM pit_expr.ex_raw WHERE n % 3 <> 0$$),
	(5, $$SELECT id, 'u1'::text AS user_id, local_ts AT TIME ZONE 'UTC' AS ts FROM pit_expr.ex_raw$$),
	(6, $$SELECT r.id, lower(r.k) AS user_id, greatest(r.ts, o.local_ts AT TIME ZONE 'UTC') AS ts
		   FROM pit_expr.ex_raw r JOIN pit_expr.ex_raw o ON o.id = r.id % 50 + 1$$);

-- ex_diff counts the rows where a join and the oracle disagree, both ways;
-- how = 'pit_join' (the front end), 'left' or 'inner' (a marker join)
CREATE FUNCTION ex_diff(spine text, how text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	node text;
	oracle text;
BEGIN
	IF how = 'pit_join' THEN
		node := format('SELECT id, user_id, ts, v FROM featstore.pit_join(NULL::pit_expr.ex_proto, %L, ''{ex_g}'')', spine);
	ELSE
		node := format($q$
			SELECT s.id, s.user_id, s.ts, f.v
			  FROM (%s) s %s JOIN pit_expr.ex_g f ON f.user_id = s.user_id
			   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '36 hours')$q$,
			spine, CASE WHEN how = 'inner' THEN 'INNER' ELSE 'LEFT' END);
	END IF;
	oracle := format($q$
		SELECT s.id, s.user_id, s.ts, w.v
		  FROM (%s) s %s JOIN LATERAL (
			SELECT h.v FROM pit_expr.ex_g h
			 WHERE h.user_id = s.user_id AND h.event_timestamp <= s.ts
			   AND h.event_timestamp >= s.ts - interval '36 hours'
			 ORDER BY h.event_timestamp DESC, h.created_at DESC LIMIT 1) w ON true$q$,
		spine, CASE WHEN how = 'inner' THEN 'INNER' ELSE 'LEFT' END);
	EXECUTE format('SELECT count(*) FROM ((%s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL %s)) d',
				   node, oracle, oracle, node) INTO n;
	RETURN n;
END $$;

-- 6 seeds x 6 forms x (pit_join, LEFT, INNER) x 4 strategies, then the
-- parallel node forced (the pulled-up spine is a plain table)
CREATE TABLE ex_results (seed int, form int, how text, setting text, diffs bigint);
DO $$
DECLARE
	seed int;
	f record;
	how text;
	st text;
BEGIN
	FOR seed IN 1 .. 6 LOOP
		PERFORM pit_expr.ex_fill(seed / 10.0);
		FOR f IN SELECT * FROM pit_expr.ex_forms ORDER BY form LOOP
			FOREACH how IN ARRAY ARRAY['pit_join', 'left', 'inner'] LOOP
				FOREACH st IN ARRAY ARRAY['auto', 'hash', 'merge', 'probe'] LOOP
					PERFORM set_config('featstore.pit_strategy', st, true);
					INSERT INTO pit_expr.ex_results VALUES (seed, f.form, how, st, pit_expr.ex_diff(f.spine, how));
				END LOOP;
				PERFORM set_config('featstore.pit_strategy', 'auto', true);
			END LOOP;
		END LOOP;
	END LOOP;
END $$;
-- a spine row given a value, and one left without, in every form
SELECT form, count(*) FILTER (WHERE v IS NOT NULL) > 0 AS some_matched, count(*) FILTER (WHERE v IS NULL) > 0 AS some_unmatched
  FROM ex_forms, LATERAL (SELECT v FROM featstore.pit_join(NULL::ex_proto, spine, '{ex_g}')) j
 GROUP BY form ORDER BY form;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET featstore.pit_parallel = force;
EXPLAIN (COSTS OFF)
SELECT s.id, f.v
  FROM (SELECT id, lower(k) AS user_id, local_ts AT TIME ZONE 'UTC' AS ts FROM ex_raw) s
  LEFT JOIN ex_g f ON f.user_id = s.user_id
   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '36 hours');
DO $$
DECLARE
	seed int;
	f record;
	st text;
BEGIN
	FOR seed IN 1 .. 3 LOOP
		PERFORM pit_expr.ex_fill(seed / 7.0);
		FOR f IN SELECT * FROM pit_expr.ex_forms WHERE form <> 6 ORDER BY form LOOP
			FOREACH st IN ARRAY ARRAY['hash', 'merge'] LOOP
				PERFORM set_config('featstore.pit_strategy', st, true);
				INSERT INTO pit_expr.ex_results VALUES (seed, f.form, 'left', 'parallel ' || st, pit_expr.ex_diff(f.spine, 'left'));
			END LOOP;
		END LOOP;
	END LOOP;
END $$;
RESET featstore.pit_parallel;
RESET featstore.pit_strategy;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;

SELECT count(*) AS checks, sum(diffs) AS differences FROM ex_results;
SELECT * FROM ex_results WHERE diffs <> 0 ORDER BY seed, form, how, setting;

-- clean up
SET client_min_messages = warning;
SELECT command FROM featstore.exec($$
	DROP FEATURE GROUP ex_g;
	DROP ENTITY ex_user;
$$);
DROP SCHEMA pit_expr CASCADE;
RESET client_min_messages;
RESET search_path;
