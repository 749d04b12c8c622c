/* The libmicrohttpd daemon: one struct req per request from the first
 * access-handler call to MHD's completion callback; see server.h. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/alloc.h"
#include "handlers/json.h"
#include "handlers/request.h"
#include "accept.h"
#include "auth.h"
#include "guard.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "routes.h"
#include "workers.h"

/* Connections open at once, over all polling threads. */
#define SERVER_CONN_LIMIT 1024u
/* MHD's per-connection pool: request headers and the read buffer. */
#define SERVER_CONN_MEMORY (64u * 1024u)
/* Body bytes read and dropped after max_body before the connection is
 * closed without an answer (a client that ignores limits). */
#define SERVER_DISCARD_MAX (64u * 1024u * 1024u)
/* Threads of the pool for ROUTE_LIGHT routes (short store operations), so
 * that they never wait behind gradient checks in the compute queue. */
#define SERVER_LIGHT_WORKERS 2u
/* A ROUTE_LIGHT_SMALL body up to this size is light work: /normalize of a
 * few thousand numbers takes microseconds and must not queue behind
 * gradient checks (bench/overload); /init also asks its row's light test
 * (a small network, server/routes.c). */
#define SERVER_LIGHT_BODY (64u * 1024u)
/* The compute pool runs this much nicer than the rest of the daemon: when
 * the cores are all busy with gradient checks, the polling threads and the
 * light pool still get them at once (light work never waits for heavy
 * work, for CPU as for a queue slot). */
#define SERVER_COMPUTE_NICE 5
/* With --header-timeout 0, the grace a body has before --min-body-rate
 * applies. */
#define SERVER_BODY_GRACE_S 10u
/* A client's X-Request-Id is kept only when it is 1..REQUEST_ID_MAX bytes
 * of [A-Za-z0-9._:-] (nothing that could forge a log field or a header);
 * any other is replaced by our own. */
#define REQUEST_ID_MAX 64
/* Query-string parameters a binary body may carry (its scalar fields). */
#define SERVER_MAX_PARAMS 64
/* Preferred piece size of a streamed response (MHD takes it from the
 * connection's memory pool, SERVER_CONN_MEMORY). */
#define SERVER_STREAM_BLOCK (16u * 1024u)

enum req_state { REQ_READING, REQ_WORKING, REQ_DONE, REQ_SENT };

struct req {
	struct server *srv;
	struct MHD_Connection *conn;
	uint64_t t0;                   /* CLOCK_MONOTONIC ns, first call */
	const struct route *route;     /* NULL: 404/405 */
	struct route_match match;
	char tenant[AUTH_TENANT_LEN]; /* "" without auth */
	const char *ttl_arg;           /* ?ttl=, in MHD's connection memory */
	enum auth_result auth;        /* why a 401 was sent */
	char method[8];                /* for metrics and the log */
	char id[REQUEST_ID_MAX + 1];
	struct buf body;               /* capped at max_body */
	cJSON *json;                   /* the body, parsed early (req_light) */
	int media;                     /* enum request_media of the body */
	struct buf query;              /* binary bodies: "key\0value\0"... */
	size_t n_params;
	bool too_many_params;
	bool overflow;                 /* body passed max_body */
	bool close;                    /* answer with Connection: close */
	struct guard_conn *gc;         /* the connection's guard entry */
	uint64_t reserved;             /* body bytes held against max_memory */
	size_t discarded;              /* bytes dropped after the overflow */
	_Atomic int state;             /* enum req_state */
	struct hres res;
	unsigned status;               /* sent; 0 until queued */
	size_t bytes;
	uint64_t evaluations;
};

static const char *const known_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
};

static bool request_id_sane(const char *s)
{
	size_t n;

	if (!s || !*s)
		return false;
	for (n = 0; s[n]; n++)
		if (n >= REQUEST_ID_MAX ||
		    !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		      (s[n] >= '0' && s[n] <= '9') || strchr("._:-", s[n])))
			return false;
	return true;
}

/* 16 hex digits from getrandom, or from a counter and the clock. */
static void request_id_new(struct server *s, char *out, size_t n)
{
	unsigned char r[8];
	uint64_t v;

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		v = atomic_fetch_add(&s->id_seq, 1) * 0x9e3779b97f4a7c15u ^
		    clock_now_ns();
		memcpy(r, &v, sizeof(r));
	}
	snprintf(out, n, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7]);
}

/* Reserves n more body bytes for r against the memory budget. Returns 0,
 * or -1 (nothing reserved) when the budget would be exceeded. */
static int req_reserve(struct req *r, uint64_t n)
{
	struct server *s = r->srv;
	uint64_t held = atomic_load(&s->body_held);

	do {
		if (n > s->cfg->max_memory || held > s->cfg->max_memory - n)
			return -1;
	} while (!atomic_compare_exchange_weak(&s->body_held, &held,
					       held + n));
	r->reserved += n;
	return 0;
}

/* The 503 for a body the budget has no room for; the connection closes
 * (the body is not read, or read only to be dropped). */
static void req_no_memory(struct req *r, uint64_t want)
{
	r->close = true;
	problem_set(&r->res.problem, PROB_OUT_OF_MEMORY,
		    "the memory for request bodies (--max-memory %zu bytes) "
		    "has no room for %llu more bytes now; retry later",
		    r->srv->cfg->max_memory, (unsigned long long)want);
}

static void req_free(struct req *r)
{
	if (!r)
		return;
	atomic_fetch_sub(&r->srv->body_held, r->reserved);
	buf_free(&r->body);
	cJSON_Delete(r->json);
	buf_free(&r->query);
	hres_free(&r->res);
	gg_free(r);
}

static struct req *req_new(struct server *s, struct MHD_Connection *conn,
			   const char *method)
{
	struct req *r = gg_calloc(1, sizeof(*r));
	const char *id;

	if (!r)
		return NULL;
	r->srv = s;
	r->conn = conn;
	r->t0 = clock_now_ns();
	snprintf(r->method, sizeof(r->method), "OTHER");
	for (size_t i = 0; i < sizeof(known_methods) / sizeof(*known_methods);
	     i++)
		if (!strcmp(method, known_methods[i]))
			snprintf(r->method, sizeof(r->method), "%s", method);
	id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 "X-Request-Id");
	if (request_id_sane(id))
		snprintf(r->id, sizeof(r->id), "%s", id);
	else
		request_id_new(s, r->id, sizeof(r->id));
	buf_init(&r->body, s->cfg->limits.max_body);
	buf_init(&r->query, SERVER_CONN_MEMORY);
	hres_init(&r->res, s->cfg->limits.max_response);
	atomic_init(&r->state, REQ_READING);
	return r;
}

/* MHD's content callback of a streamed response: the next piece. */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	long n = hpump_read(cls, out, max);

	(void)pos;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return (ssize_t)n;
}

/* Called by MHD when the response is done with: after the last byte, on a
 * client hang-up, or at shutdown. */
static void stream_free(void *cls)
{
	hpump_free(cls);
	gg_free(cls);
}

/* A response produced as the client reads it (res.stream). */
static struct MHD_Response *stream_response(struct req *r)
{
	struct hpump *pump = gg_malloc(sizeof(*pump));
	struct MHD_Response *resp;

	if (!pump)
		return NULL;
	hpump_init(pump, &r->res);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
						 SERVER_STREAM_BLOCK,
						 stream_read, pump,
						 stream_free);
	if (!resp)
		stream_free(pump);
	return resp;
}

/* Queues the response: res.body, res.stream, or the problem as
 * problem+json. MHD_NO only when MHD refuses (no memory, or a state where
 * no response may be queued yet). */
static enum MHD_Result req_send(struct req *r)
{
	struct MHD_Response *resp;
	struct buf out;
	const char *ctype;
	unsigned status;
	char *data = NULL;
	size_t len = 0;
	bool streamed = false;
	enum MHD_Result ret;

	buf_init(&out, 0);
	if (!problem_is_set(&r->res.problem) && r->res.body.failed)
		hres_body_failed(&r->res);
	if (problem_is_set(&r->res.problem)) {
		status = problem_status(r->res.problem.kind);
		reply_problem(&out, &r->res.problem, r->id);
		ctype = REPLY_PROBLEM_TYPE;
		data = buf_detach(&out, &len);
	} else {
		status = r->res.status ? r->res.status : 200;
		ctype = r->res.content_type ? r->res.content_type
					    : accept_media_type(r->res.format);
		streamed = r->res.stream.step != NULL;
		if (!streamed)
			data = buf_detach(&r->res.body, &len);
	}
	if (streamed) {
		resp = stream_response(r);
	} else if (status == 204 || !data) {
		gg_free(data);
		data = NULL;
		len = 0;
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(len, data,
						       MHD_RESPMEM_MUST_FREE);
	}
	if (!resp) {
		gg_free(data);
		return MHD_NO;
	}
	if (status != 204)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					ctype);
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	if (r->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	if (status == 405 && r->match.allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					r->match.allow);
	if (status == 429 || (problem_is_set(&r->res.problem) &&
			      r->res.problem.kind == PROB_OUT_OF_MEMORY))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					r->auth == AUTH_INVALID
					? "Bearer realm=\"gradguard\", "
					  "error=\"invalid_token\""
					: "Bearer realm=\"gradguard\"");
	if (r->res.location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
					r->res.location);
	if (!problem_is_set(&r->res.problem) && r->res.headers)
		for (const char *const *h = r->res.headers; h[0] && h[1];
		     h += 2)
			MHD_add_response_header(resp, h[0], h[1]);
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES) {
		r->status = status;
		r->bytes = len;
		atomic_store(&r->state, REQ_SENT);
	}
	return ret;
}

static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return router_unescape(s);
}

/* Turns the body (JSON, .npy or .npz with the query's scalar fields) into
 * the request tree the handlers read (handlers/request.h). Returns 0, or
 * -1 with the problem set. */
static int req_parse_body(struct req *r, cJSON **out)
{
	struct request_param params[SERVER_MAX_PARAMS];
	const char *q = r->query.data;

	for (size_t k = 0; k < r->n_params; k++) {
		params[k].key = q;
		q += strlen(q) + 1;
		params[k].value = *q == '\1' ? NULL : q;
		q += strlen(q) + 1;
	}
	return request_parse(r->media, r->body.data ? r->body.data : "",
			     r->body.len, params, r->n_params,
			     r->route->fn == handle_gradcheck ?
			     REQUEST_MODEL_FIELDS : 0, &r->srv->cfg->limits,
			     out, &r->res.problem);
}

/* Runs the route's handler (poll thread for inline routes, else a worker):
 * parses the body for JSON routes, then calls the handler with a context. */
static void req_run(struct req *r)
{
	const struct server *s = r->srv;
	struct hctx ctx;
	cJSON *body = NULL;

	memset(&ctx, 0, sizeof(ctx));
	ctx.limits = &s->cfg->limits;
	ctx.store = s->store;
	ctx.param = r->match.param[0] ? r->match.param : NULL;
	ctx.tenant = r->tenant;
	ctx.ttl_arg = r->ttl_arg;
	ctx.deadline_ns = r->t0 +
			  (uint64_t)s->cfg->limits.deadline_ms * 1000000u;
	ctx.server = r->srv;
	ctx.oracle_allow = s->cfg->oracle_allow[0] ? s->cfg->oracle_allow : NULL;
	if (r->route->flags & ROUTE_JSON) {
		body = r->json;
		r->json = NULL;
		if (!body && req_parse_body(r, &body))
			goto out;
		buf_free(&r->body);
	}
	if (hctx_expired(&ctx)) {
		problem_set(&r->res.problem, PROB_DEADLINE,
			    "the deadline of %u ms passed before the request "
			    "was started", s->cfg->limits.deadline_ms);
		goto out;
	}
	r->route->fn(&ctx, body, &r->res);
	r->evaluations = ctx.evaluations;
out:
	cJSON_Delete(body);
}

static void req_work(void *arg)
{
	struct req *r = arg;

	req_run(r);
	atomic_store(&r->state, REQ_DONE);
	MHD_resume_connection(r->conn);
}

/* With API keys configured, a route not marked ROUTE_PUBLIC (and any path
 * no route knows) needs "Authorization: Bearer KEY": fills r->tenant, or
 * sets the 401 problem and returns -1. */
static int req_authenticate(struct req *r)
{
	const struct server *s = r->srv;
	const char *h;

	if (!s->auth || (r->match.path_row >= 0 &&
			 (s->routes[r->match.path_row].flags & ROUTE_PUBLIC)))
		return 0;
	h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_AUTHORIZATION);
	r->auth = auth_check(s->auth, h, r->tenant);
	if (r->auth == AUTH_OK)
		return 0;
	metrics_reject(s->metrics, METRICS_REJECT_UNAUTHORIZED);
	if (r->auth == AUTH_MISSING)
		problem_set(&r->res.problem, PROB_UNAUTHORIZED,
			    "this route needs an API key: send "
			    "Authorization: Bearer <key>");
	else
		problem_set(&r->res.problem, PROB_UNAUTHORIZED,
			    "the API key is not valid");
	return -1;
}

/* The framing headers of a request, counted by framing_header. */
struct framing {
	unsigned n_length, n_coding;
	const char *length;            /* the first Content-Length */
	const char *coding;            /* the first Transfer-Encoding */
	bool lengths_differ;
};

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind,
				      const char *key, const char *value)
{
	struct framing *f = cls;

	(void)kind;
	value = value ? value : "";
	if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
		if (f->n_length++ == 0)
			f->length = value;
		else if (strcmp(f->length, value) != 0)
			f->lengths_differ = true;
	} else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		if (f->n_coding++ == 0)
			f->coding = value;
	}
	return MHD_YES;
}

/* Refuses the framings that two parsers may read differently (RFC 9112
 * §6.1, §6.3), before anything else, with Connection: close (the rest of
 * the connection cannot be trusted to start a new request): both
 * Content-Length and Transfer-Encoding, or Content-Lengths that disagree,
 * are 400; a transfer coding other than "chunked" alone is 501 (MHD would
 * read such a body until the client closes). Returns -1 with the problem
 * set, or 0. */
static int req_framing(struct req *r)
{
	struct framing f = {0, 0, NULL, NULL, false};

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, framing_header, &f);
	if (f.n_coding && f.n_length)
		problem_set(&r->res.problem, PROB_BAD_REQUEST,
			    "a request must not have both Content-Length and "
			    "Transfer-Encoding");
	else if (f.lengths_differ)
		problem_set(&r->res.problem, PROB_BAD_REQUEST,
			    "the request has Content-Length headers that "
			    "disagree");
	else if (f.n_coding && (f.n_coding > 1 ||
				strcasecmp(f.coding, "chunked") != 0))
		problem_set(&r->res.problem, PROB_NOT_IMPLEMENTED,
			    "the only transfer coding accepted is chunked");
	else
		return 0;
	r->close = true;
	return -1;
}

/* Keeps one query parameter of a binary body ("\1" for a missing value). */
static enum MHD_Result req_param(void *cls, enum MHD_ValueKind kind,
				 const char *key, const char *value)
{
	struct req *r = cls;

	(void)kind;
	if (r->n_params == SERVER_MAX_PARAMS) {
		r->too_many_params = true;
		return MHD_NO;
	}
	buf_append(&r->query, key, strlen(key) + 1);
	buf_append(&r->query, value ? value : "\1", strlen(value ? value : "\1") + 1);
	r->n_params++;
	return MHD_YES;
}

/* The success response's media type from Accept, or the 406 problem. */
static int req_negotiate(struct req *r)
{
	unsigned flags = r->route->flags, offered = 0;
	const char *accept;

	if (flags & ROUTE_NPZ_OUT)
		offered |= ACCEPT_NPZ;
	if (flags & ROUTE_NPY_OUT)
		offered |= ACCEPT_NPY;
	accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					     MHD_HTTP_HEADER_ACCEPT);
	if (accept_negotiate(accept, offered, &r->res.format) == 0)
		return 0;
	problem_set(&r->res.problem, PROB_NOT_ACCEPTABLE,
		    "this route answers %s%s%s (errors as "
		    "application/problem+json), not Accept: %.100s",
		    accept_media_type(JW_JSON),
		    offered & ACCEPT_NPZ ? ", application/x-npz" : "",
		    offered & ACCEPT_NPY ? ", application/x-npy" : "", accept);
	return -1;
}

/* First call: authentication, route, content type and Content-Length
 * checks. Errors found here are answered at once, before any body is
 * read. */
static enum MHD_Result req_begin(struct req *r, const char *url,
				 const char *method)
{
	const struct server *s = r->srv;
	const char *ct, *cl;
	unsigned long long len;
	char *end;

	router_match(s->routes, s->n_routes, method, url, &r->match);
	if (req_framing(r) || req_authenticate(r))
		return req_send(r);
	if (r->match.status == 404) {
		problem_set(&r->res.problem, PROB_NOT_FOUND,
			    "no route for %.200s", url);
		return req_send(r);
	}
	if (r->match.status == 405) {
		problem_set(&r->res.problem, PROB_METHOD_NOT_ALLOWED,
			    "%s is not allowed on %.200s; allowed: %s",
			    r->method, url, r->match.allow);
		return req_send(r);
	}
	r->route = &s->routes[r->match.row];
	r->ttl_arg = MHD_lookup_connection_value(r->conn,
						 MHD_GET_ARGUMENT_KIND, "ttl");
	if (!(r->route->flags & ROUTE_JSON))
		return MHD_YES;
	if (req_negotiate(r))
		return req_send(r);
	ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_TYPE);
	r->media = request_media_of(ct);
	if (r->media < 0) {
		problem_set(&r->res.problem, PROB_UNSUPPORTED_MEDIA,
			    "Content-Type must be application/json, "
			    "application/x-npy or application/x-npz, got %.100s",
			    ct ? ct : "none");
		return req_send(r);
	}
	if (r->media != REQUEST_JSON) {
		MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND,
					  req_param, r);
		if (r->too_many_params || r->query.failed) {
			problem_set(&r->res.problem, PROB_TOO_LARGE,
				    "more than %d query parameters or a query "
				    "string over %u bytes", SERVER_MAX_PARAMS,
				    SERVER_CONN_MEMORY);
			return req_send(r);
		}
	}
	cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		errno = 0;
		len = strtoull(cl, &end, 10);
		if (errno == 0 && *end == '\0' &&
		    len > s->cfg->limits.max_body) {
			problem_set(&r->res.problem, PROB_TOO_LARGE,
				    "the body of %llu bytes exceeds max_body "
				    "(%zu bytes)", len,
				    s->cfg->limits.max_body);
			return req_send(r);
		}
		/* the whole declared body is reserved before any is read */
		if (errno == 0 && *end == '\0' && req_reserve(r, len)) {
			req_no_memory(r, len);
			return req_send(r);
		}
		/* one allocation for the whole body (pages are committed as
		 * it arrives), not a doubling chain of copies */
		if (errno == 0 && *end == '\0' && len > SERVER_LIGHT_BODY)
			buf_reserve(&r->body, (size_t)len);
	}
	return MHD_YES;
}

/* A piece of the body: kept for JSON routes, up to max_body. Past it the
 * rest is read and dropped (MHD 0.9.75 only lets a response be queued
 * before or after the body) and answered 413 at its end; a client that
 * keeps sending SERVER_DISCARD_MAX more bytes is cut off (MHD_NO). */
static enum MHD_Result req_take(struct req *r, const char *data, size_t n)
{
	if (r->overflow) {
		r->discarded += n;
		return r->discarded > SERVER_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (atomic_load(&r->state) != REQ_READING || !r->route ||
	    !(r->route->flags & ROUTE_JSON))
		return MHD_YES;
	/* a chunked body reserves as it grows (a declared one did at once) */
	if (r->body.len + n > r->reserved &&
	    req_reserve(r, r->body.len + n - r->reserved)) {
		req_no_memory(r, r->body.len + n - r->reserved);
	} else if (buf_append(&r->body, data, n) == 0) {
		return MHD_YES;
	} else {
		problem_set(&r->res.problem, PROB_TOO_LARGE,
			    "the body exceeds max_body (%zu bytes)",
			    r->srv->cfg->limits.max_body);
	}
	r->overflow = true;
	buf_free(&r->body);
	r->discarded = n;
	return MHD_YES;
}

/* Whether r is light work, for the light pool. A ROUTE_LIGHT_SMALL row
 * with a light test has its (small) body parsed here, on the polling
 * thread, and kept for req_run; a body that does not parse is answered at
 * once (the problem is set). */
static bool req_light(struct req *r)
{
	const struct route *rt = r->route;
	route_light_fn *test;

	if (rt->flags & ROUTE_LIGHT)
		return true;
	if (!(rt->flags & ROUTE_LIGHT_SMALL) || r->body.len > SERVER_LIGHT_BODY)
		return false;
	test = routes_light_test(rt);
	if (!test)
		return true;
	if (req_parse_body(r, &r->json))
		return true;
	return test(r->json);
}

/* Last call (whole body here): inline routes run now, the others go to the
 * worker pool while the connection is suspended: light work (req_light)
 * to its own pool, so that it never waits behind gradient checks. */
static enum MHD_Result req_dispatch(struct req *r)
{
	struct server *s = r->srv;
	bool light;

	if (r->overflow || problem_is_set(&r->res.problem))
		return req_send(r);
	if (!(r->route->flags & ROUTE_OFFLOAD)) {
		req_run(r);
		return req_send(r);
	}
	light = req_light(r);
	if (problem_is_set(&r->res.problem))
		return req_send(r);
	atomic_store(&r->state, REQ_WORKING);
	MHD_suspend_connection(r->conn);
	if (workers_submit(light ? s->light : s->workers, req_work, r)) {
		metrics_reject(s->metrics, METRICS_REJECT_OVERLOADED);
		problem_set(&r->res.problem, PROB_OVERLOADED,
			    "all %u workers are busy and %u requests are "
			    "waiting; retry later",
			    light ? SERVER_LIGHT_WORKERS : s->cfg->workers,
			    s->cfg->queue);
		atomic_store(&r->state, REQ_DONE);
		MHD_resume_connection(r->conn);
	}
	return MHD_YES;
}

/* While stopping, new connections are closed at once. This replaces
 * MHD_quiesce_daemon, which in libmicrohttpd 0.9.75 with a thread pool and
 * epoll can race a busy polling thread removing the listen socket itself
 * and abort the process ("Failed to remove listen FD from epoll set"). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
				 socklen_t addrlen)
{
	struct server *s = cls;

	(void)addr;
	(void)addrlen;
	return atomic_load(&s->stopping) ? MHD_NO : MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct server *s = cls;
	struct req *r = *con_cls;

	(void)version;
	if (!r) {
		const union MHD_ConnectionInfo *ci;
		enum MHD_Result ret;

		r = req_new(s, conn, method);
		if (!r)
			return MHD_NO;  /* out of memory: nothing to answer */
		*con_cls = r;
		metrics_in_flight_add(s->metrics, 1);
		ci = MHD_get_connection_info(conn,
					     MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		r->gc = ci ? ci->socket_context : NULL;
		guard_headers_done(s->guard, r->gc);
		ret = req_begin(r, url, method);
		if (r->status)  /* answered at once: no body to wait for */
			guard_body_done(s->guard, r->gc);
		return ret;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		guard_body(s->guard, r->gc, n);
		return req_take(r, upload_data, n);
	}
	switch (atomic_load(&r->state)) {
	case REQ_READING:
		guard_body_done(s->guard, r->gc);
		return req_dispatch(r);
	case REQ_DONE:
		return req_send(r);
	default:
		return MHD_YES;
	}
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	struct req *r = *con_cls;
	struct access_entry e;
	uint64_t dur;
	int row;

	(void)conn;
	(void)toe;
	if (!r)
		return;
	*con_cls = NULL;
	dur = clock_now_ns() - r->t0;
	row = r->match.row >= 0 ? r->match.row : r->match.path_row;
	if (r->status)
		metrics_observe(s->metrics, row, r->method, r->status, dur);
	if (r->evaluations)
		metrics_add_evaluations(s->metrics, r->evaluations);
	e.request_id = r->id;
	e.method = r->method;
	e.route = row >= 0 ? s->routes[row].pattern : "unmatched";
	e.status = r->status;
	e.bytes = r->bytes;
	e.duration_ns = dur;
	log_access(s->cfg->log_format, &e);
	if (r->status >= 500 && problem_is_set(&r->res.problem))
		log_msg(s->cfg->log_format, "error", "request %s %s %s: %u %s: %s",
			r->id, r->method, e.route, r->status,
			problem_type(r->res.problem.kind),
			r->res.problem.detail);
	guard_request_done(s->guard, r->gc);
	req_free(r);
	metrics_in_flight_add(s->metrics, -1);
	pthread_mutex_lock(&s->idle_lock);
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->idle_lock);
}

/* Every connection is known to the guard from accept to close; CLOSED
 * comes before MHD closes the socket (see guard.h). */
static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct server *s = cls;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		guard_close(s->guard, *socket_context);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	*socket_context = ci ? guard_open(s->guard, ci->connect_fd) : NULL;
}

void server_write_limits(const struct server *s, struct buf *b)
{
	uint64_t cut_headers, cut_bodies;

	guard_cuts(s->guard, &cut_headers, &cut_bodies);
	buf_printf(b, "# HELP gradguard_body_bytes_held Bytes of request "
		   "bodies held now (reserved against --max-memory).\n"
		   "# TYPE gradguard_body_bytes_held gauge\n"
		   "gradguard_body_bytes_held %llu\n"
		   "# HELP gradguard_memory_budget_bytes --max-memory.\n"
		   "# TYPE gradguard_memory_budget_bytes gauge\n"
		   "gradguard_memory_budget_bytes %zu\n"
		   "# HELP gradguard_connections_cut_total Connections cut "
		   "for slow headers (--header-timeout) or a slow body "
		   "(--min-body-rate).\n"
		   "# TYPE gradguard_connections_cut_total counter\n"
		   "gradguard_connections_cut_total{reason=\"slow_headers\"} "
		   "%llu\n"
		   "gradguard_connections_cut_total{reason=\"slow_body\"} "
		   "%llu\n",
		   (unsigned long long)atomic_load(&s->body_held),
		   s->cfg->max_memory,
		   (unsigned long long)cut_headers,
		   (unsigned long long)cut_bodies);
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct server *s = cls;

	log_vmsg(s->cfg->log_format, "mhd", fmt, ap);
}

/* cfg->bind and port as a socket address; *v6 tells the family. */
static int server_addr(const struct config *cfg, struct sockaddr_storage *ss,
		       bool *v6)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	*v6 = false;
	if (inet_pton(AF_INET, cfg->bind, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)cfg->port);
		return 0;
	}
	if (inet_pton(AF_INET6, cfg->bind, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)cfg->port);
		*v6 = true;
		return 0;
	}
	return -1;
}

int server_start(const struct config *cfg, struct store *store,
		 struct server **out, char *err, size_t errlen)
{
	struct server *s = NULL;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	pthread_condattr_t ca;
	unsigned flags;
	bool v6;

	*out = NULL;
	if (server_addr(cfg, &ss, &v6)) {
		snprintf(err, errlen, "bad bind address '%s'", cfg->bind);
		return -1;
	}
	s = gg_calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->cfg = cfg;
	s->store = store;
	s->routes = routes_table(&s->n_routes);
	atomic_init(&s->id_seq, 0);
	pthread_mutex_init(&s->idle_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->idle, &ca);
	pthread_condattr_destroy(&ca);
	if (cfg->api_keys_file[0]) {
		if (auth_load(cfg->api_keys_file, &s->auth, err, errlen))
			goto fail;
		log_msg(cfg->log_format, "info", "%zu API keys loaded: every "
			"route but the public ones needs one",
			auth_count(s->auth));
	}
	if (guard_start(cfg->header_timeout * 1000u, cfg->min_body_rate,
			(cfg->header_timeout ? cfg->header_timeout
					     : SERVER_BODY_GRACE_S) * 1000u,
			&s->guard)) {
		snprintf(err, errlen, "cannot start the slow-client guard");
		goto fail;
	}
	s->metrics = metrics_new(s->routes, s->n_routes);
	if (!s->metrics || workers_start_niced(cfg->workers, cfg->queue,
					       SERVER_COMPUTE_NICE,
					       &s->workers) ||
	    workers_start(SERVER_LIGHT_WORKERS, cfg->queue, &s->light)) {
		snprintf(err, errlen, "cannot start %u workers", cfg->workers);
		goto fail;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	s->daemon = MHD_start_daemon(
		flags, (uint16_t)cfg->port, on_accept, s, on_access, s,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->conn_timeout,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SERVER_CONN_LIMIT,
		/* counted once for the whole thread pool; 0 is MHD's "no
		 * limit"; a connection over it is closed at accept */
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)cfg->max_conn_per_ip,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVER_CONN_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		/* a %00 stays as is: a NUL would cut the path (and a session
		 * id in it) short after validation */
		MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, s,
		/* one thread: no pool (MHD warns about a pool of 1) */
		cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
		(unsigned int)cfg->threads, MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "cannot listen on %s port %u", cfg->bind,
			 cfg->port);
		goto fail;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info && info->port ? info->port : cfg->port;
	snprintf(s->url, sizeof(s->url), v6 ? "http://[%s]:%u"
					    : "http://%s:%u", cfg->bind,
		 s->port);
	*out = s;
	return 0;
fail:
	server_stop(s, 0);
	return -1;
}

void server_stop(struct server *s, unsigned drain_ms)
{
	struct timespec until;

	if (!s)
		return;
	if (s->daemon) {
		atomic_store(&s->stopping, true);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += drain_ms / 1000;
		until.tv_nsec += (long)(drain_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&s->idle_lock);
		while (metrics_in_flight(s->metrics) > 0)
			if (pthread_cond_timedwait(&s->idle, &s->idle_lock,
						   &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&s->idle_lock);
	}
	workers_stop(s->workers);
	workers_stop(s->light);
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	guard_stop(s->guard);
	metrics_free(s->metrics);
	auth_free(s->auth);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->idle_lock);
	gg_free(s);
}
