/* Session lifetimes over HTTP (contract v1.1 "Session lifetimes"): a
 * session written with "ttl": 1 answers 404 two seconds later on every
 * store; --session-ttl and --anonymous-ttl give the defaults; expires_at in
 * every session response; reads do not extend a lifetime; a fit_transform
 * without session stores nothing and never meets the session limit. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/stores.h"
#include "tests/lib/suite_run.h"

static struct gg_store store;

/* Starts a daemon on store i with extra args (NULL-terminated, <= 6). */
static void start(struct gg_server *s, int i, const char *const extra[])
{
	const char *args[10] = { "--store", store.url };
	int n = 2;

	ck_assert_int_eq(gg_store_setup(&store, i), 0);
	for (; extra && *extra && n < 9; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	ck_assert_int_eq(gg_server_start(s, args), 0);
}

static void stop(struct gg_server *s)
{
	ck_assert_int_eq(gg_server_stop(s), 0);
	ck_assert_int_eq(gg_store_teardown(&store), 0);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The status of GET /sessions/id. */
static long get_status(const struct gg_server *s, const char *id)
{
	struct gg_response r;
	char path[128];
	long st;

	snprintf(path, sizeof(path), "/sessions/%s", id);
	gg_request(s, "GET", path, NULL, NULL, 0, NULL, &r);
	st = r.status;
	gg_response_free(&r);
	return st;
}

/* Polls GET /sessions/id until 404 or the deadline (seconds from now);
 * returns the last status. No fixed sleep decides the outcome: a session
 * that never expires fails, one that does passes however loaded the
 * machine is. */
static long poll_until_gone(const struct gg_server *s, const char *id,
			    double deadline)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	double until = mono_s() + deadline;
	long st;

	while ((st = get_status(s, id)) == 200 && mono_s() < until)
		nanosleep(&nap, NULL);
	return st;
}

static const char put_body[] =
	"{\"n_samples_seen\":2,\"mean\":[1],\"var\":[1]}";

/* POST /normalize body; returns the parsed response (status in *status). */
static cJSON *post(const struct gg_server *s, const char *body, long *status)
{
	struct gg_response r;
	cJSON *j;

	gg_post_json(s, "/normalize", body, &r);
	*status = r.status;
	j = gg_response_json(&r);
	gg_response_free(&r);
	return j;
}

static const char *str_member(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Parses "YYYY-MM-DDTHH:MM:SS.mmmZ" into Unix seconds. */
static double rfc3339(const char *t)
{
	struct tm tm;
	int ms = 0;

	memset(&tm, 0, sizeof(tm));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(sscanf(t, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year,
				&tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
				&tm.tm_min, &tm.tm_sec, &ms), 7);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) + ms / 1000.0;
}

START_TEST(a_session_with_ttl_1_is_gone_two_seconds_later)
{
	struct gg_server s;
	long st;
	cJSON *j;
	double t0;

	start(&s, _i, NULL);
	t0 = mono_s();
	j = post(&s, "{\"op\":\"fit\",\"session\":\"brief\",\"ttl\":1,"
		 "\"data\":[[1],[3]]}", &st);
	ck_assert_int_eq(st, 200);
	/* expires_at = updated by the store + 1 s, in RFC 3339 UTC */
	ck_assert_double_le(fabs(rfc3339(str_member(j, "expires_at")) -
				 (double)time(NULL) - 1.0), 2.0);
	cJSON_Delete(j);
	ck_assert_int_eq(poll_until_gone(&s, "brief", 10.0), 404);
	/* it lived (about) its second, not less */
	ck_assert_double_ge(mono_s() - t0, 0.9);
	/* and is not counted any more: a transform of it is 404 as well */
	j = post(&s, "{\"op\":\"transform\",\"session\":\"brief\","
		 "\"data\":[[1]]}", &st);
	ck_assert_int_eq(st, 404);
	cJSON_Delete(j);
	stop(&s);
}
END_TEST

START_TEST(session_ttl_is_the_default_lifetime_on_every_store)
{
	const char *extra[] = { "--session-ttl", "1", NULL };
	struct gg_server s;
	struct gg_response r;
	long st;
	cJSON *j;

	start(&s, _i, extra);
	j = post(&s, "{\"op\":\"partial_fit\",\"session\":\"d\","
		 "\"data\":[[1],[3]]}", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_ptr_nonnull(str_member(j, "expires_at"));
	cJSON_Delete(j);
	/* a request's own ttl wins */
	j = post(&s, "{\"op\":\"fit\",\"session\":\"long\",\"ttl\":3600,"
		 "\"data\":[[1],[3]]}", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_double_ge(rfc3339(str_member(j, "expires_at")),
			    (double)time(NULL) + 3500);
	cJSON_Delete(j);
	/* PUT ?ttl= likewise */
	gg_request(&s, "PUT", "/sessions/imported?ttl=7200", "application/json",
		   put_body, strlen(put_body), NULL,
		   &r);
	ck_assert_int_eq(r.status, 201);
	j = gg_response_json(&r);
	ck_assert_double_ge(rfc3339(str_member(j, "expires_at")),
			    (double)time(NULL) + 7100);
	cJSON_Delete(j);
	gg_response_free(&r);
	ck_assert_int_eq(poll_until_gone(&s, "d", 10.0), 404);
	ck_assert_int_eq(get_status(&s, "long"), 200);
	ck_assert_int_eq(get_status(&s, "imported"), 200);
	stop(&s);
}
END_TEST

START_TEST(reads_do_not_extend_a_lifetime)
{
	struct gg_server s;
	struct gg_response r;
	const char *e1;
	char first[64];
	long st;
	cJSON *j;

	start(&s, GG_MEMORY, NULL);
	j = post(&s, "{\"op\":\"fit\",\"session\":\"r\",\"ttl\":600,"
		 "\"data\":[[1],[3]]}", &st);
	ck_assert_int_eq(st, 200);
	e1 = str_member(j, "expires_at");
	ck_assert_ptr_nonnull(e1);
	snprintf(first, sizeof(first), "%s", e1);
	cJSON_Delete(j);
	/* the clock moves on: a read now would give a later expiry if
	 * reads extended lifetimes */
	nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	j = post(&s, "{\"op\":\"transform\",\"session\":\"r\","
		 "\"data\":[[2]]}", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_str_eq(str_member(j, "expires_at"), first);
	cJSON_Delete(j);
	gg_request(&s, "GET", "/sessions/r", NULL, NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	j = gg_response_json(&r);
	ck_assert_str_eq(str_member(j, "expires_at"), first);
	cJSON_Delete(j);
	gg_response_free(&r);
	/* without a lifetime: null */
	j = post(&s, "{\"op\":\"fit\",\"session\":\"n\",\"data\":[[1]]}", &st);
	ck_assert_int_eq(st, 200);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j,
								 "expires_at")));
	cJSON_Delete(j);
	stop(&s);
}
END_TEST

START_TEST(generated_ids_expire_after_the_anonymous_ttl)
{
	const char *extra[] = { "--anonymous-ttl", "1", NULL };
	struct gg_server s;
	char id[64];
	long st;
	cJSON *j;

	start(&s, _i, extra);
	j = post(&s, "{\"op\":\"fit\",\"data\":[[1],[3]]}", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_ptr_nonnull(str_member(j, "session"));
	snprintf(id, sizeof(id), "%s", str_member(j, "session"));
	ck_assert_ptr_nonnull(str_member(j, "expires_at"));
	cJSON_Delete(j);
	ck_assert_int_eq(poll_until_gone(&s, id, 10.0), 404);
	stop(&s);
}
END_TEST

/* A write that names no lifetime keeps the session's own: a generated
 * id keeps the anonymous lifetime when its statistics are continued by
 * id (and PUT), a session written with "ttl" keeps that ttl; a new named
 * session gets --session-ttl (0: never). On every store. */
static double expires_in(const cJSON *j)
{
	const char *t = str_member(j, "expires_at");

	return t ? rfc3339(t) - (double)time(NULL) : -1;
}

START_TEST(writes_without_a_lifetime_keep_the_sessions_own)
{
	struct gg_server s;
	char body[256], path[96], id[64];
	struct gg_response r;
	long st;
	cJSON *j;

	start(&s, _i, NULL);
	j = post(&s, "{\"op\":\"fit\",\"data\":[[1],[3]]}", &st);
	ck_assert_int_eq(st, 200);
	snprintf(id, sizeof(id), "%s", str_member(j, "session"));
	cJSON_Delete(j);
	snprintf(body, sizeof(body), "{\"op\":\"partial_fit\",\"session\":"
		 "\"%s\",\"data\":[[5],[7]]}", id);
	j = post(&s, body, &st);
	ck_assert_int_eq(st, 200);
	ck_assert_double_ge(expires_in(j), 86400 - 60);
	ck_assert_double_le(expires_in(j), 86400 + 60);
	cJSON_Delete(j);
	snprintf(path, sizeof(path), "/sessions/%s", id);
	ck_assert_int_eq(gg_request(&s, "PUT", path, "application/json",
				    put_body, strlen(put_body), NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	j = gg_response_json(&r);
	ck_assert_double_ge(expires_in(j), 86400 - 60);
	cJSON_Delete(j);
	gg_response_free(&r);

	j = post(&s, "{\"op\":\"fit\",\"session\":\"kept\",\"ttl\":600,"
		 "\"data\":[[1],[3]]}", &st);
	ck_assert_int_eq(st, 200);
	cJSON_Delete(j);
	j = post(&s, "{\"op\":\"partial_fit\",\"session\":\"kept\","
		 "\"data\":[[1],[3]]}", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_double_ge(expires_in(j), 600 - 60);
	ck_assert_double_le(expires_in(j), 600 + 60);
	cJSON_Delete(j);

	j = post(&s, "{\"op\":\"fit\",\"session\":\"plain\","
		 "\"data\":[[1],[3]]}", &st);
	ck_assert_int_eq(st, 200);
	ck_assert_ptr_null(str_member(j, "expires_at"));
	cJSON_Delete(j);
	stop(&s);
}
END_TEST

START_TEST(the_default_anonymous_ttl_is_a_day)
{
	struct gg_server s;
	long st;
	cJSON *j;
	double exp;

	start(&s, GG_MEMORY, NULL);
	j = post(&s, "{\"op\":\"partial_fit\",\"data\":[[1],[3]]}", &st);
	ck_assert_int_eq(st, 200);
	exp = rfc3339(str_member(j, "expires_at")) - (double)time(NULL);
	ck_assert_double_ge(exp, 86400 - 60);
	ck_assert_double_le(exp, 86400 + 60);
	cJSON_Delete(j);
	stop(&s);
}
END_TEST

/* The number in "gradguard_sessions N" of /metrics, or -1. */
static long metric_sessions(const struct gg_server *s)
{
	struct gg_response r;
	const char *p;
	long n = -1;

	gg_request(s, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
	p = r.body ? strstr(r.body, "\ngradguard_sessions ") : NULL;
	if (p)
		n = strtol(p + 20, NULL, 10);
	gg_response_free(&r);
	return n;
}

START_TEST(fit_transform_without_session_stores_nothing)
{
	const char *extra[] = { "--max-sessions", "1", NULL };
	struct gg_server s;
	const cJSON *data;
	long st;
	cJSON *j;

	start(&s, _i, extra);
	j = post(&s, "{\"op\":\"fit\",\"session\":\"only\",\"data\":[[1]]}",
		 &st);
	ck_assert_int_eq(st, 200);
	cJSON_Delete(j);
	/* the limit is reached; stateless calls do not meet it */
	for (int k = 0; k < 20; k++) {
		j = post(&s, "{\"op\":\"fit_transform\",\"data\":[[1],[3]]}",
			 &st);
		ck_assert_int_eq(st, 200);
		ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
			j, "session")));
		ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(
			j, "expires_at"));
		data = cJSON_GetObjectItemCaseSensitive(j, "data");
		ck_assert_double_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(
			data, 0), 0)->valuedouble, -1.0);
		ck_assert_double_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(
			data, 1), 0)->valuedouble, 1.0);
		cJSON_Delete(j);
	}
	ck_assert_int_eq(metric_sessions(&s), 1);
	/* a stateless call has no lifetime to set */
	j = post(&s, "{\"op\":\"fit_transform\",\"ttl\":5,\"data\":[[1]]}",
		 &st);
	ck_assert_int_eq(st, 422);
	cJSON_Delete(j);
	/* a named fit_transform is a write and meets the limit */
	j = post(&s, "{\"op\":\"fit_transform\",\"session\":\"two\","
		 "\"data\":[[1]]}", &st);
	ck_assert_int_eq(st, 413);
	cJSON_Delete(j);
	stop(&s);
}
END_TEST

static const char *const bad_ttls[] = {
	"{\"op\":\"fit\",\"session\":\"b\",\"ttl\":0,\"data\":[[1]]}",
	"{\"op\":\"fit\",\"session\":\"b\",\"ttl\":-5,\"data\":[[1]]}",
	"{\"op\":\"fit\",\"session\":\"b\",\"ttl\":1.5,\"data\":[[1]]}",
	"{\"op\":\"fit\",\"session\":\"b\",\"ttl\":\"60\",\"data\":[[1]]}",
	"{\"op\":\"fit\",\"session\":\"b\",\"ttl\":1e12,\"data\":[[1]]}",
	"{\"op\":\"transform\",\"session\":\"b\",\"ttl\":60,\"data\":[[1]]}",
};

START_TEST(bad_lifetimes_are_422_and_write_nothing)
{
	static const char *const puts[] = {
		"/sessions/b?ttl=0", "/sessions/b?ttl=abc", "/sessions/b?ttl=",
		"/sessions/b?ttl=1%00", "/sessions/b?ttl=-1",
		"/sessions/b?ttl=99999999999",
	};
	struct gg_server s;
	struct gg_response r;
	long st;
	cJSON *j;

	start(&s, GG_MEMORY, NULL);
	for (size_t k = 0; k < sizeof(bad_ttls) / sizeof(bad_ttls[0]); k++) {
		j = post(&s, bad_ttls[k], &st);
		ck_assert_msg(st == 422, "%s: %ld", bad_ttls[k], st);
		cJSON_Delete(j);
	}
	for (size_t k = 0; k < sizeof(puts) / sizeof(puts[0]); k++) {
		gg_request(&s, "PUT", puts[k], "application/json",
			   put_body, strlen(put_body), NULL, &r);
		ck_assert_msg(r.status == 422, "%s: %ld", puts[k], r.status);
		gg_response_free(&r);
	}
	ck_assert_int_eq(get_status(&s, "b"), 404);
	stop(&s);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("session ttl");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, a_session_with_ttl_1_is_gone_two_seconds_later,
			    0, GG_STORES);
	tcase_add_loop_test(tc, session_ttl_is_the_default_lifetime_on_every_store,
			    0, GG_STORES);
	tcase_add_test(tc, reads_do_not_extend_a_lifetime);
	tcase_add_loop_test(tc, generated_ids_expire_after_the_anonymous_ttl,
			    0, GG_STORES);
	tcase_add_test(tc, the_default_anonymous_ttl_is_a_day);
	tcase_add_loop_test(tc, writes_without_a_lifetime_keep_the_sessions_own,
			    0, GG_STORES);
	tcase_add_loop_test(tc, fit_transform_without_session_stores_nothing,
			    0, GG_STORES);
	tcase_add_test(tc, bad_lifetimes_are_422_and_write_nothing);
	suite_add_tcase(su, tc);
	return suite_run(su);
}
