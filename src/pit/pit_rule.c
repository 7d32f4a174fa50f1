/*
 * pit_rule.c
 *		The parts of the point-in-time rule (pit_rule.h, docs/pit-semantics.md)
 *		that are not per-row: the TTL bound of the marker's interval, the
 *		rule as SQL text, and the index matcher.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/nbtree.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "featstore.h"
#include "pit/pit_rule.h"

/*
 * PitTtlBound is ts - ttl for the marker's ttl argument, with the same
 * arithmetic as "ts - ttl" in SQL (days and months follow the session's
 * calendar, "Time").
 */
TimestampTz
PitTtlBound(TimestampTz ts, Datum ttl)
{
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
												   TimestampTzGetDatum(ts), ttl));
}

/*
 * PitRuleSql writes the rule at one instant as SQL over the history rows
 * aliased alias: *where gets the candidate bounds (event_timestamp at or
 * before ts, and not before ttl_bound, both SQL expressions; the caller
 * passes -infinity for no TTL), *order the better-than order, best first,
 * and *later the rows that become candidates only after ts (the earliest of
 * them is when the answer at ts can next change without a write).  The
 * online winner queries are built from these, so that SQL and the C
 * strategies cannot drift apart.
 */
void
PitRuleSql(const char *alias, const char *ts, const char *ttl_bound,
		   char **where, char **order, char **later)
{
	*where = psprintf("%s.%s <= %s AND %s.%s >= %s",
					  alias, FS_EVENT_TS_COLUMN, ts,
					  alias, FS_EVENT_TS_COLUMN, ttl_bound);
	*order = psprintf("%s.%s DESC, %s.%s DESC",
					  alias, FS_EVENT_TS_COLUMN, alias, FS_CREATED_AT_COLUMN);
	*later = psprintf("%s.%s > %s", alias, FS_EVENT_TS_COLUMN, ts);
}

/*
 * IndexKeyAt returns which key index column col holds: the first key whose
 * column it is, with the default btree family of the key's type and the
 * key's collation; -1 if none.
 */
static int
IndexKeyAt(Relation index, int col, int nkeys, const AttrNumber *key_attnums,
		   const Oid *key_types, const Oid *key_colls)
{
	for (int j = 0; j < nkeys; j++)
	{
		Oid			opclass;

		if (index->rd_index->indkey.values[col] != key_attnums[j] ||
			index->rd_indcollation[col] != key_colls[j])
			continue;
		opclass = GetDefaultOpClass(key_types[j], BTREE_AM_OID);
		if (OidIsValid(opclass) && get_opclass_family(opclass) == index->rd_opfamily[col])
			return j;
	}
	return -1;
}

/*
 * PitIndexFit reports how a btree index serves the rule for a table whose
 * keys are the given columns (their types and the collations their
 * equality uses): shape->serves when its leading columns are the keys, in
 * any order, then event_timestamp and created_at with timestamptz's default
 * family, both ascending or both descending, so that one descent per key
 * reaches the best row at or before an instant.  The rest of shape says how
 * exactly, for callers that need more: the planner's probe takes any order
 * and direction; the online walk, which compares whole rows in index order,
 * wants the keys in order, default options and exact types.
 */
void
PitIndexFit(Relation index, int nkeys, const AttrNumber *key_attnums,
			const Oid *key_types, const Oid *key_colls,
			AttrNumber ets_attnum, AttrNumber cat_attnum, PitIndexShape *shape)
{
	Form_pg_index form = index->rd_index;
	Oid			ts_family = get_opclass_family(GetDefaultOpClass(TIMESTAMPTZOID, BTREE_AM_OID));
	int16	   *option = index->rd_indoption;

	memset(shape, 0, sizeof(*shape));

	/*
	 * Whether the index is partial is read from pg_index, not from
	 * RelationGetIndexPredicate, which simplifies the predicate and so runs
	 * whatever functions it calls.
	 */
	if (index->rd_rel->relam != BTREE_AM_OID || !form->indisvalid ||
		IndexRelationGetNumberOfKeyAttributes(index) < nkeys + 2 ||
		!heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
		return;
	shape->keys_in_order = shape->default_options = shape->exact_types = true;
	for (int i = 0; i < nkeys; i++)
	{
		int			j = IndexKeyAt(index, i, nkeys, key_attnums, key_types, key_colls);

		if (j < 0)
			return;
		shape->key_at[i] = j;
		shape->keys_in_order &= (j == i);
		shape->exact_types &= (index->rd_opcintype[i] == key_types[j]);
		shape->default_options &= (option[i] == 0);
	}
	for (int i = nkeys; i < nkeys + 2; i++)
	{
		if (form->indkey.values[i] != (i == nkeys ? ets_attnum : cat_attnum) ||
			index->rd_opfamily[i] != ts_family ||
			index->rd_indcollation[i] != InvalidOid)
			return;
		shape->exact_types &= (index->rd_opcintype[i] == TIMESTAMPTZOID);
		shape->default_options &= (option[i] == 0);
	}
	shape->descending = (option[nkeys] & INDOPTION_DESC) != 0;
	if (shape->descending != ((option[nkeys + 1] & INDOPTION_DESC) != 0))
		return;
	shape->serves = true;
}
