/*
 * offline.h
 *		The offline store (offline_store.c): one history table per feature
 *		group (a view over featstore.window_timeline for a group defined
 *		FROM a source), created, altered and dropped by the registry.
 */
#ifndef FEATSTORE_OFFLINE_H
#define FEATSTORE_OFFLINE_H

#include "featstore.h"

/* keys are FsKeyColumn *, features FsFeature * */
extern Oid	OfflineCreateTable(const char *schema_name, const char *table_name,
							   const char *group_name, List *keys, List *features,
							   const char *description);
extern Oid	OfflineCreateGroupView(const char *schema_name, const char *view_name,
								   const char *group_name, List *keys, List *features,
								   const char *description);
extern void OfflineAddColumn(Oid relid, const FsFeature *feature);
extern void OfflineSetColumnComment(Oid relid, const char *column, const char *comment);
extern void OfflineDropTable(Oid relid, bool cascade);

/* set while featstore attaches or detaches capture triggers */
extern bool featstore_capture_ddl;

#endif							/* FEATSTORE_OFFLINE_H */
