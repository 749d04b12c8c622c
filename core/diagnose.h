/* Diagnosis of vanishing / exploding signals for a fully connected net at
 * initialization: a standard-normal batch forward, a gradient backward,
 * per-layer activation spread and weight-gradient norm, and a verdict. */
#ifndef GRADGUARD_DIAGNOSE_H
#define GRADGUARD_DIAGNOSE_H

#include <stddef.h>

#include "core/rng.h"

enum diag_activation {
	DIAG_RELU,
	DIAG_TANH,
	DIAG_SIGMOID,
	DIAG_LINEAR,
	DIAG_ACTIVATION_COUNT
};

enum diag_verdict {
	DIAG_STABLE,
	DIAG_VANISHING,
	DIAG_EXPLODING
};

/* Names as the API spells them, indexed by the enums; NULL-terminated. */
extern const char *const diag_activation_names[];
extern const char *const diag_verdict_names[];

/* Verdict thresholds on the end-to-end ratios (see DIAG_RULE). */
#define DIAG_EXPLODING_RATIO 10.0
#define DIAG_VANISHING_RATIO 0.1

/* The verdict rule in words; diag_verdict implements exactly this. */
#define DIAG_RULE \
	"r_a = activation_std[L] / activation_std[1], " \
	"r_g = gradient_norm[1] / gradient_norm[L]; " \
	"exploding if any activation_std or gradient_norm is non-finite " \
	"(null) or r_a > 10 or r_g > 10; else vanishing if r_a < 0.1 or " \
	"r_g < 0.1 or a ratio is 0/0 (the signal died); else stable"

/* Doubles of workspace diag_run needs: batch * (dims[0] + ... + dims[L]
 * + 2 * max(dims)). */
size_t diag_work_size(const size_t *dims, size_t n_layers, size_t batch);

/* Runs the diagnosis of the n_layers-layer net with widths dims[0..L] and
 * weights w[l] (dims[l+1] x dims[l], row-major, l = 0..L-1); biases are
 * zero (as /init makes them) and every layer uses activation act.
 * Draws from r, in this order: X = randn(dims[0], batch), then the
 * upstream gradient dA_L = randn(dims[L], batch) (one sample per column),
 * each column then scaled to unit norm: a unit-norm output error per
 * sample. Forward A_l = g(W_l A_(l-1)), act_std[l-1] = population std of
 * A_l's entries; backward dZ_l = dA_l * g'(Z_l), grad_norm[l-1] = the root
 * mean square over the batch of ||dZ_l[:, s]|| (= ||dZ_l||_F / sqrt(batch)),
 * dA_(l-1) = W_l^T dZ_l. grad_norm thus follows the back-propagated error
 * itself, which shrinks or grows geometrically with depth (by about
 * sigma_w sqrt(n) |g'| per layer) where a poor initialization makes the
 * gradients vanish or explode. Once a value is non-finite propagation
 * stops and the remaining entries are NAN. work holds
 * diag_work_size(...) doubles. Returns diag_verdict(...). */
enum diag_verdict diag_run(const double *const w[], const size_t *dims,
			   size_t n_layers, enum diag_activation act,
			   size_t batch, struct rng *r, double *work,
			   double *act_std, double *grad_norm);

/* DIAG_RULE applied to per-layer act_std[0..L) and grad_norm[0..L); the
 * ratios are stored in *r_a and *r_g when those are not NULL. */
enum diag_verdict diag_verdict(const double *act_std,
			       const double *grad_norm, size_t n_layers,
			       double *r_a, double *r_g);

#endif
