/*
 * monitor_settings.c
 *		A group's monitoring settings (issue 11): the freshness SLA, the
 *		statistics period, the drift baseline (featstore.monitor_settings)
 *		and the drift thresholds of the group or of one feature
 *		(featstore.monitor_thresholds).
 *
 * The registry calls these from ALTER FEATURE GROUP (and CREATE FEATURE
 * GROUP), with SPI connected, the registry locked, the caller's ownership
 * of the group checked and registry_error_location at the clause; it has
 * parsed the durations by its rule for every duration (registry_source.c).
 * What is checked here is what only the monitor knows: the settings' names
 * and ranges, the baseline's forms.  The rows are written as the extension
 * owner.  A group without a monitor_settings row has the defaults: every
 * '1 day', no freshness SLA, a baseline of the trailing 30 periods.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "monitor/monitor.h"

/* A drift threshold's name and valid range (docs/monitoring.md, Settings) */
typedef struct MonitorSettingRange
{
	const char *name;
	double		low;
	double		high;
	bool		low_open;		/* low itself is out of range */
	bool		high_open;
} MonitorSettingRange;

static const MonitorSettingRange setting_ranges[] = {
	{"mean_sigma", 0, 100, true, false},
	{"mean_min_effect", 0, 100, false, false},
	{"null_rate_sigma", 0, 100, true, false},
	{"null_rate_min_effect", 0, 100, false, false},
	{"psi", 0, 10, true, false},
	{"js", 0, 1, true, false},
	{"wasserstein", 0, 100, true, false},
	{"ks_pvalue", 0, 1, true, true},
	{"distinct_collapse", 0, 1, true, true},
	{"significance", 0, 1, true, true},
};

#define SETTING_NAMES_HINT "The settings are mean_sigma, mean_min_effect, null_rate_sigma, null_rate_min_effect, psi, js, wasserstein, ks_pvalue, distinct_collapse and significance (docs/monitoring.md, Settings)."

/* The most trailing periods a baseline may take */
#define MONITOR_MAX_BASELINE_PERIODS 1000

static void EnsureSettingsRow(const char *group_name);
static void SettingsSpi(const char *sql, int nargs, Oid *types, Datum *values,
						const char *nulls);
static const MonitorSettingRange *LookupSetting(const char *group_name,
												const FsMonitorSetting *ms);
static double SettingValue(const char *group_name, const char *feature_name,
						   const MonitorSettingRange *range, const FsMonitorSetting *ms);
static TimestampTz BaselineTimestamp(const char *group_name, const char *text, int location);

/*
 * MonitorSetDuration sets a group's freshness SLA (freshness true) or its
 * statistics period to usecs, written as text; text NULL is NONE.  A new
 * period leaves next_stats_at NULL, for the statistics' schedule to plan
 * again (monitor_stats.c).
 */
void
MonitorSetDuration(const char *group_name, bool freshness, const char *text, int64 usecs)
{
	Oid			types[3] = {TEXTOID, INTERVALOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	Interval   *iv = palloc0(sizeof(Interval));

	EnsureSettingsRow(group_name);
	iv->time = usecs;
	values[0] = CStringGetTextDatum(group_name);
	values[1] = IntervalPGetDatum(iv);
	values[2] = text ? CStringGetTextDatum(text) : (Datum) 0;
	if (text == NULL)
		nulls[1] = nulls[2] = 'n';
	SettingsSpi(freshness ?
				"UPDATE featstore.monitor_settings SET freshness = $2, freshness_text = $3, "
				"updated_at = now() WHERE group_name = $1" :
				"UPDATE featstore.monitor_settings SET monitor_every = $2, monitor_every_text = $3, "
				"next_stats_at = NULL, updated_at = now() WHERE group_name = $1",
				3, types, values, nulls);
}

/*
 * MonitorSetThresholds sets (reset false) or removes (reset true) drift
 * thresholds of a group (feature_name NULL) or of one of its features,
 * which the registry has found.  Every name and value is checked before
 * anything is written.
 */
void
MonitorSetThresholds(const char *group_name, const char *feature_name, List *settings,
					 bool reset)
{
	Oid			types[4] = {TEXTOID, NAMEOID, TEXTOID, FLOAT8OID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	double	   *parsed = palloc0(sizeof(double) * Max(list_length(settings), 1));
	ListCell   *lc;

	foreach(lc, settings)
	{
		FsMonitorSetting *ms = lfirst(lc);
		const MonitorSettingRange *range = LookupSetting(group_name, ms);

		if (!reset)
			parsed[foreach_current_index(lc)] = SettingValue(group_name, feature_name, range, ms);
	}
	values[0] = CStringGetTextDatum(group_name);
	values[1] = feature_name ? DirectFunctionCall1(namein, CStringGetDatum(feature_name)) : (Datum) 0;
	nulls[1] = feature_name ? ' ' : 'n';
	foreach(lc, settings)
	{
		FsMonitorSetting *ms = lfirst(lc);

		values[2] = CStringGetTextDatum(ms->name);
		values[3] = Float8GetDatum(parsed[foreach_current_index(lc)]);
		SettingsSpi(reset ?
					"DELETE FROM featstore.monitor_thresholds WHERE group_name = $1 "
					"AND feature_name IS NOT DISTINCT FROM $2 AND setting = $3" :
					"INSERT INTO featstore.monitor_thresholds AS t (group_name, feature_name, setting, value) "
					"VALUES ($1, $2, $3, $4) "
					"ON CONFLICT (group_name, coalesce(feature_name, ''::name), setting) "
					"DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
					reset ? 3 : 4, types, values, nulls);
	}
}

/*
 * MonitorSetBaseline pins a group's drift baseline: the trailing n periods,
 * a reference range [from, to), or the statistics of a spine by label.
 */
void
MonitorSetBaseline(const char *group_name, const FsMonitorBaseline *baseline)
{
	Oid			types[5] = {TEXTOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
	Datum		values[5] = {0};
	char		nulls[5] = {' ', 'n', 'n', 'n', 'n'};

	values[0] = CStringGetTextDatum(group_name);
	if (baseline->from_text)
	{
		TimestampTz from = BaselineTimestamp(group_name, baseline->from_text,
											 baseline->from_location);
		TimestampTz to = BaselineTimestamp(group_name, baseline->to_text,
										   baseline->to_location);

		if (from >= to)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("baseline of feature group \"%s\" is empty: FROM '%s' is not before TO '%s'",
							group_name, baseline->from_text, baseline->to_text),
					 errhint("The reference range is [FROM, TO): write an earlier FROM, e.g. SET MONITOR BASELINE FROM '2026-01-01' TO '2026-02-01'.")));
		values[2] = TimestampTzGetDatum(from);
		values[3] = TimestampTzGetDatum(to);
		nulls[2] = nulls[3] = ' ';
	}
	else if (baseline->label)
	{
		if (baseline->label[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("baseline spine label of feature group \"%s\" must not be empty", group_name),
					 errhint("Name the spine whose statistics featstore.compute_stats() stored, e.g. SET MONITOR BASELINE SPINE 'training_2026_q1'.")));
		values[4] = CStringGetTextDatum(baseline->label);
		nulls[4] = ' ';
	}
	else
	{
		if (baseline->periods < 1 || baseline->periods > MONITOR_MAX_BASELINE_PERIODS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("baseline of %s periods of feature group \"%s\" is out of range",
							baseline->periods_text ? baseline->periods_text : "?", group_name),
					 errdetail("A baseline takes 1 to %d trailing periods.", MONITOR_MAX_BASELINE_PERIODS),
					 errhint("Write e.g. SET MONITOR BASELINE 30 PERIODS (the default).")));
		values[1] = Int32GetDatum(baseline->periods);
		nulls[1] = ' ';
	}
	EnsureSettingsRow(group_name);
	SettingsSpi("UPDATE featstore.monitor_settings SET "
				"baseline_periods = coalesce($2, baseline_periods), "
				"reference_from = $3, reference_to = $4, reference_label = $5, "
				"updated_at = now() WHERE group_name = $1",
				5, types, values, nulls);
}

/*
 * EnsureSettingsRow gives a group its monitor_settings row with the
 * defaults, if it has none: a group without one is monitored with them,
 * so the row only makes them explicit.
 */
static void
EnsureSettingsRow(const char *group_name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(group_name)};

	SettingsSpi("INSERT INTO featstore.monitor_settings (group_name, monitor_every, monitor_every_text) "
				"VALUES ($1, interval '24 hours', '1 day') ON CONFLICT (group_name) DO NOTHING",
				1, types, values, NULL);
}

/* SettingsSpi runs one write of the settings tables as the extension owner */
static void
SettingsSpi(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	Oid			save_userid;
	int			save_sec;
	int			rc;

	SPI_connect();
	FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	FeatstoreEndRegistryWrite(save_userid, save_sec);
	if (rc < 0)
		elog(ERROR, "featstore could not write the monitoring settings: %s",
			 SPI_result_code_string(rc));
	SPI_finish();
}

/* LookupSetting returns a threshold's range by name, or refuses the name */
static const MonitorSettingRange *
LookupSetting(const char *group_name, const FsMonitorSetting *ms)
{
	registry_error_location = ms->location;
	for (size_t i = 0; i < lengthof(setting_ranges); i++)
		if (ms->name && strcmp(ms->name, setting_ranges[i].name) == 0)
			return &setting_ranges[i];
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("unknown monitor setting \"%s\" for feature group \"%s\"",
					ms->name ? ms->name : "", group_name),
			 errhint("%s", SETTING_NAMES_HINT)));
	return NULL;				/* keep the compiler quiet */
}

/* SettingValue reads a threshold's value and checks it against its range */
static double
SettingValue(const char *group_name, const char *feature_name,
			 const MonitorSettingRange *range, const FsMonitorSetting *ms)
{
	double		value;
	char	   *end;

	errno = 0;
	value = ms->value_text ? strtod(ms->value_text, &end) : NAN;
	if (ms->value_text == NULL || *end != '\0' || errno != 0 || isnan(value) ||
		(range->low_open ? value <= range->low : value < range->low) ||
		(range->high_open ? value >= range->high : value > range->high))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("monitor setting %s = %s of %s%s%s \"%s\" is out of range",
						range->name, ms->value_text ? ms->value_text : "NULL",
						feature_name ? "feature \"" : "",
						feature_name ? feature_name : "",
						feature_name ? "\" of feature group" : "feature group", group_name),
				 errdetail("%s must be %s %g and %s %g.", range->name,
						   range->low_open ? "greater than" : "at least", range->low,
						   range->high_open ? "less than" : "at most", range->high),
				 errhint("Write a value in that range, or RESET MONITOR (%s) for the default.",
						 range->name)));
	return value;
}

/*
 * BaselineTimestamp reads a reference range's bound, which must be a
 * finite timestamptz; the cursor is at the bound.
 */
static TimestampTz
BaselineTimestamp(const char *group_name, const char *text, int location)
{
	TimestampTz ts;

	registry_error_location = location;
	ts = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(text),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1)));
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("baseline bound '%s' of feature group \"%s\" is not finite", text, group_name),
				 errhint("Pin the reference range with two dates, e.g. SET MONITOR BASELINE FROM '2026-01-01' TO '2026-02-01'.")));
	return ts;
}
