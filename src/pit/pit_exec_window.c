/*
 * pit_exec_window.c
 *		The window strategy of PitJoin (pit_exec.c has the overview): the
 *		feature side is a source group's timeline, and the node computes the
 *		group's window aggregates at each spine row with the window engine
 *		(src/window/window.h) instead of choosing a history row.
 *
 * The spine goes through a tuplesort by the engine's key order
 * (WinPointSortKeys) then ts, spilling past work_mem as the merge strategy
 * does.  The events come from the engine's one query (WinSourceSql), opened
 * with SPI as the calling role, under the query's snapshot, with
 * search_path pinned; the engine pulls them as the points advance.  One
 * pass evaluates every spine row and writes the joined rows into a
 * tuplestore, and the emit phase hands them out: the SPI connection is
 * opened and closed within the one call that runs the pass, so no other
 * SPI user (a PL/pgSQL caller fetching from this query) ever finds it on
 * top of the stack.
 *
 * The feature side's columns are the view's: the keys (the spine row's),
 * event_timestamp and created_at of the best event the windows count
 * (NULL when none), then the features in position order.  The engine
 * computes those two times too: the node compiles the group with two more
 * features, last(event time) and last(created) over the group's longest
 * window, since last() takes the best event by (event_time, created) under
 * the same WHERE, as_of and strict as every feature.  Every spine row
 * gets one row; an empty window gives count 0, the feature's DEFAULT or
 * NULL.  A spine row with a NULL key or ts counts no event: a LEFT join
 * keeps it with those empty values, an INNER join drops it, and keeps
 * every other row (docs/pit-semantics.md, "Source groups").
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "executor/nodeHash.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"
#include "utils/tuplestore.h"

#include "extension.h"
#include "featstore.h"
#include "pit/pit_exec.h"
#include "registry/registry.h"
#include "window/window.h"

/* The window strategy's state, beside the PitScanState it belongs to */
typedef struct PitWindow
{
	/* from the plan */
	char	   *group_name;
	char	   *windows;		/* for EXPLAIN */
	List	   *coltypes;		/* the view's column types */
	TupleDesc	feat_desc;		/* the view's columns */
	TupleTableSlot *out_slot;	/* minimal, the scan tuple's descriptor */
	ExprState  *view_qual;		/* LEFT: conditions on the computed row, or NULL */
	TupleTableSlot *check_slot; /* virtual, the scan tuple's, to test view_qual */

	/* the group, compiled at the first scan, for the node's life */
	MemoryContext cxt;
	FsGroup    *group;
	WinPlan    *plan;
	WinSortKey *sortkeys;
	int			nfeat;			/* the group's features */
	bool		has_created;	/* the engine computes last(created) too */

	/* one spine row's buffers, allocated with the group */
	Datum	   *keys;
	bool	   *knulls;
	bool	   *all_null;		/* every key NULL: a point that counts no event */
	Datum	   *winvals;		/* the engine's: the features, then the times */
	bool	   *winnulls;
	Datum	   *featvals;		/* the view's columns */
	bool	   *featnulls;
	Datum	   *values;			/* the scan tuple's columns */
	bool	   *isnull;

	/* one scan, in the node's runcxt */
	Tuplesortstate *spine_sort;
	bool		sort_spilled;	/* for EXPLAIN ANALYZE: the last sort went to disk */
	WinStore   *store;			/* the events in memory, or NULL: the sorted query */
	const char *events_text;	/* for EXPLAIN ANALYZE: how the last scan read them */
	char		events_buf[256];	/* its text for the in-memory path */
	Tuplestorestate *out;		/* the sorted query's path: the joined rows */
	WinState   *ws;				/* the store's path: the pass, streaming */
	MemoryContext rowcxt;		/* reset per spine row */
	PitShareStats shared;		/* this participant's part of a shared read */
} PitWindow;

static void PitWindowCompile(PitScanState *st);
static FsGroup *PitWindowWithTimes(const FsGroup *group);
static FsFeature *PitWindowLast(const char *name, const char *column,
								int position, int64 window_usecs);
static void PitWindowCheckOptions(PitScanState *st);
static void PitWindowSortSpine(PitScanState *st);
static void PitWindowPass(PitScanState *st);
static Portal PitWindowOpenEvents(PitScanState *st);
static void PitWindowAddPoint(PitScanState *st, TupleTableSlot *slot);
static bool PitWindowLoadStore(PitScanState *st);
static bool PitWindowLoadShared(PitScanState *st, PitShareStats *stats, bool *ok);
static void PitWindowDescribeStore(PitScanState *st, const PitShareStats *shared);
static bool PitWindowStoreEvents(PitScanState *st);
static bool PitWindowCanFilter(PitScanState *st);
static bool PitWindowMine(void *arg, const Datum *keys);
static bool PitWindowRow(PitScanState *st, WinState *ws);
static TupleTableSlot *PitWindowFinish(PitScanState *st, TupleTableSlot *scan);
static bool PitWindowViewQual(PitScanState *st, Datum *values, bool *isnull);

/*
 * PitWindowBegin reads the window fields of the plan and returns the
 * feature side's descriptor, built from the view's column types.  It reads
 * no registry row: EXPLAIN without ANALYZE needs none.
 */
TupleDesc
PitWindowBegin(PitScanState *st, EState *estate)
{
	CustomScan *cscan = (CustomScan *) st->css.ss.ps.plan;
	List	   *priv = cscan->custom_private;
	PitWindow  *w = palloc0(sizeof(PitWindow));
	TupleDesc	scan_desc = st->css.ss.ss_ScanTupleSlot->tts_tupleDescriptor;
	int			nquals = intVal(list_nth(priv, PIT_PRIV_WINDOW_NQUALS));
	int			i = 1;
	ListCell   *lc;

	w->group_name = strVal(list_nth(priv, PIT_PRIV_WINDOW_GROUP));
	w->windows = strVal(list_nth(priv, PIT_PRIV_WINDOW_TEXT));
	w->coltypes = (List *) list_nth(priv, PIT_PRIV_WINDOW_TYPES);
	w->feat_desc = CreateTemplateTupleDesc(list_length(w->coltypes));
	foreach(lc, w->coltypes)
	{
		TupleDescInitEntry(w->feat_desc, i, NULL, lfirst_oid(lc), -1, 0);
		i++;
	}
	w->out_slot = ExecInitExtraTupleSlot(estate, scan_desc, &TTSOpsMinimalTuple);
	w->check_slot = ExecInitExtraTupleSlot(estate, scan_desc, &TTSOpsVirtual);
	if (nquals > 0)
		w->view_qual = ExecInitQual(list_copy_tail(cscan->custom_exprs,
												   list_length(cscan->custom_exprs) - nquals),
									&st->css.ss.ps);
	w->cxt = AllocSetContextCreate(CurrentMemoryContext, "PitJoin window",
								   ALLOCSET_DEFAULT_SIZES);
	st->win = w;
	return w->feat_desc;
}

/*
 * PitWindowLoad runs one scan: it checks the group and the options, sorts
 * the spine and reads the events.  With the events in the store, the pass
 * then streams: PitWindowNext evaluates one spine row per joined row.  The
 * sorted query's path needs its SPI cursor open during the pass, so it
 * computes every joined row into a tuplestore here.
 */
void
PitWindowLoad(PitScanState *st)
{
	PitWindow  *w = st->win;
	MemoryContext old;

	if (w->plan == NULL)
		PitWindowCompile(st);
	PitWindowCheckOptions(st);

	old = MemoryContextSwitchTo(st->runcxt);
	w->rowcxt = AllocSetContextCreate(st->runcxt, "PitJoin window row",
									  ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(old);

	PitWindowSortSpine(st);
	if (w->store != NULL && PitWindowStoreEvents(st))
	{
		w->ws = WinBeginStore(w->plan, w->store, st->as_of, st->has_asof, st->strict,
							  st->runcxt);
		return;
	}
	old = MemoryContextSwitchTo(st->runcxt);
	/* two stores live at once: half of work_mem each, as merge's sorts */
	w->out = tuplestore_begin_heap(false, false, Max(work_mem / 2, 64));
	MemoryContextSwitchTo(old);
	PitWindowPass(st);
	tuplesort_end(w->spine_sort);
	w->spine_sort = NULL;
}

/*
 * PitWindowStoreEvents loads the store within its own SPI connection: the
 * store's pass needs none.  False, with the store ended, when the events
 * outgrew it.
 */
static bool
PitWindowStoreEvents(PitScanState *st)
{
	MemoryContext caller = CurrentMemoryContext;
	bool		ok;
	int			ret;

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed: %s", SPI_result_code_string(ret));
	ok = PitWindowLoadStore(st);
	if ((ret = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "featstore: SPI_finish failed: %s", SPI_result_code_string(ret));
	MemoryContextSwitchTo(caller);
	return ok;
}

/*
 * PitWindowCompile looks the group up and compiles it, once per node: the
 * plan was made for the view's columns, and the group must still have them.
 */
static void
PitWindowCompile(PitScanState *st)
{
	PitWindow  *w = st->win;
	MemoryContext old = MemoryContextSwitchTo(w->cxt);
	List	   *have = NIL;
	ListCell   *lc;

	w->group = RegistryLookupGroup(w->group_name, false);
	if (w->group->source == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("feature group \"%s\" is not defined FROM a source", w->group_name),
				 errhint("The group was re-created since this statement was planned; run it again.")));
	foreach(lc, w->group->keys)
		have = lappend_oid(have, ((FsKeyColumn *) lfirst(lc))->typid);
	have = lappend_oid(lappend_oid(have, TIMESTAMPTZOID), TIMESTAMPTZOID);
	foreach(lc, w->group->features)
		have = lappend_oid(have, ((FsFeature *) lfirst(lc))->typid);
	if (!equal(have, w->coltypes) || list_length(w->group->keys) != st->nkeys)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("feature group \"%s\" changed since this statement was planned", w->group_name),
				 errhint("Run the statement again.")));
	/* the view, the source's shape and its code, as every reader checks */
	RegistryCheckGroupTable(w->group);

	w->nfeat = list_length(w->group->features);
	w->has_created = w->group->source->created_column != NULL;
	w->plan = WinCompile(PitWindowWithTimes(w->group), w->cxt);
	if (WinFeatureCount(w->plan) != w->nfeat + 1 + w->has_created)
		elog(ERROR, "featstore: the window engine computes %d features of group \"%s\", which has %d",
			 WinFeatureCount(w->plan), w->group_name, w->nfeat);
	w->sortkeys = palloc0(sizeof(WinSortKey) * Max(st->nkeys, 1));
	WinPointSortKeys(w->plan, w->sortkeys);

	w->keys = palloc0(sizeof(Datum) * Max(st->nkeys, 1));
	w->knulls = palloc0(sizeof(bool) * Max(st->nkeys, 1));
	w->all_null = palloc(sizeof(bool) * Max(st->nkeys, 1));
	memset(w->all_null, true, sizeof(bool) * Max(st->nkeys, 1));
	w->winvals = palloc0(sizeof(Datum) * (w->nfeat + 2));
	w->winnulls = palloc0(sizeof(bool) * (w->nfeat + 2));
	w->featvals = palloc0(sizeof(Datum) * w->feat_desc->natts);
	w->featnulls = palloc0(sizeof(bool) * w->feat_desc->natts);
	w->values = palloc0(sizeof(Datum) * Max(st->nmap, 1));
	w->isnull = palloc0(sizeof(bool) * Max(st->nmap, 1));
	MemoryContextSwitchTo(old);
}

/*
 * PitWindowWithTimes returns the group with two more features after its
 * own: last(event time) and last(created) over its longest window (or
 * unbounded, when a feature is), the best counted event's times, which are
 * the view's event_timestamp and created_at.  The names cannot clash with
 * a feature's (a "$" is not in an unquoted identifier, and no expression
 * of the group can name them: they come after every feature).
 */
static FsGroup *
PitWindowWithTimes(const FsGroup *group)
{
	FsGroup    *copy = palloc(sizeof(FsGroup));
	int64		longest = 0;
	bool		unbounded = false;
	int			n = list_length(group->features);
	ListCell   *lc;

	foreach(lc, group->features)
	{
		FsWindowFeature *fw = ((FsFeature *) lfirst(lc))->window;

		if (fw == NULL || fw->agg == FS_AGG_EXPRESSION)
			continue;
		unbounded = unbounded || fw->window_usecs <= 0;
		longest = Max(longest, fw->window_usecs);
	}
	*copy = *group;
	copy->features = list_copy(group->features);
	copy->features = lappend(copy->features,
							 PitWindowLast("pit$event_time", group->source->timestamp_column,
										   n + 1, unbounded ? 0 : longest));
	if (group->source->created_column != NULL)
		copy->features = lappend(copy->features,
								 PitWindowLast("pit$created", group->source->created_column,
											   n + 2, unbounded ? 0 : longest));
	return copy;
}

/* PitWindowLast makes a timestamptz feature last(column) over a window */
static FsFeature *
PitWindowLast(const char *name, const char *column, int position, int64 window_usecs)
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
 * PitWindowCheckOptions refuses, once the marker's options are known, what a
 * source group cannot answer: a TTL (a parameter, which the planner could
 * not see), and as_of or strict without a CREATED column to bound.
 */
static void
PitWindowCheckOptions(PitScanState *st)
{
	PitWindow  *w = st->win;

	if (st->has_ttl)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature group \"%s\" takes no TTL in a point-in-time join", w->group_name),
				 errdetail("Its features are window aggregates: each feature's window bounds the events it counts."),
				 errhint("Pass NULL as the TTL of featstore.pit_match() for this group.")));
	if ((st->has_asof || st->strict) && w->group->source->created_column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature group \"%s\" has no CREATED column, so it cannot be joined %s",
						w->group_name, st->has_asof ? "with as_of" : "in strict mode"),
				 errdetail("as_of and strict bound when each event was written, which the source %s does not record.",
						   quote_qualified_identifier(w->group->source->schema_name,
													  w->group->source->relation_name)),
				 errhint("Declare the column holding each event's write time: re-create the group with FROM ... TIMESTAMP ... CREATED column.")));
}

/* PitWindowSortSpine reads the spine child into a sort by (keys, ts) */
static void
PitWindowSortSpine(PitScanState *st)
{
	PitWindow  *w = st->win;
	TupleDesc	spine_desc = ExecGetResultType((PlanState *) linitial(st->css.custom_ps));
	int			n = st->nkeys + 1;
	AttrNumber *attrs = palloc(sizeof(AttrNumber) * n);
	Oid		   *ops = palloc(sizeof(Oid) * n);
	Oid		   *colls = palloc(sizeof(Oid) * n);
	bool	   *nulls_first = palloc0(sizeof(bool) * n);
	TupleTableSlot *slot;
	TuplesortInstrumentation stats;
	MemoryContext old;

	for (int i = 0; i < st->nkeys; i++)
	{
		attrs[i] = st->spine_keys[i];
		ops[i] = w->sortkeys[i].sortop;
		colls[i] = w->sortkeys[i].collation;
	}
	attrs[st->nkeys] = st->spine_ts;
	ops[st->nkeys] = st->ts_lt_opr;
	colls[st->nkeys] = InvalidOid;

	old = MemoryContextSwitchTo(st->runcxt);
	w->spine_sort = tuplesort_begin_heap(spine_desc, n, attrs, ops, colls, nulls_first,
										 Max(work_mem / 2, 64), NULL, TUPLESORT_NONE);
	MemoryContextSwitchTo(old);
	/* the in-memory path, as a hash join's table: within hash_mem */
	w->store = WinStoreBegin(w->plan, get_hash_memory_limit(), st->runcxt);
	w->events_text = w->store ? NULL : "sorted by the source query (a key type has no hash function)";
	while (!st->spine_done && (slot = PitNextSpineRow(st)) != NULL)
	{
		tuplesort_puttupleslot(w->spine_sort, slot);
		if (w->store != NULL)
			PitWindowAddPoint(st, slot);
	}
	tuplesort_performsort(w->spine_sort);
	tuplesort_get_stats(w->spine_sort, &stats);
	w->sort_spilled = stats.spaceType == SORT_SPACE_TYPE_DISK;
}

/*
 * PitWindowAddPoint adds a spine row's key and ts to the store; a row with
 * a NULL key or ts counts no event.  A store outgrowing its bound is ended:
 * the pass reads the sorted query.
 */
static void
PitWindowAddPoint(PitScanState *st, TupleTableSlot *slot)
{
	PitWindow  *w = st->win;
	bool		isnull;
	TimestampTz t;

	t = DatumGetTimestampTz(slot_getattr(slot, st->spine_ts, &isnull));
	if (isnull)
		return;
	for (int i = 0; i < st->nkeys; i++)
	{
		w->keys[i] = slot_getattr(slot, st->spine_keys[i], &isnull);
		if (isnull)
			return;
	}
	if (!WinStoreAddPoint(w->store, w->keys, t))
	{
		WinStoreEnd(w->store);
		w->store = NULL;
		w->events_text = "sorted by the source query (the spine's keys outgrew hash_mem)";
	}
}

/*
 * PitWindowCanFilter says whether the source's rows can be sorted into the
 * parallel join's partitions as its spine rows are (PitRowMine): one key
 * hashed inline (no function that could allocate or depend on a collation),
 * of the spine key's very type, so that equal keys hash alike.
 */
static bool
PitWindowCanFilter(PitScanState *st)
{
	TupleDesc	spine_desc = ExecGetResultType(linitial(st->css.custom_ps));

	return st->key_fast && st->nkeys == 1 &&
		TupleDescAttr(spine_desc, st->spine_keys[0] - 1)->atttypid ==
		WinKeyType(st->win->plan, 0);
}

/*
 * PitWindowMine is the store's filter in a parallel join: a source row
 * whose key belongs to another participant's partition is not considered.
 * Rows it lets through are still looked up, so it only saves work.
 */
static bool
PitWindowMine(void *arg, const Datum *keys)
{
	PitScanState *st = (PitScanState *) arg;

	return PitHashMine(st, PitHashKeys(st, keys));
}

/*
 * PitWindowLoadStore reads the source in physical order into the store, as
 * the calling role, under the pinned search_path and the query's snapshot
 * (as PitWindowOpenEvents).  False, with the store ended, when the events
 * outgrew it.
 */
static bool
PitWindowLoadStore(PitScanState *st)
{
	PitWindow  *w = st->win;
	EState	   *estate = st->css.ss.ps.state;
	PitShareStats shared = {0};
	int			level;
	bool		ok;

	level = FeatstorePinSearchPath();
	PushActiveSnapshot(estate->es_snapshot);
	if (!PitWindowLoadShared(st, &shared, &ok))
	{
		char	   *sql = WinSourceSqlUnsorted(w->plan, st->has_asof, NULL);

		if (st->pshared != NULL && PitWindowCanFilter(st))
			WinStoreSetFilter(w->store, PitWindowMine, st);
		ok = WinStoreLoad(w->store, sql, st->has_asof, st->as_of);
	}
	PopActiveSnapshot();
	AtEOXact_GUC(true, level);
	if (!ok)
	{
		WinStoreEnd(w->store);
		w->store = NULL;
		w->events_text = "sorted by the source query (the events outgrew hash_mem)";
		return false;
	}
	PitWindowDescribeStore(st, &shared);
	return true;
}

/*
 * PitWindowLoadShared loads the store through the parallel join's shared
 * read (pit_share.c), setting *ok as WinStoreLoad would.  It returns false,
 * having read nothing, when the shared read does not apply: no parallel
 * join, keys its partitions cannot be computed from (PitWindowCanFilter),
 * a source that is not a plain table, or a chunk plan that is not a TID
 * range scan.
 */
static bool
PitWindowLoadShared(PitScanState *st, PitShareStats *stats, bool *ok)
{
	PitWindow  *w = st->win;
	DestReceiver *r;
	char		relkind;
	Oid			relid;
	char	   *sql;

	if (st->pshared == NULL || !PitWindowCanFilter(st))
		return false;
	relid = WinSourceRelid(w->plan, &relkind);
	if (!OidIsValid(relid) || relkind != RELKIND_RELATION)
		return false;
	if ((r = WinStoreLoadBegin(w->store)) == NULL)
		return false;			/* full already: WinStoreLoad says so */
	sql = WinSourceSqlUnsorted(w->plan, st->has_asof, "ctid >= $2 AND ctid < $3");
	if (!PitShareLoad(st, r, sql, relid, st->as_of, stats))
		return false;
	*ok = WinStoreLoadEnd(w->store);
	return true;
}

/* PitWindowDescribeStore writes EXPLAIN ANALYZE's account of the load */
static void
PitWindowDescribeStore(PitScanState *st, const PitShareStats *shared)
{
	PitWindow  *w = st->win;
	uint64		kept;
	uint64		read;
	uint64		keys;
	int			len;

	WinStoreCounts(w->store, &kept, &read, &keys);
	len = snprintf(w->events_buf, sizeof(w->events_buf),
				   "hashed in memory, " UINT64_FORMAT " kept of " UINT64_FORMAT " read",
				   kept, read);
	w->events_text = w->events_buf;
	if (!shared->used)
		return;
	/* over every partition this participant joined */
	w->shared.used = true;
	w->shared.chunks += shared->chunks;
	w->shared.sent += shared->sent;
	w->shared.received += shared->received;
	snprintf(w->events_buf + len, sizeof(w->events_buf) - len,
			 "; source read in parallel: " UINT64_FORMAT " chunks here, "
			 UINT64_FORMAT " rows sent, " UINT64_FORMAT " received",
			 w->shared.chunks, w->shared.sent, w->shared.received);
}

/*
 * PitWindowPass evaluates every sorted spine row.  The SPI connection, the
 * events' cursor and the engine's pass all begin and end here; an error
 * leaves their cleanup to the (sub)transaction's abort, as for any SPI
 * caller.
 */
static void
PitWindowPass(PitScanState *st)
{
	PitWindow  *w = st->win;
	MemoryContext caller = CurrentMemoryContext;
	Portal		portal;
	char	   *portal_name = NULL;
	WinState   *ws;
	int			ret;

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed: %s", SPI_result_code_string(ret));
	if (w->events_text == NULL)
		w->events_text = "sorted by the source query";
	portal = PitWindowOpenEvents(st);
	portal_name = MemoryContextStrdup(caller, portal->name);
	ws = WinBegin(w->plan, portal, st->as_of, st->has_asof, st->strict, st->runcxt);

	while (tuplesort_gettupleslot(w->spine_sort, true, false, st->spine_slot, NULL))
	{
		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(w->rowcxt);
		if (PitWindowRow(st, ws))
			tuplestore_putvalues(w->out, st->css.ss.ss_ScanTupleSlot->tts_tupleDescriptor,
								 w->values, w->isnull);
	}

	WinEnd(ws);
	/* the engine may have closed it: look it up rather than trust the pointer */
	portal = portal_name ? SPI_cursor_find(portal_name) : NULL;
	if (portal != NULL)
		SPI_cursor_close(portal);
	if ((ret = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "featstore: SPI_finish failed: %s", SPI_result_code_string(ret));
	MemoryContextSwitchTo(caller);
}

/*
 * PitWindowOpenEvents opens the engine's query on the group's source as the
 * calling role: SELECT privilege and row-level security apply to whoever
 * runs the join.  Its names resolve under a pinned search_path, and it
 * reads with the snapshot of the query this node belongs to, so the events
 * and the spine are one consistent state of the database.
 */
static Portal
PitWindowOpenEvents(PitScanState *st)
{
	PitWindow  *w = st->win;
	EState	   *estate = st->css.ss.ps.state;
	char	   *sql = WinSourceSql(w->plan, st->has_asof, NULL);
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		args[1] = {TimestampTzGetDatum(st->as_of)};
	int			level;
	Portal		portal;

	level = FeatstorePinSearchPath();
	PushActiveSnapshot(estate->es_snapshot);
	portal = SPI_cursor_open_with_args(NULL, sql, st->has_asof ? 1 : 0, argtypes, args,
									   NULL, true, CURSOR_OPT_NO_SCROLL);
	PopActiveSnapshot();
	AtEOXact_GUC(true, level);
	if (portal == NULL)
		elog(ERROR, "featstore: could not open the events of feature group \"%s\": %s",
			 w->group_name, SPI_result_code_string(SPI_result));
	return portal;
}

/*
 * PitWindowRow evaluates the current spine row (st->spine_slot) into its
 * joined row, w->values and w->isnull (valid until the next row).  False
 * when the join drops the row.
 */
static bool
PitWindowRow(PitScanState *st, WinState *ws)
{
	PitWindow  *w = st->win;
	Datum	   *keys = w->keys;
	bool	   *knulls = w->knulls;
	Datum	   *featvals = w->featvals;
	bool	   *featnulls = w->featnulls;
	Datum	   *values = w->values;
	bool	   *isnull = w->isnull;
	MemoryContext old = MemoryContextSwitchTo(w->rowcxt);
	WinPoint	point;
	bool		tsnull;
	bool		never;
	bool		found;

	point.keys = keys;
	point.key_nulls = knulls;
	point.t = DatumGetTimestampTz(slot_getattr(st->spine_slot, st->spine_ts, &tsnull));
	never = tsnull;
	for (int i = 0; i < st->nkeys; i++)
	{
		keys[i] = slot_getattr(st->spine_slot, st->spine_keys[i], &knulls[i]);
		never = never || knulls[i];
	}
	if (never && !st->left)
	{
		st->n_nomatch++;
		MemoryContextSwitchTo(old);
		return false;
	}

	/* a NULL key or ts counts no event: the engine's empty values */
	if (never)
		point.key_nulls = w->all_null;
	if (tsnull)
		point.t = 0;
	WinEvaluate(ws, &point, w->winvals, w->winnulls, NULL);
	found = !w->winnulls[w->nfeat];

	/* the view's columns: the spine's keys, the best event's times, the features */
	memcpy(featvals, keys, sizeof(Datum) * st->nkeys);
	memcpy(featnulls, knulls, sizeof(bool) * st->nkeys);
	featvals[st->nkeys] = w->winvals[w->nfeat];
	featnulls[st->nkeys] = w->winnulls[w->nfeat];
	featvals[st->nkeys + 1] = w->has_created ? w->winvals[w->nfeat + 1] : (Datum) 0;
	featnulls[st->nkeys + 1] = !w->has_created || w->winnulls[w->nfeat + 1];
	memcpy(featvals + st->nkeys + 2, w->winvals, sizeof(Datum) * w->nfeat);
	memcpy(featnulls + st->nkeys + 2, w->winnulls, sizeof(bool) * w->nfeat);

	for (int i = 0; i < st->nmap; i++)
	{
		if (st->map_side[i] == 0)
			values[i] = slot_getattr(st->spine_slot, st->map_resno[i], &isnull[i]);
		else
		{
			values[i] = featvals[st->map_resno[i] - 1];
			isnull[i] = featnulls[st->map_resno[i] - 1] ||
				(st->masked != NULL && st->masked[i]);
		}
	}
	/* a computed row the ON clause refuses joins nothing */
	if (w->view_qual != NULL && !PitWindowViewQual(st, values, isnull))
	{
		found = false;
		for (int i = 0; i < st->nmap; i++)
			isnull[i] = isnull[i] || st->map_side[i] != 0;
	}
	if (found)
		st->n_matched++;
	else
		st->n_nomatch++;
	MemoryContextSwitchTo(old);
	return true;
}

/*
 * PitWindowViewQual tests the LEFT join's conditions on the view's columns
 * against one joined row, before it is stored.
 */
static bool
PitWindowViewQual(PitScanState *st, Datum *values, bool *isnull)
{
	PitWindow  *w = st->win;
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;
	TupleTableSlot *slot = w->check_slot;

	ResetExprContext(econtext);
	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, sizeof(Datum) * st->nmap);
	memcpy(slot->tts_isnull, isnull, sizeof(bool) * st->nmap);
	ExecStoreVirtualTuple(slot);
	econtext->ecxt_scantuple = slot;
	return ExecQual(w->view_qual, econtext);
}

/*
 * PitWindowNext hands out the next joined row, after the node's quals and
 * projection, or NULL (phase PIT_DONE at the end, or a row the quals drop).
 */
TupleTableSlot *
PitWindowNext(PitScanState *st)
{
	PitWindow  *w = st->win;
	TupleTableSlot *scan = st->css.ss.ss_ScanTupleSlot;
	const Datum *values = w->values;
	const bool *isnull = w->isnull;

	if (w->ws != NULL)
	{
		/* the store's pass: the next spine row the join keeps, evaluated now */
		do
		{
			CHECK_FOR_INTERRUPTS();
			if (!tuplesort_gettupleslot(w->spine_sort, true, false, st->spine_slot, NULL))
			{
				PitWindowRelease(st);
				st->phase = PIT_DONE;
				return NULL;
			}
			MemoryContextReset(w->rowcxt);
		} while (!PitWindowRow(st, w->ws));
	}
	else
	{
		if (!tuplestore_gettupleslot(w->out, true, false, w->out_slot))
		{
			st->phase = PIT_DONE;
			return NULL;
		}
		slot_getallattrs(w->out_slot);
		values = w->out_slot->tts_values;
		isnull = w->out_slot->tts_isnull;
	}
	ExecClearTuple(scan);
	memcpy(scan->tts_values, values, sizeof(Datum) * st->nmap);
	memcpy(scan->tts_isnull, isnull, sizeof(bool) * st->nmap);
	ExecStoreVirtualTuple(scan);
	return PitWindowFinish(st, scan);
}

/* PitWindowFinish applies the node's quals and projection to a joined row */
static TupleTableSlot *
PitWindowFinish(PitScanState *st, TupleTableSlot *scan)
{
	ExprContext *econtext = st->css.ss.ps.ps_ExprContext;

	ResetExprContext(econtext);
	econtext->ecxt_scantuple = scan;
	if (st->css.ss.ps.qual != NULL && !ExecQual(st->css.ss.ps.qual, econtext))
		return NULL;
	if (st->css.ss.ps.ps_ProjInfo != NULL)
		return ExecProject(st->css.ss.ps.ps_ProjInfo);
	return scan;
}

/*
 * PitWindowRelease ends the scan's sort and store (their files too) before
 * PitResetRun frees the run's memory.  The compiled group stays.
 */
void
PitWindowRelease(PitScanState *st)
{
	PitWindow  *w = st->win;

	if (w == NULL)
		return;
	ExecClearTuple(w->out_slot);
	if (w->spine_sort != NULL)
		tuplesort_end(w->spine_sort);
	if (w->ws != NULL)
		WinEnd(w->ws);
	w->ws = NULL;
	if (w->store != NULL)
		WinStoreEnd(w->store);
	w->store = NULL;
	if (w->out != NULL)
		tuplestore_end(w->out);
	w->spine_sort = NULL;
	w->out = NULL;
	w->rowcxt = NULL;
}

/* PitWindowExplain shows the group and its windows */
void
PitWindowExplain(PitScanState *st, ExplainState *es)
{
	ExplainPropertyText("Group", st->win->group_name, es);
	ExplainPropertyText("Windows", st->win->windows, es);
	if (es->analyze && st->win->plan != NULL)
	{
		ExplainPropertyText("Spine Sort", st->win->sort_spilled ? "spilled to disk" : "in memory",
							es);
		if (st->win->events_text != NULL)
			ExplainPropertyText("Events", st->win->events_text, es);
	}
}
