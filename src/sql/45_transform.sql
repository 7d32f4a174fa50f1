-- featstore scheduled transformations: groups whose rows a SQL query appends
-- (CREATE FEATURE GROUP ... AS query SCHEDULE ...), the record of their
-- runs, featstore.refresh() and the status view.  docs/transformations.md.

CREATE TABLE featstore.transformations (
	group_name	text PRIMARY KEY REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	query		text NOT NULL,
	columns		name[] NOT NULL,
	schedule_text text,
	schedule	interval CHECK (schedule > interval '0'),
	next_run_at	timestamptz,
	last_run_at	timestamptz,
	last_success_at timestamptz,
	consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
	last_error	text,
	last_error_at timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((schedule IS NULL) = (schedule_text IS NULL))
);
COMMENT ON TABLE featstore.transformations IS 'Feature groups whose rows a SQL query appends, on a schedule (the online worker) or on featstore.refresh()';
COMMENT ON COLUMN featstore.transformations.group_name IS 'The feature group; its history table receives the query''s rows';
COMMENT ON COLUMN featstore.transformations.query IS 'The query as written, run as the group table''s owner with search_path = pg_catalog, pg_temp';
COMMENT ON COLUMN featstore.transformations.columns IS 'The query''s columns, by name: the entity''s key columns, event_timestamp and the features';
COMMENT ON COLUMN featstore.transformations.schedule_text IS 'SCHEDULE as written; NULL for SCHEDULE MANUAL';
COMMENT ON COLUMN featstore.transformations.schedule IS 'Time between runs, as an absolute duration (days are 24 hours); NULL for SCHEDULE MANUAL: only featstore.refresh() runs it';
COMMENT ON COLUMN featstore.transformations.next_run_at IS 'When the worker runs it next: a schedule after the last successful run''s start, or the retry after a failure; NULL for SCHEDULE MANUAL';
COMMENT ON COLUMN featstore.transformations.last_run_at IS 'When the last run started';
COMMENT ON COLUMN featstore.transformations.last_success_at IS 'When the last successful run started';
COMMENT ON COLUMN featstore.transformations.consecutive_failures IS 'Failed runs since the last successful one; the retry waits a minute or an eighth of the schedule (the shorter), doubled per failure, at most one schedule';
COMMENT ON COLUMN featstore.transformations.last_error IS 'The error message of the last failed run (kept after a success; see last_error_at)';
COMMENT ON COLUMN featstore.transformations.last_error_at IS 'When the last failed run finished';
COMMENT ON COLUMN featstore.transformations.created_at IS 'When the transformation was defined';
REVOKE ALL ON featstore.transformations FROM PUBLIC;

CREATE TABLE featstore.transformation_runs (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	group_name	text NOT NULL REFERENCES featstore.transformations (group_name) ON DELETE CASCADE,
	started_at	timestamptz NOT NULL,
	finished_at	timestamptz,
	rows		bigint,
	status		text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
	error		text,
	sqlstate	text,
	trigger		text NOT NULL CHECK (trigger IN ('schedule', 'refresh')),
	run_by		name NOT NULL
);
CREATE INDEX transformation_runs_group_idx ON featstore.transformation_runs (group_name, id);
COMMENT ON TABLE featstore.transformation_runs IS 'One row per run of a transformation; the latest 1000 runs of each group are kept';
COMMENT ON COLUMN featstore.transformation_runs.id IS 'Sequence number of the run';
COMMENT ON COLUMN featstore.transformation_runs.group_name IS 'The transformation''s feature group';
COMMENT ON COLUMN featstore.transformation_runs.started_at IS 'When the run started';
COMMENT ON COLUMN featstore.transformation_runs.finished_at IS 'When the run ended';
COMMENT ON COLUMN featstore.transformation_runs.rows IS 'Rows appended to the history table; NULL for a failed run (which appends none)';
COMMENT ON COLUMN featstore.transformation_runs.status IS 'running (only inside the run''s own transaction), succeeded or failed';
COMMENT ON COLUMN featstore.transformation_runs.error IS 'The error message of a failed run';
COMMENT ON COLUMN featstore.transformation_runs.sqlstate IS 'The SQLSTATE of a failed run''s error';
COMMENT ON COLUMN featstore.transformation_runs.trigger IS 'schedule: the online worker; refresh: a call of featstore.refresh() (pg_cron''s, say)';
COMMENT ON COLUMN featstore.transformation_runs.run_by IS 'The role that started the run; the query itself runs as the history table''s owner';
REVOKE ALL ON featstore.transformation_runs FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('featstore.transformations', '');

CREATE FUNCTION featstore.refresh(group_name text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'featstore_refresh'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.refresh(text) IS 'Run a transformation group''s query now, as the group table''s owner, appending its rows to the history table in one step; returns the rows appended, or NULL with a WARNING when the query failed (the failed run is recorded)';
REVOKE EXECUTE ON FUNCTION featstore.refresh(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.refresh(text) TO featstore_editor;

CREATE VIEW featstore.transformation_status AS
SELECT t.group_name,
	   t.schedule,
	   r.started_at AS last_run_at,
	   r.status AS last_run_status,
	   r.rows AS last_run_rows,
	   t.last_success_at,
	   t.consecutive_failures,
	   t.last_error,
	   t.last_error_at,
	   t.next_run_at,
	   CASE WHEN t.schedule IS NULL THEN NULL
			ELSE coalesce(t.last_success_at, t.created_at) < now() - 2 * t.schedule END AS stale
  FROM featstore.transformations t
  LEFT JOIN LATERAL (SELECT tr.started_at, tr.status, tr.rows
					   FROM featstore.transformation_runs tr
					  WHERE tr.group_name = t.group_name
					  ORDER BY tr.id DESC
					  LIMIT 1) r ON true;
COMMENT ON VIEW featstore.transformation_status IS 'Per transformation group: its schedule, last run, last success, consecutive failures, last error, next run, and whether it is stale';
COMMENT ON COLUMN featstore.transformation_status.group_name IS 'Feature group';
COMMENT ON COLUMN featstore.transformation_status.schedule IS 'Time between runs; NULL for SCHEDULE MANUAL';
COMMENT ON COLUMN featstore.transformation_status.last_run_at IS 'When the last recorded run started';
COMMENT ON COLUMN featstore.transformation_status.last_run_status IS 'succeeded or failed';
COMMENT ON COLUMN featstore.transformation_status.last_run_rows IS 'Rows the last run appended';
COMMENT ON COLUMN featstore.transformation_status.last_success_at IS 'When the last successful run started';
COMMENT ON COLUMN featstore.transformation_status.consecutive_failures IS 'Failed runs since the last successful one';
COMMENT ON COLUMN featstore.transformation_status.last_error IS 'The error of the last failed run';
COMMENT ON COLUMN featstore.transformation_status.last_error_at IS 'When the last failed run finished';
COMMENT ON COLUMN featstore.transformation_status.next_run_at IS 'When the worker runs it next (the retry, after a failure); NULL for SCHEDULE MANUAL';
COMMENT ON COLUMN featstore.transformation_status.stale IS 'True when the last success (or, before any, the definition) is older than two schedules: the group''s features are not being refreshed; NULL for SCHEDULE MANUAL';

GRANT SELECT ON featstore.transformations, featstore.transformation_runs,
	featstore.transformation_status TO featstore_reader;
