/*
 * online_launcher.c
 *		The launcher (issue 13): a background worker that connects to no
 *		database and runs, in each database where featstore is installed,
 *		an online (materialization) worker and a monitor worker, as
 *		dynamic background workers it restarts when they exit.
 *
 * The launcher reads pg_database (a shared catalog, readable without a
 * database).  Whether featstore is installed in a database is a per-database
 * catalog fact, so a short-lived "scout" worker connects there and answers in
 * shared memory, one scout at a time, again every SCOUT_INTERVAL_MS for a
 * database without featstore and at once after any commit of CREATE
 * EXTENSION (the object access hook below sets the launcher's latch).  The
 * workers of a database stop when it is dropped (DROP DATABASE signals them
 * itself, so it is not kept waiting), when featstore is dropped from it (the
 * online worker then leaves and says why), or when featstore.database no
 * longer admits it.  featstore.max_online_workers bounds the databases
 * served: each takes a status slot (online_status.c) for its life.  This is
 * the pattern of TimescaleDB's and pg_cron's launchers.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "online/online.h"

/*
 * Seconds between a worker's exit and its next start: what the static
 * worker's bgw_restart_time was, so a failing worker is retried as often
 */
#define ONLINE_WORKER_RESTART_SECS 5

/* How often the launcher looks at pg_database */
#define LAUNCHER_POLL_MS 1000

/* How often a database without featstore is scouted again */
#define SCOUT_INTERVAL_MS 5000

/* The two workers of a database */
#define NCHILDREN 2
static const char *const child_function[NCHILDREN] = {"OnlineWorkerMain", "MonitorWorkerMain"};
static const char *const child_type[NCHILDREN] = {"featstore online worker", "featstore monitor"};

/*
 * The launcher's own side of each entry of online_launcher->dbs: the
 * handles of its workers while they run, when each may start again, when
 * the database is scouted next
 */
typedef struct LauncherDbLocal
{
	BackgroundWorkerHandle *handle[NCHILDREN];
	TimestampTz next_start[NCHILDREN];
	TimestampTz next_scout;
	bool		slots_logged;
} LauncherDbLocal;

static LauncherDbLocal local[ONLINE_LAUNCHER_MAX_DBS];
static BackgroundWorkerHandle *scout_handle = NULL;
static int	unserved_logged = 0;
static bool waiting_logged = false;

/* A backend's CREATE EXTENSION, told to the launcher when it commits */
static bool poke_at_commit = false;
static object_access_hook_type prev_object_access_hook = NULL;

static void DescribeWorker(BackgroundWorker *w, const char *function,
						   const char *type, const char *dbname, int restart_secs);
static void RefreshDatabases(void);
static int	ScanDatabases(Oid *oids, NameData *names, int max);
static void AddDatabase(Oid dboid, const char *name);
static void ReapChildren(TimestampTz now);
static void ReapScout(TimestampTz now);
static void StartScout(TimestampTz now, TimestampTz *wake);
static void SuperviseDatabase(int i, TimestampTz now, TimestampTz *wake);
static void StartChild(int i, int k, TimestampTz now);
static void ForgetStoppedDatabases(void);
static void LogBound(void);
static void SetDbState(int i, OnlineDbState state, bool served);
static const char *DbStateName(const OnlineLauncherDb *db);
static void LauncherWait(long timeout_ms);
static void LauncherReload(void);
static void LauncherExit(int code, Datum arg);
static void LauncherObjectAccess(ObjectAccessType access, Oid classId, Oid objectId,
								 int subId, void *arg);
static void LauncherXactCallback(XactEvent event, void *arg);

/*
 * OnlineLauncherRegister registers the launcher as a static background
 * worker; called from _PG_init while featstore is preloaded
 */
void
OnlineLauncherRegister(void)
{
	BackgroundWorker launcher;

	/* a database connection of no database: shared catalogs only */
	DescribeWorker(&launcher, "OnlineLauncherMain", "featstore online launcher", NULL,
				   ONLINE_WORKER_RESTART_SECS);
	RegisterBackgroundWorker(&launcher);
}

/*
 * OnlineLauncherHooks installs, in every backend of a preloaded featstore,
 * what tells the launcher and the workers about catalog changes: a DROP
 * DATABASE signals the database's workers to leave, a committed CREATE
 * EXTENSION sets the launcher's latch
 */
void
OnlineLauncherHooks(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = LauncherObjectAccess;
	RegisterXactCallback(LauncherXactCallback, NULL);
}

/*
 * LauncherObjectAccess is the object access hook.  DROP DATABASE calls it
 * before it waits for the database's sessions to leave (5 seconds, and it
 * signals autovacuum only): the database's workers are asked to leave now.
 */
static void
LauncherObjectAccess(ObjectAccessType access, Oid classId, Oid objectId,
					 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access == OAT_DROP && classId == DatabaseRelationId)
		OnlineStopDatabaseWorkers(objectId);
	else if (access == OAT_POST_CREATE && classId == ExtensionRelationId)
		poke_at_commit = true;
}

/* LauncherXactCallback tells the launcher of a committed CREATE EXTENSION */
static void
LauncherXactCallback(XactEvent event, void *arg)
{
	Latch	   *latch = NULL;

	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		poke_at_commit = false;
	if (event != XACT_EVENT_COMMIT || !poke_at_commit)
		return;
	poke_at_commit = false;
	if (online_launcher == NULL)
		return;
	SpinLockAcquire(&online_launcher->mutex);
	online_launcher->rescan = true;
	latch = online_launcher->latch;
	SpinLockRelease(&online_launcher->mutex);
	if (latch)
		SetLatch(latch);
}

/*
 * DescribeWorker fills in a featstore background worker of this type that
 * runs function for database dbname (NULL: the launcher) and is restarted
 * by the postmaster after restart_secs.  Its name, which pg_stat_activity
 * shows as application_name, names the database.
 */
static void
DescribeWorker(BackgroundWorker *w, const char *function, const char *type,
			   const char *dbname, int restart_secs)
{
	memset(w, 0, sizeof(*w));
	w->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w->bgw_start_time = BgWorkerStart_RecoveryFinished;
	w->bgw_restart_time = restart_secs;
	snprintf(w->bgw_library_name, BGW_MAXLEN, "featstore");
	snprintf(w->bgw_function_name, BGW_MAXLEN, "%s", function);
	if (dbname)
		snprintf(w->bgw_name, BGW_MAXLEN, "%s %s", type, dbname);
	else
		snprintf(w->bgw_name, BGW_MAXLEN, "%s", type);
	snprintf(w->bgw_type, BGW_MAXLEN, "%s", type);
	if (dbname)
		strlcpy(w->bgw_extra, dbname, BGW_EXTRALEN);
}

/*
 * OnlineWorkerDatabaseName names the database of a worker the launcher
 * started (kept in its bgw_extra), for messages outside a transaction
 */
const char *
OnlineWorkerDatabaseName(void)
{
	return MyBgworkerEntry ? MyBgworkerEntry->bgw_extra : "";
}

/*
 * OnlineLauncherMain is the launcher's entry point: once a second, or when
 * a worker or scout stops or a CREATE EXTENSION commits, it follows
 * pg_database, scouts, and starts and stops workers.  SIGTERM ends it (and
 * its workers); SIGHUP rereads the configuration.
 */
void
OnlineLauncherMain(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	before_shmem_exit(LauncherExit, (Datum) 0);
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("featstore online launcher");
	SpinLockAcquire(&online_launcher->mutex);
	online_launcher->latch = MyLatch;
	online_launcher->ndbs = 0;
	SpinLockRelease(&online_launcher->mutex);
	/* a predecessor's slots: its workers were stopped with it */
	OnlineReleaseAllSlots();

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		TimestampTz wake = TimestampTzPlusMilliseconds(now, LAUNCHER_POLL_MS);

		RefreshDatabases();
		ReapChildren(now);
		ReapScout(now);
		for (int i = 0; i < online_launcher->ndbs; i++)
			SuperviseDatabase(i, now, &wake);
		StartScout(now, &wake);
		ForgetStoppedDatabases();
		LogBound();
		LauncherWait(Max(TimestampDifferenceMilliseconds(GetCurrentTimestamp(), wake), 1));
	}
}

/*
 * RefreshDatabases follows pg_database: a database the filter admits and
 * the launcher does not know yet is added (to be scouted), one that is gone
 * or no longer admitted is marked stopping.  After a committed CREATE
 * EXTENSION every database without featstore is scouted again at once.
 */
static void
RefreshDatabases(void)
{
	Oid			oids[ONLINE_LAUNCHER_MAX_DBS];
	NameData	names[ONLINE_LAUNCHER_MAX_DBS];
	int			n = ScanDatabases(oids, names, ONLINE_LAUNCHER_MAX_DBS);
	bool		rescan;

	SpinLockAcquire(&online_launcher->mutex);
	rescan = online_launcher->rescan;
	online_launcher->rescan = false;
	SpinLockRelease(&online_launcher->mutex);

	for (int i = 0; i < online_launcher->ndbs; i++)
	{
		OnlineLauncherDb *db = &online_launcher->dbs[i];
		bool		listed = false;

		for (int j = 0; j < n && !listed; j++)
			listed = (oids[j] == db->dboid);
		SpinLockAcquire(&online_launcher->mutex);
		db->stopping = !listed;
		SpinLockRelease(&online_launcher->mutex);
		if (rescan && db->state != ONLINE_DB_INSTALLED)
			local[i].next_scout = 0;
	}
	for (int j = 0; j < n; j++)
		AddDatabase(oids[j], NameStr(names[j]));
}

/*
 * ScanDatabases lists the databases the filter featstore.database admits
 * (connectable, not templates, not left invalid by an interrupted DROP
 * DATABASE), from a heap scan of pg_database in a transaction of its own,
 * as autovacuum's get_database_list does: the launcher has no database, so
 * no syscache to ask.  A filter naming a missing database is logged once.
 */
static int
ScanDatabases(Oid *oids, NameData *names, int max)
{
	const char *filter = online_database ? online_database : "";
	int			n = 0;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (n < max && HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datistemplate || !db->datallowconn)
			continue;
#if PG_VERSION_NUM >= 150004
		if (database_is_invalid_form(db))
			continue;
#endif
		if (filter[0] != '\0' && strcmp(NameStr(db->datname), filter) != 0)
			continue;
		oids[n] = db->oid;
		names[n++] = db->datname;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();

	if (filter[0] != '\0' && n == 0 && !waiting_logged)
		ereport(LOG,
				(errmsg("featstore online worker: waiting for database \"%s\" to be created", filter),
				 errdetail("featstore.database names the one database whose online feature groups the workers serve.")));
	else if (filter[0] != '\0' && n > 0 && waiting_logged)
		ereport(LOG,
				(errmsg("featstore online worker: database \"%s\" exists; starting the worker", filter)));
	if (filter[0] != '\0' && (n == 0) != waiting_logged)
		waiting_logged = (n == 0);
	return n;
}

/* AddDatabase adds a database the launcher does not know yet, to be scouted */
static void
AddDatabase(Oid dboid, const char *name)
{
	OnlineLauncherDb *db;
	int			i;

	for (i = 0; i < online_launcher->ndbs; i++)
		if (online_launcher->dbs[i].dboid == dboid)
			return;
	if (i >= ONLINE_LAUNCHER_MAX_DBS)
		return;
	memset(&local[i], 0, sizeof(LauncherDbLocal));
	SpinLockAcquire(&online_launcher->mutex);
	db = &online_launcher->dbs[i];
	memset(db, 0, sizeof(OnlineLauncherDb));
	db->dboid = dboid;
	strlcpy(db->name, name, NAMEDATALEN);
	db->state = ONLINE_DB_UNKNOWN;
	online_launcher->ndbs = i + 1;
	SpinLockRelease(&online_launcher->mutex);
}

/*
 * ReapChildren forgets the workers that have stopped, planning each one's
 * next start.  An online worker that left because featstore is not
 * installed (DROP EXTENSION) makes its database one to scout again.
 */
static void
ReapChildren(TimestampTz now)
{
	for (int i = 0; i < online_launcher->ndbs; i++)
	{
		for (int k = 0; k < NCHILDREN; k++)
		{
			LauncherDbLocal *l = &local[i];
			pid_t		pid;
			int			worker_pid;
			int			monitor_pid;
			bool		no_extension;

			if (l->handle[k] == NULL ||
				GetBackgroundWorkerPid(l->handle[k], &pid) != BGWH_STOPPED)
				continue;
			pfree(l->handle[k]);
			l->handle[k] = NULL;
			l->next_start[k] = TimestampTzPlusMilliseconds(now, ONLINE_WORKER_RESTART_SECS * 1000L);
			OnlineSlotPids(online_launcher->dbs[i].dboid, &worker_pid, &monitor_pid,
						   &no_extension);
			if (k == 0 && no_extension)
			{
				SetDbState(i, ONLINE_DB_ABSENT, online_launcher->dbs[i].served);
				l->next_scout = TimestampTzPlusMilliseconds(now, SCOUT_INTERVAL_MS);
			}
		}
	}
}

/*
 * ReapScout takes the answer of the scout that stopped: featstore is
 * installed in its database, or not (no answer: it could not connect)
 */
static void
ReapScout(TimestampTz now)
{
	pid_t		pid;
	Oid			dboid;
	int			result;

	if (scout_handle == NULL || GetBackgroundWorkerPid(scout_handle, &pid) != BGWH_STOPPED)
		return;
	pfree(scout_handle);
	scout_handle = NULL;
	SpinLockAcquire(&online_launcher->mutex);
	dboid = online_launcher->scout_db;
	result = online_launcher->scout_result;
	SpinLockRelease(&online_launcher->mutex);
	for (int i = 0; i < online_launcher->ndbs; i++)
	{
		if (online_launcher->dbs[i].dboid != dboid)
			continue;
		local[i].next_scout = TimestampTzPlusMilliseconds(now, SCOUT_INTERVAL_MS);
		if (result == 1)
		{
			local[i].next_start[0] = local[i].next_start[1] = 0;
			SetDbState(i, ONLINE_DB_INSTALLED, online_launcher->dbs[i].served);
		}
		else
			SetDbState(i, ONLINE_DB_ABSENT, online_launcher->dbs[i].served);
	}
}

/*
 * StartScout starts the scout of the first database due for one (not known
 * to have featstore), unless one runs: one at a time keeps the launcher's
 * cost to one short backend per SCOUT_INTERVAL_MS and database
 */
static void
StartScout(TimestampTz now, TimestampTz *wake)
{
	BackgroundWorker w;

	if (scout_handle != NULL)
		return;
	for (int i = 0; i < online_launcher->ndbs; i++)
	{
		OnlineLauncherDb *db = &online_launcher->dbs[i];

		if (db->state == ONLINE_DB_INSTALLED || db->stopping)
			continue;
		if (local[i].next_scout > now)
		{
			*wake = Min(*wake, local[i].next_scout);
			continue;
		}
		DescribeWorker(&w, "OnlineScoutMain", "featstore online scout", db->name,
					   BGW_NEVER_RESTART);
		w.bgw_main_arg = ObjectIdGetDatum(db->dboid);
		w.bgw_notify_pid = MyProcPid;
		SpinLockAcquire(&online_launcher->mutex);
		online_launcher->scout_db = db->dboid;
		online_launcher->scout_result = -1;
		SpinLockRelease(&online_launcher->mutex);
		if (!RegisterDynamicBackgroundWorker(&w, &scout_handle))
		{
			scout_handle = NULL;
			local[i].next_scout = TimestampTzPlusMilliseconds(now, SCOUT_INTERVAL_MS);
		}
		return;
	}
}

/*
 * OnlineScoutMain is the scout's entry point: it connects to the database
 * of its bgw_main_arg, says in shared memory whether featstore is installed
 * there, and exits
 */
void
OnlineScoutMain(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);
	bool		installed;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname(MyBgworkerEntry->bgw_name);
	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("featstore", true));
	CommitTransactionCommand();
	SpinLockAcquire(&online_launcher->mutex);
	if (online_launcher->scout_db == dboid)
		online_launcher->scout_result = installed ? 1 : 0;
	SpinLockRelease(&online_launcher->mutex);
	proc_exit(0);
}

/*
 * SuperviseDatabase runs the workers of a database where featstore is
 * installed, each started again ONLINE_WORKER_RESTART_SECS after it exits,
 * if it has a slot (featstore.max_online_workers); elsewhere it stops them
 * and, once they stopped, frees the slot
 */
static void
SuperviseDatabase(int i, TimestampTz now, TimestampTz *wake)
{
	OnlineLauncherDb *db = &online_launcher->dbs[i];
	LauncherDbLocal *l = &local[i];

	if (db->state != ONLINE_DB_INSTALLED || db->stopping)
	{
		for (int k = 0; k < NCHILDREN; k++)
			if (l->handle[k] != NULL)
				TerminateBackgroundWorker(l->handle[k]);
		if (db->served && l->handle[0] == NULL && l->handle[1] == NULL)
		{
			OnlineReleaseSlot(db->dboid);
			SetDbState(i, db->state, false);
		}
		return;
	}
	if (!db->served)
	{
		if (!OnlineClaimSlot(db->dboid))
			return;
		SetDbState(i, db->state, true);
	}
	for (int k = 0; k < NCHILDREN; k++)
	{
		if (l->handle[k] != NULL)
			continue;
		if (l->next_start[k] > now)
			*wake = Min(*wake, l->next_start[k]);
		else
			StartChild(i, k, now);
	}
}

/*
 * StartChild starts worker k of database i as a dynamic background worker
 * that the launcher is told about (bgw_notify_pid).  The postmaster never
 * restarts it: the launcher does.  Without a free worker slot it says so
 * once and tries again later.
 */
static void
StartChild(int i, int k, TimestampTz now)
{
	OnlineLauncherDb *db = &online_launcher->dbs[i];
	LauncherDbLocal *l = &local[i];
	BackgroundWorker w;

	DescribeWorker(&w, child_function[k], child_type[k], db->name, BGW_NEVER_RESTART);
	w.bgw_main_arg = ObjectIdGetDatum(db->dboid);
	w.bgw_notify_pid = MyProcPid;
	if (RegisterDynamicBackgroundWorker(&w, &l->handle[k]))
	{
		l->slots_logged = false;
		return;
	}
	l->handle[k] = NULL;
	l->next_start[k] = TimestampTzPlusMilliseconds(now, ONLINE_WORKER_RESTART_SECS * 1000L);
	if (!l->slots_logged)
		ereport(LOG,
				(errmsg("%s: could not start the worker for database \"%s\": no free background worker slot",
						child_type[k], db->name),
				 errhint("Raise max_worker_processes (two per served database, plus the launcher and its scout); the launcher tries again every %d seconds.",
						 ONLINE_WORKER_RESTART_SECS)));
	l->slots_logged = true;
}

/*
 * ForgetStoppedDatabases removes the databases that are gone (or no longer
 * admitted) once their workers stopped and their slot is free, keeping the
 * array dense
 */
static void
ForgetStoppedDatabases(void)
{
	for (int i = online_launcher->ndbs - 1; i >= 0; i--)
	{
		OnlineLauncherDb *db = &online_launcher->dbs[i];
		int			last = online_launcher->ndbs - 1;

		if (!db->stopping || db->served || local[i].handle[0] || local[i].handle[1])
			continue;
		SpinLockAcquire(&online_launcher->mutex);
		online_launcher->dbs[i] = online_launcher->dbs[last];
		online_launcher->ndbs = last;
		SpinLockRelease(&online_launcher->mutex);
		local[i] = local[last];
	}
}

/*
 * LogBound publishes how many databases with featstore are not served
 * because featstore.max_online_workers are taken, and logs each new count
 * once
 */
static void
LogBound(void)
{
	int			unserved = 0;

	for (int i = 0; i < online_launcher->ndbs; i++)
		unserved += (online_launcher->dbs[i].state == ONLINE_DB_INSTALLED &&
					 !online_launcher->dbs[i].stopping && !online_launcher->dbs[i].served);
	SpinLockAcquire(&online_launcher->mutex);
	online_launcher->unserved = unserved;
	SpinLockRelease(&online_launcher->mutex);
	if (unserved > 0 && unserved != unserved_logged)
		ereport(LOG,
				(errmsg_plural("featstore online launcher: %d database with featstore is not served: featstore.max_online_workers is %d",
							   "featstore online launcher: %d databases with featstore are not served: featstore.max_online_workers is %d",
							   unserved, unserved, online_max_workers),
				 errhint("Raise featstore.max_online_workers (and max_worker_processes) and restart the server; featstore.online_databases() lists them.")));
	unserved_logged = unserved;
}

/* SetDbState publishes what the launcher knows of database i */
static void
SetDbState(int i, OnlineDbState state, bool served)
{
	SpinLockAcquire(&online_launcher->mutex);
	online_launcher->dbs[i].state = state;
	online_launcher->dbs[i].served = served;
	SpinLockRelease(&online_launcher->mutex);
}

/*
 * LauncherWait sleeps until timeout_ms pass or the latch is set (a worker
 * or the scout stopped, a CREATE EXTENSION committed), answering SIGTERM
 * (through CHECK_FOR_INTERRUPTS) and SIGHUP.  The postmaster's death ends
 * the launcher.
 */
static void
LauncherWait(long timeout_ms)
{
	CHECK_FOR_INTERRUPTS();
	LauncherReload();
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	LauncherReload();
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
	for (int i = 0; i < online_launcher->ndbs; i++)
		for (int k = 0; k < NCHILDREN; k++)
			if (local[i].handle[k] != NULL)
				TerminateBackgroundWorker(local[i].handle[k]);
	SpinLockAcquire(&online_launcher->mutex);
	online_launcher->latch = NULL;
	SpinLockRelease(&online_launcher->mutex);
}

PG_FUNCTION_INFO_V1(online_databases);

/*
 * online_databases is featstore.online_databases(): the databases the
 * launcher follows, one row each, with whether their workers run or why
 * not, from shared memory
 */
Datum
online_databases(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OnlineLauncherDb *dbs;
	int			ndbs;

	InitMaterializedSRF(fcinfo, 0);
	if (online_launcher == NULL)
		return (Datum) 0;
	dbs = palloc(sizeof(OnlineLauncherDb) * ONLINE_LAUNCHER_MAX_DBS);
	SpinLockAcquire(&online_launcher->mutex);
	ndbs = online_launcher->ndbs;
	memcpy(dbs, online_launcher->dbs, sizeof(OnlineLauncherDb) * ndbs);
	SpinLockRelease(&online_launcher->mutex);
	for (int i = 0; i < ndbs; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false};
		int			worker_pid;
		int			monitor_pid;
		bool		no_extension;

		OnlineSlotPids(dbs[i].dboid, &worker_pid, &monitor_pid, &no_extension);
		values[0] = DirectFunctionCall1(namein, CStringGetDatum(dbs[i].name));
		values[1] = CStringGetTextDatum(DbStateName(&dbs[i]));
		values[2] = Int32GetDatum(worker_pid);
		nulls[2] = (worker_pid == 0 || !dbs[i].served);
		values[3] = Int32GetDatum(monitor_pid);
		nulls[3] = (monitor_pid == 0 || !dbs[i].served);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* DbStateName says what the launcher does with a database, for online_databases() */
static const char *
DbStateName(const OnlineLauncherDb *db)
{
	if (db->stopping)
		return "stopping";
	switch (db->state)
	{
		case ONLINE_DB_UNKNOWN:
			return "looking for featstore";
		case ONLINE_DB_ABSENT:
			return "featstore not installed";
		case ONLINE_DB_INSTALLED:
			return db->served ? "served" : "not served: featstore.max_online_workers reached";
	}
	return "unknown";
}
