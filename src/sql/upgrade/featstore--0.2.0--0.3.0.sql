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

CREATE FUNCTION featstore.check_feature_group(name text)
RETURNS void AS 'MODULE_PATHNAME', 'featstore_check_feature_group' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION featstore.check_feature_group(text) IS 'Raises an error naming the column if a feature group''s history table is not a plain table with the keys, timestamps and features of the registry''s types';

-- pit_join_sql checks each group's table before it joins it (one PERFORM
-- after the table lookup; the body is otherwise 0.2.0's)
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
		-- nothing is read from a table that lost the registry's shape
		PERFORM featstore.check_feature_group(v_groups[v_i]);
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
