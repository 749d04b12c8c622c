/* Several gradguard processes sharing one Redis (--store redis://): 8
 * clients spread partial_fit calls over two replicas and nothing is lost;
 * Redis going away gives 503s (store routes, /readyz) and coming back
 * heals without a restart. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"
#include "tests/lib/redis.h"
#include "tests/lib/suite_run.h"

/* 8 clients x 25 requests x 16 rows x 3 features, over 2 replicas. */
enum { CLIENTS = 8, REQS = 25, ROWS = 16, FEAT = 3, REPLICAS = 2 };

static void start_redis(struct gg_redis *r, int port)
{
	ck_assert_msg(gg_redis_start(r, port) == 0,
		      "redis-server did not start (is it installed?)");
}

static void start(struct gg_server *s, const char *store)
{
	const char *args[] = { "--store", store, NULL };

	ck_assert_msg(gg_server_start(s, args) == 0, "daemon did not start "
		      "(GRADGUARD_BIN=%s)", getenv("GRADGUARD_BIN"));
}

/* One request; asserts the status; returns the JSON body (NULL if none). */
static cJSON *call(const struct gg_server *s, const char *method,
		   const char *path, const char *body, long want)
{
	struct gg_response r;
	cJSON *j = NULL;

	ck_assert_int_eq(gg_request(s, method, path, body ? "application/json"
							  : NULL,
				    body, body ? strlen(body) : 0, NULL, &r), 0);
	ck_assert_msg(r.status == want, "%s %s: status %ld want %ld: %s",
		      method, path, r.status, want, r.body);
	if (want >= 400)
		ck_assert_str_eq(r.content_type, "application/problem+json");
	if (r.body_len)
		j = gg_response_json(&r);
	gg_response_free(&r);
	return j;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(v != NULL, "no '%s'", k);
	return v;
}

static double at(const cJSON *arr, int i)
{
	const cJSON *v = cJSON_GetArrayItem(arr, i);

	ck_assert_msg(cJSON_IsNumber(v), "item %d not a number", i);
	return v->valuedouble;
}

static double rel(double a, double b)
{
	return a == b ? 0 : fabs(a - b) / fabs(b);
}

static double data_at(size_t row, size_t j)
{
	/* deterministic, irregular values around offsets 1e6 * j */
	uint64_t z = (row * FEAT + j + 1) * 0x9E3779B97F4A7C15u;

	z ^= z >> 29;
	z *= 0xBF58476D1CE4E5B9u;
	z ^= z >> 32;
	return 1e6 * (double)j + (double)(z >> 11) * 0x1p-53 * 10;
}

/* {"op":op,"session":session,"data":rows [first, first + n)} (%.17g). */
static char *op_body(const char *op, const char *session, size_t first,
		     size_t n)
{
	size_t cap = n * FEAT * 32 + 128, len = 0;
	char *b = malloc(cap);

	ck_assert_ptr_nonnull(b);
	len += (size_t)snprintf(b, cap, "{\"op\":\"%s\",\"session\":\"%s\","
				"\"data\":[", op, session);
	for (size_t i = first; i < first + n; i++) {
		len += (size_t)snprintf(b + len, cap - len, "%s[",
					i > first ? "," : "");
		for (size_t j = 0; j < FEAT; j++)
			len += (size_t)snprintf(b + len, cap - len, "%s%.17g",
						j ? "," : "", data_at(i, j));
		len += (size_t)snprintf(b + len, cap - len, "]");
	}
	snprintf(b + len, cap - len, "]}");
	return b;
}

struct client {
	const struct gg_server *replicas;  /* REPLICAS of them */
	int id;
	int failures;
	int sent[REPLICAS];
};

/* Request k of client id goes to replica (id + k) % 2: both replicas
 * merge into the same session at the same time. */
static void *client_main(void *arg)
{
	struct client *c = arg;

	for (int k = 0; k < REQS; k++) {
		size_t first = ((size_t)c->id * REQS + (size_t)k) * ROWS;
		char *body = op_body("partial_fit", "shared", first, ROWS);
		int rep = (c->id + k) % REPLICAS;
		struct gg_response r;

		if (gg_post_json(&c->replicas[rep], "/normalize", body, &r) ||
		    r.status != 200)
			c->failures++;
		else
			c->sent[rep]++;
		gg_response_free(&r);
		free(body);
	}
	return NULL;
}

START_TEST(replicas_share_one_session_and_lose_nothing)
{
	const size_t n_rows = (size_t)CLIENTS * REQS * ROWS;
	struct gg_redis redis;
	struct gg_server s[REPLICAS];
	struct client c[CLIENTS];
	pthread_t t[CLIENTS];
	int per_replica[REPLICAS] = { 0, 0 };
	char *body;
	cJSON *want;

	start_redis(&redis, 0);
	for (int i = 0; i < REPLICAS; i++)
		start(&s[i], redis.url);
	ck_assert_int_ne(s[0].port, s[1].port);
	for (int k = 0; k < CLIENTS; k++) {
		memset(&c[k], 0, sizeof(c[k]));
		c[k].replicas = s;
		c[k].id = k;
		ck_assert_int_eq(pthread_create(&t[k], NULL, client_main, &c[k]),
				 0);
	}
	for (int k = 0; k < CLIENTS; k++) {
		pthread_join(t[k], NULL);
		ck_assert_int_eq(c[k].failures, 0);
		for (int i = 0; i < REPLICAS; i++)
			per_replica[i] += c[k].sent[i];
	}
	ck_assert_int_eq(per_replica[0], CLIENTS * REQS / 2);
	ck_assert_int_eq(per_replica[1], CLIENTS * REQS / 2);
	/* the reference: one fit of every row, in its own session */
	body = op_body("fit", "reference", 0, n_rows);
	want = call(&s[0], "POST", "/normalize", body, 200);
	free(body);
	for (int i = 0; i < REPLICAS; i++) {
		cJSON *got = call(&s[i], "GET", "/sessions/shared", NULL, 200);

		ck_assert_double_eq(get(got, "n_samples_seen")->valuedouble,
				    (double)n_rows);
		for (int j = 0; j < FEAT; j++) {
			double gm = at(get(got, "mean"), j);
			double wm = at(get(want, "mean"), j);
			double gv = at(get(got, "var"), j);
			double wv = at(get(want, "var"), j);

			ck_assert_msg(rel(gm, wm) < 1e-12,
				      "replica %d mean[%d] %.17g vs %.17g", i,
				      j, gm, wm);
			ck_assert_msg(rel(gv, wv) < 1e-12,
				      "replica %d var[%d] %.17g vs %.17g", i, j,
				      gv, wv);
		}
		cJSON_Delete(got);
	}
	cJSON_Delete(want);
	/* a delete on one replica is seen by the other */
	ck_assert_ptr_null(call(&s[1], "DELETE", "/sessions/shared", NULL, 204));
	cJSON_Delete(call(&s[0], "GET", "/sessions/shared", NULL, 404));
	for (int i = 0; i < REPLICAS; i++)
		ck_assert_int_eq(gg_server_stop(&s[i]), 0);
	ck_assert_int_eq(gg_redis_stop(&redis), 0);
}
END_TEST

static const char init_body[] = "{\"layer_dims\":[3,2],\"seed\":1}";

START_TEST(replica_answers_503_while_redis_is_down_then_heals)
{
	struct gg_redis redis;
	struct gg_server s;
	char *body = op_body("partial_fit", "heal", 0, ROWS);
	cJSON *j;

	start_redis(&redis, 0);
	start(&s, redis.url);
	cJSON_Delete(call(&s, "GET", "/readyz", NULL, 200));
	cJSON_Delete(call(&s, "POST", "/normalize", body, 200));
	ck_assert_int_eq(gg_redis_stop(&redis), 0);
	/* store routes and readiness say 503; stateless routes still work */
	j = call(&s, "POST", "/normalize", body, 503);
	ck_assert_str_eq(get(j, "type")->valuestring + strlen(
				 get(j, "type")->valuestring) -
				 strlen("store-unavailable"),
			 "store-unavailable");
	cJSON_Delete(j);
	cJSON_Delete(call(&s, "GET", "/sessions/heal", NULL, 503));
	cJSON_Delete(call(&s, "GET", "/readyz", NULL, 503));
	cJSON_Delete(call(&s, "GET", "/healthz", NULL, 200));
	cJSON_Delete(call(&s, "POST", "/init", init_body, 200));
	/* Redis back on the same port (empty: no persistence): 200s again,
	 * same process */
	start_redis(&redis, redis.port);
	cJSON_Delete(call(&s, "GET", "/readyz", NULL, 200));
	cJSON_Delete(call(&s, "GET", "/sessions/heal", NULL, 404));
	j = call(&s, "POST", "/normalize", body, 200);
	ck_assert_double_eq(get(j, "n_samples_seen")->valuedouble, ROWS);
	cJSON_Delete(j);
	free(body);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	ck_assert_int_eq(gg_redis_stop(&redis), 0);
}
END_TEST

START_TEST(replica_starts_before_redis)
{
	struct gg_redis redis;
	struct gg_server s;
	char *body = op_body("partial_fit", "early", 0, ROWS);

	/* a port where no Redis listens yet */
	start_redis(&redis, 0);
	ck_assert_int_eq(gg_redis_stop(&redis), 0);
	start(&s, redis.url);
	cJSON_Delete(call(&s, "GET", "/readyz", NULL, 503));
	cJSON_Delete(call(&s, "POST", "/normalize", body, 503));
	start_redis(&redis, redis.port);
	cJSON_Delete(call(&s, "GET", "/readyz", NULL, 200));
	cJSON_Delete(call(&s, "POST", "/normalize", body, 200));
	free(body);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	ck_assert_int_eq(gg_redis_stop(&redis), 0);
}
END_TEST

static Suite *replicas_suite(void)
{
	Suite *s = suite_create("replicas");
	TCase *conc = tcase_create("concurrency");
	TCase *fail = tcase_create("failures");

	tcase_set_timeout(conc, 120);
	tcase_set_timeout(fail, 60);
	tcase_add_test(conc, replicas_share_one_session_and_lose_nothing);
	tcase_add_test(fail, replica_answers_503_while_redis_is_down_then_heals);
	tcase_add_test(fail, replica_starts_before_redis);
	suite_add_tcase(s, conc);
	suite_add_tcase(s, fail);
	return s;
}

int main(void)
{
	return suite_run(replicas_suite());
}
