#!/usr/bin/python3
"""Online benchmarks of groups defined FROM a source (issue 10), through
bench/online/run.sh (online_bench.py calls these):

  win_freshness  sustained COPY of events into the source at R events/s
                 (1,000 and 10,000) for S seconds: commit -> Redis shows the
                 new count, p50/p99, probing one entity per commit
  win_expiry     events that leave a 10-second window at known instants, no
                 writes after them: Redis shows the lower count -> due time
                 (event_time + w), p50/p99
  win_ingest     COPY of N events into the source with an ONLINE group on it
                 (capture on) and into an equal table without one (capture off)

Redis is read with the documented layout (docs/online-store.md): key
fs:bench:{bench_user:<id>}:<group>, a msgpack map whose 'features' holds the values.
"""
import io
import os
import threading
import time

import msgpack
import redis

COLS = ('user_id', 'event_time', 'ingested_at', 'amount', 'merchant_id', 'status')


def sql(cur, q, *a):
    cur.execute(q, a)
    return cur.fetchall() if cur.description else None


def source_group(cur, group, table, window, online=True):
    """A source table and a group over it: counts over `window`, and an
    unbounded last() so that a key stays when the windows empty and the
    count has to be rewritten (not merely expired)."""
    sql(cur, "SELECT * FROM featstore.exec($$ DROP FEATURE GROUP IF EXISTS %s $$)" % group)
    sql(cur, "DROP TABLE IF EXISTS %s" % table)
    sql(cur, """CREATE TABLE %s (user_id bigint NOT NULL, event_time timestamptz NOT NULL,
                ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(), amount double precision,
                merchant_id text, status text)""" % table)
    # the index a source read online needs: the worker recomputes a batch of
    # entities with (keys) IN (...) AND event_time >= now() - longest window
    sql(cur, "CREATE INDEX ON %s (user_id, event_time)" % table)
    if group is None:
        return
    sql(cur, """SELECT * FROM featstore.exec($$
        CREATE FEATURE GROUP %s ENTITY bench_user
          FROM public.%s TIMESTAMP event_time CREATED ingested_at WHERE status <> 'declined'
          FEATURES (tx_count bigint AS count(*) OVER '%s',
                    amount_sum double precision AS sum(amount) OVER '%s',
                    merchants bigint AS count(DISTINCT merchant_id) OVER '%s',
                    last_merchant text AS last(merchant_id))
          %s
    $$)""" % (group, table, window, window, window, 'ONLINE' if online else 'OFFLINE'))


def key(uid, group):
    return 'fs:bench:{bench_user:%d}:%s' % (uid, group)


def count_of(raw):
    if raw is None:
        return None
    return msgpack.unpackb(raw, raw=False)['features']['tx_count']


def percentiles(lat):
    lat.sort()
    if not lat:
        return {'probes': 0}
    return {'probes': len(lat), 'p50_ms': round(lat[len(lat) // 2] * 1000, 1),
            'p99_ms': round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
            'max_ms': round(lat[-1] * 1000, 1)}


def poll(rport, pending_in, lock, done, satisfied, lat, group, lead=0.0):
    """Poll Redis for probes (uid, target, t_ref), from t_ref - lead on,
    until satisfied(count, target); record now - t_ref (negative: before
    t_ref).  Pipelined: one round trip per sweep."""
    r = redis.Redis(host='127.0.0.1', port=rport)
    pending = []
    while not done.is_set() or pending or pending_in:
        with lock:
            pending.extend(pending_in)
            pending_in.clear()
        now = time.time()
        due = [p for p in pending if p[2] - lead <= now]
        if not due:
            time.sleep(0.0005)
            continue
        pipe = r.pipeline(transaction=False)
        for uid, _, _ in due:
            pipe.get(key(uid, group))
        raws = pipe.execute()
        now = time.time()
        hit = set()
        for (uid, target, tref), raw in zip(due, raws):
            if satisfied(count_of(raw), target):
                lat.append(now - tref)
                hit.add((uid, target, tref))
        pending = [p for p in pending if p not in hit]
        if done.is_set() and pending and now - max(p[2] for p in pending) > 30:
            break                      # a probe never satisfied: reported as missing
        time.sleep(0.0005)
    return pending


def verify(cur, group, wait_drained):
    """The rate only counts if Redis then holds the offline join at now()."""
    wait_drained(cur)
    return sql(cur, "SELECT count(*) FROM featstore.verify_online(%s, sample => 100000)", group)[0][0]


def win_freshness(cur, rport, rate, seconds, wait_drained):
    group = 'bench_win_f'
    source_group(cur, group, 'bench_src_f', '1 hour')
    wait_drained(cur)
    per_commit = max(1, rate // 100)
    counts = {}
    probes, lat, lock, done = [], [], threading.Lock(), threading.Event()
    left = []
    th = threading.Thread(target=lambda: left.extend(
        poll(rport, probes, lock, done, lambda c, n: c is not None and c >= n, lat, group)))
    th.start()
    seq = 0
    start = time.time()
    nxt = start
    while time.time() - start < seconds:
        buf = io.StringIO()
        first = None
        now = time.strftime('%Y-%m-%d %H:%M:%S+00', time.gmtime())
        for _ in range(per_commit):
            seq += 1
            uid = 1 + seq % 50000
            counts[uid] = counts.get(uid, 0) + 1
            first = first or (uid, counts[uid])
            buf.write('%d\t%s\t%s\t%.2f\tm%d\tapproved\n' % (uid, now, now, 10 + seq % 90, seq % 500))
        buf.seek(0)
        cur.copy_from(buf, 'bench_src_f', columns=COLS)
        tc = time.time()
        with lock:
            probes.append((first[0], first[1], tc))
        nxt += 0.01
        time.sleep(max(0, nxt - time.time()))
    achieved = seq / (time.time() - start)
    done.set()
    th.join(timeout=60)
    res = {'target_events_per_s': rate, 'achieved_events_per_s': round(achieved), 'seconds': seconds,
           'not_seen': len(left), 'verify_online_differences': verify(cur, group, wait_drained)}
    res.update(percentiles(lat))
    return res


def win_expiry(cur, rport, n, wait_drained, window_s=10, spread_s=5.0):
    """n users, one event each, leaving the window at instants spread over
    spread_s seconds; nothing is written after them."""
    group = 'bench_win_e'
    source_group(cur, group, 'bench_src_e', '%d seconds' % window_s)
    wait_drained(cur)
    t0 = time.time() + 2.0 - window_s          # first due time 2 s from now
    buf = io.StringIO()
    dues = []
    for i in range(n):
        et = t0 + spread_s * i / n
        ts = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(et)) + ('%.6f' % (et % 1))[1:] + '+00'
        buf.write('%d\t%s\t%s\t1.5\tm%d\tapproved\n' % (100000 + i, ts, ts, i))
        dues.append((100000 + i, 0, et + window_s))
    buf.seek(0)
    cur.copy_from(buf, 'bench_src_e', columns=COLS)
    # every key must show count 1 before its due time, else the lag is not measured
    time.sleep(max(0.0, dues[0][2] - time.time() - 1.0))
    r = redis.Redis(host='127.0.0.1', port=rport)
    ones = sum(1 for raw in r.mget([key(u, group) for u, _, _ in dues]) if count_of(raw) == 1)
    probes, lat, lock, done = list(dues), [], threading.Lock(), threading.Event()
    done.set()
    left = poll(rport, probes, lock, done, lambda c, n0: c is not None and c == n0, lat, group, lead=0.5)
    # a negative lag is Redis showing 0 before the due time: a wrong value
    early = sum(1 for x in lat if x < 0)
    res = {'entities': n, 'window_s': window_s, 'count_1_before_due': ones, 'never_fell': len(left),
           'fell_early': early, 'verify_online_differences': verify(cur, group, wait_drained)}
    res.update(percentiles(lat))
    return res


def backend_cpu_s(cur):
    """This session's backend CPU time (user + system), from /proc: the
    bench runs as a superuser on its own server."""
    f = sql(cur, "SELECT pg_read_file('/proc/' || pg_backend_pid() || '/stat')")[0][0]
    fields = f[f.rindex(')') + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def win_ingest(cur, n, wait_drained, runs=int(os.environ.get('INGEST_RUNS', 5))):
    """COPY n events into a source with an ONLINE group (capture on) and
    into the same table without a group (capture off), both with the
    (user_id, event_time) index, alternating, runs rounds.  The overhead is
    the median of the rounds' ratios, by wall time and by the backend's
    CPU time (which the machine's other load moves less)."""
    source_group(cur, 'bench_win_i', 'bench_src_on', '1 hour')
    source_group(cur, None, 'bench_src_off', '1 hour')
    data = io.StringIO()
    for i in range(n):
        data.write('%d\t2026-11-01 00:%02d:%02d+00\t2026-11-01 01:00:00+00\t1.5\tm%d\tapproved\n'
                   % (i % 200000, i // 60 % 60, i % 60, i % 500))
    res = {}
    for t in ('bench_src_off', 'bench_src_on') * runs:
        sql(cur, 'TRUNCATE %s' % t)
        wait_drained(cur)
        sql(cur, 'CHECKPOINT')
        data.seek(0)
        c0 = backend_cpu_s(cur)
        t0 = time.time()
        cur.copy_from(data, t, columns=COLS)
        wall = time.time() - t0
        res.setdefault(t, []).append((wall, backend_cpu_s(cur) - c0))
    off, on = res['bench_src_off'], res['bench_src_on']

    def median(xs):
        xs = sorted(xs)
        return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
    wall_ratio = median([b[0] / a[0] for a, b in zip(off, on)])
    cpu_ratio = median([b[1] / a[1] for a, b in zip(off, on) if a[1] > 0])
    return {'rows': n, 'rounds': runs,
            'copy_off_s': [round(x[0], 3) for x in off], 'copy_on_s': [round(x[0], 3) for x in on],
            'cpu_off_s': [round(x[1], 2) for x in off], 'cpu_on_s': [round(x[1], 2) for x in on],
            'overhead_pct': round((wall_ratio - 1) * 100, 1),
            'cpu_overhead_pct': round((cpu_ratio - 1) * 100, 1)}
