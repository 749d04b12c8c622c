/* --session-ttl: sessions in a redis:// store expire that long after their
 * last update; other stores refuse the flag at start-up. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tests/lib/harness.h"
#include "tests/lib/redis.h"
#include "tests/lib/suite_run.h"

START_TEST(session_ttl_is_refused_without_redis)
{
	const char *args[] = { "--store", "memory:", "--session-ttl", "5",
			       NULL };
	char out[256];

	ck_assert_int_eq(gg_run(args, out, sizeof(out)), 2);
}
END_TEST

START_TEST(sessions_expire_after_the_ttl_in_redis)
{
	struct gg_redis r;
	struct gg_server s;
	struct gg_response resp;
	const char *args[] = { "--store", NULL, "--session-ttl", "1", NULL };
	struct timespec t0, now, nap = { 0, 50 * 1000 * 1000 };
	long status = 0;
	double waited = 0;

	ck_assert_int_eq(gg_redis_start(&r, 0), 0);
	args[1] = r.url;
	ck_assert_int_eq(gg_server_start(&s, args), 0);
	ck_assert_int_eq(gg_post_json(&s, "/normalize",
		"{\"op\":\"fit\",\"session\":\"t\",\"data\":[[1],[3]]}", &resp), 0);
	ck_assert_int_eq(resp.status, 200);
	gg_response_free(&resp);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(gg_request(&s, "GET", "/sessions/t", NULL, NULL, 0,
				    NULL, &resp), 0);
	ck_assert_int_eq(resp.status, 200);
	gg_response_free(&resp);
	/* bounded poll: the session must be gone after 1 s, and not long after */
	while (waited < 5.0) {
		ck_assert_int_eq(gg_request(&s, "GET", "/sessions/t", NULL,
					    NULL, 0, NULL, &resp), 0);
		status = resp.status;
		gg_response_free(&resp);
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited = (double)(now.tv_sec - t0.tv_sec) +
			 (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		if (status == 404)
			break;
		nanosleep(&nap, NULL);
	}
	ck_assert_int_eq(status, 404);
	ck_assert(waited > 0.5);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	gg_redis_stop(&r);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("session ttl");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, session_ttl_is_refused_without_redis);
	tcase_add_test(tc, sessions_expire_after_the_ttl_in_redis);
	suite_add_tcase(su, tc);
	return suite_run(su);
}
