/*
 * registry_training.c
 *		Training sets (issue 12): CREATE and DROP TRAINING SET and their SQL
 *		twins, the checksum that shows a set's rows are still those it was
 *		created with, and the guards the registry keeps on what sets and
 *		services use: a group's drop, a feature's type change, DEPRECATE
 *		FEATURE's warning and ADD FEATURE's name collisions in services.
 *
 * A training set is four things made in one transaction: a copy of the
 * spine in a table of the creator's (read as the creator, so privileges
 * and row-level security apply), a view that is pit_join's SQL over that
 * copy with the service's features at creation, at a fixed as_of, the
 * registry rows (featstore.training_sets, featstore.training_set_features)
 * and a history row.  Nothing in the view depends on the service or on the
 * group's current features, and rows written after as_of are not
 * candidates, so the view returns the same rows for as long as history
 * only grows (docs/training-sets.md).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "featstore.h"
#include "pii/pii.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

/* The spine copy of training set "s" is the table "s_spine" next to its view */
#define TS_SPINE_SUFFIX "_spine"

PG_FUNCTION_INFO_V1(featstore_create_training_set);
PG_FUNCTION_INFO_V1(featstore_drop_training_set);
PG_FUNCTION_INFO_V1(featstore_verify_training_set);

/* What CREATE TRAINING SET has built so far */
typedef struct TsBuild
{
	FsTrainingSetDef *def;
	char	   *schema_name;
	char	   *spine_table;	/* the copy's name, in schema_name */
	char	   *view_qualified; /* both quoted and schema-qualified */
	char	   *spine_qualified;
	List	   *features;		/* of FsResolvedFeature *, the service's now */
	TimestampTz as_of;
	int64		rows;
	char	   *checksum;
	char	   *spine_checksum;
} TsBuild;

/* A training set's registry row, as DROP and verify need it */
typedef struct TsRow
{
	char	   *name;
	char	   *schema_name;
	char	   *view_name;
	char	   *spine_table;
	char	   *created_by;
	char	   *row_count;
	char	   *checksum;
	char	   *spine_checksum;
} TsRow;

static void TsSchema(TsBuild *b);
static void TsCheckFree(Oid nspid, const char *schema, const char *relname, const char *what);
static void TsAsOf(TsBuild *b);
static void TsWaitForWriters(TsBuild *b);
static void TsCopySpine(TsBuild *b);
static void TsCreateView(TsBuild *b);
static void TsRecord(TsBuild *b);
static char *TsChecksum(const char *relation, int64 *rows);
static bool TsLoad(const char *name, TsRow *row);
static Oid	TsRelid(const char *schema, const char *relname);
static void TsCheckOwner(const TsRow *row);
static void TsDropInternal(const TsRow *row, bool cascade, const char *stmt_text);
static List *TsNames(const char *sql, const char *group, const char *feature);
static char *TsArgText(FunctionCallInfo fcinfo, int argno, const char *what);
static char *TsUtc(TimestampTz t);

/*
 * RegistryCreateTrainingSet is CREATE TRAINING SET: the spine copied, the
 * view made over it with the service's features, both as the caller, then
 * the checksums computed as the caller and everything recorded as the
 * extension owner.
 */
FsResult *
RegistryCreateTrainingSet(FsTrainingSetDef *def, const char *stmt_text)
{
	MemoryContext callercxt = CurrentMemoryContext;
	TsBuild		b;
	char	   *detail;

	memset(&b, 0, sizeof(b));
	b.def = def;
	registry_error_location = def->location;
	CheckObjectName("training set", def->name);
	if (strlen(def->name) + strlen(TS_SPINE_SUFFIX) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("training set name \"%s\" is too long", def->name),
				 errhint("The set's spine table is named <name>%s, so a name may have at most %d bytes.",
						 TS_SPINE_SUFFIX, (int) (NAMEDATALEN - 1 - strlen(TS_SPINE_SUFFIX)))));

	SPI_connect();
	RegistryLock();
	if (TsLoad(def->name, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("training set \"%s\" already exists", def->name),
				 errhint("A training set never changes: choose another name, or drop it first with DROP TRAINING SET %s.",
						 quote_identifier(def->name))));
	registry_error_location = def->service_location >= 0 ? def->service_location : def->location;
	b.features = RegistryResolveFeatures(NIL, def->service_name);
	if (b.features == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("feature service \"%s\" has no active feature to build training set \"%s\" from",
						def->service_name, def->name),
				 errdetail("Its group.* members are groups whose features are all deprecated."),
				 errhint("Add features to the service with CREATE OR REPLACE FEATURE SERVICE.")));
	TsSchema(&b);
	TsAsOf(&b);
	TsWaitForWriters(&b);
	TsCopySpine(&b);
	TsCreateView(&b);
	/*
	 * reading the view runs the join: an error there (a group table the
	 * caller may not read) has no place in the statement, and the cursor's
	 * query is featstore's, not the caller's
	 */
	registry_error_location = -1;
	b.checksum = TsChecksum(b.view_qualified, &b.rows);
	b.spine_checksum = TsChecksum(b.spine_qualified, &b.rows);
	TsRecord(&b);
	RecordHistory("CREATE TRAINING SET", "training set", def->name, stmt_text);
	def->view_relid = TsRelid(b.schema_name, def->name);

	/* the report outlives SPI's memory */
	detail = MemoryContextStrdup(callercxt,
								 psprintf("%lld rows, %d features, as of %s",
										  (long long) b.rows, list_length(b.features),
										  TsUtc(b.as_of)));
	SPI_finish();
	return MakeResult("CREATE TRAINING SET", "training set", def->name, detail);
}

/*
 * TsSchema chooses the schema of the set's view and spine table, as a
 * group's: the named one or the creation schema of search_path, never
 * featstore's own or a system schema.  The caller must be able to create
 * there, and both names must be free.
 */
static void
TsSchema(TsBuild *b)
{
	FsTrainingSetDef *def = b->def;
	Oid			nspid;

	registry_error_location = def->location;
	if (def->schema_name)
		nspid = get_namespace_oid(def->schema_name, false);
	else
		nspid = RangeVarGetCreationNamespace(makeRangeVar(NULL, def->name, -1));
	b->schema_name = get_namespace_name(nspid);
	if (nspid == FeatstoreSchemaOid(true) || IsCatalogNamespace(nspid) ||
		IsToastNamespace(nspid) || isAnyTempNamespace(nspid) ||
		strcmp(b->schema_name, "information_schema") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_SCHEMA_DEFINITION),
				 errmsg("training sets cannot be created in schema \"%s\"", b->schema_name),
				 errhint("Qualify the training set's name with an ordinary schema, e.g. CREATE TRAINING SET public.%s.",
						 quote_identifier(def->name))));
	if (pg_namespace_aclcheck(nspid, GetUserId(), ACL_CREATE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create training set \"%s\" in schema \"%s\"",
						def->name, b->schema_name),
				 errdetail("A training set's view and spine table are created as its creator."),
				 errhint("Ask for GRANT CREATE ON SCHEMA %s TO %s, or qualify the name with a schema of yours.",
						 quote_identifier(b->schema_name),
						 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
	b->spine_table = psprintf("%s%s", def->name, TS_SPINE_SUFFIX);
	TsCheckFree(nspid, b->schema_name, def->name, "view");
	TsCheckFree(nspid, b->schema_name, b->spine_table, "spine table");
	b->view_qualified = quote_qualified_identifier(b->schema_name, def->name);
	b->spine_qualified = quote_qualified_identifier(b->schema_name, b->spine_table);
}

/* TsCheckFree refuses a relation name already taken in the set's schema */
static void
TsCheckFree(Oid nspid, const char *schema, const char *relname, const char *what)
{
	if (OidIsValid(get_relname_relid(relname, nspid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s.%s\" already exists", schema, relname),
				 errhint("A training set creates its %s under that name; choose another training set name or schema.",
						 what)));
}

/*
 * TsAsOf fixes the set's as_of: AS OF as given, or the transaction's start
 * (now()), the instant pit_join accepts as the latest.  A later one would
 * let rows still being written into the set.
 */
static void
TsAsOf(TsBuild *b)
{
	FsTrainingSetDef *def = b->def;
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	if (def->as_of_given)
		b->as_of = def->as_of;
	else if (def->as_of_text)
	{
		registry_error_location = def->as_of_location;
		b->as_of = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
														   CStringGetDatum(def->as_of_text),
														   ObjectIdGetDatum(InvalidOid),
														   Int32GetDatum(-1)));
	}
	else
		b->as_of = now;
	if (TIMESTAMP_NOT_FINITE(b->as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("AS OF of training set \"%s\" must be a finite time", def->name),
				 errhint("Give the instant whose knowledge the set reproduces, or leave AS OF out for the transaction's start.")));
	if (b->as_of > now)
	{
		char	   *given = TsUtc(b->as_of);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("AS OF %s of training set \"%s\" is in the future", given, def->name),
				 errdetail("AS OF bounds the created_at of the history rows the set uses; a training set cannot be built from the future."),
				 errhint("Rows written after AS OF would change the set: give a time at or before now(), or leave AS OF out.")));
	}
}

/*
 * TsWaitForWriters waits until every transaction writing one of the set's
 * group tables (or sources) now has ended.  created_at is the time of the
 * write, not of the commit: a row written before as_of by a transaction
 * still open would otherwise be missing from the set now and be a
 * candidate once it commits, so the set would change.  Each statement
 * after the wait takes a new snapshot (READ COMMITTED), which sees those
 * rows; a transaction that writes after the wait began stamps a later
 * created_at than the set's as_of.  New writers are not blocked, as in
 * CREATE INDEX CONCURRENTLY.
 */
static void
TsWaitForWriters(TsBuild *b)
{
	List	   *tags = NIL;
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, b->features)
	{
		FsResolvedFeature *r = lfirst(lc);
		Oid			relid = r->group->source ? r->group->source->relid : r->group->relid;
		LOCKTAG    *tag;

		if (!OidIsValid(relid) || list_member_oid(relids, relid))
			continue;
		relids = lappend_oid(relids, relid);
		tag = palloc(sizeof(LOCKTAG));
		SET_LOCKTAG_RELATION(*tag, MyDatabaseId, relid);
		tags = lappend(tags, tag);
	}
	if (tags != NIL)
		WaitForLockersMultiple(tags, ShareLock, false);
}

/*
 * TsCopySpine copies the spine into the set's own table, as the caller:
 * the caller's privileges, row-level security and search_path apply, as
 * in pit_join (whose spine rules, featstore.pit_spine_from, it reuses).
 * The owner's own write privileges are revoked, so that the copy is not
 * changed by accident (the owner may grant them back: verify says so).
 */
static void
TsCopySpine(TsBuild *b)
{
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(b->def->spine);
	char	   *from;

	registry_error_location = b->def->spine_location >= 0 ? b->def->spine_location : b->def->location;
	RegSpi("SELECT featstore.pit_spine_from($1)", 1, &argtype, &arg, NULL, false);
	from = SPI_processed == 1 ? RegGetText(0, 1) : NULL;
	if (from == NULL)
		elog(ERROR, "featstore: pit_spine_from returned nothing for training set \"%s\"",
			 b->def->name);
	RegSpi(psprintf("CREATE TABLE %s AS SELECT * FROM %s AS s", b->spine_qualified, from),
		   0, NULL, NULL, NULL, false);
	RegSpi(psprintf("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON TABLE %s FROM CURRENT_USER",
					b->spine_qualified), 0, NULL, NULL, NULL, false);
	RegSpi(psprintf("COMMENT ON TABLE %s IS %s", b->spine_qualified,
					quote_literal_cstr(psprintf("The spine of featstore training set %s, copied at its creation",
												b->def->name))),
		   0, NULL, NULL, NULL, false);
}

/*
 * TsCreateView makes the set's view, as the caller: the SQL pit_join writes
 * (featstore.pit_join_sql) over the spine copy, naming each feature of the
 * service as group.feature, at the set's as_of and strictness.  The view is
 * security_invoker, so that whoever reads it needs the privileges a
 * pit_join of their own would, and row-level security applies to them.
 */
static void
TsCreateView(TsBuild *b)
{
	Oid			types[4] = {TEXTOID, TEXTARRAYOID, TIMESTAMPTZOID, BOOLOID};
	Datum		values[4];
	List	   *refs = NIL;
	ListCell   *lc;
	char	   *sql;
	StringInfoData comment;

	foreach(lc, b->features)
	{
		FsResolvedFeature *r = lfirst(lc);

		refs = lappend(refs, psprintf("%s.%s", quote_identifier(r->group->name),
									  quote_identifier(r->feature->name)));
	}
	registry_error_location = b->def->service_location >= 0 ? b->def->service_location : b->def->location;
	values[0] = CStringGetTextDatum(b->spine_qualified);
	values[1] = TextListToArray(refs);
	values[2] = TimestampTzGetDatum(b->as_of);
	values[3] = BoolGetDatum(b->def->strict);
	RegSpi("SELECT featstore.pit_join_sql($1, $2, NULL, NULL, $3, $4, false)",
		   4, types, values, NULL, false);
	sql = SPI_processed == 1 ? RegGetText(0, 1) : NULL;
	if (sql == NULL)
		elog(ERROR, "featstore: pit_join_sql returned nothing for training set \"%s\"",
			 b->def->name);
	RegSpi(psprintf("CREATE VIEW %s WITH (security_invoker = true) AS %s", b->view_qualified, sql),
		   0, NULL, NULL, NULL, false);

	initStringInfo(&comment);
	appendStringInfo(&comment, "featstore training set %s: feature service %s as of %s%s",
					 b->def->name, b->def->service_name, TsUtc(b->as_of),
					 b->def->strict ? ", strict" : "");
	if (b->def->description)
		appendStringInfo(&comment, ". %s", b->def->description);
	RegSpi(psprintf("COMMENT ON VIEW %s IS %s", b->view_qualified, quote_literal_cstr(comment.data)),
		   0, NULL, NULL, NULL, false);
}

/*
 * TsRecord writes the set's registry rows as the extension owner: the set,
 * with the latest definition_history id as its position, and each
 * feature with its type now.
 */
static void
TsRecord(TsBuild *b)
{
	FsTrainingSetDef *def = b->def;
	Oid			types[15] = {TEXTOID, TEXTOID, NAMEOID, NAMEOID, NAMEOID, TEXTOID, TIMESTAMPTZOID,
	BOOLOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTARRAYOID, NAMEOID};
	Datum		values[15];
	char		nulls[16] = "               ";
	Oid			ftypes[5] = {TEXTOID, INT4OID, TEXTOID, TEXTOID, TEXTOID};
	int			position = 0;
	ListCell   *lc;

	values[0] = CStringGetTextDatum(def->name);
	values[1] = CStringGetTextDatum(def->service_name);
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(b->schema_name));
	values[3] = DirectFunctionCall1(namein, CStringGetDatum(def->name));
	values[4] = DirectFunctionCall1(namein, CStringGetDatum(b->spine_table));
	values[5] = CStringGetTextDatum(def->spine);
	values[6] = TimestampTzGetDatum(b->as_of);
	values[7] = BoolGetDatum(def->strict);
	values[8] = Int64GetDatum(b->rows);
	values[9] = CStringGetTextDatum(b->checksum);
	values[10] = CStringGetTextDatum(b->spine_checksum);
	values[11] = def->description ? CStringGetTextDatum(def->description) : (Datum) 0;
	nulls[11] = def->description ? ' ' : 'n';
	values[12] = def->owner ? CStringGetTextDatum(def->owner) : (Datum) 0;
	nulls[12] = def->owner ? ' ' : 'n';
	values[13] = TextListToArray(def->tags);
	values[14] = DirectFunctionCall1(namein,
									 CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	RegSpi("INSERT INTO featstore.training_sets (name, service_name, schema_name, view_name, "
		   "spine_table, spine, as_of, strict, row_count, checksum, spine_checksum, description, "
		   "owner, tags, created_by, history_position) "
		   "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
		   "coalesce(max(id), 0) FROM featstore.definition_history",
		   15, types, values, nulls, true);

	foreach(lc, b->features)
	{
		FsResolvedFeature *r = lfirst(lc);
		Datum		fvalues[5];

		fvalues[0] = CStringGetTextDatum(def->name);
		fvalues[1] = Int32GetDatum(++position);
		fvalues[2] = CStringGetTextDatum(r->group->name);
		fvalues[3] = CStringGetTextDatum(r->feature->name);
		fvalues[4] = CStringGetTextDatum(r->feature->type_name);
		RegSpi("INSERT INTO featstore.training_set_features "
			   "(training_set, position, group_name, feature_name, data_type) "
			   "VALUES ($1, $2, $3, $4::pg_catalog.name, $5)", 5, ftypes, fvalues, NULL, true);
	}
}

/*
 * TsChecksum returns the checksum of a relation's rows, read as the caller:
 * SHA-256, in hex, of each row's text form followed by a newline, the rows
 * sorted by that text in collation "C", so duplicates and row order do not
 * matter.  The settings that change how values print (TimeZone, DateStyle,
 * IntervalStyle, extra_float_digits, bytea_output) are fixed for the
 * computation, so that every session gets the same answer.  The rows are
 * fetched through a cursor, so the set's size is not bounded by memory;
 * not read-only, so that it sees what this statement created.  PII
 * features count as NULL for every role (PiiBeginForcedMask): the checksum
 * is the same whoever computes it, and tells nothing of their values.
 */
static char *
TsChecksum(const char *relation, int64 *rows)
{
	int			level = NewGUCNestLevel();
	SPIPlanPtr	plan;
	Portal		portal;
	pg_cryptohash_ctx *ctx;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char	   *hex = palloc(PG_SHA256_DIGEST_LENGTH * 2 + 1);
	int64		n = 0;

	(void) set_config_option("TimeZone", "UTC", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("DateStyle", "ISO, YMD", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("IntervalStyle", "postgres", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("extra_float_digits", "1", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("bytea_output", "hex", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	PiiBeginForcedMask();
	plan = SPI_prepare(psprintf("SELECT x FROM (SELECT t::pg_catalog.text AS x FROM %s AS t) AS q "
								"ORDER BY x COLLATE pg_catalog.\"C\"", relation), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "featstore: checksum query failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
	ctx = pg_cryptohash_create(PG_SHA256);
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "featstore: could not initialize SHA-256");
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0 || SPI_tuptable == NULL)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			text	   *t;

			if (isnull)
				continue;
			t = DatumGetTextPP(d);
			if (pg_cryptohash_update(ctx, (uint8 *) VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) < 0 ||
				pg_cryptohash_update(ctx, (const uint8 *) "\n", 1) < 0)
				elog(ERROR, "featstore: could not compute SHA-256");
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "featstore: could not compute SHA-256");
	pg_cryptohash_free(ctx);
	PiiEndForcedMask();
	AtEOXact_GUC(true, level);
	hex_encode((const char *) digest, sizeof(digest), hex);
	hex[PG_SHA256_DIGEST_LENGTH * 2] = '\0';
	*rows = n;
	return hex;
}

/*
 * TsLoad reads a training set's registry row (SPI connected); false if
 * there is none.  row may be NULL to test existence only.
 */
static bool
TsLoad(const char *name, TsRow *row)
{
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(name);

	RegSpi("SELECT name, schema_name::pg_catalog.text, view_name::pg_catalog.text, "
		   "spine_table::pg_catalog.text, created_by::pg_catalog.text, "
		   "row_count::pg_catalog.text, checksum, spine_checksum "
		   "FROM featstore.training_sets WHERE name = $1", 1, &argtype, &arg, NULL, true);
	if (SPI_processed != 1)
		return false;
	/* the columns are NOT NULL; a row written behind featstore's back is refused */
	for (int col = 1; col <= 8; col++)
		if (RegGetText(0, col) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the registry row of training set \"%s\" is incomplete", name),
					 errhint("Drop it with DROP TRAINING SET %s.", quote_identifier(name))));
	if (row)
	{
		row->name = RegGetText(0, 1);
		row->schema_name = RegGetText(0, 2);
		row->view_name = RegGetText(0, 3);
		row->spine_table = RegGetText(0, 4);
		row->created_by = RegGetText(0, 5);
		row->row_count = RegGetText(0, 6);
		row->checksum = RegGetText(0, 7);
		row->spine_checksum = RegGetText(0, 8);
	}
	return true;
}

/* TsRelid returns the OID of schema.relname, or InvalidOid */
static Oid
TsRelid(const char *schema, const char *relname)
{
	Oid			nspid = get_namespace_oid(schema, true);

	return OidIsValid(nspid) ? get_relname_relid(relname, nspid) : InvalidOid;
}

/*
 * TsCheckOwner allows DROP TRAINING SET to the owner of the set's view (or
 * a superuser), or, when the view is gone, to the creating role's members.
 */
static void
TsCheckOwner(const TsRow *row)
{
	Oid			viewid = TsRelid(row->schema_name, row->view_name);

	if (!OidIsValid(viewid))
	{
		CheckRoleCanModify("training set", row->name, row->created_by);
		return;
	}
	if (!pg_class_ownercheck(viewid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of view %s to drop training set \"%s\"",
						quote_qualified_identifier(row->schema_name, row->view_name), row->name),
				 errhint("Ask its owner or a superuser to drop it.")));
}

/*
 * TsDropInternal drops a set's view and spine table and its registry rows
 * (SPI connected, lock held, ownership checked or cascading from a group's
 * drop).  The relations are deleted through the dependency machinery, as
 * DROP VIEW does: without cascade, views of the caller's own over the set
 * refuse the drop; with it they go too.
 */
static void
TsDropInternal(const TsRow *row, bool cascade, const char *stmt_text)
{
	ObjectAddresses *objects = new_object_addresses();
	Oid			relids[2];
	int			found = 0;
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(row->name);

	relids[0] = TsRelid(row->schema_name, row->view_name);
	relids[1] = TsRelid(row->schema_name, row->spine_table);
	for (int i = 0; i < 2; i++)
	{
		ObjectAddress obj;

		/* a relation made since under the same name is not the set's */
		if (!OidIsValid(relids[i]) ||
			get_rel_relkind(relids[i]) != (i == 0 ? RELKIND_VIEW : RELKIND_RELATION))
			continue;
		ObjectAddressSet(obj, RelationRelationId, relids[i]);
		add_exact_object_address(&obj, objects);
		found++;
	}
	if (found > 0)
		performMultipleDeletions(objects, cascade ? DROP_CASCADE : DROP_RESTRICT, 0);
	if (found < 2)
		ereport(NOTICE,
				(errmsg("the view or the spine table of training set \"%s\" was already gone",
						row->name)));
	free_object_addresses(objects);
	RegSpi("DELETE FROM featstore.training_sets WHERE name = $1", 1, &argtype, &arg, NULL, true);
	RecordHistory("DROP TRAINING SET", "training set", row->name, stmt_text);
}

/* RegistryDropTrainingSet is DROP TRAINING SET */
FsResult *
RegistryDropTrainingSet(const char *name, bool missing_ok, bool cascade, const char *stmt_text)
{
	TsRow		row;

	SPI_connect();
	RegistryLock();
	if (!TsLoad(name, &row))
		return SkipOrReportMissing("DROP TRAINING SET", "training set", name, missing_ok);
	TsCheckOwner(&row);
	TsDropInternal(&row, cascade, stmt_text);
	SPI_finish();
	return MakeResult("DROP TRAINING SET", "training set", name, NULL);
}

/*
 * RegistryDropTrainingSetsOf refuses to drop a group whose features a
 * training set uses, naming the sets, or with cascade drops them first
 * (SPI connected, lock held).  A set's rows come from the group's table,
 * so the set cannot outlive it.
 */
void
RegistryDropTrainingSetsOf(const FsGroup *group, bool cascade, const char *stmt_text,
						   StringInfo detail)
{
	List	   *sets;
	ListCell   *lc;

	sets = RegNames("SELECT DISTINCT training_set FROM featstore.training_set_features "
					"WHERE group_name = $1 ORDER BY 1", group->name);
	if (sets == NIL)
		return;
	if (!cascade)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop feature group \"%s\" because training sets use its features",
						group->name),
				 errdetail("Used by %s.", DescribeNames("training set", sets)),
				 errhint("Drop those training sets first (DROP TRAINING SET %s), or use DROP FEATURE GROUP %s CASCADE to drop them too.",
						 quote_identifier(linitial(sets)), quote_identifier(group->name))));
	foreach(lc, sets)
	{
		TsRow		row;

		if (!TsLoad(lfirst(lc), &row))
			continue;
		ereport(NOTICE,
				(errmsg("drop cascades to training set \"%s\"", row.name)));
		TsDropInternal(&row, true, stmt_text);
	}
	appendStringInfo(detail, "%sdropped %d training set%s", detail->len ? "; " : "",
					 list_length(sets), list_length(sets) == 1 ? "" : "s");
}

/*
 * RegistryTrainingSetsUsing names the training sets that use a feature, as
 * "training set "a" uses it", or returns NULL if none does (SPI connected).
 */
char *
RegistryTrainingSetsUsing(const FsGroup *group, const FsFeature *feature)
{
	List	   *sets = TsNames("SELECT training_set FROM featstore.training_set_features "
							   "WHERE group_name = $1 AND feature_name = $2::pg_catalog.name ORDER BY 1",
							   group->name, feature->name);

	if (sets == NIL)
		return NULL;
	return psprintf("%s use%s it", DescribeNames("training set", sets),
					list_length(sets) == 1 ? "s" : "");
}

/*
 * RegistryWarnFeatureUsers is DEPRECATE FEATURE's warning: the services and
 * training sets that use the feature (SPI connected, before the feature is
 * marked).  Deprecating is allowed: services taking group.* stop serving
 * the feature, services naming it keep it, and training sets keep their
 * rows.
 */
void
RegistryWarnFeatureUsers(const FsGroup *group, const FsFeature *feature)
{
	List	   *services = TsNames("SELECT DISTINCT service_name FROM featstore.service_features "
								   "WHERE group_name = $1 AND feature_name = $2::pg_catalog.name ORDER BY 1",
								   group->name, feature->name);
	List	   *sets = TsNames("SELECT training_set FROM featstore.training_set_features "
							   "WHERE group_name = $1 AND feature_name = $2::pg_catalog.name ORDER BY 1",
							   group->name, feature->name);
	char	   *users;

	if (services == NIL && sets == NIL)
		return;
	users = services == NIL ? DescribeNames("training set", sets) :
		sets == NIL ? DescribeNames("feature service", services) :
		psprintf("%s, %s", DescribeNames("feature service", services),
				 DescribeNames("training set", sets));
	ereport(WARNING,
			(errmsg("deprecated feature \"%s.%s\" is used by %s", group->name, feature->name, users),
			 errdetail("Services that take %s.* no longer include it, services that name it keep it, and training sets keep their rows.",
					   group->name),
			 errhint("Move the models to the feature that replaces it; SELECT * FROM featstore.lineage WHERE qualified_name = %s lists what uses it.",
					 quote_literal_cstr(psprintf("%s.%s", group->name, feature->name)))));
}

/*
 * RegistryCheckServiceCollision refuses ADD FEATURE when a service takes
 * the group's every feature (group.*) and also another group's feature of
 * the new feature's name: the service would then hold two features of one
 * name, and every pit_join of it would fail (SPI connected).
 */
void
RegistryCheckServiceCollision(const FsGroup *group, const char *feature)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(group->name), CStringGetTextDatum(feature)};
	char	   *service;
	char	   *other;
	char	   *list;

	RegSpi("SELECT m.service_name, sf.group_name, "
		   "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.group_name) OPERATOR(pg_catalog.||) '.' "
		   "OPERATOR(pg_catalog.||) pg_catalog.quote_ident(a.feature_name), ', ' ORDER BY a.position) "
		   "FROM featstore.service_features a WHERE a.service_name = m.service_name) "
		   "FROM featstore.feature_service_members m "
		   "JOIN featstore.service_features sf ON sf.service_name = m.service_name "
		   "AND sf.feature_name = $2::pg_catalog.name AND sf.group_name <> $1 "
		   "WHERE m.group_name = $1 AND m.feature_name IS NULL "
		   "ORDER BY 1, 2 LIMIT 1", 2, types, values, NULL, true);
	if (SPI_processed == 0)
		return;
	service = RegGetText(0, 1);
	other = RegGetText(0, 2);
	list = RegGetText(0, 3);
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_COLUMN),
			 errmsg("adding feature \"%s\" to feature group \"%s\" would give feature service \"%s\" two features named \"%s\"",
					feature, group->name, service, feature),
			 errdetail("Service \"%s\" takes every feature of \"%s\" (%s.*) and also feature \"%s\" of feature group \"%s\".",
					   service, group->name, group->name, feature, other),
			 errhint("Give the new feature another name, or list the service's features instead of %s.*: CREATE OR REPLACE FEATURE SERVICE %s FEATURES (%s); pit_join(..., qualified => true) names its columns group__feature.",
					 group->name, quote_identifier(service), list ? list : "...")));
}

/* TsNames runs a registry query with a group and a feature and returns its first column */
static List *
TsNames(const char *sql, const char *group, const char *feature)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(group), CStringGetTextDatum(feature)};
	List	   *names = NIL;

	RegSpi(sql, 2, types, values, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
		names = lappend(names, RegGetText(i, 1));
	return names;
}

/*
 * featstore_create_training_set: create_training_set(name, service, spine,
 * as_of, strict, description, owner, tags, schema_name), CREATE TRAINING
 * SET as a function; returns the set's view
 */
Datum
featstore_create_training_set(PG_FUNCTION_ARGS)
{
	FsTrainingSetDef *def = palloc0(sizeof(FsTrainingSetDef));

	FeatstoreRequireEditor();
	def->name = TsArgText(fcinfo, 0, "name");
	def->service_name = TsArgText(fcinfo, 1, "service");
	def->spine = TsArgText(fcinfo, 2, "spine");
	def->as_of_given = !PG_ARGISNULL(3);
	def->as_of = def->as_of_given ? PG_GETARG_TIMESTAMPTZ(3) : 0;
	def->strict = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	def->description = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	def->owner = PG_ARGISNULL(6) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(6));
	if (!PG_ARGISNULL(7))
	{
		Datum	   *elems;
		bool	   *elem_nulls;
		int			n;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(7), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &elem_nulls, &n);
		for (int i = 0; i < n; i++)
		{
			if (elem_nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("tags of training set \"%s\" must not contain NULL", def->name)));
			def->tags = lappend(def->tags, TextDatumGetCString(elems[i]));
		}
	}
	def->schema_name = PG_ARGISNULL(8) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(8)));
	def->location = def->service_location = def->spine_location = def->as_of_location = -1;
	RegistryCreateTrainingSet(def, NULL);
	PG_RETURN_OID(def->view_relid);
}

/* featstore_drop_training_set: drop_training_set(name, if_exists, cascade) */
Datum
featstore_drop_training_set(PG_FUNCTION_ARGS)
{
	FeatstoreRequireEditor();
	RegistryDropTrainingSet(TsArgText(fcinfo, 0, "name"),
							!PG_ARGISNULL(1) && PG_GETARG_BOOL(1),
							!PG_ARGISNULL(2) && PG_GETARG_BOOL(2), NULL);
	PG_RETURN_VOID();
}

/*
 * featstore_verify_training_set: verify_training_set(name) recomputes the
 * set's checksums from its view and spine table, as the caller, and
 * compares them with those recorded at creation.
 */
Datum
featstore_verify_training_set(PG_FUNCTION_ARGS)
{
	char	   *name = TsArgText(fcinfo, 0, "name");
	MemoryContext callercxt = CurrentMemoryContext;
	TupleDesc	tupdesc;
	TsRow		row;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	int64		rows_now;
	int64		spine_rows;
	char	   *now;
	char	   *spine_now;
	HeapTuple	tuple;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "featstore: verify_training_set must return a row");
	tupdesc = BlessTupleDesc(tupdesc);
	SPI_connect();
	if (!TsLoad(name, &row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("training set \"%s\" does not exist", name),
				 errhint("See SELECT name FROM featstore.training_sets.")));
	if (!OidIsValid(TsRelid(row.schema_name, row.view_name)) ||
		!OidIsValid(TsRelid(row.schema_name, row.spine_table)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the view or the spine table of training set \"%s\" does not exist", name),
				 errdetail("They were %s and %s.",
						   quote_qualified_identifier(row.schema_name, row.view_name),
						   quote_qualified_identifier(row.schema_name, row.spine_table)),
				 errhint("Its rows cannot be reproduced without them: drop it with DROP TRAINING SET %s.",
						 quote_identifier(name))));
	now = TsChecksum(quote_qualified_identifier(row.schema_name, row.view_name), &rows_now);
	spine_now = TsChecksum(quote_qualified_identifier(row.schema_name, row.spine_table), &spine_rows);

	values[0] = CStringGetTextDatum(row.name);
	values[1] = DirectFunctionCall1(int8in, CStringGetDatum(row.row_count));
	values[2] = Int64GetDatum(rows_now);
	values[3] = CStringGetTextDatum(row.checksum);
	values[4] = CStringGetTextDatum(now);
	values[5] = BoolGetDatum(strcmp(spine_now, row.spine_checksum) == 0);
	values[6] = BoolGetDatum(strcmp(now, row.checksum) == 0 &&
							 strcmp(spine_now, row.spine_checksum) == 0);
	/* the tuple must outlive SPI's memory */
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(callercxt);

		tuple = heap_form_tuple(tupdesc, values, nulls);
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

/* TsArgText returns a required text argument, refusing NULL with a message naming it */
static char *
TsArgText(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("training set %s must not be NULL", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * TsUtc writes an instant in UTC ISO form, as pit_join_sql writes as_of:
 * what featstore records and reports must not depend on the session's
 * TimeZone or DateStyle.
 */
static char *
TsUtc(TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		buf[MAXDATELEN + 1];

	if (TIMESTAMP_NOT_FINITE(t) || timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		return pstrdup(timestamptz_to_str(t));
	/* with no time zone, EncodeDateTime prints none: say UTC ourselves */
	EncodeDateTime(&tm, fsec, false, 0, NULL, USE_ISO_DATES, buf);
	return psprintf("%s+00", buf);
}
