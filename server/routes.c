/* Every route of gradguard in one table: method, pattern, handler, flags. */
#include "routes.h"

#include "ops.h"

static const struct route table[] = {
	{"GET", "/", handle_index, 0},
	{"GET", "/healthz", handle_healthz, 0},
	{"GET", "/readyz", handle_readyz, 0},
	{"GET", "/metrics", handle_metrics, 0},
	{"GET", "/openapi.json", handle_openapi, 0},
	{"POST", "/normalize", handle_normalize, ROUTE_OFFLOAD | ROUTE_JSON},
	{"GET", "/sessions/{id}", handle_session_get, ROUTE_OFFLOAD},
	{"PUT", "/sessions/{id}", handle_session_put,
	 ROUTE_OFFLOAD | ROUTE_JSON},
	{"DELETE", "/sessions/{id}", handle_session_delete, ROUTE_OFFLOAD},
	{"POST", "/init", handle_init, ROUTE_OFFLOAD | ROUTE_JSON},
	{"POST", "/gradcheck", handle_gradcheck, ROUTE_OFFLOAD | ROUTE_JSON},
};

const struct route *routes_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}
