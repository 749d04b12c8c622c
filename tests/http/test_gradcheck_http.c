/* POST /gradcheck over HTTP against the real daemon: one small check end to
 * end, a refusal as problem+json, and /healthz answering promptly while a
 * long check occupies a worker. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"
#include "tests/lib/oracle_server.h"
#include "tests/lib/suite_run.h"

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(v != NULL, "no '%s'", k);
	return v;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* tanh -> sigmoid with BCE; gradients hand-checked elsewhere, here the
 * service checks its own back-propagation. */
static const char small[] =
	"{\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": [\"tanh\", \"sigmoid\"],"
	" \"loss\": \"binary_cross_entropy\", \"l2\": 0.1},"
	" \"X\": [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]], \"Y\": [1, 0, 1],"
	" \"parameters\": {\"W1\": [[0.1, 0.2], [-0.3, 0.4], [0.5, 0.6]], \"b1\": [0, 0.1, 0],"
	" \"W2\": [[0.2, -0.1, 0.3]], \"b2\": [[0.05]]}, \"epsilon\": 1e-6,"
	" \"return_gradients\": true}";

START_TEST(http_small_check_passes_end_to_end)
{
	struct gg_server s;
	struct gg_response r;
	cJSON *j;

	http_start(&s, NULL);
	ck_assert_int_eq(gg_post_json(&s, "/gradcheck", small, &r), 0);
	ck_assert_msg(r.status == 200, "status %ld: %s", r.status, r.body);
	ck_assert_str_eq(r.content_type, "application/json");
	j = gg_response_json(&r);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(get(j, "verdict")->valuestring, "pass");
	ck_assert_int_eq(get(j, "n_parameters")->valueint, 13);
	ck_assert_int_eq(get(j, "evaluations")->valueint, 26);
	ck_assert_int_eq(cJSON_GetArraySize(get(get(j, "gradients"), "db1")), 3);
	cJSON_Delete(j);
	gg_response_free(&r);
	ck_assert_int_eq(gg_post_json(&s, "/gradcheck",
				      "{\"vector\": {\"gradient\": [1], \"numeric_gradient\": [1, 2]}}",
				      &r), 0);
	ck_assert_int_eq(r.status, 422);
	ck_assert_str_eq(r.content_type, "application/problem+json");
	ck_assert_ptr_nonnull(strstr(r.body, "/vector/numeric_gradient"));
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* POSTs an "epsilon": "auto" check that must pass; asserts the answer
 * says "auto", that its largest step is max_abs_theta * cbrt(u), and that
 * the overall noise floor is a number. Returns the answer (cJSON_Delete). */
static cJSON *post_auto_pass(const struct gg_server *s, const char *body,
			     double max_abs_theta)
{
	struct gg_response r;
	cJSON *j;

	ck_assert_int_eq(gg_post_json(s, "/gradcheck", body, &r), 0);
	ck_assert_msg(r.status == 200, "status %ld: %s", r.status, r.body);
	j = gg_response_json(&r);
	gg_response_free(&r);
	ck_assert_str_eq(get(j, "verdict")->valuestring, "pass");
	ck_assert_str_eq(get(j, "epsilon")->valuestring, "auto");
	ck_assert_double_eq_tol(cJSON_GetArrayItem(get(j, "epsilon_range"), 1)->valuedouble,
				max_abs_theta * 4.806217383937352e-06, 1e-18);
	ck_assert(cJSON_IsNumber(get(j, "noise_floor")));
	return j;
}

/* Integer labels for a softmax output, "epsilon": "auto" and directions:
 * the v1.1 fields over HTTP (and recorded for the OpenAPI validation). */
static const char labels_auto[] =
	"{\"model\": {\"layer_dims\": [2, 4, 3], \"activations\": [\"tanh\", \"softmax\"],"
	" \"loss\": \"categorical_cross_entropy\"},"
	" \"X\": [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]], \"Y\": [2, 0, 1],"
	" \"parameters\": {\"W1\": [[0.1, 0.2], [-0.3, 0.4], [0.5, 0.6], [0.7, -0.2]],"
	" \"b1\": [0, 0.1, 0, 0], \"W2\": [[0.2, -0.1, 0.3, 1.5], [0.1, 0.1, -0.4, 0], [0, 0.3, 0.2, -0.6]],"
	" \"b2\": [0.05, 0, -0.05]}, \"epsilon\": \"auto\"";

START_TEST(http_labels_auto_epsilon_and_directions)
{
	struct gg_server s;
	struct gg_response r;
	char body[1024];
	const cJSON *w;
	cJSON *j;

	http_start(&s, NULL);
	snprintf(body, sizeof(body), "%s}", labels_auto);
	/* the largest |theta_i| is 1.5: steps from cbrt(u) to 1.5 cbrt(u) */
	j = post_auto_pass(&s, body, 1.5);
	ck_assert(cJSON_IsNumber(get(get(j, "blocks")->child, "noise_floor")));
	cJSON_Delete(j);
	snprintf(body, sizeof(body), "%s, \"check\": {\"directions\": 8, \"seed\": 2}}",
		 labels_auto);
	ck_assert_int_eq(gg_post_json(&s, "/gradcheck", body, &r), 0);
	ck_assert_msg(r.status == 200, "status %ld: %s", r.status, r.body);
	j = gg_response_json(&r);
	cJSON_ArrayForEach(w, get(j, "worst")) {
		ck_assert(cJSON_IsNumber(get(w, "direction")));
		ck_assert(!cJSON_HasObjectItem(w, "index"));
	}
	cJSON_Delete(j);
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* "epsilon": "auto" through an oracle: per-coordinate steps reach the
 * client as [i, delta] perturbations, per-block steps as points; the cost
 * is known, so the noise floors are numbers. */
START_TEST(http_oracle_auto_epsilon)
{
	static const char *const checks[] = {"", ", \"check\": {\"directions\": 4, \"seed\": 1}"};
	struct oracle_server *os;
	struct gg_server s;
	unsigned port;
	double t[12], g[12];
	char body[2048];
	size_t len;

	for (int i = 0; i < 12; i++)
		t[i] = 0.3 * (double)(i % 5) - 0.4 + (i == 7 ? 2.5 : 0);
	oracle_test_grad(t, 12, g);
	ck_assert_int_eq(oracle_server_start(&os, &port), 0);
	http_start(&s, NULL);
	for (size_t c = 0; c < 2; c++) {
		len = (size_t)snprintf(body, sizeof(body),
				       "{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\"}, "
				       "\"epsilon\": \"auto\"%s, \"theta\": [", port, checks[c]);
		for (int i = 0; i < 12; i++)
			len += (size_t)snprintf(body + len, sizeof(body) - len, "%s%.17g",
						i ? ", " : "", t[i]);
		len += (size_t)snprintf(body + len, sizeof(body) - len, "], \"gradient\": [");
		for (int i = 0; i < 12; i++)
			len += (size_t)snprintf(body + len, sizeof(body) - len, "%s%.17g",
						i ? ", " : "", g[i]);
		snprintf(body + len, sizeof(body) - len, "]}");
		/* theta[7] = 0.3 * 2 - 0.4 + 2.5 = 2.7: the largest step is 2.7 cbrt(u) */
		cJSON_Delete(post_auto_pass(&s, body, 2.7));
	}
	ck_assert_int_eq(gg_server_stop(&s), 0);
	oracle_server_stop(os);
}
END_TEST

struct long_call {
	const struct gg_server *s;
	char *body;
	long status;
	atomic_bool done;
};

static void *long_check(void *arg)
{
	struct long_call *lc = arg;
	struct gg_response r;

	gg_post_json(lc->s, "/gradcheck", lc->body, &r);
	lc->status = r.status;
	gg_response_free(&r);
	atomic_store(&lc->done, true);
	return NULL;
}

static double lcg(unsigned *v)
{
	*v = *v * 1103515245u + 12345u;
	return (double)((*v >> 8) & 0xffff) / 65536.0 - 0.5;
}

/* [4, 256, 256, 1] on 2000 samples: ~0.1 s per cost evaluation, 80 of
 * them, cut off by deadline_ms 1500 (504) unless a fast machine finishes. */
static char *long_body(void)
{
	size_t cap = 4u << 20, len = 0;
	char *b = malloc(cap);
	unsigned v = 12345;
	const size_t dims[] = {4, 256, 256, 1};

#define PUT(...) (len += (size_t)snprintf(b + len, cap - len, __VA_ARGS__))
	PUT("{\"model\": {\"layer_dims\": [4, 256, 256, 1], \"activations\": [\"tanh\", \"tanh\","
	    " \"sigmoid\"], \"loss\": \"binary_cross_entropy\"}, \"check\": {\"directions\": 40},"
	    " \"deadline_ms\": 1500, \"X\": [");
	for (int i = 0; i < 2000; i++) {
		double x0 = lcg(&v), x1 = lcg(&v), x2 = lcg(&v), x3 = lcg(&v);

		PUT("%s[%.3f, %.3f, %.3f, %.3f]", i ? "," : "", x0, x1, x2, x3);
	}
	PUT("], \"Y\": [");
	for (int i = 0; i < 2000; i++)
		PUT("%s%d", i ? "," : "", i % 2);
	PUT("], \"parameters\": {");
	for (int l = 1; l <= 3; l++) {
		PUT("%s\"W%d\": [", l > 1 ? "," : "", l);
		for (size_t r = 0; r < dims[l]; r++) {
			PUT("%s[", r ? "," : "");
			for (size_t c = 0; c < dims[l - 1]; c++)
				PUT("%s%.3f", c ? "," : "", lcg(&v) * 0.2);
			PUT("]");
		}
		PUT("], \"b%d\": [", l);
		for (size_t r = 0; r < dims[l]; r++)
			PUT("%s0", r ? "," : "");
		PUT("]");
	}
	PUT("}}");
#undef PUT
	ck_assert_uint_lt(len, cap - 1);
	return b;
}

START_TEST(http_healthz_answers_while_a_long_check_runs)
{
	struct gg_server s;
	struct long_call lc;
	pthread_t t;
	double t0;
	bool overlapped = false;

	http_start(&s, NULL);
	lc.s = &s;
	lc.body = long_body();
	lc.status = 0;
	atomic_init(&lc.done, false);
	t0 = now_ms();
	ck_assert_int_eq(pthread_create(&t, NULL, long_check, &lc), 0);
	/* poll until 300 ms into the check; every answer must come promptly */
	while (!atomic_load(&lc.done)) {
		struct gg_response r;
		double a = now_ms(), b;

		ck_assert_int_eq(gg_request(&s, "GET", "/healthz", NULL, NULL, 0, NULL, &r), 0);
		b = now_ms();
		ck_assert_int_eq(r.status, 200);
		gg_response_free(&r);
		ck_assert_msg(b - a < 1000, "/healthz took %.0f ms during a check", b - a);
		if (b - t0 >= 300 && !atomic_load(&lc.done)) {
			overlapped = true;
			break;
		}
	}
	pthread_join(t, NULL);
	ck_assert_msg(overlapped, "the check finished before /healthz could overlap it (status %ld)",
		      lc.status);
	ck_assert_msg(lc.status == 504 || lc.status == 200, "long check: %ld", lc.status);
	free(lc.body);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("gradcheck http");
	TCase *tc = tcase_create("http");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, http_small_check_passes_end_to_end);
	tcase_add_test(tc, http_labels_auto_epsilon_and_directions);
	tcase_add_test(tc, http_oracle_auto_epsilon);
	tcase_add_test(tc, http_healthz_answers_while_a_long_check_runs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(suite());
}
