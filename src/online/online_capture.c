/*
 * online_capture.c
 *		Change capture for online groups: what must be recomputed, and when.
 *
 * Statement-level AFTER triggers with transition tables append the changed
 * entity keys to featstore.online_queue in the writing transaction, in
 * chunks of at most ONLINE_QUEUE_CHUNK entities per queue row, so a COPY of
 * a million rows adds about a thousand small rows.  The queue commits or
 * rolls back with the data: nothing is lost whatever the commit order, and a
 * rolled-back transaction publishes nothing.  At commit an XactCallback
 * wakes the worker, so an idle worker reacts without polling.
 *
 * The queue records only "this entity may have changed"; the worker
 * recomputes the winner from the history table, which makes the order of
 * queue rows irrelevant for correctness.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "extension.h"
#include "offline/offline.h"
#include "online/online.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(online_capture);
PG_FUNCTION_INFO_V1(materialize);

/* Set when this transaction queued work; read at commit */
static bool changes_pending = false;

/* Set at commit when the worker must be woken once the commit is complete */
static bool wake_after_commit = false;

/*
 * The table whose INSERTs capture lets pass unqueued: a backfill's promote
 * (issue 12) queues exactly the entities whose winner it changes itself,
 * with OnlineEnqueueEntities, instead of every entity it inserts
 */
static Oid	capture_skip_relid = InvalidOid;

static void OnlineXactCallback(XactEvent event, void *arg);
static void OnlineAfterCommit(ResourceReleasePhase phase, bool isCommit,
							  bool isTopLevel, void *arg);
static void OnlineGroupChanged(FsGroupEvent event, const FsGroup *group);
static void SourceGroupChanged(FsGroupEvent event, const FsGroup *group);
static char *SourceTriggerName(const char *group_name, const char *event);
static void CheckSourceCapturable(const FsGroup *group);
static void AttachSourceCapture(const FsGroup *group);
static void DetachSourceCapture(const FsGroup *group);
static void EnqueueTransition(TriggerData *trigdata, Tuplestorestate *rows,
							  const char *group_name, char **keys, int nkeys,
							  const char *ts_column, bool force);
static void EnqueueChunk(const char *group_name, Datum *elems, int nentities,
						 int nkeys, bool force, bool future);
static const char *CheckCaptureTable(TriggerData *trigdata, const char *group_name);
static void RunAsTableOwner(const OnlineGroup *group, const char *sql, int nargs,
							Oid *argtypes, Datum *args, int expected);
static bool HasCaptureTriggers(Oid relid);
static void AttachCapture(const FsGroup *group);
static void DetachCapture(const FsGroup *group);
static void CaptureHashPartitions(const FsGroup *group, const char *args, bool attach);
static void RunAsOwner(const char *sql, int nargs, Oid *argtypes, Datum *args,
					   int expected);

/* OnlineCaptureInit hooks commit wake-ups and registry changes */
void
OnlineCaptureInit(void)
{
	RegisterXactCallback(OnlineXactCallback, NULL);
	RegisterResourceReleaseCallback(OnlineAfterCommit, NULL);
	RegisterGroupChangeCallback(OnlineGroupChanged);
}

/*
 * online_capture is the trigger function on every online group's history
 * table.  Arguments: the group name, then the entity key columns.
 */
Datum
online_capture(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	const char *group_name;
	const char *ts_column;
	char	  **keys;
	int			nkeys;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("featstore.online_capture() must be an AFTER ... FOR EACH STATEMENT trigger"),
				 errhint("featstore attaches it itself when a feature group is set ONLINE.")));
	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs < 2)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("featstore.online_capture() needs the group name and key columns as arguments")));
	group_name = trigger->tgargs[0];
	keys = trigger->tgargs + 1;
	nkeys = trigger->tgnargs - 1;

	SPI_connect();
	ts_column = CheckCaptureTable(trigdata, group_name);
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) && OidIsValid(capture_skip_relid) &&
		RelationGetRelid(trigdata->tg_relation) == capture_skip_relid)
	{
		SPI_finish();
		changes_pending = true;
		return PointerGetDatum(NULL);
	}
	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		OnlineEnqueuePurge(group_name);
	else
	{
		/*
		 * After DELETE or UPDATE the right value may be an older row, so those
		 * entities are written without the newer-wins check.
		 */
		if (trigdata->tg_oldtable)
			EnqueueTransition(trigdata, trigdata->tg_oldtable, group_name, keys, nkeys,
							  ts_column, true);
		if (trigdata->tg_newtable)
			EnqueueTransition(trigdata, trigdata->tg_newtable, group_name, keys, nkeys,
							  ts_column, TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event));
	}
	SPI_finish();
	changes_pending = true;
	return PointerGetDatum(NULL);
}

/*
 * CheckCaptureTable refuses capture from any table but the named group's
 * own, or its source for a group defined FROM one: anyone may attach
 * online_capture() to a table of theirs, and would otherwise queue keys
 * (and purges, on TRUNCATE) for any group.  It runs on every captured
 * statement; the registry answers from its cache.  Returns the column that
 * holds the events' times (event_timestamp, or the source's TIMESTAMP).
 */
static const char *
CheckCaptureTable(TriggerData *trigdata, const char *group_name)
{
	Relation	rel = trigdata->tg_relation;
	FsGroup    *fs;

	if (RegistryIsGroupTable(group_name, RelationGetRelid(rel)))
		return FS_EVENT_TS_COLUMN;
	/* a partition of a hash-partitioned group's table (CaptureHashPartitions) */
	if (rel->rd_rel->relispartition &&
		RegistryIsGroupTable(group_name, get_partition_parent(RelationGetRelid(rel), true)))
		return FS_EVENT_TS_COLUMN;
	fs = RegistryLookupGroup(group_name, true);
	if (fs != NULL && fs->source != NULL && OidIsValid(fs->source->relid) &&
		fs->source->relid == RelationGetRelid(rel))
		return fs->source->timestamp_column;
	{
		char	   *table = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													   RelationGetRelationName(rel));

		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("featstore.online_capture() for feature group \"%s\" fired on table %s, which is not the group's table",
						group_name, table),
				 errhint("featstore attaches this trigger itself when a group is set ONLINE; drop trigger %s on %s.",
						 quote_identifier(trigdata->tg_trigger->tgname), table)));
	}
	return NULL;				/* not reached */
}

/*
 * materialize queues a forced rewrite of every entity of a group (or of those
 * whose latest row is at or after since) and returns how many entities that
 * is.  It queues one walk, not the entities: the worker follows the group's
 * index in bounded chunks and records its position in the queue row, so an
 * interrupted rematerialization resumes where it stopped.
 */
Datum
materialize(PG_FUNCTION_ARGS)
{
	char	   *name;
	OnlineGroup *group;
	int64		queued;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("feature group name must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	/* elsewhere no worker would ever take the queued walk */
	OnlineRequireServedDatabase();
	group = OnlineLoadServedGroup(name, "; it materializes the group by itself.");
	/* it counts the table's entities and makes the worker publish them */
	OnlineCheckGroupReadable(group, "materialize");

	queued = OnlineEnqueueGroup(group,
								PG_ARGISNULL(1) ? DT_NOBEGIN : PG_GETARG_TIMESTAMPTZ(1),
								true);
	/* the user's action that lets the worker try the group's parked rows again */
	(void) OnlineRetryParked(group->name);
	PG_RETURN_INT64(queued);
}

/*
 * OnlineEnqueueGroup queues a walk of the group's history that rewrites, in
 * Redis, every entity with a row at or after since (DT_NOBEGIN: all); returns
 * how many entities that is.  The walk is one queue row that records how
 * far the worker got, so it resumes after an interruption, and the queue
 * stays small whatever the group's size.  Walks of the group already queued
 * for the same entities or fewer are dropped: the new one rewrites all of
 * them from a later snapshot.  The entities are counted as the table's
 * owner, after the table's shape is checked; the queue is written as the
 * extension owner.
 */
int64
OnlineEnqueueGroup(const OnlineGroup *group, TimestampTz since, bool force)
{
	StringInfoData sql;
	StringInfoData cols;
	Oid			argtypes[4] = {TEXTOID, TIMESTAMPTZOID, BOOLOID, INT8OID};
	Datum		args[4];
	bool		isnull;
	int64		entities;

	/* the walk's columns of the queue came with 0.2.0 */
	FeatstoreRequireCurrentSchema();
	RegistryCheckGroupTable(group->registry);
	if (OnlineIsSourceGroup(group))
	{
		entities = OnlineEnqueueSourceGroup(group, since, force);
		changes_pending = true;
		return entities;
	}
	initStringInfo(&cols);
	for (int i = 0; i < group->nkeys; i++)
		appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "", quote_identifier(group->key_names[i]));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.count(*) FROM"
					 " (SELECT FROM %s WHERE event_timestamp >= $2 GROUP BY %s) s",
					 group->qualified_table, cols.data);
	args[0] = CStringGetTextDatum(group->name);
	args[1] = TimestampTzGetDatum(since);
	args[2] = BoolGetDatum(force);

	SPI_connect();
	RunAsTableOwner(group, sql.data, 4, argtypes, args, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "featstore could not count the entities of feature group \"%s\"", group->name);
	entities = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	args[3] = Int64GetDatum(entities);
	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH d AS (DELETE FROM featstore.online_queue WHERE group_name = $1 AND kind = 'scan'"
					 " AND coalesce(since, '-infinity') >= $2)"
					 " INSERT INTO featstore.online_queue (group_name, kind, entities, force, since)"
					 " VALUES ($1, 'scan', LEAST($4, %d), $3, CASE WHEN $2 > '-infinity' THEN $2 END)",
					 PG_INT32_MAX);
	RunAsOwner(sql.data, 4, argtypes, args, SPI_OK_INSERT);
	SPI_finish();
	changes_pending = true;
	return entities;
}

/*
 * OnlineEnqueueKeys lists the group's entities that have rows with
 * event_timestamp >= since in the queue; returns how many.  Each queue row
 * holds a run of entities in key order, so that a batch spans a narrow key
 * range that the worker can read in one ordered pass.  This is the fallback
 * of a whole-group walk when the group's table has lost its index.  As in
 * OnlineEnqueueGroup, the table is read as its owner and the queue written
 * as the extension owner.
 */
int64
OnlineEnqueueKeys(const OnlineGroup *group, TimestampTz since, bool force)
{
	StringInfoData sql;
	StringInfoData cols;
	StringInfoData arr;
	Oid			argtypes[6] = {TEXTOID, TIMESTAMPTZOID, BOOLOID, TEXTARRAYOID, INT4OID, BOOLOID};
	Datum		args[6];
	SPITupleTable *chunks;
	uint64		nchunks;
	int64		total = 0;

	RegistryCheckGroupTable(group->registry);
	initStringInfo(&cols);
	initStringInfo(&arr);
	for (int i = 0; i < group->nkeys; i++)
	{
		const char *col = quote_identifier(group->key_names[i]);

		appendStringInfo(&cols, "%s%s", i > 0 ? ", " : "", col);
		appendStringInfo(&arr, "%ss.%s::pg_catalog.text", i > 0 ? ", " : "", col);
	}
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.array_agg(ARRAY[%s]), pg_catalog.count(*)::pg_catalog.int4,"
					 " pg_catalog.bool_or(s.fut)"
					 " FROM (SELECT %s, pg_catalog.max(event_timestamp) > pg_catalog.now() AS fut,"
					 " pg_catalog.row_number() OVER (ORDER BY %s) - 1 AS rn"
					 " FROM %s WHERE event_timestamp >= $2 GROUP BY %s) s"
					 " GROUP BY s.rn / %d",
					 arr.data, cols.data, cols.data, group->qualified_table, cols.data,
					 ONLINE_QUEUE_CHUNK);
	args[0] = CStringGetTextDatum(group->name);
	args[1] = TimestampTzGetDatum(since);
	args[2] = BoolGetDatum(force);

	SPI_connect();
	RunAsTableOwner(group, sql.data, 2, argtypes, args, SPI_OK_SELECT);
	chunks = SPI_tuptable;
	nchunks = SPI_processed;
	for (uint64 i = 0; i < nchunks; i++)
	{
		bool		isnull;

		args[3] = SPI_getbinval(chunks->vals[i], chunks->tupdesc, 1, &isnull);
		args[4] = SPI_getbinval(chunks->vals[i], chunks->tupdesc, 2, &isnull);
		args[5] = SPI_getbinval(chunks->vals[i], chunks->tupdesc, 3, &isnull);
		total += DatumGetInt32(args[4]);
		RunAsOwner("INSERT INTO featstore.online_queue (group_name, keys, entities, force, future)"
				   " VALUES ($1, $4, $5, $3, $6)",
				   6, argtypes, args, SPI_OK_INSERT);
	}
	SPI_finish();
	changes_pending = true;
	return total;
}

/*
 * OnlineCaptureSkip makes capture let this backend's INSERTs into relid pass
 * unqueued (InvalidOid: none), and returns the previous setting.  The
 * caller restores it in PG_FINALLY and queues what the INSERT changed
 * itself.
 */
Oid
OnlineCaptureSkip(Oid relid)
{
	Oid			prev = capture_skip_relid;

	capture_skip_relid = relid;
	return prev;
}

/*
 * OnlineEnqueueEntities queues the entities that entities_sql lists, and
 * returns how many: a query over the group's table (and tables of the same
 * owner) returning the group's key columns, by name, and a boolean column
 * fut (the entity has a row dated after now, to revisit then), one row per
 * entity.  It runs as the table's owner, as OnlineEnqueueKeys; the queue
 * rows hold ONLINE_QUEUE_CHUNK entities each, in key order, written without
 * force: the worker's compare-and-set takes a better row.
 */
int64
OnlineEnqueueEntities(const OnlineGroup *group, const char *entities_sql, int nargs,
					  Oid *argtypes, Datum *args)
{
	StringInfoData sql;
	StringInfoData cols;
	StringInfoData arr;
	Oid			qtypes[5] = {TEXTOID, TEXTARRAYOID, INT4OID, BOOLOID, BOOLOID};
	Datum		qargs[5];
	SPITupleTable *chunks;
	uint64		nchunks;
	int64		total = 0;

	RegistryCheckGroupTable(group->registry);
	initStringInfo(&cols);
	initStringInfo(&arr);
	for (int i = 0; i < group->nkeys; i++)
	{
		const char *col = quote_identifier(group->key_names[i]);

		appendStringInfo(&cols, "%se.%s", i > 0 ? ", " : "", col);
		appendStringInfo(&arr, "%ss.%s::pg_catalog.text", i > 0 ? ", " : "", col);
	}
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT pg_catalog.array_agg(ARRAY[%s]), pg_catalog.count(*)::pg_catalog.int4,"
					 " pg_catalog.bool_or(s.fut)"
					 " FROM (SELECT e.*, pg_catalog.row_number() OVER (ORDER BY %s) - 1 AS rn"
					 " FROM (%s) e) s GROUP BY s.rn / %d",
					 arr.data, cols.data, entities_sql, ONLINE_QUEUE_CHUNK);
	SPI_connect();
	RunAsTableOwner(group, sql.data, nargs, argtypes, args, SPI_OK_SELECT);
	chunks = SPI_tuptable;
	nchunks = SPI_processed;
	qargs[0] = CStringGetTextDatum(group->name);
	qargs[3] = BoolGetDatum(false);
	for (uint64 i = 0; i < nchunks; i++)
	{
		bool		isnull;

		qargs[1] = SPI_getbinval(chunks->vals[i], chunks->tupdesc, 1, &isnull);
		qargs[2] = SPI_getbinval(chunks->vals[i], chunks->tupdesc, 2, &isnull);
		qargs[4] = SPI_getbinval(chunks->vals[i], chunks->tupdesc, 3, &isnull);
		if (isnull)
			qargs[4] = BoolGetDatum(false);
		total += DatumGetInt32(qargs[2]);
		RunAsOwner("INSERT INTO featstore.online_queue (group_name, keys, entities, force, future)"
				   " VALUES ($1, $2, $3, $4, $5)",
				   5, qtypes, qargs, SPI_OK_INSERT);
	}
	SPI_finish();
	changes_pending = true;
	return total;
}

/*
 * RunAsTableOwner runs one SPI statement over a group's table as the
 * table's owner (see FeatstoreBeginAsTableOwner).  SPI must be connected.
 */
static void
RunAsTableOwner(const OnlineGroup *group, const char *sql, int nargs, Oid *argtypes,
				Datum *args, int expected)
{
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	FeatstoreBeginAsTableOwner(group->relid, &save_userid, &save_sec_context);
	ret = SPI_execute_with_args(sql, nargs, argtypes, args, NULL, false, 0);
	FeatstoreEndAsTableOwner(save_userid, save_sec_context);
	if (ret != expected)
		elog(ERROR, "featstore could not read the table of feature group \"%s\": SPI error %d",
			 group->name, ret);
}

/*
 * OnlineEnqueuePurge queues the removal of every Redis key of a group, in
 * the namespace of now: a purge taken after a move must not miss them
 */
void
OnlineEnqueuePurge(const char *group_name)
{
	OnlineEnqueuePurgeIn(group_name, OnlineNamespace());
}

/* OnlineEnqueuePurgeIn queues the removal of a group's keys in namespace ns */
void
OnlineEnqueuePurgeIn(const char *group_name, const char *ns)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];

	args[0] = CStringGetTextDatum(group_name);
	args[1] = CStringGetTextDatum(ns);
	SPI_connect();
	/* a 0.2.0 schema, before ALTER EXTENSION UPDATE, has the legacy layout only */
	if (OnlineNamespaceStored())
		RunAsOwner("INSERT INTO featstore.online_queue (group_name, kind, namespace) VALUES ($1, 'purge', $2)",
				   2, argtypes, args, SPI_OK_INSERT);
	else
		RunAsOwner("INSERT INTO featstore.online_queue (group_name, kind) VALUES ($1, 'purge')",
				   1, argtypes, args, SPI_OK_INSERT);
	/* parked rows of a group no longer served would wait for nothing */
	RunAsOwner("DELETE FROM featstore.online_queue WHERE group_name = $1 AND state = 'failed'",
			   1, argtypes, args, SPI_OK_DELETE);
	SPI_finish();
	changes_pending = true;
}

/*
 * OnlineRetryParked puts the group's parked queue rows (those the worker
 * died on ONLINE_MAX_ATTEMPTS times in a row) back in line with their
 * attempts forgotten, and returns how many there were.  materialize() calls
 * it: running it is the user's statement that the cause has been dealt with.
 */
int64
OnlineRetryParked(const char *group_name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	int64		retried;

	args[0] = CStringGetTextDatum(group_name);
	SPI_connect();
	RunAsOwner("UPDATE featstore.online_queue SET state = 'ready', attempts = 0"
			   " WHERE group_name = $1 AND state = 'failed'",
			   1, argtypes, args, SPI_OK_UPDATE);
	retried = (int64) SPI_processed;
	SPI_finish();
	if (retried > 0)
		changes_pending = true;
	return retried;
}

/*
 * OnlineXactCallback notes at commit that the worker must be woken, which
 * OnlineAfterCommit does: the commit callbacks run before the transaction's
 * cache invalidations are sent, and a worker woken then could read the
 * queue rows of a registry change (SET ONLINE, a new feature) with its
 * cache of definitions still from before it.
 */
static void
OnlineXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			wake_after_commit = changes_pending;
			changes_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction is found by the worker's polling */
			changes_pending = false;
			wake_after_commit = false;
			break;
		default:
			break;
	}
}

/*
 * OnlineAfterCommit wakes the worker at the end of a commit, after its
 * invalidations were sent (the release of the top transaction's resources
 * after its locks), once per commit
 */
static void
OnlineAfterCommit(ResourceReleasePhase phase, bool isCommit, bool isTopLevel, void *arg)
{
	if (phase != RESOURCE_RELEASE_AFTER_LOCKS || !isTopLevel)
		return;
	if (isCommit && wake_after_commit)
		OnlineWakeWorker();
	wake_after_commit = false;
}

/*
 * OnlineGroupChanged keeps capture and Redis in step with the registry:
 * triggers exist exactly on online groups, a group that goes online (or
 * whose TTL or features change) is rematerialized, and a group that goes
 * offline or is dropped has its keys purged.
 */
static void
OnlineGroupChanged(FsGroupEvent event, const FsGroup *group)
{
	bool		captured;

	if (group->source != NULL)
	{
		SourceGroupChanged(event, group);
		return;
	}
	if (!OidIsValid(group->relid))
		return;
	captured = HasCaptureTriggers(group->relid);

	switch (event)
	{
		case FS_GROUP_CREATED:
			if (group->online)
				AttachCapture(group);
			break;
		case FS_GROUP_ALTERED:
			if (group->online)
			{
				OnlineGroup *og;

				if (!captured)
					AttachCapture(group);

				/*
				 * A changed TTL or feature list changes every stored value; the
				 * forced rewrite also re-applies the expiry.
				 */
				og = OnlineLoadGroup(group->name, false);
				OnlineEnqueueGroup(og, DT_NOBEGIN, true);
			}
			else if (captured)
			{
				DetachCapture(group);
				OnlineEnqueuePurge(group->name);
			}
			break;
		case FS_GROUP_DROPPING:
			if (captured)
			{
				DetachCapture(group);
				OnlineEnqueuePurge(group->name);
			}
			break;
	}
}

/*
 * SourceGroupChanged is OnlineGroupChanged for a group defined FROM a
 * source: the capture triggers sit on the source, one set per group (several
 * groups may read one source), and a group that goes online is filled from
 * the source at once, since its events are already there.
 */
static void
SourceGroupChanged(FsGroupEvent event, const FsGroup *group)
{
	const FsSource *src = group->source;
	bool		captured;

	if (!OidIsValid(src->relid))
		return;					/* a missing source has no triggers to move */
	captured = OidIsValid(get_trigger_oid(src->relid,
										  SourceTriggerName(group->name, "insert"), true));
	if (group->online && event != FS_GROUP_DROPPING)
	{
		if (!captured)
		{
			CheckSourceCapturable(group);
			AttachSourceCapture(group);
		}
		/* every value changes with a new definition; a new group has none yet */
		OnlineEnqueueGroup(OnlineGroupFromRegistry((FsGroup *) group), DT_NOBEGIN, true);
	}
	else if (captured)
	{
		DetachSourceCapture(group);
		OnlineEnqueuePurge(group->name);
	}
}

/*
 * SourceTriggerName names one of a group's capture triggers on its source:
 * featstore_online_<event>_<group>, the group's name cut (and a hash of it
 * added) when the whole would pass NAMEDATALEN, so that two groups on one
 * source never share a name
 */
static char *
SourceTriggerName(const char *group_name, const char *event)
{
	char	   *name = psprintf("featstore_online_%s_%s", event, group_name);
	int			room;

	if (strlen(name) < NAMEDATALEN)
		return name;
	/* 9 for "_" and 8 hex digits */
	room = NAMEDATALEN - 1 - (int) strlen("featstore_online__") - (int) strlen(event) - 9;
	room = pg_mbcliplen(group_name, strlen(group_name), room);
	return psprintf("featstore_online_%s_%.*s_%08x", event, room, group_name,
					DatumGetUInt32(hash_any((const unsigned char *) group_name,
											(int) strlen(group_name))));
}

/*
 * CheckSourceCapturable refuses to set a source group ONLINE unless its
 * source can carry capture triggers and the calling role may create them
 * (the source's owner, or TRIGGER on it): featstore creates them as the
 * extension owner, which would otherwise let any role with SELECT on a
 * table put triggers on it.
 */
static void
CheckSourceCapturable(const FsGroup *group)
{
	const FsSource *src = group->source;
	char	   *source = quote_qualified_identifier(src->schema_name, src->relation_name);
	char		relkind = get_rel_relkind(src->relid);
	Oid			roleid = GetUserId();

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature group \"%s\" cannot be ONLINE: its source %s is not a table",
						group->name, source),
				 errdetail("Change capture needs triggers with transition tables, which only tables and partitioned tables have."),
				 errhint("Define the group FROM the table the view reads, or keep it OFFLINE.")));
	if (pg_class_aclcheck(src->relid, roleid, ACL_TRIGGER) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to set feature group \"%s\" ONLINE: role \"%s\" may not create triggers on its source %s",
						group->name, GetUserNameFromId(roleid, false), source),
				 errdetail("Change capture puts triggers on the source."),
				 errhint("The owner of %s can run GRANT TRIGGER ON %s TO %s, or declare the group OFFLINE.",
						 source, source, quote_identifier(GetUserNameFromId(roleid, false)))));
}

/*
 * AttachSourceCapture creates a source group's four capture triggers on its
 * source.  On a partitioned table they capture the statements that name the
 * partitioned table, with every partition's rows.
 */
static void
AttachSourceCapture(const FsGroup *group)
{
	StringInfoData args;
	StringInfoData sql;
	char	   *table = quote_qualified_identifier(group->source->schema_name,
												   group->source->relation_name);
	ListCell   *lc;
	static const char *const events[][3] = {
		{"insert", "INSERT", "REFERENCING NEW TABLE AS featstore_new"},
		{"update", "UPDATE", "REFERENCING OLD TABLE AS featstore_old NEW TABLE AS featstore_new"},
		{"delete", "DELETE", "REFERENCING OLD TABLE AS featstore_old"},
		{"truncate", "TRUNCATE", ""},
	};

	initStringInfo(&args);
	appendStringInfoString(&args, quote_literal_cstr(group->name));
	foreach(lc, group->keys)
	{
		FsKeyColumn *key = (FsKeyColumn *) lfirst(lc);

		appendStringInfo(&args, ", %s", quote_literal_cstr(key->name));
	}

	SPI_connect();
	initStringInfo(&sql);
	for (int i = 0; i < (int) lengthof(events); i++)
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql, "CREATE TRIGGER %s AFTER %s ON %s %s",
						 quote_identifier(SourceTriggerName(group->name, events[i][0])),
						 events[i][1], table, events[i][2]);
		appendStringInfo(&sql, " FOR EACH STATEMENT EXECUTE FUNCTION featstore.online_capture(%s)",
						 args.data);
		RunAsOwner(sql.data, 0, NULL, NULL, SPI_OK_UTILITY);
	}
	SPI_finish();
}

/* DetachSourceCapture drops a source group's capture triggers */
static void
DetachSourceCapture(const FsGroup *group)
{
	char	   *table = quote_qualified_identifier(group->source->schema_name,
												   group->source->relation_name);
	static const char *const events[] = {"insert", "update", "delete", "truncate"};
	StringInfoData sql;

	SPI_connect();
	initStringInfo(&sql);
	/* the event trigger refuses these drops to anyone else */
	featstore_capture_ddl = true;
	PG_TRY();
	{
		for (int i = 0; i < (int) lengthof(events); i++)
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql, "DROP TRIGGER IF EXISTS %s ON %s",
							 quote_identifier(SourceTriggerName(group->name, events[i])), table);
			RunAsOwner(sql.data, 0, NULL, NULL, SPI_OK_UTILITY);
		}
	}
	PG_FINALLY();
	{
		featstore_capture_ddl = false;
	}
	PG_END_TRY();
	SPI_finish();
}

/* The columns capture reads from a transition table's tuples */
typedef struct CaptureColumns
{
	int			nkeys;
	AttrNumber *key_attnums;
	FmgrInfo   *key_outfuncs;	/* keys travel as text in the queue */
	AttrNumber	ets_attnum;		/* InvalidAttrNumber if the table has none */
} CaptureColumns;

/*
 * FindCaptureColumns finds the key columns and the events' time column
 * (ts_column) in the transition table's tuple descriptor, by name: the
 * table may have dropped columns, so attribute numbers are not the
 * registry's positions.
 */
static void
FindCaptureColumns(TupleDesc desc, const char *relname, const char *group_name,
				   char **keys, int nkeys, const char *ts_column,
				   CaptureColumns *cols)
{
	cols->nkeys = nkeys;
	cols->key_attnums = palloc(sizeof(AttrNumber) * nkeys);
	cols->key_outfuncs = palloc(sizeof(FmgrInfo) * nkeys);
	cols->ets_attnum = InvalidAttrNumber;
	for (int k = 0; k < nkeys; k++)
		cols->key_attnums[k] = InvalidAttrNumber;
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		if (att->attisdropped)
			continue;
		if (strcmp(NameStr(att->attname), ts_column) == 0)
			cols->ets_attnum = att->attnum;
		for (int k = 0; k < nkeys; k++)
		{
			if (strcmp(NameStr(att->attname), keys[k]) == 0)
			{
				Oid			outfunc;
				bool		varlena;

				cols->key_attnums[k] = att->attnum;
				getTypeOutputInfo(att->atttypid, &outfunc, &varlena);
				fmgr_info(outfunc, &cols->key_outfuncs[k]);
			}
		}
	}
	for (int k = 0; k < nkeys; k++)
		if (cols->key_attnums[k] == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("key column \"%s\" of feature group \"%s\" is missing from %s",
							keys[k], group_name, relname),
					 errhint("Set the group OFFLINE and ONLINE again to recreate its capture triggers.")));
}

/*
 * CaptureRow stores the keys of the tuple in slot as text in elems (nkeys
 * entries) and sets *future when its event_timestamp lies after now.  It
 * returns false for a tuple with a null key, which is not queued: a null key
 * never matches anything, online or offline.
 */
static bool
CaptureRow(TupleTableSlot *slot, const CaptureColumns *cols, TimestampTz now,
		   Datum *elems, bool *future)
{
	bool		isnull;

	for (int k = 0; k < cols->nkeys; k++)
	{
		Datum		d = slot_getattr(slot, cols->key_attnums[k], &isnull);

		if (isnull)
			return false;
		elems[k] = PointerGetDatum(cstring_to_text(OutputFunctionCall(&cols->key_outfuncs[k], d)));
	}
	if (cols->ets_attnum != InvalidAttrNumber)
	{
		Datum		ets = slot_getattr(slot, cols->ets_attnum, &isnull);

		if (!isnull && DatumGetTimestampTz(ets) > now)
			*future = true;
	}
	return true;
}

/*
 * EnqueueTransition queues the keys of one transition table in chunks of
 * ONLINE_QUEUE_CHUNK entities.  It reads the tuplestore directly rather
 * than through SQL: capture must cost little next to the COPY it follows.
 */
static void
EnqueueTransition(TriggerData *trigdata, Tuplestorestate *rows,
				  const char *group_name, char **keys, int nkeys,
				  const char *ts_column, bool force)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	Datum	   *elems = palloc(sizeof(Datum) * ONLINE_QUEUE_CHUNK * nkeys);
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	CaptureColumns cols;
	MemoryContext chunkcxt;
	int			n = 0;
	bool		future = false;
	int			readptr;

	FindCaptureColumns(desc, RelationGetRelationName(trigdata->tg_relation),
					   group_name, keys, nkeys, ts_column, &cols);
	chunkcxt = AllocSetContextCreate(CurrentMemoryContext, "featstore capture chunk",
									 ALLOCSET_DEFAULT_SIZES);

	/* our own read pointer: other triggers may read the same tuplestore */
	readptr = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(rows, readptr);
	tuplestore_rescan(rows);

	/*
	 * Read outside chunkcxt: a tuple read back from a spilled tuplestore
	 * belongs to the slot, which frees it at the next read.
	 */
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(chunkcxt);

		if (CaptureRow(slot, &cols, now, &elems[n * nkeys], &future))
			n++;
		MemoryContextSwitchTo(oldcxt);
		if (n == ONLINE_QUEUE_CHUNK)
		{
			EnqueueChunk(group_name, elems, n, nkeys, force, future);
			MemoryContextReset(chunkcxt);
			n = 0;
			future = false;
		}
	}
	if (n > 0)
		EnqueueChunk(group_name, elems, n, nkeys, force, future);
	tuplestore_select_read_pointer(rows, 0);
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(chunkcxt);
}

/* EnqueueChunk inserts one queue row holding nentities entity keys */
static void
EnqueueChunk(const char *group_name, Datum *elems, int nentities, int nkeys,
			 bool force, bool future)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[5] = {TEXTOID, TEXTARRAYOID, INT4OID, BOOLOID, BOOLOID};
	Datum		args[5];
	int			dims[2] = {nentities, nkeys};
	int			lbs[2] = {1, 1};
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	if (plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("INSERT INTO featstore.online_queue"
									" (group_name, keys, entities, force, future)"
									" VALUES ($1, $2, $3, $4, $5)", 5, types);

		if (p == NULL)
			elog(ERROR, "could not prepare the online queue insert: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		plan = p;
	}
	args[0] = CStringGetTextDatum(group_name);
	args[1] = PointerGetDatum(construct_md_array(elems, NULL, 2, dims, lbs, TEXTOID,
												 -1, false, TYPALIGN_INT));
	args[2] = Int32GetDatum(nentities);
	args[3] = BoolGetDatum(force);
	args[4] = BoolGetDatum(future);
	FeatstoreBeginRegistryWrite(&save_userid, &save_sec_context);
	ret = SPI_execute_plan(plan, args, NULL, false, 0);
	FeatstoreEndRegistryWrite(save_userid, save_sec_context);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "featstore online queue insert failed: SPI error %d", ret);
}

/*
 * RunAsOwner runs one SPI statement as the extension owner: ordinary roles
 * may write group tables but not the queue directly.  SPI must be connected.
 */
static void
RunAsOwner(const char *sql, int nargs, Oid *argtypes, Datum *args, int expected)
{
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	FeatstoreBeginRegistryWrite(&save_userid, &save_sec_context);
	ret = SPI_execute_with_args(sql, nargs, argtypes, args, NULL, false, 0);
	FeatstoreEndRegistryWrite(save_userid, save_sec_context);
	if (ret != expected)
		elog(ERROR, "featstore online queue statement failed: SPI error %d", ret);
}

/* HasCaptureTriggers says whether the table carries featstore's triggers */
static bool
HasCaptureTriggers(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	bool		found;

	args[0] = ObjectIdGetDatum(relid);
	SPI_connect();
	if (SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_trigger"
							  " WHERE tgrelid = $1 AND tgname = 'featstore_online_insert'",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_trigger");
	found = SPI_processed > 0;
	SPI_finish();
	return found;
}

/* AttachCapture creates the four capture triggers on a group's table */
static void
AttachCapture(const FsGroup *group)
{
	StringInfoData args;
	StringInfoData sql;
	char	   *table = quote_qualified_identifier(group->schema_name, group->table_name);
	ListCell   *lc;
	static const char *const events[][3] = {
		{"insert", "INSERT", "REFERENCING NEW TABLE AS featstore_new"},
		{"update", "UPDATE", "REFERENCING OLD TABLE AS featstore_old NEW TABLE AS featstore_new"},
		{"delete", "DELETE", "REFERENCING OLD TABLE AS featstore_old"},
		{"truncate", "TRUNCATE", ""},
	};

	initStringInfo(&args);
	appendStringInfoString(&args, quote_literal_cstr(group->name));
	foreach(lc, group->keys)
	{
		FsKeyColumn *key = (FsKeyColumn *) lfirst(lc);

		appendStringInfo(&args, ", %s", quote_literal_cstr(key->name));
	}

	SPI_connect();
	initStringInfo(&sql);
	for (int i = 0; i < (int) lengthof(events); i++)
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql, "CREATE TRIGGER featstore_online_%s AFTER %s ON %s %s",
						 events[i][0], events[i][1], table, events[i][2]);
		appendStringInfo(&sql, " FOR EACH STATEMENT EXECUTE FUNCTION featstore.online_capture(%s)",
						 args.data);
		RunAsOwner(sql.data, 0, NULL, NULL, SPI_OK_UTILITY);
	}
	CaptureHashPartitions(group, args.data, true);
	SPI_finish();
}

/*
 * CaptureHashPartitions creates (or drops) the insert, update and delete
 * capture triggers on each partition of a hash-partitioned group's table
 * (SPI connected).  A statement that names the partitioned table fires only
 * the parent's statement triggers; one that names a partition fires only
 * the partition's.  A sharded group's coordinator writes straight into the
 * shard's partitions (postgres_fdw names the partition), so these triggers
 * are what captures them.  Hash partitions all exist from the group's
 * creation; range partitions, made later, get none.
 */
static void
CaptureHashPartitions(const FsGroup *group, const char *args, bool attach)
{
	FsPartitioning p;
	ListCell   *lc;
	static const char *const events[][3] = {
		{"insert", "INSERT", "REFERENCING NEW TABLE AS featstore_new"},
		{"update", "UPDATE", "REFERENCING OLD TABLE AS featstore_old NEW TABLE AS featstore_new"},
		{"delete", "DELETE", "REFERENCING OLD TABLE AS featstore_old"},
	};

	if (get_rel_relkind(group->relid) != RELKIND_PARTITIONED_TABLE ||
		!RegistryGroupPartitioning(group->name, &p) || p.method != 'h')
		return;
	foreach(lc, find_inheritance_children(group->relid, AccessShareLock))
	{
		Oid			child = lfirst_oid(lc);
		char	   *table = quote_qualified_identifier(get_namespace_name(get_rel_namespace(child)),
													   get_rel_name(child));

		for (int i = 0; i < (int) lengthof(events); i++)
		{
			char	   *sql;

			if (attach)
				sql = psprintf("CREATE TRIGGER featstore_online_%s AFTER %s ON %s %s"
							   " FOR EACH STATEMENT EXECUTE FUNCTION featstore.online_capture(%s)",
							   events[i][0], events[i][1], table, events[i][2], args);
			else
				sql = psprintf("DROP TRIGGER IF EXISTS featstore_online_%s ON %s",
							   events[i][0], table);
			RunAsOwner(sql, 0, NULL, NULL, SPI_OK_UTILITY);
		}
	}
}

/* DetachCapture drops the capture triggers of a group's table */
static void
DetachCapture(const FsGroup *group)
{
	char	   *table = quote_qualified_identifier(group->schema_name, group->table_name);
	static const char *const events[] = {"insert", "update", "delete", "truncate"};
	StringInfoData sql;

	SPI_connect();
	initStringInfo(&sql);
	/* the event trigger refuses these drops to anyone else */
	featstore_capture_ddl = true;
	PG_TRY();
	{
		for (int i = 0; i < (int) lengthof(events); i++)
		{
			resetStringInfo(&sql);
			appendStringInfo(&sql, "DROP TRIGGER IF EXISTS featstore_online_%s ON %s",
							 events[i], table);
			RunAsOwner(sql.data, 0, NULL, NULL, SPI_OK_UTILITY);
		}
		CaptureHashPartitions(group, NULL, false);
	}
	PG_FINALLY();
	{
		featstore_capture_ddl = false;
	}
	PG_END_TRY();
	SPI_finish();
}
