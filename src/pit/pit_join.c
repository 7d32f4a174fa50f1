/*
 * pit_join.c
 *		Support for the pit_join() front end (src/sql/30_pit.sql), which
 *		writes a join with the as-of marker and runs it, so that pit_join()
 *		and hand-written joins share the PitJoin node.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "parser/parser.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"

#include "featstore.h"
#include "pit/pit.h"

PG_FUNCTION_INFO_V1(pit_describe);
PG_FUNCTION_INFO_V1(pit_spine_from);

static RawStmt *PitCheckQuery(const char *sql, const char *what);
static bool PitCheckQueryWalker(Node *node, const char *what);
static void PitQueryErrorCallback(void *arg);

/*
 * pit_describe returns the columns (name, type) a FROM item would produce,
 * without reading any row.  The item is planned as the calling role, so it
 * needs the same privileges as reading it.
 */
Datum
pit_describe(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *from_item = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *sql;
	TupleDesc	desc;
	int			ret;

	InitMaterializedSRF(fcinfo, 0);

	/* what SPI_execute runs must be this one query, whoever calls it */
	sql = psprintf("SELECT * FROM %s LIMIT 0", from_item);
	(void) PitCheckQuery(sql, "FROM item");
	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed: %s", SPI_result_code_string(ret));
	ret = SPI_execute(sql, true, 0);
	if (ret != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spine %s is not a query returning rows", from_item),
				 errhint("Pass a table or view name, or a SELECT query.")));
	desc = SPI_tuptable->tupdesc;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (att->attisdropped)
			continue;
		values[0] = CStringGetTextDatum(NameStr(att->attname));
		values[1] = ObjectIdGetDatum(att->atttypid);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * pit_spine_from turns pit_join's spine argument into a FROM item, before
 * anything of it runs.  A name (optionally qualified) is resolved on the
 * caller's search_path and returned schema-qualified, so the join does not
 * depend on the path it later runs under.  Anything else must be exactly
 * one query that reads (PitCheckQuery); it is returned in parentheses,
 * without a trailing semicolon.
 */
Datum
pit_spine_from(PG_FUNCTION_ARGS)
{
	char	   *spine = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *copy = pstrdup(spine);
	List	   *parts;
	RawStmt    *raw;
	char	   *query;

	if (SplitIdentifierString(copy, '.', &parts) && parts != NIL)
	{
		RangeVar   *rv = makeRangeVarFromNameList(stringToQualifiedNameList(spine));
		Oid			relid = RangeVarGetRelid(rv, NoLock, true);

		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("spine relation \"%s\" does not exist", spine),
					 errhint("Pass the name of a table or view on the search_path, schema-qualified if needed, or a SELECT query.")));
		PG_RETURN_TEXT_P(cstring_to_text(quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
																	get_rel_name(relid))));
	}

	raw = PitCheckQuery(spine, "spine");
	query = pnstrdup(spine + raw->stmt_location,
					 raw->stmt_len > 0 ? (size_t) raw->stmt_len : strlen(spine) - raw->stmt_location);
	/* a trailing -- comment would swallow the closing parenthesis */
	PG_RETURN_TEXT_P(cstring_to_text(psprintf(strstr(query, "--") ? "(%s\n)" : "(%s)", query)));
}

/*
 * PitCheckQuery makes sure that a string featstore will run as a query is
 * exactly one statement that only reads: a SELECT, VALUES, TABLE or WITH
 * query with no data-modifying WITH, no SELECT INTO and no row locks,
 * anywhere in it.  It checks the raw parse tree, so nothing has been
 * analysed or run when it refuses.  "what" names the string in errors.
 */
static RawStmt *
PitCheckQuery(const char *sql, const char *what)
{
	ErrorContextCallback errcallback;
	List	   *stmts;
	RawStmt    *raw;

	errcallback.callback = PitQueryErrorCallback;
	errcallback.arg = (void *) sql;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	error_context_stack = errcallback.previous;

	if (list_length(stmts) != 1)
	{
		StringInfoData found;
		ListCell   *lc;

		/* name what was found: "SELECT, DELETE" */
		initStringInfo(&found);
		foreach(lc, stmts)
			appendStringInfo(&found, "%s%s", found.len > 0 ? ", " : "",
							 CreateCommandName(lfirst_node(RawStmt, lc)->stmt));
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 list_length(stmts) == 0 ?
				 errmsg("%s holds no statement", what) :
				 errmsg("%s must be exactly one query, but it holds %d statements: %s",
						what, list_length(stmts), found.data),
				 errhint("Pass a table or view name, or a single SELECT, VALUES, TABLE or WITH query, with no semicolon between statements.")));
	}
	raw = linitial_node(RawStmt, stmts);
	if (!IsA(raw->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s must be a query that reads rows, not %s", what, CreateCommandName(raw->stmt)),
				 errhint("Pass a table or view name, or a single SELECT, VALUES, TABLE or WITH query.")));
	(void) PitCheckQueryWalker(raw->stmt, what);
	return raw;
}

/*
 * PitCheckQueryWalker refuses, anywhere in a raw parse tree, a WITH query
 * that is not a SELECT, a SELECT INTO, and FOR UPDATE/SHARE.
 */
static bool
PitCheckQueryWalker(Node *node, const char *what)
{
	if (node == NULL)
		return false;
	if (IsA(node, CommonTableExpr))
	{
		Node	   *q = ((CommonTableExpr *) node)->ctequery;

		if (!IsA(q, SelectStmt))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s must not modify data, but its WITH query \"%s\" is %s",
							what, ((CommonTableExpr *) node)->ctename, CreateCommandName(q)),
					 errhint("Run the data-modifying statement on its own first.")));
	}
	else if (IsA(node, SelectStmt))
	{
		SelectStmt *select = (SelectStmt *) node;

		if (select->intoClause != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s must not create a table: it holds SELECT INTO", what),
					 errhint("Drop the INTO clause, or run CREATE TABLE ... AS on its own first.")));
		if (select->lockingClause != NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s must not lock rows: it holds FOR UPDATE or FOR SHARE", what),
					 errhint("Drop the locking clause: a point-in-time join only reads.")));
	}
	return raw_expression_tree_walker(node, PitCheckQueryWalker, (void *) what);
}

/*
 * PitQueryErrorCallback points a syntax error's position into the checked
 * string, not into the statement that called featstore.
 */
static void
PitQueryErrorCallback(void *arg)
{
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery((const char *) arg);
	}
}
