#!/usr/bin/env bash
# win_pair.sh SCALE [ROUNDS]: featstore's join and DuckDB's best formulation
# (join_groupby, 2 threads) timed in alternation, one run of each per round,
# so that both meet the same load of a shared machine; prints each round's
# times and ratio, and the median ratio (DuckDB's time / featstore's).
#
#   PG_CONFIG=... bench/windows/win_bench.sh L      # generates and loads once
#   PG_CONFIG=... bench/windows/win_pair.sh L 5
#
# Uses win_bench.sh's cluster ($BENCH_WORK/pg, port PGB_PORT) with the data
# and the group it loaded; DuckDB reloads the CSVs each round (not timed).
# Raw lines: bench/windows/results/win_pair_SCALE.tsv.
set -euo pipefail
SCALE=${1:?usage: win_pair.sh S|M|L [ROUNDS]}
ROUNDS=${2:-5}
BENCH_WORK=${BENCH_WORK:-/tmp/featstore-win-bench}; export BENCH_WORK
ANCHORS=${ANCHORS:-/work/shared/brief/bench}; export ANCHORS
PORT=${PGB_PORT:-56433}
PG_CONFIG=${PG_CONFIG:?set PG_CONFIG to a PostgreSQL with featstore installed}
BIN=$("$PG_CONFIG" --bindir)
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="$HERE/results/win_pair_$SCALE.tsv"; mkdir -p "$HERE/results"
DATA="$BENCH_WORK/pg/data"; SOCK="$BENCH_WORK/pg/sock"
as_pg() { runuser -u postgres -- "$@"; }
psql_() { as_pg "$BIN/psql" -X -q -h "$SOCK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

[[ -f $DATA/PG_VERSION ]] || { echo "run win_bench.sh $SCALE first (it loads the data)" >&2; exit 1; }
[[ -f $BENCH_WORK/duck/node_modules/@duckdb/node-api/package.json ]] || { echo "run win_bench.sh first (it installs DuckDB)" >&2; exit 1; }
# the monitor worker off: its statistics pass over the loaded tables would
# take a core for minutes after every start, in the middle of the timings
as_pg "$BIN/pg_ctl" -D "$DATA" -l "$BENCH_WORK/pg/server.log" -o "-c featstore.monitor=off" -w start >/dev/null 2>&1 || true
trap 'as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null' EXIT
n=$(psql_ -At -c "SELECT count(*) FROM labels")
echo "== $SCALE: $n labels; $ROUNDS rounds at $(date -u +%H:%M:%SZ)"
Q="$(psql_ -At -c "SELECT featstore.pit_join_sql('labels', '{user_tx_windows}', spine_ts => 'ts')")"
# which plan the featstore side runs (the planner's choice, no setting)
plan=$(psql_ -At -c "EXPLAIN $Q" | grep -E 'Workers Planned|Custom Scan' | sed 's/ *(cost.*//; s/^ *//; s/->  //' | paste -sd ';' -)
echo "== featstore plan: $plan"
: > "$OUT"
for ((r = 1; r <= ROUNDS; r++)); do
	fs=$(psql_ -c "DROP TABLE IF EXISTS out" -c '\timing on' -c "CREATE UNLOGGED TABLE out AS $Q" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
	D=$(mktemp)
	node "$HERE/duck_windows.mjs" "$SCALE" "$D" --runs 1 --threads 2 --methods join_groupby >/dev/null
	duck=$(awk -F'\t' '{print $4 * 1000}' "$D"); rm -f "$D"
	printf 'round %d\tfeatstore %.0f ms\tduckdb_2t %.0f ms\tratio %.2f\n' "$r" "$fs" "$duck" \
		"$(awk -v a="$duck" -v b="$fs" 'BEGIN {print a / b}')" | tee -a "$OUT"
done
awk -F'\t' '{split($4, x, " "); print x[2]}' "$OUT" | sort -g |
	awk '{r[NR] = $1} END {printf "median ratio (DuckDB / featstore) over %d rounds: %.2f\n", NR, (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2)}' | tee -a "$OUT"
