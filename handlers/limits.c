/* Compile-time defaults of struct limits (see limits.h for the why of each). */
#include "limits.h"

void limits_default(struct limits *l)
{
	l->max_body = GG_MAX_BODY;
	l->max_elements = GG_MAX_ELEMENTS;
	l->max_rows = GG_MAX_ROWS;
	l->max_features = GG_MAX_FEATURES;
	l->max_sessions = GG_MAX_SESSIONS;
	l->max_parameters = GG_MAX_PARAMETERS;
	l->max_layer_width = GG_MAX_LAYER_WIDTH;
	l->max_layers = GG_MAX_LAYERS;
	l->max_evaluations = GG_MAX_EVALUATIONS;
	l->deadline_ms = GG_DEADLINE_MS;
	l->max_diagnose_batch = GG_MAX_DIAGNOSE_BATCH;
	l->max_report_features = GG_MAX_REPORT_FEATURES;
	l->max_response = GG_MAX_RESPONSE;
}
