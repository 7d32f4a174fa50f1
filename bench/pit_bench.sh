#!/usr/bin/env bash
# pit_bench.sh SCALE: time featstore's point-in-time join against LATERAL,
# Feast's generated SQL and DuckDB's exact ASOF join, in one run on one
# machine, on the shared anchors' data (see bench/README.md).
#
#   PG_CONFIG=$(scripts/private-pg.sh /tmp/pg-pit) nice bench/pit_bench.sh S
#
# Results go to bench/results/ (not committed): pit_SCALE.tsv (method,
# engine, scale, median s, runs, checksum), the node's EXPLAIN ANALYZE, and
# DuckDB's JSON.
#
# Env: RUNS (3), FEAST (1 = run Feast's SQL once; default 1 at S, 0 above),
#      DUCK (1), DUCK_THREADS (2,1), METHODS (postgres methods to run:
#      lateral, featstore_hash, featstore_merge, featstore_pit_join,
#      featstore_pit_join_plpgsql (pit_join() not inlined: the plpgsql path),
#      featstore_pit_join_serial, featstore_pit_join_plpgsql_serial (both with
#      featstore_serial's settings), and
#      featstore_auto (no setting: the planner's choice), featstore_serial
#      (parallel plan off), featstore_parallel (forced, the cluster's 2
#      workers per Gather), featstore_parallel1 (forced, 1 worker)),
#      WORK_MEM (work_mem for the featstore methods; the cluster has 256MB),
#      APPEND (1 = add to the results file), SKIP_LOAD (1 = data already loaded),
#      INTERLEAVE (1 = one run of each method in turn, RUNS rounds, no checksum),
#      ANCHORS (shared bench dir),
#      BENCH_WORK, PGB_PORT (55433).
#
#   L scale, featstore only, within 64MB:
#   WORK_MEM=64MB METHODS=featstore_pit_join RUNS=1 DUCK=0 bench/pit_bench.sh L
set -euo pipefail
SCALE=${1:?usage: pit_bench.sh XS|S|M|L}
RUNS=${RUNS:-3}
ANCHORS=${ANCHORS:-/work/shared/brief/bench}
FEAST_SQL=${FEAST_SQL:-$ANCHORS/../research/feast_style_pit.sql}
BENCH_WORK=${BENCH_WORK:-/tmp/featstore-pit-bench}; export BENCH_WORK
PORT=${PGB_PORT:-55433}
PG_CONFIG=${PG_CONFIG:?set PG_CONFIG to a PostgreSQL with featstore installed}
BIN=$("$PG_CONFIG" --bindir)
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [[ -z ${FEAST:-} ]]; then [[ $SCALE == S || $SCALE == XS ]] && FEAST=1 || FEAST=0; fi
OUTDIR="$ROOT/bench/results"; mkdir -p "$OUTDIR"
RES="$OUTDIR/pit_$SCALE.tsv"
DATA="$BENCH_WORK/pg/data"; SOCK="$BENCH_WORK/pg/sock"

as_pg() { runuser -u postgres -- "$@"; }
psql_() { as_pg "$BIN/psql" -X -q -h "$SOCK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

# a private copy of the anchors' scripts: duck_bench.mjs writes results next to itself
rm -rf "$BENCH_WORK/anchors"; mkdir -p "$BENCH_WORK"
cp -r "$ANCHORS" "$BENCH_WORK/anchors"; chmod -R u+w "$BENCH_WORK/anchors"
ANCHORS="$BENCH_WORK/anchors"
"$ANCHORS/gen.sh" "$SCALE"
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
statement_timeout = '600s'
temp_file_limit = '40GB'
CONF
fi
# the monitor worker off: its statistics pass over the loaded tables would
# take a core for minutes after every start, in the middle of the timings
as_pg "$BIN/pg_ctl" -D "$DATA" -l "$BENCH_WORK/pg/server.log" -o "-c featstore.monitor=off" -w start >/dev/null || true
trap 'as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null' EXIT

if [[ ${SKIP_LOAD:-0} != 1 ]]; then
echo "== load $SCALE"
psql_ -c "DROP VIEW IF EXISTS pit_proto" -c "DROP EXTENSION IF EXISTS featstore CASCADE"
psql_ -v datadir="$BENCH_WORK/data/$SCALE" -f "$ANCHORS/sql/pg/load.sql"
# the group in the registry, over the anchors' table, for pit_join()
psql_ <<'SQL'
DROP EXTENSION IF EXISTS featstore CASCADE;
CREATE EXTENSION featstore;
INSERT INTO featstore.entities (name) VALUES ('bench_user');
INSERT INTO featstore.entity_keys VALUES ('bench_user', 1, 'user_id', 'bigint');
INSERT INTO featstore.feature_groups (name, schema_name, table_name, entity_name, ttl)
VALUES ('user_tx', 'public', 'user_tx', 'bench_user', interval '2592000 seconds');
INSERT INTO featstore.features (group_name, name, data_type, position)
VALUES ('user_tx', 'f1', 'double precision', 1), ('user_tx', 'f2', 'bigint', 2), ('user_tx', 'f3', 'double precision', 3);
SELECT featstore.create_pit_view('pit_proto', 'labels', '{user_tx}');
SQL
fi

MARKER="SELECT l.spine_id, l.user_id, l.event_timestamp, l.label, f.f1, f.f2, f.f3
  FROM labels l LEFT JOIN user_tx f ON f.user_id = l.user_id
   AND featstore.pit_match(f.event_timestamp, f.created_at, l.event_timestamp, interval '2592000 seconds')"
declare -A Q
Q[lateral]="$(grep -v '^--' "$ANCHORS/sql/pg/m_lateral.sql")"
Q[featstore_hash]="$MARKER"
Q[featstore_merge]="$MARKER"
Q[featstore_auto]="$MARKER"
Q[featstore_serial]="$MARKER"
Q[featstore_parallel]="$MARKER"
Q[featstore_parallel1]="$MARKER"
Q[featstore_pit_join]="SELECT * FROM featstore.pit_join(NULL::pit_proto, 'labels', '{user_tx}')"
Q[featstore_pit_join_plpgsql]="${Q[featstore_pit_join]}"
Q[featstore_pit_join_serial]="${Q[featstore_pit_join]}"
Q[featstore_pit_join_plpgsql_serial]="${Q[featstore_pit_join]}"
Q[feast_style]="$(grep -v '^[[:space:]]*--' "$FEAST_SQL" | sed -e 's/;[[:space:]]*$//')"
declare -A SETS
SETS[featstore_hash]="SET featstore.pit_strategy = hash;"
SETS[featstore_merge]="SET featstore.pit_strategy = merge;"
# pit_join() through its plpgsql function (not inlined: issue 14's "before")
SETS[featstore_pit_join_plpgsql]="SET featstore.pit_join_inline = off;"
# the same, serial (as featstore_serial), where the run-to-run noise is smaller
SETS[featstore_pit_join_serial]="SET featstore.pit_strategy = hash; SET featstore.pit_parallel = off;"
SETS[featstore_pit_join_plpgsql_serial]="${SETS[featstore_pit_join_serial]} SET featstore.pit_join_inline = off;"
# the parallel-aware node (key-hash partitions under Gather): forbidden,
# forced with the cluster's workers per Gather, forced with one worker
SETS[featstore_serial]="SET featstore.pit_strategy = hash; SET featstore.pit_parallel = off;"
SETS[featstore_parallel]="SET featstore.pit_strategy = hash; SET featstore.pit_parallel = force;"
SETS[featstore_parallel1]="SET featstore.pit_strategy = hash; SET featstore.pit_parallel = force; SET max_parallel_workers_per_gather = 1;"
if [[ -n ${WORK_MEM:-} ]]; then
	for m in featstore_hash featstore_merge featstore_pit_join featstore_pit_join_plpgsql featstore_pit_join_serial featstore_pit_join_plpgsql_serial featstore_auto featstore_serial featstore_parallel featstore_parallel1; do
		SETS[$m]="${SETS[$m]:-} SET work_mem = '$WORK_MEM';"
	done
fi

# time_method NAME: median of RUNS timings of CREATE UNLOGGED TABLE out AS <query>, then its checksum
time_method() {
	local m=$1 runs=$2 times=() t ms peak
	# peak private memory of the server's processes, as the anchors measure it
	python3 "$ANCHORS/memsample.py" "$(head -1 "$DATA/postmaster.pid")" "$BENCH_WORK/mem.txt" 0.1 &
	ms=$!
	for ((i = 0; i < runs; i++)); do
		t=$(psql_ -c "DROP TABLE IF EXISTS out" -c "${SETS[$m]:-SELECT 1}" -c '\timing on' \
			-c "CREATE UNLOGGED TABLE out AS ${Q[$m]}" 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
		times+=("${t:-NaN}")
	done
	kill "$ms"; wait "$ms" 2>/dev/null || true
	peak=$(awk 'NR == 1 {b = $2} $2 > m {m = $2} END {printf "%.0f", (m - b) / 1024}' "$BENCH_WORK/mem.txt")
	local med sum
	med=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]/1000}')
	sum=$(psql_ -At -v out=out -f "$ANCHORS/sql/pg/checksum.sql" | tr '|' ' ')
	printf '%s\tpostgres\t%s\t%.3f\t%s\t%s\tpeak %s MB\n' "$m" "$SCALE" "$med" "$(printf '%s,' "${times[@]}")" "$sum" "$peak" | tee -a "$RES"
}

[[ ${APPEND:-0} == 1 ]] || : > "$RES"
echo "== postgres ($RUNS runs each)"
METHODS=${METHODS:-lateral featstore_hash featstore_merge featstore_pit_join}
if [[ ${INTERLEAVE:-0} == 1 ]]; then
	# one run of each method in turn, RUNS rounds: on a shared machine the
	# load then falls on every method alike (no peak memory in this mode)
	declare -A TIMES
	for ((i = 0; i < RUNS; i++)); do
		for m in ${METHODS//,/ }; do
			t=$(psql_ -c "DROP TABLE IF EXISTS out" -c "${SETS[$m]:-SELECT 1}" -c '\timing on' \
				-c "CREATE UNLOGGED TABLE out AS ${Q[$m]}" 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
			TIMES[$m]+="${t:-NaN},"
		done
	done
	for m in ${METHODS//,/ }; do
		med=$(printf '%s\n' ${TIMES[$m]//,/ } | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]/1000}')
		printf '%s\tpostgres\t%s\t%.3f\t%s\tinterleaved\n' "$m" "$SCALE" "$med" "${TIMES[$m]}" | tee -a "$RES"
	done
else
	for m in ${METHODS//,/ }; do
		time_method "$m" "$RUNS"
	done
fi
# the plan and counts of the node, for the record
psql_ -c "${SETS[featstore_pit_join]:-SELECT 1}" -c "EXPLAIN (ANALYZE, TIMING OFF) $MARKER" > "$OUTDIR/pit_${SCALE}_plan.txt"
psql_ -c "${SETS[featstore_parallel1]}" -c "EXPLAIN (ANALYZE, TIMING OFF) $MARKER" > "$OUTDIR/pit_${SCALE}_plan_parallel1.txt"
# pit_join(), inlined and through plpgsql
psql_ -c "EXPLAIN (ANALYZE, TIMING OFF) ${Q[featstore_pit_join]}" > "$OUTDIR/pit_${SCALE}_plan_pit_join.txt"
psql_ -c "${SETS[featstore_pit_join_plpgsql]}" -c "EXPLAIN (ANALYZE, TIMING OFF) ${Q[featstore_pit_join]}" > "$OUTDIR/pit_${SCALE}_plan_pit_join_plpgsql.txt"
[[ $FEAST == 1 ]] && time_method feast_style 1
as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; trap - EXIT

if [[ ${DUCK:-1} == 1 ]]; then
	echo "== duckdb (exact ASOF variants, ${DUCK_THREADS:-2,1} threads)"
	"$ANCHORS/setup.sh" >/dev/null
	(cd "$ANCHORS" && node duck_bench.mjs "$SCALE" --runs "$RUNS" --threads ${DUCK_THREADS:-2,1} --methods asof_struct,asof_dedup) 2>&1 | grep -v checksum
	cp "$ANCHORS/results/duck_$SCALE.json" "$OUTDIR/duck_$SCALE.json"
fi

echo "== ratios (median time of the peer / median time of featstore_hash)"
awk -F'\t' '{t[$1]=$4} END {b=t["featstore_hash"]; for (m in t) printf "%-20s %8.3f s  x%.1f\n", m, t[m], t[m]/b}' "$RES"
