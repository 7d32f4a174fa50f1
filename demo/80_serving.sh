#!/bin/bash
# 8. Serving at scale (issue 13): a second database with the same groups and
# entities and its own worker, each writing under its own namespace; the
# Python client (a training frame and an online read); featstore-serve over
# HTTP; and the same online store moved onto a local Redis Cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
# the checkout's featstore.so (the build) must not shadow the Python package
export PYTHONSAFEPATH=1
WORK=$(mktemp -d /tmp/featstore-demo-serving.XXXXXX)
chmod 755 "$WORK"
SERVE_PID=
CLUSTER_PORTS=()
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null || true
	for p in "${CLUSTER_PORTS[@]}"; do
		redis-cli -h 127.0.0.1 -p "$p" shutdown nosave >/dev/null 2>&1 || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

# a loopback port that is free, and whose cluster bus port (+10000) is too
free_port() {
	$PY -c 'import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    if p > 55000: continue
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p + 10000)); print(p); break
    except OSError: pass'
}
# wait_verified DB waits (at most 30 s) until verify_online finds no difference
# in any online group of DB, and says so
wait_verified() {
	local db=$1 left
	for _ in $(seq 300); do
		left=$($PSQL -d "$db" -At -c "SELECT coalesce(sum((SELECT count(*) FROM featstore.verify_online(name))), 0)
		                                 FROM featstore.feature_groups WHERE online")
		[ "$left" = 0 ] && { echo "-- $db: verify_online finds 0 differences in every online group"; return 0; }
		sleep 0.1
	done
	echo "demo: $db still has $left differences between Redis and the join at now()" >&2
	return 1
}

echo
echo '== 8. Serving at scale: two databases, the Python client, featstore-serve, a Redis Cluster'
echo
# The second database: the same entity and group, other values.  The
# launcher notices CREATE EXTENSION and starts a worker for it.
$PSQL -c 'CREATE DATABASE featstore_demo_eu'
$PSQL -d featstore_demo_eu <<'SQL'
CREATE EXTENSION featstore;
SELECT command, object_name FROM featstore.exec($$
	CREATE ENTITY merchant (merchant_id bigint) DESCRIPTION 'A card acceptor' OWNER 'payments';
	CREATE FEATURE GROUP merchant_features ENTITY merchant
		FEATURES (chargeback_rate_90d double precision 'Chargebacks per sale, 90 days',
				  tx_count_7d bigint 'Sales in the last 7 days')
		TTL '7 days' ONLINE OWNER 'payments';
$$);
INSERT INTO merchant_features (merchant_id, event_timestamp, chargeback_rate_90d, tx_count_7d)
SELECT m, now(), 0.5, 9000 + m FROM generate_series(1, 300) m;
SQL
echo '-- one worker per database, each naming its database (pg_stat_activity):'
for _ in $(seq 100); do
	n=$($PSQL -At -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'featstore online worker %'")
	[ "$n" -ge 2 ] && break
	sleep 0.1
done
$PSQL -c "SELECT application_name, datname FROM pg_stat_activity
           WHERE application_name LIKE 'featstore online worker %' ORDER BY 1"
for db in featstore_demo featstore_demo_eu; do
	$PSQL -d "$db" -At -c "SELECT '-- ' || current_database() || ' writes its keys under the namespace ' || featstore.online_namespace()"
	wait_verified "$db"
done
echo '-- merchant 17 in Redis, read with redis-py under each namespace (docs/online-store.md, Key and Value layout):'
$PY - <<'PY'
import os, msgpack, redis
r = redis.Redis(host="127.0.0.1", port=int(os.environ["REDIS_PORT"]))
for ns in ("featstore_demo", "featstore_demo_eu"):
    key = "fs:%s:{merchant:17}:merchant_features" % ns
    v = msgpack.unpackb(r.get(key), raw=False)["features"]
    print("   %-48s chargeback_rate_90d = %s, tx_count_7d = %s" % (key, v["chargeback_rate_90d"], v["tx_count_7d"]))
PY

# The Python client, installed from python/ with Debian's packages only
$PY -m pip install -q --root-user-action=ignore --no-deps --no-build-isolation --no-index --target "$WORK/pylib" ./python
export PYTHONPATH="$WORK/pylib"
echo
echo '-- the Python client (docs/python.md): a training frame for three labels, then an online read'
$PY - <<'PY'
import os
import pandas as pd
from featstore import FeatureStore

store = FeatureStore("host=127.0.0.1 port=%s user=postgres dbname=featstore_demo" % os.environ["PGPORT"],
                     redis_url="redis://127.0.0.1:%s/0" % os.environ["REDIS_PORT"])
labels = pd.DataFrame({"user_id": ["u0001", "u0002", "u0003"], "merchant_id": [17, 42, 17],
                       "ts": pd.to_datetime(["2026-10-20 12:00", "2026-10-21 09:30", "2026-10-28 18:00"], utc=True),
                       "is_fraud": [False, True, False]})
train = store.get_historical_features(labels, service="fraud_model_v3").to_df()
cols = ["user_id", "ts", "is_fraud", "tx_count_24h", "unique_merchants_7d", "last_merchant", "chargeback_rate_90d"]
print(train[cols].to_string(index=False))
print(train[cols].dtypes.to_string())
online = store.get_online_features("fraud_model_v3", [{"user_id": "u0001", "merchant_id": 17}]).to_dict()
print({k: online[k] for k in ("user_id", "merchant_id", "tx_count_1h", "last_merchant", "chargeback_rate_90d")})
PY

# featstore-serve, as an unprivileged user, on a loopback port
SERVE_PORT=$(free_port)
echo
echo "-- featstore-serve (docs/serving.md) on 127.0.0.1:$SERVE_PORT, as the user postgres:"
FEATSTORE_DSN="host=127.0.0.1 port=$PGPORT user=postgres dbname=featstore_demo" \
FEATSTORE_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" FEATSTORE_SERVE_PORT=$SERVE_PORT \
FEATSTORE_SERVE_USER=postgres "$WORK/pylib/bin/featstore-serve" > "$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$SERVE_PORT/health" > /dev/null 2>&1 && break
	sleep 0.1
done
echo '$ curl -s -X POST /get-online-features -d {"service": "fraud_model_v3", "entities": [...]}'
curl -sf -X POST "http://127.0.0.1:$SERVE_PORT/get-online-features" -H 'Content-Type: application/json' \
	-d '{"service": "fraud_model_v3", "entities": [{"user_id": "u0001", "merchant_id": 17}, {"user_id": "nobody", "merchant_id": 17}]}' \
	| $PY -c 'import json, sys
for row in json.load(sys.stdin)["results"]:
    print("  ", row["entity"], {f: (row["features"][f], row["status"][f]) for f in ("tx_count_1h", "chargeback_rate_90d")})'
echo '$ curl -s /get-online-features with an unknown service:'
curl -s -o /dev/null -w '   HTTP %{http_code}\n' -X POST "http://127.0.0.1:$SERVE_PORT/get-online-features" \
	-H 'Content-Type: application/json' -d '{"service": "no_such_model", "entities": [{"user_id": "u0001"}]}'
echo '$ curl -s /metrics | grep featstore_serve_requests_total'
curl -sf "http://127.0.0.1:$SERVE_PORT/metrics" | grep '^featstore_serve_requests_total' | sed 's/^/   /'
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=

# A Redis Cluster of three masters on loopback; the online store moves there
echo
echo '-- a local Redis Cluster of three masters; featstore.redis_cluster = on, then materialize():'
for i in 1 2 3; do
	p=$(free_port); CLUSTER_PORTS+=("$p")
	mkdir -p "$WORK/cluster-$p"
	redis-server --bind 127.0.0.1 --port "$p" --cluster-enabled yes --cluster-config-file "$WORK/cluster-$p/nodes.conf" \
		--save '' --appendonly no --daemonize yes --dir "$WORK/cluster-$p" --logfile "$WORK/cluster-$p/log"
done
for p in "${CLUSTER_PORTS[@]}"; do
	for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$p" ping > /dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create "${CLUSTER_PORTS[@]/#/127.0.0.1:}" --cluster-yes > "$WORK/cluster-create.log"
for _ in $(seq 100); do
	redis-cli -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok' && break
	sleep 0.1
done
$PSQL -c "ALTER SYSTEM SET featstore.redis_port = ${CLUSTER_PORTS[0]}" \
	  -c "ALTER SYSTEM SET featstore.redis_cluster = 'on'" -c 'SELECT pg_reload_conf()' > /dev/null
sleep 1
for db in featstore_demo featstore_demo_eu; do
	$PSQL -d "$db" -c "SELECT current_database(), name AS online_group, featstore.materialize(name) AS entities_written
	                     FROM featstore.feature_groups WHERE online ORDER BY name"
	wait_verified "$db"
done
echo '-- the cluster holds the keys, each on its slot'"'"'s master (redis-cli -c, CLUSTER KEYSLOT):'
for key in 'fs:featstore_demo:{user:u0001}:user_transaction_features' 'fs:featstore_demo_eu:{merchant:17}:merchant_features'; do
	slot=$(redis-cli -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}" cluster keyslot "$key")
	exists=$(redis-cli -c -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}" exists "$key")
	echo "   $key: slot $slot (featstore.redis_key_slot: $($PSQL -At -c "SELECT featstore.redis_key_slot('$key')")), exists $exists"
done
echo '-- and the Python client reads the same service through redis-py'"'"'s RedisCluster:'
CLUSTER_URL="redis+cluster://127.0.0.1:${CLUSTER_PORTS[0]},127.0.0.1:${CLUSTER_PORTS[1]}" $PY - <<'PY'
import os
from featstore import FeatureStore
store = FeatureStore("host=127.0.0.1 port=%s user=postgres dbname=featstore_demo" % os.environ["PGPORT"],
                     redis_url=os.environ["CLUSTER_URL"])
online = store.get_online_features("fraud_model_v3", [{"user_id": "u0001", "merchant_id": 17}]).to_dict()
print("  ", {k: online[k] for k in ("user_id", "merchant_id", "tx_count_1h", "last_merchant", "chargeback_rate_90d")})
PY
# back to the standalone Redis, as the earlier steps left it
$PSQL -c "ALTER SYSTEM RESET featstore.redis_port" -c "ALTER SYSTEM RESET featstore.redis_cluster" \
	  -c 'SELECT pg_reload_conf()' > /dev/null
