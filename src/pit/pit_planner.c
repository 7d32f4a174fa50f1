/*
 * pit_planner.c
 *		Planning of point-in-time joins: the as-of marker, the join-path hook
 *		that replaces the join with a PitJoin custom scan, and its costing.
 *
 * A point-in-time join is written as an ordinary join whose ON clause holds
 * the key equalities and one call of the marker function
 *
 *	 featstore.pit_match(f.event_timestamp, f.created_at, s.ts, ttl, as_of, strict)
 *
 * The marker names every column the node needs, so they all reach the child
 * plans.  Its own body only raises an error: the semantics exist only inside
 * the PitJoin node, and a marker that core evaluated as a filter would
 * silently return every earlier row.
 */
#include "postgres.h"

#include <math.h>
#include <unistd.h>

#include "access/genam.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "optimizer/plancat.h"
#include "parser/parsetree.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "optimizer/tlist.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "extension.h"
#include "featstore.h"
#include "pit/pit.h"
#include "pit/pit_exec.h"
#include "pit/pit_inline.h"
#include "pit/pit_shard.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(pit_match);
PG_FUNCTION_INFO_V1(pit_match_support);

int			pit_strategy_guc = PIT_AUTO;
int			pit_parallel_guc = PIT_PARALLEL_AUTO;
int			pit_parallel_split_guc = PIT_PARALLEL_AUTO;

static const struct config_enum_entry pit_strategy_options[] = {
	{"auto", PIT_AUTO, false},
	{"hash", PIT_HASH, false},
	{"merge", PIT_MERGE, false},
	{"probe", PIT_PROBE, false},
	{NULL, 0, false}
};

static const struct config_enum_entry pit_parallel_options[] = {
	{"off", PIT_PARALLEL_OFF, false},
	{"auto", PIT_PARALLEL_AUTO, false},
	{"force", PIT_PARALLEL_FORCE, false},
	{"on", PIT_PARALLEL_AUTO, true},
	{"false", PIT_PARALLEL_OFF, true},
	{NULL, 0, false}
};

static set_join_pathlist_hook_type prev_join_pathlist_hook = NULL;
static planner_hook_type prev_planner_hook = NULL;

/* What the hook learned about one join, carried to PlanCustomPath */
typedef struct PitJoinInfo
{
	bool		spine_is_outer;
	bool		left;
	FuncExpr   *marker;
	List	   *spine_keys;		/* of Var, or expressions over the spine */
	List	   *feat_keys;		/* of Var */
	List	   *key_clauses;	/* of OpExpr, for EXPLAIN */
	List	   *key_colls;		/* of Oid */
	List	   *quals;			/* of RestrictInfo, applied to the output */
	List	   *view_quals;		/* window, LEFT: of RestrictInfo, on the computed row */
} PitJoinInfo;

/* Positions in CustomPath.custom_private (the plan's own layout is in pit.h) */
typedef enum PitPathField
{
	PIT_PATH_STRATEGY = 0,
	PIT_PATH_LEFT,
	PIT_PATH_MARKER,
	PIT_PATH_SPINE_KEYS,
	PIT_PATH_FEAT_KEYS,
	PIT_PATH_KEY_CLAUSES,
	PIT_PATH_KEY_COLLS,
	PIT_PATH_QUALS,
	PIT_PATH_SPLIT,				/* parallel hash: the history read split */
	/* index probe only */
	PIT_PATH_INDEX,
	PIT_PATH_FEAT_RELID,
	PIT_PATH_INDEX_KEYS,
	PIT_PATH_INDEX_DESC,
	/* window only (the four above hold 0, the function's rel, NIL, 0) */
	PIT_PATH_WINDOW_GROUP,
	PIT_PATH_WINDOW_TEXT,
	PIT_PATH_WINDOW_TYPES,
	PIT_PATH_WINDOW_QUALS
} PitPathField;

/*
 * What the hook learned about a feature side that is a source group's
 * timeline, featstore.window_timeline('<group>') (the body of the group's
 * view): its columns are the keys (attributes 1 .. nkeys), event_timestamp,
 * created_at and the features in position order.
 */
typedef struct PitWindowSide
{
	char	   *group;
	int			nkeys;
	List	   *coltypes;		/* of Oid: the view's column types */
	char	   *windows;		/* the group's windows, for EXPLAIN */
	double		events;			/* the source's estimated rows */
	double		pages;			/* and pages */
	bool		parallel_ok;	/* its events may be read in a parallel worker */
	bool		shared_read;	/* and the participants can share the read */
} PitWindowSide;

static void PitJoinPathlist(PlannerInfo *root, RelOptInfo *joinrel,
							RelOptInfo *outerrel, RelOptInfo *innerrel,
							JoinType jointype, JoinPathExtraData *extra);
static bool IsPitMarker(Node *clause);
static RestrictInfo *FindMarker(List *restrictlist);
static bool MarkerArgsUsable(FuncExpr *marker);
static bool SplitJoinSides(PlannerInfo *root, PitJoinInfo *info,
						   RelOptInfo *outerrel, RelOptInfo *innerrel,
						   RelOptInfo **spinerel, RelOptInfo **featrel);
static void AddPitPaths(PlannerInfo *root, RelOptInfo *joinrel, Path *spine_path,
						Path *feat_path, RelOptInfo *featrel, PitJoinInfo *info);
static PlannedStmt *PitPlanner(Query *parse, const char *query_string,
							   int cursorOptions, ParamListInfo boundParams);
static PlannedStmt *PitPlanChecked(Query *parse, const char *query_string,
								   int cursorOptions, ParamListInfo boundParams,
								   bool fallback);
static bool FindMarkerWalker(Node *node, Oid *marker);
static bool PlanHasMarker(PlannedStmt *stmt, Oid marker);
static bool PlanTreeHasMarker(Plan *plan, Oid marker);
static List *PlanNodeExprs(Plan *plan);
static List *PlanNodeChildren(Plan *plan);
static bool MarkerExprWalker(Node *node, Oid *marker);
static bool ClassifyJoinClauses(List *restrictlist, RelOptInfo *joinrel,
								RelOptInfo *spinerel, RelOptInfo *featrel,
								PitJoinInfo *info);
static bool IsKeyEquality(OpExpr *op, RelOptInfo *spinerel, RelOptInfo *featrel,
						  PitJoinInfo *info);
static bool IsFeatureColumn(Node *node, RelOptInfo *featrel);
static bool IsSpineExpr(Node *node, RelOptInfo *spinerel);
static Path *SpineInputPath(PlannerInfo *root, Path *path, PitJoinInfo *info);
static Relation PitPlainTableScan(PlannerInfo *root, Path *path);
static Path *PitPhysicalPath(PlannerInfo *root, Path *path);
static Cost PitStrategyCost(PlannerInfo *root, Path *spine_path, Path *feat_path,
							PitStrategy strategy, double nparts, bool *split);
static bool PitSplitPlanned(PlannerInfo *root, Path *feat_path, double nspine,
							double spine_bytes);
static CustomPath *MakeProbePath(PlannerInfo *root, RelOptInfo *joinrel,
								 Path *spine_path, RelOptInfo *featrel,
								 PitJoinInfo *info);
static bool ProbeIndexServes(IndexOptInfo *ind, PitJoinInfo *info,
							 List **index_keys, bool *desc);
static CustomPath *MakeProbePathFor(PlannerInfo *root, RelOptInfo *joinrel,
									Path *spine_path, RelOptInfo *featrel,
									PitJoinInfo *info, IndexOptInfo *ind,
									List *index_keys, bool desc);
static CustomPath *MakePitPath(PlannerInfo *root, RelOptInfo *joinrel,
							   Path *spine_path, Path *feat_path,
							   PitJoinInfo *info, PitStrategy strategy,
							   int nworkers);
static Path *CheapestParallelSafe(RelOptInfo *rel);
static bool PitStableRel(PlannerInfo *root, RelOptInfo *rel);
static void AddPartialPitPaths(PlannerInfo *root, RelOptInfo *joinrel,
							   Path *spine_path, Path *feat_path,
							   RelOptInfo *featrel, PitJoinInfo *info);
static Plan *PlanPitPath(PlannerInfo *root, RelOptInfo *rel,
						 CustomPath *best_path, List *tlist,
						 List *clauses, List *custom_plans);
static List *PitPathPrivate(PitJoinInfo *info, PitStrategy strategy);
struct PitPlanParts;
static void PitScanColumnMap(List *scan_tlist, struct PitPlanParts *parts);
static Node *PitPlanPrivate(struct PitPlanParts *parts, PitPrivateField f);
static AttrNumber ChildResno(Plan *child, Node *expr);
static AttrNumber FeatureResno(Plan *feat_plan, Index feat_relid, Node *expr);
static char *WindowTimelineGroup(PlannerInfo *root, RelOptInfo *featrel);
static void WindowSideOf(PlannerInfo *root, RelOptInfo *featrel, const char *name,
						 PitWindowSide *side);
static char *WindowList(const FsGroup *group);
static bool WindowJoinUsable(RelOptInfo *featrel, PitJoinInfo *info,
							 PitWindowSide *side);
static CustomPath *MakeWindowPath(PlannerInfo *root, RelOptInfo *joinrel, Path *spine_path,
								  RelOptInfo *featrel, PitJoinInfo *info, PitWindowSide *side,
								  int nworkers);
static void AddWindowPath(PlannerInfo *root, RelOptInfo *joinrel, Path *spine_path,
						  RelOptInfo *featrel, PitJoinInfo *info, PitWindowSide *side);

static CustomPathMethods pit_path_methods = {
	.CustomName = PIT_NODE_NAME,
	.PlanCustomPath = PlanPitPath,
};

CustomScanMethods pit_scan_methods = {
	.CustomName = PIT_NODE_NAME,
	.CreateCustomScanState = PitCreateScanState,
};

/* PitInit registers the node, the GUC and the join-path hook */
void
PitInit(void)
{
	DefineCustomEnumVariable("featstore.pit_strategy",
							 "Strategy of point-in-time joins: auto (by cost), hash, merge or probe.",
							 "Forcing a strategy is meant for tests and benchmarks.",
							 &pit_strategy_guc,
							 PIT_AUTO,
							 pit_strategy_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomEnumVariable("featstore.pit_parallel",
							 "Parallel point-in-time joins, partitioned by key hash: off, auto (by cost) or force.",
							 "force disables the serial PitJoin plans whenever the parallel one is possible; meant for tests and benchmarks.",
							 &pit_parallel_guc,
							 PIT_PARALLEL_AUTO,
							 pit_parallel_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("featstore.pit_parallel_split",
							 "Parallel point-in-time hash joins reading the history split between the participants: off, auto (by cost) or force.",
							 "Off, each participant reads the whole history and keeps its own keys' rows; force and off are meant for tests and benchmarks.",
							 &pit_parallel_split_guc,
							 PIT_PARALLEL_AUTO,
							 pit_parallel_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	RegisterCustomScanMethods(&pit_scan_methods);
	PitInlineInit();

	prev_join_pathlist_hook = set_join_pathlist_hook;
	set_join_pathlist_hook = PitJoinPathlist;
	prev_planner_hook = planner_hook;
	planner_hook = PitPlanner;
}

/*
 * PitPlanner first inlines the FROM-clause calls of pit_join() that it can
 * (pit_inline.c) and plans that form; if its plan could not take the join
 * (a marker is left), it plans the statement as written instead, so that
 * inlining never turns a working statement into an error.
 */
static PlannedStmt *
PitPlanner(Query *parse, const char *query_string, int cursorOptions,
		   ParamListInfo boundParams)
{
	PitInlineState inline_state;
	Query	   *inlined;
	PlannedStmt *stmt;

	inlined = PitInlineCalls(parse, boundParams, &inline_state);
	if (inlined != NULL)
	{
		stmt = PitPlanChecked(inlined, query_string, cursorOptions, boundParams, true);
		if (stmt != NULL)
		{
			PitInlineRecordDependencies(stmt, &inline_state);
			return stmt;
		}
	}
	stmt = PitPlanChecked(parse, query_string, cursorOptions, boundParams, false);
	PitInlineRecordDependencies(stmt, &inline_state);
	return stmt;
}

/*
 * PitPlanChecked plans a statement, and is the safety net: a finished plan
 * must not contain the marker, since every PitJoin consumes its own.  A
 * marker left over means the join was not one PitJoin can take; fail now,
 * naming the fix, rather than when (or if) a row reaches it.  With
 * fallback, it returns NULL instead of failing.
 */
static PlannedStmt *
PitPlanChecked(Query *parse, const char *query_string, int cursorOptions,
			   ParamListInfo boundParams, bool fallback)
{
	PlannedStmt *stmt;
	Oid			marker = InvalidOid;
	bool		has_marker;

	/*
	 * Look before planning: the planner rewrites the query in place, and a
	 * sublink it turns into a SubPlan no longer shows its query.
	 */
	has_marker = query_tree_walker(parse, FindMarkerWalker, &marker, 0);
	if (prev_planner_hook)
		stmt = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
	else
		stmt = standard_planner(parse, query_string, cursorOptions, boundParams);

	if (!has_marker || !PlanHasMarker(stmt, marker))
		return stmt;
	if (fallback)
		return NULL;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("featstore.pit_match() is not in a join a point-in-time join node can take"),
			 errdetail("The marker must be in the ON clause of a LEFT or INNER join (or the WHERE clause of an inner join) "
					   "between a spine and one feature table, with its first two arguments columns of the feature table "
					   "and its third a column of the spine or an expression over the spine alone, in a statement that locks no rows (no FOR UPDATE/SHARE, no UPDATE or DELETE ... FROM)."),
			 errhint("Keep only key equalities (feature.k = spine.k) beside the marker in the ON clause and move other conditions "
					 "to WHERE or a subquery, or call featstore.pit_join().")));
	return NULL;				/* keep the compiler quiet */
}

/* FindMarkerWalker looks for the marker anywhere in a query, subqueries included */
static bool
FindMarkerWalker(Node *node, Oid *marker)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr) && IsPitMarker(node))
	{
		*marker = ((FuncExpr *) node)->funcid;
		return true;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, FindMarkerWalker, marker, 0);
	return expression_tree_walker(node, FindMarkerWalker, marker);
}

/*
 * PlanHasMarker tells whether a finished plan still calls the marker: its
 * main tree or any subplan (initplans, SubPlans and CTEs all live in
 * stmt->subplans, and the tree refers to them only by number).  Only
 * statements that contain the marker pay for the walk.
 */
static bool
PlanHasMarker(PlannedStmt *stmt, Oid marker)
{
	ListCell   *lc;

	if (PlanTreeHasMarker(stmt->planTree, marker))
		return true;
	foreach(lc, stmt->subplans)
	{
		if (PlanTreeHasMarker((Plan *) lfirst(lc), marker))
			return true;
	}
	return false;
}

/*
 * PlanTreeHasMarker tells whether a plan node or any node below it calls
 * the marker in one of its expressions.  PostgreSQL 15 has no plan-tree
 * walker, so the node-specific fields are listed by PlanNodeExprs and
 * PlanNodeChildren.
 */
static bool
PlanTreeHasMarker(Plan *plan, Oid marker)
{
	List	   *exprs;
	ListCell   *lc;

	if (plan == NULL)
		return false;
	check_stack_depth();

	exprs = list_make3(plan->targetlist, plan->qual, plan->initPlan);
	exprs = list_concat(exprs, PlanNodeExprs(plan));
	if (MarkerExprWalker((Node *) exprs, &marker))
		return true;

	if (PlanTreeHasMarker(plan->lefttree, marker) ||
		PlanTreeHasMarker(plan->righttree, marker))
		return true;
	foreach(lc, PlanNodeChildren(plan))
	{
		if (PlanTreeHasMarker((Plan *) lfirst(lc), marker))
			return true;
	}
	return false;
}

/*
 * PlanNodeExprs lists the expression fields a plan node has beside its
 * target list, quals and initplans: the fields setrefs.c fixes up, which are
 * all the executor evaluates.  Private lists (fdw_private, custom_private)
 * are the provider's own data, not evaluated by core, and may hold nodes
 * the expression walker does not know, so they are not searched; nor are
 * partition-pruning steps, which compare partition keys and never call a
 * function of their own.  NestLoop's nestParams only pass outer Vars.
 */
static List *
PlanNodeExprs(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_SampleScan:
			return list_make1(((SampleScan *) plan)->tablesample);
		case T_IndexScan:
			{
				IndexScan  *scan = (IndexScan *) plan;

				return list_make4(scan->indexqual, scan->indexqualorig,
								  scan->indexorderby, scan->indexorderbyorig);
			}
		case T_IndexOnlyScan:
			{
				IndexOnlyScan *scan = (IndexOnlyScan *) plan;

				return list_make4(scan->indexqual, scan->recheckqual,
								  scan->indexorderby, scan->indextlist);
			}
		case T_BitmapIndexScan:
			return list_make2(((BitmapIndexScan *) plan)->indexqual,
							  ((BitmapIndexScan *) plan)->indexqualorig);
		case T_BitmapHeapScan:
			return list_make1(((BitmapHeapScan *) plan)->bitmapqualorig);
		case T_TidScan:
			return list_make1(((TidScan *) plan)->tidquals);
		case T_TidRangeScan:
			return list_make1(((TidRangeScan *) plan)->tidrangequals);
		case T_FunctionScan:
			return list_make1(((FunctionScan *) plan)->functions);
		case T_ValuesScan:
			return list_make1(((ValuesScan *) plan)->values_lists);
		case T_TableFuncScan:
			return list_make1(((TableFuncScan *) plan)->tablefunc);
		case T_ForeignScan:
			{
				ForeignScan *scan = (ForeignScan *) plan;

				return list_make3(scan->fdw_exprs, scan->fdw_scan_tlist,
								  scan->fdw_recheck_quals);
			}
		case T_CustomScan:
			return list_make2(((CustomScan *) plan)->custom_exprs,
							  ((CustomScan *) plan)->custom_scan_tlist);
		case T_NestLoop:
			return list_make1(((Join *) plan)->joinqual);
		case T_MergeJoin:
			return list_make2(((Join *) plan)->joinqual,
							  ((MergeJoin *) plan)->mergeclauses);
		case T_HashJoin:
			{
				HashJoin   *join = (HashJoin *) plan;

				return list_make3(join->join.joinqual, join->hashclauses,
								  join->hashkeys);
			}
		case T_Hash:
			return list_make1(((Hash *) plan)->hashkeys);
		case T_Memoize:
			return list_make1(((Memoize *) plan)->param_exprs);
		case T_Result:
			return list_make1(((Result *) plan)->resconstantqual);
		case T_WindowAgg:
			{
				WindowAgg  *agg = (WindowAgg *) plan;

				return list_make4(agg->startOffset, agg->endOffset,
								  agg->runCondition, agg->runConditionOrig);
			}
		case T_Limit:
			return list_make2(((Limit *) plan)->limitOffset,
							  ((Limit *) plan)->limitCount);
		case T_ModifyTable:
			{
				ModifyTable *mt = (ModifyTable *) plan;
				List	   *exprs;

				exprs = list_make4(mt->withCheckOptionLists, mt->returningLists,
								   mt->onConflictSet, mt->onConflictWhere);
				return lappend(lappend(exprs, mt->exclRelTlist),
							   mt->mergeActionLists);
			}
		default:
			return NIL;
	}
}

/*
 * PlanNodeChildren lists the plans a node runs beside lefttree and
 * righttree.
 */
static List *
PlanNodeChildren(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_Append:
			return ((Append *) plan)->appendplans;
		case T_MergeAppend:
			return ((MergeAppend *) plan)->mergeplans;
		case T_BitmapAnd:
			return ((BitmapAnd *) plan)->bitmapplans;
		case T_BitmapOr:
			return ((BitmapOr *) plan)->bitmapplans;
		case T_SubqueryScan:
			return list_make1(((SubqueryScan *) plan)->subplan);
		case T_CustomScan:
			return ((CustomScan *) plan)->custom_plans;
		default:
			return NIL;
	}
}

/* MarkerExprWalker looks for a call of the marker in an expression tree */
static bool
MarkerExprWalker(Node *node, Oid *marker)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr) && ((FuncExpr *) node)->funcid == *marker)
		return true;
	return expression_tree_walker(node, MarkerExprWalker, marker);
}

/*
 * pit_match is the as-of marker.  It is never evaluated by a correct plan:
 * reaching this body means the marker was used where no PitJoin could take
 * it, and returning any value would give wrong rows.
 */
Datum
pit_match(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("featstore.pit_match() can only be evaluated by a point-in-time join"),
			 errhint("Use it in the ON clause of a join between a spine and a feature group's table, "
					 "next to the key equalities only, e.g. "
					 "spine s LEFT JOIN grp f ON f.user_id = s.user_id AND featstore.pit_match(f.event_timestamp, f.created_at, s.ts), "
					 "or call featstore.pit_join().")));
	PG_RETURN_BOOL(false);
}

/*
 * pit_match_support is the marker's planner support function.  It answers
 * no request; its job is to be called.  The planner asks it for the
 * marker's selectivity and cost before it builds the join's paths, which
 * loads this library, and with it the join-path hook, in time for the
 * first marker join of a session without shared_preload_libraries.
 */
Datum
pit_match_support(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(NULL);
}

/*
 * PitJoinPathlist is the set_join_pathlist_hook: when the join clauses hold
 * the marker, it replaces every path of the join with PitJoin paths.
 *
 * Whatever it cannot take is left to core, which will then reach the
 * marker's body and raise an error: never a silent wrong answer.
 */
static void
PitJoinPathlist(PlannerInfo *root, RelOptInfo *joinrel,
				RelOptInfo *outerrel, RelOptInfo *innerrel,
				JoinType jointype, JoinPathExtraData *extra)
{
	RestrictInfo *marker_rinfo;
	PitJoinInfo info;
	RelOptInfo *spinerel;
	RelOptInfo *featrel;
	Path	   *spine_path;
	Path	   *feat_path;
	char	   *window_group;

	if (prev_join_pathlist_hook)
		prev_join_pathlist_hook(root, joinrel, outerrel, innerrel, jointype, extra);

	marker_rinfo = FindMarker(extra->restrictlist);
	if (marker_rinfo == NULL)
		return;
	if (jointype != JOIN_INNER && jointype != JOIN_LEFT && jointype != JOIN_RIGHT)
		return;
	/* row locks and UPDATE/DELETE need EvalPlanQual, which we do not offer */
	if (root->parse->rowMarks != NIL ||
		(root->parse->commandType != CMD_SELECT && root->parse->resultRelation != 0))
		return;
	if (!bms_is_empty(joinrel->lateral_relids))
		return;

	memset(&info, 0, sizeof(info));
	info.marker = (FuncExpr *) marker_rinfo->clause;
	if (!MarkerArgsUsable(info.marker) ||
		!SplitJoinSides(root, &info, outerrel, innerrel, &spinerel, &featrel))
		return;

	/*
	 * The feature side must be the group's table alone.  Joined to another
	 * relation first, the winner would be chosen among only the rows that
	 * survive that join, and the answer would depend on the join order the
	 * planner happens to prefer.  Left alone, core's paths for this split
	 * keep the marker, which the safety net then refuses.
	 */
	/* a sharded history: only the pushed-down joins (pit_shard.c) */
	{
		PitJoinArgs args = {outerrel, innerrel, jointype, extra};

		if (PitShardedJoin(root, joinrel, spinerel, featrel, &args))
			return;
	}
	/*
	 * A base table, or in a partition-wise join (enable_partitionwise_join,
	 * a spine partitioned like a hash-partitioned history) one partition of
	 * each side: PostgreSQL pairs the partitions whose keys can match and
	 * appends the pairs' joins, each a PitJoin.
	 */
	if (featrel->reloptkind != RELOPT_BASEREL &&
		!(featrel->reloptkind == RELOPT_OTHER_MEMBER_REL && IS_OTHER_REL(joinrel)))
		return;
	window_group = WindowTimelineGroup(root, featrel);

	/* only the spine side may be preserved by an outer join */
	if (jointype == JOIN_INNER)
		info.left = false;
	else if ((jointype == JOIN_LEFT && info.spine_is_outer) ||
			 (jointype == JOIN_RIGHT && !info.spine_is_outer))
		info.left = true;
	else
		return;

	/* in an outer join the marker must sit in the ON clause */
	if (info.left && RINFO_IS_PUSHED_DOWN(marker_rinfo, joinrel->relids))
		return;

	if (!ClassifyJoinClauses(extra->restrictlist, joinrel, spinerel, featrel, &info))
		return;

	if (window_group != NULL)
	{
		PitWindowSide side;

		WindowSideOf(root, featrel, window_group, &side);
		spine_path = spinerel->cheapest_total_path;
		if (!WindowJoinUsable(featrel, &info, &side) || spine_path == NULL ||
			spine_path->param_info != NULL)
			return;
		spine_path = SpineInputPath(root, spine_path, &info);
		if (info.left)
			joinrel->rows = clamp_row_est(spine_path->rows);
		AddWindowPath(root, joinrel, spine_path, featrel, &info, &side);
		return;
	}

	spine_path = spinerel->cheapest_total_path;
	feat_path = featrel->cheapest_total_path;
	if (spine_path == NULL || feat_path == NULL ||
		spine_path->param_info != NULL || feat_path->param_info != NULL)
		return;
	spine_path = SpineInputPath(root, spine_path, &info);

	/* one row per spine row: tell the upper planner so */
	if (info.left)
		joinrel->rows = clamp_row_est(spine_path->rows);
	AddPitPaths(root, joinrel, spine_path, feat_path, featrel, &info);
}

/*
 * FindMarker returns the join clause that is the marker, or NULL when there
 * is none, or more than one (which is left to core, and so an error).
 */
static RestrictInfo *
FindMarker(List *restrictlist)
{
	RestrictInfo *marker_rinfo = NULL;
	int			nmarkers = 0;
	ListCell   *lc;

	foreach(lc, restrictlist)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (IsPitMarker((Node *) rinfo->clause))
		{
			marker_rinfo = rinfo;
			nmarkers++;
		}
	}
	return nmarkers == 1 ? marker_rinfo : NULL;
}

/*
 * MarkerArgsUsable says whether the node can take the marker's arguments.
 * The feature columns must be plain columns.  The spine timestamp may be
 * an expression: a spine subquery that computes it (ts AT TIME ZONE 'UTC'
 * AS ts) is pulled up into this query, and its output expression then
 * stands where the subquery's column was.  The options are constants or
 * parameters, the same for every row.
 */
static bool
MarkerArgsUsable(FuncExpr *marker)
{
	if (list_length(marker->args) != 6)
		return false;
	for (int i = 0; i < 2; i++)
	{
		Node	   *arg = (Node *) list_nth(marker->args, i);

		if (!IsA(arg, Var) || ((Var *) arg)->varlevelsup != 0)
			return false;
	}
	if (contain_volatile_functions((Node *) lthird(marker->args)) ||
		contain_subplans((Node *) lthird(marker->args)))
		return false;
	for (int i = 3; i < 6; i++)
	{
		Node	   *arg = (Node *) list_nth(marker->args, i);

		if (contain_var_clause(arg) || contain_volatile_functions(arg) ||
			contain_subplans(arg))
			return false;
	}
	return true;
}

/*
 * SplitJoinSides finds which side of the join is the spine (the marker's
 * third argument) and which the history (its first two); false when the
 * marker's columns do not fall on the two sides.
 */
static bool
SplitJoinSides(PlannerInfo *root, PitJoinInfo *info, RelOptInfo *outerrel,
			   RelOptInfo *innerrel, RelOptInfo **spinerel, RelOptInfo **featrel)
{
	List	   *args = info->marker->args;
	Relids		spine_relids = pull_varnos(root, (Node *) list_nth(args, 2));
	Relids		feat_relids = pull_varnos(root, (Node *) list_make2(linitial(args),
																	lsecond(args)));

	if (bms_is_empty(spine_relids))
		return false;
	if (bms_is_subset(spine_relids, outerrel->relids) &&
		bms_is_subset(feat_relids, innerrel->relids))
	{
		info->spine_is_outer = true;
		*spinerel = outerrel;
		*featrel = innerrel;
	}
	else if (bms_is_subset(spine_relids, innerrel->relids) &&
			 bms_is_subset(feat_relids, outerrel->relids))
	{
		info->spine_is_outer = false;
		*spinerel = innerrel;
		*featrel = outerrel;
	}
	else
		return false;
	return true;
}

/*
 * AddPitPaths replaces the join's paths with PitJoin's: the probe, hash and
 * merge strategies as featstore.pit_strategy allows, and the parallel-aware
 * ones as featstore.pit_parallel allows.
 */
static void
AddPitPaths(PlannerInfo *root, RelOptInfo *joinrel, Path *spine_path,
			Path *feat_path, RelOptInfo *featrel, PitJoinInfo *info)
{
	bool		probe_added = false;
	ListCell   *lc;

	joinrel->pathlist = NIL;
	joinrel->partial_pathlist = NIL;
	if (pit_strategy_guc == PIT_AUTO || pit_strategy_guc == PIT_PROBE)
	{
		CustomPath *probe = MakeProbePath(root, joinrel, spine_path, featrel, info);

		if (probe != NULL)
		{
			add_path(joinrel, (Path *) probe);
			probe_added = true;
		}
	}
	/* a forced probe without a usable index falls back to hash */
	if (pit_strategy_guc == PIT_AUTO || pit_strategy_guc == PIT_HASH ||
		(pit_strategy_guc == PIT_PROBE && joinrel->pathlist == NIL))
		add_path(joinrel, (Path *) MakePitPath(root, joinrel, spine_path, feat_path,
											   info, PIT_HASH, 0));
	if (pit_strategy_guc == PIT_AUTO || pit_strategy_guc == PIT_MERGE)
		add_path(joinrel, (Path *) MakePitPath(root, joinrel, spine_path, feat_path,
											   info, PIT_MERGE, 0));
	/*
	 * A forced probe that found its index stays a probe.  A partition pair
	 * of a partition-wise join stays serial: its parallel form would need
	 * the Append above it to be parallel too.
	 */
	if ((pit_strategy_guc != PIT_PROBE || !probe_added) && !IS_OTHER_REL(joinrel))
		AddPartialPitPaths(root, joinrel, spine_path, feat_path, featrel, info);

	/* forced parallel: the serial plans only when no partial one exists */
	if (pit_parallel_guc == PIT_PARALLEL_FORCE && joinrel->partial_pathlist != NIL)
	{
		foreach(lc, joinrel->pathlist)
		{
			Path	   *path = (Path *) lfirst(lc);

			path->startup_cost += disable_cost;
			path->total_cost += disable_cost;
		}
	}
}

/*
 * PitStableRel tells whether every read of a relation in one statement
 * returns the same set of rows: a table (plain, partitioned or
 * materialized view, not foreign) scanned without TABLESAMPLE, with no
 * volatile function in its filters or outputs.  A subquery or a join could
 * hold a LIMIT or another order-dependent choice.
 */
static bool
PitStableRel(PlannerInfo *root, RelOptInfo *rel)
{
	RangeTblEntry *rte;
	ListCell   *lc;

	if (rel->reloptkind != RELOPT_BASEREL || rel->rtekind != RTE_RELATION)
		return false;
	rte = planner_rt_fetch(rel->relid, root);
	if (rte->tablesample != NULL ||
		(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE &&
		 rte->relkind != RELKIND_MATVIEW))
		return false;
	foreach(lc, rel->baserestrictinfo)
	{
		if (contain_volatile_functions((Node *) lfirst_node(RestrictInfo, lc)->clause))
			return false;
	}
	return !contain_volatile_functions((Node *) rel->reltarget->exprs);
}

/*
 * CheapestParallelSafe returns the cheapest unparameterized path of a rel
 * that can run inside a parallel worker, or NULL (a Gather is not one).
 */
static Path *
CheapestParallelSafe(RelOptInfo *rel)
{
	Path	   *best = NULL;
	ListCell   *lc;

	foreach(lc, rel->pathlist)
	{
		Path	   *path = (Path *) lfirst(lc);

		if (!path->parallel_safe || path->param_info != NULL)
			continue;
		if (best == NULL || path->total_cost < best->total_cost)
			best = path;
	}
	return best;
}

/* Past this much spine state the hash strategy's filing misses the cache */
#define PIT_CACHE_BYTES (8.0 * 1024 * 1024)

/*
 * What a split read costs per spine row in each participant beyond its
 * share, times 1 / (1 - 1 / participants) (PitSplitPlanned): measured, 390
 * ns on 2 participants where a history row's scan costs 58 ns, that is 26
 * times cpu_tuple_cost at the defaults
 */
#define PIT_SPLIT_SPINE_COST (26.0 * cpu_tuple_cost)

/*
 * PitPlannedWorkers is the number of workers a parallel PitJoin plans for
 * a feature side of the given pages.  The planner's choice assumes idle
 * cores: without featstore.pit_parallel = force it is capped so that the
 * participants, the leader included, are no more than the machine's online
 * cores.  Measured on 2 cores, a third participant made every parallel
 * join slower (docs/performance.md).
 */
static int
PitPlannedWorkers(RelOptInfo *featrel, double pages)
{
	int			nworkers = compute_parallel_worker(featrel, pages, -1,
												   max_parallel_workers_per_gather);
	long		ncpu;

	if (pit_parallel_guc == PIT_PARALLEL_FORCE)
		return nworkers;
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu > 0)
		nworkers = Min(nworkers, (int) Min(ncpu - (parallel_leader_participation ? 1 : 0), INT_MAX));
	return nworkers;
}

/*
 * AddPartialPitPaths offers the parallel-aware PitJoin: under Gather, each
 * participant reads both children in full (they are not partial paths),
 * claims key-hash partitions from a counter in shared memory, keeps only
 * its partitions' spine rows and emits their joined rows.  A spine row's
 * result depends only on its own key and the whole history, which every
 * participant reads, and each partition is claimed exactly once, so every
 * spine row is emitted exactly once.
 */
static void
AddPartialPitPaths(PlannerInfo *root, RelOptInfo *joinrel, Path *spine_path,
				   Path *feat_path, RelOptInfo *featrel, PitJoinInfo *info)
{
	int			nworkers;

	if (pit_parallel_guc == PIT_PARALLEL_OFF || !joinrel->consider_parallel ||
		max_parallel_workers_per_gather <= 0)
		return;
	/*
	 * Each participant runs its own copy of the children, so they must all
	 * see the same rows: plain tables, no LIMIT, sample or volatile filter
	 * whose answer could differ between two reads.
	 */
	if (!PitStableRel(root, spine_path->parent) || !PitStableRel(root, featrel))
		return;
	/* each participant runs its own full copy of the children */
	spine_path = CheapestParallelSafe(spine_path->parent);
	feat_path = CheapestParallelSafe(feat_path->parent);
	if (spine_path == NULL || feat_path == NULL)
		return;
	spine_path = SpineInputPath(root, spine_path, info);
	if (!spine_path->parallel_safe)
		return;
	nworkers = PitPlannedWorkers(featrel, featrel->pages);
	if (nworkers <= 0)
		return;
	if (pit_strategy_guc == PIT_AUTO || pit_strategy_guc == PIT_HASH ||
		pit_strategy_guc == PIT_PROBE)
		add_partial_path(joinrel, (Path *) MakePitPath(root, joinrel, spine_path, feat_path,
													   info, PIT_HASH, nworkers));
	if (pit_strategy_guc == PIT_AUTO || pit_strategy_guc == PIT_MERGE)
		add_partial_path(joinrel, (Path *) MakePitPath(root, joinrel, spine_path, feat_path,
													   info, PIT_MERGE, nworkers));
}

/*
 * MakeProbePath builds the index-probe path when the feature side is a plain
 * table with a btree on (keys..., event_timestamp, created_at): one descent
 * per spine row, reading backwards from the spine timestamp.  It returns
 * NULL when there is no such index, or when the table carries quals (a
 * WHERE condition or row-level security) that the probe would bypass.
 */
static CustomPath *
MakeProbePath(PlannerInfo *root, RelOptInfo *joinrel, Path *spine_path,
			  RelOptInfo *featrel, PitJoinInfo *info)
{
	RangeTblEntry *rte;
	ListCell   *lc;

	if (featrel->reloptkind != RELOPT_BASEREL || featrel->rtekind != RTE_RELATION ||
		featrel->baserestrictinfo != NIL)
		return NULL;
	rte = planner_rt_fetch(featrel->relid, root);
	if (rte->inh || rte->relkind != RELKIND_RELATION || rte->securityQuals != NIL)
		return NULL;
	/* the node reads the table's own tuples: only plain columns above it */
	foreach(lc, featrel->reltarget->exprs)
	{
		Node	   *e = (Node *) lfirst(lc);

		if (!IsA(e, Var) || ((Var *) e)->varattno <= 0)
			return NULL;
	}

	foreach(lc, featrel->indexlist)
	{
		IndexOptInfo *ind = (IndexOptInfo *) lfirst(lc);
		List	   *index_keys;
		bool		desc;

		if (ProbeIndexServes(ind, info, &index_keys, &desc))
			return MakeProbePathFor(root, joinrel, spine_path, featrel, info,
									ind, index_keys, desc);
	}
	return NULL;
}

/*
 * ProbeIndexServes says whether the probe can use an index: one that serves
 * the point-in-time rule for the join's keys (PitIndexFit), its keys in any
 * order, ascending or both timestamps descending, since the probe looks
 * each key up by equality.  *index_keys gets the key number of each index
 * column, *desc whether the timestamps are stored descending.
 */
static bool
ProbeIndexServes(IndexOptInfo *ind, PitJoinInfo *info, List **index_keys, bool *desc)
{
	int			nkeys = list_length(info->feat_keys);
	AttrNumber *attnums;
	Oid		   *types;
	Oid		   *colls;
	Relation	index;
	PitIndexShape shape;
	int			j = 0;
	ListCell   *lc;

	/* what the IndexOptInfo tells, without opening the index */
	if (ind->relam != BTREE_AM_OID || ind->nkeycolumns < nkeys + 2 ||
		ind->indpred != NIL)
		return false;
	attnums = palloc(sizeof(AttrNumber) * nkeys);
	types = palloc(sizeof(Oid) * nkeys);
	colls = palloc(sizeof(Oid) * nkeys);
	foreach(lc, info->feat_keys)
	{
		attnums[j] = ((Var *) lfirst(lc))->varattno;
		types[j] = ((Var *) lfirst(lc))->vartype;
		colls[j] = list_nth_oid(info->key_colls, j);
		j++;
	}
	/* the planner locked the table's indexes when it listed them */
	index = index_open(ind->indexoid, NoLock);
	PitIndexFit(index, nkeys, attnums, types, colls,
				((Var *) linitial(info->marker->args))->varattno,
				((Var *) lsecond(info->marker->args))->varattno, &shape);
	index_close(index, NoLock);
	if (!shape.serves)
		return false;
	*index_keys = NIL;
	for (int i = 0; i < nkeys; i++)
		*index_keys = lappend_int(*index_keys, shape.key_at[i]);
	*desc = shape.descending;
	return true;
}

/* MakeProbePathFor builds and costs the probe path over one index */
static CustomPath *
MakeProbePathFor(PlannerInfo *root, RelOptInfo *joinrel, Path *spine_path,
				 RelOptInfo *featrel, PitJoinInfo *info, IndexOptInfo *ind,
				 List *index_keys, bool desc)
{
	CustomPath *cpath = makeNode(CustomPath);
	double		nspine = clamp_row_est(spine_path->rows);
	double		ntup = Max(featrel->tuples, 2.0);
	int			nkeys = list_length(info->feat_keys);
	Cost		per_probe;

	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = joinrel;
	cpath->path.pathtarget = joinrel->reltarget;
	cpath->path.param_info = NULL;
	cpath->path.parallel_aware = false;
	cpath->path.parallel_safe = joinrel->consider_parallel && spine_path->parallel_safe;
	cpath->path.parallel_workers = 0;
	cpath->path.pathkeys = NIL;
	cpath->path.rows = info->left ? nspine : clamp_row_est(Min(nspine, joinrel->rows));
	cpath->flags = 0;
	cpath->custom_paths = list_make1(spine_path);
	cpath->methods = &pit_path_methods;

	/*
	 * A descent and one heap visit per spine row, at random.  The pages
	 * read are PostgreSQL's own estimate for repeated index scans
	 * (index_pages_fetched, Mackert and Lohman): once the spine outnumbers
	 * the pages, they repeat from cache while the index and the table fit
	 * in effective_cache_size, and are read again when they do not, which
	 * at scale makes the probe lose to hash.  Each descent also pays for
	 * the pages it passes, as btcostestimate charges them (50 operators a
	 * page): measured at the anchors' L scale, a probe cost five times what
	 * hash spends per spine row, with the index in memory.
	 */
	per_probe = 2.0 * cpu_operator_cost * (log2(ntup) + nkeys) +
		cpu_index_tuple_cost + cpu_tuple_cost * 2.0 +
		(Max(ind->tree_height, 1) + 1) * 50.0 * cpu_operator_cost;
	cpath->path.startup_cost = spine_path->startup_cost;
	cpath->path.total_cost = spine_path->total_cost + nspine * per_probe +
		random_page_cost * (index_pages_fetched(nspine, ind->pages, (double) ind->pages, root) +
							index_pages_fetched(nspine, featrel->pages, (double) ind->pages, root));

	cpath->custom_private = PitPathPrivate(info, PIT_PROBE);
	cpath->custom_private = lappend(cpath->custom_private, makeInteger((int) ind->indexoid));
	cpath->custom_private = lappend(cpath->custom_private, makeInteger((int) featrel->relid));
	cpath->custom_private = lappend(cpath->custom_private, index_keys);
	cpath->custom_private = lappend(cpath->custom_private, makeInteger(desc));
	return cpath;
}

/* IsPitMarker tells whether a clause is a call of featstore.pit_match */
static bool
IsPitMarker(Node *clause)
{
	FuncExpr   *func;
	char	   *name;
	Oid			nsp;

	if (clause == NULL || !IsA(clause, FuncExpr))
		return false;
	func = (FuncExpr *) clause;
	/* built-in functions are never the marker: skip the catalog lookups */
	if (func->funcid < FirstNormalObjectId)
		return false;
	name = get_func_name(func->funcid);
	if (name == NULL || strcmp(name, PIT_MARKER_NAME) != 0)
		return false;
	nsp = get_func_namespace(func->funcid);
	return nsp == FeatstoreSchemaOid(true) && OidIsValid(nsp);
}

/*
 * ClassifyJoinClauses sorts the join clauses into the marker, key
 * equalities and filters on the output.  It returns false when a clause fits
 * none of them (an ON condition PitJoin cannot apply).
 */
static bool
ClassifyJoinClauses(List *restrictlist, RelOptInfo *joinrel,
					RelOptInfo *spinerel, RelOptInfo *featrel, PitJoinInfo *info)
{
	ListCell   *lc;

	foreach(lc, restrictlist)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		bool		pushed = RINFO_IS_PUSHED_DOWN(rinfo, joinrel->relids);

		if ((Node *) rinfo->clause == (Node *) info->marker)
			continue;
		if (rinfo->pseudoconstant)
			return false;
		if ((!info->left || !pushed) && IsA(rinfo->clause, OpExpr) &&
			IsKeyEquality((OpExpr *) rinfo->clause, spinerel, featrel, info))
			continue;
		if (pushed)
		{
			info->quals = lappend(info->quals, rinfo);
			continue;
		}
		return false;
	}
	return true;
}

/*
 * IsKeyEquality recognises "spine.k = feature.k", a plain column of the
 * feature table against a column of the spine or an expression over it,
 * of one type with that type's default equality, and records it as a key.
 * The spine side is an expression when a spine subquery computes its key
 * (lower(k) AS k) and is pulled up into the join.
 */
static bool
IsKeyEquality(OpExpr *op, RelOptInfo *spinerel, RelOptInfo *featrel,
			  PitJoinInfo *info)
{
	Node	   *l;
	Node	   *r;
	Node	   *sv;
	Var		   *fv;
	TypeCacheEntry *tce;

	if (list_length(op->args) != 2)
		return false;
	l = (Node *) linitial(op->args);
	r = (Node *) lsecond(op->args);
	if (IsFeatureColumn(r, featrel) && IsSpineExpr(l, spinerel))
	{
		sv = l;
		fv = (Var *) r;
	}
	else if (IsFeatureColumn(l, featrel) && IsSpineExpr(r, spinerel))
	{
		sv = r;
		fv = (Var *) l;
	}
	else
		return false;
	if (exprType(sv) != fv->vartype)
		return false;
	tce = lookup_type_cache(fv->vartype,
							TYPECACHE_EQ_OPR | TYPECACHE_LT_OPR |
							TYPECACHE_CMP_PROC | TYPECACHE_HASH_PROC);
	if (tce->eq_opr != op->opno || !OidIsValid(tce->lt_opr) ||
		!OidIsValid(tce->cmp_proc) || !OidIsValid(tce->hash_proc))
		return false;
	/* equality under a nondeterministic collation is not byte equality */
	if (OidIsValid(op->inputcollid) && !get_collation_isdeterministic(op->inputcollid))
		return false;

	info->spine_keys = lappend(info->spine_keys, sv);
	info->feat_keys = lappend(info->feat_keys, fv);
	info->key_clauses = lappend(info->key_clauses, op);
	info->key_colls = lappend_oid(info->key_colls, op->inputcollid);
	return true;
}

/* IsFeatureColumn tells whether a node is a plain column of the feature rel */
static bool
IsFeatureColumn(Node *node, RelOptInfo *featrel)
{
	return IsA(node, Var) && ((Var *) node)->varlevelsup == 0 &&
		bms_is_member(((Var *) node)->varno, featrel->relids);
}

/*
 * IsSpineExpr tells whether a node can be a spine key: a column of the
 * spine, or an expression over the spine's columns alone that the spine's
 * scan can compute once per row (nothing volatile, no subplan).
 */
static bool
IsSpineExpr(Node *node, RelOptInfo *spinerel)
{
	List	   *vars;
	ListCell   *lc;

	if (IsA(node, Var))
		return ((Var *) node)->varlevelsup == 0 &&
			bms_is_member(((Var *) node)->varno, spinerel->relids);
	if (contain_volatile_functions(node) || contain_subplans(node))
		return false;
	vars = pull_var_clause(node, PVC_RECURSE_PLACEHOLDERS);
	if (vars == NIL)
		return false;
	foreach(lc, vars)
	{
		if (!bms_is_member(((Var *) lfirst(lc))->varno, spinerel->relids))
			return false;
	}
	return true;
}

/*
 * SpineInputPath returns the spine path the node reads, with a projection
 * on top when a spine key or the spine timestamp is an expression: the node
 * reads its keys and timestamp as columns of its spine child, so the child
 * computes them, once per row.
 */
static Path *
SpineInputPath(PlannerInfo *root, Path *path, PitJoinInfo *info)
{
	PathTarget *target = NULL;
	List	   *needed = lappend(list_copy(info->spine_keys), lthird(info->marker->args));
	ListCell   *lc;

	foreach(lc, needed)
	{
		Expr	   *e = (Expr *) lfirst(lc);

		if (list_member(path->pathtarget->exprs, e) ||
			(target != NULL && list_member(target->exprs, e)))
			continue;
		if (target == NULL)
			target = copy_pathtarget(path->pathtarget);
		add_new_column_to_pathtarget(target, e);
	}
	if (target == NULL)
		return path;
	set_pathtarget_cost_width(root, target);
	return (Path *) create_projection_path(root, path->parent, path, target);
}

/*
 * MakePitPath builds one PitJoin path for a strategy and costs it.
 *
 * hash: the spine is loaded into memory and sorted by (key hash, key, ts);
 * the feature child is read once, in whatever order it comes, and each row
 * is filed at its spine position; a per-key prefix-max sweep finishes.
 * merge: both sides go through a tuplesort, then one merge pass.  It is the
 * fallback when the spine does not fit in work_mem.
 */
static CustomPath *
MakePitPath(PlannerInfo *root, RelOptInfo *joinrel, Path *spine_path,
			Path *feat_path, PitJoinInfo *info, PitStrategy strategy,
			int nworkers)
{
	CustomPath *cpath = makeNode(CustomPath);
	double		nspine = clamp_row_est(spine_path->rows);
	double		nfeat = clamp_row_est(feat_path->rows);
	int			nkeys = list_length(info->spine_keys);
	Cost		startup;
	Cost		run;
	bool		split = false;

	/*
	 * A parallel-aware node divides the spine, and the history rows it
	 * keeps, among nworkers + 1 partitions (the leader takes one too); each
	 * participant still reads both children in full, unless a hash join
	 * reads its history split (PitSplitPlanned).
	 */
	double		nparts = nworkers > 0 ? nworkers + 1.0 : 1.0;

	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = joinrel;
	cpath->path.pathtarget = joinrel->reltarget;
	cpath->path.param_info = NULL;
	cpath->path.parallel_aware = nworkers > 0;
	cpath->path.parallel_safe = joinrel->consider_parallel &&
		spine_path->parallel_safe && feat_path->parallel_safe;
	cpath->path.parallel_workers = nworkers;
	cpath->path.pathkeys = NIL;
	cpath->path.rows = info->left ? nspine : clamp_row_est(Min(nspine, joinrel->rows));
	/* a partial path's rows are per participant */
	cpath->path.rows = clamp_row_est(cpath->path.rows / nparts);
	cpath->flags = 0;
	cpath->custom_paths = list_make2(spine_path, PitPhysicalPath(root, feat_path));
	cpath->methods = &pit_path_methods;

	/* both strategies read both children to the end before the first row */
	startup = spine_path->total_cost + feat_path->total_cost;
	startup += nfeat * cpu_operator_cost * (nkeys + 3);
	startup += PitStrategyCost(root, spine_path, feat_path, strategy, nparts, &split);
	run = nspine / nparts * (cpu_tuple_cost + cpu_operator_cost * (nkeys + 2));
	cpath->path.startup_cost = startup;
	cpath->path.total_cost = startup + run;

	cpath->custom_private = PitPathPrivate(info, strategy);
	lfirst(list_nth_cell(cpath->custom_private, PIT_PATH_SPLIT)) = makeInteger(split);
	return cpath;
}

/*
 * PitPlainTableScan opens the table that path scans when path is a serial
 * sequential scan of one plain table (no inheritance, no partitions, not a
 * view or foreign table), and returns NULL otherwise.  The caller closes it
 * with NoLock: the planner holds the table's lock.
 */
static Relation
PitPlainTableScan(PlannerInfo *root, Path *path)
{
	RelOptInfo *rel = path->parent;
	RangeTblEntry *rte;

	if (!IsA(path, Path) || path->pathtype != T_SeqScan || path->parallel_aware ||
		rel->reloptkind != RELOPT_BASEREL || rel->rtekind != RTE_RELATION)
		return NULL;
	rte = planner_rt_fetch(rel->relid, root);
	if (rte->inh || rte->relkind != RELKIND_RELATION)
		return NULL;
	return table_open(rte->relid, NoLock);
}

/*
 * PitPhysicalPath returns a sequential scan of the history that yields the
 * table's own rows when the join needs every column of it: the same path
 * with its target in column order.  A custom scan's children are planned
 * with exact targetlists, which list the columns in the order the query
 * names them; the scan then projects every row into a new tuple, which the
 * hash strategy copies again.  In the table's order the executor sees that
 * the targetlist matches the table and returns the row in its buffer
 * (measured at S: forming and freeing the projected rows took about 8% of
 * the join).  Any other path, or a target that is a strict subset of the
 * columns (whose rows are narrower than the table's), is returned as is.
 */
static Path *
PitPhysicalPath(PlannerInfo *root, Path *path)
{
	RelOptInfo *rel = path->parent;
	Relation	relation;
	TupleDesc	desc;
	PathTarget *target;
	Path	   *copy;
	int			natts;
	bool		plain = true;

	if (path->param_info != NULL || (relation = PitPlainTableScan(root, path)) == NULL)
		return path;
	desc = RelationGetDescr(relation);
	natts = desc->natts;
	/* a dropped or added-with-default column makes the executor project */
	for (int i = 0; plain && i < natts; i++)
		plain = !TupleDescAttr(desc, i)->attisdropped &&
			!TupleDescAttr(desc, i)->atthasmissing;
	table_close(relation, NoLock);
	if (!plain || list_length(path->pathtarget->exprs) != natts)
		return path;

	target = create_empty_pathtarget();
	for (AttrNumber attno = 1; attno <= natts; attno++)
	{
		Var		   *found = NULL;
		ListCell   *lc;

		foreach(lc, path->pathtarget->exprs)
		{
			Var		   *var = (Var *) lfirst(lc);

			if (IsA(var, Var) && (Index) var->varno == rel->relid && var->varattno == attno)
				found = var;
		}
		if (found == NULL)
			return path;
		add_column_to_pathtarget(target, (Expr *) copyObject(found), 0);
	}
	target->cost = path->pathtarget->cost;
	target->width = path->pathtarget->width;
	copy = makeNode(Path);
	memcpy(copy, path, sizeof(Path));
	copy->pathtarget = target;
	return copy;
}

/* PitPages is how many pages rows of a width take, as costsize.c counts */
static double
PitPages(double rows, int width)
{
	return ceil(rows * (MAXALIGN(width) + MAXALIGN(SizeofHeapTupleHeader)) / BLCKSZ);
}

/*
 * PitStrategyCost is what a strategy adds, per participant, to reading both
 * children: for hash, sorting the spine and filing the history (and the
 * split read's trade, *split saying whether it is planned); for merge, the
 * two sorts.  nparts is the number of participants, 1 when serial.
 */
static Cost
PitStrategyCost(PlannerInfo *root, Path *spine_path, Path *feat_path,
				PitStrategy strategy, double nparts, bool *split)
{
	double		nspine = clamp_row_est(spine_path->rows);
	double		nfeat = clamp_row_est(feat_path->rows);
	Cost		startup = 0.0;
	Cost		shared = 0.0;

	*split = false;
	if (strategy == PIT_HASH)
	{
		/*
		 * What the hash strategy holds: per spine row its copy, entry,
		 * position and table share; per matched position a feature row.
		 */
		double		spine_bytes = nspine * (spine_path->pathtarget->width + 160.0) +
			Min(nspine, nfeat) * (feat_path->pathtarget->width + 32.0);

		/* a split read: each participant a share of the history, all the spine */
		*split = nparts > 1.0 && PitSplitPlanned(root, feat_path, nspine, spine_bytes);
		if (*split)
			startup += (nspine * PIT_SPLIT_SPINE_COST - feat_path->total_cost) *
				(1.0 - 1.0 / nparts);

		/*
		 * Sort the spine in memory, then one hash probe and a short binary
		 * search per feature row; no sort of the history.
		 */
		shared += 2.0 * cpu_operator_cost * nspine * log2(Max(nspine, 2.0));
		shared += nfeat * cpu_operator_cost * 3.0;

		/*
		 * Once the key table and the positions outgrow the cache, each
		 * feature row's probe and filing miss it: measured at M (1M spine
		 * rows, 10M history rows) as the largest share of the join, more
		 * than the scan.  This is the work a parallel plan divides.
		 */
		if (spine_bytes > PIT_CACHE_BYTES)
			shared += nfeat * cpu_tuple_cost * 1.5;
		/*
		 * A spine larger than work_mem (never under a split read,
		 * PitSplitPlanned): the join runs in batches (pit_exec_grace.c),
		 * writing and reading back all but one batch's rows of both sides,
		 * as cost_hashjoin charges its batches.
		 */
		if (spine_bytes / nparts > work_mem * 1024.0)
		{
			double		nbatch = ceil(spine_bytes / nparts / (PIT_GRACE_FILL * work_mem * 1024.0));
			double		out = 1.0 - 1.0 / Max(nbatch, 2.0);

			shared += out * 2.0 * seq_page_cost *
				(PitPages(nspine, spine_path->pathtarget->width) +
				 PitPages(nfeat, feat_path->pathtarget->width));
			shared += out * (nspine + nfeat) * cpu_tuple_cost;
		}
	}
	else
	{
		Path		sort_path;

		cost_sort(&sort_path, root, NIL, 0, nspine / nparts, spine_path->pathtarget->width,
				  0.0, work_mem, -1.0);
		shared += sort_path.total_cost;
		cost_sort(&sort_path, root, NIL, 0, nfeat / nparts, feat_path->pathtarget->width,
				  0.0, work_mem, -1.0);
		shared += sort_path.total_cost;
		shared *= nparts;
	}
	return startup + shared / nparts;
}

/*
 * PitSplitPlanned says whether a parallel hash join should read its history
 * split (pit_exec_hash.c, "the split read"): the history is a plain heap
 * table of fixed-width rows read by a sequential scan, the whole spine fits
 * in work_mem in every participant, and the scan it divides costs more than
 * what each participant then does for the whole spine instead of its share
 * (copying, sorting and indexing it, and exchanging candidates).  Measured
 * at M (1M spine rows, 10M history rows, 2 participants), that is 390 ns
 * more per spine row in each participant, while each saves half of the
 * scan's 58 ns per history row: the split read lost there, and won by 22%
 * with a spine ten times smaller (docs/performance.md).  Both sides scale
 * with 1 - 1 / participants, so the rule does not depend on their number.
 */
static bool
PitSplitPlanned(PlannerInfo *root, Path *feat_path, double nspine, double spine_bytes)
{
	Relation	rel;
	bool		fixed;

	if (pit_parallel_split_guc == PIT_PARALLEL_OFF ||
		(rel = PitPlainTableScan(root, feat_path)) == NULL)
		return false;
	fixed = rel->rd_rel->relam == HEAP_TABLE_AM_OID &&
		PitRowsFixedWidth(RelationGetDescr(rel));
	table_close(rel, NoLock);
	if (!fixed || spine_bytes > work_mem * 1024.0)
		return false;
	return pit_parallel_split_guc == PIT_PARALLEL_FORCE ||
		feat_path->total_cost > nspine * PIT_SPLIT_SPINE_COST;
}

/* PitPathPrivate lays out what a PitJoin path carries to PlanPitPath */
static List *
PitPathPrivate(PitJoinInfo *info, PitStrategy strategy)
{
	List	   *priv = NIL;

	priv = lappend(priv, makeInteger(strategy));
	priv = lappend(priv, makeInteger(info->left));
	priv = lappend(priv, info->marker);
	priv = lappend(priv, info->spine_keys);
	priv = lappend(priv, info->feat_keys);
	priv = lappend(priv, info->key_clauses);
	priv = lappend(priv, info->key_colls);
	priv = lappend(priv, info->quals);
	priv = lappend(priv, makeInteger(0));
	return priv;
}

/*
 * What PlanPitPath has worked out for the plan's custom_private, gathered
 * for PitPlanPrivate
 */
typedef struct PitPlanParts
{
	CustomPath *path;
	RelOptInfo *rel;
	int			strategy;
	FuncExpr   *marker;
	Plan	   *spine_plan;
	Plan	   *feat_plan;		/* NULL for the probe: it reads the table */
	Index		feat_relid;		/* the probe's feature table */
	List	   *spine_resnos;
	List	   *feat_resnos;
	List	   *map_side;
	List	   *map_resno;
	List	   *pii_map;		/* PitPiiPlan's */
	List	   *pii_names;
} PitPlanParts;

/*
 * PlanPitPath turns a PitJoin path into a CustomScan.  The children keep
 * their own targetlists; the scan tuple is built from them through the
 * column map in custom_private, since setrefs only rewrites custom_exprs
 * against the join's own output.
 */
static Plan *
PlanPitPath(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
			List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *cscan = makeNode(CustomScan);
	List	   *priv = best_path->custom_private;
	List	   *quals = (List *) list_nth(priv, PIT_PATH_QUALS);
	PitPlanParts parts;
	List	   *vars;
	List	   *exprs;
	ListCell   *lc;

	memset(&parts, 0, sizeof(parts));
	parts.path = best_path;
	parts.rel = rel;
	parts.strategy = intVal(list_nth(priv, PIT_PATH_STRATEGY));
	parts.marker = (FuncExpr *) list_nth(priv, PIT_PATH_MARKER);
	parts.spine_plan = (Plan *) linitial(custom_plans);
	parts.feat_plan = list_length(custom_plans) > 1 ? (Plan *) lsecond(custom_plans) : NULL;
	parts.feat_relid = parts.strategy == PIT_PROBE || parts.strategy == PIT_WINDOW ?
		(Index) intVal(list_nth(priv, PIT_PATH_FEAT_RELID)) : 0;

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = extract_actual_clauses(quals, false);
	cscan->scan.scanrelid = 0;
	cscan->flags = best_path->flags;
	cscan->custom_plans = custom_plans;
	cscan->custom_relids = bms_copy(rel->relids);
	cscan->methods = &pit_scan_methods;

	exprs = list_make3(list_nth(parts.marker->args, 3), list_nth(parts.marker->args, 4),
					   list_nth(parts.marker->args, 5));
	exprs = list_concat(exprs, copyObject((List *) list_nth(priv, PIT_PATH_KEY_CLAUSES)));
	/* window: the conditions on the computed row, after the keys */
	if (parts.strategy == PIT_WINDOW)
		exprs = list_concat(exprs,
							extract_actual_clauses((List *) list_nth(priv, PIT_PATH_WINDOW_QUALS),
												   false));
	cscan->custom_exprs = exprs;

	/* every column used above the node, in its quals or custom_exprs */
	vars = pull_var_clause((Node *) list_make3(tlist, cscan->scan.plan.qual, exprs),
						   PVC_INCLUDE_PLACEHOLDERS);
	vars = list_concat(vars, list_copy_head(parts.marker->args, 3));
	cscan->custom_scan_tlist = add_to_flat_tlist(NIL, vars);
	PitScanColumnMap(cscan->custom_scan_tlist, &parts);
	PitPiiPlan(root, cscan->custom_scan_tlist, parts.map_side,
			   &parts.pii_map, &parts.pii_names);

	foreach(lc, (List *) list_nth(priv, PIT_PATH_SPINE_KEYS))
		parts.spine_resnos = lappend_int(parts.spine_resnos,
										 ChildResno(parts.spine_plan, lfirst(lc)));
	foreach(lc, (List *) list_nth(priv, PIT_PATH_FEAT_KEYS))
		parts.feat_resnos = lappend_int(parts.feat_resnos,
										FeatureResno(parts.feat_plan, parts.feat_relid,
													 lfirst(lc)));
	if (list_member_int(parts.spine_resnos, InvalidAttrNumber) ||
		list_member_int(parts.feat_resnos, InvalidAttrNumber))
		elog(ERROR, "featstore: point-in-time join key not found in its input");

	cscan->custom_private = NIL;
	for (int f = 0; f < PIT_PRIV_NFIELDS; f++)
	{
		/* an empty IntList is NIL, which a List cannot distinguish; keep a slot */
		cscan->custom_private = lappend(cscan->custom_private,
										PitPlanPrivate(&parts, (PitPrivateField) f));
	}
	return &cscan->scan.plan;
}

/*
 * PitScanColumnMap records, for each entry of the node's scan tlist, the
 * side (0 spine, 1 feature) and the child's column it comes from.
 */
static void
PitScanColumnMap(List *scan_tlist, PitPlanParts *parts)
{
	ListCell   *lc;

	foreach(lc, scan_tlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		AttrNumber	resno;

		if ((resno = ChildResno(parts->spine_plan, (Node *) tle->expr)) != InvalidAttrNumber)
		{
			parts->map_side = lappend_int(parts->map_side, 0);
			parts->map_resno = lappend_int(parts->map_resno, resno);
		}
		else if ((resno = FeatureResno(parts->feat_plan, parts->feat_relid,
									   (Node *) tle->expr)) != InvalidAttrNumber)
		{
			parts->map_side = lappend_int(parts->map_side, 1);
			parts->map_resno = lappend_int(parts->map_resno, resno);
		}
		else
			elog(ERROR, "featstore: point-in-time join column not found in either input");
	}
}

/* PitPlanPrivate returns one field of the plan's custom_private (pit.h) */
static Node *
PitPlanPrivate(PitPlanParts *parts, PitPrivateField f)
{
	List	   *priv = parts->path->custom_private;
	List	   *args = parts->marker->args;
	bool		probe = parts->strategy == PIT_PROBE;
	bool		window = parts->strategy == PIT_WINDOW;

	switch (f)
	{
		case PIT_PRIV_STRATEGY:
			return (Node *) makeInteger(parts->strategy);
		case PIT_PRIV_LEFT:
			return (Node *) makeInteger(intVal(list_nth(priv, PIT_PATH_LEFT)));
		case PIT_PRIV_SPINE_KEYS:
			return (Node *) parts->spine_resnos;
		case PIT_PRIV_FEAT_KEYS:
			return (Node *) parts->feat_resnos;
		case PIT_PRIV_KEY_COLLS:
			return (Node *) list_nth(priv, PIT_PATH_KEY_COLLS);
		case PIT_PRIV_SPINE_TS:
			return (Node *) makeInteger(ChildResno(parts->spine_plan, list_nth(args, 2)));
		case PIT_PRIV_FEAT_ETS:
			return (Node *) makeInteger(FeatureResno(parts->feat_plan, parts->feat_relid,
													 list_nth(args, 0)));
		case PIT_PRIV_FEAT_CAT:
			return (Node *) makeInteger(FeatureResno(parts->feat_plan, parts->feat_relid,
													 list_nth(args, 1)));
		case PIT_PRIV_MAP_SIDE:
			return (Node *) parts->map_side;
		case PIT_PRIV_MAP_RESNO:
			return (Node *) parts->map_resno;
		case PIT_PRIV_INDEX:
			return (Node *) makeInteger(probe ? intVal(list_nth(priv, PIT_PATH_INDEX)) : 0);
		case PIT_PRIV_FEAT_RELPOS:
			{
				/* setrefs renumbers custom_relids; its rank survives */
				int			rank = 0;
				int			m = -1;

				while ((m = bms_next_member(parts->rel->relids, m)) >= 0 &&
					   (Index) m < parts->feat_relid)
					rank++;
				return (Node *) makeInteger(rank);
			}
		case PIT_PRIV_INDEX_KEYS:
			return probe ? (Node *) list_nth(priv, PIT_PATH_INDEX_KEYS) : NULL;
		case PIT_PRIV_INDEX_DESC:
			return (Node *) makeInteger(probe ? intVal(list_nth(priv, PIT_PATH_INDEX_DESC)) : 0);
		case PIT_PRIV_PARALLEL:
			return (Node *) makeInteger(parts->path->path.parallel_aware ?
										parts->path->path.parallel_workers : 0);
		case PIT_PRIV_SPLIT:
			return (Node *) makeInteger(parts->path->path.parallel_aware &&
										intVal(list_nth(priv, PIT_PATH_SPLIT)));
		case PIT_PRIV_PII_MAP:
			return (Node *) parts->pii_map;
		case PIT_PRIV_PII_NAMES:
			return (Node *) parts->pii_names;
		case PIT_PRIV_WINDOW_GROUP:
			return window ? (Node *) list_nth(priv, PIT_PATH_WINDOW_GROUP) : NULL;
		case PIT_PRIV_WINDOW_TEXT:
			return window ? (Node *) list_nth(priv, PIT_PATH_WINDOW_TEXT) : NULL;
		case PIT_PRIV_WINDOW_TYPES:
			return window ? (Node *) list_nth(priv, PIT_PATH_WINDOW_TYPES) : NULL;
		case PIT_PRIV_WINDOW_NQUALS:
			return (Node *) makeInteger(window ?
										list_length((List *) list_nth(priv, PIT_PATH_WINDOW_QUALS)) : 0);
		default:
			elog(ERROR, "featstore: unexpected private field %d", f);
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * FeatureResno finds a feature-side column: in the feature child's
 * targetlist, or for the probe strategy (no child: the node reads the
 * table) as the table's own attribute number.
 */
static AttrNumber
FeatureResno(Plan *feat_plan, Index feat_relid, Node *expr)
{
	if (feat_plan != NULL)
		return ChildResno(feat_plan, expr);
	if (IsA(expr, Var) && ((Var *) expr)->varno == (int) feat_relid &&
		((Var *) expr)->varlevelsup == 0 && ((Var *) expr)->varattno > 0)
		return ((Var *) expr)->varattno;
	return InvalidAttrNumber;
}

/* ChildResno finds an expression in a child plan's targetlist */
static AttrNumber
ChildResno(Plan *child, Node *expr)
{
	ListCell   *lc;

	foreach(lc, child->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (equal(tle->expr, expr))
			return tle->resno;
	}
	return InvalidAttrNumber;
}

/*
 * WindowTimelineGroup returns the group name when the feature rel is a call
 * of featstore.window_timeline('<group>'), which is what a source group's
 * view expands to, and NULL for any other rel.  The node computes such a
 * group's windows at each spine row itself (PIT_WINDOW), without running
 * the function: a winner among the timeline's rows would be the features
 * as of the latest event, not as of the spine time, since windows also
 * change when an event leaves them.  So every other use of the function
 * beside the marker is refused here, never joined as an ordinary table.
 */
static char *
WindowTimelineGroup(PlannerInfo *root, RelOptInfo *featrel)
{
	RangeTblEntry *rte;
	RangeTblFunction *rtfunc;
	FuncExpr   *func;
	Node	   *arg;
	char	   *name;

	if (featrel->rtekind != RTE_FUNCTION)
		return NULL;
	rte = planner_rt_fetch(featrel->relid, root);
	if (list_length(rte->functions) != 1)
		return NULL;
	rtfunc = linitial_node(RangeTblFunction, rte->functions);
	if (rtfunc->funcexpr == NULL || !IsA(rtfunc->funcexpr, FuncExpr))
		return NULL;
	func = (FuncExpr *) rtfunc->funcexpr;
	if (func->funcid < FirstNormalObjectId ||
		(name = get_func_name(func->funcid)) == NULL ||
		strcmp(name, "window_timeline") != 0 ||
		get_func_namespace(func->funcid) != FeatstoreSchemaOid(true))
		return NULL;

	arg = list_length(func->args) == 1 ? (Node *) linitial(func->args) : NULL;
	if (arg == NULL || !IsA(arg, Const) || ((Const *) arg)->constisnull ||
		((Const *) arg)->consttype != TEXTOID || rte->funcordinality)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a point-in-time join with featstore.window_timeline() needs a constant group name"),
				 errhint("Join with the source group's view (schema.group), or pass the group's name as a literal, without WITH ORDINALITY.")));
	return TextDatumGetCString(((Const *) arg)->constvalue);
}

/*
 * WindowSideOf reads what the plan needs of a source group from the
 * registry, and refuses a group that is not one, or whose view no longer
 * has the group's columns: the node produces the columns by position.
 */
static void
WindowSideOf(PlannerInfo *root, RelOptInfo *featrel, const char *name,
			 PitWindowSide *side)
{
	RangeTblEntry *rte = planner_rt_fetch(featrel->relid, root);
	RangeTblFunction *rtfunc = linitial_node(RangeTblFunction, rte->functions);
	FsGroup    *group = RegistryLookupGroup(name, false);
	List	   *want = NIL;
	ListCell   *lc;
	HeapTuple	tp;

	if (group->source == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("feature group \"%s\" is not defined FROM a source", name),
				 errhint("featstore.window_timeline() computes only groups defined with CREATE FEATURE GROUP ... FROM source; join other groups through their table.")));
	foreach(lc, group->keys)
		want = lappend_oid(want, ((FsKeyColumn *) lfirst(lc))->typid);
	want = lappend_oid(lappend_oid(want, TIMESTAMPTZOID), TIMESTAMPTZOID);
	foreach(lc, group->features)
		want = lappend_oid(want, ((FsFeature *) lfirst(lc))->typid);
	if (!equal(want, rtfunc->funccoltypes))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the columns of featstore.window_timeline('%s') do not match the definition of feature group \"%s\"",
						name, name),
				 errdetail("The group has %d key columns, event_timestamp, created_at and %d features, in that order.",
						   list_length(group->keys), list_length(group->features)),
				 errhint("Join with the group's view %s, which the registry keeps in step with the group.",
						 quote_qualified_identifier(group->schema_name, group->table_name))));

	side->group = pstrdup(name);
	side->nkeys = list_length(group->keys);
	side->coltypes = want;
	side->windows = WindowList(group);
	side->events = 1000.0;
	side->pages = 10.0;
	/*
	 * The participants share the read of the source (pit_share.c) when it
	 * is a plain table and the key one integer-like column, so that each
	 * event's partition is its key's hash.  Otherwise each reads the whole
	 * source: measured on 2 cores, no faster than the serial join (7.0-9.5
	 * s against 6.4-9.5 s at L), so that plan is made only when forced.
	 */
	side->shared_read = group->source->relkind == RELKIND_RELATION &&
		list_length(group->keys) == 1 &&
		PitKeyTypeInline(((FsKeyColumn *) linitial(group->keys))->typid);
	side->parallel_ok = (pit_parallel_guc == PIT_PARALLEL_FORCE ||
						 (pit_parallel_guc == PIT_PARALLEL_AUTO && side->shared_read)) &&
		max_parallel_workers_per_gather > 0 && RegistrySourceParallelSafe(group);
	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(group->source->relid));
	if (HeapTupleIsValid(tp))
	{
		float4		reltuples = ((Form_pg_class) GETSTRUCT(tp))->reltuples;

		/* never analysed (-1): keep the guess */
		if (reltuples >= 0)
			side->events = Max(reltuples, 1.0);
		side->pages = Max(((Form_pg_class) GETSTRUCT(tp))->relpages, 1);
		ReleaseSysCache(tp);
	}
}

/*
 * WindowList writes a group's distinct windows in feature order, for
 * EXPLAIN: "1 hour, 24 hours, unbounded".
 */
static char *
WindowList(const FsGroup *group)
{
	StringInfoData buf;
	List	   *seen = NIL;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, group->features)
	{
		FsWindowFeature *w = ((FsFeature *) lfirst(lc))->window;
		char	   *text;

		if (w == NULL || w->agg == FS_AGG_EXPRESSION)
			continue;
		text = w->window_text != NULL ? w->window_text : "unbounded";
		if (list_member(seen, makeString(text)))
			continue;
		seen = lappend(seen, makeString(text));
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", text);
	}
	return buf.len > 0 ? buf.data : pstrdup("none");
}

/*
 * WindowJoinUsable checks a marker join with a source group's timeline and
 * puts its keys in the entity's order, the order of the engine's points.
 * It refuses, with an error, what no join order can change: a TTL (each
 * feature's window bounds it) and marker columns other than the view's
 * event_timestamp and created_at.  It returns false, leaving the join to
 * core and so to the planner's safety net, for what another split of the
 * join might still satisfy: a key of the entity not joined, a condition on
 * the view alone in an outer join, a whole-row reference.
 */
static bool
WindowJoinUsable(RelOptInfo *featrel, PitJoinInfo *info, PitWindowSide *side)
{
	Node	   *ttl = (Node *) list_nth(info->marker->args, 3);
	List	   *spine_keys = NIL;
	List	   *feat_keys = NIL;
	List	   *clauses = NIL;
	List	   *colls = NIL;
	ListCell   *lc;

	/* a parameter may still be NULL: the executor checks its value */
	if (IsA(ttl, Const) && !((Const *) ttl)->constisnull)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature group \"%s\" takes no TTL in a point-in-time join", side->group),
				 errdetail("Its features are window aggregates: each feature's window bounds the events it counts."),
				 errhint("Pass NULL as the TTL of featstore.pit_match() for this group.")));
	if (((Var *) linitial(info->marker->args))->varattno != side->nkeys + 1 ||
		((Var *) lsecond(info->marker->args))->varattno != side->nkeys + 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the point-in-time join with feature group \"%s\" must pass its event_timestamp and created_at to featstore.pit_match()",
						side->group),
				 errhint("Write featstore.pit_match(g.event_timestamp, g.created_at, s.ts, NULL, as_of, strict).")));

	/* every key of the entity joined once, taken in the entity's order */
	if (list_length(info->feat_keys) != side->nkeys)
		return false;
	for (int k = 1; k <= side->nkeys; k++)
	{
		int			found = -1;

		for (int i = 0; i < list_length(info->feat_keys); i++)
		{
			if (((Var *) list_nth(info->feat_keys, i))->varattno == k)
				found = i;
		}
		if (found < 0)
			return false;
		spine_keys = lappend(spine_keys, list_nth(info->spine_keys, found));
		feat_keys = lappend(feat_keys, list_nth(info->feat_keys, found));
		clauses = lappend(clauses, list_nth(info->key_clauses, found));
		colls = lappend_oid(colls, list_nth_oid(info->key_colls, found));
	}
	info->spine_keys = spine_keys;
	info->feat_keys = feat_keys;
	info->key_clauses = clauses;
	info->key_colls = colls;

	/* the node produces the view's columns, not whole rows */
	foreach(lc, featrel->reltarget->exprs)
	{
		Node	   *e = (Node *) lfirst(lc);

		if (!IsA(e, Var) || ((Var *) e)->varattno <= 0)
			return false;
	}

	/*
	 * A condition on the view alone (written in an outer join's ON, or
	 * derived, such as g.k = 'x' from the spine's s.k = 'x') applies to the
	 * row computed for each spine row: in an inner join it filters the
	 * output; in an outer join a row that fails it joins nothing, and the
	 * spine row keeps NULLs.  It never decides which events count: only the
	 * group's WHERE does.
	 */
	foreach(lc, featrel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		/* no scan of the view runs to gate on a constant or run a subplan */
		if (rinfo->pseudoconstant || contain_subplans((Node *) rinfo->clause))
			return false;
	}
	if (info->left)
		info->view_quals = list_copy(featrel->baserestrictinfo);
	else
		info->quals = list_concat(info->quals, list_copy(featrel->baserestrictinfo));
	return true;
}

/*
 * AddWindowPath offers the paths of a join with a source group: the window
 * strategy, which reads the spine child alone, sorts it by (keys, ts) and
 * computes the windows in one pass over the source's events, read through
 * SPI as the calling role.  Also a parallel-aware one under Gather (the
 * key-hash partitions of the parallel PitJoin): every participant reads
 * the whole source, and keeps, sorts and evaluates only its partitions'
 * keys.
 */
static void
AddWindowPath(PlannerInfo *root, RelOptInfo *joinrel, Path *spine_path,
			  RelOptInfo *featrel, PitJoinInfo *info, PitWindowSide *side)
{
	CustomPath *cpath = MakeWindowPath(root, joinrel, spine_path, featrel, info, side, 0);
	Path	   *pspine;
	int			nworkers;

	joinrel->pathlist = NIL;
	joinrel->partial_pathlist = NIL;
	add_path(joinrel, (Path *) cpath);

	/*
	 * The view's own scan never runs, so its function's marking (parallel
	 * restricted) does not decide: the source's, the spine's, and the
	 * join's output and conditions do.
	 */
	if (!side->parallel_ok || !root->glob->parallelModeOK ||
		!spine_path->parent->consider_parallel ||
		!PitStableRel(root, spine_path->parent) ||
		!is_parallel_safe(root, (Node *) joinrel->reltarget->exprs) ||
		!is_parallel_safe(root, (Node *) info->quals) ||
		!is_parallel_safe(root, (Node *) info->view_quals))
		return;
	/* each participant runs its own full copy of the spine child */
	pspine = CheapestParallelSafe(spine_path->parent);
	if (pspine == NULL)
		return;
	pspine = SpineInputPath(root, pspine, info);
	if (!pspine->parallel_safe)
		return;
	nworkers = PitPlannedWorkers(featrel, side->pages);
	if (nworkers <= 0)
		return;
	joinrel->consider_parallel = true;
	add_partial_path(joinrel, (Path *) MakeWindowPath(root, joinrel, pspine, featrel, info,
													  side, nworkers));
	/* forced parallel: the serial plan only when no partial one exists */
	if (pit_parallel_guc == PIT_PARALLEL_FORCE)
	{
		cpath->path.startup_cost += disable_cost;
		cpath->path.total_cost += disable_cost;
	}
}

/*
 * MakeWindowPath builds and costs the window strategy's path, parallel-aware
 * when nworkers > 0: each of nworkers + 1 participants then reads every
 * event, and does 1 / (nworkers + 1) of the sorting, filing and evaluation
 * (the leader's share counted as PostgreSQL's parallel paths count it).
 */
static CustomPath *
MakeWindowPath(PlannerInfo *root, RelOptInfo *joinrel, Path *spine_path,
			   RelOptInfo *featrel, PitJoinInfo *info, PitWindowSide *side, int nworkers)
{
	CustomPath *cpath = makeNode(CustomPath);
	double		nspine = clamp_row_est(spine_path->rows);
	double		nfeat = list_length(side->coltypes) - side->nkeys - 2;
	double		share = 1.0 / (nworkers + 1);
	double		read_share;
	Path		sort_path;

	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = joinrel;
	cpath->path.pathtarget = joinrel->reltarget;
	cpath->path.param_info = NULL;
	cpath->path.parallel_aware = nworkers > 0;
	cpath->path.parallel_safe = nworkers > 0;
	cpath->path.parallel_workers = nworkers;
	cpath->path.pathkeys = NIL;
	cpath->path.rows = clamp_row_est((info->left ? nspine : Min(nspine, joinrel->rows)) * share);
	cpath->flags = 0;
	cpath->custom_paths = list_make1(spine_path);
	cpath->methods = &pit_path_methods;

	/* sort the spine, read and order the events, one step per event and row */
	cost_sort(&sort_path, root, NIL, 0, nspine * share, spine_path->pathtarget->width,
			  0.0, work_mem, -1.0);
	/* a shared read: a share of the read, the other partitions' events written and read */
	read_share = (nworkers > 0 && side->shared_read) ? share : 1.0;
	cpath->path.startup_cost = spine_path->total_cost + sort_path.total_cost +
		side->events * read_share * (seq_page_cost / 50.0 + cpu_tuple_cost) +
		side->events * (1.0 - read_share) * 2.0 * cpu_tuple_cost +
		side->events * share *
		cpu_operator_cost * (2.0 * nfeat + log2(Max(side->events, 2.0)));
	cpath->path.total_cost = cpath->path.startup_cost +
		nspine * share * (2.0 * cpu_tuple_cost + cpu_operator_cost * nfeat);

	cpath->custom_private = PitPathPrivate(info, PIT_WINDOW);
	cpath->custom_private = lappend(cpath->custom_private, makeInteger(0));
	cpath->custom_private = lappend(cpath->custom_private, makeInteger((int) featrel->relid));
	cpath->custom_private = lappend(cpath->custom_private, NIL);
	cpath->custom_private = lappend(cpath->custom_private, makeInteger(0));
	cpath->custom_private = lappend(cpath->custom_private, makeString(side->group));
	cpath->custom_private = lappend(cpath->custom_private, makeString(side->windows));
	cpath->custom_private = lappend(cpath->custom_private, side->coltypes);
	cpath->custom_private = lappend(cpath->custom_private, info->view_quals);
	return cpath;
}
