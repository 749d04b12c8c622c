/* Second-moment condition numbers via symmetric eigenvalues; see condition.h. */
#include "condition.h"

#include "alloc.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#define QL_MAX_ITER 60

/* Householder (1958) reduction of the symmetric a to tridiagonal form:
 * diagonal into d, subdiagonal into e[0 .. n-2]; a is overwritten. Each
 * step reflects the column below the diagonal onto its first entry and
 * applies B <- H B H = B - v w^T - w v^T to the trailing block B, where
 * p = beta B v, w = p - (beta/2)(v^T p) v, beta = 2 / v^T v. */
static void tridiagonalize(double *a, size_t n, double *d, double *e,
			   double *v, double *p)
{
	for (size_t k = 0; k + 2 < n; k++) {
		size_t m = n - k - 1;   /* trailing block is rows k+1 .. n-1 */
		double *blk = a + (k + 1) * n + (k + 1);
		double norm = 0, alpha, vv = 0, beta, vp = 0, half;

		d[k] = a[k * n + k];
		for (size_t i = 0; i < m; i++) {
			v[i] = a[(k + 1 + i) * n + k];
			norm = hypot(norm, v[i]);
		}
		if (norm == 0) {
			e[k] = 0;
			continue;
		}
		alpha = v[0] > 0 ? -norm : norm;
		v[0] -= alpha;
		e[k] = alpha;
		for (size_t i = 0; i < m; i++)
			vv += v[i] * v[i];
		if (vv == 0)
			continue;
		beta = 2 / vv;
		for (size_t i = 0; i < m; i++) {
			const double *row = blk + i * n;
			double s = 0;

			for (size_t j = 0; j < m; j++)
				s += row[j] * v[j];
			p[i] = beta * s;
			vp += v[i] * p[i];
		}
		half = 0.5 * beta * vp;
		for (size_t i = 0; i < m; i++)
			p[i] -= half * v[i];    /* p is now w */
		for (size_t i = 0; i < m; i++) {
			double *row = blk + i * n;

			for (size_t j = 0; j < m; j++)
				row[j] -= v[i] * p[j] + p[i] * v[j];
		}
	}
	if (n >= 2) {
		d[n - 2] = a[(n - 2) * n + (n - 2)];
		e[n - 2] = a[(n - 1) * n + (n - 2)];
	}
	d[n - 1] = a[(n - 1) * n + (n - 1)];
	e[n - 1] = 0;
}

/* Implicit QL with Wilkinson shifts on the tridiagonal (d, e); eigenvalues
 * end up in d. Returns 0 or -1 (no convergence). */
static int tridiagonal_ql(double *d, double *e, size_t n)
{
	for (size_t l = 0; l < n; l++) {
		int iter = 0;
		size_t m;

		for (;;) {
			double g, r, s, c, p, f, b;
			size_t i;
			bool deflated = false;

			/* find a negligible subdiagonal entry at or after l */
			for (m = l; m + 1 < n; m++)
				if (fabs(e[m]) <= DBL_EPSILON *
						  (fabs(d[m]) + fabs(d[m + 1])))
					break;
			if (m == l)
				break;
			if (++iter > QL_MAX_ITER)
				return -1;
			/* shift: eigenvalue of the leading 2x2 closer to d[l] */
			g = (d[l + 1] - d[l]) / (2 * e[l]);
			r = hypot(g, 1);
			g = d[m] - d[l] + e[l] / (g + copysign(r, g));
			s = c = 1;
			p = 0;
			/* chase the bulge from m-1 up to l with Givens rotations */
			for (i = m; i-- > l;) {
				f = s * e[i];
				b = c * e[i];
				r = hypot(f, g);
				e[i + 1] = r;
				if (r == 0) {
					d[i + 1] -= p;
					e[m] = 0;
					deflated = true;
					break;
				}
				s = f / r;
				c = g / r;
				g = d[i + 1] - p;
				r = (d[i] - g) * s + 2 * c * b;
				p = s * r;
				d[i + 1] = g + p;
				g = c * r - b;
			}
			if (deflated)
				continue;
			d[l] -= p;
			e[l] = g;
			e[m] = 0;
		}
	}
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

int condition_eigenvalues(double *a, size_t n, double *w)
{
	double *e, *v, *p;
	int rc;

	if (n == 0)
		return 0;
	e = gg_malloc(3 * n * sizeof(double));
	if (!e)
		return -1;
	v = e + n;
	p = v + n;
	tridiagonalize(a, n, w, e, v, p);
	rc = tridiagonal_ql(w, e, n) == 0 ? 0 : -2;
	gg_free(e);
	qsort(w, n, sizeof(double), cmp_double);
	return rc;
}

enum cond_status condition_second_moment(const double *x, size_t rows,
					 size_t cols, const double *mean,
					 const double *scale, double *kappa,
					 size_t *used)
{
	size_t d = cols, m = 0;
	double *a = NULL, *z, *w, lo = INFINITY, hi = -INFINITY;
	enum cond_status rc = COND_OK;

	*kappa = NAN;
	if (used)
		*used = 0;
	a = gg_calloc(d * d + 2 * d, sizeof(double));
	if (!a)
		return COND_NOMEM;
	z = a + d * d;
	w = z + d;
	for (size_t i = 0; i < rows; i++) {
		const double *r = x + i * cols;
		bool complete = true;

		for (size_t j = 0; j < d && complete; j++) {
			z[j] = r[j];
			if (mean)
				z[j] -= mean[j];
			if (scale)
				z[j] /= scale[j];
			complete = !isnan(z[j]);
		}
		if (!complete)
			continue;
		m++;
		for (size_t j = 0; j < d; j++)
			for (size_t k = j; k < d; k++)
				a[j * d + k] += z[j] * z[k];
	}
	if (used)
		*used = m;
	if (m == 0) {
		rc = COND_EMPTY;
		goto out;
	}
	for (size_t j = 0; j < d; j++)
		for (size_t k = j; k < d; k++)
			a[k * d + j] = a[j * d + k] /= (double)m;
	switch (condition_eigenvalues(a, d, w)) {
	case 0:
		break;
	case -1:
		rc = COND_NOMEM;
		goto out;
	default:
		rc = COND_NOCONVERGE;
		goto out;
	}
	for (size_t j = 0; j < d; j++) {
		lo = fmin(lo, w[j]);
		hi = fmax(hi, w[j]);
	}
	if (!(hi > 0) || !isfinite(hi) || lo <= (double)d * DBL_EPSILON * hi) {
		*kappa = INFINITY;
		rc = COND_SINGULAR;
		goto out;
	}
	*kappa = hi / lo;
out:
	gg_free(a);
	return rc;
}
