/* Every route of gradguard in one table: method, pattern, handler, flags.
 * ROUTE_PUBLIC rows answer without an API key when keys are configured:
 * probes and scrapers (/healthz, /readyz, /metrics) carry no secrets, and
 * the index, the OpenAPI document and the UI's static files hold no data
 * (the UI's own API calls need the key). Everything else, unknown paths
 * included, needs one. */
#include "routes.h"

#include "ops.h"
#include "ui.h"

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
	 ROUTE_OFFLOAD | ROUTE_JSON | ROUTE_NPZ_OUT},
	{"POST", "/gradcheck", handle_gradcheck,
	 ROUTE_OFFLOAD | ROUTE_JSON | ROUTE_NPZ_OUT},
};

const struct route *routes_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
