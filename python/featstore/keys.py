"""The online store's Redis key and value layout (docs/online-store.md).

Key:   <prefix>[:<namespace>]:{<entity>:<key1>[:<key2>...]}:<group>
Value: a msgpack map with event_timestamp, created_at, materialized_at,
       expires_at (microseconds since 1970-01-01 UTC, expires_at nil when the
       group has no TTL) and features (name -> value).

The namespace part is absent when the namespace is '' (the legacy layout of
a database upgraded from 0.2.0).
"""

import datetime
import decimal
import math
import struct
import uuid

import msgpack

FOUND = "found"
MISSING = "missing"
INVALID = "invalid"

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_VALUE_FIELDS = ("event_timestamp", "created_at", "materialized_at", "expires_at", "features")


_ESCAPES = str.maketrans({"%": "%25", ":": "%3A", "{": "%7B", "}": "%7D"})


def escape(part):
    """A key part with %, :, { and } escaped as the worker escapes them."""
    return part.translate(_ESCAPES)


def key_prefix(prefix, namespace):
    """The part of every key before the hash tag: prefix, then the escaped
    namespace unless it is empty."""
    if namespace:
        return "%s:%s:" % (prefix, escape(namespace))
    return prefix + ":"


def redis_key(head, entity, key_texts, group):
    """The key of one entity of a group; head is key_prefix()'s result and
    key_texts the key values' PostgreSQL text forms."""
    tag = ":".join([escape(entity)] + [escape(t) for t in key_texts])
    return "%s{%s}:%s" % (head, tag, escape(group))


def key_text(value, pg_type, column):
    """The PostgreSQL text form of an entity key value of type pg_type
    (text, integer, bigint or uuid), as the worker writes it into keys.
    Raises ValueError naming the column for a value of the wrong kind."""
    if value is None:
        raise ValueError('entity key "%s" is null' % column)
    if pg_type in ("integer", "bigint", "smallint"):
        if isinstance(value, bool):
            raise ValueError('entity key "%s" must be an integer, not a boolean' % column)
        try:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError
                n = int(value)
            elif isinstance(value, str):
                n = int(value.strip(), 10)
            else:
                n = int(value)
        except (TypeError, ValueError):
            raise ValueError('entity key "%s" must be an integer (%s), not %r'
                             % (column, pg_type, value)) from None
        lim = 2 ** 31 if pg_type == "integer" else 2 ** 63
        if not -lim <= n < lim:
            raise ValueError('entity key "%s" is out of range for %s: %d' % (column, pg_type, n))
        return str(n)
    if pg_type == "uuid":
        try:
            return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            raise ValueError('entity key "%s" must be a uuid, not %r' % (column, value)) from None
    if not isinstance(value, str):
        raise ValueError('entity key "%s" must be a string (%s), not %r'
                         % (column, pg_type, value))
    return value


def us_to_datetime(us):
    """Microseconds since 1970-01-01 UTC as an aware datetime (exact)."""
    return _EPOCH + datetime.timedelta(microseconds=us)


def _float32(v):
    # real is stored as msgpack float 32: print it as PostgreSQL does
    # (shortest text that reads back to the same float 32), not with noise
    if isinstance(v, float) and math.isfinite(v):
        f32 = struct.unpack("f", struct.pack("f", v))[0]
        for digits in range(6, 10):
            s = "%.*g" % (digits, f32)
            if struct.unpack("f", struct.pack("f", float(s)))[0] == f32:
                return float(s)
    return v


def _decode_scalar(v, base):
    if v is None:
        return None
    if base == "real":
        return _float32(v)
    if base == "numeric" and isinstance(v, str):
        return decimal.Decimal(v)       # the exact decimal text
    if base in ("timestamp with time zone", "timestamp without time zone"):
        if isinstance(v, int):
            d = us_to_datetime(v)
            return d if base == "timestamp with time zone" else d.replace(tzinfo=None)
        return v                        # 'infinity' / '-infinity' as str
    return v


_PLAIN = frozenset(("bigint", "integer", "smallint", "double precision", "boolean", "text",
                    "character varying", "uuid", "date", "bytea", "json", "jsonb"))


def feature_decoder(data_type):
    """None when a feature's msgpack value is already its Python value, else
    the function that converts it (decode_feature for that type)."""
    if data_type in _PLAIN:
        return None
    return lambda v: decode_feature(v, data_type)


def decode_feature(v, data_type):
    """A feature's msgpack value as a Python value by its SQL type:
    real without float32 noise, timestamps as datetimes, arrays as lists."""
    if data_type.endswith("[]"):
        if v is None:
            return None
        if not isinstance(v, list):
            raise ValueError("an array feature is not a msgpack array")
        base = data_type[:-2]
        return [_decode_scalar(x, base) for x in v]
    return _decode_scalar(v, data_type)


def decode_value(raw, now_us):
    """(status, value map or None, reason) of one Redis reply.  A key past its
    expires_at (Redis expires to the millisecond) is missing."""
    if raw is None:
        return MISSING, None, None
    try:
        v = msgpack.unpackb(raw, raw=False)
    except Exception as e:              # any msgpack error: not our value
        return INVALID, None, "not msgpack: %s" % e.__class__.__name__
    if not isinstance(v, dict):
        return INVALID, None, "not a msgpack map"
    for f in _VALUE_FIELDS:
        if f not in v:
            return INVALID, None, 'field "%s" missing' % f
    if not isinstance(v["event_timestamp"], int) or not isinstance(v["features"], dict):
        return INVALID, None, "event_timestamp or features of the wrong type"
    exp = v["expires_at"]
    if exp is not None and not isinstance(exp, int):
        return INVALID, None, "expires_at of the wrong type"
    if exp is not None and exp < now_us:
        return MISSING, None, None
    return FOUND, v, None
