#!/bin/bash
# run.sh: monitoring benchmarks (issue 11, part ops) against a throwaway
# PostgreSQL (featstore preloaded) and Redis on loopback.  Results go to
# bench/monitor/results/.
#
#   PG_CONFIG=... bench/monitor/run.sh [stats_freshness] [ingest]
#
# stats_freshness: the online worker's commit-to-Redis freshness for other
#   groups, p50/p99, with no statistics run and while compute_stats() of a
#   large group runs back to back (BIG_N rows in one day, 8 features;
#   FRESH_RATE rows/s for FRESH_S s per phase).
# ingest: COPY of INGEST_N rows into a history table with the monitor off
#   (MONITOR NONE, no schedule) and on (MONITOR EVERY, FRESHNESS, scheduled
#   statistics and skew checks), each with and without the BRIN index on
#   event_timestamp every history table has; best of INGEST_RUNS (5).
# Runs under nice: the machine may be shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
OUTDIR=$ROOT/bench/monitor/results
mkdir -p "$OUTDIR"

make -s -j2 PG_CONFIG="$PG_CONFIG" >/dev/null
make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
W=$(mktemp -d /tmp/featstore-monitor-bench.XXXXXX)
chmod 755 "$W"
chown postgres "$W"
PGPORT=$(free_port)
REDIS_PORT=$(free_port)
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
	[ -f "$W/postgres.log" ] && grep -E "PANIC|FATAL|ERROR|terminated by signal|server process" "$W/postgres.log" | grep -v "statement:" | tail -5 || true
	as_pg "$BINDIR/pg_ctl" -D "$W/pgdata" -m fast stop >/dev/null 2>&1 || true
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

nice redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
	--daemonize yes --dir "$W" --pidfile "$W/redis.pid" --logfile "$W/redis.log"
as_pg "$BINDIR/initdb" -D "$W/pgdata" -U postgres -A trust >/dev/null
cat >> "$W/pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$W'
shared_preload_libraries = 'featstore'
featstore.database = 'bench'
featstore.redis_port = $REDIS_PORT
shared_buffers = '512MB'
max_wal_size = '4GB'
synchronous_commit = on
CONF
as_pg nice "$BINDIR/pg_ctl" -D "$W/pgdata" -l "$W/postgres.log" -w start >/dev/null
as_pg "$BINDIR/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres bench

export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=bench REDIS_PORT
STAMP=$(date -u +%Y%m%dT%H%MZ)
export OUT="$OUTDIR/monitor-$STAMP.json"
nice /usr/bin/python3 bench/monitor/monitor_bench.py "$@" | tee "$OUTDIR/monitor-$STAMP.log"
