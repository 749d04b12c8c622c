/* The redis:// session store: sessions shared by several gradguard
 * processes through one Redis server (hiredis, Lua merges). */
#ifndef GRADGUARD_STORE_REDIS_H
#define GRADGUARD_STORE_REDIS_H

#include <stddef.h>

struct store;

/* Opens a store on the Redis named by spec, the part of the URL after
 * "redis://": "HOST:PORT[/DB][?ttl=SECONDS]" (HOST may be "[IPv6]"; ttl 0,
 * the default, keeps sessions forever; otherwise a session expires SECONDS
 * after its last update). max_sessions 0 means no limit; the limit holds
 * across all processes sharing the Redis database. A Redis that does not
 * answer yet is not an error (operations report STORE_UNAVAILABLE until it
 * does); a malformed spec or a Redis that refuses SELECT/SCRIPT LOAD is:
 * then -1, *out NULL and a message in err. */
int store_redis_open(const char *spec, size_t max_sessions,
		     struct store **out, char *err, size_t errlen);

#endif
