/* The sqlite:PATH session store: one table, statistics as a BLOB of
 * little-endian doubles (count, mean, M2, mean_lo per feature), a pool of
 * connections in WAL mode, merges as BEGIN IMMEDIATE read-modify-write. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "core/stats.h"

#include "core/alloc.h"
#include "server/store_impl.h"

/* Connections in the pool: worker threads beyond this wait for one. */
#define SQ_POOL 4
/* How long a writer waits for another process's lock before giving up (503). */
#define SQ_BUSY_MS 5000
/* Bytes per feature in the statistics BLOB. */

enum {
	Q_GET, Q_UPSERT, Q_DELETE, Q_COUNT, Q_BEGIN, Q_COMMIT, Q_ROLLBACK,
	Q_PING, Q_N
};

static const char *const sql_text[Q_N] = {
	[Q_GET] = "SELECT n_features, stats, created_at, updated_at "
		  "FROM sessions WHERE key = ?1",
	[Q_UPSERT] = "INSERT INTO sessions(key, n_features, stats, created_at,"
		     " updated_at) VALUES (?1, ?2, ?3, ?4, ?4) "
		     "ON CONFLICT(key) DO UPDATE SET n_features = "
		     "excluded.n_features, stats = excluded.stats, "
		     "updated_at = excluded.updated_at",
	[Q_DELETE] = "DELETE FROM sessions WHERE key = ?1",
	[Q_COUNT] = "SELECT count(*) FROM sessions",
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_PING] = "SELECT 1 FROM sessions LIMIT 1",
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

struct conn {
	sqlite3 *db;
	sqlite3_stmt *q[Q_N];
	bool busy;
};

struct store_sqlite {
	struct store base;       /* first member */
	pthread_mutex_t lock;
	pthread_cond_t freed;
	size_t n_conns;
	struct conn conns[SQ_POOL];
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
	if (meta) {
		meta->created_at_ms = sqlite3_column_int64(s, 2);
		meta->updated_at_ms = sqlite3_column_int64(s, 3);
	}
	*out = st;
	return STORE_OK;
}

static enum store_status map_rc(int rc)
{
	if (rc == SQLITE_NOMEM)
		return STORE_NOMEM;
	return STORE_UNAVAILABLE;
}

/* Runs a statement that returns no row of interest. */
static enum store_status run(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK : map_rc(rc);
}

/* Looks key up with c's Q_GET; *out NULL and STORE_NOT_FOUND if absent. */
static enum store_status lookup(struct conn *c, const char *key,
				struct stats **out, struct session_meta *meta)
{
	sqlite3_stmt *s = c->q[Q_GET];
	enum store_status st;
	int rc;

	*out = NULL;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
		st = STORE_UNAVAILABLE;
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		st = decode_row(s, out, meta);
	else if (rc == SQLITE_DONE)
		st = STORE_NOT_FOUND;
	else
		st = map_rc(rc);
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return st;
}

static enum store_status count_rows(struct conn *c, size_t *n)
{
	sqlite3_stmt *s = c->q[Q_COUNT];
	enum store_status st = STORE_OK;
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(s, 0);
	else
		st = map_rc(rc);
	sqlite3_reset(s);
	return st;
}

static enum store_status upsert(struct conn *c, const char *key,
				const struct stats *st, int64_t now)
{
	sqlite3_stmt *s = c->q[Q_UPSERT];
	enum store_status rc = STORE_NOMEM;
	unsigned char *blob = NULL;
	size_t len;

	blob = store_encode_stats(st, &len);
	if (!blob)
		goto out;
	rc = STORE_UNAVAILABLE;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, (sqlite3_int64)st->n_features) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 3, blob, (int)len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 4, now) != SQLITE_OK)
		goto out;
	rc = run(s);
out:
	sqlite3_clear_bindings(s);
	gg_free(blob);
	return rc;
}

/* Writes st under key inside c's open transaction: replace (merge false) or
 * merge into the stored row; checks the session limit for new keys. */
static enum store_status write_locked(struct store_sqlite *q, struct conn *c,
				      const char *key, const struct stats *st,
				      bool merge, struct stats **out,
				      struct session_meta *meta)
{
	struct stats *old = NULL, *res = NULL;
	struct session_meta m = {0, 0};
	enum store_status rc;
	int64_t now = store_now_ms();
	size_t n;

	rc = lookup(c, key, &old, &m);
	if (rc == STORE_NOT_FOUND) {
		if (q->base.max_sessions) {
			rc = count_rows(c, &n);
			if (rc != STORE_OK)
				goto out;
			if (n >= q->base.max_sessions) {
				rc = STORE_FULL;
				goto out;
			}
		}
		m.created_at_ms = now;
	} else if (rc != STORE_OK) {
		goto out;
	} else if (merge && old->n_features != st->n_features) {
		rc = STORE_MISMATCH;
		goto out;
	}
	if (merge && old) {
		/* refused: old untouched, the caller rolls back */
		if (stats_merge(old, st) != STATS_OK) {
			rc = STORE_OVERFLOW;
			goto out;
		}
		res = old;
		old = NULL;
	} else {
		if (!stats_finite(st, NULL)) {
			rc = STORE_OVERFLOW;
			goto out;
		}
		res = stats_copy(st);
		if (!res) {
			rc = STORE_NOMEM;
			goto out;
		}
	}
	rc = upsert(c, key, res, now);
	if (rc != STORE_OK)
		goto out;
	m.updated_at_ms = now;
	if (meta)
		*meta = m;
	if (out) {
		*out = res;
		res = NULL;
	}
out:
	stats_free(old);
	stats_free(res);
	return rc;
}

static enum store_status sq_write(struct store *s, const char *key,
				  const struct stats *st, bool merge,
				  struct stats **out, struct session_meta *meta)
{
	struct store_sqlite *q = (struct store_sqlite *)s;
	struct conn *c = conn_acquire(q);
	enum store_status rc;

	if (out)
		*out = NULL;
	rc = run(c->q[Q_BEGIN]);
	if (rc != STORE_OK)
		goto out;
	rc = write_locked(q, c, key, st, merge, out, meta);
	if (rc == STORE_OK)
		rc = run(c->q[Q_COMMIT]);
	if (rc != STORE_OK) {
		if (!sqlite3_get_autocommit(c->db))
			run(c->q[Q_ROLLBACK]);
		if (out) {
			stats_free(*out);
			*out = NULL;
		}
	}
out:
	conn_release(q, c);
	return rc;
}

static enum store_status sq_get(struct store *s, const char *key,
				struct stats **out, struct session_meta *meta)
{
	struct store_sqlite *q = (struct store_sqlite *)s;
	struct conn *c = conn_acquire(q);
	enum store_status rc = lookup(c, key, out, meta);

	conn_release(q, c);
	return rc;
}

static enum store_status sq_put(struct store *s, const char *key,
				const struct stats *st,
				struct session_meta *meta)
{
	return sq_write(s, key, st, false, NULL, meta);
}

static enum store_status sq_merge(struct store *s, const char *key,
				  const struct stats *delta, struct stats **out,
				  struct session_meta *meta)
{
	return sq_write(s, key, delta, true, out, meta);
}

static enum store_status sq_del(struct store *s, const char *key)
{
	struct store_sqlite *q = (struct store_sqlite *)s;
	struct conn *c = conn_acquire(q);
	sqlite3_stmt *st = c->q[Q_DELETE];
	enum store_status rc = STORE_UNAVAILABLE;

	if (sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) == SQLITE_OK) {
		rc = run(st);
		if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
			rc = STORE_NOT_FOUND;
	}
	sqlite3_clear_bindings(st);
	conn_release(q, c);
	return rc;
}

static enum store_status sq_count(struct store *s, size_t *n)
{
	struct store_sqlite *q = (struct store_sqlite *)s;
	struct conn *c = conn_acquire(q);
	enum store_status rc = count_rows(c, n);

	conn_release(q, c);
	return rc;
}

static enum store_status sq_ping(struct store *s)
{
	struct store_sqlite *q = (struct store_sqlite *)s;
	struct conn *c = conn_acquire(q);
	enum store_status rc = run(c->q[Q_PING]);

	conn_release(q, c);
	return rc;
}

static void conn_close(struct conn *c)
{
	for (int i = 0; i < Q_N; i++)
		sqlite3_finalize(c->q[i]);
	sqlite3_close(c->db);
}

static void sq_close(struct store *s)
{
	struct store_sqlite *q = (struct store_sqlite *)s;

	if (!q)
		return;
	for (size_t i = 0; i < q->n_conns; i++)
		conn_close(&q->conns[i]);
	pthread_cond_destroy(&q->freed);
	pthread_mutex_destroy(&q->lock);
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
		rc = sqlite3_exec(c->db, schema_sql, NULL, NULL, &msg);
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
	memset(c, 0, sizeof(*c));
	return -1;
}

int store_sqlite_open(const char *path, size_t max_sessions,
		      struct store **out, char *err, size_t errlen)
{
	struct store_sqlite *q = NULL;
	bool in_memory = strcmp(path, ":memory:") == 0;
	size_t want = in_memory ? 1 : SQ_POOL;

	*out = NULL;
	if (!in_memory && make_parent(path, err, errlen) != 0)
		return -1;
	q = gg_calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "sqlite: out of memory");
		return -1;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->freed, NULL);
	q->base.ops = &sqlite_ops;
	q->base.max_sessions = max_sessions;
	for (size_t i = 0; i < want; i++) {
		if (conn_open(&q->conns[i], path, i == 0, err, errlen) != 0) {
			sq_close(&q->base);
			return -1;
		}
		q->n_conns++;
	}
	*out = &q->base;
	return 0;
}
