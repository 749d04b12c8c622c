/* Binary request bodies and fast JSON arrays: every endpoint gives the
 * same bytes for a JSON request and its .npy / .npz twin (files written by
 * numpy, tests/fixtures/make_npy_fixtures.py); each hostile file gets its
 * exact status, problem type and pointer; block nodes read exactly like
 * the cJSON arrays they replace; the number reader is bit-identical to
 * strtod. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "handlers/handler.h"
#include "handlers/json.h"
#include "handlers/npy.h"
#include "handlers/request.h"
#include "handlers/store.h"
#include "tests/lib/fixture.h"

static cJSON *fixtures;
static struct limits lim;
static struct store *store;

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

/* ---- helpers ------------------------------------------------------------- */

static char *read_file(const char *name, size_t *len)
{
	char *data = fixture_read(name, len);

	ck_assert_msg(data != NULL, "cannot read fixture %s", name);
	return data;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Splits and URL-decodes query (in place) into params; returns the count. */
static size_t split_query(char *q, struct request_param *params, size_t max)
{
	size_t n = 0;
	char *tok, *save = NULL, *eq, *r, *w;

	for (tok = strtok_r(q, "&", &save); tok && n < max;
	     tok = strtok_r(NULL, "&", &save)) {
		for (r = w = tok; *r; r++, w++) {
			if (*r == '+')
				*w = ' ';
			else if (*r == '%' && r[1] && r[2]) {
				*w = (char)(hexval(r[1]) * 16 + hexval(r[2]));
				r += 2;
			} else
				*w = *r;
		}
		*w = '\0';
		eq = strchr(tok, '=');
		if (eq)
			*eq++ = '\0';
		params[n].key = tok;
		params[n++].value = eq;
	}
	return n;
}

static handler_fn *endpoint(const char *path)
{
	if (!strcmp(path, "/normalize"))
		return handle_normalize;
	if (!strcmp(path, "/init"))
		return handle_init;
	return handle_gradcheck;
}

/* The value of "key" in JSON text t replaced by 0 (a generated session id,
 * a time), so that two answers compare byte for byte. */
static void mask(char *t, const char *key)
{
	char pat[64], *v, *e;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	v = strstr(t, pat);
	if (!v)
		return;
	v += strlen(pat);
	e = v;
	if (*e == '"')
		e = strchr(e + 1, '"') + 1;
	else
		e += strcspn(e, ",}");
	*v = '0';
	memmove(v + 1, e, strlen(e) + 1);
}

struct answer {
	unsigned status;
	char type[64], pointer[256], detail[512];
	char *text;        /* success body, "session"/"elapsed_ms" masked */
};

static void answer_free(struct answer *a)
{
	free(a->text);
}

/* Runs fn on a parsed request; a NULL tree is the parse's problem. */
static struct answer answer_of(handler_fn *fn, cJSON *in,
			       const struct problem *parse)
{
	struct hctx ctx = { 0 };
	struct hres res;
	struct answer a = { 0 };
	struct problem *p = &res.problem;

	ctx.limits = &lim;
	ctx.store = store;
	ctx.tenant = "";
	ctx.oracle_allow = "none";
	hres_init(&res, lim.max_response);
	if (in)
		fn(&ctx, in, &res);
	else
		*p = *parse;
	if (problem_is_set(p)) {
		a.status = problem_status(p->kind);
		snprintf(a.type, sizeof(a.type), "%s", problem_type(p->kind));
		snprintf(a.detail, sizeof(a.detail), "%s", p->detail);
		if (p->n_errors)
			snprintf(a.pointer, sizeof(a.pointer), "%s",
				 p->errors[0].pointer);
	} else {
		a.status = res.status;
		a.text = strndup(res.body.data, res.body.len);
		ck_assert(a.text != NULL);
		mask(a.text, "session");
		mask(a.text, "elapsed_ms");
	}
	hres_free(&res);
	return a;
}

static struct answer run_binary(const cJSON *c)
{
	const char *media = cJSON_GetObjectItem(c, "media")->valuestring;
	const char *path = cJSON_GetObjectItem(c, "endpoint") ?
		cJSON_GetObjectItem(c, "endpoint")->valuestring : "/normalize";
	char *query = strdup(cJSON_GetObjectItem(c, "query")->valuestring);
	struct request_param params[32];
	struct problem p;
	struct answer a;
	size_t len, n;
	char *body = read_file(cJSON_GetObjectItem(c, "file")->valuestring, &len);
	cJSON *in = NULL;

	n = split_query(query, params, 32);
	problem_init(&p);
	request_parse(request_media_of(media), body, len, params, n,
		      endpoint(path) == handle_gradcheck ? REQUEST_MODEL_FIELDS : 0,
		      &lim, &in, &p);
	a = answer_of(endpoint(path), in, &p);
	cJSON_Delete(in);
	free(body);
	free(query);
	return a;
}

static struct answer run_json(const char *path, const char *text,
			      size_t min_block)
{
	struct problem p;
	struct answer a;
	cJSON *in = NULL;

	problem_init(&p);
	json_parse_blocks(text, strlen(text), min_block, &in, &p);
	a = answer_of(endpoint(path), in, &p);
	cJSON_Delete(in);
	return a;
}

/* ---- twins ---------------------------------------------------------------- */

START_TEST(binary_body_gives_the_json_twins_bytes)
{
	const cJSON *c = fixture_case(fixtures, "cases", _i);
	const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
	const char *path = cJSON_GetObjectItem(c, "endpoint")->valuestring;
	const char *twin = cJSON_GetObjectItem(c, "twin")->valuestring;
	struct answer b = run_binary(c);
	struct answer j = run_json(path, twin, SIZE_MAX);
	struct answer k = run_json(path, twin, 1);

	ck_assert_msg(b.status == j.status, "%s: binary %u (%s %s: %s), json %u "
		      "(%s %s)", name, b.status, b.type, b.pointer, b.detail,
		      j.status, j.type, j.pointer);
	ck_assert_str_eq(b.type, j.type);
	ck_assert_str_eq(b.pointer, j.pointer);
	if (j.text) {
		ck_assert_msg(!strcmp(b.text, j.text), "%s: binary %.300s\njson %.300s",
			      name, b.text, j.text);
		ck_assert_str_eq(k.text, j.text);
	}
	ck_assert_str_eq(k.detail, j.detail);
	answer_free(&b);
	answer_free(&j);
	answer_free(&k);
}
END_TEST

START_TEST(hostile_file_gets_its_exact_problem)
{
	const cJSON *c = fixture_case(fixtures, "hostile", _i);
	const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
	struct answer a;

	lim.max_elements = 1u << 20;
	a = run_binary(c);
	ck_assert_msg(a.status == (unsigned)cJSON_GetObjectItem(c, "status")->valueint,
		      "%s: status %u (%s at '%s': %s)", name, a.status, a.type,
		      a.pointer, a.detail);
	ck_assert_msg(!strcmp(a.type, cJSON_GetObjectItem(c, "type")->valuestring),
		      "%s: type %s (%s)", name, a.type, a.detail);
	ck_assert_msg(!strcmp(a.pointer,
			      cJSON_GetObjectItem(c, "pointer")->valuestring),
		      "%s: pointer '%s' (%s)", name, a.pointer, a.detail);
	ck_assert(a.detail[0] != '\0');
	answer_free(&a);
}
END_TEST

/* Every prefix of every good file is refused with a 4xx, never a crash. */
START_TEST(every_truncation_of_a_good_file_is_refused)
{
	const cJSON *c = fixture_case(fixtures, "cases", _i);
	const char *media = cJSON_GetObjectItem(c, "media")->valuestring;
	struct problem p;
	size_t len, cut;
	char *body = read_file(cJSON_GetObjectItem(c, "file")->valuestring, &len);
	cJSON *in;

	for (cut = 1; cut < len; cut += 1 + cut / 64) {
		in = NULL;
		problem_init(&p);
		ck_assert_int_eq(request_parse(request_media_of(media), body, cut,
					       NULL, 0, REQUEST_MODEL_FIELDS,
					       &lim, &in, &p), -1);
		ck_assert(in == NULL);
		ck_assert_uint_eq(problem_status(p.kind), 400);
	}
	free(body);
}
END_TEST

/* ---- blocks read like arrays ------------------------------------------------- */

static const char *const block_bodies[] = {
	"{\"a\": [[1, 2, 3], [4, 5, 6]]}",
	"{\"a\": [1, 2, 3, 4]}",
	"{\"a\": [1, null, 3, 4]}",
	"{\"a\": [[1, null], [null, 4]]}",
	"{\"a\": [[1, 2], [3, 4], [5, 1e999]]}",
	"{\"a\": [1e999, -1e999, 2]}",
	"{\"a\": [[1], [2], [3]]}",
	"{\"a\": [[0.5, 1.5, 2.5]]}",
	"{\"a\": [3, 4, 5.5, -2, 1e300]}",
	"{\"a\": [[1, 2], [3, 4, 5]]}",
	"{\"a\": [[1, 2], \"x\"]}",
	"{\"a\": [[1, null], [null, 2], [0]]}",
	"{\"a\": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]]}",
	"{\"a\": [[1, 2], [[3, 4], [5, 6]]]}",
	"{\"a\": [[null, null, null, null, null, null, null, null, null, null,"
	" null, null, null, null, null, null, null, null, null, null, null, null,"
	" null, null, null, null, null, null, null, null, null, null, null, null,"
	" null, null, null, null, null, null]]}",
	"{\"a\": [null, null, null, null, null, null, null, null, null, null,"
	" null, null, null, null, null, null, null, null, null, null, null, null,"
	" null, null, null, null, null, null, null, null, null, null, null, null,"
	" null, null, null, null, null, null]}",
	"{\"a\": [], \"b\": [[1, 2]], \"c\": [[], [3, 4]], \"d\": {\"e\": [5, 6]}}",
	"[[1, 2], [3, 4]]",
	"{\"a\": [ -0.0 , 0e5 , 1E-3 ,2.5e+2 ]}",
};

static void same_problem(const struct problem *a, const struct problem *b,
			 const char *what, const char *body)
{
	size_t k;

	ck_assert_msg(a->kind == b->kind && a->n_errors == b->n_errors &&
		      a->n_dropped == b->n_dropped && !strcmp(a->detail, b->detail),
		      "%s on %s: '%s' (%zu) vs '%s' (%zu)", what, body, a->detail,
		      a->n_errors, b->detail, b->n_errors);
	for (k = 0; k < a->n_errors; k++) {
		ck_assert_str_eq(a->errors[k].pointer, b->errors[k].pointer);
		ck_assert_str_eq(a->errors[k].detail, b->errors[k].detail);
	}
}

START_TEST(block_reads_like_the_array_it_replaces)
{
	static const unsigned mflags[] = {
		0, JSON_ALLOW_NULL, JSON_FLAT_COLUMN,
		JSON_ALLOW_NULL | JSON_FLAT_COLUMN
	};
	static const char *const keys[] = { "a", "b", "c", "e" };
	static const size_t maxes[] = { 1, 3, 6, 1000 };
	const char *body = block_bodies[_i];
	struct problem pa, pb;
	struct json_matrix ma, mb;
	cJSON *ta = NULL, *tb = NULL;
	const cJSON *oa, *ob;
	double *va, *vb;
	int64_t *ia, *ib;
	size_t na, nb, f, k, m;
	int ra, rb;

	problem_init(&pa);
	ck_assert_int_eq(json_parse(body, strlen(body), &ta, &pa), 0);
	ck_assert_int_eq(json_parse_blocks(body, strlen(body), 1, &tb, &pa), 0);
	oa = cJSON_IsArray(ta) ? NULL : ta;
	ob = cJSON_IsArray(tb) ? NULL : tb;
	for (k = 0; k < 4; k++) {
		const char *key = keys[k];
		const cJSON *xa = oa, *xb = ob;

		if (!strcmp(key, "e")) {
			xa = cJSON_GetObjectItem(ta, "d");
			xb = cJSON_GetObjectItem(tb, "d");
		}
		if (!oa) {
			/* the whole body is the array */
			problem_init(&pa);
			problem_init(&pb);
			ra = json_as_matrix(ta, "", 0, 100, &ma, &pa);
			rb = json_as_matrix(tb, "", 0, 100, &mb, &pb);
			ck_assert_int_eq(ra, rb);
			ck_assert(json_block_of(tb) != NULL);
			if (ra == 1)
				ck_assert(!memcmp(ma.v, mb.v, ma.rows * ma.cols * 8));
			gg_free(ma.v);
			gg_free(mb.v);
			break;
		}
		for (m = 0; m < 4; m++) {
			for (f = 0; f < 4; f++) {
				problem_init(&pa);
				problem_init(&pb);
				ra = json_get_matrix(xa, "/d", key, mflags[f], maxes[m], &ma, &pa);
				rb = json_get_matrix(xb, "/d", key, mflags[f], maxes[m], &mb, &pb);
				ck_assert_int_eq(ra, rb);
				same_problem(&pa, &pb, "matrix", body);
				if (ra == 1) {
					ck_assert_uint_eq(ma.rows, mb.rows);
					ck_assert_uint_eq(ma.cols, mb.cols);
					for (na = 0; na < ma.rows * ma.cols; na++)
						ck_assert(isnan(ma.v[na]) ? isnan(mb.v[na]) :
							  !memcmp(&ma.v[na], &mb.v[na], 8));
				}
				gg_free(ma.v);
				gg_free(mb.v);
			}
			problem_init(&pa);
			problem_init(&pb);
			ra = json_get_vector(xa, "", key, 0, maxes[m], &va, &na, &pa);
			rb = json_get_vector(xb, "", key, 0, maxes[m], &vb, &nb, &pb);
			ck_assert_int_eq(ra, rb);
			same_problem(&pa, &pb, "vector", body);
			if (ra == 1)
				ck_assert(na == nb && !memcmp(va, vb, na * 8));
			gg_free(va);
			gg_free(vb);
			problem_init(&pa);
			problem_init(&pb);
			ra = json_get_int_vector(xa, "", key, 0, maxes[m], 0, 5, &ia, &na, &pa);
			rb = json_get_int_vector(xb, "", key, 0, maxes[m], 0, 5, &ib, &nb, &pb);
			ck_assert_int_eq(ra, rb);
			same_problem(&pa, &pb, "int vector", body);
			if (ra == 1)
				ck_assert(na == nb && !memcmp(ia, ib, na * 8));
			gg_free(ia);
			gg_free(ib);
		}
		ck_assert_uint_eq(json_array_len(cJSON_GetObjectItem(xa, key)),
				  json_array_len(cJSON_GetObjectItem(xb, key)));
		ck_assert(json_array_is_flat(cJSON_GetObjectItem(xa, key)) ==
			  json_array_is_flat(cJSON_GetObjectItem(xb, key)));
	}
	cJSON_Delete(ta);
	cJSON_Delete(tb);
}
END_TEST

/* ---- numbers: bit-identical to strtod -------------------------------------- */

static uint64_t xs_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void same_as_strtod(const char *text)
{
	double got, want = strtod(text, NULL);

	ck_assert_msg(json_read_number(text, strlen(text), &got) == 0,
		      "'%s' refused", text);
	ck_assert_msg(!memcmp(&got, &want, sizeof(got)), "'%s': %a, strtod %a",
		      text, got, want);
}

/* Halfway cases, boundaries, subnormals, long mantissas, overflow. */
START_TEST(number_reader_matches_strtod_on_hard_cases)
{
	static const char *const hard[] = {
		"0", "-0", "0.0", "1", "-1", "0.1", "0.2", "0.3", "1e23",
		"8.98846567431158e307", "1.7976931348623157e308",
		"1.7976931348623158e308", "1.7976931348623159e308", "1e309",
		"-1e309", "2.2250738585072011e-308", "2.2250738585072014e-308",
		"2.2250738585072012e-308", "4.9406564584124654e-324",
		"2.4703282292062327e-324", "2.4703282292062328e-324", "5e-324",
		"1e-400", "9007199254740993", "9007199254740992",
		"9007199254740991", "18446744073709551615",
		"18446744073709551616", "123456789012345678901234567890",
		"0.000000000000000000000000000000000000001",
		"1.00000000000000011102230246251565404236316680908203125",
		"1.00000000000000011102230246251565404236316680908203124",
		"1.00000000000000011102230246251565404236316680908203126",
		"9007199254740993.0000000000000000000000001",
		"7.038531e-26", "3.0000000000000004", "2.9999999999999996",
		"1448997445238699", "4.35679508e-307", "1e22", "1e-22", "1e21",
		"123456789e-30", "9.999999999999999e22", "1.2345678901234567e-300",
		"6.631236846766476e-316", "3.2379086165851934e-319",
		"2.225073858507201e-308", "0.5e1", "100e-2", "7.3177701707893310e+15",
		"1.9156918820264798e-56", "6.9294956446009195e15",
		"1797693134862315708145274237317043567981e269",
	};
	size_t k;

	for (k = 0; k < sizeof(hard) / sizeof(hard[0]); k++)
		same_as_strtod(hard[k]);
}
END_TEST

/* GG_STRTOD_COUNT random bit patterns (default 2 x 10^5; the record of 10^7
 * is in bench/RESULTS.md), each as %.17g and in its shortest form. */
START_TEST(number_reader_matches_strtod_on_random_doubles)
{
	const char *env = getenv("GG_STRTOD_COUNT");
	long n = env && *env ? atol(env) : 200000, k;
	uint64_t s = 0x9e3779b97f4a7c15u, b;
	char t[40];
	double v, got, want;
	int form;

	for (k = 0; k < n; k++) {
		b = xs_next(&s);
		memcpy(&v, &b, sizeof(v));
		if (!isfinite(v))
			continue;
		for (form = 0; form < 2; form++) {
			if (form)
				json_format_double(t, v);
			else
				snprintf(t, sizeof(t), "%.17g", v);
			want = strtod(t, NULL);
			ck_assert_msg(json_read_number(t, strlen(t), &got) == 0 &&
				      !memcmp(&got, &want, sizeof(got)),
				      "'%s': %a, strtod %a", t, got, want);
		}
	}
}
END_TEST

START_TEST(number_reader_refuses_what_is_no_json_number)
{
	static const char *const bad[] = {
		"", "-", "+1", "01", "1.", ".5", "1e", "1e+", "0x10", "NaN",
		"Infinity", "-Infinity", "1 ", " 1", "1.5.2", "--1", "1e5x",
	};
	size_t k;
	double v;

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		ck_assert_msg(json_read_number(bad[k], strlen(bad[k]), &v) == -1,
			      "'%s' accepted", bad[k]);
}
END_TEST

/* ---- NaN tokens, query text ------------------------------------------------- */

START_TEST(nan_and_infinity_tokens_say_what_to_send)
{
	static const char *const bodies[] = {
		"{\"data\": [[NaN, 1]]}", "{\"data\": [[1, Infinity]]}",
		"{\"data\": [[1, -Infinity]]}", "{\"epsilon\": NaN}",
	};
	struct problem p;
	cJSON *t = NULL;
	size_t k;

	for (k = 0; k < 4; k++) {
		problem_init(&p);
		ck_assert_int_eq(json_parse_blocks(bodies[k], strlen(bodies[k]),
						   1, &t, &p), -1);
		ck_assert_uint_eq(problem_status(p.kind), 400);
		ck_assert_msg(strstr(p.detail, "null") &&
			      strstr(p.detail, "\"missing\": \"ignore\"") &&
			      strstr(p.detail, "application/x-npy"), "%s", p.detail);
	}
}
END_TEST

START_TEST(query_text_reads_as_the_type_a_getter_wants)
{
	struct request_param q[] = {
		{ "b", "true" }, { "d", "1e-3" }, { "i", "42" }, { "s", "123" },
		{ "bad", "yes" }, { "o", "{\"x\": [1, 2]}" },
	};
	struct problem p;
	cJSON *t = NULL;
	const cJSON *o;
	const char *s;
	bool b;
	double d;
	int64_t i;

	problem_init(&p);
	ck_assert_int_eq(request_parse(REQUEST_NPZ, "", 0, q, 6, 0, &lim, &t,
				       &p), 0);
	ck_assert_int_eq(json_get_bool(t, "", "b", 0, false, &b, &p), 1);
	ck_assert(b);
	ck_assert_int_eq(json_get_double(t, "", "d", 0, 0, 0, 1, &d, &p), 1);
	ck_assert(d == 1e-3);
	ck_assert_int_eq(json_get_int(t, "", "i", 0, 0, 0, 100, &i, &p), 1);
	ck_assert_int_eq(i, 42);
	ck_assert_int_eq(json_get_string(t, "", "s", 0, 64, &s, &p), 1);
	ck_assert_str_eq(s, "123");
	ck_assert_int_eq(json_get_node(t, "", "o", 0, cJSON_Object, &o, &p), 1);
	ck_assert_int_eq(json_get_bool(t, "", "bad", 0, false, &b, &p), -1);
	ck_assert_str_eq(p.errors[0].pointer, "/bad");
	ck_assert_msg(strstr(p.errors[0].detail, "'yes'"), "%s",
		      p.errors[0].detail);
	problem_init(&p);
	ck_assert_int_eq(json_get_double(t, "", "bad", 0, 0, 0, 1, &d, &p), -1);
	ck_assert_uint_eq(problem_status(p.kind), 422);
	cJSON_Delete(t);
}
END_TEST

/* Each allocation of request_parse failing in turn: a 503 problem, never
 * a crash or a leak (ASan in make test), and never an unreached failure. */
START_TEST(every_allocation_failure_in_request_parse_is_a_503)
{
	static const char *const files[] = {
		"npy/gradcheck_model_deflated.npz", "npy/normalize_f4_fortran.npy",
		"npy/http_transform_twin.json",
	};
	static const enum request_media media[] = {
		REQUEST_NPZ, REQUEST_NPY, REQUEST_JSON
	};
	struct request_param q[] = { { "epsilon", "1e-6" },
				     { "check", "{\"sample\": 3, \"seed\": 1}" } };
	struct problem p;
	size_t len;
	char *body = read_file(files[_i], &len);
	cJSON *t = NULL;
	long k, n, before;

	cJSON_InitHooks(&(cJSON_Hooks){ .malloc_fn = gg_malloc,
					 .free_fn = gg_free });
	problem_init(&p);
	before = gg_alloc_count();
	ck_assert_int_eq(request_parse(media[_i], body, len, q, 2,
				       REQUEST_MODEL_FIELDS, &lim, &t, &p), 0);
	n = gg_alloc_count() - before;
	cJSON_Delete(t);
	ck_assert(n > 0);
	for (k = 1; k <= n; k++) {
		t = NULL;
		problem_init(&p);
		gg_alloc_inject(k);
		if (request_parse(media[_i], body, len, q, 2, REQUEST_MODEL_FIELDS,
				  &lim, &t, &p) == 0) {
			ck_assert(t != NULL);
		} else {
			ck_assert(t == NULL);
			ck_assert_msg(p.kind == PROB_OUT_OF_MEMORY, "k = %ld: %s",
				      k, p.detail);
		}
		ck_assert_msg(!gg_alloc_pending(), "allocation %ld never made", k);
		gg_alloc_inject(0);
		cJSON_Delete(t);
	}
	cJSON_InitHooks(NULL);
	free(body);
}
END_TEST

static Suite *npy_suite(void)
{
	Suite *s = suite_create("npy");
	TCase *tc = tcase_create("twins");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, binary_body_gives_the_json_twins_bytes, 0,
			    fixture_count(fixtures, "cases"));
	tcase_add_loop_test(tc, every_truncation_of_a_good_file_is_refused, 0,
			    fixture_count(fixtures, "cases"));
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, hostile_file_gets_its_exact_problem, 0,
			    fixture_count(fixtures, "hostile"));
	suite_add_tcase(s, tc);
	tc = tcase_create("blocks");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, block_reads_like_the_array_it_replaces, 0,
			    (int)(sizeof(block_bodies) / sizeof(block_bodies[0])));
	tcase_add_test(tc, nan_and_infinity_tokens_say_what_to_send);
	tcase_add_test(tc, query_text_reads_as_the_type_a_getter_wants);
	tcase_add_loop_test(tc, every_allocation_failure_in_request_parse_is_a_503,
			    0, 3);
	suite_add_tcase(s, tc);
	tc = tcase_create("numbers");
	tcase_add_test(tc, number_reader_matches_strtod_on_hard_cases);
	tcase_add_test(tc, number_reader_matches_strtod_on_random_doubles);
	tcase_add_test(tc, number_reader_refuses_what_is_no_json_number);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fixture_main("npy/cases.json", &fixtures, npy_suite);
}
