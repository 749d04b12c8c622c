/* /normalize and /sessions over HTTP against the real daemon: every op, the
 * README walk-through, 8 concurrent partial_fit clients on one session
 * (memory: and sqlite:), and durability across kill -9. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"
#include "tests/lib/suite_run.h"

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gg_http_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void start(struct gg_server *s, const char *store)
{
	const char *args[] = { "--store", store, NULL };

	http_start(s, args);
}

/* POST /normalize with body; asserts the status; returns the JSON. */
static cJSON *post(const struct gg_server *s, const char *body, long want)
{
	return http_post(s, "/normalize", body, want,
			 want >= 400 ? HTTP_PROBLEM_JSON : NULL);
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

START_TEST(http_every_op_answers)
{
	struct gg_server s;
	cJSON *j;

	start(&s, "memory:");
	j = post(&s, "{\"op\":\"fit\",\"session\":\"e\",\"data\":[[0,1],[2,3]]}",
		 200);
	ck_assert_double_eq(at(get(j, "mean"), 1), 2);
	cJSON_Delete(j);
	j = post(&s, "{\"op\":\"partial_fit\",\"session\":\"e\","
		 "\"data\":[[4,5],[6,7]]}", 200);
	ck_assert_double_eq(get(j, "n_samples_seen")->valuedouble, 4);
	ck_assert_double_eq(at(get(j, "mean"), 0), 3);
	ck_assert_double_eq(at(get(j, "var"), 0), 5);
	cJSON_Delete(j);
	j = post(&s, "{\"op\":\"transform\",\"session\":\"e\",\"data\":[[3,4]]}",
		 200);
	ck_assert_double_eq(at(get(j, "data")->child, 0), 0);
	cJSON_Delete(j);
	j = post(&s, "{\"op\":\"inverse_transform\",\"session\":\"e\","
		 "\"data\":[[0,1]]}", 200);
	ck_assert_double_eq(at(get(j, "data")->child, 0), 3);
	ck_assert_double_eq(at(get(j, "data")->child, 1), 4 + sqrt(5));
	cJSON_Delete(j);
	j = post(&s, "{\"op\":\"fit_transform\",\"data\":[[1],[3]]}", 200);
	ck_assert_double_eq(at(cJSON_GetArrayItem(get(j, "data"), 1), 0), 1);
	/* stateless: nothing stored */
	ck_assert(cJSON_IsNull(get(j, "session")));
	cJSON_Delete(j);
	j = post(&s, "{\"op\":\"fit\",\"data\":[[1],[3]]}", 200);
	ck_assert_uint_eq(strlen(get(j, "session")->valuestring), 22);
	ck_assert(cJSON_IsString(get(j, "expires_at")));
	cJSON_Delete(j);
	/* errors keep their problem types */
	j = post(&s, "{\"op\":\"transform\",\"session\":\"nope\",\"data\":[[1]]}",
		 404);
	ck_assert_str_eq(get(j, "type")->valuestring,
			 "/problems/session-not-found");
	cJSON_Delete(j);
	j = post(&s, "{\"op\":\"transform\",\"session\":\"e\",\"data\":[[1]]}",
		 422);
	ck_assert_str_eq(get(get(j, "errors")->child, "pointer")->valuestring,
			 "/data");
	cJSON_Delete(j);
	j = post(&s, "{\"op\":\"fit\",\"data\":[[1]],\"withmean\":false}", 422);
	ck_assert_str_eq(get(get(j, "errors")->child, "pointer")->valuestring,
			 "/withmean");
	cJSON_Delete(j);
	/* sessions as resources */
	j = http_call(&s, "PUT", "/sessions/imp",
		      "{\"n_samples_seen\":2,\"mean\":[1],\"var\":[4]}", 201, NULL);
	ck_assert_double_eq(at(get(j, "scale"), 0), 2);
	cJSON_Delete(j);
	j = http_call(&s, "GET", "/sessions/imp", NULL, 200, NULL);
	ck_assert_double_eq(at(get(j, "var"), 0), 4);
	ck_assert(cJSON_IsString(get(j, "created_at")));
	cJSON_Delete(j);
	ck_assert_ptr_null(http_call(&s, "DELETE", "/sessions/imp", NULL, 204, NULL));
	cJSON_Delete(http_call(&s, "GET", "/sessions/imp", NULL, 404, NULL));
	cJSON_Delete(http_call(&s, "DELETE", "/sessions/imp", NULL, 404, NULL));
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* The README walk-through: fit on the training set, transform the test set
 * with the same session, read the statistics back. */
START_TEST(http_readme_walk_through)
{
	struct gg_server s;
	cJSON *j;
	const cJSON *d;

	start(&s, "memory:");
	j = post(&s, "{\"op\":\"fit\",\"session\":\"housing\","
		 "\"data\":[[1200,3],[1500,4],[900,2],[1400,3]]}", 200);
	/* means 1250, 3; vars 52500, 0.5 */
	ck_assert_double_eq(at(get(j, "mean"), 0), 1250);
	ck_assert_double_eq(at(get(j, "var"), 0), 52500);
	ck_assert_double_eq(at(get(j, "var"), 1), 0.5);
	cJSON_Delete(j);
	j = post(&s, "{\"op\":\"transform\",\"session\":\"housing\","
		 "\"data\":[[1250,4],[1000,3]]}", 200);
	d = get(j, "data");
	ck_assert_double_eq(at(d->child, 0), 0);
	ck_assert_msg(rel(at(d->child, 1), 1 / sqrt(0.5)) < 1e-15, "z");
	ck_assert_msg(rel(at(d->child->next, 0), -250 / sqrt(52500)) < 1e-15,
		      "z");
	ck_assert_double_eq(get(j, "n_samples_seen")->valuedouble, 4);
	cJSON_Delete(j);
	j = http_call(&s, "GET", "/sessions/housing", NULL, 200, NULL);
	ck_assert_double_eq(at(get(j, "mean"), 1), 3);
	ck_assert_double_eq(get(j, "n_features")->valuedouble, 2);
	cJSON_Delete(j);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* ---- concurrency and durability --------------------------------------- */

enum { CLIENTS = 8, REQS = 6, ROWS = 12, FEAT = 3 };

static double data_at(size_t row, size_t j)
{
	/* deterministic, irregular values around offsets 1e6 * j */
	uint64_t z = (row * FEAT + j + 1) * 0x9E3779B97F4A7C15u;

	z ^= z >> 29;
	z *= 0xBF58476D1CE4E5B9u;
	z ^= z >> 32;
	return 1e6 * (double)j + (double)(z >> 11) * 0x1p-53 * 10;
}

/* A JSON matrix of rows [first, first + n) (%.17g: exact). */
static char *matrix_json(size_t first, size_t n)
{
	size_t cap = n * FEAT * 32 + 16, len = 0;
	char *b = malloc(cap);

	ck_assert_ptr_nonnull(b);
	len += (size_t)snprintf(b + len, cap - len, "[");
	for (size_t i = first; i < first + n; i++) {
		len += (size_t)snprintf(b + len, cap - len, "%s[",
					i > first ? "," : "");
		for (size_t j = 0; j < FEAT; j++)
			len += (size_t)snprintf(b + len, cap - len, "%s%.17g",
						j ? "," : "", data_at(i, j));
		len += (size_t)snprintf(b + len, cap - len, "]");
	}
	snprintf(b + len, cap - len, "]");
	return b;
}

static char *op_body(const char *op, const char *session, size_t first,
		     size_t n)
{
	char *m = matrix_json(first, n);
	size_t cap = strlen(m) + 128;
	char *b = malloc(cap);

	ck_assert_ptr_nonnull(b);
	snprintf(b, cap, "{\"op\":\"%s\",\"session\":\"%s\",\"data\":%s}", op,
		 session, m);
	free(m);
	return b;
}

struct client {
	const struct gg_server *s;
	int id;
	int failures;
};

static void *client_main(void *arg)
{
	struct client *c = arg;

	for (int k = 0; k < REQS; k++) {
		size_t first = ((size_t)c->id * REQS + (size_t)k) * ROWS;
		char *body = op_body("partial_fit", "shared", first, ROWS);
		struct gg_response r;

		if (gg_post_json(c->s, "/normalize", body, &r) != 0 ||
		    r.status != 200)
			c->failures++;
		gg_response_free(&r);
		free(body);
	}
	return NULL;
}

/* The session's statistics equal those of one fit of all rows. */
static void expect_fit_of_all(const struct gg_server *s, const char *session,
			      size_t n_rows)
{
	char *body = op_body("fit", "reference", 0, n_rows), path[96];
	cJSON *want = post(s, body, 200), *got;

	free(body);
	snprintf(path, sizeof(path), "/sessions/%s", session);
	got = http_call(s, "GET", path, NULL, 200, NULL);
	ck_assert_double_eq(get(got, "n_samples_seen")->valuedouble,
			    (double)n_rows);
	for (int j = 0; j < FEAT; j++) {
		ck_assert_msg(rel(at(get(got, "mean"), j),
				  at(get(want, "mean"), j)) < 1e-14,
			      "mean[%d] %.17g vs %.17g", j,
			      at(get(got, "mean"), j), at(get(want, "mean"), j));
		ck_assert_msg(rel(at(get(got, "var"), j),
				  at(get(want, "var"), j)) < 1e-12,
			      "var[%d] %.17g vs %.17g", j,
			      at(get(got, "var"), j), at(get(want, "var"), j));
	}
	cJSON_Delete(want);
	cJSON_Delete(got);
}

/* _i: 0 memory:, 1 sqlite: in a fresh temp directory */
START_TEST(http_concurrent_partial_fits_lose_nothing)
{
	struct gg_server s;
	struct client c[CLIENTS];
	pthread_t t[CLIENTS];
	char url[128];

	if (_i == 0) {
		snprintf(url, sizeof(url), "memory:");
	} else {
		make_tmpdir();
		snprintf(url, sizeof(url), "sqlite:%s/db/sessions.db", tmpdir);
	}
	start(&s, url);
	for (int k = 0; k < CLIENTS; k++) {
		c[k].s = &s;
		c[k].id = k;
		c[k].failures = 0;
		ck_assert_int_eq(pthread_create(&t[k], NULL, client_main, &c[k]),
				 0);
	}
	for (int k = 0; k < CLIENTS; k++) {
		pthread_join(t[k], NULL);
		ck_assert_int_eq(c[k].failures, 0);
	}
	expect_fit_of_all(&s, "shared", (size_t)CLIENTS * REQS * ROWS);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	if (_i == 1)
		remove_tmpdir();
}
END_TEST

START_TEST(http_acknowledged_updates_survive_kill_9)
{
	struct gg_server s;
	char url[128];
	const size_t batches = 10;

	make_tmpdir();
	snprintf(url, sizeof(url), "sqlite:%s/new/dir/sessions.db", tmpdir);
	start(&s, url);
	for (size_t k = 0; k < batches; k++) {
		char *body = op_body("partial_fit", "durable", k * ROWS, ROWS);

		cJSON_Delete(post(&s, body, 200));
		free(body);
	}
	gg_server_kill(&s);
	start(&s, url);
	expect_fit_of_all(&s, "durable", batches * ROWS);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	remove_tmpdir();
}
END_TEST

static Suite *normalize_http_suite(void)
{
	Suite *s = suite_create("normalize_http");
	TCase *ops = tcase_create("ops"), *conc = tcase_create("concurrency");
	TCase *dur = tcase_create("durability");

	tcase_set_timeout(ops, 60);
	tcase_set_timeout(conc, 120);
	tcase_set_timeout(dur, 120);
	tcase_add_test(ops, http_every_op_answers);
	tcase_add_test(ops, http_readme_walk_through);
	tcase_add_loop_test(conc, http_concurrent_partial_fits_lose_nothing, 0,
			    2);
	tcase_add_test(dur, http_acknowledged_updates_survive_kill_9);
	suite_add_tcase(s, ops);
	suite_add_tcase(s, conc);
	suite_add_tcase(s, dur);
	return s;
}

int main(void)
{
	return suite_run(normalize_http_suite());
}
