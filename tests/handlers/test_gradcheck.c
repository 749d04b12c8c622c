/* handlers/gradcheck: POST /gradcheck without sockets. Requests are built
 * from the PyTorch fixtures (both layouts): cost and returned gradients equal
 * torch's, correct gradients pass, planted bugs fail and name the block,
 * sampled/directional modes, kinks, warnings, and every refusal with its
 * status, problem type and pointer. */
#include <check.h>
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gradcheck.h"
#include "core/mlp.h"
#include "handlers/handler.h"
#include "handlers/limits.h"
#include "tests/lib/torch_case.h"
#include "tests/lib/suite_run.h"

static cJSON *root;

static cJSON *parse(const char *s)
{
	return cJSON_ParseWithLength(s, strlen(s));
}

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

struct call {
	struct hres res;
	struct hctx ctx;
	struct limits lim;
	cJSON *json;          /* parsed success body, else NULL */
};

static void call_body(cJSON *body, struct call *c, const struct limits *lim)
{
	if (lim)
		c->lim = *lim;
	else
		limits_default(&c->lim);
	memset(&c->ctx, 0, sizeof(c->ctx));
	c->ctx.limits = &c->lim;
	c->ctx.tenant = "";
	hres_init(&c->res, c->lim.max_response);
	handle_gradcheck(&c->ctx, body, &c->res);
	c->json = NULL;
	if (!problem_is_set(&c->res.problem))
		c->json = cJSON_ParseWithLength(c->res.body.data, c->res.body.len);
}

static void call_text(const char *text, struct call *c, const struct limits *lim)
{
	cJSON *body = cJSON_ParseWithLength(text, strlen(text));

	ck_assert_msg(body != NULL, "test body is not JSON: %s", text);
	call_body(body, c, lim);
	cJSON_Delete(body);
}

static void call_free(struct call *c)
{
	cJSON_Delete(c->json);
	hres_free(&c->res);
}

static const cJSON *ok(struct call *c)
{
	ck_assert_msg(!problem_is_set(&c->res.problem), "%u %s: %s (%s)",
		      problem_status(c->res.problem.kind), problem_type(c->res.problem.kind),
		      c->res.problem.detail,
		      c->res.problem.n_errors ? c->res.problem.errors[0].pointer : "");
	ck_assert_uint_eq(c->res.status, 200);
	ck_assert_msg(c->json != NULL, "response is not JSON");
	return c->json;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(v != NULL, "response lacks %s", k);
	return v;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);

	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
	return v->valuedouble;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);

	ck_assert_msg(cJSON_IsString(v), "%s is not a string", k);
	return v->valuestring;
}

static bool has_warning(const cJSON *r, const char *needle)
{
	const cJSON *w;

	cJSON_ArrayForEach(w, get(r, "warnings"))
		if (strstr(w->valuestring, needle))
			return true;
	return false;
}

static const cJSON *block_named(const cJSON *r, const char *name)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, get(r, "blocks"))
		if (strcmp(str(b, "name"), name) == 0)
			return b;
	ck_abort_msg("no block %s", name);
	return NULL;
}

/* ---- requests from fixtures ------------------------------------------------ */

static cJSON *matrix(const double *v, size_t rows, size_t cols, bool transpose)
{
	cJSON *m = cJSON_CreateArray();

	for (size_t i = 0; i < (transpose ? cols : rows); i++) {
		cJSON *row = cJSON_CreateArray();

		for (size_t j = 0; j < (transpose ? rows : cols); j++)
			cJSON_AddItemToArray(row, cJSON_CreateNumber(transpose ? v[j * cols + i]
								      : v[i * cols + j]));
		cJSON_AddItemToArray(m, row);
	}
	return m;
}

static cJSON *flat(const double *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
	return a;
}

/* {"W1": ..., "b1": ...} (prefix "" or "d") from a flat theta-ordered vector;
 * flat_b writes b<l> as a flat array. */
static cJSON *param_dict(const struct torch_case *c, const double *v, const char *prefix,
			 bool flat_b)
{
	cJSON *o = cJSON_CreateObject();
	char name[16];

	for (size_t l = 1; l <= c->L; l++) {
		size_t off = mlp_w_offset(c->dims, l), nl = c->dims[l], np = c->dims[l - 1];

		snprintf(name, sizeof(name), "%sW%zu", prefix, l);
		cJSON_AddItemToObject(o, name, matrix(v + off, nl, np, false));
		snprintf(name, sizeof(name), "%sb%zu", prefix, l);
		cJSON_AddItemToObject(o, name, flat_b ? flat(v + off + nl * np, nl)
						      : matrix(v + off + nl * np, nl, 1, false));
	}
	return o;
}

static cJSON *model_request(const struct torch_case *c, bool rows, double eps)
{
	cJSON *b = cJSON_CreateObject(), *m = cJSON_CreateObject(), *acts, *dims;
	static const char *const losses[] = {"binary_cross_entropy",
					     "categorical_cross_entropy", "mse"};
	const char *names[8];
	int d[8];

	for (size_t l = 0; l <= c->L; l++)
		d[l] = (int)c->dims[l];
	for (size_t l = 0; l < c->L; l++)
		names[l] = mlp_act_name(c->act[l]);
	dims = cJSON_CreateIntArray(d, (int)c->L + 1);
	acts = cJSON_CreateStringArray(names, (int)c->L);
	cJSON_AddItemToObject(m, "layer_dims", dims);
	cJSON_AddItemToObject(m, "activations", acts);
	cJSON_AddStringToObject(m, "loss", losses[c->loss]);
	cJSON_AddNumberToObject(m, "l2", c->l2);
	cJSON_AddItemToObject(b, "model", m);
	cJSON_AddItemToObject(b, "parameters", param_dict(c, c->theta, "", false));
	cJSON_AddItemToObject(b, "X", matrix(c->X, c->dims[0], c->m, rows));
	cJSON_AddItemToObject(b, "Y", matrix(c->Y, c->dims[c->L], c->m, rows));
	cJSON_AddStringToObject(b, "layout", rows ? "samples_in_rows" : "samples_in_columns");
	if (eps > 0)
		cJSON_AddNumberToObject(b, "epsilon", eps);
	return b;
}

/* Both layouts: the cost and returned gradients are torch's, a check of
 * our own back-propagation passes, the blocks are W1, b1, ... */
START_TEST(model_check_matches_torch_in_both_layouts)
{
	struct torch_case c;

	ck_assert_int_eq(torch_case_get(root, (size_t)_i / 2, &c), 0);
	{
		bool rows = _i % 2 == 0;
		cJSON *req = model_request(&c, rows, 1e-6);
		struct call call;
		const cJSON *r, *blocks, *b, *g;
		size_t k = 0;
		double gmax = 0;

		for (size_t i = 0; i < c.n_params; i++)
			gmax = fmax(gmax, fabs(c.grad[i]));
		cJSON_AddBoolToObject(req, "return_gradients", 1);
		call_body(req, &call, NULL);
		r = ok(&call);
		ck_assert(fabs(num(r, "cost") - c.cost) <= 1e-12 * fabs(c.cost));
		ck_assert_uint_eq((size_t)num(r, "n_parameters"), c.n_params);
		ck_assert_uint_eq((size_t)num(r, "n_checked"), c.n_params);
		ck_assert_uint_eq((size_t)num(r, "evaluations"), 2 * c.n_params);
		ck_assert_uint_eq(call.ctx.evaluations, 2 * c.n_params);
		ck_assert_double_eq(num(r, "epsilon"), 1e-6);
		ck_assert_double_eq(num(get(r, "thresholds"), "warn"), 1e-5);
		if (num(r, "kinks") == 0)
			ck_assert_str_eq(str(r, "verdict"), "pass");
		ck_assert(num(r, "elapsed_ms") >= 0);
		blocks = get(r, "blocks");
		ck_assert_int_eq(cJSON_GetArraySize(blocks), (int)(2 * c.L));
		cJSON_ArrayForEach(b, blocks) {
			char want[24];
			size_t l = k / 2 + 1;
			const cJSON *shape = get(b, "shape");

			snprintf(want, sizeof(want), "%c%zu", k % 2 ? 'b' : 'W', l);
			ck_assert_str_eq(str(b, "name"), want);
			ck_assert_int_eq(cJSON_GetArrayItem(shape, 0)->valueint, (int)c.dims[l]);
			ck_assert_int_eq(cJSON_GetArrayItem(shape, 1)->valueint,
					 k % 2 ? 1 : (int)c.dims[l - 1]);
			ck_assert_int_eq(cJSON_GetArraySize(get(b, "worst_index")), 2);
			k++;
		}
		ck_assert_int_eq(cJSON_GetArraySize(get(r, "worst")), 5);
		/* gradients: torch's, in parameter shapes */
		g = get(r, "gradients");
		for (size_t l = 1; l <= c.L; l++) {
			size_t off = mlp_w_offset(c.dims, l), nl = c.dims[l], np = c.dims[l - 1];
			char name[24];
			const cJSON *row, *x;
			size_t t = off;

			snprintf(name, sizeof(name), "dW%zu", l);
			cJSON_ArrayForEach(row, get(g, name)) {
				cJSON_ArrayForEach(x, row) {
					ck_assert(fabs(x->valuedouble - c.grad[t]) <=
						  1e-12 * fmax(fabs(c.grad[t]), 1e-3 * gmax));
					t++;
				}
			}
			snprintf(name, sizeof(name), "db%zu", l);
			cJSON_ArrayForEach(row, get(g, name)) {
				ck_assert_int_eq(cJSON_GetArraySize(row), 1);
				ck_assert(fabs(row->child->valuedouble - c.grad[t]) <=
					  1e-12 * fmax(fabs(c.grad[t]), 1e-3 * gmax));
				t++;
			}
			ck_assert_uint_eq(t, off + nl * np + nl);
		}
		call_free(&call);
		cJSON_Delete(req);
	}
	torch_case_free(&c);
}
END_TEST

/* 0: torch's gradients (db flat) pass; 1: dW<last> doubled fails blaming it;
 * 2: the L2 term left out of dW blames W blocks only. */
START_TEST(given_gradients_are_checked_and_bugs_blamed)
{
	size_t n = torch_case_count(root);
	int tried = 0;

	for (size_t i = 0; i + 2 < n; i++) {
		struct torch_case c;
		cJSON *req;
		struct call call;
		const cJSON *r, *b;
		double *g;
		char target[8];

		ck_assert_int_eq(torch_case_get(root, i, &c), 0);
		if (!torch_case_is_smooth(&c) || (_i == 2 && c.l2 == 0)) {
			torch_case_free(&c);
			continue;
		}
		g = malloc(c.n_params * sizeof(double));
		memcpy(g, c.grad, c.n_params * sizeof(double));
		snprintf(target, sizeof(target), "W%zu", c.L);
		for (size_t l = 1; l <= c.L; l++) {
			size_t off = mlp_w_offset(c.dims, l), nw = c.dims[l] * c.dims[l - 1];

			for (size_t t = 0; t < nw; t++) {
				if (_i == 1 && l == c.L)
					g[off + t] *= 2;
				if (_i == 2)   /* d/dW of l2/(2m)||W||^2 is (l2/m) W */
					g[off + t] -= c.l2 / (double)c.m * c.theta[off + t];
			}
		}
		req = model_request(&c, i % 2 == 0, 1e-6);
		cJSON_AddItemToObject(req, "gradients", param_dict(&c, g, "d", true));
		call_body(req, &call, NULL);
		r = ok(&call);
		if (_i == 0) {
			ck_assert_str_eq(str(r, "verdict"), "pass");
		} else if (_i == 1) {
			ck_assert_str_eq(str(r, "verdict"), "fail");
			ck_assert_str_eq(str(get(r, "worst")->child, "name"), target);
			cJSON_ArrayForEach(b, get(r, "blocks"))
				ck_assert_str_eq(str(b, "verdict"),
						 strcmp(str(b, "name"), target) ? "pass" : "fail");
		} else {
			ck_assert_str_ne(str(r, "verdict"), "pass");
			ck_assert_int_eq(str(get(r, "worst")->child, "name")[0], 'W');
			cJSON_ArrayForEach(b, get(r, "blocks"))
				if (str(b, "name")[0] == 'b')
					ck_assert_str_eq(str(b, "verdict"), "pass");
				else
					ck_assert_str_ne(str(b, "verdict"), "pass");
		}
		tried++;
		call_free(&call);
		cJSON_Delete(req);
		free(g);
		torch_case_free(&c);
	}
	ck_assert_int_gt(tried, 0);
}
END_TEST

START_TEST(sampled_checks_touch_k_coordinates_in_every_block)
{
	struct torch_case c;
	cJSON *req;
	struct call a, b;
	const cJSON *ra, *blk;
	char *sa, *sb;

	ck_assert_int_eq(torch_case_get(root, 3, &c), 0);   /* [3,4,4,2]: 6 blocks */
	req = model_request(&c, true, 1e-6);
	cJSON_AddItemToObject(req, "check", parse("{\"sample\": 9, \"seed\": 3}"));
	call_body(req, &a, NULL);
	call_body(req, &b, NULL);
	ra = ok(&a);
	ok(&b);
	ck_assert_uint_eq((size_t)num(ra, "n_checked"), 9);
	ck_assert_uint_eq((size_t)num(ra, "evaluations"), 18);
	cJSON_ArrayForEach(blk, get(ra, "blocks"))
		ck_assert_int_ge((int)num(blk, "n_checked"), 1);
	/* deterministic: same worst list (elapsed_ms aside) */
	sa = cJSON_PrintUnformatted(get(ra, "worst"));
	sb = cJSON_PrintUnformatted(get(b.json, "worst"));
	ck_assert_str_eq(sa, sb);
	free(sa);
	free(sb);
	call_free(&a);
	call_free(&b);
	cJSON_Delete(req);
	torch_case_free(&c);
}
END_TEST

START_TEST(directional_checks_pass_on_correct_and_fail_on_wrong_gradients)
{
	struct torch_case c;
	cJSON *req;
	struct call a;
	const cJSON *r;
	double *g;

	ck_assert_int_eq(torch_case_get(root, 2, &c), 0);   /* tanh -> sigmoid, BCE */
	ck_assert(torch_case_is_smooth(&c));
	req = model_request(&c, false, 1e-6);
	cJSON_AddItemToObject(req, "check", parse("{\"directions\": 12, \"seed\": 1}"));
	call_body(req, &a, NULL);
	r = ok(&a);
	ck_assert_str_eq(str(r, "verdict"), "pass");
	ck_assert_uint_eq((size_t)num(r, "n_checked"), 12);
	ck_assert_uint_eq((size_t)num(r, "evaluations"), 24);
	ck_assert(has_warning(r, "directions mode"));
	/* worst items name directions, not coordinates of a block */
	ck_assert(num(get(r, "worst")->child, "direction") >= 0);
	ck_assert(!cJSON_HasObjectItem(get(r, "worst")->child, "index"));
	ck_assert(!cJSON_HasObjectItem(get(r, "worst")->child, "name"));
	call_free(&a);
	g = malloc(c.n_params * sizeof(double));
	memcpy(g, c.grad, c.n_params * sizeof(double));
	for (size_t t = 0; t < c.dims[1]; t++)   /* db1 negated */
		g[c.dims[1] * c.dims[0] + t] *= -1;
	cJSON_AddItemToObject(req, "gradients", param_dict(&c, g, "d", false));
	call_body(req, &a, NULL);
	r = ok(&a);
	ck_assert_str_eq(str(r, "verdict"), "fail");
	/* direction k lies in block k mod 2L: the worst is one of b1's */
	ck_assert_uint_eq((size_t)num(get(r, "worst")->child, "direction") % (2 * c.L), 1);
	ck_assert_str_eq(str(block_named(r, "b1"), "verdict"), "fail");
	/* a block names its worst direction, not a position inside it */
	ck_assert(cJSON_IsNull(get(block_named(r, "b1"), "worst_index")));
	ck_assert_double_eq(num(block_named(r, "b1"), "worst_direction"),
			    num(get(r, "worst")->child, "direction"));
	ck_assert_uint_eq((size_t)num(block_named(r, "W1"), "worst_direction") % (2 * c.L), 0);
	call_free(&a);
	free(g);
	cJSON_Delete(req);
	torch_case_free(&c);
}
END_TEST

/* ReLU with a pre-activation 5e-8 from 0: steps of 1e-7 on W1[0][1] and
 * b1[0] cross it (see tests/core/test_gradcheck.c). X in columns. */
static const char kink_req[] =
	"{\"model\": {\"layer_dims\": [2, 2, 1], \"activations\": [\"relu\", \"linear\"],"
	" \"loss\": \"mse\"}, \"layout\": \"samples_in_columns\","
	" \"X\": [[5e-8, 0.8], [2.0, 0.5]], \"Y\": [[0.3, -0.2]],"
	" \"parameters\": {\"W1\": [[1, 0], [0, 1]], \"b1\": [0, 0],"
	" \"W2\": [[0.7, -0.4]], \"b2\": [[0.1]]}, \"top\": 9}";

START_TEST(kinks_are_counted_flagged_and_warned)
{
	struct call c;
	const cJSON *r, *w;
	int flagged = 0;

	call_text(kink_req, &c, NULL);
	r = ok(&c);
	ck_assert_int_eq((int)num(r, "kinks"), 2);
	ck_assert(has_warning(r, "kink"));
	cJSON_ArrayForEach(w, get(r, "worst")) {
		bool k = cJSON_IsTrue(get(w, "kink"));
		const cJSON *ix = get(w, "index");

		if (!k)
			continue;
		flagged++;
		ck_assert_int_eq(cJSON_GetArrayItem(ix, 0)->valueint, 0);
		if (strcmp(str(w, "name"), "W1") == 0)
			ck_assert_int_eq(cJSON_GetArrayItem(ix, 1)->valueint, 1);
		else
			ck_assert_str_eq(str(w, "name"), "b1");
	}
	ck_assert_int_eq(flagged, 2);
	ck_assert(cJSON_IsTrue(get(get(r, "worst")->child, "kink")));
	call_free(&c);
}
END_TEST

START_TEST(vector_source_compares_flat_arrays)
{
	struct call c;
	const cJSON *r, *b, *w;

	call_text("{\"vector\": {\"gradient\": [1, 2, 3], \"numeric_gradient\": [1, 2, 4]}, \"top\": 2}",
		  &c, NULL);
	r = ok(&c);
	ck_assert_double_eq_tol(num(r, "relative_error"), 1 / (sqrt(14) + sqrt(21)), 1e-16);
	ck_assert_str_eq(str(r, "verdict"), "fail");
	ck_assert(cJSON_IsNull(get(r, "cost")));
	ck_assert_int_eq((int)num(r, "evaluations"), 0);
	ck_assert_int_eq((int)num(r, "n_parameters"), 3);
	b = get(r, "blocks")->child;
	ck_assert_str_eq(str(b, "name"), "theta");
	ck_assert_int_eq(cJSON_GetArraySize(get(b, "shape")), 1);
	ck_assert_int_eq(cJSON_GetArrayItem(get(b, "worst_index"), 0)->valueint, 2);
	w = get(r, "worst")->child;
	ck_assert_int_eq(cJSON_GetArrayItem(get(w, "index"), 0)->valueint, 2);
	ck_assert_double_eq(num(w, "abs_error"), 1);
	ck_assert_int_eq(cJSON_GetArraySize(get(r, "worst")), 2);
	call_free(&c);
	/* "auto" with the client's own differences: no step range to show */
	call_text("{\"vector\": {\"gradient\": [1, 2], \"numeric_gradient\": [1, 2]}, "
		  "\"epsilon\": \"auto\"}", &c, NULL);
	r = ok(&c);
	ck_assert_str_eq(str(r, "epsilon"), "auto");
	ck_assert(cJSON_IsNull(get(r, "epsilon_range")));
	call_free(&c);
}
END_TEST

START_TEST(vector_source_compares_huge_gradients)
{
	struct call c;
	const cJSON *r, *w;
	const struct problem *p;

	/* the norms overflow a double, the relative error does not */
	call_text("{\"vector\": {\"gradient\": [1.5e308, 1.5e308, 1e308], "
		  "\"numeric_gradient\": [1.5e308, 1.4e308, 1e308]}}", &c, NULL);
	r = ok(&c);
	ck_assert(cJSON_IsNumber(get(r, "relative_error")));
	ck_assert_double_eq_tol(num(r, "relative_error"),
				0.1 / (sqrt(1.5 * 1.5 * 2 + 1) + sqrt(1.5 * 1.5 + 1.4 * 1.4 + 1)),
				1e-15);
	ck_assert_str_eq(str(r, "verdict"), "fail");
	ck_assert(cJSON_IsNumber(get(get(r, "blocks")->child, "relative_error")));
	ck_assert_double_eq(num(get(r, "blocks")->child, "max_abs_error"), 1.5e308 - 1.4e308);
	w = get(r, "worst")->child;
	ck_assert_double_eq(num(w, "abs_error"), 1.5e308 - 1.4e308);
	call_free(&c);
	/* the difference itself overflows: refused, naming the item */
	call_text("{\"vector\": {\"gradient\": [0, 1.7976931348623157e308, -1.7976931348623157e308], "
		  "\"numeric_gradient\": [0, -1.7976931348623157e308, 1e308]}}", &c, NULL);
	p = &c.res.problem;
	ck_assert(problem_is_set(p));
	ck_assert_uint_eq(problem_status(p->kind), 422);
	ck_assert_str_eq(problem_type(p->kind), "/problems/non-finite-number");
	ck_assert_str_eq(p->errors[0].pointer, "/vector/gradient");
	ck_assert_msg(strstr(p->detail, "values too large to compare: at theta[1]") != NULL,
		      "detail: %s", p->detail);
	call_free(&c);
}
END_TEST

START_TEST(vector_source_compares_named_blocks)
{
	struct call c;
	const cJSON *r, *b;

	call_text("{\"vector\": {\"gradient\": {\"dW1\": [[1, 2], [3, 4]], \"db1\": [1, 2]},"
		  " \"numeric_gradient\": {\"dW1\": [[1, 2], [3, 4]], \"db1\": [[1], [2.5]]}}}",
		  &c, NULL);
	r = ok(&c);
	ck_assert_str_eq(str(get(r, "worst")->child, "name"), "db1");
	ck_assert_int_eq(cJSON_GetArrayItem(get(get(r, "worst")->child, "index"), 0)->valueint, 1);
	b = get(r, "blocks")->child;
	ck_assert_str_eq(str(b, "name"), "dW1");
	ck_assert_double_eq(num(b, "relative_error"), 0);
	ck_assert_str_eq(str(b->next, "verdict"), "fail");
	call_free(&c);
}
END_TEST

START_TEST(layouts_give_the_same_check)
{
	struct torch_case c;
	struct call a, b;
	cJSON *ra, *rb;

	ck_assert_int_eq(torch_case_get(root, 8, &c), 0);
	ra = model_request(&c, true, 0);
	rb = model_request(&c, false, 0);
	call_body(ra, &a, NULL);
	call_body(rb, &b, NULL);
	ck_assert(num(ok(&a), "cost") == num(ok(&b), "cost"));
	ck_assert(num(a.json, "relative_error") == num(b.json, "relative_error"));
	ck_assert_double_eq(num(a.json, "epsilon"), 1e-7);
	call_free(&a);
	call_free(&b);
	cJSON_Delete(ra);
	cJSON_Delete(rb);
	torch_case_free(&c);
}
END_TEST

START_TEST(warnings_name_l2_dominance_and_unusual_epsilon)
{
	struct torch_case c;
	struct call a;
	cJSON *req;

	ck_assert_int_eq(torch_case_get(root, 5, &c), 0);
	req = model_request(&c, true, 1e-3);
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(req, "model"), "l2",
				  cJSON_CreateNumber(1e4));
	call_body(req, &a, NULL);
	ck_assert(has_warning(ok(&a), "L2 term dominates"));
	ck_assert(has_warning(a.json, "outside the usual range"));
	call_free(&a);
	cJSON_Delete(req);
	torch_case_free(&c);
}
END_TEST


/* ---- integer class labels (issue 16) ------------------------------------------ */

/* Integer labels read as the one-hot rows they stand for: flat, [m, 1]
 * with samples in rows, [1, m] with samples in columns; the check is the
 * same to the bit (same cost, errors and gradients). */
START_TEST(integer_labels_equal_one_hot_targets)
{
	struct torch_case c;
	size_t i = 0, nL;
	bool rows = _i != 1;
	struct call hot, lab;
	cJSON *rh, *rl, *labels;

	for (; torch_case_get(root, i, &c) == 0; i++) {
		if (c.loss == MLP_CCE && c.dims[c.L] > 2)
			break;
		torch_case_free(&c);
	}
	ck_assert_msg(c.loss == MLP_CCE, "no categorical case in the fixtures");
	nL = c.dims[c.L];
	labels = cJSON_CreateArray();
	for (size_t s = 0; s < c.m; s++) {
		size_t best = 0;

		for (size_t r = 1; r < nL; r++)
			if (c.Y[r * c.m + s] > c.Y[best * c.m + s])
				best = r;
		for (size_t r = 0; r < nL; r++)
			c.Y[r * c.m + s] = r == best;
		cJSON *v = cJSON_CreateNumber((double)best);

		if (_i == 0) {
			cJSON_AddItemToArray(labels, v);
		} else {
			cJSON *row = cJSON_CreateArray();

			cJSON_AddItemToArray(row, v);
			cJSON_AddItemToArray(labels, row);
		}
	}
	if (_i == 1) {   /* [1, m]: one row of m labels */
		cJSON *one = cJSON_CreateArray(), *it;

		while ((it = cJSON_DetachItemFromArray(labels, 0)) != NULL) {
			cJSON_AddItemToArray(one, cJSON_DetachItemFromArray(it, 0));
			cJSON_Delete(it);
		}
		cJSON_AddItemToArray(labels, one);
	}
	rh = model_request(&c, rows, 0);
	rl = model_request(&c, rows, 0);
	cJSON_ReplaceItemInObject(rl, "Y", labels);
	cJSON_AddTrueToObject(rh, "return_gradients");
	cJSON_AddTrueToObject(rl, "return_gradients");
	call_body(rh, &hot, NULL);
	call_body(rl, &lab, NULL);
	ck_assert_double_eq(num(ok(&lab), "cost"), num(ok(&hot), "cost"));
	ck_assert_double_eq(num(lab.json, "relative_error"), num(hot.json, "relative_error"));
	ck_assert_double_eq_tol(num(lab.json, "cost"), c.cost, 1e-12 * fabs(c.cost) + 1e-15);
	ck_assert(cJSON_Compare(get(lab.json, "gradients"), get(hot.json, "gradients"), true));
	call_free(&hot);
	call_free(&lab);
	cJSON_Delete(rh);
	cJSON_Delete(rl);
	torch_case_free(&c);
}
END_TEST

/* ---- rounding noise (issue 16) ---------------------------------------------- */

/* SplitMix64 (Steele, Lea & Flood 2014) then Box-Muller: test data only. */
static uint64_t mix(uint64_t *st)
{
	uint64_t z = (*st += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double uniform01(uint64_t *st)
{
	return ((double)(mix(st) >> 11) + 0.5) * 0x1p-53;
}

static double gauss(uint64_t *st)
{
	double r = sqrt(-2.0 * log(uniform01(st)));

	return r * cos(6.283185307179586 * uniform01(st));
}

static cJSON *gauss_matrix(uint64_t *st, size_t rows, size_t cols, double sd)
{
	cJSON *m = cJSON_CreateArray();

	for (size_t i = 0; i < rows; i++) {
		cJSON *row = cJSON_CreateArray();

		for (size_t j = 0; j < cols; j++)
			cJSON_AddItemToArray(row, cJSON_CreateNumber(sd > 0 ? sd * gauss(st) : 0.0));
		cJSON_AddItemToArray(m, row);
	}
	return m;
}

/* The repro: a [784, 64, 10] relu -> softmax network, weights
 * N(0, 0.05^2), 32 samples (pixels uniform in [0, 1), one-hot labels),
 * checked against the service's own correct back-propagation. */
static cJSON *noise_request(const char *eps)
{
	cJSON *b = parse("{\"model\": {\"layer_dims\": [784, 64, 10], "
			 "\"activations\": [\"relu\", \"softmax\"], "
			 "\"loss\": \"categorical_cross_entropy\"}, \"layout\": \"samples_in_rows\"}");
	cJSON *p = cJSON_CreateObject(), *X = cJSON_CreateArray(), *Y = cJSON_CreateArray();
	uint64_t st = 16;

	cJSON_AddItemToObject(p, "W1", gauss_matrix(&st, 64, 784, 0.05));
	cJSON_AddItemToObject(p, "b1", gauss_matrix(&st, 64, 1, 0));
	cJSON_AddItemToObject(p, "W2", gauss_matrix(&st, 10, 64, 0.05));
	cJSON_AddItemToObject(p, "b2", gauss_matrix(&st, 10, 1, 0));
	cJSON_AddItemToObject(b, "parameters", p);
	for (size_t s = 0; s < 32; s++) {
		cJSON *x = cJSON_CreateArray(), *y = cJSON_CreateArray();
		size_t label = (size_t)(mix(&st) % 10);

		for (size_t j = 0; j < 784; j++)
			cJSON_AddItemToArray(x, cJSON_CreateNumber(uniform01(&st)));
		for (size_t k = 0; k < 10; k++)
			cJSON_AddItemToArray(y, cJSON_CreateNumber(k == label));
		cJSON_AddItemToArray(X, x);
		cJSON_AddItemToArray(Y, y);
	}
	cJSON_AddItemToObject(b, "X", X);
	cJSON_AddItemToObject(b, "Y", Y);
	if (eps)
		cJSON_AddItemToObject(b, "epsilon", strcmp(eps, "auto") ? cJSON_CreateNumber(atof(eps))
								      : cJSON_CreateString("auto"));
	return b;
}

/* Default epsilon 1e-7: W1's error is above pass only by rounding; the
 * warning names W1 and says so. */
START_TEST(rounding_noise_is_named_not_blamed)
{
	cJSON *req = noise_request(NULL);
	const cJSON *w1, *w;
	struct call a;
	double e, floor;
	size_t n_noise = 0;

	call_body(req, &a, NULL);
	w1 = block_named(ok(&a), "W1");
	e = num(w1, "relative_error");
	floor = num(w1, "noise_floor");
	ck_assert_msg(e > GC_DEFAULT_PASS && e <= GC_DEFAULT_WARN, "W1 error %g", e);
	ck_assert_str_eq(str(w1, "verdict"), "warn");
	ck_assert_msg(e <= 10 * floor && e >= floor / 10, "W1 error %g, floor %g", e, floor);
	ck_assert(num(a.json, "noise_floor") > 0);
	cJSON_ArrayForEach(w, get(a.json, "warnings"))
		if (strstr(w->valuestring, "rounding"))
			n_noise++;
	ck_assert_uint_ge(n_noise, 1);
	ck_assert(has_warning(a.json, "W1: relative error"));
	ck_assert(has_warning(a.json, "rounding noise"));
	ck_assert(has_warning(a.json, "\"auto\""));
	call_free(&a);
	cJSON_Delete(req);
}
END_TEST

/* "auto": cbrt(u) max(1, |theta_i|) per coordinate passes every block,
 * reports "epsilon": "auto" and the range of steps, and warns of nothing. */
START_TEST(auto_epsilon_passes_the_correct_network)
{
	cJSON *req = noise_request("auto");
	const cJSON *r, *b, *range;
	struct call a;

	call_body(req, &a, NULL);
	r = ok(&a);
	ck_assert_str_eq(str(r, "epsilon"), "auto");
	range = get(r, "epsilon_range");
	ck_assert_int_eq(cJSON_GetArraySize(range), 2);
	/* every |theta_i| < 1 here: one step, cbrt(2^-53) */
	ck_assert_double_eq_tol(cJSON_GetArrayItem(range, 0)->valuedouble, cbrt(0x1p-53), 1e-20);
	ck_assert_double_eq_tol(cJSON_GetArrayItem(range, 1)->valuedouble, cbrt(0x1p-53), 1e-20);
	ck_assert_str_eq(str(r, "verdict"), "pass");
	cJSON_ArrayForEach(b, get(r, "blocks"))
		ck_assert_str_eq(str(b, "verdict"), "pass");
	ck_assert_int_eq(cJSON_GetArraySize(get(r, "warnings")), 0);
	call_free(&a);
	cJSON_Delete(req);
}
END_TEST

/* A planted bug (dW1 twice the true one) fails, with no noise warning
 * for the buggy block. */
START_TEST(a_planted_bug_still_fails_without_a_noise_warning)
{
	cJSON *req = noise_request(NULL), *req2, *grads, *dW1;
	const cJSON *row, *v;
	struct call a, bug;

	cJSON_AddTrueToObject(req, "return_gradients");
	cJSON_AddItemToObject(req, "check", parse("{\"sample\": 2000, \"seed\": 5}"));
	call_body(req, &a, NULL);
	grads = cJSON_Duplicate(get(ok(&a), "gradients"), true);
	dW1 = cJSON_GetObjectItemCaseSensitive(grads, "dW1");
	cJSON_ArrayForEach(row, dW1)
		cJSON_ArrayForEach(v, row)
			cJSON_SetNumberValue((cJSON *)v, 2 * v->valuedouble);
	req2 = cJSON_Duplicate(req, true);
	cJSON_DeleteItemFromObject(req2, "return_gradients");
	cJSON_AddItemToObject(req2, "gradients", grads);
	call_body(req2, &bug, NULL);
	ck_assert_str_eq(str(block_named(ok(&bug), "W1"), "verdict"), "fail");
	ck_assert_str_eq(str(bug.json, "verdict"), "fail");
	/* the sampled b1 may sit at its own noise floor; W1 is not excused */
	ck_assert(!has_warning(bug.json, "W1: relative error"));
	call_free(&a);
	call_free(&bug);
	cJSON_Delete(req);
	cJSON_Delete(req2);
}
END_TEST

/* ---- refusals ------------------------------------------------------------------ */

#define BASE_MODEL "\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": [\"relu\", \"sigmoid\"], \"loss\": \"binary_cross_entropy\"}"
#define BASE_DATA "\"X\": [[0.1, 0.2], [0.3, -0.1]], \"Y\": [[1], [0]]"
#define BASE_PARAMS "\"parameters\": {\"W1\": [[0.1, 0.2], [-0.3, 0.4], [0.5, 0.6]], \"b1\": [[0], [0.1], [0]], \"W2\": [[0.2, -0.1, 0.3]], \"b2\": [[0]]}"
#define BASE BASE_MODEL ", " BASE_DATA ", " BASE_PARAMS

struct refusal {
	const char *body;
	unsigned status;
	const char *type;
	const char *pointer;
	size_t max_params, max_evals, max_elements;
};

#define CCE_NET "\"model\": {\"layer_dims\": [2, 3], \"activations\": [\"softmax\"], \"loss\": \"categorical_cross_entropy\"}, \"parameters\": {\"W1\": [[0.1, 0.2], [-0.3, 0.4], [0.5, 0.6]], \"b1\": [0, 0.1, 0]}"
#define CCE_X ", \"X\": [[0.1, 0.2], [0.3, -0.1]]"

static const struct refusal refusals[] = {
	/* integer class labels: out of range or not integers, at their pointer */
	{"{" CCE_NET CCE_X ", \"Y\": [0, 3]}", 422, "/problems/out-of-range", "/Y/1", 0, 0, 0},
	{"{" CCE_NET CCE_X ", \"Y\": [[-1], [2]]}", 422, "/problems/out-of-range", "/Y/0/0", 0, 0, 0},
	{"{" CCE_NET ", \"Y\": [[0, 1.5]], \"layout\": \"samples_in_columns\", \"X\": [[0.1, 0.3], [0.2, -0.1]]}", 422, "/problems/out-of-range", "/Y/0/1", 0, 0, 0},
	{"{" CCE_NET CCE_X ", \"Y\": [0, 1, 2]}", 422, "/problems/shape-mismatch", "/Y", 0, 0, 0},
	{"{" BASE ", \"keep_prob\": 0.5}", 422, "/problems/unsupported-combination", "/keep_prob", 0, 0, 0},
	{"{\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": [\"relu\", \"sigmoid\"], \"loss\": \"binary_cross_entropy\", \"keep_prob\": 0.8}, " BASE_DATA ", " BASE_PARAMS "}",
	 422, "/problems/unsupported-combination", "/model/keep_prob", 0, 0, 0},
	{"{\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": [\"softmax\", \"sigmoid\"], \"loss\": \"binary_cross_entropy\"}, " BASE_DATA ", " BASE_PARAMS "}",
	 422, "/problems/unsupported-combination", "/model/activations/0", 0, 0, 0},
	{"{\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": [\"relu\", \"softmax\"], \"loss\": \"mse\"}, " BASE_DATA ", " BASE_PARAMS "}",
	 422, "/problems/unsupported-combination", "/model/loss", 0, 0, 0},
	{"{\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": [\"relu\", \"sigmoid\"], \"loss\": \"categorical_cross_entropy\"}, " BASE_DATA ", " BASE_PARAMS "}",
	 422, "/problems/unsupported-combination", "/model/activations/1", 0, 0, 0},
	{"{\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": [\"relu\"], \"loss\": \"mse\"}, " BASE_DATA ", " BASE_PARAMS "}",
	 422, "/problems/shape-mismatch", "/model/activations", 0, 0, 0},
	{"{\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": [\"relu\", \"sigmoidd\"], \"loss\": \"mse\"}, " BASE_DATA ", " BASE_PARAMS "}",
	 422, "/problems/unknown-enum-value", "/model/activations/1", 0, 0, 0},
	{"{" BASE_MODEL ", " BASE_DATA ", \"parameters\": {\"W1\": [[0.1, 0.2], [-0.3, 0.4], [0.5, 0.6]], \"b1\": [[0], [0.1], [0]], \"W2\": [[0.2, -0.1]], \"b2\": [[0]]}}",
	 422, "/problems/shape-mismatch", "/parameters/W2", 0, 0, 0},
	{"{" BASE_MODEL ", " BASE_DATA ", \"parameters\": {\"W1\": [[0.1, 0.2], [-0.3, 0.4], [0.5, 0.6]], \"b1\": [[0], [0.1], [0]], \"W2\": [[0.2, -0.1, 0.3]]}}",
	 422, "/problems/missing-field", "/parameters/b2", 0, 0, 0},
	{"{" BASE_MODEL ", " BASE_DATA ", \"parameters\": {\"W1\": [[0.1, 0.2], [-0.3, 0.4], [0.5, 0.6]], \"b1\": [[0], [0.1], [0]], \"W2\": [[0.2, -0.1, 0.3]], \"b2\": [[0]], \"W3\": [[1]]}}",
	 422, "/problems/unknown-field", "/parameters/W3", 0, 0, 0},
	{"{" BASE ", \"gradients\": {\"dW1\": [[0, 0], [0, 0], [0, 0]], \"db1\": [0, 0, 0], \"dW2\": [[0, 0, 0]], \"db3\": [0]}}",
	 422, "/problems/unknown-field", "/gradients/db3", 0, 0, 0},
	{"{" BASE ", \"gradients\": {\"dW1\": [[0, 0, 0], [0, 0, 0]], \"db1\": [0, 0, 0], \"dW2\": [[0, 0, 0]], \"db2\": [0]}}",
	 422, "/problems/shape-mismatch", "/gradients/dW1", 0, 0, 0},
	{"{" BASE_MODEL ", " BASE_PARAMS ", \"X\": [[0.1, 0.2], [0.3, -0.1]], \"Y\": [[1], [0], [1]]}",
	 422, "/problems/shape-mismatch", "/Y", 0, 0, 0},
	{"{" BASE_MODEL ", " BASE_PARAMS ", \"X\": [[0.1, 0.2], [0.3, -0.1]], \"Y\": [[1], [2]]}",
	 422, "/problems/out-of-range", "/Y/1/0", 0, 0, 0},
	{"{" BASE_MODEL ", " BASE_PARAMS ", \"X\": [[0.1, 0.2, 1], [0.3, -0.1, 1]], \"Y\": [[1], [0]]}",
	 422, "/problems/shape-mismatch", "/X", 0, 0, 0},
	{"{" BASE ", \"epsilon\": 0}", 422, "/problems/out-of-range", "/epsilon", 0, 0, 0},
	{"{" BASE ", \"epsilon\": 0.1}", 422, "/problems/out-of-range", "/epsilon", 0, 0, 0},
	{"{" BASE ", \"thresholds\": {\"pass\": 1e-3, \"warn\": 1e-4}}", 422, "/problems/invalid-field", "/thresholds", 0, 0, 0},
	{"{" BASE ", \"thresholds\": {\"pass\": -1}}", 422, "/problems/out-of-range", "/thresholds/pass", 0, 0, 0},
	{"{" BASE ", \"thresholds\": {\"pas\": 1e-7}}", 422, "/problems/unknown-field", "/thresholds/pas", 0, 0, 0},
	{"{" BASE ", \"epsilonn\": 1e-7}", 422, "/problems/unknown-field", "/epsilonn", 0, 0, 0},
	{"{\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": [\"relu\", \"sigmoid\"], \"loss\": \"binary_cross_entropy\", \"dropout\": 1}, " BASE_DATA ", " BASE_PARAMS "}",
	 422, "/problems/unknown-field", "/model/dropout", 0, 0, 0},
	{"{" BASE ", \"check\": {\"sample\": 3, \"seeds\": 1}}", 422, "/problems/unknown-field", "/check/seeds", 0, 0, 0},
	{"{" BASE ", \"check\": {\"sample\": 3}}", 422, "/problems/out-of-range", "/check/sample", 0, 0, 0},
	{"{" BASE ", \"check\": {\"directions\": 2}}", 422, "/problems/out-of-range", "/check/directions", 0, 0, 0},
	{"{" BASE ", \"check\": \"some\"}", 422, "/problems/unknown-enum-value", "/check", 0, 0, 0},
	{"{" BASE ", \"top\": -1}", 422, "/problems/out-of-range", "/top", 0, 0, 0},
	{"{\"vector\": {\"gradient\": [1, 2], \"numeric_gradient\": [1, 2, 3]}}", 422, "/problems/shape-mismatch", "/vector/numeric_gradient", 0, 0, 0},
	{"{\"vector\": {\"gradient\": {\"dW1\": [[1]], \"db1\": [1]}, \"numeric_gradient\": {\"dW1\": [[1]]}}}", 422, "/problems/missing-field", "/vector/numeric_gradient/db1", 0, 0, 0},
	{"{\"vector\": {\"gradient\": [1], \"numeric_gradient\": [1]}, \"check\": {\"sample\": 1}}", 422, "/problems/unsupported-combination", "/check", 0, 0, 0},
	{"{\"vector\": {\"gradient\": [1], \"numeric_gradient\": [1]}, \"X\": [[1]]}", 422, "/problems/unknown-field", "/X", 0, 0, 0},
	/* |gradient - numeric_gradient| beyond DBL_MAX: no abs_error to print
	 * (tests/fuzz/corpus/gradcheck/vector_huge) */
	{"{\"vector\": {\"gradient\": [1.7976931348623157e308, -1.7976931348623157e308], "
	 "\"numeric_gradient\": [-1.7976931348623157e308, 1e308]}}", 422, "/problems/non-finite-number",
	 "/vector/gradient", 0, 0, 0},
	{"{\"vector\": {\"gradient\": {\"dW1\": [[1, 1e308]], \"db1\": [1]}, "
	 "\"numeric_gradient\": {\"dW1\": [[1, -1e308]], \"db1\": [1]}}}", 422, "/problems/non-finite-number",
	 "/vector/gradient", 0, 0, 0},
	{"{\"oracle\": {\"url\": \"ftp://127.0.0.1:9000/cost\"}, \"theta\": [1], \"gradient\": [1]}", 422, "/problems/invalid-field", "/oracle/url", 0, 0, 0},
	{"{" BASE ", \"vector\": {\"gradient\": [1], \"numeric_gradient\": [1]}}", 422, "/problems/unsupported-combination", "/model", 0, 0, 0},
	{"{\"epsilon\": 1e-7}", 422, "/problems/missing-field", "/model", 0, 0, 0},
	{"{" BASE "}", 413, "/problems/limit-exceeded", "/model/layer_dims", 12, 0, 0},
	{"{" BASE "}", 413, "/problems/limit-exceeded", "/check", 0, 20, 0},
	{"{" BASE "}", 413, "/problems/limit-exceeded", "/X", 0, 0, 3},
	/* X fits (4 elements) but layer 1's activations (3 x 2) do not */
	{"{" BASE "}", 413, "/problems/limit-exceeded", "/X", 0, 0, 5},
	{"{" BASE ", \"deadline_ms\": 0}", 422, "/problems/out-of-range", "/deadline_ms", 0, 0, 0},
	{"{" BASE ", \"return_gradients\": 1}", 422, "/problems/wrong-type", "/return_gradients", 0, 0, 0},
	{"{" BASE ", \"keep_prob\": 1.5}", 422, "/problems/out-of-range", "/keep_prob", 0, 0, 0},
	{"{\"model\": {\"layer_dims\": [2], \"activations\": [], \"loss\": \"mse\"}}", 422, "/problems/invalid-field", "/model/layer_dims", 0, 0, 0},
	{"{\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": [\"relu\", \"sigmoid\"], \"loss\": \"binary_cross_entropy\"}, " BASE_DATA "}", 422, "/problems/missing-field", "/parameters", 0, 0, 0},
};

START_TEST(refusals_have_status_type_and_pointer)
{
	const struct refusal *t = &refusals[_i];
	struct limits lim;
	struct call c;
	const struct problem *p;
	bool found = false;

	limits_default(&lim);
	if (t->max_params)
		lim.max_parameters = t->max_params;
	if (t->max_evals)
		lim.max_evaluations = t->max_evals;
	if (t->max_elements)
		lim.max_elements = t->max_elements;
	call_text(t->body, &c, &lim);
	p = &c.res.problem;
	ck_assert_msg(problem_is_set(p), "case %d accepted: %s", _i, t->body);
	ck_assert_msg(problem_status(p->kind) == t->status && strcmp(problem_type(p->kind), t->type) == 0,
		      "case %d: %u %s (%s), want %u %s", _i, problem_status(p->kind),
		      problem_type(p->kind), p->detail, t->status, t->type);
	for (size_t i = 0; i < p->n_errors; i++)
		found |= strcmp(p->errors[i].pointer, t->pointer) == 0;
	ck_assert_msg(found, "case %d: pointer %s missing (first: %s, %s)", _i, t->pointer,
		      p->n_errors ? p->errors[0].pointer : "-", p->detail);
	call_free(&c);
}
END_TEST

static const char *const accepted[] = {
	"{" BASE ", \"keep_prob\": 1}",
	"{" BASE ", \"gradients\": {\"dW1\": [[0, 0], [0, 0], [0, 0]], \"db1\": [0, 0, 0], \"dW2\": [[0, 0, 0]], \"db2\": [0]}}",
	"{" BASE ", \"check\": \"all\", \"top\": 0, \"thresholds\": {\"pass\": 1e-6}}",
	"{" BASE_MODEL ", " BASE_PARAMS ", \"X\": [[0.1, 0.3], [0.2, -0.1]], \"Y\": [[1, 0]], \"layout\": \"samples_in_columns\"}",
	"{" BASE_MODEL ", " BASE_PARAMS ", \"X\": [[0.1, 0.2], [0.3, -0.1]], \"Y\": [1, 0]}",
};

START_TEST(edge_values_are_accepted)
{
	struct call c;

	call_text(accepted[_i], &c, NULL);
	ok(&c);
	call_free(&c);
}
END_TEST

START_TEST(an_expired_deadline_answers_504)
{
	struct call c;
	cJSON *body = parse("{" BASE "}");
	struct limits lim;

	limits_default(&lim);
	c.lim = lim;
	memset(&c.ctx, 0, sizeof(c.ctx));
	c.ctx.limits = &c.lim;
	c.ctx.deadline_ns = clock_now_ns() - 1;
	hres_init(&c.res, lim.max_response);
	handle_gradcheck(&c.ctx, body, &c.res);
	c.json = NULL;
	ck_assert_uint_eq(problem_status(c.res.problem.kind), 504);
	ck_assert_str_eq(problem_type(c.res.problem.kind), "/problems/deadline-exceeded");
	call_free(&c);
	cJSON_Delete(body);
}
END_TEST

/* deadline_ms: a check of ~120k coordinates cannot finish in 1 ms */
START_TEST(deadline_ms_is_honoured)
{
	size_t dims[] = {600, 200, 10};
	struct torch_case c;
	cJSON *req;
	struct call call;

	memset(&c, 0, sizeof(c));
	c.L = 2;
	c.m = 4;
	memcpy(c.dims, dims, sizeof(dims));
	c.act[0] = MLP_TANH;
	c.act[1] = MLP_SOFTMAX;
	c.loss = MLP_CCE;
	c.n_params = mlp_n_params(dims, 2);
	c.X = calloc(600 * 4, sizeof(double));
	c.Y = calloc(10 * 4, sizeof(double));
	c.theta = calloc(c.n_params, sizeof(double));
	for (size_t s = 0; s < 4; s++)
		c.Y[s] = 1;
	req = model_request(&c, true, 0);
	cJSON_AddNumberToObject(req, "deadline_ms", 1);
	call_body(req, &call, NULL);
	ck_assert_uint_eq(problem_status(call.res.problem.kind), 504);
	call_free(&call);
	cJSON_Delete(req);
	free(c.X);
	free(c.Y);
	free(c.theta);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("gradcheck handler");
	TCase *tc = tcase_create("core");
	TCase *te = tcase_create("errors");
	cJSON *r = torch_case_load();
	int n = r ? (int)torch_case_count(r) : 1;

	cJSON_Delete(r);
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, model_check_matches_torch_in_both_layouts, 0, 2 * n);
	tcase_add_loop_test(tc, given_gradients_are_checked_and_bugs_blamed, 0, 3);
	tcase_add_test(tc, sampled_checks_touch_k_coordinates_in_every_block);
	tcase_add_test(tc, directional_checks_pass_on_correct_and_fail_on_wrong_gradients);
	tcase_add_test(tc, kinks_are_counted_flagged_and_warned);
	tcase_add_test(tc, vector_source_compares_flat_arrays);
	tcase_add_test(tc, vector_source_compares_named_blocks);
	tcase_add_test(tc, vector_source_compares_huge_gradients);
	tcase_add_test(tc, layouts_give_the_same_check);
	tcase_add_test(tc, warnings_name_l2_dominance_and_unusual_epsilon);
	tcase_add_loop_test(tc, integer_labels_equal_one_hot_targets, 0, 3);
	tcase_add_test(tc, rounding_noise_is_named_not_blamed);
	tcase_add_test(tc, auto_epsilon_passes_the_correct_network);
	tcase_add_test(tc, a_planted_bug_still_fails_without_a_noise_warning);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(te, refusals_have_status_type_and_pointer, 0,
			    (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_loop_test(te, edge_values_are_accepted, 0,
			    (int)(sizeof(accepted) / sizeof(accepted[0])));
	tcase_add_test(te, an_expired_deadline_answers_504);
	tcase_add_test(te, deadline_ms_is_honoured);
	suite_add_tcase(s, te);
	return s;
}

int main(void)
{
	return suite_run(suite());
}
