/* /, /healthz, /readyz, /metrics, /openapi.json; see ops.h. */
#include "ops.h"

#include "handlers/json.h"
#include "handlers/store.h"
#include "metrics.h"
#include "openapi.h"
#include "routes.h"
#include "server.h"
#include "version.h"
#include "workers.h"

void handle_healthz(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	(void)ctx;
	(void)body;
	buf_puts(&res->body, "{\"status\":\"ok\"}");
}

void handle_readyz(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	enum store_status st;

	(void)body;
	if (!ctx->store) {
		problem_set(&res->problem, PROB_STORE_UNAVAILABLE,
			    "no session store configured");
		return;
	}
	st = ctx->store->ops->ping(ctx->store);
	if (st != STORE_OK) {
		problem_set(&res->problem, PROB_STORE_UNAVAILABLE,
			    "store '%s' does not answer: %s",
			    ctx->store->ops->name, store_status_str(st));
		return;
	}
	buf_puts(&res->body, "{\"status\":\"ready\"}");
}

void handle_index(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	const struct route *t;
	struct jw w;
	size_t n;

	(void)ctx;
	(void)body;
	t = routes_table(&n);
	jw_init(&w, &res->body);
	jw_obj_begin(&w);
	jw_key(&w, "name");
	jw_string(&w, "gradguard");
	jw_key(&w, "version");
	jw_string(&w, GRADGUARD_VERSION);
	jw_key(&w, "endpoints");
	jw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		jw_obj_begin(&w);
		jw_key(&w, "method");
		jw_string(&w, t[i].method);
		jw_key(&w, "path");
		jw_string(&w, t[i].pattern);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
}

void handle_openapi(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	(void)ctx;
	(void)body;
	buf_append(&res->body, openapi_json, openapi_json_len);
}

void handle_metrics(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	const struct server *s = ctx->server;
	struct store_stats st;
	bool have_stats = false;
	long sessions = -1;
	size_t n;

	(void)body;
	if (!s || !s->metrics) {
		problem_set(&res->problem, PROB_INTERNAL, "no metrics");
		return;
	}
	if (ctx->store && ctx->store->ops->stats)
		have_stats = ctx->store->ops->stats(ctx->store, &st) ==
			     STORE_OK;
	if (have_stats)
		sessions = (long)st.sessions;
	else if (ctx->store && ctx->store->ops->count &&
		 ctx->store->ops->count(ctx->store, &n) == STORE_OK)
		sessions = (long)n;
	metrics_write(s->metrics, &res->body, sessions);
	if (have_stats)
		metrics_write_store(&res->body, &st);
	if (s->workers)
		metrics_write_queue(&res->body, workers_pending(s->workers),
				    s->cfg->queue, workers_busy(s->workers),
				    s->cfg->workers);
	server_write_limits(s, &res->body);
	res->content_type = METRICS_CONTENT_TYPE;
}
