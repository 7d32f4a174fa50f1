/*
 * online_window.c
 *		The online store's side of groups defined FROM a source of events
 *		(issue 10): their values at an instant, computed by the window
 *		engine (src/window/window.h) for a list of entities, and the queue
 *		rows that rewrite every entity of such a group.
 *
 * A source group has no history table and no index to walk.  Its value for
 * an entity at now() is the engine's result at t = now(); it changes with
 * new events (captured on the source, online_capture.c) and with time
 * alone, when an event leaves a window or a future-dated one enters it:
 * the engine says when (next_change), and the worker revisits the entity
 * then through the queue's future-dated revisits.
 *
 * The stored value's event_timestamp and created_at are those of the
 * latest event counted at now (the latest one at or before now, or before
 * now with WINDOW END EXCLUSIVE, that the WHERE clause keeps); without a
 * CREATED column created_at repeats event_timestamp.  Every write of a
 * source group is forced (a plain SET or DEL): a window's value may go down
 * with no new event, so no order on the value's timestamps says which of two
 * values is newer.  The worker is Redis' only writer and computes each batch
 * from a later snapshot at a later now() than the one before, in order, so
 * the last write is the newest value.
 *
 * The key exists while some window holds a counted event, or forever once
 * an unbounded feature (no OVER) has one; expires_at is then the last
 * microsecond at which a window is not empty, or nil.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "online/online.h"
#include "window/window.h"

/* One entity of a computation, with its keys as text and as values */
typedef struct WinEntity
{
	char	  **key_text;
	Datum	   *keys;
	bool	   *key_nulls;
	bool		force;
} WinEntity;

/* The latest counted event of an entity: the engine's two hidden features */
typedef struct LatestEvent
{
	bool		found;
	TimestampTz event_ts;
	TimestampTz created_at;
} LatestEvent;

/* How to order entities as the engine wants its points */
typedef struct PointOrder
{
	int			nkeys;
	FmgrInfo   *lt;				/* "<" of each key's type */
	Oid		   *collations;
} PointOrder;

/* What the windows of a group say about its keys' lives */
typedef struct WindowSpan
{
	bool		unbounded;		/* an aggregate has no OVER */
	int64		max_usecs;		/* the longest window */
} WindowSpan;

static WinEntity *ReadEntities(const OnlineGroup *group, Datum queued, bool flags,
							   int *nentities);
static void SortEntities(const WinPlan *plan, const OnlineGroup *group,
						 WinEntity *entities, int n);
static int	CompareEntities(const void *a, const void *b, void *arg);
static char *EntityCondition(const OnlineGroup *group, WinEntity *entities, int n);
static char *EventsCondition(const OnlineGroup *group, const FsSource *src,
							 WindowSpan span, WinEntity *entities, int n,
							 TimestampTz now);
static void AppendEntityRows(StringInfo buf, const OnlineGroup *group,
							 WinEntity *entities, int n);
static FsGroup *GroupWithTimes(const FsGroup *group, WindowSpan span);
static FsFeature *HiddenLast(const char *name, const char *column, int position,
							 int64 window_usecs);
static WindowSpan GroupWindowSpan(const FsGroup *fs);
static void FillWinner(const OnlineGroup *group, const FsSource *src, WindowSpan span,
					   WinEntity *e, const LatestEvent *le, TimestampTz now,
					   OnlineWinner *w);

/*
 * OnlineIsSourceGroup says whether the group is computed FROM a source of
 * events rather than read from a history table
 */
bool
OnlineIsSourceGroup(const OnlineGroup *group)
{
	return group->registry != NULL && group->registry->source != NULL;
}

/*
 * OnlineCheckSource raises an error unless the source relation of a source
 * group still exists: its name is resolved again by the registry's lookup.
 */
void
OnlineCheckSource(const OnlineGroup *group)
{
	const FsSource *src = group->registry->source;

	if (!OidIsValid(src->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source %s of feature group \"%s\" does not exist",
						quote_qualified_identifier(src->schema_name, src->relation_name),
						group->name),
				 errhint("Recreate the source, or drop the group with DROP FEATURE GROUP %s.",
						 quote_identifier(group->name))));
}

/*
 * OnlineWindowWinners computes, at now, the value of each entity of queued
 * (text[][]: [entity][k1..kn], with flags [entity][k1..kn, force, future])
 * for a source group, and calls emit with each, in the engine's key order.
 * Every winner is forced.  The source is read with SPI, which the caller has
 * connected, as the current user: the worker switches to the group's owner
 * first, verify_online reads as its caller.  search_path is pinned here.
 * Scratch goes to the current memory context; emit copies what it keeps.
 */
void
OnlineWindowWinners(const OnlineGroup *group, Datum queued, bool flags,
					TimestampTz now, OnlineEmitFn emit, void *arg)
{
	const FsSource *src = group->registry->source;
	WindowSpan	span = GroupWindowSpan(group->registry);
	int			nf = group->nfeatures;
	bool		has_created = src->created_column != NULL;
	WinEntity  *entities;
	int			n;
	WinPlan    *plan;
	WinState   *state;
	Portal		portal;
	char	   *sql;
	int			level;
	Datum	   *values = palloc(sizeof(Datum) * (nf + 2));
	bool	   *nulls = palloc(sizeof(bool) * (nf + 2));

	OnlineCheckSource(group);
	entities = ReadEntities(group, queued, flags, &n);
	if (n == 0)
		return;
	plan = WinCompile(GroupWithTimes(group->registry, span), CurrentMemoryContext);
	if (WinFeatureCount(plan) != nf + 1 + (has_created ? 1 : 0))
		elog(ERROR, "window engine computes %d features of group \"%s\", which has %d",
			 WinFeatureCount(plan), group->name, nf);
	SortEntities(plan, group, entities, n);

	level = FeatstorePinSearchPath();
	sql = WinSourceSql(plan, false, EventsCondition(group, src, span, entities, n, now));
	portal = SPI_cursor_open_with_args(NULL, sql, 0, NULL, NULL, NULL, true, 0);
	if (portal == NULL)
		elog(ERROR, "could not open the events of feature group \"%s\": %s",
			 group->name, SPI_result_code_string(SPI_result));
	state = WinBegin(plan, portal, 0, false, false, CurrentMemoryContext);
	for (int i = 0; i < n; i++)
	{
		WinPoint	pt;
		TimestampTz next = DT_NOEND;
		LatestEvent latest;
		OnlineWinner w;

		CHECK_FOR_INTERRUPTS();
		pt.keys = entities[i].keys;
		pt.key_nulls = entities[i].key_nulls;
		pt.t = now;
		WinEvaluate(state, &pt, values, nulls, &next);
		latest.found = !nulls[nf];
		latest.event_ts = latest.found ? DatumGetTimestampTz(values[nf]) : 0;
		latest.created_at = (has_created && !nulls[nf + 1]) ?
			DatumGetTimestampTz(values[nf + 1]) : latest.event_ts;
		FillWinner(group, src, span, &entities[i], &latest, now, &w);
		w.values = values;
		w.nulls = nulls;
		if (next != DT_NOEND && next > now)
		{
			w.has_future = true;
			w.next_future = next;
		}
		emit(arg, &w);
	}
	WinEnd(state);
	SPI_cursor_close(portal);
	AtEOXact_GUC(true, level);
}

/*
 * GroupWithTimes returns the group with two hidden features after its own,
 * last(TIMESTAMP) and last(CREATED) over its longest window (unbounded
 * when an aggregate is): last() takes the best counted event by
 * (event_time, created) under the group's WHERE, so these are the times of
 * the latest counted event, as the group's view reports them.  "$" keeps
 * their names apart from any feature's; no expression can name them, as
 * they come after every feature.
 */
static FsGroup *
GroupWithTimes(const FsGroup *group, WindowSpan span)
{
	FsGroup    *copy = palloc(sizeof(FsGroup));
	int			n = list_length(group->features);
	int64		w = span.unbounded ? 0 : span.max_usecs;

	*copy = *group;
	copy->features = list_copy(group->features);
	copy->features = lappend(copy->features,
							 HiddenLast("online$event_time", group->source->timestamp_column,
										n + 1, w));
	if (group->source->created_column != NULL)
		copy->features = lappend(copy->features,
								 HiddenLast("online$created", group->source->created_column,
											n + 2, w));
	return copy;
}

/* HiddenLast makes a timestamptz feature last(column) over a window */
static FsFeature *
HiddenLast(const char *name, const char *column, int position, int64 window_usecs)
{
	FsFeature  *f = palloc0(sizeof(FsFeature));
	FsWindowFeature *fw = palloc0(sizeof(FsWindowFeature));

	fw->agg = FS_AGG_LAST;
	fw->argument = pstrdup(column);
	fw->argument_typid = TIMESTAMPTZOID;
	fw->window_usecs = window_usecs;
	f->name = pstrdup(name);
	f->type_name = pstrdup("timestamp with time zone");
	f->typid = TIMESTAMPTZOID;
	f->typmod = -1;
	f->position = position;
	f->window = fw;
	return f;
}

/*
 * FillWinner sets the parts of an entity's winner that come from its latest
 * counted event: whether the key exists, the value's timestamps and its
 * expiry (see the file header).
 */
static void
FillWinner(const OnlineGroup *group, const FsSource *src, WindowSpan span,
		   WinEntity *e, const LatestEvent *le, TimestampTz now, OnlineWinner *w)
{
	memset(w, 0, sizeof(OnlineWinner));
	w->key_values = e->key_text;
	w->force = true;
	w->window = true;
	w->expires_at = DT_NOEND;
	if (!le->found)
		return;
	if (!span.unbounded)
	{
		/*
		 * An event at e counts while t - w < e (t - w <= e with an exclusive
		 * end), so the last instant any window holds the latest event is
		 * e + w - 1 microsecond (e + w).
		 */
		w->expires_at = le->event_ts + span.max_usecs -
			(src->window_end_exclusive ? 0 : 1);
		if (w->expires_at < now)
			return;
	}
	w->found = true;
	w->event_ts = le->event_ts;
	w->created_at = le->created_at;
}

/*
 * GroupWindowSpan finds whether a group has an unbounded aggregate and its
 * longest window; expressions have no window of their own.
 */
static WindowSpan
GroupWindowSpan(const FsGroup *fs)
{
	WindowSpan	span = {false, 0};
	ListCell   *lc;

	foreach(lc, fs->features)
	{
		FsFeature  *f = lfirst(lc);

		if (f->window == NULL || f->window->agg == FS_AGG_EXPRESSION ||
			f->window->agg == FS_AGG_NONE)
			continue;
		if (f->window->window_usecs <= 0)
			span.unbounded = true;
		else
			span.max_usecs = Max(span.max_usecs, f->window->window_usecs);
	}
	return span;
}

/*
 * ReadEntities turns the entity array into WinEntity entries, each key also
 * as a value of its type (read with the type's input function: the queue
 * holds the output function's text).
 */
static WinEntity *
ReadEntities(const OnlineGroup *group, Datum queued, bool flags, int *nentities)
{
	ArrayType  *arr = DatumGetArrayTypeP(queued);
	int			nk = group->nkeys;
	int			width = flags ? nk + 2 : nk;
	Datum	   *elems;
	bool	   *enulls;
	int			nelems;
	int			n;
	WinEntity  *entities;
	FmgrInfo   *infuncs = palloc(sizeof(FmgrInfo) * Max(nk, 1));
	Oid		   *ioparams = palloc(sizeof(Oid) * Max(nk, 1));

	*nentities = 0;
	if (ARR_NDIM(arr) == 0)
		return NULL;
	if (ARR_NDIM(arr) != 2 || ARR_DIMS(arr)[1] != width)
		elog(ERROR, "entity list of group \"%s\" is not a [entity][%d] array", group->name, width);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &nelems);
	n = nelems / width;
	for (int k = 0; k < nk; k++)
	{
		Oid			infunc;

		getTypeInputInfo(group->key_types[k], &infunc, &ioparams[k]);
		fmgr_info(infunc, &infuncs[k]);
	}
	entities = palloc0(sizeof(WinEntity) * n);
	for (int i = 0; i < n; i++)
	{
		WinEntity  *e = &entities[*nentities];
		bool		has_null = false;

		e->key_text = palloc(sizeof(char *) * Max(nk, 1));
		e->keys = palloc(sizeof(Datum) * Max(nk, 1));
		e->key_nulls = palloc0(sizeof(bool) * Max(nk, 1));
		for (int k = 0; k < nk; k++)
		{
			if (enulls[i * width + k])
			{
				has_null = true;
				break;
			}
			e->key_text[k] = TextDatumGetCString(elems[i * width + k]);
			e->keys[k] = InputFunctionCall(&infuncs[k], e->key_text[k], ioparams[k], -1);
		}
		/* a null key matches no event and has no Redis key */
		if (has_null)
			continue;
		e->force = flags && !enulls[i * width + nk] &&
			strcmp(TextDatumGetCString(elems[i * width + nk]), "true") == 0;
		(*nentities)++;
	}
	return entities;
}

/*
 * SortEntities puts the entities in the order WinPointSortKeys asks for: by
 * each key with its type's "<" and the engine's collation
 */
static void
SortEntities(const WinPlan *plan, const OnlineGroup *group, WinEntity *entities, int n)
{
	WinSortKey *sk = palloc(sizeof(WinSortKey) * Max(group->nkeys, 1));
	PointOrder	order;

	WinPointSortKeys(plan, sk);
	order.nkeys = group->nkeys;
	order.lt = palloc(sizeof(FmgrInfo) * Max(group->nkeys, 1));
	order.collations = palloc(sizeof(Oid) * Max(group->nkeys, 1));
	for (int k = 0; k < group->nkeys; k++)
	{
		RegProcedure proc = get_opcode(sk[k].sortop);

		if (!RegProcedureIsValid(proc))
			elog(ERROR, "window engine gave no \"<\" operator for key \"%s\" of group \"%s\"",
				 group->key_names[k], group->name);
		fmgr_info(proc, &order.lt[k]);
		order.collations[k] = sk[k].collation;
	}
	qsort_arg(entities, n, sizeof(WinEntity), CompareEntities, &order);
}

/* CompareEntities is SortEntities' comparator */
static int
CompareEntities(const void *a, const void *b, void *arg)
{
	const WinEntity *ea = (const WinEntity *) a;
	const WinEntity *eb = (const WinEntity *) b;
	PointOrder *order = (PointOrder *) arg;

	for (int k = 0; k < order->nkeys; k++)
	{
		if (DatumGetBool(FunctionCall2Coll(&order->lt[k], order->collations[k],
										   ea->keys[k], eb->keys[k])))
			return -1;
		if (DatumGetBool(FunctionCall2Coll(&order->lt[k], order->collations[k],
										   eb->keys[k], ea->keys[k])))
			return 1;
	}
	return 0;
}

/*
 * EventsCondition returns the condition on the source's rows that keeps the
 * entities' events which can matter at now or later: the keys in the list
 * and, when every aggregate has a window, an event time inside the longest
 * one or after it.  The bound is a literal, as the list is: WinSourceSql
 * numbers its own parameters.  It is exact: to_timestamp() of a whole
 * number of seconds, plus the microseconds as an interval.
 */
static char *
EventsCondition(const OnlineGroup *group, const FsSource *src, WindowSpan span,
				WinEntity *entities, int n, TimestampTz now)
{
	char	   *cond = EntityCondition(group, entities, n);
	int64		lo;

	if (span.unbounded || span.max_usecs <= 0)
		return cond;
	lo = OnlineUnixUsecs(now) - span.max_usecs - 1;
	return psprintf("%s AND %s >= (pg_catalog.to_timestamp(" INT64_FORMAT "::pg_catalog.float8)"
					" + '" INT64_FORMAT " microseconds'::pg_catalog.interval)",
					cond, quote_identifier(src->timestamp_column),
					lo / USECS_PER_SEC - (lo % USECS_PER_SEC < 0 ? 1 : 0),
					lo % USECS_PER_SEC + (lo % USECS_PER_SEC < 0 ? USECS_PER_SEC : 0));
}

/*
 * AppendEntityRows appends a query of the entities, one row each with the
 * columns k1..kn of the keys' types.  The keys travel as one text[][]
 * literal (WinSourceSql numbers its own parameters), unnested one column
 * slice at a time.
 */
static void
AppendEntityRows(StringInfo buf, const OnlineGroup *group, WinEntity *entities, int n)
{
	StringInfoData lit;
	char	   *quoted;

	initStringInfo(&lit);
	appendStringInfoChar(&lit, '{');
	for (int i = 0; i < n; i++)
	{
		appendStringInfo(&lit, "%s{", i > 0 ? "," : "");
		for (int k = 0; k < group->nkeys; k++)
		{
			appendStringInfo(&lit, "%s\"", k > 0 ? "," : "");
			for (const char *c = entities[i].key_text[k]; *c; c++)
			{
				if (*c == '"' || *c == '\\')
					appendStringInfoChar(&lit, '\\');
				appendStringInfoChar(&lit, *c);
			}
			appendStringInfoChar(&lit, '"');
		}
		appendStringInfoChar(&lit, '}');
	}
	appendStringInfoChar(&lit, '}');
	quoted = quote_literal_cstr(lit.data);

	appendStringInfoString(buf, "SELECT ");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(buf, "%sfeatstore_u.k%d::%s AS k%d", k > 0 ? ", " : "", k + 1,
						 format_type_be_qualified(group->key_types[k]), k + 1);
	appendStringInfoString(buf, " FROM ROWS FROM (");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(buf, "%spg_catalog.unnest((%s::pg_catalog.text[])[:][%d:%d])",
						 k > 0 ? ", " : "", quoted, k + 1, k + 1);
	appendStringInfoString(buf, ") featstore_u(");
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(buf, "%sk%d", k > 0 ? ", " : "", k + 1);
	appendStringInfoChar(buf, ')');
}

/*
 * EntityCondition returns "(k1, ..., kn) IN (...)" over the source's key
 * columns, for the entities
 */
static char *
EntityCondition(const OnlineGroup *group, WinEntity *entities, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (int k = 0; k < group->nkeys; k++)
		appendStringInfo(&buf, "%s%s", k > 0 ? ", " : "",
						 quote_identifier(group->key_names[k]));
	appendStringInfoString(&buf, ") IN (");
	AppendEntityRows(&buf, group, entities, n);
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/*
 * OnlineEnqueueSourceGroup lists in the queue every entity of a source
 * group with an event at or after since (DT_NOBEGIN: all), forced, and
 * returns how many.  A source group has no index of its own to walk, so
 * this replaces OnlineEnqueueGroup's walk: one queue row per run of
 * ONLINE_QUEUE_CHUNK entities in key order.  The source is read as the
 * group's owner (the owner of its view); the queue is written as the
 * extension owner.  Entities whose events the WHERE clause drops are listed
 * too: the worker then finds no value and makes sure they have no key.
 */
int64
OnlineEnqueueSourceGroup(const OnlineGroup *group, TimestampTz since, bool force)
{
	const FsSource *src = group->registry->source;
	StringInfoData sql;
	StringInfoData cols;
	StringInfoData arr;
	Oid			argtypes[6] = {TEXTOID, TIMESTAMPTZOID, BOOLOID, TEXTARRAYOID, INT4OID, BOOLOID};
	Datum		args[6];
	Oid			save_userid;
	int			save_sec_context;
	int			ret;
	SPITupleTable *chunks;
	uint64		nchunks;
	int64		total = 0;

	OnlineCheckSource(group);
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
					 " FROM (SELECT %s, pg_catalog.max(%s) > pg_catalog.now() AS fut,"
					 " pg_catalog.row_number() OVER (ORDER BY %s) - 1 AS rn"
					 " FROM %s%s WHERE %s >= $2 AND %s IS NOT NULL GROUP BY %s) s"
					 " GROUP BY s.rn / %d",
					 arr.data, cols.data, quote_identifier(src->timestamp_column), cols.data,
					 src->relkind == RELKIND_RELATION ? "ONLY " : "",
					 quote_qualified_identifier(src->schema_name, src->relation_name),
					 quote_identifier(src->timestamp_column),
					 /* a null key matches nothing: one IS NOT NULL per key is ROW IS NOT NULL */
					 psprintf("ROW(%s)", cols.data), cols.data, ONLINE_QUEUE_CHUNK);
	args[0] = CStringGetTextDatum(group->name);
	args[1] = TimestampTzGetDatum(since);
	args[2] = BoolGetDatum(force);

	SPI_connect();
	FeatstoreBeginAsTableOwner(group->relid, &save_userid, &save_sec_context);
	ret = SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, true, 0);
	FeatstoreEndAsTableOwner(save_userid, save_sec_context);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "featstore could not list the entities of feature group \"%s\": SPI error %d",
			 group->name, ret);
	chunks = SPI_tuptable;
	nchunks = SPI_processed;
	for (uint64 i = 0; i < nchunks; i++)
	{
		bool		isnull;

		args[3] = SPI_getbinval(chunks->vals[i], chunks->tupdesc, 1, &isnull);
		args[4] = SPI_getbinval(chunks->vals[i], chunks->tupdesc, 2, &isnull);
		args[5] = SPI_getbinval(chunks->vals[i], chunks->tupdesc, 3, &isnull);
		total += DatumGetInt32(args[4]);
		FeatstoreBeginRegistryWrite(&save_userid, &save_sec_context);
		ret = SPI_execute_with_args("INSERT INTO featstore.online_queue (group_name, keys, entities, force, future)"
									" VALUES ($1, $4, $5, $3, $6)",
									6, argtypes, args, NULL, false, 0);
		FeatstoreEndRegistryWrite(save_userid, save_sec_context);
		if (ret != SPI_OK_INSERT)
			elog(ERROR, "featstore online queue insert failed: SPI error %d", ret);
	}
	SPI_finish();
	return total;
}
