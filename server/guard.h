/* Slow-client guard: libmicrohttpd 0.9.75 only cuts connections that are
 * silent for the connection time-out, so a client trickling one header
 * byte at a time, or a body at a few bytes a second, would hold its
 * connection forever. The guard tracks every connection from accept to
 * close (MHD_OPTION_NOTIFY_CONNECTION) and a housekeeping thread cuts
 * (shutdown(2) on its socket; MHD then sees the end of the stream and
 * closes it) a connection whose request headers are not complete within
 * the header time-out, counted from the accept or from the end of the
 * previous request on that connection, or whose body arrives at less than
 * the minimum rate on average once the grace period after its headers has
 * passed. Requests being worked on or answered are never cut by it.
 *
 * Safety: a connection's entry is removed in MHD's CLOSED notification,
 * which MHD 0.9.75 makes before it closes the socket, and the thread calls
 * shutdown only while holding the lock that removal takes, so the socket
 * it shuts is always the connection's own. */
#ifndef GRADGUARD_GUARD_H
#define GRADGUARD_GUARD_H

#include <stdint.h>

struct guard;
struct guard_conn;

/* header_ms: limit for a request's headers (0: no limit); min_rate: body
 * bytes per second (0: no minimum) after grace_ms. Returns 0 and *out or
 * -1. */
int guard_start(uint32_t header_ms, uint64_t min_rate, uint32_t grace_ms,
		struct guard **out);
/* Stops the thread and frees (every connection must be gone; NULL ok). */
void guard_stop(struct guard *g);

/* A new connection on socket fd: its entry (the socket context), or NULL
 * when out of memory (the connection is then not guarded). */
struct guard_conn *guard_open(struct guard *g, int fd);
/* The connection is closing: removes and frees its entry (NULL ok). */
void guard_close(struct guard *g, struct guard_conn *c);
/* A request's headers are complete; its body (if any) follows. */
void guard_headers_done(struct guard *g, struct guard_conn *c);
/* n more body bytes arrived. */
void guard_body(struct guard *g, struct guard_conn *c, uint64_t n);
/* The whole body is here: the request is being worked on or answered. */
void guard_body_done(struct guard *g, struct guard_conn *c);
/* The request ended; the connection waits for the next one's headers. */
void guard_request_done(struct guard *g, struct guard_conn *c);

/* Connections cut so far for slow headers and for a slow body. */
void guard_cuts(struct guard *g, uint64_t *headers, uint64_t *bodies);

#endif
