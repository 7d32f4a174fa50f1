/*
 * monitor_stats_schedule.c
 *		The monitor worker's statistics: each group's completed periods,
 *		computed incrementally (MonitorRunDueStats, MonitorNextStatsDue),
 *		and the retention of statistics and runs (MonitorPurgeStats,
 *		featstore.monitor_retention).  docs/monitoring.md, Statistics.
 *
 * Periods are aligned to the Unix epoch in UTC: a period of length every
 * starts at 1970-01-01 00:00 UTC + k * every.  A group's schedule goes on
 * from the end of its latest scheduled period that succeeded, so a run
 * reads one new period, never the whole history; a group with none yet
 * starts at the period of its earliest row within the retention.  A
 * period is due once it has ended.  Each period is computed in its own
 * transaction, at most STATS_PERIODS_PER_CALL per call, so that the
 * worker's other duties never wait long.  When a group's next period is
 * due is kept in monitor_settings.next_stats_at where the group has a row,
 * and in the worker's memory for groups without one (the defaults).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "featstore.h"
#include "monitor/monitor.h"
#include "monitor/monitor_stats_int.h"
#include "registry/registry.h"

/* Periods computed per call of MonitorRunDueStats, over all groups */
#define STATS_PERIODS_PER_CALL 4
/* The default MONITOR EVERY: one day */
#define STATS_DEFAULT_EVERY USECS_PER_DAY
/* A failed period is tried again after this, or one period if shorter */
#define STATS_RETRY_USECS (5 * USECS_PER_MINUTE)
/* MonitorRunDueStats applies the retention at most this often */
#define STATS_PURGE_EVERY USECS_PER_HOUR

/* featstore.monitor_retention, as written, and in microseconds */
static char *monitor_retention_text = NULL;
static int64 monitor_retention_usecs = 400 * USECS_PER_DAY;

/* One group's place in the schedule */
typedef struct StatsGroup
{
	char	   *name;
	int64		every;			/* microseconds; 0: MONITOR NONE */
	bool		has_row;		/* monitor_settings has a row */
	bool		has_next;		/* next_stats_at is set */
	TimestampTz next;
	bool		has_last;		/* a scheduled period succeeded */
	TimestampTz last_end;		/* the latest one's end */
} StatsGroup;

/* When groups without a settings row are due, in the worker's memory */
typedef struct StatsDue
{
	char		name[NAMEDATALEN * 2];
	TimestampTz due;
} StatsDue;

static List *stats_due = NIL;	/* of StatsDue *, in TopMemoryContext */
static MemoryContext stats_cxt = NULL;	/* one call's schedule */
static TimestampTz last_purge = 0;

static bool check_monitor_retention(char **newval, void **extra, GucSource source);
static void assign_monitor_retention(const char *newval, void *extra);
static bool StatsInstalled(void);
static List *ScheduledGroups(void);
static List *ReadGroups(void);
static StatsGroup *ReadGroup(HeapTuple tup, TupleDesc desc);
static TimestampTz AlignPeriod(TimestampTz t, int64 every);
static int	RunGroup(const StatsGroup *g, int budget);
static bool FirstPeriod(const StatsGroup *g, TimestampTz *start);
static bool PeriodDone(const char *group_name, TimestampTz start, TimestampTz end);
static bool RunPeriod(const StatsGroup *g, TimestampTz start, TimestampTz end);
static void SetNextDue(const StatsGroup *g, TimestampTz due);
static TimestampTz CachedDue(const char *name);
static void LogScheduleError(const char *group_name);

/* MonitorStatsInit defines featstore.monitor_retention (monitor.h) */
void
MonitorStatsInit(void)
{
	DefineCustomStringVariable("featstore.monitor_retention",
							   "How long statistics and statistics runs are kept.",
							   "An interval; days are 24 hours, months and years are refused. Statistics of periods that ended longer ago, and the runs that computed them, are deleted; spine statistics are kept.",
							   &monitor_retention_text,
							   "400 days",
							   PGC_SIGHUP,
							   0,
							   check_monitor_retention,
							   assign_monitor_retention,
							   NULL);
}

/*
 * check_monitor_retention accepts a positive interval without months:
 * the retention must mean the same duration in every session
 */
static bool
check_monitor_retention(char **newval, void **extra, GucSource source)
{
	struct pg_itm_in itm;
	int			dtype;
	int			nf;
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	char		workbuf[256];
	Interval	itv;
	int64	   *usecs;

	if (*newval == NULL ||
		ParseDateTime(*newval, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf) != 0 ||
		DecodeInterval(field, ftype, nf, INTERVAL_FULL_RANGE, &dtype, &itm) != 0 ||
		dtype != DTK_DELTA || itmin2interval(&itm, &itv) != 0)
	{
		GUC_check_errdetail("featstore.monitor_retention must be an interval, such as '400 days'.");
		return false;
	}
	if (itv.month != 0 || itv.day < 0 || itv.time < 0 ||
		itv.day * USECS_PER_DAY + itv.time <= 0)
	{
		GUC_check_errdetail("featstore.monitor_retention must be positive, in days, hours or smaller units (months vary in length).");
		return false;
	}
	/* the GUC machinery frees extra with free() */
	usecs = malloc(sizeof(int64));
	if (usecs == NULL)
		return false;
	*usecs = itv.day * USECS_PER_DAY + itv.time;
	*extra = usecs;
	return true;
}

/* assign_monitor_retention keeps the checked retention in microseconds */
static void
assign_monitor_retention(const char *newval, void *extra)
{
	if (extra != NULL)
		monitor_retention_usecs = *(int64 *) extra;
}

/*
 * AlignPeriod is the start of the period of length every that holds t:
 * 1970-01-01 00:00 UTC + floor((t - epoch) / every) * every
 */
static TimestampTz
AlignPeriod(TimestampTz t, int64 every)
{
	int64		epoch = (int64) (UNIX_EPOCH_JDATE - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY;
	int64		off = t - epoch;
	int64		k = off / every;

	if (off < 0 && off % every != 0)
		k--;
	return epoch + k * every;
}

/*
 * StatsInstalled says whether featstore, with its statistics tables, is
 * installed in this database at the library's version
 */
static bool
StatsInstalled(void)
{
	Oid			nsp = FeatstoreSchemaOid(true);
	char	   *installed;

	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("stats_runs", nsp)))
		return false;
	installed = FeatstoreInstalledVersion();
	return installed != NULL && strcmp(installed, FEATSTORE_VERSION) == 0;
}

/*
 * MonitorRunDueStats computes the due periods of every group, oldest
 * first, at most STATS_PERIODS_PER_CALL in all, each in its own
 * transaction (monitor.h).  Called outside a transaction.  An error
 * outside a run's read (the schedule's own queries) is logged, and that
 * group is tried again later.
 */
void
MonitorRunDueStats(void)
{
	List	   *groups;
	int			budget = STATS_PERIODS_PER_CALL;
	ListCell   *lc;
	MemoryContext old;

	if (IsTransactionState())
		elog(ERROR, "MonitorRunDueStats must be called outside a transaction");
	if (stats_cxt == NULL)
		stats_cxt = AllocSetContextCreate(TopMemoryContext, "featstore statistics schedule",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(stats_cxt);
	old = MemoryContextSwitchTo(stats_cxt);
	groups = ScheduledGroups();
	foreach(lc, groups)
	{
		if (budget <= 0)
			break;
		budget -= RunGroup(lfirst(lc), budget);
	}
	if (groups != NIL && GetCurrentTimestamp() - last_purge >= STATS_PURGE_EVERY)
		MonitorPurgeStats();
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(old);
}

/*
 * ScheduledGroups reads the groups' schedule in a transaction of its own;
 * NIL when featstore is not installed here at the library's version, or
 * on an error (logged)
 */
static List *
ScheduledGroups(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *volatile groups = NIL;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (StatsInstalled())
		{
			MemoryContextSwitchTo(cxt);
			groups = ReadGroups();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		LogScheduleError(NULL);
		groups = NIL;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return groups;
}

/*
 * ReadGroups lists every group with its period, settings row and latest
 * scheduled period (in the caller's memory context; in a transaction)
 */
static List *
ReadGroups(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *groups = NIL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	if (SPI_execute("SELECT g.name, "
					"CASE WHEN s.group_name IS NULL THEN " CppAsString2(STATS_DEFAULT_EVERY) "::pg_catalog.int8 "
					"WHEN s.monitor_every IS NULL THEN 0::pg_catalog.int8 "
					"ELSE (EXTRACT(epoch FROM s.monitor_every) * 1000000)::pg_catalog.int8 END, "
					"s.group_name IS NOT NULL, s.next_stats_at, "
					"(SELECT pg_catalog.max(r.period_end) FROM featstore.stats_runs r "
					"  WHERE r.group_name = g.name AND r.trigger = 'schedule' AND r.status = 'succeeded') "
					"FROM featstore.feature_groups g "
					"LEFT JOIN featstore.monitor_settings s ON s.group_name = g.name ORDER BY g.name",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "featstore could not read the statistics schedule");
	MemoryContextSwitchTo(cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		StatsGroup *g = ReadGroup(SPI_tuptable->vals[i], SPI_tuptable->tupdesc);

		if (g != NULL)
			groups = lappend(groups, g);
	}
	SPI_finish();
	return groups;
}

/* ReadGroup reads one row of ReadGroups' query; NULL for MONITOR NONE */
static StatsGroup *
ReadGroup(HeapTuple tup, TupleDesc desc)
{
	StatsGroup *g = palloc0(sizeof(StatsGroup));
	bool		isnull;
	Datum		d;

	g->name = SPI_getvalue(tup, desc, 1);
	d = SPI_getbinval(tup, desc, 2, &isnull);
	g->every = isnull ? 0 : DatumGetInt64(d);
	if (g->name == NULL || g->every <= 0)
		return NULL;
	g->has_row = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	d = SPI_getbinval(tup, desc, 4, &isnull);
	g->has_next = !isnull;
	g->next = isnull ? 0 : DatumGetTimestampTz(d);
	d = SPI_getbinval(tup, desc, 5, &isnull);
	g->has_last = !isnull;
	g->last_end = isnull ? 0 : DatumGetTimestampTz(d);
	return g;
}

/*
 * RunGroup computes up to budget due periods of one group, oldest first,
 * and records when the group is next due; returns how many it computed
 */
static int
RunGroup(const StatsGroup *g, int budget)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz start;
	int			done = 0;

	if ((g->has_row && g->has_next ? g->next : CachedDue(g->name)) > now)
		return 0;
	if (g->has_last)
		start = Max(AlignPeriod(g->last_end, g->every),
					AlignPeriod(now - monitor_retention_usecs, g->every));
	else if (!FirstPeriod(g, &start))
		return 0;				/* nothing to compute yet, or an error logged */
	while (done < budget && start + g->every <= now)
	{
		/* before the first scheduled period, computed ones are not redone */
		if (g->has_last || !PeriodDone(g->name, start, start + g->every))
		{
			if (!RunPeriod(g, start, start + g->every))
			{
				SetNextDue(g, now + Min(STATS_RETRY_USECS, g->every));
				return done + 1;
			}
			done++;
		}
		start += g->every;
	}
	SetNextDue(g, start + g->every <= now ? now : start + g->every);
	return done;
}

/*
 * FirstPeriod finds where a group without a scheduled period starts: the
 * period of its earliest row within the retention, read as the table's
 * owner.  False when there is none (the group is due again at the end of
 * the current period) or on an error (logged; retried later).
 */
static bool
FirstPeriod(const StatsGroup *g, TimestampTz *start)
{
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz cutoff = now - monitor_retention_usecs;
	volatile bool found = false;

	PG_TRY();
	{
		TimestampTz earliest;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		found = MonitorEarliestEvent(g->name, cutoff, &earliest);
		PopActiveSnapshot();
		CommitTransactionCommand();
		if (found)
			*start = AlignPeriod(Max(earliest, cutoff), g->every);
		else
			SetNextDue(g, AlignPeriod(now, g->every) + g->every);
	}
	PG_CATCH();
	{
		LogScheduleError(g->name);
		SetNextDue(g, now + Min(STATS_RETRY_USECS, g->every));
		found = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return found;
}

/*
 * PeriodDone says whether a run that succeeded already covers exactly this
 * period (a compute_stats() call, or a schedule whose record was kept)
 */
static bool
PeriodDone(const char *group_name, TimestampTz start, TimestampTz end)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool done = false;

	PG_TRY();
	{
		Oid			types[3] = {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
		Datum		values[3];

		values[0] = CStringGetTextDatum(group_name);
		values[1] = TimestampTzGetDatum(start);
		values[2] = TimestampTzGetDatum(end);
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "featstore: SPI_connect failed");
		if (SPI_execute_with_args("SELECT 1 FROM featstore.stats_runs WHERE group_name = $1 "
								  "AND period_start = $2 AND period_end = $3 AND status = 'succeeded' LIMIT 1",
								  3, types, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "featstore could not read the statistics runs");
		done = SPI_processed > 0;
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		LogScheduleError(group_name);
		done = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return done;
}

/*
 * RunPeriod computes one period of a group in its own transaction, then
 * evaluates its drift; false if the run failed (it is recorded, and an
 * alert raised) or could not be made
 */
static bool
RunPeriod(const StatsGroup *g, TimestampTz start, TimestampTz end)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = false;

	PG_TRY();
	{
		bool		failed = false;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING,
							   psprintf("featstore: statistics of feature group %s from %s",
										g->name, timestamptz_to_str(start)));
		(void) MonitorComputeStatsRun(g->name, start, end, true, &failed);
		PopActiveSnapshot();
		CommitTransactionCommand();
		ok = !failed;
	}
	PG_CATCH();
	{
		LogScheduleError(g->name);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return ok;
}

/*
 * SetNextDue records when a group is next due: in monitor_settings where
 * the group has a row (its own transaction), else in the worker's memory
 */
static void
SetNextDue(const StatsGroup *g, TimestampTz due)
{
	MemoryContext cxt = CurrentMemoryContext;
	ListCell   *lc;
	StatsDue   *entry = NULL;

	foreach(lc, stats_due)
		if (strcmp(((StatsDue *) lfirst(lc))->name, g->name) == 0)
			entry = lfirst(lc);
	if (entry == NULL && strlen(g->name) < sizeof(entry->name))
	{
		MemoryContextSwitchTo(TopMemoryContext);
		entry = palloc0(sizeof(StatsDue));
		strlcpy(entry->name, g->name, sizeof(entry->name));
		stats_due = lappend(stats_due, entry);
		MemoryContextSwitchTo(cxt);
	}
	if (entry != NULL)
		entry->due = due;
	if (!g->has_row)
		return;
	PG_TRY();
	{
		Oid			types[2] = {TEXTOID, TIMESTAMPTZOID};
		Datum		values[2];
		Oid			save_userid;
		int			save_sec;

		values[0] = CStringGetTextDatum(g->name);
		values[1] = TimestampTzGetDatum(due);
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "featstore: SPI_connect failed");
		FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
		if (SPI_execute_with_args("UPDATE featstore.monitor_settings SET next_stats_at = $2 "
								  "WHERE group_name = $1 AND next_stats_at IS DISTINCT FROM $2",
								  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "featstore could not record the next statistics period");
		FeatstoreEndRegistryWrite(save_userid, save_sec);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		LogScheduleError(g->name);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
}

/* CachedDue is when a group is due by the worker's memory; 0: now */
static TimestampTz
CachedDue(const char *name)
{
	ListCell   *lc;

	foreach(lc, stats_due)
		if (strcmp(((StatsDue *) lfirst(lc))->name, name) == 0)
			return ((StatsDue *) lfirst(lc))->due;
	return 0;
}

/*
 * MonitorNextStatsDue says when MonitorRunDueStats next has work
 * (monitor.h): the earliest due time of the groups, now for a group not
 * seen yet, DT_NOEND when no group is monitored.  Opens its own
 * transaction when called outside one.
 */
TimestampTz
MonitorNextStatsDue(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		own = !IsTransactionState();
	volatile TimestampTz next = DT_NOEND;

	PG_TRY();
	{
		List	   *groups = NIL;
		ListCell   *lc;

		if (own)
		{
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
		}
		if (StatsInstalled())
			groups = ReadGroups();
		foreach(lc, groups)
		{
			StatsGroup *g = lfirst(lc);
			TimestampTz due = g->has_row && g->has_next ? g->next : CachedDue(g->name);

			if (due < next)
				next = due;
		}
		if (own)
		{
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
	}
	PG_CATCH();
	{
		if (!own)
			PG_RE_THROW();
		LogScheduleError(NULL);
		next = GetCurrentTimestamp() + STATS_RETRY_USECS;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return next == 0 ? GetCurrentTimestamp() : next;
}

/*
 * MonitorPurgeStats deletes the statistics of periods that ended before
 * now - featstore.monitor_retention, and the runs of such periods
 * (monitor.h); spine statistics, a pinned reference, are kept.  Opens its
 * own transaction when called outside one.
 */
void
MonitorPurgeStats(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	bool		own = !IsTransactionState();

	last_purge = GetCurrentTimestamp();
	PG_TRY();
	{
		Oid			types[1] = {TIMESTAMPTZOID};
		Datum		values[1];
		Oid			save_userid;
		int			save_sec;

		values[0] = TimestampTzGetDatum(GetCurrentTimestamp() - monitor_retention_usecs);
		if (own)
		{
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
		}
		if (StatsInstalled())
		{
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "featstore: SPI_connect failed");
			FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
			if (SPI_execute_with_args("WITH s AS (DELETE FROM featstore.feature_stats "
									  "WHERE scope = 'period' AND period_end < $1) "
									  "DELETE FROM featstore.stats_runs WHERE period_end < $1 "
									  "AND status <> 'running' AND NOT EXISTS (SELECT 1 FROM featstore.feature_stats f "
									  "WHERE f.run_id = stats_runs.id AND f.scope = 'spine')",
									  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
				elog(ERROR, "featstore could not apply featstore.monitor_retention");
			FeatstoreEndRegistryWrite(save_userid, save_sec);
			SPI_finish();
		}
		if (own)
		{
			PopActiveSnapshot();
			CommitTransactionCommand();
		}
	}
	PG_CATCH();
	{
		if (!own)
			PG_RE_THROW();
		LogScheduleError(NULL);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
}

/*
 * LogScheduleError logs an error of the schedule's own work and aborts
 * the transaction; the group (or the schedule) is tried again later
 */
static void
LogScheduleError(const char *group_name)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(TopMemoryContext);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	if (group_name)
		ereport(LOG,
				(errmsg("featstore monitor: could not compute the statistics of feature group \"%s\": %s",
						group_name, edata->message)));
	else
		ereport(LOG,
				(errmsg("featstore monitor: could not read the statistics schedule: %s",
						edata->message)));
	FreeErrorData(edata);
}
