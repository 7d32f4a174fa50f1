#!/bin/bash
# bench/backfill/run_reps.sh N [REPS]: the promote of a backfill of N rows
# against a plain INSERT ... SELECT of the same N rows, REPS times each in
# the same run, alternating, with medians (issue 12's "10M rows promote
# within a small multiple of a plain INSERT ... SELECT").  Runs against the
# server psql reaches (PGHOST, PGPORT, PGDATABASE; featstore installed).
#
# The data is run.sh's: N rows (N/10 customers, 10 days each) in the history
# and a shadow that corrects all of them.  It is loaded and validated once;
# then each repetition runs, in its own transaction that is rolled back, the
# plain INSERT ... SELECT (created_at = clock_timestamp()) and then
# promote_backfill() (which inserts the shadow's rows with one created_at and
# drops the shadow; the rollback restores both), each followed by VACUUM of
# the history, so that both write N rows into a history table of N live rows
# with its unique index, the same number of times, in alternation.
set -euo pipefail
N=${1:?usage: run_reps.sh N [REPS]}
REPS=${2:-3}
PSQL=${PSQL:-psql}
ENT=$((N / 10))

# ms STATEMENT: runs one statement in psql, prints its milliseconds
ms() {
	$PSQL -X -q -v ON_ERROR_STOP=1 -At <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
\\timing on
$1
SQL
}

# ms_rolled_back STATEMENT: the same, inside a transaction rolled back after it
ms_rolled_back() {
	$PSQL -X -q -v ON_ERROR_STOP=1 -At <<SQL | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
BEGIN;
\\timing on
$1
\\timing off
ROLLBACK;
SQL
}

# ratio A B: A / B to 3 decimals
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
}

echo "== setup: $N rows in the history, $N in the shadow ($(date -u +%FT%TZ))"
$PSQL -X -q -v ON_ERROR_STOP=1 <<SQL
SELECT count(*) FROM featstore.exec(\$\$ DROP ENTITY IF EXISTS bench_bf_customer CASCADE \$\$);
SELECT count(*) FROM featstore.exec(\$\$
	CREATE ENTITY bench_bf_customer (customer_id bigint);
	CREATE FEATURE GROUP bench_bf ENTITY bench_bf_customer
		FEATURES (amount double precision, n integer);
\$\$);
INSERT INTO bench_bf (customer_id, event_timestamp, created_at, amount, n)
SELECT c, '2026-10-01 00:00+00'::timestamptz + d * interval '1 day', '2026-11-01 00:00+00', c + d, d
  FROM generate_series(1, $ENT) c, generate_series(0, 9) d;
SELECT featstore.open_backfill('bench_bf', 'bench_fix', '2026-10-01', '2026-10-11');
INSERT INTO bench_bf__bf_bench_fix (customer_id, event_timestamp, amount, n)
SELECT customer_id, event_timestamp, amount + 0.5, n FROM bench_bf;
-- the same rows, for the plain INSERT (a table, not a temporary one: the
-- statements run in separate sessions)
DROP TABLE IF EXISTS bench_bf_plain_rows;
CREATE TABLE bench_bf_plain_rows AS SELECT * FROM bench_bf__bf_bench_fix;
VACUUM ANALYZE bench_bf;
VACUUM ANALYZE bench_bf__bf_bench_fix;
VACUUM ANALYZE bench_bf_plain_rows;
SQL
echo "validate_backfill: $(ms "SELECT count(*) FROM featstore.validate_backfill('bench_fix');") ms"
$PSQL -X -q -At -c "SELECT state FROM featstore.backfills WHERE name = 'bench_fix'"

inserts=()
promotes=()
for r in $(seq 1 "$REPS"); do
	i=$(ms_rolled_back "INSERT INTO bench_bf (customer_id, event_timestamp, created_at, amount, n)
	        SELECT customer_id, event_timestamp, clock_timestamp(), amount, n FROM bench_bf_plain_rows;")
	$PSQL -X -q -c 'VACUUM bench_bf'
	p=$(ms_rolled_back "SELECT featstore.promote_backfill('bench_fix');")
	$PSQL -X -q -c 'VACUUM bench_bf'
	echo "rep $r: INSERT ... SELECT $i ms, PROMOTE BACKFILL $p ms, promote/insert $(ratio "$p" "$i")"
	inserts+=("$i")
	promotes+=("$p")
done

# median of the arguments
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
mi=$(median "${inserts[@]}")
mp=$(median "${promotes[@]}")
echo "median of $REPS: INSERT ... SELECT $mi ms, PROMOTE BACKFILL $mp ms, promote/insert $(ratio "$mp" "$mi")"
$PSQL -X -q -At -c "SELECT 'history rows after the rollbacks: ' || count(*) FROM bench_bf"
$PSQL -X -q -c "SELECT count(*) FROM featstore.exec(\$\$ DROP ENTITY bench_bf_customer CASCADE \$\$)" -c 'DROP TABLE bench_bf_plain_rows'
echo "== done ($(date -u +%FT%TZ))"
