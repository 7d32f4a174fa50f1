/*
 * registry.c
 *		The registry: every change to entities, feature groups, features and
 *		feature services, and the lookups other subsystems use.
 *
 * Each write operation validates its definition as the calling role,
 * creates or changes the group's history table as the calling role (so the
 * ordinary privilege checks apply), and then records the result in the
 * registry tables as the extension owner.  All featstore DDL in a database
 * is serialised by one lock, so concurrent statements see each other's
 * committed results and fail cleanly instead of with a unique violation.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "foreign/foreign.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_type.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "extension.h"
#include "featstore.h"
#include "offline/offline.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

int			registry_error_location = -1;

static void RegistryCheckSnapshot(void);
static bool RegExists(const char *sql, const char *arg);
static void CheckColumnName(const char *what, const char *name);
static void ResolveFeatureType(const FsFeatureDef *def, Oid *typid, int32 *typmod);
static Oid	ResolveKeyType(const FsKeyDef *def);
static bool ParseTtl(const char *text, const char *group, Interval *ttl);
static void CheckGroupOwner(FsGroup *group);
static void CheckGroupTableCode(const FsGroup *group, const char *table);
static void CheckRelationCode(const FsGroup *group, Oid relid, const char *table);
static void CheckSourceCode(const FsGroup *group);
/* What ViewCodeWalker found, and the views it is inside */
typedef struct ViewCode
{
	Oid			func;			/* a function that is not built in, or InvalidOid */
	List	   *visiting;		/* OIDs of the views being walked */
} ViewCode;

static bool ViewCallsUserCode(Oid viewid, ViewCode *vc);
static bool ViewCodeWalker(Node *node, void *context);
static bool ShardPartitionKnown(List *servers, Oid child);
static void CheckSourceGroupView(const FsGroup *group, const char *table);
static void CheckPartitions(const FsGroup *group, const char *table);
static bool ViewIsWindowTimeline(Relation view, const char *group_name);
static void CheckBuiltinCode(const FsGroup *group, const char *table, const char *kind,
							 const char *object, Node *expr);
static bool UserFunctionWalker(Node *node, void *context);
static char *OpclassName(Oid opclass);
static void CheckGroupColumn(const FsGroup *group, const char *table, const char *column,
							 const char *what, Oid typid, int32 typmod, Oid collation,
							 bool not_null);
static char *NameList(const char *sql, const char *arg);
static void DropGroupInternal(FsGroup *group, bool cascade, const char *stmt_text,
							  StringInfo detail);
static void DropServiceInternal(const char *name, const char *stmt_text);
static FsFeature *FindFeature(FsGroup *group, const char *name);
static char *FindCreator(const char *table, const char *name);
static FsResult *SkipOrReportExisting(const char *command, const char *kind,
									  const char *name, bool if_not_exists,
									  const char *hint);
static bool OverlapsNamedFeature(List *seen, const char *group_name);
static bool WriteServiceRow(const FsServiceDef *def);
static void CheckServiceMember(const FsServiceDef *def, const FsFeatureRef *ref, List *seen);
static void InsertServiceMember(const FsServiceDef *def, const FsFeatureRef *ref, int position);
static List *CreateGroupKeys(const FsGroupDef *def);
static char *CreateGroupSchema(const FsGroupDef *def);
static List *CreateGroupFeatures(const FsGroupDef *def, List *keys);
static void InsertGroupRow(const FsGroupDef *def, const char *schema_name, Interval *ttl);
static void CheckNewFeatureName(const FsFeatureDef *fd, List *keys, const char *entity_name,
								const char *key_hint);
static FsFeature *MakeFeature(const FsFeatureDef *fd, int position);
static void InsertFeatureRow(const char *group_name, const FsFeature *f,
							 const FsFeatureDef *fd);
static void AlterSourceGroupCheck(const FsGroup *group, const FsAlterAction *act);
static FsFeature *AlterGroupTarget(FsGroup *group, const char *feature);
static void AlterGroupDetail(StringInfo detail, const char *what, const char *feature);
static void AlterGroupUpdate(const FsGroup *group, const char *sql, Oid typid,
							 Datum value, bool isnull);
static void AlterGroupUpdateFeature(const FsGroup *group, const FsFeature *target,
									const char *sql, Oid typid, Datum value, bool isnull);
static void AlterGroupAddFeature(FsGroup *group, FsFeatureDef *fd, StringInfo detail);
static void AlterGroupDeprecateFeature(FsGroup *group, FsFeature *target, StringInfo detail);
static void AlterGroupFeatureType(FsGroup *group, FsFeature *target, FsFeatureDef *fd);
static void AlterGroupFeatureDescription(FsGroup *group, FsFeature *target,
										 const char *description, StringInfo detail);
static void AlterGroupFeatureTags(FsGroup *group, FsFeature *target, List *tags,
								  StringInfo detail);
static void AlterGroupSetTtl(FsGroup *group, const char *ttl_text, StringInfo detail);
static void AlterGroupSetOnline(FsGroup *group, bool online, StringInfo detail);
static void AlterGroupSetDescription(FsGroup *group, const char *description,
									 StringInfo detail);
static void AlterGroupSetOwner(FsGroup *group, const char *owner, StringInfo detail);
static void AlterGroupSetTags(FsGroup *group, List *tags, StringInfo detail);

/* Reserved column names: the timestamps every group table has, and system columns */
static const char *const reserved_columns[] = {
	FS_EVENT_TS_COLUMN, FS_CREATED_AT_COLUMN,
	"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid", NULL
};

/* ------------------------------------------------------------------------
 * Read side
 * ------------------------------------------------------------------------
 */

/*
 * RegistryCheckGroupTable checks that a group's history table still has
 * the shape the registry records, before featstore reads it: a plain table
 * whose key columns, event_timestamp, created_at and features exist with
 * exactly the recorded types (type, typmod; keys also the type's default
 * collation), and whose keys and timestamps are NOT NULL.  Anything else is
 * an error that names the group and the column, so that nothing is read:
 * the readers decode values with the recorded types, and a column of
 * another type would run the owner's code (an implicit cast) or be decoded
 * as the wrong type.
 */
void
RegistryCheckGroupTable(const FsGroup *group)
{
	char	   *table = quote_qualified_identifier(group->schema_name, group->table_name);
	HeapTuple	tup;
	char		relkind;
	ListCell   *lc;
	List	   *children;
	int			save_nestlevel;

	/*
	 * Nothing of the caller's search_path: it could shadow a built-in type
	 * name in a feature's recorded type text, and the messages name types and
	 * functions the same in every session (qualified unless built in).
	 */
	save_nestlevel = FeatstorePinSearchPath();
	if (group->source)
	{
		CheckSourceGroupView(group, table);
		RegistryCheckSource(group);
		CheckSourceCode(group);
		AtEOXact_GUC(true, save_nestlevel);
		return;
	}
	if (!OidIsValid(group->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("history table %s of feature group \"%s\" does not exist",
						table, group->name),
				 errhint("Recreate the group with DROP FEATURE GROUP and CREATE FEATURE GROUP.")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(group->relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", group->relid);
	relkind = ((Form_pg_class) GETSTRUCT(tup))->relkind;
	ReleaseSysCache(tup);
	if (relkind == RELKIND_PARTITIONED_TABLE)
		CheckPartitions(group, table);
	else if (relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("history table %s of feature group \"%s\" is %s, not a plain table",
						table, group->name,
						relkind == RELKIND_VIEW ? "a view" :
						relkind == RELKIND_MATVIEW ? "a materialized view" :
						relkind == RELKIND_PARTITIONED_TABLE ? "a partitioned table" :
						relkind == RELKIND_FOREIGN_TABLE ? "a foreign table" : "another kind of relation"),
				 errhint("featstore reads only the table it created; run DROP FEATURE GROUP %s and create the group again.",
						 quote_identifier(group->name))));

	/* featstore's queries would read a child's rows too, the index walk not */
	children = relkind == RELKIND_PARTITIONED_TABLE ? NIL :
		find_inheritance_children(group->relid, AccessShareLock);
	if (children != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("history table %s of feature group \"%s\" has child table %s",
						table, group->name,
						quote_qualified_identifier(get_namespace_name(get_rel_namespace(linitial_oid(children))),
												   get_rel_name(linitial_oid(children)))),
				 errhint("A group's history is the rows of its own table; detach the child with ALTER TABLE ... NO INHERIT %s.",
						 table)));
	CheckGroupTableCode(group, table);
	foreach(lc, group->keys)
	{
		FsKeyColumn *k = lfirst(lc);

		CheckGroupColumn(group, table, k->name, "key column", k->typid, -1,
						 get_typcollation(k->typid), true);
	}
	CheckGroupColumn(group, table, FS_EVENT_TS_COLUMN, "column", TIMESTAMPTZOID, -1,
					 InvalidOid, true);
	CheckGroupColumn(group, table, FS_CREATED_AT_COLUMN, "column", TIMESTAMPTZOID, -1,
					 InvalidOid, true);

	/* a feature's recorded type is its type text */
	foreach(lc, group->features)
	{
		FsFeature  *f = lfirst(lc);
		Oid			typid;
		int32		typmod;

		parseTypeString(f->type_name, &typid, &typmod, false);
		CheckGroupColumn(group, table, f->name, "feature column", typid, typmod,
						 InvalidOid, false);
	}
	AtEOXact_GUC(true, save_nestlevel);
}

/*
 * CheckPartitions checks the partitions of a partitioned history table (a
 * helper of RegistryCheckGroupTable): each one a plain table, neither a
 * foreign table (whose rows another server would give, with the reader's
 * user mapping) nor partitioned again, and none with code that is not
 * built in (the planner reads a partition's index predicates and
 * statistics as it plans the parent, in the reader's session).  The
 * columns are the parent's: PostgreSQL keeps partitions in its shape.
 */
static void
CheckPartitions(const FsGroup *group, const char *table)
{
	ListCell   *lc;
	List	   *servers = NIL;
	bool		servers_read = false;

	foreach(lc, find_inheritance_children(group->relid, AccessShareLock))
	{
		Oid			child = lfirst_oid(lc);
		char		kind = get_rel_relkind(child);
		char	   *name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(child)),
													  get_rel_name(child));

		/* a sharded group's foreign partition, on a server its layout records */
		if (kind == RELKIND_FOREIGN_TABLE)
		{
			if (!servers_read)
				servers = RegistryGroupShardServers(group->name);
			servers_read = true;
			if (ShardPartitionKnown(servers, child))
				continue;
		}
		if (kind != RELKIND_RELATION)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("partition %s of history table %s of feature group \"%s\" is %s, not a plain table",
							name, table, group->name,
							kind == RELKIND_FOREIGN_TABLE ? "a foreign table" :
							kind == RELKIND_PARTITIONED_TABLE ? "a partitioned table" :
							"another kind of relation"),
					 errhint("featstore reads only plain partitions; detach it with ALTER TABLE %s DETACH PARTITION %s.",
							 table, name)));
		CheckRelationCode(group, child, name);
	}
}

/*
 * ShardPartitionKnown says whether a foreign partition reads one of the
 * servers a sharded group's layout records (featstore.group_shards), the
 * servers checked for its creator; any other foreign partition would make
 * readers connect to a server of the table owner's choosing.
 */
static bool
ShardPartitionKnown(List *servers, Oid child)
{
	ForeignTable *ft = GetForeignTable(child);
	ForeignServer *srv = GetForeignServer(ft->serverid);
	ListCell   *lc;

	foreach(lc, servers)
	{
		if (strcmp(lfirst(lc), srv->servername) == 0)
			return true;
	}
	return false;
}

/*
 * CheckSourceGroupView checks the view of a group defined FROM a source
 * (a helper of RegistryCheckGroupTable): it exists, is exactly SELECT *
 * FROM featstore.window_timeline('<group>') with no condition (CREATE OR
 * REPLACE VIEW could give it another body with the same columns, which
 * the point-in-time join would read as the group), and has the keys,
 * timestamps and features with the registry's types.
 */
static void
CheckSourceGroupView(const FsGroup *group, const char *table)
{
	Relation	rel;
	ListCell   *lc;

	if (!OidIsValid(group->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("view %s of feature group \"%s\" does not exist", table, group->name),
				 errhint("Recreate the group with DROP FEATURE GROUP and CREATE FEATURE GROUP.")));
	rel = relation_open(group->relid, AccessShareLock);
	if (rel->rd_rel->relkind != RELKIND_VIEW || !ViewIsWindowTimeline(rel, group->name))
	{
		relation_close(rel, AccessShareLock);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation %s of feature group \"%s\" is not the group's view over featstore.window_timeline",
						table, group->name),
				 errhint("featstore reads only the view it created; run DROP FEATURE GROUP %s and create the group again.",
						 quote_identifier(group->name))));
	}
	relation_close(rel, AccessShareLock);
	foreach(lc, group->keys)
	{
		FsKeyColumn *k = lfirst(lc);

		CheckGroupColumn(group, table, k->name, "key column", k->typid, -1,
						 get_typcollation(k->typid), false);
	}
	CheckGroupColumn(group, table, FS_EVENT_TS_COLUMN, "column", TIMESTAMPTZOID, -1,
					 InvalidOid, false);
	CheckGroupColumn(group, table, FS_CREATED_AT_COLUMN, "column", TIMESTAMPTZOID, -1,
					 InvalidOid, false);
	foreach(lc, group->features)
	{
		FsFeature  *f = lfirst(lc);
		Oid			typid;
		int32		typmod;

		parseTypeString(f->type_name, &typid, &typmod, false);
		CheckGroupColumn(group, table, f->name, "feature column", typid, typmod,
						 InvalidOid, false);
	}
}

/*
 * ViewIsWindowTimeline says whether a view's query is SELECT * FROM
 * featstore.window_timeline(<group name>) with nothing else: one function
 * in FROM (besides PostgreSQL 15's OLD and NEW entries, which are the view
 * itself), no condition, grouping, sorting or limit.
 */
static bool
ViewIsWindowTimeline(Relation view, const char *group_name)
{
	Query	   *q = get_view_query(view);
	RangeTblFunction *rtf = NULL;
	FuncExpr   *fe;
	Const	   *arg;
	char	   *fname;
	ListCell   *lc;

	if (q->jointree == NULL || q->jointree->quals != NULL || q->hasAggs ||
		q->hasWindowFuncs || q->hasTargetSRFs || q->hasSubLinks || q->cteList != NIL ||
		q->groupClause != NIL || q->havingQual != NULL || q->sortClause != NIL ||
		q->limitCount != NULL || q->limitOffset != NULL || q->distinctClause != NIL ||
		q->setOperations != NULL || list_length(q->jointree->fromlist) != 1)
		return false;
	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind == RTE_RELATION && rte->relid == RelationGetRelid(view))
			continue;
		if (rte->rtekind != RTE_FUNCTION || rtf != NULL ||
			list_length(rte->functions) != 1 || rte->funcordinality)
			return false;
		rtf = linitial(rte->functions);
	}
	if (rtf == NULL || !IsA(rtf->funcexpr, FuncExpr))
		return false;
	fe = (FuncExpr *) rtf->funcexpr;
	fname = get_func_name(fe->funcid);
	if (list_length(fe->args) != 1 || !IsA(linitial(fe->args), Const) || fname == NULL ||
		get_func_namespace(fe->funcid) != FeatstoreSchemaOid(false) ||
		strcmp(fname, "window_timeline") != 0)
		return false;
	arg = linitial(fe->args);
	return !arg->constisnull && arg->consttype == TEXTOID &&
		strcmp(TextDatumGetCString(arg->constvalue), group_name) == 0;
}

/*
 * RegistryCheckTableCode runs the code part of RegistryCheckGroupTable (no
 * index or extended statistics calling code that is not built in) on the
 * table relid if it is a feature group's history table, a partition of one,
 * or the source of a group defined FROM it.  The guard calls it when an index or a statistics
 * object is created, so that none can appear between a reader's check and
 * its planning.
 */
void
RegistryCheckTableCode(Oid relid)
{
	char	   *name = RegistryGroupOfTable(relid);
	FsGroup    *group;
	int			save_nestlevel;
	ListCell   *lc;

	save_nestlevel = FeatstorePinSearchPath();
	if (name != NULL && (group = RegistryLookupGroup(name, true)) != NULL &&
		group->relid == relid && group->source == NULL)
		CheckGroupTableCode(group, quote_qualified_identifier(group->schema_name,
															  group->table_name));
	foreach(lc, RegistrySourceGroupsOf(relid))
	{
		group = RegistryLookupGroup(lfirst(lc), true);
		if (group != NULL && group->source != NULL && group->source->relid == relid)
			CheckSourceCode(group);
	}
	/* a partition of a partitioned history is read as the history is */
	if (get_rel_relispartition(relid))
	{
		foreach(lc, get_partition_ancestors(relid))
		{
			name = RegistryGroupOfTable(lfirst_oid(lc));
			if (name != NULL && (group = RegistryLookupGroup(name, true)) != NULL &&
				group->relid == lfirst_oid(lc) && group->source == NULL)
				CheckRelationCode(group, relid,
								  quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
															 get_rel_name(relid)));
		}
	}
	AtEOXact_GUC(true, save_nestlevel);
}

/*
 * CheckSourceCode runs CheckRelationCode on a source group's source when it
 * is a table or a materialized view, whose indexes and statistics objects
 * the caller's join plans (a view has none).
 */
static void
CheckSourceCode(const FsGroup *group)
{
	char		relkind = get_rel_relkind(group->source->relid);

	char	   *name = quote_qualified_identifier(group->source->schema_name,
												  group->source->relation_name);

	if (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE)
	{
		/* the source's query reads its partitions and children too */
		ListCell   *lc;

		foreach(lc, find_all_inheritors(group->source->relid, AccessShareLock, NULL))
		{
			Oid			child = lfirst_oid(lc);

			CheckRelationCode(group, child,
							  child == group->source->relid ? name :
							  quote_qualified_identifier(get_namespace_name(get_rel_namespace(child)),
														 get_rel_name(child)));
		}
	}
	else if (relkind == RELKIND_MATVIEW)
		CheckRelationCode(group, group->source->relid, name);
	else if (relkind == RELKIND_VIEW)
	{
		ViewCode	vc;
		bool		found;

		vc.func = InvalidOid;
		vc.visiting = NIL;
		found = ViewCallsUserCode(group->source->relid, &vc);
		if (found)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("source view %s of feature group \"%s\" calls %s, which is not built in",
							name, group->name,
							OidIsValid(vc.func) ? format_procedure(vc.func) : "an operator"),
					 errhint("featstore reads the source in other roles' sessions, where a view runs its functions as the reader; define the group FROM a table, or from a view of built-in functions and operators only.")));
	}
}

/*
 * ViewCallsUserCode says whether a view's query, or a view it reads, calls
 * a function or operator that is not built in (ViewCodeWalker)
 */
static bool
ViewCallsUserCode(Oid viewid, ViewCode *vc)
{
	Relation	rel;
	bool		found;

	/* a view's query lists the view itself (OLD and NEW in PostgreSQL 15) */
	if (list_member_oid(vc->visiting, viewid))
		return false;
	vc->visiting = lappend_oid(vc->visiting, viewid);
	rel = relation_open(viewid, AccessShareLock);
	found = ViewCodeWalker((Node *) copyObject(get_view_query(rel)), vc);
	relation_close(rel, AccessShareLock);
	vc->visiting = list_delete_last(vc->visiting);
	return found;
}

/*
 * ViewCodeWalker finds, in a view's query and the views it reads (a view's
 * functions run as whoever reads it), a function or operator that is not
 * built in; the ViewCode's func gets the function, InvalidOid for an
 * operator
 */
static bool
ViewCodeWalker(Node *node, void *context)
{
	ViewCode   *vc = (ViewCode *) context;

	if (node == NULL)
		return false;
	check_stack_depth();
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, ViewCodeWalker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_VIEW)
			return false;
		return ViewCallsUserCode(rte->relid, vc);
	}
	if (check_functions_in_node(node, FeatstoreIsUserFunction, &vc->func))
		return true;
	if (OidIsValid(FeatstoreUserOperator(node)))
		return true;
	return expression_tree_walker(node, ViewCodeWalker, context);
}

/*
 * CheckGroupTableCode refuses a group table whose indexes or extended
 * statistics would run code that is not built in when the table is merely
 * planned or read: the planner simplifies index expressions, predicates and
 * statistics expressions (running an "immutable" function with constant
 * arguments), and index scans call the operator classes' functions.  The
 * worker and materialize() run as the table's owner anyway, but pit_join()
 * plans the table as its caller.
 */
static void
CheckGroupTableCode(const FsGroup *group, const char *table)
{
	CheckRelationCode(group, group->relid, table);
}

/*
 * CheckRelationCode is CheckGroupTableCode for any relation featstore reads
 * for a group: its history table, or the source of a group defined FROM
 * one, which the join plans as its caller just the same.
 */
static void
CheckRelationCode(const FsGroup *group, Oid relid, const char *table)
{
	Relation	rel = table_open(relid, AccessShareLock);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Relation	statrel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	itup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		bool		isnull;
		Datum		d;
		oidvector  *opclasses;

		if (!HeapTupleIsValid(itup))
			elog(ERROR, "cache lookup failed for index %u", indexoid);
		d = SysCacheGetAttr(INDEXRELID, itup, Anum_pg_index_indclass, &isnull);
		opclasses = (oidvector *) DatumGetPointer(d);
		for (int i = 0; i < opclasses->dim1; i++)
			if (opclasses->values[i] >= FirstNormalObjectId)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("index %s on table %s of feature group \"%s\" uses operator class %s, which is not built in",
								quote_identifier(get_rel_name(indexoid)), table, group->name,
								OpclassName(opclasses->values[i])),
						 errhint("featstore reads the table in other roles' sessions and would run its functions there; drop the index with DROP INDEX, or build it with the default operator classes.")));
		d = SysCacheGetAttr(INDEXRELID, itup, Anum_pg_index_indexprs, &isnull);
		if (!isnull)
			CheckBuiltinCode(group, table, "index", get_rel_name(indexoid),
							 stringToNode(TextDatumGetCString(d)));
		d = SysCacheGetAttr(INDEXRELID, itup, Anum_pg_index_indpred, &isnull);
		if (!isnull)
			CheckBuiltinCode(group, table, "index", get_rel_name(indexoid),
							 stringToNode(TextDatumGetCString(d)));
		ReleaseSysCache(itup);
	}

	statrel = table_open(StatisticExtRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_statistic_ext_stxrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(statrel, StatisticExtRelidIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_statistic_ext_stxexprs,
									 RelationGetDescr(statrel), &isnull);

		if (!isnull)
			CheckBuiltinCode(group, table, "statistics object",
							 NameStr(((Form_pg_statistic_ext) GETSTRUCT(tup))->stxname),
							 stringToNode(TextDatumGetCString(d)));
	}
	systable_endscan(scan);
	table_close(statrel, AccessShareLock);
	table_close(rel, NoLock);
}

/* OpclassName returns an operator class's name, for messages */
static char *
OpclassName(Oid opclass)
{
	HeapTuple	tup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclass));
	char	   *name;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator class %u", opclass);
	name = pstrdup(quote_identifier(NameStr(((Form_pg_opclass) GETSTRUCT(tup))->opcname)));
	ReleaseSysCache(tup);
	return name;
}

/* CheckBuiltinCode raises an error if expr calls a function that is not built in */
static void
CheckBuiltinCode(const FsGroup *group, const char *table, const char *kind,
				 const char *object, Node *expr)
{
	Oid			func = InvalidOid;

	if (UserFunctionWalker(expr, &func))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s %s on table %s of feature group \"%s\" calls function %s, which is not built in",
						kind, quote_identifier(object), table, group->name,
						format_procedure(func)),
				 errhint("featstore reads the table in other roles' sessions and would run the function there; drop the %s, or build it from built-in functions only.",
						 kind)));
}

/* UserFunctionWalker finds a function that is not built in anywhere in an expression */
static bool
UserFunctionWalker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, FeatstoreIsUserFunction, context))
		return true;
	return expression_tree_walker(node, UserFunctionWalker, context);
}

/*
 * CheckGroupColumn checks one column of a group's table against the
 * registry (a helper of RegistryCheckGroupTable); collation InvalidOid is
 * not checked.
 */
static void
CheckGroupColumn(const FsGroup *group, const char *table, const char *column,
				 const char *what, Oid typid, int32 typmod, Oid collation,
				 bool not_null)
{
	HeapTuple	tup = SearchSysCacheAttName(group->relid, column);
	Form_pg_attribute att;
	char	   *expected = format_type_with_typemod(typid, typmod);

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s \"%s\" of feature group \"%s\" is missing from table %s",
						what, column, group->name, table),
				 errhint("Add it back with ALTER TABLE %s ADD COLUMN %s %s, or run DROP FEATURE GROUP %s.",
						 table, quote_identifier(column), expected,
						 quote_identifier(group->name))));
	att = (Form_pg_attribute) GETSTRUCT(tup);
	if (att->atttypid != typid || att->atttypmod != typmod)
	{
		char	   *actual = format_type_with_typemod(att->atttypid, att->atttypmod);

		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s \"%s\" of feature group \"%s\" has type %s, but the registry records %s",
						what, column, group->name, actual, expected),
				 not_null ?
				 errhint("Change it back with ALTER TABLE %s ALTER COLUMN %s TYPE %s.",
						 table, quote_identifier(column), expected) :
				 errhint("Change it back with ALTER TABLE %s ALTER COLUMN %s TYPE %s; to change a feature's type, add a new feature with ALTER FEATURE GROUP %s ADD FEATURE.",
						 table, quote_identifier(column), expected,
						 quote_identifier(group->name))));
	}
	if (OidIsValid(collation) && att->attcollation != collation)
	{
		Oid			actual = att->attcollation;

		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_COLLATION_MISMATCH),
				 errmsg("%s \"%s\" of feature group \"%s\" has collation \"%s\", but entity keys use \"%s\"",
						what, column, group->name,
						OidIsValid(actual) ? get_collation_name(actual) : "none",
						get_collation_name(collation)),
				 errhint("Change it back with ALTER TABLE %s ALTER COLUMN %s TYPE %s COLLATE pg_catalog.\"default\".",
						 table, quote_identifier(column), expected)));
	}
	if (not_null && !att->attnotnull)
	{
		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("%s \"%s\" of feature group \"%s\" allows nulls", what, column, group->name),
				 errhint("Restore it with ALTER TABLE %s ALTER COLUMN %s SET NOT NULL.",
						 table, quote_identifier(column))));
	}
	ReleaseSysCache(tup);
}

/* ------------------------------------------------------------------------
 * Entities
 * ------------------------------------------------------------------------
 */

/* RegistryCreateEntity defines an entity and its key columns */
FsResult *
RegistryCreateEntity(FsEntityDef *def, const char *stmt_text)
{
	ListCell   *lc;
	int			position = 0;
	Oid			argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4];

	registry_error_location = def->location;
	CheckObjectName("entity", def->name);
	if (def->keys == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("entity \"%s\" needs at least one key column", def->name),
				 errhint("Write the key columns after the name, e.g. CREATE ENTITY user (user_id text).")));

	SPI_connect();
	RegistryLock();
	if (RegExists("SELECT 1 FROM featstore.entities WHERE name = $1", def->name))
		return SkipOrReportExisting("CREATE ENTITY", "entity", def->name, def->if_not_exists,
									"Choose another name, or use CREATE ENTITY IF NOT EXISTS.");

	values[0] = CStringGetTextDatum(def->name);
	values[1] = def->description ? CStringGetTextDatum(def->description) : (Datum) 0;
	values[2] = def->owner ? CStringGetTextDatum(def->owner) : (Datum) 0;
	nulls[0] = ' ';
	nulls[1] = def->description ? ' ' : 'n';
	nulls[2] = def->owner ? ' ' : 'n';
	nulls[3] = ' ';
	values[3] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	RegSpi("INSERT INTO featstore.entities (name, description, owner, created_by) "
		   "VALUES ($1, $2, $3, $4)", 4, argtypes, values, nulls, true);

	foreach(lc, def->keys)
	{
		FsKeyDef   *key = lfirst(lc);
		ListCell   *lc2;
		Oid			typid;
		Oid			kt[4] = {TEXTOID, INT4OID, TEXTOID, REGTYPEOID};
		Datum		kv[4];

		registry_error_location = key->location;
		CheckColumnName("key column", key->name);
		foreach(lc2, def->keys)
		{
			FsKeyDef   *other = lfirst(lc2);

			if (other == key)
				break;
			if (strcmp(other->name, key->name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("key column \"%s\" appears twice in entity \"%s\"",
								key->name, def->name)));
		}
		typid = ResolveKeyType(key);
		kv[0] = CStringGetTextDatum(def->name);
		kv[1] = Int32GetDatum(++position);
		kv[2] = CStringGetTextDatum(key->name);
		kv[3] = ObjectIdGetDatum(typid);
		RegSpi("INSERT INTO featstore.entity_keys (entity_name, position, column_name, data_type) "
			   "VALUES ($1, $2, $3, $4)", 4, kt, kv, NULL, true);
	}
	registry_error_location = def->location;
	RecordHistory("CREATE ENTITY", "entity", def->name, stmt_text);
	SPI_finish();
	return MakeResult("CREATE ENTITY", "entity", def->name,
					  psprintf("%d key column%s", position, position == 1 ? "" : "s"));
}

/* RegistryAlterEntity changes an entity's description or owner */
FsResult *
RegistryAlterEntity(const char *name, const char *description, const char *owner,
					bool set_description, bool set_owner, const char *stmt_text)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	char	   *creator;

	SPI_connect();
	RegistryLock();
	values[0] = CStringGetTextDatum(name);
	creator = FindCreator("entities", name);
	if (creator == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("entity \"%s\" does not exist", name),
				 errhint("Known entities: %s.",
						 NameList("SELECT string_agg(name, ', ' ORDER BY name) FROM featstore.entities WHERE $1 IS NOT NULL", name))));
	CheckRoleCanModify("entity", name, creator);

	if (set_description)
	{
		values[1] = description ? CStringGetTextDatum(description) : (Datum) 0;
		nulls[1] = description ? ' ' : 'n';
		RegSpi("UPDATE featstore.entities SET description = $2 WHERE name = $1",
			   2, argtypes, values, nulls, true);
	}
	if (set_owner)
	{
		values[1] = owner ? CStringGetTextDatum(owner) : (Datum) 0;
		nulls[1] = owner ? ' ' : 'n';
		RegSpi("UPDATE featstore.entities SET owner = $2 WHERE name = $1",
			   2, argtypes, values, nulls, true);
	}
	RecordHistory("ALTER ENTITY", "entity", name, stmt_text);
	SPI_finish();
	return MakeResult("ALTER ENTITY", "entity", name, NULL);
}

/* RegistryDropEntity removes an entity, and with cascade the groups keyed by it */
FsResult *
RegistryDropEntity(const char *name, bool missing_ok, bool cascade, const char *stmt_text)
{
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;
	List	   *groups = NIL;
	ListCell   *lc;
	StringInfoData detail;

	char	   *creator;

	initStringInfo(&detail);
	SPI_connect();
	RegistryLock();
	creator = FindCreator("entities", name);
	if (creator == NULL)
		return SkipOrReportMissing("DROP ENTITY", "entity", name, missing_ok);
	CheckRoleCanModify("entity", name, creator);

	groups = RegNames("SELECT name FROM featstore.feature_groups WHERE entity_name = $1 ORDER BY name",
					  name);
	if (groups != NIL && !cascade)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop entity \"%s\" because other objects depend on it", name),
				 errdetail("Keyed by this entity: %s.", DescribeNames("feature group", groups)),
				 errhint("Drop those feature groups first, or use DROP ENTITY %s CASCADE to drop them too.",
						 quote_identifier(name))));

	foreach(lc, groups)
	{
		FsGroup    *group = RegistryLookupGroup(lfirst(lc), false);

		ereport(NOTICE,
				(errmsg("drop cascades to feature group \"%s\"", group->name)));
		DropGroupInternal(group, true, stmt_text, &detail);
	}

	RegSpi("DELETE FROM featstore.entities WHERE name = $1",
		   1, &argtype, &arg, NULL, true);
	RecordHistory("DROP ENTITY", "entity", name, stmt_text);
	if (groups != NIL)
		appendStringInfo(&detail, "%sdropped %d feature group%s",
						 detail.len ? "; " : "", list_length(groups),
						 list_length(groups) == 1 ? "" : "s");
	SPI_finish();
	return MakeResult("DROP ENTITY", "entity", name, detail.len ? detail.data : NULL);
}

/* ------------------------------------------------------------------------
 * Feature groups
 * ------------------------------------------------------------------------
 */

/*
 * RegistryCreateGroup defines a feature group: it validates every feature,
 * creates the history table and its point-in-time index (or, for a group
 * defined FROM a source, checks the source and creates the group's view),
 * and records the group, its features and the statement.
 */
FsResult *
RegistryCreateGroup(FsGroupDef *def, const char *stmt_text)
{
	char	   *schema_name;
	List	   *keys;
	List	   *features;
	ListCell   *lc;
	Interval	ttl;
	FsGroup    *group;
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext oldcxt;
	FsResult   *result;
	Oid			source_relid = InvalidOid;
	FsPartitioning part;

	registry_error_location = def->location;
	CheckObjectName("feature group", def->name);

	SPI_connect();
	RegistryLock();

	if (RegExists("SELECT 1 FROM featstore.feature_groups WHERE name = $1", def->name))
		return SkipOrReportExisting("CREATE FEATURE GROUP", "feature group", def->name,
									def->if_not_exists,
									"Choose another name, use CREATE FEATURE GROUP IF NOT EXISTS, or change the group with ALTER FEATURE GROUP.");

	keys = CreateGroupKeys(def);
	if (def->source_name)
		source_relid = RegistryCheckSourceGroup(def, keys);
	schema_name = CreateGroupSchema(def);
	features = CreateGroupFeatures(def, keys);
	if (def->query_text)
		RegistryCheckTransform(def, keys, features);

	RegistryCheckMonitorOptions(def);
	RegistryCheckPartitioning(def, keys, &part);

	/* the TTL */
	memset(&ttl, 0, sizeof(ttl));
	if (def->has_ttl && def->ttl_text)
	{
		registry_error_location = def->ttl_location;
		ParseTtl(def->ttl_text, def->name, &ttl);
	}

	/* a sharded group's statements for its shards, run as the table is made */
	RegistryShardDdl(def, keys, features, &part);

	/*
	 * The history table, or a source group's view over window_timeline,
	 * created as the calling role, which owns it.
	 */
	registry_error_location = def->location;
	if (def->source_name)
		(void) OfflineCreateGroupView(schema_name, def->name, def->name, keys, features,
									  def->description);
	else
		(void) OfflineCreateTable(schema_name, def->name, def->name, keys, features,
								  def->description, &part);

	/* the registry rows */
	InsertGroupRow(def, schema_name, &ttl);
	foreach(lc, def->features)
		InsertFeatureRow(def->name, list_nth(features, foreach_current_index(lc)),
						 lfirst(lc));
	if (def->source_name)
		RegistryStoreSourceGroup(def, source_relid);
	if (def->query_text)
		RegistryStoreTransform(def, keys, features);
	RegistryStoreMonitorOptions(def);
	RegistryStorePartitioning(def->name, &part);
	RegistryStoreShards(def->name, &part);

	registry_error_location = def->location;
	RecordHistory("CREATE FEATURE GROUP", "feature group", def->name, stmt_text);

	group = RegistryLookupGroup(def->name, false);
	if (group->source)
	{
		int			save_nestlevel = FeatstorePinSearchPath();

		registry_error_location = def->source_location;
		CheckSourceCode(group);
		AtEOXact_GUC(true, save_nestlevel);
		registry_error_location = def->location;
	}
	FireGroupChange(FS_GROUP_CREATED, group);

	oldcxt = MemoryContextSwitchTo(callercxt);
	result = MakeResult("CREATE FEATURE GROUP", "feature group", def->name,
						psprintf("%s %s, %d feature%s",
								 def->source_name ? "view" : "table",
								 quote_qualified_identifier(schema_name, def->name),
								 list_length(features),
								 list_length(features) == 1 ? "" : "s"));
	MemoryContextSwitchTo(oldcxt);
	SPI_finish();
	return result;
}

/*
 * CreateGroupKeys checks that a new group's entity exists and returns the
 * entity's key columns, which become the first columns of the group table.
 */
static List *
CreateGroupKeys(const FsGroupDef *def)
{
	registry_error_location = def->entity_location;
	if (!RegExists("SELECT 1 FROM featstore.entities WHERE name = $1", def->entity_name))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("entity \"%s\" does not exist", def->entity_name),
				 errhint("Define it first with CREATE ENTITY %s (<key column> <type>). Known entities: %s.",
						 quote_identifier(def->entity_name),
						 NameList("SELECT coalesce(string_agg(name, ', ' ORDER BY name), 'none') FROM featstore.entities WHERE $1 IS NOT NULL",
								  def->entity_name))));
	return RegistryLoadKeys(def->entity_name);
}

/*
 * CreateGroupSchema returns the schema a new group's history table goes
 * into: the named one or the creation schema of search_path.  It refuses
 * featstore's own and the system schemas, and a name already taken there,
 * before anything is created.
 */
static char *
CreateGroupSchema(const FsGroupDef *def)
{
	Oid			nspid;
	char	   *schema_name;

	registry_error_location = def->schema_location >= 0 ? def->schema_location : def->location;
	if (def->schema_name)
		nspid = get_namespace_oid(def->schema_name, false);
	else
		nspid = RangeVarGetCreationNamespace(makeRangeVar(NULL, def->name, -1));
	schema_name = get_namespace_name(nspid);
	if (nspid == FeatstoreSchemaOid(true) || IsCatalogNamespace(nspid) ||
		IsToastNamespace(nspid) || isAnyTempNamespace(nspid) ||
		strcmp(schema_name, "information_schema") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_SCHEMA_DEFINITION),
				 errmsg("feature group tables cannot be created in schema \"%s\"", schema_name),
				 errhint("Qualify the group name with an ordinary schema, e.g. CREATE FEATURE GROUP public.%s.",
						 quote_identifier(def->name))));

	registry_error_location = def->location;
	if (OidIsValid(get_relname_relid(def->name, nspid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s.%s\" already exists", schema_name, def->name),
				 errhint("A feature group creates its own history table named after the group; choose another group name or schema.")));
	return schema_name;
}

/*
 * CreateGroupFeatures validates a new group's feature list and returns its
 * features, numbered from 1 in the order written.
 */
static List *
CreateGroupFeatures(const FsGroupDef *def, List *keys)
{
	List	   *features = NIL;
	ListCell   *lc;

	if (def->features == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("feature group \"%s\" needs at least one feature", def->name),
				 errhint("List the features in FEATURES (<name> <type> ['<description>'], ...).")));
	foreach(lc, def->features)
	{
		FsFeatureDef *fd = lfirst(lc);
		ListCell   *lc2;

		CheckNewFeatureName(fd, keys, def->entity_name,
							"Key columns are added to the group table automatically; rename the feature.");
		foreach(lc2, features)
		{
			FsFeature  *other = lfirst(lc2);

			if (strcmp(other->name, fd->name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_COLUMN),
						 errmsg("feature \"%s\" appears twice in feature group \"%s\"",
								fd->name, def->name)));
		}
		features = lappend(features, MakeFeature(fd, list_length(features) + 1));
	}
	return features;
}

/*
 * InsertGroupRow records a new group in featstore.feature_groups, as the
 * extension owner, with the calling role as its creator.
 */
static void
InsertGroupRow(const FsGroupDef *def, const char *schema_name, Interval *ttl)
{
	Oid			gt[11] = {TEXTOID, NAMEOID, NAMEOID, TEXTOID, INTERVALOID,
	BOOLOID, TEXTOID, TEXTOID, TEXTARRAYOID, NAMEOID, TEXTOID};
	Datum		gv[11];
	char		gn[11] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	gv[0] = CStringGetTextDatum(def->name);
	gv[1] = DirectFunctionCall1(namein, CStringGetDatum(schema_name));
	gv[2] = DirectFunctionCall1(namein, CStringGetDatum(def->name));
	gv[3] = CStringGetTextDatum(def->entity_name);
	gv[4] = IntervalPGetDatum(ttl);
	gn[4] = (def->has_ttl && def->ttl_text) ? ' ' : 'n';
	gv[5] = BoolGetDatum(def->online);
	gv[6] = def->description ? CStringGetTextDatum(def->description) : (Datum) 0;
	gn[6] = def->description ? ' ' : 'n';
	gv[7] = def->owner ? CStringGetTextDatum(def->owner) : (Datum) 0;
	gn[7] = def->owner ? ' ' : 'n';
	gv[8] = TextListToArray(def->tags);
	gv[9] = DirectFunctionCall1(namein,
								CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	gv[10] = CStringGetTextDatum(def->source_name ? "source" : "table");

	/* a registry not yet updated to 0.3.0 has no kind (nor source groups) */
	if (!RegistryHasSourceGroups())
		RegSpi("INSERT INTO featstore.feature_groups (name, schema_name, table_name, entity_name, "
			   "ttl, online, description, owner, tags, created_by) "
			   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
			   10, gt, gv, gn, true);
	else
		RegSpi("INSERT INTO featstore.feature_groups (name, schema_name, table_name, entity_name, "
			   "ttl, online, description, owner, tags, created_by, kind) "
			   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
			   11, gt, gv, gn, true);
}

/* ------------------------------------------------------------------------
 * Features: what CREATE FEATURE GROUP and ADD FEATURE share
 * ------------------------------------------------------------------------
 */

/*
 * CheckNewFeatureName checks the name of a feature joining a group: a valid
 * column name that is not one of the entity's key columns.  The two callers
 * have always given different hints for a key column's name, so key_hint
 * is theirs to choose.
 */
static void
CheckNewFeatureName(const FsFeatureDef *fd, List *keys, const char *entity_name,
					const char *key_hint)
{
	ListCell   *lc;

	registry_error_location = fd->location;
	CheckColumnName("feature", fd->name);
	foreach(lc, keys)
	{
		FsKeyColumn *k = lfirst(lc);

		if (strcmp(k->name, fd->name) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_RESERVED_NAME),
					 errmsg("feature name \"%s\" is the key column of entity \"%s\"",
							fd->name, entity_name),
					 errhint("%s", key_hint)));
	}
}

/*
 * MakeFeature resolves a feature definition's type and returns the feature
 * at the given position of its group.
 */
static FsFeature *
MakeFeature(const FsFeatureDef *fd, int position)
{
	FsFeature  *f = palloc0(sizeof(FsFeature));

	ResolveFeatureType(fd, &f->typid, &f->typmod);
	f->name = fd->name;
	f->type_name = format_type_with_typemod(f->typid, f->typmod);
	f->description = fd->description;
	f->position = position;
	return f;
}

/*
 * InsertFeatureRow records one feature of a group in featstore.features, as
 * the extension owner; its tags come from the definition.
 */
static void
InsertFeatureRow(const char *group_name, const FsFeature *f, const FsFeatureDef *fd)
{
	Oid			ft[6] = {TEXTOID, NAMEOID, TEXTOID, TEXTOID, TEXTARRAYOID, INT4OID};
	Datum		fv[6];
	char		fn[6] = {' ', ' ', ' ', ' ', ' ', ' '};

	fv[0] = CStringGetTextDatum(group_name);
	fv[1] = DirectFunctionCall1(namein, CStringGetDatum(f->name));
	fv[2] = CStringGetTextDatum(f->type_name);
	fv[3] = fd->description ? CStringGetTextDatum(fd->description) : (Datum) 0;
	fn[3] = fd->description ? ' ' : 'n';
	fv[4] = TextListToArray(fd->tags);
	fv[5] = Int32GetDatum(f->position);
	RegSpi("INSERT INTO featstore.features (group_name, name, data_type, description, tags, position) "
		   "VALUES ($1, $2, $3, $4, $5, $6)", 6, ft, fv, fn, true);
	if (fd->pii)
		RegistryStoreFeaturePii(group_name, fd);
}

/* ------------------------------------------------------------------------
 * ALTER FEATURE GROUP: a dispatcher and one function per action, as
 * PostgreSQL's tablecmds.c has ATExec*.  Each action changes the registry
 * row, keeps the in-memory group in step for the actions after it, and
 * names itself in the statement's detail text.
 * ------------------------------------------------------------------------
 */

/* RegistryAlterGroup applies ALTER FEATURE GROUP actions, in order */
FsResult *
RegistryAlterGroup(const char *name, List *actions, int location, const char *stmt_text)
{
	FsGroup    *group;
	ListCell   *lc;
	StringInfoData detail;
	Datum		gname = CStringGetTextDatum(name);
	bool		values_unchanged = true;	/* only monitoring settings and PII tags */

	initStringInfo(&detail);
	registry_error_location = location;
	SPI_connect();
	RegistryLock();
	group = RegistryLookupGroup(name, false);
	CheckGroupOwner(group);

	foreach(lc, actions)
	{
		FsAlterAction *act = lfirst(lc);
		FsFeature  *target = NULL;

		registry_error_location = act->location;
		if (group->source)
			AlterSourceGroupCheck(group, act);
		RegistryCheckShardAlter(group->name, act);
		if (act->feature && act->kind != FS_ALTER_ADD_FEATURE)
			target = AlterGroupTarget(group, act->feature->name);

		switch (act->kind)
		{
			case FS_ALTER_ADD_FEATURE:
				AlterGroupAddFeature(group, act->feature, &detail);
				break;
			case FS_ALTER_DEPRECATE_FEATURE:
				AlterGroupDeprecateFeature(group, target, &detail);
				break;
			case FS_ALTER_FEATURE_TYPE:
				AlterGroupFeatureType(group, target, act->feature);
				break;
			case FS_ALTER_FEATURE_DESCRIPTION:
				AlterGroupFeatureDescription(group, target, act->text_value, &detail);
				break;
			case FS_ALTER_FEATURE_TAGS:
				AlterGroupFeatureTags(group, target, act->tags, &detail);
				break;
			case FS_ALTER_SET_TTL:
				AlterGroupSetTtl(group, act->text_value, &detail);
				break;
			case FS_ALTER_SET_ONLINE:
				AlterGroupSetOnline(group, act->bool_value, &detail);
				break;
			case FS_ALTER_SET_DESCRIPTION:
				AlterGroupSetDescription(group, act->text_value, &detail);
				break;
			case FS_ALTER_SET_OWNER:
				AlterGroupSetOwner(group, act->text_value, &detail);
				break;
			case FS_ALTER_SET_TAGS:
				AlterGroupSetTags(group, act->tags, &detail);
				break;
			case FS_ALTER_SET_SCHEDULE:
				RegistryAlterTransformSchedule(group, act->text_value, &detail);
				break;
			case FS_ALTER_SET_FRESHNESS:
			case FS_ALTER_SET_MONITOR_EVERY:
			case FS_ALTER_SET_MONITOR:
			case FS_ALTER_RESET_MONITOR:
			case FS_ALTER_SET_MONITOR_BASELINE:
				RegistryAlterMonitor(group, act, target, &detail);
				break;
			case FS_ALTER_FEATURE_PII:
				RegistryAlterFeaturePii(group, target, act->bool_value, &detail);
				break;
			case FS_ALTER_SET_RETENTION:
				RegistryAlterRetention(group, act->text_value, &detail);
				break;
		}
		values_unchanged = values_unchanged &&
			(RegistryIsMonitorAction(act->kind) || act->kind == FS_ALTER_FEATURE_PII ||
			 act->kind == FS_ALTER_SET_RETENTION);
	}

	RegSpi("UPDATE featstore.feature_groups SET updated_at = now() WHERE name = $1",
		   1, (Oid[]) {TEXTOID}, &gname, NULL, true);
	registry_error_location = location;
	RecordHistory("ALTER FEATURE GROUP", "feature group", name, stmt_text);
	group = RegistryLookupGroup(name, false);

	/*
	 * Monitoring settings and PII tags change no stored value of the group:
	 * the online store need not follow (it would rewrite every key of an
	 * online group).
	 */
	if (!values_unchanged)
		FireGroupChange(FS_GROUP_ALTERED, group);
	SPI_finish();
	return MakeResult("ALTER FEATURE GROUP", "feature group", name,
					  detail.len ? detail.data : NULL);
}

/*
 * AlterSourceGroupCheck refuses the ALTER FEATURE GROUP actions that a
 * group defined FROM a source cannot take: its features are computed from
 * one definition, so a feature cannot be added to it or change type, and
 * each window bounds its own feature, so there is no TTL.
 */
static void
AlterSourceGroupCheck(const FsGroup *group, const FsAlterAction *act)
{
	const char *what;

	switch (act->kind)
	{
		case FS_ALTER_ADD_FEATURE:
			what = "ADD FEATURE";
			break;
		case FS_ALTER_FEATURE_TYPE:
			what = "a feature's type change";
			break;
		case FS_ALTER_SET_TTL:
			what = "SET TTL";
			break;
		case FS_ALTER_SET_ONLINE:
			if (act->bool_value && group->source->relkind != RELKIND_RELATION &&
				group->source->relkind != RELKIND_PARTITIONED_TABLE)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("feature group \"%s\" cannot be ONLINE: its source %s is a view",
								group->name,
								quote_qualified_identifier(group->source->schema_name,
														   group->source->relation_name)),
						 errhint("The online store follows a source through triggers on a table; define a group FROM the view's table to serve it online.")));
			return;
		default:
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("feature group \"%s\" is defined FROM a source and cannot take %s",
					group->name, what),
			 act->kind == FS_ALTER_SET_TTL ?
			 errhint("Each feature's OVER window bounds the events it counts; to change the windows, drop the group with DROP FEATURE GROUP %s and create it again.",
					 quote_identifier(group->name)) :
			 errhint("Its features are computed from one definition: drop the group with DROP FEATURE GROUP %s and create it again, or define a second group FROM the same source.",
					 quote_identifier(group->name))));
}

/* AlterGroupTarget returns the feature an action names, which must exist */
static FsFeature *
AlterGroupTarget(FsGroup *group, const char *feature)
{
	FsFeature  *target = FindFeature(group, feature);

	if (target == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("feature \"%s\" does not exist in feature group \"%s\"",
						feature, group->name),
				 errhint("List the group's features with SELECT feature_name FROM featstore.catalog WHERE group_name = %s.",
						 quote_literal_cstr(group->name))));
	return target;
}

/*
 * AlterGroupDetail appends one action to the statement's detail text, e.g.
 * "added feature f" or "set TTL".
 */
static void
AlterGroupDetail(StringInfo detail, const char *what, const char *feature)
{
	appendStringInfo(detail, "%s%s", detail->len ? ", " : "", what);
	if (feature)
		appendStringInfo(detail, " %s", quote_identifier(feature));
}

/*
 * AlterGroupUpdate sets one column of the group's registry row, as the
 * extension owner: sql has the group's name as $1 and the value as $2.
 */
static void
AlterGroupUpdate(const FsGroup *group, const char *sql, Oid typid, Datum value, bool isnull)
{
	Oid			types[2] = {TEXTOID, typid};
	Datum		values[2] = {CStringGetTextDatum(group->name), value};
	char		nulls[2] = {' ', isnull ? 'n' : ' '};

	RegSpi(sql, 2, types, values, nulls, true);
}

/*
 * AlterGroupUpdateFeature sets one column of a feature's registry row, as
 * the extension owner: sql has the group's name as $1, the feature's as $2
 * and the value as $3.
 */
static void
AlterGroupUpdateFeature(const FsGroup *group, const FsFeature *target, const char *sql,
						Oid typid, Datum value, bool isnull)
{
	Oid			types[3] = {TEXTOID, TEXTOID, typid};
	Datum		values[3] = {CStringGetTextDatum(group->name),
	CStringGetTextDatum(target->name), value};
	char		nulls[3] = {' ', ' ', isnull ? 'n' : ' '};

	RegSpi(sql, 3, types, values, nulls, true);
}

/*
 * AlterGroupAddFeature is ADD FEATURE: a new column at the end of the
 * history table and a new registry row.  A name in use, even by a
 * deprecated feature, is refused, since a feature's values never change
 * meaning.
 */
static void
AlterGroupAddFeature(FsGroup *group, FsFeatureDef *fd, StringInfo detail)
{
	FsFeature  *existing;
	FsFeature  *f;
	ListCell   *lc;
	int			maxpos = 0;

	CheckNewFeatureName(fd, group->keys, group->entity_name, "Choose another feature name.");
	existing = FindFeature(group, fd->name);
	if (existing)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("feature \"%s\" already exists in feature group \"%s\"",
						fd->name, group->name),
				 existing->deprecated
				 ? errhint("The feature is deprecated; a new feature needs a new name, e.g. %s_v2.", fd->name)
				 : errhint("Choose another name; a feature's type cannot change in place.")));
	foreach(lc, group->features)
		maxpos = Max(maxpos, ((FsFeature *) lfirst(lc))->position);
	/* group.* in a service must not gain a second feature of this name */
	RegistryCheckServiceCollision(group, fd->name);
	f = MakeFeature(fd, maxpos + 1);
	if (!OidIsValid(group->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("history table of feature group \"%s\" does not exist", group->name),
				 errhint("Drop the group with DROP FEATURE GROUP %s and create it again.",
						 quote_identifier(group->name))));
	OfflineAddColumn(group->relid, f);
	InsertFeatureRow(group->name, f, fd);
	group->features = lappend(group->features, f);
	AlterGroupDetail(detail, "added feature", f->name);
}

/*
 * AlterGroupDeprecateFeature is DEPRECATE FEATURE.  The column and its
 * values stay, so models trained on them can still be served; deprecating
 * twice keeps the first date.
 */
static void
AlterGroupDeprecateFeature(FsGroup *group, FsFeature *target, StringInfo detail)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(group->name),
	CStringGetTextDatum(target->name)};

	if (target->deprecated)
		ereport(NOTICE,
				(errmsg("feature \"%s\" of feature group \"%s\" is already deprecated",
						target->name, group->name)));
	else
		RegistryWarnFeatureUsers(group, target);
	RegSpi("UPDATE featstore.features SET status = 'deprecated', "
		   "deprecated_at = coalesce(deprecated_at, now()) "
		   "WHERE group_name = $1 AND name = $2::name", 2, types, values, NULL, true);
	target->deprecated = true;
	AlterGroupDetail(detail, "deprecated feature", target->name);
}

/*
 * AlterGroupFeatureType is ALTER FEATURE ... TYPE, which is always refused:
 * it resolves the new type only to name it in the hint.
 */
static void
AlterGroupFeatureType(FsGroup *group, FsFeature *target, FsFeatureDef *fd)
{
	Oid			typid;
	int32		typmod;
	char	   *sets;

	ResolveFeatureType(fd, &typid, &typmod);
	sets = RegistryTrainingSetsUsing(group, target);
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot change the type of feature \"%s\" of feature group \"%s\" from %s to %s",
					target->name, group->name, target->type_name,
					format_type_with_typemod(typid, typmod)),
			 sets ?
			 errdetail("Models trained on the old definition must keep reading the values they were trained on; %s.",
					   sets) :
			 errdetail("Models trained on the old definition must keep reading the values they were trained on."),
			 errhint("Add a new feature instead: ALTER FEATURE GROUP %s ADD FEATURE %s %s, DEPRECATE FEATURE %s.",
					 quote_identifier(group->name),
					 quote_identifier(psprintf("%s_v2", target->name)),
					 format_type_with_typemod(typid, typmod),
					 quote_identifier(target->name))));
}

/*
 * AlterGroupFeatureDescription is ALTER FEATURE ... DESCRIPTION: the
 * registry row and the column's comment, so BI tools show the same text.
 */
static void
AlterGroupFeatureDescription(FsGroup *group, FsFeature *target, const char *description,
							 StringInfo detail)
{
	AlterGroupUpdateFeature(group, target,
							"UPDATE featstore.features SET description = $3 "
							"WHERE group_name = $1 AND name = $2::name",
							TEXTOID,
							description ? CStringGetTextDatum(description) : (Datum) 0,
							description == NULL);
	if (OidIsValid(group->relid))
		OfflineSetColumnComment(group->relid, target->name, description);
	AlterGroupDetail(detail, "described feature", target->name);
}

/* AlterGroupFeatureTags is ALTER FEATURE ... TAGS */
static void
AlterGroupFeatureTags(FsGroup *group, FsFeature *target, List *tags, StringInfo detail)
{
	AlterGroupUpdateFeature(group, target,
							"UPDATE featstore.features SET tags = $3 "
							"WHERE group_name = $1 AND name = $2::name",
							TEXTARRAYOID, TextListToArray(tags), false);
	AlterGroupDetail(detail, "tagged feature", target->name);
}

/* AlterGroupSetTtl is SET TTL; a NULL ttl_text removes the TTL */
static void
AlterGroupSetTtl(FsGroup *group, const char *ttl_text, StringInfo detail)
{
	Interval	ttl;
	FsPartitioning part;

	memset(&ttl, 0, sizeof(ttl));
	if (ttl_text)
		ParseTtl(ttl_text, group->name, &ttl);
	/* the retention must stay at least the TTL (registry_partition.c) */
	if (RegistryGroupPartitioning(group->name, &part) && part.has_retention)
		RegistryCheckRetention(group, ttl_text != NULL, ttl.time, part.retention_usecs, NULL);
	if (ttl_text)
	{
		group->has_ttl = true;
		group->ttl = ttl;
		group->ttl_usecs = ttl.time;
	}
	else
	{
		group->has_ttl = false;
		group->ttl_usecs = 0;
		memset(&group->ttl, 0, sizeof(Interval));
	}
	AlterGroupUpdate(group, "UPDATE featstore.feature_groups SET ttl = $2 WHERE name = $1",
					 INTERVALOID, ttl_text ? IntervalPGetDatum(&ttl) : (Datum) 0,
					 ttl_text == NULL);
	AlterGroupDetail(detail, "set TTL", NULL);
}

/* AlterGroupSetOnline is SET ONLINE and SET OFFLINE */
static void
AlterGroupSetOnline(FsGroup *group, bool online, StringInfo detail)
{
	AlterGroupUpdate(group, "UPDATE featstore.feature_groups SET online = $2 WHERE name = $1",
					 BOOLOID, BoolGetDatum(online), false);
	group->online = online;
	AlterGroupDetail(detail, online ? "set ONLINE" : "set OFFLINE", NULL);
}

/*
 * AlterGroupSetDescription is SET DESCRIPTION: the registry row and the
 * table's comment.
 */
static void
AlterGroupSetDescription(FsGroup *group, const char *description, StringInfo detail)
{
	AlterGroupUpdate(group, "UPDATE featstore.feature_groups SET description = $2 WHERE name = $1",
					 TEXTOID, description ? CStringGetTextDatum(description) : (Datum) 0,
					 description == NULL);
	if (OidIsValid(group->relid))
		OfflineSetColumnComment(group->relid, NULL, description);
	AlterGroupDetail(detail, "set DESCRIPTION", NULL);
}

/* AlterGroupSetOwner is SET OWNER: the group's owner is a label, not a role */
static void
AlterGroupSetOwner(FsGroup *group, const char *owner, StringInfo detail)
{
	AlterGroupUpdate(group, "UPDATE featstore.feature_groups SET owner = $2 WHERE name = $1",
					 TEXTOID, owner ? CStringGetTextDatum(owner) : (Datum) 0,
					 owner == NULL);
	AlterGroupDetail(detail, "set OWNER", NULL);
}

/* AlterGroupSetTags is SET TAGS */
static void
AlterGroupSetTags(FsGroup *group, List *tags, StringInfo detail)
{
	AlterGroupUpdate(group, "UPDATE featstore.feature_groups SET tags = $2 WHERE name = $1",
					 TEXTARRAYOID, TextListToArray(tags), false);
	AlterGroupDetail(detail, "set TAGS", NULL);
}

/* RegistryDropGroup removes a group, its history table and, with cascade, the services using it */
FsResult *
RegistryDropGroup(const char *name, bool missing_ok, bool cascade, const char *stmt_text)
{
	FsGroup    *group;
	StringInfoData detail;

	initStringInfo(&detail);
	SPI_connect();
	RegistryLock();
	group = RegistryLookupGroup(name, true);
	if (group == NULL)
		return SkipOrReportMissing("DROP FEATURE GROUP", "feature group", name, missing_ok);
	CheckGroupOwner(group);
	DropGroupInternal(group, cascade, stmt_text, &detail);
	SPI_finish();
	return MakeResult("DROP FEATURE GROUP", "feature group", name,
					  detail.len ? detail.data : NULL);
}

/* DropGroupInternal drops one group (SPI connected, lock held, owner checked) */
static void
DropGroupInternal(FsGroup *group, bool cascade, const char *stmt_text, StringInfo detail)
{
	Datum		arg = CStringGetTextDatum(group->name);
	Oid			argtype = TEXTOID;
	List	   *services = NIL;
	ListCell   *lc;

	/* training sets first: their features reference the group's */
	RegistryDropTrainingSetsOf(group, cascade, stmt_text, detail);
	services = RegNames("SELECT DISTINCT service_name FROM featstore.feature_service_members "
						"WHERE group_name = $1 ORDER BY 1", group->name);
	if (services != NIL && !cascade)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop feature group \"%s\" because other objects depend on it",
						group->name),
				 errdetail("Used by %s.", DescribeNames("feature service", services)),
				 errhint("Drop those feature services first, or use DROP FEATURE GROUP %s CASCADE to drop them too.",
						 quote_identifier(group->name))));
	foreach(lc, services)
	{
		ereport(NOTICE,
				(errmsg("drop cascades to feature service \"%s\"", (char *) lfirst(lc))));
		DropServiceInternal(lfirst(lc), stmt_text);
	}
	if (services != NIL)
		appendStringInfo(detail, "%sdropped %d feature service%s", detail->len ? "; " : "",
						 list_length(services), list_length(services) == 1 ? "" : "s");

	/* subsystems clean up (Redis keys, capture) before the table goes */
	FireGroupChange(FS_GROUP_DROPPING, group);

	if (OidIsValid(group->relid))
		OfflineDropTable(group->relid, cascade);
	else
		ereport(NOTICE,
				(errmsg("%s %s.%s of feature group \"%s\" was already gone",
						group->source ? "view" : "history table",
						quote_identifier(group->schema_name),
						quote_identifier(group->table_name), group->name)));

	RegSpi("DELETE FROM featstore.feature_groups WHERE name = $1",
		   1, &argtype, &arg, NULL, true);
	RecordHistory("DROP FEATURE GROUP", "feature group", group->name, stmt_text);
}

/* ------------------------------------------------------------------------
 * Feature services
 * ------------------------------------------------------------------------
 */

/* RegistryCreateService defines (or with OR REPLACE, redefines) a feature service */
FsResult *
RegistryCreateService(FsServiceDef *def, const char *stmt_text)
{
	ListCell   *lc;
	int			position = 0;
	bool		replaced;
	List	   *seen = NIL;

	registry_error_location = def->location;
	CheckObjectName("feature service", def->name);
	if (def->members == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("feature service \"%s\" needs at least one feature", def->name),
				 errhint("List them in FEATURES (group.feature, group.*, ...).")));

	SPI_connect();
	RegistryLock();
	replaced = WriteServiceRow(def);
	foreach(lc, def->members)
	{
		FsFeatureRef *ref = lfirst(lc);

		registry_error_location = ref->location;
		CheckServiceMember(def, ref, seen);
		seen = lappend(seen, makeString(psprintf("%s.%s", ref->group_name,
												 ref->feature_name ? ref->feature_name : "*")));
		InsertServiceMember(def, ref, ++position);
	}

	registry_error_location = def->location;
	RecordHistory(replaced ? "CREATE OR REPLACE FEATURE SERVICE" : "CREATE FEATURE SERVICE",
				  "feature service", def->name, stmt_text);
	SPI_finish();
	return MakeResult(replaced ? "CREATE OR REPLACE FEATURE SERVICE" : "CREATE FEATURE SERVICE",
					  "feature service", def->name,
					  psprintf("%d member%s%s", position, position == 1 ? "" : "s",
							   replaced ? ", replaced" : ""));
}

/*
 * WriteServiceRow inserts a new service's row, or with OR REPLACE updates
 * an existing one and removes its members; it returns whether it replaced
 * one (SPI connected, lock held).
 */
static bool
WriteServiceRow(const FsServiceDef *def)
{
	Oid			argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, NAMEOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	char	   *creator = FindCreator("feature_services", def->name);

	values[0] = CStringGetTextDatum(def->name);
	if (creator != NULL)
	{
		if (!def->or_replace)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("feature service \"%s\" already exists", def->name),
					 errhint("Choose another name, or use CREATE OR REPLACE FEATURE SERVICE to redefine it.")));
		CheckRoleCanModify("feature service", def->name, creator);
		RegSpi("DELETE FROM featstore.feature_service_members WHERE service_name = $1",
			   1, argtypes, values, NULL, true);
	}

	values[1] = def->description ? CStringGetTextDatum(def->description) : (Datum) 0;
	nulls[1] = def->description ? ' ' : 'n';
	values[2] = def->owner ? CStringGetTextDatum(def->owner) : (Datum) 0;
	nulls[2] = def->owner ? ' ' : 'n';
	values[3] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	if (creator != NULL)
		RegSpi("UPDATE featstore.feature_services SET description = $2, owner = $3 "
			   "WHERE name = $1 AND $4 IS NOT NULL", 4, argtypes, values, nulls, true);
	else
		RegSpi("INSERT INTO featstore.feature_services (name, description, owner, created_by) "
			   "VALUES ($1, $2, $3, $4)", 4, argtypes, values, nulls, true);
	return creator != NULL;
}

/*
 * CheckServiceMember checks one member of a new service: its group and
 * feature exist (a deprecated feature only warns), and it names no feature
 * that seen (the members before it, as group.feature or group.*) already
 * has.
 */
static void
CheckServiceMember(const FsServiceDef *def, const FsFeatureRef *ref, List *seen)
{
	FsGroup    *group = RegistryLookupGroup(ref->group_name, true);
	char	   *key;

	if (group == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature group \"%s\" does not exist", ref->group_name),
				 errhint("Known feature groups: %s.",
						 NameList("SELECT coalesce(string_agg(name, ', ' ORDER BY name), 'none') FROM featstore.feature_groups WHERE $1 IS NOT NULL",
								  ref->group_name))));
	if (ref->feature_name)
	{
		FsFeature  *f = FindFeature(group, ref->feature_name);

		if (f == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("feature \"%s\" does not exist in feature group \"%s\"",
							ref->feature_name, ref->group_name),
					 errhint("List the group's features with SELECT feature_name FROM featstore.catalog WHERE group_name = %s.",
							 quote_literal_cstr(ref->group_name))));
		if (f->deprecated)
			ereport(WARNING,
					(errmsg("feature \"%s.%s\" is deprecated", ref->group_name, ref->feature_name),
					 errhint("New models should use the feature that replaced it.")));
	}
	/* a feature may appear once, whether named or through group.* */
	key = psprintf("%s.%s", ref->group_name, ref->feature_name ? ref->feature_name : "*");
	if (list_member(seen, makeString(key)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("feature service \"%s\" lists %s twice", def->name, key)));
	if (list_member(seen, makeString(psprintf("%s.*", ref->group_name))) ||
		(ref->feature_name == NULL && OverlapsNamedFeature(seen, ref->group_name)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("feature service \"%s\" lists features of group \"%s\" both by name and through %s.*",
						def->name, ref->group_name, ref->group_name),
				 errhint("Keep either %s.* or the individual features.", ref->group_name)));
}

/* InsertServiceMember records one member of a service at position */
static void
InsertServiceMember(const FsServiceDef *def, const FsFeatureRef *ref, int position)
{
	Oid			types[4] = {TEXTOID, INT4OID, TEXTOID, NAMEOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	values[0] = CStringGetTextDatum(def->name);
	values[1] = Int32GetDatum(position);
	values[2] = CStringGetTextDatum(ref->group_name);
	values[3] = ref->feature_name ? DirectFunctionCall1(namein, CStringGetDatum(ref->feature_name)) : (Datum) 0;
	nulls[3] = ref->feature_name ? ' ' : 'n';
	RegSpi("INSERT INTO featstore.feature_service_members (service_name, position, group_name, feature_name) "
		   "VALUES ($1, $2, $3, $4)", 4, types, values, nulls, true);
}

/* RegistryDropService removes a feature service */
FsResult *
RegistryDropService(const char *name, bool missing_ok, const char *stmt_text)
{
	char	   *creator;

	SPI_connect();
	RegistryLock();
	creator = FindCreator("feature_services", name);
	if (creator == NULL)
		return SkipOrReportMissing("DROP FEATURE SERVICE", "feature service", name, missing_ok);
	CheckRoleCanModify("feature service", name, creator);
	DropServiceInternal(name, stmt_text);
	SPI_finish();
	return MakeResult("DROP FEATURE SERVICE", "feature service", name, NULL);
}

/* DropServiceInternal deletes a service and records it (SPI connected, lock held) */
static void
DropServiceInternal(const char *name, const char *stmt_text)
{
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;

	RegSpi("DELETE FROM featstore.feature_services WHERE name = $1",
		   1, &argtype, &arg, NULL, true);
	RecordHistory("DROP FEATURE SERVICE", "feature service", name, stmt_text);
}

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------
 */

/*
 * RegistryLock serialises featstore DDL in this database.  Definitions are
 * few and change rarely, so one lock is simpler and safer than per-object
 * locks: a statement waiting for it then sees what the other one committed.
 */
void
RegistryLock(void)
{
	Oid			relid = get_relname_relid("entities", FeatstoreSchemaOid(false));

	if (!OidIsValid(relid))
		elog(ERROR, "featstore registry table \"entities\" is missing");
	LockRelationOid(relid, ShareRowExclusiveLock);
	if (IsolationUsesXactSnapshot())
		RegistryCheckSnapshot();
}

/*
 * RegistryLockDefinitions takes the registry's one DDL lock for the
 * registry's part files (registry_backfill.c), as every write operation here
 */
void
RegistryLockDefinitions(void)
{
	RegistryLock();
}

/*
 * RegistryCheckShadowCode runs the code check of a history table on another
 * table of the group (a backfill's shadow), named table in messages
 */
void
RegistryCheckShadowCode(const FsGroup *group, Oid relid, const char *table)
{
	int			save_nestlevel = FeatstorePinSearchPath();

	CheckRelationCode(group, relid, table);
	AtEOXact_GUC(true, save_nestlevel);
}

/* RegistryCheckGroupOwnerOf refuses a caller who may not change the group */
void
RegistryCheckGroupOwnerOf(FsGroup *group)
{
	CheckGroupOwner(group);
}

/*
 * RegistryCheckSnapshot refuses, as a serialization failure, a REPEATABLE
 * READ or SERIALIZABLE transaction whose snapshot misses featstore DDL that
 * committed after it was taken (typically while this statement waited for
 * the registry lock).  Deciding on that stale view would give a raw
 * primary-key violation at best, and at worst act on definitions that no
 * longer exist.  Every definition change adds a row to
 * featstore.definition_history, so the two snapshots count different rows
 * exactly when that happened; the lock keeps the count still meanwhile.
 */
static void
RegistryCheckSnapshot(void)
{
	const char *sql = "SELECT pg_catalog.count(*) FROM featstore.definition_history";
	Oid			save_userid;
	int			save_sec;
	SPIPlanPtr	plan;
	int64		mine;
	int64		latest;
	bool		isnull;

	FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
	plan = SPI_prepare(sql, 0, NULL);
	if (plan == NULL ||
		SPI_execute_snapshot(plan, NULL, NULL, InvalidSnapshot, InvalidSnapshot,
							 false, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "featstore registry query failed: %s", SPI_result_code_string(SPI_result));
	mine = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	/* not read-only: both counts then include this transaction's own changes */
	if (SPI_execute_snapshot(plan, NULL, NULL, GetLatestSnapshot(), InvalidSnapshot,
							 false, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "featstore registry query failed: %s", SPI_result_code_string(SPI_result));
	latest = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	FeatstoreEndRegistryWrite(save_userid, save_sec);
	if (mine != latest)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent featstore DDL"),
				 errdetail("Another transaction changed feature definitions after this transaction's snapshot was taken."),
				 errhint("Retry the transaction.")));
}

/*
 * RegSpi runs one registry query.  With elevated, it runs as the extension
 * owner, because ordinary roles may not read or write the registry tables
 * directly.  Returns the SPI result code.
 */
int
RegSpi(const char *sql, int nargs, Oid *argtypes, Datum *values,
	   const char *nulls, bool elevated)
{
	Oid			save_userid = InvalidOid;
	int			save_sec = 0;
	int			rc;

	if (elevated)
		FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
	rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
	if (elevated)
		FeatstoreEndRegistryWrite(save_userid, save_sec);
	if (rc < 0)
		elog(ERROR, "featstore registry query failed: %s", SPI_result_code_string(rc));
	return rc;
}

/* RegExists says whether a one-parameter registry query returns a row */
static bool
RegExists(const char *sql, const char *arg)
{
	Datum		value = CStringGetTextDatum(arg);
	Oid			argtype = TEXTOID;

	RegSpi(sql, 1, &argtype, &value, NULL, true);
	return SPI_processed > 0;
}

/* RegGetText returns a column of the last SPI result as a C string, or NULL */
char *
RegGetText(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* RegNames runs a one-parameter registry query and returns its first column as a List */
List *
RegNames(const char *sql, const char *arg)
{
	List	   *names = NIL;

	RegExists(sql, arg);
	for (uint64 i = 0; i < SPI_processed; i++)
		names = lappend(names, RegGetText(i, 1));
	return names;
}

/* DescribeNames renders names as: kind "a", kind "b" */
char *
DescribeNames(const char *kind, List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
		appendStringInfo(&buf, "%s%s \"%s\"", buf.len ? ", " : "", kind, (char *) lfirst(lc));
	return buf.data;
}

/* NameList runs a one-row, one-column registry query and returns its text */
static char *
NameList(const char *sql, const char *arg)
{
	char	   *result;

	RegExists(sql, arg);
	result = SPI_processed > 0 ? RegGetText(0, 1) : NULL;
	return result ? result : "none";
}

/* RecordHistory appends one row to featstore.definition_history */
void
RecordHistory(const char *command, const char *object_type, const char *object_name,
			  const char *stmt_text)
{
	Oid			argtypes[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID};
	Datum		values[5];

	if (stmt_text == NULL)
		stmt_text = debug_query_string ? debug_query_string : "";
	values[0] = CStringGetTextDatum(command);
	values[1] = CStringGetTextDatum(object_type);
	values[2] = CStringGetTextDatum(object_name);
	values[3] = CStringGetTextDatum(stmt_text);
	values[4] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	RegSpi("INSERT INTO featstore.definition_history (command, object_type, object_name, statement, executed_by) "
		   "VALUES ($1, $2, $3, $4, $5)", 5, argtypes, values, NULL, true);
}

/* CheckObjectName rejects names no registry object may have */
void
CheckObjectName(const char *kind, const char *name)
{
	if (name == NULL || name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("%s name must not be empty", kind)));
	if (strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("%s name \"%s\" is too long", kind, name),
				 errhint("Names may have at most %d bytes.", NAMEDATALEN - 1)));
}

/* CheckColumnName rejects reserved and malformed key and feature names */
static void
CheckColumnName(const char *what, const char *name)
{
	CheckObjectName(what, name);
	for (int i = 0; reserved_columns[i]; i++)
	{
		if (strcmp(name, reserved_columns[i]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_RESERVED_NAME),
					 errmsg("%s name \"%s\" is reserved", what, name),
					 errhint("Every group table has event_timestamp and created_at columns, and PostgreSQL reserves its system column names; rename the %s.",
							 what)));
	}
}

/* Where a type name starts in the featstore block, for TypePositionCallback */
typedef struct TypePosition
{
	const char *type_text;
	int			location;		/* byte offset in the block, or -1 */
} TypePosition;

/*
 * TypePositionCallback moves the position of a syntax error that
 * PostgreSQL's type parser reports inside a type name ("bigint b text":
 * the "b") to the same character of the featstore block, where
 * DdlErrorCallback draws it.  Outside a block there is no text to point
 * into, so the position is dropped rather than drawn in the wrong place.
 */
static void
TypePositionCallback(void *arg)
{
	TypePosition *tp = (TypePosition *) arg;
	int			pos = geterrposition();
	int			offset = 0;

	if (pos <= 0)
		return;
	errposition(0);
	if (tp->location < 0)
		return;
	for (int i = 1; i < pos && tp->type_text[offset] != '\0'; i++)
		offset += pg_mblen(tp->type_text + offset);
	registry_error_location = tp->location + offset;
}

/* TypeNameAt parses a type name written at location in the block (or -1) */
static TypeName *
TypeNameAt(const char *type_text, int location)
{
	ErrorContextCallback errcallback;
	TypePosition tp;
	TypeName   *tn;

	tp.type_text = type_text;
	tp.location = location;
	errcallback.callback = TypePositionCallback;
	errcallback.arg = &tp;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	tn = typeStringToTypeName(type_text);
	error_context_stack = errcallback.previous;
	return tn;
}

/*
 * ResolveFeatureType turns a feature's type text into a type, accepting the
 * types ML pipelines use: numbers, text, booleans, times, uuids, json and
 * byte strings, and one-dimensional arrays of them (embeddings).
 */
static void
ResolveFeatureType(const FsFeatureDef *def, Oid *typid, int32 *typmod)
{
	TypeName   *tn;
	Type		tup;
	Oid			base;
	Oid			elem;

	registry_error_location = def->type_location >= 0 ? def->type_location : def->location;
	tn = TypeNameAt(def->type_text, def->type_location >= 0 ? def->type_location : -1);
	tup = LookupTypeName(NULL, tn, typmod, true);
	if (tup == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type \"%s\" of feature \"%s\" does not exist", def->type_text, def->name),
				 errhint("Feature types are integer types, real, double precision, numeric, text, varchar, boolean, date, timestamp, timestamptz, interval, uuid, jsonb, json, bytea, and arrays of them.")));
	*typid = typeTypeId(tup);
	ReleaseSysCache(tup);

	elem = get_element_type(*typid);
	base = OidIsValid(elem) ? elem : *typid;
	switch (base)
	{
		case BOOLOID:
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
		case INTERVALOID:
		case UUIDOID:
		case JSONBOID:
		case JSONOID:
		case BYTEAOID:
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("type %s of feature \"%s\" is not supported", format_type_be(*typid), def->name),
					 errhint("Feature types are integer types, real, double precision, numeric, text, varchar, boolean, date, timestamp, timestamptz, interval, uuid, jsonb, json, bytea, and arrays of them.")));
	}
	if (tn->arrayBounds != NIL && list_length(tn->arrayBounds) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature \"%s\" cannot be a multidimensional array", def->name),
				 errhint("Use a one-dimensional array, e.g. real[] for an embedding.")));
}

/* ResolveKeyType checks an entity key column's type: text, integer, bigint or uuid */
static Oid
ResolveKeyType(const FsKeyDef *def)
{
	TypeName   *tn = TypeNameAt(def->type_text, def->location);
	Type		tup = LookupTypeName(NULL, tn, NULL, true);
	Oid			typid;

	if (tup == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type \"%s\" of key column \"%s\" does not exist", def->type_text, def->name),
				 errhint("Entity keys are text, integer, bigint or uuid.")));
	typid = typeTypeId(tup);
	ReleaseSysCache(tup);
	if (typid != TEXTOID && typid != INT4OID && typid != INT8OID && typid != UUIDOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("type %s of key column \"%s\" is not supported", format_type_be(typid), def->name),
				 errhint("Entity keys are text, integer, bigint or uuid.")));
	return typid;
}

/* How a TTL's messages name it (ParseTtl) */
static const FsDurationWords ttl_words = {
	.noun = "TTL",
	.owner_kind = "feature group",
	.example = "'24 hours'",
	.range_hint = "Leave out TTL for values that never expire.",
	.positive_rest = "leave out TTL for values that never expire",
};

/*
 * ParseTtl reads a TTL and normalises it to an absolute duration, by the
 * rule every featstore duration follows (RegistryParseDurationAs): days
 * are 24 hours, months and years are refused.
 */
static bool
ParseTtl(const char *text, const char *group, Interval *ttl)
{
	ttl->month = 0;
	ttl->day = 0;
	ttl->time = RegistryParseDurationAs(text, &ttl_words, group);
	return true;
}

/* CheckRoleCanModify allows changes by the defining role, its members and superusers */
void
CheckRoleCanModify(const char *kind, const char *name, const char *created_by)
{
	Oid			role = get_role_oid(created_by, true);

	if (superuser())
		return;
	if (OidIsValid(role) && has_privs_of_role(GetUserId(), role))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("must be a member of role \"%s\" to change %s \"%s\"", created_by, kind, name),
			 errhint("Ask role \"%s\" or a superuser to make the change.", created_by)));
}

/* CheckGroupOwner allows changes to a group by the owner of its history table */
static void
CheckGroupOwner(FsGroup *group)
{
	if (OidIsValid(group->relid))
	{
		if (!pg_class_ownercheck(group->relid, GetUserId()))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be owner of table %s.%s to change feature group \"%s\"",
							group->schema_name, group->table_name, group->name),
					 errhint("Ask the table's owner or a superuser to make the change.")));
	}
	else if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be superuser to change feature group \"%s\" whose table is missing",
						group->name)));
}

/*
 * FindCreator returns the role that created a named entity or service, or
 * NULL if there is none (SPI connected).  table is a registry table name
 * chosen by the caller, never user input.
 */
static char *
FindCreator(const char *table, const char *name)
{
	Datum		arg = CStringGetTextDatum(name);
	Oid			argtype = TEXTOID;

	RegSpi(psprintf("SELECT created_by::text FROM featstore.%s WHERE name = $1", table),
		   1, &argtype, &arg, NULL, true);
	return SPI_processed > 0 ? RegGetText(0, 1) : NULL;
}

/*
 * SkipOrReportMissing ends a DROP whose object does not exist: a NOTICE and a
 * "skipped" result with IF EXISTS, an error otherwise.  It disconnects SPI.
 */
FsResult *
SkipOrReportMissing(const char *command, const char *kind, const char *name,
					bool missing_ok)
{
	SPI_finish();
	if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s \"%s\" does not exist", kind, name),
				 errhint("Use %s IF EXISTS to ignore a missing %s.", command, kind)));
	ereport(NOTICE,
			(errmsg("%s \"%s\" does not exist, skipping", kind, name)));
	return MakeResult(command, kind, name, pstrdup("does not exist, skipped"));
}

/*
 * SkipOrReportExisting ends a CREATE whose object already exists: a NOTICE and
 * a "skipped" result with IF NOT EXISTS, an error otherwise.  It disconnects
 * SPI.
 */
static FsResult *
SkipOrReportExisting(const char *command, const char *kind, const char *name,
					 bool if_not_exists, const char *hint)
{
	SPI_finish();
	if (!if_not_exists)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("%s \"%s\" already exists", kind, name),
				 errhint("%s", hint)));
	ereport(NOTICE,
			(errmsg("%s \"%s\" already exists, skipping", kind, name)));
	return MakeResult(command, kind, name, pstrdup("already exists, skipped"));
}

/* FindFeature returns a group's feature by name, or NULL */
static FsFeature *
FindFeature(FsGroup *group, const char *name)
{
	ListCell   *lc;

	foreach(lc, group->features)
	{
		FsFeature  *f = lfirst(lc);

		if (strcmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

/* OverlapsNamedFeature says whether seen holds a "group.feature" of the group */
static bool
OverlapsNamedFeature(List *seen, const char *group_name)
{
	ListCell   *lc;
	size_t		len = strlen(group_name);

	foreach(lc, seen)
	{
		const char *key = strVal(lfirst(lc));

		if (strncmp(key, group_name, len) == 0 && key[len] == '.')
			return true;
	}
	return false;
}

/* TextListToArray builds a text[] from a List of C strings */
Datum
TextListToArray(List *list)
{
	Datum	   *elems;
	int			n = list_length(list);
	int			i = 0;
	ListCell   *lc;

	elems = palloc(sizeof(Datum) * Max(n, 1));
	foreach(lc, list)
		elems[i++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* MakeResult builds the report of one registry operation */
FsResult *
MakeResult(const char *command, const char *object_type, const char *name, char *detail)
{
	FsResult   *r = palloc0(sizeof(FsResult));

	r->command = command;
	r->object_type = object_type;
	r->object_name = pstrdup(name);
	r->detail = detail;
	return r;
}
