/*
 * redis_io.c
 *		Talking to Redis without ever blocking the server.
 *
 * hiredis runs in non-blocking mode and every wait goes through
 * WaitLatchOrSocket with a deadline, so SIGTERM, query cancel and postmaster
 * death are noticed at once and a silent Redis costs at most the timeout.
 * A connection that failed or was interrupted half-way is closed, never
 * reused: its reply stream could be out of step with the commands.
 *
 * Callers bound the number of commands per RedisRun, because hiredis calls
 * abort() when malloc fails, which would restart the whole server.
 *
 * A RedisConn is one RedisNode (one server) or a RedisCluster
 * (redis_cluster.c), which routes every command to its slot's master over
 * RedisNodes of its own; the public functions below dispatch.
 */
#include "postgres.h"

#include <stdarg.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "redis/redis_cluster.h"
#include "redis/redis_io.h"

struct RedisNode
{
	redisContext *ctx;			/* NULL once broken or closed */
};

struct RedisConn
{
	RedisNode  *node;			/* a standalone Redis, or */
	RedisCluster *cluster;		/* a Redis Cluster */
};

static bool RedisOpenInner(RedisNode *conn, const RedisOptions *opts,
						   const char *host, int port, char **err);
static bool RedisAuth(RedisNode *conn, const RedisOptions *opts,
					  TimestampTz deadline, char **err);
static int	RedisWait(RedisNode *conn, int events, TimestampTz deadline);
static bool RedisFail(RedisNode *conn, char **err, const char *fmt,...) pg_attribute_printf(3, 4);
static void RedisCopyReply(redisReply *reply, RedisResult *result);
static bool RedisAppend(RedisNode *conn, int ncmds, RedisCommand *cmds, char **err);
static bool RedisRunInner(RedisNode *conn, int ncmds, RedisCommand *cmds,
						  RedisResult *results, TimestampTz deadline,
						  char **err);
static bool RedisFinishInner(RedisNode *conn, int nreplies, RedisResult *results,
							 TimestampTz deadline, char **err);
static bool RedisDetectCluster(RedisNode *node, const RedisOptions *opts, bool *cluster,
							   char **err);

/*
 * RedisOpen connects, authenticates and selects the database, or returns
 * NULL with *err set.  The password never appears in *err.  With
 * opts->cluster on (or auto, and the server says it is a cluster node, or
 * does not answer while opts->seeds lists more nodes or this process has
 * seen a cluster) the connection is a Redis Cluster's, seeded by
 * opts->host, opts->port and opts->seeds.
 */
RedisConn *
RedisOpen(const RedisOptions *opts, char **err)
{
	RedisNode  *seed = NULL;
	bool		cluster = (opts->cluster == REDIS_CLUSTER_ON);
	RedisConn  *conn;

	if (opts->cluster != REDIS_CLUSTER_ON)
	{
		seed = RedisNodeOpen(opts, NULL, 0, err);

		/*
		 * auto, once this process has seen a cluster or with more seeds
		 * listed: a dead seed is only one node of a cluster
		 */
		if (seed == NULL &&
			!(opts->cluster == REDIS_CLUSTER_AUTO &&
			  (opts->unix_socket == NULL || opts->unix_socket[0] == '\0') &&
			  (RedisClusterSeen() || (opts->seeds && opts->seeds[0] != '\0'))))
			return NULL;
		if (seed == NULL)
			cluster = true;
		else if (opts->cluster == REDIS_CLUSTER_AUTO &&
				 !RedisDetectCluster(seed, opts, &cluster, err))
		{
			RedisNodeClose(seed);
			return NULL;
		}
	}
	conn = MemoryContextAllocZero(TopMemoryContext, sizeof(RedisConn));
	if (!cluster)
	{
		conn->node = seed;
		return conn;
	}
	conn->cluster = RedisClusterOpen(opts, seed, err);
	if (conn->cluster == NULL)
	{
		pfree(conn);
		return NULL;
	}
	return conn;
}

/*
 * RedisDetectCluster asks a server whether it is a Redis Cluster node
 * (INFO cluster: cluster_enabled:1).  A server that refuses INFO is taken
 * as standalone.  A Unix socket is always standalone: cluster nodes
 * announce TCP addresses.
 */
static bool
RedisDetectCluster(RedisNode *node, const RedisOptions *opts, bool *cluster, char **err)
{
	RedisCommand cmd;
	RedisResult res;
	TimestampTz deadline;

	*cluster = false;
	if (opts->unix_socket && opts->unix_socket[0] != '\0')
		return true;
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), opts->timeout_ms);
	RedisCommandSet(&cmd, 2, "INFO", (size_t) 4, "cluster", (size_t) 7);
	if (!RedisNodeAppend(node, 1, &cmd, err) ||
		!RedisNodeReceive(node, 1, &res, deadline, err))
		return false;
	*cluster = (res.type == REDIS_REPLY_STRING &&
				strstr(res.str, "cluster_enabled:1") != NULL);
	return true;
}

/* RedisIsCluster says whether conn talks to a Redis Cluster */
bool
RedisIsCluster(const RedisConn *conn)
{
	return conn != NULL && conn->cluster != NULL;
}

/*
 * RedisNodeOpen connects to one server: host and port, or with host NULL
 * the one opts names (its Unix socket, or opts->host and opts->port).
 * NULL with *err set on failure.
 */
RedisNode *
RedisNodeOpen(const RedisOptions *opts, const char *host, int port, char **err)
{
	RedisNode  *conn;
	bool		ok;

	conn = MemoryContextAllocZero(TopMemoryContext, sizeof(RedisNode));
	PG_TRY();
	{
		ok = RedisOpenInner(conn, opts, host, port, err);
	}
	PG_CATCH();
	{
		if (conn->ctx)
			redisFree(conn->ctx);
		pfree(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (!ok)
	{
		RedisNodeClose(conn);
		return NULL;
	}
	return conn;
}

/* RedisOpenInner does RedisNodeOpen's work; false leaves conn->ctx closed */
static bool
RedisOpenInner(RedisNode *conn, const RedisOptions *opts, const char *host, int port,
			   char **err)
{
	TimestampTz deadline;
	int			soerr = 0;
	socklen_t	len = sizeof(soerr);
	RedisCommand cmd;
	RedisResult res;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), opts->timeout_ms);
	if (host != NULL)
		conn->ctx = redisConnectNonBlock(host, port);
	else if (opts->unix_socket && opts->unix_socket[0] != '\0')
		conn->ctx = redisConnectUnixNonBlock(opts->unix_socket);
	else
		conn->ctx = redisConnectNonBlock(opts->host, opts->port);
	if (conn->ctx == NULL)
	{
		*err = pstrdup("could not allocate a Redis connection");
		return false;
	}
	if (conn->ctx->err)
		return RedisFail(conn, err, "could not connect to Redis: %s", conn->ctx->errstr);

	/* the TCP handshake finishes in the background; wait for it */
	if (RedisWait(conn, WL_SOCKET_WRITEABLE, deadline) == 0)
		return RedisFail(conn, err, "could not connect to Redis: timed out after %d ms",
						 opts->timeout_ms);
	if (getsockopt(conn->ctx->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0)
		return RedisFail(conn, err, "could not connect to Redis: %s",
						 strerror(soerr ? soerr : errno));

	if (!RedisAuth(conn, opts, deadline, err))
		return false;
	if (opts->db != 0)
	{
		char		dbtext[16];

		snprintf(dbtext, sizeof(dbtext), "%d", opts->db);
		RedisCommandSet(&cmd, 2, "SELECT", (size_t) 6, dbtext, strlen(dbtext));
		if (!RedisRunInner(conn, 1, &cmd, &res, deadline, err))
			return false;
		if (res.type == REDIS_REPLY_ERROR)
			return RedisFail(conn, err,
							 "Redis refused database %d (featstore.redis_db): %s",
							 opts->db, res.str);
	}
	return true;
}

/*
 * RedisAuth authenticates: AUTH user password with an ACL user, AUTH
 * password without.  Redis' refusal (WRONGPASS ...) never contains the
 * password, and neither does *err.
 */
static bool
RedisAuth(RedisNode *conn, const RedisOptions *opts, TimestampTz deadline, char **err)
{
	RedisCommand cmd;
	RedisResult res;
	bool		user = (opts->user && opts->user[0] != '\0');

	if (opts->password == NULL || opts->password[0] == '\0')
	{
		if (user)
			return RedisFail(conn, err,
							 "featstore.redis_user \"%s\" is set but no password is: set featstore.redis_password or featstore.redis_password_file",
							 opts->user);
		return true;
	}
	if (user)
		RedisCommandSet(&cmd, 3, "AUTH", (size_t) 4, opts->user, strlen(opts->user),
						opts->password, strlen(opts->password));
	else
		RedisCommandSet(&cmd, 2, "AUTH", (size_t) 4,
						opts->password, strlen(opts->password));
	if (!RedisRunInner(conn, 1, &cmd, &res, deadline, err))
		return false;
	if (res.type != REDIS_REPLY_ERROR)
		return true;
	if (user)
		return RedisFail(conn, err,
						 "Redis refused user \"%s\" with its password (featstore.redis_user, featstore.redis_password): %s",
						 opts->user, res.str);
	return RedisFail(conn, err,
					 "Redis refused the password (featstore.redis_password): %s",
					 res.str);
}

/* RedisClose frees the connection; safe on NULL and on broken connections */
void
RedisClose(RedisConn *conn)
{
	if (conn == NULL)
		return;
	RedisNodeClose(conn->node);
	RedisClusterClose(conn->cluster);
	pfree(conn);
}

/* RedisNodeClose frees one server's connection; safe on NULL */
void
RedisNodeClose(RedisNode *conn)
{
	if (conn == NULL)
		return;
	if (conn->ctx)
		redisFree(conn->ctx);
	pfree(conn);
}

/* RedisNodeAlive says whether the connection can still be used */
bool
RedisNodeAlive(const RedisNode *conn)
{
	return conn != NULL && conn->ctx != NULL;
}

/*
 * RedisRun sends ncmds commands in one pipeline and collects their replies
 * into results[], all within timeout_ms.  Returns false with *err set on
 * a connection failure; the connection is then unusable (RedisClose it).
 * Error replies from Redis are results, not failures.
 *
 * An ERROR raised while waiting (query cancel) closes the hiredis context
 * before it propagates, so nothing leaks and nothing is half-read later.
 */
bool
RedisRun(RedisConn *conn, int ncmds, RedisCommand *cmds, RedisResult *results,
		 int timeout_ms, char **err)
{
	return RedisSend(conn, ncmds, cmds, err) &&
		RedisReceive(conn, ncmds, results, timeout_ms, err);
}

/* RedisCommandSet fills a command from argc (const char *, size_t) pairs */
void
RedisCommandSet(RedisCommand *cmd, int argc,...)
{
	va_list		ap;

	Assert(argc <= lengthof(cmd->inline_argv));
	cmd->argc = argc;
	cmd->argv = cmd->inline_argv;
	cmd->argvlen = cmd->inline_argvlen;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
	{
		cmd->argv[i] = va_arg(ap, const char *);
		cmd->argvlen[i] = va_arg(ap, size_t);
	}
	va_end(ap);
}

/* RedisAppend queues commands in hiredis' output buffer, sending nothing */
static bool
RedisAppend(RedisNode *conn, int ncmds, RedisCommand *cmds, char **err)
{
	redisContext *c = conn->ctx;

	for (int i = 0; i < ncmds; i++)
	{
		if (redisAppendCommandArgv(c, cmds[i].argc, cmds[i].argv, cmds[i].argvlen) != REDIS_OK)
			return RedisFail(conn, err, "could not queue a Redis command: %s", c->errstr);
	}
	return true;
}

/* RedisRunInner is RedisRun with an absolute deadline and no error trap */
static bool
RedisRunInner(RedisNode *conn, int ncmds, RedisCommand *cmds,
			  RedisResult *results, TimestampTz deadline, char **err)
{
	return RedisAppend(conn, ncmds, cmds, err) &&
		RedisFinishInner(conn, ncmds, results, deadline, err);
}

/*
 * RedisSend queues commands and writes what the socket takes right now,
 * never waiting, so it may run while the caller holds a transaction: Redis
 * starts on them while the caller computes the next ones.  RedisReceive
 * then finishes the writing and collects the replies.  False with *err on
 * failure (the connection is then unusable).
 */
bool
RedisSend(RedisConn *conn, int ncmds, RedisCommand *cmds, char **err)
{
	if (conn != NULL && conn->cluster != NULL)
		return RedisClusterSend(conn->cluster, ncmds, cmds, err);
	if (conn == NULL || !RedisNodeAlive(conn->node))
	{
		*err = pstrdup("the Redis connection is closed");
		return false;
	}
	return RedisNodeAppend(conn->node, ncmds, cmds, err) &&
		RedisNodeWrite(conn->node, err);
}

/*
 * RedisReceive finishes sending what RedisSend queued and collects
 * nreplies replies, all within timeout_ms; like RedisRun otherwise.
 */
bool
RedisReceive(RedisConn *conn, int nreplies, RedisResult *results, int timeout_ms,
			 char **err)
{
	TimestampTz deadline;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	if (conn != NULL && conn->cluster != NULL)
		return RedisClusterReceive(conn->cluster, nreplies, results, deadline, err);
	if (conn == NULL || !RedisNodeAlive(conn->node))
	{
		*err = pstrdup("the Redis connection is closed");
		return false;
	}
	return RedisNodeReceive(conn->node, nreplies, results, deadline, err);
}

/* RedisNodeAppend queues commands on one server, sending nothing */
bool
RedisNodeAppend(RedisNode *conn, int ncmds, RedisCommand *cmds, char **err)
{
	if (!RedisNodeAlive(conn))
	{
		*err = pstrdup("the Redis connection is closed");
		return false;
	}
	return RedisAppend(conn, ncmds, cmds, err);
}

/* RedisNodeWrite writes what the socket takes now of what is queued */
bool
RedisNodeWrite(RedisNode *conn, char **err)
{
	int			done = 0;

	if (!RedisNodeAlive(conn))
	{
		*err = pstrdup("the Redis connection is closed");
		return false;
	}
	if (redisBufferWrite(conn->ctx, &done) != REDIS_OK)
		return RedisFail(conn, err, "could not send to Redis: %s", conn->ctx->errstr);
	return true;
}

/*
 * RedisNodeReceive writes everything queued on one server and collects
 * nreplies replies by the deadline.  An ERROR raised while waiting (query
 * cancel) closes the hiredis context before it propagates, so nothing leaks
 * and nothing is half-read later.
 */
bool
RedisNodeReceive(RedisNode *conn, int nreplies, RedisResult *results,
				 TimestampTz deadline, char **err)
{
	bool		ok;

	if (!RedisNodeAlive(conn))
	{
		*err = pstrdup("the Redis connection is closed");
		return false;
	}
	PG_TRY();
	{
		ok = RedisFinishInner(conn, nreplies, results, deadline, err);
	}
	PG_CATCH();
	{
		if (conn->ctx)
		{
			redisFree(conn->ctx);
			conn->ctx = NULL;
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	return ok;
}

/* RedisFinishInner writes everything queued, then reads nreplies replies */
static bool
RedisFinishInner(RedisNode *conn, int nreplies, RedisResult *results,
				 TimestampTz deadline, char **err)
{
	redisContext *c = conn->ctx;
	int			done = 0;

	/* write everything, waiting for the socket whenever the kernel is full */
	while (!done)
	{
		if (redisBufferWrite(c, &done) != REDIS_OK)
			return RedisFail(conn, err, "could not send to Redis: %s", c->errstr);
		if (!done && RedisWait(conn, WL_SOCKET_WRITEABLE, deadline) == 0)
			return RedisFail(conn, err, "timed out sending to Redis");
	}

	for (int i = 0; i < nreplies; i++)
	{
		void	   *reply = NULL;

		for (;;)
		{
			if (redisGetReplyFromReader(c, &reply) != REDIS_OK)
				return RedisFail(conn, err, "could not parse a Redis reply: %s", c->errstr);
			if (reply != NULL)
				break;
			if (RedisWait(conn, WL_SOCKET_READABLE, deadline) == 0)
				return RedisFail(conn, err, "timed out waiting for Redis");
			if (redisBufferRead(c) != REDIS_OK)
				return RedisFail(conn, err, "lost the connection to Redis: %s",
								 c->err == REDIS_ERR_EOF ? "server closed the connection" : c->errstr);
		}
		RedisCopyReply((redisReply *) reply, &results[i]);
		freeReplyObject(reply);
	}
	return true;
}

/*
 * RedisWait waits until the socket is ready for events or the deadline
 * passes (returns 0), handling interrupts meanwhile.
 */
static int
RedisWait(RedisNode *conn, int events, TimestampTz deadline)
{
	for (;;)
	{
		long		remaining;
		int			rc;

		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (remaining <= 0)
			return 0;
		rc = WaitLatchOrSocket(MyLatch,
							   WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH | events,
							   conn->ctx->fd, remaining, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
		{
			/*
			 * The latch also carries commit wake-ups for the worker; those are
			 * remembered in shared memory, so resetting it here loses nothing.
			 */
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (rc & events)
			return rc & events;
	}
}

/* RedisFail closes the hiredis context and formats *err; returns false */
static bool
RedisFail(RedisNode *conn, char **err, const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		ap;
		int			needed;

		va_start(ap, fmt);
		needed = appendStringInfoVA(&buf, fmt, ap);
		va_end(ap);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	*err = buf.data;
	if (conn->ctx)
	{
		redisFree(conn->ctx);
		conn->ctx = NULL;
	}
	return false;
}

/* RedisCopyReply copies a hiredis reply into palloc'd memory */
static void
RedisCopyReply(redisReply *reply, RedisResult *result)
{
	memset(result, 0, sizeof(RedisResult));
	result->type = reply->type;
	result->integer = reply->integer;
	if (reply->str != NULL)
	{
		result->str = palloc(reply->len + 1);
		memcpy(result->str, reply->str, reply->len);
		result->str[reply->len] = '\0';
		result->len = reply->len;
	}
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0)
	{
		result->nelements = (int) reply->elements;
		result->elements = palloc0(sizeof(RedisResult) * reply->elements);
		for (size_t i = 0; i < reply->elements; i++)
			RedisCopyReply(reply->element[i], &result->elements[i]);
	}
}
