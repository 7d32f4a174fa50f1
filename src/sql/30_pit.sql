-- featstore point-in-time join: the as-of marker, and pit_join() built on it.
-- See docs/pit-join.md.

CREATE FUNCTION featstore.pit_match_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'pit_match_support'
LANGUAGE C STRICT;
COMMENT ON FUNCTION featstore.pit_match_support(internal) IS
'Planner support for pit_match: loads featstore''s planner hooks before the first marker join is planned';

CREATE FUNCTION featstore.pit_match(
	event_ts timestamptz,
	created_at timestamptz,
	spine_ts timestamptz,
	ttl interval DEFAULT NULL,
	as_of timestamptz DEFAULT NULL,
	strict boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pit_match'
LANGUAGE C STABLE PARALLEL SAFE COST 1000
SUPPORT featstore.pit_match_support;
COMMENT ON FUNCTION featstore.pit_match(timestamptz, timestamptz, timestamptz, interval, timestamptz, boolean) IS
'As-of marker for a point-in-time join: put it in a join''s ON clause next to the key equalities, as pit_match(f.event_timestamp, f.created_at, s.ts, ttl, as_of, strict); the PitJoin node implements it and it raises an error if evaluated anywhere else';

CREATE FUNCTION featstore.pit_describe(from_item text)
RETURNS TABLE (column_name text, data_type regtype)
AS 'MODULE_PATHNAME', 'pit_describe'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION featstore.pit_describe(text) IS
'Internal to pit_join: the columns a FROM item produces, read from its plan without fetching rows';

CREATE FUNCTION featstore.pit_spine_from(spine text)
RETURNS text
AS 'MODULE_PATHNAME', 'pit_spine_from'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION featstore.pit_spine_from(text) IS
'Internal to pit_join: the spine as a FROM item, a relation name resolved and schema-qualified, or exactly one query that only reads, checked before anything runs';

-- pit_join_sql writes the point-in-time join for a spine and a list of
-- features as one SQL query: the spine's columns, then the features, each
-- group joined on its entity keys with the as-of marker.  pit_join() runs it;
-- it is also the body of the views create_pit_view() makes.
--
-- pit_join_sql, pit_join and create_pit_view run on the caller's
-- search_path, because the spine and the view name are the caller's names.
-- So every function, operator and type in their bodies, and in the SQL they
-- write, is schema-qualified: nothing a caller's schema holds can take the
-- place of a built-in.  Every other SQL function of featstore pins
-- search_path = pg_catalog, pg_temp instead.
CREATE FUNCTION featstore.pit_join_sql(
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
COMMENT ON FUNCTION featstore.pit_join_sql(text, text[], text, text, timestamptz, boolean, boolean) IS
'The SQL of a point-in-time join: spine columns, then the requested features, each group joined with the as-of marker (see docs/pit-join.md)';

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

-- pit_join returns the point-in-time training set for a spine: one row per
-- spine row, the spine's columns then the features.  The first argument only
-- gives the result its row type (NULL::a_view_or_type), so that SELECT *
-- has real typed columns without a column definition list.
CREATE FUNCTION featstore.pit_join(
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
