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
