/* core/init: every numpy-stream method bit for bit against numpy (fixtures
 * from tests/fixtures/make_numpy_fixtures.py), orthogonality, and the
 * moments of every method x distribution x rng. */
#include <check.h>
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/init.h"
#include "core/rng.h"
#include "tests/lib/fixture.h"

static cJSON *fx;

/* The request's init_spec, seed and layer_dims, read as the API defines. */
static void spec_of(const cJSON *req, struct init_spec *s, uint32_t *seed,
		    size_t *dims, size_t *n_dims)
{
	const cJSON *v;

	s->method = INIT_HE;
	s->dist = INIT_NORMAL;
	s->mode = INIT_MODE_NONE;
	s->scale = 0;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "method")))
		s->method = (enum init_method)fixture_name_index(init_method_names, v->valuestring);
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "distribution")))
		s->dist = (enum init_dist)fixture_name_index(init_dist_names, v->valuestring);
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "mode")))
		s->mode = (enum init_mode)fixture_name_index(init_mode_names, v->valuestring);
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "scale")))
		s->scale = v->valuedouble;
	*seed = (uint32_t)cJSON_GetObjectItemCaseSensitive(req, "seed")->valuedouble;
	*n_dims = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(req, "layer_dims"))
		dims[(*n_dims)++] = (size_t)v->valuedouble;
}

/* Generates every layer of the fixture case and compares with numpy's
 * numbers: exactly when tol is 0, else to tol absolute. */
static void check_case(const cJSON *c, double tol)
{
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(c, "request");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(c, "parameters");
	struct init_spec s;
	struct rng r;
	uint32_t seed;
	size_t dims[16], nd;
	double w[256], work[1024];
	char *text = cJSON_PrintUnformatted(req);

	spec_of(req, &s, &seed, dims, &nd);
	ck_assert_int_eq(init_spec_check(&s), INIT_OK);
	rng_seed(&r, RNG_NUMPY, seed);
	for (size_t l = 1; l < nd; l++) {
		char key[32];
		const cJSON *row, *x;
		size_t k = 0;

		ck_assert_uint_le(dims[l] * dims[l - 1], 256);
		ck_assert_uint_le(init_work_size(&s, dims[l], dims[l - 1]), 1024);
		ck_assert_int_eq(init_layer(&s, &r, dims[l], dims[l - 1], w, work),
				 INIT_OK);
		snprintf(key, sizeof key, "W%zu", l);
		cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(params, key)) {
			cJSON_ArrayForEach(x, row) {
				double want = x->valuedouble;

				if (tol == 0)
					ck_assert_msg(w[k] == want,
						      "%s %s[%zu]: %.17g != numpy %.17g",
						      text, key, k, w[k], want);
				else
					ck_assert_msg(fabs(w[k] - want) <= tol,
						      "%s %s[%zu]: %.17g vs numpy %.17g",
						      text, key, k, w[k], want);
				k++;
			}
		}
		ck_assert_uint_eq(k, dims[l] * dims[l - 1]);
	}
	free(text);
}

START_TEST(weights_are_bit_identical_to_numpy)
{
	const cJSON *cases = cJSON_GetObjectItemCaseSensitive(fx, "exact_cases");
	const cJSON *c;
	int n = 0;

	/* one loop test per fixture case would be 180 forks; walk them here,
	 * the message names the failing request */
	cJSON_ArrayForEach(c, cases) {
		check_case(c, 0);
		n++;
	}
	ck_assert_int_ge(n, 150);
}
END_TEST

START_TEST(contract_example_he_seed_3_gives_numpys_first_row)
{
	struct init_spec s = { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, 0 };
	struct rng r;
	double w[8];

	rng_seed(&r, RNG_NUMPY, 3);
	ck_assert_int_eq(init_layer(&s, &r, 4, 2, w, NULL), INIT_OK);
	/* numpy prints 1.78862847, 0.43650985, 0.09649747, -1.8634927 */
	ck_assert_double_eq_tol(w[0], 1.78862847, 5e-9);
	ck_assert_double_eq_tol(w[1], 0.43650985, 5e-9);
	ck_assert_double_eq_tol(w[2], 0.09649747, 5e-9);
	ck_assert_double_eq_tol(w[3], -1.8634927, 5e-8);
}
END_TEST

START_TEST(orthogonal_matches_numpys_qr_to_rounding)
{
	const cJSON *c = fixture_case(fx, "orthogonal_cases", _i);

	ck_assert_ptr_nonnull(c);
	check_case(c, 1e-12);
}
END_TEST

static const size_t orth_shapes[][2] = {
	{ 1, 1 }, { 1, 9 }, { 9, 1 }, { 5, 5 }, { 7, 3 }, { 3, 7 },
	{ 64, 200 }, { 200, 64 }, { 128, 128 },
};

START_TEST(orthogonal_rows_or_columns_are_orthonormal)
{
	size_t rows = orth_shapes[_i][0], cols = orth_shapes[_i][1];
	struct init_spec s = { INIT_ORTHOGONAL, INIT_NORMAL, INIT_MODE_NONE, 0 };
	enum rng_kind kind = _i % 2 ? RNG_FAST : RNG_NUMPY;
	double *w = malloc(rows * cols * sizeof *w);
	double *work = malloc((init_work_size(&s, rows, cols) + 1) * sizeof *work);
	double worst = 0;
	struct rng r;
	/* rows <= cols: W W^T = I (rows x rows), else W^T W = I */
	size_t n = rows <= cols ? rows : cols, inner = rows <= cols ? cols : rows;

	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(work);
	rng_seed(&r, kind, (uint32_t)(100 + _i));
	ck_assert_int_eq(init_layer(&s, &r, rows, cols, w, work), INIT_OK);
	for (size_t a = 0; a < n; a++) {
		for (size_t b = 0; b < n; b++) {
			double dot = 0;

			for (size_t k = 0; k < inner; k++)
				dot += rows <= cols ? w[a * cols + k] * w[b * cols + k]
						    : w[k * cols + a] * w[k * cols + b];
			dot -= a == b ? 1.0 : 0.0;
			if (fabs(dot) > worst)
				worst = fabs(dot);
		}
	}
	ck_assert_msg(worst <= 1e-10, "%zux%zu: max |WW^T - I| = %g", rows,
		      cols, worst);
	free(work);
	free(w);
}
END_TEST

START_TEST(orthogonal_scale_is_a_gain)
{
	struct init_spec s1 = { INIT_ORTHOGONAL, INIT_NORMAL, INIT_MODE_NONE, 0 };
	struct init_spec s3 = s1;
	double a[12], b[12], work[64];
	struct rng r;

	s3.scale = 3.0;
	ck_assert_uint_le(init_work_size(&s1, 3, 4), 64);
	rng_seed(&r, RNG_NUMPY, 8);
	init_layer(&s1, &r, 3, 4, a, work);
	rng_seed(&r, RNG_NUMPY, 8);
	init_layer(&s3, &r, 3, 4, b, work);
	for (int i = 0; i < 12; i++)
		ck_assert_double_eq_tol(b[i], 3.0 * a[i], 1e-15);
	ck_assert_double_eq_tol(init_target_std(&s3, 3, 4), 1.5, 1e-15);
}
END_TEST

/* ---- moments of every method x distribution x rng ----------------------- */

struct mcase {
	enum init_method method;
	enum init_dist dist;
	enum init_mode mode;
	double scale;
	size_t rows, cols;
	double want_std;      /* independent of init_target_std */
};

static const struct mcase mcases[] = {
	{ INIT_RANDOM, INIT_NORMAL, INIT_MODE_NONE, 0, 300, 400, 0.01 },
	{ INIT_RANDOM, INIT_UNIFORM, INIT_MODE_NONE, 2.0, 300, 400, 2.0 },
	{ INIT_RANDOM, INIT_TRUNCATED_NORMAL, INIT_MODE_NONE, 1.0, 300, 400, 1.0 },
	{ INIT_HE, INIT_NORMAL, INIT_MODE_NONE, 0, 300, 400, 0.070710678118654752 },
	{ INIT_HE, INIT_UNIFORM, INIT_MODE_NONE, 0, 300, 400, 0.070710678118654752 },
	{ INIT_HE, INIT_TRUNCATED_NORMAL, INIT_MODE_NONE, 0, 300, 400, 0.070710678118654752 },
	{ INIT_HE, INIT_NORMAL, INIT_FAN_OUT, 0, 200, 600, 0.1 },
	{ INIT_HE, INIT_NORMAL, INIT_FAN_AVG, 0.5, 200, 600, 0.035355339059327376 },
	{ INIT_XAVIER, INIT_NORMAL, INIT_MODE_NONE, 0, 300, 400, 0.05 },
	{ INIT_XAVIER, INIT_UNIFORM, INIT_MODE_NONE, 0, 300, 400, 0.05 },
	{ INIT_XAVIER, INIT_TRUNCATED_NORMAL, INIT_MODE_NONE, 0, 300, 400, 0.05 },
	{ INIT_LECUN, INIT_NORMAL, INIT_MODE_NONE, 0, 300, 400, 0.05 },
	{ INIT_LECUN, INIT_UNIFORM, INIT_FAN_OUT, 0, 400, 300, 0.05 },
	{ INIT_LECUN, INIT_TRUNCATED_NORMAL, INIT_MODE_NONE, 0, 300, 400, 0.05 },
	{ INIT_GLOROT, INIT_NORMAL, INIT_MODE_NONE, 0, 300, 500, 0.05 },
	{ INIT_GLOROT, INIT_UNIFORM, INIT_MODE_NONE, 0, 300, 500, 0.05 },
	{ INIT_GLOROT, INIT_TRUNCATED_NORMAL, INIT_MODE_NONE, 0, 300, 500, 0.05 },
	{ INIT_GLOROT, INIT_NORMAL, INIT_FAN_IN, 4.0, 300, 400, 0.2 },
};
#define N_MCASES (int)(sizeof mcases / sizeof mcases[0])

START_TEST(draws_have_the_target_std_and_the_distributions_shape)
{
	const struct mcase *c = &mcases[_i / 2];
	enum rng_kind kind = _i % 2 ? RNG_FAST : RNG_NUMPY;
	struct init_spec s = { c->method, c->dist, c->mode, c->scale };
	size_t n = c->rows * c->cols;
	double *w = malloc(n * sizeof *w), mean = 0, var = 0, m4 = 0;
	double lo = INFINITY, hi = -INFINITY, sd, kurt, bound = INFINITY;
	double want_kurt = 3.0, sd_std = 0.006;
	struct rng r;

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(init_spec_check(&s), INIT_OK);
	ck_assert_double_eq_tol(init_target_std(&s, c->rows, c->cols),
				c->want_std, 1e-15 * c->want_std);
	rng_seed(&r, kind, (uint32_t)(1000 + _i));
	ck_assert_int_eq(init_layer(&s, &r, c->rows, c->cols, w, NULL), INIT_OK);
	for (size_t i = 0; i < n; i++) {
		mean += w[i];
		lo = w[i] < lo ? w[i] : lo;
		hi = w[i] > hi ? w[i] : hi;
	}
	mean /= (double)n;
	for (size_t i = 0; i < n; i++) {
		double d = w[i] - mean;

		var += d * d;
		m4 += d * d * d * d;
	}
	var /= (double)n;
	kurt = m4 / (double)n / (var * var);
	sd = sqrt(var);
	if (c->dist == INIT_UNIFORM) {
		bound = sqrt(3.0) * c->want_std;
		want_kurt = 1.8;
		sd_std = 0.004;
	} else if (c->dist == INIT_TRUNCATED_NORMAL) {
		bound = 2.0 / RNG_TRUNC2_STD * c->want_std;
		want_kurt = 2.3636;  /* N(0,1) cut at +-2 */
	}
	/* n >= 120k: sd of the mean is std/346, of the relative std <= 0.2% */
	ck_assert_msg(fabs(mean) <= 6 * c->want_std / sqrt((double)n),
		      "mean %g", mean);
	ck_assert_msg(fabs(sd / c->want_std - 1) <= sd_std, "std %g want %g",
		      sd, c->want_std);
	ck_assert_msg(fabs(kurt - want_kurt) <= 0.06, "kurtosis %g want %g",
		      kurt, want_kurt);
	ck_assert_double_ge(lo, -bound);
	ck_assert_double_le(hi, bound);
	ck_assert_double_eq_tol(init_pop_std(w, n), sd, 1e-12 * sd);
	free(w);
}
END_TEST

START_TEST(zeros_are_zero_and_draw_nothing)
{
	struct init_spec s = { INIT_ZEROS, INIT_NORMAL, INIT_MODE_NONE, 0 };
	double w[20];
	struct rng r, fresh;

	memset(w, 0xff, sizeof w);
	rng_seed(&r, RNG_NUMPY, 1);
	rng_seed(&fresh, RNG_NUMPY, 1);
	ck_assert_int_eq(init_layer(&s, &r, 4, 5, w, NULL), INIT_OK);
	for (int i = 0; i < 20; i++)
		ck_assert(w[i] == 0.0);
	ck_assert(rng_gauss(&r) == rng_gauss(&fresh));
	ck_assert(init_target_std(&s, 4, 5) == 0.0);
}
END_TEST

/* ---- specs ------------------------------------------------------------- */

static const struct {
	struct init_spec s;
	enum init_status want;
} specs[] = {
	{ { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, 0 }, INIT_OK },
	{ { INIT_HE, INIT_UNIFORM, INIT_FAN_OUT, 2 }, INIT_OK },
	{ { INIT_RANDOM, INIT_TRUNCATED_NORMAL, INIT_MODE_NONE, 1 }, INIT_OK },
	{ { INIT_ORTHOGONAL, INIT_NORMAL, INIT_MODE_NONE, 2 }, INIT_OK },
	{ { INIT_ZEROS, INIT_NORMAL, INIT_MODE_NONE, 0 }, INIT_OK },
	{ { INIT_ORTHOGONAL, INIT_UNIFORM, INIT_MODE_NONE, 0 }, INIT_EUNSUPPORTED },
	{ { INIT_ORTHOGONAL, INIT_NORMAL, INIT_FAN_IN, 0 }, INIT_EUNSUPPORTED },
	{ { INIT_RANDOM, INIT_NORMAL, INIT_FAN_AVG, 0 }, INIT_EUNSUPPORTED },
	{ { INIT_ZEROS, INIT_NORMAL, INIT_MODE_NONE, 1 }, INIT_EUNSUPPORTED },
	{ { INIT_ZEROS, INIT_UNIFORM, INIT_MODE_NONE, 0 }, INIT_EUNSUPPORTED },
	{ { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, -1 }, INIT_EUNSUPPORTED },
	{ { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, NAN }, INIT_EUNSUPPORTED },
};

START_TEST(spec_check_refuses_undefined_combinations)
{
	double w[4];
	struct rng r;

	rng_seed(&r, RNG_NUMPY, 0);
	ck_assert_int_eq(init_spec_check(&specs[_i].s), specs[_i].want);
	if (specs[_i].want != INIT_OK)
		ck_assert_int_eq(init_layer(&specs[_i].s, &r, 2, 2, w, NULL),
				 INIT_EUNSUPPORTED);
}
END_TEST

START_TEST(effective_mode_is_the_methods_own_unless_given)
{
	struct init_spec s = { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, 0 };

	ck_assert_int_eq(init_effective_mode(&s), INIT_FAN_IN);
	s.method = INIT_GLOROT;
	ck_assert_int_eq(init_effective_mode(&s), INIT_FAN_AVG);
	s.mode = INIT_FAN_OUT;
	ck_assert_int_eq(init_effective_mode(&s), INIT_FAN_OUT);
	s.method = INIT_RANDOM;
	s.mode = INIT_MODE_NONE;
	ck_assert_int_eq(init_effective_mode(&s), INIT_MODE_NONE);
	/* glorot is xavier with fan_avg */
	s.method = INIT_XAVIER;
	s.mode = INIT_FAN_AVG;
	{
		struct init_spec g = { INIT_GLOROT, INIT_NORMAL, INIT_MODE_NONE, 0 };

		ck_assert(init_target_std(&s, 30, 70) == init_target_std(&g, 30, 70));
	}
}
END_TEST

START_TEST(population_std_survives_extreme_magnitudes)
{
	double big[] = { 1e200, -1e200, 1e200, -1e200 };
	double tiny[] = { 3e-200, 1e-200, 3e-200, 1e-200 };
	double plain[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	double bad[] = { 1, NAN, 2 };

	ck_assert_double_eq_tol(init_pop_std(big, 4), 1e200, 1e186);
	ck_assert_double_eq_tol(init_pop_std(tiny, 4), 1e-200, 1e-214);
	ck_assert_double_eq_tol(init_pop_std(plain, 8), 2.0, 1e-15);
	ck_assert(isnan(init_pop_std(bad, 3)));
	ck_assert(init_pop_std(plain, 0) == 0.0);
}
END_TEST

/* The std of a block fed a row at a time equals the two-pass std of the
 * whole block (to rounding), whatever the row lengths and magnitudes. */
START_TEST(std_fed_in_pieces_is_the_blocks_population_std)
{
	static const double mags[] = { 1.0, 0.05, 1e200, 1e-200, 1e140 };
	struct init_std a;
	struct rng r;
	double *w = malloc(300 * 77 * sizeof *w);

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(init_std_new(&a, 300), 0);
	for (size_t m = 0; m < sizeof mags / sizeof mags[0]; m++) {
		double whole, mean = 0.0, lumped;

		rng_seed(&r, RNG_NUMPY, (uint32_t)m + 7);
		for (size_t i = 0; i < 300 * 77; i++) {
			/* an offset of 3 std: the merge must carry the means */
			w[i] = (rng_gauss(&r) + 3.0) * mags[m];
			mean += w[i];
		}
		whole = init_pop_std(w, 300 * 77);
		lumped = init_std_block(&a, mags[m], w, 77, 300);
		ck_assert_msg(fabs(lumped - whole) <= 1e-14 * whole,
			      "magnitude %g: rows of 300 give %.17g, the block %.17g",
			      mags[m], lumped, whole);
		/* uneven pieces, and the same block as one piece of 300 rows */
		init_std_begin(&a, mags[m]);
		for (size_t i = 0, n = 1; i < 300 * 77; i += n, n = n % 300 + 1)
			init_std_add(&a, w + i, n < 300 * 77 - i ? n : 300 * 77 - i);
		ck_assert_double_eq_tol(init_std_result(&a), whole, 1e-14 * whole);
		ck_assert_double_eq_tol(init_std_block(&a, mags[m], w, 300, 77),
					whole, 1e-14 * whole);
		ck_assert(mean != 0.0);
	}
	init_std_begin(&a, 1.0);
	ck_assert(init_std_result(&a) == 0.0);
	w[5] = NAN;
	ck_assert(isnan(init_std_block(&a, 1.0, w, 2, 10)));
	w[5] = INFINITY;
	ck_assert(isnan(init_std_block(&a, 1.0, w, 2, 10)));
	w[0] = w[1] = w[2] = 1e-200;
	ck_assert(init_std_block(&a, 1e-200, w, 1, 3) == 0.0);
	init_std_free(&a);
	init_std_free(&a);  /* safe twice */
	free(w);
}
END_TEST

static Suite *init_suite(void)
{
	Suite *s = suite_create("init");
	TCase *numpy = tcase_create("numpy");
	TCase *orth = tcase_create("orthogonal");
	TCase *stats = tcase_create("moments");
	TCase *spec = tcase_create("spec");
	int n_orth = fixture_count(fx, "orthogonal_cases");

	tcase_add_test(numpy, weights_are_bit_identical_to_numpy);
	tcase_add_test(numpy, contract_example_he_seed_3_gives_numpys_first_row);
	tcase_add_loop_test(orth, orthogonal_matches_numpys_qr_to_rounding, 0, n_orth);
	tcase_add_loop_test(orth, orthogonal_rows_or_columns_are_orthonormal, 0,
			    (int)(sizeof orth_shapes / sizeof orth_shapes[0]));
	tcase_add_test(orth, orthogonal_scale_is_a_gain);
	tcase_add_loop_test(stats, draws_have_the_target_std_and_the_distributions_shape,
			    0, 2 * N_MCASES);
	tcase_add_test(stats, zeros_are_zero_and_draw_nothing);
	tcase_add_loop_test(spec, spec_check_refuses_undefined_combinations, 0,
			    (int)(sizeof specs / sizeof specs[0]));
	tcase_add_test(spec, effective_mode_is_the_methods_own_unless_given);
	tcase_add_test(spec, population_std_survives_extreme_magnitudes);
	tcase_add_test(spec, std_fed_in_pieces_is_the_blocks_population_std);
	suite_add_tcase(s, numpy);
	suite_add_tcase(s, orth);
	suite_add_tcase(s, stats);
	suite_add_tcase(s, spec);
	return s;
}

int main(void)
{
	return fixture_main("init_numpy.json", &fx, init_suite);
}
