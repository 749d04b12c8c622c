/* Vectorizable exp, tanh and log; see vmath.h.
 *
 * exp: x = k ln2 + r with k = round(x / ln2) and ln2 split in two constants
 * (the high part has 32 significant bits, so k * LN2_HI is exact and
 * x - k * LN2_HI loses nothing), |r| <= ln2 / 2; e^r = 1 + s with
 * s = r + r^2 (1/2! + r/3! + ... + r^11/13!) (Taylor, truncation below
 * 5e-18); the result p * 2^k1 * 2^k2 with k1 + k2 = k, each factor a normal
 * power of two built from exponent bits, so only the last product rounds
 * (also into the subnormal range). Error: below 1 ulp (0.5 from 1 + s, up
 * to 0.25 from rounding r, the rest from s); the largest seen over 10^8
 * inputs against long double is 0.967 ulp, near -152.3 (`bench_kernels
 * --ulps 100000000` prints each kernel's largest error). The polynomial's
 * tail (1/6! on) is summed by Estrin's scheme, the leading terms by
 * Horner's: the tail's extra rounding is scaled by r^4 before it can
 * reach the result, and the shorter dependency chain lets the CPU work
 * on more elements at once.
 *
 * tanh: |x| < 0.55: x + x t P(t), t = x^2 (below); |x| >= 0.55:
 * 1 - 2 / (E + 1) with E = e^2|x| carried as a sum of two doubles from the
 * same reduction and E + 1 compensated, so that only e^r's polynomial
 * (about 0.4 ulp of E) and the quotient's rounding (0.5 ulp of a value
 * <= 0.5) reach the result: about 0.9 ulp at most (0.879 the largest seen).
 * P's tail by Estrin's scheme, its leading terms by Horner's, as in exp
 * (all of P by Estrin's put the largest error at 0.966 ulp, near 0.54).
 * The sign is copied from x (tanh(-0) = -0). Both branches are computed for
 * every element and one is selected, so the loop has no branches.
 *
 * log: x = 2^k f with f in [sqrt(1/2), sqrt(2)) read off the bits
 * (subnormals scaled by 2^54 first), g = f - 1 (exact), s = g / (2 + g),
 * so log f = 2 atanh s = 2s + s R(s^2), R = sum over j >= 1 of
 * 2 s^2j / (2j + 1) (Taylor to j = 10: |s| <= 0.1716, the rest is below
 * 2^-58 of the result). With h = g^2 / 2, 2s = g - h + s h exactly, so
 * log x = k LN2_HI - ((h - (s (h + R) + k LN2_LO)) - g): the leading terms
 * g and k LN2_HI are exact, and the rounded parts are each a small fraction
 * of the result: at most about 0.8 ulp (0.856 the largest seen). */
#include "vmath.h"

#include "isa.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Vectorize these loops at -O2; -fno-trapping-math lets the selects
 * become blends (no effect on any result). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "no-trapping-math")
#endif

#define SHIFT 0x1.8p52                  /* adding it rounds to an integer */
#define INV_LN2 0x1.71547652b82fep0
#define LN2_HI 0x1.62e42feep-1          /* 32 significant bits */
#define LN2_LO 0x1.a39ef35793c76p-33    /* ln 2 - LN2_HI */

/* 2^(k) for an integer-valued kd in [-1022, 1023]: exponent bits. */
static inline __attribute__((always_inline)) double pow2(double kd)
{
	double b = kd + (SHIFT + 1023.0);
	uint64_t u;

	memcpy(&u, &b, sizeof(u));
	u <<= 52;
	memcpy(&b, &u, sizeof(b));
	return b;
}

/* e^xc = (1 + s) 2^kd for a clamped xc (see the top of the file). */
static inline __attribute__((always_inline)) double exp_reduce(double xc, double *kd_out)
{
	double kd = (xc * INV_LN2 + SHIFT) - SHIFT;
	double r = (xc - kd * LN2_HI) - kd * LN2_LO, r2, r4, q0, q1, s;

	/* The tail 1/6! .. 1/13! by Estrin's scheme (a short dependency
	 * chain, so that the CPU overlaps more elements), the leading terms
	 * by Horner's (their rounding is what reaches the result) */
	r2 = r * r;
	r4 = r2 * r2;
	q0 = (0x1.6c16c16c16c17p-10 + 0x1.a01a01a01a01ap-13 * r) +  /* 1/6! */
	     (0x1.a01a01a01a01ap-16 + 0x1.71de3a556c734p-19 * r) * r2;
	q1 = (0x1.27e4fb7789f5cp-22 + 0x1.ae64567f544e4p-26 * r) +
	     (0x1.1eed8eff8d898p-29 + 0x1.6124613a86d09p-33 * r) * r2; /* 1/13! */
	s = q0 + q1 * r4;
	s = s * r + 0x1.1111111111111p-7;                /* 1/5! */
	s = s * r + 0x1.5555555555555p-5;                /* 1/4! */
	s = s * r + 0x1.5555555555555p-3;                /* 1/3! */
	s = s * r + 0.5;
	*kd_out = kd;
	return r + r2 * s;
}

static inline __attribute__((always_inline)) double exp_core(double x)
{
	double xc = x < -746.0 ? -746.0 : x;  /* NaN stays NaN */
	double kd, k1, s;

	xc = xc > 710.0 ? 710.0 : xc;
	s = exp_reduce(xc, &kd);
	/* k = k1 + k2, both halves normal exponents for k in [-1077, 1024] */
	k1 = (kd * 0.5 + SHIFT) - SHIFT;
	return ((1.0 + s) * pow2(k1)) * pow2(kd - k1);
}

/* Odd polynomial for |x| < TANH_CUT, P the degree-10 interpolant of
 * (tanh(sqrt t) - sqrt t) / t^1.5 at Chebyshev nodes of [0, 0.55^2]
 * (fitted in 60-digit arithmetic, coefficients rounded to double). */
#define TANH_CUT 0.55

static inline __attribute__((always_inline)) double tanh_core(double x)
{
	double ax = fabs(x), t = ax * ax, t2, t4, p0, p1, p, s, kd, sc;
	double eh, el, d, dl, q, h, rd;

	/* as in exp: the tail (t^3 on) by Estrin's scheme, the leading
	 * terms by Horner's */
	t2 = t * t;
	t4 = t2 * t2;
	p0 = (-0x1.ba1ba1b9fec84p-5 + 0x1.664f487713373p-6 * t) +
	     (-0x1.226e32f00cf0cp-7 + 0x1.d6d339333f329p-9 * t) * t2;
	p1 = (-0x1.7d97cfd138c28p-10 + 0x1.34c5a8a996cd4p-11 * t) +
	     (-0x1.ec1091436eb2ap-13 + 0x1.64fd88e9900a4p-14 * t) * t2;
	p = (p0 + p1 * t4) + -0x1.59a834187ce22p-16 * (t4 * t4);
	p = p * t + 0x1.1111111111032p-3;
	p = p * t - 0x1.5555555555555p-2;
	p = ax + ax * (t * p);
	/* |x| >= TANH_CUT: 1 - 2 / (E + 1), E = e^2|x| = eh + el carried
	 * to about 2^-60 (|x| clamped to 20, where tanh is 1 in double) */
	s = exp_reduce(2.0 * (ax > 20.0 ? 20.0 : ax), &kd);
	sc = pow2(kd);
	eh = 1.0 + s;
	el = ((1.0 - eh) + s) * sc;
	eh *= sc;
	d = eh + 1.0;
	dl = ((eh - d) + 1.0) + el;
	rd = 1.0 / d;
	q = 2.0 * rd;          /* = 2 / d rounded: doubling is exact */
	/* 1 - q exactly as h + l, then the corrections */
	h = 1.0 - q;
	q = h + (((1.0 - h) - q) + q * (dl * rd));
	return copysign(ax < TANH_CUT ? p : q, x);
}

#define SQRT2 0x1.6a09e667f3bcdp0

static inline __attribute__((always_inline)) double log_core(double x)
{
	bool sub = x < 0x1p-1022, hi;
	double xs = sub ? x * 0x1p54 : x, f, kd, g, s, z, r, h;
	uint64_t u, e;

	memcpy(&u, &xs, sizeof(u));
	e = (u >> 52 & 0x7ff) | 0x4330000000000000u;  /* 2^52 + exponent */
	u = (u & 0x000fffffffffffffu) | 0x3ff0000000000000u;
	memcpy(&f, &u, sizeof(f));                       /* in [1, 2) */
	memcpy(&kd, &e, sizeof(kd));
	kd -= 0x1p52 + 1023.0 + (sub ? 54.0 : 0.0);
	hi = f >= SQRT2;
	kd = hi ? kd + 1.0 : kd;
	f = hi ? f * 0.5 : f;
	g = f - 1.0;
	s = g / (2.0 + g);
	z = s * s;
	r = 0x1.8618618618618p-4;                        /* 2/21 */
	r = r * z + 0x1.af286bca1af28p-4;                /* 2/19 */
	r = r * z + 0x1.e1e1e1e1e1e1ep-4;                /* 2/17 */
	r = r * z + 0x1.1111111111111p-3;                /* 2/15 */
	r = r * z + 0x1.3b13b13b13b14p-3;                /* 2/13 */
	r = r * z + 0x1.745d1745d1746p-3;                /* 2/11 */
	r = r * z + 0x1.c71c71c71c71cp-3;                /* 2/9 */
	r = r * z + 0x1.2492492492492p-2;                /* 2/7 */
	r = r * z + 0x1.999999999999ap-2;                /* 2/5 */
	r = r * z + 0x1.5555555555555p-1;                /* 2/3 */
	r *= z;
	h = 0.5 * g * g;
	r = kd * LN2_HI - ((h - (s * (h + r) + kd * LN2_LO)) - g);
	r = x > 0 ? r : x == 0 ? -HUGE_VAL : NAN;         /* NaN stays NaN */
	return x == HUGE_VAL ? x : r;
}

/* One loop per kernel and instruction set: the baseline (SSE2 on x86-64)
 * and, where the CPU has them, AVX2 and AVX-512 (no FMA: the same bits). */
#define VM_LOOP(attr, fn, core)                                           \
	attr static void fn(const double *x, double *y, size_t n)          \
	{                                                                  \
		for (size_t i = 0; i < n; i++)                             \
			y[i] = core(x[i]);                                 \
	}

#define VM_LOOPS(name, core)                                              \
	VM_LOOP(, name##_base, core)                                       \
	VM_LOOP(ISA_TARGET_AVX2, name##_avx2, core)                        \
	VM_LOOP(ISA_TARGET_AVX512, name##_avx512, core)                    \
	void name##_isa(enum isa isa, const double *x, double *y, size_t n) \
	{                                                                  \
		switch (isa_resolve(isa)) {                                \
		case ISA_AVX512:                                           \
			name##_avx512(x, y, n);                            \
			return;                                            \
		case ISA_AVX2:                                             \
			name##_avx2(x, y, n);                              \
			return;                                            \
		default:                                                   \
			name##_base(x, y, n);                              \
		}                                                          \
	}
#define VM_KERNEL(name, core)                                             \
	VM_LOOPS(name, core)                                               \
	void name(const double *x, double *y, size_t n)                    \
	{                                                                  \
		name##_isa(ISA_BEST, x, y, n);                             \
	}

VM_KERNEL(vm_exp, exp_core)
VM_KERNEL(vm_tanh, tanh_core)
VM_KERNEL(vm_log, log_core)
