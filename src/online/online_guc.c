/*
 * online_guc.c
 *		The online store's settings: their definitions, their checks, and the
 *		Redis connection options built from them.
 *
 * The worker, online reads and the codec all read these variables; only this
 * file defines them.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/guc.h"

#include "online/online.h"

/* Settings */
char	   *online_database = NULL;
int			online_max_workers = 8;
char	   *online_redis_host = NULL;
int			online_redis_port = 6379;
char	   *online_redis_unix_socket = NULL;
char	   *online_redis_user = NULL;
char	   *online_redis_password = NULL;
char	   *online_redis_password_file = NULL;
int			online_redis_db = 0;
static bool online_redis_tls = false;
int			online_redis_timeout_ms = 2000;
int			online_redis_cluster = REDIS_CLUSTER_OFF;
char	   *online_redis_cluster_nodes = NULL;
char	   *online_key_prefix = NULL;
int			online_batch_size = 10000;
int			online_poll_interval_ms = 1000;

static void DefineRedisSettings(GucContext startup_only);
static bool CheckRedisTls(bool *newval, void **extra, GucSource source);
static bool CheckKeyPrefix(char **newval, void **extra, GucSource source);
static bool CheckClusterNodes(char **newval, void **extra, GucSource source);

static const struct config_enum_entry redis_cluster_options[] = {
	{"off", REDIS_CLUSTER_OFF, false},
	{"on", REDIS_CLUSTER_ON, false},
	{"auto", REDIS_CLUSTER_AUTO, false},
	{"false", REDIS_CLUSTER_OFF, true},
	{"true", REDIS_CLUSTER_ON, true},
	{NULL, 0, false}
};

/*
 * OnlineDefineSettings defines every featstore.* setting of the online store
 *
 * PostgreSQL allows PGC_POSTMASTER settings only while preloading; a backend
 * that loads featstore later (no shared_preload_libraries) must still come
 * up, so there they become reloadable.  Without preloading there is no
 * worker, and these settings only serve online reads.
 */
void
OnlineDefineSettings(void)
{
	GucContext	startup_only = process_shared_preload_libraries_in_progress ?
		PGC_POSTMASTER : PGC_SIGHUP;

	DefineCustomStringVariable("featstore.database",
							   "Database whose online feature groups the workers serve; empty: every database where featstore is installed.",
							   NULL, &online_database, "",
							   startup_only, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.max_online_workers",
							"Most databases served at once, each with an online worker and a monitor worker.",
							"Each served database takes two of max_worker_processes.",
							&online_max_workers, 8, 1, ONLINE_LAUNCHER_MAX_DBS,
							startup_only, 0, NULL, NULL, NULL);
	DefineRedisSettings(startup_only);
	DefineCustomStringVariable("featstore.redis_key_prefix",
							   "Prefix of every online-store key in Redis.",
							   "After changing it, run featstore.materialize() for each online group.",
							   &online_key_prefix, "fs",
							   PGC_SIGHUP, 0, CheckKeyPrefix, NULL, NULL);
	DefineCustomIntVariable("featstore.online_batch_size",
							"Most entities the materialization worker handles per batch.",
							NULL, &online_batch_size, 10000, 1, 100000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.online_poll_interval",
							"How often the materialization worker looks at the queue when no commit woke it.",
							NULL, &online_poll_interval_ms, 1000, 10, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* DefineRedisSettings defines the settings of the connection to Redis */
static void
DefineRedisSettings(GucContext startup_only)
{
	DefineCustomStringVariable("featstore.redis_host",
							   "Redis host name or IP address of the online store.",
							   "Use an address or a name in /etc/hosts: name resolution cannot be interrupted.",
							   &online_redis_host, "127.0.0.1",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.redis_port",
							"TCP port of the Redis online store.",
							NULL, &online_redis_port, 6379, 1, 65535,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("featstore.redis_unix_socket",
							   "Unix socket path of Redis; when set, host and port are ignored.",
							   NULL, &online_redis_unix_socket, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("featstore.redis_user",
							   "Redis ACL user: AUTH user password (empty: AUTH password, the default user).",
							   "The password comes from featstore.redis_password or featstore.redis_password_file.",
							   &online_redis_user, "",
							   PGC_SIGHUP, 0, NULL, NULL, NULL);
	/*
	 * A reload logs every changed setting with its new value, so the password
	 * itself only changes with a restart; rotate it through the file instead.
	 */
	DefineCustomStringVariable("featstore.redis_password",
							   "Password for Redis AUTH (changes need a restart).",
							   "Visible to superusers only; never logged. To rotate without a restart, use featstore.redis_password_file.",
							   &online_redis_password, "",
							   startup_only,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("featstore.redis_password_file",
							   "File whose first line is the Redis AUTH password; read at every connection, and preferred over featstore.redis_password.",
							   NULL, &online_redis_password_file, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("featstore.redis_db",
							"Redis database number of the online store.",
							NULL, &online_redis_db, 0, 0, 100000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("featstore.redis_cluster",
							 "Whether Redis is a Redis Cluster: off, on, or auto (asks the server with INFO cluster).",
							 "Seeds: featstore.redis_host and featstore.redis_port, then featstore.redis_cluster_nodes.",
							 &online_redis_cluster, REDIS_CLUSTER_OFF, redis_cluster_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("featstore.redis_cluster_nodes",
							   "More Redis Cluster seed nodes, as host:port[,host:port...].",
							   "Any node of the cluster will do: the slot map is read from the first that answers.",
							   &online_redis_cluster_nodes, "",
							   PGC_SIGHUP, 0, CheckClusterNodes, NULL, NULL);
	DefineCustomBoolVariable("featstore.redis_tls",
							 "TLS to Redis (not available: hiredis 0.14 has no TLS support).",
							 "Run stunnel4 as a client-side tunnel on loopback and point featstore.redis_host and featstore.redis_port at it (docs/online-store.md, \"TLS\").",
							 &online_redis_tls, false,
							 PGC_SIGHUP, 0, CheckRedisTls, NULL, NULL);
	DefineCustomIntVariable("featstore.redis_timeout",
							"Deadline for each Redis connection attempt and round trip.",
							NULL, &online_redis_timeout_ms, 2000, 10, 600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* CheckRedisTls refuses TLS, which this hiredis cannot do */
static bool
CheckRedisTls(bool *newval, void **extra, GucSource source)
{
	if (*newval)
	{
		GUC_check_errdetail("hiredis 0.14 (Debian bookworm) has no TLS support.");
		GUC_check_errhint("Run stunnel4 as a client-side TLS tunnel on loopback (\"client = yes\", \"accept = 127.0.0.1:6380\", \"connect = redis.example:6379\") and point featstore.redis_host and featstore.redis_port at it; docs/online-store.md, \"TLS\", has the setup.");
		return false;
	}
	return true;
}

/* CheckKeyPrefix keeps braces out of the prefix: they would break hash tags */
static bool
CheckKeyPrefix(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || strpbrk(*newval, "{}") != NULL)
	{
		GUC_check_errdetail("The key prefix must be non-empty and contain no braces.");
		return false;
	}
	return true;
}

/* CheckClusterNodes accepts "host:port[,host:port...]" or empty */
static bool
CheckClusterNodes(char **newval, void **extra, GucSource source)
{
	char	   *bad = NULL;

	if (*newval == NULL || RedisParseNodeList(*newval, &bad))
		return true;
	GUC_check_errdetail("\"%s\" is not host:port (a port from 1 to 65535).", bad);
	GUC_check_errhint("List the seed nodes as host:port, separated by commas.");
	return false;
}

/*
 * OnlineRedisOptions fills Redis connection options from the settings,
 * reading the password file if one is set; false with *err if unreadable.
 */
bool
OnlineRedisOptions(RedisOptions *opts, char **err)
{
	opts->host = online_redis_host;
	opts->port = online_redis_port;
	opts->unix_socket = online_redis_unix_socket;
	opts->user = online_redis_user;
	opts->password = online_redis_password;
	opts->db = online_redis_db;
	opts->timeout_ms = online_redis_timeout_ms;
	opts->cluster = (RedisClusterMode) online_redis_cluster;
	opts->seeds = online_redis_cluster_nodes;

	if (online_redis_password_file && online_redis_password_file[0] != '\0')
	{
		FILE	   *f = AllocateFile(online_redis_password_file, "r");
		char		line[1024];

		if (f == NULL)
		{
			*err = psprintf("could not open featstore.redis_password_file \"%s\": %m",
							online_redis_password_file);
			return false;
		}
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		FreeFile(f);
		line[strcspn(line, "\r\n")] = '\0';
		opts->password = pstrdup(line);
	}
	return true;
}
