#!/usr/bin/python3
"""Checks of the Python client's get_online_features for test/t/091 and 092.

The oracle reads Redis by itself: keys written here from the documented
layout (docs/online-store.md "Key layout": <prefix>[:<namespace>]:{<entity>:
<key>...}:<group>, %, :, {, } escaped), raw GETs on a plain redis-py client,
msgpack decoded here, expires_at compared with the clock; and, for the
status, featstore.online_features() in PostgreSQL.  Prints one line per
difference and "checked=N found=F missing=M invalid=I diffs=D".

  usage: client_online_check.py DSN REDIS_URL ORACLE NAMESPACE

ORACLE is a redis:// URL, or cluster:HOST:PORT for a Redis Cluster.

NAMESPACE is what the test expects featstore.online_namespace() to be (the
test reads it from PostgreSQL, or sets it); the prefix is read here.
"""
import datetime
import json
import math
import os
import struct
import sys
import time

import msgpack
import psycopg2
import redis

import featstore

DSN, URL, ORACLE_URL, NS = sys.argv[1:5]
PREFIX = None       # featstore.redis_key_prefix, read in main()
TEXTS = ["b:1", "b2", "", "x{y}%", "a,b", 'q"uote', "line\nbreak", "\\N", "x", "unknown"]
# group -> (entity, key columns, features and their types)
GROUPS = {
    "spend": ("card", ["bank", "card_id"],
              [("total", "double precision"), ("n", "bigint"), ("note", "text"), ("ok", "boolean"),
               ("seen", "timestamptz"), ("r", "real"), ("num", "numeric"), ("arr", "integer[]"),
               ("small", "integer")]),
    "flags": ("card", ["bank", "card_id"], [("blocked", "boolean")]),
    "devg": ("dev", ["dev_id"], [("score", "double precision")]),
}


def esc(s):
    return s.replace("%", "%25").replace(":", "%3A").replace("{", "%7B").replace("}", "%7D")


def oracle_key(group, row):
    entity, keys, _ = GROUPS[group]
    head = PREFIX + ":" + (esc(NS) + ":" if NS else "")
    return "%s{%s}:%s" % (head, ":".join([esc(entity)] + [esc(str(row[k])) for k in keys]),
                          esc(group))


def oracle_client(url):
    """A plain redis-py client for a standalone Redis; for "cluster:HOST:PORT"
    redis-py's RedisCluster seeded by that node (GET follows the slot map
    and MOVED), used here for single-key GETs only."""
    if url.startswith("cluster:"):
        from redis.cluster import RedisCluster, ClusterNode
        host, port = url[len("cluster:"):].rsplit(":", 1)
        return RedisCluster(startup_nodes=[ClusterNode(host, int(port))])
    return redis.Redis.from_url(url)


def expect(value, typ):
    if value is None:
        return None
    if typ == "real":
        return float("%.9g" % value)        # compared through float32 below
    if typ == "timestamptz":
        return datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + \
            datetime.timedelta(microseconds=value)
    return value


def same(a, b, typ):
    if b is None:
        return a is None
    if typ == "real":
        f32 = lambda x: struct.unpack("f", struct.pack("f", x))[0]
        return isinstance(a, float) and f32(a) == f32(b) and len(repr(a)) <= 12
    if typ == "numeric":
        return str(a) == b
    if isinstance(b, float) and math.isnan(b):
        return isinstance(a, float) and math.isnan(a)
    return type(a) == type(b) and a == b


def main():
    global PREFIX
    conn = psycopg2.connect(DSN)
    with conn.cursor() as cur:
        cur.execute("SELECT current_setting('featstore.redis_key_prefix')")
        PREFIX = cur.fetchone()[0]
    conn.rollback()
    oracle = oracle_client(ORACLE_URL)
    store = featstore.FeatureStore(DSN, redis_url=URL,
                                   cluster=os.environ.get("FEATSTORE_TEST_CLUSTER") == "1")
    rows = [{"bank": b, "card_id": c, "dev_id": "00000000-0000-0000-0000-%012x" % (d * 7919)}
            for b in TEXTS for c in range(0, 4) for d in (1, 2, 9)]
    counts = {"found": 0, "missing": 0, "invalid": 0}
    diffs = checked = 0
    for request in (dict(features=["spend", "flags", "devg"]), dict(service="m")):
        resp = store.get_online_features(entity_rows=rows, **request)
        now_us = int(time.time() * 1e6)
        d = resp.to_dict(include_status=True, include_event_timestamps=True)
        for r, row in enumerate(rows):
            for group, (entity, keys, feats) in GROUPS.items():
                raw = oracle.get(oracle_key(group, row))
                st, v = "missing", None
                if raw is not None:
                    try:
                        v = msgpack.unpackb(raw, raw=False)
                        st = "found" if isinstance(v, dict) and "features" in v else "invalid"
                    except Exception:
                        st = "invalid"
                    if st == "found" and v["expires_at"] is not None and v["expires_at"] < now_us:
                        st = "missing"
                for f, typ in feats:
                    if f not in d:
                        continue
                    checked += 1
                    counts[st] += 1
                    got_st, got = d[f + "__status"][r], d[f][r]
                    ets = d[f + "__event_timestamp"][r]
                    want = expect(v["features"][f], typ) if st == "found" else None
                    want_ets = (datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
                                + datetime.timedelta(microseconds=v["event_timestamp"])) \
                        if st == "found" else None
                    if got_st != st or not same(got, want, typ) or ets != want_ets:
                        diffs += 1
                        print("diff row=%r %s.%s: client %r %r %r, oracle %r %r %r"
                              % (row, group, f, got_st, got, ets, st, want, want_ets))
        # featstore.online_features() agrees on the status of the first request's groups
        if "features" in request:
            with conn.cursor() as cur:
                for r, row in enumerate(rows):
                    for group, (entity, keys, feats) in GROUPS.items():
                        cur.execute("SELECT status FROM featstore.online_features(%s, VARIADIC %s)",
                                    (group, [str(row[k]) for k in keys]))
                        sql_st = cur.fetchone()[0]
                        if sql_st != d[feats[0][0] + "__status"][r]:
                            diffs += 1
                            print("diff row=%r %s: online_features says %s, client %s"
                                  % (row, group, sql_st, d[feats[0][0] + "__status"][r]))
            conn.rollback()
    print("checked=%d found=%d missing=%d invalid=%d diffs=%d"
          % (checked, counts["found"], counts["missing"], counts["invalid"], diffs))


main()
