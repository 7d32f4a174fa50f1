/*
 * online_scan.c
 *		The ordered walk of a group's history that rematerializes it.
 *
 * A whole-group rematerialization (materialize(), SET ONLINE, a changed TTL,
 * a restarted Redis) is one "scan" row of the online queue, not a list of
 * entities.  The worker walks the group's point-in-time index backwards, in
 * chunks: entity keys descending and, within an entity, (event_timestamp,
 * created_at) descending, so that an entity's first rows are its future-dated
 * ones, then its winner.  Its older rows are never needed: after a few of
 * them the scan is restarted just below the entity, one index descent, so
 * long histories cost per entity rather than per row.
 *
 * The walk reads the heap and index directly, without SQL: the bulk rate of
 * materialization is bounded by the work per entity, and planning, SPI's
 * tuple copies and text conversions were most of it.  The position between
 * chunks is the last entity handled, kept in the queue row, so an
 * interrupted walk resumes there.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "online/online.h"
#include "pit/pit.h"

/*
 * Rows of an entity read past its winner before the scan jumps below it:
 * reading a row costs a few times less than a fresh index descent.
 */
#define SCAN_SKIP_AFTER_ROWS 4

/* Entities visited per chunk, at most this many times the chunk's limit */
#define SCAN_VISIT_FACTOR 4

/* What the walk needs of the table and its index, and where it is */
typedef struct WalkState
{
	const OnlineGroup *group;
	Relation	heap;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	bool		bounded;		/* scan was begun with the bound's key */
	int			nkeys;
	AttrNumber *key_attnums;
	AttrNumber	ets_attnum;
	AttrNumber	cat_attnum;
	AttrNumber *feature_attnums;
	FmgrInfo  **cmp;			/* btree comparison of each key column */
	Oid		   *collations;
	FmgrInfo   *out;			/* key output functions */
	ScanKeyData *members;		/* row comparison of compound keys */
	ScanKeyData skey;			/* keys < the bound */
	MemoryContext boundcxt;		/* scan key arguments: as long as the scan */
	MemoryContext entitycxt;	/* cur's keys, reset per entity */
	MemoryContext rowcxt;		/* what emit is handed, reset per entity */

	/* the entity being read */
	Datum	   *cur;
	bool		have_cur;
	bool		cur_done;		/* its outcome is handed over (or not wanted) */
	int			rows_past;		/* rows of it read since */
	OnlineWinner w;
	Datum	   *values;			/* the winner's features */
	bool	   *nulls;

	/* the chunk */
	TimestampTz since;
	TimestampTz now;
	OnlineEmitFn emit;
	void	   *arg;
	int			visited;
	int			emitted;
} WalkState;

static bool IndexServesWalk(Relation index, const OnlineGroup *group,
							AttrNumber *key_attnums, AttrNumber ets_attnum,
							AttrNumber cat_attnum);
static void ScanBegin(WalkState *st, const OnlineGroup *group, Oid indexoid,
					  char **resume_after);
static void ScanEnd(WalkState *st);
static bool ScanRow(WalkState *st, int limit);
static void ScanStartEntity(WalkState *st, TimestampTz ets);
static void ScanSkipEntity(WalkState *st);
static void CopyKeys(WalkState *st, MemoryContext cxt, Datum *dst,
					 const Datum *values, bool row);
static void RestartBelow(WalkState *st, Datum *bound);
static bool SameEntity(WalkState *st, Datum *a, Datum *b);
static void FinishEntity(WalkState *st);

/* AttnumOrError finds a column of the group's table by name */
static AttrNumber
AttnumOrError(const OnlineGroup *group, const char *column)
{
	AttrNumber	attnum = get_attnum(group->relid, column);

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of feature group \"%s\" is missing from %s",
						column, group->name, group->qualified_table)));
	return attnum;
}

/*
 * OnlineScanIndex returns the btree index the walk can use on the group's
 * table: the point-in-time index featstore created, or any index with the
 * same columns in the same default order.  InvalidOid if there is none
 * (someone dropped it, or the table is partitioned); the caller then falls
 * back to listing entities.
 */
Oid
OnlineScanIndex(const OnlineGroup *group)
{
	Relation	heap = table_open(group->relid, AccessShareLock);
	AttrNumber *key_attnums = palloc(sizeof(AttrNumber) * group->nkeys);
	AttrNumber	ets_attnum = AttnumOrError(group, FS_EVENT_TS_COLUMN);
	AttrNumber	cat_attnum = AttnumOrError(group, FS_CREATED_AT_COLUMN);
	List	   *indexes;
	ListCell   *lc;
	Oid			found = InvalidOid;

	/*
	 * A partitioned history (issue 14) has no index of its own to walk, only
	 * one per partition: its entities are listed instead.
	 */
	if (heap->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		table_close(heap, NoLock);
		return InvalidOid;
	}
	for (int i = 0; i < group->nkeys; i++)
		key_attnums[i] = AttnumOrError(group, group->key_names[i]);
	indexes = RelationGetIndexList(heap);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		bool		ok = IndexServesWalk(index, group, key_attnums, ets_attnum, cat_attnum);

		index_close(index, NoLock);
		if (ok)
		{
			found = lfirst_oid(lc);
			break;
		}
	}
	table_close(heap, NoLock);
	return found;
}

/*
 * IndexServesWalk says whether an index orders the table exactly as the walk
 * needs: one that serves the point-in-time rule (PitIndexFit), with the
 * keys in the group's order, ascending, each with its type's default
 * operator class and the column's collation, since the walk compares whole
 * entries in index order.
 */
static bool
IndexServesWalk(Relation index, const OnlineGroup *group, AttrNumber *key_attnums,
				AttrNumber ets_attnum, AttrNumber cat_attnum)
{
	Oid		   *types = palloc(sizeof(Oid) * Max(group->nkeys, 1));
	Oid		   *colls = palloc(sizeof(Oid) * Max(group->nkeys, 1));
	PitIndexShape shape;

	for (int i = 0; i < group->nkeys; i++)
	{
		int32		typmod;

		get_atttypetypmodcoll(group->relid, key_attnums[i], &types[i], &typmod, &colls[i]);
	}
	PitIndexFit(index, group->nkeys, key_attnums, types, colls, ets_attnum, cat_attnum,
				&shape);
	pfree(types);
	pfree(colls);
	return shape.serves && shape.keys_in_order && shape.default_options &&
		shape.exact_types;
}

/*
 * OnlineScanChunk walks one chunk of a group's history: the entities below
 * resume_after (key values as text; NULL to start from the top) in
 * descending key order, at most limit of them handed to emit (and at most
 * SCAN_VISIT_FACTOR times as many looked at).  An entity is handed over if
 * its latest row is at or after since; emit gets its winner at now (the
 * point-in-time rule at now, docs/pit-semantics.md "Online equals
 * offline"), and the earliest row dated after now.  *last_keys gets the key
 * values of the last entity dealt with (NULL if none).  Returns true when
 * the walk reached the end.
 */
bool
OnlineScanChunk(const OnlineGroup *group, Oid indexoid, char **resume_after,
				TimestampTz since, TimestampTz now, int limit,
				OnlineEmitFn emit, void *arg, char ***last_keys, int *emitted)
{
	WalkState	st;
	bool		at_end = false;

	memset(&st, 0, sizeof(st));
	st.since = since;
	st.now = now;
	st.emit = emit;
	st.arg = arg;
	ScanBegin(&st, group, indexoid, resume_after);
	*last_keys = NULL;
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (!index_getnext_slot(st.scan, BackwardScanDirection, st.slot))
		{
			at_end = true;
			break;
		}
		if (!ScanRow(&st, limit))
			break;
	}

	if (at_end)
	{
		/* the end of the table completes the entity being read */
		if (st.have_cur && !st.cur_done)
			FinishEntity(&st);
	}
	else
	{
		char	  **keys = palloc(sizeof(char *) * st.nkeys);

		for (int i = 0; i < st.nkeys; i++)
			keys[i] = OutputFunctionCall(&st.out[i], st.cur[i]);
		*last_keys = keys;
	}
	*emitted = st.emitted;
	ScanEnd(&st);
	return at_end;
}

/*
 * ScanBegin opens the table and the index, looks up the columns and the key
 * functions, and starts the backward scan: from the top, or just below the
 * entity resume_after.
 */
static void
ScanBegin(WalkState *st, const OnlineGroup *group, Oid indexoid, char **resume_after)
{
	int			nf = Max(group->nfeatures, 1);

	st->group = group;
	st->nkeys = group->nkeys;
	st->heap = table_open(group->relid, AccessShareLock);
	st->index = index_open(indexoid, AccessShareLock);
	st->key_attnums = palloc(sizeof(AttrNumber) * st->nkeys);
	st->cmp = palloc(sizeof(FmgrInfo *) * st->nkeys);
	st->collations = palloc(sizeof(Oid) * st->nkeys);
	st->out = palloc(sizeof(FmgrInfo) * st->nkeys);
	st->members = palloc0(sizeof(ScanKeyData) * st->nkeys);
	for (int i = 0; i < st->nkeys; i++)
	{
		Oid			outfn;
		bool		varlena;

		st->key_attnums[i] = AttnumOrError(group, group->key_names[i]);
		st->cmp[i] = index_getprocinfo(st->index, i + 1, BTORDER_PROC);
		st->collations[i] = st->index->rd_indcollation[i];
		getTypeOutputInfo(group->key_types[i], &outfn, &varlena);
		fmgr_info(outfn, &st->out[i]);
	}
	st->ets_attnum = AttnumOrError(group, FS_EVENT_TS_COLUMN);
	st->cat_attnum = AttnumOrError(group, FS_CREATED_AT_COLUMN);
	st->feature_attnums = palloc(sizeof(AttrNumber) * nf);
	for (int f = 0; f < group->nfeatures; f++)
		st->feature_attnums[f] = AttnumOrError(group, group->feature_names[f]);
	st->values = palloc(sizeof(Datum) * nf);
	st->nulls = palloc(sizeof(bool) * nf);
	st->cur = palloc(sizeof(Datum) * Max(st->nkeys, 1));

	/* scan key arguments must live as long as the scan: never reset */
	st->boundcxt = AllocSetContextCreate(CurrentMemoryContext, "featstore scan bounds",
										 ALLOCSET_DEFAULT_SIZES);
	st->entitycxt = AllocSetContextCreate(CurrentMemoryContext, "featstore scan entity",
										  ALLOCSET_DEFAULT_SIZES);
	st->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "featstore scan emit",
									   ALLOCSET_DEFAULT_SIZES);
	st->slot = table_slot_create(st->heap, NULL);
	if (resume_after != NULL)
	{
		Datum	   *bound = MemoryContextAlloc(st->boundcxt, sizeof(Datum) * st->nkeys);
		MemoryContext oldcxt = MemoryContextSwitchTo(st->boundcxt);

		for (int i = 0; i < st->nkeys; i++)
		{
			Oid			infn;
			Oid			ioparam;

			getTypeInputInfo(group->key_types[i], &infn, &ioparam);
			bound[i] = OidInputFunctionCall(infn, resume_after[i], ioparam, -1);
		}
		MemoryContextSwitchTo(oldcxt);
		RestartBelow(st, bound);
	}
	else
	{
		st->scan = index_beginscan(st->heap, st->index, GetActiveSnapshot(), 0, 0);
		index_rescan(st->scan, NULL, 0, NULL, 0);
	}
}

/* ScanEnd closes what ScanBegin opened */
static void
ScanEnd(WalkState *st)
{
	index_endscan(st->scan);
	ExecDropSingleTupleTableSlot(st->slot);
	index_close(st->index, NoLock);
	table_close(st->heap, NoLock);
	MemoryContextDelete(st->boundcxt);
	MemoryContextDelete(st->entitycxt);
	MemoryContextDelete(st->rowcxt);
}

/*
 * ScanRow deals with the row in st->slot.  Rows come in index order, keys
 * descending and within an entity best first (the index order is
 * PitBetter's), so an entity's first candidate at now is its winner.  It
 * returns false when the chunk is full: the entity in cur is then the
 * resume point.
 */
static bool
ScanRow(WalkState *st, int limit)
{
	TupleTableSlot *slot = st->slot;
	TimestampTz ets;
	TimestampTz cat;

	slot_getallattrs(slot);
	ets = DatumGetTimestampTz(slot->tts_values[st->ets_attnum - 1]);
	cat = DatumGetTimestampTz(slot->tts_values[st->cat_attnum - 1]);
	if (!st->have_cur || !SameEntity(st, st->cur, slot->tts_values))
	{
		/* the previous entity is complete: only older rows were left */
		if (st->have_cur && !st->cur_done)
			FinishEntity(st);
		/* stop between entities; the previous one is the resume point */
		if (st->have_cur &&
			(st->emitted >= limit || st->visited >= limit * SCAN_VISIT_FACTOR))
			return false;
		ScanStartEntity(st, ets);
	}

	if (st->cur_done)
	{
		/* the winner is known: jump over the rest of this entity */
		if (++st->rows_past > SCAN_SKIP_AFTER_ROWS)
			ScanSkipEntity(st);
		return true;
	}

	/* online, the rule is never strict and has no as_of */
	if (!PitCandidateAt(false, ets, cat, st->now))
	{
		/* rows come newest first: the last future one seen is the earliest */
		st->w.has_future = true;
		st->w.next_future = ets;
		return true;
	}

	/* the best candidate at now: the winner, if the TTL allows */
	if (PitWithinTtl(ets, PitTtlBoundUsecs(st->now, st->group->ttl_usecs)))
	{
		st->w.found = true;
		st->w.event_ts = ets;
		st->w.created_at = cat;
		for (int f = 0; f < st->group->nfeatures; f++)
		{
			st->values[f] = slot->tts_values[st->feature_attnums[f] - 1];
			st->nulls[f] = slot->tts_isnull[st->feature_attnums[f] - 1];
		}
		st->w.values = st->values;
		st->w.nulls = st->nulls;
	}
	FinishEntity(st);
	return st->emitted < limit;
}

/*
 * ScanStartEntity makes the slot's row the first of a new current entity.
 * The first row is the latest: it says whether since selects the entity.
 */
static void
ScanStartEntity(WalkState *st, TimestampTz ets)
{
	MemoryContextReset(st->entitycxt);
	CopyKeys(st, st->entitycxt, st->cur, st->slot->tts_values, true);
	st->have_cur = true;
	st->visited++;
	st->rows_past = 0;
	memset(&st->w, 0, sizeof(st->w));
	st->cur_done = ets < st->since;
}

/* ScanSkipEntity restarts the scan just below the current entity */
static void
ScanSkipEntity(WalkState *st)
{
	Datum	   *bound = MemoryContextAlloc(st->boundcxt, sizeof(Datum) * st->nkeys);

	CopyKeys(st, st->boundcxt, bound, st->cur, false);
	RestartBelow(st, bound);
	st->rows_past = 0;
}

/*
 * CopyKeys copies key values into dst, in cxt: from a row's values (row)
 * or from an array of key values.
 */
static void
CopyKeys(WalkState *st, MemoryContext cxt, Datum *dst, const Datum *values, bool row)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);

	for (int i = 0; i < st->nkeys; i++)
	{
		Form_pg_attribute att = TupleDescAttr(st->slot->tts_tupleDescriptor,
											  st->key_attnums[i] - 1);

		dst[i] = datumCopy(row ? values[st->key_attnums[i] - 1] : values[i],
						   att->attbyval, att->attlen);
	}
	MemoryContextSwitchTo(oldcxt);
}

/*
 * RestartBelow repositions the backward scan at the last index entry whose
 * keys are below bound: a plain key for one key column, a row comparison
 * (k1, k2, ...) < (...) for compound keys.
 */
static void
RestartBelow(WalkState *st, Datum *bound)
{
	Relation	index = st->index;

	if (st->nkeys == 1)
	{
		Oid			opno = get_opfamily_member(index->rd_opfamily[0], index->rd_opcintype[0],
											   index->rd_opcintype[0], BTLessStrategyNumber);

		if (!OidIsValid(opno))
			elog(ERROR, "missing operator < for the key of index \"%s\"",
				 RelationGetRelationName(index));
		ScanKeyEntryInitialize(&st->skey, 0, 1, BTLessStrategyNumber,
							   index->rd_opcintype[0], st->collations[0],
							   get_opcode(opno), bound[0]);
	}
	else
	{
		for (int i = 0; i < st->nkeys; i++)
			ScanKeyEntryInitializeWithInfo(&st->members[i],
										   SK_ROW_MEMBER | (i == st->nkeys - 1 ? SK_ROW_END : 0),
										   i + 1, BTLessStrategyNumber,
										   index->rd_opcintype[i], st->collations[i],
										   st->cmp[i], bound[i]);
		/* the header carries no function; ScanKeyEntryInitialize insists on one */
		memset(&st->skey, 0, sizeof(st->skey));
		st->skey.sk_flags = SK_ROW_HEADER;
		st->skey.sk_attno = 1;
		st->skey.sk_strategy = BTLessStrategyNumber;
		st->skey.sk_argument = PointerGetDatum(st->members);
	}
	/* a scan's number of keys is fixed when it begins */
	if (!st->bounded)
	{
		if (st->scan != NULL)
			index_endscan(st->scan);
		st->scan = index_beginscan(st->heap, index, GetActiveSnapshot(), 1, 0);
		st->bounded = true;
	}
	index_rescan(st->scan, &st->skey, 1, NULL, 0);
}

/* SameEntity compares the entity keys held in a with a row's values */
static bool
SameEntity(WalkState *st, Datum *a, Datum *rowvalues)
{
	for (int i = st->nkeys - 1; i >= 0; i--)
	{
		Datum		b = rowvalues[st->key_attnums[i] - 1];

		if (DatumGetInt32(FunctionCall2Coll(st->cmp[i], st->collations[i], a[i], b)) != 0)
			return false;
	}
	return true;
}

/*
 * FinishEntity hands the current entity's outcome to the caller; the
 * entity is then done.
 */
static void
FinishEntity(WalkState *st)
{
	char	   *texts[INDEX_MAX_KEYS];
	MemoryContext oldcxt;

	MemoryContextReset(st->rowcxt);
	oldcxt = MemoryContextSwitchTo(st->rowcxt);
	for (int i = 0; i < st->nkeys; i++)
		texts[i] = OutputFunctionCall(&st->out[i], st->cur[i]);
	st->w.key_values = texts;
	st->w.force = true;
	st->emit(st->arg, &st->w);
	MemoryContextSwitchTo(oldcxt);
	st->emitted++;
	st->cur_done = true;
}
