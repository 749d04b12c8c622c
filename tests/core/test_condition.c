/* core/condition: symmetric eigenvalues against matrices with known spectra,
 * second-moment condition numbers against hand-computed values. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "core/condition.h"
#include "tests/lib/suite_run.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* a = H diag(w) H with H = I - 2 v v^T / (v^T v), a Householder reflector:
 * symmetric with eigenvalues exactly w. */
static void with_spectrum(double *a, const double *w, const double *v,
			  size_t n)
{
	double vv = 0, h[64];

	for (size_t i = 0; i < n; i++)
		vv += v[i] * v[i];
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			h[i * n + j] = (i == j) - 2 * v[i] * v[j] / vv;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			double s = 0;

			for (size_t k = 0; k < n; k++)
				s += h[i * n + k] * w[k] * h[k * n + j];
			a[i * n + j] = s;
		}
}

static const struct {
	size_t n;
	double w[6];
	double v[6];
} spectra[] = {
	{ 2, { 1, 3 }, { 1, 1 } },
	{ 3, { 0.5, 2, 7 }, { 1, -2, 0.5 } },
	{ 4, { 1e-6, 1, 1, 1e3 }, { 0.3, 0.1, -1, 2 } },  /* repeated, spread */
	{ 6, { 1, 2, 3, 4, 5, 6 }, { 1, 1, 1, 1, 1, 1 } },
	{ 1, { 4.5 }, { 1 } },
};

START_TEST(eigenvalues_match_a_known_spectrum)
{
	size_t n = spectra[_i].n;
	double a[64], w[8], want[8];

	with_spectrum(a, spectra[_i].w, spectra[_i].v, n);
	ck_assert_int_eq(condition_eigenvalues(a, n, w), 0);
	for (size_t i = 0; i < n; i++)
		want[i] = spectra[_i].w[i];
	qsort(want, n, sizeof(double), cmp_double);   /* w comes sorted */
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fabs(w[i] - want[i]) <= 1e-12 * want[n - 1],
			      "eigenvalue %zu: %.17g want %.17g", i, w[i],
			      want[i]);
}
END_TEST

START_TEST(eigenvalues_of_a_diagonal_matrix_are_its_diagonal)
{
	double a[9] = { 3, 0, 0, 0, 1, 0, 0, 0, 2 }, w[3];

	ck_assert_int_eq(condition_eigenvalues(a, 3, w), 0);
	ck_assert_double_eq(w[0], 1);
	ck_assert_double_eq(w[1], 2);
	ck_assert_double_eq(w[2], 3);
}
END_TEST

/* A 40 x 40 matrix H diag(1..40) H: trace and the extreme eigenvalues. */
START_TEST(eigenvalues_of_a_larger_matrix_with_known_spectrum)
{
	enum { N = 40 };
	static double a[N * N], h[N * N];
	double w[N], v[N], vv = 0;

	for (size_t i = 0; i < N; i++) {
		v[i] = sin((double)i + 1) + 0.1;
		vv += v[i] * v[i];
	}
	for (size_t i = 0; i < N; i++)
		for (size_t j = 0; j < N; j++)
			h[i * N + j] = (i == j) - 2 * v[i] * v[j] / vv;
	for (size_t i = 0; i < N; i++)
		for (size_t j = 0; j < N; j++) {
			double s = 0;

			for (size_t k = 0; k < N; k++)
				s += h[i * N + k] * (double)(k + 1) * h[k * N + j];
			a[i * N + j] = s;
		}
	ck_assert_int_eq(condition_eigenvalues(a, N, w), 0);
	for (size_t i = 0; i < N; i++)
		ck_assert_msg(fabs(w[i] - (double)(i + 1)) < 1e-12 * N,
			      "w[%zu] = %.17g", i, w[i]);
}
END_TEST

START_TEST(second_moment_condition_of_hand_computed_data)
{
	/* rows (1,0), (0,2): (1/2) X^T X = diag(1/2, 2), kappa = 4 */
	const double x[] = { 1, 0, 0, 2 };
	/* rows (1,1), (1,-1): (1/2) X^T X = I, kappa = 1 */
	const double y[] = { 1, 1, 1, -1 };
	/* rows (2,1),(0,1): (1/2)[[4,2],[2,2]] = [[2,1],[1,1]], eig (3±√5)/2 */
	const double z[] = { 2, 1, 0, 1 };
	double k;
	size_t used;

	ck_assert_int_eq(condition_second_moment(x, 2, 2, NULL, NULL, &k,
						 &used), COND_OK);
	ck_assert_uint_eq(used, 2);
	ck_assert_msg(fabs(k - 4) < 1e-15, "%.17g", k);
	ck_assert_int_eq(condition_second_moment(y, 2, 2, NULL, NULL, &k,
						 NULL), COND_OK);
	ck_assert_msg(fabs(k - 1) < 1e-15, "%.17g", k);
	ck_assert_int_eq(condition_second_moment(z, 2, 2, NULL, NULL, &k,
						 NULL), COND_OK);
	ck_assert_msg(fabs(k - (3 + sqrt(5)) / (3 - sqrt(5))) < 1e-13, "%.17g",
		      k);
}
END_TEST

START_TEST(second_moment_applies_mean_and_scale_first)
{
	/* z = (x - (10, 0)) / (1, 4): rows (1,0), (0,2) as above -> 4 */
	const double x[] = { 11, 0, 10, 8 };
	const double mean[] = { 10, 0 }, scale[] = { 1, 4 };
	double k;

	ck_assert_int_eq(condition_second_moment(x, 2, 2, mean, scale, &k,
						 NULL), COND_OK);
	ck_assert_msg(fabs(k - 4) < 1e-15, "%.17g", k);
}
END_TEST

START_TEST(second_moment_uses_complete_rows_only)
{
	const double x[] = { 1, 0, NAN, 5, 0, 2, 7, NAN };
	double k;
	size_t used;

	ck_assert_int_eq(condition_second_moment(x, 4, 2, NULL, NULL, &k,
						 &used), COND_OK);
	ck_assert_uint_eq(used, 2);
	ck_assert_msg(fabs(k - 4) < 1e-15, "%.17g", k);
}
END_TEST

START_TEST(second_moment_reports_singular_and_empty)
{
	const double dup[] = { 1, 1, 2, 2, 3, 3 };   /* equal columns */
	const double none[] = { NAN, 1, 2, NAN };
	double k;

	ck_assert_int_eq(condition_second_moment(dup, 3, 2, NULL, NULL, &k,
						 NULL), COND_SINGULAR);
	ck_assert(isinf(k));
	ck_assert_int_eq(condition_second_moment(none, 2, 2, NULL, NULL, &k,
						 NULL), COND_EMPTY);
	ck_assert(isnan(k));
}
END_TEST

START_TEST(normalizing_shrinks_the_condition_number)
{
	/* two uncorrelated features: offsets 100 and -50, spreads 1 and 30 */
	enum { N = 400 };
	double x[2 * N], mean[2] = { 0, 0 }, sd[2] = { 0, 0 }, before, after;

	for (size_t i = 0; i < N; i++) {
		double a = (i % 2) ? 1 : -1, b = ((i / 2) % 2) ? 1 : -1;

		x[2 * i] = 100 + a;
		x[2 * i + 1] = -50 + 30 * b;
	}
	for (size_t i = 0; i < N; i++) {
		mean[0] += x[2 * i] / N;
		mean[1] += x[2 * i + 1] / N;
	}
	for (size_t i = 0; i < N; i++) {
		sd[0] += (x[2 * i] - mean[0]) * (x[2 * i] - mean[0]) / N;
		sd[1] += (x[2 * i + 1] - mean[1]) * (x[2 * i + 1] - mean[1]) / N;
	}
	sd[0] = sqrt(sd[0]);
	sd[1] = sqrt(sd[1]);
	ck_assert_int_eq(condition_second_moment(x, N, 2, NULL, NULL, &before,
						 NULL), COND_OK);
	ck_assert_int_eq(condition_second_moment(x, N, 2, mean, sd, &after,
						 NULL), COND_OK);
	/* the ±1 / ±30 signs are balanced and uncorrelated: z^T z / m = I */
	ck_assert_msg(fabs(after - 1) < 1e-12, "after %.17g", after);
	/* raw: (1/m) X^T X = [[100^2 + 1, -5000], [-5000, 50^2 + 30^2]] */
	{
		double tr = 10001.0 + 3400.0, det = 10001.0 * 3400.0 - 25e6;
		double disc = sqrt(tr * tr - 4 * det);
		double want = (tr + disc) / (tr - disc);

		ck_assert_msg(fabs(before - want) < 1e-10 * want,
			      "before %.17g want %.17g", before, want);
		ck_assert_msg(before > 17, "before %.17g", before);
	}
}
END_TEST

static Suite *condition_suite(void)
{
	Suite *s = suite_create("condition");
	TCase *eig = tcase_create("eigenvalues"), *cond = tcase_create("core");

	tcase_add_loop_test(eig, eigenvalues_match_a_known_spectrum, 0,
			    (int)(sizeof(spectra) / sizeof(spectra[0])));
	tcase_add_test(eig, eigenvalues_of_a_diagonal_matrix_are_its_diagonal);
	tcase_add_test(eig, eigenvalues_of_a_larger_matrix_with_known_spectrum);
	tcase_add_test(cond, second_moment_condition_of_hand_computed_data);
	tcase_add_test(cond, second_moment_applies_mean_and_scale_first);
	tcase_add_test(cond, second_moment_uses_complete_rows_only);
	tcase_add_test(cond, second_moment_reports_singular_and_empty);
	tcase_add_test(cond, normalizing_shrinks_the_condition_number);
	suite_add_tcase(s, eig);
	suite_add_tcase(s, cond);
	return s;
}

int main(void)
{
	return suite_run(condition_suite());
}
