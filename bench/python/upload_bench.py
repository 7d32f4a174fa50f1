#!/usr/bin/python3
"""get_historical_features against pandas' to_sql + read_sql of the same
join (bench/python/run.sh upload).

The data: entity user (user_id text), group bench_tx (3 features, TTL 30
days, HIST_N rows over USERS users) and bench_profile (2 features, no TTL);
an entity DataFrame of UPLOAD_N rows (user_id, event_timestamp, label).

The baseline is what pandas' DataFrame.to_sql does through SQLAlchemy's
psycopg2 dialect (not packaged for Debian's python3 here, so written out):
CREATE TABLE, then the rows as Python objects in multi-row INSERTs of 1000
rows (psycopg2.extras.execute_values, SQLAlchemy's executemany mode for
psycopg2), then pandas.read_sql of featstore.pit_join_sql over that table.
The client: FeatureStore.get_historical_features(df, ...).to_df() (binary
COPY in, the join, CSV COPY out with typed parsing).  Both run RUNS times,
alternated, in the same run; the medians are printed.
"""
import os
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.extras

import featstore

DSN = os.environ["FEATSTORE_DSN"]
N = int(os.environ.get("UPLOAD_N", "1000000"))
RUNS = int(os.environ.get("RUNS", "3"))
USERS = int(os.environ.get("USERS", "100000"))
HIST_N = int(os.environ.get("HIST_N", "500000"))
FEATURES = ["bench_tx", "bench_profile"]


def setup(conn):
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS featstore")
        cur.execute("""
            SELECT * FROM featstore.exec($$
              CREATE ENTITY user (user_id text);
              CREATE FEATURE GROUP bench_tx ENTITY user FEATURES (
                  amount_avg double precision, tx_count bigint, last_merchant text) TTL '30 days';
              CREATE FEATURE GROUP bench_profile ENTITY user FEATURES (
                  country text, age integer);
            $$)""")
        cur.execute("""
            SELECT setseed(0.5);
            INSERT INTO bench_tx
            SELECT 'u' || (i %% %(users)s), t, t + interval '1 minute', random() * 100,
                   (random() * 1000)::bigint, 'm' || (i %% 977)
              FROM generate_series(1, %(hist)s) i,
                   LATERAL (SELECT timestamptz '2026-01-01 00:00+00'
                                   + random() * interval '300 days' + i * interval '0 s' AS t) x
            ON CONFLICT DO NOTHING;
            INSERT INTO bench_profile
            SELECT 'u' || i, timestamptz '2026-01-01 00:00+00' + (i %% 100) * interval '1 day',
                   timestamptz '2026-01-01 00:00+00' + (i %% 100) * interval '1 day',
                   (ARRAY['FR','DE','US','JP'])[1 + i %% 4], 18 + i %% 60
              FROM generate_series(0, %(users)s - 1) i;
            ANALYZE;""", {"users": USERS, "hist": HIST_N})
    conn.commit()


def entity_df():
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2026-01-01", tz="UTC").value
    span = 330 * 86400 * 10 ** 9
    ts = pd.to_datetime(start + rng.integers(0, span, N) // 1000 * 1000, utc=True)
    return pd.DataFrame({
        "user_id": ["u%d" % u for u in rng.integers(0, int(USERS * 1.1), N)],
        "event_timestamp": ts,
        "label": rng.integers(0, 2, N),
    })


def to_sql_like(df, conn, table):
    """What DataFrame.to_sql(table, engine, index=False) runs with SQLAlchemy's
    psycopg2 dialect: the rows as Python objects, 1000 per INSERT."""
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS %s" % table)
        cur.execute("CREATE TABLE %s (user_id text, event_timestamp timestamptz, label bigint)"
                    % table)
        # pandas' SQLTable.insert_data: datetimes as datetime objects, ints as ints
        cols = [df["user_id"].to_numpy(dtype=object),
                df["event_timestamp"].dt.to_pydatetime(),
                df["label"].to_numpy(dtype=object)]
        rows = list(zip(*cols))
        psycopg2.extras.execute_values(
            cur, "INSERT INTO %s (user_id, event_timestamp, label) VALUES %%s" % table,
            rows, page_size=1000)
    conn.commit()


def baseline(df, conn):
    t0 = time.perf_counter()
    to_sql_like(df, conn, "bench_spine")
    t1 = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("SELECT featstore.pit_join_sql('bench_spine', %s)", (FEATURES,))
        sql = cur.fetchone()[0]
    conn.rollback()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # pandas: "only SQLAlchemy ... supported"
        out = pd.read_sql(sql, conn)
    conn.rollback()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, out


def client(df, store, strategy=None):
    t0 = time.perf_counter()
    out = store.get_historical_features(df, features=FEATURES, pit_strategy=strategy).to_df()
    return time.perf_counter() - t0, out


def main():
    conn = psycopg2.connect(DSN)
    setup(conn)
    df = entity_df()
    store = featstore.FeatureStore(DSN)
    cl, cm, up, rd, tot = [], [], [], [], []
    for run in range(RUNS):
        t, out_c = client(df, store)
        cl.append(t)
        tm, out_m = client(df, store, "merge")
        cm.append(tm)
        a, b, out_b = baseline(df, conn)
        up.append(a)
        rd.append(b)
        tot.append(a + b)
        print("run %d: client %.2f s (pit_strategy merge %.2f s); to_sql %.2f s + read_sql %.2f s "
              "= %.2f s" % (run + 1, t, tm, a, b, a + b), flush=True)
    with conn.cursor() as cur:
        cur.execute("EXPLAIN SELECT * FROM (%s) q" % store.get_historical_features(
            df.iloc[:0], features=FEATURES).to_sql("bench_spine"))
        print("baseline plan: " + "; ".join(r[0].strip() for r in cur.fetchall() if "Strategy" in r[0]))
    conn.rollback()
    assert out_m.equals(out_c), "merge and the planner's choice differ"
    matched = int(out_c["amount_avg"].notna().sum())
    same = int(out_b["amount_avg"].notna().sum())
    print("rows %d, matched bench_tx %d (baseline %d); client dtypes: %s"
          % (len(out_c), matched, same,
             ", ".join("%s %s" % (c, t) for c, t in out_c.dtypes.items())))
    print("upload N=%d median: client %.2f s (merge %.2f s), to_sql + read_sql %.2f s (to_sql %.2f, "
          "read_sql %.2f), ratio %.1fx (merge %.1fx)"
          % (N, statistics.median(cl), statistics.median(cm), statistics.median(tot),
             statistics.median(up), statistics.median(rd),
             statistics.median(tot) / statistics.median(cl),
             statistics.median(tot) / statistics.median(cm)))


main()
