-- featstore 0.2.0 -> 0.3.0
-- Security and exactness (issue 8): every function pins its search_path,
-- group tables are read as their owners, online reads check privileges.
\echo Use "ALTER EXTENSION featstore UPDATE TO '0.3.0'" to load this file. \quit

-- worker:
-- A queue row the worker died on three times in a row is parked (state
-- failed) until materialize() of its group; materialization_status shows
-- parked entities, and a group whose last attempt failed as 'error'.
ALTER TABLE featstore.online_queue
	ADD COLUMN attempts integer NOT NULL DEFAULT 0,
	ADD COLUMN state text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'failed')),
	ADD COLUMN last_error text;
COMMENT ON COLUMN featstore.online_queue.attempts IS 'Consecutive attempts of the worker on this row that did not finish (it died meanwhile); counted in a committed transaction before each attempt, reset when one ends';
COMMENT ON COLUMN featstore.online_queue.state IS 'ready: the worker takes it; failed: parked after 3 unfinished attempts, until featstore.materialize() of the group';
COMMENT ON COLUMN featstore.online_queue.last_error IS 'Why the last attempt failed, or why the row was parked (the worker died while processing this row)';

CREATE OR REPLACE FUNCTION featstore.online_queue_depth()
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

CREATE FUNCTION featstore.online_queue_parked()
RETURNS TABLE (group_name text, parked_entities bigint, last_error text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT q.group_name, sum(q.entities)::bigint,
		   (array_agg(q.last_error ORDER BY q.id DESC))[1]
	  FROM featstore.online_queue q
	 WHERE q.state = 'failed'
	 GROUP BY q.group_name
$$;
COMMENT ON FUNCTION featstore.online_queue_parked() IS 'Entities in parked queue rows, per group, with the error of the latest one';
REVOKE ALL ON FUNCTION featstore.online_queue_parked() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_queue_parked() TO featstore_reader;

CREATE OR REPLACE VIEW featstore.materialization_status AS
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
	   p.last_error AS parked_error
  FROM featstore.feature_groups g
 CROSS JOIN featstore.online_worker_status() w
  LEFT JOIN featstore.online_group_status() s ON s.group_name = g.name
  LEFT JOIN featstore.online_queue_depth() q ON q.group_name = g.name
  LEFT JOIN featstore.online_queue_parked() p ON p.group_name = g.name
 WHERE g.online OR q.group_name IS NOT NULL OR p.group_name IS NOT NULL;
COMMENT ON COLUMN featstore.materialization_status.worker_state IS 'idle, pushing, connecting, redis unavailable, error (of the worker, or of this group: its last attempt failed and is retried with backoff), waiting for CREATE EXTENSION, waiting for ALTER EXTENSION UPDATE, stopped';
COMMENT ON COLUMN featstore.materialization_status.parked IS 'Entities in parked queue rows: the worker died while processing them 3 times in a row; they wait until featstore.materialize() of the group';
COMMENT ON COLUMN featstore.materialization_status.parked_error IS 'Why the latest parked row was parked';
