/* Forward / backward signal diagnosis at initialization; see diagnose.h.
 * The question is the one of Glorot & Bengio 2010 and He et al. 2015: does
 * the spread of activations and gradients survive the depth? */
#include "core/diagnose.h"

#include <math.h>
#include <stdbool.h>

#include "core/init.h"

const char *const diag_activation_names[] = {
	"relu", "tanh", "sigmoid", "linear", NULL
};
const char *const diag_verdict_names[] = {
	"stable", "vanishing", "exploding", NULL
};

size_t diag_work_size(const size_t *dims, size_t n_layers, size_t batch)
{
	size_t sum = 0, big = 0;

	for (size_t l = 0; l <= n_layers; l++) {
		sum += dims[l];
		if (dims[l] > big)
			big = dims[l];
	}
	return batch * (sum + 2 * big);
}

static double activate(enum diag_activation act, double z)
{
	switch (act) {
	case DIAG_RELU:
		return z > 0 ? z : 0.0;
	case DIAG_TANH:
		return tanh(z);
	case DIAG_SIGMOID:
		return 1.0 / (1.0 + exp(-z));
	default:
		return z;
	}
}

/* g'(z) written in terms of a = g(z). */
static double derivative(enum diag_activation act, double a)
{
	switch (act) {
	case DIAG_RELU:
		return a > 0 ? 1.0 : 0.0;
	case DIAG_TANH:
		return 1.0 - a * a;
	case DIAG_SIGMOID:
		return a * (1.0 - a);
	default:
		return 1.0;
	}
}

/* z (rows x batch) = w (rows x inner) a (inner x batch). Four k at a time
 * and two columns per step (so the compiler can pair them in SIMD); every
 * z[i][b] still sums over k in increasing order. */
static void matmul(const double *restrict w, const double *restrict a,
		   size_t rows, size_t inner, size_t batch,
		   double *restrict z)
{
	for (size_t i = 0; i < rows; i++) {
		double *restrict zi = z + i * batch;
		const double *wi = w + i * inner;
		size_t k = 0, b;

		for (b = 0; b < batch; b++)
			zi[b] = 0.0;
		for (; k + 4 <= inner; k += 4) {
			const double *a0 = a + k * batch, *a1 = a0 + batch;
			const double *a2 = a1 + batch, *a3 = a2 + batch;
			double w0 = wi[k], w1 = wi[k + 1], w2 = wi[k + 2];
			double w3 = wi[k + 3];

			for (b = 0; b + 2 <= batch; b += 2) {
				zi[b] = (((zi[b] + w0 * a0[b]) + w1 * a1[b]) +
					 w2 * a2[b]) + w3 * a3[b];
				zi[b + 1] = (((zi[b + 1] + w0 * a0[b + 1]) +
					      w1 * a1[b + 1]) + w2 * a2[b + 1]) +
					    w3 * a3[b + 1];
			}
			for (; b < batch; b++)
				zi[b] = (((zi[b] + w0 * a0[b]) + w1 * a1[b]) +
					 w2 * a2[b]) + w3 * a3[b];
		}
		for (; k < inner; k++) {
			const double *ak = a + k * batch;
			double wk = wi[k];

			for (b = 0; b < batch; b++)
				zi[b] += wk * ak[b];
		}
	}
}

/* out (inner x batch) = w^T (inner x rows) dz (rows x batch), four rows of
 * dz per pass, each output summed over i in increasing order. */
static void matmul_t(const double *restrict w, const double *restrict dz,
		     size_t rows, size_t inner, size_t batch,
		     double *restrict out)
{
	size_t i = 0, b;

	for (b = 0; b < inner * batch; b++)
		out[b] = 0.0;
	for (; i + 4 <= rows; i += 4) {
		const double *d0 = dz + i * batch, *d1 = d0 + batch;
		const double *d2 = d1 + batch, *d3 = d2 + batch;

		for (size_t k = 0; k < inner; k++) {
			double *restrict ok = out + k * batch;
			double w0 = w[i * inner + k], w1 = w[(i + 1) * inner + k];
			double w2 = w[(i + 2) * inner + k];
			double w3 = w[(i + 3) * inner + k];

			for (b = 0; b + 2 <= batch; b += 2) {
				ok[b] = (((ok[b] + w0 * d0[b]) + w1 * d1[b]) +
					 w2 * d2[b]) + w3 * d3[b];
				ok[b + 1] = (((ok[b + 1] + w0 * d0[b + 1]) +
					      w1 * d1[b + 1]) + w2 * d2[b + 1]) +
					    w3 * d3[b + 1];
			}
			for (; b < batch; b++)
				ok[b] = (((ok[b] + w0 * d0[b]) + w1 * d1[b]) +
					 w2 * d2[b]) + w3 * d3[b];
		}
	}
	for (; i < rows; i++) {
		const double *di = dz + i * batch;

		for (size_t k = 0; k < inner; k++) {
			double *restrict ok = out + k * batch;
			double wk = w[i * inner + k];

			for (b = 0; b < batch; b++)
				ok[b] += wk * di[b];
		}
	}
}

/* Adds |x| to a scaled sum of squares, norm = scale sqrt(ssq) (LAPACK
 * dlassq: the squares cannot overflow). */
static void ssq_add(double *scale, double *ssq, double x)
{
	double e = fabs(x);

	if (e == 0)
		return;
	if (*scale < e) {
		*ssq = 1.0 + *ssq * (*scale / e) * (*scale / e);
		*scale = e;
	} else {
		*ssq += (e / *scale) * (e / *scale);
	}
}

/* sqrt(mean over the batch columns of ||dz[:, s]||^2) = ||dz||_F / sqrt(batch);
 * NAN if an entry is non-finite. */
static double rms_column_norm(const double *dz, size_t n, size_t batch)
{
	double scale = 0, ssq = 1;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(dz[i]))
			return NAN;
		ssq_add(&scale, &ssq, dz[i]);
	}
	return scale * sqrt(ssq / (double)batch);
}

/* Scales each column of da (rows x batch) to unit Euclidean norm (a zero
 * column stays zero). */
static void unit_columns(double *da, size_t rows, size_t batch)
{
	for (size_t b = 0; b < batch; b++) {
		double scale = 0, ssq = 1, norm;

		for (size_t i = 0; i < rows; i++)
			ssq_add(&scale, &ssq, da[i * batch + b]);
		norm = scale * sqrt(ssq);
		for (size_t i = 0; norm > 0 && i < rows; i++)
			da[i * batch + b] /= norm;
	}
}

enum diag_verdict diag_run(const double *const w[], const size_t *dims,
			   size_t n_layers, enum diag_activation act,
			   size_t batch, struct rng *r, double *work,
			   double *act_std, double *grad_norm)
{
	size_t sum = 0, big = 0, off = 0, l;
	double *acts = work, *da, *spare;

	for (l = 0; l <= n_layers; l++) {
		sum += dims[l];
		if (dims[l] > big)
			big = dims[l];
	}
	da = work + batch * sum;
	spare = da + batch * big;
	for (l = 0; l < n_layers; l++)
		act_std[l] = grad_norm[l] = NAN;

	rng_fill_gauss(r, acts, dims[0] * batch, 1.0);
	for (l = 1; l <= n_layers; l++) {
		double *prev = acts + off, *cur = prev + dims[l - 1] * batch;
		size_t n = dims[l] * batch;

		matmul(w[l - 1], prev, dims[l], dims[l - 1], batch, cur);
		for (size_t i = 0; i < n; i++)
			cur[i] = activate(act, cur[i]);
		act_std[l - 1] = init_pop_std(cur, n);
		if (!isfinite(act_std[l - 1]))
			return diag_verdict(act_std, grad_norm, n_layers,
					    NULL, NULL);
		off += dims[l - 1] * batch;
	}

	/* off is A_L's offset now; walk back down from a unit-norm output
	 * error per sample (a random direction) */
	rng_fill_gauss(r, da, dims[n_layers] * batch, 1.0);
	unit_columns(da, dims[n_layers], batch);
	for (l = n_layers; l >= 1; l--) {
		double *al = acts + off;
		size_t n = dims[l] * batch;

		for (size_t i = 0; i < n; i++)
			da[i] *= derivative(act, al[i]);
		grad_norm[l - 1] = rms_column_norm(da, n, batch);
		if (!isfinite(grad_norm[l - 1]))
			break;
		if (l > 1) {
			double *t = da;

			matmul_t(w[l - 1], da, dims[l], dims[l - 1], batch,
				 spare);
			da = spare;
			spare = t;
		}
		off -= dims[l - 1] * batch;
	}
	return diag_verdict(act_std, grad_norm, n_layers, NULL, NULL);
}

enum diag_verdict diag_verdict(const double *act_std,
			       const double *grad_norm, size_t n_layers,
			       double *r_a, double *r_g)
{
	double ra = NAN, rg = NAN;
	bool finite = n_layers > 0;

	for (size_t l = 0; l < n_layers; l++)
		if (!isfinite(act_std[l]) || !isfinite(grad_norm[l]))
			finite = false;
	if (n_layers > 0) {
		ra = act_std[n_layers - 1] / act_std[0];
		rg = grad_norm[0] / grad_norm[n_layers - 1];
	}
	if (r_a)
		*r_a = ra;
	if (r_g)
		*r_g = rg;
	if (!finite || ra > DIAG_EXPLODING_RATIO || rg > DIAG_EXPLODING_RATIO)
		return DIAG_EXPLODING;
	/* NAN here is 0/0: no signal left to compare */
	if (!(ra >= DIAG_VANISHING_RATIO) || !(rg >= DIAG_VANISHING_RATIO))
		return DIAG_VANISHING;
	return DIAG_STABLE;
}
