/* Private to the store back ends: their constructors and shared helpers.
 * Each back end embeds struct store as its first member. */
#ifndef GRADGUARD_STORE_IMPL_H
#define GRADGUARD_STORE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "handlers/store.h"

/* A process-local table of sessions guarded by one mutex. */
int store_memory_open(size_t max_sessions, struct store **out, char *err,
		      size_t errlen);
/* An SQLite database at path (parent directory created when missing). */
int store_sqlite_open(const char *path, size_t max_sessions,
		      struct store **out, char *err, size_t errlen);
/* Wall-clock time, Unix milliseconds. */
int64_t store_now_ms(void);
/* Fills the common part of a back end (the fault state included). */
void store_base_init(struct store *b, const struct store_ops *ops,
		     size_t max_sessions);
void store_base_destroy(struct store *b);
/* The store failed for an outside reason (I/O, a lost connection): logs
 * the cause as an error when the store was fine or the cause changed, at
 * most once per STORE_FAULT_LOG_MS for the same fault (no flood). */
void store_fault(struct store *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The store works again: logs the recovery once after a fault. */
void store_recovered(struct store *b);
bool store_faulted(struct store *b);
/* Bucket of n in a histogram whose upper bounds are 1, factor,
 * factor^2, ... and a last one without bound. */
size_t store_bucket(size_t n, size_t buckets, size_t factor);
/* Buckets of store_stats.tenant_hist and batch_hist. */
#define store_tenant_bucket(n) store_bucket(n, STORE_TENANT_BUCKETS, 10)
#define store_batch_bucket(n) store_bucket(n, STORE_BATCH_BUCKETS, 2)

struct stats;

/* The stored form of a session's statistics (SQLite BLOB, Redis string):
 * per feature four little-endian IEEE doubles, count, mean, M2, mean_lo. */
#define STORE_FEATURE_BYTES 32
/* Encodes st; returns a gg_malloc'd block of *len bytes, or NULL. */
unsigned char *store_encode_stats(const struct stats *st, size_t *len);
/* Decodes len bytes (a positive multiple of STORE_FEATURE_BYTES) into a new
 * *out; STORE_UNAVAILABLE when the bytes cannot be a session (corrupt). */
enum store_status store_decode_stats(const unsigned char *b, size_t len,
				     struct stats **out);

#endif
