/*
 * offline.h
 *		The offline store (offline_store.c): one history table per feature
 *		group (a view over featstore.window_timeline for a group defined
 *		FROM a source), created, altered and dropped by the registry.
 */
#ifndef FEATSTORE_OFFLINE_H
#define FEATSTORE_OFFLINE_H

#include "featstore.h"

struct FsPartitioning;

/* keys are FsKeyColumn *, features FsFeature * */
extern Oid	OfflineCreateTable(const char *schema_name, const char *table_name,
							   const char *group_name, List *keys, List *features,
							   const char *description, const struct FsPartitioning *part);
extern Oid	OfflineCreateGroupView(const char *schema_name, const char *view_name,
								   const char *group_name, List *keys, List *features,
								   const char *description);
extern void OfflineAddColumn(Oid relid, const FsFeature *feature);
extern void OfflineSetColumnComment(Oid relid, const char *column, const char *comment);
extern void OfflineDropTable(Oid relid, bool cascade);

/*
 * offline_partition.c: partitioned history (issue 14); the layout is the
 * registry's FsPartitioning (registry/registry.h)
 */
/* one action of a partition maintenance, for maintain_partitions() */
typedef struct OfflinePartitionAction
{
	char	   *action;			/* created, created default, dropped, deleted from default */
	char	   *partition;		/* schema-qualified, quoted */
	int64		rows;			/* rows moved or deleted; -1: not counted */
} OfflinePartitionAction;

extern int	offline_partition_premake;
extern int	offline_partition_naptime_ms;
extern void OfflineInit(void);
extern char *OfflinePartitionClause(const struct FsPartitioning *p);
extern void OfflineCreatePartitions(Oid relid, const struct FsPartitioning *p,
									const char *group_name);
extern bool OfflineRangeBounds(Oid partrelid, TimestampTz *lo, TimestampTz *hi);
extern List *OfflineMaintainPartitions(const FsGroup *group, const struct FsPartitioning *p,
									   TimestampTz now);
extern void OfflineMaintainAllPartitions(void);

/* offline_shard.c: sharded history (issue 14) */
extern void OfflineCreateShardGroups(const struct FsPartitioning *p);
extern void OfflineCreateForeignPartitions(Oid relid, const struct FsPartitioning *p);

/* set while featstore attaches or detaches capture triggers */
extern bool featstore_capture_ddl;

#endif							/* FEATSTORE_OFFLINE_H */
