/*
 * online_codec.c
 *		The Redis key layout and the msgpack value layout of the online store.
 *
 * Key:   <prefix>:{<entity>:<key1>[:<key2>...]}:<group>
 *		  Every part is the key column's text form with '%', ':', '{' and '}'
 *		  written as %25, %3A, %7B and %7D, so compound keys can never collide
 *		  and the braces form a Redis Cluster hash tag: all groups of one
 *		  entity live in one slot and can be read in one round trip.
 *
 * Value: a msgpack map
 *		  event_timestamp, created_at, materialized_at: microseconds since the
 *		  Unix epoch; expires_at: the same, or nil without a TTL;
 *		  features: map of feature name to value.
 *
 * docs/online-store.md is the contract for clients; keep them in step.
 */
#include "postgres.h"

#include <math.h>

#include <msgpack.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "online.h"

#define UNIX_EPOCH_OFFSET_USECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/*
 * The compare-and-set script, for up to ONLINE_CAS_BATCH entities per call.
 * KEYS are the entities' keys; ARGV holds five values per key: force,
 * event_timestamp, created_at, value ('' to delete) and the expiry in Unix
 * milliseconds ('0' for none).  Without force, a value whose
 * (event_timestamp, created_at) is not newer than the stored one is kept:
 * retries and late-arriving rows never regress Redis.  Force is used after
 * DELETE and UPDATE, where the correct value may be an older row.
 * Returns one code per key: 1 written, 0 kept the stored value, 2 deleted,
 * 3 nothing to delete.
 */
static const char cas_script[] =
"local r = {}\n"
"for i = 1, #KEYS do\n"
"  local b = (i - 1) * 5\n"
"  local key, force, value = KEYS[i], ARGV[b + 1], ARGV[b + 4]\n"
"  if value == '' then\n"
"    r[i] = (redis.call('DEL', key) == 1) and 2 or 3\n"
"  else\n"
"    local keep = false\n"
"    if force ~= '1' then\n"
"      local cur = redis.call('GET', key)\n"
"      if cur then\n"
"        local ok, v = pcall(cmsgpack.unpack, cur)\n"
"        if ok and type(v) == 'table' then\n"
"          local e, c = tonumber(v['event_timestamp']), tonumber(v['created_at'])\n"
"          local ne, nc = tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])\n"
"          keep = e ~= nil and c ~= nil and (e > ne or (e == ne and c >= nc))\n"
"        end\n"
"      end\n"
"    end\n"
"    if keep then\n"
"      r[i] = 0\n"
"    else\n"
"      if ARGV[b + 5] ~= '0' then\n"
"        redis.call('SET', key, value, 'PXAT', ARGV[b + 5])\n"
"      else\n"
"        redis.call('SET', key, value)\n"
"      end\n"
"      r[i] = 1\n"
"    end\n"
"  end\n"
"end\n"
"return r\n";

static void AppendEscaped(StringInfo buf, const char *s);
static int	PackToStringInfo(void *data, const char *buf, size_t len);
static void PackDatum(msgpack_packer *pk, Datum value, Oid typid);
static void PackText(msgpack_packer *pk, const char *s);
static void ObjectToJson(StringInfo buf, const msgpack_object *o);
static bool ObjectToInt64(const msgpack_object *o, int64 *out);

/* OnlineCasScript returns the Lua compare-and-set script */
const char *
OnlineCasScript(void)
{
	return cas_script;
}

/* OnlineUnixUsecs converts a timestamptz to microseconds since 1970 */
int64
OnlineUnixUsecs(TimestampTz ts)
{
	return ts + UNIX_EPOCH_OFFSET_USECS;
}

/* OnlineFromUnixUsecs converts microseconds since 1970 to a timestamptz */
TimestampTz
OnlineFromUnixUsecs(int64 usecs)
{
	return usecs - UNIX_EPOCH_OFFSET_USECS;
}

/*
 * OnlineBeginCanonicalText pins the settings that change the text form of
 * values (DateStyle, IntervalStyle, extra_float_digits) to fixed ones until
 * OnlineEndCanonicalText.  The codec stores dates, intervals and other types
 * as their text output, and verify_online() recomputes what the worker
 * wrote: in a session in SQL, DMY style a date would otherwise read as a
 * different value.  (Entity keys are text, integers or uuids, whose text
 * form no setting changes.)  Returns the level for the end call.
 */
int
OnlineBeginCanonicalText(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("datestyle", ONLINE_DATESTYLE, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("intervalstyle", ONLINE_INTERVALSTYLE, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", ONLINE_FLOAT_DIGITS, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* OnlineEndCanonicalText restores the settings OnlineBeginCanonicalText pinned */
void
OnlineEndCanonicalText(int level)
{
	AtEOXact_GUC(true, level);
}

/* OnlineAppendKey appends the Redis key of one entity of a group */
void
OnlineAppendKey(StringInfo buf, const OnlineGroup *group, char **key_values)
{
	appendStringInfoString(buf, online_key_prefix);
	appendStringInfoString(buf, ":{");
	AppendEscaped(buf, group->entity_name);
	for (int i = 0; i < group->nkeys; i++)
	{
		appendStringInfoChar(buf, ':');
		AppendEscaped(buf, key_values[i]);
	}
	appendStringInfoString(buf, "}:");
	AppendEscaped(buf, group->name);
}

/* OnlineKeyPattern appends a SCAN MATCH pattern for every key of a group */
void
OnlineKeyPattern(StringInfo buf, const char *group_name)
{
	StringInfoData esc;

	initStringInfo(&esc);
	AppendEscaped(&esc, group_name);
	for (const char *p = online_key_prefix; *p; p++)
	{
		if (strchr("*?[]\\", *p))
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoString(buf, ":{*}:");
	for (const char *p = esc.data; *p; p++)
	{
		if (strchr("*?[]\\", *p))
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	pfree(esc.data);
}

/*
 * OnlineParseKey splits a key of this group back into its key values (text);
 * false if the key does not belong to the group.
 */
bool
OnlineParseKey(const OnlineGroup *group, const char *key, size_t len, char **key_values)
{
	StringInfoData expect;
	const char *p;
	const char *end = key + len;
	const char *close;
	int			n = 0;

	initStringInfo(&expect);
	appendStringInfoString(&expect, online_key_prefix);
	appendStringInfoString(&expect, ":{");
	AppendEscaped(&expect, group->entity_name);
	appendStringInfoChar(&expect, ':');
	if (len < (size_t) expect.len || memcmp(key, expect.data, expect.len) != 0)
		return false;
	p = key + expect.len;
	close = memchr(p, '}', end - p);
	if (close == NULL)
		return false;
	resetStringInfo(&expect);
	appendStringInfoString(&expect, "}:");
	AppendEscaped(&expect, group->name);
	if ((size_t) (end - close) != (size_t) expect.len ||
		memcmp(close, expect.data, expect.len) != 0)
		return false;

	/* unescape each ':'-separated part */
	while (p <= close && n < group->nkeys)
	{
		StringInfoData part;

		initStringInfo(&part);
		while (p < close && *p != ':')
		{
			if (*p == '%' && close - p >= 3)
			{
				char		hex[3] = {p[1], p[2], 0};

				appendStringInfoChar(&part, (char) strtol(hex, NULL, 16));
				p += 3;
			}
			else
				appendStringInfoChar(&part, *p++);
		}
		key_values[n++] = part.data;
		p++;					/* skip ':' or '}' */
	}
	return n == group->nkeys && p == close + 1;
}

/* OnlineEncodeValue appends the msgpack value of one winning row */
void
OnlineEncodeValue(StringInfo buf, const OnlineGroup *group,
				  TimestampTz event_ts, TimestampTz created_at,
				  TimestampTz materialized_at, Datum *values, bool *isnull)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, buf, PackToStringInfo);
	msgpack_pack_map(&pk, 5);
	PackText(&pk, "event_timestamp");
	msgpack_pack_int64(&pk, OnlineUnixUsecs(event_ts));
	PackText(&pk, "created_at");
	msgpack_pack_int64(&pk, OnlineUnixUsecs(created_at));
	PackText(&pk, "materialized_at");
	msgpack_pack_int64(&pk, OnlineUnixUsecs(materialized_at));
	PackText(&pk, "expires_at");
	if (group->ttl_usecs > 0)
		msgpack_pack_int64(&pk, OnlineUnixUsecs(event_ts) + group->ttl_usecs);
	else
		msgpack_pack_nil(&pk);
	PackText(&pk, "features");
	OnlineEncodeFeatures(buf, group, values, isnull);
}

/* OnlineEncodeFeatures appends the msgpack map of feature name to value */
void
OnlineEncodeFeatures(StringInfo buf, const OnlineGroup *group, Datum *values,
					 bool *isnull)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, buf, PackToStringInfo);
	msgpack_pack_map(&pk, group->nfeatures);
	for (int i = 0; i < group->nfeatures; i++)
	{
		PackText(&pk, group->feature_names[i]);
		if (isnull[i])
			msgpack_pack_nil(&pk);
		else
			PackDatum(&pk, values[i], group->feature_types[i]);
	}
}

/*
 * OnlineDecodeValue parses a stored value.  features_raw receives the
 * features map re-packed (comparable byte for byte with
 * OnlineEncodeFeatures), features_json a JSON rendering; either may be NULL.
 * Returns false for anything that is not a featstore value.
 */
bool
OnlineDecodeValue(const char *data, size_t len, TimestampTz *event_ts,
				  TimestampTz *created_at, TimestampTz *materialized_at,
				  TimestampTz *expires_at, StringInfo features_raw,
				  StringInfo features_json)
{
	msgpack_unpacked msg;
	size_t		off = 0;
	bool		ok = false;
	int			found = 0;

	*expires_at = DT_NOBEGIN;
	msgpack_unpacked_init(&msg);
	if (msgpack_unpack_next(&msg, data, len, &off) == MSGPACK_UNPACK_SUCCESS &&
		msg.data.type == MSGPACK_OBJECT_MAP)
	{
		msgpack_object_map *map = &msg.data.via.map;

		for (uint32 i = 0; i < map->size; i++)
		{
			msgpack_object *k = &map->ptr[i].key;
			msgpack_object *v = &map->ptr[i].val;
			char		name[32];
			int64		usecs;

			if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof(name))
				continue;
			memcpy(name, k->via.str.ptr, k->via.str.size);
			name[k->via.str.size] = '\0';
			if (strcmp(name, "features") == 0 && v->type == MSGPACK_OBJECT_MAP)
			{
				if (features_raw)
				{
					msgpack_packer pk;

					msgpack_packer_init(&pk, features_raw, PackToStringInfo);
					msgpack_pack_object(&pk, *v);
				}
				if (features_json)
					ObjectToJson(features_json, v);
				found |= 1;
			}
			else if (strcmp(name, "expires_at") == 0)
			{
				if (ObjectToInt64(v, &usecs))
					*expires_at = OnlineFromUnixUsecs(usecs);
			}
			else if (ObjectToInt64(v, &usecs))
			{
				if (strcmp(name, "event_timestamp") == 0)
				{
					*event_ts = OnlineFromUnixUsecs(usecs);
					found |= 2;
				}
				else if (strcmp(name, "created_at") == 0)
				{
					*created_at = OnlineFromUnixUsecs(usecs);
					found |= 4;
				}
				else if (strcmp(name, "materialized_at") == 0)
				{
					*materialized_at = OnlineFromUnixUsecs(usecs);
					found |= 8;
				}
			}
		}
		ok = (found == 15);
	}
	msgpack_unpacked_destroy(&msg);
	return ok;
}

/* AppendEscaped appends s with the key separators percent-encoded */
static void
AppendEscaped(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		switch (*s)
		{
			case '%':
				appendStringInfoString(buf, "%25");
				break;
			case ':':
				appendStringInfoString(buf, "%3A");
				break;
			case '{':
				appendStringInfoString(buf, "%7B");
				break;
			case '}':
				appendStringInfoString(buf, "%7D");
				break;
			default:
				appendStringInfoChar(buf, *s);
		}
	}
}

/* PackToStringInfo is the msgpack write callback: palloc'd, so no abort() */
static int
PackToStringInfo(void *data, const char *buf, size_t len)
{
	appendBinaryStringInfo((StringInfo) data, buf, (int) len);
	return 0;
}

/* PackText packs a C string as a msgpack str */
static void
PackText(msgpack_packer *pk, const char *s)
{
	size_t		len = strlen(s);

	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

/*
 * PackDatum packs one non-null value by type: numbers and booleans natively,
 * timestamps as Unix microseconds, bytea as bin, one-dimensional arrays as
 * arrays, numeric and everything else as its exact text form.
 */
static void
PackDatum(msgpack_packer *pk, Datum value, Oid typid)
{
	switch (typid)
	{
		case BOOLOID:
			if (DatumGetBool(value))
				msgpack_pack_true(pk);
			else
				msgpack_pack_false(pk);
			return;
		case INT2OID:
			msgpack_pack_int64(pk, DatumGetInt16(value));
			return;
		case INT4OID:
			msgpack_pack_int64(pk, DatumGetInt32(value));
			return;
		case INT8OID:
			msgpack_pack_int64(pk, DatumGetInt64(value));
			return;
		case FLOAT4OID:
			msgpack_pack_float(pk, DatumGetFloat4(value));
			return;
		case FLOAT8OID:
			msgpack_pack_double(pk, DatumGetFloat8(value));
			return;
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
			if (TIMESTAMP_NOT_FINITE(DatumGetTimestamp(value)))
				break;			/* 'infinity' as text */
			msgpack_pack_int64(pk, OnlineUnixUsecs(DatumGetTimestamp(value)));
			return;
		case BYTEAOID:
			{
				bytea	   *b = DatumGetByteaPP(value);

				msgpack_pack_bin(pk, VARSIZE_ANY_EXHDR(b));
				msgpack_pack_bin_body(pk, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
				return;
			}
		default:
			break;
	}

	if (OidIsValid(get_element_type(typid)) && typid != NAMEOID)
	{
		ArrayType  *arr = DatumGetArrayTypeP(value);

		if (ARR_NDIM(arr) <= 1)
		{
			Oid			elemtype = ARR_ELEMTYPE(arr);
			int16		elmlen;
			bool		elmbyval;
			char		elmalign;
			Datum	   *elems;
			bool	   *nulls;
			int			nelems;

			get_typlenbyvalalign(elemtype, &elmlen, &elmbyval, &elmalign);
			deconstruct_array(arr, elemtype, elmlen, elmbyval, elmalign,
							  &elems, &nulls, &nelems);
			msgpack_pack_array(pk, nelems);
			for (int i = 0; i < nelems; i++)
			{
				if (nulls[i])
					msgpack_pack_nil(pk);
				else
					PackDatum(pk, elems[i], elemtype);
			}
			return;
		}
	}

	{
		Oid			outfunc;
		bool		isvarlena;

		getTypeOutputInfo(typid, &outfunc, &isvarlena);
		PackText(pk, OidOutputFunctionCall(outfunc, value));
	}
}

/* ObjectToInt64 reads a msgpack integer */
static bool
ObjectToInt64(const msgpack_object *o, int64 *out)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
	{
		*out = (int64) o->via.u64;
		return true;
	}
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
	{
		*out = o->via.i64;
		return true;
	}
	return false;
}

/* ObjectToJson renders a msgpack object as JSON text (bin as \x hex text) */
static void
ObjectToJson(StringInfo buf, const msgpack_object *o)
{
	switch (o->type)
	{
		case MSGPACK_OBJECT_NIL:
			appendStringInfoString(buf, "null");
			break;
		case MSGPACK_OBJECT_BOOLEAN:
			appendStringInfoString(buf, o->via.boolean ? "true" : "false");
			break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			appendStringInfo(buf, UINT64_FORMAT, (uint64) o->via.u64);
			break;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
			appendStringInfo(buf, INT64_FORMAT, (int64) o->via.i64);
			break;
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			if (isnan(o->via.f64) || isinf(o->via.f64))
				appendStringInfo(buf, "\"%s\"", isnan(o->via.f64) ? "NaN" :
								 (o->via.f64 > 0 ? "Infinity" : "-Infinity"));
			else
			{
				/* the shortest text that reads back exactly, as float8out */
				char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

				if (o->type == MSGPACK_OBJECT_FLOAT32)
					float_to_shortest_decimal_buf((float) o->via.f64, num);
				else
					double_to_shortest_decimal_buf(o->via.f64, num);
				appendStringInfoString(buf, num);
			}
			break;
		case MSGPACK_OBJECT_STR:
			{
				char	   *s = pnstrdup(o->via.str.ptr, o->via.str.size);

				escape_json(buf, s);
				pfree(s);
				break;
			}
		case MSGPACK_OBJECT_BIN:
			appendStringInfoString(buf, "\"\\\\x");
			for (uint32 i = 0; i < o->via.bin.size; i++)
				appendStringInfo(buf, "%02x", (unsigned char) o->via.bin.ptr[i]);
			appendStringInfoChar(buf, '"');
			break;
		case MSGPACK_OBJECT_ARRAY:
			appendStringInfoChar(buf, '[');
			for (uint32 i = 0; i < o->via.array.size; i++)
			{
				if (i > 0)
					appendStringInfoString(buf, ", ");
				ObjectToJson(buf, &o->via.array.ptr[i]);
			}
			appendStringInfoChar(buf, ']');
			break;
		case MSGPACK_OBJECT_MAP:
			appendStringInfoChar(buf, '{');
			for (uint32 i = 0; i < o->via.map.size; i++)
			{
				if (i > 0)
					appendStringInfoString(buf, ", ");
				if (o->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR)
					ObjectToJson(buf, &o->via.map.ptr[i].key);
				else
				{
					StringInfoData k;

					initStringInfo(&k);
					ObjectToJson(&k, &o->via.map.ptr[i].key);
					escape_json(buf, k.data);
				}
				appendStringInfoString(buf, ": ");
				ObjectToJson(buf, &o->via.map.ptr[i].val);
			}
			appendStringInfoChar(buf, '}');
			break;
		default:
			appendStringInfoString(buf, "null");
			break;
	}
}
