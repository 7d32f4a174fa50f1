#!/bin/bash
# 5. Online store: the worker keeps Redis equal to the point-in-time join at
# now().  Stream new feature rows in, read feature vectors back from Redis with
# the Python example, rebuild Redis after it lost its keys, then show the
# worker's status and a verification.
set -euo pipefail
cd "$(dirname "$0")/.."
# wait_caught_up waits (at most 30 s) until the worker has pushed everything
wait_caught_up() {
	for _ in $(seq 300); do
		left=$($PSQL -At -c "SELECT coalesce(sum(queue_depth), 0) FROM featstore.materialization_status")
		[ "$left" = 0 ] && return 0
		sleep 0.1
	done
}

echo
echo '== 5. Online store: stream transactions in, read feature vectors back from Redis'
echo
wait_caught_up		# the history loaded above is a backlog of its own
$PSQL <<'SQL'
-- Payments keep arriving: 1,000 users pay now, one commit per 100 users.
-- Each commit queues the users it touched; the worker recomputes their
-- windows from transactions and writes them to Redis.  merchant_features is
-- an ordinary group: its batch job writes fresh values.
DO $$
BEGIN
	FOR batch IN 0..9 LOOP
		INSERT INTO transactions (user_id, merchant_id, amount, ts)
		SELECT user_id, 1 + (batch * 7 + n) % 300, 20.0 + 10 * n, now()
		  FROM (SELECT DISTINCT user_id FROM transactions ORDER BY user_id
				 LIMIT 100 OFFSET batch * 100) u,
			   generate_series(1, 1 + batch % 3) n;
		INSERT INTO merchant_features (merchant_id, event_timestamp, chargeback_rate_90d, tx_count_7d)
		SELECT m, now(), 0.001 * (m % 7), 100 + m FROM generate_series(batch * 30 + 1, batch * 30 + 30) m;
		COMMIT;
	END LOOP;
END
$$;
SQL

wait_caught_up

# A service reads Redis only: it learns the groups and services once from an
# export of the registry, so that a misspelt name is an error, not a null.
DEFS=$(mktemp /tmp/featstore-definitions.XXXXXX.json)
trap 'rm -f "$DEFS"' EXIT
$PSQL -A -t -f examples/featstore_definitions.sql > "$DEFS"
echo '-- the feature vector of fraud_model_v3 for two card payments (user and merchant), read straight'
echo '-- from Redis in one round trip (examples/online_client.py; times in UTC):'
/usr/bin/python3 examples/online_client.py --port "$REDIS_PORT" --definitions "$DEFS" \
	--service fraud_model_v3 --row 'user=u0001;merchant=17' --row 'user=u0002;merchant=42'
echo '-- and the same from SQL, for debugging:'
$PSQL -c "SELECT status, features->>'tx_count_1h' AS tx_count_1h, features->>'last_merchant' AS last_merchant, redis_key
            FROM featstore.online_features('user_transaction_features', 'u0001')"

echo '-- time passes: a new card holder, u9001, pays three times now; tx_count_10s counts them, then falls'
echo '-- back to nothing ten seconds later with no new write (the worker rewrites the key as they leave the window)'
$PSQL -c "INSERT INTO transactions (user_id, merchant_id, amount, ts)
          SELECT 'u9001', 5, 12.5, now() FROM generate_series(1, 3)"
wait_caught_up
$PSQL -c "SELECT 'just after' AS at, status, features->>'tx_count_10s' AS tx_count_10s
            FROM featstore.online_features('user_live_activity', 'u9001')"
sleep 11
$PSQL -c "SELECT '11 s later' AS at, status, features->>'tx_count_10s' AS tx_count_10s
            FROM featstore.online_features('user_live_activity', 'u9001')"

echo '-- Redis loses its keys (FLUSHDB, not a restart the worker would notice); materialize() rebuilds'
echo '-- them: source groups from their transactions, ordinary groups from their history tables:'
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" flushdb >/dev/null
$PSQL -c "SELECT featstore.materialize('user_transaction_features') AS users,
                 featstore.materialize('merchant_features') AS merchants"
wait_caught_up
echo "-- keys in Redis again: $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" dbsize) (entities with a value now)"
$PSQL -c "SELECT group_name, worker_state, last_success, lag, queue_depth, entities_written, last_error
            FROM featstore.materialization_status ORDER BY group_name"
echo '-- Redis agrees with the point-in-time join at now(), for every group:'
$PSQL -c "SELECT g AS group_name, (SELECT count(*) FROM featstore.verify_online(g)) AS differences
            FROM unnest(ARRAY['user_transaction_features', 'user_live_activity', 'merchant_features']) g"
