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

#include "redis/redis_io.h"

struct RedisConn
{
	redisContext *ctx;			/* NULL once broken or closed */
};

static bool RedisOpenInner(RedisConn *conn, const RedisOptions *opts, char **err);
static int	RedisWait(RedisConn *conn, int events, TimestampTz deadline);
static bool RedisFail(RedisConn *conn, char **err, const char *fmt,...) pg_attribute_printf(3, 4);
static void RedisCopyReply(redisReply *reply, RedisResult *result);
static bool RedisAppend(RedisConn *conn, int ncmds, RedisCommand *cmds, char **err);
static bool RedisRunInner(RedisConn *conn, int ncmds, RedisCommand *cmds,
						  RedisResult *results, TimestampTz deadline,
						  char **err);
static bool RedisFinishInner(RedisConn *conn, int nreplies, RedisResult *results,
							 TimestampTz deadline, char **err);

/*
 * RedisOpen connects, authenticates and selects the database, or returns
 * NULL with *err set.  The password never appears in *err.
 */
RedisConn *
RedisOpen(const RedisOptions *opts, char **err)
{
	RedisConn  *conn;
	bool		ok;

	conn = MemoryContextAllocZero(TopMemoryContext, sizeof(RedisConn));
	PG_TRY();
	{
		ok = RedisOpenInner(conn, opts, err);
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
		RedisClose(conn);
		return NULL;
	}
	return conn;
}

/* RedisOpenInner does RedisOpen's work; false leaves conn->ctx closed */
static bool
RedisOpenInner(RedisConn *conn, const RedisOptions *opts, char **err)
{
	TimestampTz deadline;
	int			soerr = 0;
	socklen_t	len = sizeof(soerr);
	RedisCommand cmd;
	RedisResult res;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), opts->timeout_ms);
	if (opts->unix_socket && opts->unix_socket[0] != '\0')
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

	if (opts->password && opts->password[0] != '\0')
	{
		RedisCommandSet(&cmd, 2, "AUTH", (size_t) 4,
						opts->password, strlen(opts->password));
		if (!RedisRunInner(conn, 1, &cmd, &res, deadline, err))
			return false;
		if (res.type == REDIS_REPLY_ERROR)
			return RedisFail(conn, err,
							 "Redis refused the password (featstore.redis_password): %s",
							 res.str);
	}
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

/* RedisClose frees the connection; safe on NULL and on broken connections */
void
RedisClose(RedisConn *conn)
{
	if (conn == NULL)
		return;
	if (conn->ctx)
		redisFree(conn->ctx);
	pfree(conn);
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
RedisAppend(RedisConn *conn, int ncmds, RedisCommand *cmds, char **err)
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
RedisRunInner(RedisConn *conn, int ncmds, RedisCommand *cmds,
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
	redisContext *c;
	int			done = 0;

	if (conn == NULL || conn->ctx == NULL)
	{
		*err = pstrdup("the Redis connection is closed");
		return false;
	}
	c = conn->ctx;
	if (!RedisAppend(conn, ncmds, cmds, err))
		return false;
	if (redisBufferWrite(c, &done) != REDIS_OK)
		return RedisFail(conn, err, "could not send to Redis: %s", c->errstr);
	return true;
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
	bool		ok;

	if (conn == NULL || conn->ctx == NULL)
	{
		*err = pstrdup("the Redis connection is closed");
		return false;
	}
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
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
RedisFinishInner(RedisConn *conn, int nreplies, RedisResult *results,
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
RedisWait(RedisConn *conn, int events, TimestampTz deadline)
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
RedisFail(RedisConn *conn, char **err, const char *fmt,...)
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
