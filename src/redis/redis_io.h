/*
 * redis_io.h
 *		Non-blocking hiredis with a deadline on every step (redis_io.c), to a
 *		standalone Redis or a Redis Cluster (redis_cluster.c): callers see
 *		one connection either way.
 */
#ifndef FEATSTORE_REDIS_IO_H
#define FEATSTORE_REDIS_IO_H

#include "postgres.h"

/* How RedisOpen treats the server (featstore.redis_cluster) */
typedef enum RedisClusterMode
{
	REDIS_CLUSTER_OFF,			/* a standalone Redis */
	REDIS_CLUSTER_ON,			/* a Redis Cluster, seeded by host/port and seeds */
	REDIS_CLUSTER_AUTO			/* asks the server (INFO cluster) */
} RedisClusterMode;

/* Connection settings for Redis */
typedef struct RedisOptions
{
	const char *host;
	int			port;
	const char *unix_socket;
	const char *user;			/* ACL user for AUTH, or empty */
	const char *password;
	int			db;
	int			timeout_ms;
	RedisClusterMode cluster;
	const char *seeds;			/* more cluster seeds: "host:port[,host:port...]" */
} RedisOptions;

/*
 * One command of a pipeline: argc arguments, binary safe.  argv and
 * argvlen point at the inline arrays (RedisCommandSet) or at caller memory
 * for long commands.
 */
typedef struct RedisCommand
{
	int			argc;
	const char **argv;
	size_t	   *argvlen;
	const char *inline_argv[8];
	size_t		inline_argvlen[8];
} RedisCommand;

/* One reply, copied out of hiredis into palloc'd memory */
typedef struct RedisResult
{
	int			type;			/* REDIS_REPLY_* */
	long long	integer;
	char	   *str;
	size_t		len;
	int			nelements;
	struct RedisResult *elements;
} RedisResult;

typedef struct RedisConn RedisConn;

extern RedisConn *RedisOpen(const RedisOptions *opts, char **err);
extern void RedisClose(RedisConn *conn);
extern bool RedisRun(RedisConn *conn, int ncmds, RedisCommand *cmds,
					 RedisResult *results, int timeout_ms, char **err);
extern bool RedisSend(RedisConn *conn, int ncmds, RedisCommand *cmds, char **err);
extern bool RedisReceive(RedisConn *conn, int nreplies, RedisResult *results,
						 int timeout_ms, char **err);
extern void RedisCommandSet(RedisCommand *cmd, int argc, ...);
extern bool RedisIsCluster(const RedisConn *conn);

/* redis_slot.c */
#define REDIS_CLUSTER_SLOTS 16384
extern int	RedisKeySlot(const char *key, size_t len);
extern bool RedisParseNodeList(const char *list, char **bad);

#endif							/* FEATSTORE_REDIS_IO_H */
