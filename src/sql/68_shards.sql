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

-- A spine sharded like a group: the join over a sharded history runs on the
-- shards only when the spine's partition r is on the server of the
-- history's partition r.  create_shard_spine() makes such a copy of a local
-- spine and fills it (docs/pit-join.md, "Sharded history").
CREATE FUNCTION featstore.create_shard_spine(group_name text, spine regclass, table_name text)
RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
	v_parts integer;
	v_keys text;
	v_cols text;
	v_dblink text;
	v_schema text;
	v_target text;
	v_missing text;
	v_rows bigint;
	s record;
BEGIN
	SELECT p.partitions,
	       (SELECT string_agg(pg_catalog.quote_ident(c), ', ' ORDER BY o) FROM unnest(p.hash_columns) WITH ORDINALITY AS u(c, o))
	  INTO v_parts, v_keys
	  FROM featstore.group_partitioning p
	 WHERE p.group_name = create_shard_spine.group_name
	   AND EXISTS (SELECT 1 FROM featstore.group_shards gs WHERE gs.group_name = p.group_name);
	IF v_parts IS NULL THEN
		RAISE EXCEPTION 'feature group "%" is not sharded', group_name
			USING ERRCODE = '42809', HINT = 'A sharded group is made with PARTITION BY HASH (...) ON SERVERS (...).';
	END IF;
	SELECT string_agg(pg_catalog.quote_ident(k) || ' (' || et.t::text || ')', ', ') INTO v_missing
	  FROM featstore.group_partitioning p, unnest(p.hash_columns) AS k,
	       LATERAL (SELECT ek.data_type AS t FROM featstore.feature_groups g
	                  JOIN featstore.entity_keys ek ON ek.entity_name = g.entity_name
	                 WHERE g.name = p.group_name AND ek.column_name = k) et
	 WHERE p.group_name = create_shard_spine.group_name
	   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
	                    WHERE a.attrelid = spine AND a.attname = k AND NOT a.attisdropped
	                      AND a.atttypid = et.t::oid);
	IF v_missing IS NOT NULL THEN
		RAISE EXCEPTION 'spine % has no key column % of feature group "%"', spine, v_missing, group_name
			USING ERRCODE = '42703', HINT = 'The spine must have the group''s key columns, with the same types, to be hash-partitioned like it.';
	END IF;
	SELECT string_agg(pg_catalog.format('%I %s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
	  INTO v_cols FROM pg_catalog.pg_attribute a
	 WHERE a.attrelid = spine AND a.attnum > 0 AND NOT a.attisdropped;
	SELECT pg_catalog.quote_ident(n.nspname) INTO v_dblink
	  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	 WHERE e.extname = 'dblink';
	IF v_dblink IS NULL THEN
		RAISE EXCEPTION 'create_shard_spine needs the dblink extension, which is not installed in this database'
			USING ERRCODE = '0A000', HINT = 'Run CREATE EXTENSION dblink.';
	END IF;
	SELECT n.nspname INTO v_schema FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	 WHERE c.oid = spine;
	v_target := pg_catalog.format('%I.%I', v_schema, table_name);
	EXECUTE pg_catalog.format('CREATE TABLE %s (%s) PARTITION BY HASH (%s)', v_target, v_cols, v_keys);
	FOR s IN SELECT gs.remainder, gs.server_name, gs.remote_schema
	           FROM featstore.group_shards gs WHERE gs.group_name = create_shard_spine.group_name
	          ORDER BY gs.remainder LOOP
		EXECUTE pg_catalog.format('SELECT %s.dblink_exec($1, $2)', v_dblink)
		  USING s.server_name::text,
		        pg_catalog.format('CREATE TABLE %I.%I (%s)', s.remote_schema, table_name || '_h' || s.remainder, v_cols);
		EXECUTE pg_catalog.format('CREATE FOREIGN TABLE %I.%I PARTITION OF %s FOR VALUES WITH (MODULUS %s, REMAINDER %s)'
		                          ' SERVER %I OPTIONS (schema_name %L, table_name %L, batch_size ''1000'')',
		                          v_schema, table_name || '_h' || s.remainder, v_target, v_parts, s.remainder,
		                          s.server_name, s.remote_schema, table_name || '_h' || s.remainder);
	END LOOP;
	EXECUTE pg_catalog.format('INSERT INTO %s SELECT * FROM %s', v_target, spine);
	GET DIAGNOSTICS v_rows = ROW_COUNT;
	RETURN v_rows;
END
$fn$;
COMMENT ON FUNCTION featstore.create_shard_spine(text, regclass, text) IS 'Makes table_name, in the spine''s schema, a copy of spine hash-partitioned like the sharded group (partition r a postgres_fdw foreign table on the server of the group''s partition r, over a table made there through dblink), fills it, and returns its rows; the join with the group then runs on the shards';
REVOKE ALL ON FUNCTION featstore.create_shard_spine(text, regclass, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.create_shard_spine(text, regclass, text) TO featstore_reader;
