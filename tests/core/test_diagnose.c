/* core/diagnose: per-layer numbers against numpy's forward/backward on the
 * same stream (tests/fixtures/make_numpy_fixtures.py), identities, the
 * verdict rule, and the four depth stories of the course. */
#include <check.h>
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diagnose.h"
#include "core/init.h"
#include "core/rng.h"
#include "tests/lib/fixture.h"

static cJSON *fx;

/* A net of n_layers layers with weights from spec on one stream, then the
 * diagnosis on the same stream, as /init does it. */
struct net {
	size_t dims[64], n_layers;
	double *w;
	const double *wl[63];
	double *work, act_std[63], grad_norm[63];
	enum diag_verdict verdict;
};

static void net_run(struct net *n, const struct init_spec *s, enum rng_kind kind,
		    uint32_t seed, enum diag_activation act, size_t batch)
{
	size_t total = 0, off = 0;
	struct rng r;

	for (size_t l = 1; l <= n->n_layers; l++)
		total += n->dims[l] * n->dims[l - 1];
	n->w = malloc(total * sizeof *n->w);
	n->work = malloc(diag_work_size(n->dims, n->n_layers, batch) * sizeof *n->work);
	ck_assert_ptr_nonnull(n->w);
	ck_assert_ptr_nonnull(n->work);
	rng_seed(&r, kind, seed);
	for (size_t l = 1; l <= n->n_layers; l++) {
		ck_assert_int_eq(init_layer(s, &r, n->dims[l], n->dims[l - 1],
					    n->w + off, NULL), INIT_OK);
		n->wl[l - 1] = n->w + off;
		off += n->dims[l] * n->dims[l - 1];
	}
	n->verdict = diag_run(n->wl, n->dims, n->n_layers, act, batch, &r,
			      n->work, n->act_std, n->grad_norm);
}

static void net_free(struct net *n)
{
	free(n->w);
	free(n->work);
}

START_TEST(layer_statistics_match_numpys_forward_and_backward)
{
	const cJSON *c = fixture_case(fx, "diagnosis_cases", _i);
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(c, "request");
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(req, "diagnose"), *v;
	struct init_spec s = { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, 0 };
	struct net n = { .n_layers = 0 };
	size_t k = 0;

	ck_assert_ptr_nonnull(c);
	s.method = (enum init_method)fixture_name_index(init_method_names,
		cJSON_GetObjectItemCaseSensitive(req, "method")->valuestring);
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(req, "layer_dims"))
		n.dims[k++] = (size_t)v->valuedouble;
	n.n_layers = k - 1;
	net_run(&n, &s, RNG_NUMPY,
		(uint32_t)cJSON_GetObjectItemCaseSensitive(req, "seed")->valuedouble,
		(enum diag_activation)fixture_name_index(diag_activation_names,
			cJSON_GetObjectItemCaseSensitive(dg, "activation")->valuestring),
		(size_t)cJSON_GetObjectItemCaseSensitive(dg, "batch")->valuedouble);
	k = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c, "activation_std")) {
		ck_assert_msg(fabs(n.act_std[k] - v->valuedouble) <= 1e-12 * v->valuedouble,
			      "activation_std[%zu] %.17g, numpy %.17g", k, n.act_std[k],
			      v->valuedouble);
		k++;
	}
	ck_assert_uint_eq(k, n.n_layers);
	k = 0;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c, "gradient_norm")) {
		ck_assert_msg(fabs(n.grad_norm[k] - v->valuedouble) <= 1e-12 * v->valuedouble,
			      "gradient_norm[%zu] %.17g, numpy %.17g", k, n.grad_norm[k],
			      v->valuedouble);
		k++;
	}
	ck_assert_uint_eq(k, n.n_layers);
	net_free(&n);
}
END_TEST

START_TEST(identity_weights_with_linear_activation_change_nothing)
{
	enum { W = 6, L = 5, B = 50 };
	size_t dims[L + 1];
	double w[W * W], act_std[L], grad_norm[L], x[W * B];
	const double *wl[L];
	double *work;
	struct rng r, copy;

	for (int i = 0; i < W * W; i++)
		w[i] = i % (W + 1) == 0 ? 1.0 : 0.0;
	for (int l = 0; l <= L; l++)
		dims[l] = W;
	for (int l = 0; l < L; l++)
		wl[l] = w;
	ck_assert_uint_eq(diag_work_size(dims, L, B), (size_t)B * (W * (L + 1) + 2 * W));
	work = malloc(diag_work_size(dims, L, B) * sizeof *work);
	ck_assert_ptr_nonnull(work);
	rng_seed(&r, RNG_FAST, 3);
	copy = r;
	rng_fill_gauss(&copy, x, W * B, 1.0);   /* the X diag_run will draw */
	ck_assert_int_eq(diag_run(wl, dims, L, DIAG_LINEAR, B, &r, work,
				  act_std, grad_norm), DIAG_STABLE);
	for (int l = 0; l < L; l++) {
		ck_assert(act_std[l] == init_pop_std(x, W * B));
		ck_assert(grad_norm[l] == grad_norm[0]);
		ck_assert(grad_norm[l] > 0);
	}
	free(work);
}
END_TEST

/* ---- the rule ---------------------------------------------------------- */

static const struct {
	double a[3], g[3];
	enum diag_verdict want;
} rules[] = {
	{ { 1, 2, 3 }, { 3, 2, 1 }, DIAG_STABLE },
	{ { 1, 5, 9.9 }, { 9.9, 5, 1 }, DIAG_STABLE },
	{ { 1, 5, 10.5 }, { 1, 1, 1 }, DIAG_EXPLODING },
	{ { 1, 1, 1 }, { 11, 1, 1 }, DIAG_EXPLODING },
	{ { 1, 0.5, 0.09 }, { 1, 1, 1 }, DIAG_VANISHING },
	{ { 1, 1, 1 }, { 0.05, 1, 1 }, DIAG_VANISHING },
	{ { 1, NAN, NAN }, { NAN, NAN, NAN }, DIAG_EXPLODING },
	{ { 1, 1, 1 }, { 1, INFINITY, 1 }, DIAG_EXPLODING },
	{ { 1, 1e-40, 0 }, { 1, 1, 1 }, DIAG_VANISHING },
	{ { 0, 0, 0 }, { 0, 0, 0 }, DIAG_VANISHING },       /* 0/0 */
	{ { 1, 20, 20 }, { 0.01, 1, 1 }, DIAG_EXPLODING },  /* exploding wins */
	{ { 0, 0, 1 }, { 1, 1, 1 }, DIAG_EXPLODING },       /* 1/0 = inf */
};

START_TEST(verdict_follows_the_documented_rule)
{
	double ra, rg;

	ck_assert_int_eq(diag_verdict(rules[_i].a, rules[_i].g, 3, &ra, &rg),
			 rules[_i].want);
	if (isfinite(rules[_i].a[2]) && rules[_i].a[0] > 0)
		ck_assert_double_eq_tol(ra, rules[_i].a[2] / rules[_i].a[0], 1e-15);
}
END_TEST

START_TEST(rule_text_names_the_thresholds)
{
	ck_assert(strstr(DIAG_RULE, "> 10") != NULL);
	ck_assert(strstr(DIAG_RULE, "< 0.1") != NULL);
	ck_assert_double_eq(DIAG_EXPLODING_RATIO, 10.0);
	ck_assert_double_eq(DIAG_VANISHING_RATIO, 0.1);
}
END_TEST

/* ---- stories ----------------------------------------------------------- */

static const struct {
	struct init_spec s;
	enum diag_activation act;
	enum diag_verdict want;
} stories[] = {
	{ { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, 0 }, DIAG_RELU, DIAG_STABLE },
	{ { INIT_RANDOM, INIT_NORMAL, INIT_MODE_NONE, 0.01 }, DIAG_RELU, DIAG_VANISHING },
	{ { INIT_RANDOM, INIT_NORMAL, INIT_MODE_NONE, 1.0 }, DIAG_RELU, DIAG_EXPLODING },
	{ { INIT_XAVIER, INIT_NORMAL, INIT_MODE_NONE, 0 }, DIAG_TANH, DIAG_STABLE },
	{ { INIT_HE, INIT_TRUNCATED_NORMAL, INIT_MODE_NONE, 0 }, DIAG_RELU, DIAG_STABLE },
	{ { INIT_HE, INIT_UNIFORM, INIT_MODE_NONE, 0 }, DIAG_RELU, DIAG_STABLE },
	{ { INIT_ORTHOGONAL, INIT_NORMAL, INIT_MODE_NONE, 0 }, DIAG_LINEAR, DIAG_STABLE },
	{ { INIT_RANDOM, INIT_NORMAL, INIT_MODE_NONE, 0.01 }, DIAG_TANH, DIAG_VANISHING },
};
#define N_STORIES (int)(sizeof stories / sizeof stories[0])

START_TEST(thirty_layer_nets_tell_the_textbook_story)
{
	/* alternate numpy stream / width 100 and fast stream / width 128 */
	int story = _i, variant = _i % 2;
	size_t width = variant ? 128 : 100;
	enum rng_kind kind = variant ? RNG_FAST : RNG_NUMPY;
	struct net n = { .n_layers = 30 };
	double ra, rg;
	double *ow = NULL;

	for (size_t l = 0; l <= 30; l++)
		n.dims[l] = width;
	if (stories[story].s.method == INIT_ORTHOGONAL) {
		/* init_layer needs its QR workspace: build the weights here */
		size_t off = 0;
		struct rng r;

		n.w = malloc(30 * width * width * sizeof *n.w);
		ow = malloc(init_work_size(&stories[story].s, width, width) * sizeof *ow);
		n.work = malloc(diag_work_size(n.dims, 30, 256) * sizeof *n.work);
		ck_assert(n.w && ow && n.work);
		rng_seed(&r, kind, 7);
		for (size_t l = 0; l < 30; l++, off += width * width) {
			init_layer(&stories[story].s, &r, width, width, n.w + off, ow);
			n.wl[l] = n.w + off;
		}
		n.verdict = diag_run(n.wl, n.dims, 30, stories[story].act, 256, &r,
				     n.work, n.act_std, n.grad_norm);
	} else {
		net_run(&n, &stories[story].s, kind, 7, stories[story].act, 256);
	}
	diag_verdict(n.act_std, n.grad_norm, 30, &ra, &rg);
	ck_assert_msg(n.verdict == stories[story].want,
		      "story %d width %zu: verdict %s (r_a %g, r_g %g), want %s",
		      story, width, diag_verdict_names[n.verdict], ra, rg,
		      diag_verdict_names[stories[story].want]);
	free(ow);
	net_free(&n);
}
END_TEST

/* Issue 16's repro: "random" 0.01 on a 10-layer width-32 relu net. The
 * back-propagated error shrinks by about 0.01 sqrt(32) sqrt(1/2) = 0.04 per
 * layer (He et al. 2015, eq. 13 read backwards), so gradient_norm falls
 * geometrically from the last layer to the first; with He it stays flat. */
START_TEST(gradient_norm_decays_geometrically_with_depth)
{
	struct init_spec rnd = { INIT_RANDOM, INIT_NORMAL, INIT_MODE_NONE, 0.01 };
	struct init_spec he = { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, 0 };
	struct net a = { .n_layers = 10 }, b = { .n_layers = 10 };

	for (size_t l = 0; l <= 10; l++)
		a.dims[l] = b.dims[l] = 32;
	net_run(&a, &rnd, RNG_NUMPY, 3, DIAG_RELU, 256);
	net_run(&b, &he, RNG_NUMPY, 3, DIAG_RELU, 256);
	for (size_t l = 1; l < 10; l++) {
		double qa = a.grad_norm[l - 1] / a.grad_norm[l];
		double qb = b.grad_norm[l - 1] / b.grad_norm[l];

		ck_assert_msg(qa > 0.01 && qa < 0.1, "random: layer %zu/%zu ratio %g", l, l + 1, qa);
		ck_assert_msg(qb > 0.5 && qb < 2, "he: layer %zu/%zu ratio %g", l, l + 1, qb);
	}
	/* a unit-norm error per sample enters the output layer (relu halves it) */
	ck_assert_double_eq_tol(a.grad_norm[9], sqrt(0.5), 0.1);
	ck_assert_int_eq(a.verdict, DIAG_VANISHING);
	ck_assert_int_eq(b.verdict, DIAG_STABLE);
	net_free(&a);
	net_free(&b);
}
END_TEST

START_TEST(overflow_stops_propagation_with_nan_and_exploding)
{
	struct init_spec s = { INIT_RANDOM, INIT_NORMAL, INIT_MODE_NONE, 1e30 };
	struct net n = { .n_layers = 20 };
	int nan_from = -1;

	for (size_t l = 0; l <= 20; l++)
		n.dims[l] = 10;
	net_run(&n, &s, RNG_NUMPY, 1, DIAG_LINEAR, 16);
	ck_assert_int_eq(n.verdict, DIAG_EXPLODING);
	for (int l = 0; l < 20; l++) {
		if (isnan(n.act_std[l]) && nan_from < 0)
			nan_from = l;
		if (nan_from >= 0)
			ck_assert(isnan(n.act_std[l]));
		else
			ck_assert(isfinite(n.act_std[l]) && n.act_std[l] > 0);
		ck_assert(isnan(n.grad_norm[l]));
	}
	ck_assert_int_gt(nan_from, 5);
	net_free(&n);
}
END_TEST

START_TEST(sigmoid_of_zero_weights_is_a_dead_signal)
{
	struct init_spec s = { INIT_ZEROS, INIT_NORMAL, INIT_MODE_NONE, 0 };
	struct net n = { .n_layers = 4 };

	for (size_t l = 0; l <= 4; l++)
		n.dims[l] = 5;
	net_run(&n, &s, RNG_NUMPY, 1, DIAG_SIGMOID, 32);
	ck_assert_int_eq(n.verdict, DIAG_VANISHING);
	ck_assert(n.act_std[0] == 0.0);
	ck_assert(n.grad_norm[0] == 0.0);
	ck_assert(n.grad_norm[3] > 0.0);   /* dZ_L A_(L-1)^T with A = 0.5 */
	net_free(&n);
}
END_TEST

static Suite *diagnose_suite(void)
{
	Suite *s = suite_create("diagnose");
	TCase *ref = tcase_create("reference");
	TCase *rule = tcase_create("rule");
	TCase *story = tcase_create("stories");
	int n_ref = fixture_count(fx, "diagnosis_cases");

	tcase_set_timeout(story, 120);
	tcase_add_loop_test(ref, layer_statistics_match_numpys_forward_and_backward, 0, n_ref);
	tcase_add_test(ref, identity_weights_with_linear_activation_change_nothing);
	tcase_add_loop_test(rule, verdict_follows_the_documented_rule, 0,
			    (int)(sizeof rules / sizeof rules[0]));
	tcase_add_test(rule, rule_text_names_the_thresholds);
	tcase_add_loop_test(story, thirty_layer_nets_tell_the_textbook_story, 0, N_STORIES);
	tcase_add_test(story, gradient_norm_decays_geometrically_with_depth);
	tcase_add_test(story, overflow_stops_propagation_with_nan_and_exploding);
	tcase_add_test(story, sigmoid_of_zero_weights_is_a_dead_signal);
	suite_add_tcase(s, ref);
	suite_add_tcase(s, rule);
	suite_add_tcase(s, story);
	return s;
}

int main(void)
{
	return fixture_main("init_numpy.json", &fx, diagnose_suite);
}
