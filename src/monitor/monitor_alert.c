/*
 * monitor_alert.c
 *		Monitoring alerts (issue 11): opening, refreshing and resolving rows
 *		of featstore.alerts, the NOTIFY featstore_alerts that announces a new
 *		one, and featstore.resolve_alert() for closing one by hand.
 *
 * At most one alert of a kind is open per group and feature (the partial
 * unique index alerts_open_key), so a condition seen at every check is one
 * row whose last_seen moves, not one row per check.  Opening and refreshing
 * are one INSERT ... ON CONFLICT, so two checks racing cannot open two.
 *
 * Every role of the database may LISTEN, so the NOTIFY payload names the
 * alert and carries no data values: a listener reads the row, which
 * row-level security shows only where the data is readable.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "extension.h"
#include "monitor/monitor.h"

PG_FUNCTION_INFO_V1(featstore_resolve_alert);

/* The channel every new alert is announced on */
#define MONITOR_ALERT_CHANNEL "featstore_alerts"

static void AlertSpi(const char *sql, int nargs, Oid *types, Datum *values,
					 const char *nulls, bool elevated, int expected);

/*
 * MonitorRaiseAlert opens the alert of kind for a group (and a feature, or
 * NULL for the whole group) or, if one is open, refreshes its last_seen and
 * details.  A new alert is announced with NOTIFY featstore_alerts, sent at
 * commit: an alert rolled back with its check announces nothing.
 */
void
MonitorRaiseAlert(const char *kind, const char *group_name,
				  const char *feature_name, const char *details_json)
{
	Oid			types[4] = {TEXTOID, TEXTOID, NAMEOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	char	   *payload = NULL;
	bool		isnull;

	if (kind == NULL || group_name == NULL)
		elog(ERROR, "featstore: an alert needs a kind and a group");
	values[0] = CStringGetTextDatum(kind);
	values[1] = CStringGetTextDatum(group_name);
	if (feature_name)
		values[2] = DirectFunctionCall1(namein, CStringGetDatum(feature_name));
	else
		nulls[2] = 'n';
	values[3] = CStringGetTextDatum(details_json ? details_json : "{}");

	SPI_connect();
	AlertSpi("INSERT INTO featstore.alerts AS a (kind, group_name, feature_name, details) "
			 "VALUES ($1, $2, $3, $4::jsonb) "
			 "ON CONFLICT (kind, group_name, coalesce(feature_name, ''::name)) "
			 "WHERE resolved_at IS NULL "
			 "DO UPDATE SET last_seen = greatest(a.last_seen, now()), details = EXCLUDED.details "
			 "RETURNING CASE WHEN a.xmax = 0 THEN json_build_object('id', a.id, 'kind', a.kind, "
			 "'group', a.group_name, 'feature', a.feature_name, 'since', a.since)::text END",
			 4, types, values, nulls, true, SPI_OK_INSERT_RETURNING);
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		/* a payload fits: the names are at most NAMEDATALEN each */
		char	   *text = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		payload = text ? pstrdup(text) : NULL;
	}
	SPI_finish();
	if (payload)
		Async_Notify(MONITOR_ALERT_CHANNEL, payload);
}

/*
 * MonitorResolveAlert closes the open alert of kind for a group and feature
 * (NULL: the whole group's), if there is one.
 */
void
MonitorResolveAlert(const char *kind, const char *group_name, const char *feature_name)
{
	Oid			types[3] = {TEXTOID, TEXTOID, NAMEOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};

	if (kind == NULL || group_name == NULL)
		elog(ERROR, "featstore: an alert needs a kind and a group");
	values[0] = CStringGetTextDatum(kind);
	values[1] = CStringGetTextDatum(group_name);
	if (feature_name)
		values[2] = DirectFunctionCall1(namein, CStringGetDatum(feature_name));
	else
		nulls[2] = 'n';
	SPI_connect();
	AlertSpi("UPDATE featstore.alerts SET resolved_at = greatest(now(), since, last_seen) "
			 "WHERE kind = $1 AND group_name = $2 AND feature_name IS NOT DISTINCT FROM $3 "
			 "AND resolved_at IS NULL",
			 3, types, values, nulls, true, SPI_OK_UPDATE);
	SPI_finish();
}

/*
 * featstore_resolve_alert is featstore.resolve_alert(id): an on-call
 * person closes an alert by hand.  It takes featstore_editor, and the alert
 * must be one the caller can see (row-level security on featstore.alerts):
 * an alert about data the caller may not read is "unknown" to it.  Closing
 * an alert already closed changes nothing.  If the condition persists, the
 * next check opens a new alert.
 */
Datum
featstore_resolve_alert(PG_FUNCTION_ARGS)
{
	Oid			types[2] = {INT8OID, NAMEOID};
	Datum		values[2];
	int64		id;
	bool		isnull;

	FeatstoreRequireEditor();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("alert id must not be NULL"),
				 errhint("Pass an id of featstore.alerts, e.g. SELECT featstore.resolve_alert(id) FROM featstore.alerts WHERE resolved_at IS NULL AND kind = 'stale_data';")));
	id = PG_GETARG_INT64(0);
	values[0] = Int64GetDatum(id);
	values[1] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));

	SPI_connect();
	/* as the caller, so that the table's row-level security decides */
	AlertSpi("SELECT resolved_at FROM featstore.alerts WHERE id = $1",
			 1, types, values, NULL, false, SPI_OK_SELECT);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("alert %lld does not exist", (long long) id),
				 errdetail("featstore.alerts has no row with that id that role %s may see.",
						   quote_identifier(GetUserNameFromId(GetUserId(), false))),
				 errhint("List the open alerts with SELECT id, kind, group_name, feature_name FROM featstore.alerts WHERE resolved_at IS NULL;")));
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		ereport(NOTICE,
				(errmsg("alert %lld is already resolved", (long long) id)));
	else
		AlertSpi("UPDATE featstore.alerts SET resolved_at = greatest(now(), since, last_seen), "
				 "details = details || jsonb_build_object('resolved_by', $2) "
				 "WHERE id = $1 AND resolved_at IS NULL",
				 2, types, values, NULL, true, SPI_OK_UPDATE);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * AlertSpi runs one query on featstore.alerts, as the extension owner when
 * elevated (only featstore's code writes the table), and checks its result
 * code.  SPI is connected.
 */
static void
AlertSpi(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
		 bool elevated, int expected)
{
	Oid			save_userid = InvalidOid;
	int			save_sec = 0;
	int			rc;

	if (elevated)
		FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	if (elevated)
		FeatstoreEndRegistryWrite(save_userid, save_sec);
	if (rc != expected)
		elog(ERROR, "featstore could not write featstore.alerts: %s", SPI_result_code_string(rc));
	if (expected == SPI_OK_INSERT_RETURNING && (SPI_processed != 1 || SPI_tuptable == NULL))
		elog(ERROR, "featstore could not write featstore.alerts: no row returned");
}
