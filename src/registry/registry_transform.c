/*
 * registry_transform.c
 *		Groups whose rows a scheduled SQL query appends (CREATE FEATURE GROUP
 *		... AS query SCHEDULE ...): the definition-time checks and the
 *		featstore.transformations row.
 *
 * A transformation group is an ordinary group with a history table; only
 * its featstore.transformations row says that a query fills it.  Running
 * the query is src/transform/'s work.  At definition the query is checked
 * as the definer, with search_path pinned as it will be at every run: one
 * read-only query, which the definer may read, whose columns are exactly
 * the entity's key columns, event_timestamp and the declared features.
 * Every refusal points into the block and has a hint.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "parser/parse_coerce.h"
#include "parser/parser.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "registry/registry_int.h"

/* Where the query sits in the block, for the error callback */
typedef struct QueryPosition
{
	const char *sql;			/* the query text as parsed */
	int			base;			/* byte offset of its start in the block */
	bool		analysing;		/* in parse analysis, with search_path pinned */
} QueryPosition;

/* What CheckReadPrivilege needs: the group, and the raw tree for positions */
typedef struct ReadCheck
{
	const FsGroupDef *def;
	Node	   *raw;
} ReadCheck;

/* What FindRangeVar looks for, and where it found it */
typedef struct RangeVarSearch
{
	const char *relname;
	int			location;
} RangeVarSearch;

/* One column the query must return */
typedef struct ExpectedColumn
{
	const char *name;
	Oid			typid;
	int32		typmod;
	const char *kind;			/* "key column", "event_timestamp" or "feature" */
	bool		seen;
} ExpectedColumn;

static RawStmt *ParseQuery(const FsGroupDef *def, QueryPosition *pos);
static bool CheckQueryWalker(Node *node, void *context);
static void QueryErrorCallback(void *arg);
static Query *AnalyseQuery(const FsGroupDef *def, RawStmt *raw, QueryPosition *pos);
static bool CheckReadPrivilege(Node *node, void *context);
static bool FindRangeVar(Node *node, void *context);
static ExpectedColumn *ExpectedColumns(const FsGroupDef *def, List *keys, List *features,
									   int *n);
static char *DescribeColumns(const ExpectedColumn *cols, int n);
static void CheckOutputColumn(const FsGroupDef *def, ExpectedColumn *cols, int n,
							  TargetEntry *tle);
static void CheckColumnType(const FsGroupDef *def, const ExpectedColumn *col,
							Oid typid);
static int64 ParseSchedule(const char *schedule_text, const char *group_name);

/*
 * RegistryCheckTransform checks a transformation group's query and
 * schedule before anything of the group is created.  keys are the
 * entity's key columns and features the group's resolved features.
 */
void
RegistryCheckTransform(const FsGroupDef *def, List *keys, List *features)
{
	QueryPosition pos;
	RawStmt    *raw;
	Query	   *query;
	ExpectedColumn *cols;
	int			n;
	ListCell   *lc;

	if (!def->schedule_manual)
	{
		registry_error_location = def->schedule_location;
		(void) ParseSchedule(def->schedule_text, def->name);
	}

	raw = ParseQuery(def, &pos);
	query = AnalyseQuery(def, raw, &pos);

	cols = ExpectedColumns(def, keys, features, &n);
	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!tle->resjunk)
			CheckOutputColumn(def, cols, n, tle);
	}
	registry_error_location = def->query_location;
	for (int i = 0; i < n; i++)
		if (!cols[i].seen)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("the query of feature group \"%s\" has no column \"%s\"",
							def->name, cols[i].name),
					 errdetail("Its rows are appended to the group's history table, so it must return the %s \"%s\".",
							   cols[i].kind, cols[i].name),
					 errhint("Return exactly these columns, by name (name an expression with AS): %s.",
							 DescribeColumns(cols, n))));
}

/*
 * ParseQuery runs PostgreSQL's grammar over the query and makes sure it is
 * one statement that only reads: a SELECT, VALUES, TABLE or WITH query
 * with no data-modifying WITH, no SELECT INTO and no row locks.
 */
static RawStmt *
ParseQuery(const FsGroupDef *def, QueryPosition *pos)
{
	ErrorContextCallback errcallback;
	List	   *stmts;
	RawStmt    *raw;

	pos->sql = def->query_text;
	pos->base = def->query_location;
	pos->analysing = false;
	registry_error_location = def->query_location;
	errcallback.callback = QueryErrorCallback;
	errcallback.arg = pos;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	stmts = raw_parser(def->query_text, RAW_PARSE_DEFAULT);
	error_context_stack = errcallback.previous;

	if (list_length(stmts) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the query of feature group \"%s\" must be exactly one statement", def->name),
				 errhint("Write one SELECT, VALUES, TABLE or WITH query between AS and SCHEDULE.")));
	raw = linitial_node(RawStmt, stmts);
	if (!IsA(raw->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the query of feature group \"%s\" must be a query that reads rows, not %s",
						def->name, GetCommandTagName(CreateCommandTag(raw->stmt))),
				 errhint("Write a SELECT, VALUES, TABLE or WITH query; featstore appends its rows to the group's history table itself.")));
	(void) CheckQueryWalker(raw->stmt, (void *) def);
	return raw;
}

/*
 * CheckQueryWalker refuses, anywhere in a raw parse tree, a WITH query
 * that is not a SELECT, a SELECT INTO, and FOR UPDATE/SHARE: a run
 * appends the query's rows and must change nothing else.
 */
static bool
CheckQueryWalker(Node *node, void *context)
{
	const FsGroupDef *def = (const FsGroupDef *) context;

	if (node == NULL)
		return false;
	if (IsA(node, CommonTableExpr))
	{
		CommonTableExpr *cte = (CommonTableExpr *) node;

		if (!IsA(cte->ctequery, SelectStmt))
		{
			registry_error_location = def->query_location + cte->location;
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the query of feature group \"%s\" must not modify data, but its WITH query \"%s\" is %s",
							def->name, cte->ctename,
							GetCommandTagName(CreateCommandTag(cte->ctequery))),
					 errhint("A run only appends the query's rows to the group's history table; change other tables elsewhere.")));
		}
	}
	else if (IsA(node, SelectStmt))
	{
		SelectStmt *select = (SelectStmt *) node;

		if (select->intoClause != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the query of feature group \"%s\" must not create a table: it holds SELECT INTO",
							def->name),
					 errhint("Drop the INTO clause: the rows go to the group's history table.")));
		if (select->lockingClause != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the query of feature group \"%s\" must not lock rows: it holds FOR UPDATE or FOR SHARE",
							def->name),
					 errhint("Drop the locking clause: a transformation only reads.")));
	}
	return raw_expression_tree_walker(node, CheckQueryWalker, context);
}

/*
 * QueryErrorCallback moves the cursor of an error that PostgreSQL's parser
 * or parse analysis reports inside the query (a character position in the
 * query text) to the same character of the block: it becomes the
 * registry's location, which the statement language draws.
 */
static void
QueryErrorCallback(void *arg)
{
	QueryPosition *pos = (QueryPosition *) arg;
	int			cursor = geterrposition();

	if (pos->analysing && geterrcode() == ERRCODE_UNDEFINED_TABLE)
		errhint("The query runs with search_path = pg_catalog, pg_temp, at definition and at every run: qualify tables with their schema, e.g. app.users.");
	if (cursor <= 0)
		return;
	registry_error_location = pos->base +
		pg_mbcharcliplen(pos->sql, strlen(pos->sql), cursor - 1);
	errposition(0);
}

/*
 * AnalyseQuery analyses the query as the calling role (the definer, who
 * owns the new history table), with search_path pinned to pg_catalog,
 * pg_temp as at every run, and checks that the definer may read what it
 * names, so a query that could never run is refused now.
 */
static Query *
AnalyseQuery(const FsGroupDef *def, RawStmt *raw, QueryPosition *pos)
{
	ErrorContextCallback errcallback;
	Query	   *query;
	ReadCheck	check;
	int			level;

	errcallback.callback = QueryErrorCallback;
	errcallback.arg = pos;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	pos->analysing = true;
	level = FeatstorePinSearchPath();
	query = parse_analyze_fixedparams(raw, def->query_text, NULL, 0, NULL);
	AtEOXact_GUC(true, level);
	pos->analysing = false;
	error_context_stack = errcallback.previous;

	registry_error_location = def->query_location;
	if (query->commandType != CMD_SELECT || query->utilityStmt != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the query of feature group \"%s\" must be a query that reads rows", def->name),
				 errhint("Write a SELECT, VALUES, TABLE or WITH query.")));
	check.def = def;
	check.raw = raw->stmt;
	(void) query_tree_walker(query, CheckReadPrivilege, (void *) &check,
							 QTW_EXAMINE_RTES_BEFORE);
	return query;
}

/*
 * CheckReadPrivilege checks, for every relation the query or one of its
 * subqueries names, the definer's SELECT privileges, as the executor will;
 * a refusal points at the relation's name in the query.
 */
static bool
CheckReadPrivilege(Node *node, void *context)
{
	const ReadCheck *check = (const ReadCheck *) context;
	const FsGroupDef *def = check->def;

	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;
		RangeVarSearch search;

		if (rte->rtekind != RTE_RELATION || ExecCheckRTEPerms(rte))
			return false;
		search.relname = get_rel_name(rte->relid);
		search.location = -1;
		if (search.relname)
			(void) FindRangeVar(check->raw, &search);
		if (search.location >= 0)
			registry_error_location = def->query_location + search.location;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for %s \"%s\" in the query of feature group \"%s\"",
						get_rel_relkind(rte->relid) == RELKIND_VIEW ? "view" : "table",
						get_rel_name(rte->relid), def->name),
				 errhint("The query runs as the group's owner, who must be able to read it: ask for SELECT on it, or define the group as its owner.")));
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, CheckReadPrivilege, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, CheckReadPrivilege, context);
}

/* FindRangeVar finds the first mention of a relation name in a raw parse tree */
static bool
FindRangeVar(Node *node, void *context)
{
	RangeVarSearch *search = (RangeVarSearch *) context;

	if (node == NULL)
		return false;
	if (IsA(node, RangeVar) && strcmp(((RangeVar *) node)->relname, search->relname) == 0)
	{
		search->location = ((RangeVar *) node)->location;
		return true;
	}
	return raw_expression_tree_walker(node, FindRangeVar, context);
}

/*
 * ExpectedColumns lists the columns a transformation's query must return:
 * the entity's key columns, event_timestamp and the group's features.
 */
static ExpectedColumn *
ExpectedColumns(const FsGroupDef *def, List *keys, List *features, int *n)
{
	ExpectedColumn *cols = palloc0(sizeof(ExpectedColumn) *
								   (list_length(keys) + 1 + list_length(features)));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, keys)
	{
		FsKeyColumn *k = lfirst(lc);

		cols[i].name = k->name;
		cols[i].typid = k->typid;
		cols[i].typmod = -1;
		cols[i++].kind = "key column";
	}
	cols[i].name = FS_EVENT_TS_COLUMN;
	cols[i].typid = TIMESTAMPTZOID;
	cols[i].typmod = -1;
	cols[i++].kind = "column";
	foreach(lc, features)
	{
		FsFeature  *f = lfirst(lc);

		cols[i].name = f->name;
		cols[i].typid = f->typid;
		cols[i].typmod = f->typmod;
		cols[i++].kind = "feature";
	}
	*n = i;
	return cols;
}

/* DescribeColumns renders the expected columns as: user_id bigint, ... */
static char *
DescribeColumns(const ExpectedColumn *cols, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s %s", i > 0 ? ", " : "", quote_identifier(cols[i].name),
						 format_type_with_typemod(cols[i].typid, cols[i].typmod));
	return buf.data;
}

/*
 * CheckOutputColumn matches one output column of the query, by name, to
 * the column it fills, and checks its type; it is refused at the
 * expression that computes it.
 */
static void
CheckOutputColumn(const FsGroupDef *def, ExpectedColumn *cols, int n, TargetEntry *tle)
{
	const char *name = tle->resname ? tle->resname : "?column?";
	int			loc = exprLocation((Node *) tle->expr);

	registry_error_location = def->query_location + (loc >= 0 ? loc : 0);
	for (int i = 0; i < n; i++)
	{
		if (strcmp(cols[i].name, name) != 0)
			continue;
		if (cols[i].seen)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("the query of feature group \"%s\" returns column \"%s\" twice",
							def->name, name),
					 errhint("Return each column once: %s.", DescribeColumns(cols, n))));
		cols[i].seen = true;
		CheckColumnType(def, &cols[i], exprType((Node *) tle->expr));
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("the query of feature group \"%s\" returns column \"%s\", which is neither a key column, event_timestamp nor a feature of the group",
					def->name, name),
			 errhint("Return exactly these columns, by name (name an expression with AS): %s.",
					 DescribeColumns(cols, n))));
}

/*
 * CheckColumnType checks the type of a query column: a key column's and
 * event_timestamp's must be exactly the table's, so that rows are keyed
 * and timed as the entity's; a feature's must be assignable to its type.
 */
static void
CheckColumnType(const FsGroupDef *def, const ExpectedColumn *col, Oid typid)
{
	const char *want = format_type_with_typemod(col->typid, col->typmod);

	if (col->typid == typid)
		return;
	if (strcmp(col->kind, "feature") == 0)
	{
		if (can_coerce_type(1, &typid, &col->typid, COERCION_ASSIGNMENT))
			return;
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("feature \"%s\" of feature group \"%s\" is %s, but the query returns %s",
						col->name, def->name, want, format_type_be(typid)),
				 errhint("Cast the column in the query, e.g. (...)::%s AS %s, or declare the feature with the query's type.",
						 want, quote_identifier(col->name))));
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("%s \"%s\" of the query of feature group \"%s\" is %s, but it must be %s",
					col->kind, col->name, def->name, format_type_be(typid), want),
			 errhint("Cast it in the query, e.g. (...)::%s AS %s.", want,
					 quote_identifier(col->name))));
}

/*
 * ParseSchedule reads SCHEDULE 'interval' with the registry's duration
 * rule (RegistryParseDuration: days are 24 hours, months refused, positive,
 * bounded), at least a second, and returns it in microseconds.  That function words its errors
 * for a window, so they are reworded here for a schedule, keeping their
 * SQLSTATE.
 */
static int64
ParseSchedule(const char *schedule_text, const char *group_name)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile int64 usecs = 0;

	PG_TRY();
	{
		usecs = RegistryParseDuration(schedule_text, group_name);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->detail = NULL;
		if (edata->sqlerrcode == ERRCODE_DATETIME_VALUE_OUT_OF_RANGE)
			edata->message = psprintf("schedule '%s' of feature group \"%s\" is out of range",
									  schedule_text, group_name);
		else if (edata->sqlerrcode == ERRCODE_INVALID_PARAMETER_VALUE &&
				 strstr(edata->message, "months") != NULL)
			edata->message = psprintf("schedule '%s' of feature group \"%s\" uses months or years",
									  schedule_text, group_name);
		else if (edata->sqlerrcode == ERRCODE_INVALID_PARAMETER_VALUE)
			edata->message = psprintf("schedule '%s' of feature group \"%s\" must be positive",
									  schedule_text, group_name);
		edata->hint = pstrdup("Write the schedule as a positive duration in days, hours, minutes or seconds, e.g. SCHEDULE '1 hour', or SCHEDULE MANUAL to run it only with featstore.refresh().");
		ReThrowError(edata);
	}
	PG_END_TRY();
	/* a shorter one would keep the worker running the group and nothing else */
	if (usecs < USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schedule '%s' of feature group \"%s\" is shorter than a second",
						schedule_text, group_name),
				 errhint("Write a schedule of a second or more, e.g. SCHEDULE '1 minute'.")));
	return usecs;
}

/*
 * RegistryStoreTransform records a transformation group's query, its
 * output columns and its schedule; the first scheduled run is due at once.
 * SPI is connected.
 */
void
RegistryStoreTransform(const FsGroupDef *def, List *keys, List *features)
{
	Oid			types[5] = {TEXTOID, TEXTOID, NAMEARRAYOID, TEXTOID, INT8OID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int			n;
	ExpectedColumn *cols = ExpectedColumns(def, keys, features, &n);
	Datum	   *names = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		names[i] = DirectFunctionCall1(namein, CStringGetDatum(cols[i].name));
	values[0] = CStringGetTextDatum(def->name);
	values[1] = CStringGetTextDatum(def->query_text);
	values[2] = PointerGetDatum(construct_array(names, n, NAMEOID, NAMEDATALEN, false,
												TYPALIGN_CHAR));
	if (def->schedule_manual)
	{
		nulls[3] = 'n';
		nulls[4] = 'n';
		values[3] = values[4] = (Datum) 0;
	}
	else
	{
		values[3] = CStringGetTextDatum(def->schedule_text);
		values[4] = Int64GetDatum(ParseSchedule(def->schedule_text, def->name));
	}
	RegSpi("INSERT INTO featstore.transformations "
		   "(group_name, query, columns, schedule_text, schedule, next_run_at) "
		   "VALUES ($1, $2, $3, $4, "
		   "pg_catalog.make_interval(secs => $5::pg_catalog.float8 / 1000000), "
		   "CASE WHEN $5 IS NULL THEN NULL ELSE pg_catalog.now() END)",
		   5, types, values, nulls, true);
}

/*
 * RegistryAlterTransformSchedule applies ALTER FEATURE GROUP ... SET
 * SCHEDULE: a new schedule (NULL: MANUAL).  The next run is planned again:
 * one new schedule after the last successful run started, or at once if
 * that has passed or there was none; none with MANUAL.  SPI is connected,
 * the caller owns the group's table and registry_error_location is the
 * schedule's.
 */
void
RegistryAlterTransformSchedule(const FsGroup *group, const char *schedule_text,
							   StringInfo detail)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT8OID};
	Datum		values[3];
	char		nulls[3] = {' ', 'n', 'n'};

	values[0] = CStringGetTextDatum(group->name);
	values[1] = values[2] = (Datum) 0;
	if (schedule_text)
	{
		values[2] = Int64GetDatum(ParseSchedule(schedule_text, group->name));
		values[1] = CStringGetTextDatum(schedule_text);
		nulls[1] = nulls[2] = ' ';
	}
	RegSpi("UPDATE featstore.transformations SET schedule_text = $2, "
		   "schedule = pg_catalog.make_interval(secs => $3::pg_catalog.float8 / 1000000), "
		   "next_run_at = CASE WHEN $3 IS NULL THEN NULL ELSE GREATEST(pg_catalog.now(), "
		   "last_success_at + pg_catalog.make_interval(secs => $3::pg_catalog.float8 / 1000000)) END "
		   "WHERE group_name = $1",
		   3, types, values, nulls, true);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("feature group \"%s\" has no schedule", group->name),
				 errhint("Only a group defined AS a query with SCHEDULE has one; its rows are inserted into its table, or computed FROM its source.")));
	appendStringInfo(detail, "%sset schedule %s", detail->len ? ", " : "",
					 schedule_text ? quote_literal_cstr(schedule_text) : "MANUAL");
}
