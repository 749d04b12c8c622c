/* Dense row-major double matrices: the kernels the numeric core shares. Each
 * output element is summed in increasing inner index, so a column's value does
 * not depend on the other columns computed with it (batch/thread invariant). */
#ifndef GRADGUARD_MATRIX_H
#define GRADGUARD_MATRIX_H

#include <stddef.h>

#include "isa.h"

/* out (cols x rows) = a (rows x cols) transposed; out and a must not alias. */
void mat_transpose(const double *a, size_t rows, size_t cols, double *out);

/* c (m x n, row stride ldc) += a (m x k, stride lda) * b (k x n, stride ldb).
 * Blocked over k and n for cache reuse; c must not alias a or b. */
void mat_mul_add(size_t m, size_t k, size_t n, const double *a, size_t lda,
		 const double *b, size_t ldb, double *c, size_t ldc);
/* The same with a chosen instruction set (see isa.h; tests compare them). */
void mat_mul_add_isa(enum isa isa, size_t m, size_t k, size_t n,
		     const double *a, size_t lda, const double *b, size_t ldb,
		     double *c, size_t ldc);

/* c (m x n) = a (m x k) * b^T where b is n x k (dense strides). Used for
 * weight gradients dW = dZ A^T; c must not alias a or b. */
void mat_mul_nt(size_t m, size_t k, size_t n, const double *a, const double *b,
		double *c);

/* c (m x n) = a^T * b where a is k x m and b is k x n (dense strides). Used
 * for dA = W^T dZ; c must not alias a or b. */
void mat_mul_tn(size_t m, size_t k, size_t n, const double *a, const double *b,
		double *c);

#endif
