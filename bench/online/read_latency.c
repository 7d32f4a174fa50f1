/*
 * read_latency.c: online read latency from C, redis-benchmark style.
 * One request = the feature vector of one entity in three groups: three
 * GETs pipelined in one round trip, closed loop, one connection.
 *
 *   read_latency HOST PORT N KEY1 KEY2 KEY3   -> prints p50/p99 in microseconds
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <hiredis/hiredis.h>

/* now_us returns a monotonic clock in microseconds */
static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* cmp_double orders doubles for qsort */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	redisContext *c;
	int			n;
	double	   *lat;
	int			found = 0;

	if (argc != 7)
	{
		fprintf(stderr, "usage: %s HOST PORT N KEY1 KEY2 KEY3\n", argv[0]);
		return 2;
	}
	c = redisConnect(argv[1], atoi(argv[2]));
	if (c == NULL || c->err)
	{
		fprintf(stderr, "cannot connect: %s\n", c ? c->errstr : "out of memory");
		return 1;
	}
	n = atoi(argv[3]);
	lat = malloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		double		t0 = now_us();

		for (int k = 0; k < 3; k++)
			redisAppendCommand(c, "GET %s", argv[4 + k]);
		for (int k = 0; k < 3; k++)
		{
			redisReply *r;

			if (redisGetReply(c, (void **) &r) != REDIS_OK)
			{
				fprintf(stderr, "error: %s\n", c->errstr);
				return 1;
			}
			if (i == 0 && r->type == REDIS_REPLY_STRING)
				found++;
			freeReplyObject(r);
		}
		lat[i] = now_us() - t0;
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("{\"reads\": %d, \"found\": %d, \"p50_us\": %.1f, \"p99_us\": %.1f}\n",
		   n, found, lat[n / 2], lat[(int) (n * 0.99)]);
	redisFree(c);
	free(lat);
	return 0;
}
