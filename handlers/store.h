/* The session store interface: what /normalize and /sessions need from a
 * place that keeps per-session statistics. Back ends (memory:, sqlite:PATH,
 * later redis://) live in server/ and implement these operations; handlers
 * only see this header. Keys are already namespaced by the caller
 * ("<tenant>/<session>"). All operations are thread-safe. */
#ifndef GRADGUARD_STORE_H
#define GRADGUARD_STORE_H

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
};

struct store;

struct store_ops {
	const char *name;  /* "memory", "sqlite", ... */
	/* *out: a new struct stats the caller frees with stats_free. */
	enum store_status (*get)(struct store *s, const char *key,
				 struct stats **out, struct session_meta *meta);
	/* Replaces (or creates) the session's statistics; STORE_OVERFLOW
	 * (nothing written) if st is not finite (stats_finite). */
	enum store_status (*put)(struct store *s, const char *key,
				 const struct stats *st,
				 struct session_meta *meta);
	/* Atomically merges delta into the stored statistics (Chan et al.,
	 * core/stats.c stats_merge), creating the session when absent; *out
	 * (may be NULL) receives the merged result. Concurrent merges never
	 * lose an update. STORE_OVERFLOW when a merged value would not be
	 * finite (stats_merge's STATS_OVERFLOW): nothing is written. */
	enum store_status (*merge)(struct store *s, const char *key,
				   const struct stats *delta,
				   struct stats **out,
				   struct session_meta *meta);
	enum store_status (*del)(struct store *s, const char *key);
	enum store_status (*count)(struct store *s, size_t *n);
	/* Cheap reachability check for /readyz. */
	enum store_status (*ping)(struct store *s);
	void (*close)(struct store *s);
};

struct store {
	const struct store_ops *ops;
	size_t max_sessions;
};

/* Opens the store named by url: "memory:" or "sqlite:PATH". On failure
 * returns -1 with a message in err. */
int store_open(const char *url, size_t max_sessions, struct store **out,
	       char *err, size_t errlen);
/* Closes (NULL is fine). */
void store_close(struct store *s);
const char *store_status_str(enum store_status st);

#endif
