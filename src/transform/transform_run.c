/*
 * transform_run.c
 *		One run of a transformation group's query: featstore.refresh() and
 *		the worker's scheduled runs.
 *
 * A run appends the query's rows to the group's history table with one
 * INSERT ... SELECT, as the table's owner inside a restricted section
 * (search_path pinned, SET ROLE and the like refused), so that nobody's
 * rights but the owner's ever apply to the owner's query, whoever starts
 * the run.  The INSERT runs in a subtransaction: a failing query appends
 * nothing, and its failure is recorded after the subtransaction is rolled
 * back, in the caller's transaction, so the record survives the failure.
 * The run's row in featstore.transformation_runs and the group's counters
 * and next run time are written as the extension owner.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "featstore.h"
#include "registry/registry.h"
#include "transform/transform.h"

PG_FUNCTION_INFO_V1(featstore_refresh);

/* Runs of each group kept in featstore.transformation_runs */
#define TRANSFORM_RUNS_KEPT 1000
/* The first retry of a failed scheduled run waits at most a minute */
#define TRANSFORM_FIRST_RETRY USECS_PER_MINUTE
/*
 * The worker cancels a scheduled run after a minute, or one schedule if
 * that is shorter: while it runs, the worker writes nothing to Redis, and
 * no group owner may hold it longer (a lock on the table, a slow query)
 */
#define TRANSFORM_MAX_RUN_MS (60 * 1000)

/* A transformation's row, as a run needs it */
typedef struct TransformDef
{
	char	   *query;
	char	   *columns;		/* the quoted column list */
	int64		schedule_usecs; /* 0: SCHEDULE MANUAL */
	bool		due;			/* next_run_at has come */
	int			failures;		/* consecutive failures so far */
} TransformDef;

static int	TransformSpi(const char *sql, int nargs, Oid *types, Datum *values,
						 const char *nulls);
static bool LoadTransform(const char *group_name, bool skip_locked, TransformDef *t);
static void CheckRefreshPrivilege(const FsGroup *group);
static int64 InsertRun(const char *group_name, TimestampTz started, bool scheduled);
static int64 RunQuery(const FsGroup *group, const TransformDef *t, int timeout_ms,
					  ErrorData **edata);
static TimestampTz RetryAt(const TransformDef *t, TimestampTz finished);
static void RecordSuccess(const char *group_name, const TransformDef *t, int64 run_id,
						  TimestampTz started, TimestampTz finished, int64 rows);
static TimestampTz RecordFailure(const char *group_name, const TransformDef *t, int64 run_id,
								 TimestampTz started, TimestampTz finished,
								 const ErrorData *edata);
static void ReportFailure(const char *group_name, bool scheduled, TimestampTz retry_at,
						  const ErrorData *edata);

/*
 * featstore_refresh runs a transformation group's query now and returns
 * the rows it appended, or NULL (with a WARNING) when the query failed:
 * raising the error would undo the record of the failure with the
 * caller's transaction.
 */
Datum
featstore_refresh(PG_FUNCTION_ARGS)
{
	char	   *group_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *error = NULL;
	int64		rows;

	FeatstoreRequireCurrentSchema();
	rows = TransformRun(group_name, false, &error);
	if (rows < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(rows);
}

/*
 * TransformRun runs a group's query once, records the run and sets the
 * next one (transform.h).  The transformation's row is locked first, so
 * runs of one group (the worker's, refresh()'s) take turns, and a
 * scheduled run that another run made undue meanwhile is skipped.
 */
int64
TransformRun(const char *group_name, bool scheduled, char **error)
{
	FsGroup    *group = RegistryLookupGroup(group_name, false);
	TransformDef t;
	TimestampTz started;
	int64		run_id;
	int64		rows;
	ErrorData  *edata = NULL;

	*error = NULL;
	if (!scheduled)
		CheckRefreshPrivilege(group);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	/* the worker skips a group another run holds: it must not wait on anyone */
	if (!LoadTransform(group_name, scheduled, &t))
	{
		if (scheduled)
		{
			SPI_finish();
			return -1;
		}
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("feature group \"%s\" is not a transformation", group_name),
				 errhint("Only groups defined AS a query with SCHEDULE are refreshed; rows of other groups are inserted into their tables, or computed FROM their source.")));
	}
	if (scheduled && !t.due)
	{
		SPI_finish();
		return -1;
	}

	started = GetCurrentTimestamp();
	run_id = InsertRun(group_name, started, scheduled);
	rows = RunQuery(group, &t,
					scheduled ? (int) Max(Min(TRANSFORM_MAX_RUN_MS, t.schedule_usecs / 1000), 1000) : 0,
					&edata);
	if (edata == NULL)
		RecordSuccess(group_name, &t, run_id, started, GetCurrentTimestamp(), rows);
	else
	{
		TimestampTz retry_at = RecordFailure(group_name, &t, run_id, started,
											 GetCurrentTimestamp(), edata);

		ReportFailure(group_name, scheduled, retry_at, edata);
		*error = edata->message;
		rows = -1;
	}
	SPI_finish();
	return rows;
}

/*
 * TransformSpi runs one query on featstore's own tables as the extension
 * owner, search_path pinned (SPI connected); returns the SPI result code.
 */
static int
TransformSpi(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	Oid			save_userid;
	int			save_sec;
	int			rc;

	FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	FeatstoreEndRegistryWrite(save_userid, save_sec);
	if (rc < 0)
		elog(ERROR, "featstore transformation query failed: %s", SPI_result_code_string(rc));
	return rc;
}

/*
 * LoadTransform reads and locks a group's transformation; false if it has
 * none, or with skip_locked, if another run holds it
 */
static bool
LoadTransform(const char *group_name, bool skip_locked, TransformDef *t)
{
	Oid			type = TEXTOID;
	Datum		value = CStringGetTextDatum(group_name);
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;

	TransformSpi(psprintf("SELECT t.query, "
						  "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') "
						  "   FROM pg_catalog.unnest(t.columns) AS c), "
						  "(EXTRACT(epoch FROM t.schedule) * 1000000)::pg_catalog.int8, "
						  "t.next_run_at <= pg_catalog.clock_timestamp(), t.consecutive_failures "
						  "FROM featstore.transformations t WHERE t.group_name = $1 FOR UPDATE%s",
						  skip_locked ? " SKIP LOCKED" : ""),
				 1, &type, &value, NULL);
	if (SPI_processed != 1 || SPI_tuptable == NULL)
		return false;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	t->query = SPI_getvalue(tup, desc, 1);
	t->columns = SPI_getvalue(tup, desc, 2);
	if (t->query == NULL || t->columns == NULL)
		elog(ERROR, "featstore transformation of feature group \"%s\" has no query", group_name);
	t->schedule_usecs = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	if (isnull)
		t->schedule_usecs = 0;
	t->due = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
	if (isnull)
		t->due = false;
	t->failures = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
	return true;
}

/*
 * CheckRefreshPrivilege allows refresh() to the owner of the group's
 * history table, the members of its role and superusers: a run appends
 * rows to that table as its owner, which is the owner's to decide.
 */
static void
CheckRefreshPrivilege(const FsGroup *group)
{
	if (OidIsValid(group->relid) ? pg_class_ownercheck(group->relid, GetUserId()) : superuser())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("must be owner of table %s.%s to refresh feature group \"%s\"",
					group->schema_name, group->table_name, group->name),
			 errhint("A run appends rows to the group's table as the table's owner: ask the owner, a member of its role or a superuser to run featstore.refresh().")));
}

/* InsertRun records that a run started; returns its id */
static int64
InsertRun(const char *group_name, TimestampTz started, bool scheduled)
{
	Oid			types[4] = {TEXTOID, TIMESTAMPTZOID, TEXTOID, NAMEOID};
	Datum		values[4];
	bool		isnull;
	Datum		id;

	values[0] = CStringGetTextDatum(group_name);
	values[1] = TimestampTzGetDatum(started);
	values[2] = CStringGetTextDatum(scheduled ? "schedule" : "refresh");
	values[3] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	TransformSpi("INSERT INTO featstore.transformation_runs "
				 "(group_name, started_at, status, trigger, run_by) "
				 "VALUES ($1, $2, 'running', $3, $4) RETURNING id",
				 4, types, values, NULL);
	if (SPI_processed != 1 || SPI_tuptable == NULL)
		elog(ERROR, "featstore could not record a run of feature group \"%s\"", group_name);
	id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(id);
}

/*
 * RunQuery appends the query's rows to the group's history table, as the
 * table's owner in a restricted section, in a subtransaction, cancelled
 * after timeout_ms (0: no limit but the session's).  Returns the rows
 * appended; on an error, *edata holds it, the subtransaction is rolled
 * back (nothing appended) and -1 is returned.
 */
static int64
RunQuery(const FsGroup *group, const TransformDef *t, int timeout_ms, ErrorData **edata)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile int64 rows = -1;
	char	   *sql;

	/* a newline before ")": a -- comment in the query ends there */
	sql = psprintf("INSERT INTO %s (%s) SELECT %s FROM (\n%s\n) AS q",
				   quote_qualified_identifier(group->schema_name, group->table_name),
				   t->columns, t->columns, t->query);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		Oid			save_userid;
		int			save_sec;
		int			rc;

		if (!OidIsValid(group->relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("history table %s.%s of feature group \"%s\" does not exist",
							group->schema_name, group->table_name, group->name)));
		FeatstoreBeginAsTableOwner(group->relid, &save_userid, &save_sec);
		/* SPI arms no statement_timeout: the worker arms its own */
		if (timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);
		rc = SPI_execute(sql, false, 0);
		if (timeout_ms > 0)
			disable_timeout(STATEMENT_TIMEOUT, false);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "featstore transformation of feature group \"%s\" failed: %s",
				 group->name, SPI_result_code_string(rc));
		rows = (int64) SPI_processed;
		FeatstoreEndAsTableOwner(save_userid, save_sec);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		if (timeout_ms > 0)
			disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(oldcxt);
		*edata = CopyErrorData();
		FlushErrorState();
		/* undoes the owner's identity and the section's search_path too */
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		rows = -1;
	}
	PG_END_TRY();
	return rows;
}

/*
 * RetryAt says when a scheduled group runs again after its failure number
 * t->failures + 1: TRANSFORM_FIRST_RETRY or an eighth of the schedule,
 * whichever is shorter, doubled for each earlier consecutive failure, at
 * most one schedule after the failure.  An hourly group retries after 1,
 * 2, 4, ... 32 minutes, then hourly.  0 for SCHEDULE MANUAL (no retry:
 * whoever calls refresh() retries).
 */
static TimestampTz
RetryAt(const TransformDef *t, TimestampTz finished)
{
	int64		delay = Min(TRANSFORM_FIRST_RETRY, t->schedule_usecs / 8);

	if (t->schedule_usecs <= 0)
		return 0;
	delay = Max(delay, 1);
	for (int i = 0; i < t->failures && delay < t->schedule_usecs; i++)
		delay *= 2;
	return finished + Min(delay, t->schedule_usecs);
}

/*
 * RecordSuccess records a successful run: the next is due one schedule
 * after this one started; older runs past the kept number are deleted.
 */
static void
RecordSuccess(const char *group_name, const TransformDef *t, int64 run_id,
			  TimestampTz started, TimestampTz finished, int64 rows)
{
	Oid			types[6] = {INT8OID, TIMESTAMPTZOID, INT8OID, TEXTOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = Int64GetDatum(run_id);
	values[1] = TimestampTzGetDatum(finished);
	values[2] = Int64GetDatum(rows);
	values[3] = CStringGetTextDatum(group_name);
	values[4] = TimestampTzGetDatum(started);
	values[5] = TimestampTzGetDatum(started + t->schedule_usecs);
	if (t->schedule_usecs <= 0)
		nulls[5] = 'n';
	TransformSpi("WITH r AS (UPDATE featstore.transformation_runs "
				 "SET finished_at = $2, rows = $3, status = 'succeeded' WHERE id = $1) "
				 "UPDATE featstore.transformations SET last_run_at = $5, last_success_at = $5, "
				 "consecutive_failures = 0, next_run_at = $6 WHERE group_name = $4",
				 6, types, values, nulls);
	TransformSpi("DELETE FROM featstore.transformation_runs WHERE group_name = $4 "
				 "AND id <= (SELECT id FROM featstore.transformation_runs "
				 "WHERE group_name = $4 ORDER BY id DESC OFFSET "
				 CppAsString2(TRANSFORM_RUNS_KEPT) " LIMIT 1)",
				 4, types, values, nulls);
}

/* RecordFailure records a failed run and its retry; returns the retry's time, or 0 */
static TimestampTz
RecordFailure(const char *group_name, const TransformDef *t, int64 run_id,
			  TimestampTz started, TimestampTz finished, const ErrorData *edata)
{
	Oid			types[8] = {INT8OID, TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID,
	TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID};
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	TimestampTz retry_at = RetryAt(t, finished);

	values[0] = Int64GetDatum(run_id);
	values[1] = TimestampTzGetDatum(finished);
	values[2] = CStringGetTextDatum(edata->message ? edata->message : "unknown error");
	values[3] = CStringGetTextDatum(unpack_sql_state(edata->sqlerrcode));
	values[4] = CStringGetTextDatum(group_name);
	values[5] = TimestampTzGetDatum(started);
	values[6] = TimestampTzGetDatum(retry_at);
	nulls[6] = retry_at == 0 ? 'n' : ' ';
	values[7] = Int32GetDatum(t->failures + 1);
	TransformSpi("WITH r AS (UPDATE featstore.transformation_runs "
				 "SET finished_at = $2, status = 'failed', error = $3, sqlstate = $4 WHERE id = $1) "
				 "UPDATE featstore.transformations SET last_run_at = $6, consecutive_failures = $8, "
				 "last_error = $3, last_error_at = $2, next_run_at = $7 WHERE group_name = $5",
				 8, types, values, nulls);
	return retry_at;
}

/*
 * ReportFailure says that a run failed: a WARNING to refresh()'s caller, a
 * LOG line from the worker.  The error's own text is the message; the
 * query's position in it is not kept.
 */
static void
ReportFailure(const char *group_name, bool scheduled, TimestampTz retry_at,
			  const ErrorData *edata)
{
	ereport(scheduled ? LOG : WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("transformation of feature group \"%s\" failed: %s", group_name,
					edata->message ? edata->message : "unknown error"),
			 errdetail("No rows were appended; the failure is recorded in featstore.transformation_runs."),
			 retry_at != 0 ?
			 errhint("The worker retries it at %s.", timestamptz_to_str(retry_at)) :
			 errhint("Fix the cause and run featstore.refresh('%s') again.", group_name)));
}
