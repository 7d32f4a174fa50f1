/*
 * pit_exec.h
 *		What the files of the PitJoin executor node share; private to src/pit/.
 *
 *	pit_exec.c			the node's callbacks, the dispatch between phases, the
 *						output row, the key functions and the spine reader
 *	pit_exec_hash.c		the hash strategy (spine in memory, history streamed)
 *	pit_exec_grace.c	the hash strategy's batches, when the spine outgrows
 *						work_mem (temporary files by key hash)
 *	pit_exec_merge.c	the merge strategy (both sides sorted)
 *	pit_exec_probe.c	the index-probe strategy (one descent per spine row)
 *	pit_exec_window.c	the window strategy (a source group's aggregates)
 *	pit_parallel.c		the parallel-aware node: partitions, DSM, shared counts
 *	pit_explain.c		EXPLAIN
 *
 * Which row wins is not decided here but in pit_rule.h.
 */
#ifndef FEATSTORE_PIT_EXEC_H
#define FEATSTORE_PIT_EXEC_H

#include "postgres.h"

#include "access/genam.h"
#include "access/parallel.h"
#include "commands/explain.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "port/atomics.h"
#include "storage/buffile.h"
#include "storage/dsm.h"
#include "utils/tuplesort.h"

#include "featstore.h"
#include "pit/pit.h"
#include "pit/pit_rule.h"


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
 * What filing a history row needs at one spine position (in sorted order):
 * 32 bytes, two to a cache line.  The positions' ts are a separate dense
 * array (pos_ts), so that the binary search over a key's run touches few
 * cache lines.
 */
typedef struct PitPos
{
	TimestampTz best_ets;
	TimestampTz best_cat;
	MinimalTuple best;			/* best feature row filed here, then winner */
	uint32		best_cap;		/* bytes allocated at best, reused in place */
	int32		part;			/* its key-hash partition, under a split read */
} PitPos;

/*
 * A slot of the key table: one run of spine entries sharing a key.  16
 * bytes, four to a cache line, so that the table of a million keys stays
 * in the last-level cache as far as it can.  For a plain integer-like key
 * (key_fast) the slot holds the key itself, and a probe costs one cache
 * miss; otherwise it holds the key's hash, and the keys are compared in
 * the run's first entry.  A spine of more entries than a uint32 counts is
 * never held in memory (PitHashLoadSpine).
 */
typedef struct PitSlot
{
	Datum		key0;			/* key_fast: the key; otherwise its hash */
	uint32		start;
	uint32		end;			/* 0: empty slot */
} PitSlot;

/* The most spine entries the hash strategy holds: PitSlot's bounds */
#define PIT_MAX_ENTRIES ((int64) PG_UINT32_MAX - 1)

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
	pg_atomic_uint32 batches;	/* the most batches a participant's hash used */
	pg_atomic_uint64 n_written;	/* rows batched hash joins wrote out */
	pg_atomic_uint32 split;		/* some participant read the history split */
	pg_atomic_uint64 n_sent;	/* candidates exchanged by split reads */
	dsm_handle	seg;			/* the segment, for workers to attach files */
	bool		has_share;		/* a PitShare follows (a window join, or a
								 * hash join whose history may be split) */
} PitShared;

/* The shared read of a window join's source (pit_share.c), after PitShared */
#define PitSharedShare(sh) \
	((struct PitShare *) ((char *) (sh) + MAXALIGN(sizeof(PitShared))))

/*
 * Run-time pruning of a range-partitioned history (pit_prune.c): the bounds
 * of each subplan of the history's Append, and the spine's ts bounds
 */
typedef struct PitPrune
{
	int			nplans;
	bool	   *ranged;			/* a range partition on the event time column */
	TimestampTz *lo;			/* its bounds, [lo, hi) */
	TimestampTz *hi;
	bool		have_spine;		/* a spine row with a ts was read */
	TimestampTz min_ts;
	TimestampTz max_ts;
	bool		applied;		/* EXPLAIN ANALYZE: the last scan's choice */
	int			nread;
	int			pruned;
} PitPrune;

/*
 * A hash join in batches (pit_exec_grace.c): nbatch batches by key hash,
 * each with a temporary file of its spine rows and one of its history rows.
 * The current batch's rows are held in memory while live; other rows, and
 * every row once the batch went back to its files, are written out.
 */
typedef struct PitGrace
{
	int			nbatch;			/* a power of two */
	int			cur;			/* the batch being joined */
	bool		live;			/* the current batch's rows are held, not written */
	bool		reading;		/* history rows come from src, not the child */
	bool		growth_off;		/* doubling stopped dividing the batch */
	BufFile   **spine;			/* per batch, NULL while it has no rows */
	BufFile   **hist;
	int64	   *spine_rows;		/* rows in each spine file */
	int		   *hist_nbatch;	/* nbatch when each history file was begun */
	BufFile    *src;			/* the file being read, taken out of its batch */
	int64		src_rows;		/* its rows, when a spine file */

	/*
	 * The written rows' filter: per bucket of key hashes, the latest spine
	 * ts, in whole seconds rounded up (PIT_GRACE_EMPTY: no spine row).  A
	 * history row available after it is no candidate of any spine row and
	 * is not written.
	 */
	int32	   *fmax;
	uint32		fmask;
	Size		base_limit;		/* work_mem, before the filter took its share */
} PitGrace;

#define PIT_GRACE_EMPTY PG_INT32_MIN

/* what a batch is filled to, of work_mem, when nbatch is chosen (and costed) */
#define PIT_GRACE_FILL 0.7

typedef enum PitPhase
{
	PIT_LOAD = 0,
	PIT_EMIT_HASH,
	PIT_EMIT_MERGE,
	PIT_EMIT_PROBE,
	PIT_EMIT_WINDOW,
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
	bool		spine_done;		/* the spine child returned its last row */
	Size		mem_used;
	Size		mem_limit;

	/* hash */
	PitSpineEntry **entries;
	int64		nentries;
	int64		maxentries;
	PitPos	   *pos_sorted;		/* per entry, in entry order */
	TimestampTz *pos_ts;		/* per entry, its spine ts */
	int64		ngroups;
	PitSlot    *table;
	uint64		table_mask;
	bool		key_fast;		/* one key, equal iff the Datums are equal */
	int64		pos;
	char	   *arena;
	Size		arena_free;

	/* batches, when the spine outgrows work_mem; NULL: all in memory */
	PitGrace   *grace;
	int			ever_batches;	/* EXPLAIN ANALYZE: the most batches used */
	int64		n_written;		/* rows written to batch files, summed */
	int64		pub_written;

	/*
	 * The split read of a parallel hash join (pit_exec_hash.c): the whole
	 * spine is held, the history is read in shares of blocks, and the best
	 * rows of other partitions' positions are exchanged.
	 */
	bool		split_planned;	/* the plan chose the split read */
	bool		split;			/* this run holds every partition's spine rows */
	bool		ever_split;
	int64		split_sent;		/* candidates this participant sent */
	int64		pub_split_sent;
	Size		row_max;		/* a history row's largest size, when split */
	struct PitSplitIO *split_io;	/* its tuplestore accessors (pit_share.c) */

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

	/* PII: per scan-tlist entry, returned as NULL; NULL when nothing is */
	bool	   *masked;

	/* window: pit_exec_window.c's state */
	struct PitWindow *win;

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

	/* run-time pruning of a partitioned history; NULL: none (pit_prune.c) */
	PitPrune   *prune;
} PitScanState;

#define PIT_ARENA_BLOCK (1024 * 1024)

/* rows looked up together, so their cache misses overlap */
#define PIT_BATCH 32


/* pit_exec.c */
extern int *PitIntArray(List *list);
extern bool PitKeyTypeInline(Oid typid);
extern TupleTableSlot *PitEmit(PitScanState *st, TupleTableSlot *spine,
							   TupleTableSlot *feat, TimestampTz ts,
							   TimestampTz ets, bool never);
extern TupleTableSlot *PitNextSpineRow(PitScanState *st);
extern int	PitCompareKeys(PitScanState *st, const Datum *a, const Datum *b);
extern int	PitCompareSlotKeys(PitScanState *st, TupleTableSlot *a, int *akeys,
							   TupleTableSlot *b, int *bkeys);
extern void PitResetRun(PitScanState *st);

/* pit_pii.c */
extern void PitPiiBegin(PitScanState *st, CustomScan *cscan, int eflags);

/* pit_exec_hash.c */
extern void PitHashLoad(PitScanState *st);
extern void PitHashRelease(PitScanState *st);
extern TupleTableSlot *PitHashNext(PitScanState *st);
extern bool PitSplitUsable(PitScanState *st);
extern void PitSplitNextPartition(PitScanState *st);

/* pit_exec_grace.c */
extern void PitGraceOverflow(PitScanState *st);
extern bool PitGraceRoute(PitScanState *st, uint32 hash, const char *data,
						  uint32 len, bool spine);
extern void PitGraceOpen(PitScanState *st, bool spine);
extern MinimalTuple PitGraceRead(PitScanState *st, uint32 *hash, MinimalTuple *buf,
								 uint32 *cap);
extern bool PitGraceNext(PitScanState *st);
extern void PitGraceNoteSpine(PitScanState *st, uint32 hash, TimestampTz ts);
extern void PitGraceEnd(PitScanState *st);

/*
 * PitGraceWanted says whether a history row available at avail can be a
 * candidate of some spine row of its key hash, by the filter: false only
 * when every spine row of the hash's bucket comes before it (whole seconds,
 * rounded so that the filter never drops a candidate).
 */
static inline bool
PitGraceWanted(PitGrace *g, uint32 hash, TimestampTz avail)
{
	int64		sec;

	sec = avail / USECS_PER_SEC - (avail % USECS_PER_SEC < 0 ? 1 : 0);
	sec = Max(Min(sec, (int64) PG_INT32_MAX), (int64) PIT_GRACE_EMPTY + 1);
	return sec <= g->fmax[hash & g->fmask];
}

/* PitGraceLive says whether the current batch's rows are held in memory */
static inline bool
PitGraceLive(PitScanState *st)
{
	return st->grace == NULL || st->grace->live;
}

/* PitGraceReading says whether history rows come from a batch file */
static inline bool
PitGraceReading(PitScanState *st)
{
	return st->grace != NULL && st->grace->reading;
}

/*
 * PitHashOverLimit says whether the hash strategy's memory must go back to
 * batch files: past work_mem, unless doubling the batches stopped helping
 * (then the batch is joined over it, as PostgreSQL's hash join does), or
 * past what PitSlot's bounds can count.
 */
static inline bool
PitHashOverLimit(PitScanState *st)
{
	if (st->nentries >= PIT_MAX_ENTRIES)
		return true;
	return st->mem_used > st->mem_limit &&
		(st->grace == NULL || !st->grace->growth_off);
}

/* pit_exec_merge.c */
extern void PitMergeLoad(PitScanState *st);
extern TupleTableSlot *PitMergeNext(PitScanState *st);

/* pit_exec_probe.c */
extern void PitProbeBegin(PitScanState *st, EState *estate);
extern TupleTableSlot *PitProbeNext(PitScanState *st);

/* pit_exec_window.c */
extern TupleDesc PitWindowBegin(PitScanState *st, EState *estate);
extern void PitWindowLoad(PitScanState *st);
extern TupleTableSlot *PitWindowNext(PitScanState *st);
extern void PitWindowRelease(PitScanState *st);
extern void PitWindowExplain(PitScanState *st, ExplainState *es);

/* pit_share.c: the shared read of a parallel window join's source */
typedef struct PitShareStats
{
	bool		used;			/* the partition's events came this way */
	uint64		chunks;			/* chunks this participant read */
	uint64		sent;			/* rows it wrote for other partitions */
	uint64		received;		/* rows others wrote for its partition */
} PitShareStats;

extern Size PitShareEstimate(ParallelContext *pcxt);
extern void PitShareInitialize(PitShared *sh, ParallelContext *pcxt);
extern void PitShareAttachWorker(PitShared *sh);
extern void PitShareDisable(PitShared *sh);
extern bool PitShareLoad(PitScanState *st, DestReceiver *store,
						 const char *chunk_sql, Oid relid, TimestampTz as_of,
						 PitShareStats *stats);
extern bool PitShareSplitUsable(PitScanState *st);
extern bool PitShareSplitJoin(PitScanState *st, Oid relid);
extern bool PitShareNextBlocks(PitScanState *st, BlockNumber *first,
							   BlockNumber *nblocks);
extern void PitShareSend(PitScanState *st, int part, MinimalTuple tup);
extern void PitShareSplitArrive(PitScanState *st);
extern void PitShareInOpen(PitScanState *st, int part);
extern MinimalTuple PitShareInNext(PitScanState *st);
extern void PitShareInClose(PitScanState *st);

/* pit_parallel.c */
extern bool PitRowMine(PitScanState *st, TupleTableSlot *slot, int *keyattrs,
					   int tsattr);
extern bool PitClaimPartition(PitScanState *st);
extern bool PitNextPartition(PitScanState *st);
extern void PitPublishCounts(PitScanState *st);
extern Size PitEstimateDSM(CustomScanState *node, ParallelContext *pcxt);
extern void PitInitializeDSM(CustomScanState *node, ParallelContext *pcxt,
							 void *coordinate);
extern void PitReInitializeDSM(CustomScanState *node, ParallelContext *pcxt,
							   void *coordinate);
extern void PitInitializeWorker(CustomScanState *node, shm_toc *toc,
								void *coordinate);
extern void PitShutdown(CustomScanState *node);

/* pit_prune.c */
extern void PitPruneBegin(PitScanState *st, EState *estate);
extern void PitPruneNoteSpine(PitScanState *st, TimestampTz ts);
extern bool PitPruneApply(PitScanState *st);
extern void PitPruneReset(PitScanState *st);
extern void PitPruneExplain(PitScanState *st, ExplainState *es);

/* pit_explain.c */
extern void PitExplain(CustomScanState *node, List *ancestors, ExplainState *es);

/*
 * The per-row helpers the strategies share, inline: they run once per
 * history row.
 */

/* PitFetchKeys reads the key columns of a row; false if any is NULL */
static inline bool
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
static inline uint32
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

/* PitHashPart is the partition a key hash falls in */
static inline int
PitHashPart(PitScanState *st, uint32 hash)
{
	/* remixed: the hash table indexes by the low bits of the same hash */
	return (int) (((uint64) murmurhash32(hash) * (uint64) st->nparts) >> 32);
}

/* PitHashMine tells whether a key hash falls in the claimed partition */
static inline bool
PitHashMine(PitScanState *st, uint32 hash)
{
	return PitHashPart(st, hash) == st->cur_part;
}

/*
 * PitRowsFixedWidth says whether rows of a descriptor have a bounded size,
 * as the split read needs (pit_exec_hash.c): no variable-length column,
 * dropped ones included, since old rows still carry their bytes.
 */
static inline bool
PitRowsFixedWidth(TupleDesc desc)
{
	for (int i = 0; i < desc->natts; i++)
		if (TupleDescAttr(desc, i)->attlen < 0)
			return false;
	return true;
}

/*
 * PitFeatureTimes reads a history row's event_timestamp and created_at.  It
 * returns false for a row that is no candidate for any spine row: a NULL
 * timestamp, or written after as_of (PitWrittenBy).
 */
static inline bool
PitFeatureTimes(PitScanState *st, TupleTableSlot *slot, TimestampTz *ets,
				TimestampTz *cat)
{
	bool		n1,
				n2;

	*ets = DatumGetTimestampTz(slot_getattr(slot, st->feat_ets, &n1));
	*cat = DatumGetTimestampTz(slot_getattr(slot, st->feat_cat, &n2));
	return !n1 && !n2 && PitWrittenBy(st->has_asof, st->as_of, *cat);
}

#endif							/* FEATSTORE_PIT_EXEC_H */
