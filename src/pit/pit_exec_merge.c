/*
 * pit_exec_merge.c
 *		The merge strategy of PitJoin (pit_exec.c has the overview): both
 *		sides through a tuplesort, which spills like any sort, then one pass
 *		carrying the best row so far per key.
 *
 * The spine is sorted by (key, ts), the history by (key, availability,
 * event_timestamp, created_at), availability being PitAvailable
 * (pit_rule.h).  Walking the spine in order, every history row of the same
 * key available at the spine ts has been passed by then, and the best of
 * them (PitBetter) is the winner.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/tuplesort.h"

#include "pit/pit_exec.h"

static void PitMergeBeginSorts(PitScanState *st);
static void PitMergeSortSpine(PitScanState *st);
static void PitMergeSortFeatures(PitScanState *st);
static void PitMergeTake(PitScanState *st, TimestampTz ts);
static void PitMergeNextFeature(PitScanState *st);

/* PitMergeLoad sorts both sides */
void
PitMergeLoad(PitScanState *st)
{
	PitMergeBeginSorts(st);
	PitMergeSortSpine(st);
	PitMergeSortFeatures(st);

	tuplesort_performsort(st->spine_sort);
	tuplesort_performsort(st->feat_sort);
	st->best_valid = false;
	ExecClearTuple(st->best);
	PitMergeNextFeature(st);
}

/*
 * PitMergeBeginSorts starts the two sorts: the spine by (keys, ts), the
 * history by (keys, availability, event_timestamp, created_at).
 */
static void
PitMergeBeginSorts(PitScanState *st)
{
	TupleDesc	spine_desc = ExecGetResultType((PlanState *) linitial(st->css.custom_ps));
	int			ns = st->nkeys + 1;
	int			nf = st->nkeys + 3;
	AttrNumber *sattrs = palloc(sizeof(AttrNumber) * ns);	/* tuplesort's type */
	Oid		   *sops = palloc(sizeof(Oid) * ns);
	Oid		   *scolls = palloc(sizeof(Oid) * ns);
	bool	   *snulls = palloc0(sizeof(bool) * ns);
	AttrNumber *fattrs = palloc(sizeof(AttrNumber) * nf);
	Oid		   *fops = palloc(sizeof(Oid) * nf);
	Oid		   *fcolls = palloc(sizeof(Oid) * nf);
	bool	   *fnulls = palloc0(sizeof(bool) * nf);
	MemoryContext old;

	for (int i = 0; i < st->nkeys; i++)
	{
		sattrs[i] = st->spine_keys[i];
		fattrs[i] = st->feat_keys[i];
		sops[i] = fops[i] = st->sortops[i];
		scolls[i] = fcolls[i] = st->colls[i];
	}
	sattrs[st->nkeys] = st->spine_ts;
	sops[st->nkeys] = st->ts_lt_opr;
	scolls[st->nkeys] = InvalidOid;
	fattrs[st->nkeys] = st->feat_sort_desc->natts;
	fattrs[st->nkeys + 1] = st->feat_ets;
	fattrs[st->nkeys + 2] = st->feat_cat;
	for (int i = st->nkeys; i < nf; i++)
	{
		fops[i] = st->ts_lt_opr;
		fcolls[i] = InvalidOid;
	}

	/* two sorts in one node: half of work_mem each keeps the node within it */
	old = MemoryContextSwitchTo(st->runcxt);
	st->spine_sort = tuplesort_begin_heap(spine_desc, ns, sattrs, sops, scolls, snulls,
										  Max(work_mem / 2, 64), NULL, TUPLESORT_NONE);
	st->feat_sort = tuplesort_begin_heap(st->feat_sort_desc, nf, fattrs, fops, fcolls,
										 fnulls, Max(work_mem / 2, 64), NULL, TUPLESORT_NONE);
	MemoryContextSwitchTo(old);
}

/* PitMergeSortSpine feeds the spine sort with the spine child's rows */
static void
PitMergeSortSpine(PitScanState *st)
{
	TupleTableSlot *slot;

	while (!st->spine_done && (slot = PitNextSpineRow(st)) != NULL)
		tuplesort_puttupleslot(st->spine_sort, slot);
}

/*
 * PitMergeSortFeatures feeds the history sort with every row that can be a
 * candidate for some spine row of this participant, with its availability
 * appended as the last column.
 */
static void
PitMergeSortFeatures(PitScanState *st)
{
	PlanState  *feat_child = (PlanState *) lsecond(st->css.custom_ps);
	int			navail = st->feat_sort_desc->natts;

	/* a partitioned history: only the partitions that can hold candidates */
	if (!PitPruneApply(st))
		return;
	for (;;)
	{
		TupleTableSlot *slot = ExecProcNode(feat_child);
		TupleTableSlot *in = st->feat_sort_in;
		bool		knull = false;
		TimestampTz ets;
		TimestampTz cat;

		if (TupIsNull(slot))
			break;
		CHECK_FOR_INTERRUPTS();
		if (!PitFeatureTimes(st, slot, &ets, &cat))
			continue;
		for (int i = 0; i < st->nkeys && !knull; i++)
			(void) slot_getattr(slot, st->feat_keys[i], &knull);
		if (knull)
			continue;
		if (st->pshared != NULL && !PitRowMine(st, slot, st->feat_keys, 0))
			continue;

		ExecClearTuple(in);
		slot_getallattrs(slot);
		memcpy(in->tts_values, slot->tts_values, sizeof(Datum) * (navail - 1));
		memcpy(in->tts_isnull, slot->tts_isnull, sizeof(bool) * (navail - 1));
		in->tts_values[navail - 1] = TimestampTzGetDatum(PitAvailable(st->strict, ets, cat));
		in->tts_isnull[navail - 1] = false;
		ExecStoreVirtualTuple(in);
		tuplesort_puttupleslot(st->feat_sort, in);
	}
}

/*
 * PitMergeNext emits the next spine row in (key, ts) order with its winner,
 * or returns NULL (with phase PIT_DONE at the end, or for a row the join
 * does not emit).
 */
TupleTableSlot *
PitMergeNext(PitScanState *st)
{
	Datum		ts;
	bool		isnull;
	bool		never = false;

	if (!tuplesort_gettupleslot(st->spine_sort, true, false, st->spine_slot, NULL))
	{
		st->phase = PIT_DONE;
		return NULL;
	}
	ts = slot_getattr(st->spine_slot, st->spine_ts, &isnull);
	if (isnull)
		never = true;
	for (int i = 0; i < st->nkeys && !never; i++)
	{
		(void) slot_getattr(st->spine_slot, st->spine_keys[i], &isnull);
		if (isnull)
			never = true;
	}
	if (never)
		return PitEmit(st, st->spine_slot, NULL, 0, 0, true);

	/* the best row belongs to an earlier key: forget it */
	if (st->best_valid &&
		PitCompareSlotKeys(st, st->best, st->feat_keys,
						   st->spine_slot, st->spine_keys) != 0)
		st->best_valid = false;
	PitMergeTake(st, DatumGetTimestampTz(ts));

	if (st->best_valid)
	{
		bool		n1;

		return PitEmit(st, st->spine_slot, st->best, DatumGetTimestampTz(ts),
					   DatumGetTimestampTz(slot_getattr(st->best, st->feat_ets, &n1)),
					   false);
	}
	return PitEmit(st, st->spine_slot, NULL, DatumGetTimestampTz(ts), 0, false);
}

/*
 * PitMergeTake moves the history cursor past every row available at ts for
 * keys up to the current spine row's, keeping the best row of that key.
 */
static void
PitMergeTake(PitScanState *st, TimestampTz ts)
{
	while (!TupIsNull(st->peek))
	{
		int			c = PitCompareSlotKeys(st, st->peek, st->feat_keys,
										   st->spine_slot, st->spine_keys);
		bool		avnull;
		TimestampTz avail;

		if (c > 0)
			break;
		avail = DatumGetTimestampTz(slot_getattr(st->peek, st->feat_sort_desc->natts,
												 &avnull));
		if (c == 0 && avail > ts)
			break;
		if (c == 0)
		{
			bool		n1,
						n2;
			TimestampTz ets = DatumGetTimestampTz(slot_getattr(st->peek, st->feat_ets, &n1));
			TimestampTz cat = DatumGetTimestampTz(slot_getattr(st->peek, st->feat_cat, &n2));

			if (!st->best_valid ||
				PitBetter(ets, cat,
						  DatumGetTimestampTz(slot_getattr(st->best, st->feat_ets, &n1)),
						  DatumGetTimestampTz(slot_getattr(st->best, st->feat_cat, &n2))))
			{
				ExecCopySlot(st->best, st->peek);
				st->best_valid = true;
			}
		}
		PitMergeNextFeature(st);
	}
}

/* PitMergeNextFeature moves the feature cursor on, leaving peek empty at the end */
static void
PitMergeNextFeature(PitScanState *st)
{
	if (!tuplesort_gettupleslot(st->feat_sort, true, false, st->peek, NULL))
		ExecClearTuple(st->peek);
}
