/*
 * offline_partition.c
 *		Partitioned history tables (issue 14): the partitions made at
 *		creation, and the maintenance of range partitions.
 *
 * A range-partitioned group has one partition per interval, aligned on
 * multiples of the interval from 2000-01-01 00:00 UTC (PostgreSQL's epoch),
 * and a DEFAULT partition, so that no insert is ever refused: a row whose
 * partition does not exist yet (a backfill, a late event, the worker down)
 * lands in DEFAULT.  The maintenance, run by the monitor worker and by
 * featstore.maintain_partitions(), makes the partitions of the coming
 * intervals (featstore.partition_premake of them), makes a partition for
 * every interval DEFAULT holds rows of and moves those rows into it, and
 * drops the partitions past the retention.
 *
 * PostgreSQL refuses CREATE TABLE ... PARTITION OF while DEFAULT holds rows
 * of the new range, so a partition is made as a table of the same shape,
 * the rows are moved into it (within the one transaction), and it is then
 * attached: ATTACH takes only SHARE UPDATE EXCLUSIVE on the parent, where
 * PARTITION OF takes ACCESS EXCLUSIVE and would stop the readers.
 *
 * Everything on the table runs as its owner, in a restricted section, with
 * every name quoted; the rows moved never pass through capture (the
 * history's contents do not change).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "featstore.h"
#include "offline/offline.h"
#include "registry/registry.h"

/* most partitions one maintenance makes for the rows DEFAULT holds */
#define MAX_BUCKETS_PER_RUN 1000

int			offline_partition_premake = 3;
int			offline_partition_naptime_ms = 60000;

/* One range partition of a group's table */
typedef struct RangePart
{
	Oid			relid;
	TimestampTz lo;
	TimestampTz hi;
} RangePart;

/* What one maintenance knows of a group's table */
typedef struct MaintainState
{
	const FsGroup *group;
	const FsPartitioning *p;
	Oid			relid;
	Oid			nspid;
	char	   *qtable;
	char	   *columns;		/* the table's columns, quoted, in order */
	List	   *parts;			/* of RangePart * */
	Oid			default_relid;
	List	   *actions;		/* of OfflinePartitionAction *, in callercxt */
	MemoryContext callercxt;
} MaintainState;

static void RunPartDdl(const char *sql);
static char *TimestampLiteral(TimestampTz ts);
static char *BucketLabel(TimestampTz lo, int64 interval_usecs);
static void ReadPartitions(MaintainState *ms);
static void CreateDefault(MaintainState *ms);
static void CreateBucket(MaintainState *ms, TimestampTz lo, TimestampTz hi);
static bool Overlaps(MaintainState *ms, TimestampTz lo, TimestampTz hi);
static List *DefaultBuckets(MaintainState *ms, TimestampTz horizon);
static void DropExpired(MaintainState *ms, TimestampTz horizon);
static void AddAction(MaintainState *ms, const char *action, Oid relid, int64 rows);
static char *ColumnList(Oid relid);
static void MaintainSteps(MaintainState *ms, TimestampTz now);
static void OfflineMaintainOne(const char *name, MemoryContext cxt);

/* OfflineInit defines the settings of the partition maintenance */
void
OfflineInit(void)
{
	DefineCustomIntVariable("featstore.partition_premake",
							"How many intervals past the current one the partition maintenance makes range partitions for.",
							NULL, &offline_partition_premake, 3, 0, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.partition_maintenance_naptime",
							"How often the monitor worker runs the partition maintenance of range-partitioned groups.",
							NULL, &offline_partition_naptime_ms, 60000, 1000, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* OfflinePartitionClause returns the PARTITION BY clause of a group's table */
char *
OfflinePartitionClause(const FsPartitioning *p)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	if (p->method == 'r')
	{
		appendStringInfo(&s, " PARTITION BY RANGE (%s)", FS_EVENT_TS_COLUMN);
		return s.data;
	}
	appendStringInfoString(&s, " PARTITION BY HASH (");
	foreach(lc, p->hash_columns)
		appendStringInfo(&s, "%s%s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(strVal(lfirst(lc))));
	appendStringInfoChar(&s, ')');
	return s.data;
}

/*
 * OfflineCreatePartitions makes the partitions of a new group's table, as
 * the calling role that created it (SPI connected): all n of a hash layout;
 * DEFAULT and the current and coming intervals of a range layout.
 */
void
OfflineCreatePartitions(Oid relid, const FsPartitioning *p, const char *group_name)
{
	char	   *qtable = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													get_rel_name(relid));
	Oid			nspid = get_rel_namespace(relid);

	if (p->method == 'h')
	{
		for (int i = 0; i < p->nparts; i++)
		{
			char	   *name = ChooseRelationName(get_rel_name(relid), NULL,
												  psprintf("h%d", i), nspid, false);

			RunPartDdl(psprintf("CREATE TABLE %s PARTITION OF %s FOR VALUES WITH (MODULUS %d, REMAINDER %d)",
								quote_qualified_identifier(get_namespace_name(nspid), name),
								qtable, p->nparts, i));
		}
		return;
	}
	{
		FsGroup		g;
		MaintainState ms;

		memset(&g, 0, sizeof(g));
		g.name = (char *) group_name;
		memset(&ms, 0, sizeof(ms));
		ms.group = &g;
		ms.p = p;
		ms.relid = relid;
		ms.nspid = nspid;
		ms.qtable = qtable;
		ms.callercxt = CurrentMemoryContext;
		ms.columns = ColumnList(relid);
		CreateDefault(&ms);
		MaintainSteps(&ms, GetCurrentTransactionStartTimestamp());
	}
}

/* RunPartDdl executes one statement (SPI connected) */
static void
RunPartDdl(const char *sql)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc < 0)
		elog(ERROR, "featstore could not run \"%s\": %s", sql, SPI_result_code_string(rc));
}

/*
 * OfflineRangeBounds reads the bounds of a range partition of a history
 * table: [*lo, *hi), DT_NOBEGIN / DT_NOEND for MINVALUE / MAXVALUE.  It
 * returns false for the DEFAULT partition, a hash partition, or a relation
 * that is no partition, each of which can hold any event time.
 */
bool
OfflineRangeBounds(Oid partrelid, TimestampTz *lo, TimestampTz *hi)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(partrelid));
	bool		isnull;
	Datum		d;
	PartitionBoundSpec *spec;
	bool		ok = false;

	if (!HeapTupleIsValid(tup))
		return false;
	d = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relpartbound, &isnull);
	if (!isnull)
	{
		spec = (PartitionBoundSpec *) stringToNode(TextDatumGetCString(d));
		if (IsA(spec, PartitionBoundSpec) && !spec->is_default &&
			spec->strategy == PARTITION_STRATEGY_RANGE &&
			list_length(spec->lowerdatums) == 1 && list_length(spec->upperdatums) == 1)
		{
			PartitionRangeDatum *l = linitial(spec->lowerdatums);
			PartitionRangeDatum *u = linitial(spec->upperdatums);

			ok = true;
			*lo = DT_NOBEGIN;
			*hi = DT_NOEND;
			if (l->kind == PARTITION_RANGE_DATUM_VALUE && IsA(l->value, Const) &&
				((Const *) l->value)->consttype == TIMESTAMPTZOID)
				*lo = DatumGetTimestampTz(((Const *) l->value)->constvalue);
			else if (l->kind != PARTITION_RANGE_DATUM_MINVALUE)
				ok = false;
			if (u->kind == PARTITION_RANGE_DATUM_VALUE && IsA(u->value, Const) &&
				((Const *) u->value)->consttype == TIMESTAMPTZOID)
				*hi = DatumGetTimestampTz(((Const *) u->value)->constvalue);
			else if (u->kind == PARTITION_RANGE_DATUM_MINVALUE)
				*hi = DT_NOBEGIN;
		}
	}
	ReleaseSysCache(tup);
	return ok;
}

/*
 * OfflineMaintainPartitions runs the maintenance of a range-partitioned
 * group at now, as its table's owner in a restricted section, and returns
 * what it did (OfflinePartitionAction *, in the caller's memory context).
 * It holds SHARE UPDATE EXCLUSIVE on the table to the transaction's end,
 * so two maintenances of one group (the worker's and a call) run one after
 * the other, and the second finds the partitions made.
 */
List *
OfflineMaintainPartitions(const FsGroup *group, const FsPartitioning *p, TimestampTz now)
{
	MaintainState ms;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;

	if (!OidIsValid(group->relid) || get_rel_relkind(group->relid) != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("history table of feature group \"%s\" is not a partitioned table",
						group->name),
				 errhint("Recreate the group with DROP FEATURE GROUP and CREATE FEATURE GROUP ... PARTITION BY.")));
	memset(&ms, 0, sizeof(ms));
	ms.group = group;
	ms.p = p;
	ms.relid = group->relid;
	ms.nspid = get_rel_namespace(group->relid);
	ms.qtable = quote_qualified_identifier(group->schema_name, group->table_name);
	ms.callercxt = CurrentMemoryContext;
	LockRelationOid(ms.relid, ShareUpdateExclusiveLock);

	SPI_connect();
	save_nestlevel = FeatstorePinSearchPath();
	FeatstoreBeginAsTableOwner(ms.relid, &save_userid, &save_sec);
	ms.columns = ColumnList(ms.relid);
	ReadPartitions(&ms);
	if (!OidIsValid(ms.default_relid))
		CreateDefault(&ms);
	MaintainSteps(&ms, now);
	FeatstoreEndAsTableOwner(save_userid, save_sec);
	AtEOXact_GUC(true, save_nestlevel);
	SPI_finish();
	return ms.actions;
}

/*
 * MaintainSteps makes the partitions due and drops the expired ones: the
 * current interval and featstore.partition_premake more, every interval
 * DEFAULT holds rows of (within the retention), then the retention
 */
static void
MaintainSteps(MaintainState *ms, TimestampTz now)
{
	int64		width = ms->p->interval_usecs;
	TimestampTz horizon = ms->p->has_retention ? now - ms->p->retention_usecs : DT_NOBEGIN;
	TimestampTz first;
	ListCell   *lc;

	if (width <= 0)
		elog(ERROR, "partition interval of feature group \"%s\" is not positive", ms->group->name);
	/* floor division: a negative remainder rounds down too */
	first = now - (((now % width) + width) % width);
	for (int i = 0; i <= offline_partition_premake; i++)
	{
		TimestampTz lo = first + (int64) i * width;

		if (!Overlaps(ms, lo, lo + width))
			CreateBucket(ms, lo, lo + width);
	}
	foreach(lc, DefaultBuckets(ms, horizon))
	{
		TimestampTz lo = *(TimestampTz *) lfirst(lc);

		/* an interval that would end past the last timestamp stays in DEFAULT */
		if (IS_VALID_TIMESTAMP(lo) && lo < END_TIMESTAMP - width &&
			!Overlaps(ms, lo, lo + width))
			CreateBucket(ms, lo, lo + width);
	}
	if (ms->p->has_retention)
		DropExpired(ms, horizon);
}

/* ColumnList returns the table's columns, quoted and comma-separated, in order */
static char *
ColumnList(Oid relid)
{
	StringInfoData s;
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);

	initStringInfo(&s);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped)
			appendStringInfo(&s, "%s%s", s.len ? ", " : "",
							 quote_identifier(NameStr(att->attname)));
	}
	table_close(rel, NoLock);
	return s.data;
}

/* ReadPartitions lists the table's range partitions and its DEFAULT */
static void
ReadPartitions(MaintainState *ms)
{
	ListCell   *lc;

	foreach(lc, find_inheritance_children(ms->relid, AccessShareLock))
	{
		Oid			child = lfirst_oid(lc);
		RangePart  *rp = palloc(sizeof(RangePart));

		if (OfflineRangeBounds(child, &rp->lo, &rp->hi))
		{
			rp->relid = child;
			ms->parts = lappend(ms->parts, rp);
		}
		else if (get_default_partition_oid(ms->relid) == child)
			ms->default_relid = child;
	}
}

/* CreateDefault makes the DEFAULT partition, which takes any event time */
static void
CreateDefault(MaintainState *ms)
{
	char	   *name = ChooseRelationName(get_rel_name(ms->relid), NULL, "default", ms->nspid, false);
	char	   *qname = quote_qualified_identifier(get_namespace_name(ms->nspid), name);

	RunPartDdl(psprintf("CREATE TABLE %s PARTITION OF %s DEFAULT", qname, ms->qtable));
	CommandCounterIncrement();
	ms->default_relid = get_relname_relid(name, ms->nspid);
	AddAction(ms, "created default", ms->default_relid, 0);
}

/* Overlaps says whether [lo, hi) meets a range partition the table has */
static bool
Overlaps(MaintainState *ms, TimestampTz lo, TimestampTz hi)
{
	ListCell   *lc;

	foreach(lc, ms->parts)
	{
		RangePart  *rp = lfirst(lc);

		if (rp->lo < hi && lo < rp->hi)
			return true;
	}
	return false;
}

/*
 * CreateBucket makes the partition [lo, hi): a table of the parent's shape,
 * DEFAULT's rows of that range moved into it, then attached (which builds
 * its copies of the parent's indexes and checks DEFAULT holds no more of
 * its rows)
 */
static void
CreateBucket(MaintainState *ms, TimestampTz lo, TimestampTz hi)
{
	char	   *name = ChooseRelationName(get_rel_name(ms->relid), NULL,
										  BucketLabel(lo, ms->p->interval_usecs), ms->nspid, false);
	char	   *qname = quote_qualified_identifier(get_namespace_name(ms->nspid), name);
	char	   *range = psprintf("%s >= %s AND %s < %s", FS_EVENT_TS_COLUMN, TimestampLiteral(lo),
								 FS_EVENT_TS_COLUMN, TimestampLiteral(hi));
	int64		moved = 0;
	RangePart  *rp;

	RunPartDdl(psprintf("CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS)", qname, ms->qtable));
	if (OidIsValid(ms->default_relid))
	{
		char	   *qdefault = quote_qualified_identifier(get_namespace_name(get_rel_namespace(ms->default_relid)),
														  get_rel_name(ms->default_relid));

		RunPartDdl(psprintf("INSERT INTO %s (%s) SELECT %s FROM ONLY %s WHERE %s",
							qname, ms->columns, ms->columns, qdefault, range));
		moved = (int64) SPI_processed;
		if (moved > 0)
			RunPartDdl(psprintf("DELETE FROM ONLY %s WHERE %s", qdefault, range));
	}
	RunPartDdl(psprintf("ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM (%s) TO (%s)",
						ms->qtable, qname, TimestampLiteral(lo), TimestampLiteral(hi)));
	CommandCounterIncrement();
	rp = palloc(sizeof(RangePart));
	rp->relid = get_relname_relid(name, ms->nspid);
	rp->lo = lo;
	rp->hi = hi;
	ms->parts = lappend(ms->parts, rp);
	AddAction(ms, "created", rp->relid, moved);
}

/*
 * DefaultBuckets returns the starts of the intervals DEFAULT holds rows of
 * at or after horizon, at most MAX_BUCKETS_PER_RUN of them, earliest first
 */
static List *
DefaultBuckets(MaintainState *ms, TimestampTz horizon)
{
	List	   *result = NIL;
	Datum		args[2];
	Oid			types[2] = {INT8OID, TIMESTAMPTZOID};
	char	   *sql;

	if (!OidIsValid(ms->default_relid))
		return NIL;
	/* event_timestamp - epoch in microseconds, floor-divided by the width */
	/* infinite event times stay in DEFAULT: no interval holds them */
	sql = psprintf("SELECT DISTINCT pg_catalog.floor((extract(epoch FROM %s) - 946684800) * 1000000"
				   " / $1)::pg_catalog.int8 AS b FROM ONLY %s WHERE %s >= $2 AND pg_catalog.isfinite(%s)"
				   " ORDER BY b LIMIT %d",
				   FS_EVENT_TS_COLUMN,
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(ms->default_relid)),
											  get_rel_name(ms->default_relid)),
				   FS_EVENT_TS_COLUMN, FS_EVENT_TS_COLUMN, MAX_BUCKETS_PER_RUN);
	args[0] = Int64GetDatum(ms->p->interval_usecs);
	args[1] = TimestampTzGetDatum(horizon);
	if (SPI_execute_with_args(sql, 2, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the DEFAULT partition of feature group \"%s\"", ms->group->name);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		b = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
													1, &isnull));
		TimestampTz *lo = palloc(sizeof(TimestampTz));

		*lo = b * ms->p->interval_usecs;
		result = lappend(result, lo);
	}
	return result;
}

/*
 * DropExpired drops the range partitions that end at or before horizon and
 * deletes DEFAULT's rows older than it: past the retention, no spine row
 * within the retention can join to them (the TTL is shorter)
 */
static void
DropExpired(MaintainState *ms, TimestampTz horizon)
{
	ListCell   *lc;

	foreach(lc, ms->parts)
	{
		RangePart  *rp = lfirst(lc);

		if (rp->hi > horizon)
			continue;
		AddAction(ms, "dropped", rp->relid, -1);
		RunPartDdl(psprintf("DROP TABLE %s",
							quote_qualified_identifier(get_namespace_name(get_rel_namespace(rp->relid)),
													   get_rel_name(rp->relid))));
	}
	if (OidIsValid(ms->default_relid))
	{
		Datum		arg = TimestampTzGetDatum(horizon);
		Oid			type = TIMESTAMPTZOID;
		char	   *sql = psprintf("DELETE FROM ONLY %s WHERE %s < $1",
								   quote_qualified_identifier(get_namespace_name(get_rel_namespace(ms->default_relid)),
															  get_rel_name(ms->default_relid)),
								   FS_EVENT_TS_COLUMN);

		if (SPI_execute_with_args(sql, 1, &type, &arg, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete expired rows of feature group \"%s\"", ms->group->name);
		if (SPI_processed > 0)
			AddAction(ms, "deleted from default", ms->default_relid, (int64) SPI_processed);
	}
}

/* AddAction records one action, in the caller's memory context */
static void
AddAction(MaintainState *ms, const char *action, Oid relid, int64 rows)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(ms->callercxt);
	OfflinePartitionAction *a = palloc(sizeof(OfflinePartitionAction));

	a->action = pstrdup(action);
	a->partition = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											  get_rel_name(relid));
	a->rows = rows;
	ms->actions = lappend(ms->actions, a);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * TimestampLiteral writes ts as an ISO literal in UTC, which PostgreSQL
 * reads back the same whatever the session's DateStyle and TimeZone
 */
static char *
TimestampLiteral(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		buf[MAXDATELEN + 1];

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("partition bound is out of range")));
	EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, buf);
	return psprintf("'%s'::pg_catalog.timestamptz", buf);
}

/*
 * BucketLabel names a partition by its start in UTC: p20261201 when the
 * width is whole days, p20261201_1300 otherwise
 */
static char *
BucketLabel(TimestampTz lo, int64 interval_usecs)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(lo, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("partition bound is out of range")));
	if (interval_usecs % USECS_PER_DAY == 0)
		return psprintf("p%04d%02d%02d", tm.tm_year, tm.tm_mon, tm.tm_mday);
	return psprintf("p%04d%02d%02d_%02d%02d", tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min);
}

/*
 * OfflineMaintainAllPartitions is the monitor worker's unit: the
 * maintenance of every range-partitioned group, each in a subtransaction
 * of the caller's transaction, so that one group's failure (logged) leaves
 * the others' work done.
 */
void
OfflineMaintainAllPartitions(void)
{
	List	   *names = NIL;
	ListCell   *lc;
	MemoryContext cxt = CurrentMemoryContext;
	Oid			nsp = FeatstoreSchemaOid(true);

	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("group_partitioning", nsp)))
		return;
	SPI_connect();
	if (SPI_execute("SELECT group_name FROM featstore.group_partitioning WHERE method = 'range'"
					" ORDER BY group_name", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the range-partitioned feature groups");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		names = lappend(names, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	foreach(lc, names)
		OfflineMaintainOne(lfirst(lc), cxt);
}

/*
 * OfflineMaintainOne runs one group's maintenance in a subtransaction; an
 * error is rolled back with it and logged (once while it repeats)
 */
static void
OfflineMaintainOne(const char *name, MemoryContext cxt)
{
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		FsGroup    *group = RegistryLookupGroup(name, true);
		FsPartitioning p;

		if (group != NULL && RegistryGroupPartitioning(name, &p) && p.method == 'r')
			(void) OfflineMaintainPartitions(group, &p, GetCurrentTransactionStartTimestamp());
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		static char last_failure[256];
		ErrorData  *edata;
		char	   *failure;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		/* a lasting failure is logged once, not at every run */
		failure = psprintf("%s: %s", name, edata->message);
		ereport(strncmp(last_failure, failure, sizeof(last_failure) - 1) == 0 ? DEBUG1 : LOG,
				(errcode(edata->sqlerrcode),
				 errmsg("featstore monitor: partition maintenance of feature group \"%s\" failed: %s",
						name, edata->message)));
		strlcpy(last_failure, failure, sizeof(last_failure));
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = oldowner;
}
