/*
 * monitor_drift_math.c
 *		The distribution math of the drift tests, on stored statistics only:
 *		a period's CDF interpolated from its 101 percentiles, the baseline's
 *		mixture of such CDFs and its quantiles, PSI over the baseline's
 *		deciles, Wasserstein-1, the two-sample Kolmogorov-Smirnov statistic
 *		and its asymptotic p-value, and the Jensen-Shannon distance of top
 *		values.  docs/monitoring.md, Drift, has the formulas.
 *
 * Nothing here reads a table or allocates outside CurrentMemoryContext; the
 * callers pass validated statistics (finite, nondecreasing percentiles).
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "monitor/monitor_drift_int.h"

static int	CompareDoubles(const void *a, const void *b);
static int	CompareStrings(const void *a, const void *b);
static int64 TopCount(const DriftStats *s, const char *value);
static double JsTerm(double p, double m);

/*
 * DriftCdf is the CDF of one period at x, linear between its percentiles
 * p_j (at j/100); left gives the limit from the left, which differs from
 * the value where equal percentiles make a jump (a frequent value).
 */
double
DriftCdf(const double *pct, double x, bool left)
{
	int			lo = 0,
				hi = DRIFT_NPCT - 1;

	if (left ? x <= pct[0] : x < pct[0])
		return 0.0;
	if (left ? x > pct[DRIFT_NPCT - 1] : x >= pct[DRIFT_NPCT - 1])
		return 1.0;
	/* the last j with p_j <= x (p_j < x for the left limit); then p_j+1 > x */
	while (hi - lo > 1)
	{
		int			mid = (lo + hi) / 2;

		if (left ? pct[mid] < x : pct[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + (x - pct[lo]) / (pct[lo + 1] - pct[lo])) / (DRIFT_NPCT - 1);
}

/* CompareDoubles orders doubles for qsort */
static int
CompareDoubles(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * DriftMixtureInit sets up the baseline's distribution from its periods
 * that have percentiles, weighted by their non-NULL values; false when none
 * has.  The knots are where the mixture's slope may change.
 */
bool
DriftMixtureInit(DriftMixture *mix, const DriftBaseline *base)
{
	int			i,
				k = 0;

	memset(mix, 0, sizeof(*mix));
	mix->pct = palloc(sizeof(double *) * Max(base->n, 1));
	mix->weight = palloc(sizeof(double) * Max(base->n, 1));
	for (i = 0; i < base->n; i++)
	{
		const DriftStats *s = &base->periods[i];

		if (s->pct == NULL || s->rows - s->nulls <= 0)
			continue;
		mix->pct[mix->n] = s->pct;
		mix->weight[mix->n] = (double) (s->rows - s->nulls);
		mix->values += mix->weight[mix->n];
		mix->n++;
	}
	if (mix->n == 0)
		return false;
	mix->knots = palloc(sizeof(double) * mix->n * DRIFT_NPCT);
	for (i = 0; i < mix->n; i++)
	{
		mix->weight[i] /= mix->values;
		memcpy(mix->knots + i * DRIFT_NPCT, mix->pct[i], sizeof(double) * DRIFT_NPCT);
	}
	qsort(mix->knots, mix->n * DRIFT_NPCT, sizeof(double), CompareDoubles);
	for (i = 0; i < mix->n * DRIFT_NPCT; i++)
		if (k == 0 || mix->knots[i] != mix->knots[k - 1])
			mix->knots[k++] = mix->knots[i];
	mix->nknots = k;
	return true;
}

/* DriftMixtureCdf is the baseline's CDF at x: G(x) = sum of w_i F_i(x) */
double
DriftMixtureCdf(const DriftMixture *mix, double x, bool left)
{
	double		g = 0.0;
	int			i;

	for (i = 0; i < mix->n; i++)
		g += mix->weight[i] * DriftCdf(mix->pct[i], x, left);
	return Min(g, 1.0);
}

/*
 * DriftMixtureQuantile is inf { x : G(x) >= u }, u in [0, 1]: the smallest
 * knot with G(knot) >= u, then the exact point on the linear piece before
 * it (G is linear between knots, from G(k-1) to the left limit at k).
 */
double
DriftMixtureQuantile(const DriftMixture *mix, double u)
{
	int			lo = 0,
				hi = mix->nknots - 1;
	double		g0,
				g1;

	if (u <= 0.0 || mix->nknots == 1)
		return mix->knots[0];
	if (u >= 1.0)
		return mix->knots[mix->nknots - 1];
	if (DriftMixtureCdf(mix, mix->knots[0], false) >= u)
		return mix->knots[0];
	/* invariant: G(knots[lo]) < u <= G(knots[hi]) (G(last) is 1) */
	while (hi - lo > 1)
	{
		int			mid = (lo + hi) / 2;

		if (DriftMixtureCdf(mix, mix->knots[mid], false) >= u)
			hi = mid;
		else
			lo = mid;
	}
	g0 = DriftMixtureCdf(mix, mix->knots[lo], false);
	g1 = DriftMixtureCdf(mix, mix->knots[hi], true);
	if (g1 < u || g1 <= g0)
		return mix->knots[hi];	/* u falls in the jump at knots[hi] */
	return mix->knots[lo] + (u - g0) / (g1 - g0) * (mix->knots[hi] - mix->knots[lo]);
}

/*
 * DriftPsi is sum (c_i - b_i) ln(c_i / b_i) over the 10 bins [e_i-1, e_i)
 * whose inner edges are the baseline's deciles, b_i and c_i the shares of
 * the baseline and of the period, each floored at DRIFT_SHARE_FLOOR (not
 * renormalised).  *test is the chi-square test of homogeneity of the same
 * bins, with the period's n values and the baseline's.
 */
double
DriftPsi(const double *cur, const DriftMixture *mix, double n, DriftChiSquare *test)
{
	double		psi = 0.0,
				prev_b = 0.0,
				prev_c = 0.0;
	double		a[10],
				m[10];
	int			i;

	for (i = 1; i <= 10; i++)
	{
		double		b,
					c;

		if (i < 10)
		{
			double		edge = DriftMixtureQuantile(mix, i / 10.0);

			b = DriftMixtureCdf(mix, edge, true);
			c = DriftCdf(cur, edge, true);
		}
		else
			b = c = 1.0;
		{
			double		bs = Max(b - prev_b, DRIFT_SHARE_FLOOR);
			double		cs = Max(c - prev_c, DRIFT_SHARE_FLOOR);

			psi += (cs - bs) * log(cs / bs);
		}
		a[i - 1] = Max(c - prev_c, 0.0) * n;
		m[i - 1] = Max(b - prev_b, 0.0) * mix->values;
		prev_b = b;
		prev_c = c;
	}
	DriftHomogeneity(a, m, 10, test);
	return psi;
}

/*
 * DriftHomogeneity is Pearson's chi-square test that two samples, with
 * counts a_i and b_i over k buckets, come from one distribution: the sum
 * over both samples and every bucket of (O - E)^2 / E, E from the pooled
 * shares, with one degree of freedom fewer than the buckets either sample
 * has.  It is the p-value behind PSI and JS: the distances themselves are
 * effect sizes, whose noise grows as a period gets small.
 */
void
DriftHomogeneity(const double *a, const double *b, int k, DriftChiSquare *test)
{
	double		na = 0.0,
				nb = 0.0,
				x = 0.0;
	int			i,
				used = 0;

	for (i = 0; i < k; i++)
	{
		na += a[i];
		nb += b[i];
	}
	if (na <= 0 || nb <= 0)
	{
		test->statistic = 0.0;
		test->df = 0;
		test->p_value = 1.0;
		return;
	}
	for (i = 0; i < k; i++)
	{
		double		t = a[i] + b[i],
					ea = t * na / (na + nb),
					eb = t * nb / (na + nb);

		/* a bucket neither sample has (1 - listed shares, rounded) */
		if (t < 1e-9)
			continue;
		used++;
		x += (a[i] - ea) * (a[i] - ea) / ea + (b[i] - eb) * (b[i] - eb) / eb;
	}
	test->statistic = x;
	test->df = Max(used - 1, 0);
	test->p_value = test->df > 0 ? DriftChiSquarePValue(x, test->df) : 1.0;
}

/*
 * DriftWasserstein is W1 = integral over u of |F^-1(u) - G^-1(u)|, by the
 * midpoint rule on the percentile grid: u = (j + 1/2) / 100, where the
 * period's F^-1 is (p_j + p_j+1) / 2.  The midpoints keep the samples'
 * extremes (p0, p100: the minimum and maximum, the noisiest statistics of
 * all) out of the integral; a shift by c still gives exactly c.
 */
double
DriftWasserstein(const double *cur, const DriftMixture *mix)
{
	double		w = 0.0;
	int			j;

	for (j = 0; j < DRIFT_NPCT - 1; j++)
	{
		double		u = (j + 0.5) / (DRIFT_NPCT - 1);

		w += fabs((cur[j] + cur[j + 1]) / 2.0 - DriftMixtureQuantile(mix, u));
	}
	return w / (DRIFT_NPCT - 1);
}

/*
 * DriftKsStatistic is D = sup |F(x) - G(x)|.  Both CDFs are linear between
 * the knots of either, so the supremum is reached at a knot, from one side
 * or the other.
 */
double
DriftKsStatistic(const double *cur, const DriftMixture *mix)
{
	double		d = 0.0;
	int			i;

	for (i = 0; i < DRIFT_NPCT + mix->nknots; i++)
	{
		double		x = i < DRIFT_NPCT ? cur[i] : mix->knots[i - DRIFT_NPCT];

		d = Max(d, fabs(DriftCdf(cur, x, false) - DriftMixtureCdf(mix, x, false)));
		d = Max(d, fabs(DriftCdf(cur, x, true) - DriftMixtureCdf(mix, x, true)));
	}
	return d;
}

/*
 * DriftKsPValue is the asymptotic two-sample p-value of D for samples of n
 * and m values: Q(lambda) = 2 sum_j>=1 (-1)^(j-1) exp(-2 j^2 lambda^2) with
 * lambda = D sqrt(n m / (n + m)) (Kolmogorov's distribution).
 */
double
DriftKsPValue(double d, double n, double m)
{
	double		lambda,
				sum = 0.0;
	int			j;

	if (n <= 0 || m <= 0)
		return 1.0;
	lambda = d * sqrt(n * m / (n + m));
	/* below 0.05 the series needs thousands of terms; Q is 1 to 1e-12 there */
	if (lambda < 0.05)
		return 1.0;
	for (j = 1; j <= 200; j++)
	{
		double		term = exp(-2.0 * j * j * lambda * lambda);

		sum += (j % 2 == 1) ? term : -term;
		if (term < 1e-16)
			break;
	}
	return Max(0.0, Min(1.0, 2.0 * sum));
}

/* CompareStrings orders C strings for qsort */
static int
CompareStrings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* TopCount is how often a period lists value among its top values (0: not) */
static int64
TopCount(const DriftStats *s, const char *value)
{
	char	   *const *found;

	if (s->ntop == 0)
		return 0;
	found = bsearch(&value, s->top_values, s->ntop, sizeof(char *), CompareStrings);
	return found ? s->top_counts[found - s->top_values] : 0;
}

/* JsTerm is p log2(p / m), 0 for p = 0 */
static double
JsTerm(double p, double m)
{
	return p > 0.0 ? p * log2(p / m) : 0.0;
}

/*
 * DriftJsDistance is the Jensen-Shannon distance (base 2, in [0, 1]) of the
 * period's and the baseline's value frequencies over the union of their
 * top values plus one "other" bucket; a value a period does not list counts
 * in that period's other.  NULLs are not values here.  *test is the
 * chi-square test of homogeneity of the same buckets' counts.
 */
double
DriftJsDistance(const DriftStats *cur, const DriftBaseline *base, DriftChiSquare *test)
{
	int			nvals = cur->ntop,
				i,
				k,
				u = 0,
				nbuckets = 0;
	char	  **vals;
	double	   *ca,
			   *cb;
	double		ptotal = (double) (cur->rows - cur->nulls),
				qtotal = 0.0,
				plisted = 0.0,
				qlisted = 0.0,
				js = 0.0;

	for (i = 0; i < base->n; i++)
		nvals += base->periods[i].ntop;
	vals = palloc(sizeof(char *) * Max(nvals, 1));
	if (cur->ntop > 0)
		memcpy(vals, cur->top_values, sizeof(char *) * cur->ntop);
	k = cur->ntop;
	for (i = 0; i < base->n; i++)
	{
		if (base->periods[i].ntop > 0)
			memcpy(vals + k, base->periods[i].top_values,
				   sizeof(char *) * base->periods[i].ntop);
		k += base->periods[i].ntop;
		qtotal += (double) (base->periods[i].rows - base->periods[i].nulls);
	}
	memset(test, 0, sizeof(*test));
	test->p_value = 1.0;
	if (ptotal <= 0 || qtotal <= 0)
		return 0.0;
	ca = palloc0(sizeof(double) * (nvals + 1));
	cb = palloc0(sizeof(double) * (nvals + 1));
	qsort(vals, nvals, sizeof(char *), CompareStrings);
	for (i = 0; i < nvals; i++)
	{
		double		p,
					q = 0.0;

		if (i > 0 && strcmp(vals[i], vals[u]) == 0)
			continue;
		u = i;
		p = (double) TopCount(cur, vals[i]) / ptotal;
		for (k = 0; k < base->n; k++)
			q += (double) TopCount(&base->periods[k], vals[i]);
		q /= qtotal;
		plisted += p;
		qlisted += q;
		ca[nbuckets] = p * ptotal;
		cb[nbuckets++] = q * qtotal;
		js += JsTerm(p, (p + q) / 2) + JsTerm(q, (p + q) / 2);
	}
	/* the other bucket */
	{
		double		p = Max(1.0 - plisted, 0.0),
					q = Max(1.0 - qlisted, 0.0);

		ca[nbuckets] = p * ptotal;
		cb[nbuckets++] = q * qtotal;
		js += JsTerm(p, (p + q) / 2) + JsTerm(q, (p + q) / 2);
	}
	DriftHomogeneity(ca, cb, nbuckets, test);
	return sqrt(Max(js / 2.0, 0.0));
}

/*
 * DriftNormalPValue is the two-sided p-value of a standard normal z:
 * P(|Z| >= z) = erfc(z / sqrt 2).
 */
double
DriftNormalPValue(double z)
{
	if (isnan(z))
		return 1.0;
	return erfc(fabs(z) / M_SQRT2);
}

/*
 * DriftChiSquarePValue is P(X >= x) for X chi-square with df degrees of
 * freedom: the regularized upper incomplete gamma Q(df / 2, x / 2), by its
 * power series below a + 1 and by its continued fraction (Lentz's method)
 * above, where each converges fast.
 */
double
DriftChiSquarePValue(double x, double df)
{
	double		a = df / 2.0,
				h = x / 2.0,
				lead;
	int			i;

	if (!(df > 0) || isnan(x) || x <= 0)
		return 1.0;
	if (isinf(x))
		return 0.0;
	lead = exp(-h + a * log(h) - lgamma(a));
	if (h < a + 1.0)
	{
		double		term = 1.0 / a,
					sum = term;

		for (i = 1; i < 1000 && fabs(term) > fabs(sum) * 1e-16; i++)
		{
			term *= h / (a + i);
			sum += term;
		}
		return Max(0.0, Min(1.0, 1.0 - sum * lead));
	}
	else
	{
		double		b = h + 1.0 - a,
					c = 1.0 / DBL_MIN,
					d = 1.0 / b,
					f = d;

		for (i = 1; i < 1000; i++)
		{
			double		an = -i * (i - a),
						delta;

			b += 2.0;
			d = an * d + b;
			if (fabs(d) < DBL_MIN)
				d = DBL_MIN;
			c = b + an / c;
			if (fabs(c) < DBL_MIN)
				c = DBL_MIN;
			d = 1.0 / d;
			delta = d * c;
			f *= delta;
			if (fabs(delta - 1.0) < 1e-16)
				break;
		}
		return Max(0.0, Min(1.0, f * lead));
	}
}

/*
 * DriftBinomialPValue is the two-sided p-value of k successes in n trials
 * of probability share: twice the smaller tail, P(X <= k) or P(X >= k),
 * at most 1.  The terms are summed in log space from the tail's end
 * nearest the mode, where they are largest, until they vanish.
 */
double
DriftBinomialPValue(int k, int n, double share)
{
	double		lc = lgamma(n + 1.0),
				lp,
				lq,
				lower = 0.0,
				upper = 0.0;
	int			j;

	if (n <= 0 || k < 0 || k > n)
		return 1.0;
	if (share <= 0.0 || share >= 1.0)
		return (share <= 0.0 ? k == 0 : k == n) ? 1.0 : 0.0;
	lp = log(share);
	lq = log1p(-share);
	for (j = k; j >= 0; j--)
	{
		double		t = exp(lc - lgamma(j + 1.0) - lgamma(n - j + 1.0) + j * lp + (n - j) * lq);

		lower += t;
		if (t < lower * 1e-17)
			break;
	}
	for (j = k; j <= n; j++)
	{
		double		t = exp(lc - lgamma(j + 1.0) - lgamma(n - j + 1.0) + j * lp + (n - j) * lq);

		upper += t;
		if (t < upper * 1e-17)
			break;
	}
	return Min(1.0, 2.0 * Min(lower, upper));
}
