/* Test support: the three session stores an integration test runs a daemon
 * on (memory:, sqlite: in a fresh temp directory, a private redis-server),
 * for tests that loop over them. */
#ifndef GRADGUARD_TEST_STORES_H
#define GRADGUARD_TEST_STORES_H

#include "tests/lib/redis.h"

enum { GG_MEMORY, GG_SQLITE, GG_REDIS, GG_STORES };

struct gg_store {
	int kind;             /* GG_MEMORY, GG_SQLITE or GG_REDIS */
	char dir[64];         /* a fresh temp directory (every kind) */
	char url[160];        /* the --store value */
	struct gg_redis redis;
};

/* Makes st->dir and, for GG_REDIS, starts a redis-server; fills st->url.
 * Returns 0, or -1 (reason on stderr). */
int gg_store_setup(struct gg_store *st, int kind);
/* Stops the redis-server and removes st->dir. Returns 0 or -1. */
int gg_store_teardown(struct gg_store *st);

#endif
