/*
 * window_timeline.c
 *		featstore.window_timeline(group): a source group's features at each
 *		event of its source, the body of the group's view.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "window/window.h"

PG_FUNCTION_INFO_V1(window_timeline);

/*
 * window_timeline returns, for every event of the group's source, the
 * group's keys, the event's time and created time and the features at that
 * time.  Not built yet: it refuses, so no view reads a wrong answer.
 */
Datum
window_timeline(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("the timeline of feature group \"%s\" cannot be computed yet",
					text_to_cstring(PG_GETARG_TEXT_PP(0))),
			 errhint("Window aggregates are work in progress (issue 10).")));
	PG_RETURN_NULL();
}
