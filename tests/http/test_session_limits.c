/* --max-sessions per tenant over HTTP (two API keys, limit 5; 8 clients
 * racing for the 5th and 6th session: exactly one gets it) and session
 * ids checked on every route, the path included: a percent-encoded NUL
 * must not cut an id short after validation (issue 13 item 3). */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/stores.h"
#include "tests/lib/suite_run.h"

#define KEY_A "limits-tenant-a-0123456789"
#define KEY_B "limits-tenant-b-9876543210"
#define JSON "application/json"

enum { RACERS = 8 };

static const char *const hdr_a[] = { "Authorization: Bearer " KEY_A, NULL };
static const char *const hdr_b[] = { "Authorization: Bearer " KEY_B, NULL };

static struct gg_store store;
static char keys[128];

/* A daemon on store i with two API keys and --max-sessions 5. */
static void start(struct gg_server *s, int i)
{
	const char *args[] = { "--store", store.url, "--max-sessions", "5",
			       "--api-keys-file", keys, NULL };
	FILE *f;

	ck_assert_int_eq(gg_store_setup(&store, i), 0);
	snprintf(keys, sizeof(keys), "%s/keys", store.dir);
	f = fopen(keys, "w");
	ck_assert_ptr_nonnull(f);
	fputs(KEY_A "\n" KEY_B "\n", f);
	fclose(f);
	ck_assert_int_eq(gg_server_start(s, args), 0);
}

static void stop(struct gg_server *s)
{
	ck_assert_int_eq(gg_server_stop(s), 0);
	ck_assert_int_eq(gg_store_teardown(&store), 0);
}

/* POST /normalize fit of session id as a tenant; returns the status (and
 * the problem type of an error in type, when given). */
static long fit(const struct gg_server *s, const char *const *hdr,
		const char *id, char *type, size_t n)
{
	struct gg_response r;
	char body[160];
	cJSON *j, *t;
	long st;

	snprintf(body, sizeof(body), "{\"op\":\"fit\",\"session\":\"%s\","
		 "\"data\":[[1],[2]]}", id);
	gg_request(s, "POST", "/normalize", JSON, body, strlen(body), hdr,
		   &r);
	st = r.status;
	if (type) {
		type[0] = '\0';
		j = gg_response_json(&r);
		t = cJSON_GetObjectItemCaseSensitive(j, "type");
		if (cJSON_IsString(t))
			snprintf(type, n, "%s", t->valuestring);
		cJSON_Delete(j);
	}
	gg_response_free(&r);
	return st;
}

struct racer {
	const struct gg_server *s;
	char id[16];
	long status;
	pthread_barrier_t *go;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	r->status = fit(r->s, hdr_a, r->id, NULL, 0);
	return NULL;
}

START_TEST(max_sessions_is_per_tenant_and_holds_under_a_race)
{
	struct gg_server s;
	struct racer r[RACERS];
	pthread_t t[RACERS];
	pthread_barrier_t go;
	char id[16], type[128];
	int won = 0, full = 0;

	start(&s, _i);
	for (int k = 0; k < 4; k++) {
		snprintf(id, sizeof(id), "a%d", k);
		ck_assert_int_eq(fit(&s, hdr_a, id, NULL, 0), 200);
	}
	/* 8 clients race for the 5th and the 6th place: one wins */
	ck_assert_int_eq(pthread_barrier_init(&go, NULL, RACERS), 0);
	for (int k = 0; k < RACERS; k++) {
		r[k].s = &s;
		r[k].go = &go;
		snprintf(r[k].id, sizeof(r[k].id), "race%d", k);
		ck_assert_int_eq(pthread_create(&t[k], NULL, racer_main, &r[k]),
				 0);
	}
	for (int k = 0; k < RACERS; k++) {
		pthread_join(t[k], NULL);
		won += r[k].status == 200;
		full += r[k].status == 413;
	}
	pthread_barrier_destroy(&go);
	ck_assert_int_eq(won, 1);
	ck_assert_int_eq(full, RACERS - 1);
	ck_assert_int_eq(fit(&s, hdr_a, "late", type, sizeof(type)), 413);
	ck_assert_str_eq(type, "/problems/limit-exceeded");
	/* the sessions held still update */
	ck_assert_int_eq(fit(&s, hdr_a, "a0", NULL, 0), 200);
	/* tenant B has its own five, even with A full */
	for (int k = 0; k < 5; k++) {
		snprintf(id, sizeof(id), "b%d", k);
		ck_assert_int_eq(fit(&s, hdr_b, id, NULL, 0), 200);
	}
	ck_assert_int_eq(fit(&s, hdr_b, "b5", NULL, 0), 413);
	/* a deleted session frees its place */
	{
		struct gg_response d;

		gg_request(&s, "DELETE", "/sessions/a1", NULL, NULL, 0, hdr_a,
			   &d);
		ck_assert_int_eq(d.status, 204);
		gg_response_free(&d);
	}
	ck_assert_int_eq(fit(&s, hdr_a, "late", NULL, 0), 200);
	stop(&s);
}
END_TEST

/* n_samples_seen of session victim, or -1 when there is none. */
static double victim_seen(const struct gg_server *s)
{
	struct gg_response r;
	cJSON *j, *n;
	double v = -1;

	gg_request(s, "GET", "/sessions/victim", NULL, NULL, 0, NULL, &r);
	j = gg_response_json(&r);
	n = cJSON_GetObjectItemCaseSensitive(j, "n_samples_seen");
	if (r.status == 200 && cJSON_IsNumber(n))
		v = n->valuedouble;
	cJSON_Delete(j);
	gg_response_free(&r);
	return v;
}

static const char *const nul_paths[] = {
	"/sessions/victim%00%ff", "/sessions/victim%00x", "/sessions/victim%00",
	"/sessions/victim%ff", "/sessions/victim%20", "/sessions/victim%0A",
	/* a slash, encoded or not, makes an invalid id: 422, not a missing
	 * route */
	"/sessions/victim%2Fx", "/sessions/victim/x", "/sessions/victim/",
};

START_TEST(encoded_bytes_in_a_session_path_are_422_and_touch_nothing)
{
	static const char *const methods[] = { "PUT", "DELETE", "GET" };
	struct gg_server s;
	struct gg_response r;

	ck_assert_int_eq(gg_server_start(&s, NULL), 0);
	ck_assert_int_eq(fit(&s, NULL, "victim", NULL, 0), 200);
	ck_assert(victim_seen(&s) == 2);
	for (size_t m = 0; m < 3; m++) {
		for (size_t k = 0; k < sizeof(nul_paths) / sizeof(*nul_paths);
		     k++) {
			const char *body = "{\"n_samples_seen\":9,"
					   "\"mean\":[5],\"var\":[1]}";
			bool put = m == 0;

			gg_request(&s, methods[m], nul_paths[k],
				   put ? JSON : NULL, put ? body : NULL,
				   put ? strlen(body) : 0, NULL, &r);
			ck_assert_msg(r.status == 422, "%s %s: %ld",
				      methods[m], nul_paths[k], r.status);
			gg_response_free(&r);
			ck_assert(victim_seen(&s) == 2);
		}
	}
	/* an id longer than the router keeps is refused the same way */
	{
		char path[600] = "/sessions/";

		memset(path + 10, 'v', 400);
		for (size_t m = 0; m < 3; m++) {
			const char *body = "{\"n_samples_seen\":9,"
					   "\"mean\":[5],\"var\":[1]}";
			bool put = m == 0;

			gg_request(&s, methods[m], path, put ? JSON : NULL,
				   put ? body : NULL, put ? strlen(body) : 0,
				   NULL, &r);
			ck_assert_msg(r.status == 422, "%s overlong id: %ld",
				      methods[m], r.status);
			gg_response_free(&r);
		}
		ck_assert(victim_seen(&s) == 2);
	}
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("session limits");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, max_sessions_is_per_tenant_and_holds_under_a_race,
			    0, GG_STORES);
	tcase_add_test(tc,
		       encoded_bytes_in_a_session_path_are_422_and_touch_nothing);
	suite_add_tcase(su, tc);
	return suite_run(su);
}
