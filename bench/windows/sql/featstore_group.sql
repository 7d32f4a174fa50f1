-- The issue's group over the benchmark's source, in the documented
-- spelling (docs/ddl.md); OFFLINE: the offline benchmark needs no capture.
DROP EXTENSION IF EXISTS featstore CASCADE;
CREATE EXTENSION featstore;
DO LANGUAGE featstore $$
CREATE ENTITY bench_user (user_id bigint);
CREATE FEATURE GROUP user_tx_windows
    ENTITY bench_user
    FROM public.tx
    TIMESTAMP event_time
    CREATED ingested_at
    WHERE status <> 'declined'
    FEATURES (
        tx_count_1h         bigint            AS count(*)                     OVER '1 hour',
        tx_amount_sum_1h    double precision  AS sum(amount)                  OVER '1 hour',
        tx_count_24h        bigint            AS count(*)                     OVER '24 hours',
        max_single_tx_24h   double precision  AS max(amount)                  OVER '24 hours',
        unique_merchants_7d bigint            AS count(DISTINCT merchant_id)  OVER '7 days',
        tx_amount_avg_30d   double precision  AS avg(amount)                  OVER '30 days',
        tx_amount_std_30d   double precision  AS stddev_samp(amount)          OVER '30 days',
        last_merchant       text              AS last(merchant_id)
    )
    OFFLINE;
$$;
SELECT featstore.create_pit_view('win_proto', 'labels', '{user_tx_windows}', spine_ts => 'ts');
