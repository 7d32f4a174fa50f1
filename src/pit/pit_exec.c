/*
 * pit_exec.c
 *		The PitJoin executor node: for each spine row, the feature row with the
 *		greatest (event_timestamp, created_at) at or before the spine
 *		timestamp, within the TTL, as_of and strict bounds
 *		(docs/pit-semantics.md).
 *
 * Two strategies:
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
 * "Availability" is event_timestamp, or greatest(event_timestamp, created_at)
 * in strict mode: a row is a candidate for a spine row exactly when it is
 * available at the spine timestamp, and the winner is the candidate greatest
 * in (event_timestamp, created_at).  The TTL only needs checking on the
 * winner, since every other candidate is older.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/parallel.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/memutils.h"
#include "utils/ruleutils.h"
#include "utils/timestamp.h"
#include "utils/tuplesort.h"
#include "utils/typcache.h"

#include "featstore.h"
#include "pit/pit.h"

/* Spine row in the hash strategy; keys follow the struct */
typedef struct PitSpineEntry
{
	MinimalTuple tup;			/* the spine row, in the arena */
	TimestampTz ts;
	uint32		hash;
	bool		never;			/* NULL key or ts: never matches */
	Datum		keys[FLEXIBLE_ARRAY_MEMBER];
} PitSpineEntry;

/*
 * What the feature stream needs at one spine position (in sorted order),
 * kept flat so that the binary search and the "is it better" test touch
 * the same cache line.
 */
typedef struct PitPos
{
	TimestampTz ts;
	TimestampTz best_ets;
	TimestampTz best_cat;
	MinimalTuple best;			/* best feature row filed here, then winner */
	uint32		best_cap;		/* bytes allocated at best, reused in place */
} PitPos;

/*
 * A slot of the key table: one run of spine entries sharing a key.  It is
 * self-contained (hash, first key, bounds), so a probe costs one cache miss
 * when the key is a plain integer-like value.
 */
typedef struct PitSlot
{
	Datum		key0;			/* first key column of the run */
	int64		start;
	int64		end;			/* 0: empty slot */
	uint32		hash;
} PitSlot;

/*
 * Shared state of a parallel-aware PitJoin, in the DSM segment.  Spine rows
 * are split by key hash into nparts partitions; each participant claims
 * partitions from next_part until none is left, and for each reads both
 * children in full, keeping only that partition's rows.  The counters sum
 * every participant's EXPLAIN ANALYZE figures.
 */
typedef struct PitShared
{
	pg_atomic_uint32 next_part;
	uint32		nparts;
	pg_atomic_uint64 n_matched;
	pg_atomic_uint64 n_nomatch;
	pg_atomic_uint64 n_expired;
	pg_atomic_uint32 spilled;	/* some participant's hash spilled to merge */
} PitShared;

typedef enum PitPhase
{
	PIT_LOAD = 0,
	PIT_EMIT_HASH,
	PIT_EMIT_MERGE,
	PIT_EMIT_PROBE,
	PIT_DONE
} PitPhase;

typedef struct PitScanState
{
	CustomScanState css;

	/* from the plan */
	PitStrategy strategy;
	bool		left;
	int			nkeys;
	int		   *spine_keys;
	int		   *feat_keys;
	Oid		   *colls;
	int			spine_ts;
	int			feat_ets;
	int			feat_cat;
	int			nmap;
	int		   *map_side;
	int		   *map_resno;
	Oid			ts_lt_opr;
	FmgrInfo   *cmpfn;
	FmgrInfo   *hashfn;
	Oid		   *sortops;
	ExprState  *ttl_state;
	ExprState  *asof_state;
	ExprState  *strict_state;

	/* options, evaluated when a scan starts */
	bool		has_ttl;
	Datum		ttl;
	bool		has_asof;
	TimestampTz as_of;
	bool		strict;

	/* run state; everything below lives in runcxt */
	MemoryContext runcxt;
	MemoryContext hashcxt;		/* the hash strategy's data, freed on spilling */
	PitPhase	phase;
	bool		spilled;		/* hash switched to merge this scan */
	bool		spine_done;		/* the spine child returned its last row */
	bool		ever_spilled;
	Size		mem_used;
	Size		mem_limit;

	/* hash */
	PitSpineEntry **entries;
	int64		nentries;
	int64		maxentries;
	PitPos	   *pos_sorted;		/* per entry, in entry order */
	int64		ngroups;
	PitSlot    *table;
	uint64		table_mask;
	bool		key_fast;		/* one key, equal iff the Datums are equal */
	int64		pos;
	char	   *arena;
	Size		arena_free;

	/* merge */
	Tuplesortstate *spine_sort;
	Tuplesortstate *feat_sort;
	TupleDesc	feat_sort_desc;
	TupleTableSlot *feat_sort_in;	/* virtual, to feed the feature sort */
	TupleTableSlot *peek;		/* next feature row, or empty at the end */
	TupleTableSlot *best;		/* best feature row so far for its key */
	bool		best_valid;

	/* slots shared by both */
	TupleTableSlot *spine_slot; /* minimal, spine child's descriptor */
	TupleTableSlot *feat_slot;	/* minimal, feature child's descriptor */

	/* probe */
	Relation	heap_rel;
	Relation	index_rel;
	IndexScanDesc index_scan;
	ScanKeyData *scankeys;		/* one per key, then event_timestamp <= ts */
	int		   *index_keys;		/* key number of each index column */
	ScanDirection probe_dir;

	/* EXPLAIN ANALYZE */
	int64		n_matched;
	int64		n_nomatch;
	int64		n_expired;

	/* parallel-aware node: NULL when running alone (no DSM) */
	PitShared  *pshared;
	int			planned_workers;	/* from the plan; 0: not parallel-aware */
	int			nparts;			/* partitions, once known */
	int			cur_part;		/* partition being joined, -1: none claimed */
	int			nclaimed;		/* partitions this participant joined */
	Datum	   *rowkeys;		/* PitRowMine's key buffer */
	int64		pub_matched;	/* counts already added to pshared */
	int64		pub_nomatch;
	int64		pub_expired;
} PitScanState;

#define PIT_ARENA_BLOCK (1024 * 1024)

/* rows looked up together, so their cache misses overlap */
#define PIT_BATCH 32

#if defined(__GNUC__) || defined(__clang__)
#define PitPrefetch(addr) __builtin_prefetch(addr)
#else
#define PitPrefetch(addr) ((void) 0)
#endif

static void PitBegin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *PitExec(CustomScanState *node);
static void PitEnd(CustomScanState *node);
static void PitReScan(CustomScanState *node);
static void PitExplain(CustomScanState *node, List *ancestors, ExplainState *es);
static Size PitEstimateDSM(CustomScanState *node, ParallelContext *pcxt);
static void PitInitializeDSM(CustomScanState *node, ParallelContext *pcxt,
							 void *coordinate);
static void PitReInitializeDSM(CustomScanState *node, ParallelContext *pcxt,
							   void *coordinate);
static void PitInitializeWorker(CustomScanState *node, shm_toc *toc,
								void *coordinate);
static void PitShutdown(CustomScanState *node);

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

static void PitEvalOptions(PitScanState *st);
static void PitLoad(PitScanState *st);
static bool PitHashLoadSpine(PitScanState *st);
static void PitHashBuildTable(PitScanState *st);
static bool PitHashFileFeatures(PitScanState *st);
static void PitHashSweep(PitScanState *st);
static void PitFileRow(PitScanState *st, PitPos *e, TupleTableSlot *slot);
static void PitFileImage(PitScanState *st, PitPos *e, MinimalTuple image);
static bool PitHashFileBatched(PitScanState *st);
static PitSlot *PitHashLookup(PitScanState *st, uint32 hash, const Datum *keys);
static void PitMergeLoad(PitScanState *st);
static void PitMergeNextFeature(PitScanState *st);
static void PitProbeBegin(PitScanState *st, EState *estate);
static TupleTableSlot *PitProbeNext(PitScanState *st);
static TupleTableSlot *PitEmit(PitScanState *st, TupleTableSlot *spine,
							   TupleTableSlot *feat, TimestampTz ts,
							   TimestampTz ets, bool nomatch);
static void *PitArenaAlloc(PitScanState *st, Size size);
static int	PitCompareEntries(const void *a, const void *b, void *arg);
static void PitSortFast(PitScanState *st);
static int	PitCompareSortItems(const void *a, const void *b);
static int	PitCompareKeys(PitScanState *st, const Datum *a, const Datum *b);
static int	PitCompareSlotKeys(PitScanState *st, TupleTableSlot *a, int *akeys,
							   TupleTableSlot *b, int *bkeys);
static bool PitFetchKeys(TupleTableSlot *slot, int nkeys, int *attrs,
						 Datum *values);
static uint32 PitHashKeys(PitScanState *st, const Datum *keys);
static inline bool PitBetter(TimestampTz ets, TimestampTz cat,
							 TimestampTz best_ets, TimestampTz best_cat);
static void PitResetRun(PitScanState *st);
static bool PitClaimPartition(PitScanState *st);
static void PitPublishCounts(PitScanState *st);
static bool PitRowMine(PitScanState *st, TupleTableSlot *slot, int *keyattrs,
					   int tsattr);
static inline bool PitHashMine(PitScanState *st, uint32 hash);

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
static int *
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
	List	   *colls = (List *) list_nth(priv, PIT_PRIV_KEY_COLLS);
	ListCell   *lc;
	int			i;
	TupleDesc	spine_desc;
	TupleDesc	feat_desc;

	/* backward scans and mark/restore are not offered; the planner knows */
	eflags &= ~(EXEC_FLAG_BACKWARD | EXEC_FLAG_MARK);

	foreach(lc, cscan->custom_plans)
		node->custom_ps = lappend(node->custom_ps,
								  ExecInitNode((Plan *) lfirst(lc), estate, eflags));

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

	spine_desc = ExecGetResultType((PlanState *) linitial(node->custom_ps));
	if (st->strategy == PIT_PROBE)
	{
		PitProbeBegin(st, estate);
		feat_desc = RelationGetDescr(st->heap_rel);
	}
	else
		feat_desc = ExecGetResultType((PlanState *) lsecond(node->custom_ps));

	st->colls = palloc0(sizeof(Oid) * Max(st->nkeys, 1));
	st->cmpfn = palloc0(sizeof(FmgrInfo) * Max(st->nkeys, 1));
	st->hashfn = palloc0(sizeof(FmgrInfo) * Max(st->nkeys, 1));
	st->sortops = palloc0(sizeof(Oid) * Max(st->nkeys, 1));
	i = 0;
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

	/*
	 * One key whose equality is Datum equality: compare and hash it inline.
	 * That holds only for a type passed by value.  int8 and the timestamps
	 * are by value only where USE_FLOAT8_BYVAL is defined (64-bit Datums);
	 * elsewhere their Datum is a pointer, and equal values in different
	 * places would compare unequal, so they take the comparator.
	 */
	if (st->nkeys == 1)
	{
		Oid			typid = TupleDescAttr(spine_desc, st->spine_keys[0] - 1)->atttypid;

		st->key_fast = (typid == INT4OID || typid == INT2OID ||
						typid == OIDOID || typid == DATEOID || typid == BOOLOID);
#ifdef USE_FLOAT8_BYVAL
		st->key_fast = st->key_fast ||
			typid == INT8OID || typid == TIMESTAMPOID || typid == TIMESTAMPTZOID;
#endif
	}

	st->ttl_state = ExecInitExpr((Expr *) list_nth(cscan->custom_exprs, PIT_EXPR_TTL),
								 &node->ss.ps);
	st->asof_state = ExecInitExpr((Expr *) list_nth(cscan->custom_exprs, PIT_EXPR_ASOF),
								  &node->ss.ps);
	st->strict_state = ExecInitExpr((Expr *) list_nth(cscan->custom_exprs, PIT_EXPR_STRICT),
									&node->ss.ps);

	st->spine_slot = ExecInitExtraTupleSlot(estate, spine_desc, &TTSOpsMinimalTuple);
	if (st->strategy == PIT_PROBE)
		st->feat_slot = ExecInitExtraTupleSlot(estate, feat_desc, table_slot_callbacks(st->heap_rel));
	else
		st->feat_slot = ExecInitExtraTupleSlot(estate, feat_desc, &TTSOpsMinimalTuple);

	/* feature sort rows: the child's columns plus the availability time */
	st->feat_sort_desc = CreateTemplateTupleDesc(feat_desc->natts + 1);
	for (i = 1; i <= feat_desc->natts; i++)
		TupleDescCopyEntry(st->feat_sort_desc, i, feat_desc, i);
	TupleDescInitEntry(st->feat_sort_desc, feat_desc->natts + 1, "pit_available",
					   TIMESTAMPTZOID, -1, 0);
	st->feat_sort_in = ExecInitExtraTupleSlot(estate, st->feat_sort_desc, &TTSOpsVirtual);
	st->peek = ExecInitExtraTupleSlot(estate, st->feat_sort_desc, &TTSOpsMinimalTuple);
	st->best = ExecInitExtraTupleSlot(estate, st->feat_sort_desc, &TTSOpsMinimalTuple);

	st->runcxt = AllocSetContextCreate(CurrentMemoryContext, "PitJoin run",
									   ALLOCSET_DEFAULT_SIZES);
	st->hashcxt = AllocSetContextCreate(CurrentMemoryContext, "PitJoin hash",
										ALLOCSET_DEFAULT_SIZES);
	st->mem_limit = (Size) work_mem * 1024;
	st->phase = PIT_LOAD;
	st->planned_workers = intVal(list_nth(priv, PIT_PRIV_PARALLEL));
	st->cur_part = -1;
	st->rowkeys = palloc0(sizeof(Datum) * Max(st->nkeys, 1));
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
				{
					PitSpineEntry *e;
					PitPos	   *p;

					if (st->pos >= st->nentries)
					{
						st->phase = PIT_DONE;
						continue;
					}
					p = &st->pos_sorted[st->pos];

					e = st->entries[st->pos++];
					ExecStoreMinimalTuple(e->tup, st->spine_slot, false);
					if (p->best != NULL)
						ExecStoreMinimalTuple(p->best, st->feat_slot, false);
					out = PitEmit(st, st->spine_slot,
								  p->best ? st->feat_slot : NULL,
								  e->ts, p->best_ets, e->never);
					break;
				}

			case PIT_EMIT_MERGE:
				{
					Datum		ts;
					bool		isnull;
					bool		never = false;

					if (!tuplesort_gettupleslot(st->spine_sort, true, false,
												st->spine_slot, NULL))
					{
						st->phase = PIT_DONE;
						continue;
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
					{
						out = PitEmit(st, st->spine_slot, NULL, 0, 0, true);
						break;
					}

					/* the best row belongs to an earlier key: forget it */
					if (st->best_valid &&
						PitCompareSlotKeys(st, st->best, st->feat_keys,
										   st->spine_slot, st->spine_keys) != 0)
						st->best_valid = false;

					/* take every feature row available at ts */
					while (!TupIsNull(st->peek))
					{
						int			c = PitCompareSlotKeys(st, st->peek, st->feat_keys,
														   st->spine_slot, st->spine_keys);
						bool		avnull;
						TimestampTz avail;

						if (c > 0)
							break;
						avail = DatumGetTimestampTz(slot_getattr(st->peek,
																 st->feat_sort_desc->natts,
																 &avnull));
						if (c == 0 && avail > DatumGetTimestampTz(ts))
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

					if (st->best_valid)
					{
						bool		n1;

						out = PitEmit(st, st->spine_slot, st->best, DatumGetTimestampTz(ts),
									  DatumGetTimestampTz(slot_getattr(st->best, st->feat_ets, &n1)),
									  false);
					}
					else
						out = PitEmit(st, st->spine_slot, NULL, DatumGetTimestampTz(ts), 0, false);
					break;
				}

			case PIT_EMIT_PROBE:
				out = PitProbeNext(st);
				if (out == NULL && st->phase == PIT_DONE)
					return NULL;
				break;

			case PIT_DONE:
				if (st->pshared != NULL && st->cur_part >= 0 && PitClaimPartition(st))
				{
					ListCell   *lc;

					/* the next partition: read both children again */
					PitResetRun(st);
					foreach(lc, st->css.custom_ps)
						ExecReScan((PlanState *) lfirst(lc));
					continue;
				}
				/* the shared state went away in the middle of a partition */
				if (st->pshared == NULL && st->cur_part >= 0)
					ereport(ERROR,
							(errcode(ERRCODE_INTERNAL_ERROR),
							 errmsg("featstore: parallel point-in-time join lost its shared state before finishing"),
							 errhint("Run the query again with featstore.pit_parallel = off.")));
				if (st->pshared != NULL)
					PitPublishCounts(st);
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
static TupleTableSlot *
PitEmit(PitScanState *st, TupleTableSlot *spine, TupleTableSlot *feat,
		TimestampTz ts, TimestampTz ets, bool never)
{
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;
	TupleTableSlot *scan = st->css.ss.ss_ScanTupleSlot;

	ResetExprContext(econtext);

	if (feat != NULL && !never && st->has_ttl)
	{
		Datum		bound;
		MemoryContext old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);

		/* the same arithmetic as "ts - ttl" in SQL, months and days included */
		bound = DirectFunctionCall2(timestamptz_mi_interval,
									TimestampTzGetDatum(ts), st->ttl);
		MemoryContextSwitchTo(old);
		if (ets < DatumGetTimestampTz(bound))
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
		else if (feat != NULL)
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
	st->spilled = false;
	if (st->strategy == PIT_PROBE)
	{
		st->phase = PIT_EMIT_PROBE;
		return;
	}
	if (st->strategy == PIT_HASH)
	{
		if (PitHashLoadSpine(st))
		{
			PitHashBuildTable(st);
			if (PitHashFileFeatures(st))
			{
				PitHashSweep(st);
				st->pos = 0;
				st->phase = PIT_EMIT_HASH;
				return;
			}
		}
		st->spilled = st->ever_spilled = true;
	}
	PitMergeLoad(st);
	st->phase = PIT_EMIT_MERGE;
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
 * PitHashLoadSpine reads the spine child into memory.  It returns false
 * when the spine outgrows work_mem; the rows read so far stay in entries
 * for the merge strategy to take over.
 */
static bool
PitHashLoadSpine(PitScanState *st)
{
	PlanState  *child = (PlanState *) linitial(st->css.custom_ps);
	Size		entry_size = offsetof(PitSpineEntry, keys) + sizeof(Datum) * st->nkeys;

	for (;;)
	{
		TupleTableSlot *slot = ExecProcNode(child);
		MinimalTuple mt;
		bool		shouldfree;
		PitSpineEntry *e;
		MemoryContext old;
		bool		isnull;

		if (TupIsNull(slot))
		{
			st->spine_done = true;
			break;
		}
		CHECK_FOR_INTERRUPTS();
		/* in a parallel join, another participant emits this row */
		if (st->pshared != NULL && !PitRowMine(st, slot, st->spine_keys, st->spine_ts))
			continue;

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
		e->ts = DatumGetTimestampTz(slot_getattr(st->spine_slot, st->spine_ts, &isnull));
		e->never = isnull ||
			!PitFetchKeys(st->spine_slot, st->nkeys, st->spine_keys, e->keys);
		e->hash = e->never ? 0 : PitHashKeys(st, e->keys);
		st->entries[st->nentries++] = e;

		if (st->mem_used > st->mem_limit)
			return false;
	}
	return true;
}

/* PitHashBuildTable sorts the spine and indexes its runs of equal keys */
static void
PitHashBuildTable(PitScanState *st)
{
	int64		nslots = 16;
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
	/* load factor at most 0.7: linear probing stays short */
	while (nslots * 7 < st->ngroups * 10)
		nslots *= 2;
	st->table = MemoryContextAllocHuge(st->hashcxt, sizeof(PitSlot) * nslots);
	memset(st->table, 0, sizeof(PitSlot) * nslots);
	st->table_mask = nslots - 1;
	st->pos_sorted = MemoryContextAllocHuge(st->hashcxt, sizeof(PitPos) * Max(st->nentries, 1));
	memset(st->pos_sorted, 0, sizeof(PitPos) * Max(st->nentries, 1));
	st->mem_used += sizeof(PitSlot) * nslots + sizeof(PitPos) * Max(st->nentries, 1);

	for (int64 i = 0; i < st->nentries; i++)
	{
		/* a cache miss per entry once sorted: seconds at scale */
		CHECK_FOR_INTERRUPTS();
		st->pos_sorted[i].ts = st->entries[i]->ts;
	}
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
		st->table[h].key0 = first->keys[0];
		st->table[h].start = i;
		st->table[h].end = j;
		st->table[h].hash = first->hash;
		i = j;
	}
}

/*
 * PitHashFileFeatures reads the feature child once and files each row at
 * the first spine position it is available for.  It returns false, with the
 * feature child rewound, when the filed rows outgrow work_mem.
 */
static bool
PitHashFileFeatures(PitScanState *st)
{
	PlanState  *child = (PlanState *) lsecond(st->css.custom_ps);
	Datum	   *keys;
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;

	if (st->key_fast)
		return PitHashFileBatched(st);

	keys = palloc(sizeof(Datum) * Max(st->nkeys, 1));
	for (;;)
	{
		TupleTableSlot *slot = ExecProcNode(child);
		bool		n1,
					n2;
		TimestampTz ets;
		TimestampTz cat;
		TimestampTz avail;
		uint32		hash;
		PitSlot    *grp = NULL;
		int64		lo,
					hi;
		PitPos	   *e;
		MemoryContext old;

		if (TupIsNull(slot))
			break;
		CHECK_FOR_INTERRUPTS();
		ResetExprContext(econtext);

		ets = DatumGetTimestampTz(slot_getattr(slot, st->feat_ets, &n1));
		cat = DatumGetTimestampTz(slot_getattr(slot, st->feat_cat, &n2));
		if (n1 || n2)
			continue;
		if (st->has_asof && cat > st->as_of)
			continue;
		if (!PitFetchKeys(slot, st->nkeys, st->feat_keys, keys))
			continue;
		avail = (st->strict && cat > ets) ? cat : ets;

		old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
		hash = PitHashKeys(st, keys);
		grp = (st->pshared == NULL || PitHashMine(st, hash)) ?
			PitHashLookup(st, hash, keys) : NULL;
		MemoryContextSwitchTo(old);
		if (grp == NULL)
			continue;

		/* first position with ts >= avail */
		lo = grp->start;
		hi = grp->end;
		while (lo < hi)
		{
			int64		mid = lo + (hi - lo) / 2;

			if (st->pos_sorted[mid].ts < avail)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= grp->end)
			continue;
		e = &st->pos_sorted[lo];
		if (e->best != NULL && !PitBetter(ets, cat, e->best_ets, e->best_cat))
			continue;

		PitFileRow(st, e, slot);
		e->best_ets = ets;
		e->best_cat = cat;

		if (st->mem_used > st->mem_limit)
		{
			ExecReScan(child);
			return false;
		}
	}
	pfree(keys);
	return true;
}

/* PitHashLookup finds the run of spine entries with the given key */
static PitSlot *
PitHashLookup(PitScanState *st, uint32 hash, const Datum *keys)
{
	for (uint64 h = hash & st->table_mask; st->table[h].end != 0; h = (h + 1) & st->table_mask)
	{
		PitSlot    *slotp = &st->table[h];

		if (slotp->hash != hash)
			continue;
		if (st->key_fast ? slotp->key0 == keys[0] :
			PitCompareKeys(st, st->entries[slotp->start]->keys, keys) == 0)
			return slotp;
	}
	return NULL;
}

/*
 * PitHashFileBatched is PitHashFileFeatures for one integer-like key, in
 * batches: at scale the key table and the positions do not fit in cache,
 * and every feature row costs two memory round trips.  Reading PIT_BATCH
 * rows (their tuples copied aside), then looking them all up, then filing
 * them all, with prefetches between the stages, overlaps those misses.
 */
static bool
PitHashFileBatched(PitScanState *st)
{
	PlanState  *child = (PlanState *) lsecond(st->css.custom_ps);
	struct
	{
		Datum		key;
		TimestampTz ets;
		TimestampTz cat;
		TimestampTz avail;
		uint32		hash;
		uint32		cap;
		PitSlot    *grp;
		MinimalTuple image;
	}			rows[PIT_BATCH];
	bool		done = false;

	memset(rows, 0, sizeof(rows));
	while (!done)
	{
		int			n = 0;

		/* stage 1: read, hash, prefetch the table slot */
		while (n < PIT_BATCH)
		{
			TupleTableSlot *slot = ExecProcNode(child);
			bool		n1,
						n2,
						n3;
			HeapTuple	ht;
			bool		shouldfree;
			uint32		len;

			if (TupIsNull(slot))
			{
				done = true;
				break;
			}
			CHECK_FOR_INTERRUPTS();
			rows[n].ets = DatumGetTimestampTz(slot_getattr(slot, st->feat_ets, &n1));
			rows[n].cat = DatumGetTimestampTz(slot_getattr(slot, st->feat_cat, &n2));
			rows[n].key = slot_getattr(slot, st->feat_keys[0], &n3);
			if (n1 || n2 || n3)
				continue;
			if (st->has_asof && rows[n].cat > st->as_of)
				continue;
			rows[n].avail = (st->strict && rows[n].cat > rows[n].ets) ? rows[n].cat : rows[n].ets;
			rows[n].hash = PitHashKeys(st, &rows[n].key);
			/* another partition's key: its spine rows are not here */
			if (st->pshared != NULL && !PitHashMine(st, rows[n].hash))
				continue;
			PitPrefetch(&st->table[rows[n].hash & st->table_mask]);

			ht = ExecFetchSlotHeapTuple(slot, false, &shouldfree);
			len = ht->t_len - MINIMAL_TUPLE_OFFSET;
			if (rows[n].cap < len)
			{
				if (rows[n].image != NULL)
					pfree(rows[n].image);
				rows[n].cap = MAXALIGN(len);
				rows[n].image = MemoryContextAlloc(st->runcxt, rows[n].cap);
			}
			memcpy(rows[n].image, (char *) ht->t_data + MINIMAL_TUPLE_OFFSET, len);
			rows[n].image->t_len = len;
			if (shouldfree)
				heap_freetuple(ht);
			n++;
		}

		/* stage 2: find each row's key run, prefetch its first position */
		for (int i = 0; i < n; i++)
		{
			rows[i].grp = PitHashLookup(st, rows[i].hash, &rows[i].key);
			if (rows[i].grp != NULL)
				PitPrefetch(&st->pos_sorted[rows[i].grp->start]);
		}

		/* stage 3: file each row at the first position it is available for */
		for (int i = 0; i < n; i++)
		{
			PitSlot    *grp = rows[i].grp;
			int64		lo,
						hi;
			PitPos	   *e;

			if (grp == NULL)
				continue;
			lo = grp->start;
			hi = grp->end;
			while (lo < hi)
			{
				int64		mid = lo + (hi - lo) / 2;

				if (st->pos_sorted[mid].ts < rows[i].avail)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo >= grp->end)
				continue;
			e = &st->pos_sorted[lo];
			if (e->best != NULL && !PitBetter(rows[i].ets, rows[i].cat, e->best_ets, e->best_cat))
				continue;
			PitFileImage(st, e, rows[i].image);
			e->best_ets = rows[i].ets;
			e->best_cat = rows[i].cat;
		}

		if (st->mem_used > st->mem_limit)
		{
			ExecReScan(child);
			return false;
		}
	}
	return true;
}

/* PitFileImage keeps a copy of a minimal tuple at a spine position */
static void
PitFileImage(PitScanState *st, PitPos *e, MinimalTuple image)
{
	if (e->best == NULL || e->best_cap < image->t_len)
	{
		e->best_cap = MAXALIGN(image->t_len);
		e->best = PitArenaAlloc(st, e->best_cap);
	}
	memcpy(e->best, image, image->t_len);
}

/*
 * PitFileRow keeps a copy of a feature row at a spine position, as a minimal
 * tuple.  Rows keep replacing each other at the same position while the
 * history streams by, so the space is reused in place when it is big enough:
 * no allocator round trip per row.
 */
static void
PitFileRow(PitScanState *st, PitPos *e, TupleTableSlot *slot)
{
	bool		shouldfree;
	HeapTuple	ht = ExecFetchSlotHeapTuple(slot, false, &shouldfree);
	uint32		len = ht->t_len - MINIMAL_TUPLE_OFFSET;

	/*
	 * Carved from the arena at its exact size: the allocator's power-of-two
	 * chunks would nearly double the memory.  A longer row (wider varlena)
	 * gets fresh space and the old one is abandoned until the scan ends,
	 * which the memory count includes.
	 */
	if (e->best == NULL || e->best_cap < len)
	{
		e->best_cap = MAXALIGN(len);
		e->best = PitArenaAlloc(st, e->best_cap);
	}
	memcpy(e->best, (char *) ht->t_data + MINIMAL_TUPLE_OFFSET, len);
	e->best->t_len = len;
	if (shouldfree)
		heap_freetuple(ht);
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

/*
 * PitMergeLoad sorts both sides, taking over any spine rows the hash
 * strategy already holds.
 */
static void
PitMergeLoad(PitScanState *st)
{
	PlanState  *spine_child = (PlanState *) linitial(st->css.custom_ps);
	PlanState  *feat_child = (PlanState *) lsecond(st->css.custom_ps);
	TupleDesc	spine_desc = ExecGetResultType(spine_child);
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
	int			navail = st->feat_sort_desc->natts;
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
	fattrs[st->nkeys] = navail;
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

	/* spine rows the hash strategy read before giving up */
	for (int64 i = 0; i < st->nentries; i++)
	{
		CHECK_FOR_INTERRUPTS();
		ExecStoreMinimalTuple(st->entries[i]->tup, st->spine_slot, false);
		tuplesort_puttupleslot(st->spine_sort, st->spine_slot);
	}
	ExecClearTuple(st->spine_slot);
	/* a finished child must not be asked again: a seqscan would restart */
	while (!st->spine_done)
	{
		TupleTableSlot *slot = ExecProcNode(spine_child);

		if (TupIsNull(slot))
		{
			st->spine_done = true;
			break;
		}
		CHECK_FOR_INTERRUPTS();
		if (st->pshared != NULL && !PitRowMine(st, slot, st->spine_keys, st->spine_ts))
			continue;
		tuplesort_puttupleslot(st->spine_sort, slot);
	}
	/* the hash strategy's memory goes back before the sorts fill theirs */
	MemoryContextReset(st->hashcxt);
	st->entries = NULL;
	st->nentries = st->maxentries = 0;
	st->arena = NULL;
	st->arena_free = 0;
	st->table = NULL;
	st->pos_sorted = NULL;
	st->mem_used = 0;

	for (;;)
	{
		TupleTableSlot *slot = ExecProcNode(feat_child);
		TupleTableSlot *in = st->feat_sort_in;
		bool		n1,
					n2,
					knull = false;
		TimestampTz ets;
		TimestampTz cat;

		if (TupIsNull(slot))
			break;
		CHECK_FOR_INTERRUPTS();
		ets = DatumGetTimestampTz(slot_getattr(slot, st->feat_ets, &n1));
		cat = DatumGetTimestampTz(slot_getattr(slot, st->feat_cat, &n2));
		if (n1 || n2)
			continue;
		if (st->has_asof && cat > st->as_of)
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
		in->tts_values[navail - 1] = TimestampTzGetDatum((st->strict && cat > ets) ? cat : ets);
		in->tts_isnull[navail - 1] = false;
		ExecStoreVirtualTuple(in);
		tuplesort_puttupleslot(st->feat_sort, in);
	}

	tuplesort_performsort(st->spine_sort);
	tuplesort_performsort(st->feat_sort);
	st->best_valid = false;
	ExecClearTuple(st->best);
	PitMergeNextFeature(st);
}

/* PitMergeNextFeature moves the feature cursor on, leaving peek empty at the end */
static void
PitMergeNextFeature(PitScanState *st)
{
	if (!tuplesort_gettupleslot(st->feat_sort, true, false, st->peek, NULL))
		ExecClearTuple(st->peek);
}

/*
 * PitProbeBegin opens the feature table and its btree on (keys...,
 * event_timestamp, created_at) for the probe strategy, and prepares the
 * scan keys: equality on each key, event_timestamp <= the spine ts.
 */
static void
PitProbeBegin(PitScanState *st, EState *estate)
{
	CustomScan *cscan = (CustomScan *) st->css.ss.ps.plan;
	List	   *priv = cscan->custom_private;
	int			rank = intVal(list_nth(priv, PIT_PRIV_FEAT_RELPOS));
	Oid			indexoid = (Oid) intVal(list_nth(priv, PIT_PRIV_INDEX));
	int			m = -1;
	Index		rti;
	RangeTblEntry *rte;
	Oid			ts_family;
	Oid			op;

	for (int i = 0; i <= rank; i++)
		m = bms_next_member(cscan->custom_relids, m);
	rti = (Index) m;
	rte = exec_rt_fetch(rti, estate);
	st->heap_rel = ExecGetRangeTableRelation(estate, rti);
	st->index_rel = index_open(indexoid, rte->rellockmode);
	st->index_keys = PitIntArray((List *) list_nth(priv, PIT_PRIV_INDEX_KEYS));
	/* the newest rows come first: backwards on an ascending index */
	st->probe_dir = intVal(list_nth(priv, PIT_PRIV_INDEX_DESC)) ?
		ForwardScanDirection : BackwardScanDirection;

	st->scankeys = palloc0(sizeof(ScanKeyData) * (st->nkeys + 1));
	for (int i = 0; i < st->nkeys; i++)
	{
		Oid			family = st->index_rel->rd_opfamily[i];
		Oid			typid = st->index_rel->rd_opcintype[i];

		op = get_opfamily_member(family, typid, typid, BTEqualStrategyNumber);
		if (!OidIsValid(op))
			elog(ERROR, "featstore: no btree equality for index column %d", i + 1);
		ScanKeyInit(&st->scankeys[i], i + 1, BTEqualStrategyNumber, get_opcode(op), (Datum) 0);
		st->scankeys[i].sk_collation = st->index_rel->rd_indcollation[i];
	}
	ts_family = st->index_rel->rd_opfamily[st->nkeys];
	op = get_opfamily_member(ts_family, TIMESTAMPTZOID, TIMESTAMPTZOID, BTLessEqualStrategyNumber);
	if (!OidIsValid(op))
		elog(ERROR, "featstore: no btree <= for timestamptz");
	ScanKeyInit(&st->scankeys[st->nkeys], st->nkeys + 1, BTLessEqualStrategyNumber,
				get_opcode(op), (Datum) 0);
}

/*
 * PitProbeNext reads one spine row and finds its winner with one backward
 * descent: the first row at or before ts that passes the as_of and strict
 * bounds is the greatest (event_timestamp, created_at) candidate.  It
 * returns NULL with phase PIT_DONE at the end, or NULL for a row the join
 * does not emit.
 */
static TupleTableSlot *
PitProbeNext(PitScanState *st)
{
	PlanState  *child = (PlanState *) linitial(st->css.custom_ps);
	TupleTableSlot *spine = ExecProcNode(child);
	Datum		ts;
	bool		isnull;
	bool		found = false;
	TimestampTz ets = 0;

	if (TupIsNull(spine))
	{
		st->phase = PIT_DONE;
		return NULL;
	}
	ts = slot_getattr(spine, st->spine_ts, &isnull);
	if (isnull)
		return PitEmit(st, spine, NULL, 0, 0, true);
	for (int i = 0; i < st->nkeys; i++)
	{
		bool		knull;

		st->scankeys[i].sk_argument =
			slot_getattr(spine, st->spine_keys[st->index_keys[i]], &knull);
		if (knull)
			return PitEmit(st, spine, NULL, 0, 0, true);
	}
	st->scankeys[st->nkeys].sk_argument = ts;

	if (st->index_scan == NULL)
		st->index_scan = index_beginscan(st->heap_rel, st->index_rel,
										 st->css.ss.ps.state->es_snapshot,
										 st->nkeys + 1, 0);
	index_rescan(st->index_scan, st->scankeys, st->nkeys + 1, NULL, 0);
	while (index_getnext_slot(st->index_scan, st->probe_dir, st->feat_slot))
	{
		bool		n1;
		TimestampTz cat;

		CHECK_FOR_INTERRUPTS();
		cat = DatumGetTimestampTz(slot_getattr(st->feat_slot, st->feat_cat, &n1));
		if (n1)
			continue;
		if (st->has_asof && cat > st->as_of)
			continue;
		if (st->strict && cat > DatumGetTimestampTz(ts))
			continue;
		ets = DatumGetTimestampTz(slot_getattr(st->feat_slot, st->feat_ets, &n1));
		found = !n1;
		if (found)
			break;
	}
	return PitEmit(st, spine, found ? st->feat_slot : NULL, DatumGetTimestampTz(ts), ets, false);
}

/* PitBetter orders feature rows by (event_timestamp, created_at) */
static inline bool
PitBetter(TimestampTz ets, TimestampTz cat, TimestampTz best_ets, TimestampTz best_cat)
{
	return ets > best_ets || (ets == best_ets && cat > best_cat);
}

/* PitFetchKeys reads the key columns of a row; false if any is NULL */
static bool
PitFetchKeys(TupleTableSlot *slot, int nkeys, int *attrs, Datum *values)
{
	for (int i = 0; i < nkeys; i++)
	{
		bool		isnull;

		values[i] = slot_getattr(slot, attrs[i], &isnull);
		if (isnull)
			return false;
	}
	return true;
}

/* PitHashKeys combines the hashes of the key columns */
static uint32
PitHashKeys(PitScanState *st, const Datum *keys)
{
	uint32		h = 0;

	/* integer-like keys: a multiplicative hash, no function call */
	if (st->key_fast)
		return (uint32) (((uint64) keys[0] * UINT64CONST(0x9E3779B97F4A7C15)) >> 32);

	for (int i = 0; i < st->nkeys; i++)
	{
		uint32		k = DatumGetUInt32(FunctionCall1Coll(&st->hashfn[i], st->colls[i], keys[i]));

		h = hash_combine(h, k);
	}
	return h;
}

/* PitCompareKeys orders two key vectors */
static int
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
static int
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

/* A spine entry's sort key, by value, for one integer-like key */
typedef struct PitSortItem
{
	uint32		never;
	uint32		hash;
	int64		key;
	TimestampTz ts;
	PitSpineEntry *entry;
} PitSortItem;

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

/* PitResetRun forgets the current scan's data */
static void
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
	MemoryContextReset(st->runcxt);
	MemoryContextReset(st->hashcxt);
	st->entries = NULL;
	st->nentries = st->maxentries = 0;
	st->pos_sorted = NULL;
	st->ngroups = 0;
	st->table = NULL;
	st->arena = NULL;
	st->arena_free = 0;
	st->mem_used = 0;
	st->pos = 0;
	st->spine_done = false;
	st->phase = PIT_LOAD;
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

/* PitExplain shows the strategy, keys and bounds, and the match counts */
static void
PitExplain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	PitScanState *st = (PitScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	List	   *ctx;
	ListCell   *lc;
	StringInfoData keys;
	Node	   *ttl = (Node *) list_nth(cscan->custom_exprs, PIT_EXPR_TTL);
	Node	   *asof = (Node *) list_nth(cscan->custom_exprs, PIT_EXPR_ASOF);
	Node	   *strict = (Node *) list_nth(cscan->custom_exprs, PIT_EXPR_STRICT);
	const char *strategy;

	ctx = set_deparse_context_plan(es->deparse_cxt, &cscan->scan.plan, ancestors);

	strategy = st->strategy == PIT_HASH ? "hash" :
		st->strategy == PIT_MERGE ? "merge" : "index probe";
	if (es->analyze && st->ever_spilled)
		strategy = "hash, spilled to merge";
	ExplainPropertyText("Strategy", strategy, es);
	ExplainPropertyText("Join Type", st->left ? "Left" : "Inner", es);
	if (st->strategy == PIT_PROBE)
		ExplainPropertyText("Index", RelationGetRelationName(st->index_rel), es);

	initStringInfo(&keys);
	for_each_from(lc, cscan->custom_exprs, PIT_EXPR_NFIXED)
	{
		if (keys.len > 0)
			appendStringInfoString(&keys, " AND ");
		appendStringInfoString(&keys, deparse_expression(lfirst(lc), ctx, true, false));
	}
	ExplainPropertyText("Keys", keys.len > 0 ? keys.data : "none", es);
	if (IsA(ttl, Const) && ((Const *) ttl)->constisnull)
		ExplainPropertyText("TTL", "none", es);
	else
		ExplainPropertyText("TTL", deparse_expression(ttl, ctx, true, false), es);
	if (!(IsA(asof, Const) && ((Const *) asof)->constisnull))
		ExplainPropertyText("As Of", deparse_expression(asof, ctx, true, false), es);
	if (!(IsA(strict, Const) && (((Const *) strict)->constisnull ||
								 !DatumGetBool(((Const *) strict)->constvalue))))
		ExplainPropertyText("Strict", deparse_expression(strict, ctx, true, false), es);

	if (st->planned_workers > 0)
	{
		char	   *par;
		const char *workers = st->planned_workers == 1 ? "worker" : "workers";

		if (es->analyze && st->nparts > 0)
			par = psprintf("%d key-hash partitions, %d %s planned",
						   st->nparts, st->planned_workers, workers);
		else if (es->analyze)
			par = psprintf("not run in parallel, %d %s planned",
						   st->planned_workers, workers);
		else
			par = psprintf("key-hash partitions, %d %s planned",
						   st->planned_workers, workers);
		ExplainPropertyText("Parallel", par, es);
	}
	if (es->analyze)
	{
		ExplainPropertyInteger("Matched", NULL, st->n_matched, es);
		ExplainPropertyInteger("No Match", NULL, st->n_nomatch, es);
		ExplainPropertyInteger("TTL Expired", NULL, st->n_expired, es);
	}
}

/* PitHashMine tells whether a key hash falls in the claimed partition */
static inline bool
PitHashMine(PitScanState *st, uint32 hash)
{
	/* remixed: the hash table indexes by the low bits of the same hash */
	uint32		part = (uint32) (((uint64) murmurhash32(hash) * (uint64) st->nparts) >> 32);

	return part == (uint32) st->cur_part;
}

/*
 * PitRowMine tells whether a row belongs to the claimed partition, by the
 * hash of its keys.  Spine rows (tsattr > 0) that can never match, a key or
 * the timestamp NULL, all go to partition 0, so that they are still emitted
 * exactly once; feature rows with a NULL key are nobody's.
 */
static bool
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
static bool
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

/* PitPublishCounts adds this participant's new counts to the shared sums */
static void
PitPublishCounts(PitScanState *st)
{
	pg_atomic_fetch_add_u64(&st->pshared->n_matched, st->n_matched - st->pub_matched);
	pg_atomic_fetch_add_u64(&st->pshared->n_nomatch, st->n_nomatch - st->pub_nomatch);
	pg_atomic_fetch_add_u64(&st->pshared->n_expired, st->n_expired - st->pub_expired);
	st->pub_matched = st->n_matched;
	st->pub_nomatch = st->n_nomatch;
	st->pub_expired = st->n_expired;
	if (st->ever_spilled)
		pg_atomic_write_u32(&st->pshared->spilled, 1);
}

/* PitEstimateDSM sizes the shared state of a parallel PitJoin */
static Size
PitEstimateDSM(CustomScanState *node, ParallelContext *pcxt)
{
	return MAXALIGN(sizeof(PitShared));
}

/*
 * PitInitializeDSM sets up the shared state in the leader: one partition
 * per planned worker, plus one for the leader when it takes part.  Fewer
 * participants than partitions only means some claim more than one.
 */
static void
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
	pg_atomic_init_u32(&sh->spilled, st->ever_spilled ? 1 : 0);
	st->pshared = sh;
	st->nparts = (int) sh->nparts;
	st->pub_matched = st->n_matched;
	st->pub_nomatch = st->n_nomatch;
	st->pub_expired = st->n_expired;
}

/*
 * PitReInitializeDSM makes the partitions claimable again before a rescan
 * under Gather runs the workers anew.  The counters keep summing, like the
 * node's own counts across loops.
 */
static void
PitReInitializeDSM(CustomScanState *node, ParallelContext *pcxt, void *coordinate)
{
	PitShared  *sh = (PitShared *) coordinate;

	pg_atomic_write_u32(&sh->next_part, 0);
}

/* PitInitializeWorker attaches a worker to the shared state */
static void
PitInitializeWorker(CustomScanState *node, shm_toc *toc, void *coordinate)
{
	PitScanState *st = (PitScanState *) node;

	st->pshared = (PitShared *) coordinate;
	st->nparts = (int) st->pshared->nparts;
}

/*
 * PitShutdown runs before the DSM segment goes away: a participant adds
 * its counts to the shared sums, and the leader then takes the sums, which
 * by now hold every finished worker's, for EXPLAIN ANALYZE.
 */
static void
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
		st->ever_spilled = pg_atomic_read_u32(&st->pshared->spilled) != 0;
	}
	st->pshared = NULL;
}
