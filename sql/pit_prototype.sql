-- pit_join without its prototype reaches a featstore error that says what
-- the first argument is and gives the create_pit_view command for this spine
-- and these features.  create_pit_view(..., or_replace => true) replaces a
-- prototype that a group or service change broke, as the hint of pit_join
-- says, also when columns go away or change (drop and create, keeping the
-- comment, options and grants), and refuses when something depends on it.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
\set VERBOSITY default
CREATE SCHEMA pit_proto;
SET search_path = pit_proto, public;

SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY proto_user (user_id text);
	CREATE FEATURE GROUP pit_proto.proto_g ENTITY proto_user FEATURES (a bigint, b text);
	CREATE FEATURE SERVICE proto_svc FEATURES (proto_g.a);
$$);
INSERT INTO proto_g (user_id, event_timestamp, created_at, a, b) VALUES
	('u1', '2024-01-10', '2024-01-10', 1, 'one'),
	('u2', '2024-01-10', '2024-01-10', 2, 'two');
CREATE TABLE labels (user_id text, ts timestamptz, y int);
INSERT INTO labels VALUES ('u1', '2024-01-11', 1), ('u2', '2024-01-11', 0);

-- without the prototype: the issue's call, a spine query with a service,
-- every option, and a qualified spine name
\set VERBOSITY verbose
SELECT * FROM featstore.pit_join('labels', features => '{proto_g}');
\set VERBOSITY default
SELECT * FROM featstore.pit_join('SELECT * FROM labels', service => 'proto_svc');
SELECT * FROM featstore.pit_join('pit_proto.labels', features => '{proto_g.a,proto_g.b}',
	spine_ts => 'ts', as_of => '2024-02-01 00:00+00', strict => true, qualified => true);
SELECT featstore.pit_join(spine => 'labels', features => '{proto_g}');

-- the hint, as written, works
SELECT featstore.create_pit_view('labels_pit', 'labels', features => '{proto_g}');
SELECT * FROM featstore.pit_join(NULL::labels_pit, 'labels', features => '{proto_g}') ORDER BY user_id;

-- a group change breaks the prototype; its hint replaces it
SELECT command, detail FROM featstore.exec($$ ALTER FEATURE GROUP proto_g ADD FEATURE c integer $$);
SELECT * FROM featstore.pit_join(NULL::labels_pit, 'labels', features => '{proto_g}');
SELECT featstore.create_pit_view('labels_pit', 'labels', features => '{proto_g}');
SELECT featstore.create_pit_view('labels_pit', 'labels', features => '{proto_g}', or_replace => true);
SELECT * FROM featstore.pit_join(NULL::labels_pit, 'labels', features => '{proto_g}') ORDER BY user_id;

-- a service change, the same way
SELECT featstore.create_pit_view('svc_pit', 'labels', service => 'proto_svc');
SELECT command FROM featstore.exec($$
	DROP FEATURE SERVICE proto_svc;
	CREATE FEATURE SERVICE proto_svc FEATURES (proto_g.a, proto_g.c);
$$);
SELECT * FROM featstore.pit_join(NULL::svc_pit, 'labels', service => 'proto_svc');
SELECT featstore.create_pit_view('svc_pit', 'labels', service => 'proto_svc', or_replace => true);
SELECT * FROM featstore.pit_join(NULL::svc_pit, 'labels', service => 'proto_svc') ORDER BY user_id;

-- columns that go away or change: dropped and created again, with the
-- view's comment, options and grants
CREATE ROLE fs_proto_bi;
COMMENT ON VIEW labels_pit IS 'training set v1';
GRANT SELECT ON labels_pit TO fs_proto_bi;
ALTER VIEW labels_pit SET (security_barrier = true);
SELECT featstore.create_pit_view('labels_pit', 'labels', features => '{proto_g.b}', or_replace => true);
SELECT attname, atttypid::regtype FROM pg_attribute
 WHERE attrelid = 'labels_pit'::regclass AND attnum > 0 ORDER BY attnum;
SELECT obj_description('labels_pit'::regclass, 'pg_class'), relacl, reloptions
  FROM pg_class WHERE oid = 'labels_pit'::regclass;
SELECT * FROM labels_pit ORDER BY user_id;

-- something depends on it: refused, naming it, and nothing changed
CREATE VIEW labels_dep AS SELECT user_id, b FROM labels_pit;
SELECT featstore.create_pit_view('labels_pit', 'labels', features => '{proto_g.a}', or_replace => true);
DROP VIEW labels_dep;
CREATE FUNCTION proto_fn(r labels_pit) RETURNS int LANGUAGE sql AS 'SELECT 1';
SELECT featstore.create_pit_view('labels_pit', 'labels', features => '{proto_g.a}', or_replace => true);
DROP FUNCTION proto_fn(labels_pit);
SELECT attname FROM pg_attribute WHERE attrelid = 'labels_pit'::regclass AND attnum > 0 ORDER BY attnum;

-- or_replace of a name that is free creates the view; of a table, refused
SELECT featstore.create_pit_view('pit_proto.fresh_pit', 'labels', features => '{proto_g.a}', or_replace => true);
SELECT featstore.create_pit_view('labels', 'labels', features => '{proto_g.a}', or_replace => true);

DROP VIEW pit_proto.labels_pit, pit_proto.svc_pit, pit_proto.fresh_pit;
SELECT command FROM featstore.exec($$
	DROP FEATURE SERVICE proto_svc;
	DROP FEATURE GROUP proto_g;
	DROP ENTITY proto_user;
$$);
RESET search_path;
DROP SCHEMA pit_proto CASCADE;
DROP ROLE fs_proto_bi;
