/*
 * pit.h
 *		The point-in-time join: the as-of marker, the PitJoin custom scan
 *		and its strategies.
 *
 * This is the subsystem's public header: featstore.c calls PitInit, and the
 * online subsystem uses the point-in-time rule of pit_rule.h (included
 * here), so that Redis holds what the join computes.  pit_exec.h is private
 * to src/pit/.
 *
 *	pit_rule.h/.c	the one point-in-time rule: better-than, the TTL, as_of
 *					and strict bounds, the rule as SQL, the index matcher
 *	pit_planner.c	the marker, the join-path hook, costing and the plan
 *	pit_exec*.c		the executor node (pit_exec.h lists its files)
 *	pit_join.c		the pit_join() front end
 */
#ifndef FEATSTORE_PIT_H
#define FEATSTORE_PIT_H

#include "postgres.h"

#include "nodes/extensible.h"

#include "pit/pit_rule.h"

#define PIT_NODE_NAME "PitJoin"
#define PIT_MARKER_NAME "pit_match"

/* Strategies; the GUC featstore.pit_strategy forces one (PIT_AUTO: by cost) */
typedef enum PitStrategy
{
	PIT_AUTO = 0,
	PIT_HASH,
	PIT_MERGE,
	PIT_PROBE,
	PIT_WINDOW					/* a source group's windows (pit_exec_window.c) */
} PitStrategy;

/*
 * Layout of CustomScan.custom_private.  Plans are copied and serialized, so
 * this is a plain List of Integers and IntLists rather than a struct.
 */
typedef enum PitPrivateField
{
	PIT_PRIV_STRATEGY = 0,		/* Integer: PitStrategy actually planned */
	PIT_PRIV_LEFT,				/* Integer: 1 keeps unmatched spine rows */
	PIT_PRIV_SPINE_KEYS,		/* IntList: key resnos in the spine child */
	PIT_PRIV_FEAT_KEYS,			/* IntList: key resnos in the feature child */
	PIT_PRIV_KEY_COLLS,			/* OidList: collation of each key */
	PIT_PRIV_SPINE_TS,			/* Integer: spine timestamp resno */
	PIT_PRIV_FEAT_ETS,			/* Integer: feature event_timestamp resno */
	PIT_PRIV_FEAT_CAT,			/* Integer: feature created_at resno */
	PIT_PRIV_MAP_SIDE,			/* IntList: per scan-tlist entry, 0 spine 1 feature */
	PIT_PRIV_MAP_RESNO,			/* IntList: per scan-tlist entry, child resno */
	PIT_PRIV_INDEX,				/* Integer: probe: the btree's OID */
	PIT_PRIV_FEAT_RELPOS,		/* Integer: probe: feature rel's rank in custom_relids */
	PIT_PRIV_INDEX_KEYS,		/* IntList: probe: key number of each index column */
	PIT_PRIV_INDEX_DESC,		/* Integer: probe: index stores event_timestamp descending */
	PIT_PRIV_PARALLEL,			/* Integer: workers planned for a parallel-aware node, or 0 */
	PIT_PRIV_WINDOW_GROUP,		/* String: window: the source group's name */
	PIT_PRIV_WINDOW_TEXT,		/* String: window: its windows, for EXPLAIN */
	PIT_PRIV_WINDOW_TYPES,		/* OidList: window: the view's column types */
	PIT_PRIV_WINDOW_NQUALS,		/* Integer: window: conditions on the computed row,
								 * the last entries of custom_exprs */
	PIT_PRIV_PII_MAP,			/* IntList: scan-tlist entries (from 0) holding PII */
	PIT_PRIV_PII_NAMES,			/* List of String: the PII feature of each, "g.f" */
	PIT_PRIV_SPLIT,				/* Integer: parallel hash reads the history split */
	PIT_PRIV_NFIELDS
} PitPrivateField;

/*
 * Layout of CustomScan.custom_exprs: three parameters of the marker, then
 * the key equalities (only for EXPLAIN), then for the window strategy in a
 * LEFT join the conditions on the view alone (PIT_PRIV_WINDOW_NQUALS).
 */
#define PIT_EXPR_TTL	0
#define PIT_EXPR_ASOF	1
#define PIT_EXPR_STRICT 2
#define PIT_EXPR_NFIXED 3

extern int	pit_strategy_guc;
/* featstore.pit_parallel: the parallel-aware plan forbidden, by cost, or forced */
typedef enum PitParallelMode
{
	PIT_PARALLEL_OFF = 0,
	PIT_PARALLEL_AUTO,
	PIT_PARALLEL_FORCE
} PitParallelMode;

extern int	pit_parallel_guc;
/* featstore.pit_parallel_split: a parallel hash join reads its history split */
extern int	pit_parallel_split_guc;
extern CustomScanMethods pit_scan_methods;

/* pit_planner.c */
extern void PitInit(void);

/* pit_exec.c */
extern Node *PitCreateScanState(CustomScan *cscan);

/* pit_pii.c: which columns of the join are PII, decided when it is planned */
struct PlannerInfo;
extern void PitPiiPlan(struct PlannerInfo *root, List *scan_tlist, List *map_side,
					   List **pii_map, List **pii_names);

#endif							/* FEATSTORE_PIT_H */
