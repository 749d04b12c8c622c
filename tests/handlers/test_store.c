/* The session store back ends (memory:, sqlite:PATH) through the store.h
 * interface: one body per behaviour, run against each back end. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/stats.h"
#include "handlers/store.h"

enum { BACKENDS = 2 };
static const char *const backend_names[BACKENDS] = { "memory", "sqlite" };

static char tmpdir[64];

/* A fresh store of back end i; sqlite ones live in a new temp directory
 * (one level deeper than exists, so that the parent gets created). */
static struct store *open_backend(int i, size_t max_sessions, char *url,
				  size_t n)
{
	struct store *s = NULL;
	char err[256];

	if (i == 0) {
		snprintf(url, n, "memory:");
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
	ck_assert_int_eq(s->ops->put(s, "/x", a, &m1), STORE_OK);
	ck_assert_int_eq(s->ops->get(s, "/x", &got, &m2), STORE_OK);
	assert_same(got, a);
	ck_assert_int_eq(m2.created_at_ms, m1.created_at_ms);
	ck_assert_int_le(m2.created_at_ms, m2.updated_at_ms);
	ck_assert_int_gt(m1.created_at_ms, 1700000000000);
	stats_free(got);
	/* a fit with a different feature count replaces the session */
	ck_assert_int_eq(s->ops->put(s, "/x", b, &m2), STORE_OK);
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
	ck_assert_int_eq(s->ops->merge(s, "t/m", a, &out, NULL), STORE_OK);
	assert_same(out, a);
	stats_free(out);
	ck_assert_int_eq(s->ops->merge(s, "t/m", b, &out, NULL), STORE_OK);
	assert_same(out, want);
	ck_assert_int_eq(s->ops->get(s, "t/m", &got, NULL), STORE_OK);
	assert_same(got, want);
	stats_free(got);
	stats_free(out);
	/* a different feature count is refused and changes nothing */
	ck_assert_int_eq(s->ops->merge(s, "t/m", c, &out, NULL),
			 STORE_MISMATCH);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(s->ops->merge(s, "t/m", c, NULL, NULL),
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

START_TEST(store_deletes_sessions)
{
	char url[128];
	struct store *s = open_backend(_i, 0, url, sizeof(url));
	struct stats *a = make_stats(1, 0), *got;
	size_t n;

	ck_assert_int_eq(s->ops->del(s, "/gone"), STORE_NOT_FOUND);
	ck_assert_int_eq(s->ops->put(s, "/gone", a, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "/kept", a, NULL), STORE_OK);
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

	ck_assert_int_eq(s->ops->put(s, "/a", a, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->merge(s, "/b", a, NULL, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "/c", a, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "/d", a, NULL), STORE_FULL);
	ck_assert_int_eq(s->ops->merge(s, "/d", a, NULL, NULL), STORE_FULL);
	/* existing keys still update */
	ck_assert_int_eq(s->ops->put(s, "/a", a, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->merge(s, "/b", a, NULL, NULL), STORE_OK);
	ck_assert_int_eq(s->ops->count(s, &n), STORE_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(s->ops->del(s, "/c"), STORE_OK);
	ck_assert_int_eq(s->ops->put(s, "/d", a, NULL), STORE_OK);
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
		    w->s->ops->merge(w->s, "tenant/shared", d, NULL, NULL) !=
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

	ck_assert_int_eq(s->ops->put(s, "/durable", a, &m1), STORE_OK);
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

static const char *const bad_urls[] = {
	"redis://localhost", "sqlite:", "memory", "", "sqlite:/proc/no/such/x.db",
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
	tcase_add_loop_test(core, store_deletes_sessions, 0, BACKENDS);
	tcase_add_loop_test(core, store_refuses_new_keys_past_max_sessions, 0,
			    BACKENDS);
	tcase_add_test(core, sqlite_store_keeps_sessions_across_reopen);
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
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
