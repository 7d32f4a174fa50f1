/*
 * registry_pii.c
 *		The PII tag of features (issue 12): recorded in featstore.features.pii
 *		by CREATE FEATURE GROUP / ADD FEATURE (... PII), changed by ALTER
 *		FEATURE ... SET PII / DROP PII and featstore.set_feature_pii(), and
 *		listed for the read paths that mask it (src/pii/pii.c).
 *
 * A change invalidates the group relation's cached plans: the point-in-time
 * join decides at plan time which of its columns are PII (which a later tag
 * must change) and at executor start whether the caller sees them.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "extension.h"
#include "featstore.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

PG_FUNCTION_INFO_V1(featstore_set_feature_pii);

/*
 * PiiColumnExists says whether featstore.features has its pii column: a
 * library newer than the installed schema (before ALTER EXTENSION UPDATE)
 * finds none, and then no feature is tagged.
 */
static bool
PiiColumnExists(void)
{
	Oid			nsp = FeatstoreSchemaOid(true);
	Oid			relid;

	if (!OidIsValid(nsp))
		return false;
	relid = get_relname_relid("features", nsp);
	return OidIsValid(relid) && get_attnum(relid, "pii") != InvalidAttrNumber;
}

/* RequirePiiColumn refuses to tag a feature in a schema without the tag */
static void
RequirePiiColumn(void)
{
	if (!PiiColumnExists())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the installed featstore schema has no PII tag"),
				 errhint("Run ALTER EXTENSION featstore UPDATE.")));
}

/*
 * RegistryPiiFeatures returns the names of a group's features tagged PII,
 * in position order, allocated in the caller's context; NIL when there
 * are none.  The registry is read as the extension owner, so a caller
 * without featstore_reader still has its PII masked.
 */
List *
RegistryPiiFeatures(const char *group_name)
{
	MemoryContext callercxt = CurrentMemoryContext;
	Datum		arg;
	Oid			argtype = TEXTOID;
	List	   *names = NIL;

	if (group_name == NULL || !PiiColumnExists())
		return NIL;
	arg = CStringGetTextDatum(group_name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	RegSpi("SELECT name::text FROM featstore.features "
		   "WHERE group_name = $1 AND pii ORDER BY position",
		   1, &argtype, &arg, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = RegGetText((int) i, 1);

		if (name != NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(callercxt);

			/* the list and its names outlive SPI_finish */
			names = lappend(names, pstrdup(name));
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	return names;
}

/*
 * RegistryStoreFeaturePii tags a feature just inserted (CREATE FEATURE
 * GROUP, ADD FEATURE) as PII, as the extension owner (SPI connected).
 */
void
RegistryStoreFeaturePii(const char *group_name, const FsFeatureDef *fd)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];

	RequirePiiColumn();
	values[0] = CStringGetTextDatum(group_name);
	values[1] = CStringGetTextDatum(fd->name);
	RegSpi("UPDATE featstore.features SET pii = true "
		   "WHERE group_name = $1 AND name = $2::name", 2, types, values, NULL, true);
}

/*
 * RegistryAlterFeaturePii is ALTER FEATURE ... SET PII (pii true) and DROP
 * PII (false).  Setting what is already set is an error, so that a script
 * that believes it tags a feature learns it did nothing.
 */
void
RegistryAlterFeaturePii(FsGroup *group, FsFeature *target, bool pii, StringInfo detail)
{
	Oid			types[3] = {TEXTOID, TEXTOID, BOOLOID};
	Datum		values[3];
	bool		was;
	ListCell   *lc;

	RequirePiiColumn();
	values[0] = CStringGetTextDatum(group->name);
	values[1] = CStringGetTextDatum(target->name);
	values[2] = BoolGetDatum(pii);
	was = false;
	foreach(lc, RegistryPiiFeatures(group->name))
		was = was || strcmp((char *) lfirst(lc), target->name) == 0;
	if (was == pii)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 pii ?
				 errmsg("feature \"%s\" of feature group \"%s\" is already PII",
						target->name, group->name) :
				 errmsg("feature \"%s\" of feature group \"%s\" is not PII",
						target->name, group->name),
				 errhint("SELECT feature_name, pii FROM featstore.catalog WHERE group_name = %s shows the tags.",
						 quote_literal_cstr(group->name))));
	RegSpi("UPDATE featstore.features SET pii = $3 "
		   "WHERE group_name = $1 AND name = $2::name", 3, types, values, NULL, true);

	/*
	 * A categorical feature's stored top values are its values: a feature
	 * tagged PII keeps none (monitoring stores none for it from now on).
	 * DROP PII restores nothing; the next statistics run stores them again.
	 */
	if (pii)
		RegSpi("UPDATE featstore.feature_stats SET top_values = NULL, top_counts = NULL, "
			   "other_count = NULL WHERE group_name = $1 AND feature_name = $2::name "
			   "AND (top_values IS NOT NULL OR top_counts IS NOT NULL OR other_count IS NOT NULL)",
			   2, types, values, NULL, true);

	/* plans that read the group decided its PII columns when planned */
	if (OidIsValid(group->relid))
		CacheInvalidateRelcacheByRelid(group->relid);
	appendStringInfo(detail, "%s%s feature %s", detail->len ? ", " : "",
					 pii ? "set PII on" : "dropped PII of", quote_identifier(target->name));
}

/* featstore_set_feature_pii: set_feature_pii(group_name, feature_name, pii) */
Datum
featstore_set_feature_pii(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("group_name, feature_name and pii must not be NULL"),
				 errhint("Pass pii => true to tag the feature as PII, false to remove the tag.")));
	act->kind = FS_ALTER_FEATURE_PII;
	act->feature = palloc0(sizeof(FsFeatureDef));
	act->feature->name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	act->feature->location = -1;
	act->bool_value = PG_GETARG_BOOL(2);
	act->location = -1;
	RegistryAlterGroup(text_to_cstring(PG_GETARG_TEXT_PP(0)), list_make1(act), -1, NULL);
	PG_RETURN_VOID();
}
