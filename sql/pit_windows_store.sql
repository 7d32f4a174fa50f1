-- Window joins' two ways to read the source (docs/windows.md, "Reading the
-- events"): the in-memory store (the source read in physical order, events
-- filed by the spine's keys, only those inside [earliest t - longest
-- window, latest t] of their key) and the fallback to the sorted source
-- query once the store would outgrow hash_mem (work_mem x
-- hash_mem_multiplier), both against an independent LATERAL oracle: a
-- bigint key (the store's integer table), events far before and after every
-- spine row, events exactly at the filter's edges, an inclusive and an END
-- EXCLUSIVE group, an unbounded group (no lower bound), strict and as_of,
-- NULL keys and times, keys without events and events without spine rows.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
CREATE SCHEMA pit_store;
SET search_path = pit_store, public;
SET timezone = 'UTC';

SELECT featstore.exec($$CREATE ENTITY store_user (user_id bigint)$$);
CREATE TABLE ev (id integer, user_id bigint, event_time timestamptz, ingested_at timestamptz,
				 amt integer, merchant text, status text);
CREATE TABLE sp (id integer, user_id bigint, ts timestamptz);

DO LANGUAGE featstore $$
CREATE FEATURE GROUP st_in ENTITY store_user
    FROM ev TIMESTAMP event_time CREATED ingested_at
    WHERE status <> 'declined'
    FEATURES (
        n_1h   bigint  AS count(*)                 OVER '1 hour',
        s_1d   bigint  AS sum(amt)                 OVER '1 day',
        d_1d   bigint  AS count(DISTINCT merchant) OVER '1 day',
        l_1d   text    AS last(merchant)           OVER '1 day'
    );
CREATE FEATURE GROUP st_ex ENTITY store_user
    FROM ev TIMESTAMP event_time
    WINDOW END EXCLUSIVE
    FEATURES (
        n_1d   bigint  AS count(*)  OVER '1 day',
        m_1h   integer AS max(amt)  OVER '1 hour' DEFAULT 0
    );
CREATE FEATURE GROUP st_all ENTITY store_user
    FROM ev TIMESTAMP event_time CREATED ingested_at
    FEATURES (
        n_all  bigint  AS count(*),
        l_all  text    AS last(merchant),
        s_1h   bigint  AS sum(amt)  OVER '1 hour'
    );
$$;

-- 300 users with events over 40 days (most far outside every window), the
-- spine's 500 users (some without events) over 4 days in the middle, and by
-- hand, for user 7: events at its earliest spine time - 1 day - 1 us, - 1
-- day, - 1 day + 1 us, at its latest spine time and 1 us after it
SELECT setseed(0.25);
INSERT INTO ev
SELECT g, CASE WHEN random() < 0.02 THEN NULL ELSE floor(random() * 300)::bigint END,
	   CASE WHEN random() < 0.02 THEN NULL
			ELSE timestamptz '2026-03-01 00:00+00' + floor(random() * 40 * 1440) * interval '1 minute' END,
	   NULL,
	   CASE WHEN random() < 0.1 THEN NULL ELSE floor(random() * 1000)::int END,
	   CASE WHEN random() < 0.1 THEN NULL ELSE 'm' || floor(random() * 8)::int END,
	   CASE WHEN random() < 0.2 THEN 'declined' ELSE 'ok' END
  FROM generate_series(1, 20000) g;
UPDATE ev SET ingested_at = event_time + floor(random() * 180 - 10) * interval '1 minute'
							+ id * interval '1 microsecond';
INSERT INTO sp
SELECT g, CASE WHEN random() < 0.03 THEN NULL ELSE floor(random() * 500)::bigint END,
	   CASE WHEN random() < 0.03 THEN NULL
			ELSE timestamptz '2026-03-18 00:00+00' + floor(random() * 4 * 1440) * interval '1 minute'
				 + (ARRAY[interval '0', interval '1 microsecond'])[1 + floor(random() * 2)::int] END
  FROM generate_series(1, 3000) g;
INSERT INTO sp SELECT * FROM sp WHERE id % 17 = 0;
DELETE FROM ev WHERE user_id = 7;
DELETE FROM sp WHERE user_id = 7;
INSERT INTO sp VALUES (100001, 7, '2026-03-19 12:00+00'), (100002, 7, '2026-03-20 12:00+00');
INSERT INTO ev VALUES
	(100001, 7, timestamptz '2026-03-18 12:00+00' - interval '1 microsecond', '2026-03-18 12:00+00', 1, 'a', 'ok'),
	(100002, 7, '2026-03-18 12:00+00', '2026-03-18 12:00+00', 2, 'b', 'ok'),
	(100003, 7, '2026-03-18 12:00:00.000001+00', '2026-03-18 12:00+00', 4, 'c', 'ok'),
	(100004, 7, '2026-03-20 12:00+00', '2026-03-20 12:00+00', 8, 'd', 'ok'),
	(100005, 7, '2026-03-20 12:00:00.000001+00', '2026-03-20 12:00+00', 16, 'e', 'ok'),
	(100006, 7, '2026-03-20 11:30+00', '2026-03-20 11:30+00', 32, 'f', 'declined');
CREATE INDEX ON ev (user_id, event_time);
ANALYZE ev;
ANALYZE sp;

-- the oracles: one LATERAL aggregate per spine row, each window a FILTER
CREATE TYPE o_in AS (id int, et timestamptz, ct timestamptz, n_1h bigint, s_1d bigint,
					 d_1d bigint, l_1d text);
CREATE FUNCTION oracle_in(p_as_of timestamptz, p_strict boolean) RETURNS SETOF o_in
LANGUAGE sql STABLE AS $$
SELECT s.id, o.et, o.ct, o.n_1h, o.s_1d, o.d_1d, o.l_1d
  FROM sp s
  LEFT JOIN LATERAL (
		SELECT max(r.event_time) AS et,
			   (array_agg(r.ingested_at ORDER BY r.event_time DESC, r.ingested_at DESC))[1] AS ct,
			   count(*) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS n_1h,
			   sum(r.amt) AS s_1d,
			   count(DISTINCT r.merchant) AS d_1d,
			   (array_agg(r.merchant ORDER BY r.event_time DESC, r.ingested_at DESC))[1] AS l_1d
		  FROM ev r
		 WHERE r.user_id = s.user_id AND r.event_time <= s.ts
		   AND r.event_time > s.ts - interval '1 day' AND r.status <> 'declined'
		   AND (p_as_of IS NULL OR r.ingested_at <= p_as_of)
		   AND (NOT p_strict OR r.ingested_at <= s.ts)) o ON true
$$;
CREATE FUNCTION joined_in(p_as_of timestamptz, p_strict boolean) RETURNS SETOF o_in
LANGUAGE sql AS $$
SELECT s.id, g.event_timestamp, g.created_at, g.n_1h, g.s_1d, g.d_1d, g.l_1d
  FROM sp s
  LEFT JOIN st_in g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, p_as_of, p_strict)
$$;
CREATE TYPE o_ex AS (id int, et timestamptz, n_1d bigint, m_1h int);
CREATE FUNCTION oracle_ex() RETURNS SETOF o_ex LANGUAGE sql STABLE AS $$
SELECT s.id, o.et, o.n_1d, coalesce(o.m_1h, 0)
  FROM sp s
  LEFT JOIN LATERAL (
		SELECT max(r.event_time) AS et, count(*) AS n_1d,
			   max(r.amt) FILTER (WHERE r.event_time >= s.ts - interval '1 hour') AS m_1h
		  FROM ev r
		 WHERE r.user_id = s.user_id AND r.event_time < s.ts
		   AND r.event_time >= s.ts - interval '1 day') o ON true
$$;
CREATE FUNCTION joined_ex() RETURNS SETOF o_ex LANGUAGE sql AS $$
SELECT s.id, g.event_timestamp, g.n_1d, g.m_1h
  FROM sp s
  LEFT JOIN st_ex g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
$$;
CREATE TYPE o_all AS (id int, et timestamptz, n_all bigint, l_all text, s_1h bigint);
CREATE FUNCTION oracle_all() RETURNS SETOF o_all LANGUAGE sql STABLE AS $$
SELECT s.id, o.et, o.n_all, o.l_all, o.s_1h
  FROM sp s
  LEFT JOIN LATERAL (
		SELECT max(r.event_time) AS et, count(*) AS n_all,
			   (array_agg(r.merchant ORDER BY r.event_time DESC, r.ingested_at DESC))[1] AS l_all,
			   sum(r.amt) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS s_1h
		  FROM ev r
		 WHERE r.user_id = s.user_id AND r.event_time <= s.ts) o ON true
$$;
CREATE FUNCTION joined_all() RETURNS SETOF o_all LANGUAGE sql AS $$
SELECT s.id, g.event_timestamp, g.n_all, g.l_all, g.s_1h
  FROM sp s
  LEFT JOIN st_all g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
$$;

-- diffs: spine rows (with duplicates) in one side only; 0 everywhere
CREATE FUNCTION diffs() RETURNS TABLE (join_case text, rows bigint, differences bigint)
LANGUAGE sql AS $$
SELECT 'st_in', (SELECT count(*) FROM joined_in(NULL, false)),
	   (SELECT count(*) FROM ((SELECT * FROM oracle_in(NULL, false) EXCEPT ALL SELECT * FROM joined_in(NULL, false))
							  UNION ALL (SELECT * FROM joined_in(NULL, false) EXCEPT ALL SELECT * FROM oracle_in(NULL, false))) d)
UNION ALL
SELECT 'st_in strict', NULL,
	   (SELECT count(*) FROM ((SELECT * FROM oracle_in(NULL, true) EXCEPT ALL SELECT * FROM joined_in(NULL, true))
							  UNION ALL (SELECT * FROM joined_in(NULL, true) EXCEPT ALL SELECT * FROM oracle_in(NULL, true))) d)
UNION ALL
SELECT 'st_in as_of strict', NULL,
	   (SELECT count(*) FROM ((SELECT * FROM oracle_in('2026-03-19 00:00+00', true)
							   EXCEPT ALL SELECT * FROM joined_in('2026-03-19 00:00+00', true))
							  UNION ALL (SELECT * FROM joined_in('2026-03-19 00:00+00', true)
										 EXCEPT ALL SELECT * FROM oracle_in('2026-03-19 00:00+00', true))) d)
UNION ALL
SELECT 'st_ex', (SELECT count(*) FROM joined_ex()),
	   (SELECT count(*) FROM ((SELECT * FROM oracle_ex() EXCEPT ALL SELECT * FROM joined_ex())
							  UNION ALL (SELECT * FROM joined_ex() EXCEPT ALL SELECT * FROM oracle_ex())) d)
UNION ALL
SELECT 'st_all', (SELECT count(*) FROM joined_all()),
	   (SELECT count(*) FROM ((SELECT * FROM oracle_all() EXCEPT ALL SELECT * FROM joined_all())
							  UNION ALL (SELECT * FROM joined_all() EXCEPT ALL SELECT * FROM oracle_all())) d)
$$;

-- the comparison is about something: user 7's edges, the bounds' effect
SELECT s.id, g.n_1h, g.s_1d, g.l_1d, x.n_1d, x.m_1h
  FROM sp s
  LEFT JOIN st_in g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
  LEFT JOIN st_ex x ON x.user_id = s.user_id
   AND featstore.pit_match(x.event_timestamp, x.created_at, s.ts, NULL, NULL, false)
 WHERE s.user_id = 7 ORDER BY s.id;

-- the store (default work_mem): the EXPLAIN line, then 0 differences
CREATE FUNCTION events_line(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	l text;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		IF l ~ 'Events:' THEN
			RETURN NEXT trim(l);
		END IF;
	END LOOP;
END $$;
SET work_mem = '4MB';
SELECT events_line($q$SELECT count(g.n_1h) FROM sp s LEFT JOIN st_in g ON g.user_id = s.user_id
	AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)$q$);
SELECT events_line($q$SELECT count(g.n_all) FROM sp s LEFT JOIN st_all g ON g.user_id = s.user_id
	AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)$q$);
SELECT * FROM diffs();

-- the fallback: 64kB of work_mem holds the spine's keys, not the events
SET work_mem = '64kB';
SELECT events_line($q$SELECT count(g.n_1h) FROM sp s LEFT JOIN st_in g ON g.user_id = s.user_id
	AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)$q$);
SELECT * FROM diffs();

-- and a spine whose keys alone outgrow it
INSERT INTO sp SELECT 200000 + g, 1000 + g, '2026-03-19 00:00+00' FROM generate_series(1, 5000) g;
SELECT events_line($q$SELECT count(g.n_1h) FROM sp s LEFT JOIN st_in g ON g.user_id = s.user_id
	AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)$q$);
SELECT * FROM diffs();
RESET work_mem;
SELECT * FROM diffs();

-- the parallel window strategy: every participant reads the source and
-- keeps, sorts and evaluates its own key-hash partitions (the bigint key
-- also filters the source's rows by partition before the lookup), in the
-- store and in the fallback; the joins' functions become STABLE PARALLEL
-- SAFE so that their queries may be planned in parallel
ALTER FUNCTION joined_in(timestamptz, boolean) STABLE PARALLEL SAFE;
ALTER FUNCTION joined_ex() STABLE PARALLEL SAFE;
ALTER FUNCTION joined_all() STABLE PARALLEL SAFE;
SET featstore.pit_parallel = force;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE FUNCTION parallel_lines(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	l text;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		IF l ~ '(PitJoin|Parallel:)' THEN
			RETURN NEXT trim(l);
		END IF;
	END LOOP;
END $$;
SELECT parallel_lines($q$SELECT * FROM joined_in(NULL, false)$q$);
SELECT parallel_lines($q$SELECT * FROM joined_all()$q$);
-- a bigint key and a plain table: the participants share the read of the
-- source (pit_share.c), each taking chunks of its blocks by TID range and
-- sending the other partitions' events on; the leader's account of it,
-- its counts (which depend on who took which chunk) replaced by N
CREATE FUNCTION shared_line(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	l text;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || q LOOP
		IF l ~ 'Events:' THEN
			RETURN NEXT regexp_replace(trim(l), '[0-9]+', 'N', 'g');
		END IF;
	END LOOP;
END $$;
SELECT shared_line($q$SELECT s.id, g.n_1h FROM sp s LEFT JOIN st_in g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)$q$);
SELECT * FROM diffs();
SET parallel_leader_participation = off;
SELECT * FROM diffs();
RESET parallel_leader_participation;
-- workers that never start: the leader alone reads every chunk, then joins
-- each partition from what it sent itself
SET max_parallel_workers = 0;
SELECT shared_line($q$SELECT s.id, g.n_1h FROM sp s LEFT JOIN st_in g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)$q$);
SELECT * FROM diffs();
RESET max_parallel_workers;
-- without TID range scans a chunk would read the whole table: each
-- participant reads the source itself instead
SET enable_tidscan = off;
SELECT shared_line($q$SELECT s.id, g.n_1h FROM sp s LEFT JOIN st_in g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)$q$);
SELECT * FROM diffs();
RESET enable_tidscan;
-- a rescan under Gather (a correlated subquery runs it once per k): the
-- exchange's files were read once, so the reruns read the source in full
SELECT parallel_lines($q$SELECT k, (SELECT count(*) FILTER (WHERE j.n_1h > k) FROM (SELECT s.id, g.n_1h FROM sp s
	LEFT JOIN st_in g ON g.user_id = s.user_id
	AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)) j) FROM generate_series(0, 2) k$q$);
SELECT k, (SELECT count(*) FILTER (WHERE j.n_1h > k)
			 FROM (SELECT s.id, g.n_1h FROM sp s LEFT JOIN st_in g ON g.user_id = s.user_id
					  AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)) j) =
		  (SELECT count(*) FILTER (WHERE o.n_1h > k) FROM oracle_in(NULL, false) o) AS same
  FROM generate_series(0, 2) k;
-- a store outgrowing hash_mem drops its own events but still routes the
-- others', then reads its partition with the sorted query
SET work_mem = '64kB';
SELECT * FROM diffs();
RESET work_mem;
-- the group's view itself (window_timeline, PARALLEL RESTRICTED) joined
-- with a table read in parallel: the function runs in the leader, under
-- parallel mode, and counts what it counts serially
CREATE TABLE sp_big AS SELECT s.* FROM sp s, generate_series(1, 20) g;
ANALYZE sp_big;
EXPLAIN (COSTS OFF) SELECT count(*) AS joined_rows FROM st_in v JOIN sp_big s ON s.user_id = v.user_id;
SELECT count(*) AS joined_rows FROM st_in v JOIN sp_big s ON s.user_id = v.user_id;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS joined_rows FROM st_in v JOIN sp_big s ON s.user_id = v.user_id;
SET max_parallel_workers_per_gather = 2;
DROP TABLE sp_big;
-- a temporary source is never read in parallel: a worker cannot see it
CREATE TEMP TABLE ev_tmp (user_id bigint, event_time timestamptz);
INSERT INTO ev_tmp SELECT user_id, event_time FROM ev WHERE user_id IS NOT NULL AND event_time IS NOT NULL;
SELECT featstore.exec($$CREATE FEATURE GROUP st_tmp ENTITY store_user FROM pg_temp.ev_tmp TIMESTAMP event_time
	FEATURES (n_1h bigint AS count(*) OVER '1 hour') OFFLINE$$);
SELECT parallel_lines($q$SELECT count(g.n_1h) FROM sp s LEFT JOIN st_tmp g ON g.user_id = s.user_id
	AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)$q$);
SELECT count(*) AS differences
  FROM (SELECT s.id, g.n_1h FROM sp s LEFT JOIN st_tmp g ON g.user_id = s.user_id
		   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
		EXCEPT ALL
		SELECT s.id, (SELECT count(*) FROM ev_tmp r WHERE r.user_id = s.user_id AND r.event_time <= s.ts
						 AND r.event_time > s.ts - interval '1 hour') FROM sp s) d;
SELECT featstore.exec($$DROP FEATURE GROUP st_tmp$$);
RESET featstore.pit_parallel;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

SET client_min_messages = warning;
DO LANGUAGE featstore $$ DROP FEATURE GROUP st_in; DROP FEATURE GROUP st_ex; DROP FEATURE GROUP st_all; DROP ENTITY store_user $$;
DROP SCHEMA pit_store CASCADE;
RESET client_min_messages;
