-- featstore window aggregates: the timeline of a group defined FROM a source.
--
-- window_timeline computes a source group's features at each of its
-- source's events, with the engine the point-in-time join and the online
-- worker use.  Each such group's relation (feature_groups.schema_name,
-- table_name) is a view over it, which the registry creates; a
-- point-in-time join with that view computes the features at the spine's
-- times instead.  It reads the source as the calling role.
CREATE FUNCTION featstore.window_timeline(group_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'window_timeline'
LANGUAGE C STABLE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.window_timeline(text) IS
'The features of a group defined FROM a source, at each event of the source, as the calling role reads it; the body of the group''s view';
