/*
 * window.h
 *		Window aggregates of feature groups defined FROM a source of events:
 *		the one engine that computes them, for the point-in-time join
 *		(PitJoin's window mode), the group's timeline view and the online
 *		worker.  Same definition, same code, same numbers.
 *
 * A pass computes A(e, t) (docs/pit-semantics.md) for a sequence of points
 * (e, t) given in the engine's key order, then time order.  The events come
 * from one SQL query (WinSourceSql) that returns them in that key order,
 * then by event time and created time; the engine pulls them from its
 * Portal as the points advance, keeps the events inside the longest window
 * of the current key, and adds and removes them at each window's head and
 * tail.  Work is O(points + events x windows) after sorting.
 *
 * Contract between the parts (issue 10):
 *	- WinCompile reads the registry's FsGroup (featstore.h: FsSource,
 *	  FsWindowFeature) and builds everything a pass needs once.
 *	- WinSourceSql is the only SQL that reads a source.  Callers open it
 *	  with SPI as the role that must be allowed to read the source (the
 *	  caller of the join; the group owner, in a restricted section, for the
 *	  worker), with search_path pinned (FeatstorePinSearchPath).
 *	- The caller sorts its points with WinPointSortKeys, so both sides use
 *	  one order.
 *	- WinEvaluate fills values/nulls for every feature of the group, in
 *	  position order, and *next_change: the first instant after t at which
 *	  the result would change with no new event (an event leaving a window,
 *	  or a future-dated event entering one); DT_NOEND if never.  It may be
 *	  earlier than the real change, never later; next_change may be NULL.
 *	  The values stay valid until the next WinEvaluate or WinEnd (copy
 *	  them to keep them).  A point with a NULL key gets the empty windows'
 *	  values; a point before the previous one in the sort order is an error.
 */
#ifndef FEATSTORE_WINDOW_H
#define FEATSTORE_WINDOW_H

#include "featstore.h"

#include "tcop/dest.h"
#include "utils/portal.h"

typedef struct WinPlan WinPlan;		/* a compiled group definition */
typedef struct WinState WinState;	/* one pass over the events */
typedef struct WinStore WinStore;	/* a source's events, filed by key */

/* The point a pass evaluates: the entity's key values and the time t */
typedef struct WinPoint
{
	Datum	   *keys;			/* one per key column of the group's entity */
	bool	   *key_nulls;		/* a NULL key matches no event */
	TimestampTz t;
} WinPoint;

/* How callers must order their points: one entry per key column, then t */
typedef struct WinSortKey
{
	Oid			sortop;			/* "<" of the key's type */
	Oid			collation;		/* "C" for text keys, as WinSourceSql orders */
} WinSortKey;

/* window_plan.c */
extern WinPlan *WinCompile(const FsGroup *group, MemoryContext cxt);
extern char *WinSourceSql(const WinPlan *plan, bool has_as_of,
						  const char *extra_condition);
extern char *WinSourceSqlUnsorted(const WinPlan *plan, bool has_as_of,
								  const char *extra_condition);
extern Oid	WinSourceRelid(const WinPlan *plan, char *relkind);
extern void WinPointSortKeys(const WinPlan *plan, WinSortKey *keys);
extern int	WinFeatureCount(const WinPlan *plan);
extern Oid	WinKeyType(const WinPlan *plan, int k);

/* window_pass.c */
extern WinState *WinBegin(WinPlan *plan, Portal events, TimestampTz as_of,
						  bool has_as_of, bool strict, MemoryContext cxt);
extern void WinEvaluate(WinState *state, const WinPoint *point,
						Datum *values, bool *nulls, TimestampTz *next_change);
extern WinState *WinBeginStore(WinPlan *plan, WinStore *store, TimestampTz as_of,
							   bool has_as_of, bool strict, MemoryContext cxt);
extern void WinEnd(WinState *state);

/*
 * window_store.c: the in-memory path.  The caller adds every point's key
 * and time (WinStoreAddPoint), then WinStoreLoad reads the source once in
 * physical order (WinSourceSqlUnsorted, under SPI as WinSourceSql) and
 * keeps, per point key, the events some point of that key can count
 * (event time within [earliest t - longest window, latest t]); a pass
 * over the store (WinBeginStore) sorts each key's events when it reaches
 * the key.  Everything stays within max_bytes: WinStoreBegin returns NULL
 * when the keys' types cannot be hashed, WinStoreAddPoint and WinStoreLoad
 * return false once the store would outgrow max_bytes, and the caller
 * then ends the store and uses the sorted query (WinBegin).  A store pass
 * gives *next_change as t + 1 us (its dropped future events are unknown).
 * A caller that feeds the store itself (a parallel join's shared read,
 * which runs the query per chunk of blocks and receives other
 * participants' rows) takes WinStoreLoadBegin's receiver instead of
 * WinStoreLoad, and ends with WinStoreLoadEnd.
 */
extern WinStore *WinStoreBegin(WinPlan *plan, Size max_bytes, MemoryContext cxt);
extern bool WinStoreAddPoint(WinStore *store, const Datum *keys, TimestampTz t);
extern bool WinStoreLoad(WinStore *store, const char *sql, bool has_as_of,
						 TimestampTz as_of);
extern DestReceiver *WinStoreLoadBegin(WinStore *store);
extern bool WinStoreLoadEnd(WinStore *store);
extern void WinStoreCounts(const WinStore *store, uint64 *kept, uint64 *read,
						   uint64 *keys);
extern void WinStoreEnd(WinStore *store);

/*
 * A store may be told to keep only the events whose keys a filter accepts
 * (a parallel join's partition of the keys): WinStoreSetFilter before
 * WinStoreLoad.  The filter sees the source row's key Datums, must not
 * allocate, and must accept every key of the points added.
 */
typedef bool (*WinStoreFilter) (void *arg, const Datum *keys);
extern void WinStoreSetFilter(WinStore *store, WinStoreFilter filter, void *arg);

#endif							/* FEATSTORE_WINDOW_H */
