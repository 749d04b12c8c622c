/* Test support: a private, throw-away redis-server on a loopback port (no
 * persistence) for the redis:// store tests. */
#ifndef GRADGUARD_TEST_REDIS_H
#define GRADGUARD_TEST_REDIS_H

#include <sys/types.h>

struct gg_redis {
	pid_t pid;            /* -1 when not running */
	int port;
	char url[64];         /* "redis://127.0.0.1:PORT/0" */
};

/* Starts $GG_REDIS_SERVER (else redis-server from PATH, else
 * /usr/bin/redis-server) with --bind 127.0.0.1 --save "" --appendonly no on
 * port (0 picks a free one; a given port is reused, e.g. to restart it),
 * and waits (bounded, no sleep) for its "Ready to accept connections" line
 * and a PONG. Returns 0, or -1 with a reason on stderr (missing binary
 * included: tests that need Redis fail rather than skip). The server is
 * SIGKILLed if the calling thread dies first. */
int gg_redis_start(struct gg_redis *r, int port);
/* SIGTERM, then SIGKILL after 5 s; waits for it. Keeps r->port. Returns 0
 * once it has exited, -1 if it was not running. */
int gg_redis_stop(struct gg_redis *r);

#endif
