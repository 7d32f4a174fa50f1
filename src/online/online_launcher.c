/*
 * online_launcher.c
 *		The launcher of the materialization worker and of the monitor
 *		worker (issue 11): a background worker that connects to no database,
 *		waits for featstore.database to exist, and then runs both workers as
 *		dynamic background workers, restarting each when it exits.
 *
 * A static worker connecting to a database that does not exist yet would
 * fail with FATAL at every start, every ONLINE_WORKER_RESTART_SECS.  The
 * launcher reads pg_database (a shared catalog, readable without a
 * database) instead, and says once that it is waiting.  This is the
 * pattern of TimescaleDB's and pg_cron's launchers, and the place where one
 * worker per database can be started later.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "online/online.h"

/*
 * Seconds between the worker's exit and its next start: what the static
 * worker's bgw_restart_time was, so a failing worker is retried as often
 */
#define ONLINE_WORKER_RESTART_SECS 5

/* How often the launcher looks for the database while it is missing */
#define LAUNCHER_POLL_MS 1000

/*
 * The workers this launcher runs in featstore.database: the materialization
 * worker and the monitor (src/monitor/monitor_worker.c), each with its
 * handle while it runs and when it may be started again after it exited
 */
typedef struct LauncherChild
{
	const char *function;
	const char *name;
	BackgroundWorkerHandle *handle;
	TimestampTz next_start;
	bool		slots_logged;
} LauncherChild;

static LauncherChild children[] = {
	{"OnlineWorkerMain", "featstore online worker", NULL, 0, false},
	{"MonitorWorkerMain", "featstore monitor", NULL, 0, false},
};

static void DescribeWorker(BackgroundWorker *w, const char *function,
						   const char *name, int restart_secs);
static bool DatabaseExists(const char *name);
static bool StartWorker(LauncherChild *child, const char *dbname);
static void SuperviseWorkers(const char *dbname);
static bool ReapChildren(void);
static void StopChildren(void);
static void LauncherWait(long timeout_ms);
static void LauncherReload(void);
static void LauncherExit(int code, Datum arg);

/*
 * OnlineLauncherRegister registers the launcher as a static background
 * worker; called from _PG_init while featstore is preloaded
 */
void
OnlineLauncherRegister(void)
{
	BackgroundWorker launcher;

	/* a database connection of no database: shared catalogs only */
	DescribeWorker(&launcher, "OnlineLauncherMain", "featstore online launcher",
				   ONLINE_WORKER_RESTART_SECS);
	RegisterBackgroundWorker(&launcher);
}

/*
 * DescribeWorker fills in a featstore background worker of this name that
 * runs function, connects to a database (or to none: the launcher) and
 * is restarted by the postmaster after restart_secs
 */
static void
DescribeWorker(BackgroundWorker *w, const char *function, const char *name,
			   int restart_secs)
{
	memset(w, 0, sizeof(*w));
	w->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w->bgw_start_time = BgWorkerStart_RecoveryFinished;
	w->bgw_restart_time = restart_secs;
	snprintf(w->bgw_library_name, BGW_MAXLEN, "featstore");
	snprintf(w->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(w->bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(w->bgw_type, BGW_MAXLEN, "%s", name);
}

/*
 * OnlineLauncherMain is the launcher's entry point: it waits for the served
 * database, runs the worker in it until the worker exits, and starts over
 * after ONLINE_WORKER_RESTART_SECS.  SIGTERM ends it (and its worker);
 * SIGHUP rereads the configuration.
 */
void
OnlineLauncherMain(Datum main_arg)
{
	bool		waiting_logged = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	before_shmem_exit(LauncherExit, (Datum) 0);
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("featstore online launcher");

	for (;;)
	{
		char	   *dbname = pstrdup(online_database ? online_database : "");

		if (!DatabaseExists(dbname))
		{
			if (!waiting_logged)
				ereport(LOG,
						(errmsg("featstore online worker: waiting for database \"%s\" to be created",
								dbname),
						 errdetail("featstore.database names the database whose online feature groups the worker serves.")));
			waiting_logged = true;
			LauncherWait(LAUNCHER_POLL_MS);
		}
		else
		{
			if (waiting_logged)
				ereport(LOG,
						(errmsg("featstore online worker: database \"%s\" exists; starting the worker",
								dbname)));
			waiting_logged = false;
			SuperviseWorkers(dbname);
		}
		pfree(dbname);
	}
}

/*
 * DatabaseExists says whether a database of that name exists and can be
 * connected to, from a heap scan of pg_database in a transaction of its
 * own, as autovacuum's get_database_list does: the launcher has no
 * database, so no syscache to ask.  A database left invalid by an
 * interrupted DROP DATABASE counts as missing.
 */
static bool
DatabaseExists(const char *name)
{
	bool		found = false;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (!found && HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		found = strcmp(NameStr(db->datname), name) == 0;
#if PG_VERSION_NUM >= 150004
		found = found && !database_is_invalid_form(db);
#endif
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return found;
}

/*
 * StartWorker starts one of the launcher's workers for dbname as a dynamic
 * background worker that the launcher is told about (bgw_notify_pid).  The
 * postmaster never restarts it: the launcher does, after checking the
 * database again.  Without a free worker slot it says so once and returns
 * false.
 */
static bool
StartWorker(LauncherChild *child, const char *dbname)
{
	BackgroundWorker worker;

	DescribeWorker(&worker, child->function, child->name, BGW_NEVER_RESTART);
	worker.bgw_notify_pid = MyProcPid;
	if (RegisterDynamicBackgroundWorker(&worker, &child->handle))
	{
		child->slots_logged = false;
		return true;
	}
	child->handle = NULL;
	if (!child->slots_logged)
		ereport(LOG,
				(errmsg("%s: could not start the worker for database \"%s\": no free background worker slot",
						child->name, dbname),
				 errhint("Raise max_worker_processes; the launcher tries again every %d seconds.",
						 ONLINE_WORKER_RESTART_SECS)));
	child->slots_logged = true;
	return false;
}

/*
 * SuperviseWorkers runs the workers for dbname: each is started, and
 * started again ONLINE_WORKER_RESTART_SECS after it exits, while the
 * database exists.  It returns when no worker runs and the database is
 * gone, or once featstore.database names another database and the workers
 * have stopped.  The postmaster sets the launcher's latch when a worker
 * starts or stops.
 */
static void
SuperviseWorkers(const char *dbname)
{
	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		TimestampTz wake = TimestampTzPlusMilliseconds(now, LAUNCHER_POLL_MS);
		bool		running = ReapChildren();

		/*
		 * featstore.database takes a restart today; should it change
		 * anyway, the workers are stopped and the new database looked for.
		 */
		if (strcmp(dbname, online_database ? online_database : "") != 0)
		{
			StopChildren();
			if (!running)
				return;
		}
		else
		{
			for (size_t i = 0; i < lengthof(children); i++)
			{
				LauncherChild *child = &children[i];

				if (child->handle != NULL)
					continue;
				if (child->next_start > now)
				{
					wake = Min(wake, child->next_start);
					continue;
				}
				/* a stopped worker starts again only while its database exists */
				if (!DatabaseExists(dbname))
				{
					if (!running)
						return;
					break;
				}
				if (!StartWorker(child, dbname))
					child->next_start = TimestampTzPlusMilliseconds(now,
																	ONLINE_WORKER_RESTART_SECS * 1000L);
				else
					running = true;
			}
		}
		LauncherWait(Max(TimestampDifferenceMilliseconds(GetCurrentTimestamp(), wake), 1));
	}
}

/*
 * ReapChildren forgets the workers that have stopped, planning each one's
 * next start, and says whether any still runs
 */
static bool
ReapChildren(void)
{
	bool		running = false;

	for (size_t i = 0; i < lengthof(children); i++)
	{
		LauncherChild *child = &children[i];
		pid_t		pid;

		if (child->handle == NULL)
			continue;
		if (GetBackgroundWorkerPid(child->handle, &pid) == BGWH_STOPPED)
		{
			pfree(child->handle);
			child->handle = NULL;
			child->next_start = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															ONLINE_WORKER_RESTART_SECS * 1000L);
		}
		else
			running = true;
	}
	return running;
}

/* StopChildren asks every running worker of the launcher to exit */
static void
StopChildren(void)
{
	for (size_t i = 0; i < lengthof(children); i++)
		if (children[i].handle != NULL)
			TerminateBackgroundWorker(children[i].handle);
}

/*
 * LauncherWait sleeps until timeout_ms pass or the latch is set, answering
 * SIGTERM (through CHECK_FOR_INTERRUPTS) and SIGHUP.  The postmaster's death
 * ends the launcher.
 */
static void
LauncherWait(long timeout_ms)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

		CHECK_FOR_INTERRUPTS();
		LauncherReload();
		if (left <= 0)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		LauncherReload();
		/* a worker that stopped ends a supervision wait at once */
		for (size_t i = 0; i < lengthof(children); i++)
		{
			pid_t		pid;

			if (children[i].handle != NULL &&
				GetBackgroundWorkerPid(children[i].handle, &pid) == BGWH_STOPPED)
				return;
		}
	}
}

/* LauncherReload rereads the configuration after a SIGHUP */
static void
LauncherReload(void)
{
	if (!ConfigReloadPending)
		return;
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
}

/*
 * LauncherExit stops the workers this launcher started: a launcher
 * started again must not find a worker of its predecessor still running.
 */
static void
LauncherExit(int code, Datum arg)
{
	StopChildren();
}
