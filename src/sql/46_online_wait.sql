-- wait_for_online(): block until the worker has written every change this
-- database has queued so far, for scripts, tests and the README's tour that
-- read Redis right after a commit (docs/online-store.md, Functions).
CREATE FUNCTION featstore.wait_for_online(timeout interval DEFAULT '30 seconds')
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	deadline timestamptz;
BEGIN
	IF timeout IS NULL OR timeout < interval '0' OR timeout > interval '1 hour' THEN
		RAISE EXCEPTION 'timeout "%" of wait_for_online is out of range', coalesce(timeout::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass an interval from 0 to 1 hour, such as interval ''10 seconds''.';
	END IF;
	deadline := clock_timestamp() + timeout;
	LOOP
		-- each statement reads a new snapshot (READ COMMITTED): a queue row
		-- disappears when the worker's transaction that wrote it to Redis commits
		IF NOT EXISTS (SELECT 1 FROM featstore.online_queue_depth()) THEN
			RETURN true;
		END IF;
		IF clock_timestamp() >= deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END
$$;
COMMENT ON FUNCTION featstore.wait_for_online(interval) IS 'Waits until the online worker has written every change queued in this database (future-dated revisits and parked rows excepted): true, or false when timeout passed first';
REVOKE ALL ON FUNCTION featstore.wait_for_online(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.wait_for_online(interval) TO featstore_reader;
