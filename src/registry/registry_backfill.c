/*
 * registry_backfill.c
 *		Backfills (issue 12): BACKFILL FEATURE GROUP g AS name FROM 'a' TO
 *		'b' opens a shadow table with the group's shape; VALIDATE BACKFILL
 *		compares it with the history (registry_backfill_check.c); PROMOTE
 *		BACKFILL inserts its rows into the history in one transaction, with
 *		created_at = the promote time, and queues online exactly the
 *		entities whose winner changes; ABORT BACKFILL drops it.  The SQL
 *		twins at the end share the code.  docs/backfills.md.
 *
 * Every step takes the registry's DDL lock, is allowed to whoever may
 * change the group (the owner of its table, its members, a superuser) and
 * writes one definition_history row.  The shadow belongs to the group
 * table's owner, so every member of that role may load it; it carries a
 * statement trigger that sends a validated or failed backfill back to
 * state open when its rows change, so a promote never takes rows that
 * were not validated (short of FORCE).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "extension.h"
#include "online/online.h"
#include "pii/pii.h"
#include "registry/registry_int.h"

PG_FUNCTION_INFO_V1(featstore_open_backfill);
PG_FUNCTION_INFO_V1(featstore_validate_backfill);
PG_FUNCTION_INFO_V1(featstore_promote_backfill);
PG_FUNCTION_INFO_V1(featstore_abort_backfill);
PG_FUNCTION_INFO_V1(featstore_backfill_shadow_changed);

#define SHADOW_TRIGGER "featstore_backfill_changed"

static void BackfillGroupChanged(FsGroupEvent event, const FsGroup *group);
static FsGroup *BackfillGroup(const char *group_name, bool for_open);
static TimestampTz ParseRangeBound(const char *text, int location, const char *what);
static char *ShadowName(const FsGroup *group, const char *name);
static Oid	CreateShadow(const FsGroup *group, const char *bf_name, const char *shadow_name);
static FsBackfill *LoadBackfill(const char *name, bool missing_ok);
static void RequireState(const FsBackfill *bf, const char *command);
static void RecordBackfillHistory(const char *command, const char *name,
								  const char *stmt_text, const char *detail);
static void BackfillRunAsOwner(Oid relid, const char *sql, int nargs, Oid *argtypes,
							   Datum *args, int expected);
static char *QualifiedShadow(Oid relid);
static void DropShadow(FsBackfill *bf);
static void FinishBackfill(const FsBackfill *bf, const char *state, int64 rows,
						   TimestampTz created_at, bool forced);
static void RefuseShadowErrors(const FsBackfill *bf, FsGroup *group);
static int64 InsertShadowRows(const FsGroup *group, const FsBackfill *bf,
							  TimestampTz created_at);
static int64 QueueChangedWinners(const FsGroup *group, const FsBackfill *bf,
								 TimestampTz now);
static char *KeyList(const FsGroup *group, const char *alias);
static char *FeatureList(const FsGroup *group, const char *alias);
static Datum CallerName(void);
static List *CopyReport(MemoryContext cxt, List *report);
static FsResult *BackfillResult(MemoryContext cxt, const char *command, const char *name,
								 const char *detail);

/* RegistryBackfillInit follows group drops: a dropped group's backfills go with it */
void
RegistryBackfillInit(void)
{
	RegisterGroupChangeCallback(BackfillGroupChanged);
}

/*
 * BackfillGroupChanged drops the open shadows of a group that is being
 * dropped, as the caller (who may drop the group, so its table owner's
 * tables), and removes its backfills' rows
 */
static void
BackfillGroupChanged(FsGroupEvent event, const FsGroup *group)
{
	Oid			argtype = TEXTOID;
	Datum		arg;
	List	   *open = NIL;
	ListCell   *lc;

	if (event != FS_GROUP_DROPPING || !RegistryIsInstalled() ||
		!OidIsValid(get_relname_relid("backfills", FeatstoreSchemaOid(false))))
		return;
	arg = CStringGetTextDatum(group->name);
	SPI_connect();
	RegSpi("SELECT name FROM featstore.backfills WHERE group_name = $1 AND shadow IS NOT NULL"
		   " ORDER BY name", 1, &argtype, &arg, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
		open = lappend(open, RegGetText(i, 1));
	foreach(lc, open)
	{
		FsBackfill *bf = LoadBackfill(lfirst(lc), false);

		ereport(NOTICE,
				(errmsg("drop cascades to backfill \"%s\" and its shadow %s",
						bf->name, bf->shadow_name)));
		DropShadow(bf);
	}
	RegSpi("DELETE FROM featstore.backfills WHERE group_name = $1",
		   1, &argtype, &arg, NULL, true);
	SPI_finish();
}

/*
 * RegistryOpenBackfill opens a backfill: checks the group and the range,
 * creates the shadow as the caller (CREATE on the group's schema), gives
 * it to the group table's owner, and records it.  *shadow is its OID.
 */
FsResult *
RegistryOpenBackfill(const FsBackfillDef *def, const char *stmt_text, Oid *shadow)
{
	FsGroup    *group;
	TimestampTz from,
				to;
	char	   *shadow_name;
	Oid			relid;
	Oid			argtypes[7] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, OIDOID, TEXTOID,
	NAMEOID};
	Datum		args[7];
	MemoryContext caller = CurrentMemoryContext;
	FsResult   *result;

	registry_error_location = def->location;
	if (def->name == NULL || def->name[0] == '\0' || strlen(def->name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("backfill name \"%s\" must be between 1 and %d bytes",
						def->name ? def->name : "", NAMEDATALEN - 1),
				 errhint("Name the backfill after what it fixes, e.g. fix_amount_2026_10.")));
	/* featstore.backfills came with 0.3.0 */
	FeatstoreRequireCurrentSchema();
	SPI_connect();
	RegistryLockDefinitions();
	if (LoadBackfill(def->name, true) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("backfill \"%s\" already exists", def->name),
				 errhint("Choose another name; featstore.backfills lists the backfills, promoted and aborted ones included.")));
	registry_error_location = def->group_location;
	group = BackfillGroup(def->group_name, true);
	from = ParseRangeBound(def->from_text, def->from_location, "start");
	to = ParseRangeBound(def->to_text, def->to_location, "end");
	if (from >= to)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the range of backfill \"%s\" is empty: FROM '%s' is not before TO '%s'",
						def->name, def->from_text, def->to_text),
				 errhint("Write FROM the first instant replaced TO the instant after the last (the end is exclusive).")));
	shadow_name = ShadowName(group, def->name);
	relid = CreateShadow(group, def->name, shadow_name);

	args[0] = CStringGetTextDatum(def->name);
	args[1] = CStringGetTextDatum(group->name);
	args[2] = TimestampTzGetDatum(from);
	args[3] = TimestampTzGetDatum(to);
	args[4] = ObjectIdGetDatum(relid);
	args[5] = CStringGetTextDatum(QualifiedShadow(relid));
	args[6] = CallerName();
	RegSpi("INSERT INTO featstore.backfills (name, group_name, range_from, range_to, shadow,"
		   " shadow_name, created_by) VALUES ($1, $2, $3, $4, $5::pg_catalog.regclass, $6, $7)",
		   7, argtypes, args, NULL, true);
	RecordBackfillHistory("BACKFILL FEATURE GROUP", def->name, stmt_text,
						  psprintf("shadow %s", QualifiedShadow(relid)));
	result = BackfillResult(caller, "BACKFILL FEATURE GROUP", def->name,
							psprintf("shadow %s for %s", QualifiedShadow(relid), group->name));
	SPI_finish();
	*shadow = relid;
	return result;
}

/*
 * BackfillGroup looks up a group a backfill may fill and checks that the
 * caller may change it: a table group (a transformation's too), never one
 * computed FROM a source, whose table exists
 */
static FsGroup *
BackfillGroup(const char *group_name, bool for_open)
{
	FsGroup    *group = RegistryLookupGroup(group_name, false);

	if (group->source != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature group \"%s\" is computed FROM a source and cannot be backfilled",
						group->name),
				 errhint("Its source is the history: correct or add the source's rows, and the group follows.")));
	if (!OidIsValid(group->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the history table %s.%s of feature group \"%s\" is missing",
						quote_identifier(group->schema_name),
						quote_identifier(group->table_name), group->name),
				 errhint("%s", for_open ? "A backfill needs the group's history table." :
						 "ABORT BACKFILL the group's backfills, or drop the group.")));
	RegistryCheckGroupOwnerOf(group);
	return group;
}

/* ParseRangeBound reads one end of the range as a finite timestamptz */
static TimestampTz
ParseRangeBound(const char *text, int location, const char *what)
{
	TimestampTz ts;

	registry_error_location = location;
	ts = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(text),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s of a backfill's range must be finite, not '%s'", what, text),
				 errhint("A backfill replaces a bounded range of event_timestamp: write both ends as instants.")));
	return ts;
}

/* ShadowName is <table>__bf_<name>, which must fit a name */
static char *
ShadowName(const FsGroup *group, const char *name)
{
	char	   *shadow = psprintf("%s__bf_%s", group->table_name, name);

	if (strlen(shadow) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("the shadow table name \"%s\" of backfill \"%s\" is too long", shadow, name),
				 errdetail("The shadow is named <history table>__bf_<backfill>, at most %d bytes.",
						   NAMEDATALEN - 1),
				 errhint("Choose a shorter backfill name.")));
	return shadow;
}

/*
 * CreateShadow creates the shadow as the caller, LIKE the history table
 * (its columns, NOT NULL constraints and defaults, none of its indexes),
 * with the trigger that reopens the backfill when its rows change, and
 * hands it to the history table's owner.  No unique index: a duplicate
 * (key, event_timestamp) is the validation's to report, and loading stays
 * as fast as a plain table's.
 */
static Oid
CreateShadow(const FsGroup *group, const char *bf_name, const char *shadow_name)
{
	char	   *qshadow = quote_qualified_identifier(group->schema_name, shadow_name);
	char	   *qtable = quote_qualified_identifier(group->schema_name, group->table_name);
	Oid			owner;
	Oid			relid;
	HeapTuple	tup;

	RegSpi(psprintf("CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS)", qshadow, qtable),
		   0, NULL, NULL, NULL, false);
	RegSpi(psprintf("COMMENT ON TABLE %s IS %s", qshadow,
					quote_literal_cstr(psprintf("Shadow of backfill %s of feature group %s: load it, then VALIDATE and PROMOTE BACKFILL %s",
												bf_name, group->name, bf_name))),
		   0, NULL, NULL, NULL, false);
	RegSpi(psprintf("CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s"
					" FOR EACH STATEMENT EXECUTE FUNCTION featstore.backfill_shadow_changed()",
					SHADOW_TRIGGER, qshadow), 0, NULL, NULL, NULL, false);
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(group->relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", group->relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	if (owner != GetUserId())
		RegSpi(psprintf("ALTER TABLE %s OWNER TO %s", qshadow,
						quote_identifier(GetUserNameFromId(owner, false))),
			   0, NULL, NULL, NULL, false);
	CommandCounterIncrement();
	relid = get_relname_relid(shadow_name, get_namespace_oid(group->schema_name, false));
	if (!OidIsValid(relid))
		elog(ERROR, "the shadow %s was not created", qshadow);
	return relid;
}

/*
 * LoadBackfill reads a backfill's row (SPI connected), or returns NULL if
 * there is none and missing_ok
 */
static FsBackfill *
LoadBackfill(const char *name, bool missing_ok)
{
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(name);
	FsBackfill *bf;
	bool		isnull;
	Datum		d;

	RegSpi("SELECT name, group_name, range_from, range_to, shadow::pg_catalog.oid, shadow_name,"
		   " state, verdict, thresholds::pg_catalog.text FROM featstore.backfills WHERE name = $1",
		   1, &argtype, &arg, NULL, true);
	if (SPI_processed == 0)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("backfill \"%s\" does not exist", name),
				 errhint("featstore.backfills lists the backfills; open one with BACKFILL FEATURE GROUP g AS %s FROM '...' TO '...'.",
						 quote_identifier(name))));
	}
	bf = palloc0(sizeof(FsBackfill));
	bf->name = RegGetText(0, 1);
	bf->group_name = RegGetText(0, 2);
	bf->range_from = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 3, &isnull));
	bf->range_to = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													 SPI_tuptable->tupdesc, 4, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull);
	bf->shadow = isnull ? InvalidOid : DatumGetObjectId(d);
	bf->shadow_name = RegGetText(0, 6);
	bf->state = RegGetText(0, 7);
	bf->verdict = RegGetText(0, 8);
	bf->thresholds = RegGetText(0, 9);
	return bf;
}

/* RequireState refuses a step on a backfill that is already promoted or aborted */
static void
RequireState(const FsBackfill *bf, const char *command)
{
	if (strcmp(bf->state, "promoted") == 0 || strcmp(bf->state, "aborted") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot %s backfill \"%s\": it is already %s", command, bf->name, bf->state),
				 errhint("Open a new backfill with BACKFILL FEATURE GROUP %s AS <name> FROM '...' TO '...'.",
						 quote_identifier(bf->group_name))));
	if (!OidIsValid(bf->shadow) ||
		!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(bf->shadow)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the shadow %s of backfill \"%s\" is gone", bf->shadow_name, bf->name),
				 errhint("Run ABORT BACKFILL %s, then open a new one.", quote_identifier(bf->name))));
}

/*
 * RegistryValidateBackfill runs the validation, stores its verdict and
 * state, records the step, and returns the report in *report.  The shadow
 * is locked against writes meanwhile (SHARE), so the verdict is about the
 * rows it read; a later write reopens the backfill (the shadow's trigger).
 */
FsResult *
RegistryValidateBackfill(const char *name, List *settings, const char *stmt_text,
						 List **report)
{
	FsBackfill *bf;
	FsGroup    *group;
	char	   *verdict;
	char	   *verdict_names;
	char	   *thresholds;
	bool		passed,
				errors;
	Oid			argtypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID};
	Datum		args[5];
	MemoryContext caller = CurrentMemoryContext;
	FsResult   *result;

	/* featstore.backfills came with 0.3.0 */
	FeatstoreRequireCurrentSchema();
	SPI_connect();
	RegistryLockDefinitions();
	bf = LoadBackfill(name, false);
	group = BackfillGroup(bf->group_name, false);
	RequireState(bf, "validate");
	LockRelationOid(bf->shadow, ShareLock);
	*report = RegistryBackfillCheck(bf, group, settings, &verdict, &verdict_names, &passed,
									&errors, &thresholds);
	/* SPI calls leave SPI's memory current: the report must outlive SPI_finish */
	*report = CopyReport(caller, *report);
	args[0] = CStringGetTextDatum(bf->name);
	args[1] = CStringGetTextDatum(passed ? "validated" : "failed");
	args[2] = CStringGetTextDatum(verdict);
	args[3] = CStringGetTextDatum(thresholds);
	args[4] = CallerName();
	RegSpi("UPDATE featstore.backfills SET state = $2, verdict = $3,"
		   " thresholds = $4::pg_catalog.jsonb, validated_at = pg_catalog.now(),"
		   " validated_by = $5 WHERE name = $1",
		   5, argtypes, args, NULL, true);
	RecordBackfillHistory("VALIDATE BACKFILL", bf->name, stmt_text, verdict_names);
	if (!passed)
		ereport(NOTICE,
				(errmsg("backfill \"%s\" %s", bf->name, verdict),
				 errhint("featstore.validate_backfill(%s) returns the whole report.",
						 quote_literal_cstr(bf->name))));
	result = BackfillResult(caller, "VALIDATE BACKFILL", bf->name, verdict);
	SPI_finish();
	return result;
}

/*
 * RegistryPromoteBackfill inserts the shadow's rows into the history, all
 * with created_at = the promote time, queues the entities whose online
 * winner that changes, and drops the shadow; *rows is the rows inserted.
 *
 * Locks: the registry's DDL lock (no featstore DDL meanwhile), SHARE UPDATE
 * EXCLUSIVE on the history table (one promote of a group at a time; it
 * does not conflict with INSERT, COPY, UPDATE or DELETE, so ingestion goes
 * on: its rows are its own, the promote only adds the shadow's), EXCLUSIVE
 * on the shadow (no write between the state check and the insert).
 */
FsResult *
RegistryPromoteBackfill(const char *name, bool force, const char *stmt_text, int64 *rows)
{
	FsBackfill *bf;
	FsGroup    *group;
	TimestampTz created_at;
	int64		queued = 0;
	bool		validated;
	StringInfoData detail;
	MemoryContext caller = CurrentMemoryContext;
	FsResult   *result;

	/* featstore.backfills came with 0.3.0 */
	FeatstoreRequireCurrentSchema();
	SPI_connect();
	RegistryLockDefinitions();
	bf = LoadBackfill(name, false);
	group = BackfillGroup(bf->group_name, false);
	RequireState(bf, "promote");
	LockRelationOid(group->relid, ShareUpdateExclusiveLock);
	LockRelationOid(bf->shadow, ExclusiveLock);
	/* a write that committed before the lock reopened it: read the state again */
	bf = LoadBackfill(name, false);
	validated = strcmp(bf->state, "validated") == 0;
	if (!validated && !force)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("backfill \"%s\" has not passed validation", bf->name),
				 errdetail("Its state is %s%s%s.", bf->state,
						   bf->verdict ? "; the last validation " : "",
						   bf->verdict ? bf->verdict : ""),
				 errhint("Run VALIDATE BACKFILL %s, fix the shadow, or promote anyway with PROMOTE BACKFILL %s FORCE.",
						 quote_identifier(bf->name), quote_identifier(bf->name))));
	RegistryCheckGroupTable(group);
	RegistryCheckShadow(bf, group);
	/* FORCE overrides thresholds, never errors: a validated shadow has none */
	if (!validated)
		RefuseShadowErrors(bf, group);
	created_at = GetCurrentTimestamp();
	if (group->online)
		queued = QueueChangedWinners(group, bf, created_at);
	*rows = InsertShadowRows(group, bf, created_at);
	DropShadow(bf);
	FinishBackfill(bf, "promoted", *rows, created_at, force && !validated);

	/*
	 * The history, which every reader sees, names the state FORCE overrode;
	 * the caller's result adds the verdict, whose numbers describe the data
	 */
	initStringInfo(&detail);
	appendStringInfo(&detail, INT64_FORMAT " rows at created_at %s", *rows,
					 timestamptz_to_str(created_at));
	if (group->online)
		appendStringInfo(&detail, "; " INT64_FORMAT " entities queued online", queued);
	if (force && !validated)
		appendStringInfo(&detail, "; FORCE over state %s", bf->state);
	RecordBackfillHistory("PROMOTE BACKFILL", bf->name, stmt_text, detail.data);
	if (force && !validated && bf->verdict)
		appendStringInfo(&detail, " (%s)", bf->verdict);
	result = BackfillResult(caller, "PROMOTE BACKFILL", bf->name, detail.data);
	SPI_finish();
	return result;
}

/*
 * RefuseShadowErrors runs the validation of a shadow a FORCE promotes
 * without a passed validation, and refuses it if the shadow has errors
 */
static void
RefuseShadowErrors(const FsBackfill *bf, FsGroup *group)
{
	char	   *verdict;
	char	   *verdict_names;
	char	   *thresholds;
	bool		passed,
				errors;

	(void) RegistryBackfillCheck(bf, group, NIL, &verdict, &verdict_names, &passed, &errors,
								 &thresholds);
	if (errors)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("backfill \"%s\" cannot be promoted, even with FORCE: %s", bf->name, verdict),
				 errhint("FORCE overrides thresholds, not errors: fix the shadow's rows, then promote.")));
}

/*
 * InsertShadowRows appends the shadow's rows to the history as the table's
 * owner, in a restricted section, with capture passing this INSERT by
 * (QueueChangedWinners queued what it changes)
 */
static int64
InsertShadowRows(const FsGroup *group, const FsBackfill *bf, TimestampTz created_at)
{
	char	   *keys = KeyList(group, NULL);
	char	   *features = FeatureList(group, NULL);
	char	   *sql;
	Oid			argtype = TIMESTAMPTZOID;
	Datum		arg = TimestampTzGetDatum(created_at);
	Oid			prev;
	volatile int64 n = 0;

	sql = psprintf("INSERT INTO %s (%s, event_timestamp, created_at%s) SELECT %s, event_timestamp, $1%s FROM ONLY %s",
				   quote_qualified_identifier(group->schema_name, group->table_name),
				   keys, features, keys, features, QualifiedShadow(bf->shadow));
	prev = OnlineCaptureSkip(group->relid);
	PG_TRY();
	{
		BackfillRunAsOwner(group->relid, sql, 1, &argtype, &arg, SPI_OK_INSERT);
		n = (int64) SPI_processed;
	}
	PG_FINALLY();
	{
		OnlineCaptureSkip(prev);
	}
	PG_END_TRY();
	return n;
}

/*
 * QueueChangedWinners queues, before the insert, exactly the entities whose
 * winner at now the shadow's rows change: those with a shadow row at or
 * before now (within the TTL) that no history row dated after it (and at
 * or before now) beats; a shadow row with the same event_timestamp as the
 * history's best wins by its later created_at.  Entities with shadow rows
 * dated after now are queued too, so that the worker revisits them then.
 */
static int64
QueueChangedWinners(const FsGroup *group, const FsBackfill *bf, TimestampTz now)
{
	OnlineGroup *og = OnlineGroupFromRegistry((FsGroup *) group);
	StringInfoData sql;
	StringInfoData match;
	Oid			argtypes[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[2];
	ListCell   *lc;

	initStringInfo(&match);
	foreach(lc, group->keys)
	{
		const char *k = quote_identifier(((FsKeyColumn *) lfirst(lc))->name);

		appendStringInfo(&match, " AND h.%s = s.%s", k, k);
	}
	args[0] = TimestampTzGetDatum(now);
	args[1] = TimestampTzGetDatum(group->has_ttl ? now - group->ttl_usecs : DT_NOBEGIN);
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT %s, s.fut FROM (SELECT %s,"
					 " pg_catalog.max(event_timestamp) FILTER (WHERE event_timestamp <= $1"
					 " AND event_timestamp >= $2) AS best,"
					 " pg_catalog.bool_or(event_timestamp > $1) AS fut FROM ONLY %s GROUP BY %s) s"
					 " WHERE s.fut OR (s.best IS NOT NULL AND NOT EXISTS (SELECT FROM %s h"
					 " WHERE h.event_timestamp > s.best AND h.event_timestamp <= $1%s))",
					 KeyList(group, "s"), KeyList(group, NULL), QualifiedShadow(bf->shadow),
					 KeyList(group, NULL),
					 quote_qualified_identifier(group->schema_name, group->table_name),
					 match.data);
	return OnlineEnqueueEntities(og, sql.data, 2, argtypes, args);
}

/* RegistryAbortBackfill drops the shadow and marks the backfill aborted */
FsResult *
RegistryAbortBackfill(const char *name, const char *stmt_text)
{
	FsBackfill *bf;
	MemoryContext caller = CurrentMemoryContext;
	FsResult   *result;

	/* featstore.backfills came with 0.3.0 */
	FeatstoreRequireCurrentSchema();
	SPI_connect();
	RegistryLockDefinitions();
	bf = LoadBackfill(name, false);
	(void) BackfillGroup(bf->group_name, false);
	if (strcmp(bf->state, "promoted") == 0 || strcmp(bf->state, "aborted") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot abort backfill \"%s\": it is already %s", bf->name, bf->state),
				 errhint("A promoted backfill's rows are history: correct them with a new backfill.")));
	DropShadow(bf);
	FinishBackfill(bf, "aborted", 0, 0, false);
	RecordBackfillHistory("ABORT BACKFILL", bf->name, stmt_text, NULL);
	result = BackfillResult(caller, "ABORT BACKFILL", bf->name,
							psprintf("dropped %s", bf->shadow_name));
	SPI_finish();
	return result;
}

/* DropShadow drops the shadow as the caller, if it still exists */
static void
DropShadow(FsBackfill *bf)
{
	if (OidIsValid(bf->shadow) && SearchSysCacheExists1(RELOID, ObjectIdGetDatum(bf->shadow)))
		RegSpi(psprintf("DROP TABLE %s", QualifiedShadow(bf->shadow)), 0, NULL, NULL, NULL, false);
	else
		ereport(NOTICE,
				(errmsg("the shadow %s of backfill \"%s\" was already gone",
						bf->shadow_name, bf->name)));
}

/* FinishBackfill records a promote or an abort in the backfill's row */
static void
FinishBackfill(const FsBackfill *bf, const char *state, int64 rows, TimestampTz created_at,
			   bool forced)
{
	Oid			argtypes[6] = {TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID, BOOLOID, NAMEOID};
	Datum		args[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	args[0] = CStringGetTextDatum(bf->name);
	args[1] = CStringGetTextDatum(state);
	args[2] = Int64GetDatum(rows);
	args[3] = TimestampTzGetDatum(created_at);
	args[4] = BoolGetDatum(forced);
	args[5] = CallerName();
	if (strcmp(state, "promoted") != 0)
		nulls[2] = nulls[3] = 'n';
	RegSpi("UPDATE featstore.backfills SET state = $2, shadow = NULL, promoted_rows = $3,"
		   " promoted_created_at = $4, forced = $5, finished_at = pg_catalog.now(),"
		   " finished_by = $6 WHERE name = $1",
		   6, argtypes, args, nulls, true);
}

/* RecordBackfillHistory appends one step to featstore.definition_history */
static void
RecordBackfillHistory(const char *command, const char *name, const char *stmt_text,
					  const char *detail)
{
	Oid			argtypes[5] = {TEXTOID, TEXTOID, TEXTOID, NAMEOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	if (stmt_text == NULL)
		stmt_text = debug_query_string ? debug_query_string : "";
	values[0] = CStringGetTextDatum(command);
	values[1] = CStringGetTextDatum(name);
	values[2] = CStringGetTextDatum(stmt_text);
	values[3] = CallerName();
	values[4] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	if (detail == NULL)
		nulls[4] = 'n';
	RegSpi("INSERT INTO featstore.definition_history (command, object_type, object_name,"
		   " statement, executed_by, detail) VALUES ($1, 'backfill', $2, $3, $4, $5)",
		   5, argtypes, values, nulls, true);
}

/*
 * BackfillRunAsOwner runs one statement over a group's table (and its
 * shadow, which has the same owner) as the table's owner in a restricted
 * section.  SPI must be connected.
 */
static void
BackfillRunAsOwner(Oid relid, const char *sql, int nargs, Oid *argtypes, Datum *args,
				   int expected)
{
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	FeatstoreBeginAsTableOwner(relid, &save_userid, &save_sec_context);
	ret = SPI_execute_with_args(sql, nargs, argtypes, args, NULL, false, 0);
	FeatstoreEndAsTableOwner(save_userid, save_sec_context);
	if (ret != expected)
		elog(ERROR, "featstore backfill statement failed: %s", SPI_result_code_string(ret));
}

/* QualifiedShadow is the shadow's quoted schema.table as it is now */
static char *
QualifiedShadow(Oid relid)
{
	char	   *rel = get_rel_name(relid);
	Oid			nsp = get_rel_namespace(relid);

	if (rel == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	return quote_qualified_identifier(get_namespace_name(nsp), rel);
}

/* KeyList is the group's quoted key columns, each prefixed with alias if given */
static char *
KeyList(const FsGroup *group, const char *alias)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, group->keys)
		appendStringInfo(&buf, "%s%s%s%s", buf.len ? ", " : "", alias ? alias : "",
						 alias ? "." : "", quote_identifier(((FsKeyColumn *) lfirst(lc))->name));
	return buf.data;
}

/* FeatureList is ", f1, f2, ..." over every feature, deprecated ones too */
static char *
FeatureList(const FsGroup *group, const char *alias)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, group->features)
		appendStringInfo(&buf, ", %s%s%s", alias ? alias : "", alias ? "." : "",
						 quote_identifier(((FsFeature *) lfirst(lc))->name));
	return buf.data;
}

/* CopyReport copies a validation's report into cxt */
static List *
CopyReport(MemoryContext cxt, List *report)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	List	   *copy = NIL;
	ListCell   *lc;

	foreach(lc, report)
	{
		FsBackfillCheck *row = palloc(sizeof(FsBackfillCheck));

		memcpy(row, lfirst(lc), sizeof(FsBackfillCheck));
		/* check and verdict are literals */
		row->feature = row->feature ? pstrdup(row->feature) : NULL;
		row->detail = row->detail ? pstrdup(row->detail) : NULL;
		row->masked_group = row->masked_group ? pstrdup(row->masked_group) : NULL;
		copy = lappend(copy, row);
	}
	MemoryContextSwitchTo(old);
	return copy;
}

/* CallerName is the calling role's name, as a name Datum: who did the step */
static Datum
CallerName(void)
{
	return DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
}

/*
 * BackfillResult is the row featstore.exec() prints for a step, allocated
 * in cxt (the caller's, which outlives SPI)
 */
static FsResult *
BackfillResult(MemoryContext cxt, const char *command, const char *name, const char *detail)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	FsResult   *r = palloc0(sizeof(FsResult));

	r->command = command;
	r->object_type = "backfill";
	r->object_name = pstrdup(name);
	r->detail = detail ? pstrdup(detail) : NULL;
	MemoryContextSwitchTo(old);
	return r;
}

/*
 * featstore_backfill_shadow_changed is the statement trigger on every
 * shadow: a write sends a validated or failed backfill back to state open.
 * On any other table it changes nothing (no backfill has it as shadow).
 */
Datum
featstore_backfill_shadow_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Oid			argtype = OIDOID;
	Datum		arg;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("featstore.backfill_shadow_changed() must be a FOR EACH STATEMENT trigger"),
				 errhint("featstore attaches it itself to a backfill's shadow.")));
	arg = ObjectIdGetDatum(RelationGetRelid(trigdata->tg_relation));
	SPI_connect();
	RegSpi("UPDATE featstore.backfills SET state = 'open' WHERE shadow = $1::pg_catalog.regclass"
		   " AND state IN ('validated', 'failed')", 1, &argtype, &arg, NULL, true);
	SPI_finish();
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------------------
 * The SQL twins
 * ------------------------------------------------------------------------
 */

/* ArgText is a required text argument, or an error naming it */
static char *
ArgText(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* featstore_open_backfill is BACKFILL FEATURE GROUP as a function; returns the shadow */
Datum
featstore_open_backfill(PG_FUNCTION_ARGS)
{
	FsBackfillDef def;
	Oid			shadow;

	FeatstoreRequireEditor();
	memset(&def, 0, sizeof(def));
	def.location = def.group_location = def.from_location = def.to_location = -1;
	def.group_name = ArgText(fcinfo, 0, "feature group name");
	def.name = ArgText(fcinfo, 1, "backfill name");
	if (PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the range of backfill \"%s\" must not be null", def.name),
				 errhint("Give both ends: range_from (inclusive) and range_to (exclusive).")));
	def.from_text = DatumGetCString(DirectFunctionCall1(timestamptz_out, PG_GETARG_DATUM(2)));
	def.to_text = DatumGetCString(DirectFunctionCall1(timestamptz_out, PG_GETARG_DATUM(3)));
	(void) RegistryOpenBackfill(&def, NULL, &shadow);
	PG_RETURN_OID(shadow);
}

/* JsonSettings turns a thresholds object into FsMonitorSetting's (name, number) */
static List *
JsonSettings(Datum thresholds)
{
	Oid			argtype = JSONBOID;
	List	   *settings = NIL;
	MemoryContext caller = CurrentMemoryContext;

	SPI_connect();
	RegSpi("SELECT key, value OPERATOR(pg_catalog.#>>) '{}', pg_catalog.jsonb_typeof(value)"
		   " FROM pg_catalog.jsonb_each(CASE pg_catalog.jsonb_typeof($1) WHEN 'object' THEN $1"
		   " ELSE pg_catalog.jsonb_build_object('thresholds', $1) END) ORDER BY key",
		   1, &argtype, &thresholds, NULL, false);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(caller);
		FsMonitorSetting *s = palloc0(sizeof(FsMonitorSetting));

		s->name = pstrdup(RegGetText(i, 1));
		if (strcmp(RegGetText(i, 3), "number") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("backfill threshold \"%s\" must be a number, not %s",
							s->name, RegGetText(i, 3)),
					 errhint("Pass a JSON object of numbers, e.g. '{\"max_missing_entities\": 0.05}'.")));
		s->value_text = pstrdup(RegGetText(i, 2));
		s->location = -1;
		settings = lappend(settings, s);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return settings;
}

/* featstore_validate_backfill is VALIDATE BACKFILL as a function: the report's rows */
Datum
featstore_validate_backfill(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name;
	List	   *settings = NIL;
	List	   *report = NIL;
	ListCell   *lc;

	FeatstoreRequireEditor();
	name = ArgText(fcinfo, 0, "backfill name");
	if (!PG_ARGISNULL(1))
		settings = JsonSettings(PG_GETARG_DATUM(1));
	InitMaterializedSRF(fcinfo, 0);
	(void) RegistryValidateBackfill(name, settings, NULL, &report);
	foreach(lc, report)
	{
		FsBackfillCheck *c = lfirst(lc);
		Datum		v[8];
		bool		n[8] = {false, !c->feature, !c->has_current, !c->has_shadow,
		!c->has_statistic, !c->has_threshold, false, !c->detail};

		v[0] = CStringGetTextDatum(c->check);
		v[1] = c->feature ? DirectFunctionCall1(namein, CStringGetDatum(c->feature)) : (Datum) 0;
		v[2] = Float8GetDatum(c->current);
		v[3] = Float8GetDatum(c->shadow);
		v[4] = Float8GetDatum(c->statistic);
		v[5] = Float8GetDatum(c->threshold);
		v[6] = CStringGetTextDatum(c->verdict);
		v[7] = c->detail ? CStringGetTextDatum(c->detail) : (Datum) 0;
		if (c->masked_group && c->feature)
			PiiNoteMasked(c->masked_group, c->feature);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}

/* featstore_promote_backfill is PROMOTE BACKFILL [FORCE] as a function */
Datum
featstore_promote_backfill(PG_FUNCTION_ARGS)
{
	char	   *name;
	int64		rows = 0;

	FeatstoreRequireEditor();
	name = ArgText(fcinfo, 0, "backfill name");
	(void) RegistryPromoteBackfill(name, !PG_ARGISNULL(1) && PG_GETARG_BOOL(1), NULL, &rows);
	PG_RETURN_INT64(rows);
}

/* featstore_abort_backfill is ABORT BACKFILL as a function */
Datum
featstore_abort_backfill(PG_FUNCTION_ARGS)
{
	FeatstoreRequireEditor();
	(void) RegistryAbortBackfill(ArgText(fcinfo, 0, "backfill name"), NULL);
	PG_RETURN_VOID();
}
