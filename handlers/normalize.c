/* POST /normalize: z-score statistics kept per session (fit, partial_fit)
 * and the transforms that use them. Parses the body, runs core/stats and
 * core/condition, and talks to the session store. A fit_transform without
 * a session is stateless: the store is not touched. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/condition.h"

#include "core/alloc.h"
#include "core/matrix.h"
#include "core/stats.h"
#include "handler.h"
#include "json.h"
#include "session.h"
#include "store.h"

/* Warnings naming single features stop after this many (then a summary). */
#define NORMALIZE_MAX_NAMED_WARNINGS 64

enum op { OP_FIT, OP_PARTIAL_FIT, OP_TRANSFORM, OP_FIT_TRANSFORM, OP_INVERSE };
enum layout { LAYOUT_ROWS, LAYOUT_COLUMNS };
enum missing { MISSING_REJECT, MISSING_IGNORE };

static const char *const op_names[] = {
	"fit", "partial_fit", "transform", "fit_transform",
	"inverse_transform", NULL
};
static const char *const layout_names[] = {
	"samples_in_rows", "samples_in_columns", NULL
};
static const char *const missing_names[] = { "reject", "ignore", NULL };
static const char *const allowed[] = {
	"op", "session", "data", "layout", "with_mean", "with_std", "missing",
	"report", "ttl", NULL
};

struct request {
	int op, layout, missing;
	const char *session;     /* borrowed from the body; NULL: generate
				  * (fit, partial_fit) or none (fit_transform) */
	int64_t ttl_ms;          /* "ttl" in ms; 0: the default lifetime */
	bool with_mean, with_std, report;
	double *x;               /* n x d, samples in rows, owned */
	size_t n, d;
};

static bool op_stores(int op)
{
	return op == OP_FIT || op == OP_PARTIAL_FIT || op == OP_FIT_TRANSFORM;
}

/* The op keeps statistics in the store (a stateless fit_transform not). */
static bool rq_stores(const struct request *rq)
{
	return op_stores(rq->op) &&
	       (rq->session || rq->op != OP_FIT_TRANSFORM);
}

static bool op_outputs_data(int op)
{
	return op == OP_TRANSFORM || op == OP_FIT_TRANSFORM || op == OP_INVERSE;
}

/* Checks the sample and feature counts of "data" against the limits from
 * the array sizes alone, before the matrix getter allocates anything. */
static int check_data_size(const cJSON *data, int layout,
			   const struct limits *lim, struct problem *p)
{
	const struct json_block *b = json_block_of(data);
	size_t outer = json_array_len(data), inner = 0;
	size_t samples, features;

	if (b)
		inner = b->ndim == 2 ? b->cols : 0;
	else if (data->child && cJSON_IsArray(data->child))
		inner = json_array_len(data->child);
	samples = layout == LAYOUT_ROWS ? outer : inner;
	features = layout == LAYOUT_ROWS ? inner : outer;
	if (samples > lim->max_rows) {
		problem_add(p, PROB_TOO_LARGE, "/data",
			    "%zu samples exceed the limit of %zu", samples,
			    lim->max_rows);
		return -1;
	}
	if (features > lim->max_features) {
		problem_add(p, PROB_TOO_LARGE, "/data",
			    "%zu features exceed the limit of %zu", features,
			    lim->max_features);
		return -1;
	}
	return 0;
}

/* Reads and validates every field; on success rq->x holds the data with
 * samples in rows. Returns 0 or -1 (p filled with every problem found). */
static int parse(const cJSON *body, const struct limits *lim,
		 struct request *rq, struct problem *p)
{
	const cJSON *data = NULL;
	struct json_matrix m = { NULL, 0, 0 };
	unsigned session_flags = 0;
	int op_ok;

	json_check_object(body, "", allowed, p);
	if (!cJSON_IsObject(body))
		return -1;
	op_ok = json_get_enum(body, "", "op", JSON_REQUIRED, op_names, 0,
			      &rq->op, p);
	if (op_ok == 1 && !op_stores(rq->op))
		session_flags = JSON_REQUIRED;
	if (json_get_string(body, "", "session", session_flags,
			    SESSION_ID_MAX, &rq->session, p) == 1 &&
	    !session_id_valid(rq->session))
		problem_add(p, PROB_INVALID, "/session",
			    "must match [A-Za-z0-9_.-]{1,64}");
	if (json_get_int(body, "", "ttl", 0, 0, 1, SESSION_TTL_MAX,
			 &rq->ttl_ms, p) == 1) {
		rq->ttl_ms *= 1000;
		if (op_ok == 1 && !rq_stores(rq))
			problem_add(p, PROB_INVALID, "/ttl",
				    "a lifetime applies to writes only (fit, "
				    "partial_fit, fit_transform with session)");
	}
	json_get_enum(body, "", "layout", 0, layout_names, LAYOUT_ROWS,
		      &rq->layout, p);
	json_get_bool(body, "", "with_mean", 0, true, &rq->with_mean, p);
	json_get_bool(body, "", "with_std", 0, true, &rq->with_std, p);
	json_get_enum(body, "", "missing", 0, missing_names, MISSING_REJECT,
		      &rq->missing, p);
	json_get_bool(body, "", "report", 0, false, &rq->report, p);
	if (json_get_node(body, "", "data", JSON_REQUIRED, cJSON_Array, &data,
			  p) != 1)
		return -1;
	if (problem_is_set(p))
		return -1;
	if (check_data_size(data, rq->layout, lim, p) != 0)
		return -1;
	if (json_as_matrix(data, "/data",
			   rq->missing == MISSING_IGNORE ? JSON_ALLOW_NULL : 0,
			   lim->max_elements, &m, p) != 1)
		return -1;
	if (rq->layout == LAYOUT_ROWS) {
		rq->x = m.v;
		rq->n = m.rows;
		rq->d = m.cols;
	} else {
		rq->x = gg_malloc(m.rows * m.cols * sizeof(double));
		if (!rq->x) {
			gg_free(m.v);
			problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
			return -1;
		}
		mat_transpose(m.v, m.rows, m.cols, rq->x);
		gg_free(m.v);
		rq->n = m.cols;
		rq->d = m.rows;
	}
	if (rq->report && rq->d > lim->max_report_features) {
		problem_add(p, PROB_TOO_LARGE, "/report",
			    "condition numbers are computed for at most %zu "
			    "features, data has %zu", lim->max_report_features,
			    rq->d);
		return -1;
	}
	return 0;
}

/* A partial_fit the store refused (STORE_OVERFLOW): names the feature
 * from the stored statistics when they are still there to compare. */
static void merge_overflow_problem(struct hctx *ctx, const char *key,
				   const struct stats *delta,
				   struct problem *p)
{
	struct stats *cur = NULL;
	size_t bad = SIZE_MAX;

	if (ctx->store->ops->get(ctx->store, key, &cur, NULL) != STORE_OK ||
	    stats_merge_finite(cur, delta, &bad))
		bad = SIZE_MAX;
	session_overflow_problem(p, bad);
	stats_free(cur);
}

/* 422 naming each output cell that overflowed (+-inf; NaN cells are the
 * input's nulls) by its pointer in the request's layout. Returns -1 then. */
static int check_output(const struct request *rq, struct problem *p)
{
	bool rows = rq->layout == LAYOUT_ROWS;
	size_t outer = rows ? rq->n : rq->d, inner = rows ? rq->d : rq->n;
	char ptr[PROBLEM_POINTER_MAX];

	for (size_t a = 0; a < outer; a++) {
		for (size_t b = 0; b < inner; b++) {
			size_t i = rows ? a : b, j = rows ? b : a;

			if (!isinf(rq->x[i * rq->d + j]))
				continue;
			snprintf(ptr, sizeof(ptr), "/data/%zu/%zu", a, b);
			problem_add(p, PROB_NON_FINITE, ptr,
				    "the result overflows the double range");
		}
	}
	return problem_is_set(p) ? -1 : 0;
}

/* The statistics after the op: fit/partial_fit update the store, the
 * transforms only read it, a stateless fit_transform (id NULL) has the
 * batch's own. Returns NULL with p filled on failure. */
static struct stats *apply_op(struct hctx *ctx, const struct request *rq,
			      const char *id, const char *key, int64_t ttl_ms,
			      struct session_meta *meta, struct problem *p)
{
	struct stats *st = NULL, *res = NULL;
	enum store_status rc;
	size_t bad;

	if (op_stores(rq->op)) {
		st = stats_new(rq->d);
		if (!st) {
			problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
			goto out;
		}
		/* the batch alone, checked before the store sees it */
		stats_batch(st, rq->x, rq->n, rq->d);
		if (!stats_finite(st, &bad)) {
			session_overflow_problem(p, bad);
			goto out;
		}
		if (!id) {
			res = st;
			st = NULL;
			goto out;
		}
		if (rq->op == OP_PARTIAL_FIT) {
			rc = ctx->store->ops->merge(ctx->store, key, st,
						    ttl_ms, &res, meta);
			if (rc == STORE_OVERFLOW) {
				merge_overflow_problem(ctx, key, st, p);
				goto out;
			}
		} else {
			rc = ctx->store->ops->put(ctx->store, key, st, ttl_ms,
						  meta);
			if (rc == STORE_OK) {
				res = st;
				st = NULL;
			}
		}
	} else {
		rc = ctx->store->ops->get(ctx->store, key, &res, meta);
	}
	if (rc == STORE_MISMATCH || (rc == STORE_OK && res->n_features != rq->d)) {
		struct stats *cur = res;

		if (!cur)
			ctx->store->ops->get(ctx->store, key, &cur, NULL);
		if (cur)
			problem_add(p, PROB_SHAPE_MISMATCH, "/data",
				    "data has %zu features, session '%s' has %zu",
				    rq->d, id, cur->n_features);
		else
			session_store_problem(p, STORE_MISMATCH, id, "/session");
		if (cur != res)
			stats_free(cur);
		stats_free(res);
		res = NULL;
		goto out;
	}
	if (rc != STORE_OK)
		session_store_problem(p, rc, id, "/session");
out:
	stats_free(st);
	return res;
}

static void write_conditioning(struct jw *w, const char *name, double kappa)
{
	jw_key(w, name);
	if (isfinite(kappa))
		jw_double(w, kappa);
	else
		jw_null(w);
}

static void cond_warning(struct jw *w, const char *which,
			 enum cond_status cs, size_t d)
{
	char msg[256];

	if (cs == COND_SINGULAR)
		snprintf(msg, sizeof(msg),
			 "conditioning.%s: the second-moment matrix is "
			 "numerically singular (condition number above "
			 "1/(%zu*eps)); reported as null", which, d);
	else if (cs == COND_EMPTY)
		snprintf(msg, sizeof(msg),
			 "conditioning.%s: no complete row (every sample has a "
			 "null); reported as null", which);
	else if (cs == COND_NOCONVERGE)
		snprintf(msg, sizeof(msg),
			 "conditioning.%s: the eigenvalue iteration did not "
			 "converge; reported as null", which);
	else
		return;
	jw_string(w, msg);
}

/* Writes the feature warnings: zero variance (with_std only), no values. */
static void feature_warnings(struct jw *w, const struct stats *st,
			     const bool *constant, bool with_std)
{
	size_t named = 0, more = 0;
	char msg[160];

	for (size_t j = 0; j < st->n_features; j++) {
		if (st->count[j] == 0)
			snprintf(msg, sizeof(msg),
				 "feature %zu has no values (all null): its "
				 "mean, var and scale are null", j);
		else if (with_std && constant[j])
			snprintf(msg, sizeof(msg),
				 "feature %zu has zero variance: scale set to 1",
				 j);
		else
			continue;
		if (named == NORMALIZE_MAX_NAMED_WARNINGS) {
			more++;
			continue;
		}
		named++;
		jw_string(w, msg);
	}
	if (more) {
		snprintf(msg, sizeof(msg),
			 "%zu more features have zero variance or no values",
			 more);
		jw_string(w, msg);
	}
}

/* POST /normalize. ctx->store must be set (else 503) unless the op is a
 * stateless fit_transform. Response: session (null when stateless),
 * n_samples_seen, n_features, mean, var, scale (the scale applied: all 1
 * with with_std false), expires_at (with a session), data (transform ops,
 * in the request's layout), conditioning (report), warnings. */
void handle_normalize(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	struct problem *p = &res->problem;
	struct request rq = { 0 };
	struct stats *st = NULL;
	double *scale = NULL, *ones = NULL;
	bool *constant = NULL;
	char gen[32], key[SESSION_KEY_MAX] = "";
	struct session_meta meta = { 0, 0, 0 };
	const char *id;
	int64_t ttl_ms = 0;
	const double *mean_use, *scale_use;
	double k_before = NAN, k_after = NAN;
	enum cond_status c_before = COND_OK, c_after = COND_OK;
	struct jw w;

	if (parse(body, ctx->limits, &rq, p) != 0)
		goto out;
	if (res->format == JW_NPY && !op_outputs_data(rq.op)) {
		problem_set(p, PROB_NOT_ACCEPTABLE,
			    "op '%s' answers no data array: application/x-npy "
			    "is for transforms; ask for application/x-npz or "
			    "application/json", op_names[rq.op]);
		goto out;
	}
	id = rq.session;
	if (id || rq_stores(&rq)) {
		if (!ctx->store) {
			problem_set(p, PROB_STORE_UNAVAILABLE,
				    "no session store");
			goto out;
		}
		if (hctx_expired(ctx)) {
			problem_set(p, PROB_DEADLINE, "deadline passed before "
				    "the session was touched");
			goto out;
		}
		ttl_ms = rq.ttl_ms ? rq.ttl_ms : ctx->store->session_ttl_ms;
	}
	if (!id && rq_stores(&rq)) {
		if (session_generate(gen, sizeof(gen)) != 0) {
			problem_set(p, PROB_INTERNAL, "no entropy for a session id");
			goto out;
		}
		id = gen;
		if (!rq.ttl_ms)
			ttl_ms = ctx->store->anonymous_ttl_ms;
	}
	if (id && session_key(key, sizeof(key), ctx->tenant, id) != 0) {
		problem_set(p, PROB_INTERNAL, "session key too long");
		goto out;
	}
	/* a write naming no lifetime keeps the session's own (a generated
	 * id its --anonymous-ttl); a new named session gets --session-ttl */
	if (rq.session && !rq.ttl_ms && rq_stores(&rq))
		ttl_ms = STORE_TTL_KEEP;
	st = apply_op(ctx, &rq, id, key, ttl_ms, &meta, p);
	if (!st)
		goto out;

	scale = gg_malloc(rq.d * (2 * sizeof(double) + sizeof(bool)));
	if (!scale) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	ones = scale + rq.d;
	constant = (bool *)(void *)(ones + rq.d);
	stats_scale(st, scale, constant);
	for (size_t j = 0; j < rq.d; j++)
		ones[j] = 1.0;
	mean_use = rq.with_mean ? st->mean : NULL;
	scale_use = rq.with_std ? scale : NULL;

	/* before: data in raw units; after: the same data normalized */
	if (rq.report && rq.op != OP_INVERSE) {
		c_before = condition_second_moment(rq.x, rq.n, rq.d, NULL, NULL,
						   &k_before, NULL);
		c_after = condition_second_moment(rq.x, rq.n, rq.d, mean_use,
						  scale_use, &k_after, NULL);
	} else if (rq.report) {
		c_after = condition_second_moment(rq.x, rq.n, rq.d, NULL, NULL,
						  &k_after, NULL);
	}
	if (rq.op == OP_INVERSE) {
		stats_inverse(rq.x, rq.n, rq.d, mean_use, scale_use);
		if (rq.report)
			c_before = condition_second_moment(rq.x, rq.n, rq.d,
							   NULL, NULL,
							   &k_before, NULL);
	} else if (op_outputs_data(rq.op)) {
		stats_transform(rq.x, rq.n, rq.d, mean_use, scale_use);
	}
	if (op_outputs_data(rq.op) && check_output(&rq, p) != 0)
		goto out;
	if (c_before == COND_NOMEM || c_after == COND_NOMEM) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}

	/* one allocation for the answer: data dominates (~25 chars a number) */
	buf_presize(&res->body, (op_outputs_data(rq.op) ? rq.n * rq.d : 0) *
		    (res->format == JW_JSON ? 25 : sizeof(double)) +
		    rq.d * 80 + 4096);
	jw_init_format(&w, &res->body, res->format);
	jw_obj_begin(&w);
	if (session_write_stats(&w, id, st, rq.with_std ? scale : ones) != 0) {
		jw_free(&w);
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	if (id)
		session_write_expiry(&w, meta.expires_at_ms);
	if (op_outputs_data(rq.op)) {
		jw_key(&w, "data");
		jw_matrix(&w, rq.x, rq.n, rq.d, rq.layout == LAYOUT_COLUMNS);
	}
	if (rq.report) {
		jw_key(&w, "conditioning");
		jw_obj_begin(&w);
		write_conditioning(&w, "before", k_before);
		write_conditioning(&w, "after", k_after);
		jw_obj_end(&w);
	}
	jw_key(&w, "warnings");
	jw_arr_begin(&w);
	feature_warnings(&w, st, constant, rq.with_std);
	if (rq.report) {
		cond_warning(&w, "before", c_before, rq.d);
		cond_warning(&w, "after", c_after, rq.d);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (jw_finish(&w))
		hres_body_failed(res);
	else
		res->status = 200;
out:
	gg_free(scale);
	stats_free(st);
	gg_free(rq.x);
}
