/*
 * registry_resolve.c
 *		Resolving the features a caller names (groups, group.feature,
 *		services) to the registry's groups and features, with SQL
 *		identifier rules, for the point-in-time join.
 *
 * pit_join_sql (src/sql/30_pit.sql) calls featstore.resolve_features(), so
 * a name means the same in pit_join() as in a featstore statement: a quoted
 * group or feature name may contain dots, spaces or capitals.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"

#include "featstore.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

PG_FUNCTION_INFO_V1(featstore_resolve_features);

static FsFeatureRef *ParseFeatureName(const char *item, bool bare_ok);
static List *ResolveService(const char *service);
static List *ResolveItem(const FsFeatureRef *ref);
static List *ResolveGroupFeatures(FsGroup *group, List *result);
static FsResolvedFeature *MakeResolved(FsGroup *group, FsFeature *feature);
static bool ServiceExists(const char *name);
static char *FeatureNames(const FsGroup *group);
static void KeyArrays(const FsGroup *group, Datum *names, Datum *types);

/*
 * ParseFeatureName splits "group.feature" or "group.*" (or, with bare_ok,
 * "group") with SQL identifier rules: double quotes keep case and dots.
 * Statements, the registry functions and pit_join() all split names here,
 * so a name means the same wherever it is written.
 */
static FsFeatureRef *
ParseFeatureName(const char *item, bool bare_ok)
{
	char	   *copy = pstrdup(item);
	List	   *parts;
	FsFeatureRef *result;

	if (!SplitIdentifierString(copy, '.', &parts) ||
		list_length(parts) > 2 || list_length(parts) < (bare_ok ? 1 : 2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid feature reference \"%s\"", item),
				 bare_ok ?
				 errhint("Write group, group.feature or group.*, with double quotes around a name that has dots, spaces or capitals.") :
				 errhint("Write group.feature or group.*.")));
	result = palloc0(sizeof(FsFeatureRef));
	result->group_name = pstrdup(linitial(parts));
	if (list_length(parts) == 2 && strcmp(lsecond(parts), "*") != 0)
		result->feature_name = pstrdup(lsecond(parts));
	result->location = -1;
	return result;
}

/*
 * RegistryParseFeatureItem splits a requested feature, "group",
 * "group.feature" or "group.*".  A bare group, or group.*, means its
 * active features.
 */
FsFeatureRef *
RegistryParseFeatureItem(const char *item)
{
	return ParseFeatureName(item, true);
}

/*
 * RegistryParseFeatureRef splits a service member, "group.feature" or
 * "group.*"
 */
FsFeatureRef *
RegistryParseFeatureRef(const char *ref)
{
	return ParseFeatureName(ref, false);
}

/*
 * RegistryResolveFeatures returns the features of a service (if service is
 * not NULL) followed by those named in items (of FsFeatureRef *), in
 * order, as FsResolvedFeature *.  A feature named twice appears twice.
 */
List *
RegistryResolveFeatures(List *items, const char *service)
{
	List	   *result = NIL;
	ListCell   *lc;

	if (service != NULL)
		result = ResolveService(service);
	foreach(lc, items)
		result = list_concat(result, ResolveItem(lfirst(lc)));
	return result;
}

/*
 * ResolveService returns a service's features: each named member, and the
 * active features of each whole-group member, in member order.
 */
static List *
ResolveService(const char *service)
{
	MemoryContext callercxt = CurrentMemoryContext;
	Datum		arg = CStringGetTextDatum(service);
	Oid			argtype = TEXTOID;
	List	   *members = NIL;
	List	   *result = NIL;
	ListCell   *lc;

	if (!ServiceExists(service))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature service \"%s\" does not exist", service),
				 errhint("See SELECT name FROM featstore.feature_services.")));
	SPI_connect();
	RegSpi("SELECT group_name, feature_name::pg_catalog.text "
		   "FROM featstore.feature_service_members WHERE service_name = $1 ORDER BY position",
		   1, &argtype, &arg, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(callercxt);
		FsFeatureRef *ref = palloc0(sizeof(FsFeatureRef));

		ref->group_name = RegGetText(i, 1);
		ref->feature_name = RegGetText(i, 2);
		members = lappend(members, ref);
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();
	foreach(lc, members)
		result = list_concat(result, ResolveItem(lfirst(lc)));
	return result;
}

/*
 * ResolveItem returns the features one reference names: a group's active
 * features, or one feature of any status.
 */
static List *
ResolveItem(const FsFeatureRef *ref)
{
	FsGroup    *group = RegistryLookupGroup(ref->group_name, true);
	ListCell   *lc;

	if (group == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature group \"%s\" does not exist", ref->group_name),
				 (ref->feature_name == NULL && ServiceExists(ref->group_name)) ?
				 errhint("\"%s\" is a feature service: pass service => %s.",
						 ref->group_name, quote_literal_cstr(ref->group_name)) :
				 errhint("Name a group, or group.feature; see SELECT * FROM featstore.catalog.")));
	if (ref->feature_name == NULL)
		return ResolveGroupFeatures(group, NIL);
	foreach(lc, group->features)
	{
		FsFeature  *f = lfirst(lc);

		if (strcmp(f->name, ref->feature_name) == 0)
			return list_make1(MakeResolved(group, f));
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("feature \"%s\" does not exist in feature group \"%s\"",
					ref->feature_name, ref->group_name),
			 errhint("Features of \"%s\": %s.", ref->group_name, FeatureNames(group))));
	return NIL;					/* keep compiler quiet */
}

/* ResolveGroupFeatures appends a group's active features to result */
static List *
ResolveGroupFeatures(FsGroup *group, List *result)
{
	ListCell   *lc;

	foreach(lc, group->features)
	{
		FsFeature  *f = lfirst(lc);

		if (!f->deprecated)
			result = lappend(result, MakeResolved(group, f));
	}
	return result;
}

/* MakeResolved pairs a feature with its group */
static FsResolvedFeature *
MakeResolved(FsGroup *group, FsFeature *feature)
{
	FsResolvedFeature *r = palloc(sizeof(FsResolvedFeature));

	r->group = group;
	r->feature = feature;
	return r;
}

/* ServiceExists says whether a feature service of that name is defined */
static bool
ServiceExists(const char *name)
{
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;
	bool		found;

	SPI_connect();
	RegSpi("SELECT 1 FROM featstore.feature_services WHERE name = $1",
		   1, &argtype, &arg, NULL, true);
	found = SPI_processed > 0;
	SPI_finish();
	return found;
}

/* FeatureNames lists a group's features, of any status, for hints */
static char *
FeatureNames(const FsGroup *group)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, group->features)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
						 ((FsFeature *) lfirst(lc))->name);
	return buf.data;
}

/*
 * KeyArrays returns the group's entity key columns, in key order, as a
 * name[] and their types as a regtype[]: what a join of the group on a
 * spine matches and checks.
 */
static void
KeyArrays(const FsGroup *group, Datum *names, Datum *types)
{
	int			nkeys = list_length(group->keys);
	Datum	   *name_elems = palloc(sizeof(Datum) * nkeys);
	Datum	   *type_elems = palloc(sizeof(Datum) * nkeys);
	int			i = 0;
	ListCell   *lc;

	foreach(lc, group->keys)
	{
		FsKeyColumn *k = lfirst(lc);

		name_elems[i] = DirectFunctionCall1(namein, CStringGetDatum(k->name));
		type_elems[i] = ObjectIdGetDatum(k->typid);
		i++;
	}
	*names = PointerGetDatum(construct_array(name_elems, nkeys, NAMEOID, NAMEDATALEN,
											 false, TYPALIGN_CHAR));
	*types = PointerGetDatum(construct_array(type_elems, nkeys, REGTYPEOID, sizeof(Oid),
											 true, TYPALIGN_INT));
}

/*
 * featstore_resolve_features is featstore.resolve_features(features,
 * service): one row per resolved feature, with what the point-in-time join
 * needs of its group.
 */
Datum
featstore_resolve_features(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *items = NIL;
	List	   *resolved;
	ListCell   *lc;

	if (!PG_ARGISNULL(0))
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &n);
		for (int i = 0; i < n; i++)
		{
			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("feature reference must not be null"),
						 errhint("Write group, group.feature or group.*.")));
			items = lappend(items, RegistryParseFeatureItem(TextDatumGetCString(elems[i])));
		}
	}
	resolved = RegistryResolveFeatures(items,
									   PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1)));
	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, resolved)
	{
		FsResolvedFeature *r = lfirst(lc);
		Datum		values[8];
		bool		nulls[8] = {false, false, false, false, false, false, false, false};

		values[0] = CStringGetTextDatum(r->group->name);
		values[1] = CStringGetTextDatum(r->feature->name);
		values[2] = DirectFunctionCall1(namein, CStringGetDatum(r->group->schema_name));
		values[3] = DirectFunctionCall1(namein, CStringGetDatum(r->group->table_name));
		values[4] = CStringGetTextDatum(r->group->entity_name);
		values[5] = IntervalPGetDatum(&r->group->ttl);
		nulls[5] = !r->group->has_ttl;
		KeyArrays(r->group, &values[6], &values[7]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
