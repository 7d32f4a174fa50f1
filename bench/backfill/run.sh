#!/bin/bash
# bench/backfill/run.sh N [ONLINE]: a backfill of N rows promoted, against a
# plain INSERT ... SELECT of the same N rows into the same history table
# (issue 12).  Runs against the server psql reaches (PGHOST, PGPORT,
# PGDATABASE; featstore installed).  ONLINE=1 makes the group ONLINE (the
# promote then also lists the entities whose winner changes).
#
# The history holds N rows (N/10 customers, 10 days each); the shadow
# corrects all of them.  Each measured statement runs in a transaction that
# is rolled back (the plain INSERT) or on a fresh copy (the promote), so both
# write N rows into a history table of N rows with its unique index.
set -euo pipefail
N=${1:?usage: run.sh N [ONLINE]}
ONLINE=${2:-0}
PSQL=${PSQL:-psql}
ENT=$((N / 10))
[ "$ONLINE" = 1 ] && ONLINE_CLAUSE=ONLINE || ONLINE_CLAUSE=

$PSQL -X -q -v ON_ERROR_STOP=1 <<SQL
SELECT count(*) FROM featstore.exec(\$\$ DROP ENTITY IF EXISTS bench_bf_customer CASCADE \$\$);
SELECT count(*) FROM featstore.exec(\$\$
	CREATE ENTITY bench_bf_customer (customer_id bigint);
	CREATE FEATURE GROUP bench_bf ENTITY bench_bf_customer
		FEATURES (amount double precision, n integer) $ONLINE_CLAUSE;
\$\$);
INSERT INTO bench_bf (customer_id, event_timestamp, created_at, amount, n)
SELECT c, '2026-10-01 00:00+00'::timestamptz + d * interval '1 day', '2026-11-01 00:00+00', c + d, d
  FROM generate_series(1, $ENT) c, generate_series(0, 9) d;
VACUUM ANALYZE bench_bf;
SELECT featstore.open_backfill('bench_bf', 'bench_fix', '2026-10-01', '2026-10-11');
INSERT INTO bench_bf__bf_bench_fix (customer_id, event_timestamp, amount, n)
SELECT customer_id, event_timestamp, amount + 0.5, n FROM bench_bf;
-- the same rows, for the plain INSERT
CREATE TEMP TABLE plain_rows AS SELECT * FROM bench_bf__bf_bench_fix;
VACUUM ANALYZE bench_bf__bf_bench_fix;
ANALYZE plain_rows;
\timing on
\echo == plain INSERT ... SELECT of $N rows (rolled back)
BEGIN;
INSERT INTO bench_bf (customer_id, event_timestamp, created_at, amount, n)
SELECT customer_id, event_timestamp, clock_timestamp(), amount, n FROM plain_rows;
ROLLBACK;
\echo == VALIDATE BACKFILL ($N rows against $N)
SELECT count(*) FROM featstore.validate_backfill('bench_fix');
\echo == PROMOTE BACKFILL ($N rows)
SELECT featstore.promote_backfill('bench_fix');
\timing off
SELECT count(*) AS history_rows FROM bench_bf;
SELECT count(*) FROM featstore.exec(\$\$ DROP ENTITY bench_bf_customer CASCADE \$\$);
SQL
