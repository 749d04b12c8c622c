/* --max-memory: request bodies being received count against one budget.
 * An upload whose declared length would pass it is 503 with Retry-After
 * at once (its body is never read); a chunked one that grows past it is
 * 503 at its end; the gauge gradguard_body_bytes_held goes back to 0 when
 * the uploads end, and the service serves on. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"
#include "tests/lib/suite_run.h"

#define BUDGET 1000000
#define UPLOAD 800000    /* two of them do not fit */
#define HELD "gradguard_body_bytes_held"
/* Bound on waiting for a gauge to move (an event, polled). */
#define SETTLE_MS 20000
#define ANSWER_MS 10000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what the server sends until it closes or ms pass; returns whether
 * it closed. */
static bool read_until_closed(int fd, char *out, size_t n, int ms)
{
	long long until = now_ms() + ms;
	size_t len = 0;

	out[0] = '\0';
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		long long left = until - now_ms();
		ssize_t k;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		k = recv(fd, out + len, n - 1 - len, 0);
		if (k <= 0)
			return true;
		len += (size_t)k;
		out[len] = '\0';
		if (len + 1 >= n)
			return false;
	}
}

/* Polls the gauge until it equals want or SETTLE_MS pass; returns it. */
static double held_settles_at(const struct gg_server *s, double want)
{
	long long until = now_ms() + SETTLE_MS;
	double v;

	while ((v = http_metric(s, HELD)) != want && now_ms() < until) {
		struct timespec ts = {0, 20 * 1000000L};

		nanosleep(&ts, NULL);
	}
	return v;
}

static void expect_503(const char *resp, const char *what)
{
	ck_assert_msg(!strncmp(resp, "HTTP/1.1 503 ", 13), "%s: '%.80s'", what,
		      resp);
	ck_assert_msg(strstr(resp, "\r\nRetry-After: 1\r\n") != NULL,
		      "%s: no Retry-After: %s", what, resp);
	ck_assert_msg(strstr(resp, "/problems/out-of-memory") != NULL,
		      "%s: %s", what, resp);
}

START_TEST(uploads_past_the_budget_get_503_and_memory_comes_back)
{
	static const char *const args[] = {"--max-memory", "1000000",
					   "--max-body", "900000", NULL};
	struct gg_server s;
	char head[256], resp[4096];
	static const char chunked_head[] = "POST /normalize HTTP/1.1\r\n"
					   "Host: x\r\n"
					   "Content-Type: application/json\r\n"
					   "Transfer-Encoding: chunked\r\n\r\n";
	char *chunk;
	int first, second, third;

	http_start(&s, args);
	ck_assert(http_metric(&s, "gradguard_memory_budget_bytes") == BUDGET);
	ck_assert(http_metric(&s, HELD) == 0);
	/* the first upload declares UPLOAD bytes and sends a few */
	snprintf(head, sizeof(head), "POST /normalize HTTP/1.1\r\nHost: x\r\n"
		 "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
		 "{\"op\": ", UPLOAD);
	first = gg_connect(&s, 0);
	ck_assert(first >= 0);
	ck_assert(gg_send_all(first, head, strlen(head)));
	ck_assert_msg(held_settles_at(&s, UPLOAD) == UPLOAD,
		      "the first upload is not held");
	/* the second one does not fit: 503 at once, closed, body unread */
	second = gg_connect(&s, 0);
	ck_assert(second >= 0);
	ck_assert(gg_send_all(second, head, strlen(head)));
	ck_assert_msg(read_until_closed(second, resp, sizeof(resp), ANSWER_MS),
		      "the refused upload's connection stays open");
	expect_503(resp, "declared length");
	ck_assert_msg(strstr(resp, "\r\nConnection: close\r\n") != NULL, "%s",
		      resp);
	close(second);
	/* a chunked one grows past the budget: 503 when it ends */
	third = gg_connect(&s, 0);
	ck_assert(third >= 0);
	ck_assert(gg_send_all(third, chunked_head, sizeof(chunked_head) - 1));
	chunk = malloc(100000 + 16);
	ck_assert_ptr_nonnull(chunk);
	memcpy(chunk, "186a0\r\n", 7);
	memset(chunk + 7, ' ', 100000);
	memcpy(chunk + 7 + 100000, "\r\n", 2);
	for (int i = 0; i < 4; i++)
		ck_assert(gg_send_all(third, chunk, 7 + 100000 + 2));
	ck_assert(gg_send_all(third, "0\r\n\r\n", 5));
	free(chunk);
	ck_assert_msg(read_until_closed(third, resp, sizeof(resp), ANSWER_MS),
		      "the refused chunked upload's connection stays open");
	expect_503(resp, "chunked");
	close(third);
	/* the first upload hangs up: its reservation comes back */
	close(first);
	ck_assert_msg(held_settles_at(&s, 0) == 0, "%g bytes still held",
		      http_metric(&s, HELD));
	cJSON_Delete(http_post(&s, "/normalize", "{\"op\": \"fit_transform\", "
			       "\"data\": [[1, 2], [3, 4]]}", 200, HTTP_JSON));
	ck_assert(held_settles_at(&s, 0) == 0);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

static Suite *memory_budget_suite(void)
{
	Suite *s = suite_create("memory_budget");
	TCase *tc = tcase_create("budget");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, uploads_past_the_budget_get_503_and_memory_comes_back);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(memory_budget_suite());
}
