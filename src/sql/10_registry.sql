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
	data_type	regtype NOT NULL
		CONSTRAINT entity_keys_data_type_check
		CHECK (data_type IN ('text'::regtype, 'integer'::regtype, 'bigint'::regtype, 'uuid'::regtype)),
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
	kind		text NOT NULL DEFAULT 'table' CHECK (kind IN ('table', 'source')),
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
COMMENT ON COLUMN featstore.feature_groups.kind IS 'table: users fill the group''s history table; source: featstore computes the features FROM a source of events, and schema_name.table_name is the group''s view (featstore.source_groups)';

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

-- Groups computed FROM a source of events (issue 10): what the source is,
-- and how each feature is computed.  Definitions are kept as text, as
-- written; the engine parses them again, under a pinned search_path, each
-- time it compiles a group, so a dump and restore keeps them exactly.
CREATE TABLE featstore.source_groups (
	group_name	text PRIMARY KEY REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	source_schema name NOT NULL,
	source_name	name NOT NULL,
	source_kind	"char" NOT NULL CHECK (source_kind IN ('r', 'p', 'v', 'm')),
	timestamp_column name NOT NULL,
	created_column name,
	where_text	text,
	window_end_exclusive boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE featstore.source_groups IS 'Feature groups computed FROM a source of events: one row per such group (feature_groups.kind = ''source'')';
COMMENT ON COLUMN featstore.source_groups.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.source_groups.source_schema IS 'Schema of the source relation, resolved by name before every read';
COMMENT ON COLUMN featstore.source_groups.source_name IS 'Name of the source relation (a table, partitioned table, view or materialized view)';
COMMENT ON COLUMN featstore.source_groups.source_kind IS 'The source''s relkind at definition: r table, p partitioned table, v view, m materialized view';
COMMENT ON COLUMN featstore.source_groups.timestamp_column IS 'TIMESTAMP: the source column (timestamptz) holding when each event happened';
COMMENT ON COLUMN featstore.source_groups.created_column IS 'CREATED: the source column (timestamptz) holding when each event was written; NULL: none, so as_of and strict are refused';
COMMENT ON COLUMN featstore.source_groups.where_text IS 'WHERE: which events count, as written (built-in functions and operators only); NULL: every event';
COMMENT ON COLUMN featstore.source_groups.window_end_exclusive IS 'WINDOW END EXCLUSIVE: windows are t - w <= event_time < t instead of t - w < event_time <= t';

CREATE TABLE featstore.window_features (
	group_name	text NOT NULL,
	feature_name name NOT NULL,
	aggregate	text NOT NULL
		CONSTRAINT window_features_aggregate_check
		CHECK (aggregate IN ('count_star', 'count', 'count_distinct', 'sum', 'avg', 'min', 'max',
							 'stddev_samp', 'stddev_pop', 'var_samp', 'var_pop', 'last', 'expression')),
	argument	name,
	window_usecs bigint CHECK (window_usecs > 0),
	window_text	text,
	default_text text,
	default_value text,
	expression_text text,
	PRIMARY KEY (group_name, feature_name),
	FOREIGN KEY (group_name, feature_name) REFERENCES featstore.features (group_name, name) ON DELETE CASCADE
);
COMMENT ON TABLE featstore.window_features IS 'How each feature of a group computed FROM a source is computed: an aggregate over a window of events, or an expression over the group''s earlier features';
COMMENT ON COLUMN featstore.window_features.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.window_features.feature_name IS 'The feature (featstore.features)';
COMMENT ON COLUMN featstore.window_features.aggregate IS 'count_star, count, count_distinct, sum, avg, min, max, stddev_samp, stddev_pop, var_samp, var_pop, last, or expression';
COMMENT ON COLUMN featstore.window_features.argument IS 'The aggregated source column; NULL for count(*) and expressions';
COMMENT ON COLUMN featstore.window_features.window_usecs IS 'OVER: the window in microseconds (days are 24 hours); NULL: unbounded, over all history';
COMMENT ON COLUMN featstore.window_features.window_text IS 'OVER: the window as written; NULL: unbounded';
COMMENT ON COLUMN featstore.window_features.default_text IS 'DEFAULT: the literal as written; NULL: none';
COMMENT ON COLUMN featstore.window_features.default_value IS 'DEFAULT: the literal''s value, read with the feature type''s input function, which replaces an empty window''s value; NULL: none';
COMMENT ON COLUMN featstore.window_features.expression_text IS 'An expression feature, as written, over the group''s earlier features (built-in functions and operators only); NULL for aggregates';

-- Every statement that changes a registry table, whoever runs it (featstore's
-- DDL, a superuser by hand, pg_restore), makes every backend's cache of
-- group definitions forget what it holds (src/registry/registry_lookup.c).
CREATE FUNCTION featstore.registry_invalidate() RETURNS trigger
AS 'MODULE_PATHNAME', 'registry_invalidate' LANGUAGE C;
COMMENT ON FUNCTION featstore.registry_invalidate() IS 'Statement trigger on the registry tables: invalidates every session''s cache of feature group definitions';
CREATE TRIGGER registry_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON featstore.entities
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.registry_invalidate();
CREATE TRIGGER registry_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON featstore.entity_keys
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.registry_invalidate();
CREATE TRIGGER registry_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON featstore.feature_groups
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.registry_invalidate();
CREATE TRIGGER registry_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON featstore.features
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.registry_invalidate();
CREATE TRIGGER registry_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON featstore.feature_services
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.registry_invalidate();
CREATE TRIGGER registry_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON featstore.feature_service_members
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.registry_invalidate();
CREATE TRIGGER registry_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON featstore.source_groups
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.registry_invalidate();
CREATE TRIGGER registry_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON featstore.window_features
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.registry_invalidate();

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
SELECT pg_catalog.pg_extension_config_dump('featstore.source_groups', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.window_features', '');

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
	   f.created_at,
	   g.kind AS group_kind,
	   pg_catalog.quote_ident(s.source_schema) || '.' || pg_catalog.quote_ident(s.source_name) AS source,
	   w.aggregate,
	   w.argument AS aggregate_argument,
	   w.window_text AS feature_window
  FROM featstore.features f
  JOIN featstore.feature_groups g ON g.name = f.group_name
  LEFT JOIN featstore.source_groups s ON s.group_name = g.name
  LEFT JOIN featstore.window_features w ON w.group_name = f.group_name AND w.feature_name = f.name;
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
COMMENT ON COLUMN featstore.catalog.group_kind IS 'table: the group''s history table holds the values; source: featstore computes them FROM the source';
COMMENT ON COLUMN featstore.catalog.source IS 'The source relation of a group computed FROM a source; NULL otherwise';
COMMENT ON COLUMN featstore.catalog.aggregate IS 'How a feature of a source group is computed: count_star, count, count_distinct, sum, avg, min, max, stddev_samp, stddev_pop, var_samp, var_pop, last or expression; NULL otherwise';
COMMENT ON COLUMN featstore.catalog.aggregate_argument IS 'The aggregated source column; NULL for count(*), expressions and stored features';
COMMENT ON COLUMN featstore.catalog.feature_window IS 'The OVER window as written; NULL for an unbounded aggregate, an expression or a stored feature';

-- partitioned history (issue 14, src/sql/48_partitions.sql): the layout
CREATE TABLE featstore.group_partitioning (
	group_name	text PRIMARY KEY REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	method		text NOT NULL CHECK (method IN ('range', 'hash')),
	partition_interval interval CHECK (partition_interval > interval '0'),
	hash_columns name[],
	partitions	integer CHECK (partitions BETWEEN 1 AND 1024),
	retention	interval CHECK (retention > interval '0'),
	CONSTRAINT group_partitioning_range_layout
		CHECK ((method = 'range') = (partition_interval IS NOT NULL)),
	CONSTRAINT group_partitioning_hash_layout
		CHECK ((method = 'hash') = (partitions IS NOT NULL AND hash_columns IS NOT NULL)),
	CONSTRAINT group_partitioning_retention_range
		CHECK (retention IS NULL OR method = 'range')
);
COMMENT ON TABLE featstore.group_partitioning IS 'Partitioned history (issue 14): the layout of each group whose history table is partitioned; groups without a row have a plain table';
COMMENT ON COLUMN featstore.group_partitioning.group_name IS 'Feature group';
COMMENT ON COLUMN featstore.group_partitioning.method IS 'range: by event_timestamp, one partition per interval plus a DEFAULT partition; hash: by the hash of key columns, all partitions made at creation';
COMMENT ON COLUMN featstore.group_partitioning.partition_interval IS 'Range: the width of a partition, an absolute duration; partitions start at multiples of it from 2000-01-01 00:00 UTC';
COMMENT ON COLUMN featstore.group_partitioning.hash_columns IS 'Hash: the key columns hashed, in order';
COMMENT ON COLUMN featstore.group_partitioning.partitions IS 'Hash: the number of partitions (1 to 1024)';
COMMENT ON COLUMN featstore.group_partitioning.retention IS 'Range: range partitions entirely older than now() - retention are dropped by the maintenance; NULL keeps everything';

SELECT pg_catalog.pg_extension_config_dump('featstore.group_partitioning', '');
GRANT SELECT ON featstore.group_partitioning TO featstore_reader;

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
	   g.created_by,
	   g.kind,
	   (SELECT pg_catalog.quote_ident(s.source_schema) || '.' || pg_catalog.quote_ident(s.source_name)
		  FROM featstore.source_groups s WHERE s.group_name = g.name) AS source,
	   (SELECT CASE p.method
				   WHEN 'range' THEN 'range (event_timestamp) interval ' || pg_catalog.justify_hours(p.partition_interval)::text
						|| coalesce(', retention ' || pg_catalog.justify_hours(p.retention)::text, '')
				   ELSE 'hash (' || pg_catalog.array_to_string(p.hash_columns, ', ') || ') partitions '
						|| p.partitions::text
			   END
		  FROM featstore.group_partitioning p WHERE p.group_name = g.name) AS partitioning
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
COMMENT ON COLUMN featstore.group_overview.kind IS 'table: users fill the history table; source: featstore computes the features FROM the source, through the view named by table_name';
COMMENT ON COLUMN featstore.group_overview.source IS 'The source relation of a group computed FROM a source; NULL otherwise';
COMMENT ON COLUMN featstore.group_overview.partitioning IS 'The history table''s partitioning (featstore.group_partitioning); NULL for a plain table';

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

-- resolve_features resolves the features a caller names, as pit_join()
-- takes them (group, group.feature or group.*, with SQL identifier rules,
-- and a service's), with the same C code as featstore statements.  It runs
-- as its caller; the registry reads it does are the extension owner's.
CREATE FUNCTION featstore.resolve_features(features text[], service text DEFAULT NULL)
RETURNS TABLE (group_name text, feature_name text, schema_name name, table_name name,
			   entity_name text, ttl interval, key_columns name[], key_types regtype[])
AS 'MODULE_PATHNAME', 'featstore_resolve_features'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.resolve_features(text[], text) IS 'The features a service (first) and a list of group, group.feature or group.* references name, in order, with each feature''s group, table, entity, TTL and entity key columns';
