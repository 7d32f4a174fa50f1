/*
 * monitor_metrics.c
 *		featstore.monitor_drift_verdicts(): how many drift tests of each
 *		group's latest stored period gave each verdict, for the metrics
 *		exporter (featstore.monitor_metrics, examples/prometheus/).
 *
 * The exporter's role has featstore_reader and pg_monitor only: row-level
 * security on featstore.feature_stats shows it no statistics, so the drift
 * tests, run as it, would find nothing.  The counts are no values, so this
 * function lists the groups the caller may have counts of (every group for
 * pg_monitor, else those whose monitoring rows it may see), as the caller,
 * and only then runs the tests of those groups as the extension owner, who
 * owns the statistics.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "extension.h"
#include "monitor/monitor.h"

PG_FUNCTION_INFO_V1(monitor_drift_verdicts);

static Datum CountableGroups(bool *none);

/*
 * monitor_drift_verdicts returns one row per group with stored statistics,
 * verdict (ok, drift, no baseline: zero counts included) and the group's
 * latest period: the number of its drift tests with that verdict.
 */
Datum
monitor_drift_verdicts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			types[1] = {TEXTARRAYOID};
	Datum		args[1];
	bool		none;
	Oid			save_userid;
	int			save_sec;
	int			ret;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed");
	args[0] = CountableGroups(&none);
	if (none)
	{
		SPI_finish();
		return (Datum) 0;
	}
	FeatstoreBeginRegistryWrite(&save_userid, &save_sec);
	ret = SPI_execute_with_args("WITH l AS (SELECT g.name, s.period_start AS last_start, s.period_end AS last_end"
								"             FROM pg_catalog.unnest($1::pg_catalog.text[]) g(name)"
								"             CROSS JOIN LATERAL (SELECT f.period_start, f.period_end"
								"                                   FROM featstore.feature_stats f"
								"                                  WHERE f.group_name = g.name AND f.scope = 'period'"
								"                                    AND f.label = ''"
								"                                  ORDER BY f.period_start DESC, f.period_end DESC"
								"                                  LIMIT 1) s),"
								"     t AS MATERIALIZED (SELECT l.name, d.verdict FROM l"
								"             CROSS JOIN LATERAL featstore.drift_tests(l.name, l.last_start, l.last_end) d"
								"             WHERE d.period_start = l.last_start AND d.period_end = l.last_end)"
								"SELECT l.name, l.last_start, l.last_end, v.verdict,"
								"       (SELECT pg_catalog.count(*) FROM t WHERE t.name = l.name AND t.verdict = v.verdict)"
								"  FROM l CROSS JOIN (VALUES ('ok'), ('drift'), ('no baseline')) v(verdict)"
								" ORDER BY l.name, v.verdict",
								1, types, args, NULL, true, 0);
	FeatstoreEndRegistryWrite(save_userid, save_sec);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "featstore could not count the drift verdicts: %s",
			 SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[5];
		bool		nulls[5];

		for (int c = 0; c < 5; c++)
			values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
									  c + 1, &nulls[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * CountableGroups returns, as a text[], the groups whose counts the caller
 * may have, computed as the caller: every group for a member of pg_monitor,
 * else those featstore.group_visible() lets it see; *none when there is
 * none.  SPI must be connected; the array lives in its memory.
 */
static Datum
CountableGroups(bool *none)
{
	bool		isnull;
	Datum		groups;

	if (SPI_execute("SELECT pg_catalog.array_agg(g.name ORDER BY g.name)"
					"  FROM featstore.feature_groups g"
					" WHERE pg_catalog.pg_has_role('pg_monitor', 'USAGE')"
					"    OR featstore.group_visible(g.name)",
					true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "featstore could not list the feature groups");
	groups = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	*none = isnull;
	return groups;
}
