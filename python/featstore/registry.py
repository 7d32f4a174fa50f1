"""A snapshot of featstore's registry, read from PostgreSQL, and the
resolution of feature names against it (docs/python.md, "Names").

One snapshot is a handful of queries as the connecting role (featstore_reader
is enough).  It also records what that role may read: the online read path
refuses features of tables it may not SELECT, tables whose row-level security
applies to it, and masks PII features unless it is a member of
featstore_pii_reader, the rules featstore's own online_features() follows.
"""

import time


class FeatstoreError(Exception):
    """Base class of the client's errors."""


class UnknownNameError(FeatstoreError, LookupError):
    """An unknown feature service, feature group or feature."""

    def __str__(self):                  # LookupError would print repr()
        return self.args[0] if self.args else ""


class UnknownServiceError(UnknownNameError):
    pass


class UnknownFeatureGroupError(UnknownNameError):
    pass


class UnknownFeatureError(UnknownNameError):
    pass


class NotOnlineError(FeatstoreError):
    """A feature group that is not ONLINE has no values in Redis."""


class FeaturePermissionError(FeatstoreError, PermissionError):
    """The connecting role may not read what it asked for."""


class EntityKeyError(FeatstoreError, ValueError):
    """An entity row without a key the request needs, or of the wrong kind."""


class Group:
    __slots__ = ("name", "entity", "keys", "online", "ttl", "kind", "schema", "table",
                 "description", "tags", "features", "readable", "rls")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


class Feature:
    __slots__ = ("group", "name", "data_type", "status", "description", "tags", "pii",
                 "readable", "position")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


_Q_GROUPS = """
SELECT g.name, g.entity_name, g.online, g.ttl::text, g.kind, g.schema_name, g.table_name,
       g.description, g.tags,
       c.oid IS NOT NULL
         AND pg_catalog.has_column_privilege(c.oid, 'event_timestamp', 'SELECT')
         AND NOT EXISTS (SELECT FROM featstore.entity_keys k WHERE k.entity_name = g.entity_name
                            AND NOT pg_catalog.has_column_privilege(c.oid, k.column_name::text,
                                                                    'SELECT')),
       c.oid IS NOT NULL AND pg_catalog.row_security_active(c.oid)
  FROM featstore.feature_groups g
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = g.schema_name
  LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = g.table_name
 ORDER BY g.name"""

_Q_KEYS = """
SELECT entity_name, column_name::text, pg_catalog.format_type(data_type::oid, NULL)
  FROM featstore.entity_keys ORDER BY entity_name, position"""

# pii is read through to_jsonb so that a 0.2.0 registry (no such column) works
_Q_FEATURES = """
SELECT f.group_name, f.name::text, f.data_type, f.status, f.description, f.tags,
       coalesce((pg_catalog.to_jsonb(f) ->> 'pii')::boolean, false),
       c.oid IS NOT NULL
         AND pg_catalog.has_column_privilege(c.oid, f.name::text, 'SELECT'),
       f.position
  FROM featstore.features f
  JOIN featstore.feature_groups g ON g.name = f.group_name
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = g.schema_name
  LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = g.table_name
 ORDER BY f.group_name, f.position"""

_Q_SERVICES = """
SELECT s.name, m.group_name, m.feature_name::text
  FROM featstore.feature_services s
  LEFT JOIN featstore.service_features m ON m.service_name = s.name
 ORDER BY s.name, m.position"""

_Q_SETTINGS = """
SELECT coalesce(pg_catalog.current_setting('featstore.redis_key_prefix', true), 'fs'),
       pg_catalog.to_regprocedure('featstore.online_namespace()') IS NOT NULL,
       pg_catalog.pg_has_role(current_user, 'featstore_pii_reader', 'MEMBER'),
       current_user"""


class Snapshot:
    """The registry at one instant: groups (with features), entities' keys,
    services, the key prefix and namespace, and the role's rights."""

    def __init__(self, conn):
        self.loaded_at = time.monotonic()
        with conn.cursor() as cur:
            cur.execute(_Q_SETTINGS)
            self.prefix, has_ns, self.pii_reader, self.role = cur.fetchone()
            self.namespace = ""
            if has_ns:
                cur.execute("SELECT featstore.online_namespace()")
                self.namespace = cur.fetchone()[0] or ""
            cur.execute(_Q_KEYS)
            self.entity_keys = {}
            for ent, col, typ in cur.fetchall():
                self.entity_keys.setdefault(ent, []).append((col, typ))
            cur.execute(_Q_GROUPS)
            self.groups = {}
            for row in cur.fetchall():
                g = Group(name=row[0], entity=row[1], online=row[2], ttl=row[3], kind=row[4],
                          schema=row[5], table=row[6], description=row[7], tags=row[8] or [],
                          readable=row[9], rls=row[10], features={})
                g.keys = self.entity_keys.get(g.entity, [])
                self.groups[g.name] = g
            cur.execute(_Q_FEATURES)
            for row in cur.fetchall():
                g = self.groups.get(row[0])
                if g is not None:
                    g.features[row[1]] = Feature(
                        group=row[0], name=row[1], data_type=row[2], status=row[3],
                        description=row[4], tags=row[5] or [], pii=row[6], readable=row[7],
                        position=row[8])
            cur.execute(_Q_SERVICES)
            self.services = {}
            for svc, grp, feat in cur.fetchall():
                lst = self.services.setdefault(svc, [])
                if grp is not None:
                    lst.append((grp, feat))
        conn.rollback()                 # end the read-only transaction

    def group(self, name):
        g = self.groups.get(name)
        if g is None:
            raise UnknownFeatureGroupError(
                'feature group "%s" does not exist (known: %s)'
                % (name, ", ".join(sorted(self.groups)) or "none"))
        return g

    def service(self, name):
        s = self.services.get(name)
        if s is None:
            raise UnknownServiceError(
                'feature service "%s" does not exist (known: %s)'
                % (name, ", ".join(sorted(self.services)) or "none"))
        return s

    def resolve(self, features, service):
        """[(group, feature)] of a service (first) and of the items, each once,
        in request order; items are 'group', 'group.*' or 'group.feature'
        with SQL identifier rules, as pit_join() takes them."""
        out = []
        if service is not None:
            out.extend(self.service(service))
        for item in features or ():
            parts = split_identifier(item)
            if len(parts) == 1 or (len(parts) == 2 and parts[1] == "*"):
                g = self.group(parts[0])
                out.extend((g.name, f.name) for f in g.features.values()
                           if f.status == "active")
            elif len(parts) == 2:
                g = self.group(parts[0])
                if parts[1] not in g.features:
                    raise UnknownFeatureError(
                        'feature "%s" does not exist in feature group "%s" (its features: %s)'
                        % (parts[1], g.name, ", ".join(g.features)))
                out.append((g.name, parts[1]))
            else:
                raise UnknownFeatureError(
                    'invalid feature reference "%s": write group, group.* or group.feature'
                    % item)
        seen = set()
        return [x for x in out if not (x in seen or seen.add(x))]


_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(s):
    # PostgreSQL folds only ASCII letters of unquoted names
    return s.translate(_LOWER)


def split_identifier(text):
    """'a.b' split with SQL identifier rules: unquoted parts fold to lower case
    and lose surrounding spaces, "quoted" parts keep case and dots ("" is ")."""
    if not isinstance(text, str):
        raise UnknownFeatureError("a feature reference must be a string, not %r" % (text,))
    parts, i, n = [], 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] == '"':
            j, buf = i + 1, []
            while True:
                k = text.find('"', j)
                if k < 0:
                    raise UnknownFeatureError('unterminated quoted name in "%s"' % text)
                buf.append(text[j:k])
                if k + 1 < n and text[k + 1] == '"':
                    buf.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            parts.append("".join(buf))
        else:
            j = i
            while i < n and text[i] != "." and not text[i].isspace():
                i += 1
            if i == j:
                raise UnknownFeatureError('empty name in feature reference "%s"' % text)
            parts.append(_ascii_lower(text[j:i]))
        while i < n and text[i].isspace():
            i += 1
        if i == n:
            return parts
        if text[i] != ".":
            raise UnknownFeatureError('invalid feature reference "%s"' % text)
        i += 1
