/* The session store dispatcher: picks a back end from a URL ("memory:",
 * "sqlite:PATH", "redis://HOST:PORT[/DB]") and names store statuses. */
#include "handlers/store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/store_impl.h"
#include "server/store_redis.h"

int64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* url: "memory:", "sqlite:PATH" (PATH non-empty) or
 * "redis://HOST:PORT[/DB][?ttl=SECONDS]" (see store_redis.h). max_sessions
 * 0 means no limit. On failure returns -1, *out = NULL and a message in err. */
int store_open(const char *url, size_t max_sessions, struct store **out,
	       char *err, size_t errlen)
{
	*out = NULL;
	if (!url) {
		snprintf(err, errlen, "no store URL");
		return -1;
	}
	if (strcmp(url, "memory:") == 0)
		return store_memory_open(max_sessions, out, err, errlen);
	if (strncmp(url, "sqlite:", 7) == 0) {
		if (url[7] == '\0') {
			snprintf(err, errlen, "sqlite: needs a path (sqlite:PATH)");
			return -1;
		}
		return store_sqlite_open(url + 7, max_sessions, out, err,
					 errlen);
	}
	if (strncmp(url, "redis://", 8) == 0)
		return store_redis_open(url + 8, max_sessions, out, err,
					errlen);
	snprintf(err, errlen,
		 "unknown store '%s' (expected memory:, sqlite:PATH or "
		 "redis://HOST:PORT[/DB])", url);
	return -1;
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_status_str(enum store_status st)
{
	switch (st) {
	case STORE_OK: return "ok";
	case STORE_NOT_FOUND: return "not found";
	case STORE_MISMATCH: return "feature count mismatch";
	case STORE_FULL: return "session limit reached";
	case STORE_UNAVAILABLE: return "store unavailable";
	case STORE_NOMEM: return "out of memory";
	case STORE_OVERFLOW: return "statistics overflow";
	}
	return "unknown store status";
}
