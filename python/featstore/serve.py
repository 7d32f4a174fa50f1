"""featstore-serve: online features over HTTP (docs/serving.md).

    POST /get-online-features  {"service": "s", "entities": [{"user_id": "u1"}, ...]}
                               or "features": ["group.feature", ...] in place of (or after) service
    GET  /health               200 when Redis answers, else 503
    GET  /metrics              Prometheus text format

Configured by environment variables (FEATSTORE_DSN, FEATSTORE_REDIS_URL,
FEATSTORE_SERVE_HOST, FEATSTORE_SERVE_PORT, ...); runs in the foreground;
refuses to run as root unless FEATSTORE_SERVE_USER names a user to switch to
or FEATSTORE_SERVE_ALLOW_ROOT=1.
"""

import argparse
import datetime
import decimal
import importlib.util
import json
import logging
import math
import os
import sys
import threading
import time

from .registry import (EntityKeyError, FeaturePermissionError, FeatstoreError, NotOnlineError,
                       UnknownNameError)
from .store import FeatureStore, RedisUnavailableError

PATHS = ("/get-online-features", "/health", "/metrics")
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
MAX_BODY = 1 << 20


class Metrics:
    """Request counts by path and status, and latency histograms by path,
    kept in memory and written in Prometheus' text format."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = {}              # (path, status) -> count
        self.hist = {p: [0] * (len(BUCKETS) + 1) for p in PATHS + ("other",)}
        self.sums = {p: 0.0 for p in PATHS + ("other",)}
        self.entities = 0
        self.redis_errors = 0

    def observe(self, path, status, seconds):
        p = path if path in PATHS else "other"
        i = 0
        while i < len(BUCKETS) and seconds > BUCKETS[i]:
            i += 1
        with self._lock:
            self.requests[(p, status)] = self.requests.get((p, status), 0) + 1
            self.hist[p][i] += 1
            self.sums[p] += seconds

    def render(self):
        out = ["# HELP featstore_serve_requests_total HTTP requests by path and status code.",
               "# TYPE featstore_serve_requests_total counter"]
        with self._lock:
            for (p, st), n in sorted(self.requests.items()):
                out.append('featstore_serve_requests_total{path="%s",status="%d"} %d' % (p, st, n))
            out += ["# HELP featstore_serve_request_duration_seconds Time from request to "
                    "response start, by path.",
                    "# TYPE featstore_serve_request_duration_seconds histogram"]
            for p in PATHS + ("other",):
                acc = 0
                for b, n in zip(BUCKETS, self.hist[p]):
                    acc += n
                    out.append('featstore_serve_request_duration_seconds_bucket{path="%s",le="%s"} %d'
                               % (p, repr(b), acc))
                acc += self.hist[p][-1]
                out.append('featstore_serve_request_duration_seconds_bucket{path="%s",le="+Inf"} %d'
                           % (p, acc))
                out.append('featstore_serve_request_duration_seconds_sum{path="%s"} %s'
                           % (p, repr(self.sums[p])))
                out.append('featstore_serve_request_duration_seconds_count{path="%s"} %d' % (p, acc))
            out += ["# HELP featstore_serve_entities_total Entity rows answered.",
                    "# TYPE featstore_serve_entities_total counter",
                    "featstore_serve_entities_total %d" % self.entities,
                    "# HELP featstore_serve_redis_errors_total Requests answered 503 because "
                    "Redis did not answer.",
                    "# TYPE featstore_serve_redis_errors_total counter",
                    "featstore_serve_redis_errors_total %d" % self.redis_errors]
        return "\n".join(out) + "\n"


def _json_value(v):
    # the JSON form of a feature value, as featstore.online_features() gives it
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    if isinstance(v, list):
        return [_json_value(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    if v is None or isinstance(v, (str, int)):
        return v
    return str(v)                       # a msgpack type featstore does not write


class BadRequest(Exception):
    pass


def parse_request(body, max_entities):
    """(features, service, entities, full_feature_names) of a request body;
    BadRequest with the reason otherwise."""
    try:
        req = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest("the body is not JSON: %s" % e) from None
    except RecursionError:
        raise BadRequest("the body is not JSON: nested too deeply") from None
    if not isinstance(req, dict):
        raise BadRequest("the body must be a JSON object")
    extra = set(req) - {"service", "features", "entities", "full_feature_names"}
    if extra:
        raise BadRequest("unknown field(s): %s" % ", ".join(sorted(extra)))
    service, features = req.get("service"), req.get("features")
    if service is None and features is None:
        raise BadRequest('give "service" or "features"')
    if service is not None and (not isinstance(service, str) or not service):
        raise BadRequest('"service" must be a non-empty string')
    if features is not None and (not isinstance(features, list) or not features
                                 or not all(isinstance(f, str) for f in features)):
        raise BadRequest('"features" must be a non-empty list of strings ("group.feature")')
    ents = req.get("entities")
    if not isinstance(ents, list):
        raise BadRequest('"entities" must be a list of objects of entity keys')
    if len(ents) > max_entities:
        raise BadRequest("too many entities: %d, at most %d" % (len(ents), max_entities))
    for i, e in enumerate(ents):
        if not isinstance(e, dict):
            raise BadRequest("entity %d is not an object of entity keys" % (i + 1))
        for k, v in e.items():
            if not isinstance(v, (str, int)) or isinstance(v, bool):
                raise BadRequest('entity %d: key "%s" must be a string or an integer' % (i + 1, k))
    full = req.get("full_feature_names", False)
    if not isinstance(full, bool):
        raise BadRequest('"full_feature_names" must be true or false')
    return features, service, ents, full


def _error_status(e):
    if isinstance(e, (BadRequest, EntityKeyError, NotOnlineError)):
        return 400
    if isinstance(e, FeaturePermissionError):
        return 403
    if isinstance(e, UnknownNameError):
        return 404
    if isinstance(e, RedisUnavailableError):
        return 503
    return 500


def create_app(store, max_entities=1000):
    """The ASGI application over a FeatureStore."""
    from fastapi import FastAPI, Request
    from fastapi.responses import Response

    metrics = Metrics()
    api = FastAPI(title="featstore-serve", docs_url=None, redoc_url=None, openapi_url=None)

    def reply(status, obj):
        return Response(content=json.dumps(obj, ensure_ascii=False, allow_nan=False).encode(),
                        status_code=status, media_type="application/json")

    @api.post("/get-online-features")
    async def get_online_features(request: Request):
        body = await request.body()
        try:
            if len(body) > MAX_BODY:
                raise BadRequest("the body is larger than %d bytes" % MAX_BODY)
            features, service, ents, full = parse_request(body, max_entities)
            resp = store.get_online_features(features, ents, service=service,
                                             full_feature_names=full)
        except (FeatstoreError, BadRequest) as e:
            st = _error_status(e)
            if st == 503:
                metrics.redis_errors += 1
            return reply(st, {"error": str(e)})
        except Exception as e:          # the registry unreadable, PostgreSQL away
            if e.__class__.__module__.startswith("psycopg2"):
                return reply(503, {"error": "the registry is unavailable: %s"
                                   % str(e).splitlines()[0]})
            raise
        metrics.entities += len(ents)
        results = []
        for row in resp.rows():
            results.append({
                "entity": row["entity"],
                "features": {k: _json_value(v) for k, v in row["features"].items()},
                "status": row["status"],
                "event_timestamp": {k: (v.isoformat() if v is not None else None)
                                    for k, v in row["event_timestamp"].items()}})
        return reply(200, {"results": results})

    @api.get("/health")
    async def health():
        try:
            store.ping_redis()
        except RedisUnavailableError as e:
            return reply(503, {"status": "unavailable", "redis": str(e)})
        return reply(200, {"status": "ok", "redis": "ok"})

    @api.get("/metrics")
    async def get_metrics():
        return Response(content=metrics.render(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    async def app(scope, receive, send):
        # a plain ASGI wrapper: cheaper than an HTTP middleware
        if scope["type"] != "http":
            return await api(scope, receive, send)
        start = time.perf_counter()
        status = [500]

        async def send_timed(msg):
            if msg["type"] == "http.response.start":
                status[0] = msg["status"]
                metrics.observe(scope["path"], status[0], time.perf_counter() - start)
            await send(msg)
        return await api(scope, receive, send_timed)

    app.metrics = metrics
    app.store = store
    return app


def _env(name, default=None):
    v = os.environ.get(name)
    return default if v is None or v == "" else v


def app_from_env():
    """The application configured by the environment (for uvicorn --factory
    and for each worker process)."""
    dsn = _env("FEATSTORE_DSN")
    if dsn is None:
        raise SystemExit("featstore-serve: set FEATSTORE_DSN to the database holding the registry")
    store = FeatureStore(dsn, redis_url=_env("FEATSTORE_REDIS_URL", "redis://127.0.0.1:6379"),
                         cluster=_env("FEATSTORE_REDIS_CLUSTER", "0") in ("1", "true", "on"),
                         registry_ttl=float(_env("FEATSTORE_REGISTRY_TTL", "60")),
                         redis_timeout=float(_env("FEATSTORE_REDIS_TIMEOUT", "1")))
    return create_app(store, int(_env("FEATSTORE_SERVE_MAX_ENTITIES", "1000")))


def _drop_root():
    """Switch to FEATSTORE_SERVE_USER when started as root; refuse to run as
    root otherwise, unless FEATSTORE_SERVE_ALLOW_ROOT=1."""
    if os.geteuid() != 0:
        return
    user = _env("FEATSTORE_SERVE_USER")
    if user is not None:
        import pwd
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise SystemExit('featstore-serve: FEATSTORE_SERVE_USER: no user "%s"' % user)
        if pw.pw_uid == 0:
            raise SystemExit("featstore-serve: FEATSTORE_SERVE_USER must not be root")
        os.initgroups(pw.pw_name, pw.pw_gid)
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
        os.environ["HOME"] = pw.pw_dir
        return
    if _env("FEATSTORE_SERVE_ALLOW_ROOT", "0") != "1":
        raise SystemExit("featstore-serve: refusing to run as root; set FEATSTORE_SERVE_USER "
                         "to a user to switch to (or FEATSTORE_SERVE_ALLOW_ROOT=1)")


log = logging.getLogger("featstore.serve")


def server_impls(available=None, http="auto", loop="auto"):
    """The HTTP parser and event loop uvicorn is asked for.  auto: httptools
    and uvloop (the C ones, faster) when they are importable, else uvicorn's
    pure-Python h11 and asyncio's own loop; an explicit choice
    (FEATSTORE_SERVE_HTTP, FEATSTORE_SERVE_LOOP) must be importable.
    available(name) says whether a module is importable (a stand-in in the
    unit tests)."""
    if available is None:
        available = lambda name: importlib.util.find_spec(name) is not None
    choices = (("FEATSTORE_SERVE_HTTP", http, ("httptools", "h11")),
               ("FEATSTORE_SERVE_LOOP", loop, ("uvloop", "asyncio")))
    out = []
    for var, want, (fast, plain) in choices:
        if want == "auto":
            want = fast if available(fast) else plain
        elif want not in (fast, plain):
            raise SystemExit("featstore-serve: %s must be auto, %s or %s, not %r"
                             % (var, fast, plain, want))
        elif not available(want):
            raise SystemExit("featstore-serve: %s=%s but the module %s is not installed"
                             % (var, want, want))
        out.append(want)
    return tuple(out)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="featstore-serve",
                                 description="Serve featstore's online features over HTTP.")
    ap.add_argument("--host", default=_env("FEATSTORE_SERVE_HOST", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(_env("FEATSTORE_SERVE_PORT", "6566")))
    ap.add_argument("--workers", type=int, default=int(_env("FEATSTORE_SERVE_WORKERS", "1")))
    ap.add_argument("--log-level", default=_env("FEATSTORE_SERVE_LOG_LEVEL", "warning"))
    args = ap.parse_args(argv)
    _drop_root()
    import uvicorn
    logging.basicConfig(format="featstore-serve: %(message)s")
    log.setLevel(args.log_level.upper())
    access = _env("FEATSTORE_SERVE_ACCESS_LOG", "0") == "1"
    http, loop = server_impls(http=_env("FEATSTORE_SERVE_HTTP", "auto"),
                              loop=_env("FEATSTORE_SERVE_LOOP", "auto"))
    log.info("uvicorn %s with http=%s, loop=%s", uvicorn.__version__, http, loop)
    if http != "httptools" or loop != "uvloop":
        log.info("install httptools and uvloop (Debian: python3-httptools python3-uvloop) "
                 "for lower latency")
    opts = dict(host=args.host, port=args.port, log_level=args.log_level, access_log=access,
                http=http, loop=loop)
    if args.workers > 1:
        uvicorn.run("featstore.serve:app_from_env", factory=True, workers=args.workers, **opts)
    else:
        # the registry is read before the port opens: a bad DSN fails at once
        app = app_from_env()
        print("featstore-serve: listening on http://%s:%d" % (args.host, args.port),
              file=sys.stderr, flush=True)
        uvicorn.run(app, **opts)


if __name__ == "__main__":
    main()
