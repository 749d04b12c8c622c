/* The HTTP daemon on libmicrohttpd: routing, capped bodies, content-type
 * and JSON checks, endpoint work handed to the worker pool (suspend and
 * resume), problem+json errors, request ids, metrics and the access log. */
#ifndef GRADGUARD_SERVER_H
#define GRADGUARD_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "router.h"

struct MHD_Daemon;
struct store;
struct workers;
struct metrics;
struct auth;
struct guard;
struct buf;

struct server {
	const struct config *cfg;     /* borrowed, read-only */
	struct store *store;          /* borrowed */
	struct workers *workers;      /* compute pool (cfg->workers, cfg->queue) */
	struct workers *light;        /* ROUTE_LIGHT routes: session reads etc. */
	struct metrics *metrics;
	struct auth *auth;            /* NULL: no API keys configured */
	struct guard *guard;          /* slow-client limits (guard.h) */
	_Atomic uint64_t body_held;   /* bytes of request bodies reserved
	                               * against cfg->max_memory */
	const struct route *routes;
	size_t n_routes;
	struct MHD_Daemon *daemon;
	unsigned port;                /* the bound port */
	char url[96];                 /* "http://127.0.0.1:PORT" */
	_Atomic uint64_t id_seq;      /* request id fallback counter */
	_Atomic bool stopping;        /* set by server_stop: refuse new
	                               * connections (accept policy) */
	pthread_mutex_t idle_lock;    /* with idle: in-flight reached 0 */
	pthread_cond_t idle;
};

/* Starts the daemon, its polling threads and the worker pool on cfg's
 * bind address and port (0: any free port, read back into port/url).
 * Returns 0 and *out, or -1 with a message in err. */
int server_start(const struct config *cfg, struct store *store,
		 struct server **out, char *err, size_t errlen);
/* Writes the gauges and counters of the connection and memory limits
 * (gradguard_body_bytes_held, gradguard_memory_budget_bytes,
 * gradguard_connections_cut_total{reason}) for GET /metrics. */
void server_write_limits(const struct server *s, struct buf *b);
/* Graceful stop: stops accepting, waits (at most drain_ms) for requests in
 * flight, then stops threads and frees. NULL is fine. */
void server_stop(struct server *s, unsigned drain_ms);

#endif
