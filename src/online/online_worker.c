/*
 * online_worker.c
 *		Settings, shared memory and the background worker that keeps Redis
 *		equal to the point-in-time rule at now() for every online group.
 *
 * One iteration of the worker:
 *	1. a short transaction reads a bounded batch of the queue (in id order,
 *	   stopping before a purge) and counts an attempt on its rows, with a WAL
 *	   flush, so that a row the worker dies on is known after a crash;
 *	2. a second one computes each entity's winner through a cursor, each
 *	   group in its own subtransaction so that a failing group fails alone;
 *	   finished compare-and-set calls are handed to the socket as they are
 *	   built, never waiting, so Redis works meanwhile;
 *	3. with no transaction open, the rest is sent and every reply collected,
 *	   with a deadline;
 *	4. a third short transaction deletes what was pushed, ends the attempt
 *	   of the rest, and schedules entities with rows dated in the future for
 *	   the moment they become current.
 * A failure between 1 and 4 leaves the batch queued, so delivery is
 * at-least-once and the script makes repeats harmless.  Between batches the
 * worker sleeps until the first of: a commit's wake-up, the poll interval,
 * the next revisit, the next retry of a group in error, and the next check
 * of Redis' identity.
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
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "extension.h"
#include "online/online.h"
#include "registry/registry.h"

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
/* Longest wait between retries of a group in error, or of a batch that failed */
#define BACKOFF_MAX_MS 5000
/*
 * How often the worker asks Redis which process it is, even with nothing to
 * write, and the longest wait between reconnection attempts: a Redis that
 * comes back, empty, is met within this time
 */
#define IDENTITY_CHECK_MS 1000

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
	bool		gone;			/* dropped or offline: its rows just go */
	bool		failed;			/* its work failed: its rows stay queued */
	char	   *error;			/* why, if failed */
	char	   *hint;
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
	MemoryContext rowcxt;		/* scratch of one row of a winner query */
	int64	   *ids;			/* the batch's queue rows */
	int			nids;
	BatchGroup *groups;			/* of the batch */
	const OnlineGroup *group;
	int			group_index;
} BatchItems;

/* One step of a batch that reads a group's table, run by RunGroupStep */
typedef void (*GroupStep) (BatchItems *b, BatchGroup *bg, void *arg);

/* A group whose work failed: when it is retried, and the error logged */
typedef struct GroupBackoff
{
	char		name[NAMEDATALEN];	/* hash key */
	int			backoff_ms;
	TimestampTz retry_at;
	char		error[ONLINE_ERRMSG_LEN];
} GroupBackoff;

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
	int64		entities;		/* left to walk, as the queue row says */
	TimestampTz enqueued_at;
} BatchScan;

/* The worker's connection and its script, kept across iterations */
static RedisConn *worker_conn = NULL;
static char *worker_script_sha = NULL;

/* Redis' run_id, and whether the queue already reflects a change of it */
static char *worker_run_id = NULL;
static bool run_id_checked = false;

/* When the earliest scheduled revisit of a future-dated row is due (0: none) */
static TimestampTz next_revisit = 0;

/* When the worker next asks Redis which process it is */
static TimestampTz next_identity_check = 0;

/* Groups in error, by name; worker-local, so a new worker logs them again */
static HTAB *group_backoff = NULL;

/*
 * The queue rows of the batch in progress (in the batch's memory), so that
 * an error outside any group's step can be written to them
 */
static Datum busy_ids = (Datum) 0;

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
static void CountCasReplies(RedisResult *res, PushCall *calls, int ncalls, PushItem *items,
							BatchGroup *groups, bool *noscript);
static void AddItem(BatchItems *b, const OnlineWinner *w);
static void EmitScanItem(void *arg, const OnlineWinner *w);
static void RunGroupStep(BatchItems *b, BatchGroup *bg, GroupStep step, void *arg);
static void GroupWinners(BatchItems *b, BatchGroup *bg, void *arg);
static void RunScanChunk(BatchItems *b, BatchGroup *bg, void *arg);
static Datum IdArray(int64 *ids, int nids);
static void ParkRows(int64 *ids, char **groups, int *attempts, char **errors, int nrows);
static void EndAttempt(Datum ids, const char *error);
static void RecordBusyError(const char *error);
static TimestampTz NextRevisit(Datum backoff);
static Datum GroupsInBackoff(TimestampTz now);
static TimestampTz EarliestRetry(void);
static void GroupFailed(const char *name, const char *error, const char *hint);
static void GroupSucceeded(const char *name, bool gone);
static void SetWorkerIdle(void);
static void WalkBegin(const BatchScan *scan);
static void WalkPhase(int64 queue_id, OnlineWalkPhase phase);
static void WalkAdvance(int64 queue_id, int emitted, bool finished);
static void CheckRedisAlive(void);
static char *ParseRunId(const RedisResult *res);
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

	/* the launcher starts the worker once its database exists */
	OnlineLauncherRegister();
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
	/* the work is the worker's from now on: never shown idle while it waits */
	if (online_shared->state == ONLINE_STATE_IDLE)
	{
		online_shared->state = ONLINE_STATE_PUSHING;
		online_shared->state_since = GetCurrentTimestamp();
	}
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

/* OnlineWalkPhaseName names a walk's phase for materialization_progress */
const char *
OnlineWalkPhaseName(OnlineWalkPhase phase)
{
	switch (phase)
	{
		case ONLINE_WALK_READING:
			return "reading the group";
		case ONLINE_WALK_WRITING:
			return "writing to Redis";
		case ONLINE_WALK_RECORDING:
			return "recording progress";
		case ONLINE_WALK_WAITING_REDIS:
			return "waiting for Redis";
		case ONLINE_WALK_WAITING_RETRY:
			return "waiting to retry after an error";
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

/*
 * SetWorkerIdle publishes that the worker has nothing to do, unless a
 * commit has handed it work since it last looked at the queue
 */
static void
SetWorkerIdle(void)
{
	SpinLockAcquire(&online_shared->mutex);
	if (!online_shared->wakeup_pending && online_shared->state != ONLINE_STATE_IDLE)
	{
		online_shared->state = ONLINE_STATE_IDLE;
		online_shared->state_since = GetCurrentTimestamp();
	}
	SpinLockRelease(&online_shared->mutex);
}

/*
 * WalkBegin publishes the walk a batch carries a chunk of.  The walk already
 * shown keeps its counts; another one starts from its queue row's count of
 * entities left.
 */
static void
WalkBegin(const BatchScan *scan)
{
	OnlineWalkProgress *walk = &online_shared->walk;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&online_shared->mutex);
	if (walk->queue_id != scan->id)
	{
		walk->queue_id = scan->id;
		strlcpy(walk->group, scan->group_name, NAMEDATALEN);
		walk->done = 0;
		walk->total = scan->entities;
		walk->started = now;
		walk->updated = now;
	}
	walk->phase = ONLINE_WALK_READING;
	SpinLockRelease(&online_shared->mutex);
}

/* WalkPhase publishes the phase of the walk shown, if it is that one */
static void
WalkPhase(int64 queue_id, OnlineWalkPhase phase)
{
	SpinLockAcquire(&online_shared->mutex);
	if (online_shared->walk.queue_id == queue_id)
		online_shared->walk.phase = phase;
	SpinLockRelease(&online_shared->mutex);
}

/*
 * WalkAdvance counts a chunk of the walk once Redis and the queue have it;
 * a finished walk is no longer shown
 */
static void
WalkAdvance(int64 queue_id, int emitted, bool finished)
{
	OnlineWalkProgress *walk = &online_shared->walk;

	SpinLockAcquire(&online_shared->mutex);
	if (walk->queue_id == queue_id)
	{
		walk->done += emitted;
		/* entities with rows added since it was queued are walked too */
		walk->total = Max(walk->total, walk->done);
		walk->updated = GetCurrentTimestamp();
		walk->phase = ONLINE_WALK_READING;
		if (finished)
			walk->queue_id = 0;
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
	HASHCTL		ctl;
	int64		left_id;
	int			left_rows;
	char		left_group[NAMEDATALEN];

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	SpinLockAcquire(&online_shared->mutex);
	online_shared->worker_pid = MyProcPid;
	online_shared->worker_latch = MyLatch;
	online_shared->state = ONLINE_STATE_STARTING;
	online_shared->state_since = GetCurrentTimestamp();
	/* a worker that exited (not crashed: that resets shared memory) mid-batch */
	left_id = online_shared->busy_first_id;
	left_rows = online_shared->busy_rows;
	strlcpy(left_group, online_shared->busy_group, NAMEDATALEN);
	online_shared->busy_first_id = 0;
	online_shared->busy_rows = 0;
	SpinLockRelease(&online_shared->mutex);
	before_shmem_exit(WorkerShmemExit, (Datum) 0);

	BackgroundWorkerInitializeConnection(online_database, NULL, 0);
	pgstat_report_appname("featstore online worker");

	/*
	 * The worker holds superuser rights, and its queries name operators and
	 * functions without a schema (id = ANY ($1), keys = f.k, unnest ...):
	 * a database or role setting of search_path must not let a schema that
	 * others can write stand in for pg_catalog, as autovacuum also pins it.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	if (left_rows > 0)
		ereport(LOG,
				(errmsg_plural("featstore online worker: the previous worker stopped in the middle of a batch of %d queue row from id %lld (feature group \"%s\")",
							   "featstore online worker: the previous worker stopped in the middle of a batch of %d queue rows from id %lld (feature group \"%s\")",
							   left_rows, left_rows, (long long) left_id, left_group),
				 errdetail("They are retried one at a time; a row the worker stops on %d times in a row is parked.",
						   ONLINE_MAX_ATTEMPTS)));

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

	batchcxt = AllocSetContextCreate(TopMemoryContext, "featstore online batch",
									 ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(GroupBackoff);
	group_backoff = hash_create("featstore groups in error", 16, &ctl,
								HASH_ELEM | HASH_STRINGS);

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

		/* scratch of the last batch, of a connection attempt or of a check */
		MemoryContextReset(batchcxt);
		busy_ids = (Datum) 0;

		if (worker_conn != NULL && GetCurrentTimestamp() >= next_identity_check)
		{
			MemoryContextSwitchTo(batchcxt);
			CheckRedisAlive();
			MemoryContextSwitchTo(TopMemoryContext);
		}

		if (worker_conn == NULL)
		{
			bool		connected;

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
									   IDENTITY_CHECK_MS)));
					outage_logged = true;
				}
				failed = true;
			}
		}

		if (!failed)
		{
			PG_TRY();
			{
				more = WorkerBatch(batchcxt);
				if (worker_conn == NULL)
					failed = true;
			}
			PG_CATCH();
			{
				ErrorData  *edata;

				/*
				 * An error outside any group's step (the queue itself, say).
				 * Logged once while it repeats, without the query's text;
				 * the batch's rows keep the attempt, so a row that keeps
				 * failing this way is retried alone and finally parked.
				 */
				MemoryContextSwitchTo(batchcxt);
				edata = CopyErrorData();
				FlushErrorState();
				AbortCurrentTransaction();
				if (strncmp(last_logged_error, edata->message, sizeof(last_logged_error) - 1) != 0)
				{
					ereport(LOG,
							(errmsg("featstore online worker: %s", edata->message),
							 edata->hint ? errhint("%s", edata->hint) : 0,
							 errdetail("The batch stays queued and is retried with backoff; a repeating error is logged once.")));
					strlcpy(last_logged_error, edata->message, sizeof(last_logged_error));
				}
				SetWorkerState(ONLINE_STATE_ERROR, edata->message);
				RecordBusyError(edata->message);
				/* calls may have been streamed: their replies would be out of step */
				RedisClose(worker_conn);
				worker_conn = NULL;
				failed = true;
			}
			PG_END_TRY();
			MemoryContextSwitchTo(TopMemoryContext);
			SpinLockAcquire(&online_shared->mutex);
			online_shared->busy_first_id = 0;
			online_shared->busy_rows = 0;
			SpinLockRelease(&online_shared->mutex);
		}

		if (failed)
		{
			bool		outage;

			/* a Redis that comes back is met within a second; errors wait longer */
			SpinLockAcquire(&online_shared->mutex);
			outage = (online_shared->state == ONLINE_STATE_REDIS_DOWN);
			SpinLockRelease(&online_shared->mutex);
			backoff_ms = Min(Max(backoff_ms * 2, 100),
							 outage ? IDENTITY_CHECK_MS : BACKOFF_MAX_MS);
			wait_ms = backoff_ms;
		}
		else
		{
			TimestampTz now;
			TimestampTz wake;
			TimestampTz retry_at = 0;

			backoff_ms = 0;
			last_logged_error[0] = '\0';
			if (more)
				continue;
			SpinLockAcquire(&online_shared->mutex);
			more = online_shared->wakeup_pending;
			SpinLockRelease(&online_shared->mutex);
			if (more)
				continue;

			/*
			 * Sleep until the first of: the poll interval, the next revisit
			 * of a future-dated row, the next retry of a group in error and
			 * the next identity check of Redis.
			 */
			now = GetCurrentTimestamp();
			wake = TimestampTzPlusMilliseconds(now, online_poll_interval_ms);
			if (next_revisit != 0 && next_revisit < wake)
				wake = next_revisit;
			retry_at = EarliestRetry();
			if (retry_at != 0 && retry_at < wake)
				wake = retry_at;
			if (worker_conn != NULL && next_identity_check < wake)
				wake = next_identity_check;
			wait_ms = Max(TimestampDifferenceMilliseconds(now, wake), 1);
		}

		pgstat_report_activity(STATE_IDLE, NULL);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
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
		RedisClose(worker_conn);
		worker_conn = NULL;
		SetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
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
	worker_run_id = ParseRunId(&res);
	if (worker_run_id)
		worker_run_id = MemoryContextStrdup(TopMemoryContext, worker_run_id);
	run_id_checked = false;
	next_identity_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), IDENTITY_CHECK_MS);
	/* the state stays "connecting" until the next batch has looked at the queue */
	return true;
}

/*
 * WorkerBatch handles one batch; returns true when the queue may hold more
 * ready work.  On a Redis failure it closes worker_conn and returns false.
 *
 * A batch is the captured entities of queue rows taken in order, up to
 * featstore.online_batch_size, plus one chunk of the first whole-group walk
 * (a "scan" row).  Every group's values come from one snapshot and batches
 * reach Redis one after the other, so forced writes land in snapshot order
 * whatever the queue order; only a purge is a barrier.
 *
 * Before the work starts, a durably committed transaction counts an attempt
 * on each of the batch's rows; the end of the attempt, whatever its outcome,
 * resets the count.  A row found with attempts left over was in a batch
 * during which the worker died: it is taken alone, so that a death on it is
 * its own, and after ONLINE_MAX_ATTEMPTS it is parked.  Each group's reads
 * run in their own subtransaction: a group that fails keeps its rows queued
 * and is retried with backoff while the other groups go on.
 */
static bool
WorkerBatch(MemoryContext batchcxt)
{
	MemoryContext oldcxt;
	Oid			qtypes[3] = {TIMESTAMPTZOID, INT4OID, TEXTARRAYOID};
	Datum		qargs[3];
	TimestampTz now;
	int			ret;
	int64	   *ids;
	int		   *id_group;
	int			nids = 0;
	int64	   *park_ids;
	char	  **park_groups;
	int		   *park_attempts;
	char	  **park_errors;
	int			npark = 0;
	char	   *purge_group = NULL;
	BatchGroup *groups;
	int			ngroups = 0;
	int			scan_group = -1;
	BatchItems	b;
	BatchScan	scan;
	int64		entities = 0;
	bool		more = false;
	char	   *err = NULL;
	PushStream	stream;
	Datum		backoff;
	Datum		all_ids;

	/* --- 1. take the batch, and record the attempt durably --- */
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
	oldcxt = MemoryContextSwitchTo(batchcxt);
	backoff = GroupsInBackoff(now);
	MemoryContextSwitchTo(oldcxt);
	qargs[0] = TimestampTzGetDatum(now);
	qargs[1] = Int32GetDatum(online_batch_size);
	qargs[2] = backoff;
	/*
	 * Ready rows and due revisits through their own partial indexes: a plain
	 * scan in id order would step over every revisit not yet due, at every
	 * wake-up.  Parked rows and groups waiting for a retry are left out.
	 */
	ret = SPI_execute_with_args("SELECT id, group_name, kind, entities, enqueued_at, since, resume_after, attempts, last_error"
								" FROM ((SELECT * FROM featstore.online_queue WHERE not_before IS NULL"
								"        AND state = 'ready' AND group_name <> ALL ($3)"
								"        ORDER BY id LIMIT $2)"
								"       UNION ALL"
								"       (SELECT * FROM featstore.online_queue WHERE not_before <= $1"
								"        AND state = 'ready' AND group_name <> ALL ($3)"
								"        ORDER BY id LIMIT $2)) q"
								" ORDER BY id LIMIT $2",
								3, qtypes, qargs, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read featstore.online_queue: SPI error %d", ret);

	oldcxt = MemoryContextSwitchTo(batchcxt);
	memset(&scan, 0, sizeof(scan));
	ids = palloc(sizeof(int64) * (SPI_processed + 2));
	id_group = palloc(sizeof(int) * (SPI_processed + 2));
	park_ids = palloc(sizeof(int64) * (SPI_processed + 1));
	park_groups = palloc(sizeof(char *) * (SPI_processed + 1));
	park_attempts = palloc(sizeof(int) * (SPI_processed + 1));
	park_errors = palloc(sizeof(char *) * (SPI_processed + 1));
	groups = palloc0(sizeof(BatchGroup) * (SPI_processed + 2));	/* NULL-terminated, room for a walk */
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *gname = SPI_getvalue(tup, desc, 2);
		char	   *kind = SPI_getvalue(tup, desc, 3);
		int			n = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		TimestampTz enq = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
		int			attempts = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
		bool		alone = false;
		int			g;

		if (attempts >= ONLINE_MAX_ATTEMPTS)
		{
			park_ids[npark] = id;
			park_groups[npark] = gname;
			park_errors[npark] = SPI_getvalue(tup, desc, 9);
			park_attempts[npark++] = attempts;
			more = true;
			continue;
		}
		if (attempts > 0)
		{
			/* the worker died during its last attempt: retry it alone */
			if (nids > 0 || scan.id != 0)
			{
				more = true;
				break;
			}
			alone = true;
		}

		/* a purge runs alone, after everything queued before it */
		if (strcmp(kind, "purge") == 0)
		{
			if (nids == 0 && scan.id == 0)
			{
				id_group[nids] = -1;
				ids[nids++] = id;
				purge_group = gname;
			}
			more = true;
			break;
		}
		if (strcmp(kind, "scan") == 0)
		{
			Datum		since;
			Datum		resume;

			/* one walk per batch; the next batch takes the next one */
			if (scan.id != 0)
			{
				more = true;
				continue;
			}
			scan.id = id;
			scan.group_name = gname;
			scan.entities = n;
			scan.enqueued_at = enq;
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
			if (alone)
			{
				more = true;
				break;
			}
			continue;
		}
		if (entities >= online_batch_size)
		{
			more = true;
			break;
		}
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
		id_group[nids] = g;
		ids[nids++] = id;
		if (alone)
		{
			more = true;
			break;
		}
	}
	if (SPI_processed == (uint64) online_batch_size)
		more = true;
	if (scan.id != 0)
	{
		/* the walk's group keeps its counters with the group's other rows */
		for (scan_group = 0; scan_group < ngroups; scan_group++)
			if (strcmp(groups[scan_group].name, scan.group_name) == 0)
				break;
		if (scan_group == ngroups)
			groups[ngroups++].name = scan.group_name;
		/* its lag grows while it walks: the walk is this group's oldest change */
		if (groups[scan_group].oldest_enqueued == 0 ||
			scan.enqueued_at < groups[scan_group].oldest_enqueued)
			groups[scan_group].oldest_enqueued = scan.enqueued_at;
	}
	MemoryContextSwitchTo(oldcxt);

	/*
	 * A group whose retry is due but which has no ready rows left (they were
	 * removed meanwhile) is forgotten, or its due retry would wake the worker
	 * again and again.
	 */
	if (!more && hash_get_num_entries(group_backoff) > 0)
	{
		HASH_SEQ_STATUS seq;
		GroupBackoff *e;

		hash_seq_init(&seq, group_backoff);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			bool		queued = (purge_group && strcmp(purge_group, e->name) == 0);

			for (int g = 0; g < ngroups && !queued; g++)
				queued = (strcmp(groups[g].name, e->name) == 0);
			if (e->retry_at <= now && !queued)
				(void) hash_search(group_backoff, e->name, HASH_REMOVE, NULL);
		}
	}

	if (npark > 0)
		ParkRows(park_ids, park_groups, park_attempts, park_errors, npark);

	if (nids == 0 && scan.id == 0)
	{
		/* sleep no longer than the next revisit of a future-dated row */
		next_revisit = NextRevisit(backoff);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		if (!more)
			SetWorkerIdle();
		return more;
	}

	/* the attempt is on record before any of it runs, even across a crash */
	oldcxt = MemoryContextSwitchTo(batchcxt);
	if (scan.id != 0)
	{
		id_group[nids] = scan_group;
		ids[nids] = scan.id;
	}
	all_ids = IdArray(ids, nids + (scan.id != 0 ? 1 : 0));
	busy_ids = all_ids;
	MemoryContextSwitchTo(oldcxt);
	{
		Oid			types[1] = {INT8ARRAYOID};
		Datum		args[1] = {all_ids};

		ret = SPI_execute_with_args("UPDATE featstore.online_queue SET attempts = attempts + 1,"
									" last_error = NULL WHERE id = ANY ($1)",
									1, types, args, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "could not record an attempt in featstore.online_queue: SPI error %d", ret);
	}
	ForceSyncCommit();
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	SpinLockAcquire(&online_shared->mutex);
	online_shared->busy_first_id = ids[0];
	online_shared->busy_rows = nids + (scan.id != 0 ? 1 : 0);
	strlcpy(online_shared->busy_group, purge_group ? purge_group :
			ngroups > 0 ? groups[0].name : scan.group_name, NAMEDATALEN);
	SpinLockRelease(&online_shared->mutex);
	SetWorkerState(ONLINE_STATE_PUSHING, NULL);
	if (scan.id != 0)
		WalkBegin(&scan);

	/* --- 2. compute the winners, group by group --- */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	now = GetCurrentTimestamp();

	memset(&b, 0, sizeof(b));
	b.batchcxt = batchcxt;
	b.now = now;
	b.maxitems = (int) Max(entities + (scan.id != 0 ? online_batch_size : 0), 1);
	b.items = MemoryContextAlloc(batchcxt, sizeof(PushItem) * b.maxitems);
	b.futures = MemoryContextAlloc(batchcxt, sizeof(FutureItem) * b.maxitems);
	b.stream = &stream;
	b.rowcxt = AllocSetContextCreate(batchcxt, "featstore online row", ALLOCSET_DEFAULT_SIZES);
	b.ids = ids;
	b.nids = nids;
	b.groups = groups;
	memset(&stream, 0, sizeof(stream));
	stream.cmds = MemoryContextAlloc(batchcxt, sizeof(RedisCommand) * b.maxitems);
	stream.calls = MemoryContextAlloc(batchcxt, sizeof(PushCall) * b.maxitems);

	for (int g = 0; g < ngroups && purge_group == NULL; g++)
	{
		if (groups[g].entities > 0)
			RunGroupStep(&b, &groups[g], GroupWinners, NULL);
	}
	if (scan.id != 0 && !groups[scan_group].failed)
	{
		RunGroupStep(&b, &groups[scan_group], RunScanChunk, &scan);
		/* the walk's next chunk follows at once, not after a poll interval */
		if (!scan.finished && !groups[scan_group].failed)
			more = true;
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* the commit left us in TopMemoryContext: the push allocates per batch */
	MemoryContextSwitchTo(batchcxt);

	/* --- 3. Redis, with no transaction open --- */
	pgstat_report_activity(STATE_RUNNING, "featstore: writing to Redis");
	if (scan.id != 0)
		WalkPhase(scan.id, ONLINE_WALK_WRITING);
	if (purge_group != NULL)
	{
		if (!WorkerPurge(purge_group, &err))
		{
			SetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
			OnlineRecordGroupError(purge_group, err);
			EndAttempt(all_ids, NULL);
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
			if (scan.id != 0)
				WalkPhase(scan.id, ONLINE_WALK_WAITING_RETRY);
		}
		else
		{
			SetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
			if (scan.id != 0)
				WalkPhase(scan.id, ONLINE_WALK_WAITING_REDIS);
		}
		EndAttempt(all_ids, NULL);
		return false;
	}

	/* groups whose work failed are retried with backoff; the others go on */
	for (int g = 0; g < ngroups; g++)
		if (groups[g].failed)
			GroupFailed(groups[g].name, groups[g].error, groups[g].hint);
	if (scan.id != 0)
		WalkPhase(scan.id, groups[scan_group].failed ? ONLINE_WALK_WAITING_RETRY :
				  ONLINE_WALK_RECORDING);

	/* --- 4. forget what was pushed, move the walk on, schedule future-dated rows --- */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "featstore: removing the pushed batch");
	{
		int			ndone = 0;
		int64	   *done = palloc(sizeof(int64) * (nids + 1));
		bool		scan_ok = scan.id != 0 && !groups[scan_group].failed;

		for (int i = 0; i < nids; i++)
			if (id_group[i] < 0 || !groups[id_group[i]].failed)
				done[ndone++] = ids[i];
		if (scan_ok && scan.finished)
			done[ndone++] = scan.id;
		else if (scan_ok)
		{
			Oid			types[3] = {INT8OID, TEXTARRAYOID, INT4OID};
			Datum		args[3];

			args[0] = Int64GetDatum(scan.id);
			args[1] = scan.last_keys;
			args[2] = Int32GetDatum(scan.emitted);
			ret = SPI_execute_with_args("UPDATE featstore.online_queue SET resume_after = $2,"
										" entities = GREATEST(entities - $3, 0), attempts = 0"
										" WHERE id = $1",
										3, types, args, NULL, false, 0);
			if (ret != SPI_OK_UPDATE)
				elog(ERROR, "could not record the progress of a rematerialization: SPI error %d", ret);
		}
		if (ndone > 0)
		{
			Oid			types[1] = {INT8ARRAYOID};
			Datum		args[1];

			args[0] = IdArray(done, ndone);
			ret = SPI_execute_with_args("DELETE FROM featstore.online_queue WHERE id = ANY ($1)",
										1, types, args, NULL, false, 0);
			if (ret != SPI_OK_DELETE)
				elog(ERROR, "could not delete a pushed batch from featstore.online_queue: SPI error %d", ret);
		}
	}
	/* the rows of a failed group end their attempt with its error */
	for (int g = 0; g < ngroups; g++)
	{
		int			n = 0;
		int64	   *gids;
		Oid			types[2] = {INT8ARRAYOID, TEXTOID};
		Datum		args[2];

		if (!groups[g].failed)
			continue;
		gids = palloc(sizeof(int64) * (nids + 1));
		for (int i = 0; i < nids; i++)
			if (id_group[i] == g)
				gids[n++] = ids[i];
		if (g == scan_group)
			gids[n++] = scan.id;
		args[0] = IdArray(gids, n);
		args[1] = CStringGetTextDatum(groups[g].error);
		ret = SPI_execute_with_args("UPDATE featstore.online_queue SET attempts = 0, last_error = $2"
									" WHERE id = ANY ($1)",
									2, types, args, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "could not record the error of feature group \"%s\": SPI error %d",
				 groups[g].name, ret);
	}
	ScheduleRevisits(b.futures, b.nfutures);
	/* the sleep that may follow ends at the next revisit, this batch's included */
	next_revisit = NextRevisit(GroupsInBackoff(GetCurrentTimestamp()));
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(batchcxt);
	pgstat_report_stat(false);
	busy_ids = (Datum) 0;
	if (scan.id != 0 && !groups[scan_group].failed)
		WalkAdvance(scan.id, scan.emitted, scan.finished);

	/* --- status --- */
	now = GetCurrentTimestamp();
	SpinLockAcquire(&online_shared->mutex);
	online_shared->batches++;
	online_shared->last_success = now;
	online_shared->busy_first_id = 0;
	online_shared->busy_rows = 0;
	for (int g = 0; g < ngroups; g++)
	{
		OnlineGroupStatus *slot;

		if (groups[g].failed)
			continue;
		slot = GroupSlot(groups[g].name);
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
	for (int g = 0; g < ngroups; g++)
		if (!groups[g].failed)
			GroupSucceeded(groups[g].name, groups[g].gone);
	if (!more)
		SetWorkerIdle();
	return more;
}

/*
 * RunGroupStep runs one step of the batch that reads a group's table (its
 * winners, or a chunk of its walk) in a subtransaction, the way PL/pgSQL
 * runs a block with an exception handler.  If it fails, the error is kept
 * in bg (the group's rows then stay queued), the subtransaction's work is
 * rolled back, and the batch goes on with the next group.  What the step
 * had already streamed to Redis was computed correctly and stays; what it
 * added but had not streamed, possibly an item it was still filling in, is
 * dropped.
 */
static void
RunGroupStep(BatchItems *b, BatchGroup *bg, GroupStep step, void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	int			first_item = b->nitems;
	int			first_future = b->nfutures;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		step(b, bg, arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(b->batchcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;

		bg->failed = true;
		bg->error = edata->message;
		bg->hint = edata->hint;
		b->nitems = Max(first_item, b->stream->sent_items);
		b->nfutures = first_future;
	}
	PG_END_TRY();
}

/*
 * GroupWinners computes the winners of one group's queued entities into the
 * batch, streaming finished calls to Redis as it goes.  A group that is gone
 * or offline just has its rows removed.
 */
static void
GroupWinners(BatchItems *b, BatchGroup *bg, void *arg)
{
	MemoryContext oldcxt;
	OnlineGroup *group;
	StringInfoData entities_sql;
	char	   *sql;
	Oid			types[6] = {TIMESTAMPTZOID, TIMESTAMPTZOID, INT8ARRAYOID, TEXTOID,
	TEXTOID, TEXTOID};
	Datum		args[6];
	Portal		portal;
	TimestampTz now = b->now;
	Datum		queued;
	bool		isnull;
	int			ret;
	Oid			save_userid;
	int			save_sec_context;

	oldcxt = MemoryContextSwitchTo(b->batchcxt);
	group = OnlineLoadGroup(bg->name, true);
	MemoryContextSwitchTo(oldcxt);
	if (group == NULL || !group->online)
	{
		bg->gone = true;		/* dropped or offline: its entries just go */
		return;
	}
	/* a table that no longer has the registry's shape is not read at all */
	RegistryCheckGroupTable(group->registry);
	b->group = group;
	b->group_index = (int) (bg - b->groups);

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

	args[0] = TimestampTzGetDatum(now);
	args[1] = TimestampTzGetDatum(group->ttl_usecs > 0 ? now - group->ttl_usecs : DT_NOBEGIN);
	args[2] = IdArray(b->ids, b->nids);
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
	queued = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;
	args[2] = datumCopy(queued, false, -1);
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

	/*
	 * An error inside the section aborts RunGroupStep's subtransaction,
	 * which restores the worker's identity and search_path.
	 */
	FeatstoreBeginAsTableOwner(group->relid, &save_userid, &save_sec_context);
	if (WinnerRange(group, bg->entities, args[2], &args[4], &args[5]))
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
		for (uint64 r = 0; r < SPI_processed && b->nitems < b->maxitems; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			int			nk = group->nkeys;
			bool		isnull;
			Datum		ets;
			Datum		next;
			OnlineWinner w;

			/* a row's scratch goes with the next row; what stays is copied */
			MemoryContextReset(b->rowcxt);
			oldcxt = MemoryContextSwitchTo(b->rowcxt);
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
			AddItem(b, &w);
			MemoryContextSwitchTo(oldcxt);
		}
		SPI_freetuptable(SPI_tuptable);

		/*
		 * Hand Redis what is ready while the next rows are computed.  This
		 * never waits on Redis, so the transaction is never held by it.
		 */
		StreamCalls(b->stream, b->items, b->nitems, false);
	}
	SPI_cursor_close(portal);
	FeatstoreEndAsTableOwner(save_userid, save_sec_context);
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

/* IdArray makes a bigint[] of queue row ids */
static Datum
IdArray(int64 *ids, int nids)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(nids, 1));

	for (int i = 0; i < nids; i++)
		elems[i] = Int64GetDatum(ids[i]);
	return PointerGetDatum(construct_array(elems, nids, INT8OID, sizeof(int64),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * ParkRows parks queue rows that ONLINE_MAX_ATTEMPTS attempts in a row did
 * not finish: the worker died (or failed outside any group: errors[i] then
 * says how) each time it processed them, alone for all but the first.  They
 * keep their error and wait, state 'failed', until materialize() of their
 * group; each is logged and shown in its group's last_error.  Runs in the
 * batch's first transaction.
 */
static void
ParkRows(int64 *ids, char **groups, int *attempts, char **errors, int nrows)
{
	Oid			types[1] = {INT8ARRAYOID};
	Datum		args[1];
	int			ret;

	args[0] = IdArray(ids, nrows);
	ret = SPI_execute_with_args("UPDATE featstore.online_queue SET state = 'failed',"
								" last_error = coalesce(last_error, 'the worker died while processing this row')"
								" WHERE id = ANY ($1)",
								1, types, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not park rows of featstore.online_queue: SPI error %d", ret);
	for (int i = 0; i < nrows; i++)
	{
		char	   *msg = psprintf("queue row %lld parked: %d attempts in a row did not finish (%s)",
								   (long long) ids[i], attempts[i],
								   errors[i] ? errors[i] : "the worker died while processing it");

		ereport(LOG,
				(errmsg("featstore online worker: feature group \"%s\": %s", groups[i], msg),
				 errdetail("Its other rows and the other groups go on; a parked row waits until the group is materialized."),
				 errhint("Find the cause in the server log, then run SELECT featstore.materialize('%s').",
						 groups[i])));
		OnlineRecordGroupError(groups[i], msg);
	}
}

/*
 * EndAttempt ends the attempt on a batch's rows that failed for a reason of
 * its own (Redis, not the rows), in a short transaction: a death is what
 * attempts count.  error, if given, is kept on the rows.
 */
static void
EndAttempt(Datum ids, const char *error)
{
	Oid			types[2] = {INT8ARRAYOID, TEXTOID};
	Datum		args[2];
	char		nulls[2] = {' ', error ? ' ' : 'n'};
	int			ret;

	args[0] = ids;
	args[1] = error ? CStringGetTextDatum(error) : (Datum) 0;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	ret = SPI_execute_with_args("UPDATE featstore.online_queue SET attempts = 0,"
								" last_error = coalesce($2, last_error) WHERE id = ANY ($1)",
								2, types, args, nulls, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not end an attempt in featstore.online_queue: SPI error %d", ret);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	busy_ids = (Datum) 0;
}

/*
 * RecordBusyError keeps an error that failed the whole batch on the batch's
 * rows, which keep their attempt: if the same rows fail this way each time,
 * they are parked with this error rather than as a death.  Called after the
 * failed transaction was aborted; a failure here only loses the message.
 */
static void
RecordBusyError(const char *error)
{
	Oid			types[2] = {INT8ARRAYOID, TEXTOID};
	Datum		args[2];

	if (busy_ids == (Datum) 0)
		return;
	args[0] = busy_ids;
	args[1] = CStringGetTextDatum(error);
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		(void) SPI_execute_with_args("UPDATE featstore.online_queue SET last_error = $2 WHERE id = ANY ($1)",
									 2, types, args, NULL, false, 0);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	busy_ids = (Datum) 0;
}

/*
 * NextRevisit returns when the earliest scheduled revisit the worker would
 * take is due (0: none): one probe of the revisits' partial index.  Groups
 * waiting for a retry (backoff, a text[]) are left out, or their overdue
 * revisits would wake the worker at once, again and again.
 */
static TimestampTz
NextRevisit(Datum backoff)
{
	Oid			types[1] = {TEXTARRAYOID};
	Datum		args[1] = {backoff};
	int			ret;
	bool		isnull;
	Datum		due;

	/* not read-only: it must see the revisits this transaction just scheduled */
	ret = SPI_execute_with_args("SELECT pg_catalog.min(not_before) FROM featstore.online_queue"
								" WHERE not_before IS NOT NULL AND state = 'ready'"
								" AND group_name <> ALL ($1)",
								1, types, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		return 0;
	due = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetTimestampTz(due);
}

/*
 * GroupsInBackoff returns, as a text[], the groups in error whose retry is
 * not due yet at now.
 */
static Datum
GroupsInBackoff(TimestampTz now)
{
	HASH_SEQ_STATUS seq;
	GroupBackoff *e;
	Datum	   *names = palloc(sizeof(Datum) * (hash_get_num_entries(group_backoff) + 1));
	int			n = 0;

	hash_seq_init(&seq, group_backoff);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (e->retry_at > now)
			names[n++] = CStringGetTextDatum(e->name);
	return PointerGetDatum(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * EarliestRetry returns the first retry of any group in error (0: none),
 * which may be due already.  It allocates nothing: the main loop calls it
 * between batches, in long-lived memory.
 */
static TimestampTz
EarliestRetry(void)
{
	HASH_SEQ_STATUS seq;
	GroupBackoff *e;
	TimestampTz earliest = 0;

	hash_seq_init(&seq, group_backoff);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (earliest == 0 || e->retry_at < earliest)
			earliest = e->retry_at;
	return earliest;
}

/*
 * GroupFailed puts a group whose work failed in backoff: its next retry is
 * 100 ms away, doubling up to BACKOFF_MAX_MS while it keeps failing.  The
 * error is logged when it starts (or changes), never while it repeats, and
 * never with the text of a query; it shows in the group's last_error.
 */
static void
GroupFailed(const char *name, const char *error, const char *hint)
{
	GroupBackoff *e;
	bool		found;
	char		key[NAMEDATALEN];

	strlcpy(key, name, NAMEDATALEN);
	e = hash_search(group_backoff, key, HASH_ENTER, &found);
	if (!found)
	{
		e->backoff_ms = 0;
		e->error[0] = '\0';
	}
	e->backoff_ms = Min(Max(e->backoff_ms * 2, 100), BACKOFF_MAX_MS);
	e->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), e->backoff_ms);
	OnlineRecordGroupError(name, error);
	if (strncmp(e->error, error, ONLINE_ERRMSG_LEN - 1) == 0)
		return;
	strlcpy(e->error, error, ONLINE_ERRMSG_LEN);
	ereport(LOG,
			(errmsg("featstore online worker: feature group \"%s\" failed: %s", name, error),
			 hint ? errhint("%s", hint) : 0,
			 errdetail("Its changes stay queued and are retried with backoff up to %d ms; the other groups go on. A repeating error is logged once.",
					   BACKOFF_MAX_MS)));
}

/*
 * GroupSucceeded takes a group out of backoff, saying so if it was in error
 * (unless it is gone: dropped or offline)
 */
static void
GroupSucceeded(const char *name, bool gone)
{
	char		key[NAMEDATALEN];
	bool		found;

	if (hash_get_num_entries(group_backoff) == 0)
		return;
	strlcpy(key, name, NAMEDATALEN);
	(void) hash_search(group_backoff, key, HASH_REMOVE, &found);
	if (found && !gone)
		ereport(LOG,
				(errmsg("featstore online worker: feature group \"%s\" recovered; catching up", name)));
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
 * RunScanChunk computes one chunk of a whole-group walk (arg, a BatchScan)
 * into the batch.  A group that is gone or offline ends the walk.  A group
 * whose table lost the index the walk follows has its entities listed in
 * the queue instead, as capture does, and the walk ends.
 */
static void
RunScanChunk(BatchItems *b, BatchGroup *bg, void *arg)
{
	BatchScan  *scan = (BatchScan *) arg;
	MemoryContext oldcxt;
	OnlineGroup *group;
	Oid			indexoid;
	char	  **last_keys;
	bool		at_end;
	Oid			save_userid;
	int			save_sec_context;

	oldcxt = MemoryContextSwitchTo(b->batchcxt);
	group = OnlineLoadGroup(scan->group_name, true);
	MemoryContextSwitchTo(oldcxt);
	if (group == NULL || !group->online)
	{
		bg->gone = true;
		scan->finished = true;
		return;
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
		return;
	}

	b->group = group;
	b->group_index = (int) (bg - b->groups);

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
	CountCasReplies(res, stream->calls, stream->ncalls, items, groups, &noscript);
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
	/* one group per call, so that an error reply is that group's alone */
	while (pos + n < nitems && n < ONLINE_CAS_BATCH &&
		   items[pos + n].value != NULL && !items[pos + n].force &&
		   items[pos + n].group_index == it->group_index)
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
 * items each covers) and adds their outcomes to the groups' counters.  An
 * unexpected reply fails the group of its items (each call covers one
 * group), whose rows then stay queued; the other groups are unaffected.
 * *noscript is set if Redis had forgotten the script.
 */
static void
CountCasReplies(RedisResult *res, PushCall *calls, int ncalls, PushItem *items,
				BatchGroup *groups, bool *noscript)
{
	for (int c = 0; c < ncalls; c++)
	{
		int			first = calls[c].first;
		BatchGroup *cg = &groups[items[first].group_index];

		if (!calls[c].script)
		{
			PushItem   *it = &items[first];

			if (it->value == NULL && res[c].type == REDIS_REPLY_INTEGER)
			{
				if (res[c].integer == 1)
					cg->removed++;
			}
			else if (it->value != NULL && res[c].type == REDIS_REPLY_STATUS)
				cg->written++;
			else if (!cg->failed)
			{
				cg->failed = true;
				cg->hint = NULL;
				cg->error = psprintf("unexpected Redis reply to %s of key \"%s\": %s",
									 it->value ? "SET" : "DEL", it->key,
									 res[c].str ? res[c].str : "not a status or an integer");
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
			if (!cg->failed)
			{
				cg->failed = true;
				cg->hint = NULL;
				cg->error = psprintf("unexpected Redis reply to the featstore script for key \"%s\": %s",
									 items[first].key, res[c].str ? res[c].str : "not an array of codes");
			}
			continue;
		}
		for (int i = 0; i < res[c].nelements; i++)
		{
			RedisResult *code = &res[c].elements[i];

			if (code->type != REDIS_REPLY_INTEGER)
			{
				if (!cg->failed)
				{
					cg->failed = true;
					cg->hint = NULL;
					cg->error = psprintf("unexpected Redis reply to the featstore script for key \"%s\"",
										 items[first + i].key);
				}
				continue;
			}
			if (code->integer == 1)
				cg->written++;
			else if (code->integer == 0)
				cg->skipped++;
			else if (code->integer == 2)
				cg->removed++;
		}
	}
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
		CountCasReplies(res, calls, ncalls, items, groups, &noscript);
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
