#!/usr/bin/python3
"""Checks of the Python client's get_historical_features for
test/t/090_python_historical.pl.

The client's frame is compared with an independent oracle: the same entity
rows written with plain INSERTs (psycopg2 execute_values) into a table,
joined by hand-written LATERAL queries (the point-in-time rule of
docs/pit-semantics.md: same key, event_timestamp <= ts, >= ts - ttl, the
as_of and strict bounds, the greatest (event_timestamp, created_at)), read
with psycopg2's own casts.  Prints one line per difference and a summary
line "case=... rows=N values=M diffs=D".

  usage: client_historical_check.py DSN ROWS
"""
import datetime
import decimal
import math
import random
import sys
import uuid

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.extras

import featstore

DSN, ROWS = sys.argv[1], int(sys.argv[2])
UTC = datetime.timezone.utc
BASE = datetime.datetime(2026, 10, 1, tzinfo=UTC)
TEXTS = ["b:1", "b2", "", "x{y}%", "a,b", 'q"uote', "line\nbreak", "\\N", "x", None]
DEVS = [uuid.UUID(int=i * 7919) for i in range(1, 6)]

# group -> (features, ttl, keys)
GROUPS = {
    "spend": (["total", "n", "note", "ok", "seen", "r", "num", "arr", "small"], "1 day",
              ["bank", "card_id"]),
    "prof": (["country", "email"], None, ["bank", "card_id"]),
    "devg": (["score"], "2 hours", ["dev_id"]),
}


def entity_df(rng):
    n = ROWS
    ts = [BASE + datetime.timedelta(seconds=rng.randrange(0, 40 * 86400)) for _ in range(n)]
    for i in rng.sample(range(n), n // 50):
        ts[i] = None                       # NULL ts never matches
    df = pd.DataFrame({
        "bank": [rng.choice(TEXTS) for _ in range(n)],
        "card_id": [rng.randrange(0, 6) for _ in range(n)],
        "dev_id": [str(rng.choice(DEVS)) for _ in range(n)],
        "event_time": pd.to_datetime(ts, utc=True),
        "label": pd.array([rng.choice([0, 1, None]) for _ in range(n)], dtype="Int64"),
        'odd "name" %s; --': [rng.choice(TEXTS) for _ in range(n)],
    })
    df.index = pd.RangeIndex(1000, 1000 + n)   # a non-default index is kept
    return df


def oracle(conn, df, groups, as_of, strict):
    """{(row, column): value} by LATERAL queries over a spine of INSERTs."""
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS oracle_spine")
        cur.execute("CREATE TEMP TABLE oracle_spine (rn int, bank text, card_id bigint, "
                    "dev_id uuid, event_time timestamptz)")
        rows = []
        for rn, (b, c, d, t) in enumerate(zip(df.bank, df.card_id, df.dev_id, df.event_time)):
            rows.append((rn, b, int(c), d, None if pd.isna(t) else t.to_pydatetime()))
        psycopg2.extras.execute_values(cur, "INSERT INTO oracle_spine VALUES %s", rows,
                                       page_size=5000)
        out = {}
        for g in groups:
            feats, ttl, keys = GROUPS[g]
            conds = ["h.%s = s.%s" % (k, k) for k in keys]
            conds.append("h.event_timestamp <= s.event_time")
            if ttl:
                conds.append("h.event_timestamp >= s.event_time - interval '%s'" % ttl)
            if as_of:
                conds.append("h.created_at <= %(as_of)s")
            if strict:
                conds.append("h.created_at <= s.event_time")
            cur.execute("SELECT s.rn, %s FROM oracle_spine s LEFT JOIN LATERAL "
                        "(SELECT * FROM %s h WHERE %s ORDER BY h.event_timestamp DESC, "
                        "h.created_at DESC LIMIT 1) w ON true ORDER BY s.rn"
                        % (", ".join("w.%s" % f for f in feats), g, " AND ".join(conds)),
                        {"as_of": as_of})
            for r in cur.fetchall():
                for f, v in zip(feats, r[1:]):
                    out[(r[0], f)] = v
    conn.rollback()
    return out


def same(a, b):
    """a from the client frame, b from psycopg2."""
    if b is None:
        return a is None or a is pd.NA or a is pd.NaT or (isinstance(a, float) and math.isnan(a))
    if isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and math.isnan(a)
    if isinstance(b, datetime.datetime):
        return isinstance(a, pd.Timestamp) and a.to_pydatetime() == b
    if isinstance(b, decimal.Decimal):
        return isinstance(a, decimal.Decimal) and str(a) == str(b)
    if isinstance(b, bool):
        return isinstance(a, (bool, np.bool_)) and bool(a) == b
    if isinstance(b, float):
        return isinstance(a, (float, np.floating)) and float(a) == b
    if isinstance(b, int):
        return isinstance(a, (int, np.integer)) and int(a) == b
    return type(a) == type(b) and a == b


def run(store, conn, df, case, groups, **kw):
    job = store.get_historical_features(df, **kw)
    got = job.to_df()
    exp = oracle(conn, df, groups, kw.get("as_of"), kw.get("strict", False))
    diffs = values = nonnull = 0
    if not got[df.columns].equals(df) or not got.index.equals(df.index):
        print("case=%s: the entity columns or the index changed" % case)
        diffs += 1
    for (rn, f), v in exp.items():
        values += 1
        nonnull += v is not None
        a = got[f].iloc[rn]
        if not same(a, v):
            diffs += 1
            if diffs < 10:
                print("case=%s row=%d %s: client %r oracle %r" % (case, rn, f, a, v))
    print("case=%s rows=%d values=%d diffs=%d" % (case, len(got), values, diffs))
    print("case=%s nonnull=%d" % (case, nonnull))
    return got


def main():
    rng = random.Random(42)
    conn = psycopg2.connect(DSN)
    store = featstore.FeatureStore(DSN)
    df = entity_df(rng)
    got = run(store, conn, df, "groups", ["spend", "prof", "devg"],
              features=["spend", "prof", "devg"])
    print("dtypes " + " ".join("%s=%s" % (c, t) for c, t in got.dtypes.items()
                               if c not in df.columns))
    run(store, conn, df, "service", ["spend", "prof", "devg"], service="m",
        features=["spend.note", "spend.seen", "spend.r", "spend.num", "spend.arr",
                  "spend.small", "spend.ok", "prof.email", "spend.n"])
    as_of = BASE + datetime.timedelta(days=20)
    run(store, conn, df, "as_of", ["spend", "devg"], features=["spend", "devg"], as_of=as_of)
    run(store, conn, df, "strict", ["spend", "prof"], features=["spend", "prof"], strict=True)
    run(store, conn, df.iloc[:0], "empty", ["spend"], features=["spend"])
    one = run(store, conn, df.iloc[[3, 3, 3]], "duplicates", ["spend"], features=["spend"])
    print("duplicate rows %d" % len(one))
    full = store.get_historical_features(df.iloc[:5], features=["spend.total", "devg"],
                                         full_feature_names=True).to_df()
    print("full names " + ",".join(c for c in full.columns if c not in df.columns))


main()
