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
	uint32		idx;			/* numbers the keys from 0, in the pass's order */
	uint32		nevents;		/* kept events: counted here, where the lookup is */
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

/*
 * The context a key table allocates in: simplehash's raw allocator takes
 * no context, so WinStoreBegin and WinStoreAddPoint set this before they
 * create or grow a table.
 */
static MemoryContext store_table_cxt = NULL;

static void *StoreTableAlloc(Size size);
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
#define SH_RAW_ALLOCATOR StoreTableAlloc
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* The hash of one integer key, also computed ahead of a lookup */
#define StoreIntHash(key) murmurhash32((uint32) (key) ^ (uint32) ((uint64) (key) >> 32))

#define SH_PREFIX storeint
#define SH_ELEMENT_TYPE StoreIntKey
#define SH_KEY_TYPE int64
#define SH_KEY key
#define SH_HASH_KEY(tb, key) StoreIntHash(key)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_RAW_ALLOCATOR StoreTableAlloc
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* Values are carved from blocks of this size; records' blocks start so */
#define STORE_BLOCK (64 * 1024)
/* and double up to this size */
#define STORE_RECORD_BLOCK_MAX (8 * 1024 * 1024)
/* Memory is checked at each block and after this many copied values */
#define STORE_CHECK_EVERY 1024
/*
 * Rows staged between their key's hash and its lookup: the lookups of the
 * staged rows' buckets overlap, instead of one cache miss after another.
 */
#define STORE_PIPE 16
/* A staged row's by-reference values, detoasted; a larger row is filed at once */
#define STORE_SCRATCH 256
/* Events prefetched ahead of the pass (records, then their values) */
#define STORE_PREFETCH 32

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
	int64	   *rblock_recs;	/* how many records each holds */
	int			nrblocks;
	int			rblocks_cap;
	int64		rblock_used;	/* records in the last one */
	uint32		nslots;			/* distinct keys */
	uint64	   *counts;			/* after the load, per key number: where its
								 * events start in sorted (nslots + 1) */
	uint64		ncopies;		/* keys added since a check */
	uint64		nread;
	uint64		nkept;
	/* before the load: the keys in the order a pass visits them */
	int64	   *rank_ikeys;		/* int_key: the values */
	const Datum **rank_keys;	/* otherwise: each slot's keys */
	uint32		next_rank;		/* the key the pass should ask for next */
	/* after the load: every kept event, grouped by key in reading order */
	StoreEvent **sorted;
	int64		cursor;			/* the pass's current key: sorted[cursor .. end) */
	int64		end;
	int64		pf;				/* sorted[.. pf) prefetched */
	int64		pf_values;		/* and their by-reference values */
	int		   *byref_atts;		/* the row's by-reference columns */
	int			nbyref;
	WinStoreFilter filter;		/* NULL, or which source rows to consider */
	void	   *filter_arg;
	struct StoreReceiver *receiver; /* the load's, once begun */
};

/* A row of the source query waiting for its key's lookup */
typedef struct StoreStage
{
	uint32		hash;
	Datum	   *values;			/* WIN_NATTS; by-reference ones in scratch */
	bool	   *nulls;
	char	   *scratch;		/* STORE_SCRATCH bytes */
} StoreStage;

/* The receiver that files the source query's rows */
typedef struct StoreReceiver
{
	DestReceiver pub;
	WinStore   *store;
	bool	   *att_byval;		/* the query's row type */
	int16	   *att_len;
	StoreStage	stage[STORE_PIPE];	/* a ring: the oldest at stage_head */
	int			stage_head;
	int			nstaged;
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
	store_table_cxt = scxt;
	if (st->int_key)
		st->ihash = storeint_create(1024, st);
	else
		st->hash = storekey_create(1024, st);
	MemoryContextSwitchTo(old);
	return st;
}

/* StoreTableAlloc is the key tables' allocator: zeroed, in store_table_cxt */
static void *
StoreTableAlloc(Size size)
{
	Assert(store_table_cxt != NULL);
	return FeatstoreHugeAlloc(store_table_cxt, size, true);
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

/* StoreRowHash is the hash of a row's keys, as the key table computes it */
static inline uint32
StoreRowHash(WinStore *st, const Datum *keys)
{
	return st->int_key ? StoreIntHash(DatumGetInt64(keys[0])) : StoreHash(st->hash, keys);
}

/*
 * StorePrefetchBucket asks for the bucket a lookup by hash starts at.
 * Always inlined: GCC finds a function that only prefetches free of side
 * effects and drops the calls.
 */
static pg_attribute_always_inline void
StorePrefetchBucket(WinStore *st, uint32 hash)
{
	const char *base;
	uint32		mask;
	Size		size;

	if (st->int_key)
	{
		base = (const char *) st->ihash->data;
		mask = st->ihash->sizemask;
		size = sizeof(StoreIntKey);
	}
	else
	{
		base = (const char *) st->hash->data;
		mask = st->hash->sizemask;
		size = sizeof(StoreKey);
	}
	FeatstorePrefetch(base + (Size) (hash & mask) * size);
}

/*
 * StoreLookupHash finds a key's slot, given the keys' hash; NULL when no
 * point has the key
 */
static inline StoreSlot *
StoreLookupHash(WinStore *st, const Datum *keys, uint32 hash)
{
	if (st->int_key)
	{
		StoreIntKey *k = storeint_lookup_hash(st->ihash, DatumGetInt64(keys[0]), hash);

		return k ? &k->slot : NULL;
	}
	else
	{
		StoreKey   *k = storekey_lookup_hash(st->hash, keys, hash);

		return k ? &k->slot : NULL;
	}
}

/* StoreLookup finds a key's slot; NULL when no point has the key */
static inline StoreSlot *
StoreLookup(WinStore *st, const Datum *keys)
{
	return StoreLookupHash(st, keys, StoreRowHash(st, keys));
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
	store_table_cxt = st->cxt;	/* the insert may grow the table */
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
		e->idx = st->nslots++;
		e->nevents = 0;
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
	int			b = st->nrblocks - 1;

	if (b < 0 || st->rblock_used == st->rblock_recs[b])
	{
		Size		bytes = b < 0 ? STORE_BLOCK :
			Min(st->rec_size * st->rblock_recs[b] * 2, STORE_RECORD_BLOCK_MAX);

		if (st->nrblocks == st->rblocks_cap)
		{
			st->rblocks_cap = Max(64, st->rblocks_cap * 2);
			st->rblocks = st->rblocks ?
				repalloc_huge(st->rblocks, sizeof(char *) * st->rblocks_cap) :
				MemoryContextAllocHuge(st->cxt, sizeof(char *) * st->rblocks_cap);
			st->rblock_recs = st->rblock_recs ?
				repalloc_huge(st->rblock_recs, sizeof(int64) * st->rblocks_cap) :
				MemoryContextAllocHuge(st->cxt, sizeof(int64) * st->rblocks_cap);
		}
		b = st->nrblocks++;
		st->rblock_recs[b] = Max(1, bytes / st->rec_size);
		st->rblocks[b] = MemoryContextAllocHuge(st->cxt, st->rec_size * st->rblock_recs[b]);
		st->rblock_used = 0;
		if (!StoreCheckMemory(st))
			return NULL;
	}
	return (StoreEvent *) (st->rblocks[b] + st->rec_size * st->rblock_used++);
}

/* A key and its slot, for StoreRank */
typedef struct StoreRankItem
{
	int64		ikey;			/* int_key: the value */
	StoreSlot  *slot;
} StoreRankItem;

/* CompareRankInt orders one-integer keys by value */
static int
CompareRankInt(const void *a, const void *b)
{
	int64		x = ((const StoreRankItem *) a)->ikey;
	int64		y = ((const StoreRankItem *) b)->ikey;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* CompareRankKeys orders keys by the engine's comparison; arg is the store */
static int
CompareRankKeys(const void *a, const void *b, void *arg)
{
	WinPlan    *plan = ((WinStore *) arg)->plan;
	const Datum *x = ((const StoreRankItem *) a)->slot->keys;
	const Datum *y = ((const StoreRankItem *) b)->slot->keys;

	for (int k = 0; k < plan->nkeys; k++)
	{
		int32		c = DatumGetInt32(FunctionCall2Coll(&plan->key_cmp[k],
														plan->key_collations[k],
														x[k], y[k]));

		if (c != 0)
			return c;
	}
	return 0;
}

/*
 * StoreRank numbers the keys in the order a pass visits them, the spine's
 * sort order (the engine's key comparison; an int2/int4/int8 key's value),
 * before the load.  StoreGroup then lays the events out in the pass's
 * order: the pass reads them front to back, prefetching ahead, and finds
 * each key without a lookup.  False when the store outgrew its bound.
 */
static bool
StoreRank(WinStore *st)
{
	StoreRankItem *items;
	uint32		n = 0;

	items = MemoryContextAllocHuge(st->cxt, sizeof(StoreRankItem) * Max(st->nslots, 1));
	if (st->int_key)
	{
		storeint_iterator it;
		StoreIntKey *k;

		storeint_start_iterate(st->ihash, &it);
		while ((k = storeint_iterate(st->ihash, &it)) != NULL && n < st->nslots)
		{
			items[n].ikey = k->key;
			items[n++].slot = &k->slot;
		}
		qsort(items, n, sizeof(StoreRankItem), CompareRankInt);
		st->rank_ikeys = MemoryContextAllocHuge(st->cxt, sizeof(int64) * Max(n, 1));
	}
	else
	{
		storekey_iterator it;
		StoreKey   *k;

		storekey_start_iterate(st->hash, &it);
		while ((k = storekey_iterate(st->hash, &it)) != NULL && n < st->nslots)
			items[n++].slot = &k->slot;
		qsort_arg(items, n, sizeof(StoreRankItem), CompareRankKeys, st);
		st->rank_keys = MemoryContextAllocHuge(st->cxt, sizeof(Datum *) * Max(n, 1));
	}
	if (n != st->nslots)
		elog(ERROR, "window store of feature group \"%s\": %u keys of %u found",
			 st->plan->group_name, n, st->nslots);
	for (uint32 i = 0; i < n; i++)
	{
		items[i].slot->idx = i;
		if (st->int_key)
			st->rank_ikeys[i] = items[i].ikey;
		else
			st->rank_keys[i] = items[i].slot->keys;
	}
	pfree(items);
	return StoreCheckMemory(st);
}

/*
 * StoreCollectCounts makes counts, each key's count of kept events by key
 * number; false when it would outgrow the store's bound.
 */
static bool
StoreCollectCounts(WinStore *st)
{
	st->counts = MemoryContextAllocHuge(st->cxt, sizeof(uint64) * (st->nslots + 1));
	if (!StoreCheckMemory(st))
		return false;
	if (st->int_key)
	{
		storeint_iterator it;
		StoreIntKey *k;

		storeint_start_iterate(st->ihash, &it);
		while ((k = storeint_iterate(st->ihash, &it)) != NULL)
			st->counts[k->slot.idx] = k->slot.nevents;
	}
	else
	{
		storekey_iterator it;
		StoreKey   *k;

		storekey_start_iterate(st->hash, &it);
		while ((k = storekey_iterate(st->hash, &it)) != NULL)
			st->counts[k->slot.idx] = k->slot.nevents;
	}
	return true;
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

	st->sorted = FeatstoreHugeAlloc(st->cxt, sizeof(StoreEvent *) * Max(st->nkept, 1), false);
	if (!StoreCheckMemory(st) || !StoreCollectCounts(st))
		return false;
	for (uint32 i = 0; i < st->nslots; i++)
	{
		uint64		n = st->counts[i];

		st->counts[i] = start;
		start += n;
	}
	for (int b = 0; b < st->nrblocks && left > 0; b++)
	{
		int64		n = Min(left, st->rblock_recs[b]);

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
 * StoreFileRow files one row of the source query (its keys and time not
 * NULL, hash the keys' hash) under its key, if a point of that key can
 * count it.  False once the store outgrew its bound.
 */
static bool
StoreFileRow(StoreReceiver *r, const Datum *values, const bool *isnull, uint32 hash)
{
	WinStore   *st = r->store;
	WinPlan    *plan = st->plan;
	int			natts = WIN_NATTS(plan);
	StoreSlot  *e;
	StoreEvent *ev;
	TimestampTz et;
	bool	   *nulls;

	e = StoreLookupHash(st, values, hash);
	if (e == NULL)
		return true;
	et = DatumGetTimestampTz(values[WIN_COL_TS(plan)]);
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
	memcpy(nulls, isnull, sizeof(bool) * natts);
	for (int k = 0; k < plan->nkeys; k++)
		ev->values[k] = st->key_byval[k] ? values[k] : e->keys[k];
	for (int i = plan->nkeys; i < natts; i++)
	{
		ev->values[i] = nulls[i] ? (Datum) 0 : values[i];
		if (!r->att_byval[i] && !nulls[i] && !StoreCopyValue(st, &ev->values[i], r->att_len[i]))
			return false;
	}
	if (nulls[WIN_COL_CREATED(plan)])
		ev->values[WIN_COL_CREATED(plan)] = TimestampTzGetDatum(DT_NOEND);
	ev->seq = st->nkept++;
	ev->idx = e->idx;
	if (++e->nevents == PG_UINT32_MAX)
		st->full = true;		/* a count past uint32: fall back */
	return !st->full;
}

/*
 * StoreStageRow copies a row into the ring's free entry, its by-reference
 * values detoasted into the entry's scratch.  False, with nothing staged,
 * when they do not fit.
 */
static bool
StoreStageRow(StoreReceiver *r, TupleTableSlot *slot, uint32 hash)
{
	StoreStage *sg = &r->stage[(r->stage_head + r->nstaged) % STORE_PIPE];
	int			natts = WIN_NATTS(r->store->plan);
	Size		used = 0;

	for (int i = 0; i < natts; i++)
	{
		Datum		v = slot->tts_values[i];

		sg->nulls[i] = slot->tts_isnull[i];
		if (!sg->nulls[i] && !r->att_byval[i])
		{
			Datum		d = r->att_len[i] == -1 ?
				PointerGetDatum(PG_DETOAST_DATUM_PACKED(v)) : v;
			Size		size = datumGetSize(d, false, r->att_len[i]);

			if (used + MAXALIGN(size) > STORE_SCRATCH)
			{
				if (d != v)
					pfree(DatumGetPointer(d));
				return false;
			}
			memcpy(sg->scratch + used, DatumGetPointer(d), size);
			if (d != v)
				pfree(DatumGetPointer(d));
			v = PointerGetDatum(sg->scratch + used);
			used += MAXALIGN(size);
		}
		sg->values[i] = v;
	}
	sg->hash = hash;
	r->nstaged++;
	return true;
}

/* StoreFileOldest files the ring's oldest row; false once the store is full */
static bool
StoreFileOldest(StoreReceiver *r)
{
	StoreStage *sg = &r->stage[r->stage_head];

	r->stage_head = (r->stage_head + 1) % STORE_PIPE;
	r->nstaged--;
	return StoreFileRow(r, sg->values, sg->nulls, sg->hash);
}

/* StoreDrain files every staged row, in reading order */
static bool
StoreDrain(StoreReceiver *r)
{
	while (r->nstaged > 0 && !r->store->full)
		if (!StoreFileOldest(r))
			return false;
	r->nstaged = 0;
	return !r->store->full;
}

/*
 * StoreReceive is the receiver's receiveSlot: it stages the row and files
 * the one staged STORE_PIPE rows ago, whose bucket has arrived in the
 * cache meanwhile.  Rows keep their reading order.  False stops the query.
 */
static bool
StoreReceive(TupleTableSlot *slot, DestReceiver *self)
{
	StoreReceiver *r = (StoreReceiver *) self;
	WinStore   *st = r->store;
	WinPlan    *plan = st->plan;
	uint32		hash;

	CHECK_FOR_INTERRUPTS();
	slot_getallattrs(slot);
	st->nread++;
	/* the query leaves these out; never counted */
	for (int k = 0; k < plan->nkeys; k++)
		if (slot->tts_isnull[k])
			return true;
	if (slot->tts_isnull[WIN_COL_TS(plan)])
		return true;
	/* another participant's key: not even probed */
	if (st->filter != NULL && !st->filter(st->filter_arg, slot->tts_values))
		return true;
	hash = StoreRowHash(st, slot->tts_values);
	StorePrefetchBucket(st, hash);
	if (!StoreStageRow(r, slot, hash))
		return StoreDrain(r) &&
			StoreFileRow(r, slot->tts_values, slot->tts_isnull, hash);
	return r->nstaged < STORE_PIPE || StoreFileOldest(r);
}

/*
 * StoreStartup checks the query's row type against the plan's and notes
 * which of its columns are by reference.  A load of several queries (a
 * parallel join's chunks) starts the receiver once per query: the row type
 * is checked each time, the buffers made once.
 */
static void
StoreStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	StoreReceiver *r = (StoreReceiver *) self;
	WinStore   *st = r->store;
	int			natts = WIN_NATTS(st->plan);

	WinCheckRowType(st->plan, typeinfo);
	if (r->att_byval != NULL)
		return;
	r->att_byval = MemoryContextAlloc(st->cxt, sizeof(bool) * natts);
	r->att_len = MemoryContextAlloc(st->cxt, sizeof(int16) * natts);
	st->byref_atts = MemoryContextAlloc(st->cxt, sizeof(int) * natts);
	st->nbyref = 0;
	for (int i = 0; i < natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(typeinfo, i);

		r->att_byval[i] = att->attbyval;
		r->att_len[i] = att->attlen;
		if (!att->attbyval)
			st->byref_atts[st->nbyref++] = i;
	}
	for (int j = 0; j < STORE_PIPE; j++)
	{
		r->stage[j].values = MemoryContextAlloc(st->cxt, sizeof(Datum) * natts);
		r->stage[j].nulls = MemoryContextAlloc(st->cxt, sizeof(bool) * natts);
		r->stage[j].scratch = MemoryContextAlloc(st->cxt, STORE_SCRATCH);
	}
}

/* StoreShutdown files the rows still staged */
static void
StoreShutdown(DestReceiver *self)
{
	(void) StoreDrain((StoreReceiver *) self);
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
	DestReceiver *r;
	SPIPlanPtr	splan;
	SPIExecuteOptions options;
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	int			ret;

	if ((r = WinStoreLoadBegin(st)) == NULL)
		return false;
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
	options.dest = r;
	ret = SPI_execute_plan_extended(splan, &options);
	if (ret < 0)
		elog(ERROR, "featstore: could not read the events of feature group \"%s\": %s",
			 st->plan->group_name, SPI_result_code_string(ret));
	SPI_freeplan(splan);
	return WinStoreLoadEnd(st);
}

/*
 * WinStoreLoadBegin starts a load that the caller feeds itself: it returns
 * the receiver that files rows of the source query's row type (from one
 * query or several, through SPI or by hand: rStartup, receiveSlot, then
 * rShutdown), or NULL when the store is full already.  receiveSlot returns
 * false once the store is full; WinStoreLoadEnd then returns false too.
 * Called again before WinStoreLoadEnd, it returns the same receiver.
 */
DestReceiver *
WinStoreLoadBegin(WinStore *st)
{
	StoreReceiver *r;

	if (st->full)
		return NULL;
	if (st->sorted != NULL)
		elog(ERROR, "window store of feature group \"%s\" is loaded already",
			 st->plan->group_name);
	if (st->receiver != NULL)
		return (DestReceiver *) st->receiver;
	r = MemoryContextAllocZero(st->cxt, sizeof(StoreReceiver));
	r->pub.receiveSlot = StoreReceive;
	r->pub.rStartup = StoreStartup;
	r->pub.rShutdown = StoreShutdown;
	r->pub.rDestroy = StoreDestroy;
	r->pub.mydest = DestNone;
	r->store = st;
	st->receiver = r;
	if (!StoreRank(st))
		return NULL;
	return (DestReceiver *) r;
}

/*
 * WinStoreLoadEnd ends a load: it files the rows still staged and groups
 * the events by key.  False when the store outgrew its bound.
 */
bool
WinStoreLoadEnd(WinStore *st)
{
	if (st->receiver == NULL || st->full)
		return false;
	if (!StoreDrain(st->receiver))
		return false;
	return StoreGroup(st);
}

/* WinStoreSetFilter makes the load consider only the rows filter accepts */
void
WinStoreSetFilter(WinStore *st, WinStoreFilter filter, void *arg)
{
	st->filter = filter;
	st->filter_arg = arg;
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
 * StoreRankOf is the number of the key's slot, or -1 when no point has
 * the key: the one after the last key asked for when the pass goes in its
 * order, as it does; otherwise looked up.
 */
static int64
StoreRankOf(WinStore *st, const Datum *keys)
{
	uint32		r = st->next_rank;
	StoreSlot  *e;

	if (r < st->nslots)
	{
		if (st->int_key && st->rank_ikeys[r] == DatumGetInt64(keys[0]))
			return r;
		if (!st->int_key && StoreEqual(st->hash, st->rank_keys[r], keys))
			return r;
	}
	e = StoreLookup(st, keys);
	return e ? (int64) e->idx : -1;
}

/*
 * StorePrefetch asks for the records of the events the pass reaches next,
 * and, once those have had time to arrive, for their by-reference values.
 */
static inline void
StorePrefetch(WinStore *st)
{
	int64		lim = Min(st->end + STORE_PREFETCH, (int64) st->nkept);
	int64		vlim = Min(st->end + STORE_PREFETCH / 2, (int64) st->nkept);

	st->pf = Max(st->pf, st->cursor);
	for (; st->pf < lim; st->pf++)
	{
		char	   *p = (char *) st->sorted[st->pf];

		FeatstorePrefetch(p);
		FeatstorePrefetch(p + st->rec_size - 1);
	}
	st->pf_values = Max(st->pf_values, st->cursor);
	for (; st->pf_values < vlim; st->pf_values++)
	{
		StoreEvent *ev = st->sorted[st->pf_values];
		bool	   *nulls = (bool *) (ev->values + WIN_NATTS(st->plan));

		for (int j = 0; j < st->nbyref; j++)
			if (!nulls[st->byref_atts[j]])
				FeatstorePrefetch(DatumGetPointer(ev->values[st->byref_atts[j]]));
	}
}

/*
 * WinStoreStartKey makes the key's events, sorted, the ones WinStorePeek
 * returns; a key without events (or no point) has none.
 */
void
WinStoreStartKey(WinStore *st, const Datum *keys)
{
	int64		r = st->sorted ? StoreRankOf(st, keys) : -1;
	bool		ordered = true;

	st->cursor = st->end = 0;
	if (r < 0)
		return;
	st->next_rank = (uint32) r + 1;
	st->cursor = st->counts[r];
	st->end = st->counts[r + 1];
	StorePrefetch(st);
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
