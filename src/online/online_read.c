/*
 * online_read.c
 *		Reading the online store from SQL: online_features() for checks and
 *		debugging, verify_online() to compare Redis with the point-in-time
 *		rule at now(), and the status functions behind
 *		featstore.materialization_status.
 *
 * These run in ordinary backends, inside the caller's transaction, so every
 * Redis call has the featstore.redis_timeout deadline and can be cancelled.
 */
#include "postgres.h"

#include <hiredis/hiredis.h>

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "extension.h"
#include "online/online.h"
#include "pii/pii.h"
#include "pit/pit.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(online_features);
PG_FUNCTION_INFO_V1(verify_online);
PG_FUNCTION_INFO_V1(online_worker_status);
PG_FUNCTION_INFO_V1(online_group_status);
PG_FUNCTION_INFO_V1(online_walk_progress);
PG_FUNCTION_INFO_V1(online_error_visible);

/* Redis GETs per round trip in verify_online */
#define READ_CHUNK 1000

/*
 * The SCAN calls verify_online allows: ten per ONLINE_SCAN_COUNT keys that
 * DBSIZE reports, plus SCAN_SLACK_CALLS.  A call returns about
 * ONLINE_SCAN_COUNT keys or visits 10 * ONLINE_SCAN_COUNT empty buckets, so
 * a whole SCAN normally takes about 2 * DBSIZE / ONLINE_SCAN_COUNT calls;
 * the slack covers a table left sparse by deletions (100 million empty
 * buckets).  A server that needs more has a cursor that never returns to 0.
 */
#define SCAN_SLACK_CALLS 10000

/* What the status functions show instead of an error the caller may not read */
#define HIDDEN_ERROR "<insufficient privilege>"

/* This backend's Redis connection and the settings it was made with */
static RedisConn *backend_conn = NULL;
static char *backend_conn_settings = NULL;

/* An entity's expected value, as verify_online computes it for a source group */
typedef struct ExpectedEntity
{
	char	  **keys;
	char	   *value;			/* its encoding; NULL: no key expected */
	int			len;
	char	   *later;			/* the same, a moment later (after the GETs) */
	int			later_len;
	char	   *redis;			/* what Redis holds; NULL: no key */
	size_t		redis_len;
} ExpectedEntity;

/* What verify_online compares, shared by its steps */
typedef struct VerifyState
{
	OnlineGroup *group;
	int32		sample;			/* entities sampled from each side */
	RedisConn  *conn;
	TimestampTz now;			/* the instant compared at */
	OnlineDifferenceFn report;	/* where the differences go */
	void	   *report_arg;
	int64		compared;		/* entities compared */
	List	   *masked;			/* PII features the caller may not see */
} VerifyState;

/* CollectExpected's list, with what it encodes by */
typedef struct ExpectedList
{
	VerifyState *st;
	List	   *entities;		/* of ExpectedEntity * */
	ListCell   *next;			/* the second pass: the entity it fills */
	TimestampTz at;				/* the instant being computed */
} ExpectedList;

/* The entities verify_online samples from Redis's keys */
typedef struct KeySample
{
	const OnlineGroup *group;
	int			limit;
	List	   *entities;		/* key values, char ** each */
	int64		nforeign;		/* matching keys that are not the group's */
	char	   *first_foreign;
} KeySample;

static RedisConn *BackendRedis(void);
static void BackendRun(int ncmds, RedisCommand *cmds, RedisResult *results);
static void BackendRedisFailed(const char *err);
static char **CanonicalKeys(const OnlineGroup *group, ArrayType *arr);
static Jsonb *ValueJsonb(const char *data, size_t len);
static void PushStringPair(JsonbParseState **state, const char *key,
						   const char *value);
static void CheckRowVisible(const OnlineGroup *group, char **keyvals,
							TimestampTz event_ts, TimestampTz created_at);
static int64 ScanCallLimit(RedisConn *conn, int64 *dbsize);
static char *DisplayBytes(const char *data, size_t len);
static void VerifyRefuseRowSecurity(const OnlineGroup *group);
static RedisConn *VerifyConnect(void);
static List *SampleRedisEntities(VerifyState *st);
static OnlineKeysStep SampleKeysPage(void *arg, const RedisResult *keys,
									 int nkeys, char **err);
static Datum EntityArray(const OnlineGroup *group, List *entities);
static char *VerifyEntitiesSql(const OnlineGroup *group);
static SPITupleTable *ReadExpected(VerifyState *st, List *redis_entities);
static void CompareWithRedis(VerifyState *st, SPITupleTable *expected);
static void CompareRow(VerifyState *st, HeapTuple tup, TupleDesc desc,
					   const RedisResult *reply);
static void ExpectedValue(VerifyState *st, HeapTuple tup, TupleDesc desc,
						  TimestampTz ets, StringInfo enc);
static const char *ValueDifference(const char *expected, size_t elen,
								   const char *actual, size_t alen);
static void ReportDifference(VerifyState *st, HeapTuple tup, TupleDesc desc,
							 const char *problem, Jsonb *expected,
							 Jsonb *actual);
static void VerifySourceGroup(VerifyState *st);
static Datum SourceSample(VerifyState *st, List *redis_entities);
static void CollectExpected(void *arg, const OnlineWinner *w);
static void ReadSourceRedis(VerifyState *st, List *expected);
static void CompareSourceWithRedis(VerifyState *st, List *expected);
static const char *SourceProblem(const char *value, int len, const char *redis,
								 size_t redis_len);
static void ReportKeysDifference(VerifyState *st, char **keys, const char *problem,
								 Jsonb *expected, Jsonb *actual);
static bool GroupErrorVisible(const char *name);
static void VerifyOnlineRow(void *arg, Datum entity, const char *problem,
							Jsonb *expected, Jsonb *actual);
static bool WorkerErrorVisible(void);

/*
 * online_features reads one entity's value of a group from Redis:
 * status (found, missing, invalid), the features as jsonb, the row's
 * timestamps, its age and the Redis key.
 */
Datum
online_features(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	OnlineGroup *group;
	char	  **keyvals;
	StringInfoData key;
	RedisCommand cmd;
	RedisResult res;
	Datum		values[8];
	bool		nulls[8] = {false};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature group name and entity key must not be null")));
	InitMaterializedSRF(fcinfo, 0);
	OnlineRequireServedDatabase();
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	group = OnlineLoadServedGroup(name, " to serve it from Redis.");
	OnlineCheckGroupReadable(group, "read");
	keyvals = CanonicalKeys(group, PG_GETARG_ARRAYTYPE_P(1));

	initStringInfo(&key);
	OnlineAppendKey(&key, group, keyvals);
	RedisCommandSet(&cmd, 2, "GET", (size_t) 3, key.data, (size_t) key.len);
	BackendRun(1, &cmd, &res);

	values[7] = CStringGetTextDatum(key.data);
	if (res.type == REDIS_REPLY_NIL)
	{
		values[0] = CStringGetTextDatum("missing");
		for (int i = 1; i < 7; i++)
			nulls[i] = true;
	}
	else if (res.type == REDIS_REPLY_STRING)
	{
		TimestampTz ets,
					cat,
					mat,
					exp;
		Jsonb	   *features;

		if (OnlineDecodeValue(res.str, res.len, &ets, &cat, &mat, &exp, NULL, &features))
		{
			CheckRowVisible(group, keyvals, ets, cat);
			values[0] = CStringGetTextDatum("found");
			values[1] = JsonbPGetDatum(PiiMaskJsonb(group->name, features,
													PiiMaskedFeatures(group->name)));
			values[2] = TimestampTzGetDatum(ets);
			values[3] = TimestampTzGetDatum(cat);
			values[4] = TimestampTzGetDatum(mat);
			values[5] = TimestampTzGetDatum(exp);
			nulls[5] = (exp == DT_NOBEGIN);
			values[6] = DirectFunctionCall2(timestamp_mi,
											TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
											TimestampTzGetDatum(ets));
		}
		else
		{
			ereport(NOTICE,
					(errmsg("Redis key \"%s\" does not hold a featstore value", key.data),
					 errdetail("Decoding it failed: %s.", OnlineValueProblem(res.str, res.len)),
					 errhint("SELECT featstore.materialize(%s) rewrites it.",
							 quote_literal_cstr(group->name))));
			values[0] = CStringGetTextDatum("invalid");
			for (int i = 1; i < 7; i++)
				nulls[i] = true;
		}
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("unexpected Redis reply to GET %s: %s", key.data,
						res.str ? res.str : "not a string"),
				 errhint("Check that featstore.redis_key_prefix is used by featstore alone.")));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * verify_online compares Redis with the point-in-time rule at now() for a
 * sample of entities (drawn from the history table and from the keys in
 * Redis, so stale keys are found too) and returns one row per difference.
 */
Datum
verify_online(PG_FUNCTION_ARGS)
{
	char	   *name;
	int32		sample;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature group name must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	sample = PG_ARGISNULL(1) ? 10000 : PG_GETARG_INT32(1);
	if (sample < 1 || sample > 10000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample must be between 1 and 10000000, not %d", sample)));
	InitMaterializedSRF(fcinfo, 0);
	(void) OnlineVerifyGroup(name, sample, " to serve it from Redis.",
							 VerifyOnlineRow, fcinfo->resultinfo);
	return (Datum) 0;
}

/* VerifyOnlineRow is verify_online's difference callback: one result row */
static void
VerifyOnlineRow(void *arg, Datum entity, const char *problem, Jsonb *expected,
				Jsonb *actual)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;
	Datum		values[4];
	bool		nulls[4] = {false};

	values[0] = entity;
	values[1] = CStringGetTextDatum(problem);
	values[2] = JsonbPGetDatum(expected);
	nulls[2] = (expected == NULL);
	values[3] = JsonbPGetDatum(actual);
	nulls[3] = (actual == NULL);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * OnlineVerifyGroup is what verify_online() and the monitor's skew checks
 * run: it compares Redis with the point-in-time rule at now() for up to
 * sample entities drawn from the history table (or source) and up to sample
 * drawn from Redis's keys, calls fn for each difference (the entity as a
 * text[] of its key values, the problem, both values as jsonb: NULL when
 * there is none) and returns how many entities it compared.  An offline
 * group is an error whose hint ends with hint_tail; the privilege rules are
 * verify_online's, for the current user.  A Redis failure is an error with
 * SQLSTATE 08006.
 */
int64
OnlineVerifyGroup(const char *name, int32 sample, const char *hint_tail,
				  OnlineDifferenceFn fn, void *arg)
{
	VerifyState st;
	List	   *redis_entities;
	SPITupleTable *expected;
	int			level;

	memset(&st, 0, sizeof(st));
	st.sample = sample;
	st.report = fn;
	st.report_arg = arg;
	OnlineRequireServedDatabase();
	st.group = OnlineLoadServedGroup(name, hint_tail);
	OnlineCheckGroupReadable(st.group, "read");
	st.masked = PiiMaskedFeatures(st.group->name);
	if (OnlineIsSourceGroup(st.group))
	{
		VerifySourceGroup(&st);
		return st.compared;
	}
	VerifyRefuseRowSecurity(st.group);

	/* encode the expected values as the worker does, whatever this session's style */
	level = OnlineBeginCanonicalText();
	st.conn = VerifyConnect();
	redis_entities = SampleRedisEntities(&st);
	st.now = GetCurrentTimestamp();
	expected = ReadExpected(&st, redis_entities);
	st.compared = (int64) expected->numvals;
	CompareWithRedis(&st, expected);
	SPI_finish();
	OnlineEndCanonicalText(level);
	return st.compared;
}

/*
 * VerifyRefuseRowSecurity refuses a group whose table row-level security
 * applies to the caller.  Redis holds each entity's winner among all rows.
 * Compared with only the rows the caller can see, it would differ, and each
 * difference would show a hidden row's values.
 */
static void
VerifyRefuseRowSecurity(const OnlineGroup *group)
{
	if (check_enable_rls(group->relid, InvalidOid, true) != RLS_ENABLED)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("verify_online cannot compare feature group \"%s\": row-level security on its table %s applies to role \"%s\"",
					group->name, group->qualified_table,
					GetUserNameFromId(GetUserId(), false)),
			 errdetail("Redis holds the winner among all rows; a comparison with the visible rows would show values of hidden ones."),
			 errhint("Run it as a role that row-level security does not apply to: the table's owner (without FORCE ROW LEVEL SECURITY) or a role with BYPASSRLS.")));
}

/*
 * VerifyConnect returns this backend's Redis connection, tested first: one
 * cached from an earlier call may be stale, and BackendRun replaces it then.
 * The SCAN and GET calls that follow are not retried.
 */
static RedisConn *
VerifyConnect(void)
{
	RedisCommand ping;
	RedisResult pres;

	RedisCommandSet(&ping, 1, "PING", (size_t) 4);
	BackendRun(1, &ping, &pres);
	return backend_conn;
}

/*
 * SampleRedisEntities returns the key values (char ** each) of entities that
 * have a key in Redis, up to the sample size.  Keys that match the pattern
 * but that featstore cannot have written are skipped and counted.  The walk
 * is bounded: a server whose cursor never returns to 0 is an error, not an
 * endless loop.
 */
static List *
SampleRedisEntities(VerifyState *st)
{
	KeySample	ks = {0};
	StringInfoData pattern;
	int64		dbsize;
	int64		max_calls;
	char	   *err = NULL;

	ks.group = st->group;
	ks.limit = st->sample;
	max_calls = ScanCallLimit(st->conn, &dbsize);
	initStringInfo(&pattern);
	OnlineKeyPattern(&pattern, NULL, st->group->name);
	switch (OnlineForEachKey(st->conn, pattern.data, max_calls, SampleKeysPage, &ks, &err))
	{
		case ONLINE_KEYS_DONE:
			break;
		case ONLINE_KEYS_TOO_MANY_CALLS:
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("Redis SCAN for the keys of feature group \"%s\" did not finish after " INT64_FORMAT " calls",
							st->group->name, max_calls),
					 errdetail("DBSIZE reports " INT64_FORMAT " keys, which a whole SCAN walks in far fewer calls.",
							   dbsize),
					 errhint("Check that featstore.redis_host and featstore.redis_port point at a Redis server.")));
			break;
		case ONLINE_KEYS_REDIS_FAILED:
			BackendRedisFailed(err);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("%s", err)));
	}
	if (ks.nforeign > 0)
		ereport(NOTICE,
				(errmsg_plural("verify_online skipped %lld Redis key that matches feature group \"%s\" but is not a key of it",
							   "verify_online skipped %lld Redis keys that match feature group \"%s\" but are not keys of it",
							   (unsigned long) ks.nforeign, (long long) ks.nforeign, st->group->name),
				 errdetail("The first is \"%s\". featstore never reads, writes or removes such keys.",
						   ks.first_foreign),
				 errhint("Keep featstore.redis_key_prefix (\"%s\") for featstore alone.",
						 online_key_prefix)));
	return ks.entities;
}

/*
 * SampleKeysPage is SampleRedisEntities's OnlineForEachKey callback: it
 * keeps the entities of one page of keys until the sample is full.
 */
static OnlineKeysStep
SampleKeysPage(void *arg, const RedisResult *keys, int nkeys, char **err)
{
	KeySample  *ks = (KeySample *) arg;

	for (int i = 0; i < nkeys && list_length(ks->entities) < ks->limit; i++)
	{
		const RedisResult *k = &keys[i];
		char	  **kv = palloc(sizeof(char *) * ks->group->nkeys);

		if (k->type == REDIS_REPLY_STRING &&
			OnlineParseKey(ks->group, k->str, k->len, kv))
			ks->entities = lappend(ks->entities, kv);
		else
		{
			if (ks->first_foreign == NULL)
				ks->first_foreign = k->type == REDIS_REPLY_STRING ?
					DisplayBytes(k->str, k->len) : "(not a string)";
			ks->nforeign++;
			pfree(kv);
		}
	}
	return list_length(ks->entities) < ks->limit ? ONLINE_KEYS_NEXT : ONLINE_KEYS_STOP;
}

/* EntityArray makes the text[][] [entity][k1..kn] of a list of key values */
static Datum
EntityArray(const OnlineGroup *group, List *entities)
{
	Datum	   *flat;
	int			nflat = 0;
	int			dims[2];
	int			lbs[2] = {1, 1};
	ListCell   *lc;

	if (entities == NIL)
		return PointerGetDatum(construct_empty_array(TEXTOID));
	flat = palloc(sizeof(Datum) * list_length(entities) * group->nkeys);
	foreach(lc, entities)
	{
		char	  **kv = lfirst(lc);

		for (int k = 0; k < group->nkeys; k++)
			flat[nflat++] = CStringGetTextDatum(kv[k]);
	}
	dims[0] = list_length(entities);
	dims[1] = group->nkeys;
	return PointerGetDatum(construct_md_array(flat, NULL, 2, dims, lbs, TEXTOID,
											  -1, false, TYPALIGN_INT));
}

/*
 * VerifyEntitiesSql returns the entities verify_online compares, for
 * OnlineWinnerQuery: a random sample of the table's entities ($3 of them)
 * and those of the text[][] $4 (the ones sampled from Redis's keys).
 */
static char *
VerifyEntitiesSql(const OnlineGroup *group)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "u.k%d, ", k + 1);
	appendStringInfoString(&sql, "false AS force, false AS future FROM ((SELECT ");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "%sd.k%d", k > 0 ? ", " : "", k + 1);
	appendStringInfoString(&sql, " FROM (SELECT DISTINCT ");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "%st.%s::pg_catalog.text AS k%d", k > 0 ? ", " : "",
						 quote_identifier(group->key_names[k]), k + 1);
	appendStringInfo(&sql, " FROM %s t) d ORDER BY pg_catalog.random() LIMIT $3) UNION (",
					 group->qualified_table);
	OnlineAppendEntityListSql(&sql, group->nkeys, 4, false);
	appendStringInfoString(&sql, ")) u(");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "%sk%d", k > 0 ? ", " : "", k + 1);
	appendStringInfoChar(&sql, ')');
	return sql.data;
}

/*
 * ReadExpected computes the winners at st->now of the sampled entities (see
 * VerifyEntitiesSql) from the history table, read as the table's owner once
 * its shape is checked.  It leaves SPI connected: the rows live there.
 */
static SPITupleTable *
ReadExpected(VerifyState *st, List *redis_entities)
{
	const OnlineGroup *group = st->group;
	Oid			types[4] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, TEXTARRAYOID};
	Datum		args[4];
	char	   *sql;
	int			ret;
	Oid			save_userid;
	int			save_sec_context;

	args[0] = TimestampTzGetDatum(st->now);
	args[1] = TimestampTzGetDatum(PitTtlBoundUsecs(st->now, group->ttl_usecs));
	args[2] = Int32GetDatum(st->sample);
	args[3] = EntityArray(group, redis_entities);
	sql = OnlineWinnerQuery(group, VerifyEntitiesSql(group));

	RegistryCheckGroupTable(group->registry);
	SPI_connect();
	FeatstoreBeginAsTableOwner(group->relid, &save_userid, &save_sec_context);
	ret = SPI_execute_with_args(sql, 4, types, args, NULL, true, 0);
	FeatstoreEndAsTableOwner(save_userid, save_sec_context);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not compute the winners of feature group \"%s\": SPI error %d",
			 group->name, ret);
	return SPI_tuptable;
}

/*
 * CompareWithRedis reads the Redis value of every expected row, READ_CHUNK
 * GETs per round trip, and reports each difference.
 */
static void
CompareWithRedis(VerifyState *st, SPITupleTable *expected)
{
	uint64		nrows = expected->numvals;
	RedisCommand *cmds = palloc(sizeof(RedisCommand) * READ_CHUNK);
	RedisResult *res = palloc(sizeof(RedisResult) * READ_CHUNK);
	int			nk = st->group->nkeys;
	char	  **kv = palloc(sizeof(char *) * nk);
	char	   *err = NULL;

	for (uint64 start = 0; start < nrows; start += READ_CHUNK)
	{
		int			n = (int) Min((uint64) READ_CHUNK, nrows - start);

		for (int i = 0; i < n; i++)
		{
			StringInfoData key;

			for (int k = 0; k < nk; k++)
				kv[k] = SPI_getvalue(expected->vals[start + i], expected->tupdesc, k + 1);
			initStringInfo(&key);
			OnlineAppendKey(&key, st->group, kv);
			RedisCommandSet(&cmds[i], 2, "GET", (size_t) 3, key.data, (size_t) key.len);
		}
		if (!RedisRun(st->conn, n, cmds, res, online_redis_timeout_ms, &err))
			BackendRedisFailed(err);
		for (int i = 0; i < n; i++)
			CompareRow(st, expected->vals[start + i], expected->tupdesc, &res[i]);
	}
}

/*
 * CompareRow compares one expected row (a winner, or none: event_timestamp
 * is null) with the Redis reply to the GET of its key, and reports what
 * differs, with both values as jsonb.
 */
static void
CompareRow(VerifyState *st, HeapTuple tup, TupleDesc desc, const RedisResult *reply)
{
	int			nk = st->group->nkeys;
	bool		isnull;
	Datum		ets;
	Jsonb	   *expected = NULL;
	Jsonb	   *actual = NULL;
	const char *problem = NULL;

	ets = SPI_getbinval(tup, desc, nk + 2, &isnull);
	if (!isnull)
	{
		StringInfoData enc;

		initStringInfo(&enc);
		ExpectedValue(st, tup, desc, DatumGetTimestampTz(ets), &enc);
		expected = ValueJsonb(enc.data, enc.len);
		if (reply->type != REDIS_REPLY_STRING)
			problem = "missing in Redis";
		else
		{
			actual = ValueJsonb(reply->str, reply->len);
			problem = ValueDifference(enc.data, enc.len, reply->str, reply->len);
		}
	}
	else if (reply->type == REDIS_REPLY_STRING)
	{
		problem = "stale key in Redis";
		actual = ValueJsonb(reply->str, reply->len);
	}
	if (problem)
		ReportDifference(st, tup, desc, problem, expected, actual);
}

/*
 * ExpectedValue encodes an expected row into enc as the worker would write
 * it at st->now.  Columns: k1..kn, force, event_timestamp, created_at, the
 * features (OnlineWinnerQuery's).
 */
static void
ExpectedValue(VerifyState *st, HeapTuple tup, TupleDesc desc, TimestampTz ets,
			  StringInfo enc)
{
	const OnlineGroup *group = st->group;
	int			nk = group->nkeys;
	bool		isnull;
	TimestampTz cat;
	Datum	   *fv = palloc(sizeof(Datum) * Max(group->nfeatures, 1));
	bool	   *fn = palloc(sizeof(bool) * Max(group->nfeatures, 1));

	cat = DatumGetTimestampTz(SPI_getbinval(tup, desc, nk + 3, &isnull));
	for (int f = 0; f < group->nfeatures; f++)
		fv[f] = SPI_getbinval(tup, desc, nk + 4 + f, &fn[f]);
	OnlineEncodeValue(enc, group, ets, cat, st->now, fv, fn);
}

/*
 * ValueDifference says how the value in Redis (actual) differs from the
 * expected encoding, or returns NULL if it does not: the features are
 * compared byte for byte as re-packed msgpack.
 */
static const char *
ValueDifference(const char *expected, size_t elen, const char *actual, size_t alen)
{
	TimestampTz ee,
				ec,
				em,
				ex;
	TimestampTz ae,
				ac,
				am,
				ax;
	StringInfoData exp_raw;
	StringInfoData act_raw;

	initStringInfo(&exp_raw);
	initStringInfo(&act_raw);
	(void) OnlineDecodeValue(expected, elen, &ee, &ec, &em, &ex, &exp_raw, NULL);
	if (!OnlineDecodeValue(actual, alen, &ae, &ac, &am, &ax, &act_raw, NULL))
		return "not a featstore value";
	if (ae != ee || ac != ec)
		return "different winner";
	if (act_raw.len != exp_raw.len ||
		memcmp(act_raw.data, exp_raw.data, exp_raw.len) != 0)
		return "different feature values";
	if (ax != ex)
		return "different expiry";
	return NULL;
}

/* ReportDifference hands one difference to the caller's callback: keys, problem, values */
static void
ReportDifference(VerifyState *st, HeapTuple tup, TupleDesc desc,
				 const char *problem, Jsonb *expected, Jsonb *actual)
{
	int			nk = st->group->nkeys;
	Datum	   *kd = palloc(sizeof(Datum) * nk);

	for (int k = 0; k < nk; k++)
		kd[k] = CStringGetTextDatum(SPI_getvalue(tup, desc, k + 1));
	/* PII stays hidden from a non-member on both sides; the problem still shows */
	expected = PiiMaskJsonb(st->group->name, expected, st->masked);
	actual = PiiMaskJsonb(st->group->name, actual, st->masked);
	st->report(st->report_arg,
			   PointerGetDatum(construct_array(kd, nk, TEXTOID, -1, false, TYPALIGN_INT)),
			   problem, expected, actual);
}

/*
 * VerifySourceGroup is verify_online for a group defined FROM a source: the
 * values at one instant are computed by the window engine, as the worker
 * computes them, for a sample of the source's entities and those sampled
 * from Redis's keys, and compared with Redis.  The source is read as the
 * caller, as the point-in-time join reads it, so privileges apply; a
 * source whose row-level security applies to the caller is refused, since
 * Redis holds values over all of its rows.
 */
static void
VerifySourceGroup(VerifyState *st)
{
	const FsSource *src = st->group->registry->source;
	List	   *redis_entities;
	ExpectedList expected = {st, NIL, NULL, 0};
	Datum		entities;
	int			level;

	RegistryCheckGroupTable(st->group->registry);
	if (check_enable_rls(src->relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("verify_online cannot compare feature group \"%s\": row-level security on its source %s applies to role \"%s\"",
						st->group->name,
						quote_qualified_identifier(src->schema_name, src->relation_name),
						GetUserNameFromId(GetUserId(), false)),
				 errdetail("Redis holds values over all of the source's rows; a comparison with the visible rows would show values of hidden ones."),
				 errhint("Run it as a role that row-level security does not apply to: the source's owner (without FORCE ROW LEVEL SECURITY) or a role with BYPASSRLS.")));

	level = OnlineBeginCanonicalText();
	st->conn = VerifyConnect();
	redis_entities = SampleRedisEntities(st);
	st->now = GetCurrentTimestamp();
	SPI_connect();
	entities = SourceSample(st, redis_entities);

	/*
	 * Values change with time alone: Redis is compared with the values at
	 * the instant before its GETs and at the one after them, and differs
	 * only if it holds neither.
	 */
	expected.at = st->now;
	OnlineWindowWinners(st->group, entities, false, st->now, CollectExpected, &expected);
	ReadSourceRedis(st, expected.entities);
	expected.at = GetCurrentTimestamp();
	expected.next = list_head(expected.entities);
	OnlineWindowWinners(st->group, entities, false, expected.at, CollectExpected, &expected);
	st->compared = list_length(expected.entities);
	CompareSourceWithRedis(st, expected.entities);
	SPI_finish();
	OnlineEndCanonicalText(level);
}

/*
 * SourceSample returns the entities verify_online compares for a source
 * group, as a text[][]: a random sample of the source's entities and those
 * sampled from Redis, without repeats.  Read as the caller, search_path
 * pinned.
 */
static Datum
SourceSample(VerifyState *st, List *redis_entities)
{
	const OnlineGroup *group = st->group;
	const FsSource *src = group->registry->source;
	StringInfoData sql;
	StringInfoData cols;
	Oid			types[2] = {INT4OID, TEXTARRAYOID};
	Datum		args[2];
	bool		isnull;
	Datum		result;
	int			level;
	int			ret;

	initStringInfo(&cols);
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&cols, "%s%s::pg_catalog.text AS k%d", k > 0 ? ", " : "",
						 quote_identifier(group->key_names[k]), k + 1);
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT pg_catalog.array_agg(ARRAY[");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "%su.k%d", k > 0 ? ", " : "", k + 1);
	appendStringInfo(&sql, "]) FROM ((SELECT d.* FROM (SELECT DISTINCT %s FROM %s) d"
					 " ORDER BY pg_catalog.random() LIMIT $1) UNION (",
					 cols.data, quote_qualified_identifier(src->schema_name, src->relation_name));
	OnlineAppendEntityListSql(&sql, group->nkeys, 2, false);
	appendStringInfoString(&sql, ")) u WHERE ");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "%su.k%d IS NOT NULL", k > 0 ? " AND " : "", k + 1);
	args[0] = Int32GetDatum(st->sample);
	args[1] = EntityArray(group, redis_entities);
	level = FeatstorePinSearchPath();
	ret = SPI_execute_with_args(sql.data, 2, types, args, NULL, true, 1);
	AtEOXact_GUC(true, level);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not sample the entities of feature group \"%s\": SPI error %d",
			 group->name, ret);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? PointerGetDatum(construct_empty_array(TEXTOID)) : result;
}

/* CollectExpected is VerifySourceGroup's emit callback: it encodes a value */
static void
CollectExpected(void *arg, const OnlineWinner *w)
{
	ExpectedList *expected = (ExpectedList *) arg;
	ExpectedEntity *e;
	char	   *value = NULL;
	int			len = 0;

	if (w->found)
	{
		StringInfoData enc;

		initStringInfo(&enc);
		OnlineEncodeValueExpiring(&enc, expected->st->group, w->event_ts, w->created_at,
								  expected->at, w->expires_at, w->values, w->nulls);
		value = enc.data;
		len = enc.len;
	}
	if (expected->next == NULL)
	{
		/* the first pass */
		e = palloc0(sizeof(ExpectedEntity));
		e->keys = w->key_values;
		e->value = value;
		e->len = len;
		expected->entities = lappend(expected->entities, e);
		return;
	}
	/* the second pass, over the same entities in the same order */
	e = lfirst(expected->next);
	e->later = value;
	e->later_len = len;
	expected->next = lnext(expected->entities, expected->next);
}

/*
 * ReadSourceRedis reads the Redis value of every expected entity,
 * READ_CHUNK GETs per round trip, into the entity
 */
static void
ReadSourceRedis(VerifyState *st, List *expected)
{
	int			n = list_length(expected);
	RedisCommand *cmds = palloc(sizeof(RedisCommand) * READ_CHUNK);
	RedisResult *res = palloc(sizeof(RedisResult) * READ_CHUNK);
	char	   *err = NULL;

	for (int start = 0; start < n; start += READ_CHUNK)
	{
		int			m = Min(READ_CHUNK, n - start);

		for (int i = 0; i < m; i++)
		{
			ExpectedEntity *e = list_nth(expected, start + i);
			StringInfoData key;

			initStringInfo(&key);
			OnlineAppendKey(&key, st->group, e->keys);
			RedisCommandSet(&cmds[i], 2, "GET", (size_t) 3, key.data, (size_t) key.len);
		}
		if (!RedisRun(st->conn, m, cmds, res, online_redis_timeout_ms, &err))
			BackendRedisFailed(err);
		for (int i = 0; i < m; i++)
		{
			ExpectedEntity *e = list_nth(expected, start + i);

			if (res[i].type != REDIS_REPLY_STRING)
				continue;
			/* the reply's memory is the next round trip's */
			e->redis = palloc(res[i].len + 1);
			memcpy(e->redis, res[i].str, res[i].len);
			e->redis[res[i].len] = '\0';
			e->redis_len = res[i].len;
		}
	}
}

/*
 * CompareSourceWithRedis reports each entity whose Redis value is neither
 * its value before the GETs nor the one after them
 */
static void
CompareSourceWithRedis(VerifyState *st, List *expected)
{
	ListCell   *lc;

	foreach(lc, expected)
	{
		ExpectedEntity *e = lfirst(lc);
		const char *problem = SourceProblem(e->value, e->len, e->redis, e->redis_len);

		if (problem != NULL &&
			SourceProblem(e->later, e->later_len, e->redis, e->redis_len) == NULL)
			continue;
		if (problem)
			ReportKeysDifference(st, e->keys, problem,
								 e->value ? ValueJsonb(e->value, e->len) : NULL,
								 e->redis ? ValueJsonb(e->redis, e->redis_len) : NULL);
	}
}

/* SourceProblem says how Redis's value differs from an expected one, or NULL */
static const char *
SourceProblem(const char *value, int len, const char *redis, size_t redis_len)
{
	if (value != NULL && redis == NULL)
		return "missing in Redis";
	if (value != NULL)
		return ValueDifference(value, len, redis, redis_len);
	if (redis != NULL)
		return "stale key in Redis";
	return NULL;
}

/* ReportKeysDifference is ReportDifference for an entity given by its keys */
static void
ReportKeysDifference(VerifyState *st, char **keys, const char *problem,
					 Jsonb *expected, Jsonb *actual)
{
	int			nk = st->group->nkeys;
	Datum	   *kd = palloc(sizeof(Datum) * nk);

	for (int k = 0; k < nk; k++)
		kd[k] = CStringGetTextDatum(keys[k]);
	/* PII stays hidden from a non-member on both sides; the problem still shows */
	expected = PiiMaskJsonb(st->group->name, expected, st->masked);
	actual = PiiMaskJsonb(st->group->name, actual, st->masked);
	st->report(st->report_arg,
			   PointerGetDatum(construct_array(kd, nk, TEXTOID, -1, false, TYPALIGN_INT)),
			   problem, expected, actual);
}

/* online_worker_status returns the worker's state as one row */
Datum
online_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[7];
	bool		nulls[7] = {false};
	OnlineShared snap;

	InitMaterializedSRF(fcinfo, 0);
	if (online_shared == NULL)
	{
		values[0] = CStringGetTextDatum("not loaded: add featstore to shared_preload_libraries");
		for (int i = 1; i < 7; i++)
			nulls[i] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		return (Datum) 0;
	}
	OnlineRequireServedDatabase();
	OnlineCopyWorkerStatus(&snap);

	values[0] = CStringGetTextDatum(OnlineStateName(snap.state));
	values[1] = Int32GetDatum(snap.worker_pid);
	nulls[1] = (snap.worker_pid == 0);
	values[2] = TimestampTzGetDatum(snap.state_since);
	nulls[2] = (snap.state_since == 0);
	values[3] = TimestampTzGetDatum(snap.last_success);
	nulls[3] = (snap.last_success == 0);
	values[4] = Int64GetDatum(snap.batches);
	/* the worker's error may come from any group, and quote its key values */
	nulls[5] = (snap.last_error[0] == '\0');
	if (!nulls[5])
		values[5] = CStringGetTextDatum(WorkerErrorVisible() ? snap.last_error : HIDDEN_ERROR);
	values[6] = TimestampTzGetDatum(snap.last_error_at);
	nulls[6] = (snap.last_error_at == 0);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/* online_group_status returns the worker's counters, one row per group */
Datum
online_group_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OnlineGroupStatus *statuses;
	int			nstatuses;

	InitMaterializedSRF(fcinfo, 0);
	if (online_shared == NULL)
		return (Datum) 0;
	OnlineRequireServedDatabase();
	statuses = OnlineCopyGroupStatuses(&nstatuses);
	for (int i = 0; i < nstatuses; i++)
	{
		OnlineGroupStatus s = statuses[i];
		Datum		values[8];
		bool		nulls[8] = {false};

		values[0] = CStringGetTextDatum(s.name);
		values[1] = TimestampTzGetDatum(s.last_success);
		nulls[1] = (s.last_success == 0);
		{
			Interval   *lag = palloc0(sizeof(Interval));

			lag->time = s.lag_usecs;
			values[2] = IntervalPGetDatum(lag);
		}
		nulls[2] = (s.last_success == 0);
		values[3] = Int64GetDatum(s.entities_written);
		values[4] = Int64GetDatum(s.keys_removed);
		values[5] = Int64GetDatum(s.rows_skipped);
		nulls[6] = (s.last_error[0] == '\0');
		if (!nulls[6])
			values[6] = CStringGetTextDatum(GroupErrorVisible(s.name) ? s.last_error : HIDDEN_ERROR);
		values[7] = TimestampTzGetDatum(s.last_error_at);
		nulls[7] = (s.last_error_at == 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * online_walk_progress returns the whole-group walk the worker is on, from
 * shared memory: no row when there is none
 */
Datum
online_walk_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OnlineWalkProgress walk;
	Datum		values[7];
	bool		nulls[7] = {false};

	InitMaterializedSRF(fcinfo, 0);
	if (online_shared == NULL)
		return (Datum) 0;
	OnlineRequireServedDatabase();
	OnlineCopyWalkProgress(&walk);
	if (walk.queue_id == 0)
		return (Datum) 0;
	values[0] = Int64GetDatum(walk.queue_id);
	values[1] = CStringGetTextDatum(walk.group);
	values[2] = CStringGetTextDatum(OnlineWalkPhaseName(walk.phase));
	values[3] = Int64GetDatum(walk.done);
	values[4] = Int64GetDatum(walk.total);
	values[5] = TimestampTzGetDatum(walk.started);
	values[6] = TimestampTzGetDatum(walk.updated);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * OnlineServesDatabase says whether the filter featstore.database admits
 * this database: empty (every database) or its name
 */
bool
OnlineServesDatabase(void)
{
	char	   *dbname;

	if (online_database == NULL || online_database[0] == '\0')
		return true;
	dbname = get_database_name(MyDatabaseId);
	return dbname != NULL && strcmp(dbname, online_database) == 0;
}

/*
 * OnlineRequireServedDatabase refuses to go on in a database the filter
 * featstore.database leaves out: no worker serves it, so a queued walk
 * would wait for nothing, and its status would be no worker's.
 */
void
OnlineRequireServedDatabase(void)
{
	char	   *dbname;

	if (OnlineServesDatabase())
		return;
	dbname = get_database_name(MyDatabaseId);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the featstore online store does not serve database \"%s\"",
					dbname ? dbname : "?"),
			 errdetail("featstore.database is \"%s\": the online workers serve that database only (empty: every database).",
					   online_database ? online_database : ""),
			 errhint("Connect to database \"%s\", or set featstore.database to \"%s\" and restart the server.",
					 online_database ? online_database : "", dbname ? dbname : "?")));
}

/* BackendRedis returns this backend's Redis connection, opening it if needed */
static RedisConn *
BackendRedis(void)
{
	char	   *settings;
	char	   *err = NULL;
	RedisOptions opts;

	settings = psprintf("%s|%d|%s|%d|%s|%d|%s", online_redis_host, online_redis_port,
						online_redis_unix_socket, online_redis_db, online_redis_user,
						online_redis_cluster, online_redis_cluster_nodes);
	if (backend_conn != NULL && backend_conn_settings != NULL &&
		strcmp(settings, backend_conn_settings) == 0)
		return backend_conn;

	RedisClose(backend_conn);
	backend_conn = NULL;
	if (!OnlineRedisOptions(&opts, &err))
		BackendRedisFailed(err);
	backend_conn = RedisOpen(&opts, &err);
	if (backend_conn == NULL)
		BackendRedisFailed(err);
	if (backend_conn_settings)
		pfree(backend_conn_settings);
	backend_conn_settings = MemoryContextStrdup(TopMemoryContext, settings);
	return backend_conn;
}

/*
 * BackendRun runs commands on this backend's connection.  A connection kept
 * from an earlier call may have died with a Redis restart, so a failure on
 * it is retried once on a fresh connection before it becomes an error.
 */
static void
BackendRun(int ncmds, RedisCommand *cmds, RedisResult *results)
{
	bool		cached = (backend_conn != NULL);
	char	   *err = NULL;

	if (RedisRun(BackendRedis(), ncmds, cmds, results, online_redis_timeout_ms, &err))
		return;
	RedisClose(backend_conn);
	backend_conn = NULL;
	if (cached &&
		RedisRun(BackendRedis(), ncmds, cmds, results, online_redis_timeout_ms, &err))
		return;
	BackendRedisFailed(err);
}

/* BackendRedisFailed drops the connection and raises the error */
static void
BackendRedisFailed(const char *err)
{
	RedisClose(backend_conn);
	backend_conn = NULL;
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("could not use the Redis online store: %s", err),
			 errhint("Check that Redis is running and the featstore.redis_* settings point at it.")));
}

/*
 * CanonicalKeys checks the key values against the entity's key columns and
 * returns them in their canonical text form (as the capture trigger wrote
 * them), so '007' finds the entity 7.
 */
static char **
CanonicalKeys(const OnlineGroup *group, ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **out;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n != group->nkeys)
	{
		StringInfoData cols;

		initStringInfo(&cols);
		for (int k = 0; k < group->nkeys; k++)
			appendStringInfo(&cols, "%s%s", k > 0 ? ", " : "", group->key_names[k]);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature group \"%s\" needs %d key value%s (%s), not %d",
						group->name, group->nkeys, group->nkeys == 1 ? "" : "s", cols.data, n),
				 errhint("Pass one value per key column of entity \"%s\", in order.",
						 group->entity_name)));
	}
	out = palloc(sizeof(char *) * n);
	for (int k = 0; k < n; k++)
	{
		char	   *str;
		Oid			infunc,
					ioparam,
					outfunc;
		bool		varlena;

		if (nulls[k])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("key column \"%s\" of feature group \"%s\" must not be null",
							group->key_names[k], group->name)));

		str = TextDatumGetCString(elems[k]);
		getTypeInputInfo(group->key_types[k], &infunc, &ioparam);
		getTypeOutputInfo(group->key_types[k], &outfunc, &varlena);
		out[k] = OidOutputFunctionCall(outfunc,
									   OidInputFunctionCall(infunc, str, ioparam, -1));
	}
	return out;
}

/*
 * CheckRowVisible makes online_features return a value only if the caller
 * could SELECT the row it comes from.  Where row-level security applies to
 * the caller, the winning row recorded in the value (its keys,
 * event_timestamp and created_at) is looked up as the caller, under the
 * table's policies; if none is visible, the value is refused with 42501.
 * The query runs as a security-restricted operation, since it runs the
 * policies the table's owner wrote.
 */
static void
CheckRowVisible(const OnlineGroup *group, char **keyvals, TimestampTz event_ts,
				TimestampTz created_at)
{
	int			nargs = group->nkeys + 2;
	Oid		   *types = palloc(sizeof(Oid) * nargs);
	Datum	   *args = palloc(sizeof(Datum) * nargs);
	StringInfoData sql;
	Oid			save_userid;
	int			save_sec;
	int			ret;
	bool		visible;

	if (check_enable_rls(group->relid, InvalidOid, true) != RLS_ENABLED)
		return;

	/*
	 * The probe compares the key and timestamp columns as the caller: a
	 * column of another type could run its owner's casts or operators.
	 */
	RegistryCheckGroupTable(group->registry);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT FROM %s r WHERE", group->qualified_table);
	for (int k = 0; k < group->nkeys; k++)
	{
		Oid			infunc,
					ioparam;

		getTypeInputInfo(group->key_types[k], &infunc, &ioparam);
		types[k] = group->key_types[k];
		args[k] = OidInputFunctionCall(infunc, keyvals[k], ioparam, -1);
		appendStringInfo(&sql, " r.%s OPERATOR(pg_catalog.=) $%d AND",
						 quote_identifier(group->key_names[k]), k + 1);
	}
	types[nargs - 2] = TIMESTAMPTZOID;
	args[nargs - 2] = TimestampTzGetDatum(event_ts);
	types[nargs - 1] = TIMESTAMPTZOID;
	args[nargs - 1] = TimestampTzGetDatum(created_at);
	appendStringInfo(&sql, " r.%s OPERATOR(pg_catalog.=) $%d AND r.%s OPERATOR(pg_catalog.=) $%d",
					 FS_EVENT_TS_COLUMN, nargs - 1, FS_CREATED_AT_COLUMN, nargs);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(save_userid, save_sec | SECURITY_RESTRICTED_OPERATION);
	SPI_connect();
	ret = SPI_execute_with_args(sql.data, nargs, types, args, NULL, true, 1);
	visible = (ret == SPI_OK_SELECT && SPI_processed > 0);
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not look up the winning row of feature group \"%s\": SPI error %d",
			 group->name, ret);
	if (!visible)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the value Redis holds for this entity of feature group \"%s\" comes from a row of %s that role \"%s\" cannot see",
						group->name, group->qualified_table,
						GetUserNameFromId(save_userid, false)),
				 errdetail("Row-level security on the table applies to the role, and no row it can see has the key, event_timestamp and created_at of the value in Redis."),
				 errhint("The table's owner or a role with BYPASSRLS can read it.")));
}

/*
 * ScanCallLimit returns how many SCAN calls verify_online allows, from the
 * number of keys DBSIZE reports (also returned in *dbsize).
 */
static int64
ScanCallLimit(RedisConn *conn, int64 *dbsize)
{
	RedisCommand cmd;
	RedisResult res;
	char	   *err = NULL;

	RedisCommandSet(&cmd, 1, "DBSIZE", (size_t) 6);
	if (!RedisRun(conn, 1, &cmd, &res, online_redis_timeout_ms, &err))
		BackendRedisFailed(err);
	if (res.type != REDIS_REPLY_INTEGER || res.integer < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("unexpected Redis reply to DBSIZE: %s", res.str ? res.str : "not an integer")));
	/* Redis holds at most 2^32 keys per database */
	*dbsize = Min(res.integer, (long long) 1 << 32);
	return SCAN_SLACK_CALLS + 10 * (*dbsize / ONLINE_SCAN_COUNT + 1);
}

/*
 * DisplayBytes renders Redis bytes (a key) for a message: as they are when
 * they are valid text, with control characters and backslashes as \xNN,
 * and every byte above 0x7f too when they are not; at most 200 bytes.
 */
static char *
DisplayBytes(const char *data, size_t len)
{
	bool		valid = pg_verifymbstr(data, (int) Min(len, (size_t) PG_INT32_MAX), true);
	size_t		show = valid ? (size_t) pg_mbcliplen(data, (int) len, 200) : Min(len, (size_t) 200);
	StringInfoData out;

	initStringInfo(&out);
	for (size_t i = 0; i < show; i++)
	{
		unsigned char c = (unsigned char) data[i];

		if (c < 0x20 || c == 0x7f || c == '\\' || (c > 0x7f && !valid))
			appendStringInfo(&out, "\\x%02x", c);
		else
			appendStringInfoChar(&out, (char) c);
	}
	if (show < len)
		appendStringInfoString(&out, "...");
	return out.data;
}

/*
 * online_error_visible is featstore.online_error_visible(group):
 * the rule of GroupErrorVisible, for the status view's columns that the
 * worker fills in SQL (the errors of parked queue rows).
 */
Datum
online_error_visible(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(GroupErrorVisible(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

/*
 * GroupErrorVisible says whether the current user may read an error of the
 * named group, which may quote key values of its rows: it must be able to
 * read the group's table (OnlineGroupReadable) with no row-level security
 * hiding rows from it.
 */
static bool
GroupErrorVisible(const char *name)
{
	FsGroup    *fs;
	OnlineGroup *group;

	if (superuser())
		return true;
	fs = RegistryLookupGroup(name, true);
	if (fs == NULL || !OidIsValid(fs->relid))
		return false;
	group = OnlineGroupFromRegistry(fs);

	/* an error may quote a value of the failing row: PII for members only */
	return OnlineGroupReadable(group, GetUserId()) &&
		check_enable_rls(group->relid, InvalidOid, true) != RLS_ENABLED &&
		PiiMaskedFeatures(name) == NIL;
}

/*
 * WorkerErrorVisible says whether the current user may read the worker's own
 * error, which may come from any group: only if it may read every group's
 * (GroupErrorVisible).
 */
static bool
WorkerErrorVisible(void)
{
	ListCell   *lc;

	if (superuser())
		return true;
	foreach(lc, RegistryListGroupNames())
	{
		if (!GroupErrorVisible((const char *) lfirst(lc)))
			return false;
	}
	return true;
}

/*
 * ValueJsonb renders a stored value as jsonb, for verify_online: its
 * timestamps as ISO text, its expiry (null: none) and its features, or why
 * it is not a featstore value
 */
static Jsonb *
ValueJsonb(const char *data, size_t len)
{
	TimestampTz ets,
				cat,
				mat,
				exp;
	Jsonb	   *features;
	JsonbParseState *state = NULL;
	JsonbValue	v;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (!OnlineDecodeValue(data, len, &ets, &cat, &mat, &exp, NULL, &features))
	{
		v.type = jbvBool;
		v.val.boolean = true;
		PushStringPair(&state, "invalid", NULL);
		pushJsonbValue(&state, WJB_VALUE, &v);
		PushStringPair(&state, "reason", OnlineValueProblem(data, len));
		return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
	}
	/* timestamptz_to_str returns a static buffer: copy each */
	PushStringPair(&state, "event_timestamp", pstrdup(timestamptz_to_str(ets)));
	PushStringPair(&state, "created_at", pstrdup(timestamptz_to_str(cat)));
	if (exp == DT_NOBEGIN)
	{
		v.type = jbvNull;
		PushStringPair(&state, "expires_at", NULL);
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	else
		PushStringPair(&state, "expires_at", pstrdup(timestamptz_to_str(exp)));
	/* the features map, nested as it is */
	v.type = jbvBinary;
	v.val.binary.data = &features->root;
	v.val.binary.len = VARSIZE(features) - VARHDRSZ;
	PushStringPair(&state, "features", NULL);
	pushJsonbValue(&state, WJB_VALUE, &v);
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * PushStringPair pushes the key of an object member and, unless value is
 * NULL (the caller pushes a value of another type), its string value
 */
static void
PushStringPair(JsonbParseState **state, const char *key, const char *value)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &v);
	if (value == NULL)
		return;
	v.val.string.val = (char *) value;
	v.val.string.len = strlen(value);
	pushJsonbValue(state, WJB_VALUE, &v);
}
