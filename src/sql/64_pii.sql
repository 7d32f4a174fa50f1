-- featstore PII (issue 12): features tagged PII, masked for roles that are
-- not members of featstore_pii_reader.  See docs/security.md, "PII".

-- Roles belong to the cluster: created only if missing, and they survive
-- DROP EXTENSION, as featstore_reader and featstore_editor do.
DO $pii_role$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'featstore_pii_reader') THEN
		CREATE ROLE featstore_pii_reader NOLOGIN;
	END IF;
END
$pii_role$;

ALTER TABLE featstore.features ADD COLUMN pii boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN featstore.features.pii IS 'Personal data: featstore returns NULL in place of its values to roles that are not members of featstore_pii_reader (pit_join, the marker join, window_timeline, online_features, verify_online) or that may not SELECT its column (online_features, verify_online); monitoring stores no top values of it';

-- the catalog as src/sql/60_training.sql makes it, with the PII tag as its
-- last column
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
		 WHERE t.group_name = f.group_name AND t.feature_name = f.name) AS training_sets,
	   f.pii
  FROM featstore.features f
  JOIN featstore.feature_groups g ON g.name = f.group_name
  LEFT JOIN featstore.source_groups s ON s.group_name = g.name
  LEFT JOIN featstore.window_features w ON w.group_name = f.group_name AND w.feature_name = f.name;
COMMENT ON COLUMN featstore.catalog.pii IS 'Personal data: NULL in featstore''s read paths for roles that are not members of featstore_pii_reader';

CREATE FUNCTION featstore.set_feature_pii(group_name text, feature_name text, pii boolean)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_feature_pii' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.set_feature_pii(text, text, boolean) IS 'ALTER FEATURE GROUP ... ALTER FEATURE ... SET PII (true) or DROP PII (false) as a function';
REVOKE EXECUTE ON FUNCTION featstore.set_feature_pii(text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.set_feature_pii(text, text, boolean) TO featstore_reader;

-- Monitoring (issue 11) describes a feature's values: a PII text feature's
-- most frequent values are the values, a number's quantiles, minimum and
-- maximum nearly so.  Its statistics, drift results and alerts are shown
-- only to members of featstore_pii_reader, on top of the table's
-- privileges: the policies of feature_stats and alerts call this.
CREATE OR REPLACE FUNCTION featstore.feature_visible(group_name text, feature_name name)
RETURNS boolean
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce(bool_and(v.ok), false)
	  FROM (SELECT has_column_privilege(c.oid, a.attnum, 'SELECT')
				   AND NOT row_security_active(c.oid)
				   AND (s.group_name IS NULL
						OR (has_any_column_privilege(sc.oid, 'SELECT')
							AND NOT row_security_active(sc.oid)))
				   AND (NOT coalesce(f.pii, false)
						OR EXISTS (SELECT 1 FROM pg_roles r
									WHERE r.rolname = 'featstore_pii_reader'
									  AND pg_has_role(r.oid, 'MEMBER'))) AS ok
			  FROM featstore.feature_groups g
			  JOIN pg_class c ON c.relname = g.table_name
			  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = g.schema_name
			  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = feature_visible.feature_name
								 AND a.attnum > 0 AND NOT a.attisdropped
			  LEFT JOIN featstore.features f ON f.group_name = g.name AND f.name = feature_visible.feature_name
			  LEFT JOIN featstore.source_groups s ON s.group_name = g.name
			  LEFT JOIN pg_namespace sn ON sn.nspname = s.source_schema
			  LEFT JOIN pg_class sc ON sc.relname = s.source_name AND sc.relnamespace = sn.oid
			 WHERE g.name = feature_visible.group_name) v;
END;
COMMENT ON FUNCTION featstore.feature_visible(text, name) IS 'Whether the calling role may see statistics, drift results and alerts about this feature: it may SELECT the feature''s column of the group''s table (and, for a group FROM a source, the source), no row-level security applies to it there, and for a PII feature it is a member of featstore_pii_reader';
