/* Dense matrix kernels; see matrix.h. */
#include "matrix.h"

#include <string.h>

/* The inner loops run over independent columns j, so vectorizing them
 * (AVX2 where the CPU has it; no FMA) keeps every sum's order: the same
 * bits from every clone. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize")
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define MAT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MAT_CLONES
#endif

/* Block sizes: a KB x NB panel of b (64 x 256 doubles = 128 KiB) stays in L2
 * while every row of a sweeps over it; a c row segment (2 KiB) stays in L1. */
#define MAT_KB 64
#define MAT_NB 256

void mat_transpose(const double *a, size_t rows, size_t cols, double *out)
{
	/* blocked so that both sides stay in cache for large matrices */
	const size_t bs = 32;

	for (size_t i0 = 0; i0 < rows; i0 += bs)
		for (size_t j0 = 0; j0 < cols; j0 += bs)
			for (size_t i = i0; i < rows && i < i0 + bs; i++)
				for (size_t j = j0; j < cols && j < j0 + bs; j++)
					out[j * rows + i] = a[i * cols + j];
}

/* One row of c over columns [0, nn): c += sum over kk in [k0, k1) of
 * a[kk] * b[kk][.], four terms at a time in a register, in kk order. */
static inline void row_update(double *restrict c, const double *restrict a,
		       const double *restrict b, size_t ldb, size_t k0,
		       size_t k1, size_t nn)
{
	size_t kk = k0;

	for (; kk + 4 <= k1; kk += 4) {
		const double a0 = a[kk], a1 = a[kk + 1];
		const double a2 = a[kk + 2], a3 = a[kk + 3];
		const double *b0 = b + kk * ldb, *b1 = b0 + ldb;
		const double *b2 = b1 + ldb, *b3 = b2 + ldb;

		for (size_t j = 0; j < nn; j++) {
			double t = c[j];

			t += a0 * b0[j];
			t += a1 * b1[j];
			t += a2 * b2[j];
			t += a3 * b3[j];
			c[j] = t;
		}
	}
	for (; kk < k1; kk++) {
		const double a0 = a[kk];
		const double *b0 = b + kk * ldb;

		for (size_t j = 0; j < nn; j++)
			c[j] += a0 * b0[j];
	}
}

MAT_CLONES
void mat_mul_add(size_t m, size_t k, size_t n, const double *a, size_t lda,
		 const double *b, size_t ldb, double *c, size_t ldc)
{
	for (size_t j0 = 0; j0 < n; j0 += MAT_NB) {
		size_t nn = n - j0 < MAT_NB ? n - j0 : MAT_NB;

		for (size_t k0 = 0; k0 < k; k0 += MAT_KB) {
			size_t k1 = k - k0 < MAT_KB ? k : k0 + MAT_KB;

			for (size_t i = 0; i < m; i++)
				row_update(c + i * ldc + j0, a + i * lda,
					   b + j0, ldb, k0, k1, nn);
		}
	}
}

void mat_mul_nt(size_t m, size_t k, size_t n, const double *a, const double *b,
		double *c)
{
	/* blocked over j so a band of b's rows is reused by every row of a */
	const size_t bs = 32;

	for (size_t j0 = 0; j0 < n; j0 += bs) {
		size_t j1 = n - j0 < bs ? n : j0 + bs;

		for (size_t i = 0; i < m; i++) {
			const double *ai = a + i * k;

			for (size_t j = j0; j < j1; j++) {
				const double *bj = b + j * k;
				double s = 0.0;

				for (size_t t = 0; t < k; t++)
					s += ai[t] * bj[t];
				c[i * n + j] = s;
			}
		}
	}
}

void mat_mul_tn(size_t m, size_t k, size_t n, const double *a, const double *b,
		double *c)
{
	/* c row j = sum over i of a[i][j] * b row i: rank-one row updates */
	memset(c, 0, m * n * sizeof(*c));
	for (size_t j0 = 0; j0 < n; j0 += MAT_NB) {
		size_t nn = n - j0 < MAT_NB ? n - j0 : MAT_NB;

		for (size_t i = 0; i < k; i++) {
			const double *ai = a + i * m;
			const double *bi = b + i * n + j0;

			for (size_t j = 0; j < m; j++) {
				const double w = ai[j];
				double *cj = c + j * n + j0;

				for (size_t t = 0; t < nn; t++)
					cj[t] += w * bi[t];
			}
		}
	}
}
