/* Condition numbers of the second-moment matrix (1/m) X^T X of a data
 * matrix: how elongated the cost surface of a linear model on that data is,
 * i.e. why gradient descent is slow on unnormalized inputs. */
#ifndef GRADGUARD_CONDITION_H
#define GRADGUARD_CONDITION_H

#include <stddef.h>

enum cond_status {
	COND_OK = 0,
	COND_NOMEM,
	COND_SINGULAR,   /* lambda_min <= d * eps * lambda_max: *kappa = INFINITY */
	COND_EMPTY,      /* no complete row: *kappa = NAN */
	COND_NOCONVERGE, /* the eigenvalue iteration failed: *kappa = NAN */
};

/* kappa = lambda_max / lambda_min of (1/m) sum_i z_i z_i^T over the m
 * complete rows (no NaN cell) of x (rows x cols, row-major, one sample per
 * row), where z = (x - mean) / scale (mean or scale NULL: that step is
 * skipped). Rows with a NaN are left out (complete-case analysis: pairwise
 * estimates need not be positive semidefinite). *used receives m (may be
 * NULL). Allocates cols^2 doubles once; O(rows cols^2 + cols^3) time:
 * about 1 s for 8192 x 512 on one core. */
enum cond_status condition_second_moment(const double *x, size_t rows,
					 size_t cols, const double *mean,
					 const double *scale, double *kappa,
					 size_t *used);

/* Eigenvalues of the symmetric n x n matrix a (row-major, destroyed) into
 * w (n entries, ascending): Householder reduction to tridiagonal form, then
 * implicit QL with Wilkinson shifts (Bowdler, Martin, Reinsch & Wilkinson
 * 1968). O(n^3); allocates 3n doubles. Absolute accuracy ~ eps * ||a||.
 * Returns 0, -1 out of memory, -2 if an eigenvalue did not converge in 60
 * iterations (w then holds approximations). */
int condition_eigenvalues(double *a, size_t n, double *w);

#endif
