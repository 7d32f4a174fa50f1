#!/bin/bash
# bench/shards/run.sh [HISTORY_ROWS] [SPINE_ROWS]: the point-in-time join over
# a sharded history (issue 14) against the same join on one server, and the
# bytes that cross between the coordinator and its shards.
#
# Starts three throwaway PostgreSQL servers (a coordinator, shard_a, shard_b)
# from PG_CONFIG's installation, which must have featstore installed, on
# loopback TCP ports, as the postgres user when run as root.  A role alice,
# with password user mappings, makes one group sharded PARTITION BY HASH
# (user_id) PARTITIONS 4 ON SERVERS (shard_a, shard_b) and one plain group on
# the coordinator, fills both with the same rows (HISTORY_ROWS, default
# 1000000, over HISTORY_ROWS/10 entities), and a spine of SPINE_ROWS
# (default 100000) sharded the same way and local.
#
# Bytes are the coordinator's TCP sockets to the shards' ports as ss reports
# them (bytes_received, bytes_acked), read from inside the coordinator's
# session (psql's \!) before and after each statement, so only that
# session's postgres_fdw connections count.  Nothing else connects to the
# shards while it runs.
set -euo pipefail
H=${1:-1000000}
S=${2:-100000}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BIN=$("$PG_CONFIG" --bindir)
ENT=$((H / 10))
WORK=$(mktemp -d /tmp/featstore-shards.XXXXXX)
chmod 755 "$WORK"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres: "$WORK"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

NODES="coord shard_a shard_b"
declare -A PORT
cleanup() {
	for n in $NODES; do as_pg "$BIN/pg_ctl" -D "$WORK/$n" -m fast stop >/dev/null 2>&1 || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT
for n in $NODES; do
	PORT[$n]=$(free_port)
	as_pg "$BIN/initdb" -D "$WORK/$n" -A trust -U postgres >/dev/null
	cat >> "$WORK/$n/postgresql.conf" <<CONF
port = ${PORT[$n]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
shared_preload_libraries = 'featstore'
featstore.database = 'no_such_database'
jit = off
max_parallel_workers_per_gather = 0
shared_buffers = '256MB'
work_mem = '64MB'
CONF
	{ echo "host all alice 127.0.0.1/32 scram-sha-256"; cat "$WORK/$n/pg_hba.conf"; } > "$WORK/$n/hba" &&
		mv "$WORK/$n/hba" "$WORK/$n/pg_hba.conf"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$WORK/$n/pg_hba.conf"
	as_pg "$BIN/pg_ctl" -D "$WORK/$n" -l "$WORK/$n.log" -w start >/dev/null
	as_pg "$BIN/psql" -X -q -h "$WORK" -p "${PORT[$n]}" -U postgres -d postgres -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION featstore;
CREATE ROLE alice LOGIN PASSWORD 'alice-pw';
GRANT USAGE ON LANGUAGE featstore TO alice;
GRANT featstore_reader TO alice;
GRANT CREATE ON SCHEMA public TO alice;
SQL
done
PA=${PORT[shard_a]}
PB=${PORT[shard_b]}
psql_node() { as_pg "$BIN/psql" -X -q -h "$WORK" -p "${PORT[$1]}" -U postgres -d postgres -v ON_ERROR_STOP=1 "${@:2}"; }

psql_node coord <<SQL
CREATE EXTENSION postgres_fdw;
CREATE EXTENSION dblink;
CREATE SERVER shard_a FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '127.0.0.1', port '$PA', dbname 'postgres', extensions 'featstore', fetch_size '10000');
CREATE SERVER shard_b FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '127.0.0.1', port '$PB', dbname 'postgres', extensions 'featstore', fetch_size '10000');
GRANT USAGE ON FOREIGN SERVER shard_a, shard_b TO alice;
SET ROLE alice;
CREATE USER MAPPING FOR alice SERVER shard_a OPTIONS (user 'alice', password 'alice-pw');
CREATE USER MAPPING FOR alice SERVER shard_b OPTIONS (user 'alice', password 'alice-pw');
SELECT count(*) FROM featstore.exec(\$\$
	CREATE ENTITY user (user_id bigint);
	CREATE FEATURE GROUP g ENTITY user FEATURES (v integer, s text) TTL '3 days'
		PARTITION BY HASH (user_id) PARTITIONS 4 ON SERVERS (shard_a, shard_b);
	CREATE FEATURE GROUP g_local ENTITY user FEATURES (v integer, s text) TTL '3 days';
\$\$);
SQL
for n in shard_a shard_b; do
	psql_node "$n" -c "SET ROLE alice; $(for r in 0 1 2 3; do printf 'CREATE TABLE spine_h%s (sid bigint, user_id bigint, ts timestamptz);' "$r"; done)"
done
psql_node coord <<SQL
SET ROLE alice;
CREATE TABLE spine (sid bigint, user_id bigint, ts timestamptz) PARTITION BY HASH (user_id);
$(for r in 0 1 2 3; do s=shard_a; [ $((r % 2)) = 1 ] && s=shard_b
	printf "CREATE FOREIGN TABLE spine_p%s PARTITION OF spine FOR VALUES WITH (MODULUS 4, REMAINDER %s) SERVER %s OPTIONS (table_name 'spine_h%s', batch_size '1000');\n" "$r" "$r" "$s" "$r"; done)
SELECT setseed(0.14);
CREATE UNLOGGED TABLE src AS
SELECT (random() * ($ENT - 1))::bigint + 1 AS user_id,
       timestamptz '2026-06-01 00:00+00' + random() * interval '30 days' AS event_timestamp,
       timestamptz '2026-06-01 00:00+00' + random() * interval '35 days' AS created_at,
       (random() * 1000)::int AS v, md5(random()::text) AS s
  FROM generate_series(1, $H);
INSERT INTO g_local SELECT * FROM src ON CONFLICT DO NOTHING;
CREATE UNLOGGED TABLE spine_local AS
SELECT g AS sid, (random() * ($ENT - 1))::bigint + 1 AS user_id,
       timestamptz '2026-06-02 00:00+00' + random() * interval '30 days' AS ts
  FROM generate_series(1, $S) g;
\timing on
\echo == route the history to the shards (INSERT through the coordinator, $H rows)
INSERT INTO g SELECT * FROM g_local;
\echo == route the spine to the shards ($S rows)
INSERT INTO spine SELECT * FROM spine_local;
\timing off
SQL
for n in shard_a shard_b; do psql_node "$n" -c "VACUUM ANALYZE"; done
psql_node coord -c "VACUUM ANALYZE"

cat > "$WORK/bytes.sh" <<SH
ss -tinH "( dport = :$PA or dport = :$PB )" |
	awk '{ for (i = 1; i <= NF; i++) { if (\$i ~ /^bytes_received:/) { split(\$i, a, ":"); r += a[2] }
		if (\$i ~ /^bytes_acked:/) { split(\$i, a, ":"); s += a[2] } } } END { printf "received %d sent %d\\n", r, s }'
SH

JOIN="SELECT s.sid, f.v, f.s FROM %s s LEFT JOIN %s f ON f.user_id = s.user_id
	AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts, interval '3 days')"
# shellcheck disable=SC2059
SHARDED=$(printf "$JOIN" spine g)
# shellcheck disable=SC2059
LOCAL=$(printf "$JOIN" spine_local g_local)
psql_node coord <<SQL
SET ROLE alice;
SET enable_partitionwise_join = on;
\echo == plan of the sharded join
EXPLAIN (VERBOSE, COSTS OFF) $SHARDED;
\echo == history and result sizes
SELECT pg_size_pretty(pg_table_size('g_local')) AS history_heap_on_one_server,
       (SELECT count(*) FROM g_local) AS history_rows;
SELECT count(*) AS result_rows, count(v) AS matched, sum(octet_length(sid::text) + coalesce(octet_length(v::text), 0) + coalesce(octet_length(s), 0)) AS result_text_bytes
  FROM ($LOCAL) j;
\o /dev/null
SELECT * FROM spine_p0 LIMIT 1;
SELECT * FROM spine_p1 LIMIT 1;
\o
TRUNCATE spine;
\echo == bytes (received by the coordinator, sent by it) before
\! sh $WORK/bytes.sh
\timing on
\echo == ship the spine to the shards again ($S rows, INSERT routed by hash)
INSERT INTO spine SELECT * FROM spine_local;
\timing off
\echo == bytes after shipping the spine
\! sh $WORK/bytes.sh
\timing on
\echo == the sharded join (pushed down), result discarded
\o /dev/null
$SHARDED;
\o
\timing off
\echo == bytes after the sharded join
\! sh $WORK/bytes.sh
\timing on
\echo == pulling the history to the coordinator (what a coordinator-side join would read)
\o /dev/null
SELECT user_id, event_timestamp, created_at, v, s FROM g;
\o
\timing off
\echo == bytes after the pull
\! sh $WORK/bytes.sh
\timing on
\echo == the same join on one server (plain group, local spine)
\o /dev/null
$LOCAL;
$LOCAL;
\o
\echo == the sharded join again
\o /dev/null
$SHARDED;
\o
\timing off
\echo == results equal
SELECT count(*) AS differences FROM (($SHARDED) EXCEPT ALL ($LOCAL)) d;
SQL
