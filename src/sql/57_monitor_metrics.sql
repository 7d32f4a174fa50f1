-- featstore monitoring, metrics (issue 11, part ops): the numbers the
-- Prometheus exporter's queries file (examples/prometheus/) reads, one row
-- per group, metric and label.  docs/monitoring.md, "Metrics".
--
-- They are counts and ages, never a value, a key or a detail: the kind of
-- status the worker's counters already show every role.  A role with
-- pg_monitor (the exporter's login role: featstore_reader and pg_monitor)
-- sees them for every group; any other role only for the groups whose rows
-- it may see (featstore.group_visible).  The view is owned by the extension
-- owner, who owns the monitoring tables, so their row-level security does
-- not hide rows from the counts; current_user inside it is still the
-- caller, and security_barrier keeps the caller's own conditions from
-- running before the filter.

-- The drift tests' verdicts are computed from statistics that row-level
-- security hides from the exporter: this function lists the groups the
-- caller may have counts of as the caller, then counts as the extension
-- owner (src/monitor/monitor_metrics.c).
CREATE FUNCTION featstore.monitor_drift_verdicts()
RETURNS TABLE (group_name text, period_start timestamptz, period_end timestamptz,
			   verdict text, tests bigint)
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'monitor_drift_verdicts';
COMMENT ON FUNCTION featstore.monitor_drift_verdicts() IS 'Per group with stored statistics and verdict (ok, drift, no baseline): how many drift tests of the group''s latest stored period gave it; every group''s for roles with pg_monitor, else the groups whose monitoring rows the caller may see';
REVOKE ALL ON FUNCTION featstore.monitor_drift_verdicts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.monitor_drift_verdicts() TO featstore_reader, pg_monitor;

CREATE VIEW featstore.monitor_metrics WITH (security_barrier) AS
SELECT m.group_name, m.metric, m.label, m.value
  FROM (SELECT g.name AS group_name, 'open_alerts'::text AS metric, k.kind AS label,
			   (SELECT count(*) FROM featstore.alerts a
				 WHERE a.group_name = g.name AND a.kind = k.kind
				   AND a.resolved_at IS NULL)::double precision AS value
		  FROM featstore.feature_groups g
		 CROSS JOIN (VALUES ('drift'), ('stale_data'), ('materialization_lag'), ('worker_failing'),
							('transformation_stale'), ('skew'), ('stats_failed')) k(kind)
		UNION ALL
		SELECT c.group_name, v.metric, '', v.value
		  FROM (SELECT DISTINCT ON (s.group_name) s.*
				  FROM featstore.skew_checks s
				 ORDER BY s.group_name, s.id DESC) c
		 CROSS JOIN LATERAL (VALUES
				('skew_last_check_age_seconds',
				 extract(epoch FROM pg_catalog.now() - c.checked_at)::double precision),
				('skew_last_check_done', CASE WHEN c.done THEN 1 ELSE 0 END::double precision)) v(metric, value)
		UNION ALL
		SELECT c.group_name, v.metric, '', v.value
		  FROM (SELECT DISTINCT ON (s.group_name) s.*
				  FROM featstore.skew_checks s
				 WHERE s.done
				 ORDER BY s.group_name, s.id DESC) c
		 CROSS JOIN LATERAL (VALUES
				('skew_differences', c.differences::double precision),
				('skew_sample_size', c.sample_size::double precision)) v(metric, value)
		UNION ALL
		SELECT f.group_name, v.metric, '', v.value
		  FROM featstore.freshness_checks f
		  LEFT JOIN featstore.monitor_settings s ON s.group_name = f.group_name
		 CROSS JOIN LATERAL (VALUES
				('freshness_age_seconds', extract(epoch FROM pg_catalog.now() - f.newest_event)::double precision),
				('freshness_sla_seconds', extract(epoch FROM s.freshness)::double precision),
				('freshness_checked_age_seconds',
				 extract(epoch FROM pg_catalog.now() - f.checked_at)::double precision)) v(metric, value)
		 WHERE v.value IS NOT NULL
		UNION ALL
		SELECT d.group_name, v.metric, v.label, v.value
		  FROM featstore.monitor_drift_verdicts() d
		 CROSS JOIN LATERAL (VALUES
				('drift_tests', d.verdict, d.tests::double precision),
				('drift_period_end', '', extract(epoch FROM d.period_end)::double precision)) v(metric, label, value)
		 WHERE v.metric = 'drift_tests' OR d.verdict = 'ok'
	   ) m
 WHERE pg_catalog.pg_has_role('pg_monitor', 'USAGE') OR featstore.group_visible(m.group_name);
COMMENT ON VIEW featstore.monitor_metrics IS 'Monitoring counts and ages per feature group, for metrics exporters: every group''s for roles with pg_monitor, else the groups whose monitoring rows the caller may see; no values, keys or details';
COMMENT ON COLUMN featstore.monitor_metrics.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.monitor_metrics.metric IS 'open_alerts (by kind), skew_differences and skew_sample_size (the last check done), skew_last_check_age_seconds and skew_last_check_done (the last check, done or not), drift_tests (by verdict: the drift tests of the latest stored period), drift_period_end (the end of that period, as a Unix time), freshness_age_seconds (now() - the newest event the last freshness check found), freshness_sla_seconds and freshness_checked_age_seconds (groups with a freshness SLA)';
COMMENT ON COLUMN featstore.monitor_metrics.label IS 'The alert kind for open_alerts, the verdict (ok, drift, no baseline) for drift_tests; empty otherwise';
COMMENT ON COLUMN featstore.monitor_metrics.value IS 'The number';
REVOKE ALL ON featstore.monitor_metrics FROM PUBLIC;
GRANT SELECT ON featstore.monitor_metrics TO featstore_reader, pg_monitor;
