/* core/matrix: blocked kernels against plain triple loops. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/matrix.h"
#include "tests/lib/suite_run.h"

static uint64_t lcg = 88172645463325252ull;

static double rnd(void)
{
	lcg ^= lcg << 13;
	lcg ^= lcg >> 7;
	lcg ^= lcg << 17;
	return (double)(lcg >> 11) / 9007199254740992.0 - 0.5;
}

static const size_t shapes[][3] = {
	{1, 1, 1}, {3, 5, 7}, {17, 67, 5}, {64, 130, 300}, {5, 1, 513}, {70, 200, 3},
	{10, 64, 37}, {13, 9, 520},
};

static void fill(double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = rnd();
}

START_TEST(mul_add_matches_the_triple_loop_exactly)
{
	size_t m = shapes[_i][0], k = shapes[_i][1], n = shapes[_i][2];
	double *a = malloc(m * k * sizeof(double)), *b = malloc(k * n * sizeof(double));
	double *c = malloc(m * n * sizeof(double)), *r = malloc(m * n * sizeof(double));

	fill(a, m * k);
	fill(b, k * n);
	fill(c, m * n);
	for (size_t i = 0; i < m * n; i++)
		r[i] = c[i];
	/* every instruction set's loop, each from the same c */
	for (int isa = ISA_BASELINE; isa <= (int)isa_best(); isa++) {
		memcpy(c, r, m * n * sizeof(double));
		mat_mul_add_isa((enum isa)isa, m, k, n, a, k, b, n, c, n);
		for (size_t i = 0; i < m; i++)
			for (size_t j = 0; j < n; j++) {
				double s = r[i * n + j];

				for (size_t t = 0; t < k; t++)
					s += a[i * k + t] * b[t * n + j];
				/* same summation order: bit-identical */
				ck_assert_msg(s == c[i * n + j],
					      "isa %d (%zu,%zu) %.17g vs %.17g", isa,
					      i, j, c[i * n + j], s);
			}
	}
	free(a);
	free(b);
	free(c);
	free(r);
}
END_TEST

START_TEST(mul_nt_and_mul_tn_match_the_triple_loop)
{
	size_t m = shapes[_i][0], k = shapes[_i][1], n = shapes[_i][2];
	double *a = malloc(m * k * sizeof(double)), *b = malloc(n * k * sizeof(double));
	double *c = malloc(m * n * sizeof(double));
	double *at = malloc(k * m * sizeof(double)), *b2 = malloc(k * n * sizeof(double));

	fill(a, m * k);
	fill(b, n * k);
	mat_mul_nt(m, k, n, a, b, c);
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++) {
			double s = 0;

			for (size_t t = 0; t < k; t++)
				s += a[i * k + t] * b[j * k + t];
			ck_assert_double_eq_tol(c[i * n + j], s, 1e-13);
		}
	fill(at, k * m);
	fill(b2, k * n);
	mat_mul_tn(m, k, n, at, b2, c);
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++) {
			double s = 0;

			for (size_t t = 0; t < k; t++)
				s += at[t * m + i] * b2[t * n + j];
			ck_assert_double_eq_tol(c[i * n + j], s, 1e-13);
		}
	free(a);
	free(b);
	free(c);
	free(at);
	free(b2);
}
END_TEST

START_TEST(transpose_swaps_indices)
{
	double a[6 * 35], t[35 * 6];

	fill(a, 6 * 35);
	mat_transpose(a, 6, 35, t);
	for (size_t i = 0; i < 6; i++)
		for (size_t j = 0; j < 35; j++)
			ck_assert(t[j * 6 + i] == a[i * 35 + j]);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("matrix");
	TCase *tc = tcase_create("core");
	int ns = (int)(sizeof(shapes) / sizeof(shapes[0]));

	tcase_add_loop_test(tc, mul_add_matches_the_triple_loop_exactly, 0, ns);
	tcase_add_loop_test(tc, mul_nt_and_mul_tn_match_the_triple_loop, 0, ns);
	tcase_add_test(tc, transpose_swaps_indices);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(suite());
}
