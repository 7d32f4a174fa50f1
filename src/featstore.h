/*
 * featstore.h
 *		Types shared by all of featstore's subsystems.
 *
 * Each subsystem lives in its own folder under src/ and names what the
 * others may call in its own header (docs/architecture.md):
 *	featstore.c			module entry point (_PG_init)
 *	extension.h			the extension's owner, schema, version, restricted sections
 *	registry/registry.h	lookups, registry operations, group-change events
 *	ddl/ddl.h			the featstore statement language
 *	offline/offline.h	the per-group history tables (create, alter, drop)
 *	pit/pit.h			the point-in-time join
 *	online/online.h		the online store and its worker
 *	redis/redis_io.h	non-blocking hiredis
 */
#ifndef FEATSTORE_H
#define FEATSTORE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

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

#endif							/* FEATSTORE_H */
