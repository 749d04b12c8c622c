/* API-key authentication over real HTTP: public and protected routes, 401
 * with WWW-Authenticate, sessions namespaced per key (one tenant can
 * neither read, overwrite nor delete another's session of the same name),
 * the key file from flag and env, bad key files refused at startup, and
 * keys kept out of the logs. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"
#include "tests/lib/suite_run.h"

#define KEY_A "tenant-a-key-0123456789abcdef"
#define KEY_B "tenant-b-key-fedcba9876543210"
#define AUTH_A "Authorization: Bearer " KEY_A
#define AUTH_B "Authorization: Bearer " KEY_B
#define JSON "application/json"
#define PROBLEM_JSON "application/problem+json"

static const char *const hdr_a[] = {AUTH_A, NULL};
static const char *const hdr_b[] = {AUTH_B, NULL};
static const char *const hdr_bad[] = {
	"Authorization: Bearer not-a-configured-key-000", NULL};

/* A file under $BUILD (or /tmp) with the given text; path in out. */
static void write_file(char *out, size_t n, const char *name,
		       const char *text)
{
	const char *build = getenv("BUILD");
	FILE *f;

	snprintf(out, n, "%s/gg-auth-%ld-%s", build && *build ? build : "/tmp",
		 (long)getpid(), name);
	f = fopen(out, "w");
	ck_assert_msg(f != NULL, "cannot write %s", out);
	fputs(text, f);
	fclose(f);
}

static void start_with_keys(struct gg_server *s, char *keys, size_t n)
{
	write_file(keys, n, "keys", "# two tenants\n" KEY_A "\n\n" KEY_B
		   "\n");
	ck_assert_int_eq(gg_server_start(s, (const char *const[]){
		"--api-keys-file", keys, NULL}), 0);
}

static long req(const struct gg_server *s, const char *method,
		const char *path, const char *json,
		const char *const headers[], struct gg_response *r)
{
	gg_request(s, method, path, json ? JSON : NULL, json,
		   json ? strlen(json) : 0, headers, r);
	return r->status;
}

static double member(const struct gg_response *r, const char *key, int i)
{
	cJSON *j = gg_response_json(r), *a;
	double v = -1;

	ck_assert_msg(j != NULL, "not JSON: %s", r->body);
	a = cJSON_GetObjectItemCaseSensitive(j, key);
	if (cJSON_IsArray(a) && cJSON_GetArrayItem(a, i))
		v = cJSON_GetArrayItem(a, i)->valuedouble;
	cJSON_Delete(j);
	return v;
}

static void expect_401(const struct gg_response *r, bool invalid,
		       const char *what)
{
	cJSON *j;

	ck_assert_msg(r->status == 401, "%s: status %ld: %s", what, r->status,
		      r->body);
	ck_assert_str_eq(r->content_type, PROBLEM_JSON);
	ck_assert_msg(!strncmp(r->www_authenticate, "Bearer", 6),
		      "%s: WWW-Authenticate '%s'", what, r->www_authenticate);
	ck_assert(!invalid == !strstr(r->www_authenticate, "invalid_token"));
	j = gg_response_json(r);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "type")
				 ->valuestring, "/problems/unauthorized");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "instance")
				 ->valuestring, r->request_id);
	cJSON_Delete(j);
}

START_TEST(public_routes_answer_without_a_key)
{
	static const char *const paths[] = {
		"/healthz", "/readyz", "/metrics", "/openapi.json", "/",
		"/ui/",
	};
	struct gg_server s;
	struct gg_response r;
	char keys[512];

	start_with_keys(&s, keys, sizeof(keys));
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		ck_assert_msg(req(&s, "GET", paths[i], NULL, NULL, &r) == 200,
			      "%s: %ld", paths[i], r.status);
		gg_response_free(&r);
	}
	/* HEAD is served by the GET row, public too */
	ck_assert_int_eq(req(&s, "HEAD", "/healthz", NULL, NULL, &r), 200);
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	unlink(keys);
}
END_TEST

START_TEST(protected_routes_need_a_configured_key)
{
	static const char fit[] = "{\"op\":\"fit\",\"data\":[[1,2],[3,4]]}";
	struct gg_server s;
	struct gg_response r;
	char keys[512];

	start_with_keys(&s, keys, sizeof(keys));
	req(&s, "POST", "/normalize", fit, NULL, &r);
	expect_401(&r, false, "no header");
	gg_response_free(&r);
	req(&s, "POST", "/normalize", fit, hdr_bad, &r);
	expect_401(&r, true, "wrong key");
	gg_response_free(&r);
	req(&s, "POST", "/normalize", fit, (const char *const[]){
		"Authorization: Basic " KEY_A, NULL}, &r);
	expect_401(&r, false, "Basic scheme");
	gg_response_free(&r);
	req(&s, "GET", "/sessions/x", NULL, NULL, &r);
	expect_401(&r, false, "GET /sessions");
	gg_response_free(&r);
	/* unknown routes do not reveal themselves to strangers */
	req(&s, "GET", "/nope", NULL, NULL, &r);
	expect_401(&r, false, "unknown route");
	gg_response_free(&r);
	ck_assert_int_eq(req(&s, "GET", "/nope", NULL, hdr_a, &r), 404);
	gg_response_free(&r);
	/* with a key: served, for either tenant */
	ck_assert_int_eq(req(&s, "POST", "/normalize", fit, hdr_a, &r), 200);
	gg_response_free(&r);
	ck_assert_int_eq(req(&s, "POST", "/normalize", fit, hdr_b, &r), 200);
	gg_response_free(&r);
	/* the refusals are counted */
	ck_assert_int_eq(req(&s, "GET", "/metrics", NULL, NULL, &r), 200);
	ck_assert_msg(strstr(r.body, "gradguard_rejected_total{reason=\""
			     "unauthorized\"} 5\n"), "%s", r.body);
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	unlink(keys);
}
END_TEST

START_TEST(tenants_cannot_touch_each_others_sessions)
{
	static const char fit[] =
		"{\"op\":\"fit\",\"session\":\"s\",\"data\":[[1,10],[3,30]]}";
	static const char put[] = "{\"n_samples_seen\":5,\"mean\":[100,200],"
				  "\"var\":[4,9]}";
	struct gg_server s;
	struct gg_response r;
	char keys[512];

	start_with_keys(&s, keys, sizeof(keys));
	ck_assert_int_eq(req(&s, "POST", "/normalize", fit, hdr_a, &r), 200);
	gg_response_free(&r);
	/* B cannot read A's "s", nor use it */
	ck_assert_int_eq(req(&s, "GET", "/sessions/s", NULL, hdr_b, &r), 404);
	gg_response_free(&r);
	ck_assert_int_eq(req(&s, "POST", "/normalize",
			     "{\"op\":\"transform\",\"session\":\"s\","
			     "\"data\":[[1,1]]}", hdr_b, &r), 404);
	gg_response_free(&r);
	/* B's PUT creates B's own "s"; A's stays */
	ck_assert_int_eq(req(&s, "PUT", "/sessions/s", put, hdr_b, &r), 201);
	gg_response_free(&r);
	ck_assert_int_eq(req(&s, "GET", "/sessions/s", NULL, hdr_a, &r), 200);
	ck_assert(member(&r, "mean", 0) == 2.0 && member(&r, "mean", 1) == 20.0);
	gg_response_free(&r);
	ck_assert_int_eq(req(&s, "GET", "/sessions/s", NULL, hdr_b, &r), 200);
	ck_assert(member(&r, "mean", 0) == 100.0);
	gg_response_free(&r);
	/* B's DELETE removes B's only */
	ck_assert_int_eq(req(&s, "DELETE", "/sessions/s", NULL, hdr_b, &r),
			 204);
	gg_response_free(&r);
	ck_assert_int_eq(req(&s, "DELETE", "/sessions/s", NULL, hdr_b, &r),
			 404);
	gg_response_free(&r);
	ck_assert_int_eq(req(&s, "GET", "/sessions/s", NULL, hdr_a, &r), 200);
	ck_assert(member(&r, "mean", 0) == 2.0);
	gg_response_free(&r);
	/* and a wrong key cannot delete A's either */
	req(&s, "DELETE", "/sessions/s", NULL, hdr_bad, &r);
	expect_401(&r, true, "DELETE with a wrong key");
	gg_response_free(&r);
	ck_assert_int_eq(req(&s, "DELETE", "/sessions/s", NULL, hdr_a, &r),
			 204);
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	unlink(keys);
}
END_TEST

/* One sqlite file, first served without keys (tenant ""), then with: the
 * anonymous session is not a tenant's, and the key file may come from
 * GRADGUARD_API_KEYS_FILE. */
START_TEST(anonymous_sessions_are_not_visible_to_tenants)
{
	static const char fit[] =
		"{\"op\":\"fit\",\"session\":\"shared\",\"data\":[[1],[3]]}";
	struct gg_server s;
	struct gg_response r;
	char keys[512], db[512], store[600];

	write_file(db, sizeof(db), "sessions.db", "");
	unlink(db);
	snprintf(store, sizeof(store), "sqlite:%s", db);
	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--store", store, NULL}), 0);
	/* without keys an Authorization header changes nothing */
	ck_assert_int_eq(req(&s, "POST", "/normalize", fit, hdr_a, &r), 200);
	gg_response_free(&r);
	ck_assert_int_eq(req(&s, "GET", "/sessions/shared", NULL, NULL, &r),
			 200);
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);

	write_file(keys, sizeof(keys), "envkeys", KEY_A "\n");
	setenv("GRADGUARD_API_KEYS_FILE", keys, 1);
	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--store", store, NULL}), 0);
	unsetenv("GRADGUARD_API_KEYS_FILE");
	req(&s, "GET", "/sessions/shared", NULL, NULL, &r);
	expect_401(&r, false, "env key file");
	gg_response_free(&r);
	ck_assert_int_eq(req(&s, "GET", "/sessions/shared", NULL, hdr_a, &r),
			 404);
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	unlink(keys);
	unlink(db);
}
END_TEST

static const struct {
	const char *text;    /* NULL: the file does not exist */
} bad_keys[] = {
	{"short-key\n"},
	{"# nothing but comments\n\n"},
	{"a key with blanks in it\n"},
	{NULL},
};

START_TEST(bad_key_file_stops_the_daemon_from_starting)
{
	char keys[512], out[1024];
	int rc;

	write_file(keys, sizeof(keys), "badkeys",
		   bad_keys[_i].text ? bad_keys[_i].text : "");
	if (!bad_keys[_i].text)
		unlink(keys);
	rc = gg_run((const char *const[]){"--port", "0", "--store", "memory:",
		"--api-keys-file", keys, NULL}, out, sizeof(out));
	ck_assert_msg(rc > 0 && rc < 128, "exit status %d", rc);
	ck_assert_msg(!strstr(out, "listening"), "it started: %s", out);
	unlink(keys);
}
END_TEST

START_TEST(keys_never_reach_the_log)
{
	struct gg_server s;
	struct gg_response r;
	char keys[512];

	start_with_keys(&s, keys, sizeof(keys));
	ck_assert_msg(s.log_path[0], "no log file (GG_SERVER_STDERR set?)");
	ck_assert_int_eq(req(&s, "GET", "/sessions/x", NULL, hdr_a, &r), 404);
	gg_response_free(&r);
	req(&s, "GET", "/sessions/x", NULL, hdr_bad, &r);
	gg_response_free(&r);
	req(&s, "GET", "/sessions/x", NULL, (const char *const[]){
		"Authorization: Bearer x" KEY_B, NULL}, &r);
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	/* the requests were logged, their keys were not */
	ck_assert(http_file_has(s.log_path, "status=404"));
	ck_assert(http_file_has(s.log_path, "status=401"));
	ck_assert(!http_file_has(s.log_path, "0123456789abcdef"));
	ck_assert(!http_file_has(s.log_path, "fedcba9876543210"));
	ck_assert(!http_file_has(s.log_path, "not-a-configured-key"));
	ck_assert(!http_file_has(s.log_path, "Bearer"));
	unlink(keys);
}
END_TEST

static Suite *auth_http_suite(void)
{
	Suite *s = suite_create("auth over HTTP");
	TCase *tc = tcase_create("auth");

	tcase_add_test(tc, public_routes_answer_without_a_key);
	tcase_add_test(tc, protected_routes_need_a_configured_key);
	tcase_add_test(tc, tenants_cannot_touch_each_others_sessions);
	tcase_add_test(tc, anonymous_sessions_are_not_visible_to_tenants);
	tcase_add_loop_test(tc, bad_key_file_stops_the_daemon_from_starting, 0,
			    (int)(sizeof(bad_keys) / sizeof(bad_keys[0])));
	tcase_add_test(tc, keys_never_reach_the_log);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(auth_http_suite());
}
