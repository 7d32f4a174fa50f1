-- featstore partitioned history (issue 14): a group's history table can be
-- a declaratively partitioned table, by range of event_timestamp or by hash
-- of its key columns.  The layout is recorded here; the partitions
-- themselves are PostgreSQL's (pg_inherits), listed by featstore.partitions.
-- See docs/ddl.md ("Partitioned history") and docs/pit-join.md.

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

-- every partition of a partitioned group's table, with its bounds
CREATE VIEW featstore.partitions AS
SELECT g.name AS group_name,
	   pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(pc.relname) AS partition_name,
	   p.method,
	   pg_catalog.pg_get_expr(pc.relpartbound, pc.oid) AS bound,
	   pc.reltuples::bigint AS estimated_rows
  FROM featstore.group_partitioning p
  JOIN featstore.feature_groups g ON g.name = p.group_name
  JOIN pg_catalog.pg_namespace n ON n.nspname = g.schema_name
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = g.table_name
  JOIN pg_catalog.pg_inherits i ON i.inhparent = c.oid
  JOIN pg_catalog.pg_class pc ON pc.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace;
COMMENT ON VIEW featstore.partitions IS 'One row per partition of a partitioned group''s history table';
COMMENT ON COLUMN featstore.partitions.group_name IS 'Feature group';
COMMENT ON COLUMN featstore.partitions.partition_name IS 'The partition, schema-qualified';
COMMENT ON COLUMN featstore.partitions.method IS 'range or hash';
COMMENT ON COLUMN featstore.partitions.bound IS 'The partition''s bound as PostgreSQL prints it (FOR VALUES ..., or DEFAULT)';
COMMENT ON COLUMN featstore.partitions.estimated_rows IS 'Planner estimate of the partition''s row count (-1 before the first ANALYZE)';
GRANT SELECT ON featstore.partitions TO featstore_reader;

-- the group overview gains the layout, as its last column
CREATE OR REPLACE VIEW featstore.group_overview AS
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
COMMENT ON COLUMN featstore.group_overview.partitioning IS 'The history table''s partitioning (featstore.group_partitioning); NULL for a plain table';

CREATE FUNCTION featstore.maintain_partitions(group_name text,
	OUT action text, OUT partition_name text, OUT rows bigint)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'featstore_maintain_partitions' LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.maintain_partitions(text) IS 'Runs the partition maintenance of a range-partitioned group now, as its table''s owner: creates the partitions due (moving their rows out of the DEFAULT partition), drops those past the retention; one row per action';
REVOKE ALL ON FUNCTION featstore.maintain_partitions(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.maintain_partitions(text) TO featstore_reader;

CREATE FUNCTION featstore.set_retention(group_name text, retention interval)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_retention' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.set_retention(text, interval) IS 'ALTER FEATURE GROUP ... SET RETENTION as a function; NULL is DROP RETENTION';
REVOKE ALL ON FUNCTION featstore.set_retention(text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.set_retention(text, interval) TO featstore_reader;
