/*
 * monitor_compare.c
 *		Two samples of one numeric feature compared, for callers outside the
 *		monitor (a backfill's validation, issue 12): the statistics of each
 *		sample from the statistics module's one sorted walk (StatsAcc), and
 *		the PSI of one against the other with the drift tests' formula
 *		(DriftPsi over the reference's deciles).
 *
 * This file only adapts: it adds no statistic of its own, so a backfill's
 * report and the monitor's drift tests give the same numbers for the same
 * values.  The state is opaque to callers (monitor.h), the private headers
 * of the statistics and drift files stay inside src/monitor/.
 */
#include "postgres.h"

#include <math.h>

#include "monitor/monitor.h"
#include "monitor/monitor_drift_int.h"
#include "monitor/monitor_stats_int.h"

struct MonitorSample
{
	StatsAcc	acc;
	FeatureStats stats;
};

StaticAssertDecl(STATS_PERCENTILES == DRIFT_NPCT,
				 "the statistics and the drift tests must agree on the percentiles");
StaticAssertDecl(STATS_PERCENTILES == MONITOR_SAMPLE_PERCENTILES,
				 "monitor.h must publish the statistics' percentiles");

/*
 * MonitorSampleBegin starts the statistics of one numeric sample; its sort
 * lives in the current memory context (spilling past work_mem)
 */
MonitorSample *
MonitorSampleBegin(void)
{
	MonitorSample *s = palloc0(sizeof(MonitorSample));

	StatsAccBegin(&s->acc, &s->stats, true);
	return s;
}

/* MonitorSampleAdd counts one value, NULL included */
void
MonitorSampleAdd(MonitorSample *s, double value, bool isnull)
{
	StatsAccAdd(&s->acc, Float8GetDatum(value), isnull);
}

/*
 * MonitorSampleFinish sorts and walks the sample once and fills *out; the
 * sample cannot take values afterwards.  The percentiles are valid (and
 * usable by MonitorSamplePsi) when out->has_percentiles.
 */
void
MonitorSampleFinish(MonitorSample *s, MonitorSampleStats *out)
{
	FeatureStats *fs = &s->stats;
	int64		values;

	StatsAccFinish(&s->acc);
	memset(out, 0, sizeof(*out));
	out->rows = fs->rows;
	out->nulls = fs->nulls;
	values = fs->rows - fs->nulls;
	if (values <= 0)
		return;
	out->has_mean = !isnan(fs->mean) && !isinf(fs->mean);
	out->mean = fs->mean;
	out->has_stddev = values > 1 && !isnan(fs->stddev) && !isinf(fs->stddev);
	out->stddev = out->has_stddev ? fs->stddev : 0.0;
	/* the drift math needs finite percentiles; a NaN or infinity has none */
	out->has_percentiles = !isnan(fs->min) && !isinf(fs->min) &&
		!isnan(fs->max) && !isinf(fs->max);
	memcpy(out->pct, fs->pct, sizeof(out->pct));
}

/*
 * MonitorSamplePsi is the PSI of sample cur against the reference ref, as
 * the drift tests compute it against a baseline of one period; false when
 * either has no finite percentiles
 */
bool
MonitorSamplePsi(const MonitorSampleStats *cur, const MonitorSampleStats *ref,
				 double *psi)
{
	DriftStats	period;
	DriftBaseline base;
	DriftMixture mix;
	DriftChiSquare unused;

	if (!cur->has_percentiles || !ref->has_percentiles)
		return false;
	memset(&period, 0, sizeof(period));
	period.numeric = true;
	period.rows = ref->rows;
	period.nulls = ref->nulls;
	period.pct = (double *) ref->pct;
	base.kind = DRIFT_BASE_RANGE;
	base.n = 1;
	base.periods = &period;
	if (!DriftMixtureInit(&mix, &base))
		return false;
	*psi = DriftPsi(cur->pct, &mix, (double) (cur->rows - cur->nulls), &unused);
	return true;
}
