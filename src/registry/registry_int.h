/*
 * registry_int.h
 *		Declarations shared by the registry's own files only; other
 *		subsystems use registry.h.
 */
#ifndef FEATSTORE_REGISTRY_INT_H
#define FEATSTORE_REGISTRY_INT_H

#include "featstore.h"
#include "lib/stringinfo.h"
#include "registry/registry.h"

/* registry.c: running registry queries (SPI connected) */
extern int	RegSpi(const char *sql, int nargs, Oid *argtypes, Datum *values,
				   const char *nulls, bool elevated);
extern char *RegGetText(int row, int col);

/*
 * registry.c: what every registry operation does, shared with the parts in
 * files of their own (registry_training.c)
 */
extern void RegistryLock(void);
extern void RecordHistory(const char *command, const char *object_type,
						  const char *object_name, const char *stmt_text);
extern void CheckObjectName(const char *kind, const char *name);
extern void CheckRoleCanModify(const char *kind, const char *name, const char *created_by);
extern Datum TextListToArray(List *list);
extern FsResult *MakeResult(const char *command, const char *object_type,
							const char *name, char *detail);
extern List *RegNames(const char *sql, const char *arg);
extern char *DescribeNames(const char *kind, List *names);
extern FsResult *SkipOrReportMissing(const char *command, const char *kind,
									 const char *name, bool missing_ok);

/* How a duration's messages name it: "TTL" of "feature group", "window" of "feature" */
typedef struct FsDurationWords
{
	const char *noun;
	const char *owner_kind;
	const char *example;		/* a positive duration, quoted */
	const char *range_hint;		/* the whole hint for one too long */
	const char *positive_rest;	/* "leave out ..." after the example */
} FsDurationWords;

/* registry_source.c: groups computed FROM a source */
extern int64 RegistryParseDuration(const char *text, const char *feature);
extern int64 RegistryParseDurationAs(const char *text, const FsDurationWords *words,
									 const char *owner);
extern Oid	RegistryCheckSourceGroup(const FsGroupDef *def, List *keys);
extern void RegistryStoreSourceGroup(const FsGroupDef *def, Oid relid);
extern FsAggKind RegistryAggKindByName(const char *name);
extern void RegistryCheckSource(const FsGroup *group);

/* registry_transform.c: groups a scheduled query fills (AS query SCHEDULE ...) */
extern void RegistryCheckTransform(const FsGroupDef *def, List *keys, List *features);
extern void RegistryStoreTransform(const FsGroupDef *def, List *keys, List *features);
extern void RegistryAlterTransformSchedule(const FsGroup *group, const char *schedule_text,
										   StringInfo detail);

/*
 * registry_training.c: the guards training sets and services put on the
 * groups and features they use (SPI connected, registry lock held)
 */
extern void RegistryDropTrainingSetsOf(const FsGroup *group, bool cascade,
									   const char *stmt_text, StringInfo detail);
extern char *RegistryTrainingSetsUsing(const FsGroup *group, const FsFeature *feature);
extern void RegistryWarnFeatureUsers(const FsGroup *group, const FsFeature *feature);
extern void RegistryCheckServiceCollision(const FsGroup *group, const char *feature);
/* registry_monitor.c: FRESHNESS and MONITOR clauses (issue 11) */
extern bool RegistryIsMonitorAction(FsAlterKind kind);
extern void RegistryAlterMonitor(const FsGroup *group, const FsAlterAction *act,
								 const FsFeature *target, StringInfo detail);
extern void RegistryCheckMonitorOptions(const FsGroupDef *def);
extern void RegistryStoreMonitorOptions(const FsGroupDef *def);

/* registry.c: the DDL lock and the owner check, for the part files below */
extern void RegistryLockDefinitions(void);
extern void RegistryCheckGroupOwnerOf(FsGroup *group);
extern void RegistryCheckShadowCode(const FsGroup *group, Oid relid, const char *table);

/* registry_backfill.c and registry_backfill_check.c (issue 12) */
typedef struct FsBackfill
{
	char	   *name;
	char	   *group_name;
	TimestampTz range_from;
	TimestampTz range_to;
	Oid			shadow;			/* InvalidOid once promoted or aborted */
	char	   *shadow_name;
	char	   *state;
	char	   *verdict;
	char	   *thresholds;		/* jsonb as text */
} FsBackfill;

extern List *RegistryBackfillCheck(const FsBackfill *bf, FsGroup *group, List *settings,
								   char **verdict, char **verdict_names, bool *passed,
								   bool *errors, char **thresholds_json);
extern void RegistryCheckShadow(const FsBackfill *bf, const FsGroup *group);
/* registry_pii.c: the PII tag of features (FsFeatureDef.pii, SET PII / DROP PII) */
extern void RegistryStoreFeaturePii(const char *group_name, const FsFeatureDef *fd);
extern void RegistryAlterFeaturePii(FsGroup *group, FsFeature *target, bool pii,
									StringInfo detail);

/* registry_partition.c: partitioned history (issue 14) */
extern void RegistryAlterRetention(FsGroup *group, const char *text, StringInfo detail);
extern void RegistryCheckRetention(const FsGroup *group, bool has_ttl, int64 ttl_usecs,
								   int64 retention_usecs, const char *text);

/* registry_lookup.c */
extern List *RegistryLoadKeys(const char *entity);
extern bool RegistryHasSourceGroups(void);

#endif							/* FEATSTORE_REGISTRY_INT_H */
