/*
 * online_worker.h
 *		The materialization worker's own declarations, shared by its three
 *		files and by nothing else: online_worker.c (the main loop and the
 *		Redis connection), online_batch.c (one batch) and online_push.c (the
 *		Redis writes).  The rest of featstore uses online.h.
 */
#ifndef FEATSTORE_ONLINE_WORKER_H
#define FEATSTORE_ONLINE_WORKER_H

#include "online/online.h"

/* Commands per pipeline round trip; bounds hiredis' buffers */
#define PUSH_CHUNK 1000
/* Longest wait between retries of a group in error, or of a batch that failed */
#define BACKOFF_MAX_MS 5000
/*
 * How often the worker asks Redis which process it is, even with nothing to
 * write, and the longest wait between reconnection attempts: a Redis that
 * comes back, empty, is met within this time
 */
#define IDENTITY_CHECK_MS 1000

/* One Redis write (or delete) the batch produced */
typedef struct PushItem
{
	int			group_index;
	char	   *key;
	char	   *value;			/* NULL: delete */
	int			value_len;
	bool		force;
	char		ets[24];
	char		cat[24];
	char		expire_ms[24];
} PushItem;

/* Which items one Redis command covers, and how it answers */
typedef struct PushCall
{
	int			first;			/* index of its first item */
	int			n;				/* items covered */
	bool		script;			/* EVALSHA (array of codes), else SET or DEL */
} PushCall;

/* Commands handed to Redis while the batch is still being computed */
typedef struct PushStream
{
	RedisCommand *cmds;			/* at most one per item */
	PushCall   *calls;			/* what each of cmds covers */
	int			ncalls;			/* commands sent so far */
	int			sent_items;		/* items covered by those commands */
	bool		failed;			/* the connection broke while streaming */
	char	   *err;
} PushStream;

/* Per-group bookkeeping of one batch */
typedef struct BatchGroup
{
	char	   *name;			/* NULL ends a batch's array of groups */
	TimestampTz oldest_enqueued;	/* of its captured changes; 0: none */
	int64		entities;		/* queued for it (repeats counted) */
	int64		written;
	int64		removed;
	int64		skipped;
	bool		gone;			/* dropped or offline: its rows just go */
	bool		failed;			/* its work failed: its rows stay queued */
	char	   *error;			/* why, if failed */
	char	   *hint;
} BatchGroup;

/* online_worker.c: the worker's connection, which the batch writes to */
extern RedisConn *WorkerRedis(void);
extern const char *WorkerScriptSha(void);
extern void WorkerDisconnect(void);
extern void WorkerCheckRedisIdentity(void);
extern void WorkerLogError(const char *message, const char *hint);

/* online_batch.c */
extern void BatchInit(void);
extern bool WorkerBatch(MemoryContext batchcxt);
extern void BatchRecordError(const char *error);
extern TimestampTz BatchNextRevisit(void);
extern TimestampTz BatchEarliestRetry(void);

/* online_push.c */
extern void StreamCalls(PushStream *stream, PushItem *items, int nitems, bool final);
extern bool WorkerPush(PushStream *stream, PushItem *items, int nitems,
					   BatchGroup *groups, char **err);
extern bool WorkerPurge(const char *group_name, const char *ns, char **err);

#endif							/* FEATSTORE_ONLINE_WORKER_H */
