-- featstore online namespaces (issue 13): each database's Redis keys live
-- under a namespace of its own, <prefix>:<namespace>:{<entity>:<keys>}:<group>,
-- so two databases of one cluster with the same groups and entities never
-- collide in one Redis.  See docs/online-store.md, "Namespaces".

CREATE TABLE featstore.online_namespace (
	is_default	boolean PRIMARY KEY,
	namespace	text NOT NULL CHECK (pg_catalog.octet_length(namespace) <= 128),
	set_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	set_by		name NOT NULL DEFAULT SESSION_USER
);
COMMENT ON TABLE featstore.online_namespace IS 'The namespace of this database''s Redis keys: the row set by set_online_namespace() (or kept by an upgrade from 0.2.0) if any, else the default one, the database''s name at CREATE EXTENSION';
COMMENT ON COLUMN featstore.online_namespace.is_default IS 'true: the row CREATE EXTENSION wrote; false: the row set_online_namespace() or the upgrade from 0.2.0 wrote, which wins and is the one pg_dump keeps';
COMMENT ON COLUMN featstore.online_namespace.namespace IS 'The namespace; empty: the legacy layout <prefix>:{<entity>:<keys>}:<group> of 0.2.0';
COMMENT ON COLUMN featstore.online_namespace.set_at IS 'When it was set';
COMMENT ON COLUMN featstore.online_namespace.set_by IS 'Session role that set it';
SELECT pg_catalog.pg_extension_config_dump('featstore.online_namespace', 'WHERE NOT is_default');
REVOKE ALL ON featstore.online_namespace FROM PUBLIC;
GRANT SELECT ON featstore.online_namespace TO featstore_reader;

CREATE TABLE featstore.online_namespace_history (
	changed_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	changed_by	name NOT NULL DEFAULT SESSION_USER,
	old_namespace text NOT NULL,
	new_namespace text NOT NULL,
	groups_moved integer NOT NULL
);
COMMENT ON TABLE featstore.online_namespace_history IS 'Audit trail of set_online_namespace(): one row per change of the namespace';
COMMENT ON COLUMN featstore.online_namespace_history.changed_at IS 'Start time of the transaction that changed it';
COMMENT ON COLUMN featstore.online_namespace_history.changed_by IS 'Session role that changed it';
COMMENT ON COLUMN featstore.online_namespace_history.old_namespace IS 'The namespace before, whose keys the worker purges';
COMMENT ON COLUMN featstore.online_namespace_history.new_namespace IS 'The namespace after, under which the worker rewrites every online group';
COMMENT ON COLUMN featstore.online_namespace_history.groups_moved IS 'Online groups queued for the move';
SELECT pg_catalog.pg_extension_config_dump('featstore.online_namespace_history', '');
REVOKE ALL ON featstore.online_namespace_history FROM PUBLIC;
GRANT SELECT ON featstore.online_namespace_history TO featstore_reader;

ALTER TABLE featstore.online_queue ADD COLUMN namespace text;
COMMENT ON COLUMN featstore.online_queue.namespace IS 'purge: the namespace whose keys of the group go, as it was when the purge was queued (NULL: the current one)';

CREATE FUNCTION featstore.online_namespace()
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT n.namespace FROM featstore.online_namespace n ORDER BY n.is_default LIMIT 1
$$;
COMMENT ON FUNCTION featstore.online_namespace() IS 'The namespace of this database''s Redis keys, <prefix>:<namespace>:{<entity>:<keys>}:<group>; empty: the legacy layout <prefix>:{<entity>:<keys>}:<group>';
REVOKE ALL ON FUNCTION featstore.online_namespace() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_namespace() TO featstore_reader;

CREATE FUNCTION featstore.set_online_namespace(namespace text)
RETURNS integer
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'set_online_namespace';
COMMENT ON FUNCTION featstore.set_online_namespace(text) IS 'Move this database''s Redis keys to another namespace: the worker rewrites every online group under it and purges the old namespace''s keys; returns how many online groups move.  Needs the extension owner or featstore_admin';
-- Callable by all; the function itself admits the extension owner and members
-- of featstore_admin only (the role is optional: created by the administrator).

-- One online worker and one monitor worker per database (issue 13): what the
-- launcher does with each database it follows, from shared memory.
CREATE FUNCTION featstore.online_databases()
RETURNS TABLE (database name, state text, worker_pid integer, monitor_pid integer)
LANGUAGE C
AS 'MODULE_PATHNAME', 'online_databases';
COMMENT ON FUNCTION featstore.online_databases() IS 'The databases the online launcher follows (those featstore.database admits): served (with the pids of their online and monitor workers), not served because featstore.max_online_workers are taken, featstore not installed, looking for featstore, stopping';
REVOKE ALL ON FUNCTION featstore.online_databases() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_databases() TO featstore_reader;

-- A fresh install's namespace: the database's name.  (An upgrade from 0.2.0
-- writes '' instead, the legacy layout, as a set row that pg_dump keeps.)
INSERT INTO featstore.online_namespace (is_default, namespace)
	VALUES (true, pg_catalog.current_database());
