-- A role with CREATE on public plants exact-typed look-alikes of the
-- built-ins featstore's SQL functions call (functions, an aggregate,
-- operators), each recording who ran it.  A superuser then calls every
-- featstore function that takes names, with the default search_path and
-- with public ahead of pg_catalog: none of the plants may run.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never

CREATE SCHEMA pit_sp;
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY sp_user (user_id text);
	CREATE FEATURE GROUP pit_sp.sp_g ENTITY sp_user FEATURES (v bigint, w bigint) TTL '1 day';
	CREATE FEATURE SERVICE sp_svc FEATURES (sp_g.v);
$$);
INSERT INTO pit_sp.sp_g (user_id, event_timestamp, created_at, v, w) VALUES
	('u1', '2024-01-10', '2024-01-10', 1, 10),
	('u2', '2024-01-10', '2024-01-10', 2, 20);
CREATE TABLE pit_sp.spine (id int, user_id text, ts timestamptz);
INSERT INTO pit_sp.spine VALUES (1, 'u1', '2024-01-10 12:00'), (2, 'u2', '2024-01-12'), (3, 'u3', '2024-01-10');

-- the attacker
CREATE ROLE fs_sp_mallory;
GRANT CREATE ON SCHEMA public TO fs_sp_mallory;
SET ROLE fs_sp_mallory;
CREATE TABLE public.sp_pwned (who name, what text);
GRANT INSERT ON public.sp_pwned TO PUBLIC;

-- functions whose built-in is polymorphic, variadic or has a default:
-- the exact-typed plant wins on the default search_path
CREATE FUNCTION public.cardinality(text[]) RETURNS int LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'cardinality(text[])'); SELECT pg_catalog.cardinality($1) $$;
CREATE FUNCTION public.array_position(text[], text) RETURNS int LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'array_position(text[], text)'); SELECT pg_catalog.array_position($1, $2) $$;
CREATE FUNCTION public.array_length(text[], int) RETURNS int LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'array_length(text[], int)'); SELECT pg_catalog.array_length($1, $2) $$;
CREATE FUNCTION public.array_to_string(text[], text) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'array_to_string(text[], text)'); SELECT pg_catalog.array_to_string($1, $2) $$;
CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'unnest(text[])'); SELECT pg_catalog.unnest($1) $$;
CREATE FUNCTION public.unnest(regtype[]) RETURNS SETOF regtype LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'unnest(regtype[])'); SELECT pg_catalog.unnest($1) $$;
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'format(text, text)'); SELECT pg_catalog.format($1, $2) $$;
CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'format(text, text, text)'); SELECT pg_catalog.format($1, $2, $3) $$;
CREATE FUNCTION public.quote_literal(interval) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'quote_literal(interval)'); SELECT pg_catalog.quote_literal($1) $$;
CREATE FUNCTION public.quote_literal(timestamptz) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'quote_literal(timestamptz)'); SELECT pg_catalog.quote_literal($1) $$;
CREATE FUNCTION public.parse_ident(text) RETURNS text[] LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'parse_ident(text)'); SELECT pg_catalog.parse_ident($1) $$;
CREATE FUNCTION public.pg_typeof(anyelement) RETURNS regtype LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'pg_typeof(anyelement)'); SELECT pg_catalog.pg_typeof($1) $$;
CREATE FUNCTION public.sp_agg(text[], text) RETURNS text[] LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'array_agg(text)'); SELECT pg_catalog.array_append($1, $2) $$;
CREATE AGGREGATE public.array_agg(text) (SFUNC = public.sp_agg, STYPE = text[]);
-- operators: text[] = text[], text[] || text, text || integer, regtype = regtype
CREATE FUNCTION public.sp_arr_eq(text[], text[]) RETURNS boolean LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'text[] = text[]'); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = text[], RIGHTARG = text[], FUNCTION = public.sp_arr_eq);
CREATE FUNCTION public.sp_arr_cat(text[], text) RETURNS text[] LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'text[] || text'); SELECT pg_catalog.array_append($1, $2) $$;
CREATE OPERATOR public.|| (LEFTARG = text[], RIGHTARG = text, FUNCTION = public.sp_arr_cat);
CREATE FUNCTION public.sp_int_cat(text, int) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'text || integer'); SELECT pg_catalog.textcat($1, $2::text) $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = int, FUNCTION = public.sp_int_cat);
CREATE FUNCTION public.sp_type_ne(regtype, regtype) RETURNS boolean LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'regtype <> regtype'); SELECT $1::oid OPERATOR(pg_catalog.<>) $2::oid $$;
CREATE OPERATOR public.<> (LEFTARG = regtype, RIGHTARG = regtype, FUNCTION = public.sp_type_ne);
CREATE FUNCTION public.sp_type_eq(regtype, regtype) RETURNS boolean LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'regtype = regtype'); SELECT $1::oid OPERATOR(pg_catalog.=) $2::oid $$;
CREATE OPERATOR public.= (LEFTARG = regtype, RIGHTARG = regtype, FUNCTION = public.sp_type_eq);

-- exact copies of built-in signatures: they win only when the caller puts
-- public ahead of pg_catalog
CREATE FUNCTION public.btrim(text) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'btrim(text)'); SELECT pg_catalog.btrim($1) $$;
CREATE FUNCTION public.strpos(text, text) RETURNS int LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'strpos(text, text)'); SELECT pg_catalog.strpos($1, $2) $$;
CREATE FUNCTION public.split_part(text, text, int) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'split_part(text, text, int)'); SELECT pg_catalog.split_part($1, $2, $3) $$;
CREATE FUNCTION public.substr(text, int) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'substr(text, int)'); SELECT pg_catalog.substr($1, $2) $$;
CREATE FUNCTION public.quote_ident(text) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'quote_ident(text)'); SELECT pg_catalog.quote_ident($1) $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'now()'); SELECT pg_catalog.now() $$;
CREATE FUNCTION public.sp_text_eq(text, text) RETURNS boolean LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'text = text'); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.sp_text_eq);
CREATE FUNCTION public.sp_text_cat(text, text) RETURNS text LANGUAGE sql AS
$$ INSERT INTO public.sp_pwned VALUES (current_user, 'text || text'); SELECT pg_catalog.textcat($1, $2) $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.sp_text_cat);
RESET ROLE;

-- the plants work: called unqualified, they run as the caller
SELECT cardinality(ARRAY['a']::text[]) AS planted_cardinality;
SELECT DISTINCT who, what FROM public.sp_pwned ORDER BY what;
TRUNCATE public.sp_pwned;

-- a superuser calls featstore on the default search_path ("$user", public)
SHOW search_path;
SELECT featstore.pit_join_sql('pit_sp.spine', '{sp_g}');
SELECT featstore.pit_join_sql('SELECT id, user_id, ts FROM pit_sp.spine', '{sp_g.w}', service => 'sp_svc',
							  spine_ts => 'ts', as_of => '2025-01-01', strict => true, qualified => true) IS NOT NULL AS written;
SELECT featstore.create_pit_view('pit_sp.sp_view', 'pit_sp.spine', '{sp_g}');
SELECT featstore.create_pit_view('pit_sp.sp_view_q', 'SELECT * FROM pit_sp.spine', '{sp_g.v, sp_g.w}', qualified => true);
SELECT * FROM featstore.pit_join(NULL::pit_sp.sp_view, 'pit_sp.spine', '{sp_g}') ORDER BY id;
SELECT * FROM pit_sp.sp_view_q ORDER BY id;
-- the error paths format their hints too
SELECT featstore.pit_join_sql('pit_sp.spine', '{sp_g.nope}');
SELECT featstore.pit_join_sql('pit_sp.spine', '{sp_g}', spine_ts => 'nope');
SELECT featstore.pit_join_sql('SELECT id, user_id FROM pit_sp.spine', '{sp_g}');
SELECT * FROM featstore.pit_join(NULL::pit_sp.spine, 'pit_sp.spine', '{sp_g}');
SELECT count(*) >= 0 AS searched FROM featstore.search('sp_g');
SELECT count(*) >= 0 AS queue_read FROM featstore.online_queue_depth();
-- pit_join without its prototype, and create_pit_view's or_replace: the
-- same columns, other columns (dropped and created again, grants kept) and
-- a dependent view in the way
SELECT * FROM featstore.pit_join('pit_sp.spine', features => '{sp_g}', as_of => '2025-01-01', strict => true);
SELECT featstore.create_pit_view('pit_sp.sp_view', 'pit_sp.spine', '{sp_g}', or_replace => true);
GRANT SELECT ON pit_sp.sp_view TO PUBLIC;
COMMENT ON VIEW pit_sp.sp_view IS 'sp';
SELECT featstore.create_pit_view('pit_sp.sp_view', 'pit_sp.spine', '{sp_g.w}', or_replace => true);
SELECT relacl, obj_description(oid, 'pg_class') FROM pg_class WHERE oid = 'pit_sp.sp_view'::regclass;
CREATE VIEW pit_sp.sp_dep AS SELECT * FROM pit_sp.sp_view;
SELECT featstore.create_pit_view('pit_sp.sp_view', 'pit_sp.spine', '{sp_g.v}', or_replace => true);
DROP VIEW pit_sp.sp_dep;
SELECT DISTINCT who, what FROM public.sp_pwned ORDER BY what;

-- the same with public ahead of pg_catalog, where exact copies of
-- built-in signatures win too
SET search_path = public, pg_catalog;
SELECT featstore.pit_join_sql('pit_sp.spine', '{sp_g.v}', service => 'sp_svc', qualified => true);
SELECT featstore.create_pit_view('pit_sp.sp_view_p', 'SELECT id, user_id, ts FROM pit_sp.spine', '{sp_g.v}');
SELECT * FROM featstore.pit_join(NULL::pit_sp.sp_view_p, 'pit_sp.spine', '{sp_g.v}') ORDER BY id;
SELECT featstore.pit_join_sql('pit_sp.spine', '{sp_g.nope}');
SELECT featstore.pit_join_sql('pit_sp.spine', '{sp_g}', as_of => '2999-01-01');
SELECT count(*) >= 0 AS searched FROM featstore.search('sp_g');
SELECT * FROM featstore.pit_join('SELECT * FROM pit_sp.spine', service => 'sp_svc', qualified => true);
SELECT featstore.create_pit_view('pit_sp.sp_view_p', 'SELECT id, user_id, ts FROM pit_sp.spine', '{sp_g.w}', or_replace => true);
CREATE VIEW pit_sp.sp_dep AS SELECT * FROM pit_sp.sp_view_p;
SELECT featstore.create_pit_view('pit_sp.sp_view_p', 'SELECT id, user_id, ts FROM pit_sp.spine', '{sp_g.v}', or_replace => true);
DROP VIEW pit_sp.sp_dep;
SELECT DISTINCT who, what FROM public.sp_pwned ORDER BY what;
RESET search_path;

-- every SQL-language and PL/pgSQL function of featstore pins its
-- search_path, but for the three that resolve the caller's names (and
-- qualify everything instead)
SELECT p.proname, l.lanname
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'featstore'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
   AND p.proconfig IS DISTINCT FROM '{"search_path=pg_catalog, pg_temp"}'
 ORDER BY p.proname COLLATE "C";

-- clean up
DROP VIEW pit_sp.sp_view, pit_sp.sp_view_q, pit_sp.sp_view_p;
SET client_min_messages = warning;
SELECT command FROM featstore.exec($$
	DROP FEATURE SERVICE sp_svc;
	DROP FEATURE GROUP sp_g;
	DROP ENTITY sp_user;
$$);
RESET client_min_messages;
DROP SCHEMA pit_sp CASCADE;
DROP OWNED BY fs_sp_mallory;
DROP ROLE fs_sp_mallory;
