-- featstore 0.1.0 -> 0.2.0
-- A whole-group rematerialization becomes one "scan" row of the online
-- queue, which the worker walks through the group's index and resumes from
-- resume_after (docs/online-store.md).  Two partial indexes let the worker
-- find ready rows and due revisits without stepping over revisits not yet
-- due, and schedule an entity once per time.
\echo Use "ALTER EXTENSION featstore UPDATE TO '0.2.0'" to load this file. \quit

ALTER TABLE featstore.online_queue
	ADD COLUMN since timestamptz,
	ADD COLUMN resume_after text[],
	DROP CONSTRAINT online_queue_kind_check,
	ADD CONSTRAINT online_queue_kind_check CHECK (kind IN ('keys', 'scan', 'purge'));

CREATE INDEX online_queue_revisit_idx ON featstore.online_queue (not_before, group_name)
	WHERE not_before IS NOT NULL;
COMMENT ON INDEX featstore.online_queue_revisit_idx IS 'Scheduled revisits of future-dated rows: the next one due, and whether an entity is already scheduled';
CREATE INDEX online_queue_ready_idx ON featstore.online_queue (id) WHERE not_before IS NULL;
COMMENT ON INDEX featstore.online_queue_ready_idx IS 'Rows the worker can take now, in order of arrival, without stepping over scheduled revisits';

COMMENT ON COLUMN featstore.online_queue.kind IS 'keys: recompute the listed entities; scan: walk the whole group (rematerialization); purge: remove every Redis key of the group';
COMMENT ON COLUMN featstore.online_queue.entities IS 'keys: number of entities listed (at most 1000 per row); scan: entities still to walk, as counted when queued';
COMMENT ON COLUMN featstore.online_queue.since IS 'scan: only entities whose latest row is at or after this time (NULL: all)';
COMMENT ON COLUMN featstore.online_queue.resume_after IS 'scan: key values (as text) of the last entity done; the walk goes on below it in key order (NULL: not started)';
COMMENT ON FUNCTION featstore.materialize(text, timestamptz) IS 'Queue a rewrite in Redis of every entity of an online group (or of those with rows since a time); returns how many entities that is';
COMMENT ON COLUMN featstore.materialization_status.worker_state IS 'idle, pushing, connecting, redis unavailable, error, waiting for CREATE EXTENSION, waiting for ALTER EXTENSION UPDATE, stopped';
