/*
 * offline_shard.c
 *		Sharded history (issue 14): the group made on each shard, and the
 *		coordinator's partitions as postgres_fdw foreign tables.
 *
 * The shards are reached through contrib's dblink, with a foreign server's
 * name: dblink then connects with that server's options and the calling
 * role's user mapping, checks USAGE on the server, and applies
 * PostgreSQL's rule that a role that is not a superuser must authenticate
 * with a password, exactly as postgres_fdw will for every read.  Each shard
 * runs featstore's own statements (featstore.exec), as the mapping's
 * remote role, in one remote transaction per shard.
 *
 * A remote statement is not undone by the coordinator's rollback.  So the
 * shards are checked first (featstore installed, no group of that name);
 * if a shard's creation then fails, the groups already made on earlier
 * shards are dropped again before the error is raised.  A coordinator
 * transaction that rolls back after the statement succeeded leaves the
 * shards' (empty) groups behind: docs/ddl.md says how to drop them.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "extension.h"
#include "featstore.h"
#include "offline/offline.h"
#include "registry/registry.h"

static char *DblinkFunction(void);
static void RunShardDdl(const char *sql);
static char *ShardQuery(const char *dblink, const char *server, const char *sql,
						const char *coldefs);
static void CheckShardReady(const char *dblink, const char *server, const char *group);
static void CreateOnShard(const char *dblink, const FsPartitioning *p, int shard);
static void DropOnShards(const char *dblink, const FsPartitioning *p, int upto);
static void ReadShardPartitions(const char *dblink, const FsPartitioning *p, int shard);

/*
 * DblinkFunction returns dblink(text, text), schema-qualified, or fails:
 * ON SERVERS needs contrib's dblink in this database (featstore itself
 * does not require it).
 */
static char *
DblinkFunction(void)
{
	int			rc;

	rc = SPI_execute("SELECT n.nspname::text FROM pg_catalog.pg_extension e"
					 " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
					 " WHERE e.extname = 'dblink'", true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ON SERVERS needs the dblink extension, which is not installed in this database"),
				 errhint("Run CREATE EXTENSION dblink; featstore uses it to create the group on each shard.")));
	return psprintf("%s.dblink",
					quote_identifier(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)));
}

/* RunShardDdl executes one statement on the coordinator (SPI connected) */
static void
RunShardDdl(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "featstore could not run \"%s\": %s", sql, SPI_result_code_string(rc));
}

/*
 * ShardQuery runs one query on a shard through dblink (SPI connected, as
 * the calling role) and returns the first column of its first row, or
 * NULL; coldefs is dblink's column definition list.
 */
static char *
ShardQuery(const char *dblink, const char *server, const char *sql, const char *coldefs)
{
	char	   *q = psprintf("SELECT * FROM %s($1, $2) AS t(%s)", dblink, coldefs);
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(server), CStringGetTextDatum(sql)};
	int			rc = SPI_execute_with_args(q, 2, types, values, NULL, false, 0);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "featstore could not query shard \"%s\": %s", server,
			 SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * CheckShardReady checks, before anything is created anywhere, that a
 * shard has featstore and no group of this name yet
 */
static void
CheckShardReady(const char *dblink, const char *server, const char *group)
{
	char	   *v;

	v = ShardQuery(dblink, server,
				   "SELECT (pg_catalog.to_regclass('featstore.feature_groups') IS NOT NULL)::text",
				   "ok pg_catalog.text");
	if (v == NULL || strcmp(v, "true") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("featstore is not installed on shard server \"%s\"", server),
				 errhint("Run CREATE EXTENSION featstore in the database the server connects to.")));
	v = ShardQuery(dblink, server,
				   psprintf("SELECT count(*)::text FROM featstore.feature_groups WHERE name = %s",
							quote_literal_cstr(group)),
				   "n pg_catalog.text");
	if (v == NULL || strcmp(v, "0") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("feature group \"%s\" already exists on shard server \"%s\"", group, server),
				 errhint("Drop it on the shard (SELECT featstore.exec('DROP FEATURE GROUP %s') there), or choose another name.",
						 quote_identifier(group))));
}

/* CreateOnShard makes the group on one shard, in one remote transaction */
static void
CreateOnShard(const char *dblink, const FsPartitioning *p, int shard)
{
	const char *server = list_nth(p->servers, shard);

	(void) ShardQuery(dblink, server,
					  psprintf("SELECT count(*)::text FROM featstore.exec(%s)",
							   quote_literal_cstr(p->shard_ddl)),
					  "n pg_catalog.text");
	ReadShardPartitions(dblink, p, shard);
}

/*
 * ReadShardPartitions reads the names of the partitions of the shard's new
 * group whose remainders this shard holds into p->shard_schemas/tables
 */
static void
ReadShardPartitions(const char *dblink, const FsPartitioning *p, int shard)
{
	const char *server = list_nth(p->servers, shard);
	int			nservers = list_length(p->servers);
	char	   *sql;
	char	   *q;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	int			rc;

	sql = psprintf("SELECT (pg_catalog.regexp_match(pg_catalog.pg_get_expr(pc.relpartbound, pc.oid),"
				   " 'remainder (\\d+)'))[1]::int, pn.nspname::text, pc.relname::text"
				   " FROM featstore.feature_groups g"
				   " JOIN pg_catalog.pg_namespace n ON n.nspname = g.schema_name"
				   " JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = g.table_name"
				   " JOIN pg_catalog.pg_inherits i ON i.inhparent = c.oid"
				   " JOIN pg_catalog.pg_class pc ON pc.oid = i.inhrelid"
				   " JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace"
				   " WHERE g.name = %s", quote_literal_cstr(p->shard_group));
	q = psprintf("SELECT * FROM %s($1, $2) AS t(r pg_catalog.int4, s pg_catalog.text, t pg_catalog.text)", dblink);
	values[0] = CStringGetTextDatum(server);
	values[1] = CStringGetTextDatum(sql);
	rc = SPI_execute_with_args(q, 2, types, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "featstore could not read the partitions on shard \"%s\"", server);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int			r = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1, &isnull));
		char	   *schema = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		char	   *table = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);

		if (isnull || schema == NULL || table == NULL ||
			r < 0 || r >= p->nparts || r % nservers != shard)
			continue;
		p->shard_schemas[r] = MemoryContextStrdup(TopTransactionContext, schema);
		p->shard_tables[r] = MemoryContextStrdup(TopTransactionContext, table);
	}
	for (int r = shard; r < p->nparts; r += nservers)
		if (p->shard_tables[r] == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("shard server \"%s\" has no partition with remainder %d of feature group \"%s\"",
							server, r, p->shard_group),
					 errhint("The shard's featstore must make PARTITION BY HASH groups (featstore 0.3.0 or later).")));
}

/*
 * DropOnShards drops the group again on the shards before the one that
 * failed, each in a subtransaction of its own so that one failure does not
 * stop the others; what cannot be dropped is reported in a WARNING.
 */
static void
DropOnShards(const char *dblink, const FsPartitioning *p, int upto)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	for (int i = 0; i < upto; i++)
	{
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			(void) ShardQuery(dblink, list_nth(p->servers, i),
							  psprintf("SELECT count(*)::text FROM featstore.exec(%s)",
									   quote_literal_cstr(psprintf("DROP FEATURE GROUP IF EXISTS %s",
																   quote_identifier(p->shard_group)))),
							  "n pg_catalog.text");
			ReleaseCurrentSubTransaction();
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			ereport(WARNING,
					(errmsg("could not drop feature group \"%s\" again on shard server \"%s\": %s",
							p->shard_group, (char *) list_nth(p->servers, i), edata->message),
					 errhint("Drop it on the shard by hand.")));
		}
		PG_END_TRY();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
}

/*
 * OfflineCreateShardGroups makes a sharded group's own group on every
 * shard (SPI connected, as the calling role) and records, in p, the
 * shard's table of each remainder.  See the head of this file for what
 * happens when a shard fails.
 */
void
OfflineCreateShardGroups(const FsPartitioning *p)
{
	char	   *dblink = DblinkFunction();
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ListCell   *lc;

	foreach(lc, p->servers)
		CheckShardReady(dblink, lfirst(lc), p->shard_group);
	foreach(lc, p->servers)
	{
		int			shard = foreach_current_index(lc);

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			CreateOnShard(dblink, p, shard);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			/* the failed shard's own creation may have committed there too */
			DropOnShards(dblink, p, shard + 1);
			ReThrowError(edata);
		}
		PG_END_TRY();
	}
}

/*
 * OfflineCreateForeignPartitions makes the coordinator's partitions of a
 * sharded group's table (SPI connected, as the calling role): remainder r
 * is a postgres_fdw foreign table on server r % count reading the shard's
 * partition r.  batch_size lets INSERT and COPY send rows in batches.
 */
void
OfflineCreateForeignPartitions(Oid relid, const FsPartitioning *p)
{
	Oid			nspid = get_rel_namespace(relid);
	char	   *nspname = get_namespace_name(nspid);
	char	   *qtable = quote_qualified_identifier(nspname, get_rel_name(relid));
	int			nservers = list_length(p->servers);

	for (int r = 0; r < p->nparts; r++)
	{
		char	   *name = ChooseRelationName(get_rel_name(relid), NULL,
											  psprintf("h%d", r), nspid, false);

		RunShardDdl(psprintf("CREATE FOREIGN TABLE %s PARTITION OF %s"
							 " FOR VALUES WITH (MODULUS %d, REMAINDER %d) SERVER %s"
							 " OPTIONS (schema_name %s, table_name %s, batch_size '1000')",
							 quote_qualified_identifier(nspname, name), qtable, p->nparts, r,
							 quote_identifier(list_nth(p->servers, r % nservers)),
							 quote_literal_cstr(p->shard_schemas[r]),
							 quote_literal_cstr(p->shard_tables[r])));
		CommandCounterIncrement();
	}
}
