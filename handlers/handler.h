/* The handler interface: every endpoint is one function of this signature.
 * A handler gets the parsed body and a context, and fills a response: a JSON
 * body written into res->body, or a problem. It never sees HTTP plumbing, so
 * it is testable without sockets (tests/handlers/). */
#ifndef GRADGUARD_HANDLER_H
#define GRADGUARD_HANDLER_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "buf.h"
#include "limits.h"
#include "problem.h"

struct store;

struct hctx {
	const struct limits *limits;
	struct store *store;      /* session store; NULL for stateless tests */
	const char *param;        /* path parameter ({id}), else NULL */
	const char *tenant;       /* session namespace ("" without auth) */
	const char *ttl_arg;      /* the URL's ?ttl= value, else NULL */
	uint64_t deadline_ns;     /* CLOCK_MONOTONIC; 0: none */
	void *server;             /* opaque, for server-side routes only */
	/* statistics the handler reports back (metrics) */
	uint64_t evaluations;     /* cost evaluations spent (gradcheck) */
	const char *oracle_allow; /* --oracle-allow text; NULL: loopback only */
};

struct hres {
	unsigned status;          /* set by the handler on success (200/204) */
	struct buf body;          /* JSON text of a success response */
	struct problem problem;   /* set instead on failure */
	const char *content_type; /* NULL: application/json */
	char location[160];       /* optional Location header, "" if none */
	/* extra headers of a success response: "Name", "value", ..., NULL;
	 * static storage (server/ui.c: Cache-Control, CSP); NULL: none */
	const char *const *headers;
};

/* body is NULL for methods without one (GET, DELETE). */
typedef void handler_fn(struct hctx *ctx, const cJSON *body, struct hres *res);

/* Prepares res (status 200, empty body capped at max_response). */
void hres_init(struct hres *res, size_t max_response);
void hres_free(struct hres *res);

/* Sets res's problem after res->body failed: 503 out-of-memory when an
 * allocation failed, else 413 (the body passed max_response). */
void hres_body_failed(struct hres *res);

/* Current CLOCK_MONOTONIC time in nanoseconds. */
uint64_t clock_now_ns(void);
/* True once ctx's deadline has passed. */
bool hctx_expired(const struct hctx *ctx);

/* The endpoints (one file each under handlers/). */
handler_fn handle_normalize;
handler_fn handle_session_get;
handler_fn handle_session_put;
handler_fn handle_session_delete;
handler_fn handle_init;
handler_fn handle_gradcheck;

#endif
