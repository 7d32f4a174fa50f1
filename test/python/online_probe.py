#!/usr/bin/python3
"""Timing probes for the online-store TAP tests.

Writes through PostgreSQL (psycopg2) and reads Redis only through the
documented layout (docs/online-store.md: key
fs:<namespace>:{<entity>:<key>}:<group>, the namespace read from
featstore.online_namespace(),
msgpack value), with Debian's python3-psycopg2, python3-redis and
python3-msgpack.  Every loop is bounded in time.  Each subcommand prints
one line per measurement and a summary line the Perl test parses.

  future  --group G --entity E --rows N --min-ms A --max-ms B
          insert N rows for fresh entities dated A..B ms in the future,
          then poll Redis until each is served; prints the delay from each
          row's event_timestamp to its first visibility
  fresh   --group G --entity E --writes N [--also SQL]
          N commits one after the other (each also running SQL, if given);
          prints the delay from each commit to its value in Redis
  sample  --seconds S
          samples featstore.materialization_status as fast as it can
"""
import argparse
import sys
import time

import msgpack
import psycopg2
import redis


# The database's namespace, featstore.online_namespace(), read in main()
NAMESPACE = ''


def esc(part):
    return (str(part).replace('%', '%25').replace(':', '%3A')
            .replace('{', '%7B').replace('}', '%7D'))


def key(entity, value, group, prefix='fs'):
    head = '%s:%s' % (prefix, esc(NAMESPACE)) if NAMESPACE else prefix
    return '%s:{%s:%s}:%s' % (head, esc(entity), esc(value), esc(group))


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def summary(name, delays_ms):
    print('%s n=%d p50=%.1f p99=%.1f max=%.1f min=%.1f' % (
        name, len(delays_ms), percentile(delays_ms, 50), percentile(delays_ms, 99),
        max(delays_ms), min(delays_ms)))


def future(args, pg, r):
    cur = pg.cursor()
    cur.execute(
        "INSERT INTO %s (id, event_timestamp, v)"
        " SELECT 'fut-' || g || '-' || %%s, now() + make_interval(secs => (%%s + (%%s - %%s) * g / %%s) / 1000.0), g"
        " FROM generate_series(1, %%s) g"
        " RETURNING id, (extract(epoch FROM event_timestamp) * 1000000)::bigint" % args.group,
        (int(time.time() * 1000), args.min_ms, args.max_ms, args.min_ms, args.rows, args.rows))
    due = {key(args.entity, k, args.group): ets for k, ets in cur.fetchall()}
    pg.commit()
    committed = time.time()
    seen = {}
    deadline = time.time() + args.max_ms / 1000.0 + 10
    while len(seen) < len(due) and time.time() < deadline:
        now_us = int(time.time() * 1e6)
        # only the keys due by now or within 2 ms: few GETs per round
        due_now = [k for k, ets in due.items() if k not in seen and ets <= now_us + 2000]
        if due_now:
            pipe = r.pipeline(transaction=False)
            for k in due_now:
                pipe.get(k)
            for k, raw in zip(due_now, pipe.execute()):
                if raw is None:
                    continue
                t = time.time()
                v = msgpack.unpackb(raw, raw=False)
                if v['event_timestamp'] == due[k]:
                    seen[k] = t
        time.sleep(0.0005)
    # keys are polled from 2 ms before they are due: one served early shows
    # as a negative delay
    delays = [(seen[k] - due[k] / 1e6) * 1000 for k in seen]
    print('missing=%d' % (len(due) - len(seen)))
    for k in sorted(seen, key=lambda k: seen[k] - due[k] / 1e6)[-3:]:
        print('slowest %s due %.0f ms after the commit, seen %.1f ms late' % (
            k, (due[k] / 1e6 - committed) * 1000, (seen[k] - due[k] / 1e6) * 1000))
    summary('future', delays if delays else [float('inf')])


def fresh(args, pg, r):
    pg.autocommit = True
    cur = pg.cursor()
    delays = []
    for i in range(1, args.writes + 1):
        if args.also:
            cur.execute(args.also)
        k = key(args.entity, 'fresh-%d' % i, args.group)
        cur.execute("INSERT INTO %s (id, event_timestamp, v) VALUES (%%s, now(), %%s)" % args.group,
                    ('fresh-%d' % i, i))
        t0 = time.time()
        while time.time() < t0 + 10:
            raw = r.get(k)
            if raw is not None and msgpack.unpackb(raw, raw=False)['features']['v'] == i:
                break
            time.sleep(0.001)
        delays.append((time.time() - t0) * 1000)
        time.sleep(args.gap_ms / 1000.0)
    summary('fresh', delays)


def sample(args, pg, r):
    pg.autocommit = True
    cur = pg.cursor()
    end = time.time() + args.seconds
    n = 0
    while time.time() < end:
        cur.execute("SELECT group_name, worker_state, queue_depth FROM featstore.materialization_status")
        t = time.time()
        for g, state, depth in cur.fetchall():
            print('sample %d %.4f %s %s %d' % (n, t, g, state.replace(' ', '_'), depth))
        n += 1
    sys.stdout.flush()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('command', choices=['future', 'fresh', 'sample'])
    p.add_argument('--pghost', required=True)
    p.add_argument('--pgport', type=int, required=True)
    p.add_argument('--redis-port', type=int, required=True)
    p.add_argument('--group')
    p.add_argument('--entity')
    p.add_argument('--rows', type=int, default=100)
    p.add_argument('--min-ms', type=int, default=200)
    p.add_argument('--max-ms', type=int, default=2000)
    p.add_argument('--writes', type=int, default=50)
    p.add_argument('--gap-ms', type=int, default=100)
    p.add_argument('--also')
    p.add_argument('--seconds', type=float, default=5)
    args = p.parse_args()
    pg = psycopg2.connect(host=args.pghost, port=args.pgport, dbname='postgres',
                          application_name='online_probe')
    r = redis.Redis(host='127.0.0.1', port=args.redis_port)
    global NAMESPACE
    cur = pg.cursor()
    cur.execute('SELECT featstore.online_namespace()')
    NAMESPACE = cur.fetchone()[0]
    pg.commit()
    {'future': future, 'fresh': fresh, 'sample': sample}[args.command](args, pg, r)


if __name__ == '__main__':
    main()
