/*
 * transform_schedule.c
 *		The online worker's side of scheduled transformations: between its
 *		batches it runs every transformation whose next_run_at has come,
 *		each in its own transaction, and says when the next one is due so
 *		that its sleep ends then.
 *
 * The table is read at most once a second (TRANSFORM_POLL_MS) and at the
 * earliest next_run_at it saw, so a group defined or refreshed meanwhile
 * is seen within a second.  A run's own failure is recorded by the run
 * (transform_run.c); an error around it (the group dropped meanwhile, the
 * registry unreadable) is logged and the schedule is read again after
 * TRANSFORM_ERROR_MS.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "transform/transform.h"

#define TRANSFORM_POLL_MS 1000
#define TRANSFORM_ERROR_MS 10000
/* Most runs one call starts, so that the worker's batches are not starved */
#define TRANSFORM_MAX_RUNS 16

/* When to read the schedule next; 0: at once */
static TimestampTz next_check = 0;
/* an error outside a run's query set next_check to TRANSFORM_ERROR_MS away */
static bool outside_error = false;
static MemoryContext transform_cxt = NULL;

static List *ReadDue(TimestampTz *next_due);
static bool TransformsInstalled(void);
static bool RunScheduled(const char *group_name);
static void LogOutsideError(const char *group_name);

/*
 * TransformRunDue runs the transformations that are due, if the schedule
 * is due to be read.  It never raises an error: the worker's loop goes on.
 * It leaves the caller in TopMemoryContext, outside any transaction.
 */
void
TransformRunDue(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next_due = 0;
	List	   *due;
	ListCell   *lc;
	bool		ran = false;

	if (now < next_check)
		return;
	if (transform_cxt == NULL)
		transform_cxt = AllocSetContextCreate(TopMemoryContext, "featstore transformations",
											  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(transform_cxt);
	outside_error = false;
	next_check = TimestampTzPlusMilliseconds(now, TRANSFORM_POLL_MS);

	due = ReadDue(&next_due);
	if (next_due != 0 && next_due < next_check)
		next_check = next_due;
	foreach(lc, due)
		ran |= RunScheduled((const char *) lfirst(lc));
	/* what ran has a new next_run_at, and more may be due; a skipped run waits */
	if (ran && !outside_error)
		next_check = 0;
	MemoryContextSwitchTo(TopMemoryContext);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * TransformNextDue says when the worker should call TransformRunDue next:
 * now, when more may be due.  It allocates nothing.
 */
TimestampTz
TransformNextDue(void)
{
	return next_check == 0 ? GetCurrentTimestamp() : next_check;
}

/*
 * ReadDue returns the names of the due transformations, in the order they
 * fell due (in transform_cxt), and in *next_due the earliest next_run_at
 * still to come (0: none).  Nothing is due while featstore is missing or
 * of another version than the library.
 */
static List *
ReadDue(TimestampTz *next_due)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *volatile names = NIL;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "featstore: SPI_connect failed");
		PushActiveSnapshot(GetTransactionSnapshot());
		if (TransformsInstalled())
		{
			bool		isnull;
			Datum		d;

			if (SPI_execute("SELECT group_name FROM featstore.transformations "
							"WHERE next_run_at <= pg_catalog.clock_timestamp() "
							"ORDER BY next_run_at, group_name LIMIT " CppAsString2(TRANSFORM_MAX_RUNS),
							true, 0) != SPI_OK_SELECT)
				elog(ERROR, "featstore could not read the transformations' schedule");
			MemoryContextSwitchTo(transform_cxt);
			for (uint64 i = 0; i < SPI_processed; i++)
				names = lappend(names, SPI_getvalue(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1));
			MemoryContextSwitchTo(cxt);
			if (SPI_execute("SELECT pg_catalog.min(next_run_at) FROM featstore.transformations "
							"WHERE next_run_at > pg_catalog.clock_timestamp()",
							true, 0) != SPI_OK_SELECT || SPI_processed != 1)
				elog(ERROR, "featstore could not read the transformations' schedule");
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			*next_due = isnull ? 0 : DatumGetTimestampTz(d);
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		LogOutsideError(NULL);
		names = NIL;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return names;
}

/*
 * TransformsInstalled says whether featstore, with its transformations
 * table, is installed in this database at the library's version
 */
static bool
TransformsInstalled(void)
{
	Oid			nsp = FeatstoreSchemaOid(true);
	char	   *installed;

	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("transformations", nsp)))
		return false;
	installed = FeatstoreInstalledVersion();
	return installed != NULL && strcmp(installed, FEATSTORE_VERSION) == 0;
}

/*
 * RunScheduled runs one due transformation in its own transaction, so that
 * now() in its query is the run's time and its rows and its record commit
 * together.  False if it did not run: another run holds the group (a
 * refresh() in an open transaction, say), or an error outside the query.
 */
static bool
RunScheduled(const char *group_name)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ran = false;

	PG_TRY();
	{
		char	   *error = NULL;
		int64		rows;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING,
							   psprintf("featstore: transformation of feature group %s", group_name));
		rows = TransformRun(group_name, true, &error);
		PopActiveSnapshot();
		CommitTransactionCommand();
		ran = (rows >= 0 || error != NULL);
	}
	PG_CATCH();
	{
		LogOutsideError(group_name);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return ran;
}

/*
 * LogOutsideError logs an error raised outside a run's query, aborts the
 * transaction and waits TRANSFORM_ERROR_MS before reading the schedule
 * again, so that a lasting error is not logged in a tight loop.
 */
static void
LogOutsideError(const char *group_name)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(transform_cxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	if (group_name)
		ereport(LOG,
				(errmsg("featstore online worker: could not run the transformation of feature group \"%s\": %s",
						group_name, edata->message)));
	else
		ereport(LOG,
				(errmsg("featstore online worker: could not read the transformations' schedule: %s",
						edata->message)));
	next_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), TRANSFORM_ERROR_MS);
	outside_error = true;
}
