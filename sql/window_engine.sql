-- The window engine (issue 10): featstore.window_timeline, the body of a
-- source group's view, against an independent oracle (a LATERAL aggregate
-- per event), for every aggregate, windows of 10 minutes, 1 hour and none,
-- ties, NULLs, exact boundaries (t - w, t, one microsecond either side),
-- text and compound keys, DEFAULT, WINDOW END EXCLUSIVE and a WHERE
-- clause, at several seeds.  Integers and numerics must be equal, text
-- form included; floats within 1e-9 relative.  Every check prints only its
-- number of differences.
SET client_min_messages = warning;
DO LANGUAGE featstore $$ CREATE ENTITY acct (k1 text, k2 integer) $$;

CREATE TABLE src (k1 text, k2 int, et timestamptz, cr timestamptz, x float8,
                  i int4, b int8, m numeric, s text, st text);

-- Random events on a 5 minute grid, some one microsecond off it, so that
-- events sit exactly at t - w and at t of other events; created times are
-- unique per row, so last() has no exact ties.
CREATE FUNCTION fill_src(seed float8, n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM setseed(seed);
  DELETE FROM src;
  INSERT INTO src
  SELECT CASE WHEN random() < 0.02 THEN NULL ELSE (ARRAY['a','B','b','é',''])[1 + floor(random()*5)::int] END,
         floor(random()*2)::int,
         '2026-01-01'::timestamptz + floor(random()*40) * interval '5 min'
            + (ARRAY[0, 0, 0, 1, -1])[1 + floor(random()*5)::int] * interval '1 microsecond',
         '2026-01-01'::timestamptz + g * interval '1 ms',
         CASE WHEN random() < 0.1 THEN NULL ELSE round((random()*1000 - 300)::numeric, 2)::float8 END,
         CASE WHEN random() < 0.1 THEN NULL ELSE floor(random()*200 - 50)::int END,
         CASE WHEN random() < 0.1 THEN NULL
              ELSE floor(random()*1e15)::int8 * (CASE WHEN random() < 0.5 THEN -1 ELSE 1 END) END,
         CASE WHEN random() < 0.1 THEN NULL ELSE round((random()*100)::numeric, floor(random()*4)::int) END,
         CASE WHEN random() < 0.1 THEN NULL ELSE (ARRAY['p','q','r','s','P'])[1 + floor(random()*5)::int] END,
         CASE WHEN random() < 0.15 THEN 'declined' ELSE 'ok' END
    FROM generate_series(1, n) g;
  -- created after the event by 0 to 29 minutes, still unique
  UPDATE src SET cr = et + floor(random()*30) * interval '1 min' + (cr - '2026-01-01');
END $$;

-- The features: every aggregate, typed as a user would
CREATE TABLE feats (pos int, name text, typ text, agg text, arg text, win interval, dflt text);
INSERT INTO feats VALUES
 (1, 'c1h', 'bigint', 'count', '*', '1 hour', NULL),
 (2, 'ci1h', 'bigint', 'count', 'i', '1 hour', NULL),
 (3, 'si1h', 'bigint', 'sum', 'i', '1 hour', NULL),
 (4, 'sb1h', 'numeric', 'sum', 'b', '1 hour', NULL),
 (5, 'ai1h', 'numeric', 'avg', 'i', '1 hour', NULL),
 (6, 'sx1h', 'double precision', 'sum', 'x', '1 hour', NULL),
 (7, 'ax10m', 'double precision', 'avg', 'x', '10 min', NULL),
 (8, 'mnx1h', 'double precision', 'min', 'x', '1 hour', NULL),
 (9, 'mxs1h', 'text', 'max', 's', '1 hour', NULL),
 (10, 'ds1h', 'bigint', 'count_distinct', 's', '1 hour', NULL),
 (11, 'ls10m', 'text', 'last', 's', '10 min', NULL),
 (12, 'li', 'integer', 'last', 'i', NULL, NULL),
 (13, 'sdx1h', 'double precision', 'stddev_samp', 'x', '1 hour', NULL),
 (14, 'vpx', 'double precision', 'var_pop', 'x', NULL, NULL),
 (15, 'vsi1h', 'numeric', 'var_samp', 'i', '1 hour', NULL),
 (16, 'sdpm1h', 'numeric', 'stddev_pop', 'm', '1 hour', NULL),
 (17, 'sm1h', 'numeric', 'sum', 'm', '1 hour', NULL),
 (18, 'am', 'numeric', 'avg', 'm', NULL, NULL),
 (19, 'mnb', 'bigint', 'min', 'b', NULL, NULL),
 (20, 'mxm10m', 'numeric', 'max', 'm', '10 min', NULL),
 (21, 'si10m', 'bigint', 'sum', 'i', '10 min', '0'),
 (22, 'c10m', 'integer', 'count', '*', '10 min', '-1'),
 (23, 'sdsb1h', 'numeric', 'stddev_samp', 'b', '1 hour', NULL),
 (24, 'vsm', 'numeric', 'var_samp', 'm', NULL, NULL),
 (25, 'ax', 'double precision', 'avg', 'x', NULL, NULL),
 (26, 'mxx10m', 'real', 'max', 'x', '10 min', '0'),
 (27, 'lx1h', 'double precision', 'last', 'x', '1 hour', '42'),
 (28, 'dsi', 'bigint', 'count_distinct', 'i', NULL, NULL),
 (29, 'vsx10m', 'double precision', 'var_samp', 'x', '10 min', NULL),
 (30, 'sdpi', 'double precision', 'stddev_pop', 'i', NULL, NULL),
 (31, 'smx', 'numeric(20,1)', 'sum', 'm', NULL, NULL),
 (32, 'ratio', 'double precision', 'expression', 'sx1h / nullif(c1h, 0)', NULL, NULL);

-- The group's DDL, from the table above
CREATE FUNCTION group_ddl(g text, clauses text) RETURNS text LANGUAGE sql AS $$
SELECT format('CREATE FEATURE GROUP %s ENTITY acct FROM src TIMESTAMP et CREATED cr %s FEATURES (%s)', g, clauses,
       string_agg(format('%I %s AS %s%s%s', name, typ,
                         CASE WHEN agg = 'expression' THEN arg
                              WHEN agg = 'count_distinct' THEN format('count(DISTINCT %s)', arg)
                              ELSE format('%s(%s)', agg, arg) END,
                         CASE WHEN win IS NULL THEN '' ELSE format(' OVER %L', win) END,
                         CASE WHEN dflt IS NULL THEN '' ELSE ' DEFAULT ' || dflt END), ', ' ORDER BY pos))
  FROM feats
$$;
SELECT count(*) AS created FROM featstore.exec(group_ddl('w_all', ''));
SELECT count(*) AS created FROM featstore.exec(group_ddl('w_excl', 'WINDOW END EXCLUSIVE'));
SELECT count(*) AS created FROM featstore.exec(group_ddl('w_where', $w$WHERE st <> 'declined' AND x > 0$w$));

-- The oracle's aggregate for one feature at the point p (a row of src)
CREATE FUNCTION agg_sql(f feats, excl bool, src_where text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  cond text := 'r.k1 = p.k1 AND r.k2 = p.k2';
  a text;
  empty text;
BEGIN
  IF excl THEN
    cond := cond || ' AND r.et < p.et';
    IF f.win IS NOT NULL THEN cond := cond || format(' AND r.et >= p.et - %L::interval', f.win); END IF;
  ELSE
    cond := cond || ' AND r.et <= p.et';
    IF f.win IS NOT NULL THEN cond := cond || format(' AND r.et > p.et - %L::interval', f.win); END IF;
  END IF;
  IF src_where IS NOT NULL THEN cond := cond || ' AND (' || src_where || ')'; END IF;
  a := CASE WHEN f.arg = '*' THEN 'count(*)'
            WHEN f.agg = 'count_distinct' THEN format('count(DISTINCT r.%I)', f.arg)
            WHEN f.agg = 'last' THEN format('(array_agg(r.%I ORDER BY r.et DESC, r.cr DESC))[1]', f.arg)
            ELSE format('%s(r.%I)', f.agg, f.arg) END;
  empty := CASE WHEN f.arg = '*' OR f.agg = 'last' THEN 'count(*) = 0' ELSE format('count(r.%I) = 0', f.arg) END;
  IF f.dflt IS NOT NULL THEN
    a := format('CASE WHEN %s THEN %L::%s ELSE (%s)::%s END', empty, f.dflt, f.typ, a, f.typ);
  ELSE
    a := format('(%s)::%s', a, f.typ);
  END IF;
  RETURN format('(SELECT %s FROM src r WHERE %s)', a, cond);
END $$;

-- The number of differences per feature between a group's view and the
-- oracle at every event of the source (a missing or extra row counts
-- against every feature).
CREATE FUNCTION differences(g text, excl bool, src_where text)
RETURNS TABLE (feature text, diffs bigint) LANGUAGE plpgsql AS $$
DECLARE
  f feats;
  o text := '';
  q text;
BEGIN
  FOR f IN SELECT * FROM feats WHERE agg <> 'expression' ORDER BY pos LOOP
    o := o || ', ' || agg_sql(f, excl, src_where) || ' AS ' || quote_ident(f.name);
  END LOOP;
  DROP TABLE IF EXISTS o_tab, t_tab;
  EXECUTE format('CREATE TEMP TABLE o_tab AS SELECT *, sx1h / nullif(c1h, 0) AS ratio FROM (SELECT p.k1, p.k2, p.et, p.cr %s FROM src p WHERE p.k1 IS NOT NULL AND p.k2 IS NOT NULL AND p.et IS NOT NULL %s) o0',
                 o, CASE WHEN src_where IS NULL THEN '' ELSE ' AND (' || replace(src_where, 'r.', 'p.') || ')' END);
  EXECUTE format('CREATE TEMP TABLE t_tab AS SELECT * FROM public.%I', g);
  RETURN QUERY SELECT '(rows)', abs((SELECT count(*) FROM o_tab) - (SELECT count(*) FROM t_tab));
  FOR f IN SELECT * FROM feats ORDER BY pos LOOP
    IF f.typ IN ('double precision', 'real') THEN
      q := format('(o.%1$I IS NULL) <> (t.%1$I IS NULL) OR (o.%1$I <> t.%1$I AND abs(o.%1$I - t.%1$I) > 1e-9 * greatest(abs(o.%1$I), abs(t.%1$I)))', f.name);
    ELSE
      q := format('o.%1$I IS DISTINCT FROM t.%1$I OR o.%1$I::text IS DISTINCT FROM t.%1$I::text', f.name);
    END IF;
    RETURN QUERY EXECUTE format('SELECT %L, count(*) FILTER (WHERE t.k1 IS NULL OR %s) FROM o_tab o FULL JOIN t_tab t ON (t.k1, t.k2, t.event_timestamp, t.created_at) = (o.k1, o.k2, o.et, o.cr)', f.name, q);
  END LOOP;
END $$;

-- A run: fill the source, compare the three groups; the rows compared
-- (non-zero) and the total of differences (zero)
CREATE FUNCTION run(seed float8, n int) RETURNS TABLE (g text, compared bigint, differences numeric) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM fill_src(seed, n);
  RETURN QUERY SELECT 'w_all', (SELECT count(*) FROM w_all), (SELECT sum(diffs) FROM differences('w_all', false, NULL));
  RETURN QUERY SELECT 'w_excl', (SELECT count(*) FROM w_excl), (SELECT sum(diffs) FROM differences('w_excl', true, NULL));
  RETURN QUERY SELECT 'w_where', (SELECT count(*) FROM w_where),
                      (SELECT sum(diffs) FROM differences('w_where', false, $w$r.st <> 'declined' AND r.x > 0$w$));
END $$;
SELECT * FROM run(0.11, 200);
SELECT * FROM run(0.42, 200);
SELECT * FROM run(-0.7, 300);

-- The check can fail: the end-exclusive oracle differs from w_all
SELECT sum(diffs) > 0 AS differs FROM differences('w_all', true, NULL);

-- Hand-placed edges: one key, events at 10:00, at 10:00 + 1 us, two at
-- 11:00 (created in either order), at 12:00 - 1 us and at 12:00; 1 hour
-- windows end at 11:00, 11:00 + 1 us, 12:00 and 12:00 + 1 us among them.
DELETE FROM src;
INSERT INTO src (k1, k2, et, cr, x, i, b, m, s, st) VALUES
 ('edge', 1, '2026-02-01 10:00+00', '2026-02-01 10:00+00', 1, 1, 1, 1.0, 'p', 'ok'),
 ('edge', 1, '2026-02-01 10:00:00.000001+00', '2026-02-01 10:00:01+00', 2, 2, 2, 2.00, 'q', 'ok'),
 ('edge', 1, '2026-02-01 11:00+00', '2026-02-01 11:00:05+00', 3, 3, 3, 3, 'r', 'ok'),
 ('edge', 1, '2026-02-01 11:00+00', '2026-02-01 11:00:02+00', NULL, NULL, NULL, NULL, NULL, 'ok'),
 ('edge', 1, '2026-02-01 11:59:59.999999+00', '2026-02-01 12:00+00', 5, 5, 5, 5.5, 's', 'ok'),
 ('edge', 1, '2026-02-01 12:00+00', '2026-02-01 12:00:01+00', 6, 6, 6, 6.25, 'p', 'ok'),
 ('edge', 2, '2026-02-01 12:00+00', '2026-02-01 12:00:01+00', 7, 7, 7, 7, 'P', 'ok'),
 ('EDGE', 1, '2026-02-01 12:00+00', '2026-02-01 12:00:01+00', 8, 8, 8, 8, 'P', 'ok');
SELECT feature, diffs FROM differences('w_all', false, NULL) WHERE diffs <> 0 OR feature = '(rows)';
SELECT feature, diffs FROM differences('w_excl', true, NULL) WHERE diffs <> 0 OR feature = '(rows)';
-- the windows as the contract says: (t - 1 h, t], and [t - 1 h, t) end-exclusive
SELECT k1, k2, event_timestamp, c1h, ls10m, li FROM w_all ORDER BY k1 COLLATE "C", k2, event_timestamp, created_at;
SELECT k1, k2, event_timestamp, c1h, c10m, ls10m, lx1h FROM w_excl ORDER BY k1 COLLATE "C", k2, event_timestamp, created_at;

-- Errors: a group that does not exist, an ordinary group, a column list
-- that is not the group's, a role that may not read the source
SELECT * FROM featstore.window_timeline('nope') AS w(k1 text);
DO LANGUAGE featstore $$ CREATE FEATURE GROUP plain ENTITY acct FEATURES (v bigint) $$;
SELECT * FROM featstore.window_timeline('plain') AS w(k1 text);
SELECT * FROM featstore.window_timeline('w_all') AS w(k1 text, k2 int, event_timestamp timestamptz, created_at timestamptz);
CREATE ROLE regress_window_reader;
GRANT SELECT ON w_all TO regress_window_reader;
SET ROLE regress_window_reader;
SELECT count(*) FROM w_all;
RESET ROLE;
GRANT SELECT ON src TO regress_window_reader;
SET ROLE regress_window_reader;
SELECT count(*) FROM w_all;
RESET ROLE;

DO LANGUAGE featstore $$
DROP FEATURE GROUP w_all;
DROP FEATURE GROUP w_excl;
DROP FEATURE GROUP w_where;
DROP FEATURE GROUP plain;
DROP ENTITY acct;
$$;
DROP FUNCTION fill_src, group_ddl, agg_sql, differences, run;
DROP TABLE src, feats;
REVOKE ALL ON SCHEMA public FROM regress_window_reader;
DROP ROLE regress_window_reader;
