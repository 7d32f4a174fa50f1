/*
 * online_status.c
 *		The online store's shared memory: the worker's state, its batch in
 *		progress, the walk it is on, and the per-group counters, with the
 *		functions that publish them and those that copy them out for the
 *		status views.
 *
 * Two locks, for two kinds of data:
 *	- OnlineShared's spinlock guards its small scalar fields and the walk;
 *	  it is held for a few assignments only, never across anything that can
 *	  fail or take time (callers read the clock before taking it);
 *	- the per-group counters live in a shared hash table keyed by group name
 *	  (ONLINE_MAX_GROUPS entries), guarded by the LWLock of the tranche
 *	  "featstore online status".
 * The worker writes both; any backend reads them.
 */
#include "postgres.h"

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

/* Per-group counters, by name, and the lock guarding them */
static HTAB *group_status = NULL;
static LWLock *group_status_lock = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void OnlineShmemRequest(void);
static void OnlineShmemStartup(void);
static OnlineGroupStatus *GroupStatusEntry(const char *name);

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
	RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(OnlineShared)),
									hash_estimate_size(ONLINE_MAX_GROUPS,
													   sizeof(OnlineGroupStatus))));
	RequestNamedLWLockTranche(STATUS_TRANCHE, 1);
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
	online_shared = ShmemInitStruct("featstore online store", sizeof(OnlineShared), &found);
	if (!found)
	{
		memset(online_shared, 0, sizeof(OnlineShared));
		SpinLockInit(&online_shared->mutex);
	}
	group_status_lock = &(GetNamedLWLockTranche(STATUS_TRANCHE))->lock;
	memset(&info, 0, sizeof(info));
	info.keysize = NAMEDATALEN;
	info.entrysize = sizeof(OnlineGroupStatus);
	/* allocated whole at startup: GroupStatusEntry keeps it at this size */
	group_status = ShmemInitHash("featstore online group status",
								 ONLINE_MAX_GROUPS, ONLINE_MAX_GROUPS,
								 &info, HASH_ELEM | HASH_STRINGS);
	LWLockRelease(AddinShmemInitLock);
}

/* OnlineWakeWorker tells the worker there is new work, without waiting */
void
OnlineWakeWorker(void)
{
	Latch	   *latch;
	TimestampTz now;

	if (online_shared == NULL)
		return;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&online_shared->mutex);
	online_shared->wakeup_pending = true;
	/* the work is the worker's from now on: never shown idle while it waits */
	if (online_shared->state == ONLINE_STATE_IDLE)
	{
		online_shared->state = ONLINE_STATE_PUSHING;
		online_shared->state_since = now;
	}
	latch = online_shared->worker_latch;
	SpinLockRelease(&online_shared->mutex);
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
	char		key[NAMEDATALEN];
	OnlineGroupStatus *entry;
	bool		found;

	strlcpy(key, name, NAMEDATALEN);
	entry = hash_search(group_status, key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;
	if (hash_get_num_entries(group_status) >= ONLINE_MAX_GROUPS)
	{
		HASH_SEQ_STATUS seq;
		OnlineGroupStatus *s;
		OnlineGroupStatus *oldest = NULL;

		hash_seq_init(&seq, group_status);
		while ((s = hash_seq_search(&seq)) != NULL)
			if (oldest == NULL || s->last_success < oldest->last_success)
				oldest = s;
		(void) hash_search(group_status, oldest->name, HASH_REMOVE, NULL);
	}
	entry = hash_search(group_status, key, HASH_ENTER_NULL, &found);
	if (entry != NULL && !found)
	{
		memset(entry, 0, sizeof(OnlineGroupStatus));
		strlcpy(entry->name, key, NAMEDATALEN);
	}
	return entry;
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
		/* GroupStatusEntry never lets it grow past this */
		if (*n < ONLINE_MAX_GROUPS)
			copy[(*n)++] = *s;
	}
	LWLockRelease(group_status_lock);
	return copy;
}

/* OnlineCopyWorkerStatus copies the worker's state and scalar counters */
void
OnlineCopyWorkerStatus(OnlineShared *snap)
{
	SpinLockAcquire(&online_shared->mutex);
	memcpy(snap, online_shared, sizeof(OnlineShared));
	SpinLockRelease(&online_shared->mutex);
}

/* OnlineCopyWalkProgress copies the walk the worker is on (queue_id 0: none) */
void
OnlineCopyWalkProgress(OnlineWalkProgress *walk)
{
	SpinLockAcquire(&online_shared->mutex);
	*walk = online_shared->walk;
	SpinLockRelease(&online_shared->mutex);
}

/*
 * OnlineWorkerAttach publishes a starting worker (its pid and latch), and
 * returns what a previous worker left: the batch it was in the middle of
 * when it exited (not crashed: that resets shared memory), if any
 */
void
OnlineWorkerAttach(int64 *left_id, int *left_rows, char *left_group)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&online_shared->mutex);
	online_shared->worker_pid = MyProcPid;
	online_shared->worker_latch = MyLatch;
	online_shared->state = ONLINE_STATE_STARTING;
	online_shared->state_since = now;
	*left_id = online_shared->busy_first_id;
	*left_rows = online_shared->busy_rows;
	strlcpy(left_group, online_shared->busy_group, NAMEDATALEN);
	online_shared->busy_first_id = 0;
	online_shared->busy_rows = 0;
	SpinLockRelease(&online_shared->mutex);
}

/* OnlineWorkerDetach unpublishes an exiting worker's latch */
void
OnlineWorkerDetach(void)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&online_shared->mutex);
	online_shared->worker_latch = NULL;
	online_shared->worker_pid = 0;
	online_shared->state = ONLINE_STATE_STOPPED;
	online_shared->state_since = now;
	SpinLockRelease(&online_shared->mutex);
}

/* OnlineSetWorkerState publishes the worker's state and, if given, its error */
void
OnlineSetWorkerState(OnlineWorkerState state, const char *error)
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

/* OnlineWorkerStateNow returns the state the worker last published */
OnlineWorkerState
OnlineWorkerStateNow(void)
{
	OnlineWorkerState state;

	SpinLockAcquire(&online_shared->mutex);
	state = online_shared->state;
	SpinLockRelease(&online_shared->mutex);
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

	SpinLockAcquire(&online_shared->mutex);
	if (!online_shared->wakeup_pending && online_shared->state != ONLINE_STATE_IDLE)
	{
		online_shared->state = ONLINE_STATE_IDLE;
		online_shared->state_since = now;
	}
	SpinLockRelease(&online_shared->mutex);
}

/*
 * OnlineTakeWakeup clears the pending wake-up before the worker looks at the
 * queue: commits after that set it again
 */
void
OnlineTakeWakeup(void)
{
	SpinLockAcquire(&online_shared->mutex);
	online_shared->wakeup_pending = false;
	SpinLockRelease(&online_shared->mutex);
}

/* OnlineWakeupPending says whether a commit woke the worker since it looked */
bool
OnlineWakeupPending(void)
{
	bool		pending;

	SpinLockAcquire(&online_shared->mutex);
	pending = online_shared->wakeup_pending;
	SpinLockRelease(&online_shared->mutex);
	return pending;
}

/*
 * OnlineSetBusy publishes the batch in progress (its first queue row, how
 * many rows, the group of the first), once its attempt is on record
 */
void
OnlineSetBusy(int64 first_id, int rows, const char *group)
{
	SpinLockAcquire(&online_shared->mutex);
	online_shared->busy_first_id = first_id;
	online_shared->busy_rows = rows;
	strlcpy(online_shared->busy_group, group, NAMEDATALEN);
	SpinLockRelease(&online_shared->mutex);
}

/* OnlineClearBusy publishes that no batch is in progress */
void
OnlineClearBusy(void)
{
	SpinLockAcquire(&online_shared->mutex);
	online_shared->busy_first_id = 0;
	online_shared->busy_rows = 0;
	SpinLockRelease(&online_shared->mutex);
}

/* OnlineBatchDone counts a batch that reached Redis and the queue */
void
OnlineBatchDone(TimestampTz now)
{
	SpinLockAcquire(&online_shared->mutex);
	online_shared->batches++;
	online_shared->last_success = now;
	online_shared->busy_first_id = 0;
	online_shared->busy_rows = 0;
	SpinLockRelease(&online_shared->mutex);
}

/*
 * OnlineWalkBegin publishes the walk a batch carries a chunk of (queue row
 * queue_id, of group, entities left to walk).  The walk already shown keeps
 * its counts; another one starts from its queue row's count.
 */
void
OnlineWalkBegin(int64 queue_id, const char *group, int64 entities)
{
	OnlineWalkProgress *walk = &online_shared->walk;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&online_shared->mutex);
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
	SpinLockRelease(&online_shared->mutex);
}

/* OnlineWalkSetPhase publishes the phase of the walk shown, if it is that one */
void
OnlineWalkSetPhase(int64 queue_id, OnlineWalkPhase phase)
{
	SpinLockAcquire(&online_shared->mutex);
	if (online_shared->walk.queue_id == queue_id)
		online_shared->walk.phase = phase;
	SpinLockRelease(&online_shared->mutex);
}

/*
 * OnlineWalkAdvance counts a chunk of the walk once Redis and the queue have
 * it; a finished walk is no longer shown
 */
void
OnlineWalkAdvance(int64 queue_id, int emitted, bool finished)
{
	OnlineWalkProgress *walk = &online_shared->walk;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&online_shared->mutex);
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
	SpinLockRelease(&online_shared->mutex);
}
