-- featstore monitoring, statistics (issue 11): compute_stats() over a period
-- of a group's history or at a spine's rows.  docs/monitoring.md, Statistics.

CREATE FUNCTION featstore.compute_stats(group_name text, from_ts timestamptz, to_ts timestamptz)
RETURNS bigint
AS 'MODULE_PATHNAME', 'featstore_compute_stats'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.compute_stats(text, timestamptz, timestamptz) IS 'Compute the statistics of a group''s active features over the history rows whose event_timestamp is in [from_ts, to_ts), replacing the period''s stored ones; returns the run''s id in featstore.stats_runs (a failed read is a WARNING and a failed run)';
REVOKE EXECUTE ON FUNCTION featstore.compute_stats(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.compute_stats(text, timestamptz, timestamptz) TO featstore_editor;

-- timestamp_column has no DEFAULT: with one, compute_stats('g', '2026-01-01',
-- '2026-01-02') would match both forms and be ambiguous.
CREATE FUNCTION featstore.compute_stats(group_name text, spine regclass, label text,
										timestamp_column name)
RETURNS bigint
AS 'MODULE_PATHNAME', 'featstore_compute_stats_spine'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.compute_stats(text, regclass, text, name) IS 'Compute the statistics of a group''s active features at a spine''s rows (the point-in-time join, as the caller), stored with scope spine and this label, replacing the label''s earlier ones; returns the run''s id';
REVOKE EXECUTE ON FUNCTION featstore.compute_stats(text, regclass, text, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.compute_stats(text, regclass, text, name) TO featstore_editor;
