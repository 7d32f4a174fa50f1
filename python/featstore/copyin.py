"""A pandas DataFrame as PostgreSQL's binary COPY format, built column by
column with numpy (no per-row Python loop except to encode strings).

Binary COPY (PostgreSQL docs, "COPY", "Binary Format"): a header, then per
row an int16 field count and per field an int32 length (-1 for NULL) and
the value in the type's binary send format (big-endian), then an int16 -1.
"""

import uuid

import numpy as np
import pandas as pd

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
# PostgreSQL's epoch is 2000-01-01; pandas' is 1970-01-01
_PG_EPOCH_US = 946684800000000


def column_type(series, key_type=None):
    """The PostgreSQL type a DataFrame column is uploaded as: the entity's
    key type for a key column, else by its dtype."""
    if key_type is not None:
        return key_type
    dt = series.dtype
    if isinstance(dt, pd.DatetimeTZDtype):
        return "timestamp with time zone"
    if pd.api.types.is_datetime64_dtype(dt):
        return "timestamp without time zone"
    if pd.api.types.is_bool_dtype(dt):
        return "boolean"
    if pd.api.types.is_integer_dtype(dt):
        return "bigint"
    if pd.api.types.is_float_dtype(dt):
        return "double precision"
    if (pd.api.types.is_object_dtype(dt) or pd.api.types.is_string_dtype(dt)
            or isinstance(dt, pd.CategoricalDtype)):
        return "text"
    raise TypeError('column "%s" has dtype %s, which the client cannot upload: '
                    "convert it to a number, a string, a boolean or a datetime" % (series.name, dt))


def _fixed(values, mask, fmt):
    # values: numpy array; mask: True where not NULL
    data = np.ascontiguousarray(values[mask].astype(fmt)).view(np.uint8)
    lens = np.where(mask, np.dtype(fmt).itemsize, -1).astype(np.int64)
    return lens, data


def _var(items, mask):
    # items: list of bytes for the non-NULL rows, in order
    lens = np.full(len(mask), -1, dtype=np.int64)
    lens[mask] = np.fromiter((len(b) for b in items), dtype=np.int64, count=len(items))
    return lens, np.frombuffer(b"".join(items), dtype=np.uint8)


def _int_values(series, name, pg_type):
    s = series
    if pd.api.types.is_float_dtype(s.dtype) or pd.api.types.is_object_dtype(s.dtype):
        try:
            s = pd.array(s, dtype="Int64") if not pd.api.types.is_object_dtype(s.dtype) \
                else pd.to_numeric(s, errors="raise").astype("Int64")
        except (TypeError, ValueError):
            raise ValueError('column "%s" must hold integers for %s' % (name, pg_type)) from None
        s = pd.Series(s)
    mask = ~pd.isna(s).to_numpy()
    vals = s.to_numpy(dtype="int64", na_value=0) if mask.size else np.zeros(0, "int64")
    if pg_type == "integer" and mask.any():
        v = vals[mask]
        if v.min() < -2 ** 31 or v.max() >= 2 ** 31:
            raise ValueError('column "%s" holds values out of range for integer' % name)
    return vals, mask


def encode_column(series, pg_type):
    """(lengths, data) of one column: per row its field length (-1: NULL) and
    the concatenated non-NULL values in binary send format."""
    name = series.name
    if pg_type in ("bigint", "integer"):
        vals, mask = _int_values(series, name, pg_type)
        return _fixed(vals, mask, ">i8" if pg_type == "bigint" else ">i4")
    if pg_type == "double precision":
        vals = series.to_numpy(dtype="float64", na_value=np.nan)
        return _fixed(vals, ~np.isnan(vals), ">f8")
    if pg_type == "boolean":
        mask = ~pd.isna(series).to_numpy()
        vals = series.to_numpy(dtype="object")
        vals = np.where(mask, vals, False).astype(bool)
        return _fixed(vals, mask, "u1")
    if pg_type in ("timestamp with time zone", "timestamp without time zone"):
        s = series
        if pg_type == "timestamp with time zone":
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = s.to_numpy(dtype="datetime64[ns]").view("int64")
        mask = ~pd.isna(s).to_numpy()
        # nanoseconds are truncated towards the past to microseconds
        return _fixed(np.floor_divide(ns, 1000) - _PG_EPOCH_US, mask, ">i8")
    mask = ~pd.isna(series).to_numpy()
    objs = series.to_numpy(dtype="object")[mask]
    if pg_type == "uuid":
        try:
            items = [(o if isinstance(o, uuid.UUID) else uuid.UUID(str(o))).bytes for o in objs]
        except ValueError as e:
            raise ValueError('column "%s" must hold uuids: %s' % (name, e)) from None
        return _var(items, mask)
    if pg_type == "text":
        return _var([o.encode("utf-8") if isinstance(o, str) else str(o).encode("utf-8")
                     for o in objs], mask)
    raise TypeError('column "%s": cannot upload type %s' % (name, pg_type))


def encode_rows(columns):
    """The binary COPY body (without header and trailer) of rows whose
    columns are given as (lengths, data) pairs, all of the same row count."""
    n = len(columns[0][0])
    ncol = len(columns)
    sizes = np.full(n, 2, dtype=np.int64)
    for lens, _ in columns:
        sizes += 4 + np.maximum(lens, 0)
    starts = np.zeros(n, dtype=np.int64)
    if n:
        np.cumsum(sizes[:-1], out=starts[1:])
    out = np.zeros(int(sizes.sum()), dtype=np.uint8)
    count = np.array([ncol], dtype=">i2").view(np.uint8)
    out[starts] = count[0]
    out[starts + 1] = count[1]
    pos = starts + 2
    four = np.arange(4, dtype=np.int64)
    for lens, data in columns:
        be = lens.astype(">i4").view(np.uint8).reshape(n, 4)
        out[(pos[:, None] + four).ravel()] = be.ravel()
        mask = lens > 0
        if data.size:
            l = lens[mask]
            src = np.zeros(len(l), dtype=np.int64)
            if len(l):
                np.cumsum(l[:-1], out=src[1:])
            dest = np.repeat(pos[mask] + 4 - src, l) + np.arange(data.size, dtype=np.int64)
            out[dest] = data
        pos = pos + 4 + np.maximum(lens, 0)
    return out.tobytes()


class ChunkReader:
    """A file-like object for copy_expert that yields a DataFrame's binary
    COPY data chunk by chunk, so at most one chunk is encoded at a time."""

    def __init__(self, df, types, chunk_rows=200000):
        self._df, self._types, self._chunk = df, types, chunk_rows
        self._next = 0
        self._buf, self._off = HEADER, 0
        self._done = False
        self.error = None

    def _fill(self):
        rest = self._buf[self._off:]
        if self._next >= len(self._df):
            self._buf, self._off = rest + TRAILER, 0
            self._done = True
            return
        part = self._df.iloc[self._next:self._next + self._chunk]
        self._next += self._chunk
        cols = [encode_column(part[c], t) for c, t in zip(part.columns, self._types)]
        self._buf, self._off = rest + encode_rows(cols), 0

    def read(self, size=-1):
        try:
            while not self._done and (size < 0 or len(self._buf) - self._off < size):
                self._fill()
        except Exception as e:          # psycopg2 would only say "error in .read()"
            self.error = e
            raise
        end = len(self._buf) if size < 0 else self._off + size
        out = self._buf[self._off:end]
        self._off += len(out)
        return out

    readline = read
