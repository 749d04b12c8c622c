/* Request framing and request ids against the real daemon over raw
 * sockets: the smuggling shapes of RFC 9112 §6.1 and §6.3 are refused at
 * once and the connection closed (nothing after them is read as another
 * request); a client's X-Request-Id is kept only when it is
 * [A-Za-z0-9._:-]{1,64}, and nothing it holds reaches the log as a field. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"
#include "tests/lib/suite_run.h"

/* A refused request must be answered and closed well within this (the
 * daemon's idle time-out is 30 s; a keep-alive connection would sit). */
#define CLOSE_MS 10000

static const char body[] = "{\"op\": \"fit_transform\", \"data\": [[1, 2], [3, 4]]}";

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

struct shape {
	const char *name;
	const char *headers;  /* framing headers, each ending in \r\n */
	bool chunked;         /* the body as one chunk, or as it is */
	int status;
};

/* Each payload carries a second request after the first one's body as a
 * lenient parser would frame it: it must never be answered. */
#define SMUGGLED "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"

static const struct shape shapes[] = {
	{"CL and TE", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
	 true, 400},
	{"TE and CL", "Transfer-Encoding: chunked\r\nContent-Length: 200\r\n",
	 true, 400},
	{"two lengths", "Content-Length: 49\r\nContent-Length: 4\r\n",
	 false, 400},
	{"gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n",
	 true, 501},
	{"identity", "Transfer-Encoding: identity\r\n", false, 501},
	{"xchunked", "Transfer-Encoding: xchunked\r\n",
	 true, 501},
	{"chunked twice", "Transfer-Encoding: chunked\r\n"
	 "Transfer-Encoding: chunked\r\n", true, 501},
};

START_TEST(smuggling_shapes_are_refused_and_closed)
{
	const struct shape *c = &shapes[_i];
	struct gg_server s;
	char req[1024], tail[512], resp[8192], want[32];
	long long t0, dt;
	long n;
	int k;

	http_start(&s, NULL);
	if (c->chunked)
		snprintf(tail, sizeof(tail), "%zx\r\n%s\r\n0\r\n\r\n" SMUGGLED,
			 sizeof(body) - 1, body);
	else
		snprintf(tail, sizeof(tail), "%s" SMUGGLED, body);
	k = snprintf(req, sizeof(req), "POST /normalize HTTP/1.1\r\nHost: x\r\n"
		     "Content-Type: application/json\r\n%s\r\n%s", c->headers,
		     tail);
	ck_assert(k > 0 && (size_t)k < sizeof(req));
	t0 = now_ms();
	n = gg_raw(&s, req, (size_t)k, resp, sizeof(resp), CLOSE_MS);
	dt = now_ms() - t0;
	snprintf(want, sizeof(want), "HTTP/1.1 %d ", c->status);
	ck_assert_msg(n > 0 && !strncmp(resp, want, strlen(want)),
		      "%s: got '%.60s'", c->name, resp);
	ck_assert_msg(strstr(resp, "\r\nConnection: close\r\n") != NULL,
		      "%s: no Connection: close in %s", c->name, resp);
	/* closed by the server: gg_raw returned before its time-out */
	ck_assert_msg(dt < CLOSE_MS, "%s: still open after %lld ms", c->name,
		      dt);
	ck_assert_msg(count(resp, "HTTP/1.1 ") == 1, "%s: answered twice: %s",
		      c->name, resp);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* The framings that are fine still work, on a kept-alive connection. */
START_TEST(plain_framings_still_work)
{
	struct gg_server s;
	char req[1024], resp[8192];
	int k;

	http_start(&s, NULL);
	k = snprintf(req, sizeof(req),
		     "POST /normalize HTTP/1.1\r\nHost: x\r\n"
		     "Content-Type: application/json\r\n"
		     "Transfer-Encoding: Chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n"
		     "POST /normalize HTTP/1.1\r\nHost: x\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     sizeof(body) - 1, body, sizeof(body) - 1, sizeof(body) - 1,
		     body);
	ck_assert(k > 0 && (size_t)k < sizeof(req));
	ck_assert(gg_raw(&s, req, (size_t)k, resp, sizeof(resp), CLOSE_MS) > 0);
	ck_assert_msg(count(resp, "HTTP/1.1 200 ") == 2, "%s", resp);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* ---- request ids --------------------------------------------------------- */

static void call_with_id(const struct gg_server *s, const char *id,
			 char *echoed, size_t n)
{
	char h[256];
	const char *headers[] = {h, NULL};
	struct gg_response r;

	snprintf(h, sizeof(h), "X-Request-Id: %s", id);
	ck_assert_int_eq(gg_request(s, "GET", "/healthz", NULL, NULL, 0, headers,
				    &r), 0);
	ck_assert_int_eq(r.status, 200);
	snprintf(echoed, n, "%s", r.request_id);
	gg_response_free(&r);
}

static bool generated(const char *id)
{
	return strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16;
}

START_TEST(only_plain_request_ids_are_kept)
{
	static const char *const kept[] = {
		"a", "req-1_2.3:4", "0123456789012345678901234567890123456789"
		"012345678901234567890123",
	};
	static const char *const replaced[] = {
		"abc status=500 route=/admin", "a\"b", "a=b", "a/b", "a\\b",
		"0123456789012345678901234567890123456789012345678901234567890"
		"1234", "caf\xc3\xa9",
	};
	struct gg_server s;
	char got[128];

	http_start(&s, NULL);
	for (size_t i = 0; i < sizeof(kept) / sizeof(*kept); i++) {
		call_with_id(&s, kept[i], got, sizeof(got));
		ck_assert_str_eq(got, kept[i]);
	}
	for (size_t i = 0; i < sizeof(replaced) / sizeof(*replaced); i++) {
		call_with_id(&s, replaced[i], got, sizeof(got));
		ck_assert_msg(generated(got), "'%s' came back as '%s'",
			      replaced[i], got);
	}
	ck_assert_int_eq(gg_server_stop(&s), 0);
	if (s.log_path[0]) {
		ck_assert(http_file_has(s.log_path, " id=req-1_2.3:4 method=GET "
				   "route=/healthz status=200 "));
		ck_assert(!http_file_has(s.log_path, "route=/admin"));
		ck_assert(!http_file_has(s.log_path, "status=500"));
	}
}
END_TEST

static Suite *framing_suite(void)
{
	Suite *s = suite_create("framing");
	TCase *smug = tcase_create("smuggling"), *ids = tcase_create("ids");

	tcase_set_timeout(smug, 60);
	tcase_add_loop_test(smug, smuggling_shapes_are_refused_and_closed, 0,
			    (int)(sizeof(shapes) / sizeof(*shapes)));
	tcase_add_test(smug, plain_framings_still_work);
	tcase_add_test(ids, only_plain_request_ids_are_kept);
	suite_add_tcase(s, smug);
	suite_add_tcase(s, ids);
	return s;
}

int main(void)
{
	return suite_run(framing_suite());
}
