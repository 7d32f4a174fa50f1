/*
 * window_store.c
 *		The window engine's in-memory path: the source read once in physical
 *		order, each event filed under its entity key, so that no index scan
 *		in key order (one random heap fetch per event) is needed.
 *
 * The caller first adds its points (WinStoreAddPoint): the store keeps one
 * entry per distinct key with the earliest and latest t.  WinStoreLoad then
 * runs the unsorted source query (WinSourceSqlUnsorted) through SPI into a
 * DestReceiver that looks each event's key up and keeps the event only if
 * some point of that key can count it: event time within [earliest t -
 * longest window, latest t] (no lower bound with an unbounded aggregate).
 * The window bounds hold whatever strict, as_of or END EXCLUSIVE say, since
 * those only narrow which of these events a point counts.  Kept events are
 * fixed-size records (the source query's row as Datums, by-reference values
 * copied into blocks of their own) numbered by key; after the load one
 * counting sort by key lays out pointers to them grouped by key, in reading
 * order (no pointer chasing per event).  A pass (WinBeginStore) asks for a
 * key's events when it reaches the key: they are sorted then by (event
 * time, created, reading order), the source query's order.
 *
 * Memory: the entries, the records and their copied values live in the
 * store's context, checked against max_bytes as they grow; past it the
 * load stops and the caller falls back to the sorted query.  The hash of a
 * key is its type's hash function under the key's collation ("C" for text,
 * which is deterministic, so equal by the btree comparison means equal
 * hashes); one int2/int4/int8 key is hashed from its Datum directly.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "tcop/dest.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "window/window_int.h"

/*
 * One kept event: the source query's row, then its nulls.  A NULL created
 * is stored as DT_NOEND, so that it sorts last, as the query's ASC does.
 */
typedef struct StoreEvent
{
	uint32		idx;			/* the key's number (StoreSlot.idx) */
	uint64		seq;			/* reading order, the last tie-break */
	Datum		values[FLEXIBLE_ARRAY_MEMBER];	/* WIN_NATTS, then the nulls */
} StoreEvent;

#define EV_TIME(plan, ev)	DatumGetTimestampTz((ev)->values[WIN_COL_TS(plan)])
#define EV_CREATED(plan, ev)	DatumGetTimestampTz((ev)->values[WIN_COL_CREATED(plan)])

/* What the store holds per distinct key of the points */
typedef struct StoreSlot
{
	const Datum *keys;			/* a copy in the store */
	TimestampTz min_t;			/* the key's points' earliest and latest t */
	TimestampTz max_t;
	uint32		idx;			/* numbers the keys from 0, for the counts */
} StoreSlot;

/* A key in the generic table: hashed with its types' functions */
typedef struct StoreKey
{
	const Datum *keys;			/* the hash key: slot.keys */
	uint32		hash;
	char		status;
	StoreSlot	slot;
} StoreKey;

/* A key in the table of one integer key: the value itself, no indirection */
typedef struct StoreIntKey
{
	int64		key;
	char		status;
	StoreSlot	slot;
} StoreIntKey;

struct storekey_hash;

static uint32 StoreHash(struct storekey_hash *tb, const Datum *keys);
static bool StoreEqual(struct storekey_hash *tb, const Datum *a, const Datum *b);

#define SH_PREFIX storekey
#define SH_ELEMENT_TYPE StoreKey
#define SH_KEY_TYPE const Datum *
#define SH_KEY keys
#define SH_HASH_KEY(tb, key) StoreHash(tb, key)
#define SH_EQUAL(tb, a, b) StoreEqual(tb, a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

#define SH_PREFIX storeint
#define SH_ELEMENT_TYPE StoreIntKey
#define SH_KEY_TYPE int64
#define SH_KEY key
#define SH_HASH_KEY(tb, key) murmurhash32((uint32) (key) ^ (uint32) ((uint64) (key) >> 32))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* Records are carved from blocks of this size */
#define STORE_BLOCK (64 * 1024)
/* Memory is checked at each block and after this many copied values */
#define STORE_CHECK_EVERY 1024

struct WinStore
{
	WinPlan    *plan;
	MemoryContext cxt;			/* everything below */
	Size		max_bytes;
	bool		full;			/* outgrew max_bytes: the caller falls back */
	bool		int_key;		/* one int2/int4/int8 key: hash the Datum */
	FmgrInfo   *key_hash;		/* otherwise the types' hash functions */
	int16	   *key_len;
	bool	   *key_byval;
	bool		unbounded;		/* some aggregate has no window */
	int64		longest;		/* the longest window, us */
	struct storekey_hash *hash; /* one of the two */
	struct storeint_hash *ihash;
	Size		rec_size;
	char	   *block;			/* the current value block's free space */
	Size		block_left;
	char	  **rblocks;		/* the record blocks, full but the last */
	int			nrblocks;
	int			rblocks_cap;
	int64		rblock_recs;	/* records per record block */
	int64		rblock_used;	/* records in the last one */
	uint32		nslots;			/* distinct keys */
	uint32		counts_cap;
	uint64	   *counts;			/* per key: its events, then (after the load)
								 * where its events start in sorted */
	uint64		ncopies;		/* keys added since a check */
	uint64		nread;
	uint64		nkept;
	/* after the load: every kept event, grouped by key in reading order */
	StoreEvent **sorted;
	int64		cursor;			/* the pass's current key: sorted[cursor .. end) */
	int64		end;
};

/* The receiver that files the source query's rows */
typedef struct StoreReceiver
{
	DestReceiver pub;
	WinStore   *store;
	Datum	   *probe;			/* a row's keys, for the lookup */
} StoreReceiver;

/* StoreHash hashes a key's datums */
static uint32
StoreHash(struct storekey_hash *tb, const Datum *keys)
{
	WinStore   *st = (WinStore *) tb->private_data;
	uint32		h = 0;

	for (int k = 0; k < st->plan->nkeys; k++)
	{
		uint32		kh = DatumGetUInt32(FunctionCall1Coll(&st->key_hash[k],
														  st->plan->key_collations[k],
														  keys[k]));

		h = hash_combine(h, kh);
	}
	return h;
}

/* StoreEqual is true when two keys are equal by the engine's comparison */
static bool
StoreEqual(struct storekey_hash *tb, const Datum *a, const Datum *b)
{
	WinStore   *st = (WinStore *) tb->private_data;

	for (int k = 0; k < st->plan->nkeys; k++)
		if (DatumGetInt32(FunctionCall2Coll(&st->plan->key_cmp[k],
											st->plan->key_collations[k],
											a[k], b[k])) != 0)
			return false;
	return true;
}

/*
 * WinStoreBegin makes an empty store for the plan's events within
 * max_bytes, or returns NULL when a key's type has no hash function (the
 * caller then reads the sorted query).
 */
WinStore *
WinStoreBegin(WinPlan *plan, Size max_bytes, MemoryContext cxt)
{
	MemoryContext scxt = AllocSetContextCreate(cxt, "featstore window store",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(scxt);
	WinStore   *st = palloc0(sizeof(WinStore));
	int			nkeys = plan->nkeys;
	bool		has_agg = false;

	st->plan = plan;
	st->cxt = scxt;
	st->max_bytes = max_bytes;
	st->key_hash = palloc0(sizeof(FmgrInfo) * Max(nkeys, 1));
	st->key_len = palloc0(sizeof(int16) * Max(nkeys, 1));
	st->key_byval = palloc0(sizeof(bool) * Max(nkeys, 1));
	st->int_key = nkeys == 1 && (plan->key_types[0] == INT8OID ||
								 plan->key_types[0] == INT4OID ||
								 plan->key_types[0] == INT2OID);
	for (int k = 0; k < nkeys; k++)
	{
		TypeCacheEntry *tc = lookup_type_cache(plan->key_types[k],
											   TYPECACHE_HASH_PROC_FINFO);

		get_typlenbyval(plan->key_types[k], &st->key_len[k], &st->key_byval[k]);
		if (!st->int_key && !OidIsValid(tc->hash_proc_finfo.fn_oid))
		{
			MemoryContextSwitchTo(old);
			MemoryContextDelete(scxt);
			return NULL;
		}
		if (!st->int_key)
			fmgr_info_copy(&st->key_hash[k], &tc->hash_proc_finfo, scxt);
	}
	for (int i = 0; i < plan->nfeat; i++)
	{
		if (plan->feats[i].agg == FS_AGG_EXPRESSION)
			continue;
		has_agg = true;
		if (plan->feats[i].window_usecs <= 0)
			st->unbounded = true;
		st->longest = Max(st->longest, plan->feats[i].window_usecs);
	}
	st->unbounded = st->unbounded || !has_agg;
	st->rec_size = MAXALIGN(offsetof(StoreEvent, values) +
							WIN_NATTS(plan) * (sizeof(Datum) + sizeof(bool)));
	st->rblock_recs = Max(1, STORE_BLOCK / st->rec_size);
	if (st->int_key)
		st->ihash = storeint_create(scxt, 1024, st);
	else
		st->hash = storekey_create(scxt, 1024, st);
	MemoryContextSwitchTo(old);
	return st;
}

/* StoreCopy copies a value into the store (a by-value one is itself) */
static inline Datum
StoreCopy(WinStore *st, Datum d, bool byval, int16 len)
{
	MemoryContext old;
	Datum		r;

	if (byval)
		return d;
	old = MemoryContextSwitchTo(st->cxt);
	if (len == -1)
		d = PointerGetDatum(PG_DETOAST_DATUM_PACKED(d));
	r = datumCopy(d, false, len);
	MemoryContextSwitchTo(old);
	return r;
}

/* StoreCopyKeys copies a point's keys into the store */
static const Datum *
StoreCopyKeys(WinStore *st, const Datum *keys)
{
	Datum	   *copy = MemoryContextAlloc(st->cxt, sizeof(Datum) * Max(st->plan->nkeys, 1));

	for (int k = 0; k < st->plan->nkeys; k++)
		copy[k] = StoreCopy(st, keys[k], st->key_byval[k], st->key_len[k]);
	return copy;
}

/* StoreLookup finds a key's slot; NULL when no point has the key */
static inline StoreSlot *
StoreLookup(WinStore *st, const Datum *keys)
{
	if (st->int_key)
	{
		StoreIntKey *k = storeint_lookup(st->ihash, DatumGetInt64(keys[0]));

		return k ? &k->slot : NULL;
	}
	else
	{
		StoreKey   *k = storekey_lookup(st->hash, keys);

		return k ? &k->slot : NULL;
	}
}

/* StoreCheckMemory marks the store full once it outgrew its bound */
static bool
StoreCheckMemory(WinStore *st)
{
	st->ncopies = 0;
	if (MemoryContextMemAllocated(st->cxt, true) > st->max_bytes)
		st->full = true;
	return !st->full;
}

/*
 * WinStoreAddPoint adds a point's key and time (a point with a NULL key or
 * time counts no event: the caller leaves it out).  False once the store
 * outgrew its bound.
 */
bool
WinStoreAddPoint(WinStore *st, const Datum *keys, TimestampTz t)
{
	StoreSlot  *e;
	bool		found;

	if (st->full)
		return false;
	if (st->sorted != NULL)
		elog(ERROR, "window store of feature group \"%s\": a point added after the load",
			 st->plan->group_name);
	if (st->int_key)
		e = &storeint_insert(st->ihash, DatumGetInt64(keys[0]), &found)->slot;
	else
	{
		StoreKey   *k = storekey_insert(st->hash, keys, &found);

		e = &k->slot;
		if (!found)
			k->keys = e->keys = StoreCopyKeys(st, keys);
	}
	if (!found)
	{
		if (st->int_key)
			e->keys = NULL;		/* by value: events take the probe's */
		e->min_t = e->max_t = t;
		if (st->nslots == PG_UINT32_MAX - 1)
		{
			st->full = true;
			return false;
		}
		if (st->nslots >= st->counts_cap)
		{
			st->counts_cap = Max(1024, st->counts_cap * 2);
			st->counts = st->counts ?
				repalloc_huge(st->counts, sizeof(uint64) * (st->counts_cap + 1)) :
				MemoryContextAllocHuge(st->cxt, sizeof(uint64) * (st->counts_cap + 1));
		}
		e->idx = st->nslots;
		st->counts[st->nslots++] = 0;
		if (++st->ncopies >= STORE_CHECK_EVERY)
			return StoreCheckMemory(st);
		return true;
	}
	e->min_t = Min(e->min_t, t);
	e->max_t = Max(e->max_t, t);
	return true;
}

/*
 * StoreCarve carves size bytes (MAXALIGNed) from the current block, or
 * allocates a large one alone; NULL once the store outgrew its bound.
 */
static void *
StoreCarve(WinStore *st, Size size)
{
	void	   *p;

	size = MAXALIGN(size);
	if (size > STORE_BLOCK / 4)
	{
		p = MemoryContextAllocHuge(st->cxt, size);
		return StoreCheckMemory(st) ? p : NULL;
	}
	if (st->block_left < size)
	{
		st->block = MemoryContextAlloc(st->cxt, STORE_BLOCK);
		st->block_left = STORE_BLOCK;
		if (!StoreCheckMemory(st))
			return NULL;
	}
	p = st->block;
	st->block += size;
	st->block_left -= size;
	return p;
}

/*
 * StoreRecord allocates one event record: records sit in blocks of their
 * own, rblock_recs each, so that StoreGroup can walk them in reading order.
 * NULL once the store outgrew its bound.
 */
static StoreEvent *
StoreRecord(WinStore *st)
{
	if (st->nrblocks == 0 || st->rblock_used == st->rblock_recs)
	{
		if (st->nrblocks == st->rblocks_cap)
		{
			st->rblocks_cap = Max(64, st->rblocks_cap * 2);
			st->rblocks = st->rblocks ?
				repalloc_huge(st->rblocks, sizeof(char *) * st->rblocks_cap) :
				MemoryContextAllocHuge(st->cxt, sizeof(char *) * st->rblocks_cap);
		}
		st->rblocks[st->nrblocks++] = MemoryContextAllocHuge(st->cxt,
															 st->rec_size * st->rblock_recs);
		st->rblock_used = 0;
		if (!StoreCheckMemory(st))
			return NULL;
	}
	return (StoreEvent *) (st->rblocks[st->nrblocks - 1] + st->rec_size * st->rblock_used++);
}

/*
 * StoreGroup lays the kept events out by key, each key's in reading order
 * (a counting sort by key number over the records, read in order): counts
 * becomes where each key's events start in sorted.  False when that array
 * would outgrow the store's bound.
 */
static bool
StoreGroup(WinStore *st)
{
	uint64		start = 0;
	int64		left = st->nkept;

	st->sorted = MemoryContextAllocHuge(st->cxt, sizeof(StoreEvent *) * Max(st->nkept, 1));
	if (!StoreCheckMemory(st))
		return false;
	for (uint32 i = 0; i < st->nslots; i++)
	{
		uint64		n = st->counts[i];

		st->counts[i] = start;
		start += n;
	}
	for (int b = 0; b < st->nrblocks && left > 0; b++)
	{
		int64		n = Min(left, st->rblock_recs);

		for (int64 j = 0; j < n; j++)
		{
			StoreEvent *ev = (StoreEvent *) (st->rblocks[b] + st->rec_size * j);

			st->sorted[st->counts[ev->idx]++] = ev;
		}
		left -= n;
	}
	/* counts[i] now ends key i: shift it back to its start */
	for (uint32 i = st->nslots; i > 0; i--)
		st->counts[i] = st->counts[i - 1];
	if (st->counts)
		st->counts[0] = 0;
	return true;
}

/*
 * StoreCopyValue copies an event's by-reference value into the store's
 * blocks (detoasted, so the store holds it whole); false when full.
 */
static bool
StoreCopyValue(WinStore *st, Datum *d, int16 len)
{
	Datum		v = *d;
	Size		size;
	void	   *p;

	if (len == -1)
		v = PointerGetDatum(PG_DETOAST_DATUM_PACKED(v));
	size = datumGetSize(v, false, len);
	if ((p = StoreCarve(st, size)) == NULL)
		return false;
	memcpy(p, DatumGetPointer(v), size);
	if (v != *d)
		pfree(DatumGetPointer(v));
	*d = PointerGetDatum(p);
	return true;
}

/*
 * StoreFile files one row of the source query under its key, if a point
 * of that key can count it.  False once the store outgrew its bound.
 */
static bool
StoreFile(StoreReceiver *r, TupleTableSlot *slot)
{
	WinStore   *st = r->store;
	WinPlan    *plan = st->plan;
	int			natts = WIN_NATTS(plan);
	StoreSlot  *e;
	StoreEvent *ev;
	TimestampTz et;
	bool	   *nulls;

	slot_getallattrs(slot);
	st->nread++;
	for (int k = 0; k < plan->nkeys; k++)
	{
		if (slot->tts_isnull[k])
			return true;		/* the query leaves these out; never counted */
		r->probe[k] = slot->tts_values[k];
	}
	if (slot->tts_isnull[WIN_COL_TS(plan)])
		return true;
	e = StoreLookup(st, r->probe);
	if (e == NULL)
		return true;
	et = DatumGetTimestampTz(slot->tts_values[WIN_COL_TS(plan)]);
	if (et > e->max_t)
		return true;
	if (!st->unbounded && !TIMESTAMP_NOT_FINITE(e->min_t))
	{
		TimestampTz lo;

		/* before min_t - longest, it is outside every window of every point */
		if (!pg_sub_s64_overflow(e->min_t, st->longest, &lo) && et < lo)
			return true;
	}
	if ((ev = StoreRecord(st)) == NULL)
		return false;
	nulls = (bool *) (ev->values + natts);
	memcpy(nulls, slot->tts_isnull, sizeof(bool) * natts);
	for (int k = 0; k < plan->nkeys; k++)
		ev->values[k] = st->key_byval[k] ? r->probe[k] : e->keys[k];
	for (int i = plan->nkeys; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(slot->tts_tupleDescriptor, i);

		ev->values[i] = nulls[i] ? (Datum) 0 : slot->tts_values[i];
		if (!att->attbyval && !nulls[i] && !StoreCopyValue(st, &ev->values[i], att->attlen))
			return false;
	}
	if (nulls[WIN_COL_CREATED(plan)])
		ev->values[WIN_COL_CREATED(plan)] = TimestampTzGetDatum(DT_NOEND);
	ev->seq = st->nkept++;
	ev->idx = e->idx;
	st->counts[e->idx]++;
	return true;
}

/* StoreReceive is the receiver's receiveSlot: false stops the query */
static bool
StoreReceive(TupleTableSlot *slot, DestReceiver *self)
{
	StoreReceiver *r = (StoreReceiver *) self;

	CHECK_FOR_INTERRUPTS();
	return StoreFile(r, slot);
}

/* StoreStartup checks the query's row type against the plan's */
static void
StoreStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	WinCheckRowType(((StoreReceiver *) self)->store->plan, typeinfo);
}

/* StoreShutdown has nothing to do: the rows are filed as they come */
static void
StoreShutdown(DestReceiver *self)
{
}

/* StoreDestroy has nothing to free: the receiver lives in the store */
static void
StoreDestroy(DestReceiver *self)
{
}

/*
 * WinStoreLoad reads the source with sql (WinSourceSqlUnsorted; as_of is
 * its $1 when has_as_of) and files its events.  The caller is connected
 * to SPI, with the snapshot, the role and search_path the query must run
 * under, as for WinSourceSql.  False when the store outgrew its bound:
 * the caller ends it and reads the sorted query instead.
 */
bool
WinStoreLoad(WinStore *st, const char *sql, bool has_as_of, TimestampTz as_of)
{
	StoreReceiver *r;
	SPIPlanPtr	splan;
	SPIExecuteOptions options;
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	int			ret;

	if (st->full)
		return false;
	if (st->sorted != NULL)
		elog(ERROR, "window store of feature group \"%s\" is loaded already",
			 st->plan->group_name);
	r = MemoryContextAllocZero(st->cxt, sizeof(StoreReceiver));
	r->pub.receiveSlot = StoreReceive;
	r->pub.rStartup = StoreStartup;
	r->pub.rShutdown = StoreShutdown;
	r->pub.rDestroy = StoreDestroy;
	r->pub.mydest = DestNone;
	r->store = st;
	r->probe = MemoryContextAllocZero(st->cxt, sizeof(Datum) * Max(st->plan->nkeys, 1));

	splan = SPI_prepare(sql, has_as_of ? 1 : 0, argtypes);
	if (splan == NULL)
		elog(ERROR, "featstore: could not prepare the events of feature group \"%s\": %s",
			 st->plan->group_name, SPI_result_code_string(SPI_result));
	memset(&options, 0, sizeof(options));
	if (has_as_of)
	{
		options.params = makeParamList(1);
		options.params->numParams = 1;
		options.params->params[0].value = TimestampTzGetDatum(as_of);
		options.params->params[0].isnull = false;
		options.params->params[0].pflags = PARAM_FLAG_CONST;
		options.params->params[0].ptype = TIMESTAMPTZOID;
	}
	options.read_only = true;
	options.dest = (DestReceiver *) r;
	ret = SPI_execute_plan_extended(splan, &options);
	if (ret < 0)
		elog(ERROR, "featstore: could not read the events of feature group \"%s\": %s",
			 st->plan->group_name, SPI_result_code_string(ret));
	SPI_freeplan(splan);
	return !st->full && StoreGroup(st);
}

/* WinStoreCounts reports the events read and kept, and the points' keys */
void
WinStoreCounts(const WinStore *st, uint64 *kept, uint64 *read, uint64 *keys)
{
	*kept = st->nkept;
	*read = st->nread;
	*keys = st->int_key ? st->ihash->members : st->hash->members;
}

/* WinStoreEnd frees the store */
void
WinStoreEnd(WinStore *st)
{
	if (st != NULL)
		MemoryContextDelete(st->cxt);
}

/* WinStorePlan is the plan the store was made for */
WinPlan *
WinStorePlan(const WinStore *st)
{
	return st->plan;
}

/*
 * CompareEvents orders a key's events by event time, created, reading
 * order; arg is the plan.
 */
static int
CompareEvents(const void *a, const void *b, void *arg)
{
	const WinPlan *plan = (const WinPlan *) arg;
	const StoreEvent *x = *(const StoreEvent *const *) a;
	const StoreEvent *y = *(const StoreEvent *const *) b;
	TimestampTz xt = EV_TIME(plan, x);
	TimestampTz yt = EV_TIME(plan, y);

	if (xt != yt)
		return xt < yt ? -1 : 1;
	xt = EV_CREATED(plan, x);
	yt = EV_CREATED(plan, y);
	if (xt != yt)
		return xt < yt ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

/*
 * WinStoreStartKey makes the key's events, sorted, the ones WinStorePeek
 * returns; a key without events (or no point) has none.
 */
void
WinStoreStartKey(WinStore *st, const Datum *keys)
{
	StoreSlot  *e = StoreLookup(st, keys);
	bool		ordered = true;

	st->cursor = st->end = 0;
	if (e == NULL || st->sorted == NULL)
		return;
	st->cursor = st->counts[e->idx];
	st->end = st->counts[e->idx + 1];
	for (int64 i = st->cursor + 1; i < st->end && ordered; i++)
		ordered = CompareEvents(&st->sorted[i - 1], &st->sorted[i], st->plan) <= 0;
	if (!ordered)
		qsort_arg(st->sorted + st->cursor, st->end - st->cursor, sizeof(StoreEvent *),
				  CompareEvents, st->plan);
}

/*
 * WinStorePeek points values/nulls at the current key's next event (the
 * source query's row shape; valid until the store ends); false when the
 * key has no more.
 */
bool
WinStorePeek(WinStore *st, Datum **values, bool **nulls)
{
	StoreEvent *ev;

	if (st->cursor >= st->end)
		return false;
	ev = st->sorted[st->cursor];
	*values = ev->values;
	*nulls = (bool *) (ev->values + WIN_NATTS(st->plan));
	return true;
}

/* WinStoreAdvance moves past the event WinStorePeek returned */
void
WinStoreAdvance(WinStore *st)
{
	if (st->cursor < st->end)
		st->cursor++;
}
