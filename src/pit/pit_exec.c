/*
 * pit_exec.c
 *		The PitJoin executor node: for each spine row, the feature row with the
 *		greatest (event_timestamp, created_at) at or before the spine
 *		timestamp, within the TTL, as_of and strict bounds
 *		(docs/pit-semantics.md; the rule itself is pit_rule.h).
 *
 * This file holds the node's callbacks and the dispatch between its phases:
 * PIT_LOAD reads the children for the planned strategy, then an emit phase
 * hands out one joined row per spine row, through PitEmit.  The strategies
 * are in pit_exec_hash.c, pit_exec_merge.c and pit_exec_probe.c; the
 * parallel-aware node's partitions in pit_parallel.c; EXPLAIN in
 * pit_explain.c.
 *
 * Three strategies:
 *
 * hash	 The spine is held in memory, sorted by (key hash, key, ts), with an
 *		 open-addressing table from key to its run of spine rows.  The feature
 *		 child is read once, in its own order (a sequential scan: the cheapest
 *		 thing PostgreSQL does).  Each feature row is filed at the first spine
 *		 position of its key whose ts is at or after the row's availability
 *		 time, keeping the best row per position.  A per-key prefix-max sweep
 *		 then gives every spine row its winner.  If the spine or the filed rows
 *		 outgrow work_mem, the node switches to merge, which spills.
 *
 * merge Both sides go through a tuplesort (spilling like any sort): the
 *		 spine by (key, ts), the features by (key, availability, event_timestamp,
 *		 created_at).  One pass then carries the best row so far per key.
 *
 * probe One backward descent of a (keys, event_timestamp, created_at) btree
 *		 per spine row.
 *
 * "Availability" is event_timestamp, or greatest(event_timestamp, created_at)
 * in strict mode (PitAvailable): a row is a candidate for a spine row exactly
 * when it is available at the spine timestamp, and the winner is the
 * candidate greatest in (event_timestamp, created_at).  The TTL only needs
 * checking on the winner, since every other candidate is older.
 */
#include "postgres.h"

#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "featstore.h"
#include "pit/pit_exec.h"

static void PitBegin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *PitExec(CustomScanState *node);
static void PitEnd(CustomScanState *node);
static void PitReScan(CustomScanState *node);

static CustomExecMethods pit_exec_methods = {
	.CustomName = PIT_NODE_NAME,
	.BeginCustomScan = PitBegin,
	.ExecCustomScan = PitExec,
	.EndCustomScan = PitEnd,
	.ReScanCustomScan = PitReScan,
	.EstimateDSMCustomScan = PitEstimateDSM,
	.InitializeDSMCustomScan = PitInitializeDSM,
	.ReInitializeDSMCustomScan = PitReInitializeDSM,
	.InitializeWorkerCustomScan = PitInitializeWorker,
	.ShutdownCustomScan = PitShutdown,
	.ExplainCustomScan = PitExplain,
};

static void PitReadPlan(PitScanState *st, CustomScan *cscan);
static void PitInitKeyFunctions(PitScanState *st, TupleDesc spine_desc, List *colls);
static void PitInitSlots(PitScanState *st, EState *estate, TupleDesc spine_desc,
						 TupleDesc feat_desc);
static void PitEvalOptions(PitScanState *st);
static void PitLoad(PitScanState *st);

/* PitCreateScanState makes the executor state for a PitJoin plan */
Node *
PitCreateScanState(CustomScan *cscan)
{
	PitScanState *st = (PitScanState *) newNode(sizeof(PitScanState),
												T_CustomScanState);

	st->css.methods = &pit_exec_methods;
	return (Node *) st;
}

/* PitIntArray copies an IntList into an array */
int *
PitIntArray(List *list)
{
	int		   *arr = palloc0(sizeof(int) * Max(list_length(list), 1));
	int			i = 0;
	ListCell   *lc;

	foreach(lc, list)
		arr[i++] = lfirst_int(lc);
	return arr;
}

/* PitBegin initialises the children, the key functions and the slots */
static void
PitBegin(CustomScanState *node, EState *estate, int eflags)
{
	PitScanState *st = (PitScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	List	   *priv = cscan->custom_private;
	ListCell   *lc;
	TupleDesc	spine_desc;
	TupleDesc	feat_desc;

	/* backward scans and mark/restore are not offered; the planner knows */
	eflags &= ~(EXEC_FLAG_BACKWARD | EXEC_FLAG_MARK);

	foreach(lc, cscan->custom_plans)
		node->custom_ps = lappend(node->custom_ps,
								  ExecInitNode((Plan *) lfirst(lc), estate, eflags));

	PitReadPlan(st, cscan);
	PitPiiBegin(st, cscan, eflags);
	spine_desc = ExecGetResultType((PlanState *) linitial(node->custom_ps));
	if (st->strategy == PIT_PROBE)
	{
		PitProbeBegin(st, estate);
		feat_desc = RelationGetDescr(st->heap_rel);
	}
	else if (st->strategy == PIT_WINDOW)
		feat_desc = PitWindowBegin(st, estate);
	else
	{
		feat_desc = ExecGetResultType((PlanState *) lsecond(node->custom_ps));
		PitPruneBegin(st, estate);
	}
	PitInitKeyFunctions(st, spine_desc, (List *) list_nth(priv, PIT_PRIV_KEY_COLLS));

	st->ttl_state = ExecInitExpr((Expr *) list_nth(cscan->custom_exprs, PIT_EXPR_TTL),
								 &node->ss.ps);
	st->asof_state = ExecInitExpr((Expr *) list_nth(cscan->custom_exprs, PIT_EXPR_ASOF),
								  &node->ss.ps);
	st->strict_state = ExecInitExpr((Expr *) list_nth(cscan->custom_exprs, PIT_EXPR_STRICT),
									&node->ss.ps);
	PitInitSlots(st, estate, spine_desc, feat_desc);

	st->runcxt = AllocSetContextCreate(CurrentMemoryContext, "PitJoin run",
									   ALLOCSET_DEFAULT_SIZES);
	st->hashcxt = AllocSetContextCreate(CurrentMemoryContext, "PitJoin hash",
										ALLOCSET_DEFAULT_SIZES);
	st->mem_limit = (Size) work_mem * 1024;
	st->phase = PIT_LOAD;
	st->planned_workers = intVal(list_nth(priv, PIT_PRIV_PARALLEL));
	st->split_planned = intVal(list_nth(priv, PIT_PRIV_SPLIT)) != 0;
	st->cur_part = -1;
	st->rowkeys = palloc0(sizeof(Datum) * Max(st->nkeys, 1));
}

/* PitReadPlan copies the plan's column numbers out of custom_private */
static void
PitReadPlan(PitScanState *st, CustomScan *cscan)
{
	List	   *priv = cscan->custom_private;

	st->strategy = (PitStrategy) intVal(list_nth(priv, PIT_PRIV_STRATEGY));
	st->left = intVal(list_nth(priv, PIT_PRIV_LEFT)) != 0;
	st->nkeys = list_length((List *) list_nth(priv, PIT_PRIV_SPINE_KEYS));
	st->spine_keys = PitIntArray((List *) list_nth(priv, PIT_PRIV_SPINE_KEYS));
	st->feat_keys = PitIntArray((List *) list_nth(priv, PIT_PRIV_FEAT_KEYS));
	st->spine_ts = intVal(list_nth(priv, PIT_PRIV_SPINE_TS));
	st->feat_ets = intVal(list_nth(priv, PIT_PRIV_FEAT_ETS));
	st->feat_cat = intVal(list_nth(priv, PIT_PRIV_FEAT_CAT));
	st->nmap = list_length((List *) list_nth(priv, PIT_PRIV_MAP_SIDE));
	st->map_side = PitIntArray((List *) list_nth(priv, PIT_PRIV_MAP_SIDE));
	st->map_resno = PitIntArray((List *) list_nth(priv, PIT_PRIV_MAP_RESNO));
	st->ts_lt_opr = lookup_type_cache(TIMESTAMPTZOID, TYPECACHE_LT_OPR)->lt_opr;
}

/*
 * PitInitKeyFunctions looks up each key type's comparison, hash and sort
 * operator, and decides whether the key can be compared and hashed inline.
 */
static void
PitInitKeyFunctions(PitScanState *st, TupleDesc spine_desc, List *colls)
{
	ListCell   *lc;
	int			i = 0;

	st->colls = palloc0(sizeof(Oid) * Max(st->nkeys, 1));
	st->cmpfn = palloc0(sizeof(FmgrInfo) * Max(st->nkeys, 1));
	st->hashfn = palloc0(sizeof(FmgrInfo) * Max(st->nkeys, 1));
	st->sortops = palloc0(sizeof(Oid) * Max(st->nkeys, 1));
	foreach(lc, colls)
	{
		Oid			typid = TupleDescAttr(spine_desc, st->spine_keys[i] - 1)->atttypid;
		TypeCacheEntry *tce = lookup_type_cache(typid,
												TYPECACHE_LT_OPR |
												TYPECACHE_CMP_PROC_FINFO |
												TYPECACHE_HASH_PROC_FINFO);

		if (!OidIsValid(tce->cmp_proc_finfo.fn_oid) ||
			!OidIsValid(tce->hash_proc_finfo.fn_oid) || !OidIsValid(tce->lt_opr))
			elog(ERROR, "featstore: no ordering or hashing for key type %s",
				 format_type_be(typid));
		st->colls[i] = lfirst_oid(lc);
		fmgr_info_copy(&st->cmpfn[i], &tce->cmp_proc_finfo, CurrentMemoryContext);
		fmgr_info_copy(&st->hashfn[i], &tce->hash_proc_finfo, CurrentMemoryContext);
		st->sortops[i] = tce->lt_opr;
		i++;
	}

	/* one key whose equality is Datum equality: compare and hash it inline */
	if (st->nkeys == 1)
		st->key_fast = PitKeyTypeInline(TupleDescAttr(spine_desc, st->spine_keys[0] - 1)->atttypid);
}

/*
 * PitKeyTypeInline says whether a key of this type is compared and hashed
 * as its Datum.  That holds only for a type passed by value.  int8 and the
 * timestamps are by value only where USE_FLOAT8_BYVAL is defined (64-bit
 * Datums); elsewhere their Datum is a pointer, and equal values in
 * different places would compare unequal, so they take the comparator.
 */
bool
PitKeyTypeInline(Oid typid)
{
#ifdef USE_FLOAT8_BYVAL
	if (typid == INT8OID || typid == TIMESTAMPOID || typid == TIMESTAMPTZOID)
		return true;
#endif
	return typid == INT4OID || typid == INT2OID || typid == OIDOID ||
		typid == DATEOID || typid == BOOLOID;
}

/*
 * PitInitSlots makes the slots the strategies read into: the spine's, the
 * feature side's (the table's own for the probe), and the merge strategy's,
 * whose rows are the feature child's columns plus the availability time.
 */
static void
PitInitSlots(PitScanState *st, EState *estate, TupleDesc spine_desc,
			 TupleDesc feat_desc)
{
	st->spine_slot = ExecInitExtraTupleSlot(estate, spine_desc, &TTSOpsMinimalTuple);
	if (st->strategy == PIT_PROBE)
		st->feat_slot = ExecInitExtraTupleSlot(estate, feat_desc, table_slot_callbacks(st->heap_rel));
	else
		st->feat_slot = ExecInitExtraTupleSlot(estate, feat_desc, &TTSOpsMinimalTuple);

	st->feat_sort_desc = CreateTemplateTupleDesc(feat_desc->natts + 1);
	for (int i = 1; i <= feat_desc->natts; i++)
		TupleDescCopyEntry(st->feat_sort_desc, i, feat_desc, i);
	TupleDescInitEntry(st->feat_sort_desc, feat_desc->natts + 1, "pit_available",
					   TIMESTAMPTZOID, -1, 0);
	st->feat_sort_in = ExecInitExtraTupleSlot(estate, st->feat_sort_desc, &TTSOpsVirtual);
	st->peek = ExecInitExtraTupleSlot(estate, st->feat_sort_desc, &TTSOpsMinimalTuple);
	st->best = ExecInitExtraTupleSlot(estate, st->feat_sort_desc, &TTSOpsMinimalTuple);
}

/* PitExec returns the next joined row */
static TupleTableSlot *
PitExec(CustomScanState *node)
{
	PitScanState *st = (PitScanState *) node;

	for (;;)
	{
		TupleTableSlot *out = NULL;

		CHECK_FOR_INTERRUPTS();

		switch (st->phase)
		{
			case PIT_LOAD:
				/* a parallel participant joins one claimed partition at a time */
				if (st->pshared != NULL && st->cur_part < 0 && !PitClaimPartition(st))
				{
					st->phase = PIT_DONE;
					continue;
				}
				PitLoad(st);
				continue;

			case PIT_EMIT_HASH:
				out = PitHashNext(st);
				break;

			case PIT_EMIT_MERGE:
				out = PitMergeNext(st);
				break;

			case PIT_EMIT_PROBE:
				out = PitProbeNext(st);
				if (out == NULL && st->phase == PIT_DONE)
					return NULL;
				break;

			case PIT_EMIT_WINDOW:
				out = PitWindowNext(st);
				break;

			case PIT_DONE:
				if (PitNextPartition(st))
					continue;
				return NULL;
		}
		if (out != NULL)
			return out;
	}
}

/*
 * PitEmit forms the output row for one spine row and its winner (feat NULL
 * when there is none), applying the TTL, the join type and the quals.  It
 * returns NULL when the row is not emitted.
 */
TupleTableSlot *
PitEmit(PitScanState *st, TupleTableSlot *spine, TupleTableSlot *feat,
		TimestampTz ts, TimestampTz ets, bool never)
{
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;
	TupleTableSlot *scan = st->css.ss.ss_ScanTupleSlot;

	ResetExprContext(econtext);

	if (feat != NULL && !never && st->has_ttl)
	{
		TimestampTz bound;
		MemoryContext old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);

		bound = PitTtlBound(ts, st->ttl);
		MemoryContextSwitchTo(old);
		if (!PitWithinTtl(ets, bound))
		{
			feat = NULL;
			st->n_expired++;
		}
		else
			st->n_matched++;
	}
	else if (feat != NULL && !never)
		st->n_matched++;
	else
	{
		feat = NULL;
		st->n_nomatch++;
	}

	if (feat == NULL && !st->left)
		return NULL;

	ExecClearTuple(scan);
	for (int i = 0; i < st->nmap; i++)
	{
		if (st->map_side[i] == 0)
			scan->tts_values[i] = slot_getattr(spine, st->map_resno[i],
											   &scan->tts_isnull[i]);
		else if (feat != NULL && (st->masked == NULL || !st->masked[i]))
			scan->tts_values[i] = slot_getattr(feat, st->map_resno[i],
											   &scan->tts_isnull[i]);
		else
		{
			scan->tts_values[i] = (Datum) 0;
			scan->tts_isnull[i] = true;
		}
	}
	ExecStoreVirtualTuple(scan);

	econtext->ecxt_scantuple = scan;
	if (st->css.ss.ps.qual != NULL && !ExecQual(st->css.ss.ps.qual, econtext))
		return NULL;
	if (st->css.ss.ps.ps_ProjInfo != NULL)
		return ExecProject(st->css.ss.ps.ps_ProjInfo);
	return scan;
}

/* PitEvalOptions evaluates TTL, as_of and strict for this scan */
static void
PitEvalOptions(PitScanState *st)
{
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;
	bool		isnull;
	Datum		d;

	ResetExprContext(econtext);
	d = ExecEvalExprSwitchContext(st->ttl_state, econtext, &isnull);
	st->has_ttl = !isnull;
	if (!isnull)
	{
		MemoryContext old = MemoryContextSwitchTo(st->runcxt);

		st->ttl = datumCopy(d, false, sizeof(Interval));
		MemoryContextSwitchTo(old);
	}
	d = ExecEvalExprSwitchContext(st->asof_state, econtext, &isnull);
	st->has_asof = !isnull;
	st->as_of = isnull ? 0 : DatumGetTimestampTz(d);
	d = ExecEvalExprSwitchContext(st->strict_state, econtext, &isnull);
	st->strict = !isnull && DatumGetBool(d);
}

/* PitLoad reads both children and prepares the emit phase */
static void
PitLoad(PitScanState *st)
{
	PitEvalOptions(st);
	if (st->strategy == PIT_WINDOW)
	{
		PitWindowLoad(st);
		st->phase = PIT_EMIT_WINDOW;
		return;
	}
	if (st->strategy == PIT_PROBE)
	{
		st->phase = PIT_EMIT_PROBE;
		return;
	}
	if (st->strategy == PIT_HASH)
	{
		PitHashLoad(st);
		st->phase = PIT_EMIT_HASH;
		return;
	}
	PitMergeLoad(st);
	st->phase = PIT_EMIT_MERGE;
}

/*
 * PitNextSpineRow returns the next spine row this participant joins, or
 * NULL at the end of the spine child (spine_done then says so: a finished
 * child must not be asked again, a seqscan would restart).  In a parallel
 * join, rows of other participants' partitions are skipped.
 */
TupleTableSlot *
PitNextSpineRow(PitScanState *st)
{
	PlanState  *child = (PlanState *) linitial(st->css.custom_ps);

	for (;;)
	{
		TupleTableSlot *slot = ExecProcNode(child);

		if (TupIsNull(slot))
		{
			st->spine_done = true;
			return NULL;
		}
		CHECK_FOR_INTERRUPTS();
		if (st->pshared == NULL || st->split ||
			PitRowMine(st, slot, st->spine_keys, st->spine_ts))
		{
			if (st->prune != NULL)
			{
				bool		isnull;
				Datum		ts = slot_getattr(slot, st->spine_ts, &isnull);

				if (!isnull)
					PitPruneNoteSpine(st, DatumGetTimestampTz(ts));
			}
			return slot;
		}
	}
}

/* PitCompareKeys orders two key vectors */
int
PitCompareKeys(PitScanState *st, const Datum *a, const Datum *b)
{
	for (int i = 0; i < st->nkeys; i++)
	{
		int32		c = DatumGetInt32(FunctionCall2Coll(&st->cmpfn[i], st->colls[i], a[i], b[i]));

		if (c != 0)
			return c;
	}
	return 0;
}

/* PitCompareSlotKeys orders the keys of two rows, neither with NULL keys */
int
PitCompareSlotKeys(PitScanState *st, TupleTableSlot *a, int *akeys,
				   TupleTableSlot *b, int *bkeys)
{
	for (int i = 0; i < st->nkeys; i++)
	{
		bool		n1,
					n2;
		Datum		x = slot_getattr(a, akeys[i], &n1);
		Datum		y = slot_getattr(b, bkeys[i], &n2);
		int32		c = DatumGetInt32(FunctionCall2Coll(&st->cmpfn[i], st->colls[i], x, y));

		if (c != 0)
			return c;
	}
	return 0;
}

/* PitResetRun forgets the current scan's data */
void
PitResetRun(PitScanState *st)
{
	if (st->spine_sort)
		tuplesort_end(st->spine_sort);
	if (st->feat_sort)
		tuplesort_end(st->feat_sort);
	st->spine_sort = st->feat_sort = NULL;
	ExecClearTuple(st->spine_slot);
	ExecClearTuple(st->feat_slot);
	ExecClearTuple(st->peek);
	ExecClearTuple(st->best);
	st->best_valid = false;
	PitWindowRelease(st);
	/* the batch files first: their buffers are in runcxt */
	PitGraceEnd(st);
	MemoryContextReset(st->runcxt);
	st->split_io = NULL;
	st->split = false;
	st->row_max = 0;
	PitHashRelease(st);
	st->ngroups = 0;
	st->pos = 0;
	st->spine_done = false;
	st->phase = PIT_LOAD;
	PitPruneReset(st);
}

/* PitEnd releases the children and the run state */
static void
PitEnd(CustomScanState *node)
{
	PitScanState *st = (PitScanState *) node;
	ListCell   *lc;

	PitResetRun(st);
	if (st->index_scan != NULL)
		index_endscan(st->index_scan);
	if (st->index_rel != NULL)
		index_close(st->index_rel, NoLock);
	foreach(lc, node->custom_ps)
		ExecEndNode((PlanState *) lfirst(lc));
}

/* PitReScan restarts the join, passing changed parameters to the children */
static void
PitReScan(CustomScanState *node)
{
	PitScanState *st = (PitScanState *) node;
	ListCell   *lc;

	PitResetRun(st);
	/* a new scan claims partitions afresh (the DSM counter is reset too) */
	st->cur_part = -1;
	foreach(lc, node->custom_ps)
	{
		PlanState  *child = (PlanState *) lfirst(lc);

		if (node->ss.ps.chgParam != NULL)
			UpdateChangedParamSet(child, node->ss.ps.chgParam);
		/* with changed parameters the child rescans itself on next fetch */
		if (child->chgParam == NULL)
			ExecReScan(child);
	}
}
