/* Weight initializers; see init.h. Variances: He et al. 2015 (2/fan_in),
 * Glorot & Bengio 2010 (2/(fan_in+fan_out)), orthogonal: Saxe et al. 2014. */
#include "core/init.h"

#include "core/alloc.h"

#include <math.h>
#include <string.h>

const char *const init_method_names[] = {
	"zeros", "random", "he", "xavier", "glorot", "lecun", "orthogonal", NULL
};
const char *const init_dist_names[] = {
	"normal", "uniform", "truncated_normal", NULL
};
const char *const init_mode_names[] = {
	"fan_in", "fan_out", "fan_avg", NULL
};

static int has_fan(enum init_method m)
{
	return m == INIT_HE || m == INIT_XAVIER || m == INIT_GLOROT ||
	       m == INIT_LECUN;
}

enum init_mode init_effective_mode(const struct init_spec *s)
{
	if (!has_fan(s->method))
		return INIT_MODE_NONE;
	if (s->mode != INIT_MODE_NONE)
		return s->mode;
	return s->method == INIT_GLOROT ? INIT_FAN_AVG : INIT_FAN_IN;
}

enum init_status init_spec_check(const struct init_spec *s)
{
	if ((unsigned)s->method >= INIT_METHOD_COUNT ||
	    (unsigned)s->dist >= INIT_DIST_COUNT ||
	    (unsigned)s->mode > INIT_MODE_NONE)
		return INIT_EUNSUPPORTED;
	if (!isfinite(s->scale) || s->scale < 0)
		return INIT_EUNSUPPORTED;
	if (s->mode != INIT_MODE_NONE && !has_fan(s->method))
		return INIT_EUNSUPPORTED;
	if (s->dist != INIT_NORMAL &&
	    (s->method == INIT_ZEROS || s->method == INIT_ORTHOGONAL))
		return INIT_EUNSUPPORTED;
	if (s->scale != 0 && s->method == INIT_ZEROS)
		return INIT_EUNSUPPORTED;
	return INIT_OK;
}

double init_target_std(const struct init_spec *s, size_t rows, size_t cols)
{
	double fan_in = (double)cols, fan_out = (double)rows;
	double gain = s->method == INIT_HE ? 2.0 : 1.0, var, std;
	size_t big = rows > cols ? rows : cols;

	switch (s->method) {
	case INIT_ZEROS:
		return 0.0;
	case INIT_RANDOM:
		return s->scale != 0 ? s->scale : 0.01;
	case INIT_ORTHOGONAL:
		return (s->scale != 0 ? s->scale : 1.0) / sqrt((double)big);
	default:
		break;
	}
	/* one correctly rounded division, as numpy's 2 / fan_in */
	switch (init_effective_mode(s)) {
	case INIT_FAN_OUT:
		var = gain / fan_out;
		break;
	case INIT_FAN_AVG:
		var = (2.0 * gain) / (fan_in + fan_out);
		break;
	default:
		var = gain / fan_in;
		break;
	}
	std = sqrt(var);
	return s->scale != 0 ? std * s->scale : std;
}

size_t init_work_size(const struct init_spec *s, size_t rows, size_t cols)
{
	size_t m = rows > cols ? rows : cols, n = rows > cols ? cols : rows;

	if (s->method != INIT_ORTHOGONAL)
		return 0;
	/* a (m x n), q (m x n), v (m), w (n), d (n) */
	return 2 * m * n + m + 2 * n;
}

/* q (m x n, m >= n, row-major) = the Q of a = QR with diag(R) >= 0, by
 * Householder reflections (Golub & Van Loan 5.2) and the sign correction
 * Q diag(sign(diag R)) of Saxe et al. 2014 / Mezzadri 2007; a is destroyed.
 * A zero pivot column keeps sign +1. */
static void orthonormalize(double *a, size_t m, size_t n, double *q,
			   double *v, double *w, double *d)
{
	for (size_t k = 0; k < n; k++) {
		double norm = 0, alpha, vnorm2 = 0, big = 0;

		for (size_t i = k; i < m; i++)
			if (fabs(a[i * n + k]) > big)
				big = fabs(a[i * n + k]);
		if (big > 0) {
			for (size_t i = k; i < m; i++) {
				double t = a[i * n + k] / big;

				norm += t * t;
			}
			norm = big * sqrt(norm);
		}
		alpha = a[k * n + k] > 0 ? -norm : norm;
		d[k] = alpha < 0 ? -1.0 : 1.0;
		for (size_t i = k; i < m; i++)
			v[i] = a[i * n + k];
		v[k] -= alpha;
		for (size_t i = k; i < m; i++)
			vnorm2 += v[i] * v[i];
		/* store v / |v| in column k below the diagonal (R is not needed) */
		if (vnorm2 > 0) {
			double inv = 1.0 / sqrt(vnorm2);

			for (size_t i = k; i < m; i++)
				v[i] *= inv;
		}
		for (size_t i = k; i < m; i++)
			a[i * n + k] = vnorm2 > 0 ? v[i] : 0.0;
		/* a[k:, k+1:] -= 2 v (v^T a[k:, k+1:]) */
		for (size_t j = k + 1; j < n; j++)
			w[j] = 0;
		for (size_t i = k; i < m; i++)
			for (size_t j = k + 1; j < n; j++)
				w[j] += v[i] * a[i * n + j];
		for (size_t i = k; i < m; i++)
			for (size_t j = k + 1; j < n; j++)
				a[i * n + j] -= 2.0 * v[i] * w[j];
	}
	/* Q = H_0 H_1 ... H_(n-1) I[:, :n], applied right to left */
	memset(q, 0, m * n * sizeof *q);
	for (size_t i = 0; i < n; i++)
		q[i * n + i] = 1.0;
	for (size_t k = n; k-- > 0;) {
		for (size_t j = k; j < n; j++)
			w[j] = 0;
		for (size_t i = k; i < m; i++)
			for (size_t j = k; j < n; j++)
				w[j] += a[i * n + k] * q[i * n + j];
		for (size_t i = k; i < m; i++) {
			double vi = 2.0 * a[i * n + k];

			for (size_t j = k; j < n; j++)
				q[i * n + j] -= vi * w[j];
		}
	}
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++)
			q[i * n + j] *= d[j];
}

static void layer_orthogonal(const struct init_spec *s, struct rng *r,
			     size_t rows, size_t cols, double *w, double *work)
{
	size_t m = rows > cols ? rows : cols, n = rows > cols ? cols : rows;
	double *a = work, *q = a + m * n, *v = q + m * n, *t = v + m;
	double *d = t + n, gain = s->scale != 0 ? s->scale : 1.0;

	/* torch.nn.init.orthogonal_'s structure: QR of the tall orientation */
	if (rows >= cols) {
		rng_fill_gauss(r, a, rows * cols, 1.0);
	} else {
		rng_fill_gauss(r, q, rows * cols, 1.0);
		for (size_t i = 0; i < rows; i++)
			for (size_t j = 0; j < cols; j++)
				a[j * rows + i] = q[i * cols + j];
	}
	orthonormalize(a, m, n, q, v, t, d);
	if (rows >= cols) {
		for (size_t i = 0; i < m * n; i++)
			w[i] = q[i] * gain;
	} else {
		for (size_t i = 0; i < rows; i++)
			for (size_t j = 0; j < cols; j++)
				w[i * cols + j] = q[j * rows + i] * gain;
	}
}

enum init_status init_layer_part(const struct init_spec *s, struct rng *r,
				 size_t rows, size_t cols, double *w, size_t n)
{
	double std;

	if (init_spec_check(s) != INIT_OK || s->method == INIT_ORTHOGONAL)
		return INIT_EUNSUPPORTED;
	if (s->method == INIT_ZEROS) {
		for (size_t i = 0; i < n; i++)
			w[i] = 0.0;
		return INIT_OK;
	}
	std = init_target_std(s, rows, cols);
	switch (s->dist) {
	case INIT_UNIFORM: {
		/* variance of U(-a, a) is a^2 / 3 */
		double a = sqrt(3.0) * std;

		rng_fill_uniform(r, w, n, -a, a);
		break;
	}
	case INIT_TRUNCATED_NORMAL:
		rng_fill_truncated(r, w, n, std);
		break;
	default:
		rng_fill_gauss(r, w, n, std);
		break;
	}
	return INIT_OK;
}

enum init_status init_layer(const struct init_spec *s, struct rng *r,
			    size_t rows, size_t cols, double *w,
			    double *work)
{
	if (init_spec_check(s) != INIT_OK)
		return INIT_EUNSUPPORTED;
	if (s->method == INIT_ORTHOGONAL) {
		layer_orthogonal(s, r, rows, cols, w, work);
		return INIT_OK;
	}
	return init_layer_part(s, r, rows, cols, w, rows * cols);
}

double init_pop_std(const double *v, size_t n)
{
	double big = 0, mean = 0, ss = 0, k = 1.0;

	if (n == 0)
		return 0.0;
	for (size_t i = 0; i < n; i++) {
		double a = fabs(v[i]);

		if (!isfinite(a))
			return NAN;
		if (a > big)
			big = a;
	}
	if (big == 0)
		return 0.0;
	/* squares of |v| > 1e150 overflow, of |v| < 1e-150 underflow */
	if (big > 1e150 || big < 1e-150)
		k = big;
	for (size_t i = 0; i < n; i++)
		mean += v[i] / k;
	mean /= (double)n;
	for (size_t i = 0; i < n; i++) {
		double t = v[i] / k - mean;

		ss += t * t;
	}
	return sqrt(ss / (double)n) * k;
}

int init_std_new(struct init_std *a, size_t max_piece)
{
	memset(a, 0, sizeof(*a));
	a->all = stats_new(1);
	a->piece = stats_new(1);
	a->scaled = max_piece ? gg_malloc(max_piece * sizeof(*a->scaled)) : NULL;
	a->max_piece = max_piece;
	a->k = 1.0;
	return a->all && a->piece && a->scaled ? 0 : -1;
}

void init_std_free(struct init_std *a)
{
	stats_free(a->all);
	stats_free(a->piece);
	gg_free(a->scaled);
	memset(a, 0, sizeof(*a));
}

void init_std_begin(struct init_std *a, double expected)
{
	stats_reset(a->all);
	a->fed = 0;
	a->k = 1.0;
	/* squares of |v| > 1e150 overflow, of |v| < 1e-150 underflow */
	if (isfinite(expected) && expected > 0 &&
	    (expected > 1e150 || expected < 1e-150))
		a->k = expected;
}

void init_std_add(struct init_std *a, const double *v, size_t n)
{
	const double *x = v;

	if (n == 0 || n > a->max_piece)
		return;
	if (a->k != 1.0) {
		for (size_t i = 0; i < n; i++)
			a->scaled[i] = v[i] / a->k;
		x = a->scaled;
	}
	a->fed += n;
	/* one feature, n samples; a value that is not finite leaves the
	 * statistics short of a->fed (NaN is skipped) or refuses the merge */
	stats_batch(a->piece, x, n, 1);
	stats_merge(a->all, a->piece);
}

double init_std_result(const struct init_std *a)
{
	if (a->fed == 0)
		return 0.0;
	if (a->all->count[0] != a->fed || !stats_finite(a->all, NULL))
		return NAN;
	return sqrt(a->all->m2[0] / (double)a->fed) * a->k;
}

double init_std_block(struct init_std *a, double expected, const double *w,
		      size_t rows, size_t cols)
{
	init_std_begin(a, expected);
	for (size_t i = 0; i < rows; i++)
		init_std_add(a, w + i * cols, cols);
	return init_std_result(a);
}
