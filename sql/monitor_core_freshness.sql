-- freshness and alerts (issue 11, part core): featstore.check_freshness()
-- opens, refreshes and resolves stale_data and transformation_stale alerts;
-- what each sees; resolve_alert(); group_health; who sees which rows.  The
-- monitor worker is off here (test/featstore.conf), so only these calls
-- check; online conditions are TAP test 070's.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE ROLE mc_al_owner LOGIN IN ROLE featstore_editor;
CREATE ROLE mc_al_editor LOGIN IN ROLE featstore_editor;
CREATE ROLE mc_al_reader LOGIN IN ROLE featstore_reader;
CREATE ROLE mc_al_granted LOGIN IN ROLE featstore_reader;
CREATE ROLE mc_al_nobody LOGIN;
CREATE SCHEMA al AUTHORIZATION mc_al_owner;
GRANT USAGE ON SCHEMA al TO mc_al_granted;

SET ROLE mc_al_owner;
SET search_path = al, public;
CREATE TABLE al.events (user_id bigint, ts timestamptz, amount numeric);
INSERT INTO al.events VALUES (1, '2000-01-01 00:00+00', 5), (2, '2000-01-02 00:00+00', 7);
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY al_user (user_id bigint);
	CREATE FEATURE GROUP al_stale ENTITY al_user FEATURES (x integer, y text) FRESHNESS '1 hour';
	CREATE FEATURE GROUP al_fresh ENTITY al_user FEATURES (x integer) FRESHNESS '1 day';
	CREATE FEATURE GROUP al_empty ENTITY al_user FEATURES (x integer) FRESHNESS '1 hour';
	CREATE FEATURE GROUP al_future ENTITY al_user FEATURES (x integer) FRESHNESS '1 hour';
	CREATE FEATURE GROUP al_none ENTITY al_user FEATURES (x integer);
	CREATE FEATURE GROUP al_src ENTITY al_user FROM al.events TIMESTAMP ts
		FEATURES (spend numeric AS sum(amount) OVER '7 days') FRESHNESS '1 hour';
	CREATE FEATURE GROUP al_xform ENTITY al_user
		AS SELECT user_id, pg_catalog.now() AS event_timestamp, 1 AS x FROM al.events
		SCHEDULE MANUAL FEATURES (x integer) FRESHNESS '1 second';
$$);
INSERT INTO al_stale (user_id, event_timestamp, x, y) VALUES
	(1, '2000-01-01 00:00+00', 1, 'a'), (2, '2000-01-03 00:00+00', 2, 'b');
INSERT INTO al_fresh (user_id, event_timestamp, x) VALUES (1, now() - interval '1 hour', 1);
-- only a future-dated row: it does not make the group fresh
INSERT INTO al_future (user_id, event_timestamp, x) VALUES (1, now() + interval '1 day', 1);
INSERT INTO al_none (user_id, event_timestamp, x) VALUES (1, '2000-01-01 00:00+00', 1);
GRANT SELECT ON al_stale TO mc_al_granted;
RESET ROLE;
-- the transformation has not succeeded within its SLA of a second
SELECT pg_sleep(1.2);

-- the check: one alert per breached group; the details carry no data values
SELECT featstore.check_freshness() AS groups_checked;
SELECT kind, group_name, feature_name, details - 'age' - 'last_error_at' AS details,
	   (details->>'age')::float > 3600 AS age_over_an_hour,
	   since = last_seen AS first_seen, resolved_at IS NULL AS open
  FROM featstore.alerts WHERE group_name LIKE 'al\_%' ORDER BY group_name, kind;
SELECT group_name,
	   CASE WHEN newest_event > now() - interval '1 day' THEN 'within a day' ELSE newest_event::text END AS newest_event,
	   full_scan_at = checked_at AS full_scan, worker_failing_since
  FROM featstore.freshness_checks WHERE group_name LIKE 'al\_%' ORDER BY group_name;

-- a second check refreshes the open alerts (last_seen), opens no new ones,
-- and asks only for events at or after the newest seen
SELECT featstore.check_freshness() AS groups_checked;
SELECT kind, group_name, last_seen > since AS refreshed, resolved_at IS NULL AS open
  FROM featstore.alerts WHERE group_name LIKE 'al\_%' ORDER BY group_name, kind;
SELECT group_name, full_scan_at < checked_at AS incremental
  FROM featstore.freshness_checks WHERE group_name LIKE 'al\_%' ORDER BY group_name;

-- the conditions go: fresh rows, a refresh, an SLA removed
SET ROLE mc_al_owner;
INSERT INTO al.al_stale (user_id, event_timestamp, x, y) VALUES (3, now() - interval '5 minutes', 3, 'c');
INSERT INTO al.events VALUES (3, now() - interval '1 minute', 9);
SELECT featstore.refresh('al_xform') AS rows_appended;
-- (a longer SLA from now on, so that a slow machine cannot breach it again)
DO LANGUAGE featstore $$
	ALTER FEATURE GROUP al_xform SET FRESHNESS '1 day';
	ALTER FEATURE GROUP al_empty SET FRESHNESS NONE;
$$;
-- and one comes: the fresh group's rows are deleted (the newest is read again in full)
DELETE FROM al.al_fresh;
RESET ROLE;
SELECT featstore.check_freshness() AS groups_checked;
SELECT kind, group_name, resolved_at IS NULL AS open, resolved_at >= last_seen AS resolved_after_seen
  FROM featstore.alerts WHERE group_name LIKE 'al\_%' ORDER BY group_name, kind, since;
SELECT group_name, newest_event IS NOT NULL AS has_newest, full_scan_at = checked_at AS full_scan
  FROM featstore.freshness_checks WHERE group_name LIKE 'al\_%' ORDER BY group_name;

-- group_health: one row per group, SLA against the newest event seen
SELECT group_name, freshness, freshness_met, age > interval '1 hour' AS old, materialization_lag,
	   queue_depth, worker_state, last_stats_at, open_alerts, open_alert_kinds, last_skew_check_at, status
  FROM featstore.group_health WHERE group_name LIKE 'al\_%' ORDER BY group_name;

-- resolve_alert: an on-call editor who can read the group closes an alert
-- by hand; the next check opens a new one if the condition persists
SELECT id AS future_alert FROM featstore.alerts
 WHERE group_name = 'al_future' AND resolved_at IS NULL \gset
SET ROLE mc_al_owner;
SELECT featstore.resolve_alert(:future_alert);
-- again: a NOTICE that it is already resolved (its id varies, so it is hidden here)
SET client_min_messages = warning;
SELECT featstore.resolve_alert(:future_alert);
RESET client_min_messages;
SELECT featstore.resolve_alert(-1);
SELECT featstore.resolve_alert(NULL);
RESET ROLE;
SELECT kind, details->>'resolved_by' AS resolved_by, resolved_at IS NOT NULL AS resolved
  FROM featstore.alerts WHERE id = :future_alert;
SELECT featstore.check_freshness() AS groups_checked;
SELECT count(*) FILTER (WHERE resolved_at IS NULL) AS open, count(*) AS total
  FROM featstore.alerts WHERE group_name = 'al_future';
-- an editor who cannot read the group does not see its alert, a reader may not resolve
SELECT id AS src_alert FROM featstore.alerts
 WHERE group_name = 'al_fresh' AND resolved_at IS NULL \gset
SET ROLE mc_al_editor;
-- (the message names the id, which varies: the SQLSTATE only)
\set VERBOSITY sqlstate
SELECT featstore.resolve_alert(:src_alert);
\set VERBOSITY default
RESET ROLE;
SET ROLE mc_al_granted;
SELECT featstore.resolve_alert(:src_alert);
RESET ROLE;
SET ROLE mc_al_nobody;
SELECT featstore.resolve_alert(:src_alert);
SELECT featstore.check_freshness();
RESET ROLE;
SET ROLE mc_al_reader;
SELECT featstore.check_freshness();
RESET ROLE;

-- who sees what: a reader without grants sees no alert, no check, no
-- health row; one granted SELECT on al_stale sees exactly that group's
SET ROLE mc_al_reader;
SELECT count(*) AS alerts FROM featstore.alerts WHERE group_name LIKE 'al\_%';
SELECT count(*) AS checks FROM featstore.freshness_checks WHERE group_name LIKE 'al\_%';
SELECT count(*) AS health_rows FROM featstore.group_health WHERE group_name LIKE 'al\_%';
RESET ROLE;
SET ROLE mc_al_granted;
SELECT DISTINCT group_name FROM featstore.alerts WHERE group_name LIKE 'al\_%';
SELECT group_name, newest_event IS NOT NULL AS has_newest FROM featstore.freshness_checks
 WHERE group_name LIKE 'al\_%';
SELECT group_name, status FROM featstore.group_health WHERE group_name LIKE 'al\_%';
RESET ROLE;
SET ROLE mc_al_nobody;
SELECT count(*) FROM featstore.alerts;
SELECT count(*) FROM featstore.group_health;
RESET ROLE;

-- nobody writes the tables but featstore: not the group's owner, not an editor
SET ROLE mc_al_owner;
INSERT INTO featstore.alerts (kind, group_name) VALUES ('stale_data', 'al_none');
UPDATE featstore.alerts SET resolved_at = now() WHERE group_name = 'al_stale';
DELETE FROM featstore.freshness_checks;
RESET ROLE;

-- a dropped group takes its alerts and its check with it
SET ROLE mc_al_owner;
DO LANGUAGE featstore $$ DROP FEATURE GROUP al_src $$;
RESET ROLE;
SELECT count(*) AS src_alerts FROM featstore.alerts WHERE group_name = 'al_src';
SELECT count(*) AS src_checks FROM featstore.freshness_checks WHERE group_name = 'al_src';
SELECT featstore.check_freshness() AS groups_checked;

SET ROLE mc_al_owner;
DO LANGUAGE featstore $$
	DROP FEATURE GROUP al_stale; DROP FEATURE GROUP al_fresh; DROP FEATURE GROUP al_empty;
	DROP FEATURE GROUP al_future; DROP FEATURE GROUP al_none; DROP FEATURE GROUP al_xform;
	DROP ENTITY al_user;
$$;
DROP TABLE al.events;
RESET ROLE;
RESET search_path;
DROP SCHEMA al;
DROP ROLE mc_al_owner, mc_al_editor, mc_al_reader, mc_al_granted, mc_al_nobody;
