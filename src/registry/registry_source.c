/*
 * registry_source.c
 *		Feature groups computed from a source of events (CREATE FEATURE
 *		GROUP ... FROM source): their validation.  Work in progress for
 *		issue 10, see WIP-issue10.md: the source, the aggregates, the
 *		expressions' references and the windows are checked, then the group
 *		is refused, because nothing stores or computes it yet.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parser.h"
#include "parser/parse_coerce.h"
#include "parser/parse_type.h"
#include "storage/lockdefs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "registry/registry.h"
#include "registry/registry_int.h"

/* The longest window, as the longest TTL: far inside the timestamp range */
#define FS_MAX_WINDOW_DAYS 36525

/*
 * The name of each FsAggKind, as featstore.window_features.aggregate will
 * store it (WIP-issue10.md): count(DISTINCT) is its own kind because its
 * state differs.
 */
static const char *const agg_kind_names[] = {
	[FS_AGG_NONE] = "none",
	[FS_AGG_COUNT_STAR] = "count_star",
	[FS_AGG_COUNT] = "count",
	[FS_AGG_COUNT_DISTINCT] = "count_distinct",
	[FS_AGG_SUM] = "sum",
	[FS_AGG_AVG] = "avg",
	[FS_AGG_MIN] = "min",
	[FS_AGG_MAX] = "max",
	[FS_AGG_STDDEV_SAMP] = "stddev_samp",
	[FS_AGG_STDDEV_POP] = "stddev_pop",
	[FS_AGG_VAR_SAMP] = "var_samp",
	[FS_AGG_VAR_POP] = "var_pop",
	[FS_AGG_LAST] = "last",
	[FS_AGG_EXPRESSION] = "expression",
};

static Oid	CheckSource(const FsGroupDef *def, List *keys);
static Oid	SourceColumnType(Oid relid, const FsGroupDef *def, const char *column,
							 const char *what, int location);
static void CheckTimeColumn(Oid relid, const FsGroupDef *def, const char *column,
							const char *clause, int location);
static void CheckAggregate(Oid relid, const FsGroupDef *def, const FsFeatureDef *f);
static Oid	AggregateResultType(const FsFeatureDef *f, Oid argtype);
static void CheckDefault(const FsFeatureDef *f);
static void DefaultErrorCallback(void *arg);
/* What CheckExpressionReference needs: the feature's place in its group */
typedef struct ExprCheck
{
	Oid			relid;			/* the source */
	const FsGroupDef *def;
	int			index;			/* of the expression feature in def->features */
	int			base;			/* byte offset in the block of the parsed "SELECT " */
	const char *sql;			/* what raw_parser parsed */
} ExprCheck;

/* The prefix that makes an expression a statement for raw_parser */
#define EXPR_PREFIX "SELECT "

static void CheckExpression(Oid relid, const FsGroupDef *def, int index);
static Node *ParseExpressionText(const FsFeatureDef *f);
static void ExpressionErrorCallback(void *arg);
static bool CheckExpressionReference(Node *node, void *context);
static void CheckColumnRef(const ColumnRef *ref, const ExprCheck *check);
static char *DescribeSourceGroup(const FsGroupDef *def);
static void DescribeFeature(StringInfo buf, const FsFeatureDef *f);

/*
 * RegistryParseDuration reads a window and normalises it to microseconds.
 * Days count as 24 hours so that a window never depends on the session's
 * time zone; months and years are refused because their length varies.
 * feature names the window's feature in messages.
 */
int64
RegistryParseDuration(const char *text, const char *feature)
{
	Interval   *iv;
	int64		usecs;

	iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window '%s' of feature \"%s\" uses months or years", text, feature),
				 errhint("Months and years vary in length; write the window in days or hours, e.g. '30 days'.")));

	/* a wrapped sum would store a short window silently */
	if (pg_mul_s64_overflow((int64) iv->day, USECS_PER_DAY, &usecs) ||
		pg_add_s64_overflow(usecs, iv->time, &usecs) ||
		usecs > FS_MAX_WINDOW_DAYS * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("window '%s' of feature \"%s\" is out of range", text, feature),
				 errdetail("A window is at most %d days.", FS_MAX_WINDOW_DAYS),
				 errhint("Leave out OVER for a feature over all history.")));
	if (usecs <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window '%s' of feature \"%s\" must be positive", text, feature),
				 errhint("Write a positive duration such as '1 hour', or leave out OVER for a feature over all history.")));
	return usecs;
}

/*
 * RegistryCreateSourceGroup is CREATE FEATURE GROUP ... FROM source, called
 * by RegistryCreateGroup once the entity's keys are known (SPI connected,
 * registry locked).  For now it checks the source, its columns, the
 * aggregates and the windows, then refuses the group at FROM, so that
 * nothing half-made is stored.  Expressions, WHERE and DEFAULT are not
 * analysed yet (WIP-issue10.md).
 */
FsResult *
RegistryCreateSourceGroup(FsGroupDef *def, List *keys, const char *stmt_text)
{
	ListCell   *lc;
	Oid			relid = CheckSource(def, keys);

	foreach(lc, def->features)
	{
		FsFeatureDef *f = lfirst(lc);

		if (f->agg_kind == FS_AGG_EXPRESSION)
			CheckExpression(relid, def, foreach_current_index(lc));
		else
			CheckAggregate(relid, def, f);
		if (f->default_value)
			CheckDefault(f);
		if (f->window_text == NULL)
			continue;
		registry_error_location = f->window_location;
		(void) RegistryParseDuration(f->window_text, f->name);
	}
	registry_error_location = def->source_location;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("feature groups defined FROM a source are not supported yet"),
			 errdetail("Feature group \"%s\" was parsed as %s. Computing window features is work in progress (issue 10).",
					   def->name, DescribeSourceGroup(def)),
			 errhint("Define the group without FROM and fill its history table with computed values.")));
	return NULL;
}

/*
 * CheckSource resolves the source relation as the calling role, and checks
 * that it can be read, holds the entity's key columns with the key's types,
 * and the TIMESTAMP and CREATED columns.  ONLINE needs a table: change
 * capture is a trigger on it.
 */
static Oid
CheckSource(const FsGroupDef *def, List *keys)
{
	RangeVar   *rv = makeRangeVar(def->source_schema, def->source_name, -1);
	Oid			relid;
	char		relkind;
	ListCell   *lc;

	registry_error_location = def->source_location;
	relid = RangeVarGetRelid(rv, AccessShareLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source relation \"%s\" of feature group \"%s\" does not exist",
						def->source_name, def->name),
				 errhint("Name a table or view of events, schema-qualified if it is not on search_path.")));
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("source \"%s\" of feature group \"%s\" is not a table or view",
						get_rel_name(relid), def->name),
				 errhint("A group is computed from a table, a partitioned table, a view or a materialized view.")));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(relid)),
				 errhint("Defining a group from a source needs SELECT on it.")));
	if (def->online && relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
	{
		registry_error_location = def->online_location;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature group \"%s\" cannot be ONLINE: its source \"%s\" is a view",
						def->name, get_rel_name(relid)),
				 errhint("The online store follows a source through triggers on a table; define the group FROM the view's table, or leave it OFFLINE.")));
	}
	foreach(lc, keys)
	{
		FsKeyColumn *k = lfirst(lc);
		Oid			typid = SourceColumnType(relid, def, k->name, "key column",
											 def->source_location);

		if (typid != k->typid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("key column \"%s\" of source \"%s\" has type %s, but entity \"%s\" keys by %s",
							k->name, get_rel_name(relid), format_type_be(typid),
							def->entity_name, format_type_be(k->typid)),
					 errhint("Give the source the entity's key types, e.g. through a view that casts them.")));
	}
	CheckTimeColumn(relid, def, def->timestamp_column, "TIMESTAMP", def->timestamp_location);
	if (def->created_column)
		CheckTimeColumn(relid, def, def->created_column, "CREATED", def->created_location);
	return relid;
}

/*
 * SourceColumnType returns the type of a column of the source, or refuses
 * a column the source does not have, at location.
 */
static Oid
SourceColumnType(Oid relid, const FsGroupDef *def, const char *column,
				 const char *what, int location)
{
	AttrNumber	attnum = get_attnum(relid, column);

	registry_error_location = location;
	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("source \"%s\" of feature group \"%s\" has no %s \"%s\"",
						get_rel_name(relid), def->name, what, column),
				 errhint("The source's columns are those of %s; check the spelling and the case.",
						 get_rel_name(relid))));
	return get_atttype(relid, attnum);
}

/* CheckTimeColumn checks that the TIMESTAMP or CREATED column is a timestamptz */
static void
CheckTimeColumn(Oid relid, const FsGroupDef *def, const char *column,
				const char *clause, int location)
{
	Oid			typid = SourceColumnType(relid, def, column,
										 psprintf("%s column", clause), location);

	if (typid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s column \"%s\" of source \"%s\" has type %s, not timestamp with time zone",
						clause, column, get_rel_name(relid), format_type_be(typid)),
				 errhint("Event times are instants: use a timestamptz column, e.g. through a view that converts it with AT TIME ZONE.")));
}

/*
 * CheckAggregate checks an aggregate's argument column, and that the
 * aggregate's SQL result fits the declared feature type by an assignment
 * cast, as an INSERT of the aggregate into the column would need.  A cast
 * through text (count(*) into a text feature) is refused: it fits any type
 * and says nothing about the value.
 */
static void
CheckAggregate(Oid relid, const FsGroupDef *def, const FsFeatureDef *f)
{
	Oid			argtype = InvalidOid;
	Oid			result;
	Oid			typid;
	int32		typmod;
	Oid			castfunc;
	CoercionPathType path;

	if (f->agg_argument)
		argtype = SourceColumnType(relid, def, f->agg_argument, "column",
								   f->argument_location);
	registry_error_location = f->type_location;
	parseTypeString(f->type_text, &typid, &typmod, false);
	result = AggregateResultType(f, argtype);
	path = result == typid ? COERCION_PATH_RELABELTYPE :
		find_coercion_pathway(typid, result, COERCION_ASSIGNMENT, &castfunc);
	if (path == COERCION_PATH_NONE || path == COERCION_PATH_COERCEVIAIO)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("feature \"%s\" has type %s, but its aggregate gives %s",
						f->name, format_type_be(typid), format_type_be(result)),
				 errhint("Declare the feature as %s, or as a type %s converts to.",
						 format_type_be(result), format_type_be(result))));
}

/*
 * AggregateResultType is the type PostgreSQL's own aggregate returns for
 * the argument type, so that featstore's results are typed as SQL's: it
 * asks the server (SELECT agg(NULL::type)) after checking that the argument
 * is of a kind the aggregate takes, for an error at the argument.
 */
static Oid
AggregateResultType(const FsFeatureDef *f, Oid argtype)
{
	char		category;
	bool		preferred;
	char	   *sql;

	switch (f->agg_kind)
	{
		case FS_AGG_COUNT_STAR:
		case FS_AGG_COUNT:
		case FS_AGG_COUNT_DISTINCT:
			return INT8OID;
		case FS_AGG_LAST:
		case FS_AGG_MIN:
		case FS_AGG_MAX:
			return argtype;
		default:
			break;
	}
	get_type_category_preferred(argtype, &category, &preferred);
	registry_error_location = f->argument_location;
	if (category != TYPCATEGORY_NUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s of column \"%s\" needs a number, but the column has type %s",
						agg_kind_names[f->agg_kind], f->agg_argument, format_type_be(argtype)),
				 errhint("Aggregate a numeric column, or count it with count(%s).",
						 quote_identifier(f->agg_argument))));
	sql = psprintf("SELECT pg_catalog.%s(NULL::%s)", agg_kind_names[f->agg_kind],
				   format_type_be_qualified(argtype));
	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not find the result type of %s", sql);
	return SPI_gettypeid(SPI_tuptable->tupdesc, 1);
}

/*
 * CheckDefault reads a DEFAULT literal with the feature type's input
 * function, as a quoted constant is read, so that a value the type refuses
 * is refused now, at the literal, rather than at every empty window.
 */
static void
CheckDefault(const FsFeatureDef *f)
{
	Oid			typid;
	int32		typmod;
	Oid			infunc;
	Oid			ioparam;
	ErrorContextCallback errcallback;

	registry_error_location = f->type_location;
	parseTypeString(f->type_text, &typid, &typmod, false);
	getTypeInputInfo(typid, &infunc, &ioparam);
	registry_error_location = f->default_location;
	errcallback.callback = DefaultErrorCallback;
	errcallback.arg = (void *) f;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	(void) OidInputFunctionCall(infunc, f->default_value, ioparam, typmod);
	error_context_stack = errcallback.previous;
}

/* DefaultErrorCallback says what a DEFAULT the feature's type refuses is for */
static void
DefaultErrorCallback(void *arg)
{
	const FsFeatureDef *f = (const FsFeatureDef *) arg;

	errhint("DEFAULT is the value of feature \"%s\" over an empty window: write a value of type %s.",
			f->name, f->type_text);
}

/*
 * CheckExpression checks what an expression feature refers to: only
 * features of its own group declared before it, so that the features can
 * be computed in order, the same way offline and online.  Types are not
 * checked yet (WIP-issue10.md).
 */
static void
CheckExpression(Oid relid, const FsGroupDef *def, int index)
{
	const FsFeatureDef *f = list_nth(def->features, index);
	ExprCheck	check;
	Node	   *expr = ParseExpressionText(f);

	check.relid = relid;
	check.def = def;
	check.index = index;
	check.base = f->agg_location - (int) strlen(EXPR_PREFIX);
	(void) CheckExpressionReference(expr, &check);
}

/*
 * ParseExpressionText runs PostgreSQL's grammar over the expression, as
 * SELECT expression, and returns the expression's raw tree.  A syntax
 * error points into the block (ExpressionErrorCallback).
 */
static Node *
ParseExpressionText(const FsFeatureDef *f)
{
	char	   *sql = psprintf("%s%s", EXPR_PREFIX, f->expression_text);
	ErrorContextCallback errcallback;
	ExprCheck	check;
	List	   *stmts;
	SelectStmt *select;

	check.base = f->agg_location - (int) strlen(EXPR_PREFIX);
	check.sql = sql;
	errcallback.callback = ExpressionErrorCallback;
	errcallback.arg = &check;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	error_context_stack = errcallback.previous;

	select = (SelectStmt *) linitial_node(RawStmt, stmts)->stmt;
	registry_error_location = f->agg_location;
	if (list_length(stmts) != 1 || !IsA(select, SelectStmt) ||
		list_length(select->targetList) != 1 || select->fromClause != NIL ||
		select->whereClause != NULL || select->distinctClause != NIL ||
		select->groupClause != NIL || select->sortClause != NIL ||
		select->limitCount != NULL || select->valuesLists != NIL ||
		select->op != SETOP_NONE || linitial_node(ResTarget, select->targetList)->name)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("expression feature \"%s\" is not an expression", f->name),
				 errhint("Write a scalar expression over the group's earlier features, e.g. AS a_sum / nullif(a_count, 0).")));
	return linitial_node(ResTarget, select->targetList)->val;
}

/*
 * ExpressionErrorCallback moves the cursor of a syntax error in an
 * expression from the parsed text to the block: it becomes the registry's
 * location, which the statement language turns into the block's cursor.
 */
static void
ExpressionErrorCallback(void *arg)
{
	ExprCheck  *check = (ExprCheck *) arg;
	int			pos = geterrposition();

	if (pos <= 0)
		return;
	registry_error_location = check->base +
		pg_mbcharcliplen(check->sql, strlen(check->sql), pos - 1);
	errposition(0);
}

/* CheckExpressionReference walks an expression's raw tree to its column references */
static bool
CheckExpressionReference(Node *node, void *context)
{
	const ExprCheck *check = (const ExprCheck *) context;

	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		registry_error_location = check->base + ((SubLink *) node)->location;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("an expression feature cannot contain a subquery"),
				 errhint("An expression is computed from the group's own features, row by row.")));
	}
	if (IsA(node, ColumnRef))
	{
		CheckColumnRef((ColumnRef *) node, check);
		return false;
	}
	return raw_expression_tree_walker(node, CheckExpressionReference, context);
}

/*
 * CheckColumnRef refuses a reference to anything but an earlier feature of
 * the group: a later feature or the feature itself (they are computed in
 * order), another group's feature, or a column of the source (aggregate it
 * in a feature of its own).
 */
static void
CheckColumnRef(const ColumnRef *ref, const ExprCheck *check)
{
	const FsFeatureDef *f = list_nth(check->def->features, check->index);
	Node	   *first = linitial(ref->fields);
	const char *name;
	ListCell   *lc;

	registry_error_location = check->base + ref->location;
	if (list_length(ref->fields) != 1 || !IsA(first, String))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("expression feature \"%s\" refers to another group or table", f->name),
				 errhint("An expression uses features of its own group, by their names alone; join other groups in the request, e.g. in a feature service.")));
	name = strVal(first);
	foreach(lc, check->def->features)
	{
		const FsFeatureDef *other = lfirst(lc);

		if (strcmp(other->name, name) != 0)
			continue;
		if (foreach_current_index(lc) < check->index)
			return;
		if (foreach_current_index(lc) == check->index)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("expression feature \"%s\" refers to itself", f->name),
					 errhint("An expression uses the features declared before it in the same group.")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
				 errmsg("expression feature \"%s\" refers to the later feature \"%s\"", f->name, name),
				 errhint("Features are computed in the order they are declared: declare \"%s\" before \"%s\".",
						 name, f->name)));
	}
	if (get_attnum(check->relid, name) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("expression feature \"%s\" refers to column \"%s\" of the source", f->name, name),
				 errhint("An expression uses the group's features; aggregate the column in a feature of its own, e.g. AS last(%s).",
						 quote_identifier(name))));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("expression feature \"%s\" refers to \"%s\", which is not a feature of group \"%s\"",
					f->name, name, check->def->name),
			 errhint("An expression uses the features declared before it in the same group.")));
}

/*
 * DescribeSourceGroup renders what the parser understood of a source group,
 * for the work-in-progress refusal: until the registry stores these groups,
 * it is what the regression test can see of the parse.
 */
static char *
DescribeSourceGroup(const FsGroupDef *def)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfo(&buf, "source %s, timestamp %s",
					 def->source_schema ?
					 quote_qualified_identifier(def->source_schema, def->source_name) :
					 quote_identifier(def->source_name),
					 quote_identifier(def->timestamp_column));
	if (def->created_column)
		appendStringInfo(&buf, ", created %s", quote_identifier(def->created_column));
	if (def->where_text)
		appendStringInfo(&buf, ", where [%s]", def->where_text);
	if (def->window_end_exclusive)
		appendStringInfoString(&buf, ", window end exclusive");
	appendStringInfoString(&buf, def->online ? ", online" : ", offline");
	appendStringInfoString(&buf, "; features:");
	foreach(lc, def->features)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoChar(&buf, ';');
		DescribeFeature(&buf, lfirst(lc));
	}
	return buf.data;
}

/* DescribeFeature appends one feature of DescribeSourceGroup: name type = kind(arg) ... */
static void
DescribeFeature(StringInfo buf, const FsFeatureDef *f)
{
	appendStringInfo(buf, " %s %s = %s", quote_identifier(f->name), f->type_text,
					 agg_kind_names[f->agg_kind]);
	if (f->agg_argument)
		appendStringInfo(buf, "(%s)", quote_identifier(f->agg_argument));
	if (f->expression_text)
		appendStringInfo(buf, " [%s]", f->expression_text);
	if (f->window_text)
		appendStringInfo(buf, " over '%s'", f->window_text);
	if (f->default_text)
		appendStringInfo(buf, " default %s", f->default_text);
	if (f->description)
		appendStringInfo(buf, " '%s'", f->description);
}
