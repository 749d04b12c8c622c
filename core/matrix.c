/* Dense matrix kernels; see matrix.h. */
#include "matrix.h"

#include <string.h>

/* The inner loops run over independent columns j, so vectorizing them
 * (AVX-512 or AVX2 where the CPU has it, see isa.h; no FMA) keeps every
 * sum's order: the same bits from every loop. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize")
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

/* The tile shapes (rows x columns): 8 x 8 in zmm, 4 x 8 in ymm, 4 x 4 in
 * xmm. */
enum tile { TILE_V2, TILE_V4, TILE_V8 };

#if defined(__GNUC__)
/* Register-blocked micro-kernels: a tile of c held in vector registers
 * while kk runs over [k0, k1), each element summed in kk order as
 * row_update does, so the bits do not depend on which path ran. Each
 * instruction set gets vectors of its own width (wider ones the compiler
 * would split through memory): 8 rows of one 8-double zmm with AVX-512
 * (32 registers), 4 rows of two 4-double ymm with AVX2 and of two
 * 2-double xmm otherwise (16 registers); W columns per tile. */
typedef double mat_v2 __attribute__((vector_size(16)));
typedef double mat_v4 __attribute__((vector_size(32)));
typedef double mat_v8 __attribute__((vector_size(64)));

#define LD(t, r, o) memcpy(&t, c + (r) * ldc + (o), sizeof(t))
#define ST(t, r, o) memcpy(c + (r) * ldc + (o), &t, sizeof(t))
#define AX(t, r, v) t += a[(r) * lda + kk] * v

#define TILE_8x1(name, vt)                                                \
	static inline __attribute__((always_inline)) void name(           \
		double *restrict c, size_t ldc, const double *restrict a, \
		size_t lda, const double *restrict b, size_t ldb,         \
		size_t k0, size_t k1)                                     \
	{                                                                 \
		vt t0, t1, t2, t3, t4, t5, t6, t7, b0;                    \
                                                                          \
		LD(t0, 0, 0), LD(t1, 1, 0), LD(t2, 2, 0), LD(t3, 3, 0);   \
		LD(t4, 4, 0), LD(t5, 5, 0), LD(t6, 6, 0), LD(t7, 7, 0);   \
		for (size_t kk = k0; kk < k1; kk++) {                     \
			memcpy(&b0, b + kk * ldb, sizeof(b0));            \
			AX(t0, 0, b0), AX(t1, 1, b0), AX(t2, 2, b0);      \
			AX(t3, 3, b0), AX(t4, 4, b0), AX(t5, 5, b0);      \
			AX(t6, 6, b0), AX(t7, 7, b0);                     \
		}                                                         \
		ST(t0, 0, 0), ST(t1, 1, 0), ST(t2, 2, 0), ST(t3, 3, 0);   \
		ST(t4, 4, 0), ST(t5, 5, 0), ST(t6, 6, 0), ST(t7, 7, 0);   \
	}

#define TILE_4x2(name, vt)                                                \
	static inline __attribute__((always_inline)) void name(           \
		double *restrict c, size_t ldc, const double *restrict a, \
		size_t lda, const double *restrict b, size_t ldb,         \
		size_t k0, size_t k1)                                     \
	{                                                                 \
		const size_t h = sizeof(vt) / sizeof(double);             \
		vt t0, t1, t2, t3, u0, u1, u2, u3, b0, b1;                \
                                                                          \
		LD(t0, 0, 0), LD(t1, 1, 0), LD(t2, 2, 0), LD(t3, 3, 0);   \
		LD(u0, 0, h), LD(u1, 1, h), LD(u2, 2, h), LD(u3, 3, h);   \
		for (size_t kk = k0; kk < k1; kk++) {                     \
			memcpy(&b0, b + kk * ldb, sizeof(b0));            \
			memcpy(&b1, b + kk * ldb + h, sizeof(b1));        \
			AX(t0, 0, b0), AX(u0, 0, b1), AX(t1, 1, b0);      \
			AX(u1, 1, b1), AX(t2, 2, b0), AX(u2, 2, b1);      \
			AX(t3, 3, b0), AX(u3, 3, b1);                     \
		}                                                         \
		ST(t0, 0, 0), ST(t1, 1, 0), ST(t2, 2, 0), ST(t3, 3, 0);   \
		ST(u0, 0, h), ST(u1, 1, h), ST(u2, 2, h), ST(u3, 3, h);   \
	}

TILE_8x1(tile_v8, mat_v8)
TILE_4x2(tile_v4, mat_v4)
TILE_4x2(tile_v2, mat_v2)

static inline __attribute__((always_inline)) void
tile_update(enum tile t, double *restrict c, size_t ldc,
	    const double *restrict a, size_t lda, const double *restrict b,
	    size_t ldb, size_t k0, size_t k1)
{
	if (t == TILE_V8)
		tile_v8(c, ldc, a, lda, b, ldb, k0, k1);
	else if (t == TILE_V4)
		tile_v4(c, ldc, a, lda, b, ldb, k0, k1);
	else
		tile_v2(c, ldc, a, lda, b, ldb, k0, k1);
}
#define MAT_TILES 1
#else
#define MAT_TILES 0
#endif

static inline __attribute__((always_inline)) void
mul_add(enum tile t, size_t m, size_t k, size_t n, const double *a,
	size_t lda, const double *b, size_t ldb, double *c, size_t ldc)
{
	size_t R = t == TILE_V8 ? 8 : 4, W = t == TILE_V2 ? 4 : 8;
	size_t mt = MAT_TILES ? m / R * R : 0;

	for (size_t j0 = 0; j0 < n; j0 += MAT_NB) {
		size_t nn = n - j0 < MAT_NB ? n - j0 : MAT_NB;
		size_t nt = MAT_TILES ? nn / W * W : 0;

		for (size_t k0 = 0; k0 < k; k0 += MAT_KB) {
			size_t k1 = k - k0 < MAT_KB ? k : k0 + MAT_KB;

#if MAT_TILES
			/* W-column strips of b stay in L1 across the rows */
			for (size_t j = 0; j < nt; j += W)
				for (size_t i = 0; i < mt; i += R)
					tile_update(t, c + i * ldc + j0 + j,
						    ldc, a + i * lda, lda,
						    b + j0 + j, ldb, k0, k1);
#endif
			for (size_t i = 0; i < m; i++) {
				size_t from = i < mt ? nt : 0;

				if (from < nn)
					row_update(c + i * ldc + j0 + from,
						   a + i * lda, b + j0 + from,
						   ldb, k0, k1, nn - from);
			}
		}
	}
}

ISA_TARGET_AVX512 static void mul_add_avx512(size_t m, size_t k, size_t n,
					     const double *a, size_t lda,
					     const double *b, size_t ldb,
					     double *c, size_t ldc)
{
	mul_add(TILE_V8, m, k, n, a, lda, b, ldb, c, ldc);
}

ISA_TARGET_AVX2 static void mul_add_avx2(size_t m, size_t k, size_t n,
					 const double *a, size_t lda,
					 const double *b, size_t ldb, double *c,
					 size_t ldc)
{
	mul_add(TILE_V4, m, k, n, a, lda, b, ldb, c, ldc);
}

void mat_mul_add_isa(enum isa isa, size_t m, size_t k, size_t n,
		     const double *a, size_t lda, const double *b, size_t ldb,
		     double *c, size_t ldc)
{
	switch (isa_resolve(isa)) {
	case ISA_AVX512:
		mul_add_avx512(m, k, n, a, lda, b, ldb, c, ldc);
		return;
	case ISA_AVX2:
		mul_add_avx2(m, k, n, a, lda, b, ldb, c, ldc);
		return;
	default:
		mul_add(TILE_V2, m, k, n, a, lda, b, ldb, c, ldc);
	}
}

void mat_mul_add(size_t m, size_t k, size_t n, const double *a, size_t lda,
		 const double *b, size_t ldb, double *c, size_t ldc)
{
	mat_mul_add_isa(ISA_BEST, m, k, n, a, lda, b, ldb, c, ldc);
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
