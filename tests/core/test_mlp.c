/* core/mlp against PyTorch autograd fixtures (cost and gradients for every
 * activation x loss combination), plus the perturbed-cost engine against
 * full forward passes. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/mlp.h"
#include "tests/lib/torch_case.h"
#include "tests/lib/suite_run.h"

static cJSON *root;

static void setup(void)
{
	root = torch_case_load();
	ck_assert_msg(root != NULL, "cannot read $GG_FIXTURES/mlp_torch.json");
}

static void teardown(void)
{
	cJSON_Delete(root);
	root = NULL;
}

START_TEST(cost_and_gradients_match_torch_autograd)
{
	struct torch_case c;
	struct mlp_cache *mc;
	double *g, gmax = 0;

	ck_assert_int_eq(torch_case_get(root, (size_t)_i, &c), 0);
	ck_assert_int_eq(mlp_check(&c.net, NULL), MLP_OK);
	ck_assert_uint_eq(mlp_n_params(c.dims, c.L), c.n_params);
	mc = mlp_cache_new(&c.net, c.m);
	ck_assert_ptr_nonnull(mc);
	mlp_forward(&c.net, c.X, c.Y, mc);
	ck_assert_msg(isfinite(mc->cost), "case %d cost not finite", _i);
	ck_assert_msg(fabs(mc->cost - c.cost) <= 1e-12 * fabs(c.cost),
		      "case %d: cost %.17g, torch %.17g", _i, mc->cost, c.cost);
	g = malloc(c.n_params * sizeof(double));
	mlp_backward(&c.net, mc, g);
	for (size_t i = 0; i < c.n_params; i++)
		gmax = fmax(gmax, fabs(c.grad[i]));
	for (size_t i = 0; i < c.n_params; i++)
		ck_assert_msg(fabs(g[i] - c.grad[i]) <= 1e-12 * fmax(fabs(c.grad[i]), 1e-3 * gmax),
			      "case %d coord %zu: %.17g, torch %.17g", _i, i, g[i], c.grad[i]);
	free(g);
	mlp_cache_free(mc);
	torch_case_free(&c);
}
END_TEST

START_TEST(backward_parts_add_up_to_the_gradient)
{
	struct torch_case c;
	struct mlp_cache *mc;
	double *g, *d, *r;

	ck_assert_int_eq(torch_case_get(root, (size_t)_i, &c), 0);
	mc = mlp_cache_new(&c.net, c.m);
	mlp_forward(&c.net, c.X, c.Y, mc);
	g = malloc(c.n_params * sizeof(double));
	d = malloc(c.n_params * sizeof(double));
	r = malloc(c.n_params * sizeof(double));
	mlp_backward(&c.net, mc, g);
	mlp_backward_parts(&c.net, mc, d, r);
	for (size_t i = 0; i < c.n_params; i++) {
		ck_assert(g[i] == d[i] + r[i]);
		if (c.l2 == 0)
			ck_assert(r[i] == 0);
	}
	free(g);
	free(d);
	free(r);
	mlp_cache_free(mc);
	torch_case_free(&c);
}
END_TEST

START_TEST(eval_at_the_base_point_reproduces_the_forward_cost_exactly)
{
	struct torch_case c;
	struct mlp_cache *mc;
	double *w;
	bool kink = true;

	ck_assert_int_eq(torch_case_get(root, (size_t)_i, &c), 0);
	mc = mlp_cache_new(&c.net, c.m);
	mlp_forward(&c.net, c.X, c.Y, mc);
	w = malloc(mlp_eval_work(&c.net, c.m) * sizeof(double));
	for (size_t from = 1; from <= c.L; from++) {
		ck_assert(mlp_eval(&c.net, c.theta, mc, from, w, &kink) == mc->cost);
		ck_assert(!kink);
	}
	free(w);
	mlp_cache_free(mc);
	torch_case_free(&c);
}
END_TEST

/* Every coordinate, both signs: the rank-one/batched costs equal a full
 * forward pass at the perturbed theta within rounding, and do not depend on
 * the batch they were computed in. */
START_TEST(perturbed_costs_match_full_forward_passes)
{
	struct torch_case c;
	struct mlp_cache *mc;
	size_t n, *idx;
	double *delta, *cost, *cost1, *w, *pw, *th;
	bool *kink, *kink1, k;

	ck_assert_int_eq(torch_case_get(root, (size_t)_i, &c), 0);
	n = 2 * c.n_params;
	mc = mlp_cache_new(&c.net, c.m);
	mlp_forward(&c.net, c.X, c.Y, mc);
	idx = malloc(n * sizeof(size_t));
	delta = malloc(n * sizeof(double));
	cost = malloc(n * sizeof(double));
	cost1 = malloc(n * sizeof(double));
	kink = malloc(n * sizeof(bool));
	kink1 = malloc(n * sizeof(bool));
	th = malloc(c.n_params * sizeof(double));
	w = malloc(mlp_eval_work(&c.net, c.m) * sizeof(double));
	pw = malloc(mlp_perturb_work(&c.net, c.m, n) * sizeof(double));
	for (size_t t = 0; t < n; t++) {
		idx[t] = t / 2;
		delta[t] = t % 2 ? -1e-3 : 1e-3;
	}
	mlp_perturb_costs(&c.net, mc, idx, delta, n, pw, cost, kink);
	for (size_t t = 0; t < n; t++)
		mlp_perturb_costs(&c.net, mc, idx + t, delta + t, 1, pw, cost1 + t, kink1 + t);
	for (size_t t = 0; t < n; t++) {
		double full;

		ck_assert_msg(cost[t] == cost1[t], "batch dependence at %zu", t);
		ck_assert(kink[t] == kink1[t]);
		for (size_t i = 0; i < c.n_params; i++)
			th[i] = c.theta[i];
		th[idx[t]] += delta[t];
		full = mlp_eval(&c.net, th, mc, 1, w, &k);
		ck_assert_msg(fabs(full - cost[t]) <= 1e-13 * fabs(full) + 1e-15,
			      "case %d pert %zu: %.17g vs full %.17g", _i, t, cost[t], full);
		ck_assert_msg(k == kink[t], "case %d pert %zu kink %d vs %d", _i, t, kink[t], k);
	}
	free(idx);
	free(delta);
	free(cost);
	free(cost1);
	free(kink);
	free(kink1);
	free(th);
	free(w);
	free(pw);
	mlp_cache_free(mc);
	torch_case_free(&c);
}
END_TEST

START_TEST(saturated_outputs_give_finite_costs_and_gradients)
{
	struct torch_case c;
	size_t n = torch_case_count(root);

	/* the last two fixtures have logits in the hundreds */
	for (size_t i = n - 2; i < n; i++) {
		struct mlp_cache *mc;
		double *g;

		ck_assert_int_eq(torch_case_get(root, i, &c), 0);
		mc = mlp_cache_new(&c.net, c.m);
		mlp_forward(&c.net, c.X, c.Y, mc);
		ck_assert(isfinite(mc->cost) && mc->cost > 1.0);
		g = malloc(c.n_params * sizeof(double));
		mlp_backward(&c.net, mc, g);
		for (size_t k = 0; k < c.n_params; k++)
			ck_assert(isfinite(g[k]));
		free(g);
		mlp_cache_free(mc);
		torch_case_free(&c);
	}
}
END_TEST

START_TEST(bce_of_a_saturated_sigmoid_equals_the_logit_form)
{
	/* one unit, W = 0, b = 40: a = sigmoid(40) rounds to 1; y = 0 gives
	 * -log(1 - a) = softplus(40) = 40 + log1p(e^-40), not inf */
	size_t dims[] = {1, 1};
	enum mlp_act act[] = {MLP_SIGMOID};
	double theta[] = {0.0, 40.0}, X[] = {1.0}, Y[] = {0.0}, g[2];
	struct mlp net = {1, dims, act, MLP_BCE, 0.0, theta};
	struct mlp_cache *mc = mlp_cache_new(&net, 1);

	mlp_forward(&net, X, Y, mc);
	ck_assert_double_eq_tol(mc->cost, 40.0 + log1p(exp(-40.0)), 1e-14);
	mlp_backward(&net, mc, g);
	ck_assert_double_eq_tol(g[1], 1.0, 1e-15); /* sigmoid(40) - 0 */
	mlp_cache_free(mc);
}
END_TEST

struct combo {
	enum mlp_act hidden, out;
	enum mlp_loss loss;
	enum mlp_status want;
};

static const struct combo combos[] = {
	{MLP_RELU, MLP_SIGMOID, MLP_BCE, MLP_OK},
	{MLP_TANH, MLP_SOFTMAX, MLP_CCE, MLP_OK},
	{MLP_TANH, MLP_RELU, MLP_MSE, MLP_OK},
	{MLP_SOFTMAX, MLP_SOFTMAX, MLP_CCE, MLP_ESOFTMAX},
	{MLP_RELU, MLP_SOFTMAX, MLP_MSE, MLP_ESOFTMAX},
	{MLP_RELU, MLP_SOFTMAX, MLP_BCE, MLP_ESOFTMAX},
	{MLP_RELU, MLP_SIGMOID, MLP_CCE, MLP_ELOSS},
	{MLP_RELU, MLP_TANH, MLP_BCE, MLP_ELOSS},
};

START_TEST(check_refuses_unsupported_activation_loss_combinations)
{
	size_t dims[] = {2, 3, 2}, layer;
	enum mlp_act act[] = {combos[_i].hidden, combos[_i].out};
	struct mlp net = {2, dims, act, combos[_i].loss, 0.0, NULL};

	ck_assert_int_eq(mlp_check(&net, &layer), combos[_i].want);
	if (combos[_i].hidden == MLP_SOFTMAX)
		ck_assert_uint_eq(layer, 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mlp");
	TCase *tc = tcase_create("torch");
	TCase *te = tcase_create("errors");
	cJSON *r = torch_case_load();
	int n = r ? (int)torch_case_count(r) : 1;

	cJSON_Delete(r);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, cost_and_gradients_match_torch_autograd, 0, n);
	tcase_add_loop_test(tc, backward_parts_add_up_to_the_gradient, 0, n);
	tcase_add_loop_test(tc, eval_at_the_base_point_reproduces_the_forward_cost_exactly, 0, n);
	tcase_add_loop_test(tc, perturbed_costs_match_full_forward_passes, 0, n);
	tcase_add_test(tc, saturated_outputs_give_finite_costs_and_gradients);
	tcase_add_test(tc, bce_of_a_saturated_sigmoid_equals_the_logit_form);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(te, check_refuses_unsupported_activation_loss_combinations, 0,
			    (int)(sizeof(combos) / sizeof(combos[0])));
	suite_add_tcase(s, te);
	return s;
}

int main(void)
{
	return suite_run(suite());
}
