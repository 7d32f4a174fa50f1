/*
 * pit_shard.c
 *		The point-in-time join over a sharded history (issue 14).
 *
 * A sharded group's table is hash-partitioned, each partition a
 * postgres_fdw foreign table on a shard (src/offline/offline_shard.c).
 * The join runs on the shards when the spine is partitioned the same way
 * with its partitions on the same servers and enable_partitionwise_join is
 * on: PostgreSQL then joins partition by partition, and postgres_fdw
 * pushes each pair down as one foreign join whose remote SQL carries
 * featstore.pit_match(), which the shard's featstore plans as its own
 * PitJoin.  Only the join's rows cross the network.
 *
 * So the join path hook, for a marker join:
 * - between two foreign partitions, keeps only postgres_fdw's foreign
 *   join (the other paths would evaluate the marker locally), or fails if
 *   there is none (the marker is not shippable, the servers differ);
 * - between the parents, when the spine has the group's layout on the
 *   same servers, removes every path of the parent join, so that only the
 *   Append of those foreign joins is left; otherwise it fails with a hint:
 *   any other plan would pull every history row to the coordinator.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "foreign/fdwapi.h"
#include "nodes/pathnodes.h"
#include "parser/parsetree.h"
#include "partitioning/partbounds.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "pit/pit_shard.h"
#include "registry/registry.h"

static bool RelIsForeign(PlannerInfo *root, RelOptInfo *rel);
static bool HasForeignPartitions(PlannerInfo *root, RelOptInfo *rel);
static bool SameShardLayout(RelOptInfo *joinrel, RelOptInfo *spinerel, RelOptInfo *featrel);
static bool KeepForeignJoin(PlannerInfo *root, RelOptInfo *joinrel, RelOptInfo *featrel,
							const PitJoinArgs *args);
static List *ForeignJoinPaths(RelOptInfo *joinrel);
static char *RelDescription(PlannerInfo *root, RelOptInfo *rel);

/*
 * PitShardedJoin handles a marker join whose feature side is sharded (a
 * foreign partition, or a partitioned table with foreign partitions); true
 * when it did, and the ordinary PitJoin paths must not be offered.
 */
bool
PitShardedJoin(PlannerInfo *root, RelOptInfo *joinrel, RelOptInfo *spinerel,
			   RelOptInfo *featrel, const PitJoinArgs *args)
{
	if (IS_OTHER_REL(featrel) && featrel->reloptkind == RELOPT_OTHER_MEMBER_REL &&
		RelIsForeign(root, featrel))
		return KeepForeignJoin(root, joinrel, featrel, args);
	if (featrel->reloptkind != RELOPT_BASEREL || !HasForeignPartitions(root, featrel))
		return false;
	if (SameShardLayout(joinrel, spinerel, featrel))
	{
		/* the partition-wise Append of foreign joins is added after this hook */
		joinrel->pathlist = NIL;
		joinrel->partial_pathlist = NIL;
		return true;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("point-in-time join with sharded history %s cannot run on its shards",
					RelDescription(root, featrel)),
			 errdetail("The spine is not hash-partitioned like the history with its partitions on the same servers, or enable_partitionwise_join is off; any other plan reads every history row on the coordinator."),
			 errhint("Copy the spine to the shards with featstore.create_shard_spine(group, spine, new_table), or partition it like the history on the same servers by hand, and SET enable_partitionwise_join = on (docs/pit-join.md, \"Sharded history\").")));
	return true;				/* keep the compiler quiet */
}

/* RelIsForeign says whether a base relation is a foreign table */
static bool
RelIsForeign(PlannerInfo *root, RelOptInfo *rel)
{
	RangeTblEntry *rte;

	if (rel->relid == 0 || rel->rtekind != RTE_RELATION)
		return false;
	rte = planner_rt_fetch(rel->relid, root);
	return rte->relkind == RELKIND_FOREIGN_TABLE;
}

/* HasForeignPartitions says whether a partitioned table has a foreign partition */
static bool
HasForeignPartitions(PlannerInfo *root, RelOptInfo *rel)
{
	if (rel->part_scheme == NULL || rel->part_rels == NULL)
		return false;
	for (int i = 0; i < rel->nparts; i++)
	{
		if (rel->part_rels[i] != NULL && RelIsForeign(root, rel->part_rels[i]))
			return true;
	}
	return false;
}

/*
 * SameShardLayout says whether PostgreSQL will join spine and history
 * partition by partition, each pair on one server: the join is
 * partition-wise (PostgreSQL set its scheme: the setting is on, the keys
 * are equated, the schemes match), the bounds are equal, and partition i
 * of both sides is on the same server.
 */
static bool
SameShardLayout(RelOptInfo *joinrel, RelOptInfo *spinerel, RelOptInfo *featrel)
{
	PartitionScheme scheme = featrel->part_scheme;

	if (joinrel->part_scheme == NULL || spinerel->part_scheme != scheme ||
		spinerel->nparts != featrel->nparts || spinerel->part_rels == NULL ||
		spinerel->boundinfo == NULL || featrel->boundinfo == NULL ||
		!partition_bounds_equal(scheme->partnatts, scheme->parttyplen, scheme->parttypbyval,
								spinerel->boundinfo, featrel->boundinfo))
		return false;
	for (int i = 0; i < featrel->nparts; i++)
	{
		RelOptInfo *s = spinerel->part_rels[i];
		RelOptInfo *f = featrel->part_rels[i];

		if (s == NULL || f == NULL)
			continue;
		if (!OidIsValid(f->serverid) || s->serverid != f->serverid)
			return false;
	}
	return true;
}

/*
 * KeepForeignJoin keeps only postgres_fdw's foreign join among the paths of
 * a join between two foreign partitions, or fails: evaluated locally, the
 * marker would pull the partition's history.  Without remote estimates
 * postgres_fdw often costs its remote join above a local join of two
 * foreign scans, and add_path has then already discarded it; so, when no
 * foreign join is left, the join's paths are cleared and postgres_fdw is
 * asked again (it considers a join only once, remembered in fdw_private).
 */
static bool
KeepForeignJoin(PlannerInfo *root, RelOptInfo *joinrel, RelOptInfo *featrel,
				const PitJoinArgs *args)
{
	List	   *kept = ForeignJoinPaths(joinrel);

	if (kept == NIL && joinrel->fdwroutine != NULL &&
		joinrel->fdwroutine->GetForeignJoinPaths != NULL)
	{
		joinrel->pathlist = NIL;
		joinrel->partial_pathlist = NIL;
		joinrel->fdw_private = NULL;
		joinrel->fdwroutine->GetForeignJoinPaths(root, joinrel, args->outerrel, args->innerrel,
												 args->jointype, args->extra);
		kept = ForeignJoinPaths(joinrel);
	}
	if (kept == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("point-in-time join with foreign partition %s cannot be pushed down to its server",
						RelDescription(root, featrel)),
				 errdetail("postgres_fdw offers no remote join: the spine's partition is on another server or user mapping, a condition beside the marker is not shippable, or featstore.pit_match() is not."),
				 errhint("List featstore in the server's extensions option (ALTER SERVER ... OPTIONS (ADD extensions 'featstore')), keep only key equalities beside the marker, and put the spine's partition on the same server.")));
	joinrel->pathlist = kept;
	joinrel->partial_pathlist = NIL;
	return true;
}

/* ForeignJoinPaths lists the foreign join paths of a join */
static List *
ForeignJoinPaths(RelOptInfo *joinrel)
{
	List	   *kept = NIL;
	ListCell   *lc;

	foreach(lc, joinrel->pathlist)
	{
		Path	   *path = lfirst(lc);

		if (IsA(path, ForeignPath) && path->parent == joinrel)
			kept = lappend(kept, path);
	}
	return kept;
}

/* RelDescription names a base relation for a message */
static char *
RelDescription(PlannerInfo *root, RelOptInfo *rel)
{
	Oid			relid = planner_rt_fetch(rel->relid, root)->relid;

	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}
