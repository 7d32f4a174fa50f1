/*
 * featstore.h
 *		Declarations shared between featstore's subsystems.
 *
 * Each subsystem lives in its own file:
 *	featstore.c		module entry point (_PG_init) and extension lookups
 *	registry.c		registry operations behind the DDL and the SQL API
 *	offline_store.c	the per-group history tables (create, alter, drop)
 *	ddl_parser.c	the featstore statement language: lexer glue and parser
 *	ddl_exec.c		DO LANGUAGE featstore, featstore.exec() and dispatch
 */
#ifndef FEATSTORE_H
#define FEATSTORE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

#define FEATSTORE_SCHEMA "featstore"

/* Columns every group history table has besides keys and features */
#define FS_EVENT_TS_COLUMN "event_timestamp"
#define FS_CREATED_AT_COLUMN "created_at"

/* One key column of an entity */
typedef struct FsKeyColumn
{
	char	   *name;
	Oid			typid;			/* TEXTOID, INT4OID, INT8OID or UUIDOID */
} FsKeyColumn;

/* One feature of a group, as the registry holds it */
typedef struct FsFeature
{
	char	   *name;
	char	   *type_name;		/* format_type_with_typemod() text */
	Oid			typid;
	int32		typmod;
	char	   *description;
	bool		deprecated;
	int			position;
} FsFeature;

/* A feature group with everything the other subsystems need to use it */
typedef struct FsGroup
{
	char	   *name;
	char	   *schema_name;
	char	   *table_name;
	Oid			relid;			/* InvalidOid if the table is missing */
	char	   *entity_name;
	List	   *keys;			/* of FsKeyColumn * */
	bool		has_ttl;
	Interval	ttl;			/* normalised: no month or day part */
	int64		ttl_usecs;		/* ttl in microseconds, 0 when !has_ttl */
	bool		online;
	List	   *features;		/* of FsFeature *, in position order */
} FsGroup;

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

/* featstore.c */
extern void RegisterGroupChangeCallback(FsGroupChangeCallback callback);
extern void FireGroupChange(FsGroupEvent event, const FsGroup *group);
extern Oid	FeatstoreExtensionOwner(void);
extern char *FeatstoreInstalledVersion(void);
extern void FeatstoreRequireCurrentSchema(void);
extern Oid	FeatstoreSchemaOid(bool missing_ok);
extern void FeatstoreBeginRegistryWrite(Oid *save_userid, int *save_sec_context);
extern void FeatstoreEndRegistryWrite(Oid save_userid, int save_sec_context);
extern void FeatstoreBeginAsTableOwner(Oid relid, Oid *save_userid, int *save_sec_context);
extern void FeatstoreEndAsTableOwner(Oid save_userid, int save_sec_context);

/* registry.c: read side, usable by every subsystem */
extern FsGroup *RegistryLookupGroup(const char *name, bool missing_ok);
extern List *RegistryListGroupNames(void);
extern void RegistryCheckGroupTable(const FsGroup *group);

/* offline_store.c: set while featstore attaches or detaches capture triggers */
extern bool featstore_capture_ddl;

/* online_worker.c: settings, shared memory, worker and capture hooks */
extern void OnlineInit(void);

/* ddl_exec.c */
extern void DdlLangInit(void);

/* pit_planner.c: the point-in-time join */
extern void PitInit(void);

/* offline_store.c */
extern void OfflineInit(void);

#endif							/* FEATSTORE_H */
