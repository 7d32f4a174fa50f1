/*-------------------------------------------------------------------------
 *
 * monitor_stats_int.h
 *		Private to the statistics files of src/monitor/ (monitor_stats*.c):
 *		the statistics of one feature, and the accumulator that computes
 *		them from its values in one sorted walk.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FEATSTORE_MONITOR_STATS_INT_H
#define FEATSTORE_MONITOR_STATS_INT_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/tuplesort.h"

#define STATS_PERCENTILES 101	/* p0 .. p100 */
#define STATS_BINS 20			/* equal-width histogram bins */
#define STATS_TOP 20			/* top values of a categorical feature */

/* The statistics of one feature over one period or spine */
typedef struct FeatureStats
{
	char	   *name;
	bool		numeric;		/* numeric kind: moments; else top values */
	int64		rows;			/* values seen, NULLs included */
	int64		nulls;
	int64		distinct;
	/* numeric, when some value is not NULL */
	double		min;
	double		max;
	double		mean;
	double		stddev;			/* valid when rows - nulls > 1 */
	double		pct[STATS_PERCENTILES];
	bool		has_hist;		/* false when min or max is not finite */
	double		edges[STATS_BINS + 1];
	int64		bins[STATS_BINS];
	/* categorical */
	int			ntop;
	char	   *top_values[STATS_TOP];
	int64		top_counts[STATS_TOP];
	int64		other;
} FeatureStats;

/* The running state of one feature's statistics */
typedef struct StatsAcc
{
	FeatureStats *out;
	Tuplesortstate *sort;		/* the non-NULL values */
	/* Youngs-Cramer sums, as PostgreSQL's float8 avg and stddev_samp keep */
	double		n;
	double		sx;
	double		sxx;
} StatsAcc;

extern void StatsAccBegin(StatsAcc *acc, FeatureStats *out, bool numeric);
extern void StatsAccAdd(StatsAcc *acc, Datum value, bool isnull);
extern void StatsAccFinish(StatsAcc *acc);

/* monitor_stats.c: MonitorComputeStats, also saying whether the read failed */
extern int64 MonitorComputeStatsRun(const char *group_name, TimestampTz from, TimestampTz to,
									bool scheduled, bool *failed);
extern bool MonitorEarliestEvent(const char *group_name, TimestampTz cutoff,
								 TimestampTz *earliest);

#endif							/* FEATSTORE_MONITOR_STATS_INT_H */
