/*
 * pit_inline.h
 *		pit_join() inlined: a FROM-clause call with constant arguments
 *		replaced, before planning, by the marker join it would run
 *		(pit_inline.c); private to src/pit/.
 */
#ifndef FEATSTORE_PIT_INLINE_H
#define FEATSTORE_PIT_INLINE_H

#include "postgres.h"

#include "nodes/params.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"

/* What inlining did to one statement, for the plan's dependencies */
typedef struct PitInlineState
{
	bool		attempted;		/* a call of pit_join was considered */
	bool		inlined;		/* at least one call was replaced */
	Oid			pit_join;		/* the function replaced */
	List	   *inval_items;	/* PlanInvalItems the finished plan needs */
} PitInlineState;

extern void PitInlineInit(void);
extern Query *PitInlineCalls(Query *parse, ParamListInfo boundParams,
							 PitInlineState *state);
extern void PitInlineRecordDependencies(PlannedStmt *stmt,
										const PitInlineState *state);

#endif							/* FEATSTORE_PIT_INLINE_H */
