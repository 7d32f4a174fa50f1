-- statistics per feature and period (issue 11, part stats):
-- featstore.compute_stats() over a period and at a spine, every statistic
-- checked against SQL's own aggregates on randomized data, the errors, who
-- may compute and who may see them.  The data lies in 2020, older than the
-- retention, so that the monitor's schedule never computes these periods
-- while the test runs.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT featstore.exec($$CREATE ENTITY ms_user (user_id bigint)$$);
DO LANGUAGE featstore $$
CREATE FEATURE GROUP ms_g ENTITY ms_user FEATURES (
    x double precision, n integer, big bigint, small smallint, r real, m numeric(10,2),
    d date, ts timestamp, tz timestamptz, iv interval, one integer, allnull double precision,
    b boolean, s text, c text, j jsonb, old_f integer)
$$;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP ms_g DEPRECATE FEATURE old_f $$;
SELECT setseed(0.11);
INSERT INTO ms_g (user_id, event_timestamp, x, n, big, small, r, m, d, ts, tz, iv, one, allnull, b, s, c, j, old_f)
SELECT i % 500,
       timestamptz '2020-03-01 00:00+00' + (i % 72) * interval '1 hour' + (i % 7) * interval '1 second',
       CASE WHEN random() < 0.1 THEN NULL WHEN random() < 0.2 THEN round(random() * 10) ELSE random() * 1000 - 300 END,
       CASE WHEN random() < 0.05 THEN NULL ELSE (random() * 50)::int END,
       (random() * 1e12)::bigint - 500000000000,
       (random() * 100)::smallint,
       (random() * 10)::real,
       round((random() * 99999)::numeric, 2),
       date '2020-01-01' + (random() * 60)::int,
       timestamp '2020-02-01' + random() * interval '30 days',
       timestamptz '2020-02-01 00:00+00' + random() * interval '30 days',
       random() * interval '48 hours',
       7,
       NULL,
       CASE WHEN random() < 0.1 THEN NULL ELSE random() < 0.3 END,
       CASE WHEN random() < 0.02 THEN NULL ELSE chr(65 + (random() * 25)::int) || chr(97 + (random() * 3)::int) END,
       'v' || (i % 30),
       jsonb_build_object('k', (random() * 3)::int),
       i
  FROM generate_series(1, 20000) AS i;

-- the period [2020-03-01, 2020-03-02): two thirds of the rows are outside
SELECT featstore.compute_stats('ms_g', '2020-03-01 00:00+00', '2020-03-02 00:00+00') AS run1 \gset
SELECT group_name, period_start, period_end, status, rows_read, error, trigger, run_by = current_user AS by_me,
       finished_at >= started_at AS timed
  FROM featstore.stats_runs WHERE id = :run1;
SELECT count(*) AS rows_in_period FROM ms_g WHERE event_timestamp >= '2020-03-01 00:00+00' AND event_timestamp < '2020-03-02 00:00+00';
-- one row per active feature (old_f is deprecated), with the run's id
SELECT feature_name, kind, scope, label, row_count, run_id = :run1 AS this_run
  FROM featstore.feature_stats WHERE group_name = 'ms_g' ORDER BY feature_name;

-- ms_check_numeric compares the stored statistics of a numeric feature
-- with SQL's aggregates over the same rows: raw is the column, val the
-- value as float8 (dates, timestamps and intervals as date_part('epoch'))
CREATE FUNCTION ms_check_numeric(grp text, feat name, raw text, val text, p_from timestamptz, p_to timestamptz,
                                 p_scope text DEFAULT 'period', p_label text DEFAULT '', src text DEFAULT NULL)
RETURNS TABLE (feature name, counts boolean, distinct_ok boolean, min_max boolean, mean_ok boolean,
               stddev_ok boolean, quantiles boolean, percentiles boolean, histogram boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
	s featstore.feature_stats;
	q record;
	rel text := coalesce(src, format('(SELECT * FROM %I WHERE event_timestamp >= %L AND event_timestamp < %L) AS t',
	                                 grp, p_from, p_to));
BEGIN
	SELECT * INTO STRICT s FROM featstore.feature_stats fs
	 WHERE fs.group_name = grp AND fs.feature_name = feat AND fs.scope = p_scope AND fs.label = p_label
	   AND (p_scope = 'spine' OR (fs.period_start = p_from AND fs.period_end = p_to));
	EXECUTE format($q$
		SELECT count(*) AS n, count(%1$s) AS nn, count(DISTINCT %1$s) AS nd, min(%2$s) AS mn, max(%2$s) AS mx,
		       avg(%2$s) AS mean, stddev_samp(%2$s) AS sd,
		       percentile_cont(ARRAY[0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]) WITHIN GROUP (ORDER BY %2$s) AS q7,
		       percentile_cont((SELECT array_agg(k / 100.0::float8 ORDER BY k) FROM generate_series(0, 100) k))
		           WITHIN GROUP (ORDER BY %2$s) AS p101
		  FROM %3$s$q$, raw, val, rel) INTO q;
	feature := feat;
	counts := s.row_count = q.n AND s.null_count = q.n - q.nn
	          AND s.null_rate IS NOT DISTINCT FROM (CASE WHEN q.n > 0 THEN (q.n - q.nn)::float8 / q.n END);
	distinct_ok := s.distinct_count = q.nd;
	min_max := s.min_value IS NOT DISTINCT FROM q.mn AND s.max_value IS NOT DISTINCT FROM q.mx;
	mean_ok := (s.mean IS NULL AND q.mean IS NULL) OR abs(s.mean - q.mean) <= 1e-9 * greatest(abs(q.mean), 1e-300);
	stddev_ok := (s.stddev IS NULL AND q.sd IS NULL) OR abs(s.stddev - q.sd) <= 1e-9 * greatest(abs(q.sd), 1e-300);
	quantiles := ARRAY[s.p01, s.p05, s.p25, s.p50, s.p75, s.p95, s.p99] IS NOT DISTINCT FROM
	             (CASE WHEN q.nn > 0 THEN q.q7 ELSE ARRAY[NULL, NULL, NULL, NULL, NULL, NULL, NULL]::float8[] END);
	percentiles := s.percentiles IS NOT DISTINCT FROM q.p101;
	IF q.nn = 0 THEN
		histogram := s.histogram_edges IS NULL AND s.histogram_counts IS NULL;
	ELSIF q.mn = q.mx THEN
		histogram := s.histogram_edges = array_fill(q.mn, ARRAY[21])
		             AND s.histogram_counts = array_fill(0::bigint, ARRAY[19]) || q.nn;
	ELSE
		EXECUTE format($q$
			SELECT array_agg(coalesce(h.c, 0) ORDER BY b) FROM generate_series(1, 20) b
			  LEFT JOIN (SELECT least(width_bucket(%1$s, %2$L::float8, %3$L::float8, 20), 20) AS bucket, count(*) AS c
			               FROM %4$s WHERE %1$s IS NOT NULL GROUP BY 1) h ON h.bucket = b$q$,
			val, q.mn, q.mx, rel) INTO q;
		histogram := s.histogram_counts = q.array_agg
		             AND s.histogram_edges = (SELECT array_agg(CASE WHEN i = 20 THEN s.max_value
		                                                           ELSE s.min_value + ((s.max_value - s.min_value) / 20) * i END ORDER BY i)
		                                       FROM generate_series(0, 20) i)
		             AND (SELECT sum(v) FROM unnest(s.histogram_counts) v) = s.row_count - s.null_count;
	END IF;
	RETURN NEXT;
END
$fn$;

-- ms_check_categorical: the top 20 values by count, ties by value in the
-- "C" collation, and the rest
CREATE FUNCTION ms_check_categorical(grp text, feat name, val text, p_from timestamptz, p_to timestamptz,
                                     p_scope text DEFAULT 'period', p_label text DEFAULT '', src text DEFAULT NULL)
RETURNS TABLE (feature name, counts boolean, distinct_ok boolean, top boolean, other boolean, no_moments boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
	s featstore.feature_stats;
	q record;
	t record;
	rel text := coalesce(src, format('(SELECT * FROM %I WHERE event_timestamp >= %L AND event_timestamp < %L) AS t',
	                                 grp, p_from, p_to));
BEGIN
	SELECT * INTO STRICT s FROM featstore.feature_stats fs
	 WHERE fs.group_name = grp AND fs.feature_name = feat AND fs.scope = p_scope AND fs.label = p_label
	   AND (p_scope = 'spine' OR (fs.period_start = p_from AND fs.period_end = p_to));
	EXECUTE format('SELECT count(*) AS n, count(%1$s) AS nn, count(DISTINCT %1$s) AS nd FROM %2$s', val, rel) INTO q;
	EXECUTE format($q$
		SELECT coalesce(array_agg(v ORDER BY c DESC, v COLLATE "C"), '{}') AS vals,
		       coalesce(array_agg(c ORDER BY c DESC, v COLLATE "C"), '{}') AS cnts, coalesce(sum(c), 0) AS total
		  FROM (SELECT v, c FROM (SELECT %1$s AS v, count(*) AS c FROM %2$s WHERE %1$s IS NOT NULL GROUP BY 1) y
		         ORDER BY c DESC, v COLLATE "C" LIMIT 20) x$q$, val, rel) INTO t;
	feature := feat;
	counts := s.row_count = q.n AND s.null_count = q.n - q.nn;
	distinct_ok := s.distinct_count = q.nd;
	top := s.top_values = t.vals AND s.top_counts = t.cnts;
	other := s.other_count = q.nn - t.total;
	no_moments := s.kind = 'categorical' AND s.min_value IS NULL AND s.mean IS NULL AND s.percentiles IS NULL
	              AND s.histogram_counts IS NULL;
	RETURN NEXT;
END
$fn$;

SELECT (ms_check_numeric('ms_g', f, raw, val, '2020-03-01 00:00+00', '2020-03-02 00:00+00')).*
  FROM (VALUES ('x', 'x', 'x'), ('n', 'n', 'n::float8'), ('big', 'big', 'big::float8'),
               ('small', 'small', 'small::float8'), ('r', 'r', 'r::float8'), ('m', 'm', 'm::float8'),
               ('d', 'd', 'date_part(''epoch'', d::timestamp)'), ('ts', 'ts', 'date_part(''epoch'', ts)'),
               ('tz', 'tz', 'date_part(''epoch'', tz)'), ('iv', 'iv', 'date_part(''epoch'', iv)'),
               ('one', 'one', 'one::float8'), ('allnull', 'allnull', 'allnull')) AS v(f, raw, val)
 ORDER BY 1;
SELECT (ms_check_categorical('ms_g', f, val, '2020-03-01 00:00+00', '2020-03-02 00:00+00')).*
  FROM (VALUES ('b', 'b::text'), ('s', 's'), ('c', 'c'), ('j', 'j::text')) AS v(f, val)
 ORDER BY 1;
-- what the checks compared, for a reader: a few values as stored
SELECT feature_name, kind, row_count, null_count, distinct_count, min_value, max_value,
       array_length(percentiles, 1) AS percentiles, array_length(histogram_edges, 1) AS edges,
       array_length(histogram_counts, 1) AS bins, top_values[1:3] AS top3, top_counts[1:3] AS top3_counts, other_count
  FROM featstore.feature_stats WHERE group_name = 'ms_g' AND feature_name IN ('one', 'allnull', 'b', 'c', 'd')
 ORDER BY feature_name;

-- a dates feature is in seconds: the minimum is a midnight's epoch
SELECT min_value = date_part('epoch', (SELECT min(d) FROM ms_g WHERE event_timestamp >= '2020-03-01 00:00+00'
                                        AND event_timestamp < '2020-03-02 00:00+00')::timestamp) AS date_in_seconds
  FROM featstore.feature_stats WHERE group_name = 'ms_g' AND feature_name = 'd';

-- computing the same period again replaces its rows (one per feature), in one transaction
SELECT featstore.compute_stats('ms_g', '2020-03-01 00:00+00', '2020-03-02 00:00+00') AS run2 \gset
SELECT count(*) AS rows_now, bool_and(run_id = :run2) AS all_from_run2
  FROM featstore.feature_stats WHERE group_name = 'ms_g';
-- an overlapping but different period is another period
SELECT featstore.compute_stats('ms_g', '2020-03-01 12:00+00', '2020-03-03 12:00+00') IS NOT NULL AS computed;
SELECT period_start, period_end, count(*) FROM featstore.feature_stats WHERE group_name = 'ms_g'
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT (ms_check_numeric('ms_g', 'x', 'x', 'x', '2020-03-01 12:00+00', '2020-03-03 12:00+00')).*;
SELECT (ms_check_categorical('ms_g', 's', 's', '2020-03-01 12:00+00', '2020-03-03 12:00+00')).*;

-- an empty period: every feature has row_count 0 and nothing else
SELECT featstore.compute_stats('ms_g', '2020-01-01 00:00+00', '2020-01-02 00:00+00') AS run_empty \gset
SELECT rows_read, status FROM featstore.stats_runs WHERE id = :run_empty;
SELECT feature_name, kind, row_count, null_count, null_rate, distinct_count, min_value, mean, stddev, p50,
       percentiles, histogram_counts, top_values, top_counts, other_count
  FROM featstore.feature_stats WHERE group_name = 'ms_g' AND period_start = '2020-01-01 00:00+00'
   AND feature_name IN ('x', 'b', 's') ORDER BY 1;
-- one row: stddev is NULL (stddev_samp of one value), everything else is that value
INSERT INTO ms_g (user_id, event_timestamp, x, s) VALUES (1, '2020-01-05 10:00+00', 2.5, 'only');
SELECT featstore.compute_stats('ms_g', '2020-01-05 00:00+00', '2020-01-06 00:00+00') IS NOT NULL AS computed;
SELECT feature_name, row_count, null_count, distinct_count, min_value, max_value, mean, stddev, p01, p99,
       percentiles[1] AS p0, percentiles[101] AS p100, histogram_counts[20] AS last_bin, top_values, top_counts
  FROM featstore.feature_stats WHERE group_name = 'ms_g' AND period_start = '2020-01-05 00:00+00'
   AND feature_name IN ('x', 's', 'n') ORDER BY 1;

-- NaN and infinity: the moments are float8's (NaN), the histogram is none
DO LANGUAGE featstore $$ CREATE FEATURE GROUP ms_nan ENTITY ms_user FEATURES (v double precision) $$;
INSERT INTO ms_nan (user_id, event_timestamp, v) VALUES (1, '2020-01-01 01:00+00', 1), (2, '2020-01-01 02:00+00', 'NaN'),
	(3, '2020-01-01 03:00+00', 'Infinity'), (4, '2020-01-01 04:00+00', '-Infinity'), (5, '2020-01-01 05:00+00', 'NaN');
SELECT featstore.compute_stats('ms_nan', '2020-01-01 00:00+00', '2020-01-02 00:00+00') IS NOT NULL AS computed;
SELECT row_count, distinct_count, min_value, max_value, mean, stddev, p50, percentiles[101] AS p100, histogram_counts
  FROM featstore.feature_stats WHERE group_name = 'ms_nan';
SELECT count(DISTINCT v), min(v), max(v), avg(v), stddev_samp(v), percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM ms_nan;

-- errors: unknown group, NULLs, empty, reversed and infinite periods
SELECT featstore.compute_stats('ms_nope', '2020-01-01', '2020-01-02');
SELECT featstore.compute_stats(NULL, '2020-01-01', '2020-01-02');
SELECT featstore.compute_stats('ms_g', NULL, '2020-01-02');
SELECT featstore.compute_stats('ms_g', '2020-01-02', '2020-01-02');
SELECT featstore.compute_stats('ms_g', '2020-01-03', '2020-01-02');
SELECT featstore.compute_stats('ms_g', '-infinity', '2020-01-02');
SELECT count(*) AS runs_of_errors FROM featstore.stats_runs WHERE group_name = 'ms_nope' OR period_start = '2020-01-03';

-- the spine form: the group's features at each spine row by the
-- point-in-time join, against an independent LATERAL join
CREATE TABLE ms_spine (user_id bigint, label_ts timestamptz, y integer);
INSERT INTO ms_spine SELECT (random() * 520)::int, timestamptz '2020-03-01 00:00+00' + random() * interval '4 days', 1
  FROM generate_series(1, 3000);
INSERT INTO ms_spine VALUES (1, '2019-01-01 00:00+00', 0);	-- before any row: every feature NULL
SELECT featstore.compute_stats('ms_g', 'ms_spine'::regclass, 'train 1', 'label_ts') AS run_spine \gset
SELECT period_start, period_end, status, rows_read, trigger FROM featstore.stats_runs WHERE id = :run_spine;
SELECT count(*) AS features, min(period_start) = (SELECT min(label_ts) FROM ms_spine) AS starts,
       max(period_end) = (SELECT max(label_ts) + interval '1 microsecond' FROM ms_spine) AS ends,
       bool_and(row_count = 3001) AS every_spine_row
  FROM featstore.feature_stats WHERE group_name = 'ms_g' AND scope = 'spine' AND label = 'train 1';
CREATE TEMP VIEW ms_oracle AS
	SELECT s.user_id, s.label_ts, h.*
	  FROM ms_spine s
	  LEFT JOIN LATERAL (SELECT g.x AS hx, g.d AS hd, g.s AS hs, g.b AS hb FROM ms_g g
	                      WHERE g.user_id = s.user_id AND g.event_timestamp <= s.label_ts
	                      ORDER BY g.event_timestamp DESC, g.created_at DESC LIMIT 1) h ON true;
SELECT (ms_check_numeric('ms_g', 'x', 'hx', 'hx', NULL, NULL, 'spine', 'train 1', 'ms_oracle')).*;
SELECT (ms_check_numeric('ms_g', 'd', 'hd', 'date_part(''epoch'', hd::timestamp)', NULL, NULL, 'spine', 'train 1', 'ms_oracle')).*;
SELECT (ms_check_categorical('ms_g', 's', 'hs', NULL, NULL, 'spine', 'train 1', 'ms_oracle')).*;
SELECT (ms_check_categorical('ms_g', 'b', 'hb::text', NULL, NULL, 'spine', 'train 1', 'ms_oracle')).*;
-- the same label again replaces it, whatever the spine's range
DELETE FROM ms_spine WHERE label_ts < '2020-01-01';
SELECT featstore.compute_stats('ms_g', 'ms_spine'::regclass, 'train 1', 'label_ts') IS NOT NULL AS computed;
SELECT count(*) AS features, bool_and(row_count = 3000) AS every_spine_row
  FROM featstore.feature_stats WHERE group_name = 'ms_g' AND scope = 'spine' AND label = 'train 1';
-- spine errors
SELECT featstore.compute_stats('ms_g', 'ms_spine'::regclass, '', 'label_ts');
SELECT featstore.compute_stats('ms_g', 'ms_spine'::regclass, 'train 2', 'nope');
SELECT featstore.compute_stats('ms_g', 'ms_spine'::regclass, NULL, 'label_ts');
CREATE TABLE ms_empty_spine (user_id bigint, label_ts timestamptz);
SELECT featstore.compute_stats('ms_g', 'ms_empty_spine'::regclass, 'train 3', 'label_ts');

-- a group FROM a source: the rows are its view's, events in the period
CREATE TABLE ms_events (user_id bigint, at timestamptz, amount numeric);
INSERT INTO ms_events SELECT i % 20, timestamptz '2020-03-01 00:00+00' + i * interval '1 minute', (i % 13) * 1.5
  FROM generate_series(1, 3000) i;
DO LANGUAGE featstore $$
CREATE FEATURE GROUP ms_src ENTITY ms_user FROM ms_events TIMESTAMP at
    FEATURES (total numeric AS sum(amount) OVER '1 hour', n bigint AS count(*) OVER '1 hour')
$$;
SELECT featstore.compute_stats('ms_src', '2020-03-01 00:00+00', '2020-03-02 00:00+00') IS NOT NULL AS computed;
SELECT (ms_check_numeric('ms_src', f, f, f || '::float8', '2020-03-01 00:00+00', '2020-03-02 00:00+00')).*
  FROM (VALUES ('total'), ('n')) AS v(f) ORDER BY 1;
SELECT feature_name, row_count FROM featstore.feature_stats WHERE group_name = 'ms_src' ORDER BY 1;

-- who may compute: featstore_editor, and only over data it may SELECT
CREATE ROLE ms_reader IN ROLE featstore_reader;
CREATE ROLE ms_editor IN ROLE featstore_editor;
SET ROLE ms_reader;
SELECT featstore.compute_stats('ms_g', '2020-03-01 00:00+00', '2020-03-02 00:00+00');
SELECT count(*) AS stats_seen_without_select FROM featstore.feature_stats;
SELECT count(*) AS runs_seen_without_select FROM featstore.stats_runs;
RESET ROLE;
SET ROLE ms_editor;
SELECT featstore.compute_stats('ms_g', '2020-03-01 00:00+00', '2020-03-02 00:00+00');
RESET ROLE;
-- some columns are not enough: statistics of every active feature are computed
GRANT SELECT (user_id, event_timestamp, x) ON ms_g TO ms_editor, ms_reader;
SET ROLE ms_editor;
SELECT featstore.compute_stats('ms_g', '2020-03-01 00:00+00', '2020-03-02 00:00+00');
RESET ROLE;
-- a reader sees the statistics of the columns it may SELECT, and only those
SET ROLE ms_reader;
SELECT DISTINCT feature_name FROM featstore.feature_stats WHERE group_name = 'ms_g' ORDER BY 1;
RESET ROLE;
-- row-level security: the caller would see only some rows, so no
-- statistics are computed for it, and none are shown to it
GRANT SELECT ON ms_g TO ms_editor, ms_reader;
ALTER TABLE ms_g ENABLE ROW LEVEL SECURITY;
CREATE POLICY ms_some ON ms_g FOR SELECT USING (user_id < 10);
SET ROLE ms_editor;
SELECT featstore.compute_stats('ms_g', '2020-03-01 00:00+00', '2020-03-02 00:00+00');
RESET ROLE;
SET ROLE ms_reader;
SELECT count(*) AS stats_seen_under_rls FROM featstore.feature_stats WHERE group_name = 'ms_g';
RESET ROLE;
DROP POLICY ms_some ON ms_g;
ALTER TABLE ms_g DISABLE ROW LEVEL SECURITY;
SET ROLE ms_editor;
SELECT featstore.compute_stats('ms_g', '2020-03-01 00:00+00', '2020-03-02 00:00+00') AS run_editor \gset
SELECT run_by, status FROM featstore.stats_runs WHERE id = :run_editor;
RESET ROLE;
SET ROLE ms_reader;
SELECT count(DISTINCT feature_name) AS features_seen_with_select FROM featstore.feature_stats WHERE group_name = 'ms_g';
RESET ROLE;

-- a hostile owner: whatever the owner's table runs when read (here a
-- policy it forces on itself) runs as the owner in a restricted section,
-- never as the caller, even a superuser
CREATE ROLE ms_owner IN ROLE featstore_editor;
CREATE SCHEMA ms_own AUTHORIZATION ms_owner;
SET ROLE ms_owner;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP ms_own.ms_h ENTITY ms_user FEATURES (v integer) $$;
CREATE TABLE ms_own.spy (who name, sec boolean, tried text);
CREATE FUNCTION ms_own.spy() RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
	BEGIN
		EXECUTE 'CREATE TEMP TABLE spy_tmp (a int)';
		INSERT INTO ms_own.spy VALUES (current_user, false, 'temp table created');
	EXCEPTION WHEN OTHERS THEN
		INSERT INTO ms_own.spy VALUES (current_user, true, sqlerrm);
	END;
	RETURN true;
END
$f$;
INSERT INTO ms_own.ms_h (user_id, event_timestamp, v) VALUES (1, '2020-01-01 01:00+00', 5), (2, '2020-01-01 02:00+00', 6);
ALTER TABLE ms_own.ms_h ENABLE ROW LEVEL SECURITY;
ALTER TABLE ms_own.ms_h FORCE ROW LEVEL SECURITY;
CREATE POLICY ms_spy ON ms_own.ms_h FOR SELECT USING (ms_own.spy());
RESET ROLE;
SELECT featstore.compute_stats('ms_h', '2020-01-01 00:00+00', '2020-01-02 00:00+00') IS NOT NULL AS computed;
SELECT DISTINCT who, sec, tried FROM ms_own.spy;
SELECT row_count, min_value, max_value FROM featstore.feature_stats WHERE group_name = 'ms_h';

-- the registry's check runs first: a table of another shape is not read,
-- and the run is recorded as failed (a WARNING; its record survives)
ALTER TABLE ms_own.ms_h DISABLE ROW LEVEL SECURITY;
SET session_replication_role = replica;	-- no event triggers: the read-time check still refuses
ALTER TABLE ms_own.ms_h ALTER COLUMN v TYPE bigint;
RESET session_replication_role;
\set VERBOSITY terse
SELECT featstore.compute_stats('ms_h', '2020-01-02 00:00+00', '2020-01-03 00:00+00') AS run_bad \gset
\set VERBOSITY default
SELECT status, sqlstate, error IS NOT NULL AS has_error, rows_read FROM featstore.stats_runs WHERE id = :run_bad;
SELECT count(*) AS stored_for_failed_period FROM featstore.feature_stats
 WHERE group_name = 'ms_h' AND period_start = '2020-01-02 00:00+00';
-- a failed run is a stats_failed alert about the group, naming the run
SELECT kind, feature_name, resolved_at IS NULL AS open, (details->>'run_id')::bigint = :run_bad AS names_run,
       details->>'period_start' AS period_start, details->>'period_end' AS period_end,
       details->>'sqlstate' AS sqlstate, details->>'error' AS error
  FROM featstore.alerts WHERE group_name = 'ms_h';
-- repaired, a later run that succeeds resolves it
SET session_replication_role = replica;
ALTER TABLE ms_own.ms_h ALTER COLUMN v TYPE integer;
RESET session_replication_role;
SELECT featstore.compute_stats('ms_h', '2020-01-02 00:00+00', '2020-01-03 00:00+00') IS NOT NULL AS computed;
SELECT kind, resolved_at IS NOT NULL AS resolved FROM featstore.alerts WHERE group_name = 'ms_h';

-- the statistics tables are browsable and written only by featstore
SET ROLE ms_editor;
INSERT INTO featstore.feature_stats (group_name, feature_name, period_start, period_end, kind, row_count, null_count)
VALUES ('ms_g', 'x', '2021-01-01', '2021-01-02', 'numeric', 1, 0);
DELETE FROM featstore.stats_runs;
RESET ROLE;

DROP VIEW ms_oracle;
DO LANGUAGE featstore $$ DROP FEATURE GROUP ms_h $$;
DROP SCHEMA ms_own CASCADE;
DO LANGUAGE featstore $$ DROP FEATURE GROUP ms_src $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP ms_nan $$;
DO LANGUAGE featstore $$ DROP FEATURE GROUP ms_g $$;
SELECT count(*) AS stats_left FROM featstore.feature_stats WHERE group_name LIKE 'ms\_%';
DROP TABLE ms_spine, ms_empty_spine, ms_events;
DROP FUNCTION ms_check_numeric, ms_check_categorical;
DROP ROLE ms_owner, ms_editor, ms_reader;
DO LANGUAGE featstore $$ DROP ENTITY ms_user $$;
