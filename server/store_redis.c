/* The redis://HOST:PORT[/DB] session store: a Redis hash per session (the
 * SQLite BLOB of little-endian doubles, created/updated/expires ms) that
 * Redis itself expires (PEXPIRE), two index sorted sets scored by expiry
 * (all sessions, for the count; the tenant's, for its limit: expired
 * members are removed by score range, then ZCARD is O(1)), writes done
 * atomically by a Lua script (so the limit holds across replicas); a pool
 * of hiredis links. */
#include "server/store_redis.h"

#include "core/alloc.h"

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "core/stats.h"
#include "server/store_impl.h"

/* Connections in the pool: worker threads beyond this wait for one. */
#define RD_POOL 16
/* Connecting, and waiting for one reply: past these the store is down (503). */
#define RD_CONNECT_MS 1000
#define RD_COMMAND_MS 2000
/* Bytes per feature in the statistics string (count, mean, M2, mean_lo). */
/* Longest session TTL accepted in the URL: ten years, in seconds. */
#define RD_TTL_MAX 315360000LL

static const char key_prefix[] = "gradguard:session:";
/* Sorted set of session names scored by expiry (ms, +inf without TTL). */
static const char index_key[] = "gradguard:sessions";
/* The same per tenant: "gradguard:tenant:<tenant>". */
static const char tenant_prefix[] = "gradguard:tenant:";

/* Shared by the scripts: now (Unix ms) from the Redis clock, so that every
 * replica stamps sessions with the same clock that expires them. */
#define LUA_NOW \
	"local t = redis.call('TIME')\n" \
	"local now = tonumber(t[1]) * 1000 +\n" \
	"            math.floor(tonumber(t[2]) / 1000)\n"

/* KEYS: session hash, index, tenant index. ARGV: statistics, "m" (merge)
 * or "p" (put), max sessions per tenant (0 none), TTL in ms (0 none), index
 * member. Returns {0, stats, created, updated, expires (0 none), expired
 * members removed}, {1} when the tenant is full, {2} on a feature-count mismatch,
 * {3, feature} when a merged value is not finite (stats_merge's
 * STATS_OVERFLOW; nothing is written). The merge is core/stats.c's
 * merge_one line for line (Chan, Golub & LeVeque pairwise update with the
 * mean as double-double hi + lo, Knuth's TwoSum), so that it rounds exactly
 * as the C code does: Lua numbers are doubles and each Lua operation rounds
 * once. */
static const char script_write[] =
	LUA_NOW
	"local d = ARGV[1]\n"
	"local len = #d\n"
	"if len == 0 or len % 32 ~= 0 then\n"
	"  return redis.error_reply('gradguard: bad statistics length')\n"
	"end\n"
	"local cur = redis.call('HMGET', KEYS[1], 's', 'c')\n"
	"local old, created, res = cur[1], tonumber(cur[2]), d\n"
	"local purged = 0\n"
	"if not old then\n"
	"  purged = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\n"
	"  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)\n"
	"  local cap = tonumber(ARGV[3])\n"
	"  if cap > 0 and redis.call('ZCARD', KEYS[3]) >= cap then\n"
	"    return {1}\n"
	"  end\n"
	"  created = now\n"
	"elseif ARGV[2] == 'm' then\n"
	"  if #old ~= len then return {2} end\n"
	"  local function bad(v)\n"
	"    return v ~= v or v == math.huge or v == -math.huge\n"
	"  end\n"
	"  local parts = {}\n"
	"  for p = 1, len, 32 do\n"
	"    local na, ma, m2a, loa = struct.unpack('<dddd', old, p)\n"
	"    local nb, mb, m2b, lob = struct.unpack('<dddd', d, p)\n"
	"    if nb ~= 0 then\n"
	"      if na == 0 then\n"
	"        na, ma, m2a, loa = nb, mb, m2b, lob\n"
	"      else\n"
	"        local n = na + nb\n"
	"        local f = na * nb / n\n"
	"        local delta = (mb - ma) + (lob - loa)\n"
	"        local dd = delta * delta\n"
	"        if dd == math.huge then dd = delta * f * delta\n"
	"        else dd = dd * f end\n"
	"        m2a = m2a + (m2b + dd)\n"
	"        local tt = loa + delta * (nb / n)\n"
	"        local s = ma + tt\n"
	"        local bb = s - ma\n"
	"        loa = (ma - (s - bb)) + (tt - bb)\n"
	"        ma = s\n"
	"        na = n\n"
	"      end\n"
	"    end\n"
	"    if na ~= 0 and (bad(ma) or bad(m2a) or bad(loa)) then\n"
	"      return {3, (p - 1) / 32}\n"
	"    end\n"
	"    parts[#parts + 1] = struct.pack('<dddd', na, ma, m2a, loa)\n"
	"  end\n"
	"  res = table.concat(parts)\n"
	"end\n"
	"if not created then created = now end\n"
	"redis.call('HSET', KEYS[1], 's', res,\n"
	"           'c', string.format('%.0f', created),\n"
	"           'u', string.format('%.0f', now))\n"
	"local ttl = tonumber(ARGV[4])\n"
	"local exp, score = 0, '+inf'\n"
	"if ttl > 0 then\n"
	"  exp = now + ttl\n"
	"  score = string.format('%.0f', exp)\n"
	"  redis.call('PEXPIRE', KEYS[1], ttl)\n"
	"else\n"
	"  redis.call('PERSIST', KEYS[1])\n"
	"end\n"
	"redis.call('HSET', KEYS[1], 'e', string.format('%.0f', exp))\n"
	"redis.call('ZADD', KEYS[2], score, ARGV[5])\n"
	"redis.call('ZADD', KEYS[3], score, ARGV[5])\n"
	"return {0, res, created, now, exp, purged}\n";

/* KEYS: session hash, index, tenant index. ARGV: index member. Returns
 * keys deleted. */
static const char script_del[] =
	"redis.call('ZREM', KEYS[2], ARGV[1])\n"
	"redis.call('ZREM', KEYS[3], ARGV[1])\n"
	"return redis.call('DEL', KEYS[1])\n";

/* KEYS: index. Returns the sessions not yet expired. */
static const char script_count[] =
	LUA_NOW
	"return redis.call('ZCOUNT', KEYS[1], now, '+inf')\n";

enum { S_WRITE, S_DEL, S_COUNT, S_N };

static const char *const script_text[S_N] = {
	[S_WRITE] = script_write,
	[S_DEL] = script_del,
	[S_COUNT] = script_count,
};

struct conn {
	redisContext *ctx;       /* NULL: not connected */
	unsigned gen;            /* the pool generation it was opened in */
	bool busy;
	char sha[S_N][41];       /* SCRIPT LOAD answers on this connection */
};

struct store_redis {
	struct store base;       /* first member */
	pthread_mutex_t lock;
	pthread_cond_t freed;
	unsigned gen;            /* bumped on a connection failure */
	char host[256];
	int port;
	int db;
	struct conn conns[RD_POOL];
	_Atomic uint64_t purged;
};

static struct timeval tv_ms(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	return tv;
}

static void conn_free(struct conn *c)
{
	if (c->ctx)
		redisFree(c->ctx);
	c->ctx = NULL;
}

/* Forgets c's connection after an I/O error, and makes every other pooled
 * connection reconnect before its next use: when Redis restarts they are
 * all stale, and a stale socket can swallow one request. */
static void conn_drop(struct store_redis *q, struct conn *c)
{
	conn_free(c);
	pthread_mutex_lock(&q->lock);
	q->gen++;
	pthread_mutex_unlock(&q->lock);
}

static struct conn *conn_acquire(struct store_redis *q)
{
	struct conn *c = NULL;
	bool stale;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		for (size_t i = 0; i < RD_POOL && !c; i++)
			if (!q->conns[i].busy)
				c = &q->conns[i];
		if (c)
			break;
		pthread_cond_wait(&q->freed, &q->lock);
	}
	c->busy = true;
	stale = c->ctx && c->gen != q->gen;
	pthread_mutex_unlock(&q->lock);
	if (stale)
		conn_free(c);
	return c;
}

/* False when the server has closed c's idle socket (a Redis restart):
 * nothing may be readable between our request/reply pairs. */
static bool conn_alive(const struct conn *c)
{
	struct pollfd p = { c->ctx->fd, POLLIN | POLLRDHUP, 0 };

	return poll(&p, 1, 0) == 0;
}

static void conn_release(struct store_redis *q, struct conn *c)
{
	pthread_mutex_lock(&q->lock);
	c->busy = false;
	pthread_cond_signal(&q->freed);
	pthread_mutex_unlock(&q->lock);
}

/* One command on c; NULL on an I/O error (c->ctx->err set). */
static redisReply *command(struct conn *c, int argc, const char **argv,
			   const size_t *len)
{
	return redisCommandArgv(c->ctx, argc, argv, len);
}

/* Connects c: SELECT db, SCRIPT LOAD every script. Returns 0; -1 when Redis
 * cannot be reached (*refused false: try later) or refuses a command
 * (*refused true: a configuration error). Message in err. */
static int conn_connect(struct store_redis *q, struct conn *c, bool *refused,
			char *err, size_t errlen)
{
	redisReply *r = NULL;
	char db[16];
	unsigned gen;

	*refused = false;
	pthread_mutex_lock(&q->lock);
	gen = q->gen;
	pthread_mutex_unlock(&q->lock);
	c->ctx = redisConnectWithTimeout(q->host, q->port,
					 tv_ms(RD_CONNECT_MS));
	if (!c->ctx || c->ctx->err) {
		snprintf(err, errlen, "redis: %.100s:%d: %.120s", q->host,
			 q->port, c->ctx ? c->ctx->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(c->ctx, tv_ms(RD_COMMAND_MS)) != REDIS_OK ||
	    redisEnableKeepAlive(c->ctx) != REDIS_OK) {
		snprintf(err, errlen, "redis: %.120s", c->ctx->errstr);
		goto fail;
	}
	if (q->db) {
		const char *argv[2] = { "SELECT", db };
		size_t len[2];

		snprintf(db, sizeof(db), "%d", q->db);
		len[0] = 6;
		len[1] = strlen(db);
		r = command(c, 2, argv, len);
		if (!r || r->type != REDIS_REPLY_STATUS)
			goto reply_fail;
		freeReplyObject(r);
		r = NULL;
	}
	for (int i = 0; i < S_N; i++) {
		const char *argv[3] = { "SCRIPT", "LOAD", script_text[i] };
		size_t len[3] = { 6, 4, strlen(script_text[i]) };

		r = command(c, 3, argv, len);
		if (!r || r->type != REDIS_REPLY_STRING ||
		    r->len >= sizeof(c->sha[i]))
			goto reply_fail;
		memcpy(c->sha[i], r->str, r->len);
		c->sha[i][r->len] = '\0';
		freeReplyObject(r);
		r = NULL;
	}
	c->gen = gen;
	return 0;
reply_fail:
	if (r) {
		*refused = true;
		snprintf(err, errlen, "redis: %.100s:%d: %.*s", q->host,
			 q->port, r->type == REDIS_REPLY_ERROR && r->len < 120
				 ? (int)r->len : 120,
			 r->type == REDIS_REPLY_ERROR ? r->str
						      : "unexpected reply");
		freeReplyObject(r);
	} else {
		snprintf(err, errlen, "redis: %.100s:%d: %.120s", q->host,
			 q->port, c->ctx->errstr);
	}
fail:
	conn_free(c);
	return -1;
}

/* Runs script i with nkeys keys then the other args (at most 8 in all),
 * EVALSHA first and EVAL when the server lost the script (NOSCRIPT). */
static redisReply *run_script(struct conn *c, int i, int nkeys, int n,
			      const char *const *args, const size_t *lens)
{
	const char *argv[11];
	size_t len[11];
	char nk[8];
	redisReply *r;

	if (n > 8)
		return NULL;
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVALSHA";
	argv[1] = c->sha[i];
	argv[2] = nk;
	len[0] = 7;
	len[1] = strlen(c->sha[i]);
	len[2] = strlen(nk);
	for (int k = 0; k < n; k++) {
		argv[3 + k] = args[k];
		len[3 + k] = lens[k];
	}
	r = command(c, n + 3, argv, len);
	if (r && r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(r);
		argv[0] = "EVAL";
		argv[1] = script_text[i];
		len[0] = 4;
		len[1] = strlen(script_text[i]);
		r = command(c, n + 3, argv, len);
	}
	return r;
}

/* prefix + the first n bytes of key (malloc'd), its length in *len;
 * NULL on OOM. */
static char *prefixed(const char *prefix, const char *key, size_t n,
		      size_t *len)
{
	size_t pl = strlen(prefix);
	char *k = gg_malloc(pl + n + 1);

	if (!k)
		return NULL;
	memcpy(k, prefix, pl);
	memcpy(k + pl, key, n);
	k[pl + n] = '\0';
	*len = pl + n;
	return k;
}

/* "gradguard:session:" + key. */
static char *session_key(const char *key, size_t *len)
{
	return prefixed(key_prefix, key, strlen(key), len);
}

/* "gradguard:tenant:" + key's tenant. */
static char *tenant_key(const char *key, size_t *len)
{
	return prefixed(tenant_prefix, key, store_tenant_len(key), len);
}

static enum store_status decode(const redisReply *r, struct stats **out)
{
	if (r->type != REDIS_REPLY_STRING)
		return STORE_UNAVAILABLE;  /* corrupt value */
	return store_decode_stats((const unsigned char *)r->str, r->len, out);
}

static int64_t reply_int(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	if (r->type == REDIS_REPLY_STRING)
		return strtoll(r->str, NULL, 10);
	return 0;
}

/* An error reply (a script error, OOM, READONLY, ...): logged with
 * Redis's message. */
static void reply_fault(struct store_redis *q, const redisReply *r)
{
	if (r && r->type == REDIS_REPLY_ERROR)
		store_fault(&q->base, "%.100s:%d: %.*s", q->host, q->port,
			    r->len < 150 ? (int)r->len : 150, r->str);
}

/* An operation on one connection; arg is its own struct. */
typedef enum store_status (*conn_fn)(struct store_redis *q, struct conn *c,
				     void *arg);

/* Runs fn on a pooled connection, connecting first when needed (or when
 * Redis closed it). An I/O error drops the connection; idempotent
 * operations (retry) then run once more on a fresh one, merges and deletes
 * do not (the first attempt may have been applied: the caller gets 503
 * rather than a double count). */
static enum store_status with_conn(struct store_redis *q, bool retry,
				   conn_fn fn, void *arg)
{
	struct conn *c = conn_acquire(q);
	enum store_status rc = STORE_UNAVAILABLE;
	char err[256];
	bool refused;

	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = false;

		if (c->ctx && !conn_alive(c))
			conn_drop(q, c);
		if (!c->ctx) {
			if (conn_connect(q, c, &refused, err, sizeof(err))) {
				store_fault(&q->base, "%s", err);
				break;
			}
			fresh = true;
		}
		rc = fn(q, c, arg);
		if (!c->ctx->err) {
			/* an error reply is logged with its message above */
			if (rc == STORE_UNAVAILABLE && !store_faulted(&q->base))
				store_fault(&q->base, "%.100s:%d: an "
					    "unexpected reply", q->host,
					    q->port);
			else if (rc != STORE_UNAVAILABLE)
				store_recovered(&q->base);
			break;
		}
		store_fault(&q->base, "%.100s:%d: %.120s", q->host, q->port,
			    c->ctx->errstr);
		conn_drop(q, c);
		rc = STORE_UNAVAILABLE;
		if (!retry || fresh)
			break;
	}
	conn_release(q, c);
	return rc;
}

struct write_arg {
	const char *key;
	const struct stats *st;
	bool merge;
	int64_t ttl_ms;
	struct stats **out;
	struct session_meta *meta;
};

static enum store_status do_write(struct store_redis *q, struct conn *c,
				  void *arg)
{
	struct write_arg *a = arg;
	enum store_status rc = STORE_NOMEM;
	unsigned char *blob = NULL;
	char *hkey = NULL, *tkey = NULL, cap[24], ttl[24];
	const char *args[8];
	size_t lens[8], blen, klen, tlen;
	redisReply *r = NULL;

	blob = store_encode_stats(a->st, &blen);
	hkey = session_key(a->key, &klen);
	tkey = tenant_key(a->key, &tlen);
	if (!blob || !hkey || !tkey)
		goto out;
	snprintf(cap, sizeof(cap), "%zu", q->base.max_sessions);
	snprintf(ttl, sizeof(ttl), "%lld", (long long)a->ttl_ms);
	args[0] = hkey;
	lens[0] = klen;
	args[1] = index_key;
	lens[1] = sizeof(index_key) - 1;
	args[2] = tkey;
	lens[2] = tlen;
	args[3] = (const char *)blob;
	lens[3] = blen;
	args[4] = a->merge ? "m" : "p";
	lens[4] = 1;
	args[5] = cap;
	lens[5] = strlen(cap);
	args[6] = ttl;
	lens[6] = strlen(ttl);
	args[7] = a->key;
	lens[7] = strlen(a->key);
	rc = STORE_UNAVAILABLE;
	r = run_script(c, S_WRITE, 3, 8, args, lens);
	reply_fault(q, r);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER)
		goto out;
	if (r->element[0]->integer == 1) {
		rc = STORE_FULL;
		goto out;
	}
	if (r->element[0]->integer == 2) {
		rc = STORE_MISMATCH;
		goto out;
	}
	if (r->element[0]->integer == 3) {
		rc = STORE_OVERFLOW;
		goto out;
	}
	if (r->element[0]->integer != 0 || r->elements != 6)
		goto out;
	q->purged += (uint64_t)reply_int(r->element[5]);
	if (a->out) {
		rc = decode(r->element[1], a->out);
		if (rc != STORE_OK)
			goto out;
	}
	if (a->meta) {
		a->meta->created_at_ms = reply_int(r->element[2]);
		a->meta->updated_at_ms = reply_int(r->element[3]);
		a->meta->expires_at_ms = reply_int(r->element[4]);
	}
	rc = STORE_OK;
out:
	if (r)
		freeReplyObject(r);
	gg_free(tkey);
	gg_free(hkey);
	gg_free(blob);
	return rc;
}

static enum store_status rd_get(struct store *s, const char *key,
			       struct stats **out, struct session_meta *meta);

static enum store_status rd_write(struct store *s, const char *key,
				  const struct stats *st, bool merge,
				  int64_t ttl_ms, struct stats **out,
				  struct session_meta *meta)
{
	struct write_arg a = { key, st, merge, ttl_ms, out, meta };

	if (out)
		*out = NULL;
	/* the script checks merged values; a put or a new session stores st */
	if (!stats_finite(st, NULL))
		return STORE_OVERFLOW;
	if (ttl_ms == STORE_TTL_KEEP) {
		/* the session's own lifetime, read first (one more round trip;
		 * a write racing in between may have changed it: lifetimes
		 * only) */
		struct session_meta cur = { 0, 0, 0 };
		struct stats *tmp = NULL;
		enum store_status rc = rd_get(s, key, &tmp, &cur);

		stats_free(tmp);
		if (rc != STORE_OK && rc != STORE_NOT_FOUND)
			return rc;
		a.ttl_ms = store_kept_ttl(rc == STORE_OK ? &cur : NULL,
					  s->session_ttl_ms);
	}
	/* put is idempotent (same statistics, created_at kept): retry it */
	return with_conn((struct store_redis *)s, !merge, do_write, &a);
}

static enum store_status rd_put(struct store *s, const char *key,
				const struct stats *st, int64_t ttl_ms,
				struct session_meta *meta)
{
	return rd_write(s, key, st, false, ttl_ms, NULL, meta);
}

static enum store_status rd_merge(struct store *s, const char *key,
				  const struct stats *delta, int64_t ttl_ms,
				  struct stats **out, struct session_meta *meta)
{
	return rd_write(s, key, delta, true, ttl_ms, out, meta);
}

struct get_arg {
	const char *key;
	struct stats **out;
	struct session_meta *meta;
};

static enum store_status do_get(struct store_redis *q, struct conn *c,
				void *arg)
{
	struct get_arg *a = arg;
	enum store_status rc = STORE_NOMEM;
	const char *argv[6] = { "HMGET", NULL, "s", "c", "u", "e" };
	size_t len[6] = { 5, 0, 1, 1, 1, 1 };
	redisReply *r = NULL;
	char *hkey;

	hkey = session_key(a->key, &len[1]);
	if (!hkey)
		goto out;
	argv[1] = hkey;
	rc = STORE_UNAVAILABLE;
	r = command(c, 6, argv, len);
	reply_fault(q, r);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 4)
		goto out;
	if (r->element[0]->type == REDIS_REPLY_NIL) {
		rc = STORE_NOT_FOUND;
		goto out;
	}
	rc = decode(r->element[0], a->out);
	if (rc == STORE_OK && a->meta) {
		a->meta->created_at_ms = reply_int(r->element[1]);
		a->meta->updated_at_ms = reply_int(r->element[2]);
		a->meta->expires_at_ms = reply_int(r->element[3]);
	}
out:
	if (r)
		freeReplyObject(r);
	gg_free(hkey);
	return rc;
}

static enum store_status rd_get(struct store *s, const char *key,
				struct stats **out, struct session_meta *meta)
{
	struct get_arg a = { key, out, meta };

	*out = NULL;
	return with_conn((struct store_redis *)s, true, do_get, &a);
}

static enum store_status do_del(struct store_redis *q, struct conn *c,
				void *arg)
{
	const char *key = arg;
	const char *args[4];
	size_t lens[4];
	enum store_status rc = STORE_NOMEM;
	redisReply *r = NULL;
	char *hkey, *tkey;

	hkey = session_key(key, &lens[0]);
	tkey = tenant_key(key, &lens[2]);
	if (!hkey || !tkey)
		goto out;
	args[0] = hkey;
	args[1] = index_key;
	lens[1] = sizeof(index_key) - 1;
	args[2] = tkey;
	args[3] = key;
	lens[3] = strlen(key);
	rc = STORE_UNAVAILABLE;
	r = run_script(c, S_DEL, 3, 4, args, lens);
	reply_fault(q, r);
	if (r && r->type == REDIS_REPLY_INTEGER)
		rc = r->integer > 0 ? STORE_OK : STORE_NOT_FOUND;
out:
	if (r)
		freeReplyObject(r);
	gg_free(tkey);
	gg_free(hkey);
	return rc;
}

static enum store_status rd_del(struct store *s, const char *key)
{
	return with_conn((struct store_redis *)s, false, do_del, (void *)key);
}

static enum store_status do_count(struct store_redis *q, struct conn *c,
				  void *arg)
{
	const char *args[1] = { index_key };
	size_t lens[1] = { sizeof(index_key) - 1 };
	size_t *n = arg;
	redisReply *r;
	enum store_status rc = STORE_UNAVAILABLE;

	r = run_script(c, S_COUNT, 1, 1, args, lens);
	reply_fault(q, r);
	if (r && r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
		*n = (size_t)r->integer;
		rc = STORE_OK;
	}
	if (r)
		freeReplyObject(r);
	return rc;
}

static enum store_status rd_count(struct store *s, size_t *n)
{
	return with_conn((struct store_redis *)s, true, do_count, n);
}

static enum store_status do_ping(struct store_redis *q, struct conn *c,
				 void *arg)
{
	const char *argv[1] = { "PING" };
	size_t len[1] = { 4 };
	redisReply *r = command(c, 1, argv, len);
	enum store_status rc = STORE_UNAVAILABLE;

	(void)q;
	(void)arg;
	if (r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0)
		rc = STORE_OK;
	if (r)
		freeReplyObject(r);
	return rc;
}

static enum store_status rd_ping(struct store *s)
{
	return with_conn((struct store_redis *)s, true, do_ping, NULL);
}

static enum store_status rd_stats(struct store *s, struct store_stats *out)
{
	struct store_redis *q = (struct store_redis *)s;

	memset(out, 0, sizeof(*out));
	out->purged = q->purged;
	return rd_count(s, &out->sessions);
}

static void rd_close(struct store *s)
{
	struct store_redis *q = (struct store_redis *)s;

	if (!q)
		return;
	for (size_t i = 0; i < RD_POOL; i++)
		conn_free(&q->conns[i]);
	pthread_cond_destroy(&q->freed);
	pthread_mutex_destroy(&q->lock);
	store_base_destroy(&q->base);
	gg_free(q);
}

static const struct store_ops redis_ops = {
	.name = "redis",
	.get = rd_get,
	.put = rd_put,
	.merge = rd_merge,
	.del = rd_del,
	.count = rd_count,
	.ping = rd_ping,
	.stats = rd_stats,
	.close = rd_close,
};

/* Strict decimal in [lo, hi] from *p up to the first non-digit. */
static int parse_num(const char **p, long long lo, long long hi,
		     long long *out)
{
	long long v = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > hi)
			return -1;
	}
	if (v < lo)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

/* Fills q's host, port, db and ttl from "HOST:PORT[/DB][?ttl=SECONDS]". */
static int parse_spec(struct store_redis *q, const char *spec, char *err,
		      size_t errlen)
{
	const char *p = spec, *h_end;
	long long v;
	size_t hl;

	if (*p == '[') {
		h_end = strchr(p, ']');
		if (!h_end)
			goto bad;
		p++;
		hl = (size_t)(h_end - p);
		h_end++;
	} else {
		h_end = p + strcspn(p, ":/?");
		hl = (size_t)(h_end - p);
	}
	if (hl == 0 || hl >= sizeof(q->host) || *h_end != ':')
		goto bad;
	memcpy(q->host, p, hl);
	q->host[hl] = '\0';
	p = h_end + 1;
	if (parse_num(&p, 1, 65535, &v))
		goto bad;
	q->port = (int)v;
	if (*p == '/') {
		p++;
		if (parse_num(&p, 0, INT_MAX, &v))
			goto bad;
		q->db = (int)v;
	}
	if (strncmp(p, "?ttl=", 5) == 0) {
		p += 5;
		if (parse_num(&p, 0, RD_TTL_MAX, &v))
			goto bad;
		q->base.session_ttl_ms = v * 1000;
	}
	if (*p != '\0')
		goto bad;
	return 0;
bad:
	snprintf(err, errlen,
		 "bad store URL 'redis://%s' (expected "
		 "redis://HOST:PORT[/DB][?ttl=SECONDS])", spec);
	return -1;
}

int store_redis_open(const char *spec, size_t max_sessions,
		     struct store **out, char *err, size_t errlen)
{
	struct store_redis *q = NULL;
	bool refused = false;
	char msg[256];

	*out = NULL;
	q = gg_calloc(1, sizeof(*q));
	if (!q) {
		snprintf(err, errlen, "redis: out of memory");
		return -1;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->freed, NULL);
	store_base_init(&q->base, &redis_ops, max_sessions);
	if (parse_spec(q, spec, err, errlen))
		goto fail;
	/* a Redis that is down is reported by /readyz; one that refuses us
	 * (bad DB, authentication required) is a configuration error */
	if (conn_connect(q, &q->conns[0], &refused, msg, sizeof(msg)) &&
	    refused) {
		snprintf(err, errlen, "%s", msg);
		goto fail;
	}
	*out = &q->base;
	return 0;
fail:
	rd_close(&q->base);
	return -1;
}
