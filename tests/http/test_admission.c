/* Admission control over real HTTP: with the one worker busy and the one
 * queue slot taken by slow gradient checks, light requests (/healthz,
 * /readyz, /metrics, /openapi.json, /sessions/{id}) still answer at once and
 * heavy ones get 429 + Retry-After; a request's deadline_ms is capped by
 * --deadline-ms. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"
#include "tests/lib/suite_run.h"

#define JSON "application/json"
#define PROBLEM_JSON "application/problem+json"
/* A cheap heavy-route request: vector mode only compares. */
#define SMALL_CHECK "{\"vector\":{\"gradient\":[1,2],\"numeric_gradient\":" \
	"[1,2]}}"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A model-mode check of a [256,128,128,10] network on 256 samples:
 * 101396 cost evaluations, over ten seconds of work; deadline_ms bounds
 * it. */
static char *slow_check_body(long deadline_ms, size_t *out_len)
{
	static const int dims[] = {256, 128, 128, 10};
	const int m = 256;
	size_t cap = 4u << 20, len = 0;
	char *b = malloc(cap);

#define PUT(...) (len += (size_t)snprintf(b + len, cap - len, __VA_ARGS__))
	ck_assert_ptr_nonnull(b);
	PUT("{\"model\":{\"layer_dims\":[256,128,128,10],\"activations\":"
	    "[\"relu\",\"relu\",\"sigmoid\"],\"loss\":\"binary_cross_entropy"
	    "\"},\"layout\":\"samples_in_columns\",\"deadline_ms\":%ld,"
	    "\"parameters\":{", deadline_ms);
	for (int l = 1; l < 4; l++) {
		PUT("%s\"W%d\":[", l > 1 ? "," : "", l);
		for (int i = 0; i < dims[l]; i++) {
			PUT("%s[", i ? "," : "");
			for (int j = 0; j < dims[l - 1]; j++)
				PUT("%s%.2f", j ? "," : "",
				    ((i * 7 + j * 3) % 13 - 6) * 0.01);
			PUT("]");
		}
		PUT("],\"b%d\":[", l);
		for (int i = 0; i < dims[l]; i++)
			PUT("%s[0]", i ? "," : "");
		PUT("]");
	}
	PUT("},\"X\":[");
	for (int i = 0; i < dims[0]; i++) {
		PUT("%s[", i ? "," : "");
		for (int j = 0; j < m; j++)
			PUT("%s%.1f", j ? "," : "", ((i + j) % 5) * 0.1);
		PUT("]");
	}
	PUT("],\"Y\":[");
	for (int i = 0; i < dims[3]; i++) {
		PUT("%s[", i ? "," : "");
		for (int j = 0; j < m; j++)
			PUT("%s%d", j ? "," : "", i == j % 10);
		PUT("]");
	}
	PUT("]}");
#undef PUT
	ck_assert_uint_lt(len, cap - 1);
	*out_len = len;
	return b;
}

struct call {
	const struct gg_server *s;
	const char *body;
	size_t len;
	struct gg_response r;
	long long ms;            /* time to the answer */
};

static void *post_check(void *arg)
{
	struct call *c = arg;
	long long t0 = now_ms();

	gg_request(c->s, "POST", "/gradcheck", JSON, c->body, c->len, NULL,
		   &c->r);
	c->ms = now_ms() - t0;
	return NULL;
}

/* The value of an unlabelled metric line "name V", or -1. */
static const char *problem_type(const struct gg_response *r, char *out,
				size_t n)
{
	cJSON *j = gg_response_json(r), *t;

	out[0] = '\0';
	t = j ? cJSON_GetObjectItemCaseSensitive(j, "type") : NULL;
	if (cJSON_IsString(t))
		snprintf(out, n, "%s", t->valuestring);
	cJSON_Delete(j);
	return out;
}

static const struct {
	const char *method, *body;
	long status;
} light_store[] = {
	{"GET", NULL, 404},
	{"PUT", "{\"n_samples_seen\":2,\"mean\":[1],\"var\":[4]}", 201},
	{"GET", NULL, 200},
	{"DELETE", NULL, 204},
};

START_TEST(light_requests_pass_a_full_queue_and_heavy_ones_get_429)
{
	static const char *const light[] = {
		"/healthz", "/readyz", "/metrics", "/openapi.json", "/",
	};
	struct gg_server s;
	struct gg_response r;
	struct call calls[2];
	pthread_t th[2];
	size_t len;
	char *body = slow_check_body(2000, &len), type[128];
	long long until;
	bool full = false;

	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--workers", "1", "--queue", "1", NULL}), 0);
	ck_assert(http_metric(&s, "gradguard_queue_capacity") == 1);
	/* one after the other: the worker takes the first, the second
	 * waits in the queue (submitted together, the second could find
	 * the first still in the one slot) */
	until = now_ms() + 10000;
	for (int i = 0; i < 2; i++) {
		calls[i] = (struct call){&s, body, len, {0}, 0};
		pthread_create(&th[i], NULL, post_check, &calls[i]);
		full = false;
		while (!full && now_ms() < until)
			full = http_metric(&s, "gradguard_workers_busy") == 1 &&
			       http_metric(&s, "gradguard_queue_depth") == i;
		ck_assert_msg(full, "call %d never reached the pool", i);
	}

	for (size_t i = 0; i < sizeof(light) / sizeof(*light); i++) {
		long long t0 = now_ms();

		gg_request(&s, "GET", light[i], NULL, NULL, 0, NULL, &r);
		ck_assert_msg(r.status == 200, "%s: %ld", light[i], r.status);
		ck_assert_msg(now_ms() - t0 < 2000, "%s took %lld ms",
			      light[i], now_ms() - t0);
		gg_response_free(&r);
	}
	/* session reads and writes have their own small pool */
	for (size_t i = 0; i < sizeof(light_store) / sizeof(*light_store);
	     i++) {
		long long t0 = now_ms();
		const char *put = light_store[i].body;

		gg_request(&s, light_store[i].method, "/sessions/light",
			   put ? JSON : NULL, put, put ? strlen(put) : 0, NULL,
			   &r);
		ck_assert_msg(r.status == light_store[i].status, "%s: %ld %s",
			      light_store[i].method, r.status, r.body);
		ck_assert_msg(now_ms() - t0 < 2000, "%s took %lld ms",
			      light_store[i].method, now_ms() - t0);
		gg_response_free(&r);
	}
	/* a small /normalize is light work too (ROUTE_LIGHT_SMALL) */
	{
		long long t0 = now_ms();

		gg_post_json(&s, "/normalize", "{\"op\": \"fit_transform\", "
			     "\"data\": [[1, 2], [3, 5]]}", &r);
		ck_assert_msg(r.status == 200, "normalize: %ld %s", r.status,
			      r.body);
		ck_assert_msg(now_ms() - t0 < 2000, "normalize took %lld ms",
			      now_ms() - t0);
		gg_response_free(&r);
	}
	gg_post_json(&s, "/gradcheck", SMALL_CHECK, &r);
	ck_assert_msg(r.status == 429, "%ld: %s", r.status, r.body);
	ck_assert_str_eq(r.retry_after, "1");
	ck_assert_str_eq(r.content_type, PROBLEM_JSON);
	ck_assert_str_eq(problem_type(&r, type, sizeof(type)),
			 "/problems/overloaded");
	gg_response_free(&r);
	ck_assert(http_metric(&s, "gradguard_rejected_total{reason=\"overloaded\"}")
		  == 1);
	/* all of the above happened while the pool was full */
	ck_assert(http_metric(&s, "gradguard_workers_busy") == 1);
	ck_assert(http_metric(&s, "gradguard_queue_depth") == 1);

	/* both slow checks end at their deadline_ms (counted from when
	 * their work starts: the second one runs after the first), then the
	 * pool serves again */
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(calls[i].r.status == 504, "call %d: %ld %s", i,
			      calls[i].r.status, calls[i].r.body);
		ck_assert_str_eq(problem_type(&calls[i].r, type, sizeof(type)),
				 "/problems/deadline-exceeded");
		ck_assert_msg(calls[i].ms < 10000, "call %d took %lld ms", i,
			      calls[i].ms);
		gg_response_free(&calls[i].r);
	}
	ck_assert_int_eq(gg_post_json(&s, "/gradcheck", SMALL_CHECK, &r), 0);
	ck_assert_msg(r.status == 200, "%ld: %s", r.status, r.body);
	gg_response_free(&r);
	/* the worker counts itself idle just after it hands the answer back */
	until = now_ms() + 5000;
	while (http_metric(&s, "gradguard_workers_busy") != 0 && now_ms() < until)
		;
	ck_assert(http_metric(&s, "gradguard_workers_busy") == 0);
	ck_assert(http_metric(&s, "gradguard_queue_depth") == 0);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	free(body);
}
END_TEST

/* Four slow gradient checks on 2 workers (both busy, two waiting) and a
 * small /init still answers at once: it is light work with its own
 * workers. Each try must answer within SMALL_INIT_MAX_MS (on a compute
 * queue it would wait for a check, seconds) and the best of
 * SMALL_INIT_TRIES within SMALL_INIT_MS (a loaded machine may delay any
 * one of them). A large /init still goes to the compute queue. */
#define SMALL_INIT_TRIES 5
#define SMALL_INIT_MS 100
#define SMALL_INIT_MAX_MS 2000
#define HEAVY_CHECKS 4
/* 40,200 parameters: over the light limit of /init (16,384) */
#define LARGE_INIT "{\"layer_dims\": [200, 200], \"seed\": 1}"

static void *post_init(void *arg)
{
	struct call *c = arg;

	gg_request(c->s, "POST", "/init", JSON, c->body, c->len, NULL, &c->r);
	return NULL;
}

START_TEST(a_small_init_never_waits_behind_gradient_checks)
{
	struct gg_server s;
	struct gg_response r;
	pthread_t th[HEAVY_CHECKS], big_th;
	struct call calls[HEAVY_CHECKS], big;
	size_t len;
	char *body = slow_check_body(8000, &len);
	long long until, best = -1;
	bool full = false;

	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--workers", "2", NULL}), 0);
	for (int i = 0; i < HEAVY_CHECKS; i++) {
		calls[i] = (struct call){&s, body, len, {0}, 0};
		pthread_create(&th[i], NULL, post_check, &calls[i]);
	}
	until = now_ms() + 20000;
	while (!full && now_ms() < until)
		full = http_metric(&s, "gradguard_workers_busy") == 2 &&
		       http_metric(&s, "gradguard_queue_depth") ==
			       HEAVY_CHECKS - 2;
	ck_assert_msg(full, "the checks never filled the workers");
	for (int i = 0; i < SMALL_INIT_TRIES; i++) {
		long long t0 = now_ms(), dt;

		gg_post_json(&s, "/init", "{\"layer_dims\": [2, 3, 1], "
			     "\"seed\": 1}", &r);
		dt = now_ms() - t0;
		ck_assert_msg(r.status == 200, "init: %ld %s", r.status, r.body);
		gg_response_free(&r);
		ck_assert_msg(dt < SMALL_INIT_MAX_MS, "a small /init took %lld "
			      "ms behind gradient checks", dt);
		best = best < 0 || dt < best ? dt : best;
	}
	fprintf(stderr, "admission: small /init in %lld ms (best of %d) "
		"behind %d checks on 2 workers\n", best, SMALL_INIT_TRIES,
		HEAVY_CHECKS);
	ck_assert_msg(best < SMALL_INIT_MS, "a small /init took %lld ms", best);
	/* still during the checks: a large /init is compute work, queued */
	big = (struct call){&s, LARGE_INIT, strlen(LARGE_INIT), {0}, 0};
	pthread_create(&big_th, NULL, post_init, &big);
	full = false;
	until = now_ms() + 20000;
	while (!full && now_ms() < until)
		full = http_metric(&s, "gradguard_queue_depth") ==
		       HEAVY_CHECKS - 2 + 1;
	ck_assert_msg(full, "the large /init did not queue for a worker");
	pthread_join(big_th, NULL);
	ck_assert_msg(big.r.status == 200, "large init: %ld", big.r.status);
	gg_response_free(&big.r);
	for (int i = 0; i < HEAVY_CHECKS; i++) {
		pthread_join(th[i], NULL);
		gg_response_free(&calls[i].r);
	}
	ck_assert_int_eq(gg_server_stop(&s), 0);
	free(body);
}
END_TEST

/* --deadline-ms is the largest deadline: a request asking for ten minutes
 * gets the server's 300 ms. */
START_TEST(request_deadline_is_capped_by_the_server_limit)
{
	struct gg_server s;
	struct call c;
	size_t len;
	char *body = slow_check_body(600000, &len), type[128];
	cJSON *j;

	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--deadline-ms", "300", NULL}), 0);
	c = (struct call){&s, body, len, {0}, 0};
	post_check(&c);
	ck_assert_msg(c.r.status == 504, "%ld: %s", c.r.status, c.r.body);
	ck_assert_str_eq(problem_type(&c.r, type, sizeof(type)),
			 "/problems/deadline-exceeded");
	j = gg_response_json(&c.r);
	ck_assert_msg(strstr(cJSON_GetObjectItemCaseSensitive(j, "detail")
				     ->valuestring, "300"), "%s", c.r.body);
	cJSON_Delete(j);
	/* the work stopped near the cap, not after ten seconds */
	ck_assert_msg(c.ms < 5000, "took %lld ms", c.ms);
	gg_response_free(&c.r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	free(body);
}
END_TEST

static Suite *admission_suite(void)
{
	Suite *s = suite_create("admission");
	TCase *tc = tcase_create("admission");

	tcase_add_test(tc,
		light_requests_pass_a_full_queue_and_heavy_ones_get_429);
	tcase_add_test(tc, request_deadline_is_capped_by_the_server_limit);
	tcase_add_test(tc, a_small_init_never_waits_behind_gradient_checks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(admission_suite());
}
