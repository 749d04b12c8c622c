/* Internal interface of POST /gradcheck, shared by its three files:
 * gradcheck_parse.c reads requests, gradcheck.c runs the checks,
 * gradcheck_report.c writes the response, warnings and problems. */
#ifndef GRADGUARD_GRADCHECK_INTERNAL_H
#define GRADGUARD_GRADCHECK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/gradcheck.h"
#include "core/mlp.h"
#include "handler.h"
#include "json.h"
#include "oracle.h"

#define GC_MAX_WARNINGS 12
#define GC_WARNING_LEN 320
/* Below this many checked items one thread is faster than starting more. */
#define GC_MIN_PARALLEL 256
#define GC_MAX_HANDLER_THREADS 8
/* Engine scratch of all threads together; fewer threads when it would pass. */
#define GC_MAX_SCRATCH (256u << 20)
/* Activations of all layers (Z and A each) as a multiple of max_elements. */
#define GC_ACTIVATION_FACTOR 4
/* The usual range of epsilon: below, rounding noise dominates; above,
 * the O(eps^2) truncation error does. */
#define GC_EPS_LOW 1e-9
#define GC_EPS_HIGH 1e-4
/* An error above pass within this factor of its noise floor is blamed on
 * rounding (API.md v1.1, "Gradient checks"). */
#define GC_NOISE_MARGIN 10

enum check_mode { CHECK_ALL, CHECK_SAMPLE, CHECK_DIRECTIONS };

/* Options common to every source. */
struct opts {
	double epsilon;           /* the fixed step, or 0 with eps_auto */
	bool eps_auto;            /* "epsilon": "auto": per-coordinate steps */
	struct gc_thresholds th;
	enum check_mode mode;
	size_t k;
	uint64_t seed;
	size_t top;
	uint32_t deadline_ms;
	uint64_t deadline_ns;
	bool return_gradients;
};

struct warnings {
	char text[GC_MAX_WARNINGS][GC_WARNING_LEN];
	size_t n;
};

/* Everything the response needs besides the report. */
struct outcome {
	const struct gc_block *blocks;
	size_t nb;
	bool flat;                /* vector source with flat arrays: [i] shapes */
	bool directions;          /* items are directions, pos = direction no. */
	bool has_cost;
	double cost;
	size_t n_params;
	size_t evaluations;
	const double *analytic, *numeric;
	const bool *kink;
	const size_t *blk, *pos;
	struct gc_report rep;
	const double *own_grad;   /* for return_gradients (model only) */
	double eps_lo, eps_hi;    /* smallest and largest step (epsilon_range) */
};

/* A parsed model request; every pointer owned. */
struct model {
	size_t L, m, n_params, nb;
	size_t *dims;
	enum mlp_act *act;
	enum mlp_loss loss;
	double l2;
	bool rows;               /* samples_in_rows layout */
	double *X, *Y;           /* n_0 x m and n_L x m */
	double *theta, *given;   /* given: client gradients or NULL */
	struct gc_block *blocks;
	char (*names)[24];       /* "W1", "b1", ... then "dW1", "db1", ... */
	const char **allowed;    /* NULL-terminated name lists for each object */
};

/* Both sides of a vector check, flat or by name. */
struct vpair {
	double *a, *n;
	size_t len, nb;
	struct gc_block *blocks;
	const char **names;     /* NULL-terminated, borrowed from the tree */
	bool flat;
};

#define ORACLE_URL_LEN 2048
#define ORACLE_BLOCK_NAME 64
#define ORACLE_MAX_TIMEOUT_MS 3600000
#define ORACLE_MAX_BATCH 4096

extern const char *const gch_layout_names[];

/* ---- gradcheck_report.c ---- */
void gch_warn(struct warnings *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gch_finish(struct hres *res, const struct opts *o,
		const struct outcome *oc, const struct warnings *wn,
		uint64_t t0);
void gch_noise(struct warnings *wn, const struct opts *o, struct outcome *oc,
	       double J, const double *eps, size_t n);
void gch_warn_epsilon(struct warnings *wn, const struct opts *o);
void gch_map_status(enum gc_status st, const struct opts *o,
		    struct problem *p);
int gch_refuse_overflow(const struct gc_block *blocks, const size_t *bidx,
			const size_t *pos, bool flat, const double *ana,
			const double *num, size_t n, const char *pointer,
			struct problem *p);
void gch_oracle_problem(enum oracle_status st, const char *detail,
			struct problem *p);

/* ---- gradcheck_parse.c ---- */
int gch_parse_common(const cJSON *body, const struct hctx *ctx,
		     uint64_t t0, struct opts *o, struct problem *p);
void gch_model_free(struct model *md);
int gch_parse_network(const cJSON *body, const struct limits *lim,
		      struct model *md, struct problem *p);
int gch_parse_data(const cJSON *body, const struct limits *lim,
		   struct model *md, struct warnings *wn, struct problem *p);
int gch_parse_blocks(const cJSON *body, const char *key, const char *prefix,
		     const struct limits *lim, struct model *md, double *dst,
		     struct problem *p);
int gch_layout_blocks(struct model *md, struct problem *p);
int gch_plan_check(struct opts *o, size_t n_params, size_t nb,
		   const struct limits *lim, struct warnings *wn,
		   size_t *n_items, struct problem *p);
void gch_vpair_free(struct vpair *v);
int gch_vector_flat(const cJSON *vec, const struct limits *lim,
		    struct vpair *v, struct problem *p);
int gch_vector_named(const cJSON *vec, const struct limits *lim,
		     struct vpair *v, struct problem *p);
int gch_oracle_blocks(const cJSON *body, const struct limits *lim, size_t n,
		      struct gc_block **out, size_t *nb, bool *flat,
		      struct problem *p);

#endif
