/* Times the two /init generators: ns per standard normal (and per uniform)
 * for rng "numpy" (MT19937 + polar) and rng "fast" (xoshiro256** +
 * ziggurat), best of 5 runs of 10M draws. Build: make build/libgradguard.a &&
 * cc -O2 -I. bench/bench_rng.c build/libgradguard.a -lm -o /tmp/bench_rng */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/rng.h"

#define N 10000000

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	static const char *const names[] = { "numpy", "fast" };
	double *buf = malloc(N * sizeof *buf), sink = 0;
	struct rng r;

	if (!buf)
		return 1;
	for (int k = 0; k < 2; k++) {
		double best_g = 1e9, best_u = 1e9;

		for (int rep = 0; rep < 5; rep++) {
			double t;

			rng_seed(&r, k ? RNG_FAST : RNG_NUMPY, (uint32_t)rep);
			t = now_s();
			rng_fill_gauss(&r, buf, N, 1.0);
			t = now_s() - t;
			best_g = t < best_g ? t : best_g;
			sink += buf[N / 2];
			t = now_s();
			rng_fill_uniform(&r, buf, N, -1.0, 1.0);
			t = now_s() - t;
			best_u = t < best_u ? t : best_u;
			sink += buf[N / 3];
		}
		printf("%-5s normal %.2f ns/sample, uniform %.2f ns/sample\n",
		       names[k], best_g / N * 1e9, best_u / N * 1e9);
	}
	free(buf);
	return sink == 12345.0;
}
