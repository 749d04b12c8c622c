/* handlers/init: POST /init without sockets. Numbers parsed back from the
 * response equal numpy's (tests/fixtures/init_numpy.json) exactly; every
 * bad field gets its 422/413 and pointer; the diagnosis tells the four
 * textbook stories (He/ReLU stable, tiny random vanishes, unit random
 * explodes, Xavier/tanh stable). */
#include <check.h>
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/init.h"
#include "core/rng.h"
#include "handlers/handler.h"
#include "handlers/limits.h"
#include "tests/lib/expect.h"
#include "tests/lib/fixture.h"

static cJSON *fx;

struct call {
	struct hres res;
	cJSON *json;          /* parsed success body, else NULL */
	double ms;
};

/* Runs handle_init on a JSON text with the default limits. */
static void call_init(const char *text, struct call *c)
{
	struct limits lim;
	struct hctx ctx;
	cJSON *body = cJSON_ParseWithLength(text, strlen(text));
	struct timespec t0, t1;

	ck_assert_msg(body != NULL, "test body is not JSON: %s", text);
	limits_default(&lim);
	memset(&ctx, 0, sizeof ctx);
	ctx.limits = &lim;
	ctx.tenant = "";
	hres_init(&c->res, lim.max_response);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	handle_init(&ctx, body, &c->res);
	hres_drain(&c->res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	cJSON_Delete(body);
	c->json = NULL;
	if (!problem_is_set(&c->res.problem))
		c->json = cJSON_ParseWithLength(c->res.body.data, c->res.body.len);
}

static void call_free(struct call *c)
{
	cJSON_Delete(c->json);
	hres_free(&c->res);
}

/* Runs a request that must succeed and returns its parsed body. */
static cJSON *ok(const char *text, struct call *c)
{
	call_init(text, c);
	ck_assert_msg(!problem_is_set(&c->res.problem), "%s -> %u %s: %s", text,
		      problem_status(c->res.problem.kind),
		      problem_type(c->res.problem.kind), c->res.problem.detail);
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

/* ---- numbers ----------------------------------------------------------- */

START_TEST(contract_example_returns_numpys_weights_and_zero_biases)
{
	struct call c;
	const cJSON *r = ok("{\"layer_dims\": [2, 4, 1], \"method\": \"he\", \"seed\": 3}", &c);
	const cJSON *params = get(r, "parameters"), *b1, *x, *layers, *l1;
	const cJSON *w1 = get(params, "W1");
	const cJSON *row0 = cJSON_GetArrayItem(w1, 0), *row1 = cJSON_GetArrayItem(w1, 1);

	ck_assert_double_eq(get(r, "seed")->valuedouble, 3);
	ck_assert_str_eq(get(r, "rng")->valuestring, "numpy");
	ck_assert_str_eq(get(r, "method")->valuestring, "he");
	ck_assert_str_eq(get(r, "distribution")->valuestring, "normal");
	ck_assert_str_eq(get(r, "mode")->valuestring, "fan_in");
	/* numpy: [[1.78862847, 0.43650985], [0.09649747, -1.8634927], ...] */
	ck_assert_double_eq_tol(cJSON_GetArrayItem(row0, 0)->valuedouble, 1.78862847, 5e-9);
	ck_assert_double_eq_tol(cJSON_GetArrayItem(row0, 1)->valuedouble, 0.43650985, 5e-9);
	ck_assert_double_eq_tol(cJSON_GetArrayItem(row1, 0)->valuedouble, 0.09649747, 5e-9);
	ck_assert_double_eq_tol(cJSON_GetArrayItem(row1, 1)->valuedouble, -1.8634927, 5e-8);
	b1 = get(params, "b1");
	ck_assert_int_eq(cJSON_GetArraySize(b1), 4);
	cJSON_ArrayForEach(x, b1) {
		ck_assert_int_eq(cJSON_GetArraySize(x), 1);
		ck_assert(x->child->valuedouble == 0.0);
	}
	/* parameters in order W1, b1, W2, b2 */
	ck_assert_str_eq(params->child->string, "W1");
	ck_assert_str_eq(params->child->next->string, "b1");
	ck_assert_str_eq(params->child->next->next->string, "W2");
	ck_assert_str_eq(params->child->next->next->next->string, "b2");
	ck_assert_ptr_null(params->child->next->next->next->next);
	layers = get(r, "layers");
	ck_assert_int_eq(cJSON_GetArraySize(layers), 2);
	l1 = cJSON_GetArrayItem(layers, 0);
	ck_assert_double_eq(get(l1, "layer")->valuedouble, 1);
	ck_assert_double_eq(cJSON_GetArrayItem(get(l1, "shape"), 0)->valuedouble, 4);
	ck_assert_double_eq(cJSON_GetArrayItem(get(l1, "shape"), 1)->valuedouble, 2);
	ck_assert_double_eq(get(l1, "fan_in")->valuedouble, 2);
	ck_assert_double_eq(get(l1, "fan_out")->valuedouble, 4);
	ck_assert(get(l1, "target_std")->valuedouble == 1.0);  /* sqrt(2/2) */
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(r, "diagnosis"));
	call_free(&c);
}
END_TEST

START_TEST(every_fixture_case_parses_back_to_numpys_exact_doubles)
{
	const cJSON *cs;
	int n = 0;

	cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(fx, "exact_cases")) {
		const cJSON *want = get(cs, "parameters"), *m;
		char *text = cJSON_PrintUnformatted(get(cs, "request"));
		struct call c;
		const cJSON *got = get(ok(text, &c), "parameters");

		cJSON_ArrayForEach(m, want)
			expect_same_matrix(get(got, m->string), m, text);
		call_free(&c);
		free(text);
		n++;
	}
	ck_assert_int_ge(n, 150);
}
END_TEST

START_TEST(empirical_std_is_the_population_std_of_the_weights)
{
	struct call c;
	const cJSON *r = ok("{\"layer_dims\": [300, 200], \"method\": \"glorot\", "
			    "\"distribution\": \"uniform\", \"seed\": 5}", &c);
	const cJSON *w = get(get(r, "parameters"), "W1"), *row, *x;
	const cJSON *l1 = cJSON_GetArrayItem(get(r, "layers"), 0);
	double sum = 0, ss = 0, n = 0, mean, sd;

	cJSON_ArrayForEach(row, w)
		cJSON_ArrayForEach(x, row) {
			sum += x->valuedouble;
			n++;
		}
	mean = sum / n;
	cJSON_ArrayForEach(row, w)
		cJSON_ArrayForEach(x, row)
			ss += (x->valuedouble - mean) * (x->valuedouble - mean);
	sd = sqrt(ss / n);
	ck_assert_double_eq(n, 60000);
	ck_assert_double_eq_tol(get(l1, "empirical_std")->valuedouble, sd, 1e-13);
	ck_assert(get(l1, "target_std")->valuedouble == sqrt(2.0 / 500.0));
	ck_assert_double_eq_tol(sd, sqrt(2.0 / 500.0), 0.01 * sqrt(2.0 / 500.0));
	ck_assert_str_eq(get(r, "mode")->valuestring, "fan_avg");
	call_free(&c);
}
END_TEST

/* A plain request draws each weight once and accumulates empirical_std as
 * the rows go out; a diagnosed one draws the layers first. Both report the
 * same weights and the same empirical_std, bit for bit, and the streamed
 * std is the population std even for weights of magnitude 1e-200 (squares
 * that would underflow) and 1e100. */
START_TEST(streamed_empirical_std_equals_the_drawn_layers_std)
{
	static const char *const scales[] = { "1e-200", "1e100", "0.01" };

	for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
		char plain[256], diag[320];
		struct call a, b;
		const cJSON *ra, *rb, *w, *row, *x;
		double sum = 0, ss = 0, n = 0, mean, sd, sc = atof(scales[k]);

		snprintf(plain, sizeof plain,
			 "{\"layer_dims\": [70, 130, 9], \"method\": \"random\", "
			 "\"scale\": %s, \"seed\": 11}", scales[k]);
		snprintf(diag, sizeof diag,
			 "{\"layer_dims\": [70, 130, 9], \"method\": \"random\", "
			 "\"scale\": %s, \"seed\": 11, \"diagnose\": "
			 "{\"batch\": 4}}", scales[k]);
		ra = ok(plain, &a);
		rb = ok(diag, &b);
		ck_assert(cJSON_Compare(get(ra, "parameters"),
					get(rb, "parameters"), true));
		ck_assert(cJSON_Compare(get(ra, "layers"), get(rb, "layers"), true));
		w = get(get(ra, "parameters"), "W1");
		cJSON_ArrayForEach(row, w)
			cJSON_ArrayForEach(x, row) {
				sum += x->valuedouble / sc;
				n++;
			}
		mean = sum / n;
		cJSON_ArrayForEach(row, w)
			cJSON_ArrayForEach(x, row)
				ss += (x->valuedouble / sc - mean) *
				      (x->valuedouble / sc - mean);
		sd = sqrt(ss / n) * sc;
		ck_assert_double_eq(n, 130 * 70);
		ck_assert_double_eq_tol(get(cJSON_GetArrayItem(get(ra, "layers"), 0),
					    "empirical_std")->valuedouble,
					sd, 1e-13 * sd);
		ck_assert_double_eq_tol(sd, sc, 0.05 * sc);
		call_free(&a);
		call_free(&b);
	}
}
END_TEST

START_TEST(absent_seed_is_drawn_echoed_and_reproduces_the_weights)
{
	struct call a, b, d;
	char text[160];
	const cJSON *ra = ok("{\"layer_dims\": [6, 5, 4]}", &a), *rb;
	double seed = get(ra, "seed")->valuedouble;

	ck_assert(seed >= 0 && seed <= 4294967295.0 && seed == floor(seed));
	snprintf(text, sizeof text, "{\"layer_dims\": [6, 5, 4], \"seed\": %.0f}", seed);
	rb = ok(text, &b);
	expect_same_matrix(get(get(ra, "parameters"), "W1"), get(get(rb, "parameters"), "W1"), "W1");
	expect_same_matrix(get(get(ra, "parameters"), "W2"), get(get(rb, "parameters"), "W2"), "W2");
	/* and a second seedless call draws another seed (1 in 2^32 to collide) */
	ok("{\"layer_dims\": [6, 5, 4]}", &d);
	ck_assert(get(d.json, "seed")->valuedouble != seed);
	call_free(&a);
	call_free(&b);
	call_free(&d);
}
END_TEST

START_TEST(fast_rng_is_reproducible_and_differs_from_numpy)
{
	struct call a, b, n;
	const char *req = "{\"layer_dims\": [8, 8], \"seed\": 1, \"rng\": \"fast\"}";

	ok(req, &a);
	ok(req, &b);
	ok("{\"layer_dims\": [8, 8], \"seed\": 1}", &n);
	ck_assert_str_eq(get(a.json, "rng")->valuestring, "fast");
	ck_assert_str_eq(a.res.body.data, b.res.body.data);
	ck_assert_double_ne(cJSON_GetArrayItem(cJSON_GetArrayItem(get(get(a.json, "parameters"), "W1"), 0), 0)->valuedouble,
			    cJSON_GetArrayItem(cJSON_GetArrayItem(get(get(n.json, "parameters"), "W1"), 0), 0)->valuedouble);
	call_free(&a);
	call_free(&b);
	call_free(&n);
}
END_TEST

START_TEST(orthogonal_response_has_orthonormal_rows_times_scale)
{
	struct call c;
	const cJSON *w = get(get(ok("{\"layer_dims\": [9, 4], \"method\": \"orthogonal\", "
				    "\"scale\": 2, \"seed\": 4}", &c), "parameters"), "W1");
	double m[4][9];
	int i = 0, j;
	const cJSON *row, *x;

	cJSON_ArrayForEach(row, w) {
		j = 0;
		cJSON_ArrayForEach(x, row)
			m[i][j++] = x->valuedouble;
		i++;
	}
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 4; b++) {
			double dot = 0;

			for (int k = 0; k < 9; k++)
				dot += m[a][k] * m[b][k];
			ck_assert_double_eq_tol(dot, a == b ? 4.0 : 0.0, 1e-10);
		}
	ck_assert(get(c.json, "mode")->type == cJSON_NULL);
	call_free(&c);
}
END_TEST

/* The response of a 2M-parameter request read as a socket would, 4 KiB at a
 * time: the text equals the core's weights (tested against numpy) and the
 * producer never holds more than a few hundred KiB, whatever the size. */
START_TEST(two_million_parameters_stream_out_exactly)
{
	static const size_t dims[] = { 1000, 1000, 1000, 10 };
	struct call c;
	struct init_spec s = { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, 0 };
	double *w = malloc(1000000 * sizeof *w), *zeros = calloc(1000, sizeof *zeros);
	struct rng rng;
	struct limits lim;
	struct hctx ctx;
	struct hpump pump;
	const char *req = "{\"layer_dims\": [1000, 1000, 1000, 10], \"seed\": 42}";
	cJSON *body = cJSON_ParseWithLength(req, strlen(req));
	struct timespec t0, t1;
	size_t len = 0, cap = 64u << 20, window = 0;
	char *text = malloc(cap);
	long n;

	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(zeros);
	ck_assert_ptr_nonnull(text);
	limits_default(&lim);
	memset(&ctx, 0, sizeof ctx);
	ctx.limits = &lim;
	hres_init(&c.res, lim.max_response);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	handle_init(&ctx, body, &c.res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert(!problem_is_set(&c.res.problem));
	ck_assert_msg(c.res.stream.step != NULL, "a 42 MB answer is streamed");
	ck_assert_uint_eq(c.res.body.len, 0);
	hpump_init(&pump, &c.res);
	while ((n = hpump_read(&pump, text + len, 4096)) > 0) {
		len += (size_t)n;
		ck_assert_uint_lt(len, cap - 4096);
		window = pump.win.cap > window ? pump.win.cap : window;
	}
	ck_assert_int_eq(n, 0);
	hpump_free(&pump);
	text[len] = '\0';
	fprintf(stderr, "init [1000,1000,1000,10]: %.0f ms in the handler, "
		"%zu bytes streamed through a window of %zu bytes\n",
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e6, len, window);
	ck_assert_uint_gt(len, 40000000);
	ck_assert_uint_le(window, 1u << 20);
	/* the same stream, regenerated with the core (tested against numpy) */
	rng_seed(&rng, RNG_NUMPY, 42);
	for (size_t l = 1; l <= 3; l++) {
		char key[8];

		init_layer(&s, &rng, dims[l], dims[l - 1], w, NULL);
		snprintf(key, sizeof key, "W%zu", l);
		expect_text_matrix(text, key, w, dims[l], dims[l - 1]);
		snprintf(key, sizeof key, "b%zu", l);
		expect_text_matrix(text, key, zeros, dims[l], 1);
	}
	cJSON_Delete(body);
	hres_free(&c.res);
	free(text);
	free(zeros);
	free(w);
}
END_TEST

/* ---- diagnosis --------------------------------------------------------- */

static const struct {
	const char *extra;   /* method fields */
	const char *activation;
	const char *verdict;
	int width;
} stories[] = {
	{ "\"method\": \"he\"", "relu", "stable", 100 },
	{ "\"method\": \"random\", \"scale\": 0.01", "relu", "vanishing", 100 },
	{ "\"method\": \"random\", \"scale\": 1", "relu", "exploding", 100 },
	{ "\"method\": \"xavier\"", "tanh", "stable", 100 },
	{ "\"method\": \"zeros\"", "relu", "vanishing", 10 },
	{ "\"method\": \"zeros\"", "sigmoid", "vanishing", 10 },
};

START_TEST(thirty_layer_stories_get_their_verdicts)
{
	char text[1024];
	size_t o;
	struct call c;
	const cJSON *d, *x;
	int n = 0;

	/* widths 100 x 31: a 30-layer net; batch 256 (core/test_diagnose runs
	 * more widths and rngs); a dead signal needs no width */
	for (unsigned seed = 1; seed <= 1; seed++) {
		o = (size_t)snprintf(text, sizeof text, "{%s, \"seed\": %u, \"layer_dims\": [",
				     stories[_i].extra, seed);
		for (int l = 0; l <= 30; l++)
			o += (size_t)snprintf(text + o, sizeof text - o, "%s%d", l ? "," : "",
					      stories[_i].width);
		snprintf(text + o, sizeof text - o,
			 "], \"diagnose\": {\"activation\": \"%s\", \"batch\": 256}}",
			 stories[_i].activation);
		d = get(ok(text, &c), "diagnosis");
		ck_assert_msg(strcmp(get(d, "verdict")->valuestring, stories[_i].verdict) == 0,
			      "%s: verdict %s (ratios %g, %g), want %s", text,
			      get(d, "verdict")->valuestring,
			      get(d, "activation_ratio")->valuedouble,
			      get(d, "gradient_ratio")->valuedouble, stories[_i].verdict);
		ck_assert_int_eq(cJSON_GetArraySize(get(d, "activation_std")), 30);
		ck_assert_int_eq(cJSON_GetArraySize(get(d, "gradient_norm")), 30);
		ck_assert_str_eq(get(d, "activation")->valuestring, stories[_i].activation);
		ck_assert_double_eq(get(d, "batch")->valuedouble, 256);
		ck_assert(strstr(get(d, "rule")->valuestring, "r_a") != NULL);
		cJSON_ArrayForEach(x, get(d, "activation_std")) {
			ck_assert(cJSON_IsNumber(x));
			n++;
		}
		call_free(&c);
	}
	ck_assert_int_eq(n, 30);
}
END_TEST

START_TEST(overflowing_activations_report_null_and_exploding)
{
	struct call c;
	char text[512];
	size_t o = (size_t)snprintf(text, sizeof text,
				    "{\"method\": \"random\", \"scale\": 1e20, \"seed\": 0, "
				    "\"diagnose\": {\"activation\": \"linear\", \"batch\": 8}, "
				    "\"layer_dims\": [");
	const cJSON *d, *as, *x;
	int nulls = 0, nums = 0;

	for (int l = 0; l <= 40; l++)
		o += (size_t)snprintf(text + o, sizeof text - o, "%s20", l ? "," : "");
	snprintf(text + o, sizeof text - o, "]}");
	d = get(ok(text, &c), "diagnosis");
	as = get(d, "activation_std");
	cJSON_ArrayForEach(x, as) {
		nulls += cJSON_IsNull(x);
		nums += cJSON_IsNumber(x);
	}
	ck_assert_int_gt(nulls, 0);
	ck_assert_int_gt(nums, 0);
	ck_assert_str_eq(get(d, "verdict")->valuestring, "exploding");
	cJSON_ArrayForEach(x, get(d, "gradient_norm"))
		ck_assert(cJSON_IsNull(x));
	call_free(&c);
}
END_TEST

START_TEST(diagnose_defaults_to_relu_and_batch_256)
{
	struct call c;
	const cJSON *d = get(ok("{\"layer_dims\": [3, 4], \"seed\": 2, \"diagnose\": {}}", &c),
			     "diagnosis");

	ck_assert_str_eq(get(d, "activation")->valuestring, "relu");
	ck_assert_double_eq(get(d, "batch")->valuedouble, 256);
	ck_assert_str_eq(get(d, "verdict")->valuestring, "stable");  /* one layer */
	call_free(&c);
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

static const struct {
	const char *body;
	unsigned status;
	const char *pointer;
} bad[] = {
	{ "{}", 422, "/layer_dims" },
	{ "{\"layer_dims\": [2, 4, 0]}", 422, "/layer_dims/2" },
	{ "{\"layer_dims\": [2, -3]}", 422, "/layer_dims/1" },
	{ "{\"layer_dims\": [2, 2.5]}", 422, "/layer_dims/1" },
	{ "{\"layer_dims\": [2]}", 422, "/layer_dims" },
	{ "{\"layer_dims\": []}", 422, "/layer_dims" },
	{ "{\"layer_dims\": \"2,3\"}", 422, "/layer_dims" },
	{ "{\"layer_dims\": [2, 3], \"seed\": -1}", 422, "/seed" },
	{ "{\"layer_dims\": [2, 3], \"seed\": 4294967296}", 422, "/seed" },
	{ "{\"layer_dims\": [2, 3], \"seed\": 1.5}", 422, "/seed" },
	{ "{\"layer_dims\": [2, 3], \"method\": \"kaiming\"}", 422, "/method" },
	{ "{\"layer_dims\": [2, 3], \"distribution\": \"gaussian\"}", 422, "/distribution" },
	{ "{\"layer_dims\": [2, 3], \"mode\": \"fan\"}", 422, "/mode" },
	{ "{\"layer_dims\": [2, 3], \"rng\": \"mt\"}", 422, "/rng" },
	{ "{\"layer_dims\": [2, 3], \"scale\": 0}", 422, "/scale" },
	{ "{\"layer_dims\": [2, 3], \"scale\": -2}", 422, "/scale" },
	{ "{\"layer_dims\": [2, 3], \"scale\": 1e200}", 422, "/scale" },
	{ "{\"layer_dims\": [2, 3], \"sede\": 3}", 422, "/sede" },
	{ "{\"layer_dims\": [2, 3], \"diagnose\": {\"activation\": \"gelu\"}}", 422, "/diagnose/activation" },
	{ "{\"layer_dims\": [2, 3], \"diagnose\": {\"batchsize\": 3}}", 422, "/diagnose/batchsize" },
	{ "{\"layer_dims\": [2, 3], \"diagnose\": {\"batch\": 0}}", 422, "/diagnose/batch" },
	{ "{\"layer_dims\": [2, 3], \"diagnose\": true}", 422, "/diagnose" },
	{ "{\"layer_dims\": [2, 3], \"method\": \"zeros\", \"scale\": 1}", 422, "/scale" },
	{ "{\"layer_dims\": [2, 3], \"method\": \"orthogonal\", \"distribution\": \"uniform\"}", 422, "/distribution" },
	{ "{\"layer_dims\": [2, 3], \"method\": \"random\", \"mode\": \"fan_in\"}", 422, "/mode" },
	{ "{\"layer_dims\": [2, 20000]}", 413, "/layer_dims/1" },
	{ "{\"layer_dims\": [3000, 3000]}", 413, "/layer_dims/1" },
	{ "{\"layer_dims\": [2000, 2000, 2000, 2000]}", 413, "/layer_dims" },
	{ "{\"layer_dims\": [2, 3], \"diagnose\": {\"batch\": 70000}}", 413, "/diagnose/batch" },
	{ "{\"layer_dims\": [3000, 1000, 10], \"diagnose\": {\"batch\": 2000}}", 413, "/diagnose/batch" },
	{ "{\"layer_dims\": [2000, 2000, 2000], \"method\": \"orthogonal\"}", 413, "/layer_dims" },
	{ "{\"layer_dims\": [2000, 2000, 2000], \"diagnose\": {\"batch\": 600}}", 413, "/diagnose/batch" },
};

START_TEST(bad_input_names_the_field)
{
	struct call c;
	const struct problem *p;
	int found = 0;

	call_init(bad[_i].body, &c);
	p = &c.res.problem;
	ck_assert_msg(problem_is_set(p), "%s was accepted", bad[_i].body);
	ck_assert_msg(problem_status(p->kind) == bad[_i].status, "%s -> %u (%s), want %u",
		      bad[_i].body, problem_status(p->kind), p->detail, bad[_i].status);
	for (size_t i = 0; i < p->n_errors; i++)
		found |= strcmp(p->errors[i].pointer, bad[_i].pointer) == 0;
	ck_assert_msg(found, "%s: no error at %s (first: %s %s)", bad[_i].body,
		      bad[_i].pointer, p->n_errors ? p->errors[0].pointer : "-",
		      p->n_errors ? p->errors[0].detail : p->detail);
	ck_assert_uint_eq(c.res.body.len, 0);
	call_free(&c);
}
END_TEST

START_TEST(too_many_layers_is_413_before_reading_them)
{
	struct call c;
	char *text = malloc(8192);
	size_t o = (size_t)snprintf(text, 8192, "{\"layer_dims\": [");

	ck_assert_ptr_nonnull(text);
	for (int l = 0; l <= 300; l++)
		o += (size_t)snprintf(text + o, 8192 - o, "%s2", l ? "," : "");
	snprintf(text + o, 8192 - o, "]}");
	call_init(text, &c);
	ck_assert_uint_eq(problem_status(c.res.problem.kind), 413);
	ck_assert_str_eq(c.res.problem.errors[0].pointer, "/layer_dims");
	ck_assert(strstr(c.res.problem.errors[0].detail, "max_layers") != NULL);
	call_free(&c);
	free(text);
}
END_TEST

START_TEST(all_bad_fields_are_reported_together)
{
	struct call c;
	const struct problem *p;

	call_init("{\"layer_dims\": [2, 0], \"method\": \"x\", \"seed\": -1, \"foo\": 1}", &c);
	p = &c.res.problem;
	ck_assert_uint_eq(problem_status(p->kind), 422);
	ck_assert_uint_ge(p->n_errors, 4);
	call_free(&c);
}
END_TEST

static Suite *init_suite(void)
{
	Suite *s = suite_create("handler_init");
	TCase *num = tcase_create("numbers");
	TCase *diag = tcase_create("diagnosis");
	TCase *err = tcase_create("errors");
	TCase *large = tcase_create("large");

	tcase_set_timeout(num, 120);
	tcase_set_timeout(diag, 120);
	tcase_add_test(num, contract_example_returns_numpys_weights_and_zero_biases);
	tcase_add_test(num, every_fixture_case_parses_back_to_numpys_exact_doubles);
	tcase_add_test(num, empirical_std_is_the_population_std_of_the_weights);
	tcase_add_test(num, streamed_empirical_std_equals_the_drawn_layers_std);
	tcase_add_test(num, absent_seed_is_drawn_echoed_and_reproduces_the_weights);
	tcase_add_test(num, fast_rng_is_reproducible_and_differs_from_numpy);
	tcase_add_test(num, orthogonal_response_has_orthonormal_rows_times_scale);
	tcase_set_timeout(large, 120);
	tcase_add_test(large, two_million_parameters_stream_out_exactly);
	tcase_add_loop_test(diag, thirty_layer_stories_get_their_verdicts, 0,
			    (int)(sizeof stories / sizeof stories[0]));
	tcase_add_test(diag, overflowing_activations_report_null_and_exploding);
	tcase_add_test(diag, diagnose_defaults_to_relu_and_batch_256);
	tcase_add_loop_test(err, bad_input_names_the_field, 0,
			    (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(err, too_many_layers_is_413_before_reading_them);
	tcase_add_test(err, all_bad_fields_are_reported_together);
	suite_add_tcase(s, num);
	suite_add_tcase(s, diag);
	suite_add_tcase(s, err);
	suite_add_tcase(s, large);
	return s;
}

int main(void)
{
	return fixture_main("init_numpy.json", &fx, init_suite);
}
