-- The oracle: one LATERAL aggregate per window, probing tx (user_id,
-- event_time, ingested_at); window (t - w, t], WHERE status <> 'declined'.
SELECT s.spine_id, s.user_id, s.ts, s.label,
       h1.tx_count_1h, h1.tx_amount_sum_1h, d1.tx_count_24h, d1.max_single_tx_24h,
       d7.unique_merchants_7d, d30.tx_amount_avg_30d, d30.tx_amount_std_30d, u.last_merchant
FROM labels s
LEFT JOIN LATERAL (
  SELECT count(*) AS tx_count_1h, sum(amount) AS tx_amount_sum_1h FROM tx
   WHERE tx.user_id = s.user_id AND event_time > s.ts - interval '1 hour' AND event_time <= s.ts
     AND status <> 'declined') h1 ON true
LEFT JOIN LATERAL (
  SELECT count(*) AS tx_count_24h, max(amount) AS max_single_tx_24h FROM tx
   WHERE tx.user_id = s.user_id AND event_time > s.ts - interval '24 hours' AND event_time <= s.ts
     AND status <> 'declined') d1 ON true
LEFT JOIN LATERAL (
  SELECT count(DISTINCT merchant_id) AS unique_merchants_7d FROM tx
   WHERE tx.user_id = s.user_id AND event_time > s.ts - interval '168 hours' AND event_time <= s.ts
     AND status <> 'declined') d7 ON true
LEFT JOIN LATERAL (
  SELECT avg(amount) AS tx_amount_avg_30d, stddev_samp(amount) AS tx_amount_std_30d FROM tx
   WHERE tx.user_id = s.user_id AND event_time > s.ts - interval '720 hours' AND event_time <= s.ts
     AND status <> 'declined') d30 ON true
LEFT JOIN LATERAL (
  SELECT merchant_id AS last_merchant FROM tx
   WHERE tx.user_id = s.user_id AND event_time <= s.ts AND status <> 'declined'
   ORDER BY event_time DESC, ingested_at DESC LIMIT 1) u ON true
