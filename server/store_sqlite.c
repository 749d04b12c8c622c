/* The sqlite:PATH session store: a table of sessions (statistics as a BLOB
 * of little-endian doubles: count, mean, M2, mean_lo per feature), a table
 * of per-tenant session counts kept by triggers (the limit in O(1)), and a
 * partial index on expiry (expired sessions are purged by range, never by a
 * scan). WAL mode: readers use a pool of connections and never wait for a
 * writer. Every write goes through one writer thread that commits all the
 * writes queued meanwhile in one transaction (group commit: one fsync for
 * many) and acknowledges each only once that commit is durable. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "core/stats.h"

#include "core/alloc.h"
#include "server/store_impl.h"

/* Reader connections: worker threads beyond this wait for one. */
#define SQ_POOL 4
/* How long a writer waits for another process's lock before giving up (503). */
#define SQ_BUSY_MS 5000
/* Most writes committed in one transaction (the rest wait for the next). */
#define SQ_BATCH_MAX 256
/* Most expired sessions one purge removes (each batch runs one). */
#define SQ_PURGE_MAX 256
/* The writer, idle, sweeps expired sessions this often. */
#define SQ_SWEEP_MS 1000

enum {
	Q_GET, Q_UPSERT, Q_DELETE, Q_TENANT_N, Q_BEGIN, Q_COMMIT, Q_ROLLBACK,
	Q_PING, Q_PURGE, Q_PURGE_TENANT, Q_COUNT, Q_EXPIRED, Q_TENANTS,
	Q_PROBE, Q_N
};

static const char *const sql_text[Q_N] = {
	[Q_GET] = "SELECT n_features, stats, created_at, updated_at, "
		  "expires_at FROM sessions WHERE key = ?1",
	[Q_UPSERT] = "INSERT INTO sessions(key, tenant, n_features, stats, "
		     "created_at, updated_at, expires_at) "
		     "VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) "
		     "ON CONFLICT(key) DO UPDATE SET n_features = "
		     "excluded.n_features, stats = excluded.stats, "
		     "updated_at = excluded.updated_at, "
		     "expires_at = excluded.expires_at",
	[Q_DELETE] = "DELETE FROM sessions WHERE key = ?1",
	[Q_TENANT_N] = "SELECT n FROM tenants WHERE tenant = ?1",
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_PING] = "SELECT 1 FROM sessions LIMIT 1",
	/* both walk the expiry index over the expired rows only */
	[Q_PURGE] = "DELETE FROM sessions WHERE key IN (SELECT key FROM "
		    "sessions WHERE expires_at <= ?1 LIMIT ?2)",
	[Q_PURGE_TENANT] = "DELETE FROM sessions WHERE expires_at <= ?1 AND "
			   "tenant = ?2",
	[Q_COUNT] = "SELECT coalesce(sum(n), 0) FROM tenants",
	[Q_EXPIRED] = "SELECT count(*) FROM sessions WHERE expires_at <= ?1",
	[Q_TENANTS] = "SELECT n FROM tenants WHERE n > 0",
	[Q_PROBE] = "INSERT INTO probe(id, at) VALUES (1, ?1) "
		    "ON CONFLICT(id) DO UPDATE SET at = excluded.at",
};

/* Durability: an acknowledged update must survive kill -9 and power loss,
 * so WAL with synchronous=FULL (NORMAL in WAL may drop the last commits on
 * power loss). */
static const char schema_sql[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS sessions ("
	" key TEXT PRIMARY KEY,"
	" n_features INTEGER NOT NULL,"
	" stats BLOB NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL"
	") WITHOUT ROWID;";

/* Version 2 (lifetimes, per-tenant counts), added to a version 1 database
 * in one transaction; the counts are taken once from the rows there. */
static const char schema_v2_sql[] =
	"BEGIN IMMEDIATE;"
	"ALTER TABLE sessions ADD COLUMN tenant TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE sessions ADD COLUMN expires_at INTEGER;"
	"UPDATE sessions SET tenant = substr(key, 1, instr(key, '/') - 1);"
	"CREATE INDEX sessions_expiry ON sessions(expires_at) "
	" WHERE expires_at IS NOT NULL;"
	"CREATE TABLE tenants (tenant TEXT PRIMARY KEY,"
	" n INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO tenants SELECT tenant, count(*) FROM sessions"
	" GROUP BY tenant;"
	"CREATE TRIGGER sessions_counted AFTER INSERT ON sessions BEGIN"
	" INSERT INTO tenants VALUES (new.tenant, 1)"
	" ON CONFLICT(tenant) DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER sessions_uncounted AFTER DELETE ON sessions BEGIN"
	" UPDATE tenants SET n = n - 1 WHERE tenant = old.tenant; END;"
	"CREATE TABLE probe (id INTEGER PRIMARY KEY, at INTEGER);"
	"COMMIT;";

struct conn {
	sqlite3 *db;
	sqlite3_stmt *q[Q_N];
	bool busy;
};

enum job_kind { JOB_WRITE, JOB_DELETE, JOB_PROBE };

/* One write waiting for the writer thread (on the caller's stack). */
struct job {
	struct job *next;
	enum job_kind kind;
	const char *key;
	const struct stats *st;
	bool merge;
	int64_t ttl_ms;
	struct stats *out;         /* the stored result (merge), after commit */
	struct session_meta meta;
	enum store_status rc;
	bool done;
};

struct store_sqlite {
	struct store base;       /* first member */
	pthread_mutex_t lock;    /* the reader pool */
	pthread_cond_t freed;
	size_t n_conns;
	struct conn conns[SQ_POOL];
	struct conn writer;      /* the writer thread's own */
	bool shared;             /* :memory: - one connection for all */
	char path[4096];
	dev_t dev;               /* identity of the file opened */
	ino_t ino;
	/* the queue of the writer thread */
	pthread_mutex_t wlock;
	pthread_cond_t wake;     /* work queued, or stopping */
	pthread_cond_t done;     /* a batch finished */
	struct job *head, **tail;
	bool stopping;
	pthread_t thread;
	bool started;
	/* counters (under wlock; purging adds to purging, which only the
	 * writer thread touches, and the writer adds it after each batch) */
	uint64_t purged, batch_writes;
	uint64_t batch_hist[STORE_BATCH_BUCKETS];
	uint64_t purging;
	_Atomic uint64_t expired;
};

static struct conn *conn_acquire(struct store_sqlite *q)
{
	struct conn *c = NULL;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		for (size_t i = 0; i < q->n_conns && !c; i++)
			if (!q->conns[i].busy)
				c = &q->conns[i];
		if (c)
			break;
		pthread_cond_wait(&q->freed, &q->lock);
	}
	c->busy = true;
	pthread_mutex_unlock(&q->lock);
	return c;
}

static void conn_release(struct store_sqlite *q, struct conn *c)
{
	pthread_mutex_lock(&q->lock);
	c->busy = false;
	pthread_cond_signal(&q->freed);
	pthread_mutex_unlock(&q->lock);
}

/* Reads the row Q_GET stepped onto into *out (and meta). */
static enum store_status decode_row(sqlite3_stmt *s, struct stats **out,
				    struct session_meta *meta)
{
	sqlite3_int64 nf = sqlite3_column_int64(s, 0);
	const unsigned char *b = sqlite3_column_blob(s, 1);
	size_t len = (size_t)sqlite3_column_bytes(s, 1);
	struct stats *st;
	enum store_status rc;

	if (nf <= 0 || len != (size_t)nf * STORE_FEATURE_BYTES)
		return STORE_UNAVAILABLE;  /* corrupt row */
	rc = store_decode_stats(b, len, &st);
	if (rc != STORE_OK)
		return rc;
	meta->created_at_ms = sqlite3_column_int64(s, 2);
	meta->updated_at_ms = sqlite3_column_int64(s, 3);
	meta->expires_at_ms = sqlite3_column_int64(s, 4);
	*out = st;
	return STORE_OK;
}

/* A failed statement: 503 (or out of memory), the cause logged. */
static enum store_status fail(struct store_sqlite *q, sqlite3 *db, int rc)
{
	if (rc == SQLITE_NOMEM)
		return STORE_NOMEM;
	store_fault(&q->base, "%s: %s", q->path,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return STORE_UNAVAILABLE;
}

/* Runs a statement that returns no row of interest. */
static enum store_status run(struct store_sqlite *q, struct conn *c,
			     sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	enum store_status st = STORE_OK;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		st = fail(q, c->db, rc);
	sqlite3_reset(s);
	return st;
}

/* One integer from a statement (bound by the caller); 0 without a row. */
static enum store_status run_int(struct store_sqlite *q, struct conn *c,
				 sqlite3_stmt *s, int64_t *v)
{
	int rc = sqlite3_step(s);
	enum store_status st = STORE_OK;

	*v = 0;
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		st = fail(q, c->db, rc);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

/* Looks key up with c's Q_GET at time now: STORE_NOT_FOUND when absent;
 * *expired set (and NOT_FOUND) when its lifetime is over. */
static enum store_status lookup(struct store_sqlite *q, struct conn *c,
				const char *key, int64_t now,
				struct stats **out, struct session_meta *meta,
				bool *expired)
{
	sqlite3_stmt *s = c->q[Q_GET];
	enum store_status st;
	int rc;

	*out = NULL;
	*expired = false;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
		st = STORE_NOMEM;
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		st = decode_row(s, out, meta);
	else if (rc == SQLITE_DONE)
		st = STORE_NOT_FOUND;
	else
		st = fail(q, c->db, rc);
	if (st == STORE_OK && meta->expires_at_ms &&
	    meta->expires_at_ms <= now) {
		stats_free(*out);
		*out = NULL;
		*expired = true;
		st = STORE_NOT_FOUND;
	}
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

/* Deletes key (the triggers keep the count); *gone whether a row went. */
static enum store_status delete_key(struct store_sqlite *q, struct conn *c,
				    const char *key, bool *gone)
{
	sqlite3_stmt *s = c->q[Q_DELETE];
	enum store_status rc = STORE_NOMEM;

	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) == SQLITE_OK) {
		rc = run(q, c, s);
		*gone = sqlite3_changes(c->db) > 0;
	}
	sqlite3_clear_bindings(s);
	return rc;
}

/* Live sessions of key's tenant, after purging its expired ones. */
static enum store_status tenant_count(struct store_sqlite *q, struct conn *c,
				      const char *key, int64_t now,
				      int64_t *n)
{
	sqlite3_stmt *s = c->q[Q_TENANT_N];
	int tl = (int)store_tenant_len(key);
	enum store_status rc;

	if (sqlite3_bind_text(s, 1, key, tl, SQLITE_STATIC) != SQLITE_OK)
		return STORE_NOMEM;
	rc = run_int(q, c, s, n);
	if (rc != STORE_OK || (size_t)*n < q->base.max_sessions)
		return rc;
	/* full: its expired sessions (not yet swept) no longer count */
	s = c->q[Q_PURGE_TENANT];
	if (sqlite3_bind_int64(s, 1, now) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, key, tl, SQLITE_STATIC) != SQLITE_OK)
		return STORE_NOMEM;
	rc = run(q, c, s);
	sqlite3_clear_bindings(s);
	if (rc != STORE_OK)
		return rc;
	q->purging += (uint64_t)sqlite3_changes(c->db);
	s = c->q[Q_TENANT_N];
	if (sqlite3_bind_text(s, 1, key, tl, SQLITE_STATIC) != SQLITE_OK)
		return STORE_NOMEM;
	return run_int(q, c, s, n);
}

static enum store_status upsert(struct store_sqlite *q, struct conn *c,
				const char *key, const struct stats *st,
				int64_t now, int64_t expires_at)
{
	sqlite3_stmt *s = c->q[Q_UPSERT];
	enum store_status rc = STORE_NOMEM;
	unsigned char *blob = NULL;
	size_t len;

	blob = store_encode_stats(st, &len);
	if (!blob)
		goto out;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, key, (int)store_tenant_len(key),
			      SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, (sqlite3_int64)st->n_features) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 4, blob, (int)len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 5, now) != SQLITE_OK ||
	    (expires_at ? sqlite3_bind_int64(s, 6, expires_at)
			: sqlite3_bind_null(s, 6)) != SQLITE_OK)
		goto out;
	rc = run(q, c, s);
out:
	sqlite3_clear_bindings(s);
	gg_free(blob);
	return rc;
}

/* Runs job j inside the writer's open transaction: replace (merge false)
 * or merge into the stored row, checking the tenant's limit for new keys.
 * STORE_UNAVAILABLE means the transaction is lost. */
static enum store_status write_locked(struct store_sqlite *q, struct conn *c,
				      struct job *j, int64_t now)
{
	struct stats *old = NULL, *res = NULL;
	struct session_meta m = { 0, 0, 0 };
	enum store_status rc;
	bool expired, gone, found;
	int64_t n, ttl;

	rc = lookup(q, c, j->key, now, &old, &m, &expired);
	found = rc == STORE_OK && !expired;
	if (expired) {
		/* starts afresh: a new session, counted anew */
		q->expired++;
		rc = delete_key(q, c, j->key, &gone);
		if (rc != STORE_OK)
			goto out;
		rc = STORE_NOT_FOUND;
	}
	if (rc == STORE_NOT_FOUND) {
		if (q->base.max_sessions) {
			rc = tenant_count(q, c, j->key, now, &n);
			if (rc != STORE_OK)
				goto out;
			if ((size_t)n >= q->base.max_sessions) {
				rc = STORE_FULL;
				goto out;
			}
		}
		m.created_at_ms = now;
	} else if (rc != STORE_OK) {
		goto out;
	} else if (j->merge && old->n_features != j->st->n_features) {
		rc = STORE_MISMATCH;
		goto out;
	}
	if (j->merge && old) {
		/* refused: nothing written */
		if (stats_merge(old, j->st) != STATS_OK) {
			rc = STORE_OVERFLOW;
			goto out;
		}
		res = old;
		old = NULL;
	} else {
		if (!stats_finite(j->st, NULL)) {
			rc = STORE_OVERFLOW;
			goto out;
		}
		res = stats_copy(j->st);
		if (!res) {
			rc = STORE_NOMEM;
			goto out;
		}
	}
	ttl = j->ttl_ms == STORE_TTL_KEEP
	      ? store_kept_ttl(found ? &m : NULL, q->base.session_ttl_ms)
	      : j->ttl_ms;
	m.updated_at_ms = now;
	m.expires_at_ms = ttl > 0 ? now + ttl : 0;
	rc = upsert(q, c, j->key, res, now, m.expires_at_ms);
	if (rc != STORE_OK)
		goto out;
	j->meta = m;
	if (j->merge) {
		j->out = res;
		res = NULL;
	}
out:
	stats_free(old);
	stats_free(res);
	return rc;
}

/* Removes up to SQ_PURGE_MAX sessions whose lifetime is over. */
static enum store_status purge(struct store_sqlite *q, struct conn *c,
			       int64_t now)
{
	sqlite3_stmt *s = c->q[Q_PURGE];
	enum store_status rc = STORE_NOMEM;

	if (sqlite3_bind_int64(s, 1, now) == SQLITE_OK &&
	    sqlite3_bind_int(s, 2, SQ_PURGE_MAX) == SQLITE_OK) {
		rc = run(q, c, s);
		if (rc == STORE_OK)
			q->purging += (uint64_t)sqlite3_changes(c->db);
	}
	sqlite3_clear_bindings(s);
	return rc;
}

/* The database file still is the one opened: not deleted, not replaced
 * (writes to an unlinked file would be acknowledged and lost). */
static enum store_status check_file(struct store_sqlite *q)
{
	struct stat st;

	if (q->shared)
		return STORE_OK;
	if (stat(q->path, &st) != 0) {
		store_fault(&q->base, "%s: %s (the database file is gone)",
			    q->path, strerror(errno));
		return STORE_UNAVAILABLE;
	}
	if (st.st_dev != q->dev || st.st_ino != q->ino) {
		store_fault(&q->base, "%s: the database file was replaced",
			    q->path);
		return STORE_UNAVAILABLE;
	}
	return STORE_OK;
}

static enum store_status run_job(struct store_sqlite *q, struct conn *c,
				 struct job *j, int64_t now)
{
	sqlite3_stmt *s;
	enum store_status rc;
	bool gone = false, expired = false;
	struct stats *old = NULL;
	struct session_meta m;

	switch (j->kind) {
	case JOB_WRITE:
		return write_locked(q, c, j, now);
	case JOB_DELETE:
		rc = lookup(q, c, j->key, now, &old, &m, &expired);
		stats_free(old);
		if (rc != STORE_OK && rc != STORE_NOT_FOUND)
			return rc;
		if (expired)
			q->expired++;
		rc = delete_key(q, c, j->key, &gone);
		if (rc == STORE_OK && (!gone || expired))
			rc = STORE_NOT_FOUND;
		return rc;
	case JOB_PROBE:
		s = c->q[Q_PROBE];
		if (sqlite3_bind_int64(s, 1, now) != SQLITE_OK)
			return STORE_NOMEM;
		rc = run(q, c, s);
		sqlite3_clear_bindings(s);
		return rc;
	}
	return STORE_UNAVAILABLE;
}

/* One transaction for the jobs of list (and a purge); each job's rc is
 * final, its effects durable when STORE_OK. Writer thread only; returns
 * whether the transaction committed. */
static bool run_batch(struct store_sqlite *q, struct conn *c, struct job *list)
{
	int64_t now = store_now_ms();
	enum store_status rc;

	rc = check_file(q);
	if (rc == STORE_OK)
		rc = run(q, c, c->q[Q_BEGIN]);
	if (rc == STORE_OK)
		rc = purge(q, c, now);
	for (struct job *j = list; j && rc == STORE_OK; j = j->next) {
		j->rc = run_job(q, c, j, now);
		if (j->rc == STORE_UNAVAILABLE)
			rc = STORE_UNAVAILABLE;
	}
	if (rc == STORE_OK)
		rc = run(q, c, c->q[Q_COMMIT]);
	if (rc == STORE_OK) {
		store_recovered(&q->base);
		return true;
	}
	if (!sqlite3_get_autocommit(c->db))
		run(q, c, c->q[Q_ROLLBACK]);
	for (struct job *j = list; j; j = j->next) {
		j->rc = rc;
		stats_free(j->out);
		j->out = NULL;
	}
	return false;
}

static void *writer_main(void *arg)
{
	struct store_sqlite *q = arg;
	struct conn *c = q->shared ? &q->conns[0] : &q->writer;

	pthread_mutex_lock(&q->wlock);
	while (!q->stopping || q->head) {
		struct job *list = q->head, **cut = &q->head;
		size_t n = 0;
		struct timespec until;
		bool committed;

		if (!list) {
			/* idle: sweep expired sessions now and then */
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += SQ_SWEEP_MS / 1000;
			if (pthread_cond_timedwait(&q->wake, &q->wlock,
						   &until) == 0 || q->stopping)
				continue;
		}
		while (*cut && n < SQ_BATCH_MAX) {
			cut = &(*cut)->next;
			n++;
		}
		q->head = *cut;
		*cut = NULL;
		if (!q->head)
			q->tail = &q->head;
		pthread_mutex_unlock(&q->wlock);
		if (q->shared)
			c = conn_acquire(q);
		q->purging = 0;
		committed = run_batch(q, c, list);
		if (q->shared)
			conn_release(q, c);
		pthread_mutex_lock(&q->wlock);
		if (committed) {
			q->purged += q->purging;
			if (n) {
				q->batch_hist[store_batch_bucket(n)]++;
				q->batch_writes += n;
			}
		}
		for (struct job *j = list; j; j = j->next)
			j->done = true;
		pthread_cond_broadcast(&q->done);
	}
	pthread_mutex_unlock(&q->wlock);
	return NULL;
}

/* Queues j for the writer and waits until its commit is over. */
static enum store_status submit(struct store_sqlite *q, struct job *j)
{
	j->next = NULL;
	j->done = false;
	j->out = NULL;
	j->rc = STORE_UNAVAILABLE;
	pthread_mutex_lock(&q->wlock);
	*q->tail = j;
	q->tail = &j->next;
	pthread_cond_signal(&q->wake);
	while (!j->done)
		pthread_cond_wait(&q->done, &q->wlock);
	pthread_mutex_unlock(&q->wlock);
	return j->rc;
}

static enum store_status sq_write(struct store *s, const char *key,
				  const struct stats *st, bool merge,
				  int64_t ttl_ms, struct stats **out,
				  struct session_meta *meta)
{
	struct job j = { .kind = JOB_WRITE, .key = key, .st = st,
			 .merge = merge, .ttl_ms = ttl_ms };
	enum store_status rc = submit((struct store_sqlite *)s, &j);

	if (rc == STORE_OK && meta)
		*meta = j.meta;
	if (rc == STORE_OK && out) {
		*out = j.out;
		j.out = NULL;
	}
	stats_free(j.out);
	return rc;
}

static enum store_status sq_get(struct store *s, const char *key,
				struct stats **out, struct session_meta *meta)
{
	struct store_sqlite *q = (struct store_sqlite *)s;
	struct conn *c = conn_acquire(q);
	struct session_meta m;
	bool expired;
	enum store_status rc = lookup(q, c, key, store_now_ms(), out, &m,
				      &expired);

	conn_release(q, c);
	if (expired)
		q->expired++;
	if (rc == STORE_OK && meta)
		*meta = m;
	return rc;
}

static enum store_status sq_put(struct store *s, const char *key,
				const struct stats *st, int64_t ttl_ms,
				struct session_meta *meta)
{
	return sq_write(s, key, st, false, ttl_ms, NULL, meta);
}

static enum store_status sq_merge(struct store *s, const char *key,
				  const struct stats *delta, int64_t ttl_ms,
				  struct stats **out, struct session_meta *meta)
{
	if (out)
		*out = NULL;
	return sq_write(s, key, delta, true, ttl_ms, out, meta);
}

static enum store_status sq_del(struct store *s, const char *key)
{
	struct job j = { .kind = JOB_DELETE, .key = key };

	return submit((struct store_sqlite *)s, &j);
}

/* Live sessions: the counts, less the expired rows not yet swept (the
 * expiry index over those alone). */
static enum store_status count_live(struct store_sqlite *q, struct conn *c,
				    size_t *n)
{
	sqlite3_stmt *s = c->q[Q_EXPIRED];
	int64_t all, gone;
	enum store_status rc = run_int(q, c, c->q[Q_COUNT], &all);

	if (rc != STORE_OK)
		return rc;
	if (sqlite3_bind_int64(s, 1, store_now_ms()) != SQLITE_OK)
		return STORE_NOMEM;
	rc = run_int(q, c, s, &gone);
	*n = all > gone ? (size_t)(all - gone) : 0;
	return rc;
}

static enum store_status sq_count(struct store *s, size_t *n)
{
	struct store_sqlite *q = (struct store_sqlite *)s;
	struct conn *c = conn_acquire(q);
	enum store_status rc = count_live(q, c, n);

	conn_release(q, c);
	return rc;
}

static enum store_status sq_stats(struct store *s, struct store_stats *out)
{
	struct store_sqlite *q = (struct store_sqlite *)s;
	struct conn *c;
	sqlite3_stmt *t;
	enum store_status rc;
	int step;

	memset(out, 0, sizeof(*out));
	c = conn_acquire(q);
	rc = count_live(q, c, &out->sessions);
	t = c->q[Q_TENANTS];
	while (rc == STORE_OK && (step = sqlite3_step(t)) == SQLITE_ROW) {
		out->tenants++;
		out->tenant_hist[store_tenant_bucket(
			(size_t)sqlite3_column_int64(t, 0))]++;
	}
	sqlite3_reset(t);
	conn_release(q, c);
	out->has_tenants = true;
	out->expired = q->expired;
	pthread_mutex_lock(&q->wlock);
	out->purged = q->purged;
	out->has_batches = true;
	memcpy(out->batch_hist, q->batch_hist, sizeof(out->batch_hist));
	out->batch_writes = q->batch_writes;
	pthread_mutex_unlock(&q->wlock);
	return rc;
}

/* Ready: the file is the one opened and reads work; after a write failed,
 * a small write must commit again (a full disk, a lock gone). */
static enum store_status sq_ping(struct store *s)
{
	struct store_sqlite *q = (struct store_sqlite *)s;
	struct job j = { .kind = JOB_PROBE };
	struct conn *c;
	enum store_status rc = check_file(q);

	if (rc != STORE_OK)
		return rc;
	if (store_faulted(s))
		return submit(q, &j);
	c = conn_acquire(q);
	rc = run(q, c, c->q[Q_PING]);
	conn_release(q, c);
	return rc;
}

static void conn_close(struct conn *c)
{
	for (int i = 0; i < Q_N; i++)
		sqlite3_finalize(c->q[i]);
	sqlite3_close(c->db);
	memset(c, 0, sizeof(*c));
}

static void sq_close(struct store *s)
{
	struct store_sqlite *q = (struct store_sqlite *)s;

	if (!q)
		return;
	if (q->started) {
		pthread_mutex_lock(&q->wlock);
		q->stopping = true;
		pthread_cond_signal(&q->wake);
		pthread_mutex_unlock(&q->wlock);
		pthread_join(q->thread, NULL);
	}
	for (size_t i = 0; i < q->n_conns; i++)
		conn_close(&q->conns[i]);
	conn_close(&q->writer);
	pthread_cond_destroy(&q->done);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->wlock);
	pthread_cond_destroy(&q->freed);
	pthread_mutex_destroy(&q->lock);
	store_base_destroy(&q->base);
	gg_free(q);
}

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.get = sq_get,
	.put = sq_put,
	.merge = sq_merge,
	.del = sq_del,
	.count = sq_count,
	.ping = sq_ping,
	.stats = sq_stats,
	.close = sq_close,
};

/* mkdir -p of path's parent directory. */
static int make_parent(const char *path, char *err, size_t errlen)
{
	char dir[4096];
	size_t len = strlen(path);

	if (len >= sizeof(dir)) {
		snprintf(err, errlen, "sqlite: path too long");
		return -1;
	}
	memcpy(dir, path, len + 1);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "sqlite: cannot create %s: %s",
				 dir, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* Creates the tables (version 1), then adds version 2 when missing. */
static int schema_ensure(sqlite3 *db, char **msg)
{
	sqlite3_stmt *s = NULL;
	bool has_v2;
	int rc;

	rc = sqlite3_exec(db, schema_sql, NULL, NULL, msg);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info("
				"'sessions') WHERE name = 'expires_at'", -1,
				&s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	has_v2 = rc == SQLITE_ROW;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	if (has_v2)
		return SQLITE_OK;
	rc = sqlite3_exec(db, schema_v2_sql, NULL, NULL, msg);
	if (rc != SQLITE_OK)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int conn_open(struct conn *c, const char *path, bool first, char *err,
		     size_t errlen)
{
	const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			  SQLITE_OPEN_NOMUTEX;
	char *msg = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &c->db, flags, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(c->db, SQ_BUSY_MS);
	if (first) {
		rc = schema_ensure(c->db, &msg);
		if (rc != SQLITE_OK)
			goto fail;
	}
	rc = sqlite3_exec(c->db, "PRAGMA synchronous=FULL;", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto fail;
	for (int i = 0; i < Q_N; i++) {
		rc = sqlite3_prepare_v3(c->db, sql_text[i], -1,
					SQLITE_PREPARE_PERSISTENT, &c->q[i],
					NULL);
		if (rc != SQLITE_OK)
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "sqlite: %s: %s", path,
		 msg ? msg : c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	sqlite3_free(msg);
	conn_close(c);
	return -1;
}

int store_sqlite_open(const char *path, size_t max_sessions,
		      struct store **out, char *err, size_t errlen)
{
	struct store_sqlite *q = NULL;
	bool in_memory = strcmp(path, ":memory:") == 0;
	size_t want = in_memory ? 1 : SQ_POOL;
	struct stat st;

	*out = NULL;
	if (strlen(path) >= sizeof(q->path)) {
		snprintf(err, errlen, "sqlite: path too long");
		return -1;
	}
	if (!in_memory && make_parent(path, err, errlen) != 0)
		return -1;
	q = gg_calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "sqlite: out of memory");
		return -1;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->freed, NULL);
	pthread_mutex_init(&q->wlock, NULL);
	pthread_cond_init(&q->wake, NULL);
	pthread_cond_init(&q->done, NULL);
	q->tail = &q->head;
	q->shared = in_memory;
	snprintf(q->path, sizeof(q->path), "%s", path);
	store_base_init(&q->base, &sqlite_ops, max_sessions);
	if (!in_memory && conn_open(&q->writer, path, true, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < want; i++) {
		if (conn_open(&q->conns[i], path, in_memory, err, errlen) != 0)
			goto fail;
		q->n_conns++;
	}
	if (!in_memory) {
		if (stat(path, &st) != 0) {
			snprintf(err, errlen, "sqlite: %s: %s", path,
				 strerror(errno));
			goto fail;
		}
		q->dev = st.st_dev;
		q->ino = st.st_ino;
	}
	if (pthread_create(&q->thread, NULL, writer_main, q) != 0) {
		snprintf(err, errlen, "sqlite: cannot start the writer thread");
		goto fail;
	}
	q->started = true;
	*out = &q->base;
	return 0;
fail:
	sq_close(&q->base);
	return -1;
}
