"""FeatureStore: the registry, training data through the point-in-time join
(docs/pit-join.md), and online reads from Redis (docs/online-store.md)."""

import datetime
import io
import threading
import time
import uuid
import warnings
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.extensions
import psycopg2.sql
import redis

from . import copyin, keys
from .registry import (EntityKeyError, FeaturePermissionError, FeatstoreError,
                       NotOnlineError, Snapshot, UnknownNameError)


class RedisUnavailableError(FeatstoreError, ConnectionError):
    """Redis did not answer (connection refused, timeout, cluster down)."""


# result column types read without psycopg2's per-value casts
_INT_OIDS = {20: "Int64", 21: "Int16", 23: "Int32"}
_FLOAT_OIDS = (700, 701)
_BOOL_OID = 16
_TS_OIDS = {1184: True, 1114: False}       # oid -> time zone aware


def _redis_client(url, cluster, timeout):
    """A redis-py client: RedisCluster for redis+cluster:// URLs (several
    seed nodes allowed, comma-separated) or cluster=True, else Redis."""
    opts = dict(socket_timeout=timeout, socket_connect_timeout=timeout)
    parts = urlsplit(url)
    if parts.scheme in ("redis+cluster", "rediss+cluster"):
        from redis.cluster import ClusterNode, RedisCluster
        nodes = []
        for hp in parts.netloc.rsplit("@", 1)[-1].split(","):
            host, _, port = hp.rpartition(":")
            nodes.append(ClusterNode(host or "127.0.0.1", int(port or 6379)))
        if parts.username:
            opts["username"] = parts.username
        if parts.password:
            opts["password"] = parts.password
        if parts.scheme.startswith("rediss"):
            opts["ssl"] = True
        return RedisCluster(startup_nodes=nodes, **opts), True
    if cluster:
        from redis.cluster import RedisCluster
        return RedisCluster.from_url(url, **opts), True
    return redis.Redis.from_url(url, **opts), False


class FeatureStore:
    """featstore from Python.

    dsn: a libpq connection string or URL for the database holding the
    registry (the role needs featstore_reader, and SELECT on what it reads).
    redis_url: redis://, rediss://, unix:// or redis+cluster://h1:p1,h2:p2;
    cluster=True also selects redis-py's RedisCluster.  registry_ttl: seconds
    a registry snapshot is used before it is read again (an unknown name
    re-reads it at once, at most once a second)."""

    def __init__(self, dsn, redis_url=None, cluster=False, registry_ttl=60.0,
                 redis_timeout=1.0, connection=None):
        self._dsn = dsn
        self._conn = connection if connection is not None else psycopg2.connect(dsn)
        self._redis_url, self._cluster_opt, self._timeout = redis_url, cluster, redis_timeout
        self._redis = None
        self.is_cluster = False
        self.registry_ttl = registry_ttl
        self._lock = threading.RLock()
        self._snap = None
        self._plans = {}
        self.refresh()

    # ------------------------------------------------------------ registry
    def refresh(self):
        """Read the registry again (groups, features, services, key prefix,
        namespace, the role's rights) and drop the cached plans."""
        with self._lock:
            if self._conn.closed and self._dsn is not None:
                self._conn = psycopg2.connect(self._dsn)
            try:
                self._snap = Snapshot(self._conn)
            except psycopg2.Error:
                if not self._conn.closed:
                    self._conn.rollback()
                raise
            self._plans = {}
        return self._snap

    @property
    def registry(self):
        with self._lock:
            if self._snap is None or time.monotonic() - self._snap.loaded_at > self.registry_ttl:
                try:
                    self.refresh()
                except psycopg2.Error as e:
                    if self._snap is None:
                        raise
                    # PostgreSQL is away: keep the snapshot, try again in 5 s
                    warnings.warn("featstore: could not read the registry again, keeping the "
                                  "snapshot of %.0f s ago: %s"
                                  % (time.monotonic() - self._snap.loaded_at, e))
                    self._snap.loaded_at = time.monotonic() - self.registry_ttl + 5
            return self._snap

    def _with_refresh(self, fn):
        # fn(snapshot); an unknown name reads the registry again once
        snap = self.registry
        try:
            return fn(snap)
        except UnknownNameError:
            if time.monotonic() - snap.loaded_at < 1.0:
                raise
            return fn(self.refresh())

    def list_feature_groups(self):
        """Every feature group, as a list of dicts sorted by name."""
        snap = self.registry
        return [self._group_info(g) for _, g in sorted(snap.groups.items())]

    def list_feature_services(self):
        snap = self.registry
        return sorted(snap.services)

    def list_entities(self):
        snap = self.registry
        return [{"name": e, "keys": [{"name": c, "type": t} for c, t in k]}
                for e, k in sorted(snap.entity_keys.items())]

    @staticmethod
    def _group_info(g):
        return {"name": g.name, "entity": g.entity,
                "keys": [{"name": c, "type": t} for c, t in g.keys],
                "online": g.online, "ttl": g.ttl, "group_kind": g.kind,
                "table": "%s.%s" % (g.schema, g.table), "description": g.description,
                "tags": list(g.tags),
                "features": [{"name": f.name, "type": f.data_type, "status": f.status,
                              "description": f.description, "pii": f.pii}
                             for f in g.features.values()]}

    def describe(self, name):
        """A feature group, feature service, 'group.feature' or entity, as a
        dict with "kind"; UnknownNameError if nothing has that name."""
        def look(snap):
            if name in snap.groups:
                return dict(kind="feature group", **self._group_info(snap.groups[name]))
            if name in snap.services:
                feats = [{"group": g, "feature": f,
                          "type": snap.groups[g].features[f].data_type}
                         for g, f in snap.services[name]]
                return {"kind": "feature service", "name": name, "features": feats}
            if name in snap.entity_keys:
                return {"kind": "entity", "name": name,
                        "keys": [{"name": c, "type": t} for c, t in snap.entity_keys[name]],
                        "groups": sorted(g.name for g in snap.groups.values()
                                         if g.entity == name)}
            if "." in name:
                (g, f), = snap.resolve([name], None)
                feat = snap.groups[g].features[f]
                return {"kind": "feature", "group": g, "name": f, "type": feat.data_type,
                        "status": feat.status, "description": feat.description,
                        "tags": list(feat.tags), "pii": feat.pii}
            raise UnknownNameError('no feature group, feature service or entity is named "%s"'
                                   % name)
        return self._with_refresh(look)

    def search(self, text):
        """featstore.search(text): features whose name, description, group or
        tags contain text (case-insensitive), as a list of dicts."""
        with self._conn.cursor() as cur:
            try:
                cur.execute("SELECT * FROM featstore.search(%s)", (text,))
                cols = [d[0] for d in cur.description]
                rows = [dict(zip(cols, r)) for r in cur.fetchall()]
            finally:
                self._conn.rollback()
        return rows

    # ---------------------------------------------------------- historical
    def get_historical_features(self, entity_df, features=None, service=None, as_of=None,
                                strict=False, timestamp_column=None, full_feature_names=False,
                                pit_strategy=None):
        """A RetrievalJob: entity_df joined with the features at each row's
        time by featstore's point-in-time join; .to_df() runs it.
        pit_strategy (hash, merge, probe) sets featstore.pit_strategy for
        this join only; None leaves the choice to the planner."""
        if pit_strategy not in (None, "auto", "hash", "merge", "probe"):
            raise ValueError("pit_strategy must be auto, hash, merge or probe")
        if not isinstance(entity_df, pd.DataFrame):
            raise TypeError("entity_df must be a pandas DataFrame")
        if features is None and service is None:
            raise ValueError("give features, a service or both")
        if isinstance(features, str):
            features = [features]
        if isinstance(as_of, datetime.datetime) and as_of.tzinfo is None:
            raise ValueError("as_of must carry a time zone (datetime with tzinfo)")
        job = RetrievalJob(self, entity_df, list(features) if features else None, service,
                           as_of, strict, timestamp_column, full_feature_names)
        job.pit_strategy = pit_strategy
        return job

    # -------------------------------------------------------------- online
    def _redis_conn(self):
        if self._redis is None:
            if self._redis_url is None:
                raise FeatstoreError("this FeatureStore has no redis_url")
            try:
                self._redis, self.is_cluster = _redis_client(
                    self._redis_url, self._cluster_opt, self._timeout)
            except redis.exceptions.RedisError as e:
                raise RedisUnavailableError("redis is unavailable: %s" % e) from None
        return self._redis

    def _plan(self, features, service, full):
        key = (tuple(features or ()), service, full)
        with self._lock:
            plan = self._plans.get(key)
        if plan is None:
            plan = self._with_refresh(lambda snap: OnlinePlan(snap, features, service, full))
            with self._lock:
                if len(self._plans) >= 1000:    # distinct requests are unbounded: forget them all
                    self._plans = {}
                self._plans[key] = plan
        return plan

    def get_online_features(self, features=None, entity_rows=None, service=None,
                            full_feature_names=False):
        """Values now, from Redis, in one pipelined round trip.  features: a
        list of 'group', 'group.*' or 'group.feature', or a service's name
        (str); entity_rows: a list of dicts holding the entities' keys."""
        if isinstance(features, str):
            features, service = None, features
        if features is None and service is None:
            raise ValueError("give features or a service")
        if entity_rows is None:
            raise ValueError("give entity_rows: a list of dicts of entity keys")
        plan = self._plan(features, service, full_feature_names)
        rkeys = plan.keys_of(entity_rows)
        now_us = int(time.time() * 1000000)
        replies = self._fetch(rkeys)
        return plan.response(entity_rows, replies, now_us)

    def _fetch(self, rkeys):
        r = self._redis_conn()
        if not rkeys:
            return []
        try:
            if not self.is_cluster:
                return r.mget(rkeys)
            pipe = r.pipeline()
            for k in rkeys:
                pipe.get(k)
            return pipe.execute()
        except redis.exceptions.RedisError as e:
            if isinstance(e, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                              redis.exceptions.ClusterDownError)) \
                    or "cluster" in e.__class__.__name__.lower():
                raise RedisUnavailableError("redis is unavailable: %s" % e) from None
            raise

    def ping_redis(self):
        """True when Redis answers PING; RedisUnavailableError otherwise."""
        try:
            return bool(self._redis_conn().ping())
        except redis.exceptions.RedisError as e:
            raise RedisUnavailableError("redis is unavailable: %s" % e) from None

    def close(self):
        if self._redis is not None:
            self._redis.close()
        self._conn.close()


class OnlinePlan:
    """What one online request reads: its groups, their keys and the output
    features, resolved once against a registry snapshot."""

    def __init__(self, snap, features, service, full):
        pairs = snap.resolve(features, service)
        if not pairs:
            raise UnknownNameError("the request names no feature")
        self.head = keys.key_prefix(snap.prefix, snap.namespace)
        self.groups = []                # [(group, [(out index, feature)])]
        self.names, self.features = [], []
        by_group = {}
        masked = []
        for g_name, f_name in pairs:
            g = snap.groups[g_name]
            self._check_group(g)
            f = g.features[f_name]
            if not f.readable:
                raise FeaturePermissionError(
                    'permission denied for feature "%s" of feature group "%s": role "%s" '
                    "may not SELECT column %s of %s.%s"
                    % (f.name, g.name, snap.role, f.name, g.schema, g.table))
            if f.pii and not snap.pii_reader:
                masked.append("%s.%s" % (g.name, f.name))
            idx = len(self.features)
            self.features.append((f, f.pii and not snap.pii_reader))
            self.names.append("%s__%s" % (g.name, f.name) if full else f.name)
            if g.name not in by_group:
                by_group[g.name] = []
                self.groups.append((g, by_group[g.name]))
            by_group[g.name].append((idx, f))
        self._check_names()
        if masked:
            warnings.warn("PII features masked for role %s: %s (a member of featstore_pii_reader "
                          "sees them)" % (snap.role, ", ".join(masked)), stacklevel=4)
        # entity key columns, in order of first use
        self.key_columns = []
        for g, _ in self.groups:
            for col, typ in g.keys:
                if (col, typ) not in self.key_columns:
                    self.key_columns.append((col, typ))

    @staticmethod
    def _check_group(g):
        if not g.online:
            raise NotOnlineError('feature group "%s" is OFFLINE: it has no values in Redis '
                                 "(ALTER FEATURE GROUP %s SET ONLINE)" % (g.name, g.name))
        if not g.readable:
            raise FeaturePermissionError('permission denied for feature group "%s": the role '
                                         "may not SELECT its table %s.%s (its keys and "
                                         "event_timestamp)"
                                         % (g.name, g.schema, g.table))
        if g.rls:
            raise FeaturePermissionError(
                'feature group "%s": row-level security applies to the role on %s.%s, and '
                "Redis holds values of every row; read it with featstore.online_features()"
                % (g.name, g.schema, g.table))

    def _check_names(self):
        seen = {}
        for n, (f, _) in zip(self.names, self.features):
            if n in seen:
                raise UnknownNameError('feature name "%s" is in more than one requested group '
                                       "(%s, %s): pass full_feature_names=True"
                                       % (n, seen[n], f.group))
            seen[n] = f.group

    def _key_parts(self):
        # per group: its entity, key columns and types, and the key's fixed text around
        # the key values
        if not hasattr(self, "_parts"):
            self._parts = [(g.entity, g.keys, "%s{%s:" % (self.head, keys.escape(g.entity)),
                            "}:" + keys.escape(g.name)) for g, _ in self.groups]
        return self._parts

    def keys_of(self, rows):
        """The Redis keys of rows x groups, row-major."""
        out = []
        esc = keys.escape
        parts = self._key_parts()
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise EntityKeyError("entity row %d is not a dict of entity keys" % (i + 1))
            done = {}
            for gi, (entity, kcols, head, tail) in enumerate(parts):
                mid = done.get(entity)
                if mid is None:
                    texts = []
                    for col, typ in kcols:
                        if col not in row:
                            raise EntityKeyError(
                                'entity row %d has no key "%s" of entity "%s" (feature group "%s")'
                                % (i + 1, col, entity, self.groups[gi][0].name))
                        try:
                            texts.append(esc(keys.key_text(row[col], typ, col)))
                        except ValueError as e:
                            raise EntityKeyError("entity row %d: %s" % (i + 1, e)) from None
                    mid = done[entity] = ":".join(texts)
                out.append(head + mid + tail)
        return out

    def response(self, rows, replies, now_us):
        nf, nrows = len(self.features), len(rows)
        values = [[None] * nrows for _ in range(nf)]
        status = [[keys.MISSING] * nrows for _ in range(nf)]
        stamps = [[None] * nrows for _ in range(nf)]
        if not hasattr(self, "_decoders"):
            self._decoders = [[(idx, f.name, keys.feature_decoder(f.data_type),
                                self.features[idx][1]) for idx, f in feats]
                              for _, feats in self.groups]
        decode = keys.decode_value
        it = iter(replies)
        for r in range(nrows):
            for feats in self._decoders:
                st, v, _ = decode(next(it), now_us)
                if st == keys.MISSING:
                    continue
                if st == keys.INVALID:
                    for idx, _, _, _ in feats:
                        status[idx][r] = st
                    continue
                try:
                    ets = keys.us_to_datetime(v["event_timestamp"])
                except OverflowError:           # not a time featstore writes
                    for idx, _, _, _ in feats:
                        status[idx][r] = keys.INVALID
                    continue
                fv = v["features"]
                for idx, name, conv, masked in feats:
                    if name not in fv:
                        status[idx][r] = keys.INVALID
                        continue
                    val = fv[name]
                    if conv is not None:
                        try:
                            val = conv(val)
                        except (ValueError, TypeError, OverflowError):
                            status[idx][r] = keys.INVALID
                            continue
                    values[idx][r] = None if masked else val
                    stamps[idx][r] = ets
                    status[idx][r] = st
        entity = [{c: row.get(c) for c, _ in self.key_columns} for row in rows]
        return OnlineResponse(self.key_columns, entity, self.names, values, status, stamps)


class OnlineResponse:
    """The result of get_online_features: per entity row, each feature's
    value, status (found, missing, invalid) and event_timestamp."""

    def __init__(self, key_columns, entities, names, values, status, stamps):
        self.key_columns = [c for c, _ in key_columns]
        self.entities, self.feature_names = entities, names
        self.values, self.statuses, self.event_timestamps = values, status, stamps

    def __len__(self):
        return len(self.entities)

    def to_dict(self, include_event_timestamps=False, include_status=False):
        """Columns as Feast returns them: entity keys then features, each a
        list in row order; optional "<feature>__status" and
        "<feature>__event_timestamp" columns."""
        out = {c: [e[c] for e in self.entities] for c in self.key_columns}
        for i, n in enumerate(self.feature_names):
            out[n] = list(self.values[i])
            if include_status:
                out[n + "__status"] = list(self.statuses[i])
            if include_event_timestamps:
                out[n + "__event_timestamp"] = list(self.event_timestamps[i])
        return out

    def to_df(self, include_event_timestamps=False, include_status=False):
        return pd.DataFrame(self.to_dict(include_event_timestamps, include_status))

    def rows(self):
        """One dict per entity row: its keys, then per feature name its
        value, status and event_timestamp."""
        out = []
        for r, ent in enumerate(self.entities):
            out.append({"entity": ent,
                        "features": {n: self.values[i][r] for i, n in enumerate(self.feature_names)},
                        "status": {n: self.statuses[i][r] for i, n in enumerate(self.feature_names)},
                        "event_timestamp": {n: self.event_timestamps[i][r]
                                            for i, n in enumerate(self.feature_names)}})
        return out


_NAT = np.iinfo(np.int64).min
_NS_LIMIT = np.iinfo(np.int64).max // 1000


def _us_to_timestamps(s, aware):
    """Microseconds since 1970 (nullable Int64) as datetime64[ns] (UTC when
    aware), exactly; values outside pandas' ns range (1677-2262) give an
    object column of datetimes."""
    us = s.to_numpy(dtype="int64", na_value=_NAT)
    null = us == _NAT
    if np.any(~null & (np.abs(us) > _NS_LIMIT)):
        return s.map(lambda v: None if pd.isna(v) else (
            keys.us_to_datetime(int(v)) if aware else keys.us_to_datetime(int(v)).replace(tzinfo=None)))
    ns = np.where(null, _NAT, us * 1000).view("datetime64[ns]")
    out = pd.Series(ns, index=s.index)
    return out.dt.tz_localize("UTC") if aware else out


def _name_error(e):
    """featstore's name errors (42704 unknown group or service, 42703 unknown
    feature, 22023 bad reference) as the client's exceptions; others as is."""
    from .registry import UnknownFeatureError, UnknownFeatureGroupError, UnknownServiceError
    msg = (e.diag.message_primary or str(e)) + (
        " (%s)" % e.diag.message_hint if e.diag.message_hint else "")
    if e.pgcode == "42704":
        cls = UnknownServiceError if "service" in msg.split('"')[0] else UnknownFeatureGroupError
        return cls(msg)
    if e.pgcode in ("42703", "22023"):
        return UnknownFeatureError(msg)
    return e


def _key_order(df, columns):
    """The row order that sorts df by columns (NULLs last): each column is
    factorized (a hash pass, then a sort of its distinct values only), then
    the integer codes are sorted, much faster than sorting strings."""
    codes = []
    for c in reversed(columns):
        try:
            k, uniq = pd.factorize(df[c], sort=True)
        except TypeError:               # values that do not compare: group them only
            k, uniq = pd.factorize(df[c], sort=False)
        k = np.where(k < 0, len(uniq), k)
        codes.append(k)
    return np.lexsort(codes)


class RetrievalJob:
    """A point-in-time join of an entity DataFrame, run by to_df()."""

    def __init__(self, store, entity_df, features, service, as_of, strict, ts_column, full):
        self._store, self._df = store, entity_df
        self.features, self.service = features, service
        self.as_of, self.strict, self.timestamp_column, self.full = as_of, strict, ts_column, full
        self._key_types = self._resolve()
        self._types = self._spine_types()

    def _resolve(self):
        # the names are resolved by featstore itself, before any upload
        conn = self._store._conn
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT k.c, k.t::text FROM featstore.resolve_features(%s, %s)"
                            " WITH ORDINALITY r, unnest(r.key_columns, r.key_types) WITH ORDINALITY"
                            " k(c, t, i) ORDER BY r.ordinality, k.i",
                            (self.features, self.service))
                found = {}
                for c, t in cur.fetchall():     # in request order, each once
                    found.setdefault(c, t)
        except psycopg2.Error as e:
            raise _name_error(e) from e
        finally:
            conn.rollback()
        for col, typ in found.items():
            if col not in self._df.columns:
                raise EntityKeyError('entity_df has no column "%s", a key of the requested '
                                     "features (%s)" % (col, typ))
        return found

    def _spine_types(self):
        types = []
        for c in self._df.columns:
            if not isinstance(c, str) or c == "__fs_row":
                raise ValueError("entity_df column names must be strings other than __fs_row")
            kt = self._key_types.get(c)
            if kt == "integer" or kt == "bigint" or kt == "uuid" or kt == "text":
                types.append(kt)
            else:
                types.append(copyin.column_type(self._df[c]))
        tz = [c for c, t in zip(self._df.columns, types) if t == "timestamp with time zone"]
        naive = [c for c, t in zip(self._df.columns, types) if t == "timestamp without time zone"]
        ts = self.timestamp_column
        if (ts is None and not tz and naive) or (ts is not None and ts in naive):
            col = ts or naive[0]
            raise ValueError('entity_df column "%s" has no time zone: featstore takes event times '
                             "with their zone (df[\"%s\"] = df[\"%s\"].dt.tz_localize(\"UTC\"))"
                             % (col, col, col))
        return types

    def to_sql(self, spine="pg_temp.featstore_spine"):
        """The join's SQL over a spine relation of entity_df's columns."""
        conn = self._store._conn
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT featstore.pit_join_sql(%s, %s, %s, %s, %s, %s, %s)",
                            (spine, self.features, self.service, self.timestamp_column,
                             self.as_of, self.strict, self.full))
                return cur.fetchone()[0]
        finally:
            conn.rollback()

    def to_df(self):
        conn = self._store._conn
        name = "featstore_spine_" + uuid.uuid4().hex[:12]
        del conn.notices[:]
        try:
            with conn.cursor() as cur:
                return self._run(cur, name)
        finally:
            conn.rollback()              # drops the temporary table
            # PostgreSQL's notices (PII masked, ...) reach the caller as warnings
            for n in conn.notices:
                warnings.warn("featstore: " + n.strip(), stacklevel=2)
            del conn.notices[:]

    pit_strategy = None

    def _run(self, cur, name):
        if self.pit_strategy is not None:
            # SET LOCAL: the transaction is rolled back at the end of to_df()
            cur.execute("SELECT pg_catalog.set_config('featstore.pit_strategy', %s, true)",
                        (self.pit_strategy,))
        cols = [psycopg2.sql.SQL("{} {}").format(psycopg2.sql.Identifier(c), psycopg2.sql.SQL(t))
                for c, t in zip(self._df.columns, self._types)]
        cur.execute(psycopg2.sql.SQL("CREATE TEMPORARY TABLE {} (__fs_row bigint, {}) ON COMMIT DROP")
                    .format(psycopg2.sql.Identifier(name), psycopg2.sql.SQL(", ").join(cols)))
        body = self._df.copy(deep=False)
        body.insert(0, "__fs_row", np.arange(len(body), dtype=np.int64))
        # uploaded in key order: the index probe then walks the group's index in order
        # (1M rows: 6 s instead of 17 s); the rows come back in entity_df's order anyway
        if len(body) > 1 and self._key_types:
            body = body.iloc[_key_order(body, list(self._key_types))]
        reader = copyin.ChunkReader(body, ["bigint"] + self._types)
        try:
            cur.copy_expert(psycopg2.sql.SQL("COPY pg_temp.{} FROM STDIN (FORMAT binary)")
                            .format(psycopg2.sql.Identifier(name)).as_string(cur),
                            reader, size=1 << 20)
        except psycopg2.Error:
            if reader.error is not None:
                raise reader.error from None    # the column that could not be encoded
            raise
        cur.execute(psycopg2.sql.SQL("ANALYZE pg_temp.{}").format(psycopg2.sql.Identifier(name)))
        cur.execute("SELECT featstore.pit_join_sql(%s, %s, %s, %s, %s, %s, %s)",
                    ("pg_temp." + psycopg2.extensions.quote_ident(name, cur), self.features,
                     self.service, self.timestamp_column, self.as_of, self.strict, self.full))
        join = cur.fetchone()[0]
        cur.execute("SELECT * FROM (%s) q LIMIT 0" % join)     # no parameters: sent as is
        desc = cur.description[len(self._df.columns) + 1:]
        return self._download(cur, join, desc)

    def _download(self, cur, join, desc):
        exprs, dtypes, names = ["q.__fs_row"], {0: "int64"}, []
        na = {0: [""]}
        for i, d in enumerate(desc, start=1):
            col = "q." + psycopg2.extensions.quote_ident(d.name, cur)
            names.append(d.name)
            if d.type_code in _INT_OIDS:
                exprs.append(col)
                dtypes[i] = _INT_OIDS[d.type_code]
            elif d.type_code in _FLOAT_OIDS:
                exprs.append(col)
                dtypes[i] = "float64"
                na[i] = ["", "NaN"]             # both NaN in pandas
            elif d.type_code == _BOOL_OID:
                exprs.append(col)
                dtypes[i] = "object"
            elif d.type_code in _TS_OIDS:
                # exact microseconds since 1970; +-infinity has none (NULL, so NaT)
                exprs.append("CASE WHEN pg_catalog.isfinite(%s) THEN (EXTRACT(epoch FROM %s)"
                             " * 1000000)::pg_catalog.int8 END" % (col, col))
                dtypes[i] = "Int64"
            else:
                # 'x' || text: an empty value stays apart from NULL in CSV
                exprs.append("'x' OPERATOR(pg_catalog.||) %s::pg_catalog.text" % col)
                dtypes[i] = "object"
        buf = io.BytesIO()
        # unordered: the rows are put back in entity_df's order here (a sort of the row
        # numbers), cheaper than a sort of the whole result in PostgreSQL
        cur.copy_expert("COPY (SELECT %s FROM (%s) q) TO STDOUT (FORMAT csv)"
                        % (", ".join(exprs), join), buf, size=1 << 20)
        buf.seek(0)
        for i in dtypes:
            na.setdefault(i, [""])
        # round_trip: floats parsed exactly as PostgreSQL's shortest text means
        if buf.getbuffer().nbytes == 0:         # read_csv refuses an empty file
            raw = pd.DataFrame({i: pd.Series([], dtype=t) for i, t in dtypes.items()})
        else:
            raw = pd.read_csv(buf, header=None, dtype=dtypes, keep_default_na=False,
                              na_values=na, skip_blank_lines=False,
                              float_precision="round_trip", engine="c")
        rownum = raw[0].to_numpy()
        if len(rownum) != len(self._df) or not np.array_equal(
                np.sort(rownum), np.arange(len(self._df))):
            raise FeatstoreError("the join returned %d rows for %d entity rows"
                                 % (len(rownum), len(self._df)))
        if len(rownum) > 1 and np.any(rownum[1:] < rownum[:-1]):
            raw = raw.iloc[np.argsort(rownum, kind="stable")]
        out = self._df.copy()
        for i, (d, n) in enumerate(zip(desc, names), start=1):
            out[n] = self._convert(raw[i] if i in raw else pd.Series([], dtype="object"), d, cur)
        return out

    def _convert(self, s, d, cur):
        s = s.reset_index(drop=True)
        s.index = self._df.index
        if d.type_code in _INT_OIDS or d.type_code in _FLOAT_OIDS:
            return s
        if d.type_code == _BOOL_OID:
            return s.map({"t": True, "f": False}).astype("boolean")
        if d.type_code in _TS_OIDS:
            return _us_to_timestamps(s, _TS_OIDS[d.type_code])
        text = s.str.slice(1)
        if d.type_code in (25, 1043, 1042, 19, 2950):
            return text.where(text.notna(), None)
        caster = psycopg2.extensions.string_types.get(d.type_code)
        if caster is None:
            return text.where(text.notna(), None)
        return text.map(lambda v: None if v is None or v != v else caster(v, cur))
