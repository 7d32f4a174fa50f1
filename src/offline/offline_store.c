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
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "extension.h"
#include "featstore.h"
#include "offline/offline.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(featstore_guard_drop);
PG_FUNCTION_INFO_V1(featstore_guard_alter);
PG_FUNCTION_INFO_V1(featstore_guard_code);

static void GuardColumnChange(RangeVar *relation, const char *column, int subtype);
static void GuardSourceColumnChange(Oid relid, const char *column, int subtype);
static char *OnlineSourceGroupOf(Oid relid);
static bool HasCaptureTriggers(Oid relid);
static void GuardTableChange(RangeVar *relation, const char *action, const char *rulename);
static void GuardCaptureTrigger(RangeVar *relation, const char *trigname, const char *action);
static void RunDdl(const char *sql);
static void CreateHistoryIndexes(const char *schema_name, const char *table_name,
								 const char *group_name, const char *cols, Oid nspid);
static void SetHistoryComments(Oid relid, List *keys, List *features, const char *description,
							   const char *group_name);
static void CreateEventIndex(const char *schema_name, const char *table_name,
							 const char *group_name, Oid nspid);
static char *QualifiedRelationName(Oid relid);

/* Set while DROP FEATURE GROUP drops a table, so the drop guard lets it pass */
static bool dropping_group_table = false;

/* Set while featstore itself attaches or detaches capture triggers */
bool		featstore_capture_ddl = false;

/*
 * CreateEventIndex creates the BRIN index on event_timestamp of a history
 * table: statistics read a period's rows (docs/monitoring.md), and rows
 * arrive roughly in event order, so a few block ranges hold a period and
 * the index is a few pages whatever the table's size.
 */
static void
CreateEventIndex(const char *schema_name, const char *table_name, const char *group_name,
				 Oid nspid)
{
	StringInfoData sql;
	char	   *index_name = ChooseRelationName(table_name, NULL, "event_brin", nspid, false);

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE INDEX %s ON %s USING brin (%s)",
					 quote_identifier(index_name),
					 quote_qualified_identifier(schema_name, table_name), FS_EVENT_TS_COLUMN);
	RunDdl(sql.data);
	resetStringInfo(&sql);
	appendStringInfo(&sql, "COMMENT ON INDEX %s IS %s",
					 quote_qualified_identifier(schema_name, index_name),
					 quote_literal_cstr(psprintf("featstore: reads of a period of feature group %s by event time (statistics)",
												 group_name)));
	RunDdl(sql.data);
}

/*
 * OfflineCreateTable creates a group's history table, its indexes and
 * comments; with part (method not 0) a partitioned table and its first
 * partitions, which inherit the indexes made on the parent
 */
Oid
OfflineCreateTable(const char *schema_name, const char *table_name,
				   const char *group_name, List *keys, List *features,
				   const char *description, const FsPartitioning *part)
{
	StringInfoData sql;
	StringInfoData cols;
	char	   *qualified = quote_qualified_identifier(schema_name, table_name);
	Oid			nspid = get_namespace_oid(schema_name, false);
	Oid			relid;
	bool		sharded;
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
	if (part && part->method != 0)
		appendStringInfoString(&sql, OfflinePartitionClause(part));
	sharded = part && part->servers != NIL;
	if (sharded)
		OfflineCreateShardGroups(part);
	RunDdl(sql.data);

	/*
	 * A sharded table's partitions are foreign tables, which take no
	 * index (nor a unique one on the parent): each shard's group has its
	 * own.
	 */
	if (!sharded)
		CreateHistoryIndexes(schema_name, table_name, group_name, cols.data, nspid);
	relid = get_relname_relid(table_name, nspid);
	SetHistoryComments(relid, keys, features, description, group_name);
	if (sharded)
		OfflineCreateForeignPartitions(relid, part);
	else if (part && part->method != 0)
		OfflineCreatePartitions(relid, part, group_name);
	return relid;
}

/*
 * CreateHistoryIndexes makes a history table's unique point-in-time index
 * (keys, event_timestamp, created_at) and its BRIN index on event_timestamp
 */
static void
CreateHistoryIndexes(const char *schema_name, const char *table_name,
					 const char *group_name, const char *cols, Oid nspid)
{
	StringInfoData sql;
	char	   *qualified = quote_qualified_identifier(schema_name, table_name);
	char	   *index_name;

	initStringInfo(&sql);
	index_name = ChooseRelationName(table_name, NULL, "pit_key", nspid, false);
	appendStringInfo(&sql, "CREATE UNIQUE INDEX %s ON %s (%s%s, %s)",
					 quote_identifier(index_name), qualified, cols,
					 FS_EVENT_TS_COLUMN, FS_CREATED_AT_COLUMN);
	RunDdl(sql.data);

	resetStringInfo(&sql);
	appendStringInfo(&sql, "COMMENT ON INDEX %s IS %s",
					 quote_qualified_identifier(schema_name, index_name),
					 quote_literal_cstr(psprintf("featstore: point-in-time lookups of feature group %s; also forbids exact duplicate rows",
												 group_name)));
	RunDdl(sql.data);
	CreateEventIndex(schema_name, table_name, group_name, nspid);
}

/* SetHistoryComments comments a new history table and its columns */
static void
SetHistoryComments(Oid relid, List *keys, List *features, const char *description,
				   const char *group_name)
{
	ListCell   *lc;

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
}

/*
 * OfflineCreateGroupView creates the relation of a group defined FROM a
 * source: a view over featstore.window_timeline(group), with the keys,
 * event_timestamp, created_at and the features as columns, like a history
 * table's.  The calling role creates it and so owns it, as it would own a
 * history table; the types are written with search_path pinned, so the
 * view means the built-in types whatever the caller's path holds.
 */
Oid
OfflineCreateGroupView(const char *schema_name, const char *view_name,
					   const char *group_name, List *keys, List *features,
					   const char *description)
{
	StringInfoData sql;
	char	   *qualified = quote_qualified_identifier(schema_name, view_name);
	Oid			relid;
	int			save_nestlevel;
	ListCell   *lc;

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE VIEW %s AS SELECT * FROM featstore.window_timeline(%s) AS w(",
					 qualified, quote_literal_cstr(group_name));
	foreach(lc, keys)
	{
		FsKeyColumn *k = lfirst(lc);

		appendStringInfo(&sql, "%s %s, ", quote_identifier(k->name),
						 format_type_be_qualified(k->typid));
	}
	appendStringInfo(&sql, "%s pg_catalog.timestamptz, %s pg_catalog.timestamptz",
					 FS_EVENT_TS_COLUMN, FS_CREATED_AT_COLUMN);
	foreach(lc, features)
	{
		FsFeature  *f = lfirst(lc);

		appendStringInfo(&sql, ", %s %s", quote_identifier(f->name),
						 format_type_extended(f->typid, f->typmod,
												  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
	}
	appendStringInfoChar(&sql, ')');
	save_nestlevel = FeatstorePinSearchPath();
	RunDdl(sql.data);
	AtEOXact_GUC(true, save_nestlevel);

	relid = get_relname_relid(view_name, get_namespace_oid(schema_name, false));
	OfflineSetColumnComment(relid, NULL,
							description ? description :
							psprintf("featstore feature group %s, computed from its source", group_name));
	foreach(lc, keys)
		OfflineSetColumnComment(relid, ((FsKeyColumn *) lfirst(lc))->name, "Entity key");
	OfflineSetColumnComment(relid, FS_EVENT_TS_COLUMN,
							"The time of the source event at which the features are computed");
	OfflineSetColumnComment(relid, FS_CREATED_AT_COLUMN,
							"When that event was written (its CREATED column; its event time without one)");
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

/*
 * OfflineSetColumnComment sets a column's comment, or the table's (or the
 * view's) when column is NULL
 */
void
OfflineSetColumnComment(Oid relid, const char *column, const char *comment)
{
	const char *value = comment ? quote_literal_cstr(comment) : "NULL";

	if (column)
		RunDdl(psprintf("COMMENT ON COLUMN %s.%s IS %s", QualifiedRelationName(relid),
						quote_identifier(column), value));
	else
		RunDdl(psprintf("COMMENT ON %s %s IS %s",
						get_rel_relkind(relid) == RELKIND_VIEW ? "VIEW" : "TABLE",
						QualifiedRelationName(relid), value));
}

/*
 * OfflineDropTable drops a group's history table, or the view of a group
 * defined FROM a source (never the source itself)
 */
void
OfflineDropTable(Oid relid, bool cascade)
{
	char	   *sql = psprintf("DROP %s %s%s",
							   get_rel_relkind(relid) == RELKIND_VIEW ? "VIEW" : "TABLE",
							   QualifiedRelationName(relid), cascade ? " CASCADE" : "");

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
 * group's history table (or a source group's view) other than through DROP
 * FEATURE GROUP, which would leave a registered group without its values,
 * and to drop the source relation a group is computed from.  It also
 * catches DROP SCHEMA ... CASCADE and DROP OWNED reaching one of them.
 */
Datum
featstore_guard_drop(PG_FUNCTION_ARGS)
{
	char	   *group;
	char	   *table = NULL;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("featstore_guard_drop must be called as an event trigger")));
	if (dropping_group_table)
		PG_RETURN_NULL();
	/* DROP EXTENSION featstore itself: the registry is going away too */
	if (!RegistryIsInstalled())
		PG_RETURN_NULL();

	group = RegistryDroppedGroup(&table);
	if (group != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop table %s because feature group \"%s\" keeps its history in it",
						table, group),
				 errhint("Use DROP FEATURE GROUP %s to drop the group together with its table.",
						 quote_identifier(group))));
	group = RegistryDroppedGroupView(&table);
	if (group != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop view %s because feature group \"%s\" is read through it",
						table, group),
				 errhint("Use DROP FEATURE GROUP %s to drop the group together with its view.",
						 quote_identifier(group))));
	group = RegistryDroppedSource(&table);
	if (group != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop %s because feature group \"%s\" is computed from it",
						table, group),
				 errhint("Drop the group first with DROP FEATURE GROUP %s.",
						 quote_identifier(group))));
	PG_RETURN_NULL();
}

/*
 * featstore_guard_alter is a ddl_command_start event trigger that refuses
 * the changes to a group's history table that would take it out of the
 * registry's shape: changing the type of, dropping, renaming or (for keys
 * and timestamps) dropping NOT NULL from a column featstore manages,
 * renaming the table or moving it to another schema (the registry refers
 * to it by name), and any rule on it (a rule turns it into a view or
 * bypasses change capture).  Everything else (indexes, triggers, policies,
 * comments, unmanaged columns) stays the owner's to do.  featstore's own
 * changes to the table (ADD FEATURE) are additions, which pass.
 *
 * A superuser can run without event triggers; RegistryCheckGroupTable then
 * still stops every read of a table that lost its shape.
 */
Datum
featstore_guard_alter(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Node	   *stmt;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("featstore_guard_alter must be called as an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	stmt = trigdata->parsetree;
	if (!IsA(stmt, AlterTableStmt) && !IsA(stmt, RenameStmt) &&
		!IsA(stmt, AlterObjectSchemaStmt) && !IsA(stmt, RuleStmt) &&
		!(IsA(stmt, ViewStmt) && ((ViewStmt *) stmt)->replace) &&
		!(IsA(stmt, DropStmt) && ((DropStmt *) stmt)->removeType == OBJECT_TRIGGER))
		PG_RETURN_NULL();
	/* DROP EXTENSION featstore, or featstore being created: no registry yet */
	if (!RegistryIsInstalled())
		PG_RETURN_NULL();

	SPI_connect();
	if (IsA(stmt, AlterTableStmt))
	{
		AlterTableStmt *ats = (AlterTableStmt *) stmt;
		ListCell   *lc;

		foreach(lc, ats->cmds)
		{
			AlterTableCmd *cmd = lfirst(lc);

			if (cmd->subtype == AT_AlterColumnType || cmd->subtype == AT_DropColumn ||
				cmd->subtype == AT_DropNotNull)
				GuardColumnChange(ats->relation, cmd->name, cmd->subtype);
			else if (cmd->subtype == AT_DisableTrig || cmd->subtype == AT_EnableReplicaTrig)
				GuardCaptureTrigger(ats->relation, cmd->name, "disable");
			else if (cmd->subtype == AT_DisableTrigAll || cmd->subtype == AT_DisableTrigUser)
				GuardCaptureTrigger(ats->relation, NULL, "disable");
		}
	}
	else if (IsA(stmt, DropStmt))
	{
		ListCell   *lc;

		/* each object is [schema.]table.trigger */
		foreach(lc, ((DropStmt *) stmt)->objects)
		{
			List	   *names = lfirst(lc);

			if (list_length(names) < 2)
				continue;
			GuardCaptureTrigger(makeRangeVarFromNameList(list_truncate(list_copy(names),
																	   list_length(names) - 1)),
								strVal(llast(names)), "drop");
		}
	}
	else if (IsA(stmt, RenameStmt))
	{
		RenameStmt *rs = (RenameStmt *) stmt;

		if (rs->renameType == OBJECT_COLUMN)
			GuardColumnChange(rs->relation, rs->subname, -1);
		else if (rs->renameType == OBJECT_TABLE || rs->renameType == OBJECT_VIEW ||
				 rs->renameType == OBJECT_MATVIEW || rs->renameType == OBJECT_FOREIGN_TABLE)
			GuardTableChange(rs->relation, "rename", NULL);
	}
	else if (IsA(stmt, AlterObjectSchemaStmt))
	{
		AlterObjectSchemaStmt *aos = (AlterObjectSchemaStmt *) stmt;

		if (aos->relation != NULL)
			GuardTableChange(aos->relation, "move", NULL);
	}
	else if (IsA(stmt, ViewStmt))
		GuardTableChange(((ViewStmt *) stmt)->view, "replace", NULL);
	else
		GuardTableChange(((RuleStmt *) stmt)->relation, "rule",
						 ((RuleStmt *) stmt)->rulename);
	SPI_finish();
	PG_RETURN_NULL();
}

/*
 * GuardColumnChange refuses an ALTER TABLE subcommand (subtype, or -1 for
 * RENAME COLUMN) on a column featstore manages, in the named table or in
 * any group table that inherits from it (ALTER TABLE recurses to them).
 */
static void
GuardColumnChange(RangeVar *relation, const char *column, int subtype)
{
	Oid			relid = RangeVarGetRelid(relation, NoLock, true);
	List	   *tables;
	ListCell   *lc;
	char		relkind;

	if (!OidIsValid(relid) || column == NULL)
		return;
	relkind = get_rel_relkind(relid);
	if (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE)
		tables = find_all_inheritors(relid, NoLock, NULL);
	else
		tables = list_make1_oid(relid);
	foreach(lc, tables)
		GuardSourceColumnChange(lfirst_oid(lc), column, subtype);
	foreach(lc, tables)
	{
		char	   *group_name = RegistryGroupOfTable(lfirst_oid(lc));
		FsGroup    *group;
		const char *what = NULL;
		bool		feature = false;
		char	   *table;
		char	   *gq;
		ListCell   *kc;

		if (group_name == NULL)
			continue;
		group = RegistryLookupGroup(group_name, false);
		table = QualifiedRelationName(lfirst_oid(lc));
		gq = pstrdup(quote_identifier(group->name));
		foreach(kc, group->keys)
			if (strcmp(((FsKeyColumn *) lfirst(kc))->name, column) == 0)
				what = "key column";
		if (strcmp(column, FS_EVENT_TS_COLUMN) == 0 || strcmp(column, FS_CREATED_AT_COLUMN) == 0)
			what = "column";
		foreach(kc, group->features)
			if (strcmp(((FsFeature *) lfirst(kc))->name, column) == 0)
			{
				what = "feature column";
				feature = true;
			}
		if (what == NULL)
			continue;

		if (subtype == AT_AlterColumnType)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot change the type of %s \"%s\" of table %s: feature group \"%s\" manages it",
							what, column, table, group->name),
					 feature ?
					 errhint("A feature's type never changes in place: add a new feature with ALTER FEATURE GROUP %s ADD FEATURE %s <type>, then DEPRECATE FEATURE %s.",
							 gq, quote_identifier(psprintf("%s_v2", column)), quote_identifier(column)) :
					 errhint("Keys and timestamps are fixed for the group's life: create a new group with CREATE FEATURE GROUP, or drop this one with DROP FEATURE GROUP %s.", gq)));
		else if (subtype == AT_DropColumn)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot drop %s \"%s\" of table %s: feature group \"%s\" manages it",
							what, column, table, group->name),
					 feature ?
					 errhint("Retire the feature with ALTER FEATURE GROUP %s DEPRECATE FEATURE %s; its values stay for the models trained on them.",
							 gq, quote_identifier(column)) :
					 errhint("Drop the whole group with DROP FEATURE GROUP %s.", gq)));
		else if (subtype == AT_DropNotNull)
		{
			if (feature)
				continue;		/* features are nullable anyway */
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot drop NOT NULL from %s \"%s\" of table %s: feature group \"%s\" needs it in every row",
							what, column, table, group->name),
					 errhint("Keys and timestamps are fixed for the group's life; drop the group with DROP FEATURE GROUP %s.", gq)));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot rename %s \"%s\" of table %s: feature group \"%s\" refers to it by name",
							what, column, table, group->name),
					 feature ?
					 errhint("Add the feature under its new name with ALTER FEATURE GROUP %s ADD FEATURE, then DEPRECATE FEATURE %s.",
							 gq, quote_identifier(column)) :
					 errhint("Keys and timestamps are fixed for the group's life: create a new group with CREATE FEATURE GROUP, or drop this one with DROP FEATURE GROUP %s.", gq)));
	}
}

/*
 * GuardSourceColumnChange refuses an ALTER TABLE subcommand (subtype, or -1
 * for RENAME COLUMN) that changes the type of, drops or renames a column
 * of relid that a group defined FROM relid reads: the group would compute
 * from another column, or fail at every read.  Other columns, and
 * additions, stay the source owner's to change.
 */
static void
GuardSourceColumnChange(Oid relid, const char *column, int subtype)
{
	List	   *groups;
	ListCell   *lc;

	if (subtype != AT_AlterColumnType && subtype != AT_DropColumn && subtype != -1)
		return;
	groups = RegistrySourceGroupsOf(relid);
	foreach(lc, groups)
	{
		FsGroup    *group = RegistryLookupGroup(lfirst(lc), true);
		char	   *table;

		if (group == NULL || !RegistrySourceReadsColumn(group, column))
			continue;
		table = QualifiedRelationName(relid);
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 subtype == AT_AlterColumnType ?
				 errmsg("cannot change the type of column \"%s\" of %s: feature group \"%s\" is computed from it",
						column, table, group->name) :
				 subtype == AT_DropColumn ?
				 errmsg("cannot drop column \"%s\" of %s: feature group \"%s\" is computed from it",
						column, table, group->name) :
				 errmsg("cannot rename column \"%s\" of %s: feature group \"%s\" is computed from it",
						column, table, group->name),
				 errhint("Drop the group first with DROP FEATURE GROUP %s, change the source, then create the group again.",
						 quote_identifier(group->name))));
	}
}

/*
 * GuardCaptureTrigger refuses dropping or disabling ("drop", "disable") the
 * capture triggers featstore put on a group's table, or on the source of an
 * online group computed FROM it (trigname NULL: all of the table's
 * triggers): the group's changes would stop reaching Redis while it is
 * still served from there.  featstore's own ALTER FEATURE GROUP
 * ... SET OFFLINE and DROP FEATURE GROUP pass.
 */
static void
GuardCaptureTrigger(RangeVar *relation, const char *trigname, const char *action)
{
	Oid			relid;
	char	   *group_name;
	char	   *table;

	if (featstore_capture_ddl ||
		(trigname != NULL && strncmp(trigname, "featstore_online_", 17) != 0))
		return;
	relid = RangeVarGetRelid(relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	if ((group_name = RegistryGroupOfTable(relid)) == NULL)
	{
		/* the source of an online group carries that group's triggers */
		if (trigname == NULL && !HasCaptureTriggers(relid))
			return;
		if ((group_name = OnlineSourceGroupOf(relid)) == NULL)
			return;
	}
	/* an offline group has no capture triggers: ALL or USER is harmless */
	else if (trigname == NULL &&
			 !OidIsValid(get_trigger_oid(relid, "featstore_online_insert", true)))
		return;
	table = QualifiedRelationName(relid);
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 trigname ?
			 errmsg("cannot %s trigger %s on table %s: feature group \"%s\" captures its changes with it",
					action, quote_identifier(trigname), table, group_name) :
			 errmsg("cannot disable all triggers on table %s: feature group \"%s\" captures its changes with featstore's triggers",
					table, group_name),
			 errhint("To stop serving the group from Redis, run ALTER FEATURE GROUP %s SET OFFLINE.",
					 quote_identifier(group_name))));
}

/*
 * OnlineSourceGroupOf returns the name of an ONLINE feature group computed
 * FROM relid, whose capture triggers are on relid, or NULL
 */
static char *
OnlineSourceGroupOf(Oid relid)
{
	ListCell   *lc;

	foreach(lc, RegistrySourceGroupsOf(relid))
	{
		FsGroup    *group = RegistryLookupGroup(lfirst(lc), true);

		if (group != NULL && group->online)
			return group->name;
	}
	return NULL;
}

/* HasCaptureTriggers says whether relid has a trigger named featstore_online_* (SPI connected) */
static bool
HasCaptureTriggers(Oid relid)
{
	Datum		arg = ObjectIdGetDatum(relid);
	Oid			argtype = OIDOID;

	if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1"
							  " AND pg_catalog.starts_with(tgname::pg_catalog.text, 'featstore_online_')",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the triggers of relation %u", relid);
	return SPI_processed > 0;
}

/*
 * GuardTableChange refuses renaming a group's table ("rename"), moving it
 * to another schema ("move") or creating a rule on it ("rule", rulename).
 */
static void
GuardTableChange(RangeVar *relation, const char *action, const char *rulename)
{
	Oid			relid = RangeVarGetRelid(relation, NoLock, true);
	char	   *group_name;
	char	   *table;
	List	   *sources;

	if (!OidIsValid(relid))
		return;
	if ((strcmp(action, "rename") == 0 || strcmp(action, "move") == 0) &&
		(sources = RegistrySourceGroupsOf(relid)) != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 strcmp(action, "rename") == 0 ?
				 errmsg("cannot rename %s: feature group \"%s\" is computed from it and names it",
						QualifiedRelationName(relid), (char *) linitial(sources)) :
				 errmsg("cannot move %s to another schema: feature group \"%s\" is computed from it and names it",
						QualifiedRelationName(relid), (char *) linitial(sources)),
				 errhint("Drop the group first with DROP FEATURE GROUP %s, then create it again FROM the new name.",
						 quote_identifier(linitial(sources)))));
	if ((group_name = RegistryGroupOfTable(relid)) == NULL)
		return;
	table = QualifiedRelationName(relid);
	if (strcmp(action, "replace") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot replace view %s: feature group \"%s\" is computed through it",
						table, group_name),
				 errdetail("featstore created the view over featstore.window_timeline and reads only that."),
				 errhint("To change the group, drop it with DROP FEATURE GROUP %s and create it again.",
						 quote_identifier(group_name))));
	if (strcmp(action, "rule") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot create rule \"%s\" on table %s: feature group \"%s\" keeps its history in it",
						rulename, table, group_name),
				 errdetail("A rule would turn the table into a view or redirect its writes past change capture."),
				 errhint("Use a trigger, or a view of your own over the table.")));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 strcmp(action, "rename") == 0 ?
			 errmsg("cannot rename table %s: feature group \"%s\" refers to it by name",
					table, group_name) :
			 errmsg("cannot move table %s to another schema: feature group \"%s\" refers to it by name",
					table, group_name),
			 errhint("To put the group elsewhere, create a new group with CREATE FEATURE GROUP and copy the rows; DROP FEATURE GROUP %s drops this one with its table.",
					 quote_identifier(group_name))));
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

/*
 * AddsIndex says whether an ALTER TABLE builds an index or a constraint,
 * whose expressions, predicate or operator classes could be the owner's code
 */
static bool
AddsIndex(AlterTableStmt *ats)
{
	ListCell   *lc;

	foreach(lc, ats->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);

		if (cmd->subtype == AT_AddIndex || cmd->subtype == AT_AddConstraint ||
			cmd->subtype == AT_AddIndexConstraint)
			return true;
	}
	return false;
}

/*
 * AttachedPartition returns the table an ALTER TABLE ... ATTACH PARTITION
 * attaches, or NULL: attached to a partitioned history, its indexes and
 * statistics objects are planned with the history (issue 14)
 */
static RangeVar *
AttachedPartition(AlterTableStmt *ats)
{
	ListCell   *lc;

	foreach(lc, ats->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);

		if (cmd->subtype == AT_AttachPartition && cmd->def != NULL &&
			IsA(cmd->def, PartitionCmd))
			return ((PartitionCmd *) cmd->def)->name;
	}
	return NULL;
}

/*
 * featstore_guard_code is a ddl_command_end event trigger: an index, an
 * index-building constraint or an extended statistics object that would
 * make a group's table run code that is not built in when it is planned is
 * refused as it is created (on the table, or on a partition of it, also one
 * being attached), with the error every read of the group would
 * give.  The read-time check alone leaves a window: an index created after
 * a reader's check and before its planning would have its predicate
 * evaluated by that planning, in a superuser's pit_join() as the superuser.
 */
Datum
featstore_guard_code(PG_FUNCTION_ARGS)
{
	Node	   *stmt;
	RangeVar   *rv = NULL;
	Oid			relid;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("featstore_guard_code must be called as an event trigger")));
	stmt = ((EventTriggerData *) fcinfo->context)->parsetree;
	if (IsA(stmt, IndexStmt))
		rv = ((IndexStmt *) stmt)->relation;
	else if (IsA(stmt, CreateStatsStmt) && list_length(((CreateStatsStmt *) stmt)->relations) == 1 &&
			 IsA(linitial(((CreateStatsStmt *) stmt)->relations), RangeVar))
		rv = linitial(((CreateStatsStmt *) stmt)->relations);
	else if (IsA(stmt, AlterTableStmt) && AddsIndex((AlterTableStmt *) stmt))
		rv = ((AlterTableStmt *) stmt)->relation;
	else if (IsA(stmt, AlterTableStmt))
		rv = AttachedPartition((AlterTableStmt *) stmt);
	if (rv == NULL || !RegistryIsInstalled())
		PG_RETURN_NULL();
	/* the command has just run with this search_path: the same table */
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (OidIsValid(relid))
		RegistryCheckTableCode(relid);
	PG_RETURN_NULL();
}
