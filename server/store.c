/* The session store dispatcher: picks a back end from a URL ("memory:",
 * "sqlite:PATH", "redis://HOST:PORT[/DB]") and names store statuses. */
#include "handlers/store.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/stats.h"
#include "server/store_impl.h"
#include "server/store_redis.h"

int64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fault that stays the same is logged again at most this often. */
#define STORE_FAULT_LOG_MS 60000

void store_base_init(struct store *b, const struct store_ops *ops,
		     size_t max_sessions)
{
	b->ops = ops;
	b->max_sessions = max_sessions;
	pthread_mutex_init(&b->fault_lock, NULL);
}

void store_base_destroy(struct store *b)
{
	pthread_mutex_destroy(&b->fault_lock);
}

void store_fault(struct store *b, const char *fmt, ...)
{
	char msg[sizeof(b->fault_msg)], line[sizeof(msg) + 64];
	int64_t now = store_now_ms();
	bool say;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&b->fault_lock);
	say = !b->faulted || strcmp(msg, b->fault_msg) != 0 ||
	      now - b->fault_logged_ms >= STORE_FAULT_LOG_MS;
	b->faulted = true;
	if (say) {
		memcpy(b->fault_msg, msg, sizeof(msg));
		b->fault_logged_ms = now;
	}
	pthread_mutex_unlock(&b->fault_lock);
	if (say && b->log) {
		snprintf(line, sizeof(line), "store %s: %s", b->ops->name, msg);
		b->log("error", line);
	}
}

void store_recovered(struct store *b)
{
	char line[64];
	bool was;

	pthread_mutex_lock(&b->fault_lock);
	was = b->faulted;
	b->faulted = false;
	b->fault_msg[0] = '\0';
	pthread_mutex_unlock(&b->fault_lock);
	if (was && b->log) {
		snprintf(line, sizeof(line), "store %s: working again",
			 b->ops->name);
		b->log("info", line);
	}
}

bool store_faulted(struct store *b)
{
	bool f;

	pthread_mutex_lock(&b->fault_lock);
	f = b->faulted;
	pthread_mutex_unlock(&b->fault_lock);
	return f;
}

size_t store_bucket(size_t n, size_t buckets, size_t factor)
{
	size_t i = 0;

	for (size_t lim = 1; i + 1 < buckets && n > lim; lim *= factor)
		i++;
	return i;
}

size_t store_tenant_len(const char *key)
{
	const char *slash = strrchr(key, '/');

	return slash ? (size_t)(slash - key) : 0;
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

static void put_double(unsigned char *p, double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(u >> (8 * i));
}

static double get_double(const unsigned char *p)
{
	uint64_t u = 0;
	double d;

	for (int i = 0; i < 8; i++)
		u |= (uint64_t)p[i] << (8 * i);
	memcpy(&d, &u, sizeof(d));
	return d;
}

unsigned char *store_encode_stats(const struct stats *st, size_t *len)
{
	unsigned char *b;

	*len = st->n_features * STORE_FEATURE_BYTES;
	b = gg_malloc(*len);
	if (!b)
		return NULL;
	for (size_t j = 0; j < st->n_features; j++) {
		unsigned char *p = b + j * STORE_FEATURE_BYTES;

		put_double(p, (double)st->count[j]);
		put_double(p + 8, st->mean[j]);
		put_double(p + 16, st->m2[j]);
		put_double(p + 24, st->mean_lo[j]);
	}
	return b;
}

enum store_status store_decode_stats(const unsigned char *b, size_t len,
				     struct stats **out)
{
	struct stats *st;
	size_t nf;

	if (!b || len == 0 || len % STORE_FEATURE_BYTES)
		return STORE_UNAVAILABLE;
	nf = len / STORE_FEATURE_BYTES;
	st = stats_new(nf);
	if (!st)
		return STORE_NOMEM;
	for (size_t j = 0; j < nf; j++) {
		const unsigned char *p = b + j * STORE_FEATURE_BYTES;
		double c = get_double(p);

		st->count[j] = c > 0 && c < 0x1p64 ? (uint64_t)c : 0;
		st->mean[j] = get_double(p + 8);
		st->m2[j] = get_double(p + 16);
		st->mean_lo[j] = get_double(p + 24);
	}
	*out = st;
	return STORE_OK;
}
