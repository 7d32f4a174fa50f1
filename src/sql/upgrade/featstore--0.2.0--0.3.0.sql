-- featstore 0.2.0 -> 0.3.0
-- Security and exactness (issue 8): every function pins its search_path,
-- group tables are read as their owners, online reads check privileges.
\echo Use "ALTER EXTENSION featstore UPDATE TO '0.3.0'" to load this file. \quit

-- owner:
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

CREATE FUNCTION featstore.check_feature_group(name text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_check_feature_group' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION featstore.check_feature_group(text) IS 'Raises an error naming the column if a feature group''s history table is not a plain table with the keys, timestamps and features of the registry''s types';

-- pit:
-- The spine argument is checked with the raw parser before anything of it
-- runs (pit_spine_from), and the three PL/pgSQL functions that resolve the
-- caller's names qualify every function, operator and type they use and
-- write; as_of is written in UTC ISO form.  Their bodies are those of
-- src/sql/30_pit.sql; pit_join_sql also checks each group's table before it
-- joins it (featstore.check_feature_group).
CREATE FUNCTION featstore.pit_spine_from(spine text)
RETURNS text
AS 'MODULE_PATHNAME', 'pit_spine_from'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION featstore.pit_spine_from(text) IS
'Internal to pit_join: the spine as a FROM item, a relation name resolved and schema-qualified, or exactly one query that only reads, checked before anything runs';

CREATE OR REPLACE FUNCTION featstore.pit_join_sql(
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
	v_from		pg_catalog.text;
	v_cols		pg_catalog.text[];
	v_types		pg_catalog.regtype[];
	v_ts		pg_catalog.text;
	v_cands		pg_catalog.text[];
	v_grp		pg_catalog.text[] := '{}';
	v_feat		pg_catalog.text[] := '{}';
	v_groups	pg_catalog.text[] := '{}';
	v_outs		pg_catalog.text[] := '{}';
	v_gschema	pg_catalog.text[] := '{}';
	v_gtable	pg_catalog.text[] := '{}';
	v_gentity	pg_catalog.text[] := '{}';
	v_gttl		pg_catalog.interval[] := '{}';
	v_gkeys		pg_catalog.text[] := '{}';	-- each feature's key columns, a name[] as text
	v_gktypes	pg_catalog.text[] := '{}';	-- and their types, a regtype[] as text
	v_knames	pg_catalog.name[];
	v_ktypes	pg_catalog.regtype[];
	v_out		pg_catalog.text;
	v_i			pg_catalog.int4;
	v_j			pg_catalog.int4;
	v_select	pg_catalog.text := 's.*';
	v_joins		pg_catalog.text := '';
	v_on		pg_catalog.text;
	v_alias		pg_catalog.text;
	v_table		pg_catalog.regclass;
	r			record;
	k			record;
BEGIN
	IF spine IS NULL OR pg_catalog.btrim(spine) OPERATOR(pg_catalog.=) '' THEN
		RAISE EXCEPTION 'pit_join needs a spine'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass a table or view name, or a SELECT query, with the entity keys and a timestamptz column.';
	END IF;
	IF as_of IS NOT NULL AND as_of OPERATOR(pg_catalog.>) pg_catalog.now() THEN
		RAISE EXCEPTION 'as_of % is in the future', as_of
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'as_of bounds the created_at of the rows used, to rebuild a training set as it was known then; pass a time at or before now(), or NULL for every committed row.';
	END IF;
	IF coalesce(pg_catalog.cardinality(features), 0) OPERATOR(pg_catalog.=) 0 AND service IS NULL THEN
		RAISE EXCEPTION 'pit_join needs features'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass features => ARRAY[''group'', ''group.feature''] or service => ''service name''.';
	END IF;

	-- the spine: the name of a table or view, or exactly one query that
	-- reads, checked before any of it runs
	v_from := featstore.pit_spine_from(spine);
	SELECT pg_catalog.array_agg(d.column_name ORDER BY d.ord), pg_catalog.array_agg(d.data_type ORDER BY d.ord)
	  INTO v_cols, v_types
	  FROM featstore.pit_describe(v_from OPERATOR(pg_catalog.||) ' AS s') WITH ORDINALITY AS d(column_name, data_type, ord);
	v_cols := coalesce(v_cols, '{}');

	-- the spine timestamp: named, or the only timestamptz column
	IF spine_ts IS NOT NULL THEN
		v_i := pg_catalog.array_position(v_cols, spine_ts);
		IF v_i IS NULL THEN
			RAISE EXCEPTION 'spine has no column "%"', spine_ts
				USING ERRCODE = 'undefined_column',
					  HINT = pg_catalog.format('The spine''s columns are: %s.', pg_catalog.array_to_string(v_cols, ', '));
		END IF;
		IF v_types[v_i] OPERATOR(pg_catalog.<>) 'pg_catalog.timestamptz'::pg_catalog.regtype THEN
			RAISE EXCEPTION 'spine timestamp column "%" is of type %, not timestamp with time zone', spine_ts, v_types[v_i]
				USING ERRCODE = 'datatype_mismatch',
					  HINT = pg_catalog.format('Convert it in a spine query, e.g. SELECT ..., %I AT TIME ZONE ''UTC'' AS %I FROM ...', spine_ts, spine_ts);
		END IF;
		v_ts := spine_ts;
	ELSE
		SELECT pg_catalog.array_agg(c ORDER BY o) INTO v_cands
		  FROM ROWS FROM (pg_catalog.unnest(v_cols), pg_catalog.unnest(v_types)) WITH ORDINALITY AS u(c, t, o)
		 WHERE t OPERATOR(pg_catalog.=) 'pg_catalog.timestamptz'::pg_catalog.regtype;
		IF v_cands IS NULL THEN
			RAISE EXCEPTION 'spine has no timestamp with time zone column'
				USING ERRCODE = 'undefined_column',
					  HINT = pg_catalog.format('The spine''s columns are: %s. Add a timestamptz column (timestamp without time zone is refused: convert it with AT TIME ZONE) or pass spine_ts => ''column''.', pg_catalog.array_to_string(v_cols, ', '));
		ELSIF pg_catalog.cardinality(v_cands) OPERATOR(pg_catalog.>) 1 THEN
			RAISE EXCEPTION 'spine timestamp is ambiguous: columns % are all timestamptz', pg_catalog.array_to_string(v_cands, ', ')
				USING ERRCODE = 'ambiguous_column',
					  HINT = pg_catalog.format('Pass spine_ts => ''%s'' (or another of them).', v_cands[1]);
		END IF;
		v_ts := v_cands[1];
	END IF;

	-- the requested features, in order, each once: the registry resolves
	-- them with SQL identifier rules, as featstore statements name them
	FOR r IN SELECT * FROM featstore.resolve_features(features, service)
	LOOP
		v_grp := v_grp OPERATOR(pg_catalog.||) r.group_name;
		v_feat := v_feat OPERATOR(pg_catalog.||) r.feature_name;
		v_gschema := v_gschema OPERATOR(pg_catalog.||) r.schema_name::pg_catalog.text;
		v_gtable := v_gtable OPERATOR(pg_catalog.||) r.table_name::pg_catalog.text;
		v_gentity := v_gentity OPERATOR(pg_catalog.||) r.entity_name;
		v_gttl := v_gttl OPERATOR(pg_catalog.||) r.ttl;
		v_gkeys := v_gkeys OPERATOR(pg_catalog.||) r.key_columns::pg_catalog.text;
		v_gktypes := v_gktypes OPERATOR(pg_catalog.||) r.key_types::pg_catalog.text;
	END LOOP;

	-- output names: each feature once, clashing with nothing
	FOR v_i IN 1 .. coalesce(pg_catalog.cardinality(v_feat), 0)
	LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM pg_catalog.generate_series(1, v_i OPERATOR(pg_catalog.-) 1) j
							   WHERE v_grp[j] OPERATOR(pg_catalog.=) v_grp[v_i] AND v_feat[j] OPERATOR(pg_catalog.=) v_feat[v_i]);
		v_out := CASE WHEN qualified THEN v_grp[v_i] OPERATOR(pg_catalog.||) '__' OPERATOR(pg_catalog.||) v_feat[v_i] ELSE v_feat[v_i] END;
		IF v_out OPERATOR(pg_catalog.=) ANY (v_cols) THEN
			RAISE EXCEPTION 'feature "%" of group "%" has the name of a spine column', v_feat[v_i], v_grp[v_i]
				USING ERRCODE = 'duplicate_column',
					  HINT = CASE WHEN qualified THEN 'Rename the spine column in a spine query.'
								  ELSE 'Pass qualified => true to name feature columns group__feature, or rename the spine column.' END;
		END IF;
		v_j := pg_catalog.array_position(v_outs, v_out);
		IF v_j IS NOT NULL THEN
			RAISE EXCEPTION 'feature name "%" is in more than one requested group', v_out
				USING ERRCODE = 'duplicate_column',
					  HINT = 'Pass qualified => true to name feature columns group__feature.';
		END IF;
		v_outs := v_outs OPERATOR(pg_catalog.||) v_out;
		IF NOT v_grp[v_i] OPERATOR(pg_catalog.=) ANY (v_groups) THEN
			v_groups := v_groups OPERATOR(pg_catalog.||) v_grp[v_i];
		END IF;
		v_alias := 'g' OPERATOR(pg_catalog.||) pg_catalog.array_position(v_groups, v_grp[v_i]);
		v_select := v_select OPERATOR(pg_catalog.||) pg_catalog.format(', %I.%I', v_alias, v_feat[v_i]);
		IF v_out OPERATOR(pg_catalog.<>) v_feat[v_i] THEN
			v_select := v_select OPERATOR(pg_catalog.||) pg_catalog.format(' AS %I', v_out);
		END IF;
	END LOOP;

	-- one marker join per group, on the group's entity keys
	FOR v_i IN 1 .. coalesce(pg_catalog.cardinality(v_groups), 0)
	LOOP
		v_alias := 'g' OPERATOR(pg_catalog.||) v_i;
		v_j := pg_catalog.array_position(v_grp, v_groups[v_i]);
		SELECT v_gschema[v_j] AS schema_name, v_gtable[v_j] AS table_name,
			   v_gentity[v_j] AS entity_name, v_gttl[v_j] AS ttl INTO r;
		v_knames := v_gkeys[v_j]::pg_catalog.name[];
		v_ktypes := v_gktypes[v_j]::pg_catalog.regtype[];
		v_table := pg_catalog.to_regclass(pg_catalog.format('%I.%I', r.schema_name, r.table_name));
		IF v_table IS NULL THEN
			RAISE EXCEPTION 'table %.% of feature group "%" does not exist', r.schema_name, r.table_name, v_groups[v_i]
				USING ERRCODE = 'undefined_table',
					  HINT = pg_catalog.format('The registry refers to the table by name: rename it back, or drop and re-create the group (DROP FEATURE GROUP %s).', v_groups[v_i]);
		END IF;
		-- nothing is read from a table that lost the registry's shape
		PERFORM featstore.check_feature_group(v_groups[v_i]);
		v_on := '';
		FOR k IN SELECT u.column_name::pg_catalog.text AS column_name, u.data_type
				   FROM ROWS FROM (pg_catalog.unnest(v_knames), pg_catalog.unnest(v_ktypes))
						WITH ORDINALITY AS u(column_name, data_type, ord)
				  ORDER BY u.ord
		LOOP
			v_j := pg_catalog.array_position(v_cols, k.column_name);
			IF v_j IS NULL THEN
				RAISE EXCEPTION 'spine has no column "%", the key of entity "%" (feature group "%")', k.column_name, r.entity_name, v_groups[v_i]
					USING ERRCODE = 'undefined_column',
						  HINT = pg_catalog.format('Add it to the spine, or rename a column in a spine query: SELECT ..., my_column AS %I FROM ...', k.column_name);
			END IF;
			IF v_types[v_j] OPERATOR(pg_catalog.<>) k.data_type::pg_catalog.regtype THEN
				RAISE EXCEPTION 'spine column "%" is of type %, but the key of entity "%" is %', k.column_name, v_types[v_j], r.entity_name, k.data_type
					USING ERRCODE = 'datatype_mismatch',
						  HINT = pg_catalog.format('Cast it in a spine query: SELECT ..., %I::%s AS %I FROM ...', k.column_name, k.data_type, k.column_name);
			END IF;
			v_on := v_on OPERATOR(pg_catalog.||)
				pg_catalog.format('%I.%I OPERATOR(pg_catalog.=) s.%I AND ', v_alias, k.column_name, k.column_name);
		END LOOP;
		v_joins := v_joins OPERATOR(pg_catalog.||)
			pg_catalog.format(E'\n  LEFT JOIN %I.%I AS %I ON %sfeatstore.pit_match(%I.event_timestamp, %I.created_at, s.%I, %s, %s, %s)',
							  r.schema_name, r.table_name, v_alias, v_on, v_alias, v_alias, v_ts,
							  coalesce(pg_catalog.quote_literal(r.ttl) OPERATOR(pg_catalog.||) '::pg_catalog.interval', 'NULL'),
							  -- as_of in UTC ISO form: the session's DateStyle and TimeZone
							  -- must not change it when the SQL is read back ('IST' in
							  -- Asia/Kolkata reads as Israel time)
							  coalesce(pg_catalog.quote_literal(
										   coalesce(pg_catalog.to_char(pg_catalog.timezone('UTC', as_of),
																	   'YYYY-MM-DD HH24:MI:SS.US"+00" BC'),
													as_of::pg_catalog.text))
									   OPERATOR(pg_catalog.||) '::pg_catalog.timestamptz', 'NULL'),
							  CASE WHEN coalesce(strict, false) THEN 'true' ELSE 'false' END);
	END LOOP;

	RETURN pg_catalog.format(E'SELECT %s\n  FROM %s AS s', v_select, v_from) OPERATOR(pg_catalog.||) v_joins;
END
$fn$;

CREATE OR REPLACE FUNCTION featstore.pit_join(
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
	v_sql pg_catalog.text := featstore.pit_join_sql(spine, features, service, spine_ts, as_of, strict, qualified);
BEGIN
	RETURN QUERY EXECUTE v_sql;
EXCEPTION WHEN datatype_mismatch THEN
	DECLARE
		v_msg pg_catalog.text;
		v_detail pg_catalog.text;
	BEGIN
		GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
		RAISE EXCEPTION 'row type % does not match the point-in-time join''s columns: %', pg_catalog.pg_typeof(proto), v_msg
			USING ERRCODE = 'datatype_mismatch', DETAIL = coalesce(v_detail, ''),
				  HINT = 'Make the prototype from the same arguments: SELECT featstore.create_pit_view(''name'', spine, features...), then pass NULL::name.';
	END;
END
$fn$;

CREATE OR REPLACE FUNCTION featstore.create_pit_view(
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
	v_name pg_catalog.text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_ident(p), '.') INTO v_name
	  FROM pg_catalog.unnest(pg_catalog.parse_ident(view_name)) AS p;
	EXECUTE pg_catalog.format('CREATE VIEW %s AS %s', v_name,
							  featstore.pit_join_sql(spine, features, service, spine_ts, as_of, strict, qualified));
	RETURN v_name::pg_catalog.regclass;
END
$fn$;

-- worker:
-- A queue row the worker died on three times in a row is parked (state
-- failed) until materialize() of its group; materialization_status shows
-- parked entities, and a group whose last attempt failed as 'error'.
ALTER TABLE featstore.online_queue
	ADD COLUMN attempts integer NOT NULL DEFAULT 0,
	ADD COLUMN state text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'failed')),
	ADD COLUMN last_error text;
COMMENT ON COLUMN featstore.online_queue.attempts IS 'Consecutive attempts of the worker on this row that did not finish (it died meanwhile); counted in a committed transaction before each attempt, reset when one ends';
COMMENT ON COLUMN featstore.online_queue.state IS 'ready: the worker takes it; failed: parked after 3 unfinished attempts, until featstore.materialize() of the group';
COMMENT ON COLUMN featstore.online_queue.last_error IS 'Why the last attempt failed, or why the row was parked (the worker died while processing this row)';

CREATE OR REPLACE FUNCTION featstore.online_queue_depth()
RETURNS TABLE (group_name text, queued_entities bigint, oldest_enqueued timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT q.group_name, sum(q.entities)::bigint, min(q.enqueued_at)
	  FROM featstore.online_queue q
	 WHERE (q.not_before IS NULL OR q.not_before <= now()) AND q.state = 'ready'
	 GROUP BY q.group_name
$$;
COMMENT ON FUNCTION featstore.online_queue_depth() IS 'Entities waiting for the materialization worker, per group (future-dated revisits and parked rows excluded)';

CREATE FUNCTION featstore.online_error_visible(group_name text)
RETURNS boolean AS 'MODULE_PATHNAME', 'online_error_visible' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION featstore.online_error_visible(text) IS 'Whether the current role may read errors of a feature group, which can quote key values: it can read the group''s table with no row-level security hiding rows';
REVOKE ALL ON FUNCTION featstore.online_error_visible(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_error_visible(text) TO featstore_reader;

CREATE OR REPLACE VIEW featstore.materialization_status AS
SELECT g.name AS group_name,
	   g.online,
	   CASE WHEN w.state IN ('idle', 'pushing')
				 AND s.last_error_at > coalesce(s.last_success, '-infinity'::timestamptz)
			THEN 'error' ELSE w.state END AS worker_state,
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
	   greatest(w.last_error_at, s.last_error_at) AS last_error_at,
	   coalesce(p.parked_entities, 0) AS parked,
	   CASE WHEN p.last_error IS NULL OR featstore.online_error_visible(g.name)
			THEN p.last_error ELSE '<insufficient privilege>' END AS parked_error
  FROM featstore.feature_groups g
 CROSS JOIN featstore.online_worker_status() w
  LEFT JOIN featstore.online_group_status() s ON s.group_name = g.name
  LEFT JOIN featstore.online_queue_depth() q ON q.group_name = g.name
  LEFT JOIN (SELECT pq.group_name, sum(pq.entities)::bigint AS parked_entities,
					 (array_agg(pq.last_error ORDER BY pq.id DESC))[1] AS last_error
				FROM featstore.online_queue pq
			   WHERE pq.state = 'failed'
			   GROUP BY pq.group_name) p ON p.group_name = g.name
 WHERE g.online OR q.group_name IS NOT NULL OR p.group_name IS NOT NULL;
COMMENT ON COLUMN featstore.materialization_status.worker_state IS 'idle, pushing, connecting, redis unavailable, error (of the worker, or of this group: its last attempt failed and is retried with backoff), waiting for CREATE EXTENSION, waiting for ALTER EXTENSION UPDATE, stopped';
COMMENT ON COLUMN featstore.materialization_status.parked IS 'Entities in parked queue rows: the worker died while processing them 3 times in a row; they wait until featstore.materialize() of the group';
COMMENT ON COLUMN featstore.materialization_status.parked_error IS 'Why the latest parked row was parked; <insufficient privilege> for roles that cannot read the group (it may quote key values)';

-- reads:
COMMENT ON COLUMN featstore.materialization_status.last_error IS 'The latest error of the worker or of this group; <insufficient privilege> for roles that cannot read every group it may concern (it may quote key values)';

-- first hour 2:
-- The walks that rematerialize whole groups: the queue's scan rows, read as
-- the owner, and the one the worker is on, from shared memory.
CREATE FUNCTION featstore.online_walk_progress()
RETURNS TABLE (queue_id bigint, group_name text, phase text, entities_done bigint,
			   entities_total bigint, started timestamptz, updated timestamptz)
LANGUAGE C ROWS 1
AS 'MODULE_PATHNAME', 'online_walk_progress';
COMMENT ON FUNCTION featstore.online_walk_progress() IS 'The whole-group walk the materialization worker is on, from shared memory (no row when there is none)';

CREATE FUNCTION featstore.online_queued_walks()
RETURNS TABLE (queue_id bigint, group_name text, entities_left bigint, enqueued_at timestamptz,
			   failed boolean, parked boolean)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 10
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT q.id, q.group_name, q.entities::bigint, q.enqueued_at,
		   q.last_error IS NOT NULL, q.state = 'failed'
	  FROM featstore.online_queue q
	 WHERE q.kind = 'scan'
$$;
COMMENT ON FUNCTION featstore.online_queued_walks() IS 'Whole-group walks (rematerializations) in featstore.online_queue, with the entities each has left';

CREATE VIEW featstore.materialization_progress AS
SELECT q.group_name,
	   CASE WHEN p.queue_id IS NOT NULL THEN w.pid END AS worker_pid,
	   CASE WHEN q.parked THEN 'parked'
			WHEN p.queue_id IS NOT NULL THEN p.phase
			WHEN q.failed THEN 'waiting to retry after an error'
			ELSE 'queued' END AS phase,
	   coalesce(p.entities_done, 0) AS entities_done,
	   coalesce(p.entities_total, q.entities_left) AS entities_total,
	   CASE WHEN p.entities_done > 0 AND p.updated > p.started
			THEN p.entities_done / extract(epoch FROM p.updated - p.started)::double precision
	   END AS rate,
	   q.enqueued_at,
	   p.started,
	   p.updated AS last_progress,
	   CASE WHEN p.entities_done > 0 AND p.updated > p.started
			THEN p.updated + (p.updated - p.started)
				 * (greatest(p.entities_total - p.entities_done, 0)::double precision / p.entities_done)
	   END AS estimated_end
  FROM featstore.online_queued_walks() q
 CROSS JOIN featstore.online_worker_status() w
  LEFT JOIN featstore.online_walk_progress() p ON p.queue_id = q.queue_id;
COMMENT ON VIEW featstore.materialization_progress IS 'One row per whole-group rematerialization (materialize(), SET ONLINE, a changed TTL, a restarted Redis) until it ends, in the style of pg_stat_progress_*: phase, entities done and total, rate and estimated end';
COMMENT ON COLUMN featstore.materialization_progress.group_name IS 'Feature group being rematerialized';
COMMENT ON COLUMN featstore.materialization_progress.worker_pid IS 'Process id of the worker, while it walks this group';
COMMENT ON COLUMN featstore.materialization_progress.phase IS 'queued, reading the group (and streaming to Redis), writing to Redis, recording progress, waiting for Redis, waiting to retry after an error, parked';
COMMENT ON COLUMN featstore.materialization_progress.entities_done IS 'Entities written to Redis and recorded in the queue since the worker took the walk up (0 while queued)';
COMMENT ON COLUMN featstore.materialization_progress.entities_total IS 'Entities to walk: counted by materialize() when queued, or left when the worker took the walk up';
COMMENT ON COLUMN featstore.materialization_progress.rate IS 'Entities per second so far, from when the worker took the walk up to its last progress';
COMMENT ON COLUMN featstore.materialization_progress.enqueued_at IS 'When the walk was queued';
COMMENT ON COLUMN featstore.materialization_progress.started IS 'When the worker took the walk up (after a server restart: when it resumed)';
COMMENT ON COLUMN featstore.materialization_progress.last_progress IS 'When entities_done last grew';
COMMENT ON COLUMN featstore.materialization_progress.estimated_end IS 'When the walk ends at the rate so far';
REVOKE ALL ON FUNCTION featstore.online_queued_walks() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_queued_walks() TO featstore_reader;
GRANT SELECT ON featstore.materialization_progress TO featstore_reader;

-- pit_join without its prototype raises an error that gives the
-- create_pit_view command; create_pit_view takes or_replace, and the hint
-- of a prototype that no longer matches uses it.
-- pit_join_args writes pit_join's arguments after the prototype (or
-- create_pit_view's after the view name) as SQL, for hints that give a
-- command that works as written.  It takes no name of the caller's: its
-- search_path is pinned.
CREATE FUNCTION featstore.pit_join_args(
	spine text,
	features text[] DEFAULT NULL,
	service text DEFAULT NULL,
	spine_ts text DEFAULT NULL,
	as_of timestamptz DEFAULT NULL,
	strict boolean DEFAULT false,
	qualified boolean DEFAULT false)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
	SELECT format('%L', spine)
		   || CASE WHEN features IS NULL THEN '' ELSE format(', features => %L', features) END
		   || CASE WHEN service IS NULL THEN '' ELSE format(', service => %L', service) END
		   || CASE WHEN spine_ts IS NULL THEN '' ELSE format(', spine_ts => %L', spine_ts) END
		   -- as_of in UTC ISO form, as pit_join_sql writes it
		   || CASE WHEN as_of IS NULL THEN ''
				   ELSE format(', as_of => %L', to_char(timezone('UTC', as_of), 'YYYY-MM-DD HH24:MI:SS.US"+00" BC')) END
		   || CASE WHEN strict THEN ', strict => true' ELSE '' END
		   || CASE WHEN qualified THEN ', qualified => true' ELSE '' END
$fn$;
COMMENT ON FUNCTION featstore.pit_join_args(text, text[], text, text, timestamptz, boolean, boolean) IS
'Internal to pit_join: its arguments after the prototype, written as SQL, for hints';

CREATE OR REPLACE FUNCTION featstore.pit_join(
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
	v_sql pg_catalog.text := featstore.pit_join_sql(spine, features, service, spine_ts, as_of, strict, qualified);
BEGIN
	RETURN QUERY EXECUTE v_sql;
EXCEPTION WHEN datatype_mismatch THEN
	DECLARE
		v_msg pg_catalog.text;
		v_detail pg_catalog.text;
	BEGIN
		GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
		RAISE EXCEPTION 'row type % does not match the point-in-time join''s columns: %', pg_catalog.pg_typeof(proto), v_msg
			USING ERRCODE = 'datatype_mismatch', DETAIL = coalesce(v_detail, ''),
				  HINT = CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_type t
											 JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.typrelid
											WHERE t.oid OPERATOR(pg_catalog.=) pg_catalog.pg_typeof(proto)::pg_catalog.oid
											  AND c.relkind OPERATOR(pg_catalog.=) 'v')
							  THEN pg_catalog.format('Make the prototype again from the same arguments: SELECT featstore.create_pit_view(%L, %s, or_replace => true);',
													 pg_catalog.pg_typeof(proto)::pg_catalog.text,
													 featstore.pit_join_args(spine, features, service, spine_ts, as_of, strict, qualified))
							  ELSE pg_catalog.format('Make a prototype from the same arguments: SELECT featstore.create_pit_view(''training_set'', %s); then pass NULL::training_set.',
													 featstore.pit_join_args(spine, features, service, spine_ts, as_of, strict, qualified)) END;
	END;
END
$fn$;
COMMENT ON FUNCTION featstore.pit_join(anyelement, text, text[], text, text, timestamptz, boolean, boolean) IS
'Point-in-time training set: one row per spine row with the features as of its timestamp; the first argument (NULL::row_type) gives the result columns';

-- pit_join without its prototype would be PostgreSQL's "function does not
-- exist".  This overload takes its place, so that the call reaches an error
-- that says what the first argument is and gives the create_pit_view
-- command for this spine and these features.  Its result is a placeholder
-- row type, not SETOF record: that would fail at parse time, asking for a
-- column definition list.  It resolves no name of the caller's: its
-- search_path is pinned.
CREATE TYPE featstore.pit_join_without_prototype AS (prototype_missing text);
COMMENT ON TYPE featstore.pit_join_without_prototype IS
'Placeholder result of pit_join() called without its prototype; that call always raises an error saying how to make one';
COMMENT ON COLUMN featstore.pit_join_without_prototype.prototype_missing IS
'Never returned: pit_join() without a prototype raises an error';

CREATE FUNCTION featstore.pit_join(
	spine text,
	features text[] DEFAULT NULL,
	service text DEFAULT NULL,
	spine_ts text DEFAULT NULL,
	as_of timestamptz DEFAULT NULL,
	strict boolean DEFAULT false,
	qualified boolean DEFAULT false)
RETURNS SETOF featstore.pit_join_without_prototype
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
	v_args text := featstore.pit_join_args(spine, features, service, spine_ts, as_of, strict, qualified);
	v_view text := 'training_set';
BEGIN
	-- a relation name as spine suggests the view's name
	IF spine ~ '^\s*([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*\s*$' THEN
		v_view := lower(regexp_replace(btrim(spine), '^.*\.', '')) || '_pit';
	END IF;
	RAISE EXCEPTION 'pit_join needs a prototype as its first argument'
		USING ERRCODE = 'undefined_function',
			  DETAIL = format('The first argument is NULL cast to a row type (NULL::a_view): it gives the result its columns, which PostgreSQL fixes before the join runs. This call has none; %L was taken as the spine.', spine),
			  HINT = format('Make the prototype once: SELECT featstore.create_pit_view(%L, %s); then: SELECT * FROM featstore.pit_join(NULL::%I, %s);',
							v_view, v_args, v_view, v_args);
END
$fn$;
COMMENT ON FUNCTION featstore.pit_join(text, text[], text, text, timestamptz, boolean, boolean) IS
'pit_join() called without its prototype: raises an error that gives the create_pit_view command for this spine and these features';

DROP FUNCTION featstore.create_pit_view(text, text, text[], text, text, timestamptz, boolean, boolean);
-- create_pit_view makes a view whose body is the point-in-time join: a typed
-- training-set definition for BI tools and drivers, and the row type to pass
-- to pit_join() as its first argument.  or_replace => true replaces a view
-- of that name, as CREATE OR REPLACE VIEW does.  PostgreSQL refuses that
-- when columns are dropped, renamed or change type (a feature removed or
-- retyped): the view is then dropped and created again in the same call,
-- keeping its comment, options and grants, provided nothing depends on it
-- (on the view or on its row type); otherwise the call fails and names what
-- depends on it.
CREATE FUNCTION featstore.create_pit_view(
	view_name text,
	spine text,
	features text[] DEFAULT NULL,
	service text DEFAULT NULL,
	spine_ts text DEFAULT NULL,
	as_of timestamptz DEFAULT NULL,
	strict boolean DEFAULT false,
	qualified boolean DEFAULT false,
	or_replace boolean DEFAULT false)
RETURNS regclass
LANGUAGE plpgsql VOLATILE
AS $fn$
DECLARE
	v_name pg_catalog.text;
	v_sql pg_catalog.text;
	v_msg pg_catalog.text;
	v_old pg_catalog.oid;
	v_deps pg_catalog.text;
	v_with pg_catalog.text := '';
	v_comment pg_catalog.text;
	r record;
	a record;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_ident(p), '.') INTO v_name
	  FROM pg_catalog.unnest(pg_catalog.parse_ident(view_name)) AS p;
	v_sql := featstore.pit_join_sql(spine, features, service, spine_ts, as_of, strict, qualified);
	IF NOT coalesce(or_replace, false) THEN
		EXECUTE pg_catalog.format('CREATE VIEW %s AS %s', v_name, v_sql);
		RETURN v_name::pg_catalog.regclass;
	END IF;
	BEGIN
		EXECUTE pg_catalog.format('CREATE OR REPLACE VIEW %s AS %s', v_name, v_sql);
		RETURN v_name::pg_catalog.regclass;
	EXCEPTION WHEN invalid_table_definition THEN
		-- cannot drop columns from view, cannot change name or data type of
		-- view column: drop and create it, if nothing depends on it
		GET STACKED DIAGNOSTICS v_msg = MESSAGE_TEXT;
	END;
	SELECT c.oid, c.reltype, c.relowner, c.relacl, c.reloptions INTO r
	  FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) v_name::pg_catalog.regclass;
	v_old := r.oid;
	SELECT pg_catalog.string_agg(DISTINCT coalesce(
			   -- a view that reads it, rather than the view's rule
			   (SELECT pg_catalog.pg_describe_object('pg_catalog.pg_class'::pg_catalog.regclass, rw.ev_class, 0)
				  FROM pg_catalog.pg_rewrite rw
				 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
				   AND rw.oid OPERATOR(pg_catalog.=) d.objid),
			   pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)), ', ')
	  INTO v_deps
	  FROM pg_catalog.pg_depend d
	 WHERE ((d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
			 AND d.refobjid OPERATOR(pg_catalog.=) v_old)
			OR (d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
				AND d.refobjid OPERATOR(pg_catalog.=) r.reltype))
	   AND d.deptype::pg_catalog.text OPERATOR(pg_catalog.=) ANY ('{n,a}'::pg_catalog.text[])
	   -- the view's own rule
	   AND NOT (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
				AND d.objid OPERATOR(pg_catalog.=) ANY (SELECT rw.oid FROM pg_catalog.pg_rewrite rw
														  WHERE rw.ev_class OPERATOR(pg_catalog.=) v_old));
	IF v_deps IS NOT NULL THEN
		RAISE EXCEPTION 'cannot replace view %: %, and other objects depend on it', v_name, v_msg
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = pg_catalog.format('Depending on it: %s.', v_deps),
				  HINT = pg_catalog.format('Create the new training set under another name, or drop what depends on %s (DROP VIEW %s CASCADE drops it all) and create it again.', v_name, v_name);
	END IF;
	v_comment := pg_catalog.obj_description(v_old, 'pg_class');
	IF r.reloptions IS NOT NULL THEN
		v_with := pg_catalog.format(' WITH (%s)', pg_catalog.array_to_string(r.reloptions, ', '));
	END IF;
	EXECUTE pg_catalog.format('DROP VIEW %s', v_name);
	EXECUTE pg_catalog.format('CREATE VIEW %s%s AS %s', v_name, v_with, v_sql);
	IF v_comment IS NOT NULL THEN
		EXECUTE pg_catalog.format('COMMENT ON VIEW %s IS %L', v_name, v_comment);
	END IF;
	-- grants to others, made again by the caller (the owner)
	FOR a IN SELECT x.grantee, x.privilege_type, x.is_grantable
			   FROM pg_catalog.aclexplode(r.relacl) AS x
			  WHERE x.grantee OPERATOR(pg_catalog.<>) r.relowner
	LOOP
		EXECUTE pg_catalog.format('GRANT %s ON %s TO %s%s', a.privilege_type, v_name,
								  CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
									   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
								  CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
	RETURN v_name::pg_catalog.regclass;
END
$fn$;
COMMENT ON FUNCTION featstore.create_pit_view(text, text, text[], text, text, timestamptz, boolean, boolean, boolean) IS
'Create (or_replace: replace) a view holding a point-in-time join; its row type is also the prototype for pit_join()';

-- registry (issue 9):
-- Key types are stored as regtype, read by OID: a type featstore does not
-- support is refused, never taken for another.  The two views that show
-- the key types depend on the column and are recreated as they were.
DROP VIEW featstore.catalog;
DROP VIEW featstore.group_overview;
ALTER TABLE featstore.entity_keys
	DROP CONSTRAINT entity_keys_data_type_check,
	ALTER COLUMN data_type TYPE regtype USING data_type::pg_catalog.regtype,
	ADD CONSTRAINT entity_keys_data_type_check
		CHECK (data_type IN ('text'::regtype, 'integer'::regtype, 'bigint'::regtype, 'uuid'::regtype));
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

GRANT SELECT ON featstore.catalog, featstore.group_overview TO featstore_reader;

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

-- pit_join_sql resolves through the registry.  resolve_features resolves the features a caller names, as pit_join()
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
REVOKE EXECUTE ON FUNCTION featstore.resolve_features(text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.resolve_features(text[], text) TO featstore_reader;

-- Running featstore statements: USAGE on the language is the privilege of
-- record, checked inside exec() and the registry functions, which
-- featstore_reader may now call (it is then told it needs featstore_editor).
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
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM featstore_editor', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO featstore_reader', f);
	END LOOP;
END
$grants$;

-- featstore window aggregates: the timeline of a group defined FROM a source.
--
-- window_timeline computes a source group's features at each of its
-- source's events, with the engine the point-in-time join and the online
-- worker use.  Each such group's relation (feature_groups.schema_name,
-- table_name) is a view over it, which the registry creates; a
-- point-in-time join with that view computes the features at the spine's
-- times instead.  It reads the source as the calling role.
CREATE FUNCTION featstore.window_timeline(group_name text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'window_timeline'
LANGUAGE C STABLE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.window_timeline(text) IS
'The features of a group defined FROM a source, at each event of the source, as the calling role reads it; the body of the group''s view';

-- registry (issue 10): groups computed FROM a source of events.  A source
-- group's feature_groups row names its view; source_groups and
-- window_features hold the definition as text.
ALTER TABLE featstore.feature_groups
	ADD COLUMN kind text NOT NULL DEFAULT 'table' CHECK (kind IN ('table', 'source'));
COMMENT ON COLUMN featstore.feature_groups.kind IS 'table: users fill the group''s history table; source: featstore computes the features FROM a source of events, and schema_name.table_name is the group''s view (featstore.source_groups)';
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
CREATE TRIGGER registry_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON featstore.source_groups
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.registry_invalidate();
CREATE TRIGGER registry_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON featstore.window_features
	FOR EACH STATEMENT EXECUTE FUNCTION featstore.registry_invalidate();
SELECT pg_catalog.pg_extension_config_dump('featstore.source_groups', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.window_features', '');
GRANT SELECT ON featstore.source_groups, featstore.window_features TO featstore_reader;

-- The catalog and the group overview show a group's kind and source, and
-- each computed feature's aggregate and window (columns added at the end).
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
	   w.window_text AS feature_window
  FROM featstore.features f
  JOIN featstore.feature_groups g ON g.name = f.group_name
  LEFT JOIN featstore.source_groups s ON s.group_name = g.name
  LEFT JOIN featstore.window_features w ON w.group_name = f.group_name AND w.feature_name = f.name;
COMMENT ON COLUMN featstore.catalog.group_kind IS 'table: the group''s history table holds the values; source: featstore computes them FROM the source';
COMMENT ON COLUMN featstore.catalog.source IS 'The source relation of a group computed FROM a source; NULL otherwise';
COMMENT ON COLUMN featstore.catalog.aggregate IS 'How a feature of a source group is computed: count_star, count, count_distinct, sum, avg, min, max, stddev_samp, stddev_pop, var_samp, var_pop, last or expression; NULL otherwise';
COMMENT ON COLUMN featstore.catalog.aggregate_argument IS 'The aggregated source column; NULL for count(*), expressions and stored features';
COMMENT ON COLUMN featstore.catalog.feature_window IS 'The OVER window as written; NULL for an unbounded aggregate, an expression or a stored feature';
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
		  FROM featstore.source_groups s WHERE s.group_name = g.name) AS source
  FROM featstore.feature_groups g;
COMMENT ON COLUMN featstore.group_overview.kind IS 'table: users fill the history table; source: featstore computes the features FROM the source, through the view named by table_name';
COMMENT ON COLUMN featstore.group_overview.source IS 'The source relation of a group computed FROM a source; NULL otherwise';

-- Online store (issue 10): change capture also on the sources of online
-- groups defined FROM one
COMMENT ON FUNCTION featstore.online_capture() IS 'Change-capture trigger featstore attaches to the history table of every online feature group, or to the source of an online group defined FROM one';
-- ---- scheduled transformations (src/sql/45_transform.sql) ----
-- featstore scheduled transformations: groups whose rows a SQL query appends
-- (CREATE FEATURE GROUP ... AS query SCHEDULE ...), the record of their
-- runs, featstore.refresh() and the status view.  docs/transformations.md.

CREATE TABLE featstore.transformations (
	group_name	text PRIMARY KEY REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	query		text NOT NULL,
	columns		name[] NOT NULL,
	schedule_text text,
	schedule	interval CHECK (schedule > interval '0'),
	next_run_at	timestamptz,
	last_run_at	timestamptz,
	last_success_at timestamptz,
	consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
	last_error	text,
	last_error_at timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((schedule IS NULL) = (schedule_text IS NULL))
);
COMMENT ON TABLE featstore.transformations IS 'Feature groups whose rows a SQL query appends, on a schedule (the online worker) or on featstore.refresh()';
COMMENT ON COLUMN featstore.transformations.group_name IS 'The feature group; its history table receives the query''s rows';
COMMENT ON COLUMN featstore.transformations.query IS 'The query as written, run as the group table''s owner with search_path = pg_catalog, pg_temp';
COMMENT ON COLUMN featstore.transformations.columns IS 'The query''s columns, by name: the entity''s key columns, event_timestamp and the features';
COMMENT ON COLUMN featstore.transformations.schedule_text IS 'SCHEDULE as written; NULL for SCHEDULE MANUAL';
COMMENT ON COLUMN featstore.transformations.schedule IS 'Time between runs, as an absolute duration (days are 24 hours); NULL for SCHEDULE MANUAL: only featstore.refresh() runs it';
COMMENT ON COLUMN featstore.transformations.next_run_at IS 'When the worker runs it next: a schedule after the last successful run''s start, or the retry after a failure; NULL for SCHEDULE MANUAL';
COMMENT ON COLUMN featstore.transformations.last_run_at IS 'When the last run started';
COMMENT ON COLUMN featstore.transformations.last_success_at IS 'When the last successful run started';
COMMENT ON COLUMN featstore.transformations.consecutive_failures IS 'Failed runs since the last successful one; the retry waits a minute or an eighth of the schedule (the shorter), doubled per failure, at most one schedule';
COMMENT ON COLUMN featstore.transformations.last_error IS 'The error message of the last failed run (kept after a success; see last_error_at)';
COMMENT ON COLUMN featstore.transformations.last_error_at IS 'When the last failed run finished';
COMMENT ON COLUMN featstore.transformations.created_at IS 'When the transformation was defined';
REVOKE ALL ON featstore.transformations FROM PUBLIC;

CREATE TABLE featstore.transformation_runs (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	group_name	text NOT NULL REFERENCES featstore.transformations (group_name) ON DELETE CASCADE,
	started_at	timestamptz NOT NULL,
	finished_at	timestamptz,
	rows		bigint,
	status		text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
	error		text,
	sqlstate	text,
	trigger		text NOT NULL CHECK (trigger IN ('schedule', 'refresh')),
	run_by		name NOT NULL
);
CREATE INDEX transformation_runs_group_idx ON featstore.transformation_runs (group_name, id);
COMMENT ON TABLE featstore.transformation_runs IS 'One row per run of a transformation; the latest 1000 runs of each group are kept';
COMMENT ON COLUMN featstore.transformation_runs.id IS 'Sequence number of the run';
COMMENT ON COLUMN featstore.transformation_runs.group_name IS 'The transformation''s feature group';
COMMENT ON COLUMN featstore.transformation_runs.started_at IS 'When the run started';
COMMENT ON COLUMN featstore.transformation_runs.finished_at IS 'When the run ended';
COMMENT ON COLUMN featstore.transformation_runs.rows IS 'Rows appended to the history table; NULL for a failed run (which appends none)';
COMMENT ON COLUMN featstore.transformation_runs.status IS 'running (only inside the run''s own transaction), succeeded or failed';
COMMENT ON COLUMN featstore.transformation_runs.error IS 'The error message of a failed run';
COMMENT ON COLUMN featstore.transformation_runs.sqlstate IS 'The SQLSTATE of a failed run''s error';
COMMENT ON COLUMN featstore.transformation_runs.trigger IS 'schedule: the online worker; refresh: a call of featstore.refresh() (pg_cron''s, say)';
COMMENT ON COLUMN featstore.transformation_runs.run_by IS 'The role that started the run; the query itself runs as the history table''s owner';
REVOKE ALL ON featstore.transformation_runs FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('featstore.transformations', '');

CREATE FUNCTION featstore.refresh(group_name text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'featstore_refresh'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.refresh(text) IS 'Run a transformation group''s query now, as the group table''s owner, appending its rows to the history table in one step; returns the rows appended, or NULL with a WARNING when the query failed (the failed run is recorded)';
REVOKE EXECUTE ON FUNCTION featstore.refresh(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.refresh(text) TO featstore_editor;

CREATE VIEW featstore.transformation_status AS
SELECT t.group_name,
	   t.schedule,
	   r.started_at AS last_run_at,
	   r.status AS last_run_status,
	   r.rows AS last_run_rows,
	   t.last_success_at,
	   t.consecutive_failures,
	   t.last_error,
	   t.last_error_at,
	   t.next_run_at,
	   CASE WHEN t.schedule IS NULL THEN NULL
			ELSE coalesce(t.last_success_at, t.created_at) < now() - 2 * t.schedule END AS stale
  FROM featstore.transformations t
  LEFT JOIN LATERAL (SELECT tr.started_at, tr.status, tr.rows
					   FROM featstore.transformation_runs tr
					  WHERE tr.group_name = t.group_name
					  ORDER BY tr.id DESC
					  LIMIT 1) r ON true;
COMMENT ON VIEW featstore.transformation_status IS 'Per transformation group: its schedule, last run, last success, consecutive failures, last error, next run, and whether it is stale';
COMMENT ON COLUMN featstore.transformation_status.group_name IS 'Feature group';
COMMENT ON COLUMN featstore.transformation_status.schedule IS 'Time between runs; NULL for SCHEDULE MANUAL';
COMMENT ON COLUMN featstore.transformation_status.last_run_at IS 'When the last recorded run started';
COMMENT ON COLUMN featstore.transformation_status.last_run_status IS 'succeeded or failed';
COMMENT ON COLUMN featstore.transformation_status.last_run_rows IS 'Rows the last run appended';
COMMENT ON COLUMN featstore.transformation_status.last_success_at IS 'When the last successful run started';
COMMENT ON COLUMN featstore.transformation_status.consecutive_failures IS 'Failed runs since the last successful one';
COMMENT ON COLUMN featstore.transformation_status.last_error IS 'The error of the last failed run';
COMMENT ON COLUMN featstore.transformation_status.last_error_at IS 'When the last failed run finished';
COMMENT ON COLUMN featstore.transformation_status.next_run_at IS 'When the worker runs it next (the retry, after a failure); NULL for SCHEDULE MANUAL';
COMMENT ON COLUMN featstore.transformation_status.stale IS 'True when the last success (or, before any, the definition) is older than two schedules: the group''s features are not being refreshed; NULL for SCHEDULE MANUAL';

GRANT SELECT ON featstore.transformations, featstore.transformation_runs,
	featstore.transformation_status TO featstore_reader;

-- Monitoring (issue 11): settings, thresholds, statistics, alerts, skew checks (src/sql/50_monitor.sql)
-- featstore monitoring (issue 11): per-group settings and thresholds,
-- statistics per feature and period, the record of stats runs, alerts and
-- online/offline skew checks.  docs/monitoring.md.
--
-- Statistics, drift results, alerts and skew checks describe the data of a
-- group, so they are readable only where the data is: row-level security on
-- each table shows a row to a role that may SELECT the feature's column of
-- the group's table (featstore.feature_visible) or, for a row about the whole
-- group, some column of it (featstore.group_visible), and to which no
-- row-level security policy of that table applies.  The extension owner (who
-- writes these tables) owns them and so is not subject to the policies.

CREATE FUNCTION featstore.feature_visible(group_name text, feature_name name)
RETURNS boolean
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce(bool_and(v.ok), false)
	  FROM (SELECT has_column_privilege(c.oid, a.attnum, 'SELECT')
				   AND NOT row_security_active(c.oid)
				   AND (s.group_name IS NULL
						OR (has_any_column_privilege(sc.oid, 'SELECT')
							AND NOT row_security_active(sc.oid))) AS ok
			  FROM featstore.feature_groups g
			  JOIN pg_class c ON c.relname = g.table_name
			  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = g.schema_name
			  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = feature_visible.feature_name
								 AND a.attnum > 0 AND NOT a.attisdropped
			  LEFT JOIN featstore.source_groups s ON s.group_name = g.name
			  LEFT JOIN pg_namespace sn ON sn.nspname = s.source_schema
			  LEFT JOIN pg_class sc ON sc.relname = s.source_name AND sc.relnamespace = sn.oid
			 WHERE g.name = feature_visible.group_name) v;
END;
COMMENT ON FUNCTION featstore.feature_visible(text, name) IS 'Whether the calling role may see statistics, drift results and alerts about this feature: it may SELECT the feature''s column of the group''s table (and, for a group FROM a source, the source), and no row-level security applies to it there';

CREATE FUNCTION featstore.group_visible(group_name text)
RETURNS boolean
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce(bool_and(v.ok), false)
	  FROM (SELECT has_any_column_privilege(c.oid, 'SELECT')
				   AND NOT row_security_active(c.oid)
				   AND (s.group_name IS NULL
						OR (has_any_column_privilege(sc.oid, 'SELECT')
							AND NOT row_security_active(sc.oid))) AS ok
			  FROM featstore.feature_groups g
			  JOIN pg_class c ON c.relname = g.table_name
			  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = g.schema_name
			  LEFT JOIN featstore.source_groups s ON s.group_name = g.name
			  LEFT JOIN pg_namespace sn ON sn.nspname = s.source_schema
			  LEFT JOIN pg_class sc ON sc.relname = s.source_name AND sc.relnamespace = sn.oid
			 WHERE g.name = group_visible.group_name) v;
END;
COMMENT ON FUNCTION featstore.group_visible(text) IS 'Whether the calling role may see monitoring rows about the whole group: it may SELECT some column of the group''s table (and, for a group FROM a source, of the source), and no row-level security applies to it there';

CREATE TABLE featstore.monitor_settings (
	group_name	text PRIMARY KEY REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	monitor_every interval CHECK (monitor_every > interval '0'),
	monitor_every_text text,
	freshness	interval CHECK (freshness > interval '0'),
	freshness_text text,
	baseline_periods integer NOT NULL DEFAULT 30 CHECK (baseline_periods BETWEEN 1 AND 1000),
	reference_from timestamptz,
	reference_to timestamptz,
	reference_label text,
	next_stats_at timestamptz,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((monitor_every IS NULL) = (monitor_every_text IS NULL)),
	CHECK ((freshness IS NULL) = (freshness_text IS NULL)),
	CHECK ((reference_from IS NULL) = (reference_to IS NULL)),
	CHECK (reference_from < reference_to),
	CHECK (reference_label IS NULL OR reference_from IS NULL)
);
COMMENT ON TABLE featstore.monitor_settings IS 'Monitoring settings of a feature group; a group without a row is monitored with the defaults (statistics every day, no freshness SLA, a baseline of the trailing 30 periods)';
COMMENT ON COLUMN featstore.monitor_settings.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.monitor_settings.monitor_every IS 'The statistics period (MONITOR EVERY), as an absolute duration; NULL with monitor_every_text NULL means MONITOR NONE when the row exists';
COMMENT ON COLUMN featstore.monitor_settings.monitor_every_text IS 'MONITOR EVERY as written';
COMMENT ON COLUMN featstore.monitor_settings.freshness IS 'The freshness SLA (FRESHNESS), as an absolute duration; NULL: none';
COMMENT ON COLUMN featstore.monitor_settings.freshness_text IS 'FRESHNESS as written';
COMMENT ON COLUMN featstore.monitor_settings.baseline_periods IS 'How many trailing periods a period''s statistics are compared with, when no reference range is pinned';
COMMENT ON COLUMN featstore.monitor_settings.reference_from IS 'Start of a pinned reference range (inclusive); NULL: the trailing periods';
COMMENT ON COLUMN featstore.monitor_settings.reference_to IS 'End of a pinned reference range (exclusive)';
COMMENT ON COLUMN featstore.monitor_settings.reference_label IS 'A pinned reference that is a spine''s statistics (featstore.feature_stats with scope spine and this label: a training set''s, say); NULL: none';
COMMENT ON COLUMN featstore.monitor_settings.next_stats_at IS 'When the monitor computes the group''s next period';
COMMENT ON COLUMN featstore.monitor_settings.updated_at IS 'When the settings last changed';

CREATE TABLE featstore.monitor_thresholds (
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	feature_name name,
	setting		text NOT NULL CHECK (setting IN ('mean_sigma', 'mean_min_effect', 'null_rate_sigma',
												 'null_rate_min_effect', 'psi', 'js', 'wasserstein',
												 'ks_pvalue', 'distinct_collapse')),
	value		double precision NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (group_name, feature_name) REFERENCES featstore.features (group_name, name) ON DELETE CASCADE
);
CREATE UNIQUE INDEX monitor_thresholds_key ON featstore.monitor_thresholds
	(group_name, coalesce(feature_name, ''::name), setting);
COMMENT ON TABLE featstore.monitor_thresholds IS 'Drift thresholds set for a group (feature_name NULL) or one feature; anything not set takes the default (docs/monitoring.md)';
COMMENT ON COLUMN featstore.monitor_thresholds.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.monitor_thresholds.feature_name IS 'The feature; NULL: every feature of the group that sets none of its own';
COMMENT ON COLUMN featstore.monitor_thresholds.setting IS 'Which threshold (docs/monitoring.md, Drift)';
COMMENT ON COLUMN featstore.monitor_thresholds.value IS 'Its value';
COMMENT ON COLUMN featstore.monitor_thresholds.updated_at IS 'When it was set';

CREATE TABLE featstore.stats_runs (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	period_start timestamptz NOT NULL,
	period_end	timestamptz NOT NULL,
	started_at	timestamptz NOT NULL,
	finished_at timestamptz,
	status		text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
	rows_read	bigint,
	error		text,
	sqlstate	text,
	trigger		text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
	run_by		name NOT NULL,
	CHECK (period_start < period_end)
);
CREATE INDEX stats_runs_group_idx ON featstore.stats_runs (group_name, id);
COMMENT ON TABLE featstore.stats_runs IS 'One row per statistics run: the monitor''s scheduled runs and calls of featstore.compute_stats()';
COMMENT ON COLUMN featstore.stats_runs.id IS 'Sequence number of the run';
COMMENT ON COLUMN featstore.stats_runs.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.stats_runs.period_start IS 'Start of the range the run read (inclusive)';
COMMENT ON COLUMN featstore.stats_runs.period_end IS 'End of the range the run read (exclusive)';
COMMENT ON COLUMN featstore.stats_runs.started_at IS 'When the run started';
COMMENT ON COLUMN featstore.stats_runs.finished_at IS 'When the run ended';
COMMENT ON COLUMN featstore.stats_runs.status IS 'running (only inside the run''s own transaction), succeeded or failed';
COMMENT ON COLUMN featstore.stats_runs.rows_read IS 'History rows the run read';
COMMENT ON COLUMN featstore.stats_runs.error IS 'The error message of a failed run';
COMMENT ON COLUMN featstore.stats_runs.sqlstate IS 'The SQLSTATE of a failed run''s error';
COMMENT ON COLUMN featstore.stats_runs.trigger IS 'schedule: the monitor worker; manual: featstore.compute_stats()';
COMMENT ON COLUMN featstore.stats_runs.run_by IS 'The role that started the run; the history is read as its table''s owner';

CREATE TABLE featstore.feature_stats (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	group_name	text NOT NULL,
	feature_name name NOT NULL,
	scope		text NOT NULL DEFAULT 'period' CHECK (scope IN ('period', 'spine')),
	label		text NOT NULL DEFAULT '',
	period_start timestamptz NOT NULL,
	period_end	timestamptz NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('numeric', 'categorical')),
	row_count	bigint NOT NULL CHECK (row_count >= 0),
	null_count	bigint NOT NULL CHECK (null_count >= 0),
	null_rate	double precision,
	distinct_count bigint,
	min_value	double precision,
	max_value	double precision,
	mean		double precision,
	stddev		double precision,
	p01			double precision,
	p05			double precision,
	p25			double precision,
	p50			double precision,
	p75			double precision,
	p95			double precision,
	p99			double precision,
	percentiles	double precision[],
	histogram_edges double precision[],
	histogram_counts bigint[],
	top_values	text[],
	top_counts	bigint[],
	other_count	bigint,
	run_id		bigint REFERENCES featstore.stats_runs (id) ON DELETE SET NULL,
	computed_at timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (group_name, feature_name) REFERENCES featstore.features (group_name, name) ON DELETE CASCADE,
	UNIQUE (group_name, feature_name, scope, label, period_start, period_end),
	CHECK (period_start < period_end)
);
COMMENT ON TABLE featstore.feature_stats IS 'Statistics of one feature over one period of its group''s history (scope period) or over a spine (scope spine); rows are shown only to roles that may read the feature (featstore.feature_visible)';
COMMENT ON COLUMN featstore.feature_stats.id IS 'Sequence number';
COMMENT ON COLUMN featstore.feature_stats.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.feature_stats.feature_name IS 'The feature';
COMMENT ON COLUMN featstore.feature_stats.scope IS 'period: history rows whose event_timestamp is in [period_start, period_end); spine: the feature''s values joined at a spine''s rows';
COMMENT ON COLUMN featstore.feature_stats.label IS 'For scope spine: the name the caller gave the spine (a training set''s, say); empty for periods';
COMMENT ON COLUMN featstore.feature_stats.period_start IS 'Start of the period (inclusive); for a spine, its earliest timestamp';
COMMENT ON COLUMN featstore.feature_stats.period_end IS 'End of the period (exclusive); for a spine, just after its latest timestamp';
COMMENT ON COLUMN featstore.feature_stats.kind IS 'numeric: moments, quantiles and a histogram (dates, timestamps and intervals in seconds); categorical: top values with frequencies';
COMMENT ON COLUMN featstore.feature_stats.row_count IS 'Rows in the period, NULLs included';
COMMENT ON COLUMN featstore.feature_stats.null_count IS 'Rows whose value is NULL';
COMMENT ON COLUMN featstore.feature_stats.null_rate IS 'null_count / row_count; NULL when the period has no rows';
COMMENT ON COLUMN featstore.feature_stats.distinct_count IS 'Distinct non-NULL values';
COMMENT ON COLUMN featstore.feature_stats.min_value IS 'Smallest non-NULL value (numeric)';
COMMENT ON COLUMN featstore.feature_stats.max_value IS 'Largest non-NULL value (numeric)';
COMMENT ON COLUMN featstore.feature_stats.mean IS 'Mean of the non-NULL values (numeric)';
COMMENT ON COLUMN featstore.feature_stats.stddev IS 'Sample standard deviation of the non-NULL values (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p01 IS '1st percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p05 IS '5th percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p25 IS '25th percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p50 IS 'Median (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p75 IS '75th percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p95 IS '95th percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.p99 IS '99th percentile (numeric)';
COMMENT ON COLUMN featstore.feature_stats.percentiles IS 'The 101 percentiles p0 (the minimum) to p100 (the maximum), the distribution the drift tests compare (numeric)';
COMMENT ON COLUMN featstore.feature_stats.histogram_edges IS 'The 21 edges of 20 equal-width bins from min_value to max_value (numeric)';
COMMENT ON COLUMN featstore.feature_stats.histogram_counts IS 'Non-NULL values per bin; the last bin includes max_value (numeric)';
COMMENT ON COLUMN featstore.feature_stats.top_values IS 'The most frequent non-NULL values, most frequent first, as text (categorical)';
COMMENT ON COLUMN featstore.feature_stats.top_counts IS 'How often each of top_values occurs (categorical)';
COMMENT ON COLUMN featstore.feature_stats.other_count IS 'Non-NULL values not among top_values (categorical)';
COMMENT ON COLUMN featstore.feature_stats.run_id IS 'The run that computed the row';
COMMENT ON COLUMN featstore.feature_stats.computed_at IS 'When the row was computed';

CREATE TABLE featstore.alerts (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind		text NOT NULL CHECK (kind IN ('drift', 'stale_data', 'materialization_lag', 'worker_failing',
											  'transformation_stale', 'skew', 'stats_failed')),
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	feature_name name,
	since		timestamptz NOT NULL DEFAULT now(),
	last_seen	timestamptz NOT NULL DEFAULT now(),
	details		jsonb NOT NULL DEFAULT '{}',
	resolved_at timestamptz,
	FOREIGN KEY (group_name, feature_name) REFERENCES featstore.features (group_name, name) ON DELETE CASCADE,
	CHECK (since <= last_seen),
	CHECK (resolved_at IS NULL OR resolved_at >= since)
);
CREATE UNIQUE INDEX alerts_open_key ON featstore.alerts (kind, group_name, coalesce(feature_name, ''::name))
	WHERE resolved_at IS NULL;
COMMENT ON TABLE featstore.alerts IS 'Open and resolved monitoring alerts; at most one open alert per kind, group and feature; every new alert is announced with NOTIFY featstore_alerts';
COMMENT ON COLUMN featstore.alerts.id IS 'Sequence number of the alert';
COMMENT ON COLUMN featstore.alerts.kind IS 'drift, stale_data (newest event_timestamp older than the freshness SLA), materialization_lag, worker_failing, transformation_stale, skew (Redis differs from the join at now()), stats_failed';
COMMENT ON COLUMN featstore.alerts.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.alerts.feature_name IS 'The feature, for alerts about one feature (drift)';
COMMENT ON COLUMN featstore.alerts.since IS 'When the condition was first seen';
COMMENT ON COLUMN featstore.alerts.last_seen IS 'When the condition was last seen';
COMMENT ON COLUMN featstore.alerts.details IS 'What was seen, as jsonb (docs/monitoring.md lists the fields of each kind)';
COMMENT ON COLUMN featstore.alerts.resolved_at IS 'When a later check found the condition gone; NULL while open';

CREATE TABLE featstore.skew_checks (
	id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	group_name	text NOT NULL REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	checked_at	timestamptz NOT NULL DEFAULT now(),
	sample_size	integer NOT NULL CHECK (sample_size >= 0),
	differences	integer NOT NULL CHECK (differences >= 0),
	details		jsonb NOT NULL DEFAULT '[]',
	duration_ms	double precision,
	trigger		text NOT NULL CHECK (trigger IN ('schedule', 'manual'))
);
CREATE INDEX skew_checks_group_idx ON featstore.skew_checks (group_name, id);
COMMENT ON TABLE featstore.skew_checks IS 'Online/offline skew checks: a sample of an online group''s entities read from Redis and compared with the point-in-time join at now()';
COMMENT ON COLUMN featstore.skew_checks.id IS 'Sequence number of the check';
COMMENT ON COLUMN featstore.skew_checks.group_name IS 'The online feature group';
COMMENT ON COLUMN featstore.skew_checks.checked_at IS 'When the check ran';
COMMENT ON COLUMN featstore.skew_checks.sample_size IS 'Entities compared';
COMMENT ON COLUMN featstore.skew_checks.differences IS 'Entities whose Redis value differs from the join at now(); any is an alert';
COMMENT ON COLUMN featstore.skew_checks.details IS 'The first differences: entity and problem, as verify_online() reports them';
COMMENT ON COLUMN featstore.skew_checks.duration_ms IS 'How long the check took';
COMMENT ON COLUMN featstore.skew_checks.trigger IS 'schedule: the monitor worker; manual: featstore.check_skew()';

-- Only the extension's own code writes these tables; readers see the rows
-- the policies let through.
ALTER TABLE featstore.feature_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE featstore.alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE featstore.skew_checks ENABLE ROW LEVEL SECURITY;
ALTER TABLE featstore.stats_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY feature_stats_visible ON featstore.feature_stats FOR SELECT
	USING (featstore.feature_visible(group_name, feature_name));
CREATE POLICY alerts_visible ON featstore.alerts FOR SELECT
	USING (CASE WHEN feature_name IS NULL THEN featstore.group_visible(group_name)
				ELSE featstore.feature_visible(group_name, feature_name) END);
CREATE POLICY skew_checks_visible ON featstore.skew_checks FOR SELECT
	USING (featstore.group_visible(group_name));
CREATE POLICY stats_runs_visible ON featstore.stats_runs FOR SELECT
	USING (featstore.group_visible(group_name));

REVOKE ALL ON featstore.monitor_settings, featstore.monitor_thresholds, featstore.stats_runs,
	featstore.feature_stats, featstore.alerts, featstore.skew_checks FROM PUBLIC;
GRANT SELECT ON featstore.monitor_settings, featstore.monitor_thresholds, featstore.stats_runs,
	featstore.feature_stats, featstore.alerts, featstore.skew_checks TO featstore_reader;

SELECT pg_catalog.pg_extension_config_dump('featstore.monitor_settings', '');
SELECT pg_catalog.pg_extension_config_dump('featstore.monitor_thresholds', '');

-- ---- src/sql/51_monitor_core.sql, identically ----
-- featstore monitoring, part core (issue 11): closing an alert by hand, the
-- monitoring settings as functions, the freshness check on demand and the
-- group_health view.  docs/monitoring.md.

CREATE FUNCTION featstore.resolve_alert(id bigint)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_resolve_alert' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.resolve_alert(bigint) IS 'Closes an open alert by hand (an acknowledged one); takes featstore_editor and an alert the caller can see; if the condition persists, the next check opens a new alert';
REVOKE EXECUTE ON FUNCTION featstore.resolve_alert(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.resolve_alert(bigint) TO featstore_reader;

-- The monitoring clauses of ALTER FEATURE GROUP as functions, like set_ttl:
-- featstore_editor and ownership of the group's table, recorded in
-- featstore.definition_history.
CREATE FUNCTION featstore.set_freshness(group_name text, freshness text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_freshness' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.set_freshness(text, text) IS 'ALTER FEATURE GROUP ... SET FRESHNESS as a function; NULL means no SLA (FRESHNESS NONE)';

CREATE FUNCTION featstore.set_monitor_every(group_name text, every text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_monitor_every' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.set_monitor_every(text, text) IS 'ALTER FEATURE GROUP ... SET MONITOR EVERY as a function; NULL means no scheduled statistics (MONITOR NONE)';

CREATE FUNCTION featstore.set_monitor_threshold(group_name text, feature_name name, setting text,
	value double precision)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_monitor_threshold' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.set_monitor_threshold(text, name, text, double precision) IS 'ALTER FEATURE GROUP ... [ALTER FEATURE f] SET MONITOR (setting = value) as a function; feature_name NULL sets the group''s threshold, value NULL resets it (RESET MONITOR)';

CREATE FUNCTION featstore.set_monitor_baseline(group_name text, periods integer DEFAULT NULL,
	reference_from timestamptz DEFAULT NULL, reference_to timestamptz DEFAULT NULL,
	spine_label text DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_set_monitor_baseline' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.set_monitor_baseline(text, integer, timestamptz, timestamptz, text) IS 'ALTER FEATURE GROUP ... SET MONITOR BASELINE as a function: periods (n PERIODS), or reference_from with reference_to (FROM ... TO ...), or spine_label (SPINE ''label'')';

REVOKE EXECUTE ON FUNCTION featstore.set_freshness(text, text), featstore.set_monitor_every(text, text),
	featstore.set_monitor_threshold(text, name, text, double precision),
	featstore.set_monitor_baseline(text, integer, timestamptz, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.set_freshness(text, text), featstore.set_monitor_every(text, text),
	featstore.set_monitor_threshold(text, name, text, double precision),
	featstore.set_monitor_baseline(text, integer, timestamptz, timestamptz, text) TO featstore_reader;

-- ---- src/sql/51_monitor_stats.sql, identically ----
-- featstore monitoring, statistics (issue 11): compute_stats() over a period
-- of a group's history or at a spine's rows.  docs/monitoring.md, Statistics.

CREATE FUNCTION featstore.compute_stats(group_name text, from_ts timestamptz, to_ts timestamptz)
RETURNS bigint
AS 'MODULE_PATHNAME', 'featstore_compute_stats'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.compute_stats(text, timestamptz, timestamptz) IS 'Compute the statistics of a group''s active features over the history rows whose event_timestamp is in [from_ts, to_ts), replacing the period''s stored ones; returns the run''s id in featstore.stats_runs (a failed read is a WARNING and a failed run)';
REVOKE EXECUTE ON FUNCTION featstore.compute_stats(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.compute_stats(text, timestamptz, timestamptz) TO featstore_editor;

-- timestamp_column has no DEFAULT: with one, compute_stats('g', '2026-01-01',
-- '2026-01-02') would match both forms and be ambiguous.
CREATE FUNCTION featstore.compute_stats(group_name text, spine regclass, label text,
										timestamp_column name)
RETURNS bigint
AS 'MODULE_PATHNAME', 'featstore_compute_stats_spine'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.compute_stats(text, regclass, text, name) IS 'Compute the statistics of a group''s active features at a spine''s rows (the point-in-time join, as the caller), stored with scope spine and this label, replacing the label''s earlier ones; returns the run''s id';
REVOKE EXECUTE ON FUNCTION featstore.compute_stats(text, regclass, text, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.compute_stats(text, regclass, text, name) TO featstore_editor;

-- ---- src/sql/53_monitor_drift.sql, identically ----
-- featstore drift (issue 11): each stored period's statistics compared with
-- a baseline.  The thresholds' defaults (the one place they are written),
-- drift_tests(), the featstore.drift view and evaluate_drift().
-- docs/monitoring.md, Drift.

CREATE VIEW featstore.monitor_threshold_defaults AS
SELECT d.setting, d.value, d.valid_range, d.description
  FROM (VALUES
	('mean_sigma', 3.0::float8, '(0, infinity)',
	 'mean: drift when |mean - mu_b| > mean_sigma * sigma_b (sigma_b: stddev of the baseline periods'' means) and the effect exceeds mean_min_effect'),
	('mean_min_effect', 0.1::float8, '[0, infinity)',
	 'mean: the smallest |mean - mu_b|, in baseline pooled stddevs, that counts as drift'),
	('null_rate_sigma', 3.0::float8, '(0, infinity)',
	 'null rate: drift when |rate - mu_b| > null_rate_sigma * sigma_b and exceeds null_rate_min_effect'),
	('null_rate_min_effect', 0.01::float8, '[0, 1]',
	 'null rate: the smallest absolute change that counts as drift'),
	('psi', 0.2::float8, '(0, infinity)',
	 'population stability index over the baseline''s deciles: drift above it'),
	('js', 0.1::float8, '(0, 1]',
	 'Jensen-Shannon distance (base 2) of a categorical''s value frequencies: drift above it'),
	('wasserstein', 0.1::float8, '(0, infinity)',
	 'Wasserstein-1 distance over the baseline''s pooled stddev, periods of more than 1000 values: drift above it'),
	('ks_pvalue', 0.05::float8, '(0, 1)',
	 'two-sample Kolmogorov-Smirnov p-value, periods of at most 1000 values: drift below it'),
	('distinct_collapse', 0.1::float8, '(0, 1]',
	 'distinct count over the baseline periods'' mean distinct count: drift below it')
	) AS d(setting, value, valid_range, description);
COMMENT ON VIEW featstore.monitor_threshold_defaults IS 'The default of every drift threshold (a group''s or feature''s own in featstore.monitor_thresholds replace it), with its valid range and meaning';
COMMENT ON COLUMN featstore.monitor_threshold_defaults.setting IS 'The threshold, as featstore.monitor_thresholds.setting names it';
COMMENT ON COLUMN featstore.monitor_threshold_defaults.value IS 'Its default';
COMMENT ON COLUMN featstore.monitor_threshold_defaults.valid_range IS 'The values it may take, as an interval';
COMMENT ON COLUMN featstore.monitor_threshold_defaults.description IS 'What it bounds';

CREATE FUNCTION featstore.drift_tests(feature_group text,
									  range_from timestamptz DEFAULT NULL,
									  range_to timestamptz DEFAULT NULL)
RETURNS TABLE (group_name text, feature_name name, period_start timestamptz,
			   period_end timestamptz, test text, statistic double precision,
			   threshold double precision, verdict text, baseline_periods integer,
			   baseline_from timestamptz, baseline_to timestamptz,
			   effect double precision, min_effect double precision)
AS 'MODULE_PATHNAME', 'featstore_drift_tests'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.drift_tests(text, timestamptz, timestamptz) IS 'The drift tests of a group''s stored periods within [range_from, range_to) (NULL: unbounded): one row per feature, period and test, for the features whose statistics the caller may see';

CREATE VIEW featstore.drift WITH (security_invoker = true) AS
SELECT d.*
  FROM featstore.feature_groups g
 CROSS JOIN LATERAL featstore.drift_tests(g.name) d
 WHERE featstore.group_visible(g.name);
COMMENT ON VIEW featstore.drift IS 'One row per feature, stored period and drift test of every group: the statistic, the threshold and the verdict (ok, drift, no baseline); only the features whose statistics the reader may see';
COMMENT ON COLUMN featstore.drift.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.drift.feature_name IS 'The feature';
COMMENT ON COLUMN featstore.drift.period_start IS 'Start of the period tested (inclusive)';
COMMENT ON COLUMN featstore.drift.period_end IS 'End of the period tested (exclusive)';
COMMENT ON COLUMN featstore.drift.test IS 'mean_sigma, null_rate_sigma, psi, ks_pvalue or wasserstein, js, distinct_collapse, all_null (docs/monitoring.md, Drift)';
COMMENT ON COLUMN featstore.drift.statistic IS 'The test''s statistic; NULL with verdict no baseline';
COMMENT ON COLUMN featstore.drift.threshold IS 'The threshold it was compared with (the feature''s, else the group''s, else the default); NULL for all_null';
COMMENT ON COLUMN featstore.drift.verdict IS 'ok, drift, or no baseline (too few baseline periods with values)';
COMMENT ON COLUMN featstore.drift.baseline_periods IS 'How many periods the baseline had';
COMMENT ON COLUMN featstore.drift.baseline_from IS 'Start of the baseline''s earliest period';
COMMENT ON COLUMN featstore.drift.baseline_to IS 'End of the baseline''s latest period';
COMMENT ON COLUMN featstore.drift.effect IS 'mean_sigma: |mean - mu_b| in baseline pooled stddevs; null_rate_sigma: |rate - mu_b|; ks_pvalue: the KS statistic D; else NULL';
COMMENT ON COLUMN featstore.drift.min_effect IS 'The smallest effect that counts as drift (mean_min_effect, null_rate_min_effect); else NULL';

REVOKE EXECUTE ON FUNCTION featstore.drift_tests(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.drift_tests(text, timestamptz, timestamptz) TO featstore_reader;
GRANT SELECT ON featstore.monitor_threshold_defaults, featstore.drift TO featstore_reader;

CREATE FUNCTION featstore.evaluate_drift(feature_group text, period_start timestamptz,
										 period_end timestamptz)
RETURNS integer
AS 'MODULE_PATHNAME', 'featstore_evaluate_drift'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.evaluate_drift(text, timestamptz, timestamptz) IS 'Evaluate the drift of a group''s stored period [period_start, period_end) as the monitor does, opening or resolving the drift alerts of the features whose statistics the caller may see; takes featstore_editor; returns how many of them have drift';
REVOKE EXECUTE ON FUNCTION featstore.evaluate_drift(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.evaluate_drift(text, timestamptz, timestamptz) TO featstore_reader;

-- ---- src/sql/60_training.sql, identically ----
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

-- ---- src/sql/62_backfill.sql, identically ----
-- featstore backfills (issue 12): a shadow table loaded beside a group's
-- history, validated against it, and promoted into it in one transaction.
-- The statements are BACKFILL / VALIDATE / PROMOTE / ABORT BACKFILL; the
-- functions below are their twins.  docs/backfills.md.

-- A step of a backfill writes one definition_history row; its verdict (a
-- validation's, a forced promote's) goes in detail.
ALTER TABLE featstore.definition_history ADD COLUMN detail text;
-- the object types of the history, now with training sets (60_training.sql)
-- and backfills
ALTER TABLE featstore.definition_history
	DROP CONSTRAINT definition_history_object_type_check,
	ADD CONSTRAINT definition_history_object_type_check
	CHECK (object_type IN ('entity', 'feature group', 'feature service', 'training set', 'backfill'));
COMMENT ON COLUMN featstore.definition_history.detail IS 'What the change decided, where a statement reports it (a backfill''s validation verdict, a forced promote); NULL otherwise';

CREATE TABLE featstore.backfills (
	name			text PRIMARY KEY CHECK (name <> ''),
	group_name		text NOT NULL REFERENCES featstore.feature_groups (name),
	range_from		timestamptz NOT NULL,
	range_to		timestamptz NOT NULL,
	shadow			regclass,
	shadow_name		text NOT NULL,
	state			text NOT NULL DEFAULT 'open'
		CHECK (state IN ('open', 'validated', 'failed', 'promoted', 'aborted')),
	verdict			text,
	thresholds		jsonb NOT NULL DEFAULT '{}',
	created_at		timestamptz NOT NULL DEFAULT now(),
	created_by		name NOT NULL,
	validated_at	timestamptz,
	validated_by	name,
	finished_at		timestamptz,
	finished_by		name,
	promoted_rows	bigint,
	promoted_created_at timestamptz,
	forced			boolean NOT NULL DEFAULT false,
	CONSTRAINT backfills_range_check CHECK (range_from < range_to),
	CONSTRAINT backfills_shadow_check CHECK ((shadow IS NULL) = (state IN ('promoted', 'aborted')))
);
CREATE INDEX backfills_group_idx ON featstore.backfills (group_name);
COMMENT ON TABLE featstore.backfills IS 'Backfills of feature groups (BACKFILL FEATURE GROUP ... AS name): one row per backfill, its shadow table while it is open, its state and last verdict';
COMMENT ON COLUMN featstore.backfills.name IS 'Backfill name, unique in the database';
COMMENT ON COLUMN featstore.backfills.group_name IS 'The feature group it fills';
COMMENT ON COLUMN featstore.backfills.range_from IS 'Start of the event_timestamp range it replaces (inclusive)';
COMMENT ON COLUMN featstore.backfills.range_to IS 'End of the range (exclusive)';
COMMENT ON COLUMN featstore.backfills.shadow IS 'The shadow table, in the group''s schema and owned by the group table''s owner; NULL once promoted or aborted (the shadow is dropped)';
COMMENT ON COLUMN featstore.backfills.shadow_name IS 'The shadow table''s qualified name as created, kept after it is dropped';
COMMENT ON COLUMN featstore.backfills.state IS 'open (loading), validated (the last validation passed), failed (it failed), promoted, aborted';
COMMENT ON COLUMN featstore.backfills.verdict IS 'The last validation''s verdict: passed, or failed with its reasons; NULL before the first';
COMMENT ON COLUMN featstore.backfills.thresholds IS 'Thresholds set for this backfill (VALIDATE BACKFILL ... WITH (...)); the others take their defaults';
COMMENT ON COLUMN featstore.backfills.created_at IS 'When the backfill was opened';
COMMENT ON COLUMN featstore.backfills.created_by IS 'Role that opened it';
COMMENT ON COLUMN featstore.backfills.validated_at IS 'When it was last validated';
COMMENT ON COLUMN featstore.backfills.validated_by IS 'Role that last validated it';
COMMENT ON COLUMN featstore.backfills.finished_at IS 'When it was promoted or aborted';
COMMENT ON COLUMN featstore.backfills.finished_by IS 'Role that promoted or aborted it';
COMMENT ON COLUMN featstore.backfills.promoted_rows IS 'Rows the promote inserted into the history table';
COMMENT ON COLUMN featstore.backfills.promoted_created_at IS 'The created_at of every promoted row: the promote time';
COMMENT ON COLUMN featstore.backfills.forced IS 'Promoted with FORCE over a failed or missing validation';
SELECT pg_catalog.pg_extension_config_dump('featstore.backfills', '');
-- a backfill's verdict and thresholds describe the group's data: readable
-- where the data is, as the monitor's tables (featstore.group_visible)
ALTER TABLE featstore.backfills ENABLE ROW LEVEL SECURITY;
CREATE POLICY backfills_visible ON featstore.backfills FOR SELECT
	USING (featstore.group_visible(group_name));

CREATE FUNCTION featstore.open_backfill(feature_group text, name text,
	range_from timestamptz, range_to timestamptz)
RETURNS regclass AS 'MODULE_PATHNAME', 'featstore_open_backfill' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.open_backfill(text, text, timestamptz, timestamptz) IS 'BACKFILL FEATURE GROUP g AS name FROM range_from TO range_to as a function; returns the shadow table';

CREATE FUNCTION featstore.validate_backfill(name text, thresholds jsonb DEFAULT NULL)
RETURNS TABLE (check_name text, feature name, current_value double precision,
	shadow_value double precision, statistic double precision,
	threshold double precision, verdict text, detail text)
AS 'MODULE_PATHNAME', 'featstore_validate_backfill' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.validate_backfill(text, jsonb) IS 'VALIDATE BACKFILL name [WITH (...)] as a function: the report, one row per check (the last row is the verdict); thresholds (a JSON object) are stored for the backfill';

CREATE FUNCTION featstore.promote_backfill(name text, force boolean DEFAULT false)
RETURNS bigint AS 'MODULE_PATHNAME', 'featstore_promote_backfill' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.promote_backfill(text, boolean) IS 'PROMOTE BACKFILL name [FORCE] as a function; returns the rows inserted into the history table';

CREATE FUNCTION featstore.abort_backfill(name text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_abort_backfill' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.abort_backfill(text) IS 'ABORT BACKFILL name as a function: drops the shadow';

GRANT SELECT ON featstore.backfills TO featstore_reader;
REVOKE EXECUTE ON FUNCTION featstore.open_backfill(text, text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION featstore.validate_backfill(text, jsonb) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION featstore.promote_backfill(text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION featstore.abort_backfill(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.open_backfill(text, text, timestamptz, timestamptz) TO featstore_reader;
GRANT EXECUTE ON FUNCTION featstore.validate_backfill(text, jsonb) TO featstore_reader;
GRANT EXECUTE ON FUNCTION featstore.promote_backfill(text, boolean) TO featstore_reader;
GRANT EXECUTE ON FUNCTION featstore.abort_backfill(text) TO featstore_reader;

CREATE FUNCTION featstore.backfill_shadow_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'featstore_backfill_shadow_changed' LANGUAGE C;
COMMENT ON FUNCTION featstore.backfill_shadow_changed() IS 'Statement trigger on a backfill''s shadow: a write sends a validated or failed backfill back to state open, so that only validated rows are promoted without FORCE';

-- ---- src/sql/64_pii.sql, identically ----
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
COMMENT ON COLUMN featstore.features.pii IS 'Personal data: featstore returns NULL in place of its values to roles that are not members of featstore_pii_reader (pit_join, the marker join, window_timeline, online_features, verify_online)';

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
