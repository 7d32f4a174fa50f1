/*
 * registry_backfill_check.c
 *		A backfill's validation (issue 12): the shadow compared with the
 *		group's current history over the backfill's range, as a report of
 *		checks with a verdict.  docs/backfills.md has the checks.
 *
 * The current history of the range is, for each (key, event_timestamp)
 * with event_timestamp in [from, to), its row with the latest created_at:
 * the row a join without as_of would use.  The shadow's errors (rows
 * outside the range, duplicate (key, event_timestamp), NULL keys) are
 * checked first; with any, the comparison is skipped.  The comparison
 * reads both sides in one FULL JOIN on (key, event_timestamp), feeding the
 * monitor's statistics (monitor_compare.c: the sorted walk's moments and
 * percentiles, the drift tests' PSI) and counting changed values.  Every
 * read of the history and the shadow runs as the history table's owner in
 * a restricted section, after both shapes are checked.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "extension.h"
#include "monitor/monitor.h"
#include "pii/pii.h"
#include "registry/registry_int.h"

/* Rows fetched from the comparison's cursor at a time */
#define CHECK_FETCH 10000

/* The thresholds, as VALIDATE BACKFILL ... WITH (...) names them */
typedef enum BfSetting
{
	BF_MAX_MISSING_ENTITIES,
	BF_MAX_NEW_ENTITIES,
	BF_MAX_NULL_RATE_INCREASE,
	BF_PSI,
	BF_MAX_CHANGED_SHARE,
	BF_NSETTINGS
} BfSetting;

static const char *const bf_setting_names[BF_NSETTINGS] = {
	"max_missing_entities", "max_new_entities", "max_null_rate_increase", "psi",
	"max_changed_share"
};

/* The defaults; NAN: not checked unless set */
static const double bf_setting_defaults[BF_NSETTINGS] = {0.01, NAN, 0.05, 0.25, 1.0};

typedef struct BfThresholds
{
	double		v[BF_NSETTINGS];
	bool		set[BF_NSETTINGS];	/* set for this backfill (stored) */
} BfThresholds;

/* One feature's side of the comparison */
typedef struct BfFeature
{
	FsFeature  *f;
	bool		numeric;
	MonitorSample *cur;
	MonitorSample *shadow;
	int64		cur_rows;
	int64		cur_nulls;
	int64		shadow_rows;
	int64		shadow_nulls;
	int64		changed;
} BfFeature;

/* What the validation gathers */
typedef struct BfCheck
{
	const FsBackfill *bf;
	FsGroup    *group;
	BfThresholds thr;
	List	   *report;
	StringInfoData reasons;		/* the failed checks, for the verdict */
	StringInfoData names;		/* their names only, for the definition history */
	bool		errors;
	int			nfeatures;
	BfFeature  *features;
	int64		matched;		/* (key, event_timestamp) in both */
	int64		rows_current;	/* (key, event_timestamp) of the current range */
	int64		rows_shadow;
	List	   *masked;			/* PII features whose values the caller may not see */
} BfCheck;

static void LoadThresholds(BfCheck *c, List *settings);
static char *ThresholdsJson(const BfCheck *c);
static void CheckShadowColumn(const FsBackfill *bf, const char *name, Oid typid,
							  const char *kind);
static FsBackfillCheck *AddCheck(BfCheck *c, const char *check, const char *feature,
								 const char *verdict);
static void CheckErrors(BfCheck *c);
static void CheckEntities(BfCheck *c);
static void CompareValues(BfCheck *c);
static char *CompareSql(const BfCheck *c);
static void AddValuesRow(BfCheck *c, HeapTuple tup, TupleDesc desc);
static void ReportFeature(BfCheck *c, BfFeature *bf);
static void ReportNumeric(BfCheck *c, BfFeature *bf);
static void MaskValues(BfCheck *c, int first);
static void Judge(BfCheck *c, FsBackfillCheck *row, double statistic, BfSetting setting);
static int64 CountQuery(const BfCheck *c, const char *sql, int ncols, int64 *out);
static bool IsNumericType(Oid typid);
static char *Keys(const FsGroup *group, const char *alias);
static char *KeyMatch(const FsGroup *group, const char *a, const char *b);
static char *QualifiedRel(Oid relid);

/*
 * RegistryCheckShadow checks that the shadow is still what it must be to be
 * read and promoted: a plain table owned by the history table's owner,
 * with the keys, event_timestamp and every feature of the group's exact
 * types, and no index or statistics object that runs code other than
 * built-in (as a history table: the planner would run it while planning a
 * superuser's read).  Other columns are ignored; its rows are read with
 * ONLY (a child table's rows are not the backfill's).
 */
void
RegistryCheckShadow(const FsBackfill *bf, const FsGroup *group)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(bf->shadow));
	Form_pg_class cls;
	Oid			owner;
	ListCell   *lc;
	List	   *cols = NIL;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the shadow %s of backfill \"%s\" is gone", bf->shadow_name, bf->name),
				 errhint("Run ABORT BACKFILL %s, then open a new one.", quote_identifier(bf->name))));
	cls = (Form_pg_class) GETSTRUCT(tup);
	owner = cls->relowner;
	if (cls->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the shadow %s of backfill \"%s\" is not a plain table", bf->shadow_name, bf->name),
				 errhint("Run ABORT BACKFILL %s, then open a new one.", quote_identifier(bf->name))));
	ReleaseSysCache(tup);
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(group->relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", group->relid);
	if (((Form_pg_class) GETSTRUCT(tup))->relowner != owner)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the shadow %s of backfill \"%s\" is not owned by the owner of the group's table",
						bf->shadow_name, bf->name),
				 errhint("Give it back with ALTER TABLE %s OWNER TO the owner of %s.",
						 bf->shadow_name, quote_qualified_identifier(group->schema_name, group->table_name))));
	ReleaseSysCache(tup);
	RegistryCheckShadowCode(group, bf->shadow, bf->shadow_name);

	foreach(lc, group->keys)
	{
		FsKeyColumn *k = lfirst(lc);

		cols = lappend(cols, list_make3(k->name, (void *) (uintptr_t) k->typid, "key column"));
	}
	cols = lappend(cols, list_make3(FS_EVENT_TS_COLUMN, (void *) (uintptr_t) TIMESTAMPTZOID,
									"column"));
	foreach(lc, group->features)
	{
		FsFeature  *f = lfirst(lc);

		cols = lappend(cols, list_make3(f->name, (void *) (uintptr_t) f->typid, "feature"));
	}
	foreach(lc, cols)
	{
		List	   *col = lfirst(lc);

		CheckShadowColumn(bf, linitial(col), (Oid) (uintptr_t) lsecond(col), lthird(col));
	}
}

/* CheckShadowColumn checks that the shadow has column name of type typid */
static void
CheckShadowColumn(const FsBackfill *bf, const char *name, Oid typid, const char *kind)
{
	AttrNumber	att = get_attnum(bf->shadow, name);
	Oid			have;
	int32		typmod;
	Oid			coll;

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("the shadow %s of backfill \"%s\" has no %s \"%s\"",
						bf->shadow_name, bf->name, kind, name),
				 errhint("Add it with ALTER TABLE %s ADD COLUMN %s %s (a feature added to the group after the backfill opened), or ABORT BACKFILL and open a new one.",
						 bf->shadow_name, quote_identifier(name), format_type_be(typid))));
	get_atttypetypmodcoll(bf->shadow, att, &have, &typmod, &coll);
	if (have != typid)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s \"%s\" of the shadow %s of backfill \"%s\" has type %s, but the group's is %s",
						kind, name, bf->shadow_name, bf->name,
						format_type_be(have), format_type_be(typid)),
				 errhint("The shadow must have the group's types: ALTER TABLE %s ALTER COLUMN %s TYPE %s.",
						 bf->shadow_name, quote_identifier(name), format_type_be(typid))));
}

/*
 * RegistryBackfillCheck validates a backfill (SPI connected, the shadow
 * locked against writes).  settings (FsMonitorSetting) replace the stored
 * thresholds; the merged ones are returned as JSON in *thresholds_json.
 * Returns the report; *passed says whether it passed, *errors whether the
 * shadow had errors, *verdict is the verdict's text and *verdict_names the
 * same with the failed checks' names only (no number computed from the
 * data: the definition history is readable by every featstore_reader).
 */
List *
RegistryBackfillCheck(const FsBackfill *bf, FsGroup *group, List *settings,
					  char **verdict, char **verdict_names, bool *passed, bool *errors,
					  char **thresholds_json)
{
	BfCheck		c;
	FsBackfillCheck *v;

	memset(&c, 0, sizeof(c));
	c.bf = bf;
	c.group = group;
	initStringInfo(&c.reasons);
	initStringInfo(&c.names);
	LoadThresholds(&c, settings);
	c.masked = PiiMaskedFeatures(group->name);
	RegistryCheckGroupTable(group);
	RegistryCheckShadow(bf, group);

	CheckErrors(&c);
	if (!c.errors)
	{
		CheckEntities(&c);
		CompareValues(&c);
	}
	*passed = c.reasons.len == 0;
	*errors = c.errors;
	*verdict = *passed ? pstrdup("passed") : psprintf("failed: %s", c.reasons.data);
	*verdict_names = *passed ? pstrdup("passed") : psprintf("failed: %s", c.names.data);
	v = AddCheck(&c, "verdict", NULL, *passed ? "passed" : "failed");
	v->detail = *verdict;
	*thresholds_json = ThresholdsJson(&c);
	return c.report;
}

/*
 * LoadThresholds starts from the defaults, applies the backfill's stored
 * thresholds, then the new settings, each checked
 */
static void
LoadThresholds(BfCheck *c, List *settings)
{
	Oid			argtype = TEXTOID;
	Datum		arg = CStringGetTextDatum(c->bf->thresholds ? c->bf->thresholds : "{}");
	List	   *all = NIL;
	ListCell   *lc;
	int			location = registry_error_location;

	for (int i = 0; i < BF_NSETTINGS; i++)
		c->thr.v[i] = bf_setting_defaults[i];
	RegSpi("SELECT key, value FROM pg_catalog.jsonb_each_text($1::pg_catalog.jsonb)",
		   1, &argtype, &arg, NULL, false);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		FsMonitorSetting *s = palloc0(sizeof(FsMonitorSetting));

		s->name = RegGetText(i, 1);
		s->value_text = RegGetText(i, 2);
		s->location = -1;
		all = lappend(all, s);
	}
	all = list_concat(all, settings);
	foreach(lc, all)
	{
		FsMonitorSetting *s = lfirst(lc);
		int			i;
		char	   *end;
		double		value;

		for (i = 0; i < BF_NSETTINGS; i++)
			if (strcmp(s->name, bf_setting_names[i]) == 0)
				break;
		registry_error_location = s->location;
		if (i == BF_NSETTINGS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown backfill threshold \"%s\"", s->name),
					 errhint("The thresholds are max_missing_entities, max_new_entities, max_null_rate_increase, psi and max_changed_share.")));
		value = s->value_text ? strtod(s->value_text, &end) : NAN;
		if (s->value_text == NULL || *end != '\0' || isnan(value) || value < 0 ||
			(i != BF_PSI && value > 1) || (i == BF_PSI && (value == 0 || isinf(value))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("backfill threshold %s must be %s, not %s", s->name,
							i == BF_PSI ? "a positive finite number" : "a share between 0 and 1",
							s->value_text ? s->value_text : "NULL"),
					 errhint("Write e.g. VALIDATE BACKFILL %s WITH (%s = %s).",
							 quote_identifier(c->bf->name), s->name, i == BF_PSI ? "0.25" : "0.05")));
		c->thr.v[i] = value;
		c->thr.set[i] = true;
	}
	registry_error_location = location;
}

/* ThresholdsJson is the backfill's own thresholds as a JSON object */
static char *
ThresholdsJson(const BfCheck *c)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < BF_NSETTINGS; i++)
		if (c->thr.set[i])
			appendStringInfo(&buf, "%s\"%s\": %s", buf.len > 1 ? ", " : "",
							 bf_setting_names[i], float8out_internal(c->thr.v[i]));
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* AddCheck appends one row to the report */
static FsBackfillCheck *
AddCheck(BfCheck *c, const char *check, const char *feature, const char *verdict)
{
	FsBackfillCheck *row = palloc0(sizeof(FsBackfillCheck));

	row->check = check;
	row->feature = feature ? pstrdup(feature) : NULL;
	row->verdict = verdict;
	c->report = lappend(c->report, row);
	return row;
}

/*
 * Judge sets a row's statistic and, when the threshold is set (not NaN),
 * compares: above it fails and is a reason of the verdict
 */
static void
Judge(BfCheck *c, FsBackfillCheck *row, double statistic, BfSetting setting)
{
	row->has_statistic = true;
	row->statistic = statistic;
	if (isnan(c->thr.v[setting]))
	{
		row->verdict = "info";
		return;
	}
	row->has_threshold = true;
	row->threshold = c->thr.v[setting];
	row->verdict = statistic > c->thr.v[setting] ? "fail" : "ok";
	/* four significant digits: the report has the exact statistic */
	if (statistic > c->thr.v[setting])
	{
		appendStringInfo(&c->names, "%s%s%s%s", c->names.len ? ", " : "", row->check,
						 row->feature ? " of " : "", row->feature ? row->feature : "");
		appendStringInfo(&c->reasons, "%s%s%s%s %.4g > %s %s", c->reasons.len ? "; " : "",
						 row->check, row->feature ? " of " : "", row->feature ? row->feature : "",
						 statistic, bf_setting_names[setting],
						 float8out_internal(c->thr.v[setting]));
	}
}

/*
 * CheckErrors counts the shadow's errors: rows outside the range, NULL
 * keys, duplicate (key, event_timestamp).  Any is an error of the verdict,
 * which no threshold or FORCE overrides.
 */
static void
CheckErrors(BfCheck *c)
{
	const FsGroup *g = c->group;
	StringInfoData nullkey;
	int64		n[4];
	int64		dup[2];
	static const char *const names[3] = {"rows_outside_range", "null_keys", "duplicate_keys"};
	char	   *what[3];
	ListCell   *lc;

	initStringInfo(&nullkey);
	foreach(lc, g->keys)
		appendStringInfo(&nullkey, "%s%s IS NULL", nullkey.len ? " OR " : "",
						 quote_identifier(((FsKeyColumn *) lfirst(lc))->name));
	CountQuery(c, psprintf("SELECT pg_catalog.count(*) FILTER (WHERE event_timestamp IS NULL"
						   " OR event_timestamp < $1 OR event_timestamp >= $2),"
						   " pg_catalog.count(*) FILTER (WHERE %s), 0::pg_catalog.int8, pg_catalog.count(*) FROM ONLY %s",
						   nullkey.data, QualifiedRel(c->bf->shadow)), 4, n);
	CountQuery(c, psprintf("SELECT pg_catalog.count(*), 0::pg_catalog.int8 FROM (SELECT FROM ONLY %s GROUP BY %s,"
						   " event_timestamp HAVING pg_catalog.count(*) > 1) d",
						   QualifiedRel(c->bf->shadow), Keys(g, NULL)), 2, dup);
	n[2] = dup[0];
	/* timestamptz_to_str returns a static buffer: copy each end */
	what[0] = psprintf(INT64_FORMAT " of the shadow's " INT64_FORMAT " rows have event_timestamp outside [%s, ",
					   n[0], n[3], timestamptz_to_str(c->bf->range_from));
	what[0] = psprintf("%s%s)", what[0], timestamptz_to_str(c->bf->range_to));
	what[1] = psprintf(INT64_FORMAT " of the shadow's " INT64_FORMAT " rows have a NULL key column",
					   n[1], n[3]);
	what[2] = psprintf(INT64_FORMAT " (key, event_timestamp) pairs have more than one row in the shadow",
					   n[2]);
	for (int i = 0; i < 3; i++)
	{
		FsBackfillCheck *row = AddCheck(c, names[i], NULL, n[i] > 0 ? "error" : "ok");

		row->has_shadow = true;
		row->shadow = (double) n[i];
		row->has_threshold = true;
		row->threshold = 0;
		if (n[i] > 0)
		{
			row->detail = what[i];
			appendStringInfo(&c->reasons, "%s%s", c->reasons.len ? "; " : "", what[i]);
			appendStringInfo(&c->names, "%s%s", c->names.len ? ", " : "", names[i]);
			c->errors = true;
		}
	}
}

/*
 * CheckEntities counts the entities of the current range and of the
 * shadow, those missing from the shadow and those new in it
 */
static void
CheckEntities(BfCheck *c)
{
	const FsGroup *g = c->group;
	int64		n[4];
	FsBackfillCheck *row;
	char	   *sql;

	sql = psprintf("WITH c AS (SELECT DISTINCT %s FROM %s WHERE event_timestamp >= $1"
				   " AND event_timestamp < $2), s AS (SELECT DISTINCT %s FROM ONLY %s)"
				   " SELECT (SELECT pg_catalog.count(*) FROM c), (SELECT pg_catalog.count(*) FROM s),"
				   " (SELECT pg_catalog.count(*) FROM c WHERE NOT EXISTS (SELECT FROM s WHERE %s)),"
				   " (SELECT pg_catalog.count(*) FROM s WHERE NOT EXISTS (SELECT FROM c WHERE %s))",
				   Keys(g, NULL), quote_qualified_identifier(g->schema_name, g->table_name),
				   Keys(g, NULL), QualifiedRel(c->bf->shadow),
				   KeyMatch(g, "s", "c"), KeyMatch(g, "c", "s"));
	CountQuery(c, sql, 4, n);
	row = AddCheck(c, "entities", NULL, "info");
	row->has_current = row->has_shadow = true;
	row->current = (double) n[0];
	row->shadow = (double) n[1];
	row = AddCheck(c, "missing_entities", NULL, "ok");
	row->has_current = row->has_shadow = true;
	row->current = (double) n[0];
	row->shadow = (double) n[2];
	row->detail = psprintf(INT64_FORMAT " of " INT64_FORMAT " entities of the current history in the range have no row in the shadow",
						   n[2], n[0]);
	Judge(c, row, n[0] > 0 ? (double) n[2] / (double) n[0] : 0.0, BF_MAX_MISSING_ENTITIES);
	row = AddCheck(c, "new_entities", NULL, "info");
	row->has_current = row->has_shadow = true;
	row->current = (double) n[1];
	row->shadow = (double) n[3];
	row->detail = psprintf(INT64_FORMAT " of " INT64_FORMAT " entities of the shadow have no row in the current history of the range",
						   n[3], n[1]);
	Judge(c, row, n[1] > 0 ? (double) n[3] / (double) n[1] : 0.0, BF_MAX_NEW_ENTITIES);
}

/*
 * CompareValues reads the FULL JOIN of the current range and the shadow on
 * (key, event_timestamp) through a cursor, as the table's owner, and
 * reports the rows and each feature
 */
static void
CompareValues(BfCheck *c)
{
	Oid			argtypes[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[2];
	Oid			save_userid;
	int			save_sec;
	Portal		portal;
	FsBackfillCheck *row;
	ListCell   *lc;
	int			i = 0;

	c->nfeatures = list_length(c->group->features);
	c->features = palloc0(sizeof(BfFeature) * Max(c->nfeatures, 1));
	foreach(lc, c->group->features)
	{
		BfFeature  *bf = &c->features[i++];

		bf->f = lfirst(lc);
		bf->numeric = IsNumericType(bf->f->typid);
		if (bf->numeric)
		{
			bf->cur = MonitorSampleBegin();
			bf->shadow = MonitorSampleBegin();
		}
	}
	args[0] = TimestampTzGetDatum(c->bf->range_from);
	args[1] = TimestampTzGetDatum(c->bf->range_to);
	FeatstoreBeginAsTableOwner(c->group->relid, &save_userid, &save_sec);
	portal = SPI_cursor_open_with_args(NULL, CompareSql(c), 2, argtypes, args, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, CHECK_FETCH);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
			AddValuesRow(c, SPI_tuptable->vals[r], SPI_tuptable->tupdesc);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	FeatstoreEndAsTableOwner(save_userid, save_sec);

	row = AddCheck(c, "rows", NULL, "info");
	row->has_current = row->has_shadow = true;
	row->current = (double) c->rows_current;
	row->shadow = (double) c->rows_shadow;
	row->detail = psprintf(INT64_FORMAT " (key, event_timestamp) pairs in both", c->matched);
	for (i = 0; i < c->nfeatures; i++)
		ReportFeature(c, &c->features[i]);
}

/*
 * CompareSql is the comparison's query: per (key, event_timestamp), whether
 * each side has it, and per feature the two values (as float8 if numeric)
 * or only whether they are NULL, and whether they differ
 */
static char *
CompareSql(const BfCheck *c)
{
	const FsGroup *g = c->group;
	StringInfoData sql;
	StringInfoData feats;
	ListCell   *lc;

	initStringInfo(&feats);
	foreach(lc, g->features)
	{
		FsFeature  *f = lfirst(lc);
		const char *q = quote_identifier(f->name);

		if (IsNumericType(f->typid))
			appendStringInfo(&feats, ", c.%s::pg_catalog.float8, s.%s::pg_catalog.float8", q, q);
		else
			appendStringInfo(&feats, ", c.%s IS NULL, s.%s IS NULL", q, q);
		appendStringInfo(&feats, ", c.%s IS DISTINCT FROM s.%s", q, q);
	}
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH c AS (SELECT DISTINCT ON (%s, event_timestamp) * FROM %s"
					 " WHERE event_timestamp >= $1 AND event_timestamp < $2"
					 " ORDER BY %s, event_timestamp, created_at DESC)"
					 " SELECT c.event_timestamp IS NOT NULL, s.event_timestamp IS NOT NULL%s"
					 " FROM c FULL JOIN ONLY %s s ON %s AND c.event_timestamp = s.event_timestamp",
					 Keys(g, NULL), quote_qualified_identifier(g->schema_name, g->table_name),
					 Keys(g, NULL), feats.data, QualifiedRel(c->bf->shadow),
					 KeyMatch(g, "c", "s"));
	return sql.data;
}

/* AddValuesRow counts one row of the comparison */
static void
AddValuesRow(BfCheck *c, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	bool		in_c = DatumGetBool(SPI_getbinval(tup, desc, 1, &isnull));
	bool		in_s = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));

	if (in_c && in_s)
		c->matched++;
	c->rows_current += in_c;
	c->rows_shadow += in_s;
	for (int i = 0; i < c->nfeatures; i++)
	{
		BfFeature  *bf = &c->features[i];
		int			col = 3 + 3 * i;
		bool		cnull,
					snull;
		Datum		cv = SPI_getbinval(tup, desc, col, &cnull);
		Datum		sv = SPI_getbinval(tup, desc, col + 1, &snull);

		if (!bf->numeric)
		{
			/* the columns say whether each value IS NULL */
			cnull = DatumGetBool(cv);
			snull = DatumGetBool(sv);
		}
		if (in_c)
		{
			bf->cur_rows++;
			bf->cur_nulls += cnull;
			if (bf->numeric)
				MonitorSampleAdd(bf->cur, cnull ? 0.0 : DatumGetFloat8(cv), cnull);
		}
		if (in_s)
		{
			bf->shadow_rows++;
			bf->shadow_nulls += snull;
			if (bf->numeric)
				MonitorSampleAdd(bf->shadow, snull ? 0.0 : DatumGetFloat8(sv), snull);
		}
		if (in_c && in_s && DatumGetBool(SPI_getbinval(tup, desc, col + 2, &isnull)))
			bf->changed++;
	}
}

/* ReportFeature reports a feature's null rates, statistics and changed values */
static void
ReportFeature(BfCheck *c, BfFeature *bf)
{
	FsBackfillCheck *row = AddCheck(c, "null_rate", bf->f->name, "ok");
	double		cur_rate = bf->cur_rows ? (double) bf->cur_nulls / bf->cur_rows : 0.0;
	double		shadow_rate = bf->shadow_rows ? (double) bf->shadow_nulls / bf->shadow_rows : 0.0;

	row->has_current = bf->cur_rows > 0;
	row->current = cur_rate;
	row->has_shadow = bf->shadow_rows > 0;
	row->shadow = shadow_rate;
	Judge(c, row, shadow_rate - cur_rate, BF_MAX_NULL_RATE_INCREASE);
	if (bf->numeric)
		ReportNumeric(c, bf);
	row = AddCheck(c, "changed_values", bf->f->name, "ok");
	row->has_current = row->has_shadow = true;
	row->current = (double) c->matched;
	row->shadow = (double) bf->changed;
	row->detail = psprintf(INT64_FORMAT " of " INT64_FORMAT " values at the same (key, event_timestamp) differ",
						   bf->changed, c->matched);
	Judge(c, row, c->matched ? (double) bf->changed / c->matched : 0.0, BF_MAX_CHANGED_SHARE);
}

/* ReportNumeric reports mean, stddev, five percentiles and the PSI */
static void
ReportNumeric(BfCheck *c, BfFeature *bf)
{
	static const char *const pct_names[5] = {"p05", "p25", "p50", "p75", "p95"};
	static const int pct_at[5] = {5, 25, 50, 75, 95};
	MonitorSampleStats cs,
				ss;
	FsBackfillCheck *row;
	double		psi;
	int			first = list_length(c->report);

	MonitorSampleFinish(bf->cur, &cs);
	MonitorSampleFinish(bf->shadow, &ss);
	row = AddCheck(c, "mean", bf->f->name, "info");
	row->has_current = cs.has_mean;
	row->current = cs.mean;
	row->has_shadow = ss.has_mean;
	row->shadow = ss.mean;
	row = AddCheck(c, "stddev", bf->f->name, "info");
	row->has_current = cs.has_stddev;
	row->current = cs.stddev;
	row->has_shadow = ss.has_stddev;
	row->shadow = ss.stddev;
	for (int i = 0; i < 5; i++)
	{
		row = AddCheck(c, pct_names[i], bf->f->name, "info");
		row->has_current = cs.has_percentiles;
		row->current = cs.pct[pct_at[i]];
		row->has_shadow = ss.has_percentiles;
		row->shadow = ss.pct[pct_at[i]];
	}
	if (PiiListHas(c->masked, bf->f->name))
		MaskValues(c, first);
	row = AddCheck(c, "psi", bf->f->name, "info");
	if (MonitorSamplePsi(&ss, &cs, &psi))
		Judge(c, row, psi, BF_PSI);
	else
		row->detail = pstrdup("not computed: a side has no finite values");
}

/*
 * MaskValues masks the report's rows from the first-th on (a PII feature's
 * mean, stddev and percentiles, which describe its values) for a caller
 * that is not a member of featstore_pii_reader: NULL on both sides, a
 * detail saying why, and the feature noted for the statement's NOTICE
 * when the report is returned.  The PSI, the null rates and the changed
 * share are shares and distances, not values, and stay.
 */
static void
MaskValues(BfCheck *c, int first)
{
	for (int i = first; i < list_length(c->report); i++)
	{
		FsBackfillCheck *row = list_nth(c->report, i);

		row->has_current = row->has_shadow = false;
		row->current = row->shadow = 0.0;
		row->masked_group = pstrdup(c->group->name);
		row->detail = pstrdup("masked: a PII feature's values are shown to members of " PII_READER_ROLE " only");
	}
}

/* CountQuery runs a one-row query of int8 columns as the table's owner */
static int64
CountQuery(const BfCheck *c, const char *sql, int ncols, int64 *out)
{
	Oid			argtypes[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		args[2];
	Oid			save_userid;
	int			save_sec;
	int			ret;

	args[0] = TimestampTzGetDatum(c->bf->range_from);
	args[1] = TimestampTzGetDatum(c->bf->range_to);
	FeatstoreBeginAsTableOwner(c->group->relid, &save_userid, &save_sec);
	ret = SPI_execute_with_args(sql, 2, argtypes, args, NULL, true, 1);
	FeatstoreEndAsTableOwner(save_userid, save_sec);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "featstore backfill validation query failed: %s", SPI_result_code_string(ret));
	for (int i = 0; i < ncols; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);

		out[i] = isnull ? 0 : DatumGetInt64(d);
	}
	return out[0];
}

/* IsNumericType says whether a feature gets moments, percentiles and a PSI */
static bool
IsNumericType(Oid typid)
{
	return typid == INT2OID || typid == INT4OID || typid == INT8OID ||
		typid == FLOAT4OID || typid == FLOAT8OID || typid == NUMERICOID;
}

/* Keys is the group's quoted key columns, prefixed with alias if given */
static char *
Keys(const FsGroup *group, const char *alias)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, group->keys)
		appendStringInfo(&buf, "%s%s%s%s", buf.len ? ", " : "", alias ? alias : "",
						 alias ? "." : "", quote_identifier(((FsKeyColumn *) lfirst(lc))->name));
	return buf.data;
}

/* KeyMatch is a.k1 = b.k1 AND ... over the group's keys */
static char *
KeyMatch(const FsGroup *group, const char *a, const char *b)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, group->keys)
	{
		const char *k = quote_identifier(((FsKeyColumn *) lfirst(lc))->name);

		appendStringInfo(&buf, "%s%s.%s = %s.%s", buf.len ? " AND " : "", a, k, b, k);
	}
	return buf.data;
}

/* QualifiedRel is a relation's quoted schema.name as it is now */
static char *
QualifiedRel(Oid relid)
{
	char	   *rel = get_rel_name(relid);

	if (rel == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), rel);
}
