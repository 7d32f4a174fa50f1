#!/usr/bin/python3
"""Checks of source groups' online values for test/t/055_window_online.pl.

Reads Redis only through the documented layout (docs/online-store.md: key
fs:<namespace>:{<entity>:<key>}:<group>, msgpack value) and compares it with an
independent oracle: SQL over the source (LATERAL aggregates) evaluated at
the same instant.  Uses Debian's python3-psycopg2, python3-redis and
python3-msgpack.  Every loop is bounded in time.

  check --group G --entity E --oracle SQL --changes SQL
      SQL %(t)s is the instant (timestamptz).  The oracle returns, per
      entity: key text, present boolean, event_timestamp in microseconds
      since 1970 (null when not present), the features as a json object.
      changes returns the instants (timestamptz) at which some value
      changes; the check picks an instant at least --guard-ms after the
      last of them and before the next, waits for it, reads Redis, then
      runs the oracle at that instant.  Prints one line per difference and
      "checked=N diffs=D".
  lag --group G --entity E --source T --rows N --window-s W --min-ms A --max-ms B
      inserts N events into source T for fresh entities, dated so that
      they leave a W-second window A..B ms from now, waits until Redis
      counts them, then polls Redis until each count is 0: prints
      "lag n=.. p50=.. p99=.. max=.. min=.." of visibility minus due time
      (ms).  The group's first feature must be that window's count(*).
"""
import argparse
import json
import math
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


def head(prefix='fs'):
    return '%s:%s' % (prefix, esc(NAMESPACE)) if NAMESPACE else prefix


def key(entity, value, group, prefix='fs'):
    return '%s:{%s:%s}:%s' % (head(prefix), esc(entity), esc(value), esc(group))


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        if a == b:
            return True
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def safe_instant(cur, changes_sql, guard_ms):
    """An instant (seconds since 1970) at least guard_ms after every change
    instant before it and 100 ms before the next one, from 300 ms ahead"""
    start = time.time() + 0.3
    cur.execute("SELECT extract(epoch FROM c)::float8 FROM (" + changes_sql +
                ") x(c) WHERE c > to_timestamp(%(s)s) - interval '10 seconds'"
                " ORDER BY 1", {'t': None, 's': start})
    instants = [r[0] for r in cur.fetchall() if r[0] is not None]
    t = start
    for _ in range(10000):
        bad = [c for c in instants if t - guard_ms / 1000.0 <= c <= t + 0.1]
        if not bad:
            return t
        t = max(bad) + guard_ms / 1000.0 + 0.001
    raise SystemExit('no quiet instant found')


def check(args, pg, r):
    cur = pg.cursor()
    t = safe_instant(cur, args.changes, args.guard_ms)
    pg.commit()
    while time.time() < t:
        time.sleep(min(0.01, max(t - time.time(), 0)))
    # the oracle's entities are known only after it runs; read every key of
    # the group now, at t, and the oracle's rows at t afterwards
    keys = list(r.scan_iter(match='%s:{%s:*}:%s' % (head(), args.entity, args.group), count=1000))
    raw = r.mget(keys) if keys else []
    read_end = time.time()
    stored = {}
    for k, v in zip(keys, raw):
        if v is None:
            continue
        val = msgpack.unpackb(v, raw=False)
        now_us = int(t * 1000000)
        if val['expires_at'] is not None and val['expires_at'] < now_us:
            continue          # expired within Redis' millisecond granularity
        ks = k.decode()
        stored[ks] = val
    cur.execute("SELECT to_timestamp(%s::float8)", (t,))
    tt = cur.fetchone()[0]
    cur.execute(args.oracle, {'t': tt})
    rows = cur.fetchall()
    pg.commit()
    diffs = 0
    seen = set()
    for ent, present, ets, feats in rows:
        k = key(args.entity, ent, args.group)
        seen.add(k)
        got = stored.get(k)
        if not present:
            if got is not None:
                print('diff %s: stale key %s' % (ent, got['features']))
                diffs += 1
            continue
        if got is None:
            print('diff %s: missing, expected %s' % (ent, feats))
            diffs += 1
            continue
        if got['event_timestamp'] != ets:
            print('diff %s: event_timestamp %s, expected %s' % (ent, got['event_timestamp'], ets))
            diffs += 1
        exp = json.loads(feats) if isinstance(feats, str) else feats
        for name, value in exp.items():
            if not same(got['features'].get(name), value):
                print('diff %s: %s = %r, expected %r' % (ent, name, got['features'].get(name), value))
                diffs += 1
    for k in stored:
        if k not in seen:
            print('diff %s: a key the oracle does not know' % k)
            diffs += 1
    print('instant=%.6f read_ms=%.1f' % (t, (read_end - t) * 1000))
    print('checked=%d present=%d diffs=%d' % (len(rows), len(stored), diffs))


def lag(args, pg, r):
    cur = pg.cursor()
    tag = int(time.time() * 1000)
    cur.execute(
        "INSERT INTO " + args.source + " (user_id, event_time, amount, merchant_id, status)"
        " SELECT 'lag-' || %(tag)s || '-' || g,"
        "  now() - make_interval(secs => %(w)s) + make_interval(secs => (%(a)s + (%(b)s - %(a)s) * g / %(n)s) / 1000.0),"
        "  1, 'm', 'ok' FROM generate_series(1, %(n)s) g"
        " RETURNING user_id, (extract(epoch FROM event_time) * 1000000)::bigint",
        {'tag': tag, 'w': args.window_s, 'a': args.min_ms, 'b': args.max_ms, 'n': args.rows})
    due = {key(args.entity, k, args.group): (ets + args.window_s * 1000000) / 1e6
           for k, ets in cur.fetchall()}
    pg.commit()
    first = None
    deadline = time.time() + 10
    # they count first
    while time.time() < deadline:
        vals = r.mget(list(due))
        if all(v is not None and msgpack.unpackb(v, raw=False)['features'][args.feature] == 1
               for v in vals):
            break
        time.sleep(0.005)
    else:
        raise SystemExit('the events never counted')
    seen = {}
    deadline = time.time() + args.max_ms / 1000.0 + 10
    names = list(due)
    while len(seen) < len(due) and time.time() < deadline:
        vals = r.mget(names)
        now = time.time()
        for k, v in zip(names, vals):
            if k in seen:
                continue
            if v is None or msgpack.unpackb(v, raw=False)['features'][args.feature] == 0:
                seen[k] = now
        time.sleep(0.001)
    delays = sorted((seen[k] - due[k]) * 1000 for k in seen)
    print('missing=%d' % (len(due) - len(seen)))
    if not delays:
        return

    def pct(p):
        return delays[min(len(delays) - 1, int(round(p / 100.0 * (len(delays) - 1))))]
    print('lag n=%d p50=%.1f p99=%.1f max=%.1f min=%.1f' % (
        len(delays), pct(50), pct(99), max(delays), min(delays)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('mode', choices=['check', 'lag'])
    p.add_argument('--group', required=True)
    p.add_argument('--entity', required=True)
    p.add_argument('--oracle')
    p.add_argument('--changes')
    p.add_argument('--guard-ms', type=int, default=250)
    p.add_argument('--source')
    p.add_argument('--feature')
    p.add_argument('--rows', type=int, default=50)
    p.add_argument('--window-s', type=int, default=3)
    p.add_argument('--min-ms', type=int, default=500)
    p.add_argument('--max-ms', type=int, default=2500)
    p.add_argument('--pghost', required=True)
    p.add_argument('--pgport', required=True)
    p.add_argument('--redis-port', type=int, required=True)
    args = p.parse_args()
    pg = psycopg2.connect(host=args.pghost, port=args.pgport, dbname='postgres')
    r = redis.Redis(host='127.0.0.1', port=args.redis_port)
    global NAMESPACE
    cur = pg.cursor()
    cur.execute('SELECT featstore.online_namespace()')
    NAMESPACE = cur.fetchone()[0]
    pg.commit()
    if args.mode == 'check':
        check(args, pg, r)
    else:
        lag(args, pg, r)


if __name__ == '__main__':
    sys.exit(main())
