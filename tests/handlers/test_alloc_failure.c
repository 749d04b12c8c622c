/* Allocation-failure injection (core/alloc.h): for a representative request
 * of every endpoint, the k-th allocation fails for k = 1...N (N: what the
 * request allocates when nothing fails; every k up to ALL_K, then a stride);
 * the handler, called directly with a memory: store and json_parse inside
 * the window, must succeed or answer 500/503, never crash. Leaks fail the
 * ASan build (LeakSanitizer at exit). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <cJSON.h>

#include "core/alloc.h"
#include "handlers/handler.h"
#include "handlers/json.h"
#include "handlers/limits.h"
#include "handlers/store.h"
#include "tests/lib/suite_run.h"

/* Every k up to here, then about STRIDE_STEPS more spread over the rest. */
#define ALL_K 400
#define STRIDE_STEPS 200

struct areq {
	const char *name;
	handler_fn *fn;
	const char *param;
	const char *body;
	/* run first, without injection (creates the session used) */
	handler_fn *setup_fn;
	const char *setup_param;
	const char *setup_body;
};

#define FIT "{\"op\":\"fit\",\"session\":\"s1\",\"data\":[[1,2],[3,4],[5,7]]}"
#define MODEL "\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": " \
	"[\"relu\", \"sigmoid\"], \"loss\": \"binary_cross_entropy\"}, " \
	"\"X\": [[0.1, 0.2], [0.3, -0.1]], \"Y\": [[1], [0]], " \
	"\"parameters\": {\"W1\": [[0.1, 0.2], [-0.3, 0.4], [0.5, 0.6]], " \
	"\"b1\": [[0], [0.1], [0]], \"W2\": [[0.2, -0.1, 0.3]], \"b2\": [[0]]}"

static const struct areq reqs[] = {
	{ "normalize fit", handle_normalize, NULL, FIT, NULL, NULL, NULL },
	{ "normalize partial_fit", handle_normalize, NULL,
	  "{\"op\":\"partial_fit\",\"session\":\"s1\",\"data\":[[2,3],[4,1]]}",
	  handle_normalize, NULL, FIT },
	{ "normalize transform missing+report", handle_normalize, NULL,
	  "{\"op\":\"transform\",\"session\":\"s1\",\"missing\":\"ignore\","
	  "\"report\":true,\"data\":[[1,null],[3,4],[5,6],[2,2]]}",
	  handle_normalize, NULL, FIT },
	{ "normalize fit_transform columns", handle_normalize, NULL,
	  "{\"op\":\"fit_transform\",\"session\":\"s3\","
	  "\"layout\":\"samples_in_columns\",\"report\":true,"
	  "\"data\":[[1,2,3,4],[2,0,1,5],[7,1,1,2]]}", NULL, NULL, NULL },
	{ "normalize inverse_transform", handle_normalize, NULL,
	  "{\"op\":\"inverse_transform\",\"session\":\"s1\","
	  "\"data\":[[0.5,-1],[1,1]]}", handle_normalize, NULL, FIT },
	{ "sessions GET", handle_session_get, "s1", NULL,
	  handle_normalize, NULL, FIT },
	{ "sessions PUT", handle_session_put, "s2",
	  "{\"n_samples_seen\":3,\"mean\":[2,1],\"var\":[0.5,4]}",
	  NULL, NULL, NULL },
	{ "sessions DELETE", handle_session_delete, "s1", NULL,
	  handle_normalize, NULL, FIT },
	{ "init he+diagnose", handle_init, NULL,
	  "{\"layer_dims\": [4, 5, 3], \"method\": \"he\", \"seed\": 3, "
	  "\"diagnose\": {\"activation\": \"relu\", \"batch\": 16}}",
	  NULL, NULL, NULL },
	{ "init glorot uniform fast", handle_init, NULL,
	  "{\"layer_dims\": [5, 7, 2], \"method\": \"glorot\", "
	  "\"distribution\": \"uniform\", \"rng\": \"fast\", "
	  "\"seed\": 5}", NULL, NULL, NULL },
	/* over HRES_STREAM_MIN: produced by the streaming path */
	{ "init streamed", handle_init, NULL,
	  "{\"layer_dims\": [1200, 300], \"seed\": 2}", NULL, NULL, NULL },
	{ "init orthogonal", handle_init, NULL,
	  "{\"layer_dims\": [6, 4, 3], \"method\": \"orthogonal\", "
	  "\"scale\": 2, \"seed\": 4}", NULL, NULL, NULL },
	{ "gradcheck model", handle_gradcheck, NULL,
	  "{" MODEL ", \"return_gradients\": true}", NULL, NULL, NULL },
	{ "gradcheck vector", handle_gradcheck, NULL,
	  "{\"vector\": {\"gradient\": {\"dW1\": [[1, 2], [3, 4]], "
	  "\"db1\": [1, 2]}, \"numeric_gradient\": {\"dW1\": [[1, 2], "
	  "[3, 4.1]], \"db1\": [[1], [2.5]]}}, \"top\": 2}", NULL, NULL, NULL },
	{ "gradcheck model with gradients", handle_gradcheck, NULL,
	  "{" MODEL ", \"gradients\": {\"dW1\": [[0, 0], [0, 0], [0, 0]], "
	  "\"db1\": [0, 0, 0], \"dW2\": [[0, 0, 0]], \"db2\": [0]}, "
	  "\"top\": 3}", NULL, NULL, NULL },
	{ "gradcheck directions", handle_gradcheck, NULL,
	  "{" MODEL ", \"check\": {\"directions\": 6, \"seed\": 1}}",
	  NULL, NULL, NULL },
	{ "gradcheck sample", handle_gradcheck, NULL,
	  "{" MODEL ", \"check\": {\"sample\": 4, \"seed\": 3}}",
	  NULL, NULL, NULL },
};

#define N_REQS (sizeof(reqs) / sizeof(reqs[0]))

struct outcome {
	unsigned status;
	enum problem_kind kind;
	char detail[PROBLEM_DETAIL_MAX];
	long allocs;          /* allocation calls made by the request */
	int pending;          /* the injected failure was never reached */
};

static struct limits lim;
/* The answer's format (JW_NPZ: the every_..._as_npz loop). */
static enum jw_format fmt = JW_JSON;

/* One call of handler fn on text body with the k-th allocation failing
 * (k = 0: none). The store is fresh and freed again. */
static unsigned call(handler_fn *fn, struct store *st, const char *param,
		     const char *body, long k, struct outcome *o)
{
	struct hctx ctx = { 0 };
	struct hres res;
	cJSON *in = NULL;
	long before;

	ctx.limits = &lim;
	ctx.store = st;
	ctx.param = param;
	ctx.tenant = "";
	before = gg_alloc_count();
	gg_alloc_inject(k);
	hres_init(&res, lim.max_response);
	res.format = fmt;
	if (!body || json_parse(body, strlen(body), &in, &res.problem) == 0)
		fn(&ctx, in, &res);
	hres_drain(&res);  /* a streamed answer allocates as it goes */
	o->pending = gg_alloc_pending();
	gg_alloc_inject(0);
	o->allocs = gg_alloc_count() - before;
	o->kind = res.problem.kind;
	if (problem_is_set(&res.problem)) {
		o->status = problem_status(res.problem.kind);
		snprintf(o->detail, sizeof(o->detail), "%s",
			 res.problem.detail);
	} else {
		o->status = res.status ? res.status : 200;
		o->detail[0] = '\0';
		if (o->status != 204 && fmt == JW_NPZ) {
			/* a complete zip: local header first, end record last */
			ck_assert_msg(res.body.len > 22 &&
				      !memcmp(res.body.data, "PK\3\4", 4) &&
				      !memcmp(res.body.data + res.body.len - 22,
					      "PK\5\6", 4),
				      "success without a complete npz (k = %ld)", k);
		} else if (o->status != 204) {
			/* a success must carry a complete JSON body */
			cJSON *out = res.body.len
				? cJSON_ParseWithLength(res.body.data,
							res.body.len)
				: NULL;

			ck_assert_msg(out != NULL, "success without a JSON body"
				      " (k = %ld)", k);
			cJSON_Delete(out);
		}
	}
	hres_free(&res);
	cJSON_Delete(in);
	return o->status;
}

static void run_one(const struct areq *q, long k, struct outcome *o)
{
	struct store *st = NULL;
	struct outcome so;
	char err[256];

	ck_assert_msg(store_open("memory:", 0, &st, err, sizeof(err)) == 0,
		      "%s", err);
	if (q->setup_fn) {
		call(q->setup_fn, st, q->setup_param, q->setup_body, 0, &so);
		ck_assert_msg(so.status == 200 || so.status == 201,
			      "%s: setup answered %u (%s)", q->name,
			      so.status, so.detail);
	}
	call(q->fn, st, q->param, q->body, k, o);
	store_close(st);
}

static int problem_is_set_kind(enum problem_kind k)
{
	return k != PROB_NONE;
}

static int acceptable(const struct outcome *o)
{
	if (o->status == 200 || o->status == 201 || o->status == 204)
		return 1;
	return o->kind == PROB_OUT_OF_MEMORY || o->kind == PROB_INTERNAL;
}

START_TEST(every_allocation_failure_is_answered)
{
	const struct areq *q = &reqs[_i];
	struct outcome o;
	long n, k, step, tried = 0, succeeded = 0, internal = 0;

	cJSON_InitHooks(&(cJSON_Hooks){ .malloc_fn = gg_malloc,
					 .free_fn = gg_free });
	limits_default(&lim);
	run_one(q, 0, &o);
	ck_assert_msg(o.status == 200 || o.status == 201 || o.status == 204,
		      "%s: answered %u without injection (%s)", q->name,
		      o.status, o.detail);
	n = o.allocs;   /* 0: the request cannot fail for lack of memory */
	step = n > ALL_K ? (n - ALL_K) / STRIDE_STEPS + 1 : 1;
	for (k = 1; k <= n; k += k < ALL_K ? 1 : step) {
		run_one(q, k, &o);
		ck_assert_msg(!o.pending, "%s: allocation %ld of %ld never "
			      "happened (not deterministic?)", q->name, k, n);
		ck_assert_msg(acceptable(&o), "%s: allocation %ld of %ld "
			      "failed -> %u %s (%s)", q->name, k, n, o.status,
			      problem_type(o.kind), o.detail);
		tried++;
		succeeded += !problem_is_set_kind(o.kind);
		internal += o.kind == PROB_INTERNAL;
	}
	fprintf(stderr, "alloc-failure: %-36s N = %5ld, tried %ld, "
		"%ld succeeded, %ld x 500\n", q->name, n, tried, succeeded,
		internal);
}
END_TEST

/* The same requests answered as npz (the routes that offer it). */
START_TEST(every_allocation_failure_is_answered_as_npz)
{
	handler_fn *fn = reqs[_i].fn;

	if (fn != handle_normalize && fn != handle_init &&
	    fn != handle_gradcheck)
		return;
	fmt = JW_NPZ;
	every_allocation_failure_is_answered_fn(_i);
	fmt = JW_JSON;
}
END_TEST

static Suite *alloc_failure_suite(void)
{
	Suite *s = suite_create("alloc_failure");
	TCase *tc = tcase_create("endpoints");

	tcase_add_loop_test(tc, every_allocation_failure_is_answered, 0,
			    (int)N_REQS);
	tcase_add_loop_test(tc, every_allocation_failure_is_answered_as_npz, 0,
			    (int)N_REQS);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(alloc_failure_suite());
}
