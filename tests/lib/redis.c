/* A private redis-server for tests; see redis.h. */
#include "redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

/* Bounds: waiting for the ready line, for exit, and start attempts when a
 * picked port is taken between picking and binding. */
#define RS_START_MS 10000
#define RS_STOP_MS 5000
#define RS_TRIES 5

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A loopback port that was free a moment ago; 0 on failure. */
static int pick_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;

	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static pid_t spawn(int port, int out_fd)
{
	pid_t parent = getpid(), pid = fork();
	const char *env = getenv("GG_REDIS_SERVER");
	char p[16];
	int null;

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	null = open("/dev/null", O_RDWR);
	dup2(null, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	snprintf(p, sizeof(p), "%d", port);
	{
		char *argv[] = { "redis-server", "--port", p, "--bind",
				 "127.0.0.1", "--save", "", "--appendonly",
				 "no", "--daemonize", "no", "--protected-mode",
				 "yes", NULL };

		if (env && *env) {
			execv(env, argv);
		} else {
			execvp("redis-server", argv);
			execv("/usr/bin/redis-server", argv);
		}
	}
	dprintf(out_fd, "cannot run redis-server: %s\n", strerror(errno));
	_exit(127);
}

/* Waits up to ms for pid to exit; 0 when reaped. */
static int reap(pid_t pid, int ms)
{
	long long until = mono_ms() + ms;

	for (;;) {
		struct timespec ts = { 0, 5000000 };
		pid_t w = waitpid(pid, NULL, WNOHANG);

		if (w == pid || (w < 0 && errno == ECHILD))
			return 0;
		if (mono_ms() >= until)
			return -1;
		nanosleep(&ts, NULL);
	}
}

/* Reads fd until the ready line, EOF or the deadline; 0 when ready. The
 * server's output up to then is kept in log for the failure message. */
static int wait_ready(int fd, char *log, size_t n)
{
	long long until = mono_ms() + RS_START_MS;
	size_t len = 0;

	log[0] = '\0';
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = until - mono_ms();
		ssize_t got;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		if (len + 1 >= n) {  /* keep the tail */
			memmove(log, log + n / 2, len - n / 2);
			len -= n / 2;
		}
		got = read(fd, log + len, n - 1 - len);
		if (got <= 0)
			return -1;
		len += (size_t)got;
		log[len] = '\0';
		if (strstr(log, "Ready to accept connections"))
			return 0;
	}
}

static int ping(int port)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *r = NULL;
	int rc = -1;

	if (c && !c->err) {
		redisSetTimeout(c, tv);
		r = redisCommand(c, "PING");
	}
	if (r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0)
		rc = 0;
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return rc;
}

int gg_redis_start(struct gg_redis *r, int port)
{
	char log[2048];

	r->pid = -1;
	for (int attempt = 0; attempt < RS_TRIES; attempt++) {
		int fds[2], ok;

		log[0] = '\0';
		r->port = port ? port : pick_port();
		if (r->port <= 0 || pipe2(fds, O_CLOEXEC))
			break;
		r->pid = spawn(r->port, fds[1]);
		close(fds[1]);
		ok = r->pid > 0 && wait_ready(fds[0], log, sizeof(log)) == 0;
		/* redis ignores SIGPIPE: later log lines just go nowhere */
		close(fds[0]);
		if (ok && ping(r->port) == 0) {
			snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%d/0",
				 r->port);
			return 0;
		}
		if (r->pid > 0) {
			kill(r->pid, SIGKILL);
			reap(r->pid, RS_STOP_MS);
		}
		r->pid = -1;
		fprintf(stderr, "redis-server on port %d did not start:\n%s\n",
			r->port, log);
		if (port)
			break;
	}
	return -1;
}

int gg_redis_stop(struct gg_redis *r)
{
	if (r->pid <= 0)
		return -1;
	kill(r->pid, SIGTERM);
	if (reap(r->pid, RS_STOP_MS)) {
		kill(r->pid, SIGKILL);
		reap(r->pid, RS_STOP_MS);
	}
	r->pid = -1;
	return 0;
}
