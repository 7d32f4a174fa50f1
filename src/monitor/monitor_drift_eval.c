/*
 * monitor_drift_eval.c
 *		The drift tests of one period's statistics against its baseline:
 *		which tests apply, their statistics and thresholds, and the verdicts.
 *		docs/monitoring.md, Drift, is the specification.
 *
 * A test whose statistic cannot be computed on the period (the mean of a
 * period with no values) has no row; a test whose baseline is too small
 * reads "no baseline".  Trailing and pinned-range baselines need
 * DRIFT_MIN_BASELINE periods, a spine baseline its one row; all_null and
 * distinct_collapse, which are always flagged, need one baseline period.
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"

#include "monitor/monitor_drift_int.h"

/* The names of the settings, in DriftSetting order */
const char *const DriftSettingNames[DRIFT_NSETTINGS] = {
	"mean_sigma", "mean_min_effect", "null_rate_sigma", "null_rate_min_effect",
	"psi", "js", "wasserstein", "ks_pvalue", "distinct_collapse", "significance"
};



/* The baseline's moments that the mean and null-rate tests compare with */
typedef struct BaselineSummary
{
	bool		enough;			/* big enough for the tests that need it */
	int			nmeans;			/* periods with a finite mean */
	double		mean_mu;		/* mean of the period means */
	double		mean_sigma;		/* their spread (see BaselineMeans) */
	double		pooled_sd;		/* stddev of all the baseline's values */
	double		values;			/* the baseline's values (non-NULL) */
	double		null_mu;
	double		null_sigma;
	double		null_count_b;	/* the baseline's NULLs */
	double		rows_b;			/* and rows */
} BaselineSummary;

static void Summarize(const DriftStats *cur, const DriftBaseline *base,
					  BaselineSummary *sum);
static void BaselineMeans(const DriftStats *cur, const DriftBaseline *base,
						  BaselineSummary *sum);
static double NullPValue(const DriftStats *cur, const BaselineSummary *sum);
static double Ratio(double num, double den);
static void Begin(DriftResult *r, const char *test, bool has_threshold,
				  double threshold);
static void SigmaTest(DriftResult *r, const char *test, double delta,
					  double sigma, double k, double effect, double min_effect,
					  double p_value);
static double MeanPValue(const DriftStats *cur, const BaselineSummary *sum);
static void Significant(DriftResult *r, double p_value);
static void DistributionTests(const DriftStats *cur, const DriftBaseline *base,
							  const BaselineSummary *sum,
							  const DriftThresholds *thr, DriftResult *out,
							  int *n);
static bool TopValuesStored(const DriftStats *cur, const DriftBaseline *base);
static void DistinctTest(const DriftStats *cur, const DriftBaseline *base,
						 const DriftThresholds *thr, DriftResult *r);

/*
 * DriftEvaluate fills out (DRIFT_MAX_RESULTS entries) with the tests of the
 * period cur against base and returns how many it filled.  A period with no
 * rows has no tests: freshness, not drift, covers a missing day.
 */
int
DriftEvaluate(const DriftStats *cur, const DriftBaseline *base,
			  const DriftThresholds *thr, DriftResult *out)
{
	BaselineSummary sum;
	int64		values = cur->rows - cur->nulls;
	int			n = 0;

	if (cur->rows <= 0)
		return 0;
	Summarize(cur, base, &sum);
	if (cur->numeric && cur->has_mean)
	{
		Begin(&out[n], "mean_sigma", true, thr->v[DRIFT_MEAN_SIGMA]);
		out[n].significance = thr->v[DRIFT_SIGNIFICANCE];
		if (sum.enough && sum.nmeans > 0)
			SigmaTest(&out[n], "mean_sigma", fabs(cur->mean - sum.mean_mu), sum.mean_sigma,
					  thr->v[DRIFT_MEAN_SIGMA],
					  Ratio(fabs(cur->mean - sum.mean_mu), sum.pooled_sd),
					  thr->v[DRIFT_MEAN_MIN_EFFECT], MeanPValue(cur, &sum));
		n++;
	}
	Begin(&out[n], "null_rate_sigma", true, thr->v[DRIFT_NULL_RATE_SIGMA]);
	out[n].significance = thr->v[DRIFT_SIGNIFICANCE];
	if (sum.enough)
	{
		double		delta = fabs((double) cur->nulls / cur->rows - sum.null_mu);

		SigmaTest(&out[n], "null_rate_sigma", delta, sum.null_sigma,
				  thr->v[DRIFT_NULL_RATE_SIGMA], delta, thr->v[DRIFT_NULL_RATE_MIN_EFFECT],
				  NullPValue(cur, &sum));
	}
	n++;
	if (values > 0)
	{
		DistributionTests(cur, base, &sum, thr, out, &n);
		DistinctTest(cur, base, thr, &out[n++]);
	}
	/* all_null: the period has rows, only NULLs, and the baseline had values */
	Begin(&out[n], "all_null", false, 0);
	out[n].has_statistic = true;
	out[n].statistic = (double) values;
	if (base->n > 0)
		out[n].verdict = values == 0 ? DRIFT_VERDICT_DRIFT : DRIFT_VERDICT_OK;
	n++;
	return n;
}

/* Ratio is num / den, with x / 0 = +Infinity for x > 0 and 0 / 0 = 0 */
static double
Ratio(double num, double den)
{
	if (den > 0)
		return num / den;
	return num > 0 ? get_float8_infinity() : 0.0;
}

/* Begin starts a result as "no baseline", which the test may then replace */
static void
Begin(DriftResult *r, const char *test, bool has_threshold, double threshold)
{
	memset(r, 0, sizeof(*r));
	r->test = test;
	r->has_threshold = has_threshold;
	r->threshold = threshold;
	r->verdict = DRIFT_VERDICT_NO_BASELINE;
}

/*
 * Significant makes a drift verdict stand only when the statistic is
 * beyond sampling noise: p_value below the significance setting (set in
 * r->significance by DriftEvaluate).  A threshold alone is an effect size,
 * and a small period crosses it by chance (docs/monitoring.md, Drift).
 */
static void
Significant(DriftResult *r, double p_value)
{
	r->has_p_value = true;
	r->p_value = p_value;
	if (strcmp(r->verdict, DRIFT_VERDICT_DRIFT) == 0 && !(p_value < r->significance))
		r->verdict = DRIFT_VERDICT_OK;
}

/*
 * MeanPValue is the two-sample z-test of the period's mean against the
 * baseline's: |mean - mu_b| / (s_b sqrt(1/n + 1/m)), s_b the pooled stddev
 */
static double
MeanPValue(const DriftStats *cur, const BaselineSummary *sum)
{
	double		n = (double) (cur->rows - cur->nulls);
	double		se;

	if (n <= 0 || sum->values <= 0)
		return 1.0;
	se = sum->pooled_sd * sqrt(1.0 / n + 1.0 / sum->values);
	return DriftNormalPValue(Ratio(fabs(cur->mean - sum->mean_mu), se));
}

/*
 * SigmaTest is the seed's rule with its minimum effect: drift when
 * delta > k sigma and effect > min_effect, and the difference is
 * significant; the statistic is delta / sigma.  With sigma 0 (a constant
 * baseline) only the minimum effect and the significance decide.
 */
static void
SigmaTest(DriftResult *r, const char *test, double delta, double sigma,
		  double k, double effect, double min_effect, double p_value)
{
	r->has_statistic = true;
	r->statistic = Ratio(delta, sigma);
	r->has_effect = true;
	r->effect = effect;
	r->has_min_effect = true;
	r->min_effect = min_effect;
	r->verdict = (r->statistic > k && effect > min_effect) ?
		DRIFT_VERDICT_DRIFT : DRIFT_VERDICT_OK;
	Significant(r, p_value);
}

/*
 * Summarize computes what the mean and null-rate tests compare with.  For
 * the null rate over periods: the mean and sample stddev of the periods'
 * null rates; against a spine: the spine's rate, and the standard error of
 * the difference of two proportions, sqrt(p (1 - p) (1/r + 1/r_b)).
 */
static void
Summarize(const DriftStats *cur, const DriftBaseline *base, BaselineSummary *sum)
{
	double		s = 0.0,
				ss = 0.0;
	int			i;

	memset(sum, 0, sizeof(*sum));
	sum->enough = base->kind == DRIFT_BASE_SPINE ? base->n > 0 : base->n >= DRIFT_MIN_BASELINE;
	if (!sum->enough)
		return;
	for (i = 0; i < base->n; i++)
	{
		s += (double) base->periods[i].nulls / base->periods[i].rows;
		sum->null_count_b += (double) base->periods[i].nulls;
		sum->rows_b += (double) base->periods[i].rows;
	}
	sum->null_mu = s / base->n;
	if (base->kind == DRIFT_BASE_SPINE)
	{
		double		p = sum->null_mu;

		sum->null_sigma = sqrt(p * (1 - p) * (1.0 / cur->rows + 1.0 / base->periods[0].rows));
	}
	else
	{
		for (i = 0; i < base->n; i++)
		{
			double		d = (double) base->periods[i].nulls / base->periods[i].rows - sum->null_mu;

			ss += d * d;
		}
		sum->null_sigma = sqrt(ss / (base->n - 1));
	}
	if (cur->numeric)
		BaselineMeans(cur, base, sum);
}

/*
 * NullPValue is the two-sided p-value of the period's NULL count k against
 * the baseline's K, in r and r_b rows.  Given k + K, k is binomial with
 * share r / (r + r_b) when both rates are equal (the conditional test of
 * two Poisson counts), which stays exact for the rare NULLs where a normal
 * approximation would call 7 NULLs in 100 rows against 1 % impossible.
 * Above DRIFT_EXACT_MAX_NULLS NULLs in all the two-proportion z-test,
 * accurate at such counts, takes its place.
 */
static double
NullPValue(const DriftStats *cur, const BaselineSummary *sum)
{
	double		k = (double) cur->nulls,
				total = k + sum->null_count_b,
				p,
				se;

	if (cur->rows <= 0 || sum->rows_b <= 0 || total <= 0)
		return 1.0;
	if (total <= DRIFT_EXACT_MAX_NULLS)
		return DriftBinomialPValue((int) k, (int) total,
								   cur->rows / (cur->rows + sum->rows_b));
	p = total / (cur->rows + sum->rows_b);
	se = sqrt(Max(p * (1 - p), 0.0) * (1.0 / cur->rows + 1.0 / sum->rows_b));
	return DriftNormalPValue(Ratio(fabs(k / cur->rows - sum->null_count_b / sum->rows_b), se));
}

/*
 * BaselineMeans computes the mean test's baseline.  Over periods: mu_b and
 * sigma_b are the mean and sample stddev of the period means (the seed's
 * rule).  Against a spine: mu_b is the spine's mean, sigma_b the standard
 * error of the difference of two means, s_b sqrt(1/n + 1/n_b).  The pooled
 * stddev is that of the union of the baseline's values, from each period's
 * count, mean and stddev.
 */
static void
BaselineMeans(const DriftStats *cur, const DriftBaseline *base, BaselineSummary *sum)
{
	double		n = 0.0,
				sx = 0.0,
				ss = 0.0,
				spread = 0.0;
	int			i;

	for (i = 0; i < base->n; i++)
		if (base->periods[i].has_mean)
		{
			double		ni = (double) (base->periods[i].rows - base->periods[i].nulls);

			sum->nmeans++;
			n += ni;
			sx += ni * base->periods[i].mean;
			sum->mean_mu += base->periods[i].mean;
		}
	if (sum->nmeans == 0 || (base->kind != DRIFT_BASE_SPINE && sum->nmeans < DRIFT_MIN_BASELINE))
	{
		sum->nmeans = 0;
		return;
	}
	sum->mean_mu /= sum->nmeans;
	for (i = 0; i < base->n; i++)
		if (base->periods[i].has_mean)
		{
			const DriftStats *p = &base->periods[i];
			double		ni = (double) (p->rows - p->nulls);
			double		dg = p->mean - sx / n;

			ss += (ni - 1) * p->stddev * p->stddev + ni * dg * dg;
			spread += (p->mean - sum->mean_mu) * (p->mean - sum->mean_mu);
		}
	sum->pooled_sd = n > 1 ? sqrt(Max(ss, 0.0) / (n - 1)) : 0.0;
	sum->values = n;
	if (base->kind == DRIFT_BASE_SPINE)
		sum->mean_sigma = sum->pooled_sd *
			sqrt(1.0 / Max(cur->rows - cur->nulls, 1) + 1.0 / n);
	else
		sum->mean_sigma = sqrt(spread / (sum->nmeans - 1));
}

/*
 * TopValuesStored says whether the period and every baseline period have
 * their top values stored.  A PII feature's are not (monitor_stats.c), nor
 * those of a period computed while it was PII: JS cannot be computed, and
 * a baseline of such periods would count every value as "other".
 */
static bool
TopValuesStored(const DriftStats *cur, const DriftBaseline *base)
{
	if (!cur->has_top)
		return false;
	for (int i = 0; i < base->n; i++)
		if (!base->periods[i].has_top)
			return false;
	return true;
}

/*
 * DistributionTests adds PSI and either Kolmogorov-Smirnov (a period of at
 * most DRIFT_KS_MAX_VALUES values) or Wasserstein over the pooled stddev
 * (above) for a numeric feature, Jensen-Shannon for a categorical one.
 */
static void
DistributionTests(const DriftStats *cur, const DriftBaseline *base,
				  const BaselineSummary *sum, const DriftThresholds *thr,
				  DriftResult *out, int *n)
{
	DriftMixture mix;
	int64		values = cur->rows - cur->nulls;
	bool		ks = values <= DRIFT_KS_MAX_VALUES;
	bool		have;
	DriftChiSquare chisq;

	if (!cur->numeric)
	{
		DriftResult *r;

		if (!TopValuesStored(cur, base))
			return;
		r = &out[(*n)++];
		Begin(r, "js", true, thr->v[DRIFT_JS]);
		r->significance = thr->v[DRIFT_SIGNIFICANCE];
		if (!sum->enough)
			return;
		r->has_statistic = true;
		r->statistic = DriftJsDistance(cur, base, &chisq);
		r->verdict = r->statistic > r->threshold ? DRIFT_VERDICT_DRIFT : DRIFT_VERDICT_OK;
		Significant(r, chisq.p_value);
		return;
	}
	if (cur->pct == NULL)
		return;
	have = sum->enough && sum->nmeans > 0 && DriftMixtureInit(&mix, base);
	Begin(&out[*n], "psi", true, thr->v[DRIFT_PSI]);
	Begin(&out[*n + 1], ks ? "ks_pvalue" : "wasserstein", true,
		  thr->v[ks ? DRIFT_KS_PVALUE : DRIFT_WASSERSTEIN]);
	if (have)
	{
		DriftResult *psi = &out[*n];
		DriftResult *dist = &out[*n + 1];

		psi->has_statistic = true;
		psi->statistic = DriftPsi(cur->pct, &mix, (double) values, &chisq);
		psi->verdict = psi->statistic > psi->threshold ? DRIFT_VERDICT_DRIFT : DRIFT_VERDICT_OK;
		psi->significance = thr->v[DRIFT_SIGNIFICANCE];
		Significant(psi, chisq.p_value);
		dist->has_statistic = true;
		if (ks)
		{
			dist->has_effect = true;
			dist->effect = DriftKsStatistic(cur->pct, &mix);
			dist->statistic = DriftKsPValue(dist->effect, (double) values, mix.values);
			dist->verdict = dist->statistic < dist->threshold ? DRIFT_VERDICT_DRIFT : DRIFT_VERDICT_OK;
			/* KS is a significance test: ks_pvalue is its own level */
			dist->has_p_value = true;
			dist->p_value = dist->statistic;
			dist->significance = dist->threshold;
		}
		else
		{
			dist->statistic = Ratio(DriftWasserstein(cur->pct, &mix), sum->pooled_sd);
			dist->verdict = dist->statistic > dist->threshold ? DRIFT_VERDICT_DRIFT : DRIFT_VERDICT_OK;
		}
	}
	*n += 2;
}

/*
 * DistinctTest flags a distinct count below distinct_collapse times the
 * mean distinct count of the baseline's periods; the statistic is the
 * ratio.  One baseline period is enough: a collapse is always flagged.
 */
static void
DistinctTest(const DriftStats *cur, const DriftBaseline *base,
			 const DriftThresholds *thr, DriftResult *r)
{
	double		s = 0.0;
	int			i,
				k = 0;

	Begin(r, "distinct_collapse", true, thr->v[DRIFT_DISTINCT_COLLAPSE]);
	for (i = 0; i < base->n; i++)
		if (base->periods[i].has_distinct)
		{
			s += (double) base->periods[i].distinct;
			k++;
		}
	if (k == 0 || !cur->has_distinct)
		return;
	r->has_statistic = true;
	r->statistic = Ratio((double) cur->distinct, s / k);
	r->verdict = r->statistic < r->threshold ? DRIFT_VERDICT_DRIFT : DRIFT_VERDICT_OK;
}
