#!/bin/bash
# run.sh: bulk materialization onto a Redis Cluster of 3 masters and 3
# replicas (issue 13), against redis-benchmark --cluster -P 64 SET of values
# of the same size on the same cluster, in the same run.  A throwaway
# PostgreSQL (featstore preloaded, featstore.redis_cluster = on) and six
# redis-server processes on free loopback ports; results go to
# bench/cluster/results/.
#
#   PG_CONFIG=... bench/cluster/run.sh          BULK_N entities (default 1000000)
#
# Runs under nice: the machine may be shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
OUTDIR=$ROOT/bench/cluster/results
mkdir -p "$OUTDIR"

make -s -j2 PG_CONFIG="$PG_CONFIG" >/dev/null
make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

W=$(mktemp -d /tmp/featstore-cluster-bench.XXXXXX)
chmod 755 "$W"
chown postgres "$W"
# seven distinct free ports: the sockets are held open together while chosen
read -r PGPORT P1 P2 P3 P4 P5 P6 < <(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(7)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
PORTS=("$P1" "$P2" "$P3" "$P4" "$P5" "$P6")
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
	[ -f "$W/postgres.log" ] && grep -E "PANIC|FATAL|ERROR|terminated by signal|server process" "$W/postgres.log" | grep -v "statement:" | tail -5 || true
	as_pg "$BINDIR/pg_ctl" -D "$W/pgdata" -m fast stop >/dev/null 2>&1 || true
	for p in "${PORTS[@]}"; do redis-cli -h 127.0.0.1 -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
	rm -rf "$W"
}
trap cleanup EXIT

for p in "${PORTS[@]}"; do
	mkdir "$W/redis_$p"
	nice redis-server --bind 127.0.0.1 --port "$p" --cluster-enabled yes \
		--cluster-config-file "$W/redis_$p/nodes.conf" --cluster-node-timeout 5000 \
		--save '' --appendonly no --daemonize yes --dir "$W/redis_$p" \
		--pidfile "$W/redis_$p/redis.pid" --logfile "$W/redis_$p/redis.log"
done
for p in "${PORTS[@]}"; do
	for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
	redis-cli -p "$p" ping >/dev/null || { echo "redis-server on $p did not start"; exit 1; }
done
redis-cli --cluster create $(for p in "${PORTS[@]}"; do printf '127.0.0.1:%s ' "$p"; done) \
	--cluster-replicas 1 --cluster-yes >/dev/null
for _ in $(seq 100); do
	redis-cli -p "${PORTS[0]}" cluster info | grep -q cluster_state:ok && break
	sleep 0.1
done

as_pg "$BINDIR/initdb" -D "$W/pgdata" -U postgres -A trust >/dev/null
cat >> "$W/pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$W'
shared_preload_libraries = 'featstore'
featstore.database = 'bench'
featstore.redis_cluster = on
featstore.redis_port = ${PORTS[0]}
featstore.redis_cluster_nodes = '127.0.0.1:${PORTS[1]},127.0.0.1:${PORTS[2]}'
featstore.redis_timeout = '10s'
shared_buffers = '512MB'
max_wal_size = '4GB'
synchronous_commit = on
CONF
as_pg nice "$BINDIR/pg_ctl" -D "$W/pgdata" -l "$W/postgres.log" -w start >/dev/null
as_pg "$BINDIR/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres bench

export PGHOST=127.0.0.1 PGPORT PGUSER=postgres PGDATABASE=bench
export CLUSTER_PORTS="${PORTS[*]}" BULK_N=${BULK_N:-1000000}
STAMP=$(date -u +%Y%m%dT%H%MZ)
export OUT="$OUTDIR/cluster-$STAMP.json"
nice /usr/bin/python3 bench/cluster/cluster_bench.py | tee "$OUTDIR/cluster-$STAMP.log"
