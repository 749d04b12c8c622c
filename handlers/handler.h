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
#include "json.h"
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

/* A response produced as the client reads it: step() appends the next
 * bounded piece (a few rows, at most a few hundred KiB) to out and returns
 * 1 while more follows, 0 after the last piece, -1 when it failed (out's
 * failed flag says why). The release callback frees state on every path:
 * the end of the response, a client hang-up, or a response never sent. */
struct hstream {
	int (*step)(void *state, struct buf *out);
	void (*free)(void *state);
	void *state;
};

struct hres {
	unsigned status;          /* set by the handler on success (200/204) */
	enum jw_format format;    /* set by the server from Accept (json.h) */
	struct buf body;          /* the body of a success response, or: */
	struct hstream stream;    /* step != NULL: the body is streamed */
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

/* Hands a producer to res. A response whose size estimate is at most
 * HRES_STREAM_MIN bytes is produced into res->body at once (its errors
 * become problems), a bigger one is left in res->stream for the server.
 * On failure the state is freed and a problem set. Returns 0 or -1. */
#define HRES_STREAM_MIN (1024u * 1024u)
int hres_stream(struct hres *res, const struct hstream *s, size_t estimate);
/* Produces all of res->stream into res->body (tests; small responses).
 * Returns 0, or -1 with the problem set. */
int hres_drain(struct hres *res);

/* A streamed response read in pieces (the server's content callback). */
struct hpump {
	struct hstream s;
	struct buf win;     /* produced, not yet read: win.data[pos..len) */
	size_t pos;
	bool done;
	size_t sent;        /* bytes handed out so far */
};

/* Takes res->stream over (res->stream is empty afterwards). */
void hpump_init(struct hpump *p, struct hres *res);
/* Copies up to max bytes of the response to out. Returns the count, 0 at
 * the end, -1 when the producer failed. */
long hpump_read(struct hpump *p, char *out, size_t max);
void hpump_free(struct hpump *p);

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
