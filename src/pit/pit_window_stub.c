/*
 * pit_window_stub.c
 *		Weak stand-ins for the window engine's functions (window/window.h),
 *		so that the library loads before the engine is merged: the engine's
 *		own definitions replace them at link time.  Each refuses, so a join
 *		with a source group fails with a clear error instead of a wrong
 *		answer.  Temporary: remove once src/window/window_pass.c and
 *		window_plan.c are in (WinLatestEvent's stays until the engine has it).
 */
#include "postgres.h"

#include "pit/pit_window.h"

#if defined(__GNUC__) || defined(__clang__)
#define PIT_WEAK __attribute__((weak))
#else
#define PIT_WEAK
#endif

static void PitNoEngine(void) pg_attribute_noreturn();

/* PitNoEngine refuses: the window engine is not part of this build */
static void
PitNoEngine(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("window aggregates cannot be computed by this build of featstore"),
			 errhint("The window engine (src/window) is work in progress (issue 10).")));
}

/* WinCompile: see window.h */
PIT_WEAK WinPlan *
WinCompile(const FsGroup *group, MemoryContext cxt)
{
	PitNoEngine();
}

/* WinSourceSql: see window.h */
PIT_WEAK char *
WinSourceSql(const WinPlan *plan, bool has_as_of, const char *extra_condition)
{
	PitNoEngine();
}

/* WinPointSortKeys: see window.h */
PIT_WEAK void
WinPointSortKeys(const WinPlan *plan, WinSortKey *keys)
{
	PitNoEngine();
}

/* WinFeatureCount: see window.h */
PIT_WEAK int
WinFeatureCount(const WinPlan *plan)
{
	PitNoEngine();
}

/* WinBegin: see window.h */
PIT_WEAK WinState *
WinBegin(WinPlan *plan, Portal events, TimestampTz as_of, bool has_as_of,
		 bool strict, MemoryContext cxt)
{
	PitNoEngine();
}

/* WinEvaluate: see window.h */
PIT_WEAK void
WinEvaluate(WinState *state, const WinPoint *point, Datum *values, bool *nulls,
			TimestampTz *next_change)
{
	PitNoEngine();
}

/* WinEnd: see window.h */
PIT_WEAK void
WinEnd(WinState *state)
{
	PitNoEngine();
}

/* WinLatestEvent: see pit_window.h; none found until the engine has it */
PIT_WEAK bool
WinLatestEvent(WinState *state, TimestampTz *event_time, TimestampTz *created,
			   bool *created_null)
{
	return false;
}
