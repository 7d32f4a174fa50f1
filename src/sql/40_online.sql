-- featstore online store: the change queue, the materialization functions,
-- online reads and the worker's status.  See docs/online-store.md.

CREATE TABLE featstore.online_queue (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	group_name	text NOT NULL,
	kind		text NOT NULL DEFAULT 'keys' CHECK (kind IN ('keys', 'scan', 'purge')),
	keys		text[],
	entities	integer NOT NULL DEFAULT 0,
	force		boolean NOT NULL DEFAULT false,
	future		boolean NOT NULL DEFAULT false,
	not_before	timestamptz,
	enqueued_at	timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	since		timestamptz,
	resume_after text[],
	attempts	integer NOT NULL DEFAULT 0,
	state		text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'failed')),
	last_error	text
);
COMMENT ON TABLE featstore.online_queue IS 'Entities whose Redis value the materialization worker must recompute; written by the capture triggers in the writing transaction, deleted once Redis has the result';
COMMENT ON COLUMN featstore.online_queue.id IS 'Order of arrival; the worker works in this order';
COMMENT ON COLUMN featstore.online_queue.group_name IS 'Feature group (no foreign key: a purge outlives its group)';
COMMENT ON COLUMN featstore.online_queue.kind IS 'keys: recompute the listed entities; scan: walk the whole group (rematerialization); purge: remove every Redis key of the group';
COMMENT ON COLUMN featstore.online_queue.keys IS 'Two-dimensional: one row per entity, one column per key column, as text';
COMMENT ON COLUMN featstore.online_queue.since IS 'scan: only entities whose latest row is at or after this time (NULL: all)';
COMMENT ON COLUMN featstore.online_queue.resume_after IS 'scan: key values (as text) of the last entity done; the walk goes on below it in key order (NULL: not started)';
COMMENT ON COLUMN featstore.online_queue.entities IS 'keys: number of entities listed (at most 1000 per row); scan: entities still to walk, as counted when queued';
COMMENT ON COLUMN featstore.online_queue.force IS 'Write even if Redis holds a newer (event_timestamp, created_at): set after DELETE, UPDATE and rematerialization';
COMMENT ON COLUMN featstore.online_queue.future IS 'Some rows are dated in the future: the worker schedules a revisit when they become current';
COMMENT ON COLUMN featstore.online_queue.not_before IS 'Do not process before this time (revisit of a future-dated row)';
COMMENT ON COLUMN featstore.online_queue.enqueued_at IS 'When the change was captured, for the lag shown in materialization_status';
COMMENT ON COLUMN featstore.online_queue.attempts IS 'Consecutive attempts of the worker on this row that did not finish (it died meanwhile); counted in a committed transaction before each attempt, reset when one ends';
COMMENT ON COLUMN featstore.online_queue.state IS 'ready: the worker takes it; failed: parked after 3 unfinished attempts, until featstore.materialize() of the group';
COMMENT ON COLUMN featstore.online_queue.last_error IS 'Why the last attempt failed, or why the row was parked (the worker died while processing this row)';
CREATE INDEX online_queue_revisit_idx ON featstore.online_queue (not_before, group_name)
	WHERE not_before IS NOT NULL;
COMMENT ON INDEX featstore.online_queue_revisit_idx IS 'Scheduled revisits of future-dated rows: the next one due, and whether an entity is already scheduled';
CREATE INDEX online_queue_ready_idx ON featstore.online_queue (id) WHERE not_before IS NULL;
COMMENT ON INDEX featstore.online_queue_ready_idx IS 'Rows the worker can take now, in order of arrival, without stepping over scheduled revisits';
REVOKE ALL ON featstore.online_queue FROM PUBLIC;

CREATE TABLE featstore.online_redis_state (
	redis_run_id text,
	seen_at		timestamptz
);
INSERT INTO featstore.online_redis_state VALUES (NULL, NULL);
COMMENT ON TABLE featstore.online_redis_state IS 'The Redis process (INFO run_id) the worker last wrote to; a different one is rematerialized in full, since it may have lost keys';
COMMENT ON COLUMN featstore.online_redis_state.redis_run_id IS 'run_id reported by Redis INFO server';
COMMENT ON COLUMN featstore.online_redis_state.seen_at IS 'When the worker first met that process';
REVOKE ALL ON featstore.online_redis_state FROM PUBLIC;

CREATE FUNCTION featstore.online_capture()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'online_capture';
COMMENT ON FUNCTION featstore.online_capture() IS 'Change-capture trigger featstore attaches to the history table of every online feature group, or to the source of an online group defined FROM one';

CREATE FUNCTION featstore.materialize(group_name text, since timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'materialize';
COMMENT ON FUNCTION featstore.materialize(text, timestamptz) IS 'Queue a rewrite in Redis of every entity of an online group (or of those with rows since a time); returns how many entities that is';

CREATE FUNCTION featstore.online_features(group_name text, VARIADIC entity_key text[])
RETURNS TABLE (status text, features jsonb, event_timestamp timestamptz, created_at timestamptz,
			   materialized_at timestamptz, expires_at timestamptz, age interval, redis_key text)
LANGUAGE C STRICT
AS 'MODULE_PATHNAME', 'online_features';
COMMENT ON FUNCTION featstore.online_features(text, text[]) IS 'Read one entity''s feature values of an online group from Redis, with status (found, missing, invalid) and age';

CREATE FUNCTION featstore.verify_online(group_name text, sample integer DEFAULT 10000)
RETURNS TABLE (entity text[], problem text, expected jsonb, actual jsonb)
LANGUAGE C
AS 'MODULE_PATHNAME', 'verify_online';
COMMENT ON FUNCTION featstore.verify_online(text, integer) IS 'Compare Redis with the point-in-time rule at now() for a sample of entities; returns one row per difference (normally none)';

CREATE FUNCTION featstore.online_worker_status()
RETURNS TABLE (state text, pid integer, state_since timestamptz, last_success timestamptz,
			   batches bigint, last_error text, last_error_at timestamptz)
LANGUAGE C
AS 'MODULE_PATHNAME', 'online_worker_status';
COMMENT ON FUNCTION featstore.online_worker_status() IS 'State of the materialization worker, from shared memory';

CREATE FUNCTION featstore.online_group_status()
RETURNS TABLE (group_name text, last_success timestamptz, lag interval, entities_written bigint,
			   keys_removed bigint, stale_skipped bigint, last_error text, last_error_at timestamptz)
LANGUAGE C
AS 'MODULE_PATHNAME', 'online_group_status';
COMMENT ON FUNCTION featstore.online_group_status() IS 'Per-group counters of the materialization worker since the server started';

-- The queue depth is read here, as the owner, so that ordinary roles see it
-- without reading the queue itself.
CREATE FUNCTION featstore.online_queue_depth()
RETURNS TABLE (group_name text, queued_entities bigint, oldest_enqueued timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT q.group_name, sum(q.entities)::bigint, min(q.enqueued_at)
	  FROM featstore.online_queue q
	 WHERE (q.not_before IS NULL OR q.not_before <= now()) AND q.state = 'ready'
	 GROUP BY q.group_name
$$;
COMMENT ON FUNCTION featstore.online_queue_depth() IS 'Entities waiting for the materialization worker, per group (future-dated revisits and parked rows excluded)';

-- Errors can quote key values: the status shows a group's errors only to
-- roles that can read its table (docs/security.md).
CREATE FUNCTION featstore.online_error_visible(group_name text)
RETURNS boolean AS 'MODULE_PATHNAME', 'online_error_visible' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION featstore.online_error_visible(text) IS 'Whether the current role may read errors of a feature group, which can quote key values: it can read the group''s table with no row-level security hiding rows';

CREATE VIEW featstore.materialization_status AS
SELECT g.name AS group_name,
	   g.online,
	   CASE WHEN w.state IN ('idle', 'pushing')
				 AND s.last_error_at > coalesce(s.last_success, '-infinity'::timestamptz)
			THEN 'error' ELSE w.state END AS worker_state,
	   w.pid AS worker_pid,
	   s.last_success,
	   s.lag,
	   coalesce(q.queued_entities, 0) AS queue_depth,
	   q.oldest_enqueued,
	   coalesce(s.entities_written, 0) AS entities_written,
	   coalesce(s.keys_removed, 0) AS keys_removed,
	   coalesce(s.stale_skipped, 0) AS stale_skipped,
	   CASE WHEN w.last_error_at > s.last_error_at OR s.last_error_at IS NULL
			THEN w.last_error ELSE s.last_error END AS last_error,
	   greatest(w.last_error_at, s.last_error_at) AS last_error_at,
	   coalesce(p.parked_entities, 0) AS parked,
	   CASE WHEN p.last_error IS NULL OR featstore.online_error_visible(g.name)
			THEN p.last_error ELSE '<insufficient privilege>' END AS parked_error
  FROM featstore.feature_groups g
 CROSS JOIN featstore.online_worker_status() w
  LEFT JOIN featstore.online_group_status() s ON s.group_name = g.name
  LEFT JOIN featstore.online_queue_depth() q ON q.group_name = g.name
  LEFT JOIN (SELECT pq.group_name, sum(pq.entities)::bigint AS parked_entities,
					 (array_agg(pq.last_error ORDER BY pq.id DESC))[1] AS last_error
				FROM featstore.online_queue pq
			   WHERE pq.state = 'failed'
			   GROUP BY pq.group_name) p ON p.group_name = g.name
 WHERE g.online OR q.group_name IS NOT NULL OR p.group_name IS NOT NULL;
COMMENT ON VIEW featstore.materialization_status IS 'Per online feature group: the worker state, last success, commit-to-Redis lag, queue depth, entities written and the last error';
COMMENT ON COLUMN featstore.materialization_status.group_name IS 'Feature group';
COMMENT ON COLUMN featstore.materialization_status.online IS 'Whether the group is served from Redis';
COMMENT ON COLUMN featstore.materialization_status.worker_state IS 'idle, pushing, connecting, redis unavailable, error (of the worker, or of this group: its last attempt failed and is retried with backoff), waiting for CREATE EXTENSION, waiting for ALTER EXTENSION UPDATE, stopped';
COMMENT ON COLUMN featstore.materialization_status.worker_pid IS 'Process id of the worker (see pg_stat_activity, backend_type featstore online worker)';
COMMENT ON COLUMN featstore.materialization_status.last_success IS 'When a batch of this group last reached Redis';
COMMENT ON COLUMN featstore.materialization_status.lag IS 'From capture (in the writing transaction) to Redis, for the oldest change of the last batch';
COMMENT ON COLUMN featstore.materialization_status.queue_depth IS 'Entities waiting in featstore.online_queue';
COMMENT ON COLUMN featstore.materialization_status.oldest_enqueued IS 'When the oldest waiting change was captured';
COMMENT ON COLUMN featstore.materialization_status.entities_written IS 'Redis values written since the server started';
COMMENT ON COLUMN featstore.materialization_status.keys_removed IS 'Redis keys removed (deleted winners, expired TTLs, purges) since the server started';
COMMENT ON COLUMN featstore.materialization_status.stale_skipped IS 'Writes skipped because Redis already held a newer value (retries, late rows)';
COMMENT ON COLUMN featstore.materialization_status.last_error IS 'The latest error of the worker or of this group; <insufficient privilege> for roles that cannot read every group it may concern (it may quote key values)';
COMMENT ON COLUMN featstore.materialization_status.last_error_at IS 'When the latest error happened';
COMMENT ON COLUMN featstore.materialization_status.parked IS 'Entities in parked queue rows: the worker died while processing them 3 times in a row; they wait until featstore.materialize() of the group';
COMMENT ON COLUMN featstore.materialization_status.parked_error IS 'Why the latest parked row was parked; <insufficient privilege> for roles that cannot read the group (it may quote key values)';

-- The walks that rematerialize whole groups: the queue's scan rows, read as
-- the owner, and the one the worker is on, from shared memory.
CREATE FUNCTION featstore.online_walk_progress()
RETURNS TABLE (queue_id bigint, group_name text, phase text, entities_done bigint,
			   entities_total bigint, started timestamptz, updated timestamptz)
LANGUAGE C ROWS 1
AS 'MODULE_PATHNAME', 'online_walk_progress';
COMMENT ON FUNCTION featstore.online_walk_progress() IS 'The whole-group walk the materialization worker is on, from shared memory (no row when there is none)';

CREATE FUNCTION featstore.online_queued_walks()
RETURNS TABLE (queue_id bigint, group_name text, entities_left bigint, enqueued_at timestamptz,
			   failed boolean, parked boolean)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 10
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT q.id, q.group_name, q.entities::bigint, q.enqueued_at,
		   q.last_error IS NOT NULL, q.state = 'failed'
	  FROM featstore.online_queue q
	 WHERE q.kind = 'scan'
$$;
COMMENT ON FUNCTION featstore.online_queued_walks() IS 'Whole-group walks (rematerializations) in featstore.online_queue, with the entities each has left';

CREATE VIEW featstore.materialization_progress AS
SELECT q.group_name,
	   CASE WHEN p.queue_id IS NOT NULL THEN w.pid END AS worker_pid,
	   CASE WHEN q.parked THEN 'parked'
			WHEN p.queue_id IS NOT NULL THEN p.phase
			WHEN q.failed THEN 'waiting to retry after an error'
			ELSE 'queued' END AS phase,
	   coalesce(p.entities_done, 0) AS entities_done,
	   coalesce(p.entities_total, q.entities_left) AS entities_total,
	   CASE WHEN p.entities_done > 0 AND p.updated > p.started
			THEN p.entities_done / extract(epoch FROM p.updated - p.started)::double precision
	   END AS rate,
	   q.enqueued_at,
	   p.started,
	   p.updated AS last_progress,
	   CASE WHEN p.entities_done > 0 AND p.updated > p.started
			THEN p.updated + (p.updated - p.started)
				 * (greatest(p.entities_total - p.entities_done, 0)::double precision / p.entities_done)
	   END AS estimated_end
  FROM featstore.online_queued_walks() q
 CROSS JOIN featstore.online_worker_status() w
  LEFT JOIN featstore.online_walk_progress() p ON p.queue_id = q.queue_id;
COMMENT ON VIEW featstore.materialization_progress IS 'One row per whole-group rematerialization (materialize(), SET ONLINE, a changed TTL, a restarted Redis) until it ends, in the style of pg_stat_progress_*: phase, entities done and total, rate and estimated end';
COMMENT ON COLUMN featstore.materialization_progress.group_name IS 'Feature group being rematerialized';
COMMENT ON COLUMN featstore.materialization_progress.worker_pid IS 'Process id of the worker, while it walks this group';
COMMENT ON COLUMN featstore.materialization_progress.phase IS 'queued, reading the group (and streaming to Redis), writing to Redis, recording progress, waiting for Redis, waiting to retry after an error, parked';
COMMENT ON COLUMN featstore.materialization_progress.entities_done IS 'Entities written to Redis and recorded in the queue since the worker took the walk up (0 while queued)';
COMMENT ON COLUMN featstore.materialization_progress.entities_total IS 'Entities to walk: counted by materialize() when queued, or left when the worker took the walk up';
COMMENT ON COLUMN featstore.materialization_progress.rate IS 'Entities per second so far, from when the worker took the walk up to its last progress';
COMMENT ON COLUMN featstore.materialization_progress.enqueued_at IS 'When the walk was queued';
COMMENT ON COLUMN featstore.materialization_progress.started IS 'When the worker took the walk up (after a server restart: when it resumed)';
COMMENT ON COLUMN featstore.materialization_progress.last_progress IS 'When entities_done last grew';
COMMENT ON COLUMN featstore.materialization_progress.estimated_end IS 'When the walk ends at the rate so far';
REVOKE ALL ON FUNCTION featstore.online_queued_walks() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_queued_walks() TO featstore_reader;
GRANT SELECT ON featstore.materialization_progress TO featstore_reader;

-- Reading Redis and the status takes featstore_reader; queueing a
-- rematerialization takes featstore_editor (and SELECT on the group table).
REVOKE ALL ON FUNCTION featstore.materialize(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.materialize(text, timestamptz) TO featstore_editor;
REVOKE ALL ON FUNCTION featstore.online_features(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_features(text, text[]) TO featstore_reader;
REVOKE ALL ON FUNCTION featstore.verify_online(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.verify_online(text, integer) TO featstore_reader;
REVOKE ALL ON FUNCTION featstore.online_queue_depth() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_queue_depth() TO featstore_reader;
REVOKE ALL ON FUNCTION featstore.online_error_visible(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_error_visible(text) TO featstore_reader;
GRANT SELECT ON featstore.materialization_status TO featstore_reader;
