/* Times the gradient check's kernels on every instruction set this CPU
 * runs (core/isa.h): exp, tanh and log in ns per value over a 1024-value
 * array (the engine's row length is 16 to 512) against glibc's scalar
 * functions, and mat_mul_add in Gmadd/s on the engine's shapes. Best of 5
 * runs each. Build: make build/libgradguard.a && cc -O2 -I.
 * bench/bench_kernels.c build/libgradguard.a -lm -o /tmp/bench_kernels */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(void)
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
