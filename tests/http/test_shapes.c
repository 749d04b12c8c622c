/* One successful request per response shape the OpenAPI document describes:
 * /init for each method (with and without a diagnosis), /normalize for each
 * op (plus missing: ignore and report), /gradcheck for each source and check
 * mode (plus return_gradients). Under `make check` the harness records each
 * request with its response; tests/schema/check_shapes.py then asserts that
 * every shape was seen and validates against schemas/openapi.json. Here each
 * answer is checked for the fields that make its shape. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"
#include "tests/lib/oracle_server.h"
#include "tests/lib/suite_run.h"

static struct gg_server srv;
static struct oracle_server *oracle;
static unsigned oracle_port;
static int fixture_failures;

static void shared_start(void)
{
	if (oracle_server_start(&oracle, &oracle_port) != 0 ||
	    gg_server_start(&srv, NULL) != 0) {
		fprintf(stderr, "cannot start the daemon or the oracle\n");
		fixture_failures++;
	}
}

static void shared_stop(void)
{
	if (gg_server_stop(&srv) != 0)
		fixture_failures++;
	oracle_server_stop(oracle);
}

/* POSTs json to path, expects 200 and returns the parsed body. */
static cJSON *post_ok(const char *path, const char *json)
{
	struct gg_response r;
	cJSON *j;

	ck_assert_int_eq(gg_post_json(&srv, path, json, &r), 0);
	ck_assert_msg(r.status == 200, "%s %s: %ld %s", path, json, r.status,
		      r.body);
	j = gg_response_json(&r);
	ck_assert_msg(j != NULL, "%s: not JSON", path);
	gg_response_free(&r);
	return j;
}

static const char *const init_methods[] = {
	"zeros", "random", "he", "xavier", "glorot", "lecun", "orthogonal",
};

START_TEST(init_answers_each_method_with_and_without_a_diagnosis)
{
	char json[256];
	cJSON *j, *mode;

	for (int diag = 0; diag < 2; diag++) {
		snprintf(json, sizeof(json),
			 "{\"layer_dims\": [3, 4, 2], \"method\": \"%s\", "
			 "\"seed\": 5%s}", init_methods[_i],
			 diag ? ", \"diagnose\": {\"activation\": \"tanh\", "
				"\"batch\": 8}" : "");
		j = post_ok("/init", json);
		ck_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring,
				 init_methods[_i]);
		ck_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "parameters")));
		mode = cJSON_GetObjectItem(j, "mode");
		/* zeros, random and orthogonal use no fan: mode is null */
		ck_assert(mode != NULL);
		if (_i == 0 || _i == 1 || _i == 6)
			ck_assert(cJSON_IsNull(mode));
		else
			ck_assert(cJSON_IsString(mode));
		ck_assert(!cJSON_GetObjectItem(j, "diagnosis") == !diag);
		cJSON_Delete(j);
	}
}
END_TEST

static const char *const normalize_ops[] = {
	"fit", "partial_fit", "transform", "fit_transform", "inverse_transform",
};

START_TEST(normalize_answers_each_op)
{
	char json[512];
	cJSON *j;
	int transforms = _i >= 2;

	/* transform and inverse_transform need a fitted session */
	j = post_ok("/normalize", "{\"op\": \"fit\", \"session\": \"shapes\", "
		    "\"data\": [[1, 2], [3, 5], [4, 9]]}");
	cJSON_Delete(j);
	snprintf(json, sizeof(json), "{\"op\": \"%s\", \"session\": \"shapes\", "
		 "\"data\": [[2, 3], [5, 7]]}", normalize_ops[_i]);
	j = post_ok("/normalize", json);
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "session")));
	ck_assert(cJSON_IsArray(cJSON_GetObjectItem(j, "mean")));
	ck_assert_msg(!cJSON_GetObjectItem(j, "data") == !transforms,
		      "%s: data", normalize_ops[_i]);
	cJSON_Delete(j);
}
END_TEST

START_TEST(normalize_answers_missing_ignore_and_report)
{
	cJSON *j;

	j = post_ok("/normalize", "{\"op\": \"fit_transform\", \"missing\": "
		    "\"ignore\", \"data\": [[1, null], [2, 4], [3, 8]]}");
	/* counts differ per feature: an array */
	ck_assert(cJSON_IsArray(cJSON_GetObjectItem(j, "n_samples_seen")));
	ck_assert(cJSON_IsNull(cJSON_GetArrayItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(j, "data"), 0), 1)));
	cJSON_Delete(j);
	j = post_ok("/normalize", "{\"op\": \"fit\", \"report\": true, "
		    "\"data\": [[1, 100], [2, 300], [3, 200]]}");
	ck_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "conditioning")));
	cJSON_Delete(j);
}
END_TEST

#define MODEL_BODY \
	"\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": " \
	"[\"tanh\", \"sigmoid\"], \"loss\": \"binary_cross_entropy\"}, " \
	"\"parameters\": {\"W1\": [[0.5, -0.3], [0.8, 0.2], [-0.6, 0.4]], " \
	"\"b1\": [0.1, -0.1, 0.05], \"W2\": [[0.7, -0.5, 0.3]], \"b2\": [0.0]}, " \
	"\"X\": [[1.0, 2.0], [0.5, -1.0], [-1.5, 0.3]], \"Y\": [[1], [0], [1]]"

static const char *const check_modes[] = {
	"\"all\"", "{\"sample\": 5, \"seed\": 1}", "{\"directions\": 5, \"seed\": 1}",
};

START_TEST(gradcheck_model_answers_each_mode)
{
	char json[2048];
	cJSON *j;

	snprintf(json, sizeof(json), "{" MODEL_BODY ", \"check\": %s}",
		 check_modes[_i]);
	j = post_ok("/gradcheck", json);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "verdict")->valuestring, "pass");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "blocks")), 4);
	cJSON_Delete(j);
}
END_TEST

START_TEST(gradcheck_model_returns_its_gradients)
{
	cJSON *j = post_ok("/gradcheck", "{" MODEL_BODY
			   ", \"return_gradients\": true}");

	ck_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "gradients")));
	ck_assert(cJSON_IsArray(cJSON_GetObjectItem(
		cJSON_GetObjectItem(j, "gradients"), "dW2")));
	cJSON_Delete(j);
}
END_TEST

START_TEST(gradcheck_vector_answers_flat_and_named_blocks)
{
	cJSON *j;

	j = post_ok("/gradcheck", "{\"vector\": {\"gradient\": [1, 2, 3], "
		    "\"numeric_gradient\": [1, 2, 3]}}");
	ck_assert_str_eq(cJSON_GetObjectItem(j, "verdict")->valuestring, "pass");
	cJSON_Delete(j);
	j = post_ok("/gradcheck", "{\"vector\": {\"gradient\": {\"dW1\": [[1, 2]], "
		    "\"db1\": [3]}, \"numeric_gradient\": {\"dW1\": [[1, 2]], "
		    "\"db1\": [3.5]}}, \"check\": \"all\"}");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "blocks")), 2);
	cJSON_Delete(j);
}
END_TEST

START_TEST(gradcheck_oracle_answers_each_mode)
{
	double t[6] = {0.3, -0.2, 0.5, 1.0, -0.7, 0.1}, g[6];
	char json[2048];
	size_t len;
	cJSON *j;

	oracle_test_grad(t, 6, g);
	len = (size_t)snprintf(json, sizeof(json),
			       "{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\"}, "
			       "\"check\": %s, \"theta\": [", oracle_port,
			       check_modes[_i]);
	for (int i = 0; i < 6; i++)
		len += (size_t)snprintf(json + len, sizeof(json) - len, "%s%.17g",
					i ? ", " : "", t[i]);
	len += (size_t)snprintf(json + len, sizeof(json) - len, "], \"gradient\": [");
	for (int i = 0; i < 6; i++)
		len += (size_t)snprintf(json + len, sizeof(json) - len, "%s%.17g",
					i ? ", " : "", g[i]);
	snprintf(json + len, sizeof(json) - len, "], \"blocks\": [{\"name\": "
		 "\"A\", \"shape\": [2, 2]}, {\"name\": \"B\", \"shape\": [2]}]}");
	j = post_ok("/gradcheck", json);
	ck_assert_str_ne(cJSON_GetObjectItem(j, "verdict")->valuestring, "fail");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "blocks")), 2);
	cJSON_Delete(j);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("shapes");
	TCase *tc = tcase_create("shapes");

	tcase_add_unchecked_fixture(tc, shared_start, shared_stop);
	tcase_add_loop_test(tc, init_answers_each_method_with_and_without_a_diagnosis,
			    0, (int)(sizeof(init_methods) / sizeof(*init_methods)));
	tcase_add_loop_test(tc, normalize_answers_each_op, 0,
			    (int)(sizeof(normalize_ops) / sizeof(*normalize_ops)));
	tcase_add_test(tc, normalize_answers_missing_ignore_and_report);
	tcase_add_loop_test(tc, gradcheck_model_answers_each_mode, 0, 3);
	tcase_add_test(tc, gradcheck_model_returns_its_gradients);
	tcase_add_test(tc, gradcheck_vector_answers_flat_and_named_blocks);
	tcase_add_loop_test(tc, gradcheck_oracle_answers_each_mode, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc = suite_run(suite());

	return fixture_failures ? EXIT_FAILURE : rc;
}
