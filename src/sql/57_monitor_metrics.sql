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
	   ) m
 WHERE pg_catalog.pg_has_role('pg_monitor', 'USAGE') OR featstore.group_visible(m.group_name);
COMMENT ON VIEW featstore.monitor_metrics IS 'Monitoring counts and ages per feature group, for metrics exporters: every group''s for roles with pg_monitor, else the groups whose monitoring rows the caller may see; no values, keys or details';
COMMENT ON COLUMN featstore.monitor_metrics.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.monitor_metrics.metric IS 'open_alerts (by kind), skew_differences and skew_sample_size (the last check done), skew_last_check_age_seconds and skew_last_check_done (the last check, done or not)';
COMMENT ON COLUMN featstore.monitor_metrics.label IS 'The alert kind for open_alerts; empty otherwise';
COMMENT ON COLUMN featstore.monitor_metrics.value IS 'The number';
REVOKE ALL ON featstore.monitor_metrics FROM PUBLIC;
GRANT SELECT ON featstore.monitor_metrics TO featstore_reader, pg_monitor;
