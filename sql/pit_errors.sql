-- Bad input to the point-in-time join: each error names the thing and the fix.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
\set VERBOSITY default
CREATE SCHEMA pit_err;
SET search_path = pit_err, public;

SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY err_user (user_id text);
	CREATE ENTITY err_account (account_id bigint);
	CREATE FEATURE GROUP u ENTITY err_user FEATURES (amount bigint);
	CREATE FEATURE GROUP acct ENTITY err_account FEATURES (amount bigint);
	CREATE FEATURE GROUP ghost ENTITY err_user FEATURES (x bigint);
	CREATE FEATURE SERVICE err_svc FEATURES (u.amount);
$$);
-- a group whose table was renamed behind the registry's back
-- (the event trigger refuses that rename; a superuser can do without it)
SET session_replication_role = replica;
ALTER TABLE ghost RENAME TO ghost_renamed;
RESET session_replication_role;
CREATE TABLE labels (user_id text, account_id bigint, ts timestamptz, y int);
CREATE TYPE r AS (user_id text, account_id bigint, ts timestamptz, y int, amount bigint);

-- spine: missing, missing a key column, a key of the wrong type
SELECT * FROM featstore.pit_join(NULL::r, 'no_such_spine', '{u}');
SELECT * FROM featstore.pit_join(NULL::r, 'SELECT ts, y FROM labels', '{u}');
SELECT * FROM featstore.pit_join(NULL::r, 'SELECT user_id::varchar AS user_id, ts FROM labels', '{u}');
SELECT * FROM featstore.pit_join(NULL::r, 'SELECT account_id::int AS account_id, ts FROM labels', '{acct}');
-- timestamp: none, ambiguous, named but absent, without time zone
SELECT * FROM featstore.pit_join(NULL::r, 'SELECT user_id FROM labels', '{u}');
SELECT * FROM featstore.pit_join(NULL::r, 'SELECT user_id, ts, ts AS ts2 FROM labels', '{u}');
SELECT * FROM featstore.pit_join(NULL::r, 'labels', '{u}', spine_ts => 'when');
SELECT * FROM featstore.pit_join(NULL::r, 'SELECT user_id, ts::timestamp AS ts FROM labels', '{u}');
-- unknown group, feature, service; a service named as a group; a missing table
SELECT * FROM featstore.pit_join(NULL::r, 'labels', '{nope}');
SELECT * FROM featstore.pit_join(NULL::r, 'labels', '{u.nope}');
SELECT * FROM featstore.pit_join(NULL::r, 'labels', service => 'nope');
SELECT * FROM featstore.pit_join(NULL::r, 'labels', '{err_svc}');
SELECT * FROM featstore.pit_join(NULL::r, 'labels', '{ghost}');
SET session_replication_role = replica;
ALTER TABLE ghost_renamed RENAME TO ghost;
RESET session_replication_role;
-- no features at all
SELECT * FROM featstore.pit_join(NULL::r, 'labels');
-- collisions: between groups, and with a spine column
SELECT * FROM featstore.pit_join(NULL::r, 'labels', '{u,acct}');
SELECT * FROM featstore.pit_join(NULL::r, 'SELECT user_id, ts, 1 AS amount FROM labels', '{u}');
-- as_of in the future
SELECT * FROM featstore.pit_join(NULL::r, 'labels', '{u}', as_of => 'infinity');
-- a prototype that does not match the join's columns
SELECT * FROM featstore.pit_join(NULL::labels, 'labels', '{u}');

-- the marker outside a join, or where no PitJoin can take it, never runs
SELECT * FROM u WHERE featstore.pit_match(event_timestamp, created_at, now());
SELECT featstore.pit_match(now(), now(), now());
INSERT INTO u VALUES ('a', '2024-01-01', '2024-01-01', 1);
INSERT INTO labels VALUES ('a', 1, '2024-02-01', 1);
-- an ON condition the node cannot apply (here: a non-key comparison)
SELECT * FROM labels s LEFT JOIN u f ON f.user_id = s.user_id AND f.amount > s.y
	AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
-- the feature side preserved by the outer join
SELECT * FROM labels s RIGHT JOIN u f ON f.user_id = s.user_id
	AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
-- spine and feature columns swapped in the marker
SELECT * FROM labels s LEFT JOIN u f ON f.user_id = s.user_id
	AND featstore.pit_match(s.ts, s.ts, f.event_timestamp);
-- two markers in one join
SELECT * FROM labels s LEFT JOIN u f ON f.user_id = s.user_id
	AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
	AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '1 day');
-- FOR UPDATE needs row locking the node does not offer
SELECT * FROM labels s JOIN u f ON f.user_id = s.user_id
	AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts) FOR UPDATE;

SET client_min_messages = warning;
SELECT command, object_name FROM featstore.exec($$
	DROP FEATURE SERVICE err_svc;
	DROP ENTITY err_user CASCADE;
	DROP ENTITY err_account CASCADE;
$$);
DROP SCHEMA pit_err CASCADE;
