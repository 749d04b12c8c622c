/* core/rng: the numpy stream against numpy's own outputs (fixtures from
 * tests/fixtures/make_numpy_fixtures.py), the fast stream against a reference
 * written from the paper, and the distributions against their moments. */
#include <check.h>
#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "tests/lib/fixture.h"

static cJSON *fx;

static uint32_t fx_seed(const cJSON *c)
{
	return (uint32_t)cJSON_GetObjectItemCaseSensitive(c, "seed")->valuedouble;
}

/* ---- numpy stream ------------------------------------------------------ */

START_TEST(mt19937_matches_numpy_raw_outputs)
{
	const cJSON *c = fixture_case(fx, "mt19937", _i), *v;
	struct rng r;
	uint32_t out[10000];
	int k = 0;

	rng_seed(&r, RNG_NUMPY, fx_seed(c));
	for (int i = 0; i < 10000; i++)
		out[i] = rng_u32(&r);
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c, "first"))
		ck_assert_uint_eq(out[k++], (uint32_t)v->valuedouble);
	k = 620;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c, "around_refill"))
		ck_assert_uint_eq(out[k++], (uint32_t)v->valuedouble);
	ck_assert_uint_eq(out[9999], (uint32_t)cJSON_GetObjectItemCaseSensitive(
		c, "index_9999")->valuedouble);
}
END_TEST

START_TEST(mt19937_reference_seed_5489_gives_the_published_10000th_output)
{
	struct rng r;
	uint32_t x = 0;

	/* the C++11 standard's check value for mt19937 */
	rng_seed(&r, RNG_NUMPY, 5489);
	for (int i = 0; i < 10000; i++)
		x = rng_u32(&r);
	ck_assert_uint_eq(x, 4123659995u);
}
END_TEST

START_TEST(random_sample_is_bit_identical_to_numpy)
{
	const cJSON *c = fixture_case(fx, "random_sample", _i), *v;
	struct rng r;
	int k = 0;

	rng_seed(&r, RNG_NUMPY, fx_seed(c));
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c, "values")) {
		double got = rng_double(&r);

		ck_assert_msg(got == v->valuedouble, "value %d: %.17g != %.17g",
			      k, got, v->valuedouble);
		k++;
	}
	ck_assert_int_eq(k, 9);
}
END_TEST

START_TEST(gauss_is_bit_identical_to_numpy_across_the_cached_pair)
{
	const cJSON *c = fixture_case(fx, "gauss", _i), *v;
	struct rng r;
	double buf[7];
	int k = 0;

	rng_seed(&r, RNG_NUMPY, fx_seed(c));
	/* numpy: randn(7) then randn(): the cache carries between calls */
	rng_fill_gauss(&r, buf, 7, 1.0);
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c, "values")) {
		double got = k < 7 ? buf[k] : rng_gauss(&r);

		ck_assert_msg(got == v->valuedouble, "value %d: %.17g != %.17g",
			      k, got, v->valuedouble);
		k++;
	}
	ck_assert_int_eq(k, 8);
}
END_TEST

START_TEST(reseeding_drops_the_cached_gauss)
{
	struct rng a, b;

	rng_seed(&a, RNG_NUMPY, 9);
	(void)rng_gauss(&a);
	ck_assert(a.has_gauss);
	rng_seed(&a, RNG_NUMPY, 9);
	rng_seed(&b, RNG_NUMPY, 9);
	ck_assert(!a.has_gauss);
	ck_assert(rng_gauss(&a) == rng_gauss(&b));
}
END_TEST

/* ---- fast stream ------------------------------------------------------- */

START_TEST(xoshiro_seeding_and_outputs_match_the_reference)
{
	const cJSON *c = fixture_case(fx, "xoshiro256ss", _i), *v;
	struct rng r;
	int k = 0;

	rng_seed(&r, RNG_FAST, fx_seed(c));
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c, "state_hex")) {
		ck_assert_uint_eq(r.s[k], strtoull(v->valuestring, NULL, 16));
		k++;
	}
	k = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c, "u32")) {
		ck_assert_uint_eq(rng_u32(&r), (uint32_t)v->valuedouble);
		k++;
	}
	ck_assert_int_eq(k, 8);
}
END_TEST

START_TEST(splitmix64_of_seed_zero_gives_the_published_first_output)
{
	struct rng r;

	rng_seed(&r, RNG_FAST, 0);
	ck_assert_uint_eq(r.s[0], UINT64_C(0xe220a8397b1dcdaf));
}
END_TEST

START_TEST(same_seed_same_stream_different_seed_different_stream)
{
	enum rng_kind kind = _i ? RNG_FAST : RNG_NUMPY;
	struct rng a, b, c;
	int same_ab = 1, same_ac = 1;

	rng_seed(&a, kind, 12345);
	rng_seed(&b, kind, 12345);
	rng_seed(&c, kind, 12346);
	for (int i = 0; i < 1000; i++) {
		double x = rng_gauss(&a), y = rng_gauss(&b), z = rng_gauss(&c);

		same_ab &= x == y;
		same_ac &= x == z;
	}
	ck_assert(same_ab);
	ck_assert(!same_ac);
}
END_TEST

/* ---- distributions ----------------------------------------------------- */

struct moments {
	double mean, var, kurt, min, max;
};

static struct moments moments_of(const double *v, size_t n)
{
	struct moments m = { 0, 0, 0, INFINITY, -INFINITY };
	double m4 = 0;

	for (size_t i = 0; i < n; i++) {
		m.mean += v[i];
		if (v[i] < m.min)
			m.min = v[i];
		if (v[i] > m.max)
			m.max = v[i];
	}
	m.mean /= (double)n;
	for (size_t i = 0; i < n; i++) {
		double d = v[i] - m.mean;

		m.var += d * d;
		m4 += d * d * d * d;
	}
	m.var /= (double)n;
	m.kurt = m4 / (double)n / (m.var * m.var);
	return m;
}

static double phi_cdf(double x)
{
	return 0.5 * erfc(-x / sqrt(2.0));
}

#define NDRAW 400000

START_TEST(gaussian_draws_have_normal_moments_and_cdf)
{
	enum rng_kind kind = _i ? RNG_FAST : RNG_NUMPY;
	static const double at[] = { -3.9, -3.0, -2.0, -1.0, -0.3, 0.0, 0.5,
				     1.5, 2.5, 3.7 };
	double *v = malloc(NDRAW * sizeof *v);
	struct rng r;
	struct moments m;

	ck_assert_ptr_nonnull(v);
	rng_seed(&r, kind, 2024);
	rng_fill_gauss(&r, v, NDRAW, 1.0);
	m = moments_of(v, NDRAW);
	/* sd of the mean 1/sqrt(n) = 0.0016; of the variance sqrt(2/n) =
	 * 0.0022; of the kurtosis sqrt(24/n) = 0.0077: bounds at ~6 sd */
	ck_assert_double_le(fabs(m.mean), 0.01);
	ck_assert_double_le(fabs(m.var - 1.0), 0.014);
	ck_assert_double_le(fabs(m.kurt - 3.0), 0.05);
	/* empirical CDF against Phi, 6 binomial sd, including the ziggurat's
	 * tail beyond r = 3.654 */
	for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
		double p = phi_cdf(at[k]), cnt = 0;

		for (size_t i = 0; i < NDRAW; i++)
			cnt += v[i] <= at[k];
		ck_assert_msg(fabs(cnt / NDRAW - p) <=
			      6 * sqrt(p * (1 - p) / NDRAW) + 1e-6,
			      "P(z <= %g) = %g, want %g", at[k], cnt / NDRAW, p);
	}
	free(v);
}
END_TEST

START_TEST(uniform_draws_stay_in_range_with_uniform_moments)
{
	enum rng_kind kind = _i ? RNG_FAST : RNG_NUMPY;
	double *v = malloc(NDRAW * sizeof *v);
	struct rng r;
	struct moments m;

	ck_assert_ptr_nonnull(v);
	rng_seed(&r, kind, 77);
	rng_fill_uniform(&r, v, NDRAW, -3.0, 3.0);
	m = moments_of(v, NDRAW);
	ck_assert_double_ge(m.min, -3.0);
	ck_assert_double_lt(m.max, 3.0);
	ck_assert_double_le(fabs(m.mean), 6 * sqrt(3.0 / NDRAW));
	ck_assert_double_le(fabs(m.var - 3.0), 0.02);
	ck_assert_double_le(fabs(m.kurt - 1.8), 0.02);
	free(v);
}
END_TEST

START_TEST(truncated_draws_are_bounded_with_the_requested_std)
{
	enum rng_kind kind = _i ? RNG_FAST : RNG_NUMPY;
	double *v = malloc(NDRAW * sizeof *v), a = 2.0;
	double pdf = exp(-a * a / 2) / sqrt(2 * M_PI), p = erf(a / sqrt(2.0));
	/* moments of N(0,1) cut to [-a, a], by parts */
	double m2 = (p - 2 * a * pdf) / p;
	double m4 = (3 * (p - 2 * a * pdf) - 2 * a * a * a * pdf) / p;
	struct rng r;
	struct moments m;

	ck_assert_ptr_nonnull(v);
	ck_assert_double_le(fabs(sqrt(m2) - RNG_TRUNC2_STD), 1e-15);
	rng_seed(&r, kind, 5);
	rng_fill_truncated(&r, v, NDRAW, 0.5);
	m = moments_of(v, NDRAW);
	ck_assert_double_ge(m.min, -2.0 / RNG_TRUNC2_STD * 0.5);
	ck_assert_double_le(m.max, 2.0 / RNG_TRUNC2_STD * 0.5);
	ck_assert_double_le(fabs(m.mean), 0.005);
	ck_assert_double_le(fabs(sqrt(m.var) - 0.5), 0.005);
	ck_assert_double_le(fabs(m.kurt - m4 / (m2 * m2)), 0.03);
	free(v);
}
END_TEST

/* The ziggurat's rare paths (wedges: ~1.2% of draws; tail beyond r:
 * ~0.03%) barely move moments; a fine-binned chi-square and the mean excess
 * over r of the tail draws see them. */
START_TEST(ziggurat_matches_phi_in_fine_bins_and_in_the_tail)
{
	enum { N = 20000000, NB = 400 };
	const double lo = -4.0, w = 8.0 / NB, r = 3.6541528853610088;
	double *cnt = calloc(NB + 2, sizeof *cnt), chi = 0, excess = 0;
	double q = 0.5 * erfc(r / sqrt(2.0)), m = exp(-r * r / 2) / sqrt(2 * M_PI) / q;
	double want_excess = m - r, var_excess = 1 - r * m + r * r - want_excess * want_excess;
	long tail = 0;
	struct rng g;

	ck_assert_ptr_nonnull(cnt);
	rng_seed(&g, RNG_FAST, 31);
	for (long i = 0; i < N; i++) {
		double z = rng_gauss(&g);
		int b = z < lo ? 0 : z >= -lo ? NB + 1 : 1 + (int)((z - lo) / w);

		cnt[b > NB && z < -lo ? NB : b]++;
		if (fabs(z) > r) {
			excess += fabs(z) - r;
			tail++;
		}
	}
	for (int b = 0; b < NB + 2; b++) {
		double p = b == 0 ? phi_cdf(lo) : b == NB + 1 ? phi_cdf(lo) :
			   phi_cdf(lo + b * w) - phi_cdf(lo + (b - 1) * w);
		double e = p * N;

		chi += (cnt[b] - e) * (cnt[b] - e) / e;
	}
	/* chi-square with NB + 1 degrees of freedom: mean 401, sd 28.3 */
	ck_assert_msg(chi <= (NB + 1) + 6 * sqrt(2.0 * (NB + 1)), "chi2 %g", chi);
	ck_assert_msg(fabs((double)tail / N - 2 * q) <= 6 * sqrt(2 * q / N),
		      "tail fraction %g, want %g", (double)tail / N, 2 * q);
	ck_assert_msg(fabs(excess / (double)tail - want_excess) <=
		      5 * sqrt(var_excess / (double)tail),
		      "mean excess over r %g, want %g", excess / (double)tail, want_excess);
	free(cnt);
}
END_TEST

static Suite *rng_suite(void)
{
	Suite *s = suite_create("rng");
	TCase *np = tcase_create("numpy");
	TCase *fast = tcase_create("fast");
	TCase *dist = tcase_create("distributions");

	tcase_add_loop_test(np, mt19937_matches_numpy_raw_outputs, 0, 4);
	tcase_add_test(np, mt19937_reference_seed_5489_gives_the_published_10000th_output);
	tcase_add_loop_test(np, random_sample_is_bit_identical_to_numpy, 0, 5);
	tcase_add_loop_test(np, gauss_is_bit_identical_to_numpy_across_the_cached_pair, 0, 5);
	tcase_add_test(np, reseeding_drops_the_cached_gauss);
	tcase_add_loop_test(fast, xoshiro_seeding_and_outputs_match_the_reference, 0, 3);
	tcase_add_test(fast, splitmix64_of_seed_zero_gives_the_published_first_output);
	tcase_add_loop_test(fast, same_seed_same_stream_different_seed_different_stream, 0, 2);
	tcase_add_loop_test(dist, gaussian_draws_have_normal_moments_and_cdf, 0, 2);
	tcase_add_loop_test(dist, uniform_draws_stay_in_range_with_uniform_moments, 0, 2);
	tcase_add_loop_test(dist, truncated_draws_are_bounded_with_the_requested_std, 0, 2);
	tcase_add_test(dist, ziggurat_matches_phi_in_fine_bins_and_in_the_tail);
	suite_add_tcase(s, np);
	suite_add_tcase(s, fast);
	suite_add_tcase(s, dist);
	return s;
}

int main(void)
{
	return fixture_main("init_numpy.json", &fx, rng_suite);
}
