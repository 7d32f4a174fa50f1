/*
 * featstore.c
 *		Module entry point and helpers to find the extension's own objects.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "featstore.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

#define FS_MAX_GROUP_CALLBACKS 8

static FsGroupChangeCallback group_callbacks[FS_MAX_GROUP_CALLBACKS];
static int	n_group_callbacks = 0;

/* _PG_init sets up every subsystem when the library is loaded */
void
_PG_init(void)
{
	DdlLangInit();
	PitInit();
	OnlineInit();
}

/* FeatstoreExtensionOwner returns the role that owns the featstore extension */
Oid
FeatstoreExtensionOwner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			owner = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("featstore"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"featstore\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION featstore.")));
	return owner;
}

/* FeatstoreSchemaOid returns the OID of the featstore schema */
Oid
FeatstoreSchemaOid(bool missing_ok)
{
	return get_namespace_oid(FEATSTORE_SCHEMA, missing_ok);
}

/*
 * FeatstoreBeginRegistryWrite switches to the extension owner for writes to
 * the registry tables.
 *
 * Ordinary roles may not touch the registry directly; they change it only
 * through featstore statements, which validate everything as the caller and
 * then record the result as the owner.  The restricted-operation flag keeps
 * user-defined code from running with the owner's rights meanwhile.
 */
void
FeatstoreBeginRegistryWrite(Oid *save_userid, int *save_sec_context)
{
	Oid			owner = FeatstoreExtensionOwner();

	GetUserIdAndSecContext(save_userid, save_sec_context);
	SetUserIdAndSecContext(owner,
						   *save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/* FeatstoreEndRegistryWrite returns to the caller's identity */
void
FeatstoreEndRegistryWrite(Oid save_userid, int save_sec_context)
{
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

/* RegisterGroupChangeCallback adds a subsystem's registry-change callback */
void
RegisterGroupChangeCallback(FsGroupChangeCallback callback)
{
	if (n_group_callbacks >= FS_MAX_GROUP_CALLBACKS)
		elog(ERROR, "too many featstore group change callbacks");
	group_callbacks[n_group_callbacks++] = callback;
}

/* FireGroupChange tells every subsystem about a feature-group change */
void
FireGroupChange(FsGroupEvent event, const FsGroup *group)
{
	for (int i = 0; i < n_group_callbacks; i++)
		group_callbacks[i] (event, group);
}
