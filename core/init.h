/* Weight initializers for fully connected layers (zeros, random, He,
 * Xavier, LeCun, Glorot, orthogonal) drawing from an explicit struct rng, in
 * numpy's C order so RNG_NUMPY reproduces the course's numpy expressions. */
#ifndef GRADGUARD_INIT_H
#define GRADGUARD_INIT_H

#include <stddef.h>

#include "core/rng.h"
#include "core/stats.h"

enum init_method {
	INIT_ZEROS,
	INIT_RANDOM,      /* randn * scale (default 0.01) */
	INIT_HE,          /* var 2/fan, fan_in by default (He et al. 2015) */
	INIT_XAVIER,      /* var 1/fan, fan_in by default (the course's) */
	INIT_GLOROT,      /* var 2/(fan_in+fan_out) (Glorot & Bengio 2010) */
	INIT_LECUN,       /* var 1/fan, fan_in by default */
	INIT_ORTHOGONAL,  /* QR of a Gaussian, sign-corrected (Saxe et al. 2014) */
	INIT_METHOD_COUNT
};

enum init_dist {
	INIT_NORMAL,
	INIT_UNIFORM,            /* U(-sqrt(3) std, +sqrt(3) std) */
	INIT_TRUNCATED_NORMAL,   /* N(0,1) cut at +-2, / RNG_TRUNC2_STD, * std */
	INIT_DIST_COUNT
};

enum init_mode {
	INIT_FAN_IN,
	INIT_FAN_OUT,
	INIT_FAN_AVG,
	INIT_MODE_COUNT,
	INIT_MODE_NONE = INIT_MODE_COUNT  /* method has no fan, or: default */
};

enum init_status {
	INIT_OK = 0,
	INIT_EUNSUPPORTED  /* a combination the method does not define */
};

/* Names as the API spells them, indexed by the enums; NULL-terminated. */
extern const char *const init_method_names[];
extern const char *const init_dist_names[];
extern const char *const init_mode_names[];

struct init_spec {
	enum init_method method;
	enum init_dist dist;
	enum init_mode mode;   /* INIT_MODE_NONE: the method's own */
	double scale;          /* 0: default (0.01 for random, gain 1 else) */
};

/* The fan mode the spec really uses: the explicit one, else fan_in for
 * he/xavier/lecun, fan_avg for glorot, INIT_MODE_NONE for the others. */
enum init_mode init_effective_mode(const struct init_spec *s);

/* INIT_OK, or INIT_EUNSUPPORTED for: a mode with zeros/random/orthogonal,
 * a distribution other than normal with zeros/orthogonal, a scale with
 * zeros, a negative or non-finite scale. */
enum init_status init_spec_check(const struct init_spec *s);

/* Standard deviation the entries of a rows x cols (fan_out x fan_in) block
 * are drawn with: sqrt(gain/fan) * scale, computed as numpy would
 * (np.sqrt(2 / fan_in) for he); random: scale; zeros: 0; orthogonal: the
 * RMS of an orthonormal block, scale / sqrt(max(rows, cols)). */
double init_target_std(const struct init_spec *s, size_t rows, size_t cols);

/* Doubles of workspace init_layer needs for a rows x cols block (0 unless
 * orthogonal). */
size_t init_work_size(const struct init_spec *s, size_t rows, size_t cols);

/* Fills w (rows x cols, row-major) for one layer, drawing from r in C
 * order: normal = randn(rows, cols) * std; uniform = uniform(-a, a) with
 * a = sqrt(3.0) * std; orthogonal draws randn(rows, cols) then
 * orthonormalizes. work holds init_work_size(...) doubles (may be NULL when
 * that is 0). Returns INIT_OK or INIT_EUNSUPPORTED (init_spec_check). */
enum init_status init_layer(const struct init_spec *s, struct rng *r,
			    size_t rows, size_t cols, double *w,
			    double *work);

/* The next n entries, in C order, of a rows x cols block of an element-wise
 * method (every method but orthogonal): init_layer of the block equals
 * calls of this for consecutive pieces, so a block can be drawn a row at a
 * time. Returns INIT_OK or INIT_EUNSUPPORTED (orthogonal, bad spec). */
enum init_status init_layer_part(const struct init_spec *s, struct rng *r,
				 size_t rows, size_t cols, double *w, size_t n);

/* Population standard deviation (ddof 0) of v[0..n), two-pass, rescaled
 * when the magnitudes would overflow or underflow the squares. NAN when a
 * value is non-finite, 0 for n == 0. */
double init_pop_std(const double *v, size_t n);

/* The population standard deviation (ddof 0) of a block fed a piece at a
 * time, e.g. the rows of a layer as they are drawn and sent: each piece's
 * mean and M2 by the corrected two-pass (stats_batch), pieces merged with
 * Chan et al.'s pairwise rule (stats_merge). Values are divided by the
 * block's expected magnitude first when it is outside [1e-150, 1e150], so
 * the squares neither overflow nor underflow. */
struct init_std {
	struct stats *all, *piece;
	double *scaled;   /* max_piece doubles */
	size_t max_piece;
	uint64_t fed;     /* values fed since init_std_begin */
	double k;         /* divisor of every value */
};

/* Allocates for pieces of at most max_piece >= 1 values; -1 on OOM (a is
 * then safe to init_std_free). */
int init_std_new(struct init_std *a, size_t max_piece);
void init_std_free(struct init_std *a);
/* Starts a block whose values are of magnitude about `expected` (its
 * target std; 0 or non-finite: no rescaling). */
void init_std_begin(struct init_std *a, double expected);
/* Feeds v[0..n), n <= max_piece. */
void init_std_add(struct init_std *a, const double *v, size_t n);
/* The std of everything fed since init_std_begin: NAN when a value was
 * not finite, 0 when nothing was fed. */
double init_std_result(const struct init_std *a);
/* Feeds a rows x cols block a row at a time and returns its std: the same
 * number init_std_add over the rows of the block as they are drawn gives. */
double init_std_block(struct init_std *a, double expected, const double *w,
		      size_t rows, size_t cols);

#endif
