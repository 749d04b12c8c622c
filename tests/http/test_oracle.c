/* POST /gradcheck with the "oracle" source against the real daemon and an
 * in-test oracle (tests/lib/oracle_server.c) on a free loopback port:
 * verdicts and blame, sampled and directional checks, batching and
 * keep-alive, every way an oracle can misbehave (502/504), and the
 * allow-list (422 /oracle/url), including names that resolve elsewhere.
 * After each failure the daemon must still answer /healthz. */
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/oracle_server.h"
#include "tests/lib/suite_run.h"

#define NP 40   /* parameters: block A [4, 5], block B [20] */
#define BLOCKS "[{\"name\": \"A\", \"shape\": [4, 5]}, {\"name\": \"B\", \"shape\": [20]}]"
#define FLAT_BLOCKS "[{\"name\": \"A\", \"shape\": [20]}, {\"name\": \"B\", \"shape\": [20]}]"

struct fx {
	struct gg_server gg;
	struct oracle_server *os;
	unsigned port;
};

static void fx_start(struct fx *f, const char *const args[])
{
	ck_assert_int_eq(oracle_server_start(&f->os, &f->port), 0);
	ck_assert_msg(gg_server_start(&f->gg, args) == 0, "daemon did not start");
}

static void fx_stop(struct fx *f)
{
	ck_assert_int_eq(gg_server_stop(&f->gg), 0);
	oracle_server_stop(f->os);
}

static void theta_at(double *t)
{
	for (int i = 0; i < NP; i++)
		t[i] = 0.1 * (double)((i * 7) % 11) - 0.5;
}

/* A /gradcheck body: url (malloc'd, freed here), extra text inside "oracle"
 * and at the top level (each "" or starting with ", "), block B's gradient
 * scaled by scale_b. */
static char *body(char *url, const char *oracle_extra,
		  const char *top_extra, double scale_b, const char *blocks)
{
	size_t cap = 16384, len = 0;
	char *b = malloc(cap);
	double t[NP], g[NP];

	theta_at(t);
	oracle_test_grad(t, NP, g);
#define PUT(...) (len += (size_t)snprintf(b + len, cap - len, __VA_ARGS__))
	PUT("{\"oracle\": {\"url\": \"%s\"%s}, \"epsilon\": 1e-6%s", url, oracle_extra,
	    top_extra);
	if (blocks)
		PUT(", \"blocks\": %s", blocks);
	PUT(", \"theta\": [");
	for (int i = 0; i < NP; i++)
		PUT("%s%.17g", i ? ", " : "", t[i]);
	PUT("], \"gradient\": [");
	for (int i = 0; i < NP; i++)
		PUT("%s%.17g", i ? ", " : "", i >= 20 ? g[i] * scale_b : g[i]);
	PUT("]}");
#undef PUT
	free(url);
	ck_assert(len < cap);
	return b;
}

static char *url_of(const struct fx *f, const char *path)
{
	char *u = malloc(128);

	snprintf(u, 128, "http://127.0.0.1:%u%s", f->port, path);
	return u;
}

/* POSTs and returns the parsed answer; *status gets the status. */
static cJSON *check(const struct fx *f, char *b, long *status, char **text)
{
	struct gg_response r;
	cJSON *j;

	ck_assert_int_eq(gg_post_json(&f->gg, "/gradcheck", b, &r), 0);
	free(b);
	*status = r.status;
	j = gg_response_json(&r);
	ck_assert_msg(j != NULL, "not JSON: %s", r.body);
	if (text)
		*text = strdup(r.body);
	gg_response_free(&r);
	return j;
}

static const cJSON *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	ck_assert_msg(v != NULL, "no '%s'", k);
	return v;
}

static const cJSON *block(const cJSON *j, const char *name)
{
	const cJSON *b;

	cJSON_ArrayForEach(b, get(j, "blocks"))
		if (strcmp(get(b, "name")->valuestring, name) == 0)
			return b;
	ck_abort_msg("no block %s", name);
	return NULL;
}

static void healthz_ok(const struct fx *f)
{
	struct gg_response r;

	ck_assert_int_eq(gg_request(&f->gg, "GET", "/healthz", NULL, NULL, 0, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	gg_response_free(&r);
}

START_TEST(oracle_correct_gradient_passes_in_batches_on_reused_connections)
{
	struct fx f;
	struct oracle_stats st;
	long status;
	cJSON *j;
	double t[NP];

	fx_start(&f, NULL);
	j = check(&f, body(url_of(&f, "/ok"), ", \"batch_size\": 8", "", 1.0, NULL),
		  &status, NULL);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(get(j, "verdict")->valuestring, "pass");
	ck_assert_int_eq(get(j, "n_parameters")->valueint, NP);
	ck_assert_int_eq(get(j, "n_checked")->valueint, NP);
	ck_assert_int_eq(get(j, "evaluations")->valueint, 2 * NP);
	theta_at(t);
	ck_assert_double_eq_tol(get(j, "cost")->valuedouble, oracle_test_cost(t, NP), 1e-12);
	ck_assert_str_eq(get(block(j, "theta"), "verdict")->valuestring, "pass");
	cJSON_Delete(j);
	oracle_server_stats(f.os, &st);
	/* 80 perturbations and the base [0, 0], at most 8 per call */
	ck_assert_uint_eq(st.items, 2 * NP + 1);
	ck_assert_uint_le(st.max_items, 8);
	ck_assert_uint_ge(st.requests, 11);
	/* at most one keep-alive connection per request in flight */
	ck_assert_uint_ge(st.connections, 1);
	ck_assert_uint_le(st.connections, 4);
	healthz_ok(&f);
	fx_stop(&f);
}
END_TEST

/* 40 ms per call: 11 calls one after another would take 440 ms; four in
 * flight take about 120 ms. */
START_TEST(oracle_calls_overlap)
{
	struct fx f;
	struct oracle_stats st;
	long status;
	cJSON *j;

	fx_start(&f, NULL);
	j = check(&f, body(url_of(&f, "/lag"), ", \"batch_size\": 8", "", 1.0, NULL),
		  &status, NULL);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(get(j, "verdict")->valuestring, "pass");
	cJSON_Delete(j);
	oracle_server_stats(f.os, &st);
	ck_assert_uint_ge(st.max_inflight, 2);
	ck_assert_uint_le(st.max_inflight, 4);
	ck_assert_uint_le(st.connections, 4);
	fx_stop(&f);
}
END_TEST

START_TEST(oracle_wrong_block_fails_and_is_blamed)
{
	struct fx f;
	long status;
	cJSON *j;
	const cJSON *w;

	fx_start(&f, NULL);
	j = check(&f, body(url_of(&f, "/ok"), "", "", 1.5, BLOCKS), &status, NULL);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(get(j, "verdict")->valuestring, "fail");
	ck_assert_str_eq(get(block(j, "A"), "verdict")->valuestring, "pass");
	ck_assert_str_eq(get(block(j, "B"), "verdict")->valuestring, "fail");
	ck_assert_int_eq(cJSON_GetArraySize(get(block(j, "A"), "shape")), 2);
	w = cJSON_GetArrayItem(get(j, "worst"), 0);
	ck_assert_str_eq(get(w, "name")->valuestring, "B");
	cJSON_Delete(j);
	fx_stop(&f);
}
END_TEST

START_TEST(oracle_sampled_and_directional_checks)
{
	struct fx f;
	struct oracle_stats st;
	long status;
	cJSON *j;

	fx_start(&f, NULL);
	j = check(&f, body(url_of(&f, "/ok"), "", ", \"check\": {\"sample\": 10, \"seed\": 3}",
			   1.0, BLOCKS), &status, NULL);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(get(j, "verdict")->valuestring, "pass");
	ck_assert_int_eq(get(j, "n_checked")->valueint, 10);
	ck_assert_int_eq(get(j, "evaluations")->valueint, 20);
	ck_assert_int_ge(get(block(j, "A"), "n_checked")->valueint, 1);
	ck_assert_int_ge(get(block(j, "B"), "n_checked")->valueint, 1);
	cJSON_Delete(j);

	/* 1-D blocks only: shapes and indices have one entry */
	j = check(&f, body(url_of(&f, "/ok"), "", ", \"check\": {\"sample\": 4, \"seed\": 3}",
			   1.5, FLAT_BLOCKS), &status, NULL);
	ck_assert_int_eq(status, 200);
	ck_assert_int_eq(cJSON_GetArraySize(get(block(j, "A"), "shape")), 1);
	ck_assert_int_eq(cJSON_GetArraySize(get(block(j, "B"), "worst_index")), 1);
	ck_assert_str_eq(get(block(j, "B"), "verdict")->valuestring, "fail");
	cJSON_Delete(j);

	j = check(&f, body(url_of(&f, "/ok"), "", ", \"check\": {\"directions\": 6, \"seed\": 1}",
			   1.0, BLOCKS), &status, NULL);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(get(j, "verdict")->valuestring, "pass");
	ck_assert_int_eq(get(j, "evaluations")->valueint, 12);
	ck_assert(isfinite(get(j, "cost")->valuedouble));
	cJSON_Delete(j);

	j = check(&f, body(url_of(&f, "/ok"), "", ", \"check\": {\"directions\": 6, \"seed\": 1}",
			   1.5, BLOCKS), &status, NULL);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(get(block(j, "A"), "verdict")->valuestring, "pass");
	ck_assert_str_eq(get(block(j, "B"), "verdict")->valuestring, "fail");
	cJSON_Delete(j);
	oracle_server_stats(f.os, &st);
	/* samples: 20 + base and 8 + base; directions: 12 points + base, twice */
	ck_assert_uint_eq(st.items, 21 + 9 + 13 + 13);
	fx_stop(&f);
}
END_TEST

/* ---- misbehaving oracles ---------------------------------------------------- */

struct bad_case {
	const char *path;          /* NULL: a closed port */
	const char *oracle_extra;
	const char *top_extra;
	long status;
	const char *needle;
};

static const struct bad_case bad_cases[] = {
	{"/close", "", "", 502, "curl error"},
	{"/short", "", "", 502, "costs for"},
	{"/null", "", "", 502, "/costs/0"},
	{"/inf", "", "", 502, "/costs/0"},
	{"/bigstr", "", "", 502, "/costs/0"},
	{"/html", "", "", 502, "not JSON"},
	{"/500", "", "", 502, "HTTP 500"},
	{"/redirect", "", "", 502, "redirects are not followed"},
	{"/huge", "", "", 502, "exceeds"},
	{"/chunked", "", "", 502, "exceeds"},
	{NULL, "", "", 502, "curl error 7"},
	{"/slow", ", \"timeout_ms\": 150", ", \"deadline_ms\": 5000", 504, "timeout_ms 150"},
	{"/slow", "", ", \"deadline_ms\": 300", 504, "deadline"},
};

static unsigned closed_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

START_TEST(oracle_misbehaviour_is_an_upstream_error)
{
	const struct bad_case *c = &bad_cases[_i];
	struct fx f;
	long status;
	char *text = NULL, *url;
	cJSON *j;

	fx_start(&f, NULL);
	if (c->path) {
		url = url_of(&f, c->path);
	} else {
		url = malloc(64);
		snprintf(url, 64, "http://127.0.0.1:%u/ok", closed_port());
	}
	j = check(&f, body(url, c->oracle_extra, c->top_extra, 1.0, NULL), &status, &text);
	ck_assert_msg(status == c->status, "%s: status %ld: %s", c->path, status, text);
	ck_assert_msg(strstr(get(j, "detail")->valuestring, c->needle) != NULL,
		      "%s: no '%s' in %s", c->path, c->needle, text);
	free(text);
	cJSON_Delete(j);
	healthz_ok(&f);
	/* a good check still works afterwards */
	j = check(&f, body(url_of(&f, "/ok"), "", "", 1.0, NULL), &status, NULL);
	ck_assert_int_eq(status, 200);
	cJSON_Delete(j);
	fx_stop(&f);
}
END_TEST

/* An oracle's problems state its status, content type and size, never its
 * content: a loopback service's answer must not read through the 502. */
static const char *const secret_paths[] = {"/secret", "/secret_500", "/secret_cost"};

START_TEST(oracle_problems_never_echo_the_answer)
{
	const char *path = secret_paths[_i];
	struct fx f;
	long status;
	char *text = NULL;
	cJSON *j;

	fx_start(&f, NULL);
	j = check(&f, body(url_of(&f, path), "", "", 1.0, NULL), &status, &text);
	ck_assert_msg(status == 502, "%s: status %ld: %s", path, status, text);
	ck_assert_msg(strstr(text, "SECRET") == NULL && strstr(text, "hunter2") == NULL &&
		      strstr(text, "token") == NULL,
		      "%s: the oracle's answer reads through: %s", path, text);
	/* what it may say: the status, the content type, the size */
	if (strcmp(path, "/secret_cost") != 0) {
		char want[96];

		snprintf(want, sizeof(want), "HTTP %d, Content-Type text/plain, %zu bytes",
			 strcmp(path, "/secret") ? 500 : 200, strlen(OS_SECRET));
		ck_assert_msg(strstr(get(j, "detail")->valuestring, want) != NULL,
			      "%s: no '%s' in %s", path, want, text);
	}
	free(text);
	cJSON_Delete(j);
	fx_stop(&f);
}
END_TEST

/* ---- the allow-list ------------------------------------------------------------ */

/* tmpl with its one "%u" replaced by port (tables of templates). */
static void with_port(char *out, size_t n, const char *tmpl, unsigned port)
{
	const char *at = strstr(tmpl, "%u");

	ck_assert_ptr_nonnull(at);
	snprintf(out, n, "%.*s%u%s", (int)(at - tmpl), tmpl, port, at + 2);
}

struct url_case {
	const char *allow;         /* --oracle-allow, NULL: default */
	const char *url;           /* %u: the oracle's port */
	long status;
	const char *needle;
};

static const struct url_case url_cases[] = {
	{NULL, "http://10.1.2.3:%u/ok", 422, "not on the server's allow-list"},
	{NULL, "ftp://127.0.0.1:%u/ok", 422, "scheme"},
	{NULL, "file:///etc/passwd#%u", 422, ""},
	{NULL, "http://user:pw@127.0.0.1:%u/ok", 422, "credentials"},
	{NULL, "127.0.0.1:%u", 422, ""},
	{NULL, "http://example.com:%u/ok", 422, "not on the server's allow-list"},
	{"0.0.0.0/0", "http://169.254.169.254:%u/latest", 422, "allow-list"},
	{"localhost", "http://127.0.0.2:%u/ok", 422, "allow-list"},
	/* a listed name whose addresses are not listed */
	{"localhost", "http://localhost:%u/ok", 422, "resolved to"},
	/* listed name, ::1 listed, but the oracle is on 127.0.0.1 only */
	{"localhost,::1", "http://localhost:%u/ok", 422, "127.0.0.1"},
	{"localhost,127.0.0.1", "http://localhost:%u/ok", 200, NULL},
	{"127.0.0.1", "http://127.0.0.1:%u/ok", 200, NULL},
	{"none", "http://127.0.0.1:%u/ok", 422, "allow-list"},
};

START_TEST(oracle_url_must_be_on_the_allow_list)
{
	const struct url_case *c = &url_cases[_i];
	const char *args[] = {"--oracle-allow", c->allow, NULL};
	struct fx f;
	long status;
	char *text = NULL, *url = malloc(128);
	cJSON *j;

	fx_start(&f, c->allow ? args : NULL);
	with_port(url, 128, c->url, f.port);
	j = check(&f, body(url, "", "", 1.0, NULL), &status, &text);
	ck_assert_msg(status == c->status, "%s (allow %s): status %ld: %s", url,
		      c->allow, status, text);
	if (c->status == 422) {
		const cJSON *e = cJSON_GetArrayItem(get(j, "errors"), 0);

		ck_assert_str_eq(get(e, "pointer")->valuestring, "/oracle/url");
		ck_assert_msg(strstr(get(e, "detail")->valuestring, c->needle) != NULL,
			      "no '%s' in %s", c->needle, text);
	} else {
		ck_assert_str_eq(get(j, "verdict")->valuestring, "pass");
	}
	free(text);
	cJSON_Delete(j);
	healthz_ok(&f);
	fx_stop(&f);
}
END_TEST

/* ---- request validation --------------------------------------------------------- */

START_TEST(oracle_request_fields_are_validated)
{
	static const struct {
		const char *json;   /* %u: port */
		const char *pointer;
	} cases[] = {
		{"{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\"}, \"theta\": [1, 2], "
		 "\"gradient\": [1]}", "/gradient"},
		{"{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\"}, \"gradient\": [1]}", "/theta"},
		{"{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\"}, \"theta\": [1, 2], "
		 "\"gradient\": [1, 2], \"blocks\": [{\"name\": \"a\", \"shape\": [3]}]}", "/blocks"},
		{"{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\"}, \"theta\": [1, 2], "
		 "\"gradient\": [1, 2], \"blocks\": [{\"name\": \"a\", \"shape\": [1]}]}", "/blocks"},
		{"{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\", \"batch_size\": 0}, "
		 "\"theta\": [1], \"gradient\": [1]}", "/oracle/batch_size"},
		{"{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\", \"batch_size\": 4097}, "
		 "\"theta\": [1], \"gradient\": [1]}", "/oracle/batch_size"},
		{"{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\", \"timeout_ms\": 0}, "
		 "\"theta\": [1], \"gradient\": [1]}", "/oracle/timeout_ms"},
		{"{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\", \"headers\": {}}, "
		 "\"theta\": [1], \"gradient\": [1]}", "/oracle/headers"},
		{"{\"oracle\": {\"url\": \"http://127.0.0.1:%u/ok\"}, \"theta\": [1, 2], "
		 "\"gradient\": [1, 2], \"blocks\": [{\"name\": \"a\", \"shape\": [1]}, "
		 "{\"name\": \"a\", \"shape\": [1]}]}", "/blocks/1"},
	};
	struct fx f;
	struct oracle_stats st;

	fx_start(&f, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char b[512];
		long status;
		char *text = NULL;
		cJSON *j;
		const cJSON *e;

		with_port(b, sizeof(b), cases[i].json, f.port);
		j = check(&f, strdup(b), &status, &text);
		ck_assert_msg(status == 422, "case %zu: %ld %s", i, status, text);
		e = cJSON_GetArrayItem(get(j, "errors"), 0);
		ck_assert_msg(e && strcmp(get(e, "pointer")->valuestring, cases[i].pointer) == 0,
			      "case %zu: want %s: %s", i, cases[i].pointer, text);
		free(text);
		cJSON_Delete(j);
	}
	oracle_server_stats(f.os, &st);
	ck_assert_uint_eq(st.requests, 0);
	fx_stop(&f);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("oracle");
	TCase *tc = tcase_create("check");
	TCase *bad = tcase_create("errors");
	TCase *allow = tcase_create("allow");

	tcase_set_timeout(tc, 60);
	tcase_set_timeout(bad, 60);
	tcase_set_timeout(allow, 60);
	tcase_add_test(tc, oracle_correct_gradient_passes_in_batches_on_reused_connections);
	tcase_add_test(tc, oracle_calls_overlap);
	tcase_add_test(tc, oracle_wrong_block_fails_and_is_blamed);
	tcase_add_test(tc, oracle_sampled_and_directional_checks);
	tcase_add_test(tc, oracle_request_fields_are_validated);
	tcase_add_loop_test(bad, oracle_problems_never_echo_the_answer, 0,
			    (int)(sizeof(secret_paths) / sizeof(*secret_paths)));
	tcase_add_loop_test(bad, oracle_misbehaviour_is_an_upstream_error, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_loop_test(allow, oracle_url_must_be_on_the_allow_list, 0,
			    (int)(sizeof(url_cases) / sizeof(url_cases[0])));
	suite_add_tcase(s, tc);
	suite_add_tcase(s, bad);
	suite_add_tcase(s, allow);
	return s;
}

int main(void)
{
	return suite_run(suite());
}
