-- The featstore statement language and the SQL registry functions.  Both
-- run the same C registry operations; see docs/ddl.md.

CREATE FUNCTION featstore.featstore_call_handler() RETURNS language_handler
	AS 'MODULE_PATHNAME', 'featstore_call_handler' LANGUAGE C;
CREATE FUNCTION featstore.featstore_inline_handler(internal) RETURNS void
	AS 'MODULE_PATHNAME', 'featstore_inline_handler' LANGUAGE C STRICT;
CREATE FUNCTION featstore.featstore_validator(oid) RETURNS void
	AS 'MODULE_PATHNAME', 'featstore_validator' LANGUAGE C STRICT;
CREATE TRUSTED LANGUAGE featstore
	HANDLER featstore.featstore_call_handler
	INLINE featstore.featstore_inline_handler
	VALIDATOR featstore.featstore_validator;
COMMENT ON LANGUAGE featstore IS 'featstore statements (CREATE FEATURE GROUP ...), run with DO LANGUAGE featstore $$ ... $$';
COMMENT ON FUNCTION featstore.featstore_call_handler() IS 'Call handler of language featstore: refuses functions, the language only runs DO blocks';
COMMENT ON FUNCTION featstore.featstore_inline_handler(internal) IS 'Runs a DO LANGUAGE featstore block';
COMMENT ON FUNCTION featstore.featstore_validator(oid) IS 'Refuses CREATE FUNCTION ... LANGUAGE featstore';

CREATE FUNCTION featstore.exec(statements text,
	OUT statement integer, OUT command text, OUT object_type text,
	OUT object_name text, OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'featstore_exec' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.exec(text) IS 'Runs featstore statements and returns one row per statement: its number, command tag, object and what was done';

CREATE FUNCTION featstore.create_entity(name text, key_columns text[], key_types text[],
	description text DEFAULT NULL, owner text DEFAULT NULL, if_not_exists boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_create_entity' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.create_entity(text, text[], text[], text, text, boolean) IS 'CREATE ENTITY as a function';

CREATE FUNCTION featstore.drop_entity(name text, if_exists boolean DEFAULT false, cascade boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_drop_entity' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.drop_entity(text, boolean, boolean) IS 'DROP ENTITY as a function';

CREATE FUNCTION featstore.create_feature_group(name text, entity text,
	feature_names text[], feature_types text[], feature_descriptions text[] DEFAULT NULL,
	ttl interval DEFAULT NULL, online boolean DEFAULT false, tags text[] DEFAULT '{}',
	owner text DEFAULT NULL, description text DEFAULT NULL, schema_name name DEFAULT NULL,
	if_not_exists boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_create_feature_group' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.create_feature_group(text, text, text[], text[], text[], interval, boolean, text[], text, text, name, boolean) IS 'CREATE FEATURE GROUP as a function';

CREATE FUNCTION featstore.add_feature(group_name text, feature_name text, feature_type text,
	description text DEFAULT NULL, tags text[] DEFAULT '{}')
RETURNS void AS 'MODULE_PATHNAME', 'featstore_add_feature' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.add_feature(text, text, text, text, text[]) IS 'ALTER FEATURE GROUP ... ADD FEATURE as a function';

CREATE FUNCTION featstore.deprecate_feature(group_name text, feature_name text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_deprecate_feature' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.deprecate_feature(text, text) IS 'ALTER FEATURE GROUP ... DEPRECATE FEATURE as a function';

CREATE FUNCTION featstore.set_feature_description(group_name text, feature_name text, description text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_feature_description' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.set_feature_description(text, text, text) IS 'ALTER FEATURE GROUP ... ALTER FEATURE ... SET DESCRIPTION as a function';

CREATE FUNCTION featstore.set_ttl(group_name text, ttl interval)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_ttl' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.set_ttl(text, interval) IS 'ALTER FEATURE GROUP ... SET TTL as a function; NULL means values never expire';

CREATE FUNCTION featstore.set_online(group_name text, online boolean)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_online' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.set_online(text, boolean) IS 'ALTER FEATURE GROUP ... SET ONLINE | OFFLINE as a function';

CREATE FUNCTION featstore.set_group_description(group_name text, description text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_group_description' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.set_group_description(text, text) IS 'ALTER FEATURE GROUP ... SET DESCRIPTION as a function';

CREATE FUNCTION featstore.set_group_owner(group_name text, owner text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_group_owner' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.set_group_owner(text, text) IS 'ALTER FEATURE GROUP ... SET OWNER as a function';

CREATE FUNCTION featstore.set_group_tags(group_name text, tags text[])
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_group_tags' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.set_group_tags(text, text[]) IS 'ALTER FEATURE GROUP ... SET TAGS as a function';

CREATE FUNCTION featstore.drop_feature_group(name text, if_exists boolean DEFAULT false, cascade boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_drop_feature_group' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.drop_feature_group(text, boolean, boolean) IS 'DROP FEATURE GROUP as a function';

CREATE FUNCTION featstore.create_feature_service(name text, features text[],
	description text DEFAULT NULL, owner text DEFAULT NULL, or_replace boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_create_feature_service' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.create_feature_service(text, text[], text, text, boolean) IS 'CREATE [OR REPLACE] FEATURE SERVICE as a function; features are ''group.feature'' or ''group.*''';

CREATE FUNCTION featstore.drop_feature_service(name text, if_exists boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_drop_feature_service' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.drop_feature_service(text, boolean) IS 'DROP FEATURE SERVICE as a function';


-- Whether a group's table still has the shape the registry records; the SQL
-- front ends (pit_join_sql) call it before they read a group.
CREATE FUNCTION featstore.check_feature_group(name text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_check_feature_group' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION featstore.check_feature_group(text) IS 'Raises an error naming the column if a feature group''s history table is not a plain table with the keys, timestamps and features of the registry''s types';

-- A group's history table goes only with its group: DROP TABLE, DROP SCHEMA
-- ... CASCADE or DROP OWNED reaching one is refused.
CREATE FUNCTION featstore.guard_drop() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'featstore_guard_drop' LANGUAGE C;
COMMENT ON FUNCTION featstore.guard_drop() IS 'Event trigger: refuses to drop a feature group''s history table except through DROP FEATURE GROUP';
CREATE EVENT TRIGGER featstore_guard_drop ON sql_drop EXECUTE FUNCTION featstore.guard_drop();
COMMENT ON EVENT TRIGGER featstore_guard_drop IS 'featstore: keeps group history tables and the registry in step';

-- Nor may its shape change behind featstore's back: ALTER TABLE that changes
-- the type of, drops or renames a managed column, renaming or moving the
-- table, and rules on it are refused.
CREATE FUNCTION featstore.guard_alter() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'featstore_guard_alter' LANGUAGE C;
COMMENT ON FUNCTION featstore.guard_alter() IS 'Event trigger: refuses ALTER TABLE and CREATE RULE that would change the shape the registry records for a feature group''s history table';
CREATE EVENT TRIGGER featstore_guard_alter ON ddl_command_start EXECUTE FUNCTION featstore.guard_alter();
COMMENT ON EVENT TRIGGER featstore_guard_alter IS 'featstore: keeps group history tables in the shape the registry records';
CREATE FUNCTION featstore.guard_code() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'featstore_guard_code' LANGUAGE C;
COMMENT ON FUNCTION featstore.guard_code() IS 'Event trigger: refuses an index or statistics object on a feature group''s history table that calls code that is not built in';
CREATE EVENT TRIGGER featstore_guard_code ON ddl_command_end
	WHEN TAG IN ('CREATE INDEX', 'CREATE STATISTICS', 'ALTER TABLE')
	EXECUTE FUNCTION featstore.guard_code();
COMMENT ON EVENT TRIGGER featstore_guard_code IS 'featstore: no index or statistics object that would run an owner''s code when another role reads a group';
