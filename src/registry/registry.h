/*
 * registry.h
 *		The registry: what other subsystems may call.  The read side
 *		(lookups), the group-change events, and the definitions passed to the
 *		registry's write operations.
 *
 * The featstore statement language (ddl_parser.c) and the SQL-callable
 * registry functions both build these structures and hand them to the same
 * Registry* operations, so there is one code path for every change.
 *
 * Every "location" is a byte offset into the statement being executed, or -1
 * when the definition did not come from statement text.  The registry
 * publishes the location of whatever it is checking in
 * registry_error_location, so errors can carry a cursor position.
 */
#ifndef FEATSTORE_REGISTRY_H
#define FEATSTORE_REGISTRY_H

#include "featstore.h"

/* A key column of CREATE ENTITY */
typedef struct FsKeyDef
{
	char	   *name;
	char	   *type_text;
	int			location;
} FsKeyDef;

/* A feature of CREATE FEATURE GROUP or ADD FEATURE */
typedef struct FsFeatureDef
{
	char	   *name;
	char	   *type_text;
	char	   *description;	/* NULL if none */
	List	   *tags;			/* of char * */
	int			location;
	int			type_location;

	/* AS ...: only in a group defined FROM a source */
	FsAggKind	agg_kind;
	char	   *agg_argument;	/* the source column; NULL for count(*), expressions */
	char	   *expression_text;	/* FS_AGG_EXPRESSION, as written */
	char	   *window_text;	/* OVER 'window', parsed by the registry; NULL: unbounded */
	char	   *default_text;	/* DEFAULT literal as written; NULL if none */
	char	   *default_value;	/* the literal's value: a string unquoted */
	int			agg_location;
	int			argument_location;
	int			window_location;
	int			default_location;
	/* PII: personal data, masked for non-members of featstore_pii_reader */
	bool		pii;
	int			pii_location;
} FsFeatureDef;

typedef struct FsEntityDef
{
	char	   *name;
	bool		if_not_exists;
	List	   *keys;			/* of FsKeyDef * */
	char	   *description;
	char	   *owner;
	int			location;
} FsEntityDef;

typedef struct FsGroupDef
{
	char	   *name;
	char	   *schema_name;	/* NULL: first schema of search_path */
	bool		if_not_exists;
	char	   *entity_name;
	List	   *features;		/* of FsFeatureDef * */
	bool		has_ttl;
	char	   *ttl_text;		/* TTL as written, parsed by the registry */
	bool		online;
	List	   *tags;
	char	   *owner;
	char	   *description;
	int			location;
	int			entity_location;
	int			ttl_location;
	int			schema_location;

	/* FROM source ...: a group computed from events (NULL source_name: none) */
	char	   *source_schema;	/* NULL: search_path */
	char	   *source_name;
	char	   *timestamp_column;
	char	   *created_column; /* NULL if no CREATED */
	char	   *where_text;		/* WHERE condition as written; NULL if none */
	bool		window_end_exclusive;
	int			source_location;
	int			timestamp_location;
	int			created_location;
	int			where_location;
	int			online_location;

	/*
	 * AS query SCHEDULE ...: an ordinary group whose rows a scheduled query
	 * appends (registry_transform.c; NULL query_text: none)
	 */
	char	   *query_text;		/* the query as written */
	char	   *schedule_text;	/* SCHEDULE 'interval'; NULL with MANUAL */
	bool		schedule_manual;	/* SCHEDULE MANUAL: run by refresh() only */
	int			query_location;
	int			schedule_location;

	/*
	 * FRESHNESS and MONITOR (issue 11), stored in featstore.monitor_settings
	 * (src/monitor/monitor_settings.c); a NULL text with its flag set is
	 * NONE
	 */
	bool		has_freshness;
	char	   *freshness_text;
	int			freshness_location;
	bool		has_monitor_every;
	char	   *monitor_every_text;
	int			monitor_location;

	/*
	 * PARTITION BY (issue 14, registry_partition.c): 'r' RANGE on
	 * event_timestamp, 'h' HASH on key columns, 0 a plain history table
	 */
	char		partition_method;
	List	   *partition_columns;	/* of char *, as written */
	char	   *partition_interval_text;	/* RANGE's INTERVAL; NULL: '1 day' */
	char	   *partitions_text;	/* HASH's PARTITIONS n; NULL: 8 */
	int			partition_location;
	int			partition_columns_location;
	int			partition_interval_location;
	int			partitions_location;
	/* ON SERVERS (issue 14, registry_shard.c): of char *; NIL: local */
	List	   *shard_servers;
	int			shard_servers_location;
} FsGroupDef;

typedef enum FsAlterKind
{
	FS_ALTER_ADD_FEATURE,
	FS_ALTER_DEPRECATE_FEATURE,
	FS_ALTER_FEATURE_TYPE,
	FS_ALTER_FEATURE_DESCRIPTION,
	FS_ALTER_FEATURE_TAGS,
	FS_ALTER_SET_TTL,
	FS_ALTER_SET_ONLINE,
	FS_ALTER_SET_DESCRIPTION,
	FS_ALTER_SET_OWNER,
	FS_ALTER_SET_TAGS,
	FS_ALTER_SET_SCHEDULE,		/* a transformation's; text_value NULL: MANUAL */
	/* monitoring (issue 11): featstore.monitor_settings and monitor_thresholds */
	FS_ALTER_SET_FRESHNESS,		/* text_value NULL: NONE */
	FS_ALTER_SET_MONITOR_EVERY, /* text_value NULL: NONE */
	FS_ALTER_SET_MONITOR,		/* settings; of one feature if feature is set */
	FS_ALTER_RESET_MONITOR,		/* settings (values unused) */
	FS_ALTER_SET_MONITOR_BASELINE,	/* baseline */
	FS_ALTER_FEATURE_PII,		/* SET PII (bool_value true) / DROP PII (false) */
	FS_ALTER_SET_RETENTION		/* issue 14; text_value NULL: DROP RETENTION */
} FsAlterKind;

/* One setting of SET MONITOR ( name = value, ... ) or RESET MONITOR ( name, ... ) */
typedef struct FsMonitorSetting
{
	char	   *name;
	char	   *value_text;		/* the number as written; NULL for RESET */
	int			location;
} FsMonitorSetting;

/*
 * SET MONITOR BASELINE: n PERIODS (periods > 0), FROM 'a' TO 'b' (from_text
 * and to_text), or SPINE 'label' (label)
 */
typedef struct FsMonitorBaseline
{
	int			periods;
	char	   *periods_text;	/* as written, for messages */
	char	   *from_text;
	char	   *to_text;
	char	   *label;
	int			from_location;
	int			to_location;
} FsMonitorBaseline;

/* One action of ALTER FEATURE GROUP */
typedef struct FsAlterAction
{
	FsAlterKind kind;
	FsFeatureDef *feature;		/* ADD FEATURE; also names the target feature */
	char	   *text_value;		/* TTL text (NULL: no TTL), schedule (NULL: MANUAL),
								 * description, owner */
	bool		bool_value;		/* SET ONLINE / OFFLINE */
	List	   *tags;
	List	   *settings;		/* SET / RESET MONITOR: FsMonitorSetting * */
	FsMonitorBaseline *baseline;	/* SET MONITOR BASELINE */
	int			location;
} FsAlterAction;

/*
 * A group's partitioned history (issue 14), as featstore.group_partitioning
 * records it (registry_partition.c)
 */
#define FS_MAX_HASH_PARTITIONS 1024
typedef struct FsPartitioning
{
	char		method;			/* 'r' range, 'h' hash, 0 a plain table */
	int64		interval_usecs; /* range: a partition's width */
	List	   *hash_columns;	/* hash: String nodes, in order */
	int			nparts;			/* hash: partitions */
	bool		has_retention;	/* range: drop partitions past it */
	int64		retention_usecs;
	List	   *servers;		/* hash ON SERVERS: of char *, in order */
	/* ON SERVERS: the shard's table of each remainder (the offline store fills them) */
	char	  **shard_schemas;
	char	  **shard_tables;
	char	   *shard_ddl;		/* the featstore statements each shard runs */
	char	   *shard_group;	/* the group's name, on every shard */
} FsPartitioning;

extern void RegistryCheckPartitioning(const FsGroupDef *def, List *keys, FsPartitioning *out);
extern void RegistryStorePartitioning(const char *group_name, const FsPartitioning *p);
extern bool RegistryGroupPartitioning(const char *group_name, FsPartitioning *out);

/* sharded history (issue 14, registry_shard.c) */
extern void RegistryCheckShards(const FsGroupDef *def, FsPartitioning *p);
extern void RegistryShardDdl(const FsGroupDef *def, List *keys, List *features,
							 FsPartitioning *p);
extern void RegistryStoreShards(const char *group_name, const FsPartitioning *p);
extern List *RegistryGroupShardServers(const char *group_name);
extern bool RegistryGroupIsSharded(const char *group_name);
extern void RegistryCheckShardAlter(const char *group_name, const FsAlterAction *act);

/* A member of CREATE FEATURE SERVICE: group.feature or group.* */
typedef struct FsFeatureRef
{
	char	   *group_name;
	char	   *feature_name;	/* NULL for group.* */
	int			location;
} FsFeatureRef;

typedef struct FsServiceDef
{
	char	   *name;
	bool		or_replace;
	List	   *members;		/* of FsFeatureRef * */
	char	   *description;
	char	   *owner;
	int			location;
} FsServiceDef;

/*
 * CREATE TRAINING SET (registry_training.c): a service's features joined
 * point-in-time to a copy of a spine, frozen at as_of
 */
typedef struct FsTrainingSetDef
{
	char	   *name;
	char	   *schema_name;	/* NULL: first schema of search_path */
	char	   *service_name;
	char	   *spine;			/* a table or view name, or one query */
	char	   *as_of_text;		/* AS OF 'timestamptz'; NULL: transaction start */
	bool		as_of_given;	/* the SQL twin passes a timestamptz instead */
	TimestampTz as_of;
	bool		strict;
	char	   *description;
	char	   *owner;
	List	   *tags;			/* of char * */
	int			location;
	int			service_location;
	int			spine_location;
	int			as_of_location;
	Oid			view_relid;		/* set by RegistryCreateTrainingSet */
} FsTrainingSetDef;

/* What a registry operation did, reported as one row of featstore.exec() */
typedef struct FsResult
{
	const char *command;		/* e.g. "CREATE FEATURE GROUP" */
	const char *object_type;	/* entity, feature group, feature service */
	char	   *object_name;
	char	   *detail;
} FsResult;

extern int	registry_error_location;

/* registry_lookup.c: read side, usable by every subsystem (cached per backend) */
extern FsGroup *RegistryLookupGroup(const char *name, bool missing_ok);
extern bool RegistryIsGroupTable(const char *name, Oid relid);
extern char *RegistryGroupOfTable(Oid relid);
extern char *RegistryDroppedGroup(char **table);
extern char *RegistryDroppedGroupView(char **view);
extern char *RegistryDroppedSource(char **source);
extern List *RegistrySourceGroupsOf(Oid relid);
extern bool RegistryIsInstalled(void);
extern List *RegistryListGroupNames(void);
extern List *RegistryListOnlineGroupNames(void);

/* A feature a caller asked for, with its group (registry_resolve.c) */
typedef struct FsResolvedFeature
{
	FsGroup    *group;
	FsFeature  *feature;
} FsResolvedFeature;

/* registry_resolve.c: names as callers write them, with SQL identifier rules */
extern FsFeatureRef *RegistryParseFeatureItem(const char *item);
extern FsFeatureRef *RegistryParseFeatureRef(const char *ref);
extern List *RegistryResolveFeatures(List *items, const char *service);

/* registry_source.c: whether a source group reads a column of its source */
extern bool RegistrySourceReadsColumn(const FsGroup *group, const char *column);
/* and whether its events may be read inside a parallel worker */
extern bool RegistrySourceParallelSafe(const FsGroup *group);

/* registry.c: the table-shape check before featstore reads a group table */
extern void RegistryCheckGroupTable(const FsGroup *group);
extern void RegistryCheckTableCode(Oid relid);

/*
 * registry_pii.c: the PII tag (issue 12).  RegistryPiiFeatures lists a
 * group's PII features by name, in position order (NIL: none, or a schema
 * from before the tag).  Masking is src/pii/pii.h's.
 */
extern List *RegistryPiiFeatures(const char *group_name);

/*
 * Registry changes other subsystems must follow (the online store attaches
 * change capture to new group tables, re-applies TTLs, removes keys).
 * Callbacks run inside the DDL statement's transaction, as the calling role,
 * after the registry and the table reflect the change (CREATED, ALTERED) or
 * before anything is removed (DROPPING).  An error aborts the statement.
 */
typedef enum FsGroupEvent
{
	FS_GROUP_CREATED,
	FS_GROUP_ALTERED,
	FS_GROUP_DROPPING
} FsGroupEvent;

typedef void (*FsGroupChangeCallback) (FsGroupEvent event, const FsGroup *group);

/* registry_events.c */
extern void RegisterGroupChangeCallback(FsGroupChangeCallback callback);
extern void FireGroupChange(FsGroupEvent event, const FsGroup *group);

/* registry.c: write side, behind the DDL and the SQL API */
extern FsResult *RegistryCreateEntity(FsEntityDef *def, const char *stmt_text);
extern FsResult *RegistryAlterEntity(const char *name, const char *description,
									 const char *owner, bool set_description,
									 bool set_owner, const char *stmt_text);
extern FsResult *RegistryDropEntity(const char *name, bool missing_ok, bool cascade,
									const char *stmt_text);
extern FsResult *RegistryCreateGroup(FsGroupDef *def, const char *stmt_text);
extern FsResult *RegistryAlterGroup(const char *name, List *actions, int location,
									const char *stmt_text);
extern FsResult *RegistryDropGroup(const char *name, bool missing_ok, bool cascade,
								   const char *stmt_text);
extern FsResult *RegistryCreateService(FsServiceDef *def, const char *stmt_text);
extern FsResult *RegistryDropService(const char *name, bool missing_ok,
									 const char *stmt_text);

/* registry_training.c: training sets, and the guards on what they use */
extern FsResult *RegistryCreateTrainingSet(FsTrainingSetDef *def, const char *stmt_text);
extern FsResult *RegistryDropTrainingSet(const char *name, bool missing_ok, bool cascade,
										 const char *stmt_text);
/*
 * Backfills (issue 12, registry_backfill.c): BACKFILL FEATURE GROUP g AS
 * name FROM 'a' TO 'b' opens a shadow table; VALIDATE, PROMOTE and ABORT
 * BACKFILL name.  A validation's report is a List of FsBackfillCheck.
 */
typedef struct FsBackfillDef
{
	char	   *name;
	char	   *group_name;
	char	   *from_text;		/* timestamptz literals as written */
	char	   *to_text;
	int			location;
	int			group_location;
	int			from_location;
	int			to_location;
} FsBackfillDef;

/* One row of a validation's report (featstore.validate_backfill()) */
typedef struct FsBackfillCheck
{
	const char *check;
	char	   *feature;		/* NULL: the whole backfill */
	bool		has_current;
	double		current;
	bool		has_shadow;
	double		shadow;
	bool		has_statistic;
	double		statistic;
	bool		has_threshold;
	double		threshold;
	const char *verdict;		/* ok, fail, error, info; passed / failed */
	char	   *detail;
	char	   *masked_group;	/* a PII feature's values masked: its group */
} FsBackfillCheck;

extern void RegistryBackfillInit(void);
extern FsResult *RegistryOpenBackfill(const FsBackfillDef *def, const char *stmt_text,
									  Oid *shadow);
extern FsResult *RegistryValidateBackfill(const char *name, List *settings,
										  const char *stmt_text, List **report);
extern FsResult *RegistryPromoteBackfill(const char *name, bool force,
										 const char *stmt_text, int64 *rows);
extern FsResult *RegistryAbortBackfill(const char *name, const char *stmt_text);

#endif							/* FEATSTORE_REGISTRY_H */
