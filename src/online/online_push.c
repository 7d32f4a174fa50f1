/*
 * online_push.c
 *		The Redis write pipeline of a batch, and the purge of a group's keys.
 *
 * While a batch is computed, its finished commands are handed to the socket
 * as they are built (StreamCalls), never waiting; with no transaction open,
 * WorkerPush sends the rest and collects every reply.  Unforced writes go
 * through the compare-and-set script (online_codec.c's OnlineCasScript), up
 * to ONLINE_CAS_BATCH keys per call; forced writes and deletes are plain SET
 * and DEL.
 */
#include "postgres.h"

#include <hiredis/hiredis.h>

#include "miscadmin.h"

#include "online/online.h"
#include "online/online_worker.h"

static bool WorkerPushSync(PushItem *items, int nitems, BatchGroup *groups, char **err);
static bool ReloadScript(char **err);
static int	NextCall(RedisCommand *cmd, PushCall *call, PushItem *items, int nitems,
					 int pos, bool final);
static void BuildCasCall(RedisCommand *cmd, PushItem *items, int n);
static void CountCasReplies(RedisResult *res, PushCall *calls, int ncalls, PushItem *items,
							BatchGroup *groups, bool *noscript);
static void CountPlainReply(RedisResult *res, PushItem *it, BatchGroup *cg);
static void CountScriptCodes(RedisResult *res, PushItem *items, BatchGroup *cg);
static void FailCallGroup(BatchGroup *cg, char *error);
static bool UnlinkKeys(const RedisResult *keys, int nkeys, char **err);

/*
 * WorkerPush finishes a batch whose script calls were partly streamed while
 * it was computed: sends the rest, collects every reply and counts the
 * outcomes.  False with *err on failure (the worker's connection closed if
 * the connection itself failed).  After NOSCRIPT (Redis restarted meanwhile)
 * the whole batch is sent again once the script is loaded.
 */
bool
WorkerPush(PushStream *stream, PushItem *items, int nitems, BatchGroup *groups,
		   char **err)
{
	RedisResult *res;
	bool		noscript = false;

	StreamCalls(stream, items, nitems, true);
	if (stream->failed)
	{
		*err = stream->err;
		WorkerDisconnect();
		return false;
	}
	if (stream->ncalls == 0)
		return true;
	res = palloc(sizeof(RedisResult) * stream->ncalls);
	if (!RedisReceive(WorkerRedis(), stream->ncalls, res, online_redis_timeout_ms, err))
	{
		WorkerDisconnect();
		return false;
	}
	CountCasReplies(res, stream->calls, stream->ncalls, items, groups, &noscript);
	if (noscript)
	{
		if (!ReloadScript(err))
			return false;
		for (int g = 0; groups[g].name != NULL; g++)
			groups[g].written = groups[g].removed = groups[g].skipped = 0;
		return WorkerPushSync(items, nitems, groups, err);
	}
	return true;
}

/*
 * ReloadScript loads the compare-and-set script again, into a Redis that
 * forgot it; its SHA1 stays the same
 */
static bool
ReloadScript(char **err)
{
	RedisCommand load;
	RedisResult lres;
	const char *script = OnlineCasScript();

	RedisCommandSet(&load, 3, "SCRIPT", (size_t) 6, "LOAD", (size_t) 4,
					script, strlen(script));
	if (!RedisRun(WorkerRedis(), 1, &load, &lres, online_redis_timeout_ms, err))
	{
		WorkerDisconnect();
		return false;
	}
	return true;
}

/*
 * StreamCalls sends the commands for items not yet sent: a script call only
 * when it is whole (ONLINE_CAS_BATCH items) unless final.  Never waits; a
 * broken connection is remembered in the stream.
 */
void
StreamCalls(PushStream *stream, PushItem *items, int nitems, bool final)
{
	int			first = stream->ncalls;

	if (stream->failed || WorkerRedis() == NULL)
	{
		if (!stream->failed)
		{
			stream->failed = true;
			stream->err = pstrdup("the Redis connection is closed");
		}
		return;
	}
	while (stream->sent_items < nitems)
	{
		int			n = NextCall(&stream->cmds[stream->ncalls], &stream->calls[stream->ncalls],
								 items, nitems, stream->sent_items, final);

		if (n == 0)
			break;
		stream->ncalls++;
		stream->sent_items += n;
	}
	if (stream->ncalls > first &&
		!RedisSend(WorkerRedis(), stream->ncalls - first, stream->cmds + first, &stream->err))
		stream->failed = true;
}

/*
 * NextCall builds the command for the items from pos on and returns how many
 * it covers (0: wait for more items).  A forced write or a delete compares
 * nothing, so it is a plain SET (PXAT the expiry) or DEL, cheaper for Redis
 * than the script and answered the same way; the single worker is the only
 * writer, in queue order.  Unforced writes go through the compare-and-set
 * script, up to ONLINE_CAS_BATCH per call.
 */
static int
NextCall(RedisCommand *cmd, PushCall *call, PushItem *items, int nitems, int pos,
		 bool final)
{
	PushItem   *it = &items[pos];
	int			n = 0;

	call->first = pos;
	if (it->value == NULL)
	{
		RedisCommandSet(cmd, 2, "DEL", (size_t) 3, it->key, strlen(it->key));
		call->n = 1;
		call->script = false;
		return 1;
	}
	if (it->force)
	{
		if (strcmp(it->expire_ms, "0") != 0)
			RedisCommandSet(cmd, 5, "SET", (size_t) 3, it->key, strlen(it->key),
							it->value, (size_t) it->value_len,
							"PXAT", (size_t) 4, it->expire_ms, strlen(it->expire_ms));
		else
			RedisCommandSet(cmd, 3, "SET", (size_t) 3, it->key, strlen(it->key),
							it->value, (size_t) it->value_len);
		call->n = 1;
		call->script = false;
		return 1;
	}
	/* one group per call, so that an error reply is that group's alone */
	while (pos + n < nitems && n < ONLINE_CAS_BATCH &&
		   items[pos + n].value != NULL && !items[pos + n].force &&
		   items[pos + n].group_index == it->group_index)
		n++;
	/* a short run at the end may still grow, unless this is the last call */
	if (n < ONLINE_CAS_BATCH && pos + n == nitems && !final)
		return 0;
	BuildCasCall(cmd, it, n);
	call->n = n;
	call->script = true;
	return n;
}

/* BuildCasCall fills one EVALSHA of the compare-and-set script for n items */
static void
BuildCasCall(RedisCommand *cmd, PushItem *items, int n)
{
	char	   *numkeys = psprintf("%d", n);
	const char *sha = WorkerScriptSha();
	int			a = 0;

	cmd->argv = palloc(sizeof(char *) * (3 + 6 * n));
	cmd->argvlen = palloc(sizeof(size_t) * (3 + 6 * n));
	cmd->argv[a] = "EVALSHA";
	cmd->argvlen[a++] = 7;
	cmd->argv[a] = sha;
	cmd->argvlen[a++] = strlen(sha);
	cmd->argv[a] = numkeys;
	cmd->argvlen[a++] = strlen(numkeys);
	for (int i = 0; i < n; i++)
	{
		cmd->argv[a] = items[i].key;
		cmd->argvlen[a++] = strlen(items[i].key);
	}
	for (int i = 0; i < n; i++)
	{
		PushItem   *it = &items[i];

		cmd->argv[a] = it->force ? "1" : "0";
		cmd->argvlen[a++] = 1;
		cmd->argv[a] = it->ets;
		cmd->argvlen[a++] = strlen(it->ets);
		cmd->argv[a] = it->cat;
		cmd->argvlen[a++] = strlen(it->cat);
		cmd->argv[a] = it->value ? it->value : "";
		cmd->argvlen[a++] = it->value_len;
		cmd->argv[a] = it->expire_ms;
		cmd->argvlen[a++] = strlen(it->expire_ms);
	}
	cmd->argc = a;
}

/*
 * CountCasReplies checks the replies of ncalls commands (calls says which
 * items each covers) and adds their outcomes to the groups' counters.  An
 * unexpected reply fails the group of its items (each call covers one
 * group), whose rows then stay queued; the other groups are unaffected.
 * *noscript is set if Redis had forgotten the script.
 */
static void
CountCasReplies(RedisResult *res, PushCall *calls, int ncalls, PushItem *items,
				BatchGroup *groups, bool *noscript)
{
	for (int c = 0; c < ncalls; c++)
	{
		int			first = calls[c].first;
		BatchGroup *cg = &groups[items[first].group_index];

		if (!calls[c].script)
			CountPlainReply(&res[c], &items[first], cg);
		else if (res[c].type == REDIS_REPLY_ERROR && strncmp(res[c].str, "NOSCRIPT", 8) == 0)
			*noscript = true;
		else if (res[c].type != REDIS_REPLY_ARRAY || res[c].nelements != calls[c].n)
			FailCallGroup(cg, psprintf("unexpected Redis reply to the featstore script for key \"%s\": %s",
									   items[first].key,
									   res[c].str ? res[c].str : "not an array of codes"));
		else
			CountScriptCodes(&res[c], &items[first], cg);
	}
}

/* CountPlainReply counts the reply to a plain SET or DEL of item it */
static void
CountPlainReply(RedisResult *res, PushItem *it, BatchGroup *cg)
{
	if (it->value == NULL && res->type == REDIS_REPLY_INTEGER)
	{
		if (res->integer == 1)
			cg->removed++;
	}
	else if (it->value != NULL && res->type == REDIS_REPLY_STATUS)
		cg->written++;
	else
		FailCallGroup(cg, psprintf("unexpected Redis reply to %s of key \"%s\": %s",
								   it->value ? "SET" : "DEL", it->key,
								   res->str ? res->str : "not a status or an integer"));
}

/*
 * CountScriptCodes counts the codes a script call answered, one per item
 * from items on: 1 written, 0 skipped (a newer value was kept), 2 removed
 */
static void
CountScriptCodes(RedisResult *res, PushItem *items, BatchGroup *cg)
{
	for (int i = 0; i < res->nelements; i++)
	{
		RedisResult *code = &res->elements[i];

		if (code->type != REDIS_REPLY_INTEGER)
		{
			FailCallGroup(cg, psprintf("unexpected Redis reply to the featstore script for key \"%s\"",
									   items[i].key));
			continue;
		}
		if (code->integer == 1)
			cg->written++;
		else if (code->integer == 0)
			cg->skipped++;
		else if (code->integer == 2)
			cg->removed++;
	}
}

/* FailCallGroup fails a call's group with error, unless it failed already */
static void
FailCallGroup(BatchGroup *cg, char *error)
{
	if (cg->failed)
		return;
	cg->failed = true;
	cg->hint = NULL;
	cg->error = error;
}

/*
 * WorkerPushSync sends the whole batch again, up to PUSH_CHUNK items per
 * round trip, waiting for each; used after the script had to be reloaded.
 */
static bool
WorkerPushSync(PushItem *items, int nitems, BatchGroup *groups, char **err)
{
	RedisCommand *cmds = palloc(sizeof(RedisCommand) * PUSH_CHUNK);
	PushCall   *calls = palloc(sizeof(PushCall) * PUSH_CHUNK);
	RedisResult *res = palloc(sizeof(RedisResult) * PUSH_CHUNK);

	for (int start = 0; start < nitems;)
	{
		int			ncalls = 0;
		int			pos = start;
		bool		noscript = false;

		while (pos < nitems && pos - start < PUSH_CHUNK - ONLINE_CAS_BATCH)
		{
			pos += NextCall(&cmds[ncalls], &calls[ncalls], items, nitems, pos, true);
			ncalls++;
		}
		if (!RedisRun(WorkerRedis(), ncalls, cmds, res, online_redis_timeout_ms, err))
		{
			WorkerDisconnect();
			return false;
		}
		CountCasReplies(res, calls, ncalls, items, groups, &noscript);
		if (noscript)
		{
			*err = pstrdup("Redis keeps forgetting the featstore script (NOSCRIPT)");
			return false;
		}
		start = pos;
	}
	return true;
}

/* PurgePage is WorkerPurge's OnlineForEachKey callback: unlink one page */
static OnlineKeysStep
PurgePage(void *arg, const RedisResult *keys, int nkeys, char **err)
{
	int64	   *removed = (int64 *) arg;

	if (!UnlinkKeys(keys, nkeys, err))
		return ONLINE_KEYS_FAIL;
	*removed += nkeys;
	return ONLINE_KEYS_NEXT;
}

/*
 * WorkerPurge removes every Redis key of a group in namespace ns (NULL: the
 * database's), SCAN page by SCAN page, with the same key walk
 * verify_online() samples with.
 */
bool
WorkerPurge(const char *group_name, const char *ns, char **err)
{
	StringInfoData pattern;
	int64		removed = 0;

	initStringInfo(&pattern);
	OnlineKeyPattern(&pattern, ns, group_name);
	switch (OnlineForEachKey(WorkerRedis(), pattern.data, 0, PurgePage, &removed, err))
	{
		case ONLINE_KEYS_DONE:
			break;
		case ONLINE_KEYS_REDIS_FAILED:
			WorkerDisconnect();
			return false;
		default:
			/* UnlinkKeys has disconnected already if Redis failed */
			return false;
	}
	OnlineGroupKeysRemoved(group_name, removed);
	return true;
}

/* UnlinkKeys removes the keys of one SCAN page, PUSH_CHUNK per round trip */
static bool
UnlinkKeys(const RedisResult *keys, int nkeys, char **err)
{
	RedisCommand *cmds = palloc(sizeof(RedisCommand) * PUSH_CHUNK);
	RedisResult *res = palloc(sizeof(RedisResult) * PUSH_CHUNK);

	for (int start = 0; start < nkeys; start += PUSH_CHUNK)
	{
		int			n = Min(PUSH_CHUNK, nkeys - start);

		for (int i = 0; i < n; i++)
			RedisCommandSet(&cmds[i], 2, "UNLINK", (size_t) 6,
							keys[start + i].str, keys[start + i].len);
		if (!RedisRun(WorkerRedis(), n, cmds, res, online_redis_timeout_ms, err))
		{
			WorkerDisconnect();
			return false;
		}
	}
	pfree(cmds);
	pfree(res);
	return true;
}
