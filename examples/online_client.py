#!/usr/bin/python3
"""Read featstore feature vectors straight from Redis.

Several entities x several feature groups cost one round trip: the GETs are
pipelined (and, because an entity's keys share a hash tag, they would stay
in one slot on Redis Cluster).  Uses Debian's python3-redis and
python3-msgpack, so run it with /usr/bin/python3.

    /usr/bin/python3 examples/online_client.py --port 6379 --entity user \\
        --key u0001 --key u0002 --group user_transaction_features --group user_profile

A service reads Redis only and never asks PostgreSQL, so from Redis alone a
missing key is just "missing": an unknown entity, an expired value, a group
that is not ONLINE and a misspelt group all look the same.  Pass
--definitions FILE, the groups and services exported from PostgreSQL once
(docs/online-store.md, "Reading from a service"), and unknown groups,
services and entities become errors, a whole feature service can be read
(--service with --row), and feature values print by their SQL type.

The key and value layout is specified in docs/online-store.md.
"""
import argparse
import datetime
import json
import struct
import sys
import time

import msgpack
import redis

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class DefinitionError(Exception):
    """A group, service or entity the definitions do not know, or a bad request."""


def escape(part):
    """Percent-encode the characters featstore reserves in key parts."""
    return (str(part).replace('%', '%25').replace(':', '%3A')
            .replace('{', '%7B').replace('}', '%7D'))


def key_head(prefix='fs', namespace=''):
    """What every key of a database starts with: <prefix>:<namespace>.

    prefix is current_setting('featstore.redis_key_prefix'), namespace
    featstore.online_namespace() (escaped like a key part); an empty
    namespace is the legacy layout of featstore 0.2.0, <prefix>:{...}:<group>.
    """
    return '%s:%s' % (prefix, escape(namespace)) if namespace else prefix


def featstore_key(entity, key_values, group, prefix='fs'):
    """The Redis key of one entity's value in one feature group.

    key_values is a tuple in key-column order; integers as decimal, uuids in
    lowercase canonical form, text as is.  prefix is key_head(): the prefix
    and the database's namespace.
    """
    tag = ':'.join([escape(entity)] + [escape(v) for v in key_values])
    return '%s:{%s}:%s' % (prefix, tag, escape(group))


def read_features(client, entity, entities, groups, prefix='fs', now_us=None):
    """Return {key_values: {group: value or None}} in one round trip.

    A value is the decoded msgpack map: event_timestamp, created_at,
    materialized_at, expires_at (microseconds since the Unix epoch; expires_at
    is None without a TTL) and features.  None means no value now (Redis
    cannot say why).  A value past its expires_at is treated as absent, so a
    reader never sees an expired value even within Redis' millisecond expiry
    granularity.
    """
    order = [(kv, g) for kv in entities for g in groups]
    result = {kv: {} for kv in entities}
    values = get_values(client, [(entity, kv, g) for kv, g in order], prefix, now_us)
    for (kv, g), value in zip(order, values):
        result[kv][g] = value
    return result


def get_values(client, requests, prefix='fs', now_us=None):
    """One pipelined GET per (entity, key_values, group): the values, in order."""
    if now_us is None:
        now_us = int(time.time() * 1_000_000)
    pipe = client.pipeline(transaction=False)
    for entity, kv, g in requests:
        pipe.get(featstore_key(entity, kv, g, prefix))
    values = []
    for raw in pipe.execute():
        value = None
        if raw is not None:
            value = msgpack.unpackb(raw, raw=False)
            if value['expires_at'] is not None and value['expires_at'] < now_us:
                value = None
        values.append(value)
    return values


def load_definitions(path):
    """Read the JSON exported from PostgreSQL: {"groups": {...}, "services": {...}}."""
    with open(path) as f:
        defs = json.load(f)
    defs.setdefault('groups', {})
    defs.setdefault('services', {})
    return defs


def check_group(defs, group, entity=None):
    """Raise DefinitionError unless group is a known ONLINE group (of entity)."""
    g = defs['groups'].get(group)
    if g is None:
        raise DefinitionError('feature group "%s" does not exist (known: %s)'
                              % (group, ', '.join(sorted(defs['groups'])) or 'none'))
    if not g.get('online', True):
        raise DefinitionError('feature group "%s" is OFFLINE: Redis holds no values for it'
                              % group)
    if entity is not None and g['entity'] != entity:
        raise DefinitionError('feature group "%s" belongs to entity "%s", not "%s"'
                              % (group, g['entity'], entity))
    return g


def read_service(client, defs, service, rows, prefix='fs', now_us=None):
    """Read a feature service's vector for each row, in one round trip.

    rows is a list of {entity: key_values}, one per scoring request, with a
    key for every entity the service's groups belong to.  Returns, per row,
    {"features": {"group.feature": value}, "groups": {group: value or None}}
    with the features in the service's order (None where the group has no
    value).
    """
    members = defs['services'].get(service)
    if members is None:
        raise DefinitionError('feature service "%s" does not exist (known: %s)'
                              % (service, ', '.join(sorted(defs['services'])) or 'none'))
    groups = []
    for m in members:
        g = m.split('.', 1)[0]
        if g not in groups:
            check_group(defs, g)
            groups.append(g)
    requests = []
    for i, row in enumerate(rows):
        for g in groups:
            entity = defs['groups'][g]['entity']
            if entity not in row:
                raise DefinitionError('row %d has no key of entity "%s" (group "%s" of service "%s")'
                                      % (i + 1, entity, g, service))
            requests.append((i, entity, row[entity], g))
    values = [dict() for _ in rows]
    got = get_values(client, [(e, kv, g) for i, e, kv, g in requests], prefix, now_us)
    for (i, e, kv, g), value in zip(requests, got):
        values[i][g] = value
    out = []
    for i in range(len(rows)):
        feats = {}
        for m in members:
            g, f = m.split('.', 1)
            v = values[i][g]
            feats[m] = v['features'].get(f) if v is not None else None
        out.append({'features': feats, 'groups': values[i]})
    return out


def iso(us):
    """Microseconds since the Unix epoch as an ISO 8601 UTC time."""
    if not isinstance(us, int):
        return us                       # 'infinity' / '-infinity' stay as written
    return (EPOCH + datetime.timedelta(microseconds=us)).isoformat()


def short_float32(x):
    """The shortest decimal that reads back as the same float32 (no 0.10000000149...)."""
    if not isinstance(x, float):
        return x
    want = struct.pack('<f', x)
    for digits in range(1, 10):
        s = float('%.*g' % (digits, x))
        if struct.pack('<f', s) == want:
            return s
    return x


def readable_feature(value, data_type):
    """A feature value for printing: timestamps as ISO times, reals without float32 noise."""
    if data_type is None or value is None:
        return value
    base = data_type[:-2] if data_type.endswith('[]') else data_type
    if base in ('timestamp with time zone', 'timestamp without time zone'):
        conv = iso if base.endswith('with time zone') else (
            lambda us: iso(us)[:-6] if isinstance(us, int) else us)
    elif base == 'real':
        conv = short_float32
    else:
        return value
    return [conv(v) for v in value] if isinstance(value, list) else conv(value)


def readable(value, types=None):
    """A value for printing: a status, ISO times, and typed features when types are known."""
    if value is None:
        return {'status': 'missing'}
    out = {'status': 'found'}
    for k in ('event_timestamp', 'created_at', 'materialized_at', 'expires_at'):
        out[k] = iso(value[k]) if value[k] is not None else None
    out['features'] = {f: readable_feature(v, (types or {}).get(f))
                       for f, v in value['features'].items()}
    return out


def group_summary(value):
    """A group's status and times, for a service read (its features are listed already)."""
    r = readable(value)
    return {k: r[k] for k in ('status', 'event_timestamp', 'expires_at') if k in r}


def parse_row(text):
    """'user=u0001;merchant=17' (compound keys as a,b) into {entity: key_values}."""
    row = {}
    for part in text.split(';'):
        entity, sep, keys = part.partition('=')
        if not sep:
            raise DefinitionError('--row %r: write entity=key[;entity=key...]' % text)
        row[entity] = tuple(keys.split(','))
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=6379)
    ap.add_argument('--password')
    ap.add_argument('--db', type=int, default=0)
    ap.add_argument('--prefix', default='fs')
    ap.add_argument('--namespace',
                    help="the database's namespace, featstore.online_namespace() "
                         "(default: the one in --definitions, else '': the legacy layout)")
    ap.add_argument('--definitions', help='JSON of groups and services exported from PostgreSQL')
    ap.add_argument('--entity', help='entity name, e.g. user')
    ap.add_argument('--key', action='append', default=[],
                    help='one entity key; compound keys as a,b (repeatable)')
    ap.add_argument('--group', action='append', default=[], help='feature group (repeatable)')
    ap.add_argument('--service', help='feature service to read (needs --definitions and --row)')
    ap.add_argument('--row', action='append', default=[],
                    help='the keys of one request to a service: entity=key[;entity=key] (repeatable)')
    ap.add_argument('--bench', type=int, default=0,
                    help='time N reads of the first key and print p50/p99 in microseconds')
    args = ap.parse_args()

    client = redis.Redis(host=args.host, port=args.port, password=args.password, db=args.db)
    try:
        defs = load_definitions(args.definitions) if args.definitions else None
        if args.namespace is None:
            args.namespace = (defs or {}).get('namespace') or ''
        args.prefix = key_head(args.prefix, args.namespace)
        if args.service:
            if defs is None:
                raise DefinitionError('--service needs --definitions: a service\'s features are '
                                      'defined in PostgreSQL, not in Redis')
            if not args.row:
                raise DefinitionError('--service needs at least one --row entity=key[;entity=key]')
            rows = [parse_row(r) for r in args.row]
            out = read_service(client, defs, args.service, rows, args.prefix)
            types = {}
            for g, gd in defs['groups'].items():
                for f, t in gd['features'].items():
                    types['%s.%s' % (g, f)] = t
            print(json.dumps({r: {'features': {m: readable_feature(v, types.get(m))
                                               for m, v in o['features'].items()},
                                  'groups': {g: group_summary(v) for g, v in o['groups'].items()}}
                              for r, o in zip(args.row, out)}, indent=1, default=repr))
            return 0
        if not args.entity or not args.key or not args.group:
            raise DefinitionError('give --entity, --key and --group, or --service and --row')
        if defs is not None:
            for g in args.group:
                check_group(defs, g, args.entity)
    except (DefinitionError, OSError, ValueError) as e:
        print('featstore: %s' % e, file=sys.stderr)
        return 2

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
    if defs is None:
        # Redis alone cannot tell a misspelt group from one without values
        for g in args.group:
            if all(groups[g] is None for groups in out.values()):
                print('featstore: note: no value of group "%s" for any requested entity; '
                      'pass --definitions to check the name' % g, file=sys.stderr)
    types = {g: defs['groups'][g]['features'] for g in args.group} if defs else {}
    print(json.dumps({','.join(kv): {g: readable(v, types.get(g)) for g, v in groups.items()}
                      for kv, groups in out.items()},
                     sort_keys=True, indent=1, default=repr))
    return 0


if __name__ == '__main__':
    sys.exit(main())
