/*
 * online_group.c
 *		What the online store needs to know about a feature group, and the
 *		query that finds the current winner per entity.
 *
 * The winner query is the point-in-time rule of docs/pit-semantics.md
 * evaluated at one instant ($1): the latest row by (event_timestamp,
 * created_at) whose event_timestamp is not in the future and, with a TTL,
 * not older than $1 - TTL ($2).  Its WHERE bounds and ORDER BY come from
 * PitRuleSql, beside the C rule in src/pit/pit_rule.h.  It probes the
 * group's unique (keys, event_timestamp, created_at) index backwards once
 * per entity.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "extension.h"
#include "online/online.h"
#include "pii/pii.h"
#include "pit/pit.h"
#include "registry/registry.h"

static const char *UnreadableColumn(const OnlineGroup *group, Oid roleid, List *skip);
static bool GroupReadableSkipping(const OnlineGroup *group, Oid roleid, List *skip);
static void CheckReadableSkipping(const OnlineGroup *group, const char *action, List *skip);

/*
 * OnlineLoadGroup returns what the online store needs of a group, built from
 * the registry's own lookup; NULL if the group does not exist and
 * missing_ok.  The result is palloc'd in the caller's memory context.
 * Deprecated features are kept: older models still read them.
 */
OnlineGroup *
OnlineLoadGroup(const char *name, bool missing_ok)
{
	FsGroup    *fs = RegistryLookupGroup(name, missing_ok);

	if (fs == NULL)
		return NULL;
	return OnlineGroupFromRegistry(fs);
}

/*
 * OnlineGroupFromRegistry builds OnlineLoadGroup's result from a group the
 * caller has already looked up; its history table must exist.
 */
OnlineGroup *
OnlineGroupFromRegistry(FsGroup *fs)
{
	OnlineGroup *group;
	ListCell   *lc;
	int			i;

	group = palloc0(sizeof(OnlineGroup));
	group->name = fs->name;
	group->qualified_table = quote_qualified_identifier(fs->schema_name, fs->table_name);
	group->entity_name = fs->entity_name;
	group->ttl_usecs = fs->has_ttl ? fs->ttl_usecs : 0;
	group->online = fs->online;
	if (!OidIsValid(fs->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("history table %s of feature group \"%s\" does not exist",
						group->qualified_table, fs->name),
				 errhint("Recreate the group with DROP FEATURE GROUP and CREATE FEATURE GROUP.")));
	group->relid = fs->relid;
	group->registry = fs;

	group->nkeys = list_length(fs->keys);
	group->key_names = palloc(sizeof(char *) * Max(group->nkeys, 1));
	group->key_types = palloc(sizeof(Oid) * Max(group->nkeys, 1));
	i = 0;
	foreach(lc, fs->keys)
	{
		FsKeyColumn *k = lfirst(lc);

		group->key_names[i] = k->name;
		group->key_types[i++] = k->typid;
	}

	group->nfeatures = list_length(fs->features);
	group->feature_names = palloc(sizeof(char *) * Max(group->nfeatures, 1));
	group->feature_types = palloc(sizeof(Oid) * Max(group->nfeatures, 1));
	i = 0;
	foreach(lc, fs->features)
	{
		FsFeature  *f = lfirst(lc);

		group->feature_names[i] = f->name;
		group->feature_types[i++] = f->typid;
	}
	return group;
}

/*
 * OnlineLoadServedGroup is OnlineLoadGroup for the SQL functions that need
 * the group to be online: an offline one is an error whose hint ends with
 * hint_tail, after "Run ALTER FEATURE GROUP <name> SET ONLINE".
 */
OnlineGroup *
OnlineLoadServedGroup(const char *name, const char *hint_tail)
{
	OnlineGroup *group = OnlineLoadGroup(name, false);

	if (!group->online)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("feature group \"%s\" is not online", name),
				 errhint("Run ALTER FEATURE GROUP %s SET ONLINE%s",
						 quote_identifier(name), hint_tail)));
	return group;
}

/*
 * OnlineGroupReadable says whether roleid may read what featstore serves of
 * a group, by the rule a SELECT of those columns would apply: USAGE on the
 * table's schema, and SELECT on the table or on every column featstore reads
 * (the keys, event_timestamp, created_at and the features).  Row-level
 * security is not considered here; callers check it separately.
 */
bool
OnlineGroupReadable(const OnlineGroup *group, Oid roleid)
{
	return GroupReadableSkipping(group, roleid, NIL);
}

/*
 * GroupReadableSkipping is OnlineGroupReadable with the columns named in
 * skip not required.
 */
static bool
GroupReadableSkipping(const OnlineGroup *group, Oid roleid, List *skip)
{
	Oid			nsp = get_rel_namespace(group->relid);

	if (!OidIsValid(nsp) ||
		pg_namespace_aclcheck(nsp, roleid, ACL_USAGE) != ACLCHECK_OK)
		return false;
	if (pg_class_aclcheck(group->relid, roleid, ACL_SELECT) == ACLCHECK_OK)
		return true;
	return UnreadableColumn(group, roleid, skip) == NULL;
}

/*
 * OnlineCheckGroupReadable raises SQLSTATE 42501 unless the current user may
 * read the group (OnlineGroupReadable).  action completes "permission denied
 * to ... feature group", e.g. "read" or "materialize".  The hint names the
 * GRANT statements the table's owner can run.
 */
void
OnlineCheckGroupReadable(const OnlineGroup *group, const char *action)
{
	CheckReadableSkipping(group, action, NIL);
}

/*
 * OnlineCheckGroupServable is the check of the read paths that mask PII
 * (online_features, verify_online): a PII feature whose column the current
 * user may not SELECT is not required, as it is masked (no SELECT, no
 * value); every other column is, with OnlineCheckGroupReadable's error.  It
 * returns the features to mask: every PII feature for a role that is not a
 * member of featstore_pii_reader, plus those PII features whose column the
 * role may not SELECT, which it also returns in *denied.
 */
List *
OnlineCheckGroupServable(const OnlineGroup *group, List **denied)
{
	Oid			roleid = GetUserId();
	List	   *pii = RegistryPiiFeatures(group->name);
	List	   *masked = PiiMaskedFeatures(group->name);
	ListCell   *lc;

	*denied = NIL;
	CheckReadableSkipping(group, "read", pii);
	if (pg_class_aclcheck(group->relid, roleid, ACL_SELECT) == ACLCHECK_OK)
		return masked;
	foreach(lc, pii)
	{
		char	   *name = (char *) lfirst(lc);
		AttrNumber	attnum = get_attnum(group->relid, name);

		if (attnum != InvalidAttrNumber &&
			pg_attribute_aclcheck(group->relid, attnum, roleid, ACL_SELECT) == ACLCHECK_OK)
			continue;
		*denied = lappend(*denied, name);
		if (!PiiListHas(masked, name))
			masked = lappend(masked, name);
	}
	return masked;
}

/*
 * CheckReadableSkipping is OnlineCheckGroupReadable with the columns named
 * in skip not required.
 */
static void
CheckReadableSkipping(const OnlineGroup *group, const char *action, List *skip)
{
	Oid			roleid = GetUserId();
	Oid			nsp = get_rel_namespace(group->relid);
	const char *role;
	const char *grant_select;

	if (GroupReadableSkipping(group, roleid, skip))
		return;
	role = quote_identifier(GetUserNameFromId(roleid, false));
	grant_select = psprintf("GRANT SELECT ON %s TO %s", group->qualified_table, role);
	if (!OidIsValid(nsp) ||
		pg_namespace_aclcheck(nsp, roleid, ACL_USAGE) != ACLCHECK_OK)
	{
		bool		has_select = (pg_class_aclcheck(group->relid, roleid, ACL_SELECT) == ACLCHECK_OK ||
								  UnreadableColumn(group, roleid, skip) == NULL);
		const char *nspname = OidIsValid(nsp) ? get_namespace_name(nsp) : "?";

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s feature group \"%s\": no USAGE on the schema of its table %s",
						action, group->name, group->qualified_table),
				 has_select ?
				 errhint("The owner of schema %s can run GRANT USAGE ON SCHEMA %s TO %s.",
						 quote_identifier(nspname), quote_identifier(nspname), role) :
				 errhint("The owners can run GRANT USAGE ON SCHEMA %s TO %s and %s.",
						 quote_identifier(nspname), role, grant_select)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s feature group \"%s\": no SELECT on its table %s",
					action, group->name, group->qualified_table),
			 pg_attribute_aclcheck_all(group->relid, roleid, ACL_SELECT, ACLMASK_ANY) == ACLCHECK_OK ?
			 errdetail("Role %s may select some of the table's columns, but not column \"%s\", which featstore reads.",
					   role, UnreadableColumn(group, roleid, skip)) : 0,
			 errhint("The owner of %s can run %s.", group->qualified_table, grant_select)));
}

/*
 * UnreadableColumn returns the first column featstore reads of the group's
 * table (keys, event_timestamp, created_at, features), other than the
 * features named in skip, on which roleid has no column privilege SELECT,
 * or NULL if it has SELECT on all of them.
 * pg_attribute_aclcheck looks at column privileges only, which is what is
 * wanted here: the table-level privilege was checked first.
 */
static const char *
UnreadableColumn(const OnlineGroup *group, Oid roleid, List *skip)
{
	int			ncols = group->nkeys + 2 + group->nfeatures;

	for (int i = 0; i < ncols; i++)
	{
		const char *col;
		AttrNumber	attnum;

		if (i < group->nkeys)
			col = group->key_names[i];
		else if (i == group->nkeys)
			col = FS_EVENT_TS_COLUMN;
		else if (i == group->nkeys + 1)
			col = FS_CREATED_AT_COLUMN;
		else
			col = group->feature_names[i - group->nkeys - 2];
		if (i >= group->nkeys + 2 && PiiListHas(skip, col))
			continue;
		attnum = get_attnum(group->relid, col);
		if (attnum == InvalidAttrNumber ||
			pg_attribute_aclcheck(group->relid, attnum, roleid, ACL_SELECT) != ACLCHECK_OK)
			return col;
	}
	return NULL;
}

/*
 * OnlineWinnerQuery builds the winner query for a set of entities.
 *
 * entities_sql yields k1..kn (the key values as text), force and future.
 * Parameters: $1 the instant, $2 its TTL lower bound (-infinity without a
 * TTL), then whatever entities_sql uses.  Result columns: k1..kn, force,
 * event_timestamp, created_at, the features, next_future (the earliest row
 * dated after $1, only computed where future is set).
 */
char *
OnlineWinnerQuery(const OnlineGroup *group, const char *entities_sql)
{
	StringInfoData sql;
	StringInfoData match;
	char	   *rule_where;
	char	   *rule_order;
	char	   *rule_later;

	PitRuleSql("r", "$1", "$2", &rule_where, &rule_order, &rule_later);
	initStringInfo(&match);
	for (int i = 0; i < group->nkeys; i++)
	{
		appendStringInfo(&match, "r.%s = e.k%d", quote_identifier(group->key_names[i]), i + 1);
		if (group->key_types[i] != TEXTOID)
			appendStringInfo(&match, "::%s", format_type_be_qualified(group->key_types[i]));
		appendStringInfoString(&match, " AND ");
	}

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int i = 0; i < group->nkeys; i++)
		appendStringInfo(&sql, "e.k%d, ", i + 1);
	appendStringInfoString(&sql, "e.force, w.event_timestamp, w.created_at");
	for (int i = 0; i < group->nfeatures; i++)
		appendStringInfo(&sql, ", w.%s", quote_identifier(group->feature_names[i]));
	appendStringInfo(&sql,
					 ", CASE WHEN e.future THEN (SELECT pg_catalog.min(r.event_timestamp) FROM %s r"
					 " WHERE %s %s) END"
					 " FROM (%s) e LEFT JOIN LATERAL (SELECT r.event_timestamp, r.created_at",
					 group->qualified_table, match.data, rule_later, entities_sql);
	for (int i = 0; i < group->nfeatures; i++)
		appendStringInfo(&sql, ", r.%s", quote_identifier(group->feature_names[i]));
	appendStringInfo(&sql, " FROM %s r WHERE %s %s ORDER BY %s LIMIT 1) w ON true",
					 group->qualified_table, match.data, rule_where, rule_order);
	pfree(match.data);
	return sql.data;
}

/*
 * OnlineWinnerRangeQuery is OnlineWinnerQuery for a group with one key
 * column when the queued entities span a key range [$5, $6] (text, cast to
 * the key's type) whose rows are few per entity: one ordered pass over the
 * range (DISTINCT ON the key) replaces an index probe per entity.  Same
 * parameters before $5, same result columns and the same winners.
 */
char *
OnlineWinnerRangeQuery(const OnlineGroup *group, const char *entities_sql)
{
	StringInfoData sql;
	const char *key = quote_identifier(group->key_names[0]);
	char	   *type = format_type_be_qualified(group->key_types[0]);
	char	   *rule_where;
	char	   *rule_order;
	char	   *rule_later;

	Assert(group->nkeys == 1);
	PitRuleSql("r", "$1", "$2", &rule_where, &rule_order, &rule_later);
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT e.k1, e.force, w.event_timestamp, w.created_at");
	for (int i = 0; i < group->nfeatures; i++)
		appendStringInfo(&sql, ", w.%s", quote_identifier(group->feature_names[i]));
	appendStringInfo(&sql,
					 ", CASE WHEN e.future THEN (SELECT pg_catalog.min(r.event_timestamp) FROM %s r"
					 " WHERE r.%s = e.k1::%s AND %s) END"
					 " FROM (%s) e LEFT JOIN (SELECT DISTINCT ON (r.%s) r.%s AS featstore_k,"
					 " r.event_timestamp, r.created_at",
					 group->qualified_table, key, type, rule_later, entities_sql, key, key);
	for (int i = 0; i < group->nfeatures; i++)
		appendStringInfo(&sql, ", r.%s", quote_identifier(group->feature_names[i]));
	appendStringInfo(&sql,
					 " FROM %s r WHERE r.%s >= $5::%s AND r.%s <= $6::%s AND %s"
					 " ORDER BY r.%s DESC, %s) w ON w.featstore_k = e.k1::%s",
					 group->qualified_table, key, type, key, type, rule_where,
					 key, rule_order, type);
	return sql.data;
}

/*
 * OnlineExtensionReady says whether featstore (with its online queue) is
 * installed in the current database.
 */
bool
OnlineExtensionReady(void)
{
	Oid			nsp = get_namespace_oid(FEATSTORE_SCHEMA, true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid(ONLINE_QUEUE_TABLE, nsp));
}
