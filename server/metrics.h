/* Prometheus metrics (text format 0.0.4) kept in lock-free _Atomic arrays:
 * requests by route pattern x method x status, latency histograms per
 * route, requests in flight, gradient-check evaluations. */
#ifndef GRADGUARD_METRICS_H
#define GRADGUARD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "handlers/buf.h"
#include "router.h"

struct metrics;

/* One label per distinct pattern of table[0..n), plus "unmatched".
 * Returns NULL when out of memory. The table must outlive the metrics. */
struct metrics *metrics_new(const struct route *table, size_t n);
void metrics_free(struct metrics *m);

/* Counts one finished request: row of the table (-1: no route matched),
 * the request method, the status sent and the time taken. */
void metrics_observe(struct metrics *m, int row, const char *method,
		     unsigned status, uint64_t duration_ns);
void metrics_in_flight_add(struct metrics *m, long delta);
long metrics_in_flight(const struct metrics *m);
void metrics_add_evaluations(struct metrics *m, uint64_t n);

/* Requests refused before any work: gradguard_rejected_total{reason}. */
enum metrics_reject {
	METRICS_REJECT_OVERLOADED = 0,   /* 429: the work queue is full */
	METRICS_REJECT_UNAUTHORIZED,     /* 401: missing or invalid API key */
	METRICS_REJECT_COUNT_
};
void metrics_reject(struct metrics *m, enum metrics_reject why);
/* Writes the admission gauges, read at scrape time: gradguard_queue_depth
 * (jobs waiting for a worker), gradguard_queue_capacity, and
 * gradguard_workers_busy of gradguard_workers. */
void metrics_write_queue(struct buf *b, size_t depth, size_t capacity,
			 size_t busy, size_t workers);

/* Writes the exposition; sessions < 0 leaves the sessions gauge out. */
void metrics_write(const struct metrics *m, struct buf *b, long sessions);

struct store_stats;
/* Writes what the session store reports: gradguard_session_tenants,
 * the histogram gradguard_tenant_sessions (tenants by the sessions each
 * holds: bounded, whatever the number of tenants),
 * gradguard_sessions_expired_total, gradguard_sessions_purged_total and
 * the histogram gradguard_store_commit_batch_size (sqlite). */
void metrics_write_store(struct buf *b, const struct store_stats *st);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
