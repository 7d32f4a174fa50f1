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

/*
 * Rows of an entity read past its winner before the scan jumps below it:
 * reading a row costs a few times less than a fresh index descent.
 */
#define SCAN_SKIP_AFTER_ROWS 4

/* Entities visited per chunk, at most this many times the chunk's limit */
#define SCAN_VISIT_FACTOR 4

/* What the walk needs of the table and its index */
typedef struct ScanState
{
	Relation	heap;
	Relation	index;
	IndexScanDesc scan;
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
	MemoryContext rowcxt;		/* what emit is handed, reset per entity */
} ScanState;

static bool IndexServesWalk(Relation index, const OnlineGroup *group,
							AttrNumber *key_attnums, AttrNumber ets_attnum,
							AttrNumber cat_attnum);
static void RestartBelow(ScanState *st, Datum *bound);
static bool SameEntity(ScanState *st, Datum *a, Datum *b);
static void FinishEntity(ScanState *st, OnlineWinner *w, Datum *keys,
						 OnlineEmitFn emit, void *arg);

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
 * (someone dropped it); the caller then falls back to listing entities.
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
 * needs: btree, valid, no predicate, leading columns the keys then
 * event_timestamp and created_at, ascending with each type's default
 * operator class and the column's collation.
 */
static bool
IndexServesWalk(Relation index, const OnlineGroup *group, AttrNumber *key_attnums,
				AttrNumber ets_attnum, AttrNumber cat_attnum)
{
	Form_pg_index form = index->rd_index;
	int			ncols = group->nkeys + 2;

	if (index->rd_rel->relam != BTREE_AM_OID || !form->indisvalid ||
		IndexRelationGetNumberOfKeyAttributes(index) < ncols ||
		RelationGetIndexPredicate(index) != NIL)
		return false;
	for (int i = 0; i < ncols; i++)
	{
		AttrNumber	want = i < group->nkeys ? key_attnums[i] :
			(i == group->nkeys ? ets_attnum : cat_attnum);
		Oid			typid;
		int32		typmod;
		Oid			collation;
		Oid			opclass;

		if (form->indkey.values[i] != want || index->rd_indoption[i] != 0)
			return false;
		get_atttypetypmodcoll(group->relid, want, &typid, &typmod, &collation);
		opclass = GetDefaultOpClass(typid, BTREE_AM_OID);
		if (index->rd_indcollation[i] != collation ||
			index->rd_opcintype[i] != typid || !OidIsValid(opclass) ||
			get_opclass_family(opclass) != index->rd_opfamily[i])
			return false;
	}
	return true;
}

/*
 * OnlineScanChunk walks one chunk of a group's history: the entities below
 * resume_after (key values as text; NULL to start from the top) in
 * descending key order, at most limit of them handed to emit (and at most
 * SCAN_VISIT_FACTOR times as many looked at).  An entity is handed over if
 * its latest row is at or after since; emit gets its winner at now (the
 * latest row at or before now, if within the TTL), and the earliest row
 * dated after now.  *last_keys gets the key values of the last entity dealt
 * with (NULL if none).  Returns true when the walk reached the end.
 */
bool
OnlineScanChunk(const OnlineGroup *group, Oid indexoid, char **resume_after,
				TimestampTz since, TimestampTz now, int limit,
				OnlineEmitFn emit, void *arg, char ***last_keys, int *emitted)
{
	ScanState	st;
	TupleTableSlot *slot;
	MemoryContext boundcxt;
	MemoryContext entitycxt;
	MemoryContext oldcxt;
	Datum	   *cur;
	bool		have_cur = false;
	bool		cur_done = false;
	int			rows_past = 0;
	int			visited = 0;
	bool		at_end = false;
	OnlineWinner w;
	Datum	   *values;
	bool	   *nulls;

	memset(&st, 0, sizeof(st));
	st.nkeys = group->nkeys;
	st.heap = table_open(group->relid, AccessShareLock);
	st.index = index_open(indexoid, AccessShareLock);
	st.key_attnums = palloc(sizeof(AttrNumber) * st.nkeys);
	st.cmp = palloc(sizeof(FmgrInfo *) * st.nkeys);
	st.collations = palloc(sizeof(Oid) * st.nkeys);
	st.out = palloc(sizeof(FmgrInfo) * st.nkeys);
	st.members = palloc0(sizeof(ScanKeyData) * st.nkeys);
	for (int i = 0; i < st.nkeys; i++)
	{
		Oid			outfn;
		bool		varlena;

		st.key_attnums[i] = AttnumOrError(group, group->key_names[i]);
		st.cmp[i] = index_getprocinfo(st.index, i + 1, BTORDER_PROC);
		st.collations[i] = st.index->rd_indcollation[i];
		getTypeOutputInfo(group->key_types[i], &outfn, &varlena);
		fmgr_info(outfn, &st.out[i]);
	}
	st.ets_attnum = AttnumOrError(group, FS_EVENT_TS_COLUMN);
	st.cat_attnum = AttnumOrError(group, FS_CREATED_AT_COLUMN);
	st.feature_attnums = palloc(sizeof(AttrNumber) * Max(group->nfeatures, 1));
	for (int f = 0; f < group->nfeatures; f++)
		st.feature_attnums[f] = AttnumOrError(group, group->feature_names[f]);
	values = palloc(sizeof(Datum) * Max(group->nfeatures, 1));
	nulls = palloc(sizeof(bool) * Max(group->nfeatures, 1));

	/* scan key arguments must live as long as the scan: never reset */
	boundcxt = AllocSetContextCreate(CurrentMemoryContext, "featstore scan bounds",
									 ALLOCSET_DEFAULT_SIZES);
	entitycxt = AllocSetContextCreate(CurrentMemoryContext, "featstore scan entity",
									  ALLOCSET_DEFAULT_SIZES);
	st.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "featstore scan emit",
									  ALLOCSET_DEFAULT_SIZES);
	cur = palloc(sizeof(Datum) * Max(st.nkeys, 1));
	*last_keys = NULL;
	*emitted = 0;

	slot = table_slot_create(st.heap, NULL);
	if (resume_after != NULL)
	{
		Datum	   *bound = MemoryContextAlloc(boundcxt, sizeof(Datum) * st.nkeys);

		oldcxt = MemoryContextSwitchTo(boundcxt);
		for (int i = 0; i < st.nkeys; i++)
		{
			Oid			infn;
			Oid			ioparam;

			getTypeInputInfo(group->key_types[i], &infn, &ioparam);
			bound[i] = OidInputFunctionCall(infn, resume_after[i], ioparam, -1);
		}
		MemoryContextSwitchTo(oldcxt);
		RestartBelow(&st, bound);
	}
	else
	{
		st.scan = index_beginscan(st.heap, st.index, GetActiveSnapshot(), 0, 0);
		index_rescan(st.scan, NULL, 0, NULL, 0);
	}

	memset(&w, 0, sizeof(w));
	for (;;)
	{
		TimestampTz ets;

		CHECK_FOR_INTERRUPTS();
		if (!index_getnext_slot(st.scan, BackwardScanDirection, slot))
		{
			at_end = true;
			break;
		}
		slot_getallattrs(slot);
		ets = DatumGetTimestampTz(slot->tts_values[st.ets_attnum - 1]);
		if (!have_cur || !SameEntity(&st, cur, slot->tts_values))
		{
			/* the previous entity is complete: only older rows were left */
			if (have_cur && !cur_done)
			{
				FinishEntity(&st, &w, cur, emit, arg);
				(*emitted)++;
			}
			/* stop between entities; the previous one is the resume point */
			if (have_cur && (*emitted >= limit || visited >= limit * SCAN_VISIT_FACTOR))
				break;

			MemoryContextReset(entitycxt);
			oldcxt = MemoryContextSwitchTo(entitycxt);
			for (int i = 0; i < st.nkeys; i++)
			{
				Form_pg_attribute att = TupleDescAttr(slot->tts_tupleDescriptor,
													  st.key_attnums[i] - 1);

				cur[i] = datumCopy(slot->tts_values[st.key_attnums[i] - 1],
								   att->attbyval, att->attlen);
			}
			MemoryContextSwitchTo(oldcxt);
			have_cur = true;
			visited++;
			rows_past = 0;
			memset(&w, 0, sizeof(w));
			/* the first row is the latest: it says whether since selects the entity */
			cur_done = ets < since;
		}

		if (cur_done)
		{
			/* the winner is known: jump over the rest of this entity */
			if (++rows_past > SCAN_SKIP_AFTER_ROWS)
			{
				Datum	   *bound = MemoryContextAlloc(boundcxt, sizeof(Datum) * st.nkeys);

				oldcxt = MemoryContextSwitchTo(boundcxt);
				for (int i = 0; i < st.nkeys; i++)
				{
					Form_pg_attribute att = TupleDescAttr(slot->tts_tupleDescriptor,
														  st.key_attnums[i] - 1);

					bound[i] = datumCopy(cur[i], att->attbyval, att->attlen);
				}
				MemoryContextSwitchTo(oldcxt);
				RestartBelow(&st, bound);
				rows_past = 0;
			}
			continue;
		}

		if (ets > now)
		{
			/* rows come newest first: the last future one seen is the earliest */
			w.has_future = true;
			w.next_future = ets;
			continue;
		}

		/* the latest row at or before now: the winner, if the TTL allows */
		if (group->ttl_usecs <= 0 || ets >= now - group->ttl_usecs)
		{
			w.found = true;
			w.event_ts = ets;
			w.created_at = DatumGetTimestampTz(slot->tts_values[st.cat_attnum - 1]);
			for (int f = 0; f < group->nfeatures; f++)
			{
				values[f] = slot->tts_values[st.feature_attnums[f] - 1];
				nulls[f] = slot->tts_isnull[st.feature_attnums[f] - 1];
			}
			w.values = values;
			w.nulls = nulls;
		}
		FinishEntity(&st, &w, cur, emit, arg);
		(*emitted)++;
		cur_done = true;
		if (*emitted >= limit)
			break;				/* this entity is the resume point */
	}

	if (at_end)
	{
		/* the end of the table completes the entity being read */
		if (have_cur && !cur_done)
		{
			FinishEntity(&st, &w, cur, emit, arg);
			(*emitted)++;
		}
	}
	else
	{
		char	  **keys = palloc(sizeof(char *) * st.nkeys);

		for (int i = 0; i < st.nkeys; i++)
			keys[i] = OutputFunctionCall(&st.out[i], cur[i]);
		*last_keys = keys;
	}

	index_endscan(st.scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(st.index, NoLock);
	table_close(st.heap, NoLock);
	MemoryContextDelete(boundcxt);
	MemoryContextDelete(entitycxt);
	MemoryContextDelete(st.rowcxt);
	return at_end;
}

/*
 * RestartBelow repositions the backward scan at the last index entry whose
 * keys are below bound: a plain key for one key column, a row comparison
 * (k1, k2, ...) < (...) for compound keys.
 */
static void
RestartBelow(ScanState *st, Datum *bound)
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
SameEntity(ScanState *st, Datum *a, Datum *rowvalues)
{
	for (int i = st->nkeys - 1; i >= 0; i--)
	{
		Datum		b = rowvalues[st->key_attnums[i] - 1];

		if (DatumGetInt32(FunctionCall2Coll(st->cmp[i], st->collations[i], a[i], b)) != 0)
			return false;
	}
	return true;
}

/* FinishEntity hands one entity's outcome to the caller */
static void
FinishEntity(ScanState *st, OnlineWinner *w, Datum *keys, OnlineEmitFn emit, void *arg)
{
	char	   *texts[INDEX_MAX_KEYS];
	MemoryContext oldcxt;

	MemoryContextReset(st->rowcxt);
	oldcxt = MemoryContextSwitchTo(st->rowcxt);
	for (int i = 0; i < st->nkeys; i++)
		texts[i] = OutputFunctionCall(&st->out[i], keys[i]);
	w->key_values = texts;
	w->force = true;
	emit(arg, w);
	MemoryContextSwitchTo(oldcxt);
}
