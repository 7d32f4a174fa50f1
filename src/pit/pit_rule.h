/*
 * pit_rule.h
 *		The point-in-time rule, written once: which of two history rows is
 *		better, which rows are candidates for a spine row (the TTL, as_of and
 *		strict bounds), how that rule reads in SQL, and which btree indexes
 *		walk the history in the rule's order.
 *
 * The contract is docs/pit-semantics.md ("Better than", "The rule",
 * "Online equals offline").  Every reader of history uses these functions:
 * the PitJoin strategies (pit_exec_hash.c, pit_exec_merge.c,
 * pit_exec_probe.c), the online walk (online_scan.c) and the online winner
 * queries (online_group.c, through PitRuleSql).  One copy is in Lua, where
 * C cannot reach: the compare-and-set script in online_codec.c tests
 * PitBetter's order inside Redis.  The tests in
 * sql/pit_semantics.sql and sql/pit_random.sql compare them all with the
 * plain SQL reference of that page.
 *
 * The row-level checks are static inline: the hash strategy runs them once
 * per history row, and a call per row would show in the join's time.
 */
#ifndef FEATSTORE_PIT_RULE_H
#define FEATSTORE_PIT_RULE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/relcache.h"

/*
 * PitBetter says whether row a (ets, cat) is better than row b: a later
 * event_timestamp, or the same one and a later created_at ("Better than").
 * Exact ties are not better; group tables cannot hold them ("Ties").
 */
static inline bool
PitBetter(TimestampTz ets, TimestampTz cat, TimestampTz best_ets, TimestampTz best_cat)
{
	return ets > best_ets || (ets == best_ets && cat > best_cat);
}

/*
 * PitAvailable returns the instant from which a row is a candidate (its keys
 * equal): its event_timestamp, or in strict mode the later of that and its
 * created_at.  "r.event_timestamp <= s.ts" and "strict: r.created_at <=
 * s.ts" together are "PitAvailable(...) <= s.ts".
 */
static inline TimestampTz
PitAvailable(bool strict, TimestampTz ets, TimestampTz cat)
{
	return (strict && cat > ets) ? cat : ets;
}

/* PitCandidateAt says whether a row passes the rule's upper bounds at ts */
static inline bool
PitCandidateAt(bool strict, TimestampTz ets, TimestampTz cat, TimestampTz ts)
{
	return PitAvailable(strict, ets, cat) <= ts;
}

/*
 * PitWrittenBy says whether a row passes the as_of bound: written at or
 * before as_of, or no as_of given.  It does not depend on the spine row, so
 * the strategies drop such rows as they read them.
 */
static inline bool
PitWrittenBy(bool has_asof, TimestampTz as_of, TimestampTz cat)
{
	return !has_asof || cat <= as_of;
}

/*
 * PitWithinTtl says whether a row's event_timestamp passes the TTL's lower
 * bound (PitTtlBound or PitTtlBoundUsecs): inclusive, a row exactly one TTL
 * old still counts.  Checking it on the best row passing the other bounds
 * gives the same winner, since it only removes rows older than every row it
 * keeps.
 */
static inline bool
PitWithinTtl(TimestampTz ets, TimestampTz bound)
{
	return ets >= bound;
}

/*
 * PitTtlBoundUsecs is ts - τ for a group's normalised TTL in microseconds
 * (0: none, every row passes); the online store's form of the bound.
 */
static inline TimestampTz
PitTtlBoundUsecs(TimestampTz ts, int64 ttl_usecs)
{
	return ttl_usecs > 0 ? ts - ttl_usecs : DT_NOBEGIN;
}

/* pit_rule.c */
extern TimestampTz PitTtlBound(TimestampTz ts, Datum ttl);
extern void PitRuleSql(const char *alias, const char *ts, const char *ttl_bound,
					   char **where, char **order, char **later);

/*
 * How a btree index walks a group's history in the rule's order: what
 * PitIndexFit reports, for each reader to apply its own requirements.
 */
typedef struct PitIndexShape
{
	bool		serves;			/* btree, valid, no predicate, leading columns
								 * the keys (any order), then event_timestamp
								 * and created_at in one direction */
	bool		keys_in_order;	/* index column i holds key i */
	bool		descending;		/* the two timestamps are stored descending */
	bool		default_options;	/* no DESC or NULLS FIRST on those columns */
	bool		exact_types;	/* each opclass is for the column's own type */
	int			key_at[INDEX_MAX_KEYS]; /* key number held in index column i */
} PitIndexShape;

extern void PitIndexFit(Relation index, int nkeys, const AttrNumber *key_attnums,
						const Oid *key_types, const Oid *key_colls,
						AttrNumber ets_attnum, AttrNumber cat_attnum,
						PitIndexShape *shape);

#endif							/* FEATSTORE_PIT_RULE_H */
