/*
 * monitor_stats_acc.c
 *		The statistics of one feature from its values: counts and moments
 *		as the values arrive, then everything order-based (the 101
 *		percentiles, the distinct count, the histogram, the top values)
 *		from one walk over the sorted values.
 *
 * The non-NULL values go into a tuplesort bounded by work_mem, which
 * spills to temporary files past it, so a period of any size is sorted
 * exactly in bounded memory.  Numeric values arrive as float8 (the read
 * query converts every numeric kind), categorical ones as text, sorted
 * in the "C" collation so that ties between top values break the same way
 * on every database.  The percentiles are percentile_cont's (linear
 * interpolation between the two nearest ranks, with the same arithmetic),
 * the moments are float8 avg's and stddev_samp's (the Youngs-Cramer sums
 * PostgreSQL keeps), so that they can be checked against SQL's own
 * aggregates exactly.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_collation_d.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "miscadmin.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "monitor/monitor_stats_int.h"

/* The ranks a numeric walk must see: for each percentile, its two neighbours */
typedef struct PctRanks
{
	int64		lo[STATS_PERCENTILES];
	int64		hi[STATS_PERCENTILES];
	double		pos[STATS_PERCENTILES];
	double		lo_val[STATS_PERCENTILES];
	double		hi_val[STATS_PERCENTILES];
	int			next_lo;
	int			next_hi;
} PctRanks;

static void WalkNumeric(StatsAcc *acc, int64 n);
static void PlanRanks(PctRanks *r, int64 n);
static void SeeRank(PctRanks *r, int64 i, double v);
static void FinishHistogram(FeatureStats *fs);
static int	HistogramBin(const FeatureStats *fs, double v);
static void WalkCategorical(StatsAcc *acc);
static void OfferTop(FeatureStats *fs, text *value, int64 count);

/*
 * StatsAccBegin starts the statistics of one feature into *out; the sort
 * lives in the current memory context
 */
void
StatsAccBegin(StatsAcc *acc, FeatureStats *out, bool numeric)
{
	acc->out = out;
	out->numeric = numeric;
	out->rows = out->nulls = out->distinct = 0;
	out->ntop = 0;
	out->other = 0;
	out->has_hist = false;
	acc->n = acc->sx = acc->sxx = 0.0;
	if (numeric)
		acc->sort = tuplesort_begin_datum(FLOAT8OID, Float8LessOperator, InvalidOid,
										  false, work_mem, NULL, TUPLESORT_NONE);
	else
		acc->sort = tuplesort_begin_datum(TEXTOID, TextLessOperator, C_COLLATION_OID,
										  false, work_mem, NULL, TUPLESORT_NONE);
}

/* StatsAccAdd counts one value (a float8 or a text Datum) */
void
StatsAccAdd(StatsAcc *acc, Datum value, bool isnull)
{
	acc->out->rows++;
	if (isnull)
	{
		acc->out->nulls++;
		return;
	}
	if (acc->out->numeric)
	{
		double		v = DatumGetFloat8(value);

		/* float8's order, in which NaN is above every number */
		if (acc->n == 0.0 || float8_cmp_internal(v, acc->out->min) < 0)
			acc->out->min = v;
		if (acc->n == 0.0 || float8_cmp_internal(v, acc->out->max) > 0)
			acc->out->max = v;
		/* float8_accum's update, so that mean and stddev match SQL's */
		acc->n += 1.0;
		acc->sx += v;
		if (acc->n > 1.0)
		{
			double		tmp = v * acc->n - acc->sx;

			acc->sxx += tmp * tmp / (acc->n * (acc->n - 1.0));
		}
	}
	else
		/* the sort keeps a copy: a toasted value must not outlive its tuple as a pointer */
		value = PointerGetDatum(PG_DETOAST_DATUM_PACKED(value));
	tuplesort_putdatum(acc->sort, value, false);
}

/*
 * StatsAccFinish sorts the values, walks them once and ends the sort: the
 * statistics are then complete in acc->out
 */
void
StatsAccFinish(StatsAcc *acc)
{
	FeatureStats *fs = acc->out;
	int64		n = fs->rows - fs->nulls;

	tuplesort_performsort(acc->sort);
	if (fs->numeric && n > 0)
	{
		fs->mean = acc->sx / acc->n;
		/* float8_stddev_samp: a NaN or infinite input makes it NaN */
		if (n > 1)
			fs->stddev = isinf(acc->sx) || isnan(acc->sx) ? get_float8_nan() :
				sqrt(acc->sxx / (acc->n - 1.0));
		WalkNumeric(acc, n);
	}
	else if (!fs->numeric)
		WalkCategorical(acc);
	tuplesort_end(acc->sort);
	acc->sort = NULL;
}

/*
 * WalkNumeric reads the n sorted values once: the distinct count, the
 * percentiles' neighbouring ranks and the histogram's bins
 */
static void
WalkNumeric(StatsAcc *acc, int64 n)
{
	FeatureStats *fs = acc->out;
	PctRanks   *r = palloc(sizeof(PctRanks));
	Datum		d;
	bool		isnull;
	double		prev = 0.0;

	PlanRanks(r, n);
	FinishHistogram(fs);
	for (int64 i = 0; tuplesort_getdatum(acc->sort, true, &d, &isnull, NULL); i++)
	{
		double		v = DatumGetFloat8(d);

		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		/* float8's equality, as count(DISTINCT) uses: NaN equals NaN, -0 equals 0 */
		if (i == 0 || float8_cmp_internal(v, prev) != 0)
			fs->distinct++;
		if (fs->has_hist)
			fs->bins[HistogramBin(fs, v)]++;
		prev = v;
		SeeRank(r, i, v);
	}
	for (int k = 0; k < STATS_PERCENTILES; k++)
		fs->pct[k] = r->lo[k] == r->hi[k] ? r->lo_val[k] :
			r->lo_val[k] + (r->pos[k] - (double) r->lo[k]) * (r->hi_val[k] - r->lo_val[k]);
	pfree(r);
}

/*
 * PlanRanks says which ranks (0-based) each percentile k/100 interpolates
 * between, with percentile_cont's arithmetic: floor and ceil of
 * (k/100) * (n - 1)
 */
static void
PlanRanks(PctRanks *r, int64 n)
{
	for (int k = 0; k < STATS_PERCENTILES; k++)
	{
		double		p = (double) k / 100.0;

		r->pos[k] = p * (double) (n - 1);
		r->lo[k] = (int64) floor(r->pos[k]);
		r->hi[k] = (int64) ceil(r->pos[k]);
	}
	r->next_lo = r->next_hi = 0;
}

/* SeeRank keeps value v of rank i where a percentile needs it */
static void
SeeRank(PctRanks *r, int64 i, double v)
{
	while (r->next_lo < STATS_PERCENTILES && r->lo[r->next_lo] == i)
		r->lo_val[r->next_lo++] = v;
	while (r->next_hi < STATS_PERCENTILES && r->hi[r->next_hi] == i)
		r->hi_val[r->next_hi++] = v;
}

/*
 * FinishHistogram fills the 21 edges of the 20 equal-width bins over
 * [min, max]; the bins themselves are counted by the walk.  A histogram
 * needs finite bounds: with a NaN or an infinite value there is none.
 */
static void
FinishHistogram(FeatureStats *fs)
{
	double		width;

	memset(fs->bins, 0, sizeof(fs->bins));
	fs->has_hist = !(isinf(fs->min) || isnan(fs->min) || isinf(fs->max) || isnan(fs->max));
	if (!fs->has_hist)
		return;
	width = (fs->max - fs->min) / STATS_BINS;
	for (int i = 0; i < STATS_BINS; i++)
		fs->edges[i] = fs->min + width * i;
	fs->edges[STATS_BINS] = fs->max;
}

/*
 * HistogramBin is the 0-based bin of v, as width_bucket(v, min, max, 20)
 * numbers them less one, with max itself in the last bin; with min = max
 * every value is in the last bin
 */
static int
HistogramBin(const FeatureStats *fs, double v)
{
	int			b;

	if (fs->min >= fs->max || v >= fs->max)
		return STATS_BINS - 1;
	b = (int) (STATS_BINS * ((v - fs->min) / (fs->max - fs->min)));
	return Max(0, Min(b, STATS_BINS - 1));
}

/*
 * WalkCategorical reads the sorted text values once: each run of equal
 * values is one distinct value, offered to the top values with its length
 */
static void
WalkCategorical(StatsAcc *acc)
{
	FeatureStats *fs = acc->out;
	text	   *run = NULL;
	int64		count = 0;
	int64		seen = 0;
	Datum		d;
	bool		isnull;

	while (tuplesort_getdatum(acc->sort, true, &d, &isnull, NULL))
	{
		text	   *t = DatumGetTextPP(d);

		if ((++seen & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		/* the "C" collation: equal means the same bytes */
		if (run != NULL && VARSIZE_ANY_EXHDR(run) == VARSIZE_ANY_EXHDR(t) &&
			memcmp(VARDATA_ANY(run), VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)) == 0)
		{
			count++;
			pfree(DatumGetPointer(d));
			continue;
		}
		if (run != NULL)
		{
			OfferTop(fs, run, count);
			pfree(run);
		}
		run = t;
		count = 1;
		fs->distinct++;
	}
	if (run != NULL)
		OfferTop(fs, run, count);
	fs->other = fs->rows - fs->nulls;
	for (int i = 0; i < fs->ntop; i++)
		fs->other -= fs->top_counts[i];
}

/*
 * OfferTop keeps value among the top values if its count earns a place:
 * most frequent first; values arrive in ascending order, so one that ties
 * goes after those already kept, which is the order by value
 */
static void
OfferTop(FeatureStats *fs, text *value, int64 count)
{
	int			pos = fs->ntop;

	while (pos > 0 && fs->top_counts[pos - 1] < count)
		pos--;
	if (pos >= STATS_TOP)
		return;
	if (fs->ntop == STATS_TOP)
	{
		pfree(fs->top_values[STATS_TOP - 1]);
		fs->ntop--;
	}
	memmove(&fs->top_values[pos + 1], &fs->top_values[pos],
			sizeof(char *) * (fs->ntop - pos));
	memmove(&fs->top_counts[pos + 1], &fs->top_counts[pos],
			sizeof(int64) * (fs->ntop - pos));
	fs->top_values[pos] = text_to_cstring(value);
	fs->top_counts[pos] = count;
	fs->ntop++;
}
