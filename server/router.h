/* Routes are data: a table of {method, path pattern, handler, flags} and a
 * matcher that turns (method, path) into a row, a 404, or a 405 with the
 * Allow list. */
#ifndef GRADGUARD_ROUTER_H
#define GRADGUARD_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "handlers/handler.h"

enum route_flags {
	ROUTE_OFFLOAD = 1u,   /* runs on the worker pool, not the poll thread */
	ROUTE_JSON = 2u,      /* needs an application/json body */
	ROUTE_PUBLIC = 4u,    /* answered without an API key (auth.h) */
	ROUTE_LIGHT = 8u,     /* with OFFLOAD: short store work, own small pool
	                       * (never behind gradient checks, never 429
	                       * because the compute queue is full) */
	ROUTE_LIGHT_SMALL = 16u, /* with OFFLOAD: like LIGHT while the body is
	                          * at most SERVER_LIGHT_BODY bytes (linear
	                          * work on small data), else the compute pool */
	ROUTE_NPZ_OUT = 32u,  /* also answers Accept: application/x-npz */
	ROUTE_NPY_OUT = 64u,  /* also answers Accept: application/x-npy */
};

struct route {
	const char *method;   /* "GET", "POST", ... */
	const char *pattern;  /* "/sessions/{id}" */
	handler_fn *fn;
	unsigned flags;
};

#define ROUTER_PARAM_MAX 256
#define ROUTER_ALLOW_MAX 128

struct route_match {
	unsigned status;        /* 200 (row found), 404 or 405 */
	int row;                /* the matched row, or -1 */
	int path_row;           /* first row whose pattern matched, or -1 */
	char param[ROUTER_PARAM_MAX];   /* the {…} segment, "" if none */
	char allow[ROUTER_ALLOW_MAX];   /* 405: "GET, HEAD, PUT" */
};

/* Looks (method, path) up in table[0..n). path is the decoded URL path
 * without the query string. Paths match exactly (a trailing slash is
 * another path); a "{name}" segment matches one non-empty segment, copied
 * to m->param; HEAD is served by GET rows. Never fails: m->status says
 * what was found. */
void router_match(const struct route *table, size_t n, const char *method,
		  const char *path, struct route_match *m);

/* True for "application/json" with optional parameters ("; charset=…"),
 * case-insensitive, surrounding blanks allowed. NULL is false. */
bool router_is_json_type(const char *content_type);

/* Decodes %XX escapes of s in place, except %00, which stays three
 * characters (a NUL would end the C string early: "/sessions/a%00b" must
 * not reach a handler as "/sessions/a"). Returns the new length. */
size_t router_unescape(char *s);

#endif
