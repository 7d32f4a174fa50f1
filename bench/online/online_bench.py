#!/usr/bin/python3
"""featstore online-store benchmarks (run through bench/online/run.sh).

  bulk        featstore.materialize() of N entities: entities/s until the
              queue is drained, next to redis-benchmark pipelined SET of
              values of the same size on the same Redis
  freshness   sustained inserts at R rows/s for S seconds: commit-to-visible
              in Redis, p50/p99, probing one row per commit
  ingest      COPY of N rows into a group table, capture on (ONLINE) vs off
  read        1 entity x 3 groups from Python (examples/online_client.py)
  win_freshness, win_expiry, win_ingest
              groups defined FROM a source (issue 10): window_bench.py

Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, REDIS_PORT.
"""
import io
import json
import os
import subprocess
import sys
import threading
import time

import msgpack
import psycopg2
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'examples'))
import online_client  # noqa: E402
import window_bench  # noqa: E402

RPORT = int(os.environ['REDIS_PORT'])
R = redis.Redis(host='127.0.0.1', port=RPORT)


def connect():
    c = psycopg2.connect('')
    c.autocommit = True
    return c


def sql(cur, q, *a):
    cur.execute(q, a)
    return cur.fetchall() if cur.description else None


def wait_drained(cur, timeout=600):
    t0 = time.time()
    while time.time() - t0 < timeout:
        row = sql(cur, "SELECT coalesce(sum(queued_entities), 0) FROM featstore.online_queue_depth()")
        if row[0][0] == 0 and sql(cur, "SELECT state FROM featstore.online_worker_status()")[0][0] == 'idle':
            return time.time()
        time.sleep(0.01)
    raise RuntimeError('worker did not drain the queue')


def setup(cur):
    sql(cur, "CREATE EXTENSION IF NOT EXISTS featstore")
    sql(cur, """SELECT * FROM featstore.exec($$
        CREATE ENTITY IF NOT EXISTS bench_user (user_id bigint);
    $$)""")
    for g, online in (('bench_a', 'ONLINE'), ('bench_b', 'ONLINE'), ('bench_c', 'ONLINE'), ('bench_plain', '')):
        sql(cur, "SELECT * FROM featstore.exec($$ DROP FEATURE GROUP IF EXISTS %s $$)" % g)
        sql(cur, """SELECT * FROM featstore.exec($$
            CREATE FEATURE GROUP %s ENTITY bench_user
              FEATURES (tx_count bigint 'c', amount_avg double precision 'a', amount_max double precision 'm',
                        merchants bigint 'u', country text 't') TTL '30 days' %s
        $$)""" % (g, online))
    wait_drained(cur)


def bulk(cur, n):
    sql(cur, """INSERT INTO bench_a (user_id, event_timestamp, tx_count, amount_avg, amount_max, merchants, country)
                SELECT g, now() - interval '1 hour', g, g * 0.5, g * 1.5, g %% 100, 'FR' FROM generate_series(1, %s) g""", n)
    wait_drained(cur)
    R.config_resetstat()
    t0 = time.time()
    queued = sql(cur, "SELECT featstore.materialize('bench_a')")[0][0]
    t_q = time.time()
    t1 = wait_drained(cur)
    worker_usec = redis_usec()
    # the rate only counts if Redis holds what the point-in-time rule says
    diffs = sql(cur, "SELECT count(*) FROM featstore.verify_online('bench_a', sample => 20000)")[0][0]
    size = R.strlen('fs:bench:{bench_user:1}:bench_a')
    rate = queued / (t1 - t0)
    R.config_resetstat()
    nset = max(n, 500000)
    out = subprocess.run(['redis-benchmark', '-h', '127.0.0.1', '-p', str(RPORT), '-P', '64', '-c', '50',
                          '-n', str(nset), '-r', '1000000', '-d', str(size), '-t', 'set', '--csv'],
                         capture_output=True, text=True).stdout
    bench_usec = redis_usec()
    set_rps = float([l for l in out.splitlines() if l.startswith('"SET"')][0].split(',')[1].strip('"'))
    return {'entities': queued, 'value_bytes': size, 'queue_s': round(t_q - t0, 2),
            'total_s': round(t1 - t0, 2), 'entities_per_s': round(rate),
            'redis_benchmark_set_P64_per_s': round(set_rps), 'ratio': round(rate / set_rps, 2),
            'verify_online_differences': diffs,
            'redis_usec_per_entity': round(worker_usec / queued, 2),
            'redis_usec_per_benchmark_set': round(bench_usec / nset, 2)}


def redis_usec():
    """Redis' time in commands (INFO commandstats) since the last CONFIG RESETSTAT."""
    return sum(v['usec'] for k, v in R.info('commandstats').items()
               if k in ('cmdstat_evalsha', 'cmdstat_set', 'cmdstat_del', 'cmdstat_eval'))


def freshness(cur, rate, seconds):
    """Commit batches every 10 ms; probe one row per batch for visibility."""
    per_commit = max(1, rate // 100)
    probes = []                # (key, expected n, commit time)
    lock = threading.Lock()
    lat = []
    done = threading.Event()

    def poller():
        r = redis.Redis(host='127.0.0.1', port=RPORT)
        pending = []
        while not done.is_set() or pending or probes:
            with lock:
                pending.extend(probes)
                probes.clear()
            if not pending:
                time.sleep(0.0005)
                continue
            pipe = r.pipeline(transaction=False)
            for key, _, _ in pending:
                pipe.get(key)
            now = time.time()
            keep = []
            for (key, n, tc), raw in zip(pending, pipe.execute()):
                if raw is not None and msgpack.unpackb(raw)['features']['tx_count'] >= n:
                    lat.append(now - tc)
                else:
                    keep.append((key, n, tc))
            pending = keep
            time.sleep(0.0005)

    th = threading.Thread(target=poller)
    th.start()
    seq = 0
    start = time.time()
    nxt = start
    while time.time() - start < seconds:
        buf = io.StringIO()
        first = None
        for _ in range(per_commit):
            seq += 1
            uid = 1 + seq % 50000
            first = first or (uid, seq)
            buf.write('%d\t%s\t%d\t1.5\t2.5\t3\tFR\n' % (uid, time.strftime('%Y-%m-%d %H:%M:%S+00', time.gmtime()), seq))
        buf.seek(0)
        cur.copy_from(buf, 'bench_b', columns=('user_id', 'event_timestamp', 'tx_count', 'amount_avg',
                                               'amount_max', 'merchants', 'country'))
        tc = time.time()
        with lock:
            probes.append(('fs:bench:{bench_user:%d}:bench_b' % first[0], first[1], tc))
        nxt += 0.01
        time.sleep(max(0, nxt - time.time()))
    achieved = seq / (time.time() - start)
    done.set()
    th.join(timeout=30)
    lat.sort()
    return {'target_rows_per_s': rate, 'achieved_rows_per_s': round(achieved), 'seconds': seconds,
            'probes': len(lat), 'p50_ms': round(lat[len(lat) // 2] * 1000, 1),
            'p99_ms': round(lat[int(len(lat) * 0.99)] * 1000, 1), 'max_ms': round(lat[-1] * 1000, 1)}


def ingest(cur, n, runs=3):
    """COPY n rows into an online group (capture on) and an offline one."""
    data = io.StringIO()
    for i in range(n):
        data.write('%d\t2026-11-01 00:00:%02d+00\t%d\t1.5\t2.5\t3\tFR\n' % (i % 200000, i % 60, i))
    res = {}
    for g in ('bench_plain', 'bench_c') * runs:
        sql(cur, 'TRUNCATE %s' % g)
        wait_drained(cur)
        sql(cur, 'CHECKPOINT')
        data.seek(0)
        t0 = time.time()
        cur.copy_from(data, g, columns=('user_id', 'event_timestamp', 'tx_count', 'amount_avg',
                                        'amount_max', 'merchants', 'country'))
        res.setdefault(g, []).append(time.time() - t0)
    plain, capt = min(res['bench_plain']), min(res['bench_c'])
    return {'rows': n, 'copy_plain_s': round(plain, 3), 'copy_capture_s': round(capt, 3),
            'plain_rows_per_s': round(n / plain), 'capture_rows_per_s': round(n / capt),
            'overhead_pct': round((capt / plain - 1) * 100, 1)}


def read(cur, n):
    sql(cur, """INSERT INTO bench_c (user_id, event_timestamp, tx_count, amount_avg, amount_max, merchants, country)
                VALUES (424242, now(), 1, 1, 1, 1, 'FR')""")
    for g in ('bench_a', 'bench_b'):
        sql(cur, """INSERT INTO %s (user_id, event_timestamp, tx_count, amount_avg, amount_max, merchants, country)
                    VALUES (424242, now(), 1, 1, 1, 1, 'FR')""" % g)
    wait_drained(cur)
    client = redis.Redis(host='127.0.0.1', port=RPORT)
    groups = ['bench_a', 'bench_b', 'bench_c']
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        v = online_client.read_features(client, 'bench_user', [('424242',)], groups)
        lat.append(time.perf_counter() - t0)
    assert all(v[('424242',)][g] for g in groups)
    lat.sort()
    keys = [online_client.featstore_key('bench_user', ('424242',), g) for g in groups]
    return {'reads': n, 'p50_us': round(lat[n // 2] * 1e6, 1), 'p99_us': round(lat[int(n * 0.99)] * 1e6, 1),
            'keys': keys}


def main():
    what = sys.argv[1:] or ['bulk', 'freshness', 'ingest', 'read']
    cur = connect().cursor()
    setup(cur)
    results = {}
    if 'bulk' in what:
        results['bulk'] = bulk(cur, int(os.environ.get('BULK_N', 200000)))
        print(json.dumps({'bulk': results['bulk']}), flush=True)
    if 'freshness' in what:
        for rate in (1000, 10000):
            results['freshness_%d' % rate] = freshness(cur, rate, int(os.environ.get('FRESH_S', 10)))
            print(json.dumps({'freshness': results['freshness_%d' % rate]}), flush=True)
    if 'ingest' in what:
        results['ingest'] = ingest(cur, int(os.environ.get('INGEST_N', 500000)))
        print(json.dumps({'ingest': results['ingest']}), flush=True)
    if 'read' in what:
        results['read_python'] = read(cur, int(os.environ.get('READ_N', 20000)))
        print(json.dumps({'read_python': results['read_python']}), flush=True)
    for rate in (1000, 10000):
        if 'win_freshness' in what:
            results['win_freshness_%d' % rate] = window_bench.win_freshness(
                cur, RPORT, rate, int(os.environ.get('FRESH_S', 10)), wait_drained)
            print(json.dumps({'win_freshness': results['win_freshness_%d' % rate]}), flush=True)
    if 'win_expiry' in what:
        results['win_expiry'] = window_bench.win_expiry(cur, RPORT, int(os.environ.get('EXPIRY_N', 500)), wait_drained)
        print(json.dumps({'win_expiry': results['win_expiry']}), flush=True)
    if 'win_ingest' in what:
        results['win_ingest'] = window_bench.win_ingest(cur, int(os.environ.get('INGEST_N', 500000)), wait_drained)
        print(json.dumps({'win_ingest': results['win_ingest']}), flush=True)
    json.dump(results, open(os.environ.get('OUT', '/dev/null'), 'w'), indent=1)


if __name__ == '__main__':
    main()
