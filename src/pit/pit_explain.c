/*
 * pit_explain.c
 *		EXPLAIN of a PitJoin node: the strategy, join type, keys and the
 *		rule's bounds as written in the marker, the parallel partitions, and
 *		with ANALYZE the match counts (docs/pit-join.md shows them).
 */
#include "postgres.h"

#include "commands/explain.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "pit/pit_exec.h"

static void PitExplainConditions(CustomScan *cscan, List *ctx, int nview,
								 ExplainState *es);

/*
 * PitExplainConditions shows the key equalities and, for a window join,
 * the conditions on the view's computed row: custom_exprs after the
 * marker's options, the last nview of them the view's.
 */
static void
PitExplainConditions(CustomScan *cscan, List *ctx, int nview, ExplainState *es)
{
	int			nexprs = list_length(cscan->custom_exprs);
	StringInfoData keys;
	StringInfoData view;

	initStringInfo(&keys);
	initStringInfo(&view);
	for (int i = PIT_EXPR_NFIXED; i < nexprs; i++)
	{
		StringInfo	buf = i >= nexprs - nview ? &view : &keys;

		if (buf->len > 0)
			appendStringInfoString(buf, " AND ");
		appendStringInfoString(buf, deparse_expression(list_nth(cscan->custom_exprs, i),
													   ctx, true, false));
	}
	ExplainPropertyText("Keys", keys.len > 0 ? keys.data : "none", es);
	if (view.len > 0)
		ExplainPropertyText("View Filter", view.data, es);
}

/* PitExplain shows the strategy, keys and bounds, and the match counts */
void
PitExplain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	PitScanState *st = (PitScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	List	   *ctx;
	Node	   *ttl = (Node *) list_nth(cscan->custom_exprs, PIT_EXPR_TTL);
	Node	   *asof = (Node *) list_nth(cscan->custom_exprs, PIT_EXPR_ASOF);
	Node	   *strict = (Node *) list_nth(cscan->custom_exprs, PIT_EXPR_STRICT);
	const char *strategy;

	ctx = set_deparse_context_plan(es->deparse_cxt, &cscan->scan.plan, ancestors);

	strategy = st->strategy == PIT_HASH ? "hash" :
		st->strategy == PIT_MERGE ? "merge" :
		st->strategy == PIT_WINDOW ? "window" : "index probe";
	if (es->analyze && st->ever_batches > 1)
		strategy = psprintf("hash, %d batches", st->ever_batches);
	ExplainPropertyText("Strategy", strategy, es);
	/* what the batches wrote to temporary files: the spilling's cost */
	if (es->analyze && st->ever_batches > 1)
		ExplainPropertyInteger("Rows Written", NULL, st->n_written, es);
	ExplainPropertyText("Join Type", st->left ? "Left" : "Inner", es);
	if (st->strategy == PIT_PROBE)
		ExplainPropertyText("Index", RelationGetRelationName(st->index_rel), es);
	if (st->strategy == PIT_WINDOW)
		PitWindowExplain(st, es);

	PitExplainConditions(cscan, ctx,
						 st->strategy == PIT_WINDOW ?
						 intVal(list_nth(cscan->custom_private, PIT_PRIV_WINDOW_NQUALS)) : 0,
						 es);
	/* a window join has no TTL: the windows bound its features */
	if (st->strategy != PIT_WINDOW)
	{
		if (IsA(ttl, Const) && ((Const *) ttl)->constisnull)
			ExplainPropertyText("TTL", "none", es);
		else
			ExplainPropertyText("TTL", deparse_expression(ttl, ctx, true, false), es);
	}
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
			par = psprintf("key-hash partitions%s, %d %s planned",
						   PitSplitUsable(st) ? ", history read split" : "",
						   st->planned_workers, workers);
		ExplainPropertyText("Parallel", par, es);
		/* the split read (pit_exec_hash.c): what the participants exchanged */
		if (es->analyze && st->ever_split)
			ExplainPropertyText("History Read",
								psprintf("split between participants, " INT64_FORMAT " candidates exchanged",
										 st->split_sent), es);
	}
	PitPruneExplain(st, es);
	if (es->analyze)
	{
		ExplainPropertyInteger("Matched", NULL, st->n_matched, es);
		ExplainPropertyInteger("No Match", NULL, st->n_nomatch, es);
		if (st->strategy != PIT_WINDOW)
			ExplainPropertyInteger("TTL Expired", NULL, st->n_expired, es);
	}
}
