/* Fully connected network: forward, cost, back-propagation, perturbed costs.
 * See mlp.h. Costs are computed from the last layer's logits in stable forms
 * (softplus, log-sum-exp) that equal the course definitions exactly. */
#include "mlp.h"

#include "alloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "matrix.h"
#include "vmath.h"

/* Vectorize the elementwise loops over samples (no reordering of any sum;
 * -fno-trapping-math lets compare-and-select become a blend). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "no-trapping-math")
#endif
/* The gradient check's hot loops also get AVX-512 and AVX2 clones (no
 * FMA, no reordered sums: the same bits as the baseline; see isa.h). */
#define MLP_CLONES ISA_CLONES

static const char *const act_names[] = {
	"relu", "leaky_relu", "tanh", "sigmoid", "linear", "softmax"
};

const char *mlp_act_name(enum mlp_act a)
{
	if ((unsigned)a >= sizeof(act_names) / sizeof(act_names[0]))
		return NULL;
	return act_names[a];
}

enum mlp_status mlp_check(const struct mlp *net, size_t *layer)
{
	size_t L = net->n_layers, bad = 0;
	enum mlp_status st = MLP_OK;

	if (L == 0) {
		st = MLP_EINVAL;
		goto out;
	}
	for (size_t l = 0; l <= L; l++)
		if (net->dims[l] == 0) {
			bad = l;
			st = MLP_EINVAL;
			goto out;
		}
	for (size_t l = 1; l < L; l++)
		if (net->act[l - 1] == MLP_SOFTMAX) {
			bad = l;
			st = MLP_ESOFTMAX;
			goto out;
		}
	if (net->act[L - 1] == MLP_SOFTMAX && net->loss != MLP_CCE) {
		st = MLP_ESOFTMAX;
		goto out;
	}
	if ((net->loss == MLP_CCE && net->act[L - 1] != MLP_SOFTMAX) ||
	    (net->loss == MLP_BCE && net->act[L - 1] != MLP_SIGMOID)) {
		bad = L;
		st = MLP_ELOSS;
	}
out:
	if (layer)
		*layer = bad;
	return st;
}

size_t mlp_n_params(const size_t *dims, size_t n_layers)
{
	size_t n = 0;

	for (size_t l = 1; l <= n_layers; l++) {
		size_t a = dims[l], b = dims[l - 1] + 1;

		if (b == 0 || a > SIZE_MAX / b || n > SIZE_MAX - a * b)
			return 0;
		n += a * b;
	}
	return n;
}

size_t mlp_w_offset(const size_t *dims, size_t l)
{
	size_t off = 0;

	for (size_t k = 1; k < l; k++)
		off += dims[k] * (dims[k - 1] + 1);
	return off;
}

/* Widest of layers 1..L (what per-layer buffers must hold). */
static size_t max_width(const struct mlp *net)
{
	size_t w = 1;

	for (size_t l = 1; l <= net->n_layers; l++)
		if (net->dims[l] > w)
			w = net->dims[l];
	return w;
}

/* ---- elementwise pieces ---------------------------------------------- */

static double sigmoid(double z)
{
	double e;

	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	e = exp(z);
	return e / (1.0 + e);
}

/* log(1 + e^z) without overflow: max(z, 0) + log1p(e^-|z|). */
static double softplus(double z)
{
	return (z > 0 ? z : 0.0) + log1p(exp(-fabs(z)));
}

static double act_value(enum mlp_act a, double z)
{
	switch (a) {
	case MLP_RELU:
		return z > 0 ? z : 0.0;
	case MLP_LEAKY_RELU:
		return z > 0 ? z : MLP_LEAKY_SLOPE * z;
	case MLP_TANH:
		vm_tanh(&z, &z, 1);   /* the bits of act_apply's arrays */
		return z;
	case MLP_SIGMOID:
		return sigmoid(z);
	case MLP_LINEAR:
	case MLP_SOFTMAX:
		break;
	}
	return z;
}

/* g'(z) given z and a = g(z); ReLU's derivative at 0 is 0 (as torch). */
static double act_deriv(enum mlp_act a, double z, double y)
{
	switch (a) {
	case MLP_RELU:
		return z > 0 ? 1.0 : 0.0;
	case MLP_LEAKY_RELU:
		return z > 0 ? 1.0 : MLP_LEAKY_SLOPE;
	case MLP_TANH:
		return 1.0 - y * y;
	case MLP_SIGMOID:
		return y * (1.0 - y);
	case MLP_LINEAR:
	case MLP_SOFTMAX:
		break;
	}
	return 1.0;
}

static bool act_has_kink(enum mlp_act a)
{
	return a == MLP_RELU || a == MLP_LEAKY_RELU;
}

/* a[r][s] = g(z[r][s]) over rows x cols with row strides ld (not softmax). */
static void act_apply(enum mlp_act g, const double *z, double *a, size_t rows,
		      size_t cols, size_t ld)
{
	for (size_t r = 0; r < rows; r++) {
		if (g == MLP_TANH) {
			vm_tanh(z + r * ld, a + r * ld, cols);
			continue;
		}
		for (size_t s = 0; s < cols; s++)
			a[r * ld + s] = act_value(g, z[r * ld + s]);
	}
}

/* Samples per pass of the cross-entropy loop (stack arrays). */
#define LOSS_CHUNK 64

/* Per-column cross-entropy sum over rows of y (lse(z) - z) for n columns
 * of z (nL rows, stride ld) against Y (stride ldy, ym columns: column s
 * of z pairs with column s mod ym of Y; n is a multiple of ym), row by row
 * over contiguous columns; per column the same operations in the same
 * order whatever n. mx, e: n doubles of scratch each. */
MLP_CLONES
static void cce_cols(const double *z, size_t ld, const double *Y, size_t ldy,
		     size_t ym, size_t nL, size_t n, double *col, double *mx,
		     double *e)
{
	for (size_t s = 0; s < n; s++)
		mx[s] = z[s];
	for (size_t r = 1; r < nL; r++)
		for (size_t s = 0; s < n; s++)
			if (z[r * ld + s] > mx[s])
				mx[s] = z[r * ld + s];
	for (size_t s = 0; s < n; s++)
		col[s] = 0.0;          /* the sum of exponentials first */
	for (size_t r = 0; r < nL; r++) {
		for (size_t s = 0; s < n; s++)
			e[s] = z[r * ld + s] - mx[s];
		vm_exp(e, e, n);
		for (size_t s = 0; s < n; s++)
			col[s] += e[s];
	}
	vm_log(col, e, n);
	for (size_t s = 0; s < n; s++) {
		mx[s] += e[s];         /* lse */
		col[s] = 0.0;
	}
	for (size_t r = 0; r < nL; r++)
		for (size_t s0 = 0; s0 < n; s0 += ym)
			for (size_t s = 0; s < ym; s++)
				col[s0 + s] += Y[r * ldy + s] *
					       (mx[s0 + s] - z[r * ld + s0 + s]);
}

/* Sum over the m columns of the per-sample loss, from logits z (n_L rows,
 * row stride ld). Per column in row order, then over columns in order. */
static double loss_sum(const struct mlp *net, const double *z, size_t ld,
		       const double *Y, size_t m)
{
	size_t nL = net->dims[net->n_layers];
	enum mlp_act g = net->act[net->n_layers - 1];
	double total = 0.0;

	if (net->loss == MLP_CCE) {
		/* -sum y log softmax(z) = sum y (lse(z) - z), lse by max shift */
		double col[LOSS_CHUNK], mx[LOSS_CHUNK], e[LOSS_CHUNK];

		for (size_t s0 = 0; s0 < m; s0 += LOSS_CHUNK) {
			size_t n = m - s0 < LOSS_CHUNK ? m - s0 : LOSS_CHUNK;

			cce_cols(z + s0, ld, Y + s0, m, n, nL, n, col, mx, e);
			for (size_t s = 0; s < n; s++)
				total += col[s];
		}
		return total;
	}
	for (size_t s = 0; s < m; s++) {
		double col = 0.0;

		switch (net->loss) {
		case MLP_CCE:
			break;
		case MLP_BCE:
			/* -log sigmoid(z) = softplus(-z), -log(1 - sigmoid(z)) = softplus(z) */
			for (size_t r = 0; r < nL; r++) {
				double y = Y[r * m + s], zz = z[r * ld + s];

				col += y * softplus(-zz) + (1.0 - y) * softplus(zz);
			}
			break;
		case MLP_MSE:
			for (size_t r = 0; r < nL; r++) {
				double d = act_value(g, z[r * ld + s]) - Y[r * m + s];

				col += 0.5 * d * d;
			}
			break;
		}
		total += col;
	}
	return total;
}

/* z (nout x cols, stride ldz) = b broadcast + W (nout x nin) a (stride lda). */
static void layer_forward(const double *W, const double *b, size_t nout,
			  size_t nin, const double *a, size_t lda, size_t cols,
			  double *z, size_t ldz)
{
	for (size_t r = 0; r < nout; r++)
		for (size_t s = 0; s < cols; s++)
			z[r * ldz + s] = b[r];
	mat_mul_add(nout, nin, cols, W, nin, a, lda, z, ldz);
}

static double w_sumsq(const struct mlp *net, const double *theta)
{
	double s = 0.0;
	size_t off = 0;

	for (size_t l = 1; l <= net->n_layers; l++) {
		size_t nw = net->dims[l] * net->dims[l - 1];

		for (size_t t = 0; t < nw; t++)
			s += theta[off + t] * theta[off + t];
		off += nw + net->dims[l];
	}
	return s;
}

static double reg_of(const struct mlp *net, double sumsq, size_t m)
{
	return net->l2 * sumsq / (2.0 * (double)m);
}

/* ---- cache ------------------------------------------------------------ */

/* A<l-1>: the input X for the first layer. */
static const double *act_in(const struct mlp_cache *c, size_t l)
{
	return l == 1 ? c->X : c->A[l - 1];
}

struct mlp_cache *mlp_cache_new(const struct mlp *net, size_t m)
{
	size_t L = net->n_layers, nd = 0, w = max_width(net);
	size_t head, size;
	struct mlp_cache *c = NULL;
	unsigned char *blk = NULL;
	double *d;

	for (size_t l = 1; l <= L; l++)
		nd += 2 * net->dims[l] * m;
	if (net->dims[0] > w)
		w = net->dims[0];
	nd += 2 * w * m;
	/* pointer arrays first, doubles after, each 8-byte aligned */
	head = (2 * (L + 1)) * sizeof(double *) + (L + 2) * sizeof(size_t);
	head = (head + sizeof(double) - 1) / sizeof(double) * sizeof(double);
	size = head + nd * sizeof(double);
	c = gg_calloc(1, sizeof(*c));
	blk = gg_malloc(size);
	if (!c || !blk)
		goto fail;
	c->block = blk;
	c->m = m;
	c->Z = (double **)(void *)blk;
	c->A = c->Z + (L + 1);
	c->off = (size_t *)(void *)(c->A + (L + 1));
	d = (double *)(void *)(blk + head);
	c->Z[0] = NULL;
	c->A[0] = NULL;
	for (size_t l = 1; l <= L; l++) {
		c->Z[l] = d;
		d += net->dims[l] * m;
		c->A[l] = d;
		d += net->dims[l] * m;
		c->off[l] = mlp_w_offset(net->dims, l);
	}
	c->off[0] = 0;
	c->off[L + 1] = c->off[L] + net->dims[L] * (net->dims[L - 1] + 1);
	c->dz = d;
	d += w * m;
	c->da = d;
	return c;
fail:
	gg_free(blk);
	gg_free(c);
	return NULL;
}

void mlp_cache_free(struct mlp_cache *c)
{
	if (!c)
		return;
	gg_free(c->block);
	gg_free(c);
}

void mlp_forward(const struct mlp *net, const double *X, const double *Y,
		 struct mlp_cache *c)
{
	size_t L = net->n_layers, m = c->m;
	const double *th = net->theta;

	c->X = X;
	c->Y = Y;
	for (size_t l = 1; l <= L; l++) {
		size_t nl = net->dims[l], np = net->dims[l - 1];
		const double *W = th + c->off[l], *b = W + nl * np;
		enum mlp_act g = net->act[l - 1];

		layer_forward(W, b, nl, np, act_in(c, l), m, m, c->Z[l], m);
		if (g != MLP_SOFTMAX) {
			act_apply(g, c->Z[l], c->A[l], nl, m, m);
			continue;
		}
		for (size_t s = 0; s < m; s++) {
			const double *z = c->Z[l];
			double *a = c->A[l], mx = z[s], se = 0.0;

			for (size_t r = 1; r < nl; r++)
				if (z[r * m + s] > mx)
					mx = z[r * m + s];
			for (size_t r = 0; r < nl; r++) {
				a[r * m + s] = exp(z[r * m + s] - mx);
				se += a[r * m + s];
			}
			for (size_t r = 0; r < nl; r++)
				a[r * m + s] /= se;
		}
	}
	c->data_cost = loss_sum(net, c->Z[L], m, Y, m) / (double)m;
	c->wsumsq = w_sumsq(net, th);
	c->reg_cost = reg_of(net, c->wsumsq, m);
	c->cost = c->data_cost + c->reg_cost;
}

/* Back-propagation (Rumelhart, Hinton & Williams 1986); reg NULL: the L2
 * gradient (l2/m) W is added into grad, else written to reg. */
static void backward(const struct mlp *net, struct mlp_cache *c, double *grad,
		     double *reg)
{
	size_t L = net->n_layers, m = c->m, nL = net->dims[L];
	const double *th = net->theta, *Y = c->Y;
	double *dz = c->dz, *da = c->da, inv_m = 1.0 / (double)m;
	enum mlp_act gL = net->act[L - 1];

	for (size_t s = 0; s < m; s++) {
		double sy = 0.0;

		for (size_t r = 0; r < nL; r++)
			sy += Y[r * m + s];
		for (size_t r = 0; r < nL; r++) {
			size_t k = r * m + s;
			double a = c->A[L][k], y = Y[k];

			if (net->loss == MLP_CCE)      /* d/dz sum y(lse - z) */
				dz[k] = (a * sy - y) * inv_m;
			else if (net->loss == MLP_BCE) /* sigmoid(z) - y */
				dz[k] = (a - y) * inv_m;
			else
				dz[k] = (a - y) * act_deriv(gL, c->Z[L][k], a) * inv_m;
		}
	}
	for (size_t l = L; l >= 1; l--) {
		size_t nl = net->dims[l], np = net->dims[l - 1];
		const double *W = th + c->off[l];
		double *dW = grad + c->off[l], *db = dW + nl * np;
		double lm = net->l2 * inv_m;

		mat_mul_nt(nl, m, np, dz, act_in(c, l), dW);
		for (size_t t = 0; t < nl * np; t++) {
			if (reg)
				reg[c->off[l] + t] = lm * W[t];
			else
				dW[t] += lm * W[t];
		}
		for (size_t r = 0; r < nl; r++) {
			double s = 0.0;

			for (size_t j = 0; j < m; j++)
				s += dz[r * m + j];
			db[r] = s;
			if (reg)
				reg[c->off[l] + nl * np + r] = 0.0;
		}
		if (l == 1)
			break;
		mat_mul_tn(np, nl, m, W, dz, da);
		for (size_t t = 0; t < np * m; t++)
			dz[t] = da[t] * act_deriv(net->act[l - 2], c->Z[l - 1][t],
						  c->A[l - 1][t]);
	}
}

void mlp_backward(const struct mlp *net, struct mlp_cache *c, double *grad)
{
	backward(net, c, grad, NULL);
}

void mlp_backward_parts(const struct mlp *net, struct mlp_cache *c,
			double *grad, double *reg)
{
	backward(net, c, grad, reg);
}

/* ---- re-evaluation ----------------------------------------------------- */

size_t mlp_eval_work(const struct mlp *net, size_t m)
{
	return 2 * max_width(net) * m;
}

static bool sign_changed(const double *z, size_t ldz, const double *base,
			 size_t rows, size_t m)
{
	for (size_t r = 0; r < rows; r++)
		for (size_t s = 0; s < m; s++)
			if ((z[r * ldz + s] > 0) != (base[r * m + s] > 0))
				return true;
	return false;
}

double mlp_eval(const struct mlp *net, const double *theta,
		const struct mlp_cache *base, size_t from, double *work,
		bool *kink)
{
	size_t L = net->n_layers, m = base->m, w = max_width(net);
	double *zb = work, *ab = work + w * m;
	const double *prev = act_in(base, from);
	bool k = false;

	for (size_t l = from; l <= L; l++) {
		size_t nl = net->dims[l], np = net->dims[l - 1];
		const double *W = theta + base->off[l], *b = W + nl * np;
		enum mlp_act g = net->act[l - 1];

		layer_forward(W, b, nl, np, prev, m, m, zb, m);
		if (kink && !k && act_has_kink(g))
			k = sign_changed(zb, m, base->Z[l], nl, m);
		if (l == L)
			break;
		act_apply(g, zb, ab, nl, m, m);
		prev = ab;
	}
	if (kink)
		*kink = k;
	return loss_sum(net, zb, m, base->Y, m) / (double)m +
	       reg_of(net, w_sumsq(net, theta), m);
}

size_t mlp_perturb_work(const struct mlp *net, size_t m, size_t batch)
{
	/* + three rows of cross-entropy scratch */
	return (2 * max_width(net) + 3) * m * batch + m;
}

/* Layer (1-based) owning flat index i: off[l] <= i < off[l+1]. */
static size_t layer_of(const struct mlp_cache *c, size_t L, size_t i)
{
	size_t lo = 1, hi = L;

	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;

		if (c->off[mid] <= i)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Costs of P perturbations all in layer l (see mlp_perturb_costs). */
MLP_CLONES
static void perturb_group(const struct mlp *net, const struct mlp_cache *c,
			  size_t l, const size_t *idx, const double *delta,
			  size_t P, double *work, double *cost, bool *kink)
{
	size_t L = net->n_layers, m = c->m, w = max_width(net);
	size_t cols = P * m, nl = net->dims[l], np = net->dims[l - 1];
	const double *th = net->theta;
	double *zb = work, *ab = work + w * m * P, *row = ab + w * m * P;
	enum mlp_act g = net->act[l - 1];

	for (size_t p = 0; p < P; p++) {
		size_t pos = idx[p] - c->off[l], i, j = 0;
		bool is_w = pos < nl * np;
		const double *x = NULL;
		double d = delta[p];

		i = is_w ? pos / np : pos - nl * np;
		if (is_w) {
			j = pos % np;
			x = act_in(c, l) + j * m;
		}
		/* rank-one: only row i of Z<l> moves, by d * A<l-1>[j] (or d) */
		for (size_t s = 0; s < m; s++)
			row[s] = c->Z[l][i * m + s] + (is_w ? d * x[s] : d);
		kink[p] = act_has_kink(g) && sign_changed(row, m, c->Z[l] + i * m, 1, m);
		if (l == L) {
			for (size_t r = 0; r < nl; r++)
				memcpy(zb + r * cols + p * m,
				       r == i ? row : c->Z[L] + r * m,
				       m * sizeof(double));
			continue;
		}
		/* Z<l+1> = base + W<l+1>[:, i] (g(row) - A<l>[i]): rank-one again */
		{
			size_t nn = net->dims[l + 1];
			const double *Wn = th + c->off[l + 1];

			act_apply(g, row, row, 1, m, m);
			for (size_t s = 0; s < m; s++)
				row[s] -= c->A[l][i * m + s];
			for (size_t r = 0; r < nn; r++) {
				double wr = Wn[r * nl + i];
				const double *zr = c->Z[l + 1] + r * m;
				double *out = zb + r * cols + p * m;

				for (size_t s = 0; s < m; s++)
					out[s] = zr[s] + wr * row[s];
			}
		}
	}
	/* layers after l+1: one matrix product over all P * m columns */
	for (size_t k = l == L ? L : l + 1; k < L; k++) {
		size_t nk = net->dims[k], nn = net->dims[k + 1];
		const double *W = th + c->off[k + 1], *b = W + nn * nk;
		enum mlp_act gk = net->act[k - 1];

		if (act_has_kink(gk))
			for (size_t p = 0; p < P; p++)
				if (!kink[p])
					kink[p] = sign_changed(zb + p * m, cols,
							       c->Z[k], nk, m);
		act_apply(gk, zb, ab, nk, cols, cols);
		layer_forward(W, b, nn, nk, ab, cols, cols, zb, cols);
	}
	if (net->loss == MLP_CCE) {
		/* every perturbation's columns in one pass (Y repeats P times) */
		double *col = row + m, *mx = col + cols;

		cce_cols(zb, cols, c->Y, m, m, net->dims[L], cols, col, mx,
			 mx + cols);
	}
	for (size_t p = 0; p < P; p++) {
		size_t pos = idx[p] - c->off[l];
		double sq = c->wsumsq, d = delta[p], data = 0.0;

		if (l < L && act_has_kink(net->act[L - 1]) && !kink[p])
			kink[p] = sign_changed(zb + p * m, cols, c->Z[L],
					       net->dims[L], m);
		if (pos < nl * np) /* ||W + d e||^2 = ||W||^2 + d (2 w + d) */
			sq += d * (2.0 * th[idx[p]] + d);
		if (net->loss == MLP_CCE) {
			const double *cp = row + m + p * m;

			for (size_t s = 0; s < m; s++)   /* loss_sum's order */
				data += cp[s];
		} else {
			data = loss_sum(net, zb + p * m, cols, c->Y, m);
		}
		cost[p] = data / (double)m + reg_of(net, sq, m);
	}
}

void mlp_perturb_costs(const struct mlp *net, const struct mlp_cache *base,
		       const size_t *idx, const double *delta, size_t n,
		       double *work, double *cost, bool *kink)
{
	size_t L = net->n_layers, t = 0;

	while (t < n) {
		size_t l = layer_of(base, L, idx[t]), u = t + 1;

		while (u < n && layer_of(base, L, idx[u]) == l)
			u++;
		perturb_group(net, base, l, idx + t, delta + t, u - t, work,
			      cost + t, kink + t);
		t = u;
	}
}
