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
#include "tests/lib/expect.h"
#include "tests/lib/fixture.h"
#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"

static cJSON *fx;

/* POST /init; asserts the status and the content type; returns the JSON. */
static cJSON *post(const struct gg_server *s, const char *body, long want)
{
	return http_post(s, "/init", body, want,
			 want >= 400 ? HTTP_PROBLEM_JSON : HTTP_JSON);
}

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(v != NULL, "no '%s'", k);
	return v;
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
	http_start(&s, NULL);
	r = post(&s, "{\"layer_dims\": [2, 4, 1], \"method\": \"he\", \"seed\": 3}", 200);
	expect_same_matrix(get(get(r, "parameters"), "W1"), get(want, "W1"), "W1");
	expect_same_matrix(get(get(r, "parameters"), "W2"), get(want, "W2"), "W2");
	ck_assert_double_eq(get(r, "seed")->valuedouble, 3);
	ck_assert_double_eq_tol(cJSON_GetArrayItem(cJSON_GetArrayItem(
		get(get(r, "parameters"), "W1"), 0), 0)->valuedouble, 1.78862847, 5e-9);
	cJSON_Delete(r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

START_TEST(two_million_parameters_come_back_whole)
{
	static const size_t dims[] = { 1000, 1000, 1000, 10 };
	struct init_spec spec = { INIT_HE, INIT_NORMAL, INIT_MODE_NONE, 0 };
	double *w = malloc(1000000 * sizeof *w);
	struct gg_server s;
	struct gg_response r;
	struct rng rng;

	ck_assert_ptr_nonnull(w);
	http_start(&s, NULL);
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
		expect_text_matrix(r.body, key, w, dims[l], dims[l - 1]);
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

	http_start(&s, NULL);
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
	return fixture_main("init_numpy.json", &fx, init_http_suite);
}
