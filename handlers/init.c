/* POST /init: reproducible weight initialization (numpy-identical by
 * default) and an optional vanishing / exploding signal diagnosis. The
 * response is produced as the client reads it (weights drawn row by row). */
#include "handler.h"

#include "core/alloc.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "json.h"
#include "core/diagnose.h"
#include "core/init.h"
#include "core/rng.h"

/* Largest accepted scale: keeps scale * randn far from overflow. */
#define INIT_MAX_SCALE 1e100
/* Compute budget of one request, in multiply-adds per parameter of the
 * max_parameters limit (8M: 2.1e9, a few seconds). Orthogonal costs
 * sum max(r,c) * min(r,c)^2 (Householder QR: [1000, 1000, 1000] fits); a
 * diagnosis costs batch * parameters (three passes of that size). */
#define INIT_WORK_PER_PARAMETER 256u
/* Upper bound of the text of one printed double plus its comma. */
#define INIT_CHARS_PER_NUMBER 25u
/* Default number of samples of a diagnosis batch. */
#define INIT_DEFAULT_BATCH 256

static const char *const rng_names[] = { "numpy", "fast", NULL };

struct init_req {
	size_t *dims;           /* n_0 .. n_L, owned */
	size_t n_layers;        /* L */
	struct init_spec spec;
	enum rng_kind rng;
	uint32_t seed;
	bool diagnose;
	enum diag_activation activation;
	size_t batch;
};

/* Reads and checks every field; 422s first (all of them), then 413s. */
static int parse_request(const struct limits *lim, const cJSON *body,
			 struct init_req *q, struct problem *p)
{
	static const char *const allowed[] = {
		"layer_dims", "method", "distribution", "mode", "scale",
		"seed", "rng", "diagnose", NULL
	};
	static const char *const diag_allowed[] = { "activation", "batch", NULL };
	const cJSON *dims_node = NULL, *dn = NULL;
	int64_t *dims = NULL, seed = 0, batch = INIT_DEFAULT_BATCH;
	size_t nd = 0;
	int method = INIT_HE, dist = INIT_NORMAL, mode = -1, rng = RNG_NUMPY;
	int act = DIAG_RELU, has_dist, has_mode, has_scale, has_seed;
	double scale = 0;
	int rc = -1;

	json_check_object(body, "", allowed, p);
	if (json_get_node(body, "", "layer_dims", JSON_REQUIRED, cJSON_Array,
			  &dims_node, p) == 1) {
		int len = (int)json_array_len(dims_node);

		if (len >= 1 && (size_t)len - 1 > lim->max_layers) {
			problem_add(p, PROB_TOO_LARGE, "/layer_dims",
				    "%d layers exceed the limit max_layers = %zu",
				    len - 1, lim->max_layers);
		} else if (json_get_int_vector(body, "", "layer_dims", 0,
					       (size_t)len, INT64_MIN, INT64_MAX,
					       &dims, &nd, p) == 1) {
			/* widths above max_layer_width are 413s, later */
			for (size_t i = 0; i < nd; i++) {
				char ptr[PROBLEM_POINTER_MAX];

				if (dims[i] >= 1)
					continue;
				json_pointer_index(ptr, sizeof ptr, "/layer_dims", i);
				problem_add(p, PROB_OUT_OF_RANGE, ptr,
					    "a layer width must be at least 1, got %" PRId64,
					    dims[i]);
			}
			if (nd < 2)
				problem_add(p, PROB_INVALID, "/layer_dims",
					    "needs at least 2 widths [n_0, n_1], got %zu",
					    nd);
		}
	}
	json_get_enum(body, "", "method", 0, init_method_names, INIT_HE,
		      &method, p);
	has_dist = json_get_enum(body, "", "distribution", 0, init_dist_names,
				 INIT_NORMAL, &dist, p);
	has_mode = json_get_enum(body, "", "mode", 0, init_mode_names, -1,
				 &mode, p);
	has_scale = json_get_double(body, "", "scale", 0, 0, -DBL_MAX, DBL_MAX,
				    &scale, p);
	if (has_scale == 1 && !(scale > 0 && scale <= INIT_MAX_SCALE))
		problem_add(p, PROB_OUT_OF_RANGE, "/scale",
			    "must be > 0 and at most %g, got %.17g",
			    INIT_MAX_SCALE, scale);
	has_seed = json_get_int(body, "", "seed", 0, 0, 0, INT64_C(4294967295),
				&seed, p);
	json_get_enum(body, "", "rng", 0, rng_names, RNG_NUMPY, &rng, p);
	if (json_get_node(body, "", "diagnose", 0, cJSON_Object, &dn, p) == 1) {
		q->diagnose = true;
		json_check_object(dn, "/diagnose", diag_allowed, p);
		json_get_enum(dn, "/diagnose", "activation", 0,
			      diag_activation_names, DIAG_RELU, &act, p);
		json_get_int(dn, "/diagnose", "batch", 0, INIT_DEFAULT_BATCH, 1,
			     INT64_MAX, &batch, p);
	}

	/* combinations the methods do not define */
	if (has_mode == 1 && method != INIT_HE && method != INIT_XAVIER &&
	    method != INIT_GLOROT && method != INIT_LECUN)
		problem_add(p, PROB_UNSUPPORTED, "/mode",
			    "method '%s' has no fan mode; mode applies to he, "
			    "xavier, glorot and lecun", init_method_names[method]);
	if (has_dist == 1 && dist != INIT_NORMAL &&
	    (method == INIT_ZEROS || method == INIT_ORTHOGONAL))
		problem_add(p, PROB_UNSUPPORTED, "/distribution",
			    "method '%s' only supports distribution 'normal'",
			    init_method_names[method]);
	if (has_scale == 1 && method == INIT_ZEROS)
		problem_add(p, PROB_UNSUPPORTED, "/scale",
			    "method 'zeros' takes no scale");
	if (problem_is_set(p))
		goto out;

	q->n_layers = nd - 1;
	q->dims = gg_malloc(nd * sizeof *q->dims);
	if (!q->dims) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nd; i++)
		q->dims[i] = (size_t)dims[i];
	q->spec.method = (enum init_method)method;
	q->spec.dist = (enum init_dist)dist;
	q->spec.mode = has_mode == 1 ? (enum init_mode)mode : INIT_MODE_NONE;
	q->spec.scale = has_scale == 1 ? scale : 0;
	q->rng = (enum rng_kind)rng;
	q->activation = (enum diag_activation)act;
	q->batch = (size_t)batch;
	if (has_seed == 1) {
		q->seed = (uint32_t)seed;
	} else {
		uint32_t s;

		if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
			s = (uint32_t)(clock_now_ns() * UINT64_C(0x9e3779b97f4a7c15) >> 32) ^
			    (uint32_t)getpid();
		q->seed = s;
	}
	rc = 0;
out:
	gg_free(dims);
	return rc;
}

/* Every 413 check, on sizes alone, before anything big is allocated. */
static int check_limits(const struct limits *lim, const struct init_req *q,
			struct problem *p)
{
	const size_t *d = q->dims;
	size_t params = 0, text = 4096, sum = d[0], orth = 0;
	char ptr[PROBLEM_POINTER_MAX];

	for (size_t i = 0; i <= q->n_layers; i++) {
		if (d[i] > lim->max_layer_width) {
			json_pointer_index(ptr, sizeof ptr, "/layer_dims", i);
			problem_add(p, PROB_TOO_LARGE, ptr,
				    "width %zu exceeds the limit max_layer_width = %zu",
				    d[i], lim->max_layer_width);
		}
	}
	if (problem_is_set(p))
		return -1;
	/* widths <= max_layer_width (16384 by default): no overflow below */
	for (size_t l = 1; l <= q->n_layers; l++) {
		size_t block = d[l] * d[l - 1];
		size_t m = d[l] > d[l - 1] ? d[l] : d[l - 1];
		size_t n = d[l] > d[l - 1] ? d[l - 1] : d[l];

		if (block > lim->max_elements) {
			json_pointer_index(ptr, sizeof ptr, "/layer_dims", l);
			problem_add(p, PROB_TOO_LARGE, ptr,
				    "W%zu has %zu x %zu = %zu elements, over the limit "
				    "max_elements = %zu", l, d[l], d[l - 1], block,
				    lim->max_elements);
		}
		params += block + d[l];
		text += (block + d[l]) * INIT_CHARS_PER_NUMBER + 3 * d[l] + 256;
		sum += d[l];
		orth += m * n * n;  /* <= 2^42 per layer */
	}
	if (problem_is_set(p))
		return -1;
	if (params > lim->max_parameters) {
		problem_add(p, PROB_TOO_LARGE, "/layer_dims",
			    "the network has %zu parameters, over the limit "
			    "max_parameters = %zu", params, lim->max_parameters);
		return -1;
	}
	if (q->spec.method == INIT_ORTHOGONAL &&
	    orth / INIT_WORK_PER_PARAMETER > lim->max_parameters) {
		problem_add(p, PROB_TOO_LARGE, "/layer_dims",
			    "orthogonal needs %zu multiply-adds of QR, over the "
			    "limit %u x max_parameters = %zu", orth,
			    INIT_WORK_PER_PARAMETER,
			    (size_t)INIT_WORK_PER_PARAMETER * lim->max_parameters);
		return -1;
	}
	if (lim->max_response && text > lim->max_response) {
		problem_add(p, PROB_TOO_LARGE, "/layer_dims",
			    "the response would take up to %zu bytes, over the "
			    "limit max_response = %zu", text, lim->max_response);
		return -1;
	}
	if (!q->diagnose)
		return 0;
	if (q->batch > lim->max_diagnose_batch) {
		problem_add(p, PROB_TOO_LARGE, "/diagnose/batch",
			    "batch %zu exceeds the limit max_diagnose_batch = %zu",
			    q->batch, lim->max_diagnose_batch);
		return -1;
	}
	if (sum > lim->max_elements / q->batch) {
		problem_add(p, PROB_TOO_LARGE, "/diagnose/batch",
			    "the diagnosis keeps batch x sum(layer_dims) = %zu x %zu "
			    "activations, over the limit max_elements = %zu",
			    q->batch, sum, lim->max_elements);
		return -1;
	}
	/* params <= max_parameters and batch <= max_diagnose_batch: no overflow */
	if (q->batch * params / INIT_WORK_PER_PARAMETER > lim->max_parameters) {
		problem_add(p, PROB_TOO_LARGE, "/diagnose/batch",
			    "the diagnosis needs batch x parameters = %zu x %zu "
			    "multiply-adds per pass, over the limit %u x "
			    "max_parameters = %zu", q->batch, params,
			    INIT_WORK_PER_PARAMETER,
			    (size_t)INIT_WORK_PER_PARAMETER * lim->max_parameters);
		return -1;
	}
	return 0;
}

static void write_layers(struct jw *w, const struct init_req *q,
			 const double *target, const double *empirical)
{
	jw_key(w, "layers");
	jw_arr_begin(w);
	for (size_t l = 1; l <= q->n_layers; l++) {
		jw_obj_begin(w);
		jw_key(w, "layer");
		jw_uint(w, l);
		jw_key(w, "shape");
		jw_arr_begin(w);
		jw_uint(w, q->dims[l]);
		jw_uint(w, q->dims[l - 1]);
		jw_arr_end(w);
		jw_key(w, "fan_in");
		jw_uint(w, q->dims[l - 1]);
		jw_key(w, "fan_out");
		jw_uint(w, q->dims[l]);
		jw_key(w, "target_std");
		jw_double(w, target[l - 1]);
		jw_key(w, "empirical_std");
		jw_double(w, empirical[l - 1]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void write_diagnosis(struct jw *w, const struct init_req *q,
			    const double *act_std, const double *grad_norm)
{
	double r_a, r_g;
	enum diag_verdict v = diag_verdict(act_std, grad_norm, q->n_layers,
					   &r_a, &r_g);

	jw_key(w, "diagnosis");
	jw_obj_begin(w);
	jw_key(w, "activation");
	jw_string(w, diag_activation_names[q->activation]);
	jw_key(w, "batch");
	jw_uint(w, q->batch);
	jw_key(w, "activation_std");
	jw_double_array(w, act_std, q->n_layers);
	jw_key(w, "gradient_norm");
	jw_double_array(w, grad_norm, q->n_layers);
	jw_key(w, "activation_ratio");
	jw_double(w, r_a);
	jw_key(w, "gradient_ratio");
	jw_double(w, r_g);
	jw_key(w, "verdict");
	jw_string(w, diag_verdict_names[v]);
	jw_key(w, "rule");
	jw_string(w, DIAG_RULE);
	jw_obj_end(w);
}

/* Bytes a streaming step writes before it yields (about one socket
 * buffer's worth of rows). */
#define INIT_STEP_BYTES (64u * 1024u)

enum init_stage { STAGE_HEAD, STAGE_WEIGHTS, STAGE_TAIL, STAGE_DONE };

/* The response being produced. A plain element-wise request draws each
 * weight once, here, a row at a time from the seeded stream, and
 * accumulates empirical_std as the rows go out ("layers" follows
 * "parameters"). With a diagnosis the handler drew every layer beforehand
 * (for the diagnosis and empirical_std) and the rows are drawn again from a
 * fresh copy of the stream; orthogonal, whose rows need the whole block,
 * reads them from `held`. */
struct init_stream {
	struct init_req q;        /* dims owned */
	struct rng rng;
	struct jw w;
	struct init_std acc;      /* empirical_std of the layer being sent */
	bool precomputed;         /* empirical filled by the handler */
	double *mem;              /* owned: row, zeros, target, empirical,
	                           * act_std, grad_norm */
	double *row, *zeros, *target, *empirical, *act_std, *grad_norm;
	double *held;             /* owned; orthogonal: every layer, else NULL */
	enum init_stage stage;
	size_t l, r, off;         /* layer, row, offset into held */
};

static void init_stream_free(void *state)
{
	struct init_stream *s = state;

	if (!s)
		return;
	jw_free(&s->w);
	init_std_free(&s->acc);
	gg_free(s->held);
	gg_free(s->mem);
	gg_free(s->q.dims);
	gg_free(s);
}

static void write_head(struct init_stream *s)
{
	struct jw *w = &s->w;
	enum init_mode mode = init_effective_mode(&s->q.spec);

	jw_obj_begin(w);
	jw_key(w, "seed");
	jw_uint(w, s->q.seed);
	jw_key(w, "rng");
	jw_string(w, rng_names[s->q.rng]);
	jw_key(w, "method");
	jw_string(w, init_method_names[s->q.spec.method]);
	jw_key(w, "distribution");
	jw_string(w, init_dist_names[s->q.spec.dist]);
	jw_key(w, "mode");
	if (mode == INIT_MODE_NONE)
		jw_null(w);
	else
		jw_string(w, init_mode_names[mode]);
	jw_key(w, "parameters");
	jw_obj_begin(w);
}

/* Rows of layer s->l until about INIT_STEP_BYTES are out or the layer is
 * complete (then its bias too). */
static int write_rows(struct init_stream *s, struct buf *out)
{
	size_t rows = s->q.dims[s->l], cols = s->q.dims[s->l - 1];
	size_t start = out->len;
	char key[32];

	if (s->r == 0) {
		snprintf(key, sizeof key, "W%zu", s->l);
		jw_key(&s->w, key);
		jw_matrix_begin(&s->w, rows, cols);
		init_std_begin(&s->acc, s->target[s->l - 1]);
	}
	while (s->r < rows && out->len - start < INIT_STEP_BYTES &&
	       !out->failed) {
		const double *v = s->row;

		if (s->held)
			v = s->held + s->off;
		else if (init_layer_part(&s->q.spec, &s->rng, rows, cols,
					 s->row, cols) != INIT_OK)
			return -1;
		jw_matrix_rows(&s->w, v, 1);
		if (!s->precomputed)
			init_std_add(&s->acc, v, cols);
		s->off += cols;
		s->r++;
	}
	if (s->r < rows)
		return 1;
	jw_matrix_end(&s->w);
	if (!s->precomputed)
		s->empirical[s->l - 1] = init_std_result(&s->acc);
	snprintf(key, sizeof key, "b%zu", s->l);
	jw_key(&s->w, key);
	jw_matrix(&s->w, s->zeros, rows, 1, false);
	s->r = 0;
	if (++s->l > s->q.n_layers) {
		jw_obj_end(&s->w);
		s->stage = STAGE_TAIL;
	}
	return 1;
}

static int init_stream_step(void *state, struct buf *out)
{
	struct init_stream *s = state;
	int rc = 1;

	jw_set_output(&s->w, out);
	switch (s->stage) {
	case STAGE_HEAD:
		write_head(s);
		s->stage = STAGE_WEIGHTS;
		s->l = 1;
		break;
	case STAGE_WEIGHTS:
		rc = write_rows(s, out);
		break;
	case STAGE_TAIL:
		write_layers(&s->w, &s->q, s->target, s->empirical);
		if (s->q.diagnose)
			write_diagnosis(&s->w, &s->q, s->act_std, s->grad_norm);
		jw_obj_end(&s->w);
		rc = jw_finish(&s->w) ? -1 : 0;
		s->stage = STAGE_DONE;
		break;
	default:
		rc = 0;
	}
	return out->failed ? -1 : rc;
}

/*
 * POST /init. Validates the body (422 with pointers, 413 on limits before
 * allocating), then hands the response to a producer that draws the
 * weights row by row as the client reads (a connection holds a few rows,
 * not the response) and accumulates empirical_std on the way. A diagnosis
 * needs every layer first: then they are drawn here (empirical_std and the
 * diagnosis computed from them) and drawn again by the producer; orthogonal
 * keeps the finished blocks for it. The rng stream order is: W1, W2, ...,
 * WL, then the diagnosis's X and upstream gradient.
 */
void handle_init(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	struct problem *p = &res->problem;
	struct init_stream *s = NULL;
	struct rng *rng = NULL;
	double *mem = NULL, *owork, *dwork;
	const double **wl = NULL;
	size_t maxw = 0, total = 0, owsize = 0, dwsize = 0;
	size_t off = 0, L, estimate = 4096;
	bool keep_all, orth;
	struct hstream hs;

	s = gg_calloc(1, sizeof(*s));
	if (!s) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	if (parse_request(ctx->limits, body, &s->q, p) < 0 ||
	    check_limits(ctx->limits, &s->q, p) < 0)
		goto out;
	L = s->q.n_layers;
	orth = s->q.spec.method == INIT_ORTHOGONAL;
	keep_all = s->q.diagnose || orth;
	for (size_t l = 0; l <= L; l++)
		maxw = s->q.dims[l] > maxw ? s->q.dims[l] : maxw;
	for (size_t l = 1; l <= L; l++) {
		size_t block = s->q.dims[l] * s->q.dims[l - 1];
		size_t ow = init_work_size(&s->q.spec, s->q.dims[l],
					   s->q.dims[l - 1]);

		owsize = ow > owsize ? ow : owsize;
		total += block;
		estimate += (block + s->q.dims[l]) *
			    (res->format == JW_JSON ? INIT_CHARS_PER_NUMBER
						     : sizeof(double)) + 256;
	}
	if (s->q.diagnose)
		dwsize = diag_work_size(s->q.dims, L, s->q.batch);
	if (keep_all) {
		mem = gg_malloc((total + owsize + dwsize) * sizeof(*mem));
		wl = gg_malloc(L * sizeof(*wl));
		rng = gg_malloc(sizeof(*rng));
	}
	s->mem = gg_malloc((2 * maxw + 4 * L) * sizeof(*s->mem));
	if (init_std_new(&s->acc, maxw) < 0 || !s->mem ||
	    (keep_all && (!mem || !wl || !rng))) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory for %zu parameters",
			    total);
		goto out;
	}
	s->row = s->mem;
	s->zeros = s->row + maxw;
	s->target = s->zeros + maxw;
	s->empirical = s->target + L;
	s->act_std = s->empirical + L;
	s->grad_norm = s->act_std + L;
	for (size_t i = 0; i < maxw; i++)
		s->zeros[i] = 0.0;
	for (size_t l = 1; l <= L; l++)
		s->target[l - 1] = init_target_std(&s->q.spec, s->q.dims[l],
						   s->q.dims[l - 1]);
	/* the stream the producer draws the weights from */
	rng_seed(&s->rng, s->q.rng, s->q.seed);
	s->precomputed = keep_all;
	owork = mem ? mem + total : NULL;
	dwork = owork ? owork + owsize : NULL;
	if (hctx_expired(ctx)) {
		problem_set(p, PROB_DEADLINE, "deadline passed before initializing");
		goto out;
	}
	if (keep_all)
		*rng = s->rng;
	for (size_t l = 1; keep_all && l <= L; l++) {
		size_t rows = s->q.dims[l], cols = s->q.dims[l - 1];
		double *wcur = mem + off;

		if (hctx_expired(ctx)) {
			problem_set(p, PROB_DEADLINE,
				    "deadline passed while initializing layer %zu", l);
			goto out;
		}
		if (init_layer(&s->q.spec, rng, rows, cols, wcur, owork) != INIT_OK) {
			problem_set(p, PROB_INTERNAL, "unsupported initializer spec");
			goto out;
		}
		s->empirical[l - 1] = init_std_block(&s->acc, s->target[l - 1],
						     wcur, rows, cols);
		wl[l - 1] = wcur;
		off += rows * cols;
	}
	if (s->q.diagnose) {
		if (hctx_expired(ctx)) {
			problem_set(p, PROB_DEADLINE,
				    "deadline passed before the diagnosis");
			goto out;
		}
		diag_run(wl, s->q.dims, L, s->q.activation, s->q.batch, rng,
			 dwork, s->act_std, s->grad_norm);
	}
	if (orth) {
		s->held = mem;  /* the weights themselves; the rest is unused */
		mem = NULL;
	}
	jw_init_format(&s->w, &res->body, res->format);
	hs.step = init_stream_step;
	hs.free = init_stream_free;
	hs.state = s;
	s = NULL;  /* res owns it now */
	if (hres_stream(res, &hs, estimate) == 0)
		res->status = 200;
out:
	init_stream_free(s);
	gg_free(rng);
	gg_free(wl);
	gg_free(mem);
}
