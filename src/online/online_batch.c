/*
 * online_batch.c
 *		One batch of the materialization worker, from the queue to Redis and
 *		back: claiming queue rows, computing each entity's winner, handing
 *		the writes to online_push.c, recording the outcome; with the queue
 *		rows' attempts, parking, and the backoff of groups in error.
 *
 * A batch:
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
 * at-least-once and the script makes repeats harmless.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "extension.h"
#include "online/online.h"
#include "online/online_worker.h"
#include "pit/pit.h"
#include "registry/registry.h"

/* A queued entity to revisit when its future-dated row becomes current */
typedef struct FutureItem
{
	char	   *group_name;
	Datum	   *keys;			/* the key values, as text datums */
	int			nkeys;
	TimestampTz at;
} FutureItem;

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

/* A queue row that ONLINE_MAX_ATTEMPTS attempts did not finish */
typedef struct ParkedRow
{
	int64		id;
	char	   *group;
	int			attempts;
	char	   *error;			/* the error that failed them, if known */
} ParkedRow;

/* The rows a batch took from the queue (step 1), in the batch's memory */
typedef struct Batch
{
	MemoryContext cxt;
	TimestampTz now;			/* when the queue was read */
	Datum		backoff;		/* text[] of the groups left out, waiting to retry */
	int64	   *ids;			/* its rows of captured entities, then the walk's */
	int		   *id_group;		/* index in groups of each; -1: the purge */
	int			nids;			/* not counting the walk's row */
	ParkedRow  *parked;
	int			nparked;
	char	   *purge_group;	/* the batch is the purge of this group */
	char	   *purge_namespace;	/* in this namespace; NULL: the current one */
	BatchGroup *groups;			/* NULL-terminated */
	int			ngroups;
	int			scan_group;		/* index in groups of the walk's group */
	BatchScan	scan;
	int64		entities;		/* captured entities, repeats counted */
	bool		more;			/* the queue may hold more ready work */
	Datum		all_ids;		/* bigint[] of every row, the walk's included */
} Batch;

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

/* When the earliest scheduled revisit of a future-dated row is due (0: none) */
static TimestampTz next_revisit = 0;

/* Groups in error, by name; worker-local, so a new worker logs them again */
static HTAB *group_backoff = NULL;

/*
 * The queue rows of the batch in progress (in the batch's memory), so that
 * an error outside any group's step can be written to them
 */
static Datum busy_ids = (Datum) 0;

/* Whether the wait for ALTER EXTENSION featstore UPDATE was logged */
static bool mismatch_logged = false;

static bool TakeBatch(Batch *batch, MemoryContext batchcxt);
static void ReadQueue(Batch *batch);
static void SortQueueRows(Batch *batch);
static bool TakeRow(Batch *batch, HeapTuple tup, TupleDesc desc);
static char *PurgeNamespace(HeapTuple tup, TupleDesc desc);
static bool NamespaceClaimed(void);
static bool PurgeOfOtherDatabase(const Batch *batch);
static void TakeScanRow(Batch *batch, HeapTuple tup, TupleDesc desc);
static void TakeKeysRow(Batch *batch, int64 id, char *gname, int n, TimestampTz enq);
static void AttachWalkGroup(Batch *batch);
static void RecordAttempt(Batch *batch);
static void ComputeBatch(Batch *batch, BatchItems *b, PushStream *stream);
static bool PushBatch(Batch *batch, BatchItems *b);
static void PushFailed(Batch *batch, char *err);
static void RecordOutcome(Batch *batch, BatchItems *b);
static void DeleteDoneRows(Batch *batch);
static void KeepGroupErrors(Batch *batch);
static void PublishOutcome(Batch *batch);
static void BeginBatchTransaction(void);
static void EndBatchTransaction(void);
static void RunGroupStep(BatchItems *b, BatchGroup *bg, GroupStep step, void *arg);
static OnlineGroup *LoadStepGroup(BatchItems *b, BatchGroup *bg, const char *name);
static bool RegistryRowOnline(const char *name);
static void ForgetStaleDefinitions(void);
static void GroupWinners(BatchItems *b, BatchGroup *bg, void *arg);
static void SourceWinners(BatchItems *b, const OnlineGroup *group, Datum queued);
static void EmitSourceItem(void *arg, const OnlineWinner *w);
static Datum ReadQueuedEntities(BatchItems *b, const OnlineGroup *group);
static Portal OpenWinnerCursor(BatchItems *b, BatchGroup *bg, const OnlineGroup *group,
							   Datum queued);
static void FetchWinners(BatchItems *b, const OnlineGroup *group, Portal portal);
static void WinnerFromRow(const OnlineGroup *group, HeapTuple tup, TupleDesc desc,
						  OnlineWinner *w);
static bool WinnerRange(const OnlineGroup *group, int64 entities, Datum queued,
						Datum *lo, Datum *hi);
static void RunScanChunk(BatchItems *b, BatchGroup *bg, void *arg);
static void EmitScanItem(void *arg, const OnlineWinner *w);
static void AddItem(BatchItems *b, const OnlineWinner *w);
static void ScheduleRevisits(FutureItem *futures, int nfutures);
static char *RevisitInsertSql(int nkeys);
static Datum IdArray(int64 *ids, int nids);
static void ParkRows(ParkedRow *rows, int nrows);
static void EndAttempt(Datum ids, const char *error);
static TimestampTz NextRevisit(Datum backoff);
static Datum GroupsInBackoff(TimestampTz now);
static void ForgetIdleBackoff(Batch *batch);
static void GroupFailed(const char *name, const char *error, const char *hint);
static void GroupSucceeded(const char *name, bool gone);
static bool SchemaMatchesLibrary(void);

/* BatchInit prepares the worker-local state of batches */
void
BatchInit(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(GroupBackoff);
	group_backoff = hash_create("featstore groups in error", 16, &ctl,
								HASH_ELEM | HASH_STRINGS);
}

/* BatchNextRevisit returns when the next revisit the worker takes is due */
TimestampTz
BatchNextRevisit(void)
{
	return next_revisit;
}

/*
 * WorkerBatch handles one batch; returns true when the queue may hold more
 * ready work.  On a Redis failure it closes the worker's connection and
 * returns false.
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
bool
WorkerBatch(MemoryContext batchcxt)
{
	Batch		batch;
	BatchItems	b;
	PushStream	stream;

	busy_ids = (Datum) 0;
	if (!TakeBatch(&batch, batchcxt))
		return batch.more;
	ComputeBatch(&batch, &b, &stream);
	if (!PushBatch(&batch, &b))
		return false;
	RecordOutcome(&batch, &b);
	PublishOutcome(&batch);
	return batch.more;
}

/* BeginBatchTransaction starts one of a batch's transactions, with SPI */
static void
BeginBatchTransaction(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
}

/* EndBatchTransaction commits it; the caller is left in TopMemoryContext */
static void
EndBatchTransaction(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * TakeBatch is step 1: it reads a batch from the queue, parks the rows that
 * ran out of attempts and records an attempt on the others, durably.  False
 * when there is nothing to do (batch->more says whether work is left).
 */
static bool
TakeBatch(Batch *batch, MemoryContext batchcxt)
{
	memset(batch, 0, sizeof(Batch));
	batch->cxt = batchcxt;
	batch->scan_group = -1;

	BeginBatchTransaction();
	if (!OnlineExtensionReady())
	{
		EndBatchTransaction();
		OnlineSetWorkerState(ONLINE_STATE_WAITING_EXTENSION, NULL);
		return false;
	}
	if (!SchemaMatchesLibrary())
	{
		EndBatchTransaction();
		return false;
	}
	/* read now (a purge pushes with no transaction open), and claimed */
	if (!NamespaceClaimed())
	{
		EndBatchTransaction();
		return false;
	}
	WorkerCheckRedisIdentity();
	pgstat_report_activity(STATE_RUNNING, "featstore: reading the online queue");

	ReadQueue(batch);
	SortQueueRows(batch);
	ForgetIdleBackoff(batch);
	if (batch->nparked > 0)
		ParkRows(batch->parked, batch->nparked);

	if (batch->nids == 0 && batch->scan.id == 0)
	{
		/* sleep no longer than the next revisit of a future-dated row */
		next_revisit = NextRevisit(batch->backoff);
		EndBatchTransaction();
		if (!batch->more)
			OnlineSetWorkerIdle();
		return false;
	}
	RecordAttempt(batch);
	return true;
}

/*
 * ReadQueue reads the ready rows of the queue, up to a batch of them.  Ready
 * rows and due revisits go through their own partial indexes: a plain scan
 * in id order would step over every revisit not yet due, at every wake-up.
 * Parked rows and groups waiting for a retry are left out.
 */
static void
ReadQueue(Batch *batch)
{
	Oid			qtypes[3] = {TIMESTAMPTZOID, INT4OID, TEXTARRAYOID};
	Datum		qargs[3];
	MemoryContext oldcxt;
	int			ret;

	batch->now = GetCurrentTimestamp();
	oldcxt = MemoryContextSwitchTo(batch->cxt);
	batch->backoff = GroupsInBackoff(batch->now);
	MemoryContextSwitchTo(oldcxt);
	qargs[2] = batch->backoff;
	qargs[0] = TimestampTzGetDatum(batch->now);
	qargs[1] = Int32GetDatum(online_batch_size);
	ret = SPI_execute_with_args("SELECT id, group_name, kind, entities, enqueued_at, since, resume_after, attempts, last_error, namespace"
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
}

/* SortQueueRows takes the rows ReadQueue read into the batch, in id order */
static void
SortQueueRows(Batch *batch)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(batch->cxt);
	uint64		nrows = SPI_processed;

	batch->ids = palloc(sizeof(int64) * (nrows + 2));
	batch->id_group = palloc(sizeof(int) * (nrows + 2));
	batch->parked = palloc(sizeof(ParkedRow) * (nrows + 1));
	/* NULL-terminated, with room for a walk */
	batch->groups = palloc0(sizeof(BatchGroup) * (nrows + 2));
	for (uint64 r = 0; r < nrows; r++)
		if (!TakeRow(batch, SPI_tuptable->vals[r], SPI_tuptable->tupdesc))
			break;
	if (nrows == (uint64) online_batch_size)
		batch->more = true;
	if (batch->scan.id != 0)
		AttachWalkGroup(batch);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * NamespaceClaimed reads the database's namespace and claims it among the
 * served databases: when another database's worker wrote under it first
 * (two databases updated from 0.2.0 both keep '', say), this one writes
 * nothing, so neither overwrites nor purges the other's keys.  Its changes
 * stay queued and the state says why, until one of them moves.
 */
static bool
NamespaceClaimed(void)
{
	const char *ns = OnlineNamespace();
	Oid			other = OnlineClaimNamespace(ns);
	char	   *msg;

	if (!OidIsValid(other))
		return true;
	msg = psprintf("online namespace \"%s\" is already the namespace of database \"%s\"; nothing is written until one of them moves",
				   ns, get_database_name(other) ? get_database_name(other) : "?");
	WorkerLogError(msg, "Run SELECT featstore.set_online_namespace(current_database()) in one of the two databases.");
	OnlineSetWorkerState(ONLINE_STATE_ERROR, msg);
	return false;
}

/*
 * PurgeOfOtherDatabase says whether the batch's purge names a namespace
 * that another database's worker writes under: the keys there are that
 * database's (a move away from a namespace this database never wrote
 * under, such as the '' of a second database updated from 0.2.0), so the
 * purge is skipped
 */
static bool
PurgeOfOtherDatabase(const Batch *batch)
{
	Oid			other;

	if (batch->purge_namespace == NULL ||
		strcmp(batch->purge_namespace, OnlineNamespace()) == 0)
		return false;
	other = OnlineNamespaceUser(batch->purge_namespace);
	if (!OidIsValid(other))
		return false;
	ereport(LOG,
			(errmsg("featstore online worker: the purge of feature group \"%s\" in online namespace \"%s\" is skipped: database %u writes under that namespace",
					batch->purge_group, batch->purge_namespace, other)));
	return true;
}

/*
 * PurgeNamespace returns the namespace a purge row names (NULL: the current
 * one, as rows queued before 0.3.0 mean)
 */
static char *
PurgeNamespace(HeapTuple tup, TupleDesc desc)
{
	return SPI_getvalue(tup, desc, 10);
}

/*
 * TakeRow takes one queue row into the batch, or parks it; false when the
 * batch ends before it (or with it).  A row the worker died on (attempts
 * left over) is taken alone; a purge runs alone, after everything queued
 * before it; one walk per batch, the next batch takes the next one.  Every
 * row left for a later batch sets batch->more.
 */
static bool
TakeRow(Batch *batch, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	char	   *gname = SPI_getvalue(tup, desc, 2);
	char	   *kind = SPI_getvalue(tup, desc, 3);
	int			attempts = DatumGetInt32(SPI_getbinval(tup, desc, 8, &isnull));
	bool		empty = (batch->nids == 0 && batch->scan.id == 0);
	bool		alone = (attempts > 0);

	if (attempts >= ONLINE_MAX_ATTEMPTS)
	{
		ParkedRow  *p = &batch->parked[batch->nparked++];

		p->id = id;
		p->group = gname;
		p->attempts = attempts;
		p->error = SPI_getvalue(tup, desc, 9);
		batch->more = true;
		return true;
	}
	/* the worker died during its last attempt: retry it alone */
	if (alone && !empty)
	{
		batch->more = true;
		return false;
	}
	/* a purge runs alone, after everything queued before it */
	if (strcmp(kind, "purge") == 0)
	{
		if (empty)
		{
			batch->id_group[batch->nids] = -1;
			batch->ids[batch->nids++] = id;
			batch->purge_group = gname;
			batch->purge_namespace = PurgeNamespace(tup, desc);
		}
		batch->more = true;
		return false;
	}
	if (strcmp(kind, "scan") == 0)
	{
		if (batch->scan.id != 0)
		{
			batch->more = true;
			return true;
		}
		TakeScanRow(batch, tup, desc);
	}
	else
	{
		int			n = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		TimestampTz enq = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));

		if (batch->entities >= online_batch_size)
		{
			batch->more = true;
			return false;
		}
		TakeKeysRow(batch, id, gname, n, enq);
	}
	/* a row taken alone is the whole batch */
	batch->more |= alone;
	return !alone;
}

/* TakeScanRow takes a walk's row into the batch */
static void
TakeScanRow(Batch *batch, HeapTuple tup, TupleDesc desc)
{
	BatchScan  *scan = &batch->scan;
	bool		isnull;
	Datum		since;
	Datum		resume;

	scan->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	scan->group_name = SPI_getvalue(tup, desc, 2);
	scan->entities = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
	scan->enqueued_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
	since = SPI_getbinval(tup, desc, 6, &isnull);
	scan->since = isnull ? DT_NOBEGIN : DatumGetTimestampTz(since);
	resume = SPI_getbinval(tup, desc, 7, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *enulls;
		int			nelems;

		deconstruct_array(DatumGetArrayTypeP(resume), TEXTOID, -1, false,
						  TYPALIGN_INT, &elems, &enulls, &nelems);
		scan->resume_after = palloc(sizeof(char *) * Max(nelems, 1));
		for (int i = 0; i < nelems; i++)
			scan->resume_after[i] = enulls[i] ? NULL : TextDatumGetCString(elems[i]);
	}
}

/* TakeKeysRow takes a row of captured entities into its group's counts */
static void
TakeKeysRow(Batch *batch, int64 id, char *gname, int n, TimestampTz enq)
{
	BatchGroup *groups = batch->groups;
	int			g;

	batch->entities += n;
	for (g = 0; g < batch->ngroups; g++)
		if (strcmp(groups[g].name, gname) == 0)
			break;
	if (g == batch->ngroups)
	{
		groups[g].name = gname;
		groups[g].oldest_enqueued = enq;
		batch->ngroups++;
	}
	else if (enq < groups[g].oldest_enqueued || groups[g].oldest_enqueued == 0)
		groups[g].oldest_enqueued = enq;
	groups[g].entities += n;
	batch->id_group[batch->nids] = g;
	batch->ids[batch->nids++] = id;
}

/*
 * AttachWalkGroup gives the walk's group its place among the batch's groups,
 * where it keeps its counters with the group's other rows.  Its lag grows
 * while it walks: the walk is this group's oldest change.
 */
static void
AttachWalkGroup(Batch *batch)
{
	BatchGroup *groups = batch->groups;
	int			g;

	for (g = 0; g < batch->ngroups; g++)
		if (strcmp(groups[g].name, batch->scan.group_name) == 0)
			break;
	if (g == batch->ngroups)
		groups[batch->ngroups++].name = batch->scan.group_name;
	if (groups[g].oldest_enqueued == 0 ||
		batch->scan.enqueued_at < groups[g].oldest_enqueued)
		groups[g].oldest_enqueued = batch->scan.enqueued_at;
	batch->scan_group = g;
}

/*
 * RecordAttempt puts the attempt on the batch's rows on record before any of
 * it runs, even across a crash, commits step 1 and publishes the batch
 */
static void
RecordAttempt(Batch *batch)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(batch->cxt);
	Oid			types[1] = {INT8ARRAYOID};
	Datum		args[1];
	int			nrows = batch->nids + (batch->scan.id != 0 ? 1 : 0);
	int			ret;

	if (batch->scan.id != 0)
	{
		batch->id_group[batch->nids] = batch->scan_group;
		batch->ids[batch->nids] = batch->scan.id;
	}
	batch->all_ids = IdArray(batch->ids, nrows);
	busy_ids = batch->all_ids;
	MemoryContextSwitchTo(oldcxt);
	args[0] = batch->all_ids;
	ret = SPI_execute_with_args("UPDATE featstore.online_queue SET attempts = attempts + 1,"
								" last_error = NULL WHERE id = ANY ($1)",
								1, types, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not record an attempt in featstore.online_queue: SPI error %d", ret);
	ForceSyncCommit();
	EndBatchTransaction();
	OnlineSetBusy(batch->ids[0], nrows,
				  batch->purge_group ? batch->purge_group :
				  batch->ngroups > 0 ? batch->groups[0].name : batch->scan.group_name);
	OnlineSetWorkerState(ONLINE_STATE_PUSHING, NULL);
	if (batch->scan.id != 0)
		OnlineWalkBegin(batch->scan.id, batch->scan.group_name, batch->scan.entities);
}

/* ComputeBatch is step 2: the winners, group by group, and the walk's chunk */
static void
ComputeBatch(Batch *batch, BatchItems *b, PushStream *stream)
{
	BatchScan  *scan = &batch->scan;
	BatchGroup *walk_group = scan->id != 0 ? &batch->groups[batch->scan_group] : NULL;

	BeginBatchTransaction();
	memset(b, 0, sizeof(BatchItems));
	b->batchcxt = batch->cxt;
	b->now = GetCurrentTimestamp();
	b->maxitems = (int) Max(batch->entities + (scan->id != 0 ? online_batch_size : 0), 1);
	b->items = MemoryContextAlloc(batch->cxt, sizeof(PushItem) * b->maxitems);
	b->futures = MemoryContextAlloc(batch->cxt, sizeof(FutureItem) * b->maxitems);
	b->stream = stream;
	b->rowcxt = AllocSetContextCreate(batch->cxt, "featstore online row", ALLOCSET_DEFAULT_SIZES);
	b->ids = batch->ids;
	b->nids = batch->nids;
	b->groups = batch->groups;
	memset(stream, 0, sizeof(PushStream));
	stream->cmds = MemoryContextAlloc(batch->cxt, sizeof(RedisCommand) * b->maxitems);
	stream->calls = MemoryContextAlloc(batch->cxt, sizeof(PushCall) * b->maxitems);

	for (int g = 0; g < batch->ngroups && batch->purge_group == NULL; g++)
	{
		if (batch->groups[g].entities > 0)
			RunGroupStep(b, &batch->groups[g], GroupWinners, NULL);
	}
	if (walk_group != NULL && !walk_group->failed)
	{
		RunGroupStep(b, walk_group, RunScanChunk, scan);
		/* the walk's next chunk follows at once, not after a poll interval */
		if (!scan->finished && !walk_group->failed)
			batch->more = true;
	}
	EndBatchTransaction();
	/* the commit left us in TopMemoryContext: the push allocates per batch */
	MemoryContextSwitchTo(batch->cxt);
}

/*
 * PushBatch is step 3, with no transaction open: the purge, or the rest of
 * the writes and every reply.  False if Redis failed the whole batch, whose
 * rows then stay queued.
 */
static bool
PushBatch(Batch *batch, BatchItems *b)
{
	int64		walk = batch->scan.id;
	char	   *err = NULL;

	pgstat_report_activity(STATE_RUNNING, "featstore: writing to Redis");
	if (walk != 0)
		OnlineWalkSetPhase(walk, ONLINE_WALK_WRITING);
	if (batch->purge_group != NULL)
	{
		/* another database's keys are left alone */
		if (!PurgeOfOtherDatabase(batch) &&
			!WorkerPurge(batch->purge_group, batch->purge_namespace, &err))
		{
			OnlineSetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
			OnlineRecordGroupError(batch->purge_group, err);
			EndAttempt(batch->all_ids, NULL);
			return false;
		}
	}
	else if (!WorkerPush(b->stream, b->items, b->nitems, batch->groups, &err))
	{
		PushFailed(batch, err);
		return false;
	}

	/* groups whose work failed are retried with backoff; the others go on */
	for (int g = 0; g < batch->ngroups; g++)
		if (batch->groups[g].failed)
			GroupFailed(batch->groups[g].name, batch->groups[g].error, batch->groups[g].hint);
	if (walk != 0)
		OnlineWalkSetPhase(walk, batch->groups[batch->scan_group].failed ?
						   ONLINE_WALK_WAITING_RETRY : ONLINE_WALK_RECORDING);
	return true;
}

/*
 * PushFailed publishes why the push failed the batch: an outage if the
 * connection broke, an error if Redis answered but not as expected, and
 * ends the attempt on its rows
 */
static void
PushFailed(Batch *batch, char *err)
{
	int64		walk = batch->scan.id;

	if (WorkerRedis() != NULL)
	{
		/* Redis answered, but not as expected: an error, not an outage */
		for (int g = 0; g < batch->ngroups; g++)
			OnlineRecordGroupError(batch->groups[g].name, err);
		OnlineSetWorkerState(ONLINE_STATE_ERROR, err);
		WorkerLogError(err, NULL);
		WorkerDisconnect();
		if (walk != 0)
			OnlineWalkSetPhase(walk, ONLINE_WALK_WAITING_RETRY);
	}
	else
	{
		OnlineSetWorkerState(ONLINE_STATE_REDIS_DOWN, err);
		if (walk != 0)
			OnlineWalkSetPhase(walk, ONLINE_WALK_WAITING_REDIS);
	}
	EndAttempt(batch->all_ids, NULL);
}

/*
 * RecordOutcome is step 4: forget what was pushed, move the walk on, keep
 * the failed groups' errors on their rows, schedule future-dated rows
 */
static void
RecordOutcome(Batch *batch, BatchItems *b)
{
	BeginBatchTransaction();
	pgstat_report_activity(STATE_RUNNING, "featstore: removing the pushed batch");
	DeleteDoneRows(batch);
	KeepGroupErrors(batch);
	ScheduleRevisits(b->futures, b->nfutures);
	/* the sleep that may follow ends at the next revisit, this batch's included */
	next_revisit = NextRevisit(GroupsInBackoff(GetCurrentTimestamp()));
	EndBatchTransaction();
	MemoryContextSwitchTo(batch->cxt);
	pgstat_report_stat(false);
	busy_ids = (Datum) 0;
	if (batch->scan.id != 0 && !batch->groups[batch->scan_group].failed)
		OnlineWalkAdvance(batch->scan.id, batch->scan.emitted, batch->scan.finished);
}

/*
 * DeleteDoneRows deletes the rows whose work reached Redis (a finished
 * walk's included), and records where an unfinished walk resumes
 */
static void
DeleteDoneRows(Batch *batch)
{
	BatchScan  *scan = &batch->scan;
	int			ndone = 0;
	int64	   *done = palloc(sizeof(int64) * (batch->nids + 1));
	bool		scan_ok = scan->id != 0 && !batch->groups[batch->scan_group].failed;
	int			ret;

	for (int i = 0; i < batch->nids; i++)
		if (batch->id_group[i] < 0 || !batch->groups[batch->id_group[i]].failed)
			done[ndone++] = batch->ids[i];
	if (scan_ok && scan->finished)
		done[ndone++] = scan->id;
	else if (scan_ok)
	{
		Oid			types[3] = {INT8OID, TEXTARRAYOID, INT4OID};
		Datum		args[3];

		args[0] = Int64GetDatum(scan->id);
		args[1] = scan->last_keys;
		args[2] = Int32GetDatum(scan->emitted);
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

/* KeepGroupErrors ends the attempt of a failed group's rows with its error */
static void
KeepGroupErrors(Batch *batch)
{
	for (int g = 0; g < batch->ngroups; g++)
	{
		BatchGroup *bg = &batch->groups[g];
		int			n = 0;
		int64	   *gids;
		Oid			types[2] = {INT8ARRAYOID, TEXTOID};
		Datum		args[2];
		int			ret;

		if (!bg->failed)
			continue;
		gids = palloc(sizeof(int64) * (batch->nids + 1));
		for (int i = 0; i < batch->nids; i++)
			if (batch->id_group[i] == g)
				gids[n++] = batch->ids[i];
		if (g == batch->scan_group)
			gids[n++] = batch->scan.id;
		args[0] = IdArray(gids, n);
		args[1] = CStringGetTextDatum(bg->error);
		ret = SPI_execute_with_args("UPDATE featstore.online_queue SET attempts = 0, last_error = $2"
									" WHERE id = ANY ($1)",
									2, types, args, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "could not record the error of feature group \"%s\": SPI error %d",
				 bg->name, ret);
	}
}

/* PublishOutcome counts the batch and its groups' outcomes in shared memory */
static void
PublishOutcome(Batch *batch)
{
	TimestampTz now = GetCurrentTimestamp();

	OnlineBatchDone(now);
	for (int g = 0; g < batch->ngroups; g++)
	{
		BatchGroup *bg = &batch->groups[g];

		if (!bg->failed)
			OnlineGroupSucceeded(bg->name, now, bg->oldest_enqueued,
								 bg->written, bg->removed, bg->skipped);
	}
	if (batch->purge_group)
		OnlineGroupSucceeded(batch->purge_group, now, 0, 0, 0, 0);
	for (int g = 0; g < batch->ngroups; g++)
		if (!batch->groups[g].failed)
			GroupSucceeded(batch->groups[g].name, batch->groups[g].gone);
	if (!batch->more)
		OnlineSetWorkerIdle();
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
 * LoadStepGroup loads the group a step reads, in the batch's memory, and
 * makes it the one whose items are added; NULL (and bg->gone) if it is
 * dropped or offline.  A table that no longer has the registry's shape is
 * not read at all: that is an error of the step.
 */
static OnlineGroup *
LoadStepGroup(BatchItems *b, BatchGroup *bg, const char *name)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(b->batchcxt);
	OnlineGroup *group = OnlineLoadGroup(name, true);

	if ((group == NULL || !group->online) && RegistryRowOnline(name))
	{
		ForgetStaleDefinitions();
		group = OnlineLoadGroup(name, true);
	}
	MemoryContextSwitchTo(oldcxt);
	if (group == NULL || !group->online)
	{
		bg->gone = true;
		return NULL;
	}
	/* for a source group: its view, its source and the source's code */
	RegistryCheckGroupTable(group->registry);
	b->group = group;
	b->group_index = (int) (bg - b->groups);
	return group;
}

/*
 * RegistryRowOnline says whether the registry's row of a group, read with a
 * fresh snapshot, has it online.  The registry's cache can be behind: a
 * commit wakes the worker (its XactCallback) before it broadcasts its cache
 * invalidations, so a worker quick to read the queue can see the rows that
 * SET ONLINE queued while its cache still says the group is offline, and
 * would drop them as a dropped group's.
 */
static bool
RegistryRowOnline(const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	bool		isnull;
	Datum		online;
	int			ret;

	args[0] = CStringGetTextDatum(name);
	ret = SPI_execute_with_args("SELECT online FROM featstore.feature_groups WHERE name = $1",
								1, types, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read the registry row of feature group \"%s\": SPI error %d",
			 name, ret);
	if (SPI_processed != 1)
		return false;
	online = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && DatumGetBool(online);
}

/*
 * ForgetStaleDefinitions empties this backend's cache of group definitions
 * now, when RegistryRowOnline found it behind: an invalidation of the
 * registry's group table, taken in at once by the command counter (and
 * sent to the others at commit, which costs them one reload).
 */
static void
ForgetStaleDefinitions(void)
{
	Oid			nsp = FeatstoreSchemaOid(false);
	Oid			relid = get_relname_relid("feature_groups", nsp);

	if (!OidIsValid(relid))
		return;
	CacheInvalidateRelcacheByRelid(relid);
	CommandCounterIncrement();
}

/*
 * GroupWinners computes the winners of one group's queued entities into the
 * batch, streaming finished calls to Redis as it goes.  A group that is gone
 * or offline just has its rows removed.
 */
static void
GroupWinners(BatchItems *b, BatchGroup *bg, void *arg)
{
	OnlineGroup *group = LoadStepGroup(b, bg, bg->name);
	Datum		queued;
	Portal		portal;
	Oid			save_userid;
	int			save_sec_context;

	if (group == NULL)
		return;					/* dropped or offline: its entries just go */
	queued = ReadQueuedEntities(b, group);
	if (queued == (Datum) 0)
		return;
	pgstat_report_activity(STATE_RUNNING, "featstore: computing online winners");
	if (OnlineIsSourceGroup(group))
	{
		SourceWinners(b, group, queued);
		return;
	}

	/*
	 * An error inside the section aborts RunGroupStep's subtransaction,
	 * which restores the worker's identity and search_path.
	 */
	FeatstoreBeginAsTableOwner(group->relid, &save_userid, &save_sec_context);
	portal = OpenWinnerCursor(b, bg, group, queued);
	FetchWinners(b, group, portal);
	SPI_cursor_close(portal);
	FeatstoreEndAsTableOwner(save_userid, save_sec_context);
}

/*
 * SourceWinners computes the values of a source group's queued entities at
 * the batch's instant with the window engine, reading the source as the
 * group's owner (the owner of its view), and streams them to Redis.  An
 * error inside the section aborts RunGroupStep's subtransaction, which
 * restores the worker's identity and search_path.
 */
static void
SourceWinners(BatchItems *b, const OnlineGroup *group, Datum queued)
{
	Oid			save_userid;
	int			save_sec_context;

	FeatstoreBeginAsTableOwner(group->relid, &save_userid, &save_sec_context);
	OnlineWindowWinners(group, queued, true, b->now, EmitSourceItem, b);
	FeatstoreEndAsTableOwner(save_userid, save_sec_context);
	StreamCalls(b->stream, b->items, b->nitems, false);
}

/*
 * EmitSourceItem adds an entity of a source group to the batch, from the
 * scratch of its row, and streams what is ready
 */
static void
EmitSourceItem(void *arg, const OnlineWinner *w)
{
	BatchItems *b = (BatchItems *) arg;
	MemoryContext oldcxt;

	oldcxt = MemoryContextSwitchTo(b->rowcxt);
	AddItem(b, w);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(b->rowcxt);
	if (b->nitems - b->stream->sent_items >= PUSH_CHUNK)
	{
		oldcxt = MemoryContextSwitchTo(b->batchcxt);
		StreamCalls(b->stream, b->items, b->nitems, false);
		MemoryContextSwitchTo(oldcxt);
	}
}

/*
 * ReadQueuedEntities returns the group's entities queued in the batch, as
 * one text[] [entity][k1..kn, force, future], or 0 if there are none.  They
 * are read here, as the worker; the group's table later, as its owner, who
 * may not read the queue.  One column slice per key column, unnested side
 * by side: reading keys[i][k] element by element would decompress the
 * array each time.
 */
static Datum
ReadQueuedEntities(BatchItems *b, const OnlineGroup *group)
{
	StringInfoData sql;
	Oid			types[2] = {INT8ARRAYOID, TEXTOID};
	Datum		args[2];
	Datum		queued;
	bool		isnull;
	int			ret;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT pg_catalog.array_agg(ARRAY[");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "e.k%d, ", k + 1);
	appendStringInfoString(&sql,
						   "e.force::pg_catalog.text, e.future::pg_catalog.text]) FROM (SELECT ");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "u.k%d, ", k + 1);
	appendStringInfoString(&sql,
						   "pg_catalog.bool_or(q.force) AS force, pg_catalog.bool_or(q.future) AS future"
						   " FROM featstore.online_queue q, ROWS FROM (");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "%spg_catalog.unnest(q.keys[:][%d:%d])",
						 k > 0 ? ", " : "", k + 1, k + 1);
	appendStringInfoString(&sql, ") u(");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "%sk%d", k > 0 ? ", " : "", k + 1);
	appendStringInfoString(&sql,
						   ") WHERE q.id = ANY($1) AND q.group_name = $2 AND q.kind = 'keys' GROUP BY ");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&sql, "%s%d", k > 0 ? ", " : "", k + 1);
	appendStringInfoString(&sql, ") e");

	args[0] = IdArray(b->ids, b->nids);
	args[1] = CStringGetTextDatum(group->name);
	ret = SPI_execute_with_args(sql.data, 2, types, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the queued entities of group \"%s\": SPI error %d",
			 group->name, ret);
	queued = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? (Datum) 0 : datumCopy(queued, false, -1);
}

/*
 * OpenWinnerCursor opens the cursor of the group's winners: one ordered pass
 * over the key range the entities span when WinnerRange says it is cheaper,
 * else a probe per entity.  Runs as the table's owner.
 */
static Portal
OpenWinnerCursor(BatchItems *b, BatchGroup *bg, const OnlineGroup *group, Datum queued)
{
	StringInfoData entities_sql;
	Oid			types[6] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTARRAYOID, TEXTOID,
	TEXTOID, TEXTOID};
	Datum		args[6];
	Portal		portal;
	char	   *sql;
	int			save_nestlevel;

	initStringInfo(&entities_sql);
	OnlineAppendEntityListSql(&entities_sql, group->nkeys, 3, true);
	args[0] = TimestampTzGetDatum(b->now);
	args[1] = TimestampTzGetDatum(PitTtlBoundUsecs(b->now, group->ttl_usecs));
	args[2] = queued;
	args[3] = CStringGetTextDatum(group->name);
	if (!WinnerRange(group, bg->entities, queued, &args[4], &args[5]))
		return SPI_cursor_open_with_args(NULL, OnlineWinnerQuery(group, entities_sql.data),
										 4, types, args, NULL, true, 0);

	/*
	 * A fresh table has no statistics, and a nested loop over the range's
	 * DISTINCT ON would rescan it once per entity: join by hash or merge
	 * only, for the planning of this query alone.  The penalty that disables
	 * nested loops would also set off JIT compilation, which costs more than
	 * the whole query.
	 */
	elog(DEBUG1, "featstore online worker: winners of group \"%s\" from one pass over its key range",
		 group->name);
	sql = OnlineWinnerRangeQuery(group, entities_sql.data);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("enable_nestloop", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	portal = SPI_cursor_open_with_args(NULL, sql, 6, types, args, NULL, true, 0);
	AtEOXact_GUC(true, save_nestlevel);
	return portal;
}

/*
 * FetchWinners turns the cursor's rows into the batch's items, PUSH_CHUNK
 * rows at a time, and hands Redis what is ready while the next rows are
 * computed.  That never waits on Redis, so the transaction is never held by
 * it.
 */
static void
FetchWinners(BatchItems *b, const OnlineGroup *group, Portal portal)
{
	for (;;)
	{
		SPI_cursor_fetch(portal, true, PUSH_CHUNK);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed && b->nitems < b->maxitems; r++)
		{
			MemoryContext oldcxt;
			OnlineWinner w;

			/* a row's scratch goes with the next row; what stays is copied */
			MemoryContextReset(b->rowcxt);
			oldcxt = MemoryContextSwitchTo(b->rowcxt);
			WinnerFromRow(group, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, &w);
			AddItem(b, &w);
			MemoryContextSwitchTo(oldcxt);
		}
		SPI_freetuptable(SPI_tuptable);
		StreamCalls(b->stream, b->items, b->nitems, false);
	}
}

/*
 * WinnerFromRow reads an entity's winner from a row of a winner query: k1..kn,
 * force, event_timestamp, created_at, the features, and last the earliest
 * row dated after now
 */
static void
WinnerFromRow(const OnlineGroup *group, HeapTuple tup, TupleDesc desc, OnlineWinner *w)
{
	int			nk = group->nkeys;
	bool		isnull;
	Datum		ets;
	Datum		next;

	memset(w, 0, sizeof(OnlineWinner));
	w->key_values = palloc(sizeof(char *) * nk);
	for (int k = 0; k < nk; k++)
		w->key_values[k] = SPI_getvalue(tup, desc, k + 1);
	w->force = DatumGetBool(SPI_getbinval(tup, desc, nk + 1, &isnull));
	ets = SPI_getbinval(tup, desc, nk + 2, &isnull);
	if (!isnull)
	{
		w->found = true;
		w->event_ts = DatumGetTimestampTz(ets);
		w->created_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, nk + 3, &isnull));
		w->values = palloc(sizeof(Datum) * Max(group->nfeatures, 1));
		w->nulls = palloc(sizeof(bool) * Max(group->nfeatures, 1));
		for (int f = 0; f < group->nfeatures; f++)
			w->values[f] = SPI_getbinval(tup, desc, nk + 4 + f, &w->nulls[f]);
	}
	next = SPI_getbinval(tup, desc, desc->natts, &isnull);
	if (!isnull)
	{
		w->has_future = true;
		w->next_future = DatumGetTimestampTz(next);
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
	OnlineGroup *group = LoadStepGroup(b, bg, scan->group_name);
	Oid			indexoid;
	char	  **last_keys;
	bool		at_end;
	Oid			save_userid;
	int			save_sec_context;

	if (group == NULL)
	{
		scan->finished = true;
		return;
	}
	/* a source group has no index to walk: its entities are listed instead */
	if (OnlineIsSourceGroup(group))
	{
		OnlineEnqueueGroup(group, scan->since, true);
		scan->finished = true;
		return;
	}

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
		/* a partitioned history has indexes per partition only: no news */
		if (get_rel_relkind(group->relid) != RELKIND_PARTITIONED_TABLE)
			ereport(LOG,
					(errmsg("featstore online worker: feature group \"%s\" has no index on (keys, event_timestamp, created_at); rematerializing it entity by entity",
							group->name)));
		OnlineEnqueueKeys(group, scan->since, true);
		scan->finished = true;
		return;
	}

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

		TimestampTz expires = w->window ? w->expires_at :
			group->ttl_usecs > 0 ? w->event_ts + group->ttl_usecs : DT_NOEND;

		initStringInfo(&val);
		OnlineEncodeValueExpiring(&val, group, w->event_ts, w->created_at, b->now,
								  expires, w->values, w->nulls);
		item->value = MemoryContextAlloc(b->batchcxt, val.len);
		memcpy(item->value, val.data, val.len);
		item->value_len = val.len;
		pg_lltoa(OnlineUnixUsecs(w->event_ts), item->ets);
		pg_lltoa(OnlineUnixUsecs(w->created_at), item->cat);
		if (expires != DT_NOEND && w->window)
		{
			/*
			 * The first millisecond at or after the first instant at which the
			 * value no longer holds: Redis never drops it early.
			 */
			pg_lltoa((OnlineUnixUsecs(expires) + 1 + 999) / 1000, item->expire_ms);
		}
		else if (expires != DT_NOEND)
			pg_lltoa(OnlineUnixUsecs(expires) / 1000, item->expire_ms);
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
		ret = SPI_execute_with_args(RevisitInsertSql(nkeys), 3, types, args, NULL, false, 0);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "could not schedule future-dated rows: SPI error %d", ret);
	}
}

/*
 * RevisitInsertSql is ScheduleRevisits' statement for entities of nkeys
 * key columns: $1 the group, $2 the keys (text[entity][key]), $3 the
 * instants.  The arrays are unnested one column slice at a time, once: a
 * slice per entity ($2[i:i][:]) would copy the array for each, quadratic in
 * a batch where every entity of a source group has its next change.
 */
static char *
RevisitInsertSql(int nkeys)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "INSERT INTO featstore.online_queue"
						   " (group_name, keys, entities, future, not_before)"
						   " SELECT $1, f.k, 1, true, f.t FROM (SELECT DISTINCT ARRAY[ARRAY[");
	for (int k = 0; k < nkeys; k++)
		appendStringInfo(&sql, "%su.k%d", k > 0 ? ", " : "", k + 1);
	appendStringInfoString(&sql, "]] AS k, u.t FROM ROWS FROM (");
	for (int k = 0; k < nkeys; k++)
		appendStringInfo(&sql, "pg_catalog.unnest($2[:][%d:%d]), ", k + 1, k + 1);
	appendStringInfoString(&sql, "pg_catalog.unnest($3)) u(");
	for (int k = 0; k < nkeys; k++)
		appendStringInfo(&sql, "k%d, ", k + 1);
	appendStringInfoString(&sql, "t)) f"
						   " WHERE NOT EXISTS (SELECT FROM featstore.online_queue q"
						   "  WHERE q.group_name = $1 AND q.not_before = f.t AND q.keys = f.k)");
	return sql.data;
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
ParkRows(ParkedRow *rows, int nrows)
{
	Oid			types[1] = {INT8ARRAYOID};
	Datum		args[1];
	int64	   *ids = palloc(sizeof(int64) * nrows);
	int			ret;

	for (int i = 0; i < nrows; i++)
		ids[i] = rows[i].id;
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
								   (long long) rows[i].id, rows[i].attempts,
								   rows[i].error ? rows[i].error : "the worker died while processing it");

		ereport(LOG,
				(errmsg("featstore online worker: feature group \"%s\": %s", rows[i].group, msg),
				 errdetail("Its other rows and the other groups go on; a parked row waits until the group is materialized."),
				 errhint("Find the cause in the server log, then run SELECT featstore.materialize('%s').",
						 rows[i].group)));
		OnlineRecordGroupError(rows[i].group, msg);
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
	BeginBatchTransaction();
	ret = SPI_execute_with_args("UPDATE featstore.online_queue SET attempts = 0,"
								" last_error = coalesce($2, last_error) WHERE id = ANY ($1)",
								2, types, args, nulls, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "could not end an attempt in featstore.online_queue: SPI error %d", ret);
	EndBatchTransaction();
	busy_ids = (Datum) 0;
}

/*
 * BatchRecordError keeps an error that failed the whole batch on the batch's
 * rows, which keep their attempt: if the same rows fail this way each time,
 * they are parked with this error rather than as a death.  Called after the
 * failed transaction was aborted; a failure here only loses the message.
 */
void
BatchRecordError(const char *error)
{
	Oid			types[2] = {INT8ARRAYOID, TEXTOID};
	Datum		args[2];

	if (busy_ids == (Datum) 0)
		return;
	args[0] = busy_ids;
	args[1] = CStringGetTextDatum(error);
	PG_TRY();
	{
		BeginBatchTransaction();
		(void) SPI_execute_with_args("UPDATE featstore.online_queue SET last_error = $2 WHERE id = ANY ($1)",
									 2, types, args, NULL, false, 0);
		EndBatchTransaction();
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
 * BatchEarliestRetry returns the first retry of any group in error (0: none),
 * which may be due already.  It allocates nothing: the main loop calls it
 * between batches, in long-lived memory.
 */
TimestampTz
BatchEarliestRetry(void)
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
 * ForgetIdleBackoff forgets a group whose retry is due but which has no
 * ready rows left (they were removed meanwhile), or its due retry would
 * wake the worker again and again.  Only when the batch took every ready
 * row: the groups of the rows left are not known.
 */
static void
ForgetIdleBackoff(Batch *batch)
{
	HASH_SEQ_STATUS seq;
	GroupBackoff *e;

	if (batch->more || hash_get_num_entries(group_backoff) == 0)
		return;
	hash_seq_init(&seq, group_backoff);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		bool		queued = (batch->purge_group && strcmp(batch->purge_group, e->name) == 0);

		for (int g = 0; g < batch->ngroups && !queued; g++)
			queued = (strcmp(batch->groups[g].name, e->name) == 0);
		if (e->retry_at <= batch->now && !queued)
			(void) hash_search(group_backoff, e->name, HASH_REMOVE, NULL);
	}
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
	OnlineSetWorkerState(ONLINE_STATE_WAITING_UPDATE, msg);
	if (!mismatch_logged)
	{
		ereport(LOG,
				(errmsg("featstore online worker: %s", msg),
				 errdetail("Changes stay queued until then.")));
		mismatch_logged = true;
	}
	return false;
}
