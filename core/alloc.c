/* Allocation wrappers with a one-shot failure-injection countdown
 * (core/alloc.h). The only state is two _Atomic counters. */
#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Allocation calls until the injected failure; 0: injection off. */
static _Atomic long fail_countdown;
static _Atomic long alloc_calls;

/* True if this allocation call is the injected failure. */
static int alloc_should_fail(void)
{
	long c;

	atomic_fetch_add_explicit(&alloc_calls, 1, memory_order_relaxed);
	c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
	while (c > 0) {
		if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1))
			return c == 1;
	}
	return 0;
}

void *gg_malloc(size_t size)
{
	return alloc_should_fail() ? NULL : malloc(size);
}

void *gg_calloc(size_t n, size_t size)
{
	return alloc_should_fail() ? NULL : calloc(n, size);
}

void *gg_realloc(void *p, size_t size)
{
	return alloc_should_fail() ? NULL : realloc(p, size);
}

void gg_free(void *p)
{
	free(p);
}

void gg_alloc_inject(long k)
{
	atomic_store(&fail_countdown, k > 0 ? k : 0);
}

int gg_alloc_pending(void)
{
	return atomic_load(&fail_countdown) > 0;
}

long gg_alloc_count(void)
{
	return atomic_load(&alloc_calls);
}
