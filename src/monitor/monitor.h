/*-------------------------------------------------------------------------
 *
 * monitor.h
 *		What the rest of featstore may call of the monitoring subsystem
 *		(issue 11): statistics per feature and period, drift against a
 *		baseline, freshness SLAs, online/offline skew checks and alerts.
 *		docs/monitoring.md has the contract; src/sql/50_monitor.sql the
 *		tables.
 *
 *		The monitor runs in its own background worker (one per database the
 *		launcher serves), never in the online worker: a statistics run may
 *		read a day of history and must not delay Redis.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FEATSTORE_MONITOR_H
#define FEATSTORE_MONITOR_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "registry/registry.h"

/*
 * Alert kinds, as featstore.alerts.kind spells them.  At most one alert of a
 * kind is open per group and feature (feature NULL for a whole-group alert).
 */
#define MONITOR_ALERT_DRIFT					"drift"
#define MONITOR_ALERT_STALE_DATA			"stale_data"
#define MONITOR_ALERT_MATERIALIZATION_LAG	"materialization_lag"
#define MONITOR_ALERT_WORKER_FAILING		"worker_failing"
#define MONITOR_ALERT_TRANSFORMATION_STALE	"transformation_stale"
#define MONITOR_ALERT_SKEW					"skew"
#define MONITOR_ALERT_STATS_FAILED			"stats_failed"

/*
 * monitor_alert.c.  MonitorRaiseAlert opens an alert, or refreshes the open
 * one (last_seen, details); a new alert sends NOTIFY featstore_alerts with a
 * JSON payload that carries no data values.  MonitorResolveAlert closes the
 * open alert, if any.  Both write as the extension owner and need a
 * transaction; details_json is a JSON object as text (NULL: {}).
 */
extern void MonitorRaiseAlert(const char *kind, const char *group_name,
							  const char *feature_name, const char *details_json);
extern void MonitorResolveAlert(const char *kind, const char *group_name,
								const char *feature_name);

/*
 * monitor_settings.c (part core).  The registry's ALTER / CREATE FEATURE
 * GROUP store a group's monitoring settings through these, with SPI
 * connected and the caller's ownership checked: MonitorSetDuration sets the
 * freshness SLA (freshness true) or the statistics period (MONITOR EVERY)
 * to usecs as written in text (NULL: NONE); MonitorSetThresholds sets or
 * resets drift thresholds of the group or one feature; MonitorSetBaseline
 * pins the baseline.
 */
extern void MonitorSetDuration(const char *group_name, bool freshness, const char *text,
							   int64 usecs);
extern void MonitorSetThresholds(const char *group_name, const char *feature_name,
								 List *settings, bool reset);
extern void MonitorSetBaseline(const char *group_name, const FsMonitorBaseline *baseline);

/*
 * monitor_stats.c.  MonitorComputeStats computes the statistics of every
 * active feature of a group over [from, to), as the group table's owner in a
 * restricted section, stores them in featstore.feature_stats (replacing the
 * same period's) and records the run in featstore.stats_runs; it returns the
 * run's id.  A failed read is recorded as a failed run, raises a
 * stats_failed alert and is reported (WARNING, or LOG when scheduled), not
 * rethrown, so that its record survives; a later success resolves the
 * alert.  MonitorStatsInit defines featstore.monitor_retention.
 * MonitorRunDueStats computes, for each group whose period has completed,
 * the periods not computed yet (bounded per call), each in its own
 * transaction, then evaluates their drift; MonitorNextStatsDue
 * is when it next has work (DT_NOEND: none; opens a transaction of its own
 * when called outside one).  MonitorRunDueStats must be called outside a
 * transaction.  MonitorPurgeStats applies the retention setting.
 */
extern void MonitorStatsInit(void);
extern int64 MonitorComputeStats(const char *group_name, TimestampTz from,
								 TimestampTz to, bool scheduled);
extern void MonitorRunDueStats(void);
extern TimestampTz MonitorNextStatsDue(void);
extern void MonitorPurgeStats(void);

/*
 * monitor_drift.c.  MonitorEvaluateDrift compares the stored statistics of a
 * group's period with its baseline and opens or resolves the drift alerts of
 * its features (one open alert per feature; the details name the period and
 * every failing test).
 */
extern void MonitorEvaluateDrift(const char *group_name, TimestampTz period_start,
								 TimestampTz period_end);

/*
 * monitor_fresh.c.  MonitorCheckFreshness evaluates every group's freshness
 * SLA and the online store's state, opening and resolving stale_data,
 * materialization_lag, worker_failing and transformation_stale alerts.  It
 * runs in the caller's transaction (SQL: featstore.check_freshness()), one
 * group per subtransaction; a group that fails is a WARNING.
 */
extern void MonitorCheckFreshness(void);

/*
 * monitor_skew.c.  MonitorRunDueSkewChecks samples each online group whose
 * check is due, compares Redis with the join at now() and records the result
 * in featstore.skew_checks, opening or resolving its skew alert;
 * MonitorNextSkewDue is when the next check is due.  As TransformRunDue:
 * call MonitorRunDueSkewChecks outside any transaction (it runs each check
 * in its own) and as often as the loop likes (it returns at once until
 * MonitorNextSkewDue); it never raises an error (a failed check is recorded
 * as not done, an error around it is logged) and leaves the caller in
 * TopMemoryContext.  MonitorNextSkewDue needs no transaction, allocates
 * nothing and is at most a second away.
 */
extern void MonitorRunDueSkewChecks(void);
extern TimestampTz MonitorNextSkewDue(void);

/*
 * monitor_skew.c: MonitorSkewInit defines featstore.skew_check_interval and
 * featstore.skew_sample_size; _PG_init calls it
 */
extern void MonitorSkewInit(void);

/*
 * monitor_worker.c: the monitor's background worker, started by the
 * launcher; MonitorInit (part core) defines its settings (featstore.monitor,
 * monitor_naptime, monitor_statement_timeout, monitor_worker_grace) and
 * _PG_init calls it
 */
extern void MonitorWorkerMain(Datum main_arg);
extern void MonitorInit(void);

/*
 * monitor_compare.c (issue 12, backfill validation): two samples of one
 * numeric feature compared with the statistics module's sorted walk and
 * the drift tests' PSI, so that a backfill's report uses the monitor's
 * numbers.  Begin, Add each value, Finish; then MonitorSamplePsi (false
 * when a sample has no finite percentiles, e.g. no values).
 */
#define MONITOR_SAMPLE_PERCENTILES 101	/* p0 .. p100 */

typedef struct MonitorSample MonitorSample;

typedef struct MonitorSampleStats
{
	int64		rows;			/* values seen, NULLs included */
	int64		nulls;
	bool		has_mean;
	double		mean;
	bool		has_stddev;		/* more than one value, all finite */
	double		stddev;
	bool		has_percentiles;	/* some value, every value finite */
	double		pct[MONITOR_SAMPLE_PERCENTILES];
} MonitorSampleStats;

extern MonitorSample *MonitorSampleBegin(void);
extern void MonitorSampleAdd(MonitorSample *s, double value, bool isnull);
extern void MonitorSampleFinish(MonitorSample *s, MonitorSampleStats *out);
extern bool MonitorSamplePsi(const MonitorSampleStats *cur, const MonitorSampleStats *ref,
							 double *psi);

#endif							/* FEATSTORE_MONITOR_H */
