-- Point-in-time joins with groups defined FROM a source (issue 10): PitJoin's
-- window strategy against an independent LATERAL oracle of the window
-- semantics (docs/pit-semantics.md), on random sources and spines at several
-- seeds: every aggregate (numeric stddev and var exactly, float variance of
-- values near 1e9), bounded and unbounded windows, DEFAULT, an
-- expression, ties on event_time, events exactly at t - w and t and one
-- microsecond either side, NULLs in aggregated columns, duplicate spine rows,
-- NULL keys and times, text and compound keys, as_of and strict with
-- CREATED, WINDOW END EXCLUSIVE, a WHERE clause, a spine that spills past
-- work_mem; then the marker's forms, pit_join() with mixed groups, services,
-- create_pit_view, EXPLAIN and the errors.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
CREATE SCHEMA pit_win;
SET search_path = pit_win, public;
SET timezone = 'UTC';

SELECT featstore.exec($$CREATE ENTITY win_user (user_id text)$$);
SELECT featstore.exec($$CREATE ENTITY win_acct (region text, acct_id integer)$$);

-- the events: minutes on a grid (ties on event_time; window edges, whole
-- minutes, fall on events), CREATED distinct per row, NULLs in every
-- aggregated column
CREATE TABLE tx (
	id integer,
	user_id text,
	region text,
	acct_id integer,
	event_time timestamptz,
	ingested_at timestamptz,
	iamt integer,
	bamt bigint,
	namt numeric(12, 2),
	famt double precision,
	fbig double precision,
	merchant text,
	status text);
CREATE TABLE spine_u (id integer, user_id text, ts timestamptz, label integer);
CREATE TABLE spine_a (id integer, region text, acct_id integer, ts timestamptz);

DO LANGUAGE featstore $$
CREATE FEATURE GROUP w_user ENTITY win_user
    FROM tx TIMESTAMP event_time CREATED ingested_at
    WHERE status <> 'declined'
    FEATURES (
        n_1h     bigint           AS count(*)               OVER '1 hour',
        nf_1h    bigint           AS count(famt)            OVER '1 hour',
        nd_1h    bigint           AS count(DISTINCT merchant) OVER '1 hour',
        si_1h    bigint           AS sum(iamt)              OVER '1 hour',
        sb_1h    numeric          AS sum(bamt)              OVER '1 hour',
        sn_1h    numeric          AS sum(namt)              OVER '1 hour',
        sf_1h    double precision AS sum(famt)              OVER '1 hour',
        ai_1d    numeric          AS avg(iamt)              OVER '1 day',
        an_1d    numeric          AS avg(namt)              OVER '1 day',
        af_1d    double precision AS avg(famt)              OVER '1 day',
        mi_1d    integer          AS min(iamt)              OVER '1 day',
        mx_1d    double precision AS max(famt)              OVER '1 day',
        mt_1d    text             AS min(merchant)          OVER '1 day',
        ss_1d    double precision AS stddev_samp(famt)      OVER '1 day',
        sp_1d    double precision AS stddev_pop(famt)       OVER '1 day',
        vs_1d    double precision AS var_samp(famt)         OVER '1 day',
        vp_1d    double precision AS var_pop(famt)          OVER '1 day',
        last_1d  text             AS last(merchant)         OVER '1 day',
        n_all    bigint           AS count(*),
        sn_all   numeric          AS sum(namt),
        last_all text             AS last(merchant),
        n_10m    bigint           AS count(*)               OVER '10 minutes' DEFAULT -1,
        mx_10m   integer          AS max(iamt)              OVER '10 minutes' DEFAULT 0,
        ratio    double precision AS sf_1h / nullif(n_1h, 0),
        sdn_1d   numeric          AS stddev_samp(namt)      OVER '1 day',
        vpn_1h   numeric          AS var_pop(namt)          OVER '1 hour',
        sdi_1h   numeric          AS stddev_pop(iamt)       OVER '1 hour',
        vb_1d    double precision AS var_samp(fbig)         OVER '1 day'
    );
CREATE FEATURE GROUP w_acct ENTITY win_acct
    FROM tx TIMESTAMP event_time
    WINDOW END EXCLUSIVE
    FEATURES (
        n_30m    bigint           AS count(*)               OVER '30 minutes',
        si_30m   bigint           AS sum(iamt)              OVER '30 minutes',
        nd_2h    bigint           AS count(DISTINCT merchant) OVER '2 hours',
        mx_2h    text             AS max(merchant)          OVER '2 hours' DEFAULT 'none',
        vs_2h    double precision AS var_samp(famt)         OVER '2 hours'
    );
$$;

-- fill draws one data set: a few users and accounts, some hot, events on a
-- minute grid over ten hours, spine times on the grid or one microsecond
-- off it, NULL keys and times, exact duplicate spine rows
CREATE FUNCTION fill(seed float8, nevents int, nspine int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE tx, spine_u, spine_a;
	PERFORM setseed(seed);
	INSERT INTO tx
	SELECT g,
		   (ARRAY['u', 'U'])[1 + floor(random() * 2)::int] || floor(power(random(), 2) * 4)::int,
		   (ARRAY['eu', 'us'])[1 + floor(random() * 2)::int],
		   floor(random() * 4)::int,
		   timestamptz '2026-01-01 00:00+00' + floor(random() * 600) * interval '1 minute',
		   NULL,
		   CASE WHEN random() < 0.15 THEN NULL ELSE floor(random() * 2000 - 500)::int END,
		   CASE WHEN random() < 0.15 THEN NULL ELSE floor(random() * 1e12)::bigint END,
		   CASE WHEN random() < 0.15 THEN NULL ELSE round((random() * 2000 - 500)::numeric, 2) END,
		   CASE WHEN random() < 0.15 THEN NULL ELSE round((random() * 1000)::numeric, 2)::float8 END,
		   1e9 + random(),
		   CASE WHEN random() < 0.1 THEN NULL ELSE 'm' || floor(random() * 6)::int END,
		   CASE WHEN random() < 0.2 THEN 'declined' WHEN random() < 0.05 THEN NULL ELSE 'ok' END
	  FROM generate_series(1, nevents) g;
	-- written from 20 minutes before the event (a clock skew) to 3 hours
	-- after it; the row number in microseconds keeps (key, time, created)
	-- distinct, so last() has one answer
	UPDATE tx SET ingested_at = event_time + floor(random() * 200 - 20) * interval '1 minute'
								+ id * interval '1 microsecond';
	INSERT INTO spine_u
	SELECT g,
		   CASE WHEN random() < 0.03 THEN NULL
				ELSE (ARRAY['u', 'U'])[1 + floor(random() * 2)::int] || floor(power(random(), 2) * 5)::int END,
		   CASE WHEN random() < 0.03 THEN NULL
				ELSE timestamptz '2026-01-01 00:00+00' + floor(random() * 720 - 60) * interval '1 minute'
					 + (ARRAY[interval '0', interval '0', interval '1 microsecond',
							  interval '-1 microsecond'])[1 + floor(random() * 4)::int] END,
		   g
	  FROM generate_series(1, nspine) g;
	INSERT INTO spine_u SELECT * FROM spine_u WHERE id % 13 = 0;
	INSERT INTO spine_a
	SELECT g,
		   CASE WHEN random() < 0.03 THEN NULL ELSE (ARRAY['eu', 'us'])[1 + floor(random() * 2)::int] END,
		   CASE WHEN random() < 0.03 THEN NULL ELSE floor(random() * 5)::int END,
		   CASE WHEN random() < 0.03 THEN NULL
				ELSE timestamptz '2026-01-01 00:00+00' + floor(random() * 720 - 60) * interval '1 minute'
					 + (ARRAY[interval '0', interval '1 microsecond',
							  interval '-1 microsecond'])[1 + floor(random() * 3)::int] END
	  FROM generate_series(1, nspine) g;
	INSERT INTO spine_a SELECT * FROM spine_a WHERE id % 11 = 0;
	ANALYZE tx;
	ANALYZE spine_u;
	ANALYZE spine_a;
END $$;

-- the oracle of w_user: one LATERAL aggregate per spine row over the events
-- of its key with event_time <= ts, the WHERE, as_of and strict; each
-- window is a FILTER t - w < event_time; DEFAULT replaces the value of an
-- aggregate without input (count(*): no event; the others: no non-NULL
-- value); last() is the value of the best event by (event_time, created)
CREATE TYPE oracle_u_type AS (id int, event_timestamp timestamptz, created_at timestamptz,
	n_1h bigint, nf_1h bigint, nd_1h bigint, si_1h bigint, sb_1h numeric, sn_1h numeric,
	sf_1h float8, ai_1d numeric, an_1d numeric, af_1d float8, mi_1d int, mx_1d float8,
	mt_1d text, ss_1d float8, sp_1d float8, vs_1d float8, vp_1d float8, last_1d text,
	n_all bigint, sn_all numeric, last_all text, n_10m bigint, mx_10m int, ratio float8,
	sdn_1d numeric, vpn_1h numeric, sdi_1h numeric, vb_1d float8);
CREATE FUNCTION oracle_u(p_as_of timestamptz, p_strict boolean)
RETURNS SETOF oracle_u_type LANGUAGE sql STABLE AS $$
SELECT s.id, o.et, o.ct,
	   o.n_1h, o.nf_1h, o.nd_1h, o.si_1h, o.sb_1h, o.sn_1h, o.sf_1h,
	   o.ai_1d, o.an_1d, o.af_1d, o.mi_1d, o.mx_1d, o.mt_1d,
	   o.ss_1d, o.sp_1d, o.vs_1d, o.vp_1d, o.last_1d,
	   o.n_all, o.sn_all, o.last_all,
	   CASE WHEN o.n_10m = 0 THEN -1 ELSE o.n_10m END,
	   CASE WHEN o.ni_10m = 0 THEN 0 ELSE o.mx_10m END,
	   o.sf_1h / nullif(o.n_1h, 0),
	   o.sdn_1d, o.vpn_1h, o.sdi_1h, o.vb_1d
  FROM spine_u s
  LEFT JOIN LATERAL (
		SELECT (array_agg(r.event_time ORDER BY r.event_time DESC, r.ingested_at DESC))[1] AS et,
			   (array_agg(r.ingested_at ORDER BY r.event_time DESC, r.ingested_at DESC))[1] AS ct,
			   count(*) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS n_1h,
			   count(r.famt) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS nf_1h,
			   count(DISTINCT r.merchant) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS nd_1h,
			   sum(r.iamt) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS si_1h,
			   sum(r.bamt) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS sb_1h,
			   sum(r.namt) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS sn_1h,
			   sum(r.famt) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS sf_1h,
			   avg(r.iamt) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS ai_1d,
			   avg(r.namt) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS an_1d,
			   avg(r.famt) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS af_1d,
			   min(r.iamt) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS mi_1d,
			   max(r.famt) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS mx_1d,
			   min(r.merchant) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS mt_1d,
			   stddev_samp(r.famt) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS ss_1d,
			   stddev_pop(r.famt) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS sp_1d,
			   var_samp(r.famt) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS vs_1d,
			   var_pop(r.famt) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS vp_1d,
			   (array_agg(r.merchant ORDER BY r.event_time DESC, r.ingested_at DESC)
					FILTER (WHERE r.event_time > s.ts - interval '1 day'))[1] AS last_1d,
			   count(*) AS n_all,
			   sum(r.namt) AS sn_all,
			   (array_agg(r.merchant ORDER BY r.event_time DESC, r.ingested_at DESC))[1] AS last_all,
			   count(*) FILTER (WHERE r.event_time > s.ts - interval '10 minutes') AS n_10m,
			   count(r.iamt) FILTER (WHERE r.event_time > s.ts - interval '10 minutes') AS ni_10m,
			   max(r.iamt) FILTER (WHERE r.event_time > s.ts - interval '10 minutes') AS mx_10m,
			   stddev_samp(r.namt) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS sdn_1d,
			   var_pop(r.namt) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS vpn_1h,
			   stddev_pop(r.iamt) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS sdi_1h,
			   -- values near 1e9 spread by less than 1: var_samp(fbig) itself
			   -- loses about 7 digits there, so the reference is the same
			   -- variance of the exactly shifted values
			   var_samp(r.fbig - 1e9) FILTER (WHERE r.event_time > s.ts - interval '1 day') AS vb_1d
		  FROM tx r
		 WHERE r.user_id = s.user_id
		   AND r.event_time <= s.ts
		   AND r.status <> 'declined'
		   AND (p_as_of IS NULL OR r.ingested_at <= p_as_of)
		   AND (NOT p_strict OR r.ingested_at <= s.ts)) o ON true
$$;

CREATE INDEX ON tx (user_id, event_time);
CREATE INDEX ON tx (region, acct_id, event_time);

-- the same spine joined with the group's view through the marker, LEFT or INNER
CREATE FUNCTION joined_u(p_as_of timestamptz, p_strict boolean, p_inner boolean)
RETURNS SETOF oracle_u_type LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
		SELECT s.id, g.event_timestamp, g.created_at,
			   g.n_1h, g.nf_1h, g.nd_1h, g.si_1h, g.sb_1h, g.sn_1h, g.sf_1h,
			   g.ai_1d, g.an_1d, g.af_1d, g.mi_1d, g.mx_1d, g.mt_1d,
			   g.ss_1d, g.sp_1d, g.vs_1d, g.vp_1d, g.last_1d,
			   g.n_all, g.sn_all, g.last_all, g.n_10m, g.mx_10m, g.ratio,
			   g.sdn_1d, g.vpn_1h, g.sdi_1h, g.vb_1d
		  FROM spine_u s
		  %s JOIN w_user g ON g.user_id = s.user_id
		   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, $1, $2)$q$,
		CASE WHEN p_inner THEN 'INNER' ELSE 'LEFT' END)
		USING p_as_of, p_strict;
END $$;

-- the oracle of w_acct: WINDOW END EXCLUSIVE, t - w <= event_time < t; no
-- CREATED, so created_at is NULL; every window is bounded, so the best
-- event is the latest inside the longest one (2 hours)
CREATE TYPE oracle_a_type AS (id int, event_timestamp timestamptz, created_at timestamptz,
	n_30m bigint, si_30m bigint, nd_2h bigint, mx_2h text, vs_2h float8);
CREATE FUNCTION oracle_a() RETURNS SETOF oracle_a_type LANGUAGE sql STABLE AS $$
SELECT s.id, o.et, NULL::timestamptz, o.n_30m, o.si_30m, o.nd_2h,
	   CASE WHEN o.nm_2h = 0 THEN 'none' ELSE o.mx_2h END, o.vs_2h
  FROM spine_a s
  LEFT JOIN LATERAL (
		SELECT max(r.event_time) AS et,
			   count(*) FILTER (WHERE r.event_time >= s.ts - interval '30 minutes') AS n_30m,
			   sum(r.iamt) FILTER (WHERE r.event_time >= s.ts - interval '30 minutes') AS si_30m,
			   count(DISTINCT r.merchant) AS nd_2h,
			   count(r.merchant) AS nm_2h,
			   max(r.merchant) AS mx_2h,
			   var_samp(r.famt) AS vs_2h
		  FROM tx r
		 WHERE r.region = s.region AND r.acct_id = s.acct_id
		   AND r.event_time < s.ts AND r.event_time >= s.ts - interval '2 hours') o ON true
$$;
CREATE FUNCTION joined_a(p_inner boolean) RETURNS SETOF oracle_a_type LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
		SELECT s.id, g.event_timestamp, g.created_at, g.n_30m, g.si_30m, g.nd_2h, g.mx_2h, g.vs_2h
		  FROM spine_a s
		  %s JOIN w_acct g ON g.acct_id = s.acct_id AND s.region = g.region
		   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)$q$,
		CASE WHEN p_inner THEN 'INNER' ELSE 'LEFT' END);
END $$;

-- close: floats within 1e-9 relative (absolute below 1), both NULL, or equal
CREATE FUNCTION close(a float8, b float8) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
SELECT coalesce(abs(a - b) <= 1e-9 * greatest(abs(a), abs(b), 1), a IS NULL AND b IS NULL)
$$;

-- diff_u counts, between the oracle and the join: spine rows whose number
-- of output rows differs (or whose duplicates differ), rows with a
-- different feature, rows with a different event_timestamp or created_at.
-- The inner join keeps exactly the spine rows with a key and a time.
CREATE FUNCTION diff_u(p_as_of timestamptz, p_strict boolean, p_inner boolean,
	OUT row_count bigint, OUT features bigint, OUT times bigint)
LANGUAGE sql AS $$
WITH o AS MATERIALIZED (
		SELECT * FROM oracle_u(p_as_of, p_strict) o
		 WHERE NOT p_inner OR o.id IN (SELECT id FROM spine_u WHERE user_id IS NOT NULL AND ts IS NOT NULL)),
	 j AS MATERIALIZED (SELECT * FROM joined_u(p_as_of, p_strict, p_inner)),
	 oc AS (SELECT id, count(*) AS c FROM o GROUP BY id),
	 jc AS (SELECT id, count(*) AS c FROM j GROUP BY id),
	 od AS (SELECT DISTINCT * FROM o),
	 jd AS (SELECT DISTINCT * FROM j)
SELECT (SELECT count(*) FROM oc FULL JOIN jc USING (id) WHERE oc.c IS DISTINCT FROM jc.c)
	   + (SELECT count(*) FROM (SELECT id FROM jd GROUP BY id HAVING count(*) > 1) x),
	   (SELECT count(*) FROM od a JOIN jd b USING (id)
		 WHERE (a.n_1h, a.nf_1h, a.nd_1h, a.si_1h, a.sb_1h, a.sn_1h, a.ai_1d, a.an_1d, a.mi_1d,
				a.mt_1d, a.last_1d, a.n_all, a.sn_all, a.last_all, a.n_10m, a.mx_10m,
				a.sdn_1d, a.vpn_1h, a.sdi_1h)
			   IS DISTINCT FROM
			   (b.n_1h, b.nf_1h, b.nd_1h, b.si_1h, b.sb_1h, b.sn_1h, b.ai_1d, b.an_1d, b.mi_1d,
				b.mt_1d, b.last_1d, b.n_all, b.sn_all, b.last_all, b.n_10m, b.mx_10m,
				b.sdn_1d, b.vpn_1h, b.sdi_1h)
			OR NOT (close(a.sf_1h, b.sf_1h) AND close(a.af_1d, b.af_1d) AND close(a.mx_1d, b.mx_1d)
					AND close(a.ss_1d, b.ss_1d) AND close(a.sp_1d, b.sp_1d)
					AND close(a.vs_1d, b.vs_1d) AND close(a.vp_1d, b.vp_1d)
					AND close(a.ratio, b.ratio) AND close(a.vb_1d, b.vb_1d))),
	   (SELECT count(*) FROM od a JOIN jd b USING (id)
		 WHERE (a.event_timestamp, a.created_at) IS DISTINCT FROM (b.event_timestamp, b.created_at))
$$;
CREATE FUNCTION diff_a(p_inner boolean, OUT row_count bigint, OUT features bigint, OUT times bigint)
LANGUAGE sql AS $$
WITH o AS MATERIALIZED (
		SELECT * FROM oracle_a() o
		 WHERE NOT p_inner OR o.id IN (SELECT id FROM spine_a
										WHERE region IS NOT NULL AND acct_id IS NOT NULL AND ts IS NOT NULL)),
	 j AS MATERIALIZED (SELECT * FROM joined_a(p_inner)),
	 oc AS (SELECT id, count(*) AS c FROM o GROUP BY id),
	 jc AS (SELECT id, count(*) AS c FROM j GROUP BY id),
	 od AS (SELECT DISTINCT * FROM o),
	 jd AS (SELECT DISTINCT * FROM j)
SELECT (SELECT count(*) FROM oc FULL JOIN jc USING (id) WHERE oc.c IS DISTINCT FROM jc.c)
	   + (SELECT count(*) FROM (SELECT id FROM jd GROUP BY id HAVING count(*) > 1) x),
	   (SELECT count(*) FROM od a JOIN jd b USING (id)
		 WHERE (a.n_30m, a.si_30m, a.nd_2h, a.mx_2h) IS DISTINCT FROM (b.n_30m, b.si_30m, b.nd_2h, b.mx_2h)
			OR NOT close(a.vs_2h, b.vs_2h)),
	   (SELECT count(*) FROM od a JOIN jd b USING (id)
		 WHERE (a.event_timestamp, a.created_at) IS DISTINCT FROM (b.event_timestamp, b.created_at))
$$;

-- every case at every seed: 0 differences everywhere
CREATE FUNCTION run_seed(p_seed float8, nevents int, nspine int)
RETURNS TABLE (seed float8, join_case text, spine_rows bigint, row_count bigint,
			   features bigint, times bigint)
LANGUAGE plpgsql AS $$
DECLARE
	as_of timestamptz := '2026-01-01 05:00+00';
BEGIN
	PERFORM fill(p_seed, nevents, nspine);
	RETURN QUERY SELECT p_seed, 'w_user', (SELECT count(*) FROM spine_u), d.* FROM diff_u(NULL, false, false) d;
	RETURN QUERY SELECT p_seed, 'w_user strict', NULL::bigint, d.* FROM diff_u(NULL, true, false) d;
	RETURN QUERY SELECT p_seed, 'w_user as_of', NULL::bigint, d.* FROM diff_u(as_of, false, false) d;
	RETURN QUERY SELECT p_seed, 'w_user as_of strict', NULL::bigint, d.* FROM diff_u(as_of, true, false) d;
	RETURN QUERY SELECT p_seed, 'w_user inner', NULL::bigint, d.* FROM diff_u(NULL, false, true) d;
	RETURN QUERY SELECT p_seed, 'w_acct', (SELECT count(*) FROM spine_a), d.* FROM diff_a(false) d;
	RETURN QUERY SELECT p_seed, 'w_acct inner', NULL::bigint, d.* FROM diff_a(true) d;
END $$;

SELECT r.* FROM unnest(ARRAY[0.11, -0.42, 0.77]) AS s(seed), run_seed(s.seed, 1500, 800) r;
-- the last seed's data reaches every edge the comparison is about: spine
-- rows with an event exactly at t - 1 hour, at t, one microsecond inside
-- either bound, tied events, NULL aggregated values, events written after t
SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM tx r WHERE r.user_id = s.user_id
										 AND r.event_time = s.ts - interval '1 hour')) AS at_start,
	   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM tx r WHERE r.user_id = s.user_id
										 AND r.event_time = s.ts)) AS at_t,
	   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM tx r WHERE r.user_id = s.user_id
										 AND r.event_time = s.ts - interval '1 hour' + interval '1 microsecond')) AS after_start,
	   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM tx r WHERE r.user_id = s.user_id
										 AND r.event_time = s.ts + interval '1 microsecond')) AS after_t,
	   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM tx r WHERE r.user_id = s.user_id AND r.event_time <= s.ts
										 AND r.ingested_at > s.ts)) AS written_later,
	   (SELECT count(*) FROM (SELECT 1 FROM tx GROUP BY user_id, event_time HAVING count(*) > 1) t) AS tied_times,
	   (SELECT count(*) FROM tx WHERE famt IS NULL OR iamt IS NULL OR namt IS NULL OR merchant IS NULL) AS null_values
  FROM spine_u s;

-- a spine larger than work_mem: the spine's sort spills
SET work_mem = '64kB';
SELECT * FROM run_seed(0.33, 1500, 3000);
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(g.n_1h)
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
RESET work_mem;

-- the parallel window strategy, one seed: each participant reads the source
-- and keeps, sorts and evaluates only its key-hash partitions (text and
-- compound keys: the store's lookup alone sorts the source's rows out)
SET featstore.pit_parallel = force;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT s.id, g.n_30m
  FROM spine_a s
  LEFT JOIN w_acct g ON g.acct_id = s.acct_id AND s.region = g.region
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
SELECT * FROM run_seed(0.57, 1500, 800);
RESET featstore.pit_parallel;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- the edges by hand: ties, t - w, t, one microsecond either side, a late
-- write (strict), a NULL key and time, DEFAULT
TRUNCATE tx, spine_u, spine_a;
INSERT INTO tx (id, user_id, region, acct_id, event_time, ingested_at, iamt, merchant, status) VALUES
	(1, 'e1', 'eu', 1, '2026-02-01 10:00+00', '2026-02-01 10:00+00', 1, 'a', 'ok'),
	(2, 'e1', 'eu', 1, '2026-02-01 10:00+00', '2026-02-01 10:05+00', 2, 'b', 'ok'),   -- a tie on event_time, written later
	(3, 'e1', 'eu', 1, '2026-02-01 10:30+00', '2026-02-01 12:00+00', 4, 'c', 'ok'),   -- written late
	(4, 'e1', 'eu', 1, '2026-02-01 11:00+00', '2026-02-01 11:00+00', 8, 'd', 'ok'),
	(5, 'e1', 'eu', 1, '2026-02-01 10:45+00', '2026-02-01 10:45+00', 16, 'x', 'declined');
INSERT INTO spine_u VALUES
	(1, 'e1', '2026-02-01 10:59:59.999999+00', 0),
	(2, 'e1', '2026-02-01 11:00+00', 0),
	(3, 'e1', '2026-02-01 11:00:00.000001+00', 0),
	(4, 'e1', '2026-02-01 11:30+00', 0),
	(5, 'e1', '2026-02-01 11:30+00', 0),                -- a duplicate
	(6, 'e1', '2026-02-01 09:00+00', 0),                -- before every event
	(7, NULL, '2026-02-01 11:00+00', 0),
	(8, 'e1', NULL, 0),
	(9, 'nobody', '2026-02-01 11:00+00', 0);
INSERT INTO spine_a SELECT id, 'eu', 1, ts FROM spine_u;
SELECT s.id, s.ts, g.user_id, g.event_timestamp, g.created_at, g.n_1h, g.si_1h, g.last_1d,
	   g.n_10m, g.mx_10m, g.n_all
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
 ORDER BY s.id;
-- strict: row 3 (10:30) counts only from 12:00, when it was written
SELECT s.id, g.n_1h, g.si_1h, g.last_1d
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, true)
 ORDER BY s.id;
-- as_of 10:04: only event 1 had been written (event 2 was written at 10:05)
SELECT s.id, g.n_all, g.last_all
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, '2026-02-01 10:04+00', false)
 ORDER BY s.id;
-- end exclusive: the event at t does not count, the one at t - w does
SELECT s.id, s.ts, g.event_timestamp, g.n_30m, g.si_30m, g.mx_2h
  FROM spine_a s
  LEFT JOIN w_acct g ON g.region = s.region AND g.acct_id = s.acct_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
 ORDER BY s.id;
-- the inner join keeps every spine row with a key and a time
SELECT s.id, g.n_1h
  FROM spine_u s
  JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
 ORDER BY s.id;
-- a condition on the features, in WHERE: applied to the joined rows
SELECT s.id, g.n_1h
  FROM spine_u s
  JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
 WHERE g.n_1h >= 2
 ORDER BY s.id;

-- a condition on the view in a LEFT join's ON clause: a computed row that
-- fails it joins nothing (NULLs); one on the spine in WHERE, which the
-- planner also derives for the view's key (g.user_id = 'e1')
SELECT s.id, g.user_id, g.n_1h, g.last_1d
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id AND g.n_1h >= 2
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
 ORDER BY s.id;
SELECT s.id, g.n_1h
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
 WHERE s.user_id = 'e1'
 ORDER BY s.id;

-- a spine subquery that computes the key; a forced strategy does not apply
SET featstore.pit_strategy = merge;
SELECT s.id, g.user_id, g.n_1h, g.n_all
  FROM (SELECT id, lower(user_id) AS user_id, ts FROM spine_u WHERE id IN (2, 6, 9)) s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
 ORDER BY s.id;
RESET featstore.pit_strategy;

-- prepared, with a generic plan: as_of, strict and the TTL are parameters,
-- read when the scan starts (a NULL TTL is fine, another is refused then)
SET plan_cache_mode = force_generic_plan;
PREPARE win_q(interval, timestamptz, boolean) AS
SELECT s.id, g.n_all, g.last_all
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, $1, $2, $3)
 WHERE s.id IN (2, 4) ORDER BY s.id;
EXECUTE win_q(NULL, NULL, false);
EXECUTE win_q(NULL, '2026-02-01 10:04+00', false);
EXECUTE win_q(NULL, NULL, true);
EXECUTE win_q('1 hour', NULL, false);
DEALLOCATE win_q;
RESET plan_cache_mode;

-- rescans: the join inside a correlated subquery, once per outer row
SELECT k, (SELECT sum(g.n_1h)
			 FROM spine_u s
			 LEFT JOIN w_user g ON g.user_id = s.user_id
			  AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
			WHERE s.user_id = x.k) AS n
  FROM (VALUES ('e1'), ('nobody'), ('e1')) AS x(k);

-- an error inside the pass (an expression feature dividing by zero) is
-- caught by an exception block or a savepoint like any error: the node's
-- SPI connection and the events' cursor go with the subtransaction
DO LANGUAGE featstore $$
CREATE FEATURE GROUP w_bad ENTITY win_user FROM tx TIMESTAMP event_time
    FEATURES (n bigint AS count(*) OVER '1 hour', bad bigint AS n / (n - n));
$$;
DO $$
BEGIN
	PERFORM count(*) FROM spine_u s
	  LEFT JOIN w_bad g ON g.user_id = s.user_id
	   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
EXCEPTION WHEN division_by_zero THEN
	RAISE NOTICE 'caught: %', SQLERRM;
END $$;
BEGIN;
SAVEPOINT before_bad;
SELECT count(g.bad) FROM spine_u s
  LEFT JOIN w_bad g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
ROLLBACK TO before_bad;
SELECT sum(g.n_1h) FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
-- a cursor held past the commit, and one closed after a partial fetch
DECLARE held CURSOR WITH HOLD FOR
SELECT s.id, g.n_1h FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
 ORDER BY s.id;
DECLARE partial CURSOR FOR
SELECT g.n_1h >= 0 AS counted FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
FETCH 1 FROM partial;
CLOSE partial;
COMMIT;
FETCH 3 FROM held;
CLOSE held;
SELECT featstore.exec($$DROP FEATURE GROUP w_bad$$);
-- the join inside a function called once per row: nested SPI users
CREATE FUNCTION n_1h_of(u text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	r numeric;
BEGIN
	SELECT sum(g.n_1h) INTO r FROM spine_u s
	  LEFT JOIN w_user g ON g.user_id = s.user_id
	   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
	 WHERE s.user_id = u;
	RETURN r;
END $$;
SELECT u, n_1h_of(u) FROM (VALUES ('e1'), ('nobody')) AS x(u);

-- EXPLAIN: the window strategy reads the spine child alone
EXPLAIN (COSTS OFF)
SELECT s.id, g.n_1h
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, true);
EXPLAIN (COSTS OFF)
SELECT s.id, g.n_1h
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id AND g.n_1h >= 2
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
 WHERE s.user_id = 'e1';
EXPLAIN (COSTS OFF)
SELECT s.id, g.n_30m
  FROM spine_a s
  JOIN w_acct g ON g.region = s.region AND g.acct_id = s.acct_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);

-- the join reads the source as the caller: its privileges and row-level
-- security apply, not the view owner's
CREATE ROLE regress_win_reader;
GRANT USAGE ON SCHEMA pit_win TO regress_win_reader;
GRANT SELECT ON spine_u, w_user TO regress_win_reader;
SET ROLE regress_win_reader;
SELECT count(*) FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
RESET ROLE;
GRANT SELECT ON tx TO regress_win_reader;
ALTER TABLE tx ENABLE ROW LEVEL SECURITY;
CREATE POLICY hide_d ON tx FOR SELECT TO regress_win_reader USING (merchant <> 'd');
SET ROLE regress_win_reader;
SELECT s.id, g.n_1h, g.last_1d
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false)
 WHERE s.id <= 4 ORDER BY s.id;
RESET ROLE;
ALTER TABLE tx DISABLE ROW LEVEL SECURITY;

-- pit_join, create_pit_view and a service, with an ordinary group and two
-- source groups in one request, against the oracle at several seeds
SELECT featstore.exec($$CREATE FEATURE GROUP w_plain ENTITY win_user FEATURES (score bigint) TTL '2 hours'$$);
SELECT featstore.exec($$CREATE FEATURE SERVICE w_svc FEATURES (w_plain.score, w_user.n_1h, w_user.last_all, w_acct.n_30m, w_acct.mx_2h)$$);
CREATE TABLE spine_m (id integer, user_id text, region text, acct_id integer, ts timestamptz);
CREATE FUNCTION fill_mixed(seed float8) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM fill(seed, 1200, 600);
	TRUNCATE w_plain, spine_m;
	INSERT INTO w_plain (user_id, event_timestamp, created_at, score)
	SELECT user_id, event_time, ingested_at, iamt FROM tx WHERE iamt IS NOT NULL;
	INSERT INTO spine_m
	SELECT s.id, s.user_id, (ARRAY['eu', 'us'])[1 + s.id % 2], s.id % 5, s.ts FROM spine_u s;
END $$;
CREATE FUNCTION oracle_m() RETURNS TABLE (id int, user_id text, region text, acct_id int, ts timestamptz,
	score bigint, n_1h bigint, last_all text, n_30m bigint, mx_2h text)
LANGUAGE sql STABLE AS $$
SELECT s.id, s.user_id, s.region, s.acct_id, s.ts, p.score, u.n_1h, u.last_all, a.n_30m, a.mx_2h
  FROM spine_m s
  LEFT JOIN LATERAL (
		SELECT r.score FROM w_plain r
		 WHERE r.user_id = s.user_id AND r.event_timestamp <= s.ts
		   AND r.event_timestamp >= s.ts - interval '2 hours'
		 ORDER BY r.event_timestamp DESC, r.created_at DESC LIMIT 1) p ON true
  LEFT JOIN LATERAL (
		SELECT count(*) FILTER (WHERE r.event_time > s.ts - interval '1 hour') AS n_1h,
			   (array_agg(r.merchant ORDER BY r.event_time DESC, r.ingested_at DESC))[1] AS last_all
		  FROM tx r
		 WHERE r.user_id = s.user_id AND r.event_time <= s.ts AND r.status <> 'declined') u ON true
  LEFT JOIN LATERAL (
		SELECT count(*) FILTER (WHERE r.event_time >= s.ts - interval '30 minutes') AS n_30m,
			   CASE WHEN count(r.merchant) = 0 THEN 'none' ELSE max(r.merchant) END AS mx_2h
		  FROM tx r
		 WHERE r.region = s.region AND r.acct_id = s.acct_id
		   AND r.event_time < s.ts AND r.event_time >= s.ts - interval '2 hours') a ON true
$$;
SELECT featstore.create_pit_view('mixed_v', 'pit_win.spine_m',
	features => '{w_plain.score, w_user.n_1h, w_user.last_all, w_acct.n_30m, w_acct.mx_2h}');
CREATE FUNCTION diff_m(seed float8, OUT through text, OUT spine_rows bigint, OUT differences bigint)
RETURNS SETOF record LANGUAGE plpgsql AS $$
BEGIN
	PERFORM fill_mixed(seed);
	spine_rows := (SELECT count(*) FROM spine_m);
	through := 'pit_join';
	differences := (SELECT count(*) FROM (
		(SELECT * FROM oracle_m() EXCEPT ALL
		 SELECT * FROM featstore.pit_join(NULL::mixed_v, 'pit_win.spine_m',
			features => '{w_plain.score, w_user.n_1h, w_user.last_all, w_acct.n_30m, w_acct.mx_2h}'))
		UNION ALL
		(SELECT * FROM featstore.pit_join(NULL::mixed_v, 'pit_win.spine_m',
			features => '{w_plain.score, w_user.n_1h, w_user.last_all, w_acct.n_30m, w_acct.mx_2h}')
		 EXCEPT ALL SELECT * FROM oracle_m())) d);
	RETURN NEXT;
	through := 'service';
	differences := (SELECT count(*) FROM (
		(SELECT * FROM oracle_m() EXCEPT ALL
		 SELECT * FROM featstore.pit_join(NULL::mixed_v, 'pit_win.spine_m', service => 'w_svc'))
		UNION ALL
		(SELECT * FROM featstore.pit_join(NULL::mixed_v, 'pit_win.spine_m', service => 'w_svc')
		 EXCEPT ALL SELECT * FROM oracle_m())) d);
	RETURN NEXT;
	through := 'create_pit_view';
	differences := (SELECT count(*) FROM (
		(SELECT * FROM oracle_m() EXCEPT ALL SELECT * FROM mixed_v)
		UNION ALL
		(SELECT * FROM mixed_v EXCEPT ALL SELECT * FROM oracle_m())) d);
	RETURN NEXT;
END $$;
SELECT s.seed, d.* FROM unnest(ARRAY[0.21, -0.65]) AS s(seed), diff_m(s.seed) d;
EXPLAIN (COSTS OFF) SELECT * FROM mixed_v;

-- errors
-- a TTL: windows bound each feature
SELECT s.id FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, interval '1 hour', NULL, false);
-- as_of and strict need CREATED
SELECT s.id FROM spine_a s
  LEFT JOIN w_acct g ON g.region = s.region AND g.acct_id = s.acct_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, now(), false);
SELECT s.id FROM spine_a s
  LEFT JOIN w_acct g ON g.region = s.region AND g.acct_id = s.acct_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, true);
SELECT count(*) FROM featstore.pit_join(NULL::mixed_v, 'pit_win.spine_m',
	features => '{w_plain.score, w_user.n_1h, w_user.last_all, w_acct.n_30m, w_acct.mx_2h}',
	strict => true);
-- the marker's columns swapped
SELECT s.id FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND featstore.pit_match(g.created_at, g.event_timestamp, s.ts, NULL, NULL, false);
-- one key of two: the safety net
SELECT s.id FROM spine_a s
  LEFT JOIN w_acct g ON g.acct_id = s.acct_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
-- a condition on the view with a subquery over the view's columns: the
-- safety net (an uncorrelated one is a parameter, computed once)
SELECT s.id FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id
   AND g.n_1h > (SELECT count(*) FROM spine_a a WHERE a.acct_id = g.n_1h)
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
SELECT count(*) AS spine_rows, count(g.n_1h) AS joined,
	   (SELECT count(*) FROM oracle_u(NULL, false) o WHERE o.n_1h > 1) AS oracle
  FROM spine_u s
  LEFT JOIN w_user g ON g.user_id = s.user_id AND g.n_1h > (SELECT 1)
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
-- the timeline function with a group name that is not a constant
SELECT s.id FROM spine_u s
  LEFT JOIN featstore.window_timeline((SELECT 'w_user')) AS g(user_id text, event_timestamp timestamptz,
			created_at timestamptz, n bigint)
	ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
-- the timeline of an ordinary group, or with columns that are not the group's
SELECT s.id FROM spine_u s
  LEFT JOIN featstore.window_timeline('w_plain') AS g(user_id text, event_timestamp timestamptz,
			created_at timestamptz, score bigint)
	ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);
SELECT s.id FROM spine_u s
  LEFT JOIN featstore.window_timeline('w_acct') AS g(user_id text, event_timestamp timestamptz,
			created_at timestamptz, n bigint)
	ON g.user_id = s.user_id
   AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, NULL, false);

DROP VIEW mixed_v;
SELECT featstore.exec($$DROP FEATURE SERVICE w_svc$$);
SELECT featstore.exec($$DROP FEATURE GROUP w_plain$$);
SELECT featstore.exec($$DROP FEATURE GROUP w_user$$);
SELECT featstore.exec($$DROP FEATURE GROUP w_acct$$);
SELECT featstore.exec($$DROP ENTITY win_user$$);
SELECT featstore.exec($$DROP ENTITY win_acct$$);
SET client_min_messages = warning;
DROP SCHEMA pit_win CASCADE;
RESET client_min_messages;
DROP OWNED BY regress_win_reader;
DROP ROLE regress_win_reader;
