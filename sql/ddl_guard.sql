-- ddl_guard: the event trigger refuses changes that would take a group's
-- table out of the shape the registry records, and every read of a group
-- checks that shape anyway (a superuser can run without event triggers).
\set SHOW_CONTEXT never
CREATE ROLE regress_mallory LOGIN IN ROLE featstore_editor;
CREATE SCHEMA mallory AUTHORIZATION regress_mallory;
SET ROLE regress_mallory;
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY guard_user (user_id text);
	CREATE FEATURE GROUP mallory.guard_g ENTITY guard_user
		FEATURES (v bigint 'A value', note text) ONLINE;
	CREATE FEATURE GROUP mallory.guard_off ENTITY guard_user FEATURES (w integer);
$$);

-- refused: the type, existence, name and NOT NULL of managed columns
ALTER TABLE mallory.guard_g ALTER COLUMN user_id TYPE bigint USING user_id::bigint;
ALTER TABLE mallory.guard_g ALTER COLUMN v TYPE numeric;
ALTER TABLE mallory.guard_g ALTER COLUMN note TYPE text COLLATE "C";
ALTER TABLE mallory.guard_g ALTER COLUMN event_timestamp TYPE timestamp;
ALTER TABLE mallory.guard_g DROP COLUMN v;
ALTER TABLE mallory.guard_g DROP COLUMN IF EXISTS user_id;
ALTER TABLE mallory.guard_g DROP COLUMN created_at;
ALTER TABLE mallory.guard_g RENAME COLUMN note TO remark;
ALTER TABLE mallory.guard_g RENAME user_id TO uid;
ALTER TABLE mallory.guard_g ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE mallory.guard_g ALTER COLUMN event_timestamp DROP NOT NULL;
-- one refused subcommand refuses the statement
ALTER TABLE mallory.guard_g ADD COLUMN extra integer, DROP COLUMN note;
-- the table's name and schema, and rules (a view, or writes past capture)
ALTER TABLE mallory.guard_g RENAME TO guard_h;
ALTER TABLE mallory.guard_g SET SCHEMA public;
CREATE RULE guard_nothing AS ON INSERT TO mallory.guard_g DO INSTEAD NOTHING;
CREATE RULE "_RETURN" AS ON SELECT TO mallory.guard_g DO INSTEAD
	SELECT 'x'::text AS user_id, now() AS event_timestamp, now() AS created_at,
		   1::bigint AS v, 'n'::text AS note;
-- featstore's capture triggers: dropped or disabled, changes would stop
-- reaching Redis
DROP TRIGGER featstore_online_insert ON mallory.guard_g;
ALTER TABLE mallory.guard_g DISABLE TRIGGER featstore_online_update;
ALTER TABLE mallory.guard_g ENABLE REPLICA TRIGGER featstore_online_delete;
ALTER TABLE mallory.guard_g DISABLE TRIGGER ALL;
ALTER TABLE mallory.guard_g DISABLE TRIGGER USER;
-- through a parent table: ALTER TABLE recurses into the group's table
CREATE TABLE mallory.guard_parent (user_id text NOT NULL);
ALTER TABLE mallory.guard_g INHERIT mallory.guard_parent;
ALTER TABLE mallory.guard_parent ALTER COLUMN user_id TYPE varchar(10);
ALTER TABLE mallory.guard_parent RENAME COLUMN user_id TO uid;
ALTER TABLE mallory.guard_g NO INHERIT mallory.guard_parent;
DROP TABLE mallory.guard_parent;
\d mallory.guard_g

-- allowed: unmanaged columns, indexes, comments, policies, triggers, defaults
ALTER TABLE mallory.guard_g ADD COLUMN extra integer;
ALTER TABLE mallory.guard_g RENAME COLUMN extra TO extra2;
ALTER TABLE mallory.guard_g ALTER COLUMN extra2 TYPE bigint;
ALTER TABLE mallory.guard_g DROP COLUMN extra2;
ALTER TABLE mallory.guard_g ALTER COLUMN note DROP NOT NULL;
ALTER TABLE mallory.guard_g ALTER COLUMN v SET STATISTICS 200;
ALTER TABLE mallory.guard_g ALTER COLUMN created_at SET DEFAULT now();
CREATE INDEX guard_g_v ON mallory.guard_g (v);
CREATE INDEX guard_g_lower ON mallory.guard_g (lower(note)) WHERE v > 0;
COMMENT ON COLUMN mallory.guard_g.v IS 'Still a value';
CREATE POLICY guard_all ON mallory.guard_g USING (true);
CREATE FUNCTION mallory.guard_noop() RETURNS trigger LANGUAGE plpgsql AS
$f$BEGIN RETURN NEW; END$f$;
CREATE TRIGGER guard_noop BEFORE INSERT ON mallory.guard_g
	FOR EACH ROW EXECUTE FUNCTION mallory.guard_noop();
ALTER TABLE mallory.guard_g DISABLE TRIGGER guard_noop;
ALTER TABLE mallory.guard_g ENABLE TRIGGER guard_noop;
ALTER TABLE mallory.guard_off DISABLE TRIGGER ALL;
ALTER TABLE mallory.guard_off ENABLE TRIGGER ALL;
-- featstore's own changes to the table pass
DO LANGUAGE featstore $$ ALTER FEATURE GROUP guard_off ADD FEATURE w2 integer $$;
SELECT featstore.check_feature_group('guard_g');
SELECT featstore.check_feature_group('guard_off');

-- but an index (or statistics object) that runs code of the owner's when
-- the table is planned is refused as it is created (featstore_guard_code,
-- at ddl_command_end), and so is an exclusion constraint's predicate
CREATE FUNCTION mallory.guard_f(text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE FUNCTION mallory.guard_p(bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
CREATE INDEX guard_g_f ON mallory.guard_g (mallory.guard_f(note));
CREATE INDEX guard_g_p ON mallory.guard_g (v) WHERE mallory.guard_p(v);
CREATE STATISTICS mallory.guard_s ON (mallory.guard_f(note)), v FROM mallory.guard_g;
ALTER TABLE mallory.guard_g ADD CONSTRAINT guard_x EXCLUDE (v WITH =) WHERE (mallory.guard_p(v));
SELECT featstore.check_feature_group('guard_g');
RESET ROLE;
-- made all the same with event triggers off (a superuser can), either makes
-- every read refuse the table
SET session_replication_role = replica;
SET ROLE regress_mallory;
CREATE INDEX guard_g_f ON mallory.guard_g (mallory.guard_f(note));
RESET ROLE;
RESET session_replication_role;
SET ROLE regress_mallory;
SELECT featstore.check_feature_group('guard_g');
DROP INDEX mallory.guard_g_f;
RESET ROLE;
SET session_replication_role = replica;
SET ROLE regress_mallory;
CREATE STATISTICS mallory.guard_s ON (mallory.guard_f(note)), v FROM mallory.guard_g;
RESET ROLE;
RESET session_replication_role;
SET ROLE regress_mallory;
SELECT featstore.check_feature_group('guard_g');
DROP STATISTICS mallory.guard_s;
DROP FUNCTION mallory.guard_f(text);
DROP FUNCTION mallory.guard_p(bigint);

-- a child table: featstore reads the group's own rows only
CREATE TABLE mallory.guard_child () INHERITS (mallory.guard_g);
SELECT featstore.check_feature_group('guard_g');
DROP TABLE mallory.guard_child;

-- the capture trigger runs on its group's table only
CREATE TABLE mallory.decoy (user_id text, event_timestamp timestamptz);
CREATE TRIGGER decoy_capture AFTER INSERT ON mallory.decoy
	REFERENCING NEW TABLE AS featstore_new
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.online_capture('guard_g', 'user_id');
INSERT INTO mallory.decoy VALUES ('forged', now());
CREATE TRIGGER decoy_truncate AFTER TRUNCATE ON mallory.decoy
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.online_capture('guard_g', 'user_id');
TRUNCATE mallory.decoy;
DROP TABLE mallory.decoy;
RESET ROLE;
SELECT count(*) AS queued_for_guard_g FROM featstore.online_queue WHERE group_name = 'guard_g';

-- without event triggers the ALTERs go through, and every read of the group
-- refuses its table instead: materialize(), verify_online(), pit_join()
CREATE TEMP TABLE guard_spine (user_id text, ts timestamptz);
SET session_replication_role = replica;
ALTER TABLE mallory.guard_g ALTER COLUMN user_id TYPE bigint USING user_id::bigint;
RESET session_replication_role;
SELECT featstore.materialize('guard_g');
SELECT * FROM featstore.verify_online('guard_g');
SELECT featstore.pit_join_sql('guard_spine', ARRAY['guard_g.v']);
SELECT featstore.check_feature_group('guard_g');
SET session_replication_role = replica;
ALTER TABLE mallory.guard_g ALTER COLUMN user_id TYPE text;
ALTER TABLE mallory.guard_g ALTER COLUMN user_id TYPE text COLLATE "C";
RESET session_replication_role;
SELECT featstore.materialize('guard_g');
SET session_replication_role = replica;
ALTER TABLE mallory.guard_g ALTER COLUMN user_id TYPE text COLLATE "default";
ALTER TABLE mallory.guard_g ALTER COLUMN v TYPE numeric(10,2);
RESET session_replication_role;
SELECT featstore.materialize('guard_g');
SET session_replication_role = replica;
ALTER TABLE mallory.guard_g ALTER COLUMN v TYPE bigint;
ALTER TABLE mallory.guard_g DROP COLUMN note;
RESET session_replication_role;
SELECT featstore.materialize('guard_g');
SELECT featstore.pit_join_sql('guard_spine', ARRAY['guard_g.v']);
SET session_replication_role = replica;
ALTER TABLE mallory.guard_g ADD COLUMN note text;
ALTER TABLE mallory.guard_g ALTER COLUMN created_at DROP NOT NULL;
RESET session_replication_role;
SELECT featstore.materialize('guard_g');
SET session_replication_role = replica;
ALTER TABLE mallory.guard_g ALTER COLUMN created_at SET NOT NULL;
-- a view in the table's place
ALTER TABLE mallory.guard_off RENAME TO guard_off_old;
CREATE VIEW mallory.guard_off AS SELECT * FROM mallory.guard_off_old;
RESET session_replication_role;
SELECT featstore.pit_join_sql('guard_spine', ARRAY['guard_off.w']);
SELECT featstore.check_feature_group('guard_off');
SET session_replication_role = replica;
DROP VIEW mallory.guard_off;
ALTER TABLE mallory.guard_off_old RENAME TO guard_off;
RESET session_replication_role;
-- restored: the reads work again
SELECT featstore.check_feature_group('guard_g');
SELECT featstore.materialize('guard_g');
SELECT featstore.check_feature_group('guard_off');
SELECT featstore.pit_join_sql('guard_spine', ARRAY['guard_off.w']) IS NOT NULL AS joins;

-- materialize() needs what reading the table needs
CREATE ROLE regress_bob LOGIN IN ROLE featstore_editor;
SET ROLE regress_bob;
SELECT featstore.materialize('guard_g');
RESET ROLE;
GRANT USAGE ON SCHEMA mallory TO regress_bob;
SET ROLE regress_bob;
SELECT featstore.materialize('guard_g');
RESET ROLE;
GRANT SELECT ON mallory.guard_g TO regress_bob;
SET ROLE regress_bob;
SELECT featstore.materialize('guard_g');
RESET ROLE;

SET ROLE regress_mallory;
DO LANGUAGE featstore $$
	DROP FEATURE GROUP guard_g;
	DROP FEATURE GROUP guard_off;
	DROP ENTITY guard_user;
$$;
DROP FUNCTION mallory.guard_noop();
RESET ROLE;
DROP SCHEMA mallory;
DROP ROLE regress_mallory, regress_bob;
