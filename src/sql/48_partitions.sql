-- featstore partitioned history (issue 14): a group's history table can be
-- a declaratively partitioned table, by range of event_timestamp or by hash
-- of its key columns.  The layout is recorded in featstore.group_partitioning
-- and shown in featstore.group_overview, both in 10_registry.sql with the
-- other registry tables and the one definition of the overview; the
-- partitions themselves are PostgreSQL's (pg_inherits), listed here by
-- featstore.partitions.  See docs/ddl.md ("Partitioned history") and
-- docs/pit-join.md.

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
