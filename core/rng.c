/* numpy-identical MT19937 stream and a fast xoshiro256** + ziggurat stream;
 * see rng.h. All state lives in struct rng (no globals). */
#include "core/rng.h"

#include <math.h>

#include "core/rng_ziggurat.h"

#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfu
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu

/* init_genrand (Matsumoto & Nishimura 1998), numpy's mt19937_seed. */
static void mt_seed(struct rng *r, uint32_t seed)
{
	r->mt[0] = seed;
	for (unsigned i = 1; i < RNG_MT_N; i++) {
		uint32_t p = r->mt[i - 1];

		r->mt[i] = 1812433253u * (p ^ (p >> 30)) + i;
	}
	r->mti = RNG_MT_N;
	r->has_gauss = false;
	r->gauss = 0.0;
}

static inline uint32_t mt_twist(uint32_t a, uint32_t b, uint32_t m)
{
	uint32_t y = (a & MT_UPPER) | (b & MT_LOWER);

	return m ^ (y >> 1) ^ ((0u - (y & 1u)) & MT_MATRIX_A);
}

/* Regenerates all 624 words (Matsumoto & Nishimura 1998). */
static void mt_refill(uint32_t *mt)
{
	unsigned k;

	for (k = 0; k < RNG_MT_N - MT_M; k++)
		mt[k] = mt_twist(mt[k], mt[k + 1], mt[k + MT_M]);
	for (; k < RNG_MT_N - 1; k++)
		mt[k] = mt_twist(mt[k], mt[k + 1], mt[k + MT_M - RNG_MT_N]);
	mt[RNG_MT_N - 1] = mt_twist(mt[RNG_MT_N - 1], mt[0], mt[MT_M - 1]);
}

static inline uint32_t mt_next(struct rng *r)
{
	uint32_t y;

	if (r->mti >= RNG_MT_N) {
		mt_refill(r->mt);
		r->mti = 0;
	}
	y = r->mt[r->mti++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680u;
	y ^= (y << 15) & 0xefc60000u;
	y ^= y >> 18;
	return y;
}

/* numpy's random_sample: 27 + 26 bits over 2^53. */
static inline double mt_double(struct rng *r)
{
	uint32_t a = mt_next(r) >> 5, b = mt_next(r) >> 6;

	return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

/* numpy's legacy_gauss: Marsaglia polar method, returns f*x2, caches f*x1. */
static inline double mt_gauss(struct rng *r)
{
	double x1, x2, r2, f;

	if (r->has_gauss) {
		r->has_gauss = false;
		x1 = r->gauss;
		r->gauss = 0.0;
		return x1;
	}
	do {
		x1 = 2.0 * mt_double(r) - 1.0;
		x2 = 2.0 * mt_double(r) - 1.0;
		r2 = x1 * x1 + x2 * x2;
	} while (r2 >= 1.0 || r2 == 0.0);
	f = sqrt(-2.0 * log(r2) / r2);
	r->gauss = f * x1;
	r->has_gauss = true;
	return f * x2;
}

static inline uint64_t rotl64(uint64_t x, unsigned k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64 (Steele, Lea & Flood 2014), used only to expand the seed. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* xoshiro256** 1.0 (Blackman & Vigna 2018). */
static inline uint64_t xo_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return out;
}

static inline double xo_double(struct rng *r)
{
	return (double)(xo_next(r) >> 11) * 0x1.0p-53;
}

/* A uniform in (0, 1], safe for log. */
static inline double xo_double_pos(struct rng *r)
{
	return (double)((xo_next(r) >> 11) + 1) * 0x1.0p-53;
}

static const double zig_sign[2] = { 1.0, -1.0 };

/* The rare ziggurat paths: the tail beyond r (Marsaglia 1964) and the
 * wedge test of strip i; NAN asks the caller to draw again. */
static double xo_gauss_slow(struct rng *r, unsigned i, double x)
{
	double a, b, y;

	if (i == 0) {
		do {
			a = -log(xo_double_pos(r)) / ZIG_R;
			b = -log(xo_double_pos(r));
		} while (b + b < a * a);
		return ZIG_R + a;
	}
	y = zig_fi[i] + (zig_fi[i + 1] - zig_fi[i]) * xo_double(r);
	return y < exp(-0.5 * x * x) ? x : (double)NAN;
}

/* Ziggurat (Marsaglia & Tsang 2000), 256 strips, 52-bit abscissa; the strip
 * index (bits 0-7), sign (bit 8) and abscissa (bits 12-63) do not overlap.
 * The sign is a multiplication, not a branch (it would mispredict half the
 * time). */
static inline double xo_gauss(struct rng *r)
{
	for (;;) {
		uint64_t u = xo_next(r);
		unsigned i = (unsigned)(u & 0xff);
		double sign = zig_sign[(u >> 8) & 1];
		int64_t m = (int64_t)(u >> 12);
		double x = (double)m * zig_wi[i];

		if (m < (int64_t)zig_ki[i])
			return sign * x;
		x = xo_gauss_slow(r, i, x);
		if (x == x)
			return sign * x;
	}
}

void rng_seed(struct rng *r, enum rng_kind kind, uint32_t seed)
{
	uint64_t x = seed;

	r->kind = kind;
	mt_seed(r, seed);
	for (unsigned i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint32_t rng_u32(struct rng *r)
{
	if (r->kind == RNG_FAST)
		return (uint32_t)(xo_next(r) >> 32);
	return mt_next(r);
}

double rng_double(struct rng *r)
{
	if (r->kind == RNG_FAST)
		return xo_double(r);
	return mt_double(r);
}

double rng_gauss(struct rng *r)
{
	if (r->kind == RNG_FAST)
		return xo_gauss(r);
	return mt_gauss(r);
}

void rng_fill_gauss(struct rng *r, double *out, size_t n, double mul)
{
	if (r->kind == RNG_FAST) {
		for (size_t i = 0; i < n; i++)
			out[i] = xo_gauss(r) * mul;
	} else {
		for (size_t i = 0; i < n; i++)
			out[i] = mt_gauss(r) * mul;
	}
}

void rng_fill_uniform(struct rng *r, double *out, size_t n, double low,
		      double high)
{
	double range = high - low;

	if (r->kind == RNG_FAST) {
		for (size_t i = 0; i < n; i++)
			out[i] = low + range * xo_double(r);
	} else {
		for (size_t i = 0; i < n; i++)
			out[i] = low + range * mt_double(r);
	}
}

void rng_fill_truncated(struct rng *r, double *out, size_t n, double mul)
{
	for (size_t i = 0; i < n;) {
		double z = r->kind == RNG_FAST ? xo_gauss(r) : mt_gauss(r);

		if (z >= -2.0 && z <= 2.0)
			out[i++] = z / RNG_TRUNC2_STD * mul;
	}
}
