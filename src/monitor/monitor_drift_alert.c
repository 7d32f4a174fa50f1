/*
 * monitor_drift_alert.c
 *		MonitorEvaluateDrift (monitor.h) and featstore.evaluate_drift(): one
 *		stored period of a group evaluated against its baseline, and the
 *		features' drift alerts opened, refreshed or resolved accordingly.
 *
 * Each feature has at most one open drift alert.  A period with a 'drift'
 * verdict opens it (or refreshes it, with this period's details); a period
 * whose tests ran against a baseline and found none resolves it.  Periods
 * are often evaluated out of order (a backfill, a late recomputation), so a
 * period earlier than the one an open alert is about leaves that alert
 * alone: the alert always describes the latest period evaluated.
 *
 * The statistics are read as the current user (the monitor worker: every
 * row; evaluate_drift(): the rows its caller may see), so a caller changes
 * the alerts of only the features it can read.  The alerts are written by
 * MonitorRaiseAlert / MonitorResolveAlert, as the extension owner.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "featstore.h"
#include "monitor/monitor.h"
#include "monitor/monitor_drift_int.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(featstore_evaluate_drift);

/* The period the feature's open drift alert is about (NULL: none open) */
static const char *const OpenAlertSql =
"SELECT (details->>'period_start')::timestamptz FROM featstore.alerts "
"WHERE kind = 'drift' AND group_name = $1 AND feature_name = $2 AND resolved_at IS NULL";

static int	EvaluateGroupPeriod(const char *group_name, TimestampTz start,
								TimestampTz end);
static bool AlertFeature(const DriftContext *ctx, const char *feature,
						 const DriftStats *cur, const DriftBaseline *base,
						 const DriftResult *results, int n);
static bool MayAlert(const DriftContext *ctx, const char *feature,
					 TimestampTz start, bool *open);
static char *AlertDetails(const DriftStats *cur, const DriftBaseline *base,
						  const DriftResult *results, int n);
static void AppendTimestamp(StringInfo buf, const char *key, TimestampTz ts);
static void AppendNumber(StringInfo buf, double value);

/*
 * MonitorEvaluateDrift evaluates the stored statistics of a group's period
 * [period_start, period_end) and opens or resolves its features' drift
 * alerts; a feature without statistics for the period is left alone.
 */
void
MonitorEvaluateDrift(const char *group_name, TimestampTz period_start,
					 TimestampTz period_end)
{
	(void) EvaluateGroupPeriod(group_name, period_start, period_end);
}

/*
 * EvaluateGroupPeriod is MonitorEvaluateDrift, returning how many features
 * have drift in the period.  It reads the period's row and its baseline's
 * per feature, in a memory context reset between features.
 */
static int
EvaluateGroupPeriod(const char *group_name, TimestampTz start, TimestampTz end)
{
	FsGroup    *group;
	DriftContext ctx;
	ListCell   *lc;
	int			drifting = 0;

	if (group_name == NULL)
		elog(ERROR, "featstore: drift evaluation needs a group");
	group = RegistryLookupGroup(group_name, false);
	if (start >= end)
		DriftBadRange("evaluate_drift", group->name, start, end);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	DriftBegin(&ctx, group->name, false);
	foreach(lc, group->features)
	{
		const char *feature = ((FsFeature *) lfirst(lc))->name;
		MemoryContext old;
		DriftStats	cur;
		DriftBaseline base;
		DriftResult results[DRIFT_MAX_RESULTS];

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(ctx.evalcxt);
		old = MemoryContextSwitchTo(ctx.evalcxt);
		if (DriftReadPeriod(&ctx, feature, start, end, &cur))
		{
			int			n = DriftEvaluatePeriod(&ctx, feature, &cur, &base, results);

			if (AlertFeature(&ctx, feature, &cur, &base, results, n))
				drifting++;
		}
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return drifting;
}

/*
 * AlertFeature opens, refreshes or resolves one feature's drift alert from
 * its results for the period cur; true when the period has drift.
 * "no baseline" decides nothing: such a period neither opens nor resolves.
 */
static bool
AlertFeature(const DriftContext *ctx, const char *feature, const DriftStats *cur,
			 const DriftBaseline *base, const DriftResult *results, int n)
{
	bool		drift = false,
				evaluated = false,
				open;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (strcmp(results[i].verdict, DRIFT_VERDICT_DRIFT) == 0)
			drift = true;
		if (strcmp(results[i].verdict, DRIFT_VERDICT_NO_BASELINE) != 0)
			evaluated = true;
	}
	if (!MayAlert(ctx, feature, cur->start, &open))
		return drift;			/* an open alert about a later period stays */
	if (drift)
		MonitorRaiseAlert(MONITOR_ALERT_DRIFT, ctx->group, feature,
						  AlertDetails(cur, base, results, n));
	else if (evaluated && open)
		MonitorResolveAlert(MONITOR_ALERT_DRIFT, ctx->group, feature);
	return drift;
}

/*
 * MayAlert finds the feature's open drift alert (*open); false when it is
 * about a period later than start, which must not overwrite or resolve it.
 */
static bool
MayAlert(const DriftContext *ctx, const char *feature, TimestampTz start, bool *open)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		args[2] = {CStringGetTextDatum(ctx->group), CStringGetTextDatum(feature)};
	bool		isnull = true;
	TimestampTz period = DT_NOBEGIN;
	int			ret;

	*open = false;
	ret = SPI_execute_with_args(OpenAlertSql, 2, types, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "featstore: reading the drift alert failed: %s",
			 SPI_result_code_string(ret));
	if (SPI_processed > 0)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		*open = true;
		if (!isnull)
			period = DatumGetTimestampTz(d);
	}
	SPI_freetuptable(SPI_tuptable);
	return !(*open && !isnull && period > start);
}

/* AppendTimestamp adds "key": "<ISO 8601 timestamp>" */
static void
AppendTimestamp(StringInfo buf, const char *key, TimestampTz ts)
{
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	escape_json(buf, JsonEncodeDateTime(NULL, TimestampTzGetDatum(ts), TIMESTAMPTZOID, NULL));
}

/* AppendNumber adds a JSON number; a value that is not finite as a string */
static void
AppendNumber(StringInfo buf, double value)
{
	if (isfinite(value))
		appendStringInfoString(buf, float8out_internal(value));
	else
		escape_json(buf, float8out_internal(value));
}

/*
 * AlertDetails is the alert's details: the period, the baseline and each
 * failing test with its statistic and threshold.  They carry statistics,
 * which the alert's row-level security shows only to readers of the feature.
 */
static char *
AlertDetails(const DriftStats *cur, const DriftBaseline *base,
			 const DriftResult *results, int n)
{
	StringInfoData buf;
	TimestampTz from,
				to;
	bool		first = true;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	AppendTimestamp(&buf, "period_start", cur->start);
	appendStringInfoString(&buf, ", ");
	AppendTimestamp(&buf, "period_end", cur->end);
	appendStringInfo(&buf, ", \"baseline\": \"%s\", \"baseline_periods\": %d",
					 base->kind == DRIFT_BASE_SPINE ? "spine" :
					 base->kind == DRIFT_BASE_RANGE ? "range" : "trailing", base->n);
	DriftBaselineBounds(base, &from, &to);
	if (base->n > 0)
	{
		appendStringInfoString(&buf, ", ");
		AppendTimestamp(&buf, "baseline_from", from);
		appendStringInfoString(&buf, ", ");
		AppendTimestamp(&buf, "baseline_to", to);
	}
	appendStringInfoString(&buf, ", \"tests\": [");
	for (i = 0; i < n; i++)
	{
		if (strcmp(results[i].verdict, DRIFT_VERDICT_DRIFT) != 0)
			continue;
		appendStringInfo(&buf, "%s{\"test\": ", first ? "" : ", ");
		escape_json(&buf, results[i].test);
		appendStringInfoString(&buf, ", \"statistic\": ");
		AppendNumber(&buf, results[i].statistic);
		appendStringInfoString(&buf, ", \"threshold\": ");
		if (results[i].has_threshold)
			AppendNumber(&buf, results[i].threshold);
		else
			appendStringInfoString(&buf, "null");
		if (results[i].has_p_value)
		{
			appendStringInfoString(&buf, ", \"p_value\": ");
			AppendNumber(&buf, results[i].p_value);
		}
		appendStringInfoChar(&buf, '}');
		first = false;
	}
	appendStringInfoString(&buf, "]}");
	return buf.data;
}

/*
 * featstore_evaluate_drift is featstore.evaluate_drift(group, start, end):
 * MonitorEvaluateDrift on demand, for featstore editors; it returns how
 * many of the features the caller may see have drift in the period.
 */
Datum
featstore_evaluate_drift(PG_FUNCTION_ARGS)
{
	FeatstoreRequireEditor();
	PG_RETURN_INT32(EvaluateGroupPeriod(text_to_cstring(PG_GETARG_TEXT_PP(0)),
										PG_GETARG_TIMESTAMPTZ(1),
										PG_GETARG_TIMESTAMPTZ(2)));
}
