/* POST /init over HTTP against the real daemon: the contract example equals
 * numpy's numbers (tests/fixtures/init_numpy.json), a 2M-parameter network
 * comes back whole, and errors arrive as problem+json with pointers. */
#include <check.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/init.h"
#include "core/rng.h"
#include "tests/lib/harness.h"

static cJSON *fx;

static cJSON *load_fixture(const char *name)
{
	const char *dir = getenv("GG_FIXTURES");
	char path[512];
	FILE *f;
	char *text = NULL;
	long n;
	cJSON *root = NULL;

	snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/fixtures",
		 name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)n)) &&
	    fread(text, 1, (size_t)n, f) == (size_t)n)
		root = cJSON_ParseWithLength(text, (size_t)n);
	free(text);
	fclose(f);
	return root;
}

static void start(struct gg_server *s)
{
	ck_assert_msg(gg_server_start(s, NULL) == 0, "daemon did not start "
		      "(GRADGUARD_BIN=%s)", getenv("GRADGUARD_BIN"));
}

/* POST /init; asserts the status and the content type; returns the JSON. */
static cJSON *post(const struct gg_server *s, const char *body, long want)
{
	struct gg_response r;
	cJSON *j;

	ck_assert_int_eq(gg_post_json(s, "/init", body, &r), 0);
	ck_assert_msg(r.status == want, "status %ld want %ld: %.300s", r.status,
		      want, r.body);
	ck_assert_str_eq(r.content_type, want >= 400 ? "application/problem+json"
						     : "application/json");
	j = gg_response_json(&r);
	ck_assert_msg(j != NULL, "not JSON: %.300s", r.body);
	gg_response_free(&r);
	return j;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(v != NULL, "no '%s'", k);
	return v;
}

static void assert_same_matrix(const cJSON *a, const cJSON *b)
{
	const cJSON *ra, *rb = b->child, *xa, *xb;
	int n = 0;

	ck_assert_int_eq(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
	cJSON_ArrayForEach(ra, a) {
		ck_assert_int_eq(cJSON_GetArraySize(ra), cJSON_GetArraySize(rb));
		xb = rb->child;
		cJSON_ArrayForEach(xa, ra) {
			ck_assert_msg(xa->valuedouble == xb->valuedouble,
				      "entry %d: %.17g != numpy %.17g", n,
				      xa->valuedouble, xb->valuedouble);
			xb = xb->next;
			n++;
		}
		rb = rb->next;
	}
}

START_TEST(contract_example_over_http_equals_numpy)
{
	struct gg_server s;
	const cJSON *c, *want = NULL;
	cJSON *r;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(fx, "exact_cases")) {
		char *t = cJSON_PrintUnformatted(get(c, "request"));

		if (strcmp(t, "{\"layer_dims\":[2,4,1],\"method\":\"he\",\"seed\":3}") == 0)
			want = get(c, "parameters");
		free(t);
	}
	ck_assert_ptr_nonnull(want);
	start(&s);
	r = post(&s, "{\"layer_dims\": [2, 4, 1], \"method\": \"he\", \"seed\": 3}", 200);
	assert_same_matrix(get(get(r, "parameters"), "W1"), get(want, "W1"));
	assert_same_matrix(get(get(r, "parameters"), "W2"), get(want, "W2"));
	ck_assert_double_eq(get(r, "seed")->valuedouble, 3);
	ck_assert_double_eq_tol(cJSON_GetArrayItem(cJSON_GetArrayItem(
		get(get(r, "parameters"), "W1"), 0), 0)->valuedouble, 1.78862847, 5e-9);
	cJSON_Delete(r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* Reads the rows x cols matrix after "\"<key>\":" with strtod (a cJSON
 * tree of 2M numbers costs hundreds of MB under ASan); compares with want. */
static void assert_text_matrix(const char *text, const char *key,
			       const double *want, size_t rows, size_t cols)
{
	char pat[32], why[160] = "";
	const char *q;
	char *end;

	snprintf(pat, sizeof pat, "\"%s\":[", key);
	q = strstr(text, pat);
	ck_assert_msg(q != NULL, "no %s in the response", key);
	q += strlen(pat);
	for (size_t i = 0; i < rows && !why[0]; i++) {
		if (*q++ != '[') {
			snprintf(why, sizeof why, "row %zu does not start with [", i);
			break;
		}
		for (size_t j = 0; j < cols; j++) {
			double v = strtod(q, &end);

			if (end == q || v != want[i * cols + j] ||
			    *end != (j + 1 < cols ? ',' : ']')) {
				snprintf(why, sizeof why, "[%zu][%zu] reads %.17g, want %.17g",
					 i, j, v, want[i * cols + j]);
				break;
			}
			q = end + 1;
		}
		if (!why[0] && *q++ != (i + 1 < rows ? ',' : ']'))
			snprintf(why, sizeof why, "row %zu is not followed by , or ]", i);
	}
	ck_assert_msg(!why[0], "%s: %s", key, why);
}

START_TEST(two_million_parameters_come_back_whole)
{
	static const size_t dims[] = { 1000, 1000, 1000, 10 };
	struct init_spec spec = { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, 0 };
	double *w = malloc(1000000 * sizeof *w);
	struct gg_server s;
	struct gg_response r;
	struct rng rng;

	ck_assert_ptr_nonnull(w);
	start(&s);
	ck_assert_int_eq(gg_post_json(&s, "/init",
				      "{\"layer_dims\": [1000, 1000, 1000, 10], \"seed\": 1, "
				      "\"diagnose\": {\"activation\": \"relu\", \"batch\": 64}}",
				      &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "application/json");
	rng_seed(&rng, RNG_NUMPY, 1);
	for (size_t l = 1; l <= 3; l++) {
		char key[8];

		init_layer(&spec, &rng, dims[l], dims[l - 1], w, NULL);
		snprintf(key, sizeof key, "W%zu", l);
		assert_text_matrix(r.body, key, w, dims[l], dims[l - 1]);
	}
	ck_assert_ptr_nonnull(strstr(r.body, "\"verdict\":\"stable\""));
	gg_response_free(&r);
	free(w);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

START_TEST(bad_fields_come_back_as_problems_with_pointers)
{
	struct gg_server s;
	cJSON *r;
	const cJSON *e;

	start(&s);
	r = post(&s, "{\"layer_dims\": [2, 4, 0], \"seed\": 4294967296}", 422);
	ck_assert_double_eq(get(r, "status")->valuedouble, 422);
	e = get(r, "errors");
	ck_assert_int_eq(cJSON_GetArraySize(e), 2);
	ck_assert_str_eq(get(cJSON_GetArrayItem(e, 0), "pointer")->valuestring, "/layer_dims/2");
	ck_assert_str_eq(get(cJSON_GetArrayItem(e, 1), "pointer")->valuestring, "/seed");
	cJSON_Delete(r);
	r = post(&s, "{\"layer_dims\": [2, 20000]}", 413);
	ck_assert_str_eq(get(cJSON_GetArrayItem(get(r, "errors"), 0), "pointer")->valuestring,
			 "/layer_dims/1");
	cJSON_Delete(r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

static Suite *init_http_suite(void)
{
	Suite *s = suite_create("init_http");
	TCase *tc = tcase_create("http");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, contract_example_over_http_equals_numpy);
	tcase_add_test(tc, two_million_parameters_come_back_whole);
	tcase_add_test(tc, bad_fields_come_back_as_problems_with_pointers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	fx = load_fixture("init_numpy.json");
	if (!fx) {
		fprintf(stderr, "test_init_http: cannot load init_numpy.json (GG_FIXTURES)\n");
		return 1;
	}
	sr = srunner_create(init_http_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cJSON_Delete(fx);
	return failed ? 1 : 0;
}
