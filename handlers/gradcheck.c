/* POST /gradcheck: checks a gradient against centered finite differences of
 * a network the service evaluates itself (source "model") or of a client's
 * cost endpoint (source "oracle", oracle.c), or compares two gradients a
 * client computed (source "vector"). See API.md. */
#include "handler.h"

#include "core/alloc.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gradcheck.h"
#include "core/matrix.h"
#include "core/mlp.h"
#include "json.h"
#include "oracle.h"

#define GC_MAX_WARNINGS 12
#define GC_WARNING_LEN 320
/* Below this many checked items one thread is faster than starting more. */
#define GC_MIN_PARALLEL 256
#define GC_MAX_HANDLER_THREADS 8
/* Engine scratch of all threads together; fewer threads when it would pass. */
#define GC_MAX_SCRATCH (256u << 20)
/* Activations of all layers (Z and A each) as a multiple of max_elements. */
#define GC_ACTIVATION_FACTOR 4
/* The usual range of epsilon: below, rounding noise dominates; above,
 * the O(eps^2) truncation error does. */
#define GC_EPS_LOW 1e-9
#define GC_EPS_HIGH 1e-4

enum check_mode { CHECK_ALL, CHECK_SAMPLE, CHECK_DIRECTIONS };

/* Options common to every source. */
struct opts {
	double epsilon;
	struct gc_thresholds th;
	enum check_mode mode;
	size_t k;
	uint64_t seed;
	size_t top;
	uint32_t deadline_ms;
	uint64_t deadline_ns;
	bool return_gradients;
};

struct warnings {
	char text[GC_MAX_WARNINGS][GC_WARNING_LEN];
	size_t n;
};

static void warn(struct warnings *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(struct warnings *w, const char *fmt, ...)
{
	va_list ap;

	if (w->n >= GC_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(w->text[w->n++], GC_WARNING_LEN, fmt, ap);
	va_end(ap);
}

/* Everything the response needs besides the report. */
struct outcome {
	const struct gc_block *blocks;
	size_t nb;
	bool flat;                /* vector source with flat arrays: [i] shapes */
	bool directions;          /* items are directions, pos = direction no. */
	bool has_cost;
	double cost;
	size_t n_params;
	size_t evaluations;
	const double *analytic, *numeric;
	const bool *kink;
	const size_t *blk, *pos;
	struct gc_report rep;
	const double *own_grad;   /* for return_gradients (model only) */
};

/* ---- common options -------------------------------------------------------- */

static const char *const threshold_keys[] = {"pass", "warn", "fail", NULL};
static const char *const check_keys[] = {"sample", "directions", "seed", NULL};

static int parse_check(const cJSON *body, struct opts *o, struct problem *p)
{
	const cJSON *node = NULL;
	struct problem probe;
	int64_t ks = 0, kd = 0, seed = 0;
	int hs, hd;

	o->mode = CHECK_ALL;
	problem_init(&probe);
	if (json_get_node(body, "", "check", 0, cJSON_String, &node, &probe) > 0) {
		if (strcmp(node->valuestring, "all") == 0)
			return 0;
		problem_add(p, PROB_UNKNOWN_ENUM, "/check",
			    "unknown value; expected \"all\", {\"sample\": k, \"seed\": s} or {\"directions\": k, \"seed\": s}");
		return -1;
	}
	if (json_get_node(body, "", "check", 0, cJSON_Object, &node, p) < 0)
		return -1;
	if (!node)
		return 0;
	if (json_check_object(node, "/check", check_keys, p) < 0)
		return -1;
	hs = json_get_int(node, "/check", "sample", 0, 0, 1, INT64_MAX, &ks, p);
	hd = json_get_int(node, "/check", "directions", 0, 0, 1, INT64_MAX, &kd, p);
	if (hs < 0 || hd < 0 ||
	    json_get_int(node, "/check", "seed", 0, 0, 0, INT64_MAX, &seed, p) < 0)
		return -1;
	if (hs > 0 && hd > 0) {
		problem_add(p, PROB_UNSUPPORTED, "/check/directions",
			    "give either sample or directions, not both");
		return -1;
	}
	if (hs == 0 && hd == 0) {
		problem_add(p, PROB_MISSING_FIELD, "/check",
			    "check needs \"sample\": k or \"directions\": k");
		return -1;
	}
	o->mode = hs > 0 ? CHECK_SAMPLE : CHECK_DIRECTIONS;
	o->k = (size_t)(hs > 0 ? ks : kd);
	o->seed = (uint64_t)seed;
	return 0;
}

static int parse_common(const cJSON *body, const struct hctx *ctx,
			uint64_t t0, struct opts *o, struct problem *p)
{
	const cJSON *th = NULL;
	int64_t top = 5, dl = 0;
	int bad = 0;

	memset(o, 0, sizeof(*o));
	o->th = (struct gc_thresholds){GC_DEFAULT_PASS, GC_DEFAULT_WARN, GC_DEFAULT_FAIL};
	if (json_get_double(body, "", "epsilon", 0, 1e-7, 0x1p-1074, 1e-2,
			    &o->epsilon, p) < 0)
		bad = 1;
	if (json_get_node(body, "", "thresholds", 0, cJSON_Object, &th, p) < 0)
		bad = 1;
	if (th) {
		if (json_check_object(th, "/thresholds", threshold_keys, p) < 0 ||
		    json_get_double(th, "/thresholds", "pass", 0, o->th.pass,
				    0x1p-1074, DBL_MAX, &o->th.pass, p) < 0 ||
		    json_get_double(th, "/thresholds", "warn", 0, o->th.warn,
				    0x1p-1074, DBL_MAX, &o->th.warn, p) < 0 ||
		    json_get_double(th, "/thresholds", "fail", 0, o->th.fail,
				    0x1p-1074, DBL_MAX, &o->th.fail, p) < 0) {
			bad = 1;
		} else if (!(o->th.pass < o->th.warn && o->th.warn < o->th.fail)) {
			problem_add(p, PROB_INVALID, "/thresholds",
				    "thresholds must increase: pass < warn < fail (got %g, %g, %g)",
				    o->th.pass, o->th.warn, o->th.fail);
			bad = 1;
		}
	}
	if (json_get_int(body, "", "top", 0, 5, 0, INT64_MAX, &top, p) < 0)
		bad = 1;
	o->top = (size_t)top;
	o->deadline_ms = ctx->limits->deadline_ms;
	if (json_get_int(body, "", "deadline_ms", 0, 0, 1, INT64_MAX, &dl, p) < 0)
		bad = 1;
	else if (dl > 0 && (uint64_t)dl < o->deadline_ms)
		o->deadline_ms = (uint32_t)dl;
	o->deadline_ns = t0 + (uint64_t)o->deadline_ms * 1000000u;
	if (ctx->deadline_ns && ctx->deadline_ns < o->deadline_ns)
		o->deadline_ns = ctx->deadline_ns;
	if (parse_check(body, o, p) < 0)
		bad = 1;
	return bad ? -1 : 0;
}

/* ---- response ------------------------------------------------------------- */

static void write_index(struct jw *w, const struct outcome *oc, size_t b,
			size_t pos)
{
	jw_arr_begin(w);
	if (oc->flat || oc->directions) {
		jw_uint(w, pos);
	} else {
		jw_uint(w, pos / oc->blocks[b].cols);
		jw_uint(w, pos % oc->blocks[b].cols);
	}
	jw_arr_end(w);
}

static void write_response(struct jw *w, const struct opts *o,
			   const struct outcome *oc,
			   const struct warnings *wn, uint64_t t0)
{
	const struct gc_report *r = &oc->rep;

	jw_obj_begin(w);
	jw_key(w, "relative_error");
	jw_double(w, r->relative_error);
	jw_key(w, "verdict");
	jw_string(w, gc_verdict_name(r->verdict));
	jw_key(w, "epsilon");
	jw_double(w, o->epsilon);
	jw_key(w, "thresholds");
	jw_obj_begin(w);
	jw_key(w, "pass");
	jw_double(w, o->th.pass);
	jw_key(w, "warn");
	jw_double(w, o->th.warn);
	jw_key(w, "fail");
	jw_double(w, o->th.fail);
	jw_obj_end(w);
	jw_key(w, "cost");
	if (oc->has_cost)
		jw_double(w, oc->cost);
	else
		jw_null(w);
	jw_key(w, "n_parameters");
	jw_uint(w, oc->n_params);
	jw_key(w, "n_checked");
	jw_uint(w, r->n_checked);
	jw_key(w, "evaluations");
	jw_uint(w, oc->evaluations);
	jw_key(w, "blocks");
	jw_arr_begin(w);
	for (size_t b = 0; b < oc->nb; b++) {
		const struct gc_block_report *br = &r->blocks[b];

		jw_obj_begin(w);
		jw_key(w, "name");
		jw_string(w, oc->blocks[b].name);
		jw_key(w, "shape");
		jw_arr_begin(w);
		jw_uint(w, oc->blocks[b].rows);
		if (!oc->flat)
			jw_uint(w, oc->blocks[b].cols);
		jw_arr_end(w);
		jw_key(w, "n_checked");
		jw_uint(w, br->n_checked);
		jw_key(w, "relative_error");
		jw_double(w, br->relative_error);
		jw_key(w, "verdict");
		if (br->n_checked)
			jw_string(w, gc_verdict_name(br->verdict));
		else
			jw_null(w);
		jw_key(w, "max_abs_error");
		jw_double(w, br->max_abs_error);
		jw_key(w, "worst_index");
		if (br->n_checked)
			write_index(w, oc, b, br->worst_pos);
		else
			jw_null(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "worst");
	jw_arr_begin(w);
	for (size_t i = 0; i < r->n_worst; i++) {
		size_t t = r->worst[i], b = oc->blk[t];

		jw_obj_begin(w);
		jw_key(w, "name");
		jw_string(w, oc->blocks[b].name);
		jw_key(w, "index");
		write_index(w, oc, b, oc->pos[t]);
		jw_key(w, "analytic");
		jw_double(w, oc->analytic[t]);
		jw_key(w, "numeric");
		jw_double(w, oc->numeric[t]);
		jw_key(w, "abs_error");
		jw_double(w, fabs(oc->analytic[t] - oc->numeric[t]));
		jw_key(w, "kink");
		jw_bool(w, oc->kink && oc->kink[t]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "kinks");
	jw_uint(w, r->kinks);
	jw_key(w, "warnings");
	jw_arr_begin(w);
	for (size_t i = 0; i < wn->n; i++)
		jw_string(w, wn->text[i]);
	jw_arr_end(w);
	if (o->return_gradients && oc->own_grad) {
		char name[24];

		jw_key(w, "gradients");
		jw_obj_begin(w);
		for (size_t b = 0; b < oc->nb; b++) {
			snprintf(name, sizeof(name), "d%s", oc->blocks[b].name);
			jw_key(w, name);
			jw_matrix(w, oc->own_grad + oc->blocks[b].offset,
				  oc->blocks[b].rows, oc->blocks[b].cols, false);
		}
		jw_obj_end(w);
	}
	jw_key(w, "elapsed_ms");
	jw_double(w, round((double)(clock_now_ns() - t0) / 1e3) / 1e3);
	jw_obj_end(w);
}

static void finish(struct hres *res, const struct opts *o,
		   const struct outcome *oc, const struct warnings *wn,
		   uint64_t t0)
{
	struct jw w;

	jw_init_format(&w, &res->body, res->format);
	write_response(&w, o, oc, wn, t0);
	if (jw_finish(&w))
		hres_body_failed(res);
	else
		res->status = 200;
}

/* Noise-floor warning: a centered difference carries rounding noise of
 * about |J| eps_machine / epsilon (Nocedal & Wright §8.1). */
/* Root mean square of v[0..n), scaled by max |v| so it cannot overflow. */
static double rms(const double *v, size_t n)
{
	double s = 0, mx = 0;

	for (size_t t = 0; t < n; t++)
		mx = fmax(mx, fabs(v[t]));
	for (size_t t = 0; t < n && mx > 0; t++)
		s += (v[t] / mx) * (v[t] / mx);
	return n ? mx * sqrt(s / (double)n) : 0;
}

static void warn_noise(struct warnings *wn, const struct opts *o,
		       const struct gc_report *r, double J, double typical)
{
	double floor = fabs(J) * DBL_EPSILON / o->epsilon, ratio;

	if (!(typical > 0))
		return;
	ratio = floor / typical;
	if (ratio >= 1e-2 || (r->verdict != GC_PASS && r->relative_error <= 100 * ratio))
		warn(wn, "the numeric gradient is near its rounding-noise floor: "
		     "|J|*eps_machine/epsilon = %.3g against a typical |gradient| of "
		     "%.3g; the relative error may be noise (try epsilon 1e-6 or 1e-5)",
		     floor, typical);
}

static void warn_epsilon(struct warnings *wn, double eps)
{
	if (eps < GC_EPS_LOW || eps > GC_EPS_HIGH)
		warn(wn, "epsilon %g is outside the usual range %g to %g: below it "
		     "rounding noise dominates, above it the O(epsilon^2) truncation error",
		     eps, GC_EPS_LOW, GC_EPS_HIGH);
}

/* Runs the check in o's mode over n items: directions (item t is a random
 * unit direction within block t mod nb) or coordinates (all, or a seeded
 * sample), filling numeric values, kinks, each item's block and position,
 * and the analytic values from grad. names is appended to the directions
 * warning (e.g. " (W1, b1, ...)"). */
static enum gc_status run_check(const struct opts *o,
				const struct gc_source *src, struct gc_run *run,
				const struct gc_block *blocks, size_t nb,
				const double *grad, size_t n, size_t *coords,
				double *ana, double *num, bool *kink,
				size_t *bidx, size_t *pos, struct warnings *wn,
				const char *names)
{
	enum gc_status st;

	if (o->mode == CHECK_DIRECTIONS) {
		st = gradcheck_directions(src, run, blocks, nb, grad, n,
					  o->seed, ana, num, kink);
		for (size_t t = 0; t < n; t++) {
			bidx[t] = t % nb;
			pos[t] = t;
		}
		warn(wn, "directions mode: direction t is a random unit vector within block t mod %zu%s; "
		     "block errors compare that block's directional derivatives and indices are "
		     "direction numbers", nb, names);
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
	for (size_t t = 0; t < n; t++)
		ana[t] = grad[coords[t]];
	return st;
}

static void map_status(enum gc_status st, const struct opts *o,
		       struct problem *p)
{
	switch (st) {
	case GC_OK:
		break;
	case GC_EDEADLINE:
		problem_set(p, PROB_DEADLINE,
			    "the gradient check did not finish within %u ms",
			    (unsigned)o->deadline_ms);
		break;
	case GC_ENOMEM:
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory during the check");
		break;
	case GC_EINVAL:
	case GC_ESOURCE:
		problem_set(p, PROB_INTERNAL, "gradient check failed (status %d)", (int)st);
		break;
	}
}

/* Where |analytic - numeric| overflows the double range (both finite, near
 * DBL_MAX with opposite signs) there is no number to print as abs_error or
 * max_abs_error: the JSON would say null. Clamping to DBL_MAX would print
 * a wrong value and skipping the item would hide the worst one, so the
 * request is refused: 422 non-finite-number at pointer, naming the first
 * such item (flat: [i] indices, as in the response). The relative error
 * alone would be finite (gradcheck_compare scales), but a response without
 * the errors it explains is worse than a clear refusal. Returns -1 then. */
static int refuse_overflow(const struct gc_block *blocks, const size_t *bidx,
			   const size_t *pos, bool flat, const double *ana,
			   const double *num, size_t n, const char *pointer,
			   struct problem *p)
{
	size_t t = gradcheck_first_overflow(ana, num, n);
	const struct gc_block *b;
	char at[96];

	if (t == n)
		return 0;
	b = &blocks[bidx[t]];
	if (flat)
		snprintf(at, sizeof(at), "%.64s[%zu]", b->name, pos[t]);
	else
		snprintf(at, sizeof(at), "%.64s[%zu][%zu]", b->name,
			 pos[t] / b->cols, pos[t] % b->cols);
	problem_add(p, PROB_NON_FINITE, pointer,
		    "values too large to compare: at %s the analytic %.17g and "
		    "numeric %.17g differ by more than the double range", at,
		    ana[t], num[t]);
	return -1;
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
static const char *const model_keys[] = {
	"layer_dims", "activations", "loss", "l2", "keep_prob", NULL
};
static const char *const loss_names[] = {
	"binary_cross_entropy", "categorical_cross_entropy", "mse", NULL
};
static const enum mlp_loss loss_values[] = {MLP_BCE, MLP_CCE, MLP_MSE};
static const char *const act_names[] = {
	"relu", "leaky_relu", "tanh", "sigmoid", "linear", "softmax", NULL
};
static const char *const layout_names[] = {
	"samples_in_rows", "samples_in_columns", NULL
};

/* A parsed model request; every pointer owned. */
struct model {
	size_t L, m, n_params, nb;
	size_t *dims;
	enum mlp_act *act;
	enum mlp_loss loss;
	double l2;
	bool rows;               /* samples_in_rows layout */
	double *X, *Y;           /* n_0 x m and n_L x m */
	double *theta, *given;   /* given: client gradients or NULL */
	struct gc_block *blocks;
	char (*names)[24];       /* "W1", "b1", ... then "dW1", "db1", ... */
	const char **allowed;    /* NULL-terminated name lists for each object */
};

static void model_free(struct model *md)
{
	gg_free(md->dims);
	gg_free(md->act);
	gg_free(md->X);
	gg_free(md->Y);
	gg_free(md->theta);
	gg_free(md->given);
	gg_free(md->blocks);
	gg_free(md->names);
	gg_free(md->allowed);
}

static int keep_prob_ok(const cJSON *obj, const char *base, struct problem *p)
{
	double kp;
	int rc = json_get_double(obj, base, "keep_prob", 0, 1.0, 0x1p-1074, 1.0, &kp, p);
	char ptr[PROBLEM_POINTER_MAX];

	if (rc < 0)
		return -1;
	if (rc > 0 && kp < 1.0) {
		json_pointer(ptr, sizeof(ptr), base, "keep_prob");
		problem_add(p, PROB_UNSUPPORTED, ptr,
			    "gradient checking does not work with dropout (keep_prob %g < 1): "
			    "check with keep_prob 1, then train with dropout", kp);
		return -1;
	}
	return 0;
}

/* activations: an array of L names. */
static int parse_activations(const cJSON *model, struct model *md,
			     struct problem *p)
{
	const cJSON *arr = NULL, *it;
	char ptr[PROBLEM_POINTER_MAX];
	size_t n = 0;
	int bad = 0;

	if (json_get_node(model, "/model", "activations", JSON_REQUIRED,
			  cJSON_Array, &arr, p) < 0)
		return -1;
	cJSON_ArrayForEach(it, arr)
		n++;
	if (n != md->L) {
		problem_add(p, PROB_SHAPE_MISMATCH, "/model/activations",
			    "expected %zu activations (one per layer, layer_dims has %zu entries), got %zu",
			    md->L, md->L + 1, n);
		return -1;
	}
	n = 0;
	cJSON_ArrayForEach(it, arr) {
		size_t k = 0;

		json_pointer_index(ptr, sizeof(ptr), "/model/activations", n);
		if (cJSON_IsString(it) && it->valuestring)
			for (; act_names[k] && strcmp(act_names[k], it->valuestring); k++)
				;
		if (!cJSON_IsString(it) || !act_names[k]) {
			problem_add(p, cJSON_IsString(it) ? PROB_UNKNOWN_ENUM : PROB_WRONG_TYPE,
				    ptr, "expected one of: relu, leaky_relu, tanh, sigmoid, linear, softmax");
			bad = 1;
		} else {
			md->act[n] = (enum mlp_act)k;
		}
		n++;
	}
	return bad ? -1 : 0;
}

static int parse_network(const cJSON *body, const struct limits *lim,
			 struct model *md, struct problem *p)
{
	const cJSON *model = NULL;
	int64_t *d64 = NULL;
	size_t nd = 0, bad_layer;
	char ptr[PROBLEM_POINTER_MAX];
	int loss = 0, rc = -1;
	struct mlp net;

	if (json_get_node(body, "", "model", JSON_REQUIRED, cJSON_Object, &model, p) < 0 ||
	    json_check_object(model, "/model", model_keys, p) < 0)
		return -1;
	if (keep_prob_ok(model, "/model", p) < 0 || keep_prob_ok(body, "", p) < 0)
		return -1;
	if (json_get_int_vector(model, "/model", "layer_dims", JSON_REQUIRED,
				lim->max_layers + 1, 1, INT64_MAX, &d64, &nd, p) < 0)
		return -1;
	if (nd < 2) {
		problem_add(p, PROB_INVALID, "/model/layer_dims",
			    "needs at least 2 entries [n_0, n_1]");
		goto out;
	}
	md->L = nd - 1;
	md->dims = gg_malloc(nd * sizeof(size_t));
	md->act = gg_malloc(md->L * sizeof(enum mlp_act));
	if (!md->dims || !md->act) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	for (size_t l = 0; l < nd; l++) {
		if ((uint64_t)d64[l] > lim->max_layer_width) {
			json_pointer_index(ptr, sizeof(ptr), "/model/layer_dims", l);
			problem_add(p, PROB_TOO_LARGE, ptr,
				    "width %lld exceeds the limit of %zu",
				    (long long)d64[l], lim->max_layer_width);
			goto out;
		}
		md->dims[l] = (size_t)d64[l];
	}
	if (parse_activations(model, md, p) < 0)
		goto out;
	if (json_get_enum(model, "/model", "loss", JSON_REQUIRED, loss_names, 0,
			  &loss, p) < 0 ||
	    json_get_double(model, "/model", "l2", 0, 0.0, 0.0, DBL_MAX, &md->l2, p) < 0)
		goto out;
	md->loss = loss_values[loss];
	net = (struct mlp){md->L, md->dims, md->act, md->loss, md->l2, NULL};
	switch (mlp_check(&net, &bad_layer)) {
	case MLP_OK:
		break;
	case MLP_ESOFTMAX:
		if (bad_layer) {
			json_pointer_index(ptr, sizeof(ptr), "/model/activations", bad_layer - 1);
			problem_add(p, PROB_UNSUPPORTED, ptr,
				    "softmax is supported on the last layer only");
		} else {
			problem_add(p, PROB_UNSUPPORTED, "/model/loss",
				    "a softmax output needs loss categorical_cross_entropy");
		}
		goto out;
	case MLP_ELOSS:
		json_pointer_index(ptr, sizeof(ptr), "/model/activations", md->L - 1);
		problem_add(p, PROB_UNSUPPORTED, ptr, md->loss == MLP_CCE ?
			    "categorical_cross_entropy needs a softmax output layer" :
			    "binary_cross_entropy needs a sigmoid output layer");
		goto out;
	default:
		problem_add(p, PROB_INVALID, "/model/layer_dims", "invalid network");
		goto out;
	}
	md->n_params = mlp_n_params(md->dims, md->L);
	if (md->n_params == 0 || md->n_params > lim->max_parameters) {
		problem_add(p, PROB_TOO_LARGE, "/model/layer_dims",
			    "the network has %s%zu parameters, over the limit of %zu",
			    md->n_params ? "" : "more than ",
			    md->n_params ? md->n_params : (size_t)SIZE_MAX,
			    lim->max_parameters);
		goto out;
	}
	rc = 0;
out:
	gg_free(d64);
	return rc;
}

/* X and Y, turned to samples in columns. */
static int parse_data(const cJSON *body, const struct limits *lim,
		      struct model *md, struct warnings *wn, struct problem *p)
{
	struct json_matrix X = {0}, Y = {0};
	const cJSON *ynode = NULL;
	size_t n0 = md->dims[0], nL = md->dims[md->L], m;
	int layout = 0, rc = -1;
	bool yflat, warned = false;
	char ptr[PROBLEM_POINTER_MAX];

	if (json_get_enum(body, "", "layout", 0, layout_names, 0, &layout, p) < 0)
		return -1;
	md->rows = layout == 0;
	if (json_get_matrix(body, "", "X", JSON_REQUIRED, lim->max_elements, &X, p) < 0 ||
	    json_get_matrix(body, "", "Y", JSON_REQUIRED | (md->rows ? JSON_FLAT_COLUMN : 0),
			    lim->max_elements, &Y, p) < 0)
		goto out;
	json_get_node(body, "", "Y", 0, cJSON_Array, &ynode, p);
	yflat = ynode && ynode->child && !cJSON_IsArray(ynode->child);
	if ((md->rows ? X.cols : X.rows) != n0) {
		problem_add(p, PROB_SHAPE_MISMATCH, "/X",
			    "X has %zu features per sample (%s), layer_dims[0] is %zu",
			    md->rows ? X.cols : X.rows, layout_names[layout], n0);
		goto out;
	}
	m = md->rows ? X.rows : X.cols;
	if ((md->rows ? Y.rows : Y.cols) != m || (md->rows ? Y.cols : Y.rows) != nL) {
		problem_add(p, PROB_SHAPE_MISMATCH, "/Y",
			    "expected shape [%zu, %zu] (%s: %zu samples, layer_dims[-1] = %zu), got [%zu, %zu]",
			    md->rows ? m : nL, md->rows ? nL : m, layout_names[layout],
			    m, nL, Y.rows, Y.cols);
		goto out;
	}
	/* every Z<l>, A<l> is an n_l x m matrix held for the whole check */
	{
		size_t total = 0;

		for (size_t l = 1; l <= md->L; l++) {
			size_t e = md->dims[l] * m;

			total += e;
			if (e > lim->max_elements || total > GC_ACTIVATION_FACTOR * lim->max_elements) {
				problem_add(p, PROB_TOO_LARGE, "/X",
					    "%zu samples need %zu activation elements in layer %zu, %zu up to it: "
					    "over the limit of %zu per layer or %zu in total",
					    m, e, l, total, lim->max_elements,
					    GC_ACTIVATION_FACTOR * lim->max_elements);
				goto out;
			}
		}
	}
	md->m = m;
	md->X = gg_malloc(n0 * m * sizeof(double));
	md->Y = gg_malloc(nL * m * sizeof(double));
	if (!md->X || !md->Y) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	if (md->rows) {
		mat_transpose(X.v, m, n0, md->X);
		mat_transpose(Y.v, m, nL, md->Y);
	} else {
		memcpy(md->X, X.v, n0 * m * sizeof(double));
		memcpy(md->Y, Y.v, nL * m * sizeof(double));
	}
	/* targets that fit the loss */
	for (size_t s = 0; s < m; s++) {
		double sum = 0.0;

		for (size_t r = 0; r < nL; r++) {
			double y = md->Y[r * m + s];
			bool bad = (md->loss == MLP_BCE && (y < 0 || y > 1)) ||
				   (md->loss == MLP_CCE && y < 0);
			char rp[PROBLEM_POINTER_MAX];

			sum += y;
			if (!bad)
				continue;
			if (yflat) {
				json_pointer_index(ptr, sizeof(ptr), "/Y", s);
			} else {
				json_pointer_index(rp, sizeof(rp), "/Y", md->rows ? s : r);
				json_pointer_index(ptr, sizeof(ptr), rp, md->rows ? r : s);
			}
			problem_add(p, PROB_OUT_OF_RANGE, ptr, md->loss == MLP_BCE ?
				    "binary_cross_entropy targets must be between 0 and 1, got %g" :
				    "categorical_cross_entropy targets must be at least 0, got %g", y);
			if (p->n_errors >= PROBLEM_MAX_ERRORS)
				goto out;
		}
		if (md->loss == MLP_CCE && !problem_is_set(p) && fabs(sum - 1.0) > 1e-9 &&
		    !warned) {
			warned = true;
			warn(wn, "Y for sample %zu sums to %.17g, not 1 (and maybe others): "
			     "categorical_cross_entropy is computed with the targets as given", s, sum);
		}
	}
	rc = problem_is_set(p) ? -1 : 0;
out:
	gg_free(X.v);
	gg_free(Y.v);
	return rc;
}

/* Reads W<l>/b<l> (prefix "" or "d") from obj at base into dst (theta order). */
static int parse_blocks(const cJSON *body, const char *key, const char *prefix,
			const struct limits *lim, struct model *md, double *dst,
			struct problem *p)
{
	const cJSON *obj = NULL;
	char base[PROBLEM_POINTER_MAX], ptr[PROBLEM_POINTER_MAX];
	size_t nb = md->nb, first = prefix[0] ? nb : 0;
	int bad = 0;

	if (json_get_node(body, "", key, JSON_REQUIRED, cJSON_Object, &obj, p) < 0)
		return -1;
	json_pointer(base, sizeof(base), "", key);
	for (size_t b = 0; b < nb; b++)
		md->allowed[b] = md->names[first + b];
	md->allowed[nb] = NULL;
	if (json_check_object(obj, base, md->allowed, p) < 0)
		return -1;
	for (size_t b = 0; b < nb; b++) {
		const struct gc_block *bl = &md->blocks[b];
		const char *name = md->names[first + b];
		struct json_matrix mx = {0};

		if (json_get_matrix(obj, base, name, JSON_REQUIRED | (b % 2 ? JSON_FLAT_COLUMN : 0),
				    lim->max_elements, &mx, p) < 0) {
			bad = 1;
			if (p->n_errors >= PROBLEM_MAX_ERRORS)
				break;
			continue;
		}
		if (mx.rows != bl->rows || mx.cols != bl->cols) {
			size_t l = b / 2 + 1;

			json_pointer(ptr, sizeof(ptr), base, name);
			if (b % 2 == 0)
				problem_add(p, PROB_SHAPE_MISMATCH, ptr,
					    "expected shape [%zu, %zu] (layer_dims[%zu] x layer_dims[%zu]), got [%zu, %zu]",
					    bl->rows, bl->cols, l, l - 1, mx.rows, mx.cols);
			else
				problem_add(p, PROB_SHAPE_MISMATCH, ptr,
					    "expected shape [%zu, 1] (layer_dims[%zu]), got [%zu, %zu]",
					    bl->rows, l, mx.rows, mx.cols);
			bad = 1;
		} else {
			memcpy(dst + bl->offset, mx.v, mx.rows * mx.cols * sizeof(double));
		}
		gg_free(mx.v);
	}
	return bad ? -1 : 0;
}

static int layout_blocks(struct model *md, struct problem *p)
{
	size_t nb = 2 * md->L;

	md->nb = nb;
	md->blocks = gg_malloc(nb * sizeof(*md->blocks));
	md->names = gg_malloc(2 * nb * sizeof(*md->names));
	md->allowed = gg_malloc((nb + 1) * sizeof(*md->allowed));
	if (!md->blocks || !md->names || !md->allowed) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		return -1;
	}
	for (size_t l = 1; l <= md->L; l++) {
		size_t off = mlp_w_offset(md->dims, l), b = 2 * (l - 1);

		snprintf(md->names[b], sizeof(md->names[b]), "W%zu", l);
		snprintf(md->names[b + 1], sizeof(md->names[b]), "b%zu", l);
		snprintf(md->names[nb + b], sizeof(md->names[b]), "dW%zu", l);
		snprintf(md->names[nb + b + 1], sizeof(md->names[b]), "db%zu", l);
		md->blocks[b] = (struct gc_block){md->names[b], off, md->dims[l], md->dims[l - 1]};
		md->blocks[b + 1] = (struct gc_block){md->names[b + 1],
			off + md->dims[l] * md->dims[l - 1], md->dims[l], 1};
	}
	return 0;
}

/* How many items the check mode touches; 413/422 when out of bounds. */
static int plan_check(struct opts *o, size_t n_params, size_t nb,
		      const struct limits *lim, struct warnings *wn,
		      size_t *n_items, struct problem *p)
{
	size_t n = n_params;

	if (o->mode != CHECK_ALL) {
		const char *ptr = o->mode == CHECK_SAMPLE ? "/check/sample" : "/check/directions";

		if (o->k < nb) {
			problem_add(p, PROB_OUT_OF_RANGE, ptr,
				    "must be at least the number of parameter blocks (%zu), so that every block is checked",
				    nb);
			return -1;
		}
		n = o->k;
		if (o->mode == CHECK_SAMPLE && o->k >= n_params) {
			if (o->k > n_params)
				warn(wn, "check.sample %zu is not below the %zu parameters: all of them are checked",
				     o->k, n_params);
			o->mode = CHECK_ALL;
			n = n_params;
		}
	}
	if (n > lim->max_evaluations / 2) {
		problem_add(p, PROB_TOO_LARGE, "/check",
			    "checking %zu %s needs %zu cost evaluations, over the limit of %zu; "
			    "use {\"sample\": k} or {\"directions\": k}",
			    n, o->mode == CHECK_DIRECTIONS ? "directions" : "coordinates",
			    2 * n, lim->max_evaluations);
		return -1;
	}
	*n_items = n;
	return 0;
}

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
	double *own, *reg, *ana, *num, dn = 0, rn = 0;
	bool *kink, given_grad;
	const cJSON *gnode = NULL;
	struct gc_block_report *brep;
	enum gc_status st;

	memset(&md, 0, sizeof(md));
	memset(&oc, 0, sizeof(oc));
	wn.n = 0;
	if (json_check_object(body, "", model_top_keys, p) < 0 ||
	    parse_common(body, ctx, t0, &o, p) < 0 ||
	    json_get_bool(body, "", "return_gradients", 0, false, &o.return_gradients, p) < 0 ||
	    parse_network(body, lim, &md, p) < 0 || layout_blocks(&md, p) < 0 ||
	    plan_check(&o, md.n_params, md.nb, lim, &wn, &n, p) < 0 ||
	    parse_data(body, lim, &md, &wn, p) < 0)
		goto out;
	np = md.n_params;
	md.theta = gg_malloc(np * sizeof(double));
	if (!md.theta) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	if (parse_blocks(body, "parameters", "", lim, &md, md.theta, p) < 0)
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
		if (parse_blocks(body, "gradients", "d", lim, &md, md.given, p) < 0)
			goto out;
	}

	/* one block for the per-request arrays */
	{
		size_t top = o.top < n ? o.top : n;
		size_t sz = (2 * np + 2 * n) * sizeof(double) + (3 * n + top) * sizeof(size_t) +
			    md.nb * sizeof(struct gc_block_report) + n * sizeof(bool);

		blk = gg_malloc(sz);
		if (!blk) {
			problem_set(p, PROB_OUT_OF_MEMORY, "out of memory for %zu items", n);
			goto out;
		}
		own = (double *)(void *)blk;
		reg = own + np;
		ana = reg + np;
		num = ana + n;
		coords = (size_t *)(void *)(num + n);
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
		warn(&wn, "the L2 term dominates the gradient (||l2 part|| = %.3g, ||data part|| = %.3g): "
		     "the check mostly tests the regularization gradient; also check with l2 = 0", rn, dn);
	warn_epsilon(&wn, o.epsilon);

	gc_mlp_source(&src, &gsrc, &net, mc, true);
	run = (struct gc_run){o.epsilon, thread_count(n), o.deadline_ns, clock_now_ns, 0};
	while (run.nthreads > 1 && run.nthreads * src.work * sizeof(double) > GC_MAX_SCRATCH)
		run.nthreads--;
	st = run_check(&o, &src, &run, md.blocks, md.nb,
		       md.given ? md.given : own, n, coords, ana, num, kink,
		       bidx, pos, &wn, " (W1, b1, ...)");
	if (st != GC_OK) {
		map_status(st, &o, p);
		goto out;
	}
	ctx->evaluations = 2 * n;
	if (refuse_overflow(md.blocks, bidx, pos, o.mode == CHECK_DIRECTIONS,
			    ana, num, n, md.given ? "/gradients" : "/parameters",
			    p) < 0)
		goto out;
	oc.rep.blocks = brep;
	oc.rep.worst = worst;
	gradcheck_compare(ana, num, kink, bidx, pos, n, md.nb, &o.th, o.top, &oc.rep);
	if (oc.rep.kinks)
		warn(&wn, "%zu checked %s moved a ReLU/leaky-ReLU input across 0 (a kink): "
		     "there the finite difference is not a valid reference (see \"kink\" in worst)",
		     oc.rep.kinks, o.mode == CHECK_DIRECTIONS ? "directions" : "coordinates");
	warn_noise(&wn, &o, &oc.rep, mc->cost, rms(ana, n));
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
	finish(res, &o, &oc, &wn, t0);
out:
	mlp_cache_free(mc);
	gg_free(blk);
	model_free(&md);
}

/* ---- vector source ------------------------------------------------------------ */

static const char *const vector_top_keys[] = {
	"vector", "epsilon", "thresholds", "check", "top", "deadline_ms", NULL
};
static const char *const vector_keys[] = {"gradient", "numeric_gradient", NULL};

/* Both sides of a vector check, flat or by name. */
struct vpair {
	double *a, *n;
	size_t len, nb;
	struct gc_block *blocks;
	const char **names;     /* NULL-terminated, borrowed from the tree */
	bool flat;
};

static void vpair_free(struct vpair *v)
{
	gg_free(v->a);
	gg_free(v->n);
	gg_free(v->blocks);
	gg_free(v->names);
}

static int vector_flat(const cJSON *vec, const struct limits *lim,
		       struct vpair *v, struct problem *p)
{
	size_t la = 0, ln = 0;

	if (json_get_vector(vec, "/vector", "gradient", JSON_REQUIRED,
			    lim->max_parameters, &v->a, &la, p) < 0 ||
	    json_get_vector(vec, "/vector", "numeric_gradient", JSON_REQUIRED,
			    lim->max_parameters, &v->n, &ln, p) < 0)
		return -1;
	if (la != ln) {
		problem_add(p, PROB_SHAPE_MISMATCH, "/vector/numeric_gradient",
			    "has %zu values, gradient has %zu", ln, la);
		return -1;
	}
	v->len = la;
	v->nb = 1;
	v->flat = true;
	v->blocks = gg_malloc(sizeof(*v->blocks));
	if (!v->blocks) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		return -1;
	}
	v->blocks[0] = (struct gc_block){"theta", 0, la, 1};
	return 0;
}

static int vector_named(const cJSON *vec, const struct limits *lim,
			struct vpair *v, struct problem *p)
{
	const cJSON *ga = NULL, *gn = NULL, *it;
	size_t nb = 0, total = 0, b = 0, max_blocks = 2 * lim->max_layers;
	struct json_matrix *ma = NULL;
	int bad = 0;

	if (json_get_node(vec, "/vector", "gradient", JSON_REQUIRED, cJSON_Object, &ga, p) < 0 ||
	    json_get_node(vec, "/vector", "numeric_gradient", JSON_REQUIRED, cJSON_Object, &gn, p) < 0)
		return -1;
	cJSON_ArrayForEach(it, ga)
		nb++;
	if (nb == 0) {
		problem_add(p, PROB_INVALID, "/vector/gradient", "must not be empty");
		return -1;
	}
	if (nb > max_blocks) {
		problem_add(p, PROB_TOO_LARGE, "/vector/gradient",
			    "%zu blocks exceed the limit of %zu", nb, max_blocks);
		return -1;
	}
	v->names = gg_malloc((nb + 1) * sizeof(*v->names));
	v->blocks = gg_malloc(nb * sizeof(*v->blocks));
	ma = gg_calloc(nb, sizeof(*ma));
	if (!v->names || !v->blocks || !ma) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto fail;
	}
	cJSON_ArrayForEach(it, ga)
		v->names[b++] = it->string ? it->string : "";
	v->names[nb] = NULL;
	if (json_check_object(ga, "/vector/gradient", v->names, p) < 0 ||
	    json_check_object(gn, "/vector/numeric_gradient", v->names, p) < 0)
		goto fail;
	for (b = 0; b < nb; b++) {
		if (json_get_matrix(ga, "/vector/gradient", v->names[b],
				    JSON_REQUIRED | JSON_FLAT_COLUMN,
				    lim->max_elements, &ma[b], p) < 0) {
			bad = 1;
			continue;
		}
		v->blocks[b] = (struct gc_block){v->names[b], total, ma[b].rows, ma[b].cols};
		total += ma[b].rows * ma[b].cols;
	}
	if (bad)
		goto fail;
	if (total > lim->max_parameters) {
		problem_add(p, PROB_TOO_LARGE, "/vector/gradient",
			    "%zu values exceed the limit of %zu parameters", total,
			    lim->max_parameters);
		goto fail;
	}
	v->a = gg_malloc(total * sizeof(double));
	v->n = gg_malloc(total * sizeof(double));
	if (!v->a || !v->n) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto fail;
	}
	for (b = 0; b < nb; b++) {
		struct json_matrix mn = {0};
		char ptr[PROBLEM_POINTER_MAX];

		memcpy(v->a + v->blocks[b].offset, ma[b].v,
		       ma[b].rows * ma[b].cols * sizeof(double));
		if (json_get_matrix(gn, "/vector/numeric_gradient", v->names[b],
				    JSON_REQUIRED | JSON_FLAT_COLUMN,
				    lim->max_elements, &mn, p) < 0) {
			bad = 1;
			continue;
		}
		if (mn.rows != ma[b].rows || mn.cols != ma[b].cols) {
			json_pointer(ptr, sizeof(ptr), "/vector/numeric_gradient", v->names[b]);
			problem_add(p, PROB_SHAPE_MISMATCH, ptr,
				    "shape [%zu, %zu] differs from gradient's [%zu, %zu]",
				    mn.rows, mn.cols, ma[b].rows, ma[b].cols);
			bad = 1;
		} else {
			memcpy(v->n + v->blocks[b].offset, mn.v, mn.rows * mn.cols * sizeof(double));
		}
		gg_free(mn.v);
	}
	if (bad)
		goto fail;
	v->len = total;
	v->nb = nb;
	for (b = 0; b < nb; b++)
		gg_free(ma[b].v);
	gg_free(ma);
	return 0;
fail:
	for (b = 0; ma && b < nb; b++)
		gg_free(ma[b].v);
	gg_free(ma);
	return -1;
}

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
	    parse_common(body, ctx, t0, &o, p) < 0 ||
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
	if ((g ? vector_named(vec, ctx->limits, &v, p) :
		 vector_flat(vec, ctx->limits, &v, p)) < 0)
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
		if (refuse_overflow(v.blocks, bidx, pos, v.flat, v.a, v.n, v.len,
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
	finish(res, &o, &oc, &wn, t0);
out:
	gg_free(mem);
	vpair_free(&v);
}

/* ---- oracle source ------------------------------------------------------------- */

static const char *const oracle_top_keys[] = {
	"oracle", "theta", "gradient", "blocks", "epsilon", "thresholds", "check",
	"top", "deadline_ms", NULL
};
static const char *const oracle_keys[] = {"url", "timeout_ms", "batch_size", NULL};
static const char *const oracle_block_keys[] = {"name", "shape", NULL};

#define ORACLE_URL_LEN 2048
#define ORACLE_BLOCK_NAME 64
#define ORACLE_MAX_TIMEOUT_MS 3600000
#define ORACLE_MAX_BATCH 4096

/* blocks: [{"name", "shape": [n] or [r, c]}, ...] covering theta in order;
 * without it one flat block "theta". *flat: every shape is [n] (shapes and
 * indices are then reported with one entry). Names are borrowed from the
 * tree. */
static int oracle_blocks(const cJSON *body, const struct limits *lim, size_t n,
			 struct gc_block **out, size_t *nb, bool *flat,
			 struct problem *p)
{
	const cJSON *arr = NULL, *it;
	struct gc_block *bl = NULL;
	size_t k = 0, total = 0, max_blocks = 2 * lim->max_layers;
	char ptr[PROBLEM_POINTER_MAX];

	if (json_get_node(body, "", "blocks", 0, cJSON_Array, &arr, p) < 0)
		return -1;
	*flat = true;
	cJSON_ArrayForEach(it, arr)
		k++;
	if (arr && (k == 0 || k > max_blocks)) {
		problem_add(p, k ? PROB_TOO_LARGE : PROB_INVALID, "/blocks",
			    "needs 1 to %zu blocks, got %zu", max_blocks, k);
		return -1;
	}
	bl = gg_malloc((arr ? k : 1) * sizeof(*bl));
	if (!bl) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		return -1;
	}
	if (!arr) {
		bl[0] = (struct gc_block){"theta", 0, n, 1};
		*out = bl;
		*nb = 1;
		return 0;
	}
	k = 0;
	cJSON_ArrayForEach(it, arr) {
		const char *name = NULL;
		int64_t *shape = NULL;
		size_t ns = 0, rows, cols;

		json_pointer_index(ptr, sizeof(ptr), "/blocks", k);
		if (json_check_object(it, ptr, oracle_block_keys, p) < 0 ||
		    json_get_string(it, ptr, "name", JSON_REQUIRED, ORACLE_BLOCK_NAME,
				    &name, p) < 0 ||
		    json_get_int_vector(it, ptr, "shape", JSON_REQUIRED, 2, 1,
					(int64_t)lim->max_parameters, &shape, &ns, p) < 0)
			goto fail;
		rows = (size_t)shape[0];
		cols = ns == 2 ? (size_t)shape[1] : 1;
		if (ns == 2)
			*flat = false;
		gg_free(shape);
		for (size_t j = 0; j < k; j++)
			if (strcmp(bl[j].name, name) == 0) {
				problem_add(p, PROB_INVALID, ptr, "block name '%s' repeats", name);
				goto fail;
			}
		if (cols > lim->max_parameters / rows || total + rows * cols > n) {
			problem_add(p, PROB_SHAPE_MISMATCH, "/blocks",
				    "the blocks hold more values than theta's %zu (past block %zu)",
				    n, k);
			goto fail;
		}
		bl[k++] = (struct gc_block){name, total, rows, cols};
		total += rows * cols;
	}
	if (total != n) {
		problem_add(p, PROB_SHAPE_MISMATCH, "/blocks",
			    "the block shapes sum to %zu values, theta has %zu", total, n);
		goto fail;
	}
	*out = bl;
	*nb = k;
	return 0;
fail:
	gg_free(bl);
	return -1;
}

static void oracle_problem(enum oracle_status st, const char *detail,
			   struct problem *p)
{
	switch (st) {
	case ORACLE_OK:
		break;
	case ORACLE_EURL:
	case ORACLE_EREFUSED:
		problem_add(p, PROB_INVALID, "/oracle/url", "%s", detail);
		break;
	case ORACLE_EUPSTREAM:
		problem_set(p, PROB_UPSTREAM, "%s", detail);
		break;
	case ORACLE_ETIMEOUT:
	case ORACLE_EDEADLINE:
		problem_set(p, PROB_DEADLINE, "%s", detail);
		break;
	case ORACLE_ENOMEM:
		problem_set(p, PROB_OUT_OF_MEMORY, "%s", detail);
		break;
	case ORACLE_ECONFIG:
		problem_set(p, PROB_INTERNAL, "the server's oracle settings are invalid: %s", detail);
		break;
	}
}

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
	double *theta = NULL, *grad = NULL, *ana, *num, J = 0;
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
	    parse_common(body, ctx, t0, &o, p) < 0 ||
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
	if (oracle_blocks(body, lim, nt, &blocks, &nb, &flat, p) < 0 ||
	    plan_check(&o, nt, nb, lim, &wn, &n, p) < 0)
		goto out;
	oo.allow = ctx->oracle_allow;
	oo.timeout_ms = (uint32_t)tmo;
	oo.batch_size = (size_t)bs;
	oo.deadline_ns = o.deadline_ns;
	ost = oracle_new(&oo, theta, nt, &orc, err, sizeof(err));
	if (ost != ORACLE_OK) {
		oracle_problem(ost, err, p);
		goto out;
	}
	{
		size_t top = o.top < n ? o.top : n;
		size_t sz = 2 * n * sizeof(double) + (3 * n + top) * sizeof(size_t) +
			    nb * sizeof(struct gc_block_report) + n * sizeof(bool);

		blk = gg_malloc(sz);
		if (!blk) {
			problem_set(p, PROB_OUT_OF_MEMORY, "out of memory for %zu items", n);
			goto out;
		}
		ana = (double *)(void *)blk;
		num = ana + n;
		coords = (size_t *)(void *)(num + n);
		bidx = coords + n;
		pos = bidx + n;
		worst = pos + n;
		brep = (struct gc_block_report *)(void *)(worst + top);
		kink = (bool *)(void *)(brep + nb);
	}
	warn_epsilon(&wn, o.epsilon);
	oracle_source(orc, &src);
	/* one thread: the oracle runs its calls in flight itself */
	run = (struct gc_run){o.epsilon, 1, o.deadline_ns, clock_now_ns, 0};
	st = run_check(&o, &src, &run, blocks, nb, grad, n, coords, ana, num,
		       kink, bidx, pos, &wn, "");
	ost = oracle_error(orc, &detail);
	if (ost != ORACLE_OK) {
		oracle_problem(ost, detail, p);
		goto out;
	}
	if (st != GC_OK) {
		map_status(st, &o, p);
		goto out;
	}
	ctx->evaluations = 2 * n;
	if (refuse_overflow(blocks, bidx, pos,
			    flat || o.mode == CHECK_DIRECTIONS, ana, num, n,
			    "/gradient", p) < 0)
		goto out;
	oc.rep.blocks = brep;
	oc.rep.worst = worst;
	gradcheck_compare(ana, num, kink, bidx, pos, n, nb, &o.th, o.top, &oc.rep);
	oc.has_cost = oracle_base_cost(orc, &J);
	if (oc.has_cost)
		warn_noise(&wn, &o, &oc.rep, J, rms(ana, n));
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
	finish(res, &o, &oc, &wn, t0);
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
