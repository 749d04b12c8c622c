/* The memory: session store: a chained hash table of sessions behind one
 * mutex, a table of tenants with their session counts (the per-tenant
 * limit in O(1)), and a binary min-heap of the sessions that expire, by
 * expiry: each operation first removes the sessions whose lifetime is over
 * from the top of the heap (no scan). Every operation, merge included, runs
 * entirely under the lock. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"

#include "core/alloc.h"
#include "server/store_impl.h"

/* Buckets of the tenant table (tenants are API keys: few). */
#define MEM_TENANT_BUCKETS 64
/* heap_idx of a session that never expires. */
#define NO_HEAP SIZE_MAX

struct tenant {
	struct tenant *next;
	uint64_t hash;
	size_t n;                /* live sessions */
	char name[];
};

struct entry {
	struct entry *next;
	uint64_t hash;
	struct stats *st;
	struct session_meta meta;
	struct tenant *tenant;
	size_t heap_idx;         /* in store_memory.heap, or NO_HEAP */
	char key[];
};

struct store_memory {
	struct store base;       /* first member */
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t n_buckets;        /* power of two */
	size_t n;
	struct tenant *tenants[MEM_TENANT_BUCKETS];
	struct entry **heap;     /* min-heap by meta.expires_at_ms */
	size_t heap_n, heap_cap;
	uint64_t expired, purged;
};

/* FNV-1a, 64 bit, of len bytes. */
static uint64_t hash_bytes(const char *k, size_t len)
{
	uint64_t h = 14695981039346656037u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)k[i];
		h *= 1099511628211u;
	}
	return h;
}

static uint64_t hash_key(const char *k)
{
	return hash_bytes(k, strlen(k));
}

static struct entry **find_slot(struct store_memory *m, const char *key,
				uint64_t h)
{
	struct entry **e = &m->buckets[h & (m->n_buckets - 1)];

	for (; *e; e = &(*e)->next)
		if ((*e)->hash == h && strcmp((*e)->key, key) == 0)
			break;
	return e;
}

/* The tenant of key, created (with n = 0) when create; NULL if absent or
 * out of memory. */
static struct tenant *tenant_of(struct store_memory *m, const char *key,
				bool create)
{
	size_t len = store_tenant_len(key);
	uint64_t h = hash_bytes(key, len);
	struct tenant **t = &m->tenants[h % MEM_TENANT_BUCKETS];

	for (; *t; t = &(*t)->next)
		if ((*t)->hash == h && strlen((*t)->name) == len &&
		    memcmp((*t)->name, key, len) == 0)
			return *t;
	if (!create)
		return NULL;
	*t = gg_calloc(1, sizeof(**t) + len + 1);
	if (!*t)
		return NULL;
	memcpy((*t)->name, key, len);
	(*t)->hash = h;
	return *t;
}

/* --- the expiry heap ------------------------------------------------- */

static bool heap_less(struct store_memory *m, size_t a, size_t b)
{
	return m->heap[a]->meta.expires_at_ms < m->heap[b]->meta.expires_at_ms;
}

static void heap_swap(struct store_memory *m, size_t a, size_t b)
{
	struct entry *t = m->heap[a];

	m->heap[a] = m->heap[b];
	m->heap[b] = t;
	m->heap[a]->heap_idx = a;
	m->heap[b]->heap_idx = b;
}

static void heap_fix(struct store_memory *m, size_t i)
{
	while (i > 0 && heap_less(m, i, (i - 1) / 2)) {
		heap_swap(m, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;

		if (l < m->heap_n && heap_less(m, l, s))
			s = l;
		if (r < m->heap_n && heap_less(m, r, s))
			s = r;
		if (s == i)
			break;
		heap_swap(m, i, s);
		i = s;
	}
}

static void heap_remove(struct store_memory *m, struct entry *e)
{
	size_t i = e->heap_idx;

	if (i == NO_HEAP)
		return;
	e->heap_idx = NO_HEAP;
	m->heap_n--;
	if (i == m->heap_n)
		return;
	m->heap[i] = m->heap[m->heap_n];
	m->heap[i]->heap_idx = i;
	heap_fix(m, i);
}

/* Sets e's expiry (0: never) and its place in the heap. */
static enum store_status set_expiry(struct store_memory *m, struct entry *e,
				    int64_t expires_at_ms)
{
	if (expires_at_ms && e->heap_idx == NO_HEAP) {
		if (m->heap_n == m->heap_cap) {
			size_t cap = m->heap_cap ? 2 * m->heap_cap : 64;
			struct entry **h = gg_realloc(m->heap,
						      cap * sizeof(*h));

			if (!h)
				return STORE_NOMEM;
			m->heap = h;
			m->heap_cap = cap;
		}
		e->heap_idx = m->heap_n;
		m->heap[m->heap_n++] = e;
	}
	e->meta.expires_at_ms = expires_at_ms;
	if (!expires_at_ms)
		heap_remove(m, e);
	else
		heap_fix(m, e->heap_idx);
	return STORE_OK;
}

/* ---------------------------------------------------------------------- */

static void entry_free(struct entry *e)
{
	stats_free(e->st);
	gg_free(e);
}

/* Unlinks e (at *slot) from everything and frees it. */
static void remove_entry(struct store_memory *m, struct entry **slot)
{
	struct entry *e = *slot;

	*slot = e->next;
	heap_remove(m, e);
	e->tenant->n--;
	m->n--;
	entry_free(e);
}

/* Removes the sessions whose lifetime is over, soonest first. */
static void purge(struct store_memory *m, int64_t now)
{
	while (m->heap_n && m->heap[0]->meta.expires_at_ms <= now) {
		struct entry *e = m->heap[0];

		remove_entry(m, find_slot(m, e->key, e->hash));
		m->purged++;
	}
}

/* Doubles the table when it is fuller than one entry per bucket. A failed
 * allocation just keeps the longer chains. */
static void maybe_grow(struct store_memory *m)
{
	size_t nb = m->n_buckets * 2;
	struct entry **b;

	if (m->n < m->n_buckets)
		return;
	b = gg_calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	gg_free(m->buckets);
	m->buckets = b;
	m->n_buckets = nb;
}

/* A new entry owning st, linked at *slot, when its tenant is below the
 * limit. Caller holds the lock. */
static enum store_status insert(struct store_memory *m, struct entry **slot,
				const char *key, uint64_t h,
				struct stats *st, int64_t now,
				struct entry **out)
{
	size_t len = strlen(key);
	struct tenant *t = tenant_of(m, key, true);
	struct entry *e;

	if (!t)
		return STORE_NOMEM;
	if (m->base.max_sessions && t->n >= m->base.max_sessions)
		return STORE_FULL;
	e = gg_malloc(sizeof(*e) + len + 1);
	if (!e)
		return STORE_NOMEM;
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->st = st;
	e->tenant = t;
	e->heap_idx = NO_HEAP;
	e->meta.created_at_ms = e->meta.updated_at_ms = now;
	e->meta.expires_at_ms = 0;
	e->next = NULL;
	*slot = e;
	t->n++;
	m->n++;
	*out = e;
	maybe_grow(m);
	return STORE_OK;
}

/* The live entry of key (purging first), or the empty slot for it. */
static struct entry **lookup(struct store_memory *m, const char *key,
			     uint64_t h, int64_t now)
{
	struct entry **slot;

	purge(m, now);
	slot = find_slot(m, key, h);
	if (*slot && (*slot)->meta.expires_at_ms &&
	    (*slot)->meta.expires_at_ms <= now) {
		m->expired++;
		remove_entry(m, slot);
	}
	return slot;
}

static enum store_status mem_get(struct store *s, const char *key,
				 struct stats **out, struct session_meta *meta)
{
	struct store_memory *m = (struct store_memory *)s;
	enum store_status rc = STORE_NOT_FOUND;
	struct entry *e;

	*out = NULL;
	pthread_mutex_lock(&m->lock);
	e = *lookup(m, key, hash_key(key), store_now_ms());
	if (e) {
		*out = stats_copy(e->st);
		rc = *out ? STORE_OK : STORE_NOMEM;
		if (meta)
			*meta = e->meta;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Stamps a written entry: updated now, expiring ttl_ms later. A failed
 * heap allocation leaves the old expiry (and the write is refused). */
static enum store_status touch(struct store_memory *m, struct entry *e,
			       int64_t now, int64_t ttl_ms)
{
	enum store_status rc;

	if (ttl_ms == STORE_TTL_KEEP)
		ttl_ms = store_kept_ttl(&e->meta, m->base.session_ttl_ms);
	rc = set_expiry(m, e, ttl_ms > 0 ? now + ttl_ms : 0);

	if (rc == STORE_OK)
		e->meta.updated_at_ms = now;
	return rc;
}

static enum store_status mem_put(struct store *s, const char *key,
				 const struct stats *st, int64_t ttl_ms,
				 struct session_meta *meta)
{
	struct store_memory *m = (struct store_memory *)s;
	uint64_t h = hash_key(key);
	int64_t now = store_now_ms();
	struct stats *c = NULL;
	enum store_status rc = STORE_OK;
	struct entry **slot, *e;
	bool fresh = false;

	if (!stats_finite(st, NULL))
		return STORE_OVERFLOW;
	c = stats_copy(st);
	if (!c)
		return STORE_NOMEM;
	pthread_mutex_lock(&m->lock);
	slot = lookup(m, key, h, now);
	if (*slot) {
		e = *slot;
	} else {
		rc = insert(m, slot, key, h, c, now, &e);
		if (rc != STORE_OK)
			goto out;
		c = NULL;
		fresh = true;
	}
	rc = touch(m, e, now, ttl_ms);
	if (rc != STORE_OK) {
		if (fresh)
			remove_entry(m, find_slot(m, key, h));
		goto out;
	}
	if (c) {
		stats_free(e->st);
		e->st = c;
		c = NULL;
	}
	if (meta)
		*meta = e->meta;
out:
	pthread_mutex_unlock(&m->lock);
	stats_free(c);
	return rc;
}

static enum store_status mem_merge(struct store *s, const char *key,
				   const struct stats *delta, int64_t ttl_ms,
				   struct stats **out,
				   struct session_meta *meta)
{
	struct store_memory *m = (struct store_memory *)s;
	uint64_t h = hash_key(key);
	int64_t now = store_now_ms();
	enum store_status rc = STORE_OK;
	struct stats *fresh = NULL, *res = NULL, *merged = NULL;
	struct entry **slot, *e;

	if (out)
		*out = NULL;
	pthread_mutex_lock(&m->lock);
	slot = lookup(m, key, h, now);
	if (*slot) {
		e = *slot;
		if (e->st->n_features != delta->n_features) {
			rc = STORE_MISMATCH;
			goto out;
		}
		/* merged into a copy, so that a refusal leaves no half state */
		merged = stats_copy(e->st);
		if (!merged || (out && !(res = stats_copy(e->st)))) {
			rc = STORE_NOMEM;
			goto out;
		}
		if (stats_merge(merged, delta) != STATS_OK) {
			rc = STORE_OVERFLOW;
			goto out;
		}
		rc = touch(m, e, now, ttl_ms);
		if (rc != STORE_OK)
			goto out;
		if (res)
			stats_merge(res, delta);
		stats_free(e->st);
		e->st = merged;
		merged = NULL;
	} else {
		if (!stats_finite(delta, NULL)) {
			rc = STORE_OVERFLOW;
			goto out;
		}
		fresh = stats_copy(delta);
		if (!fresh || (out && !(res = stats_copy(delta)))) {
			rc = STORE_NOMEM;
			goto out;
		}
		rc = insert(m, slot, key, h, fresh, now, &e);
		if (rc != STORE_OK)
			goto out;
		fresh = NULL;
		rc = touch(m, e, now, ttl_ms);
		if (rc != STORE_OK) {
			remove_entry(m, find_slot(m, key, h));
			goto out;
		}
	}
	if (meta)
		*meta = e->meta;
	if (out) {
		*out = res;
		res = NULL;
	}
out:
	pthread_mutex_unlock(&m->lock);
	stats_free(fresh);
	stats_free(res);
	stats_free(merged);
	return rc;
}

static enum store_status mem_del(struct store *s, const char *key)
{
	struct store_memory *m = (struct store_memory *)s;
	enum store_status rc = STORE_NOT_FOUND;
	struct entry **slot;

	pthread_mutex_lock(&m->lock);
	slot = lookup(m, key, hash_key(key), store_now_ms());
	if (*slot) {
		remove_entry(m, slot);
		rc = STORE_OK;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static enum store_status mem_count(struct store *s, size_t *n)
{
	struct store_memory *m = (struct store_memory *)s;

	pthread_mutex_lock(&m->lock);
	purge(m, store_now_ms());
	*n = m->n;
	pthread_mutex_unlock(&m->lock);
	return STORE_OK;
}

static enum store_status mem_stats(struct store *s, struct store_stats *out)
{
	struct store_memory *m = (struct store_memory *)s;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->lock);
	purge(m, store_now_ms());
	out->sessions = m->n;
	out->has_tenants = true;
	for (size_t i = 0; i < MEM_TENANT_BUCKETS; i++)
		for (struct tenant *t = m->tenants[i]; t; t = t->next)
			if (t->n) {
				out->tenants++;
				out->tenant_hist[store_tenant_bucket(t->n)]++;
			}
	out->expired = m->expired;
	out->purged = m->purged;
	pthread_mutex_unlock(&m->lock);
	return STORE_OK;
}

static enum store_status mem_ping(struct store *s)
{
	(void)s;
	return STORE_OK;
}

static void mem_close(struct store *s)
{
	struct store_memory *m = (struct store_memory *)s;

	if (!m)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	for (size_t i = 0; i < MEM_TENANT_BUCKETS; i++) {
		struct tenant *t = m->tenants[i], *next;

		for (; t; t = next) {
			next = t->next;
			gg_free(t);
		}
	}
	gg_free(m->heap);
	gg_free(m->buckets);
	pthread_mutex_destroy(&m->lock);
	store_base_destroy(&m->base);
	gg_free(m);
}

static const struct store_ops memory_ops = {
	.name = "memory",
	.get = mem_get,
	.put = mem_put,
	.merge = mem_merge,
	.del = mem_del,
	.count = mem_count,
	.ping = mem_ping,
	.stats = mem_stats,
	.close = mem_close,
};

int store_memory_open(size_t max_sessions, struct store **out, char *err,
		      size_t errlen)
{
	struct store_memory *m = gg_calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		goto nomem;
	m->n_buckets = 64;
	m->buckets = gg_calloc(m->n_buckets, sizeof(*m->buckets));
	if (!m->buckets)
		goto nomem;
	if (pthread_mutex_init(&m->lock, NULL) != 0)
		goto nomem;
	store_base_init(&m->base, &memory_ops, max_sessions);
	*out = &m->base;
	return 0;
nomem:
	if (m)
		gg_free(m->buckets);
	gg_free(m);
	snprintf(err, errlen, "memory store: out of memory");
	return -1;
}
