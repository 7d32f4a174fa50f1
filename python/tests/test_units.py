"""Unit tests of the parts that need no server: the key layout and its
escaping (with and without a namespace), entity key text, value decoding,
SQL identifier splitting, the binary COPY encoder and the metrics text.
Run: /usr/bin/python3 -m unittest discover -s python/tests (test/t/090 runs it)."""
import datetime
import struct
import unittest
import uuid

import msgpack
import numpy as np
import pandas as pd

from featstore import copyin, keys
from featstore.registry import UnknownFeatureError, split_identifier
from featstore.serve import BadRequest, Metrics, parse_request, server_impls


class KeyLayout(unittest.TestCase):
    def test_legacy_layout(self):
        head = keys.key_prefix("fs", "")
        self.assertEqual(keys.redis_key(head, "user", ["u0042"], "user_tx"), "fs:{user:u0042}:user_tx")
        self.assertEqual(keys.redis_key(head, "account", ["17", "eu"], "balance"),
                         "fs:{account:17:eu}:balance")

    def test_escaping(self):
        head = keys.key_prefix("fs", "")
        self.assertEqual(keys.redis_key(head, "e:1", ["a%b:c{d}", ""], "g{x}"),
                         "fs:{e%3A1:a%25b%3Ac%7Bd%7D:}:g%7Bx%7D")
        # no two distinct key tuples share a key
        self.assertNotEqual(keys.redis_key(head, "e", ["a:b", "c"], "g"),
                            keys.redis_key(head, "e", ["a", "b:c"], "g"))

    def test_namespace(self):
        head = keys.key_prefix("fs", "shop:{eu}%")
        self.assertEqual(keys.redis_key(head, "user", ["u1"], "g"),
                         "fs:shop%3A%7Beu%7D%25:{user:u1}:g")
        self.assertEqual(keys.key_prefix("pre", "db1"), "pre:db1:")

    def test_key_text(self):
        self.assertEqual(keys.key_text(7, "bigint", "k"), "7")
        self.assertEqual(keys.key_text(" 007 ", "bigint", "k"), "7")
        self.assertEqual(keys.key_text(7.0, "integer", "k"), "7")
        self.assertEqual(keys.key_text(np.int64(-3), "bigint", "k"), "-3")
        for bad in (True, 7.5, "x", None, 2 ** 63):
            with self.assertRaises(ValueError):
                keys.key_text(bad, "bigint", "k")
        with self.assertRaises(ValueError):
            keys.key_text(2 ** 31, "integer", "k")
        u = uuid.UUID(int=255)
        self.assertEqual(keys.key_text(u, "uuid", "k"), "00000000-0000-0000-0000-0000000000ff")
        self.assertEqual(keys.key_text("00000000-0000-0000-0000-0000000000FF", "uuid", "k"),
                         "00000000-0000-0000-0000-0000000000ff")
        self.assertEqual(keys.key_text("", "text", "k"), "")
        with self.assertRaises(ValueError):
            keys.key_text(5, "text", "k")


class Values(unittest.TestCase):
    def value(self, **kw):
        v = {"event_timestamp": 10, "created_at": 11, "materialized_at": 12, "expires_at": None,
             "features": {"a": 1}}
        v.update(kw)
        return msgpack.packb(v)

    def test_status(self):
        self.assertEqual(keys.decode_value(None, 0)[0], "missing")
        self.assertEqual(keys.decode_value(self.value(), 0)[0], "found")
        self.assertEqual(keys.decode_value(self.value(expires_at=99), 100)[0], "missing")
        self.assertEqual(keys.decode_value(self.value(expires_at=100), 100)[0], "found")
        self.assertEqual(keys.decode_value(b"hello", 0)[0], "invalid")
        self.assertEqual(keys.decode_value(msgpack.packb([1, 2]), 0)[0], "invalid")
        self.assertEqual(keys.decode_value(msgpack.packb({"features": {}}), 0)[0], "invalid")
        self.assertEqual(keys.decode_value(self.value(event_timestamp="x"), 0)[0], "invalid")

    def test_types(self):
        f32 = struct.unpack("f", struct.pack("f", 0.1))[0]
        self.assertEqual(keys.decode_feature(f32, "real"), 0.1)
        self.assertEqual(keys.decode_feature([f32, None], "real[]"), [0.1, None])
        self.assertEqual(keys.decode_feature(1767323045500000, "timestamp with time zone"),
                         datetime.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=datetime.timezone.utc))
        self.assertEqual(keys.decode_feature("infinity", "timestamp with time zone"), "infinity")
        self.assertEqual(str(keys.decode_feature("1.50", "numeric")), "1.50")
        self.assertIsNone(keys.feature_decoder("bigint"))


class Identifiers(unittest.TestCase):
    def test_split(self):
        self.assertEqual(split_identifier("Spend.Total"), ["spend", "total"])
        self.assertEqual(split_identifier('"trips.v2"."km.total"'), ["trips.v2", "km.total"])
        self.assertEqual(split_identifier('"Odd ""g""" . x'), ['Odd "g"', "x"])
        self.assertEqual(split_identifier("g.*"), ["g", "*"])
        self.assertEqual(split_identifier("ÉTÉ.x"), ["ÉtÉ", "x"])     # only ASCII letters fold
        for bad in ("a..b", '"open', "a b", ".a", 7):
            with self.assertRaises(UnknownFeatureError):
                split_identifier(bad)


class BinaryCopy(unittest.TestCase):
    def test_rows(self):
        df = pd.DataFrame({"t": ["ab", None, ""], "n": pd.array([1, None, -2], dtype="Int64"),
                           "x": [0.5, np.nan, 2.0]})
        cols = [copyin.encode_column(df[c], t)
                for c, t in zip(df.columns, ["text", "bigint", "double precision"])]
        got = copyin.encode_rows(cols)
        want = b""
        for t, n, x in ((b"ab", 1, 0.5), (None, None, None), (b"", -2, 2.0)):
            want += struct.pack(">h", 3)
            want += struct.pack(">i", -1) if t is None else struct.pack(">i", len(t)) + t
            want += struct.pack(">i", -1) if n is None else struct.pack(">iq", 8, n)
            want += struct.pack(">i", -1) if x is None else struct.pack(">id", 8, x)
        self.assertEqual(got, want)

    def test_timestamps(self):
        s = pd.Series(pd.to_datetime(["2000-01-01 00:00:00.000001", None], utc=True), name="ts")
        lens, data = copyin.encode_column(s, "timestamp with time zone")
        self.assertEqual(list(lens), [8, -1])
        self.assertEqual(struct.unpack(">q", data.tobytes())[0], 1)

    def test_reader(self):
        df = pd.DataFrame({"a": np.arange(5, dtype=np.int64)})
        r = copyin.ChunkReader(df, ["bigint"], chunk_rows=2)
        out = b""
        while True:
            b = r.read(7)
            if not b:
                break
            out += b
        self.assertTrue(out.startswith(copyin.HEADER) and out.endswith(copyin.TRAILER))
        self.assertEqual(len(out), len(copyin.HEADER) + 5 * (2 + 4 + 8) + 2)


class Server(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(parse_request(b'{"service": "s", "entities": [{"k": 1}]}', 10),
                         (None, "s", [{"k": 1}], False))
        for body in (b"x", b"[]", b'{"entities": []}', b'{"service": "s"}',
                     b'{"service": "s", "entities": [{"k": 1.5}]}',
                     b'{"service": "s", "entities": [], "full_feature_names": 1}',
                     b"[" * 100000 + b"]" * 100000):
            with self.assertRaises(BadRequest):
                parse_request(body, 10)
        with self.assertRaises(BadRequest):
            parse_request(b'{"service": "s", "entities": [{}, {}]}', 1)

    def test_metrics(self):
        m = Metrics()
        m.observe("/health", 200, 0.0004)
        m.observe("/health", 200, 0.003)
        m.observe("/../etc", 404, 0.001)
        text = m.render()
        self.assertIn('featstore_serve_requests_total{path="/health",status="200"} 2\n', text)
        self.assertIn('featstore_serve_requests_total{path="other",status="404"} 1\n', text)
        self.assertIn('featstore_serve_request_duration_seconds_bucket{path="/health",le="0.0005"} 1\n', text)
        self.assertIn('featstore_serve_request_duration_seconds_bucket{path="/health",le="0.005"} 2\n', text)
        self.assertIn('featstore_serve_request_duration_seconds_count{path="/health"} 2\n', text)

    def test_server_impls(self):
        self.assertEqual(server_impls(lambda n: True), ("httptools", "uvloop"))
        self.assertEqual(server_impls(lambda n: False), ("h11", "asyncio"))
        self.assertEqual(server_impls(lambda n: n == "uvloop"), ("h11", "uvloop"))
        self.assertEqual(server_impls(lambda n: True, http="h11", loop="asyncio"), ("h11", "asyncio"))
        with self.assertRaisesRegex(SystemExit, "FEATSTORE_SERVE_LOOP=uvloop but the module uvloop"):
            server_impls(lambda n: n != "uvloop", loop="uvloop")
        with self.assertRaisesRegex(SystemExit, "FEATSTORE_SERVE_HTTP must be auto, httptools or h11"):
            server_impls(lambda n: True, http="gevent")


if __name__ == "__main__":
    unittest.main()
