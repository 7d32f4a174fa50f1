#!/usr/bin/python3
"""featstore monitoring benchmarks, part ops (run through bench/monitor/run.sh).

  stats_freshness  the online worker's freshness for other groups (commit to
                   visible in Redis, p50/p99/max, bench/online's probe) with
                   no statistics run, then while compute_stats() of a large
                   group (BIG_N rows in one day, 8 features) runs back to
                   back in another session, then with none again
  ingest           COPY of INGEST_N rows into an offline group's history
                   table: monitor off / on, without / with the BRIN index on
                   event_timestamp that every history table now has; best of INGEST_RUNS (5): wall time, the
                   backend's CPU time (/proc) and the WAL it wrote

Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, REDIS_PORT, OUT.
"""
import io
import json
import os
import sys
import threading
import time

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'online'))
import online_bench  # noqa: E402  (freshness probe, setup of bench_a/b/c)

DAY = '2026-11-01 00:00+00'
FEATURES = """f1 double precision, f2 double precision, f3 double precision,
              f4 double precision, f5 double precision, f6 double precision,
              n bigint, cat text"""


def connect():
    c = psycopg2.connect('')
    c.autocommit = True
    return c


def sql(cur, q, *a):
    cur.execute(q, a)
    return cur.fetchall() if cur.description else None


def load_big(cur, n):
    """bench_big: n rows over one day, 1M entities, 8 features of several shapes.
    MONITOR NONE: the monitor worker would otherwise compute the completed day
    itself, during the phase meant to have no statistics run."""
    sql(cur, "SELECT * FROM featstore.exec($$ DROP FEATURE GROUP IF EXISTS bench_big $$)")
    sql(cur, "SELECT * FROM featstore.exec($$ CREATE FEATURE GROUP bench_big ENTITY bench_user "
             "FEATURES (%s) MONITOR NONE $$)" % FEATURES)
    t0 = time.time()
    sql(cur, """INSERT INTO bench_big (user_id, event_timestamp, f1, f2, f3, f4, f5, f6, n, cat)
                SELECT g %% 1000000, timestamptz %s + make_interval(secs => g * 86400.0 / %s),
                       random(), random() * 100, (g %% 1000)::float8, sqrt(g::float8),
                       CASE WHEN g %% 10 = 0 THEN NULL ELSE random() END, ln(g::float8),
                       g %% 5000, 'c' || (g %% 40)
                  FROM generate_series(1, %s) g""", DAY, n, n)
    sql(cur, "VACUUM ANALYZE bench_big")
    return round(time.time() - t0, 1)


def stats_loop(stop, runs):
    """compute_stats of bench_big's day, back to back, until stop is set."""
    c = connect()
    cur = c.cursor()
    while not stop.is_set():
        t0 = time.time()
        sql(cur, "SELECT featstore.compute_stats('bench_big', timestamptz %s, timestamptz %s + interval '1 day')",
            DAY, DAY)
        runs.append(time.time() - t0)
    c.close()


def stats_freshness(cur, n, rate, seconds):
    res = {'big_rows': n, 'big_load_s': load_big(cur, n)}
    # one run alone first: its duration, and that it reads the whole day
    t0 = time.time()
    run = sql(cur, "SELECT featstore.compute_stats('bench_big', timestamptz %s, timestamptz %s + interval '1 day')",
              DAY, DAY)[0][0]
    res['stats_run_alone_s'] = round(time.time() - t0, 2)
    res['stats_rows_read'] = sql(cur, "SELECT rows_read FROM featstore.stats_runs WHERE id = %s", run)[0][0]
    # the load's dirty pages are written now, not during the first phase
    sql(cur, "CHECKPOINT")
    online_bench.wait_drained(cur)
    res['baseline'] = online_bench.freshness(cur, rate, seconds)
    print(json.dumps({'baseline': res['baseline']}), flush=True)
    stop = threading.Event()
    runs = []
    th = threading.Thread(target=stats_loop, args=(stop, runs))
    th.start()
    time.sleep(0.5)            # the first run is under way
    res['during_stats'] = online_bench.freshness(cur, rate, seconds)
    stop.set()
    th.join()
    res['during_stats']['stats_runs'] = len(runs)
    res['during_stats']['stats_run_mean_s'] = round(sum(runs) / max(len(runs), 1), 2)
    print(json.dumps({'during_stats': res['during_stats']}), flush=True)
    # and again without: the machine is shared, its load drifts
    online_bench.wait_drained(cur)
    res['baseline_after'] = online_bench.freshness(cur, rate, seconds)
    print(json.dumps({'baseline_after': res['baseline_after']}), flush=True)
    return res


def ingest(cur, n, runs):
    """COPY n rows into offline groups: monitor off / on x BRIN or not."""
    data = io.StringIO()
    for i in range(n):
        data.write('%d\t2026-11-01 %02d:%02d:%02d+00\t%r\t1.5\t2.5\t3.5\t4.5\t5.5\t%d\tc%d\n'
                   % (i % 200000, (i // 3600) % 24, (i // 60) % 60, i % 60, i * 0.25, i, i % 40))
    variants = [('off', False), ('on', False), ('off', True), ('on', True)]
    for mon, brin in variants:
        g = 'bench_ing_%s%s' % (mon, '_brin' if brin else '')
        sql(cur, "SELECT * FROM featstore.exec($$ DROP FEATURE GROUP IF EXISTS %s $$)" % g)
        sql(cur, "SELECT * FROM featstore.exec($$ CREATE FEATURE GROUP %s ENTITY bench_user "
                 "FEATURES (%s) $$)" % (g, FEATURES))
        if mon == 'on':
            sql(cur, "SELECT featstore.set_monitor_every(%s, '1 hour')", g)
            sql(cur, "SELECT featstore.set_freshness(%s, '1 hour')", g)
        else:
            sql(cur, "SELECT featstore.set_monitor_every(%s, NULL)", g)
        # every history table has the statistics' BRIN index on event_timestamp
        # (docs/monitoring.md, Statistics): kept for the _brin variants only
        if not brin:
            sql(cur, "DROP INDEX %s_event_brin" % g)
    times, cpus, wals = {}, {}, {}
    cols = ('user_id', 'event_timestamp', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'n', 'cat')
    pid = sql(cur, 'SELECT pg_backend_pid()')[0][0]
    for _ in range(runs):
        for mon, brin in variants:
            g = 'bench_ing_%s%s' % (mon, '_brin' if brin else '')
            sql(cur, 'TRUNCATE %s' % g)
            sql(cur, 'CHECKPOINT')
            data.seek(0)
            lsn0 = sql(cur, 'SELECT pg_current_wal_insert_lsn()')[0][0]
            c0 = backend_cpu(pid)
            t0 = time.time()
            cur.copy_from(data, g, columns=cols)
            times.setdefault(g, []).append(time.time() - t0)
            cpus.setdefault(g, []).append(backend_cpu(pid) - c0)
            wals.setdefault(g, []).append(
                sql(cur, 'SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)', lsn0)[0][0])
    best = {g: min(t) for g, t in times.items()}
    cpu = {g: min(t) for g, t in cpus.items()}
    base, cbase = best['bench_ing_off'], cpu['bench_ing_off']
    return {'rows': n, 'runs': runs,
            'copy_s': {g: round(t, 3) for g, t in best.items()},
            'rows_per_s': {g: round(n / t) for g, t in best.items()},
            'vs_monitor_off_pct': {g: round((t / base - 1) * 100, 1) for g, t in best.items()},
            'backend_cpu_s': {g: round(t, 3) for g, t in cpu.items()},
            'cpu_vs_monitor_off_pct': {g: round((t / cbase - 1) * 100, 1) for g, t in cpu.items()},
            'wal_mb': {g: round(float(min(w)) / 1e6, 1) for g, w in wals.items()},
            'all_s': {g: [round(x, 3) for x in t] for g, t in times.items()},
            'all_cpu_s': {g: [round(x, 3) for x in t] for g, t in cpus.items()}}


def backend_cpu(pid):
    """CPU seconds (user + system) the backend has used, from /proc: less
    sensitive than wall time to what else the shared machine runs."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def main():
    what = sys.argv[1:] or ['stats_freshness', 'ingest']
    c = connect()
    cur = c.cursor()
    online_bench.setup(cur)
    results = {'machine': {'nproc': os.cpu_count(), 'loadavg_start': os.getloadavg()}}
    if 'stats_freshness' in what:
        results['stats_freshness'] = stats_freshness(
            cur, int(os.environ.get('BIG_N', 10000000)), int(os.environ.get('FRESH_RATE', 1000)),
            int(os.environ.get('FRESH_S', 30)))
    if 'ingest' in what:
        results['ingest'] = ingest(cur, int(os.environ.get('INGEST_N', 1000000)),
                                   int(os.environ.get('INGEST_RUNS', 5)))
        print(json.dumps({'ingest': results['ingest']}), flush=True)
    results['machine']['loadavg_end'] = os.getloadavg()
    with open(os.environ['OUT'], 'w') as f:
        json.dump(results, f, indent=1)
    print(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
