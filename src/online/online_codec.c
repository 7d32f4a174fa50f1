/*
 * online_codec.c
 *		The Redis key layout and the msgpack value layout of the online store.
 *
 * Key:   <prefix>:<namespace>:{<entity>:<key1>[:<key2>...]}:<group>
 *		  Every part (the namespace too) is the key column's text form with
 *		  '%', ':', '{' and '}' written as %25, %3A, %7B and %7D, so compound
 *		  keys can never collide and the braces form a Redis Cluster hash
 *		  tag: all groups of one entity live in one slot and can be read in
 *		  one round trip.  The namespace is the database's
 *		  (online_namespace.c); an empty one is 0.2.0's layout, without it:
 *		  <prefix>:{<entity>:<key1>[:<key2>...]}:<group>.
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
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "online/online.h"

#define UNIX_EPOCH_OFFSET_USECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/*
 * The compare-and-set script, for up to ONLINE_CAS_BATCH entities per call.
 * KEYS are the entities' keys; ARGV holds five values per key: force,
 * event_timestamp, created_at, value ('' to delete) and the expiry in Unix
 * milliseconds ('0' for none).  Without force, a value whose
 * (event_timestamp, created_at) is not newer than the stored one is kept:
 * retries and late-arriving rows never regress Redis.  "Not newer" is the
 * negation of PitBetter (pit/pit_rule.h), the one better-than rule, which
 * Lua inside Redis cannot call: a change to the rule changes this test too.
 * Force is used after DELETE and UPDATE, where the correct value may be an
 * older row.
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
static JsonbValue *PushObject(JsonbParseState **state, const msgpack_object *o,
							  JsonbIteratorToken seq);
static JsonbValue *PushMap(JsonbParseState **state, const msgpack_object *o);
static void ScalarToJsonbValue(const msgpack_object *o, JsonbValue *v);
static void SetJsonbString(JsonbValue *v, char *s, size_t len);
static Numeric NumericFromText(const char *s);
static bool ObjectToInt64(const msgpack_object *o, int64 *out);
static bool DecodeValue(const char *data, size_t len, TimestampTz *event_ts,
						TimestampTz *created_at, TimestampTz *materialized_at,
						TimestampTz *expires_at, StringInfo features_raw,
						Jsonb **features, char **problem);
static char *DecodeFeatures(const msgpack_object *v, StringInfo features_raw,
							Jsonb **features);
static bool ObjectTextValid(const msgpack_object *o);
static bool KeyValueCanonical(Oid typid, const char *value);

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

/*
 * AppendKeyHead appends what comes before a key's hash tag, with its ':':
 * the prefix and, unless it is empty (the legacy layout), the namespace
 */
static void
AppendKeyHead(StringInfo buf, const char *ns)
{
	appendStringInfoString(buf, online_key_prefix);
	appendStringInfoChar(buf, ':');
	if (ns[0] != '\0')
	{
		AppendEscaped(buf, ns);
		appendStringInfoChar(buf, ':');
	}
}

/* OnlineAppendKey appends the Redis key of one entity of a group */
void
OnlineAppendKey(StringInfo buf, const OnlineGroup *group, char **key_values)
{
	AppendKeyHead(buf, OnlineNamespace());
	appendStringInfoChar(buf, '{');
	AppendEscaped(buf, group->entity_name);
	for (int i = 0; i < group->nkeys; i++)
	{
		appendStringInfoChar(buf, ':');
		AppendEscaped(buf, key_values[i]);
	}
	appendStringInfoString(buf, "}:");
	AppendEscaped(buf, group->name);
}

/*
 * OnlineKeyPattern appends a SCAN MATCH pattern for every key of a group in
 * namespace ns (NULL: the database's).  Namespaces are escaped like key
 * parts, so no namespace's pattern matches another's keys, nor the legacy
 * layout's.
 */
void
OnlineKeyPattern(StringInfo buf, const char *ns, const char *group_name)
{
	StringInfoData esc;

	initStringInfo(&esc);
	AppendKeyHead(&esc, ns ? ns : OnlineNamespace());
	for (const char *p = esc.data; *p; p++)
	{
		if (strchr("*?[]\\", *p))
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoString(buf, "{*}:");
	resetStringInfo(&esc);
	AppendEscaped(&esc, group_name);
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
	AppendKeyHead(&expect, OnlineNamespace());
	appendStringInfoChar(&expect, '{');
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
	if (n != group->nkeys || p != close + 1)
		return false;

	/*
	 * A key is the group's only if featstore could have written it: each part
	 * the canonical text of a value of its key column's type, escaped as
	 * OnlineAppendKey escapes it.  Anything else (fs:db:{e:notanumber}:g,
	 * fs:db:{e:007}:g, a stray %zz or a NUL byte) is some other writer's.
	 */
	for (int i = 0; i < n; i++)
		if (!KeyValueCanonical(group->key_types[i], key_values[i]))
			return false;
	resetStringInfo(&expect);
	OnlineAppendKey(&expect, group, key_values);
	return (size_t) expect.len == len && memcmp(expect.data, key, len) == 0;
}

/*
 * KeyValueCanonical says whether value is the text form featstore writes for
 * a value of an entity key type (text, integer, bigint, uuid): what the
 * type's output function would print.  It decides without calling the input
 * functions, which report bad input only by raising an error.
 */
static bool
KeyValueCanonical(Oid typid, const char *value)
{
	size_t		len = strlen(value);

	switch (typid)
	{
		case TEXTOID:
			return pg_verifymbstr(value, (int) len, true);
		case INT4OID:
		case INT8OID:
			{
				char		buf[32];
				char	   *end;
				int64		v;

				if (len == 0 || len >= sizeof(buf))
					return false;
				errno = 0;
				v = strtoi64(value, &end, 10);
				if (errno != 0 || *end != '\0')
					return false;
				if (typid == INT4OID && (v < PG_INT32_MIN || v > PG_INT32_MAX))
					return false;
				/* no sign, spaces or leading zeros that int8out would not print */
				snprintf(buf, sizeof(buf), INT64_FORMAT, v);
				return strcmp(buf, value) == 0;
			}
		case UUIDOID:
			if (len != 36)
				return false;
			for (size_t i = 0; i < len; i++)
			{
				if (i == 8 || i == 13 || i == 18 || i == 23)
				{
					if (value[i] != '-')
						return false;
				}
				else if (!((value[i] >= '0' && value[i] <= '9') ||
						   (value[i] >= 'a' && value[i] <= 'f')))
					return false;
			}
			return true;
		default:
			return false;
	}
}

/* OnlineEncodeValue appends the msgpack value of one winning row */
void
OnlineEncodeValue(StringInfo buf, const OnlineGroup *group,
				  TimestampTz event_ts, TimestampTz created_at,
				  TimestampTz materialized_at, Datum *values, bool *isnull)
{
	OnlineEncodeValueExpiring(buf, group, event_ts, created_at, materialized_at,
							  group->ttl_usecs > 0 ? event_ts + group->ttl_usecs : DT_NOEND,
							  values, isnull);
}

/*
 * OnlineEncodeValueExpiring is OnlineEncodeValue with the expiry given:
 * expires_at, the last instant at which the value holds, or DT_NOEND (nil)
 */
void
OnlineEncodeValueExpiring(StringInfo buf, const OnlineGroup *group,
						  TimestampTz event_ts, TimestampTz created_at,
						  TimestampTz materialized_at, TimestampTz expires_at,
						  Datum *values, bool *isnull)
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
	if (expires_at != DT_NOEND)
		msgpack_pack_int64(&pk, OnlineUnixUsecs(expires_at));
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
 * OnlineEncodeFeatures), *features the map as jsonb; either may be NULL.
 * Returns false for anything that is not a featstore value, including a
 * value whose feature names or text are not valid in the database encoding:
 * Redis holds bytes, and such text must never reach jsonb.
 */
bool
OnlineDecodeValue(const char *data, size_t len, TimestampTz *event_ts,
				  TimestampTz *created_at, TimestampTz *materialized_at,
				  TimestampTz *expires_at, StringInfo features_raw,
				  Jsonb **features)
{
	return DecodeValue(data, len, event_ts, created_at, materialized_at,
					   expires_at, features_raw, features, NULL);
}

/*
 * OnlineValueProblem says why a stored value is not a featstore value (a
 * palloc'd sentence for a message detail), or returns NULL if it is one.
 */
char *
OnlineValueProblem(const char *data, size_t len)
{
	TimestampTz ets,
				cat,
				mat,
				exp;
	char	   *problem = NULL;

	if (DecodeValue(data, len, &ets, &cat, &mat, &exp, NULL, NULL, &problem))
		return NULL;
	return problem;
}

/*
 * DecodeValue is OnlineDecodeValue that also says, in *problem (if not
 * NULL), why a value is refused.
 */
static bool
DecodeValue(const char *data, size_t len, TimestampTz *event_ts,
			TimestampTz *created_at, TimestampTz *materialized_at,
			TimestampTz *expires_at, StringInfo features_raw,
			Jsonb **features, char **problem)
{
	msgpack_unpacked msg;
	size_t		off = 0;
	bool		ok = false;
	int			found = 0;
	const char *bad = NULL;

	*expires_at = DT_NOBEGIN;
	msgpack_unpacked_init(&msg);
	if (msgpack_unpack_next(&msg, data, len, &off) == MSGPACK_UNPACK_SUCCESS &&
		msg.data.type == MSGPACK_OBJECT_MAP)
	{
		msgpack_object_map *map = &msg.data.via.map;

		for (uint32 i = 0; i < map->size && bad == NULL; i++)
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
				bad = DecodeFeatures(v, features_raw, features);
				if (bad != NULL)
					break;
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
		ok = (bad == NULL && found == 15);
		if (!ok && bad == NULL)
			bad = psprintf("field \"%s\" is missing or not %s",
						   !(found & 2) ? "event_timestamp" :
						   !(found & 4) ? "created_at" :
						   !(found & 8) ? "materialized_at" : "features",
						   (found & 14) == 14 ? "a map" : "an integer");
	}
	else
		bad = "it is not a msgpack map";
	msgpack_unpacked_destroy(&msg);
	if (problem)
		*problem = ok ? NULL : pstrdup(bad);
	return ok;
}

/*
 * DecodeFeatures checks the features map of a stored value and renders it
 * into features_raw and *features (either may be NULL).  It returns why the
 * map is refused (every name and text must be valid before any is
 * rendered), or NULL.  The jsonb is built before the caller destroys the
 * unpacked message: its strings point into it.
 */
static char *
DecodeFeatures(const msgpack_object *v, StringInfo features_raw, Jsonb **features)
{
	for (uint32 f = 0; f < v->via.map.size; f++)
	{
		const msgpack_object *fk = &v->via.map.ptr[f].key;

		if (!ObjectTextValid(fk))
			return psprintf("a feature name is not valid text in encoding \"%s\"",
							GetDatabaseEncodingName());
		if (!ObjectTextValid(&v->via.map.ptr[f].val))
		{
			StringInfoData fname;

			initStringInfo(&fname);
			ObjectToJson(&fname, fk);
			return psprintf("feature %s holds text that is not valid in encoding \"%s\"",
							fname.data, GetDatabaseEncodingName());
		}
	}
	if (features_raw)
	{
		msgpack_packer pk;

		msgpack_packer_init(&pk, features_raw, PackToStringInfo);
		msgpack_pack_object(&pk, *v);
	}
	if (features)
	{
		JsonbParseState *state = NULL;

		*features = JsonbValueToJsonb(PushObject(&state, v, WJB_VALUE));
	}
	return NULL;
}

/*
 * ObjectTextValid says whether every str inside a msgpack object (map keys
 * included) is valid in the database encoding, with no NUL byte.
 */
static bool
ObjectTextValid(const msgpack_object *o)
{
	check_stack_depth();
	switch (o->type)
	{
		case MSGPACK_OBJECT_STR:
			return o->via.str.size <= (uint32) PG_INT32_MAX &&
				pg_verifymbstr(o->via.str.ptr, (int) o->via.str.size, true);
		case MSGPACK_OBJECT_ARRAY:
			for (uint32 i = 0; i < o->via.array.size; i++)
				if (!ObjectTextValid(&o->via.array.ptr[i]))
					return false;
			return true;
		case MSGPACK_OBJECT_MAP:
			for (uint32 i = 0; i < o->via.map.size; i++)
				if (!ObjectTextValid(&o->via.map.ptr[i].key) ||
					!ObjectTextValid(&o->via.map.ptr[i].val))
					return false;
			return true;
		default:
			return true;
	}
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

/*
 * PushObject adds a msgpack object to the jsonb being built in *state: a
 * scalar as a value of kind seq (WJB_VALUE in a map, WJB_ELEM in an
 * array), a map or an array as a nested container.  It returns what
 * pushJsonbValue last returned, the whole value when o is the outermost.
 * The result is exactly what jsonb_in makes of ObjectToJson's text, without
 * writing and parsing that text.
 */
static JsonbValue *
PushObject(JsonbParseState **state, const msgpack_object *o, JsonbIteratorToken seq)
{
	JsonbValue	v;

	check_stack_depth();
	if (o->type == MSGPACK_OBJECT_MAP)
		return PushMap(state, o);
	if (o->type == MSGPACK_OBJECT_ARRAY)
	{
		pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
		for (uint32 i = 0; i < o->via.array.size; i++)
			(void) PushObject(state, &o->via.array.ptr[i], WJB_ELEM);
		return pushJsonbValue(state, WJB_END_ARRAY, NULL);
	}
	ScalarToJsonbValue(o, &v);
	return pushJsonbValue(state, seq, &v);
}

/*
 * PushMap adds a msgpack map as a jsonb object.  A key that is not a str
 * becomes the string of its JSON text, as ObjectToJson writes it; of two
 * equal keys the later wins (pushJsonbValue's rule, jsonb_in's too).
 */
static JsonbValue *
PushMap(JsonbParseState **state, const msgpack_object *o)
{
	pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
	for (uint32 i = 0; i < o->via.map.size; i++)
	{
		const msgpack_object *k = &o->via.map.ptr[i].key;
		JsonbValue	key;

		if (k->type == MSGPACK_OBJECT_STR)
			SetJsonbString(&key, (char *) k->via.str.ptr, k->via.str.size);
		else
		{
			StringInfoData text;

			initStringInfo(&text);
			ObjectToJson(&text, k);
			SetJsonbString(&key, text.data, text.len);
		}
		pushJsonbValue(state, WJB_KEY, &key);
		(void) PushObject(state, &o->via.map.ptr[i].val, WJB_VALUE);
	}
	return pushJsonbValue(state, WJB_END_OBJECT, NULL);
}

/*
 * ScalarToJsonbValue converts a msgpack scalar as ObjectToJson renders it:
 * numbers as numeric (floats through their shortest exact text, NaN and
 * the infinities as strings), bin as \x hex text, unknown types as null.
 */
static void
ScalarToJsonbValue(const msgpack_object *o, JsonbValue *v)
{
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	v->type = jbvNumeric;
	switch (o->type)
	{
		case MSGPACK_OBJECT_BOOLEAN:
			v->type = jbvBool;
			v->val.boolean = o->via.boolean;
			return;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			if (o->via.u64 <= (uint64) PG_INT64_MAX)
				v->val.numeric = int64_to_numeric((int64) o->via.u64);
			else
			{
				snprintf(num, sizeof(num), UINT64_FORMAT, (uint64) o->via.u64);
				v->val.numeric = NumericFromText(num);
			}
			return;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
			v->val.numeric = int64_to_numeric((int64) o->via.i64);
			return;
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			if (isnan(o->via.f64) || isinf(o->via.f64))
			{
				char	   *word = isnan(o->via.f64) ? "NaN" :
					(o->via.f64 > 0 ? "Infinity" : "-Infinity");

				SetJsonbString(v, word, strlen(word));
				return;
			}
			if (o->type == MSGPACK_OBJECT_FLOAT32)
				float_to_shortest_decimal_buf((float) o->via.f64, num);
			else
				double_to_shortest_decimal_buf(o->via.f64, num);
			v->val.numeric = NumericFromText(num);
			return;
		case MSGPACK_OBJECT_STR:
			SetJsonbString(v, (char *) o->via.str.ptr, o->via.str.size);
			return;
		case MSGPACK_OBJECT_BIN:
			{
				StringInfoData hex;

				initStringInfo(&hex);
				appendStringInfoString(&hex, "\\x");
				for (uint32 i = 0; i < o->via.bin.size; i++)
					appendStringInfo(&hex, "%02x", (unsigned char) o->via.bin.ptr[i]);
				SetJsonbString(v, hex.data, hex.len);
				return;
			}
		default:
			v->type = jbvNull;	/* nil, and what JSON cannot say */
			return;
	}
}

/*
 * SetJsonbString makes v the jsonb string of len bytes at s (not
 * NUL-terminated), with jsonb_in's length limit
 */
static void
SetJsonbString(JsonbValue *v, char *s, size_t len)
{
	if (len > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("string too long to represent as jsonb string"),
				 errdetail("Due to an implementation restriction, jsonb strings cannot exceed %d bytes.",
						   JENTRY_OFFLENMASK)));
	v->type = jbvString;
	v->val.string.val = s;
	v->val.string.len = (int) len;
}

/* NumericFromText reads a JSON number as jsonb_in does, with numeric_in */
static Numeric
NumericFromText(const char *s)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}
