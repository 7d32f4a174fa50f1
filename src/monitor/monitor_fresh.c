/*
 * monitor_fresh.c
 *		Freshness SLAs (issue 11): MonitorCheckFreshness and
 *		featstore.check_freshness().
 *
 * A group with FRESHNESS 'sla' breaches it in four ways, each its own alert:
 *	stale_data			its newest event (event_timestamp in the history; for
 *						a group FROM a source, the source's TIMESTAMP) is older
 *						than the SLA, or there is none
 *	materialization_lag an online group's changes wait longer than the SLA to
 *						reach Redis: the last batch's lag, or the age of the
 *						oldest queued change, whichever is greater
 *	worker_failing		the online worker is not idle or pushing for the
 *						group (error, redis unavailable, stopped, ...) for
 *						longer than featstore.monitor_worker_grace
 *	transformation_stale a transformation group's last success (or, before
 *						any, its creation) is older than the SLA
 * A condition seen opens or refreshes its alert; gone, it resolves it.
 *
 * The newest event is read as the group table's owner in a restricted
 * section, after the registry's shape check, and cheaply: the last one seen
 * is kept in featstore.freshness_checks and only max(ts) WHERE ts >= last is
 * asked, which an index on the timestamp answers at once.  Only when that
 * finds nothing (rows deleted) is the whole table read again.  Events dated
 * after now() do not count: a future-dated row must not hide a stale group.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "monitor/monitor.h"
#include "monitor/monitor_core.h"
#include "online/online.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(featstore_check_freshness);

/* The timeout of one group's check (featstore.monitor_group_timeout) */
static TimeoutId group_timeout_id = MAX_TIMEOUTS;
static volatile sig_atomic_t group_timed_out = false;

/* What one check of a group found */
typedef struct FreshCheck
{
	const char *group_name;
	bool		has_newest;
	TimestampTz newest;
	bool		full_scan;		/* newest came from reading the whole table */
	char	   *failing_since;	/* since when the worker fails for it; NULL: not */
} FreshCheck;

static void ResolveWithoutSla(void);
static void CheckGroupSafely(const char *group_name, bool served);
static void ArmGroupTimeout(bool arm);
static bool RepeatedWarning(const char *group_name, const char *message);
static void GroupTimeoutHandler(void);
static void CheckGroup(const char *group_name, bool served);
static void ReadNewest(const FsGroup *group, FreshCheck *fc);
static bool NewestSince(const FsGroup *group, bool has_last, TimestampTz last,
						TimestampTz *newest);
static void EvaluateStale(FreshCheck *fc);
static void EvaluateOnline(FreshCheck *fc);
static void RecordCheck(const FreshCheck *fc);
static void OpenOrResolve(bool open, const char *kind, const char *group_name,
						  const char *details);
static int	OwnerSpi(const char *sql, int nargs, Oid *types, Datum *values,
					 const char *nulls);
static bool ServedDatabase(void);

/*
 * MonitorCheckFreshnessCount is MonitorCheckFreshness, returning how many
 * groups it checked.  It evaluates every group's freshness SLA in the
 * caller's transaction (SPI not connected), one group at a time in a
 * subtransaction: a group whose table is dropped or reshaped meanwhile is
 * logged with a WARNING and the others are checked.  A cancel or a
 * statement timeout ends it.
 */
int
MonitorCheckFreshnessCount(void)
{
	List	   *names = NIL;
	ListCell   *lc;
	bool		served = ServedDatabase();
	MemoryContext cxt = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	ResolveWithoutSla();
	OwnerSpi("SELECT group_name FROM featstore.monitor_settings "
			 "WHERE freshness IS NOT NULL ORDER BY group_name", 0, NULL, NULL, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		MemoryContext old = MemoryContextSwitchTo(cxt);

		if (name)
			names = lappend(names, pstrdup(name));
		MemoryContextSwitchTo(old);
	}
	foreach(lc, names)
		CheckGroupSafely((const char *) lfirst(lc), served);
	SPI_finish();
	return list_length(names);
}

/* MonitorCheckFreshness is MonitorCheckFreshnessCount for monitor.h's callers */
void
MonitorCheckFreshness(void)
{
	(void) MonitorCheckFreshnessCount();
}

/*
 * ResolveWithoutSla closes the freshness alerts of groups that no longer
 * have an SLA, and forgets what their checks recorded
 */
static void
ResolveWithoutSla(void)
{
	const char *no_sla =
		"NOT EXISTS (SELECT 1 FROM featstore.monitor_settings s "
		"WHERE s.group_name = %s AND s.freshness IS NOT NULL)";
	List	   *kinds = NIL;
	List	   *groups = NIL;
	ListCell   *lk,
			   *lg;

	OwnerSpi(psprintf("SELECT a.kind, a.group_name FROM featstore.alerts a "
					  "WHERE a.resolved_at IS NULL AND a.kind IN ('stale_data', "
					  "'materialization_lag', 'worker_failing', 'transformation_stale') AND %s",
					  psprintf(no_sla, "a.group_name")), 0, NULL, NULL, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		kinds = lappend(kinds, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		groups = lappend(groups, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
	}
	forboth(lk, kinds, lg, groups)
		MonitorResolveAlert((const char *) lfirst(lk), (const char *) lfirst(lg), NULL);
	OwnerSpi(psprintf("DELETE FROM featstore.freshness_checks f WHERE %s",
					  psprintf(no_sla, "f.group_name")), 0, NULL, NULL, NULL);
}

/*
 * CheckGroupSafely checks one group in a subtransaction, under
 * featstore.monitor_group_timeout: an error, or the timeout, is logged as a
 * WARNING naming the group and undone, and the caller goes on, so that one
 * group whose owner made its reads slow or failing cannot hold up the
 * others' checks.  A cancel or a statement timeout ends the whole check.
 */
static void
CheckGroupSafely(const char *group_name, bool served)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	ArmGroupTimeout(true);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		CheckGroup(group_name, served);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		ArmGroupTimeout(false);
		(void) RepeatedWarning(group_name, NULL);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		bool		timed_out = group_timed_out;

		ArmGroupTimeout(false);
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED && !timed_out)
			ReThrowError(edata);
		ereport(RepeatedWarning(group_name, timed_out ? "timeout" : edata->message) ? DEBUG1 : WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("featstore monitor: could not check the freshness of feature group \"%s\": %s",
						group_name,
						timed_out ? psprintf("it took longer than featstore.monitor_group_timeout (%d ms)",
											 monitor_group_timeout_ms) : edata->message),
				 edata->hint && !timed_out ? errhint("%s", edata->hint) : 0));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * RepeatedWarning says whether the monitor worker already warned about
 * this group with this message at its last check, and remembers message
 * (NULL: the check succeeded), so that a lasting failure is logged once and
 * not at every featstore.monitor_naptime.  A backend's check_freshness()
 * always warns: its caller asked.
 */
static bool
RepeatedWarning(const char *group_name, const char *message)
{
	static List *warned = NIL;	/* of "group\nmessage", in TopMemoryContext */
	ListCell   *lc;
	char	   *entry;
	bool		repeated = false;
	MemoryContext old;

	if (!IsBackgroundWorker)
		return false;
	entry = message ? psprintf("%s\n%s", group_name, message) : NULL;
	foreach(lc, warned)
	{
		char	   *seen = lfirst(lc);
		size_t		len = strlen(group_name);

		if (strncmp(seen, group_name, len) != 0 || seen[len] != '\n')
			continue;
		repeated = entry != NULL && strcmp(seen, entry) == 0;
		warned = foreach_delete_current(warned, lc);
		pfree(seen);
		break;
	}
	if (entry)
	{
		old = MemoryContextSwitchTo(TopMemoryContext);
		warned = lappend(warned, pstrdup(entry));
		MemoryContextSwitchTo(old);
	}
	return repeated;
}

/*
 * ArmGroupTimeout starts (arm) or stops the timeout of one group's check.
 * Its handler cancels the query as a cancel request does, and says so in
 * group_timed_out, so that the check tells its own timeout from a cancel.
 */
static void
ArmGroupTimeout(bool arm)
{
	if (group_timeout_id == MAX_TIMEOUTS)
		group_timeout_id = RegisterTimeout(USER_TIMEOUT, GroupTimeoutHandler);
	if (!arm)
	{
		disable_timeout(group_timeout_id, false);
		/* a timeout that fired as the group's check ended cancels nothing */
		if (group_timed_out)
			QueryCancelPending = false;
		group_timed_out = false;
		return;
	}
	group_timed_out = false;
	if (monitor_group_timeout_ms > 0)
		enable_timeout_after(group_timeout_id, monitor_group_timeout_ms);
}

/* GroupTimeoutHandler is the group timeout's handler: a signal handler */
static void
GroupTimeoutHandler(void)
{
	group_timed_out = true;
	QueryCancelPending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
}

/* CheckGroup evaluates one group's SLA and records what it saw */
static void
CheckGroup(const char *group_name, bool served)
{
	FsGroup    *group = RegistryLookupGroup(group_name, true);
	FreshCheck	fc;

	/* dropped meanwhile: its settings and alerts went with it */
	if (group == NULL)
		return;
	memset(&fc, 0, sizeof(fc));
	fc.group_name = group->name;
	ReadNewest(group, &fc);
	EvaluateStale(&fc);
	if (served && group->online)
		EvaluateOnline(&fc);
	else
	{
		OpenOrResolve(false, MONITOR_ALERT_MATERIALIZATION_LAG, group->name, NULL);
		OpenOrResolve(false, MONITOR_ALERT_WORKER_FAILING, group->name, NULL);
	}
	RecordCheck(&fc);
}

/*
 * ReadNewest finds the group's newest event up to now(), asking only for
 * those at or after the last one seen, and the whole table when that finds
 * none (the rows were deleted) or nothing was seen yet.
 */
static void
ReadNewest(const FsGroup *group, FreshCheck *fc)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(group->name)};
	bool		has_last = false;
	TimestampTz last = 0;

	RegistryCheckGroupTable(group);
	OwnerSpi("SELECT newest_event FROM featstore.freshness_checks WHERE group_name = $1",
			 1, types, values, NULL);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		has_last = !isnull;
		if (has_last)
			last = DatumGetTimestampTz(d);
	}
	fc->has_newest = NewestSince(group, has_last, last, &fc->newest);
	if (!fc->has_newest && has_last)
		fc->has_newest = NewestSince(group, false, 0, &fc->newest);
	fc->full_scan = !has_last || !fc->has_newest || fc->newest < last;
}

/*
 * NewestSince reads max(timestamp) of the group's events up to now() and,
 * with has_last, at or after last, as the owner of the group's table (for
 * a group FROM a source, of its view: the group's owner, who reads the
 * source).  False if there is none.
 */
static bool
NewestSince(const FsGroup *group, bool has_last, TimestampTz last, TimestampTz *newest)
{
	const char *column = group->source ? group->source->timestamp_column : FS_EVENT_TS_COLUMN;
	const char *relation = group->source ?
		quote_qualified_identifier(group->source->schema_name, group->source->relation_name) :
		quote_qualified_identifier(group->schema_name, group->table_name);
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(last)};
	Oid			save_userid;
	int			save_sec;
	bool		isnull = true;
	Datum		d;
	int			rc;

	if (!OidIsValid(group->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("history table of feature group \"%s\" does not exist", group->name)));
	FeatstoreBeginAsTableOwner(group->relid, &save_userid, &save_sec);
	rc = SPI_execute_with_args(psprintf("SELECT pg_catalog.max(%s) FROM %s WHERE %s <= pg_catalog.now()%s%s%s",
										quote_identifier(column), relation,
										quote_identifier(column),
										has_last ? " AND " : "",
										has_last ? quote_identifier(column) : "",
										has_last ? " >= $1" : ""),
							   has_last ? 1 : 0, types, values, NULL, true, 1);
	FeatstoreEndAsTableOwner(save_userid, save_sec);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "featstore could not read the newest event of feature group \"%s\"",
			 group->name);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		*newest = DatumGetTimestampTz(d);
	return !isnull;
}

/*
 * EvaluateStale opens or resolves stale_data (the newest event against the
 * SLA) and, for a transformation group, transformation_stale
 */
static void
EvaluateStale(FreshCheck *fc)
{
	Oid			types[2] = {TEXTOID, TIMESTAMPTZOID};
	Datum		values[2] = {CStringGetTextDatum(fc->group_name), TimestampTzGetDatum(fc->newest)};
	char		nulls[2] = {' ', fc->has_newest ? ' ' : 'n'};
	bool		stale;
	bool		transform_stale;
	bool		isnull;
	char	   *stale_details;
	char	   *transform_details;

	OwnerSpi("SELECT $2 IS NULL OR now() - $2 > s.freshness, "
			 "json_build_object('newest', $2, 'sla', s.freshness_text, "
			 "'age', extract(epoch FROM now() - $2))::text, "
			 "t.group_name IS NOT NULL AND coalesce(t.last_success_at, t.created_at) < now() - s.freshness, "
			 "json_build_object('last_success', t.last_success_at, 'sla', s.freshness_text, "
			 "'consecutive_failures', t.consecutive_failures, 'last_error_at', t.last_error_at)::text "
			 "FROM featstore.monitor_settings s "
			 "LEFT JOIN featstore.transformations t ON t.group_name = s.group_name "
			 "WHERE s.group_name = $1 AND s.freshness IS NOT NULL",
			 2, types, values, nulls);
	/* the SLA was removed meanwhile: ResolveWithoutSla does the rest next time */
	if (SPI_processed != 1)
		return;
	stale = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	stale_details = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	transform_stale = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3,
												 &isnull)) && !isnull;
	transform_details = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	OpenOrResolve(stale, MONITOR_ALERT_STALE_DATA, fc->group_name, stale_details);
	OpenOrResolve(transform_stale, MONITOR_ALERT_TRANSFORMATION_STALE, fc->group_name,
				  transform_details);
}

/*
 * EvaluateOnline opens or resolves materialization_lag and worker_failing
 * of an online group, from featstore.materialization_status.  How long the
 * worker has been failing is the earlier of when a check first saw it
 * failing (freshness_checks.worker_failing_since) and, for a state of the
 * whole worker, when it entered that state.
 */
static void
EvaluateOnline(FreshCheck *fc)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(fc->group_name), Int32GetDatum(monitor_worker_grace_s)};
	bool		isnull;
	bool		lagging;
	bool		failing;
	char	   *lag_details;
	char	   *failing_details;

	/* a scalar subquery: the function's estimate of 1000 rows would multiply the plan's cost */
	OwnerSpi("SELECT coalesce(m.lag_now > s.freshness, false), "
			 "json_build_object('lag', extract(epoch FROM m.lag_now), 'sla', s.freshness_text, "
			 "'queue_depth', m.queue_depth, 'oldest_enqueued', m.oldest_enqueued)::text, "
			 "x.since IS NOT NULL AND now() - x.since >= make_interval(secs => $2), "
			 "json_build_object('worker_state', m.worker_state, 'since', x.since)::text, x.since "
			 "FROM (SELECT greatest(ms.lag, now() - ms.oldest_enqueued) AS lag_now, ms.queue_depth, "
			 "ms.oldest_enqueued, ms.worker_state, fc.worker_failing_since AS seen_since, "
			 "(SELECT w.state_since FROM featstore.online_worker_status() w LIMIT 1) AS state_since "
			 "FROM featstore.materialization_status ms "
			 "LEFT JOIN featstore.freshness_checks fc ON fc.group_name = ms.group_name "
			 "WHERE ms.group_name = $1) m "
			 "CROSS JOIN LATERAL (SELECT CASE WHEN m.worker_state IN ('idle', 'pushing') THEN NULL "
			 "WHEN m.worker_state = 'error' THEN coalesce(m.seen_since, now()) "
			 "ELSE least(coalesce(m.seen_since, now()), coalesce(m.state_since, now())) END AS since) x "
			 "JOIN featstore.monitor_settings s ON s.group_name = $1",
			 2, types, values, NULL);
	if (SPI_processed != 1)
		return;
	lagging = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	lag_details = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	failing = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	failing_details = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	fc->failing_since = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5);
	OpenOrResolve(lagging, MONITOR_ALERT_MATERIALIZATION_LAG, fc->group_name, lag_details);
	OpenOrResolve(failing, MONITOR_ALERT_WORKER_FAILING, fc->group_name, failing_details);
}

/*
 * RecordCheck remembers what the check saw in featstore.freshness_checks:
 * the newest event (for the next incremental read and for group_health)
 * and since when the worker fails for the group
 */
static void
RecordCheck(const FreshCheck *fc)
{
	Oid			types[4] = {TEXTOID, TIMESTAMPTZOID, BOOLOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', fc->has_newest ? ' ' : 'n', ' ', fc->failing_since ? ' ' : 'n'};

	values[0] = CStringGetTextDatum(fc->group_name);
	values[1] = TimestampTzGetDatum(fc->newest);
	values[2] = BoolGetDatum(fc->full_scan);
	values[3] = fc->failing_since ? CStringGetTextDatum(fc->failing_since) : (Datum) 0;
	OwnerSpi("INSERT INTO featstore.freshness_checks AS f (group_name, checked_at, newest_event, "
			 "full_scan_at, worker_failing_since) "
			 "VALUES ($1, now(), $2, CASE WHEN $3 THEN now() END, $4::timestamptz) "
			 "ON CONFLICT (group_name) DO UPDATE SET checked_at = EXCLUDED.checked_at, "
			 "newest_event = EXCLUDED.newest_event, "
			 "full_scan_at = coalesce(EXCLUDED.full_scan_at, f.full_scan_at), "
			 "worker_failing_since = EXCLUDED.worker_failing_since",
			 4, types, values, nulls);
}

/* OpenOrResolve raises the alert of kind when open, else resolves it */
static void
OpenOrResolve(bool open, const char *kind, const char *group_name, const char *details)
{
	if (open)
		MonitorRaiseAlert(kind, group_name, NULL, details);
	else
		MonitorResolveAlert(kind, group_name, NULL);
}

/*
 * OwnerSpi runs one query on featstore's own tables as the extension
 * owner and returns its SPI result code; SPI is connected
 */
static int
OwnerSpi(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	Oid			save_userid;
	int			save_sec;
	int			rc;

	FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	FeatstoreEndRegistryWrite(save_userid, save_sec);
	if (rc < 0)
		elog(ERROR, "featstore monitor query failed: %s", SPI_result_code_string(rc));
	return rc;
}

/*
 * ServedDatabase says whether the online store serves this database (the
 * filter featstore.database admits it) with a worker (featstore
 * preloaded): only then does materialization_status answer
 */
static bool
ServedDatabase(void)
{
	return monitor_preloaded && OnlineServesDatabase();
}

/*
 * featstore_check_freshness is featstore.check_freshness(): the monitor's
 * freshness check, now, in the caller's transaction; it returns how many
 * groups with an SLA it checked.  featstore_editor, since it opens and
 * resolves alerts of every group; what it finds is shown only as alerts.
 */
Datum
featstore_check_freshness(PG_FUNCTION_ARGS)
{
	FeatstoreRequireEditor();
	PG_RETURN_INT32(MonitorCheckFreshnessCount());
}
