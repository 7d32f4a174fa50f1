/*
 * window_plan.c
 *		Compiling a source group's definition once for the window engine:
 *		the aggregates' result types and casts, DEFAULT values, expression
 *		features, and the one SQL query that reads the source.
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "extension.h"
#include "window/window_int.h"

/* The features an expression may name: those before it */
typedef struct WinExprScope
{
	WinPlan    *plan;
	int			upto;
} WinExprScope;

/*
 * ClassifyArgument says how an aggregate accumulates an argument of type
 * typid (a domain counts as its base type).
 */
static WinArgClass
ClassifyArgument(FsAggKind agg, Oid typid)
{
	Oid			base = OidIsValid(typid) ? getBaseType(typid) : InvalidOid;

	switch (agg)
	{
		case FS_AGG_SUM:
		case FS_AGG_AVG:
		case FS_AGG_STDDEV_SAMP:
		case FS_AGG_STDDEV_POP:
		case FS_AGG_VAR_SAMP:
		case FS_AGG_VAR_POP:
			if (base == INT2OID || base == INT4OID || base == INT8OID)
				return WIN_ARG_INT;
			if (base == NUMERICOID)
				return WIN_ARG_NUMERIC;
			if (base == FLOAT4OID || base == FLOAT8OID)
				return WIN_ARG_FLOAT;
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the window engine cannot aggregate a column of type %s",
							format_type_be(typid)),
					 errhint("sum, avg, stddev and var take smallint, integer, bigint, numeric, real or double precision.")));
			break;
		case FS_AGG_COUNT_STAR:
		case FS_AGG_EXPRESSION:
		case FS_AGG_NONE:
			return WIN_ARG_NONE;
		default:
			break;
	}
	return WIN_ARG_OTHER;
}

/*
 * AggResultType is the type PostgreSQL's aggregate of the same name returns
 * for the feature's argument; last(x) returns x's type.
 */
static Oid
AggResultType(const WinFeat *f)
{
	Oid			base = f->argbase;

	switch (f->agg)
	{
		case FS_AGG_COUNT_STAR:
		case FS_AGG_COUNT:
		case FS_AGG_COUNT_DISTINCT:
			return INT8OID;
		case FS_AGG_SUM:
			if (base == INT2OID || base == INT4OID)
				return INT8OID;
			if (base == INT8OID || base == NUMERICOID)
				return NUMERICOID;
			return base;		/* real, double precision */
		case FS_AGG_AVG:
		case FS_AGG_STDDEV_SAMP:
		case FS_AGG_STDDEV_POP:
		case FS_AGG_VAR_SAMP:
		case FS_AGG_VAR_POP:
			return f->argclass == WIN_ARG_FLOAT ? FLOAT8OID : NUMERICOID;
		case FS_AGG_MIN:
		case FS_AGG_MAX:
			return base;
		case FS_AGG_LAST:
			return f->argtype;
		default:
			break;
	}
	return InvalidOid;
}

/*
 * CallsOnlyBuiltins walks an expression and is false as soon as a node
 * would call a function that is not built in, so no owner's code runs as
 * the reader (the registry checks this at definition; this is the
 * engine's own guard).
 */
static bool
CallsOnlyBuiltinsWalker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, FeatstoreIsUserFunction, NULL))
		return true;
	return expression_tree_walker(node, CallsOnlyBuiltinsWalker, context);
}

/*
 * CompileExpr checks a feature's expression tree (a cast, or an expression
 * feature) and compiles it for evaluation over the pass's parameters.
 */
static ExprState *
CompileExpr(WinPlan *plan, WinFeat *f, Node *node)
{
	Expr	   *expr;

	if (CallsOnlyBuiltinsWalker(node, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("feature \"%s\" of group \"%s\" would call a function that is not built in",
						f->name, plan->group_name),
				 errhint("Window features may use only PostgreSQL's built-in functions, operators and casts.")));
	if (contain_volatile_functions(node))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature \"%s\" of group \"%s\" is volatile", f->name, plan->group_name),
				 errhint("A volatile expression would give different values offline and online.")));
	expr = expression_planner((Expr *) node);
	return ExecInitExpr(expr, NULL);
}

/*
 * MakeParam builds the parameter through which a pass hands a value of
 * type typid to the compiled casts and expressions.
 */
static Param *
MakeParam(int paramid, Oid typid, int32 typmod, int location)
{
	Param	   *p = makeNode(Param);

	p->paramkind = PARAM_EXTERN;
	p->paramid = paramid;
	p->paramtype = typid;
	p->paramtypmod = typmod;
	p->paramcollid = get_typcollation(typid);
	p->location = location;
	return p;
}

/*
 * CompileCast finds the assignment cast from the aggregate's result type to
 * the feature's type (with its typmod), as an INSERT would apply it.  NULL
 * when the value already has the feature's type.
 */
static ExprState *
CompileCast(WinPlan *plan, WinFeat *f, int index)
{
	Param	   *p = MakeParam(plan->nfeat + index + 1, f->result_type, -1, -1);
	Node	   *n;

	n = coerce_to_target_type(NULL, (Node *) p, f->result_type,
							  f->typid, f->typmod,
							  COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (n == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("feature \"%s\" of group \"%s\" is %s, which a %s result cannot be assigned to",
						f->name, plan->group_name, format_type_be(f->typid),
						format_type_be(f->result_type)),
				 errhint("Declare the feature with a type the aggregate's result casts to.")));
	if (n == (Node *) p)
		return NULL;
	return CompileExpr(plan, f, n);
}

/*
 * WinColumnRefHook maps a name in an expression feature to the parameter
 * of an earlier feature of the group; anything else is left to
 * PostgreSQL, which refuses it as an unknown column.
 */
static Node *
WinColumnRefHook(ParseState *pstate, ColumnRef *cref)
{
	WinExprScope *scope = (WinExprScope *) pstate->p_ref_hook_state;
	const char *name;

	if (scope == NULL || list_length(cref->fields) != 1 ||
		!IsA(linitial(cref->fields), String))
		return NULL;
	name = strVal(linitial(cref->fields));
	for (int j = 0; j < scope->upto; j++)
	{
		WinFeat    *g = &scope->plan->feats[j];

		if (strcmp(g->name, name) == 0)
			return (Node *) MakeParam(j + 1, g->typid, g->typmod, cref->location);
	}
	return NULL;
}

/*
 * ParseExpressionText returns the one expression of "SELECT <text>", or
 * refuses text that is anything else.
 */
static Node *
ParseExpressionText(WinPlan *plan, WinFeat *f, const char *text)
{
	List	   *raw = raw_parser(psprintf("SELECT %s", text), RAW_PARSE_DEFAULT);
	RawStmt    *rs;
	SelectStmt *sel;

	if (list_length(raw) != 1)
		goto bad;
	rs = linitial_node(RawStmt, raw);
	if (!IsA(rs->stmt, SelectStmt))
		goto bad;
	sel = (SelectStmt *) rs->stmt;
	if (list_length(sel->targetList) != 1 || sel->fromClause != NIL ||
		sel->whereClause != NULL || sel->groupClause != NIL ||
		sel->havingClause != NULL || sel->sortClause != NIL ||
		sel->distinctClause != NIL || sel->limitCount != NULL)
		goto bad;
	return linitial_node(ResTarget, sel->targetList)->val;
bad:
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("feature \"%s\" of group \"%s\" is not one scalar expression",
					f->name, plan->group_name)));
	return NULL;
}

/*
 * CompileExpression analyses an expression feature over the earlier
 * features (parameters 1..index) and casts it to the feature's type.
 */
static void
CompileExpression(WinPlan *plan, WinFeat *f, int index, const char *text)
{
	ParseState *pstate = make_parsestate(NULL);
	WinExprScope scope = {plan, index};
	Node	   *expr;

	if (text == NULL)
		elog(ERROR, "feature \"%s\" of group \"%s\" has no expression",
			 f->name, plan->group_name);
	pstate->p_sourcetext = text;
	pstate->p_pre_columnref_hook = WinColumnRefHook;
	pstate->p_ref_hook_state = &scope;
	expr = transformExpr(pstate, ParseExpressionText(plan, f, text),
						 EXPR_KIND_SELECT_TARGET);
	if (pstate->p_hasAggs || pstate->p_hasWindowFuncs ||
		pstate->p_hasTargetSRFs || pstate->p_hasSubLinks)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature \"%s\" of group \"%s\" may not use an aggregate, a window function, a set-returning function or a subquery",
						f->name, plan->group_name)));
	assign_expr_collations(pstate, expr);
	f->result_type = exprType(expr);
	expr = coerce_to_target_type(pstate, expr, f->result_type,
								 f->typid, f->typmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (expr == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("feature \"%s\" of group \"%s\" is %s, which its expression of type %s cannot be assigned to",
						f->name, plan->group_name, format_type_be(f->typid),
						format_type_be(f->result_type))));
	f->expr = CompileExpr(plan, f, expr);
	free_parsestate(pstate);
}

/*
 * ArgumentColumn returns the position of a source column among the plan's
 * distinct aggregated columns, adding it the first time.
 */
static int
ArgumentColumn(WinPlan *plan, const char *name, Oid typid, int max)
{
	for (int j = 0; j < plan->ncols; j++)
		if (strcmp(plan->col_names[j], name) == 0)
			return j;
	Assert(plan->ncols < max);
	plan->col_names[plan->ncols] = pstrdup(name);
	plan->col_types[plan->ncols] = typid;
	return plan->ncols++;
}

/*
 * ArgumentCollation is the source column's collation: min, max and
 * count(DISTINCT) compare text as SQL's aggregates over the column do.
 */
static Oid
ArgumentCollation(const WinPlan *plan, const char *column)
{
	AttrNumber	attnum;
	Oid			typid;
	int32		typmod;
	Oid			collation;

	attnum = get_attnum(plan->relid, column);
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of the source of feature group \"%s\" does not exist",
						column, plan->group_name)));
	get_atttypetypmodcoll(plan->relid, attnum, &typid, &typmod, &collation);
	return collation;
}

/*
 * CompileSupport looks up the comparison, hash and equality functions an
 * aggregate over an arbitrary type needs.
 */
static void
CompileSupport(WinPlan *plan, WinFeat *f)
{
	TypeCacheEntry *tc;

	if (f->agg == FS_AGG_MIN || f->agg == FS_AGG_MAX)
	{
		tc = lookup_type_cache(f->argtype, TYPECACHE_CMP_PROC_FINFO);
		if (!OidIsValid(tc->cmp_proc_finfo.fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("feature \"%s\" of group \"%s\": type %s has no ordering",
							f->name, plan->group_name, format_type_be(f->argtype))));
		fmgr_info_copy(&f->cmp, &tc->cmp_proc_finfo, plan->cxt);
	}
	else if (f->agg == FS_AGG_COUNT_DISTINCT)
	{
		tc = lookup_type_cache(f->argtype, TYPECACHE_HASH_PROC_FINFO |
							   TYPECACHE_EQ_OPR_FINFO);
		if (!OidIsValid(tc->hash_proc_finfo.fn_oid) ||
			!OidIsValid(tc->eq_opr_finfo.fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("feature \"%s\" of group \"%s\": type %s cannot be hashed for count(DISTINCT)",
							f->name, plan->group_name, format_type_be(f->argtype))));
		fmgr_info_copy(&f->hash, &tc->hash_proc_finfo, plan->cxt);
		fmgr_info_copy(&f->eq, &tc->eq_opr_finfo, plan->cxt);
	}
	if (f->col >= 0)
		f->collation = ArgumentCollation(plan, plan->col_names[f->col]);
}

/*
 * CompileFeature fills the plan's entry for the feature at index from the
 * registry's description of it.
 */
static void
CompileFeature(WinPlan *plan, const FsFeature *src, int index, int maxcols)
{
	WinFeat    *f = &plan->feats[index];
	const FsWindowFeature *w = src->window;

	if (w == NULL)
		elog(ERROR, "feature \"%s\" of group \"%s\" has no window definition",
			 src->name, plan->group_name);
	f->name = pstrdup(src->name);
	f->agg = w->agg;
	f->typid = src->typid;
	f->typmod = src->typmod;
	get_typlenbyval(f->typid, &f->typlen, &f->typbyval);
	f->window_usecs = w->window_usecs > 0 ? w->window_usecs : 0;
	f->col = -1;
	if (f->agg == FS_AGG_NONE)
		elog(ERROR, "feature \"%s\" of group \"%s\" has no aggregate",
			 f->name, plan->group_name);
	if (f->agg == FS_AGG_EXPRESSION)
	{
		f->window_usecs = 0;
		CompileExpression(plan, f, index, w->expression);
	}
	else
	{
		if (f->agg != FS_AGG_COUNT_STAR)
		{
			if (w->argument == NULL || !OidIsValid(w->argument_typid))
				elog(ERROR, "feature \"%s\" of group \"%s\" has no argument",
					 f->name, plan->group_name);
			f->argtype = w->argument_typid;
			f->argbase = getBaseType(f->argtype);
			get_typlenbyval(f->argtype, &f->arglen, &f->argbyval);
			f->col = ArgumentColumn(plan, w->argument, f->argtype, maxcols);
		}
		f->argclass = ClassifyArgument(f->agg, f->argtype);
		f->wide_int = f->argclass == WIN_ARG_INT && f->argbase == INT8OID;
		f->result_type = AggResultType(f);
		CompileSupport(plan, f);
		f->cast = CompileCast(plan, f, index);
		if (f->window_usecs > 0)
			plan->has_bounded = true;
		else
		{
			plan->has_unbounded = true;
			if (f->agg == FS_AGG_LAST)
				plan->has_unbounded_last = true;
		}
	}
	if (w->default_value != NULL)
	{
		Oid			input;
		Oid			ioparam;

		getTypeInputInfo(f->typid, &input, &ioparam);
		f->has_default = true;
		f->default_value = OidInputFunctionCall(input, w->default_value,
												ioparam, f->typmod);
	}
}

/* FindSubLink is raw_expression_tree_walker's callback: true at a SubLink */
static bool
FindSubLink(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
		return true;
	return raw_expression_tree_walker(node, FindSubLink, context);
}

/*
 * CheckWhereText refuses a WHERE text that is not one condition without a
 * subquery: the engine pastes it into the source query it runs as the
 * reader, so text that would end the condition (a UNION, an ORDER BY) and
 * read something else must never reach SQL.  The registry analysed it at
 * definition; this is the engine's own guard for the text it reads back.
 */
static void
CheckWhereText(const WinPlan *plan)
{
	List	   *raw;
	SelectStmt *sel;

	raw = raw_parser(psprintf("SELECT WHERE (%s\n)", plan->where_text), RAW_PARSE_DEFAULT);
	if (list_length(raw) == 1 && IsA(linitial_node(RawStmt, raw)->stmt, SelectStmt))
	{
		sel = (SelectStmt *) linitial_node(RawStmt, raw)->stmt;
		if (sel->op == SETOP_NONE && sel->targetList == NIL && sel->fromClause == NIL &&
			sel->groupClause == NIL && sel->havingClause == NULL &&
			sel->sortClause == NIL && sel->limitCount == NULL &&
			sel->limitOffset == NULL && sel->lockingClause == NIL &&
			sel->withClause == NULL && sel->windowClause == NIL &&
			sel->distinctClause == NIL && sel->intoClause == NULL &&
			sel->whereClause != NULL && !FindSubLink(sel->whereClause, NULL))
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
			 errmsg("the WHERE condition of feature group \"%s\" is not one condition without a subquery",
					plan->group_name),
			 errhint("Recreate the group with a WHERE that is a boolean expression over the source's columns.")));
}

/*
 * CompileKeys records the entity's key columns, their comparison and the
 * collation both sides order text keys by ("C").
 */
static void
CompileKeys(WinPlan *plan, const FsGroup *group)
{
	ListCell   *lc;
	int			i = 0;

	plan->nkeys = list_length(group->keys);
	if (plan->nkeys == 0)
		elog(ERROR, "feature group \"%s\" has no key columns", plan->group_name);
	plan->key_names = palloc0(sizeof(char *) * plan->nkeys);
	plan->key_types = palloc0(sizeof(Oid) * plan->nkeys);
	plan->key_collations = palloc0(sizeof(Oid) * plan->nkeys);
	plan->key_cmp = palloc0(sizeof(FmgrInfo) * plan->nkeys);
	foreach(lc, group->keys)
	{
		FsKeyColumn *k = (FsKeyColumn *) lfirst(lc);
		TypeCacheEntry *tc = lookup_type_cache(k->typid, TYPECACHE_CMP_PROC_FINFO);

		if (!OidIsValid(tc->cmp_proc_finfo.fn_oid))
			elog(ERROR, "key type %s has no ordering", format_type_be(k->typid));
		plan->key_names[i] = pstrdup(k->name);
		plan->key_types[i] = k->typid;
		plan->key_collations[i] = type_is_collatable(k->typid) ?
			C_COLLATION_OID : InvalidOid;
		fmgr_info_copy(&plan->key_cmp[i], &tc->cmp_proc_finfo, plan->cxt);
		i++;
	}
}

/*
 * WinCompile builds, in cxt, everything a pass over the group's source
 * needs: keys, the aggregated columns, each feature's aggregate, result
 * type, cast, DEFAULT and expression.  The group must have a source.
 */
WinPlan *
WinCompile(const FsGroup *group, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	WinPlan    *plan = palloc0(sizeof(WinPlan));
	const FsSource *src = group ? group->source : NULL;
	ListCell   *lc;
	int			maxcols;
	int			i = 0;

	if (src == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("feature group \"%s\" is not defined FROM a source",
						group ? group->name : "?"),
				 errhint("Only groups defined with CREATE FEATURE GROUP ... FROM have window features.")));
	plan->cxt = cxt;
	plan->group_name = pstrdup(group->name);
	if (!OidIsValid(src->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the source %s of feature group \"%s\" does not exist",
						quote_qualified_identifier(src->schema_name, src->relation_name),
						group->name)));
	plan->schema_name = pstrdup(src->schema_name);
	plan->relation_name = pstrdup(src->relation_name);
	plan->relid = src->relid;
	plan->relkind = src->relkind;
	plan->timestamp_column = pstrdup(src->timestamp_column);
	plan->created_column = src->created_column ? pstrdup(src->created_column) : NULL;
	plan->where_text = src->where_text ? pstrdup(src->where_text) : NULL;
	plan->end_exclusive = src->window_end_exclusive;
	if (plan->where_text)
		CheckWhereText(plan);
	CompileKeys(plan, group);

	maxcols = list_length(group->features);
	plan->col_names = palloc0(sizeof(char *) * Max(maxcols, 1));
	plan->col_types = palloc0(sizeof(Oid) * Max(maxcols, 1));
	plan->nfeat = list_length(group->features);
	plan->feats = palloc0(sizeof(WinFeat) * Max(plan->nfeat, 1));
	foreach(lc, group->features)
	{
		CompileFeature(plan, (const FsFeature *) lfirst(lc), i, maxcols);
		i++;
	}
	MemoryContextSwitchTo(old);
	return plan;
}

static char *SourceSql(const WinPlan *plan, bool has_as_of,
					   const char *extra_condition, bool ordered);

/*
 * AppendKeyOrder appends a key column to an ORDER BY, text keys in "C".
 */
static void
AppendKeyOrder(StringInfo buf, const WinPlan *plan, int k)
{
	appendStringInfoString(buf, quote_identifier(plan->key_names[k]));
	if (OidIsValid(plan->key_collations[k]))
		appendStringInfoString(buf, " COLLATE pg_catalog.\"C\"");
}

/*
 * WinSourceSql is the query that reads the group's events: keys, event
 * time, created time (NULL without CREATED) and the aggregated columns,
 * filtered by the group's WHERE, by created <= $1 when has_as_of, and by
 * the caller's extra_condition (SQL over the source's columns, or NULL),
 * in the engine's order.  Events with a NULL key or time never count, so
 * the query leaves them out.
 */
char *
WinSourceSql(const WinPlan *plan, bool has_as_of, const char *extra_condition)
{
	return SourceSql(plan, has_as_of, extra_condition, true);
}

/*
 * WinSourceSqlUnsorted is WinSourceSql without its ORDER BY: the same rows,
 * in whatever order the source is read (a sequential scan), for a caller
 * that files the events by key itself (WinStoreLoad).
 */
char *
WinSourceSqlUnsorted(const WinPlan *plan, bool has_as_of, const char *extra_condition)
{
	return SourceSql(plan, has_as_of, extra_condition, false);
}

/*
 * WinSourceRelid is the source relation's OID (InvalidOid once dropped) and
 * its kind, as the plan was compiled.
 */
Oid
WinSourceRelid(const WinPlan *plan, char *relkind)
{
	RangeVar   *rv = makeRangeVar(pstrdup(plan->schema_name),
								  pstrdup(plan->relation_name), -1);

	*relkind = plan->relkind;
	return RangeVarGetRelid(rv, NoLock, true);
}

/*
 * SourceSql builds the source query of WinSourceSql, ordered in the
 * engine's order or not at all.
 */
static char *
SourceSql(const WinPlan *plan, bool has_as_of, const char *extra_condition,
		  bool ordered)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT ");
	for (int k = 0; k < plan->nkeys; k++)
		appendStringInfo(&buf, "%s, ", quote_identifier(plan->key_names[k]));
	appendStringInfo(&buf, "%s, ", quote_identifier(plan->timestamp_column));
	if (plan->created_column)
		appendStringInfoString(&buf, quote_identifier(plan->created_column));
	else
		appendStringInfoString(&buf, "NULL::pg_catalog.timestamptz");
	for (int j = 0; j < plan->ncols; j++)
		appendStringInfo(&buf, ", %s", quote_identifier(plan->col_names[j]));
	appendStringInfo(&buf, " FROM %s%s WHERE ",
					 plan->relkind == 'r' ? "ONLY " : "",
					 quote_qualified_identifier(plan->schema_name, plan->relation_name));
	for (int k = 0; k < plan->nkeys; k++)
		appendStringInfo(&buf, "%s IS NOT NULL AND ",
						 quote_identifier(plan->key_names[k]));
	appendStringInfo(&buf, "%s IS NOT NULL",
					 quote_identifier(plan->timestamp_column));
	if (plan->where_text)
		appendStringInfo(&buf, " AND (%s\n)", plan->where_text);
	if (has_as_of)
	{
		if (plan->created_column == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("feature group \"%s\" has no CREATED column, so as_of cannot apply to it",
							plan->group_name),
					 errhint("Declare CREATED in the group's definition to use as_of or strict.")));
		appendStringInfo(&buf, " AND %s <= $1", quote_identifier(plan->created_column));
	}
	if (extra_condition)
		appendStringInfo(&buf, " AND (%s\n)", extra_condition);
	if (!ordered)
		return buf.data;
	appendStringInfoString(&buf, " ORDER BY ");
	for (int k = 0; k < plan->nkeys; k++)
	{
		AppendKeyOrder(&buf, plan, k);
		appendStringInfoString(&buf, ", ");
	}
	appendStringInfoString(&buf, quote_identifier(plan->timestamp_column));
	if (plan->created_column)
		appendStringInfo(&buf, ", %s", quote_identifier(plan->created_column));
	return buf.data;
}

/*
 * WinPointSortKeys fills keys[0 .. nkeys-1] with the order callers must sort
 * their points by, key column by key column, before t ascending.
 */
void
WinPointSortKeys(const WinPlan *plan, WinSortKey *keys)
{
	for (int k = 0; k < plan->nkeys; k++)
	{
		TypeCacheEntry *tc = lookup_type_cache(plan->key_types[k], TYPECACHE_LT_OPR);

		keys[k].sortop = tc->lt_opr;
		keys[k].collation = plan->key_collations[k];
	}
}

/* WinKeyType is the type of the source's k-th key column */
Oid
WinKeyType(const WinPlan *plan, int k)
{
	return k >= 0 && k < plan->nkeys ? plan->key_types[k] : InvalidOid;
}

/* WinFeatureCount is the number of features a pass fills per point */
int
WinFeatureCount(const WinPlan *plan)
{
	return plan->nfeat;
}
