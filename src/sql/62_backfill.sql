-- featstore backfills (issue 12): a shadow table loaded beside a group's
-- history, validated against it, and promoted into it in one transaction.
-- The statements are BACKFILL / VALIDATE / PROMOTE / ABORT BACKFILL; the
-- functions below are their twins.  docs/backfills.md.

-- A step of a backfill writes one definition_history row; its verdict (a
-- validation's, a forced promote's) goes in detail.
ALTER TABLE featstore.definition_history ADD COLUMN detail text;
-- the object types of the history, now with training sets (60_training.sql)
-- and backfills
ALTER TABLE featstore.definition_history
	DROP CONSTRAINT definition_history_object_type_check,
	ADD CONSTRAINT definition_history_object_type_check
	CHECK (object_type IN ('entity', 'feature group', 'feature service', 'training set', 'backfill'));
COMMENT ON COLUMN featstore.definition_history.detail IS 'What the change decided, where a statement reports it (a backfill''s validation verdict, a forced promote); NULL otherwise';

CREATE TABLE featstore.backfills (
	name			text PRIMARY KEY CHECK (name <> ''),
	group_name		text NOT NULL REFERENCES featstore.feature_groups (name),
	range_from		timestamptz NOT NULL,
	range_to		timestamptz NOT NULL,
	shadow			regclass,
	shadow_name		text NOT NULL,
	state			text NOT NULL DEFAULT 'open'
		CHECK (state IN ('open', 'validated', 'failed', 'promoted', 'aborted')),
	verdict			text,
	thresholds		jsonb NOT NULL DEFAULT '{}',
	created_at		timestamptz NOT NULL DEFAULT now(),
	created_by		name NOT NULL,
	validated_at	timestamptz,
	validated_by	name,
	finished_at		timestamptz,
	finished_by		name,
	promoted_rows	bigint,
	promoted_created_at timestamptz,
	forced			boolean NOT NULL DEFAULT false,
	CONSTRAINT backfills_range_check CHECK (range_from < range_to),
	CONSTRAINT backfills_shadow_check CHECK ((shadow IS NULL) = (state IN ('promoted', 'aborted')))
);
CREATE INDEX backfills_group_idx ON featstore.backfills (group_name);
COMMENT ON TABLE featstore.backfills IS 'Backfills of feature groups (BACKFILL FEATURE GROUP ... AS name): one row per backfill, its shadow table while it is open, its state and last verdict';
COMMENT ON COLUMN featstore.backfills.name IS 'Backfill name, unique in the database';
COMMENT ON COLUMN featstore.backfills.group_name IS 'The feature group it fills';
COMMENT ON COLUMN featstore.backfills.range_from IS 'Start of the event_timestamp range it replaces (inclusive)';
COMMENT ON COLUMN featstore.backfills.range_to IS 'End of the range (exclusive)';
COMMENT ON COLUMN featstore.backfills.shadow IS 'The shadow table, in the group''s schema and owned by the group table''s owner; NULL once promoted or aborted (the shadow is dropped)';
COMMENT ON COLUMN featstore.backfills.shadow_name IS 'The shadow table''s qualified name as created, kept after it is dropped';
COMMENT ON COLUMN featstore.backfills.state IS 'open (loading), validated (the last validation passed), failed (it failed), promoted, aborted';
COMMENT ON COLUMN featstore.backfills.verdict IS 'The last validation''s verdict: passed, or failed with its reasons; NULL before the first';
COMMENT ON COLUMN featstore.backfills.thresholds IS 'Thresholds set for this backfill (VALIDATE BACKFILL ... WITH (...)); the others take their defaults';
COMMENT ON COLUMN featstore.backfills.created_at IS 'When the backfill was opened';
COMMENT ON COLUMN featstore.backfills.created_by IS 'Role that opened it';
COMMENT ON COLUMN featstore.backfills.validated_at IS 'When it was last validated';
COMMENT ON COLUMN featstore.backfills.validated_by IS 'Role that last validated it';
COMMENT ON COLUMN featstore.backfills.finished_at IS 'When it was promoted or aborted';
COMMENT ON COLUMN featstore.backfills.finished_by IS 'Role that promoted or aborted it';
COMMENT ON COLUMN featstore.backfills.promoted_rows IS 'Rows the promote inserted into the history table';
COMMENT ON COLUMN featstore.backfills.promoted_created_at IS 'The created_at of every promoted row: the promote time';
COMMENT ON COLUMN featstore.backfills.forced IS 'Promoted with FORCE over a failed or missing validation';
SELECT pg_catalog.pg_extension_config_dump('featstore.backfills', '');
-- a backfill's verdict and thresholds describe the group's data: readable
-- where the data is, as the monitor's tables (featstore.group_visible)
ALTER TABLE featstore.backfills ENABLE ROW LEVEL SECURITY;
CREATE POLICY backfills_visible ON featstore.backfills FOR SELECT
	USING (featstore.group_visible(group_name));

CREATE FUNCTION featstore.open_backfill(feature_group text, name text,
	range_from timestamptz, range_to timestamptz)
RETURNS regclass AS 'MODULE_PATHNAME', 'featstore_open_backfill' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.open_backfill(text, text, timestamptz, timestamptz) IS 'BACKFILL FEATURE GROUP g AS name FROM range_from TO range_to as a function; returns the shadow table';

CREATE FUNCTION featstore.validate_backfill(name text, thresholds jsonb DEFAULT NULL)
RETURNS TABLE (check_name text, feature name, current_value double precision,
	shadow_value double precision, statistic double precision,
	threshold double precision, verdict text, detail text)
AS 'MODULE_PATHNAME', 'featstore_validate_backfill' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.validate_backfill(text, jsonb) IS 'VALIDATE BACKFILL name [WITH (...)] as a function: the report, one row per check (the last row is the verdict); thresholds (a JSON object) are stored for the backfill';

CREATE FUNCTION featstore.promote_backfill(name text, force boolean DEFAULT false)
RETURNS bigint AS 'MODULE_PATHNAME', 'featstore_promote_backfill' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.promote_backfill(text, boolean) IS 'PROMOTE BACKFILL name [FORCE] as a function; returns the rows inserted into the history table';

CREATE FUNCTION featstore.abort_backfill(name text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_abort_backfill' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.abort_backfill(text) IS 'ABORT BACKFILL name as a function: drops the shadow';

GRANT SELECT ON featstore.backfills TO featstore_reader;
REVOKE EXECUTE ON FUNCTION featstore.open_backfill(text, text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION featstore.validate_backfill(text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION featstore.promote_backfill(text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION featstore.abort_backfill(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.open_backfill(text, text, timestamptz, timestamptz) TO featstore_reader;
GRANT EXECUTE ON FUNCTION featstore.validate_backfill(text, jsonb) TO featstore_reader;
GRANT EXECUTE ON FUNCTION featstore.promote_backfill(text, boolean) TO featstore_reader;
GRANT EXECUTE ON FUNCTION featstore.abort_backfill(text) TO featstore_reader;

CREATE FUNCTION featstore.backfill_shadow_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'featstore_backfill_shadow_changed' LANGUAGE C;
COMMENT ON FUNCTION featstore.backfill_shadow_changed() IS 'Statement trigger on a backfill''s shadow: a write sends a validated or failed backfill back to state open, so that only validated rows are promoted without FORCE';
