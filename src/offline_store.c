/*
 * offline_store.c
 *		The offline store: one history table per feature group.
 *
 * A group's table holds every value it ever had: the entity key columns,
 * event_timestamp (when the value became true), created_at (when it was
 * written, stamped by the database unless the writer supplies it) and the
 * features.  A unique btree on (keys, event_timestamp, created_at) serves
 * the point-in-time join and makes exact ties between two rows impossible.
 *
 * The statements here run as the calling role through SPI, so PostgreSQL's
 * own privilege checks (CREATE on the schema, table ownership) apply.  Every
 * name is quoted; nothing the user wrote is pasted into SQL.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "featstore.h"
#include "registry.h"

PG_FUNCTION_INFO_V1(featstore_guard_drop);

static void RunDdl(const char *sql);
static char *QualifiedRelationName(Oid relid);

/* Set while DROP FEATURE GROUP drops a table, so the drop guard lets it pass */
static bool dropping_group_table = false;

/* OfflineCreateTable creates a group's history table, its index and comments */
Oid
OfflineCreateTable(const char *schema_name, const char *table_name,
				   const char *group_name, List *keys, List *features,
				   const char *description)
{
	StringInfoData sql;
	StringInfoData cols;
	char	   *qualified = quote_qualified_identifier(schema_name, table_name);
	char	   *index_name;
	Oid			nspid = get_namespace_oid(schema_name, false);
	Oid			relid;
	ListCell   *lc;

	initStringInfo(&sql);
	initStringInfo(&cols);
	appendStringInfo(&sql, "CREATE TABLE %s (", qualified);
	foreach(lc, keys)
	{
		FsKeyColumn *k = lfirst(lc);

		appendStringInfo(&sql, "%s %s NOT NULL, ", quote_identifier(k->name),
						 format_type_be(k->typid));
		appendStringInfo(&cols, "%s, ", quote_identifier(k->name));
	}
	appendStringInfo(&sql, "%s timestamptz NOT NULL, %s timestamptz NOT NULL DEFAULT clock_timestamp()",
					 FS_EVENT_TS_COLUMN, FS_CREATED_AT_COLUMN);
	foreach(lc, features)
	{
		FsFeature  *f = lfirst(lc);

		appendStringInfo(&sql, ", %s %s", quote_identifier(f->name),
						 format_type_with_typemod(f->typid, f->typmod));
	}
	appendStringInfoChar(&sql, ')');
	RunDdl(sql.data);

	index_name = ChooseRelationName(table_name, NULL, "pit_key", nspid, false);
	resetStringInfo(&sql);
	appendStringInfo(&sql, "CREATE UNIQUE INDEX %s ON %s (%s%s, %s)",
					 quote_identifier(index_name), qualified, cols.data,
					 FS_EVENT_TS_COLUMN, FS_CREATED_AT_COLUMN);
	RunDdl(sql.data);

	relid = get_relname_relid(table_name, nspid);

	resetStringInfo(&sql);
	appendStringInfo(&sql, "COMMENT ON INDEX %s IS %s",
					 quote_qualified_identifier(schema_name, index_name),
					 quote_literal_cstr(psprintf("featstore: point-in-time lookups of feature group %s; also forbids exact duplicate rows",
												 group_name)));
	RunDdl(sql.data);

	OfflineSetColumnComment(relid, NULL,
							description ? description : psprintf("featstore feature group %s", group_name));
	foreach(lc, keys)
	{
		FsKeyColumn *k = lfirst(lc);

		OfflineSetColumnComment(relid, k->name, "Entity key");
	}
	OfflineSetColumnComment(relid, FS_EVENT_TS_COLUMN,
							"When the values became true (event time)");
	OfflineSetColumnComment(relid, FS_CREATED_AT_COLUMN,
							"When the row was written (knowledge time); stamped by the database unless supplied");
	foreach(lc, features)
	{
		FsFeature  *f = lfirst(lc);

		if (f->description)
			OfflineSetColumnComment(relid, f->name, f->description);
	}
	return relid;
}

/* OfflineAddColumn adds a feature column to a group's history table */
void
OfflineAddColumn(Oid relid, const FsFeature *feature)
{
	RunDdl(psprintf("ALTER TABLE %s ADD COLUMN %s %s",
					QualifiedRelationName(relid), quote_identifier(feature->name),
					format_type_with_typemod(feature->typid, feature->typmod)));
	if (feature->description)
		OfflineSetColumnComment(relid, feature->name, feature->description);
}

/* OfflineSetColumnComment sets a column's comment, or the table's when column is NULL */
void
OfflineSetColumnComment(Oid relid, const char *column, const char *comment)
{
	const char *value = comment ? quote_literal_cstr(comment) : "NULL";

	if (column)
		RunDdl(psprintf("COMMENT ON COLUMN %s.%s IS %s", QualifiedRelationName(relid),
						quote_identifier(column), value));
	else
		RunDdl(psprintf("COMMENT ON TABLE %s IS %s", QualifiedRelationName(relid), value));
}

/* OfflineDropTable drops a group's history table */
void
OfflineDropTable(Oid relid, bool cascade)
{
	char	   *sql = psprintf("DROP TABLE %s%s", QualifiedRelationName(relid),
							   cascade ? " CASCADE" : "");

	dropping_group_table = true;
	PG_TRY();
	{
		RunDdl(sql);
	}
	PG_FINALLY();
	{
		dropping_group_table = false;
	}
	PG_END_TRY();
}

/*
 * featstore_guard_drop is a sql_drop event trigger that refuses to drop a
 * group's history table other than through DROP FEATURE GROUP, which would
 * leave a registered group without its values.  It also catches DROP SCHEMA
 * ... CASCADE and DROP OWNED reaching a group table.
 */
Datum
featstore_guard_drop(PG_FUNCTION_ARGS)
{
	Oid			save_userid;
	int			save_sec;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("featstore_guard_drop must be called as an event trigger")));
	if (dropping_group_table)
		PG_RETURN_NULL();
	/* DROP EXTENSION featstore itself: the registry is going away too */
	if (!OidIsValid(get_relname_relid("feature_groups", FeatstoreSchemaOid(true))))
		PG_RETURN_NULL();

	SPI_connect();
	FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
	if (SPI_execute("SELECT g.name, d.object_identity "
					"FROM pg_catalog.pg_event_trigger_dropped_objects() d "
					"JOIN featstore.feature_groups g "
					"  ON g.schema_name = d.schema_name AND g.table_name = d.object_name "
					"WHERE d.object_type = 'table' AND NOT d.is_temporary "
					"ORDER BY 1 LIMIT 1", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "featstore could not inspect dropped objects");
	FeatstoreEndRegistryWrite(save_userid, save_sec);
	if (SPI_processed > 0)
	{
		char	   *group = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		char	   *table = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop table %s because feature group \"%s\" keeps its history in it",
						table, group),
				 errhint("Use DROP FEATURE GROUP %s to drop the group together with its table.",
						 quote_identifier(group))));
	}
	SPI_finish();
	PG_RETURN_NULL();
}

/* RunDdl executes one utility statement as the current role (SPI connected) */
static void
RunDdl(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "featstore could not run \"%s\": %s", sql, SPI_result_code_string(rc));
}

/* QualifiedRelationName returns schema.table for a relation, both quoted */
static char *
QualifiedRelationName(Oid relid)
{
	char	   *relname = get_rel_name(relid);

	if (relname == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname);
}
