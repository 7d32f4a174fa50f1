/*
 * featstore.h
 *		Types shared by all of featstore's subsystems.
 *
 * Each subsystem lives in its own folder under src/ and names what the
 * others may call in its own header (docs/architecture.md):
 *	featstore.c			module entry point (_PG_init), FeatstoreHugeAlloc
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
#include "utils/palloc.h"

/* Columns every group history table has besides keys and features */
/*
 * FeatstorePrefetch asks for a cache line that is about to be read, so
 * that the misses of rows looked up together overlap.
 */
#if defined(__GNUC__) || defined(__clang__)
#define FeatstorePrefetch(addr) __builtin_prefetch(addr)
#else
#define FeatstorePrefetch(addr) ((void) 0)
#endif

/*
 * FeatstoreHugeAlloc allocates an array that is read at random (a key
 * table, positions), on transparent huge pages where the kernel has them
 * (featstore.c).
 */
extern void *FeatstoreHugeAlloc(MemoryContext cxt, Size size, bool zero);

#define FS_EVENT_TS_COLUMN "event_timestamp"
#define FS_CREATED_AT_COLUMN "created_at"

/* One key column of an entity */
typedef struct FsKeyColumn
{
	char	   *name;
	Oid			typid;			/* TEXTOID, INT4OID, INT8OID or UUIDOID */
} FsKeyColumn;

/*
 * How a feature of a group defined FROM a source is computed.  FS_AGG_NONE
 * is an ordinary feature, stored in the group's history table.
 */
typedef enum FsAggKind
{
	FS_AGG_NONE = 0,
	FS_AGG_COUNT_STAR,
	FS_AGG_COUNT,
	FS_AGG_COUNT_DISTINCT,
	FS_AGG_SUM,
	FS_AGG_AVG,
	FS_AGG_MIN,
	FS_AGG_MAX,
	FS_AGG_STDDEV_SAMP,
	FS_AGG_STDDEV_POP,
	FS_AGG_VAR_SAMP,
	FS_AGG_VAR_POP,
	FS_AGG_LAST,
	FS_AGG_EXPRESSION			/* over the group's other features */
} FsAggKind;

/*
 * How a feature of a group defined FROM a source is computed
 * (FsFeature.window; NULL for a feature stored in a history table).
 */
typedef struct FsWindowFeature
{
	FsAggKind	agg;
	char	   *argument;		/* the source column; NULL for count(*), expressions */
	Oid			argument_typid; /* its type; InvalidOid when no argument */
	int64		window_usecs;	/* OVER 'w' in microseconds; 0: unbounded */
	char	   *window_text;	/* OVER 'w' as written; NULL: unbounded */
	char	   *default_value;	/* DEFAULT, the literal's value as text; NULL: none */
	char	   *expression;		/* FS_AGG_EXPRESSION: the expression as written */
} FsWindowFeature;

/*
 * The source of events of a group defined FROM a source (FsGroup.source;
 * NULL for a group whose history table users fill).  Such a group's
 * schema_name.table_name is its timeline view, which the registry creates:
 * the relation the point-in-time join and BI tools read, with the keys,
 * event_timestamp, created_at and the features as columns.
 */
typedef struct FsSource
{
	char	   *schema_name;
	char	   *relation_name;
	Oid			relid;			/* InvalidOid if the relation is missing */
	char		relkind;		/* at definition: r, p, v or m */
	char	   *timestamp_column;	/* timestamptz */
	char	   *created_column; /* timestamptz; NULL: no CREATED */
	char	   *where_text;		/* the WHERE condition as written; NULL: none */
	bool		window_end_exclusive;
	int64		max_window_usecs;	/* the longest window; 0 if one is unbounded */
} FsSource;

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
	FsWindowFeature *window;	/* NULL unless the group has a source */
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
	FsSource   *source;			/* NULL: an ordinary group with a history table */
} FsGroup;

#endif							/* FEATSTORE_H */
