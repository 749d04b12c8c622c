/* The memory: session store: a chained hash table of sessions behind one
 * mutex. Every operation, merge included, runs entirely under the lock. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"

#include "core/alloc.h"
#include "server/store_impl.h"

struct entry {
	struct entry *next;
	uint64_t hash;
	struct stats *st;
	struct session_meta meta;
	char key[];
};

struct store_memory {
	struct store base;       /* first member */
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t n_buckets;        /* power of two */
	size_t n;
};

/* FNV-1a, 64 bit. */
static uint64_t hash_key(const char *k)
{
	uint64_t h = 14695981039346656037u;

	for (; *k; k++) {
		h ^= (unsigned char)*k;
		h *= 1099511628211u;
	}
	return h;
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

/* A new entry owning st, linked at *slot. Caller holds the lock. */
static enum store_status insert(struct store_memory *m, struct entry **slot,
				const char *key, uint64_t h,
				struct stats *st, struct entry **out)
{
	size_t len = strlen(key);
	struct entry *e;

	if (m->base.max_sessions && m->n >= m->base.max_sessions)
		return STORE_FULL;
	e = gg_malloc(sizeof(*e) + len + 1);
	if (!e)
		return STORE_NOMEM;
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->st = st;
	e->meta.created_at_ms = e->meta.updated_at_ms = store_now_ms();
	e->next = NULL;
	*slot = e;
	m->n++;
	*out = e;
	maybe_grow(m);
	return STORE_OK;
}

static enum store_status mem_get(struct store *s, const char *key,
				 struct stats **out, struct session_meta *meta)
{
	struct store_memory *m = (struct store_memory *)s;
	enum store_status rc = STORE_NOT_FOUND;
	struct entry *e;

	*out = NULL;
	pthread_mutex_lock(&m->lock);
	e = *find_slot(m, key, hash_key(key));
	if (e) {
		*out = stats_copy(e->st);
		rc = *out ? STORE_OK : STORE_NOMEM;
		if (meta)
			*meta = e->meta;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static enum store_status mem_put(struct store *s, const char *key,
				 const struct stats *st,
				 struct session_meta *meta)
{
	struct store_memory *m = (struct store_memory *)s;
	uint64_t h = hash_key(key);
	struct stats *c = NULL;
	enum store_status rc = STORE_OK;
	struct entry **slot, *e;

	if (!stats_finite(st, NULL))
		return STORE_OVERFLOW;
	c = stats_copy(st);
	if (!c)
		return STORE_NOMEM;
	pthread_mutex_lock(&m->lock);
	slot = find_slot(m, key, h);
	if (*slot) {
		e = *slot;
		stats_free(e->st);
		e->st = c;
		e->meta.updated_at_ms = store_now_ms();
	} else {
		rc = insert(m, slot, key, h, c, &e);
		if (rc != STORE_OK)
			goto out;
	}
	c = NULL;
	if (meta)
		*meta = e->meta;
out:
	pthread_mutex_unlock(&m->lock);
	stats_free(c);
	return rc;
}

static enum store_status mem_merge(struct store *s, const char *key,
				   const struct stats *delta,
				   struct stats **out,
				   struct session_meta *meta)
{
	struct store_memory *m = (struct store_memory *)s;
	uint64_t h = hash_key(key);
	enum store_status rc = STORE_OK;
	struct stats *fresh = NULL, *res = NULL;
	struct entry **slot, *e;

	if (out)
		*out = NULL;
	pthread_mutex_lock(&m->lock);
	slot = find_slot(m, key, h);
	if (*slot) {
		e = *slot;
		if (e->st->n_features != delta->n_features) {
			rc = STORE_MISMATCH;
			goto out;
		}
		if (out) {
			/* copy first so that a failed copy leaves no half state */
			res = stats_copy(e->st);
			if (!res) {
				rc = STORE_NOMEM;
				goto out;
			}
		}
		/* a refused merge leaves e->st untouched; an accepted one
		 * gives res (the old value) the same result */
		if (stats_merge(e->st, delta) != STATS_OK) {
			rc = STORE_OVERFLOW;
			goto out;
		}
		if (res)
			stats_merge(res, delta);
		e->meta.updated_at_ms = store_now_ms();
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
		rc = insert(m, slot, key, h, fresh, &e);
		if (rc != STORE_OK)
			goto out;
		fresh = NULL;
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
	return rc;
}

static enum store_status mem_del(struct store *s, const char *key)
{
	struct store_memory *m = (struct store_memory *)s;
	enum store_status rc = STORE_NOT_FOUND;
	struct entry **slot, *e;

	pthread_mutex_lock(&m->lock);
	slot = find_slot(m, key, hash_key(key));
	if (*slot) {
		e = *slot;
		*slot = e->next;
		m->n--;
		stats_free(e->st);
		gg_free(e);
		rc = STORE_OK;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static enum store_status mem_count(struct store *s, size_t *n)
{
	struct store_memory *m = (struct store_memory *)s;

	pthread_mutex_lock(&m->lock);
	*n = m->n;
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
			stats_free(e->st);
			gg_free(e);
		}
	}
	gg_free(m->buckets);
	pthread_mutex_destroy(&m->lock);
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
	m->base.ops = &memory_ops;
	m->base.max_sessions = max_sessions;
	*out = &m->base;
	return 0;
nomem:
	if (m)
		gg_free(m->buckets);
	gg_free(m);
	snprintf(err, errlen, "memory store: out of memory");
	return -1;
}
