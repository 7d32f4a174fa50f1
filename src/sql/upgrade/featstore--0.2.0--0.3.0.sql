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
												 'ks_pvalue', 'distinct_collapse', 'significance')),
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
COMMENT ON COLUMN featstore.feature_stats.top_values IS 'The most frequent non-NULL values, most frequent first, as text (categorical); NULL for a PII feature, whose values they would be';
COMMENT ON COLUMN featstore.feature_stats.top_counts IS 'How often each of top_values occurs (categorical); NULL for a PII feature';
COMMENT ON COLUMN featstore.feature_stats.other_count IS 'Non-NULL values not among top_values (categorical); NULL for a PII feature';
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

-- ---- part core (issue 11): src/sql/51_monitor_core.sql ----
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

-- What the freshness check saw last, per group with an SLA: the newest
-- event (so that the next check asks only for newer ones, and for
-- group_health) and since when the online worker fails for the group.
CREATE TABLE featstore.freshness_checks (
	group_name	text PRIMARY KEY REFERENCES featstore.feature_groups (name) ON DELETE CASCADE,
	checked_at	timestamptz NOT NULL,
	newest_event timestamptz,
	full_scan_at timestamptz,
	worker_failing_since timestamptz
);
COMMENT ON TABLE featstore.freshness_checks IS 'The last freshness check of each group with a freshness SLA (written by the monitor; rows are shown only to roles that may read the group, featstore.group_visible)';
COMMENT ON COLUMN featstore.freshness_checks.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.freshness_checks.checked_at IS 'When the check ran';
COMMENT ON COLUMN featstore.freshness_checks.newest_event IS 'The newest event_timestamp up to the check''s now() (for a group FROM a source, of the source); NULL: none';
COMMENT ON COLUMN featstore.freshness_checks.full_scan_at IS 'When the newest event was last found by reading the whole table (the first check, or after rows were deleted)';
COMMENT ON COLUMN featstore.freshness_checks.worker_failing_since IS 'Since when the online worker has been failing for the group (not idle or pushing); NULL: it is not';
ALTER TABLE featstore.freshness_checks ENABLE ROW LEVEL SECURITY;
CREATE POLICY freshness_checks_visible ON featstore.freshness_checks FOR SELECT
	USING (featstore.group_visible(group_name));
REVOKE ALL ON featstore.freshness_checks FROM PUBLIC;
GRANT SELECT ON featstore.freshness_checks TO featstore_reader;

-- The freshness check on demand, as the monitor worker runs it every
-- featstore.monitor_naptime.
CREATE FUNCTION featstore.check_freshness()
RETURNS integer AS 'MODULE_PATHNAME', 'featstore_check_freshness' LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp SET jit = off;
COMMENT ON FUNCTION featstore.check_freshness() IS 'Checks every freshness SLA now, opening and resolving stale_data, materialization_lag, worker_failing and transformation_stale alerts; returns how many groups with an SLA it checked; takes featstore_editor';
REVOKE EXECUTE ON FUNCTION featstore.check_freshness() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.check_freshness() TO featstore_reader;

-- The online store's state per group, or no rows where there is none to
-- ask (another database than featstore.database, no preloaded worker):
-- materialization_status would raise an error there, and group_health must
-- answer in every database.
CREATE FUNCTION featstore.monitor_online_status()
RETURNS TABLE (group_name text, worker_state text, lag interval, queue_depth bigint,
			   oldest_enqueued timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF current_setting('featstore.database', true) IS DISTINCT FROM current_database()
	   OR (SELECT w.pid IS NULL AND w.state LIKE 'not loaded%' FROM featstore.online_worker_status() w) THEN
		RETURN;
	END IF;
	RETURN QUERY
		SELECT m.group_name, m.worker_state, m.lag, m.queue_depth, m.oldest_enqueued
		  FROM featstore.materialization_status m;
END
$$;
COMMENT ON FUNCTION featstore.monitor_online_status() IS 'featstore.materialization_status''s worker state, lag and queue depth per group where the online store serves this database; no rows elsewhere';
REVOKE EXECUTE ON FUNCTION featstore.monitor_online_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.monitor_online_status() TO featstore_reader;

-- The first thing an on-call person reads: one row per group the caller
-- may see.  security_invoker, so that the tables' row-level security
-- applies to the caller and not to the view's owner.
CREATE VIEW featstore.group_health WITH (security_invoker = true) AS
SELECT g.name AS group_name,
	   s.freshness,
	   f.newest_event,
	   now() - f.newest_event AS age,
	   CASE WHEN s.freshness IS NULL OR f.group_name IS NULL THEN NULL
			ELSE coalesce(now() - f.newest_event <= s.freshness, false) END AS freshness_met,
	   f.checked_at AS freshness_checked_at,
	   o.lag AS materialization_lag,
	   o.queue_depth,
	   o.worker_state,
	   r.started_at AS last_stats_at,
	   r.status AS last_stats_status,
	   coalesce(a.open_alerts, 0) AS open_alerts,
	   coalesce(a.kinds, '{}') AS open_alert_kinds,
	   k.checked_at AS last_skew_check_at,
	   k.differences AS last_skew_differences,
	   CASE WHEN coalesce(a.open_alerts, 0) > 0
				 OR (s.freshness IS NOT NULL AND f.group_name IS NOT NULL
					 AND NOT coalesce(now() - f.newest_event <= s.freshness, false))
			THEN 'alert'
			WHEN (s.freshness IS NOT NULL AND f.group_name IS NULL)
				 OR (s.freshness IS NULL AND r.started_at IS NULL AND k.checked_at IS NULL)
			THEN 'unknown'
			ELSE 'ok' END AS status
  FROM featstore.feature_groups g
  LEFT JOIN featstore.monitor_settings s ON s.group_name = g.name
  LEFT JOIN featstore.freshness_checks f ON f.group_name = g.name
  LEFT JOIN featstore.monitor_online_status() o ON o.group_name = g.name AND g.online
  LEFT JOIN LATERAL (SELECT sr.started_at, sr.status
					   FROM featstore.stats_runs sr
					  WHERE sr.group_name = g.name
					  ORDER BY sr.id DESC LIMIT 1) r ON true
  LEFT JOIN LATERAL (SELECT count(*) AS open_alerts,
							array_agg(DISTINCT al.kind ORDER BY al.kind) AS kinds
					   FROM featstore.alerts al
					  WHERE al.group_name = g.name AND al.resolved_at IS NULL) a ON true
  LEFT JOIN LATERAL (SELECT sc.checked_at, sc.differences
					   FROM featstore.skew_checks sc
					  WHERE sc.group_name = g.name
					  ORDER BY sc.id DESC LIMIT 1) k ON true
 WHERE featstore.group_visible(g.name);
COMMENT ON VIEW featstore.group_health IS 'One row per feature group the caller may read: freshness against its SLA, the online store''s lag, queue and worker state, the last statistics run, open alerts and the last skew check, and an overall status (ok, alert, unknown)';
COMMENT ON COLUMN featstore.group_health.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.group_health.freshness IS 'Its freshness SLA; NULL: none';
COMMENT ON COLUMN featstore.group_health.newest_event IS 'The newest event the last freshness check found';
COMMENT ON COLUMN featstore.group_health.age IS 'now() - newest_event';
COMMENT ON COLUMN featstore.group_health.freshness_met IS 'Whether age is within the SLA (false without any event); NULL: no SLA, or not checked yet';
COMMENT ON COLUMN featstore.group_health.freshness_checked_at IS 'When the freshness check last ran for the group';
COMMENT ON COLUMN featstore.group_health.materialization_lag IS 'Online groups: commit-to-Redis lag of the last batch (materialization_status.lag)';
COMMENT ON COLUMN featstore.group_health.queue_depth IS 'Online groups: entities waiting for the worker';
COMMENT ON COLUMN featstore.group_health.worker_state IS 'Online groups: the materialization worker''s state for the group';
COMMENT ON COLUMN featstore.group_health.last_stats_at IS 'When the last statistics run started';
COMMENT ON COLUMN featstore.group_health.last_stats_status IS 'Its status: running, succeeded, failed';
COMMENT ON COLUMN featstore.group_health.open_alerts IS 'Open alerts of the group the caller may see';
COMMENT ON COLUMN featstore.group_health.open_alert_kinds IS 'Their kinds, sorted';
COMMENT ON COLUMN featstore.group_health.last_skew_check_at IS 'When the last skew check ran';
COMMENT ON COLUMN featstore.group_health.last_skew_differences IS 'How many sampled entities differed between Redis and the join at now()';
COMMENT ON COLUMN featstore.group_health.status IS 'alert: an open alert, or the SLA not met; unknown: an SLA not checked yet, or nothing monitored yet; else ok';
GRANT SELECT ON featstore.group_health TO featstore_reader;

-- part stats (issue 11): src/sql/51_monitor_stats.sql
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

CREATE FUNCTION featstore.purge_stats()
RETURNS bigint
AS 'MODULE_PATHNAME', 'featstore_purge_stats'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.purge_stats() IS 'Apply featstore.monitor_retention now (the monitor worker does every hour): delete the statistics of periods that ended longer ago and their runs; returns the statistics rows deleted';
REVOKE EXECUTE ON FUNCTION featstore.purge_stats() FROM PUBLIC;

-- Every history table gets the BRIN index on event_timestamp that new
-- groups get (src/offline/offline_store.c, CreateEventIndex): statistics read
-- one period of it.  Not an extension object, so it has no place in
-- src/sql/; groups FROM a source have a view, which needs none.
DO $brin$
DECLARE
	r record;
	v_name text;
	v_n integer;
BEGIN
	FOR r IN
		SELECT g.name, g.schema_name, g.table_name, c.oid AS relid
		  FROM featstore.feature_groups g
		  JOIN pg_catalog.pg_namespace n ON n.nspname = g.schema_name
		  JOIN pg_catalog.pg_class c ON c.relname = g.table_name AND c.relnamespace = n.oid AND c.relkind = 'r'
		 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
							 JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
							 JOIN pg_catalog.pg_am am ON am.oid = ic.relam AND am.amname = 'brin'
							 JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'event_timestamp'
							WHERE i.indrelid = c.oid AND i.indnatts = 1 AND i.indkey[0] = a.attnum)
	LOOP
		v_name := pg_catalog.left(r.table_name, 52) || '_event_brin';
		v_n := 0;
		WHILE EXISTS (SELECT 1 FROM pg_catalog.pg_class c2 JOIN pg_catalog.pg_namespace n2 ON n2.oid = c2.relnamespace
					   WHERE n2.nspname = r.schema_name AND c2.relname = v_name) LOOP
			v_n := v_n + 1;
			v_name := pg_catalog.left(r.table_name, 50) || '_event_brin' || v_n;
		END LOOP;
		EXECUTE pg_catalog.format('CREATE INDEX %I ON %I.%I USING brin (event_timestamp)', v_name, r.schema_name, r.table_name);
		EXECUTE pg_catalog.format('COMMENT ON INDEX %I.%I IS %L', r.schema_name, v_name,
			'featstore: reads of a period of feature group ' || r.name || ' by event time (statistics)');
	END LOOP;
END
$brin$;

-- ---- part drift (issue 11): src/sql/53_monitor_drift.sql ----
-- featstore drift (issue 11): each stored period's statistics compared with
-- a baseline.  The thresholds' defaults (the one place they are written),
-- drift_tests(), the featstore.drift view and evaluate_drift().
-- docs/monitoring.md, Drift.

CREATE VIEW featstore.monitor_threshold_defaults AS
SELECT d.setting, d.value, d.description
  FROM (VALUES
	('mean_sigma', 3.0::float8,
	 'mean: drift when |mean - mu_b| > mean_sigma * sigma_b (sigma_b: stddev of the baseline periods'' means) and the effect exceeds mean_min_effect'),
	('mean_min_effect', 0.1::float8,
	 'mean: the smallest |mean - mu_b|, in baseline pooled stddevs, that counts as drift'),
	('null_rate_sigma', 3.0::float8,
	 'null rate: drift when |rate - mu_b| > null_rate_sigma * sigma_b and exceeds null_rate_min_effect'),
	('null_rate_min_effect', 0.01::float8,
	 'null rate: the smallest absolute change that counts as drift'),
	('psi', 0.2::float8,
	 'population stability index over the baseline''s deciles: drift above it'),
	('js', 0.1::float8,
	 'Jensen-Shannon distance (base 2) of a categorical''s value frequencies: drift above it'),
	('wasserstein', 0.1::float8,
	 'Wasserstein-1 distance over the baseline''s pooled stddev, periods of more than 1000 values: drift above it'),
	('ks_pvalue', 0.0001::float8,
	 'two-sample Kolmogorov-Smirnov p-value, periods of at most 1000 values: drift below it'),
	('distinct_collapse', 0.1::float8,
	 'distinct count over the baseline periods'' mean distinct count: drift below it'),
	('significance', 0.0001::float8,
	 'mean, null rate, PSI and JS: drift also needs the difference''s sampling p-value below it, so that a small period crossing a threshold by chance is not drift')
	) AS d(setting, value, description);
COMMENT ON VIEW featstore.monitor_threshold_defaults IS 'The default of every drift threshold (a group''s or feature''s own in featstore.monitor_thresholds replace it), and its meaning; the valid ranges are checked where thresholds are set (docs/monitoring.md, Settings)';
COMMENT ON COLUMN featstore.monitor_threshold_defaults.setting IS 'The threshold, as featstore.monitor_thresholds.setting names it';
COMMENT ON COLUMN featstore.monitor_threshold_defaults.value IS 'Its default';
COMMENT ON COLUMN featstore.monitor_threshold_defaults.description IS 'What it bounds';

CREATE FUNCTION featstore.drift_tests(feature_group text,
									  range_from timestamptz DEFAULT NULL,
									  range_to timestamptz DEFAULT NULL)
RETURNS TABLE (group_name text, feature_name name, period_start timestamptz,
			   period_end timestamptz, test text, statistic double precision,
			   threshold double precision, verdict text, baseline_periods integer,
			   baseline_from timestamptz, baseline_to timestamptz,
			   effect double precision, min_effect double precision,
			   p_value double precision, significance double precision)
AS 'MODULE_PATHNAME', 'featstore_drift_tests'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.drift_tests(text, timestamptz, timestamptz) IS 'The drift tests of a group''s stored periods within [range_from, range_to) (NULL: unbounded): one row per feature, period and test, for the features whose statistics the caller may see';

-- group_name is the registry's column, so that WHERE group_name = ... picks
-- the groups before drift_tests() runs, instead of filtering its rows
CREATE VIEW featstore.drift WITH (security_invoker = true) AS
SELECT g.name AS group_name, d.feature_name, d.period_start, d.period_end, d.test,
	   d.statistic, d.threshold, d.verdict, d.baseline_periods, d.baseline_from,
	   d.baseline_to, d.effect, d.min_effect, d.p_value, d.significance
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
COMMENT ON COLUMN featstore.drift.p_value IS 'The probability of a difference at least this large between two samples of one distribution (mean, null rate, PSI, JS: from their sampling distributions; ks_pvalue: the statistic); NULL for the other tests';
COMMENT ON COLUMN featstore.drift.significance IS 'Drift needs p_value below it (the significance setting; ks_pvalue for KS); NULL when p_value is';

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

-- ---- part ops (issue 11): src/sql/56_monitor_skew.sql ----
-- featstore monitoring, skew checks (issue 11, part ops): what a check that
-- could not be done records, and featstore.check_skew().  docs/monitoring.md,
-- "Skew checks".

-- A scheduled check that cannot reach Redis (or fails otherwise) is recorded
-- as not done: done false, its error, sample_size and differences 0.  It is
-- not a skew alert; the freshness checks' worker_failing covers Redis.
ALTER TABLE featstore.skew_checks
	ADD COLUMN done boolean NOT NULL DEFAULT true,
	ADD COLUMN error text,
	ADD CONSTRAINT skew_checks_done_error CHECK (done = (error IS NULL));
COMMENT ON COLUMN featstore.skew_checks.done IS 'Whether the check was done; false: it could not be (Redis unreachable, say), see error; sample_size and differences are then 0';
COMMENT ON COLUMN featstore.skew_checks.error IS 'Why a check was not done: its error message; NULL when done';

CREATE FUNCTION featstore.check_skew(group_name text, sample integer DEFAULT 1000)
RETURNS featstore.skew_checks
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'check_skew';
COMMENT ON FUNCTION featstore.check_skew(text, integer) IS 'Compare Redis with the point-in-time join at now() for a sample of an online group''s entities (verify_online''s comparison), record the result in featstore.skew_checks, open or resolve the group''s skew alert, and return the check';
REVOKE ALL ON FUNCTION featstore.check_skew(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.check_skew(text, integer) TO featstore_reader;

-- ---- part ops (issue 11): src/sql/57_monitor_metrics.sql ----
-- featstore monitoring, metrics (issue 11, part ops): the numbers the
-- Prometheus exporter's queries file (examples/prometheus/) reads, one row
-- per group, metric and label.  docs/monitoring.md, "Metrics".
--
-- They are counts and ages, never a value, a key or a detail: the kind of
-- status the worker's counters already show every role.  A role with
-- pg_monitor (the exporter's login role: featstore_reader and pg_monitor)
-- sees them for every group; any other role only for the groups whose rows
-- it may see (featstore.group_visible).  The view is owned by the extension
-- owner, who owns the monitoring tables, so their row-level security does
-- not hide rows from the counts; current_user inside it is still the
-- caller, and security_barrier keeps the caller's own conditions from
-- running before the filter.

-- The drift tests' verdicts are computed from statistics that row-level
-- security hides from the exporter: this function lists the groups the
-- caller may have counts of as the caller, then counts as the extension
-- owner (src/monitor/monitor_metrics.c).
CREATE FUNCTION featstore.monitor_drift_verdicts()
RETURNS TABLE (group_name text, period_start timestamptz, period_end timestamptz,
			   verdict text, tests bigint)
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'monitor_drift_verdicts';
COMMENT ON FUNCTION featstore.monitor_drift_verdicts() IS 'Per group with stored statistics and verdict (ok, drift, no baseline): how many drift tests of the group''s latest stored period gave it; every group''s for roles with pg_monitor, else the groups whose monitoring rows the caller may see';
REVOKE ALL ON FUNCTION featstore.monitor_drift_verdicts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.monitor_drift_verdicts() TO featstore_reader, pg_monitor;

CREATE VIEW featstore.monitor_metrics WITH (security_barrier) AS
SELECT m.group_name, m.metric, m.label, m.value
  FROM (SELECT g.name AS group_name, 'open_alerts'::text AS metric, k.kind AS label,
			   (SELECT count(*) FROM featstore.alerts a
				 WHERE a.group_name = g.name AND a.kind = k.kind
				   AND a.resolved_at IS NULL)::double precision AS value
		  FROM featstore.feature_groups g
		 CROSS JOIN (VALUES ('drift'), ('stale_data'), ('materialization_lag'), ('worker_failing'),
							('transformation_stale'), ('skew'), ('stats_failed')) k(kind)
		UNION ALL
		SELECT c.group_name, v.metric, '', v.value
		  FROM (SELECT DISTINCT ON (s.group_name) s.*
				  FROM featstore.skew_checks s
				 ORDER BY s.group_name, s.id DESC) c
		 CROSS JOIN LATERAL (VALUES
				('skew_last_check_age_seconds',
				 extract(epoch FROM pg_catalog.now() - c.checked_at)::double precision),
				('skew_last_check_done', CASE WHEN c.done THEN 1 ELSE 0 END::double precision)) v(metric, value)
		UNION ALL
		SELECT c.group_name, v.metric, '', v.value
		  FROM (SELECT DISTINCT ON (s.group_name) s.*
				  FROM featstore.skew_checks s
				 WHERE s.done
				 ORDER BY s.group_name, s.id DESC) c
		 CROSS JOIN LATERAL (VALUES
				('skew_differences', c.differences::double precision),
				('skew_sample_size', c.sample_size::double precision)) v(metric, value)
		UNION ALL
		SELECT f.group_name, v.metric, '', v.value
		  FROM featstore.freshness_checks f
		  LEFT JOIN featstore.monitor_settings s ON s.group_name = f.group_name
		 CROSS JOIN LATERAL (VALUES
				('freshness_age_seconds', extract(epoch FROM pg_catalog.now() - f.newest_event)::double precision),
				('freshness_sla_seconds', extract(epoch FROM s.freshness)::double precision),
				('freshness_checked_age_seconds',
				 extract(epoch FROM pg_catalog.now() - f.checked_at)::double precision)) v(metric, value)
		 WHERE v.value IS NOT NULL
		UNION ALL
		SELECT d.group_name, v.metric, v.label, v.value
		  FROM featstore.monitor_drift_verdicts() d
		 CROSS JOIN LATERAL (VALUES
				('drift_tests', d.verdict, d.tests::double precision),
				('drift_period_end', '', extract(epoch FROM d.period_end)::double precision)) v(metric, label, value)
		 WHERE v.metric = 'drift_tests' OR d.verdict = 'ok'
	   ) m
 WHERE pg_catalog.pg_has_role('pg_monitor', 'USAGE') OR featstore.group_visible(m.group_name);
COMMENT ON VIEW featstore.monitor_metrics IS 'Monitoring counts and ages per feature group, for metrics exporters: every group''s for roles with pg_monitor, else the groups whose monitoring rows the caller may see; no values, keys or details';
COMMENT ON COLUMN featstore.monitor_metrics.group_name IS 'The feature group';
COMMENT ON COLUMN featstore.monitor_metrics.metric IS 'open_alerts (by kind), skew_differences and skew_sample_size (the last check done), skew_last_check_age_seconds and skew_last_check_done (the last check, done or not), drift_tests (by verdict: the drift tests of the latest stored period), drift_period_end (the end of that period, as a Unix time), freshness_age_seconds (now() - the newest event the last freshness check found), freshness_sla_seconds and freshness_checked_age_seconds (groups with a freshness SLA)';
COMMENT ON COLUMN featstore.monitor_metrics.label IS 'The alert kind for open_alerts, the verdict (ok, drift, no baseline) for drift_tests; empty otherwise';
COMMENT ON COLUMN featstore.monitor_metrics.value IS 'The number';
REVOKE ALL ON featstore.monitor_metrics FROM PUBLIC;
GRANT SELECT ON featstore.monitor_metrics TO featstore_reader, pg_monitor;

-- >>> issue 11, part report: src/sql/58_report.sql, identically
-- featstore monitoring report (issue 11): featstore.monitoring_report(group
-- [, from, to]) returns one standalone HTML page (inline CSS and SVG, no
-- script, no external asset) built from the stored monitoring tables, read
-- as the caller so that their row-level security applies.
-- docs/monitoring.md, "Metrics and the report".
--
-- Every string that comes from users (names, descriptions, top values,
-- alert details, errors) goes through featstore.html_escape before it is
-- written into the page; numbers go through report_num / report_coord.

CREATE FUNCTION featstore.html_escape(t text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN replace(replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
			   '"', '&quot;'), '''', '&#39;');
COMMENT ON FUNCTION featstore.html_escape(text) IS 'The text with & < > " and '' replaced by HTML character references, safe in HTML text and quoted attributes';

-- A number for people: four significant digits, no trailing zeros
CREATE FUNCTION featstore.report_num(x double precision)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
	WHEN x IS NULL THEN '–'
	WHEN x = 0 THEN '0'
	WHEN x IN ('Infinity', '-Infinity', 'NaN') THEN x::text
	WHEN abs(x) >= 1e9 OR abs(x) < 1e-4 THEN trim(to_char(x, '9.999EEEE'))
	ELSE trim(to_char(round(x::numeric, greatest(0, 3 - floor(log(abs(x)))::integer)),
					  'FM999999999990.99999999'), '.')
END;
COMMENT ON FUNCTION featstore.report_num(double precision) IS 'A number as the monitoring report prints it: four significant digits, an en dash for NULL';

-- A coordinate in an SVG attribute: one decimal
CREATE FUNCTION featstore.report_coord(x double precision)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN round(x::numeric, 1)::text;
COMMENT ON FUNCTION featstore.report_coord(double precision) IS 'An SVG coordinate as the monitoring report writes it: one decimal';

-- A time for people, in UTC; a whole day is written as its date
CREATE FUNCTION featstore.report_ts(t timestamptz)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
	WHEN t IS NULL THEN '–'
	WHEN (t AT TIME ZONE 'UTC')::time = '00:00' THEN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD')
	ELSE to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'
END;
COMMENT ON FUNCTION featstore.report_ts(timestamptz) IS 'A time as the monitoring report prints it: in UTC, a midnight as its date alone';

-- The cumulative share of values <= x in a distribution given by n sorted
-- percentiles q[1..n] (p0 .. p100), linear between them: the reading the
-- drift tests make of featstore.feature_stats.percentiles.
CREATE FUNCTION featstore.report_cdf(q double precision[], x double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN x < q[1] THEN 0::double precision
		WHEN x >= q[cardinality(q)] THEN 1::double precision
		-- an infinite neighbour: no interpolation, the step below
		WHEN NOT (q[k.i + 1] - q[k.i] < 'Infinity') THEN (k.i - 1)::double precision / (cardinality(q) - 1)
		ELSE ((k.i - 1) + (x - q[k.i]) / (q[k.i + 1] - q[k.i])) / (cardinality(q) - 1)
	END
	  FROM (SELECT max(u.i) AS i FROM unnest(q) WITH ORDINALITY AS u(v, i) WHERE u.v <= x) k;
END;
COMMENT ON FUNCTION featstore.report_cdf(double precision[], double precision) IS 'The share of values at or below x of a distribution given by its sorted percentiles p0..p100, interpolated linearly';

-- The shares of a distribution (its percentiles) in bins equal-width bins
-- over [lo, hi]; the first bin also takes what lies below lo and the last
-- what lies above hi, so the shares add up to 1.
CREATE FUNCTION featstore.report_shares(q double precision[], lo double precision,
										hi double precision, bins integer)
RETURNS double precision[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT array_agg(e.hi_f - e.lo_f ORDER BY e.i)
	  FROM (SELECT b.i,
				   CASE WHEN b.i = 1 THEN 0
						ELSE featstore.report_cdf(q, lo + (hi - lo) * (b.i - 1) / bins) END AS lo_f,
				   CASE WHEN b.i = bins THEN 1
						ELSE featstore.report_cdf(q, lo + (hi - lo) * b.i / bins) END AS hi_f
			  FROM generate_series(1, bins) AS b(i)) e;
END;
COMMENT ON FUNCTION featstore.report_shares(double precision[], double precision, double precision, integer) IS 'The shares of a distribution given by its percentiles in equal-width bins over [lo, hi], the outer bins open-ended';

-- The baseline a period of a feature is compared with, as the drift tests
-- read it (docs/monitoring.md, Drift): statistics of the same kind, and for
-- periods of the same length that had non-NULL values: a pinned spine
-- label's latest, or the periods inside a pinned reference range, or else
-- the trailing baseline_periods periods before the period.  Read as the
-- caller: the policies of feature_stats apply.
CREATE FUNCTION featstore.report_baseline(group_name text, feature_name name, kind text,
										  period_start timestamptz, period_end timestamptz)
RETURNS SETOF featstore.feature_stats
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $baseline$
DECLARE
	m featstore.monitor_settings;
	len interval := period_end - period_start;
BEGIN
	SELECT * INTO m FROM featstore.monitor_settings s WHERE s.group_name = report_baseline.group_name;
	IF m.reference_label IS NOT NULL THEN
		RETURN QUERY SELECT * FROM featstore.feature_stats s
			WHERE s.group_name = report_baseline.group_name AND s.feature_name = report_baseline.feature_name
			  AND s.scope = 'spine' AND s.label = m.reference_label AND s.kind = report_baseline.kind
			  AND s.row_count > s.null_count
			ORDER BY s.computed_at DESC, s.id DESC LIMIT 1;
	ELSIF m.reference_from IS NOT NULL THEN
		RETURN QUERY SELECT * FROM featstore.feature_stats s
			WHERE s.group_name = report_baseline.group_name AND s.feature_name = report_baseline.feature_name
			  AND s.scope = 'period' AND s.label = '' AND s.kind = report_baseline.kind
			  AND s.period_start >= m.reference_from AND s.period_end <= m.reference_to
			  AND s.period_end - s.period_start = len AND s.row_count > s.null_count
			ORDER BY s.period_start LIMIT 1000;
	ELSE
		RETURN QUERY SELECT * FROM featstore.feature_stats s
			WHERE s.group_name = report_baseline.group_name AND s.feature_name = report_baseline.feature_name
			  AND s.scope = 'period' AND s.label = '' AND s.kind = report_baseline.kind
			  AND s.period_end <= report_baseline.period_start
			  AND s.period_end - s.period_start = len AND s.row_count > s.null_count
			ORDER BY s.period_start DESC
			LIMIT coalesce(m.baseline_periods, 30);
	END IF;
END
$baseline$;
COMMENT ON FUNCTION featstore.report_baseline(text, name, text, timestamptz, timestamptz) IS 'The statistics rows a feature''s period is compared with, as the drift tests read them: a pinned spine label''s, a pinned reference range''s periods, or the trailing baseline periods; read as the caller';

-- A drift threshold as the report draws it: the feature's own, else the
-- group's, else the default (featstore.monitor_threshold_defaults, the
-- drift part's one place for them)
CREATE FUNCTION featstore.report_threshold(group_name text, feature_name name, setting text)
RETURNS double precision
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce((SELECT t.value FROM featstore.monitor_thresholds t
					  WHERE t.group_name = report_threshold.group_name
						AND t.setting = report_threshold.setting
						AND (t.feature_name = report_threshold.feature_name OR t.feature_name IS NULL)
					  ORDER BY t.feature_name IS NULL
					  LIMIT 1),
					(SELECT d.value FROM featstore.monitor_threshold_defaults d
					  WHERE d.setting = report_threshold.setting));
END;
COMMENT ON FUNCTION featstore.report_threshold(text, name, text) IS 'A drift threshold of a feature: its own, else its group''s, else the default';

-- An SVG chart's frame: the element, its title (as a tooltip and a heading
-- drawn in the chart) and its plot area's background.
CREATE FUNCTION featstore.report_svg_open(kind text, title text, height integer)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN format('<svg class="chart %s" viewBox="0 0 400 %s" width="400" height="%s" role="img">'
			  '<title>%s</title><text class="ctitle" x="8" y="16">%s</text>',
			  kind, height, height, featstore.html_escape(title), featstore.html_escape(title));
COMMENT ON FUNCTION featstore.report_svg_open(text, text, integer) IS 'The opening of one of the monitoring report''s SVG charts';

-- A histogram, current against baseline: per bin a wide grey bar (the
-- baseline's share) behind a narrow blue one (the current period's).
CREATE FUNCTION featstore.report_svg_histogram(title text, lo double precision, hi double precision,
											   cur double precision[], base double precision[])
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $hist$
DECLARE
	n integer := greatest(cardinality(cur), cardinality(base));
	top double precision;
	bw double precision;
	out text := featstore.report_svg_open('histogram', title, 200);
	x double precision;
	h double precision;
BEGIN
	IF n IS NULL OR n = 0 THEN
		RETURN out || '<text class="empty" x="200" y="110">no values to draw</text></svg>';
	END IF;
	SELECT greatest(max(v), 1e-9) INTO top
	  FROM (SELECT unnest(cur) UNION ALL SELECT unnest(base)) AS s(v);
	bw := 372.0 / n;
	out := out || '<line class="axis" x1="20" y1="170" x2="392" y2="170"/>';
	FOR i IN 1..n LOOP
		x := 20 + (i - 1) * bw;
		IF base[i] IS NOT NULL THEN
			h := 140 * base[i] / top;
			out := out || format('<rect class="bar base" x="%s" y="%s" width="%s" height="%s"><title>baseline %s%%</title></rect>',
								 featstore.report_coord(x + 0.5), featstore.report_coord(170 - h),
								 featstore.report_coord(bw - 1), featstore.report_coord(h),
								 featstore.report_num(100 * base[i]));
		END IF;
		IF cur[i] IS NOT NULL THEN
			h := 140 * cur[i] / top;
			out := out || format('<rect class="bar cur" x="%s" y="%s" width="%s" height="%s"><title>current %s%%</title></rect>',
								 featstore.report_coord(x + bw * 0.25), featstore.report_coord(170 - h),
								 featstore.report_coord(bw * 0.5), featstore.report_coord(h),
								 featstore.report_num(100 * cur[i]));
		END IF;
	END LOOP;
	IF cur IS NULL THEN
		out := out || '<text class="empty" x="200" y="60">current period: no non-NULL value</text>';
	END IF;
	RETURN out || format('<text class="tick" x="20" y="186">%s</text><text class="tick end" x="392" y="186">%s</text>'
						 '<rect class="key cur" x="130" y="190" width="10" height="8"/><text class="tick" x="144" y="198">current</text>'
						 '<rect class="key base" x="200" y="190" width="10" height="8"/><text class="tick" x="214" y="198">baseline</text></svg>',
						 featstore.html_escape(featstore.report_num(lo)),
						 featstore.html_escape(featstore.report_num(hi)));
END
$hist$;
COMMENT ON FUNCTION featstore.report_svg_histogram(text, double precision, double precision, double precision[], double precision[]) IS 'The monitoring report''s histogram chart: per bin the baseline''s share behind the current period''s';

-- Top values, current against baseline: one row per value, a grey bar
-- (baseline share) under a blue one (current share), and a last row for
-- all other values.
CREATE FUNCTION featstore.report_svg_top(title text, vals text[], cur double precision[],
										 base double precision[], other_cur double precision,
										 other_base double precision)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $top$
DECLARE
	n integer := coalesce(cardinality(vals), 0);
	top double precision;
	out text := featstore.report_svg_open('topvalues', title, 34 + 18 * (n + 1));
	y integer;
	label text;
BEGIN
	IF n = 0 THEN
		RETURN out || '<text class="empty" x="200" y="40">no values to draw</text></svg>';
	END IF;
	SELECT greatest(max(v), 1e-9) INTO top
	  FROM (SELECT unnest(cur) UNION ALL SELECT unnest(base)
			UNION ALL SELECT other_cur UNION ALL SELECT other_base) AS s(v);
	FOR i IN 1..n + 1 LOOP
		y := 24 + 18 * (i - 1);
		IF i <= n THEN
			-- cut before escaping, so that no character reference is cut in two
			label := CASE WHEN length(vals[i]) > 20 THEN left(vals[i], 19) || '…' ELSE vals[i] END;
			out := out || format('<text class="vlabel" x="130" y="%s">%s<title>%s</title></text>',
								 y + 11, featstore.html_escape(label), featstore.html_escape(left(vals[i], 200)));
		ELSE
			out := out || format('<text class="vlabel other" x="130" y="%s">all other values</text>', y + 11);
		END IF;
		out := out || format('<rect class="bar base" x="136" y="%s" width="%s" height="14"><title>baseline %s%%</title></rect>',
							 y, featstore.report_coord(220 * coalesce(CASE WHEN i <= n THEN base[i] ELSE other_base END, 0) / top),
							 featstore.report_num(100 * CASE WHEN i <= n THEN base[i] ELSE other_base END));
		out := out || format('<rect class="bar cur" x="136" y="%s" width="%s" height="7"><title>current %s%%</title></rect>',
							 y + 4, featstore.report_coord(220 * coalesce(CASE WHEN i <= n THEN cur[i] ELSE other_cur END, 0) / top),
							 featstore.report_num(100 * CASE WHEN i <= n THEN cur[i] ELSE other_cur END));
	END LOOP;
	RETURN out || '</svg>';
END
$top$;
COMMENT ON FUNCTION featstore.report_svg_top(text, text[], double precision[], double precision[], double precision, double precision) IS 'The monitoring report''s top-values chart: per value the baseline''s share under the current period''s';

-- The array with NaN and infinities replaced by NULL, which charts skip
CREATE FUNCTION featstore.report_finite(a double precision[])
RETURNS double precision[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT array_agg(CASE WHEN u.v > '-Infinity' AND u.v < 'Infinity' THEN u.v END ORDER BY u.i)
	  FROM unnest(a) WITH ORDINALITY AS u(v, i);
END;
COMMENT ON FUNCTION featstore.report_finite(double precision[]) IS 'The array with NaN and infinities replaced by NULL, as the monitoring report''s charts skip them';

-- Where the series chart puts period i of n, and value v of [ymin, ymax]
CREATE FUNCTION featstore.report_x(i integer, n integer)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN n <= 1 THEN 224 ELSE 62 + 324.0 * (i - 1) / (n - 1) END;
COMMENT ON FUNCTION featstore.report_x(integer, integer) IS 'The x coordinate of period i of n in the monitoring report''s series chart';

CREATE FUNCTION featstore.report_y(v double precision, ymin double precision, ymax double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN 170 - 140 * (v - ymin) / (ymax - ymin);
COMMENT ON FUNCTION featstore.report_y(double precision, double precision, double precision) IS 'The y coordinate of a value in the monitoring report''s series chart';

-- The band [lo, hi] of a series chart as one path element: a closed
-- outline per run of periods that have a band; '' when none has
CREATE FUNCTION featstore.report_svg_band(lo double precision[], hi double precision[],
										  ymin double precision, ymax double precision)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $band$
DECLARE
	n integer := coalesce(cardinality(lo), 0);
	band text := '';
	upper_run text := '';
	lower_run text := '';
BEGIN
	FOR i IN 1..n + 1 LOOP
		IF i <= n AND lo[i] IS NOT NULL AND hi[i] IS NOT NULL THEN
			upper_run := upper_run || CASE WHEN upper_run = '' THEN 'M' ELSE ' L' END
				|| featstore.report_coord(featstore.report_x(i, n)) || ','
				|| featstore.report_coord(featstore.report_y(greatest(lo[i], hi[i]), ymin, ymax));
			lower_run := ' L' || featstore.report_coord(featstore.report_x(i, n)) || ','
				|| featstore.report_coord(featstore.report_y(least(lo[i], hi[i]), ymin, ymax)) || lower_run;
		ELSIF upper_run <> '' THEN
			band := band || upper_run || lower_run || ' Z ';
			upper_run := '';
			lower_run := '';
		END IF;
	END LOOP;
	RETURN CASE WHEN band = '' THEN '' ELSE format('<path class="band" d="%s"/>', rtrim(band)) END;
END
$band$;
COMMENT ON FUNCTION featstore.report_svg_band(double precision[], double precision[], double precision, double precision) IS 'The band of one of the monitoring report''s series charts, as an SVG path';

-- A value over time with its band: one point per period (red when outside
-- the band), a line through them and the band [lo, hi] as a filled path,
-- broken where a period has no value or no band.
CREATE FUNCTION featstore.report_svg_series(title text, labels text[], vals double precision[],
											lo double precision[], hi double precision[],
											percent boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $series$
DECLARE
	n integer := coalesce(cardinality(labels), 0);
	ymin double precision;
	ymax double precision;
	out text := featstore.report_svg_open('series', title, 200);
	line text := '';
	pts text := '';
	pen text := 'M';
	k double precision := CASE WHEN percent THEN 100 ELSE 1 END;
	unit text := CASE WHEN percent THEN '%' ELSE '' END;
BEGIN
	-- NaN and infinities have no place on the axis: not drawn
	vals := featstore.report_finite(vals);
	lo := featstore.report_finite(lo);
	hi := featstore.report_finite(hi);
	SELECT min(v), max(v) INTO ymin, ymax
	  FROM (SELECT unnest(vals) UNION ALL SELECT unnest(lo) UNION ALL SELECT unnest(hi)) AS s(v);
	IF n = 0 OR ymin IS NULL THEN
		RETURN out || '<text class="empty" x="200" y="110">no values to draw</text></svg>';
	END IF;
	IF ymax - ymin < 1e-12 * greatest(abs(ymax), 1) THEN
		ymin := ymin - greatest(abs(ymin) * 0.05, 1e-6);
		ymax := ymax + greatest(abs(ymax) * 0.05, 1e-6);
	END IF;
	IF percent THEN
		-- a rate is drawn from 0 up to the next round share, at least 1%
		ymin := 0;
		SELECT min(v) INTO ymax FROM unnest('{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1}'::float8[]) AS v
		 WHERE v >= least(ymax * 1.04, 1);
	ELSE
		-- a margin, so that no point sits on the frame
		ymin := ymin - (ymax - ymin) * 0.06;
		ymax := ymax + (ymax - ymin) * 0.06;
	END IF;
	out := out || format('<line class="grid" x1="56" y1="30" x2="392" y2="30"/><line class="grid" x1="56" y1="100" x2="392" y2="100"/>'
						 '<line class="axis" x1="56" y1="170" x2="392" y2="170"/>'
						 '<text class="tick end" x="52" y="34">%s</text><text class="tick end" x="52" y="104">%s</text>'
						 '<text class="tick end" x="52" y="174">%s</text>',
						 featstore.report_num(k * ymax) || unit, featstore.report_num(k * (ymin + ymax) / 2) || unit,
						 featstore.report_num(k * ymin) || unit);
	-- the band first, so that the line and the points are drawn over it
	out := out || featstore.report_svg_band(lo, hi, ymin, ymax);
	FOR i IN 1..n LOOP
		IF vals[i] IS NULL THEN
			pen := 'M';
			CONTINUE;
		END IF;
		line := line || pen || featstore.report_coord(featstore.report_x(i, n)) || ','
			|| featstore.report_coord(featstore.report_y(vals[i], ymin, ymax)) || ' ';
		pen := 'L';
		pts := pts || format('<circle class="%s" cx="%s" cy="%s" r="3"><title>%s: %s%s</title></circle>',
							 CASE WHEN vals[i] < lo[i] OR vals[i] > hi[i] THEN 'pt out' ELSE 'pt' END,
							 featstore.report_coord(featstore.report_x(i, n)),
							 featstore.report_coord(featstore.report_y(vals[i], ymin, ymax)),
							 featstore.html_escape(labels[i]), featstore.report_num(k * vals[i]), unit);
	END LOOP;
	IF line <> '' THEN
		out := out || format('<path class="line" d="%s"/>', rtrim(line));
	END IF;
	RETURN out || pts
		|| format('<text class="tick" x="56" y="186">%s</text><text class="tick end" x="392" y="186">%s</text></svg>',
				  featstore.html_escape(labels[1]), featstore.html_escape(labels[n]));
END
$series$;
COMMENT ON FUNCTION featstore.report_svg_series(text, text[], double precision[], double precision[], double precision[], boolean) IS 'The monitoring report''s chart of a value over time with its band';

-- The histogram of a numeric feature's period against its baseline: 20
-- equal-width bins over the range both cover, each side's shares read from
-- its stored percentiles (the baseline's as the row-weighted mixture of its
-- periods', as the drift tests read them).
CREATE FUNCTION featstore.report_feature_histogram(cur featstore.feature_stats, feature_name name)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fhist$
#variable_conflict use_variable
DECLARE
	lo double precision;
	hi double precision;
	cur_sh double precision[];
	base_sh double precision[];
BEGIN
	-- the range both cover, of finite values: NaN and infinities are not drawn
	SELECT min(v), max(v) INTO lo, hi
	  FROM (SELECT unnest(cur.percentiles)
			UNION ALL
			SELECT unnest(b.percentiles)
			  FROM featstore.report_baseline(cur.group_name, feature_name, cur.kind, cur.period_start, cur.period_end) b) AS p(v)
	 WHERE v > '-Infinity' AND v < 'Infinity';
	IF lo IS NULL THEN
		RETURN featstore.report_svg_histogram('Distribution', NULL, NULL, NULL, NULL);
	END IF;
	IF hi - lo < 1e-12 * greatest(abs(hi), 1) THEN
		lo := lo - greatest(abs(lo) * 0.05, 0.5);
		hi := hi + greatest(abs(hi) * 0.05, 0.5);
	END IF;
	IF cur.percentiles IS NOT NULL THEN
		cur_sh := featstore.report_shares(cur.percentiles, lo, hi, 20);
	END IF;
	SELECT array_agg(x.share ORDER BY x.i) INTO base_sh
	  FROM (SELECT u.i, sum(u.sh * (b.row_count - b.null_count)) / sum(b.row_count - b.null_count) AS share
			  FROM featstore.report_baseline(cur.group_name, feature_name, cur.kind, cur.period_start, cur.period_end) b,
				   unnest(featstore.report_shares(b.percentiles, lo, hi, 20)) WITH ORDINALITY AS u(sh, i)
			 WHERE b.percentiles IS NOT NULL AND b.row_count > b.null_count
			 GROUP BY u.i) x;
	RETURN featstore.report_svg_histogram(format('Histogram %s against the baseline', featstore.report_ts(cur.period_start)),
										  lo, hi, cur_sh, base_sh);
END
$fhist$;
COMMENT ON FUNCTION featstore.report_feature_histogram(featstore.feature_stats, name) IS 'The monitoring report''s histogram of a numeric feature''s period against its baseline';

-- The top values of a categorical feature's period against its baseline:
-- the twelve values with the largest share on either side; a baseline
-- value's share counts the periods where it was among the stored top values.
CREATE FUNCTION featstore.report_feature_top(cur featstore.feature_stats, feature_name name)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $ftop$
#variable_conflict use_variable
DECLARE
	vals text[];
	cur_sh double precision[];
	base_sh double precision[];
	cur_total double precision := nullif(cur.row_count - cur.null_count, 0);
	base_total double precision;
BEGIN
	IF EXISTS (SELECT 1 FROM featstore.features f
				WHERE f.group_name = cur.group_name AND f.name = feature_name AND f.pii) THEN
		RETURN '<p class="empty">No top values: featstore stores none of a PII feature.</p>';
	END IF;
	SELECT nullif(sum(b.row_count - b.null_count), 0) INTO base_total
	  FROM featstore.report_baseline(cur.group_name, feature_name, cur.kind, cur.period_start, cur.period_end) b;
	SELECT array_agg(t.v ORDER BY t.rank_share DESC, t.v), array_agg(t.cs ORDER BY t.rank_share DESC, t.v),
		   array_agg(t.bs ORDER BY t.rank_share DESC, t.v)
	  INTO vals, cur_sh, base_sh
	  FROM (SELECT coalesce(c.v, b.v) AS v, c.n / cur_total AS cs, b.n / base_total AS bs,
				   greatest(coalesce(c.n / cur_total, 0), coalesce(b.n / base_total, 0)) AS rank_share
			  FROM (SELECT u.v, u.n::double precision AS n
					  FROM unnest(cur.top_values, cur.top_counts) AS u(v, n)) c
			  FULL JOIN (SELECT u.v, sum(u.n)::double precision AS n
						   FROM featstore.report_baseline(cur.group_name, feature_name, cur.kind, cur.period_start, cur.period_end) bs,
								unnest(bs.top_values, bs.top_counts) AS u(v, n)
						  GROUP BY u.v) b ON b.v = c.v
			 ORDER BY 4 DESC, 1
			 LIMIT 12) t;
	RETURN featstore.report_svg_top(format('Top values %s (blue) against the baseline (grey)',
										   featstore.report_ts(cur.period_start)),
									vals, cur_sh, base_sh,
									greatest(1 - (SELECT sum(x) FROM unnest(cur_sh) AS x), 0),
									greatest(1 - (SELECT sum(x) FROM unnest(base_sh) AS x), 0));
END
$ftop$;
COMMENT ON FUNCTION featstore.report_feature_top(featstore.feature_stats, name) IS 'The monitoring report''s top values of a categorical feature''s period against its baseline';

-- A feature's mean (numeric features) and null rate over the report's
-- periods, each with the band in which the drift tests' mean_sigma and
-- null_rate_sigma find no drift: mu_b +- max(k sigma_b, e), where mu_b and
-- sigma_b are the mean and sample standard deviation of the period's
-- baseline periods' values, k the feature's mean_sigma / null_rate_sigma,
-- and e the minimum effect (mean_min_effect times the baseline's pooled
-- stddev; null_rate_min_effect).  Drawn where the baseline has at least 7
-- periods, as the drift tests require.
CREATE FUNCTION featstore.report_feature_series(group_name text, feature_name name, kind text,
												starts timestamptz[], ends timestamptz[])
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fseries$
#variable_conflict use_variable
DECLARE
	k_mean double precision := featstore.report_threshold(group_name, feature_name, 'mean_sigma');
	e_mean double precision := featstore.report_threshold(group_name, feature_name, 'mean_min_effect');
	k_null double precision := featstore.report_threshold(group_name, feature_name, 'null_rate_sigma');
	e_null double precision := featstore.report_threshold(group_name, feature_name, 'null_rate_min_effect');
	labels text[];
	m double precision[];
	m_lo double precision[];
	m_hi double precision[];
	nr double precision[];
	nr_lo double precision[];
	nr_hi double precision[];
	out text := '';
BEGIN
	SELECT array_agg(featstore.report_ts(p.ps) ORDER BY p.i), array_agg(s.mean ORDER BY p.i),
		   array_agg(CASE WHEN b.n >= 7 THEN b.mu - greatest(k_mean * b.sd, e_mean * b.pooled) END ORDER BY p.i),
		   array_agg(CASE WHEN b.n >= 7 THEN b.mu + greatest(k_mean * b.sd, e_mean * b.pooled) END ORDER BY p.i),
		   array_agg(s.null_rate ORDER BY p.i),
		   array_agg(CASE WHEN b.nn >= 7 THEN greatest(b.nmu - greatest(k_null * b.nsd, e_null), 0) END ORDER BY p.i),
		   array_agg(CASE WHEN b.nn >= 7 THEN least(b.nmu + greatest(k_null * b.nsd, e_null), 1) END ORDER BY p.i)
	  INTO labels, m, m_lo, m_hi, nr, nr_lo, nr_hi
	  FROM unnest(starts, ends) WITH ORDINALITY AS p(ps, pe, i)
	  LEFT JOIN featstore.feature_stats s
		ON s.group_name = group_name AND s.feature_name = feature_name AND s.scope = 'period'
	   AND s.label = '' AND s.period_start = p.ps AND s.period_end = p.pe
	  LEFT JOIN LATERAL (SELECT count(b.mean) AS n, avg(b.mean) AS mu, stddev_samp(b.mean) AS sd,
								count(b.null_rate) AS nn, avg(b.null_rate) AS nmu,
								stddev_samp(b.null_rate) AS nsd,
								-- the stddev of the union of the periods' values
								sqrt(greatest(sum((b.row_count - b.null_count - 1) * coalesce(b.stddev, 0) ^ 2
												  + (b.row_count - b.null_count) * b.mean ^ 2)
											  - sum((b.row_count - b.null_count) * b.mean) ^ 2
												/ sum(b.row_count - b.null_count), 0)
									 / nullif(sum(b.row_count - b.null_count) - 1, 0)) AS pooled
						   FROM featstore.report_baseline(group_name, feature_name, kind, p.ps, p.pe) b) b ON true;
	IF kind = 'numeric' THEN
		out := featstore.report_svg_series(format('Mean per period, no-drift band (±%sσ, ≥ %s sd)',
												  featstore.report_num(k_mean), featstore.report_num(e_mean)),
										   labels, m, m_lo, m_hi, false);
	END IF;
	RETURN out || featstore.report_svg_series(format('Null rate per period, no-drift band (±%sσ, ≥ %s)',
													 featstore.report_num(k_null), featstore.report_num(e_null)),
											  labels, nr, nr_lo, nr_hi, true);
END
$fseries$;
COMMENT ON FUNCTION featstore.report_feature_series(text, name, text, timestamptz[], timestamptz[]) IS 'The monitoring report''s charts of a feature''s mean and null rate over time, with the band where the drift tests find no drift';

-- The current period's figures of a feature, as a table row of cells
CREATE FUNCTION featstore.report_feature_facts(cur featstore.feature_stats)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT '<table class="facts"><tr>'
		|| string_agg(format('<th>%s</th>', f.name), '' ORDER BY f.i)
		|| '</tr><tr>'
		|| string_agg(format('<td class="%s">%s</td>', f.cls, featstore.html_escape(f.val)), '' ORDER BY f.i)
		|| '</tr></table>'
	  FROM (VALUES (1, 'rows', 'rows', cur.row_count::text),
				   (2, 'null rate', 'null_rate', featstore.report_num(100 * cur.null_rate) || '%'),
				   (3, 'distinct', 'distinct', cur.distinct_count::text),
				   (4, 'mean', 'mean', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.mean) END),
				   (5, 'stddev', 'stddev', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.stddev) END),
				   (6, 'min', 'min', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.min_value) END),
				   (7, 'p50', 'p50', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.p50) END),
				   (8, 'p99', 'p99', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.p99) END),
				   (9, 'max', 'max', CASE WHEN cur.kind = 'numeric' THEN featstore.report_num(cur.max_value) END),
				   (10, 'top value', 'top', CASE WHEN cur.kind = 'categorical' THEN coalesce(cur.top_values[1], '–') END))
			AS f(i, name, cls, val)
	 WHERE f.val IS NOT NULL;
END;
COMMENT ON FUNCTION featstore.report_feature_facts(featstore.feature_stats) IS 'The monitoring report''s table of a feature''s figures in the current period';

-- How the report names a feature's baseline
CREATE FUNCTION featstore.report_baseline_label(cur featstore.feature_stats)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN m.reference_label IS NOT NULL THEN format('the spine "%s"', m.reference_label)
		WHEN b.n = 0 THEN 'no baseline'
		WHEN m.reference_from IS NOT NULL
			THEN format('the reference %s – %s (%s periods)', featstore.report_ts(m.reference_from),
						featstore.report_ts(m.reference_to), b.n)
		ELSE format('the %s periods %s – %s', b.n, featstore.report_ts(b.first), featstore.report_ts(b.last))
	END
	  FROM (SELECT count(*) AS n, min(x.period_start) AS first, max(x.period_start) AS last
			  FROM featstore.report_baseline(cur.group_name, cur.feature_name, cur.kind,
											 cur.period_start, cur.period_end) x) b
	  LEFT JOIN featstore.monitor_settings m ON m.group_name = cur.group_name;
END;
COMMENT ON FUNCTION featstore.report_baseline_label(featstore.feature_stats) IS 'How the monitoring report names the baseline of a feature''s period';

-- The drift tests of a feature's period: one column per test, failing
-- ones first, with its statistic, threshold and verdict; what it compares
-- is the column's tooltip.  tests holds the current period's rows of
-- featstore.drift_tests() (as the caller), for every feature, as a JSON
-- array: drift_tests() tests all of a group's features at once, so the
-- report calls it once.
CREATE FUNCTION featstore.report_drift(cur featstore.feature_stats, tests jsonb)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN count(*) = 0 THEN '<p class="empty">No drift test of this period.</p>'
		   ELSE '<table class="drift"><tr class="tests"><th>drift test</th>'
				|| string_agg(format('<th title="%s">%s</th>',
									 CASE d.test
										WHEN 'mean_sigma' THEN 'the mean, in σ of the baseline''s period means'
										WHEN 'null_rate_sigma' THEN 'the null rate, in σ of the baseline''s rates'
										WHEN 'psi' THEN 'population stability index over the baseline''s deciles'
										WHEN 'ks_pvalue' THEN 'Kolmogorov–Smirnov p-value; drift below the threshold'
										WHEN 'wasserstein' THEN 'Wasserstein distance over the baseline''s stddev'
										WHEN 'js' THEN 'Jensen–Shannon distance of the value shares'
										WHEN 'distinct_collapse' THEN 'distinct count over the baseline''s; drift below the threshold'
										WHEN 'all_null' THEN 'non-NULL values; drift at 0 when the baseline had some'
										ELSE '' END,
									 featstore.html_escape(d.test)), '' ORDER BY d.verdict <> 'drift', d.test)
				|| '</tr><tr class="statistics"><th>statistic</th>'
				|| string_agg(format('<td class="num">%s</td>', featstore.report_num(d.statistic)), ''
							  ORDER BY d.verdict <> 'drift', d.test)
				|| '</tr><tr class="thresholds"><th>threshold</th>'
				|| string_agg(format('<td class="num">%s</td>', featstore.report_num(d.threshold)), ''
							  ORDER BY d.verdict <> 'drift', d.test)
				|| '</tr><tr class="verdicts"><th>verdict</th>'
				|| string_agg(format('<td class="v-%s">%s</td>',
									 CASE d.verdict WHEN 'drift' THEN 'drift' WHEN 'ok' THEN 'ok' ELSE 'none' END,
									 featstore.html_escape(d.verdict)), '' ORDER BY d.verdict <> 'drift', d.test)
				|| '</tr></table>' END
	  FROM jsonb_to_recordset(tests) AS d(feature_name name, period_start timestamptz, period_end timestamptz,
										  test text, statistic double precision, threshold double precision,
										  verdict text)
	 WHERE d.feature_name = cur.feature_name AND d.period_start = cur.period_start
	   AND d.period_end = cur.period_end;
END;
COMMENT ON FUNCTION featstore.report_drift(featstore.feature_stats, jsonb) IS 'The monitoring report''s table of the drift tests of a feature''s period';

-- One feature's part of the report: its name and description, the current
-- period's figures, the charts and whether a drift alert is open.
CREATE FUNCTION featstore.report_feature(group_name text, feature_name name, data_type text,
										 description text, starts timestamptz[], ends timestamptz[],
										 tests jsonb)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $feature$
#variable_conflict use_variable
DECLARE
	n integer := cardinality(starts);
	cur featstore.feature_stats;
	kind text;
	alert_open boolean;
	drift_now boolean := false;
	out text;
BEGIN
	SELECT * INTO cur FROM featstore.feature_stats s
	 WHERE s.group_name = group_name AND s.feature_name = feature_name AND s.scope = 'period'
	   AND s.label = '' AND s.period_start = starts[n] AND s.period_end = ends[n];
	SELECT s.kind INTO kind FROM featstore.feature_stats s
	 WHERE s.group_name = group_name AND s.feature_name = feature_name AND s.scope = 'period'
	   AND s.label = '' AND s.period_start >= starts[1] AND s.period_start <= starts[n]
	 ORDER BY s.period_start DESC LIMIT 1;
	SELECT EXISTS (SELECT 1 FROM featstore.alerts a
					WHERE a.group_name = group_name AND a.feature_name = feature_name
					  AND a.kind = 'drift' AND a.resolved_at IS NULL) INTO alert_open;
	IF cur.id IS NOT NULL THEN
		SELECT EXISTS (SELECT 1 FROM jsonb_array_elements(tests) AS t
						WHERE t ->> 'feature_name' = feature_name AND t ->> 'verdict' = 'drift'
						  AND (t ->> 'period_start')::timestamptz = starts[n]) INTO drift_now;
	END IF;
	out := format('<article class="feature%s" data-feature="%s"><h3>%s <span class="type">%s</span> %s</h3>',
				  CASE WHEN alert_open OR drift_now THEN ' drifting' ELSE '' END,
				  featstore.html_escape(feature_name), featstore.html_escape(feature_name),
				  featstore.html_escape(data_type),
				  CASE WHEN alert_open THEN '<span class="badge bad">drift alert open</span>'
					   WHEN drift_now THEN '<span class="badge bad">drift in this period</span>'
					   ELSE '<span class="badge good">no drift</span>' END);
	IF description IS NOT NULL THEN
		out := out || format('<p class="desc">%s</p>', featstore.html_escape(description));
	END IF;
	IF kind IS NULL THEN
		RETURN out || '<p class="empty">No statistics of this feature in the report''s range.</p></article>';
	END IF;
	IF cur.id IS NULL THEN
		-- the feature has no statistics for the current period: the charts
		-- still show its history, against the baseline of that period
		cur.group_name := group_name;
		cur.feature_name := feature_name;
		cur.period_start := starts[n];
		cur.period_end := ends[n];
		cur.kind := kind;
		out := out || format('<p class="empty">No statistics of this feature for the current period %s.</p>',
							 featstore.report_ts(starts[n]));
	ELSE
		out := out || featstore.report_feature_facts(cur);
	END IF;
	out := out || format('<p class="baseline">Period %s compared with %s.</p><div class="charts">',
						 featstore.report_ts(starts[n]), featstore.html_escape(featstore.report_baseline_label(cur)));
	IF kind = 'numeric' THEN
		out := out || featstore.report_feature_histogram(cur, feature_name);
	ELSE
		out := out || featstore.report_feature_top(cur, feature_name);
	END IF;
	out := out || featstore.report_feature_series(group_name, feature_name, kind, starts, ends) || '</div>';
	IF cur.id IS NOT NULL THEN
		out := out || featstore.report_drift(cur, tests);
	END IF;
	RETURN out || '</article>';
END
$feature$;
COMMENT ON FUNCTION featstore.report_feature(text, name, text, text, timestamptz[], timestamptz[], jsonb) IS 'One feature''s part of the monitoring report';

-- The page's head: its title and the style sheet (inline: the page must
-- stand alone and load nothing)
CREATE FUNCTION featstore.report_head(group_name text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/>'
	|| '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
	|| format('<title>featstore monitoring: %s</title>', featstore.html_escape(group_name))
	|| '<style>'
	|| 'body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1e293b;background:#f8fafc;margin:0;padding:20px 28px}'
	|| 'h1{font-size:24px;margin:0}h2{font-size:18px;margin:24px 0 8px;border-bottom:1px solid #cbd5e1;padding-bottom:4px}'
	|| 'h3{font-size:16px;margin:0 0 4px}.sub{color:#64748b;margin:2px 0 0}'
	|| '.top{display:flex;justify-content:space-between;align-items:center;gap:16px}'
	|| '.status{font-size:20px;font-weight:700;padding:10px 18px;border-radius:8px;color:#fff;white-space:nowrap}'
	|| '.st-ok{background:#16a34a}.st-alert{background:#dc2626}.st-unknown{background:#64748b}'
	|| 'table{border-collapse:collapse;background:#fff}th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}'
	|| 'th{background:#f1f5f9;font-weight:600}.meta th{width:130px;white-space:nowrap}.meta{width:100%}'
	|| '.cards{display:flex;gap:12px;margin-top:12px;align-items:flex-start}.card{flex:1;min-width:0}'
	|| '.card h2{margin:0 0 6px;font-size:15px;border:none;padding:0}'
	|| '.gauge{fill:#e2e8f0}.fill.ok{fill:#16a34a}.fill.late{fill:#dc2626}.sla{stroke:#0f172a;stroke-width:2}'
	|| '.chart.freshness{border:none;width:100%;max-width:260px;margin-top:4px}'
	|| 'td.num{text-align:right;font-variant-numeric:tabular-nums}td.ts{white-space:nowrap}'
	|| '.alerts td.kind{font-weight:700;color:#b91c1c}.alerts code,.err{font-size:12px;word-break:break-all}'
	|| '.ok{color:#15803d;font-weight:600}.bad{color:#b91c1c;font-weight:600}'
	|| '.feature{background:#fff;border:1px solid #e2e8f0;border-left:6px solid #16a34a;border-radius:6px;padding:12px 14px;margin:14px 0}'
	|| '.feature.drifting{border-left-color:#dc2626}.type{font-weight:400;color:#64748b;font-size:13px}'
	|| '.badge{font-size:12px;padding:1px 8px;border-radius:10px;margin-left:6px;vertical-align:middle}'
	|| '.badge.bad{background:#fee2e2}.badge.good{background:#dcfce7;color:#15803d}'
	|| '.desc{margin:2px 0 6px;color:#475569}.baseline{margin:6px 0;color:#475569;font-size:13px}.empty{color:#64748b;font-style:italic}'
	|| '.facts{margin:6px 0;font-size:13px}.facts td{font-variant-numeric:tabular-nums}'
	|| '.charts{display:flex;flex-wrap:wrap;gap:10px}.chart{background:#fff;border:1px solid #e2e8f0;border-radius:4px;width:376px;height:auto}'
	|| '.ctitle{font-size:12px;font-weight:600;fill:#334155}.tick{font-size:10px;fill:#64748b}.tick.end{text-anchor:end}'
	|| 'text.empty{font-size:12px;fill:#64748b;text-anchor:middle}'
	|| '.axis{stroke:#94a3b8}.grid{stroke:#e2e8f0}'
	|| '.bar.base,.key.base{fill:#cbd5e1}.bar.cur,.key.cur{fill:#2563eb}'
	|| '.band{fill:#d1fae5;stroke:#6ee7b7}.line{fill:none;stroke:#2563eb;stroke-width:1.5}'
	|| '.pt{fill:#2563eb}.pt.out{fill:#dc2626;r:4.5}'
	|| '.vlabel{font-size:11px;fill:#334155;text-anchor:end}.vlabel.other{font-style:italic;fill:#64748b}'
	|| '.drift{margin-top:8px;font-size:13px}.drift td.v-drift{color:#b91c1c;font-weight:700}.drift td.v-ok{color:#15803d}.drift td.v-none{color:#64748b}'
	|| 'footer{margin-top:24px;color:#64748b;font-size:12px}'
	|| '</style></head><body>';
COMMENT ON FUNCTION featstore.report_head(text) IS 'The monitoring report''s HTML head with its inline style sheet';

-- A duration for people: its two largest units
CREATE FUNCTION featstore.report_interval(i interval)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN i IS NULL THEN '–'
		ELSE CASE WHEN x.e < 0 THEN '−' ELSE '' END || CASE
			WHEN abs(x.e) < 120 THEN round(abs(x.e)) || ' s'
			WHEN abs(x.e) < 7200 THEN round(abs(x.e) / 60) || ' min'
			WHEN abs(x.e) < 172800 THEN floor(abs(x.e) / 3600) || ' h'
				|| CASE WHEN floor(mod(abs(x.e), 3600) / 60) > 0 THEN ' ' || floor(mod(abs(x.e), 3600) / 60) || ' min' ELSE '' END
			ELSE floor(abs(x.e) / 86400) || ' d'
				|| CASE WHEN floor(mod(abs(x.e), 86400) / 3600) > 0 THEN ' ' || floor(mod(abs(x.e), 86400) / 3600) || ' h' ELSE '' END END
	END
	  FROM (SELECT extract(epoch FROM i) AS e) x;
END;
COMMENT ON FUNCTION featstore.report_interval(interval) IS 'A duration as the monitoring report prints it: its two largest units';

-- The freshness gauge: the newest event's age against the SLA, on a scale
-- to twice the SLA, green within it and red beyond
CREATE FUNCTION featstore.report_svg_freshness(age interval, sla interval)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN format('<svg class="chart freshness" viewBox="0 0 260 30" width="260" height="30" role="img">'
			  '<title>age %s against the SLA %s</title>'
			  '<rect class="gauge" x="0" y="6" width="260" height="12"/>'
			  '<rect class="fill %s" x="0" y="6" width="%s" height="12"/>'
			  '<line class="sla" x1="130" y1="2" x2="130" y2="22"/>'
			  '<text class="tick" x="0" y="29">0</text><text class="tick" x="130" y="29" text-anchor="middle">SLA %s</text>'
			  '<text class="tick end" x="260" y="29">2 × SLA</text></svg>',
			  featstore.report_interval(age), featstore.report_interval(sla),
			  CASE WHEN age <= sla THEN 'ok' ELSE 'late' END,
			  featstore.report_coord(260 * least(greatest(extract(epoch FROM age) / extract(epoch FROM sla), 0), 2) / 2),
			  featstore.report_interval(sla));
COMMENT ON FUNCTION featstore.report_svg_freshness(interval, interval) IS 'The monitoring report''s gauge of the newest event''s age against the freshness SLA';

-- A card of the header: a title and rows of (name, HTML value); the values
-- are already escaped, and rows without a value are left out
CREATE FUNCTION featstore.report_card(title text, names text[], vals text[])
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN format('<div class="card"><h2>%s</h2><table class="meta">%s</table></div>', featstore.html_escape(title),
			  (SELECT string_agg(format('<tr><th>%s</th><td>%s</td></tr>', featstore.html_escape(r.k), r.v), '' ORDER BY r.i)
				 FROM unnest(names, vals) WITH ORDINALITY AS r(k, v, i) WHERE r.v IS NOT NULL));
COMMENT ON FUNCTION featstore.report_card(text, text[], text[]) IS 'One card of the monitoring report''s header';

-- The group's definition, as the header's first card
CREATE FUNCTION featstore.report_definition(g featstore.feature_groups)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT featstore.report_card('Definition',
		ARRAY['kind', 'table', 'entity', 'owner', 'description'],
		ARRAY[featstore.html_escape(CASE
				WHEN g.kind = 'source'
					THEN (SELECT 'computed FROM ' || quote_ident(s.source_schema) || '.' || quote_ident(s.source_name)
							FROM featstore.source_groups s WHERE s.group_name = g.name)
				WHEN EXISTS (SELECT 1 FROM featstore.transformations t WHERE t.group_name = g.name)
					THEN 'filled by a scheduled query'
				ELSE 'history table' END || CASE WHEN g.online THEN ', online' ELSE ', offline' END),
			  featstore.html_escape(quote_ident(g.schema_name) || '.' || quote_ident(g.table_name)),
			  featstore.html_escape(g.entity_name || ' (' || (SELECT string_agg(k.column_name || ' ' || k.data_type, ', ' ORDER BY k.position)
																  FROM featstore.entity_keys k WHERE k.entity_name = g.entity_name) || ')'),
			  featstore.html_escape(g.owner), featstore.html_escape(g.description)]);
END;
COMMENT ON FUNCTION featstore.report_definition(featstore.feature_groups) IS 'The monitoring report''s card of the group''s definition';

-- The group's freshness, from featstore.group_health (as the caller)
CREATE FUNCTION featstore.report_freshness(h featstore.group_health)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT featstore.report_card('Freshness',
		ARRAY['freshness SLA', 'newest event', 'age', 'checked', 'materialization lag', 'queue depth', 'worker'],
		ARRAY[coalesce(featstore.html_escape((SELECT m.freshness_text FROM featstore.monitor_settings m
											   WHERE m.group_name = h.group_name)), 'none'),
			  CASE WHEN h.freshness_checked_at IS NULL THEN 'not checked yet'
				   ELSE coalesce(featstore.report_ts(h.newest_event), 'no event yet') END,
			  CASE WHEN h.newest_event IS NULL THEN NULL
				   WHEN h.freshness IS NULL THEN featstore.report_interval(h.age)
				   ELSE format('<span class="%s">%s%s</span><br/>%s', CASE WHEN h.freshness_met THEN 'ok' ELSE 'bad' END,
							   featstore.report_interval(h.age),
							   CASE WHEN h.freshness_met THEN ', within the SLA' ELSE ', beyond the SLA' END,
							   featstore.report_svg_freshness(h.age, h.freshness)) END,
			  featstore.report_ts(h.freshness_checked_at),
			  CASE WHEN h.materialization_lag IS NOT NULL THEN featstore.report_interval(h.materialization_lag) END,
			  h.queue_depth::text,
			  featstore.html_escape(h.worker_state)]);
END;
COMMENT ON FUNCTION featstore.report_freshness(featstore.group_health) IS 'The monitoring report''s card of the group''s freshness';

-- The group's monitoring: its settings, the periods shown, its last runs
CREATE FUNCTION featstore.report_monitoring(group_name text, starts timestamptz[], ends timestamptz[])
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT featstore.report_card('Monitoring',
		ARRAY['statistics every', 'baseline', 'periods shown', 'last statistics run', 'last skew check'],
		ARRAY[CASE WHEN m.group_name IS NULL THEN '1 day (the default)'
				   WHEN m.monitor_every_text IS NULL THEN 'never (MONITOR NONE)'
				   ELSE featstore.html_escape(m.monitor_every_text) END,
			  featstore.html_escape(CASE
				WHEN m.reference_label IS NOT NULL THEN format('the spine "%s"', m.reference_label)
				WHEN m.reference_from IS NOT NULL
					THEN format('the reference %s – %s', featstore.report_ts(m.reference_from), featstore.report_ts(m.reference_to))
				ELSE format('the trailing %s periods', coalesce(m.baseline_periods, 30)) END),
			  CASE WHEN starts IS NULL THEN 'none: no statistics in the range'
				   ELSE format('%s: %s – %s', cardinality(starts), featstore.report_ts(starts[1]),
							   featstore.report_ts(ends[cardinality(ends)])) END,
			  coalesce((SELECT format('<span class="%s">%s</span> %s · period %s – %s · %s rows read%s',
									  CASE WHEN r.status = 'succeeded' THEN 'ok' ELSE 'bad' END, r.status,
									  featstore.report_ts(coalesce(r.finished_at, r.started_at)),
									  featstore.report_ts(r.period_start), featstore.report_ts(r.period_end),
									  coalesce(r.rows_read::text, '–'),
									  CASE WHEN r.error IS NOT NULL
										   THEN format('<br/><span class="err">%s %s</span>', featstore.html_escape(coalesce(r.sqlstate, '')),
													   featstore.html_escape(r.error)) ELSE '' END)
						  FROM featstore.stats_runs r WHERE r.group_name = report_monitoring.group_name
						 ORDER BY r.id DESC LIMIT 1), 'none yet'),
			  coalesce((SELECT format('%s · <span class="%s">%s</span> of %s entities differ from the join at now()',
									  featstore.report_ts(c.checked_at),
									  CASE WHEN c.differences = 0 THEN 'ok' ELSE 'bad' END, c.differences, c.sample_size)
						  FROM featstore.skew_checks c WHERE c.group_name = report_monitoring.group_name
						 ORDER BY c.id DESC LIMIT 1), 'none yet')])
	  FROM (SELECT report_monitoring.group_name) x
	  LEFT JOIN featstore.monitor_settings m ON m.group_name = report_monitoring.group_name;
END;
COMMENT ON FUNCTION featstore.report_monitoring(text, timestamptz[], timestamptz[]) IS 'The monitoring report''s card of the group''s monitoring settings and last runs';

-- The group's header: its name and overall status (featstore.group_health's,
-- with the open alerts), then the cards
CREATE FUNCTION featstore.report_header(g featstore.feature_groups, starts timestamptz[], ends timestamptz[])
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $header$
DECLARE
	h featstore.group_health;
	status text;
BEGIN
	SELECT * INTO h FROM featstore.group_health gh WHERE gh.group_name = g.name;
	status := coalesce(h.status, 'unknown');
	RETURN format('<header class="top"><div><h1>%s</h1><p class="sub">featstore monitoring report · feature group</p></div>'
				  '<div class="status st-%s">%s</div></header><div class="cards">%s%s%s</div>',
				  featstore.html_escape(g.name),
				  CASE status WHEN 'ok' THEN 'ok' WHEN 'alert' THEN 'alert' ELSE 'unknown' END,
				  upper(featstore.html_escape(status))
					|| CASE WHEN h.open_alerts = 1 THEN ' · 1 open alert'
							WHEN h.open_alerts > 1 THEN ' · ' || h.open_alerts || ' open alerts' ELSE '' END
					|| CASE WHEN h.freshness_met = false THEN ' · SLA breached' ELSE '' END,
				  featstore.report_definition(g), featstore.report_freshness(h),
				  featstore.report_monitoring(g.name, starts, ends));
END
$header$;
COMMENT ON FUNCTION featstore.report_header(featstore.feature_groups, timestamptz[], timestamptz[]) IS 'The monitoring report''s header: the group, its status and the cards of its definition, freshness and monitoring';

-- An alert's details for people: each field of the JSON object in turn, a
-- list of tests as "test statistic (threshold t)", times in UTC, an age
-- (a number of seconds named age or *_seconds) as a duration, numbers
-- with four digits, anything else as JSON cut at 200 characters.  Not
-- escaped: the caller escapes.
CREATE FUNCTION featstore.report_alert_details(details jsonb)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN jsonb_typeof(details) <> 'object' THEN left(details::text, 200)
		   ELSE (SELECT string_agg(e.key || ': ' || CASE
					WHEN jsonb_typeof(e.value) = 'array' AND jsonb_typeof(e.value -> 0) = 'object'
						 AND e.value -> 0 ? 'test'
						THEN (SELECT string_agg(concat_ws(' ', t ->> 'test',
														  CASE WHEN jsonb_typeof(t -> 'statistic') = 'number'
															   THEN featstore.report_num((t ->> 'statistic')::float8)
															   ELSE t ->> 'statistic' END,
														  CASE WHEN jsonb_typeof(t -> 'threshold') = 'number'
															   THEN '(threshold ' || featstore.report_num((t ->> 'threshold')::float8) || ')' END),
											  ', ')
								FROM jsonb_array_elements(e.value) AS t)
					WHEN jsonb_typeof(e.value) = 'number' AND (e.key = 'age' OR e.key LIKE '%\_seconds')
						THEN featstore.report_interval(make_interval(secs => (e.value #>> '{}')::float8))
					WHEN jsonb_typeof(e.value) = 'number' THEN featstore.report_num((e.value #>> '{}')::float8)
					WHEN jsonb_typeof(e.value) = 'string'
						 AND (e.value #>> '{}') ~ '^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d(:\d\d)?|Z)$'
						THEN featstore.report_ts((e.value #>> '{}')::timestamptz)
					WHEN jsonb_typeof(e.value) = 'string' THEN left(e.value #>> '{}', 200)
					ELSE left(e.value::text, 200) END,
				 ' · ' ORDER BY CASE e.key WHEN 'period_start' THEN 0 WHEN 'tests' THEN 1 ELSE 2 END, e.key)
				   FROM jsonb_each(details) AS e) END;
END;
COMMENT ON FUNCTION featstore.report_alert_details(jsonb) IS 'An alert''s details as the monitoring report prints them (not escaped)';

-- The group's open alerts the caller may see, newest first
CREATE FUNCTION featstore.report_alerts(group_name text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT format('<h2>Open alerts (%s)</h2>', count(a.*))
		|| CASE WHEN count(a.*) = 0 THEN '<p class="ok">No open alert.</p>'
		   ELSE '<table class="alerts"><tr><th>kind</th><th>feature</th><th>since</th><th>last seen</th><th>details</th></tr>'
				|| string_agg(format('<tr class="alert"><td class="kind">%s</td><td>%s</td><td class="ts">%s</td><td class="ts">%s</td><td>%s</td></tr>',
									 featstore.html_escape(a.kind), featstore.html_escape(coalesce(a.feature_name::text, '(group)')),
									 featstore.report_ts(a.since), featstore.report_ts(a.last_seen),
									 featstore.html_escape(featstore.report_alert_details(a.details))),
							  '' ORDER BY a.since DESC, a.id DESC)
				|| '</table>' END
	  FROM featstore.alerts a
	 WHERE a.group_name = report_alerts.group_name AND a.resolved_at IS NULL;
END;
COMMENT ON FUNCTION featstore.report_alerts(text) IS 'The monitoring report''s table of the group''s open alerts';

-- Refuses a report the caller may not have: a group it may not see.  The
-- statistics, alerts and runs describe the group's data, so the rule is
-- featstore.group_visible's, the policies' own.
CREATE FUNCTION featstore.report_check(group_name text, "from" timestamptz, "to" timestamptz)
RETURNS featstore.feature_groups
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $check$
DECLARE
	g featstore.feature_groups;
	tab text;
	rel oid;
BEGIN
	IF group_name IS NULL THEN
		RAISE EXCEPTION 'feature group name of the monitoring report must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Call featstore.monitoring_report(''group_name'').';
	END IF;
	SELECT * INTO g FROM featstore.feature_groups fg WHERE fg.name = report_check.group_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'feature group "%" does not exist', group_name
			USING ERRCODE = 'undefined_object',
				  HINT = 'featstore.feature_groups lists the defined groups.';
	END IF;
	IF "from" >= "to" THEN
		RAISE EXCEPTION 'monitoring report range is empty: from % is not before to %', "from", "to"
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass from < to, or NULL for both to get the last 30 periods with statistics.';
	END IF;
	IF NOT featstore.group_visible(g.name) THEN
		tab := quote_ident(g.schema_name) || '.' || quote_ident(g.table_name);
		-- by oid: a name would need USAGE on the schema to be looked up
		SELECT c.oid INTO rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = g.schema_name AND c.relname = g.table_name;
		IF rel IS NOT NULL AND has_any_column_privilege(rel, 'SELECT') AND row_security_active(rel) THEN
			RAISE EXCEPTION 'permission denied to read the monitoring of feature group "%"', g.name
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = format('Row-level security of %s applies to role %s; the statistics describe rows it cannot see.',
									  tab, current_user),
					  HINT = 'Ask for the report as the table''s owner or as a role with BYPASSRLS.';
		END IF;
		RAISE EXCEPTION 'permission denied to read the monitoring of feature group "%"', g.name
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Role %s may not SELECT from the group''s table %s%s.', current_user, tab,
								  CASE WHEN g.kind = 'source' THEN ' or its source' ELSE '' END),
				  HINT = format('The owner of %s can run GRANT SELECT ON %s TO %s.', tab, tab, quote_ident(current_user));
	END IF;
	RETURN g;
END
$check$;
COMMENT ON FUNCTION featstore.report_check(text, timestamptz, timestamptz) IS 'The monitoring report''s checks of its arguments and of the caller''s right to see the group';

CREATE FUNCTION featstore.monitoring_report(group_name text, "from" timestamptz DEFAULT NULL,
											"to" timestamptz DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $report$
DECLARE
	g featstore.feature_groups := featstore.report_check(group_name, "from", "to");
	starts timestamptz[];
	ends timestamptz[];
	f record;
	hidden integer := 0;
	hidden_pii integer := 0;
	reader boolean := EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = 'featstore_pii_reader'
										  AND pg_has_role(r.oid, 'MEMBER'));
	tests jsonb;
	out text;
BEGIN
	-- the periods: the last 30 with statistics, or those starting in [from, to)
	SELECT array_agg(p.ps ORDER BY p.ps), array_agg(p.pe ORDER BY p.ps) INTO starts, ends
	  FROM (SELECT DISTINCT s.period_start AS ps, s.period_end AS pe
			  FROM featstore.feature_stats s
			 WHERE s.group_name = g.name AND s.scope = 'period' AND s.label = ''
			   AND (s.period_start >= "from" OR "from" IS NULL)
			   AND (s.period_start < "to" OR "to" IS NULL)
			 ORDER BY 1 DESC
			 LIMIT CASE WHEN "from" IS NULL THEN 30 ELSE 1000 END) p;
	-- the current period's drift tests, of every feature the caller may see
	IF starts IS NOT NULL THEN
		SELECT coalesce(jsonb_agg(to_jsonb(d)), '[]') INTO tests
		  FROM featstore.drift_tests(g.name, starts[cardinality(starts)], ends[cardinality(ends)]) d;
	END IF;
	out := featstore.report_head(g.name) || featstore.report_header(g, starts, ends)
		|| featstore.report_alerts(g.name)
		|| '<h2>Features</h2>';
	FOR f IN SELECT ft.name, ft.data_type, ft.description, ft.pii FROM featstore.features ft
			  WHERE ft.group_name = g.name AND ft.status = 'active' ORDER BY ft.position LOOP
		IF NOT featstore.feature_visible(g.name, f.name) AND f.pii AND NOT reader THEN
			hidden_pii := hidden_pii + 1;
		ELSIF NOT featstore.feature_visible(g.name, f.name) THEN
			hidden := hidden + 1;
		ELSIF starts IS NULL THEN
			out := out || format('<article class="feature" data-feature="%s"><h3>%s <span class="type">%s</span></h3>'
								 '<p class="empty">No statistics in the report''s range.</p></article>',
								 featstore.html_escape(f.name), featstore.html_escape(f.name),
								 featstore.html_escape(f.data_type));
		ELSE
			out := out || featstore.report_feature(g.name, f.name, f.data_type, f.description, starts, ends, tests);
		END IF;
	END LOOP;
	IF hidden > 0 THEN
		out := out || format('<p class="empty">%s feature(s) left out: role %s may not SELECT their columns.</p>',
							 hidden, featstore.html_escape(current_user));
	END IF;
	IF hidden_pii > 0 THEN
		out := out || format('<p class="empty">%s PII feature(s) left out: role %s is not a member of featstore_pii_reader.</p>',
							 hidden_pii, featstore.html_escape(current_user));
	END IF;
	RETURN out || format('<footer>featstore.monitoring_report(%s) as role %s at %s. Times are UTC.</footer></body></html>',
						 featstore.html_escape(quote_literal(g.name)), featstore.html_escape(current_user),
						 featstore.report_ts(now()));
END
$report$;
COMMENT ON FUNCTION featstore.monitoring_report(text, timestamptz, timestamptz) IS 'One standalone HTML page (inline CSS and SVG, no external asset) on a feature group''s monitoring: status, open alerts, runs, and per feature its histogram against the baseline, its mean and null rate over time with their bands; read as the caller (docs/monitoring.md)';

DO $grants$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN
		SELECT p.oid::regprocedure
		  FROM pg_catalog.pg_proc p
		 WHERE p.pronamespace = 'featstore'::regnamespace
		   AND (p.proname = 'monitoring_report' OR p.proname = 'html_escape' OR p.proname LIKE 'report\_%')
	LOOP
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO featstore_reader', f);
	END LOOP;
END
$grants$;
-- <<< issue 11, part report

-- ---- issue 12: src/sql/60_training.sql, identically ----
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

-- ---- issue 12: src/sql/62_backfill.sql, identically ----
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

-- ---- issue 12: src/sql/64_pii.sql, identically ----
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

-- perdb13 (issue 13): online namespaces, one worker per database; the same objects as src/sql/42_namespace.sql.

CREATE TABLE featstore.online_namespace (
	is_default	boolean PRIMARY KEY,
	namespace	text NOT NULL CHECK (pg_catalog.octet_length(namespace) <= 128),
	set_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	set_by		name NOT NULL DEFAULT SESSION_USER
);
COMMENT ON TABLE featstore.online_namespace IS 'The namespace of this database''s Redis keys: the row set by set_online_namespace() (or kept by an upgrade from 0.2.0) if any, else the default one, the database''s name at CREATE EXTENSION';
COMMENT ON COLUMN featstore.online_namespace.is_default IS 'true: the row CREATE EXTENSION wrote; false: the row set_online_namespace() or the upgrade from 0.2.0 wrote, which wins and is the one pg_dump keeps';
COMMENT ON COLUMN featstore.online_namespace.namespace IS 'The namespace; empty: the legacy layout <prefix>:{<entity>:<keys>}:<group> of 0.2.0';
COMMENT ON COLUMN featstore.online_namespace.set_at IS 'When it was set';
COMMENT ON COLUMN featstore.online_namespace.set_by IS 'Session role that set it';
SELECT pg_catalog.pg_extension_config_dump('featstore.online_namespace', 'WHERE NOT is_default');
REVOKE ALL ON featstore.online_namespace FROM PUBLIC;
GRANT SELECT ON featstore.online_namespace TO featstore_reader;

CREATE TABLE featstore.online_namespace_history (
	changed_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	changed_by	name NOT NULL DEFAULT SESSION_USER,
	old_namespace text NOT NULL,
	new_namespace text NOT NULL,
	groups_moved integer NOT NULL
);
COMMENT ON TABLE featstore.online_namespace_history IS 'Audit trail of set_online_namespace(): one row per change of the namespace';
COMMENT ON COLUMN featstore.online_namespace_history.changed_at IS 'Start time of the transaction that changed it';
COMMENT ON COLUMN featstore.online_namespace_history.changed_by IS 'Session role that changed it';
COMMENT ON COLUMN featstore.online_namespace_history.old_namespace IS 'The namespace before, whose keys the worker purges';
COMMENT ON COLUMN featstore.online_namespace_history.new_namespace IS 'The namespace after, under which the worker rewrites every online group';
COMMENT ON COLUMN featstore.online_namespace_history.groups_moved IS 'Online groups queued for the move';
SELECT pg_catalog.pg_extension_config_dump('featstore.online_namespace_history', '');
REVOKE ALL ON featstore.online_namespace_history FROM PUBLIC;
GRANT SELECT ON featstore.online_namespace_history TO featstore_reader;

ALTER TABLE featstore.online_queue ADD COLUMN namespace text;
COMMENT ON COLUMN featstore.online_queue.namespace IS 'purge: the namespace whose keys of the group go, as it was when the purge was queued (NULL: the current one)';

CREATE FUNCTION featstore.online_namespace()
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT n.namespace FROM featstore.online_namespace n ORDER BY n.is_default LIMIT 1
$$;
COMMENT ON FUNCTION featstore.online_namespace() IS 'The namespace of this database''s Redis keys, <prefix>:<namespace>:{<entity>:<keys>}:<group>; empty: the legacy layout <prefix>:{<entity>:<keys>}:<group>';
REVOKE ALL ON FUNCTION featstore.online_namespace() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_namespace() TO featstore_reader;

CREATE FUNCTION featstore.set_online_namespace(namespace text)
RETURNS integer
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'set_online_namespace';
COMMENT ON FUNCTION featstore.set_online_namespace(text) IS 'Move this database''s Redis keys to another namespace: the worker rewrites every online group under it and purges the old namespace''s keys; returns how many online groups move.  Needs the extension owner or featstore_admin';
-- Callable by all; the function itself admits the extension owner and members
-- of featstore_admin only (the role is optional: created by the administrator).

-- One online worker and one monitor worker per database (issue 13): what the
-- launcher does with each database it follows, from shared memory.
CREATE FUNCTION featstore.online_databases()
RETURNS TABLE (database name, state text, worker_pid integer, monitor_pid integer)
LANGUAGE C
AS 'MODULE_PATHNAME', 'online_databases';
COMMENT ON FUNCTION featstore.online_databases() IS 'The databases the online launcher follows (those featstore.database admits): served (with the pids of their online and monitor workers), not served because featstore.max_online_workers are taken, featstore not installed, looking for featstore, stopping';
REVOKE ALL ON FUNCTION featstore.online_databases() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.online_databases() TO featstore_reader;

-- An upgraded database keeps the legacy layout, so the keys its 0.2.0 worker
-- wrote stay valid; set_online_namespace() moves them when wanted.
INSERT INTO featstore.online_namespace (is_default, namespace) VALUES (false, '');
-- ---- issue 13 (cluster13): src/sql/44_redis_cluster.sql, identically ----
-- Redis Cluster (issue 13): the slot a key hashes to, as CLUSTER KEYSLOT
-- answers (CRC16 of the key's hash tag, modulo 16384).  featstore's keys
-- carry the entity as their hash tag, so every group of one entity shares
-- a slot; this lets tests and users check where a key lives.
CREATE FUNCTION featstore.redis_key_slot(key text)
RETURNS integer
AS 'MODULE_PATHNAME', 'featstore_redis_key_slot'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION featstore.redis_key_slot(text) IS 'The Redis Cluster slot of a key (0 to 16383): CRC16 of its hash tag, or of the whole key without one, as CLUSTER KEYSLOT';

-- ---- issue 13 (lead): src/sql/46_online_wait.sql, identically ----
-- wait_for_online(): block until the worker has written every change this
-- database has queued so far, for scripts, tests and the README's tour that
-- read Redis right after a commit (docs/online-store.md, Functions).
CREATE FUNCTION featstore.wait_for_online(timeout interval DEFAULT '30 seconds')
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	deadline timestamptz;
BEGIN
	IF timeout IS NULL OR timeout < interval '0' OR timeout > interval '1 hour' THEN
		RAISE EXCEPTION 'timeout "%" of wait_for_online is out of range', coalesce(timeout::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass an interval from 0 to 1 hour, such as interval ''10 seconds''.';
	END IF;
	deadline := clock_timestamp() + timeout;
	LOOP
		-- each statement reads a new snapshot (READ COMMITTED): a queue row
		-- disappears when the worker's transaction that wrote it to Redis commits
		IF NOT EXISTS (SELECT 1 FROM featstore.online_queue_depth()) THEN
			RETURN true;
		END IF;
		IF clock_timestamp() >= deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END
$$;
COMMENT ON FUNCTION featstore.wait_for_online(interval) IS 'Waits until the online worker has written every change queued in this database (future-dated revisits and parked rows excepted): true, or false when timeout passed first';
REVOKE ALL ON FUNCTION featstore.wait_for_online(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION featstore.wait_for_online(interval) TO featstore_reader;

-- part14 (issue 14): partitioned history, as src/sql/48_partitions.sql
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
-- end of part14

-- The point-in-time join's window strategy may read a source group's
-- events in parallel workers (docs/pit-join.md): a query that names the
-- group's view must not lose parallel mode to the view's function, which
-- itself still runs only in the leader.
ALTER FUNCTION featstore.window_timeline(text) PARALLEL RESTRICTED;

-- part shard14 (issue 14, sharded history): src/sql/68_shards.sql
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
-- end of part shard14
