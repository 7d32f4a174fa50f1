/*
 * pii.h
 *		Masking of features tagged PII (issue 12) for roles that are not
 *		members of featstore_pii_reader, and the one NOTICE per statement
 *		that names what was masked (pii.c).  The tag itself is the
 *		registry's (RegistryPiiFeatures, registry/registry.h).
 *
 * The read paths that mask: the PitJoin node (so pit_join() and the marker
 * join; src/pit/pit_pii.c), window_timeline(), online_features() and
 * verify_online().  Each decides when it starts to run, from the current
 * role, never when a plan is made.
 */
#ifndef FEATSTORE_PII_H
#define FEATSTORE_PII_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#define PII_READER_ROLE "featstore_pii_reader"

extern void PiiInit(void);
extern bool PiiCallerIsReader(void);
extern void PiiBeginForcedMask(void);
extern void PiiEndForcedMask(void);
extern List *PiiMaskedFeatures(const char *group_name);
extern bool PiiListHas(List *names, const char *name);
extern void PiiNoteMasked(const char *group_name, const char *feature_name);
extern void PiiNoteMaskedName(const char *qualified_name);
extern void PiiNoteColumnDenied(void);
extern Jsonb *PiiMaskJsonb(const char *group_name, Jsonb *features, List *masked,
						   List *denied);

#endif							/* FEATSTORE_PII_H */
