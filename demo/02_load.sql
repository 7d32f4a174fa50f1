\echo
\echo '== 2. Load a synthetic history: 2,000 users, 300 merchants, 30 days of card transactions'
\echo
SELECT setseed(0.42) \gset
-- heavy-tailed activity: a few users transact a lot.  Each row reached the
-- database 5 minutes after it happened; 3% were declined, and declined
-- payments do not count toward the features (the group's WHERE).
INSERT INTO transactions (user_id, merchant_id, amount, status, ts, ingested_at)
SELECT user_id, merchant_id, amount, status, ts, ts + interval '5 minutes'
  FROM (SELECT 'u' || lpad((1 + floor(2000 * power(random(), 2)))::int::text, 4, '0') AS user_id,
			   1 + floor(300 * random())::bigint AS merchant_id,
			   round((5 + 200 * power(random(), 3))::numeric, 2)::double precision AS amount,
			   CASE WHEN random() < 0.03 THEN 'declined' ELSE 'approved' END AS status,
			   timestamptz '2026-10-01 00:00+00' + random() * interval '30 days' AS ts
		  FROM generate_series(1, 60000)) g;
CREATE INDEX ON transactions (user_id, ts);
CREATE INDEX ON transactions (merchant_id, ts);

-- merchant_features is an ordinary group: a batch job computes its values
-- and writes them to the group's history table.
INSERT INTO merchant_features (merchant_id, event_timestamp, created_at, chargeback_rate_90d, tx_count_7d)
SELECT t.merchant_id, s.snap, s.snap + interval '1 hour', round((random() * 0.02)::numeric, 4)::double precision, count(*)
  FROM generate_series(timestamptz '2026-10-02 00:00+00', '2026-10-31 00:00+00', interval '1 day') s(snap)
  JOIN transactions t ON t.ts > s.snap - interval '7 days' AND t.ts <= s.snap
 GROUP BY t.merchant_id, s.snap;

-- A transaction arriving late: two payments of 2026-10-20 reached the
-- database only on 2026-10-22 (a batch from an offline terminal).  ts is
-- when they happened; ingested_at says when we learned of them, which is
-- what as_of and strict training sets look at.
INSERT INTO transactions (user_id, merchant_id, amount, ts, ingested_at)
VALUES ('u0001', 7, 180.00, '2026-10-20 12:00+00', '2026-10-22 09:00+00'),
	   ('u0002', 9, 95.50, '2026-10-20 13:00+00', '2026-10-22 09:00+00');

-- Labels for training: transactions later found to be fraudulent (about 2%)
CREATE TABLE fraud_labels AS
SELECT user_id, ts AS event_timestamp, merchant_id, amount, (random() < 0.02) AS is_fraud
  FROM transactions WHERE ts >= '2026-10-08' AND status <> 'declined';
ANALYZE transactions, merchant_features, fraud_labels;

SELECT 'transactions (the source)' AS "table", count(*) AS rows FROM transactions
UNION ALL SELECT 'merchant_features', count(*) FROM merchant_features
UNION ALL SELECT 'fraud_labels (spine)', count(*) FROM fraud_labels;
