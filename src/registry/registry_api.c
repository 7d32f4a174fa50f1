/*
 * registry_api.c
 *		SQL-callable registry functions: the same operations as the
 *		featstore statements, for callers that prefer parameters to text.
 *
 * Each function only converts its arguments into the definitions of
 * registry.h and calls the registry, exactly like the statement language.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "featstore.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(featstore_create_entity);
PG_FUNCTION_INFO_V1(featstore_drop_entity);
PG_FUNCTION_INFO_V1(featstore_create_feature_group);
PG_FUNCTION_INFO_V1(featstore_add_feature);
PG_FUNCTION_INFO_V1(featstore_deprecate_feature);
PG_FUNCTION_INFO_V1(featstore_set_feature_description);
PG_FUNCTION_INFO_V1(featstore_set_ttl);
PG_FUNCTION_INFO_V1(featstore_set_online);
PG_FUNCTION_INFO_V1(featstore_set_retention);
PG_FUNCTION_INFO_V1(featstore_set_group_description);
PG_FUNCTION_INFO_V1(featstore_set_group_owner);
PG_FUNCTION_INFO_V1(featstore_set_group_tags);
PG_FUNCTION_INFO_V1(featstore_drop_feature_group);
PG_FUNCTION_INFO_V1(featstore_check_feature_group);
PG_FUNCTION_INFO_V1(featstore_create_feature_service);
PG_FUNCTION_INFO_V1(featstore_drop_feature_service);
PG_FUNCTION_INFO_V1(featstore_set_freshness);
PG_FUNCTION_INFO_V1(featstore_set_monitor_every);
PG_FUNCTION_INFO_V1(featstore_set_monitor_threshold);
PG_FUNCTION_INFO_V1(featstore_set_monitor_baseline);

static char *RequiredText(FunctionCallInfo fcinfo, int argno, const char *what);
static char *OptionalText(FunctionCallInfo fcinfo, int argno);
static List *TextArrayToList(FunctionCallInfo fcinfo, int argno, const char *what,
							 bool allow_null_elements);
static void AlterOne(FunctionCallInfo fcinfo, FsAlterAction *act);

/* featstore_create_entity: create_entity(name, key_columns, key_types, description, owner, if_not_exists) */
Datum
featstore_create_entity(PG_FUNCTION_ARGS)
{
	FsEntityDef *def = palloc0(sizeof(FsEntityDef));
	List	   *names = TextArrayToList(fcinfo, 1, "key_columns", false);
	List	   *types = TextArrayToList(fcinfo, 2, "key_types", false);
	ListCell   *lc1,
			   *lc2;

	FeatstoreRequireEditor();
	def->name = RequiredText(fcinfo, 0, "name");
	def->description = OptionalText(fcinfo, 3);
	def->owner = OptionalText(fcinfo, 4);
	def->if_not_exists = !PG_ARGISNULL(5) && PG_GETARG_BOOL(5);
	def->location = -1;
	if (list_length(names) != list_length(types))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key_columns and key_types of entity \"%s\" have different lengths", def->name),
				 errhint("Give one type per key column.")));
	forboth(lc1, names, lc2, types)
	{
		FsKeyDef   *key = palloc0(sizeof(FsKeyDef));

		key->name = lfirst(lc1);
		key->type_text = lfirst(lc2);
		key->location = -1;
		def->keys = lappend(def->keys, key);
	}
	RegistryCreateEntity(def, NULL);
	PG_RETURN_VOID();
}

/* featstore_drop_entity: drop_entity(name, if_exists, cascade) */
Datum
featstore_drop_entity(PG_FUNCTION_ARGS)
{
	FeatstoreRequireEditor();
	RegistryDropEntity(RequiredText(fcinfo, 0, "name"),
					   !PG_ARGISNULL(1) && PG_GETARG_BOOL(1),
					   !PG_ARGISNULL(2) && PG_GETARG_BOOL(2), NULL);
	PG_RETURN_VOID();
}

/*
 * featstore_create_feature_group: create_feature_group(name, entity,
 * feature_names, feature_types, feature_descriptions, ttl, online, tags,
 * owner, description, schema_name, if_not_exists)
 */
Datum
featstore_create_feature_group(PG_FUNCTION_ARGS)
{
	FsGroupDef *def = palloc0(sizeof(FsGroupDef));
	List	   *names = TextArrayToList(fcinfo, 2, "feature_names", false);
	List	   *types = TextArrayToList(fcinfo, 3, "feature_types", false);
	List	   *descs = PG_ARGISNULL(4) ? NIL : TextArrayToList(fcinfo, 4, "feature_descriptions", true);
	int			i = 0;
	ListCell   *lc1,
			   *lc2;

	FeatstoreRequireEditor();
	def->name = RequiredText(fcinfo, 0, "name");
	def->entity_name = RequiredText(fcinfo, 1, "entity");
	def->location = def->entity_location = def->ttl_location = def->schema_location = -1;
	if (list_length(names) != list_length(types) ||
		(descs != NIL && list_length(descs) != list_length(names)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature arrays of feature group \"%s\" have different lengths", def->name),
				 errhint("Give one type, and optionally one description, per feature name.")));
	forboth(lc1, names, lc2, types)
	{
		FsFeatureDef *f = palloc0(sizeof(FsFeatureDef));

		f->name = lfirst(lc1);
		f->type_text = lfirst(lc2);
		f->description = descs ? list_nth(descs, i) : NULL;
		f->location = f->type_location = -1;
		def->features = lappend(def->features, f);
		i++;
	}
	if (!PG_ARGISNULL(5))
	{
		def->has_ttl = true;
		def->ttl_text = DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(5)));
	}
	def->online = !PG_ARGISNULL(6) && PG_GETARG_BOOL(6);
	def->tags = PG_ARGISNULL(7) ? NIL : TextArrayToList(fcinfo, 7, "tags", false);
	def->owner = OptionalText(fcinfo, 8);
	def->description = OptionalText(fcinfo, 9);
	def->schema_name = PG_ARGISNULL(10) ? NULL : pstrdup(NameStr(*PG_GETARG_NAME(10)));
	def->if_not_exists = !PG_ARGISNULL(11) && PG_GETARG_BOOL(11);
	RegistryCreateGroup(def, NULL);
	PG_RETURN_VOID();
}

/* featstore_add_feature: add_feature(group_name, feature_name, feature_type, description, tags) */
Datum
featstore_add_feature(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	act->kind = FS_ALTER_ADD_FEATURE;
	act->feature = palloc0(sizeof(FsFeatureDef));
	act->feature->name = RequiredText(fcinfo, 1, "feature_name");
	act->feature->type_text = RequiredText(fcinfo, 2, "feature_type");
	act->feature->description = OptionalText(fcinfo, 3);
	act->feature->tags = PG_ARGISNULL(4) ? NIL : TextArrayToList(fcinfo, 4, "tags", false);
	act->feature->location = act->feature->type_location = -1;
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/* featstore_deprecate_feature: deprecate_feature(group_name, feature_name) */
Datum
featstore_deprecate_feature(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	act->kind = FS_ALTER_DEPRECATE_FEATURE;
	act->feature = palloc0(sizeof(FsFeatureDef));
	act->feature->name = RequiredText(fcinfo, 1, "feature_name");
	act->feature->location = -1;
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/* featstore_set_feature_description: set_feature_description(group_name, feature_name, description) */
Datum
featstore_set_feature_description(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	act->kind = FS_ALTER_FEATURE_DESCRIPTION;
	act->feature = palloc0(sizeof(FsFeatureDef));
	act->feature->name = RequiredText(fcinfo, 1, "feature_name");
	act->feature->location = -1;
	act->text_value = OptionalText(fcinfo, 2);
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/* featstore_set_ttl: set_ttl(group_name, ttl); a NULL ttl means values never expire */
Datum
featstore_set_ttl(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	act->kind = FS_ALTER_SET_TTL;
	if (!PG_ARGISNULL(1))
		act->text_value = DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(1)));
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/*
 * featstore_set_retention: set_retention(group_name, retention); a NULL
 * retention is DROP RETENTION (issue 14)
 */
Datum
featstore_set_retention(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	act->kind = FS_ALTER_SET_RETENTION;
	if (!PG_ARGISNULL(1))
		act->text_value = DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(1)));
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/* featstore_set_online: set_online(group_name, online) */
Datum
featstore_set_online(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("online must be true or false")));
	act->kind = FS_ALTER_SET_ONLINE;
	act->bool_value = PG_GETARG_BOOL(1);
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/* featstore_set_group_description: set_group_description(group_name, description) */
Datum
featstore_set_group_description(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	act->kind = FS_ALTER_SET_DESCRIPTION;
	act->text_value = OptionalText(fcinfo, 1);
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/* featstore_set_group_owner: set_group_owner(group_name, owner) */
Datum
featstore_set_group_owner(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	act->kind = FS_ALTER_SET_OWNER;
	act->text_value = OptionalText(fcinfo, 1);
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/* featstore_set_group_tags: set_group_tags(group_name, tags) */
Datum
featstore_set_group_tags(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	act->kind = FS_ALTER_SET_TAGS;
	act->tags = PG_ARGISNULL(1) ? NIL : TextArrayToList(fcinfo, 1, "tags", false);
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/*
 * featstore_set_freshness: set_freshness(group_name, freshness), ALTER
 * FEATURE GROUP ... SET FRESHNESS; a NULL freshness is NONE
 */
Datum
featstore_set_freshness(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	act->kind = FS_ALTER_SET_FRESHNESS;
	act->text_value = OptionalText(fcinfo, 1);
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/*
 * featstore_set_monitor_every: set_monitor_every(group_name, every), SET
 * MONITOR EVERY; a NULL period is MONITOR NONE
 */
Datum
featstore_set_monitor_every(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));

	FeatstoreRequireEditor();
	act->kind = FS_ALTER_SET_MONITOR_EVERY;
	act->text_value = OptionalText(fcinfo, 1);
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/*
 * featstore_set_monitor_threshold: set_monitor_threshold(group_name,
 * feature_name, setting, value), SET MONITOR (setting = value) of the group
 * (feature_name NULL) or of a feature; a NULL value is RESET MONITOR
 */
Datum
featstore_set_monitor_threshold(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));
	FsMonitorSetting *ms = palloc0(sizeof(FsMonitorSetting));

	FeatstoreRequireEditor();
	ms->name = RequiredText(fcinfo, 2, "setting");
	ms->location = -1;
	if (!PG_ARGISNULL(3))
		ms->value_text = psprintf("%.17g", PG_GETARG_FLOAT8(3));
	act->kind = PG_ARGISNULL(3) ? FS_ALTER_RESET_MONITOR : FS_ALTER_SET_MONITOR;
	act->settings = list_make1(ms);
	if (!PG_ARGISNULL(1))
	{
		act->feature = palloc0(sizeof(FsFeatureDef));
		act->feature->name = pstrdup(NameStr(*PG_GETARG_NAME(1)));
		act->feature->location = -1;
	}
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/*
 * featstore_set_monitor_baseline: set_monitor_baseline(group_name, periods,
 * reference_from, reference_to, spine_label), SET MONITOR BASELINE in one
 * of its three forms: exactly one of periods, the range, the label.
 */
Datum
featstore_set_monitor_baseline(PG_FUNCTION_ARGS)
{
	FsAlterAction *act = palloc0(sizeof(FsAlterAction));
	FsMonitorBaseline *b = palloc0(sizeof(FsMonitorBaseline));
	int			forms = (!PG_ARGISNULL(1)) + (!PG_ARGISNULL(2) || !PG_ARGISNULL(3)) +
		(!PG_ARGISNULL(4));

	FeatstoreRequireEditor();
	if (forms != 1 || PG_ARGISNULL(2) != PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("set_monitor_baseline takes periods, or reference_from with reference_to, or spine_label"),
				 errhint("E.g. featstore.set_monitor_baseline('g', periods => 30), or reference_from => '2026-01-01', reference_to => '2026-02-01', or spine_label => 'training_q1'.")));
	if (!PG_ARGISNULL(1))
	{
		b->periods = PG_GETARG_INT32(1);
		b->periods_text = psprintf("%d", b->periods);
	}
	else if (!PG_ARGISNULL(2))
	{
		b->from_text = DatumGetCString(DirectFunctionCall1(timestamptz_out, PG_GETARG_DATUM(2)));
		b->to_text = DatumGetCString(DirectFunctionCall1(timestamptz_out, PG_GETARG_DATUM(3)));
		b->from_location = b->to_location = -1;
	}
	else
		b->label = text_to_cstring(PG_GETARG_TEXT_PP(4));
	act->kind = FS_ALTER_SET_MONITOR_BASELINE;
	act->baseline = b;
	AlterOne(fcinfo, act);
	PG_RETURN_VOID();
}

/* featstore_drop_feature_group: drop_feature_group(name, if_exists, cascade) */
Datum
featstore_drop_feature_group(PG_FUNCTION_ARGS)
{
	FeatstoreRequireEditor();
	RegistryDropGroup(RequiredText(fcinfo, 0, "name"),
					  !PG_ARGISNULL(1) && PG_GETARG_BOOL(1),
					  !PG_ARGISNULL(2) && PG_GETARG_BOOL(2), NULL);
	PG_RETURN_VOID();
}

/*
 * featstore_check_feature_group: check_feature_group(name) raises the error
 * of RegistryCheckGroupTable if the group's table lost the registry's
 * shape; the SQL front ends call it before they read a group.
 */
Datum
featstore_check_feature_group(PG_FUNCTION_ARGS)
{
	RegistryCheckGroupTable(RegistryLookupGroup(RequiredText(fcinfo, 0, "name"), false));
	PG_RETURN_VOID();
}

/* featstore_create_feature_service: create_feature_service(name, features, description, owner, or_replace) */
Datum
featstore_create_feature_service(PG_FUNCTION_ARGS)
{
	FsServiceDef *def = palloc0(sizeof(FsServiceDef));
	List	   *refs = TextArrayToList(fcinfo, 1, "features", false);
	ListCell   *lc;

	FeatstoreRequireEditor();
	def->name = RequiredText(fcinfo, 0, "name");
	def->description = OptionalText(fcinfo, 2);
	def->owner = OptionalText(fcinfo, 3);
	def->or_replace = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	def->location = -1;
	foreach(lc, refs)
		def->members = lappend(def->members, RegistryParseFeatureRef(lfirst(lc)));
	RegistryCreateService(def, NULL);
	PG_RETURN_VOID();
}

/* featstore_drop_feature_service: drop_feature_service(name, if_exists) */
Datum
featstore_drop_feature_service(PG_FUNCTION_ARGS)
{
	FeatstoreRequireEditor();
	RegistryDropService(RequiredText(fcinfo, 0, "name"),
						!PG_ARGISNULL(1) && PG_GETARG_BOOL(1), NULL);
	PG_RETURN_VOID();
}

/* AlterOne applies one ALTER FEATURE GROUP action to the group in argument 0 */
static void
AlterOne(FunctionCallInfo fcinfo, FsAlterAction *act)
{
	act->location = -1;
	RegistryAlterGroup(RequiredText(fcinfo, 0, "group_name"), list_make1(act), -1, NULL);
}

/* RequiredText returns a text argument, refusing NULL */
static char *
RequiredText(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* OptionalText returns a text argument, or NULL */
static char *
OptionalText(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* TextArrayToList converts a one-dimensional text[] argument to a List of C strings */
static List *
TextArrayToList(FunctionCallInfo fcinfo, int argno, const char *what, bool allow_null_elements)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", what)));
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i] && !allow_null_elements)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", what)));
		result = lappend(result, nulls[i] ? NULL : TextDatumGetCString(elems[i]));
	}
	return result;
}
