/* The daemon over real HTTP: malformed requests answered with the right
 * problem, request ids, operational routes, config from flags and env,
 * limits (413, 429) and graceful shutdown. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"

#define PROBLEM_JSON "application/problem+json"

static struct gg_server srv;   /* shared by the "bad input" cases */

static void shared_start(void)
{
	static const char *const args[] = {"--max-body", "65536", NULL};

	ck_assert_int_eq(gg_server_start(&srv, args), 0);
}

static int fixture_failures;   /* unchecked fixtures run in main's process */

static void shared_stop(void)
{
	int rc = gg_server_stop(&srv);

	if (rc != 0) {
		fprintf(stderr, "shared server exited with %d (see the log "
			"under $BUILD/logs)\n", rc);
		fixture_failures++;
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asserts r is a problem+json of the given status and type whose instance
 * is the response's X-Request-Id; returns the parsed body. */
static cJSON *expect_problem(const struct gg_response *r, long status,
			     const char *type, const char *what)
{
	cJSON *j, *f;

	ck_assert_msg(r->status == status, "%s: status %ld, want %ld: %s",
		      what, r->status, status, r->body);
	ck_assert_msg(!strcmp(r->content_type, PROBLEM_JSON),
		      "%s: content type '%s'", what, r->content_type);
	j = gg_response_json(r);
	ck_assert_msg(j != NULL, "%s: body is not JSON: %s", what, r->body);
	f = cJSON_GetObjectItemCaseSensitive(j, "type");
	ck_assert_msg(cJSON_IsString(f) && !strcmp(f->valuestring, type),
		      "%s: type %s, want %s", what,
		      cJSON_IsString(f) ? f->valuestring : "?", type);
	f = cJSON_GetObjectItemCaseSensitive(j, "status");
	ck_assert(cJSON_IsNumber(f) && f->valuedouble == (double)status);
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "title")));
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j,
								    "detail")));
	f = cJSON_GetObjectItemCaseSensitive(j, "instance");
	ck_assert(cJSON_IsString(f));
	ck_assert_str_eq(f->valuestring, r->request_id);
	ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "errors")));
	return j;
}

static bool has_pointer(const cJSON *problem, const char *pointer)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(problem,
							      "errors")) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "pointer");

		if (cJSON_IsString(p) && !strcmp(p->valuestring, pointer))
			return true;
	}
	return false;
}

static void expect_healthy(const struct gg_server *s)
{
	struct gg_response r;

	ck_assert_int_eq(gg_request(s, "GET", "/healthz", NULL, NULL, 0, NULL,
				    &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"status\":\"ok\"}");
	gg_response_free(&r);
}

/* ---- malformed requests -------------------------------------------------- */

enum gen { GEN_NONE, GEN_DEEP, GEN_OVER_MAX };

struct bad_case {
	const char *name;
	const char *method, *path, *ctype;
	const char *body;
	size_t len;
	enum gen gen;
	long status;
	const char *type;
	const char *pointer;   /* an expected errors[].pointer, or NULL */
	const char *allow;     /* the expected Allow header, or NULL */
};

#define JSON "application/json"
#define B(s) s, sizeof(s) - 1
#define NOBODY NULL, 0
#define MALFORMED 400, "/problems/malformed-json"

static const struct bad_case bad_cases[] = {
	{"empty body", "POST", "/normalize", JSON, NOBODY, GEN_NONE,
	 MALFORMED, NULL, NULL},
	{"whitespace only", "POST", "/normalize", JSON, B("  \n\t "),
	 GEN_NONE, MALFORMED, NULL, NULL},
	{"unterminated object", "POST", "/normalize", JSON, B("{\"op\":"),
	 GEN_NONE, MALFORMED, NULL, NULL},
	{"unterminated string", "POST", "/init", JSON, B("{\"a"), GEN_NONE,
	 MALFORMED, NULL, NULL},
	{"trailing garbage", "POST", "/normalize", JSON, B("{} x"), GEN_NONE,
	 MALFORMED, NULL, NULL},
	{"two documents", "POST", "/gradcheck", JSON, B("{}{}"), GEN_NONE,
	 MALFORMED, NULL, NULL},
	{"trailing comma in array", "POST", "/normalize", JSON, B("[1,2,]"),
	 GEN_NONE, MALFORMED, NULL, NULL},
	{"trailing comma in object", "POST", "/normalize", JSON,
	 B("{\"a\":1,}"), GEN_NONE, MALFORMED, NULL, NULL},
	{"single quotes", "POST", "/normalize", JSON, B("{'op':'fit'}"),
	 GEN_NONE, MALFORMED, NULL, NULL},
	{"bare word", "POST", "/init", JSON, B("hello"), GEN_NONE, MALFORMED,
	 NULL, NULL},
	{"NaN literal", "POST", "/normalize", JSON, B("{\"data\":[[NaN]]}"),
	 GEN_NONE, MALFORMED, NULL, NULL},
	{"Infinity literal", "POST", "/normalize", JSON, B("[Infinity]"),
	 GEN_NONE, MALFORMED, NULL, NULL},
	{"invalid UTF-8 byte", "POST", "/normalize", JSON,
	 B("{\"op\":\"\xff\"}"), GEN_NONE, MALFORMED, NULL, NULL},
	{"overlong UTF-8 slash", "POST", "/normalize", JSON,
	 B("{\"op\":\"\xc0\xaf\"}"), GEN_NONE, MALFORMED, NULL, NULL},
	{"overlong 3-byte UTF-8", "POST", "/init", JSON,
	 B("{\"a\":\"\xe0\x80\xaf\"}"), GEN_NONE, MALFORMED, NULL, NULL},
	{"UTF-8 encoded surrogate", "POST", "/normalize", JSON,
	 B("{\"op\":\"\xed\xa0\x80\"}"), GEN_NONE, MALFORMED, NULL, NULL},
	{"truncated UTF-8 sequence", "POST", "/normalize", JSON,
	 B("{\"op\":\"\xe2\x82\"}"), GEN_NONE, MALFORMED, NULL, NULL},
	{"UTF-8 above U+10FFFF", "POST", "/gradcheck", JSON,
	 B("{\"a\":\"\xf4\x90\x80\x80\"}"), GEN_NONE, MALFORMED, NULL, NULL},
	{"raw control character in string", "POST", "/normalize", JSON,
	 B("{\"op\":\"a\x01\"}"), GEN_NONE, MALFORMED, NULL, NULL},
	{"NUL byte in body", "POST", "/normalize", JSON,
	 B("{\"op\":\"a\0b\"}"), GEN_NONE, MALFORMED, NULL, NULL},
	{"5000-deep nesting", "POST", "/normalize", JSON, NOBODY, GEN_DEEP,
	 MALFORMED, NULL, NULL},
	{"body over max-body", "POST", "/normalize", JSON, NOBODY,
	 GEN_OVER_MAX, 413, "/problems/limit-exceeded", NULL, NULL},
	{"bad JSON on PUT /sessions/{id}", "PUT", "/sessions/abc", JSON,
	 B("{\"mean\":[1,"), GEN_NONE, MALFORMED, NULL, NULL},
	{"bad JSON with charset parameter", "POST", "/init",
	 "Application/JSON; charset=utf-8", B("[1 2]"), GEN_NONE, MALFORMED,
	 NULL, NULL},
	{"text/plain content type", "POST", "/normalize", "text/plain",
	 B("{}"), GEN_NONE, 415, "/problems/unsupported-media-type", NULL,
	 NULL},
	{"missing content type", "POST", "/normalize", NULL, B("{}"),
	 GEN_NONE, 415, "/problems/unsupported-media-type", NULL, NULL},
	{"application/jsonx content type", "POST", "/gradcheck",
	 "application/jsonx", B("{}"), GEN_NONE, 415,
	 "/problems/unsupported-media-type", NULL, NULL},
	{"form content type", "POST", "/init",
	 "application/x-www-form-urlencoded", B("a=1"), GEN_NONE, 415,
	 "/problems/unsupported-media-type", NULL, NULL},
	{"text/plain on PUT /sessions/{id}", "PUT", "/sessions/abc",
	 "text/plain", B("{}"), GEN_NONE, 415,
	 "/problems/unsupported-media-type", NULL, NULL},
	{"unknown route", "GET", "/nope", NULL, NOBODY, GEN_NONE, 404,
	 "/problems/not-found", NULL, NULL},
	{"trailing slash is another path", "POST", "/normalize/", JSON,
	 B("{}"), GEN_NONE, 404, "/problems/not-found", NULL, NULL},
	{"session route without id", "GET", "/sessions/", NULL, NOBODY,
	 GEN_NONE, 404, "/problems/not-found", NULL, NULL},
	/* everything after /sessions/ is the id: a slash makes it invalid */
	{"nested path below a session", "GET", "/sessions/a/b", NULL, NOBODY,
	 GEN_NONE, 422, "/problems/invalid-field", NULL, NULL},
	/* endpoint validation (handlers/): the field is named by pointer */
	{"op of the wrong type", "POST", "/normalize", JSON,
	 B("{\"op\": 3, \"data\": [[1]]}"), GEN_NONE, 422,
	 "/problems/wrong-type", "/op", NULL},
	{"number out of double range", "POST", "/normalize", JSON,
	 B("{\"op\":\"fit\",\"data\":[[1e999]]}"), GEN_NONE, 422,
	 "/problems/non-finite-number", "/data/0/0", NULL},
	{"ragged data rows", "POST", "/normalize", JSON,
	 B("{\"op\":\"fit\",\"data\":[[1,2],[3]]}"), GEN_NONE, 422,
	 "/problems/shape-mismatch", "/data/1", NULL},
	{"unknown top-level field", "POST", "/normalize", JSON,
	 B("{\"op\":\"fit\",\"data\":[[1]],\"bogus\":1}"), GEN_NONE, 422,
	 "/problems/unknown-field", "/bogus", NULL},
	{"unknown op value", "POST", "/normalize", JSON,
	 B("{\"op\":\"nope\",\"data\":[[1]]}"), GEN_NONE, 422,
	 "/problems/unknown-enum-value", "/op", NULL},
	{"missing op", "POST", "/normalize", JSON, B("{\"data\":[[1]]}"),
	 GEN_NONE, 422, "/problems/missing-field", "/op", NULL},
	{"array instead of object", "POST", "/normalize", JSON, B("[1]"),
	 GEN_NONE, 422, "/problems/wrong-type", "", NULL},
	{"layer_dims of the wrong type", "POST", "/init", JSON,
	 B("{\"layer_dims\":\"x\"}"), GEN_NONE, 422, "/problems/wrong-type",
	 "/layer_dims", NULL},
	{"gradient of the wrong type", "POST", "/gradcheck", JSON,
	 B("{\"vector\":{\"gradient\":\"x\"}}"), GEN_NONE, 422,
	 "/problems/wrong-type", "/vector/gradient", NULL},
	{"unknown session", "GET", "/sessions/nonexistent", NULL, NOBODY,
	 GEN_NONE, 404, "/problems/session-not-found", NULL, NULL},
	{"session id with a space", "GET", "/sessions/bad%20id", NULL, NOBODY,
	 GEN_NONE, 422, "/problems/invalid-field", NULL, NULL},
	{"GET on /normalize", "GET", "/normalize", NULL, NOBODY, GEN_NONE,
	 405, "/problems/method-not-allowed", NULL, "POST"},
	{"POST to /healthz", "POST", "/healthz", JSON, B("{}"), GEN_NONE, 405,
	 "/problems/method-not-allowed", NULL, "GET, HEAD"},
	{"DELETE on the index", "DELETE", "/", NULL, NOBODY, GEN_NONE, 405,
	 "/problems/method-not-allowed", NULL, "GET, HEAD"},
	{"PATCH on a session", "PATCH", "/sessions/abc", JSON, B("{}"),
	 GEN_NONE, 405, "/problems/method-not-allowed", NULL,
	 "GET, HEAD, PUT, DELETE"},
	{"PUT on /metrics", "PUT", "/metrics", JSON, B("{}"), GEN_NONE, 405,
	 "/problems/method-not-allowed", NULL, "GET, HEAD"},
};

#define N_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

START_TEST(bad_input_is_answered_with_a_problem_and_the_server_lives_on)
{
	const struct bad_case *c = &bad_cases[_i];
	struct gg_response r;
	char *gen = NULL;
	const char *body = c->body;
	size_t len = c->len;
	cJSON *j;

	if (c->gen == GEN_DEEP) {
		len = 10000;
		gen = malloc(len);
		memset(gen, '[', 5000);
		memset(gen + 5000, ']', 5000);
		body = gen;
	} else if (c->gen == GEN_OVER_MAX) {
		len = 65537;
		gen = malloc(len);
		memset(gen, ' ', len);
		gen[0] = '[';
		gen[len - 1] = ']';
		body = gen;
	}
	ck_assert_msg(gg_request(&srv, c->method, c->path, c->ctype, body, len,
				 NULL, &r) == 0, "%s: no response", c->name);
	j = expect_problem(&r, c->status, c->type, c->name);
	if (c->pointer)
		ck_assert_msg(has_pointer(j, c->pointer), "%s: no error at %s: %s",
			      c->name, c->pointer, r.body);
	if (c->allow)
		ck_assert_msg(!strcmp(r.allow, c->allow), "%s: Allow '%s'",
			      c->name, r.allow);
	cJSON_Delete(j);
	gg_response_free(&r);
	free(gen);
	expect_healthy(&srv);
}
END_TEST

/* 100 MiB announced, nothing sent: the 413 must come before any body. */
START_TEST(huge_content_length_is_refused_before_the_body_is_read)
{
	static const char req[] =
		"POST /normalize HTTP/1.1\r\nHost: localhost\r\n"
		"Connection: close\r\nContent-Type: application/json\r\n"
		"Content-Length: 104857600\r\n\r\n";
	char resp[4096];
	long long t0 = now_ms();
	long n = gg_raw(&srv, req, sizeof(req) - 1, resp, sizeof(resp), 5000);

	ck_assert_int_gt(n, 0);
	ck_assert_msg(now_ms() - t0 < 3000, "413 took %lld ms", now_ms() - t0);
	ck_assert_msg(!strncmp(resp, "HTTP/1.1 413", 12), "got: %s", resp);
	ck_assert_ptr_nonnull(strstr(resp, PROBLEM_JSON));
	ck_assert_ptr_nonnull(strstr(resp, "/problems/limit-exceeded"));
	expect_healthy(&srv);
}
END_TEST

START_TEST(chunked_body_growing_past_max_body_is_refused)
{
	struct gg_response r;
	char *req = malloc(200000), resp[4096];
	size_t len = 0;

	len += (size_t)snprintf(req, 200000, "POST /normalize HTTP/1.1\r\n"
				"Host: localhost\r\nConnection: close\r\n"
				"Content-Type: application/json\r\n"
				"Transfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 80; i++) {   /* 80 KiB > 64 KiB */
		memcpy(req + len, "400\r\n", 5);   /* 0x400 = 1024 bytes */
		len += 5;
		memset(req + len, ' ', 1024);
		len += 1024;
		memcpy(req + len, "\r\n", 2);
		len += 2;
	}
	memcpy(req + len, "0\r\n\r\n", 5);
	len += 5;
	ck_assert_int_gt(gg_raw(&srv, req, len, resp, sizeof(resp), 5000), 0);
	ck_assert_msg(!strncmp(resp, "HTTP/1.1 413", 12), "got: %s", resp);
	ck_assert_ptr_nonnull(strstr(resp, "/problems/limit-exceeded"));
	free(req);
	/* a chunked body under the limit is read whole (then parsed) */
	ck_assert_int_eq(gg_request(&srv, "POST", "/normalize", JSON, "[1",
				    2, (const char *const[]){
					    "Transfer-Encoding: chunked",
					    NULL}, &r), 0);
	cJSON_Delete(expect_problem(&r, 400, "/problems/malformed-json",
				    "small chunked"));
	gg_response_free(&r);
}
END_TEST

/* ---- request ids ------------------------------------------------------- */

START_TEST(request_id_is_echoed_when_sane_and_generated_otherwise)
{
	static const char *const mine[] = {"X-Request-Id: trace-42:abc", NULL};
	char longid[160 + 16];
	const char *const too_long[] = {longid, NULL};
	struct gg_response a, b, c, d;

	ck_assert_int_eq(gg_request(&srv, "GET", "/healthz", NULL, NULL, 0,
				    mine, &a), 0);
	ck_assert_str_eq(a.request_id, "trace-42:abc");
	ck_assert_int_eq(gg_request(&srv, "GET", "/nope", NULL, NULL, 0, mine,
				    &d), 0);
	cJSON_Delete(expect_problem(&d, 404, "/problems/not-found", "404"));
	ck_assert_str_eq(d.request_id, "trace-42:abc");
	ck_assert_int_eq(gg_request(&srv, "GET", "/healthz", NULL, NULL, 0,
				    NULL, &b), 0);
	ck_assert_int_eq(gg_request(&srv, "GET", "/healthz", NULL, NULL, 0,
				    NULL, &c), 0);
	ck_assert_int_eq(strlen(b.request_id), 16);
	ck_assert_int_eq(strspn(b.request_id, "0123456789abcdef"), 16);
	ck_assert_str_ne(b.request_id, c.request_id);
	snprintf(longid, sizeof(longid), "X-Request-Id: ");
	memset(longid + 14, 'a', 140);
	longid[154] = '\0';
	gg_response_free(&c);
	ck_assert_int_eq(gg_request(&srv, "GET", "/healthz", NULL, NULL, 0,
				    too_long, &c), 0);
	ck_assert_int_eq(strlen(c.request_id), 16);
	gg_response_free(&a);
	gg_response_free(&b);
	gg_response_free(&c);
	gg_response_free(&d);
}
END_TEST

/* ---- operational routes ------------------------------------------------ */

static bool index_has(const cJSON *eps, const char *method, const char *path)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, eps) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "method");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");

		if (cJSON_IsString(m) && cJSON_IsString(p) &&
		    !strcmp(m->valuestring, method) &&
		    !strcmp(p->valuestring, path))
			return true;
	}
	return false;
}

START_TEST(index_lists_the_routes_and_version)
{
	struct gg_response r;
	cJSON *j, *eps;

	ck_assert_int_eq(gg_request(&srv, "GET", "/", NULL, NULL, 0, NULL, &r),
			 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "application/json");
	j = gg_response_json(&r);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "name")->valuestring,
			 "gradguard");
	ck_assert_str_eq(
		cJSON_GetObjectItemCaseSensitive(j, "version")->valuestring,
		"0.1.0");
	eps = cJSON_GetObjectItemCaseSensitive(j, "endpoints");
	ck_assert(index_has(eps, "POST", "/normalize"));
	ck_assert(index_has(eps, "POST", "/init"));
	ck_assert(index_has(eps, "POST", "/gradcheck"));
	ck_assert(index_has(eps, "GET", "/sessions/{id}"));
	ck_assert(index_has(eps, "PUT", "/sessions/{id}"));
	ck_assert(index_has(eps, "DELETE", "/sessions/{id}"));
	ck_assert(index_has(eps, "GET", "/healthz"));
	ck_assert(index_has(eps, "GET", "/metrics"));
	ck_assert(!index_has(eps, "POST", "/healthz"));
	cJSON_Delete(j);
	gg_response_free(&r);
}
END_TEST

START_TEST(readyz_openapi_and_head_answer)
{
	struct gg_response r;
	cJSON *j;

	ck_assert_int_eq(gg_request(&srv, "GET", "/readyz", NULL, NULL, 0, NULL,
				    &r), 0);
	ck_assert_int_eq(r.status, 200);
	gg_response_free(&r);
	ck_assert_int_eq(gg_request(&srv, "GET", "/openapi.json", NULL, NULL, 0,
				    NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "application/json");
	j = gg_response_json(&r);
	ck_assert(cJSON_IsObject(j));
	cJSON_Delete(j);
	gg_response_free(&r);
	ck_assert_int_eq(gg_request(&srv, "HEAD", "/healthz", NULL, NULL, 0,
				    NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);
	gg_response_free(&r);
}
END_TEST

/* Value of the exposition line starting with prefix ("name{labels} "),
 * -1 if absent. Also checks that every sample line has the form
 * name{labels} value. */
static double metric_value(const char *text, const char *prefix)
{
	double found = -1;
	const char *line = text;

	while (*line) {
		const char *end = strchr(line, '\n'), *sp;
		char tmp[512], *num_end;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		double v;

		ck_assert_uint_lt(len, sizeof(tmp));
		memcpy(tmp, line, len);
		tmp[len] = '\0';
		line += len + (end ? 1 : 0);
		if (tmp[0] == '#' || tmp[0] == '\0')
			continue;
		ck_assert_msg(strspn(tmp, "abcdefghijklmnopqrstuvwxyz_:") > 0,
			      "bad metric line: %s", tmp);
		sp = strrchr(tmp, ' ');
		ck_assert_msg(sp != NULL, "bad metric line: %s", tmp);
		if (strchr(tmp, '{'))
			ck_assert_msg(sp[-1] == '}', "bad labels: %s", tmp);
		else
			ck_assert_msg(strspn(tmp, "abcdefghijklmnopqrstuvwxyz_:"
					     "0123456789") == (size_t)(sp - tmp),
				      "bad name: %s", tmp);
		v = strtod(sp + 1, &num_end);
		ck_assert_msg(*num_end == '\0' && sp[1] != '\0',
			      "bad value: %s", tmp);
		if (!strncmp(tmp, prefix, strlen(prefix)) &&
		    (size_t)(sp - tmp) == strlen(prefix))
			found = v;
	}
	return found;
}

START_TEST(metrics_parse_and_counters_move)
{
	static const char ok[] = "gradguard_http_requests_total{route="
				 "\"/healthz\",method=\"GET\",status=\"200\"}";
	static const char nf[] = "gradguard_http_requests_total{route="
				 "\"unmatched\",method=\"GET\",status=\"404\"}";
	struct gg_response r;
	double before, after, nf_before;

	ck_assert_int_eq(gg_request(&srv, "GET", "/metrics", NULL, NULL, 0,
				    NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.content_type, "text/plain"));
	before = metric_value(r.body, ok);
	nf_before = metric_value(r.body, nf);
	gg_response_free(&r);
	for (int i = 0; i < 3; i++)
		expect_healthy(&srv);
	ck_assert_int_eq(gg_request(&srv, "GET", "/nowhere", NULL, NULL, 0,
				    NULL, &r), 0);
	gg_response_free(&r);
	/* the counters move when each request has completed, which may be
	 * after its client had the answer: wait for that event */
	http_metric_at_least(&srv, ok, (before < 0 ? 0 : before) + 3, 20000);
	http_metric_at_least(&srv, nf, (nf_before < 0 ? 0 : nf_before) + 1,
			     20000);
	ck_assert_int_eq(gg_request(&srv, "GET", "/metrics", NULL, NULL, 0,
				    NULL, &r), 0);
	after = metric_value(r.body, ok);
	ck_assert_msg(after >= (before < 0 ? 0 : before) + 3,
		      "healthz counter %g -> %g", before, after);
	ck_assert(metric_value(r.body, nf) >= (nf_before < 0 ? 0 : nf_before)
		  + 1);
	ck_assert(metric_value(r.body, "gradguard_build_info{version=\"0.1.0\"}")
		  == 1);
	ck_assert(metric_value(r.body, "gradguard_http_requests_in_flight")
		  >= 1);
	ck_assert(metric_value(r.body,
			       "gradguard_gradcheck_evaluations_total") >= 0);
	ck_assert(metric_value(r.body, "gradguard_http_request_duration_"
			       "seconds_count{route=\"/healthz\"}") >= 3);
	ck_assert(metric_value(r.body, "gradguard_http_request_duration_"
			       "seconds_bucket{route=\"/healthz\",le=\"+Inf\"}")
		  >= 3);
	gg_response_free(&r);
}
END_TEST

/* hctx.evaluations of a gradient check end up in the metrics. */
START_TEST(gradcheck_evaluations_reach_the_metrics)
{
	static const char req[] =
		"{\"model\":{\"layer_dims\":[2,3,1],\"activations\":"
		"[\"tanh\",\"sigmoid\"],\"loss\":\"binary_cross_entropy\"},"
		"\"parameters\":{\"W1\":[[0.1,0.2],[0.3,-0.4],[0.5,0.6]],"
		"\"b1\":[[0],[0],[0]],\"W2\":[[0.1,0.2,0.3]],\"b2\":[[0]]},"
		"\"X\":[[1,2],[3,4]],\"Y\":[[1],[0]]}";
	static const char name[] = "gradguard_gradcheck_evaluations_total";
	struct gg_response r;
	double before, after, spent;
	cJSON *j;

	ck_assert_int_eq(gg_request(&srv, "GET", "/metrics", NULL, NULL, 0,
				    NULL, &r), 0);
	before = metric_value(r.body, name);
	gg_response_free(&r);
	ck_assert_int_eq(gg_post_json(&srv, "/gradcheck", req, &r), 0);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	j = gg_response_json(&r);
	spent = cJSON_GetObjectItemCaseSensitive(j, "evaluations")->valuedouble;
	ck_assert(spent > 0);
	cJSON_Delete(j);
	gg_response_free(&r);
	after = http_metric_at_least(&srv, name, before + spent, 20000);
	/* other tests of this server may run checks too, never fewer */
	ck_assert_msg(after >= before + spent, "%g -> %g (+%g)", before, after,
		      spent);
}
END_TEST

/* ---- process: flags, env, exit codes ----------------------------------- */

START_TEST(help_and_version_exit_zero)
{
	char out[8192];

	ck_assert_int_eq(gg_run((const char *const[]){"--version", NULL}, out,
				sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "0.1.0"));
	ck_assert_int_eq(gg_run((const char *const[]){"--help", NULL}, out,
				sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "--max-body"));
	ck_assert_ptr_nonnull(strstr(out, "GRADGUARD_MAX_BODY"));
}
END_TEST

static const char *const bad_flags[][3] = {
	{"--bogus", NULL, NULL},
	{"--port", "70000", NULL},
	{"--port", "12x", NULL},
	{"--workers", "-1", NULL},
	{"--workers", "0", NULL},
	{"--max-body", NULL, NULL},
	{"--max-body", "99999999999999999999999", NULL},
	{"--log-format", "xml", NULL},
	{"--version=1", NULL, NULL},
	{"stray", NULL, NULL},
};

START_TEST(bad_flag_exits_two)
{
	char out[256];

	ck_assert_int_eq(gg_run(bad_flags[_i], out, sizeof(out)), 2);
	ck_assert_str_eq(out, "");   /* usage goes to stderr */
}
END_TEST

START_TEST(unusable_store_exits_one)
{
	ck_assert_int_eq(gg_run((const char *const[]){"--port", "0", "--store",
				"bogus:", NULL}, NULL, 0), 1);
}
END_TEST

START_TEST(bad_env_value_exits_two)
{
	setenv("GRADGUARD_QUEUE", "many", 1);
	ck_assert_int_eq(gg_run((const char *const[]){"--version", NULL}, NULL,
				0), 2);
	unsetenv("GRADGUARD_QUEUE");
}
END_TEST

/* A 200-byte malformed body: 413 under a 100-byte limit, else 400. */
static long post_200_bytes(const struct gg_server *s)
{
	struct gg_response r;
	char body[200];
	long status;

	memset(body, ' ', sizeof(body));
	body[0] = '[';
	ck_assert_int_eq(gg_request(s, "POST", "/normalize", JSON, body,
				    sizeof(body), NULL, &r), 0);
	status = r.status;
	gg_response_free(&r);
	return status;
}

START_TEST(env_sets_limits_and_a_flag_wins)
{
	struct gg_server s;

	setenv("GRADGUARD_MAX_BODY", "100", 1);
	ck_assert_int_eq(gg_server_start(&s, NULL), 0);
	ck_assert_int_eq(post_200_bytes(&s), 413);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--max-body", "1000", NULL}), 0);
	ck_assert_int_eq(post_200_bytes(&s), 400);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	unsetenv("GRADGUARD_MAX_BODY");
}
END_TEST

START_TEST(port_zero_prints_the_bound_port_and_sigterm_exits_zero)
{
	struct gg_server s;
	char line[64];

	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--log-format", "json", "--threads", "1", NULL}), 0);
	ck_assert_int_gt(s.port, 0);
	ck_assert_int_ne(s.port, 8080);
	snprintf(line, sizeof(line), "http://127.0.0.1:%d", s.port);
	ck_assert_str_eq(s.base, line);
	expect_healthy(&s);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* Every line of the JSON access log parses; the request's line names the
 * route pattern (not the raw path) and carries nothing from the body. */
START_TEST(json_access_log_names_the_route_pattern_and_no_body)
{
	struct gg_server s;
	struct gg_response r;
	char line[4096];
	bool found = false;
	FILE *f;

	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--log-format", "json", NULL}), 0);
	ck_assert_str_ne(s.log_path, "");
	ck_assert_int_eq(gg_request(&s, "PUT", "/sessions/log-test", JSON,
				    "{\"secret-marker\":1}", 19,
				    (const char *const[]){
					    "X-Request-Id: log-test-id", NULL},
				    &r), 0);
	ck_assert_int_eq(r.status, 422);
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	f = fopen(s.log_path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		cJSON *j = cJSON_ParseWithLength(line, strlen(line));
		const cJSON *id;

		ck_assert_msg(j != NULL, "not JSON: %s", line);
		ck_assert_ptr_null(strstr(line, "secret-marker"));
		id = cJSON_GetObjectItemCaseSensitive(j, "request_id");
		if (cJSON_IsString(id) && !strcmp(id->valuestring,
						  "log-test-id")) {
			found = true;
			ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(
				j, "route")->valuestring, "/sessions/{id}");
			ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(
				j, "method")->valuestring, "PUT");
			ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(
				j, "status")->valueint, 422);
			ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
				j, "bytes")));
			ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
				j, "duration_ms")));
		}
		cJSON_Delete(j);
	}
	fclose(f);
	ck_assert(found);
}
END_TEST

/* --store sqlite:DIR/sub/x.db creates the missing directories. */
START_TEST(sqlite_store_directory_is_created)
{
	const char *build = getenv("BUILD");
	char dir[512], db[600], url[640], cmd[700];
	struct gg_server s;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/tmp-store-%ld",
		 build && *build ? build : "build", (long)getpid());
	snprintf(db, sizeof(db), "%s/sub/gg.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", db);
	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--store", url, NULL}), 0);
	expect_healthy(&s);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	ck_assert_int_eq(stat(db, &st), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- overload ---------------------------------------------------------- */

struct slow_call {
	const struct gg_server *s;
	const char *body;
	size_t len;
	struct gg_response r;
};

static void *slow_post(void *arg)
{
	struct slow_call *c = arg;

	gg_request(c->s, "POST", "/normalize", JSON, c->body, c->len, NULL,
		   &c->r);
	return NULL;
}

/* {"op":"fit","data":[...]} with rows x cols one-digit numbers: takes
 * tens of milliseconds to parse. */
static char *big_fit_body(int rows, int cols, size_t *out_len)
{
	size_t len = 0, cap = (size_t)rows * (size_t)cols * 2 +
			      (size_t)rows * 4 + 64;
	char *body = malloc(cap);

	len += (size_t)snprintf(body, cap, "{\"op\":\"fit\",\"data\":[");
	for (int i = 0; i < rows; i++) {
		body[len++] = '[';
		for (int k = 0; k < cols; k++) {
			body[len++] = (char)('0' + (i + k) % 10);
			body[len++] = ',';
		}
		body[len - 1] = ']';
		body[len++] = ',';
	}
	len--;
	len += (size_t)snprintf(body + len, cap - len, "]}");
	*out_len = len;
	return body;
}

static double in_flight(const struct gg_server *s)
{
	struct gg_response r;
	double v = -1;

	if (gg_request(s, "GET", "/metrics", NULL, NULL, 0, NULL, &r) == 0)
		v = metric_value(r.body, "gradguard_http_requests_in_flight");
	gg_response_free(&r);
	return v;
}

/* SIGTERM while three slow requests are in flight: all three still get
 * their answer, then the process exits 0. */
START_TEST(sigterm_lets_requests_in_flight_finish)
{
	enum { N = 3 };
	struct slow_call calls[N];
	pthread_t th[N];
	struct gg_server s;
	size_t len;
	char *body = big_fit_body(500, 500, &len);
	bool seen = false;

	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--workers", "1", "--queue", "8", NULL}), 0);
	for (int i = 0; i < N; i++) {
		calls[i] = (struct slow_call){&s, body, len, {0}};
		pthread_create(&th[i], NULL, slow_post, &calls[i]);
	}
	/* all three requests (plus this /metrics one) are in the server */
	for (int tries = 0; tries < 20000 && !seen; tries++)
		seen = in_flight(&s) >= N + 1;
	ck_assert_int_eq(gg_server_stop(&s), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(calls[i].r.status == 200, "call %d: %ld %s", i,
			      calls[i].r.status, calls[i].r.body);
		gg_response_free(&calls[i].r);
	}
	free(body);
	ck_assert_msg(seen, "never saw the requests in flight together");
}
END_TEST

/* One worker, one queue slot, six requests that take long to parse: the
 * ones that find the queue full get 429 with Retry-After. */
START_TEST(full_queue_answers_429_with_retry_after)
{
	enum { N = 6 };
	struct slow_call calls[N];
	pthread_t th[N];
	struct gg_server s;
	size_t len;
	char *body = big_fit_body(500, 500, &len);
	int n429 = 0, answered = 0;

	ck_assert_int_eq(gg_server_start(&s, (const char *const[]){
		"--workers", "1", "--queue", "1", NULL}), 0);
	for (int i = 0; i < N; i++) {
		calls[i] = (struct slow_call){&s, body, len, {0}};
		pthread_create(&th[i], NULL, slow_post, &calls[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (calls[i].r.status)
			answered++;
		if (calls[i].r.status == 429) {
			n429++;
			ck_assert_str_eq(calls[i].r.retry_after, "1");
			cJSON_Delete(expect_problem(&calls[i].r, 429,
						    "/problems/overloaded",
						    "429"));
		}
		gg_response_free(&calls[i].r);
	}
	free(body);
	ck_assert_int_eq(answered, N);
	ck_assert_int_ge(n429, 1);
	ck_assert_int_le(n429, N - 1);
	expect_healthy(&s);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

static Suite *server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("bad input");

	tcase_add_unchecked_fixture(tc, shared_start, shared_stop);
	tcase_add_loop_test(tc,
		bad_input_is_answered_with_a_problem_and_the_server_lives_on,
		0, (int)N_BAD);
	tcase_add_test(tc, huge_content_length_is_refused_before_the_body_is_read);
	tcase_add_test(tc, chunked_body_growing_past_max_body_is_refused);
	tcase_add_test(tc, request_id_is_echoed_when_sane_and_generated_otherwise);
	tcase_add_test(tc, index_lists_the_routes_and_version);
	tcase_add_test(tc, readyz_openapi_and_head_answer);
	tcase_add_test(tc, metrics_parse_and_counters_move);
	tcase_add_test(tc, gradcheck_evaluations_reach_the_metrics);
	suite_add_tcase(s, tc);

	tc = tcase_create("process");
	tcase_add_test(tc, help_and_version_exit_zero);
	tcase_add_loop_test(tc, bad_flag_exits_two, 0,
			    (int)(sizeof(bad_flags) / sizeof(bad_flags[0])));
	tcase_add_test(tc, unusable_store_exits_one);
	tcase_add_test(tc, bad_env_value_exits_two);
	tcase_add_test(tc, env_sets_limits_and_a_flag_wins);
	tcase_add_test(tc, port_zero_prints_the_bound_port_and_sigterm_exits_zero);
	tcase_add_test(tc, json_access_log_names_the_route_pattern_and_no_body);
	tcase_add_test(tc, sqlite_store_directory_is_created);
	suite_add_tcase(s, tc);

	tc = tcase_create("overload");
	tcase_add_test(tc, full_queue_answers_429_with_retry_after);
	tcase_add_test(tc, sigterm_lets_requests_in_flight_finish);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(server_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr) + fixture_failures;
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
