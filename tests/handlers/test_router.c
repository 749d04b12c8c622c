/* Server pieces without sockets: route matching (404 vs 405 + Allow),
 * the content-type check, config (flags, env, precedence, bad numbers),
 * problem printing and the metrics exposition. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/buf.h"
#include "handlers/problem.h"
#include "handlers/store.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/ops.h"
#include "server/reply.h"
#include "server/router.h"
#include "server/routes.h"
#include "tests/lib/suite_run.h"

static void h_a(struct hctx *c, const cJSON *b, struct hres *r)
{
	(void)c, (void)b, (void)r;
}

static const struct route table[] = {
	{"GET", "/", h_a, 0},
	{"GET", "/healthz", h_a, 0},
	{"POST", "/normalize", h_a, ROUTE_JSON},
	{"GET", "/sessions/{id}", h_a, 0},
	{"PUT", "/sessions/{id}", h_a, ROUTE_JSON},
	{"DELETE", "/sessions/{id}", h_a, 0},
	{"GET", "/a/{x}/b", h_a, 0},
};
#define N_TABLE (sizeof(table) / sizeof(table[0]))

static const struct {
	const char *method, *path;
	unsigned status;
	int row;
	const char *param, *allow;
} match_cases[] = {
	{"GET", "/", 200, 0, "", NULL},
	{"HEAD", "/", 200, 0, "", NULL},
	{"GET", "/healthz", 200, 1, "", NULL},
	{"GET", "/healthz/", 404, -1, "", NULL},
	{"GET", "/healthzz", 404, -1, "", NULL},
	{"GET", "/Healthz", 404, -1, "", NULL},
	{"GET", "", 404, -1, "", NULL},
	{"POST", "/normalize", 200, 2, "", NULL},
	{"GET", "/normalize", 405, -1, "", "POST"},
	{"POST", "/normalize/", 404, -1, "", NULL},
	{"POST", "/healthz", 405, -1, "", "GET, HEAD"},
	{"GET", "/sessions/abc", 200, 3, "abc", NULL},
	{"PUT", "/sessions/abc.1-x_y", 200, 4, "abc.1-x_y", NULL},
	{"DELETE", "/sessions/z", 200, 5, "z", NULL},
	{"PATCH", "/sessions/z", 405, -1, "", "GET, HEAD, PUT, DELETE"},
	{"POST", "/sessions/z", 405, -1, "", "GET, HEAD, PUT, DELETE"},
	{"GET", "/sessions/", 404, -1, "", NULL},
	{"GET", "/sessions", 404, -1, "", NULL},
	/* a parameter that ends the pattern takes the rest of the path, so
	 * that the handler's id validation answers (422), not the router */
	{"GET", "/sessions/a/b", 200, 3, "a/b", NULL},
	{"GET", "/sessions/a/", 200, 3, "a/", NULL},
	{"GET", "/a/q/b", 200, 6, "q", NULL},
	{"GET", "/a//b", 404, -1, "", NULL},
	{"DELETE", "/a/q/b", 405, -1, "", "GET, HEAD"},
};

START_TEST(router_matches_routes_from_the_table)
{
	struct route_match m;

	router_match(table, N_TABLE, match_cases[_i].method,
		     match_cases[_i].path, &m);
	ck_assert_msg(m.status == match_cases[_i].status, "%s %s: %u",
		      match_cases[_i].method, match_cases[_i].path, m.status);
	ck_assert_int_eq(m.row, match_cases[_i].row);
	ck_assert_str_eq(m.param, match_cases[_i].param);
	if (m.status == 404)
		ck_assert_int_eq(m.path_row, -1);
	else
		ck_assert_int_ge(m.path_row, 0);
	if (match_cases[_i].allow)
		ck_assert_str_eq(m.allow, match_cases[_i].allow);
}
END_TEST

START_TEST(router_cuts_an_overlong_path_parameter_for_validation)
{
	char path[600];
	struct route_match m;

	snprintf(path, sizeof(path), "/sessions/");
	memset(path + 10, 'a', 500);
	path[510] = '\0';
	router_match(table, N_TABLE, "GET", path, &m);
	ck_assert_uint_eq(m.status, 200);
	ck_assert_uint_eq(strlen(m.param), ROUTER_PARAM_MAX - 1);
}
END_TEST

START_TEST(service_table_has_unique_method_and_pattern_pairs)
{
	size_t n;
	const struct route *t = routes_table(&n);

	ck_assert_uint_ge(n, 10);
	for (size_t i = 0; i < n; i++) {
		struct route_match m;

		ck_assert(t[i].fn != NULL);
		for (size_t k = i + 1; k < n; k++)
			ck_assert(strcmp(t[i].method, t[k].method) ||
				  strcmp(t[i].pattern, t[k].pattern));
		if (!strchr(t[i].pattern, '{')) {
			router_match(t, n, t[i].method, t[i].pattern, &m);
			ck_assert_int_eq(m.row, (int)i);
		}
		/* bodies are only parsed where a body means something */
		if (t[i].flags & ROUTE_JSON)
			ck_assert(!strcmp(t[i].method, "POST") ||
				  !strcmp(t[i].method, "PUT"));
	}
}
END_TEST

static const struct {
	const char *ct;
	bool ok;
} ct_cases[] = {
	{"application/json", true},
	{"application/json; charset=utf-8", true},
	{"Application/JSON;charset=UTF-8", true},
	{"  application/json  ", true},
	{"application/json ; x=y", true},
	{"application/jsonx", false},
	{"application/json-seq", false},
	{"application/problem+json", false},
	{"text/json", false},
	{"text/plain", false},
	{"", false},
	{NULL, false},
};

START_TEST(content_type_check_allows_parameters_only)
{
	ck_assert_msg(router_is_json_type(ct_cases[_i].ct) == ct_cases[_i].ok,
		      "'%s'", ct_cases[_i].ct ? ct_cases[_i].ct : "(null)");
}
END_TEST

/* ---- config ------------------------------------------------------------- */

static int load(struct config *c, char *const argv[], char *const envp[],
		char *err)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return config_load(c, argc, argv, envp, err, 256);
}

START_TEST(config_defaults_without_flags_or_env)
{
	struct config c;
	struct limits l;
	char err[256];

	ck_assert_int_eq(load(&c, (char *[]){"gg", NULL}, NULL, err), 0);
	limits_default(&l);
	ck_assert_uint_eq(c.port, 8080);
	ck_assert_str_eq(c.bind, "127.0.0.1");
	ck_assert_uint_eq(c.queue, 64);
	ck_assert_uint_ge(c.threads, 1);
	ck_assert_uint_ge(c.workers, 1);
	ck_assert_str_eq(c.store, "sqlite:./var/gradguard.db");
	ck_assert_uint_eq(c.limits.max_body, l.max_body);
	ck_assert_uint_eq(c.limits.deadline_ms, l.deadline_ms);
	ck_assert_int_eq(c.log_format, LOG_TEXT);
	ck_assert(!c.help && !c.version);
}
END_TEST

START_TEST(config_reads_every_flag_in_both_spellings)
{
	struct config c;
	char err[256];
	char *argv[] = {"gg", "--port", "0", "--bind=::1", "--threads", "3",
			"--workers=5", "--queue", "7", "--store", "memory:",
			"--max-body", "1234", "--deadline-ms=250",
			"--max-elements", "11", "--max-parameters", "12",
			"--max-evaluations", "13", "--max-sessions", "14",
			"--log-format", "json", NULL};

	ck_assert_int_eq(load(&c, argv, NULL, err), 0);
	ck_assert_uint_eq(c.port, 0);
	ck_assert_str_eq(c.bind, "::1");
	ck_assert_uint_eq(c.threads, 3);
	ck_assert_uint_eq(c.workers, 5);
	ck_assert_uint_eq(c.queue, 7);
	ck_assert_str_eq(c.store, "memory:");
	ck_assert_uint_eq(c.limits.max_body, 1234);
	ck_assert_uint_eq(c.limits.deadline_ms, 250);
	ck_assert_uint_eq(c.limits.max_elements, 11);
	ck_assert_uint_eq(c.limits.max_parameters, 12);
	ck_assert_uint_eq(c.limits.max_evaluations, 13);
	ck_assert_uint_eq(c.limits.max_sessions, 14);
	ck_assert_int_eq(c.log_format, LOG_JSON);
}
END_TEST

START_TEST(config_env_applies_and_a_flag_wins)
{
	struct config c;
	char err[256];
	char *envp[] = {"PATH=/bin", "GRADGUARD_MAX_BODY=100",
			"GRADGUARD_PORT=9000", "GRADGUARD_LOG_FORMAT=json",
			"GRADGUARD_STORE=memory:", "GRADGUARD_MAX_BODYX=5",
			NULL};

	ck_assert_int_eq(load(&c, (char *[]){"gg", NULL}, envp, err), 0);
	ck_assert_uint_eq(c.limits.max_body, 100);
	ck_assert_uint_eq(c.port, 9000);
	ck_assert_int_eq(c.log_format, LOG_JSON);
	ck_assert_str_eq(c.store, "memory:");
	ck_assert_int_eq(load(&c, (char *[]){"gg", "--max-body", "7", NULL},
			      envp, err), 0);
	ck_assert_uint_eq(c.limits.max_body, 7);
	ck_assert_uint_eq(c.port, 9000);
}
END_TEST

static const char *const bad_args[][3] = {
	{"--port", "65536", NULL},
	{"--port", "-1", NULL},
	{"--port", "+80", NULL},
	{"--port", " 80", NULL},
	{"--port", "80 ", NULL},
	{"--port", "0x50", NULL},
	{"--port", "", NULL},
	{"--threads", "0", NULL},
	{"--queue", "1e3", NULL},
	{"--max-body", "18446744073709551616", NULL},
	{"--deadline-ms", "4294967296", NULL},
	{"--max-body", NULL, NULL},
	{"--log-format", "yaml", NULL},
	{"--store", "", NULL},
	{"--nope", NULL, NULL},
	{"-p", "80", NULL},
	{"--help=yes", NULL, NULL},
	{"--", NULL, NULL},
};

START_TEST(config_refuses_bad_values_with_a_message)
{
	struct config c;
	char err[256] = "";
	char *argv[4] = {"gg", (char *)bad_args[_i][0], (char *)bad_args[_i][1],
			 NULL};

	ck_assert_int_eq(load(&c, argv, NULL, err), -1);
	ck_assert_msg(err[0] != '\0', "no message for %s", bad_args[_i][0]);
}
END_TEST

START_TEST(config_refuses_a_bad_env_value_naming_the_variable)
{
	struct config c;
	char err[256] = "";

	ck_assert_int_eq(load(&c, (char *[]){"gg", NULL},
			      (char *[]){"GRADGUARD_WORKERS=two", NULL}, err),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "GRADGUARD_WORKERS"));
}
END_TEST

START_TEST(config_help_and_version_are_flags)
{
	struct config c;
	char err[256];

	ck_assert_int_eq(load(&c, (char *[]){"gg", "--help", NULL}, NULL, err),
			 0);
	ck_assert(c.help);
	ck_assert_int_eq(load(&c, (char *[]){"gg", "--version", NULL}, NULL,
			      err), 0);
	ck_assert(c.version);
}
END_TEST

/* ---- problem printing --------------------------------------------------- */

START_TEST(problem_prints_as_rfc9457_json)
{
	struct problem p;
	struct buf b;
	cJSON *j, *errs, *e;

	problem_init(&p);
	problem_add(&p, PROB_SHAPE_MISMATCH, "/data/3",
		    "row 3 has %d values, row 0 has %d", 2, 3);
	problem_add(&p, PROB_NON_FINITE, "/a~1b/0", "a \"quoted\"\n\\ é");
	buf_init(&b, 0);
	reply_problem(&b, &p, "req-1");
	ck_assert(!b.failed);
	j = cJSON_ParseWithLength(b.data, b.len);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "type")->valuestring,
			 "/problems/shape-mismatch");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "title")->valuestring,
			 problem_title(PROB_SHAPE_MISMATCH));
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->valueint,
			 422);
	ck_assert_str_eq(
		cJSON_GetObjectItemCaseSensitive(j, "detail")->valuestring,
		"/data/3: row 3 has 2 values, row 0 has 3");
	ck_assert_str_eq(
		cJSON_GetObjectItemCaseSensitive(j, "instance")->valuestring,
		"req-1");
	errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
	ck_assert_int_eq(cJSON_GetArraySize(errs), 2);
	e = errs->child->next;
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "pointer")
			 ->valuestring, "/a~1b/0");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(e, "detail")
			 ->valuestring, "a \"quoted\"\n\\ é");
	cJSON_Delete(j);
	buf_free(&b);
}
END_TEST

START_TEST(problem_without_errors_has_an_empty_list_and_counts_drops)
{
	struct problem p;
	struct buf b;
	cJSON *j;

	problem_init(&p);
	problem_set(&p, PROB_OVERLOADED, "busy");
	buf_init(&b, 0);
	reply_problem(&b, &p, NULL);
	j = cJSON_ParseWithLength(b.data, b.len);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->valueint,
			 429);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
				 j, "errors")), 0);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(j, "instance"));
	cJSON_Delete(j);
	buf_free(&b);

	problem_init(&p);
	for (int i = 0; i < PROBLEM_MAX_ERRORS + 5; i++)
		problem_add(&p, PROB_INVALID, "/x", "bad %d", i);
	buf_init(&b, 0);
	reply_problem(&b, &p, "r");
	j = cJSON_ParseWithLength(b.data, b.len);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
				 j, "errors")), PROBLEM_MAX_ERRORS);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "errors_dropped")
			 ->valueint, 5);
	cJSON_Delete(j);
	buf_free(&b);
}
END_TEST

/* ---- metrics ------------------------------------------------------------ */

START_TEST(metrics_count_by_pattern_method_and_status)
{
	struct metrics *m = metrics_new(table, N_TABLE);
	struct buf b;

	ck_assert_ptr_nonnull(m);
	metrics_observe(m, 3, "GET", 200, 1000000);     /* /sessions/{id} */
	metrics_observe(m, 4, "PUT", 200, 3000000);
	metrics_observe(m, 4, "PUT", 200, 2000000000);
	metrics_observe(m, -1, "GET", 404, 1000);
	metrics_observe(m, 1, "BREW", 405, 1000);
	metrics_add_evaluations(m, 40);
	metrics_in_flight_add(m, 2);
	buf_init(&b, 0);
	metrics_write(m, &b, 5);
	ck_assert_ptr_nonnull(strstr(b.data, "gradguard_http_requests_total{"
		"route=\"/sessions/{id}\",method=\"PUT\",status=\"200\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "gradguard_http_requests_total{"
		"route=\"/sessions/{id}\",method=\"GET\",status=\"200\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "{route=\"unmatched\",method="
				     "\"GET\",status=\"404\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "{route=\"/healthz\",method="
				     "\"OTHER\",status=\"405\"} 1\n"));
	/* 1 ms and 3 ms are under 5 ms, 2 s is not */
	ck_assert_ptr_nonnull(strstr(b.data, "_bucket{route=\"/sessions/{id}"
				     "\",le=\"0.005\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "_bucket{route=\"/sessions/{id}"
				     "\",le=\"+Inf\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "_count{route=\"/sessions/{id}"
				     "\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "_sum{route=\"/sessions/{id}\"} "
				     "2.004000000\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "gradguard_gradcheck_evaluations"
				     "_total 40\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "gradguard_http_requests_in_"
				     "flight 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "gradguard_sessions 5\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "gradguard_build_info{version="
				     "\"0.1.0\"} 1\n"));
	buf_free(&b);
	metrics_free(m);
	metrics_free(NULL);
}
END_TEST

/* ---- operational routes ------------------------------------------------ */

static enum store_status fake_status;

static enum store_status fake_ping(struct store *s)
{
	(void)s;
	return fake_status;
}

static const struct store_ops fake_ops = {.name = "fake", .ping = fake_ping};

START_TEST(readyz_follows_the_store_ping)
{
	struct store st = {.ops = &fake_ops};
	struct limits l;
	struct hctx ctx = {0};
	struct hres res;

	limits_default(&l);
	ctx.limits = &l;
	ctx.store = &st;
	fake_status = STORE_OK;
	hres_init(&res, 1 << 20);
	handle_readyz(&ctx, NULL, &res);
	ck_assert(!problem_is_set(&res.problem));
	ck_assert_str_eq(res.body.data, "{\"status\":\"ready\"}");
	hres_free(&res);

	fake_status = STORE_UNAVAILABLE;
	hres_init(&res, 1 << 20);
	handle_readyz(&ctx, NULL, &res);
	ck_assert_int_eq(res.problem.kind, PROB_STORE_UNAVAILABLE);
	ck_assert_uint_eq(problem_status(res.problem.kind), 503);
	hres_free(&res);

	ctx.store = NULL;
	hres_init(&res, 1 << 20);
	handle_readyz(&ctx, NULL, &res);
	ck_assert_int_eq(res.problem.kind, PROB_STORE_UNAVAILABLE);
	hres_free(&res);
}
END_TEST

START_TEST(healthz_index_and_openapi_answer_json)
{
	struct hctx ctx = {0};
	struct hres res;
	cJSON *j;
	size_t n;

	routes_table(&n);
	hres_init(&res, 1 << 20);
	handle_healthz(&ctx, NULL, &res);
	ck_assert_str_eq(res.body.data, "{\"status\":\"ok\"}");
	hres_free(&res);

	hres_init(&res, 1 << 20);
	handle_index(&ctx, NULL, &res);
	j = cJSON_ParseWithLength(res.body.data, res.body.len);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
				 j, "endpoints")), (int)n);
	cJSON_Delete(j);
	hres_free(&res);

	hres_init(&res, 1 << 20);
	handle_openapi(&ctx, NULL, &res);
	j = cJSON_ParseWithLength(res.body.data, res.body.len);
	ck_assert(cJSON_IsObject(j));
	cJSON_Delete(j);
	hres_free(&res);

	/* /metrics needs the server's counters */
	hres_init(&res, 1 << 20);
	handle_metrics(&ctx, NULL, &res);
	ck_assert_int_eq(res.problem.kind, PROB_INTERNAL);
	hres_free(&res);
}
END_TEST

/* %XX is decoded, except %00: a NUL would end the path (and a session id
 * in it) early, after the id was checked. */
START_TEST(unescape_decodes_all_but_nul)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "/sessions/victim%00%ff", "/sessions/victim%00\xff" },
		{ "/sessions/victim%00x", "/sessions/victim%00x" },
		{ "%41%62%2F%2f", "Ab//" },
		{ "%zz%4%", "%zz%4%" },
		{ "%0%00%000", "%0%00%000" },
		{ "plain", "plain" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];
		size_t n;

		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		n = router_unescape(buf);
		ck_assert_str_eq(buf, cases[i].out);
		ck_assert_uint_eq(n, strlen(cases[i].out));
	}
}
END_TEST

static Suite *router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("routes");

	tcase_add_loop_test(tc, router_matches_routes_from_the_table, 0,
			    (int)(sizeof(match_cases) / sizeof(match_cases[0])));
	tcase_add_test(tc, router_cuts_an_overlong_path_parameter_for_validation);
	tcase_add_test(tc, service_table_has_unique_method_and_pattern_pairs);
	tcase_add_test(tc, unescape_decodes_all_but_nul);
	tcase_add_loop_test(tc, content_type_check_allows_parameters_only, 0,
			    (int)(sizeof(ct_cases) / sizeof(ct_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, config_defaults_without_flags_or_env);
	tcase_add_test(tc, config_reads_every_flag_in_both_spellings);
	tcase_add_test(tc, config_env_applies_and_a_flag_wins);
	tcase_add_loop_test(tc, config_refuses_bad_values_with_a_message, 0,
			    (int)(sizeof(bad_args) / sizeof(bad_args[0])));
	tcase_add_test(tc, config_refuses_a_bad_env_value_naming_the_variable);
	tcase_add_test(tc, config_help_and_version_are_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("problems");
	tcase_add_test(tc, problem_prints_as_rfc9457_json);
	tcase_add_test(tc, problem_without_errors_has_an_empty_list_and_counts_drops);
	suite_add_tcase(s, tc);

	tc = tcase_create("metrics");
	tcase_add_test(tc, metrics_count_by_pattern_method_and_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("ops");
	tcase_add_test(tc, readyz_follows_the_store_ping);
	tcase_add_test(tc, healthz_index_and_openapi_answer_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(router_suite());
}
