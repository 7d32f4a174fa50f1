/*
 * pit_exec_hash.c
 *		The hash strategy of PitJoin (pit_exec.c has the overview): the spine
 *		in memory, sorted by (key hash, key, ts) with a table from key to its
 *		run of spine positions; the history streamed once, each row filed at
 *		the first position it is available for; a per-key sweep carrying the
 *		best row forward.  Which row is better is PitBetter (pit_rule.h).
 *
 * When the spine or the filed rows outgrow work_mem, the join goes on in
 * batches by key hash (pit_exec_grace.c): batch 0 is joined as the history
 * streams, the others' rows go to temporary files, and each later batch is
 * read back and joined alone, as the whole spine would be.
 *
 * The split read.  Under Gather, a participant otherwise keeps its
 * partition's spine rows and reads the whole history, so the history is
 * read once per participant.  When the history is a plain heap table
 * (PitSplitUsable), each participant instead holds the whole spine, reads
 * chunks of the history's blocks taken from a shared counter (pit_share.c)
 * and files every row it reads.  It then sends, for every position of the
 * partitions it does not hold, the row it filed there; after a barrier it
 * files the rows sent to its own partition, sweeps that partition's keys
 * and emits them.  The rows a participant kept at a position beat every
 * row it read for that position, so filing the sent ones again (at the
 * same position: the one the spine's rows of the key give it) leaves each
 * position with the best row of the whole history, as a serial join would.
 * A participant whose copy of the spine would not fit in work_mem reads
 * as before: its partition's spine rows and the whole history.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sortsupport.h"

#include "pit/pit_exec.h"

/* A history row read ahead in PitHashFileBatched, with its tuple copied aside */
typedef struct PitBatchRow
{
	Datum		key;
	TimestampTz ets;
	TimestampTz cat;
	TimestampTz avail;
	uint32		hash;
	uint32		cap;
	PitSlot    *grp;
	int64		at;				/* its position, -1 if none */
	MinimalTuple image;
} PitBatchRow;

/* A spine entry's sort key, by value, for one integer-like key */
typedef struct PitSortItem
{
	uint32		never;
	uint32		hash;
	int64		key;
	TimestampTz ts;
	PitSpineEntry *entry;
} PitSortItem;

static bool PitHashLoadSpine(PitScanState *st);
static void PitHashAddSpine(PitScanState *st, TupleTableSlot *slot);
static void PitHashWriteSpine(PitScanState *st, TupleTableSlot *slot);
static uint32 PitSpineHash(PitScanState *st, TupleTableSlot *slot, Datum *keys,
						   TimestampTz *ts, bool *never);
static void PitHashLoadSpineBatch(PitScanState *st);
static void PitHashJoinBatch(PitScanState *st);
static void PitHashBuildTable(PitScanState *st);
static void PitHashAllocArrays(PitScanState *st);
static void PitHashIndexRuns(PitScanState *st, int64 nmatchable);
static void PitHashFileFeatures(PitScanState *st);
static void PitHashFileChild(PitScanState *st);
static void PitHashFileBatched(PitScanState *st);
static TupleTableSlot *PitNextHistoryRow(PitScanState *st, MinimalTuple *buf,
										 uint32 *cap, MinimalTuple *tup);
static void PitFileRow(PitScanState *st, TupleTableSlot *slot, MinimalTuple tup,
					   Datum *keys);
static bool PitSplitLoad(PitScanState *st);
static bool PitSplitFits(PitScanState *st);
static void PitSplitRead(PitScanState *st);
static void PitSplitChunk(PitScanState *st, BlockNumber first, BlockNumber nblocks);
static void PitSplitSend(PitScanState *st);
static void PitSplitReceive(PitScanState *st);
static int	PitBatchRead(PitScanState *st, PitBatchRow *rows, bool *done);
static void PitBatchCopy(PitScanState *st, TupleTableSlot *slot, PitBatchRow *row);
static int	PitBatchRoute(PitScanState *st, PitBatchRow *rows, int n);
static void PitHashSweep(PitScanState *st);
static PitSlot *PitHashLookup(PitScanState *st, uint32 hash, const Datum *keys);
static void *PitArenaAlloc(PitScanState *st, Size size);
static int	PitCompareEntries(const void *a, const void *b, void *arg);
static void PitSortFast(PitScanState *st);
static int	PitCompareSortItems(const void *a, const void *b);

/*
 * PitHashLoad reads both children for the hash strategy and gives every
 * spine position of the first batch (all of them, without batches) its
 * winner.
 */
void
PitHashLoad(PitScanState *st)
{
	if (PitSplitLoad(st))
		return;
	(void) PitHashLoadSpine(st);
	/* the spine went to batch files: batch 0's rows come back */
	if (!PitGraceLive(st))
		PitHashLoadSpineBatch(st);
	PitHashBuildTable(st);
	PitHashFileFeatures(st);
	/* batch 0 went back to its files while the history streamed */
	if (!PitGraceLive(st))
		PitHashJoinBatch(st);
	PitHashSweep(st);
	st->pos = 0;
}

/* PitHashNext emits the next spine row with its winner, NULL if not emitted */
TupleTableSlot *
PitHashNext(PitScanState *st)
{
	PitSpineEntry *e;
	PitPos	   *p;

	/* a split read holds every partition's positions: only this one's */
	while (st->split && st->pos < st->nentries &&
		   st->pos_sorted[st->pos].part != st->cur_part)
		st->pos++;
	if (st->pos >= st->nentries)
	{
		/* the next batch with spine rows, if any */
		if (st->grace != NULL && PitGraceNext(st))
		{
			PitHashJoinBatch(st);
			PitHashSweep(st);
			st->pos = 0;
			return NULL;
		}
		st->phase = PIT_DONE;
		return NULL;
	}
	p = &st->pos_sorted[st->pos];
	e = st->entries[st->pos++];
	ExecStoreMinimalTuple(e->tup, st->spine_slot, false);
	if (p->best != NULL)
		ExecStoreMinimalTuple(p->best, st->feat_slot, false);
	return PitEmit(st, st->spine_slot, p->best ? st->feat_slot : NULL,
				   e->ts, p->best_ets, e->never);
}

/*
 * PitHashRelease gives the hash strategy's memory back, before the merge
 * strategy's sorts fill theirs.
 */
void
PitHashRelease(PitScanState *st)
{
	MemoryContextReset(st->hashcxt);
	st->entries = NULL;
	st->nentries = st->maxentries = 0;
	st->arena = NULL;
	st->arena_free = 0;
	st->table = NULL;
	st->pos_sorted = NULL;
	st->pos_ts = NULL;
	st->mem_used = 0;
}

/*
 * PitHashLoadSpine reads the spine child into memory.  Once it outgrows
 * work_mem, the join goes to batches and the rest of the spine is written
 * to their files; under a split read, which needs the whole spine, it
 * returns false instead.
 */
static bool
PitHashLoadSpine(PitScanState *st)
{
	TupleTableSlot *slot;

	while ((slot = PitNextSpineRow(st)) != NULL)
	{
		if (!PitGraceLive(st))
		{
			PitHashWriteSpine(st, slot);
			continue;
		}
		PitHashAddSpine(st, slot);
		if (PitHashOverLimit(st))
		{
			if (st->split)
				return false;
			PitGraceOverflow(st);
		}
	}
	return true;
}

/*
 * PitHashLoadSpineBatch loads the current batch's spine rows from its file,
 * sending on the rows of later batches, and starts again each time the
 * batch outgrows work_mem and is split.
 */
static void
PitHashLoadSpineBatch(PitScanState *st)
{
	MinimalTuple buf = NULL;
	uint32		cap = 0;

	do
	{
		MinimalTuple tup;
		uint32		hash;

		PitHashRelease(st);
		PitGraceOpen(st, true);
		while ((tup = PitGraceRead(st, &hash, &buf, &cap)) != NULL)
		{
			CHECK_FOR_INTERRUPTS();
			if (PitGraceRoute(st, hash, (char *) tup, tup->t_len, true))
				continue;
			ExecStoreMinimalTuple(tup, st->spine_slot, false);
			PitHashAddSpine(st, st->spine_slot);
			if (PitHashOverLimit(st))
				PitGraceOverflow(st);
		}
	} while (!PitGraceLive(st));
	ExecClearTuple(st->spine_slot);
	if (buf != NULL)
		pfree(buf);
}

/*
 * PitHashJoinBatch joins the current batch from its files: its spine rows,
 * then its history rows, starting again whenever the batch outgrows
 * work_mem and is split.
 */
static void
PitHashJoinBatch(PitScanState *st)
{
	do
	{
		PitHashLoadSpineBatch(st);
		PitHashBuildTable(st);
		PitGraceOpen(st, false);
		PitHashFileChild(st);
		st->grace->reading = false;
	} while (!PitGraceLive(st));
}

/*
 * PitSpineHash is a spine row's key hash, with its keys read into keys and
 * its ts into *ts; a row with a NULL key or ts never matches and hashes to
 * 0.
 */
static uint32
PitSpineHash(PitScanState *st, TupleTableSlot *slot, Datum *keys, TimestampTz *ts,
			 bool *never)
{
	bool		isnull;

	*ts = DatumGetTimestampTz(slot_getattr(slot, st->spine_ts, &isnull));
	*never = isnull || !PitFetchKeys(slot, st->nkeys, st->spine_keys, keys);
	return *never ? 0 : PitHashKeys(st, keys);
}

/*
 * PitHashWriteSpine writes a spine row of the child's first pass to its
 * batch file, once the join is in batches, noting it in the filter.
 */
static void
PitHashWriteSpine(PitScanState *st, TupleTableSlot *slot)
{
	bool		never;
	TimestampTz ts;
	uint32		hash = PitSpineHash(st, slot, st->rowkeys, &ts, &never);
	bool		shouldfree;
	MinimalTuple mt;

	if (!never)
		PitGraceNoteSpine(st, hash, ts);
	mt = ExecFetchSlotMinimalTuple(slot, &shouldfree);
	(void) PitGraceRoute(st, hash, (char *) mt, mt->t_len, true);
	if (shouldfree)
		pfree(mt);
}

/* PitHashAddSpine copies a spine row into memory as an entry */
static void
PitHashAddSpine(PitScanState *st, TupleTableSlot *slot)
{
	Size		entry_size = offsetof(PitSpineEntry, keys) + sizeof(Datum) * st->nkeys;
	MinimalTuple mt;
	bool		shouldfree;
	PitSpineEntry *e;
	MemoryContext old;

	old = MemoryContextSwitchTo(st->hashcxt);
	if (st->nentries >= st->maxentries)
	{
		int64		newmax = Max(st->maxentries * 2, 1024);

		if (st->entries == NULL)
			st->entries = MemoryContextAllocHuge(st->hashcxt, newmax * sizeof(PitSpineEntry *));
		else
			st->entries = repalloc_huge(st->entries, newmax * sizeof(PitSpineEntry *));
		st->mem_used += (newmax - st->maxentries) * sizeof(PitSpineEntry *);
		st->maxentries = newmax;
	}
	mt = ExecFetchSlotMinimalTuple(slot, &shouldfree);
	e = PitArenaAlloc(st, entry_size);
	e->tup = PitArenaAlloc(st, mt->t_len);
	memcpy(e->tup, mt, mt->t_len);
	if (shouldfree)
		pfree(mt);
	MemoryContextSwitchTo(old);

	ExecStoreMinimalTuple(e->tup, st->spine_slot, false);
	e->hash = PitSpineHash(st, st->spine_slot, e->keys, &e->ts, &e->never);
	st->entries[st->nentries++] = e;
}

/* PitHashBuildTable sorts the spine and indexes its runs of equal keys */
static void
PitHashBuildTable(PitScanState *st)
{
	int64		nmatchable = 0;

	/*
	 * Both sorts check for interrupts: a spine of millions of rows takes
	 * seconds to sort, and a cancel must not wait for it.
	 */
	if (st->key_fast)
		PitSortFast(st);
	else
		qsort_interruptible(st->entries, st->nentries, sizeof(PitSpineEntry *),
							PitCompareEntries, st);

	/* count the runs first, to size the table */
	st->ngroups = 0;
	for (int64 i = 0; i < st->nentries; i++)
	{
		PitSpineEntry *e = st->entries[i];

		CHECK_FOR_INTERRUPTS();
		if (e->never)
			break;				/* they sort last */
		nmatchable++;
		if (i == 0 || e->hash != st->entries[i - 1]->hash ||
			PitCompareKeys(st, e->keys, st->entries[i - 1]->keys) != 0)
			st->ngroups++;
	}
	PitHashAllocArrays(st);
	PitHashIndexRuns(st, nmatchable);
}

/*
 * PitHashAllocArrays allocates the key table and the positions for the
 * sorted spine, and fills in each position's ts (and partition, under a
 * split read).
 */
static void
PitHashAllocArrays(PitScanState *st)
{
	int64		nslots = 16;
	Size		npos = Max(st->nentries, 1);

	/* load factor at most 0.7: linear probing stays short */
	while (nslots * 7 < st->ngroups * 10)
		nslots *= 2;
	/* all three are read at random for every history row: on huge pages */
	st->table = FeatstoreHugeAlloc(st->hashcxt, sizeof(PitSlot) * nslots, true);
	st->table_mask = nslots - 1;
	/* cache-line aligned, so that no position straddles two lines */
	st->pos_sorted = (PitPos *)
		TYPEALIGN(PG_CACHE_LINE_SIZE,
				  FeatstoreHugeAlloc(st->hashcxt, sizeof(PitPos) * npos + PG_CACHE_LINE_SIZE,
									 true));
	st->pos_ts = FeatstoreHugeAlloc(st->hashcxt, sizeof(TimestampTz) * npos, false);
	st->mem_used += sizeof(PitSlot) * nslots +
		(sizeof(PitPos) + sizeof(TimestampTz)) * npos + PG_CACHE_LINE_SIZE;

	for (int64 i = 0; i < st->nentries; i++)
	{
		PitSpineEntry *e = st->entries[i];

		/* a cache miss per entry once sorted: seconds at scale */
		CHECK_FOR_INTERRUPTS();
		st->pos_ts[i] = e->ts;
		/* rows that never match are partition 0's, as PitRowMine has it */
		if (st->split && !e->never)
			st->pos_sorted[i].part = PitHashPart(st, e->hash);
	}
}

/*
 * PitHashIndexRuns gives each run of equal keys among the first nmatchable
 * sorted entries its slot in the key table.
 */
static void
PitHashIndexRuns(PitScanState *st, int64 nmatchable)
{
	for (int64 i = 0; i < nmatchable;)
	{
		PitSpineEntry *first = st->entries[i];
		int64		j = i + 1;
		uint64		h;

		CHECK_FOR_INTERRUPTS();
		while (j < nmatchable && st->entries[j]->hash == first->hash &&
			   PitCompareKeys(st, st->entries[j]->keys, first->keys) == 0)
			j++;
		for (h = first->hash & st->table_mask; st->table[h].end != 0; h = (h + 1) & st->table_mask)
			;
		st->table[h].key0 = st->key_fast ? first->keys[0] : UInt32GetDatum(first->hash);
		st->table[h].start = (uint32) i;
		st->table[h].end = (uint32) j;
		i = j;
	}
}

/*
 * PitCandidateIndex is the filing step both readers of the history share:
 * the position in its key's run grp where a history row available at avail
 * goes, the first whose spine ts is at or after it, or -1 when the row is
 * available after every position of its key.
 */
static inline int64
PitCandidateIndex(PitScanState *st, PitSlot *grp, TimestampTz avail)
{
	int64		lo = grp->start;
	int64		hi = grp->end;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (st->pos_ts[mid] < avail)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < grp->end ? lo : -1;
}

/*
 * PitPositionFor is the position at index at when a history row with these
 * times is better than the one filed there, NULL when it is not (or at is
 * -1).
 */
static inline PitPos *
PitPositionFor(PitScanState *st, int64 at, TimestampTz ets, TimestampTz cat)
{
	PitPos	   *e;

	if (at < 0)
		return NULL;
	e = &st->pos_sorted[at];
	if (e->best != NULL && !PitBetter(ets, cat, e->best_ets, e->best_cat))
		return NULL;
	return e;
}

/*
 * PitFileAt keeps a copy of a history row (its minimal-tuple bytes, len of
 * them) at a spine position.  The copy is carved from the arena at its exact
 * size (the allocator's power-of-two chunks would nearly double the memory)
 * and reused in place while rows keep replacing each other at a position; a
 * longer row gets fresh space and the old one is abandoned until the scan
 * ends, which the memory count includes.
 */
static inline void
PitFileAt(PitScanState *st, PitPos *e, TimestampTz ets, TimestampTz cat,
		  const char *data, uint32 len)
{
	if (e->best == NULL || e->best_cap < len)
	{
		/* under a split read, once at the largest size: PitSplitFits counted it */
		e->best_cap = MAXALIGN(Max(len, st->row_max));
		e->best = PitArenaAlloc(st, e->best_cap);
	}
	memcpy(e->best, data, len);
	e->best->t_len = len;
	e->best_ets = ets;
	e->best_cat = cat;
}

/*
 * PitHashFileFeatures reads the feature child once and files each row at
 * the first spine position it is available for (rows of other batches are
 * written to their files).
 */
static void
PitHashFileFeatures(PitScanState *st)
{
	/* a partitioned history: only the partitions that can hold candidates */
	if (!PitPruneApply(st))
		return;
	PitHashFileChild(st);
}

/*
 * PitHashFileChild files the history rows, to the end of the feature child
 * or, when reading a batch back, of the batch's file.  Past work_mem the
 * batch goes back to its files (a split read never gets there:
 * PitSplitFits bounded its rows).
 */
static void
PitHashFileChild(PitScanState *st)
{
	Datum	   *keys;
	MinimalTuple buf = NULL;
	uint32		cap = 0;

	if (st->key_fast)
	{
		PitHashFileBatched(st);
		return;
	}

	keys = palloc(sizeof(Datum) * Max(st->nkeys, 1));
	for (;;)
	{
		TupleTableSlot *slot;
		MinimalTuple tup;

		if ((slot = PitNextHistoryRow(st, &buf, &cap, &tup)) == NULL)
			break;
		CHECK_FOR_INTERRUPTS();
		PitFileRow(st, slot, tup, keys);
		if (!st->split && PitHashOverLimit(st))
			PitGraceOverflow(st);
	}
	ExecClearTuple(st->feat_slot);
	if (buf != NULL)
		pfree(buf);
	pfree(keys);
}

/*
 * PitNextHistoryRow is the next history row to file: read back from the
 * current batch's file into *buf (of *cap bytes; *tup is then that row), or
 * the feature child's next row (*tup NULL).  NULL at the end of either.
 */
static TupleTableSlot *
PitNextHistoryRow(PitScanState *st, MinimalTuple *buf, uint32 *cap,
				  MinimalTuple *tup)
{
	TupleTableSlot *slot;
	uint32		hash;

	*tup = NULL;
	if (PitGraceReading(st))
	{
		if ((*tup = PitGraceRead(st, &hash, buf, cap)) == NULL)
			return NULL;
		return ExecStoreMinimalTuple(*tup, st->feat_slot, false);
	}
	/* TupIsNull evaluates its argument twice */
	slot = ExecProcNode((PlanState *) lsecond(st->css.custom_ps));
	return TupIsNull(slot) ? NULL : slot;
}

/*
 * PitFileRow files one history row, row by row: the slot's row, whose bytes
 * are tup when it is a minimal tuple already (a row sent by another
 * participant, or read back from a batch file), or the slot's heap tuple.
 * keys is a buffer for the keys.
 */
static void
PitFileRow(PitScanState *st, TupleTableSlot *slot, MinimalTuple tup, Datum *keys)
{
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;
	TimestampTz ets;
	TimestampTz cat;
	uint32		hash;
	PitSlot    *grp;
	PitPos	   *e;
	MemoryContext old;
	HeapTuple	ht = NULL;
	bool		shouldfree = false;
	const char *data;
	uint32		len;

	ResetExprContext(econtext);
	if (!PitFeatureTimes(st, slot, &ets, &cat) ||
		!PitFetchKeys(slot, st->nkeys, st->feat_keys, keys))
		return;

	old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	hash = PitHashKeys(st, keys);
	MemoryContextSwitchTo(old);
	/* another partition's key: its spine rows are not here */
	if (st->pshared != NULL && !st->split && !PitHashMine(st, hash))
		return;

	if (tup != NULL)
	{
		data = (char *) tup;
		len = tup->t_len;
	}
	else
	{
		ht = ExecFetchSlotHeapTuple(slot, false, &shouldfree);
		data = (char *) ht->t_data + MINIMAL_TUPLE_OFFSET;
		len = ht->t_len - MINIMAL_TUPLE_OFFSET;
	}

	/* another batch's key, or a batch gone back to its files */
	if (st->grace == NULL ||
		(PitGraceWanted(st->grace, hash, PitAvailable(st->strict, ets, cat)) &&
		 !PitGraceRoute(st, hash, data, len, false)))
	{
		old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
		grp = PitHashLookup(st, hash, keys);
		MemoryContextSwitchTo(old);
		if (grp != NULL &&
			(e = PitPositionFor(st, PitCandidateIndex(st, grp, PitAvailable(st->strict, ets, cat)),
								ets, cat)) != NULL)
			PitFileAt(st, e, ets, cat, data, len);
	}
	if (shouldfree)
		heap_freetuple(ht);
}

/*
 * PitHashFileBatched is PitHashFileChild for one integer-like key, in
 * batches: at scale the key table and the positions do not fit in cache,
 * and every feature row costs three memory round trips (its key's slot, the
 * ts of its key's run, the position it goes to).  Reading PIT_BATCH rows
 * (their tuples copied aside), then looking them all up, then finding all
 * their positions, then filing them all, with prefetches between the
 * stages, overlaps those misses.
 */
static void
PitHashFileBatched(PitScanState *st)
{
	PitBatchRow rows[PIT_BATCH];
	bool		done = false;

	memset(rows, 0, sizeof(rows));
	while (!done)
	{
		int			n = PitBatchRead(st, rows, &done);

		/* find each row's key run, prefetch the binary search's first probe */
		for (int i = 0; i < n; i++)
		{
			PitSlot    *grp = PitHashLookup(st, rows[i].hash, &rows[i].key);

			rows[i].grp = grp;
			if (grp == NULL)
				continue;
			FeatstorePrefetch(&st->pos_ts[grp->start + (grp->end - grp->start) / 2]);
			/* a short run: its position is likely the first, fetch it too */
			if (grp->end - grp->start <= 2)
				FeatstorePrefetch(&st->pos_sorted[grp->start]);
		}
		/* find each row's position, prefetch it */
		for (int i = 0; i < n; i++)
		{
			rows[i].at = rows[i].grp == NULL ? -1 :
				PitCandidateIndex(st, rows[i].grp, rows[i].avail);
			if (rows[i].at >= 0)
				FeatstorePrefetch(&st->pos_sorted[rows[i].at]);
		}
		for (int i = 0; i < n; i++)
		{
			PitPos	   *e = PitPositionFor(st, rows[i].at, rows[i].ets, rows[i].cat);

			if (e != NULL)
				PitFileAt(st, e, rows[i].ets, rows[i].cat,
						  (char *) rows[i].image, rows[i].image->t_len);
		}

		if (!st->split && PitHashOverLimit(st))
			PitGraceOverflow(st);
	}
	ExecClearTuple(st->feat_slot);
	for (int i = 0; i < PIT_BATCH; i++)
		if (rows[i].image != NULL)
			pfree(rows[i].image);
}

/*
 * PitBatchRead is PitHashFileBatched's first stage: it reads up to
 * PIT_BATCH rows of this participant to file, hashes their key, copies
 * their tuple into the row's own buffer (a row read back from a batch file
 * is read into it) and prefetches their table slot.  Under batches, rows
 * of other batches are written to their files instead (PitBatchRoute).
 * It returns how many rows are left to file, setting *done at the end of
 * the rows.
 */
static int
PitBatchRead(PitScanState *st, PitBatchRow *rows, bool *done)
{
	bool		from_file = PitGraceReading(st);
	int			n = 0;

	while (n < PIT_BATCH)
	{
		MinimalTuple tup;
		TupleTableSlot *slot = PitNextHistoryRow(st, &rows[n].image, &rows[n].cap, &tup);
		bool		knull;

		if (slot == NULL)
		{
			*done = true;
			break;
		}
		CHECK_FOR_INTERRUPTS();
		if (!PitFeatureTimes(st, slot, &rows[n].ets, &rows[n].cat))
			continue;
		rows[n].key = slot_getattr(slot, st->feat_keys[0], &knull);
		if (knull)
			continue;
		rows[n].avail = PitAvailable(st->strict, rows[n].ets, rows[n].cat);
		rows[n].hash = PitHashKeys(st, &rows[n].key);
		/* another partition's key: its spine rows are not here */
		if (st->pshared != NULL && !st->split && !PitHashMine(st, rows[n].hash))
			continue;
		if (!from_file)
			PitBatchCopy(st, slot, &rows[n]);
		if (st->grace == NULL)
			FeatstorePrefetch(&st->table[rows[n].hash & st->table_mask]);
		else
			FeatstorePrefetch(&st->grace->fmax[rows[n].hash & st->grace->fmask]);
		n++;
	}
	return st->grace == NULL ? n : PitBatchRoute(st, rows, n);
}

/* PitBatchCopy copies a heap row into a batch row's own buffer */
static void
PitBatchCopy(PitScanState *st, TupleTableSlot *slot, PitBatchRow *row)
{
	bool		shouldfree;
	HeapTuple	ht = ExecFetchSlotHeapTuple(slot, false, &shouldfree);
	uint32		len = ht->t_len - MINIMAL_TUPLE_OFFSET;

	if (row->cap < len)
	{
		if (row->image != NULL)
			pfree(row->image);
		row->cap = MAXALIGN(len);
		row->image = MemoryContextAlloc(st->runcxt, row->cap);
	}
	memcpy(row->image, (char *) ht->t_data + MINIMAL_TUPLE_OFFSET, len);
	row->image->t_len = len;
	if (shouldfree)
		heap_freetuple(ht);
}

/*
 * PitBatchRoute is PitBatchRead's second stage under batches, once the
 * filter's buckets of the n rows read have been fetched: it drops the rows
 * no spine row can take (PitGraceWanted), writes those of other batches (or
 * all, once the batch went back to its files) and keeps the rest first in
 * rows, swapping buffers.  It returns how many it kept.
 */
static int
PitBatchRoute(PitScanState *st, PitBatchRow *rows, int n)
{
	int			kept = 0;

	for (int i = 0; i < n; i++)
	{
		PitBatchRow tmp;

		if (!PitGraceWanted(st->grace, rows[i].hash, rows[i].avail) ||
			PitGraceRoute(st, rows[i].hash, (char *) rows[i].image,
						  rows[i].image->t_len, false))
			continue;
		FeatstorePrefetch(&st->table[rows[i].hash & st->table_mask]);
		tmp = rows[kept];
		rows[kept++] = rows[i];
		rows[i] = tmp;
	}
	return kept;
}

/* PitHashLookup finds the run of spine entries with the given key */
static PitSlot *
PitHashLookup(PitScanState *st, uint32 hash, const Datum *keys)
{
	for (uint64 h = hash & st->table_mask; st->table[h].end != 0; h = (h + 1) & st->table_mask)
	{
		PitSlot    *slotp = &st->table[h];

		if (st->key_fast ? slotp->key0 == keys[0] :
			(DatumGetUInt32(slotp->key0) == hash &&
			 PitCompareKeys(st, st->entries[slotp->start]->keys, keys) == 0))
			return slotp;
	}
	return NULL;
}

/*
 * PitSplitUsable says whether this hash join reads its history split: the
 * plan chose it (PitSplitPlanned), and the feature child is a plain
 * sequential scan of a heap table, whose block ranges a participant can be
 * given, with rows of a bounded size (no variable-length column), so that
 * the memory the whole spine's positions may need is known before the read.
 */
bool
PitSplitUsable(PitScanState *st)
{
	PlanState  *child;
	Relation	rel;

	if (!st->split_planned || st->strategy != PIT_HASH || st->prune != NULL)
		return false;
	child = (PlanState *) lsecond(st->css.custom_ps);
	if (!IsA(child, SeqScanState) || child->plan->parallel_aware)
		return false;
	rel = ((ScanState *) child)->ss_currentRelation;
	return rel != NULL && rel->rd_rel->relam == HEAP_TABLE_AM_OID &&
		PitRowsFixedWidth(ExecGetResultType(child));
}

/* PitSplitRowBytes is the largest minimal tuple of a fixed-width descriptor */
static Size
PitSplitRowBytes(TupleDesc desc)
{
	Size		off = 0;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		off = att_align_nominal(off, att->attalign) + att->attlen;
	}
	return MAXALIGN(SizeofHeapTupleHeader + BITMAPLEN(desc->natts)) -
		MINIMAL_TUPLE_OFFSET + off;
}

/*
 * PitSplitLoad runs the split read when this participant can: it loads the
 * whole spine, reads its share of the history, exchanges candidates and
 * sweeps its partition.  It returns false, with the spine child rewound,
 * when the split read is not used; the caller then loads as usual.
 */
static bool
PitSplitLoad(PitScanState *st)
{
	PlanState  *spine = (PlanState *) linitial(st->css.custom_ps);

	if (st->pshared == NULL || !PitShareSplitUsable(st) || !PitSplitUsable(st))
		return false;
	st->split = true;
	st->row_max = PitSplitRowBytes(ExecGetResultType((PlanState *) lsecond(st->css.custom_ps)));
	if (PitHashLoadSpine(st))
	{
		PitHashBuildTable(st);
		if (PitSplitFits(st))
		{
			PitSplitRead(st);
			PitSplitReceive(st);
			PitHashSweep(st);
			st->pos = 0;
			st->ever_split = true;
			return true;
		}
	}
	/* its partition's spine rows and the whole history, as without */
	PitHashRelease(st);
	st->split = false;
	st->row_max = 0;
	ExecReScan(spine);
	st->spine_done = false;
	return false;
}

/*
 * PitSplitFits says whether the whole spine, sorted with its table, and a
 * row of the largest size at every position that can match stay within
 * work_mem: a split read cannot fall back to merge once it has read its
 * share of the history.
 */
static bool
PitSplitFits(PitScanState *st)
{
	int64		nmatchable = st->nentries;

	/* the rows that never match sort last */
	while (nmatchable > 0 && st->entries[nmatchable - 1]->never)
		nmatchable--;
	return (double) st->mem_used + (double) nmatchable * MAXALIGN(st->row_max) <=
		(double) st->mem_limit;
}

/*
 * PitSplitRead reads this participant's share of the history, chunk by
 * chunk, and sends the rows it filed at other partitions' positions.  A
 * participant that came after the reading ended reads nothing.
 */
static void
PitSplitRead(PitScanState *st)
{
	ScanState  *child = (ScanState *) lsecond(st->css.custom_ps);
	BlockNumber first;
	BlockNumber nblocks;

	if (!PitShareSplitJoin(st, RelationGetRelid(child->ss_currentRelation)))
		return;
	while (PitShareNextBlocks(st, &first, &nblocks))
	{
		CHECK_FOR_INTERRUPTS();
		if (nblocks > 0)
			PitSplitChunk(st, first, nblocks);
	}
	PitSplitSend(st);
	PitShareSplitArrive(st);
}

/*
 * PitSplitChunk files the rows of a block range of the history.  The
 * child's scan is the node's own, without synchronized scanning (which
 * would move its start), restarted and limited to the range, so the
 * child's quals and projection still apply to every row.
 */
static void
PitSplitChunk(PitScanState *st, BlockNumber first, BlockNumber nblocks)
{
	SeqScanState *child = (SeqScanState *) lsecond(st->css.custom_ps);
	TableScanDesc scan;
	HeapScanDesc hscan;

	ExecReScan((PlanState *) child);
	scan = child->ss.ss_currentScanDesc;
	if (scan != NULL && (scan->rs_flags & SO_ALLOW_SYNC) != 0)
	{
		table_endscan(scan);
		scan = NULL;
	}
	if (scan == NULL)
	{
		scan = table_beginscan_strat(child->ss.ss_currentRelation,
									 st->css.ss.ps.state->es_snapshot, 0, NULL,
									 true, false);
		child->ss.ss_currentScanDesc = scan;
	}
	hscan = (HeapScanDesc) scan;
	/* the table cannot shrink under the query's lock; be safe anyway */
	if (first >= hscan->rs_nblocks)
		return;
	heap_setscanlimits(scan, first, Min(nblocks, hscan->rs_nblocks - first));
	PitHashFileChild(st);
}

/*
 * PitSplitSend sends, for every position of a partition this participant
 * does not hold, the row it filed there, in position order.
 */
static void
PitSplitSend(PitScanState *st)
{
	for (int64 i = 0; i < st->nentries; i++)
	{
		PitPos	   *p = &st->pos_sorted[i];

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (p->best != NULL && p->part != st->cur_part)
			PitShareSend(st, p->part, p->best);
	}
}

/* PitSplitReceive files the rows the others sent to the held partition */
static void
PitSplitReceive(PitScanState *st)
{
	Datum	   *keys = palloc(sizeof(Datum) * Max(st->nkeys, 1));
	MinimalTuple tup;

	PitShareInOpen(st, st->cur_part);
	while ((tup = PitShareInNext(st)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		ExecStoreMinimalTuple(tup, st->feat_slot, false);
		PitFileRow(st, st->feat_slot, tup, keys);
	}
	PitShareInClose(st);
	ExecClearTuple(st->feat_slot);
	pfree(keys);
}

/*
 * PitSplitNextPartition makes a split read emit another partition, claimed
 * after the reading (a planned worker that never ran): every row of it is
 * in this participant's positions or in the partition's tuplestore.
 */
void
PitSplitNextPartition(PitScanState *st)
{
	PitSplitReceive(st);
	PitHashSweep(st);
	st->pos = 0;
	st->phase = PIT_EMIT_HASH;
}

/* PitHashSweep carries the best row forward within each key's run */
static void
PitHashSweep(PitScanState *st)
{
	for (uint64 g = 0; g <= st->table_mask; g++)
	{
		MinimalTuple run = NULL;
		TimestampTz run_ets = 0;
		TimestampTz run_cat = 0;

		if (st->table[g].end == 0)
			continue;
		/* a split read sweeps a partition when it emits it, not before */
		if (st->split &&
			PitHashPart(st, st->entries[st->table[g].start]->hash) != st->cur_part)
			continue;
		for (int64 i = st->table[g].start; i < st->table[g].end; i++)
		{
			PitPos	   *e = &st->pos_sorted[i];

			CHECK_FOR_INTERRUPTS();
			if (e->best != NULL &&
				(run == NULL || PitBetter(e->best_ets, e->best_cat, run_ets, run_cat)))
			{
				run = e->best;
				run_ets = e->best_ets;
				run_cat = e->best_cat;
			}
			e->best = run;
			e->best_ets = run_ets;
			e->best_cat = run_cat;
		}
	}
}

/* PitArenaAlloc carves spine memory from large blocks, counting it */
static void *
PitArenaAlloc(PitScanState *st, Size size)
{
	void	   *p;

	size = MAXALIGN(size);
	if (size > st->arena_free)
	{
		/* small blocks under a small work_mem, so tiny spines stay in memory */
		Size		block = Max(size, Min(PIT_ARENA_BLOCK, Max(st->mem_limit / 8, 8192)));

		st->arena = MemoryContextAlloc(st->hashcxt, block);
		st->arena_free = block;
		st->mem_used += block;
	}
	p = st->arena;
	st->arena += size;
	st->arena_free -= size;
	return p;
}

/*
 * PitSortItems sorts PitSortItems in place, checking for interrupts as it
 * goes (sort_template.h, as PostgreSQL's own qsort_interruptible).
 */
#define ST_SORT PitSortItems
#define ST_ELEMENT_TYPE PitSortItem
#define ST_COMPARE(a, b) PitCompareSortItems(a, b)
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * PitSortFast sorts the spine entries through a flat array of their sort
 * keys: sorting the pointers themselves costs a cache miss per comparison
 * once the spine outgrows the cache.
 */
static void
PitSortFast(PitScanState *st)
{
	Size		size = sizeof(PitSortItem) * Max(st->nentries, 1);
	PitSortItem *items = MemoryContextAllocHuge(st->hashcxt, size);

	for (int64 i = 0; i < st->nentries; i++)
	{
		PitSpineEntry *e = st->entries[i];

		CHECK_FOR_INTERRUPTS();
		items[i].never = e->never;
		items[i].hash = e->hash;
		items[i].key = e->never ? 0 : (int64) e->keys[0];
		items[i].ts = e->ts;
		items[i].entry = e;
	}
	PitSortItems(items, st->nentries);
	for (int64 i = 0; i < st->nentries; i++)
	{
		CHECK_FOR_INTERRUPTS();
		st->entries[i] = items[i].entry;
	}
	pfree(items);
}

/* PitCompareSortItems orders sort keys like PitCompareEntries */
static int
PitCompareSortItems(const void *a, const void *b)
{
	const PitSortItem *x = (const PitSortItem *) a;
	const PitSortItem *y = (const PitSortItem *) b;

	if (x->never != y->never)
		return x->never ? 1 : -1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return 0;
}

/* PitCompareEntries sorts spine entries: matchable first, by hash, key, ts */
static int
PitCompareEntries(const void *a, const void *b, void *arg)
{
	PitScanState *st = (PitScanState *) arg;
	const PitSpineEntry *x = *(PitSpineEntry *const *) a;
	const PitSpineEntry *y = *(PitSpineEntry *const *) b;
	int			c;

	if (x->never != y->never)
		return x->never ? 1 : -1;
	if (x->never)
		return 0;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	c = PitCompareKeys(st, x->keys, y->keys);
	if (c != 0)
		return c;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return 0;
}
