/* Test support: the steps the endpoint suites under tests/http/ repeat on
 * top of harness.h (start the daemon, POST and check the answer), as
 * assertions that fail the running Check test. */
#ifndef GRADGUARD_TEST_HTTP_UTIL_H
#define GRADGUARD_TEST_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "tests/lib/harness.h"

#define HTTP_JSON "application/json"
#define HTTP_PROBLEM_JSON "application/problem+json"

/* gg_server_start(s, args), asserting that the daemon started. */
void http_start(struct gg_server *s, const char *const args[]);

/* One request, with body (a JSON text, or NULL for none); asserts that the
 * status is want and, with want_type not NULL, that the Content-Type is
 * want_type. Returns the parsed body (the caller cJSON_Deletes it), NULL
 * when it is empty or not JSON. */
cJSON *http_call(const struct gg_server *s, const char *method, const char *path,
		 const char *body, long want, const char *want_type);

/* http_call(s, "POST", ...), also asserting that the body is JSON. */
cJSON *http_post(const struct gg_server *s, const char *path, const char *body,
		 long want, const char *want_type);

/* Whether a line of the text file at path contains needle (asserts that
 * the file can be read). */
bool http_file_has(const char *path, const char *needle);

/* The value of the sample `name` (with its labels, as written) in GET
 * /metrics, or -1 when the scrape failed or has no such line. */
double http_metric(const struct gg_server *s, const char *name);

/* Polls http_metric until the sample reaches at least want or timeout_ms
 * passes; returns the last value read. Counters are updated when MHD has
 * finished a request, which can be after its client already has the
 * answer, so a test waits for the event instead of reading once. */
double http_metric_at_least(const struct gg_server *s, const char *name,
			    double want, unsigned timeout_ms);

#endif
