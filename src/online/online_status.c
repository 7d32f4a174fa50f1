/*
 * online_status.c
 *		The online store's shared memory: the worker's state, its batch in
 *		progress, the walk it is on, and the per-group counters, with the
 *		functions that publish them and those that copy them out for the
 *		status views.
 *
 * One OnlineShared per served database (issue 13), featstore.max_online_workers
 * of them: the launcher claims a database's slot before it starts its
 * workers and frees it when it stops serving it; a backend finds its
 * database's slot by MyDatabaseId, the worker keeps the one it attached to.
 * A database without a slot (not served) reads as a stopped worker.
 *
 * Two locks, for two kinds of data:
 *	- OnlineShared's spinlock guards its small scalar fields and the walk;
 *	  it is held for a few assignments only, never across anything that can
 *	  fail or take time (callers read the clock before taking it);
 *	- the per-group counters live in a shared hash table keyed by database
 *	  and group name (ONLINE_MAX_GROUPS entries per database), guarded by
 *	  the LWLock of the tranche
 *	  "featstore online status".
 * The worker writes both; any backend reads them.
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "online/online.h"

#define STATUS_TRANCHE "featstore online status"

OnlineShared *online_shared = NULL;
OnlineLauncherShared *online_launcher = NULL;

/* The slot the worker attached to (NULL in other processes) */
static OnlineShared *worker_slot = NULL;

/* The hash key of a group's counters */
typedef struct GroupStatusKey
{
	Oid			dboid;
	char		name[NAMEDATALEN];
} GroupStatusKey;

/* Per-group counters, by name, and the lock guarding them */
static HTAB *group_status = NULL;
static LWLock *group_status_lock = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void OnlineShmemRequest(void);
static void OnlineShmemStartup(void);
static OnlineGroupStatus *GroupStatusEntry(const char *name);
static OnlineShared *MySlot(void);
static int	DatabaseGroupCount(Oid dboid);
static Size StatusShmemSize(void);

/* OnlineStatusShmemInit asks, while preloading, for the shared status area */
void
OnlineStatusShmemInit(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = OnlineShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = OnlineShmemStartup;
}

/* OnlineShmemRequest reserves the shared status area and its lock */
static void
OnlineShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(StatusShmemSize());
	RequestNamedLWLockTranche(STATUS_TRANCHE, 1);
}

/* StatusShmemSize is the size of the slots, the launcher's area and the hash */
static Size
StatusShmemSize(void)
{
	Size		size = mul_size(MAXALIGN(sizeof(OnlineShared)), online_max_workers);

	size = add_size(size, MAXALIGN(offsetof(OnlineLauncherShared, dbs) +
								   sizeof(OnlineLauncherDb) * ONLINE_LAUNCHER_MAX_DBS));
	return add_size(size, hash_estimate_size(ONLINE_MAX_GROUPS * online_max_workers,
											 sizeof(OnlineGroupStatus)));
}

/* OnlineShmemStartup creates or attaches the shared status area */
static void
OnlineShmemStartup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	online_shared = ShmemInitStruct("featstore online store",
									mul_size(sizeof(OnlineShared), online_max_workers),
									&found);
	if (!found)
	{
		memset(online_shared, 0, sizeof(OnlineShared) * online_max_workers);
		for (int i = 0; i < online_max_workers; i++)
			SpinLockInit(&online_shared[i].mutex);
	}
	online_launcher = ShmemInitStruct("featstore online launcher",
									  offsetof(OnlineLauncherShared, dbs) +
									  sizeof(OnlineLauncherDb) * ONLINE_LAUNCHER_MAX_DBS,
									  &found);
	if (!found)
	{
		memset(online_launcher, 0, offsetof(OnlineLauncherShared, dbs));
		SpinLockInit(&online_launcher->mutex);
	}
	group_status_lock = &(GetNamedLWLockTranche(STATUS_TRANCHE))->lock;
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(GroupStatusKey);
	info.entrysize = sizeof(OnlineGroupStatus);
	/* allocated whole at startup: GroupStatusEntry keeps it at this size */
	group_status = ShmemInitHash("featstore online group status",
								 ONLINE_MAX_GROUPS * online_max_workers,
								 ONLINE_MAX_GROUPS * online_max_workers,
								 &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * MySlot returns the slot of this backend's database, NULL when the
 * launcher serves it with none (or featstore is not preloaded).  The slot's
 * dboid is read again under its lock by whoever uses it: the launcher may
 * free it meanwhile.
 */
static OnlineShared *
MySlot(void)
{
	if (online_shared == NULL || !OidIsValid(MyDatabaseId))
		return NULL;
	for (int i = 0; i < online_max_workers; i++)
		if (online_shared[i].dboid == MyDatabaseId)
			return &online_shared[i];
	return NULL;
}

/* OnlineWakeWorker tells the worker there is new work, without waiting */
void
OnlineWakeWorker(void)
{
	Latch	   *latch;
	TimestampTz now;

	OnlineShared *slot = MySlot();

	if (slot == NULL)
		return;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&slot->mutex);
	if (slot->dboid != MyDatabaseId)
	{
		SpinLockRelease(&slot->mutex);
		return;
	}
	slot->wakeup_pending = true;
	/* the work is the worker's from now on: never shown idle while it waits */
	if (slot->state == ONLINE_STATE_IDLE)
	{
		slot->state = ONLINE_STATE_PUSHING;
		slot->state_since = now;
	}
	latch = slot->worker_latch;
	SpinLockRelease(&slot->mutex);
	if (latch)
		SetLatch(latch);
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

/*
 * GroupStatusEntry finds or creates a group's counters; the caller holds
 * group_status_lock exclusively.  When ONLINE_MAX_GROUPS groups already have
 * counters (many groups dropped over time), those of the group that went
 * longest without a successful batch make room, as the fixed slots of
 * earlier releases did.  NULL only if shared memory ran out all the same.
 */
static OnlineGroupStatus *
GroupStatusEntry(const char *name)
{
	GroupStatusKey key;
	OnlineGroupStatus *entry;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.dboid = MyDatabaseId;
	strlcpy(key.name, name, NAMEDATALEN);
	entry = hash_search(group_status, &key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;
	if (DatabaseGroupCount(MyDatabaseId) >= ONLINE_MAX_GROUPS)
	{
		HASH_SEQ_STATUS seq;
		OnlineGroupStatus *s;
		OnlineGroupStatus *oldest = NULL;

		hash_seq_init(&seq, group_status);
		while ((s = hash_seq_search(&seq)) != NULL)
			if (s->dboid == MyDatabaseId &&
				(oldest == NULL || s->last_success < oldest->last_success))
				oldest = s;
		(void) hash_search(group_status, oldest, HASH_REMOVE, NULL);
	}
	entry = hash_search(group_status, &key, HASH_ENTER_NULL, &found);
	if (entry != NULL && !found)
	{
		memset(entry, 0, sizeof(OnlineGroupStatus));
		entry->dboid = key.dboid;
		strlcpy(entry->name, key.name, NAMEDATALEN);
	}
	return entry;
}

/* DatabaseGroupCount counts a database's groups with counters; lock held */
static int
DatabaseGroupCount(Oid dboid)
{
	HASH_SEQ_STATUS seq;
	OnlineGroupStatus *s;
	int			n = 0;

	hash_seq_init(&seq, group_status);
	while ((s = hash_seq_search(&seq)) != NULL)
		n += (s->dboid == dboid);
	return n;
}

/*
 * OnlineForgetDatabase drops the counters of a database the launcher no
 * longer serves (dropped, or featstore removed from it)
 */
void
OnlineForgetDatabase(Oid dboid)
{
	HASH_SEQ_STATUS seq;
	OnlineGroupStatus *s;

	LWLockAcquire(group_status_lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, group_status);
	while ((s = hash_seq_search(&seq)) != NULL)
		if (s->dboid == dboid)
			(void) hash_search(group_status, s, HASH_REMOVE, NULL);
	LWLockRelease(group_status_lock);
}

/* OnlineRecordGroupError remembers the latest error of a group */
void
OnlineRecordGroupError(const char *group, const char *msg)
{
	OnlineGroupStatus *entry;
	TimestampTz now;

	if (online_shared == NULL)
		return;
	now = GetCurrentTimestamp();
	LWLockAcquire(group_status_lock, LW_EXCLUSIVE);
	entry = GroupStatusEntry(group);
	if (entry)
	{
		entry->last_error_at = now;
		strlcpy(entry->last_error, msg, ONLINE_ERRMSG_LEN);
	}
	LWLockRelease(group_status_lock);
}

/*
 * OnlineGroupSucceeded counts a group's part of a batch that reached Redis
 * and the queue: its lag (if it had captured changes, the oldest of them
 * enqueued at oldest_enqueued) and its outcomes
 */
void
OnlineGroupSucceeded(const char *group, TimestampTz now, TimestampTz oldest_enqueued,
					 int64 written, int64 removed, int64 skipped)
{
	OnlineGroupStatus *entry;

	LWLockAcquire(group_status_lock, LW_EXCLUSIVE);
	entry = GroupStatusEntry(group);
	if (entry)
	{
		entry->last_success = now;
		if (oldest_enqueued != 0)
			entry->lag_usecs = now - oldest_enqueued;
		entry->entities_written += written;
		entry->keys_removed += removed;
		entry->rows_skipped += skipped;
	}
	LWLockRelease(group_status_lock);
}

/* OnlineGroupKeysRemoved counts the keys a purge of a group removed */
void
OnlineGroupKeysRemoved(const char *group, int64 removed)
{
	OnlineGroupStatus *entry;

	LWLockAcquire(group_status_lock, LW_EXCLUSIVE);
	entry = GroupStatusEntry(group);
	if (entry)
		entry->keys_removed += removed;
	LWLockRelease(group_status_lock);
}

/*
 * OnlineCopyGroupStatuses returns a palloc'd copy of every group's counters,
 * in no particular order, and their number in *n
 */
OnlineGroupStatus *
OnlineCopyGroupStatuses(int *n)
{
	HASH_SEQ_STATUS seq;
	OnlineGroupStatus *s;
	OnlineGroupStatus *copy = palloc(sizeof(OnlineGroupStatus) * ONLINE_MAX_GROUPS);

	*n = 0;
	LWLockAcquire(group_status_lock, LW_SHARED);
	hash_seq_init(&seq, group_status);
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		/* GroupStatusEntry never lets a database's grow past this */
		if (s->dboid == MyDatabaseId && *n < ONLINE_MAX_GROUPS)
			copy[(*n)++] = *s;
	}
	LWLockRelease(group_status_lock);
	return copy;
}

/*
 * OnlineCopyWorkerStatus copies the state and scalar counters of this
 * database's worker; all zero (stopped) when it has none
 */
void
OnlineCopyWorkerStatus(OnlineShared *snap)
{
	OnlineShared *slot = worker_slot ? worker_slot : MySlot();

	memset(snap, 0, sizeof(OnlineShared));
	if (slot == NULL)
		return;
	SpinLockAcquire(&slot->mutex);
	if (slot->dboid == MyDatabaseId)
		memcpy(snap, slot, sizeof(OnlineShared));
	SpinLockRelease(&slot->mutex);
}

/* OnlineCopyWalkProgress copies the walk the worker is on (queue_id 0: none) */
void
OnlineCopyWalkProgress(OnlineWalkProgress *walk)
{
	OnlineShared snap;

	OnlineCopyWorkerStatus(&snap);
	*walk = snap.walk;
}

/*
 * OnlineWorkerAttach publishes a starting worker of database dboid (its pid
 * and latch) in the slot the launcher claimed for it, and returns what a
 * previous worker left there: the batch it was in the middle of when it
 * exited (not crashed: that resets shared memory), if any
 */
void
OnlineWorkerAttach(Oid dboid, int64 *left_id, int *left_rows, char *left_group)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; online_shared != NULL && i < online_max_workers; i++)
		if (online_shared[i].dboid == dboid)
			worker_slot = &online_shared[i];
	if (worker_slot == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("featstore online worker: no status slot for database %u", dboid),
				 errhint("The launcher starts the worker; it was stopped meanwhile.")));
	SpinLockAcquire(&worker_slot->mutex);
	worker_slot->worker_pid = MyProcPid;
	worker_slot->worker_latch = MyLatch;
	worker_slot->no_extension = false;
	worker_slot->state = ONLINE_STATE_STARTING;
	worker_slot->state_since = now;
	*left_id = worker_slot->busy_first_id;
	*left_rows = worker_slot->busy_rows;
	strlcpy(left_group, worker_slot->busy_group, NAMEDATALEN);
	worker_slot->busy_first_id = 0;
	worker_slot->busy_rows = 0;
	SpinLockRelease(&worker_slot->mutex);
}

/*
 * OnlineWorkerNoExtension tells the launcher that the worker leaves because
 * featstore is not installed in its database (DROP EXTENSION): the launcher
 * then stops the monitor and looks for CREATE EXTENSION again
 */
void
OnlineWorkerNoExtension(void)
{
	SpinLockAcquire(&worker_slot->mutex);
	worker_slot->no_extension = true;
	SpinLockRelease(&worker_slot->mutex);
}

/*
 * OnlineClaimSlot gives database dboid a slot (the one it has, or a free
 * one); false when all featstore.max_online_workers are taken.  The
 * launcher alone claims and releases.
 */
bool
OnlineClaimSlot(Oid dboid)
{
	OnlineShared *free_slot = NULL;

	for (int i = 0; i < online_max_workers; i++)
	{
		if (online_shared[i].dboid == dboid)
			return true;
		if (free_slot == NULL && !OidIsValid(online_shared[i].dboid))
			free_slot = &online_shared[i];
	}
	if (free_slot == NULL)
		return false;
	SpinLockAcquire(&free_slot->mutex);
	free_slot->dboid = dboid;
	SpinLockRelease(&free_slot->mutex);
	return true;
}

/*
 * OnlineReleaseSlot frees the slot of a database the launcher no longer
 * serves, once its workers stopped, with its groups' counters
 */
void
OnlineReleaseSlot(Oid dboid)
{
	for (int i = 0; i < online_max_workers; i++)
	{
		OnlineShared *slot = &online_shared[i];

		if (slot->dboid != dboid)
			continue;
		SpinLockAcquire(&slot->mutex);
		memset((char *) slot + offsetof(OnlineShared, dboid), 0,
			   sizeof(OnlineShared) - offsetof(OnlineShared, dboid));
		SpinLockRelease(&slot->mutex);
	}
	OnlineForgetDatabase(dboid);
}

/*
 * OnlineReleaseAllSlots frees every slot: a launcher that starts (again)
 * claims afresh for the databases it finds
 */
void
OnlineReleaseAllSlots(void)
{
	for (int i = 0; i < online_max_workers; i++)
		if (OidIsValid(online_shared[i].dboid))
			OnlineReleaseSlot(online_shared[i].dboid);
}

/* OnlineSlotPids reads the pids a database's slot publishes (0: none) */
void
OnlineSlotPids(Oid dboid, int *worker_pid, int *monitor_pid, bool *no_extension)
{
	*worker_pid = *monitor_pid = 0;
	*no_extension = false;
	for (int i = 0; online_shared != NULL && i < online_max_workers; i++)
	{
		OnlineShared *slot = &online_shared[i];

		SpinLockAcquire(&slot->mutex);
		if (slot->dboid == dboid && OidIsValid(dboid))
		{
			*worker_pid = slot->worker_pid;
			*monitor_pid = slot->monitor_pid;
			*no_extension = slot->no_extension;
		}
		SpinLockRelease(&slot->mutex);
	}
}

/* OnlinePublishMonitor publishes the pid of a database's monitor (0: gone) */
void
OnlinePublishMonitor(Oid dboid, int pid)
{
	for (int i = 0; online_shared != NULL && i < online_max_workers; i++)
	{
		OnlineShared *slot = &online_shared[i];

		SpinLockAcquire(&slot->mutex);
		if (slot->dboid == dboid && OidIsValid(dboid))
			slot->monitor_pid = pid;
		SpinLockRelease(&slot->mutex);
	}
}

/*
 * OnlineClaimNamespace publishes the namespace the worker is about to write
 * under and returns the database of another worker that claimed it earlier
 * (InvalidOid: none).  Of two claimants the earlier keeps it (the lower
 * database OID on a tie); a namespace claimed anew starts its time now.
 */
Oid
OnlineClaimNamespace(const char *ns)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz mine;
	Oid			other = InvalidOid;

	SpinLockAcquire(&worker_slot->mutex);
	if (!worker_slot->ns_claimed || strcmp(worker_slot->namespace, ns) != 0)
	{
		strlcpy(worker_slot->namespace, ns, sizeof(worker_slot->namespace));
		worker_slot->ns_since = now;
		worker_slot->ns_claimed = true;
	}
	mine = worker_slot->ns_since;
	SpinLockRelease(&worker_slot->mutex);

	for (int i = 0; i < online_max_workers && !OidIsValid(other); i++)
	{
		OnlineShared *slot = &online_shared[i];

		if (slot == worker_slot)
			continue;
		SpinLockAcquire(&slot->mutex);
		if (OidIsValid(slot->dboid) && slot->ns_claimed && slot->worker_pid != 0 &&
			strcmp(slot->namespace, ns) == 0 &&
			(slot->ns_since < mine || (slot->ns_since == mine && slot->dboid < MyDatabaseId)))
			other = slot->dboid;
		SpinLockRelease(&slot->mutex);
	}
	return other;
}

/*
 * OnlineNamespaceUser returns a database other than this one whose worker
 * writes under namespace ns (InvalidOid: none), for set_online_namespace()
 */
Oid
OnlineNamespaceUser(const char *ns)
{
	Oid			other = InvalidOid;

	for (int i = 0; online_shared != NULL && i < online_max_workers && !OidIsValid(other); i++)
	{
		OnlineShared *slot = &online_shared[i];

		SpinLockAcquire(&slot->mutex);
		if (OidIsValid(slot->dboid) && slot->dboid != MyDatabaseId && slot->ns_claimed &&
			strcmp(slot->namespace, ns) == 0)
			other = slot->dboid;
		SpinLockRelease(&slot->mutex);
	}
	return other;
}

/*
 * OnlineStopDatabaseWorkers asks a database's workers to exit (SIGTERM),
 * from the backend running DROP DATABASE: PostgreSQL waits 5 seconds for
 * other sessions of the database to leave, and signals only autovacuum.
 * The launcher starts them again after ONLINE_WORKER_RESTART_SECS only if
 * the database still exists.
 */
void
OnlineStopDatabaseWorkers(Oid dboid)
{
	int			worker_pid;
	int			monitor_pid;
	bool		no_extension;

	OnlineSlotPids(dboid, &worker_pid, &monitor_pid, &no_extension);
	if (worker_pid > 0)
		(void) kill(worker_pid, SIGTERM);
	if (monitor_pid > 0)
		(void) kill(monitor_pid, SIGTERM);
}

/* OnlineWorkerDetach unpublishes an exiting worker's latch */
void
OnlineWorkerDetach(void)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&worker_slot->mutex);
	/* a launcher that restarted may have given the slot to another worker */
	if (worker_slot->worker_pid == MyProcPid)
	{
		worker_slot->worker_latch = NULL;
		worker_slot->worker_pid = 0;
		worker_slot->state = ONLINE_STATE_STOPPED;
		worker_slot->state_since = now;
	}
	SpinLockRelease(&worker_slot->mutex);
}

/* OnlineSetWorkerState publishes the worker's state and, if given, its error */
void
OnlineSetWorkerState(OnlineWorkerState state, const char *error)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&worker_slot->mutex);
	if (worker_slot->state != state)
		worker_slot->state_since = now;
	worker_slot->state = state;
	if (error)
	{
		worker_slot->last_error_at = now;
		strlcpy(worker_slot->last_error, error, ONLINE_ERRMSG_LEN);
	}
	SpinLockRelease(&worker_slot->mutex);
}

/* OnlineWorkerStateNow returns the state the worker last published */
OnlineWorkerState
OnlineWorkerStateNow(void)
{
	OnlineWorkerState state;

	SpinLockAcquire(&worker_slot->mutex);
	state = worker_slot->state;
	SpinLockRelease(&worker_slot->mutex);
	return state;
}

/*
 * OnlineSetWorkerIdle publishes that the worker has nothing to do, unless a
 * commit has handed it work since it last looked at the queue
 */
void
OnlineSetWorkerIdle(void)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&worker_slot->mutex);
	if (!worker_slot->wakeup_pending && worker_slot->state != ONLINE_STATE_IDLE)
	{
		worker_slot->state = ONLINE_STATE_IDLE;
		worker_slot->state_since = now;
	}
	SpinLockRelease(&worker_slot->mutex);
}

/*
 * OnlineTakeWakeup clears the pending wake-up before the worker looks at the
 * queue: commits after that set it again
 */
void
OnlineTakeWakeup(void)
{
	SpinLockAcquire(&worker_slot->mutex);
	worker_slot->wakeup_pending = false;
	SpinLockRelease(&worker_slot->mutex);
}

/* OnlineWakeupPending says whether a commit woke the worker since it looked */
bool
OnlineWakeupPending(void)
{
	bool		pending;

	SpinLockAcquire(&worker_slot->mutex);
	pending = worker_slot->wakeup_pending;
	SpinLockRelease(&worker_slot->mutex);
	return pending;
}

/*
 * OnlineSetBusy publishes the batch in progress (its first queue row, how
 * many rows, the group of the first), once its attempt is on record
 */
void
OnlineSetBusy(int64 first_id, int rows, const char *group)
{
	SpinLockAcquire(&worker_slot->mutex);
	worker_slot->busy_first_id = first_id;
	worker_slot->busy_rows = rows;
	strlcpy(worker_slot->busy_group, group, NAMEDATALEN);
	SpinLockRelease(&worker_slot->mutex);
}

/* OnlineClearBusy publishes that no batch is in progress */
void
OnlineClearBusy(void)
{
	SpinLockAcquire(&worker_slot->mutex);
	worker_slot->busy_first_id = 0;
	worker_slot->busy_rows = 0;
	SpinLockRelease(&worker_slot->mutex);
}

/* OnlineBatchDone counts a batch that reached Redis and the queue */
void
OnlineBatchDone(TimestampTz now)
{
	SpinLockAcquire(&worker_slot->mutex);
	worker_slot->batches++;
	worker_slot->last_success = now;
	worker_slot->busy_first_id = 0;
	worker_slot->busy_rows = 0;
	SpinLockRelease(&worker_slot->mutex);
}

/*
 * OnlineWalkBegin publishes the walk a batch carries a chunk of (queue row
 * queue_id, of group, entities left to walk).  The walk already shown keeps
 * its counts; another one starts from its queue row's count.
 */
void
OnlineWalkBegin(int64 queue_id, const char *group, int64 entities)
{
	OnlineWalkProgress *walk = &worker_slot->walk;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&worker_slot->mutex);
	if (walk->queue_id != queue_id)
	{
		walk->queue_id = queue_id;
		strlcpy(walk->group, group, NAMEDATALEN);
		walk->done = 0;
		walk->total = entities;
		walk->started = now;
		walk->updated = now;
	}
	walk->phase = ONLINE_WALK_READING;
	SpinLockRelease(&worker_slot->mutex);
}

/* OnlineWalkSetPhase publishes the phase of the walk shown, if it is that one */
void
OnlineWalkSetPhase(int64 queue_id, OnlineWalkPhase phase)
{
	SpinLockAcquire(&worker_slot->mutex);
	if (worker_slot->walk.queue_id == queue_id)
		worker_slot->walk.phase = phase;
	SpinLockRelease(&worker_slot->mutex);
}

/*
 * OnlineWalkAdvance counts a chunk of the walk once Redis and the queue have
 * it; a finished walk is no longer shown
 */
void
OnlineWalkAdvance(int64 queue_id, int emitted, bool finished)
{
	OnlineWalkProgress *walk = &worker_slot->walk;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&worker_slot->mutex);
	if (walk->queue_id == queue_id)
	{
		walk->done += emitted;
		/* entities with rows added since it was queued are walked too */
		walk->total = Max(walk->total, walk->done);
		walk->updated = now;
		walk->phase = ONLINE_WALK_READING;
		if (finished)
			walk->queue_id = 0;
	}
	SpinLockRelease(&worker_slot->mutex);
}
