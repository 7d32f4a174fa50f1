-- The generate_series alternative to gen_windows.c, kept to measure which
-- is faster to produce the events (docs/performance.md): the same columns
-- and a similar shape (power-law users, lognormal amounts, usual merchants,
-- statuses), from deterministic hashes of the row number, written as CSV.
-- Not the C generator's data: the benchmark uses gen.sh.
--   psql -v n=10000000 -v users=1000000 -v out=/path/tx_sql.csv -f gen_windows.sql
\set ON_ERROR_STOP 1
\timing on
COPY (
  SELECT user_id, event_time, event_time + delay AS ingested_at,
         round((exp(3.0 + 1.1 * z) * (CASE WHEN u4 < 0.01 THEN 50 ELSE 1 END))::numeric, 2) AS amount,
         'm' || CASE WHEN u3 < 0.6 THEN (user_id * 40503 + floor(u3 * 8.33)::int * 7919) % 50000 + 1
                     ELSE floor(u5 * 50000)::int + 1 END AS merchant_id,
         CASE WHEN u4 < 0.90 THEN 'approved' WHEN u4 < 0.97 THEN 'declined' ELSE 'pending' END AS status
    FROM (SELECT g,
                 (floor(:users * u1 * u1)::bigint * 2654435761 % :users) + 1 AS user_id,
                 timestamptz '2024-01-01 00:00:00+00' + floor(u2 * 15552000) * interval '1 second' AS event_time,
                 floor(u6 * 300000000) * interval '1 microsecond' AS delay,
                 sqrt(-2 * ln(greatest(u3, 1e-300))) * cos(2 * pi() * u5) AS z, u3, u4, u5
            FROM (SELECT g,
                         (hashint8extended(g, 1) & 4503599627370495)::float8 / 4503599627370496 AS u1,
                         (hashint8extended(g, 2) & 4503599627370495)::float8 / 4503599627370496 AS u2,
                         (hashint8extended(g, 3) & 4503599627370495)::float8 / 4503599627370496 AS u3,
                         (hashint8extended(g, 4) & 4503599627370495)::float8 / 4503599627370496 AS u4,
                         (hashint8extended(g, 5) & 4503599627370495)::float8 / 4503599627370496 AS u5,
                         (hashint8extended(g, 6) & 4503599627370495)::float8 / 4503599627370496 AS u6
                    FROM generate_series(1, :n) g) r) x
) TO :'out' (FORMAT csv);
