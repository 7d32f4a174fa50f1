/*
 * window_int.h
 *		Shared by the window engine's own files only (window_plan.c,
 *		window_pass.c, window_timeline.c): the compiled plan's layout.
 *
 * A source query (WinSourceSql) returns, per event, the key columns, the
 * event time, the created time (NULL without CREATED) and then each
 * distinct aggregated column once.  WIN_COL_* give those positions.
 */
#ifndef FEATSTORE_WINDOW_INT_H
#define FEATSTORE_WINDOW_INT_H

#include "window/window.h"

#include "executor/execExpr.h"
#include "fmgr.h"

/* How an aggregate's argument is accumulated */
typedef enum WinArgClass
{
	WIN_ARG_NONE,				/* count(*), expressions */
	WIN_ARG_INT,				/* int2, int4, int8: int128 sums */
	WIN_ARG_NUMERIC,			/* numeric: exact numeric sums */
	WIN_ARG_FLOAT,				/* float4, float8: compensated double sums */
	WIN_ARG_OTHER				/* min, max, last, count: any type */
} WinArgClass;

/* One feature, compiled */
typedef struct WinFeat
{
	const char *name;
	FsAggKind	agg;
	int			col;			/* event column of the argument; -1: none */
	Oid			argtype;
	Oid			argbase;		/* its base type, for a domain */
	int16		arglen;
	bool		argbyval;
	WinArgClass argclass;
	bool		wide_int;		/* int8 argument: var/stddev sums in numeric */
	int64		window_usecs;	/* 0: unbounded */
	Oid			result_type;	/* what PostgreSQL's aggregate returns */
	Oid			typid;			/* the feature's type */
	int32		typmod;
	int16		typlen;
	bool		typbyval;
	ExprState  *cast;			/* raw result to feature type; NULL: none */
	ExprState  *expr;			/* FS_AGG_EXPRESSION */
	bool		has_default;
	Datum		default_value;	/* in the feature's type */
	Oid			collation;		/* the argument's, for min/max/distinct */
	FmgrInfo	cmp;			/* min, max: btree comparison */
	FmgrInfo	hash;			/* count(DISTINCT) */
	FmgrInfo	eq;
} WinFeat;

struct WinPlan
{
	MemoryContext cxt;
	char	   *group_name;
	char	   *schema_name;	/* the source */
	char	   *relation_name;
	Oid			relid;
	char		relkind;
	char	   *timestamp_column;
	char	   *created_column; /* NULL: no CREATED */
	char	   *where_text;
	bool		end_exclusive;
	int			nkeys;
	char	  **key_names;
	Oid		   *key_types;
	Oid		   *key_collations; /* "C" for collatable keys */
	FmgrInfo   *key_cmp;
	int			ncols;			/* distinct aggregated columns */
	char	  **col_names;
	Oid		   *col_types;
	int			nfeat;
	WinFeat    *feats;
	bool		has_bounded;	/* some feature has a window */
	bool		has_unbounded;	/* some aggregate has none */
	bool		has_unbounded_last;
};

/* Positions in a source query's row */
#define WIN_COL_TS(plan)		((plan)->nkeys)
#define WIN_COL_CREATED(plan)	((plan)->nkeys + 1)
#define WIN_COL_VALUE(plan, j)	((plan)->nkeys + 2 + (j))
#define WIN_NATTS(plan)			((plan)->nkeys + 2 + (plan)->ncols)

/*
 * One event of the current key, copied out of the source query's batch.
 * values/nulls are the whole row (WIN_NATTS); by-reference values point
 * into tuple.  pos numbers the key's events in the query's order.
 */
typedef struct WinEvent
{
	HeapTuple	tuple;
	Datum	   *values;
	bool	   *nulls;
	TimestampTz et;
	TimestampTz created;
	bool		created_null;
	bool		counted;		/* added to the aggregates (strict: once created <= t) */
	bool		in_buffer;		/* still inside the longest window's buffer */
	bool		pending;		/* strict: waiting in the heap by created */
	int64		pos;
} WinEvent;

struct windist_hash;

/* The state of one feature's aggregate over the current key's window */
typedef struct WinAcc
{
	int64		tail;			/* first position inside the window */
	int64		nrows;			/* counted events inside the window */
	int64		nvals;			/* of which the argument is not NULL */
	/* integers: exact sums */
	int128		isum;
	int128		isum2;
	/* floats: finite values only */
	int64		nfin;
	int64		nnan;
	int64		npinf;
	int64		nninf;
	double		fsum;			/* Neumaier: fsum + fcomp */
	double		fcomp;
	double		shift;			/* Welford runs on x - shift, near 0 */
	double		mean;			/* Welford, of x - shift */
	double		m2;
	double		peak_m2;		/* largest m2 since the last recompute */
	int64		removed;		/* removals since the last recompute */
	/* numeric: finite values only, and how many have each display scale */
	Datum		nsum;
	Datum		nsum2;
	int64	   *scales;
	int			nscales;
	/* min, max: a monotonic deque of positions */
	int64	   *dq;
	int			dq_cap;
	int			dq_first;
	int			dq_len;
	int64		dq_lastpos;
	bool		dq_stale;		/* strict: rebuild from the buffer */
	/* unbounded min, max, last: the value itself */
	bool		has_best;
	bool		best_null;
	Datum		best;
	int64		best_pos;
	/* count(DISTINCT) */
	struct windist_hash *distinct;
	/* the events' values outlive the key (a store's): kept without a copy */
	bool		borrow;
} WinAcc;

/* A pass's state that the aggregates read */
typedef struct WinRing
{
	WinEvent  **ring;
	int64		cap;			/* a power of 2 */
	int64		base;			/* oldest position held */
	int64		head;			/* next position */
} WinRing;

#define WinRingGet(r, pos)	((r)->ring[(pos) & ((r)->cap - 1)])

/* window_agg.c */
extern void WinAccReset(const WinFeat *f, WinAcc *a, MemoryContext key_cxt);
extern void WinAccAdd(const WinPlan *plan, const WinFeat *f, WinAcc *a,
					  const WinRing *ring, WinEvent *ev, MemoryContext key_cxt);
extern void WinAccRemove(const WinPlan *plan, const WinFeat *f, WinAcc *a,
						 WinEvent *ev, MemoryContext key_cxt);
extern Datum WinAccResult(const WinPlan *plan, const WinFeat *f, WinAcc *a,
						  const WinRing *ring, int64 last_pos,
						  bool *isnull, bool *empty, MemoryContext key_cxt);

/* window_pass.c */
extern void WinCheckRowType(const WinPlan *plan, TupleDesc desc);

/* window_store.c: a store pass reads the current key's events in order */
extern WinPlan *WinStorePlan(const WinStore *store);
extern void WinStoreStartKey(WinStore *store, const Datum *keys);
extern bool WinStorePeek(WinStore *store, Datum **values, bool **nulls);
extern void WinStoreAdvance(WinStore *store);

/* window_timeline.c */
extern void WinTimelineRun(FunctionCallInfo fcinfo, const FsGroup *group);

#endif							/* FEATSTORE_WINDOW_INT_H */
