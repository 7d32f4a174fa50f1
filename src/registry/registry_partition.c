/*
 * registry_partition.c
 *		Partitioned history (issue 14): the PARTITION BY clause of CREATE
 *		FEATURE GROUP, its row in featstore.group_partitioning, SET / DROP
 *		RETENTION, and featstore.maintain_partitions().
 *
 * The partitions themselves are made and dropped by the offline store
 * (src/offline/offline_partition.c), as the table's owner; the registry
 * checks the layout, records it, and decides who may run the maintenance.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "extension.h"
#include "featstore.h"
#include "offline/offline.h"
#include "registry/registry.h"
#include "registry/registry_int.h"

PG_FUNCTION_INFO_V1(featstore_maintain_partitions);

/* the narrowest range partition: finer ones would make thousands of tables a year */
#define FS_MIN_PARTITION_USECS USECS_PER_HOUR
#define FS_DEFAULT_HASH_PARTITIONS 8

static const FsDurationWords interval_words = {
	.noun = "partition interval",
	.owner_kind = "feature group",
	.example = "'1 day'",
	.range_hint = "Write a partition interval such as '1 day' or '7 days'.",
	.positive_rest = "leave out INTERVAL for '1 day'",
};

static const FsDurationWords retention_words = {
	.noun = "retention",
	.owner_kind = "feature group",
	.example = "'400 days'",
	.range_hint = "Write a retention such as '400 days', or DROP RETENTION to keep every row.",
	.positive_rest = "DROP RETENTION to keep every row",
};

static void CheckRangeLayout(const FsGroupDef *def, FsPartitioning *out);
static void CheckHashLayout(const FsGroupDef *def, List *keys, FsPartitioning *out);
static char *DaysText(int64 usecs);
static TimestampTz TrainingSetReach(const FsGroup *group, char **set_name);
static TimestampTz SpineEarliest(const char *schema_name, const char *table_name);

/*
 * RegistryCheckPartitioning checks CREATE FEATURE GROUP's PARTITION BY
 * (SPI connected, registry locked) and fills *out; out->method is 0 when
 * the group has none.  Everything is refused before any table exists.
 */
void
RegistryCheckPartitioning(const FsGroupDef *def, List *keys, FsPartitioning *out)
{
	memset(out, 0, sizeof(FsPartitioning));
	if (def->partition_method == 0)
		return;
	if (def->shard_servers != NIL && def->source_name == NULL && def->partition_method == 'r')
		RegistryCheckShards(def, out);	/* its refusal of RANGE */
	registry_error_location = def->partition_location;
	if (def->source_name)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature group \"%s\" is computed FROM a source and has no history table to partition",
						def->name),
				 errhint("Partition the source table itself, and leave out PARTITION BY.")));
	out->method = def->partition_method;
	if (def->partition_method == 'r')
		CheckRangeLayout(def, out);
	else
	{
		CheckHashLayout(def, keys, out);
		RegistryCheckShards(def, out);
	}
}

/* CheckRangeLayout checks PARTITION BY RANGE (event_timestamp) [INTERVAL '...'] */
static void
CheckRangeLayout(const FsGroupDef *def, FsPartitioning *out)
{
	const char *text = def->partition_interval_text ? def->partition_interval_text : "1 day";

	registry_error_location = def->partition_columns_location;
	if (list_length(def->partition_columns) != 1 ||
		strcmp(linitial(def->partition_columns), FS_EVENT_TS_COLUMN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("feature group \"%s\" can be partitioned by range of event_timestamp only",
						def->name),
				 errhint("Write PARTITION BY RANGE (event_timestamp), or PARTITION BY HASH (<key columns>) to partition by entity.")));
	if (def->partition_interval_text)
		registry_error_location = def->partition_interval_location;
	out->interval_usecs = RegistryParseDurationAs(text, &interval_words, def->name);
	if (out->interval_usecs < FS_MIN_PARTITION_USECS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("partition interval '%s' of feature group \"%s\" is shorter than an hour",
						text, def->name),
				 errhint("Write a partition interval of at least '1 hour', such as '1 day'.")));
}

/* CheckHashLayout checks PARTITION BY HASH (key columns) [PARTITIONS n] */
static void
CheckHashLayout(const FsGroupDef *def, List *keys, FsPartitioning *out)
{
	ListCell   *lc;
	StringInfoData known;

	initStringInfo(&known);
	foreach(lc, keys)
		appendStringInfo(&known, "%s%s", known.len ? ", " : "",
						 quote_identifier(((FsKeyColumn *) lfirst(lc))->name));
	registry_error_location = def->partition_columns_location;
	foreach(lc, def->partition_columns)
	{
		char	   *col = lfirst(lc);
		ListCell   *kc;
		bool		found = false;

		foreach(kc, keys)
			found = found || strcmp(((FsKeyColumn *) lfirst(kc))->name, col) == 0;
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("column \"%s\" of PARTITION BY HASH is not a key column of entity \"%s\"",
							col, def->entity_name),
					 errhint("Hash partitions are by entity: name key columns of the entity (%s).",
							 known.data)));
		if (list_member(out->hash_columns, makeString(col)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("column \"%s\" appears twice in PARTITION BY HASH of feature group \"%s\"",
							col, def->name),
					 errhint("Name each key column once.")));
		out->hash_columns = lappend(out->hash_columns, makeString(col));
	}
	out->nparts = FS_DEFAULT_HASH_PARTITIONS;
	if (def->partitions_text)
	{
		char	   *end;
		long		n;

		registry_error_location = def->partitions_location;
		errno = 0;
		n = strtol(def->partitions_text, &end, 10);
		if (errno != 0 || *end != '\0' || n < 1 || n > FS_MAX_HASH_PARTITIONS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("PARTITIONS %s of feature group \"%s\" is out of range",
							def->partitions_text, def->name),
					 errhint("Give a whole number of partitions from 1 to %d.",
							 FS_MAX_HASH_PARTITIONS)));
		out->nparts = (int) n;
	}
}

/*
 * RegistryStorePartitioning records a new group's layout (SPI connected), as
 * the extension owner
 */
void
RegistryStorePartitioning(const char *group_name, const FsPartitioning *p)
{
	Oid			types[5] = {TEXTOID, TEXTOID, INTERVALOID, NAMEARRAYOID, INT4OID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', 'n', 'n', 'n'};
	Interval	iv;

	if (p->method == 0)
		return;
	values[0] = CStringGetTextDatum(group_name);
	values[1] = CStringGetTextDatum(p->method == 'r' ? "range" : "hash");
	if (p->method == 'r')
	{
		memset(&iv, 0, sizeof(iv));
		iv.time = p->interval_usecs;
		values[2] = IntervalPGetDatum(&iv);
		nulls[2] = ' ';
	}
	else
	{
		Datum	   *names = palloc(sizeof(Datum) * list_length(p->hash_columns));
		ListCell   *lc;

		foreach(lc, p->hash_columns)
			names[foreach_current_index(lc)] =
				DirectFunctionCall1(namein, CStringGetDatum(strVal(lfirst(lc))));
		values[3] = PointerGetDatum(construct_array(names, list_length(p->hash_columns),
													NAMEOID, NAMEDATALEN, false,
													TYPALIGN_CHAR));
		values[4] = Int32GetDatum(p->nparts);
		nulls[3] = nulls[4] = ' ';
	}
	RegSpi("INSERT INTO featstore.group_partitioning (group_name, method, partition_interval,"
		   " hash_columns, partitions) VALUES ($1, $2, $3, $4, $5)",
		   5, types, values, nulls, true);
}

/*
 * RegistryGroupPartitioning reads a group's layout into *out; false (and
 * out->method 0) for a group with a plain table, or a registry without the
 * table (before ALTER EXTENSION UPDATE).  It runs its own SPI connection.
 */
bool
RegistryGroupPartitioning(const char *group_name, FsPartitioning *out)
{
	Oid			nsp = FeatstoreSchemaOid(true);
	Datum		arg = CStringGetTextDatum(group_name);
	Oid			argtype = TEXTOID;
	MemoryContext callercxt = CurrentMemoryContext;
	bool		found = false;

	memset(out, 0, sizeof(FsPartitioning));
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("group_partitioning", nsp)))
		return false;
	SPI_connect();
	RegSpi("SELECT method, extract(epoch FROM partition_interval)::float8,"
		   " hash_columns::text[], partitions, extract(epoch FROM retention)::float8"
		   " FROM featstore.group_partitioning WHERE group_name = $1",
		   1, &argtype, &arg, NULL, true);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;
		MemoryContext oldcxt = MemoryContextSwitchTo(callercxt);

		found = true;
		out->method = strcmp(RegGetText(0, 1), "range") == 0 ? 'r' : 'h';
		d = SPI_getbinval(tup, desc, 2, &isnull);
		if (!isnull)
			out->interval_usecs = (int64) (DatumGetFloat8(d) * USECS_PER_SEC);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			int			n;

			deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, NULL, &n);
			for (int i = 0; i < n; i++)
				out->hash_columns = lappend(out->hash_columns,
											makeString(TextDatumGetCString(elems[i])));
		}
		d = SPI_getbinval(tup, desc, 4, &isnull);
		out->nparts = isnull ? 0 : DatumGetInt32(d);
		d = SPI_getbinval(tup, desc, 5, &isnull);
		out->has_retention = !isnull;
		out->retention_usecs = isnull ? 0 : (int64) (DatumGetFloat8(d) * USECS_PER_SEC);
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();
	return found;
}

/*
 * RegistryAlterRetention is SET RETENTION 'duration' and DROP RETENTION
 * (text NULL).  A retention needs a range-partitioned group with a TTL, and
 * must reach back at least the TTL plus as far as the oldest training set
 * over the group reaches: otherwise the maintenance would drop rows that a
 * label of that set, or one TTL after the horizon, still joins to.
 */
void
RegistryAlterRetention(FsGroup *group, const char *text, StringInfo detail)
{
	FsPartitioning p;
	int64		usecs = 0;
	Interval	iv;

	if (!RegistryGroupPartitioning(group->name, &p) || p.method != 'r')
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("feature group \"%s\" is not partitioned by range of event_timestamp",
						group->name),
				 errhint("A retention drops whole time partitions: create the group with PARTITION BY RANGE (event_timestamp).")));
	if (text)
	{
		usecs = RegistryParseDurationAs(text, &retention_words, group->name);
		RegistryCheckRetention(group, group->has_ttl, group->ttl_usecs, usecs, text);
	}
	memset(&iv, 0, sizeof(iv));
	iv.time = usecs;
	RegSpi("UPDATE featstore.group_partitioning SET retention = $2 WHERE group_name = $1",
		   2, (Oid[]) {TEXTOID, INTERVALOID},
		   (Datum[]) {CStringGetTextDatum(group->name), IntervalPGetDatum(&iv)},
		   text ? NULL : " n", true);
	appendStringInfo(detail, "%s%s", detail->len ? ", " : "",
					 text ? "set RETENTION" : "dropped RETENTION");
}

/*
 * RegistryCheckRetention refuses a retention (retention_usecs; text as
 * written, for messages, NULL to write it from retention_usecs) that the group's TTL and its training sets need
 * more of: SET RETENTION, and SET TTL on a group that has one.
 */
void
RegistryCheckRetention(const FsGroup *group, bool has_ttl, int64 ttl_usecs,
					   int64 retention_usecs, const char *text)
{
	char	   *set_name = NULL;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	TimestampTz reach = TrainingSetReach(group, &set_name);
	int64		need;
	bool		from_ttl = (text == NULL);	/* SET TTL checks the group's retention */

	text = from_ttl ? DaysText(retention_usecs) : psprintf("'%s'", text);
	if (!has_ttl)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("feature group \"%s\" would have a retention but no TTL, so rows that can still be winners would be dropped",
						group->name),
				 from_ttl ?
				 errhint("Drop the retention first with ALTER FEATURE GROUP %s DROP RETENTION.",
						 quote_identifier(group->name)) :
				 errhint("Give the group a TTL first (ALTER FEATURE GROUP %s SET TTL '...'); the retention must be at least the TTL.",
						 quote_identifier(group->name))));
	need = ttl_usecs;
	if (set_name != NULL && reach < now)
		need += now - reach;
	if (retention_usecs < need)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retention %s of feature group \"%s\" is shorter than its TTL%s",
						text, group->name,
						set_name ? " plus the reach of its oldest training set" : ""),
				 set_name ?
				 errdetail("Training set \"%s\" reaches back to %s; with the TTL the group must keep rows from %s on.",
						   set_name, timestamptz_to_str(reach), timestamptz_to_str(reach - ttl_usecs)) : 0,
				 from_ttl ?
				 errhint("Raise the retention first with ALTER FEATURE GROUP %s SET RETENTION %s, or keep the TTL shorter.",
						 quote_identifier(group->name), DaysText(need)) :
				 errhint("Give a retention of at least %s%s.", DaysText(need),
						 set_name ? ", or drop the training sets that reach that far" : "")));
}

/* DaysText writes a duration rounded up to whole days, as '401 days' */
static char *
DaysText(int64 usecs)
{
	return psprintf("'" INT64_FORMAT " days'", (usecs + USECS_PER_DAY - 1) / USECS_PER_DAY);
}

/*
 * TrainingSetReach returns the earliest instant the training sets over a
 * group depend on: the least of their as_of and of every timestamptz value
 * in their spine copies (read as each copy's owner), and its set's name in
 * *set_name; *set_name stays NULL when no set uses the group.  Every
 * timestamptz column counts, since the registry does not keep which one
 * was the spine's ts: the bound is conservative.
 */
static TimestampTz
TrainingSetReach(const FsGroup *group, char **set_name)
{
	Datum		arg = CStringGetTextDatum(group->name);
	Oid			argtype = TEXTOID;
	TimestampTz reach = DT_NOEND;
	uint64		n;
	SPITupleTable *tab;

	RegSpi("SELECT s.name, s.schema_name::text, s.spine_table::text, s.as_of"
		   " FROM featstore.training_sets s WHERE EXISTS (SELECT FROM featstore.training_set_features f"
		   " WHERE f.training_set = s.name AND f.group_name = $1) ORDER BY s.name",
		   1, &argtype, &arg, NULL, true);
	n = SPI_processed;
	tab = SPI_tuptable;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		TimestampTz as_of = DatumGetTimestampTz(SPI_getbinval(tab->vals[i], tab->tupdesc, 4, &isnull));
		char	   *name = SPI_getvalue(tab->vals[i], tab->tupdesc, 1);
		TimestampTz earliest = SpineEarliest(SPI_getvalue(tab->vals[i], tab->tupdesc, 2),
											 SPI_getvalue(tab->vals[i], tab->tupdesc, 3));

		earliest = Min(earliest, as_of);
		if (*set_name == NULL || earliest < reach)
		{
			reach = earliest;
			*set_name = name;
		}
	}
	return reach;
}

/*
 * SpineEarliest returns the least timestamptz value of a training set's
 * spine copy, DT_NOEND when it has none (or the table is gone), read as the
 * table's owner in a restricted section
 */
static TimestampTz
SpineEarliest(const char *schema_name, const char *table_name)
{
	Oid			nsp = get_namespace_oid(schema_name, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(table_name, nsp) : InvalidOid;
	StringInfoData sql;
	Oid			save_userid;
	int			save_sec;
	TimestampTz result = DT_NOEND;
	Relation	rel;
	TupleDesc	desc;

	if (!OidIsValid(relid))
		return result;
	initStringInfo(&sql);
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && att->atttypid == TIMESTAMPTZOID)
			appendStringInfo(&sql, "%s pg_catalog.min(%s)", sql.len ? "," : "SELECT LEAST(",
							 quote_identifier(NameStr(att->attname)));
	}
	table_close(rel, NoLock);
	if (sql.len == 0)
		return result;
	appendStringInfo(&sql, ") FROM ONLY %s", quote_qualified_identifier(schema_name, table_name));
	FeatstoreBeginAsTableOwner(relid, &save_userid, &save_sec);
	if (SPI_execute(sql.data, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			result = DatumGetTimestampTz(d);
	}
	FeatstoreEndAsTableOwner(save_userid, save_sec);
	return result;
}

/*
 * featstore_maintain_partitions: maintain_partitions(group_name) runs the
 * maintenance of a range-partitioned group now, for its table's owner (or
 * a superuser), and returns one row per action taken.
 */
Datum
featstore_maintain_partitions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	FsGroup    *group;
	FsPartitioning p;
	List	   *actions;
	ListCell   *lc;

	FeatstoreRequireEditor();
	InitMaterializedSRF(fcinfo, 0);
	group = RegistryLookupGroup(name, false);
	RegistryCheckGroupOwnerOf(group);
	if (!RegistryGroupPartitioning(group->name, &p) || p.method != 'r')
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("feature group \"%s\" is not partitioned by range of event_timestamp",
						group->name),
				 errhint("Only range partitions are made ahead and dropped; a hash-partitioned group has all its partitions from creation.")));
	actions = OfflineMaintainPartitions(group, &p, GetCurrentTransactionStartTimestamp());
	foreach(lc, actions)
	{
		OfflinePartitionAction *a = lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(a->action);
		values[1] = CStringGetTextDatum(a->partition);
		values[2] = Int64GetDatum(a->rows);
		nulls[2] = a->rows < 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
