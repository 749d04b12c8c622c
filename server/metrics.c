/* Prometheus counters and histograms; see metrics.h. */
#include "metrics.h"

#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/store.h"
#include "version.h"

#define MAX_LABELS 32   /* distinct route patterns + "unmatched" */

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OTHER",
};
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

static const unsigned statuses[] = {
	200, 201, 204, 400, 401, 404, 405, 408, 413, 415, 422, 429,
	500, 502, 503, 504, 0 /* any other */
};
#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0]))

/* Upper bounds in seconds; +Inf is implicit. */
static const double buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10, 30, 60,
};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct metrics {
	const char *labels[MAX_LABELS];   /* route patterns */
	size_t n_labels;
	int *label_of_row;                /* table row -> label */
	size_t n_rows;
	_Atomic uint64_t requests[MAX_LABELS][N_METHODS][N_STATUSES];
	_Atomic uint64_t hist[MAX_LABELS][N_BUCKETS + 1];
	_Atomic uint64_t hist_sum_ns[MAX_LABELS];
	_Atomic long in_flight;
	_Atomic uint64_t evaluations;
	_Atomic uint64_t rejected[METRICS_REJECT_COUNT_];
};

struct metrics *metrics_new(const struct route *table, size_t n)
{
	struct metrics *m = gg_calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->label_of_row = gg_calloc(n ? n : 1, sizeof(int));
	if (!m->label_of_row) {
		gg_free(m);
		return NULL;
	}
	m->n_rows = n;
	m->labels[m->n_labels++] = "unmatched";
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 1; j < m->n_labels; j++)
			if (!strcmp(m->labels[j], table[i].pattern))
				break;
		if (j == m->n_labels && m->n_labels < MAX_LABELS)
			m->labels[m->n_labels++] = table[i].pattern;
		m->label_of_row[i] = j < m->n_labels ? (int)j : 0;
	}
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	gg_free(m->label_of_row);
	gg_free(m);
}

static size_t method_index(const char *method)
{
	for (size_t i = 0; i + 1 < N_METHODS; i++)
		if (!strcmp(methods[i], method))
			return i;
	return N_METHODS - 1;
}

static size_t status_index(unsigned status)
{
	for (size_t i = 0; i + 1 < N_STATUSES; i++)
		if (statuses[i] == status)
			return i;
	return N_STATUSES - 1;
}

void metrics_observe(struct metrics *m, int row, const char *method,
		     unsigned status, uint64_t duration_ns)
{
	size_t label = 0, b = 0;
	double sec = (double)duration_ns / 1e9;

	if (row >= 0 && (size_t)row < m->n_rows)
		label = (size_t)m->label_of_row[row];
	atomic_fetch_add_explicit(
		&m->requests[label][method_index(method)][status_index(status)],
		1, memory_order_relaxed);
	while (b < N_BUCKETS && sec > buckets[b])
		b++;
	atomic_fetch_add_explicit(&m->hist[label][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->hist_sum_ns[label], duration_ns,
				  memory_order_relaxed);
}

void metrics_in_flight_add(struct metrics *m, long delta)
{
	atomic_fetch_add_explicit(&m->in_flight, delta, memory_order_relaxed);
}

long metrics_in_flight(const struct metrics *m)
{
	return atomic_load_explicit(&m->in_flight, memory_order_relaxed);
}

void metrics_add_evaluations(struct metrics *m, uint64_t n)
{
	atomic_fetch_add_explicit(&m->evaluations, n, memory_order_relaxed);
}

void metrics_reject(struct metrics *m, enum metrics_reject why)
{
	if ((unsigned)why < METRICS_REJECT_COUNT_)
		atomic_fetch_add_explicit(&m->rejected[why], 1,
					  memory_order_relaxed);
}

static uint64_t load(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static void write_requests(const struct metrics *m, struct buf *b)
{
	buf_puts(b, "# HELP gradguard_http_requests_total HTTP requests "
		 "answered, by route pattern, method and status.\n"
		 "# TYPE gradguard_http_requests_total counter\n");
	for (size_t l = 0; l < m->n_labels; l++)
		for (size_t k = 0; k < N_METHODS; k++)
			for (size_t s = 0; s < N_STATUSES; s++) {
				uint64_t v = load(&m->requests[l][k][s]);

				if (!v)
					continue;
				buf_printf(b, "gradguard_http_requests_total"
					   "{route=\"%s\",method=\"%s\","
					   "status=\"%u\"} %llu\n",
					   m->labels[l], methods[k],
					   statuses[s], (unsigned long long)v);
			}
}

static void write_histograms(const struct metrics *m, struct buf *b)
{
	buf_puts(b, "# HELP gradguard_http_request_duration_seconds Time "
		 "from request headers to response completion.\n"
		 "# TYPE gradguard_http_request_duration_seconds histogram\n");
	for (size_t l = 0; l < m->n_labels; l++) {
		uint64_t cum = 0;

		for (size_t i = 0; i <= N_BUCKETS; i++)
			cum += load(&m->hist[l][i]);
		if (!cum)
			continue;
		cum = 0;
		for (size_t i = 0; i <= N_BUCKETS; i++) {
			cum += load(&m->hist[l][i]);
			if (i < N_BUCKETS)
				buf_printf(b, "gradguard_http_request_duration"
					   "_seconds_bucket{route=\"%s\","
					   "le=\"%g\"} %llu\n", m->labels[l],
					   buckets[i],
					   (unsigned long long)cum);
			else
				buf_printf(b, "gradguard_http_request_duration"
					   "_seconds_bucket{route=\"%s\","
					   "le=\"+Inf\"} %llu\n", m->labels[l],
					   (unsigned long long)cum);
		}
		buf_printf(b, "gradguard_http_request_duration_seconds_sum"
			   "{route=\"%s\"} %.9f\n", m->labels[l],
			   (double)load(&m->hist_sum_ns[l]) / 1e9);
		buf_printf(b, "gradguard_http_request_duration_seconds_count"
			   "{route=\"%s\"} %llu\n", m->labels[l],
			   (unsigned long long)cum);
	}
}

void metrics_write(const struct metrics *m, struct buf *b, long sessions)
{
	write_requests(m, b);
	write_histograms(m, b);
	buf_printf(b, "# HELP gradguard_http_requests_in_flight Requests "
		   "being served.\n"
		   "# TYPE gradguard_http_requests_in_flight gauge\n"
		   "gradguard_http_requests_in_flight %ld\n",
		   metrics_in_flight(m));
	buf_printf(b, "# HELP gradguard_gradcheck_evaluations_total Cost "
		   "evaluations spent by gradient checks.\n"
		   "# TYPE gradguard_gradcheck_evaluations_total counter\n"
		   "gradguard_gradcheck_evaluations_total %llu\n",
		   (unsigned long long)load(&m->evaluations));
	buf_printf(b, "# HELP gradguard_rejected_total Requests refused "
		   "before any work, by reason.\n"
		   "# TYPE gradguard_rejected_total counter\n"
		   "gradguard_rejected_total{reason=\"overloaded\"} %llu\n"
		   "gradguard_rejected_total{reason=\"unauthorized\"} %llu\n",
		   (unsigned long long)load(
			   &m->rejected[METRICS_REJECT_OVERLOADED]),
		   (unsigned long long)load(
			   &m->rejected[METRICS_REJECT_UNAUTHORIZED]));
	if (sessions >= 0)
		buf_printf(b, "# HELP gradguard_sessions Sessions in the "
			   "store.\n# TYPE gradguard_sessions gauge\n"
			   "gradguard_sessions %ld\n", sessions);
	buf_puts(b, "# HELP gradguard_build_info Build information.\n"
		 "# TYPE gradguard_build_info gauge\n"
		 "gradguard_build_info{version=\"" GRADGUARD_VERSION "\"} 1\n");
}

void metrics_write_queue(struct buf *b, size_t depth, size_t capacity,
			 size_t busy, size_t workers)
{
	buf_printf(b, "# HELP gradguard_queue_depth Jobs waiting for a "
		   "compute worker.\n"
		   "# TYPE gradguard_queue_depth gauge\n"
		   "gradguard_queue_depth %zu\n"
		   "# HELP gradguard_queue_capacity Jobs that may wait before "
		   "requests get 429.\n"
		   "# TYPE gradguard_queue_capacity gauge\n"
		   "gradguard_queue_capacity %zu\n"
		   "# HELP gradguard_workers_busy Compute workers running a "
		   "job.\n"
		   "# TYPE gradguard_workers_busy gauge\n"
		   "gradguard_workers_busy %zu\n"
		   "# HELP gradguard_workers Compute workers.\n"
		   "# TYPE gradguard_workers gauge\n"
		   "gradguard_workers %zu\n", depth, capacity, busy, workers);
}

/* A histogram of n buckets whose upper bounds are 1, f, f^2, ... and +Inf;
 * counts are per bucket (made cumulative here). */
static void write_hist(struct buf *b, const char *name, const char *help,
		       const uint64_t *counts, size_t n, unsigned f,
		       uint64_t sum)
{
	uint64_t cum = 0, le = 1;

	buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help,
		   name);
	for (size_t i = 0; i < n; i++, le *= f) {
		cum += counts[i];
		if (i + 1 < n)
			buf_printf(b, "%s_bucket{le=\"%llu\"} %llu\n", name,
				   (unsigned long long)le,
				   (unsigned long long)cum);
		else
			buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
				   (unsigned long long)cum);
	}
	buf_printf(b, "%s_sum %llu\n%s_count %llu\n", name,
		   (unsigned long long)sum, name, (unsigned long long)cum);
}

void metrics_write_store(struct buf *b, const struct store_stats *st)
{
	if (st->has_tenants) {
		buf_printf(b, "# HELP gradguard_session_tenants Tenants "
			   "holding sessions.\n# TYPE gradguard_session_tenants "
			   "gauge\ngradguard_session_tenants %zu\n",
			   st->tenants);
		write_hist(b, "gradguard_tenant_sessions",
			   "Tenants by the sessions each holds.",
			   st->tenant_hist, STORE_TENANT_BUCKETS, 10,
			   st->sessions);
	}
	buf_printf(b, "# HELP gradguard_sessions_expired_total Sessions found "
		   "past their lifetime by a request.\n"
		   "# TYPE gradguard_sessions_expired_total counter\n"
		   "gradguard_sessions_expired_total %llu\n"
		   "# HELP gradguard_sessions_purged_total Expired sessions "
		   "removed by the store.\n"
		   "# TYPE gradguard_sessions_purged_total counter\n"
		   "gradguard_sessions_purged_total %llu\n",
		   (unsigned long long)st->expired,
		   (unsigned long long)st->purged);
	if (st->has_batches)
		write_hist(b, "gradguard_store_commit_batch_size",
			   "Writes committed together in one transaction.",
			   st->batch_hist, STORE_BATCH_BUCKETS, 2,
			   st->batch_writes);
}
