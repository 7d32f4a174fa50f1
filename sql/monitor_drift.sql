-- drift (issue 11): featstore.drift_tests(), the featstore.drift view and
-- evaluate_drift() over stored statistics.  Part 1 checks every formula
-- against an independent computation in SQL on hand-written statistics;
-- part 2 injects the seeds' incidents into synthetic histories, computes
-- their statistics with compute_stats() day by day and checks that each is
-- flagged with the right feature and period and nothing else is; part 3 runs
-- stable histories (three seeds) through 60 evaluated periods, and small
-- ones (100 to 1000 rows a day) with their p-values by hand; part 4 the
-- errors and who sees what.  Groups are MONITOR NONE: the monitor worker
-- must not compute or evaluate anything behind the test's back.
\set SHOW_CONTEXT never
SET timezone = 'UTC';
SET extra_float_digits = 0;
SET datestyle = 'ISO, YMD';

SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY drift_user (user_id bigint);
	CREATE FEATURE GROUP drift_math ENTITY drift_user
		FEATURES (x double precision, y_ks double precision, y_w double precision, c text)
		MONITOR NONE;
$$);

-- the defaults, written once
SELECT setting, value FROM featstore.monitor_threshold_defaults ORDER BY setting;

-- ---------------------------------------------------------------- part 1
-- Statistics written by hand (as the superuser running the test), days
-- 2026-01-01 .. 2026-01-11; day 11 is the period under test.
-- x: the baseline alternates uniform [0, 100] and [20, 120] with growing
-- row counts (a non-trivial mixture); day 11 has F(x) = sqrt(x / 100).
INSERT INTO featstore.feature_stats (group_name, feature_name, period_start, period_end, kind,
	row_count, null_count, null_rate, distinct_count, mean, stddev, percentiles)
SELECT 'drift_math', 'x', d, d + interval '1 day', 'numeric', 1000 + 100 * i, nulls,
	   nulls::float8 / (1000 + 100 * i), 900 + 99 * i, CASE WHEN i % 2 = 0 THEN 50 ELSE 70 END + i / 10.0,
	   100 / sqrt(12),
	   (SELECT array_agg(j + CASE WHEN i % 2 = 0 THEN 0 ELSE 20 END ORDER BY j) FROM generate_series(0, 100) j)::float8[]
  FROM generate_series(0, 9) i,
	   LATERAL (SELECT timestamptz '2026-01-01' + i * interval '1 day' AS d, 5 + (i * 7) % 13 AS nulls) t;
INSERT INTO featstore.feature_stats (group_name, feature_name, period_start, period_end, kind,
	row_count, null_count, null_rate, distinct_count, mean, stddev, percentiles)
SELECT 'drift_math', 'x', '2026-01-11', '2026-01-12', 'numeric', 2000, 40, 0.02, 1960, 100.0 / 3, 29.81,
	   (SELECT array_agg(100 * (j / 100.0) ^ 2 ORDER BY j) FROM generate_series(0, 100) j)::float8[];
-- y_ks, y_w: the baseline is uniform [0, 1]; day 11 is shifted by 0.05
-- (y_ks, 800 values: KS decides) or by 0.2 (y_w, 1500 values: Wasserstein)
INSERT INTO featstore.feature_stats (group_name, feature_name, period_start, period_end, kind,
	row_count, null_count, null_rate, distinct_count, mean, stddev, percentiles)
SELECT 'drift_math', f, d, d + interval '1 day', 'numeric', n, 0, 0, n,
	   0.5 + s, 1 / sqrt(12), (SELECT array_agg(j / 100.0 + s ORDER BY j) FROM generate_series(0, 100) j)::float8[]
  FROM (VALUES ('y_ks', 500, 800, 0.05), ('y_w', 1500, 1500, 0.2)) v(f, nb, nc, shift),
	   generate_series(0, 10) i,
	   LATERAL (SELECT timestamptz '2026-01-01' + i * interval '1 day' AS d,
					   CASE WHEN i = 10 THEN nc ELSE nb END AS n,
					   CASE WHEN i = 10 THEN shift ELSE 0 END AS s) t;
-- c: the baseline lists a 50 %, b 30 %, c 15 % (5 % unlisted); day 11
-- lists a 30 %, b 30 %, c 20 %, d 10 % (10 % unlisted)
INSERT INTO featstore.feature_stats (group_name, feature_name, period_start, period_end, kind,
	row_count, null_count, null_rate, distinct_count, top_values, top_counts, other_count)
SELECT 'drift_math', 'c', d, d + interval '1 day', 'categorical', n + 5 + i, 5 + i, (5.0 + i) / (n + 5 + i),
	   CASE WHEN i = 10 THEN 6 ELSE 5 END,
	   CASE WHEN i = 10 THEN ARRAY['a', 'b', 'c', 'd'] ELSE ARRAY['a', 'b', 'c'] END,
	   CASE WHEN i = 10 THEN ARRAY[n * 3 / 10, n * 3 / 10, n * 2 / 10, n / 10]
			ELSE ARRAY[n / 2, n * 3 / 10, n * 15 / 100] END::bigint[],
	   CASE WHEN i = 10 THEN n / 10 ELSE n / 20 END
  FROM generate_series(0, 10) i,
	   LATERAL (SELECT timestamptz '2026-01-01' + i * interval '1 day' AS d, 1000 + 100 * i AS n) t;

-- Day 11 against the trailing baseline of days 1-10
SELECT feature_name, test, round(statistic::numeric, 6) AS statistic, threshold, verdict,
	   baseline_periods, baseline_from::date, baseline_to::date,
	   round(effect::numeric, 6) AS effect, min_effect
  FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-12')
 ORDER BY feature_name, test;

-- Fewer than 7 baseline periods: "no baseline", except all_null and
-- distinct_collapse, which need one; the first day has no baseline at all
SELECT period_start::date, test, verdict, baseline_periods
  FROM featstore.drift_tests('drift_math', NULL, '2026-01-09')
 WHERE feature_name = 'c' AND period_start IN ('2026-01-01', '2026-01-07', '2026-01-08')
 ORDER BY 1, 2;

-- Independent computations in SQL on the same stored rows.
-- A period's CDF, linear between its percentiles (strictly increasing here)
CREATE FUNCTION pg_temp.cdf(p float8[], x float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN x <= p[1] THEN 0 WHEN x >= p[101] THEN 1
				ELSE (SELECT (j - 1 + (x - p[j]) / (p[j + 1] - p[j])) / 100
						FROM generate_series(1, 100) j WHERE p[j] <= x AND x < p[j + 1]) END
$$;
-- The baseline's CDF: days 1-10 weighted by their non-NULL values
CREATE FUNCTION pg_temp.mix(f name, x float8) RETURNS float8 LANGUAGE sql STABLE AS $$
	SELECT sum((row_count - null_count) * pg_temp.cdf(percentiles, x)) / sum(row_count - null_count)
	  FROM featstore.feature_stats
	 WHERE group_name = 'drift_math' AND feature_name = f AND period_start < '2026-01-11'
$$;

-- PSI of x: the baseline's deciles by bisection, the shares of both, floored
WITH RECURSIVE bis(k, lo, hi, it) AS (
	SELECT k, -1000::float8, 1000::float8, 0 FROM generate_series(1, 9) k
	UNION ALL
	SELECT k, CASE WHEN pg_temp.mix('x', (lo + hi) / 2) >= k / 10.0 THEN lo ELSE (lo + hi) / 2 END,
			  CASE WHEN pg_temp.mix('x', (lo + hi) / 2) >= k / 10.0 THEN (lo + hi) / 2 ELSE hi END, it + 1
	  FROM bis WHERE it < 60),
edges AS (
	SELECT 0 AS k, '-infinity'::float8 AS e
	UNION ALL SELECT k, hi FROM bis WHERE it = 60
	UNION ALL SELECT 10, 'infinity'),
cur AS (SELECT percentiles AS p FROM featstore.feature_stats
		 WHERE group_name = 'drift_math' AND feature_name = 'x' AND period_start = '2026-01-11'),
shares AS (
	SELECT greatest(pg_temp.cdf(cur.p, e) - pg_temp.cdf(cur.p, lag(e) OVER w), 1e-4) AS c,
		   greatest(pg_temp.mix('x', e) - pg_temp.mix('x', lag(e) OVER w), 1e-4) AS b, k
	  FROM edges, cur WINDOW w AS (ORDER BY k)),
by_hand AS (SELECT sum((c - b) * ln(c / b)) AS psi FROM shares WHERE k > 0)
SELECT round(psi::numeric, 6) AS psi_by_hand,
	   abs(psi - (SELECT statistic FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-12')
				   WHERE feature_name = 'x' AND test = 'psi')) < 1e-9 AS equal
  FROM by_hand;

-- Jensen-Shannon of c over {a, b, c, d, other}, base 2
WITH s AS (SELECT * FROM featstore.feature_stats WHERE group_name = 'drift_math' AND feature_name = 'c'),
cur AS (SELECT v, n::float8 / (row_count - null_count) AS p
		  FROM s, unnest(top_values, top_counts) AS u(v, n) WHERE period_start = '2026-01-11'),
base AS (SELECT v, sum(n)::float8 / (SELECT sum(row_count - null_count) FROM s WHERE period_start < '2026-01-11') AS q
		   FROM s, unnest(top_values, top_counts) AS u(v, n) WHERE period_start < '2026-01-11' GROUP BY v),
dist AS (SELECT coalesce(p, 0) AS p, coalesce(q, 0) AS q FROM cur FULL JOIN base USING (v)
		 UNION ALL SELECT 1 - (SELECT sum(p) FROM cur), 1 - (SELECT sum(q) FROM base)),
by_hand AS (
	SELECT sqrt(sum(CASE WHEN p > 0 THEN p * ln(p / ((p + q) / 2)) ELSE 0 END
					+ CASE WHEN q > 0 THEN q * ln(q / ((p + q) / 2)) ELSE 0 END) / 2 / ln(2)) AS js
	  FROM dist)
SELECT round(js::numeric, 6) AS js_by_hand,
	   abs(js - (SELECT statistic FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-12')
				  WHERE feature_name = 'c' AND test = 'js')) < 1e-9 AS equal
  FROM by_hand;

-- KS of y_ks: uniform [0, 1] against uniform [0.05, 1.05] has D = 0.05
-- exactly; the asymptotic p-value with n = 800, m = 10 * 500
WITH t AS (SELECT statistic, effect FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-12')
			WHERE feature_name = 'y_ks' AND test = 'ks_pvalue'),
lam AS (SELECT 0.05 * sqrt(800.0 * 5000 / 5800)::float8 AS l),
p AS (SELECT 2 * sum((-1) ^ (j - 1) * exp(-2 * j * j * l * l)) AS p FROM lam, generate_series(1, 10) j)
SELECT round(p::numeric, 6) AS p_by_hand, abs(effect - 0.05) < 1e-9 AS d_is_005,
	   abs(statistic - p) < 1e-9 AS p_equal, statistic >= 0.05 AS not_drift_at_005
  FROM t, p;

-- Wasserstein of y_w: a shift by 0.2 has W1 = 0.2 exactly, over the pooled
-- stddev of the baseline's values (ten periods of 1500, each sd 1/sqrt(12))
WITH b AS (SELECT row_count - null_count AS n, mean, stddev FROM featstore.feature_stats
			WHERE group_name = 'drift_math' AND feature_name = 'y_w' AND period_start < '2026-01-11'),
pooled AS (SELECT sqrt((sum((n - 1) * stddev ^ 2) + sum(n * (mean - (SELECT sum(n * mean) / sum(n) FROM b)) ^ 2))
					   / (sum(n) - 1)) AS sd FROM b)
SELECT round((0.2 / sd)::numeric, 6) AS w_by_hand,
	   abs(0.2 / sd - (SELECT statistic FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-12')
						WHERE feature_name = 'y_w' AND test = 'wasserstein')) < 1e-9 AS equal
  FROM pooled;

-- mean_sigma and null_rate_sigma of x: |v - avg| / stddev_samp over the
-- baseline periods' values; the effects over the pooled sd and absolute
WITH b AS (SELECT * FROM featstore.feature_stats
			WHERE group_name = 'drift_math' AND feature_name = 'x' AND period_start < '2026-01-11'),
mom AS (SELECT avg(mean) AS mu, stddev_samp(mean) AS sigma,
			   avg(null_count::float8 / row_count) AS nmu, stddev_samp(null_count::float8 / row_count) AS nsigma,
			   sqrt((sum((row_count - null_count - 1) * stddev ^ 2)
					 + sum((row_count - null_count) * (mean - (SELECT sum((row_count - null_count) * mean)
																 / sum(row_count - null_count) FROM b)) ^ 2))
					/ (sum(row_count - null_count) - 1)) AS pooled
		  FROM b),
t AS (SELECT test, statistic, effect FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-12')
	   WHERE feature_name = 'x')
SELECT round((abs(100.0 / 3 - mu) / sigma)::numeric, 6) AS mean_z_by_hand,
	   abs(abs(100.0 / 3 - mu) / sigma - (SELECT statistic FROM t WHERE test = 'mean_sigma')) < 1e-9 AS z_equal,
	   abs(abs(100.0 / 3 - mu) / pooled - (SELECT effect FROM t WHERE test = 'mean_sigma')) < 1e-9 AS effect_equal,
	   round((abs(0.02 - nmu) / nsigma)::numeric, 6) AS null_z_by_hand,
	   abs(abs(0.02 - nmu) / nsigma - (SELECT statistic FROM t WHERE test = 'null_rate_sigma')) < 1e-9 AS null_z_equal,
	   abs(abs(0.02 - nmu) - (SELECT effect FROM t WHERE test = 'null_rate_sigma')) < 1e-12 AS null_effect_equal
  FROM mom;

-- Thresholds: the group's replace the default, a feature's the group's
SELECT command FROM featstore.exec($$
	ALTER FEATURE GROUP drift_math SET MONITOR (psi = 1.5, js = 0.5);
	ALTER FEATURE GROUP drift_math ALTER FEATURE x SET MONITOR (psi = 2);
$$);
SELECT feature_name, test, threshold, verdict
  FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-12')
 WHERE test IN ('psi', 'js') ORDER BY 1, 2;
SELECT command FROM featstore.exec($$
	ALTER FEATURE GROUP drift_math RESET MONITOR (psi, js);
	ALTER FEATURE GROUP drift_math ALTER FEATURE x RESET MONITOR (psi);
$$);

-- A pinned range: only its periods (of the same length) are the baseline
SELECT command FROM featstore.exec($$
	ALTER FEATURE GROUP drift_math SET MONITOR BASELINE FROM '2026-01-02' TO '2026-01-09';
$$);
SELECT feature_name, test, verdict, baseline_periods, baseline_from::date, baseline_to::date
  FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-12')
 WHERE feature_name = 'y_w' ORDER BY test;

-- A pinned spine: the statistics of a training set's spine under a label.
-- Against a spine, sigma_b is the standard error of the difference.
INSERT INTO featstore.feature_stats (group_name, feature_name, scope, label, period_start, period_end, kind,
	row_count, null_count, null_rate, distinct_count, mean, stddev, percentiles)
SELECT 'drift_math', 'y_w', 'spine', 'train-v1', '2025-12-01', '2025-12-31', 'numeric', 3000, 30, 0.01, 2970,
	   0.5, 1 / sqrt(12), (SELECT array_agg(j / 100.0 ORDER BY j) FROM generate_series(0, 100) j)::float8[];
SELECT command FROM featstore.exec($$
	ALTER FEATURE GROUP drift_math SET MONITOR BASELINE SPINE 'train-v1';
$$);
SELECT test, round(statistic::numeric, 6) AS statistic, verdict, baseline_periods, baseline_from::date,
	   round(effect::numeric, 6) AS effect
  FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-12')
 WHERE feature_name = 'y_w' ORDER BY test;
-- mean: |0.7 - 0.5| / (s sqrt(1/1500 + 1/2970)); null rate: |0 - 0.01| /
-- sqrt(p (1 - p) (1/1500 + 1/3000))
SELECT round((0.2 / (1 / sqrt(12) * sqrt(1.0 / 1500 + 1.0 / 2970)))::numeric, 6) AS mean_z_by_hand,
	   round((0.01 / sqrt(0.01 * 0.99 * (1.0 / 1500 + 1.0 / 3000)))::numeric, 6) AS null_z_by_hand;
-- a label with no statistics: no baseline
SELECT command FROM featstore.exec($$
	ALTER FEATURE GROUP drift_math SET MONITOR BASELINE SPINE 'no-such-spine';
$$);
SELECT DISTINCT verdict, baseline_periods FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-12');
SELECT command FROM featstore.exec($$
	ALTER FEATURE GROUP drift_math SET MONITOR BASELINE 30 PERIODS;
$$);

-- ---------------------------------------------------------------- part 2
-- Synthetic histories, deterministic: each day's rows come from random()
-- after setseed() of (seed, day), in one INSERT whose row and column order
-- is fixed.  2000 rows a day, at one-second steps.  A normal value is
-- Box-Muller's sqrt(-2 ln u1) cos(2 pi u2).
CREATE FUNCTION pg_temp.n() RETURNS float8 LANGUAGE sql VOLATILE
RETURN sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random());
-- One day of a group with 8 features:
--   amount			 normal(50, 10), 1 % NULL, plus a day effect normal(0, 0.25)
--					 (days differ by more than sampling, as real days do)
--   days_since_order geometric, mean about 2.5 (a date-derived feature)
--   score			 normal(0, 1)
--   items			 uniform 0..5
--   ratio			 uniform [0, 1), 0.5 % NULL
--   tenure_days	 uniform 0..999
--   segment		 retail 50 %, smb 30 %, enterprise 15 %, gov 5 %
--   is_active		 70 % true
-- and the incidents:
--   all_null		 ratio is NULL in every row
--   mean_shift		 amount's mean moves by 4 sigma_b, sigma_b = the spread of
--					 the daily means: sqrt(0.25^2 + 10^2 / n)
--   date_shift		 days_since_order computed with a date off by one day
--   mix			 segment 30 / 30 / 20 / 20 %
--   slow:s			 score's mean moves by s
CREATE FUNCTION pg_temp.fill(tbl regclass, seed int, day int, n int, incident text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
	effect float8;
BEGIN
	PERFORM setseed(hashint4(seed * 1000 + day) / 2147483648.0);
	effect := CASE WHEN incident = 'mean_shift' THEN 4 * sqrt(0.25 ^ 2 + 100.0 / n) ELSE 0.25 * pg_temp.n() END;
	EXECUTE format($q$
	INSERT INTO %s (user_id, event_timestamp, amount, days_since_order, score, items, ratio,
					tenure_days, segment, is_active)
	SELECT i, timestamptz '2026-01-01' + $1 * interval '1 day' + i * interval '1 second',
		   CASE WHEN r.u_null_amount < 0.01 THEN NULL ELSE 50 + 10 * r.n_amount + $4 END,
		   floor(-ln(1 - r.u_days) * 3)::int + CASE WHEN $3 = 'date_shift' THEN 1 ELSE 0 END,
		   r.n_score + CASE WHEN $3 LIKE 'slow:%%' THEN split_part($3, ':', 2)::float8 ELSE 0 END,
		   floor(r.u_items * 6)::int,
		   CASE WHEN $3 = 'all_null' OR r.u_null_ratio < 0.005 THEN NULL ELSE r.u_ratio END,
		   floor(r.u_tenure * 1000)::int,
		   CASE WHEN $3 = 'mix' THEN
					CASE WHEN r.u_seg < 0.3 THEN 'retail' WHEN r.u_seg < 0.6 THEN 'smb'
						 WHEN r.u_seg < 0.8 THEN 'enterprise' ELSE 'gov' END
				ELSE CASE WHEN r.u_seg < 0.5 THEN 'retail' WHEN r.u_seg < 0.8 THEN 'smb'
						  WHEN r.u_seg < 0.95 THEN 'enterprise' ELSE 'gov' END
		   END,
		   r.u_active < 0.7
	  FROM (SELECT i, random() AS u_null_amount, pg_temp.n() AS n_amount, random() AS u_days,
				   pg_temp.n() AS n_score, random() AS u_items, random() AS u_null_ratio,
				   random() AS u_ratio, random() AS u_tenure, random() AS u_seg, random() AS u_active
			  FROM generate_series(1, $2) i OFFSET 0) r
	$q$, tbl) USING day, n, coalesce(incident, ''), effect;
END
$f$;
-- compute_stats and evaluate_drift for days first..last, in order
CREATE FUNCTION pg_temp.run_days(g text, first int, last int) RETURNS integer LANGUAGE sql AS $$
	SELECT count(featstore.compute_stats(g, timestamptz '2026-01-01' + d * interval '1 day',
										 timestamptz '2026-01-02' + d * interval '1 day'))::int
	  FROM generate_series(first, last) d;
	SELECT sum(featstore.evaluate_drift(g, timestamptz '2026-01-01' + d * interval '1 day',
										timestamptz '2026-01-02' + d * interval '1 day'))::int
	  FROM generate_series(first, last) d;
$$;
CREATE FUNCTION pg_temp.make_group(g text) RETURNS void LANGUAGE sql AS $$
	SELECT featstore.exec(format($x$CREATE FEATURE GROUP %I ENTITY drift_user FEATURES (
		amount double precision, days_since_order integer, score double precision, items integer,
		ratio double precision, tenure_days integer, segment text, is_active boolean) MONITOR NONE$x$, g));
$$;

-- The incidents: 45 days, each incident on one day of its own
SELECT pg_temp.make_group('drift_incidents');
SELECT count(pg_temp.fill('drift_incidents', 1, d, 2000,
						  CASE d WHEN 32 THEN 'all_null' WHEN 35 THEN 'mean_shift'
								 WHEN 38 THEN 'date_shift' WHEN 41 THEN 'mix' END))
  FROM generate_series(0, 44) d;
-- features with drift, summed over the days
SELECT pg_temp.run_days('drift_incidents', 0, 44) AS drifting_features;
-- every drift verdict: the injected feature on its day, and nothing else
SELECT period_start::date, feature_name, test, round(statistic::numeric, 4) AS statistic, threshold,
	   round(effect::numeric, 4) AS effect
  FROM featstore.drift WHERE group_name = 'drift_incidents' AND verdict = 'drift'
 ORDER BY 1, 2, 3;
-- one alert per incident, each resolved by the next (clean) day
SELECT feature_name, (details->>'period_start')::date AS period, resolved_at IS NOT NULL AS resolved,
	   (SELECT string_agg(t->>'test', ', ' ORDER BY t->>'test') FROM jsonb_array_elements(details->'tests') t) AS tests,
	   details->>'baseline' AS baseline, details->'baseline_periods' AS baseline_periods
  FROM featstore.alerts WHERE kind = 'drift' AND group_name = 'drift_incidents' ORDER BY id;
-- 38 days were evaluated against at least 7 periods, 8 features each
SELECT count(DISTINCT period_start) AS periods, count(DISTINCT feature_name) AS features
  FROM featstore.drift WHERE group_name = 'drift_incidents' AND test = 'null_rate_sigma' AND verdict <> 'no baseline';

-- The mean test against SQL's own aggregates over the history itself: the
-- day means of amount over the 30 days before the shift, and the pooled
-- stddev of those days' values
WITH day AS (SELECT date_trunc('day', event_timestamp) AS d, avg(amount) AS m, count(amount) AS n
			   FROM drift_incidents GROUP BY 1),
b AS (SELECT avg(m) AS mu, stddev_samp(m) AS sigma FROM day WHERE d >= '2026-01-06' AND d < '2026-02-05'),
pooled AS (SELECT stddev_samp(amount) AS sd FROM drift_incidents
			WHERE event_timestamp >= '2026-01-06' AND event_timestamp < '2026-02-05'),
cur AS (SELECT m FROM day WHERE d = '2026-02-05'),
t AS (SELECT statistic, effect FROM featstore.drift_tests('drift_incidents', '2026-02-05', '2026-02-06')
	   WHERE feature_name = 'amount' AND test = 'mean_sigma')
SELECT round((abs(cur.m - mu) / sigma)::numeric, 4) AS z_from_history,
	   abs(abs(cur.m - mu) / sigma - t.statistic) < 1e-6 AS z_equal,
	   abs(abs(cur.m - mu) / sd - t.effect) < 1e-6 AS effect_equal
  FROM b, pooled, cur, t;

-- A slow drift: score's mean moves by 0.9 sigma_b a day (sigma_b = 1 /
-- sqrt(2000), the spread of its daily means) from day 30 on, against a
-- pinned reference of the first 30 days.  A trailing baseline would follow
-- it; a pinned one is how a slow drift is caught.
SELECT pg_temp.make_group('drift_slow');
SELECT command FROM featstore.exec($$
	ALTER FEATURE GROUP drift_slow SET MONITOR BASELINE FROM '2026-01-01' TO '2026-01-31';
$$);
SELECT count(pg_temp.fill('drift_slow', 2, d, 2000,
						  CASE WHEN d >= 30 THEN 'slow:' || (0.9 * (d - 29) / sqrt(2000)) END))
  FROM generate_series(0, 59) d;
SELECT pg_temp.run_days('drift_slow', 0, 59) > 0 AS some_drift;
-- drift day 1 (2026-01-31) raises nothing; the first day with drift and
-- its tests; PSI by day from 18 days of drift on: it crosses 0.2 (the
-- first day it does is the one to read) and stays above, but for noise
SELECT count(*) FILTER (WHERE verdict = 'drift') AS drift_on_day_1
  FROM featstore.drift WHERE group_name = 'drift_slow' AND period_start = '2026-01-31';
SELECT period_start::date - date '2026-01-30' AS first_drift_day, feature_name,
	   string_agg(test, ', ' ORDER BY test) AS tests
  FROM featstore.drift
 WHERE group_name = 'drift_slow' AND verdict = 'drift'
   AND period_start = (SELECT min(period_start) FROM featstore.drift
						WHERE group_name = 'drift_slow' AND verdict = 'drift')
 GROUP BY 1, 2;
SELECT period_start::date - date '2026-01-30' AS drift_day, round(statistic::numeric, 4) AS psi, verdict
  FROM featstore.drift
 WHERE group_name = 'drift_slow' AND feature_name = 'score' AND test = 'psi'
   AND period_start >= '2026-02-17'
 ORDER BY 1;
-- only score drifts, and its one alert stays open (the drift goes on)
SELECT feature_name, count(*) AS alerts, bool_or(resolved_at IS NULL) AS open
  FROM featstore.alerts WHERE kind = 'drift' AND group_name = 'drift_slow' GROUP BY 1;

-- ---------------------------------------------------------------- part 3
-- Stable histories: three seeds, 67 days, the same 8 features; days 7-66
-- (60 periods) are evaluated against 7 to 30 baseline periods.  No drift
-- verdict and no alert.
SELECT pg_temp.make_group('drift_stable_' || s) FROM generate_series(11, 13) s;
SELECT count(pg_temp.fill(('drift_stable_' || s)::regclass, s, d, 2000))
  FROM generate_series(11, 13) s, generate_series(0, 66) d;
SELECT s, pg_temp.run_days('drift_stable_' || s, 0, 66) AS drifting_features FROM generate_series(11, 13) s;
SELECT group_name, count(DISTINCT period_start) AS periods, count(DISTINCT feature_name) AS features,
	   count(*) FILTER (WHERE verdict = 'drift') AS drift
  FROM featstore.drift WHERE group_name LIKE 'drift_stable_%' AND test = 'null_rate_sigma' AND verdict <> 'no baseline'
 GROUP BY 1 ORDER BY 1;
SELECT count(*) AS drift_verdicts FROM featstore.drift WHERE group_name LIKE 'drift_stable_%' AND verdict = 'drift';
SELECT count(*) AS alerts FROM featstore.alerts WHERE group_name LIKE 'drift_stable_%';
-- What the minimum effects prevent: stable periods beyond 3 sigma
SELECT test, count(*) AS beyond_3_sigma, max(round(effect::numeric, 4)) AS largest_effect, min(min_effect) AS min_effect
  FROM featstore.drift
 WHERE group_name LIKE 'drift_stable_%' AND test IN ('mean_sigma', 'null_rate_sigma') AND statistic > 3
 GROUP BY 1 ORDER BY 1;

-- Small periods: 100, 300 and 1000 rows a day, three seeds each, the same
-- 8 features.  Here a threshold alone is crossed by chance (beyond: the
-- tests whose statistic crossed it); a verdict of drift also needs the
-- difference's sampling p-value below significance, 1e-4 per test.
SELECT pg_temp.make_group(format('drift_small_%s_%s', n, s))
  FROM unnest(ARRAY[100, 300, 1000]) n, generate_series(21, 23) s;
SELECT count(pg_temp.fill(format('drift_small_%s_%s', n, s)::regclass, s, d, n))
  FROM unnest(ARRAY[100, 300, 1000]) n, generate_series(21, 23) s, generate_series(0, 66) d;
SELECT sum(pg_temp.run_days(format('drift_small_%s_%s', n, s), 0, 66)) AS drifting_features
  FROM unnest(ARRAY[100, 300, 1000]) n, generate_series(21, 23) s;
SELECT split_part(group_name, '_', 3)::int AS rows_a_day, test,
	   count(*) FILTER (WHERE verdict <> 'no baseline') AS evaluated,
	   count(*) FILTER (WHERE CASE test WHEN 'ks_pvalue' THEN statistic < 0.05 ELSE statistic > threshold END
							  AND verdict <> 'no baseline') AS beyond,
	   count(*) FILTER (WHERE verdict = 'drift') AS drift
  FROM featstore.drift
 WHERE group_name LIKE 'drift_small_%' AND test IN ('mean_sigma', 'null_rate_sigma', 'psi', 'js', 'ks_pvalue')
 GROUP BY 1, 2 ORDER BY 1, 2;
-- The tests with a p-value, how many drift verdicts 1e-4 per test
-- predicts, and the verdicts there are (each p-value below 1e-4)
SELECT count(*) AS tests_with_p_value, round(count(*) * 1e-4, 2) AS expected_by_chance,
	   count(*) FILTER (WHERE verdict = 'drift') AS drift_verdicts
  FROM featstore.drift WHERE group_name LIKE 'drift_small_%' AND p_value IS NOT NULL AND verdict <> 'no baseline';
SELECT group_name, period_start::date, feature_name, test, round(statistic::numeric, 4) AS statistic,
	   threshold, p_value < significance AS significant, round(effect::numeric, 4) AS effect
  FROM featstore.drift WHERE group_name LIKE 'drift_small_%' AND verdict = 'drift' ORDER BY 1, 2, 3, 4;

-- The p-values by hand, on one day of drift_small_100_21 (2026-02-20,
-- against the 30 days before it).  Normal tail: 2 (1 - Phi(z)) by
-- Simpson's rule over [z, z + 12]; chi-square tail: 1 - P(k / 2, x / 2),
-- P by its series sum_j e^-h h^(a + j) / Gamma(a + j + 1), Gamma of a
-- half-integer or integer as a product.
CREATE FUNCTION pg_temp.normal_p(z float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	SELECT 2 * (12.0 / 6000) / 3 * sum(CASE WHEN i = 0 OR i = 6000 THEN 1 WHEN i % 2 = 1 THEN 4 ELSE 2 END
									   * exp(-((z + i * 12.0 / 6000) ^ 2) / 2) / sqrt(2 * pi()))
	  FROM generate_series(0, 6000) i
$$;
CREATE FUNCTION pg_temp.ln_gamma(x float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	-- x an integer or a half-integer above 0
	SELECT coalesce(sum(ln(x - j)), 0) + CASE WHEN x - floor(x) = 0.5 THEN ln(sqrt(pi())) ELSE 0 END
	  FROM generate_series(1, ceil(x)::int - 1) j
$$;
CREATE FUNCTION pg_temp.chisq_p(x float8, k int) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	SELECT 1 - sum(exp(greatest(-x / 2 + (k / 2.0 + j) * ln(x / 2) - pg_temp.ln_gamma(k / 2.0 + j + 1), -700)))
	  FROM generate_series(0, 400) j
$$;
CREATE FUNCTION pg_temp.binom_p(k int, n int, s float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	WITH t AS (SELECT j, exp(greatest(pg_temp.ln_gamma(n + 1) - pg_temp.ln_gamma(j + 1) - pg_temp.ln_gamma(n - j + 1)
									  + j * ln(s) + (n - j) * ln(1 - s), -700)) AS p
				 FROM generate_series(0, n) j)
	SELECT least(1, 2 * least((SELECT sum(p) FROM t WHERE j <= k), (SELECT sum(p) FROM t WHERE j >= k)))
$$;
CREATE TEMP TABLE small_day AS
SELECT * FROM featstore.feature_stats
 WHERE group_name = 'drift_small_100_21' AND period_start >= '2026-01-21' AND period_start <= '2026-02-20';
CREATE TEMP TABLE small_tests AS
SELECT feature_name, test, p_value FROM featstore.drift_tests('drift_small_100_21', '2026-02-20', '2026-02-21');
-- mean of score: |m - mu_b| / (s_b sqrt(1/n + 1/m)), s_b pooled
WITH b AS (SELECT row_count - null_count AS n, mean, stddev FROM small_day
			WHERE feature_name = 'score' AND period_start < '2026-02-20'),
c AS (SELECT row_count - null_count AS n, mean FROM small_day WHERE feature_name = 'score' AND period_start = '2026-02-20'),
pooled AS (SELECT sqrt((sum((n - 1) * stddev ^ 2) + sum(n * (mean - (SELECT sum(n * mean) / sum(n) FROM b)) ^ 2))
					   / (sum(n) - 1)) AS sd, avg(mean) AS mu, sum(n) AS m FROM b),
z AS (SELECT abs(c.mean - mu) / (sd * sqrt(1.0 / c.n + 1.0 / m)) AS z FROM c, pooled)
SELECT round(z::numeric, 6) AS z, round(pg_temp.normal_p(z)::numeric, 6) AS p_by_hand,
	   abs(pg_temp.normal_p(z) - (SELECT p_value FROM small_tests WHERE feature_name = 'score' AND test = 'mean_sigma')) < 1e-9 AS equal
  FROM z;
-- null rate of amount: the period's NULLs among all, binomial with share
-- r / (r + r_b)
WITH b AS (SELECT sum(null_count)::int AS k, sum(row_count) AS r FROM small_day
			WHERE feature_name = 'amount' AND period_start < '2026-02-20'),
c AS (SELECT null_count::int AS k, row_count AS r FROM small_day WHERE feature_name = 'amount' AND period_start = '2026-02-20')
SELECT c.k AS nulls, b.k AS baseline_nulls, round(pg_temp.binom_p(c.k, c.k + b.k, c.r::float8 / (c.r + b.r))::numeric, 6) AS p_by_hand,
	   abs(pg_temp.binom_p(c.k, c.k + b.k, c.r::float8 / (c.r + b.r))
		   - (SELECT p_value FROM small_tests WHERE feature_name = 'amount' AND test = 'null_rate_sigma')) < 1e-9 AS equal
  FROM b, c;
-- JS of segment: Pearson's chi-square of the 2 x k table of counts
WITH cnt AS (SELECT v, sum(n) FILTER (WHERE period_start = '2026-02-20') AS a,
					   sum(n) FILTER (WHERE period_start < '2026-02-20') AS b
			   FROM small_day, unnest(top_values, top_counts) AS u(v, n)
			  WHERE feature_name = 'segment' GROUP BY v),
tot AS (SELECT sum(coalesce(a, 0)) AS na, sum(b) AS nb, count(*) AS k FROM cnt),
x AS (SELECT sum((coalesce(a, 0) - (coalesce(a, 0) + b) * na / (na + nb)) ^ 2 / ((coalesce(a, 0) + b) * na / (na + nb))
				 + (b - (coalesce(a, 0) + b) * nb / (na + nb)) ^ 2 / ((coalesce(a, 0) + b) * nb / (na + nb)))::float8 AS x,
			 min(k)::int - 1 AS df
		FROM cnt, tot)
SELECT round(x::numeric, 6) AS chi_square, df, round(pg_temp.chisq_p(x, df)::numeric, 6) AS p_by_hand,
	   abs(pg_temp.chisq_p(x, df) - (SELECT p_value FROM small_tests WHERE feature_name = 'segment' AND test = 'js')) < 1e-9 AS equal
  FROM x;
-- PSI of score on drift_small_100_23's 2026-02-21: beyond 0.2, and not
-- drift.  The chi-square of the 10 bins between the baseline's deciles
-- (by bisection, as in part 1), the counts the shares times n and m.
CREATE FUNCTION pg_temp.cdf_of(p float8[], x float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN x <= p[1] THEN 0 WHEN x >= p[101] THEN 1
				ELSE (SELECT (j - 1 + (x - p[j]) / (p[j + 1] - p[j])) / 100
						FROM generate_series(1, 100) j WHERE p[j] <= x AND x < p[j + 1]) END
$$;
CREATE TEMP TABLE psi_base AS
SELECT (row_count - null_count)::float8 AS n, percentiles AS p FROM featstore.feature_stats
 WHERE group_name = 'drift_small_100_23' AND feature_name = 'score'
   AND period_start >= '2026-01-22' AND period_start < '2026-02-21';
CREATE FUNCTION pg_temp.base_cdf(x float8) RETURNS float8 LANGUAGE sql STABLE AS $$
	SELECT sum(n * pg_temp.cdf_of(p, x)) / sum(n) FROM psi_base
$$;
WITH RECURSIVE bis(k, lo, hi, it) AS (
	SELECT k, -100::float8, 100::float8, 0 FROM generate_series(1, 9) k
	UNION ALL
	SELECT k, CASE WHEN pg_temp.base_cdf((lo + hi) / 2) >= k / 10.0 THEN lo ELSE (lo + hi) / 2 END,
			  CASE WHEN pg_temp.base_cdf((lo + hi) / 2) >= k / 10.0 THEN (lo + hi) / 2 ELSE hi END, it + 1
	  FROM bis WHERE it < 60),
edges AS (SELECT 0 AS k, '-infinity'::float8 AS e UNION ALL SELECT k, hi FROM bis WHERE it = 60
		  UNION ALL SELECT 10, 'infinity'),
cur AS (SELECT (row_count - null_count)::float8 AS n, percentiles AS p FROM featstore.feature_stats
		 WHERE group_name = 'drift_small_100_23' AND feature_name = 'score' AND period_start = '2026-02-21'),
bins AS (SELECT (pg_temp.cdf_of(cur.p, e) - pg_temp.cdf_of(cur.p, lag(e) OVER w)) * cur.n AS a,
				(pg_temp.base_cdf(e) - pg_temp.base_cdf(lag(e) OVER w)) * (SELECT sum(n) FROM psi_base) AS b, k
		   FROM edges, cur WINDOW w AS (ORDER BY k)),
x AS (SELECT sum((a - (a + b) * na / (na + nb)) ^ 2 / ((a + b) * na / (na + nb))
				 + (b - (a + b) * nb / (na + nb)) ^ 2 / ((a + b) * nb / (na + nb))) AS x
		FROM bins, (SELECT sum(a) AS na, sum(b) AS nb FROM bins WHERE k > 0) t WHERE k > 0),
t AS (SELECT statistic, p_value, verdict FROM featstore.drift_tests('drift_small_100_23', '2026-02-21', '2026-02-22')
	   WHERE feature_name = 'score' AND test = 'psi')
SELECT round(t.statistic::numeric, 4) AS psi, t.verdict, round(x::numeric, 4) AS chi_square,
	   round(pg_temp.chisq_p(x, 9)::numeric, 6) AS p_by_hand, abs(pg_temp.chisq_p(x, 9) - t.p_value) < 1e-9 AS equal
  FROM x, t;

-- ---------------------------------------------------------------- part 4
-- Errors
SELECT * FROM featstore.drift_tests('no_such_group');
SELECT * FROM featstore.drift_tests(NULL);
SELECT * FROM featstore.drift_tests('drift_math', '2026-01-11', '2026-01-11');
SELECT featstore.evaluate_drift('no_such_group', '2026-01-11', '2026-01-12');
SELECT featstore.evaluate_drift('drift_math', '2026-01-12', '2026-01-11');
-- a period without statistics evaluates nothing
SELECT featstore.evaluate_drift('drift_math', '2030-01-01', '2030-01-02');

-- Who sees what.  A role without featstore_reader may not call drift_tests;
-- a reader sees the tests of the features whose column it may SELECT; an
-- editor's evaluate_drift changes the alerts of those features only.
CREATE ROLE drift_nobody;
CREATE ROLE drift_reader IN ROLE featstore_reader;
CREATE ROLE drift_editor IN ROLE featstore_editor;
GRANT SELECT (user_id, event_timestamp, created_at, amount) ON drift_incidents TO drift_reader, drift_editor;
SET ROLE drift_nobody;
SELECT count(*) FROM featstore.drift_tests('drift_incidents');
SELECT count(*) FROM featstore.drift;
RESET ROLE;
SET ROLE drift_reader;
SELECT group_name, feature_name, count(*) FROM featstore.drift GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) FROM featstore.drift_tests('drift_math');
SELECT featstore.evaluate_drift('drift_incidents', '2026-02-05', '2026-02-06');
RESET ROLE;
-- The superuser re-evaluates segment's incident day: its alert reopens.
-- The editor evaluates the next (clean) day: segment's alert stays open,
-- since the editor cannot see segment.
SELECT featstore.evaluate_drift('drift_incidents', '2026-02-11', '2026-02-12') AS segment_day;
SET ROLE drift_editor;
SELECT featstore.evaluate_drift('drift_incidents', '2026-02-12', '2026-02-13') AS next_day_as_editor;
SELECT feature_name FROM featstore.alerts WHERE kind = 'drift' AND resolved_at IS NULL;
-- the editor re-evaluates amount's incident day: amount's alert reopens
SELECT featstore.evaluate_drift('drift_incidents', '2026-02-05', '2026-02-06') AS amount_day;
SELECT feature_name, (details->>'period_start')::date AS period FROM featstore.alerts
 WHERE kind = 'drift' AND resolved_at IS NULL ORDER BY 1;
RESET ROLE;
SELECT group_name, feature_name, (details->>'period_start')::date AS period FROM featstore.alerts
 WHERE kind = 'drift' AND resolved_at IS NULL ORDER BY 1, 2;
-- an earlier clean period never overwrites or resolves an alert about a
-- later one (a backfill evaluates out of order)
SELECT featstore.evaluate_drift('drift_incidents', '2026-02-04', '2026-02-05') AS earlier_clean_day;
SELECT feature_name, (details->>'period_start')::date AS period FROM featstore.alerts
 WHERE kind = 'drift' AND group_name = 'drift_incidents' AND resolved_at IS NULL ORDER BY 1;
-- a later clean period resolves both
SELECT featstore.evaluate_drift('drift_incidents', '2026-02-12', '2026-02-13') AS later_clean_day;
SELECT count(*) AS open FROM featstore.alerts
 WHERE kind = 'drift' AND group_name = 'drift_incidents' AND resolved_at IS NULL;
-- nobody writes drift results or statistics by hand
SET ROLE drift_editor;
INSERT INTO featstore.feature_stats (group_name, feature_name, period_start, period_end, kind, row_count, null_count)
VALUES ('drift_incidents', 'amount', '2030-01-01', '2030-01-02', 'numeric', 1, 0);
RESET ROLE;

DROP ROLE drift_nobody;
REVOKE ALL ON drift_incidents FROM drift_reader, drift_editor;
DROP ROLE drift_reader;
DROP ROLE drift_editor;

-- the groups go, and their statistics and alerts with them (other tests
-- list every group)
SELECT command, object_name FROM featstore.exec($$
	DROP FEATURE GROUP drift_math;
	DROP FEATURE GROUP drift_incidents;
	DROP FEATURE GROUP drift_slow;
	DROP FEATURE GROUP drift_stable_11;
	DROP FEATURE GROUP drift_stable_12;
	DROP FEATURE GROUP drift_stable_13;
	DROP FEATURE GROUP drift_small_100_21;
	DROP FEATURE GROUP drift_small_100_22;
	DROP FEATURE GROUP drift_small_100_23;
	DROP FEATURE GROUP drift_small_300_21;
	DROP FEATURE GROUP drift_small_300_22;
	DROP FEATURE GROUP drift_small_300_23;
	DROP FEATURE GROUP drift_small_1000_21;
	DROP FEATURE GROUP drift_small_1000_22;
	DROP FEATURE GROUP drift_small_1000_23;
	DROP ENTITY drift_user;
$$);
SELECT (SELECT count(*) FROM featstore.feature_stats WHERE group_name LIKE 'drift\_%') AS stats,
	   (SELECT count(*) FROM featstore.alerts WHERE group_name LIKE 'drift\_%') AS alerts,
	   (SELECT count(*) FROM pg_class WHERE relname LIKE 'drift\_%' AND relkind = 'r') AS tables;
