/* Times the gradient check's kernels on every instruction set this CPU
 * runs (core/isa.h): exp, tanh and log in ns per value over a 1024-value
 * array (the engine's row length is 16 to 512) against glibc's scalar
 * functions, and mat_mul_add in Gmadd/s on the engine's shapes. Best of 5
 * runs each. With --ulps N: instead, the largest error of each kernel in
 * ulps against long double over N inputs (default 10^7) from the domains
 * of tests/core/test_vmath.c. Build: make build/libgradguard.a && cc -O2
 * -I. bench/bench_kernels.c build/libgradguard.a -lm -o /tmp/bench_kernels */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/isa.h"
#include "core/matrix.h"
#include "core/vmath.h"

#define N 1024
#define REPS 20000

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef void kernel_fn(enum isa, const double *, double *, size_t);

static double time_kernel(kernel_fn *k, double (*libm)(double), enum isa isa,
			  const double *x, double *y)
{
	double best = 1e9;

	for (int run = 0; run < 5; run++) {
		double t0 = now_s();

		for (int r = 0; r < REPS; r++) {
			if (k) {
				k(isa, x, y, N);
			} else {
				for (size_t i = 0; i < N; i++)
					y[i] = libm(x[i]);
			}
		}
		t0 = now_s() - t0;
		if (t0 < best)
			best = t0;
	}
	return best / ((double)REPS * N) * 1e9;
}

static double time_mul(enum isa isa, size_t m, size_t k, size_t n)
{
	double *a = malloc(m * k * sizeof(double)), *b = malloc(k * n * sizeof(double));
	double *c = calloc(m * n, sizeof(double)), best = 1e9;
	size_t reps = 400000000 / (m * k * n) + 1;

	if (!a || !b || !c)
		exit(1);
	for (size_t i = 0; i < m * k; i++)
		a[i] = 1.0 / (double)(i + 1);
	for (size_t i = 0; i < k * n; i++)
		b[i] = 1.0 / (double)(i + 3);
	for (int run = 0; run < 5; run++) {
		double t0 = now_s();

		for (size_t r = 0; r < reps; r++)
			mat_mul_add_isa(isa, m, k, n, a, k, b, n, c, n);
		t0 = now_s() - t0;
		if (t0 < best)
			best = t0;
	}
	free(a);
	free(b);
	free(c);
	return (double)(m * k * n) * (double)reps / best / 1e9;
}

static unsigned long long lcg = 1;

static double unit(void)
{
	lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(lcg >> 11) / 9007199254740992.0;
}

/* f: 0 exp, 1 tanh, 2 log; the test's domains (see test_vmath.c). */
static double draw(int f)
{
	double u = unit(), v = unit();

	if (f == 0)
		return u < 0.5 ? -40.0 * v : u < 0.75 ? -746.0 * v : 710.0 * v;
	if (f == 1)
		return u < 0.5 ? 10.0 * v - 5.0 : (u < 0.75 ? 1 : -1) * exp2(35.0 * v - 30.0);
	return u < 0.5 ? 1.0 + 999.0 * v : u < 0.75 ? 0.5 + 1.5 * v : exp2(2098.0 * v - 1074.0);
}

/* |got - exact| in units of the last place of exact (subnormal ulps below
 * 2^-1022). */
static double ulp_error(double got, long double exact)
{
	int e;

	if (!isfinite(got) || exact == 0)
		return 0;
	frexpl(exact, &e);
	return (double)(fabsl((long double)got - exact) /
			(fabsl(exact) < 0x1p-1022L ? 0x1p-1074L : ldexpl(1.0L, e - 53)));
}

static void ulps(const char *const *names, kernel_fn **k, size_t total)
{
	long double (*ref[])(long double) = {expl, tanhl, logl};

	for (int f = 0; f < 3; f++) {
		double worst = 0, at = 0;

		lcg = 1;
		for (size_t done = 0; done < total; done += N) {
			static double x[N], y[N];

			for (size_t i = 0; i < N; i++)
				x[i] = draw(f);
			k[f](ISA_BEST, x, y, N);
			for (size_t i = 0; i < N; i++) {
				double d = ulp_error(y[i], ref[f](x[i]));

				if (d > worst) {
					worst = d;
					at = x[i];
				}
			}
		}
		printf("%-5s largest error %.3f ulp at %a (%zu inputs)\n", names[f], worst, at,
		       total);
	}
}

int main(int argc, char **argv)
{
	static const char *const isa_names[] = {"baseline", "avx2", "avx512"};
	static const char *const fn_names[] = {"exp", "tanh", "log"};
	static const size_t shapes[][3] = {{64, 64, 512}, {10, 64, 512}, {64, 784, 16}};
	kernel_fn *k[] = {vm_exp_isa, vm_tanh_isa, vm_log_isa};
	double (*libm[])(double) = {exp, tanh, log};
	double *x = malloc(N * sizeof(double)), *y = malloc(N * sizeof(double));
	unsigned long long s = 1;

	if (!x || !y)
		return 1;
	if (argc > 1 && strcmp(argv[1], "--ulps") == 0) {
		ulps(fn_names, k, argc > 2 ? (size_t)atol(argv[2]) : 10000000);
		return 0;
	}
	for (int f = 0; f < 3; f++) {
		for (size_t i = 0; i < N; i++) {
			double u;

			s = s * 6364136223846793005ull + 1442695040888963407ull;
			u = (double)(s >> 11) / 9007199254740992.0;
			/* softmax shifts; pre-activations; sums of exponentials */
			x[i] = f == 0 ? -30.0 * u : f == 1 ? 6.0 * u - 3.0 : 1.0 + 9.0 * u;
		}
		printf("%-5s glibc %.2f ns/value", fn_names[f], time_kernel(NULL, libm[f], ISA_BASELINE, x, y));
		for (int isa = ISA_BASELINE; isa <= (int)isa_best(); isa++)
			printf("  %s %.2f", isa_names[isa], time_kernel(k[f], NULL, (enum isa)isa, x, y));
		printf("\n");
	}
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		printf("mat_mul_add %zux%zux%zu Gmadd/s:", shapes[i][0], shapes[i][1], shapes[i][2]);
		for (int isa = ISA_BASELINE; isa <= (int)isa_best(); isa++)
			printf("  %s %.2f", isa_names[isa],
			       time_mul((enum isa)isa, shapes[i][0], shapes[i][1], shapes[i][2]));
		printf("\n");
	}
	free(x);
	free(y);
	return 0;
}
