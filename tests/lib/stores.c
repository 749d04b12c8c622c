/* The stores of an integration test; see stores.h. */
#include "tests/lib/stores.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gg_store_setup(struct gg_store *st, int kind)
{
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->redis.pid = -1;
	snprintf(st->dir, sizeof(st->dir), "/tmp/gg_store_XXXXXX");
	if (!mkdtemp(st->dir)) {
		perror("mkdtemp");
		return -1;
	}
	if (kind == GG_MEMORY) {
		snprintf(st->url, sizeof(st->url), "memory:");
	} else if (kind == GG_SQLITE) {
		snprintf(st->url, sizeof(st->url), "sqlite:%s/s.db", st->dir);
	} else {
		if (gg_redis_start(&st->redis, 0) != 0)
			return -1;
		snprintf(st->url, sizeof(st->url), "%s", st->redis.url);
	}
	return 0;
}

int gg_store_teardown(struct gg_store *st)
{
	char cmd[128];
	int rc = 0;

	if (st->kind == GG_REDIS && gg_redis_stop(&st->redis) != 0)
		rc = -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", st->dir);
	if (system(cmd) != 0)
		rc = -1;
	return rc;
}
