/*
 * pit_pii.c
 *		PII in the point-in-time join: which of the node's columns carry a
 *		PII feature is worked out when the join is planned (PitPiiPlan);
 *		whether the caller sees them is decided when the node starts to run
 *		(PitPiiBegin), from the current role.  A plan prepared, cached or
 *		made by a member of featstore_pii_reader and run by another role
 *		therefore masks for that role.  SET PII / DROP PII invalidate the
 *		group relation's plans (registry_pii.c), so the columns are
 *		worked out again.
 *
 * A column is PII when it is, or is computed from, a PII feature of the
 * feature side: a history table's column (a whole-row reference counts
 * every PII feature of the group), a column of featstore.window_timeline()
 * (a source group's view), followed through subqueries, joins, CTEs and
 * set operations the planner kept.  The spine's columns are the caller's
 * own query and are never masked.
 */
#include "postgres.h"

#include "catalog/partition.h"

#include "executor/executor.h"
#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "extension.h"
#include "featstore.h"
#include "pii/pii.h"
#include "pit/pit_exec.h"
#include "registry/registry.h"

/* how deep subqueries are followed; deeper nesting is not looked into */
#define PII_TRACE_DEPTH 16

/*
 * What one PitPiiPlan call has looked up of a relation, so that a join with
 * many features asks the registry once per relation, not once per column
 */
typedef struct PiiRelInfo
{
	Oid			relid;
	char	   *group;			/* NULL: not a group's table */
	List	   *pii;			/* the group's PII features */
} PiiRelInfo;

static List *pii_rel_cache = NIL;	/* of PiiRelInfo *, during PitPiiPlan */

static void TraceExpr(Query *query, Node *expr, int depth, List **names);
static void TraceVar(Query *query, Var *var, int depth, List **names);
static void TraceOutput(Query *query, AttrNumber attno, int depth, List **names);
static void TraceCte(Query *query, RangeTblEntry *rte, AttrNumber attno, int depth,
					 List **names);
static void TraceRelation(Oid relid, AttrNumber attno, List **names);
static void TraceFunction(RangeTblEntry *rte, AttrNumber attno, List **names);
static void AddNames(const char *group, List *pii, const char *only, List **names);

/*
 * PitPiiPlan finds the feature-side entries of the node's scan tlist that
 * carry a PII feature: *pii_map gets each one's position (from 0), once
 * per feature, and *pii_names the feature ("group.feature").
 */
void
PitPiiPlan(PlannerInfo *root, List *scan_tlist, List *map_side,
		   List **pii_map, List **pii_names)
{
	ListCell   *lc;
	ListCell   *ls;
	int			i = 0;

	*pii_map = NIL;
	*pii_names = NIL;
	/* in the planner's memory: never kept from one call (or an error) to the next */
	pii_rel_cache = NIL;
	forboth(lc, scan_tlist, ls, map_side)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		List	   *names = NIL;
		ListCell   *ln;

		if (lfirst_int(ls) != 0)
			TraceExpr(root->parse, (Node *) tle->expr, 0, &names);
		foreach(ln, names)
		{
			*pii_map = lappend_int(*pii_map, i);
			*pii_names = lappend(*pii_names, makeString((char *) lfirst(ln)));
		}
		i++;
	}
	pii_rel_cache = NIL;
}

/*
 * PitPiiBegin sets st->masked for a caller that may not see PII, and notes
 * the masked features for the statement's NOTICE (not for EXPLAIN alone,
 * which returns no value).
 */
void
PitPiiBegin(PitScanState *st, CustomScan *cscan, int eflags)
{
	List	   *priv = cscan->custom_private;
	List	   *map;
	List	   *names;
	ListCell   *lc;
	ListCell   *ln;

	st->masked = NULL;
	if (list_length(priv) < PIT_PRIV_NFIELDS)
		return;
	map = (List *) list_nth(priv, PIT_PRIV_PII_MAP);
	names = (List *) list_nth(priv, PIT_PRIV_PII_NAMES);
	if (map == NIL || PiiCallerIsReader())
		return;
	st->masked = palloc0(sizeof(bool) * Max(st->nmap, 1));
	forboth(lc, map, ln, names)
	{
		int			i = lfirst_int(lc);

		if (i >= 0 && i < st->nmap)
			st->masked[i] = true;
		if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
			PiiNoteMaskedName(strVal(lfirst(ln)));
	}
}

/* TraceExpr adds the PII features an expression of query reads to *names */
static void
TraceExpr(Query *query, Node *expr, int depth, List **names)
{
	List	   *vars;
	ListCell   *lc;

	if (expr == NULL || depth > PII_TRACE_DEPTH)
		return;
	vars = pull_var_clause(expr, PVC_RECURSE_AGGREGATES | PVC_RECURSE_WINDOWFUNCS |
						   PVC_RECURSE_PLACEHOLDERS);
	foreach(lc, vars)
	{
		if (IsA(lfirst(lc), Var))
			TraceVar(query, (Var *) lfirst(lc), depth, names);
	}
}

/* TraceVar follows one column of query's range table to where it comes from */
static void
TraceVar(Query *query, Var *var, int depth, List **names)
{
	RangeTblEntry *rte;

	if (var->varlevelsup != 0 || var->varno < 1 ||
		var->varno > list_length(query->rtable) || var->varattno < 0)
		return;
	rte = rt_fetch(var->varno, query->rtable);
	switch (rte->rtekind)
	{
		case RTE_RELATION:
			TraceRelation(rte->relid, var->varattno, names);
			break;
		case RTE_SUBQUERY:
			if (rte->subquery != NULL)
				TraceOutput(rte->subquery, var->varattno, depth + 1, names);
			break;
		case RTE_JOIN:
			if (var->varattno == 0)
				TraceExpr(query, (Node *) rte->joinaliasvars, depth + 1, names);
			else if (var->varattno <= list_length(rte->joinaliasvars))
				TraceExpr(query, (Node *) list_nth(rte->joinaliasvars, var->varattno - 1),
						  depth + 1, names);
			break;
		case RTE_CTE:
			TraceCte(query, rte, var->varattno, depth + 1, names);
			break;
		case RTE_FUNCTION:
			TraceFunction(rte, var->varattno, names);
			break;
		default:
			break;
	}
}

/*
 * TraceOutput follows output column attno of a query (0: all of them).  A
 * set operation's columns come from every branch, each a subquery of its
 * range table.
 */
static void
TraceOutput(Query *query, AttrNumber attno, int depth, List **names)
{
	ListCell   *lc;

	if (depth > PII_TRACE_DEPTH)
		return;
	if (query->setOperations != NULL)
	{
		foreach(lc, query->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_SUBQUERY && rte->subquery != NULL)
				TraceOutput(rte->subquery, attno, depth + 1, names);
		}
		return;
	}
	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!tle->resjunk && (attno == 0 || tle->resno == attno))
			TraceExpr(query, (Node *) tle->expr, depth, names);
	}
}

/* TraceCte follows a column of a CTE defined in query itself */
static void
TraceCte(Query *query, RangeTblEntry *rte, AttrNumber attno, int depth, List **names)
{
	ListCell   *lc;

	if (rte->ctelevelsup != 0)
		return;
	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (strcmp(cte->ctename, rte->ctename) == 0 && cte->ctequery != NULL &&
			IsA(cte->ctequery, Query))
			TraceOutput((Query *) cte->ctequery, attno, depth, names);
	}
}

/* RelInfo returns what the registry says of a relation, looked up once */
static PiiRelInfo *
RelInfo(Oid relid)
{
	PiiRelInfo *info;
	ListCell   *lc;

	foreach(lc, pii_rel_cache)
	{
		info = (PiiRelInfo *) lfirst(lc);
		if (info->relid == relid)
			return info;
	}
	info = palloc0(sizeof(PiiRelInfo));
	info->relid = relid;
	info->group = RegistryGroupOfTable(relid);
	/* a partition of a group's table holds the group's rows (a partition-wise join reads it) */
	if (info->group == NULL && get_rel_relispartition(relid))
	{
		List	   *ancestors = get_partition_ancestors(relid);

		if (ancestors != NIL)
			info->group = RegistryGroupOfTable(llast_oid(ancestors));
	}
	info->pii = info->group ? RegistryPiiFeatures(info->group) : NIL;
	pii_rel_cache = lappend(pii_rel_cache, info);
	return info;
}

/* TraceRelation adds a group table's column (0: every column) if it is PII */
static void
TraceRelation(Oid relid, AttrNumber attno, List **names)
{
	PiiRelInfo *info = RelInfo(relid);
	char	   *column;

	if (info->pii == NIL)
		return;
	if (attno == 0)
	{
		AddNames(info->group, info->pii, NULL, names);
		return;
	}
	column = get_attname(relid, attno, true);
	if (column != NULL)
		AddNames(info->group, info->pii, column, names);
}

/*
 * TraceFunction adds a column of featstore.window_timeline('<group>'), a
 * source group's view, if it is a PII feature: its columns are the keys,
 * event_timestamp, created_at and the features in position order.
 */
static void
TraceFunction(RangeTblEntry *rte, AttrNumber attno, List **names)
{
	RangeTblFunction *rtfunc;
	FuncExpr   *func;
	Const	   *arg;
	char	   *fname;
	FsGroup    *group;
	int			index;

	if (list_length(rte->functions) != 1)
		return;
	rtfunc = linitial_node(RangeTblFunction, rte->functions);
	if (rtfunc->funcexpr == NULL || !IsA(rtfunc->funcexpr, FuncExpr))
		return;
	func = (FuncExpr *) rtfunc->funcexpr;
	fname = get_func_name(func->funcid);
	if (fname == NULL || strcmp(fname, "window_timeline") != 0 ||
		get_func_namespace(func->funcid) != FeatstoreSchemaOid(true) ||
		list_length(func->args) != 1 || !IsA(linitial(func->args), Const))
		return;
	arg = (Const *) linitial(func->args);
	if (arg->constisnull || arg->consttype != TEXTOID)
		return;
	group = RegistryLookupGroup(TextDatumGetCString(arg->constvalue), true);
	if (group == NULL)
		return;
	if (attno == 0)
	{
		AddNames(group->name, RegistryPiiFeatures(group->name), NULL, names);
		return;
	}
	index = attno - 1 - list_length(group->keys) - 2;
	if (index >= 0 && index < list_length(group->features))
		AddNames(group->name, RegistryPiiFeatures(group->name),
				 ((FsFeature *) list_nth(group->features, index))->name, names);
}

/*
 * AddNames adds "group.feature" for each PII feature of a group (only the
 * one named only, when given) that *names does not hold yet.
 */
static void
AddNames(const char *group, List *pii, const char *only, List **names)
{
	ListCell   *lc;

	foreach(lc, pii)
	{
		const char *feature = (const char *) lfirst(lc);
		char	   *name;

		if (only != NULL && strcmp(only, feature) != 0)
			continue;
		name = psprintf("%s.%s", quote_identifier(group), quote_identifier(feature));
		if (!PiiListHas(*names, name))
			*names = lappend(*names, name);
	}
}
