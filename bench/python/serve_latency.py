#!/usr/bin/python3
"""featstore-serve latency over loopback with keep-alive (bench/python/run.sh
serve): 1 entity x a service of 3 groups, and 50 entities, SERVE_N requests
after a warm-up, one connection (http.client, which sends headers and body
in one packet), one request at a time; SERVE_ROUNDS rounds (3), each one
server with httptools + uvloop and one with h11 + asyncio, medians, and the
load average.  Also the Python client alone
(get_online_features, no HTTP) for the same reads.  Prints p50 / p99 in ms
against the seed's 4 ms / 12 ms (target: p99 < 2 ms for 1 entity).
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import time

import psycopg2

import featstore

DSN = os.environ["FEATSTORE_DSN"]
REDIS_URL = os.environ["FEATSTORE_REDIS_URL"]
N = int(os.environ.get("SERVE_N", "5000"))
USERS = 1000
ROUNDS = int(os.environ.get("SERVE_ROUNDS", "3"))


def setup():
    conn = psycopg2.connect(DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS featstore")
        cur.execute("SELECT to_regclass('serve_a') IS NOT NULL")
        if cur.fetchone()[0]:
            return
        cur.execute("""
            SELECT * FROM featstore.exec($$
              CREATE ENTITY serve_user (user_id text);
              CREATE FEATURE GROUP serve_a ENTITY serve_user FEATURES (
                  tx_count_1h bigint, tx_amount_avg double precision, last_country text) ONLINE;
              CREATE FEATURE GROUP serve_b ENTITY serve_user FEATURES (
                  score real, flags integer[], seen timestamptz) ONLINE;
              CREATE FEATURE GROUP serve_c ENTITY serve_user FEATURES (
                  blocked boolean, segment text) TTL '30 days' ONLINE;
              CREATE FEATURE SERVICE serve_svc FEATURES (serve_a.*, serve_b.*, serve_c.*);
            $$)""")
        cur.execute("""
            INSERT INTO serve_a SELECT 'u' || i, now(), now(), i %% 50, i * 0.5, 'FR' FROM generate_series(1, %(n)s) i;
            INSERT INTO serve_b SELECT 'u' || i, now(), now(), 0.25, ARRAY[1, 2, 3], now() FROM generate_series(1, %(n)s) i;
            INSERT INTO serve_c SELECT 'u' || i, now(), now(), false, 'gold' FROM generate_series(1, %(n)s) i;
        """, {"n": USERS})
        for _ in range(600):
            cur.execute("SELECT (SELECT count(*) FROM featstore.online_queue_depth()) = 0 "
                        "AND (SELECT state FROM featstore.online_worker_status()) = 'idle'")
            if cur.fetchone()[0]:
                break
            time.sleep(0.1)
    conn.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def measure(conn, body, n):
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        conn.request("POST", "/get-online-features", body=body,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        lat.append((time.perf_counter() - t0) * 1000)
        if r.status != 200:
            raise SystemExit("status %d: %s" % (r.status, data[:200]))
    return lat


def serve_round(impl, one, fifty):
    """One featstore-serve process with impl = (http, loop): p50 / p99 of 1
    entity (N requests) and of 50 entities (N / 5), after 500 warm-up ones."""
    port = free_port()
    env = dict(os.environ, FEATSTORE_SERVE_PORT=str(port), FEATSTORE_SERVE_HTTP=impl[0],
               FEATSTORE_SERVE_LOOP=impl[1])
    srv = subprocess.Popen([sys.executable, "-m", "featstore.serve"], env=env)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(300):
            try:
                conn.request("GET", "/health")
                r = conn.getresponse()
                r.read()
                if r.status == 200:
                    break
            except OSError:
                conn.close()
                time.sleep(0.1)
        measure(conn, one, 500)
        l1 = measure(conn, one, N)
        l50 = measure(conn, fifty, max(N // 5, 100))
        conn.close()
    finally:
        srv.terminate()
        srv.wait(10)
    return pct(l1, 50), pct(l1, 99), pct(l50, 50), pct(l50, 99)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main():
    setup()
    one = json.dumps({"service": "serve_svc", "entities": [{"user_id": "u42"}]})
    fifty = json.dumps({"service": "serve_svc",
                        "entities": [{"user_id": "u%d" % i} for i in range(1, 51)]})
    # featstore-serve's default (httptools + uvloop when installed) against
    # uvicorn's pure-Python h11 + asyncio, alternated in the same run
    impls = [("httptools", "uvloop"), ("h11", "asyncio")]
    res = {i: [] for i in impls}
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    for rnd in range(1, ROUNDS + 1):
        for impl in impls:
            r = serve_round(impl, one, fifty)
            res[impl].append(r)
            print("round %d, http=%s loop=%s: 1 entity p50 %.2f ms p99 %.2f ms; "
                  "50 entities p50 %.2f ms p99 %.2f ms; load %.2f"
                  % ((rnd,) + impl + r + (os.getloadavg()[0],)), flush=True)
    for impl in impls:
        m = [median([r[k] for r in res[impl]]) for k in range(4)]
        print("featstore-serve http=%s loop=%s, medians of %d rounds: 1 entity x 3 groups (8 features) "
              "p50 %.2f ms p99 %.2f ms (N=%d); 50 entities p50 %.2f ms p99 %.2f ms (N=%d)"
              % (impl + (ROUNDS, m[0], m[1], N, m[2], m[3], max(N // 5, 100))))
    print("seed 000: 4 ms / 12 ms; target p99 < 2 ms for 1 entity")
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg())
    store = featstore.FeatureStore(DSN, redis_url=REDIS_URL)
    for rows, label in (([{"user_id": "u42"}], "1 entity"),
                        ([{"user_id": "u%d" % i} for i in range(1, 51)], "50 entities")):
        for _ in range(300):
            store.get_online_features("serve_svc", rows)
        lat = []
        for _ in range(N):
            t0 = time.perf_counter()
            store.get_online_features("serve_svc", rows)
            lat.append((time.perf_counter() - t0) * 1000)
        print("Python client alone (one MGET), %s x 3 groups: p50 %.3f ms, p99 %.3f ms"
              % (label, pct(lat, 50), pct(lat, 99)))


main()
