/* Per-feature streaming statistics (count, mean, M2); see stats.h.
 * Accuracy: batches use the corrected two-pass algorithm and are folded in
 * with Chan, Golub & LeVeque's pairwise merge; never E[x^2] - E[x]^2. */
#include "stats.h"

#include "alloc.h"

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
	s = gg_malloc(sizeof(*s));
	blk = gg_calloc(n_features, sizeof(uint64_t) + 3 * sizeof(double));
	if (!s || !blk) {
		gg_free(s);
		gg_free(blk);
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
	gg_free(s->count);
	gg_free(s);
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

/* One feature's count, mean (hi + lo) and M2. */
struct moments {
	uint64_t n;
	double mean, lo, m2;
};

static struct moments moments_of(const struct stats *s, size_t j)
{
	struct moments m = { s->count[j], s->mean[j], s->mean_lo[j],
			     s->m2[j] };

	return m;
}

static void moments_put(struct stats *s, size_t j, struct moments m)
{
	s->count[j] = m.n;
	s->mean[j] = m.mean;
	s->mean_lo[j] = m.lo;
	s->m2[j] = m.m2;
}

static bool moments_finite(struct moments m)
{
	return m.n == 0 ||
	       (isfinite(m.mean) && isfinite(m.lo) && isfinite(m.m2));
}

/* Chan, Golub & LeVeque (1979) pairwise update of a by b, with the means
 * as double-double (hi + lo). server/store_redis.c's Lua script repeats it
 * operation for operation: change both together. */
static struct moments merge_one(struct moments a, struct moments b)
{
	double na, nb, n, f, delta, dd, t;

	if (b.n == 0)
		return a;
	if (a.n == 0)
		return b;
	na = (double)a.n;
	nb = (double)b.n;
	n = na + nb;
	f = na * nb / n;
	delta = (b.mean - a.mean) + (b.lo - a.lo);
	dd = delta * delta;
	/* f >= 1/2: delta^2 may overflow where delta^2 f does not */
	dd = isinf(dd) ? delta * f * delta : dd * f;
	a.m2 += b.m2 + dd;
	t = a.lo + delta * (nb / n);
	two_sum(a.mean, t, &a.mean, &a.lo);
	a.n += b.n;
	return a;
}

bool stats_merge_finite(const struct stats *dst, const struct stats *src,
			size_t *bad)
{
	if (dst->n_features != src->n_features) {
		if (bad)
			*bad = SIZE_MAX;
		return false;
	}
	for (size_t j = 0; j < dst->n_features; j++) {
		if (moments_finite(merge_one(moments_of(dst, j),
					     moments_of(src, j))))
			continue;
		if (bad)
			*bad = j;
		return false;
	}
	return true;
}

/* Two passes (check, then write) keep dst whole on STATS_OVERFLOW without
 * a scratch allocation; the merge is deterministic, so both passes compute
 * the same values. */
enum stats_status stats_merge(struct stats *dst, const struct stats *src)
{
	if (dst->n_features != src->n_features)
		return STATS_SHAPE;
	if (!stats_merge_finite(dst, src, NULL))
		return STATS_OVERFLOW;
	for (size_t j = 0; j < dst->n_features; j++)
		moments_put(dst, j, merge_one(moments_of(dst, j),
					      moments_of(src, j)));
	return STATS_OK;
}

bool stats_finite(const struct stats *s, size_t *bad)
{
	for (size_t j = 0; j < s->n_features; j++) {
		if (moments_finite(moments_of(s, j)))
			continue;
		if (bad)
			*bad = j;
		return false;
	}
	return true;
}

/* Why two passes and not Welford per element: the batch is in memory, and
 * the corrected two-pass algorithm (Chan, Golub & LeVeque 1983, eq. 1.7:
 * M2 = sum d^2 - (sum d)^2 / n with d = x - shift) is at least as accurate
 * as Welford's update and vectorises row by row over row-major data. The
 * sums live in out's own arrays: count, shift in mean, sum d in mean_lo,
 * sum d^2 in m2. */
/* stats_batch of a single feature, the same operations in the same order
 * with the sums in locals (through out's arrays, which may alias x as far
 * as the compiler knows, every addition waits for a store: 4x slower).
 * False, with out untouched, when the plain sum overflows (the general
 * code's rescue then applies). */
static bool batch_one(struct stats *out, const double *x, size_t n)
{
	uint64_t cnt = 0;
	double shift = 0, s1 = 0, s2 = 0, nd, mb, lob, m2b;

	for (size_t i = 0; i < n; i++) {
		if (isnan(x[i]))
			continue;
		shift += x[i];
		cnt++;
	}
	if (cnt)
		shift /= (double)cnt;
	if (isinf(shift))
		return false;
	for (size_t i = 0; i < n; i++) {
		double dev;

		if (isnan(x[i]))
			continue;
		dev = x[i] - shift;
		s1 += dev;
		s2 += dev * dev;
	}
	stats_reset(out);
	if (!cnt)
		return true;
	nd = (double)cnt;
	two_sum(shift, s1 / nd, &mb, &lob);
	m2b = s2 - s1 * s1 / nd;
	out->count[0] = cnt;
	out->mean[0] = mb;
	out->mean_lo[0] = lob;
	out->m2[0] = m2b < 0 ? 0 : m2b;
	return true;
}

enum stats_status stats_batch(struct stats *out, const double *x, size_t rows,
			      size_t cols)
{
	uint64_t *cnt = out->count;
	double *shift = out->mean, *s1 = out->mean_lo, *s2 = out->m2;
	bool redo = false;

	if (cols != out->n_features)
		return STATS_SHAPE;
	if (cols == 1 && batch_one(out, x, rows))
		return STATS_OK;
	stats_reset(out);
	for (size_t i = 0; i < rows; i++) {
		const double *r = x + i * cols;

		for (size_t j = 0; j < cols; j++) {
			if (isnan(r[j]))
				continue;
			shift[j] += r[j];
			cnt[j]++;
		}
	}
	for (size_t j = 0; j < cols; j++) {
		if (cnt[j])
			shift[j] /= (double)cnt[j];
		if (isinf(shift[j]))
			redo = true;
	}
	/* the sum overflowed (values near DBL_MAX): take sum (x / n) instead,
	 * clamped to DBL_MAX should rounding carry it past; the shift need not
	 * be exact (s1 corrects it). s2 is scratch until the next pass. */
	if (redo) {
		for (size_t i = 0; i < rows; i++) {
			const double *r = x + i * cols;

			for (size_t j = 0; j < cols; j++)
				if (!isnan(r[j]) && isinf(shift[j]))
					s2[j] += r[j] / (double)cnt[j];
		}
		for (size_t j = 0; j < cols; j++) {
			if (isinf(shift[j]))
				shift[j] = isinf(s2[j]) ?
					   copysign(DBL_MAX, s2[j]) : s2[j];
			s2[j] = 0;
		}
	}
	for (size_t i = 0; i < rows; i++) {
		const double *r = x + i * cols;

		for (size_t j = 0; j < cols; j++) {
			double dev;

			if (isnan(r[j]))
				continue;
			dev = r[j] - shift[j];
			s1[j] += dev;
			s2[j] += dev * dev;
		}
	}
	for (size_t j = 0; j < cols; j++) {
		double n, mb, lob, m2b;

		if (!cnt[j])
			continue;
		n = (double)cnt[j];
		two_sum(shift[j], s1[j] / n, &mb, &lob);
		m2b = s2[j] - s1[j] * s1[j] / n;
		if (m2b < 0)
			m2b = 0;
		shift[j] = mb;
		s1[j] = lob;
		s2[j] = m2b;
	}
	return STATS_OK;
}

enum stats_status stats_add(struct stats *s, const double *x, size_t rows,
			    size_t cols)
{
	struct stats *b = NULL;
	enum stats_status rc;

	if (cols != s->n_features)
		return STATS_SHAPE;
	b = stats_new(cols);
	if (!b)
		return STATS_NOMEM;
	rc = stats_batch(b, x, rows, cols);
	if (rc == STATS_OK)
		rc = stats_merge(s, b);
	stats_free(b);
	return rc;
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
			is_const = isfinite(var) && var <= bound;
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
