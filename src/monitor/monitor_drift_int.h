/*-------------------------------------------------------------------------
 *
 * monitor_drift_int.h
 *		Shared by the drift files of src/monitor/ only: the statistics of
 *		one period as the tests read them, the baseline, the thresholds, the
 *		tests' results and the distribution math (docs/monitoring.md, Drift).
 *
 *		monitor_drift.c		the SQL functions, reading featstore.feature_stats
 *							and the settings, MonitorEvaluateDrift and alerts
 *		monitor_drift_eval.c	the tests of one period against its baseline
 *		monitor_drift_math.c	CDFs from percentiles, the baseline mixture,
 *							PSI, Wasserstein, Kolmogorov-Smirnov, Jensen-Shannon
 *
 *-------------------------------------------------------------------------
 */
#ifndef FEATSTORE_MONITOR_DRIFT_INT_H
#define FEATSTORE_MONITOR_DRIFT_INT_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* featstore.feature_stats.percentiles: p0 to p100 */
#define DRIFT_NPCT 101
/* A trailing or pinned-range baseline needs this many periods with values */
#define DRIFT_MIN_BASELINE 7
/* KS decides up to this many non-NULL values in the period, Wasserstein above */
#define DRIFT_KS_MAX_VALUES 1000
/* PSI's floor for a bin's share, so that an empty bin has a finite term */
#define DRIFT_SHARE_FLOOR 1e-4
/* Up to this many NULLs the null rate's p-value is exact (NullPValue) */
#define DRIFT_EXACT_MAX_NULLS 100000
/* Periods a pinned reference range may hold */
#define DRIFT_MAX_RANGE_PERIODS 1000

#define DRIFT_VERDICT_OK			"ok"
#define DRIFT_VERDICT_DRIFT			"drift"
#define DRIFT_VERDICT_NO_BASELINE	"no baseline"

/* One row of featstore.feature_stats, as the tests read it */
typedef struct DriftStats
{
	TimestampTz start;
	TimestampTz end;
	bool		numeric;		/* kind numeric (else categorical) */
	int64		rows;
	int64		nulls;
	bool		has_distinct;
	int64		distinct;
	bool		has_mean;		/* mean and stddev present and finite */
	double		mean;
	double		stddev;
	double	   *pct;			/* DRIFT_NPCT finite, nondecreasing; or NULL */
	bool		has_top;		/* top values stored (none for a PII feature) */
	int			ntop;
	char	  **top_values;		/* sorted by strcmp (for the merge in JS) */
	int64	   *top_counts;
} DriftStats;

/* Where a baseline comes from (monitor_settings) */
typedef enum DriftBaselineKind
{
	DRIFT_BASE_TRAILING,		/* the N periods before the period */
	DRIFT_BASE_RANGE,			/* the periods in [reference_from, reference_to) */
	DRIFT_BASE_SPINE			/* a spine's statistics (reference_label) */
} DriftBaselineKind;

/* The baseline of one period: only periods with non-NULL values */
typedef struct DriftBaseline
{
	DriftBaselineKind kind;
	int			n;
	DriftStats *periods;
} DriftBaseline;

/* The thresholds, in featstore.monitor_thresholds.setting's names */
typedef enum DriftSetting
{
	DRIFT_MEAN_SIGMA,
	DRIFT_MEAN_MIN_EFFECT,
	DRIFT_NULL_RATE_SIGMA,
	DRIFT_NULL_RATE_MIN_EFFECT,
	DRIFT_PSI,
	DRIFT_JS,
	DRIFT_WASSERSTEIN,
	DRIFT_KS_PVALUE,
	DRIFT_DISTINCT_COLLAPSE,
	DRIFT_SIGNIFICANCE,
	DRIFT_NSETTINGS
} DriftSetting;

extern const char *const DriftSettingNames[DRIFT_NSETTINGS];

typedef struct DriftThresholds
{
	double		v[DRIFT_NSETTINGS];
} DriftThresholds;

/* One test's row of featstore.drift_tests() */
typedef struct DriftResult
{
	const char *test;
	bool		has_statistic;
	double		statistic;
	bool		has_threshold;
	double		threshold;
	bool		has_effect;
	double		effect;
	bool		has_min_effect;
	double		min_effect;
	bool		has_p_value;	/* the statistic's sampling p-value, if known */
	double		p_value;
	double		significance;	/* drift needs p_value below it */
	const char *verdict;
} DriftResult;

/* At most this many tests per feature and period */
#define DRIFT_MAX_RESULTS 6

extern int	DriftEvaluate(const DriftStats *cur, const DriftBaseline *base,
						  const DriftThresholds *thr, DriftResult *out);

/* A threshold a feature sets for itself */
typedef struct DriftOverride
{
	char	   *feature;
	int			setting;		/* DriftSetting */
	double		value;
} DriftOverride;

/* The queries a DriftContext prepares once */
typedef enum DriftQuery
{
	DRIFT_Q_TARGETS,
	DRIFT_Q_PERIOD,
	DRIFT_Q_TRAILING,
	DRIFT_Q_RANGE,
	DRIFT_Q_SPINE,
	DRIFT_NQUERIES
} DriftQuery;

/* What evaluating a group's periods needs: its settings and thresholds */
typedef struct DriftContext
{
	const char *group;
	bool		read_only;		/* SPI read-only: called from a STABLE function */
	int			trailing;		/* baseline_periods */
	bool		has_range;		/* reference_from / reference_to pinned */
	TimestampTz ref_from;
	TimestampTz ref_to;
	char	   *label;			/* reference_label; NULL: none */
	DriftThresholds group_thr;	/* the defaults with the group's own applied */
	int			noverrides;
	DriftOverride *overrides;
	MemoryContext evalcxt;		/* one period's evaluation; reset between */
	struct _SPI_plan *plans[DRIFT_NQUERIES];	/* prepared, until SPI_finish */
	struct ReturnSetInfo *rsinfo;	/* drift_tests' result; NULL otherwise */
} DriftContext;

/* monitor_drift.c */
extern void DriftBegin(DriftContext *ctx, const char *group_name, bool read_only);
extern void DriftFeatureThresholds(const DriftContext *ctx, const char *feature,
								   DriftThresholds *thr);
extern bool DriftReadPeriod(DriftContext *ctx, const char *feature,
							TimestampTz start, TimestampTz end, DriftStats *cur);
extern int	DriftEvaluatePeriod(DriftContext *ctx, const char *feature,
								const DriftStats *cur, DriftBaseline *base,
								DriftResult *out);
extern void DriftBaselineBounds(const DriftBaseline *base, TimestampTz *from,
								TimestampTz *to);
extern void DriftBadRange(const char *function, const char *group_name,
						  TimestampTz from, TimestampTz to) pg_attribute_noreturn();

/* The baseline's distribution: the row-weighted mixture of its periods' CDFs */
typedef struct DriftMixture
{
	int			n;
	const double **pct;
	double	   *weight;			/* non-NULL values, normalised to sum 1 */
	double		values;			/* non-NULL values in all */
	int			nknots;
	double	   *knots;			/* every percentile, sorted, distinct */
} DriftMixture;

extern bool DriftMixtureInit(DriftMixture *mix, const DriftBaseline *base);
extern double DriftCdf(const double *pct, double x, bool left);
extern double DriftMixtureCdf(const DriftMixture *mix, double x, bool left);
extern double DriftMixtureQuantile(const DriftMixture *mix, double u);
/* A chi-square test's statistic, degrees of freedom and p-value */
typedef struct DriftChiSquare
{
	double		statistic;
	int			df;
	double		p_value;
} DriftChiSquare;

extern double DriftPsi(const double *cur, const DriftMixture *mix, double n,
					   DriftChiSquare *test);
extern void DriftHomogeneity(const double *a, const double *b, int k,
							 DriftChiSquare *test);
extern double DriftWasserstein(const double *cur, const DriftMixture *mix);
extern double DriftKsStatistic(const double *cur, const DriftMixture *mix);
extern double DriftKsPValue(double d, double n, double m);
extern double DriftJsDistance(const DriftStats *cur, const DriftBaseline *base,
							   DriftChiSquare *test);
extern double DriftNormalPValue(double z);
extern double DriftChiSquarePValue(double x, double df);
extern double DriftBinomialPValue(int k, int n, double share);

#endif							/* FEATSTORE_MONITOR_DRIFT_INT_H */
