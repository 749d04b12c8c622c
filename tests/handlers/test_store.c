/* The session store back ends (memory:, sqlite:PATH, redis://) through the
 * store.h interface: one body per behaviour, run against each back end. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sqlite3.h>

#include "core/alloc.h"
#include "core/stats.h"
#include "handlers/store.h"
#include "server/store_impl.h"
#include "tests/lib/redis.h"
#include "tests/lib/suite_run.h"

enum { BACKENDS = 3, REDIS = 2 };
static const char *const backend_names[BACKENDS] = { "memory", "sqlite",
						     "redis" };

static char tmpdir[64];
/* The private redis-server of the running test (each test runs in its own
 * forked process, so each gets a fresh one). */
static struct gg_redis redis = { -1, 0, "" };

/* A fresh store of back end i; sqlite ones live in a new temp directory
 * (one level deeper than exists, so that the parent gets created). */
static struct store *open_backend(int i, size_t max_sessions, char *url,
				  size_t n)
{
	struct store *s = NULL;
	char err[256];

	if (i == 0) {
		snprintf(url, n, "memory:");
	} else if (i == REDIS) {
		ck_assert_msg(gg_redis_start(&redis, 0) == 0,
			      "redis-server did not start (is it installed?)");
		snprintf(url, n, "%s", redis.url);
	} else {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/gg_store_XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(tmpdir));
		snprintf(url, n, "sqlite:%s/sub/sessions.db", tmpdir);
	}
	ck_assert_msg(store_open(url, max_sessions, &s, err, sizeof(err)) == 0,
		      "%s: %s", url, err);
	ck_assert_str_eq(s->ops->name, backend_names[i]);
	return s;
}

static void close_backend(struct store *s, int i)
{
	char cmd[128];

	store_close(s);
	if (i == REDIS)
		ck_assert_int_eq(gg_redis_stop(&redis), 0);
	if (i == 1) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		ck_assert_int_eq(system(cmd), 0);
	}
}

static struct stats *make_stats(size_t d, double base)
{
	struct stats *st = stats_new(d);

	ck_assert_ptr_nonnull(st);
	for (size_t j = 0; j < d; j++) {
		st->count[j] = 10 + j;
		st->mean[j] = base + (double)j / 3;
		st->m2[j] = 2.5 * (double)(j + 1);
		st->mean_lo[j] = 1e-17 * (double)j;
	}
	return st;
}

static void assert_same(const struct stats *a, const struct stats *b)
{
	ck_assert_uint_eq(a->n_features, b->n_features);
	for (size_t j = 0; j < a->n_features; j++) {
		ck_assert_uint_eq(a->count[j], b->count[j]);
		ck_assert_double_eq(a->mean[j], b->mean[j]);
		ck_assert_double_eq(a->m2[j], b->m2[j]);
		ck_assert_double_eq(a->mean_lo[j], b->mean_lo[j]);
	}
}

START_TEST(store_puts_gets_and_replaces_sessions)
{
	char url[128];
	struct store *s = open_backend(_i, 0, url, sizeof(url));
	struct stats *a = make_stats(3, 1.0), *b = make_stats(2, 5.0), *got;
	struct session_meta m1, m2;
	size_t n = 99;

	ck_assert_int_eq(s->ops->get(s, "/x", &got, NULL), STORE_NOT_FOUND);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(s->ops->put(s, "/x", a, 0, &m1), STORE_OK);
	ck_assert_int_eq(s->ops->get(s, "/x", &got, &m2), STORE_OK);
	assert_same(got, a);
	ck_assert_int_eq(m2.created_at_ms, m1.created_at_ms);
	ck_assert_int_le(m2.created_at_ms, m2.updated_at_ms);
	ck_assert_int_gt(m1.created_at_ms, 1700000000000);
	stats_free(got);
	/* a fit with a different feature count replaces the session */
	ck_assert_int_eq(s->ops->put(s, "/x", b, 0, &m2), STORE_OK);
	ck_assert_int_eq(m2.created_at_ms, m1.created_at_ms);
	ck_assert_int_eq(s->ops->get(s, "/x", &got, NULL), STORE_OK);
	assert_same(got, b);
	stats_free(got);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(s->ops->ping(s), STORE_OK);
	stats_free(a);
	stats_free(b);
	close_backend(s, _i);
}
END_TEST

START_TEST(store_merges_like_stats_merge)
{
	char url[128];
	struct store *s = open_backend(_i, 0, url, sizeof(url));
	struct stats *a = make_stats(3, 1.0), *b = make_stats(3, 4.0);
	struct stats *c = make_stats(2, 0), *out = NULL, *got = NULL, *want;

	want = stats_copy(a);
	ck_assert_int_eq(stats_merge(want, b), STATS_OK);
	/* merge into an absent key creates it */
	ck_assert_int_eq(s->ops->merge(s, "t/m", a, 0, &out, NULL), STORE_OK);
	assert_same(out, a);
	stats_free(out);
	ck_assert_int_eq(s->ops->merge(s, "t/m", b, 0, &out, NULL), STORE_OK);
	assert_same(out, want);
	ck_assert_int_eq(s->ops->get(s, "t/m", &got, NULL), STORE_OK);
	assert_same(got, want);
	stats_free(got);
	stats_free(out);
	/* a different feature count is refused and changes nothing */
	ck_assert_int_eq(s->ops->merge(s, "t/m", c, 0, &out, NULL),
			 STORE_MISMATCH);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(s->ops->merge(s, "t/m", c, 0, NULL, NULL),
			 STORE_MISMATCH);
	ck_assert_int_eq(s->ops->get(s, "t/m", &got, NULL), STORE_OK);
	assert_same(got, want);
	stats_free(got);
	stats_free(a);
	stats_free(b);
	stats_free(c);
	stats_free(want);
	close_backend(s, _i);
}
END_TEST

/* Two features; feature 0 is one sample at mean0 (M2 0). */
static struct stats *one_sample(double mean0)
{
	struct stats *st = make_stats(2, 1.0);

	st->count[0] = 1;
	st->mean[0] = mean0;
	st->m2[0] = 0;
	st->mean_lo[0] = 0;
	return st;
}

START_TEST(store_refuses_merges_that_overflow)
{
	char url[128];
	struct store *s = open_backend(_i, 0, url, sizeof(url));
	/* (1e154 - -1e154)^2 / 2 > DBL_MAX; (2 * 0.9e154)^2 / 2 is not */
	struct stats *a = one_sample(1e154), *b = one_sample(-1e154);
	struct stats *c = one_sample(0.9e154), *d = one_sample(-0.9e154);
	struct stats *inf = make_stats(2, 0), *out = NULL, *got = NULL, *want;
	struct session_meta m1, m2;
	size_t n = 0;

	ck_assert_int_eq(s->ops->put(s, "t/o", a, 0, &m1), STORE_OK);
	ck_assert_int_eq(s->ops->merge(s, "t/o", b, 0, &out, &m2),
			 STORE_OVERFLOW);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(s->ops->merge(s, "t/o", b, 0, NULL, NULL),
			 STORE_OVERFLOW);
	ck_assert_int_eq(s->ops->get(s, "t/o", &got, &m2), STORE_OK);
	assert_same(got, a);
	ck_assert_int_eq(m2.created_at_ms, m1.created_at_ms);
	ck_assert_int_eq(m2.updated_at_ms, m1.updated_at_ms);
	stats_free(got);
	/* non-finite statistics are never stored, new session or not */
	inf->m2[1] = INFINITY;
	ck_assert_int_eq(s->ops->put(s, "t/o", inf, 0, NULL), STORE_OVERFLOW);
	ck_assert_int_eq(s->ops->merge(s, "t/o", inf, 0, NULL, NULL),
			 STORE_OVERFLOW);
	ck_assert_int_eq(s->ops->put(s, "t/new", inf, 0, NULL), STORE_OVERFLOW);
	ck_assert_int_eq(s->ops->merge(s, "t/new", inf, 0, &out, NULL),
			 STORE_OVERFLOW);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(s->ops->get(s, "t/new", &got, NULL), STORE_NOT_FOUND);
	ck_assert_int_eq(s->ops->get(s, "t/o", &got, NULL), STORE_OK);
	assert_same(got, a);
	stats_free(got);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	/* a merge whose delta^2 overflows but whose M2 fits is stored, and
	 * rounds as stats_merge does */
	want = stats_copy(c);
	ck_assert_int_eq(stats_merge(want, d), STATS_OK);
	ck_assert_int_eq(s->ops->put(s, "t/o", c, 0, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->merge(s, "t/o", d, 0, &out, NULL), STORE_OK);
	assert_same(out, want);
	ck_assert_int_eq(s->ops->get(s, "t/o", &got, NULL), STORE_OK);
	assert_same(got, want);
	ck_assert_double_eq(got->m2[0], 2 * (0.9e154 * 0.9e154));
	stats_free(got);
	stats_free(out);
	stats_free(want);
	stats_free(a);
	stats_free(b);
	stats_free(c);
	stats_free(d);
	stats_free(inf);
	close_backend(s, _i);
}
END_TEST

START_TEST(store_deletes_sessions)
{
	char url[128];
	struct store *s = open_backend(_i, 0, url, sizeof(url));
	struct stats *a = make_stats(1, 0), *got;
	size_t n;

	ck_assert_int_eq(s->ops->del(s, "/gone"), STORE_NOT_FOUND);
	ck_assert_int_eq(s->ops->put(s, "/gone", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "/kept", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->del(s, "/gone"), STORE_OK);
	ck_assert_int_eq(s->ops->get(s, "/gone", &got, NULL), STORE_NOT_FOUND);
	ck_assert_int_eq(s->ops->del(s, "/gone"), STORE_NOT_FOUND);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	stats_free(a);
	close_backend(s, _i);
}
END_TEST

START_TEST(store_refuses_new_keys_past_max_sessions)
{
	char url[128];
	struct store *s = open_backend(_i, 3, url, sizeof(url));
	struct stats *a = make_stats(2, 0);
	size_t n;

	ck_assert_int_eq(s->ops->put(s, "/a", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->merge(s, "/b", a, 0, NULL, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "/c", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "/d", a, 0, NULL), STORE_FULL);
	ck_assert_int_eq(s->ops->merge(s, "/d", a, 0, NULL, NULL), STORE_FULL);
	/* existing keys still update */
	ck_assert_int_eq(s->ops->put(s, "/a", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->merge(s, "/b", a, 0, NULL, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(s->ops->del(s, "/c"), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "/d", a, 0, NULL), STORE_OK);
	stats_free(a);
	close_backend(s, _i);
}
END_TEST

/* Wall-clock Unix ms, the clock the stores stamp sessions with. */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps until the wall clock is past t (ms). */
static void sleep_past(int64_t t)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };

	while (wall_ms() <= t)
		nanosleep(&nap, NULL);
}

START_TEST(store_sessions_expire_after_their_lifetime)
{
	char url[128];
	struct store *s = open_backend(_i, 0, url, sizeof(url));
	struct stats *a = make_stats(2, 1.0), *got = NULL;
	struct session_meta m1, m2;
	int64_t t0 = wall_ms();
	size_t n;

	ck_assert_int_eq(s->ops->put(s, "t/short", a, 300, &m1), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "t/forever", a, 0, &m2), STORE_OK);
	ck_assert_int_eq(m2.expires_at_ms, 0);
	/* counted from the write: updated_at + ttl */
	ck_assert_int_eq(m1.expires_at_ms, m1.updated_at_ms + 300);
	ck_assert_int_ge(m1.updated_at_ms, t0 - 1000);
	/* a read reports the lifetime and does not extend it */
	ck_assert_int_eq(s->ops->get(s, "t/short", &got, &m2), STORE_OK);
	ck_assert_int_eq(m2.expires_at_ms, m1.expires_at_ms);
	stats_free(got);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 2);
	sleep_past(m1.expires_at_ms + 20);
	ck_assert_int_eq(s->ops->get(s, "t/short", &got, NULL),
			 STORE_NOT_FOUND);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(s->ops->del(s, "t/short"), STORE_NOT_FOUND);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(s->ops->get(s, "t/forever", &got, NULL), STORE_OK);
	stats_free(got);
	/* written again, it is a new session */
	ck_assert_int_eq(s->ops->merge(s, "t/short", a, 0, NULL, &m2),
			 STORE_OK);
	ck_assert_int_gt(m2.created_at_ms, m1.created_at_ms);
	ck_assert_int_eq(m2.expires_at_ms, 0);
	ck_assert_int_eq(s->ops->get(s, "t/short", &got, NULL), STORE_OK);
	assert_same(got, a);
	stats_free(got);
	stats_free(a);
	close_backend(s, _i);
}
END_TEST

START_TEST(store_writes_extend_a_lifetime)
{
	char url[128];
	struct store *s = open_backend(_i, 0, url, sizeof(url));
	struct stats *a = make_stats(2, 1.0), *got = NULL;
	struct session_meta m1, m2;

	ck_assert_int_eq(s->ops->put(s, "t/x", a, 400, &m1), STORE_OK);
	sleep_past(m1.updated_at_ms + 250);
	ck_assert_int_eq(s->ops->merge(s, "t/x", a, 400, NULL, &m2), STORE_OK);
	ck_assert_int_ge(m2.expires_at_ms, m1.expires_at_ms + 250);
	sleep_past(m1.expires_at_ms + 20);
	/* past the first lifetime, within the second */
	if (wall_ms() < m2.expires_at_ms - 20) {
		ck_assert_int_eq(s->ops->get(s, "t/x", &got, NULL), STORE_OK);
		stats_free(got);
	}
	sleep_past(m2.expires_at_ms + 20);
	ck_assert_int_eq(s->ops->get(s, "t/x", &got, NULL), STORE_NOT_FOUND);
	stats_free(a);
	close_backend(s, _i);
}
END_TEST

START_TEST(store_limits_sessions_per_tenant)
{
	char url[128], key[32];
	struct store *s = open_backend(_i, 5, url, sizeof(url));
	struct stats *a = make_stats(2, 0);
	struct session_meta m;
	size_t n;

	for (int k = 0; k < 5; k++) {
		snprintf(key, sizeof(key), "alice/s%d", k);
		ck_assert_int_eq(s->ops->put(s, key, a, k == 0 ? 300 : 0, &m),
				 STORE_OK);
	}
	ck_assert_int_eq(s->ops->put(s, "alice/s5", a, 0, NULL), STORE_FULL);
	ck_assert_int_eq(s->ops->merge(s, "alice/s5", a, 0, NULL, NULL),
			 STORE_FULL);
	/* another tenant is not affected by alice's sessions */
	for (int k = 0; k < 5; k++) {
		snprintf(key, sizeof(key), "bob/s%d", k);
		ck_assert_int_eq(s->ops->merge(s, key, a, 0, NULL, NULL),
				 STORE_OK);
	}
	ck_assert_int_eq(s->ops->put(s, "bob/s5", a, 0, NULL), STORE_FULL);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 10);
	/* an expired session no longer counts */
	sleep_past(m.created_at_ms + 320);
	ck_assert_int_eq(s->ops->put(s, "alice/s5", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "alice/s6", a, 0, NULL), STORE_FULL);
	/* nor does a deleted one */
	ck_assert_int_eq(s->ops->del(s, "bob/s1"), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "bob/s5", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 10);
	stats_free(a);
	close_backend(s, _i);
}
END_TEST

/* 8 threads race, each to create its own session in a tenant holding 4
 * under a limit of 5: exactly one wins. */
enum { RACERS = 8 };

struct racer {
	struct store *s;
	const struct stats *st;
	char key[32];
	enum store_status rc;
	pthread_barrier_t *go;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	r->rc = r->s->ops->merge(r->s, r->key, r->st, 0, NULL, NULL);
	return NULL;
}

START_TEST(store_limit_holds_when_threads_race)
{
	char url[128], key[32];
	struct store *s = open_backend(_i, 5, url, sizeof(url));
	struct stats *a = make_stats(2, 0);
	struct racer r[RACERS];
	pthread_t t[RACERS];
	pthread_barrier_t go;
	int ok = 0, full = 0;
	size_t n;

	for (int k = 0; k < 4; k++) {
		snprintf(key, sizeof(key), "t1/s%d", k);
		ck_assert_int_eq(s->ops->put(s, key, a, 0, NULL), STORE_OK);
	}
	ck_assert_int_eq(s->ops->put(s, "t2/other", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(pthread_barrier_init(&go, NULL, RACERS), 0);
	for (int k = 0; k < RACERS; k++) {
		r[k].s = s;
		r[k].st = a;
		r[k].go = &go;
		snprintf(r[k].key, sizeof(r[k].key), "t1/race%d", k);
		ck_assert_int_eq(pthread_create(&t[k], NULL, racer_main, &r[k]),
				 0);
	}
	for (int k = 0; k < RACERS; k++) {
		pthread_join(t[k], NULL);
		ok += r[k].rc == STORE_OK;
		full += r[k].rc == STORE_FULL;
	}
	pthread_barrier_destroy(&go);
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(full, RACERS - 1);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 6);
	stats_free(a);
	close_backend(s, _i);
}
END_TEST

START_TEST(store_reports_sessions_per_tenant)
{
	char url[128], key[32];
	struct store *s = open_backend(_i, 0, url, sizeof(url));
	struct stats *a = make_stats(1, 0);
	struct store_stats st;

	for (int k = 0; k < 14; k++) {
		snprintf(key, sizeof(key), "%s/s%d", k < 2 ? "small" : "big", k);
		ck_assert_int_eq(s->ops->put(s, key, a, 0, NULL), STORE_OK);
	}
	ck_assert(s->ops->stats != NULL);
	ck_assert_int_eq(s->ops->stats(s, &st), STORE_OK);
	ck_assert_uint_eq(st.sessions, 14);
	if (st.has_tenants) {
		ck_assert_uint_eq(st.tenants, 2);
		ck_assert_uint_eq(st.tenant_hist[1], 1);  /* 2 in (1, 10] */
		ck_assert_uint_eq(st.tenant_hist[2], 1);  /* 12 in (10, 100] */
	}
	if (st.has_batches) {
		uint64_t batches = 0;

		for (int b = 0; b < STORE_BATCH_BUCKETS; b++)
			batches += st.batch_hist[b];
		ck_assert_uint_eq(st.batch_writes, 14);
		ck_assert_uint_ge(batches, 1);
		ck_assert_uint_le(batches, 14);
	}
	stats_free(a);
	close_backend(s, _i);
}
END_TEST

/* 8 threads x 40 batches of 25 rows x 3 features into one session. */
enum { THREADS = 8, BATCHES = 40, ROWS = 25, FEAT = 3 };

struct worker {
	struct store *s;
	const double *x;  /* BATCHES * ROWS * FEAT values of this thread */
	int failures;
};

static void *merge_worker(void *arg)
{
	struct worker *w = arg;

	for (int b = 0; b < BATCHES; b++) {
		struct stats *d = stats_new(FEAT);

		if (!d || stats_add(d, w->x + (size_t)b * ROWS * FEAT, ROWS,
				    FEAT) != STATS_OK ||
		    w->s->ops->merge(w->s, "tenant/shared", d, 0, NULL, NULL) !=
			    STORE_OK)
			w->failures++;
		stats_free(d);
	}
	return NULL;
}

START_TEST(store_concurrent_merges_lose_nothing)
{
	const size_t total = (size_t)THREADS * BATCHES * ROWS;
	char url[128];
	struct store *s = open_backend(_i, 0, url, sizeof(url));
	double *x = malloc(total * FEAT * sizeof(double));
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct stats *all = stats_new(FEAT), *got = NULL;
	uint64_t seed = 12345;

	ck_assert_ptr_nonnull(x);
	for (size_t i = 0; i < total * FEAT; i++) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		x[i] = 1e6 * (double)(i % FEAT) +
		       (double)(seed >> 11) * 0x1p-53;
	}
	ck_assert_int_eq(stats_add(all, x, total, FEAT), STATS_OK);
	for (int k = 0; k < THREADS; k++) {
		w[k].s = s;
		w[k].x = x + (size_t)k * BATCHES * ROWS * FEAT;
		w[k].failures = 0;
		ck_assert_int_eq(pthread_create(&t[k], NULL, merge_worker, &w[k]),
				 0);
	}
	for (int k = 0; k < THREADS; k++) {
		pthread_join(t[k], NULL);
		ck_assert_int_eq(w[k].failures, 0);
	}
	ck_assert_int_eq(s->ops->get(s, "tenant/shared", &got, NULL), STORE_OK);
	for (size_t j = 0; j < FEAT; j++) {
		ck_assert_uint_eq(got->count[j], total);
		ck_assert_msg(fabs(got->mean[j] - all->mean[j]) <=
				      1e-15 * fabs(all->mean[j]) + 1e-15,
			      "mean %.17g vs %.17g", got->mean[j], all->mean[j]);
		ck_assert_msg(fabs(got->m2[j] - all->m2[j]) <= 1e-12 * all->m2[j],
			      "m2 %.17g vs %.17g", got->m2[j], all->m2[j]);
	}
	stats_free(got);
	stats_free(all);
	free(x);
	close_backend(s, _i);
}
END_TEST

START_TEST(sqlite_store_keeps_sessions_across_reopen)
{
	char url[128], err[256];
	struct store *s = open_backend(1, 0, url, sizeof(url));
	struct stats *a = make_stats(4, 1e9), *got = NULL;
	struct session_meta m1, m2;

	ck_assert_int_eq(s->ops->put(s, "/durable", a, 0, &m1), STORE_OK);
	store_close(s);
	s = NULL;
	ck_assert_int_eq(store_open(url, 0, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(s->ops->get(s, "/durable", &got, &m2), STORE_OK);
	assert_same(got, a);
	ck_assert_int_eq(m2.created_at_ms, m1.created_at_ms);
	ck_assert_int_eq(m2.updated_at_ms, m1.updated_at_ms);
	stats_free(got);
	stats_free(a);
	close_backend(s, 1);
}
END_TEST

/* A database written by the first version (no lifetimes, no counts)
 * opens with its sessions, counted per tenant for the limit. */
START_TEST(sqlite_store_upgrades_a_version_1_database)
{
	char url[128], path[128], wal[160], err[256];
	struct store *s = open_backend(1, 0, url, sizeof(url));
	struct stats *a = make_stats(2, 7.0), *got = NULL;
	struct session_meta m;
	unsigned char *blob;
	sqlite3_stmt *ins;
	sqlite3 *db;
	size_t len, n;

	store_close(s);
	snprintf(path, sizeof(path), "%s", url + 7);
	ck_assert_int_eq(unlink(path), 0);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
		"CREATE TABLE sessions (key TEXT PRIMARY KEY,"
		" n_features INTEGER NOT NULL, stats BLOB NOT NULL,"
		" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)"
		" WITHOUT ROWID;", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO sessions VALUES "
		"(?1, 2, ?2, 1000, 2000)", -1, &ins, NULL), SQLITE_OK);
	blob = store_encode_stats(a, &len);
	ck_assert_ptr_nonnull(blob);
	for (int k = 0; k < 3; k++) {
		const char *keys[] = { "alice/a", "alice/b", "/c" };

		sqlite3_bind_text(ins, 1, keys[k], -1, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 2, blob, (int)len, SQLITE_STATIC);
		ck_assert_int_eq(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	gg_free(blob);

	ck_assert_msg(store_open(url, 2, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(s->ops->get(s, "alice/b", &got, &m), STORE_OK);
	assert_same(got, a);
	ck_assert_int_eq(m.created_at_ms, 1000);
	ck_assert_int_eq(m.expires_at_ms, 0);
	stats_free(got);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 3);
	/* alice holds 2 of 2; the tenant "" 1 of 2 */
	ck_assert_int_eq(s->ops->put(s, "alice/new", a, 0, NULL), STORE_FULL);
	ck_assert_int_eq(s->ops->put(s, "/new", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "/newer", a, 0, NULL), STORE_FULL);
	stats_free(a);
	close_backend(s, 1);
}
END_TEST

/* One command on the test's private Redis, for looking behind the store. */
static redisReply *redis_cmd(const char *fmt, const char *arg)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", redis.port, tv);
	redisReply *r;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->err, 0);
	r = redisCommand(c, fmt, arg);
	ck_assert_ptr_nonnull(r);
	redisFree(c);
	return r;
}

/* What a store logged (one test at a time: each runs in its own process). */
static char logged[8][256];
static int n_logged;

static void capture_log(const char *level, const char *msg)
{
	if (n_logged < 8)
		snprintf(logged[n_logged++], sizeof(logged[0]), "%s %s", level,
			 msg);
}

START_TEST(redis_store_reports_unavailable_and_recovers)
{
	char url[128];
	struct store *s = open_backend(REDIS, 0, url, sizeof(url));
	struct stats *a = make_stats(2, 3.0), *got = NULL;
	size_t n;

	s->log = capture_log;
	ck_assert_int_eq(s->ops->put(s, "t/a", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(gg_redis_stop(&redis), 0);
	ck_assert_int_eq(s->ops->ping(s), STORE_UNAVAILABLE);
	ck_assert_int_eq(s->ops->get(s, "t/a", &got, NULL), STORE_UNAVAILABLE);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(s->ops->merge(s, "t/a", a, 0, &got, NULL),
			 STORE_UNAVAILABLE);
	ck_assert_ptr_null(got);
	ck_assert_int_eq(s->ops->put(s, "t/a", a, 0, NULL), STORE_UNAVAILABLE);
	ck_assert_int_eq(s->ops->del(s, "t/a"), STORE_UNAVAILABLE);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_UNAVAILABLE);
	/* seven failures, one error line with hiredis's cause */
	ck_assert_int_eq(n_logged, 1);
	ck_assert_msg(strstr(logged[0], "error store redis: ") &&
		      strstr(logged[0], "refused"), "%s", logged[0]);
	/* the same port again: the store reconnects by itself (the data is
	 * gone, this Redis has no persistence) */
	ck_assert_int_eq(gg_redis_start(&redis, redis.port), 0);
	ck_assert_int_eq(s->ops->ping(s), STORE_OK);
	ck_assert_int_eq(n_logged, 2);
	ck_assert_str_eq(logged[1], "info store redis: working again");
	ck_assert_int_eq(s->ops->get(s, "t/a", &got, NULL), STORE_NOT_FOUND);
	ck_assert_int_eq(s->ops->merge(s, "t/a", a, 0, NULL, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->get(s, "t/a", &got, NULL), STORE_OK);
	assert_same(got, a);
	stats_free(got);
	stats_free(a);
	close_backend(s, REDIS);
}
END_TEST

START_TEST(redis_store_survives_a_restart_between_requests)
{
	char url[128];
	struct store *s = open_backend(REDIS, 0, url, sizeof(url));
	struct stats *a = make_stats(1, 0), *got = NULL;

	/* the pooled connection is now stale, and no request saw it fail:
	 * even a merge (never retried) notices and reconnects first */
	ck_assert_int_eq(s->ops->put(s, "/a", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(gg_redis_stop(&redis), 0);
	ck_assert_int_eq(gg_redis_start(&redis, redis.port), 0);
	ck_assert_int_eq(s->ops->merge(s, "/a", a, 0, NULL, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->get(s, "/a", &got, NULL), STORE_OK);
	assert_same(got, a);
	stats_free(got);
	/* Redis forgot the scripts (SCRIPT FLUSH): EVALSHA falls back to EVAL */
	freeReplyObject(redis_cmd("SCRIPT FLUSH %s", "SYNC"));
	ck_assert_int_eq(s->ops->merge(s, "/a", a, 0, &got, NULL), STORE_OK);
	ck_assert_uint_eq(got->count[0], 2 * a->count[0]);
	stats_free(got);
	stats_free(a);
	close_backend(s, REDIS);
}
END_TEST

START_TEST(redis_store_opens_while_redis_is_down)
{
	struct store *s = NULL;
	char url[128], err[256];

	/* start then stop: a port where nothing listens now */
	ck_assert_int_eq(gg_redis_start(&redis, 0), 0);
	ck_assert_int_eq(gg_redis_stop(&redis), 0);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", redis.port);
	ck_assert_msg(store_open(url, 0, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(s->ops->name, "redis");
	ck_assert_int_eq(s->ops->ping(s), STORE_UNAVAILABLE);
	ck_assert_int_eq(gg_redis_start(&redis, redis.port), 0);
	ck_assert_int_eq(s->ops->ping(s), STORE_OK);
	store_close(s);
	ck_assert_int_eq(gg_redis_stop(&redis), 0);
}
END_TEST

START_TEST(redis_store_refuses_a_database_redis_refuses)
{
	struct store *s = (struct store *)1;
	char url[128], err[256] = "";

	ck_assert_int_eq(gg_redis_start(&redis, 0), 0);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/100000", redis.port);
	ck_assert_int_eq(store_open(url, 0, &s, err, sizeof(err)), -1);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "DB index") != NULL, "%s", err);
	ck_assert_int_eq(gg_redis_stop(&redis), 0);
}
END_TEST

START_TEST(redis_stores_share_sessions_and_the_limit)
{
	char url[128], err[256];
	struct store *s = open_backend(REDIS, 2, url, sizeof(url)), *t = NULL;
	struct stats *a = make_stats(3, 1.0), *b = make_stats(3, 7.0);
	struct stats *want = stats_copy(a), *got = NULL;
	struct session_meta m1, m2;
	size_t n;

	ck_assert_int_eq(store_open(url, 2, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(stats_merge(want, b), STATS_OK);
	ck_assert_int_eq(s->ops->merge(s, "t/x", a, 0, NULL, &m1), STORE_OK);
	ck_assert_int_eq(t->ops->merge(t, "t/x", b, 0, NULL, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->get(s, "t/x", &got, &m2), STORE_OK);
	assert_same(got, want);
	ck_assert_int_eq(m2.created_at_ms, m1.created_at_ms);
	stats_free(got);
	ck_assert_int_eq(t->ops->put(t, "t/y", a, 0, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "t/z", a, 0, NULL), STORE_FULL);
	ck_assert_int_eq(t->ops->count(t, &n), STORE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(s->ops->del(s, "t/y"), STORE_OK);
	ck_assert_int_eq(t->ops->get(t, "t/y", &got, NULL), STORE_NOT_FOUND);
	ck_assert_int_eq(t->ops->put(t, "t/z", a, 0, NULL), STORE_OK);
	store_close(t);
	stats_free(a);
	stats_free(b);
	stats_free(want);
	close_backend(s, REDIS);
}
END_TEST

START_TEST(redis_store_keeps_the_documented_layout)
{
	char url[128];
	struct store *s = open_backend(REDIS, 0, url, sizeof(url));
	struct stats *a = make_stats(2, 1e9);
	redisReply *r;
	double d;

	ck_assert_int_eq(s->ops->put(s, "ten/s1", a, 0, NULL), STORE_OK);
	r = redis_cmd("HGET %s s", "gradguard:session:ten/s1");
	ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
	ck_assert_uint_eq(r->len, 2 * 32);
	/* feature 1: count, mean, M2, mean_lo as little-endian doubles */
	memcpy(&d, r->str + 32, 8);
	ck_assert_double_eq(d, (double)a->count[1]);
	memcpy(&d, r->str + 40, 8);
	ck_assert_double_eq(d, a->mean[1]);
	memcpy(&d, r->str + 56, 8);
	ck_assert_double_eq(d, a->mean_lo[1]);
	freeReplyObject(r);
	r = redis_cmd("PTTL %s", "gradguard:session:ten/s1");
	ck_assert_int_eq(r->integer, -1);  /* no TTL */
	freeReplyObject(r);
	r = redis_cmd("ZSCORE gradguard:sessions %s", "ten/s1");
	ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
	ck_assert_str_eq(r->str, "inf");
	freeReplyObject(r);
	stats_free(a);
	close_backend(s, REDIS);
}
END_TEST

START_TEST(redis_store_expires_sessions_after_ttl)
{
	char url[128], err[256];
	struct store *s = NULL, *base;
	struct stats *a = make_stats(2, 0), *got = NULL;
	redisReply *r;
	size_t n;

	base = open_backend(REDIS, 2, url, sizeof(url));
	snprintf(url + strlen(url), sizeof(url) - strlen(url), "?ttl=3600");
	ck_assert_msg(store_open(url, 2, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(s->session_ttl_ms, 3600000);
	ck_assert_int_eq(s->ops->put(s, "/a", a, s->session_ttl_ms, NULL),
			 STORE_OK);
	ck_assert_int_eq(s->ops->merge(s, "/b", a, s->session_ttl_ms, NULL,
				       NULL), STORE_OK);
	r = redis_cmd("PTTL %s", "gradguard:session:/b");
	ck_assert_int_gt(r->integer, 3590000);
	ck_assert_int_le(r->integer, 3600000);
	freeReplyObject(r);
	ck_assert_int_eq(s->ops->put(s, "/c", a, 0, NULL), STORE_FULL);
	/* expire /a now, as Redis would after the TTL: it stops counting and
	 * frees its place under the limit */
	r = redis_cmd("PEXPIREAT %s 1", "gradguard:session:/a");
	freeReplyObject(r);
	r = redis_cmd("ZADD gradguard:sessions 1 %s", "/a");
	freeReplyObject(r);
	r = redis_cmd("ZADD gradguard:tenant: 1 %s", "/a");
	freeReplyObject(r);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(s->ops->get(s, "/a", &got, NULL), STORE_NOT_FOUND);
	ck_assert_int_eq(s->ops->put(s, "/c", a, 0, NULL), STORE_OK);
	store_close(s);
	stats_free(a);
	close_backend(base, REDIS);
}
END_TEST

static const char *const bad_urls[] = {
	"redis://localhost", "sqlite:", "memory", "", "sqlite:/proc/no/such/x.db",
	"redis://127.0.0.1:0", "redis://:6379", "redis://h:6379/x",
	"redis://h:99999", "redis://[::1", "redis://h:6379/0?ttl=-1",
	"redis://h:6379/0?foo=1", "redis://h:6379/0/", "redis://h:63a79",
};

START_TEST(store_open_rejects_bad_urls)
{
	struct store *s = (struct store *)1;
	char err[256] = "";

	ck_assert_int_eq(store_open(bad_urls[_i], 0, &s, err, sizeof(err)), -1);
	ck_assert_ptr_null(s);
	ck_assert_msg(err[0] != '\0', "no message for '%s'", bad_urls[_i]);
	store_close(NULL);
}
END_TEST

START_TEST(store_status_strings_are_distinct)
{
	ck_assert_str_eq(store_status_str(STORE_OK), "ok");
	ck_assert_str_ne(store_status_str(STORE_FULL),
			 store_status_str(STORE_UNAVAILABLE));
	ck_assert_str_ne(store_status_str(STORE_NOT_FOUND),
			 store_status_str(STORE_MISMATCH));
	ck_assert_str_ne(store_status_str(STORE_OVERFLOW),
			 store_status_str(STORE_NOMEM));
	ck_assert_str_ne(store_status_str(STORE_OVERFLOW),
			 "unknown store status");
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *core = tcase_create("core"), *conc = tcase_create("concurrency");
	TCase *err = tcase_create("errors");

	tcase_add_loop_test(core, store_puts_gets_and_replaces_sessions, 0,
			    BACKENDS);
	tcase_add_loop_test(core, store_merges_like_stats_merge, 0, BACKENDS);
	tcase_add_loop_test(core, store_refuses_merges_that_overflow, 0,
			    BACKENDS);
	tcase_add_loop_test(core, store_deletes_sessions, 0, BACKENDS);
	tcase_add_loop_test(core, store_refuses_new_keys_past_max_sessions, 0,
			    BACKENDS);
	tcase_add_loop_test(core, store_sessions_expire_after_their_lifetime,
			    0, BACKENDS);
	tcase_add_loop_test(core, store_writes_extend_a_lifetime, 0, BACKENDS);
	tcase_add_loop_test(core, store_limits_sessions_per_tenant, 0,
			    BACKENDS);
	tcase_add_loop_test(core, store_reports_sessions_per_tenant, 0,
			    BACKENDS);
	tcase_add_loop_test(conc, store_limit_holds_when_threads_race, 0,
			    BACKENDS);
	tcase_add_test(core, sqlite_store_keeps_sessions_across_reopen);
	tcase_add_test(core, sqlite_store_upgrades_a_version_1_database);
	tcase_add_test(core, redis_store_reports_unavailable_and_recovers);
	tcase_add_test(core, redis_store_survives_a_restart_between_requests);
	tcase_add_test(core, redis_store_opens_while_redis_is_down);
	tcase_add_test(core, redis_store_refuses_a_database_redis_refuses);
	tcase_add_test(core, redis_stores_share_sessions_and_the_limit);
	tcase_add_test(core, redis_store_keeps_the_documented_layout);
	tcase_add_test(core, redis_store_expires_sessions_after_ttl);
	tcase_add_loop_test(conc, store_concurrent_merges_lose_nothing, 0,
			    BACKENDS);
	tcase_set_timeout(conc, 60);
	tcase_add_loop_test(err, store_open_rejects_bad_urls, 0,
			    (int)(sizeof(bad_urls) / sizeof(bad_urls[0])));
	tcase_add_test(err, store_status_strings_are_distinct);
	suite_add_tcase(s, core);
	suite_add_tcase(s, conc);
	suite_add_tcase(s, err);
	return s;
}

int main(void)
{
	return suite_run(store_suite());
}
