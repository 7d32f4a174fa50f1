/*
 * registry_source.c
 *		Feature groups computed from a source of events (CREATE FEATURE
 *		GROUP ... FROM source): their validation.  Work in progress for
 *		issue 10, see WIP-issue10.md: the windows are checked, then the
 *		group is refused, because nothing computes it yet.
 */
#include "postgres.h"

#include "common/int.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "registry/registry.h"
#include "registry/registry_int.h"

/* The longest window, as the longest TTL: far inside the timestamp range */
#define FS_MAX_WINDOW_DAYS 36525

/*
 * The name of each FsAggKind, as featstore.window_features.aggregate will
 * store it (WIP-issue10.md): count(DISTINCT) is its own kind because its
 * state differs.
 */
static const char *const agg_kind_names[] = {
	[FS_AGG_NONE] = "none",
	[FS_AGG_COUNT_STAR] = "count_star",
	[FS_AGG_COUNT] = "count",
	[FS_AGG_COUNT_DISTINCT] = "count_distinct",
	[FS_AGG_SUM] = "sum",
	[FS_AGG_AVG] = "avg",
	[FS_AGG_MIN] = "min",
	[FS_AGG_MAX] = "max",
	[FS_AGG_STDDEV_SAMP] = "stddev_samp",
	[FS_AGG_STDDEV_POP] = "stddev_pop",
	[FS_AGG_VAR_SAMP] = "var_samp",
	[FS_AGG_VAR_POP] = "var_pop",
	[FS_AGG_LAST] = "last",
	[FS_AGG_EXPRESSION] = "expression",
};

static char *DescribeSourceGroup(const FsGroupDef *def);
static void DescribeFeature(StringInfo buf, const FsFeatureDef *f);

/*
 * RegistryParseDuration reads a window and normalises it to microseconds.
 * Days count as 24 hours so that a window never depends on the session's
 * time zone; months and years are refused because their length varies.
 * what names the duration for messages, e.g. window of feature "f".
 */
int64
RegistryParseDuration(const char *text, const char *what)
{
	Interval   *iv;
	int64		usecs;

	iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
	if (iv->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s '%s' uses months or years", what, text),
				 errhint("Months and years vary in length; write the window in days or hours, e.g. '30 days'.")));

	/* a wrapped sum would store a short window silently */
	if (pg_mul_s64_overflow((int64) iv->day, USECS_PER_DAY, &usecs) ||
		pg_add_s64_overflow(usecs, iv->time, &usecs) ||
		usecs > FS_MAX_WINDOW_DAYS * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s '%s' is out of range", what, text),
				 errdetail("A window is at most %d days.", FS_MAX_WINDOW_DAYS),
				 errhint("Leave out OVER for a feature over all history.")));
	if (usecs <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s '%s' must be positive", what, text),
				 errhint("Write a positive duration such as '1 hour', or leave out OVER for a feature over all history.")));
	return usecs;
}

/*
 * RegistryCreateSourceGroup is CREATE FEATURE GROUP ... FROM source.  For
 * now it checks what needs no catalog (the windows), then refuses the
 * group at FROM, so that nothing half-made is stored.
 */
FsResult *
RegistryCreateSourceGroup(FsGroupDef *def, const char *stmt_text)
{
	ListCell   *lc;

	foreach(lc, def->features)
	{
		FsFeatureDef *f = lfirst(lc);

		if (f->window_text == NULL)
			continue;
		registry_error_location = f->window_location;
		(void) RegistryParseDuration(f->window_text,
									 psprintf("window of feature \"%s\"", f->name));
	}
	registry_error_location = def->source_location;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("feature groups defined FROM a source are not supported yet"),
			 errdetail("Feature group \"%s\" was parsed as %s. Computing window features is work in progress (issue 10).",
					   def->name, DescribeSourceGroup(def)),
			 errhint("Define the group without FROM and fill its history table with computed values.")));
	return NULL;
}

/*
 * DescribeSourceGroup renders what the parser understood of a source group,
 * for the work-in-progress refusal: until the registry stores these groups,
 * it is what the regression test can see of the parse.
 */
static char *
DescribeSourceGroup(const FsGroupDef *def)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfo(&buf, "source %s, timestamp %s",
					 def->source_schema ?
					 quote_qualified_identifier(def->source_schema, def->source_name) :
					 quote_identifier(def->source_name),
					 quote_identifier(def->timestamp_column));
	if (def->created_column)
		appendStringInfo(&buf, ", created %s", quote_identifier(def->created_column));
	if (def->where_text)
		appendStringInfo(&buf, ", where [%s]", def->where_text);
	if (def->window_end_exclusive)
		appendStringInfoString(&buf, ", window end exclusive");
	appendStringInfoString(&buf, def->online ? ", online" : ", offline");
	appendStringInfoString(&buf, "; features:");
	foreach(lc, def->features)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoChar(&buf, ';');
		DescribeFeature(&buf, lfirst(lc));
	}
	return buf.data;
}

/* DescribeFeature appends one feature of DescribeSourceGroup: name type = kind(arg) ... */
static void
DescribeFeature(StringInfo buf, const FsFeatureDef *f)
{
	appendStringInfo(buf, " %s %s = %s", quote_identifier(f->name), f->type_text,
					 agg_kind_names[f->agg_kind]);
	if (f->agg_argument)
		appendStringInfo(buf, "(%s)", quote_identifier(f->agg_argument));
	if (f->expression_text)
		appendStringInfo(buf, " [%s]", f->expression_text);
	if (f->window_text)
		appendStringInfo(buf, " over '%s'", f->window_text);
	if (f->default_text)
		appendStringInfo(buf, " default %s", f->default_text);
	if (f->description)
		appendStringInfo(buf, " '%s'", f->description);
}
