/*
 * online.h
 *		Declarations shared by the online-store files.
 *
 *	online_guc.c		the settings, and Redis connection options from them
 *	online_status.c		shared memory: the worker's state, per-group counters,
 *						walk progress, and copies of them for the status views
 *	online_worker.c		the materialization worker: its main loop, its Redis
 *						connection and Redis' identity
 *	online_batch.c		one batch: claiming queue rows, computing winners,
 *						recording the outcome, parking, backoff
 *	online_push.c		the Redis write pipeline of a batch, and the purge
 *	online_capture.c	change capture triggers, commit wake-up, group changes,
 *						featstore.materialize()
 *	online_group.c		group metadata and the winner query
 *	online_scan.c		the ordered walk that rematerializes a whole group
 *	online_codec.c		Redis key and msgpack value layout
 *	online_namespace.c	the namespace of the database's keys, and its move
 *	online_keys.c		the SCAN walk over a group's keys, entity lists for
 *						winner queries
 *	online_read.c		online_features(), verify_online(), status SRF
 *	online_launcher.c	the launcher: waits for the served database, then
 *						runs and restarts the worker
 *	online_window.c		groups defined FROM a source: their values at an
 *						instant (the window engine), their whole-group refill
 */
#ifndef FEATSTORE_ONLINE_H
#define FEATSTORE_ONLINE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/jsonb.h"

#include "featstore.h"
#include "redis/redis_io.h"

/* Queue table of entities whose Redis value must be recomputed */
#define ONLINE_QUEUE_TABLE "online_queue"

/* Most entities one queue row holds; keeps every batch bounded */
#define ONLINE_QUEUE_CHUNK 1000

/*
 * Entities per compare-and-set script call.  Fewer calls is much faster;
 * on Redis Cluster the keys of one call would have to share a slot.
 */
#define ONLINE_CAS_BATCH 64

/*
 * Most rows per queued entity, on average over the key range of a batch,
 * for which one ordered pass over the range beats an index probe per entity
 */
#define ONLINE_RANGE_ROWS_PER_ENTITY 4

/*
 * The settings under which feature values the codec stores as text are
 * written, whatever the session's (the worker's, and verify_online()'s)
 */
#define ONLINE_DATESTYLE "ISO, YMD"
#define ONLINE_INTERVALSTYLE "postgres"
#define ONLINE_FLOAT_DIGITS "1"

/*
 * Consecutive attempts on a queue row that did not finish (the worker died
 * meanwhile) after which the row is parked: state 'failed', never retried
 * until materialize() of its group.  The queue's column comments say 3.
 */
#define ONLINE_MAX_ATTEMPTS 3

/*
 * Most groups whose counters shared memory tracks; past it, the group that
 * went longest without a successful batch makes room
 */
#define ONLINE_MAX_GROUPS 128
#define ONLINE_ERRMSG_LEN 256

/* Longest online namespace, in bytes (featstore.online_namespace's check) */
#define ONLINE_NAMESPACE_MAXLEN 128

/* Worker states shown in materialization_status */
typedef enum OnlineWorkerState
{
	ONLINE_STATE_STOPPED = 0,
	ONLINE_STATE_STARTING,
	ONLINE_STATE_WAITING_EXTENSION,
	ONLINE_STATE_WAITING_UPDATE,
	ONLINE_STATE_CONNECTING,
	ONLINE_STATE_IDLE,
	ONLINE_STATE_PUSHING,
	ONLINE_STATE_REDIS_DOWN,
	ONLINE_STATE_ERROR
} OnlineWorkerState;

/* Per-group counters kept in shared memory (a hash table entry) */
typedef struct OnlineGroupStatus
{
	Oid			dboid;			/* hash key: the database, */
	char		name[NAMEDATALEN];	/* and the group */
	TimestampTz last_success;
	int64		lag_usecs;		/* commit to Redis, last batch */
	int64		entities_written;
	int64		keys_removed;
	int64		rows_skipped;	/* compare-and-set kept a newer value */
	TimestampTz last_error_at;
	char		last_error[ONLINE_ERRMSG_LEN];
} OnlineGroupStatus;

/* Phases of a whole-group walk shown in materialization_progress */
typedef enum OnlineWalkPhase
{
	ONLINE_WALK_READING = 0,
	ONLINE_WALK_WRITING,
	ONLINE_WALK_RECORDING,
	ONLINE_WALK_WAITING_REDIS,
	ONLINE_WALK_WAITING_RETRY
} OnlineWalkPhase;

/*
 * The whole-group walk the worker is on (one at a time), counted from when
 * this worker took it up
 */
typedef struct OnlineWalkProgress
{
	int64		queue_id;		/* its queue row; 0: none */
	char		group[NAMEDATALEN];
	OnlineWalkPhase phase;
	int64		done;			/* entities written, chunks recorded */
	int64		total;			/* entities left when taken up */
	TimestampTz started;
	TimestampTz updated;		/* when done last changed */
} OnlineWalkProgress;

/*
 * Shared state between backends and the worker; the per-group counters are
 * in a hash table of their own (online_status.c)
 */
typedef struct OnlineShared
{
	slock_t		mutex;			/* protects everything below */
	Oid			dboid;			/* the slot's database; InvalidOid: free */
	bool		no_extension;	/* the worker left: featstore is not installed */
	int			monitor_pid;	/* the monitor worker of the database; 0: none */
	bool		ns_claimed;		/* the worker writes under namespace: */
	char		namespace[ONLINE_NAMESPACE_MAXLEN + 1];
	TimestampTz ns_since;		/* since when, the first claimant keeping it */
	int			worker_pid;
	Latch	   *worker_latch;
	bool		wakeup_pending;
	OnlineWorkerState state;
	TimestampTz state_since;
	TimestampTz last_success;
	TimestampTz last_error_at;
	char		last_error[ONLINE_ERRMSG_LEN];
	int64		batches;
	/* the batch in progress, set once its attempt is recorded in the queue */
	int64		busy_first_id;	/* its first queue row; 0: none */
	int			busy_rows;
	char		busy_group[NAMEDATALEN];	/* the group of its first row */
	OnlineWalkProgress walk;
} OnlineShared;

/*
 * Most databases the launcher keeps track of (candidates of the filter
 * featstore.database); past it, further databases are not served
 */
#define ONLINE_LAUNCHER_MAX_DBS 256

/* What the launcher knows of a database (featstore.online_databases()) */
typedef enum OnlineDbState
{
	ONLINE_DB_UNKNOWN = 0,		/* not scouted yet */
	ONLINE_DB_ABSENT,			/* featstore is not installed there */
	ONLINE_DB_INSTALLED,		/* installed: served if a slot was free */
} OnlineDbState;

/* One database of the launcher's, published for the status function */
typedef struct OnlineLauncherDb
{
	Oid			dboid;
	char		name[NAMEDATALEN];
	OnlineDbState state;
	bool		served;			/* its workers have a slot */
	bool		stopping;		/* no longer a candidate: its workers stop */
} OnlineLauncherDb;

/*
 * The launcher's shared area: its latch (commits of CREATE EXTENSION set
 * it), the scout's answer, the databases it knows
 */
typedef struct OnlineLauncherShared
{
	slock_t		mutex;			/* protects everything below */
	Latch	   *latch;
	bool		rescan;			/* an extension was created somewhere: look again */
	Oid			scout_db;		/* the database the running scout looks at */
	int			scout_result;	/* -1: no answer yet; 0: absent; 1: installed */
	int			unserved;		/* databases with featstore beyond the bound */
	int			ndbs;
	OnlineLauncherDb dbs[FLEXIBLE_ARRAY_MEMBER];
} OnlineLauncherShared;

/* Everything the online store needs to know about one group */
typedef struct OnlineGroup
{
	char	   *name;
	char	   *qualified_table;	/* quoted schema.table */
	Oid			relid;
	char	   *entity_name;
	int			nkeys;
	char	  **key_names;
	Oid		   *key_types;
	int			nfeatures;
	char	  **feature_names;
	Oid		   *feature_types;
	int64		ttl_usecs;		/* 0: no TTL */
	bool		online;
	FsGroup    *registry;		/* the registry's definition, for its checks */
} OnlineGroup;

/*
 * One entity's state at an instant, as the worker turns it into a Redis
 * write: its winner (if any row is current and within the TTL) and the
 * earliest row dated after the instant (if any), to revisit then
 */
typedef struct OnlineWinner
{
	char	  **key_values;		/* key columns as text */
	bool		force;			/* write even over a newer stored value */
	bool		found;			/* a winner exists; else the key must not */
	TimestampTz event_ts;
	TimestampTz created_at;
	Datum	   *values;			/* features, in group order */
	bool	   *nulls;
	bool		has_future;
	TimestampTz next_future;
	bool		window;			/* a source group's: expires_at, not the TTL */
	TimestampTz expires_at;		/* last valid instant; DT_NOEND: never */
} OnlineWinner;

typedef void (*OnlineEmitFn) (void *arg, const OnlineWinner *winner);

/* Keys asked of each SCAN call by OnlineForEachKey */
#define ONLINE_SCAN_COUNT 1000

/* What an OnlineForEachKey callback tells the walk after a page of keys */
typedef enum OnlineKeysStep
{
	ONLINE_KEYS_NEXT,			/* go on */
	ONLINE_KEYS_STOP,			/* enough: end the walk (not an error) */
	ONLINE_KEYS_FAIL			/* end the walk with the error in *err */
} OnlineKeysStep;

/* How OnlineForEachKey ended */
typedef enum OnlineKeysEnd
{
	ONLINE_KEYS_DONE,			/* every page seen, or the callback stopped */
	ONLINE_KEYS_REDIS_FAILED,	/* *err; close the connection */
	ONLINE_KEYS_BAD_REPLY,		/* *err: SCAN's reply was not SCAN's shape */
	ONLINE_KEYS_TOO_MANY_CALLS, /* max_calls reached, cursor not back at 0 */
	ONLINE_KEYS_CALLBACK_FAILED /* *err: the callback returned FAIL */
} OnlineKeysEnd;

typedef OnlineKeysStep (*OnlineKeysFn) (void *arg, const RedisResult *keys,
										int nkeys, char **err);

/* online_guc.c */
extern char *online_database;
extern int	online_max_workers;
extern char *online_redis_host;
extern int	online_redis_port;
extern char *online_redis_unix_socket;
extern char *online_redis_user;
extern char *online_redis_password;
extern char *online_redis_password_file;
extern int	online_redis_db;
extern int	online_redis_timeout_ms;
extern int	online_redis_cluster;
extern char *online_redis_cluster_nodes;
extern char *online_key_prefix;
extern int	online_batch_size;
extern int	online_poll_interval_ms;

extern void OnlineDefineSettings(void);
extern bool OnlineRedisOptions(RedisOptions *opts, char **err);

/* online_status.c: any backend */
extern OnlineShared *online_shared;
extern OnlineLauncherShared *online_launcher;

extern void OnlineStatusShmemInit(void);
extern void OnlineWakeWorker(void);
extern void OnlineRecordGroupError(const char *group, const char *msg);
extern const char *OnlineStateName(OnlineWorkerState state);
extern const char *OnlineWalkPhaseName(OnlineWalkPhase phase);
extern void OnlineCopyWorkerStatus(OnlineShared *snap);
extern OnlineGroupStatus *OnlineCopyGroupStatuses(int *n);
extern void OnlineCopyWalkProgress(OnlineWalkProgress *walk);

/* online_status.c: the launcher's slots, the monitor's pid */
extern bool OnlineClaimSlot(Oid dboid);
extern void OnlineReleaseSlot(Oid dboid);
extern void OnlineReleaseAllSlots(void);
extern void OnlineSlotPids(Oid dboid, int *worker_pid, int *monitor_pid, bool *no_extension);
extern void OnlineForgetDatabase(Oid dboid);
extern void OnlinePublishMonitor(Oid dboid, int pid);
extern void OnlineStopDatabaseWorkers(Oid dboid);
extern Oid	OnlineClaimNamespace(const char *ns);
extern Oid	OnlineNamespaceUser(const char *ns);

/* online_status.c: the worker publishing its state */
extern void OnlineWorkerAttach(Oid dboid, int64 *left_id, int *left_rows, char *left_group);
extern void OnlineWorkerNoExtension(void);
extern void OnlineWorkerDetach(void);
extern void OnlineSetWorkerState(OnlineWorkerState state, const char *error);
extern OnlineWorkerState OnlineWorkerStateNow(void);
extern void OnlineSetWorkerIdle(void);
extern void OnlineTakeWakeup(void);
extern bool OnlineWakeupPending(void);
extern void OnlineSetBusy(int64 first_id, int rows, const char *group);
extern void OnlineClearBusy(void);
extern void OnlineBatchDone(TimestampTz now);
extern void OnlineGroupSucceeded(const char *group, TimestampTz now,
								 TimestampTz oldest_enqueued, int64 written,
								 int64 removed, int64 skipped);
extern void OnlineGroupKeysRemoved(const char *group, int64 removed);
extern void OnlineWalkBegin(int64 queue_id, const char *group, int64 entities);
extern void OnlineWalkSetPhase(int64 queue_id, OnlineWalkPhase phase);
extern void OnlineWalkAdvance(int64 queue_id, int emitted, bool finished);

/* online_worker.c */
extern void OnlineInit(void);
PGDLLEXPORT void OnlineWorkerMain(Datum main_arg);

/* online_batch.c */

/* online_capture.c */
extern void OnlineCaptureInit(void);
extern int64 OnlineEnqueueGroup(const OnlineGroup *group, TimestampTz since,
								bool force);
extern int64 OnlineEnqueueKeys(const OnlineGroup *group, TimestampTz since,
							   bool force);
extern Oid	OnlineCaptureSkip(Oid relid);
extern int64 OnlineEnqueueEntities(const OnlineGroup *group, const char *entities_sql,
								   int nargs, Oid *argtypes, Datum *args);
extern void OnlineEnqueuePurge(const char *group_name);
extern void OnlineEnqueuePurgeIn(const char *group_name, const char *ns);
extern int64 OnlineRetryParked(const char *group_name);

/* online_group.c */
extern OnlineGroup *OnlineLoadGroup(const char *name, bool missing_ok);
extern OnlineGroup *OnlineGroupFromRegistry(FsGroup *fs);
extern OnlineGroup *OnlineLoadServedGroup(const char *name, const char *hint_tail);
extern bool OnlineGroupReadable(const OnlineGroup *group, Oid roleid);
extern void OnlineCheckGroupReadable(const OnlineGroup *group, const char *action);
extern char *OnlineWinnerQuery(const OnlineGroup *group, const char *entities_sql);
extern char *OnlineWinnerRangeQuery(const OnlineGroup *group, const char *entities_sql);
extern bool OnlineExtensionReady(void);

/* online_scan.c */
extern Oid	OnlineScanIndex(const OnlineGroup *group);
extern bool OnlineScanChunk(const OnlineGroup *group, Oid indexoid,
							char **resume_after, TimestampTz since,
							TimestampTz now, int limit, OnlineEmitFn emit,
							void *arg, char ***last_keys, int *emitted);

/* online_codec.c */
extern int	OnlineBeginCanonicalText(void);
extern void OnlineEndCanonicalText(int level);
extern void OnlineAppendKey(StringInfo buf, const OnlineGroup *group,
							char **key_values);
extern void OnlineKeyPattern(StringInfo buf, const char *ns, const char *group_name);
extern bool OnlineParseKey(const OnlineGroup *group, const char *key, size_t len,
						   char **key_values);
extern void OnlineEncodeValue(StringInfo buf, const OnlineGroup *group,
							  TimestampTz event_ts, TimestampTz created_at,
							  TimestampTz materialized_at, Datum *values,
							  bool *isnull);
extern void OnlineEncodeValueExpiring(StringInfo buf, const OnlineGroup *group,
									  TimestampTz event_ts, TimestampTz created_at,
									  TimestampTz materialized_at,
									  TimestampTz expires_at, Datum *values,
									  bool *isnull);
extern void OnlineEncodeFeatures(StringInfo buf, const OnlineGroup *group,
								 Datum *values, bool *isnull);
extern bool OnlineDecodeValue(const char *data, size_t len, TimestampTz *event_ts,
							  TimestampTz *created_at, TimestampTz *materialized_at,
							  TimestampTz *expires_at, StringInfo features_raw,
							  Jsonb **features);
extern char *OnlineValueProblem(const char *data, size_t len);
extern int64 OnlineUnixUsecs(TimestampTz ts);
extern TimestampTz OnlineFromUnixUsecs(int64 usecs);
extern const char *OnlineCasScript(void);

/* online_namespace.c */
extern const char *OnlineNamespace(void);
extern bool OnlineNamespaceStored(void);

/* online_keys.c */
extern OnlineKeysEnd OnlineForEachKey(RedisConn *conn, const char *pattern,
									  int64 max_calls, OnlineKeysFn fn,
									  void *arg, char **err);
extern void OnlineAppendEntityListSql(StringInfo buf, int nkeys, int param,
									  bool flags);

/* online_window.c */
extern bool OnlineIsSourceGroup(const OnlineGroup *group);
extern void OnlineCheckSource(const OnlineGroup *group);
extern void OnlineWindowWinners(const OnlineGroup *group, Datum queued, bool flags,
								TimestampTz now, OnlineEmitFn emit, void *arg);
extern int64 OnlineEnqueueSourceGroup(const OnlineGroup *group, TimestampTz since,
									  bool force);

/* online_read.c */
extern bool OnlineServesDatabase(void);
extern void OnlineRequireServedDatabase(void);

/*
 * A difference OnlineVerifyGroup found: the entity as a text[] of its key
 * values, the problem ("missing in Redis", "stale key in Redis", "different
 * winner", ...), and the expected and actual values as jsonb (NULL: none)
 */
typedef void (*OnlineDifferenceFn) (void *arg, Datum entity, const char *problem,
									Jsonb *expected, Jsonb *actual);
extern int64 OnlineVerifyGroup(const char *name, int32 sample, const char *hint_tail,
							   OnlineDifferenceFn fn, void *arg);

/* online_launcher.c */
extern void OnlineLauncherRegister(void);
extern void OnlineLauncherHooks(void);
extern const char *OnlineWorkerDatabaseName(void);
PGDLLEXPORT void OnlineLauncherMain(Datum main_arg);
PGDLLEXPORT void OnlineScoutMain(Datum main_arg);

#endif							/* FEATSTORE_ONLINE_H */
