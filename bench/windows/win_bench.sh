#!/usr/bin/env bash
# win_bench.sh SCALE: time the issue 10 window aggregations (8 features over
# the 1 h, 24 h, 7 d, 30 d and unbounded windows of the seed's fraud shape)
# in PostgreSQL (the LATERAL oracle and its tunings), featstore and DuckDB,
# in one run on one machine, each checked by one checksum.
#
#   PG_CONFIG=$(scripts/private-pg.sh /tmp/pg-bench) nice bench/windows/win_bench.sh L
#
# SCALE: S (100k events, 10k users, 10k labels), M (1M, 100k, 100k),
# L (10M events, 1M users, 1M labels: the issue's size). Data: gen.sh, under
# $BENCH_WORK/data (never committed). Results: bench/windows/results/
# win_SCALE.tsv (method, engine, scale, median s, runs in ms, checksum, peak
# memory, temp files), win_SCALE_plan.txt (featstore's EXPLAIN ANALYZE) and
# the ratios on stdout.
#
# Env: RUNS (3), METHODS (postgres methods: lateral lateral_tuned
#      lateral_filter featstore featstore_pit_join featstore_lowmem; default all, the
#      featstore ones only when the group can be created), DUCK (1),
#      DUCK_THREADS (2,1), DUCK_METHODS (frames,join_groupby), COVERING (1:
#      then again with a covering index, METHODS_COV: lateral_filter and
#      featstore), SKIP_LOAD (1:
#      data loaded), WORK_MEM (for the featstore methods; cluster 256MB),
#      SINGLE_RUN_ABOVE (120: a method whose run takes longer runs once),
#      LOWMEM (64MB: work_mem of featstore_lowmem),
#      APPEND (1: add to the results file), BENCH_WORK
#      (/tmp/featstore-win-bench), PGB_PORT (56433), ANCHORS (the shared kit,
#      for memsample.py).
set -euo pipefail
SCALE=${1:?usage: win_bench.sh S|M|L}
RUNS=${RUNS:-3}
ANCHORS=${ANCHORS:-/work/shared/brief/bench}; export ANCHORS
BENCH_WORK=${BENCH_WORK:-/tmp/featstore-win-bench}; export BENCH_WORK
PORT=${PGB_PORT:-56433}
PG_CONFIG=${PG_CONFIG:?set PG_CONFIG to a PostgreSQL with featstore installed}
BIN=$("$PG_CONFIG" --bindir)
HERE="$(cd "$(dirname "$0")" && pwd)"
OUTDIR="$HERE/results"; mkdir -p "$OUTDIR"
RES="$OUTDIR/win_$SCALE.tsv"
DATA="$BENCH_WORK/pg/data"; SOCK="$BENCH_WORK/pg/sock"

as_pg() { runuser -u postgres -- "$@"; }
psql_() { as_pg "$BIN/psql" -X -q -h "$SOCK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

mkdir -p "$BENCH_WORK"; chmod a+rx "$BENCH_WORK"
"$HERE/gen.sh" "$SCALE"
chmod -R a+rX "$BENCH_WORK/data"

# a throwaway cluster with the anchors' settings, featstore preloaded
if [[ ! -f $DATA/PG_VERSION ]]; then
	mkdir -p "$BENCH_WORK/pg" "$SOCK"; chown postgres: "$BENCH_WORK/pg" "$SOCK"
	as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
	cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = ''
port = $PORT
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'featstore'
shared_buffers = 4GB
work_mem = 256MB
maintenance_work_mem = 2GB
max_parallel_workers_per_gather = 2
effective_cache_size = 16GB
timezone = 'UTC'
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 16GB
autovacuum = off
statement_timeout = '1800s'
temp_file_limit = '40GB'
CONF
fi
# the monitor worker off: its statistics pass over the loaded tables would
# take a core for minutes after every start, in the middle of the timings
as_pg "$BIN/pg_ctl" -D "$DATA" -l "$BENCH_WORK/pg/server.log" -o "-c featstore.monitor=off" -w start >/dev/null || true
trap 'as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null' EXIT

if [[ ${SKIP_LOAD:-0} != 1 ]]; then
	echo "== load $SCALE"
	psql_ -c "DROP EXTENSION IF EXISTS featstore CASCADE"
	psql_ -v datadir="$BENCH_WORK/data/$SCALE" -f "$HERE/sql/load.sql"
fi
# the group over tx, as the issue spells it; the featstore methods run only if it exists
FS_OK=0
if psql_ -f "$HERE/sql/featstore_group.sql" > "$BENCH_WORK/featstore_group.log" 2>&1; then
	FS_OK=1
else
	echo "== featstore: the group cannot be created here (no featstore methods):"
	grep -m3 -E 'ERROR|HINT' "$BENCH_WORK/featstore_group.log" || true
fi

declare -A Q SETS
Q[lateral]="$(grep -v '^--' "$HERE/sql/lateral.sql")"
# the sensible tunings: spine in key order, Memoize and JIT off
Q[lateral_tuned]="$(grep -v '^--' "$HERE/sql/lateral.sql" | sed 's/^FROM labels s$/FROM (SELECT * FROM labels ORDER BY user_id, ts OFFSET 0) s/')"
SETS[lateral_tuned]="SET jit = off; SET enable_memoize = off;"
Q[lateral_filter]="$(grep -v '^--' "$HERE/sql/lateral_filter.sql")"
SETS[lateral_filter]="SET jit = off; SET enable_memoize = off;"
if [[ $FS_OK == 1 ]]; then
	# the marker join exactly as pit_join_sql writes it for this group
	Q[featstore]="$(psql_ -At -c "SELECT featstore.pit_join_sql('labels', '{user_tx_windows}', spine_ts => 'ts')")"
	Q[featstore_pit_join]="SELECT * FROM featstore.pit_join(NULL::win_proto, 'labels', '{user_tx_windows}', spine_ts => 'ts')"
	# the same join within a small work_mem: memory must stay bounded by it
	Q[featstore_lowmem]="${Q[featstore]}"
	SETS[featstore_lowmem]="SET work_mem = '${LOWMEM:-64MB}';"
	if [[ -n ${WORK_MEM:-} ]]; then
		SETS[featstore]="SET work_mem = '$WORK_MEM';"
		SETS[featstore_pit_join]="SET work_mem = '$WORK_MEM';"
	fi
fi

# checksum_of TABLE: the checksum line, floats rounded to 9 significant digits
checksum_of() {
	psql_ -At -v out="$1" -f "$HERE/sql/checksum.sql" | normalize_sum
}
normalize_sum() {
	awk -F'|' -v OFS='|' '{for (i = 8; i <= NF; i++) if ($i != "") $i = sprintf("%.8e", $i); print}'
}
temp_bytes() {
	psql_ -At -c "SELECT temp_files || ' ' || temp_bytes FROM pg_stat_database WHERE datname = 'postgres'"
}

# time_method NAME: median of RUNS timings of CREATE UNLOGGED TABLE out AS <query>
time_method() {
	local m=$1 times=() t ms peak med sum tb0 tb1
	python3 "$ANCHORS/memsample.py" "$(head -1 "$DATA/postmaster.pid")" "$BENCH_WORK/mem.txt" 0.1 &
	ms=$!
	sleep 0.5	# the baseline sample is taken before the first run starts
	tb0=$(temp_bytes)
	for ((i = 0; i < RUNS; i++)); do
		t=$(psql_ -c "DROP TABLE IF EXISTS out" -c "${SETS[$m]:-SET application_name = win_bench}" -c '\timing on' \
			-c "CREATE UNLOGGED TABLE out AS ${Q[$m]}" 2>&1 | tee "$BENCH_WORK/last_$m.log" |
			sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
		times+=("${t:-NaN}")
		[[ -n $t ]] || { grep -m2 ERROR "$BENCH_WORK/last_$m.log" >&2 || true; break; }
		# a long run anchors the method alone, as the anchors do: keeps the wall time bounded
		awk -v t="$t" -v l="${SINGLE_RUN_ABOVE:-120}" 'BEGIN {exit !(t / 1000 > l)}' && break
	done
	sleep 1.2	# pg_stat_database is flushed when the backends exit
	tb1=$(temp_bytes)
	kill "$ms"; wait "$ms" 2>/dev/null || true
	peak=$(awk 'NR == 1 {b = $2} $2 > m {m = $2} END {printf "%.0f", (m - b) / 1024}' "$BENCH_WORK/mem.txt")
	med=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]/1000}')
	sum=$(checksum_of out 2>/dev/null || echo FAILED)
	printf '%s\tpostgres\t%s\t%.3f\t%s\t%s\tpeak %s MB\ttemp %s\n' "$m" "$SCALE" "$med" \
		"$(printf '%s,' "${times[@]}")" "$sum" "$peak" \
		"$(awk -v a="$tb0" -v b="$tb1" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%d files %.0f MB", y[1] - x[1], (y[2] - x[2]) / 1048576}')" |
		tee -a "$RES"
}

[[ ${APPEND:-0} == 1 ]] || : > "$RES"
echo "== postgres ($RUNS runs each) at $(date -u +%H:%M:%SZ)"
DEFAULT_METHODS="lateral lateral_tuned lateral_filter"
[[ $FS_OK == 1 ]] && DEFAULT_METHODS="featstore featstore_pit_join featstore_lowmem $DEFAULT_METHODS"
for m in ${METHODS:-$DEFAULT_METHODS}; do
	[[ -n ${Q[$m]:-} ]] || { echo "skip $m (not available)"; continue; }
	time_method "$m"
done
# COVERING=1: again with a covering index, so both the probes and the
# source's ordered read can be index-only scans
if [[ ${COVERING:-0} == 1 ]]; then
	echo "== covering index (user_id, event_time, ingested_at) INCLUDE (amount, merchant_id, status)"
	psql_ -c '\timing on' -c "CREATE INDEX tx_cov ON tx (user_id, event_time, ingested_at) INCLUDE (amount, merchant_id, status)" -c "VACUUM ANALYZE tx" | grep Time
	COV_DEFAULT="lateral_filter"
	[[ $FS_OK == 1 ]] && COV_DEFAULT="featstore lateral_filter"
	for m in ${METHODS_COV:-$COV_DEFAULT}; do
		Q[${m}_cov]="${Q[$m]}"; SETS[${m}_cov]="${SETS[$m]:-}"
		time_method "${m}_cov"
	done
	[[ $FS_OK == 1 ]] && psql_ -c "EXPLAIN (ANALYZE, TIMING OFF) ${Q[featstore]}" > "$OUTDIR/win_${SCALE}_plan_cov.txt" 2>&1 || true
	psql_ -c "DROP INDEX tx_cov"
fi
if [[ $FS_OK == 1 ]]; then
	psql_ -c "${SETS[featstore]:-SET application_name = win_bench}" -c "EXPLAIN (ANALYZE, TIMING OFF) ${Q[featstore]}" \
		> "$OUTDIR/win_${SCALE}_plan.txt" 2>&1 || true
fi
as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; trap - EXIT

if [[ ${DUCK:-1} == 1 ]]; then
	echo "== duckdb (${DUCK_THREADS:-2,1} threads) at $(date -u +%H:%M:%SZ)"
	[[ -f $BENCH_WORK/duck/node_modules/@duckdb/node-api/package.json ]] ||
		(mkdir -p "$BENCH_WORK/duck" && cd "$BENCH_WORK/duck" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
			npm install --no-audit --no-fund @duckdb/node-api >/dev/null)
	D="$BENCH_WORK/duck_$SCALE.tsv"; : > "$D"
	node "$HERE/duck_windows.mjs" "$SCALE" "$D" --runs "$RUNS" --threads "${DUCK_THREADS:-2,1}" \
		--single-run-above "${SINGLE_RUN_ABOVE:-120}" \
		--methods "${DUCK_METHODS:-frames,join_groupby}" | grep '^\[duck' || true
	# the same checksum format as PostgreSQL's
	awk -F'\t' -v OFS='\t' '{print $1, $2, $3, $4, $5, $6, $7, ""}' "$D" |
		while IFS=$'\t' read -r a b c d e f g h; do
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$a" "$b" "$c" "$d" "$e" "$(printf '%s\n' "$f" | normalize_sum)" "$g" "$h"
		done | tee -a "$RES"
fi

echo "== checksums (every method must equal lateral's)"
REF=$(awk -F'\t' '$1 == "lateral" {print $6}' "$RES")
awk -F'\t' -v ref="$REF" '{printf "%-22s %s\n", $1, ($6 == ref ? "= lateral" : "DIFFERS: " $6)}' "$RES"
echo "== ratios (median time of the peer / median time of featstore), one run"
awk -F'\t' '{t[$1] = $4} END {
	if ("featstore" in t && t["featstore"] + 0 > 0) b = t["featstore"]
	else { b = t["lateral_filter"]; print "(no featstore: relative to lateral_filter)" }
	for (m in t) printf "%-22s %9.3f s  x%.2f\n", m, t[m], t[m] / b }' "$RES" | sort -k2 -g
