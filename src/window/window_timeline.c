/*
 * window_timeline.c
 *		featstore.window_timeline(group): a source group's features at each
 *		event of its source, the body of the group's view.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "extension.h"
#include "pii/pii.h"
#include "registry/registry.h"
#include "window/window_int.h"

PG_FUNCTION_INFO_V1(window_timeline);

/* Points read from the source at a time */
#define WIN_TIMELINE_FETCH 1000

/*
 * TimelineGroup looks the group up and refuses a missing group or one
 * that is not defined FROM a source.
 */
static FsGroup *
TimelineGroup(const char *name)
{
	FsGroup    *group = RegistryLookupGroup(name, true);

	if (group == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("feature group \"%s\" does not exist", name),
				 errhint("List the defined groups with SELECT group_name FROM featstore.group_overview.")));
	if (group->source == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("feature group \"%s\" is not defined FROM a source", name),
				 errhint("window_timeline computes only groups defined with CREATE FEATURE GROUP ... FROM; read an ordinary group's table.")));
	return group;
}

/*
 * CheckTimelineDesc refuses a column definition list that is not the
 * group's: keys, event_timestamp, created_at, the features in position
 * order, each of its type.
 */
static void
CheckTimelineDesc(const WinPlan *plan, TupleDesc desc)
{
	int			want = plan->nkeys + 2 + plan->nfeat;

	if (desc->natts != want)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the timeline of feature group \"%s\" has %d columns, not %d",
						plan->group_name, want, desc->natts),
				 errhint("List the entity's keys, event_timestamp timestamptz, created_at timestamptz and the group's features in position order.")));
	for (int i = 0; i < want; i++)
	{
		Oid			got = TupleDescAttr(desc, i)->atttypid;
		Oid			typ;

		if (i < plan->nkeys)
			typ = plan->key_types[i];
		else if (i < plan->nkeys + 2)
			typ = TIMESTAMPTZOID;
		else
			typ = plan->feats[i - plan->nkeys - 2].typid;
		if (got != typ)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column %d of the timeline of feature group \"%s\" is %s, not %s",
							i + 1, plan->group_name, format_type_be(got),
							format_type_be(typ)),
					 errhint("List the entity's keys, event_timestamp timestamptz, created_at timestamptz and the group's features in position order.")));
	}
}

/*
 * TimelineMask returns, per feature in position order, whether the caller
 * gets NULL in its place (a PII feature, a caller not in
 * featstore_pii_reader), noting each for the statement's NOTICE; NULL when
 * nothing is masked.
 */
static bool *
TimelineMask(const FsGroup *group)
{
	List	   *pii = PiiMaskedFeatures(group->name);
	bool	   *masked;
	ListCell   *lc;

	if (pii == NIL)
		return NULL;
	masked = palloc0(sizeof(bool) * Max(list_length(group->features), 1));
	foreach(lc, group->features)
	{
		FsFeature  *f = lfirst(lc);

		masked[foreach_current_index(lc)] = PiiListHas(pii, f->name);
		if (masked[foreach_current_index(lc)])
			PiiNoteMasked(group->name, f->name);
	}
	return masked;
}

/*
 * EmitTimeline evaluates the pass at every row of the points cursor (the
 * events themselves, in the engine's order) and appends the rows.
 */
static void
EmitTimeline(WinPlan *plan, WinState *state, Portal points, ReturnSetInfo *rsinfo,
			 const bool *masked)
{
	int			nk = plan->nkeys;
	int			natts = nk + 2 + plan->nfeat;
	Datum	   *out = palloc0(sizeof(Datum) * natts);
	bool	   *outnull = palloc0(sizeof(bool) * natts);
	Datum	   *row = palloc0(sizeof(Datum) * WIN_NATTS(plan));
	bool	   *rownull = palloc0(sizeof(bool) * WIN_NATTS(plan));

	for (;;)
	{
		SPITupleTable *tt;
		uint64		n;

		SPI_cursor_fetch(points, true, WIN_TIMELINE_FETCH);
		tt = SPI_tuptable;
		n = SPI_processed;
		if (tt == NULL || n == 0)
			break;
		for (uint64 r = 0; r < n; r++)
		{
			WinPoint	p;

			CHECK_FOR_INTERRUPTS();
			heap_deform_tuple(tt->vals[r], tt->tupdesc, row, rownull);
			p.keys = row;
			p.key_nulls = rownull;
			p.t = DatumGetTimestampTz(row[WIN_COL_TS(plan)]);
			WinEvaluate(state, &p, out + nk + 2, outnull + nk + 2, NULL);
			memcpy(out, row, sizeof(Datum) * (nk + 2));
			memcpy(outnull, rownull, sizeof(bool) * (nk + 2));
			for (int f = 0; masked != NULL && f < plan->nfeat; f++)
				outnull[nk + 2 + f] = outnull[nk + 2 + f] || masked[f];
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnull);
		}
		SPI_freetuptable(tt);
	}
}

/*
 * window_timeline returns, for every event of the group's source, the
 * group's keys, the event's time and created time and the features at
 * that time (t = the event's time: with WINDOW END EXCLUSIVE the event
 * itself does not count).  It reads the source as the calling role, with
 * search_path pinned, so privileges and row security apply as to a plain
 * SELECT.
 */
Datum
window_timeline(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	FsGroup    *group = TimelineGroup(name);

	/* the view, the source's shape and its code, as every reader checks */
	RegistryCheckGroupTable(group);
	WinTimelineRun(fcinfo, group);
	return (Datum) 0;
}

/*
 * WinTimelineRun computes the timeline of group into the call's
 * tuplestore (materialize mode).
 */
void
WinTimelineRun(FunctionCallInfo fcinfo, const FsGroup *group)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext cxt;
	WinPlan    *plan;
	WinState   *state;
	SPIPlanPtr	sp;
	Portal		points;
	Portal		events;
	int			level;

	InitMaterializedSRF(fcinfo, 0);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "featstore window timeline",
								ALLOCSET_DEFAULT_SIZES);
	plan = WinCompile(group, cxt);
	CheckTimelineDesc(plan, rsinfo->setDesc);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	level = FeatstorePinSearchPath();
	sp = SPI_prepare(WinSourceSql(plan, false, NULL), 0, NULL);
	if (sp == NULL)
		elog(ERROR, "could not prepare the source query of feature group \"%s\": %s",
			 group->name, SPI_result_code_string(SPI_result));
	points = SPI_cursor_open(NULL, sp, NULL, NULL, true);
	events = SPI_cursor_open(NULL, sp, NULL, NULL, true);
	state = WinBegin(plan, events, 0, false, false, cxt);
	EmitTimeline(plan, state, points, rsinfo, TimelineMask(group));
	WinEnd(state);
	SPI_cursor_close(events);
	SPI_cursor_close(points);
	AtEOXact_GUC(true, level);
	SPI_finish();
	MemoryContextDelete(cxt);
}
