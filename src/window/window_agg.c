/*
 * window_agg.c
 *		The window engine's aggregates: each keeps a state that an event is
 *		added to at the window's head and removed from at its tail, and
 *		produces exactly what PostgreSQL's aggregate of the same name
 *		returns over the window's rows (docs/windows.md).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "window/window_int.h"

/* count(DISTINCT x): value -> how many events of the window hold it */
typedef struct WinDistinctEntry
{
	Datum		key;
	int64		count;
	char		status;
} WinDistinctEntry;

static uint32 WinDistinctHash(struct windist_hash *tb, Datum key);
static bool WinDistinctEqual(struct windist_hash *tb, Datum a, Datum b);

#define SH_PREFIX windist
#define SH_ELEMENT_TYPE WinDistinctEntry
#define SH_KEY_TYPE Datum
#define SH_KEY key
#define SH_HASH_KEY(tb, key) WinDistinctHash(tb, key)
#define SH_EQUAL(tb, a, b) WinDistinctEqual(tb, a, b)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* A recompute from the buffer when m2 fell this far below its peak */
#define WIN_M2_DRIFT 1.0e4

/* WinDistinctHash hashes a value with its type's hash function */
static uint32
WinDistinctHash(struct windist_hash *tb, Datum key)
{
	const WinFeat *f = (const WinFeat *) tb->private_data;

	return DatumGetUInt32(FunctionCall1Coll((FmgrInfo *) &f->hash,
											f->collation, key));
}

/* WinDistinctEqual compares two values with their type's equality */
static bool
WinDistinctEqual(struct windist_hash *tb, Datum a, Datum b)
{
	const WinFeat *f = (const WinFeat *) tb->private_data;

	return DatumGetBool(FunctionCall2Coll((FmgrInfo *) &f->eq,
										  f->collation, a, b));
}

/* ArgValue is the event's argument for the feature */
static inline Datum
ArgValue(const WinPlan *plan, const WinFeat *f, const WinEvent *ev, bool *isnull)
{
	int			att = WIN_COL_VALUE(plan, f->col);

	*isnull = ev->nulls[att];
	return ev->values[att];
}

/* IntValue reads an int2, int4 or int8 argument */
static inline int64
IntValue(const WinFeat *f, Datum d)
{
	switch (f->argbase)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

/* IsVariance is true for the four aggregates that need sums of squares */
static inline bool
IsVariance(FsAggKind agg)
{
	return agg == FS_AGG_STDDEV_SAMP || agg == FS_AGG_STDDEV_POP ||
		agg == FS_AGG_VAR_SAMP || agg == FS_AGG_VAR_POP;
}

/* UsesNumericSums: numeric arguments, and int8 under var/stddev */
static inline bool
UsesNumericSums(const WinFeat *f)
{
	return f->argclass == WIN_ARG_NUMERIC ||
		(f->wide_int && IsVariance(f->agg));
}

/*
 * WinAccReset empties a feature's state for a new key (its memory is in
 * key_cxt, which the caller has just reset).
 */
void
WinAccReset(const WinFeat *f, WinAcc *a, MemoryContext key_cxt)
{
	memset(a, 0, sizeof(WinAcc));
	a->dq_lastpos = -1;
	a->best_pos = -1;
	if (UsesNumericSums(f))
	{
		MemoryContext old = MemoryContextSwitchTo(key_cxt);

		a->nsum = NumericGetDatum(int64_to_numeric(0));
		a->nsum2 = NumericGetDatum(int64_to_numeric(0));
		MemoryContextSwitchTo(old);
	}
}

/* NumericAccumulate replaces *acc by *acc + x (or - x), in key_cxt */
static void
NumericAccumulate(Datum *acc, Datum x, bool subtract, MemoryContext key_cxt)
{
	MemoryContext old = MemoryContextSwitchTo(key_cxt);
	Datum		r = DirectFunctionCall2(subtract ? numeric_sub : numeric_add, *acc, x);

	MemoryContextSwitchTo(old);
	pfree(DatumGetPointer(*acc));
	*acc = r;
}

/*
 * NumericStep adds (sign 1) or removes (-1) a numeric value: NaN and
 * infinities are counted apart, finite values summed exactly, with how
 * many values of each display scale the window holds (PostgreSQL's sum
 * has the largest scale of its inputs).
 */
static void
NumericStep(WinAcc *a, const WinFeat *f, Datum x, int sign, MemoryContext key_cxt)
{
	Numeric		n = DatumGetNumeric(x);
	int			scale;

	if (numeric_is_nan(n))
	{
		a->nnan += sign;
		return;
	}
	if (numeric_is_inf(n))
	{
		if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, x,
											  NumericGetDatum(int64_to_numeric(0)))) > 0)
			a->npinf += sign;
		else
			a->nninf += sign;
		return;
	}
	scale = DatumGetInt32(DirectFunctionCall1(numeric_scale, x));
	if (scale >= a->nscales)
	{
		int			n2 = Max(scale + 1, a->nscales * 2);

		if (a->scales == NULL)
			a->scales = MemoryContextAllocZero(key_cxt, sizeof(int64) * n2);
		else
		{
			a->scales = repalloc(a->scales, sizeof(int64) * n2);
			memset(a->scales + a->nscales, 0, sizeof(int64) * (n2 - a->nscales));
		}
		a->nscales = n2;
	}
	a->scales[scale] += sign;
	NumericAccumulate(&a->nsum, x, sign < 0, key_cxt);
	if (IsVariance(f->agg))
	{
		Datum		x2 = DirectFunctionCall2(numeric_mul, x, x);

		NumericAccumulate(&a->nsum2, x2, sign < 0, key_cxt);
		pfree(DatumGetPointer(x2));
	}
}

/* FloatAdd adds a finite double: Neumaier's sum and Welford's update */
static inline void
FloatAdd(WinAcc *a, double x)
{
	double		t = a->fsum + x;
	double		d;

	if (fabs(a->fsum) >= fabs(x))
		a->fcomp += (a->fsum - t) + x;
	else
		a->fcomp += (x - t) + a->fsum;
	a->fsum = t;
	if (a->nfin == 0)
		a->shift = x;
	x -= a->shift;
	a->nfin++;
	d = x - a->mean;
	a->mean += d / a->nfin;
	a->m2 += d * (x - a->mean);
	if (a->m2 > a->peak_m2)
		a->peak_m2 = a->m2;
}

/* FloatRemove is FloatAdd's inverse; an emptied state is exact zero again */
static inline void
FloatRemove(WinAcc *a, double x)
{
	double		t;
	double		d;

	a->nfin--;
	if (a->nfin <= 0)
	{
		a->nfin = 0;
		a->fsum = a->fcomp = a->mean = a->m2 = a->peak_m2 = a->shift = 0.0;
		a->removed = 0;
		return;
	}
	t = a->fsum - x;
	if (fabs(a->fsum) >= fabs(x))
		a->fcomp += (a->fsum - t) - x;
	else
		a->fcomp += (-x - t) + a->fsum;
	a->fsum = t;
	x -= a->shift;
	d = x - a->mean;
	a->mean -= d / a->nfin;
	a->m2 -= d * (x - a->mean);
	a->removed++;
}

/* FloatStep counts NaN and infinities apart from finite values */
static void
FloatStep(WinAcc *a, const WinFeat *f, Datum d, int sign)
{
	double		x = f->argbase == FLOAT4OID ?
		(double) DatumGetFloat4(d) : DatumGetFloat8(d);

	if (isnan(x))
		a->nnan += sign;
	else if (isinf(x))
	{
		if (x > 0)
			a->npinf += sign;
		else
			a->nninf += sign;
	}
	else if (sign > 0)
		FloatAdd(a, x);
	else
		FloatRemove(a, x);
}

/* DequeAt is the i-th position of a min/max deque, from the front */
static inline int64
DequeAt(const WinAcc *a, int i)
{
	return a->dq[(a->dq_first + i) % a->dq_cap];
}

/*
 * DequePush offers a counted event to min/max's monotonic deque: values
 * from the front are strictly better (smaller for min), positions
 * increasing, so the front is the window's answer once expired positions
 * have left it.
 */
static void
DequePush(const WinPlan *plan, const WinFeat *f, WinAcc *a,
		  const WinRing *ring, WinEvent *ev, MemoryContext key_cxt)
{
	bool		isnull;
	Datum		x = ArgValue(plan, f, ev, &isnull);

	if (ev->pos < a->dq_lastpos)
		a->dq_stale = true;		/* strict: counted out of order */
	if (ev->pos > a->dq_lastpos)
		a->dq_lastpos = ev->pos;
	if (a->dq_stale)
		return;
	while (a->dq_len > 0 && DequeAt(a, 0) < a->tail)
	{
		a->dq_first = (a->dq_first + 1) % a->dq_cap;
		a->dq_len--;
	}
	while (a->dq_len > 0)
	{
		WinEvent   *back = WinRingGet(ring, DequeAt(a, a->dq_len - 1));
		int32		c = DatumGetInt32(FunctionCall2Coll((FmgrInfo *) &f->cmp, f->collation,
														back->values[WIN_COL_VALUE(plan, f->col)],
														x));

		if ((f->agg == FS_AGG_MAX && c > 0) || (f->agg == FS_AGG_MIN && c < 0))
			break;
		a->dq_len--;
	}
	if (a->dq_len == a->dq_cap)
	{
		int			ncap = Max(16, a->dq_cap * 2);
		int64	   *ndq = MemoryContextAlloc(key_cxt, sizeof(int64) * ncap);

		for (int i = 0; i < a->dq_len; i++)
			ndq[i] = DequeAt(a, i);
		if (a->dq)
			pfree(a->dq);
		a->dq = ndq;
		a->dq_cap = ncap;
		a->dq_first = 0;
	}
	a->dq[(a->dq_first + a->dq_len) % a->dq_cap] = ev->pos;
	a->dq_len++;
}

/* datumCopyIntoCxt is datumCopy into cxt */
static Datum
datumCopyIntoCxt(Datum x, bool byval, int16 len, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	Datum		r = datumCopy(x, byval, len);

	MemoryContextSwitchTo(old);
	return r;
}

/*
 * KeepBest keeps an unbounded min, max or last's value itself, copied,
 * since its event may have left the buffer long ago; borrowed when the
 * event's values outlive the key anyway.
 */
static void
KeepBest(const WinFeat *f, WinAcc *a, Datum x, bool isnull, int64 pos,
		 MemoryContext key_cxt)
{
	bool		copy = !f->argbyval && !a->borrow;

	if (a->has_best && !a->best_null && copy)
		pfree(DatumGetPointer(a->best));
	a->has_best = true;
	a->best_null = isnull;
	a->best = isnull ? (Datum) 0 :
		copy ? datumCopyIntoCxt(x, false, f->arglen, key_cxt) : x;
	a->best_pos = pos;
}

/* DistinctStep counts a value in or out of count(DISTINCT)'s hash */
static void
DistinctStep(const WinFeat *f, WinAcc *a, Datum x, int sign, MemoryContext key_cxt)
{
	WinDistinctEntry *e;
	bool		found;

	if (a->distinct == NULL)
		a->distinct = windist_create(key_cxt, 64, (void *) f);
	if (sign > 0)
	{
		e = windist_insert(a->distinct, x, &found);
		if (!found)
		{
			e->key = a->borrow ? x :
				datumCopyIntoCxt(x, f->argbyval, f->arglen, key_cxt);
			e->count = 0;
		}
		e->count++;
		return;
	}
	e = windist_lookup(a->distinct, x);
	if (e == NULL)
		elog(ERROR, "count(DISTINCT) of feature \"%s\" lost a value", f->name);
	if (--e->count == 0)
	{
		Datum		k = e->key;

		windist_delete_item(a->distinct, e);
		if (!f->argbyval && !a->borrow)
			pfree(DatumGetPointer(k));
	}
}

/*
 * BetterBest is true when x should replace an unbounded min's or max's
 * kept value.
 */
static bool
BetterBest(const WinFeat *f, const WinAcc *a, Datum x)
{
	int32		c;

	if (!a->has_best)
		return true;
	c = DatumGetInt32(FunctionCall2Coll((FmgrInfo *) &f->cmp, f->collation, x, a->best));
	return f->agg == FS_AGG_MIN ? c < 0 : c > 0;
}

/*
 * WinAccAdd adds a counted event to a feature's window (the caller has
 * checked that the event is inside it).
 */
void
WinAccAdd(const WinPlan *plan, const WinFeat *f, WinAcc *a,
		  const WinRing *ring, WinEvent *ev, MemoryContext key_cxt)
{
	bool		isnull = true;
	Datum		x = (Datum) 0;

	a->nrows++;
	if (f->col < 0)
		return;
	x = ArgValue(plan, f, ev, &isnull);
	if (f->agg == FS_AGG_LAST)
	{
		if (f->window_usecs == 0 && ev->pos > a->best_pos)
			KeepBest(f, a, x, isnull, ev->pos, key_cxt);
		return;
	}
	if (isnull)
		return;
	a->nvals++;
	switch (f->agg)
	{
		case FS_AGG_COUNT_DISTINCT:
			DistinctStep(f, a, x, 1, key_cxt);
			break;
		case FS_AGG_MIN:
		case FS_AGG_MAX:
			if (f->window_usecs > 0)
				DequePush(plan, f, a, ring, ev, key_cxt);
			else if (BetterBest(f, a, x))
				KeepBest(f, a, x, false, ev->pos, key_cxt);
			break;
		case FS_AGG_COUNT:
			break;
		default:
			if (UsesNumericSums(f))
				NumericStep(a, f, f->wide_int ?
							NumericGetDatum(int64_to_numeric(IntValue(f, x))) : x,
							1, key_cxt);
			else if (f->argclass == WIN_ARG_INT)
			{
				int64		v = IntValue(f, x);

				a->isum += v;
				a->isum2 += (int128) v * v;
			}
			else
				FloatStep(a, f, x, 1);
			break;
	}
}

/*
 * WinAccRemove takes a counted event that leaves the feature's window out
 * of its state (min and max drop it lazily, by position).
 */
void
WinAccRemove(const WinPlan *plan, const WinFeat *f, WinAcc *a,
			 WinEvent *ev, MemoryContext key_cxt)
{
	bool		isnull = true;
	Datum		x;

	a->nrows--;
	if (f->col < 0 || f->agg == FS_AGG_LAST)
		return;
	x = ArgValue(plan, f, ev, &isnull);
	if (isnull)
		return;
	a->nvals--;
	switch (f->agg)
	{
		case FS_AGG_COUNT_DISTINCT:
			DistinctStep(f, a, x, -1, key_cxt);
			break;
		case FS_AGG_MIN:
		case FS_AGG_MAX:
		case FS_AGG_COUNT:
			break;
		default:
			if (UsesNumericSums(f))
				NumericStep(a, f, f->wide_int ?
							NumericGetDatum(int64_to_numeric(IntValue(f, x))) : x,
							-1, key_cxt);
			else if (f->argclass == WIN_ARG_INT)
			{
				int64		v = IntValue(f, x);

				a->isum -= v;
				a->isum2 -= (int128) v * v;
			}
			else
				FloatStep(a, f, x, -1);
			break;
	}
}

/* Int128ToNumeric converts an exact integer sum to numeric */
static Datum
Int128ToNumeric(int128 v)
{
	char		buf[64];
	int			i = sizeof(buf) - 1;
	bool		neg = v < 0;
	uint128		u = neg ? -(uint128) v : (uint128) v;

	if (v >= PG_INT64_MIN && v <= PG_INT64_MAX)
		return NumericGetDatum(int64_to_numeric((int64) v));
	buf[i] = '\0';
	do
	{
		buf[--i] = '0' + (int) (u % 10);
		u /= 10;
	} while (u > 0);
	if (neg)
		buf[--i] = '-';
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf + i),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* NumericConst reads a numeric literal (NaN, Infinity) */
static Datum
NumericConst(const char *text)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(text),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/*
 * NumericSpecial: PostgreSQL's numeric sum and avg are NaN with a NaN or
 * both infinities among the inputs, else the infinity; var and stddev are
 * NaN with any of them.  False when every input was finite.
 */
static bool
NumericSpecial(const WinAcc *a, bool variance, Datum *result)
{
	if (a->nnan > 0 || (a->npinf > 0 && a->nninf > 0) ||
		(variance && (a->npinf > 0 || a->nninf > 0)))
		*result = NumericConst("NaN");
	else if (a->npinf > 0)
		*result = NumericConst("Infinity");
	else if (a->nninf > 0)
		*result = NumericConst("-Infinity");
	else
		return false;
	return true;
}

/* MaxScale is the largest display scale among the window's finite inputs */
static int
MaxScale(const WinAcc *a)
{
	for (int i = a->nscales - 1; i > 0; i--)
		if (a->scales[i] > 0)
			return i;
	return 0;
}

/* RoundTo gives an exact numeric the display scale PostgreSQL's would have */
static Datum
RoundTo(Datum x, int scale)
{
	return DirectFunctionCall2(numeric_round, x, Int32GetDatum(scale));
}

/*
 * NumericVariance finishes var/stddev from exact sums as PostgreSQL's
 * numeric_stddev_internal does: (N * sumX2 - sumX^2) / (N * (N - 1)) (or
 * N * N for the population forms), 0 for a numerator that is not positive,
 * the square root at the quotient's scale.
 */
static Datum
NumericVariance(FsAggKind agg, Datum sumx, Datum sumx2, int64 n, bool *isnull)
{
	bool		sample = agg == FS_AGG_VAR_SAMP || agg == FS_AGG_STDDEV_SAMP;
	Datum		nn = NumericGetDatum(int64_to_numeric(n));
	Datum		zero = NumericGetDatum(int64_to_numeric(0));
	Datum		num;
	Datum		den;
	Datum		var;
	int			scale;

	*isnull = false;
	if (n == 0 || (sample && n <= 1))
	{
		*isnull = true;
		return (Datum) 0;
	}
	num = DirectFunctionCall2(numeric_sub,
							  DirectFunctionCall2(numeric_mul, nn, sumx2),
							  DirectFunctionCall2(numeric_mul, sumx, sumx));
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, num, zero)) <= 0)
		return zero;
	den = DirectFunctionCall2(numeric_mul, nn,
							  sample ? NumericGetDatum(int64_to_numeric(n - 1)) : nn);
	var = DirectFunctionCall2(numeric_div, num, den);
	if (agg == FS_AGG_VAR_SAMP || agg == FS_AGG_VAR_POP)
		return var;
	/* the root with ten more digits, rounded once at the quotient's scale */
	scale = DatumGetInt32(DirectFunctionCall1(numeric_scale, var));
	return RoundTo(DirectFunctionCall1(numeric_sqrt, RoundTo(var, scale + 10)), scale);
}

/* NumericResult: sum, avg, var, stddev over numeric sums */
static Datum
NumericResult(const WinFeat *f, const WinAcc *a, bool *isnull)
{
	Datum		special;
	int			scale = MaxScale(a);
	Datum		sum;

	*isnull = false;
	if (IsVariance(f->agg) &&
		(a->nvals == 0 || (a->nvals <= 1 && (f->agg == FS_AGG_VAR_SAMP ||
											  f->agg == FS_AGG_STDDEV_SAMP))))
	{
		*isnull = true;
		return (Datum) 0;
	}
	if (NumericSpecial(a, IsVariance(f->agg), &special))
		return special;
	sum = RoundTo(a->nsum, scale);
	if (f->agg == FS_AGG_SUM)
		return sum;
	if (f->agg == FS_AGG_AVG)
		return DirectFunctionCall2(numeric_div, sum,
								   NumericGetDatum(int64_to_numeric(a->nvals)));
	return NumericVariance(f->agg, sum, RoundTo(a->nsum2, scale * 2), a->nvals, isnull);
}

/* IntResult: sum, avg, var, stddev over exact int128 sums */
static Datum
IntResult(const WinFeat *f, const WinAcc *a, bool *isnull)
{
	*isnull = false;
	switch (f->agg)
	{
		case FS_AGG_SUM:
			if (f->result_type == NUMERICOID)
				return Int128ToNumeric(a->isum);
			if (a->isum > PG_INT64_MAX || a->isum < PG_INT64_MIN)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("bigint out of range"),
						 errdetail("The sum of feature \"%s\" does not fit in bigint.", f->name)));
			return Int64GetDatum((int64) a->isum);
		case FS_AGG_AVG:
			return DirectFunctionCall2(numeric_div, Int128ToNumeric(a->isum),
									   NumericGetDatum(int64_to_numeric(a->nvals)));
		default:
			return NumericVariance(f->agg, Int128ToNumeric(a->isum),
								   Int128ToNumeric(a->isum2), a->nvals, isnull);
	}
}

/*
 * FloatRecompute rebuilds a float state from the window's events, so
 * rounding left by values that have left the window goes with them.
 */
static void
FloatRecompute(const WinPlan *plan, const WinFeat *f, WinAcc *a, const WinRing *ring)
{
	WinAcc		fresh;
	double		m2 = 0.0;
	double		mean;

	memset(&fresh, 0, sizeof(fresh));
	for (int64 pos = a->tail; pos < ring->head; pos++)
	{
		WinEvent   *ev = WinRingGet(ring, pos);
		bool		isnull;
		Datum		x;

		if (!ev->counted)
			continue;
		x = ArgValue(plan, f, ev, &isnull);
		if (!isnull)
			FloatStep(&fresh, f, x, 1);
	}
	/* two passes for m2: deviations from the final mean */
	mean = fresh.nfin > 0 ? (fresh.fsum + fresh.fcomp) / fresh.nfin : 0.0;
	for (int64 pos = a->tail; pos < ring->head && fresh.nfin > 0; pos++)
	{
		WinEvent   *ev = WinRingGet(ring, pos);
		bool		isnull;
		Datum		d;
		double		x;

		if (!ev->counted)
			continue;
		d = ArgValue(plan, f, ev, &isnull);
		if (isnull)
			continue;
		x = f->argbase == FLOAT4OID ?
			(double) DatumGetFloat4(d) : DatumGetFloat8(d);
		if (!isnan(x) && !isinf(x))
			m2 += (x - mean) * (x - mean);
	}
	a->nfin = fresh.nfin;
	a->fsum = fresh.fsum;
	a->fcomp = fresh.fcomp;
	/* Welford goes on from here, shifted by the mean */
	a->shift = mean;
	a->mean = 0.0;
	a->m2 = m2;
	a->peak_m2 = m2;
	a->removed = 0;
}

/*
 * FloatResult: PostgreSQL's float sum and avg are NaN with a NaN or both
 * infinities, else the infinity; var and stddev NaN with any.
 */
static Datum
FloatResult(const WinPlan *plan, const WinFeat *f, WinAcc *a,
			const WinRing *ring, bool *isnull)
{
	bool		sample = f->agg == FS_AGG_VAR_SAMP || f->agg == FS_AGG_STDDEV_SAMP;
	double		r;

	*isnull = false;
	if (IsVariance(f->agg) && sample && a->nvals <= 1)
	{
		*isnull = true;
		return (Datum) 0;
	}
	if (f->window_usecs > 0 && a->removed > 0 &&
		(a->removed > 4 * a->nfin + 64 ||
		 (IsVariance(f->agg) && a->peak_m2 > WIN_M2_DRIFT * a->m2)))
		FloatRecompute(plan, f, a, ring);
	if (a->nnan > 0 || (a->npinf > 0 && a->nninf > 0) ||
		(IsVariance(f->agg) && (a->npinf > 0 || a->nninf > 0)))
		r = get_float8_nan();
	else if (a->npinf > 0)
		r = get_float8_infinity();
	else if (a->nninf > 0)
		r = -get_float8_infinity();
	else if (f->agg == FS_AGG_SUM)
		r = a->fsum + a->fcomp;
	else if (f->agg == FS_AGG_AVG)
		r = (a->fsum + a->fcomp) / a->nvals;
	else
	{
		double		m2 = a->m2 > 0 ? a->m2 : 0.0;

		r = m2 / (sample ? a->nfin - 1 : a->nfin);
		if (f->agg == FS_AGG_STDDEV_SAMP || f->agg == FS_AGG_STDDEV_POP)
			r = sqrt(r);
	}
	if (f->result_type == FLOAT4OID)
		return Float4GetDatum((float4) r);
	return Float8GetDatum(r);
}

/*
 * MinMaxResult is the front of the deque once expired positions have left
 * it; a strict pass that counted an event out of order rebuilds the deque
 * from the buffer first.
 */
static Datum
MinMaxResult(const WinPlan *plan, const WinFeat *f, WinAcc *a,
			 const WinRing *ring, MemoryContext key_cxt)
{
	WinEvent   *ev;

	if (a->dq_stale)
	{
		a->dq_stale = false;
		a->dq_len = 0;
		a->dq_lastpos = -1;
		for (int64 pos = a->tail; pos < ring->head; pos++)
		{
			ev = WinRingGet(ring, pos);
			if (ev->counted && !ev->nulls[WIN_COL_VALUE(plan, f->col)])
				DequePush(plan, f, a, ring, ev, key_cxt);
		}
	}
	while (a->dq_len > 0 && DequeAt(a, 0) < a->tail)
	{
		a->dq_first = (a->dq_first + 1) % a->dq_cap;
		a->dq_len--;
	}
	if (a->dq_len == 0)
		elog(ERROR, "the window of feature \"%s\" lost its %s", f->name,
			 f->agg == FS_AGG_MIN ? "minimum" : "maximum");
	ev = WinRingGet(ring, DequeAt(a, 0));
	return ev->values[WIN_COL_VALUE(plan, f->col)];
}

/*
 * LastResult is the argument of the newest counted event of the window:
 * last_pos, the newest counted position of the key, is inside a bounded
 * window whenever the window counts any event.
 */
static Datum
LastResult(const WinPlan *plan, const WinFeat *f, WinAcc *a,
		   const WinRing *ring, int64 last_pos, bool *isnull, bool *empty)
{
	WinEvent   *ev;

	if (f->window_usecs == 0)
	{
		*empty = !a->has_best;
		*isnull = !a->has_best || a->best_null;
		return a->best;
	}
	*empty = a->nrows == 0 || last_pos < a->tail;
	if (*empty)
	{
		*isnull = true;
		return (Datum) 0;
	}
	if (last_pos < ring->base || last_pos >= ring->head)
		elog(ERROR, "the newest event of feature \"%s\" left the buffer", f->name);
	ev = WinRingGet(ring, last_pos);
	*isnull = ev->nulls[WIN_COL_VALUE(plan, f->col)];
	return ev->values[WIN_COL_VALUE(plan, f->col)];
}

/*
 * WinAccResult is the aggregate's value over the feature's window, in the
 * aggregate's own result type (f->result_type), as PostgreSQL's aggregate
 * would return it; *empty when the window holds no input, so DEFAULT
 * applies.  Memory: the caller's context, except values that point into
 * the buffer's events.
 */
Datum
WinAccResult(const WinPlan *plan, const WinFeat *f, WinAcc *a,
			 const WinRing *ring, int64 last_pos,
			 bool *isnull, bool *empty, MemoryContext key_cxt)
{
	*isnull = false;
	switch (f->agg)
	{
		case FS_AGG_COUNT_STAR:
			*empty = a->nrows == 0;
			return Int64GetDatum(a->nrows);
		case FS_AGG_COUNT:
			*empty = a->nvals == 0;
			return Int64GetDatum(a->nvals);
		case FS_AGG_COUNT_DISTINCT:
			*empty = a->nvals == 0;
			return Int64GetDatum(a->distinct ? (int64) a->distinct->members : 0);
		case FS_AGG_LAST:
			return LastResult(plan, f, a, ring, last_pos, isnull, empty);
		default:
			break;
	}
	*empty = a->nvals == 0;
	if (*empty)
	{
		*isnull = true;
		return (Datum) 0;
	}
	switch (f->agg)
	{
		case FS_AGG_MIN:
		case FS_AGG_MAX:
			if (f->window_usecs == 0)
				return a->best;
			return MinMaxResult(plan, f, a, ring, key_cxt);
		default:
			break;
	}
	if (UsesNumericSums(f))
		return NumericResult(f, a, isnull);
	if (f->argclass == WIN_ARG_INT)
		return IntResult(f, a, isnull);
	return FloatResult(plan, f, a, ring, isnull);
}
