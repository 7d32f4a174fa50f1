/*
 * online_keys.c
 *		Walking the Redis keys of a group, and handing a list of entities to
 *		a winner query.
 *
 * Both are needed by the worker (purging a group, computing a batch's
 * winners) and by verify_online(), so they are written once here.
 */
#include "postgres.h"

#include <hiredis/hiredis.h>

#include "miscadmin.h"

#include "online/online.h"

/*
 * OnlineForEachKey walks the keys matching pattern with SCAN, ONLINE_SCAN_COUNT
 * per call, and hands each page of keys that SCAN returns to fn, which may
 * send its own commands on conn (the cursor lives in the reply, not in the
 * connection) and may stop the walk early.  Each call can be cancelled.
 * max_calls bounds the walk (0: no bound): a server whose cursor never
 * returns to 0 must not keep the caller forever.
 *
 * Nothing is raised here, so the worker can handle failures its own way:
 * the result says how the walk ended and *err says why it failed.  After
 * ONLINE_KEYS_REDIS_FAILED the connection is unusable and the caller must
 * close it.
 */
OnlineKeysEnd
OnlineForEachKey(RedisConn *conn, const char *pattern, int64 max_calls,
				 OnlineKeysFn fn, void *arg, char **err)
{
	char		cursor[32] = "0";
	int64		ncalls = 0;

	do
	{
		RedisCommand scan;
		RedisResult sres;
		OnlineKeysStep step;

		CHECK_FOR_INTERRUPTS();
		if (max_calls > 0 && ++ncalls > max_calls)
			return ONLINE_KEYS_TOO_MANY_CALLS;
		RedisCommandSet(&scan, 6, "SCAN", (size_t) 4, cursor, strlen(cursor),
						"MATCH", (size_t) 5, pattern, strlen(pattern),
						"COUNT", (size_t) 5, CppAsString2(ONLINE_SCAN_COUNT),
						strlen(CppAsString2(ONLINE_SCAN_COUNT)));
		if (!RedisRun(conn, 1, &scan, &sres, online_redis_timeout_ms, err))
			return ONLINE_KEYS_REDIS_FAILED;
		if (sres.type != REDIS_REPLY_ARRAY || sres.nelements != 2 ||
			sres.elements[0].type != REDIS_REPLY_STRING ||
			sres.elements[1].type != REDIS_REPLY_ARRAY)
		{
			*err = psprintf("unexpected Redis reply to SCAN: %s",
							sres.str ? sres.str : "bad shape");
			return ONLINE_KEYS_BAD_REPLY;
		}
		strlcpy(cursor, sres.elements[0].str, sizeof(cursor));
		step = fn(arg, sres.elements[1].elements, sres.elements[1].nelements, err);
		if (step == ONLINE_KEYS_FAIL)
			return ONLINE_KEYS_CALLBACK_FAILED;
		if (step == ONLINE_KEYS_STOP)
			break;
	} while (strcmp(cursor, "0") != 0);
	return ONLINE_KEYS_DONE;
}

/*
 * OnlineAppendEntityListSql appends a query over the text array parameter
 * $param, one row per entity: [entity][k1..kn] or, with flags,
 * [entity][k1..kn, force, future].  It yields the columns k1..kn (and
 * force and future as booleans) that OnlineWinnerQuery's entities_sql must.
 * One column slice per key column is unnested side by side: reading
 * $param[i][k] element by element would decompress the array each time.
 */
void
OnlineAppendEntityListSql(StringInfo buf, int nkeys, int param, bool flags)
{
	int			ncols = flags ? nkeys + 2 : nkeys;

	appendStringInfoString(buf, "SELECT ");
	for (int k = 0; k < nkeys; k++)
		appendStringInfo(buf, "%su.k%d", k > 0 ? ", " : "", k + 1);
	if (flags)
		appendStringInfoString(buf,
							   ", u.force::pg_catalog.bool AS force, u.future::pg_catalog.bool AS future");
	appendStringInfoString(buf, " FROM ROWS FROM (");
	for (int c = 0; c < ncols; c++)
		appendStringInfo(buf, "%spg_catalog.unnest($%d[:][%d:%d])",
						 c > 0 ? ", " : "", param, c + 1, c + 1);
	appendStringInfoString(buf, ") u(");
	for (int k = 0; k < nkeys; k++)
		appendStringInfo(buf, "%sk%d", k > 0 ? ", " : "", k + 1);
	if (flags)
		appendStringInfoString(buf, ", force, future");
	appendStringInfoChar(buf, ')');
}
