/* Helpers shared by the fuzz targets; see fuzz.h. The static store is
 * process-wide state, acceptable in test code only. */
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/limits.h"
#include "handlers/store.h"

static struct limits lim;
static int lim_ready;
static struct store *store;

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz invariant violated: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

const struct limits *fuzz_limits(void)
{
	if (!lim_ready) {
		limits_default(&lim);
		lim.max_body = 1u << 20;
		lim.max_elements = 4096;
		lim.max_rows = 4096;
		lim.max_features = 256;
		lim.max_sessions = 64;
		lim.max_parameters = 4096;
		lim.max_layer_width = 64;
		lim.max_layers = 16;
		lim.max_evaluations = 20000;
		lim.deadline_ms = 2000;
		lim.max_diagnose_batch = 64;
		lim.max_report_features = 32;
		lim.max_response = 4u << 20;
		lim_ready = 1;
	}
	return &lim;
}

static void close_store(void)
{
	store_close(store);
	store = NULL;
}

struct store *fuzz_store(void)
{
	char err[256];

	if (!store) {
		if (store_open("memory:", fuzz_limits()->max_sessions, &store,
			       err, sizeof(err)) != 0)
			fuzz_fail("store_open: %s", err);
		atexit(close_store);
	}
	return store;
}

void fuzz_ctx(struct hctx *ctx, const char *param)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->limits = fuzz_limits();
	ctx->store = fuzz_store();
	ctx->param = param;
	ctx->tenant = "";
	ctx->oracle_allow = "none";  /* fuzz inputs never reach the network */
	ctx->deadline_ns = clock_now_ns() +
			   (uint64_t)ctx->limits->deadline_ms * 1000000u;
}

cJSON *fuzz_parse_output(const char *text, size_t len, const char *what)
{
	const char *end = NULL;
	cJSON *j;

	if (!text || !len)
		fuzz_fail("%s: empty output", what);
	j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!j)
		fuzz_fail("%s: output is not JSON: %.*s", what,
			  (int)(len > 400 ? 400 : len), text);
	while (end < text + len && (*end == ' ' || *end == '\n'))
		end++;
	if (end != text + len)
		fuzz_fail("%s: trailing bytes after JSON at %zu of %zu", what,
			  (size_t)(end - text), len);
	return j;
}

static void check_problem(const struct problem *p);

static void check_verdict(const cJSON *obj, const char *where)
{
	static const char *const tiers[] = {"pass", "warn", "suspect", "fail"};
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "verdict");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(obj,
							  "relative_error");
	size_t i;

	if (!cJSON_IsString(v))
		fuzz_fail("gradcheck: %s has no verdict", where);
	for (i = 0; i < 4 && strcmp(v->valuestring, tiers[i]) != 0; i++)
		;
	if (i == 4)
		fuzz_fail("gradcheck: %s verdict \"%s\"", where, v->valuestring);
	if (cJSON_IsNumber(e) &&
	    !(e->valuedouble >= 0 && e->valuedouble <= 1 + 1e-12))
		fuzz_fail("gradcheck: %s relative_error %.17g", where,
			  e->valuedouble);
}

void fuzz_check_gradcheck(const cJSON *out)
{
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(out, "blocks");
	const cJSON *b;
	double evals = fuzz_number(out, "evaluations", -1);
	double np = fuzz_number(out, "n_parameters", -1);
	double nc = fuzz_number(out, "n_checked", -1);

	check_verdict(out, "the response");
	if (evals < 0 || evals > (double)fuzz_limits()->max_evaluations)
		fuzz_fail("gradcheck: evaluations %g (max %zu)", evals,
			  fuzz_limits()->max_evaluations);
	if (np < 0 || np > (double)fuzz_limits()->max_parameters)
		fuzz_fail("gradcheck: n_parameters %g (max %zu)", np,
			  fuzz_limits()->max_parameters);
	if (nc < 0)
		fuzz_fail("gradcheck: n_checked %g", nc);
	cJSON_ArrayForEach(b, blocks)
		check_verdict(b, "a block");
}

cJSON *fuzz_parse_request(const uint8_t *data, size_t size)
{
	struct problem p;
	cJSON *tree = NULL;

	problem_init(&p);
	if (json_parse((const char *)data, size, &tree, &p) == 0) {
		if (!tree || problem_is_set(&p))
			fuzz_fail("json_parse: success without a clean tree");
		return tree;
	}
	if (tree || p.kind != PROB_MALFORMED_JSON)
		fuzz_fail("json_parse: refusal of kind %d", (int)p.kind);
	check_problem(&p);
	return NULL;
}

cJSON *fuzz_literal(const char *text)
{
	cJSON *j = cJSON_ParseWithLengthOpts(text, strlen(text), NULL, 0);

	if (!j)
		fuzz_fail("bad literal in the fuzz target: %s", text);
	return j;
}

double fuzz_number(const cJSON *obj, const char *name, double dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(it) ? it->valuedouble : dflt;
}

int fuzz_array_len(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsArray(it) ? cJSON_GetArraySize(it) : -1;
}

static void check_problem(const struct problem *p)
{
	unsigned st = problem_status(p->kind);
	size_t i;

	if ((int)p->kind <= (int)PROB_NONE || (int)p->kind >= (int)PROB_COUNT_)
		fuzz_fail("problem kind %d out of range", (int)p->kind);
	if (st < 400 || st > 599)
		fuzz_fail("problem %s has status %u", problem_type(p->kind), st);
	if (!problem_type(p->kind) || !problem_title(p->kind))
		fuzz_fail("problem kind %d has no type/title", (int)p->kind);
	if (!memchr(p->detail, '\0', sizeof(p->detail)))
		fuzz_fail("problem detail not terminated");
	if (p->n_errors > PROBLEM_MAX_ERRORS)
		fuzz_fail("n_errors %zu > %d", p->n_errors, PROBLEM_MAX_ERRORS);
	for (i = 0; i < p->n_errors; i++) {
		const struct problem_error *e = &p->errors[i];

		if (!memchr(e->pointer, '\0', sizeof(e->pointer)) ||
		    !memchr(e->detail, '\0', sizeof(e->detail)))
			fuzz_fail("error %zu not terminated", i);
		if (e->pointer[0] && e->pointer[0] != '/')
			fuzz_fail("error %zu pointer \"%s\" does not start "
				  "with '/'", i, e->pointer);
	}
}

cJSON *fuzz_call(handler_fn *fn, const char *param, const cJSON *body,
		 unsigned *status)
{
	struct hctx ctx;

	fuzz_ctx(&ctx, param);
	return fuzz_call_ctx(fn, &ctx, body, status);
}

cJSON *fuzz_call_ctx(handler_fn *fn, struct hctx *ctx, const cJSON *body,
		     unsigned *status)
{
	struct hres res;
	cJSON *out = NULL;

	hres_init(&res, ctx->limits->max_response);
	fn(ctx, body, &res);
	if (problem_is_set(&res.problem)) {
		check_problem(&res.problem);
		*status = problem_status(res.problem.kind);
	} else {
		*status = res.status;
		if (res.status != 200 && res.status != 201 &&
		    res.status != 204)
			fuzz_fail("success with status %u", res.status);
		if (res.body.failed)
			fuzz_fail("success with a failed body buffer");
		if (res.status != 204)
			out = fuzz_parse_output(res.body.data, res.body.len,
						"response body");
		else if (res.body.len)
			fuzz_fail("204 with a body of %zu bytes", res.body.len);
	}
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "fuzz: handler answered %u%s%s\n", *status,
			problem_is_set(&res.problem) ? ": " : "",
			problem_is_set(&res.problem) ? res.problem.detail : "");
	hres_free(&res);
	return out;
}
