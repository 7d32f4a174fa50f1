/*
 * transform.h
 *		Scheduled SQL transformations: groups whose rows a query appends
 *		(CREATE FEATURE GROUP ... AS query SCHEDULE ...).  What others may
 *		call: featstore.c initialises the settings, the online worker runs
 *		the due transformations between its batches and wakes for the next.
 *
 *	transform_run.c			one run: featstore.refresh() and the worker's,
 *							atomic, recorded, with the retry's backoff
 *	transform_schedule.c	the worker's side: which runs are due, when next
 *
 * The registry (src/registry/registry_transform.c) checks and stores the
 * definition; docs/transformations.md describes the whole.
 */
#ifndef FEATSTORE_TRANSFORM_H
#define FEATSTORE_TRANSFORM_H

#include "postgres.h"

#include "datatype/timestamp.h"

/*
 * transform_run.c: a run of a group's query, as the worker (scheduled) or refresh() starts
 * it, inside the caller's transaction with an active snapshot.  Returns
 * the rows appended, or -1 when the query failed (the failure is recorded
 * and *error says why) or, for a scheduled run, when the run was no longer
 * due (*error NULL).
 */
extern int64 TransformRun(const char *group_name, bool scheduled, char **error);

/* transform_schedule.c: for the online worker's main loop */
extern void TransformRunDue(void);
extern TimestampTz TransformNextDue(void);

#endif							/* FEATSTORE_TRANSFORM_H */
