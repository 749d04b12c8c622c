/* Vectorizable exp and tanh; see vmath.h.
 *
 * exp: x = k ln2 + r with k = round(x / ln2) and ln2 split in two constants
 * (the high part has 32 significant bits, so k * LN2_HI is exact and
 * x - k * LN2_HI loses nothing), |r| <= ln2 / 2; e^r = 1 + s with
 * s = r + r^2 (1/2! + r/3! + ... + r^11/13!) (Taylor, truncation below
 * 5e-18); the result p * 2^k1 * 2^k2 with k1 + k2 = k, each factor a normal
 * power of two built from exponent bits, so only the last product rounds
 * (also into the subnormal range). Error: at most 0.9 ulp (0.5 from 1 + s,
 * 0.25 from s, the rest from r^2 q).
 *
 * tanh: |x| < 0.55: x + x t P(t), t = x^2 (below); |x| >= 0.55:
 * 1 - 2 / (E + 1) with E = e^2|x| carried as a sum of two doubles from the
 * same reduction and E + 1 compensated, so that only e^r's polynomial
 * (about 0.4 ulp of E) and the quotient's rounding (0.5 ulp of a value
 * <= 0.5) reach the result: at most about 0.9 ulp.
 * The sign is copied from x (tanh(-0) = -0). Both branches are computed for
 * every element and one is selected, so the loop has no branches. */
#include "vmath.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Vectorize these loops at -O2; -fno-trapping-math lets the selects
 * become blends (no effect on any result). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "no-trapping-math")
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VM_X86 1
#define VM_AVX2 __attribute__((target("avx2")))
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
	double r = (xc - kd * LN2_HI) - kd * LN2_LO, s;

	s = 0x1.6124613a86d09p-33;                       /* 1/13! */
	s = s * r + 0x1.1eed8eff8d898p-29;               /* 1/12! */
	s = s * r + 0x1.ae64567f544e4p-26;               /* 1/11! */
	s = s * r + 0x1.27e4fb7789f5cp-22;               /* 1/10! */
	s = s * r + 0x1.71de3a556c734p-19;               /* 1/9! */
	s = s * r + 0x1.a01a01a01a01ap-16;               /* 1/8! */
	s = s * r + 0x1.a01a01a01a01ap-13;               /* 1/7! */
	s = s * r + 0x1.6c16c16c16c17p-10;               /* 1/6! */
	s = s * r + 0x1.1111111111111p-7;                /* 1/5! */
	s = s * r + 0x1.5555555555555p-5;                /* 1/4! */
	s = s * r + 0x1.5555555555555p-3;                /* 1/3! */
	s = s * r + 0.5;
	*kd_out = kd;
	return r + (r * r) * s;
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
	double ax = fabs(x), t = ax * ax, p, s, kd, sc, eh, el, d, dl, q, h;

	p = -0x1.59a834187ce22p-16;
	p = p * t + 0x1.64fd88e9900a4p-14;
	p = p * t - 0x1.ec1091436eb2ap-13;
	p = p * t + 0x1.34c5a8a996cd4p-11;
	p = p * t - 0x1.7d97cfd138c28p-10;
	p = p * t + 0x1.d6d339333f329p-9;
	p = p * t - 0x1.226e32f00cf0cp-7;
	p = p * t + 0x1.664f487713373p-6;
	p = p * t - 0x1.ba1ba1b9fec84p-5;
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
	q = 2.0 / d;
	/* 1 - q exactly as h + l, then the corrections */
	h = 1.0 - q;
	q = h + (((1.0 - h) - q) + q * (dl / d));
	return copysign(ax < TANH_CUT ? p : q, x);
}

/* One loop per kernel and instruction set: the baseline (SSE2 on
 * x86-64) and, where the CPU has it, AVX2 (no FMA: same bits). */
#define VM_LOOPS(name, core)                                              \
	static void name##_base(const double *x, double *y, size_t n)      \
	{                                                                  \
		for (size_t i = 0; i < n; i++)                             \
			y[i] = core(x[i]);                                 \
	}                                                                  \
	VM_AVX2_LOOP(name, core)                                           \
	void name##_isa(enum vm_isa isa, const double *x, double *y,       \
			size_t n)                                          \
	{                                                                  \
		VM_AVX2_CALL(name)                                         \
		name##_base(x, y, n);                                      \
	}                                                                  \
	void name(const double *x, double *y, size_t n)                    \
	{                                                                  \
		name##_isa(VM_BEST, x, y, n);                              \
	}

#ifdef VM_X86
#define VM_AVX2_LOOP(name, core)                                          \
	VM_AVX2 static void name##_avx2(const double *x, double *y,        \
					size_t n)                          \
	{                                                                  \
		for (size_t i = 0; i < n; i++)                             \
			y[i] = core(x[i]);                                 \
	}
#define VM_AVX2_CALL(name)                                                \
	if (isa == VM_BEST && vm_have_avx2()) {                            \
		name##_avx2(x, y, n);                                      \
		return;                                                    \
	}
#else
#define VM_AVX2_LOOP(name, core)
#define VM_AVX2_CALL(name) (void)isa;
#endif

bool vm_have_avx2(void)
{
#ifdef VM_X86
	return __builtin_cpu_supports("avx2");
#else
	return false;
#endif
}

VM_LOOPS(vm_exp, exp_core)
VM_LOOPS(vm_tanh, tanh_core)
