-- psql -v datadir=$BENCH_WORK/data/SCALE -f load.sql
-- The source (tx) and the spine (labels) of the window benchmark.
\set ON_ERROR_STOP 1
SET maintenance_work_mem = '2GB';
DROP TABLE IF EXISTS labels, tx CASCADE;
CREATE TABLE labels (
  spine_id bigint GENERATED ALWAYS AS IDENTITY,   -- = line number of labels.csv
  user_id bigint NOT NULL,
  ts timestamptz NOT NULL,
  label int NOT NULL);
CREATE TABLE tx (
  user_id bigint NOT NULL,
  event_time timestamptz NOT NULL,
  ingested_at timestamptz NOT NULL,
  amount double precision NOT NULL,
  merchant_id text NOT NULL,
  status text NOT NULL);
\timing on
\set lf :datadir '/labels.csv'
\set tf :datadir '/tx.csv'
COPY labels (user_id, ts, label) FROM :'lf' (FORMAT csv);
COPY tx FROM :'tf' (FORMAT csv);
-- the oracle's probe index; ingested_at too, for last()'s tie rule
CREATE INDEX tx_user_time ON tx (user_id, event_time, ingested_at);
VACUUM (ANALYZE) labels;
VACUUM (ANALYZE) tx;
\timing off
SELECT pg_size_pretty(pg_relation_size('tx')) AS tx_heap,
       pg_size_pretty(pg_relation_size('tx_user_time')) AS tx_index,
       pg_size_pretty(pg_relation_size('labels')) AS labels_heap;
-- last() ties that no rule breaks (ties unspecified): must be 0 for the
-- checksums of last_merchant to compare
SELECT count(*) AS unbreakable_last_ties
  FROM (SELECT 1 FROM tx WHERE status <> 'declined'
         GROUP BY user_id, event_time, ingested_at HAVING count(DISTINCT merchant_id) > 1) d;
