#!/usr/bin/python3
"""Bulk materialization onto a Redis Cluster (run through bench/cluster/run.sh).

featstore.materialize() of BULK_N entities (5 features, the values of
bench/online's bulk run), timed from the call until the worker has drained
the queue, then checked with verify_online; then redis-benchmark --cluster
-P 64 -c 50 SET of values of the same size on the same cluster.  The ratio
of the two rates is the figure of docs/performance.md.

Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, CLUSTER_PORTS, BULK_N, OUT.
"""
import json
import os
import subprocess
import time

import psycopg2

PORTS = [int(p) for p in os.environ['CLUSTER_PORTS'].split()]
N = int(os.environ.get('BULK_N', '1000000'))


def sql(cur, q, *a):
    cur.execute(q, a)
    return cur.fetchall() if cur.description else None


def cli(*args):
    return subprocess.run(['redis-cli', '-c', '-h', '127.0.0.1', '-p', str(PORTS[0])] + list(args),
                          capture_output=True, text=True, check=True).stdout.strip()


def masters():
    out = subprocess.run(['redis-cli', '-h', '127.0.0.1', '-p', str(PORTS[0]), 'CLUSTER', 'NODES'],
                         capture_output=True, text=True, check=True).stdout
    return [int(l.split()[1].split('@')[0].split(':')[1]) for l in out.splitlines()
            if 'master' in l.split()[2] and len(l.split()) > 8]


def dbsize():
    return sum(int(subprocess.run(['redis-cli', '-h', '127.0.0.1', '-p', str(p), 'DBSIZE'],
                                  capture_output=True, text=True, check=True).stdout) for p in masters())


def wait_drained(cur, timeout=1800):
    t0 = time.time()
    while time.time() - t0 < timeout:
        row = sql(cur, "SELECT coalesce(sum(queued_entities), 0) FROM featstore.online_queue_depth()")
        if row[0][0] == 0 and sql(cur, "SELECT state FROM featstore.online_worker_status()")[0][0] == 'idle':
            return time.time()
        time.sleep(0.01)
    raise RuntimeError('worker did not drain the queue')


def key(cur, entity, k, group):
    """The documented key, from the prefix setting and the namespace (where it exists)."""
    prefix = sql(cur, "SELECT current_setting('featstore.redis_key_prefix')")[0][0]
    ns = ''
    if sql(cur, "SELECT to_regprocedure('featstore.online_namespace()') IS NOT NULL")[0][0]:
        ns = sql(cur, "SELECT featstore.online_namespace()")[0][0]
    esc = lambda s: str(s).replace('%', '%25').replace(':', '%3A').replace('{', '%7B').replace('}', '%7D')
    return ':'.join([prefix] + ([esc(ns)] if ns else []) + ['{%s:%s}' % (esc(entity), esc(k)), esc(group)])


def main():
    c = psycopg2.connect('')
    c.autocommit = True
    cur = c.cursor()
    sql(cur, "CREATE EXTENSION IF NOT EXISTS featstore")
    sql(cur, """SELECT * FROM featstore.exec($$
        CREATE ENTITY bench_user (user_id bigint);
        CREATE FEATURE GROUP bench_a ENTITY bench_user
          FEATURES (tx_count bigint 'c', amount_avg double precision 'a', amount_max double precision 'm',
                    merchants bigint 'u', country text 't') TTL '30 days' ONLINE
    $$)""")
    sql(cur, """INSERT INTO bench_a (user_id, event_timestamp, tx_count, amount_avg, amount_max, merchants, country)
                SELECT g, now() - interval '1 hour', g, g * 0.5, g * 1.5, g %% 100, 'FR'
                  FROM generate_series(1, %s) g""", N)
    wait_drained(cur)
    t0 = time.time()
    queued = sql(cur, "SELECT featstore.materialize('bench_a')")[0][0]
    t_q = time.time()
    t1 = wait_drained(cur)
    keys = dbsize()
    diffs = sql(cur, "SELECT count(*) FROM featstore.verify_online('bench_a', sample => 20000)")[0][0]
    size = int(cli('STRLEN', key(cur, 'bench_user', 1, 'bench_a')))
    rate = queued / (t1 - t0)
    nset = max(N, 500000)
    out = subprocess.run(['redis-benchmark', '--cluster', '-h', '127.0.0.1', '-p', str(PORTS[0]),
                          '-P', '64', '-c', '50', '-n', str(nset), '-r', '1000000', '-d', str(size),
                          '-t', 'set', '--csv'], capture_output=True, text=True).stdout
    set_rps = float([l for l in out.splitlines() if l.startswith('"SET"')][0].split(',')[1].strip('"'))
    res = {'entities': queued, 'keys_in_cluster': keys, 'masters': len(masters()), 'value_bytes': size,
           'queue_s': round(t_q - t0, 2), 'total_s': round(t1 - t0, 2),
           'entities_per_s': round(rate), 'redis_benchmark_cluster_set_P64_per_s': round(set_rps),
           'ratio': round(rate / set_rps, 2), 'verify_online_differences': diffs}
    print(json.dumps({'bulk_cluster': res}, indent=1))
    with open(os.environ['OUT'], 'w') as f:
        json.dump({'bulk_cluster': res}, f, indent=1)


if __name__ == '__main__':
    main()
