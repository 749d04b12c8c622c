/* Slow and broken clients over raw sockets: idle and half-sent requests do
 * not starve a normal one, a client that hangs up mid-response costs
 * nothing, and (when the connection time-out can be tested quickly) a
 * slowloris or a stalled body is cut by the server. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"
#include "tests/lib/suite_run.h"

/* The daemon's idle-connection time-out when it has no flag for it
 * (SERVER_CONN_TIMEOUT_S in server/server.c). */
#define DEFAULT_CONN_TIMEOUT_S 30
/* The time-out asked for with --connection-timeout, when the flag exists. */
#define SHORT_CONN_TIMEOUT_S 2
/* How much later than the time-out the server may close (its timer runs
 * on the polling thread; sanitizer builds are slow). */
#define CUT_SLACK_MS 5000
/* Connections held open while a normal request must still be answered. */
#define IDLE_CONNS 200
/* A normal request next to IDLE_CONNS idle ones answers within this. */
#define IDLE_ANSWER_MS 1000
/* Clients that hang up on a large /init response. */
#define HANGUPS 10
/* Bound on the wait for their requests to end: the event, not the bound,
 * ends the wait, so it is generous (a loaded 2-core machine running two
 * suites at once, sanitizer builds). */
#define HANGUP_SETTLE_MS 100000
/* The gauge of requests being served (GET /metrics counts itself). */
#define IN_FLIGHT "gradguard_http_requests_in_flight"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the server closes fd (EOF or reset), reading and dropping
 * whatever it sends; returns the milliseconds that took, or -1 if fd was
 * still open after ms. */
static long long wait_closed(int fd, int ms)
{
	long long t0 = now_ms(), until = t0 + ms;
	char tmp[4096];

	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		long long left = until - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		n = recv(fd, tmp, sizeof(tmp), 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return now_ms() - t0;
	}
}

static void expect_healthy(const struct gg_server *s, const char *what)
{
	struct gg_response r;

	ck_assert_msg(gg_request(s, "GET", "/healthz", NULL, NULL, 0, NULL,
				 &r) == 0 && r.status == 200,
		      "%s: /healthz status %ld", what, r.status);
	gg_response_free(&r);
}

/* ---- the connection time-out -------------------------------------------- */

static int conn_timeout_s;     /* 0: the time-out cases are not run */
static bool has_timeout_flag;  /* the daemon knows --connection-timeout */

static void start(struct gg_server *s)
{
	char v[16];
	const char *args[] = {"--connection-timeout", v, NULL};

	snprintf(v, sizeof(v), "%d", SHORT_CONN_TIMEOUT_S);
	ck_assert_int_eq(gg_server_start(s, has_timeout_flag ? args : NULL),
			 0);
}

/* A slowloris (headers never finished) and a client that stops in the
 * middle of its body are both cut after the time-out, side by side so that
 * the 30 s default costs one wait. */
START_TEST(stalled_headers_and_bodies_are_cut_by_the_timeout)
{
	static const char head[] = "POST /normalize HTTP/1.1\r\n"
				   "Host: 127.0.0.1\r\n"
				   "Content-Type: application/json\r\n";
	static const char body_head[] = "POST /normalize HTTP/1.1\r\n"
					"Host: 127.0.0.1\r\n"
					"Content-Type: application/json\r\n"
					"Content-Length: 1000\r\n\r\n"
					"{\"op\": \"fit\", \"data\": [[1, 2], ";
	int limit = conn_timeout_s * 1000 + CUT_SLACK_MS;
	struct gg_server s;
	long long t_head, t_body;
	int fh, fb;

	start(&s);
	fh = gg_connect(&s, 0);
	fb = gg_connect(&s, 0);
	ck_assert(fh >= 0 && fb >= 0);
	ck_assert(gg_send_all(fh, head, sizeof(head) - 1));
	ck_assert(gg_send_all(fb, body_head, sizeof(body_head) - 1));
	t_head = wait_closed(fh, limit);
	t_body = t_head < 0 ? wait_closed(fb, CUT_SLACK_MS)
			    : wait_closed(fb, limit - (int)t_head);
	ck_assert_msg(t_head >= 0, "partial headers still open after %d ms",
		      limit);
	ck_assert_msg(t_body >= 0, "partial body still open after %d ms",
		      limit);
	/* cut by the time-out, not refused at once */
	ck_assert_msg(t_head >= conn_timeout_s * 1000 / 2,
		      "partial headers cut after %lld ms", t_head);
	close(fh);
	close(fb);
	expect_healthy(&s, "after the cut connections");
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* ---- idle connections ----------------------------------------------------- */

/* Half of the connections say nothing, half sent part of their headers;
 * a normal request still gets its answer at once. They all come from
 * 127.0.0.1, so the per-address limit (default 64) is lifted here: the
 * point is what many open connections cost, not who opens them. */
START_TEST(idle_connections_do_not_starve_a_request)
{
	static const char *const no_ip_limit[] = {
		"--max-connections-per-ip", "0", NULL,
	};
	static const char part[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
	static const char fit[] = "{\"op\": \"fit_transform\", "
				  "\"data\": [[1, 2], [3, 4], [5, 7]]}";
	struct gg_server s;
	struct gg_response r;
	int fds[IDLE_CONNS];
	long long t0, dt;

	ck_assert_int_eq(gg_server_start(&s, no_ip_limit), 0);
	for (int i = 0; i < IDLE_CONNS; i++) {
		fds[i] = gg_connect(&s, 0);
		ck_assert_msg(fds[i] >= 0, "connection %d refused", i);
		if (i % 2)
			ck_assert(gg_send_all(fds[i], part, sizeof(part) - 1));
	}
	t0 = now_ms();
	ck_assert_int_eq(gg_post_json(&s, "/normalize", fit, &r), 0);
	dt = now_ms() - t0;
	ck_assert_msg(r.status == 200, "status %ld: %s", r.status, r.body);
	gg_response_free(&r);
	ck_assert_msg(dt <= IDLE_ANSWER_MS, "/normalize took %lld ms next "
		      "to %d idle connections", dt, IDLE_CONNS);
	t0 = now_ms();
	expect_healthy(&s, "next to idle connections");
	dt = now_ms() - t0;
	ck_assert_msg(dt <= IDLE_ANSWER_MS, "/healthz took %lld ms", dt);
	for (int i = 0; i < IDLE_CONNS; i++)
		close(fds[i]);
	expect_healthy(&s, "after the idle connections closed");
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* ---- clients that hang up ------------------------------------------------ */

/* A [1024, 1024] network: a response of about 20 MB, far more than the
 * socket buffers hold, so the server is still sending when we hang up. */
static const char big_init_body[] = "{\"layer_dims\": [1024, 1024], "
				    "\"seed\": 7}";

/* Loop 0: hang up after the first bytes of the response; loop 1: hang up
 * right after sending, while the worker computes. Afterwards nothing is
 * left in flight, the server answers, and it exits cleanly (under ASan the
 * exit status also says that the daemon leaked nothing). */
START_TEST(clients_hanging_up_mid_response_cost_nothing)
{
	struct gg_server s;
	struct gg_response r;
	char req[512];
	int req_len;
	long flying = -1;
	long long until;

	req_len = snprintf(req, sizeof(req), "POST /init HTTP/1.1\r\n"
			   "Host: 127.0.0.1\r\n"
			   "Content-Type: application/json\r\n"
			   "Content-Length: %zu\r\n\r\n%s",
			   sizeof(big_init_body) - 1, big_init_body);
	ck_assert(req_len > 0 && (size_t)req_len < sizeof(req));
	start(&s);
	for (int i = 0; i < HANGUPS; i++) {
		int fd = gg_connect(&s, 0);
		char tmp[64];

		ck_assert(fd >= 0);
		ck_assert(gg_send_all(fd, req, (size_t)req_len));
		if (_i == 0) {
			struct pollfd p = {fd, POLLIN, 0};

			ck_assert_msg(poll(&p, 1, 30000) == 1,
				      "no response to /init");
			ck_assert(recv(fd, tmp, sizeof(tmp), 0) > 0);
			ck_assert_msg(!strncmp(tmp, "HTTP/1.1 200", 12),
				      "response '%.12s'", tmp);
		}
		close(fd);
	}
	/* the completion callbacks run as MHD notices each hang-up, after the
	 * workers finished the requests (under a loaded machine or a
	 * sanitizer that takes a while): wait for the event, polling /metrics
	 * (which counts itself) until only it is in flight */
	until = now_ms() + HANGUP_SETTLE_MS;
	while (now_ms() < until && (flying = (long)http_metric(&s, IN_FLIGHT))
	       != 1) {
		struct timespec ts = {0, 50 * 1000000L};

		nanosleep(&ts, NULL);
	}
	ck_assert_msg(flying == 1, "%ld requests still in flight after %d ms",
		      flying, HANGUP_SETTLE_MS);
	ck_assert_int_eq(gg_post_json(&s, "/init", "{\"layer_dims\": [3, 2],"
				      " \"seed\": 1}", &r), 0);
	ck_assert_msg(r.status == 200, "status %ld: %s", r.status, r.body);
	gg_response_free(&r);
	expect_healthy(&s, "after the hang-ups");
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* ---- the header time-out and the minimum body rate ---------------------- */

/* --header-timeout and --min-body-rate asked for (small, to be quick). */
#define HEADER_TIMEOUT_S 2
#define MIN_BODY_RATE "1000"
/* Gaps between a trickler's pieces: far shorter than the connection
 * time-out, so only the new limits can cut them. */
#define TRICKLE_MS 250

/* Sends piece every TRICKLE_MS until the server closes the connection (a
 * send fails or EOF is read) or ms pass; returns the time that took, or
 * -1 if it was still open. */
static long long trickle_until_cut(int fd, const char *piece, int ms)
{
	long long t0 = now_ms();

	while (now_ms() - t0 < ms) {
		struct pollfd p = {fd, POLLIN, 0};
		char c;

		if (!gg_send_all(fd, piece, strlen(piece)))
			return now_ms() - t0;
		if (poll(&p, 1, TRICKLE_MS) == 1 &&
		    recv(fd, &c, 1, MSG_DONTWAIT) <= 0)
			return now_ms() - t0;
	}
	return -1;
}

/* Clients that keep every connection busy with one header line, or one
 * body byte, at a time are never idle, so the connection time-out never
 * cuts them: the header time-out and the minimum body rate do. A client
 * that sends at a normal pace is served on a kept-alive connection. */
START_TEST(trickled_headers_and_bodies_are_cut)
{
	char ht[16];
	const char *args[] = {"--header-timeout", ht, "--min-body-rate",
			      MIN_BODY_RATE, "--connection-timeout", "30",
			      NULL};
	static const char body_head[] = "POST /normalize HTTP/1.1\r\n"
					"Host: 127.0.0.1\r\n"
					"Content-Type: application/json\r\n"
					"Content-Length: 100000\r\n\r\n{";
	int limit = HEADER_TIMEOUT_S * 1000 + CUT_SLACK_MS;
	struct gg_server s;
	long long t;
	int fh, fb;

	snprintf(ht, sizeof(ht), "%d", HEADER_TIMEOUT_S);
	ck_assert_int_eq(gg_server_start(&s, args), 0);
	fh = gg_connect(&s, 0);
	ck_assert(fh >= 0 && gg_send_all(fh, "GET /healthz HTTP/1.1\r\n", 23));
	t = trickle_until_cut(fh, "X-A: b\r\n", limit);
	ck_assert_msg(t >= 0, "trickled headers still open after %d ms",
		      limit);
	ck_assert_msg(t >= HEADER_TIMEOUT_S * 1000 - TRICKLE_MS,
		      "trickled headers cut after %lld ms", t);
	close(fh);
	/* the body: 4 bytes every TRICKLE_MS, far under 1000 bytes/s; cut
	 * once the grace (the header time-out) has passed */
	fb = gg_connect(&s, 0);
	ck_assert(fb >= 0 && gg_send_all(fb, body_head, sizeof(body_head) - 1));
	t = trickle_until_cut(fb, "1,  ", limit);
	ck_assert_msg(t >= 0, "trickled body still open after %d ms", limit);
	ck_assert_msg(t >= HEADER_TIMEOUT_S * 1000 - TRICKLE_MS,
		      "trickled body cut after %lld ms", t);
	close(fb);
	expect_healthy(&s, "after the cut connections");
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* Whether the daemon has --connection-timeout (its usage text names it). */
static bool daemon_has_timeout_flag(void)
{
	static const char *const args[] = {"--help", NULL};
	char out[16384];

	return gg_run(args, out, sizeof(out)) >= 0 &&
	       strstr(out, "--connection-timeout") != NULL;
}

static Suite *slow_clients_suite(void)
{
	Suite *s = suite_create("slow_clients");
	TCase *idle = tcase_create("idle"), *hang = tcase_create("hangups");
	TCase *cut = tcase_create("timeout");

	tcase_set_timeout(idle, 60);
	tcase_set_timeout(hang, 240);
	tcase_set_timeout(cut, 120);
	tcase_add_test(idle, idle_connections_do_not_starve_a_request);
	tcase_add_test(idle, trickled_headers_and_bodies_are_cut);
	tcase_add_loop_test(hang, clients_hanging_up_mid_response_cost_nothing,
			    0, 2);
	suite_add_tcase(s, idle);
	suite_add_tcase(s, hang);
	/* A case that waits the 30 s default out is too slow for every run:
	 * without the flag it runs only with GG_SLOW_TESTS=1. */
	has_timeout_flag = daemon_has_timeout_flag();
	if (has_timeout_flag)
		conn_timeout_s = SHORT_CONN_TIMEOUT_S;
	else if (getenv("GG_SLOW_TESTS"))
		conn_timeout_s = DEFAULT_CONN_TIMEOUT_S;
	if (conn_timeout_s) {
		tcase_add_test(cut,
			       stalled_headers_and_bodies_are_cut_by_the_timeout);
		suite_add_tcase(s, cut);
	} else {
		fprintf(stderr, "slow_clients: the connection time-out case "
			"is skipped (no --connection-timeout flag; "
			"GG_SLOW_TESTS=1 waits the %d s default out)\n",
			DEFAULT_CONN_TIMEOUT_S);
	}
	return s;
}

int main(void)
{
	return suite_run(slow_clients_suite());
}
