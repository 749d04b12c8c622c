/* Every route of gradguard in one table: method, pattern, handler, flags.
 * ROUTE_PUBLIC rows answer without an API key when keys are configured:
 * probes and scrapers (/healthz, /readyz, /metrics) carry no secrets, and
 * the index, the OpenAPI document and the UI's static files hold no data
 * (the UI's own API calls need the key). Everything else, unknown paths
 * included, needs one. */
#include "routes.h"

#include "core/alloc.h"
#include "handlers/json.h"
#include "ops.h"
#include "ui.h"

/* A light /init builds at most this many parameters... */
#define LIGHT_INIT_PARAMS 16384u
/* ...and at most this many multiply-adds of QR (orthogonal: m n^2 per
 * layer): well under a millisecond of work and of JSON. */
#define LIGHT_INIT_QR (1u << 21)

/* Whether an /init body asks for a small network (layer_dims read through
 * the JSON module; anything it cannot read is left to the handler on the
 * compute pool, which says what is wrong). */
static bool init_is_light(const cJSON *body)
{
	struct problem *p = gg_calloc(1, sizeof(*p));
	int64_t *d = NULL;
	size_t n = 0;
	uint64_t params = 0, qr = 0;
	bool light = false;

	if (p && json_get_int_vector(body, "", "layer_dims", JSON_REQUIRED, 64,
				     1, LIGHT_INIT_PARAMS, &d, &n, p) == 1) {
		light = n >= 2;
		for (size_t l = 1; l < n; l++) {
			uint64_t a = (uint64_t)d[l], b = (uint64_t)d[l - 1];
			uint64_t lo = a < b ? a : b, hi = a < b ? b : a;

			params += a * b + a;
			qr += hi * lo * lo;
		}
		light = light && params <= LIGHT_INIT_PARAMS &&
			qr <= LIGHT_INIT_QR;
	}
	gg_free(d);
	gg_free(p);
	return light;
}

static const struct route table[] = {
	{"GET", "/", handle_index, ROUTE_PUBLIC},
	{"GET", "/healthz", handle_healthz, ROUTE_PUBLIC},
	{"GET", "/readyz", handle_readyz, ROUTE_PUBLIC},
	{"GET", "/metrics", handle_metrics, ROUTE_PUBLIC},
	{"GET", "/openapi.json", handle_openapi, ROUTE_PUBLIC},
	{"GET", "/ui", handle_ui_redirect, ROUTE_PUBLIC},
	{"GET", "/ui/", handle_ui_index, ROUTE_PUBLIC},
	{"GET", "/ui/app.js", handle_ui_app_js, ROUTE_PUBLIC},
	{"GET", "/ui/style.css", handle_ui_style_css, ROUTE_PUBLIC},
	{"GET", "/ui/icon.svg", handle_ui_icon_svg, ROUTE_PUBLIC},
	{"POST", "/normalize", handle_normalize,
	 ROUTE_OFFLOAD | ROUTE_JSON | ROUTE_LIGHT_SMALL | ROUTE_NPZ_OUT |
	 ROUTE_NPY_OUT},
	{"GET", "/sessions/{id}", handle_session_get,
	 ROUTE_OFFLOAD | ROUTE_LIGHT},
	{"PUT", "/sessions/{id}", handle_session_put,
	 ROUTE_OFFLOAD | ROUTE_JSON | ROUTE_LIGHT},
	{"DELETE", "/sessions/{id}", handle_session_delete,
	 ROUTE_OFFLOAD | ROUTE_LIGHT},
	{"POST", "/init", handle_init,
	 ROUTE_OFFLOAD | ROUTE_JSON | ROUTE_LIGHT_SMALL | ROUTE_NPZ_OUT},
	{"POST", "/gradcheck", handle_gradcheck,
	 ROUTE_OFFLOAD | ROUTE_JSON | ROUTE_NPZ_OUT},
};

route_light_fn *routes_light_test(const struct route *row)
{
	return row->fn == handle_init ? init_is_light : NULL;
}

const struct route *routes_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
