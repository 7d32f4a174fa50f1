#!/usr/bin/env bash
# pit_split.sh: the split read of a parallel hash join (docs/pit-join.md,
# "parallel, history read split") against the key-partitioned read and the
# serial join, in one run, on the anchors' M data that bench/pit_bench.sh M
# loaded, with two spines: all 1M labels (10 history rows per spine row)
# and every tenth label (100 per spine row).
#
#   PG_CONFIG=... bench/pit_bench.sh M    # loads the data (once)
#   PG_CONFIG=... bench/pit_split.sh
#
# Each round runs every method once, in turn (the machine's load falls on
# all alike); the table gives the median of ROUNDS (5) rounds.  Timing as
# pit_bench.sh: CREATE UNLOGGED TABLE AS, psql's \timing.
#
# Env: ROUNDS, BENCH_WORK (/tmp/featstore-pit-bench), PGB_PORT (55433).
set -euo pipefail
ROUNDS=${ROUNDS:-5}
BENCH_WORK=${BENCH_WORK:-/tmp/featstore-pit-bench}
PORT=${PGB_PORT:-55433}
PG_CONFIG=${PG_CONFIG:?set PG_CONFIG to a PostgreSQL with featstore installed}
BIN=$("$PG_CONFIG" --bindir)
DATA="$BENCH_WORK/pg/data"; SOCK="$BENCH_WORK/pg/sock"
[[ -f $DATA/PG_VERSION ]] || { echo "pit_split.sh: run bench/pit_bench.sh M first" >&2; exit 1; }

as_pg() { runuser -u postgres -- "$@"; }
psql_() { as_pg "$BIN/psql" -X -q -h "$SOCK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
as_pg "$BIN/pg_ctl" -D "$DATA" -l "$BENCH_WORK/pg/server.log" -o "-c featstore.monitor=off" -w start >/dev/null 2>&1 || true
psql_ -c "DROP TABLE IF EXISTS labels_tenth;
  CREATE TABLE labels_tenth AS SELECT * FROM labels WHERE spine_id % 10 = 0; ANALYZE labels_tenth;"

declare -A SETS=(
	[serial]="SET featstore.pit_parallel = off;"
	[partitioned]="SET featstore.pit_parallel = force; SET max_parallel_workers_per_gather = 1; SET featstore.pit_parallel_split = off;"
	[split]="SET featstore.pit_parallel = force; SET max_parallel_workers_per_gather = 1; SET featstore.pit_parallel_split = force;"
	[auto]="")
METHODS="serial partitioned split auto"
run() { # spine method -> seconds
	psql_ <<SQL | awk '/^Time:/ {t=$2} END {printf "%.3f\n", t / 1000}'
SET featstore.pit_strategy = hash;
${SETS[$2]}
DROP TABLE IF EXISTS out_split;
\timing on
CREATE UNLOGGED TABLE out_split AS
SELECT l.spine_id, l.user_id, l.event_timestamp, l.label, f.f1, f.f2, f.f3
  FROM $1 l LEFT JOIN user_tx f ON f.user_id = l.user_id
   AND featstore.pit_match(f.event_timestamp, f.created_at, l.event_timestamp, interval '2592000 seconds');
SQL
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A T
for spine in labels labels_tenth; do
	for m in $METHODS; do run "$spine" "$m" >/dev/null; done	# warm
	for r in $(seq "$ROUNDS"); do
		for m in $METHODS; do T[$spine.$m]+="$(run "$spine" "$m") "; done
	done
	# the auto plan: does the planner pick the split read?
	psql_ -c "SET featstore.pit_strategy = hash" -c "EXPLAIN SELECT * FROM $spine l LEFT JOIN user_tx f ON f.user_id = l.user_id
	   AND featstore.pit_match(f.event_timestamp, f.created_at, l.event_timestamp, interval '2592000 seconds')" |
		grep -E "Parallel:|Custom Scan" | sed "s/^/$spine auto plan: /"
done
printf '%-14s' spine; for m in $METHODS; do printf '%12s' "$m"; done; echo
for spine in labels labels_tenth; do
	printf '%-14s' "$spine"
	for m in $METHODS; do printf '%12s' "$(echo "${T[$spine.$m]}" | tr ' ' '\n' | grep . | median)"; done; echo
done
for spine in labels labels_tenth; do
	for m in $METHODS; do echo "$spine $m runs: ${T[$spine.$m]}"; done
done
