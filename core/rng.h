/* Seeded random number generators as explicit state: numpy's legacy
 * RandomState stream (MT19937 + polar Gaussian), bit for bit, and a fast
 * xoshiro256** + ziggurat stream that is NOT numpy-identical. */
#ifndef GRADGUARD_RNG_H
#define GRADGUARD_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RNG_MT_N 624

enum rng_kind {
	RNG_NUMPY,  /* MT19937 (Matsumoto & Nishimura 1998), numpy legacy */
	RNG_FAST    /* xoshiro256** (Blackman & Vigna), ziggurat normals */
};

/* One stream. Plain data: copy it to fork a stream, no free needed. */
struct rng {
	enum rng_kind kind;
	uint32_t mt[RNG_MT_N];   /* RNG_NUMPY */
	unsigned mti;
	bool has_gauss;          /* numpy's cached second polar deviate */
	double gauss;
	uint64_t s[4];           /* RNG_FAST */
};

/* Seeds r. RNG_NUMPY: exactly np.random.seed(seed) (init_genrand, which
 * numpy 1.24 uses for an integer seed; empty Gaussian cache). RNG_FAST:
 * xoshiro256** state from four splitmix64 outputs started at seed. */
void rng_seed(struct rng *r, enum rng_kind kind, uint32_t seed);

/* Next raw 32-bit output (RNG_FAST: the upper half of a 64-bit output). */
uint32_t rng_u32(struct rng *r);

/* A double in [0, 1) with 53 random bits. RNG_NUMPY: numpy's
 * random_sample(), ((a >> 5) * 2^26 + (b >> 6)) / 2^53. */
double rng_double(struct rng *r);

/* A standard normal deviate. RNG_NUMPY: numpy's legacy_gauss (Marsaglia
 * polar method, returns f*x2 and caches f*x1 for the next call).
 * RNG_FAST: Marsaglia & Tsang ziggurat, 256 strips. */
double rng_gauss(struct rng *r);

/* out[i] = rng_gauss(r) * mul for i < n (numpy: randn(...) * mul). */
void rng_fill_gauss(struct rng *r, double *out, size_t n, double mul);

/* out[i] = low + (high - low) * rng_double(r) (numpy's legacy
 * uniform(low, high, n)). */
void rng_fill_uniform(struct rng *r, double *out, size_t n, double low,
		      double high);

/* Standard normals truncated to [-2, 2] by rejection, then / TRUNC2_STD
 * and * mul, so the result has standard deviation mul. Rejected draws are
 * consumed from the stream (one rng_gauss call per try). */
void rng_fill_truncated(struct rng *r, double *out, size_t n, double mul);

/* Standard deviation of N(0,1) truncated to [-2, 2]. */
#define RNG_TRUNC2_STD 0.87962566103423978

#endif
