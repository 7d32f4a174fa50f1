-- featstore training sets (issue 12): a service's features joined point in
-- time to a stored copy of a spine, frozen at as_of, so that the set's rows
-- never change; and the lineage from features to services to training
-- sets.  See docs/training-sets.md.

-- the object types of the history: part ts adds 'training set' (other parts
-- of issue 12 add theirs to the same list when merged)
ALTER TABLE featstore.definition_history
	DROP CONSTRAINT definition_history_object_type_check,
	ADD CONSTRAINT definition_history_object_type_check
	CHECK (object_type IN ('entity', 'feature group', 'feature service', 'training set'));

CREATE TABLE featstore.training_sets (
	name		text PRIMARY KEY,
	service_name text NOT NULL,
	schema_name	name NOT NULL,
	view_name	name NOT NULL,
	spine_table	name NOT NULL,
	spine		text NOT NULL,
	as_of		timestamptz NOT NULL,
	strict		boolean NOT NULL,
	row_count	bigint NOT NULL CHECK (row_count >= 0),
	checksum	text NOT NULL,
	spine_checksum text NOT NULL,
	description	text,
	owner		text,
	tags		text[] NOT NULL DEFAULT '{}',
	created_at	timestamptz NOT NULL DEFAULT now(),
	created_by	name NOT NULL,
	history_position bigint NOT NULL,
	UNIQUE (schema_name, view_name),
	UNIQUE (schema_name, spine_table),
	CONSTRAINT training_sets_name_check CHECK (name <> '')
);
COMMENT ON TABLE featstore.training_sets IS 'Training sets: a feature service''s features joined point in time to a stored copy of a spine, at a fixed as_of, so that the set''s view returns the same rows forever';
COMMENT ON COLUMN featstore.training_sets.name IS 'Training set name, unique in the database; also the name of its view';
COMMENT ON COLUMN featstore.training_sets.service_name IS 'Feature service the set was built for (its features at creation are in training_set_features; a later change or drop of the service does not change the set)';
COMMENT ON COLUMN featstore.training_sets.schema_name IS 'Schema of the set''s view and spine table';
COMMENT ON COLUMN featstore.training_sets.view_name IS 'The typed view: the stored spine joined point in time with the recorded features';
COMMENT ON COLUMN featstore.training_sets.spine_table IS 'The table holding the copy of the spine, owned by the creator';
COMMENT ON COLUMN featstore.training_sets.spine IS 'The spine as given: a table or view name, or a query';
COMMENT ON COLUMN featstore.training_sets.as_of IS 'Only history rows with created_at <= as_of are used (default: the creating transaction''s start)';
COMMENT ON COLUMN featstore.training_sets.strict IS 'Strict mode: only rows written by each spine row''s time (created_at <= ts) are used';
COMMENT ON COLUMN featstore.training_sets.row_count IS 'Rows of the spine copy, and so of the view';
COMMENT ON COLUMN featstore.training_sets.checksum IS 'SHA-256 (hex) of the view''s rows at creation: each row''s text form followed by a newline, rows sorted by that text in collation "C", with TimeZone UTC and DateStyle ISO (featstore.verify_training_set recomputes it)';
COMMENT ON COLUMN featstore.training_sets.spine_checksum IS 'The same checksum of the spine copy''s rows';
COMMENT ON COLUMN featstore.training_sets.description IS 'Free-text description';
COMMENT ON COLUMN featstore.training_sets.owner IS 'Owning team or person (free text)';
COMMENT ON COLUMN featstore.training_sets.tags IS 'Free-form tags; a tag model:<name> names the model trained on the set (featstore.lineage)';
COMMENT ON COLUMN featstore.training_sets.created_at IS 'When the set was created (transaction start)';
COMMENT ON COLUMN featstore.training_sets.created_by IS 'Database role that created the set; it owns the view and the spine table';
COMMENT ON COLUMN featstore.training_sets.history_position IS 'The latest featstore.definition_history id when the set was created: the definitions it was built against';

CREATE TABLE featstore.training_set_features (
	training_set text NOT NULL REFERENCES featstore.training_sets (name) ON DELETE CASCADE,
	position	integer NOT NULL CHECK (position >= 1),
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name),
	feature_name name NOT NULL,
	data_type	text NOT NULL,
	PRIMARY KEY (training_set, position),
	UNIQUE (training_set, group_name, feature_name),
	FOREIGN KEY (group_name, feature_name) REFERENCES featstore.features (group_name, name)
);
COMMENT ON TABLE featstore.training_set_features IS 'The features of each training set, as its service listed them at creation, with their types';
COMMENT ON COLUMN featstore.training_set_features.training_set IS 'Training set';
COMMENT ON COLUMN featstore.training_set_features.position IS 'Order of the feature in the set (its column order after the spine''s columns)';
COMMENT ON COLUMN featstore.training_set_features.group_name IS 'Feature group of the feature';
COMMENT ON COLUMN featstore.training_set_features.feature_name IS 'Feature, also the view''s column name';
COMMENT ON COLUMN featstore.training_set_features.data_type IS 'SQL type of the feature at creation';

SELECT pg_catalog.pg_extension_config_dump('featstore.training_sets', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.training_set_features', '');

-- create_training_set keeps the caller's search_path, as pit_join does: the
-- spine and the set's schema are the caller's names.  The SQL it writes
-- schema-qualifies everything.
CREATE FUNCTION featstore.create_training_set(name text, service text, spine text,
	as_of timestamptz DEFAULT NULL, strict boolean DEFAULT false, description text DEFAULT NULL,
	owner text DEFAULT NULL, tags text[] DEFAULT '{}', schema_name name DEFAULT NULL)
RETURNS regclass AS 'MODULE_PATHNAME', 'featstore_create_training_set' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION featstore.create_training_set(text, text, text, timestamptz, boolean, text, text, text[], name) IS 'CREATE TRAINING SET as a function; returns the set''s view';

CREATE FUNCTION featstore.drop_training_set(name text, if_exists boolean DEFAULT false,
	cascade boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_drop_training_set' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.drop_training_set(text, boolean, boolean) IS 'DROP TRAINING SET as a function';

CREATE FUNCTION featstore.verify_training_set(name text,
	OUT training_set text, OUT row_count bigint, OUT rows_now bigint,
	OUT checksum text, OUT checksum_now text, OUT spine_unchanged boolean, OUT unchanged boolean)
RETURNS record AS 'MODULE_PATHNAME', 'featstore_verify_training_set' LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.verify_training_set(text) IS 'Recomputes a training set''s checksum from its view and spine table, as the caller, and says whether its rows are still those recorded at creation';

-- Lineage: which services and training sets use each feature.
CREATE VIEW featstore.lineage AS
WITH set_uses AS (
	SELECT t.group_name, t.feature_name, s.service_name, s.name AS training_set,
		   (SELECT substr(tag, 7) FROM unnest(s.tags) WITH ORDINALITY AS u(tag, n)
			 WHERE tag LIKE 'model:%' ORDER BY n LIMIT 1) AS model,
		   s.as_of, s.created_at
	  FROM featstore.training_set_features t
	  JOIN featstore.training_sets s ON s.name = t.training_set
), uses AS (
	SELECT u.group_name, u.feature_name, u.service_name, u.training_set, u.model, u.as_of, u.created_at
	  FROM set_uses u
	UNION ALL
	SELECT sf.group_name, sf.feature_name, sf.service_name, NULL, NULL, NULL, NULL
	  FROM featstore.service_features sf
	 WHERE NOT EXISTS (SELECT 1 FROM set_uses u
						WHERE u.group_name = sf.group_name AND u.feature_name = sf.feature_name
						  AND u.service_name = sf.service_name)
)
SELECT f.group_name,
	   f.name AS feature_name,
	   f.group_name || '.' || f.name AS qualified_name,
	   f.status,
	   u.service_name,
	   u.service_name IS NOT NULL
		 AND EXISTS (SELECT 1 FROM featstore.service_features sf
					  WHERE sf.service_name = u.service_name AND sf.group_name = f.group_name
						AND sf.feature_name = f.name) AS in_service,
	   u.training_set,
	   u.model,
	   u.as_of AS training_set_as_of,
	   u.created_at AS training_set_created_at
  FROM featstore.features f
  LEFT JOIN uses u ON u.group_name = f.group_name AND u.feature_name = f.name;
COMMENT ON VIEW featstore.lineage IS 'Feature -> feature services -> training sets: one row per feature, service and training set using it (a feature used by nothing has one row of NULLs)';
COMMENT ON COLUMN featstore.lineage.group_name IS 'Feature group';
COMMENT ON COLUMN featstore.lineage.feature_name IS 'Feature';
COMMENT ON COLUMN featstore.lineage.qualified_name IS 'group.feature';
COMMENT ON COLUMN featstore.lineage.status IS 'active or deprecated';
COMMENT ON COLUMN featstore.lineage.service_name IS 'A feature service that uses the feature now, or that a training set using it was built for; NULL if nothing uses it';
COMMENT ON COLUMN featstore.lineage.in_service IS 'Whether the service uses the feature now (false: only a training set built for the service earlier does)';
COMMENT ON COLUMN featstore.lineage.training_set IS 'A training set that uses the feature; NULL for a service no training set of which uses it';
COMMENT ON COLUMN featstore.lineage.model IS 'The training set''s model: its first tag model:<name>, without the prefix';
COMMENT ON COLUMN featstore.lineage.training_set_as_of IS 'The training set''s as_of';
COMMENT ON COLUMN featstore.lineage.training_set_created_at IS 'When the training set was created';

-- The catalog, with how many services and training sets use each feature
-- (the columns before them are those of src/sql/10_registry.sql).
CREATE OR REPLACE VIEW featstore.catalog AS
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
	   w.window_text AS feature_window,
	   (SELECT count(DISTINCT sf.service_name) FROM featstore.service_features sf
		 WHERE sf.group_name = f.group_name AND sf.feature_name = f.name) AS services,
	   (SELECT count(*) FROM featstore.training_set_features t
		 WHERE t.group_name = f.group_name AND t.feature_name = f.name) AS training_sets
  FROM featstore.features f
  JOIN featstore.feature_groups g ON g.name = f.group_name
  LEFT JOIN featstore.source_groups s ON s.group_name = g.name
  LEFT JOIN featstore.window_features w ON w.group_name = f.group_name AND w.feature_name = f.name;
COMMENT ON COLUMN featstore.catalog.services IS 'How many feature services use the feature now';
COMMENT ON COLUMN featstore.catalog.training_sets IS 'How many training sets use the feature';

REVOKE ALL ON featstore.training_sets, featstore.training_set_features, featstore.lineage FROM PUBLIC;
GRANT SELECT ON featstore.training_sets, featstore.training_set_features, featstore.lineage
	TO featstore_reader;
REVOKE EXECUTE ON FUNCTION featstore.create_training_set(text, text, text, timestamptz, boolean, text, text, text[], name),
	featstore.drop_training_set(text, boolean, boolean), featstore.verify_training_set(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.create_training_set(text, text, text, timestamptz, boolean, text, text, text[], name),
	featstore.drop_training_set(text, boolean, boolean), featstore.verify_training_set(text) TO featstore_reader;
