/*
 * pit_join.c
 *		Support for the pit_join() front end (src/sql/30_pit.sql), which
 *		writes a join with the as-of marker and runs it, so that pit_join()
 *		and hand-written joins share the PitJoin node.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "featstore.h"
#include "pit.h"

PG_FUNCTION_INFO_V1(pit_describe);

/*
 * pit_describe returns the columns (name, type) a FROM item would produce,
 * without reading any row.  The item is planned as the calling role, so it
 * needs the same privileges as reading it.
 */
Datum
pit_describe(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *from_item = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *sql;
	TupleDesc	desc;
	int			ret;

	InitMaterializedSRF(fcinfo, 0);

	sql = psprintf("SELECT * FROM %s LIMIT 0", from_item);
	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "featstore: SPI_connect failed: %s", SPI_result_code_string(ret));
	ret = SPI_execute(sql, true, 0);
	if (ret != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("spine %s is not a query returning rows", from_item),
				 errhint("Pass a table or view name, or a SELECT query.")));
	desc = SPI_tuptable->tupdesc;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (att->attisdropped)
			continue;
		values[0] = CStringGetTextDatum(NameStr(att->attname));
		values[1] = ObjectIdGetDatum(att->atttypid);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	PG_RETURN_VOID();
}
