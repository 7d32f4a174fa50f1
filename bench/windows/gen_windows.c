/*
 * gen_windows.c
 *		Deterministic data for the window-aggregation benchmark (issue 10):
 *		the seed's fraud shape, a transactions source and a spine of labels.
 *
 *	 gen_windows OUTDIR N_EVENTS N_USERS N_LABELS [SEED] [ZIPF_S]
 *
 * Writes, comma separated, no header, timestamps as
 * 'YYYY-MM-DD HH:MM:SS[.ffffff]+00':
 *	OUTDIR/tx.csv	  user_id,event_time,ingested_at,amount,merchant_id,status
 *	OUTDIR/labels.csv user_id,ts,label
 *
 * Shape (why each part is there):
 *	- user activity is Zipf-like (rank k weighs k^-s, default s = 0.5: a few
 *	  heavy users, most with a handful of events), ranks scattered over the
 *	  id space so heavy users are not neighbours;
 *	- event_time: second resolution over 180 days from 2024-01-01 UTC, so a
 *	  heavy user has ties on event_time; 30% of events follow the previous
 *	  event of the same user within 30 minutes (bursts, so the 1 hour and
 *	  24 hour windows hold more than one event), 1% at the very same second;
 *	- ingested_at = event_time + U(0, 300 s) at microsecond resolution, so
 *	  (user, event_time, ingested_at) is unique in practice and last()'s tie
 *	  rule has one answer (the loader counts the exceptions);
 *	- amount: lognormal, 2 decimals, 1% of amounts x 50 (skewed);
 *	- merchant_id: 'm' || number; 60% from the user's 5 usual merchants,
 *	  the rest from 50,000, so count(DISTINCT) is neither 1 nor n;
 *	- status: 'approved' 90%, 'declined' 7%, 'pending' 3%;
 *	- labels: 5% for users without any event, 3% at the exact (user,
 *	  event_time) of an event (the '<= t' edge), the rest at uniform times
 *	  over [2024-01-01 - 5 days, + 190 days), so some precede the user's
 *	  first event; label = 1 with p = 0.05.
 * RNG: xoshiro256** seeded by splitmix64, as the anchors' gen.c: the output
 * is byte-identical for a seed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t s[4];

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* next64 is xoshiro256** */
static uint64_t
next64(void)
{
	uint64_t	r = rotl(s[1] * 5, 7) * 9,
				t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* seed fills the state with splitmix64 */
static void
seed(uint64_t x)
{
	for (int i = 0; i < 4; i++)
	{
		uint64_t	z = (x += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		s[i] = z ^ (z >> 31);
	}
}

static inline double
unif(void)
{
	return (next64() >> 11) * 0x1.0p-53;
}

static inline uint64_t
below(uint64_t n)
{
	return next64() % n;
}

/* normal is one Box-Muller value */
static double
normal(void)
{
	double		u1 = unif(),
				u2 = unif();

	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2);
}

static int64_t N;				/* users that may have events */
static double *cdf;				/* Zipf CDF over ranks */

/* zipf_user draws a rank and scatters it over 1..N */
static int64_t
zipf_user(void)
{
	double		u = unif();
	int64_t		lo = 0,
				hi = N - 1;

	while (lo < hi)
	{
		int64_t		m = (lo + hi) / 2;

		if (cdf[m] < u)
			lo = m + 1;
		else
			hi = m;
	}
	return (int64_t) (((unsigned __int128) lo * 2654435761ULL) % (uint64_t) N) + 1;
}

/* fmt_ts writes seconds since 1970 as 'YYYY-MM-DD HH:MM:SS' (Hinnant) */
static int
fmt_ts(char *o, int64_t t)
{
	int64_t		days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t		sod = t - days * 86400;
	int64_t		z = days + 719468,
				era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned	doe = (unsigned) (z - era * 146097);
	unsigned	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		y = (int64_t) yoe + era * 400;
	unsigned	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned	mp = (5 * doy + 2) / 153,
				d = doy - (153 * mp + 2) / 5 + 1;
	unsigned	m = mp < 10 ? mp + 3 : mp - 9;

	y += (m <= 2);
	return sprintf(o, "%04d-%02u-%02u %02d:%02d:%02d", (int) y, m, d,
				   (int) (sod / 3600), (int) (sod / 60 % 60), (int) (sod % 60));
}

/* merchant picks one of the user's usual merchants, or any */
static int64_t
merchant(int64_t user)
{
	if (unif() < 0.6)
		return (int64_t) ((((uint64_t) user * 40503ULL) + below(5) * 7919ULL) % 50000ULL) + 1;
	return (int64_t) below(50000) + 1;
}

static const int64_t T0 = 1704067200;	/* 2024-01-01 00:00:00 UTC */
static const int64_t DAY = 86400;

/* write_events writes tx.csv and keeps each event's (user, time) */
static int
write_events(const char *dir, int64_t n, int64_t *eu, int64_t *et)
{
	char		path[4096],
				a[64],
				b[64];
	static char buf[1 << 20];
	FILE	   *f;
	int64_t		pu = 0,
				pt = 0;

	snprintf(path, sizeof path, "%s/tx.csv", dir);
	if (!(f = fopen(path, "w")))
	{
		perror(path);
		return 1;
	}
	setvbuf(f, buf, _IOFBF, sizeof buf);
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		u,
					t,
					delay_us;
		double		r = unif(),
					amount,
					st = unif();

		if (i > 0 && r < 0.01)
		{
			u = pu;
			t = pt;
		}
		else if (i > 0 && r < 0.30 && pt + 1800 < T0 + 180 * DAY)
		{
			u = pu;
			t = pt + 1 + (int64_t) below(1800);
		}
		else
		{
			u = zipf_user();
			t = T0 + (int64_t) below(180 * DAY);
		}
		delay_us = (int64_t) below(300000000);
		amount = floor(exp(3.0 + 1.1 * normal()) * 100.0 + 0.5) / 100.0;
		if (unif() < 0.01)
			amount *= 50;
		fmt_ts(a, t);
		fmt_ts(b, t + delay_us / 1000000);
		fprintf(f, "%lld,%s+00,%s.%06lld+00,%.2f,m%lld,%s\n", (long long) u, a, b,
				(long long) (delay_us % 1000000), amount, (long long) merchant(u),
				st < 0.90 ? "approved" : st < 0.97 ? "declined" : "pending");
		eu[i] = u;
		et[i] = t;
		pu = u;
		pt = t;
	}
	if (fclose(f) != 0)
	{
		perror(path);
		return 1;
	}
	return 0;
}

/* write_labels writes labels.csv */
static int
write_labels(const char *dir, int64_t n, int64_t nev, const int64_t *eu, const int64_t *et)
{
	char		path[4096],
				a[64];
	static char buf[1 << 20];
	FILE	   *f;
	int64_t		nofeat = N / 20 > 0 ? N / 20 : 1;

	snprintf(path, sizeof path, "%s/labels.csv", dir);
	if (!(f = fopen(path, "w")))
	{
		perror(path);
		return 1;
	}
	setvbuf(f, buf, _IOFBF, sizeof buf);
	for (int64_t i = 0; i < n; i++)
	{
		int64_t		u,
					t;
		double		r = unif();

		if (r < 0.05)
		{
			u = N + 1 + (int64_t) below(nofeat);
			t = T0 - 5 * DAY + (int64_t) below(190 * DAY);
		}
		else if (r < 0.08 && nev > 0)
		{
			int64_t		j = (int64_t) below(nev);

			u = eu[j];
			t = et[j];
		}
		else
		{
			u = zipf_user();
			t = T0 - 5 * DAY + (int64_t) below(190 * DAY);
		}
		fmt_ts(a, t);
		fprintf(f, "%lld,%s+00,%d\n", (long long) u, a, unif() < 0.05);
	}
	if (fclose(f) != 0)
	{
		perror(path);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int64_t		nev,
				nlab;
	double		zs,
				acc = 0;
	int64_t    *eu,
			   *et;

	if (argc < 5)
	{
		fprintf(stderr, "usage: %s OUTDIR N_EVENTS N_USERS N_LABELS [SEED] [ZIPF_S]\n", argv[0]);
		return 2;
	}
	nev = atoll(argv[2]);
	N = atoll(argv[3]);
	nlab = atoll(argv[4]);
	seed(argc > 5 ? strtoull(argv[5], 0, 10) : 42);
	zs = argc > 6 ? atof(argv[6]) : 0.5;
	if (N < 1 || nev < 0 || nlab < 0)
	{
		fprintf(stderr, "N_USERS must be positive, counts not negative\n");
		return 2;
	}
	cdf = malloc(sizeof(double) * N);
	eu = malloc(sizeof(int64_t) * (nev > 0 ? nev : 1));
	et = malloc(sizeof(int64_t) * (nev > 0 ? nev : 1));
	if (!cdf || !eu || !et)
	{
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (int64_t k = 0; k < N; k++)
	{
		acc += pow((double) (k + 1), -zs);
		cdf[k] = acc;
	}
	for (int64_t k = 0; k < N; k++)
		cdf[k] /= acc;
	cdf[N - 1] = 1.0;
	if (write_events(argv[1], nev, eu, et) != 0)
		return 1;
	return write_labels(argv[1], nlab, nev, eu, et);
}
