/* Shared by the libFuzzer targets in tests/fuzz/: the entry point's
 * prototype, small limits, a process-wide memory: store, and the response
 * invariants every handler must keep (violations abort()). */
#ifndef GRADGUARD_FUZZ_H
#define GRADGUARD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "handlers/handler.h"
#include "handlers/json.h"

/* Called by libFuzzer, or by tests/fuzz/replay.c for each file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Limits small enough that no input can ask for much work. */
const struct limits *fuzz_limits(void);
/* The process's memory: store, opened on first use (aborts on failure). */
struct store *fuzz_store(void);
/* A context with fuzz_limits(), fuzz_store(), tenant "", an oracle
 * allow-list of "none" (no input makes an HTTP call) and a fresh deadline
 * of fuzz_limits()->deadline_ms. */
void fuzz_ctx(struct hctx *ctx, const char *param);
/* Runs fn and checks the response invariants: a success has status
 * 200/201/204 and (unless 204) a body that is one complete JSON value; a
 * failure has a known kind with a 4xx/5xx status, a terminated detail, at
 * most PROBLEM_MAX_ERRORS errors, each pointer "" or starting with '/'.
 * Returns the parsed success body (cJSON_Delete it) or NULL on failure;
 * *status receives the HTTP status. With FUZZ_VERBOSE set in the
 * environment, each answer is printed to stderr. */
cJSON *fuzz_call(handler_fn *fn, const char *param, const cJSON *body,
		 unsigned *status);
/* Checks that text[0..len) is exactly one JSON value; returns it parsed
 * (caller deletes) or aborts. */
cJSON *fuzz_parse_output(const char *text, size_t len, const char *what);
/* The same with a context the caller prepared (fuzz_ctx, then changes). */
cJSON *fuzz_call_ctx(handler_fn *fn, struct hctx *ctx, const cJSON *body,
		     unsigned *status);
/* A /gradcheck success: a verdict of the four tiers, relative errors in
 * [0, 1] (triangle inequality), evaluations <= max_evaluations,
 * n_parameters <= max_parameters, for the whole and for each block. */
void fuzz_check_gradcheck(const cJSON *out);
/* Parses bytes with json_parse (the server's path); NULL if it refuses
 * them, after checking that the refusal is a well-formed 400 problem. */
cJSON *fuzz_parse_request(const uint8_t *data, size_t size);
/* A JSON literal from test code (aborts if it does not parse). */
cJSON *fuzz_literal(const char *text);
/* Member name of obj as a number / array length; -1 if not that type. */
double fuzz_number(const cJSON *obj, const char *name, double dflt);
int fuzz_array_len(const cJSON *obj, const char *name);
/* Prints why and aborts (libFuzzer then saves the input). */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						     noreturn));

#endif
