-- monitoring, skew checks (issue 11, part ops): featstore.check_skew() on a
-- group in sync, on one whose history changed behind the capture triggers'
-- back (session_replication_role = replica, as a superuser), the skew alert
-- opening and resolving, a check not done, the errors and the privilege
-- rules.  The online worker serves this database (test/featstore.conf),
-- where the monitor worker is idle (featstore.monitor = off, and
-- featstore.skew_check_interval = 0), so every check here is a manual one.  Redis corrupted with redis-cli, and the schedule,
-- are TAP 076.
\set SHOW_CONTEXT never
CREATE FUNCTION mos_wait_online() RETURNS text LANGUAGE plpgsql AS $$
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
SHOW featstore.skew_check_interval;
SHOW featstore.skew_sample_size;

SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY mos_rider (mos_rider_id bigint);
	CREATE FEATURE GROUP mos_trips ENTITY mos_rider
		FEATURES (trips bigint, city text) ONLINE;
	CREATE FEATURE GROUP mos_offline ENTITY mos_rider FEATURES (x integer);
$$);
INSERT INTO mos_trips (mos_rider_id, event_timestamp, trips, city)
SELECT g, now() - interval '1 hour', g, 'c' || g FROM generate_series(1, 20) g;
SELECT mos_wait_online();

-- in sync: every entity compared, no difference, no alert
SELECT group_name, sample_size, differences, details, trigger, done, error,
	   duration_ms >= 0 AS timed, checked_at = now() AS checked_now
  FROM featstore.check_skew('mos_trips');
SELECT count(*) FROM featstore.alerts WHERE group_name = 'mos_trips';

-- the history changed without capture: Redis keeps entity 3's old value and
-- the key of entity 4, whose rows are gone
SET session_replication_role = replica;
UPDATE mos_trips SET trips = 99 WHERE mos_rider_id = 3;
DELETE FROM mos_trips WHERE mos_rider_id = 4;
RESET session_replication_role;
SELECT sample_size, differences,
	   (SELECT jsonb_agg(d ORDER BY d->>'problem') FROM jsonb_array_elements(details) d) AS details
  FROM featstore.check_skew('mos_trips');
-- the same as verify_online says, with no values in the details
SELECT entity, problem FROM featstore.verify_online('mos_trips') ORDER BY problem;
SELECT kind, group_name, feature_name, resolved_at IS NULL AS open,
	   details - 'check_id' - 'first' AS counts,
	   (SELECT jsonb_agg(d ORDER BY d->>'problem') FROM jsonb_array_elements(details->'first') d) AS first,
	   (details->>'check_id')::bigint = (SELECT max(id) FROM featstore.skew_checks) AS names_its_check
  FROM featstore.alerts WHERE group_name = 'mos_trips';

-- a second check refreshes the open alert, no second alert
SELECT differences FROM featstore.check_skew('mos_trips');
SELECT count(*), count(*) FILTER (WHERE resolved_at IS NULL) AS open, bool_and(last_seen > since) AS refreshed
  FROM featstore.alerts WHERE group_name = 'mos_trips';

-- materialize() rewrites entity 3; the key of entity 4 stays (the walk
-- visits the history's entities only), so the check still finds it
SELECT featstore.materialize('mos_trips');
SELECT mos_wait_online();
SELECT sample_size, differences, details FROM featstore.check_skew('mos_trips');
-- an entity with rows again gets its key rewritten, and a capture of its
-- deletion removes the key: now Redis is in sync
INSERT INTO mos_trips (mos_rider_id, event_timestamp, trips) VALUES (4, now(), 4);
DELETE FROM mos_trips WHERE mos_rider_id = 4;
SELECT mos_wait_online();
-- a clean check with a sample smaller than featstore.skew_sample_size
-- cannot close the alert (it may have missed what the alert is about)...
-- (5 of the table's entities and 5 of Redis's keys: 5 to 10 entities)
SELECT sample_size BETWEEN 5 AND 10 AS sampled, differences FROM featstore.check_skew('mos_trips', 5);
SELECT resolved_at IS NULL AS open FROM featstore.alerts WHERE group_name = 'mos_trips';
-- ...a full one does
SELECT sample_size, differences FROM featstore.check_skew('mos_trips');
SELECT resolved_at IS NULL AS open, resolved_at >= since AS resolved_after
  FROM featstore.alerts WHERE group_name = 'mos_trips';
SELECT trigger, count(*), sum(differences) FROM featstore.skew_checks
 WHERE group_name = 'mos_trips' GROUP BY trigger;

-- bad input
SELECT * FROM featstore.check_skew(NULL);
SELECT * FROM featstore.check_skew('mos_trips', 0);
SELECT * FROM featstore.check_skew('mos_trips', 10000001);
SELECT * FROM featstore.check_skew('mos_nope');
SELECT * FROM featstore.check_skew('mos_offline');
-- a check that fails is the caller's error, and nothing is recorded
SELECT count(*) FROM featstore.skew_checks WHERE group_name IN ('mos_nope', 'mos_offline');

-- privileges: the function takes featstore_reader, then verify_online's rules
CREATE ROLE mos_nobody;
CREATE ROLE mos_reader IN ROLE featstore_reader;
CREATE ROLE mos_granted IN ROLE featstore_reader;
GRANT SELECT ON mos_trips TO mos_granted;
SET ROLE mos_nobody;
SELECT * FROM featstore.check_skew('mos_trips');
RESET ROLE;
SET ROLE mos_reader;
SELECT * FROM featstore.check_skew('mos_trips');
-- nor can a reader read the checks of a group it may not read, or write any
SELECT count(*) FROM featstore.skew_checks WHERE group_name = 'mos_trips';
INSERT INTO featstore.skew_checks (group_name, sample_size, differences, trigger)
VALUES ('mos_trips', 0, 0, 'manual');
UPDATE featstore.skew_checks SET differences = 0;
DELETE FROM featstore.skew_checks;
RESET ROLE;
SET ROLE mos_granted;
SELECT sample_size, differences, trigger FROM featstore.check_skew('mos_trips');
SELECT count(*) > 0 AS sees_checks FROM featstore.skew_checks WHERE group_name = 'mos_trips';
RESET ROLE;
-- row-level security that applies to the caller is refused, as verify_online refuses it
ALTER TABLE mos_trips ENABLE ROW LEVEL SECURITY;
CREATE POLICY mos_some ON mos_trips FOR SELECT USING (mos_rider_id < 10);
SET ROLE mos_granted;
SELECT * FROM featstore.check_skew('mos_trips');
SELECT count(*) AS sees_checks FROM featstore.skew_checks WHERE group_name = 'mos_trips';
RESET ROLE;
DROP POLICY mos_some ON mos_trips;
ALTER TABLE mos_trips DISABLE ROW LEVEL SECURITY;

-- a check not done: the columns' rule
\set VERBOSITY terse
INSERT INTO featstore.skew_checks (group_name, sample_size, differences, trigger, done)
VALUES ('mos_trips', 0, 0, 'schedule', false);
INSERT INTO featstore.skew_checks (group_name, sample_size, differences, trigger, error)
VALUES ('mos_trips', 0, 0, 'schedule', 'oops');
\set VERBOSITY default

SELECT command FROM featstore.exec($$ DROP FEATURE GROUP mos_trips; DROP FEATURE GROUP mos_offline; DROP ENTITY mos_rider; $$);
SELECT count(*) FROM featstore.skew_checks WHERE group_name = 'mos_trips';
DROP ROLE mos_nobody;
DROP ROLE mos_reader;
DROP ROLE mos_granted;
DROP FUNCTION mos_wait_online();
