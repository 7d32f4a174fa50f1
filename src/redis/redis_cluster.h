/*
 * redis_cluster.h
 *		Private to src/redis/: one server's connection (redis_io.c) and the
 *		Redis Cluster layer built on it (redis_cluster.c).  Everything else
 *		goes through redis_io.h.
 */
#ifndef FEATSTORE_REDIS_CLUSTER_H
#define FEATSTORE_REDIS_CLUSTER_H

#include "redis/redis_io.h"
#include "utils/timestamp.h"

/* longest host name or address in a node list or a redirect */
#define REDIS_HOST_MAX 256

typedef struct RedisNode RedisNode;
typedef struct RedisCluster RedisCluster;

/* one server (redis_io.c) */
extern RedisNode *RedisNodeOpen(const RedisOptions *opts, const char *host, int port,
								char **err);
extern void RedisNodeClose(RedisNode *conn);
extern bool RedisNodeAlive(const RedisNode *conn);
extern bool RedisNodeAppend(RedisNode *conn, int ncmds, RedisCommand *cmds, char **err);
extern bool RedisNodeWrite(RedisNode *conn, char **err);
extern bool RedisNodeReceive(RedisNode *conn, int nreplies, RedisResult *results,
							 TimestampTz deadline, char **err);

/* node lists (redis_slot.c) */
extern int	RedisNodeListNext(const char **pos, char *host, size_t hostsize, int *port);

/* a Redis Cluster (redis_cluster.c); RedisClusterOpen takes seed over */
extern RedisCluster *RedisClusterOpen(const RedisOptions *opts, RedisNode *seed,
									  char **err);
extern void RedisClusterClose(RedisCluster *cl);
extern bool RedisClusterSeen(void);
extern bool RedisClusterSend(RedisCluster *cl, int ncmds, RedisCommand *cmds, char **err);
extern bool RedisClusterReceive(RedisCluster *cl, int nreplies, RedisResult *results,
								TimestampTz deadline, char **err);

#endif							/* FEATSTORE_REDIS_CLUSTER_H */
