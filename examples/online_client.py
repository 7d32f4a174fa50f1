#!/usr/bin/python3
"""Read featstore feature vectors straight from Redis.

Several entities x several feature groups cost one round trip: the GETs are
pipelined (and, because an entity's keys share a hash tag, they would stay
in one slot on Redis Cluster).  Uses Debian's python3-redis and
python3-msgpack, so run it with /usr/bin/python3.

    /usr/bin/python3 examples/online_client.py --port 6379 --entity user \
        --key u0001 --key u0002 --group user_transaction_features --group user_profile

The key and value layout is specified in docs/online-store.md.
"""
import argparse
import json
import sys
import time

import msgpack
import redis


def escape(part):
    """Percent-encode the characters featstore reserves in key parts."""
    return (str(part).replace('%', '%25').replace(':', '%3A')
            .replace('{', '%7B').replace('}', '%7D'))


def featstore_key(entity, key_values, group, prefix='fs'):
    """The Redis key of one entity's value in one feature group.

    key_values is a tuple in key-column order; integers as decimal, uuids in
    lowercase canonical form, text as is.
    """
    tag = ':'.join([escape(entity)] + [escape(v) for v in key_values])
    return '%s:{%s}:%s' % (prefix, tag, escape(group))


def read_features(client, entity, entities, groups, prefix='fs', now_us=None):
    """Return {key_values: {group: value or None}} in one round trip.

    A value is the decoded msgpack map: event_timestamp, created_at,
    materialized_at, expires_at (microseconds since the Unix epoch; expires_at
    is None without a TTL) and features.  A value past its expires_at is
    treated as absent, so a reader never sees an expired value even within
    Redis' millisecond expiry granularity.
    """
    if now_us is None:
        now_us = int(time.time() * 1_000_000)
    pipe = client.pipeline(transaction=False)
    order = []
    for kv in entities:
        for g in groups:
            pipe.get(featstore_key(entity, kv, g, prefix))
            order.append((kv, g))
    result = {kv: {} for kv in entities}
    for (kv, g), raw in zip(order, pipe.execute()):
        value = None
        if raw is not None:
            value = msgpack.unpackb(raw, raw=False)
            if value['expires_at'] is not None and value['expires_at'] < now_us:
                value = None
        result[kv][g] = value
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=6379)
    ap.add_argument('--password')
    ap.add_argument('--db', type=int, default=0)
    ap.add_argument('--prefix', default='fs')
    ap.add_argument('--entity', required=True, help='entity name, e.g. user')
    ap.add_argument('--key', action='append', required=True,
                    help='one entity key; compound keys as a,b (repeatable)')
    ap.add_argument('--group', action='append', required=True, help='feature group (repeatable)')
    ap.add_argument('--bench', type=int, default=0,
                    help='time N reads of the first key and print p50/p99 in microseconds')
    args = ap.parse_args()

    client = redis.Redis(host=args.host, port=args.port, password=args.password, db=args.db)
    entities = [tuple(k.split(',')) for k in args.key]

    if args.bench:
        lat = []
        for _ in range(args.bench):
            t0 = time.perf_counter()
            read_features(client, args.entity, entities[:1], args.group, args.prefix)
            lat.append(time.perf_counter() - t0)
        lat.sort()
        print(json.dumps({'reads': len(lat),
                          'p50_us': round(lat[len(lat) // 2] * 1e6, 1),
                          'p99_us': round(lat[int(len(lat) * 0.99)] * 1e6, 1)}))
        return 0

    out = read_features(client, args.entity, entities, args.group, args.prefix)
    print(json.dumps({','.join(kv): groups for kv, groups in out.items()},
                     sort_keys=True, indent=1, default=repr))
    return 0


if __name__ == '__main__':
    sys.exit(main())
