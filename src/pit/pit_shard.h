/*
 * pit_shard.h
 *		The point-in-time join over a sharded history (issue 14): pushed
 *		down to the shards partition by partition (pit_shard.c); private to
 *		src/pit/.
 */
#ifndef FEATSTORE_PIT_SHARD_H
#define FEATSTORE_PIT_SHARD_H

#include "postgres.h"

#include "nodes/pathnodes.h"

/* the join path hook's arguments */
typedef struct PitJoinArgs
{
	RelOptInfo *outerrel;
	RelOptInfo *innerrel;
	JoinType	jointype;
	JoinPathExtraData *extra;
} PitJoinArgs;

extern bool PitShardedJoin(PlannerInfo *root, RelOptInfo *joinrel,
						   RelOptInfo *spinerel, RelOptInfo *featrel,
						   const PitJoinArgs *args);

#endif							/* FEATSTORE_PIT_SHARD_H */
