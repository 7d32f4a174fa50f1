-- featstore monitoring, part core (issue 11): closing an alert by hand, the
-- monitoring settings as functions, the freshness check on demand and the
-- group_health view.  docs/monitoring.md.

CREATE FUNCTION featstore.resolve_alert(id bigint)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_resolve_alert' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.resolve_alert(bigint) IS 'Closes an open alert by hand (an acknowledged one); takes featstore_editor and an alert the caller can see; if the condition persists, the next check opens a new alert';
REVOKE EXECUTE ON FUNCTION featstore.resolve_alert(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.resolve_alert(bigint) TO featstore_reader;

-- The monitoring clauses of ALTER FEATURE GROUP as functions, like set_ttl:
-- featstore_editor and ownership of the group's table, recorded in
-- featstore.definition_history.
CREATE FUNCTION featstore.set_freshness(group_name text, freshness text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_freshness' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.set_freshness(text, text) IS 'ALTER FEATURE GROUP ... SET FRESHNESS as a function; NULL means no SLA (FRESHNESS NONE)';

CREATE FUNCTION featstore.set_monitor_every(group_name text, every text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_monitor_every' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.set_monitor_every(text, text) IS 'ALTER FEATURE GROUP ... SET MONITOR EVERY as a function; NULL means no scheduled statistics (MONITOR NONE)';

CREATE FUNCTION featstore.set_monitor_threshold(group_name text, feature_name name, setting text,
	value double precision)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_monitor_threshold' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.set_monitor_threshold(text, name, text, double precision) IS 'ALTER FEATURE GROUP ... [ALTER FEATURE f] SET MONITOR (setting = value) as a function; feature_name NULL sets the group''s threshold, value NULL resets it (RESET MONITOR)';

CREATE FUNCTION featstore.set_monitor_baseline(group_name text, periods integer DEFAULT NULL,
	reference_from timestamptz DEFAULT NULL, reference_to timestamptz DEFAULT NULL,
	spine_label text DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_monitor_baseline' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.set_monitor_baseline(text, integer, timestamptz, timestamptz, text) IS 'ALTER FEATURE GROUP ... SET MONITOR BASELINE as a function: periods (n PERIODS), or reference_from with reference_to (FROM ... TO ...), or spine_label (SPINE ''label'')';

REVOKE EXECUTE ON FUNCTION featstore.set_freshness(text, text), featstore.set_monitor_every(text, text),
	featstore.set_monitor_threshold(text, name, text, double precision),
	featstore.set_monitor_baseline(text, integer, timestamptz, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.set_freshness(text, text), featstore.set_monitor_every(text, text),
	featstore.set_monitor_threshold(text, name, text, double precision),
	featstore.set_monitor_baseline(text, integer, timestamptz, timestamptz, text) TO featstore_reader;

-- What the freshness check saw last, per group with an SLA: the newest
-- event (so that the next check asks only for newer ones, and for
-- group_health) and since when the online worker fails for the group.
CREATE TABLE featstore.freshness_checks (
	group_name	text PRIMARY KEY REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	checked_at	timestamptz NOT NULL,
	newest_event timestamptz,
	full_scan_at timestamptz,
	worker_failing_since timestamptz
);
COMMENT ON TABLE featstore.freshness_checks IS 'The last freshness check of each group with a freshness SLA (written by the monitor; rows are shown only to roles that may read the group, featstore.group_visible)';
COMMENT ON COLUMN featstore.freshness_checks.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.freshness_checks.checked_at IS 'When the check ran';
COMMENT ON COLUMN featstore.freshness_checks.newest_event IS 'The newest event_timestamp up to the check''s now() (for a group FROM a source, of the source); NULL: none';
COMMENT ON COLUMN featstore.freshness_checks.full_scan_at IS 'When the newest event was last found by reading the whole table (the first check, or after rows were deleted)';
COMMENT ON COLUMN featstore.freshness_checks.worker_failing_since IS 'Since when the online worker has been failing for the group (not idle or pushing); NULL: it is not';
ALTER TABLE featstore.freshness_checks ENABLE ROW LEVEL SECURITY;
CREATE POLICY freshness_checks_visible ON featstore.freshness_checks FOR SELECT
	USING (featstore.group_visible(group_name));
REVOKE ALL ON featstore.freshness_checks FROM PUBLIC;
GRANT SELECT ON featstore.freshness_checks TO featstore_reader;

-- The freshness check on demand, as the monitor worker runs it every
-- featstore.monitor_naptime.
CREATE FUNCTION featstore.check_freshness()
RETURNS integer AS 'MODULE_PATHNAME', 'featstore_check_freshness' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp SET jit = off;
COMMENT ON FUNCTION featstore.check_freshness() IS 'Checks every freshness SLA now, opening and resolving stale_data, materialization_lag, worker_failing and transformation_stale alerts; returns how many groups with an SLA it checked; takes featstore_editor';
REVOKE EXECUTE ON FUNCTION featstore.check_freshness() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.check_freshness() TO featstore_reader;

-- The online store's state per group, or no rows where there is none to
-- ask (another database than featstore.database, no preloaded worker):
-- materialization_status would raise an error there, and group_health must
-- answer in every database.
CREATE FUNCTION featstore.monitor_online_status()
RETURNS TABLE (group_name text, worker_state text, lag interval, queue_depth bigint,
			   oldest_enqueued timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF current_setting('featstore.database', true) IS DISTINCT FROM current_database()
	   OR (SELECT w.pid IS NULL AND w.state LIKE 'not loaded%' FROM featstore.online_worker_status() w) THEN
		RETURN;
	END IF;
	RETURN QUERY
		SELECT m.group_name, m.worker_state, m.lag, m.queue_depth, m.oldest_enqueued
		  FROM featstore.materialization_status m;
END
$$;
COMMENT ON FUNCTION featstore.monitor_online_status() IS 'featstore.materialization_status''s worker state, lag and queue depth per group where the online store serves this database; no rows elsewhere';
REVOKE EXECUTE ON FUNCTION featstore.monitor_online_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.monitor_online_status() TO featstore_reader;

-- The first thing an on-call person reads: one row per group the caller
-- may see.  security_invoker, so that the tables' row-level security
-- applies to the caller and not to the view's owner.
CREATE VIEW featstore.group_health WITH (security_invoker = true) AS
SELECT g.name AS group_name,
	   s.freshness,
	   f.newest_event,
	   now() - f.newest_event AS age,
	   CASE WHEN s.freshness IS NULL OR f.group_name IS NULL THEN NULL
			ELSE coalesce(now() - f.newest_event <= s.freshness, false) END AS freshness_met,
	   f.checked_at AS freshness_checked_at,
	   o.lag AS materialization_lag,
	   o.queue_depth,
	   o.worker_state,
	   r.started_at AS last_stats_at,
	   r.status AS last_stats_status,
	   coalesce(a.open_alerts, 0) AS open_alerts,
	   coalesce(a.kinds, '{}') AS open_alert_kinds,
	   k.checked_at AS last_skew_check_at,
	   k.differences AS last_skew_differences,
	   CASE WHEN coalesce(a.open_alerts, 0) > 0
				 OR (s.freshness IS NOT NULL AND f.group_name IS NOT NULL
					 AND NOT coalesce(now() - f.newest_event <= s.freshness, false))
			THEN 'alert'
			WHEN (s.freshness IS NOT NULL AND f.group_name IS NULL)
				 OR (s.freshness IS NULL AND r.started_at IS NULL AND k.checked_at IS NULL)
			THEN 'unknown'
			ELSE 'ok' END AS status
  FROM featstore.feature_groups g
  LEFT JOIN featstore.monitor_settings s ON s.group_name = g.name
  LEFT JOIN featstore.freshness_checks f ON f.group_name = g.name
  LEFT JOIN featstore.monitor_online_status() o ON o.group_name = g.name AND g.online
  LEFT JOIN LATERAL (SELECT sr.started_at, sr.status
					   FROM featstore.stats_runs sr
					  WHERE sr.group_name = g.name
					  ORDER BY sr.id DESC LIMIT 1) r ON true
  LEFT JOIN LATERAL (SELECT count(*) AS open_alerts,
							array_agg(DISTINCT al.kind ORDER BY al.kind) AS kinds
					   FROM featstore.alerts al
					  WHERE al.group_name = g.name AND al.resolved_at IS NULL) a ON true
  LEFT JOIN LATERAL (SELECT sc.checked_at, sc.differences
					   FROM featstore.skew_checks sc
					  WHERE sc.group_name = g.name
					  ORDER BY sc.id DESC LIMIT 1) k ON true
 WHERE featstore.group_visible(g.name);
COMMENT ON VIEW featstore.group_health IS 'One row per feature group the caller may read: freshness against its SLA, the online store''s lag, queue and worker state, the last statistics run, open alerts and the last skew check, and an overall status (ok, alert, unknown)';
COMMENT ON COLUMN featstore.group_health.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.group_health.freshness IS 'Its freshness SLA; NULL: none';
COMMENT ON COLUMN featstore.group_health.newest_event IS 'The newest event the last freshness check found';
COMMENT ON COLUMN featstore.group_health.age IS 'now() - newest_event';
COMMENT ON COLUMN featstore.group_health.freshness_met IS 'Whether age is within the SLA (false without any event); NULL: no SLA, or not checked yet';
COMMENT ON COLUMN featstore.group_health.freshness_checked_at IS 'When the freshness check last ran for the group';
COMMENT ON COLUMN featstore.group_health.materialization_lag IS 'Online groups: commit-to-Redis lag of the last batch (materialization_status.lag)';
COMMENT ON COLUMN featstore.group_health.queue_depth IS 'Online groups: entities waiting for the worker';
COMMENT ON COLUMN featstore.group_health.worker_state IS 'Online groups: the materialization worker''s state for the group';
COMMENT ON COLUMN featstore.group_health.last_stats_at IS 'When the last statistics run started';
COMMENT ON COLUMN featstore.group_health.last_stats_status IS 'Its status: running, succeeded, failed';
COMMENT ON COLUMN featstore.group_health.open_alerts IS 'Open alerts of the group the caller may see';
COMMENT ON COLUMN featstore.group_health.open_alert_kinds IS 'Their kinds, sorted';
COMMENT ON COLUMN featstore.group_health.last_skew_check_at IS 'When the last skew check ran';
COMMENT ON COLUMN featstore.group_health.last_skew_differences IS 'How many sampled entities differed between Redis and the join at now()';
COMMENT ON COLUMN featstore.group_health.status IS 'alert: an open alert, or the SLA not met; unknown: an SLA not checked yet, or nothing monitored yet; else ok';
GRANT SELECT ON featstore.group_health TO featstore_reader;
