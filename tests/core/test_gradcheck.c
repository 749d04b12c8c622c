/* core/gradcheck: the engine against the naive loop, verdicts on correct and
 * planted-bug gradients (blaming the right block), kinks, sampling,
 * directions, thread-count independence, deadlines, and the comparison. */
#include <check.h>
#include <float.h>
#include <stdatomic.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gradcheck.h"
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

static const char *const bnames[] = {"W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4"};

/* Blocks W1, b1, ... of a network; returns their count. */
static size_t make_blocks(const struct mlp *net, struct gc_block *b)
{
	size_t nb = 0;

	for (size_t l = 1; l <= net->n_layers; l++) {
		size_t off = mlp_w_offset(net->dims, l);

		b[nb++] = (struct gc_block){bnames[2 * l - 2], off, net->dims[l], net->dims[l - 1]};
		b[nb++] = (struct gc_block){bnames[2 * l - 1], off + net->dims[l] * net->dims[l - 1],
					    net->dims[l], 1};
	}
	return nb;
}

/* A full check of every coordinate of `analytic` against the fast engine. */
struct result {
	struct gc_block_report br[8];
	size_t worst[8];
	struct gc_report r;
	size_t nb;
	size_t worst_block;   /* block with the largest relative error */
};

static void check_all(const struct mlp *net, const struct mlp_cache *mc,
		      const double *analytic, double eps, struct result *res)
{
	size_t n = mc->off[net->n_layers + 1];
	size_t *coords = malloc(n * sizeof(size_t)), *blk = malloc(n * sizeof(size_t));
	size_t *pos = malloc(n * sizeof(size_t));
	double *num = malloc(n * sizeof(double));
	bool *kink = malloc(n * sizeof(bool));
	struct gc_block blocks[8];
	struct gc_mlp ctx;
	struct gc_source src;
	struct gc_run run = {eps, 2, 0, NULL, 0, NULL, NULL};
	struct gc_thresholds th = {GC_DEFAULT_PASS, GC_DEFAULT_WARN, GC_DEFAULT_FAIL};

	res->nb = make_blocks(net, blocks);
	for (size_t i = 0; i < n; i++)
		coords[i] = i;
	gc_mlp_source(&src, &ctx, net, mc, true);
	ck_assert_int_eq(gradcheck_coords(&src, &run, coords, n, num, kink), GC_OK);
	gradcheck_locate(blocks, res->nb, coords, n, blk, pos);
	res->r.blocks = res->br;
	res->r.worst = res->worst;
	gradcheck_compare(analytic, num, kink, blk, pos, n, res->nb, &th, 5, &res->r);
	res->worst_block = 0;
	for (size_t b = 1; b < res->nb; b++)
		if (res->br[b].relative_error > res->br[res->worst_block].relative_error)
			res->worst_block = b;
	free(coords);
	free(blk);
	free(pos);
	free(num);
	free(kink);
}

/* Correct gradients (ours and torch's) pass at eps = 1e-6; at the default
 * 1e-7 rounding noise may reach the warn tier on small gradients, never more. */
START_TEST(correct_gradients_pass)
{
	struct torch_case c;
	struct mlp_cache *mc;
	double *g;
	struct result res;

	ck_assert_int_eq(torch_case_get(root, (size_t)_i, &c), 0);
	mc = mlp_cache_new(&c.net, c.m);
	mlp_forward(&c.net, c.X, c.Y, mc);
	g = malloc(c.n_params * sizeof(double));
	mlp_backward(&c.net, mc, g);
	for (int k = 0; k < 2; k++) {
		const double *ref = k ? c.grad : g;

		check_all(&c.net, mc, ref, 1e-6, &res);
		if (res.r.kinks == 0)
			ck_assert_msg(res.r.verdict == GC_PASS, "case %d/%d: rel %.3g", _i, k,
				      res.r.relative_error);
		check_all(&c.net, mc, ref, 1e-7, &res);
		if (res.r.kinks == 0)
			ck_assert_msg(res.r.verdict <= GC_WARN, "case %d/%d: rel %.3g", _i, k,
				      res.r.relative_error);
		ck_assert(res.r.verdict != GC_FAIL);
	}
	free(g);
	mlp_cache_free(mc);
	torch_case_free(&c);
}
END_TEST

/* Planted bugs on smooth fixtures: 0 = dW<last> doubled, 1 = a square block
 * transposed, 2 = L2 term left out of the gradient. */
START_TEST(planted_bugs_fail_and_blame_the_right_block)
{
	size_t n = torch_case_count(root);
	int tried = 0;

	for (size_t i = 0; i < n - 2; i++) {
		struct torch_case c;
		struct mlp_cache *mc;
		double *g;
		struct result res;
		struct gc_block blocks[8];
		size_t nb, target = 0;

		ck_assert_int_eq(torch_case_get(root, i, &c), 0);
		if (!torch_case_is_smooth(&c) || (_i == 1 && c.L < 3) || (_i == 2 && c.l2 == 0)) {
			torch_case_free(&c);
			continue;
		}
		nb = make_blocks(&c.net, blocks);
		mc = mlp_cache_new(&c.net, c.m);
		mlp_forward(&c.net, c.X, c.Y, mc);
		g = malloc(c.n_params * sizeof(double));
		mlp_backward(&c.net, mc, g);
		if (_i == 0) {
			target = nb - 2;
			for (size_t k = 0; k < blocks[target].rows * blocks[target].cols; k++)
				g[blocks[target].offset + k] *= 2;
		} else if (_i == 1) {
			/* [3,4,4,2]: W2 is 4 x 4 */
			double *w = g + blocks[2].offset;

			target = 2;
			ck_assert_uint_eq(blocks[2].rows, blocks[2].cols);
			for (size_t r = 0; r < 4; r++)
				for (size_t k = r + 1; k < 4; k++) {
					double t = w[r * 4 + k];

					w[r * 4 + k] = w[k * 4 + r];
					w[k * 4 + r] = t;
				}
		} else {
			struct mlp net0 = c.net;
			struct mlp_cache *m0;

			net0.l2 = 0;
			m0 = mlp_cache_new(&net0, c.m);
			mlp_forward(&net0, c.X, c.Y, m0);
			mlp_backward(&net0, m0, g);
			mlp_cache_free(m0);
		}
		check_all(&c.net, mc, g, 1e-7, &res);
		ck_assert_msg(res.r.verdict != GC_PASS, "fixture %zu bug %d passed", i, _i);
		if (_i < 2) {
			ck_assert_msg(res.r.verdict == GC_FAIL, "fixture %zu bug %d: %s", i, _i,
				      gc_verdict_name(res.r.verdict));
			ck_assert_uint_eq(res.worst_block, target);
			ck_assert_uint_eq(res.br[target].verdict, GC_FAIL);
			for (size_t b = 0; b < nb; b++)
				if (b != target)
					ck_assert_uint_eq(res.br[b].verdict, GC_PASS);
		} else {
			/* missing L2: every W block is off, no b block */
			ck_assert_uint_eq(res.worst_block % 2, 0);
			for (size_t b = 0; b < nb; b++)
				ck_assert(b % 2 == 0 ? res.br[b].verdict != GC_PASS
						     : res.br[b].verdict == GC_PASS);
		}
		tried++;
		free(g);
		mlp_cache_free(mc);
		torch_case_free(&c);
	}
	ck_assert_int_gt(tried, 0);
}
END_TEST

/* The engine's costs equal the naive loop's (full forward passes) within
 * rounding; numeric gradients then agree within the finite-difference
 * rounding noise, 8 u |J| / eps, plus the representation error of theta+eps,
 * and the relative errors within the noise floor the check reports. */
START_TEST(engine_matches_the_naive_loop)
{
	struct torch_case c;
	struct mlp_cache *mc;
	struct gc_mlp cf, cn;
	struct gc_source sf, sn;
	double eps = 1e-5, *nf, *nn, *pf, *pn, *cost_f, *cost_n, *wf, *wn;
	struct gc_run run = {eps, 1, 0, NULL, 0, NULL, NULL};
	size_t n, *coords, *idx;
	bool *kf, *kn;

	ck_assert_int_eq(torch_case_get(root, (size_t)_i, &c), 0);
	n = c.n_params;
	mc = mlp_cache_new(&c.net, c.m);
	mlp_forward(&c.net, c.X, c.Y, mc);
	gc_mlp_source(&sf, &cf, &c.net, mc, true);
	gc_mlp_source(&sn, &cn, &c.net, mc, false);
	coords = malloc(n * sizeof(size_t));
	idx = malloc(2 * n * sizeof(size_t));
	nf = malloc(n * sizeof(double));
	nn = malloc(n * sizeof(double));
	pf = malloc(2 * n * sizeof(double));
	pn = malloc(2 * n * sizeof(double));
	cost_f = malloc(2 * n * sizeof(double));
	cost_n = malloc(2 * n * sizeof(double));
	kf = malloc(2 * n * sizeof(bool));
	kn = malloc(2 * n * sizeof(bool));
	wf = malloc(sf.work * sizeof(double));
	wn = malloc(sn.work * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		coords[i] = i;
		idx[2 * i] = idx[2 * i + 1] = i;
		pf[2 * i] = eps;
		pf[2 * i + 1] = -eps;
	}
	ck_assert_int_eq(gradcheck_coords(&sf, &run, coords, n, nf, kf), GC_OK);
	ck_assert_int_eq(gradcheck_coords(&sn, &run, coords, n, nn, kn), GC_OK);
	for (size_t i = 0; i < n; i++) {
		double tol = 8 * 2.2e-16 * fabs(mc->cost) / eps +
			     4 * 2.2e-16 * fabs(c.theta[i]) / eps * fabs(nn[i]) + 1e-300;

		ck_assert_msg(fabs(nf[i] - nn[i]) <= tol, "case %d coord %zu: %.17g vs %.17g",
			      _i, i, nf[i], nn[i]);
		ck_assert(kf[i] == kn[i]);
	}
	/* the relative errors against torch's gradient agree within the noise
	 * floor the check reports (issue 16) */
	{
		size_t *blk = calloc(n, sizeof(size_t)), *pos = malloc(n * sizeof(size_t)), w[1];
		double *steps = malloc(n * sizeof(double)), rf, rn;
		struct gc_thresholds th = {GC_DEFAULT_PASS, GC_DEFAULT_WARN, GC_DEFAULT_FAIL};
		struct gc_block_report br;
		struct gc_report rep = {.blocks = &br, .worst = w};

		for (size_t i = 0; i < n; i++) {
			pos[i] = i;
			steps[i] = eps;
		}
		gradcheck_compare(c.grad, nn, NULL, blk, pos, n, 1, &th, 1, &rep);
		rn = rep.relative_error;
		gradcheck_compare(c.grad, nf, NULL, blk, pos, n, 1, &th, 1, &rep);
		rf = rep.relative_error;
		gradcheck_noise_floor(mc->cost, steps, c.grad, nf, blk, n, 1, &rep);
		ck_assert_msg(fabs(rf - rn) <= rep.noise_floor,
			      "case %d: engine %.3e, naive loop %.3e, noise floor %.3e",
			      _i, rf, rn, rep.noise_floor);
		free(blk);
		free(pos);
		free(steps);
	}
	/* the costs themselves, through the source interface */
	for (size_t t = 0; t < 2 * n; t += sf.batch) {
		size_t cnt = 2 * n - t < sf.batch ? 2 * n - t : sf.batch;

		ck_assert_int_eq(sf.coord_costs(sf.ctx, wf, idx + t, pf + t, cnt, cost_f + t, kf), 0);
	}
	for (size_t t = 0; t < 2 * n; t++)
		ck_assert_int_eq(sn.coord_costs(sn.ctx, wn, idx + t, pf + t, 1, cost_n + t, kn), 0);
	for (size_t t = 0; t < 2 * n; t++)
		ck_assert_msg(fabs(cost_f[t] - cost_n[t]) <= 1e-13 * fabs(cost_n[t]) +
			      4 * 2.2e-16 * fabs(c.theta[idx[t]]) * 10,
			      "case %d pert %zu: %.17g vs %.17g", _i, t, cost_f[t], cost_n[t]);
	free(coords);
	free(idx);
	free(nf);
	free(nn);
	free(pf);
	free(pn);
	free(cost_f);
	free(cost_n);
	free(kf);
	free(kn);
	free(wf);
	free(wn);
	mlp_cache_free(mc);
	torch_case_free(&c);
}
END_TEST

/* A larger random network, deterministic from a seed. */
struct bignet {
	size_t dims[5];
	enum mlp_act act[4];
	double *X, *Y, *theta;
	struct mlp net;
	struct mlp_cache *mc;
	size_t n;
};

static double xrand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void bignet_init(struct bignet *b, enum mlp_act hidden, size_t m)
{
	static const size_t dims[] = {23, 17, 31, 9, 4};
	uint64_t s = 0x5eed;

	memcpy(b->dims, dims, sizeof(dims));
	for (size_t l = 0; l < 3; l++)
		b->act[l] = hidden;
	b->act[3] = MLP_SOFTMAX;
	b->n = mlp_n_params(b->dims, 4);
	b->X = malloc(b->dims[0] * m * sizeof(double));
	b->Y = calloc(b->dims[4] * m, sizeof(double));
	b->theta = malloc(b->n * sizeof(double));
	for (size_t i = 0; i < b->dims[0] * m; i++)
		b->X[i] = xrand(&s);
	for (size_t j = 0; j < m; j++)
		b->Y[(j % 4) * m + j] = 1;
	for (size_t i = 0; i < b->n; i++)
		b->theta[i] = 0.5 * xrand(&s);
	b->net = (struct mlp){4, b->dims, b->act, MLP_CCE, 0.3, b->theta};
	b->mc = mlp_cache_new(&b->net, m);
	mlp_forward(&b->net, b->X, b->Y, b->mc);
}

static void bignet_free(struct bignet *b)
{
	mlp_cache_free(b->mc);
	free(b->X);
	free(b->Y);
	free(b->theta);
}

START_TEST(numeric_values_are_bit_identical_for_any_thread_count)
{
	struct bignet b;
	struct gc_mlp ctx;
	struct gc_source src;
	struct gc_block blocks[8];
	size_t threads[] = {1, 2, 3, 8}, *coords, nb, k = 40;
	double *ref = NULL, *num, *g, *da, *dn, *dref = NULL;
	bool *kink;

	bignet_init(&b, _i ? MLP_RELU : MLP_TANH, 7);
	nb = make_blocks(&b.net, blocks);
	gc_mlp_source(&src, &ctx, &b.net, b.mc, true);
	coords = malloc(b.n * sizeof(size_t));
	num = malloc(b.n * sizeof(double));
	kink = malloc(b.n * sizeof(bool));
	g = malloc(b.n * sizeof(double));
	da = malloc(k * sizeof(double));
	dn = malloc(k * sizeof(double));
	mlp_backward(&b.net, b.mc, g);
	for (size_t i = 0; i < b.n; i++)
		coords[i] = i;
	for (size_t t = 0; t < 4; t++) {
		struct gc_run run = {1e-6, threads[t], 0, NULL, 0, NULL, NULL};

		ck_assert_int_eq(gradcheck_coords(&src, &run, coords, b.n, num, kink), GC_OK);
		ck_assert_int_eq(gradcheck_directions(&src, &run, blocks, nb, g, k, 7, da, dn,
						      kink), GC_OK);
		if (!ref) {
			ref = malloc(b.n * sizeof(double));
			dref = malloc(k * sizeof(double));
			memcpy(ref, num, b.n * sizeof(double));
			memcpy(dref, dn, k * sizeof(double));
			continue;
		}
		ck_assert(memcmp(ref, num, b.n * sizeof(double)) == 0);
		ck_assert(memcmp(dref, dn, k * sizeof(double)) == 0);
	}
	free(ref);
	free(dref);
	free(coords);
	free(num);
	free(kink);
	free(g);
	free(da);
	free(dn);
	bignet_free(&b);
}
END_TEST

/* A source that takes directional evaluations in chunks (dir_costs, as the
 * oracle does) around the network's dir_cost; counts the calls running at
 * once, which max_threads = 1 must keep at 1. */
struct batched {
	struct gc_source inner, s;
	atomic_int running, most;
	size_t calls;
};

static int batched_dir_costs(void *ctx, double *work, const struct gc_dir *d,
			     size_t n, double *cost, bool *kink)
{
	struct batched *bt = ctx;
	int now = atomic_fetch_add(&bt->running, 1) + 1;
	int rc = 0;

	if (now > atomic_load(&bt->most))
		atomic_store(&bt->most, now);
	bt->calls++;
	for (size_t t = 0; t < n && rc == 0; t++)
		rc = bt->inner.dir_cost(bt->inner.ctx, work, d[t].off, d[t].u, d[t].len,
					d[t].delta, &cost[t], &kink[t]);
	atomic_fetch_sub(&bt->running, 1);
	return rc;
}

START_TEST(batched_directions_are_bit_identical_to_dir_cost)
{
	struct bignet b;
	struct gc_mlp ctx;
	struct gc_source src;
	struct batched bt;
	struct gc_block blocks[8];
	size_t nb, k = 40, per[] = {1, 3, 40, 64};
	double *g, *da, *dn, *ra, *rn;
	bool *kink, *rk;
	struct gc_run run = {1e-6, 4, 0, NULL, 0, NULL, NULL};

	bignet_init(&b, _i ? MLP_RELU : MLP_TANH, 7);
	nb = make_blocks(&b.net, blocks);
	gc_mlp_source(&src, &ctx, &b.net, b.mc, true);
	g = malloc(b.n * sizeof(double));
	da = malloc(4 * k * sizeof(double));
	dn = da + k;
	ra = dn + k;
	rn = ra + k;
	kink = malloc(2 * k * sizeof(bool));
	rk = kink + k;
	mlp_backward(&b.net, b.mc, g);
	ck_assert_int_eq(gradcheck_directions(&src, &run, blocks, nb, g, k, 7, ra, rn, rk),
			 GC_OK);
	for (size_t q = 0; q < sizeof(per) / sizeof(per[0]); q++) {
		memset(&bt, 0, sizeof(bt));
		atomic_init(&bt.running, 0);
		atomic_init(&bt.most, 0);
		bt.inner = src;
		bt.s = src;
		bt.s.dir_cost = NULL;
		bt.s.dir_costs = batched_dir_costs;
		bt.s.dir_batch = per[q];
		bt.s.max_threads = 1;
		bt.s.ctx = &bt;
		ck_assert_int_eq(gradcheck_directions(&bt.s, &run, blocks, nb, g, k, 7, da, dn,
						      kink), GC_OK);
		ck_assert(memcmp(ra, da, k * sizeof(double)) == 0);
		ck_assert(memcmp(rn, dn, k * sizeof(double)) == 0);
		ck_assert(memcmp(rk, kink, k * sizeof(bool)) == 0);
		ck_assert_uint_eq(bt.calls, (k + per[q] - 1) / per[q]);
		ck_assert_int_eq(atomic_load(&bt.most), 1);
	}
	bt.s.dir_batch = 0;
	ck_assert_int_eq(gradcheck_directions(&bt.s, &run, blocks, nb, g, k, 7, da, dn, kink),
			 GC_EINVAL);
	free(g);
	free(da);
	free(kink);
	bignet_free(&b);
}
END_TEST

START_TEST(directions_pass_on_correct_gradients_and_fail_on_a_planted_bug)
{
	struct bignet b;
	struct gc_mlp ctx;
	struct gc_source src;
	struct gc_block blocks[8];
	struct gc_block_report br[8];
	size_t nb, k = 24, blk[24], pos[24], worst[3];
	double g[2000], da[24], dn[24];
	bool kink[24];
	struct gc_run run = {1e-6, 2, 0, NULL, 0, NULL, NULL};
	struct gc_thresholds th = {GC_DEFAULT_PASS, GC_DEFAULT_WARN, GC_DEFAULT_FAIL};
	struct gc_report r = {.blocks = br, .worst = worst};

	bignet_init(&b, MLP_TANH, 6);
	ck_assert_uint_le(b.n, 2000);
	nb = make_blocks(&b.net, blocks);
	gc_mlp_source(&src, &ctx, &b.net, b.mc, true);
	mlp_backward(&b.net, b.mc, g);
	ck_assert_int_eq(gradcheck_directions(&src, &run, blocks, nb, g, k, 11, da, dn, kink),
			 GC_OK);
	for (size_t t = 0; t < k; t++) {
		blk[t] = t % nb;
		pos[t] = t;
	}
	gradcheck_compare(da, dn, kink, blk, pos, k, nb, &th, 3, &r);
	ck_assert_msg(r.verdict == GC_PASS, "rel %.3g", r.relative_error);
	for (size_t t = 0; t < nb; t++)
		ck_assert_uint_eq(br[t].n_checked, k / nb);
	/* dW3 doubled: only directions within W3 (block 4) disagree */
	for (size_t i = 0; i < blocks[4].rows * blocks[4].cols; i++)
		g[blocks[4].offset + i] *= 2;
	ck_assert_int_eq(gradcheck_directions(&src, &run, blocks, nb, g, k, 11, da, dn, kink),
			 GC_OK);
	gradcheck_compare(da, dn, kink, blk, pos, k, nb, &th, 3, &r);
	ck_assert_uint_eq(r.verdict, GC_FAIL);
	ck_assert_uint_eq(br[4].verdict, GC_FAIL);
	for (size_t t = 0; t < nb; t++)
		if (t != 4)
			ck_assert_uint_eq(br[t].verdict, GC_PASS);
	ck_assert_uint_eq(blk[worst[0]], 4);
	bignet_free(&b);
}
END_TEST

/* Layer 1 ReLU with Z1[0] = 5e-8 on sample 0: a step of 1e-7 on b1[0]
 * crosses 0 (a kink); on b1[1] (Z1[1] far from 0) it does not. */
START_TEST(kinks_are_detected_where_a_relu_input_crosses_zero)
{
	size_t dims[] = {2, 2, 1}, coords[9], blk[9], pos[9], worst[9], nb;
	enum mlp_act act[] = {MLP_RELU, MLP_LINEAR};
	/* W1 = [[1, 0], [0, 1]], b1 = [5e-8 - x00, 1 - x01]... set via X */
	double theta[] = {1, 0, 0, 1, 0, 0, 0.7, -0.4, 0.1};
	double X[] = {5e-8, 0.8, 2.0, 0.5};   /* n0 x m = 2 x 2 */
	double Y[] = {0.3, -0.2}, g[9], num[9];
	bool kink[9];
	struct mlp net = {2, dims, act, MLP_MSE, 0.0, theta};
	struct mlp_cache *mc = mlp_cache_new(&net, 2);
	struct gc_mlp ctx;
	struct gc_source src;
	struct gc_block blocks[4];
	struct gc_block_report br[4];
	struct gc_run run = {1e-7, 1, 0, NULL, 0, NULL, NULL};
	struct gc_thresholds th = {GC_DEFAULT_PASS, GC_DEFAULT_WARN, GC_DEFAULT_FAIL};
	struct gc_report r = {.blocks = br, .worst = worst};

	mlp_forward(&net, X, Y, mc);
	ck_assert_double_eq(mc->Z[1][0], 5e-8);
	mlp_backward(&net, mc, g);
	nb = make_blocks(&net, blocks);
	gc_mlp_source(&src, &ctx, &net, mc, true);
	for (size_t i = 0; i < 9; i++)
		coords[i] = i;
	ck_assert_int_eq(gradcheck_coords(&src, &run, coords, 9, num, kink), GC_OK);
	/* W1[0][0] moves Z1[0][0] by 1e-7 * 5e-8 only: no crossing;
	 * W1[0][1] by 1e-7 * 0.8 > 5e-8 and b1[0] by 1e-7: crossing */
	ck_assert(!kink[0]);
	ck_assert(kink[1]);
	ck_assert(kink[4]);
	ck_assert(!kink[2] && !kink[3] && !kink[5]);
	ck_assert(!kink[6] && !kink[7] && !kink[8]);
	gradcheck_locate(blocks, nb, coords, 9, blk, pos);
	gradcheck_compare(g, num, kink, blk, pos, 9, nb, &th, 9, &r);
	ck_assert_uint_eq(r.kinks, 2);
	/* the kink coordinates are the worst (the one-sided slopes differ) */
	ck_assert(kink[worst[0]]);
	mlp_cache_free(mc);
}
END_TEST

START_TEST(sampling_is_deterministic_distinct_and_covers_every_block)
{
	struct gc_block blocks[] = {
		{"W1", 0, 30, 40}, {"b1", 1200, 30, 1}, {"W2", 1230, 2, 30}, {"b2", 1290, 2, 1},
	};
	size_t ks[] = {4, 5, 50, 700, 1292}, a[1292], b[1292], blk[1292], pos[1292];

	for (size_t q = 0; q < 5; q++) {
		size_t k = ks[q], per[4] = {0};

		memset(a, 0xff, sizeof(a));   /* unwritten entries fail the range check */
		ck_assert_int_eq(gradcheck_sample(blocks, 4, k, 42, a), GC_OK);
		ck_assert_int_eq(gradcheck_sample(blocks, 4, k, 42, b), GC_OK);
		ck_assert(memcmp(a, b, k * sizeof(size_t)) == 0);
		for (size_t t = 1; t < k; t++)
			ck_assert_uint_lt(a[t - 1], a[t]);
		ck_assert_uint_lt(a[k - 1], 1292);
		if (k < 1292)
			ck_assert_uint_eq(a[k], SIZE_MAX);   /* exactly k written */
		gradcheck_locate(blocks, 4, a, k, blk, pos);
		for (size_t t = 0; t < k; t++)
			per[blk[t]]++;
		for (size_t t = 0; t < 4; t++)
			ck_assert_uint_ge(per[t], 1);
		if (k == 700) {
			/* proportional: W1 holds 93% of the coordinates */
			ck_assert_uint_gt(per[0], 600);
			ck_assert_int_eq(gradcheck_sample(blocks, 4, k, 43, b), GC_OK);
			ck_assert(memcmp(a, b, k * sizeof(size_t)) != 0);
		}
	}
	ck_assert_int_eq(gradcheck_sample(blocks, 4, 3, 42, a), GC_EINVAL);
	ck_assert_int_eq(gradcheck_sample(blocks, 4, 1293, 42, a), GC_EINVAL);
}
END_TEST

static _Atomic uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now++;
}

START_TEST(an_expired_deadline_stops_the_engine)
{
	struct bignet b;
	struct gc_mlp ctx;
	struct gc_source src;
	size_t *coords;
	double *num;
	bool *kink;
	struct gc_run run = {1e-7, (size_t)_i + 1, 5, fake_clock, 0, NULL, NULL};

	bignet_init(&b, MLP_TANH, 5);
	gc_mlp_source(&src, &ctx, &b.net, b.mc, false);
	coords = malloc(b.n * sizeof(size_t));
	num = malloc(b.n * sizeof(double));
	kink = malloc(b.n * sizeof(bool));
	for (size_t i = 0; i < b.n; i++)
		coords[i] = i;
	fake_now = 0;
	ck_assert_int_eq(gradcheck_coords(&src, &run, coords, b.n, num, kink), GC_EDEADLINE);
	ck_assert_uint_le(fake_now, 5 + 2 * run.nthreads);
	free(coords);
	free(num);
	free(kink);
	bignet_free(&b);
}
END_TEST

START_TEST(compare_computes_the_relative_error_by_hand)
{
	/* ||(0,0,-1)|| / (||(1,2,3)|| + ||(1,2,4)||) = 1 / (sqrt 14 + sqrt 21) */
	double a[] = {1, 2, 3}, n[] = {1, 2, 4}, z[] = {0, 0, 0};
	size_t blk[] = {0, 0, 1}, pos[] = {0, 1, 0}, worst[3];
	struct gc_block_report br[2];
	struct gc_thresholds th = {GC_DEFAULT_PASS, GC_DEFAULT_WARN, GC_DEFAULT_FAIL};
	struct gc_report r = {.blocks = br, .worst = worst};

	gradcheck_compare(a, n, NULL, blk, pos, 3, 2, &th, 2, &r);
	ck_assert_double_eq_tol(r.relative_error, 1 / (sqrt(14) + sqrt(21)), 1e-16);
	ck_assert_uint_eq(r.verdict, GC_FAIL);
	ck_assert_double_eq(br[0].relative_error, 0);
	ck_assert_uint_eq(br[0].verdict, GC_PASS);
	ck_assert_double_eq_tol(br[1].relative_error, 1.0 / 7.0, 1e-16);
	ck_assert_double_eq(br[1].max_abs_error, 1);
	ck_assert_uint_eq(r.n_worst, 2);
	ck_assert_uint_eq(worst[0], 2);
	ck_assert_uint_eq(worst[1], 0); /* ties (0 error) keep the earlier item */
	gradcheck_compare(z, z, NULL, blk, pos, 3, 2, &th, 5, &r);
	ck_assert_double_eq(r.relative_error, 0);
	ck_assert_uint_eq(r.verdict, GC_PASS);
	ck_assert_uint_eq(r.n_worst, 3);
	/* huge entries do not overflow the norms */
	a[0] = 1e300;
	n[0] = -1e300;
	gradcheck_compare(a, n, NULL, blk, pos, 3, 2, &th, 0, &r);
	ck_assert_double_eq_tol(r.relative_error, 1.0, 1e-15);
	ck_assert_uint_eq(r.n_worst, 0);
}
END_TEST

/* Relative error of n items in one block (and in blocks 0/1 by parity). */
static double rel_of(const double *a, const double *nu, size_t n,
		     struct gc_block_report *br)
{
	size_t blk[8], pos[8], worst[8];
	struct gc_thresholds th = {GC_DEFAULT_PASS, GC_DEFAULT_WARN, GC_DEFAULT_FAIL};
	struct gc_report r = {.blocks = br, .worst = worst};

	ck_assert_uint_le(n, 8);
	for (size_t t = 0; t < n; t++) {
		blk[t] = t % 2;
		pos[t] = t / 2;
	}
	gradcheck_compare(a, nu, NULL, blk, pos, n, 2, &th, n, &r);
	return r.relative_error;
}

/* Huge gradients: norms of sqrt(k) DBL_MAX and differences of 2 DBL_MAX
 * overflow a double, the relative error does not; it equals the one of the
 * same vectors scaled down (exactly for a power of two). */
static const double huge[][2][4] = {
	{ { 1.5e308, 1.5e308, 1e308, -1e308 },
	  { 1.5e308, 1.4e308, 1e308, -1e308 } },
	/* tests/fuzz/corpus/gradcheck/vector_huge, and more */
	{ { DBL_MAX, -DBL_MAX, 1, 0 }, { -DBL_MAX, 1e308, 1, 0 } },
	{ { 3e300, -4e300, 1e300, 2e300 }, { 3e300, -4e300, 1e300, 2.5e300 } },
	{ { DBL_MAX, DBL_MAX, DBL_MAX, DBL_MAX },
	  { DBL_MAX, DBL_MAX, DBL_MAX, 0x1p1023 } },
};

START_TEST(compare_relative_error_is_finite_for_huge_gradients)
{
	double a2[4], n2[4], a3[4], n3[4], e, e2, e3;
	struct gc_block_report br[2], br2[2];
	const double *a = huge[_i][0], *nu = huge[_i][1];

	for (size_t t = 0; t < 4; t++) {
		a2[t] = ldexp(a[t], -1000);
		n2[t] = ldexp(nu[t], -1000);
		a3[t] = a[t] / 1e300;
		n3[t] = nu[t] / 1e300;
	}
	e = rel_of(a, nu, 4, br);
	e2 = rel_of(a2, n2, 4, br2);
	e3 = rel_of(a3, n3, 4, br2);
	ck_assert_msg(isfinite(e) && e >= 0 && e <= 1, "e = %g", e);
	ck_assert_double_eq(e, e2);
	ck_assert_double_eq_tol(e, e3, 1e-15 * fmax(e, 1e-300));
	rel_of(a2, n2, 4, br2);
	for (size_t b = 0; b < 2; b++) {
		ck_assert(isfinite(br[b].relative_error));
		ck_assert_double_eq(br[b].relative_error, br2[b].relative_error);
	}
	/* |a - n| itself is reported where it fits, else found first */
	ck_assert_uint_eq(gradcheck_first_overflow(a, nu, 4), _i == 1 ? 0 : 4);
	ck_assert_uint_eq(gradcheck_first_overflow(a2, n2, 4), 4);
	if (_i == 1) {
		ck_assert(isinf(br[0].max_abs_error));
		ck_assert(isinf(br[1].max_abs_error));
	}
}
END_TEST

START_TEST(compare_relative_error_is_exact_under_power_of_two_scaling)
{
	/* no overflow anywhere: the scaled formula rounds like the plain one */
	const double a[] = {1, 2, 3, -0.5}, nu[] = {1, 2, 4, -0.25};
	double as[4], ns[4], e;
	struct gc_block_report br[2];

	e = rel_of(a, nu, 4, br);
	ck_assert_double_eq_tol(e, sqrt(1.0625) /
				(sqrt(14.25) + sqrt(21.0625)), 1e-16);
	for (int k = -1060; k <= 1020; k += 10) {
		for (size_t t = 0; t < 4; t++) {
			as[t] = ldexp(a[t], k);
			ns[t] = ldexp(nu[t], k);
		}
		ck_assert_double_eq(rel_of(as, ns, 4, br), e);
	}
	ck_assert_uint_eq(gradcheck_first_overflow(a, nu, 4), 4);
}
END_TEST

static const struct {
	double e;
	enum gc_verdict v;
} tiers[] = {
	{0, GC_PASS}, {2e-7, GC_PASS}, {2.1e-7, GC_WARN}, {1e-5, GC_WARN},
	{1.1e-5, GC_SUSPECT}, {1e-3, GC_SUSPECT}, {1.1e-3, GC_FAIL}, {1, GC_FAIL},
};

/* gradcheck_noise_floor by hand: r_t = u |J| / eps_t over ||a|| + ||n||. */
START_TEST(noise_floor_by_hand)
{
	const double a[4] = {3, 4, 0, 1}, eps[4] = {1e-7, 1e-7, 2e-7, 2e-7};
	const size_t blk[4] = {0, 0, 1, 1}, pos[4] = {0, 1, 0, 1};
	struct gc_thresholds th = {GC_DEFAULT_PASS, GC_DEFAULT_WARN, GC_DEFAULT_FAIL};
	struct gc_block_report br[2];
	size_t worst[4];
	struct gc_report r = {.blocks = br, .worst = worst};
	double u = 0x1p-53, J = -2;

	gradcheck_compare(a, a, NULL, blk, pos, 4, 2, &th, 4, &r);
	ck_assert(isnan(r.noise_floor) && isnan(br[0].noise_floor));
	gradcheck_noise_floor(J, eps, a, a, blk, 4, 2, &r);
	ck_assert_double_eq_tol(br[0].noise_floor, sqrt(2.0) * 2e7 * u / 10, 1e-24);
	ck_assert_double_eq_tol(br[1].noise_floor, sqrt(2.0) * 1e7 * u / 2, 1e-24);
	ck_assert_double_eq_tol(r.noise_floor, sqrt(10.0) * 1e7 * u / (2 * sqrt(26.0)), 1e-24);
	gradcheck_noise_floor(NAN, eps, a, a, blk, 4, 2, &r);
	ck_assert(isnan(r.noise_floor) && isnan(br[1].noise_floor));
}
END_TEST

/* Automatic steps: cbrt(u) max(1, |theta_i|), the block's largest for
 * directions. */
START_TEST(auto_steps_by_hand)
{
	const double theta[4] = {0.5, -3, 1e-9, 2};
	const struct gc_block blocks[2] = {{"A", 0, 2, 1}, {"B", 2, 1, 2}};
	double ce[4], be[2], c = cbrt(0x1p-53);

	ck_assert_double_eq_tol(GC_AUTO_EPS_SCALE, c, 4e-21);
	gradcheck_auto_eps(theta, 4, blocks, 2, ce, be);
	ck_assert_double_eq(ce[0], GC_AUTO_EPS_SCALE);
	ck_assert_double_eq(ce[1], 3 * GC_AUTO_EPS_SCALE);
	ck_assert_double_eq(ce[2], GC_AUTO_EPS_SCALE);
	ck_assert_double_eq(ce[3], 2 * GC_AUTO_EPS_SCALE);
	ck_assert_double_eq(be[0], 3 * GC_AUTO_EPS_SCALE);
	ck_assert_double_eq(be[1], 2 * GC_AUTO_EPS_SCALE);
}
END_TEST

START_TEST(verdict_tiers_include_their_upper_bound)
{
	struct gc_thresholds th = {GC_DEFAULT_PASS, GC_DEFAULT_WARN, GC_DEFAULT_FAIL};

	ck_assert_uint_eq(gc_verdict_of(tiers[_i].e, &th), tiers[_i].v);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("gradcheck");
	TCase *tc = tcase_create("torch");
	TCase *te = tcase_create("engine");
	TCase *tm = tcase_create("compare");
	cJSON *r = torch_case_load();
	int n = r ? (int)torch_case_count(r) : 1;

	cJSON_Delete(r);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, correct_gradients_pass, 0, n);
	tcase_add_loop_test(tc, planted_bugs_fail_and_blame_the_right_block, 0, 3);
	tcase_add_loop_test(tc, engine_matches_the_naive_loop, 0, n);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(te, numeric_values_are_bit_identical_for_any_thread_count, 0, 2);
	tcase_add_loop_test(te, batched_directions_are_bit_identical_to_dir_cost, 0, 2);
	tcase_add_test(te, directions_pass_on_correct_gradients_and_fail_on_a_planted_bug);
	tcase_add_test(te, kinks_are_detected_where_a_relu_input_crosses_zero);
	tcase_add_test(te, sampling_is_deterministic_distinct_and_covers_every_block);
	tcase_add_loop_test(te, an_expired_deadline_stops_the_engine, 0, 3);
	suite_add_tcase(s, te);
	tcase_add_test(tm, compare_computes_the_relative_error_by_hand);
	tcase_add_test(tm, noise_floor_by_hand);
	tcase_add_test(tm, auto_steps_by_hand);
	tcase_add_loop_test(tm, compare_relative_error_is_finite_for_huge_gradients,
			    0, (int)(sizeof(huge) / sizeof(huge[0])));
	tcase_add_test(tm, compare_relative_error_is_exact_under_power_of_two_scaling);
	tcase_add_loop_test(tm, verdict_tiers_include_their_upper_bound, 0,
			    (int)(sizeof(tiers) / sizeof(tiers[0])));
	suite_add_tcase(s, tm);
	return s;
}

int main(void)
{
	return suite_run(suite());
}
