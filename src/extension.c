/*
 * extension.c
 *		The extension's identity: its owner, schema and installed version,
 *		and the restricted sections in which featstore works as the owner of
 *		the registry or of a group's table.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_language.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "commands/proclang.h"
#include "access/xact.h"
#include "access/transam.h"
#include "nodes/primnodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "extension.h"

static void FeatstoreRegistryWriteAbort(XactEvent event, void *arg);
static void FeatstoreRegistryWriteSubAbort(SubXactEvent event, SubTransactionId mySubid,
										   SubTransactionId parentSubid, void *arg);

/* ExtensionInit forgets open restricted sections when a transaction aborts */
void
ExtensionInit(void)
{
	RegisterXactCallback(FeatstoreRegistryWriteAbort, NULL);
	RegisterSubXactCallback(FeatstoreRegistryWriteSubAbort, NULL);
}

/*
 * ReadExtensionRow reads featstore's pg_extension row: its owner and its
 * installed version (palloc'd); false if the extension is not installed.
 */
static bool
ReadExtensionRow(Oid *owner, char **version)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("featstore"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		v = heap_getattr(tup, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		found = true;
		*owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
		*version = isnull ? NULL : TextDatumGetCString(v);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* FeatstoreExtensionOwner returns the role that owns the extension */
Oid
FeatstoreExtensionOwner(void)
{
	Oid			owner;
	char	   *version;

	if (!ReadExtensionRow(&owner, &version))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"featstore\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION featstore.")));
	return owner;
}

/*
 * FeatstoreInstalledVersion returns the version of featstore installed in
 * this database (NULL if none); it differs from FEATSTORE_VERSION, the
 * library's, between installing a new build and ALTER EXTENSION UPDATE.
 */
char *
FeatstoreInstalledVersion(void)
{
	Oid			owner;
	char	   *version = NULL;

	if (!ReadExtensionRow(&owner, &version))
		return NULL;
	return version;
}

/*
 * FeatstoreRequireCurrentSchema refuses to go on when the installed
 * featstore objects are of another version than the library: code that
 * relies on this version's tables would fail with a less helpful error.
 */
void
FeatstoreRequireCurrentSchema(void)
{
	char	   *installed = FeatstoreInstalledVersion();

	if (installed != NULL && strcmp(installed, FEATSTORE_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("featstore %s is installed in this database, but the loaded library is %s",
						installed, FEATSTORE_VERSION),
				 errhint("Run ALTER EXTENSION featstore UPDATE.")));
}

/* FeatstoreSchemaOid returns the OID of the featstore schema */
Oid
FeatstoreSchemaOid(bool missing_ok)
{
	return get_namespace_oid(FEATSTORE_SCHEMA, missing_ok);
}

/*
 * Nesting of restricted sections (registry writes, reads as a table's
 * owner): each saves a GUC nest level so that its search_path override is
 * undone when it ends.
 */
#define FS_MAX_WRITE_DEPTH 16
static int	write_guc_levels[FS_MAX_WRITE_DEPTH];
static int	write_depth = 0;

/*
 * FeatstoreWorkerYieldLocks makes a featstore background worker the side
 * that gives way when its locks deadlock with a session's: DROP EXTENSION
 * drops the registry's tables one by one while a worker reads one and
 * writes another, and other DDL can meet a worker the same way.  The
 * deadlock detector runs in the waiter whose deadlock_timeout passes first
 * and cancels that waiter's transaction, so a worker that checks after
 * 100 ms (sessions check after 1 s by default) is the one cancelled; it
 * retries its work later, and the user's statement goes through.
 */
void
FeatstoreWorkerYieldLocks(void)
{
	SetConfigOption("deadlock_timeout", "100ms", PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * FeatstorePinSearchPath sets search_path to pg_catalog, pg_temp until the
 * returned GUC nest level is closed with AtEOXact_GUC(true, level), or the
 * transaction aborts: names in featstore's own SQL and in its messages then
 * mean the same in every session.
 */
int
FeatstorePinSearchPath(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/*
 * BeginRestrictedAs switches to role for work featstore does on the
 * caller's behalf: search_path pinned to pg_catalog, pg_temp for the
 * section (NewGUCNestLevel, undone by EndRestricted or by an abort) and the
 * restricted-operation flag set, as REFRESH MATERIALIZED VIEW and CREATE
 * INDEX do around the user code they run.
 */
static void
BeginRestrictedAs(Oid role, Oid *save_userid, int *save_sec_context)
{
	if (write_depth >= FS_MAX_WRITE_DEPTH)
		elog(ERROR, "featstore restricted sections nested too deeply");
	write_guc_levels[write_depth++] = FeatstorePinSearchPath();
	GetUserIdAndSecContext(save_userid, save_sec_context);
	SetUserIdAndSecContext(role,
						   *save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/* EndRestricted returns to the identity and search_path saved by BeginRestrictedAs */
static void
EndRestricted(Oid save_userid, int save_sec_context)
{
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (write_depth > 0)
		AtEOXact_GUC(true, write_guc_levels[--write_depth]);
}

/*
 * FeatstoreBeginRegistryWrite switches to the extension owner for work on
 * extension-owned tables.
 *
 * Ordinary roles may not touch the registry directly; they change it only
 * through featstore statements, which validate everything as the caller and
 * then record the result as the owner.  The owner's queries must not resolve
 * anything through the caller's search_path (a caller could otherwise plant
 * an operator or function that would run with the owner's rights), so
 * search_path is pinned to pg_catalog for the duration, and the
 * restricted-operation flag blocks the remaining ways to run user code.
 */
void
FeatstoreBeginRegistryWrite(Oid *save_userid, int *save_sec_context)
{
	BeginRestrictedAs(FeatstoreExtensionOwner(), save_userid, save_sec_context);
}

/* FeatstoreEndRegistryWrite returns to the caller's identity and search_path */
void
FeatstoreEndRegistryWrite(Oid save_userid, int save_sec_context)
{
	EndRestricted(save_userid, save_sec_context);
}

/*
 * FeatstoreBeginAsTableOwner switches to the owner of relation relid, as
 * found in pg_class now, for a read of a group's history table.
 *
 * The table's owner controls what reading it executes: column types and
 * their casts, operator classes of its indexes, rules.  featstore reads it
 * from backends of other roles and from the worker, which holds superuser
 * rights, so the read must run with no more rights than the owner has:
 * that is the rule PostgreSQL follows itself for ANALYZE, CREATE INDEX and
 * REFRESH MATERIALIZED VIEW.  Work on featstore's own tables (the queue,
 * the registry) stays outside the section.
 */
void
FeatstoreBeginAsTableOwner(Oid relid, Oid *save_userid, int *save_sec_context)
{
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	BeginRestrictedAs(owner, save_userid, save_sec_context);
}

/* FeatstoreEndAsTableOwner returns to the identity saved by FeatstoreBeginAsTableOwner */
void
FeatstoreEndAsTableOwner(Oid save_userid, int save_sec_context)
{
	EndRestricted(save_userid, save_sec_context);
}

/* FeatstoreRegistryWriteAbort forgets open write sections when a transaction aborts */
static void
FeatstoreRegistryWriteAbort(XactEvent event, void *arg)
{
	/* transaction abort already undid the GUC changes and the user id */
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		write_depth = 0;
}

/* FeatstoreRegistryWriteSubAbort does the same for a subtransaction abort */
static void
FeatstoreRegistryWriteSubAbort(SubXactEvent event, SubTransactionId mySubid,
							   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && write_depth > 0)
	{
		/* the abort unwound every GUC level above the parent's: find it */
		int			next = NewGUCNestLevel();

		AtEOXact_GUC(true, next);
		while (write_depth > 0 && write_guc_levels[write_depth - 1] >= next)
			write_depth--;
	}
}

/*
 * FeatstoreRequireEditor is the privilege of record for running featstore
 * statements, whichever door they come through (DO LANGUAGE featstore,
 * featstore.exec(), the registry's SQL functions): USAGE on the featstore
 * language, which featstore_editor has.  featstore_reader may call exec()
 * and the registry functions so that this check, not PostgreSQL's plain
 * "permission denied for function", tells it which role it lacks.
 */
void
FeatstoreRequireEditor(void)
{
	Oid			langoid = get_language_oid("featstore", true);

	if (OidIsValid(langoid) &&
		pg_language_aclcheck(langoid, GetUserId(), ACL_USAGE) == ACLCHECK_OK)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for language featstore"),
			 errdetail("Running featstore statements takes the featstore_editor role (featstore_reader only browses the registry)."),
			 errhint("Ask an administrator to run: GRANT featstore_editor TO %s;",
					 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
}

/*
 * FeatstoreIsUserFunction is a check_functions_in_node callback: true for a
 * function created after initdb, whose OID it stores in *found (unless
 * found is NULL).  Built-in code is what featstore lets a definition or a
 * table's index run in another role's session; everything else could be a
 * hostile owner's.
 */
bool
FeatstoreIsUserFunction(Oid func_id, void *found)
{
	if (func_id < FirstNormalObjectId)
		return false;
	if (found)
		*(Oid *) found = func_id;
	return true;
}

/*
 * FeatstoreUserOperator returns the operator of an operator node when it
 * was created after initdb, else InvalidOid.  Checking its function
 * (FeatstoreIsUserFunction) is not enough to name it in a message.
 */
Oid
FeatstoreUserOperator(Node *node)
{
	Oid			op = InvalidOid;

	if (IsA(node, OpExpr) || IsA(node, DistinctExpr) || IsA(node, NullIfExpr))
		op = ((OpExpr *) node)->opno;
	else if (IsA(node, ScalarArrayOpExpr))
		op = ((ScalarArrayOpExpr *) node)->opno;
	return op >= FirstNormalObjectId ? op : InvalidOid;
}
