/*
 * ddl_exec.c
 *		Entry points of the featstore statement language: the DO LANGUAGE
 *		featstore inline handler and featstore.exec(), which both parse a
 *		block with ddl_parser.c and run each statement through the registry.
 *
 * Errors carry a cursor position inside the block: syntax errors from the
 * parser, and semantic errors at the token the registry was checking.  They
 * are transposed into the outer statement the way PL/pgSQL does it, so psql
 * draws the caret under the right word of the DO or SELECT.
 */
#include "postgres.h"

#include "catalog/pg_proc.h"
#include "commands/proclang.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "ddl/ddl.h"
#include "extension.h"
#include "featstore.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(featstore_inline_handler);
PG_FUNCTION_INFO_V1(featstore_call_handler);
PG_FUNCTION_INFO_V1(featstore_validator);
PG_FUNCTION_INFO_V1(featstore_exec);

/* What the error callback needs to place a cursor */
typedef struct DdlErrorState
{
	const char *source;
	int			statement_no;	/* 0 while parsing */
} DdlErrorState;

static List *DdlExecute(const char *source);
static FsResult *DdlExecuteStatement(FsStatement *stmt);
static FsResult *DdlExecuteBackfill(FsStatement *stmt);
static void DdlErrorCallback(void *arg);
static void RefuseFunctions(void) pg_attribute_noreturn();
static void DdlProcessUtility(PlannedStmt *pstmt, const char *queryString,
							  bool readOnlyTree, ProcessUtilityContext context,
							  ParamListInfo params, QueryEnvironment *queryEnv,
							  DestReceiver *dest, QueryCompletion *qc);
static void CheckDoPrivilege(DoStmt *stmt);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * DdlLangInit prepares the statement language when the library loads.  The
 * language itself needs no preload; the utility hook only gives a reader
 * who runs a DO block a hint naming featstore_editor (see CheckDoPrivilege).
 */
void
DdlLangInit(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = DdlProcessUtility;
}

/* DdlProcessUtility checks DO LANGUAGE featstore blocks, then runs the statement */
static void
DdlProcessUtility(PlannedStmt *pstmt, const char *queryString,
				  bool readOnlyTree, ProcessUtilityContext context,
				  ParamListInfo params, QueryEnvironment *queryEnv,
				  DestReceiver *dest, QueryCompletion *qc)
{
	if (IsA(pstmt->utilityStmt, DoStmt))
		CheckDoPrivilege((DoStmt *) pstmt->utilityStmt);
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/*
 * CheckDoPrivilege makes the same USAGE check as ExecuteDoStmt, earlier, so
 * that the error can say which role runs featstore statements: PostgreSQL's
 * own "permission denied for language featstore" leaves a featstore_reader
 * guessing.  Other languages, and a language not installed, are left alone.
 */
static void
CheckDoPrivilege(DoStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->args)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (strcmp(d->defname, "language") != 0)
			continue;
		if (strcmp(strVal(d->arg), "featstore") != 0)
			return;
		/* a language not installed is PostgreSQL's to report */
		if (OidIsValid(get_language_oid("featstore", true)))
			FeatstoreRequireEditor();
		return;
	}
}

/* featstore_inline_handler runs the statements of a DO LANGUAGE featstore block */
Datum
featstore_inline_handler(PG_FUNCTION_ARGS)
{
	InlineCodeBlock *codeblock = (InlineCodeBlock *) DatumGetPointer(PG_GETARG_DATUM(0));

	DdlExecute(codeblock->source_text);
	PG_RETURN_VOID();
}

/* featstore_call_handler refuses functions written in the featstore language */
Datum
featstore_call_handler(PG_FUNCTION_ARGS)
{
	RefuseFunctions();
	PG_RETURN_VOID();
}

/* featstore_validator refuses CREATE FUNCTION ... LANGUAGE featstore up front */
Datum
featstore_validator(PG_FUNCTION_ARGS)
{
	RefuseFunctions();
	PG_RETURN_VOID();
}

/* featstore_exec runs a block of statements and returns one row per statement */
Datum
featstore_exec(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *source;
	List	   *results;
	ListCell   *lc;
	int			n = 0;

	/* featstore_reader may call exec(); this says what it lacks */
	FeatstoreRequireEditor();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("featstore statements must not be NULL")));
	source = text_to_cstring(PG_GETARG_TEXT_PP(0));

	InitMaterializedSRF(fcinfo, 0);
	results = DdlExecute(source);
	foreach(lc, results)
	{
		FsResult   *r = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = Int32GetDatum(++n);
		values[1] = CStringGetTextDatum(r->command);
		values[2] = CStringGetTextDatum(r->object_type);
		values[3] = CStringGetTextDatum(r->object_name);
		if (r->detail)
			values[4] = CStringGetTextDatum(r->detail);
		else
			nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * DdlExecute parses the whole block first, so a syntax error anywhere runs
 * nothing, then executes the statements in order.  The caller's transaction
 * makes the block all-or-nothing.
 */
static List *
DdlExecute(const char *source)
{
	ErrorContextCallback errcallback;
	DdlErrorState state;
	List	   *stmts;
	List	   *results = NIL;
	ListCell   *lc;

	state.source = source;
	state.statement_no = 0;
	errcallback.callback = DdlErrorCallback;
	errcallback.arg = &state;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	registry_error_location = -1;
	stmts = DdlParse(source);
	if (stmts == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("no featstore statement found"),
				 errhint("Write a statement such as CREATE ENTITY or CREATE FEATURE GROUP; see docs/ddl.md.")));

	foreach(lc, stmts)
	{
		FsStatement *stmt = lfirst(lc);

		state.statement_no++;
		registry_error_location = stmt->location;
		results = lappend(results, DdlExecuteStatement(stmt));
	}
	registry_error_location = -1;

	error_context_stack = errcallback.previous;
	return results;
}

/* DdlExecuteStatement hands one parsed statement to the registry */
static FsResult *
DdlExecuteStatement(FsStatement *stmt)
{
	switch (stmt->kind)
	{
		case FS_STMT_CREATE_ENTITY:
			return RegistryCreateEntity(stmt->entity, stmt->text);
		case FS_STMT_ALTER_ENTITY:
			registry_error_location = stmt->name_location;
			return RegistryAlterEntity(stmt->name, stmt->description, stmt->owner,
									   stmt->set_description, stmt->set_owner,
									   stmt->text);
		case FS_STMT_DROP_ENTITY:
			registry_error_location = stmt->name_location;
			return RegistryDropEntity(stmt->name, stmt->missing_ok, stmt->cascade,
									  stmt->text);
		case FS_STMT_CREATE_GROUP:
			return RegistryCreateGroup(stmt->group, stmt->text);
		case FS_STMT_ALTER_GROUP:
			registry_error_location = stmt->name_location;
			return RegistryAlterGroup(stmt->name, stmt->actions, stmt->name_location,
									  stmt->text);
		case FS_STMT_DROP_GROUP:
			registry_error_location = stmt->name_location;
			return RegistryDropGroup(stmt->name, stmt->missing_ok, stmt->cascade,
									 stmt->text);
		case FS_STMT_CREATE_SERVICE:
			return RegistryCreateService(stmt->service, stmt->text);
		case FS_STMT_DROP_SERVICE:
			registry_error_location = stmt->name_location;
			return RegistryDropService(stmt->name, stmt->missing_ok, stmt->text);
		case FS_STMT_CREATE_TRAINING_SET:
			return RegistryCreateTrainingSet(stmt->training_set, stmt->text);
		case FS_STMT_DROP_TRAINING_SET:
			registry_error_location = stmt->name_location;
			return RegistryDropTrainingSet(stmt->name, stmt->missing_ok, stmt->cascade,
										   stmt->text);
		case FS_STMT_BACKFILL:
		case FS_STMT_VALIDATE_BACKFILL:
		case FS_STMT_PROMOTE_BACKFILL:
		case FS_STMT_ABORT_BACKFILL:
			return DdlExecuteBackfill(stmt);
	}
	elog(ERROR, "unrecognized featstore statement kind %d", (int) stmt->kind);
	return NULL;
}

/* DdlExecuteBackfill hands a backfill statement (issue 12) to the registry */
static FsResult *
DdlExecuteBackfill(FsStatement *stmt)
{
	List	   *report = NIL;
	Oid			shadow;
	int64		rows;

	if (stmt->kind == FS_STMT_BACKFILL)
		return RegistryOpenBackfill(stmt->backfill, stmt->text, &shadow);
	registry_error_location = stmt->name_location;
	if (stmt->kind == FS_STMT_VALIDATE_BACKFILL)
		return RegistryValidateBackfill(stmt->name, stmt->backfill_settings, stmt->text,
										&report);
	if (stmt->kind == FS_STMT_PROMOTE_BACKFILL)
		return RegistryPromoteBackfill(stmt->name, stmt->force, stmt->text, &rows);
	return RegistryAbortBackfill(stmt->name, stmt->text);
}

/*
 * DdlErrorCallback gives an error without a position the location the
 * registry was checking, then transposes the position into the outer query,
 * and says which statement of the block failed.
 */
static void
DdlErrorCallback(void *arg)
{
	DdlErrorState *state = (DdlErrorState *) arg;

	if (geterrposition() <= 0 && getinternalerrposition() <= 0 &&
		registry_error_location >= 0)
		errposition(DdlCharPosition(state->source, registry_error_location));
	/*
	 * function_parse_error_transpose() finds the block inside the statement
	 * the client sent through the active portal; without one (a background
	 * worker running featstore statements through SPI), point into the
	 * block itself.
	 */
	if (ActivePortal && ActivePortal->status == PORTAL_ACTIVE)
		function_parse_error_transpose(state->source);
	else if (geterrposition() > 0)
	{
		int			pos = geterrposition();

		errposition(0);
		internalerrposition(pos);
		internalerrquery(state->source);
	}
	if (state->statement_no > 0)
		errcontext("featstore statement %d", state->statement_no);
}

/* RefuseFunctions explains that the featstore language only runs DO blocks */
static void
RefuseFunctions(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("functions cannot be written in language featstore"),
			 errhint("Run featstore statements with DO LANGUAGE featstore $$ ... $$ or SELECT * FROM featstore.exec($$ ... $$).")));
}
