-- The PitJoin node inside the rest of SQL: EXPLAIN, composition, rescans,
-- cursors, prepared statements, parallel plans, privileges and RLS.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS featstore;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
CREATE SCHEMA pit_plan;
SET search_path = pit_plan, public;

CREATE TABLE hist (user_id int, event_timestamp timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(), v bigint,
	UNIQUE (user_id, event_timestamp, created_at));
INSERT INTO hist SELECT u, timestamptz '2024-01-01' + d * interval '1 day', timestamptz '2024-01-01' + d * interval '1 day', u * 100 + d
  FROM generate_series(1, 5) u, generate_series(0, 9) d;
CREATE TABLE hist2 (user_id int, event_timestamp timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(), score float8);
INSERT INTO hist2 SELECT u, timestamptz '2024-01-03', timestamptz '2024-01-03', u / 10.0 FROM generate_series(1, 3) u;
CREATE TABLE spine (id int, user_id int, ts timestamptz);
INSERT INTO spine SELECT i, 1 + i % 6, timestamptz '2024-01-01 12:00' + (i % 12) * interval '1 day' FROM generate_series(1, 24) i;
ANALYZE hist; ANALYZE hist2; ANALYZE spine;

-- EXPLAIN shows the node, the strategy, the keys and the TTL
EXPLAIN (COSTS OFF)
SELECT s.id, f.v FROM spine s LEFT JOIN hist f
  ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '2 days');
-- and, under ANALYZE, the matched / no-match / TTL-expired counts
SET featstore.pit_strategy = merge;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT s.id, f.v FROM spine s LEFT JOIN hist f
  ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '2 days', '2024-01-20', true);
RESET featstore.pit_strategy;

-- a small spine against a larger history: one index descent per spine row
INSERT INTO hist SELECT u, timestamptz '2023-01-01' + d * interval '1 hour', timestamptz '2023-01-01' + d * interval '1 hour', 0
  FROM generate_series(1, 200) u, generate_series(0, 99) d;
ANALYZE hist;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT s.id, f.v FROM spine s LEFT JOIN hist f
  ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '2 days')
 WHERE s.id < 4;
SELECT s.id, f.v FROM spine s LEFT JOIN hist f
  ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, '2 days')
 WHERE s.id < 4 ORDER BY s.id;
DELETE FROM hist WHERE event_timestamp < '2024-01-01';
ANALYZE hist;

-- two groups in plain SQL, composed with WHERE, aggregates and ORDER BY
EXPLAIN (COSTS OFF)
SELECT s.user_id, count(*), sum(f.v), max(g.score)
  FROM spine s
  LEFT JOIN hist f ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
  LEFT JOIN hist2 g ON g.user_id = s.user_id AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts)
 WHERE s.id > 2
 GROUP BY s.user_id ORDER BY s.user_id;
SELECT s.user_id, count(*), sum(f.v), max(g.score)
  FROM spine s
  LEFT JOIN hist f ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
  LEFT JOIN hist2 g ON g.user_id = s.user_id AND featstore.pit_match(g.event_timestamp, g.created_at, s.ts)
 WHERE s.id > 2
 GROUP BY s.user_id ORDER BY s.user_id;
-- in an inner join, WHERE conditions on the feature table restrict the
-- candidates (pushed into its scan); those on both tables filter the output
SELECT s.id, f.v FROM spine s JOIN hist f ON f.user_id = s.user_id
   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
 WHERE f.v % 2 = 0 AND s.id < 8 AND f.v > s.id ORDER BY s.id;

-- ... while the same condition outside an OFFSET 0 subquery filters winners
SELECT * FROM (SELECT s.id, f.v FROM spine s JOIN hist f ON f.user_id = s.user_id
   AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts) OFFSET 0) t
 WHERE t.v % 2 = 0 AND t.id < 8 AND t.v > t.id ORDER BY t.id;

-- rescans: the join inside a correlated subquery, once per outer row
SELECT u.u, (SELECT sum(f.v) FROM spine s LEFT JOIN hist f
				ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
			  WHERE s.user_id = u.u) AS total
  FROM generate_series(1, 6) u(u);
EXPLAIN (COSTS OFF)
SELECT u.u, (SELECT sum(f.v) FROM spine s LEFT JOIN hist f
				ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
			  WHERE s.user_id = u.u) AS total
  FROM generate_series(1, 6) u(u);
-- ... and as the inner side of a nested loop
SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_material = off;
SELECT count(*), sum(p.v) FROM generate_series(1, 3) x
  JOIN (SELECT s.id, f.v FROM spine s LEFT JOIN hist f
		 ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts) OFFSET 0) p
    ON p.id % 3 = x % 3;
RESET enable_hashjoin; RESET enable_mergejoin; RESET enable_material;

-- cursors, including a scrollable one read backwards
BEGIN;
DECLARE c SCROLL CURSOR FOR
  SELECT s.id, f.v FROM spine s LEFT JOIN hist f
    ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
   WHERE s.id <= 4;
FETCH 2 FROM c;
FETCH BACKWARD 1 FROM c;
FETCH ALL FROM c;
MOVE ABSOLUTE 0 FROM c;
FETCH ALL FROM c;
COMMIT;

-- prepared statements with a parameter in the marker, generic and custom plans
PREPARE q(timestamptz) AS
  SELECT s.id, f.v FROM spine s LEFT JOIN hist f
    ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, NULL, $1)
   WHERE s.id IN (3, 9) ORDER BY s.id;
SET plan_cache_mode = force_generic_plan;
EXECUTE q('2024-01-02');
EXECUTE q(NULL);
SET plan_cache_mode = force_custom_plan;
EXECUTE q('2024-01-02');
RESET plan_cache_mode;
DEALLOCATE q;

-- parallel plans: the node runs inside a worker and its plan is serialized
SET force_parallel_mode = regress;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
SELECT count(*), sum(f.v) FROM spine s LEFT JOIN hist f
  ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
RESET force_parallel_mode; RESET parallel_setup_cost; RESET parallel_tuple_cost;
SELECT count(*), sum(f.v) FROM spine s LEFT JOIN hist f
  ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);

-- privileges and row-level security of the feature table apply
CREATE ROLE pit_reader;
GRANT USAGE ON SCHEMA featstore, pit_plan TO pit_reader;
GRANT SELECT ON spine TO pit_reader;
SET ROLE pit_reader;
SELECT s.id, f.v FROM spine s LEFT JOIN hist f
  ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts);
RESET ROLE;
GRANT SELECT ON hist TO pit_reader;
ALTER TABLE hist ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_user_1 ON hist FOR SELECT TO pit_reader USING (user_id = 1);
SET ROLE pit_reader;
SELECT s.user_id, count(f.v) AS matched FROM spine s LEFT JOIN hist f
  ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
 GROUP BY s.user_id ORDER BY s.user_id;
RESET ROLE;
DROP POLICY only_user_1 ON hist;
ALTER TABLE hist DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON hist, spine FROM pit_reader;
REVOKE USAGE ON SCHEMA featstore, pit_plan FROM pit_reader;
DROP ROLE pit_reader;

-- the feature side is the group's table alone: a relation joined to the
-- feature table is joined after the winner is chosen, never before
CREATE TABLE owners (id int, name text);
INSERT INTO owners VALUES (1, 'one'), (2, 'two');
ANALYZE owners;
EXPLAIN (COSTS OFF)
SELECT s.user_id, s.ts, f.v, o.name
  FROM spine s
  JOIN hist f ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
  JOIN owners o ON o.id = f.v % 3;
SELECT (SELECT count(*)
		  FROM spine s
		  JOIN hist f ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts)
		  JOIN owners o ON o.id = f.v % 3)
	 = (SELECT count(*)
		  FROM spine s
		  JOIN LATERAL (SELECT * FROM hist f WHERE f.user_id = s.user_id AND f.event_timestamp <= s.ts
						 ORDER BY f.event_timestamp DESC, f.created_at DESC LIMIT 1) f ON true
		  JOIN owners o ON o.id = f.v % 3) AS same_as_oracle;
DROP TABLE owners;
SET client_min_messages = warning;
DROP SCHEMA pit_plan CASCADE;
