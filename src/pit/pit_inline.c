/*
 * pit_inline.c
 *		pit_join() in a FROM clause, planned as the marker join it writes.
 *
 * featstore.pit_join(proto, spine, ...) is a plpgsql function: it writes
 * the join with pit_join_sql() and returns it with RETURN QUERY EXECUTE,
 * so every row is stored twice (plpgsql's tuplestore, then the Function
 * Scan's) and the planner sees a black box of 1000 rows.  A FROM-clause
 * call whose arguments are all constants (after constant folding, with the
 * bound parameters of a custom plan) is replaced here, before planning, by
 * the query pit_join_sql() writes for those arguments, parsed, analysed and
 * rewritten as the calling role: the RTE_FUNCTION becomes an RTE_SUBQUERY,
 * as PostgreSQL does for SQL functions (inline_set_returning_function).
 * The planner then sees the PitJoin, which streams, and the caller's LIMIT
 * reaches it (the subquery keeps an OFFSET 0, see PitInlineRte).
 *
 * Why the planner hook, before standard_planner, and not post-parse
 * analysis:
 *	- a view or a SQL function over pit_join() keeps the call, not one
 *	  expansion of it, so it follows later registry changes as the plpgsql
 *	  function does (a stored expansion would name one history table's
 *	  columns forever);
 *	- the bound parameters of a custom plan (EXECUTE of a prepared
 *	  statement, plpgsql variables) exist only at planning;
 *	- a cached plan is rebuilt from the stored query when a dependency
 *	  changes, and this file makes the plan depend on what the expansion
 *	  read: the history and spine tables (the replacing query's own
 *	  relations), the registry tables (every write to one sends a relcache
 *	  invalidation, registry_lookup.c), pit_join and pit_join_sql (their
 *	  definition and privileges), and the role (dependsOnRole: the
 *	  expansion was checked and rewritten, RLS included, as the planning
 *	  role).  The plan cache itself replans on a changed search_path.
 *
 * Anything unexpected leaves the call as it was, and the plpgsql function
 * runs as before: pit_join_sql() runs in a subtransaction, and an error
 * there (a missing group, a bad spine) only means the call is not inlined:
 * plpgsql then raises that error when the statement runs.  A replacing
 * query whose columns are not exactly the prototype's (number, types,
 * typmods, collations) is not used either: plpgsql's error says why.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "extension.h"
#include "pit/pit_inline.h"

/* pit_join(proto anyelement, spine, features, service, spine_ts, as_of, strict, qualified) */
#define PIT_JOIN_NARGS 8

static const Oid pit_join_argtypes[PIT_JOIN_NARGS] = {
	ANYELEMENTOID, TEXTOID, TEXTARRAYOID, TEXTOID, TEXTOID,
	TIMESTAMPTZOID, BOOLOID, BOOLOID
};

/*
 * The registry tables, each with the registry_invalidate statement trigger
 * (src/sql/10_registry.sql): a plan holding an expansion of pit_join
 * depends on all of them, since pit_join_sql read them.
 */
static const char *const pit_registry_tables[] = {
	"entities", "entity_keys", "feature_groups", "features",
	"feature_services", "feature_service_members", "source_groups",
	"window_features"
};

static bool pit_join_inline_guc = true;

/* One walk over a statement */
typedef struct PitInlineWalk
{
	bool		replace;		/* false: only look for a candidate */
	bool		found;			/* a call of pit_join was seen */
	bool		allowed;		/* every enclosing query is a SELECT or
								 * INSERT without row marks */
	Oid			pit_join_sql;	/* looked up at the first candidate */
	PlannerInfo *root;			/* carries boundParams to const-folding */
	PitInlineState *state;
} PitInlineWalk;

static bool PitInlineWalker(Node *node, PitInlineWalk *walk);
static bool PitIsPitJoin(Oid funcid);
static void PitInlineRte(RangeTblEntry *rte, PitInlineWalk *walk);
static Query *PitInlineQuery(FuncExpr *call, PitInlineWalk *walk);
static Query *PitInlineExpand(FuncExpr *call, Oid pit_join_sql);
static bool PitInlineColumnsMatch(Query *query, Oid rowtype, int ncols);
static Oid	PitJoinSqlOid(void);

/* PitInlineInit defines featstore.pit_join_inline */
void
PitInlineInit(void)
{
	DefineCustomBoolVariable("featstore.pit_join_inline",
							 "Plans a FROM-clause pit_join() call with constant arguments as the point-in-time join itself.",
							 "off runs every call through the plpgsql function, which stores its result before returning it; meant for tests and comparisons.",
							 &pit_join_inline_guc,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

/*
 * PitInlineCalls returns a copy of the statement in which every call of
 * pit_join that can be inlined is replaced by its join, or NULL when there
 * is none (the statement is then left untouched).  The caller plans the
 * copy, and falls back to the original if that plan cannot take the join.
 */
Query *
PitInlineCalls(Query *parse, ParamListInfo boundParams, PitInlineState *state)
{
	PitInlineWalk walk;
	Query	   *copy;

	memset(state, 0, sizeof(*state));
	if (!pit_join_inline_guc || IsInParallelMode() || parse->commandType == CMD_UTILITY)
		return NULL;

	/* most statements hold no pit_join: find one before copying anything */
	memset(&walk, 0, sizeof(walk));
	walk.allowed = true;
	walk.state = state;
	(void) PitInlineWalker((Node *) parse, &walk);
	if (!walk.found)
		return NULL;

	walk.replace = true;
	walk.allowed = true;
	walk.root = makeNode(PlannerInfo);
	walk.root->glob = makeNode(PlannerGlobal);
	walk.root->glob->boundParams = boundParams;
	walk.root->parse = parse;
	copy = copyObject(parse);
	(void) PitInlineWalker((Node *) copy, &walk);
	/* functions inlined while folding the arguments are dependencies too */
	state->inval_items = list_concat(state->inval_items, walk.root->glob->invalItems);
	return state->inlined ? copy : NULL;
}

/*
 * PitInlineWalker visits every query of a statement (subqueries, CTEs,
 * sublinks) and every range table entry in it.  A call under an UPDATE,
 * DELETE or MERGE, or under row locks, is left alone: those statements
 * add row marks to the relations of the join, which the PitJoin refuses.
 */
static bool
PitInlineWalker(Node *node, PitInlineWalk *walk)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;
		bool		saved = walk->allowed;
		bool		result;

		check_stack_depth();
		walk->allowed = saved && query->rowMarks == NIL &&
			(query->commandType == CMD_SELECT || query->commandType == CMD_INSERT);
		result = query_tree_walker(query, PitInlineWalker, (void *) walk,
								   QTW_EXAMINE_RTES_BEFORE);
		walk->allowed = saved;
		return result;
	}
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;
		RangeTblFunction *rtfunc;

		if (rte->rtekind != RTE_FUNCTION || !walk->allowed ||
			list_length(rte->functions) != 1 || rte->funcordinality)
			return false;
		rtfunc = linitial_node(RangeTblFunction, rte->functions);
		if (rtfunc->funcexpr == NULL || !IsA(rtfunc->funcexpr, FuncExpr) ||
			!PitIsPitJoin(((FuncExpr *) rtfunc->funcexpr)->funcid))
			return false;
		walk->found = true;
		if (!walk->replace)
			return true;		/* one is enough to know */
		walk->state->attempted = true;
		walk->state->pit_join = ((FuncExpr *) rtfunc->funcexpr)->funcid;
		/* a replaced entry is an RTE_SUBQUERY: the walk goes on into it */
		PitInlineRte(rte, walk);
		return false;
	}
	return expression_tree_walker(node, PitInlineWalker, (void *) walk);
}

/*
 * PitIsPitJoin tells whether a function is featstore.pit_join with its
 * prototype (the form that can return rows); the form without one only
 * raises an error and is never inlined.
 */
static bool
PitIsPitJoin(Oid funcid)
{
	HeapTuple	tuple;
	Form_pg_proc proc;
	bool		result;

	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	if (!HeapTupleIsValid(tuple))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	result = strcmp(NameStr(proc->proname), "pit_join") == 0 &&
		proc->pronargs == PIT_JOIN_NARGS && proc->proretset &&
		memcmp(proc->proargtypes.values, pit_join_argtypes, sizeof(pit_join_argtypes)) == 0 &&
		proc->pronamespace == FeatstoreSchemaOid(true);
	ReleaseSysCache(tuple);
	return result;
}

/*
 * PitInlineRte replaces one call of pit_join by its join, if its arguments
 * are constants and the role may run it.  The entry keeps its alias and
 * column names (the prototype's), so the rest of the statement is
 * unchanged: its Vars point at the same columns, of the same types.
 */
static void
PitInlineRte(RangeTblEntry *rte, PitInlineWalk *walk)
{
	RangeTblFunction *rtfunc = linitial_node(RangeTblFunction, rte->functions);
	FuncExpr   *call = (FuncExpr *) rtfunc->funcexpr;
	Query	   *query;
	ListCell   *lc;

	if (rtfunc->funccolnames != NIL ||
		rtfunc->funccolcount != list_length(rte->eref->colnames))
		return;

	/* named arguments and defaults put in place, constants folded */
	call = (FuncExpr *) eval_const_expressions(walk->root, (Node *) copyObject(call));
	if (!IsA(call, FuncExpr) || list_length(call->args) != PIT_JOIN_NARGS)
		return;
	foreach(lc, call->args)
	{
		Const	   *arg = (Const *) lfirst(lc);

		/* the prototype's type is the result's; the others are fixed */
		if (!IsA(arg, Const))
			return;
		if (foreach_current_index(lc) > 0 &&
			arg->consttype != pit_join_argtypes[foreach_current_index(lc)])
			return;
	}

	query = PitInlineQuery(call, walk);
	if (query == NULL ||
		!PitInlineColumnsMatch(query, call->funcresulttype, rtfunc->funccolcount))
		return;

	/*
	 * OFFSET 0 keeps the join a subquery of its own: the statement's
	 * conditions on the result must not be pushed below the join.  A
	 * condition on a feature pushed into the history scan would change
	 * which row is the latest (the join's winner must pass it, not be
	 * chosen among the rows that pass it).  The subquery still streams.
	 */
	query->limitOffset = (Node *) makeConst(INT8OID, -1, InvalidOid, sizeof(int64),
											Int64GetDatum(0), false, FLOAT8PASSBYVAL);
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = query;
	rte->security_barrier = false;
	rte->functions = NIL;
	walk->state->inlined = true;
}

/*
 * PitInlineQuery writes and analyses the join for a call, as the calling
 * role, or returns NULL.  Both functions must be executable by the role,
 * as they are when plpgsql calls them; the executor no longer checks
 * pit_join once the call is gone, and the plan is the role's own
 * (dependsOnRole).
 */
static Query *
PitInlineQuery(FuncExpr *call, PitInlineWalk *walk)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Query	   *query = NULL;

	if (get_typtype(call->funcresulttype) != TYPTYPE_COMPOSITE)
		return NULL;
	if (!OidIsValid(walk->pit_join_sql))
		walk->pit_join_sql = PitJoinSqlOid();
	if (!OidIsValid(walk->pit_join_sql) ||
		pg_proc_aclcheck(call->funcid, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK ||
		pg_proc_aclcheck(walk->pit_join_sql, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
		return NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		query = PitInlineExpand(call, walk->pit_join_sql);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;

		/* a cancel, a timeout or a deadlock ends the statement, as anywhere */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN ||
			edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
			edata->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
			edata->sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE ||
			edata->sqlerrcode == ERRCODE_OUT_OF_MEMORY)
			ReThrowError(edata);
		FreeErrorData(edata);
		query = NULL;
	}
	PG_END_TRY();
	return query;
}

/*
 * PitInlineExpand calls pit_join_sql with the call's arguments (after the
 * prototype) and parses, analyses and rewrites what it writes, on the
 * caller's search_path as the plpgsql function's EXECUTE does (the SQL is
 * schema-qualified but for the caller's spine query).  It returns NULL
 * unless that is exactly one SELECT.
 */
static Query *
PitInlineExpand(FuncExpr *call, Oid pit_join_sql)
{
	FmgrInfo	flinfo;
	LOCAL_FCINFO(fcinfo, PIT_JOIN_NARGS - 1);
	Datum		sql;
	char	   *sqltext;
	List	   *raw;
	List	   *queries;
	Query	   *query;

	fmgr_info(pit_join_sql, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, PIT_JOIN_NARGS - 1,
							 call->inputcollid, NULL, NULL);
	for (int i = 1; i < PIT_JOIN_NARGS; i++)
	{
		Const	   *arg = list_nth_node(Const, call->args, i);

		fcinfo->args[i - 1].value = arg->constvalue;
		fcinfo->args[i - 1].isnull = arg->constisnull;
	}
	sql = FunctionCallInvoke(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	sqltext = TextDatumGetCString(sql);

	raw = raw_parser(sqltext, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		return NULL;
	queries = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw),
												 sqltext, NULL, 0, NULL);
	if (list_length(queries) != 1)
		return NULL;
	query = linitial_node(Query, queries);
	if (query->commandType != CMD_SELECT || query->utilityStmt != NULL ||
		query->rowMarks != NIL)
		return NULL;
	return query;
}

/*
 * PitInlineColumnsMatch tells whether a query's columns are exactly those
 * of the prototype's row type: the same number, and each of the same type,
 * typmod and collation, so that the statement's references to the call's
 * columns read the same values.  A prototype with dropped columns is not
 * matched (plpgsql maps those).
 */
static bool
PitInlineColumnsMatch(Query *query, Oid rowtype, int ncols)
{
	TupleDesc	desc;
	ListCell   *lc;
	int			n = 0;
	bool		match = true;

	desc = lookup_rowtype_tupdesc_noerror(rowtype, -1, true);
	if (desc == NULL)
		return false;
	if (desc->natts != ncols)
		match = false;
	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Node	   *expr = (Node *) tle->expr;
		Form_pg_attribute att;

		if (tle->resjunk || !match)
			continue;
		if (n >= desc->natts)
		{
			match = false;
			continue;
		}
		att = TupleDescAttr(desc, n++);
		if (att->attisdropped || exprType(expr) != att->atttypid ||
			exprTypmod(expr) != att->atttypmod ||
			exprCollation(expr) != att->attcollation)
			match = false;
	}
	ReleaseTupleDesc(desc);
	return match && n == ncols;
}

/* PitJoinSqlOid finds featstore.pit_join_sql, or returns InvalidOid */
static Oid
PitJoinSqlOid(void)
{
	Oid			nsp = FeatstoreSchemaOid(true);
	oidvector  *args;

	if (!OidIsValid(nsp))
		return InvalidOid;
	args = buildoidvector(pit_join_argtypes + 1, PIT_JOIN_NARGS - 1);
	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
						   CStringGetDatum("pit_join_sql"),
						   PointerGetDatum(args), ObjectIdGetDatum(nsp));
}

/*
 * PitInlineRecordDependencies makes a plan that holds an expansion of
 * pit_join depend on what the expansion read (see the file's comment).  A
 * plan in which a call could not be inlined gets the same dependencies: a
 * registry change (the missing group created, the service fixed) or
 * another role then plans it again, and may inline it.
 */
void
PitInlineRecordDependencies(PlannedStmt *stmt, const PitInlineState *state)
{
	Oid			nsp = FeatstoreSchemaOid(true);
	Oid			funcs[2];

	if (!state->attempted)
		return;
	for (int i = 0; i < (int) lengthof(pit_registry_tables); i++)
	{
		Oid			relid = get_relname_relid(pit_registry_tables[i], nsp);

		if (OidIsValid(relid))
			stmt->relationOids = lappend_oid(stmt->relationOids, relid);
	}
	funcs[0] = PitJoinSqlOid();
	funcs[1] = state->pit_join;
	for (int i = 0; i < (int) lengthof(funcs); i++)
	{
		PlanInvalItem *item = makeNode(PlanInvalItem);

		item->cacheId = PROCOID;
		item->hashValue = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(funcs[i]));
		stmt->invalItems = lappend(stmt->invalItems, item);
	}
	stmt->invalItems = list_concat(stmt->invalItems, state->inval_items);
	stmt->dependsOnRole = true;
}
