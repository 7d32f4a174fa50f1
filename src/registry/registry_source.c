/*
 * registry_source.c
 *		Feature groups computed from a source of events (CREATE FEATURE
 *		GROUP ... FROM source, issue 10): the checks of a definition (the
 *		source and its columns, the aggregates, the expressions and the
 *		WHERE, analysed as PostgreSQL would, built-in code only), their
 *		storage in featstore.source_groups and featstore.window_features,
 *		the check before every read that the source still fits, and the
 *		rule every featstore duration (window or TTL) follows.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/sysattr.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/primnodes.h"
#include "optimizer/optimizer.h"
#include "parser/parse_clause.h"
#include "parser/parse_coerce.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "rewrite/rewriteManip.h"
#include "storage/lockdefs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

/* The longest window or TTL: 100 years of 24-hour days, far inside the timestamp range */
#define FS_MAX_DURATION_DAYS 36525

/*
 * The name of each FsAggKind, as featstore.window_features.aggregate
 * stores it (docs/registry.md): count(DISTINCT) is its own kind because its
 * state in the window engine differs.
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
static void CheckSourceColumns(Oid relid, const FsGroupDef *def, List *keys);
static FsGroupDef *DefinitionOfGroup(const FsGroup *group);
static void SourceCheckErrorCallback(void *arg);
static Oid	SourceColumnType(Oid relid, const FsGroupDef *def, const char *column,
							 const char *what, int location);
static void CheckTimeColumn(Oid relid, const FsGroupDef *def, const char *column,
							const char *clause, int location);
static void CheckAggregate(Oid relid, const FsGroupDef *def, const FsFeatureDef *f);
static Oid	AggregateResultType(const FsFeatureDef *f, Oid argtype);
static void CheckDefault(const FsFeatureDef *f);
static void DefaultErrorCallback(void *arg);
/* What the checks of an expression or WHERE need: its place and its text */
typedef struct ExprCheck
{
	Oid			relid;			/* the source */
	const FsGroupDef *def;
	int			index;			/* of the expression feature in def->features; -1 */
	int			base;			/* byte offset in the block of the parsed "SELECT " */
	const char *sql;			/* what raw_parser parsed */
	const char *syntax_hint;	/* a syntax error's hint, or NULL */
	ErrorContextCallback callback;	/* ExpressionErrorCallback while pushed */
} ExprCheck;

/* The prefix that makes an expression a statement for raw_parser */
#define EXPR_PREFIX "SELECT "

static void CheckExpression(Oid relid, const FsGroupDef *def, int index);
static Node *FeatureParamHook(ParseState *pstate, ColumnRef *cref);
static Bitmapset *CheckWhere(Oid relid, const FsGroupDef *def);
static void CheckColumnPrivileges(Oid relid, const FsGroupDef *def, List *keys,
								  Bitmapset *where_columns);
static void CheckColumnPrivilege(Oid relid, const char *column, int location);
static void CheckAnalysedExpression(ParseState *pstate, Node *expr, ExprCheck *check,
									const char *what);
static bool BuiltinOnlyWalker(Node *node, void *context);
static bool RefuseSubquery(Node *node, void *context);
static Node *AnalyseWhere(Oid relid, Node *raw, ExprCheck *check, Bitmapset **columns);
static bool ParallelUnsafeFunction(Oid func_id, void *context);
static bool ParallelUnsafeWalker(Node *node, void *context);
static bool WhereMentions(Node *node, void *context);
static Node *ParseSqlExpression(const char *text, int location, ExprCheck *check);
static int	BlockLocation(const ExprCheck *check, int location);
static void PushExprCallback(ExprCheck *check);
static void PopExprCallback(ExprCheck *check);
static void ExpressionErrorCallback(void *arg);
static bool CheckExpressionReference(Node *node, void *context);
static void CheckColumnRef(const ColumnRef *ref, const ExprCheck *check);
static void StoreWindowFeature(const FsGroupDef *def, const FsFeatureDef *f);

/* How a window's messages name it (RegistryParseDuration) */
static const FsDurationWords window_words = {
	.noun = "window",
	.owner_kind = "feature",
	.example = "'1 hour'",
	.range_hint = "Leave out OVER for a feature over all history.",
	.positive_rest = "leave out OVER for a feature over all history",
};

/*
 * RegistryParseDuration reads a window and normalises it to microseconds,
 * with RegistryParseDurationAs; feature names the window's feature in
 * messages.
 */
int64
RegistryParseDuration(const char *text, const char *feature)
{
	return RegistryParseDurationAs(text, &window_words, feature);
}

/*
 * RegistryParseDurationAs reads a duration (a window or a TTL) and
 * normalises it to microseconds.  Days count as 24 hours so that the
 * duration never depends on the session's time zone; months and years are
 * refused because their length varies; 0, negative and more than 100 years
 * are refused.  words and owner say, in the messages, whose duration it is.
 */
int64
RegistryParseDurationAs(const char *text, const FsDurationWords *words, const char *owner)
{
	Interval   *iv;
	int64		usecs;

	iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s '%s' of %s \"%s\" uses months or years",
						words->noun, text, words->owner_kind, owner),
				 errhint("Months and years vary in length; write the %s in days or hours, e.g. '30 days'.",
						 words->noun)));

	/*
	 * interval_in accepts day counts whose microseconds overflow int64; a
	 * wrapped sum would store a short duration silently.  The upper bound
	 * keeps "ts - duration" and the Redis expiry far inside the timestamp
	 * range.
	 */
	if (pg_mul_s64_overflow((int64) iv->day, USECS_PER_DAY, &usecs) ||
		pg_add_s64_overflow(usecs, iv->time, &usecs) ||
		usecs > FS_MAX_DURATION_DAYS * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s '%s' of %s \"%s\" is out of range",
						words->noun, text, words->owner_kind, owner),
				 errdetail("A %s is at most %d days.", words->noun, FS_MAX_DURATION_DAYS),
				 errhint("%s", words->range_hint)));
	if (usecs <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s '%s' of %s \"%s\" must be positive",
						words->noun, text, words->owner_kind, owner),
				 errhint("Write a positive duration such as %s, or %s.",
						 words->example, words->positive_rest)));
	return usecs;
}

/*
 * RegistryCheckSourceGroup checks CREATE FEATURE GROUP ... FROM source,
 * called by RegistryCreateGroup once the entity's keys are known (SPI
 * connected, registry locked): the source and its columns, every
 * aggregate, expression, DEFAULT and window, and the WHERE clause.  It
 * returns the source relation, locked against a concurrent drop.
 */
Oid
RegistryCheckSourceGroup(const FsGroupDef *def, List *keys)
{
	ListCell   *lc;
	Oid			relid;
	Bitmapset  *where_columns = NULL;

	registry_error_location = def->source_location;
	if (!RegistryHasSourceGroups())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("feature groups defined FROM a source need the registry of featstore %s",
						FEATSTORE_VERSION),
				 errhint("Update the extension with ALTER EXTENSION featstore UPDATE.")));
	relid = CheckSource(def, keys);
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
	if (def->where_text)
		where_columns = CheckWhere(relid, def);
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		CheckColumnPrivileges(relid, def, keys, where_columns);
	return relid;
}

/*
 * CheckColumnPrivileges checks, for a caller without SELECT on the whole
 * source, SELECT on each column the group reads: the keys, TIMESTAMP,
 * CREATED, the aggregated columns and the WHERE's columns (where_columns,
 * attribute numbers offset by FirstLowInvalidHeapAttributeNumber, as an
 * RTE's selectedCols).  Each is refused at the place that names it.
 */
static void
CheckColumnPrivileges(Oid relid, const FsGroupDef *def, List *keys,
					  Bitmapset *where_columns)
{
	ListCell   *lc;
	int			col = -1;

	foreach(lc, keys)
		CheckColumnPrivilege(relid, ((FsKeyColumn *) lfirst(lc))->name, def->source_location);
	CheckColumnPrivilege(relid, def->timestamp_column, def->timestamp_location);
	if (def->created_column)
		CheckColumnPrivilege(relid, def->created_column, def->created_location);
	foreach(lc, def->features)
	{
		FsFeatureDef *f = lfirst(lc);

		if (f->agg_argument)
			CheckColumnPrivilege(relid, f->agg_argument, f->argument_location);
	}
	while ((col = bms_next_member(where_columns, col)) >= 0)
	{
		AttrNumber	attnum = col + FirstLowInvalidHeapAttributeNumber;
		char	   *name = attnum > 0 ? get_attname(relid, attnum, true) : NULL;

		if (name)
			CheckColumnPrivilege(relid, name, def->where_location);
	}
}

/* CheckColumnPrivilege refuses a source column the caller may not SELECT, at location */
static void
CheckColumnPrivilege(Oid relid, const char *column, int location)
{
	AttrNumber	attnum = get_attnum(relid, column);

	if (attnum <= 0 ||
		pg_attribute_aclcheck(relid, attnum, GetUserId(), ACL_SELECT) == ACLCHECK_OK)
		return;
	registry_error_location = location;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for column %s of table %s",
					quote_identifier(column), get_rel_name(relid)),
			 errhint("Defining a group from a source needs SELECT on the columns it reads: the entity's keys, TIMESTAMP, CREATED, the aggregated columns and those of the WHERE.")));
}

/*
 * RegistryStoreSourceGroup records a checked source group's definition in
 * featstore.source_groups and featstore.window_features, as the extension
 * owner, after its feature_groups and features rows.  The source is
 * recorded by name (schema and relation), as the registry names a history
 * table: a dump and restore keeps the rows, and every reader resolves the
 * names again.
 */
void
RegistryStoreSourceGroup(const FsGroupDef *def, Oid relid)
{
	Oid			st[8] = {TEXTOID, NAMEOID, NAMEOID, CHAROID, NAMEOID, NAMEOID, TEXTOID, BOOLOID};
	Datum		sv[8];
	char		sn[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	ListCell   *lc;

	sv[0] = CStringGetTextDatum(def->name);
	sv[1] = DirectFunctionCall1(namein,
								CStringGetDatum(get_namespace_name(get_rel_namespace(relid))));
	sv[2] = DirectFunctionCall1(namein, CStringGetDatum(get_rel_name(relid)));
	sv[3] = CharGetDatum(get_rel_relkind(relid));
	sv[4] = DirectFunctionCall1(namein, CStringGetDatum(def->timestamp_column));
	sv[5] = def->created_column ?
		DirectFunctionCall1(namein, CStringGetDatum(def->created_column)) : (Datum) 0;
	sn[5] = def->created_column ? ' ' : 'n';
	sv[6] = def->where_text ? CStringGetTextDatum(def->where_text) : (Datum) 0;
	sn[6] = def->where_text ? ' ' : 'n';
	sv[7] = BoolGetDatum(def->window_end_exclusive);
	RegSpi("INSERT INTO featstore.source_groups (group_name, source_schema, source_name, "
		   "source_kind, timestamp_column, created_column, where_text, window_end_exclusive) "
		   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, st, sv, sn, true);
	foreach(lc, def->features)
		StoreWindowFeature(def, lfirst(lc));
}

/* StoreWindowFeature records how one feature of a source group is computed */
static void
StoreWindowFeature(const FsGroupDef *def, const FsFeatureDef *f)
{
	Oid			wt[9] = {TEXTOID, NAMEOID, TEXTOID, NAMEOID, INT8OID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID};
	Datum		wv[9];
	char		wn[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	wv[0] = CStringGetTextDatum(def->name);
	wv[1] = DirectFunctionCall1(namein, CStringGetDatum(f->name));
	wv[2] = CStringGetTextDatum(agg_kind_names[f->agg_kind]);
	wv[3] = f->agg_argument ?
		DirectFunctionCall1(namein, CStringGetDatum(f->agg_argument)) : (Datum) 0;
	wn[3] = f->agg_argument ? ' ' : 'n';
	wv[4] = f->window_text ?
		Int64GetDatum(RegistryParseDuration(f->window_text, f->name)) : (Datum) 0;
	wn[4] = f->window_text ? ' ' : 'n';
	wv[5] = f->window_text ? CStringGetTextDatum(f->window_text) : (Datum) 0;
	wn[5] = f->window_text ? ' ' : 'n';
	wv[6] = f->default_text ? CStringGetTextDatum(f->default_text) : (Datum) 0;
	wn[6] = f->default_text ? ' ' : 'n';
	wv[7] = f->default_value ? CStringGetTextDatum(f->default_value) : (Datum) 0;
	wn[7] = f->default_value ? ' ' : 'n';
	wv[8] = f->expression_text ? CStringGetTextDatum(f->expression_text) : (Datum) 0;
	wn[8] = f->expression_text ? ' ' : 'n';
	RegSpi("INSERT INTO featstore.window_features (group_name, feature_name, aggregate, "
		   "argument, window_usecs, window_text, default_text, default_value, expression_text) "
		   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9, wt, wv, wn, true);
}

/*
 * RegistryCheckSource checks, before featstore reads a source group, that
 * its source still exists, is a kind of relation a group reads, and has
 * the columns the definition needs with types that still fit: the keys,
 * TIMESTAMP, CREATED, every aggregate's argument (the aggregate's result
 * must still fit the feature's type), and the columns of the WHERE, which
 * is analysed again.  The errors name the group and what changed.
 */
void
RegistryCheckSource(const FsGroup *group)
{
	const FsSource *src = group->source;
	FsGroupDef *def = DefinitionOfGroup(group);
	ErrorContextCallback errcallback;
	ListCell   *lc;
	char		relkind;

	if (!OidIsValid(src->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source relation %s of feature group \"%s\" does not exist",
						quote_qualified_identifier(src->schema_name, src->relation_name),
						group->name),
				 errhint("Restore the source under that name, or drop the group with DROP FEATURE GROUP %s.",
						 quote_identifier(group->name))));
	relkind = get_rel_relkind(src->relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		(group->online || (relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW)))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("source relation %s of feature group \"%s\" is no longer a %s",
						quote_qualified_identifier(src->schema_name, src->relation_name),
						group->name, group->online ? "table" : "table or view"),
				 errhint("Restore the source, or drop the group with DROP FEATURE GROUP %s.",
						 quote_identifier(group->name))));
	errcallback.callback = SourceCheckErrorCallback;
	errcallback.arg = (void *) group;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	SPI_connect();
	CheckSourceColumns(src->relid, def, group->keys);
	foreach(lc, def->features)
	{
		FsFeatureDef *f = lfirst(lc);

		if (f->agg_kind != FS_AGG_EXPRESSION && f->agg_kind != FS_AGG_NONE)
			CheckAggregate(src->relid, def, f);
	}
	if (def->where_text)
		(void) CheckWhere(src->relid, def);
	SPI_finish();
	error_context_stack = errcallback.previous;
	registry_error_location = -1;
}

/*
 * DefinitionOfGroup rebuilds the part of a source group's definition the
 * column checks read, from the registry's FsGroup, with no locations.
 */
static FsGroupDef *
DefinitionOfGroup(const FsGroup *group)
{
	FsGroupDef *def = palloc0(sizeof(FsGroupDef));
	ListCell   *lc;

	def->name = group->name;
	def->entity_name = group->entity_name;
	def->source_schema = group->source->schema_name;
	def->source_name = group->source->relation_name;
	def->timestamp_column = group->source->timestamp_column;
	def->created_column = group->source->created_column;
	def->where_text = group->source->where_text;
	def->window_end_exclusive = group->source->window_end_exclusive;
	def->location = def->entity_location = def->ttl_location = def->schema_location = -1;
	def->source_location = def->timestamp_location = def->created_location = -1;
	def->where_location = def->online_location = -1;
	foreach(lc, group->features)
	{
		FsFeature  *f = lfirst(lc);
		FsFeatureDef *fd = palloc0(sizeof(FsFeatureDef));

		fd->name = f->name;
		fd->type_text = f->type_name;
		if (f->window)
		{
			fd->agg_kind = f->window->agg;
			fd->agg_argument = f->window->argument;
			fd->expression_text = f->window->expression;
		}
		fd->location = fd->type_location = fd->agg_location = -1;
		fd->argument_location = fd->window_location = fd->default_location = -1;
		def->features = lappend(def->features, fd);
	}
	return def;
}

/*
 * SourceCheckErrorCallback says that a read-time error comes from a changed
 * source, and how to mend it
 */
static void
SourceCheckErrorCallback(void *arg)
{
	const FsGroup *group = (const FsGroup *) arg;

	errcontext("checking the source %s of feature group \"%s\" against its definition",
			   quote_qualified_identifier(group->source->schema_name,
										  group->source->relation_name),
			   group->name);
	/* the definition's hints say how to write it, which is not the point now */
	errhint("The source changed after the group was defined: change it back, or drop the group with DROP FEATURE GROUP %s and create it again.",
			quote_identifier(group->name));
}

/*
 * RegistrySourceReadsColumn says whether a source group reads the named
 * column of its source: a key, TIMESTAMP, CREATED, an aggregate's
 * argument, or a name the WHERE mentions (conservatively: the last part of
 * every column reference of its raw tree, so that nothing the condition
 * may read escapes the guard).
 */
bool
RegistrySourceReadsColumn(const FsGroup *group, const char *column)
{
	const FsSource *src = group->source;
	ListCell   *lc;

	if (src == NULL)
		return false;
	foreach(lc, group->keys)
		if (strcmp(((FsKeyColumn *) lfirst(lc))->name, column) == 0)
			return true;
	if (strcmp(src->timestamp_column, column) == 0 ||
		(src->created_column && strcmp(src->created_column, column) == 0))
		return true;
	foreach(lc, group->features)
	{
		FsFeature  *f = lfirst(lc);

		if (f->window && f->window->argument && strcmp(f->window->argument, column) == 0)
			return true;
	}
	if (src->where_text)
	{
		ExprCheck	check;
		Node	   *raw;

		memset(&check, 0, sizeof(check));
		check.sql = column;
		check.index = -1;
		raw = ParseSqlExpression(src->where_text, -1, &check);
		check.sql = column;
		return raw == NULL || WhereMentions(raw, &check);
	}
	return false;
}

/*
 * RegistrySourceParallelSafe says whether a source group's events may be
 * read inside a parallel worker: the source is a table (plain or
 * partitioned) that is not temporary, which a worker can read, and its
 * WHERE, analysed as CheckWhere does, calls only parallel-safe functions.
 * The WHERE passed CheckWhere, and the registry keeps the columns it reads.
 */
bool
RegistrySourceParallelSafe(const FsGroup *group)
{
	const FsSource *src = group->source;
	ExprCheck	check;
	Node	   *raw;
	char		relkind;

	if (src == NULL || !OidIsValid(src->relid))
		return false;
	relkind = get_rel_relkind(src->relid);
	if ((relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE) ||
		get_rel_persistence(src->relid) == RELPERSISTENCE_TEMP)
		return false;
	if (src->where_text == NULL)
		return true;
	memset(&check, 0, sizeof(check));
	check.relid = src->relid;
	check.index = -1;
	raw = ParseSqlExpression(src->where_text, -1, &check);
	if (raw == NULL)
		return false;
	return !ParallelUnsafeWalker(AnalyseWhere(src->relid, raw, &check, NULL), NULL);
}

/* ParallelUnsafeFunction is true for a function not marked PARALLEL SAFE */
static bool
ParallelUnsafeFunction(Oid func_id, void *context)
{
	return func_parallel(func_id) != PROPARALLEL_SAFE;
}

/* ParallelUnsafeWalker finds a call of a function not marked PARALLEL SAFE */
static bool
ParallelUnsafeWalker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, ParallelUnsafeFunction, context))
		return true;
	return expression_tree_walker(node, ParallelUnsafeWalker, context);
}

/*
 * WhereMentions walks a WHERE's raw tree for a column reference whose last
 * name is check->sql (RegistrySourceReadsColumn's column)
 */
static bool
WhereMentions(Node *node, void *context)
{
	const ExprCheck *check = (const ExprCheck *) context;

	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		Node	   *last = llast(((ColumnRef *) node)->fields);

		return IsA(last, String) && strcmp(strVal(last), check->sql) == 0;
	}
	return raw_expression_tree_walker(node, WhereMentions, context);
}

/*
 * RegistryAggKindByName returns the FsAggKind stored as name in
 * featstore.window_features.aggregate, or FS_AGG_NONE if none is.
 */
FsAggKind
RegistryAggKindByName(const char *name)
{
	for (int i = FS_AGG_COUNT_STAR; i < (int) lengthof(agg_kind_names); i++)
		if (name && strcmp(agg_kind_names[i], name) == 0)
			return (FsAggKind) i;
	return FS_AGG_NONE;
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
	/* column privileges are enough: CheckColumnPrivileges checks them last */
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
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
	CheckSourceColumns(relid, def, keys);
	return relid;
}

/*
 * CheckSourceColumns checks that the source holds the entity's key columns
 * with the key's types, and the TIMESTAMP and CREATED columns.
 */
static void
CheckSourceColumns(Oid relid, const FsGroupDef *def, List *keys)
{
	ListCell   *lc;

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

	/*
	 * The engine compares, hashes and adds the argument's values with its
	 * type's functions, in other roles' sessions: a type of a role's own
	 * (an enum, a base type, a domain over one) would run its code there.
	 */
	if (OidIsValid(argtype) && getBaseType(argtype) >= FirstNormalObjectId)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("column \"%s\" of source \"%s\" has type %s, which is not built in",
						f->agg_argument, get_rel_name(relid), format_type_be(argtype)),
				 errhint("featstore computes aggregates in other roles' sessions with the type's functions; aggregate a column of a built-in type, or of a domain over one.")));
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
 * CheckExpression checks an expression feature: it refers only to features
 * of its own group declared before it, so that the features can be
 * computed in order, the same way offline and online; and, analysed with
 * those features as parameters of their declared types, it is a scalar,
 * not volatile, built only of built-in functions and operators, whose
 * result fits the feature's type by an assignment cast.
 */
static void
CheckExpression(Oid relid, const FsGroupDef *def, int index)
{
	const FsFeatureDef *f = list_nth(def->features, index);
	ExprCheck	check;
	Node	   *raw;
	Node	   *expr;
	ParseState *pstate;
	Oid			typid;
	int32		typmod;
	int			save_nestlevel;

	memset(&check, 0, sizeof(check));
	check.relid = relid;
	check.def = def;
	check.index = index;
	raw = ParseSqlExpression(f->expression_text, f->agg_location, &check);
	registry_error_location = f->agg_location;
	if (raw == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("expression feature \"%s\" is not an expression", f->name),
				 errhint("Write a scalar expression over the group's earlier features, e.g. AS a_sum / nullif(a_count, 0).")));
	(void) CheckExpressionReference(raw, &check);

	save_nestlevel = FeatstorePinSearchPath();
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = check.sql;
	pstate->p_pre_columnref_hook = FeatureParamHook;
	pstate->p_ref_hook_state = &check;
	PushExprCallback(&check);
	expr = transformExpr(pstate, copyObject(raw), EXPR_KIND_SELECT_TARGET);
	CheckAnalysedExpression(pstate, expr, &check, "an expression feature");
	registry_error_location = f->type_location;
	parseTypeString(f->type_text, &typid, &typmod, false);
	registry_error_location = f->agg_location;
	if (coerce_to_target_type(pstate, expr, exprType(expr), typid, typmod,
							  COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("expression feature \"%s\" has type %s, but its expression gives %s",
						f->name, format_type_be(typid), format_type_be(exprType(expr))),
				 errhint("Declare the feature as %s, or cast the expression, e.g. (...)::%s.",
						 format_type_be(exprType(expr)), format_type_be(typid))));
	PopExprCallback(&check);
	free_parsestate(pstate);
	AtEOXact_GUC(true, save_nestlevel);
}

/*
 * FeatureParamHook resolves a column reference of an expression feature to
 * the earlier feature it names, as a parameter of the feature's declared
 * type: the value the engine hands the expression.  CheckColumnRef has
 * refused every other reference already.
 */
static Node *
FeatureParamHook(ParseState *pstate, ColumnRef *cref)
{
	ExprCheck  *check = (ExprCheck *) pstate->p_ref_hook_state;
	const char *name;
	ListCell   *lc;

	if (list_length(cref->fields) != 1 || !IsA(linitial(cref->fields), String))
		return NULL;
	name = strVal(linitial(cref->fields));
	foreach(lc, check->def->features)
	{
		const FsFeatureDef *other = lfirst(lc);
		Param	   *param;

		if (foreach_current_index(lc) >= check->index)
			break;
		if (strcmp(other->name, name) != 0)
			continue;
		param = makeNode(Param);
		param->paramkind = PARAM_EXTERN;
		param->paramid = foreach_current_index(lc) + 1;
		parseTypeString(other->type_text, &param->paramtype, &param->paramtypmod, false);
		param->paramcollid = get_typcollation(param->paramtype);
		param->location = cref->location;
		return (Node *) param;
	}
	return NULL;
}

/*
 * CheckWhere analyses a source group's WHERE against the source relation,
 * as a query's WHERE over it would be, with search_path pinned: it must be
 * boolean, without aggregates, window functions, set-returning functions
 * or subqueries (transformWhereClause refuses the first three), not
 * volatile (online and offline would count different events), and built
 * only of built-in functions and operators, so that no role's code runs
 * when another role's join or the worker reads the source.
 */
static Bitmapset *
CheckWhere(Oid relid, const FsGroupDef *def)
{
	ExprCheck	check;
	Node	   *raw;
	Bitmapset  *columns;

	memset(&check, 0, sizeof(check));
	check.relid = relid;
	check.def = def;
	check.index = -1;
	check.syntax_hint = "The WHERE condition runs up to WINDOW END EXCLUSIVE or FEATURES; CREATED comes before WHERE.";
	raw = ParseSqlExpression(def->where_text, def->where_location, &check);
	registry_error_location = def->where_location;
	if (raw == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("WHERE of feature group \"%s\" is not a condition", def->name),
				 errhint("Write one boolean condition over the source's columns, e.g. WHERE status <> 'declined'; CREATED comes before WHERE.")));
	(void) RefuseSubquery(raw, &check);
	(void) AnalyseWhere(relid, copyObject(raw), &check, &columns);
	return columns;
}

/*
 * AnalyseWhere analyses a source group's parsed WHERE against the source
 * relation, as a query's WHERE over it would be, with search_path pinned.
 * With columns, it also refuses what CheckAnalysedExpression refuses (at
 * the offending node, through check's error callback) and returns the
 * columns the WHERE reads.
 */
static Node *
AnalyseWhere(Oid relid, Node *raw, ExprCheck *check, Bitmapset **columns)
{
	Node	   *expr;
	ParseState *pstate;
	Relation	rel;
	ParseNamespaceItem *nsitem;
	int			save_nestlevel;

	save_nestlevel = FeatstorePinSearchPath();
	rel = relation_open(relid, AccessShareLock);
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = check->sql;
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, true);
	addNSItemToQuery(pstate, nsitem, false, true, true);
	if (columns)
		PushExprCallback(check);
	expr = transformWhereClause(pstate, raw, EXPR_KIND_WHERE, "WHERE");
	if (columns)
	{
		CheckAnalysedExpression(pstate, expr, check, "the WHERE of a feature group");
		PopExprCallback(check);
		*columns = bms_copy(nsitem->p_rte->selectedCols);
	}
	free_parsestate(pstate);
	relation_close(rel, NoLock);
	AtEOXact_GUC(true, save_nestlevel);
	return expr;
}

/*
 * CheckAnalysedExpression refuses, at the offending node, what an analysed
 * expression feature or WHERE must not hold: an aggregate, a window
 * function, a set-returning function, a function, operator or domain that
 * is not built in, and volatility.  what names the expression's kind.
 */
static void
CheckAnalysedExpression(ParseState *pstate, Node *expr, ExprCheck *check, const char *what)
{
	int			loc;

	if (pstate->p_hasAggs && (loc = locate_agg_of_level(expr, 0)) >= 0)
	{
		registry_error_location = BlockLocation(check, loc);
		ereport(ERROR,
				(errcode(ERRCODE_GROUPING_ERROR),
				 errmsg("%s cannot call an aggregate function", what),
				 errhint("Aggregate in a feature of its own, AS agg(column) OVER 'window', and use that feature.")));
	}
	if (pstate->p_hasWindowFuncs && (loc = locate_windowfunc(expr)) >= 0)
	{
		registry_error_location = BlockLocation(check, loc);
		ereport(ERROR,
				(errcode(ERRCODE_WINDOWING_ERROR),
				 errmsg("%s cannot call a window function", what),
				 errhint("A feature's window is its OVER clause; aggregate in a feature of its own.")));
	}
	if (pstate->p_hasTargetSRFs || expression_returns_set(expr))
	{
		registry_error_location = BlockLocation(check, exprLocation(expr));
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot call a set-returning function", what),
				 errhint("An expression gives one value per entity and time.")));
	}
	(void) BuiltinOnlyWalker(expr, check);
	if (contain_volatile_functions(expr))
	{
		registry_error_location = BlockLocation(check, exprLocation(expr));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("%s cannot be volatile", what),
				 errhint("The training join and the online store must compute the same value: use immutable or stable functions only, e.g. no random().")));
	}
}

/*
 * BuiltinOnlyWalker refuses, at its location, a function, an operator or a
 * domain (whose constraints are expressions) created after initdb: the
 * definition runs in other roles' joins and in the worker, and must not
 * run any role's code there.
 */
static bool
BuiltinOnlyWalker(Node *node, void *context)
{
	ExprCheck  *check = (ExprCheck *) context;
	Oid			func = InvalidOid;
	Oid			op;

	if (node == NULL)
		return false;
	if (check_functions_in_node(node, FeatstoreIsUserFunction, &func))
	{
		registry_error_location = BlockLocation(check, exprLocation(node));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("function %s is not built in", format_procedure(func)),
				 errdetail("featstore evaluates a group's definition in other roles' sessions and in its worker."),
				 errhint("Use built-in functions and operators only; store anything else in a column of the source.")));
	}
	op = FeatstoreUserOperator(node);
	if (IsA(node, CoerceToDomain) &&
			 ((CoerceToDomain *) node)->resulttype >= FirstNormalObjectId)
	{
		registry_error_location = BlockLocation(check, exprLocation(node));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("domain %s is not built in",
						format_type_be(((CoerceToDomain *) node)->resulttype)),
				 errhint("Use built-in types only; a domain's constraints would run in other roles' sessions.")));
	}
	if (OidIsValid(op))
	{
		registry_error_location = BlockLocation(check, exprLocation(node));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("operator %s is not built in", format_operator(op)),
				 errdetail("featstore evaluates a group's definition in other roles' sessions and in its worker."),
				 errhint("Use built-in functions and operators only; store anything else in a column of the source.")));
	}
	return expression_tree_walker(node, BuiltinOnlyWalker, context);
}

/* RefuseSubquery refuses a subquery anywhere in a WHERE's raw tree, at the subquery */
static bool
RefuseSubquery(Node *node, void *context)
{
	const ExprCheck *check = (const ExprCheck *) context;

	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		registry_error_location = BlockLocation(check, ((SubLink *) node)->location);
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the WHERE of feature group \"%s\" cannot contain a subquery", check->def->name),
				 errhint("The condition is checked on each source row alone; join in a view that the group reads FROM.")));
	}
	return raw_expression_tree_walker(node, RefuseSubquery, context);
}

/*
 * ParseSqlExpression runs PostgreSQL's grammar over text written at
 * location in the block, as SELECT text, and returns the expression's raw
 * tree, or NULL if the text is not exactly one expression.  A syntax error
 * points into the block (ExpressionErrorCallback); check gets the parsed
 * text and its offset for the analysis that follows.
 */
static Node *
ParseSqlExpression(const char *text, int location, ExprCheck *check)
{
	List	   *stmts;
	SelectStmt *select;

	check->base = location - (int) strlen(EXPR_PREFIX);
	check->sql = psprintf("%s%s", EXPR_PREFIX, text);
	PushExprCallback(check);
	stmts = raw_parser(check->sql, RAW_PARSE_DEFAULT);
	PopExprCallback(check);

	if (list_length(stmts) != 1)
		return NULL;
	select = (SelectStmt *) linitial_node(RawStmt, stmts)->stmt;
	if (!IsA(select, SelectStmt) ||
		list_length(select->targetList) != 1 || select->fromClause != NIL ||
		select->whereClause != NULL || select->distinctClause != NIL ||
		select->groupClause != NIL || select->sortClause != NIL ||
		select->limitCount != NULL || select->valuesLists != NIL ||
		select->op != SETOP_NONE || select->intoClause != NULL ||
		select->lockingClause != NIL || select->withClause != NULL ||
		select->havingClause != NULL || select->windowClause != NIL ||
		linitial_node(ResTarget, select->targetList)->name)
		return NULL;
	return linitial_node(ResTarget, select->targetList)->val;
}

/*
 * BlockLocation turns a byte offset in check's parsed text into one in the
 * block (the text's start for a node without a location), or -1 when the
 * text did not come from a block
 */
static int
BlockLocation(const ExprCheck *check, int location)
{
	if (check->base + (int) strlen(EXPR_PREFIX) < 0)
		return -1;
	if (location < (int) strlen(EXPR_PREFIX))
		location = (int) strlen(EXPR_PREFIX);
	return check->base + location;
}

/* PushExprCallback makes errors point into the block while check's text is analysed */
static void
PushExprCallback(ExprCheck *check)
{
	check->callback.callback = ExpressionErrorCallback;
	check->callback.arg = check;
	check->callback.previous = error_context_stack;
	error_context_stack = &check->callback;
}

/* PopExprCallback undoes PushExprCallback */
static void
PopExprCallback(ExprCheck *check)
{
	error_context_stack = check->callback.previous;
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
	errposition(0);
	/* a definition read back from the registry has no place in a block */
	if (check->base + (int) strlen(EXPR_PREFIX) < 0)
		return;
	registry_error_location = check->base +
		pg_mbcharcliplen(check->sql, strlen(check->sql), pos - 1);
	if (check->syntax_hint && geterrcode() == ERRCODE_SYNTAX_ERROR)
		errhint("%s", check->syntax_hint);
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
		registry_error_location = BlockLocation(check, ((SubLink *) node)->location);
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

	registry_error_location = BlockLocation(check, ref->location);
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
