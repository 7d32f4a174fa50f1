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
-- featstore registry: definitions of entities, feature groups, features and
-- feature services, plus the history of every definition change.
--
-- The tables are plain relations with primary and foreign keys so that BI
-- tools can draw the relationships.  They are written only through the
-- featstore DDL (DO LANGUAGE featstore, featstore.exec and the registry
-- functions), which validate every change and keep the group tables in step.


-- The schema is created here rather than named in the control file, so it
-- is a member of the extension: pg_dump leaves it to CREATE EXTENSION, and
-- DROP EXTENSION removes it.
CREATE SCHEMA featstore;
COMMENT ON SCHEMA featstore IS 'featstore: feature registry, catalog views, point-in-time join and online-store functions';

CREATE TABLE featstore.entities (
	name		text PRIMARY KEY,
	description	text,
	owner		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	created_by	name NOT NULL DEFAULT current_user,
	CONSTRAINT entities_name_check CHECK (name <> '')
);
COMMENT ON TABLE featstore.entities IS 'Entities: the things features describe (a user, a merchant), identified by one or more key columns';
COMMENT ON COLUMN featstore.entities.name IS 'Entity name, unique in the database';
COMMENT ON COLUMN featstore.entities.description IS 'Free-text description';
COMMENT ON COLUMN featstore.entities.owner IS 'Owning team or person (free text)';
COMMENT ON COLUMN featstore.entities.created_at IS 'When the entity was defined';
COMMENT ON COLUMN featstore.entities.created_by IS 'Database role that defined the entity; it and its members may change or drop it';

CREATE TABLE featstore.entity_keys (
	entity_name	text NOT NULL REFERENCES featstore.entities (name) ON DELETE CASCADE,
	position	integer NOT NULL CHECK (position >= 1),
	column_name	name NOT NULL,
	data_type	text NOT NULL CHECK (data_type IN ('text', 'integer', 'bigint', 'uuid')),
	PRIMARY KEY (entity_name, position),
	UNIQUE (entity_name, column_name)
);
COMMENT ON TABLE featstore.entity_keys IS 'Key columns of each entity, in order; compound keys have several rows';
COMMENT ON COLUMN featstore.entity_keys.entity_name IS 'Entity the key column belongs to';
COMMENT ON COLUMN featstore.entity_keys.position IS 'Position of the column in the key, from 1';
COMMENT ON COLUMN featstore.entity_keys.column_name IS 'Column name, used in every group table of the entity and in spines';
COMMENT ON COLUMN featstore.entity_keys.data_type IS 'Column type: text, integer, bigint or uuid';

CREATE TABLE featstore.feature_groups (
	name		text PRIMARY KEY,
	schema_name	name NOT NULL,
	table_name	name NOT NULL,
	entity_name	text NOT NULL REFERENCES featstore.entities (name),
	ttl			interval CHECK (ttl > interval '0'),
	online		boolean NOT NULL DEFAULT false,
	description	text,
	owner		text,
	tags		text[] NOT NULL DEFAULT '{}',
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	created_by	name NOT NULL DEFAULT current_user,
	UNIQUE (schema_name, table_name),
	CONSTRAINT feature_groups_name_check CHECK (name <> '')
);
COMMENT ON TABLE featstore.feature_groups IS 'Feature groups: sets of features about one entity, stored together in one history table';
COMMENT ON COLUMN featstore.feature_groups.name IS 'Group name, unique in the database';
COMMENT ON COLUMN featstore.feature_groups.schema_name IS 'Schema of the group''s history table';
COMMENT ON COLUMN featstore.feature_groups.table_name IS 'Name of the group''s history table (the offline store)';
COMMENT ON COLUMN featstore.feature_groups.entity_name IS 'Entity the group''s rows are keyed by';
COMMENT ON COLUMN featstore.feature_groups.ttl IS 'How long a value stays valid after its event_timestamp, as an absolute duration; NULL means forever';
COMMENT ON COLUMN featstore.feature_groups.online IS 'Whether the latest value per entity is kept in the Redis online store';
COMMENT ON COLUMN featstore.feature_groups.description IS 'Free-text description';
COMMENT ON COLUMN featstore.feature_groups.owner IS 'Owning team or person (free text)';
COMMENT ON COLUMN featstore.feature_groups.tags IS 'Free-form tags for discovery';
COMMENT ON COLUMN featstore.feature_groups.created_at IS 'When the group was defined';
COMMENT ON COLUMN featstore.feature_groups.updated_at IS 'When the group''s definition last changed';
COMMENT ON COLUMN featstore.feature_groups.created_by IS 'Database role that defined the group';

CREATE TABLE featstore.features (
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	name		name NOT NULL,
	data_type	text NOT NULL,
	description	text,
	tags		text[] NOT NULL DEFAULT '{}',
	status		text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deprecated')),
	position	integer NOT NULL CHECK (position >= 1),
	created_at	timestamptz NOT NULL DEFAULT now(),
	deprecated_at timestamptz,
	PRIMARY KEY (group_name, name),
	UNIQUE (group_name, position)
);
COMMENT ON TABLE featstore.features IS 'Features: one typed, described column of a feature group''s history table';
COMMENT ON COLUMN featstore.features.group_name IS 'Group the feature belongs to';
COMMENT ON COLUMN featstore.features.name IS 'Feature name, also the column name in the group table';
COMMENT ON COLUMN featstore.features.data_type IS 'SQL type of the feature, as PostgreSQL formats it';
COMMENT ON COLUMN featstore.features.description IS 'What the feature means and how it is computed';
COMMENT ON COLUMN featstore.features.tags IS 'Free-form tags for discovery';
COMMENT ON COLUMN featstore.features.status IS 'active, or deprecated (kept for old models, not for new ones)';
COMMENT ON COLUMN featstore.features.position IS 'Order of the feature within its group, from 1';
COMMENT ON COLUMN featstore.features.created_at IS 'When the feature was added';
COMMENT ON COLUMN featstore.features.deprecated_at IS 'When the feature was deprecated';

CREATE TABLE featstore.feature_services (
	name		text PRIMARY KEY,
	description	text,
	owner		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	created_by	name NOT NULL DEFAULT current_user,
	CONSTRAINT feature_services_name_check CHECK (name <> '')
);
COMMENT ON TABLE featstore.feature_services IS 'Feature services: the named list of features a model consumes';
COMMENT ON COLUMN featstore.feature_services.name IS 'Service name, unique in the database';
COMMENT ON COLUMN featstore.feature_services.description IS 'Free-text description';
COMMENT ON COLUMN featstore.feature_services.owner IS 'Owning team or person (free text)';
COMMENT ON COLUMN featstore.feature_services.created_at IS 'When the service was defined';
COMMENT ON COLUMN featstore.feature_services.created_by IS 'Database role that defined the service';

CREATE TABLE featstore.feature_service_members (
	service_name text NOT NULL REFERENCES featstore.feature_services (name) ON DELETE CASCADE,
	position	integer NOT NULL CHECK (position >= 1),
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name),
	feature_name name,
	PRIMARY KEY (service_name, position),
	FOREIGN KEY (group_name, feature_name) REFERENCES featstore.features (group_name, name),
	UNIQUE NULLS NOT DISTINCT (service_name, group_name, feature_name)
);
COMMENT ON TABLE featstore.feature_service_members IS 'Members of each feature service: a whole group (feature_name NULL) or one feature';
COMMENT ON COLUMN featstore.feature_service_members.service_name IS 'Service the member belongs to';
COMMENT ON COLUMN featstore.feature_service_members.position IS 'Order of the member in the service, from 1';
COMMENT ON COLUMN featstore.feature_service_members.group_name IS 'Feature group of the member';
COMMENT ON COLUMN featstore.feature_service_members.feature_name IS 'Feature of the member; NULL means every active feature of the group';

CREATE TABLE featstore.definition_history (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	executed_at	timestamptz NOT NULL DEFAULT now(),
	executed_by	name NOT NULL DEFAULT current_user,
	transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
	command		text NOT NULL,
	object_type	text NOT NULL CHECK (object_type IN ('entity', 'feature group', 'feature service')),
	object_name	text NOT NULL,
	statement	text NOT NULL
);
CREATE INDEX definition_history_object_idx ON featstore.definition_history (object_type, object_name);
COMMENT ON TABLE featstore.definition_history IS 'Audit trail: one row per featstore DDL statement that changed a definition';
COMMENT ON COLUMN featstore.definition_history.id IS 'Sequence number of the change';
COMMENT ON COLUMN featstore.definition_history.executed_at IS 'Start time of the transaction that made the change';
COMMENT ON COLUMN featstore.definition_history.executed_by IS 'Database role that ran the statement';
COMMENT ON COLUMN featstore.definition_history.transaction_id IS 'Transaction that made the change';
COMMENT ON COLUMN featstore.definition_history.command IS 'Command tag, such as CREATE FEATURE GROUP';
COMMENT ON COLUMN featstore.definition_history.object_type IS 'Kind of object touched: entity, feature group or feature service';
COMMENT ON COLUMN featstore.definition_history.object_name IS 'Name of the object touched';
COMMENT ON COLUMN featstore.definition_history.statement IS 'The statement as the user wrote it';

-- pg_dump keeps the user's definitions; the extension's own objects are
-- recreated by CREATE EXTENSION.
SELECT pg_catalog.pg_extension_config_dump('featstore.entities', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.entity_keys', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.feature_groups', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.features', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.feature_services', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.feature_service_members', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.definition_history', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.definition_history_id_seq', '');

-- Browsing surface ----------------------------------------------------------

CREATE VIEW featstore.catalog AS
SELECT f.name AS feature_name,
	   g.name AS group_name,
	   f.group_name || '.' || f.name AS qualified_name,
	   f.data_type,
	   f.status,
	   f.description,
	   f.tags AS feature_tags,
	   g.tags AS group_tags,
	   g.entity_name,
	   (SELECT string_agg(k.column_name || ' ' || k.data_type, ', ' ORDER BY k.position)
		  FROM featstore.entity_keys k WHERE k.entity_name = g.entity_name) AS entity_key,
	   g.ttl,
	   g.online,
	   g.owner,
	   pg_catalog.quote_ident(g.schema_name) || '.' || pg_catalog.quote_ident(g.table_name) AS table_name,
	   f.position,
	   f.created_at
  FROM featstore.features f
  JOIN featstore.feature_groups g ON g.name = f.group_name;
COMMENT ON VIEW featstore.catalog IS 'One row per feature, with its group, entity, type, TTL, description, tags and owner';
COMMENT ON COLUMN featstore.catalog.feature_name IS 'Feature name (the column name in the group table)';
COMMENT ON COLUMN featstore.catalog.group_name IS 'Feature group';
COMMENT ON COLUMN featstore.catalog.qualified_name IS 'group.feature, as used in feature services and pit_join';
COMMENT ON COLUMN featstore.catalog.data_type IS 'SQL type of the feature';
COMMENT ON COLUMN featstore.catalog.status IS 'active or deprecated';
COMMENT ON COLUMN featstore.catalog.description IS 'What the feature means';
COMMENT ON COLUMN featstore.catalog.feature_tags IS 'Tags of the feature';
COMMENT ON COLUMN featstore.catalog.group_tags IS 'Tags of the feature group';
COMMENT ON COLUMN featstore.catalog.entity_name IS 'Entity the feature describes';
COMMENT ON COLUMN featstore.catalog.entity_key IS 'Key columns of the entity, with types';
COMMENT ON COLUMN featstore.catalog.ttl IS 'Validity of a value after its event_timestamp; NULL means forever';
COMMENT ON COLUMN featstore.catalog.online IS 'Whether the group is served from Redis';
COMMENT ON COLUMN featstore.catalog.owner IS 'Owner of the feature group';
COMMENT ON COLUMN featstore.catalog.table_name IS 'History table holding the feature''s values';
COMMENT ON COLUMN featstore.catalog.position IS 'Order of the feature within its group';
COMMENT ON COLUMN featstore.catalog.created_at IS 'When the feature was added';

CREATE VIEW featstore.group_overview AS
SELECT g.name AS group_name,
	   g.entity_name,
	   (SELECT string_agg(k.column_name || ' ' || k.data_type, ', ' ORDER BY k.position)
		  FROM featstore.entity_keys k WHERE k.entity_name = g.entity_name) AS entity_key,
	   pg_catalog.quote_ident(g.schema_name) || '.' || pg_catalog.quote_ident(g.table_name) AS table_name,
	   (SELECT count(*) FROM featstore.features f WHERE f.group_name = g.name AND f.status = 'active') AS active_features,
	   (SELECT count(*) FROM featstore.features f WHERE f.group_name = g.name AND f.status = 'deprecated') AS deprecated_features,
	   g.ttl,
	   g.online,
	   g.description,
	   g.owner,
	   g.tags,
	   (SELECT c.reltuples::bigint
		  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = g.schema_name AND c.relname = g.table_name) AS estimated_rows,
	   g.created_at,
	   g.updated_at,
	   g.created_by
  FROM featstore.feature_groups g;
COMMENT ON VIEW featstore.group_overview IS 'One row per feature group, with its entity key, table, feature counts and size estimate';
COMMENT ON COLUMN featstore.group_overview.group_name IS 'Feature group';
COMMENT ON COLUMN featstore.group_overview.entity_name IS 'Entity the group is keyed by';
COMMENT ON COLUMN featstore.group_overview.entity_key IS 'Key columns of the entity, with types';
COMMENT ON COLUMN featstore.group_overview.table_name IS 'History table (offline store)';
COMMENT ON COLUMN featstore.group_overview.active_features IS 'Number of active features';
COMMENT ON COLUMN featstore.group_overview.deprecated_features IS 'Number of deprecated features';
COMMENT ON COLUMN featstore.group_overview.ttl IS 'Validity of a value after its event_timestamp; NULL means forever';
COMMENT ON COLUMN featstore.group_overview.online IS 'Whether the group is served from Redis';
COMMENT ON COLUMN featstore.group_overview.description IS 'Free-text description';
COMMENT ON COLUMN featstore.group_overview.owner IS 'Owning team or person';
COMMENT ON COLUMN featstore.group_overview.tags IS 'Tags of the group';
COMMENT ON COLUMN featstore.group_overview.estimated_rows IS 'Planner estimate of the history table''s row count (-1 before the first ANALYZE)';
COMMENT ON COLUMN featstore.group_overview.created_at IS 'When the group was defined';
COMMENT ON COLUMN featstore.group_overview.updated_at IS 'When the definition last changed';
COMMENT ON COLUMN featstore.group_overview.created_by IS 'Role that defined the group';

CREATE VIEW featstore.service_features AS
SELECT m.service_name,
	   row_number() OVER (PARTITION BY m.service_name ORDER BY m.position, f.position) AS position,
	   f.group_name,
	   f.name AS feature_name,
	   f.data_type,
	   f.status,
	   f.description
  FROM featstore.feature_service_members m
  JOIN featstore.features f
	ON f.group_name = m.group_name
   AND (f.name = m.feature_name OR (m.feature_name IS NULL AND f.status = 'active'));
COMMENT ON VIEW featstore.service_features IS 'The features of each feature service, with whole-group members expanded to their active features';
COMMENT ON COLUMN featstore.service_features.service_name IS 'Feature service';
COMMENT ON COLUMN featstore.service_features.position IS 'Order of the feature in the service';
COMMENT ON COLUMN featstore.service_features.group_name IS 'Feature group of the feature';
COMMENT ON COLUMN featstore.service_features.feature_name IS 'Feature';
COMMENT ON COLUMN featstore.service_features.data_type IS 'SQL type of the feature';
COMMENT ON COLUMN featstore.service_features.status IS 'active or deprecated';
COMMENT ON COLUMN featstore.service_features.description IS 'What the feature means';

-- search finds features whose name, description or tags contain the text,
-- case-insensitively; the text is matched literally, not as a pattern.
CREATE FUNCTION featstore.search(query text)
RETURNS TABLE (qualified_name text, group_name text, feature_name name, data_type text,
			   status text, description text, tags text[], matched_on text)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.qualified_name, c.group_name, c.feature_name, c.data_type, c.status,
		   c.description, c.feature_tags || c.group_tags,
		   CASE WHEN strpos(lower(c.feature_name), lower(query)) > 0 THEN 'name'
				WHEN strpos(lower(coalesce(c.description, '')), lower(query)) > 0 THEN 'description'
				WHEN strpos(lower(c.group_name), lower(query)) > 0 THEN 'group'
				ELSE 'tag' END
	  FROM featstore.catalog c
	 WHERE strpos(lower(c.feature_name), lower(query)) > 0
		OR strpos(lower(coalesce(c.description, '')), lower(query)) > 0
		OR strpos(lower(c.group_name), lower(query)) > 0
		OR EXISTS (SELECT 1 FROM unnest(c.feature_tags || c.group_tags) t
					WHERE strpos(lower(t), lower(query)) > 0)
	 ORDER BY (strpos(lower(c.feature_name), lower(query)) > 0) DESC,
			  c.status, c.group_name, c.position
$$;
COMMENT ON FUNCTION featstore.search(text) IS 'Find features by name, description, group or tag (case-insensitive substring match)';
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

-- A group's history table goes only with its group: DROP TABLE, DROP SCHEMA
-- ... CASCADE or DROP OWNED reaching one is refused.
CREATE FUNCTION featstore.guard_drop() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'featstore_guard_drop' LANGUAGE C;
COMMENT ON FUNCTION featstore.guard_drop() IS 'Event trigger: refuses to drop a feature group''s history table except through DROP FEATURE GROUP';
CREATE EVENT TRIGGER featstore_guard_drop ON sql_drop EXECUTE FUNCTION featstore.guard_drop();
COMMENT ON EVENT TRIGGER featstore_guard_drop IS 'featstore: keeps group history tables and the registry in step';
-- featstore point-in-time join: the as-of marker, and pit_join() built on it.
-- See docs/pit-join.md.

CREATE FUNCTION featstore.pit_match_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'pit_match_support'
LANGUAGE C STRICT;
COMMENT ON FUNCTION featstore.pit_match_support(internal) IS
'Planner support for pit_match: loads featstore''s planner hooks before the first marker join is planned';

CREATE FUNCTION featstore.pit_match(
	event_ts timestamptz,
	created_at timestamptz,
	spine_ts timestamptz,
	ttl interval DEFAULT NULL,
	as_of timestamptz DEFAULT NULL,
	strict boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pit_match'
LANGUAGE C STABLE PARALLEL SAFE COST 1000
SUPPORT featstore.pit_match_support;
COMMENT ON FUNCTION featstore.pit_match(timestamptz, timestamptz, timestamptz, interval, timestamptz, boolean) IS
'As-of marker for a point-in-time join: put it in a join''s ON clause next to the key equalities, as pit_match(f.event_timestamp, f.created_at, s.ts, ttl, as_of, strict); the PitJoin node implements it and it raises an error if evaluated anywhere else';

CREATE FUNCTION featstore.pit_describe(from_item text)
RETURNS TABLE (column_name text, data_type regtype)
AS 'MODULE_PATHNAME', 'pit_describe'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION featstore.pit_describe(text) IS
'Internal to pit_join: the columns a FROM item produces, read from its plan without fetching rows';

-- pit_join_sql writes the point-in-time join for a spine and a list of
-- features as one SQL query: the spine's columns, then the features, each
-- group joined on its entity keys with the as-of marker.  pit_join() runs it;
-- it is also the body of the views create_pit_view() makes.
CREATE FUNCTION featstore.pit_join_sql(
	spine text,
	features text[] DEFAULT NULL,
	service text DEFAULT NULL,
	spine_ts text DEFAULT NULL,
	as_of timestamptz DEFAULT NULL,
	strict boolean DEFAULT false,
	qualified boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
	v_from		text;
	v_rel		regclass;
	v_cols		text[];
	v_types		regtype[];
	v_ts		text;
	v_cands		text[];
	v_grp		text[] := '{}';
	v_feat		text[] := '{}';
	v_groups	text[] := '{}';
	v_outs		text[] := '{}';
	v_item		text;
	v_g			text;
	v_f			text;
	v_out		text;
	v_i			int;
	v_j			int;
	v_select	text := 's.*';
	v_joins		text := '';
	v_on		text;
	v_alias		text;
	v_table		regclass;
	r			record;
	k			record;
BEGIN
	IF spine IS NULL OR btrim(spine) = '' THEN
		RAISE EXCEPTION 'pit_join needs a spine'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass a table or view name, or a SELECT query, with the entity keys and a timestamptz column.';
	END IF;
	IF as_of IS NOT NULL AND as_of > pg_catalog.now() THEN
		RAISE EXCEPTION 'as_of % is in the future', as_of
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'as_of bounds the created_at of the rows used, to rebuild a training set as it was known then; pass a time at or before now(), or NULL for every committed row.';
	END IF;
	IF coalesce(cardinality(features), 0) = 0 AND service IS NULL THEN
		RAISE EXCEPTION 'pit_join needs features'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass features => ARRAY[''group'', ''group.feature''] or service => ''service name''.';
	END IF;

	-- the spine: a query, or the name of a table or view
	IF spine ~* '^\s*(\(|select\s|with\s|values\s|table\s)' THEN
		v_from := '(' || spine || ')';
	ELSE
		v_rel := pg_catalog.to_regclass(spine);
		IF v_rel IS NULL THEN
			RAISE EXCEPTION 'spine relation "%" does not exist', spine
				USING ERRCODE = 'undefined_table',
					  HINT = 'Pass the name of a table or view on the search_path, schema-qualified if needed, or a SELECT query.';
		END IF;
		v_from := v_rel::text;
	END IF;
	SELECT array_agg(d.column_name ORDER BY d.ord), array_agg(d.data_type ORDER BY d.ord)
	  INTO v_cols, v_types
	  FROM featstore.pit_describe(v_from || ' AS s') WITH ORDINALITY AS d(column_name, data_type, ord);
	v_cols := coalesce(v_cols, '{}');

	-- the spine timestamp: named, or the only timestamptz column
	IF spine_ts IS NOT NULL THEN
		v_i := array_position(v_cols, spine_ts);
		IF v_i IS NULL THEN
			RAISE EXCEPTION 'spine has no column "%"', spine_ts
				USING ERRCODE = 'undefined_column',
					  HINT = format('The spine''s columns are: %s.', array_to_string(v_cols, ', '));
		END IF;
		IF v_types[v_i] <> 'timestamptz'::regtype THEN
			RAISE EXCEPTION 'spine timestamp column "%" is of type %, not timestamp with time zone', spine_ts, v_types[v_i]
				USING ERRCODE = 'datatype_mismatch',
					  HINT = format('Convert it in a spine query, e.g. SELECT ..., %I AT TIME ZONE ''UTC'' AS %I FROM ...', spine_ts, spine_ts);
		END IF;
		v_ts := spine_ts;
	ELSE
		SELECT array_agg(c ORDER BY o) INTO v_cands
		  FROM unnest(v_cols, v_types) WITH ORDINALITY AS u(c, t, o)
		 WHERE t = 'timestamptz'::regtype;
		IF v_cands IS NULL THEN
			RAISE EXCEPTION 'spine has no timestamp with time zone column'
				USING ERRCODE = 'undefined_column',
					  HINT = format('The spine''s columns are: %s. Add a timestamptz column (timestamp without time zone is refused: convert it with AT TIME ZONE) or pass spine_ts => ''column''.', array_to_string(v_cols, ', '));
		ELSIF cardinality(v_cands) > 1 THEN
			RAISE EXCEPTION 'spine timestamp is ambiguous: columns % are all timestamptz', array_to_string(v_cands, ', ')
				USING ERRCODE = 'ambiguous_column',
					  HINT = format('Pass spine_ts => ''%s'' (or another of them).', v_cands[1]);
		END IF;
		v_ts := v_cands[1];
	END IF;

	-- the requested features, in order, each once
	IF service IS NOT NULL THEN
		IF NOT EXISTS (SELECT 1 FROM featstore.feature_services WHERE name = service) THEN
			RAISE EXCEPTION 'feature service "%" does not exist', service
				USING ERRCODE = 'undefined_object',
					  HINT = 'See SELECT name FROM featstore.feature_services.';
		END IF;
		FOR r IN SELECT sf.group_name, sf.feature_name::text AS feature_name
				   FROM featstore.service_features sf
				  WHERE sf.service_name = service ORDER BY sf.position
		LOOP
			v_grp := v_grp || r.group_name;
			v_feat := v_feat || r.feature_name;
		END LOOP;
	END IF;
	FOREACH v_item IN ARRAY coalesce(features, '{}')
	LOOP
		IF strpos(v_item, '.') > 0 THEN
			v_g := split_part(v_item, '.', 1);
			v_f := substr(v_item, strpos(v_item, '.') + 1);
		ELSE
			v_g := v_item;
			v_f := NULL;
		END IF;
		IF NOT EXISTS (SELECT 1 FROM featstore.feature_groups WHERE name = v_g) THEN
			RAISE EXCEPTION 'feature group "%" does not exist', v_g
				USING ERRCODE = 'undefined_object',
					  HINT = CASE WHEN v_f IS NULL AND EXISTS (SELECT 1 FROM featstore.feature_services WHERE name = v_g)
								  THEN format('"%s" is a feature service: pass service => %L.', v_g, v_g)
								  ELSE 'Name a group, or group.feature; see SELECT * FROM featstore.catalog.' END;
		END IF;
		IF v_f IS NULL THEN
			FOR r IN SELECT f.name::text AS name FROM featstore.features f
					  WHERE f.group_name = v_g AND f.status = 'active' ORDER BY f.position
			LOOP
				v_grp := v_grp || v_g;
				v_feat := v_feat || r.name;
			END LOOP;
		ELSE
			IF NOT EXISTS (SELECT 1 FROM featstore.features f WHERE f.group_name = v_g AND f.name = v_f) THEN
				RAISE EXCEPTION 'feature "%" does not exist in feature group "%"', v_f, v_g
					USING ERRCODE = 'undefined_column',
						  HINT = format('Features of "%s": %s.', v_g,
										(SELECT string_agg(f.name, ', ' ORDER BY f.position)
										   FROM featstore.features f WHERE f.group_name = v_g));
			END IF;
			v_grp := v_grp || v_g;
			v_feat := v_feat || v_f;
		END IF;
	END LOOP;

	-- output names: each feature once, clashing with nothing
	FOR v_i IN 1 .. coalesce(cardinality(v_feat), 0)
	LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM generate_series(1, v_i - 1) j
							   WHERE v_grp[j] = v_grp[v_i] AND v_feat[j] = v_feat[v_i]);
		v_out := CASE WHEN qualified THEN v_grp[v_i] || '__' || v_feat[v_i] ELSE v_feat[v_i] END;
		IF v_out = ANY (v_cols) THEN
			RAISE EXCEPTION 'feature "%" of group "%" has the name of a spine column', v_feat[v_i], v_grp[v_i]
				USING ERRCODE = 'duplicate_column',
					  HINT = CASE WHEN qualified THEN 'Rename the spine column in a spine query.'
								  ELSE 'Pass qualified => true to name feature columns group__feature, or rename the spine column.' END;
		END IF;
		v_j := array_position(v_outs, v_out);
		IF v_j IS NOT NULL THEN
			RAISE EXCEPTION 'feature name "%" is in more than one requested group', v_out
				USING ERRCODE = 'duplicate_column',
					  HINT = 'Pass qualified => true to name feature columns group__feature.';
		END IF;
		v_outs := v_outs || v_out;
		IF NOT v_grp[v_i] = ANY (v_groups) THEN
			v_groups := v_groups || v_grp[v_i];
		END IF;
		v_alias := 'g' || array_position(v_groups, v_grp[v_i]);
		v_select := v_select || format(', %I.%I', v_alias, v_feat[v_i]);
		IF v_out <> v_feat[v_i] THEN
			v_select := v_select || format(' AS %I', v_out);
		END IF;
	END LOOP;

	-- one marker join per group, on the group's entity keys
	FOR v_i IN 1 .. coalesce(cardinality(v_groups), 0)
	LOOP
		v_alias := 'g' || v_i;
		SELECT g.schema_name, g.table_name, g.entity_name, g.ttl INTO r
		  FROM featstore.feature_groups g WHERE g.name = v_groups[v_i];
		v_table := pg_catalog.to_regclass(format('%I.%I', r.schema_name, r.table_name));
		IF v_table IS NULL THEN
			RAISE EXCEPTION 'table %.% of feature group "%" does not exist', r.schema_name, r.table_name, v_groups[v_i]
				USING ERRCODE = 'undefined_table',
					  HINT = format('The registry refers to the table by name: rename it back, or drop and re-create the group (DROP FEATURE GROUP %s).', v_groups[v_i]);
		END IF;
		v_on := '';
		FOR k IN SELECT ek.column_name::text AS column_name, ek.data_type
				   FROM featstore.entity_keys ek
				  WHERE ek.entity_name = r.entity_name ORDER BY ek.position
		LOOP
			v_j := array_position(v_cols, k.column_name);
			IF v_j IS NULL THEN
				RAISE EXCEPTION 'spine has no column "%", the key of entity "%" (feature group "%")', k.column_name, r.entity_name, v_groups[v_i]
					USING ERRCODE = 'undefined_column',
						  HINT = format('Add it to the spine, or rename a column in a spine query: SELECT ..., my_column AS %I FROM ...', k.column_name);
			END IF;
			IF v_types[v_j] <> k.data_type::regtype THEN
				RAISE EXCEPTION 'spine column "%" is of type %, but the key of entity "%" is %', k.column_name, v_types[v_j], r.entity_name, k.data_type
					USING ERRCODE = 'datatype_mismatch',
						  HINT = format('Cast it in a spine query: SELECT ..., %I::%s AS %I FROM ...', k.column_name, k.data_type, k.column_name);
			END IF;
			v_on := v_on || format('%I.%I = s.%I AND ', v_alias, k.column_name, k.column_name);
		END LOOP;
		v_joins := v_joins || format(E'\n  LEFT JOIN %s AS %I ON %sfeatstore.pit_match(%I.event_timestamp, %I.created_at, s.%I, %s, %s, %s)',
									 v_table::text, v_alias, v_on, v_alias, v_alias, v_ts,
									 coalesce(quote_literal(r.ttl) || '::interval', 'NULL'),
									 coalesce(quote_literal(as_of) || '::timestamptz', 'NULL'),
									 CASE WHEN coalesce(strict, false) THEN 'true' ELSE 'false' END);
	END LOOP;

	RETURN format(E'SELECT %s\n  FROM %s AS s', v_select, v_from) || v_joins;
END
$fn$;
COMMENT ON FUNCTION featstore.pit_join_sql(text, text[], text, text, timestamptz, boolean, boolean) IS
'The SQL of a point-in-time join: spine columns, then the requested features, each group joined with the as-of marker (see docs/pit-join.md)';

-- pit_join returns the point-in-time training set for a spine: one row per
-- spine row, the spine's columns then the features.  The first argument only
-- gives the result its row type (NULL::a_view_or_type), so that SELECT *
-- has real typed columns without a column definition list.
CREATE FUNCTION featstore.pit_join(
	proto anyelement,
	spine text,
	features text[] DEFAULT NULL,
	service text DEFAULT NULL,
	spine_ts text DEFAULT NULL,
	as_of timestamptz DEFAULT NULL,
	strict boolean DEFAULT false,
	qualified boolean DEFAULT false)
RETURNS SETOF anyelement
LANGUAGE plpgsql VOLATILE ROWS 1000
AS $fn$
DECLARE
	v_sql text := featstore.pit_join_sql(spine, features, service, spine_ts, as_of, strict, qualified);
BEGIN
	RETURN QUERY EXECUTE v_sql;
EXCEPTION WHEN datatype_mismatch THEN
	DECLARE
		v_msg text;
		v_detail text;
	BEGIN
		GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
		RAISE EXCEPTION 'row type % does not match the point-in-time join''s columns: %', pg_typeof(proto), v_msg
			USING ERRCODE = 'datatype_mismatch', DETAIL = coalesce(v_detail, ''),
				  HINT = 'Make the prototype from the same arguments: SELECT featstore.create_pit_view(''name'', spine, features...), then pass NULL::name.';
	END;
END
$fn$;
COMMENT ON FUNCTION featstore.pit_join(anyelement, text, text[], text, text, timestamptz, boolean, boolean) IS
'Point-in-time training set: one row per spine row with the features as of its timestamp; the first argument (NULL::row_type) gives the result columns';

-- create_pit_view makes a view whose body is the point-in-time join: a typed
-- training-set definition for BI tools and drivers, and the row type to pass
-- to pit_join() as its first argument.
CREATE FUNCTION featstore.create_pit_view(
	view_name text,
	spine text,
	features text[] DEFAULT NULL,
	service text DEFAULT NULL,
	spine_ts text DEFAULT NULL,
	as_of timestamptz DEFAULT NULL,
	strict boolean DEFAULT false,
	qualified boolean DEFAULT false)
RETURNS regclass
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
	v_name text;
BEGIN
	SELECT string_agg(quote_ident(p), '.') INTO v_name FROM unnest(parse_ident(view_name)) AS p;
	EXECUTE format('CREATE VIEW %s AS %s', v_name,
				   featstore.pit_join_sql(spine, features, service, spine_ts, as_of, strict, qualified));
	RETURN v_name::regclass;
END
$fn$;
COMMENT ON FUNCTION featstore.create_pit_view(text, text, text[], text, text, timestamptz, boolean, boolean) IS
'Create a view holding a point-in-time join; its row type is also the prototype for pit_join()';
-- featstore online store: the change queue, the materialization functions,
-- online reads and the worker's status.  See docs/online-store.md.

CREATE TABLE featstore.online_queue (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	group_name	text NOT NULL,
	kind		text NOT NULL DEFAULT 'keys' CHECK (kind IN ('keys', 'scan', 'purge')),
	keys		text[],
	entities	integer NOT NULL DEFAULT 0,
	force		boolean NOT NULL DEFAULT false,
	future		boolean NOT NULL DEFAULT false,
	not_before	timestamptz,
	enqueued_at	timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	since		timestamptz,
	resume_after text[]
);
COMMENT ON TABLE featstore.online_queue IS 'Entities whose Redis value the materialization worker must recompute; written by the capture triggers in the writing transaction, deleted once Redis has the result';
COMMENT ON COLUMN featstore.online_queue.id IS 'Order of arrival; the worker works in this order';
COMMENT ON COLUMN featstore.online_queue.group_name IS 'Feature group (no foreign key: a purge outlives its group)';
COMMENT ON COLUMN featstore.online_queue.kind IS 'keys: recompute the listed entities; scan: walk the whole group (rematerialization); purge: remove every Redis key of the group';
COMMENT ON COLUMN featstore.online_queue.keys IS 'Two-dimensional: one row per entity, one column per key column, as text';
COMMENT ON COLUMN featstore.online_queue.since IS 'scan: only entities whose latest row is at or after this time (NULL: all)';
COMMENT ON COLUMN featstore.online_queue.resume_after IS 'scan: key values (as text) of the last entity done; the walk goes on below it in key order (NULL: not started)';
COMMENT ON COLUMN featstore.online_queue.entities IS 'keys: number of entities listed (at most 1000 per row); scan: entities still to walk, as counted when queued';
COMMENT ON COLUMN featstore.online_queue.force IS 'Write even if Redis holds a newer (event_timestamp, created_at): set after DELETE, UPDATE and rematerialization';
COMMENT ON COLUMN featstore.online_queue.future IS 'Some rows are dated in the future: the worker schedules a revisit when they become current';
COMMENT ON COLUMN featstore.online_queue.not_before IS 'Do not process before this time (revisit of a future-dated row)';
COMMENT ON COLUMN featstore.online_queue.enqueued_at IS 'When the change was captured, for the lag shown in materialization_status';
CREATE INDEX online_queue_revisit_idx ON featstore.online_queue (not_before, group_name)
	WHERE not_before IS NOT NULL;
COMMENT ON INDEX featstore.online_queue_revisit_idx IS 'Scheduled revisits of future-dated rows: the next one due, and whether an entity is already scheduled';
CREATE INDEX online_queue_ready_idx ON featstore.online_queue (id) WHERE not_before IS NULL;
COMMENT ON INDEX featstore.online_queue_ready_idx IS 'Rows the worker can take now, in order of arrival, without stepping over scheduled revisits';
REVOKE ALL ON featstore.online_queue FROM PUBLIC;

CREATE TABLE featstore.online_redis_state (
	redis_run_id text,
	seen_at		timestamptz
);
INSERT INTO featstore.online_redis_state VALUES (NULL, NULL);
COMMENT ON TABLE featstore.online_redis_state IS 'The Redis process (INFO run_id) the worker last wrote to; a different one is rematerialized in full, since it may have lost keys';
COMMENT ON COLUMN featstore.online_redis_state.redis_run_id IS 'run_id reported by Redis INFO server';
COMMENT ON COLUMN featstore.online_redis_state.seen_at IS 'When the worker first met that process';
REVOKE ALL ON featstore.online_redis_state FROM PUBLIC;

CREATE FUNCTION featstore.online_capture()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'online_capture';
COMMENT ON FUNCTION featstore.online_capture() IS 'Change-capture trigger featstore attaches to the history table of every online feature group';

CREATE FUNCTION featstore.materialize(group_name text, since timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'materialize';
COMMENT ON FUNCTION featstore.materialize(text, timestamptz) IS 'Queue a rewrite in Redis of every entity of an online group (or of those with rows since a time); returns how many entities that is';

CREATE FUNCTION featstore.online_features(group_name text, VARIADIC entity_key text[])
RETURNS TABLE (status text, features jsonb, event_timestamp timestamptz, created_at timestamptz,
			   materialized_at timestamptz, expires_at timestamptz, age interval, redis_key text)
LANGUAGE C STRICT
AS 'MODULE_PATHNAME', 'online_features';
COMMENT ON FUNCTION featstore.online_features(text, text[]) IS 'Read one entity''s feature values of an online group from Redis, with status (found, missing, invalid) and age';

CREATE FUNCTION featstore.verify_online(group_name text, sample integer DEFAULT 10000)
RETURNS TABLE (entity text[], problem text, expected jsonb, actual jsonb)
LANGUAGE C
AS 'MODULE_PATHNAME', 'verify_online';
COMMENT ON FUNCTION featstore.verify_online(text, integer) IS 'Compare Redis with the point-in-time rule at now() for a sample of entities; returns one row per difference (normally none)';

CREATE FUNCTION featstore.online_worker_status()
RETURNS TABLE (state text, pid integer, state_since timestamptz, last_success timestamptz,
			   batches bigint, last_error text, last_error_at timestamptz)
LANGUAGE C
AS 'MODULE_PATHNAME', 'online_worker_status';
COMMENT ON FUNCTION featstore.online_worker_status() IS 'State of the materialization worker, from shared memory';

CREATE FUNCTION featstore.online_group_status()
RETURNS TABLE (group_name text, last_success timestamptz, lag interval, entities_written bigint,
			   keys_removed bigint, stale_skipped bigint, last_error text, last_error_at timestamptz)
LANGUAGE C
AS 'MODULE_PATHNAME', 'online_group_status';
COMMENT ON FUNCTION featstore.online_group_status() IS 'Per-group counters of the materialization worker since the server started';

-- The queue depth is read here, as the owner, so that ordinary roles see it
-- without reading the queue itself.
CREATE FUNCTION featstore.online_queue_depth()
RETURNS TABLE (group_name text, queued_entities bigint, oldest_enqueued timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT q.group_name, sum(q.entities)::bigint, min(q.enqueued_at)
	  FROM featstore.online_queue q
	 WHERE q.not_before IS NULL OR q.not_before <= now()
	 GROUP BY q.group_name
$$;
COMMENT ON FUNCTION featstore.online_queue_depth() IS 'Entities waiting for the materialization worker, per group (future-dated revisits excluded)';

CREATE VIEW featstore.materialization_status AS
SELECT g.name AS group_name,
	   g.online,
	   w.state AS worker_state,
	   w.pid AS worker_pid,
	   s.last_success,
	   s.lag,
	   coalesce(q.queued_entities, 0) AS queue_depth,
	   q.oldest_enqueued,
	   coalesce(s.entities_written, 0) AS entities_written,
	   coalesce(s.keys_removed, 0) AS keys_removed,
	   coalesce(s.stale_skipped, 0) AS stale_skipped,
	   CASE WHEN w.last_error_at > s.last_error_at OR s.last_error_at IS NULL
			THEN w.last_error ELSE s.last_error END AS last_error,
	   greatest(w.last_error_at, s.last_error_at) AS last_error_at
  FROM featstore.feature_groups g
 CROSS JOIN featstore.online_worker_status() w
  LEFT JOIN featstore.online_group_status() s ON s.group_name = g.name
  LEFT JOIN featstore.online_queue_depth() q ON q.group_name = g.name
 WHERE g.online OR q.group_name IS NOT NULL;
COMMENT ON VIEW featstore.materialization_status IS 'Per online feature group: the worker state, last success, commit-to-Redis lag, queue depth, entities written and the last error';
COMMENT ON COLUMN featstore.materialization_status.group_name IS 'Feature group';
COMMENT ON COLUMN featstore.materialization_status.online IS 'Whether the group is served from Redis';
COMMENT ON COLUMN featstore.materialization_status.worker_state IS 'idle, pushing, connecting, redis unavailable, error, waiting for CREATE EXTENSION, waiting for ALTER EXTENSION UPDATE, stopped';
COMMENT ON COLUMN featstore.materialization_status.worker_pid IS 'Process id of the worker (see pg_stat_activity, backend_type featstore online worker)';
COMMENT ON COLUMN featstore.materialization_status.last_success IS 'When a batch of this group last reached Redis';
COMMENT ON COLUMN featstore.materialization_status.lag IS 'From capture (in the writing transaction) to Redis, for the oldest change of the last batch';
COMMENT ON COLUMN featstore.materialization_status.queue_depth IS 'Entities waiting in featstore.online_queue';
COMMENT ON COLUMN featstore.materialization_status.oldest_enqueued IS 'When the oldest waiting change was captured';
COMMENT ON COLUMN featstore.materialization_status.entities_written IS 'Redis values written since the server started';
COMMENT ON COLUMN featstore.materialization_status.keys_removed IS 'Redis keys removed (deleted winners, expired TTLs, purges) since the server started';
COMMENT ON COLUMN featstore.materialization_status.stale_skipped IS 'Writes skipped because Redis already held a newer value (retries, late rows)';
COMMENT ON COLUMN featstore.materialization_status.last_error IS 'The latest error of the worker or of this group';
COMMENT ON COLUMN featstore.materialization_status.last_error_at IS 'When the latest error happened';

-- Reading Redis and the status takes featstore_reader; queueing a
-- rematerialization takes featstore_editor (and SELECT on the group table).
REVOKE ALL ON FUNCTION featstore.materialize(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.materialize(text, timestamptz) TO featstore_editor;
REVOKE ALL ON FUNCTION featstore.online_features(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_features(text, text[]) TO featstore_reader;
REVOKE ALL ON FUNCTION featstore.verify_online(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.verify_online(text, integer) TO featstore_reader;
REVOKE ALL ON FUNCTION featstore.online_queue_depth() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_queue_depth() TO featstore_reader;
GRANT SELECT ON featstore.materialization_status TO featstore_reader;
-- Privileges.  Everyone may resolve names in the schema; reading the
-- registry takes featstore_reader, and changing definitions takes
-- featstore_editor (USAGE on the language, EXECUTE on the DDL functions).
-- Registry tables are written only by the extension's own code, as the
-- extension owner, after it has checked the caller's rights.

GRANT USAGE ON SCHEMA featstore TO PUBLIC;

GRANT SELECT ON featstore.entities, featstore.entity_keys, featstore.feature_groups,
	featstore.features, featstore.feature_services, featstore.feature_service_members,
	featstore.definition_history, featstore.catalog, featstore.group_overview,
	featstore.service_features
	TO featstore_reader;
REVOKE EXECUTE ON FUNCTION featstore.search(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.search(text) TO featstore_reader;

REVOKE USAGE ON LANGUAGE featstore FROM PUBLIC;
GRANT USAGE ON LANGUAGE featstore TO featstore_editor;

DO $grants$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure
		  FROM pg_catalog.pg_proc p
		 WHERE p.pronamespace = 'featstore'::regnamespace
		   AND p.proname IN ('exec', 'create_entity', 'drop_entity', 'create_feature_group',
							 'add_feature', 'deprecate_feature', 'set_feature_description',
							 'set_ttl', 'set_online', 'set_group_description', 'set_group_owner',
							 'set_group_tags', 'drop_feature_group', 'create_feature_service',
							 'drop_feature_service')
	LOOP
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO featstore_editor', f);
	END LOOP;
END
$grants$;
