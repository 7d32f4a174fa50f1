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

/* registry_source.c: groups computed FROM a source (work in progress) */
extern int64 RegistryParseDuration(const char *text, const char *feature);
extern FsResult *RegistryCreateSourceGroup(FsGroupDef *def, List *keys,
										   const char *stmt_text);

/* registry_transform.c: groups a scheduled query fills (AS query SCHEDULE ...) */
extern void RegistryCheckTransform(const FsGroupDef *def, List *keys, List *features);
extern void RegistryStoreTransform(const FsGroupDef *def, List *keys, List *features);
extern void RegistryAlterTransformSchedule(const FsGroup *group, const char *schedule_text,
										   StringInfo detail);

/* registry_lookup.c */
extern List *RegistryLoadKeys(const char *entity);

#endif							/* FEATSTORE_REGISTRY_INT_H */
