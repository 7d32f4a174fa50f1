/*
 * pit_exec_probe.c
 *		The index-probe strategy of PitJoin (pit_exec.c has the overview):
 *		for each spine row, one descent of a btree on (keys...,
 *		event_timestamp, created_at), read from the spine ts towards older
 *		rows.  The index's order is the better-than order (PitBetter,
 *		pit_rule.h), so the first row passing the rule's bounds is the
 *		winner.  The planner picks the index with PitIndexFit.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "pit/pit_exec.h"

/*
 * PitProbeBegin opens the feature table and its btree on (keys...,
 * event_timestamp, created_at) for the probe strategy, and prepares the
 * scan keys: equality on each key, event_timestamp <= the spine ts.
 */
void
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
TupleTableSlot *
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
		TimestampTz cat;

		CHECK_FOR_INTERRUPTS();
		/* rows come best first, all with event_timestamp <= ts */
		if (PitFeatureTimes(st, st->feat_slot, &ets, &cat) &&
			PitCandidateAt(st->strict, ets, cat, DatumGetTimestampTz(ts)))
		{
			found = true;
			break;
		}
	}
	return PitEmit(st, spine, found ? st->feat_slot : NULL, DatumGetTimestampTz(ts), ets, false);
}
