/*
 * registry_shard.c
 *		Sharded history (issue 14): PARTITION BY HASH (...) PARTITIONS n ON
 *		SERVERS (a, b) checked and recorded in featstore.group_shards, and
 *		what a sharded group refuses afterwards.
 *
 * A sharded group's partitions are postgres_fdw foreign tables, each
 * reading the partition with the same remainder of a featstore group of
 * the same name on its shard (src/offline/offline_shard.c makes both).
 * Remainder r lives on server r % (number of servers), in the order the
 * statement names them.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "extension.h"
#include "featstore.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

static void CheckShardServer(const char *group_name, const char *name);
static bool ServerListsFeatstore(ForeignServer *srv);
static void CheckShardGroupDef(const FsGroupDef *def);

/*
 * RegistryCheckShards checks ON SERVERS of a new group (SPI connected,
 * registry locked), after its PARTITION BY was checked into *p, and
 * records the servers in p.  Everything is refused before any table or
 * remote group exists.
 */
void
RegistryCheckShards(const FsGroupDef *def, FsPartitioning *p)
{
	ListCell   *lc;

	if (def->shard_servers == NIL)
		return;
	registry_error_location = def->shard_servers_location;
	if (def->partition_method != 'h')
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature group \"%s\" can be sharded ON SERVERS only with PARTITION BY HASH",
						def->name),
				 errhint("Shards hold entities: write PARTITION BY HASH (<key columns>) PARTITIONS n ON SERVERS (...).")));
	CheckShardGroupDef(def);
	foreach(lc, def->shard_servers)
	{
		char	   *name = lfirst(lc);

		for (int i = 0; i < foreach_current_index(lc); i++)
			if (strcmp(list_nth(def->shard_servers, i), name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_OBJECT),
						 errmsg("server \"%s\" appears twice in ON SERVERS of feature group \"%s\"",
								name, def->name),
						 errhint("Name each shard server once.")));
		CheckShardServer(def->name, name);
		p->servers = lappend(p->servers, pstrdup(name));
	}
	if (p->nparts < list_length(p->servers))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("feature group \"%s\" has %d partitions for %d shard servers",
						def->name, p->nparts, list_length(p->servers)),
				 errhint("Give at least one partition per server: PARTITIONS %d or more.",
						 list_length(p->servers))));
	p->shard_schemas = palloc0(sizeof(char *) * p->nparts);
	p->shard_tables = palloc0(sizeof(char *) * p->nparts);
}

/*
 * CheckShardGroupDef refuses what a sharded group cannot keep: a query
 * that fills it (run on the coordinator, every row would cross to the
 * shards one by one), ONLINE on the coordinator (the shards serve their
 * own entities), and PII features (their masking would have to happen on
 * each shard, for the shard's role, not the reader's).
 */
static void
CheckShardGroupDef(const FsGroupDef *def)
{
	ListCell   *lc;

	if (def->query_text)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature group \"%s\" is filled by a scheduled query and cannot be sharded",
						def->name),
				 errhint("Leave out ON SERVERS, or fill the sharded group with INSERT ... SELECT.")));
	if (def->online)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("sharded feature group \"%s\" cannot be ONLINE on the coordinator",
						def->name),
				 errhint("Each shard serves its own entities: leave out ONLINE, then run ALTER FEATURE GROUP %s SET ONLINE on every shard.",
						 quote_identifier(def->name))));
	foreach(lc, def->features)
	{
		FsFeatureDef *fd = lfirst(lc);

		if (fd->pii)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("feature \"%s\" of sharded feature group \"%s\" cannot be PII",
							fd->name, def->name),
					 errhint("A pushed-down join is masked by no one: keep PII features in a group that is not sharded.")));
	}
}

/*
 * CheckShardServer checks one server of ON SERVERS: a postgres_fdw server
 * that lists featstore in its extensions (so that the marker is shipped),
 * on which the calling role has USAGE and a user mapping (its own or
 * PUBLIC's), which is what it will connect to the shard as.
 */
static void
CheckShardServer(const char *group_name, const char *name)
{
	ForeignServer *srv = GetForeignServerByName(name, true);
	ForeignDataWrapper *fdw;
	Oid			role = GetUserId();

	if (srv == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("server \"%s\" of feature group \"%s\" does not exist", name, group_name),
				 errhint("Create it with CREATE SERVER %s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '...', dbname '...', extensions 'featstore').",
						 quote_identifier(name))));
	fdw = GetForeignDataWrapper(srv->fdwid);
	if (strcmp(fdw->fdwname, "postgres_fdw") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" of feature group \"%s\" uses foreign-data wrapper \"%s\", not postgres_fdw",
						name, group_name, fdw->fdwname),
				 errhint("Shards are PostgreSQL servers with featstore: create a server with FOREIGN DATA WRAPPER postgres_fdw.")));
	if (pg_foreign_server_aclcheck(srv->serverid, role, ACL_USAGE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for foreign server \"%s\"", name),
				 errhint("The server's owner can run GRANT USAGE ON FOREIGN SERVER %s TO %s.",
						 quote_identifier(name), quote_identifier(GetUserNameFromId(role, false)))));
	if (!SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(role),
							   ObjectIdGetDatum(srv->serverid)) &&
		!SearchSysCacheExists2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
							   ObjectIdGetDatum(srv->serverid)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("role \"%s\" has no user mapping for server \"%s\"",
						GetUserNameFromId(role, false), name),
				 errhint("Create one with CREATE USER MAPPING FOR %s SERVER %s OPTIONS (user '...', password '...').",
						 quote_identifier(GetUserNameFromId(role, false)), quote_identifier(name))));
	if (!ServerListsFeatstore(srv))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("server \"%s\" does not list featstore in its extensions option", name),
				 errhint("Without it postgres_fdw ships no featstore.pit_match() and the join cannot run on the shard: ALTER SERVER %s OPTIONS (ADD extensions 'featstore').",
						 quote_identifier(name))));
}

/* ServerListsFeatstore says whether a server's extensions option names featstore */
static bool
ServerListsFeatstore(ForeignServer *srv)
{
	ListCell   *lc;

	foreach(lc, srv->options)
	{
		DefElem    *opt = lfirst(lc);
		List	   *names = NIL;
		ListCell   *nc;

		if (strcmp(opt->defname, "extensions") != 0)
			continue;
		if (!SplitIdentifierString(pstrdup(defGetString(opt)), ',', &names))
			return false;
		foreach(nc, names)
		{
			if (strcmp(lfirst(nc), "featstore") == 0)
				return true;
		}
	}
	return false;
}

/* RegistryStoreShards records a new sharded group's layout (SPI connected), as the owner */
void
RegistryStoreShards(const char *group_name, const FsPartitioning *p)
{
	Oid			types[5] = {TEXTOID, INT4OID, NAMEOID, NAMEOID, NAMEOID};
	Datum		values[5];
	int			nservers = list_length(p->servers);

	if (nservers == 0)
		return;
	values[0] = CStringGetTextDatum(group_name);
	for (int r = 0; r < p->nparts; r++)
	{
		values[1] = Int32GetDatum(r);
		values[2] = DirectFunctionCall1(namein, CStringGetDatum(list_nth(p->servers, r % nservers)));
		values[3] = DirectFunctionCall1(namein, CStringGetDatum(p->shard_schemas[r]));
		values[4] = DirectFunctionCall1(namein, CStringGetDatum(p->shard_tables[r]));
		RegSpi("INSERT INTO featstore.group_shards (group_name, remainder, server_name,"
			   " remote_schema, remote_table) VALUES ($1, $2, $3, $4, $5)",
			   5, types, values, NULL, true);
	}
}

/*
 * RegistryGroupShardServers returns the servers a sharded group's
 * partitions read (of char *), or NIL for a group that is not sharded (or
 * a registry from before the table).  It runs its own SPI connection.
 */
List *
RegistryGroupShardServers(const char *group_name)
{
	Oid			nsp = FeatstoreSchemaOid(true);
	Datum		arg = CStringGetTextDatum(group_name);
	Oid			argtype = TEXTOID;
	MemoryContext callercxt = CurrentMemoryContext;
	List	   *result = NIL;

	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("group_shards", nsp)))
		return NIL;
	SPI_connect();
	RegSpi("SELECT DISTINCT server_name::text FROM featstore.group_shards WHERE group_name = $1",
		   1, &argtype, &arg, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = RegGetText((int) i, 1);
		MemoryContext oldcxt = MemoryContextSwitchTo(callercxt);

		result = lappend(result, pstrdup(name));
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();
	return result;
}

/* RegistryGroupIsSharded says whether a group's history lives on shard servers */
bool
RegistryGroupIsSharded(const char *group_name)
{
	return RegistryGroupShardServers(group_name) != NIL;
}

/*
 * RegistryCheckShardAlter refuses the ALTER FEATURE GROUP actions a
 * sharded group cannot follow: those that change the history's columns
 * (the shards' tables would no longer match the coordinator's foreign
 * partitions), SET TTL (the shards' groups, which serve online, keep
 * theirs), SET ONLINE on the coordinator, and SET PII.
 */
void
RegistryCheckShardAlter(const char *group_name, const FsAlterAction *act)
{
	const char *what = NULL;

	if (act->kind == FS_ALTER_ADD_FEATURE)
		what = "ADD FEATURE";
	else if (act->kind == FS_ALTER_FEATURE_TYPE)
		what = "a feature's TYPE change";
	else if (act->kind == FS_ALTER_SET_TTL)
		what = "SET TTL";
	else if (act->kind == FS_ALTER_SET_ONLINE && act->bool_value)
		what = "SET ONLINE on the coordinator";
	else if (act->kind == FS_ALTER_FEATURE_PII && act->bool_value)
		what = "SET PII";
	if (what == NULL || !RegistryGroupIsSharded(group_name))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("feature group \"%s\" is sharded and does not support %s", group_name, what),
			 errhint("The definition of a sharded group is fixed: create a new group (ON SERVERS) and copy the rows with INSERT ... SELECT; SET ONLINE is run on each shard.")));
}

/*
 * RegistryShardDdl writes, into p->shard_ddl, the featstore statements that
 * make the group on each shard: its entity if the shard lacks it, and the
 * same group (keys, features, TTL) hash-partitioned the same way, so that
 * the shard's partition r holds exactly the coordinator's remainder r.
 * Types are written schema-qualified, names quoted.
 */
void
RegistryShardDdl(const FsGroupDef *def, List *keys, List *features, FsPartitioning *p)
{
	StringInfoData s;
	ListCell   *lc;

	if (p->servers == NIL)
		return;
	initStringInfo(&s);
	appendStringInfo(&s, "CREATE ENTITY IF NOT EXISTS %s (", quote_identifier(def->entity_name));
	foreach(lc, keys)
	{
		FsKeyColumn *k = lfirst(lc);

		appendStringInfo(&s, "%s%s %s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(k->name), format_type_be_qualified(k->typid));
	}
	appendStringInfo(&s, ");\nCREATE FEATURE GROUP %s ENTITY %s FEATURES (",
					 quote_identifier(def->name), quote_identifier(def->entity_name));
	foreach(lc, features)
	{
		FsFeature  *f = lfirst(lc);

		appendStringInfo(&s, "%s%s %s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(f->name),
						 format_type_extended(f->typid, f->typmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
	}
	appendStringInfoChar(&s, ')');
	if (def->has_ttl && def->ttl_text)
		appendStringInfo(&s, " TTL %s", quote_literal_cstr(def->ttl_text));
	appendStringInfoString(&s, " PARTITION BY HASH (");
	foreach(lc, p->hash_columns)
		appendStringInfo(&s, "%s%s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(strVal(lfirst(lc))));
	appendStringInfo(&s, ") PARTITIONS %d", p->nparts);
	if (def->description)
		appendStringInfo(&s, " DESCRIPTION %s", quote_literal_cstr(def->description));
	appendStringInfoChar(&s, ';');
	p->shard_ddl = s.data;
	p->shard_group = pstrdup(def->name);
}
