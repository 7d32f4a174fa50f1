/*
 * registry_lookup.c
 *		The registry's read side: feature groups and entity keys as the
 *		other subsystems see them, and a per-backend cache of groups.
 *
 * A lookup costs three registry queries, and the capture trigger, the
 * worker and the readers look groups up on every statement, so each
 * backend keeps the groups it has looked up in CacheMemoryContext.  The
 * cache follows PostgreSQL's own invalidation: every statement that writes
 * a registry table fires featstore.registry_invalidate(), which sends a
 * relcache invalidation for that table (to every backend, at commit) and
 * empties this backend's cache at once.  A relcache invalidation of a
 * group's table (ALTER TABLE, DROP, RENAME) drops that group's entry, and
 * one of a schema drops them all.  A transaction that changed the registry
 * and aborts empties the cache again, so nothing it built survives it.
 *
 * Lookups run as the extension owner and cache only what does not depend
 * on the caller (an entry whose feature types had to be parsed with the
 * caller's search_path is not kept), so the cache serves every role alike.
 * Transactions with a transaction snapshot (REPEATABLE READ, SERIALIZABLE)
 * bypass the cache: they must see the definitions of their snapshot.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "extension.h"
#include "featstore.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

PG_FUNCTION_INFO_V1(registry_invalidate);

/* The registry tables a cached group is built from (their changes reset it) */
static const char *const registry_tables[] = {
	"entities", "entity_keys", "feature_groups", "features",
	"feature_services", "feature_service_members", "source_groups", "window_features"
};
#define N_REGISTRY_TABLES lengthof(registry_tables)

typedef struct GroupCacheEntry
{
	char		name[NAMEDATALEN];	/* hash key: the group's name */
	MemoryContext cxt;			/* holds group and nothing else */
	FsGroup    *group;
} GroupCacheEntry;

static HTAB *group_cache = NULL;

/* OIDs of registry_tables while the cache holds entries, else InvalidOid */
static Oid	registry_relids[N_REGISTRY_TABLES];

/* bumped by every invalidation: a lookup that saw it change keeps nothing */
static uint64 cache_generation = 0;

/* this transaction wrote the registry: its abort must empty the cache */
static bool registry_changed_in_xact = false;

static char *FirstRowText(int col, MemoryContext cxt);
static List *ListNames(const char *sql);
static FsGroup *LoadGroup(const char *name, bool *cacheable);
static bool LoadGroupFeatures(FsGroup *group, MemoryContext cxt);
static bool LoadGroupSource(FsGroup *group, MemoryContext cxt);
static void LoadWindowFeatures(FsGroup *group, MemoryContext cxt);
static FsGroup *CopyGroup(const FsGroup *group);
static FsSource *CopySource(const FsSource *source);
static FsWindowFeature *CopyWindowFeature(const FsWindowFeature *w);
static bool GroupCacheUsable(const char *name);
static FsGroup *GroupCacheFind(const char *name);
static void GroupCacheStore(const FsGroup *group, uint64 generation);
static void GroupCacheSetUp(void);
static bool GroupCacheKnowRegistry(void);
static void GroupCacheRemove(GroupCacheEntry *entry);
static void GroupCacheReset(void);
static void GroupCacheRelcacheCallback(Datum arg, Oid relid);
static void GroupCacheSchemaCallback(Datum arg, int cacheid, uint32 hashvalue);
static void GroupCacheXactCallback(XactEvent event, void *arg);
static void GroupCacheSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
									  SubTransactionId parentSubid, void *arg);

/*
 * RegistryLookupGroup returns a feature group's definition, or NULL when it
 * does not exist and missing_ok.  The result is allocated in the caller's
 * memory context, and the caller may change it.  Feature types come from
 * the table itself when it exists, so they are exactly what the columns
 * hold.
 */
FsGroup *
RegistryLookupGroup(const char *name, bool missing_ok)
{
	bool		usable = GroupCacheUsable(name);
	uint64		generation = cache_generation;
	bool		cacheable;
	FsGroup    *group;

	if (usable && (group = GroupCacheFind(name)) != NULL)
		return CopyGroup(group);
	group = LoadGroup(name, &cacheable);
	if (group == NULL)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature group \"%s\" does not exist", name),
				 errhint("List the defined groups with SELECT group_name FROM featstore.group_overview.")));
	}
	if (usable && cacheable)
		GroupCacheStore(group, generation);
	return group;
}

/*
 * RegistryIsGroupTable says whether relid is the history table of the named
 * group.  It is the capture trigger's check on every captured statement,
 * so with the group cached it is a hash lookup and copies nothing.
 */
bool
RegistryIsGroupTable(const char *name, Oid relid)
{
	FsGroup    *group = NULL;

	if (GroupCacheUsable(name))
		group = GroupCacheFind(name);
	if (group == NULL)
		group = RegistryLookupGroup(name, true);
	return group != NULL && OidIsValid(relid) && group->relid == relid;
}

/*
 * RegistryGroupOfTable returns the name of the feature group whose history
 * table is relid, or NULL if it is none's.
 */
char *
RegistryGroupOfTable(Oid relid)
{
	MemoryContext callercxt = CurrentMemoryContext;
	char	   *relname = get_rel_name(relid);
	Oid			types[2] = {NAMEOID, NAMEOID};
	Datum		args[2];
	char	   *result;

	if (relname == NULL)
		return NULL;
	args[0] = DirectFunctionCall1(namein,
								  CStringGetDatum(get_namespace_name(get_rel_namespace(relid))));
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(relname));
	SPI_connect();
	RegSpi("SELECT name FROM featstore.feature_groups"
		   " WHERE schema_name = $1 AND table_name = $2",
		   2, types, args, NULL, true);
	result = FirstRowText(1, callercxt);
	SPI_finish();
	return result;
}

/*
 * RegistryDroppedGroup returns the name of a feature group whose history
 * table the current DROP removes, and that table's identity in *table; or
 * NULL.  Only a sql_drop event trigger may call it.
 */
char *
RegistryDroppedGroup(char **table)
{
	MemoryContext callercxt = CurrentMemoryContext;
	char	   *result;

	SPI_connect();
	RegSpi("SELECT g.name, d.object_identity "
		   "FROM pg_catalog.pg_event_trigger_dropped_objects() d "
		   "JOIN featstore.feature_groups g "
		   "  ON g.schema_name = d.schema_name AND g.table_name = d.object_name "
		   "WHERE d.object_type = 'table' AND NOT d.is_temporary "
		   "ORDER BY 1 LIMIT 1", 0, NULL, NULL, NULL, true);
	result = FirstRowText(1, callercxt);
	*table = FirstRowText(2, callercxt);
	SPI_finish();
	return result;
}

/*
 * RegistryDroppedGroupView returns the name of a feature group defined
 * FROM a source whose view the current DROP removes, and the view's
 * identity in *view; or NULL.  Only a sql_drop event trigger may call it.
 */
char *
RegistryDroppedGroupView(char **view)
{
	MemoryContext callercxt = CurrentMemoryContext;
	char	   *result;

	SPI_connect();
	RegSpi("SELECT g.name, d.object_identity "
		   "FROM pg_catalog.pg_event_trigger_dropped_objects() d "
		   "JOIN featstore.feature_groups g "
		   "  ON g.schema_name = d.schema_name AND g.table_name = d.object_name "
		   "WHERE d.object_type = 'view' AND NOT d.is_temporary "
		   "ORDER BY 1 LIMIT 1", 0, NULL, NULL, NULL, true);
	result = FirstRowText(1, callercxt);
	*view = FirstRowText(2, callercxt);
	SPI_finish();
	return result;
}

/*
 * RegistryDroppedSource returns the name of a feature group whose source
 * relation the current DROP removes, and that relation's identity in
 * *source; or NULL.  Only a sql_drop event trigger may call it.
 */
char *
RegistryDroppedSource(char **source)
{
	MemoryContext callercxt = CurrentMemoryContext;
	char	   *result;

	*source = NULL;
	if (!RegistryHasSourceGroups())
		return NULL;
	SPI_connect();
	RegSpi("SELECT s.group_name, d.object_identity "
		   "FROM pg_catalog.pg_event_trigger_dropped_objects() d "
		   "JOIN featstore.source_groups s "
		   "  ON s.source_schema = d.schema_name AND s.source_name = d.object_name "
		   "WHERE d.object_type IN ('table', 'view', 'materialized view') AND NOT d.is_temporary "
		   "ORDER BY 1 LIMIT 1", 0, NULL, NULL, NULL, true);
	result = FirstRowText(1, callercxt);
	*source = FirstRowText(2, callercxt);
	SPI_finish();
	return result;
}

/*
 * RegistrySourceGroupsOf returns the names of the feature groups defined
 * FROM relid, sorted; NIL if none.
 */
List *
RegistrySourceGroupsOf(Oid relid)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext oldcxt;
	char	   *relname = get_rel_name(relid);
	Oid			types[2] = {NAMEOID, NAMEOID};
	Datum		args[2];
	List	   *result = NIL;

	if (relname == NULL || !RegistryHasSourceGroups())
		return NIL;
	args[0] = DirectFunctionCall1(namein,
								  CStringGetDatum(get_namespace_name(get_rel_namespace(relid))));
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(relname));
	SPI_connect();
	RegSpi("SELECT group_name FROM featstore.source_groups"
		   " WHERE source_schema = $1 AND source_name = $2 ORDER BY 1",
		   2, types, args, NULL, true);
	oldcxt = MemoryContextSwitchTo(callercxt);
	for (uint64 i = 0; i < SPI_processed; i++)
		result = lappend(result, RegGetText(i, 1));
	MemoryContextSwitchTo(oldcxt);
	SPI_finish();
	return result;
}

/*
 * FirstRowText returns a column of the last registry query's first row,
 * copied into cxt, or NULL if there is no row or the value is null.
 */
static char *
FirstRowText(int col, MemoryContext cxt)
{
	char	   *value;

	if (SPI_processed == 0)
		return NULL;
	value = RegGetText(0, col);
	return value ? MemoryContextStrdup(cxt, value) : NULL;
}

/*
 * RegistryIsInstalled says whether this database's registry exists: it
 * does not while featstore is being created or dropped.
 */
bool
RegistryIsInstalled(void)
{
	return OidIsValid(get_relname_relid("feature_groups", FeatstoreSchemaOid(true)));
}

/*
 * RegistryHasSourceGroups says whether the registry has the tables of
 * groups defined FROM a source (and feature_groups.kind): not before ALTER
 * EXTENSION featstore UPDATE from 0.2.0 or earlier.
 */
bool
RegistryHasSourceGroups(void)
{
	return OidIsValid(get_relname_relid("source_groups", FeatstoreSchemaOid(true)));
}

/* RegistryListGroupNames returns the names of every feature group, sorted */
List *
RegistryListGroupNames(void)
{
	return ListNames("SELECT name FROM featstore.feature_groups ORDER BY name");
}

/*
 * RegistryListOnlineGroupNames returns the names of the groups served
 * from Redis (ONLINE), sorted.
 */
List *
RegistryListOnlineGroupNames(void)
{
	return ListNames("SELECT name FROM featstore.feature_groups WHERE online ORDER BY name");
}

/* ListNames runs a registry query and returns its first column as a List */
static List *
ListNames(const char *sql)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext oldcxt;
	List	   *result = NIL;

	SPI_connect();
	RegSpi(sql, 0, NULL, NULL, NULL, true);
	/* the list, not only the names, must outlive SPI_finish */
	oldcxt = MemoryContextSwitchTo(callercxt);
	for (uint64 i = 0; i < SPI_processed; i++)
		result = lappend(result, RegGetText(i, 1));
	MemoryContextSwitchTo(oldcxt);
	SPI_finish();
	return result;
}

/*
 * RegistryLoadKeys returns an entity's key columns in order, allocated in
 * the current memory context (SPI must be connected).  A key type other
 * than the four featstore supports can only come from a registry row
 * written behind featstore's back, and is refused rather than guessed.
 */
List *
RegistryLoadKeys(const char *entity)
{
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext oldcxt;
	Datum		arg = CStringGetTextDatum(entity);
	Oid			argtype = TEXTOID;
	List	   *keys = NIL;

	/* through regtype: a 0.2.0 registry, not yet updated, stores type names */
	RegSpi("SELECT column_name::pg_catalog.text, "
		   "data_type::pg_catalog.regtype::pg_catalog.oid "
		   "FROM featstore.entity_keys WHERE entity_name = $1 ORDER BY position",
		   1, &argtype, &arg, NULL, true);
	/* SPI returns in its own context; the keys go where the caller was */
	oldcxt = MemoryContextSwitchTo(cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		FsKeyColumn *k = palloc(sizeof(FsKeyColumn));
		bool		isnull;

		k->name = RegGetText(i, 1);
		k->typid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
												  SPI_tuptable->tupdesc, 2, &isnull));
		if (isnull || (k->typid != TEXTOID && k->typid != INT4OID &&
					   k->typid != INT8OID && k->typid != UUIDOID))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("key column \"%s\" of entity \"%s\" has type %s, which featstore does not support",
							k->name, entity, isnull ? "null" : format_type_be(k->typid)),
					 errdetail("featstore.entity_keys was changed outside featstore."),
					 errhint("Entity keys are text, integer, bigint or uuid; recreate the entity with CREATE ENTITY.")));
		keys = lappend(keys, k);
	}
	MemoryContextSwitchTo(oldcxt);
	return keys;
}

/*
 * LoadGroup reads a group's definition from the registry tables into the
 * caller's memory context, or returns NULL if there is no such group.
 * *cacheable says whether the definition is the same for every caller and
 * followed by invalidations: its table exists (its relcache invalidations
 * then reach the cache entry) and every feature type was read from a
 * column, not parsed with the caller's search_path.
 */
static FsGroup *
LoadGroup(const char *name, bool *cacheable)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext oldcxt;
	FsGroup    *group;
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;
	bool		isnull;
	Datum		ttl;

	SPI_connect();
	RegSpi("SELECT schema_name::text, table_name::text, entity_name, ttl, online "
		   "FROM featstore.feature_groups WHERE name = $1",
		   1, &argtype, &arg, NULL, true);
	if (SPI_processed == 0)
	{
		SPI_finish();
		return NULL;
	}

	oldcxt = MemoryContextSwitchTo(callercxt);
	group = palloc0(sizeof(FsGroup));
	group->name = pstrdup(name);
	group->schema_name = RegGetText(0, 1);
	group->table_name = RegGetText(0, 2);
	group->entity_name = RegGetText(0, 3);
	ttl = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);
	if (!isnull)
	{
		Interval   *iv = DatumGetIntervalP(ttl);

		group->has_ttl = true;
		group->ttl = *iv;
		group->ttl_usecs = iv->time + (int64) iv->day * USECS_PER_DAY;
	}
	group->online = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 5, &isnull));
	group->relid = get_relname_relid(group->table_name,
									 get_namespace_oid(group->schema_name, true));
	group->keys = RegistryLoadKeys(group->entity_name);
	MemoryContextSwitchTo(oldcxt);

	*cacheable = LoadGroupFeatures(group, callercxt) && OidIsValid(group->relid);
	if (!LoadGroupSource(group, callercxt))
		*cacheable = false;
	SPI_finish();
	return group;
}

/*
 * LoadGroupSource fills group->source and each feature's window for a
 * group defined FROM a source (SPI connected); an ordinary group keeps
 * NULL.  The source's names are resolved now, as the group's own table's
 * are, so relid is the relation those names mean at this lookup, and each
 * aggregate's argument type is the source column's.  It returns whether
 * the result may be cached: not when the source is missing (nothing
 * would invalidate the entry when it appears).
 */
static bool
LoadGroupSource(FsGroup *group, MemoryContext cxt)
{
	Datum		arg = CStringGetTextDatum(group->name);
	Oid			argtype = TEXTOID;
	MemoryContext oldcxt;
	FsSource   *src;
	bool		isnull;

	/* a 0.2.0 registry, not yet updated, has no source groups */
	if (!RegistryHasSourceGroups())
		return true;
	RegSpi("SELECT source_schema::text, source_name::text, source_kind, timestamp_column::text, "
		   "created_column::text, where_text, window_end_exclusive "
		   "FROM featstore.source_groups WHERE group_name = $1",
		   1, &argtype, &arg, NULL, true);
	if (SPI_processed == 0)
		return true;
	oldcxt = MemoryContextSwitchTo(cxt);
	src = palloc0(sizeof(FsSource));
	src->schema_name = RegGetText(0, 1);
	src->relation_name = RegGetText(0, 2);
	src->relkind = DatumGetChar(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 3, &isnull));
	src->timestamp_column = RegGetText(0, 4);
	src->created_column = RegGetText(0, 5);
	src->where_text = RegGetText(0, 6);
	src->window_end_exclusive = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
														   SPI_tuptable->tupdesc, 7, &isnull));
	src->relid = get_relname_relid(src->relation_name,
								   get_namespace_oid(src->schema_name, true));
	group->source = src;
	MemoryContextSwitchTo(oldcxt);
	LoadWindowFeatures(group, cxt);
	return OidIsValid(src->relid);
}

/*
 * LoadWindowFeatures fills each feature's window of a source group, and
 * the source's longest window (SPI connected).  A feature without a
 * window_features row (a registry written behind featstore's back) keeps
 * NULL, which the engine refuses.
 */
static void
LoadWindowFeatures(FsGroup *group, MemoryContext cxt)
{
	Datum		arg = CStringGetTextDatum(group->name);
	Oid			argtype = TEXTOID;
	MemoryContext oldcxt;
	FsSource   *src = group->source;
	bool		unbounded = false;

	RegSpi("SELECT feature_name::text, aggregate, argument::text, window_usecs, window_text, "
		   "default_value, expression_text "
		   "FROM featstore.window_features WHERE group_name = $1",
		   1, &argtype, &arg, NULL, true);
	oldcxt = MemoryContextSwitchTo(cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = RegGetText(i, 1);
		FsWindowFeature *w = palloc0(sizeof(FsWindowFeature));
		bool		isnull;
		Datum		usecs;
		ListCell   *lc;

		w->agg = RegistryAggKindByName(RegGetText(i, 2));
		w->argument = RegGetText(i, 3);
		if (w->argument && OidIsValid(src->relid))
		{
			AttrNumber	attnum = get_attnum(src->relid, w->argument);

			if (attnum > 0)
				w->argument_typid = get_atttype(src->relid, attnum);
		}
		usecs = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4, &isnull);
		w->window_usecs = isnull ? 0 : DatumGetInt64(usecs);
		if (isnull && w->agg != FS_AGG_EXPRESSION)
			unbounded = true;
		w->window_text = RegGetText(i, 5);
		w->default_value = RegGetText(i, 6);
		w->expression = RegGetText(i, 7);
		if (w->window_usecs > src->max_window_usecs)
			src->max_window_usecs = w->window_usecs;
		foreach(lc, group->features)
		{
			FsFeature  *f = lfirst(lc);

			if (strcmp(f->name, name) == 0)
				f->window = w;
		}
	}
	if (unbounded)
		src->max_window_usecs = 0;
	MemoryContextSwitchTo(oldcxt);
}

/*
 * LoadGroupFeatures adds a group's features, in position order, allocated
 * in cxt (SPI connected).  A feature's type is its column's when the
 * column exists, else its recorded type text; it returns whether every
 * type came from a column.
 */
static bool
LoadGroupFeatures(FsGroup *group, MemoryContext cxt)
{
	Datum		arg = CStringGetTextDatum(group->name);
	Oid			argtype = TEXTOID;
	MemoryContext oldcxt;
	bool		all_columns = true;

	RegSpi("SELECT name::text, data_type, description, status, position "
		   "FROM featstore.features WHERE group_name = $1 ORDER BY position",
		   1, &argtype, &arg, NULL, true);
	oldcxt = MemoryContextSwitchTo(cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		FsFeature  *f = palloc0(sizeof(FsFeature));
		AttrNumber	attnum = InvalidAttrNumber;
		bool		isnull;

		f->name = RegGetText(i, 1);
		f->type_name = RegGetText(i, 2);
		f->description = RegGetText(i, 3);
		f->deprecated = (strcmp(RegGetText(i, 4), "deprecated") == 0);
		f->position = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
												  SPI_tuptable->tupdesc, 5, &isnull));
		if (OidIsValid(group->relid))
			attnum = get_attnum(group->relid, f->name);
		if (attnum != InvalidAttrNumber)
		{
			Oid			collid;

			get_atttypetypmodcoll(group->relid, attnum, &f->typid, &f->typmod, &collid);
		}
		else
		{
			parseTypeString(f->type_name, &f->typid, &f->typmod, false);
			all_columns = false;
		}
		group->features = lappend(group->features, f);
	}
	MemoryContextSwitchTo(oldcxt);
	return all_columns;
}

/* CopyGroup copies a group definition into the current memory context */
static FsGroup *
CopyGroup(const FsGroup *group)
{
	FsGroup    *copy = palloc(sizeof(FsGroup));
	ListCell   *lc;

	*copy = *group;
	copy->name = pstrdup(group->name);
	copy->schema_name = pstrdup(group->schema_name);
	copy->table_name = pstrdup(group->table_name);
	copy->entity_name = pstrdup(group->entity_name);
	copy->keys = NIL;
	foreach(lc, group->keys)
	{
		FsKeyColumn *k = palloc(sizeof(FsKeyColumn));

		*k = *(FsKeyColumn *) lfirst(lc);
		k->name = pstrdup(k->name);
		copy->keys = lappend(copy->keys, k);
	}
	copy->features = NIL;
	foreach(lc, group->features)
	{
		FsFeature  *f = palloc(sizeof(FsFeature));

		*f = *(FsFeature *) lfirst(lc);
		f->name = pstrdup(f->name);
		f->type_name = pstrdup(f->type_name);
		f->description = f->description ? pstrdup(f->description) : NULL;
		f->window = f->window ? CopyWindowFeature(f->window) : NULL;
		copy->features = lappend(copy->features, f);
	}
	copy->source = group->source ? CopySource(group->source) : NULL;
	return copy;
}

/* pstrdup_or_null copies a string that may be NULL */
static char *
pstrdup_or_null(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

/* CopySource copies a group's source into the current memory context */
static FsSource *
CopySource(const FsSource *source)
{
	FsSource   *copy = palloc(sizeof(FsSource));

	*copy = *source;
	copy->schema_name = pstrdup_or_null(source->schema_name);
	copy->relation_name = pstrdup_or_null(source->relation_name);
	copy->timestamp_column = pstrdup_or_null(source->timestamp_column);
	copy->created_column = pstrdup_or_null(source->created_column);
	copy->where_text = pstrdup_or_null(source->where_text);
	return copy;
}

/* CopyWindowFeature copies how a feature is computed into the current memory context */
static FsWindowFeature *
CopyWindowFeature(const FsWindowFeature *w)
{
	FsWindowFeature *copy = palloc(sizeof(FsWindowFeature));

	*copy = *w;
	copy->argument = pstrdup_or_null(w->argument);
	copy->window_text = pstrdup_or_null(w->window_text);
	copy->default_value = pstrdup_or_null(w->default_value);
	copy->expression = pstrdup_or_null(w->expression);
	return copy;
}

/* ------------------------------------------------------------------------
 * The group cache
 * ------------------------------------------------------------------------
 */

/*
 * GroupCacheUsable says whether a lookup of name may use the cache: not
 * with a transaction snapshot (the snapshot's definitions are the right
 * ones there, and the cache may hold newer ones), and not for a name no
 * group can have.  It first takes in invalidations other backends sent,
 * so a committed change is seen at once, as an uncached lookup would.
 */
static bool
GroupCacheUsable(const char *name)
{
	if (IsolationUsesXactSnapshot() || strlen(name) >= NAMEDATALEN)
		return false;
	GroupCacheSetUp();
	AcceptInvalidationMessages();
	return true;
}

/* GroupCacheFind returns the cached definition of a group, or NULL */
static FsGroup *
GroupCacheFind(const char *name)
{
	GroupCacheEntry *entry = hash_search(group_cache, name, HASH_FIND, NULL);

	return entry ? entry->group : NULL;
}

/*
 * GroupCacheStore keeps a copy of a freshly loaded group, unless an
 * invalidation arrived since the lookup began (generation): the rows it
 * read may then be older than that change.
 */
static void
GroupCacheStore(const FsGroup *group, uint64 generation)
{
	GroupCacheEntry *entry;
	bool		found;
	MemoryContext cxt;
	MemoryContext oldcxt;
	FsGroup    *copy;

	if (generation != cache_generation || !GroupCacheKnowRegistry())
		return;
	cxt = AllocSetContextCreate(CacheMemoryContext, "featstore group",
								ALLOCSET_SMALL_SIZES);
	MemoryContextCopyAndSetIdentifier(cxt, group->name);

	/*
	 * Copy before the entry exists: an error while copying must not leave
	 * an entry pointing at a half-built group or at a freed one.
	 */
	oldcxt = MemoryContextSwitchTo(cxt);
	copy = CopyGroup(group);
	MemoryContextSwitchTo(oldcxt);
	entry = hash_search(group_cache, group->name, HASH_ENTER, &found);
	if (found)
		MemoryContextDelete(entry->cxt);
	entry->cxt = cxt;
	entry->group = copy;
}

/*
 * GroupCacheSetUp creates the cache and registers its callbacks, once per
 * backend.  featstore.c's _PG_init does not know about it: it is set up by
 * the first lookup, as the callbacks have nothing to do before.
 */
static void
GroupCacheSetUp(void)
{
	HASHCTL		ctl;

	if (group_cache != NULL)
		return;
	if (CacheMemoryContext == NULL)
		CreateCacheMemoryContext();
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(GroupCacheEntry);
	ctl.hcxt = CacheMemoryContext;
	group_cache = hash_create("featstore group cache", 32, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	CacheRegisterRelcacheCallback(GroupCacheRelcacheCallback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, GroupCacheSchemaCallback, (Datum) 0);
	RegisterXactCallback(GroupCacheXactCallback, NULL);
	RegisterSubXactCallback(GroupCacheSubXactCallback, NULL);
}

/*
 * GroupCacheKnowRegistry records the registry tables' OIDs, whose relcache
 * invalidations empty the cache, and says whether they all exist.
 */
static bool
GroupCacheKnowRegistry(void)
{
	Oid			nsp;

	if (OidIsValid(registry_relids[0]))
		return true;
	nsp = FeatstoreSchemaOid(true);
	if (!OidIsValid(nsp))
		return false;
	for (int i = 0; i < (int) N_REGISTRY_TABLES; i++)
	{
		registry_relids[i] = get_relname_relid(registry_tables[i], nsp);
		if (!OidIsValid(registry_relids[i]))
		{
			memset(registry_relids, 0, sizeof(registry_relids));
			return false;
		}
	}
	return true;
}

/* GroupCacheRemove drops one entry and frees its memory */
static void
GroupCacheRemove(GroupCacheEntry *entry)
{
	MemoryContext cxt = entry->cxt;

	hash_search(group_cache, entry->name, HASH_REMOVE, NULL);
	MemoryContextDelete(cxt);
	cache_generation++;
}

/* GroupCacheReset empties the cache and forgets the registry's OIDs */
static void
GroupCacheReset(void)
{
	HASH_SEQ_STATUS status;
	GroupCacheEntry *entry;

	cache_generation++;
	memset(registry_relids, 0, sizeof(registry_relids));
	if (group_cache == NULL)
		return;
	hash_seq_init(&status, group_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		GroupCacheRemove(entry);
}

/*
 * GroupCacheRelcacheCallback follows relcache invalidations: one of a
 * registry table (or of all relations) empties the cache, one of a
 * group's table or of its source drops that group.
 */
static void
GroupCacheRelcacheCallback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	GroupCacheEntry *entry;

	if (!OidIsValid(relid))
	{
		GroupCacheReset();
		return;
	}
	for (int i = 0; i < (int) N_REGISTRY_TABLES; i++)
		if (registry_relids[i] == relid)
		{
			GroupCacheReset();
			return;
		}
	hash_seq_init(&status, group_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (entry->group->relid == relid ||
			(entry->group->source && entry->group->source->relid == relid))
			GroupCacheRemove(entry);
}

/*
 * GroupCacheSchemaCallback empties the cache when a schema changes: a
 * renamed schema changes which table a group's names resolve to, without
 * any invalidation of the table itself.
 */
static void
GroupCacheSchemaCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	GroupCacheReset();
}

/*
 * GroupCacheXactCallback empties the cache when a transaction that wrote
 * the registry aborts (or is prepared, and may yet abort): entries built
 * after its writes hold its uncommitted definitions.
 */
static void
GroupCacheXactCallback(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		 event == XACT_EVENT_PREPARE) && registry_changed_in_xact)
		GroupCacheReset();
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
		registry_changed_in_xact = false;
}

/* GroupCacheSubXactCallback does the same for ROLLBACK TO SAVEPOINT */
static void
GroupCacheSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && registry_changed_in_xact)
		GroupCacheReset();
}

/*
 * registry_invalidate is the statement trigger on every registry table:
 * whoever changed it (featstore's own DDL, a superuser by hand,
 * pg_restore), every backend's group cache forgets what it held.  The
 * relcache invalidation reaches the other backends when this transaction
 * commits; this backend forgets at once, as it sees its own changes.
 */
Datum
registry_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("featstore.registry_invalidate() must be called as a trigger")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	registry_changed_in_xact = true;
	GroupCacheReset();
	return PointerGetDatum(NULL);
}
