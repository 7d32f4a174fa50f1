/*
 * redis_cluster.c
 *		A Redis Cluster behind one RedisConn.
 *
 * hiredis 0.14 knows nothing of Redis Cluster, so this is the small layer
 * that does: the slot map from CLUSTER SLOTS, each command of a pipeline
 * routed to its slot's master (redis_slot.c hashes the key), one pipeline
 * per node, and the redirects.  The rest of featstore sends the commands it
 * sends to a standalone Redis and gets the same replies:
 *
 *	- a command with a key (GET, SET, DEL, UNLINK, PEXPIRE...: the key is the
 *	  first argument) goes to the master of the key's slot;
 *	- EVAL / EVALSHA go to the master of their keys' slot.  A call whose keys
 *	  span slots is split into one call per slot when it has the same number
 *	  of arguments per key (featstore's compare-and-set script: KEYS[i] goes
 *	  with ARGV[5i-4..5i] and the script answers one element per key); the
 *	  arrays the parts answer are put back in key order;
 *	- SCRIPT, PING, FLUSHALL and FLUSHDB go to every master (the first error,
 *	  else the first reply); SCRIPT LOAD bodies are remembered and loaded on
 *	  every node connection opened later (a promoted replica, a restarted
 *	  node); DBSIZE answers the sum over the masters; INFO answers a first
 *	  line "run_id:" with every master's run_id, sorted and comma-separated
 *	  (a failover or a restarted node changes it), then each master's text;
 *	- SCAN walks the masters one after the other, in the order of the lowest
 *	  slot each serves: the cursor it answers is "<slot>@<cursor>" (the
 *	  lowest slot of the node being walked, and that node's cursor), and "0"
 *	  once the last master's walk is done;
 *	- anything else goes to the master of the lowest slot.
 *
 * Faults: MOVED points the slot at the named node, retries there, and
 * refreshes the map once the replies are in; ASK sends ASKING then the
 * command to the named node; TRYAGAIN and CLUSTERDOWN are retried with a
 * backoff of 10 ms doubling to 200 ms, the map refreshed after CLUSTERDOWN;
 * a command whose node connection was lost is sent again, after a refresh,
 * to its slot's master.  Every retry happens within the caller's deadline,
 * at most CLUSTER_MAX_TRIES times per command; after that the last error
 * reply is the command's reply, and a command still without one fails the
 * call.  Retries are safe for featstore's commands: SET, DEL, GET and the
 * compare-and-set script give the same result when run twice.
 *
 * Replies are read in the order the commands were sent, every node's
 * outstanding replies first, before any retry: a node's pipeline is then
 * empty whenever a command is sent to it synchronously.
 */
#include "postgres.h"

#include <hiredis/hiredis.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"

#include "redis/redis_cluster.h"

#define CLUSTER_MAX_NODES 1024
#define CLUSTER_MAX_TRIES 16
#define CLUSTER_BACKOFF_MIN_MS 10
#define CLUSTER_BACKOFF_MAX_MS 200

/* One node of the cluster: a master of the map, a seed, or a redirect's */
typedef struct ClusterNode
{
	char	   *host;
	int			port;
	RedisNode  *conn;			/* NULL until used, or after it failed */
	uint32		generation;		/* counts the connections opened */
	int			lowest;			/* lowest slot it serves; -1: not a master */
	char	   *last_error;		/* why its last connection failed */
} ClusterNode;

/* How the replies of a command's parts make its reply */
typedef enum ClusterMerge
{
	MERGE_ONE,					/* one part: its reply */
	MERGE_KEYS,					/* a script call split by slot: key order */
	MERGE_ALL,					/* every master: the first error, else the first */
	MERGE_SUM,					/* every master (DBSIZE): the sum */
	MERGE_INFO,					/* every master (INFO): run_ids, then the texts */
	MERGE_SCAN					/* one master: its cursor made the walk's */
} ClusterMerge;

/* One command sent to one node */
typedef struct ClusterPart
{
	int			node;			/* index in nodes; -1: answered here */
	uint32		generation;		/* of the node's connection it was sent on */
	int			slot;			/* its key's slot; -1: sent to a node by name */
	RedisCommand cmd;			/* a copy, kept for retries */
	int		   *keypos;			/* MERGE_KEYS: its keys' positions in the call */
	int			nkeys;
	bool		done;			/* res holds its reply */
	RedisResult res;
} ClusterPart;

/* One command of the caller's, made of parts */
typedef struct ClusterCall
{
	ClusterMerge merge;
	int			first;			/* index of its first part */
	int			nparts;
	int			nkeys;			/* MERGE_KEYS: the call's keys */
	int			scan_slot;		/* MERGE_SCAN: the slot naming its node */
} ClusterCall;

struct RedisCluster
{
	MemoryContext cxt;			/* this struct, nodes, options, scripts */
	MemoryContext pending;		/* calls and parts until their replies are returned */
	RedisOptions opts;
	ClusterNode *nodes;
	int			nnodes;
	int			maxnodes;
	int16		slots[REDIS_CLUSTER_SLOTS]; /* master's node index; -1: none */
	bool		stale;			/* the map needs a refresh */
	bool		broken;			/* an ERROR escaped mid-call: unusable */
	List	   *scripts;		/* SCRIPT LOAD bodies */
	ClusterCall *calls;
	int			ncalls;
	int			maxcalls;
	int			returned;		/* calls whose replies were returned */
	ClusterPart *parts;
	int			nparts;
	int			maxparts;

	/*
	 * The commands' copies, in one buffer kept from call to call (grown when
	 * nothing is outstanding): a batch's worth of fresh memory every time
	 * costs the kernel more page clearing than the routing costs.
	 */
	char	   *arena;
	size_t		arena_size;
	size_t		arena_used;
	size_t		arena_want;
};

/* masters of the last map, tried after the seeds by the next open */
static char *remembered_nodes = NULL;

static int	ClusterAddNode(RedisCluster *cl, const char *host, int port);
static void ClusterAddNodeList(RedisCluster *cl, const char *list);
static RedisNode *ClusterNodeConn(RedisCluster *cl, int idx, char **err);
static bool ClusterLoadScripts(RedisCluster *cl, ClusterNode *node, char **err);
static bool ClusterRefresh(RedisCluster *cl, char **err);
static bool ClusterAskSlots(RedisCluster *cl, int idx, char **err);
static bool ClusterApplySlots(RedisCluster *cl, int asked, const RedisResult *res, char **err);
static void ClusterFinishMap(RedisCluster *cl, const int16 *slots);
static void ClusterSendInner(RedisCluster *cl, int ncmds, RedisCommand *cmds);
static void ClusterRoute(RedisCluster *cl, const RedisCommand *cmd);
static bool ClusterRouteScript(RedisCluster *cl, ClusterCall *call, const RedisCommand *cmd);
static void ClusterRouteScan(RedisCluster *cl, ClusterCall *call, const RedisCommand *cmd);
static void ClusterRouteAll(RedisCluster *cl, ClusterCall *call, const RedisCommand *cmd);
static ClusterCall *ClusterNewCall(RedisCluster *cl, ClusterMerge merge);
static ClusterPart *ClusterNewPart(RedisCluster *cl, ClusterCall *call, int node, int slot);
static void ClusterCopyArgs(RedisCluster *cl, RedisCommand *dst, int argc, const char **argv,
							const size_t *argvlen);
static void *ClusterArenaAlloc(RedisCluster *cl, size_t size);
static void ClusterResetPending(RedisCluster *cl);
static void ClusterLocalError(ClusterPart *part, const char *msg);
static int	ClusterFirstMaster(RedisCluster *cl);
static int	ClusterNextMaster(RedisCluster *cl, int after);
static bool ClusterReceiveInner(RedisCluster *cl, int nreplies, RedisResult *results,
								TimestampTz deadline, char **err);
static void ClusterReadParts(RedisCluster *cl, TimestampTz deadline);
static bool ClusterRetryPart(RedisCluster *cl, ClusterPart *part, TimestampTz deadline,
							 char **err);
static int	ClusterRedirectTarget(RedisCluster *cl, ClusterPart *part, bool *asking,
								  int attempt, TimestampTz deadline);
static void ClusterResend(RedisCluster *cl, ClusterPart *part, int target, bool asking,
						  TimestampTz deadline);
static int	ClusterParseRedirect(RedisCluster *cl, const ClusterPart *part, int *slot);
static void ClusterBackoff(int attempt, TimestampTz deadline);
static void ClusterMergeCall(RedisCluster *cl, ClusterCall *call, RedisResult *out);
static void ClusterMergeInfo(RedisCluster *cl, ClusterCall *call, RedisResult *out);
static void ClusterMergeKeys(RedisCluster *cl, ClusterCall *call, RedisResult *out);
static void ClusterMergeScan(RedisCluster *cl, ClusterCall *call, RedisResult *out);
static const RedisResult *ClusterFirstError(RedisCluster *cl, ClusterCall *call);
static void ClusterCopyResult(RedisResult *dst, const RedisResult *src);
static void ClusterBreak(RedisCluster *cl);
static bool ArgIs(const RedisCommand *cmd, int i, const char *word);
static void PutArg(const char **argv, size_t *argvlen, int *a, const RedisCommand *cmd, int i);

/*
 * RedisClusterOpen reads the slot map from the first seed that answers:
 * seed (an open connection to opts->host and opts->port, or NULL), then
 * opts->host and opts->port, the opts->seeds list, and the masters of the
 * last map this process read.  Node connections open when first used.
 * NULL with *err set on failure; seed is closed then.
 */
RedisCluster *
RedisClusterOpen(const RedisOptions *opts, RedisNode *seed, char **err)
{
	MemoryContext cxt;
	RedisCluster *cl;

	if (opts->db != 0 || (opts->unix_socket && opts->unix_socket[0] != '\0'))
	{
		RedisNodeClose(seed);
		*err = pstrdup(opts->db != 0 ?
					   "a Redis Cluster has database 0 only: set featstore.redis_db to 0" :
					   "a Redis Cluster is reached over TCP: unset featstore.redis_unix_socket");
		return NULL;
	}
	cxt = AllocSetContextCreate(TopMemoryContext, "featstore redis cluster",
								ALLOCSET_SMALL_SIZES);
	cl = MemoryContextAllocZero(cxt, sizeof(RedisCluster));
	cl->cxt = cxt;
	cl->pending = AllocSetContextCreate(cxt, "featstore redis cluster pipeline",
										ALLOCSET_DEFAULT_SIZES);
	cl->opts = *opts;
	cl->opts.host = MemoryContextStrdup(cxt, opts->host ? opts->host : "");
	cl->opts.user = MemoryContextStrdup(cxt, opts->user ? opts->user : "");
	cl->opts.password = MemoryContextStrdup(cxt, opts->password ? opts->password : "");
	cl->opts.unix_socket = "";
	cl->opts.seeds = NULL;
	memset(cl->slots, -1, sizeof(cl->slots));

	ClusterAddNode(cl, cl->opts.host, opts->port);
	if (cl->nnodes == 1)
		cl->nodes[0].conn = seed;
	else
		RedisNodeClose(seed);
	ClusterAddNodeList(cl, opts->seeds);
	ClusterAddNodeList(cl, remembered_nodes);
	if (!ClusterRefresh(cl, err))
	{
		RedisClusterClose(cl);
		return NULL;
	}
	return cl;
}

/* RedisClusterClose closes every node connection and frees the cluster */
void
RedisClusterClose(RedisCluster *cl)
{
	if (cl == NULL)
		return;
	for (int i = 0; i < cl->nnodes; i++)
		RedisNodeClose(cl->nodes[i].conn);
	MemoryContextDelete(cl->cxt);
}

/* RedisClusterSeen says whether this process has read a slot map */
bool
RedisClusterSeen(void)
{
	return remembered_nodes != NULL;
}

/* ClusterAddNode returns the index of host:port, added if new; -1 if full */
static int
ClusterAddNode(RedisCluster *cl, const char *host, int port)
{
	ClusterNode *node;

	for (int i = 0; i < cl->nnodes; i++)
		if (cl->nodes[i].port == port && strcmp(cl->nodes[i].host, host) == 0)
			return i;
	if (cl->nnodes >= CLUSTER_MAX_NODES || host[0] == '\0')
		return -1;
	if (cl->nnodes == cl->maxnodes)
	{
		cl->maxnodes = Max(8, cl->maxnodes * 2);
		cl->nodes = cl->nodes ?
			repalloc(cl->nodes, sizeof(ClusterNode) * cl->maxnodes) :
			MemoryContextAlloc(cl->cxt, sizeof(ClusterNode) * cl->maxnodes);
	}
	node = &cl->nodes[cl->nnodes];
	memset(node, 0, sizeof(ClusterNode));
	node->host = MemoryContextStrdup(cl->cxt, host);
	node->port = port;
	node->lowest = -1;
	return cl->nnodes++;
}

/* ClusterAddNodeList adds the nodes of a "host:port,..." list (bad entries skipped) */
static void
ClusterAddNodeList(RedisCluster *cl, const char *list)
{
	const char *pos = list ? list : "";
	char		host[REDIS_HOST_MAX];
	int			port;
	int			r;

	while ((r = RedisNodeListNext(&pos, host, sizeof(host), &port)) != 0)
	{
		if (r == 1)
			ClusterAddNode(cl, host, port);
		else
			pos += strcspn(pos, ", ");
	}
}

/*
 * ClusterNodeConn returns node idx's connection, opening it (and loading
 * the remembered scripts) if needed; NULL with *err if it cannot.
 */
static RedisNode *
ClusterNodeConn(RedisCluster *cl, int idx, char **err)
{
	ClusterNode *node = &cl->nodes[idx];
	char	   *e = NULL;

	if (RedisNodeAlive(node->conn))
		return node->conn;
	RedisNodeClose(node->conn);
	node->conn = NULL;
	node->generation++;
	node->conn = RedisNodeOpen(&cl->opts, node->host, node->port, &e);
	if (node->conn != NULL && !ClusterLoadScripts(cl, node, &e))
	{
		RedisNodeClose(node->conn);
		node->conn = NULL;
	}
	if (node->conn != NULL)
		return node->conn;
	*err = psprintf("Redis node %s:%d: %s", node->host, node->port, e);
	if (node->last_error)
		pfree(node->last_error);
	node->last_error = MemoryContextStrdup(cl->cxt, e);
	return NULL;
}

/* ClusterLoadScripts loads every remembered script on a new connection */
static bool
ClusterLoadScripts(RedisCluster *cl, ClusterNode *node, char **err)
{
	ListCell   *lc;

	foreach(lc, cl->scripts)
	{
		const char *body = lfirst(lc);
		RedisCommand cmd;
		RedisResult res;
		TimestampTz deadline;

		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), cl->opts.timeout_ms);
		RedisCommandSet(&cmd, 3, "SCRIPT", (size_t) 6, "LOAD", (size_t) 4, body, strlen(body));
		if (!RedisNodeAppend(node->conn, 1, &cmd, err) ||
			!RedisNodeReceive(node->conn, 1, &res, deadline, err))
			return false;
		if (res.type == REDIS_REPLY_ERROR)
		{
			*err = psprintf("Redis refused the featstore script: %s", res.str);
			return false;
		}
	}
	return true;
}

/*
 * ClusterRefresh reads the slot map from the first node that answers CLUSTER
 * SLOTS: nodes with an open connection first, then the others in the order
 * they were added (seeds first).  Only call it with no reply outstanding.
 */
static bool
ClusterRefresh(RedisCluster *cl, char **err)
{
	char	   *last = NULL;

	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < cl->nnodes; i++)
		{
			if (RedisNodeAlive(cl->nodes[i].conn) != (pass == 0))
				continue;
			if (ClusterAskSlots(cl, i, &last))
			{
				cl->stale = false;
				return true;
			}
		}
	}
	*err = psprintf("could not read the Redis Cluster slot map from any node: %s",
					last ? last : "no node is known");
	return false;
}

/* ClusterAskSlots asks node idx for the slot map and applies it */
static bool
ClusterAskSlots(RedisCluster *cl, int idx, char **err)
{
	RedisNode  *conn = ClusterNodeConn(cl, idx, err);
	ClusterNode *node = &cl->nodes[idx];
	RedisCommand cmd;
	RedisResult res;
	TimestampTz deadline;
	char	   *e = NULL;

	if (conn == NULL)
		return false;
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), cl->opts.timeout_ms);
	RedisCommandSet(&cmd, 2, "CLUSTER", (size_t) 7, "SLOTS", (size_t) 5);
	if (!RedisNodeAppend(conn, 1, &cmd, &e) ||
		!RedisNodeReceive(conn, 1, &res, deadline, &e))
	{
		*err = psprintf("Redis node %s:%d: %s", node->host, node->port, e);
		return false;
	}
	if (res.type == REDIS_REPLY_ERROR)
	{
		*err = psprintf("Redis at %s:%d is not usable as a Redis Cluster node (featstore.redis_cluster): %s",
						node->host, node->port, res.str);
		return false;
	}
	return ClusterApplySlots(cl, idx, &res, err);
}

/*
 * ClusterApplySlots takes a CLUSTER SLOTS reply: [start, end, [host, port,
 * id...], replicas...] per range.  An empty host is the node asked; "?"
 * (an unknown endpoint) leaves the range unserved.
 */
static bool
ClusterApplySlots(RedisCluster *cl, int asked, const RedisResult *res, char **err)
{
	int16	   *slots = palloc(sizeof(int16) * REDIS_CLUSTER_SLOTS);
	bool		any = false;

	memset(slots, -1, sizeof(int16) * REDIS_CLUSTER_SLOTS);
	for (int r = 0; res->type == REDIS_REPLY_ARRAY && r < res->nelements; r++)
	{
		const RedisResult *range = &res->elements[r];
		const RedisResult *master;
		const char *host;
		int			idx;

		if (range->type != REDIS_REPLY_ARRAY || range->nelements < 3 ||
			range->elements[0].type != REDIS_REPLY_INTEGER ||
			range->elements[1].type != REDIS_REPLY_INTEGER ||
			range->elements[2].type != REDIS_REPLY_ARRAY ||
			range->elements[2].nelements < 2 ||
			range->elements[2].elements[0].type != REDIS_REPLY_STRING ||
			range->elements[2].elements[1].type != REDIS_REPLY_INTEGER ||
			range->elements[0].integer < 0 ||
			range->elements[1].integer >= REDIS_CLUSTER_SLOTS ||
			range->elements[0].integer > range->elements[1].integer)
		{
			*err = pstrdup("unexpected reply to CLUSTER SLOTS");
			return false;
		}
		master = &range->elements[2];
		host = master->elements[0].str[0] ? master->elements[0].str : cl->nodes[asked].host;
		if (strcmp(host, "?") == 0)
			continue;
		idx = ClusterAddNode(cl, host, (int) master->elements[1].integer);
		if (idx < 0)
			continue;
		for (long long s = range->elements[0].integer; s <= range->elements[1].integer; s++)
			slots[s] = (int16) idx;
		any = true;
	}
	if (!any)
	{
		*err = pstrdup("the Redis Cluster serves no slot yet (CLUSTER SLOTS is empty)");
		return false;
	}
	ClusterFinishMap(cl, slots);
	return true;
}

/*
 * ClusterFinishMap installs a new map: each node's lowest slot, connections
 * to nodes that are no longer masters closed, the masters remembered
 */
static void
ClusterFinishMap(RedisCluster *cl, const int16 *slots)
{
	StringInfoData list;

	memcpy(cl->slots, slots, sizeof(cl->slots));
	for (int i = 0; i < cl->nnodes; i++)
		cl->nodes[i].lowest = -1;
	for (int s = REDIS_CLUSTER_SLOTS - 1; s >= 0; s--)
		if (slots[s] >= 0)
			cl->nodes[slots[s]].lowest = s;
	initStringInfo(&list);
	for (int i = 0; i < cl->nnodes; i++)
	{
		if (cl->nodes[i].lowest < 0)
		{
			RedisNodeClose(cl->nodes[i].conn);
			cl->nodes[i].conn = NULL;
			continue;
		}
		appendStringInfo(&list, "%s%s:%d", list.len > 0 ? "," : "",
						 cl->nodes[i].host, cl->nodes[i].port);
	}
	if (remembered_nodes)
		pfree(remembered_nodes);
	remembered_nodes = MemoryContextStrdup(TopMemoryContext, list.data);
	pfree(list.data);
}

/*
 * RedisClusterSend routes each command, queues its parts on their nodes
 * and writes what each socket takes now.  A node that cannot be reached
 * loses its parts, which RedisClusterReceive sends again; so this fails
 * only on a broken cluster connection.
 */
bool
RedisClusterSend(RedisCluster *cl, int ncmds, RedisCommand *cmds, char **err)
{
	if (cl->broken)
	{
		*err = pstrdup("the Redis connection is closed");
		return false;
	}
	PG_TRY();
	{
		ClusterSendInner(cl, ncmds, cmds);
	}
	PG_CATCH();
	{
		/* a cancel while a node connection opened: some commands are queued */
		ClusterBreak(cl);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return true;
}

/* ClusterSendInner does RedisClusterSend's work */
static void
ClusterSendInner(RedisCluster *cl, int ncmds, RedisCommand *cmds)
{
	MemoryContext old;
	int			first;
	char	   *e = NULL;
	bool	   *unreachable;

	if (cl->stale && cl->returned == cl->ncalls)
		(void) ClusterRefresh(cl, &e);
	old = MemoryContextSwitchTo(cl->pending);
	first = cl->nparts;
	for (int i = 0; i < ncmds; i++)
		ClusterRoute(cl, &cmds[i]);

	/* one connection attempt per node and call: a dead node costs one timeout */
	unreachable = palloc0(sizeof(bool) * Max(cl->nnodes, 1));
	for (int p = first; p < cl->nparts; p++)
	{
		ClusterPart *part = &cl->parts[p];
		RedisNode  *conn;

		if (part->node < 0 || unreachable[part->node])
			continue;
		if ((conn = ClusterNodeConn(cl, part->node, &e)) == NULL)
		{
			unreachable[part->node] = true;
			continue;
		}
		part->generation = cl->nodes[part->node].generation;
		(void) RedisNodeAppend(conn, 1, &part->cmd, &e);
	}
	for (int n = 0; n < cl->nnodes; n++)
		if (RedisNodeAlive(cl->nodes[n].conn))
			(void) RedisNodeWrite(cl->nodes[n].conn, &e);
	MemoryContextSwitchTo(old);
}

/* PutArg appends argument i of cmd to argv and argvlen at *a */
static void
PutArg(const char **argv, size_t *argvlen, int *a, const RedisCommand *cmd, int i)
{
	argv[*a] = cmd->argv[i];
	argvlen[*a] = cmd->argvlen[i];
	(*a)++;
}

/* ArgIs says whether argument i of cmd is word, ignoring case */
static bool
ArgIs(const RedisCommand *cmd, int i, const char *word)
{
	size_t		len = strlen(word);

	return i < cmd->argc && cmd->argvlen[i] == len &&
		pg_strncasecmp(cmd->argv[i], word, len) == 0;
}

/* ClusterRoute turns one command into a call and its parts (header comment) */
static void
ClusterRoute(RedisCluster *cl, const RedisCommand *cmd)
{
	static const char *const everywhere[] = {"SCRIPT", "PING", "FLUSHALL", "FLUSHDB"};
	static const char *const keyless[] = {"AUTH", "SELECT", "ECHO", "TIME", "CLUSTER",
		"CONFIG", "KEYS", "RANDOMKEY", "WAIT", "ROLE", "COMMAND", "CLIENT", "MEMORY"};
	ClusterCall *call;
	ClusterPart *part;
	int			slot;

	for (int i = 0; i < (int) lengthof(everywhere); i++)
		if (ArgIs(cmd, 0, everywhere[i]))
		{
			ClusterRouteAll(cl, ClusterNewCall(cl, MERGE_ALL), cmd);
			return;
		}
	if (ArgIs(cmd, 0, "DBSIZE") || ArgIs(cmd, 0, "INFO"))
	{
		ClusterRouteAll(cl, ClusterNewCall(cl, ArgIs(cmd, 0, "INFO") ? MERGE_INFO : MERGE_SUM), cmd);
		return;
	}
	if (ArgIs(cmd, 0, "SCAN"))
	{
		ClusterRouteScan(cl, ClusterNewCall(cl, MERGE_SCAN), cmd);
		return;
	}
	call = ClusterNewCall(cl, MERGE_ONE);
	if ((ArgIs(cmd, 0, "EVALSHA") || ArgIs(cmd, 0, "EVAL")) && ClusterRouteScript(cl, call, cmd))
		return;
	slot = cmd->argc >= 2 ? RedisKeySlot(cmd->argv[1], cmd->argvlen[1]) : -1;
	for (int i = 0; i < (int) lengthof(keyless); i++)
		if (ArgIs(cmd, 0, keyless[i]))
			slot = -1;
	part = ClusterNewPart(cl, call, slot >= 0 ? cl->slots[slot] : ClusterFirstMaster(cl), slot);
	ClusterCopyArgs(cl, &part->cmd, cmd->argc, cmd->argv, cmd->argvlen);
	if (part->node < 0)
		ClusterLocalError(part, "CLUSTERDOWN featstore knows no master for this slot");
}

/*
 * ClusterRouteScript routes EVAL / EVALSHA script numkeys keys... args...
 * by its keys' slot, split per slot when its keys span slots and it has
 * the same number of arguments per key.  False leaves the command to the
 * caller's plain routing (no keys, or keys Redis must refuse: CROSSSLOT).
 */
static bool
ClusterRouteScript(RedisCluster *cl, ClusterCall *call, const RedisCommand *cmd)
{
	char		numtext[16];
	int			nkeys;
	int			stride;
	int		   *keyslot;
	bool	   *placed;

	if (cmd->argc < 3 || cmd->argvlen[2] >= sizeof(numtext))
		return false;
	memcpy(numtext, cmd->argv[2], cmd->argvlen[2]);
	numtext[cmd->argvlen[2]] = '\0';
	nkeys = atoi(numtext);
	if (nkeys <= 0 || nkeys > cmd->argc - 3 || (cmd->argc - 3 - nkeys) % nkeys != 0)
		return false;
	stride = (cmd->argc - 3 - nkeys) / nkeys;
	keyslot = palloc(sizeof(int) * nkeys);
	placed = palloc0(sizeof(bool) * nkeys);
	for (int k = 0; k < nkeys; k++)
		keyslot[k] = RedisKeySlot(cmd->argv[3 + k], cmd->argvlen[3 + k]);
	call->merge = MERGE_KEYS;
	call->nkeys = nkeys;
	for (int k = 0; k < nkeys; k++)
	{
		ClusterPart *part;
		int			m = 0;
		int			a = 0;
		const char **argv;
		size_t	   *argvlen;

		if (placed[k])
			continue;
		part = ClusterNewPart(cl, call, cl->slots[keyslot[k]], keyslot[k]);
		part->keypos = palloc(sizeof(int) * nkeys);
		for (int j = k; j < nkeys; j++)
			if (keyslot[j] == keyslot[k])
			{
				part->keypos[m++] = j;
				placed[j] = true;
			}
		part->nkeys = m;
		argv = palloc(sizeof(char *) * (3 + m * (1 + stride)));
		argvlen = palloc(sizeof(size_t) * (3 + m * (1 + stride)));
		PutArg(argv, argvlen, &a, cmd, 0);
		PutArg(argv, argvlen, &a, cmd, 1);
		argv[a] = psprintf("%d", m);
		argvlen[a] = strlen(argv[a]);
		a++;
		for (int j = 0; j < m; j++)
			PutArg(argv, argvlen, &a, cmd, 3 + part->keypos[j]);
		for (int j = 0; j < m; j++)
			for (int s = 0; s < stride; s++)
				PutArg(argv, argvlen, &a, cmd, 3 + nkeys + part->keypos[j] * stride + s);
		ClusterCopyArgs(cl, &part->cmd, a, argv, argvlen);
		if (part->node < 0)
			ClusterLocalError(part, "CLUSTERDOWN featstore knows no master for this slot");
	}
	return true;
}

/*
 * ClusterRouteScan sends SCAN to the master its cursor names ("0": the
 * first master; "<slot>@<cursor>": the master of that slot)
 */
static void
ClusterRouteScan(RedisCluster *cl, ClusterCall *call, const RedisCommand *cmd)
{
	const char **argv = palloc(sizeof(char *) * Max(cmd->argc, 2));
	size_t	   *argvlen = palloc(sizeof(size_t) * Max(cmd->argc, 2));
	char	   *cursor = cmd->argc >= 2 ? pnstrdup(cmd->argv[1], cmd->argvlen[1]) : pstrdup("");
	char	   *at = strchr(cursor, '@');
	const char *node_cursor = NULL;
	char	   *stop = NULL;
	long		slot = -1;
	ClusterPart *part;

	memcpy(argv, cmd->argv, sizeof(char *) * cmd->argc);
	memcpy(argvlen, cmd->argvlen, sizeof(size_t) * cmd->argc);
	if (strcmp(cursor, "0") == 0)
	{
		int			first = ClusterFirstMaster(cl);

		slot = first >= 0 ? cl->nodes[first].lowest : -1;
		node_cursor = "0";
	}
	else if (at != NULL)
	{
		slot = strtol(cursor, &stop, 10);
		if (stop == at)
			node_cursor = at + 1;
	}
	if (node_cursor == NULL || slot < 0 || slot >= REDIS_CLUSTER_SLOTS)
	{
		part = ClusterNewPart(cl, call, -1, -1);
		ClusterLocalError(part, "ERR not a featstore Redis Cluster SCAN cursor");
		return;
	}
	argv[1] = node_cursor;
	argvlen[1] = strlen(node_cursor);
	call->scan_slot = (int) slot;
	part = ClusterNewPart(cl, call, cl->slots[slot], (int) slot);
	ClusterCopyArgs(cl, &part->cmd, cmd->argc, argv, argvlen);
	if (part->node < 0)
		ClusterLocalError(part, "CLUSTERDOWN featstore knows no master for this slot");
}

/* ClusterRouteAll sends a command to every master, in slot order */
static void
ClusterRouteAll(RedisCluster *cl, ClusterCall *call, const RedisCommand *cmd)
{
	if (ArgIs(cmd, 0, "SCRIPT") && ArgIs(cmd, 1, "LOAD") && cmd->argc == 3)
	{
		char	   *body = MemoryContextAlloc(cl->cxt, cmd->argvlen[2] + 1);
		ListCell   *lc;

		memcpy(body, cmd->argv[2], cmd->argvlen[2]);
		body[cmd->argvlen[2]] = '\0';
		foreach(lc, cl->scripts)
			if (strcmp(lfirst(lc), body) == 0)
				break;
		if (lc == NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(cl->cxt);

			cl->scripts = lappend(cl->scripts, body);
			MemoryContextSwitchTo(old);
		}
	}
	for (int n = ClusterFirstMaster(cl); n >= 0;
		 n = ClusterNextMaster(cl, cl->nodes[n].lowest))
	{
		ClusterPart *part = ClusterNewPart(cl, call, n, -1);

		ClusterCopyArgs(cl, &part->cmd, cmd->argc, cmd->argv, cmd->argvlen);
	}
	if (call->nparts == 0)
		ClusterLocalError(ClusterNewPart(cl, call, -1, -1),
						  "CLUSTERDOWN featstore knows no master");
}

/* ClusterFirstMaster returns the master of the lowest served slot, or -1 */
static int
ClusterFirstMaster(RedisCluster *cl)
{
	return ClusterNextMaster(cl, -1);
}

/* ClusterNextMaster returns the master with the smallest lowest slot > after */
static int
ClusterNextMaster(RedisCluster *cl, int after)
{
	int			best = -1;

	for (int i = 0; i < cl->nnodes; i++)
		if (cl->nodes[i].lowest > after &&
			(best < 0 || cl->nodes[i].lowest < cl->nodes[best].lowest))
			best = i;
	return best;
}

/* ClusterNewCall appends a call (the array is kept from call to call) */
static ClusterCall *
ClusterNewCall(RedisCluster *cl, ClusterMerge merge)
{
	ClusterCall *call;

	if (cl->ncalls == cl->maxcalls)
	{
		cl->maxcalls = Max(64, cl->maxcalls * 2);
		cl->calls = cl->calls ? repalloc(cl->calls, sizeof(ClusterCall) * cl->maxcalls) :
			MemoryContextAlloc(cl->cxt, sizeof(ClusterCall) * cl->maxcalls);
	}
	call = &cl->calls[cl->ncalls++];
	memset(call, 0, sizeof(ClusterCall));
	call->merge = merge;
	call->first = cl->nparts;
	return call;
}

/* ClusterNewPart appends a part of call for node (and slot, -1 if none) */
static ClusterPart *
ClusterNewPart(RedisCluster *cl, ClusterCall *call, int node, int slot)
{
	ClusterPart *part;

	if (cl->nparts == cl->maxparts)
	{
		cl->maxparts = Max(64, cl->maxparts * 2);
		cl->parts = cl->parts ? repalloc(cl->parts, sizeof(ClusterPart) * cl->maxparts) :
			MemoryContextAlloc(cl->cxt, sizeof(ClusterPart) * cl->maxparts);
	}
	part = &cl->parts[cl->nparts++];
	memset(part, 0, sizeof(ClusterPart));
	part->node = node;
	part->slot = slot;
	call->nparts++;
	return part;
}

/* ClusterCopyArgs copies a command's arguments into the arena */
static void
ClusterCopyArgs(RedisCluster *cl, RedisCommand *dst, int argc, const char **argv,
				const size_t *argvlen)
{
	size_t		total = 0;
	char	   *buf;

	for (int i = 0; i < argc; i++)
		total += argvlen[i];
	dst->argc = argc;
	dst->argv = ClusterArenaAlloc(cl, sizeof(char *) * Max(argc, 1));
	dst->argvlen = ClusterArenaAlloc(cl, sizeof(size_t) * Max(argc, 1));
	buf = ClusterArenaAlloc(cl, Max(total, 1));
	for (int i = 0; i < argc; i++)
	{
		memcpy(buf, argv[i], argvlen[i]);
		dst->argv[i] = buf;
		dst->argvlen[i] = argvlen[i];
		buf += argvlen[i];
	}
}

/*
 * ClusterArenaAlloc takes size bytes (aligned) from the arena, or from the
 * pending context when the arena is full; the arena is grown to what was
 * wanted at the next ClusterResetPending
 */
static void *
ClusterArenaAlloc(RedisCluster *cl, size_t size)
{
	void	   *p;

	size = MAXALIGN(size);
	cl->arena_want += size;
	if (cl->arena_used + size > cl->arena_size)
		return MemoryContextAlloc(cl->pending, size);
	p = cl->arena + cl->arena_used;
	cl->arena_used += size;
	return p;
}

/*
 * ClusterResetPending forgets every call once all replies are returned,
 * keeping the arrays and the arena (grown, at most 64 MB, if a call wanted
 * more than it had)
 */
static void
ClusterResetPending(RedisCluster *cl)
{
	MemoryContextReset(cl->pending);
	cl->ncalls = cl->returned = cl->nparts = 0;
	if (cl->arena_want > cl->arena_size && cl->arena_want <= 64 * 1024 * 1024)
	{
		if (cl->arena)
			pfree(cl->arena);
		cl->arena_size = cl->arena_want + cl->arena_want / 4;
		cl->arena = MemoryContextAlloc(cl->cxt, cl->arena_size);
	}
	cl->arena_used = cl->arena_want = 0;
}

/* ClusterLocalError answers a part here with an error reply */
static void
ClusterLocalError(ClusterPart *part, const char *msg)
{
	part->node = -1;
	part->done = true;
	memset(&part->res, 0, sizeof(RedisResult));
	part->res.type = REDIS_REPLY_ERROR;
	part->res.str = pstrdup(msg);
	part->res.len = strlen(msg);
}

/*
 * RedisClusterReceive collects the replies of the first nreplies commands
 * not yet answered, by the deadline.  An ERROR raised meanwhile (query
 * cancel) leaves the cluster connection unusable.
 */
bool
RedisClusterReceive(RedisCluster *cl, int nreplies, RedisResult *results,
					TimestampTz deadline, char **err)
{
	bool		ok;

	if (cl->broken)
	{
		*err = pstrdup("the Redis connection is closed");
		return false;
	}
	if (nreplies > cl->ncalls - cl->returned)
	{
		*err = psprintf("%d Redis replies were asked for, but only %d commands are outstanding",
						nreplies, cl->ncalls - cl->returned);
		return false;
	}
	PG_TRY();
	{
		ok = ClusterReceiveInner(cl, nreplies, results, deadline, err);
	}
	PG_CATCH();
	{
		ClusterBreak(cl);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (!ok)
		ClusterBreak(cl);
	return ok;
}

/* ClusterReceiveInner does RedisClusterReceive's work */
static bool
ClusterReceiveInner(RedisCluster *cl, int nreplies, RedisResult *results,
					TimestampTz deadline, char **err)
{
	MemoryContext caller = CurrentMemoryContext;
	int			end = cl->returned + nreplies;
	char	   *e = NULL;

	ClusterReadParts(cl, deadline);
	MemoryContextSwitchTo(cl->pending);
	for (int c = cl->returned; c < end; c++)
	{
		ClusterCall *call = &cl->calls[c];

		for (int p = call->first; p < call->first + call->nparts; p++)
			if (!ClusterRetryPart(cl, &cl->parts[p], deadline, err))
			{
				MemoryContextSwitchTo(caller);
				return false;
			}
	}
	MemoryContextSwitchTo(caller);
	for (int c = cl->returned; c < end; c++)
		ClusterMergeCall(cl, &cl->calls[c], &results[c - cl->returned]);
	cl->returned = end;
	if (cl->returned == cl->ncalls)
		ClusterResetPending(cl);
	if (cl->stale)
		(void) ClusterRefresh(cl, &e);
	return true;
}

/*
 * ClusterReadParts reads the reply of every outstanding part, in the order
 * they were sent.  A part whose connection failed (or was replaced) stays
 * without a reply, for ClusterRetryPart.
 */
static void
ClusterReadParts(RedisCluster *cl, TimestampTz deadline)
{
	MemoryContext old = MemoryContextSwitchTo(cl->pending);
	int			first = cl->returned < cl->ncalls ? cl->calls[cl->returned].first : cl->nparts;

	for (int p = first; p < cl->nparts; p++)
	{
		ClusterPart *part = &cl->parts[p];
		ClusterNode *node;
		char	   *e = NULL;

		if (part->done || part->node < 0)
			continue;
		node = &cl->nodes[part->node];
		if (!RedisNodeAlive(node->conn) || node->generation != part->generation)
			continue;
		if (RedisNodeReceive(node->conn, 1, &part->res, deadline, &e))
			part->done = true;
		else
		{
			if (node->last_error)
				pfree(node->last_error);
			node->last_error = MemoryContextStrdup(cl->cxt, e);
			cl->stale = true;
		}
	}
	MemoryContextSwitchTo(old);
}

/*
 * ClusterRetryPart follows a part's redirects and retries until it has a
 * reply that is not one (the header comment); false with *err when it
 * still has no reply at the deadline or after CLUSTER_MAX_TRIES
 */
static bool
ClusterRetryPart(RedisCluster *cl, ClusterPart *part, TimestampTz deadline, char **err)
{
	for (int attempt = 0;; attempt++)
	{
		bool		asking = false;
		bool		late = GetCurrentTimestamp() >= deadline;
		int			target;

		if (part->done && (part->res.type != REDIS_REPLY_ERROR ||
						   (strncmp(part->res.str, "MOVED ", 6) != 0 &&
							strncmp(part->res.str, "ASK ", 4) != 0 &&
							strncmp(part->res.str, "TRYAGAIN", 8) != 0 &&
							strncmp(part->res.str, "CLUSTERDOWN", 11) != 0)))
			return true;
		if (part->done && (late || attempt >= CLUSTER_MAX_TRIES))
			return true;		/* the redirect error is the reply */
		if (!part->done && (late || attempt >= CLUSTER_MAX_TRIES || part->slot < 0))
		{
			const char *why = part->node >= 0 ? cl->nodes[part->node].last_error : NULL;

			*err = psprintf("lost the connection to Redis Cluster node %s:%d: %s",
							part->node >= 0 ? cl->nodes[part->node].host : "?",
							part->node >= 0 ? cl->nodes[part->node].port : 0,
							why ? why : (late ? "timed out" : "no reply"));
			return false;
		}
		target = ClusterRedirectTarget(cl, part, &asking, attempt, deadline);
		if (target < 0)
			continue;
		ClusterResend(cl, part, target, asking, deadline);
	}
}

/*
 * ClusterRedirectTarget picks the node a part goes to next: the one MOVED
 * or ASK names, or (TRYAGAIN, CLUSTERDOWN, a lost connection: after a
 * backoff and, but for TRYAGAIN, a refresh) its slot's master.  -1 when
 * there is none yet: the part is then answered CLUSTERDOWN here.
 */
static int
ClusterRedirectTarget(RedisCluster *cl, ClusterPart *part, bool *asking, int attempt,
					  TimestampTz deadline)
{
	char	   *e = NULL;
	int			slot;
	int			target;

	if (part->done && (strncmp(part->res.str, "MOVED ", 6) == 0 ||
					   strncmp(part->res.str, "ASK ", 4) == 0))
	{
		*asking = (part->res.str[1] == 'S');
		target = ClusterParseRedirect(cl, part, &slot);
		if (target >= 0 && !*asking)
		{
			cl->slots[slot] = (int16) target;
			cl->stale = true;
		}
		if (target >= 0)
			return target;
	}
	ClusterBackoff(attempt, deadline);
	if (!part->done || strncmp(part->res.str, "TRYAGAIN", 8) != 0)
		(void) ClusterRefresh(cl, &e);
	target = part->slot >= 0 ? cl->slots[part->slot] : part->node;
	if (target < 0)
		ClusterLocalError(part, "CLUSTERDOWN featstore knows no master for this slot");
	return target;
}

/*
 * ClusterParseRedirect reads "MOVED <slot> <host>:<port>" (or ASK) of a
 * part's reply; returns the node's index (added if new) and sets *slot,
 * or -1 if the reply does not parse.  An empty host is the replying node's.
 */
static int
ClusterParseRedirect(RedisCluster *cl, const ClusterPart *part, int *slot)
{
	const char *p = strchr(part->res.str, ' ');
	const char *addr;
	const char *colon;
	char		host[REDIS_HOST_MAX];
	char	   *stop;
	long		port;

	if (p == NULL)
		return -1;
	*slot = (int) strtol(p + 1, &stop, 10);
	if (*stop != ' ' || *slot < 0 || *slot >= REDIS_CLUSTER_SLOTS)
		return -1;
	addr = stop + 1;
	colon = strrchr(addr, ':');
	if (colon == NULL || (size_t) (colon - addr) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &stop, 10);
	if (*stop != '\0' || port < 1 || port > 65535)
		return -1;
	if (colon == addr && part->node >= 0)
		strlcpy(host, cl->nodes[part->node].host, sizeof(host));
	else
	{
		memcpy(host, addr, colon - addr);
		host[colon - addr] = '\0';
	}
	return ClusterAddNode(cl, host, (int) port);
}

/*
 * ClusterResend sends a part to node target (after ASKING if asking) and
 * waits for its reply; a failure leaves the part without one
 */
static void
ClusterResend(RedisCluster *cl, ClusterPart *part, int target, bool asking,
			  TimestampTz deadline)
{
	ClusterNode *node = &cl->nodes[target];
	RedisNode  *conn;
	RedisCommand cmds[2];
	RedisResult res[2];
	int			n = 0;
	char	   *e = NULL;

	part->node = target;
	part->done = false;
	conn = ClusterNodeConn(cl, target, &e);
	if (conn == NULL)
		return;
	if (asking)
		RedisCommandSet(&cmds[n++], 1, "ASKING", (size_t) 6);
	cmds[n++] = part->cmd;
	part->generation = node->generation;
	if (!RedisNodeAppend(conn, n, cmds, &e) ||
		!RedisNodeReceive(conn, n, res, deadline, &e))
	{
		if (node->last_error)
			pfree(node->last_error);
		node->last_error = MemoryContextStrdup(cl->cxt, e);
		cl->stale = true;
		return;
	}
	part->res = res[n - 1];
	part->done = true;
}

/* ClusterBackoff sleeps 10 ms << attempt, at most 200 ms, never past deadline */
static void
ClusterBackoff(int attempt, TimestampTz deadline)
{
	long		ms = CLUSTER_BACKOFF_MIN_MS << Min(attempt, 5);
	long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

	ms = Min(Min(ms, CLUSTER_BACKOFF_MAX_MS), left);
	if (ms <= 0)
		return;
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
					 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* ClusterMergeCall makes a call's reply from its parts', in the caller's memory */
static void
ClusterMergeCall(RedisCluster *cl, ClusterCall *call, RedisResult *out)
{
	ClusterPart *first = &cl->parts[call->first];
	const RedisResult *error = ClusterFirstError(cl, call);

	switch (call->merge)
	{
		case MERGE_ONE:
			ClusterCopyResult(out, &first->res);
			break;
		case MERGE_ALL:
			ClusterCopyResult(out, error ? error : &first->res);
			break;
		case MERGE_SUM:
			ClusterCopyResult(out, error ? error : &first->res);
			for (int p = call->first + 1; !error && p < call->first + call->nparts; p++)
				if (out->type == REDIS_REPLY_INTEGER && cl->parts[p].res.type == REDIS_REPLY_INTEGER)
					out->integer += cl->parts[p].res.integer;
			break;
		case MERGE_INFO:
			if (error)
				ClusterCopyResult(out, error);
			else
				ClusterMergeInfo(cl, call, out);
			break;
		case MERGE_KEYS:
			ClusterMergeKeys(cl, call, out);
			break;
		case MERGE_SCAN:
			ClusterMergeScan(cl, call, out);
			break;
	}
}

/* ClusterFirstError returns the first error reply among a call's parts */
static const RedisResult *
ClusterFirstError(RedisCluster *cl, ClusterCall *call)
{
	for (int p = call->first; p < call->first + call->nparts; p++)
		if (cl->parts[p].res.type == REDIS_REPLY_ERROR)
			return &cl->parts[p].res;
	return NULL;
}

/* qsort comparator of C strings */
static int
CompareStrings(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * ClusterMergeInfo answers INFO for the whole cluster: "run_id:" and every
 * master's run_id, sorted, comma-separated; then each master's reply after
 * a "# featstore node host:port" line
 */
static void
ClusterMergeInfo(RedisCluster *cl, ClusterCall *call, RedisResult *out)
{
	StringInfoData buf;
	char	  **ids = palloc0(sizeof(char *) * call->nparts);
	int			nids = 0;

	for (int p = call->first; p < call->first + call->nparts; p++)
	{
		const char *text = cl->parts[p].res.str;
		const char *id = text ? strstr(text, "run_id:") : NULL;

		if (id != NULL)
		{
			id += strlen("run_id:");
			ids[nids++] = pnstrdup(id, strcspn(id, "\r\n"));
		}
	}
	qsort(ids, nids, sizeof(char *), CompareStrings);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "run_id:");
	for (int i = 0; i < nids; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? "," : "", ids[i]);
	appendStringInfoString(&buf, "\r\n");
	for (int p = call->first; p < call->first + call->nparts; p++)
	{
		ClusterPart *part = &cl->parts[p];

		appendStringInfo(&buf, "# featstore node %s:%d\r\n",
						 part->node >= 0 ? cl->nodes[part->node].host : "?",
						 part->node >= 0 ? cl->nodes[part->node].port : 0);
		if (part->res.str)
			appendBinaryStringInfo(&buf, part->res.str, (int) part->res.len);
	}
	memset(out, 0, sizeof(RedisResult));
	out->type = REDIS_REPLY_STRING;
	out->str = buf.data;
	out->len = buf.len;
}

/*
 * ClusterMergeKeys puts a split script call's arrays back in key order; a
 * part that answered anything else (an error: NOSCRIPT...) is the reply
 */
static void
ClusterMergeKeys(RedisCluster *cl, ClusterCall *call, RedisResult *out)
{
	for (int p = call->first; p < call->first + call->nparts; p++)
	{
		ClusterPart *part = &cl->parts[p];

		if (part->res.type != REDIS_REPLY_ARRAY || part->res.nelements != part->nkeys)
		{
			ClusterCopyResult(out, &part->res);
			return;
		}
	}
	memset(out, 0, sizeof(RedisResult));
	out->type = REDIS_REPLY_ARRAY;
	out->nelements = call->nkeys;
	out->elements = palloc0(sizeof(RedisResult) * call->nkeys);
	for (int p = call->first; p < call->first + call->nparts; p++)
	{
		ClusterPart *part = &cl->parts[p];

		for (int j = 0; j < part->nkeys; j++)
			ClusterCopyResult(&out->elements[part->keypos[j]], &part->res.elements[j]);
	}
}

/*
 * ClusterMergeScan makes a node's SCAN reply the walk's: its cursor
 * "<slot>@<cursor>", or at the node's end the next master's start, or "0"
 * after the last master
 */
static void
ClusterMergeScan(RedisCluster *cl, ClusterCall *call, RedisResult *out)
{
	ClusterPart *part = &cl->parts[call->first];
	const RedisResult *res = &part->res;
	int			next;

	ClusterCopyResult(out, res);
	if (res->type != REDIS_REPLY_ARRAY || res->nelements != 2 ||
		res->elements[0].type != REDIS_REPLY_STRING)
		return;
	pfree(out->elements[0].str);
	if (strcmp(res->elements[0].str, "0") != 0)
		out->elements[0].str = psprintf("%d@%s", call->scan_slot, res->elements[0].str);
	else if ((next = ClusterNextMaster(cl, call->scan_slot)) >= 0)
		out->elements[0].str = psprintf("%d@0", cl->nodes[next].lowest);
	else
		out->elements[0].str = pstrdup("0");
	out->elements[0].len = strlen(out->elements[0].str);
}

/* ClusterCopyResult deep-copies a reply into the current memory context */
static void
ClusterCopyResult(RedisResult *dst, const RedisResult *src)
{
	*dst = *src;
	if (src->str != NULL)
	{
		dst->str = palloc(src->len + 1);
		memcpy(dst->str, src->str, src->len);
		dst->str[src->len] = '\0';
	}
	if (src->nelements > 0)
	{
		dst->elements = palloc(sizeof(RedisResult) * src->nelements);
		for (int i = 0; i < src->nelements; i++)
			ClusterCopyResult(&dst->elements[i], &src->elements[i]);
	}
}

/*
 * ClusterBreak makes the connection unusable after a failure or an ERROR
 * mid-call: replies could be out of step with the commands
 */
static void
ClusterBreak(RedisCluster *cl)
{
	for (int i = 0; i < cl->nnodes; i++)
	{
		RedisNodeClose(cl->nodes[i].conn);
		cl->nodes[i].conn = NULL;
	}
	cl->broken = true;
}
