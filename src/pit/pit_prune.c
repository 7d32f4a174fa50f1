/*
 * pit_prune.c
 *		Run-time pruning of a range-partitioned history (issue 14): the
 *		hash and merge strategies read only the partitions that can hold a
 *		candidate for some spine row.
 *
 * A spine row at ts has its candidates in [ts - ttl, ts] (no lower bound
 * without a TTL; as_of and strict only narrow the set), so the rows of all
 * spine rows lie in [min ts - ttl, max ts].  Both strategies read the whole
 * spine before the history, so the bounds are known when the history is
 * read, which the planner cannot know: the node then tells the history's
 * Append which of its subplans to run, as PostgreSQL's own run-time pruning
 * does (as_valid_subplans).  A subplan is skipped only when it is a scan of
 * one range partition whose key is the column the join reads as the event
 * time, and whose bounds miss the window; everything else (DEFAULT, a hash
 * partition, a subplan that is not a plain scan) is read.
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"

#include "offline/offline.h"
#include "pit/pit_exec.h"

static bool SubplanRange(PitScanState *st, PlanState *sub, EState *estate,
						 TimestampTz *lo, TimestampTz *hi);

/*
 * PitPruneBegin, at executor start, finds whether the history child is an
 * Append over range partitions on the event time column and, if so, the
 * bounds of each of its subplans; st->prune stays NULL otherwise.
 */
void
PitPruneBegin(PitScanState *st, EState *estate)
{
	PlanState  *child;
	AppendState *as;
	PitPrune   *pr;
	bool		any = false;

	st->prune = NULL;
	if (list_length(st->css.custom_ps) < 2 ||
		(st->strategy != PIT_HASH && st->strategy != PIT_MERGE))
		return;
	child = (PlanState *) lsecond(st->css.custom_ps);
	if (!IsA(child, AppendState))
		return;
	as = (AppendState *) child;
	/* a parallel-aware Append shares its subplans; async ones choose themselves */
	if (as->as_pstate != NULL || as->ps.plan->parallel_aware || as->as_nasyncplans > 0 ||
		as->as_nplans <= 0)
		return;
	pr = MemoryContextAllocZero(estate->es_query_cxt, sizeof(PitPrune));
	pr->nplans = as->as_nplans;
	pr->ranged = MemoryContextAllocZero(estate->es_query_cxt, sizeof(bool) * pr->nplans);
	pr->lo = MemoryContextAlloc(estate->es_query_cxt, sizeof(TimestampTz) * pr->nplans);
	pr->hi = MemoryContextAlloc(estate->es_query_cxt, sizeof(TimestampTz) * pr->nplans);
	for (int i = 0; i < pr->nplans; i++)
	{
		pr->ranged[i] = SubplanRange(st, as->appendplans[i], estate, &pr->lo[i], &pr->hi[i]);
		any = any || pr->ranged[i];
	}
	if (any)
		st->prune = pr;
}

/*
 * SubplanRange says whether a subplan of the history's Append is a scan of
 * one range partition keyed by the event time column the join reads, and
 * gives its bounds [*lo, *hi)
 */
static bool
SubplanRange(PitScanState *st, PlanState *sub, EState *estate, TimestampTz *lo,
			 TimestampTz *hi)
{
	Plan	   *plan = sub->plan;
	Index		scanrelid;
	Oid			relid;
	Oid			parent;
	TargetEntry *tle;
	Var		   *var;
	Relation	prel;
	PartitionKey key;
	bool		ok;
	char	   *keyname;
	char	   *etsname;

	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
			scanrelid = ((Scan *) plan)->scanrelid;
			break;
		default:
			return false;
	}
	if (scanrelid == 0 || list_length(plan->targetlist) < st->feat_ets)
		return false;
	tle = list_nth(plan->targetlist, st->feat_ets - 1);
	if (!IsA(tle->expr, Var))
		return false;
	var = (Var *) tle->expr;
	if (var->varno != (int) scanrelid || var->varattno <= 0 || var->vartype != TIMESTAMPTZOID)
		return false;
	relid = exec_rt_fetch(scanrelid, estate)->relid;
	if (!get_rel_relispartition(relid) || !OfflineRangeBounds(relid, lo, hi))
		return false;
	parent = get_partition_parent(relid, false);
	prel = relation_open(parent, AccessShareLock);
	key = RelationGetPartitionKey(prel);
	ok = key != NULL && key->strategy == PARTITION_STRATEGY_RANGE && key->partnatts == 1 &&
		key->partattrs[0] > 0 && key->parttypid[0] == TIMESTAMPTZOID;
	keyname = ok ? get_attname(parent, key->partattrs[0], false) : NULL;
	relation_close(prel, NoLock);
	if (!ok)
		return false;
	/* partitions match their parent's columns by name */
	etsname = get_attname(relid, var->varattno, true);
	return etsname != NULL && strcmp(etsname, keyname) == 0;
}

/*
 * PitPruneNoteSpine widens the spine's ts bounds by one spine row's ts; a
 * row that never matches (NULL key or ts) needs no history
 */
void
PitPruneNoteSpine(PitScanState *st, TimestampTz ts)
{
	if (st->prune == NULL)
		return;
	if (!st->prune->have_spine || ts < st->prune->min_ts)
		st->prune->min_ts = ts;
	if (!st->prune->have_spine || ts > st->prune->max_ts)
		st->prune->max_ts = ts;
	st->prune->have_spine = true;
}

/*
 * PitPruneApply, once the spine is read and before the history is, gives
 * the Append the subplans that can hold a candidate; false when none can
 * (the history need not be read at all)
 */
bool
PitPruneApply(PitScanState *st)
{
	PitPrune   *pr = st->prune;
	AppendState *as;
	Bitmapset  *valid = NULL;
	TimestampTz from;
	MemoryContext old;

	if (pr == NULL)
		return true;
	as = (AppendState *) lsecond(st->css.custom_ps);
	from = DT_NOBEGIN;
	if (pr->have_spine && st->has_ttl)
		from = PitTtlBound(pr->min_ts, st->ttl);
	pr->nread = 0;
	old = MemoryContextSwitchTo(as->ps.state->es_query_cxt);
	for (int i = 0; i < pr->nplans; i++)
	{
		if (pr->ranged[i] &&
			(!pr->have_spine || pr->lo[i] > pr->max_ts || pr->hi[i] <= from))
			continue;
		valid = bms_add_member(valid, i);
		pr->nread++;
	}
	MemoryContextSwitchTo(old);
	pr->pruned = pr->nplans - pr->nread;
	pr->applied = true;
	/* an empty set is NULL, which the Append would read as "not decided yet" */
	if (valid == NULL)
		return false;
	bms_free(as->as_valid_subplans);
	as->as_valid_subplans = valid;
	return true;
}

/* PitPruneReset forgets one scan's spine bounds (a rescan reads a new spine) */
void
PitPruneReset(PitScanState *st)
{
	if (st->prune == NULL)
		return;
	st->prune->have_spine = false;
}

/* PitPruneExplain shows, with ANALYZE, how many partitions were read */
void
PitPruneExplain(PitScanState *st, ExplainState *es)
{
	PitPrune   *pr = st->prune;

	if (pr == NULL)
		return;
	if (!es->analyze || !pr->applied)
		ExplainPropertyText("Partitions", psprintf("%d, pruned at run time by the spine's ts", pr->nplans), es);
	else
		ExplainPropertyText("Partitions", psprintf("%d of %d read, %d pruned",
												   pr->nread, pr->nplans, pr->pruned), es);
}
