/*
 * registry_monitor.c
 *		The monitoring clauses of CREATE and ALTER FEATURE GROUP (issue 11):
 *		FRESHNESS, MONITOR EVERY / NONE, SET and RESET MONITOR (...) of the
 *		group or a feature, SET MONITOR BASELINE.
 *
 * The registry parses the two durations by its rule for every duration
 * (RegistryParseDurationAs: days are 24 hours, no months, at most
 * FS_MAX_DURATION_DAYS) and records the statement in the definition
 * history like any other change; the monitor checks and stores the
 * settings themselves (src/monitor/monitor_settings.c).
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "monitor/monitor.h"
#include "registry/registry_int.h"

/* The longest FRESHNESS and MONITOR EVERY */
#define MONITOR_MAX_DURATION_DAYS 366

/* How the durations' messages name them */
static const FsDurationWords freshness_words = {
	.noun = "freshness SLA",
	.owner_kind = "feature group",
	.example = "'1 hour'",
	.range_hint = "Write a shorter SLA, or FRESHNESS NONE for a group without one.",
	.positive_rest = "FRESHNESS NONE for a group without one",
};

static const FsDurationWords monitor_words = {
	.noun = "monitoring period",
	.owner_kind = "feature group",
	.example = "'1 day'",
	.range_hint = "Write a shorter period, or MONITOR NONE to compute no statistics on a schedule.",
	.positive_rest = "MONITOR NONE to compute no statistics on a schedule",
};

static int64 ParseMonitorDuration(const char *group_name, bool freshness, const char *text);

/* RegistryIsMonitorAction says whether an ALTER action only changes monitoring */
bool
RegistryIsMonitorAction(FsAlterKind kind)
{
	return kind == FS_ALTER_SET_FRESHNESS || kind == FS_ALTER_SET_MONITOR_EVERY ||
		kind == FS_ALTER_SET_MONITOR || kind == FS_ALTER_RESET_MONITOR ||
		kind == FS_ALTER_SET_MONITOR_BASELINE;
}

/*
 * RegistryAlterMonitor applies one monitoring action of ALTER FEATURE GROUP
 * to group (target: the feature of ALTER FEATURE f SET MONITOR, or NULL)
 * and describes it in detail.  SPI is connected, the caller owns the group
 * and registry_error_location is the action's.
 */
void
RegistryAlterMonitor(const FsGroup *group, const FsAlterAction *act, const FsFeature *target,
					 StringInfo detail)
{
	const char *sep = detail->len ? ", " : "";
	bool		freshness = (act->kind == FS_ALTER_SET_FRESHNESS);

	switch (act->kind)
	{
		case FS_ALTER_SET_FRESHNESS:
		case FS_ALTER_SET_MONITOR_EVERY:
			MonitorSetDuration(group->name, freshness, act->text_value,
							   act->text_value ?
							   ParseMonitorDuration(group->name, freshness, act->text_value) : 0);
			appendStringInfo(detail, "%sset %s %s", sep,
							 freshness ? "freshness" : "monitor every",
							 act->text_value ? quote_literal_cstr(act->text_value) : "NONE");
			break;
		case FS_ALTER_SET_MONITOR:
		case FS_ALTER_RESET_MONITOR:
			MonitorSetThresholds(group->name, target ? target->name : NULL, act->settings,
								 act->kind == FS_ALTER_RESET_MONITOR);
			appendStringInfo(detail, "%s%s monitor settings", sep,
							 act->kind == FS_ALTER_RESET_MONITOR ? "reset" : "set");
			if (target)
				appendStringInfo(detail, " of feature %s", quote_identifier(target->name));
			break;
		case FS_ALTER_SET_MONITOR_BASELINE:
			if (act->baseline == NULL)
				elog(ERROR, "featstore: SET MONITOR BASELINE without a baseline");
			MonitorSetBaseline(group->name, act->baseline);
			appendStringInfo(detail, "%sset monitor baseline", sep);
			break;
		default:
			elog(ERROR, "featstore: not a monitoring action: %d", (int) act->kind);
	}
}

/*
 * RegistryStoreMonitorOptions stores CREATE FEATURE GROUP's FRESHNESS and
 * MONITOR options, if any, once the group's registry row exists.
 */
void
RegistryStoreMonitorOptions(const FsGroupDef *def)
{
	if (def->has_freshness && def->freshness_text)
	{
		registry_error_location = def->freshness_location;
		MonitorSetDuration(def->name, true, def->freshness_text,
						   ParseMonitorDuration(def->name, true, def->freshness_text));
	}
	if (def->has_monitor_every)
	{
		registry_error_location = def->monitor_location;
		MonitorSetDuration(def->name, false, def->monitor_every_text,
						   def->monitor_every_text ?
						   ParseMonitorDuration(def->name, false, def->monitor_every_text) : 0);
	}
}

/*
 * RegistryCheckMonitorOptions parses CREATE FEATURE GROUP's durations
 * before anything of the group is created, so that a bad one is reported
 * at its place and leaves nothing behind.
 */
void
RegistryCheckMonitorOptions(const FsGroupDef *def)
{
	if (def->has_freshness && def->freshness_text)
	{
		registry_error_location = def->freshness_location;
		(void) ParseMonitorDuration(def->name, true, def->freshness_text);
	}
	if (def->has_monitor_every && def->monitor_every_text)
	{
		registry_error_location = def->monitor_location;
		(void) ParseMonitorDuration(def->name, false, def->monitor_every_text);
	}
}

/*
 * ParseMonitorDuration reads a freshness SLA (at least a second) or a
 * monitoring period (at least a minute: the monitor's worker wakes every
 * featstore.monitor_naptime, 10 seconds by default), each at most
 * MONITOR_MAX_DURATION_DAYS, in microseconds.
 */
static int64
ParseMonitorDuration(const char *group_name, bool freshness, const char *text)
{
	int64		usecs = RegistryParseDurationAs(text, freshness ? &freshness_words : &monitor_words,
												group_name);
	int64		least = freshness ? USECS_PER_SEC : USECS_PER_MINUTE;

	/* a promise or a period longer than a year is a mistake, not a setting */
	if (usecs > MONITOR_MAX_DURATION_DAYS * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s '%s' of feature group \"%s\" is out of range",
						freshness ? "freshness SLA" : "monitoring period", text, group_name),
				 errdetail("A %s is at most %d days.",
						   freshness ? "freshness SLA" : "monitoring period",
						   MONITOR_MAX_DURATION_DAYS),
				 errhint("%s", freshness ? freshness_words.range_hint : monitor_words.range_hint)));
	if (usecs < least)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s '%s' of feature group \"%s\" is shorter than a %s",
						freshness ? "freshness SLA" : "monitoring period", text, group_name,
						freshness ? "second" : "minute"),
				 errhint(freshness ? "Write an SLA of a second or more, e.g. FRESHNESS '1 hour'." :
						 "Write a period of a minute or more, e.g. MONITOR EVERY '1 hour'.")));
	return usecs;
}
