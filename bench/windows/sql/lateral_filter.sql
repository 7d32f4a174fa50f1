-- The oracle's tuning: one probe of the longest bounded window (30 days)
-- with FILTER for the shorter ones, plus the unbounded last(); the spine
-- sorted by key so consecutive probes share pages.
SELECT s.spine_id, s.user_id, s.ts, s.label,
       a.tx_count_1h, a.tx_amount_sum_1h, a.tx_count_24h, a.max_single_tx_24h,
       a.unique_merchants_7d, a.tx_amount_avg_30d, a.tx_amount_std_30d, u.last_merchant
FROM (SELECT * FROM labels ORDER BY user_id, ts OFFSET 0) s
LEFT JOIN LATERAL (
  SELECT count(*) FILTER (WHERE event_time > s.ts - interval '1 hour') AS tx_count_1h,
         sum(amount) FILTER (WHERE event_time > s.ts - interval '1 hour') AS tx_amount_sum_1h,
         count(*) FILTER (WHERE event_time > s.ts - interval '24 hours') AS tx_count_24h,
         max(amount) FILTER (WHERE event_time > s.ts - interval '24 hours') AS max_single_tx_24h,
         count(DISTINCT merchant_id) FILTER (WHERE event_time > s.ts - interval '168 hours') AS unique_merchants_7d,
         avg(amount) AS tx_amount_avg_30d, stddev_samp(amount) AS tx_amount_std_30d
    FROM tx
   WHERE tx.user_id = s.user_id AND event_time > s.ts - interval '720 hours' AND event_time <= s.ts
     AND status <> 'declined') a ON true
LEFT JOIN LATERAL (
  SELECT merchant_id AS last_merchant FROM tx
   WHERE tx.user_id = s.user_id AND event_time <= s.ts AND status <> 'declined'
   ORDER BY event_time DESC, ingested_at DESC LIMIT 1) u ON true
