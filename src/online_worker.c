/*
 * online_worker.c
 *		Settings, shared memory and the background worker that keeps Redis
 *		equal to the point-in-time rule at now() for every online group.
 *
 * One iteration of the worker:
 *	1. a short transaction reads a bounded batch of the queue (in id order,
 *	   stopping before a purge) and computes each entity's winner through a
 *	   cursor; finished compare-and-set calls are handed to the socket as
 *	   they are built, never waiting, so Redis works meanwhile;
 *	2. with no transaction open, the rest is sent and every reply collected,
 *	   with a deadline;
 *	3. a second short transaction deletes the batch and schedules entities
 *	   with rows dated in the future for the moment they become current.
 * A failure between 1 and 3 leaves the batch queued, so delivery is
 * at-least-once and the script makes repeats harmless.
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
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "online.h"

/* Settings */
char	   *online_database = NULL;
char	   *online_redis_host = NULL;
int			online_redis_port = 6379;
char	   *online_redis_unix_socket = NULL;
char	   *online_redis_password = NULL;
char	   *online_redis_password_file = NULL;
int			online_redis_db = 0;
bool		online_redis_tls = false;
int			online_redis_timeout_ms = 2000;
char	   *online_key_prefix = NULL;
int			online_batch_size = 10000;
int			online_poll_interval_ms = 1000;

OnlineShared *online_shared = NULL;

/* Commands per pipeline round trip; bounds hiredis' buffers */
#define PUSH_CHUNK 1000
/* Longest wait between reconnection attempts */
#define BACKOFF_MAX_MS 5000

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* One Redis write (or delete) the batch produced */
typedef struct PushItem
{
	int			group_index;
	char	   *key;
	char	   *value;			/* NULL: delete */
	int			value_len;
	bool		force;
	char		ets[24];
	char		cat[24];
	char		expire_ms[24];
} PushItem;

/* Which items one Redis command covers, and how it answers */
typedef struct PushCall
{
	int			first;			/* index of its first item */
	int			n;				/* items covered */
	bool		script;			/* EVALSHA (array of codes), else SET or DEL */
} PushCall;

/* Commands handed to Redis while the batch is still being computed */
typedef struct PushStream
{
	RedisCommand *cmds;			/* at most one per item */
	PushCall   *calls;			/* what each of cmds covers */
	int			ncalls;			/* commands sent so far */
	int			sent_items;		/* items covered by those commands */
	bool		failed;			/* the connection broke while streaming */
	char	   *err;
} PushStream;

/* A queued entity to revisit when its future-dated row becomes current */
typedef struct FutureItem
{
	char	   *group_name;
	Datum	   *keys;			/* the key values, as text datums */
	int			nkeys;
	TimestampTz at;
} FutureItem;

/* Per-group bookkeeping of one batch */
typedef struct BatchGroup
{
	char	   *name;
	TimestampTz oldest_enqueued;	/* of its captured changes; 0: none */
	int64		entities;		/* queued for it (repeats counted) */
	int64		written;
	int64		removed;
	int64		skipped;
} BatchGroup;

/* Where the items of a batch accumulate, and the group being added */
typedef struct BatchItems
{
	MemoryContext batchcxt;
	TimestampTz now;
	PushItem   *items;
	int			nitems;
	int			maxitems;
	FutureItem *futures;
	int			nfutures;
	PushStream *stream;
	const OnlineGroup *group;
	int			group_index;
} BatchItems;

/* A chunk of a whole-group walk that the batch carries */
typedef struct BatchScan
{
	int64		id;				/* its queue row; 0: none */
	char	   *group_name;
	TimestampTz since;
	char	  **resume_after;	/* key values as text; NULL: from the top */
	bool		finished;		/* walked to the end, or the group is gone */
	Datum		last_keys;		/* text[] to resume after, if not finished */
	int			emitted;
} BatchScan;

/* The worker's connection and its script, kept across iterations */
static RedisConn *worker_conn = NULL;
static char *worker_script_sha = NULL;

/* Redis' run_id, and whether the queue already reflects a change of it */
static char *worker_run_id = NULL;
static bool run_id_checked = false;

/* When the earliest scheduled revisit of a future-dated row is due (0: none) */
static TimestampTz next_revisit = 0;

/* Whether the wait for ALTER EXTENSION featstore UPDATE was logged */
static bool mismatch_logged = false;

/* The last error the worker logged, so a repeating one is logged once */
static char last_logged_error[ONLINE_ERRMSG_LEN];

static void OnlineShmemRequest(void);
static void OnlineShmemStartup(void);
static bool CheckRedisTls(bool *newval, void **extra, GucSource source);
static bool CheckKeyPrefix(char **newval, void **extra, GucSource source);
static void SetWorkerState(OnlineWorkerState state, const char *error);
static void WorkerShmemExit(int code, Datum arg);
static bool WorkerConnect(void);
static bool WorkerBatch(MemoryContext batchcxt);
static bool WorkerPurge(const char *group_name, char **err);
static bool WorkerPush(PushStream *stream, PushItem *items, int nitems,
					   BatchGroup *groups, char **err);
static bool WorkerPushSync(PushItem *items, int nitems, BatchGroup *groups, char **err);
static void StreamCalls(PushStream *stream, PushItem *items, int nitems, bool final);
static int	NextCall(RedisCommand *cmd, PushCall *call, PushItem *items, int nitems,
					 int pos, bool final);
static void BuildCasCall(RedisCommand *cmd, PushItem *items, int n);
static bool CountCasReplies(RedisResult *res, PushCall *calls, int ncalls, PushItem *items,
							BatchGroup *groups, bool *noscript, char **err);
static void AddItem(BatchItems *b, const OnlineWinner *w);
static void EmitScanItem(void *arg, const OnlineWinner *w);
static int	RunScanChunk(BatchScan *scan, BatchItems *b, BatchGroup *groups, int ngroups);
static bool SchemaMatchesLibrary(void);
static void ScheduleRevisits(FutureItem *futures, int nfutures);
static bool WinnerRange(const OnlineGroup *group, int64 entities, Datum queued,
						Datum *lo, Datum *hi);
static OnlineGroupStatus *GroupSlot(const char *name);
static void CheckRedisIdentity(void);

/* OnlineInit defines the settings and, when preloaded, the worker */
void
OnlineInit(void)
{
	BackgroundWorker worker;

	/*
	 * PostgreSQL allows PGC_POSTMASTER settings only while preloading; a
	 * backend that loads featstore later (no shared_preload_libraries) must
	 * still come up, so there they become reloadable.  Without preloading
	 * there is no worker, and these settings only serve online reads.
	 */
	GucContext	startup_only = process_shared_preload_libraries_in_progress ?
		PGC_POSTMASTER : PGC_SIGHUP;

	DefineCustomStringVariable("featstore.database",
							   "Database whose online feature groups the materialization worker serves.",
							   NULL, &online_database, "postgres",
							   startup_only, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("featstore.redis_host",
							   "Redis host name or IP address of the online store.",
							   "Use an address or a name in /etc/hosts: name resolution cannot be interrupted.",
							   &online_redis_host, "127.0.0.1",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.redis_port",
							"TCP port of the Redis online store.",
							NULL, &online_redis_port, 6379, 1, 65535,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("featstore.redis_unix_socket",
							   "Unix socket path of Redis; when set, host and port are ignored.",
							   NULL, &online_redis_unix_socket, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	/*
	 * A reload logs every changed setting with its new value, so the password
	 * itself only changes with a restart; rotate it through the file instead.
	 */
	DefineCustomStringVariable("featstore.redis_password",
							   "Password for Redis AUTH (changes need a restart).",
							   "Visible to superusers only; never logged. To rotate without a restart, use featstore.redis_password_file.",
							   &online_redis_password, "",
							   startup_only,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("featstore.redis_password_file",
							   "File whose first line is the Redis AUTH password; read at every connection, and preferred over featstore.redis_password.",
							   NULL, &online_redis_password_file, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.redis_db",
							"Redis database number of the online store.",
							NULL, &online_redis_db, 0, 0, 100000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("featstore.redis_tls",
							 "TLS to Redis (not available: hiredis 0.14 has no TLS support).",
							 "Use a local TLS tunnel such as stunnel and point featstore.redis_host at it.",
							 &online_redis_tls, false,
							 PGC_SIGHUP, 0, CheckRedisTls, NULL, NULL);
	DefineCustomIntVariable("featstore.redis_timeout",
							"Deadline for each Redis connection attempt and round trip.",
							NULL, &online_redis_timeout_ms, 2000, 10, 600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("featstore.redis_key_prefix",
							   "Prefix of every online-store key in Redis.",
							   "After changing it, run featstore.materialize() for each online group.",
							   &online_key_prefix, "fs",
							   PGC_SIGHUP, 0, CheckKeyPrefix, NULL, NULL);
	DefineCustomIntVariable("featstore.online_batch_size",
							"Most entities the materialization worker handles per batch.",
							NULL, &online_batch_size, 10000, 1, 100000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.online_poll_interval",
							"How often the materialization worker looks at the queue when no commit woke it.",
							NULL, &online_poll_interval_ms, 1000, 10, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	OnlineCaptureInit();

	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = OnlineShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = OnlineShmemStartup;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "featstore");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "OnlineWorkerMain");
	snprintf(worker.bgw_name, BGW_MAXLEN, "featstore online worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "featstore online worker");
	RegisterBackgroundWorker(&worker);
}

/* OnlineShmemRequest reserves the shared status area */
static void
OnlineShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(OnlineShared)));
}

/* OnlineShmemStartup creates or attaches the shared status area */
static void
OnlineShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	online_shared = ShmemInitStruct("featstore online store", sizeof(OnlineShared), &found);
	if (!found)
	{
		memset(online_shared, 0, sizeof(OnlineShared));
		SpinLockInit(&online_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* CheckRedisTls refuses TLS, which this hiredis cannot do */
static bool
CheckRedisTls(bool *newval, void **extra, GucSource source)
{
	if (*newval)
	{
		GUC_check_errdetail("hiredis 0.14 (Debian bookworm) has no TLS support.");
		GUC_check_errhint("Run a local TLS tunnel (stunnel, spiped) and point featstore.redis_host at it.");
		return false;
	}
	return true;
}

/* CheckKeyPrefix keeps braces out of the prefix: they would break hash tags */
static bool
CheckKeyPrefix(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || strpbrk(*newval, "{}") != NULL)
	{
		GUC_check_errdetail("The key prefix must be non-empty and contain no braces.");
		return false;
	}
	return true;
}

/* OnlineWakeWorker tells the worker there is new work, without waiting */
void
OnlineWakeWorker(void)
{
	Latch	   *latch;

	if (online_shared == NULL)
		return;
	SpinLockAcquire(&online_shared->mutex);
	online_shared->wakeup_pending = true;
	latch = online_shared->worker_latch;
	SpinLockRelease(&online_shared->mutex);
	if (latch)
		SetLatch(latch);
}

/*
 * OnlineRedisOptions fills Redis connection options from the settings,
 * reading the password file if one is set; false with *err if unreadable.
 */
bool
OnlineRedisOptions(RedisOptions *opts, char **err)
{
	opts->host = online_redis_host;
	opts->port = online_redis_port;
	opts->unix_socket = online_redis_unix_socket;
	opts->password = online_redis_password;
	opts->db = online_redis_db;
	opts->timeout_ms = online_redis_timeout_ms;

	if (online_redis_password_file && online_redis_password_file[0] != '\0')
	{
		FILE	   *f = AllocateFile(online_redis_password_file, "r");
		char		line[1024];

		if (f == NULL)
		{
			*err = psprintf("could not open featstore.redis_password_file \"%s\": %m",
							online_redis_password_file);
			return false;
		}
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		FreeFile(f);
		line[strcspn(line, "\r\n")] = '\0';
		opts->password = pstrdup(line);
	}
	return true;
}

/* OnlineStateName names a worker state for the status view */
const char *
OnlineStateName(OnlineWorkerState state)
{
	switch (state)
	{
		case ONLINE_STATE_STOPPED:
			return "stopped";
		case ONLINE_STATE_STARTING:
			return "starting";
		case ONLINE_STATE_WAITING_EXTENSION:
			return "waiting for CREATE EXTENSION";
		case ONLINE_STATE_WAITING_UPDATE:
			return "waiting for ALTER EXTENSION UPDATE";
		case ONLINE_STATE_CONNECTING:
			return "connecting";
		case ONLINE_STATE_IDLE:
			return "idle";
		case ONLINE_STATE_PUSHING:
			return "pushing";
		case ONLINE_STATE_REDIS_DOWN:
			return "redis unavailable";
		case ONLINE_STATE_ERROR:
			return "error";
	}
	return "unknown";
}

/* OnlineRecordGroupError remembers the latest error of a group */
void
OnlineRecordGroupError(const char *group, const char *msg)
{
	OnlineGroupStatus *slot;

	if (online_shared == NULL)
		return;
	SpinLockAcquire(&online_shared->mutex);
	slot = GroupSlot(group);
	if (slot)
	{
		slot->last_error_at = GetCurrentTimestamp();
		strlcpy(slot->last_error, msg, ONLINE_ERRMSG_LEN);
	}
	SpinLockRelease(&online_shared->mutex);
}

/* GroupSlot finds or claims a group's status slot; caller holds the mutex */
static OnlineGroupStatus *
GroupSlot(const char *name)
{
	OnlineGroupStatus *free_slot = NULL;

	for (int i = 0; i < ONLINE_MAX_GROUPS; i++)
	{
		OnlineGroupStatus *s = &online_shared->groups[i];

		if (s->in_use && strncmp(s->name, name, NAMEDATALEN) == 0)
			return s;
		if (!s->in_use && free_slot == NULL)
			free_slot = s;
	}
	if (free_slot == NULL)
	{
		/* full (many groups dropped over time): reuse the longest idle slot */
		free_slot = &online_shared->groups[0];
		for (int i = 1; i < ONLINE_MAX_GROUPS; i++)
			if (online_shared->groups[i].last_success < free_slot->last_success)
				free_slot = &online_shared->groups[i];
	}
	if (free_slot)
	{
		memset(free_slot, 0, sizeof(OnlineGroupStatus));
		free_slot->in_use = true;
		strlcpy(free_slot->name, name, NAMEDATALEN);
	}
	return free_slot;
}

/* SetWorkerState publishes the worker's state and, if given, its error */
static void
SetWorkerState(OnlineWorkerState state, const char *error)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&online_shared->mutex);
	if (online_shared->state != state)
		online_shared->state_since = now;
	online_shared->state = state;
	if (error)
	{
		online_shared->last_error_at = now;
		strlcpy(online_shared->last_error, error, ONLINE_ERRMSG_LEN);
	}
	SpinLockRelease(&online_shared->mutex);
}

/* WorkerShmemExit unpublishes the worker's latch */
static void
WorkerShmemExit(int code, Datum arg)
{
	SpinLockAcquire(&online_shared->mutex);
	online_shared->worker_latch = NULL;
	online_shared->worker_pid = 0;
	online_shared->state = ONLINE_STATE_STOPPED;
	online_shared->state_since = GetCurrentTimestamp();
	SpinLockRelease(&online_shared->mutex);
	RedisClose(worker_conn);
	worker_conn = NULL;
}

/* OnlineWorkerMain is the materialization worker's entry point */
void
OnlineWorkerMain(Datum main_arg)
{
	MemoryContext batchcxt;
	volatile int backoff_ms = 0;
	volatile bool outage_logged = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	SpinLockAcquire(&online_shared->mutex);
	online_shared->worker_pid = MyProcPid;
	online_shared->worker_latch = MyLatch;
	online_shared->state = ONLINE_STATE_STARTING;
	online_shared->state_since = GetCurrentTimestamp();
	SpinLockRelease(&online_shared->mutex);
	before_shmem_exit(WorkerShmemExit, (Datum) 0);

	BackgroundWorkerInitializeConnection(online_database, NULL, 0);
	pgstat_report_appname("featstore online worker");

	/*
	 * The worker's own commits need no WAL flush: losing one in a crash only
	 * leaves a pushed batch queued (pushed again, harmlessly) or an enqueue
	 * undone together with the run_id that caused it (redone).  Users'
	 * commits, which carry the queue rows, keep their own setting.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_USERSET, PGC_S_OVERRIDE);
	/* values stored as text take one style, whatever postgresql.conf says */
	SetConfigOption("datestyle", ONLINE_DATESTYLE, PGC_USERSET, PGC_S_OVERRIDE);
	SetConfigOption("intervalstyle", ONLINE_INTERVALSTYLE, PGC_USERSET, PGC_S_OVERRIDE);
	SetConfigOption("extra_float_digits", ONLINE_FLOAT_DIGITS, PGC_USERSET, PGC_S_OVERRIDE);

	batchcxt = AllocSetContextCreate(TopMemoryContext, "featstore online batch",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		volatile bool more = false;
		volatile bool failed = false;
		long		wait_ms = online_poll_interval_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* connection settings may have changed */
			RedisClose(worker_conn);
			worker_conn = NULL;
		}

		/* cleared before the batch's snapshot: later commits set it again */
		SpinLockAcquire(&online_shared->mutex);
		online_shared->wakeup_pending = false;
		SpinLockRelease(&online_shared->mutex);

		if (worker_conn == NULL)
		{
			bool		connected;

			/* a connection attempt's scratch memory goes with the next batch */
			MemoryContextReset(batchcxt);
			MemoryContextSwitchTo(batchcxt);
			connected = WorkerConnect();
			MemoryContextSwitchTo(TopMemoryContext);
			if (connected)
			{
				if (outage_logged)
					ereport(LOG,
							(errmsg("featstore online worker: Redis is reachable again; catching up")));
				outage_logged = false;
				backoff_ms = 0;
			}
			else
			{
				if (!outage_logged)
				{
					ereport(LOG,
							(errmsg("featstore online worker: Redis is unavailable: %s",
									online_shared->last_error),
							 errdetail("Changes wait in featstore.online_queue; retrying with backoff up to %d ms.",
									   BACKOFF_MAX_MS)));
					outage_logged = true;
				}
				failed = true;
			}
		}

		if (!failed)
		{
			MemoryContextReset(batchcxt);
			PG_TRY();
			{
				more = WorkerBatch(batchcxt);
				if (worker_conn == NULL)
					failed = true;
			}
			PG_CATCH();
			{
				ErrorData  *edata;

				MemoryContextSwitchTo(batchcxt);
				edata = CopyErrorData();
				EmitErrorReport();
				FlushErrorState();
				AbortCurrentTransaction();
				SetWorkerState(ONLINE_STATE_ERROR, edata->message);
				/* calls may have been streamed: their replies would be out of step */
				RedisClose(worker_conn);
				worker_conn = NULL;
				failed = true;
			}
			PG_END_TRY();
			MemoryContextSwitchTo(TopMemoryContext);
		}

		if (failed)
		{
			backoff_ms = Min(Max(backoff_ms * 2, 100), BACKOFF_MAX_MS);
			wait_ms = backoff_ms;
		}
		else
		{
			backoff_ms = 0;
			last_logged_error[0] = '\0';
			if (more)
				continue;
			SpinLockAcquire(&online_shared->mutex);
			more = online_shared->wakeup_pending;
			SpinLockRelease(&online_shared->mutex);
			if (more)
				continue;
		}

		if (!failed && next_revisit != 0)
		{
			long		until_due = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
																	next_revisit);

			wait_ms = Max(Min(wait_ms, until_due + 1), 1);
		}
		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* WorkerConnect opens the worker's Redis connection and loads the script */
static bool
WorkerConnect(void)
{
	RedisOptions opts;
	RedisCommand cmd;
	RedisResult res;
	char	   *err = NULL;
	const char *script = OnlineCasScript();

	SetWorkerState(ONLINE_STATE_CONNECTING, NULL);
	if (!OnlineRedisOptions(&opts, &err))
	{
		SetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
		return false;
	}
	worker_conn = RedisOpen(&opts, &err);
	if (worker_conn == NULL)
	{
		SetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
		return false;
	}
	RedisCommandSet(&cmd, 3, "SCRIPT", (size_t) 6, "LOAD", (size_t) 4, script, strlen(script));
	if (!RedisRun(worker_conn, 1, &cmd, &res, online_redis_timeout_ms, &err))
	{
		RedisClose(worker_conn);
		worker_conn = NULL;
		SetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
		return false;
	}
	if (res.type != REDIS_REPLY_STRING)
	{
		RedisClose(worker_conn);
		worker_conn = NULL;
		SetWorkerState(ONLINE_STATE_REDIS_DOWN,
					   psprintf("Redis refused the featstore script: %s",
								res.str ? res.str : "unexpected reply"));
		return false;
	}
	if (worker_script_sha)
		pfree(worker_script_sha);
	worker_script_sha = MemoryContextStrdup(TopMemoryContext, res.str);

	/* which Redis process this is: a new one may have lost every key */
	RedisCommandSet(&cmd, 2, "INFO", (size_t) 4, "server", (size_t) 6);
	if (!RedisRun(worker_conn, 1, &cmd, &res, online_redis_timeout_ms, &err))
	{
		RedisClose(worker_conn);
		worker_conn = NULL;
		SetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
		return false;
	}
	if (worker_run_id)
		pfree(worker_run_id);
	worker_run_id = NULL;
	if (res.type == REDIS_REPLY_STRING)
	{
		char	   *p = strstr(res.str, "run_id:");

		if (p)
		{
			p += strlen("run_id:");
			worker_run_id = MemoryContextStrdup(TopMemoryContext,
												pnstrdup(p, strcspn(p, "\r\n")));
		}
	}
	run_id_checked = false;
	SetWorkerState(ONLINE_STATE_IDLE, NULL);
	return true;
}

/*
 * WorkerBatch handles one batch; returns true when the queue may hold more
 * ready work.  On a Redis failure it closes worker_conn and returns false.
 *
 * A batch is the captured entities of queue rows taken in order, up to
 * featstore.online_batch_size, plus one chunk of the first whole-group walk
 * (a "scan" row).  Every value comes from one snapshot and batches reach
 * Redis one after the other, so forced writes land in snapshot order
 * whatever the queue order; only a purge is a barrier.
 */
static bool
WorkerBatch(MemoryContext batchcxt)
{
	MemoryContext oldcxt;
	Oid			qtypes[2] = {TIMESTAMPTZOID, INT4OID};
	Datum		qargs[2];
	TimestampTz now;
	int			ret;
	int64	   *ids;
	int			nids = 0;
	char	   *purge_group = NULL;
	BatchGroup *groups;
	int			ngroups = 0;
	BatchItems	b;
	BatchScan	scan;
	int64		entities = 0;
	bool		full = false;
	char	   *err = NULL;
	PushStream	stream;
	MemoryContext rowcxt;

	/* --- 1. read the batch and compute the winners --- */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());

	if (!OnlineExtensionReady())
	{
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		SetWorkerState(ONLINE_STATE_WAITING_EXTENSION, NULL);
		return false;
	}
	if (!SchemaMatchesLibrary())
	{
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		return false;
	}
	if (!run_id_checked)
	{
		CheckRedisIdentity();
		run_id_checked = true;
	}
	pgstat_report_activity(STATE_RUNNING, "featstore: reading the online queue");

	now = GetCurrentTimestamp();
	qargs[0] = TimestampTzGetDatum(now);
	qargs[1] = Int32GetDatum(online_batch_size);
	/*
	 * Ready rows and due revisits through their own partial indexes: a plain
	 * scan in id order would step over every revisit not yet due, at every
	 * wake-up.
	 */
	ret = SPI_execute_with_args("SELECT id, group_name, kind, entities, enqueued_at, since, resume_after"
								" FROM ((SELECT * FROM featstore.online_queue WHERE not_before IS NULL"
								"        ORDER BY id LIMIT $2)"
								"       UNION ALL"
								"       (SELECT * FROM featstore.online_queue WHERE not_before <= $1"
								"        ORDER BY id LIMIT $2)) q"
								" ORDER BY id LIMIT $2",
								2, qtypes, qargs, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read featstore.online_queue: SPI error %d", ret);

	oldcxt = MemoryContextSwitchTo(batchcxt);
	memset(&scan, 0, sizeof(scan));
	ids = palloc(sizeof(int64) * (SPI_processed + 1));
	groups = palloc0(sizeof(BatchGroup) * (SPI_processed + 2));	/* NULL-terminated, room for a walk */
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *gname = SPI_getvalue(tup, desc, 2);
		char	   *kind = SPI_getvalue(tup, desc, 3);
		int			n = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		TimestampTz enq = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
		int			g;

		/* a purge runs alone, after everything queued before it */
		if (strcmp(kind, "purge") == 0)
		{
			if (nids == 0 && scan.id == 0)
			{
				ids[nids++] = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
				purge_group = gname;
			}
			full = true;
			break;
		}
		if (strcmp(kind, "scan") == 0)
		{
			Datum		since;
			Datum		resume;

			/* one walk at a time; the rest wait for their turn */
			if (scan.id != 0)
				continue;
			scan.id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			scan.group_name = gname;
			since = SPI_getbinval(tup, desc, 6, &isnull);
			scan.since = isnull ? DT_NOBEGIN : DatumGetTimestampTz(since);
			resume = SPI_getbinval(tup, desc, 7, &isnull);
			if (!isnull)
			{
				Datum	   *elems;
				bool	   *enulls;
				int			nelems;

				deconstruct_array(DatumGetArrayTypeP(resume), TEXTOID, -1, false,
								  TYPALIGN_INT, &elems, &enulls, &nelems);
				scan.resume_after = palloc(sizeof(char *) * Max(nelems, 1));
				for (int i = 0; i < nelems; i++)
					scan.resume_after[i] = enulls[i] ? NULL : TextDatumGetCString(elems[i]);
			}
			continue;
		}
		if (entities >= online_batch_size)
		{
			full = true;
			break;
		}
		ids[nids++] = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		entities += n;
		for (g = 0; g < ngroups; g++)
			if (strcmp(groups[g].name, gname) == 0)
				break;
		if (g == ngroups)
		{
			groups[ngroups].name = gname;
			groups[ngroups].oldest_enqueued = enq;
			ngroups++;
		}
		else if (enq < groups[g].oldest_enqueued || groups[g].oldest_enqueued == 0)
			groups[g].oldest_enqueued = enq;
		groups[g].entities += n;
	}
	if (SPI_processed == (uint64) online_batch_size)
		full = true;
	MemoryContextSwitchTo(oldcxt);

	if (nids == 0 && scan.id == 0)
	{
		bool		isnull;
		Datum		due;

		/* sleep no longer than the next revisit of a future-dated row */
		ret = SPI_execute("SELECT pg_catalog.min(not_before) FROM featstore.online_queue"
						  " WHERE not_before IS NOT NULL", true, 1);
		next_revisit = 0;
		if (ret == SPI_OK_SELECT && SPI_processed == 1)
		{
			due = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			if (!isnull)
				next_revisit = DatumGetTimestampTz(due);
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		SetWorkerState(ONLINE_STATE_IDLE, NULL);
		return false;
	}

	memset(&b, 0, sizeof(b));
	b.batchcxt = batchcxt;
	b.now = now;
	b.maxitems = (int) Max(entities + (scan.id != 0 ? online_batch_size : 0), 1);
	b.items = MemoryContextAlloc(batchcxt, sizeof(PushItem) * b.maxitems);
	b.futures = MemoryContextAlloc(batchcxt, sizeof(FutureItem) * b.maxitems);
	b.stream = &stream;
	rowcxt = AllocSetContextCreate(batchcxt, "featstore online row", ALLOCSET_DEFAULT_SIZES);
	memset(&stream, 0, sizeof(stream));
	stream.cmds = MemoryContextAlloc(batchcxt, sizeof(RedisCommand) * b.maxitems);
	stream.calls = MemoryContextAlloc(batchcxt, sizeof(PushCall) * b.maxitems);

	for (int g = 0; g < ngroups && purge_group == NULL; g++)
	{
		OnlineGroup *group;
		StringInfoData entities_sql;
		char	   *sql;
		Oid			types[6] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INT8ARRAYOID, TEXTOID,
		TEXTOID, TEXTOID};
		Datum		args[6];
		Datum	   *iddatums;
		Portal		portal;
		Oid			save_userid;
		int			save_sec_context;

		oldcxt = MemoryContextSwitchTo(batchcxt);
		group = OnlineLoadGroup(groups[g].name, true);
		MemoryContextSwitchTo(oldcxt);
		if (group == NULL || !group->online)
			continue;			/* dropped or offline: its entries just go */
		/* a table that no longer has the registry's shape is not read at all */
		RegistryCheckGroupTable(group->registry);
		b.group = group;
		b.group_index = g;

		/*
		 * One column slice per key column, unnested side by side: reading
		 * keys[i][k] element by element would decompress the array each time.
		 */
		initStringInfo(&entities_sql);
		appendStringInfoString(&entities_sql, "SELECT pg_catalog.array_agg(ARRAY[");
		for (int k = 0; k < group->nkeys; k++)
			appendStringInfo(&entities_sql, "e.k%d, ", k + 1);
		appendStringInfoString(&entities_sql,
							   "e.force::pg_catalog.text, e.future::pg_catalog.text]) FROM (SELECT ");
		for (int k = 0; k < group->nkeys; k++)
			appendStringInfo(&entities_sql, "u.k%d, ", k + 1);
		appendStringInfoString(&entities_sql,
							   "pg_catalog.bool_or(q.force) AS force, pg_catalog.bool_or(q.future) AS future"
							   " FROM featstore.online_queue q, ROWS FROM (");
		for (int k = 0; k < group->nkeys; k++)
			appendStringInfo(&entities_sql, "%spg_catalog.unnest(q.keys[:][%d:%d])",
							 k > 0 ? ", " : "", k + 1, k + 1);
		appendStringInfoString(&entities_sql, ") u(");
		for (int k = 0; k < group->nkeys; k++)
			appendStringInfo(&entities_sql, "%sk%d", k > 0 ? ", " : "", k + 1);
		appendStringInfoString(&entities_sql,
							   ") WHERE q.id = ANY($1) AND q.group_name = $2 AND q.kind = 'keys' GROUP BY ");
		for (int k = 0; k < group->nkeys; k++)
			appendStringInfo(&entities_sql, "%s%d", k > 0 ? ", " : "", k + 1);
		appendStringInfoString(&entities_sql, ") e");

		iddatums = palloc(sizeof(Datum) * nids);
		for (int i = 0; i < nids; i++)
			iddatums[i] = Int64GetDatum(ids[i]);
		args[0] = TimestampTzGetDatum(now);
		args[1] = TimestampTzGetDatum(group->ttl_usecs > 0 ? now - group->ttl_usecs : DT_NOBEGIN);
		args[2] = PointerGetDatum(construct_array(iddatums, nids, INT8OID, 8, true, TYPALIGN_DOUBLE));
		args[3] = CStringGetTextDatum(group->name);

		/*
		 * The queued entities are read here, as the worker; the group's table
		 * below, as its owner, who may not read the queue: the winner queries
		 * get the entities as one array, [entity][k1..kn, force, future].
		 */
		ret = SPI_execute_with_args(entities_sql.data, 2, types + 2, args + 2, NULL, true, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "could not read the queued entities of group \"%s\": SPI error %d",
				 group->name, ret);
		{
			bool		isnull;
			Datum		queued = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (isnull)
				continue;
			args[2] = datumCopy(queued, false, -1);
		}
		types[2] = TEXTARRAYOID;
		resetStringInfo(&entities_sql);
		appendStringInfoString(&entities_sql, "SELECT ");
		for (int k = 0; k < group->nkeys; k++)
			appendStringInfo(&entities_sql, "u.k%d, ", k + 1);
		appendStringInfoString(&entities_sql,
							   "u.force::pg_catalog.bool AS force, u.future::pg_catalog.bool AS future"
							   " FROM ROWS FROM (");
		for (int k = 0; k < group->nkeys + 2; k++)
			appendStringInfo(&entities_sql, "%spg_catalog.unnest($3[:][%d:%d])",
							 k > 0 ? ", " : "", k + 1, k + 1);
		appendStringInfoString(&entities_sql, ") u(");
		for (int k = 0; k < group->nkeys; k++)
			appendStringInfo(&entities_sql, "k%d, ", k + 1);
		appendStringInfoString(&entities_sql, "force, future)");

		pgstat_report_activity(STATE_RUNNING, "featstore: computing online winners");
		FeatstoreBeginAsTableOwner(group->relid, &save_userid, &save_sec_context);
		if (WinnerRange(group, groups[g].entities, args[2], &args[4], &args[5]))
		{
			int			save_nestlevel = NewGUCNestLevel();

			/*
			 * A fresh table has no statistics, and a nested loop over the
			 * range's DISTINCT ON would rescan it once per entity: join by
			 * hash or merge only, for the planning of this query alone.  The
			 * penalty that disables nested loops would also set off JIT
			 * compilation, which costs more than the whole query.
			 */
			elog(DEBUG1, "featstore online worker: winners of group \"%s\" from one pass over its key range",
				 group->name);
			sql = OnlineWinnerRangeQuery(group, entities_sql.data);
			(void) set_config_option("enable_nestloop", "off", PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
			(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, 0, false);
			portal = SPI_cursor_open_with_args(NULL, sql, 6, types, args, NULL, true, 0);
			AtEOXact_GUC(true, save_nestlevel);
		}
		else
		{
			sql = OnlineWinnerQuery(group, entities_sql.data);
			portal = SPI_cursor_open_with_args(NULL, sql, 4, types, args, NULL, true, 0);
		}
		for (;;)
		{
			SPI_cursor_fetch(portal, true, PUSH_CHUNK);
			if (SPI_processed == 0)
				break;
			for (uint64 r = 0; r < SPI_processed && b.nitems < b.maxitems; r++)
			{
				HeapTuple	tup = SPI_tuptable->vals[r];
				TupleDesc	desc = SPI_tuptable->tupdesc;
				int			nk = group->nkeys;
				bool		isnull;
				Datum		ets;
				Datum		next;
				OnlineWinner w;

				/* a row's scratch goes with the next row; what stays is copied */
				MemoryContextReset(rowcxt);
				oldcxt = MemoryContextSwitchTo(rowcxt);
				memset(&w, 0, sizeof(w));
				w.key_values = palloc(sizeof(char *) * nk);
				for (int k = 0; k < nk; k++)
					w.key_values[k] = SPI_getvalue(tup, desc, k + 1);
				w.force = DatumGetBool(SPI_getbinval(tup, desc, nk + 1, &isnull));
				ets = SPI_getbinval(tup, desc, nk + 2, &isnull);
				if (!isnull)
				{
					w.found = true;
					w.event_ts = DatumGetTimestampTz(ets);
					w.created_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, nk + 3, &isnull));
					w.values = palloc(sizeof(Datum) * Max(group->nfeatures, 1));
					w.nulls = palloc(sizeof(bool) * Max(group->nfeatures, 1));
					for (int f = 0; f < group->nfeatures; f++)
						w.values[f] = SPI_getbinval(tup, desc, nk + 4 + f, &w.nulls[f]);
				}
				next = SPI_getbinval(tup, desc, desc->natts, &isnull);
				if (!isnull)
				{
					w.has_future = true;
					w.next_future = DatumGetTimestampTz(next);
				}
				AddItem(&b, &w);
				MemoryContextSwitchTo(oldcxt);
			}
			SPI_freetuptable(SPI_tuptable);

			/*
			 * Hand Redis what is ready while the next rows are computed.  This
			 * never waits on Redis, so the transaction is never held by it.
			 */
			StreamCalls(&stream, b.items, b.nitems, false);
		}
		SPI_cursor_close(portal);
		FeatstoreEndAsTableOwner(save_userid, save_sec_context);
	}

	if (scan.id != 0 && purge_group == NULL)
	{
		ngroups = RunScanChunk(&scan, &b, groups, ngroups);
		if (!scan.finished)
			full = true;
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* the commit left us in TopMemoryContext: the push allocates per batch */
	MemoryContextSwitchTo(batchcxt);

	/* --- 2. Redis, with no transaction open --- */
	SetWorkerState(ONLINE_STATE_PUSHING, NULL);
	pgstat_report_activity(STATE_RUNNING, "featstore: writing to Redis");
	if (purge_group != NULL)
	{
		if (!WorkerPurge(purge_group, &err))
		{
			SetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
			OnlineRecordGroupError(purge_group, err);
			return false;
		}
	}
	else if (!WorkerPush(&stream, b.items, b.nitems, groups, &err))
	{
		if (worker_conn != NULL)
		{
			/* Redis answered, but not as expected: an error, not an outage */
			for (int g = 0; g < ngroups; g++)
				OnlineRecordGroupError(groups[g].name, err);
			SetWorkerState(ONLINE_STATE_ERROR, err);
			if (strncmp(last_logged_error, err, sizeof(last_logged_error) - 1) != 0)
			{
				ereport(LOG,
						(errmsg("featstore online worker: %s", err),
						 errdetail("The batch stays queued and is retried with backoff; a repeating error is logged once.")));
				strlcpy(last_logged_error, err, sizeof(last_logged_error));
			}
			RedisClose(worker_conn);
			worker_conn = NULL;
		}
		else
			SetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
		return false;
	}

	/* --- 3. forget the batch, move the walk on, schedule future-dated rows --- */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "featstore: removing the pushed batch");
	if (scan.id != 0 && scan.finished)
		ids[nids++] = scan.id;
	else if (scan.id != 0 && purge_group == NULL)
	{
		Oid			types[3] = {INT8OID, TEXTARRAYOID, INT4OID};
		Datum		args[3];

		args[0] = Int64GetDatum(scan.id);
		args[1] = scan.last_keys;
		args[2] = Int32GetDatum(scan.emitted);
		ret = SPI_execute_with_args("UPDATE featstore.online_queue SET resume_after = $2,"
									" entities = GREATEST(entities - $3, 0)"
									" WHERE id = $1",
									3, types, args, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "could not record the progress of a rematerialization: SPI error %d", ret);
	}
	if (nids > 0)
	{
		Oid			types[1] = {INT8ARRAYOID};
		Datum		args[1];
		Datum	   *iddatums = palloc(sizeof(Datum) * nids);

		for (int i = 0; i < nids; i++)
			iddatums[i] = Int64GetDatum(ids[i]);
		args[0] = PointerGetDatum(construct_array(iddatums, nids, INT8OID, 8, true, TYPALIGN_DOUBLE));
		ret = SPI_execute_with_args("DELETE FROM featstore.online_queue WHERE id = ANY($1)",
									1, types, args, NULL, false, 0);
		if (ret != SPI_OK_DELETE)
			elog(ERROR, "could not delete a pushed batch from featstore.online_queue: SPI error %d", ret);
	}
	ScheduleRevisits(b.futures, b.nfutures);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(batchcxt);
	pgstat_report_stat(false);

	/* --- status --- */
	now = GetCurrentTimestamp();
	SpinLockAcquire(&online_shared->mutex);
	online_shared->batches++;
	online_shared->last_success = now;
	for (int g = 0; g < ngroups; g++)
	{
		OnlineGroupStatus *slot = GroupSlot(groups[g].name);

		if (slot == NULL)
			continue;
		slot->last_success = now;
		if (groups[g].oldest_enqueued != 0)
			slot->lag_usecs = now - groups[g].oldest_enqueued;
		slot->entities_written += groups[g].written;
		slot->keys_removed += groups[g].removed;
		slot->rows_skipped += groups[g].skipped;
	}
	if (purge_group)
	{
		OnlineGroupStatus *slot = GroupSlot(purge_group);

		if (slot)
			slot->last_success = now;
	}
	SpinLockRelease(&online_shared->mutex);
	SetWorkerState(ONLINE_STATE_IDLE, NULL);
	return full;
}

/*
 * ScheduleRevisits queues a revisit of each entity whose future-dated row
 * becomes current at its time: one statement per group, and none for an
 * entity already scheduled at that time, so that repeated rematerializations
 * do not pile up copies in the queue.
 */
static void
ScheduleRevisits(FutureItem *futures, int nfutures)
{
	bool	   *done = palloc0(sizeof(bool) * Max(nfutures, 1));

	for (int i = 0; i < nfutures; i++)
	{
		Oid			types[3] = {TEXTOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID};
		Datum		args[3];
		Datum	   *keys;
		Datum	   *ats;
		int			n = 0;
		int			nkeys = futures[i].nkeys;
		int			dims[2];
		int			lbs[2] = {1, 1};
		int			ret;

		if (done[i])
			continue;
		keys = palloc(sizeof(Datum) * nfutures * nkeys);
		ats = palloc(sizeof(Datum) * nfutures);
		for (int j = i; j < nfutures; j++)
		{
			if (done[j] || strcmp(futures[j].group_name, futures[i].group_name) != 0)
				continue;
			done[j] = true;
			memcpy(&keys[n * nkeys], futures[j].keys, sizeof(Datum) * nkeys);
			ats[n++] = TimestampTzGetDatum(futures[j].at);
		}
		dims[0] = n;
		dims[1] = nkeys;
		args[0] = CStringGetTextDatum(futures[i].group_name);
		args[1] = PointerGetDatum(construct_md_array(keys, NULL, 2, dims, lbs, TEXTOID, -1,
													 false, TYPALIGN_INT));
		args[2] = PointerGetDatum(construct_array(ats, n, TIMESTAMPTZOID, sizeof(TimestampTz),
												  true, TYPALIGN_DOUBLE));
		ret = SPI_execute_with_args("INSERT INTO featstore.online_queue"
									" (group_name, keys, entities, future, not_before)"
									" SELECT $1, f.k, 1, true, f.t"
									" FROM (SELECT DISTINCT $2[i:i][:] AS k, $3[i] AS t"
									"  FROM pg_catalog.generate_subscripts($3, 1) i) f"
									" WHERE NOT EXISTS (SELECT FROM featstore.online_queue q"
									"  WHERE q.group_name = $1 AND q.not_before = f.t AND q.keys = f.k)",
									3, types, args, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not schedule future-dated rows: SPI error %d", ret);
	}
}

/*
 * SchemaMatchesLibrary says whether the featstore objects installed in the
 * worker's database are those of this library's version.  After a new build
 * is installed, the queue keeps the old layout until ALTER EXTENSION
 * featstore UPDATE; until then the worker waits (changes stay queued) and
 * says why, once in the log and in materialization_status.
 */
static bool
SchemaMatchesLibrary(void)
{
	char	   *installed = FeatstoreInstalledVersion();
	char	   *msg;

	if (installed == NULL || strcmp(installed, FEATSTORE_VERSION) == 0)
	{
		if (mismatch_logged)
			ereport(LOG,
					(errmsg("featstore online worker: featstore %s is installed; resuming", FEATSTORE_VERSION)));
		mismatch_logged = false;
		return true;
	}
	msg = psprintf("featstore %s is installed in database \"%s\" but the library is %s: run ALTER EXTENSION featstore UPDATE",
				   installed, online_database, FEATSTORE_VERSION);
	SetWorkerState(ONLINE_STATE_WAITING_UPDATE, msg);
	if (!mismatch_logged)
	{
		ereport(LOG,
				(errmsg("featstore online worker: %s", msg),
				 errdetail("Changes stay queued until then.")));
		mismatch_logged = true;
	}
	return false;
}

/*
 * RunScanChunk computes one chunk of a whole-group walk into the batch.  A
 * group that is gone or offline ends the walk.  A group whose table lost
 * the index the walk follows has its entities listed in the queue instead,
 * as capture does, and the walk ends.  The walk's group is added to groups
 * if it is not there yet, so that its counters are kept; returns the new
 * number of groups.
 */
static int
RunScanChunk(BatchScan *scan, BatchItems *b, BatchGroup *groups, int ngroups)
{
	MemoryContext oldcxt;
	OnlineGroup *group;
	Oid			indexoid;
	char	  **last_keys;
	int			g;
	bool		at_end;
	Oid			save_userid;
	int			save_sec_context;

	oldcxt = MemoryContextSwitchTo(b->batchcxt);
	group = OnlineLoadGroup(scan->group_name, true);
	MemoryContextSwitchTo(oldcxt);
	if (group == NULL || !group->online)
	{
		scan->finished = true;
		return ngroups;
	}
	/* a table that no longer has the registry's shape is not read at all */
	RegistryCheckGroupTable(group->registry);

	/*
	 * Everything that touches the table runs as its owner: opening its
	 * indexes simplifies their expressions and predicates, and the walk calls
	 * their operator classes' functions and the features' output functions.
	 */
	FeatstoreBeginAsTableOwner(group->relid, &save_userid, &save_sec_context);
	indexoid = OnlineScanIndex(group);
	if (!OidIsValid(indexoid))
	{
		FeatstoreEndAsTableOwner(save_userid, save_sec_context);
		ereport(LOG,
				(errmsg("featstore online worker: feature group \"%s\" has no index on (keys, event_timestamp, created_at); rematerializing it entity by entity",
						group->name)));
		OnlineEnqueueKeys(group, scan->since, true);
		scan->finished = true;
		return ngroups;
	}

	for (g = 0; g < ngroups; g++)
		if (strcmp(groups[g].name, group->name) == 0)
			break;
	if (g == ngroups)
		groups[ngroups++].name = group->name;
	b->group = group;
	b->group_index = g;

	pgstat_report_activity(STATE_RUNNING, "featstore: rematerializing a group");
	at_end = OnlineScanChunk(group, indexoid, scan->resume_after, scan->since, b->now,
							 online_batch_size, EmitScanItem, b, &last_keys, &scan->emitted);
	FeatstoreEndAsTableOwner(save_userid, save_sec_context);
	StreamCalls(b->stream, b->items, b->nitems, false);
	elog(DEBUG1, "featstore online worker: walked %d entities of group \"%s\" after %s%s",
		 scan->emitted, group->name,
		 scan->resume_after ? "a resume point" : "the start",
		 at_end ? ", to the end" : "");
	scan->finished = at_end;
	if (!at_end)
	{
		Datum	   *elems = palloc(sizeof(Datum) * group->nkeys);

		oldcxt = MemoryContextSwitchTo(b->batchcxt);
		for (int i = 0; i < group->nkeys; i++)
			elems[i] = CStringGetTextDatum(last_keys[i]);
		scan->last_keys = PointerGetDatum(construct_array(elems, group->nkeys, TEXTOID, -1,
														  false, TYPALIGN_INT));
		MemoryContextSwitchTo(oldcxt);
	}
	return ngroups;
}

/* EmitScanItem adds an entity of the walk to the batch and streams it */
static void
EmitScanItem(void *arg, const OnlineWinner *w)
{
	BatchItems *b = (BatchItems *) arg;

	AddItem(b, w);
	if (b->nitems - b->stream->sent_items >= PUSH_CHUNK)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(b->batchcxt);

		StreamCalls(b->stream, b->items, b->nitems, false);
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * AddItem turns an entity's winner into the Redis write (or delete) of the
 * batch, copied into the batch's memory, and notes a revisit if a row is
 * dated in the future.  Scratch goes to the caller's current context.
 */
static void
AddItem(BatchItems *b, const OnlineWinner *w)
{
	const OnlineGroup *group = b->group;
	PushItem   *item;
	StringInfoData key;

	if (b->nitems >= b->maxitems)
		elog(ERROR, "featstore online worker: batch holds more entities than it planned (%d)",
			 b->maxitems);
	item = &b->items[b->nitems++];
	initStringInfo(&key);
	OnlineAppendKey(&key, group, w->key_values);
	item->group_index = b->group_index;
	item->key = MemoryContextStrdup(b->batchcxt, key.data);
	item->force = w->force;
	if (!w->found)
	{
		/* no current row: the key must not exist */
		item->value = NULL;
		item->value_len = 0;
		strcpy(item->ets, "0");
		strcpy(item->cat, "0");
		strcpy(item->expire_ms, "0");
	}
	else
	{
		StringInfoData val;

		initStringInfo(&val);
		OnlineEncodeValue(&val, group, w->event_ts, w->created_at, b->now, w->values, w->nulls);
		item->value = MemoryContextAlloc(b->batchcxt, val.len);
		memcpy(item->value, val.data, val.len);
		item->value_len = val.len;
		pg_lltoa(OnlineUnixUsecs(w->event_ts), item->ets);
		pg_lltoa(OnlineUnixUsecs(w->created_at), item->cat);
		if (group->ttl_usecs > 0)
			pg_lltoa((OnlineUnixUsecs(w->event_ts) + group->ttl_usecs) / 1000, item->expire_ms);
		else
			strcpy(item->expire_ms, "0");
	}

	if (w->has_future)
	{
		FutureItem *f = &b->futures[b->nfutures++];
		MemoryContext oldcxt = MemoryContextSwitchTo(b->batchcxt);

		f->group_name = group->name;
		f->nkeys = group->nkeys;
		f->keys = palloc(sizeof(Datum) * group->nkeys);
		for (int k = 0; k < group->nkeys; k++)
			f->keys[k] = CStringGetTextDatum(w->key_values[k]);
		f->at = w->next_future;
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * WinnerRange decides how to compute the winners of a group's queued
 * entities.  For a group with one key column it finds the key range they
 * span and counts the table's rows in it, stopping past
 * ONLINE_RANGE_ROWS_PER_ENTITY per entity: when the range holds no more,
 * as after a bulk load of a table with short histories (capture queues
 * entities in the order the statement wrote them), one ordered pass over it
 * is cheaper than a probe per entity, and true is returned with the bounds
 * as text.  Otherwise
 * (compound keys, scattered entities, long histories) false: probe.
 * queued is the array of the queued entities the winner queries read; the
 * caller runs this as the table's owner.
 */
static bool
WinnerRange(const OnlineGroup *group, int64 entities, Datum queued,
			Datum *lo, Datum *hi)
{
	StringInfoData sql;
	const char *key;
	char	   *type;
	Oid			types[2] = {TEXTARRAYOID, INT8OID};
	Datum		args[2];
	int64		cap;
	int			ret;
	bool		lo_null;
	bool		hi_null;
	bool		count_null;
	Datum		count;
	TypeCacheEntry *tc;

	if (group->nkeys != 1 || entities < ONLINE_CAS_BATCH)
		return false;
	/* the range and DISTINCT ON need the key type's default btree order */
	tc = lookup_type_cache(group->key_types[0], TYPECACHE_LT_OPR | TYPECACHE_GT_OPR |
						   TYPECACHE_EQ_OPR);
	if (!OidIsValid(tc->lt_opr) || !OidIsValid(tc->gt_opr) || !OidIsValid(tc->eq_opr))
		return false;
	key = quote_identifier(group->key_names[0]);
	type = format_type_be_qualified(group->key_types[0]);
	cap = entities * ONLINE_RANGE_ROWS_PER_ENTITY;

	/* ORDER BY, not min() and max(): every key type has a btree order, not all have min() */
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH k AS MATERIALIZED (SELECT u.k1::%s AS k"
					 "  FROM pg_catalog.unnest($1[:][1:1]) u(k1)),"
					 " b AS (SELECT (SELECT k FROM k ORDER BY k LIMIT 1) AS lo,"
					 "  (SELECT k FROM k ORDER BY k DESC LIMIT 1) AS hi)"
					 " SELECT b.lo::pg_catalog.text, b.hi::pg_catalog.text,"
					 " (SELECT pg_catalog.count(*) FROM (SELECT FROM %s r"
					 "   WHERE r.%s >= b.lo AND r.%s <= b.hi LIMIT $2) x)"
					 " FROM b",
					 type, group->qualified_table, key, key);
	args[0] = queued;
	args[1] = Int64GetDatum(cap + 1);
	ret = SPI_execute_with_args(sql.data, 2, types, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not find the key range of group \"%s\": SPI error %d",
			 group->name, ret);
	*lo = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &lo_null);
	*hi = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &hi_null);
	count = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &count_null);
	if (lo_null || hi_null || count_null || DatumGetInt64(count) > cap)
		return false;
	/* the bounds must outlive this tuple table: the cursor reads them */
	*lo = datumCopy(*lo, false, -1);
	*hi = datumCopy(*hi, false, -1);
	return true;
}

/*
 * WorkerPush finishes a batch whose script calls were partly streamed while
 * it was computed: sends the rest, collects every reply and counts the
 * outcomes.  False with *err on failure (worker_conn NULL if the connection
 * itself failed).  After NOSCRIPT (Redis restarted meanwhile) the whole
 * batch is sent again once the script is loaded.
 */
static bool
WorkerPush(PushStream *stream, PushItem *items, int nitems, BatchGroup *groups,
		   char **err)
{
	RedisResult *res;
	bool		noscript = false;

	StreamCalls(stream, items, nitems, true);
	if (stream->failed)
	{
		*err = stream->err;
		RedisClose(worker_conn);
		worker_conn = NULL;
		return false;
	}
	if (stream->ncalls == 0)
		return true;
	res = palloc(sizeof(RedisResult) * stream->ncalls);
	if (!RedisReceive(worker_conn, stream->ncalls, res, online_redis_timeout_ms, err))
	{
		RedisClose(worker_conn);
		worker_conn = NULL;
		return false;
	}
	if (!CountCasReplies(res, stream->calls, stream->ncalls, items, groups, &noscript, err))
		return false;
	if (noscript)
	{
		RedisCommand load;
		RedisResult lres;
		const char *script = OnlineCasScript();

		RedisCommandSet(&load, 3, "SCRIPT", (size_t) 6, "LOAD", (size_t) 4,
						script, strlen(script));
		if (!RedisRun(worker_conn, 1, &load, &lres, online_redis_timeout_ms, err))
		{
			RedisClose(worker_conn);
			worker_conn = NULL;
			return false;
		}
		for (int g = 0; groups[g].name != NULL; g++)
			groups[g].written = groups[g].removed = groups[g].skipped = 0;
		return WorkerPushSync(items, nitems, groups, err);
	}
	return true;
}

/*
 * StreamCalls sends the commands for items not yet sent: a script call only
 * when it is whole (ONLINE_CAS_BATCH items) unless final.  Never waits; a
 * broken connection is remembered in the stream.
 */
static void
StreamCalls(PushStream *stream, PushItem *items, int nitems, bool final)
{
	int			first = stream->ncalls;

	if (stream->failed || worker_conn == NULL)
	{
		if (!stream->failed)
		{
			stream->failed = true;
			stream->err = pstrdup("the Redis connection is closed");
		}
		return;
	}
	while (stream->sent_items < nitems)
	{
		int			n = NextCall(&stream->cmds[stream->ncalls], &stream->calls[stream->ncalls],
								 items, nitems, stream->sent_items, final);

		if (n == 0)
			break;
		stream->ncalls++;
		stream->sent_items += n;
	}
	if (stream->ncalls > first &&
		!RedisSend(worker_conn, stream->ncalls - first, stream->cmds + first, &stream->err))
		stream->failed = true;
}

/*
 * NextCall builds the command for the items from pos on and returns how many
 * it covers (0: wait for more items).  A forced write or a delete compares
 * nothing, so it is a plain SET (PXAT the expiry) or DEL, cheaper for Redis
 * than the script and answered the same way; the single worker is the only
 * writer, in queue order.  Unforced writes go through the compare-and-set
 * script, up to ONLINE_CAS_BATCH per call.
 */
static int
NextCall(RedisCommand *cmd, PushCall *call, PushItem *items, int nitems, int pos,
		 bool final)
{
	PushItem   *it = &items[pos];
	int			n = 0;

	call->first = pos;
	if (it->value == NULL)
	{
		RedisCommandSet(cmd, 2, "DEL", (size_t) 3, it->key, strlen(it->key));
		call->n = 1;
		call->script = false;
		return 1;
	}
	if (it->force)
	{
		if (strcmp(it->expire_ms, "0") != 0)
			RedisCommandSet(cmd, 5, "SET", (size_t) 3, it->key, strlen(it->key),
							it->value, (size_t) it->value_len,
							"PXAT", (size_t) 4, it->expire_ms, strlen(it->expire_ms));
		else
			RedisCommandSet(cmd, 3, "SET", (size_t) 3, it->key, strlen(it->key),
							it->value, (size_t) it->value_len);
		call->n = 1;
		call->script = false;
		return 1;
	}
	while (pos + n < nitems && n < ONLINE_CAS_BATCH &&
		   items[pos + n].value != NULL && !items[pos + n].force)
		n++;
	/* a short run at the end may still grow, unless this is the last call */
	if (n < ONLINE_CAS_BATCH && pos + n == nitems && !final)
		return 0;
	BuildCasCall(cmd, it, n);
	call->n = n;
	call->script = true;
	return n;
}

/* BuildCasCall fills one EVALSHA of the compare-and-set script for n items */
static void
BuildCasCall(RedisCommand *cmd, PushItem *items, int n)
{
	char	   *numkeys = psprintf("%d", n);
	int			a = 0;

	cmd->argv = palloc(sizeof(char *) * (3 + 6 * n));
	cmd->argvlen = palloc(sizeof(size_t) * (3 + 6 * n));
	cmd->argv[a] = "EVALSHA";
	cmd->argvlen[a++] = 7;
	cmd->argv[a] = worker_script_sha;
	cmd->argvlen[a++] = strlen(worker_script_sha);
	cmd->argv[a] = numkeys;
	cmd->argvlen[a++] = strlen(numkeys);
	for (int i = 0; i < n; i++)
	{
		cmd->argv[a] = items[i].key;
		cmd->argvlen[a++] = strlen(items[i].key);
	}
	for (int i = 0; i < n; i++)
	{
		PushItem   *it = &items[i];

		cmd->argv[a] = it->force ? "1" : "0";
		cmd->argvlen[a++] = 1;
		cmd->argv[a] = it->ets;
		cmd->argvlen[a++] = strlen(it->ets);
		cmd->argv[a] = it->cat;
		cmd->argvlen[a++] = strlen(it->cat);
		cmd->argv[a] = it->value ? it->value : "";
		cmd->argvlen[a++] = it->value_len;
		cmd->argv[a] = it->expire_ms;
		cmd->argvlen[a++] = strlen(it->expire_ms);
	}
	cmd->argc = a;
}

/*
 * CountCasReplies checks the replies of ncalls commands (calls says which
 * items each covers) and adds their outcomes to the groups' counters;
 * *noscript is set if Redis had forgotten the script.
 */
static bool
CountCasReplies(RedisResult *res, PushCall *calls, int ncalls, PushItem *items,
				BatchGroup *groups, bool *noscript, char **err)
{
	for (int c = 0; c < ncalls; c++)
	{
		int			first = calls[c].first;

		if (!calls[c].script)
		{
			PushItem   *it = &items[first];
			BatchGroup *bg = &groups[it->group_index];

			if (it->value == NULL && res[c].type == REDIS_REPLY_INTEGER)
			{
				if (res[c].integer == 1)
					bg->removed++;
			}
			else if (it->value != NULL && res[c].type == REDIS_REPLY_STATUS)
				bg->written++;
			else
			{
				*err = psprintf("unexpected Redis reply to %s of key \"%s\": %s",
								it->value ? "SET" : "DEL", it->key,
								res[c].str ? res[c].str : "not a status or an integer");
				return false;
			}
			continue;
		}
		if (res[c].type == REDIS_REPLY_ERROR && strncmp(res[c].str, "NOSCRIPT", 8) == 0)
		{
			*noscript = true;
			continue;
		}
		if (res[c].type != REDIS_REPLY_ARRAY || res[c].nelements != calls[c].n)
		{
			*err = psprintf("unexpected Redis reply to the featstore script for key \"%s\": %s",
							items[first].key, res[c].str ? res[c].str : "not an array of codes");
			return false;
		}
		for (int i = 0; i < res[c].nelements; i++)
		{
			RedisResult *code = &res[c].elements[i];
			BatchGroup *bg = &groups[items[first + i].group_index];

			if (code->type != REDIS_REPLY_INTEGER)
			{
				*err = psprintf("unexpected Redis reply to the featstore script for key \"%s\"",
								items[first + i].key);
				return false;
			}
			if (code->integer == 1)
				bg->written++;
			else if (code->integer == 0)
				bg->skipped++;
			else if (code->integer == 2)
				bg->removed++;
		}
	}
	return true;
}

/*
 * WorkerPushSync sends the whole batch again, up to PUSH_CHUNK items per
 * round trip, waiting for each; used after the script had to be reloaded.
 */
static bool
WorkerPushSync(PushItem *items, int nitems, BatchGroup *groups, char **err)
{
	RedisCommand *cmds = palloc(sizeof(RedisCommand) * PUSH_CHUNK);
	PushCall   *calls = palloc(sizeof(PushCall) * PUSH_CHUNK);
	RedisResult *res = palloc(sizeof(RedisResult) * PUSH_CHUNK);

	for (int start = 0; start < nitems;)
	{
		int			ncalls = 0;
		int			pos = start;
		bool		noscript = false;

		while (pos < nitems && pos - start < PUSH_CHUNK - ONLINE_CAS_BATCH)
		{
			pos += NextCall(&cmds[ncalls], &calls[ncalls], items, nitems, pos, true);
			ncalls++;
		}
		if (!RedisRun(worker_conn, ncalls, cmds, res, online_redis_timeout_ms, err))
		{
			RedisClose(worker_conn);
			worker_conn = NULL;
			return false;
		}
		if (!CountCasReplies(res, calls, ncalls, items, groups, &noscript, err))
			return false;
		if (noscript)
		{
			*err = pstrdup("Redis keeps forgetting the featstore script (NOSCRIPT)");
			return false;
		}
		start = pos;
	}
	return true;
}

/* WorkerPurge removes every Redis key of a group, SCAN page by SCAN page */
static bool
WorkerPurge(const char *group_name, char **err)
{
	StringInfoData pattern;
	char		cursor[32] = "0";
	RedisCommand *cmds = palloc(sizeof(RedisCommand) * PUSH_CHUNK);
	RedisResult *res = palloc(sizeof(RedisResult) * PUSH_CHUNK);
	int64		removed = 0;

	initStringInfo(&pattern);
	OnlineKeyPattern(&pattern, group_name);
	do
	{
		RedisCommand scan;
		RedisResult sres;
		RedisResult *keys;
		int			nkeys;

		CHECK_FOR_INTERRUPTS();
		RedisCommandSet(&scan, 6, "SCAN", (size_t) 4, cursor, strlen(cursor),
						"MATCH", (size_t) 5, pattern.data, (size_t) pattern.len,
						"COUNT", (size_t) 5, "1000", (size_t) 4);
		if (!RedisRun(worker_conn, 1, &scan, &sres, online_redis_timeout_ms, err))
		{
			RedisClose(worker_conn);
			worker_conn = NULL;
			return false;
		}
		if (sres.type != REDIS_REPLY_ARRAY || sres.nelements != 2 ||
			sres.elements[0].type != REDIS_REPLY_STRING ||
			(sres.elements[1].type != REDIS_REPLY_ARRAY && sres.elements[1].nelements != 0))
		{
			*err = psprintf("unexpected Redis reply to SCAN: %s", sres.str ? sres.str : "bad shape");
			return false;
		}
		strlcpy(cursor, sres.elements[0].str, sizeof(cursor));
		keys = sres.elements[1].elements;
		nkeys = sres.elements[1].nelements;
		for (int start = 0; start < nkeys; start += PUSH_CHUNK)
		{
			int			n = Min(PUSH_CHUNK, nkeys - start);

			for (int i = 0; i < n; i++)
				RedisCommandSet(&cmds[i], 2, "UNLINK", (size_t) 6,
								keys[start + i].str, keys[start + i].len);
			if (!RedisRun(worker_conn, n, cmds, res, online_redis_timeout_ms, err))
			{
				RedisClose(worker_conn);
				worker_conn = NULL;
				return false;
			}
			removed += n;
		}
	} while (strcmp(cursor, "0") != 0);

	SpinLockAcquire(&online_shared->mutex);
	{
		OnlineGroupStatus *slot = GroupSlot(group_name);

		if (slot)
			slot->keys_removed += removed;
	}
	SpinLockRelease(&online_shared->mutex);
	return true;
}

/*
 * CheckRedisIdentity rematerializes every online group when the worker
 * meets a Redis process other than the one it last wrote to (its run_id is
 * recorded in featstore.online_redis_state): a restarted Redis without
 * persistence, or a failover, may have lost keys that nothing else would
 * bring back.  Runs inside the batch's first transaction.
 */
static void
CheckRedisIdentity(void)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	int			ret;
	char	   *known = NULL;
	List	   *names = NIL;
	ListCell   *lc;

	if (worker_run_id == NULL)
		return;
	ret = SPI_execute("SELECT redis_run_id FROM featstore.online_redis_state", true, 1);
	if (ret == SPI_OK_SELECT && SPI_processed == 1)
		known = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (known != NULL && strcmp(known, worker_run_id) == 0)
		return;

	ret = SPI_execute("SELECT name FROM featstore.feature_groups WHERE online ORDER BY name", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not list the online feature groups: SPI error %d", ret);
	for (uint64 i = 0; i < SPI_processed; i++)
		names = lappend(names, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	foreach(lc, names)
	{
		OnlineGroup *group = OnlineLoadGroup((char *) lfirst(lc), true);

		if (group && group->online)
			OnlineEnqueueGroup(group, DT_NOBEGIN, true);
	}
	if (known != NULL && names != NIL)
		ereport(LOG,
				(errmsg("featstore online worker: Redis is a new process (run_id %s); rematerializing %d online groups",
						worker_run_id, list_length(names))));

	args[0] = CStringGetTextDatum(worker_run_id);
	ret = SPI_execute_with_args("UPDATE featstore.online_redis_state SET redis_run_id = $1, seen_at = pg_catalog.now()",
								1, types, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not record the Redis run_id: SPI error %d", ret);
}
