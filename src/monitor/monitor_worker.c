/*
 * monitor_worker.c
 *		The monitor's background worker (issue 11), "featstore monitor", and
 *		its settings.  The launcher (src/online/online_launcher.c) starts one
 *		in each database it serves, beside that database's materialization
 *		worker, and starts it again when it exits.
 *
 * Its loop runs, each in its own transaction and each bounded by
 * featstore.monitor_statement_timeout: the freshness check every
 * featstore.monitor_naptime; the statistics and skew checks that are due.
 * Between them it sleeps on its latch until the earliest due time.  An
 * error is logged and the loop goes on; SIGTERM ends it, a cancel
 * (pg_cancel_backend) ends the current unit only.  It runs as the
 * bootstrap superuser with search_path pinned, like the online worker, and
 * reads users' tables only as their owners (the units' own rule).  It never
 * runs in the online worker: a statistics run may read a day of history
 * and must not delay Redis.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "monitor/monitor.h"
#include "monitor/monitor_core.h"
#include "offline/offline.h"
#include "online/online.h"

/* The settings */
bool		monitor_enabled = true;
int			monitor_naptime_ms = 10000;
int			monitor_statement_timeout_ms = 300000;
int			monitor_worker_grace_s = 60;
int			monitor_group_timeout_ms = 60000;
bool		monitor_preloaded = false;

/* How often the worker applies the statistics' retention (MonitorPurgeStats) */
#define MONITOR_PURGE_MS (3600 * 1000L)

/* How long the worker waits before it looks again for CREATE EXTENSION */
#define MONITOR_INSTALL_POLL_MS 1000

/* What the worker is waiting for, so that each wait is logged once */
typedef enum MonitorWait
{
	MONITOR_WAIT_STARTING,		/* nothing logged yet: the first state is */
	MONITOR_WAIT_NONE,
	MONITOR_WAIT_EXTENSION,
	MONITOR_WAIT_UPDATE,
	MONITOR_WAIT_DISABLED
} MonitorWait;

typedef void (*MonitorUnitFn) (void);

static MonitorWait last_wait = MONITOR_WAIT_STARTING;
static MemoryContext unit_cxt = NULL;

static void MonitorWorkerSetup(Oid dboid);
static void MonitorExit(int code, Datum arg);
static bool MonitorReady(void);
static MonitorWait MonitorInstalledState(void);
static void LogWait(MonitorWait wait);
static long RunDueUnits(TimestampTz *next_fresh);
static void RunUnit(const char *what, MonitorUnitFn fn, bool own_transaction);
static void FreshnessUnit(void);
static bool RepeatedFailure(const char *what, const char *message);
static void ReloadIfPending(void);

/*
 * MonitorInit defines the monitor's settings; _PG_init calls it.  Whether
 * featstore is preloaded is remembered: only then is there an online worker
 * whose state the freshness check can read.
 */
void
MonitorInit(void)
{
	monitor_preloaded = process_shared_preload_libraries_in_progress;
	DefineCustomBoolVariable("featstore.monitor",
							 "Whether the monitor worker runs its checks (freshness, statistics, skew).",
							 "Off, the worker stays connected and idle.",
							 &monitor_enabled, true, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.monitor_naptime",
							"How often the monitor worker checks every group's freshness SLA.",
							NULL, &monitor_naptime_ms, 10000, 100, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.monitor_statement_timeout",
							"Longest time one unit of the monitor worker's work (a freshness check, a call for due statistics or skew checks) may take; 0 means no limit.",
							NULL, &monitor_statement_timeout_ms, 300000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.monitor_group_timeout",
							"Longest time the freshness check of one group may take; past it the group is skipped with a WARNING and the others are checked; 0 means no limit.",
							NULL, &monitor_group_timeout_ms, 60000, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.monitor_worker_grace",
							"How long the online worker may fail for a group before a worker_failing alert opens.",
							NULL, &monitor_worker_grace_s, 60, 0, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}

/* MonitorWorkerMain is the monitor worker's entry point */
void
MonitorWorkerMain(Datum main_arg)
{
	TimestampTz next_fresh = 0;

	MonitorWorkerSetup(DatumGetObjectId(main_arg));
	for (;;)
	{
		long		wait_ms = monitor_naptime_ms;

		/*
		 * A cancel that arrives between units has nothing to cancel; raised
		 * here, outside any unit's PG_TRY, it would end the worker.
		 */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		ReloadIfPending();
		if (!monitor_enabled)
			LogWait(MONITOR_WAIT_DISABLED);
		else if (MonitorReady())
			wait_ms = RunDueUnits(&next_fresh);
		else
			wait_ms = MONITOR_INSTALL_POLL_MS;

		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(wait_ms, 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * MonitorWorkerSetup connects the worker to database dboid (the launcher's
 * bgw_main_arg) with the settings its queries rely on: SIGINT cancels the
 * current unit (StatementCancelHandler, which the statement timeout also
 * uses), and search_path is pinned, as the online worker pins it.  Its pid
 * is published in the database's slot, for DROP DATABASE to signal.
 */
static void
MonitorWorkerSetup(Oid dboid)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	BackgroundWorkerUnblockSignals();
	OnlinePublishMonitor(dboid, MyProcPid);
	before_shmem_exit(MonitorExit, ObjectIdGetDatum(dboid));
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	/* "featstore monitor <database>", as the launcher named it */
	pgstat_report_appname(MyBgworkerEntry->bgw_name);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	/* its queries are small and frequent: compiling one would cost more than it runs */
	SetConfigOption("jit", "off", PGC_USERSET, PGC_S_OVERRIDE);
	FeatstoreWorkerYieldLocks();
	unit_cxt = AllocSetContextCreate(TopMemoryContext, "featstore monitor unit",
									 ALLOCSET_DEFAULT_SIZES);
}

/*
 * RunDueUnits runs what is due and returns how long to sleep: until the
 * next freshness check, or sooner when statistics, a skew check or the
 * hourly retention fall due.  The statistics and skew entry points (parts
 * stats and ops) open their own transactions, one per period or check, and
 * never raise; the retention runs once an hour.
 */
static long
RunDueUnits(TimestampTz *next_fresh)
{
	static TimestampTz next_purge = 0;
	static TimestampTz stats_due = 0;
	static TimestampTz stats_asked = 0;
	static TimestampTz next_partitions = 0;
	TimestampTz next;

	if (GetCurrentTimestamp() >= *next_fresh)
	{
		RunUnit("the freshness check", FreshnessUnit, false);
		*next_fresh = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), monitor_naptime_ms);
	}
	/*
	 * The statistics' next due time reads the schedule in a transaction:
	 * asked when it has come, or once per naptime for new groups and
	 * settings, and again at once after a run.
	 */
	if (GetCurrentTimestamp() >= stats_due ||
		TimestampDifferenceExceeds(stats_asked, GetCurrentTimestamp(), monitor_naptime_ms))
	{
		stats_due = MonitorNextStatsDue();
		stats_asked = GetCurrentTimestamp();
	}
	if (GetCurrentTimestamp() >= stats_due)
	{
		RunUnit("the statistics that are due", MonitorRunDueStats, true);
		stats_due = MonitorNextStatsDue();
		stats_asked = GetCurrentTimestamp();
	}
	if (GetCurrentTimestamp() >= MonitorNextSkewDue())
		RunUnit("the skew checks that are due", MonitorRunDueSkewChecks, true);
	if (GetCurrentTimestamp() >= next_purge)
	{
		RunUnit("the statistics' retention", MonitorPurgeStats, true);
		next_purge = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), MONITOR_PURGE_MS);
	}
	/* partitioned history (issue 14): range partitions made ahead, retention */
	if (GetCurrentTimestamp() >= next_partitions)
	{
		RunUnit("the partition maintenance", OfflineMaintainAllPartitions, false);
		next_partitions = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													  offline_partition_naptime_ms);
	}
	next = Min(*next_fresh, next_purge);
	next = Min(next, next_partitions);
	next = Min(next, stats_due);
	next = Min(next, MonitorNextSkewDue());
	return TimestampDifferenceMilliseconds(GetCurrentTimestamp(), next);
}

/*
 * RunUnit runs one unit of the monitor's work, in a transaction of its own
 * unless the unit manages its own (own_transaction), under the statement
 * timeout.  An error, a cancel or a timeout is logged and undone; the loop
 * goes on.
 */
static void
RunUnit(const char *what, MonitorUnitFn fn, bool own_transaction)
{
	MemoryContextReset(unit_cxt);
	MemoryContextSwitchTo(unit_cxt);
	PG_TRY();
	{
		if (monitor_statement_timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, monitor_statement_timeout_ms);
		pgstat_report_activity(STATE_RUNNING, psprintf("featstore monitor: %s", what));
		if (own_transaction)
			fn();
		else
		{
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
			fn();
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
		disable_timeout(STATEMENT_TIMEOUT, false);
		(void) RepeatedFailure(what, NULL);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(unit_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		/* a cancel reached us here and must not end the next unit too */
		QueryCancelPending = false;
		ereport(RepeatedFailure(what, edata->message) ? DEBUG1 : LOG,
				(errcode(edata->sqlerrcode),
				 errmsg("featstore monitor: %s failed: %s", what, edata->message),
				 edata->detail ? errdetail("%s", edata->detail) : 0));
	}
	PG_END_TRY();
	/* a timeout that fired as the unit ended must not cancel the next one */
	QueryCancelPending = false;
	MemoryContextSwitchTo(TopMemoryContext);
}

/*
 * RepeatedFailure says whether the unit what failed with the same message
 * the last time it ran, and remembers message (NULL: it succeeded), so
 * that a lasting failure is logged once, not at every round
 */
static bool
RepeatedFailure(const char *what, const char *message)
{
	static char last_what[64];
	static char last_message[256];
	bool		repeated;

	repeated = message != NULL && strcmp(last_what, what) == 0 &&
		strncmp(last_message, message, sizeof(last_message) - 1) == 0;
	if (message == NULL)
	{
		if (strcmp(last_what, what) == 0)
			last_what[0] = '\0';
		return false;
	}
	strlcpy(last_what, what, sizeof(last_what));
	strlcpy(last_message, message, sizeof(last_message));
	return repeated;
}

/* FreshnessUnit is the freshness check, run in RunUnit's transaction */
static void
FreshnessUnit(void)
{
	MonitorCheckFreshness();
}

/*
 * MonitorReady says whether featstore, with its monitoring tables, is
 * installed in this database at the library's version; while it is not,
 * the worker waits and says so once
 */
static bool
MonitorReady(void)
{
	MonitorWait wait = MONITOR_WAIT_NONE;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		wait = MonitorInstalledState();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		wait = MONITOR_WAIT_EXTENSION;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(TopMemoryContext);
	LogWait(wait);
	return wait == MONITOR_WAIT_NONE;
}

/* MonitorInstalledState says what the worker waits for, in a transaction */
static MonitorWait
MonitorInstalledState(void)
{
	Oid			nsp = FeatstoreSchemaOid(true);
	char	   *installed;

	if (!OidIsValid(nsp))
		return MONITOR_WAIT_EXTENSION;
	installed = FeatstoreInstalledVersion();
	if (installed == NULL)
		return MONITOR_WAIT_EXTENSION;
	if (strcmp(installed, FEATSTORE_VERSION) != 0 ||
		!OidIsValid(get_relname_relid("freshness_checks", nsp)))
		return MONITOR_WAIT_UPDATE;
	return MONITOR_WAIT_NONE;
}

/* LogWait logs what the worker waits for, once per change */
static void
LogWait(MonitorWait wait)
{
	if (wait == last_wait)
		return;
	last_wait = wait;
	if (wait == MONITOR_WAIT_EXTENSION)
		ereport(LOG,
				(errmsg("featstore monitor: waiting for CREATE EXTENSION featstore in database \"%s\"",
						OnlineWorkerDatabaseName())));
	else if (wait == MONITOR_WAIT_UPDATE)
		ereport(LOG,
				(errmsg("featstore monitor: waiting for ALTER EXTENSION featstore UPDATE"),
				 errdetail("The library is version %s.", FEATSTORE_VERSION)));
	else if (wait == MONITOR_WAIT_DISABLED)
		ereport(LOG,
				(errmsg("featstore monitor: featstore.monitor is off; no checks run")));
	else
		ereport(LOG, (errmsg("featstore monitor: running")));
}

/* MonitorExit unpublishes the monitor's pid */
static void
MonitorExit(int code, Datum arg)
{
	OnlinePublishMonitor(DatumGetObjectId(arg), 0);
}

/* ReloadIfPending rereads the configuration after a SIGHUP */
static void
ReloadIfPending(void)
{
	if (!ConfigReloadPending)
		return;
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
}
