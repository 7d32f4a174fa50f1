/*
 * extension.h
 *		The extension's identity (extension.c): its owner, schema and
 *		installed version, the restricted sections in which featstore
 *		works as the registry's owner or as a group table's owner, and what
 *		counts as code another role may have written.
 */
#ifndef FEATSTORE_EXTENSION_H
#define FEATSTORE_EXTENSION_H

#include "postgres.h"

#include "nodes/nodes.h"

#define FEATSTORE_SCHEMA "featstore"

extern void ExtensionInit(void);
extern Oid	FeatstoreExtensionOwner(void);
extern char *FeatstoreInstalledVersion(void);
extern void FeatstoreRequireCurrentSchema(void);
extern void FeatstoreRequireEditor(void);
extern Oid	FeatstoreSchemaOid(bool missing_ok);
extern int	FeatstorePinSearchPath(void);
extern void FeatstoreWorkerYieldLocks(void);
extern void FeatstoreBeginRegistryWrite(Oid *save_userid, int *save_sec_context);
extern void FeatstoreEndRegistryWrite(Oid save_userid, int save_sec_context);
extern void FeatstoreBeginAsTableOwner(Oid relid, Oid *save_userid, int *save_sec_context);
extern void FeatstoreEndAsTableOwner(Oid save_userid, int save_sec_context);

/* Code created after initdb: what a definition run as another role must not call */
extern bool FeatstoreIsUserFunction(Oid func_id, void *found);
extern Oid	FeatstoreUserOperator(Node *node);

#endif							/* FEATSTORE_EXTENSION_H */
