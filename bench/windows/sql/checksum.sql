-- psql -v out=out -f checksum.sql: one line, the same columns as DuckDB's.
-- Integers are summed exactly, weighted by w = spine_id % 1009 + 1 so a
-- value on the wrong row shows; floats are summed as numeric and compared
-- after rounding to 9 significant digits (win_bench.sh does it).
SELECT count(*) AS n,
       sum(spine_id) AS sum_id,
       sum(tx_count_1h * (spine_id % 1009 + 1)) AS c1h,
       sum(tx_count_24h * (spine_id % 1009 + 1)) AS c24h,
       sum(unique_merchants_7d * (spine_id % 1009 + 1)) AS d7,
       count(tx_amount_sum_1h) || '/' || count(max_single_tx_24h) || '/' || count(tx_amount_avg_30d)
         || '/' || count(tx_amount_std_30d) || '/' || count(last_merchant) AS nonnull,
       sum(substr(last_merchant, 2)::bigint * (spine_id % 1009 + 1)) AS last_m,
       sum(tx_amount_sum_1h::numeric * (spine_id % 1009 + 1)) AS s1h,
       sum(max_single_tx_24h::numeric * (spine_id % 1009 + 1)) AS m24h,
       sum(tx_amount_avg_30d::numeric * (spine_id % 1009 + 1)) AS a30d,
       sum(tx_amount_std_30d::numeric * (spine_id % 1009 + 1)) AS sd30d
FROM :out
