/* Gradient-check engine: centered differences of a cost source (a network, later
 * a client's oracle) over coordinates or directions, threaded with a deadline,
 * and the comparison with an analytic gradient (errors, tiers, blocks, worst). */
#ifndef GRADGUARD_GRADCHECK_H
#define GRADGUARD_GRADCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlp.h"

enum gc_status {
	GC_OK = 0,
	GC_EINVAL,      /* bad arguments (programmer error or unchecked input) */
	GC_ENOMEM,
	GC_EDEADLINE,   /* the deadline passed before the work was done */
	GC_ESOURCE      /* the cost source failed (its own status is kept) */
};

enum gc_verdict { GC_PASS, GC_WARN, GC_SUSPECT, GC_FAIL };

/* Tier bounds: pass if e <= pass, warn if <= warn, suspect if <= fail. */
struct gc_thresholds {
	double pass, warn, fail;
};

#define GC_DEFAULT_PASS 2e-7
#define GC_DEFAULT_WARN 1e-5
#define GC_DEFAULT_FAIL 1e-3

enum gc_verdict gc_verdict_of(double e, const struct gc_thresholds *t);
/* "pass", "warn", "suspect", "fail". */
const char *gc_verdict_name(enum gc_verdict v);

/* A parameter block of theta: name, first coordinate, shape rows x cols. */
struct gc_block {
	const char *name;
	size_t offset, rows, cols;
};

/* Where the costs come from. coord_costs evaluates J(theta + delta[t] e_idx[t])
 * for t < n (n <= batch) into cost[t], and sets kink[t] when the step crossed
 * a non-differentiable point; dir_cost evaluates J(theta + delta u) for a u
 * that is zero outside [off, off + len). work is this thread's scratch of
 * `work` doubles. Both return 0 or a source-specific nonzero status (kept in
 * gc_run.source_status). Must be callable from several threads at once,
 * unless max_threads is 1.
 * A source that gains from seeing many evaluations at once (an oracle with
 * calls in flight) may set dir_costs and dir_batch: directional chunks of
 * dir_batch directions then go to one dir_costs call, cost[t] and kink[t]
 * for d[t] (2 per direction: +eps, then -eps), instead of dir_cost. */
struct gc_dir {
	size_t off, len;
	const double *u;
	double delta;
};

struct gc_source {
	size_t n_params;
	size_t batch;       /* >= 2 */
	size_t work;        /* doubles per thread */
	size_t max_threads; /* 0: any number */
	size_t dir_batch;   /* directions per dir_costs call, with dir_costs */
	void *ctx;
	int (*coord_costs)(void *ctx, double *work, const size_t *idx,
			   const double *delta, size_t n, double *cost,
			   bool *kink);
	int (*dir_cost)(void *ctx, double *work, size_t off, const double *u,
			size_t len, double delta, double *cost, bool *kink);
	int (*dir_costs)(void *ctx, double *work, const struct gc_dir *d,
			 size_t n, double *cost, bool *kink);
};

/* How to run: the step, threads, and a deadline checked between chunks.
 * coord_eps (n_params steps, one per coordinate) and block_eps (one per
 * block, for directions) override epsilon when not NULL. */
struct gc_run {
	double epsilon;
	size_t nthreads;               /* 0 or 1: the calling thread only */
	uint64_t deadline_ns;          /* 0: none; compared with clock_ns() */
	uint64_t (*clock_ns)(void);    /* required with a deadline */
	int source_status;             /* out: the source's status on GC_ESOURCE */
	const double *coord_eps;
	const double *block_eps;
};

/* numeric[t] = (J(theta + eps e_c) - J(theta - eps e_c)) / 2 eps for
 * c = coords[t], kink[t] = either step crossed a kink. The value of each
 * coordinate does not depend on nthreads or on the chunking. Allocates one
 * block for all threads' scratch. */
enum gc_status gradcheck_coords(const struct gc_source *s, struct gc_run *o,
				const size_t *coords, size_t n, double *numeric,
				bool *kink);

/* k random unit directions; direction t lies within block t % nb (so that
 * block errors blame a layer), drawn from N(0, I) and normalized from a
 * stream seeded by (seed, t). analytic[t] = u . grad, numeric[t] = (J(theta
 * + eps u) - J(theta - eps u)) / 2 eps. Needs s->dir_cost (or
 * s->dir_costs with s->dir_batch >= 1). */
enum gc_status gradcheck_directions(const struct gc_source *s,
				    struct gc_run *o,
				    const struct gc_block *blocks, size_t nb,
				    const double *grad, size_t k, uint64_t seed,
				    double *analytic, double *numeric,
				    bool *kink);

/* k distinct coordinates, sorted, at least one per block (needs nb <= k <=
 * total size); the rest spread over blocks in proportion to their sizes and
 * chosen uniformly within each block (Knuth's selection sampling, TAOCP
 * 3.4.2 Algorithm S), deterministic from seed. */
enum gc_status gradcheck_sample(const struct gc_block *blocks, size_t nb,
				size_t k, uint64_t seed, size_t *coords);

/* Block index of each coordinate and its position within the block. */
void gradcheck_locate(const struct gc_block *blocks, size_t nb,
		      const size_t *coords, size_t n, size_t *blk, size_t *pos);

struct gc_block_report {
	size_t n_checked;
	double relative_error;    /* NAN when n_checked == 0 */
	enum gc_verdict verdict;
	double max_abs_error;
	size_t worst_pos;         /* position in the block (or direction) */
	double noise_floor;       /* see gradcheck_noise_floor; NAN: unknown */
};

/* Results; blocks (nb entries) and worst (top entries) are caller storage. */
struct gc_report {
	double relative_error;    /* ||a - n|| / (||a|| + ||n||), 0 if both 0 */
	enum gc_verdict verdict;
	size_t n_checked;
	size_t kinks;
	struct gc_block_report *blocks;
	size_t *worst;            /* item indices, largest |a - n| first */
	size_t n_worst;           /* min(top, n) */
	double noise_floor;       /* see gradcheck_noise_floor; NAN: unknown */
};

/* Compares n items (analytic[t], numeric[t], in block blk[t] at position
 * pos[t], kink[t] may be NULL). Norms are scaled (LAPACK dlassq style) and
 * entries from 2^1022 up are halved first, so the relative errors are
 * finite whenever the inputs are, however huge or tiny. max_abs_error is
 * |a - n| itself and is +inf where that overflows: see
 * gradcheck_first_overflow. */
void gradcheck_compare(const double *analytic, const double *numeric,
		       const bool *kink, const size_t *blk, const size_t *pos,
		       size_t n, size_t nb, const struct gc_thresholds *th,
		       size_t top, struct gc_report *r);

/* The step of each checked item: GC_AUTO_EPS_SCALE max(1, |theta_i|)
 * for coordinates (Nocedal & Wright, Numerical Optimization, §8.1: the
 * centered difference's error eps^2 |J'''| / 6 + u |J| / eps is smallest
 * near eps = cbrt(3 u |J| / |J'''|), cbrt(u) for a unit-scale cost), and
 * the block's largest such step for directions. */
#define GC_UNIT_ROUNDOFF 0x1p-53
#define GC_AUTO_EPS_SCALE 4.806217383937352e-06   /* cbrt(2^-53) */
void gradcheck_auto_eps(const double *theta, size_t n_params,
			const struct gc_block *blocks, size_t nb,
			double *coord_eps, double *block_eps);

/* The relative error that rounding alone gives (Nocedal & Wright §8.1):
 * J(theta +- eps) are each off by about u |J| (u = 2^-53), so item t's
 * numeric value is off by about u |J| / eps[t]. With r[t] that error, the
 * floor is ||r|| / (||analytic|| + ||numeric||) over each block and over
 * all items: the relative error of a check whose only error is rounding.
 * Fills r->noise_floor and r->blocks[b].noise_floor (after
 * gradcheck_compare); NAN when J is not finite. */
void gradcheck_noise_floor(double J, const double *eps, const double *analytic,
			   const double *numeric, const size_t *blk, size_t n,
			   size_t nb, struct gc_report *r);

/* The first t < n whose analytic[t] and numeric[t] are finite but whose
 * difference overflows the double range (opposite signs near DBL_MAX), or
 * n if none. */
size_t gradcheck_first_overflow(const double *analytic, const double *numeric,
				size_t n);

/* A network as a cost source. fast: rank-one and batched re-evaluation
 * (mlp_perturb_costs); otherwise the naive loop (a full forward pass per
 * evaluation), kept as the reference. ctx is caller storage that must
 * outlive s; net and base (after mlp_forward) are borrowed. */
struct gc_mlp {
	const struct mlp *net;
	const struct mlp_cache *base;
	bool fast;
};

void gc_mlp_source(struct gc_source *s, struct gc_mlp *ctx,
		   const struct mlp *net, const struct mlp_cache *base,
		   bool fast);

#endif
