/*
 * mem_latency.c: what a random memory access costs on this machine, the
 * figure behind the window store's prefetching and huge pages
 * (docs/performance.md, "The in-memory path, second round").
 *
 *	gcc -O2 -o /tmp/mem_latency bench/windows/mem_latency.c
 *	/tmp/mem_latency MB		-- e.g. 4, 16, 96
 *
 * Prints the nanoseconds of one dependent load (a pointer chase through a
 * random cycle of cache lines) and of one independent load (random reads
 * the CPU can overlap), with 4 kB pages and with MADV_HUGEPAGE.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define HUGE_PAGE (2u << 20)

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t
xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void
measure(size_t bytes, int huge)
{
	char	   *raw = mmap(NULL, bytes + HUGE_PAGE, PROT_READ | PROT_WRITE,
						   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t   *a;
	size_t		lines = bytes / 64;
	size_t	   *perm;
	uint64_t	x = 88172645463325252ULL;
	uint64_t	sum = 0;
	size_t		j = 0;
	size_t		n = 5000000;
	double		t0;
	double		dep;
	double		ind;

	if (raw == MAP_FAILED)
	{
		perror("mmap");
		exit(1);
	}
	a = (uint64_t *) (((uintptr_t) raw + HUGE_PAGE - 1) & ~(uintptr_t) (HUGE_PAGE - 1));
	if (huge)
		(void) madvise(a, bytes, MADV_HUGEPAGE);
	perm = malloc(lines * sizeof(size_t));
	for (size_t i = 0; i < lines; i++)
		perm[i] = i;
	for (size_t i = lines - 1; i > 0; i--)
	{
		size_t		k = xorshift(&x) % (i + 1);
		size_t		t = perm[i];

		perm[i] = perm[k];
		perm[k] = t;
	}
	for (size_t i = 0; i < lines; i++)
		a[perm[i] * 8] = perm[(i + 1) % lines] * 8;
	t0 = now();
	for (size_t i = 0; i < n; i++)
		j = a[j];
	dep = (now() - t0) / n * 1e9;
	t0 = now();
	for (size_t i = 0; i < n; i++)
		sum += a[(xorshift(&x) % lines) * 8];
	ind = (now() - t0) / n * 1e9;
	printf("%zu MB, %s pages: dependent %.1f ns, independent %.1f ns (%zu %lu)\n",
		   bytes >> 20, huge ? "huge" : "4 kB", dep, ind, j, (unsigned long) (sum & 1));
	free(perm);
	munmap(raw, bytes + HUGE_PAGE);
}

int
main(int argc, char **argv)
{
	size_t		mb = argc > 1 ? (size_t) atoi(argv[1]) : 96;

	measure(mb << 20, 0);
	measure(mb << 20, 1);
	return 0;
}
