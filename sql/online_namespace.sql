-- online namespaces (issue 13): the default (the database's name), the
-- checks of set_online_namespace(), the move of every online group's keys,
-- the audit rows, and the launcher's view of this database.  The worker
-- serves this database (test/featstore.conf).
\set SHOW_CONTEXT never
CREATE FUNCTION fs_test_wait_ns() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..300 LOOP
		IF NOT EXISTS (SELECT 1 FROM featstore.online_queue_depth())
		   AND (SELECT state FROM featstore.online_worker_status()) = 'idle' THEN
			RETURN 'caught up';
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN 'timed out';
END
$$;

SELECT featstore.online_namespace();
SELECT is_default, namespace FROM featstore.online_namespace;

SELECT command FROM featstore.exec($$
	CREATE ENTITY ns_user (user_id text);
	CREATE FEATURE GROUP ns_g ENTITY ns_user FEATURES (v bigint 'A value') ONLINE;
$$);
INSERT INTO ns_g (user_id, event_timestamp, v) VALUES
	('u1', now() - interval '1 hour', 1), ('a:b', now() - interval '1 hour', 2);
SELECT fs_test_wait_ns();
SELECT status, features, redis_key FROM featstore.online_features('ns_g', 'u1');

-- bad arguments and callers
SELECT featstore.set_online_namespace(NULL);
SELECT featstore.set_online_namespace(repeat('x', 129));
CREATE ROLE ns_editor LOGIN IN ROLE featstore_editor;
SET ROLE ns_editor;
SELECT featstore.set_online_namespace('mine');
SELECT featstore.online_namespace();
RESET ROLE;

-- the same namespace is no move
SELECT featstore.set_online_namespace('contrib_regression');

-- a move: written under the new namespace (escaped like a key part), the
-- old keys purged, verify_online clean
SELECT featstore.set_online_namespace('team:{a}%');
SELECT featstore.online_namespace();
SELECT fs_test_wait_ns();
SELECT status, features, redis_key FROM featstore.online_features('ns_g', 'u1');
SELECT status, redis_key FROM featstore.online_features('ns_g', 'a:b');
SELECT * FROM featstore.verify_online('ns_g');
SELECT is_default, namespace FROM featstore.online_namespace ORDER BY is_default;

-- the legacy layout, then back to the default
SELECT featstore.set_online_namespace('');
SELECT fs_test_wait_ns();
SELECT status, redis_key FROM featstore.online_features('ns_g', 'u1');
SELECT * FROM featstore.verify_online('ns_g');
SELECT featstore.set_online_namespace('contrib_regression');
SELECT fs_test_wait_ns();
SELECT status, redis_key FROM featstore.online_features('ns_g', 'u1');
SELECT * FROM featstore.verify_online('ns_g');
SELECT changed_by = current_user AS by_me, old_namespace, new_namespace, groups_moved
  FROM featstore.online_namespace_history ORDER BY changed_at, old_namespace;

-- in a transaction that rolls back, nothing moves
BEGIN;
SELECT featstore.set_online_namespace('rolled_back');
SELECT featstore.online_namespace();
ROLLBACK;
SELECT featstore.online_namespace();

-- the launcher's view: this database is served, by one worker and one monitor
SELECT database, state, worker_pid IS NOT NULL AS has_worker, monitor_pid IS NOT NULL AS has_monitor
  FROM featstore.online_databases() WHERE database = current_database();

SELECT command FROM featstore.exec($$ DROP FEATURE GROUP ns_g; DROP ENTITY ns_user; $$);
DROP ROLE ns_editor;
DROP FUNCTION fs_test_wait_ns();

-- wait_for_online(): a change this transaction queued cannot be written
-- before it commits, so the wait times out (false); TAP 050 (the README's
-- tour) shows the true case with a running worker
BEGIN;
SELECT command FROM featstore.exec($$
	CREATE ENTITY wait_user (user_id bigint);
	CREATE FEATURE GROUP wait_g ENTITY wait_user FEATURES (x integer) ONLINE;
$$);
INSERT INTO wait_g (user_id, event_timestamp, x) VALUES (1, now(), 1);
SELECT featstore.wait_for_online(interval '0') AS caught_up;
SELECT featstore.wait_for_online(interval '50 milliseconds') AS caught_up;
ROLLBACK;
SELECT featstore.wait_for_online(interval '-1 second');
SELECT featstore.wait_for_online(NULL);
SELECT featstore.wait_for_online(interval '2 hours');
