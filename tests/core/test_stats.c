/* core/stats: hand-computed cases, a long-double two-pass reference (also
 * at offset 1e9), merge identities, missing values, zero variance. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/stats.h"
#include "tests/lib/suite_run.h"

/* splitmix64 (Steele, Lea & Flood 2014): test data without rand(). */
static uint64_t next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15u);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

/* Uniform on [-sqrt 3, sqrt 3): mean 0, variance 1. */
static double next_unit(uint64_t *s)
{
	double u = (double)(next_u64(s) >> 11) * 0x1p-53;

	return (2 * u - 1) * 1.7320508075688772;
}

static double rel_err(double got, double want)
{
	if (got == want)
		return 0;
	return fabs(got - want) / fmax(fabs(want), DBL_MIN);
}

/* Two-pass in long double over column j of x (rows x cols). */
static void reference(const double *x, size_t rows, size_t cols, size_t j,
		      double *mean, double *var)
{
	long double s = 0, m, q = 0;
	size_t n = 0;

	for (size_t i = 0; i < rows; i++)
		if (!isnan(x[i * cols + j])) {
			s += x[i * cols + j];
			n++;
		}
	m = s / (long double)n;
	for (size_t i = 0; i < rows; i++)
		if (!isnan(x[i * cols + j])) {
			long double d = x[i * cols + j] - m;
			q += d * d;
		}
	*mean = (double)m;
	*var = (double)(q / (long double)n);
}

/* n x d data: feature j has offset offs * (j + 1) and spread 1 + j. */
static double *make_data(size_t n, size_t d, double offs, uint64_t seed)
{
	double *x = malloc(n * d * sizeof(double));

	ck_assert_ptr_nonnull(x);
	for (size_t i = 0; i < n * d; i++)
		x[i] = offs * (double)(i % d + 1) +
		       (double)(1 + i % d) * next_unit(&seed);
	return x;
}

static struct stats *fit(const double *x, size_t n, size_t d)
{
	struct stats *s = stats_new(d);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(stats_add(s, x, n, d), STATS_OK);
	return s;
}

/* Batches of sizes 1 .. max_batch drawn from seed, added one at a time. */
static struct stats *fit_batches(const double *x, size_t n, size_t d,
				 size_t max_batch, uint64_t seed)
{
	struct stats *s = stats_new(d);
	size_t i = 0;

	ck_assert_ptr_nonnull(s);
	while (i < n) {
		size_t b = 1 + (size_t)(next_u64(&seed) % max_batch);

		if (b > n - i)
			b = n - i;
		ck_assert_int_eq(stats_add(s, x + i * d, b, d), STATS_OK);
		i += b;
	}
	return s;
}

/* ---- hand-computed ---------------------------------------------------- */

static const struct {
	size_t n;
	double x[6];
	double mean, var, scale;
} hand[] = {
	{ 4, { 1, 2, 3, 4 }, 2.5, 1.25, 1.118033988749895 },
	{ 2, { -1, 1 }, 0, 1, 1 },
	{ 3, { 2, 4, 9 }, 5, 26.0 / 3, 2.943920288775949 },
	{ 1, { 7 }, 7, 0, 1 },  /* one sample: zero variance, scale 1 */
	{ 5, { 1e9, 1e9 + 2, 1e9, 1e9 + 2, 1e9 + 1 }, 1e9 + 1, 0.8,
	  0.894427190999916 },
};

START_TEST(stats_match_hand_computed_values)
{
	struct stats *s = fit(hand[_i].x, hand[_i].n, 1);
	double var, scale;

	stats_var(s, &var);
	stats_scale(s, &scale, NULL);
	ck_assert_uint_eq(s->count[0], hand[_i].n);
	ck_assert_msg(rel_err(s->mean[0], hand[_i].mean) < 1e-15,
		      "mean %.17g want %.17g", s->mean[0], hand[_i].mean);
	ck_assert_msg(fabs(var - hand[_i].var) <= 1e-15 * hand[_i].var,
		      "var %.17g want %.17g", var, hand[_i].var);
	ck_assert_msg(rel_err(scale, hand[_i].scale) < 1e-15,
		      "scale %.17g want %.17g", scale, hand[_i].scale);
	stats_free(s);
}
END_TEST

START_TEST(stats_two_features_are_independent)
{
	const double x[] = { 1, 10, 3, 30 };
	struct stats *s = fit(x, 2, 2);
	double var[2];

	stats_var(s, var);
	ck_assert_double_eq(s->mean[0], 2);
	ck_assert_double_eq(s->mean[1], 20);
	ck_assert_double_eq(var[0], 1);
	ck_assert_double_eq(var[1], 100);
	stats_free(s);
}
END_TEST

/* ---- accuracy against a long-double two-pass reference --------------- */

static const double offsets[] = { 0, 1e3, 1e6, 1e9 };

START_TEST(stats_fit_matches_long_double_two_pass)
{
	const size_t n = 100000, d = 3;
	double *x = make_data(n, d, offsets[_i], 11 + (uint64_t)_i);
	struct stats *s = fit(x, n, d);
	double var[3], rm, rv;

	stats_var(s, var);
	for (size_t j = 0; j < d; j++) {
		reference(x, n, d, j, &rm, &rv);
		ck_assert_msg(rel_err(var[j], rv) < 1e-11,
			      "offset %g feature %zu: var %.17g ref %.17g",
			      offsets[_i], j, var[j], rv);
		ck_assert_msg(fabs(s->mean[j] - rm) <= 1e-15 * fabs(rm) + 1e-15,
			      "mean %.17g ref %.17g", s->mean[j], rm);
	}
	stats_free(s);
	free(x);
}
END_TEST

START_TEST(stats_partial_fit_in_many_batches_matches_two_pass)
{
	const size_t n = 100000, d = 3;
	double *x = make_data(n, d, offsets[_i], 23 + (uint64_t)_i);
	/* ~1000 batches of 1..200 rows, and ~50000 of 1..3 rows */
	struct stats *a = fit_batches(x, n, d, 200, 5);
	struct stats *b = fit_batches(x, n, d, 3, 6);
	double va[3], vb[3], rm, rv;

	stats_var(a, va);
	stats_var(b, vb);
	for (size_t j = 0; j < d; j++) {
		reference(x, n, d, j, &rm, &rv);
		ck_assert_uint_eq(a->count[j], n);
		ck_assert_msg(rel_err(va[j], rv) < 1e-11,
			      "offset %g feature %zu: var %.17g ref %.17g",
			      offsets[_i], j, va[j], rv);
		ck_assert_msg(rel_err(vb[j], rv) < 1e-11,
			      "small batches, offset %g feature %zu: %.17g ref %.17g",
			      offsets[_i], j, vb[j], rv);
		ck_assert_msg(fabs(a->mean[j] - rm) <= 4e-15 * fabs(rm) + 1e-14,
			      "mean %.17g ref %.17g", a->mean[j], rm);
	}
	stats_free(a);
	stats_free(b);
	free(x);
}
END_TEST

/* ---- identities ------------------------------------------------------- */

START_TEST(stats_partial_fit_over_random_splits_equals_fit)
{
	const size_t n = 3000, d = 4;
	double *x = make_data(n, d, 10, 100 + (uint64_t)_i);
	struct stats *all = fit(x, n, d);
	struct stats *parts = fit_batches(x, n, d, 1 + 50 * (size_t)_i, 7);
	double v1[4], v2[4];

	stats_var(all, v1);
	stats_var(parts, v2);
	for (size_t j = 0; j < d; j++) {
		ck_assert_uint_eq(parts->count[j], all->count[j]);
		ck_assert_msg(rel_err(parts->mean[j], all->mean[j]) < 1e-14,
			      "mean %.17g vs %.17g", parts->mean[j], all->mean[j]);
		ck_assert_msg(rel_err(v2[j], v1[j]) < 1e-12,
			      "var %.17g vs %.17g", v2[j], v1[j]);
	}
	stats_free(all);
	stats_free(parts);
	free(x);
}
END_TEST

START_TEST(stats_merge_is_order_independent)
{
	const size_t n = 2000, d = 2, k = 10, per = n / k;
	double *x = make_data(n, d, 1e4, 77);
	struct stats *fwd = stats_new(d), *rev = stats_new(d), *tree, *part[10];
	double vf[2], vr[2], vt[2];

	ck_assert_ptr_nonnull(fwd);
	ck_assert_ptr_nonnull(rev);
	for (size_t b = 0; b < k; b++)
		part[b] = fit(x + b * per * d, per, d);
	for (size_t b = 0; b < k; b++) {
		ck_assert_int_eq(stats_merge(fwd, part[b]), STATS_OK);
		ck_assert_int_eq(stats_merge(rev, part[k - 1 - b]), STATS_OK);
	}
	/* pairwise tree: ((0,1),(2,3)),... */
	for (size_t step = 1; step < k; step *= 2)
		for (size_t b = 0; b + step < k; b += 2 * step)
			stats_merge(part[b], part[b + step]);
	tree = part[0];
	stats_var(fwd, vf);
	stats_var(rev, vr);
	stats_var(tree, vt);
	for (size_t j = 0; j < d; j++) {
		ck_assert_uint_eq(tree->count[j], n);
		ck_assert_msg(rel_err(vr[j], vf[j]) < 1e-12, "%.17g %.17g",
			      vr[j], vf[j]);
		ck_assert_msg(rel_err(vt[j], vf[j]) < 1e-12, "%.17g %.17g",
			      vt[j], vf[j]);
		ck_assert_msg(rel_err(rev->mean[j], fwd->mean[j]) < 1e-14,
			      "%.17g %.17g", rev->mean[j], fwd->mean[j]);
	}
	for (size_t b = 0; b < k; b++)
		stats_free(part[b]);
	stats_free(fwd);
	stats_free(rev);
	free(x);
}
END_TEST

START_TEST(stats_inverse_of_transform_is_identity)
{
	const size_t n = 500, d = 3;
	double *x = make_data(n, d, 1e3, 9), *y = malloc(n * d * sizeof(double));
	struct stats *s = fit(x, n, d);
	double scale[3];

	ck_assert_ptr_nonnull(y);
	stats_scale(s, scale, NULL);
	for (size_t i = 0; i < n * d; i++)
		y[i] = x[i];
	stats_transform(y, n, d, s->mean, scale);
	/* transformed data has mean 0 and variance 1 */
	{
		struct stats *z = fit(y, n, d);
		double vz[3];

		stats_var(z, vz);
		for (size_t j = 0; j < d; j++) {
			ck_assert_msg(fabs(z->mean[j]) < 1e-12, "%.17g", z->mean[j]);
			ck_assert_msg(fabs(vz[j] - 1) < 1e-12, "%.17g", vz[j]);
		}
		stats_free(z);
	}
	stats_inverse(y, n, d, s->mean, scale);
	for (size_t i = 0; i < n * d; i++)
		ck_assert_msg(rel_err(y[i], x[i]) < 1e-13, "%zu: %.17g vs %.17g",
			      i, y[i], x[i]);
	stats_free(s);
	free(x);
	free(y);
}
END_TEST

START_TEST(stats_transform_skips_steps_given_null)
{
	double x[] = { 1, 2, 3, 4 };
	const double mean[] = { 1, 1 }, scale[] = { 2, 4 };

	stats_transform(x, 2, 2, NULL, scale);   /* with_mean false */
	ck_assert_double_eq(x[0], 0.5);
	ck_assert_double_eq(x[3], 1);
	stats_transform(x, 2, 2, mean, NULL);    /* with_std false */
	ck_assert_double_eq(x[0], -0.5);
	ck_assert_double_eq(x[1], -0.5);
	stats_inverse(x, 2, 2, mean, scale);
	ck_assert_double_eq(x[0], 0);
	ck_assert_double_eq(x[1], -1);
}
END_TEST

/* ---- missing values and zero variance --------------------------------- */

START_TEST(stats_skip_nan_cells_with_per_feature_counts)
{
	const double x[] = {
		1, NAN, 5,
		3, 10, NAN,
		NAN, 20, NAN,
		5, 30, NAN,
	};
	struct stats *s = fit(x, 4, 3);
	double var[3], scale[3], y[3] = { NAN, 20, 5 };
	uint64_t n;

	stats_var(s, var);
	ck_assert_uint_eq(s->count[0], 3);
	ck_assert_uint_eq(s->count[1], 3);
	ck_assert_uint_eq(s->count[2], 1);
	ck_assert(!stats_uniform_count(s, &n));
	ck_assert_double_eq(s->mean[0], 3);
	ck_assert_double_eq(s->mean[1], 20);
	ck_assert_double_eq(s->mean[2], 5);
	ck_assert_msg(fabs(var[0] - 8.0 / 3) < 1e-15, "%.17g", var[0]);
	ck_assert_msg(fabs(var[1] - 200.0 / 3) < 1e-13, "%.17g", var[1]);
	ck_assert_double_eq(var[2], 0);
	ck_assert_uint_eq(stats_scale(s, scale, NULL), 1);
	stats_transform(y, 1, 3, s->mean, scale);
	ck_assert(isnan(y[0]));
	ck_assert_double_eq(y[1], 0);
	ck_assert_double_eq(y[2], 0);
	stats_free(s);
}
END_TEST

START_TEST(stats_feature_with_no_values_has_nan_statistics)
{
	const double x[] = { 1, NAN, 2, NAN };
	struct stats *s = fit(x, 2, 2);
	double var[2], scale[2];
	bool constant[2];

	stats_var(s, var);
	stats_scale(s, scale, constant);
	ck_assert_uint_eq(s->count[1], 0);
	ck_assert(isnan(var[1]));
	ck_assert(isnan(scale[1]));
	ck_assert(!constant[1]);
	ck_assert(!stats_valid(s));
	stats_free(s);
}
END_TEST

START_TEST(stats_constant_feature_gets_scale_one)
{
	double x[200 * 2];
	struct stats *s;
	double scale[2], var[2];
	bool constant[2];
	uint64_t seed = 3;

	for (size_t i = 0; i < 200; i++) {
		x[2 * i] = 1e9 + 0.125;            /* exactly constant */
		x[2 * i + 1] = next_unit(&seed);
	}
	s = fit(x, 200, 2);
	stats_var(s, var);
	ck_assert_uint_eq(stats_scale(s, scale, constant), 1);
	ck_assert(constant[0]);
	ck_assert(!constant[1]);
	ck_assert_double_eq(var[0], 0);
	ck_assert_double_eq(scale[0], 1);
	ck_assert_double_eq(s->mean[0], 1e9 + 0.125);
	ck_assert_double_eq(scale[1], sqrt(var[1]));
	stats_free(s);
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

START_TEST(stats_reject_feature_count_mismatch)
{
	const double x[] = { 1, 2, 3 };
	struct stats *a = stats_new(2), *b = stats_new(3);

	ck_assert_int_eq(stats_add(a, x, 1, 3), STATS_SHAPE);
	ck_assert_int_eq(stats_merge(a, b), STATS_SHAPE);
	ck_assert_uint_eq(a->count[0], 0);
	ck_assert_ptr_null(stats_new(0));
	stats_free(a);
	stats_free(b);
	stats_free(NULL);
}
END_TEST

START_TEST(stats_empty_batch_changes_nothing)
{
	const double x[] = { 1, 2, 3, 5 };
	struct stats *s = fit(x, 2, 2), *c = stats_copy(s);

	ck_assert_int_eq(stats_add(s, x, 0, 2), STATS_OK);
	ck_assert_int_eq(stats_merge(s, c), STATS_OK);
	/* merging c (a copy) doubles the counts but keeps mean and var */
	ck_assert_uint_eq(s->count[0], 4);
	ck_assert_double_eq(s->mean[1], 3.5);
	ck_assert_double_eq(s->m2[1], 2 * c->m2[1]);
	stats_reset(c);
	ck_assert_int_eq(stats_merge(s, c), STATS_OK);
	ck_assert_uint_eq(s->count[0], 4);
	ck_assert_double_eq(s->mean[0], 2);
	stats_free(s);
	stats_free(c);
}
END_TEST

/* ---- overflow --------------------------------------------------------- */

static void assert_bitwise_same(const struct stats *a, const struct stats *b)
{
	ck_assert_uint_eq(a->n_features, b->n_features);
	for (size_t j = 0; j < a->n_features; j++) {
		ck_assert_uint_eq(a->count[j], b->count[j]);
		ck_assert_double_eq(a->mean[j], b->mean[j]);
		ck_assert_double_eq(a->mean_lo[j], b->mean_lo[j]);
		ck_assert_double_eq(a->m2[j], b->m2[j]);
	}
}

/* Batches whose M2 exceeds DBL_MAX, with the overflowing feature. */
static const struct {
	double x[4];   /* 2 samples x 2 features */
	size_t bad;
} too_wide[] = {
	{ { 1e200, 1, -1e200, 2 }, 0 },
	{ { 1, DBL_MAX, 2, -DBL_MAX }, 1 },
	{ { DBL_MAX, 0, -DBL_MAX, 0 }, 0 },
	{ { 0, 1e155, 0, -1e155 }, 1 },
};

START_TEST(stats_add_refuses_a_batch_that_overflows)
{
	const double seen[] = { 1, 2, 3, 5 };
	struct stats *s = fit(seen, 2, 2), *before = stats_copy(s);
	struct stats *b = stats_new(2);
	size_t bad = 99;

	ck_assert_int_eq(stats_add(s, too_wide[_i].x, 2, 2), STATS_OVERFLOW);
	assert_bitwise_same(s, before);
	/* stats_batch keeps the overflow for stats_finite to name */
	ck_assert_int_eq(stats_batch(b, too_wide[_i].x, 2, 2), STATS_OK);
	ck_assert(!stats_finite(b, &bad));
	ck_assert_uint_eq(bad, too_wide[_i].bad);
	ck_assert(stats_finite(s, NULL));
	/* into empty statistics as well: nothing is half-written */
	stats_reset(s);
	ck_assert_int_eq(stats_add(s, too_wide[_i].x, 2, 2), STATS_OVERFLOW);
	ck_assert_uint_eq(s->count[0], 0);
	ck_assert_uint_eq(s->count[1], 0);
	stats_free(s);
	stats_free(before);
	stats_free(b);
}
END_TEST

START_TEST(stats_merge_refuses_overflow_and_leaves_dst_unchanged)
{
	/* feature 1 merges fine, feature 0 overflows: neither may change */
	const double xa[] = { 1e154, 1, 1e154, 2 }, xb[] = { -1e154, 3 };
	struct stats *a = fit(xa, 2, 2), *b = fit(xb, 1, 2);
	struct stats *before = stats_copy(a);
	size_t bad = 99;

	ck_assert(stats_finite(a, NULL));
	ck_assert(stats_finite(b, NULL));
	ck_assert(!stats_merge_finite(a, b, &bad));
	ck_assert_uint_eq(bad, 0);
	ck_assert_int_eq(stats_merge(a, b), STATS_OVERFLOW);
	assert_bitwise_same(a, before);
	ck_assert_int_eq(stats_add(a, xb, 1, 2), STATS_OVERFLOW);
	assert_bitwise_same(a, before);
	/* the other order too */
	ck_assert_int_eq(stats_merge(b, a), STATS_OVERFLOW);
	ck_assert_uint_eq(b->count[0], 1);
	ck_assert_double_eq(b->mean[0], -1e154);
	ck_assert_double_eq(b->m2[0], 0);
	stats_free(a);
	stats_free(b);
	stats_free(before);
}
END_TEST

START_TEST(stats_large_values_that_fit_still_work_exactly)
{
	const double x[] = { 1e153, -1e153 };
	const double big = 0.9e154;  /* (2 big)^2 overflows, 2 big^2 fits */
	struct stats *s = fit(x, 2, 1), *a = fit(x, 1, 1), *b = fit(x + 1, 1, 1);
	double var;

	ck_assert_double_eq(s->mean[0], 0);
	stats_var(s, &var);
	ck_assert_double_eq(var, 1e153 * 1e153);
	ck_assert_int_eq(stats_merge(a, b), STATS_OK);
	assert_bitwise_same(a, s);
	/* merging single samples +-big: delta^2 overflows, delta^2 / 2 not */
	stats_reset(a);
	a->count[0] = 1;
	a->mean[0] = big;
	b->mean[0] = -big;
	ck_assert(stats_merge_finite(a, b, NULL));
	ck_assert_int_eq(stats_merge(a, b), STATS_OK);
	ck_assert_uint_eq(a->count[0], 2);
	ck_assert_double_eq(a->mean[0], 0);
	ck_assert_double_eq(a->m2[0], 2 * (big * big));
	ck_assert_double_eq(a->m2[0], 1.62e308);
	stats_free(s);
	stats_free(a);
	stats_free(b);
}
END_TEST

/* A single feature takes its own faster loop: its statistics are those of
 * the same column inside a wider batch, bit for bit, NaN cells, values at
 * the edge of overflow and empty columns included. */
START_TEST(stats_single_feature_batch_equals_its_column_in_a_wide_one)
{
	static const double cols[][6] = {
		{ 1, 2, 4, 8, 16, 32 },
		{ 0.1, NAN, -0.3, 1e-300, 7e5, NAN },
		{ DBL_MAX, DBL_MAX, -1, DBL_MAX, 2, DBL_MAX },
		{ NAN, NAN, NAN, NAN, NAN, NAN },
		{ 1e9 + 0.1, 1e9 + 0.2, 1e9 + 0.3, 1e9, 1e9 - 0.1, 1e9 + 0.7 },
	};
	struct stats *one = stats_new(1), *two = stats_new(2);
	double col[6], wide[12];

	ck_assert_ptr_nonnull(one);
	ck_assert_ptr_nonnull(two);
	for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
		for (size_t i = 0; i < 6; i++) {
			col[i] = wide[2 * i] = cols[c][i];
			wide[2 * i + 1] = (double)i;
		}
		ck_assert_int_eq(stats_batch(one, col, 6, 1), STATS_OK);
		ck_assert_int_eq(stats_batch(two, wide, 6, 2), STATS_OK);
		ck_assert_uint_eq(one->count[0], two->count[0]);
		ck_assert_mem_eq(&one->mean[0], &two->mean[0], sizeof(double));
		ck_assert_mem_eq(&one->mean_lo[0], &two->mean_lo[0], sizeof(double));
		ck_assert_mem_eq(&one->m2[0], &two->m2[0], sizeof(double));
	}
	stats_free(one);
	stats_free(two);
}
END_TEST

START_TEST(stats_mean_of_values_near_dbl_max_does_not_overflow)
{
	/* the sum overflows; the mean and M2 do not */
	const double x[] = { DBL_MAX, -1, DBL_MAX, -3, DBL_MAX, -2,
			     DBL_MAX, -2, DBL_MAX, -2 };
	struct stats *s = fit(x, 5, 2);
	double scale[2];
	bool constant[2];

	ck_assert_double_eq(s->mean[0], DBL_MAX);
	ck_assert_double_eq(s->mean_lo[0], 0);
	ck_assert_double_eq(s->m2[0], 0);
	ck_assert_double_eq(s->mean[1], -2);
	ck_assert_double_eq(s->m2[1], 2);
	for (size_t n = 1; n <= 5; n++) {
		struct stats *t = fit(x, n, 2);

		ck_assert_double_eq(t->mean[0], DBL_MAX);
		ck_assert_double_eq(t->m2[0], 0);
		stats_free(t);
	}
	ck_assert_uint_eq(stats_scale(s, scale, constant), 1);
	ck_assert(constant[0]);
	ck_assert_double_eq(scale[0], 1);
	stats_free(s);
}
END_TEST

START_TEST(stats_scale_never_calls_an_infinite_variance_constant)
{
	struct stats *s = stats_new(1);
	double scale;
	bool constant;

	/* imported by hand: stats_add and stats_merge refuse to make this */
	s->count[0] = 2;
	s->mean[0] = 0;
	s->m2[0] = INFINITY;
	ck_assert(!stats_finite(s, NULL));
	ck_assert_uint_eq(stats_scale(s, &scale, &constant), 0);
	ck_assert(!constant);
	ck_assert(isinf(scale));
	stats_free(s);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *core = tcase_create("core"), *acc = tcase_create("accuracy");
	TCase *id = tcase_create("identities"), *miss = tcase_create("missing");
	TCase *err = tcase_create("errors"), *ovf = tcase_create("overflow");

	tcase_add_loop_test(core, stats_match_hand_computed_values, 0,
			    (int)(sizeof(hand) / sizeof(hand[0])));
	tcase_add_test(core, stats_two_features_are_independent);
	tcase_add_loop_test(acc, stats_fit_matches_long_double_two_pass, 0,
			    (int)(sizeof(offsets) / sizeof(offsets[0])));
	tcase_add_loop_test(acc,
			    stats_partial_fit_in_many_batches_matches_two_pass,
			    0, (int)(sizeof(offsets) / sizeof(offsets[0])));
	tcase_add_loop_test(id, stats_partial_fit_over_random_splits_equals_fit,
			    0, 5);
	tcase_add_test(id, stats_merge_is_order_independent);
	tcase_add_test(id, stats_inverse_of_transform_is_identity);
	tcase_add_test(id, stats_transform_skips_steps_given_null);
	tcase_add_test(miss, stats_skip_nan_cells_with_per_feature_counts);
	tcase_add_test(miss, stats_feature_with_no_values_has_nan_statistics);
	tcase_add_test(miss, stats_constant_feature_gets_scale_one);
	tcase_add_test(err, stats_reject_feature_count_mismatch);
	tcase_add_test(err, stats_empty_batch_changes_nothing);
	suite_add_tcase(s, core);
	suite_add_tcase(s, acc);
	suite_add_tcase(s, id);
	suite_add_tcase(s, miss);
	tcase_add_loop_test(ovf, stats_add_refuses_a_batch_that_overflows, 0,
			    (int)(sizeof(too_wide) / sizeof(too_wide[0])));
	tcase_add_test(ovf,
		       stats_merge_refuses_overflow_and_leaves_dst_unchanged);
	tcase_add_test(ovf, stats_large_values_that_fit_still_work_exactly);
	tcase_add_test(ovf,
		       stats_mean_of_values_near_dbl_max_does_not_overflow);
	tcase_add_test(ovf,
		       stats_single_feature_batch_equals_its_column_in_a_wide_one);
	tcase_add_test(ovf,
		       stats_scale_never_calls_an_infinite_variance_constant);
	suite_add_tcase(s, err);
	suite_add_tcase(s, ovf);
	return s;
}

int main(void)
{
	return suite_run(stats_suite());
}
