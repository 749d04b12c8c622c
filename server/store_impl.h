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

#endif
