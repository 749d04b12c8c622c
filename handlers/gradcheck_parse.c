/* POST /gradcheck, request side: common options, the model source's
 * network, data and parameter blocks, the vector source's pairs and the
 * oracle source's blocks. */
#include "gradcheck_internal.h"

#include "core/alloc.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/matrix.h"

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

/* epsilon: a number in (0, 1e-2], or "auto". */
static int parse_epsilon(const cJSON *body, struct opts *o, struct problem *p)
{
	const cJSON *node = NULL;
	struct problem probe;

	problem_init(&probe);
	if (json_get_node(body, "", "epsilon", 0, cJSON_String, &node, &probe) > 0 &&
	    strcmp(node->valuestring, "auto") == 0) {
		o->eps_auto = true;
		o->epsilon = GC_AUTO_EPS_SCALE;
		return 0;
	}
	/* any other string: query text (epsilon=1e-6 with a binary body) is
	 * read as a number, a JSON string is refused as the wrong type */
	return json_get_double(body, "", "epsilon", 0, 1e-7, 0x1p-1074, 1e-2,
			       &o->epsilon, p) < 0 ? -1 : 0;
}

int gch_parse_common(const cJSON *body, const struct hctx *ctx,
			uint64_t t0, struct opts *o, struct problem *p)
{
	const cJSON *th = NULL;
	int64_t top = 5, dl = 0;
	int bad = 0;

	memset(o, 0, sizeof(*o));
	o->th = (struct gc_thresholds){GC_DEFAULT_PASS, GC_DEFAULT_WARN, GC_DEFAULT_FAIL};
	if (parse_epsilon(body, o, p) < 0)
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
const char *const gch_layout_names[] = {
	"samples_in_rows", "samples_in_columns", NULL
};

void gch_model_free(struct model *md)
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

int gch_parse_network(const cJSON *body, const struct limits *lim,
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
/* Y as a matrix; a flat array is one row of samples: [n, 1] with samples in
 * rows, [1, n] with samples in columns (*flat set). */
static int read_y(const cJSON *body, const struct limits *lim, bool rows,
		  struct json_matrix *Y, bool *flat, struct problem *p)
{
	struct problem probe;
	double *v = NULL;
	size_t n = 0;

	problem_init(&probe);
	*flat = json_get_vector(body, "", "Y", JSON_REQUIRED, lim->max_elements,
				&v, &n, &probe) > 0;
	if (*flat) {
		*Y = (struct json_matrix){.v = v, .rows = rows ? n : 1, .cols = rows ? 1 : n};
		return 0;
	}
	return json_get_matrix(body, "", "Y", JSON_REQUIRED, lim->max_elements, Y,
			       p) < 0 ? -1 : 0;
}

/* Pointer of Y's sample s, row r (samples in columns) as the client wrote it. */
static void y_pointer(char *ptr, size_t len, bool flat, bool rows, size_t s,
		      size_t r)
{
	char rp[PROBLEM_POINTER_MAX];

	if (flat) {
		json_pointer_index(ptr, len, "/Y", s);
		return;
	}
	json_pointer_index(rp, sizeof(rp), "/Y", rows ? s : r);
	json_pointer_index(ptr, len, rp, rows ? r : s);
}

/* Integer class labels lab[0..m) (categorical_cross_entropy) as one-hot
 * columns of Y (nL x m, zeroed by the caller); 422 at each label that is
 * not an integer in [0, nL). */
static int labels_one_hot(const double *lab, size_t m, size_t nL, bool flat,
			  bool rows, double *Y, struct problem *p)
{
	char ptr[PROBLEM_POINTER_MAX];

	for (size_t s = 0; s < m; s++) {
		double y = lab[s];

		if (y >= 0 && y < (double)nL && y == floor(y)) {
			Y[(size_t)y * m + s] = 1.0;
			continue;
		}
		y_pointer(ptr, sizeof(ptr), flat, rows, s, 0);
		problem_add(p, PROB_OUT_OF_RANGE, ptr,
			    "a class label must be an integer from 0 to %zu (layer_dims[-1] - 1), got %g",
			    nL - 1, y);
		if (p->n_errors >= PROBLEM_MAX_ERRORS)
			break;
	}
	return problem_is_set(p) ? -1 : 0;
}

int gch_parse_data(const cJSON *body, const struct limits *lim,
		      struct model *md, struct warnings *wn, struct problem *p)
{
	struct json_matrix X = {0}, Y = {0};
	size_t n0 = md->dims[0], nL = md->dims[md->L], m;
	int layout = 0, rc = -1;
	bool yflat = false, labels, warned = false;
	char ptr[PROBLEM_POINTER_MAX];

	if (json_get_enum(body, "", "layout", 0, gch_layout_names, 0, &layout, p) < 0)
		return -1;
	md->rows = layout == 0;
	if (json_get_matrix(body, "", "X", JSON_REQUIRED, lim->max_elements, &X, p) < 0 ||
	    read_y(body, lim, md->rows, &Y, &yflat, p) < 0)
		goto out;
	if ((md->rows ? X.cols : X.rows) != n0) {
		problem_add(p, PROB_SHAPE_MISMATCH, "/X",
			    "X has %zu features per sample (%s), layer_dims[0] is %zu",
			    md->rows ? X.cols : X.rows, gch_layout_names[layout], n0);
		goto out;
	}
	m = md->rows ? X.rows : X.cols;
	/* one label per sample instead of one-hot rows */
	labels = md->loss == MLP_CCE && nL > 1 && Y.rows * Y.cols == m &&
		 (md->rows ? Y.cols : Y.rows) == 1;
	if (!labels &&
	    ((md->rows ? Y.rows : Y.cols) != m || (md->rows ? Y.cols : Y.rows) != nL)) {
		problem_add(p, PROB_SHAPE_MISMATCH, "/Y",
			    "expected shape [%zu, %zu] (%s: %zu samples, layer_dims[-1] = %zu), got [%zu, %zu]",
			    md->rows ? m : nL, md->rows ? nL : m, gch_layout_names[layout],
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
	if (md->rows)
		mat_transpose(X.v, m, n0, md->X);
	else
		memcpy(md->X, X.v, n0 * m * sizeof(double));
	if (labels) {
		memset(md->Y, 0, nL * m * sizeof(double));
		rc = labels_one_hot(Y.v, m, nL, yflat, md->rows, md->Y, p);
		goto out;
	}
	if (md->rows)
		mat_transpose(Y.v, m, nL, md->Y);
	else
		memcpy(md->Y, Y.v, nL * m * sizeof(double));
	/* targets that fit the loss */
	for (size_t s = 0; s < m; s++) {
		double sum = 0.0;

		for (size_t r = 0; r < nL; r++) {
			double y = md->Y[r * m + s];
			bool bad = (md->loss == MLP_BCE && (y < 0 || y > 1)) ||
				   (md->loss == MLP_CCE && y < 0);

			sum += y;
			if (!bad)
				continue;
			y_pointer(ptr, sizeof(ptr), yflat, md->rows, s, r);
			problem_add(p, PROB_OUT_OF_RANGE, ptr, md->loss == MLP_BCE ?
				    "binary_cross_entropy targets must be between 0 and 1, got %g" :
				    "categorical_cross_entropy targets must be at least 0, got %g", y);
			if (p->n_errors >= PROBLEM_MAX_ERRORS)
				goto out;
		}
		if (md->loss == MLP_CCE && !problem_is_set(p) && fabs(sum - 1.0) > 1e-9 &&
		    !warned) {
			warned = true;
			gch_warn(wn, "Y for sample %zu sums to %.17g, not 1 (and maybe others): "
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
int gch_parse_blocks(const cJSON *body, const char *key, const char *prefix,
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

int gch_layout_blocks(struct model *md, struct problem *p)
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
int gch_plan_check(struct opts *o, size_t n_params, size_t nb,
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
				gch_warn(wn, "check.sample %zu is not below the %zu parameters: all of them are checked",
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

void gch_vpair_free(struct vpair *v)
{
	gg_free(v->a);
	gg_free(v->n);
	gg_free(v->blocks);
	gg_free(v->names);
}

int gch_vector_flat(const cJSON *vec, const struct limits *lim,
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

int gch_vector_named(const cJSON *vec, const struct limits *lim,
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

static const char *const oracle_block_keys[] = {"name", "shape", NULL};

/* blocks: [{"name", "shape": [n] or [r, c]}, ...] covering theta in order;
 * without it one flat block "theta". *flat: every shape is [n] (shapes and
 * indices are then reported with one entry). Names are borrowed from the
 * tree. */
int gch_oracle_blocks(const cJSON *body, const struct limits *lim, size_t n,
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
