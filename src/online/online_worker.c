/*
 * online_worker.c
 *		The background worker that keeps Redis equal to the point-in-time rule
 *		at now() for every online group: its registration, its main loop, its
 *		Redis connection, and Redis' identity.
 *
 * Each iteration of the loop (re)connects to Redis if needed and runs one
 * batch (online_batch.c), which writes through online_push.c.  Between
 * batches the worker sleeps until the first of: a commit's wake-up, the poll
 * interval, the next revisit, the next retry of a group in error, and the
 * next check of Redis' identity.  The settings are online_guc.c's, the
 * shared state online_status.c's.
 */
#include "postgres.h"

#include <hiredis/hiredis.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "online/online.h"
#include "online/online_worker.h"
#include "registry/registry.h"
#include "transform/transform.h"

/* The worker's connection and its script, kept across iterations */
static RedisConn *worker_conn = NULL;
static char *worker_script_sha = NULL;

/* Redis' run_id, and whether the queue already reflects a change of it */
static char *worker_run_id = NULL;
static bool run_id_checked = false;

/* When the worker next asks Redis which process it is */
static TimestampTz next_identity_check = 0;

/* The last error the worker logged, so a repeating one is logged once */
static char last_logged_error[ONLINE_ERRMSG_LEN];

static void WorkerExit(int code, Datum arg);
static MemoryContext WorkerSetup(Oid dboid);
static void LeaveIfNoExtension(void);
static void LogLeftBatch(int64 left_id, int left_rows, const char *left_group);
static void ReloadConfigIfPending(void);
static bool EnsureConnected(MemoryContext batchcxt, bool *outage_logged, int *backoff_ms);
static bool RunBatch(MemoryContext batchcxt, bool *more);
static void BatchAborted(MemoryContext batchcxt);
static long SleepMs(void);
static void CheckRedisAlive(void);
static char *ParseRunId(const RedisResult *res);
static bool WorkerConnect(void);
static bool ConnectFailed(char *err);
static void CheckRedisIdentity(void);

/*
 * OnlineInit defines the settings and, when preloaded, the shared status
 * area and the worker
 */
void
OnlineInit(void)
{
	OnlineDefineSettings();
	OnlineCaptureInit();
	if (!process_shared_preload_libraries_in_progress)
		return;
	OnlineStatusShmemInit();
	/* the launcher starts one worker per database where featstore is installed */
	OnlineLauncherRegister();
	OnlineLauncherHooks();
}

/* WorkerExit unpublishes the worker and closes its connection */
static void
WorkerExit(int code, Datum arg)
{
	OnlineWorkerDetach();
	WorkerDisconnect();
}

/* OnlineWorkerMain is the materialization worker's entry point */
void
OnlineWorkerMain(Datum main_arg)
{
	MemoryContext batchcxt = WorkerSetup(DatumGetObjectId(main_arg));
	int			backoff_ms = 0;
	bool		outage_logged = false;

	for (;;)
	{
		bool		more = false;
		bool		failed;
		long		wait_ms;

		CHECK_FOR_INTERRUPTS();
		ReloadConfigIfPending();
		/* cleared before the batch's snapshot: later commits set it again */
		OnlineTakeWakeup();
		/* scratch of the last batch, of a connection attempt or of a check */
		MemoryContextReset(batchcxt);
		/* scheduled transformations need no Redis: they write history tables */
		TransformRunDue();

		failed = !EnsureConnected(batchcxt, &outage_logged, &backoff_ms) ||
			!RunBatch(batchcxt, &more);
		LeaveIfNoExtension();
		if (failed)
		{
			/* a Redis that comes back is met within a second; errors wait longer */
			bool		outage = (OnlineWorkerStateNow() == ONLINE_STATE_REDIS_DOWN);

			backoff_ms = Min(Max(backoff_ms * 2, 100),
							 outage ? IDENTITY_CHECK_MS : BACKOFF_MAX_MS);
			/* a scheduled transformation needs no Redis: wake for it still */
			wait_ms = Min(backoff_ms,
						  Max(TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
															  TransformNextDue()), 1));
		}
		else
		{
			backoff_ms = 0;
			last_logged_error[0] = '\0';
			if (more || OnlineWakeupPending())
				continue;
			wait_ms = SleepMs();
		}

		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * LeaveIfNoExtension ends the worker when its last batch found featstore
 * not installed (DROP EXTENSION): the launcher stops the database's monitor
 * and looks for CREATE EXTENSION there again
 */
static void
LeaveIfNoExtension(void)
{
	if (OnlineWorkerStateNow() != ONLINE_STATE_WAITING_EXTENSION)
		return;
	ereport(LOG,
			(errmsg("featstore online worker: featstore is not installed in database \"%s\"; the worker stops",
					OnlineWorkerDatabaseName()),
			 errdetail("The launcher starts it again after CREATE EXTENSION featstore.")));
	OnlineWorkerNoExtension();
	proc_exit(0);
}

/*
 * WorkerSetup publishes the worker of database dboid (the launcher's
 * bgw_main_arg), connects it there with the settings its queries rely on,
 * and returns the memory context of batches
 */
static MemoryContext
WorkerSetup(Oid dboid)
{
	int64		left_id;
	int			left_rows;
	char		left_group[NAMEDATALEN];

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	OnlineWorkerAttach(dboid, &left_id, &left_rows, left_group);
	before_shmem_exit(WorkerExit, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	/* "featstore online worker <database>", as the launcher named it */
	pgstat_report_appname(MyBgworkerEntry->bgw_name);

	/*
	 * The worker holds superuser rights, and its queries name operators and
	 * functions without a schema (id = ANY ($1), keys = f.k, unnest ...):
	 * a database or role setting of search_path must not let a schema that
	 * others can write stand in for pg_catalog, as autovacuum also pins it.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	LogLeftBatch(left_id, left_rows, left_group);

	/*
	 * The worker's own commits need no WAL flush: losing one in a crash only
	 * leaves a pushed batch queued (pushed again, harmlessly) or an enqueue
	 * undone together with the run_id that caused it (redone).  Users'
	 * commits, which carry the queue rows, keep their own setting.  The one
	 * exception, the record of an attempt, forces its own flush.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_USERSET, PGC_S_OVERRIDE);
	/* values stored as text take one style, whatever postgresql.conf says */
	SetConfigOption("datestyle", ONLINE_DATESTYLE, PGC_USERSET, PGC_S_OVERRIDE);
	SetConfigOption("intervalstyle", ONLINE_INTERVALSTYLE, PGC_USERSET, PGC_S_OVERRIDE);
	SetConfigOption("extra_float_digits", ONLINE_FLOAT_DIGITS, PGC_USERSET, PGC_S_OVERRIDE);
	FeatstoreWorkerYieldLocks();

	BatchInit();
	return AllocSetContextCreate(TopMemoryContext, "featstore online batch",
								 ALLOCSET_DEFAULT_SIZES);
}

/*
 * LogLeftBatch says that the previous worker exited (not crashed: that
 * resets shared memory) in the middle of a batch, if it did
 */
static void
LogLeftBatch(int64 left_id, int left_rows, const char *left_group)
{
	if (left_rows <= 0)
		return;
	ereport(LOG,
			(errmsg_plural("featstore online worker: the previous worker stopped in the middle of a batch of %d queue row from id %lld (feature group \"%s\")",
						   "featstore online worker: the previous worker stopped in the middle of a batch of %d queue rows from id %lld (feature group \"%s\")",
						   left_rows, left_rows, (long long) left_id, left_group),
			 errdetail("They are retried one at a time; a row the worker stops on %d times in a row is parked.",
					   ONLINE_MAX_ATTEMPTS)));
}

/* ReloadConfigIfPending rereads the configuration after a SIGHUP */
static void
ReloadConfigIfPending(void)
{
	if (!ConfigReloadPending)
		return;
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	/* connection settings may have changed */
	WorkerDisconnect();
}

/*
 * EnsureConnected checks, when due, that the connection is still to the
 * same Redis process, and (re)connects when there is none; false if Redis
 * is unavailable.  An outage is logged when it starts and when it ends.
 */
static bool
EnsureConnected(MemoryContext batchcxt, bool *outage_logged, int *backoff_ms)
{
	bool		connected;

	if (worker_conn != NULL && GetCurrentTimestamp() >= next_identity_check)
	{
		MemoryContextSwitchTo(batchcxt);
		CheckRedisAlive();
		MemoryContextSwitchTo(TopMemoryContext);
	}
	if (worker_conn != NULL)
		return true;

	MemoryContextSwitchTo(batchcxt);
	connected = WorkerConnect();
	MemoryContextSwitchTo(TopMemoryContext);
	if (connected)
	{
		if (*outage_logged)
			ereport(LOG,
					(errmsg("featstore online worker: Redis is reachable again; catching up")));
		*outage_logged = false;
		*backoff_ms = 0;
		return true;
	}
	if (!*outage_logged)
	{
		OnlineShared snap;

		OnlineCopyWorkerStatus(&snap);
		ereport(LOG,
				(errmsg("featstore online worker: Redis is unavailable: %s", snap.last_error),
				 errdetail("Changes wait in featstore.online_queue; retrying with backoff up to %d ms.",
						   IDENTITY_CHECK_MS)));
		*outage_logged = true;
	}
	return false;
}

/*
 * RunBatch runs one batch; false if it failed (an error, or Redis), *more
 * whether the queue may hold more ready work
 */
static bool
RunBatch(MemoryContext batchcxt, bool *more)
{
	volatile bool ok = true;
	volatile bool found_more = false;

	PG_TRY();
	{
		found_more = WorkerBatch(batchcxt);
		if (worker_conn == NULL)
			ok = false;
	}
	PG_CATCH();
	{
		BatchAborted(batchcxt);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(TopMemoryContext);
	OnlineClearBusy();
	*more = found_more;
	return ok;
}

/*
 * BatchAborted handles an error outside any group's step (the queue itself,
 * say).  Logged once while it repeats, without the query's text; the
 * batch's rows keep the attempt, so a row that keeps failing this way is
 * retried alone and finally parked.
 */
static void
BatchAborted(MemoryContext batchcxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(batchcxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	WorkerLogError(edata->message, edata->hint);
	OnlineSetWorkerState(ONLINE_STATE_ERROR, edata->message);
	BatchRecordError(edata->message);
	/* calls may have been streamed: their replies would be out of step */
	WorkerDisconnect();
}

/*
 * WorkerLogError logs an error that failed a whole batch, unless it is the
 * one logged last: a repeating error is logged once
 */
void
WorkerLogError(const char *message, const char *hint)
{
	if (strncmp(last_logged_error, message, sizeof(last_logged_error) - 1) == 0)
		return;
	ereport(LOG,
			(errmsg("featstore online worker: %s", message),
			 hint ? errhint("%s", hint) : 0,
			 errdetail("The batch stays queued and is retried with backoff; a repeating error is logged once.")));
	strlcpy(last_logged_error, message, sizeof(last_logged_error));
}

/*
 * SleepMs returns how long to sleep when the queue holds nothing ready: until
 * the first of the poll interval, the next revisit of a future-dated row,
 * the next retry of a group in error and the next identity check of Redis.
 * It allocates nothing: it runs between batches, in long-lived memory.
 */
static long
SleepMs(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz wake = TimestampTzPlusMilliseconds(now, online_poll_interval_ms);
	TimestampTz revisit = BatchNextRevisit();
	TimestampTz retry_at = BatchEarliestRetry();
	TimestampTz transform_at = TransformNextDue();

	if (revisit != 0 && revisit < wake)
		wake = revisit;
	if (retry_at != 0 && retry_at < wake)
		wake = retry_at;
	if (transform_at != 0 && transform_at < wake)
		wake = transform_at;
	if (worker_conn != NULL && next_identity_check < wake)
		wake = next_identity_check;
	return Max(TimestampDifferenceMilliseconds(now, wake), 1);
}

/* WorkerRedis returns the worker's Redis connection, NULL if it has none */
RedisConn *
WorkerRedis(void)
{
	return worker_conn;
}

/* WorkerScriptSha returns the SHA1 of the compare-and-set script Redis has */
const char *
WorkerScriptSha(void)
{
	return worker_script_sha;
}

/*
 * WorkerDisconnect closes the worker's Redis connection; the next iteration
 * reconnects
 */
void
WorkerDisconnect(void)
{
	RedisClose(worker_conn);
	worker_conn = NULL;
}

/*
 * CheckRedisAlive asks Redis which process it is (INFO server), every
 * IDENTITY_CHECK_MS: a Redis that restarted while nothing was written would
 * otherwise go unnoticed until the next write.  A broken connection is
 * closed, so the loop reconnects (and WorkerConnect reads the new run_id); a
 * new run_id on a live connection (a proxy's failover) is taken the same
 * way.  Either makes the next batch compare it with the recorded one.
 */
static void
CheckRedisAlive(void)
{
	RedisCommand cmd;
	RedisResult res;
	char	   *err = NULL;
	char	   *run_id;

	next_identity_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), IDENTITY_CHECK_MS);
	RedisCommandSet(&cmd, 2, "INFO", (size_t) 4, "server", (size_t) 6);
	if (!RedisRun(worker_conn, 1, &cmd, &res, online_redis_timeout_ms, &err))
	{
		WorkerDisconnect();
		OnlineSetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
		return;
	}
	run_id = ParseRunId(&res);
	if (run_id == NULL || (worker_run_id != NULL && strcmp(run_id, worker_run_id) == 0))
		return;
	if (worker_run_id)
		pfree(worker_run_id);
	worker_run_id = MemoryContextStrdup(TopMemoryContext, run_id);
	run_id_checked = false;
}

/* ParseRunId returns the run_id of an INFO server reply (palloc'd), or NULL */
static char *
ParseRunId(const RedisResult *res)
{
	char	   *p;

	if (res->type != REDIS_REPLY_STRING)
		return NULL;
	p = strstr(res->str, "run_id:");
	if (p == NULL)
		return NULL;
	p += strlen("run_id:");
	return pnstrdup(p, strcspn(p, "\r\n"));
}

/*
 * WorkerConnect opens the worker's Redis connection, loads the script and
 * reads which Redis process this is: a new one may have lost every key
 */
static bool
WorkerConnect(void)
{
	RedisOptions opts;
	RedisCommand cmd;
	RedisResult res;
	char	   *err = NULL;
	const char *script = OnlineCasScript();

	OnlineSetWorkerState(ONLINE_STATE_CONNECTING, NULL);
	if (!OnlineRedisOptions(&opts, &err))
		return ConnectFailed(err);
	worker_conn = RedisOpen(&opts, &err);
	if (worker_conn == NULL)
		return ConnectFailed(err);
	RedisCommandSet(&cmd, 3, "SCRIPT", (size_t) 6, "LOAD", (size_t) 4, script, strlen(script));
	if (!RedisRun(worker_conn, 1, &cmd, &res, online_redis_timeout_ms, &err))
		return ConnectFailed(err);
	if (res.type != REDIS_REPLY_STRING)
		return ConnectFailed(psprintf("Redis refused the featstore script: %s",
									  res.str ? res.str : "unexpected reply"));
	if (worker_script_sha)
		pfree(worker_script_sha);
	worker_script_sha = MemoryContextStrdup(TopMemoryContext, res.str);

	RedisCommandSet(&cmd, 2, "INFO", (size_t) 4, "server", (size_t) 6);
	if (!RedisRun(worker_conn, 1, &cmd, &res, online_redis_timeout_ms, &err))
		return ConnectFailed(err);
	if (worker_run_id)
		pfree(worker_run_id);
	worker_run_id = ParseRunId(&res);
	if (worker_run_id)
		worker_run_id = MemoryContextStrdup(TopMemoryContext, worker_run_id);
	run_id_checked = false;
	next_identity_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), IDENTITY_CHECK_MS);
	/* the state stays "connecting" until the next batch has looked at the queue */
	return true;
}

/* ConnectFailed drops a connection attempt that failed with err: false */
static bool
ConnectFailed(char *err)
{
	WorkerDisconnect();
	OnlineSetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
	return false;
}

/*
 * WorkerCheckRedisIdentity makes the queue reflect a Redis process the
 * worker has not checked yet; runs inside a batch's first transaction
 */
void
WorkerCheckRedisIdentity(void)
{
	if (run_id_checked)
		return;
	CheckRedisIdentity();
	run_id_checked = true;
}

/*
 * CheckRedisIdentity rematerializes every online group when the worker
 * meets a Redis process other than the one it last wrote to (its run_id is
 * recorded in featstore.online_redis_state): a restarted Redis without
 * persistence, or a failover, may have lost keys that nothing else would
 * bring back.  The groups come from the registry.
 */
static void
CheckRedisIdentity(void)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	int			ret;
	char	   *known = NULL;
	int			nonline = 0;
	ListCell   *lc;

	if (worker_run_id == NULL)
		return;
	ret = SPI_execute("SELECT redis_run_id FROM featstore.online_redis_state", true, 1);
	if (ret == SPI_OK_SELECT && SPI_processed == 1)
		known = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (known != NULL && strcmp(known, worker_run_id) == 0)
		return;

	/* an offline group is not built into an OnlineGroup: its table is not needed */
	foreach(lc, RegistryListOnlineGroupNames())
	{
		FsGroup    *fs = RegistryLookupGroup((char *) lfirst(lc), true);

		/* the list and the lookup are two reads: the group may have changed */

		if (fs && fs->online)
		{
			OnlineEnqueueGroup(OnlineGroupFromRegistry(fs), DT_NOBEGIN, true);
			nonline++;
		}
	}
	if (known != NULL && nonline > 0)
		ereport(LOG,
				(errmsg("featstore online worker: Redis is a new process (run_id %s); rematerializing %d online groups",
						worker_run_id, nonline)));

	args[0] = CStringGetTextDatum(worker_run_id);
	ret = SPI_execute_with_args("UPDATE featstore.online_redis_state SET redis_run_id = $1, seen_at = pg_catalog.now()",
								1, types, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not record the Redis run_id: SPI error %d", ret);
}
