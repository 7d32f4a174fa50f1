/*
 * monitor_skew.c
 *		Online/offline skew checks (issue 11): a sample of an online group's
 *		entities read from Redis and compared with the point-in-time join at
 *		now(), by the online store's own comparison (OnlineVerifyGroup, what
 *		verify_online() runs), recorded in featstore.skew_checks, with the
 *		group's skew alert opened on any difference and resolved by a clean
 *		check.  featstore.check_skew() runs one as the caller; the monitor
 *		worker runs every online group's on a schedule, as the group table's
 *		owner (MonitorRunDueSkewChecks, MonitorNextSkewDue).
 *
 * The details of a check and of its alert name entities and problems only:
 * never a feature value, since the alert's readers and NOTIFY's listeners
 * need not be able to read the group.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "monitor/monitor.h"
#include "online/online.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(check_skew);

/* Differences a check's details (and its alert's) list: entity and problem */
#define SKEW_DETAIL_LIMIT 10

/* How often the schedule is read at most, so new online groups are seen */
#define SKEW_POLL_MS 1000

/* Most checks one MonitorRunDueSkewChecks call runs: the loop has other work */
#define SKEW_MAX_CHECKS 4

/*
 * How long past its due time a scheduled check waits for its group's queued
 * changes to reach Redis, before it runs anyway (Redis then lags: skew)
 */
#define SKEW_QUEUE_WAIT_S 60

/* A scheduled check is cancelled after this long: it is bounded */
#define SKEW_TIMEOUT_MS 60000

/*
 * The online groups with, for each, when its scheduled check is due ($1:
 * now, $2: the interval) and whether its changes still wait in the queue
 */
static const char *const SkewDueSql =
"SELECT g.name, d.at <= $1 AS due, d.at,"
"       q.group_name IS NOT NULL"
"       AND d.at + pg_catalog.make_interval(secs => " CppAsString2(SKEW_QUEUE_WAIT_S) ") > $1 AS busy"
"  FROM featstore.feature_groups g"
"  LEFT JOIN LATERAL (SELECT pg_catalog.max(s.checked_at) AS last"
"    FROM featstore.skew_checks s"
"   WHERE s.group_name = g.name AND s.trigger = 'schedule') c ON true"
" CROSS JOIN LATERAL (SELECT coalesce(c.last + $2, g.updated_at) AS at) d"
"  LEFT JOIN featstore.online_queue_depth() q ON q.group_name = g.name"
" WHERE g.online"
" ORDER BY c.last NULLS FIRST, g.name";

/* featstore.skew_check_interval (seconds; 0: no scheduled checks) */
static int	skew_check_interval_s = 600;

/* featstore.skew_sample_size */
static int	skew_sample_size = 1000;

/* When to read the schedule next; 0: at once */
static TimestampTz next_check = 0;
static MemoryContext skew_cxt = NULL;

/* What one comparison found */
typedef struct SkewResult
{
	int64		compared;		/* entities compared */
	int64		differences;
	StringInfoData details;		/* JSON array of the first differences */
	MemoryContext cxt;			/* where details grows */
	double		duration_ms;
	char	   *error;			/* not done: why; NULL: done */
} SkewResult;

static void SkewDifference(void *arg, Datum entity, const char *problem,
						   Jsonb *expected, Jsonb *actual);
static void SkewCompare(const char *group_name, int32 sample, SkewResult *r);
static Datum SkewRecord(const char *group_name, const SkewResult *r,
						bool scheduled, TupleDesc tupdesc, int64 *check_id);
static void SkewAlert(const char *group_name, const SkewResult *r, int32 sample,
					  int64 check_id);
static List *SkewReadDue(TimestampTz now, TimestampTz *next_due);
static bool SkewInstalled(void);
static void SkewRunScheduled(const char *group_name);
static void SkewCompareAsOwner(const char *group_name, int32 sample, SkewResult *r);
static void SkewLogError(const char *group_name);

/*
 * MonitorSkewInit defines the skew checks' settings; _PG_init calls it.
 * Both are reloadable: the monitor worker reads them before each schedule
 * read.
 */
void
MonitorSkewInit(void)
{
	DefineCustomIntVariable("featstore.skew_check_interval",
							"How often the monitor compares each online group's Redis values with the point-in-time join at now().",
							"0 turns scheduled skew checks off; featstore.check_skew() still runs one.",
							&skew_check_interval_s, 600, 0, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.skew_sample_size",
							"Entities a scheduled skew check samples from the history table, and again from Redis's keys.",
							NULL, &skew_sample_size, 1000, 1, 10000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
}

/*
 * check_skew is featstore.check_skew(group, sample): one skew check as the
 * caller, with verify_online()'s privilege rules, recorded and returned as
 * its featstore.skew_checks row.  A failure (Redis unreachable, no
 * privilege, an offline group) is the caller's error, and nothing is
 * recorded.
 */
Datum
check_skew(PG_FUNCTION_ARGS)
{
	char	   *name;
	int32		sample;
	TupleDesc	tupdesc;
	SkewResult	r;
	Datum		row;
	int64		check_id;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature group name of check_skew must not be null"),
				 errhint("Pass the name of an online feature group.")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	sample = PG_ARGISNULL(1) ? skew_sample_size : PG_GETARG_INT32(1);
	if (sample < 1 || sample > 10000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("skew check sample must be between 1 and 10000000, not %d", sample),
				 errhint("The sample is the number of entities drawn from the history table, and again from Redis's keys.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "check_skew must return a composite type");
	SkewCompare(name, sample, &r);
	row = SkewRecord(name, &r, false, tupdesc, &check_id);
	SkewAlert(name, &r, sample, check_id);
	PG_RETURN_DATUM(row);
}

/*
 * SkewCompare runs the online store's comparison for the current user and
 * fills r: entities compared, differences and the first of them, duration.
 * Errors propagate.
 */
static void
SkewCompare(const char *group_name, int32 sample, SkewResult *r)
{
	instr_time	start;
	instr_time	elapsed;

	memset(r, 0, sizeof(*r));
	r->cxt = CurrentMemoryContext;
	initStringInfo(&r->details);
	appendStringInfoChar(&r->details, '[');
	INSTR_TIME_SET_CURRENT(start);
	r->compared = OnlineVerifyGroup(group_name, sample, ", then check its skew.",
									SkewDifference, r);
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	r->duration_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	appendStringInfoChar(&r->details, ']');
}

/*
 * SkewDifference is the comparison's callback: it counts a difference and
 * keeps the first SKEW_DETAIL_LIMIT as {"entity": [keys], "problem": ...},
 * in r->cxt (the comparison calls it inside SPI).  The values are dropped.
 */
static void
SkewDifference(void *arg, Datum entity, const char *problem, Jsonb *expected,
			   Jsonb *actual)
{
	SkewResult *r = (SkewResult *) arg;
	MemoryContext old;
	Datum	   *keys;
	bool	   *nulls;
	int			nkeys;

	r->differences++;
	if (r->differences > SKEW_DETAIL_LIMIT)
		return;
	old = MemoryContextSwitchTo(r->cxt);
	deconstruct_array(DatumGetArrayTypeP(entity), TEXTOID, -1, false, TYPALIGN_INT,
					  &keys, &nulls, &nkeys);
	appendStringInfoString(&r->details, r->differences > 1 ? ", {\"entity\": [" : "{\"entity\": [");
	for (int k = 0; k < nkeys; k++)
	{
		if (k > 0)
			appendStringInfoString(&r->details, ", ");
		if (nulls[k])
			appendStringInfoString(&r->details, "null");
		else
			escape_json(&r->details, TextDatumGetCString(keys[k]));
	}
	appendStringInfoString(&r->details, "], \"problem\": ");
	escape_json(&r->details, problem);
	appendStringInfoChar(&r->details, '}');
	MemoryContextSwitchTo(old);
}

/*
 * SkewRecord inserts the check into featstore.skew_checks as the extension
 * owner and returns the row (in the caller's memory context) as a Datum of
 * tupdesc, or (tupdesc NULL) nothing; *check_id is its id.
 */
static Datum
SkewRecord(const char *group_name, const SkewResult *r, bool scheduled,
		   TupleDesc tupdesc, int64 *check_id)
{
	Oid			types[8] = {TEXTOID, INT4OID, INT4OID, JSONBOID, FLOAT8OID, TEXTOID,
	BOOLOID, TEXTOID};
	Datum		args[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Oid			save_userid;
	int			save_sec;
	int			ret;
	bool		isnull;
	Datum		row = (Datum) 0;

	args[0] = CStringGetTextDatum(group_name);
	args[1] = Int32GetDatum((int32) Min(r->compared, (int64) PG_INT32_MAX));
	args[2] = Int32GetDatum((int32) Min(r->differences, (int64) PG_INT32_MAX));
	args[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r->error ? "[]" : r->details.data));
	args[4] = Float8GetDatum(r->duration_ms);
	args[5] = CStringGetTextDatum(scheduled ? "schedule" : "manual");
	args[6] = BoolGetDatum(r->error == NULL);
	args[7] = r->error ? CStringGetTextDatum(r->error) : (Datum) 0;
	nulls[7] = r->error ? ' ' : 'n';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
	ret = SPI_execute_with_args("INSERT INTO featstore.skew_checks (group_name, sample_size,"
								" differences, details, duration_ms, trigger, done, error)"
								" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
								8, types, args, nulls, false, 1);
	FeatstoreEndRegistryWrite(save_userid, save_sec);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not record the skew check of feature group \"%s\": %s",
			 group_name, SPI_result_code_string(ret));
	*check_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											1, &isnull));
	if (tupdesc != NULL)
		row = PointerGetDatum(SPI_returntuple(SPI_tuptable->vals[0], tupdesc));
	SPI_finish();
	return row;
}

/*
 * SkewAlert opens (or refreshes) the group's skew alert when the check found
 * differences, and resolves it after a clean check that sampled at least
 * featstore.skew_sample_size entities: a smaller sample may miss what the
 * alert is about, so it can open an alert but not close one.  A check not
 * done changes nothing.
 */
static void
SkewAlert(const char *group_name, const SkewResult *r, int32 sample, int64 check_id)
{
	StringInfoData d;

	if (r->error != NULL)
		return;
	if (r->differences == 0)
	{
		if (sample >= skew_sample_size)
			MonitorResolveAlert(MONITOR_ALERT_SKEW, group_name, NULL);
		return;
	}
	initStringInfo(&d);
	appendStringInfo(&d, "{\"check_id\": " INT64_FORMAT ", \"sample_size\": " INT64_FORMAT
					 ", \"differences\": " INT64_FORMAT ", \"first\": %s}",
					 check_id, r->compared, r->differences, r->details.data);
	MonitorRaiseAlert(MONITOR_ALERT_SKEW, group_name, NULL, d.data);
}

/*
 * MonitorRunDueSkewChecks runs the skew checks that are due, if the
 * schedule is due to be read: every online group, featstore.skew_check_interval
 * after its last scheduled check, each in its own transaction, at most
 * SKEW_MAX_CHECKS per call.  It never raises an error, and leaves the
 * caller in TopMemoryContext, outside any transaction.
 */
void
MonitorRunDueSkewChecks(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next_due = 0;
	List	   *due;
	ListCell   *lc;

	if (now < next_check)
		return;
	if (skew_cxt == NULL)
		skew_cxt = AllocSetContextCreate(TopMemoryContext, "featstore skew checks",
										 ALLOCSET_SMALL_SIZES);
	MemoryContextReset(skew_cxt);
	MemoryContextSwitchTo(skew_cxt);
	next_check = TimestampTzPlusMilliseconds(now, SKEW_POLL_MS);
	if (skew_check_interval_s <= 0)
	{
		MemoryContextSwitchTo(TopMemoryContext);
		return;
	}
	due = SkewReadDue(now, &next_due);
	if (next_due != 0 && next_due < next_check)
		next_check = next_due;
	foreach(lc, due)
		SkewRunScheduled((const char *) lfirst(lc));
	/* more may be due than one call runs */
	if (list_length(due) >= SKEW_MAX_CHECKS)
		next_check = 0;
	MemoryContextSwitchTo(TopMemoryContext);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * MonitorNextSkewDue says when the worker should call
 * MonitorRunDueSkewChecks next: now, when more may be due.  It allocates
 * nothing and needs no transaction.
 */
TimestampTz
MonitorNextSkewDue(void)
{
	return next_check == 0 ? GetCurrentTimestamp() : next_check;
}

/*
 * SkewReadDue returns the names of the online groups whose scheduled check
 * is due (never checked first, then the longest unchecked), in skew_cxt,
 * and in *next_due when the next one falls due (0: none).  A group never
 * checked is due at once (from its last definition change).  A check that
 * was not done counts as a check: an unreachable Redis is retried at the
 * interval, not in a loop.  A due group whose changes wait in the queue is
 * left for a later read, for up to SKEW_QUEUE_WAIT_S: entities the worker
 * has not pushed yet differ, and would open a skew alert that the worker
 * is about to make wrong.
 */
static List *
SkewReadDue(TimestampTz now, TimestampTz *next_due)
{
	List	   *volatile names = NIL;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "featstore: SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SkewInstalled())
		{
			Oid			types[2] = {TIMESTAMPTZOID, INTERVALOID};
			Datum		args[2];
			Interval   *every = palloc0(sizeof(Interval));
			bool		isnull;
			Datum		d;

			every->time = (int64) skew_check_interval_s * USECS_PER_SEC;
			args[0] = TimestampTzGetDatum(now);
			args[1] = IntervalPGetDatum(every);
			if (SPI_execute_with_args(SkewDueSql, 2, types, args, NULL, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "featstore could not read the skew checks' schedule");
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				HeapTuple	tup = SPI_tuptable->vals[i];
				TupleDesc	desc = SPI_tuptable->tupdesc;
				bool		due = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
				bool		busy = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));

				if (due)
				{
					/* a busy group is tried again at the next schedule read */
					if (!busy && list_length(names) < SKEW_MAX_CHECKS)
					{
						/* the list outlives SPI and the transaction */
						MemoryContext old = MemoryContextSwitchTo(skew_cxt);

						names = lappend(names, SPI_getvalue(tup, desc, 1));
						MemoryContextSwitchTo(old);
					}
					continue;
				}
				d = SPI_getbinval(tup, desc, 3, &isnull);
				if (!isnull && (*next_due == 0 || DatumGetTimestampTz(d) < *next_due))
					*next_due = DatumGetTimestampTz(d);
			}
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		SkewLogError(NULL);
		names = NIL;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(skew_cxt);
	return names;
}

/*
 * SkewInstalled says whether featstore, with its skew_checks table, is
 * installed in this database at the library's version
 */
static bool
SkewInstalled(void)
{
	Oid			nsp = FeatstoreSchemaOid(true);
	char	   *installed;

	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("skew_checks", nsp)))
		return false;
	installed = FeatstoreInstalledVersion();
	return installed != NULL && strcmp(installed, FEATSTORE_VERSION) == 0;
}

/*
 * SkewRunScheduled runs one group's scheduled check in its own transaction:
 * the comparison as the group table's owner in a subtransaction, cancelled
 * after SKEW_TIMEOUT_MS; a comparison that fails (Redis unreachable, the
 * table's shape changed) is recorded as not done, with its error.  An error
 * outside the comparison is logged.
 */
static void
SkewRunScheduled(const char *group_name)
{
	PG_TRY();
	{
		SkewResult	r;
		int64		check_id;
		FsGroup    *fs;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING,
							   psprintf("featstore: skew check of feature group %s", group_name));
		fs = RegistryLookupGroup(group_name, true);
		/* dropped or set offline since the schedule was read: nothing to check */
		if (fs != NULL && fs->online)
		{
			SkewCompareAsOwner(group_name, skew_sample_size, &r);
			(void) SkewRecord(group_name, &r, true, NULL, &check_id);
			SkewAlert(group_name, &r, skew_sample_size, check_id);
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		SkewLogError(group_name);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(skew_cxt);
}

/*
 * SkewCompareAsOwner is SkewCompare as the group table's owner (the rights
 * the online worker reads it with, never the monitor's superuser's), in a
 * subtransaction with a statement timeout; its error, if any, lands in
 * r->error and is not rethrown (a shutdown is FATAL and never lands here).
 */
static void
SkewCompareAsOwner(const char *group_name, int32 sample, SkewResult *r)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		FsGroup    *fs = RegistryLookupGroup(group_name, false);
		Oid			save_userid;
		int			save_sec;

		if (!OidIsValid(fs->relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("history table %s.%s of feature group \"%s\" does not exist",
							fs->schema_name, fs->table_name, group_name)));
		enable_timeout_after(STATEMENT_TIMEOUT, SKEW_TIMEOUT_MS);
		FeatstoreBeginAsTableOwner(fs->relid, &save_userid, &save_sec);
		SkewCompare(group_name, sample, r);
		FeatstoreEndAsTableOwner(save_userid, save_sec);
		disable_timeout(STATEMENT_TIMEOUT, false);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* undoes the owner's identity and the section's search_path too */
		RollbackAndReleaseCurrentSubTransaction();
		memset(r, 0, sizeof(*r));
		r->error = edata->message ? edata->message : pstrdup("unknown error");
		CHECK_FOR_INTERRUPTS();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
}

/*
 * SkewLogError logs an error raised outside a comparison, aborts the
 * transaction, and waits an interval before reading the schedule again
 */
static void
SkewLogError(const char *group_name)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(skew_cxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	if (group_name)
		ereport(LOG,
				(errmsg("featstore monitor: could not record the skew check of feature group \"%s\": %s",
						group_name, edata->message)));
	else
		ereport(LOG,
				(errmsg("featstore monitor: could not read the skew checks' schedule: %s",
						edata->message)));
	next_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											 Max(skew_check_interval_s, 10) * 1000);
}
