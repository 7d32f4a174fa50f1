/*
 * pit_parallel.c
 *		The parallel-aware PitJoin: under Gather, the spine is split by key
 *		hash into partitions (PitHashMine, pit_exec.h); each participant
 *		claims partitions from a counter in the DSM segment and, for each,
 *		reads both children in full, keeping only that partition's rows.  A
 *		spine row's result depends only on its own key and the whole history,
 *		so every spine row is emitted exactly once.  The EXPLAIN ANALYZE
 *		counts are summed in the DSM segment.
 *
 * A hash join whose history is a plain heap table reads it split instead
 * (pit_exec_hash.c, "the split read"): each participant holds the whole
 * spine, reads a share of the history's blocks and exchanges candidates
 * through the tuplestores of pit_share.c, so the history is read once in
 * all rather than once per participant.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "executor/executor.h"
#include "optimizer/optimizer.h"
#include "port/atomics.h"

#include "pit/pit_exec.h"

/*
 * PitRowMine tells whether a row belongs to the claimed partition, by the
 * hash of its keys.  Spine rows (tsattr > 0) that can never match, a key or
 * the timestamp NULL, all go to partition 0, so that they are still emitted
 * exactly once; feature rows with a NULL key are nobody's.
 */
bool
PitRowMine(PitScanState *st, TupleTableSlot *slot, int *keyattrs, int tsattr)
{
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;
	Datum	   *keys = st->rowkeys;
	bool		isnull = false;
	bool		mine;
	MemoryContext old;

	if (tsattr > 0)
		(void) slot_getattr(slot, tsattr, &isnull);
	if (isnull || !PitFetchKeys(slot, st->nkeys, keyattrs, keys))
		mine = tsattr > 0 && st->cur_part == 0;
	else
	{
		ResetExprContext(econtext);
		old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
		mine = PitHashMine(st, PitHashKeys(st, keys));
		MemoryContextSwitchTo(old);
	}
	return mine;
}

/*
 * PitClaimPartition takes the next unclaimed partition from the shared
 * counter.  It returns false, leaving cur_part at -2, when none is left.
 */
bool
PitClaimPartition(PitScanState *st)
{
	uint32		part = pg_atomic_fetch_add_u32(&st->pshared->next_part, 1);

	st->nparts = (int) st->pshared->nparts;
	if (part >= st->pshared->nparts)
	{
		st->cur_part = -2;
		return false;
	}
	st->cur_part = (int) part;
	st->nclaimed++;
	return true;
}

/*
 * PitNextPartition is the end of one partition's rows: a parallel
 * participant claims the next partition and rereads both children for it.
 * It returns true when there is one; false at the end of the join, after
 * publishing this participant's counts.
 */
bool
PitNextPartition(PitScanState *st)
{
	if (st->pshared != NULL && st->cur_part >= 0 && PitClaimPartition(st))
	{
		ListCell   *lc;

		/* a split read holds every partition's positions: no rereading */
		if (st->split)
		{
			PitSplitNextPartition(st);
			return true;
		}
		PitResetRun(st);
		foreach(lc, st->css.custom_ps)
			ExecReScan((PlanState *) lfirst(lc));
		return true;
	}
	/* the shared state went away in the middle of a partition */
	if (st->pshared == NULL && st->cur_part >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("featstore: parallel point-in-time join lost its shared state before finishing"),
				 errhint("Run the query again with featstore.pit_parallel = off.")));
	if (st->pshared != NULL)
		PitPublishCounts(st);
	return false;
}

/* PitPublishMax raises a shared maximum to at least v */
static void
PitPublishMax(pg_atomic_uint32 *max, uint32 v)
{
	uint32		cur = pg_atomic_read_u32(max);

	/* a failed exchange reloads cur */
	while (cur < v && !pg_atomic_compare_exchange_u32(max, &cur, v))
		;
}

/* PitPublishCounts adds this participant's new counts to the shared sums */
void
PitPublishCounts(PitScanState *st)
{
	pg_atomic_fetch_add_u64(&st->pshared->n_matched, st->n_matched - st->pub_matched);
	pg_atomic_fetch_add_u64(&st->pshared->n_nomatch, st->n_nomatch - st->pub_nomatch);
	pg_atomic_fetch_add_u64(&st->pshared->n_expired, st->n_expired - st->pub_expired);
	pg_atomic_fetch_add_u64(&st->pshared->n_sent, st->split_sent - st->pub_split_sent);
	st->pub_matched = st->n_matched;
	st->pub_nomatch = st->n_nomatch;
	st->pub_expired = st->n_expired;
	st->pub_split_sent = st->split_sent;
	pg_atomic_fetch_add_u64(&st->pshared->n_written, st->n_written - st->pub_written);
	st->pub_written = st->n_written;
	PitPublishMax(&st->pshared->batches, (uint32) st->ever_batches);
	if (st->ever_split)
		pg_atomic_write_u32(&st->pshared->split, 1);
}

/* PitEstimateDSM sizes the shared state of a parallel PitJoin */
Size
PitEstimateDSM(CustomScanState *node, ParallelContext *pcxt)
{
	PitScanState *st = (PitScanState *) node;
	Size		size = MAXALIGN(sizeof(PitShared));

	/*
	 * A window join reads its source once, between the participants; so
	 * does a hash join whose history can be split.
	 */
	if (st->strategy == PIT_WINDOW || PitSplitUsable(st))
		size = add_size(size, PitShareEstimate(pcxt));
	return size;
}

/*
 * PitInitializeDSM sets up the shared state in the leader: one partition
 * per planned worker, plus one for the leader when it takes part.  Fewer
 * participants than partitions only means some claim more than one.
 */
void
PitInitializeDSM(CustomScanState *node, ParallelContext *pcxt, void *coordinate)
{
	PitScanState *st = (PitScanState *) node;
	PitShared  *sh = (PitShared *) coordinate;

	sh->nparts = (uint32) Max(pcxt->nworkers + (parallel_leader_participation ? 1 : 0), 1);
	pg_atomic_init_u32(&sh->next_part, 0);
	/* the sums start from the leader's counts of earlier loops */
	pg_atomic_init_u64(&sh->n_matched, (uint64) st->n_matched);
	pg_atomic_init_u64(&sh->n_nomatch, (uint64) st->n_nomatch);
	pg_atomic_init_u64(&sh->n_expired, (uint64) st->n_expired);
	pg_atomic_init_u32(&sh->batches, (uint32) st->ever_batches);
	pg_atomic_init_u64(&sh->n_written, (uint64) st->n_written);
	pg_atomic_init_u32(&sh->split, st->ever_split ? 1 : 0);
	pg_atomic_init_u64(&sh->n_sent, (uint64) st->split_sent);
	sh->has_share = false;
	if (st->strategy == PIT_WINDOW || PitSplitUsable(st))
		PitShareInitialize(sh, pcxt);
	st->pshared = sh;
	st->nparts = (int) sh->nparts;
	st->pub_matched = st->n_matched;
	st->pub_nomatch = st->n_nomatch;
	st->pub_expired = st->n_expired;
	st->pub_split_sent = st->split_sent;
	st->pub_written = st->n_written;
}

/*
 * PitReInitializeDSM makes the partitions claimable again before a rescan
 * under Gather runs the workers anew.  The counters keep summing, like the
 * node's own counts across loops.
 */
void
PitReInitializeDSM(CustomScanState *node, ParallelContext *pcxt, void *coordinate)
{
	PitShared  *sh = (PitShared *) coordinate;

	pg_atomic_write_u32(&sh->next_part, 0);
	/* its files were read once: the rerun reads the source in full */
	PitShareDisable(sh);
}

/* PitInitializeWorker attaches a worker to the shared state */
void
PitInitializeWorker(CustomScanState *node, shm_toc *toc, void *coordinate)
{
	PitScanState *st = (PitScanState *) node;

	st->pshared = (PitShared *) coordinate;
	st->nparts = (int) st->pshared->nparts;
	PitShareAttachWorker(st->pshared);
}

/*
 * PitShutdown runs before the DSM segment goes away: a participant adds
 * its counts to the shared sums, and the leader then takes the sums, which
 * by now hold every finished worker's, for EXPLAIN ANALYZE.
 */
void
PitShutdown(CustomScanState *node)
{
	PitScanState *st = (PitScanState *) node;

	if (st->pshared == NULL)
		return;
	PitPublishCounts(st);
	if (!IsParallelWorker())
	{
		st->n_matched = st->pub_matched = (int64) pg_atomic_read_u64(&st->pshared->n_matched);
		st->n_nomatch = st->pub_nomatch = (int64) pg_atomic_read_u64(&st->pshared->n_nomatch);
		st->n_expired = st->pub_expired = (int64) pg_atomic_read_u64(&st->pshared->n_expired);
		st->ever_batches = (int) pg_atomic_read_u32(&st->pshared->batches);
		st->n_written = st->pub_written = (int64) pg_atomic_read_u64(&st->pshared->n_written);
		st->split_sent = st->pub_split_sent = (int64) pg_atomic_read_u64(&st->pshared->n_sent);
		st->ever_split = pg_atomic_read_u32(&st->pshared->split) != 0;
	}
	st->pshared = NULL;
}
