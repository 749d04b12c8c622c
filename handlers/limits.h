/* All of gradguard's limits in one place (the sqliteLimit.h idea).
 * Each is a compile-time default, overridable with -D at build time and by
 * config (flags / GRADGUARD_* env) at run time through struct limits. */
#ifndef GRADGUARD_LIMITS_H
#define GRADGUARD_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* Largest request body accepted; bigger Content-Length gets 413 at once. */
#ifndef GG_MAX_BODY
#define GG_MAX_BODY (64u * 1024u * 1024u)
#endif
/* Elements in one matrix (data, X, Y, a weight block): bounds memory per field. */
#ifndef GG_MAX_ELEMENTS
#define GG_MAX_ELEMENTS (4u * 1024u * 1024u)
#endif
/* Rows of one data matrix (samples for /normalize). */
#ifndef GG_MAX_ROWS
#define GG_MAX_ROWS (1024u * 1024u)
#endif
/* Features (columns) of one data matrix / session. */
#ifndef GG_MAX_FEATURES
#define GG_MAX_FEATURES 65536u
#endif
/* Sessions kept by one store (per tenant namespace). */
#ifndef GG_MAX_SESSIONS
#define GG_MAX_SESSIONS 100000u
#endif
/* Total parameters of a network (/init, /gradcheck). */
#ifndef GG_MAX_PARAMETERS
#define GG_MAX_PARAMETERS (8u * 1024u * 1024u)
#endif
/* Width of one layer: bounds a single weight block and a QR for orthogonal. */
#ifndef GG_MAX_LAYER_WIDTH
#define GG_MAX_LAYER_WIDTH 16384u
#endif
/* Layers of one network. */
#ifndef GG_MAX_LAYERS
#define GG_MAX_LAYERS 256u
#endif
/* Cost evaluations one gradient check may spend (2 per coordinate). */
#ifndef GG_MAX_EVALUATIONS
#define GG_MAX_EVALUATIONS (4u * 1024u * 1024u)
#endif
/* Default and largest per-request deadline, milliseconds. */
#ifndef GG_DEADLINE_MS
#define GG_DEADLINE_MS 60000u
#endif
/* Samples in a /init diagnosis batch. */
#ifndef GG_MAX_DIAGNOSE_BATCH
#define GG_MAX_DIAGNOSE_BATCH 65536u
#endif
/* Features for which /normalize report=true computes condition numbers. */
#ifndef GG_MAX_REPORT_FEATURES
#define GG_MAX_REPORT_FEATURES 512u
#endif
/* Size of a response body (a 2M-parameter /init is ~50 MB of text). */
#ifndef GG_MAX_RESPONSE
#define GG_MAX_RESPONSE (512u * 1024u * 1024u)
#endif
/* Inflated bytes per compressed byte in an .npz member: deflate cannot
 * exceed ~1032:1, so a member that claims more is a zip bomb. */
#ifndef GG_NPZ_MAX_RATIO
#define GG_NPZ_MAX_RATIO 1100u
#endif
/* Inflated bytes of all .npz members together, in multiples of max_body. */
#ifndef GG_NPZ_INFLATE_FACTOR
#define GG_NPZ_INFLATE_FACTOR 4u
#endif

struct limits {
	size_t max_body;
	size_t max_elements;
	size_t max_rows;
	size_t max_features;
	size_t max_sessions;
	size_t max_parameters;
	size_t max_layer_width;
	size_t max_layers;
	size_t max_evaluations;
	uint32_t deadline_ms;
	size_t max_diagnose_batch;
	size_t max_report_features;
	size_t max_response;
};

/* Fills *l with the compile-time defaults above. */
void limits_default(struct limits *l);

#endif
