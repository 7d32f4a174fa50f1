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
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "online.h"

PG_FUNCTION_INFO_V1(online_capture);
PG_FUNCTION_INFO_V1(materialize);

/* Set when this transaction queued work; read at commit */
static bool changes_pending = false;

static void OnlineXactCallback(XactEvent event, void *arg);
static void OnlineGroupChanged(FsGroupEvent event, const FsGroup *group);
static void EnqueueTransition(const char *group_name, char **keys, int nkeys,
							  const char *transition, bool force);
static bool HasCaptureTriggers(Oid relid);
static void AttachCapture(const FsGroup *group);
static void DetachCapture(const FsGroup *group);
static void RunAsOwner(const char *sql, int nargs, Oid *argtypes, Datum *args,
					   int expected);

/* OnlineCaptureInit hooks commit wake-ups and registry changes */
void
OnlineCaptureInit(void)
{
	RegisterXactCallback(OnlineXactCallback, NULL);
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
	SPI_register_trigger_data(trigdata);
	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		OnlineEnqueuePurge(group_name);
	else
	{
		/*
		 * After DELETE or UPDATE the right value may be an older row, so those
		 * entities are written without the newer-wins check.
		 */
		if (trigger->tgoldtable)
			EnqueueTransition(group_name, keys, nkeys, trigger->tgoldtable, true);
		if (trigger->tgnewtable)
			EnqueueTransition(group_name, keys, nkeys, trigger->tgnewtable,
							  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event));
	}
	SPI_finish();
	changes_pending = true;
	return PointerGetDatum(NULL);
}

/*
 * materialize queues every entity of a group (or those with rows at or after
 * since) for a forced rewrite by the worker; returns the number queued.
 * The queue is durable, so an interrupted rematerialization resumes where
 * the worker stopped, and memory stays bounded whatever the group's size.
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
	group = OnlineLoadGroup(name, false);
	if (!group->online)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("feature group \"%s\" is not online", name),
				 errhint("Run ALTER FEATURE GROUP %s SET ONLINE; it materializes the group by itself.",
						 quote_identifier(name))));
	if (pg_class_aclcheck(group->relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to materialize feature group \"%s\"", name),
				 errhint("Materializing needs SELECT on %s.", group->qualified_table)));

	queued = OnlineEnqueueGroup(group,
								PG_ARGISNULL(1) ? DT_NOBEGIN : PG_GETARG_TIMESTAMPTZ(1),
								true);
	PG_RETURN_INT64(queued);
}

/*
 * OnlineEnqueueGroup queues the group's entities that have rows with
 * event_timestamp >= since; returns how many.
 */
int64
OnlineEnqueueGroup(const OnlineGroup *group, TimestampTz since, bool force)
{
	StringInfoData sql;
	StringInfoData cols;
	StringInfoData arr;
	Oid			argtypes[3] = {TEXTOID, TIMESTAMPTZOID, BOOLOID};
	Datum		args[3];
	int64		total = 0;

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
					 "WITH q AS (INSERT INTO featstore.online_queue (group_name, keys, entities, force, future)"
					 " SELECT $1, pg_catalog.array_agg(ARRAY[%s]), pg_catalog.count(*), $3, pg_catalog.bool_or(s.fut)"
					 " FROM (SELECT %s, pg_catalog.max(event_timestamp) > pg_catalog.now() AS fut,"
					 " pg_catalog.row_number() OVER () - 1 AS rn"
					 " FROM %s WHERE event_timestamp >= $2 GROUP BY %s) s"
					 " GROUP BY s.rn / %d RETURNING entities)"
					 " SELECT coalesce(pg_catalog.sum(entities), 0)::bigint FROM q",
					 arr.data, cols.data, group->qualified_table, cols.data,
					 ONLINE_QUEUE_CHUNK);
	args[0] = CStringGetTextDatum(group->name);
	args[1] = TimestampTzGetDatum(since);
	args[2] = BoolGetDatum(force);

	SPI_connect();
	RunAsOwner(sql.data, 3, argtypes, args, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		bool		isnull;

		total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	changes_pending = true;
	return total;
}

/* OnlineEnqueuePurge queues the removal of every Redis key of a group */
void
OnlineEnqueuePurge(const char *group_name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];

	args[0] = CStringGetTextDatum(group_name);
	SPI_connect();
	RunAsOwner("INSERT INTO featstore.online_queue (group_name, kind) VALUES ($1, 'purge')",
			   1, argtypes, args, SPI_OK_INSERT);
	SPI_finish();
	changes_pending = true;
}

/* OnlineXactCallback wakes the worker once the transaction is visible */
static void
OnlineXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (changes_pending)
				OnlineWakeWorker();
			changes_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction is found by the worker's polling */
			changes_pending = false;
			break;
		default:
			break;
	}
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

/* EnqueueTransition queues the keys of one transition table in chunks */
static void
EnqueueTransition(const char *group_name, char **keys, int nkeys,
				  const char *transition, bool force)
{
	StringInfoData sql;
	StringInfoData arr;
	Oid			argtypes[2] = {TEXTOID, BOOLOID};
	Datum		args[2];

	initStringInfo(&arr);
	for (int i = 0; i < nkeys; i++)
		appendStringInfo(&arr, "%st.%s::pg_catalog.text", i > 0 ? ", " : "",
						 quote_identifier(keys[i]));
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "INSERT INTO featstore.online_queue (group_name, keys, entities, force, future)"
					 " SELECT $1, pg_catalog.array_agg(ARRAY[%s]), pg_catalog.count(*), $2,"
					 " pg_catalog.bool_or(t.event_timestamp > pg_catalog.now())"
					 " FROM (SELECT *, pg_catalog.row_number() OVER () - 1 AS fs_rn FROM %s) t"
					 " GROUP BY t.fs_rn / %d",
					 arr.data, quote_identifier(transition), ONLINE_QUEUE_CHUNK);
	args[0] = CStringGetTextDatum(group_name);
	args[1] = BoolGetDatum(force);
	RunAsOwner(sql.data, 2, argtypes, args, SPI_OK_INSERT);
	pfree(sql.data);
	pfree(arr.data);
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
	SPI_finish();
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
	for (int i = 0; i < (int) lengthof(events); i++)
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql, "DROP TRIGGER IF EXISTS featstore_online_%s ON %s",
						 events[i], table);
		RunAsOwner(sql.data, 0, NULL, NULL, SPI_OK_UTILITY);
	}
	SPI_finish();
}
