/* Operational routes: cheap, run inline on the polling thread, same
 * handler signature as the endpoints. ctx->server is the struct server
 * (metrics); ctx->store the session store (readiness, session count). */
#ifndef GRADGUARD_OPS_H
#define GRADGUARD_OPS_H

#include "handlers/handler.h"

handler_fn handle_healthz;   /* 200 {"status":"ok"} */
handler_fn handle_readyz;    /* 200 when the store answers ping, else 503 */
handler_fn handle_index;     /* name, version, endpoints from the table */
handler_fn handle_openapi;   /* the embedded OpenAPI document */
handler_fn handle_metrics;   /* Prometheus text */

#endif
