#!/bin/bash
# run.sh: online-store benchmarks against a throwaway PostgreSQL (featstore
# preloaded) and Redis on loopback.  Results go to bench/online/results/.
#
#   PG_CONFIG=... bench/online/run.sh [bulk] [freshness] [ingest] [read]
#       [win_freshness] [win_expiry] [win_ingest]   (groups FROM a source, issue 10)
#
# Sizes: BULK_N (200000 entities), FRESH_S (10 s per rate), INGEST_N (500000
# rows), READ_N (20000 reads), EXPIRY_N (500 entities).  Runs under nice: the machine may be shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
OUTDIR=$ROOT/bench/online/results
mkdir -p "$OUTDIR"

make -s -j2 PG_CONFIG="$PG_CONFIG" >/dev/null
make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
gcc -O2 -Wall -Wextra -o "$OUTDIR/../read_latency" bench/online/read_latency.c -lhiredis

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
W=$(mktemp -d /tmp/featstore-online-bench.XXXXXX)
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
export OUT="$OUTDIR/online-$STAMP.json"
nice /usr/bin/python3 bench/online/online_bench.py "$@" | tee "$OUTDIR/online-$STAMP.log"
if [ $# -eq 0 ] || [[ " $* " == *" read "* ]]; then
	echo "C (hiredis), 1 entity x 3 groups, pipelined:" | tee -a "$OUTDIR/online-$STAMP.log"
	nice "$OUTDIR/../read_latency" 127.0.0.1 "$REDIS_PORT" 20000 \
		'fs:bench:{bench_user:424242}:bench_a' 'fs:bench:{bench_user:424242}:bench_b' 'fs:bench:{bench_user:424242}:bench_c' \
		| tee -a "$OUTDIR/online-$STAMP.log"
fi
{ echo; echo "machine: $(nproc) cores, $(redis-server --version | cut -d' ' -f1-3), PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}')"; } \
	| tee -a "$OUTDIR/online-$STAMP.log"
