#!/bin/bash
# run.sh: the Python client's and featstore-serve's benchmarks against a
# throwaway PostgreSQL (featstore preloaded) and Redis on loopback.  Results
# go to bench/python/results/.
#
#   PG_CONFIG=... bench/python/run.sh [upload] [serve]
#
# upload: get_historical_features over UPLOAD_N entity rows (1000000) against
#         pandas-style to_sql + read_sql of the same join, alternated RUNS (3)
#         times in the same run, medians.
# serve:  featstore-serve latency, 1 entity x a service of 3 groups and 50
#         entities, over loopback with keep-alive (SERVE_N requests, 5000).
# Runs under nice: the machine may be shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
OUTDIR=$ROOT/bench/python/results
mkdir -p "$OUTDIR"

make -s -j2 PG_CONFIG="$PG_CONFIG" >/dev/null
make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
W=$(mktemp -d /tmp/featstore-python-bench.XXXXXX)
chmod 755 "$W"
chown postgres "$W"
PGPORT=$(free_port)
REDIS_PORT=$(free_port)
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
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
work_mem = '256MB'
max_wal_size = '4GB'
CONF
as_pg nice "$BINDIR/pg_ctl" -D "$W/pgdata" -l "$W/postgres.log" -w start >/dev/null
as_pg "$BINDIR/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres bench

export FEATSTORE_DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=bench"
export FEATSTORE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export PYTHONPATH=$ROOT/python PYTHONSAFEPATH=1 PYTHONDONTWRITEBYTECODE=1
# featstore-serve refuses root: as root, it switches to postgres (as the servers here run)
[ "$(id -u)" -eq 0 ] && export FEATSTORE_SERVE_USER=${FEATSTORE_SERVE_USER:-postgres}
STAMP=$(date -u +%Y%m%dT%H%MZ)
LOG="$OUTDIR/python-$STAMP.log"
set -- "${@:-upload serve}"
for what in $*; do
	case $what in
		upload) nice /usr/bin/python3 bench/python/upload_bench.py | tee -a "$LOG" ;;
		serve) nice /usr/bin/python3 bench/python/serve_latency.py | tee -a "$LOG" ;;
		*) echo "unknown benchmark $what" >&2; exit 2 ;;
	esac
done
{ echo; echo "machine: $(nproc) cores, $(redis-server --version | cut -d' ' -f1-3), PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}'), pandas $(/usr/bin/python3 -c 'import pandas; print(pandas.__version__)')"; } \
	| tee -a "$LOG"
