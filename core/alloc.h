/* The one allocation wrapper: every heap allocation in core/, handlers/ and
 * server/ (and cJSON's, via cJSON_InitHooks in server/main.c) goes through
 * these, so a test can make the k-th allocation fail (allocation-failure
 * injection, tests/handlers/test_alloc_failure.c). Thin wrappers over libc:
 * memory from gg_malloc may be released with libc's free and vice versa.
 * Third-party libraries' own allocations (libmicrohttpd, SQLite, hiredis,
 * libcurl) do not pass through here. */
#ifndef GRADGUARD_ALLOC_H
#define GRADGUARD_ALLOC_H

#include <stddef.h>

/* Same contracts as malloc, calloc, realloc and free (gg_free(NULL) is a
 * no-op; a failed gg_realloc leaves the old block untouched). */
void *gg_malloc(size_t size);
void *gg_calloc(size_t n, size_t size);
void *gg_realloc(void *p, size_t size);
void gg_free(void *p);

/* Test hook: with k > 0, the k-th allocation call (gg_malloc, gg_calloc or
 * gg_realloc) from now fails with NULL, that one only; later calls succeed
 * again (one-shot, so error paths that allocate are exercised too). k = 0
 * switches injection off. Process-wide: meant for single-threaded tests. */
void gg_alloc_inject(long k);
/* True while an injected failure is still pending (it was not reached). */
int gg_alloc_pending(void);
/* Allocation calls made since the process started (failed ones included). */
long gg_alloc_count(void);

#endif
