/* Per-feature streaming statistics for z-score normalization: count, mean
 * and M2 (sum of squared deviations) per feature, merged exactly across
 * batches, plus the transforms that use them. Pure C11 + libm. */
#ifndef GRADGUARD_STATS_H
#define GRADGUARD_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stats_status {
	STATS_OK = 0,
	STATS_NOMEM,     /* allocation failed */
	STATS_SHAPE,     /* feature counts differ */
	STATS_OVERFLOW,  /* a result would not be finite (|x - mean| too large
			  * to square in a double): nothing changed */
};

/* Invariants: n_features >= 1; for each feature j, count[j] samples were
 * seen (NaN cells are not counted), mean[j] + mean_lo[j] is their mean as
 * an unevaluated sum (double-double; |mean_lo| <= ulp(mean) / 2, mean is
 * the rounded mean) and m2[j] the sum of squared deviations from it (>= 0).
 * count[j] == 0 means all are 0 (nothing seen). The low part keeps the
 * pairwise merge exact to first order even when the mean is 1e9 times the
 * spread: a mean rounded to double would feed ~ulp(mean) per merge into M2.
 * Importers without it set mean_lo to 0. The arrays share one allocation. */
struct stats {
	size_t n_features;
	uint64_t *count;
	double *mean;
	double *m2;
	double *mean_lo;
};

/* Zeroed statistics for n_features >= 1 features; NULL on OOM or 0. */
struct stats *stats_new(size_t n_features);
/* A deep copy; NULL on OOM. */
struct stats *stats_copy(const struct stats *s);
void stats_free(struct stats *s);
/* Forgets everything seen (keeps n_features). */
void stats_reset(struct stats *s);

/* Adds a batch x (rows x cols, row-major, one sample per row; NaN cells are
 * skipped, the others must be finite) to s; cols must equal s->n_features.
 * Within the batch it uses the corrected two-pass algorithm and merges with
 * Chan et al.'s pairwise rule (stats_batch, then stats_merge). Returns
 * STATS_OK, or STATS_SHAPE, STATS_NOMEM or STATS_OVERFLOW (the batch's own
 * statistics or the merged ones are not finite) with s unchanged. */
enum stats_status stats_add(struct stats *s, const double *x, size_t rows,
			    size_t cols);
/* The statistics of the batch x alone (as stats_add into zeroed statistics)
 * into out, which must have cols features; out is overwritten. Unlike
 * stats_add it does not refuse an overflow: a feature whose spread is too
 * large for a double gets a non-finite m2 (or mean), for the caller to find
 * with stats_finite and report. Allocates nothing. Returns STATS_OK, or
 * STATS_SHAPE with out unchanged. */
enum stats_status stats_batch(struct stats *out, const double *x, size_t rows,
			      size_t cols);
/* dst := dst merged with src (Chan, Golub & LeVeque pairwise update), as if
 * all of src's samples had been added to dst. STATS_SHAPE if sizes differ;
 * STATS_OVERFLOW, with dst unchanged, if a merged mean, mean_lo or m2 would
 * not be finite (stats_merge_finite names the feature). */
enum stats_status stats_merge(struct stats *dst, const struct stats *src);
/* True when stats_merge(dst, src) would produce finite statistics; else
 * false with the first feature that would not in *bad (may be NULL), or
 * SIZE_MAX there when the feature counts differ. Reads only. */
bool stats_merge_finite(const struct stats *dst, const struct stats *src,
			size_t *bad);
/* True when every feature with count > 0 has a finite mean, mean_lo and m2;
 * else false with the first feature that has not in *bad (may be NULL). */
bool stats_finite(const struct stats *s, size_t *bad);

/* var[j] = m2[j] / count[j] (population variance, ddof 0; NAN when count is
 * 0). var has n_features entries. */
void stats_var(const struct stats *s, double *var);
/* scale[j] = sqrt(var[j]), or 1 for a feature indistinguishable from a
 * constant (scikit-learn's rule: var <= n*eps*var + (n*mean*eps)^2, the
 * two-pass error bound of Chan, Golub & LeVeque); constant[j] (may be NULL)
 * is set for those. Features with count 0 get scale NAN. Returns the number
 * of constant features. */
size_t stats_scale(const struct stats *s, double *scale, bool *constant);
/* True with *n when every feature has the same count. */
bool stats_uniform_count(const struct stats *s, uint64_t *n);
/* True when all counts are positive and mean, m2 finite with m2 >= 0. */
bool stats_valid(const struct stats *s);

/* In place over x (rows x cols, row-major): x = (x - mean) / scale. mean
 * NULL skips centring, scale NULL skips scaling. NaN stays NaN. */
void stats_transform(double *x, size_t rows, size_t cols, const double *mean,
		     const double *scale);
/* The inverse: x = x * scale + mean, with the same NULL conventions. */
void stats_inverse(double *x, size_t rows, size_t cols, const double *mean,
		   const double *scale);

#endif
