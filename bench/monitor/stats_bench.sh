#!/usr/bin/env bash
# stats_bench.sh: the cost of featstore's statistics (issue 11): compute_stats
# for 1 day and for 30 days of a 10M-row, 8-feature group (10M rows over 30
# days, ~333k a day, in event order as a feed writes them), the 1-day read
# with and without the BRIN index on event_timestamp, and the exact engine
# (compute_stats' sorted walk) against PostgreSQL's own exact aggregates
# (percentile_cont, count(DISTINCT), width_bucket) and against sketches
# (tdigest percentiles, HyperLogLog distinct counts), over the same day.
#
#   PG_CONFIG=$(scripts/private-pg.sh /tmp/pg-bench) nice bench/monitor/stats_bench.sh
#
# featstore must be installed in that PostgreSQL (make install), and
# postgresql-15-tdigest and postgresql-15-hll for the sketch rows.
# Env: ROWS (10000000), RUNS (3: the median is reported), WORK_MEM (64MB),
#      BENCH_WORK (/tmp/featstore-stats-bench), PGB_PORT (56471),
#      KEEP (1: keep the cluster and its data for another run).
# Results: bench/monitor/results/stats.tsv (what, median elapsed s, median
# backend CPU s, the runs' elapsed s)
# and stats_env.txt (the machine, the sizes, the settings).
set -euo pipefail
ROWS=${ROWS:-10000000}
RUNS=${RUNS:-3}
WORK_MEM=${WORK_MEM:-64MB}
BENCH_WORK=${BENCH_WORK:-/tmp/featstore-stats-bench}
PORT=${PGB_PORT:-56471}
PG_CONFIG=${PG_CONFIG:?set PG_CONFIG to a PostgreSQL with featstore installed}
BIN=$("$PG_CONFIG" --bindir)
HERE="$(cd "$(dirname "$0")" && pwd)"
OUTDIR="$HERE/results"; mkdir -p "$OUTDIR"
RES="$OUTDIR/stats.tsv"
ENV="$OUTDIR/stats_env.txt"
DATA="$BENCH_WORK/data"; SOCK="$BENCH_WORK/sock"

as_pg() { runuser -u postgres -- "$@"; }
psql_() { as_pg "$BIN/psql" -X -q -At -h "$SOCK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

mkdir -p "$BENCH_WORK" "$SOCK"; chown postgres: "$BENCH_WORK" "$SOCK"
if [[ ! -f $DATA/PG_VERSION ]]; then
	as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
	cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = ''
port = $PORT
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'featstore'
shared_buffers = 2GB
work_mem = $WORK_MEM
maintenance_work_mem = 1GB
max_parallel_workers_per_gather = 2
CONF
fi
as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1 || as_pg "$BIN/pg_ctl" -D "$DATA" -l "$BENCH_WORK/log" -w start >/dev/null
stop() { [[ ${KEEP:-0} == 1 ]] || { as_pg "$BIN/pg_ctl" -D "$DATA" -w stop -m fast >/dev/null; rm -rf "$BENCH_WORK"; }; }
trap stop EXIT

# the group: 8 features of the kinds a fraud feed has (5 numeric, a date,
# a boolean, a text), 100k entities, 10M rows over 30 days
if [[ $(psql_ -c "SELECT count(*) FROM pg_extension WHERE extname = 'featstore'") == 0 ]]; then
	psql_ <<SQL
CREATE EXTENSION featstore;
CREATE EXTENSION tdigest;
CREATE EXTENSION hll;
DO LANGUAGE featstore \$\$
CREATE ENTITY customer (customer_id bigint);
CREATE FEATURE GROUP txn_stats ENTITY customer FEATURES (
    amount double precision, amount_7d double precision, risk double precision, n_24h integer,
    balance numeric(12,2), first_seen date, is_foreign boolean, country text);
\$\$;
SELECT setseed(0.42);
INSERT INTO txn_stats (customer_id, event_timestamp, amount, amount_7d, risk, n_24h, balance,
                       first_seen, is_foreign, country)
SELECT (i::bigint * 7919) % 100000,
       timestamptz '2026-01-01 00:00+00' + (i::float8 / $ROWS) * interval '30 days',
       exp(random() * 6), random() * 5000, CASE WHEN random() < 0.1 THEN NULL ELSE random() END,
       (random() * 40)::int, round((random() * 100000)::numeric, 2),
       date '2020-01-01' + (random() * 2000)::int, random() < 0.07,
       (ARRAY['FR','DE','US','GB','ES','IT','NL','BE','PL','SE','PT','IE','AT','DK','FI','NO',
              'CH','CZ','GR','HU','RO','BG','HR','SK','SI','LT','LV','EE','LU','MT'])[1 + (random() * 29)::int]
  FROM generate_series(1, $ROWS) AS i;
VACUUM ANALYZE txn_stats;
SQL
fi

{
	echo "date: $(date -u +%FT%TZ)"
	echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(uname -r)"
	echo "postgres: $(psql_ -c 'SELECT version()')"
	echo "settings: shared_buffers=2GB work_mem=$WORK_MEM max_parallel_workers_per_gather=2"
	echo "rows: $(psql_ -c 'SELECT count(*) FROM txn_stats'), one day: $(psql_ -c "SELECT count(*) FROM txn_stats WHERE event_timestamp >= '2026-01-15 00:00+00' AND event_timestamp < '2026-01-16 00:00+00'")"
	psql_ -c "SELECT 'size ' || c.relname || ': ' || pg_size_pretty(pg_relation_size(c.oid)) FROM pg_class c WHERE c.relname LIKE 'txn_stats%' ORDER BY 1"
} > "$ENV"

# time_sql WHAT SQL: RUNS runs; the medians of the elapsed time and of the
# backend's CPU time (user + system, log_statement_stats), in seconds,
# appended to the results.  On a shared machine the elapsed time includes
# waiting for a core; the CPU time does not.
time_sql() {
	local what=$1 sql=$2 times=() cpus=() stats
	for _ in $(seq "$RUNS"); do
		stats=$(runuser -u postgres -- env PGOPTIONS='-c log_statement_stats=on -c client_min_messages=log' \
			"$BIN/psql" -X -q -At -h "$SOCK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "$sql" 2>&1 >/dev/null |
			grep -E 's user, .* s system, .* s elapsed' | tail -1)
		times+=("$(echo "$stats" | sed -E 's/.* ([0-9.]+) s elapsed.*/\1/')")
		cpus+=("$(echo "$stats" | sed -E 's/[^0-9]*([0-9.]+) s user, ([0-9.]+) s system.*/\1 \2/' | awk '{printf "%.3f", $1 + $2}')")
	done
	local median cpu
	median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf '%s\t%s\t%s\t%s\n' "$what" "$median" "$cpu" "$(IFS=,; echo "${times[*]}")" | tee -a "$RES"
}

DAY="'2026-01-15 00:00+00', '2026-01-16 00:00+00'"
DAY_WHERE="event_timestamp >= '2026-01-15 00:00+00' AND event_timestamp < '2026-01-16 00:00+00'"
printf 'what\telapsed_median_s\tcpu_median_s\telapsed_runs_s\n' > "$RES"
time_sql "compute_stats 1 day (333k rows, 8 features)" "SELECT featstore.compute_stats('txn_stats', $DAY)"
RUNS=1 time_sql "compute_stats 30 days (10M rows, 8 features)" "SELECT featstore.compute_stats('txn_stats', '2026-01-01 00:00+00', '2026-01-31 00:00+00')"
time_sql "compute_stats 1 day, work_mem 4MB" "SET work_mem = '4MB'; SELECT featstore.compute_stats('txn_stats', $DAY)"
time_sql "read 1 day only (count, BRIN)" "SELECT count(*) FROM txn_stats WHERE $DAY_WHERE"
# PostgreSQL's own exact aggregates, every statistic of the 5 numeric and 3 categorical features
EXACT_NUM=""
for f in amount amount_7d risk n_24h balance "date_part('epoch', first_seen::timestamp)"; do
	EXACT_NUM+="count($f), count(DISTINCT $f), min($f::float8), max($f::float8), avg($f::float8), stddev_samp($f::float8),
	percentile_cont((SELECT array_agg(k / 100.0::float8) FROM generate_series(0, 100) k)) WITHIN GROUP (ORDER BY $f::float8), "
done
time_sql "SQL exact: percentile_cont(101) + count(DISTINCT) + moments, 6 numeric, 1 day" \
	"SELECT ${EXACT_NUM%, } FROM txn_stats WHERE $DAY_WHERE"
time_sql "SQL exact: width_bucket histograms, 6 numeric, 1 day" \
	"WITH d AS (SELECT * FROM txn_stats WHERE $DAY_WHERE), m AS (SELECT min(amount) a0, max(amount) a1, min(risk) r0, max(risk) r1, min(balance) b0, max(balance) b1 FROM d)
	 SELECT (SELECT array_agg(c) FROM (SELECT least(width_bucket(amount, a0, a1, 20), 20) b, count(*) c FROM d, m GROUP BY 1) x),
	        (SELECT array_agg(c) FROM (SELECT least(width_bucket(risk, r0, r1, 20), 20) b, count(*) c FROM d, m WHERE risk IS NOT NULL GROUP BY 1) x),
	        (SELECT array_agg(c) FROM (SELECT least(width_bucket(balance, b0, b1, 20), 20) b, count(*) c FROM d, m GROUP BY 1) x)"
time_sql "SQL exact: top 20 + count(DISTINCT), 2 categorical, 1 day" \
	"SELECT (SELECT array_agg(c) FROM (SELECT country, count(*) c FROM txn_stats WHERE $DAY_WHERE GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20) x),
	        (SELECT count(DISTINCT country) FROM txn_stats WHERE $DAY_WHERE),
	        (SELECT array_agg(c) FROM (SELECT is_foreign, count(*) c FROM txn_stats WHERE $DAY_WHERE GROUP BY 1) y)"
SKETCH=""
for f in amount amount_7d risk n_24h balance "date_part('epoch', first_seen::timestamp)"; do
	SKETCH+="tdigest_percentile($f::float8, 100, (SELECT array_agg(k / 100.0::float8) FROM generate_series(0, 100) k)),
	hll_cardinality(hll_add_agg(hll_hash_any($f))), "
done
time_sql "sketch: tdigest(100) 101 percentiles + hll distinct, 6 numeric, 1 day" \
	"SELECT ${SKETCH%, } FROM txn_stats WHERE $DAY_WHERE"
RUNS=1 time_sql "sketch: tdigest + hll, 6 numeric, 30 days" \
	"SELECT ${SKETCH%, } FROM txn_stats"
# the same day's statistics without the BRIN index: the whole history is scanned
BRIN=$(psql_ -c "SELECT indexrelid::regclass FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE indrelid = 'txn_stats'::regclass AND a.amname = 'brin'")
time_sql "compute_stats 1 day, BRIN index dropped (scan of 10M)" \
	"BEGIN; DROP INDEX $BRIN; SELECT featstore.compute_stats('txn_stats', $DAY); ROLLBACK"
# how exact the sketches are on this day, against the exact stored statistics
psql_ -c "SELECT featstore.compute_stats('txn_stats', $DAY)" >/dev/null
psql_ <<SQL | tee -a "$ENV"
SELECT 'sketch error, amount: tdigest p50 ' || round((100 * abs(t[51] - s.p50) / s.p50)::numeric, 4) || '% off, p99 '
       || round((100 * abs(t[100] - s.p99) / s.p99)::numeric, 4) || '% off; hll distinct '
       || h || ' vs exact ' || s.distinct_count || ' (' || round((100 * abs(h - s.distinct_count) / s.distinct_count)::numeric, 2) || '% off)'
  FROM featstore.feature_stats s,
       (SELECT tdigest_percentile(amount, 100, (SELECT array_agg(k / 100.0::float8) FROM generate_series(0, 100) k)) AS t,
               hll_cardinality(hll_add_agg(hll_hash_any(amount))) AS h
          FROM txn_stats WHERE $DAY_WHERE) x
 WHERE s.group_name = 'txn_stats' AND s.feature_name = 'amount' AND s.period_start = '2026-01-15 00:00+00';
SQL
