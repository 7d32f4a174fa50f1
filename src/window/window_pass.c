/*
 * window_pass.c
 *		The one-pass window engine: for points (key, t) in key order, then
 *		time order, it pulls the key's events from the source query's
 *		Portal, keeps those inside the longest window in a ring buffer, and
 *		moves each feature's window forward by adding events at its head
 *		and removing them at its tail (window_agg.c).  docs/windows.md.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "common/int.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "window/window_int.h"

/* Events fetched from the Portal at a time */
#define WIN_FETCH 1000

struct WinState
{
	WinPlan    *plan;
	Portal		portal;			/* the sorted query's, or NULL */
	WinStore   *store;			/* the in-memory path's events, or NULL */
	bool		strict;
	MemoryContext cxt;			/* the pass */
	MemoryContext key_cxt;		/* the current key's events and states */
	SPITupleTable *batch;
	uint64		batch_n;
	uint64		batch_pos;
	bool		exhausted;
	bool		checked;		/* the query's row type was checked */
	uint64		nfetch;			/* batches fetched so far */
	uint64		peek_fetch;		/* peek_values hold row peek_pos of batch */
	uint64		peek_pos;		/* peek_fetch (0: none) */
	Datum	   *peek_values;	/* the next event, deformed once (a store's: */
	bool	   *peek_nulls;		/* its record) */
	bool		have_key;
	Datum	   *cur_keys;		/* in key_cxt */
	TimestampTz last_t;
	WinRing		ring;
	int64		last_pos;		/* newest counted position; -1: none */
	int64		count_from;		/* non-strict: first loaded, not yet counted */
	WinEvent  **heap;			/* strict: loaded events by created */
	int			nheap;
	int			heapcap;
	WinAcc	   *accs;
	ExprContext *econtext;
	ParamListInfo params;		/* 1..n: features; n+1..2n: raw aggregates */
};

static WinState *BeginPass(WinPlan *plan, bool has_as_of, bool strict,
						   MemoryContext cxt);

/*
 * WinBegin starts a pass over the events of the Portal, which the caller
 * opened on WinSourceSql(plan, has_as_of, ...) with as_of as $1.  strict
 * counts an event only once created <= t.  The caller stays connected to
 * SPI until WinEnd.
 */
WinState *
WinBegin(WinPlan *plan, Portal events, TimestampTz as_of,
		 bool has_as_of, bool strict, MemoryContext cxt)
{
	WinState   *s;

	if (events == NULL)
		elog(ERROR, "window pass of feature group \"%s\" has no events portal",
			 plan->group_name);
	s = BeginPass(plan, has_as_of, strict, cxt);
	s->portal = events;
	return s;
}

/*
 * WinBeginStore starts a pass over the events of a loaded store
 * (WinStoreLoad, with the same as_of); the store must outlive the pass.
 */
WinState *
WinBeginStore(WinPlan *plan, WinStore *store, TimestampTz as_of,
			  bool has_as_of, bool strict, MemoryContext cxt)
{
	WinState   *s;

	if (store == NULL || WinStorePlan(store) != plan)
		elog(ERROR, "window pass of feature group \"%s\" has no store of its events",
			 plan->group_name);
	s = BeginPass(plan, has_as_of, strict, cxt);
	s->store = store;
	s->checked = true;			/* WinStoreLoad checked the row type */
	return s;
}

/* BeginPass makes a pass's state, without its events */
static WinState *
BeginPass(WinPlan *plan, bool has_as_of, bool strict, MemoryContext cxt)
{
	MemoryContext pass_cxt;
	MemoryContext old;
	WinState   *s;
	int			n = plan->nfeat;

	if ((strict || has_as_of) && plan->created_column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("feature group \"%s\" has no CREATED column, so %s cannot apply to it",
						plan->group_name, strict ? "strict" : "as_of"),
				 errhint("Declare CREATED in the group's definition to use as_of or strict.")));
	pass_cxt = AllocSetContextCreate(cxt, "featstore window pass", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(pass_cxt);
	s = palloc0(sizeof(WinState));
	s->plan = plan;
	s->strict = strict;
	s->cxt = pass_cxt;
	s->key_cxt = AllocSetContextCreate(pass_cxt, "featstore window key",
									   ALLOCSET_DEFAULT_SIZES);
	s->accs = palloc0(sizeof(WinAcc) * Max(n, 1));
	s->peek_values = palloc0(sizeof(Datum) * WIN_NATTS(plan));
	s->peek_nulls = palloc0(sizeof(bool) * WIN_NATTS(plan));
	s->econtext = CreateStandaloneExprContext();
	s->params = makeParamList(2 * n);
	s->params->numParams = 2 * n;
	for (int i = 0; i < n; i++)
	{
		s->params->params[i].ptype = plan->feats[i].typid;
		s->params->params[i].pflags = PARAM_FLAG_CONST;
		s->params->params[i].isnull = true;
		s->params->params[n + i].ptype = plan->feats[i].result_type;
		s->params->params[n + i].pflags = PARAM_FLAG_CONST;
		s->params->params[n + i].isnull = true;
	}
	s->econtext->ecxt_param_list_info = s->params;
	s->last_pos = -1;
	MemoryContextSwitchTo(old);
	return s;
}

/*
 * WinCheckRowType refuses a source query whose columns are not the types
 * the plan was compiled for (the source changed under it).
 */
void
WinCheckRowType(const WinPlan *plan, TupleDesc desc)
{

	if (desc->natts != WIN_NATTS(plan))
		elog(ERROR, "the source query of feature group \"%s\" returned %d columns, expected %d",
			 plan->group_name, desc->natts, WIN_NATTS(plan));
	for (int i = 0; i < desc->natts; i++)
	{
		Oid			want;
		Oid			got = TupleDescAttr(desc, i)->atttypid;

		if (i < plan->nkeys)
			want = plan->key_types[i];
		else if (i < plan->nkeys + 2)
			want = TIMESTAMPTZOID;
		else
			want = plan->col_types[i - plan->nkeys - 2];
		if (got != want)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column %d of the source of feature group \"%s\" is %s, expected %s",
							i + 1, plan->group_name, format_type_be(got),
							format_type_be(want)),
					 errhint("The source changed after the group was defined.")));
	}
}

/*
 * PeekEvent makes peek_values/peek_nulls the next event not yet consumed,
 * fetching a batch when needed; false at the end (of the key's events, for
 * a store).
 */
static bool
PeekEvent(WinState *s)
{
	if (s->store)
		return WinStorePeek(s->store, &s->peek_values, &s->peek_nulls);
	while (!s->exhausted && (s->batch == NULL || s->batch_pos >= s->batch_n))
	{
		if (s->batch)
		{
			SPI_freetuptable(s->batch);
			s->batch = NULL;
		}
		SPI_cursor_fetch(s->portal, true, WIN_FETCH);
		if (SPI_tuptable == NULL || SPI_processed == 0)
		{
			if (SPI_tuptable)
				SPI_freetuptable(SPI_tuptable);
			s->exhausted = true;
			break;
		}
		s->batch = SPI_tuptable;
		s->batch_n = SPI_processed;
		s->batch_pos = 0;
		s->nfetch++;
		if (!s->checked)
			WinCheckRowType(s->plan, s->batch->tupdesc);
		s->checked = true;
	}
	if (s->exhausted)
		return false;
	if (s->peek_fetch != s->nfetch || s->peek_pos != s->batch_pos)
	{
		heap_deform_tuple(s->batch->vals[s->batch_pos], s->batch->tupdesc,
						  s->peek_values, s->peek_nulls);
		s->peek_fetch = s->nfetch;
		s->peek_pos = s->batch_pos;
	}
	return true;
}

/*
 * ComparePeeked orders the peeked event's key against keys, as the source
 * query and the points are ordered.
 */
static int
ComparePeeked(WinState *s, const Datum *keys)
{
	WinPlan    *plan = s->plan;

	if (s->store)
		return 0;				/* a store returns only the current key's events */
	for (int k = 0; k < plan->nkeys; k++)
	{
		int32		c;

		if (s->peek_nulls[k])
			return 1;			/* the query leaves these out; sort last */
		c = DatumGetInt32(FunctionCall2Coll(&plan->key_cmp[k], plan->key_collations[k],
											s->peek_values[k], keys[k]));
		if (c != 0)
			return c;
	}
	return 0;
}

/* CompareKeyDatums orders two points' keys */
static int
CompareKeyDatums(WinState *s, const Datum *a, const Datum *b)
{
	for (int k = 0; k < s->plan->nkeys; k++)
	{
		int32		c = DatumGetInt32(FunctionCall2Coll(&s->plan->key_cmp[k],
														s->plan->key_collations[k],
														a[k], b[k]));

		if (c != 0)
			return c;
	}
	return 0;
}

/* PeekedTime is the peeked event's event time */
static inline TimestampTz
PeekedTime(WinState *s)
{
	int			att = WIN_COL_TS(s->plan);

	return s->peek_nulls[att] ? DT_NOEND : DatumGetTimestampTz(s->peek_values[att]);
}

/* FreeEvent frees an event that neither the buffer nor the heap holds */
static void
FreeEvent(WinEvent *ev)
{
	if (ev->tuple)
		heap_freetuple(ev->tuple);
	pfree(ev);
}

/*
 * StartKey empties the pass's state for the point's key and discards the
 * events of keys before it.
 */
static void
StartKey(WinState *s, const WinPoint *point)
{
	WinPlan    *plan = s->plan;
	MemoryContext old;

	if (s->have_key && CompareKeyDatums(s, point->keys, s->cur_keys) < 0)
		elog(ERROR, "window pass of feature group \"%s\": points are not in key order",
			 plan->group_name);
	MemoryContextReset(s->key_cxt);
	memset(&s->ring, 0, sizeof(WinRing));
	s->heap = NULL;
	s->nheap = s->heapcap = 0;
	s->last_pos = -1;
	s->count_from = 0;
	for (int i = 0; i < plan->nfeat; i++)
	{
		WinAccReset(&plan->feats[i], &s->accs[i], s->key_cxt);
		s->accs[i].borrow = s->store != NULL;
	}
	old = MemoryContextSwitchTo(s->key_cxt);
	s->cur_keys = palloc(sizeof(Datum) * plan->nkeys);
	for (int k = 0; k < plan->nkeys; k++)
	{
		int16		len;
		bool		byval;

		get_typlenbyval(plan->key_types[k], &len, &byval);
		s->cur_keys[k] = datumCopy(point->keys[k], byval, len);
	}
	MemoryContextSwitchTo(old);
	s->have_key = true;
	s->last_t = DT_NOBEGIN;
	if (s->store)
		WinStoreStartKey(s->store, point->keys);
	while (PeekEvent(s) && ComparePeeked(s, point->keys) < 0)
		s->batch_pos++;
}

/* RingPush appends an event at the buffer's head, growing the ring */
static void
RingPush(WinState *s, WinEvent *ev)
{
	WinRing    *r = &s->ring;

	if (r->head - r->base >= r->cap)
	{
		int64		ncap = Max(64, r->cap * 2);
		WinEvent  **nring = MemoryContextAlloc(s->key_cxt, sizeof(WinEvent *) * ncap);

		for (int64 p = r->base; p < r->head; p++)
			nring[p & (ncap - 1)] = WinRingGet(r, p);
		if (r->ring)
			pfree(r->ring);
		r->ring = nring;
		r->cap = ncap;
	}
	ev->pos = r->head++;
	ev->in_buffer = true;
	r->ring[ev->pos & (r->cap - 1)] = ev;
}

/*
 * LoadEvent copies the peeked event out of its batch into the key's
 * memory (a store's record stays where it is, for the store's life) and
 * appends it to the buffer.
 */
static WinEvent *
LoadEvent(WinState *s)
{
	WinPlan    *plan = s->plan;
	int			natts = WIN_NATTS(plan);
	MemoryContext old = MemoryContextSwitchTo(s->key_cxt);
	WinEvent   *ev;

	if (s->store)
	{
		ev = palloc0(sizeof(WinEvent));
		ev->values = s->peek_values;
		ev->nulls = s->peek_nulls;
		WinStoreAdvance(s->store);
	}
	else
	{
		ev = palloc0(MAXALIGN(sizeof(WinEvent)) +
					 natts * (sizeof(Datum) + sizeof(bool)));
		ev->values = (Datum *) ((char *) ev + MAXALIGN(sizeof(WinEvent)));
		ev->nulls = (bool *) (ev->values + natts);
		ev->tuple = heap_copytuple(s->batch->vals[s->batch_pos]);
		heap_deform_tuple(ev->tuple, s->batch->tupdesc, ev->values, ev->nulls);
	}
	MemoryContextSwitchTo(old);
	ev->et = DatumGetTimestampTz(ev->values[WIN_COL_TS(plan)]);
	ev->created_null = ev->nulls[WIN_COL_CREATED(plan)];
	ev->created = ev->created_null ? 0 :
		DatumGetTimestampTz(ev->values[WIN_COL_CREATED(plan)]);
	if (!s->store)
		s->batch_pos++;
	RingPush(s, ev);
	return ev;
}

/* HeapPush adds a strict pass's event to the min-heap by created */
static void
HeapPush(WinState *s, WinEvent *ev)
{
	int			i;

	if (s->nheap == s->heapcap)
	{
		s->heapcap = Max(64, s->heapcap * 2);
		if (s->heap == NULL)
			s->heap = MemoryContextAlloc(s->key_cxt, sizeof(WinEvent *) * s->heapcap);
		else
			s->heap = repalloc(s->heap, sizeof(WinEvent *) * s->heapcap);
	}
	ev->pending = true;
	i = s->nheap++;
	while (i > 0 && s->heap[(i - 1) / 2]->created > ev->created)
	{
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = ev;
}

/* HeapPop removes and returns the heap's event with the earliest created */
static WinEvent *
HeapPop(WinState *s)
{
	WinEvent   *top = s->heap[0];
	WinEvent   *last = s->heap[--s->nheap];
	int			i = 0;

	while (2 * i + 1 < s->nheap)
	{
		int			c = 2 * i + 1;

		if (c + 1 < s->nheap && s->heap[c + 1]->created < s->heap[c]->created)
			c++;
		if (s->heap[c]->created >= last->created)
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap > 0)
		s->heap[i] = last;
	top->pending = false;
	return top;
}

/*
 * EntersBy is true when an event with event time et is inside the head of
 * a window ending at t: et <= t, or et < t with WINDOW END EXCLUSIVE.
 */
static inline bool
EntersBy(const WinPlan *plan, TimestampTz et, TimestampTz t)
{
	return plan->end_exclusive ? et < t : et <= t;
}

/*
 * LoadHead loads the key's events that the head of every window has
 * reached at t.  A strict pass queues them by created time.
 */
static void
LoadHead(WinState *s, TimestampTz t)
{
	while (PeekEvent(s) &&
		   ComparePeeked(s, s->cur_keys) == 0 &&
		   EntersBy(s->plan, PeekedTime(s), t))
	{
		WinEvent   *ev = LoadEvent(s);

		if (s->strict && !ev->created_null)
			HeapPush(s, ev);
	}
}

/*
 * WindowStart is t - w, saturated: an infinite t keeps its value, as
 * PostgreSQL's timestamptz - interval does.
 */
static inline TimestampTz
WindowStart(TimestampTz t, int64 w)
{
	TimestampTz r;

	if (TIMESTAMP_NOT_FINITE(t))
		return t;
	if (pg_sub_s64_overflow(t, w, &r))
		return DT_NOBEGIN;
	return r;
}

/*
 * AdvanceTails moves each windowed feature's tail past the events that
 * have left its window at t: et <= t - w (et < t - w when end-exclusive).
 */
static void
AdvanceTails(WinState *s, TimestampTz t)
{
	WinPlan    *plan = s->plan;

	for (int i = 0; i < plan->nfeat; i++)
	{
		WinFeat    *f = &plan->feats[i];
		WinAcc	   *a = &s->accs[i];
		TimestampTz lo;

		if (f->window_usecs == 0 || f->agg == FS_AGG_EXPRESSION)
			continue;
		lo = WindowStart(t, f->window_usecs);
		while (a->tail < s->ring.head)
		{
			WinEvent   *ev = WinRingGet(&s->ring, a->tail);

			if (plan->end_exclusive ? ev->et >= lo : ev->et > lo)
				break;
			if (ev->counted)
				WinAccRemove(plan, f, a, ev, s->key_cxt);
			a->tail++;
		}
	}
}

/*
 * CountEvent adds an event that has become available to every feature
 * whose window it is inside.
 */
static void
CountEvent(WinState *s, WinEvent *ev)
{
	WinPlan    *plan = s->plan;

	ev->counted = true;
	if (ev->pos > s->last_pos)
		s->last_pos = ev->pos;
	for (int i = 0; i < plan->nfeat; i++)
	{
		WinFeat    *f = &plan->feats[i];
		WinAcc	   *a = &s->accs[i];

		if (f->agg == FS_AGG_EXPRESSION)
			continue;
		if (f->window_usecs > 0 && ev->pos < a->tail)
			continue;
		WinAccAdd(plan, f, a, &s->ring, ev, s->key_cxt);
	}
	if (!ev->in_buffer)
		FreeEvent(ev);
}

/*
 * CountAvailable counts the loaded events that are available at t: all of
 * them, or in strict mode those created by t.
 */
static void
CountAvailable(WinState *s, TimestampTz t)
{
	if (!s->strict)
	{
		for (int64 p = s->count_from; p < s->ring.head; p++)
			CountEvent(s, WinRingGet(&s->ring, p));
		s->count_from = s->ring.head;
		return;
	}
	while (s->nheap > 0 && s->heap[0]->created <= t)
		CountEvent(s, HeapPop(s));
}

/*
 * Evict drops the buffer's events that every windowed feature's tail has
 * passed (all of them when no feature has a window); a strict pass's
 * pending events stay alive in the heap.
 */
static void
Evict(WinState *s)
{
	WinPlan    *plan = s->plan;
	int64		keep = s->ring.head;

	for (int i = 0; i < plan->nfeat; i++)
		if (plan->feats[i].window_usecs > 0 && s->accs[i].tail < keep)
			keep = s->accs[i].tail;
	while (s->ring.base < keep)
	{
		WinEvent   *ev = WinRingGet(&s->ring, s->ring.base);

		ev->in_buffer = false;
		if (!ev->pending)
			FreeEvent(ev);
		s->ring.base++;
	}
	if (s->count_from < s->ring.base)
		s->count_from = s->ring.base;
}

/*
 * ComputeFeatures fills every feature's value in position order: each
 * aggregate's result, DEFAULT for an empty window, the cast to the
 * feature's type; expressions over the features before them.  none: the
 * point matches no event (a NULL key).
 */
static void
ComputeFeatures(WinState *s, bool none, Datum *values, bool *nulls)
{
	WinPlan    *plan = s->plan;
	int			n = plan->nfeat;

	for (int i = 0; i < n; i++)
	{
		WinFeat    *f = &plan->feats[i];
		Datum		v = (Datum) 0;
		bool		isnull = true;

		if (f->agg == FS_AGG_EXPRESSION)
			v = ExecEvalExpr(f->expr, s->econtext, &isnull);
		else
		{
			WinAcc		zero;
			WinAcc	   *a = &s->accs[i];
			bool		rawnull;
			bool		empty;
			Datum		raw;

			if (none)
			{
				memset(&zero, 0, sizeof(zero));
				a = &zero;
			}
			raw = WinAccResult(plan, f, a, &s->ring, none ? -1 : s->last_pos,
							   &rawnull, &empty, s->key_cxt);
			if (empty && f->has_default)
			{
				v = f->default_value;
				isnull = false;
			}
			else if (!rawnull && f->cast)
			{
				s->params->params[n + i].value = raw;
				s->params->params[n + i].isnull = false;
				v = ExecEvalExpr(f->cast, s->econtext, &isnull);
			}
			else if (!rawnull)
			{
				v = raw;
				isnull = false;
			}
		}
		if (isnull && f->agg == FS_AGG_EXPRESSION && f->has_default)
		{
			v = f->default_value;
			isnull = false;
		}
		values[i] = v;
		nulls[i] = isnull;
		s->params->params[i].value = v;
		s->params->params[i].isnull = isnull;
	}
}

/* LaterOf adds d to t, saturating at infinity */
static inline TimestampTz
TimeAfter(TimestampTz t, int64 d)
{
	TimestampTz r;

	if (TIMESTAMP_NOT_FINITE(t) || pg_add_s64_overflow(t, d, &r))
		return DT_NOEND;
	return r;
}

/*
 * NextChange is the first instant after t at which the point's result may
 * change with no new event: the oldest counted event of a window leaving
 * it (at et + w, or et + w + 1 us when end-exclusive), a strict pass's
 * queued event becoming available (created), or the key's next event
 * entering (et, or et + 1 us when end-exclusive).  Never later than the
 * real change; DT_NOEND when nothing can change.
 */
static TimestampTz
NextChange(WinState *s)
{
	WinPlan    *plan = s->plan;
	TimestampTz nc = DT_NOEND;
	int64		extra = plan->end_exclusive ? 1 : 0;

	for (int i = 0; i < plan->nfeat; i++)
	{
		WinFeat    *f = &plan->feats[i];
		WinAcc	   *a = &s->accs[i];

		if (f->window_usecs == 0 || f->agg == FS_AGG_EXPRESSION)
			continue;
		for (int64 p = a->tail; p < s->ring.head; p++)
		{
			WinEvent   *ev = WinRingGet(&s->ring, p);

			if (ev->counted)
			{
				nc = Min(nc, TimeAfter(ev->et, f->window_usecs + extra));
				break;
			}
		}
	}
	if (s->strict && s->nheap > 0)
		nc = Min(nc, s->heap[0]->created);
	if (PeekEvent(s) && ComparePeeked(s, s->cur_keys) == 0)
		nc = Min(nc, TimeAfter(PeekedTime(s), extra));
	return nc;
}

/*
 * WinEvaluate computes every feature at the point: values/nulls in
 * position order (valid until the next WinEvaluate or WinEnd), and
 * *next_change (NextChange).  Points come in WinPointSortKeys order, then
 * t ascending; a point out of that order is an error.
 */
void
WinEvaluate(WinState *s, const WinPoint *point, Datum *values, bool *nulls,
			TimestampTz *next_change)
{
	WinPlan    *plan = s->plan;
	MemoryContext old;
	bool		null_key = false;

	ResetExprContext(s->econtext);
	old = MemoryContextSwitchTo(s->econtext->ecxt_per_tuple_memory);
	for (int k = 0; k < plan->nkeys; k++)
		null_key |= point->key_nulls[k];
	if (null_key)
	{
		ComputeFeatures(s, true, values, nulls);
		if (next_change)
			*next_change = DT_NOEND;
		MemoryContextSwitchTo(old);
		return;
	}
	if (!s->have_key || CompareKeyDatums(s, point->keys, s->cur_keys) != 0)
		StartKey(s, point);
	else if (point->t < s->last_t)
		elog(ERROR, "window pass of feature group \"%s\": the points of a key are not in time order",
			 plan->group_name);
	s->last_t = point->t;
	LoadHead(s, point->t);
	AdvanceTails(s, point->t);
	CountAvailable(s, point->t);
	Evict(s);
	ComputeFeatures(s, false, values, nulls);
	/* a store dropped the key's events after its last point: t + 1 us is safe */
	if (next_change)
		*next_change = s->store ? TimeAfter(point->t, 1) : NextChange(s);
	MemoryContextSwitchTo(old);
}

/* WinEnd frees the pass; the caller closes the Portal */
void
WinEnd(WinState *s)
{
	if (s == NULL)
		return;
	if (s->batch)
		SPI_freetuptable(s->batch);
	s->batch = NULL;
	FreeExprContext(s->econtext, true);
	MemoryContextDelete(s->cxt);
}
