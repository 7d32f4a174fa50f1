/*
 * monitor_core.h
 *		Shared by part core's own files in src/monitor/ (monitor_worker.c,
 *		monitor_fresh.c): the monitor's settings.  Other subsystems use
 *		monitor.h.
 */
#ifndef FEATSTORE_MONITOR_CORE_H
#define FEATSTORE_MONITOR_CORE_H

/* monitor_worker.c: the settings (docs/monitoring.md, The monitor worker) */
extern bool monitor_enabled;
extern int	monitor_naptime_ms;
extern int	monitor_statement_timeout_ms;
extern int	monitor_worker_grace_s;
extern int	monitor_group_timeout_ms;
extern bool monitor_preloaded;

/* monitor_fresh.c */
extern int	MonitorCheckFreshnessCount(void);

#endif							/* FEATSTORE_MONITOR_CORE_H */
