/* Per-feature streaming statistics (count, mean, M2); see stats.h.
 * Accuracy: batches use the corrected two-pass algorithm and are folded in
 * with Chan, Golub & LeVeque's pairwise merge; never E[x^2] - E[x]^2. */
#include "stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct stats *stats_new(size_t n_features)
{
	struct stats *s = NULL;
	unsigned char *blk = NULL;

	if (n_features == 0 || n_features > SIZE_MAX / 64)
		return NULL;
	s = malloc(sizeof(*s));
	blk = calloc(n_features, sizeof(uint64_t) + 3 * sizeof(double));
	if (!s || !blk) {
		free(s);
		free(blk);
		return NULL;
	}
	s->n_features = n_features;
	s->count = (uint64_t *)(void *)blk;
	s->mean = (double *)(void *)(blk + n_features * sizeof(uint64_t));
	s->m2 = s->mean + n_features;
	s->mean_lo = s->m2 + n_features;
	return s;
}

struct stats *stats_copy(const struct stats *s)
{
	struct stats *c = stats_new(s->n_features);

	if (!c)
		return NULL;
	memcpy(c->count, s->count, s->n_features * sizeof(*s->count));
	memcpy(c->mean, s->mean, s->n_features * sizeof(*s->mean));
	memcpy(c->m2, s->m2, s->n_features * sizeof(*s->m2));
	memcpy(c->mean_lo, s->mean_lo, s->n_features * sizeof(*s->mean_lo));
	return c;
}

void stats_free(struct stats *s)
{
	if (!s)
		return;
	free(s->count);
	free(s);
}

void stats_reset(struct stats *s)
{
	memset(s->count, 0, s->n_features * sizeof(*s->count));
	memset(s->mean, 0, s->n_features * sizeof(*s->mean));
	memset(s->m2, 0, s->n_features * sizeof(*s->m2));
	memset(s->mean_lo, 0, s->n_features * sizeof(*s->mean_lo));
}

/* hi + lo = a + b exactly (Knuth's TwoSum). */
static void two_sum(double a, double b, double *hi, double *lo)
{
	double s = a + b, bb = s - a;

	*hi = s;
	*lo = (a - (s - bb)) + (b - bb);
}

/* Chan, Golub & LeVeque (1979) pairwise update of (n, mean, M2) by
 * (nb, mb, m2b), with the means as double-double (hi + lo). */
static void merge_one(uint64_t *n, double *mean, double *lo, double *m2,
		      uint64_t nb, double mb, double lob, double m2b)
{
	double na_d, nb_d, n_d, delta, t;

	if (nb == 0)
		return;
	if (*n == 0) {
		*n = nb;
		*mean = mb;
		*lo = lob;
		*m2 = m2b;
		return;
	}
	na_d = (double)*n;
	nb_d = (double)nb;
	n_d = na_d + nb_d;
	delta = (mb - *mean) + (lob - *lo);
	*m2 += m2b + delta * delta * (na_d * nb_d / n_d);
	t = *lo + delta * (nb_d / n_d);
	two_sum(*mean, t, mean, lo);
	*n += nb;
}

enum stats_status stats_merge(struct stats *dst, const struct stats *src)
{
	if (dst->n_features != src->n_features)
		return STATS_SHAPE;
	for (size_t j = 0; j < dst->n_features; j++)
		merge_one(&dst->count[j], &dst->mean[j], &dst->mean_lo[j],
			  &dst->m2[j], src->count[j], src->mean[j],
			  src->mean_lo[j], src->m2[j]);
	return STATS_OK;
}

/* Why two passes and not Welford per element: the batch is in memory, and
 * the corrected two-pass algorithm (Chan, Golub & LeVeque 1983, eq. 1.7:
 * M2 = sum d^2 - (sum d)^2 / n with d = x - shift) is at least as accurate
 * as Welford's update and vectorises row by row over row-major data. The
 * result is then merged into s with the pairwise rule, as across batches. */
enum stats_status stats_add(struct stats *s, const double *x, size_t rows,
			    size_t cols)
{
	size_t d = cols;
	uint64_t *cnt = NULL;
	double *shift, *s1, *s2;

	if (cols != s->n_features)
		return STATS_SHAPE;
	cnt = calloc(d, sizeof(uint64_t) + 3 * sizeof(double));
	if (!cnt)
		return STATS_NOMEM;
	shift = (double *)(void *)(cnt + d);
	s1 = shift + d;
	s2 = s1 + d;

	for (size_t i = 0; i < rows; i++) {
		const double *r = x + i * cols;

		for (size_t j = 0; j < d; j++) {
			if (isnan(r[j]))
				continue;
			shift[j] += r[j];
			cnt[j]++;
		}
	}
	for (size_t j = 0; j < d; j++)
		if (cnt[j])
			shift[j] /= (double)cnt[j];
	for (size_t i = 0; i < rows; i++) {
		const double *r = x + i * cols;

		for (size_t j = 0; j < d; j++) {
			double dev;

			if (isnan(r[j]))
				continue;
			dev = r[j] - shift[j];
			s1[j] += dev;
			s2[j] += dev * dev;
		}
	}
	for (size_t j = 0; j < d; j++) {
		double n, mb, lob, m2b;

		if (!cnt[j])
			continue;
		n = (double)cnt[j];
		two_sum(shift[j], s1[j] / n, &mb, &lob);
		m2b = s2[j] - s1[j] * s1[j] / n;
		if (m2b < 0)
			m2b = 0;
		merge_one(&s->count[j], &s->mean[j], &s->mean_lo[j], &s->m2[j],
			  cnt[j], mb, lob, m2b);
	}
	free(cnt);
	return STATS_OK;
}

void stats_var(const struct stats *s, double *var)
{
	for (size_t j = 0; j < s->n_features; j++)
		var[j] = s->count[j] ? s->m2[j] / (double)s->count[j] : NAN;
}

size_t stats_scale(const struct stats *s, double *scale, bool *constant)
{
	size_t n_const = 0;

	for (size_t j = 0; j < s->n_features; j++) {
		double n = (double)s->count[j], var, bound;
		bool is_const = false;

		if (!s->count[j]) {
			scale[j] = NAN;
		} else {
			var = s->m2[j] / n;
			bound = n * DBL_EPSILON * var +
				(n * s->mean[j] * DBL_EPSILON) *
				(n * s->mean[j] * DBL_EPSILON);
			is_const = var <= bound;
			scale[j] = is_const ? 1.0 : sqrt(var);
		}
		if (constant)
			constant[j] = is_const;
		n_const += is_const;
	}
	return n_const;
}

bool stats_uniform_count(const struct stats *s, uint64_t *n)
{
	for (size_t j = 1; j < s->n_features; j++)
		if (s->count[j] != s->count[0])
			return false;
	*n = s->count[0];
	return true;
}

bool stats_valid(const struct stats *s)
{
	for (size_t j = 0; j < s->n_features; j++)
		if (s->count[j] == 0 || !isfinite(s->mean[j]) ||
		    !isfinite(s->mean_lo[j]) ||
		    !isfinite(s->m2[j]) || s->m2[j] < 0)
			return false;
	return true;
}

void stats_transform(double *x, size_t rows, size_t cols, const double *mean,
		     const double *scale)
{
	for (size_t i = 0; i < rows; i++) {
		double *r = x + i * cols;

		if (mean)
			for (size_t j = 0; j < cols; j++)
				r[j] -= mean[j];
		if (scale)
			for (size_t j = 0; j < cols; j++)
				r[j] /= scale[j];
	}
}

void stats_inverse(double *x, size_t rows, size_t cols, const double *mean,
		   const double *scale)
{
	for (size_t i = 0; i < rows; i++) {
		double *r = x + i * cols;

		if (scale)
			for (size_t j = 0; j < cols; j++)
				r[j] *= scale[j];
		if (mean)
			for (size_t j = 0; j < cols; j++)
				r[j] += mean[j];
	}
}
