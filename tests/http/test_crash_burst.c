/* kill -9 during a burst of /normalize partial_fits on one SQLite-backed
 * session: after a restart on the same file every acknowledged batch is in
 * the statistics, and of the batches in flight at the kill exactly some
 * subset is (found from n_samples_seen and the mean and variance). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"
#include "tests/lib/suite_run.h"

/* 8 clients; batch (t, i) has t + 1 rows, so the batches in flight at once
 * (at most one per client) have distinct sizes. */
enum { CLIENTS = 8, FEAT = 3, MAX_BATCHES = 20000 };
/* The burst lasts at least BURST_MIN_MS and until every client has had
 * MIN_ACKED batches acknowledged, but never longer than BURST_MAX_MS. */
#define BURST_MIN_MS 500
#define BURST_MAX_MS 20000
#define MIN_ACKED 3
#define REL_TOL 1e-12

static char tmpdir[64];

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t batch_rows(int t)
{
	return (size_t)t + 1;
}

/* Deterministic, irregular values in [100 j, 100 j + 8), exact in binary
 * (so %.17g round-trips them through JSON bit for bit). */
static double value_at(int t, int i, size_t row, size_t j)
{
	uint64_t z = ((((uint64_t)t * MAX_BATCHES + (uint64_t)i) * CLIENTS +
		       row) * FEAT + j + 1) * 0x9E3779B97F4A7C15u;

	z ^= z >> 29;
	z *= 0xBF58476D1CE4E5B9u;
	z ^= z >> 32;
	return 100.0 * (double)j + (double)(z >> 11) * 0x1p-53 * 8;
}

static char *batch_body(int t, int i)
{
	size_t cap = batch_rows(t) * FEAT * 32 + 128, len = 0;
	char *b = malloc(cap);

	ck_assert_ptr_nonnull(b);
	len += (size_t)snprintf(b, cap, "{\"op\":\"partial_fit\",\"session\":"
				"\"burst\",\"data\":[");
	for (size_t r = 0; r < batch_rows(t); r++) {
		len += (size_t)snprintf(b + len, cap - len, "%s[", r ? "," : "");
		for (size_t j = 0; j < FEAT; j++)
			len += (size_t)snprintf(b + len, cap - len, "%s%.17g",
						j ? "," : "",
						value_at(t, i, r, j));
		len += (size_t)snprintf(b + len, cap - len, "]");
	}
	snprintf(b + len, cap - len, "]}");
	return b;
}

struct client {
	const struct gg_server *s;
	int t;
	atomic_int acked;    /* batches 0..acked-1 answered 200 */
	int unsure;          /* the batch sent when the transport failed, -1 */
	long bad_status;     /* a response other than 200, 0 if none */
	const atomic_bool *stop;
};

static void *client_main(void *arg)
{
	struct client *c = arg;

	for (int i = 0; i < MAX_BATCHES && !atomic_load(c->stop); i++) {
		char *body = batch_body(c->t, i);
		struct gg_response r;
		int rc = gg_post_json(c->s, "/normalize", body, &r);

		free(body);
		gg_response_free(&r);
		if (rc != 0) {
			c->unsure = i;   /* may or may not have landed */
			break;
		}
		if (r.status != 200) {
			c->bad_status = r.status;
			c->unsure = i;
			break;
		}
		atomic_store(&c->acked, i + 1);
	}
	return NULL;
}

/* Statistics of the acknowledged batches plus the unsure ones in mask, by
 * two passes in long double (independent of the server's merges). */
struct stats {
	size_t n;
	double mean[FEAT], var[FEAT];
};

static void for_each_batch(const struct client *c, unsigned mask,
			   void (*fn)(int t, int i, void *), void *arg)
{
	for (int t = 0; t < CLIENTS; t++) {
		for (int i = 0; i < c[t].acked; i++)
			fn(t, i, arg);
		if (c[t].unsure >= 0 && (mask >> t & 1u))
			fn(t, c[t].unsure, arg);
	}
}

struct acc {
	size_t n;
	long double sum[FEAT], m2[FEAT], mean[FEAT];
};

static void add_sum(int t, int i, void *arg)
{
	struct acc *a = arg;

	for (size_t r = 0; r < batch_rows(t); r++)
		for (size_t j = 0; j < FEAT; j++)
			a->sum[j] += value_at(t, i, r, j);
	a->n += batch_rows(t);
}

static void add_m2(int t, int i, void *arg)
{
	struct acc *a = arg;

	for (size_t r = 0; r < batch_rows(t); r++)
		for (size_t j = 0; j < FEAT; j++) {
			long double d = value_at(t, i, r, j) - a->mean[j];

			a->m2[j] += d * d;
		}
}

static struct stats reference(const struct client *c, unsigned mask)
{
	struct acc a;
	struct stats s;

	memset(&a, 0, sizeof(a));
	for_each_batch(c, mask, add_sum, &a);
	ck_assert_uint_gt(a.n, 0);
	for (size_t j = 0; j < FEAT; j++)
		a.mean[j] = a.sum[j] / (long double)a.n;
	for_each_batch(c, mask, add_m2, &a);
	s.n = a.n;
	for (size_t j = 0; j < FEAT; j++) {
		s.mean[j] = (double)a.mean[j];
		s.var[j] = (double)(a.m2[j] / (long double)a.n);
	}
	return s;
}

static double rel(double a, double b)
{
	return a == b ? 0 : fabs(a - b) / fabs(b);
}

static bool stats_match(const struct stats *want, const struct stats *got)
{
	if (want->n != got->n)
		return false;
	for (size_t j = 0; j < FEAT; j++)
		if (rel(got->mean[j], want->mean[j]) > REL_TOL ||
		    rel(got->var[j], want->var[j]) > REL_TOL)
			return false;
	return true;
}

static double at(const cJSON *o, const char *k, int i)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, k);
	const cJSON *v = cJSON_GetArrayItem(a, i);

	ck_assert_msg(cJSON_IsNumber(v), "%s[%d] is not a number", k, i);
	return v->valuedouble;
}

static struct stats stored(const struct gg_server *s)
{
	cJSON *j = http_call(s, "GET", "/sessions/burst", NULL, 200, NULL);
	const cJSON *n;
	struct stats got;

	ck_assert_ptr_nonnull(j);
	n = cJSON_GetObjectItemCaseSensitive(j, "n_samples_seen");
	ck_assert(cJSON_IsNumber(n) && n->valuedouble >= 0);
	got.n = (size_t)n->valuedouble;
	for (int k = 0; k < FEAT; k++) {
		got.mean[k] = at(j, "mean", k);
		got.var[k] = at(j, "var", k);
	}
	cJSON_Delete(j);
	return got;
}

static bool enough_acked(struct client *c)
{
	for (int t = 0; t < CLIENTS; t++)
		if (atomic_load(&c[t].acked) < MIN_ACKED)
			return false;
	return true;
}

START_TEST(crash_burst_keeps_every_acknowledged_update)
{
	struct gg_server s;
	struct client c[CLIENTS];
	pthread_t th[CLIENTS];
	atomic_bool stop;
	char url[128], cmd[128];
	const char *args[] = {"--store", url, NULL};
	const struct timespec tick = {0, 5 * 1000000L};
	long long t0;
	size_t acked_n = 0, unsure_n = 0, n_unsure = 0, n_acked = 0;
	unsigned full = 0, found = 0, matches = 0;
	struct stats got;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gg_burst_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(url, sizeof(url), "sqlite:%s/s.db", tmpdir);
	http_start(&s, args);
	atomic_init(&stop, false);
	for (int t = 0; t < CLIENTS; t++) {
		c[t].s = &s;
		c[t].t = t;
		atomic_init(&c[t].acked, 0);
		c[t].unsure = -1;
		c[t].bad_status = 0;
		c[t].stop = &stop;
		ck_assert_int_eq(pthread_create(&th[t], NULL, client_main, &c[t]),
				 0);
	}
	/* kill somewhere in 0.5..1 s (varies with the pid), later only if
	 * a slow (sanitized) build has not acknowledged enough yet */
	t0 = now_ms();
	while (now_ms() - t0 < BURST_MAX_MS &&
	       (now_ms() - t0 < BURST_MIN_MS + getpid() % 500 ||
		!enough_acked(c)))
		nanosleep(&tick, NULL);
	gg_server_kill(&s);
	atomic_store(&stop, true);
	for (int t = 0; t < CLIENTS; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < CLIENTS; t++) {
		ck_assert_msg(c[t].bad_status == 0, "client %d: status %ld", t,
			      c[t].bad_status);
		ck_assert_msg(c[t].acked > 0, "client %d: nothing acknowledged "
			      "in %lld ms", t, now_ms() - t0);
		n_acked += (size_t)c[t].acked;
		acked_n += (size_t)c[t].acked * batch_rows(t);
		if (c[t].unsure >= 0) {
			full |= 1u << t;
			n_unsure++;
			unsure_n += batch_rows(t);
		}
	}

	http_start(&s, args);
	got = stored(&s);
	ck_assert_msg(got.n >= acked_n && got.n <= acked_n + unsure_n,
		      "n_samples_seen %zu, acknowledged %zu, in flight %zu",
		      got.n, acked_n, unsure_n);
	/* every subset of the batches in flight that could have landed */
	for (unsigned mask = 0; mask <= full; mask++) {
		struct stats want;

		if ((mask & ~full) != 0)
			continue;
		want = reference(c, mask);
		if (stats_match(&want, &got)) {
			if (!matches++)
				found = mask;
		}
	}
	ck_assert_msg(matches > 0, "no subset of the %zu batches in flight "
		      "explains n_samples_seen %zu (acknowledged %zu) and the "
		      "mean/var", n_unsure, got.n, acked_n);
	fprintf(stderr, "crash_burst: %zu batches acknowledged (%zu samples), "
		"%zu in flight at the kill, landed: mask 0x%02x (%u matching "
		"subsets)\n", n_acked, acked_n, n_unsure, found, matches);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *crash_burst_suite(void)
{
	Suite *s = suite_create("crash_burst");
	TCase *tc = tcase_create("durability");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, crash_burst_keeps_every_acknowledged_update);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(crash_burst_suite());
}
