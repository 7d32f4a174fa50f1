#!/bin/bash
# demo.sh: the main job.  Installs what featstore needs, builds and installs
# it, starts a throwaway PostgreSQL (featstore preloaded) and Redis on
# loopback in a scratch directory, and runs the end-to-end fraud scenario in
# demo/ (its numbered .sql, .sh and .py steps, in order).
#
#   scripts/demo.sh          run, then stop the servers and remove the scratch dir
#   scripts/demo.sh --keep   leave the servers running and say how to stop them
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BINDIR=$("$PG_CONFIG" --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)

scripts/install-deps.sh
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "== building and installing featstore"
make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" >/dev/null
$SUDO make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

SCRATCH=$(mktemp -d /tmp/featstore-demo.XXXXXX)
chmod 755 "$SCRATCH"
PGPORT=$(free_port)
REDIS_PORT=$(free_port)
RUN_AS=postgres
if [ "$(id -u)" -ne 0 ]; then RUN_AS=$(id -un); fi
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}
chown "$RUN_AS" "$SCRATCH"

stop_servers() {
	as_pg "$BINDIR/pg_ctl" -D "$SCRATCH/pgdata" -m fast stop >/dev/null 2>&1 || true
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
	rm -rf "$SCRATCH"
}
if [ "$KEEP" -eq 0 ]; then trap stop_servers EXIT; fi

echo "== starting Redis on 127.0.0.1:$REDIS_PORT and PostgreSQL on 127.0.0.1:$PGPORT (scratch: $SCRATCH)"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
	--daemonize yes --dir "$SCRATCH" --pidfile "$SCRATCH/redis.pid" --logfile "$SCRATCH/redis.log"
as_pg "$BINDIR/initdb" -D "$SCRATCH/pgdata" -U postgres -A trust >/dev/null
cat >> "$SCRATCH/pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$SCRATCH'
shared_preload_libraries = 'featstore'
featstore.redis_host = '127.0.0.1'
featstore.redis_port = $REDIS_PORT
work_mem = '64MB'
# step 6 computes statistics, drift and freshness on demand, so that every
# run prints the same; the monitor worker would do it on its own schedule
featstore.monitor = off
CONF
as_pg "$BINDIR/pg_ctl" -D "$SCRATCH/pgdata" -l "$SCRATCH/postgres.log" -w start >/dev/null
as_pg "$BINDIR/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres featstore_demo

export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=featstore_demo REDIS_PORT
export PSQL="psql -X -q -v ON_ERROR_STOP=1 -P pager=off"
for step in demo/[0-9]*; do
	case "$step" in
	*.sql) $PSQL -f "$step" ;;
	*.sh) bash "$step" ;;
	*.py) /usr/bin/python3 "$step" ;;
	esac
done

echo
if [ "$KEEP" -eq 1 ]; then
	echo "== done; the servers are still running:"
	echo "   psql -h 127.0.0.1 -p $PGPORT -U postgres featstore_demo"
	echo "   stop them with: $BINDIR/pg_ctl -D $SCRATCH/pgdata stop (as $RUN_AS); redis-cli -p $REDIS_PORT shutdown nosave"
	echo "   README.md's tour needs a fresh database the worker serves; these replace featstore_demo"
	echo "   with an empty one and empty Redis (the worker reconnects within seconds):"
	echo "   $BINDIR/dropdb -h 127.0.0.1 -p $PGPORT -U postgres --force featstore_demo"
	echo "   $BINDIR/createdb -h 127.0.0.1 -p $PGPORT -U postgres featstore_demo"
	echo "   redis-cli -p $REDIS_PORT flushdb"
else
	echo "== done; PostgreSQL and Redis are stopped and $SCRATCH is removed (use --keep to explore)"
fi
