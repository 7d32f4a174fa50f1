\echo
\echo '== 2. Load a synthetic history: 2,000 users, 300 merchants, 30 days of card transactions'
\echo
SELECT setseed(0.42) \gset
CREATE TABLE transactions (
	tx_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		text NOT NULL,
	merchant_id	bigint NOT NULL,
	amount		double precision NOT NULL,
	ts			timestamptz NOT NULL
);
-- heavy-tailed activity: a few users transact a lot
INSERT INTO transactions (user_id, merchant_id, amount, ts)
SELECT 'u' || lpad((1 + floor(2000 * power(random(), 2)))::int::text, 4, '0'),
	   1 + floor(300 * random())::bigint,
	   round((5 + 200 * power(random(), 3))::numeric, 2)::double precision,
	   timestamptz '2026-10-01 00:00+00' + random() * interval '30 days'
  FROM generate_series(1, 60000);
CREATE INDEX ON transactions (user_id, ts);
CREATE INDEX ON transactions (merchant_id, ts);
ANALYZE transactions;

-- Feature values are computed every 6 hours for each user who transacted in
-- that window, as a batch pipeline would.  This history is replayed, so it
-- says when each row was written: 5 minutes after its event time.  (Live
-- writers leave created_at out and the database stamps it.)
INSERT INTO user_transaction_features
	(user_id, event_timestamp, created_at, tx_count_1h, tx_count_24h, tx_amount_sum_1h,
	 tx_amount_avg_30d, tx_amount_std_30d, unique_merchants_7d, max_single_tx_24h, is_new_device)
SELECT u.user_id, s.snap, s.snap + interval '5 minutes',
	   count(*) FILTER (WHERE t.ts > s.snap - interval '1 hour'),
	   count(*) FILTER (WHERE t.ts > s.snap - interval '24 hours'),
	   coalesce(sum(t.amount) FILTER (WHERE t.ts > s.snap - interval '1 hour'), 0),
	   avg(t.amount),
	   coalesce(stddev(t.amount), 0),
	   count(DISTINCT t.merchant_id) FILTER (WHERE t.ts > s.snap - interval '7 days'),
	   coalesce(max(t.amount) FILTER (WHERE t.ts > s.snap - interval '24 hours'), 0),
	   (random() < 0.05)::int
  FROM generate_series(timestamptz '2026-10-01 06:00+00', '2026-10-31 00:00+00', interval '6 hours') s(snap)
  JOIN LATERAL (SELECT DISTINCT user_id FROM transactions
				 WHERE ts > s.snap - interval '6 hours' AND ts <= s.snap) u ON true
  JOIN transactions t ON t.user_id = u.user_id AND t.ts > s.snap - interval '30 days' AND t.ts <= s.snap
 GROUP BY u.user_id, s.snap;

INSERT INTO merchant_features (merchant_id, event_timestamp, created_at, chargeback_rate_90d, tx_count_7d)
SELECT t.merchant_id, s.snap, s.snap + interval '1 hour', round((random() * 0.02)::numeric, 4)::double precision, count(*)
  FROM generate_series(timestamptz '2026-10-02 00:00+00', '2026-10-31 00:00+00', interval '1 day') s(snap)
  JOIN transactions t ON t.ts > s.snap - interval '7 days' AND t.ts <= s.snap
 GROUP BY t.merchant_id, s.snap;

-- A correction arriving late: a recount for two users two days after the
-- fact.  event_timestamp is when the value was true; created_at says when
-- we learned it, which is what as_of and strict training sets look at.
INSERT INTO user_transaction_features
	(user_id, event_timestamp, created_at, tx_count_1h, tx_count_24h, tx_amount_sum_1h,
	 tx_amount_avg_30d, tx_amount_std_30d, unique_merchants_7d, max_single_tx_24h, is_new_device)
SELECT user_id, event_timestamp, event_timestamp + interval '2 days', tx_count_1h + 1, tx_count_24h + 1,
	   tx_amount_sum_1h, tx_amount_avg_30d, tx_amount_std_30d, unique_merchants_7d, max_single_tx_24h, is_new_device
  FROM user_transaction_features
 WHERE user_id IN ('u0001', 'u0002') AND event_timestamp >= '2026-10-20';

-- Labels for training: transactions later found to be fraudulent (about 2%)
CREATE TABLE fraud_labels AS
SELECT user_id, ts AS event_timestamp, merchant_id, amount, (random() < 0.02) AS is_fraud
  FROM transactions WHERE ts >= '2026-10-08';
ANALYZE user_transaction_features, merchant_features, fraud_labels;

SELECT 'transactions' AS "table", count(*) AS rows FROM transactions
UNION ALL SELECT 'user_transaction_features', count(*) FROM user_transaction_features
UNION ALL SELECT 'merchant_features', count(*) FROM merchant_features
UNION ALL SELECT 'fraud_labels (spine)', count(*) FROM fraud_labels;
