/*
 * monitor_drift.c
 *		Drift over stored statistics: featstore.drift_tests(), the body of
 *		the featstore.drift view, and the reading of what the tests compare
 *		(featstore.feature_stats, monitor_settings, monitor_thresholds and
 *		the defaults).  docs/monitoring.md, Drift.
 *
 * Drift never reads a group's history: only the period's statistics and its
 * baseline's.  They are read through SPI as the calling role, so the
 * row-level security of featstore.feature_stats applies and nobody sees a
 * test about a feature whose values they could not SELECT.  Each period is
 * evaluated in its own short-lived memory context, and reads only its own
 * row and its baseline's (at most baseline_periods rows, or the pinned
 * range's, or one spine row).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "featstore.h"
#include "monitor/monitor_drift_int.h"
#include "registry/registry.h"

PG_FUNCTION_INFO_V1(featstore_drift_tests);

/* The columns ReadStats reads, in its order */
#define STATS_COLUMNS \
	"period_start, period_end, kind, row_count, null_count, distinct_count, " \
	"mean, stddev, percentiles, top_values, top_counts"
#define STATS_OF_FEATURE \
	" FROM featstore.feature_stats WHERE group_name = $1 AND feature_name = $2 "

/* The periods drift_tests reports, optionally bounded */
static const char *const TargetsSql =
"SELECT " STATS_COLUMNS STATS_OF_FEATURE
"AND scope = 'period' AND label = '' "
"AND ($3::timestamptz IS NULL OR period_start >= $3) "
"AND ($4::timestamptz IS NULL OR period_end <= $4) "
"ORDER BY period_start, period_end";

/* One period, for MonitorEvaluateDrift */
static const char *const PeriodSql =
"SELECT " STATS_COLUMNS STATS_OF_FEATURE
"AND scope = 'period' AND label = '' AND period_start = $3 AND period_end = $4";

/* The trailing baseline: the latest periods of the same length before it */
static const char *const TrailingSql =
"SELECT " STATS_COLUMNS STATS_OF_FEATURE
"AND scope = 'period' AND label = '' AND kind = $3 AND period_end <= $4 "
"AND period_end - period_start = $5 AND row_count > null_count "
"ORDER BY period_start DESC LIMIT $6";

/* A pinned range: its periods of the same length */
static const char *const RangeSql =
"SELECT " STATS_COLUMNS STATS_OF_FEATURE
"AND scope = 'period' AND label = '' AND kind = $3 AND period_start >= $4 "
"AND period_end <= $5 AND period_end - period_start = $6 AND row_count > null_count "
"ORDER BY period_start LIMIT " CppAsString2(DRIFT_MAX_RANGE_PERIODS);

/* A pinned spine: its latest statistics under the label */
static const char *const SpineSql =
"SELECT " STATS_COLUMNS STATS_OF_FEATURE
"AND scope = 'spine' AND label = $3 AND kind = $4 AND row_count > null_count "
"ORDER BY computed_at DESC, id DESC LIMIT 1";

static const char *const SettingsSql =
"SELECT baseline_periods, reference_from, reference_to, reference_label "
"FROM featstore.monitor_settings WHERE group_name = $1";

/* Defaults first, then the group's, then the features' own */
static const char *const ThresholdsSql =
"SELECT setting, value, NULL::name, 0 FROM featstore.monitor_threshold_defaults "
"UNION ALL "
"SELECT setting, value, feature_name, CASE WHEN feature_name IS NULL THEN 1 ELSE 2 END "
"FROM featstore.monitor_thresholds WHERE group_name = $1 ORDER BY 4";

static void DriftSpi(DriftContext *ctx, int query, const char *sql, int nargs,
					 Oid *types, Datum *values, const char *nulls);
static void LoadSettings(DriftContext *ctx);
static void LoadThresholds(DriftContext *ctx);
static int	SettingNumber(const char *name);
static void ReadStats(HeapTuple tup, TupleDesc desc, DriftStats *s);
static double *ReadPercentiles(Datum d);
static void ReadTopValues(Datum values, Datum counts, DriftStats *s);
static void LoadBaseline(DriftContext *ctx, const char *feature,
						 const DriftStats *cur, DriftBaseline *base);
static void EmitFeature(DriftContext *ctx, const char *feature, Datum *bounds,
						const char *bound_nulls);
static void EmitResult(const DriftContext *ctx, const char *feature,
					   const DriftStats *cur, const DriftBaseline *base,
					   const DriftResult *r);

/*
 * DriftBegin reads a group's drift settings and thresholds; the caller has
 * connected to SPI.  read_only: the caller is a STABLE function.
 */
void
DriftBegin(DriftContext *ctx, const char *group_name, bool read_only)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->group = group_name;
	ctx->read_only = read_only;
	ctx->evalcxt = AllocSetContextCreate(CurrentMemoryContext, "featstore drift period",
										 ALLOCSET_DEFAULT_SIZES);
	LoadSettings(ctx);
	LoadThresholds(ctx);
}

/*
 * DriftSpi runs one reading query, as the current user.  The queries run
 * once per period (query >= 0, a DriftQuery) are prepared once per context:
 * a view over a year of daily periods runs them thousands of times.
 */
static void
DriftSpi(DriftContext *ctx, int query, const char *sql, int nargs, Oid *types,
		 Datum *values, const char *nulls)
{
	int			ret;

	if (query < 0)
		ret = SPI_execute_with_args(sql, nargs, types, values, nulls, ctx->read_only, 0);
	else
	{
		if (ctx->plans[query] == NULL)
		{
			ctx->plans[query] = SPI_prepare(sql, nargs, types);
			if (ctx->plans[query] == NULL)
				elog(ERROR, "featstore: preparing a drift query failed: %s",
					 SPI_result_code_string(SPI_result));
		}
		ret = SPI_execute_plan(ctx->plans[query], values, nulls, ctx->read_only, 0);
	}
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "featstore: reading drift statistics failed: %s",
			 SPI_result_code_string(ret));
}

/*
 * LoadSettings reads monitor_settings: the trailing length (default 30, as
 * the column's default says) or the pinned reference.
 */
static void
LoadSettings(DriftContext *ctx)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(ctx->group)};
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;
	Datum		d;

	ctx->trailing = 30;
	DriftSpi(ctx, -1, SettingsSql, 1, types, args, NULL);
	if (SPI_processed == 0)
		return;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	d = SPI_getbinval(tup, desc, 1, &isnull);
	if (!isnull)
		ctx->trailing = Max(DatumGetInt32(d), 1);
	d = SPI_getbinval(tup, desc, 2, &isnull);
	if (!isnull)
	{
		ctx->ref_from = DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		ctx->has_range = !isnull;
		if (!isnull)
			ctx->ref_to = DatumGetTimestampTz(d);
	}
	d = SPI_getbinval(tup, desc, 4, &isnull);
	if (!isnull)
	{
		ctx->label = TextDatumGetCString(d);
		ctx->has_range = false;
	}
}

/* SettingNumber is the DriftSetting of a setting's name, -1 if unknown */
static int
SettingNumber(const char *name)
{
	int			i;

	for (i = 0; i < DRIFT_NSETTINGS; i++)
		if (strcmp(DriftSettingNames[i], name) == 0)
			return i;
	return -1;
}

/*
 * LoadThresholds reads the defaults (featstore.monitor_threshold_defaults,
 * the one place they are written), applies the group's own and keeps the
 * features' for DriftFeatureThresholds.  A value that is not finite is
 * ignored: the tests never compare with NaN.
 */
static void
LoadThresholds(DriftContext *ctx)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(ctx->group)};
	bool		seen[DRIFT_NSETTINGS] = {0};
	uint64		i;

	DriftSpi(ctx, -1, ThresholdsSql, 1, types, args, NULL);
	ctx->overrides = palloc0(sizeof(DriftOverride) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull,
					vnull,
					fnull;
		char	   *setting = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		double		value = DatumGetFloat8(SPI_getbinval(tup, desc, 2, &vnull));
		Datum		feature = SPI_getbinval(tup, desc, 3, &fnull);
		int			k = SettingNumber(setting);

		if (k < 0 || vnull || !isfinite(value))
			continue;
		if (fnull)
		{
			ctx->group_thr.v[k] = value;
			seen[k] = true;
			continue;
		}
		ctx->overrides[ctx->noverrides].feature = pstrdup(NameStr(*DatumGetName(feature)));
		ctx->overrides[ctx->noverrides].setting = k;
		ctx->overrides[ctx->noverrides++].value = value;
	}
	for (i = 0; i < DRIFT_NSETTINGS; i++)
		if (!seen[i])
			elog(ERROR, "featstore: no default for drift threshold %s in featstore.monitor_threshold_defaults",
				 DriftSettingNames[i]);
	SPI_freetuptable(SPI_tuptable);
}

/* DriftFeatureThresholds is a feature's thresholds: its own, else the group's */
void
DriftFeatureThresholds(const DriftContext *ctx, const char *feature,
					   DriftThresholds *thr)
{
	int			i;

	*thr = ctx->group_thr;
	for (i = 0; i < ctx->noverrides; i++)
		if (strcmp(ctx->overrides[i].feature, feature) == 0)
			thr->v[ctx->overrides[i].setting] = ctx->overrides[i].value;
}

/*
 * ReadStats converts one row of STATS_COLUMNS, in the current memory
 * context.  What cannot be trusted is dropped rather than guessed: a null
 * count above the row count means no values, a non-finite mean no mean,
 * malformed percentiles or top values none.
 */
static void
ReadStats(HeapTuple tup, TupleDesc desc, DriftStats *s)
{
	bool		isnull,
				n2;
	Datum		d;

	memset(s, 0, sizeof(*s));
	s->start = DatumGetTimestampTz(SPI_getbinval(tup, desc, 1, &isnull));
	s->end = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
	d = SPI_getbinval(tup, desc, 3, &isnull);
	s->numeric = !isnull && strcmp(TextDatumGetCString(d), "numeric") == 0;
	s->rows = Max(DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull)), 0);
	s->nulls = Min(Max(DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull)), 0), s->rows);
	d = SPI_getbinval(tup, desc, 6, &isnull);
	s->has_distinct = !isnull;
	if (!isnull)
		s->distinct = DatumGetInt64(d);
	d = SPI_getbinval(tup, desc, 7, &isnull);
	if (!isnull && isfinite(DatumGetFloat8(d)))
	{
		s->has_mean = true;
		s->mean = DatumGetFloat8(d);
		d = SPI_getbinval(tup, desc, 8, &isnull);
		/* the sample stddev of one value is NULL: no spread */
		s->stddev = (!isnull && isfinite(DatumGetFloat8(d))) ? fabs(DatumGetFloat8(d)) : 0.0;
	}
	d = SPI_getbinval(tup, desc, 9, &isnull);
	if (!isnull)
		s->pct = ReadPercentiles(d);
	d = SPI_getbinval(tup, desc, 10, &isnull);
	if (!isnull)
	{
		Datum		c = SPI_getbinval(tup, desc, 11, &n2);

		s->has_top = !n2;
		if (!n2)
			ReadTopValues(d, c, s);
	}
}

/*
 * ReadPercentiles is the percentiles array as DRIFT_NPCT doubles, or NULL
 * unless it has exactly that many finite, nondecreasing, non-NULL values.
 */
static double *
ReadPercentiles(Datum d)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	double	   *pct;

	if (ARR_NDIM(arr) != 1 || ARR_ELEMTYPE(arr) != FLOAT8OID)
		return NULL;
	deconstruct_array(arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	if (n != DRIFT_NPCT)
		return NULL;
	pct = palloc(sizeof(double) * DRIFT_NPCT);
	for (i = 0; i < n; i++)
	{
		if (nulls[i] || !isfinite(DatumGetFloat8(elems[i])))
			return NULL;
		pct[i] = DatumGetFloat8(elems[i]);
		if (i > 0 && pct[i] < pct[i - 1])
			return NULL;
	}
	return pct;
}

/* A top value with its count, for sorting the pairs by value */
typedef struct TopPair
{
	char	   *value;
	int64		count;
} TopPair;

/* ComparePairs orders top values by strcmp */
static int
ComparePairs(const void *a, const void *b)
{
	return strcmp(((const TopPair *) a)->value, ((const TopPair *) b)->value);
}

/*
 * ReadTopValues reads top_values and top_counts, sorted by value for the
 * Jensen-Shannon merge; nothing unless both are one-dimensional, of one
 * length, without NULLs and with non-negative counts.
 */
static void
ReadTopValues(Datum values, Datum counts, DriftStats *s)
{
	ArrayType  *va = DatumGetArrayTypeP(values);
	ArrayType  *ca = DatumGetArrayTypeP(counts);
	Datum	   *ve,
			   *ce;
	bool	   *vn,
			   *cn;
	int			nv,
				nc,
				i;
	TopPair    *pairs;

	if (ARR_NDIM(va) != 1 || ARR_NDIM(ca) != 1 || ARR_ELEMTYPE(va) != TEXTOID ||
		ARR_ELEMTYPE(ca) != INT8OID)
		return;
	deconstruct_array(va, TEXTOID, -1, false, TYPALIGN_INT, &ve, &vn, &nv);
	deconstruct_array(ca, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &ce, &cn, &nc);
	if (nv != nc || nv == 0)
		return;
	pairs = palloc(sizeof(TopPair) * nv);
	for (i = 0; i < nv; i++)
	{
		if (vn[i] || cn[i] || DatumGetInt64(ce[i]) < 0)
			return;
		pairs[i].value = TextDatumGetCString(ve[i]);
		pairs[i].count = DatumGetInt64(ce[i]);
	}
	qsort(pairs, nv, sizeof(TopPair), ComparePairs);
	s->top_values = palloc(sizeof(char *) * nv);
	s->top_counts = palloc(sizeof(int64) * nv);
	for (i = 0; i < nv; i++)
	{
		s->top_values[i] = pairs[i].value;
		s->top_counts[i] = pairs[i].count;
	}
	s->ntop = nv;
}

/*
 * LoadBaseline reads the baseline of the period cur: the spine's row under
 * a pinned label, or the pinned range's periods, or the trailing periods;
 * always of the same kind, and periods of the same length only.
 */
static void
LoadBaseline(DriftContext *ctx, const char *feature, const DriftStats *cur,
			 DriftBaseline *base)
{
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INTERVALOID, INT4OID};
	Datum		args[6];
	Interval   *len = palloc0(sizeof(Interval));
	Datum		kind = CStringGetTextDatum(cur->numeric ? "numeric" : "categorical");
	uint64		i;

	len->time = cur->end - cur->start;
	args[0] = CStringGetTextDatum(ctx->group);
	args[1] = CStringGetTextDatum(feature);
	if (ctx->label)
	{
		base->kind = DRIFT_BASE_SPINE;
		args[2] = CStringGetTextDatum(ctx->label);
		args[3] = kind;
		types[3] = TEXTOID;
		DriftSpi(ctx, DRIFT_Q_SPINE, SpineSql, 4, types, args, NULL);
	}
	else if (ctx->has_range)
	{
		Oid			rtypes[6] = {TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INTERVALOID};

		base->kind = DRIFT_BASE_RANGE;
		args[2] = kind;
		args[3] = TimestampTzGetDatum(ctx->ref_from);
		args[4] = TimestampTzGetDatum(ctx->ref_to);
		args[5] = IntervalPGetDatum(len);
		DriftSpi(ctx, DRIFT_Q_RANGE, RangeSql, 6, rtypes, args, NULL);
	}
	else
	{
		base->kind = DRIFT_BASE_TRAILING;
		args[2] = kind;
		args[3] = TimestampTzGetDatum(cur->start);
		args[4] = IntervalPGetDatum(len);
		args[5] = Int32GetDatum(ctx->trailing);
		DriftSpi(ctx, DRIFT_Q_TRAILING, TrailingSql, 6, types, args, NULL);
	}
	base->n = (int) SPI_processed;
	base->periods = palloc0(sizeof(DriftStats) * Max(base->n, 1));
	for (i = 0; i < SPI_processed; i++)
		ReadStats(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, &base->periods[i]);
	SPI_freetuptable(SPI_tuptable);
}

/*
 * DriftEvaluatePeriod evaluates one stored period of a feature (cur, read
 * by DriftReadPeriod) in ctx->evalcxt, which the caller resets between
 * periods; it returns the number of results and fills base.
 */
int
DriftEvaluatePeriod(DriftContext *ctx, const char *feature, const DriftStats *cur,
					DriftBaseline *base, DriftResult *out)
{
	DriftThresholds thr;

	DriftFeatureThresholds(ctx, feature, &thr);
	LoadBaseline(ctx, feature, cur, base);
	return DriftEvaluate(cur, base, &thr, out);
}

/*
 * DriftReadPeriod reads the statistics of one period of a feature into
 * *cur; false when it has none (or the caller may not see them).
 */
bool
DriftReadPeriod(DriftContext *ctx, const char *feature, TimestampTz start,
				TimestampTz end, DriftStats *cur)
{
	Oid			types[4] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[4];
	bool		found;

	args[0] = CStringGetTextDatum(ctx->group);
	args[1] = CStringGetTextDatum(feature);
	args[2] = TimestampTzGetDatum(start);
	args[3] = TimestampTzGetDatum(end);
	DriftSpi(ctx, DRIFT_Q_PERIOD, PeriodSql, 4, types, args, NULL);
	found = SPI_processed > 0;
	if (found)
		ReadStats(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, cur);
	SPI_freetuptable(SPI_tuptable);
	return found;
}

/*
 * EmitFeature adds the rows of every stored period of one feature within
 * the bounds (NULL: unbounded) to the result.
 */
static void
EmitFeature(DriftContext *ctx, const char *feature, Datum *bounds, const char *bound_nulls)
{
	Oid			types[4] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[4];
	char		nulls[5] = {' ', ' ', bound_nulls[0], bound_nulls[1], '\0'};
	SPITupleTable *targets;
	uint64		ntargets,
				i;

	args[0] = CStringGetTextDatum(ctx->group);
	args[1] = CStringGetTextDatum(feature);
	args[2] = bounds[0];
	args[3] = bounds[1];
	DriftSpi(ctx, DRIFT_Q_TARGETS, TargetsSql, 4, types, args, nulls);
	targets = SPI_tuptable;
	ntargets = SPI_processed;
	for (i = 0; i < ntargets; i++)
	{
		MemoryContext old;
		DriftStats	cur;
		DriftBaseline base;
		DriftResult results[DRIFT_MAX_RESULTS];
		int			n,
					k;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(ctx->evalcxt);
		old = MemoryContextSwitchTo(ctx->evalcxt);
		ReadStats(targets->vals[i], targets->tupdesc, &cur);
		n = DriftEvaluatePeriod(ctx, feature, &cur, &base, results);
		for (k = 0; k < n; k++)
			EmitResult(ctx, feature, &cur, &base, &results[k]);
		MemoryContextSwitchTo(old);
	}
	SPI_freetuptable(targets);
}

/* DriftBaselineBounds is the earliest start and latest end of a baseline */
void
DriftBaselineBounds(const DriftBaseline *base, TimestampTz *from, TimestampTz *to)
{
	int			i;

	*from = DT_NOEND;
	*to = DT_NOBEGIN;
	for (i = 0; i < base->n; i++)
	{
		*from = Min(*from, base->periods[i].start);
		*to = Max(*to, base->periods[i].end);
	}
}

/* EmitResult adds one row of drift_tests() */
static void
EmitResult(const DriftContext *ctx, const char *feature, const DriftStats *cur,
		   const DriftBaseline *base, const DriftResult *r)
{
	Datum		values[15];
	bool		nulls[15] = {0};
	TimestampTz from,
				to;

	DriftBaselineBounds(base, &from, &to);
	values[0] = CStringGetTextDatum(ctx->group);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(feature));
	values[2] = TimestampTzGetDatum(cur->start);
	values[3] = TimestampTzGetDatum(cur->end);
	values[4] = CStringGetTextDatum(r->test);
	values[5] = Float8GetDatum(r->statistic);
	nulls[5] = !r->has_statistic;
	values[6] = Float8GetDatum(r->threshold);
	nulls[6] = !r->has_threshold;
	values[7] = CStringGetTextDatum(r->verdict);
	values[8] = Int32GetDatum(base->n);
	values[9] = TimestampTzGetDatum(from);
	nulls[9] = base->n == 0;
	values[10] = TimestampTzGetDatum(to);
	nulls[10] = base->n == 0;
	values[11] = Float8GetDatum(r->effect);
	nulls[11] = !r->has_effect;
	values[12] = Float8GetDatum(r->min_effect);
	nulls[12] = !r->has_min_effect;
	values[13] = Float8GetDatum(r->p_value);
	nulls[13] = !r->has_p_value;
	values[14] = Float8GetDatum(r->significance);
	nulls[14] = !r->has_p_value;
	tuplestore_putvalues(ctx->rsinfo->setResult, ctx->rsinfo->setDesc, values, nulls);
}

/*
 * featstore_drift_tests is featstore.drift_tests(group, from, to): one row
 * per feature, stored period within [from, to) and test, for the features
 * whose statistics the caller may see.
 */
Datum
featstore_drift_tests(PG_FUNCTION_ARGS)
{
	FsGroup    *group;
	DriftContext ctx;
	Datum		bounds[2];
	char		bound_nulls[2];
	ListCell   *lc;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the feature group of drift_tests must not be NULL"),
				 errhint("Pass a group name, or read every group's tests from featstore.drift.")));
	group = RegistryLookupGroup(text_to_cstring(PG_GETARG_TEXT_PP(0)), false);
	bound_nulls[0] = PG_ARGISNULL(1) ? 'n' : ' ';
	bound_nulls[1] = PG_ARGISNULL(2) ? 'n' : ' ';
	bounds[0] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	bounds[1] = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2) &&
		PG_GETARG_TIMESTAMPTZ(1) >= PG_GETARG_TIMESTAMPTZ(2))
		DriftBadRange("drift_tests", group->name, PG_GETARG_TIMESTAMPTZ(1),
					  PG_GETARG_TIMESTAMPTZ(2));
	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	DriftBegin(&ctx, group->name, true);
	ctx.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	foreach(lc, group->features)
		EmitFeature(&ctx, ((FsFeature *) lfirst(lc))->name, bounds, bound_nulls);
	SPI_finish();
	return (Datum) 0;
}

/*
 * DriftBadRange reports a range that is empty or reversed
 * (timestamptz_to_str returns a static buffer, hence the copies).
 */
void
DriftBadRange(const char *function, const char *group_name, TimestampTz from,
			  TimestampTz to)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: the range [%s, %s) of feature group \"%s\" is empty", function,
					pstrdup(timestamptz_to_str(from)), pstrdup(timestamptz_to_str(to)),
					group_name),
			 errhint("The start must be before the end.")));
}
