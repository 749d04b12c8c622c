/* GET, PUT and DELETE /sessions/{id}: a session's statistics as a resource
 * (inspect, import from elsewhere, forget). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/stats.h"

#include "core/alloc.h"
#include "handler.h"
#include "json.h"
#include "session.h"
#include "store.h"

/* Largest count accepted on import: doubles hold integers exactly to 2^53. */
#define SESSION_MAX_COUNT (INT64_C(1) << 53)

static const char *const put_allowed[] = {
	"n_samples_seen", "mean", "var", NULL
};

/* Validates ctx->param and builds the store key; -1 with p filled. */
static int path_key(const struct hctx *ctx, char *key, size_t n,
		    struct problem *p)
{
	if (!ctx->store) {
		problem_set(p, PROB_STORE_UNAVAILABLE, "no session store");
		return -1;
	}
	if (!session_id_valid(ctx->param)) {
		problem_set(p, PROB_INVALID,
			    "path parameter id must match [A-Za-z0-9_.-]{1,64}");
		return -1;
	}
	if (session_key(key, n, ctx->tenant, ctx->param) != 0) {
		problem_set(p, PROB_INTERNAL, "session key too long");
		return -1;
	}
	return 0;
}

/* The response body shared by GET and PUT. */
static void write_session(struct hres *res, const char *id,
			  const struct stats *st,
			  const struct session_meta *meta)
{
	char t[40];
	struct jw w;

	jw_init(&w, &res->body);
	jw_obj_begin(&w);
	if (session_write_stats(&w, id, st, NULL) != 0) {
		problem_set(&res->problem, PROB_OUT_OF_MEMORY, "out of memory");
		return;
	}
	session_format_time(t, sizeof(t), meta->created_at_ms);
	jw_key(&w, "created_at");
	jw_string(&w, t);
	session_format_time(t, sizeof(t), meta->updated_at_ms);
	jw_key(&w, "updated_at");
	jw_string(&w, t);
	session_write_expiry(&w, meta->expires_at_ms);
	jw_obj_end(&w);
	if (res->body.failed)
		hres_body_failed(res);
}

/* GET /sessions/{id}: 200 with session, n_samples_seen, n_features, mean,
 * var, scale, created_at, updated_at, expires_at; 404 when absent or
 * expired; 422 for a bad id. */
void handle_session_get(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	struct session_meta meta = { 0, 0, 0 };
	struct stats *st = NULL;
	char key[SESSION_KEY_MAX];
	enum store_status rc;

	(void)body;
	if (path_key(ctx, key, sizeof(key), &res->problem) != 0)
		return;
	rc = ctx->store->ops->get(ctx->store, key, &st, &meta);
	if (rc != STORE_OK) {
		session_store_problem(&res->problem, rc, ctx->param, "");
		return;
	}
	write_session(res, ctx->param, st, &meta);
	res->status = 200;
	stats_free(st);
}

/* Reads n_samples_seen: one integer for all d features, or an array of d
 * integers; each in 1 .. 2^53. */
static int read_counts(const cJSON *body, size_t d, size_t max_len,
		       uint64_t *count, struct problem *p)
{
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(body,
							     "n_samples_seen");
	int64_t v = 0, *vs = NULL;
	size_t n = 0;
	int rc = -1;

	if (!cJSON_IsArray(node)) {
		if (json_get_int(body, "", "n_samples_seen", JSON_REQUIRED, 0,
				 1, SESSION_MAX_COUNT, &v, p) != 1)
			return -1;
		for (size_t j = 0; j < d; j++)
			count[j] = (uint64_t)v;
		return 0;
	}
	if (json_get_int_vector(body, "", "n_samples_seen", JSON_REQUIRED,
				max_len, 1, SESSION_MAX_COUNT, &vs, &n, p) != 1)
		goto out;
	if (n != d) {
		problem_add(p, PROB_SHAPE_MISMATCH, "/n_samples_seen",
			    "has %zu entries, mean has %zu", n, d);
		goto out;
	}
	for (size_t j = 0; j < d; j++)
		count[j] = (uint64_t)vs[j];
	rc = 0;
out:
	gg_free(vs);
	return rc;
}

/* Parses a PUT body into new statistics (m2 = var * count). */
static struct stats *parse_put(const cJSON *body, const struct limits *lim,
			       struct problem *p)
{
	double *mean = NULL, *var = NULL;
	size_t nm = 0, nv = 0;
	struct stats *st = NULL;
	char ptr[PROBLEM_POINTER_MAX];

	json_check_object(body, "", put_allowed, p);
	if (!cJSON_IsObject(body))
		goto out;
	json_get_vector(body, "", "mean", JSON_REQUIRED, lim->max_features,
			&mean, &nm, p);
	json_get_vector(body, "", "var", JSON_REQUIRED, lim->max_features,
			&var, &nv, p);
	if (problem_is_set(p))
		goto out;
	if (nm != nv) {
		problem_add(p, PROB_SHAPE_MISMATCH, "/var",
			    "has %zu entries, mean has %zu", nv, nm);
		goto out;
	}
	for (size_t j = 0; j < nv; j++) {
		if (var[j] >= 0)
			continue;
		json_pointer_index(ptr, sizeof(ptr), "/var", j);
		problem_add(p, PROB_OUT_OF_RANGE, ptr,
			    "a variance must be >= 0");
	}
	st = stats_new(nm);
	if (!st) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory");
		goto out;
	}
	if (read_counts(body, nm, lim->max_features, st->count, p) != 0 || problem_is_set(p))
		goto out;
	for (size_t j = 0; j < nm; j++) {
		st->mean[j] = mean[j];
		st->m2[j] = var[j] * (double)st->count[j];
		if (!isfinite(st->m2[j])) {
			json_pointer_index(ptr, sizeof(ptr), "/var", j);
			problem_add(p, PROB_OUT_OF_RANGE, ptr,
				    "var * n_samples_seen overflows");
		}
	}
out:
	gg_free(mean);
	gg_free(var);
	if (problem_is_set(p)) {
		stats_free(st);
		st = NULL;
	}
	return st;
}

/* PUT /sessions/{id}[?ttl=SECONDS]: imports {n_samples_seen, mean, var},
 * replacing any statistics stored; the session then lives ttl seconds
 * (default: the lifetime it had, STORE_TTL_KEEP; a new one --session-ttl); 201 (with Location) when the session is new,
 * else 200; the body is what GET returns. */
void handle_session_put(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	struct session_meta meta = { 0, 0, 0 };
	struct stats *st = NULL, *old = NULL;
	char key[SESSION_KEY_MAX];
	enum store_status rc;
	int64_t ttl_ms = STORE_TTL_KEEP;
	bool created;

	if (path_key(ctx, key, sizeof(key), &res->problem) != 0)
		return;
	if (ctx->ttl_arg && session_parse_ttl(ctx->ttl_arg, &ttl_ms) != 0) {
		problem_set(&res->problem, PROB_INVALID,
			    "query parameter ttl must be an integer number of "
			    "seconds in 1..%d", SESSION_TTL_MAX);
		return;
	}
	st = parse_put(body, ctx->limits, &res->problem);
	if (!st)
		goto out;
	rc = ctx->store->ops->get(ctx->store, key, &old, NULL);
	if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
		session_store_problem(&res->problem, rc, ctx->param, "");
		goto out;
	}
	created = rc == STORE_NOT_FOUND;
	rc = ctx->store->ops->put(ctx->store, key, st, ttl_ms, &meta);
	if (rc != STORE_OK) {
		session_store_problem(&res->problem, rc, ctx->param, "");
		goto out;
	}
	write_session(res, ctx->param, st, &meta);
	res->status = created ? 201 : 200;
	if (created)
		snprintf(res->location, sizeof(res->location), "/sessions/%s",
			 ctx->param);
out:
	stats_free(old);
	stats_free(st);
}

/* DELETE /sessions/{id}: 204 without a body, 404 when absent. */
void handle_session_delete(struct hctx *ctx, const cJSON *body,
			   struct hres *res)
{
	char key[SESSION_KEY_MAX];
	enum store_status rc;

	(void)body;
	if (path_key(ctx, key, sizeof(key), &res->problem) != 0)
		return;
	rc = ctx->store->ops->del(ctx->store, key);
	if (rc != STORE_OK) {
		session_store_problem(&res->problem, rc, ctx->param, "");
		return;
	}
	res->status = 204;
}
