/* Times the gradient-check engine against the naive loop on a tanh ->
 * softmax network with categorical cross-entropy ([784, 64, 10] unless
 * DIMS is given, e.g. 784,64,64,64,10), 16 samples, every coordinate,
 * epsilon 1e-7; prints a checksum of the numeric gradient's bits (the same
 * for every thread count and build). Build: make build/libgradguard.a &&
 * cc -O2 -I. -pthread bench/bench_gradcheck_engine.c build/libgradguard.a -lm
 * Run: ./a.out [threads] [naive: 0/1] [DIMS]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gradcheck.h"
#include "core/mlp.h"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double gauss(unsigned long long *s)
{
	double u1, u2;

	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	u1 = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	u2 = (double)(*s >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

int main(int argc, char **argv)
{
	size_t dims[16] = {784, 64, 10}, L = 2, m = 16;
	size_t nthreads = argc > 1 ? (size_t)atol(argv[1]) : 2;
	int naive = argc > 2 ? atoi(argv[2]) : 1;
	enum mlp_act act[15];
	size_t n, *coords;
	double *theta, *X, *Y, *g;
	unsigned long long sum = 0;

	if (argc > 3) {
		char *p = argv[3];

		for (L = 0; L < 16 && *p; L++) {   /* L widths: L - 1 layers */
			dims[L] = strtoul(p, &p, 10);
			if (dims[L] == 0 || (*p && *p++ != ','))
				return 2;
		}
		if (L-- < 2)
			return 2;
	}
	for (size_t l = 0; l < L; l++)
		act[l] = l + 1 < L ? MLP_TANH : MLP_SOFTMAX;
	n = mlp_n_params(dims, L);
	coords = malloc(n * sizeof(size_t));
	theta = malloc(n * sizeof(double));
	X = malloc(dims[0] * m * sizeof(double));
	Y = calloc(dims[L] * m, sizeof(double));
	g = malloc(n * sizeof(double));
	double *nf = malloc(n * sizeof(double)), *nn = malloc(n * sizeof(double));
	bool *kink = malloc(n * sizeof(bool));
	unsigned long long s = 42;
	struct mlp net = {L, dims, act, MLP_CCE, 0.0, theta};
	struct mlp_cache *mc;
	struct gc_mlp cf, cn;
	struct gc_source sf, sn;
	struct gc_run run = {1e-7, nthreads, 0, NULL, 0, NULL, NULL};
	double t0, t1, t2, maxd = 0, ge = 0, d2 = 0, a2 = 0, n2 = 0;

	for (size_t l = 1, off = 0; l <= L; l++) {
		for (size_t i = 0; i < dims[l] * dims[l - 1]; i++)
			theta[off++] = gauss(&s) / sqrt((double)dims[l - 1]);
		for (size_t i = 0; i < dims[l]; i++)
			theta[off++] = 0.1 * gauss(&s);
	}
	for (size_t i = 0; i < dims[0] * m; i++)
		X[i] = gauss(&s);
	for (size_t j = 0; j < m; j++)
		Y[(j * 7 % dims[L]) * m + j] = 1;
	for (size_t i = 0; i < n; i++)
		coords[i] = i;
	mc = mlp_cache_new(&net, m);
	mlp_forward(&net, X, Y, mc);
	mlp_backward(&net, mc, g);
	gc_mlp_source(&sf, &cf, &net, mc, true);
	gc_mlp_source(&sn, &cn, &net, mc, false);
	t0 = now_s();
	if (gradcheck_coords(&sf, &run, coords, n, nf, kink) != GC_OK)
		return 1;
	t1 = now_s();
	for (size_t i = 0; i < n; i++) {
		unsigned long long u;

		memcpy(&u, &nf[i], sizeof(u));
		sum = (sum ^ u) * 1099511628211ull;
	}
	printf("%zu layers, tanh/softmax CE, m = %zu, %zu parameters, threads %zu\n", L, m, n,
	       nthreads);
	printf("engine: %.3f s  (cost %.17g, checksum %016llx)\n", t1 - t0, mc->cost, sum);
	for (size_t i = 0; i < n; i++) {
		d2 += (g[i] - nf[i]) * (g[i] - nf[i]);
		a2 += g[i] * g[i];
		n2 += nf[i] * nf[i];
	}
	printf("engine relative error vs backprop: %.3g\n", sqrt(d2) / (sqrt(a2) + sqrt(n2)));
	if (!naive)
		return 0;
	if (gradcheck_coords(&sn, &run, coords, n, nn, kink) != GC_OK)
		return 1;
	t2 = now_s();
	for (size_t i = 0; i < n; i++) {
		maxd = fmax(maxd, fabs(nf[i] - nn[i]));
		ge = fmax(ge, fabs(nn[i]));
	}
	printf("naive:  %.3f s  (speed-up %.0fx)\n", t2 - t1, (t2 - t1) / (t1 - t0));
	printf("max |engine - naive| = %.3g (max |numeric| %.3g; noise floor |J| u/eps = %.3g)\n",
	       maxd, ge, mc->cost * 2.2e-16 / 1e-7);
	mlp_cache_free(mc);
	return 0;
}
