-- monitoring, metrics (issue 11, part ops): featstore.monitor_metrics and
-- featstore.monitor_drift_verdicts(), what the Prometheus exporter reads
-- (examples/prometheus/featstore-queries.yaml; the real exporter is TAP
-- 077).  Counts and ages only; every group's for pg_monitor, else only the
-- groups whose monitoring rows the caller may see; a hostile reader's leaky
-- function sees nothing before that filter.
\set SHOW_CONTEXT never
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY mom_user (mom_user_id bigint);
	CREATE FEATURE GROUP mom_open ENTITY mom_user FEATURES (v double precision);
	CREATE FEATURE GROUP mom_secret ENTITY mom_user FEATURES (v double precision);
$$);
-- eight days of history, each a little different; the last day's mean shifts
INSERT INTO mom_secret (mom_user_id, event_timestamp, v)
SELECT g, timestamptz '2026-01-01 00:00+00' + make_interval(days => d, secs => g),
	   (g % 20) + (d % 3) * 0.25 + CASE WHEN d = 7 THEN 50 ELSE 0 END
  FROM generate_series(0, 7) d, generate_series(1, 100) g;
SELECT count(*) AS runs
  FROM generate_series(0, 7) d,
	   featstore.compute_stats('mom_secret', timestamptz '2026-01-01 00:00+00' + make_interval(days => d),
							   timestamptz '2026-01-02 00:00+00' + make_interval(days => d)) r;
-- an open alert of each group, written as the monitor would (the extension owner)
INSERT INTO featstore.alerts (kind, group_name, details) VALUES
	('stale_data', 'mom_secret', '{"note": "a detail the metrics never show"}'),
	('stale_data', 'mom_open', '{}');

-- as the superuser: every count
SELECT group_name, metric, label, value FROM featstore.monitor_metrics
 WHERE group_name LIKE 'mom\_%' AND (metric <> 'open_alerts' OR value > 0)
 ORDER BY 1, 2, 3;
-- the drift counts equal featstore.drift's for the latest period
SELECT verdict, tests FROM featstore.monitor_drift_verdicts() WHERE group_name = 'mom_secret' ORDER BY verdict;
SELECT verdict, count(*) FROM featstore.drift
 WHERE group_name = 'mom_secret' AND period_start = '2026-01-08 00:00+00' GROUP BY verdict ORDER BY verdict;

CREATE ROLE mom_nobody;
CREATE ROLE mom_reader IN ROLE featstore_reader;
CREATE ROLE mom_exporter IN ROLE featstore_reader, pg_monitor;
GRANT SELECT ON mom_open TO mom_reader;

-- no featstore role: nothing
SET ROLE mom_nobody;
SELECT count(*) FROM featstore.monitor_metrics;
SELECT count(*) FROM featstore.monitor_drift_verdicts();
RESET ROLE;
-- a reader: the counts of the group it may read, none of the other
SET ROLE mom_reader;
SELECT DISTINCT group_name FROM featstore.monitor_metrics WHERE group_name LIKE 'mom\_%';
SELECT count(*) FROM featstore.monitor_drift_verdicts() WHERE group_name = 'mom_secret';
-- a leaky function of its own, as cheap as can be, sees only the rows the
-- view's filter let through: none of mom_secret
CREATE FUNCTION pg_temp.mom_leak(g text, m text, v double precision) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
	IF g LIKE 'mom\_%' AND v > 0 THEN
		RAISE NOTICE 'seen % % %', g, m, v;
	END IF;
	RETURN g = 'mom_secret';
END
$$;
SELECT count(*) FROM featstore.monitor_metrics WHERE pg_temp.mom_leak(group_name, metric, value);
DROP FUNCTION pg_temp.mom_leak(text, text, double precision);
-- nor do the tables themselves show it the other group's alert
SELECT group_name, kind FROM featstore.alerts WHERE group_name LIKE 'mom\_%';
RESET ROLE;
-- pg_monitor: every group's counts, still no row of the tables it may not read
SET ROLE mom_exporter;
SELECT group_name, metric, label, value FROM featstore.monitor_metrics
 WHERE group_name LIKE 'mom\_%' AND metric IN ('open_alerts', 'drift_tests') AND value > 0
 ORDER BY 1, 2, 3;
SELECT count(*) FROM featstore.alerts WHERE group_name LIKE 'mom\_%';
SELECT count(*) FROM featstore.drift WHERE group_name LIKE 'mom\_%';
-- and it may not write them
DELETE FROM featstore.alerts;
RESET ROLE;

DELETE FROM featstore.alerts WHERE group_name LIKE 'mom\_%';
SELECT command FROM featstore.exec($$
	DROP FEATURE GROUP mom_open; DROP FEATURE GROUP mom_secret; DROP ENTITY mom_user;
$$);
SELECT count(*) FROM featstore.monitor_metrics WHERE group_name LIKE 'mom\_%';
DROP ROLE mom_nobody;
DROP ROLE mom_reader;
DROP ROLE mom_exporter;
