/*
 * monitor_stats.c
 *		Statistics of a group's features over a period of its history
 *		(MonitorComputeStats, featstore.compute_stats(group, from, to)) or
 *		at the rows of a spine (featstore.compute_stats(group, spine,
 *		label, timestamp_column)), stored in featstore.feature_stats with a
 *		record of the run in featstore.stats_runs.  docs/monitoring.md,
 *		Statistics.
 *
 * A period is read with one cursor over the group's relation (its history
 * table, or a source group's view), as the relation's owner in a
 * restricted section after RegistryCheckGroupTable, under the monitor's
 * statement timeout, inside a subtransaction: a failing read stores
 * nothing, and the failed run's record survives in the caller's
 * transaction.  A spine is read by the point-in-time join as the caller,
 * with the caller's privileges, in the caller's transaction.  The values
 * are fed to one accumulator per feature (monitor_stats_acc.c); the rows
 * are written as the extension owner.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "featstore.h"
#include "monitor/monitor.h"
#include "monitor/monitor_stats_int.h"
#include "pii/pii.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(featstore_compute_stats);
PG_FUNCTION_INFO_V1(featstore_compute_stats_spine);

/* Rows fetched from the cursor at a time */
#define STATS_BATCH 10000
/* The read's timeout while featstore.monitor_statement_timeout is not defined */
#define STATS_DEFAULT_TIMEOUT_MS (5 * 60 * 1000)

/* What one run computes: a group's active features over a period or a spine */
typedef struct StatsTarget
{
	FsGroup    *group;
	int			nfeatures;
	FsFeature **features;		/* the active ones */
	FeatureStats *stats;		/* one per feature */
	const char *scope;			/* "period" or "spine" */
	const char *label;			/* "" for periods */
	TimestampTz from;
	TimestampTz to;
	int64		rows;
	MemoryContext cxt;			/* the sorts and the results */
} StatsTarget;

static StatsTarget *MakeTarget(const char *group_name, const char *scope, const char *label);
static bool IsNumericKind(Oid typid);
static char *ValueExpr(const FsFeature *f, const char *prefix, const char *column);
static char *PeriodSql(const StatsTarget *st);
static void FeedBatch(StatsTarget *st, StatsAcc *accs, bool with_ts, bool *have_ts);
static void ReadRows(StatsTarget *st, const char *sql, int nargs, Oid *types,
					 Datum *values, bool with_ts);
static void ReadPeriod(StatsTarget *st, int timeout_ms);
static ErrorData *ReadPeriodInSubxact(StatsTarget *st, int timeout_ms);
static int	StatsTimeoutMs(void);
static void CheckReadPrivilege(const StatsTarget *st);
static int64 InsertRun(const StatsTarget *st, TimestampTz started, bool scheduled,
					   const char *status);
static void FinishRun(int64 run_id, const StatsTarget *st, const ErrorData *edata);
static void StoreStats(const StatsTarget *st, int64 run_id);
static void StoreOne(const StatsTarget *st, const FeatureStats *fs, int64 run_id, bool pii);
static List *LockPiiFeatures(const StatsTarget *st);
static void MonitorSpi(const char *sql, int nargs, Oid *types, Datum *values,
					   const char *nulls, int expect);
static void CheckRange(const char *group_name, TimestampTz from, TimestampTz to);
static char *FailureDetails(int64 run_id, const StatsTarget *st, const ErrorData *edata);

/*
 * featstore_compute_stats computes the statistics of a group's active
 * features over [from, to) now and returns the run's id (a failed read is
 * a WARNING and a failed run: its record must survive the call)
 */
Datum
featstore_compute_stats(PG_FUNCTION_ARGS)
{
	char	   *group_name;

	FeatstoreRequireCurrentSchema();
	FeatstoreRequireEditor();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("compute_stats needs a feature group"),
				 errhint("Pass the group's name: featstore.compute_stats('group', from, to).")));
	group_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("compute_stats of feature group \"%s\" needs a period", group_name),
				 errhint("Pass both ends of the period [from, to), as timestamptz: featstore.compute_stats('%s', '2026-01-01', '2026-01-02').",
						 group_name)));
	PG_RETURN_INT64(MonitorComputeStats(group_name, PG_GETARG_TIMESTAMPTZ(1),
										PG_GETARG_TIMESTAMPTZ(2), false));
}

/* CheckRange refuses an empty, reversed or infinite period */
static void
CheckRange(const char *group_name, TimestampTz from, TimestampTz to)
{
	if (TIMESTAMP_NOT_FINITE(from) || TIMESTAMP_NOT_FINITE(to))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("period of statistics of feature group \"%s\" must be finite", group_name),
				 errhint("Pass finite timestamps: statistics are stored per period, and an infinite one never ends.")));
	if (from >= to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("period of statistics of feature group \"%s\" is empty: from %s is not before to %s",
						group_name, pstrdup(timestamptz_to_str(from)), pstrdup(timestamptz_to_str(to))),
				 errhint("The period is [from, to): pass a from earlier than to.")));
}

/*
 * MonitorComputeStatsRun is MonitorComputeStats (monitor.h), saying in
 * *failed (when not NULL) whether the read failed.  Returns the run's id;
 * a failed read (an error, the timeout, a cancel) is recorded as a failed
 * run, raises the stats_failed alert and is reported (a WARNING to a
 * caller, a LOG line for the schedule), not rethrown: the record must
 * survive in the caller's transaction.  A bad argument is an error.
 */
int64
MonitorComputeStatsRun(const char *group_name, TimestampTz from, TimestampTz to,
					   bool scheduled, bool *failed)
{
	StatsTarget *st;
	ErrorData  *edata;
	int64		run_id;

	CheckRange(group_name, from, to);
	st = MakeTarget(group_name, "period", "");
	st->from = from;
	st->to = to;
	if (!scheduled)
		CheckReadPrivilege(st);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	run_id = InsertRun(st, GetCurrentTimestamp(), scheduled, "running");
	edata = ReadPeriodInSubxact(st, StatsTimeoutMs());
	if (edata == NULL)
		StoreStats(st, run_id);
	FinishRun(run_id, st, edata);
	if (edata == NULL)
		MonitorResolveAlert(MONITOR_ALERT_STATS_FAILED, group_name, NULL);
	else
		MonitorRaiseAlert(MONITOR_ALERT_STATS_FAILED, group_name, NULL,
						  FailureDetails(run_id, st, edata));
	SPI_finish();
	if (failed)
		*failed = edata != NULL;
	if (edata != NULL)
		ereport(scheduled ? LOG : WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("statistics run of feature group \"%s\" failed: %s",
						group_name, edata->message),
				 errdetail("The run is recorded in featstore.stats_runs with id %lld; nothing was stored for the period.",
						   (long long) run_id),
				 errhint("Fix the cause and compute the period again: featstore.compute_stats('%s', from, to).",
						 group_name)));
	MemoryContextDelete(st->cxt);
	return run_id;
}

/*
 * FailureDetails is the stats_failed alert's details: the run, its period
 * and its error
 */
static char *
FailureDetails(int64 run_id, const StatsTarget *st, const ErrorData *edata)
{
	StringInfoData buf;
	const int	utc = 0;		/* ISO 8601 in UTC, whatever the session's TimeZone */

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"run_id\": " INT64_FORMAT ", \"period_start\": ", run_id);
	escape_json(&buf, JsonEncodeDateTime(NULL, TimestampTzGetDatum(st->from), TIMESTAMPTZOID, &utc));
	appendStringInfoString(&buf, ", \"period_end\": ");
	escape_json(&buf, JsonEncodeDateTime(NULL, TimestampTzGetDatum(st->to), TIMESTAMPTZOID, &utc));
	appendStringInfoString(&buf, ", \"sqlstate\": ");
	escape_json(&buf, unpack_sql_state(edata->sqlerrcode));
	appendStringInfoString(&buf, ", \"error\": ");
	escape_json(&buf, edata->message ? edata->message : "unknown error");
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* MonitorComputeStats: monitor.h */
int64
MonitorComputeStats(const char *group_name, TimestampTz from, TimestampTz to, bool scheduled)
{
	return MonitorComputeStatsRun(group_name, from, to, scheduled, NULL);
}

/*
 * MakeTarget looks the group up and lists its active features, with a
 * memory context for the sorts and the results
 */
static StatsTarget *
MakeTarget(const char *group_name, const char *scope, const char *label)
{
	StatsTarget *st = palloc0(sizeof(StatsTarget));
	ListCell   *lc;

	st->group = RegistryLookupGroup(group_name, true);
	if (st->group == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature group \"%s\" does not exist", group_name),
				 errhint("featstore.feature_groups lists the groups.")));
	if (!OidIsValid(st->group->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation %s.%s of feature group \"%s\" does not exist",
						st->group->schema_name, st->group->table_name, group_name),
				 errhint("Drop the group, or restore its table.")));
	st->features = palloc(sizeof(FsFeature *) * Max(list_length(st->group->features), 1));
	foreach(lc, st->group->features)
	{
		FsFeature  *f = lfirst(lc);

		if (!f->deprecated)
			st->features[st->nfeatures++] = f;
	}
	st->stats = palloc0(sizeof(FeatureStats) * Max(st->nfeatures, 1));
	st->scope = scope;
	st->label = label;
	st->cxt = AllocSetContextCreate(CurrentMemoryContext, "featstore statistics",
									ALLOCSET_DEFAULT_SIZES);
	return st;
}

/*
 * IsNumericKind: numbers, dates, timestamps and intervals get moments,
 * quantiles and a histogram (the latter four in seconds)
 */
static bool
IsNumericKind(Oid typid)
{
	switch (getBaseType(typid))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case INTERVALOID:
			return true;
		default:
			return false;
	}
}

/*
 * ValueExpr is the SQL that reads feature f's column as the accumulator
 * takes it: float8 for the numeric kinds (dates, timestamps and intervals
 * as date_part('epoch', ...): seconds since 1970-01-01 00:00 UTC, a date
 * at its midnight, a timestamp without time zone as if in UTC), text for
 * the others.  Everything is schema-qualified.
 */
static char *
ValueExpr(const FsFeature *f, const char *prefix, const char *column)
{
	char	   *col = psprintf("%s%s", prefix, quote_identifier(column));

	switch (getBaseType(f->typid))
	{
		case DATEOID:
			return psprintf("pg_catalog.date_part('epoch', %s::pg_catalog.timestamp)", col);
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case INTERVALOID:
			return psprintf("pg_catalog.date_part('epoch', %s)", col);
		default:
			if (IsNumericKind(f->typid))
				return psprintf("%s::pg_catalog.float8", col);
			return psprintf("%s::pg_catalog.text", col);
	}
}

/* PeriodSql reads the period's rows of the group's relation, a column per feature */
static char *
PeriodSql(const StatsTarget *st)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int i = 0; i < st->nfeatures; i++)
		appendStringInfo(&sql, "%s, ", ValueExpr(st->features[i], "", st->features[i]->name));
	/* a group whose features are all deprecated still counts its rows */
	appendStringInfo(&sql, "NULL FROM %s WHERE %s OPERATOR(pg_catalog.>=) $1 AND %s OPERATOR(pg_catalog.<) $2",
					 quote_qualified_identifier(st->group->schema_name, st->group->table_name),
					 FS_EVENT_TS_COLUMN, FS_EVENT_TS_COLUMN);
	return sql.data;
}

/*
 * FeedBatch feeds the rows of SPI_tuptable to the features' accumulators:
 * column i + 1 is feature i (i + 2 with_ts, the first being a timestamptz
 * whose range becomes st->from and st->to); in the current memory context
 */
static void
FeedBatch(StatsTarget *st, StatsAcc *accs, bool with_ts, bool *have_ts)
{
	TupleDesc	desc = SPI_tuptable->tupdesc;
	int			off = with_ts ? 1 : 0;
	Datum	   *rowvals;
	bool	   *rownulls;

	if (desc->natts < st->nfeatures + off)
		elog(ERROR, "featstore statistics query returned %d columns, expected %d",
			 desc->natts, st->nfeatures + off);
	rowvals = palloc(sizeof(Datum) * desc->natts);
	rownulls = palloc(sizeof(bool) * desc->natts);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		/* one deform of the row, rather than one walk per column */
		heap_deform_tuple(SPI_tuptable->vals[r], desc, rowvals, rownulls);
		if (with_ts && !rownulls[0])
		{
			TimestampTz ts = DatumGetTimestampTz(rowvals[0]);

			if (!*have_ts || ts < st->from)
				st->from = ts;
			if (!*have_ts || ts >= st->to)
				st->to = ts + 1;
			*have_ts = true;
		}
		for (int i = 0; i < st->nfeatures; i++)
			StatsAccAdd(&accs[i], rowvals[i + off], rownulls[i + off]);
		st->rows++;
	}
}

/*
 * ReadRows runs sql through a cursor (SPI connected) and feeds its rows to
 * one accumulator per feature (FeedBatch), then completes them
 */
static void
ReadRows(StatsTarget *st, const char *sql, int nargs, Oid *types, Datum *values, bool with_ts)
{
	MemoryContext batch = AllocSetContextCreate(st->cxt, "featstore statistics batch",
												ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(st->cxt);
	StatsAcc   *accs = palloc(sizeof(StatsAcc) * Max(st->nfeatures, 1));
	bool		have_ts = false;
	Portal		portal;

	for (int i = 0; i < st->nfeatures; i++)
	{
		st->stats[i].name = st->features[i]->name;
		StatsAccBegin(&accs[i], &st->stats[i], IsNumericKind(st->features[i]->typid));
	}
	MemoryContextSwitchTo(old);
	portal = SPI_cursor_open_with_args(NULL, sql, nargs, types, values, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, STATS_BATCH);
		if (SPI_processed == 0 || SPI_tuptable == NULL)
			break;
		old = MemoryContextSwitchTo(batch);
		FeedBatch(st, accs, with_ts, &have_ts);
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	old = MemoryContextSwitchTo(st->cxt);
	for (int i = 0; i < st->nfeatures; i++)
		StatsAccFinish(&accs[i]);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(batch);
}

/*
 * ReadPeriod reads the period as the relation's owner, in a restricted
 * section, after checking the relation's shape; cancelled after
 * timeout_ms (0: the session's timeout only)
 */
static void
ReadPeriod(StatsTarget *st, int timeout_ms)
{
	Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2];
	Oid			save_userid;
	int			save_sec;
	char	   *sql = PeriodSql(st);

	values[0] = TimestampTzGetDatum(st->from);
	values[1] = TimestampTzGetDatum(st->to);
	RegistryCheckGroupTable(st->group);
	FeatstoreBeginAsTableOwner(st->group->relid, &save_userid, &save_sec);
	/* SPI arms no statement_timeout: the run arms its own */
	if (timeout_ms > 0)
		enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);
	ReadRows(st, sql, 2, types, values, false);
	if (timeout_ms > 0)
		disable_timeout(STATEMENT_TIMEOUT, false);
	FeatstoreEndAsTableOwner(save_userid, save_sec);
}

/*
 * ReadPeriodInSubxact runs ReadPeriod in a subtransaction; returns NULL,
 * or the error with the subtransaction rolled back (which also undoes the
 * owner's identity and the section's search_path)
 */
static ErrorData *
ReadPeriodInSubxact(StatsTarget *st, int timeout_ms)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		ReadPeriod(st, timeout_ms);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		if (timeout_ms > 0)
			disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_END_TRY();
	return edata;
}

/*
 * StatsTimeoutMs is featstore.monitor_statement_timeout when that setting
 * exists (the monitor's, src/monitor/), else five minutes
 */
static int
StatsTimeoutMs(void)
{
	const char *value = GetConfigOption("featstore.monitor_statement_timeout", true, false);
	int			ms;

	if (value == NULL || !parse_int(value, &ms, GUC_UNIT_MS, NULL) || ms < 0)
		return STATS_DEFAULT_TIMEOUT_MS;
	return ms;
}

/*
 * CheckReadPrivilege refuses statistics of data the caller could not read
 * itself: the read runs as the table's owner, so the caller must be able
 * to SELECT event_timestamp and every active feature's column, with no
 * row-level security applying to it (featstore.feature_visible, which
 * also asks for the source of a group FROM one)
 */
static void
CheckReadPrivilege(const StatsTarget *st)
{
	Datum	   *names = palloc(sizeof(Datum) * Max(st->nfeatures, 1));
	Oid			types[3] = {TEXTOID, NAMEARRAYOID, OIDOID};
	Datum		values[3];
	bool		isnull;
	bool		ok;

	for (int i = 0; i < st->nfeatures; i++)
		names[i] = DirectFunctionCall1(namein, CStringGetDatum(st->features[i]->name));
	values[0] = CStringGetTextDatum(st->group->name);
	values[1] = PointerGetDatum(construct_array(names, st->nfeatures, NAMEOID, NAMEDATALEN,
												false, TYPALIGN_CHAR));
	values[2] = ObjectIdGetDatum(st->group->relid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	if (SPI_execute_with_args("SELECT pg_catalog.has_column_privilege($3, 'event_timestamp', 'SELECT') "
							  "AND featstore.group_visible($1) "
							  "AND (SELECT pg_catalog.bool_and(featstore.feature_visible($1, f)) IS NOT FALSE "
							  "FROM pg_catalog.unnest($2) AS f)",
							  3, types, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "featstore could not check the privileges on feature group \"%s\"", st->group->name);
	ok = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	if (ok && !isnull)
		return;
	if (PiiMaskedFeatures(st->group->name) != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for statistics of feature group \"%s\"", st->group->name),
				 errdetail("The group has PII features, whose statistics only members of " PII_READER_ROLE " may compute and see."),
				 errhint("A member of " PII_READER_ROLE " with SELECT on %s can compute them: GRANT " PII_READER_ROLE " TO %s;",
						 quote_qualified_identifier(st->group->schema_name, st->group->table_name),
						 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for statistics of feature group \"%s\"", st->group->name),
			 errdetail("Statistics are computed as the owner of %s.%s; the caller must be able to SELECT its event_timestamp and every active feature's column (and the source of a group FROM one), with no row-level security applying.",
					   st->group->schema_name, st->group->table_name),
			 errhint("Ask the table's owner: GRANT SELECT ON %s TO %s;",
					 quote_qualified_identifier(st->group->schema_name, st->group->table_name),
					 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
}

/*
 * MonitorSpi runs one statement on featstore's own tables as the extension
 * owner (SPI connected); expect is the SPI result code it must return
 */
static void
MonitorSpi(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expect)
{
	Oid			save_userid;
	int			save_sec;
	int			rc;

	FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	FeatstoreEndRegistryWrite(save_userid, save_sec);
	if (rc != expect)
		elog(ERROR, "featstore monitoring statement failed: %s", SPI_result_code_string(rc));
}

/* InsertRun records a run of st with the given status; returns its id */
static int64
InsertRun(const StatsTarget *st, TimestampTz started, bool scheduled, const char *status)
{
	Oid			types[7] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	TEXTOID, TEXTOID, NAMEOID};
	Datum		values[7];
	bool		isnull;
	Datum		id;

	values[0] = CStringGetTextDatum(st->group->name);
	values[1] = TimestampTzGetDatum(st->from);
	values[2] = TimestampTzGetDatum(st->to);
	values[3] = TimestampTzGetDatum(started);
	values[4] = CStringGetTextDatum(status);
	values[5] = CStringGetTextDatum(scheduled ? "schedule" : "manual");
	values[6] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	MonitorSpi("INSERT INTO featstore.stats_runs (group_name, period_start, period_end, "
			   "started_at, status, trigger, run_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
			   7, types, values, NULL, SPI_OK_INSERT_RETURNING);
	if (SPI_processed != 1 || SPI_tuptable == NULL)
		elog(ERROR, "featstore could not record a statistics run of feature group \"%s\"",
			 st->group->name);
	id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(id);
}

/* FinishRun records the end of a run: succeeded, or failed with edata */
static void
FinishRun(int64 run_id, const StatsTarget *st, const ErrorData *edata)
{
	Oid			types[5] = {INT8OID, TIMESTAMPTZOID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', 'n', 'n'};

	values[0] = Int64GetDatum(run_id);
	values[1] = TimestampTzGetDatum(GetCurrentTimestamp());
	values[2] = Int64GetDatum(st->rows);
	if (edata != NULL)
	{
		values[3] = CStringGetTextDatum(edata->message ? edata->message : "unknown error");
		values[4] = CStringGetTextDatum(unpack_sql_state(edata->sqlerrcode));
		nulls[2] = 'n';
		nulls[3] = nulls[4] = ' ';
	}
	MonitorSpi("UPDATE featstore.stats_runs SET finished_at = $2, rows_read = $3, error = $4, "
			   "sqlstate = $5, status = CASE WHEN $4 IS NULL THEN 'succeeded' ELSE 'failed' END "
			   "WHERE id = $1",
			   5, types, values, nulls, SPI_OK_UPDATE);
}

/*
 * StoreStats replaces the stored statistics of the run's features: those
 * of the same period, or for a spine, every earlier one of the same label
 */
static void
StoreStats(const StatsTarget *st, int64 run_id)
{
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	NAMEARRAYOID};
	Datum		values[6];
	Datum	   *names = palloc(sizeof(Datum) * Max(st->nfeatures, 1));
	bool		spine = strcmp(st->scope, "spine") == 0;
	List	   *pii;

	/* first, so that a concurrent SET PII waits before it touches any row */
	pii = LockPiiFeatures(st);
	for (int i = 0; i < st->nfeatures; i++)
		names[i] = DirectFunctionCall1(namein, CStringGetDatum(st->features[i]->name));
	values[0] = CStringGetTextDatum(st->group->name);
	values[1] = CStringGetTextDatum(st->scope);
	values[2] = CStringGetTextDatum(st->label);
	values[3] = TimestampTzGetDatum(st->from);
	values[4] = TimestampTzGetDatum(st->to);
	values[5] = PointerGetDatum(construct_array(names, st->nfeatures, NAMEOID, NAMEDATALEN,
												false, TYPALIGN_CHAR));
	MonitorSpi(spine ?
			   "DELETE FROM featstore.feature_stats WHERE group_name = $1 AND scope = $2 "
			   "AND label = $3 AND $4 IS NOT NULL AND $5 IS NOT NULL AND feature_name = ANY ($6)" :
			   "DELETE FROM featstore.feature_stats WHERE group_name = $1 AND scope = $2 "
			   "AND label = $3 AND period_start = $4 AND period_end = $5 AND feature_name = ANY ($6)",
			   6, types, values, NULL, SPI_OK_DELETE);
	for (int i = 0; i < st->nfeatures; i++)
		StoreOne(st, &st->stats[i], run_id, PiiListHas(pii, st->features[i]->name));
}

/*
 * LockPiiFeatures returns the names of the group's PII features as the
 * registry holds them now, with its features' rows locked FOR SHARE until
 * the run's transaction ends: a concurrent SET PII waits for the run, then
 * clears the top values it stored; one that committed first is seen here
 * (READ COMMITTED re-reads a row it waited for).  Taken before the run
 * writes any statistics row, so the two cannot wait for each other.
 */
static List *
LockPiiFeatures(const StatsTarget *st)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	List	   *pii = NIL;

	values[0] = CStringGetTextDatum(st->group->name);
	MonitorSpi("SELECT name::pg_catalog.text, pii FROM featstore.features WHERE group_name = $1 "
			   "ORDER BY name FOR SHARE", 1, types, values, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; SPI_tuptable != NULL && i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		Datum		flag = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		char	   *name = SPI_getvalue(tup, SPI_tuptable->tupdesc, 1);

		if (!isnull && DatumGetBool(flag) && name != NULL)
			pii = lappend(pii, name);
	}
	return pii;
}

/* Float8Array, Int8Array: the array of n values */
static Datum
Float8Array(const double *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
Int8Array(const int64 *v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, sizeof(int64),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Quantile columns p01 .. p99 and which of the 101 percentiles they are */
static const int stats_quantiles[7] = {1, 5, 25, 50, 75, 95, 99};

/*
 * FillValues sets the statistics columns ($7 on) of one feature's row:
 * what a kind does not have, and what an empty period cannot have, is NULL.
 * A PII feature's top values would be its values: they, their counts and
 * other_count are not stored (NULL).
 */
static void
FillValues(const FeatureStats *fs, bool pii, Datum *values, char *nulls)
{
	int64		n = fs->rows - fs->nulls;
	bool		moments = fs->numeric && n > 0;
	int			ntop = pii ? 0 : fs->ntop;
	Datum	   *tops = palloc(sizeof(Datum) * STATS_TOP);

	values[6] = CStringGetTextDatum(fs->numeric ? "numeric" : "categorical");
	values[7] = Int64GetDatum(fs->rows);
	values[8] = Int64GetDatum(fs->nulls);
	values[9] = Float8GetDatum(fs->rows > 0 ? (double) fs->nulls / (double) fs->rows : 0.0);
	nulls[9] = fs->rows > 0 ? ' ' : 'n';
	values[10] = Int64GetDatum(fs->distinct);
	values[11] = Float8GetDatum(fs->min);
	values[12] = Float8GetDatum(fs->max);
	values[13] = Float8GetDatum(fs->mean);
	values[14] = Float8GetDatum(fs->stddev);
	for (int q = 0; q < 7; q++)
		values[15 + q] = Float8GetDatum(fs->pct[stats_quantiles[q]]);
	values[22] = Float8Array(fs->pct, STATS_PERCENTILES);
	for (int c = 11; c <= 22; c++)
		nulls[c] = moments ? ' ' : 'n';
	if (n < 2)
		nulls[14] = 'n';
	values[23] = Float8Array(fs->edges, STATS_BINS + 1);
	values[24] = Int8Array(fs->bins, STATS_BINS);
	nulls[23] = nulls[24] = moments && fs->has_hist ? ' ' : 'n';
	for (int i = 0; i < ntop; i++)
		tops[i] = CStringGetTextDatum(fs->top_values[i]);
	values[25] = PointerGetDatum(construct_array(tops, ntop, TEXTOID, -1, false, TYPALIGN_INT));
	values[26] = Int8Array(fs->top_counts, ntop);
	values[27] = Int64GetDatum(fs->other);
	nulls[25] = nulls[26] = nulls[27] = (fs->numeric || pii) ? 'n' : ' ';
}

/* StoreOne inserts one feature's statistics row; pii: the feature is PII */
static void
StoreOne(const StatsTarget *st, const FeatureStats *fs, int64 run_id, bool pii)
{
	Oid			types[29] = {TEXTOID, NAMEOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
		TEXTOID, INT8OID, INT8OID, FLOAT8OID, INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
		FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
	FLOAT8ARRAYOID, FLOAT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, INT8OID, INT8OID};
	Datum		values[29];
	char		nulls[29];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = CStringGetTextDatum(st->group->name);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(fs->name));
	values[2] = CStringGetTextDatum(st->scope);
	values[3] = CStringGetTextDatum(st->label);
	values[4] = TimestampTzGetDatum(st->from);
	values[5] = TimestampTzGetDatum(st->to);
	FillValues(fs, pii, values, nulls);
	values[28] = Int64GetDatum(run_id);
	MonitorSpi("INSERT INTO featstore.feature_stats (group_name, feature_name, scope, label, "
			   "period_start, period_end, kind, row_count, null_count, null_rate, distinct_count, "
			   "min_value, max_value, mean, stddev, p01, p05, p25, p50, p75, p95, p99, percentiles, "
			   "histogram_edges, histogram_counts, top_values, top_counts, other_count, run_id) "
			   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
			   "$18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)",
			   29, types, values, nulls, SPI_OK_INSERT);
}

/*
 * SpineSql is the point-in-time join of the group's active features at
 * the spine's rows, as featstore.pit_join_sql writes it for the caller,
 * wrapped to give the spine's timestamp and the features' values
 */
static char *
SpineSql(const StatsTarget *st, Oid spine, const char *ts_column)
{
	Oid			types[3] = {TEXTOID, TEXTARRAYOID, TEXTOID};
	Datum		values[3];
	Datum	   *items = palloc(sizeof(Datum) * Max(st->nfeatures, 1));
	StringInfoData sql;
	char	   *pit;
	char	   *nspname = get_namespace_name(get_rel_namespace(spine));
	char	   *relname = get_rel_name(spine);

	if (nspname == NULL || relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("spine relation with OID %u does not exist", spine)));
	for (int i = 0; i < st->nfeatures; i++)
		items[i] = CStringGetTextDatum(psprintf("%s.%s", st->group->name, st->features[i]->name));
	values[0] = CStringGetTextDatum(quote_qualified_identifier(nspname, relname));
	values[1] = PointerGetDatum(construct_array(items, st->nfeatures, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = CStringGetTextDatum(ts_column);
	if (SPI_execute_with_args("SELECT featstore.pit_join_sql($1, $2, spine_ts => $3, qualified => true)",
							  3, types, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1 || (pit = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)) == NULL)
		elog(ERROR, "featstore could not write the join of feature group \"%s\" at a spine", st->group->name);
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT q.%s::pg_catalog.timestamptz", quote_identifier(ts_column));
	for (int i = 0; i < st->nfeatures; i++)
		appendStringInfo(&sql, ", %s", ValueExpr(st->features[i], "q.",
												 psprintf("%s__%s", st->group->name, st->features[i]->name)));
	/* a newline before ")": a -- comment in the join ends there */
	appendStringInfo(&sql, " FROM (\n%s\n) AS q", pit);
	return sql.data;
}

/*
 * featstore_compute_stats_spine computes the statistics of a group's
 * active features at a spine's rows, by the point-in-time join as the
 * caller, stored with scope spine and the label; returns the run's id.
 * An error is the caller's: nothing is stored, nothing recorded.
 */
Datum
featstore_compute_stats_spine(PG_FUNCTION_ARGS)
{
	StatsTarget *st;
	char	   *group_name;
	char	   *label;
	int64		run_id;
	TimestampTz started = GetCurrentTimestamp();

	FeatstoreRequireCurrentSchema();
	FeatstoreRequireEditor();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("compute_stats at a spine needs a group, a spine, a label and a timestamp column"),
				 errhint("featstore.compute_stats('group', 'spine_table'::regclass, 'training set 1')")));
	group_name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	label = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (label[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("label of spine statistics of feature group \"%s\" is empty", group_name),
				 errhint("Name the spine (a training set's name, say): monitor_settings.reference_label refers to it.")));
	st = MakeTarget(group_name, "spine", label);
	if (st->nfeatures == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature group \"%s\" has no active feature", group_name),
				 errhint("A spine's statistics are of the group's features at its rows: add a feature first.")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	ReadRows(st, SpineSql(st, PG_GETARG_OID(1), NameStr(*PG_GETARG_NAME(3))), 0, NULL, NULL, true);
	if (st->rows == 0 || st->from >= st->to)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("spine of statistics \"%s\" of feature group \"%s\" has no row with a timestamp",
						label, group_name),
				 errhint("Pass a spine with rows, each with the entity keys and a timestamp.")));
	run_id = InsertRun(st, started, false, "running");
	StoreStats(st, run_id);
	FinishRun(run_id, st, NULL);
	SPI_finish();
	PG_RETURN_INT64(run_id);
}

/*
 * MonitorEarliestEvent finds the earliest event_timestamp at or after
 * cutoff in a group's relation, read as its owner in a restricted section
 * after the shape check, under the monitor's timeout; false when there is
 * none.  An error is the caller's.
 */
bool
MonitorEarliestEvent(const char *group_name, TimestampTz cutoff, TimestampTz *earliest)
{
	StatsTarget *st = MakeTarget(group_name, "period", "");
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1];
	Oid			save_userid;
	int			save_sec;
	int			timeout_ms = StatsTimeoutMs();
	bool		isnull = true;
	Datum		d = 0;

	values[0] = TimestampTzGetDatum(cutoff);
	RegistryCheckGroupTable(st->group);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	FeatstoreBeginAsTableOwner(st->group->relid, &save_userid, &save_sec);
	if (timeout_ms > 0)
		enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);
	if (SPI_execute_with_args(psprintf("SELECT pg_catalog.min(%s) FROM %s WHERE %s OPERATOR(pg_catalog.>=) $1",
									   FS_EVENT_TS_COLUMN,
									   quote_qualified_identifier(st->group->schema_name, st->group->table_name),
									   FS_EVENT_TS_COLUMN),
							  1, types, values, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (timeout_ms > 0)
		disable_timeout(STATEMENT_TIMEOUT, false);
	FeatstoreEndAsTableOwner(save_userid, save_sec);
	SPI_finish();
	if (!isnull)
		*earliest = DatumGetTimestampTz(d);
	MemoryContextDelete(st->cxt);
	return !isnull;
}
