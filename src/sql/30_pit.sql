-- featstore point-in-time join: the as-of marker, and pit_join() built on it.
-- See docs/pit-join.md.

CREATE FUNCTION featstore.pit_match(
	event_ts timestamptz,
	created_at timestamptz,
	spine_ts timestamptz,
	ttl interval DEFAULT NULL,
	as_of timestamptz DEFAULT NULL,
	strict boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pit_match'
LANGUAGE C STABLE PARALLEL SAFE COST 1000;
COMMENT ON FUNCTION featstore.pit_match(timestamptz, timestamptz, timestamptz, interval, timestamptz, boolean) IS
'As-of marker for a point-in-time join: put it in a join''s ON clause next to the key equalities, as pit_match(f.event_timestamp, f.created_at, s.ts, ttl, as_of, strict); the PitJoin node implements it and it raises an error if evaluated anywhere else';
