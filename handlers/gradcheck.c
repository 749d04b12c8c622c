/* POST /gradcheck: checks a gradient against centered finite differences of
 * a network the service evaluates itself (source "model") or of a client's
 * cost endpoint (source "oracle", oracle.c), or compares two gradients a
 * client computed (source "vector"). See API.md. */
#include "gradcheck_internal.h"

#include "core/alloc.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

/* The steps of an "auto" check: steps is caller storage of n_params + nb
 * doubles, run then points into it. Does nothing for a fixed epsilon. */
static void auto_steps(const struct opts *o, const double *theta, size_t np,
		       const struct gc_block *blocks, size_t nb, double *steps,
		       struct gc_run *run)
{
	if (!o->eps_auto)
		return;
	gradcheck_auto_eps(theta, np, blocks, nb, steps, steps + np);
	run->coord_eps = steps;
	run->block_eps = steps + np;
}

/* Runs the check in o's mode over n items: directions (item t is a random
 * unit direction within block t mod nb) or coordinates (all, or a seeded
 * sample), filling numeric values, kinks, each item's block, position and
 * step, and the analytic values from grad. names is appended to the
 * directions warning (e.g. " (W1, b1, ...)"). */
static enum gc_status run_check(const struct opts *o,
				const struct gc_source *src, struct gc_run *run,
				const struct gc_block *blocks, size_t nb,
				const double *grad, size_t n, size_t *coords,
				double *ana, double *num, bool *kink,
				size_t *bidx, size_t *pos, double *eps,
				struct warnings *wn, const char *names)
{
	enum gc_status st;

	if (o->mode == CHECK_DIRECTIONS) {
		st = gradcheck_directions(src, run, blocks, nb, grad, n,
					  o->seed, ana, num, kink);
		for (size_t t = 0; t < n; t++) {
			bidx[t] = t % nb;
			pos[t] = t;
			eps[t] = run->block_eps ? run->block_eps[t % nb] : run->epsilon;
		}
		gch_warn(wn, "directions mode: direction t is a random unit vector within block t mod %zu%s; "
		     "block errors compare that block's directional derivatives; worst items and a block's "
		     "worst_direction give direction numbers", nb, names);
		return st;
	}
	if (o->mode == CHECK_SAMPLE) {
		st = gradcheck_sample(blocks, nb, n, o->seed, coords);
		if (st != GC_OK)
			return st;
	} else {
		for (size_t i = 0; i < n; i++)
			coords[i] = i;
	}
	st = gradcheck_coords(src, run, coords, n, num, kink);
	gradcheck_locate(blocks, nb, coords, n, bidx, pos);
	for (size_t t = 0; t < n; t++) {
		ana[t] = grad[coords[t]];
		eps[t] = run->coord_eps ? run->coord_eps[coords[t]] : run->epsilon;
	}
	return st;
}

static size_t thread_count(size_t items)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (items < GC_MIN_PARALLEL || n < 2)
		return 1;
	return n > GC_MAX_HANDLER_THREADS ? GC_MAX_HANDLER_THREADS : (size_t)n;
}

/* ---- model source ------------------------------------------------------------ */

static const char *const model_top_keys[] = {
	"model", "parameters", "X", "Y", "layout", "gradients",
	"return_gradients", "keep_prob", "epsilon", "thresholds", "check", "top",
	"deadline_ms", NULL
};

static void handle_model(struct hctx *ctx, const cJSON *body, struct hres *res,
			 uint64_t t0)
{
	const struct limits *lim = ctx->limits;
	struct problem *p = &res->problem;
	struct model md;
	struct opts o;
	struct warnings wn;
	struct outcome oc;
	struct mlp net;
	struct mlp_cache *mc = NULL;
	struct gc_mlp gsrc;
	struct gc_source src;
	struct gc_run run;
	unsigned char *blk = NULL;
	size_t n = 0, np, *coords, *bidx, *pos, *worst;
	double *own, *reg, *steps, *ana, *num, *eps, dn = 0, rn = 0;
	bool *kink, given_grad;
	const cJSON *gnode = NULL;
	struct gc_block_report *brep;
	enum gc_status st;

	memset(&md, 0, sizeof(md));
	memset(&oc, 0, sizeof(oc));
	wn.n = 0;
	if (json_check_object(body, "", model_top_keys, p) < 0 ||
	    gch_parse_common(body, ctx, t0, &o, p) < 0 ||
	    json_get_bool(body, "", "return_gradients", 0, false, &o.return_gradients, p) < 0 ||
	    gch_parse_network(body, lim, &md, p) < 0 || gch_layout_blocks(&md, p) < 0 ||
	    gch_plan_check(&o, md.n_params, md.nb, lim, &wn, &n, p) < 0 ||
	    gch_parse_data(body, lim, &md, &wn, p) < 0)
		goto out;
	np = md.n_params;
	md.theta = gg_malloc(np * sizeof(double));
	if (!md.theta) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	if (gch_parse_blocks(body, "parameters", "", lim, &md, md.theta, p) < 0)
		goto out;
	given_grad = json_get_node(body, "", "gradients", 0, cJSON_Object,
				   &gnode, p) > 0;
	if (problem_is_set(p))
		goto out;
	if (given_grad) {
		md.given = gg_malloc(np * sizeof(double));
		if (!md.given) {
			problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
			goto out;
		}
		if (gch_parse_blocks(body, "gradients", "d", lim, &md, md.given, p) < 0)
			goto out;
	}

	/* one block for the per-request arrays */
	{
		size_t top = o.top < n ? o.top : n;
		size_t sz = (3 * np + md.nb + 3 * n) * sizeof(double) +
			    (3 * n + top) * sizeof(size_t) +
			    md.nb * sizeof(struct gc_block_report) + n * sizeof(bool);

		blk = gg_malloc(sz);
		if (!blk) {
			problem_set(p, PROB_OUT_OF_MEMORY, "out of memory for %zu items", n);
			goto out;
		}
		own = (double *)(void *)blk;
		reg = own + np;
		steps = reg + np;
		ana = steps + np + md.nb;
		num = ana + n;
		eps = num + n;
		coords = (size_t *)(void *)(eps + n);
		bidx = coords + n;
		pos = bidx + n;
		worst = pos + n;
		brep = (struct gc_block_report *)(void *)(worst + top);
		kink = (bool *)(void *)(brep + md.nb);
	}
	net = (struct mlp){md.L, md.dims, md.act, md.loss, md.l2, md.theta};
	mc = mlp_cache_new(&net, md.m);
	if (!mc) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory for the network");
		goto out;
	}
	mlp_forward(&net, md.X, md.Y, mc);
	if (!isfinite(mc->cost)) {
		problem_add(p, PROB_INVALID, "/parameters",
			    "the cost is not finite at these parameters (overflow)");
		goto out;
	}
	mlp_backward_parts(&net, mc, own, reg);
	for (size_t i = 0; i < np; i++) {
		dn = fmax(dn, fabs(own[i]));
		rn = fmax(rn, fabs(reg[i]));
	}
	{
		/* compare the parts by their 2-norms, scaled by the largest entry */
		double ds = 0, rs = 0;

		for (size_t i = 0; i < np; i++) {
			if (dn > 0)
				ds += (own[i] / dn) * (own[i] / dn);
			if (rn > 0)
				rs += (reg[i] / rn) * (reg[i] / rn);
			own[i] += reg[i];
		}
		dn = dn * sqrt(ds);
		rn = rn * sqrt(rs);
	}
	if (md.l2 > 0 && rn > dn)
		gch_warn(&wn, "the L2 term dominates the gradient (||l2 part|| = %.3g, ||data part|| = %.3g): "
		     "the check mostly tests the regularization gradient; also check with l2 = 0", rn, dn);
	gch_warn_epsilon(&wn, &o);

	gc_mlp_source(&src, &gsrc, &net, mc, true);
	run = (struct gc_run){o.epsilon, thread_count(n), o.deadline_ns, clock_now_ns, 0, NULL, NULL};
	auto_steps(&o, md.theta, np, md.blocks, md.nb, steps, &run);
	while (run.nthreads > 1 && run.nthreads * src.work * sizeof(double) > GC_MAX_SCRATCH)
		run.nthreads--;
	st = run_check(&o, &src, &run, md.blocks, md.nb,
		       md.given ? md.given : own, n, coords, ana, num, kink,
		       bidx, pos, eps, &wn, " (W1, b1, ...)");
	if (st != GC_OK) {
		gch_map_status(st, &o, p);
		goto out;
	}
	ctx->evaluations = 2 * n;
	if (gch_refuse_overflow(md.blocks, bidx, pos, o.mode == CHECK_DIRECTIONS,
			    ana, num, n, md.given ? "/gradients" : "/parameters",
			    p) < 0)
		goto out;
	oc.rep.blocks = brep;
	oc.rep.worst = worst;
	gradcheck_compare(ana, num, kink, bidx, pos, n, md.nb, &o.th, o.top, &oc.rep);
	if (oc.rep.kinks)
		gch_warn(&wn, "%zu checked %s moved a ReLU/leaky-ReLU input across 0 (a kink): "
		     "there the finite difference is not a valid reference (see \"kink\" in worst)",
		     oc.rep.kinks, o.mode == CHECK_DIRECTIONS ? "directions" : "coordinates");
	oc.blocks = md.blocks;
	oc.nb = md.nb;
	oc.directions = o.mode == CHECK_DIRECTIONS;
	oc.has_cost = true;
	oc.cost = mc->cost;
	oc.n_params = np;
	oc.evaluations = 2 * n;
	oc.analytic = ana;
	oc.numeric = num;
	oc.kink = kink;
	oc.blk = bidx;
	oc.pos = pos;
	oc.own_grad = own;
	gch_noise(&wn, &o, &oc, mc->cost, eps, n);
	gch_finish(res, &o, &oc, &wn, t0);
out:
	mlp_cache_free(mc);
	gg_free(blk);
	gch_model_free(&md);
}

/* ---- vector source ------------------------------------------------------------ */

static const char *const vector_top_keys[] = {
	"vector", "epsilon", "thresholds", "check", "top", "deadline_ms", NULL
};
static const char *const vector_keys[] = {"gradient", "numeric_gradient", NULL};

static void handle_vector(struct hctx *ctx, const cJSON *body,
			  struct hres *res, uint64_t t0)
{
	struct problem *p = &res->problem;
	const cJSON *vec = NULL, *g = NULL;
	struct vpair v;
	struct opts o;
	struct warnings wn;
	struct outcome oc;
	size_t *mem = NULL, top;

	memset(&v, 0, sizeof(v));
	memset(&oc, 0, sizeof(oc));
	wn.n = 0;
	if (json_check_object(body, "", vector_top_keys, p) < 0 ||
	    gch_parse_common(body, ctx, t0, &o, p) < 0 ||
	    json_get_node(body, "", "vector", JSON_REQUIRED, cJSON_Object, &vec, p) < 0 ||
	    json_check_object(vec, "/vector", vector_keys, p) < 0)
		goto out;
	if (o.mode != CHECK_ALL) {
		problem_add(p, PROB_UNSUPPORTED, "/check",
			    "the vector source compares every coordinate given; check must be \"all\"");
		goto out;
	}
	{
		struct problem probe;   /* not an object: read as flat arrays */

		problem_init(&probe);
		json_get_node(vec, "/vector", "gradient", 0, cJSON_Object, &g, &probe);
	}
	if ((g ? gch_vector_named(vec, ctx->limits, &v, p) :
		 gch_vector_flat(vec, ctx->limits, &v, p)) < 0)
		goto out;
	top = o.top < v.len ? o.top : v.len;
	mem = gg_malloc((3 * v.len + top) * sizeof(size_t) +
		     v.nb * sizeof(struct gc_block_report));
	if (!mem) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	{
		size_t *coords = mem, *bidx = mem + v.len, *pos = bidx + v.len;

		for (size_t i = 0; i < v.len; i++)
			coords[i] = i;
		gradcheck_locate(v.blocks, v.nb, coords, v.len, bidx, pos);
		if (gch_refuse_overflow(v.blocks, bidx, pos, v.flat, v.a, v.n, v.len,
				    "/vector/gradient", p) < 0)
			goto out;
		oc.rep.worst = pos + v.len;
		oc.rep.blocks = (struct gc_block_report *)(void *)(oc.rep.worst + top);
		gradcheck_compare(v.a, v.n, NULL, bidx, pos, v.len, v.nb, &o.th, o.top, &oc.rep);
		oc.blk = bidx;
		oc.pos = pos;
	}
	ctx->evaluations = 0;
	oc.blocks = v.blocks;
	oc.nb = v.nb;
	oc.flat = v.flat;
	oc.n_params = v.len;
	oc.analytic = v.a;
	oc.numeric = v.n;
	gch_noise(&wn, &o, &oc, NAN, NULL, 0);   /* no cost: floors unknown */
	gch_finish(res, &o, &oc, &wn, t0);
out:
	gg_free(mem);
	gch_vpair_free(&v);
}

/* ---- oracle source ------------------------------------------------------------- */

static const char *const oracle_top_keys[] = {
	"oracle", "theta", "gradient", "blocks", "epsilon", "thresholds", "check",
	"top", "deadline_ms", NULL
};
static const char *const oracle_keys[] = {"url", "timeout_ms", "batch_size", NULL};

static void handle_oracle(struct hctx *ctx, const cJSON *body, struct hres *res,
			  uint64_t t0)
{
	const struct limits *lim = ctx->limits;
	struct problem *p = &res->problem;
	const cJSON *ocfg = NULL;
	struct oracle_opts oo = {0};
	struct oracle *orc = NULL;
	struct opts o;
	struct warnings wn;
	struct outcome oc;
	struct gc_source src;
	struct gc_run run;
	struct gc_block *blocks = NULL;
	double *theta = NULL, *grad = NULL, *steps, *ana, *num, *eps, J = NAN;
	size_t nt = 0, ng = 0, nb = 0, n = 0, *coords, *bidx, *pos, *worst;
	unsigned char *blk = NULL;
	struct gc_block_report *brep;
	int64_t tmo = 10000, bs = 256;
	bool *kink, flat = true;
	char err[PROBLEM_DETAIL_MAX];
	const char *detail;
	enum oracle_status ost;
	enum gc_status st;

	memset(&oc, 0, sizeof(oc));
	wn.n = 0;
	if (json_check_object(body, "", oracle_top_keys, p) < 0 ||
	    gch_parse_common(body, ctx, t0, &o, p) < 0 ||
	    json_get_node(body, "", "oracle", JSON_REQUIRED, cJSON_Object, &ocfg, p) < 0 ||
	    json_check_object(ocfg, "/oracle", oracle_keys, p) < 0 ||
	    json_get_string(ocfg, "/oracle", "url", JSON_REQUIRED, ORACLE_URL_LEN, &oo.url, p) < 0 ||
	    json_get_int(ocfg, "/oracle", "timeout_ms", 0, 10000, 1, ORACLE_MAX_TIMEOUT_MS,
			 &tmo, p) < 0 ||
	    json_get_int(ocfg, "/oracle", "batch_size", 0, 256, 1, ORACLE_MAX_BATCH, &bs, p) < 0 ||
	    json_get_vector(body, "", "theta", JSON_REQUIRED, lim->max_parameters, &theta, &nt, p) < 0 ||
	    json_get_vector(body, "", "gradient", JSON_REQUIRED, lim->max_parameters, &grad, &ng, p) < 0)
		goto out;
	if (nt != ng) {
		problem_add(p, PROB_SHAPE_MISMATCH, "/gradient",
			    "has %zu values, theta has %zu", ng, nt);
		goto out;
	}
	if (gch_oracle_blocks(body, lim, nt, &blocks, &nb, &flat, p) < 0 ||
	    gch_plan_check(&o, nt, nb, lim, &wn, &n, p) < 0)
		goto out;
	oo.allow = ctx->oracle_allow;
	oo.timeout_ms = (uint32_t)tmo;
	oo.batch_size = (size_t)bs;
	oo.deadline_ns = o.deadline_ns;
	ost = oracle_new(&oo, theta, nt, &orc, err, sizeof(err));
	if (ost != ORACLE_OK) {
		gch_oracle_problem(ost, err, p);
		goto out;
	}
	{
		size_t top = o.top < n ? o.top : n;
		size_t sz = (nt + nb + 3 * n) * sizeof(double) +
			    (3 * n + top) * sizeof(size_t) +
			    nb * sizeof(struct gc_block_report) + n * sizeof(bool);

		blk = gg_malloc(sz);
		if (!blk) {
			problem_set(p, PROB_OUT_OF_MEMORY, "out of memory for %zu items", n);
			goto out;
		}
		steps = (double *)(void *)blk;
		ana = steps + nt + nb;
		num = ana + n;
		eps = num + n;
		coords = (size_t *)(void *)(eps + n);
		bidx = coords + n;
		pos = bidx + n;
		worst = pos + n;
		brep = (struct gc_block_report *)(void *)(worst + top);
		kink = (bool *)(void *)(brep + nb);
	}
	gch_warn_epsilon(&wn, &o);
	oracle_source(orc, &src);
	/* one thread: the oracle runs its calls in flight itself */
	run = (struct gc_run){o.epsilon, 1, o.deadline_ns, clock_now_ns, 0, NULL, NULL};
	auto_steps(&o, theta, nt, blocks, nb, steps, &run);
	st = run_check(&o, &src, &run, blocks, nb, grad, n, coords, ana, num,
		       kink, bidx, pos, eps, &wn, "");
	ost = oracle_error(orc, &detail);
	if (ost != ORACLE_OK) {
		gch_oracle_problem(ost, detail, p);
		goto out;
	}
	if (st != GC_OK) {
		gch_map_status(st, &o, p);
		goto out;
	}
	ctx->evaluations = 2 * n;
	if (gch_refuse_overflow(blocks, bidx, pos,
			    flat || o.mode == CHECK_DIRECTIONS, ana, num, n,
			    "/gradient", p) < 0)
		goto out;
	oc.rep.blocks = brep;
	oc.rep.worst = worst;
	gradcheck_compare(ana, num, kink, bidx, pos, n, nb, &o.th, o.top, &oc.rep);
	oc.has_cost = oracle_base_cost(orc, &J);
	oc.blocks = blocks;
	oc.nb = nb;
	oc.flat = flat;
	oc.directions = o.mode == CHECK_DIRECTIONS;
	oc.cost = J;
	oc.n_params = nt;
	oc.evaluations = 2 * n;
	oc.analytic = ana;
	oc.numeric = num;
	oc.kink = NULL;
	oc.blk = bidx;
	oc.pos = pos;
	gch_noise(&wn, &o, &oc, oc.has_cost ? J : NAN, eps, n);
	gch_finish(res, &o, &oc, &wn, t0);
out:
	oracle_free(orc);
	gg_free(blk);
	gg_free(blocks);
	gg_free(theta);
	gg_free(grad);
}

/* ---- entry point ----------------------------------------------------------------- */

void handle_gradcheck(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	static const char *const sources[] = {"model", "vector", "oracle"};
	uint64_t t0 = clock_now_ns();
	struct problem *p = &res->problem;
	bool has[3];
	size_t n = 0;

	if (!cJSON_IsObject(body)) {
		problem_add(p, PROB_WRONG_TYPE, "", "the body must be a JSON object");
		return;
	}
	for (size_t i = 0; i < 3; i++) {
		const cJSON *node = NULL;
		struct problem scratch;

		problem_init(&scratch);
		has[i] = json_get_node(body, "", sources[i], 0, cJSON_Object, &node, &scratch) != 0;
		n += has[i];
	}
	if (n == 0) {
		problem_add(p, PROB_MISSING_FIELD, "/model",
			    "one source is required: model, vector or oracle");
		return;
	}
	if (n > 1) {
		for (size_t i = 0; i < 3; i++)
			if (has[i]) {
				char ptr[16];

				json_pointer(ptr, sizeof(ptr), "", sources[i]);
				problem_add(p, PROB_UNSUPPORTED, ptr,
					    "give exactly one source: model, vector or oracle");
			}
		return;
	}
	if (has[2])
		handle_oracle(ctx, body, res, t0);
	else if (has[0])
		handle_model(ctx, body, res, t0);
	else
		handle_vector(ctx, body, res, t0);
}
