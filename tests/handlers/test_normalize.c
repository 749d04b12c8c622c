/* handle_normalize and handle_session_* called directly (memory: store):
 * scikit-learn StandardScaler fixtures, layouts, missing values, reports,
 * and every error with its status, problem type and pointer. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"
#include "handlers/handler.h"
#include "handlers/limits.h"
#include "handlers/store.h"
#include "tests/lib/fixture.h"

/* ---- calling handlers ------------------------------------------------- */

struct call {
	unsigned status;          /* problem status on failure */
	char type[64];            /* problem type, "" on success */
	char pointer[256];        /* first error's pointer ("" if none) */
	char detail[512];         /* the problem's detail */
	char location[160];
	size_t n_errors;
	cJSON *json;              /* the response body parsed (success) */
};

static struct limits lim;
static struct store *store;
static uint64_t deadline_ns;   /* ctx.deadline_ns for the next call */

static void setup(void)
{
	char err[256];

	limits_default(&lim);
	ck_assert_msg(store_open("memory:", 0, &store, err, sizeof(err)) == 0,
		      "%s", err);
}

static void teardown(void)
{
	store_close(store);
	store = NULL;
}

static struct call run(handler_fn *fn, const char *param, const char *body)
{
	struct hctx ctx = { 0 };
	struct hres res;
	struct call c = { 0 };
	cJSON *in = NULL;

	if (body) {
		in = cJSON_ParseWithLength(body, strlen(body));
		ck_assert_msg(in != NULL, "test body is not JSON: %s", body);
	}
	ctx.limits = &lim;
	ctx.store = store;
	ctx.param = param;
	ctx.tenant = "";
	ctx.deadline_ns = deadline_ns;
	hres_init(&res, lim.max_response);
	fn(&ctx, in, &res);
	if (problem_is_set(&res.problem)) {
		c.status = problem_status(res.problem.kind);
		snprintf(c.type, sizeof(c.type), "%s",
			 problem_type(res.problem.kind));
		c.n_errors = res.problem.n_errors;
		snprintf(c.detail, sizeof(c.detail), "%s",
			 res.problem.detail);
		if (res.problem.n_errors)
			snprintf(c.pointer, sizeof(c.pointer), "%s",
				 res.problem.errors[0].pointer);
	} else {
		c.status = res.status;
		snprintf(c.location, sizeof(c.location), "%s", res.location);
		if (res.body.len)
			c.json = cJSON_ParseWithLength(res.body.data,
						       res.body.len);
		if (c.status != 204)
			ck_assert_msg(c.json != NULL, "response is not JSON: %.*s",
				      (int)res.body.len, res.body.data);
	}
	hres_free(&res);
	cJSON_Delete(in);
	return c;
}

static struct call ok(handler_fn *fn, const char *param, const char *body)
{
	struct call c = run(fn, param, body);

	ck_assert_msg(c.status == 200 || c.status == 201,
		      "status %u (%s at '%s') for %s", c.status, c.type,
		      c.pointer, body ? body : "(no body)");
	return c;
}

static const cJSON *field(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(v != NULL, "response has no '%s'", k);
	return v;
}

static double num(const cJSON *v)
{
	ck_assert_msg(cJSON_IsNumber(v), "not a number");
	return v->valuedouble;
}

/* ---- fixtures --------------------------------------------------------- */

static cJSON *fixtures;

/* JSON text of v with every number printed exactly (%.17g): cJSON's own
 * printer may round a double by an ulp, which matters at offset 1e9. */
static void print_into(const cJSON *v, char *out, size_t n, size_t *len)
{
	const cJSON *it;
	int k = 0;

	if (cJSON_IsArray(v)) {
		k = snprintf(out + *len, n - *len, "[");
		*len += (size_t)k;
		cJSON_ArrayForEach(it, v) {
			if (it != v->child)
				*len += (size_t)snprintf(out + *len, n - *len, ",");
			print_into(it, out, n, len);
		}
		k = snprintf(out + *len, n - *len, "]");
	} else if (cJSON_IsNumber(v)) {
		k = snprintf(out + *len, n - *len, "%.17g", v->valuedouble);
	} else if (cJSON_IsNull(v)) {
		k = snprintf(out + *len, n - *len, "null");
	} else {
		ck_abort_msg("print: unexpected JSON type");
	}
	*len += (size_t)k;
	ck_assert_msg(*len < n, "print: buffer too small");
}

static char *print(const cJSON *v)
{
	size_t n = 1 << 20, len = 0;
	char *s = malloc(n);

	ck_assert_ptr_nonnull(s);
	s[0] = '\0';
	print_into(v, s, n, &len);
	return s;
}

/* Compares a response vector with an expected one within rel (null must
 * match null). An expected null vector (sklearn's None) is skipped. */
static void expect_vector(const cJSON *got, const cJSON *want, double rel,
			  const char *what, const char *name)
{
	const cJSON *g = got ? got->child : NULL, *w;
	size_t j = 0;

	if (!want || cJSON_IsNull(want))
		return;
	cJSON_ArrayForEach(w, want) {
		ck_assert_msg(g != NULL, "%s %s: too short", name, what);
		if (cJSON_IsNull(w)) {
			ck_assert_msg(cJSON_IsNull(g), "%s %s[%zu] not null",
				      name, what, j);
		} else {
			double a = num(g), b = w->valuedouble;

			ck_assert_msg(fabs(a - b) <= rel * fabs(b),
				      "%s %s[%zu]: %.17g want %.17g (rel %.3g)",
				      name, what, j, a, b,
				      fabs(a - b) / fabs(b));
		}
		g = g->next;
		j++;
	}
	ck_assert_msg(g == NULL, "%s %s: too long", name, what);
}

/* Compares a transformed matrix. Tolerance per cell: 1e-12 relative to the
 * size of the inputs of (x - mean) / scale, the transform's own condition
 * (a 1-ulp difference in a mean of 1e6 moves a z-score by 1e-10 / scale). */
static void expect_matrix(const cJSON *got, const cJSON *want,
			  const cJSON *raw, const cJSON *mean,
			  const cJSON *scale, bool inverse, const char *name)
{
	const cJSON *gr = got->child, *wr, *rr = raw->child;
	size_t i = 0;

	cJSON_ArrayForEach(wr, want) {
		const cJSON *g = gr->child, *w, *r = rr->child;
		const cJSON *m = mean->child, *s = scale->child;
		size_t j = 0;

		cJSON_ArrayForEach(w, wr) {
			if (cJSON_IsNull(w)) {
				ck_assert_msg(cJSON_IsNull(g), "%s [%zu][%zu]",
					      name, i, j);
			} else {
				double x = num(r), mu = num(m), sc = num(s);
				double tol = inverse
					? 1e-12 * (fabs(x) * sc + fabs(mu))
					: 1e-12 * (fabs(x) + fabs(mu)) / sc;

				tol += 1e-12 * fabs(w->valuedouble);
				ck_assert_msg(fabs(num(g) - w->valuedouble) <= tol,
					      "%s [%zu][%zu]: %.17g want %.17g",
					      name, i, j, num(g),
					      w->valuedouble);
			}
			g = g->next;
			r = r->next;
			m = m->next;
			s = s->next;
			j++;
		}
		gr = gr->next;
		rr = rr->next;
		i++;
	}
}

static char *request(const char *op, const char *session, const cJSON *data,
		     const cJSON *c, bool ignore_missing)
{
	char *d = print(data), *out;
	size_t n = strlen(d) + 256;
	const cJSON *wm = cJSON_GetObjectItemCaseSensitive(c, "with_mean");
	const cJSON *ws = cJSON_GetObjectItemCaseSensitive(c, "with_std");

	out = malloc(n);
	ck_assert_ptr_nonnull(out);
	snprintf(out, n,
		 "{\"op\":\"%s\",\"session\":\"%s\",\"with_mean\":%s,"
		 "\"with_std\":%s,\"missing\":\"%s\",\"data\":%s}",
		 op, session, cJSON_IsFalse(wm) ? "false" : "true",
		 cJSON_IsFalse(ws) ? "false" : "true",
		 ignore_missing ? "ignore" : "reject", d);
	free(d);
	return out;
}

static void expect_state(const cJSON *resp, const cJSON *want, double rel,
			 const char *name)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(want,
							  "n_samples_seen");
	char *a = print(field(resp, "n_samples_seen")), *b = print(n);

	ck_assert_msg(strcmp(a, b) == 0, "%s n_samples_seen %s want %s", name,
		      a, b);
	free(a);
	free(b);
	expect_vector(field(resp, "mean"),
		      cJSON_GetObjectItemCaseSensitive(want, "mean"), rel,
		      "mean", name);
	expect_vector(field(resp, "var"),
		      cJSON_GetObjectItemCaseSensitive(want, "var"), rel, "var",
		      name);
	expect_vector(field(resp, "scale"),
		      cJSON_GetObjectItemCaseSensitive(want, "scale"), rel,
		      "scale", name);
}

START_TEST(normalize_matches_sklearn_standard_scaler)
{
	const cJSON *c = fixture_case(fixtures, "cases", _i), *b;
	const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
	const char *op = cJSON_GetObjectItemCaseSensitive(c, "op")->valuestring;
	const cJSON *batches = cJSON_GetObjectItemCaseSensitive(c, "batches");
	const cJSON *test = cJSON_GetObjectItemCaseSensitive(c, "test");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expected");
	const cJSON *exp_all = cJSON_GetObjectItemCaseSensitive(c,
								"expected_fit_all");
	bool with_std = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(c,
								       "with_std"));
	struct call r = { 0 };
	char *body;

	cJSON_ArrayForEach(b, batches) {
		cJSON_Delete(r.json);
		body = request(op, name, b, c, true);
		r = ok(handle_normalize, NULL, body);
		free(body);
	}
	ck_assert_str_eq(field(r.json, "session")->valuestring, name);
	ck_assert_int_eq((int)num(field(r.json, "n_features")),
			 cJSON_GetArraySize(batches->child->child));
	if (exp_all) {
		/* partial_fit == fit of all batches (sklearn's own partial_fit
		 * drifts by up to 1e-8 on offset data: looser bound there) */
		expect_state(r.json, exp_all, 1e-12, name);
		expect_vector(field(r.json, "mean"),
			      cJSON_GetObjectItemCaseSensitive(exp, "mean"),
			      1e-12, "mean vs partial_fit", name);
		expect_vector(field(r.json, "var"),
			      cJSON_GetObjectItemCaseSensitive(exp, "var"),
			      1e-7, "var vs partial_fit", name);
	} else {
		expect_state(r.json, exp, 1e-12, name);
	}
	if (!with_std) {
		const cJSON *s;

		cJSON_ArrayForEach(s, field(r.json, "scale"))
			ck_assert_double_eq(num(s), 1);
	}
	cJSON_Delete(r.json);

	if (cJSON_GetObjectItemCaseSensitive(c, "fit_transform")) {
		char sess[80];

		snprintf(sess, sizeof(sess), "%s-ft", name);
		body = request("fit_transform", sess, batches->child, c, true);
		r = ok(handle_normalize, NULL, body);
		free(body);
		expect_matrix(field(r.json, "data"),
			      cJSON_GetObjectItemCaseSensitive(c, "fit_transform"),
			      batches->child, field(r.json, "mean"),
			      field(r.json, "scale"), false, name);
		cJSON_Delete(r.json);
	}
	body = request("transform", name, test, c, true);
	r = ok(handle_normalize, NULL, body);
	free(body);
	expect_matrix(field(r.json, "data"),
		      cJSON_GetObjectItemCaseSensitive(c, "transform"), test,
		      field(r.json, "mean"), field(r.json, "scale"), false, name);
	cJSON_Delete(r.json);
	body = request("inverse_transform", name, test, c, true);
	r = ok(handle_normalize, NULL, body);
	free(body);
	expect_matrix(field(r.json, "data"),
		      cJSON_GetObjectItemCaseSensitive(c, "inverse_transform"),
		      test, field(r.json, "mean"), field(r.json, "scale"), true,
		      name);
	cJSON_Delete(r.json);
}
END_TEST

/* ---- hand-computed behaviour ------------------------------------------ */

START_TEST(normalize_fit_then_transform_uses_stored_statistics)
{
	struct call r = ok(handle_normalize, NULL,
			   "{\"op\":\"fit\",\"session\":\"s1\","
			   "\"data\":[[1,10],[3,30]]}");
	const cJSON *d;

	ck_assert_double_eq(num(field(r.json, "n_samples_seen")), 2);
	ck_assert_double_eq(num(cJSON_GetArrayItem(field(r.json, "mean"), 1)), 20);
	ck_assert_double_eq(num(cJSON_GetArrayItem(field(r.json, "var"), 1)), 100);
	ck_assert_double_eq(num(cJSON_GetArrayItem(field(r.json, "scale"), 1)), 10);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(r.json, "data"));
	ck_assert_int_eq(cJSON_GetArraySize(field(r.json, "warnings")), 0);
	cJSON_Delete(r.json);
	/* statistics of the new data are never used */
	r = ok(handle_normalize, NULL,
	       "{\"op\":\"transform\",\"session\":\"s1\",\"data\":[[5,0]]}");
	d = field(r.json, "data");
	ck_assert_double_eq(num(cJSON_GetArrayItem(d->child, 0)), 3);
	ck_assert_double_eq(num(cJSON_GetArrayItem(d->child, 1)), -2);
	ck_assert_double_eq(num(field(r.json, "n_samples_seen")), 2);
	cJSON_Delete(r.json);
	r = ok(handle_normalize, NULL,
	       "{\"op\":\"inverse_transform\",\"session\":\"s1\","
	       "\"data\":[[3,-2]],\"with_mean\":false}");
	d = field(r.json, "data");
	ck_assert_double_eq(num(cJSON_GetArrayItem(d->child, 0)), 3);
	ck_assert_double_eq(num(cJSON_GetArrayItem(d->child, 1)), -20);
	cJSON_Delete(r.json);
}
END_TEST

START_TEST(normalize_partial_fit_merges_batches)
{
	struct call r;

	cJSON_Delete(ok(handle_normalize, NULL,
			"{\"op\":\"partial_fit\",\"session\":\"p\","
			"\"data\":[[1],[2]]}").json);
	r = ok(handle_normalize, NULL,
	       "{\"op\":\"partial_fit\",\"session\":\"p\",\"data\":[[3],[4]]}");
	ck_assert_double_eq(num(field(r.json, "n_samples_seen")), 4);
	ck_assert_double_eq(num(field(r.json, "mean")->child), 2.5);
	ck_assert_double_eq(num(field(r.json, "var")->child), 1.25);
	cJSON_Delete(r.json);
	/* fit replaces */
	r = ok(handle_normalize, NULL,
	       "{\"op\":\"fit\",\"session\":\"p\",\"data\":[[7],[9]]}");
	ck_assert_double_eq(num(field(r.json, "n_samples_seen")), 2);
	ck_assert_double_eq(num(field(r.json, "mean")->child), 8);
	cJSON_Delete(r.json);
}
END_TEST

START_TEST(normalize_samples_in_columns_round_trips_layout)
{
	struct call r = ok(handle_normalize, NULL,
			   "{\"op\":\"fit_transform\",\"session\":\"c\","
			   "\"layout\":\"samples_in_columns\","
			   "\"data\":[[1,3,5],[10,10,40]]}");
	const cJSON *d = field(r.json, "data");

	/* 2 features x 3 samples: means 3 and 20, vars 8/3 and 200 */
	ck_assert_double_eq(num(field(r.json, "n_samples_seen")), 3);
	ck_assert_double_eq(num(field(r.json, "n_features")), 2);
	ck_assert_double_eq(num(field(r.json, "mean")->child->next), 20);
	ck_assert_int_eq(cJSON_GetArraySize(d), 2);
	ck_assert_int_eq(cJSON_GetArraySize(d->child), 3);
	ck_assert_double_eq(num(cJSON_GetArrayItem(d->child, 1)), 0);
	ck_assert_msg(fabs(num(cJSON_GetArrayItem(d->child->next, 2)) -
			   20 / sqrt(200)) < 1e-15, "z");
	cJSON_Delete(r.json);
}
END_TEST

START_TEST(normalize_ignores_null_cells_and_keeps_them_null)
{
	struct call r = ok(handle_normalize, NULL,
			   "{\"op\":\"fit_transform\",\"session\":\"m\","
			   "\"missing\":\"ignore\","
			   "\"data\":[[1,null],[3,4],[2,8]]}");
	const cJSON *n = field(r.json, "n_samples_seen"), *d;

	/* feature 0: 1,3,2 (mean 2, var 2/3); feature 1: 4,8 (mean 6, var 4) */
	ck_assert(cJSON_IsArray(n));
	ck_assert_double_eq(num(n->child), 3);
	ck_assert_double_eq(num(n->child->next), 2);
	ck_assert_double_eq(num(field(r.json, "mean")->child), 2);
	ck_assert_double_eq(num(field(r.json, "mean")->child->next), 6);
	ck_assert_double_eq(num(field(r.json, "var")->child->next), 4);
	d = field(r.json, "data");
	ck_assert(cJSON_IsNull(cJSON_GetArrayItem(d->child, 1)));
	ck_assert_msg(fabs(num(cJSON_GetArrayItem(d->child, 0)) +
			   1 / sqrt(2.0 / 3)) < 1e-15, "z");
	ck_assert_double_eq(num(cJSON_GetArrayItem(cJSON_GetArrayItem(d, 2), 1)),
			    1);
	cJSON_Delete(r.json);
}
END_TEST

static bool has_warning(const cJSON *resp, const char *needle)
{
	const cJSON *w;

	cJSON_ArrayForEach(w, field(resp, "warnings"))
		if (cJSON_IsString(w) && strstr(w->valuestring, needle))
			return true;
	return false;
}

START_TEST(normalize_warns_about_zero_variance_features)
{
	struct call r = ok(handle_normalize, NULL,
			   "{\"op\":\"fit_transform\",\"session\":\"z\","
			   "\"data\":[[1,5,0],[3,5,null]],\"missing\":\"ignore\"}");
	const cJSON *d = field(r.json, "data");

	ck_assert_double_eq(num(cJSON_GetArrayItem(field(r.json, "scale"), 1)), 1);
	ck_assert_double_eq(num(cJSON_GetArrayItem(d->child, 1)), 0);
	ck_assert_msg(has_warning(r.json, "feature 1 has zero variance"),
		      "no warning naming feature 1");
	ck_assert_msg(has_warning(r.json, "feature 2 has zero variance"),
		      "one sample: zero variance");
	ck_assert(!has_warning(r.json, "feature 0"));
	cJSON_Delete(r.json);
	r = ok(handle_normalize, NULL,
	       "{\"op\":\"fit\",\"session\":\"z2\",\"missing\":\"ignore\","
	       "\"data\":[[1,null],[2,null]]}");
	ck_assert_msg(has_warning(r.json, "feature 1 has no values"), "empty");
	ck_assert(cJSON_IsNull(cJSON_GetArrayItem(field(r.json, "mean"), 1)));
	cJSON_Delete(r.json);
}
END_TEST

START_TEST(normalize_generates_a_session_id)
{
	struct call r = ok(handle_normalize, NULL,
			   "{\"op\":\"fit\",\"data\":[[1],[2]]}");
	const char *id = field(r.json, "session")->valuestring;
	char body[200];

	ck_assert_uint_eq(strlen(id), 22);
	ck_assert_uint_eq(strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
				 "mnopqrstuvwxyz0123456789-_"), 22);
	snprintf(body, sizeof(body),
		 "{\"op\":\"transform\",\"session\":\"%s\",\"data\":[[2]]}", id);
	cJSON_Delete(r.json);
	r = ok(handle_normalize, NULL, body);
	ck_assert_double_eq(num(field(r.json, "data")->child->child), 1);
	cJSON_Delete(r.json);
}
END_TEST

START_TEST(normalize_reports_condition_numbers)
{
	/* (100 +- 1, 50 +- 2) in all four sign combinations: normalized rows
	 * are (+-1, +-1), whose second moment is I (kappa 1); raw second
	 * moment [[10001, 5000], [5000, 2504]] */
	struct call r = ok(handle_normalize, NULL,
			   "{\"op\":\"fit\",\"session\":\"k\",\"report\":true,"
			   "\"data\":[[101,52],[101,48],[99,52],[99,48]]}");
	const cJSON *c = field(r.json, "conditioning");
	double tr = 10001.0 + 2504.0, det = 10001.0 * 2504.0 - 25e6;
	double disc = sqrt(tr * tr - 4 * det), want = (tr + disc) / (tr - disc);

	ck_assert_msg(fabs(num(field(c, "after")) - 1) < 1e-12, "after");
	ck_assert_msg(fabs(num(field(c, "before")) - want) < 1e-9 * want,
		      "before %.17g want %.17g", num(field(c, "before")), want);
	cJSON_Delete(r.json);
	/* equal columns: singular, reported as null with a warning */
	r = ok(handle_normalize, NULL,
	       "{\"op\":\"fit\",\"session\":\"k2\",\"report\":true,"
	       "\"data\":[[1,1],[2,2],[4,4]]}");
	c = field(r.json, "conditioning");
	ck_assert(cJSON_IsNull(field(c, "before")));
	ck_assert(cJSON_IsNull(field(c, "after")));
	ck_assert(has_warning(r.json, "conditioning.before"));
	cJSON_Delete(r.json);
}
END_TEST

START_TEST(normalize_report_matches_numpy_eigvalsh)
{
	const cJSON *rep = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(fixtures, "reports"), _i);
	char *data = print(cJSON_GetObjectItemCaseSensitive(rep, "data"));
	size_t n = strlen(data) + 128;
	char *body = malloc(n);
	struct call r;
	const cJSON *c;
	double want_b, want_a;

	ck_assert_ptr_nonnull(body);
	snprintf(body, n, "{\"op\":\"fit\",\"session\":\"r\",\"report\":true,"
		 "\"data\":%s}", data);
	r = ok(handle_normalize, NULL, body);
	c = field(r.json, "conditioning");
	want_b = num(cJSON_GetObjectItemCaseSensitive(rep, "before"));
	want_a = num(cJSON_GetObjectItemCaseSensitive(rep, "after"));
	ck_assert_msg(fabs(num(field(c, "before")) - want_b) < 1e-9 * want_b,
		      "before %.17g want %.17g", num(field(c, "before")), want_b);
	ck_assert_msg(fabs(num(field(c, "after")) - want_a) < 1e-9 * want_a,
		      "after %.17g want %.17g", num(field(c, "after")), want_a);
	ck_assert_msg(num(field(c, "after")) < num(field(c, "before")),
		      "normalizing did not help");
	cJSON_Delete(r.json);
	free(body);
	free(data);
}
END_TEST

START_TEST(normalize_gives_up_after_the_deadline)
{
	struct call r;

	deadline_ns = 1;   /* long past */
	r = run(handle_normalize, NULL,
		"{\"op\":\"fit\",\"session\":\"late\",\"data\":[[1]]}");
	deadline_ns = 0;
	ck_assert_uint_eq(r.status, 504);
	ck_assert_int_eq(store->ops->get(store, "/late", &(struct stats *){ NULL },
					 NULL), STORE_NOT_FOUND);
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

static const struct {
	const char *body;
	unsigned status;
	const char *type;
	const char *pointer;
} bad[] = {
	{ "{\"op\":\"fit\"}", 422, "missing-field", "/data" },
	{ "{\"data\":[[1]]}", 422, "missing-field", "/op" },
	{ "{\"op\":\"fitt\",\"data\":[[1]]}", 422, "unknown-enum-value", "/op" },
	{ "{\"op\":\"fit\",\"data\":[[1]],\"extra\":1}", 422, "unknown-field",
	  "/extra" },
	{ "{\"op\":\"transform\",\"data\":[[1]]}", 422, "missing-field",
	  "/session" },
	{ "{\"op\":\"inverse_transform\",\"data\":[[1]]}", 422,
	  "missing-field", "/session" },
	{ "{\"op\":\"transform\",\"session\":\"nope\",\"data\":[[1]]}", 404,
	  "session-not-found", "/session" },
	{ "{\"op\":\"fit\",\"session\":\"bad id!\",\"data\":[[1]]}", 422,
	  "invalid-field", "/session" },
	{ "{\"op\":\"fit\",\"session\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	  "\"data\":[[1]]}", 422, "out-of-range", "/session" },
	{ "{\"op\":\"fit\",\"session\":7,\"data\":[[1]]}", 422, "wrong-type",
	  "/session" },
	{ "{\"op\":\"fit\",\"data\":[[1,null]]}", 422, "wrong-type", "/data/0/1" },
	{ "{\"op\":\"fit\",\"data\":[[1,2],[3]]}", 422, "shape-mismatch",
	  "/data/1" },
	{ "{\"op\":\"fit\",\"data\":[]}", 422, "invalid-field", "/data" },
	{ "{\"op\":\"fit\",\"data\":\"x\"}", 422, "wrong-type", "/data" },
	{ "{\"op\":\"transform\",\"session\":\"known\",\"data\":[[1,2,3]]}", 422,
	  "shape-mismatch", "/data" },
	{ "{\"op\":\"partial_fit\",\"session\":\"known\",\"data\":[[1]]}", 422,
	  "shape-mismatch", "/data" },
	{ "{\"op\":\"fit\",\"data\":[[1]],\"with_mean\":\"yes\"}", 422,
	  "wrong-type", "/with_mean" },
	{ "{\"op\":\"fit\",\"data\":[[1]],\"with_std\":1}", 422, "wrong-type",
	  "/with_std" },
	{ "{\"op\":\"fit\",\"data\":[[1]],\"layout\":\"rows\"}", 422,
	  "unknown-enum-value", "/layout" },
	{ "{\"op\":\"fit\",\"data\":[[1]],\"missing\":\"drop\"}", 422,
	  "unknown-enum-value", "/missing" },
	{ "{\"op\":\"fit\",\"data\":[[1]],\"report\":\"yes\"}", 422,
	  "wrong-type", "/report" },
	{ "[1]", 422, "wrong-type", "" },
	/* limits (the test sets max_rows 4, max_features 3, max_elements 10,
	 * max_report_features 2) */
	{ "{\"op\":\"fit\",\"data\":[[1],[2],[3],[4],[5]]}", 413,
	  "limit-exceeded", "/data" },
	{ "{\"op\":\"fit\",\"layout\":\"samples_in_columns\","
	  "\"data\":[[1,2,3,4,5]]}", 413, "limit-exceeded", "/data" },
	{ "{\"op\":\"fit\",\"data\":[[1,2,3,4]]}", 413, "limit-exceeded",
	  "/data" },
	{ "{\"op\":\"fit\",\"data\":[[1,2,3],[1,2,3],[1,2,3],[1,2,3]]}", 413,
	  "limit-exceeded", "/data" },
	{ "{\"op\":\"fit\",\"report\":true,\"data\":[[1,2,3]]}", 413,
	  "limit-exceeded", "/report" },
};

START_TEST(normalize_rejects_invalid_requests)
{
	struct call r;
	size_t before, after;

	cJSON_Delete(ok(handle_normalize, NULL,
			"{\"op\":\"fit\",\"session\":\"known\","
			"\"data\":[[1,2],[3,4]]}").json);
	lim.max_rows = 4;
	lim.max_features = 3;
	lim.max_elements = 10;
	lim.max_report_features = 2;
	ck_assert_int_eq(store->ops->count(store, &before), STORE_OK);
	r = run(handle_normalize, NULL, bad[_i].body);
	ck_assert_msg(r.status == bad[_i].status, "%s: status %u want %u",
		      bad[_i].body, r.status, bad[_i].status);
	ck_assert_msg(strstr(r.type, bad[_i].type) != NULL,
		      "%s: type %s want %s", bad[_i].body, r.type,
		      bad[_i].type);
	ck_assert_msg(r.n_errors > 0, "%s: no errors[] entry", bad[_i].body);
	ck_assert_msg(strcmp(r.pointer, bad[_i].pointer) == 0,
		      "%s: pointer '%s' want '%s'", bad[_i].body, r.pointer,
		      bad[_i].pointer);
	ck_assert_ptr_null(r.json);
	/* a refused request stores nothing */
	ck_assert_int_eq(store->ops->count(store, &after), STORE_OK);
	ck_assert_uint_eq(after, before);
}
END_TEST

START_TEST(normalize_without_store_is_unavailable)
{
	struct store *saved = store;
	struct call r;

	store = NULL;
	r = run(handle_normalize, NULL, "{\"op\":\"fit\",\"data\":[[1]]}");
	store = saved;
	ck_assert_uint_eq(r.status, 503);
	ck_assert_str_eq(r.type, "/problems/store-unavailable");
}
END_TEST

START_TEST(normalize_refuses_sessions_past_the_limit)
{
	struct call r;
	char err[128];

	store_close(store);
	ck_assert_int_eq(store_open("memory:", 1, &store, err, sizeof(err)), 0);
	cJSON_Delete(ok(handle_normalize, NULL,
			"{\"op\":\"fit\",\"session\":\"one\",\"data\":[[1]]}").json);
	r = run(handle_normalize, NULL,
		"{\"op\":\"fit\",\"session\":\"two\",\"data\":[[1]]}");
	ck_assert_uint_eq(r.status, 413);
	ck_assert_str_eq(r.pointer, "/session");
}
END_TEST

/* ---- overflow (tests/fuzz/regression/normalize/) ----------------------- */

/* Sessions the requests below use: "a" as the fuzz target resets it, "w"
 * with scale 2, "b" with two features (scales 0.5 and 2). */
static void overflow_sessions(void)
{
	static const char *const put[][2] = {
		{ "a", "{\"n_samples_seen\":3,\"mean\":[2],\"var\":[0.5]}" },
		{ "w", "{\"n_samples_seen\":3,\"mean\":[2],\"var\":[4]}" },
		{ "b", "{\"n_samples_seen\":4,\"mean\":[0,-1],"
		       "\"var\":[0.25,4]}" },
	};

	for (size_t i = 0; i < sizeof(put) / sizeof(put[0]); i++)
		cJSON_Delete(ok(handle_session_put, put[i][0], put[i][1]).json);
}

static const struct {
	const char *body;
	const char *pointer;
	const char *detail;   /* a substring of the problem's detail */
} overflow[] = {
	/* regression var-overflow-fit */
	{ "{\"op\":\"fit\",\"data\":[[1e200],[-1e200]]}", "/data",
	  "feature 0: the statistics overflow the double range" },
	/* regression mean-overflow-fit-transform */
	{ "{\"op\":\"fit_transform\",\"data\":[[1.7976931348623157e308],"
	  "[-1.7976931348623157e308]]}", "/data", "feature 0:" },
	{ "{\"op\":\"partial_fit\",\"session\":\"new\",\"data\":[[1,1e300],"
	  "[2,-1e300]]}", "/data", "feature 1:" },
	{ "{\"op\":\"fit\",\"session\":\"a\",\"layout\":\"samples_in_columns\","
	  "\"data\":[[1e200,-1e200]]}", "/data", "feature 0:" },
	/* regression transform-overflow */
	{ "{\"op\":\"transform\",\"session\":\"a\",\"data\":"
	  "[[1.7976931348623157e308]],\"with_mean\":false}", "/data/0/0",
	  "/data/0/0: the result overflows the double range" },
	{ "{\"op\":\"transform\",\"session\":\"a\",\"data\":"
	  "[[-1.7976931348623157e308]]}", "/data/0/0", "overflows" },
	{ "{\"op\":\"transform\",\"session\":\"b\",\"data\":[[1,1],"
	  "[1e308,1],[1,1]]}", "/data/1/0", "overflows" },
	{ "{\"op\":\"transform\",\"session\":\"b\",\"layout\":"
	  "\"samples_in_columns\",\"data\":[[1,1e308,1],[1,1,1]]}",
	  "/data/0/1", "overflows" },
	{ "{\"op\":\"inverse_transform\",\"session\":\"w\",\"data\":"
	  "[[1],[1e308]]}", "/data/1/0", "overflows" },
	{ "{\"op\":\"inverse_transform\",\"session\":\"b\",\"missing\":"
	  "\"ignore\",\"layout\":\"samples_in_columns\",\"data\":"
	  "[[null,1e308],[-1.7976931348623157e308,null]]}", "/data/1/0",
	  "overflows" },
};

START_TEST(normalize_refuses_results_that_overflow)
{
	struct stats *a = NULL, *after = NULL;
	size_t before, now;
	struct call r;

	overflow_sessions();
	ck_assert_int_eq(store->ops->count(store, &before), STORE_OK);
	ck_assert_int_eq(store->ops->get(store, "/a", &a, NULL), STORE_OK);
	r = run(handle_normalize, NULL, overflow[_i].body);
	ck_assert_msg(r.status == 422, "%s: status %u", overflow[_i].body,
		      r.status);
	ck_assert_str_eq(r.type, "/problems/non-finite-number");
	ck_assert_str_eq(r.pointer, overflow[_i].pointer);
	ck_assert_msg(strstr(r.detail, overflow[_i].detail) != NULL,
		      "%s: detail '%s'", overflow[_i].body, r.detail);
	ck_assert_ptr_null(r.json);
	/* nothing stored, nothing changed */
	ck_assert_int_eq(store->ops->count(store, &now), STORE_OK);
	ck_assert_uint_eq(now, before);
	ck_assert_int_eq(store->ops->get(store, "/a", &after, NULL), STORE_OK);
	ck_assert_uint_eq(after->count[0], a->count[0]);
	ck_assert_double_eq(after->mean[0], a->mean[0]);
	ck_assert_double_eq(after->m2[0], a->m2[0]);
	stats_free(a);
	stats_free(after);
}
END_TEST

START_TEST(normalize_two_output_cells_that_overflow_are_both_named)
{
	struct call r;

	overflow_sessions();
	r = run(handle_normalize, NULL,
		"{\"op\":\"transform\",\"session\":\"b\",\"data\":"
		"[[1e308,1],[1,1],[-1e308,1]]}");
	ck_assert_uint_eq(r.status, 422);
	ck_assert_uint_eq(r.n_errors, 2);
	ck_assert_str_eq(r.pointer, "/data/0/0");
}
END_TEST

START_TEST(normalize_partial_fit_overflow_leaves_the_session_unchanged)
{
	struct call r;
	const cJSON *mean;

	cJSON_Delete(ok(handle_normalize, NULL,
			"{\"op\":\"fit\",\"session\":\"p\","
			"\"data\":[[1e154,1],[1e154,3]]}").json);
	/* the batch is fine alone; merged, (2e154)^2 overflows */
	r = run(handle_normalize, NULL,
		"{\"op\":\"partial_fit\",\"session\":\"p\","
		"\"data\":[[-1e154,5]]}");
	ck_assert_uint_eq(r.status, 422);
	ck_assert_str_eq(r.type, "/problems/non-finite-number");
	ck_assert_str_eq(r.pointer, "/data");
	ck_assert_msg(strstr(r.detail, "feature 0: the statistics overflow") !=
		      NULL, "detail '%s'", r.detail);
	r = ok(handle_session_get, "p", NULL);
	ck_assert_double_eq(num(field(r.json, "n_samples_seen")), 2);
	mean = field(r.json, "mean");
	ck_assert_double_eq(num(mean->child), 1e154);
	ck_assert_double_eq(num(mean->child->next), 2);
	ck_assert_double_eq(num(field(r.json, "var")->child), 0);
	ck_assert_double_eq(num(field(r.json, "var")->child->next), 1);
	cJSON_Delete(r.json);
	/* a merge that fits still goes through: 0.9e154 each way */
	cJSON_Delete(ok(handle_normalize, NULL,
			"{\"op\":\"fit\",\"session\":\"p\","
			"\"data\":[[0.9e154]]}").json);
	r = ok(handle_normalize, NULL,
	       "{\"op\":\"partial_fit\",\"session\":\"p\","
	       "\"data\":[[-0.9e154]]}");
	ck_assert_double_eq(num(field(r.json, "var")->child),
			    0.9e154 * 0.9e154);
	ck_assert_double_eq(num(field(r.json, "scale")->child), 0.9e154);
	cJSON_Delete(r.json);
}
END_TEST

/* ---- /sessions/{id} --------------------------------------------------- */

static bool rfc3339_ms(const char *s)
{
	return strlen(s) == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' &&
	       s[13] == ':' && s[16] == ':' && s[19] == '.' && s[23] == 'Z';
}

START_TEST(sessions_get_returns_statistics_and_times)
{
	struct call r;

	cJSON_Delete(ok(handle_normalize, NULL,
			"{\"op\":\"fit\",\"session\":\"g\","
			"\"data\":[[1,10],[3,30]]}").json);
	r = ok(handle_session_get, "g", NULL);
	ck_assert_uint_eq(r.status, 200);
	ck_assert_str_eq(field(r.json, "session")->valuestring, "g");
	ck_assert_double_eq(num(field(r.json, "n_samples_seen")), 2);
	ck_assert_double_eq(num(field(r.json, "n_features")), 2);
	ck_assert_double_eq(num(field(r.json, "var")->child->next), 100);
	ck_assert_double_eq(num(field(r.json, "scale")->child), 1);
	ck_assert(rfc3339_ms(field(r.json, "created_at")->valuestring));
	ck_assert(rfc3339_ms(field(r.json, "updated_at")->valuestring));
	ck_assert(strcmp(field(r.json, "created_at")->valuestring,
			 field(r.json, "updated_at")->valuestring) <= 0);
	cJSON_Delete(r.json);
	r = run(handle_session_get, "absent", NULL);
	ck_assert_uint_eq(r.status, 404);
	ck_assert_str_eq(r.type, "/problems/session-not-found");
	/* the id is a path parameter, not a body field */
	ck_assert_str_eq(r.detail, "no session 'absent'");
	ck_assert_uint_eq(r.n_errors, 0);
	r = run(handle_session_get, "no/slash", NULL);
	ck_assert_uint_eq(r.status, 422);
}
END_TEST

START_TEST(sessions_put_imports_statistics)
{
	struct call r = ok(handle_session_put, "imp",
			   "{\"n_samples_seen\":4,\"mean\":[1,2],"
			   "\"var\":[4,0]}");

	ck_assert_uint_eq(r.status, 201);
	ck_assert_str_eq(r.location, "/sessions/imp");
	ck_assert_double_eq(num(field(r.json, "scale")->child), 2);
	ck_assert_double_eq(num(field(r.json, "scale")->child->next), 1);
	cJSON_Delete(r.json);
	r = ok(handle_normalize, NULL,
	       "{\"op\":\"transform\",\"session\":\"imp\",\"data\":[[5,7]]}");
	ck_assert_double_eq(num(field(r.json, "data")->child->child), 2);
	ck_assert_double_eq(num(field(r.json, "data")->child->child->next), 5);
	cJSON_Delete(r.json);
	/* merging into imported statistics: 4 samples (mean 1, var 4) + (1, 3) */
	r = ok(handle_normalize, NULL,
	       "{\"op\":\"partial_fit\",\"session\":\"imp\","
	       "\"data\":[[1,2],[1,2]]}");
	ck_assert_double_eq(num(field(r.json, "n_samples_seen")), 6);
	ck_assert_msg(fabs(num(field(r.json, "var")->child) - 16.0 / 6) < 1e-15,
		      "var");
	cJSON_Delete(r.json);
	r = ok(handle_session_put, "imp",
	       "{\"n_samples_seen\":[3,5],\"mean\":[0,0],\"var\":[1,1]}");
	ck_assert_uint_eq(r.status, 200);
	ck_assert(cJSON_IsArray(field(r.json, "n_samples_seen")));
	cJSON_Delete(r.json);
}
END_TEST

static const struct {
	const char *body;
	const char *type;
	const char *pointer;
} bad_put[] = {
	{ "{\"mean\":[1],\"var\":[1]}", "missing-field", "/n_samples_seen" },
	{ "{\"n_samples_seen\":2,\"var\":[1]}", "missing-field", "/mean" },
	{ "{\"n_samples_seen\":2,\"mean\":[1,2],\"var\":[1]}", "shape-mismatch",
	  "/var" },
	{ "{\"n_samples_seen\":2,\"mean\":[1,2],\"var\":[1,-1]}", "out-of-range",
	  "/var/1" },
	{ "{\"n_samples_seen\":0,\"mean\":[1],\"var\":[1]}", "out-of-range",
	  "/n_samples_seen" },
	{ "{\"n_samples_seen\":2.5,\"mean\":[1],\"var\":[1]}", "",
	  "/n_samples_seen" },
	{ "{\"n_samples_seen\":[2,0],\"mean\":[1,1],\"var\":[1,1]}",
	  "out-of-range", "/n_samples_seen/1" },
	{ "{\"n_samples_seen\":[2],\"mean\":[1,1],\"var\":[1,1]}",
	  "shape-mismatch", "/n_samples_seen" },
	{ "{\"n_samples_seen\":2,\"mean\":[1],\"var\":[1],\"std\":[1]}",
	  "unknown-field", "/std" },
	{ "{\"n_samples_seen\":2,\"mean\":[\"a\"],\"var\":[1]}", "wrong-type",
	  "/mean/0" },
	{ "{\"n_samples_seen\":2,\"mean\":[],\"var\":[]}", "invalid-field",
	  "/mean" },
	/* nothing non-finite is imported */
	{ "{\"n_samples_seen\":2,\"mean\":[1e999],\"var\":[1]}",
	  "non-finite-number", "/mean/0" },
	{ "{\"n_samples_seen\":2,\"mean\":[1],\"var\":[-1e999]}",
	  "non-finite-number", "/var/0" },
	{ "{\"n_samples_seen\":10,\"mean\":[0,0],\"var\":[1,1e308]}",
	  "out-of-range", "/var/1" },
};

START_TEST(sessions_put_rejects_invalid_statistics)
{
	struct call r = run(handle_session_put, "bad", bad_put[_i].body);
	struct stats *st = NULL;

	ck_assert_msg(r.status == 422, "%s: status %u", bad_put[_i].body,
		      r.status);
	ck_assert_msg(strstr(r.type, bad_put[_i].type) != NULL,
		      "%s: type %s", bad_put[_i].body, r.type);
	ck_assert_msg(strcmp(r.pointer, bad_put[_i].pointer) == 0,
		      "%s: pointer '%s' want '%s'", bad_put[_i].body, r.pointer,
		      bad_put[_i].pointer);
	ck_assert_int_eq(store->ops->get(store, "/bad", &st, NULL),
			 STORE_NOT_FOUND);
}
END_TEST

START_TEST(sessions_delete_removes_a_session)
{
	struct call r;

	cJSON_Delete(ok(handle_normalize, NULL,
			"{\"op\":\"fit\",\"session\":\"d\",\"data\":[[1]]}").json);
	r = run(handle_session_delete, "d", NULL);
	ck_assert_uint_eq(r.status, 204);
	ck_assert_ptr_null(r.json);
	r = run(handle_session_get, "d", NULL);
	ck_assert_uint_eq(r.status, 404);
	r = run(handle_session_delete, "d", NULL);
	ck_assert_uint_eq(r.status, 404);
	ck_assert_str_eq(r.type, "/problems/session-not-found");
	ck_assert_str_eq(r.detail, "no session 'd'");
	ck_assert_uint_eq(r.n_errors, 0);
	r = run(handle_session_delete, "", NULL);
	ck_assert_uint_eq(r.status, 422);
	r = run(handle_normalize, NULL,
		"{\"op\":\"transform\",\"session\":\"d\",\"data\":[[1]]}");
	ck_assert_uint_eq(r.status, 404);
}
END_TEST

static Suite *normalize_suite(void)
{
	Suite *s = suite_create("normalize");
	TCase *sk = tcase_create("sklearn"), *core = tcase_create("core");
	TCase *err = tcase_create("errors"), *ses = tcase_create("sessions");
	TCase *all[] = { sk, core, err, ses };

	for (size_t i = 0; i < 4; i++)
		tcase_add_checked_fixture(all[i], setup, teardown);
	tcase_add_loop_test(sk, normalize_matches_sklearn_standard_scaler, 0,
			    fixture_count(fixtures, "cases"));
	tcase_add_test(core, normalize_fit_then_transform_uses_stored_statistics);
	tcase_add_test(core, normalize_partial_fit_merges_batches);
	tcase_add_test(core, normalize_samples_in_columns_round_trips_layout);
	tcase_add_test(core, normalize_ignores_null_cells_and_keeps_them_null);
	tcase_add_test(core, normalize_warns_about_zero_variance_features);
	tcase_add_test(core, normalize_generates_a_session_id);
	tcase_add_test(core, normalize_reports_condition_numbers);
	tcase_add_loop_test(core, normalize_report_matches_numpy_eigvalsh, 0,
			    fixture_count(fixtures, "reports"));
	tcase_add_test(err, normalize_gives_up_after_the_deadline);
	tcase_add_loop_test(err, normalize_rejects_invalid_requests, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(err, normalize_without_store_is_unavailable);
	tcase_add_test(err, normalize_refuses_sessions_past_the_limit);
	tcase_add_loop_test(err, normalize_refuses_results_that_overflow, 0,
			    (int)(sizeof(overflow) / sizeof(overflow[0])));
	tcase_add_test(err,
		       normalize_two_output_cells_that_overflow_are_both_named);
	tcase_add_test(err,
		       normalize_partial_fit_overflow_leaves_the_session_unchanged);
	tcase_add_test(ses, sessions_get_returns_statistics_and_times);
	tcase_add_test(ses, sessions_put_imports_statistics);
	tcase_add_loop_test(ses, sessions_put_rejects_invalid_statistics, 0,
			    (int)(sizeof(bad_put) / sizeof(bad_put[0])));
	tcase_add_test(ses, sessions_delete_removes_a_session);
	for (size_t i = 0; i < 4; i++)
		suite_add_tcase(s, all[i]);
	return s;
}

int main(void)
{
	return fixture_main("sklearn_scaler.json", &fixtures, normalize_suite);
}
