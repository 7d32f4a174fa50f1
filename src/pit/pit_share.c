/*
 * pit_share.c
 *		The shared read of a parallel window join's source.  Without it,
 *		every participant of a parallel window join reads the whole source
 *		and keeps its partition's events, so the read, the join's largest
 *		cost, is repeated instead of divided.  With it, the participants
 *		read the source once between them, in chunks of blocks taken from a
 *		counter (a TID range each), and exchange the events by partition:
 *		a participant files its own partition's events into its store and
 *		writes every other event to that partition's shared tuplestore
 *		(utils/sharedtuplestore.h, temporary files, as a parallel hash join
 *		exchanges its batches).  After a barrier that every reader passes,
 *		each participant reads its partition's tuplestore into its store.
 *
 * Correctness does not depend on who reads what.  Every chunk is read by
 * exactly one participant, and every event of a chunk goes either to the
 * store of the one participant holding its partition during the read or
 * to that partition's tuplestore.  A partition claimed after the read (a
 * worker that started late, one that never started, a participant's
 * second partition) therefore finds all its events in its tuplestore, and
 * a participant that cannot use the shared read (see PitShareUsable)
 * reads the whole source itself, as before.
 *
 * The exchange happens once per node: a rescan under Gather disables it
 * (PitShareDisable), and the participants then read the source in full.
 *
 * A parallel hash join (pit_exec_hash.c, "the split read") shares the same
 * chunks, barrier and tuplestores differently: each participant files the
 * rows of the chunks it reads at its own copy of the whole spine, and then
 * sends to each other partition's tuplestore only the best row it filed at
 * each of that partition's positions (PitShareSend), so what crosses is
 * bounded by the spine, not the history.  The argument above carries over:
 * a participant sends every partition's rows but the one it holds while
 * reading, so a partition claimed later finds them all in its tuplestore.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "pgstat.h"
#include "storage/barrier.h"
#include "storage/bufmgr.h"
#include "storage/sharedfileset.h"
#include "storage/spin.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/sharedtuplestore.h"

#include "pit/pit_exec.h"

/* The shared state of the exchange, in the DSM segment after PitShared */
typedef struct PitShare
{
	slock_t		mutex;			/* nblocks, chunk_blocks, sized */
	bool		sized;
	BlockNumber nblocks;
	uint32		chunk_blocks;
	pg_atomic_uint32 next_chunk;
	bool		disabled;		/* a rescan: the tuplestores are spent */
	int			nparticipants;	/* the planned workers and the leader */
	int			leader_id;		/* the leader's participant number */
	int			nparts;
	Size		sts_size;
	Barrier		barrier;		/* phase 0: reading; 1: every chunk filed */
	SharedFileSet fileset;
	char		sts[FLEXIBLE_ARRAY_MEMBER]; /* nparts SharedTuplestores */
} PitShare;

/* How many chunks, at least, each participant should find to take */
#define PIT_SHARE_CHUNKS_EACH 16

/* A split read's accessors of the tuplestores, in the run's memory */
typedef struct PitSplitIO
{
	SharedTuplestoreAccessor **out; /* per partition, while reading */
	SharedTuplestoreAccessor *in;	/* the partition being received */
	bool		reading;		/* attached to the barrier in phase 0 */
} PitSplitIO;

/* The receiver routing a chunk's rows: this partition's, or another's */
typedef struct PitRouter
{
	DestReceiver pub;
	PitScanState *st;
	DestReceiver *store;		/* this partition's store, until it is full */
	SharedTuplestoreAccessor **out; /* per partition */
	MemoryContext cxt;			/* where the writers' files live */
	PitShareStats *stats;
} PitRouter;

static PitShare *PitShareOf(PitShared *sh);
static int	PitShareMe(PitShare *share);
static bool PitShareChunked(SPIPlanPtr splan, Oid relid);
static bool PitShareScanTree(Plan *plan, List *rtable, Oid relid);
static void PitShareSize(PitShare *share, Oid relid);
static bool PitShareTakeChunk(PitShare *share, BlockNumber *first, bool *last);
static void PitShareRead(PitScanState *st, PitShare *share, PitRouter *router,
						 SPIPlanPtr splan, TimestampTz as_of);
static void PitShareReceive(PitShare *share, int part, DestReceiver *store,
							TupleDesc desc, PitShareStats *stats);
static bool PitRouterReceive(TupleTableSlot *slot, DestReceiver *self);
static void PitRouterStartup(DestReceiver *self, int operation, TupleDesc typeinfo);
static void PitRouterNoop(DestReceiver *self);

/* PitShareOf is the exchange's shared state, NULL if the node has none */
static PitShare *
PitShareOf(PitShared *sh)
{
	return (sh != NULL && sh->has_share) ? PitSharedShare(sh) : NULL;
}

/*
 * PitShareEstimate sizes the exchange: one shared tuplestore per partition,
 * each with a file per participant.
 */
Size
PitShareEstimate(ParallelContext *pcxt)
{
	int			nparticipants = pcxt->nworkers + 1;
	int			nparts = Max(pcxt->nworkers + (parallel_leader_participation ? 1 : 0), 1);

	return add_size(MAXALIGN(offsetof(PitShare, sts)),
					mul_size(nparts, MAXALIGN(sts_estimate(nparticipants))));
}

/*
 * PitShareInitialize sets the exchange up in the leader, after PitShared:
 * the file set, one tuplestore per partition, the barrier.
 */
void
PitShareInitialize(PitShared *sh, ParallelContext *pcxt)
{
	PitShare   *share = PitSharedShare(sh);

	memset(share, 0, offsetof(PitShare, sts));
	SpinLockInit(&share->mutex);
	pg_atomic_init_u32(&share->next_chunk, 0);
	share->nparticipants = pcxt->nworkers + 1;
	share->leader_id = pcxt->nworkers;
	share->nparts = (int) sh->nparts;
	share->sts_size = MAXALIGN(sts_estimate(share->nparticipants));
	BarrierInit(&share->barrier, 0);
	SharedFileSetInit(&share->fileset, pcxt->seg);
	for (int p = 0; p < share->nparts; p++)
	{
		char		name[NAMEDATALEN];

		snprintf(name, sizeof(name), "pitjoin.%d", p);
		(void) sts_initialize((SharedTuplestore *) (share->sts + p * share->sts_size),
							  share->nparticipants, share->leader_id, 0,
							  SHARED_TUPLESTORE_SINGLE_PASS, &share->fileset, name);
	}
	sh->seg = dsm_segment_handle(pcxt->seg);
	sh->has_share = true;
}

/*
 * PitShareAttachWorker makes a worker a user of the exchange's file set,
 * so that the files outlive no process that may read them.
 */
void
PitShareAttachWorker(PitShared *sh)
{
	PitShare   *share = PitShareOf(sh);
	dsm_segment *seg;

	if (share == NULL)
		return;
	seg = dsm_find_mapping(sh->seg);
	if (seg == NULL)
		elog(ERROR, "featstore: parallel point-in-time join could not find its shared memory segment");
	SharedFileSetAttach(&share->fileset, seg);
}

/* PitShareDisable turns the exchange off before a rescan reruns the workers */
void
PitShareDisable(PitShared *sh)
{
	PitShare   *share = PitShareOf(sh);

	if (share != NULL)
		share->disabled = true;
}

/* PitShareMe is this process's participant number */
static int
PitShareMe(PitShare *share)
{
	return IsParallelWorker() ? ParallelWorkerNumber : share->leader_id;
}

/*
 * PitShareLoad reads the source for the claimed partition through the
 * exchange, filing its events with store (WinStoreLoadBegin's receiver).
 * chunk_sql is the source query with "ctid >= $2 AND ctid < $3" added;
 * relid is the source, a plain table.  It returns false, having read
 * nothing, when the exchange cannot be used: the caller then reads the
 * whole source itself.  The caller is connected to SPI, under the role,
 * snapshot and search_path the source query must run with.
 */
bool
PitShareLoad(PitScanState *st, DestReceiver *store, const char *chunk_sql,
			 Oid relid, TimestampTz as_of, PitShareStats *stats)
{
	PitShare   *share = PitShareOf(st->pshared);
	Oid			argtypes[3] = {TIMESTAMPTZOID, TIDOID, TIDOID};
	SharedTuplestoreAccessor **out;
	PitRouter	router;
	SPIPlanPtr	splan;
	CachedPlanSource *source;
	int			me;

	if (share == NULL || share->disabled || st->cur_part < 0 ||
		st->cur_part >= share->nparts || share->nparts != st->nparts)
		return false;
	splan = SPI_prepare_cursor(chunk_sql, 3, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (splan == NULL)
		elog(ERROR, "featstore: could not prepare the events' chunks: %s",
			 SPI_result_code_string(SPI_result));
	if (!PitShareChunked(splan, relid))
	{
		SPI_freeplan(splan);
		return false;
	}
	source = linitial(SPI_plan_get_plan_sources(splan));
	store->rStartup(store, CMD_SELECT, source->resultDesc);

	me = PitShareMe(share);
	out = palloc0(sizeof(SharedTuplestoreAccessor *) * share->nparts);
	for (int p = 0; p < share->nparts; p++)
		out[p] = sts_attach((SharedTuplestore *) (share->sts + p * share->sts_size),
							me, &share->fileset);
	memset(&router, 0, sizeof(router));
	router.pub.receiveSlot = PitRouterReceive;
	router.pub.rStartup = PitRouterStartup;
	router.pub.rShutdown = PitRouterNoop;
	router.pub.rDestroy = PitRouterNoop;
	router.pub.mydest = DestNone;
	router.st = st;
	router.store = store;
	router.out = out;
	router.cxt = CurrentMemoryContext;
	router.stats = stats;

	/* phase 0: the source is being read, so take chunks until none is left */
	if (BarrierAttach(&share->barrier) == 0)
	{
		PitShareSize(share, relid);
		PitShareRead(st, share, &router, splan, as_of);
		for (int p = 0; p < share->nparts; p++)
			sts_end_write(out[p]);
		(void) BarrierArriveAndWait(&share->barrier, PG_WAIT_EXTENSION);
	}
	BarrierDetach(&share->barrier);

	/* every chunk is filed: this partition's events from the others' reads */
	if (router.store != NULL)
		PitShareReceive(share, st->cur_part, store, source->resultDesc, stats);
	store->rShutdown(store);
	SPI_freeplan(splan);		/* which holds the row type */
	stats->used = true;
	return true;
}

/*
 * PitShareChunked says whether the chunks' plan reads the source by TID
 * range: with a sequential scan (a policy that keeps the TID bounds above
 * it, say), every chunk would read the whole table.
 */
static bool
PitShareChunked(SPIPlanPtr splan, Oid relid)
{
	CachedPlan *cplan = SPI_plan_get_cached_plan(splan);
	bool		ok = false;

	if (cplan == NULL)
		return false;
	if (list_length(cplan->stmt_list) == 1)
	{
		PlannedStmt *pstmt = linitial_node(PlannedStmt, cplan->stmt_list);

		ok = PitShareScanTree(pstmt->planTree, pstmt->rtable, relid);
	}
	/* an unsaved plan's generic plan is not tracked by a resource owner */
	ReleaseCachedPlan(cplan, NULL);
	return ok;
}

/*
 * PitShareScanTree says whether the plan's one scan of relid is a TID range
 * scan.  It follows the nodes a plain query over one table plans: a Result
 * or projection above the scan, and nothing that joins.
 */
static bool
PitShareScanTree(Plan *plan, List *rtable, Oid relid)
{
	if (plan == NULL)
		return false;
	if (IsA(plan, TidRangeScan))
		return rt_fetch(((Scan *) plan)->scanrelid, rtable)->relid == relid;
	if (IsA(plan, Result) && plan->righttree == NULL)
		return PitShareScanTree(plan->lefttree, rtable, relid);
	return false;
}

/*
 * PitShareSize sets the source's size in blocks, once for all participants:
 * each reads it after the query's snapshot was taken, so any reading covers
 * every row the snapshot can see, and the last chunk has no upper bound.
 */
static void
PitShareSize(PitShare *share, Oid relid)
{
	Relation	rel;
	BlockNumber nblocks;
	uint32		each;

	SpinLockAcquire(&share->mutex);
	if (share->sized)
	{
		SpinLockRelease(&share->mutex);
		return;
	}
	SpinLockRelease(&share->mutex);

	rel = table_open(relid, AccessShareLock);
	nblocks = RelationGetNumberOfBlocks(rel);
	table_close(rel, NoLock);
	each = Max(nblocks / (uint32) (share->nparticipants * PIT_SHARE_CHUNKS_EACH), 1);

	SpinLockAcquire(&share->mutex);
	if (!share->sized)
	{
		share->nblocks = nblocks;
		share->chunk_blocks = Min(each, 8192);
		share->sized = true;
	}
	SpinLockRelease(&share->mutex);
}

/*
 * PitShareRead takes chunks until none is left and runs the source query on
 * each, its rows going through the router.
 */
static void
PitShareRead(PitScanState *st, PitShare *share, PitRouter *router,
			 SPIPlanPtr splan, TimestampTz as_of)
{
	ItemPointerData lo;
	ItemPointerData hi;
	SPIExecuteOptions options;
	ParamListInfo params = makeParamList(3);

	params->numParams = 3;
	params->params[0].value = TimestampTzGetDatum(as_of);
	params->params[0].isnull = false;
	params->params[0].pflags = PARAM_FLAG_CONST;
	params->params[0].ptype = TIMESTAMPTZOID;
	for (int i = 1; i < 3; i++)
	{
		params->params[i].value = PointerGetDatum(i == 1 ? &lo : &hi);
		params->params[i].isnull = false;
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = TIDOID;
	}
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = (DestReceiver *) router;

	for (;;)
	{
		BlockNumber first;
		bool		last;
		int			ret;

		CHECK_FOR_INTERRUPTS();
		if (!PitShareTakeChunk(share, &first, &last))
			break;
		ItemPointerSet(&lo, first, 0);
		/* the last chunk reaches past the end: no row is left behind */
		if (last)
			ItemPointerSet(&hi, MaxBlockNumber, MaxOffsetNumber);
		else
			ItemPointerSet(&hi, first + share->chunk_blocks, 0);
		ret = SPI_execute_plan_extended(splan, &options);
		if (ret < 0)
			elog(ERROR, "featstore: could not read the events' chunk at block %u: %s",
				 first, SPI_result_code_string(ret));
		router->stats->chunks++;
		if (last)
			break;
	}
}

/*
 * PitShareTakeChunk takes the next chunk from the counter: its first block,
 * and whether it is the last one.  It returns false when none is left.  The
 * first chunk is handed out even from an empty table, so that a reader
 * whose upper bound is open still looks.
 */
static bool
PitShareTakeChunk(PitShare *share, BlockNumber *first, bool *last)
{
	uint64		chunk = pg_atomic_fetch_add_u32(&share->next_chunk, 1);
	uint64		start = chunk * share->chunk_blocks;

	if (start >= share->nblocks && chunk > 0)
		return false;
	*first = (BlockNumber) start;
	*last = start + share->chunk_blocks >= share->nblocks;
	return true;
}

/*
 * PitShareReceive files the events the other participants wrote for a
 * partition into its store.
 */
static void
PitShareReceive(PitShare *share, int part, DestReceiver *store, TupleDesc desc,
				PitShareStats *stats)
{
	SharedTuplestoreAccessor *in;
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	MinimalTuple tup;

	in = sts_attach((SharedTuplestore *) (share->sts + part * share->sts_size),
					PitShareMe(share), &share->fileset);
	sts_begin_parallel_scan(in);
	while ((tup = sts_parallel_scan_next(in, NULL)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		ExecStoreMinimalTuple(tup, slot, false);
		stats->received++;
		if (!store->receiveSlot(slot, store))
			break;				/* the store is full: the caller falls back */
	}
	sts_end_parallel_scan(in);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * PitRouterReceive files a row of this participant's partition into its
 * store and writes any other row to its partition's tuplestore.  Once the
 * store is full it drops this partition's rows but keeps routing: the
 * other partitions need this chunk's rows.
 */
static bool
PitRouterReceive(TupleTableSlot *slot, DestReceiver *self)
{
	PitRouter  *r = (PitRouter *) self;
	PitScanState *st = r->st;
	int			part;
	bool		isnull;
	Datum		key;

	key = slot_getattr(slot, 1, &isnull);
	if (isnull)
		return true;			/* the query leaves these out */
	part = PitHashPart(st, PitHashKeys(st, &key));
	if (part == st->cur_part)
	{
		if (r->store != NULL && !r->store->receiveSlot(slot, r->store))
			r->store = NULL;
	}
	else
	{
		bool		shouldfree;
		MinimalTuple tup = ExecFetchSlotMinimalTuple(slot, &shouldfree);
		MemoryContext old;

		/* a writer's first tuple opens its file: not in the chunk's context */
		old = MemoryContextSwitchTo(r->cxt);
		sts_puttuple(r->out[part], NULL, tup);
		MemoryContextSwitchTo(old);
		if (shouldfree)
			pfree(tup);
		r->stats->sent++;
	}
	return true;
}

/* PitRouterStartup starts the store's receiver for each chunk's query */
static void
PitRouterStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	PitRouter  *r = (PitRouter *) self;

	if (r->store != NULL)
		r->store->rStartup(r->store, operation, typeinfo);
}

/* PitRouterNoop: the router holds nothing to flush or free */
static void
PitRouterNoop(DestReceiver *self)
{
}

/*
 * PitShareSplitUsable says whether a hash join's participant can read the
 * history split: the node has an exchange, not spent by a rescan, laid out
 * for the partitions this participant knows, and it holds one of them.
 */
bool
PitShareSplitUsable(PitScanState *st)
{
	PitShare   *share = PitShareOf(st->pshared);

	return share != NULL && !share->disabled && st->cur_part >= 0 &&
		st->cur_part < share->nparts && share->nparts == st->nparts;
}

/*
 * PitShareSplitJoin attaches a split read's participant to the exchange.
 * It returns true when the history is still being read (phase 0): the
 * caller then reads chunks (PitShareNextBlocks), sends its candidates and
 * arrives (PitShareSplitArrive).  It returns false for a participant that
 * came after the reading ended: it files nothing, and finds its
 * partition's rows in the tuplestore.  relid is the history table.
 */
bool
PitShareSplitJoin(PitScanState *st, Oid relid)
{
	PitShare   *share = PitShareOf(st->pshared);
	MemoryContext old = MemoryContextSwitchTo(st->runcxt);
	PitSplitIO *io = palloc0(sizeof(PitSplitIO));

	st->split_io = io;
	if (BarrierAttach(&share->barrier) != 0)
	{
		BarrierDetach(&share->barrier);
		MemoryContextSwitchTo(old);
		return false;
	}
	io->out = palloc0(sizeof(SharedTuplestoreAccessor *) * share->nparts);
	for (int p = 0; p < share->nparts; p++)
		io->out[p] = sts_attach((SharedTuplestore *) (share->sts + p * share->sts_size),
								PitShareMe(share), &share->fileset);
	io->reading = true;
	MemoryContextSwitchTo(old);
	PitShareSize(share, relid);
	return true;
}

/*
 * PitShareNextBlocks takes the next chunk of the history for a split read:
 * *first and *nblocks, the block range to scan.  The last chunk ends at the
 * size read once for all (PitShareSize): a block added since holds no row
 * the query's snapshot can see.  It returns false when none is left.
 */
bool
PitShareNextBlocks(PitScanState *st, BlockNumber *first, BlockNumber *nblocks)
{
	PitShare   *share = PitShareOf(st->pshared);
	bool		last;

	if (!PitShareTakeChunk(share, first, &last))
		return false;
	if (*first >= share->nblocks)
		*nblocks = 0;
	else
		*nblocks = last ? share->nblocks - *first : share->chunk_blocks;
	return true;
}

/* PitShareSend writes a candidate row to another partition's tuplestore */
void
PitShareSend(PitScanState *st, int part, MinimalTuple tup)
{
	/* a writer's first tuple opens its file: in the run's memory */
	MemoryContext old = MemoryContextSwitchTo(st->runcxt);

	sts_puttuple(st->split_io->out[part], NULL, tup);
	MemoryContextSwitchTo(old);
	st->split_sent++;
}

/*
 * PitShareSplitArrive ends a reading participant's writes and waits at the
 * barrier until every participant reading the history has sent its
 * candidates; from then on each partition's tuplestore is complete.
 */
void
PitShareSplitArrive(PitScanState *st)
{
	PitShare   *share = PitShareOf(st->pshared);
	PitSplitIO *io = st->split_io;

	if (io == NULL || !io->reading)
		return;
	for (int p = 0; p < share->nparts; p++)
		sts_end_write(io->out[p]);
	(void) BarrierArriveAndWait(&share->barrier, PG_WAIT_EXTENSION);
	BarrierDetach(&share->barrier);
	io->reading = false;
}

/* PitShareInOpen starts reading the candidates sent to a partition */
void
PitShareInOpen(PitScanState *st, int part)
{
	PitShare   *share = PitShareOf(st->pshared);
	MemoryContext old = MemoryContextSwitchTo(st->runcxt);

	st->split_io->in = sts_attach((SharedTuplestore *) (share->sts + part * share->sts_size),
								  PitShareMe(share), &share->fileset);
	sts_begin_parallel_scan(st->split_io->in);
	MemoryContextSwitchTo(old);
}

/* PitShareInNext is the next candidate sent to the partition, or NULL */
MinimalTuple
PitShareInNext(PitScanState *st)
{
	return sts_parallel_scan_next(st->split_io->in, NULL);
}

/* PitShareInClose ends reading a partition's candidates */
void
PitShareInClose(PitScanState *st)
{
	sts_end_parallel_scan(st->split_io->in);
	st->split_io->in = NULL;
}
