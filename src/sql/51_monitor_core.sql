-- featstore monitoring, part core (issue 11): closing an alert by hand, the
-- monitoring settings as functions, the freshness check on demand and the
-- group_health view.  docs/monitoring.md.

CREATE FUNCTION featstore.resolve_alert(id bigint)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_resolve_alert' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.resolve_alert(bigint) IS 'Closes an open alert by hand (an acknowledged one); takes featstore_editor and an alert the caller can see; if the condition persists, the next check opens a new alert';
REVOKE EXECUTE ON FUNCTION featstore.resolve_alert(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.resolve_alert(bigint) TO featstore_reader;
