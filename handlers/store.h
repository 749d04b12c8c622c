/* The session store interface: what /normalize and /sessions need from a
 * place that keeps per-session statistics. Back ends (memory:, sqlite:PATH,
 * later redis://) live in server/ and implement these operations; handlers
 * only see this header. Keys are already namespaced by the caller
 * ("<tenant>/<session>"). All operations are thread-safe. */
#ifndef GRADGUARD_STORE_H
#define GRADGUARD_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stats;  /* core/stats.h */

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND,    /* no such session */
	STORE_MISMATCH,     /* merge: feature count differs from the stored one */
	STORE_FULL,         /* the session limit is reached (new key refused) */
	STORE_UNAVAILABLE,  /* I/O error, locked, connection lost */
	STORE_NOMEM,
	STORE_OVERFLOW,     /* put/merge: the statistics (given or merged) would
			     * not be finite; the stored session is unchanged */
};

struct session_meta {
	int64_t created_at_ms;  /* Unix time, milliseconds */
	int64_t updated_at_ms;
	int64_t expires_at_ms;  /* 0: never expires */
};

/* ttl_ms of a put or merge that names no lifetime: the session keeps its
 * own (the one its last write set, expires_at - updated_at), so that a
 * generated id keeps --anonymous-ttl and a session written with "ttl"
 * keeps it; a new session, or one that never expires, gets dflt_ms
 * (--session-ttl). store_kept_ttl is that rule; m NULL: a new session. */
#define STORE_TTL_KEEP ((int64_t)-1)

static inline int64_t store_kept_ttl(const struct session_meta *m,
				     int64_t dflt_ms)
{
	return m && m->expires_at_ms > m->updated_at_ms
	       ? m->expires_at_ms - m->updated_at_ms : dflt_ms;
}

/* Buckets of the per-tenant session histogram: tenants holding at most
 * 1, 10, 100, 1e3, 1e4, 1e5 sessions, and more. */
#define STORE_TENANT_BUCKETS 7
/* Buckets of the commit batch histogram: at most 1, 2, 4, ... 64 writes
 * in one commit, and more. */
#define STORE_BATCH_BUCKETS 8

/* What a store reports to /metrics (counters since it was opened). */
struct store_stats {
	size_t sessions;          /* live sessions, every tenant */
	bool has_tenants;         /* tenants and tenant_hist are filled */
	size_t tenants;           /* tenants holding at least one session */
	uint64_t tenant_hist[STORE_TENANT_BUCKETS];  /* not cumulative */
	uint64_t expired;         /* lookups that found a lifetime over */
	uint64_t purged;          /* expired sessions removed */
	bool has_batches;         /* the store groups commits (sqlite) */
	uint64_t batch_hist[STORE_BATCH_BUCKETS];    /* not cumulative */
	uint64_t batch_writes;    /* writes committed in batches */
};

struct store;

struct store_ops {
	const char *name;  /* "memory", "sqlite", ... */
	/* *out: a new struct stats the caller frees with stats_free. */
	enum store_status (*get)(struct store *s, const char *key,
				 struct stats **out, struct session_meta *meta);
	/* Replaces (or creates) the session's statistics; STORE_OVERFLOW
	 * (nothing written) if st is not finite (stats_finite). The session
	 * then expires ttl_ms after this write (0: never; STORE_TTL_KEEP: its
	 * own lifetime, store_kept_ttl). A new key past
	 * max_sessions of its tenant is STORE_FULL. */
	enum store_status (*put)(struct store *s, const char *key,
				 const struct stats *st, int64_t ttl_ms,
				 struct session_meta *meta);
	/* Atomically merges delta into the stored statistics (Chan et al.,
	 * core/stats.c stats_merge), creating the session when absent; *out
	 * (may be NULL) receives the merged result. Concurrent merges never
	 * lose an update. STORE_OVERFLOW when a merged value would not be
	 * finite (stats_merge's STATS_OVERFLOW): nothing is written. */
	enum store_status (*merge)(struct store *s, const char *key,
				   const struct stats *delta, int64_t ttl_ms,
				   struct stats **out,
				   struct session_meta *meta);
	enum store_status (*del)(struct store *s, const char *key);
	/* Live sessions of every tenant (expired ones do not count). */
	enum store_status (*count)(struct store *s, size_t *n);
	/* Cheap check for /readyz: the store answers and can write. */
	enum store_status (*ping)(struct store *s);
	/* Fills out for /metrics (NULL: only count is known). */
	enum store_status (*stats)(struct store *s, struct store_stats *out);
	void (*close)(struct store *s);
};

/* Logs one line about the store ("error" or "info"); set by the daemon. */
typedef void store_log_fn(const char *level, const char *msg);

struct store {
	const struct store_ops *ops;
	size_t max_sessions;        /* per tenant; 0: no limit */
	/* Lifetimes the handlers give writes that name none (0: never). */
	int64_t session_ttl_ms;     /* named sessions (--session-ttl) */
	int64_t anonymous_ttl_ms;   /* generated ids (--anonymous-ttl) */
	store_log_fn *log;          /* NULL: silent */
	/* fault state for store_fault (under fault_lock) */
	pthread_mutex_t fault_lock;
	bool faulted;
	int64_t fault_logged_ms;
	char fault_msg[200];
};

/* The tenant part of a key "<tenant>/<id>" (ids have no '/'): its length. */
size_t store_tenant_len(const char *key);

/* Opens the store named by url: "memory:", "sqlite:PATH" or redis://...
 * max_sessions is per tenant (0: no limit). On failure returns -1 with a
 * message in err. */
int store_open(const char *url, size_t max_sessions, struct store **out,
	       char *err, size_t errlen);
/* Closes (NULL is fine). */
void store_close(struct store *s);
const char *store_status_str(enum store_status st);

#endif
