-- pit_join() inlined (issue 14): a FROM-clause call with constant arguments
-- is planned as the marker join it writes.  Each inlined call is compared
-- with the plpgsql path (featstore.pit_join_inline = off) on randomized
-- data: same columns (names, types, order), same rows; the ordinary groups
-- also against a LATERAL oracle.  Then when it is not inlined, the plan
-- cache (PREPARE/EXECUTE across ADD FEATURE, a service change, DROP and
-- CREATE of the group, search_path, roles), views, functions, privileges,
-- RLS, PII, EXPLAIN.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
SET TimeZone = 'UTC';
CREATE SCHEMA pit_inl;
SET search_path = pit_inl, public;
\set SHOW_CONTEXT never

DO LANGUAGE featstore $$
CREATE ENTITY inl_user (user_id text);
CREATE ENTITY inl_pair (a integer, b integer);
CREATE FEATURE GROUP inl_u ENTITY inl_user FEATURES (v bigint, w double precision, email text PII) TTL '2 days';
CREATE FEATURE GROUP inl_p ENTITY inl_pair FEATURES (x integer, y text);
$$;
CREATE TABLE inl_tx (user_id text, event_time timestamptz, ingested_at timestamptz, amt integer);
DO LANGUAGE featstore $$
CREATE FEATURE GROUP inl_w ENTITY inl_user FROM inl_tx TIMESTAMP event_time CREATED ingested_at
    FEATURES (n_1h bigint AS count(*) OVER '1 hour', s_1d bigint AS sum(amt) OVER '1 day');
CREATE FEATURE SERVICE inl_svc FEATURES (inl_u.v, inl_u.email, inl_p.*, inl_w.n_1h);
$$;

-- randomized data: event times on a minute grid (ties), created_at to the
-- microsecond (no full ties), keys from small domains, NULL spine keys and ts
SELECT setseed(0.14);
INSERT INTO inl_u
SELECT 'u' || floor(random() * 30)::int, e, e + random() * interval '3 days',
	   (random() * 1000)::bigint, random(), 'm' || i || '@x'
  FROM (SELECT i, '2024-01-01'::timestamptz + floor(random() * 14400) * interval '1 minute' AS e
		  FROM generate_series(1, 3000) i) d;
INSERT INTO inl_p
SELECT floor(random() * 6)::int, floor(random() * 6)::int, e, e + random() * interval '1 day',
	   (random() * 100)::int, 'y' || i
  FROM (SELECT i, '2024-01-01'::timestamptz + floor(random() * 14400) * interval '1 minute' AS e
		  FROM generate_series(1, 2000) i) d;
INSERT INTO inl_tx
SELECT 'u' || floor(random() * 30)::int, e, e + random() * interval '2 hours', (random() * 50)::int
  FROM (SELECT '2024-01-01'::timestamptz + floor(random() * 14400) * interval '1 minute' AS e
		  FROM generate_series(1, 3000) i) d;
CREATE TABLE inl_spine (id integer, user_id text, a integer, b integer, ts timestamptz);
INSERT INTO inl_spine
SELECT i, CASE WHEN i % 37 = 0 THEN NULL ELSE 'u' || floor(random() * 33)::int END,
	   floor(random() * 7)::int, floor(random() * 7)::int,
	   CASE WHEN i % 41 = 0 THEN NULL
			ELSE '2024-01-01'::timestamptz + floor(random() * 15000) * interval '1 minute' END
  FROM generate_series(1, 500) i;
ANALYZE inl_u;
ANALYZE inl_p;
ANALYZE inl_tx;
ANALYZE inl_spine;

-- prototypes, one per option set
SELECT featstore.create_pit_view('inl_up', 'inl_spine', '{inl_u,inl_p}');
SELECT featstore.create_pit_view('inl_upq', 'inl_spine', '{inl_u,inl_p}', qualified => true);
SELECT featstore.create_pit_view('inl_mix', 'inl_spine', '{inl_p.y,inl_w,inl_u.email,inl_u.v}');
SELECT featstore.create_pit_view('inl_svc_row', 'inl_spine', service => 'inl_svc');
SELECT featstore.create_pit_view('inl_v_only', 'inl_spine', '{inl_u.v}');
SELECT featstore.create_pit_view('inl_q', 'SELECT id, user_id, ts AS t FROM inl_spine WHERE id % 3 <> 0', '{inl_u.w}');

-- inl_plan: the plan of a statement, one line
CREATE FUNCTION inl_plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	p text := '';
BEGIN
	FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		p := p || r."QUERY PLAN" || E'\n';
	END LOOP;
	RETURN p;
END $$;

-- inl_compare: runs q inlined and through plpgsql; the plan of each, the
-- rows, the rows of one not in the other (both ways, with duplicates), and
-- whether the result columns (names, types, order) are the same
CREATE FUNCTION inl_compare(q text, OUT inlined boolean, OUT plpgsql boolean, OUT n bigint,
							OUT only_inlined bigint, OUT only_plpgsql bigint, OUT same_columns boolean)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('featstore.pit_join_inline', 'on', true);
	inlined := inl_plan(q) ~ 'Custom Scan \(PitJoin\)' AND inl_plan(q) !~ 'Function Scan';
	EXECUTE 'CREATE TEMP TABLE inl_a AS ' || q;
	PERFORM set_config('featstore.pit_join_inline', 'off', true);
	plpgsql := inl_plan(q) ~ 'Function Scan on pit_join';
	EXECUTE 'CREATE TEMP TABLE inl_b AS ' || q;
	PERFORM set_config('featstore.pit_join_inline', 'on', true);
	SELECT count(*) INTO n FROM inl_a;
	SELECT count(*) INTO only_inlined FROM (SELECT * FROM inl_a EXCEPT ALL SELECT * FROM inl_b) d;
	SELECT count(*) INTO only_plpgsql FROM (SELECT * FROM inl_b EXCEPT ALL SELECT * FROM inl_a) d;
	same_columns := (SELECT array_agg((attname, atttypid, atttypmod)::text ORDER BY attnum)
					   FROM pg_attribute WHERE attrelid = 'inl_a'::regclass AND attnum > 0)
				  = (SELECT array_agg((attname, atttypid, atttypmod)::text ORDER BY attnum)
					   FROM pg_attribute WHERE attrelid = 'inl_b'::regclass AND attnum > 0);
	DROP TABLE inl_a;
	DROP TABLE inl_b;
END $$;

-- inl_oracle: the ordinary groups' features by LATERAL, with the rule of
-- docs/pit-semantics.md: the latest event at or before ts, ties by
-- created_at, within the TTL, created_at <= as_of, created_at <= ts if strict
CREATE FUNCTION inl_oracle(as_of timestamptz, strict boolean)
RETURNS TABLE (id integer, user_id text, a integer, b integer, ts timestamptz,
			   v bigint, w double precision, email text, x integer, y text)
LANGUAGE sql STABLE AS $$
	SELECT s.id, s.user_id, s.a, s.b, s.ts, u.v, u.w, u.email, p.x, p.y
	  FROM inl_spine s
	  LEFT JOIN LATERAL (SELECT f.v, f.w, f.email FROM inl_u f
						  WHERE f.user_id = s.user_id AND f.event_timestamp <= s.ts
							AND f.event_timestamp >= s.ts - interval '2 days'
							AND (as_of IS NULL OR f.created_at <= as_of)
							AND (NOT strict OR f.created_at <= s.ts)
						  ORDER BY f.event_timestamp DESC, f.created_at DESC LIMIT 1) u ON true
	  LEFT JOIN LATERAL (SELECT f.x, f.y FROM inl_p f
						  WHERE f.a = s.a AND f.b = s.b AND f.event_timestamp <= s.ts
							AND (as_of IS NULL OR f.created_at <= as_of)
							AND (NOT strict OR f.created_at <= s.ts)
						  ORDER BY f.event_timestamp DESC, f.created_at DESC LIMIT 1) p ON true
$$;

-- every option set: inlined (and only then), equal to the plpgsql path
SELECT o.label, c.*
  FROM (VALUES
	('two groups', $q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}')$q$),
	('as_of', $q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => '2024-01-06 12:00+00')$q$),
	('strict', $q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', strict => true)$q$),
	('as_of, strict', $q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', NULL, NULL, '2024-01-08 00:00+00', true)$q$),
	('qualified', $q$SELECT * FROM featstore.pit_join(NULL::inl_upq, 'inl_spine', '{inl_u,inl_p}', qualified => true)$q$),
	('window and ordinary', $q$SELECT * FROM featstore.pit_join(NULL::inl_mix, 'inl_spine', '{inl_p.y,inl_w,inl_u.email,inl_u.v}')$q$),
	('window, as_of, strict', $q$SELECT * FROM featstore.pit_join(NULL::inl_mix, 'inl_spine', '{inl_p.y,inl_w,inl_u.email,inl_u.v}', as_of => '2024-01-07 00:00+00', strict => true)$q$),
	('service', $q$SELECT * FROM featstore.pit_join(NULL::inl_svc_row, 'inl_spine', service => 'inl_svc')$q$),
	('spine query, spine_ts', $q$SELECT * FROM featstore.pit_join(NULL::inl_q, 'SELECT id, user_id, ts AS t FROM inl_spine WHERE id % 3 <> 0', '{inl_u.w}', spine_ts => 't')$q$),
	('columns and WHERE', $q$SELECT id, v, x FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') p WHERE p.x > 50$q$),
	('a join', $q$SELECT s.id, p.v FROM inl_spine s JOIN featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') p ON p.id = s.id + 1$q$),
	('aggregate', $q$SELECT user_id, count(v), sum(x) FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') GROUP BY user_id$q$),
	('CTE', $q$WITH t AS (SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}')) SELECT * FROM t WHERE v IS NULL$q$),
	('sublink', $q$SELECT id FROM inl_spine WHERE id IN (SELECT id FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') WHERE v > 500)$q$)
  ) AS o(label, q), inl_compare(o.q) c;

-- and equal to the LATERAL oracle (as a superuser: PII shown)
SELECT count(*) AS rows,
	   count(*) FILTER (WHERE v IS NOT NULL) AS matched_u,
	   count(*) FILTER (WHERE x IS NOT NULL) AS matched_p
  FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
SELECT (SELECT count(*) FROM (SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') EXCEPT ALL SELECT * FROM inl_oracle(NULL, false)) d) AS plain,
	   (SELECT count(*) FROM (SELECT * FROM inl_oracle(NULL, false) EXCEPT ALL SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}')) d) AS plain_back,
	   (SELECT count(*) FROM (SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => '2024-01-06 12:00+00') EXCEPT ALL SELECT * FROM inl_oracle('2024-01-06 12:00+00', false)) d) AS as_of,
	   (SELECT count(*) FROM (SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', strict => true) EXCEPT ALL SELECT * FROM inl_oracle(NULL, true)) d) AS strict,
	   (SELECT count(*) FROM (SELECT * FROM inl_oracle('2024-01-08 00:00+00', true) EXCEPT ALL SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => '2024-01-08 00:00+00', strict => true)) d) AS as_of_strict_back;

-- EXPLAIN: the join itself, and the LIMIT above it
EXPLAIN (COSTS OFF) SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') LIMIT 3;
SET featstore.pit_join_inline = off;
EXPLAIN (COSTS OFF) SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') LIMIT 3;
RESET featstore.pit_join_inline;
SELECT id, v, x FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') ORDER BY id LIMIT 3;

-- not inlined, and still right: an argument that is not a constant (now()
-- is only stable), a lateral reference, WITH ORDINALITY, ROWS FROM with two
-- functions, a call in the select list, a call under UPDATE ... FROM
SELECT inl_plan($q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => now())$q$) ~ 'Function Scan on pit_join' AS stable_arg;
SELECT count(*) FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => now());
SELECT inl_plan($q$SELECT f.id FROM (VALUES ('{inl_u,inl_p}'::text[])) g(fs), featstore.pit_join(NULL::inl_up, 'inl_spine', fs) f$q$) ~ 'Function Scan on pit_join' AS lateral_arg;
SELECT count(*), count(v) FROM (VALUES ('{inl_u,inl_p}'::text[])) g(fs), featstore.pit_join(NULL::inl_up, 'inl_spine', fs) f;
SELECT inl_plan($q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') WITH ORDINALITY$q$) ~ 'Function Scan on pit_join' AS ordinality;
SELECT max(ordinality) FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') WITH ORDINALITY;
SELECT inl_plan($q$SELECT * FROM ROWS FROM (featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}'), generate_series(1, 2))$q$) ~ 'Function Scan on pit_join' AS rows_from;
SELECT inl_plan($q$SELECT featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}')$q$) ~ 'ProjectSet' AS in_select_list;
SELECT count(*) FROM (SELECT featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}')) d;
CREATE TABLE inl_target (id integer, v bigint);
INSERT INTO inl_target SELECT id, NULL FROM inl_spine;
UPDATE inl_target t SET v = p.v FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') p WHERE p.id = t.id;
SELECT count(v) = (SELECT count(v) FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}')) AS update_from FROM inl_target;
-- INSERT ... SELECT and CREATE TABLE AS are inlined
TRUNCATE inl_target;
EXPLAIN (COSTS OFF) INSERT INTO inl_target SELECT id, v FROM featstore.pit_join(NULL::inl_v_only, 'inl_spine', '{inl_u.v}');
INSERT INTO inl_target SELECT id, v FROM featstore.pit_join(NULL::inl_v_only, 'inl_spine', '{inl_u.v}');
SELECT count(v) FROM inl_target;
-- a prototype that does not match: plpgsql's error, with its hint
SELECT * FROM featstore.pit_join(NULL::inl_q, 'inl_spine', '{inl_u,inl_p}');
-- errors of pit_join_sql are plpgsql's, raised when the statement runs
SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{no_such_group}');
SELECT * FROM featstore.pit_join(NULL::inl_up, 'no_such_spine', '{inl_u,inl_p}');
EXPLAIN (COSTS OFF) SELECT * FROM featstore.pit_join(NULL::inl_up, 'no_such_spine', '{inl_u,inl_p}');

-- a spine that is itself a pit_join: both levels inlined
SELECT featstore.create_pit_view('inl_nested', 'SELECT id, user_id, ts, v AS v0 FROM featstore.pit_join(NULL::inl_up, ''inl_spine'', ''{inl_u,inl_p}'')', '{inl_u.w}');
SELECT * FROM inl_compare($q$SELECT * FROM featstore.pit_join(NULL::inl_nested, 'SELECT id, user_id, ts, v AS v0 FROM featstore.pit_join(NULL::inl_up, ''inl_spine'', ''{inl_u,inl_p}'')', '{inl_u.w}')$q$);

-- a view and a SQL function over pit_join keep the call: inlined when planned
CREATE VIEW inl_view AS SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
SELECT * FROM inl_compare('SELECT * FROM inl_view');
CREATE FUNCTION inl_sqlf() RETURNS SETOF inl_up LANGUAGE sql STABLE AS
	$$ SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') $$;
SELECT (SELECT count(*) FROM (SELECT * FROM inl_sqlf() EXCEPT ALL SELECT * FROM inl_view) d) AS sql_function_diff;
-- a plpgsql variable is a bound parameter of a custom plan: inlined
CREATE FUNCTION inl_plf(p_as_of timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT count(v) FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => p_as_of));
END $$;
SELECT inl_plf('2024-01-06 12:00+00') = (SELECT count(v) FROM inl_oracle('2024-01-06 12:00+00', false)) AS plpgsql_variable;

-- prepared statements: a bound parameter is inlined in a custom plan only
PREPARE inl_p1(timestamptz) AS SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => $1);
EXPLAIN (COSTS OFF) EXECUTE inl_p1('2024-01-06 12:00+00');
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE inl_p1('2024-01-06 12:00+00');
SELECT (SELECT count(*) FROM (SELECT * FROM inl_oracle('2024-01-06 12:00+00', false) EXCEPT ALL SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => '2024-01-06 12:00+00')) d) AS generic_diff;
RESET plan_cache_mode;
DEALLOCATE inl_p1;

-- the cached plan follows the registry: ADD FEATURE to a group asked for
-- whole changes the join's columns (the prototype then fails, as with
-- plpgsql), a feature list does not; a changed service is seen at once
DO LANGUAGE featstore $$
CREATE FEATURE GROUP inl_c ENTITY inl_user FEATURES (c1 integer);
CREATE FEATURE SERVICE inl_csvc FEATURES (inl_c.*);
$$;
INSERT INTO inl_c VALUES ('u1', '2024-01-01', '2024-01-01', 1);
CREATE TYPE inl_c_row AS (user_id text, ts timestamptz, c1 integer);
CREATE TABLE inl_one (user_id text, ts timestamptz);
INSERT INTO inl_one VALUES ('u1', '2024-02-01');
PREPARE inl_whole AS SELECT * FROM featstore.pit_join(NULL::inl_c_row, 'inl_one', '{inl_c}');
PREPARE inl_list AS SELECT * FROM featstore.pit_join(NULL::inl_c_row, 'inl_one', '{inl_c.c1}');
PREPARE inl_service AS SELECT * FROM featstore.pit_join(NULL::inl_c_row, 'inl_one', service => 'inl_csvc');
EXECUTE inl_whole;
EXECUTE inl_list;
EXECUTE inl_service;
EXPLAIN (COSTS OFF) EXECUTE inl_service;
DO LANGUAGE featstore $$ ALTER FEATURE GROUP inl_c ADD FEATURE c2 integer $$;
EXECUTE inl_whole;
EXECUTE inl_list;
EXECUTE inl_service;
EXPLAIN (COSTS OFF) EXECUTE inl_service;
DO LANGUAGE featstore $$ CREATE OR REPLACE FEATURE SERVICE inl_csvc FEATURES (inl_c.c1) $$;
EXECUTE inl_service;
EXPLAIN (COSTS OFF) EXECUTE inl_service;
DEALLOCATE inl_whole;
DEALLOCATE inl_list;
DEALLOCATE inl_service;

-- DROP and CREATE of a group under a cached plan: the new table is read
DO LANGUAGE featstore $$ CREATE FEATURE GROUP inl_d ENTITY inl_user FEATURES (d integer) $$;
INSERT INTO inl_d VALUES ('u1', '2024-01-01', '2024-01-01', 1);
CREATE TYPE inl_d_row AS (user_id text, ts timestamptz, d integer);
PREPARE inl_drop AS SELECT user_id, d FROM featstore.pit_join(NULL::inl_d_row, 'inl_one', '{inl_d}');
EXECUTE inl_drop;
DO LANGUAGE featstore $$ DROP FEATURE GROUP inl_d $$;
EXECUTE inl_drop;
DO LANGUAGE featstore $$ CREATE FEATURE GROUP inl_d ENTITY inl_user FEATURES (d integer) $$;
INSERT INTO inl_d VALUES ('u1', '2024-01-02', '2024-01-02', 2);
EXECUTE inl_drop;
EXPLAIN (COSTS OFF) EXECUTE inl_drop;
DEALLOCATE inl_drop;

-- the spine name is resolved on the search_path of each planning
CREATE SCHEMA pit_inl2;
CREATE TABLE pit_inl2.inl_spine AS SELECT * FROM inl_spine WHERE id <= 10;
PREPARE inl_path AS SELECT count(*) FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
EXECUTE inl_path;
SET search_path = pit_inl2, pit_inl, public;
EXECUTE inl_path;
SET search_path = pit_inl, public;
EXECUTE inl_path;
DEALLOCATE inl_path;

-- privileges, RLS and PII, as the calling role; inl_compare runs as it
CREATE ROLE inl_reader IN ROLE featstore_reader;
CREATE ROLE inl_noread IN ROLE featstore_reader;
GRANT USAGE ON SCHEMA pit_inl TO inl_reader, inl_noread;
GRANT SELECT ON inl_spine, inl_u, inl_p, inl_tx, inl_w TO inl_reader;
GRANT SELECT ON inl_spine TO inl_noread;
GRANT SELECT (user_id, event_timestamp, created_at, v) ON inl_u TO inl_noread;
SET ROLE inl_reader;
-- PII: masked on both paths, one NOTICE each
SELECT inlined, plpgsql, n, only_inlined, only_plpgsql, same_columns
  FROM inl_compare($q$SELECT * FROM featstore.pit_join(NULL::inl_mix, 'inl_spine', '{inl_p.y,inl_w,inl_u.email,inl_u.v}')$q$);
SELECT count(email) AS emails_seen, count(v) AS values_seen FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
RESET ROLE;
-- RLS on the history table: the reader sees its rows only, on both paths
ALTER TABLE inl_u ENABLE ROW LEVEL SECURITY;
CREATE POLICY inl_u_low ON inl_u FOR SELECT TO inl_reader USING (v < 500);
SET ROLE inl_reader;
SELECT inlined, plpgsql, n, only_inlined, only_plpgsql, same_columns
  FROM inl_compare($q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}')$q$);
SELECT max(v) < 500 AS filtered FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
-- a prepared plan made for one role is not run as another
PREPARE inl_role AS SELECT count(v) FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
EXECUTE inl_role;
RESET ROLE;
EXECUTE inl_role;
SET ROLE inl_reader;
EXECUTE inl_role;
RESET ROLE;
DEALLOCATE inl_role;
ALTER TABLE inl_u DISABLE ROW LEVEL SECURITY;
-- without SELECT on a history table, or on a column: the same error both ways
SET ROLE inl_noread;
SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
SET featstore.pit_join_inline = off;
SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
RESET featstore.pit_join_inline;
SELECT inlined, plpgsql, n, only_inlined, only_plpgsql, same_columns
  FROM inl_compare($q$SELECT * FROM featstore.pit_join(NULL::inl_v_only, 'inl_spine', '{inl_u.v}')$q$);
SELECT * FROM featstore.pit_join(NULL::inl_v_only, 'inl_spine', '{inl_u.w}');
SET featstore.pit_join_inline = off;
SELECT * FROM featstore.pit_join(NULL::inl_v_only, 'inl_spine', '{inl_u.w}');
RESET featstore.pit_join_inline;
RESET ROLE;
-- a view over pit_join owned by a role that can read is run with the
-- reader's rights (functions in views run as the caller), as with plpgsql
GRANT SELECT ON inl_view TO inl_noread;
SET ROLE inl_noread;
SELECT count(*) FROM inl_view;
SET featstore.pit_join_inline = off;
SELECT count(*) FROM inl_view;
RESET featstore.pit_join_inline;
RESET ROLE;

-- a role that is not a featstore_reader: plpgsql's error, not inlined
CREATE ROLE inl_outsider;
GRANT USAGE ON SCHEMA pit_inl TO inl_outsider;
GRANT SELECT ON inl_spine, inl_u, inl_p TO inl_outsider;
SET ROLE inl_outsider;
SELECT inl_plan($q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}')$q$) ~ 'Function Scan on pit_join' AS not_inlined;
SELECT count(*) FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
SET featstore.pit_join_inline = off;
SELECT count(*) FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
RESET featstore.pit_join_inline;
RESET ROLE;
DROP OWNED BY inl_outsider;
DROP ROLE inl_outsider;

DROP SCHEMA pit_inl2 CASCADE;
DROP OWNED BY inl_reader, inl_noread;
DROP ROLE inl_reader, inl_noread;

-- more seeds: new random data in the same tables, each option set against
-- the plpgsql path, and the ordinary groups against the oracle
CREATE FUNCTION inl_fill(seed float8) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM setseed(seed);
	DELETE FROM inl_u;
	DELETE FROM inl_p;
	DELETE FROM inl_tx;
	DELETE FROM inl_spine;
	INSERT INTO inl_u
	SELECT 'u' || floor(random() * 30)::int, e, e + random() * interval '3 days',
		   (random() * 1000)::bigint, random(), 'm' || i || '@x'
	  FROM (SELECT i, '2024-01-01'::timestamptz + floor(random() * 14400) * interval '1 minute' AS e
			  FROM generate_series(1, 2000 + (random() * 2000)::int) i) d;
	INSERT INTO inl_p
	SELECT floor(random() * 6)::int, floor(random() * 6)::int, e, e + random() * interval '1 day',
		   (random() * 100)::int, 'y' || i
	  FROM (SELECT i, '2024-01-01'::timestamptz + floor(random() * 14400) * interval '1 minute' AS e
			  FROM generate_series(1, 1000 + (random() * 2000)::int) i) d;
	INSERT INTO inl_tx
	SELECT 'u' || floor(random() * 30)::int, e, e + random() * interval '2 hours', (random() * 50)::int
	  FROM (SELECT '2024-01-01'::timestamptz + floor(random() * 14400) * interval '1 minute' AS e
			  FROM generate_series(1, 3000) i) d;
	INSERT INTO inl_spine
	SELECT i, CASE WHEN random() < 0.03 THEN NULL ELSE 'u' || floor(random() * 33)::int END,
		   floor(random() * 7)::int, floor(random() * 7)::int,
		   CASE WHEN random() < 0.03 THEN NULL
				ELSE '2024-01-01'::timestamptz + floor(random() * 15000) * interval '1 minute' END
	  FROM generate_series(1, 400) i;
	ANALYZE inl_u;
	ANALYZE inl_p;
	ANALYZE inl_tx;
	ANALYZE inl_spine;
END $$;
-- inl_seed_check: all of it for one seed, each query with its own snapshot
CREATE FUNCTION inl_seed_check(seed float8, OUT history_rows bigint, OUT matched bigint,
							   OUT all_inlined boolean, OUT differences bigint,
							   OUT oracle_differences bigint)
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM inl_fill(seed);
	SELECT (SELECT count(*) FROM inl_u) + (SELECT count(*) FROM inl_p) INTO history_rows;
	SELECT count(v) + count(x) INTO matched
	  FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}');
	SELECT bool_and(c.inlined AND c.plpgsql AND c.same_columns), sum(c.only_inlined + c.only_plpgsql)
	  INTO all_inlined, differences
	  FROM (VALUES
		($q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}')$q$),
		($q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => '2024-01-05 00:00+00')$q$),
		($q$SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', strict => true)$q$),
		($q$SELECT * FROM featstore.pit_join(NULL::inl_mix, 'inl_spine', '{inl_p.y,inl_w,inl_u.email,inl_u.v}', as_of => '2024-01-09 00:00+00', strict => true)$q$),
		($q$SELECT * FROM featstore.pit_join(NULL::inl_svc_row, 'inl_spine', service => 'inl_svc')$q$),
		($q$SELECT id, v, x FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}') p WHERE p.w > 0.5$q$)
	  ) AS o(q), LATERAL inl_compare(o.q) c;
	SELECT count(*) INTO oracle_differences
	  FROM (SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => '2024-01-07 00:00+00', strict => true)
			EXCEPT ALL SELECT * FROM inl_oracle('2024-01-07 00:00+00', true)) d;
	SELECT count(*) INTO n
	  FROM (SELECT * FROM inl_oracle(NULL, false)
			EXCEPT ALL SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}')) d;
	oracle_differences := oracle_differences + n;
	SELECT count(*) INTO n
	  FROM (SELECT * FROM inl_oracle('2024-01-05 00:00+00', false)
			EXCEPT ALL SELECT * FROM featstore.pit_join(NULL::inl_up, 'inl_spine', '{inl_u,inl_p}', as_of => '2024-01-05 00:00+00')) d;
	oracle_differences := oracle_differences + n;
END $$;
SELECT seed, c.* FROM unnest(ARRAY[0.21, -0.5, 0.77]) AS seed, inl_seed_check(seed) c;

SET client_min_messages = warning;
SELECT command, object_name FROM featstore.exec($$
	DROP FEATURE SERVICE inl_svc;
	DROP FEATURE SERVICE inl_csvc;
	DROP ENTITY inl_user CASCADE;
	DROP ENTITY inl_pair CASCADE;
$$);
DROP SCHEMA pit_inl CASCADE;
