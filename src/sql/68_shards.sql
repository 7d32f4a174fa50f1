-- featstore sharded history (issue 14): a hash-partitioned group whose
-- partitions are postgres_fdw foreign tables on shard servers, each shard
-- holding a featstore group of its own (docs/ddl.md "Sharded history",
-- docs/pit-join.md "Sharded history").  The layout is one row per hash
-- partition: which foreign server holds remainder r, and which table of
-- that server's group it reads.

CREATE TABLE featstore.group_shards (
	group_name	text NOT NULL REFERENCES featstore.group_partitioning (group_name) ON DELETE CASCADE,
	remainder	integer NOT NULL CHECK (remainder >= 0),
	server_name name NOT NULL,
	remote_schema name NOT NULL,
	remote_table name NOT NULL,
	PRIMARY KEY (group_name, remainder)
);
COMMENT ON TABLE featstore.group_shards IS 'Sharded history (issue 14): for each hash partition of a sharded group, the postgres_fdw server that holds it and the table of the shard''s own group it reads';
COMMENT ON COLUMN featstore.group_shards.group_name IS 'Feature group (hash-partitioned, featstore.group_partitioning)';
COMMENT ON COLUMN featstore.group_shards.remainder IS 'The hash partition''s remainder; it lives on server number remainder % (number of servers), in ON SERVERS order';
COMMENT ON COLUMN featstore.group_shards.server_name IS 'The postgres_fdw foreign server (the shard)';
COMMENT ON COLUMN featstore.group_shards.remote_schema IS 'Schema of the shard''s partition table';
COMMENT ON COLUMN featstore.group_shards.remote_table IS 'The shard''s partition table with the same remainder, which the coordinator''s foreign partition reads';
SELECT pg_catalog.pg_extension_config_dump('featstore.group_shards', '');
GRANT SELECT ON featstore.group_shards TO featstore_reader;

-- the partitions view, with the server of a sharded group's partition
CREATE OR REPLACE VIEW featstore.partitions AS
SELECT g.name AS group_name,
	   pg_catalog.quote_ident(pn.nspname) || '.' || pg_catalog.quote_ident(pc.relname) AS partition_name,
	   p.method,
	   pg_catalog.pg_get_expr(pc.relpartbound, pc.oid) AS bound,
	   pc.reltuples::bigint AS estimated_rows,
	   (SELECT s.srvname FROM pg_catalog.pg_foreign_table ft
		  JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver
		 WHERE ft.ftrelid = pc.oid) AS server
  FROM featstore.group_partitioning p
  JOIN featstore.feature_groups g ON g.name = p.group_name
  JOIN pg_catalog.pg_namespace n ON n.nspname = g.schema_name
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = g.table_name
  JOIN pg_catalog.pg_inherits i ON i.inhparent = c.oid
  JOIN pg_catalog.pg_class pc ON pc.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace;
COMMENT ON COLUMN featstore.partitions.server IS 'Sharded history: the foreign server the partition reads (a postgres_fdw foreign table); NULL for a local partition';

-- postgres_fdw ships only immutable functions: the marker's value never
-- depends on anything but its arguments (its body only raises an error),
-- so it can be, and a sharded join's remote SQL then carries it.
ALTER FUNCTION featstore.pit_match(timestamptz, timestamptz, timestamptz, interval, timestamptz, boolean) IMMUTABLE;
