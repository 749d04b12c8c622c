/* --max-connections-per-ip against the real daemon: idle connections over
 * the limit are closed at once, the slots come back when the client lets
 * go, and one address opening more connections than the global limit
 * (1024) no longer locks everyone else out, with the default limit (64)
 * as with a flag; only an explicit 0 lets it. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"
#include "tests/lib/suite_run.h"

#define PER_IP "20"
enum { PER_IP_N = 20, IDLE = 40, FLOOD = 1100, FLOOD_FDS_SPARE = 64 };
/* An extra connection must be closed within this. */
#define CLOSE_MS 1000
/* Quiet time that shows the connections within the limit stay open. */
#define STAY_MS 200
/* Bounds: one connect, the whole flood, waiting for freed slots. */
#define CONNECT_MS 1000
#define FLOOD_MS 15000
/* generous: a loaded machine may take seconds to reap 1,100 closed
 * connections (seen in a saturated run); the wait ends at the first answer */
#define RECOVER_MS 30000
/* /healthz next to a flood with the default flags: the best of
 * HEALTHZ_TRIES answers within HEALTHZ_MS. */
#define HEALTHZ_TRIES 5
#define HEALTHZ_MS 100

static const char healthz[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n"
			      "Connection: close\r\n\r\n";

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP connection from src (a loopback address) to the daemon, or -1;
 * connect waits at most CONNECT_MS. */
static int connect_from(const struct gg_server *s, const char *src)
{
	struct sockaddr_in a;
	struct timeval tv = {CONNECT_MS / 1000, (CONNECT_MS % 1000) * 1000};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, src, &a.sin_addr), 1);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	a.sin_port = htons((uint16_t)s->port);
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Whether GET /healthz from 127.0.0.1 is answered 200 within ms. */
static bool healthz_ok(const struct gg_server *s, int ms)
{
	char resp[512];
	long n = gg_raw(s, healthz, strlen(healthz), resp, sizeof(resp), ms);

	return n > 0 && strncmp(resp, "HTTP/1.1 200", 12) == 0;
}

/* Retries healthz_ok until it holds or RECOVER_MS pass (the daemon sees
 * the closed connections a moment after the client closes them). */
static bool healthz_recovers(const struct gg_server *s)
{
	const struct timespec tick = {0, 10 * 1000000L};
	long long until = now_ms() + RECOVER_MS;

	do {
		if (healthz_ok(s, 1000))
			return true;
		nanosleep(&tick, NULL);
	} while (now_ms() < until);
	return false;
}

/* Waits up to ms, or until enough of the n fds are closed by the server;
 * marks them in closed[] and returns how many are closed. Data from the
 * server fails the test. */
static int wait_closed(const int *fd, bool *closed, int n, int enough,
		       int ms)
{
	struct pollfd p[IDLE];
	long long until = now_ms() + ms;
	int done = 0;

	for (int i = 0; i < n; i++)
		done += closed[i];
	while (done < enough && now_ms() < until) {
		int m = 0, left = (int)(until - now_ms());

		for (int i = 0; i < n; i++)
			if (!closed[i])
				p[m++] = (struct pollfd){fd[i], POLLIN, 0};
		if (left <= 0 || poll(p, (nfds_t)m, left) <= 0)
			break;
		for (int k = 0; k < m; k++) {
			char c;
			ssize_t r;
			int i = 0;

			if (!p[k].revents)
				continue;
			while (fd[i] != p[k].fd)
				i++;
			r = recv(fd[i], &c, 1, MSG_DONTWAIT);
			ck_assert_msg(r <= 0, "the server sent data on an idle "
				      "connection");
			if (r == 0 || errno == ECONNRESET) {
				closed[i] = true;
				done++;
			}
		}
	}
	return done;
}

START_TEST(conn_limits_extra_idle_connections_are_closed)
{
	const char *args[] = {"--max-connections-per-ip", PER_IP, "--threads",
			      "4", NULL};
	struct gg_server s;
	int fd[IDLE];
	bool closed[IDLE] = {false};
	long long t0;
	int n;

	http_start(&s, args);
	for (int i = 0; i < IDLE; i++) {
		fd[i] = connect_from(&s, "127.0.0.1");
		ck_assert_msg(fd[i] >= 0, "connect %d: %s", i, strerror(errno));
	}
	t0 = now_ms();
	n = wait_closed(fd, closed, IDLE, IDLE - PER_IP_N, CLOSE_MS);
	ck_assert_msg(n == IDLE - PER_IP_N, "%d of %d idle connections closed "
		      "within %d ms, want %d", n, IDLE, CLOSE_MS,
		      IDLE - PER_IP_N);
	fprintf(stderr, "conn_limits: %d extra connections closed in %lld ms\n",
		n, now_ms() - t0);
	/* the ones within the limit stay, and hold the address's slots */
	ck_assert_int_eq(wait_closed(fd, closed, IDLE, IDLE, STAY_MS), n);
	ck_assert_msg(!healthz_ok(&s, CLOSE_MS), "a connection over the limit "
		      "was served");
	for (int i = 0; i < IDLE; i++)
		close(fd[i]);
	ck_assert_msg(healthz_recovers(&s), "no answer after the idle "
		      "connections were closed");
	cJSON_Delete(http_call(&s, "GET", "/healthz", NULL, 200, NULL));
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* Raises the soft limit on open files towards the hard one; returns the
 * number of connections this process can open for the flood. */
static int flood_size(void)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < FLOOD + FLOOD_FDS_SPARE) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
			      rl.rlim_max > FLOOD + FLOOD_FDS_SPARE
				      ? FLOOD + FLOOD_FDS_SPARE
				      : rl.rlim_max;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < FLOOD + FLOOD_FDS_SPARE)
		return (int)rl.rlim_cur - FLOOD_FDS_SPARE;
	return FLOOD;
}

/* One client (127.0.0.2) tries to open more connections than the daemon
 * holds in all (1024) and leaves them idle: returns the fds (-1 where a
 * connect failed), *n of them, *opened not -1. */
static int *flood(const struct gg_server *s, int *n, int *opened)
{
	int want = flood_size(), *fd;
	long long t0 = now_ms();

	ck_assert_int_gt(want, PER_IP_N);
	if (want < FLOOD)
		fprintf(stderr, "conn_limits: open-file limit: a flood of %d "
			"connections, not %d\n", want, FLOOD);
	fd = calloc((size_t)want, sizeof(*fd));
	ck_assert_ptr_nonnull(fd);
	*opened = 0;
	for (int i = 0; i < want; i++) {
		fd[i] = now_ms() - t0 < FLOOD_MS ? connect_from(s, "127.0.0.2")
						  : -1;
		ck_assert_msg(fd[i] >= 0 || errno != EMFILE, "out of files");
		*opened += fd[i] >= 0;
	}
	fprintf(stderr, "conn_limits: %d of %d flood connections opened in "
		"%lld ms\n", *opened, want, now_ms() - t0);
	*n = want;
	return fd;
}

static void flood_end(int *fd, int n)
{
	for (int i = 0; i < n; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	free(fd);
}

/* With the limit (set from the environment this time), /healthz from
 * another address is answered during the flood. */
START_TEST(conn_limits_one_address_cannot_lock_others_out)
{
	struct gg_server s;
	int *fd, n, opened;

	flood_size();       /* before the start: the daemon inherits it */
	ck_assert_int_eq(setenv("GRADGUARD_MAX_CONNECTIONS_PER_IP", PER_IP, 1),
			 0);
	http_start(&s, NULL);
	unsetenv("GRADGUARD_MAX_CONNECTIONS_PER_IP");
	fd = flood(&s, &n, &opened);
	ck_assert_int_gt(opened, PER_IP_N);
	ck_assert_msg(healthz_ok(&s, CLOSE_MS), "/healthz locked out by one "
		      "client's connections");
	cJSON_Delete(http_call(&s, "GET", "/healthz", NULL, 200, NULL));
	flood_end(fd, n);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* With no flags at all the default limit (64) holds: a flood from
 * 127.0.0.2, each connection with half of its headers sent, leaves
 * /healthz from 127.0.0.1 answered at once (the best of a few tries under
 * 100 ms: a loaded machine may delay any one of them). */
START_TEST(conn_limits_by_default_one_address_cannot_lock_others_out)
{
	static const char part[] = "GET /healthz HTTP/1.1\r\nX-A: b\r\n";
	struct gg_server s;
	int *fd, n, opened;
	long long best = -1;

	flood_size();
	http_start(&s, NULL);
	fd = flood(&s, &n, &opened);
	ck_assert_int_gt(opened, 64);
	for (int i = 0; i < n; i++)
		if (fd[i] >= 0)
			(void)send(fd[i], part, sizeof(part) - 1,
				   MSG_NOSIGNAL | MSG_DONTWAIT);
	for (int i = 0; i < HEALTHZ_TRIES; i++) {
		long long t0 = now_ms(), dt;

		ck_assert_msg(healthz_ok(&s, CLOSE_MS), "/healthz locked out "
			      "by one client's connections (try %d)", i);
		dt = now_ms() - t0;
		best = best < 0 || dt < best ? dt : best;
	}
	fprintf(stderr, "conn_limits: /healthz in %lld ms (best of %d) next "
		"to %d flood connections\n", best, HEALTHZ_TRIES, opened);
	ck_assert_msg(best < HEALTHZ_MS, "/healthz took %lld ms", best);
	flood_end(fd, n);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

/* Without a limit (0), the same flood does lock /healthz out, until the
 * client lets go: what the limit is for. */
START_TEST(conn_limits_without_the_limit_one_address_locks_others_out)
{
	const char *args[] = {"--max-connections-per-ip", "0", NULL};
	struct gg_server s;
	int *fd, n, opened;

	flood_size();
	http_start(&s, args);
	fd = flood(&s, &n, &opened);
	if (opened >= FLOOD)
		ck_assert_msg(!healthz_ok(&s, CLOSE_MS), "/healthz answered "
			      "with %d connections open", opened);
	else
		fprintf(stderr, "conn_limits: lock-out not checked (%d "
			"connections only)\n", opened);
	flood_end(fd, n);
	ck_assert_msg(healthz_recovers(&s), "no answer after the flood ended");
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

static Suite *conn_limits_suite(void)
{
	Suite *s = suite_create("conn_limits");
	TCase *tc = tcase_create("limits");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, conn_limits_extra_idle_connections_are_closed);
	tcase_add_test(tc, conn_limits_one_address_cannot_lock_others_out);
	tcase_add_test(tc,
		       conn_limits_by_default_one_address_cannot_lock_others_out);
	tcase_add_test(tc,
		       conn_limits_without_the_limit_one_address_locks_others_out);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(conn_limits_suite());
}
