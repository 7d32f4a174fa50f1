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
-- The replayed history ends a month ago and its TTLs have passed: nothing is
-- served for it.  A streaming job now writes fresh values, one commit per
-- 100 users; every commit wakes the materialization worker.
DO $$
BEGIN
	FOR batch IN 0..9 LOOP
		INSERT INTO user_transaction_features
			(user_id, event_timestamp, tx_count_1h, tx_count_24h, tx_amount_sum_1h,
			 tx_amount_avg_30d, tx_amount_std_30d, unique_merchants_7d, max_single_tx_24h, is_new_device)
		SELECT user_id, now(), 1 + batch % 3, 5 + batch, 42.5 * (1 + batch % 3),
			   61.2, 17.9, 4, 120.0, 0
		  FROM (SELECT DISTINCT user_id FROM transactions ORDER BY user_id
				 LIMIT 100 OFFSET batch * 100) u;
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
$PSQL -c "SELECT status, features->>'tx_count_1h' AS tx_count_1h, age, redis_key
            FROM featstore.online_features('user_transaction_features', 'u0001')"
echo '-- Redis loses its keys (FLUSHDB, not a restart the worker would notice); materialize() rebuilds'
echo '-- them from the history tables, walking each group once:'
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" flushdb >/dev/null
$PSQL -c "SELECT featstore.materialize('user_transaction_features') AS users,
                 featstore.materialize('merchant_features') AS merchants"
wait_caught_up
echo "-- keys in Redis again: $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" dbsize) (entities whose latest value is within its TTL)"
$PSQL -c "SELECT group_name, worker_state, last_success, lag, queue_depth, entities_written, last_error
            FROM featstore.materialization_status ORDER BY group_name"
$PSQL -c "SELECT 'user_transaction_features' AS group_name, count(*) AS differences
            FROM featstore.verify_online('user_transaction_features')
          UNION ALL
          SELECT 'merchant_features', count(*) FROM featstore.verify_online('merchant_features')"
