/* RFC 9457 problem details as plain data: handlers and the JSON module fill
 * one; the server prints it with the request id as "instance".
 * Problem kinds are one X-macro table: (enum, status, type slug, title). */
#ifndef GRADGUARD_PROBLEM_H
#define GRADGUARD_PROBLEM_H

#include <stddef.h>

#define PROBLEM_KINDS(X) \
	X(PROB_NONE, 0, "about:blank", "OK") \
	X(PROB_MALFORMED_JSON, 400, "malformed-json", "Malformed JSON body") \
	X(PROB_BAD_REQUEST, 400, "bad-request", "Bad request") \
	X(PROB_MALFORMED_BODY, 400, "malformed-body", "Malformed .npy or .npz body") \
	X(PROB_UNAUTHORIZED, 401, "unauthorized", "Missing or invalid API key") \
	X(PROB_NOT_FOUND, 404, "not-found", "No such route") \
	X(PROB_SESSION_NOT_FOUND, 404, "session-not-found", "No such session") \
	X(PROB_METHOD_NOT_ALLOWED, 405, "method-not-allowed", "Method not allowed") \
	X(PROB_TOO_LARGE, 413, "limit-exceeded", "Request exceeds a configured limit") \
	X(PROB_NOT_ACCEPTABLE, 406, "not-acceptable", "No acceptable response media type") \
	X(PROB_UNSUPPORTED_MEDIA, 415, "unsupported-media-type", "Content-Type must be application/json") \
	X(PROB_INVALID, 422, "invalid-field", "Invalid field") \
	X(PROB_MISSING_FIELD, 422, "missing-field", "Required field missing") \
	X(PROB_UNKNOWN_FIELD, 422, "unknown-field", "Unknown field") \
	X(PROB_WRONG_TYPE, 422, "wrong-type", "Field has the wrong type") \
	X(PROB_OUT_OF_RANGE, 422, "out-of-range", "Value out of range") \
	X(PROB_NON_FINITE, 422, "non-finite-number", "Number is not finite") \
	X(PROB_SHAPE_MISMATCH, 422, "shape-mismatch", "Shapes do not match") \
	X(PROB_UNKNOWN_ENUM, 422, "unknown-enum-value", "Unknown enum value") \
	X(PROB_UNSUPPORTED, 422, "unsupported-combination", "Unsupported combination") \
	X(PROB_OVERLOADED, 429, "overloaded", "Server overloaded, retry later") \
	X(PROB_INTERNAL, 500, "internal-error", "Internal error") \
	X(PROB_OUT_OF_MEMORY, 503, "out-of-memory", "Out of memory") \
	X(PROB_NOT_IMPLEMENTED, 501, "not-implemented", "Not implemented") \
	X(PROB_UPSTREAM, 502, "upstream-error", "Upstream answered badly") \
	X(PROB_STORE_UNAVAILABLE, 503, "store-unavailable", "Session store unavailable") \
	X(PROB_SHUTTING_DOWN, 503, "shutting-down", "Server is shutting down") \
	X(PROB_DEADLINE, 504, "deadline-exceeded", "Deadline exceeded")

enum problem_kind {
#define PROBLEM_ENUM(e, s, t, ti) e,
	PROBLEM_KINDS(PROBLEM_ENUM)
#undef PROBLEM_ENUM
	PROB_COUNT_
};

#define PROBLEM_MAX_ERRORS 32
#define PROBLEM_POINTER_MAX 256
#define PROBLEM_DETAIL_MAX 512

struct problem_error {
	char pointer[PROBLEM_POINTER_MAX];  /* RFC 6901 pointer into the body */
	char detail[PROBLEM_DETAIL_MAX];
};

struct problem {
	enum problem_kind kind;             /* PROB_NONE: no problem */
	char detail[PROBLEM_DETAIL_MAX];
	struct problem_error errors[PROBLEM_MAX_ERRORS];
	size_t n_errors;                    /* entries used in errors[] */
	size_t n_dropped;                   /* errors past PROBLEM_MAX_ERRORS */
};

unsigned problem_status(enum problem_kind k);
/* Type URI path, e.g. "/problems/shape-mismatch". */
const char *problem_type(enum problem_kind k);
const char *problem_title(enum problem_kind k);

void problem_init(struct problem *p);
/* Sets the kind and the detail (printf format) if no kind is set yet: the
 * first problem found wins, later ones only add errors. */
void problem_set(struct problem *p, enum problem_kind k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds an offending field. Also sets kind/detail like problem_set when the
 * problem is still PROB_NONE (detail then = this error's detail). */
void problem_add(struct problem *p, enum problem_kind k, const char *pointer,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline int problem_is_set(const struct problem *p)
{
	return p->kind != PROB_NONE;
}

#endif
