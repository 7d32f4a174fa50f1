-- featstore roles.  Roles belong to the whole cluster, so they are created
-- only if missing (another database may have created them) and survive
-- DROP EXTENSION.
--   featstore_reader: browses the registry and catalog views, changes nothing
--   featstore_editor: also runs featstore DDL (a member of featstore_reader)

\echo Use "CREATE EXTENSION featstore" to load this file. \quit

DO $roles$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'featstore_reader') THEN
		CREATE ROLE featstore_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'featstore_editor') THEN
		CREATE ROLE featstore_editor NOLOGIN IN ROLE featstore_reader;
	END IF;
END
$roles$;
