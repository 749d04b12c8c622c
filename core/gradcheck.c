/* Gradient-check engine and comparison; see gradcheck.h.
 * Centered differences (J(θ+ε) − J(θ−ε)) / 2ε have O(ε²) truncation error
 * (Nocedal & Wright, Numerical Optimization, §8.1). */
#include "gradcheck.h"

#include "alloc.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GC_MAX_THREADS 64

enum gc_verdict gc_verdict_of(double e, const struct gc_thresholds *t)
{
	if (e <= t->pass)
		return GC_PASS;
	if (e <= t->warn)
		return GC_WARN;
	if (e <= t->fail)
		return GC_SUSPECT;
	return GC_FAIL;
}

const char *gc_verdict_name(enum gc_verdict v)
{
	static const char *const names[] = {"pass", "warn", "suspect", "fail"};

	return (unsigned)v < 4 ? names[v] : "fail";
}

/* ---- random streams (explicit state) ----------------------------------- */

/* SplitMix64 (Steele, Lea & Flood 2014). */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1), 53 random bits. */
static double unit_open(uint64_t *s)
{
	return ((double)(splitmix64(s) >> 11) + 0.5) * 0x1p-53;
}

/* Uniform in [0, 1). */
static double unit_closed(uint64_t *s)
{
	return (double)(splitmix64(s) >> 11) * 0x1p-53;
}

/* u = a N(0, I) draw of length len, normalized (Box & Muller 1958 pairs). */
static void random_direction(uint64_t seed, size_t t, double *u, size_t len)
{
	uint64_t st = seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(t + 1));
	double scale = 0.0, ssq = 1.0;

	for (size_t i = 0; i < len; i += 2) {
		double r = sqrt(-2.0 * log(unit_open(&st)));
		double a = 6.283185307179586 * unit_open(&st);

		u[i] = r * cos(a);
		if (i + 1 < len)
			u[i + 1] = r * sin(a);
	}
	for (size_t i = 0; i < len; i++) {
		double ax = fabs(u[i]);

		if (ax == 0)
			continue;
		if (scale < ax) {
			ssq = 1.0 + ssq * (scale / ax) * (scale / ax);
			scale = ax;
		} else {
			ssq += (ax / scale) * (ax / scale);
		}
	}
	if (scale == 0) {
		u[0] = 1.0;
		return;
	}
	scale *= sqrt(ssq);
	for (size_t i = 0; i < len; i++)
		u[i] /= scale;
}

/* ---- the threaded engine ------------------------------------------------ */

struct engine {
	const struct gc_source *s;
	struct gc_run *o;
	size_t n_items, chunk, n_chunks;
	/* coordinates */
	const size_t *coords;
	/* directions */
	const struct gc_block *blocks;
	size_t nb, umax;
	const double *grad;
	uint64_t seed;
	double *analytic;
	/* results */
	double *numeric;
	bool *kink;
	atomic_size_t next;
	atomic_int status;
	atomic_int src_status;
	/* scratch: one stride per thread */
	unsigned char *mem;
	size_t stride;
};

struct worker {
	struct engine *e;
	unsigned char *scratch;
	pthread_t tid;
};

static void fail(struct engine *e, int st, int src)
{
	int zero = 0;

	if (atomic_compare_exchange_strong(&e->status, &zero, st) && src)
		atomic_store(&e->src_status, src);
}

static void coord_chunk(struct engine *e, unsigned char *scr, size_t c)
{
	const struct gc_source *s = e->s;
	double *work = (double *)(void *)scr;
	double *delta = work + s->work, *cost = delta + s->batch;
	size_t *idx = (size_t *)(void *)(cost + s->batch);
	bool *kk = (bool *)(void *)(idx + s->batch);
	size_t t0 = c * e->chunk, t1 = t0 + e->chunk, np = 0;
	const double *ce = e->o->coord_eps;
	int rc;

	if (t1 > e->n_items)
		t1 = e->n_items;
	for (size_t t = t0; t < t1; t++) {
		double eps = ce ? ce[e->coords[t]] : e->o->epsilon;

		idx[np] = e->coords[t];
		delta[np++] = eps;
		idx[np] = e->coords[t];
		delta[np++] = -eps;
	}
	rc = s->coord_costs(s->ctx, work, idx, delta, np, cost, kk);
	if (rc) {
		fail(e, GC_ESOURCE, rc);
		return;
	}
	for (size_t t = t0; t < t1; t++) {
		size_t q = 2 * (t - t0);

		e->numeric[t] = (cost[q] - cost[q + 1]) / (2.0 * delta[q]);
		e->kink[t] = kk[q] || kk[q + 1];
	}
}

static void dir_chunk(struct engine *e, unsigned char *scr, size_t t)
{
	const struct gc_source *s = e->s;
	double *work = (double *)(void *)scr, *u = work + s->work;
	const struct gc_block *b = &e->blocks[t % e->nb];
	size_t len = b->rows * b->cols;
	double eps = e->o->block_eps ? e->o->block_eps[t % e->nb] : e->o->epsilon;
	double cp, cm, dot = 0.0;
	bool kp = false, km = false;
	int rc;

	random_direction(e->seed, t, u, len);
	for (size_t i = 0; i < len; i++)
		dot += u[i] * e->grad[b->offset + i];
	rc = s->dir_cost(s->ctx, work, b->offset, u, len, eps, &cp, &kp);
	if (!rc)
		rc = s->dir_cost(s->ctx, work, b->offset, u, len, -eps, &cm, &km);
	if (rc) {
		fail(e, GC_ESOURCE, rc);
		return;
	}
	e->analytic[t] = dot;
	e->numeric[t] = (cp - cm) / (2.0 * eps);
	e->kink[t] = kp || km;
}

/* Directions t0 .. t0 + chunk in one dir_costs call; the same arithmetic
 * as dir_chunk, so the results do not depend on which path ran. */
static void dir_batch_chunk(struct engine *e, unsigned char *scr, size_t c)
{
	const struct gc_source *s = e->s;
	double *work = (double *)(void *)scr, *us = work + s->work;
	double *cost = us + e->chunk * e->umax;
	struct gc_dir *d = (struct gc_dir *)(void *)(cost + 2 * e->chunk);
	bool *kk = (bool *)(void *)(d + 2 * e->chunk);
	size_t t0 = c * e->chunk, t1 = t0 + e->chunk;
	int rc;

	if (t1 > e->n_items)
		t1 = e->n_items;
	for (size_t t = t0; t < t1; t++) {
		const struct gc_block *b = &e->blocks[t % e->nb];
		size_t q = t - t0, len = b->rows * b->cols;
		double *u = us + q * e->umax;
		double eps = e->o->block_eps ? e->o->block_eps[t % e->nb] : e->o->epsilon;

		random_direction(e->seed, t, u, len);
		d[2 * q] = (struct gc_dir){b->offset, len, u, eps};
		d[2 * q + 1] = (struct gc_dir){b->offset, len, u, -eps};
	}
	rc = s->dir_costs(s->ctx, work, d, 2 * (t1 - t0), cost, kk);
	if (rc) {
		fail(e, GC_ESOURCE, rc);
		return;
	}
	for (size_t t = t0; t < t1; t++) {
		size_t q = t - t0;
		const double *u = d[2 * q].u;
		double dot = 0.0;

		for (size_t i = 0; i < d[2 * q].len; i++)
			dot += u[i] * e->grad[d[2 * q].off + i];
		e->analytic[t] = dot;
		e->numeric[t] = (cost[2 * q] - cost[2 * q + 1]) / (2.0 * d[2 * q].delta);
		e->kink[t] = kk[2 * q] || kk[2 * q + 1];
	}
}

static void *work_loop(void *arg)
{
	struct worker *w = arg;
	struct engine *e = w->e;
	const struct gc_run *o = e->o;

	for (;;) {
		size_t c;

		if (atomic_load(&e->status) != GC_OK)
			break;
		c = atomic_fetch_add(&e->next, 1);
		if (c >= e->n_chunks)
			break;
		if (o->deadline_ns && o->clock_ns() >= o->deadline_ns) {
			fail(e, GC_EDEADLINE, 0);
			break;
		}
		if (e->coords)
			coord_chunk(e, w->scratch, c);
		else if (e->s->dir_costs)
			dir_batch_chunk(e, w->scratch, c);
		else
			dir_chunk(e, w->scratch, c);
	}
	return NULL;
}

/* Runs all chunks on min(nthreads, chunks) threads (the caller included). */
static enum gc_status engine_run(struct engine *e)
{
	struct worker ws[GC_MAX_THREADS];
	size_t nt = e->o->nthreads, started = 1;
	enum gc_status st;

	if (nt < 1)
		nt = 1;
	if (nt > GC_MAX_THREADS)
		nt = GC_MAX_THREADS;
	if (e->s->max_threads && nt > e->s->max_threads)
		nt = e->s->max_threads;
	if (nt > e->n_chunks)
		nt = e->n_chunks ? e->n_chunks : 1;
	e->stride = (e->stride + 63) / 64 * 64;
	e->mem = gg_malloc(nt * e->stride);
	if (!e->mem)
		return GC_ENOMEM;
	atomic_init(&e->next, 0);
	atomic_init(&e->status, GC_OK);
	atomic_init(&e->src_status, 0);
	for (size_t i = 0; i < nt; i++) {
		ws[i].e = e;
		ws[i].scratch = e->mem + i * e->stride;
	}
	/* a thread that cannot start leaves its share to the others */
	for (size_t i = 1; i < nt; i++) {
		if (pthread_create(&ws[i].tid, NULL, work_loop, &ws[i]) != 0)
			break;
		started++;
	}
	work_loop(&ws[0]);
	for (size_t i = 1; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	gg_free(e->mem);
	e->mem = NULL;
	st = (enum gc_status)atomic_load(&e->status);
	if (st == GC_ESOURCE)
		e->o->source_status = atomic_load(&e->src_status);
	return st;
}

enum gc_status gradcheck_coords(const struct gc_source *s, struct gc_run *o,
				const size_t *coords, size_t n, double *numeric,
				bool *kink)
{
	struct engine e;

	if (!s->coord_costs || s->batch < 2 || !(o->epsilon > 0) ||
	    (o->deadline_ns && !o->clock_ns))
		return GC_EINVAL;
	for (size_t t = 0; t < n; t++)
		if (coords[t] >= s->n_params)
			return GC_EINVAL;
	memset(&e, 0, sizeof(e));
	e.s = s;
	e.o = o;
	e.n_items = n;
	e.coords = coords;
	e.numeric = numeric;
	e.kink = kink;
	e.chunk = s->batch / 2;
	e.n_chunks = (n + e.chunk - 1) / e.chunk;
	e.stride = (s->work + 2 * s->batch) * sizeof(double) +
		   s->batch * (sizeof(size_t) + sizeof(bool));
	if (n == 0)
		return GC_OK;
	return engine_run(&e);
}

enum gc_status gradcheck_directions(const struct gc_source *s,
				    struct gc_run *o,
				    const struct gc_block *blocks, size_t nb,
				    const double *grad, size_t k, uint64_t seed,
				    double *analytic, double *numeric,
				    bool *kink)
{
	struct engine e;

	if ((s->dir_costs ? s->dir_batch < 1 : !s->dir_cost) || nb == 0 ||
	    !(o->epsilon > 0) ||
	    (o->deadline_ns && !o->clock_ns))
		return GC_EINVAL;
	memset(&e, 0, sizeof(e));
	for (size_t b = 0; b < nb; b++) {
		size_t len = blocks[b].rows * blocks[b].cols;

		if (len == 0 || blocks[b].offset + len > s->n_params)
			return GC_EINVAL;
		if (len > e.umax)
			e.umax = len;
	}
	e.s = s;
	e.o = o;
	e.n_items = k;
	e.blocks = blocks;
	e.nb = nb;
	e.grad = grad;
	e.seed = seed;
	e.analytic = analytic;
	e.numeric = numeric;
	e.kink = kink;
	if (s->dir_costs) {
		e.chunk = s->dir_batch;
		e.n_chunks = (k + e.chunk - 1) / e.chunk;
		e.stride = (s->work + e.chunk * e.umax + 2 * e.chunk) * sizeof(double) +
			   2 * e.chunk * (sizeof(struct gc_dir) + sizeof(bool));
	} else {
		e.chunk = 1;
		e.n_chunks = k;
		e.stride = (s->work + e.umax) * sizeof(double);
	}
	if (k == 0)
		return GC_OK;
	return engine_run(&e);
}

/* ---- sampling and locating ----------------------------------------------- */

enum gc_status gradcheck_sample(const struct gc_block *blocks, size_t nb,
				size_t k, uint64_t seed, size_t *coords)
{
	size_t total = 0, assigned = 0, left, out = 0;
	size_t *quota = NULL;
	uint64_t st = seed;

	for (size_t b = 0; b < nb; b++) {
		if (blocks[b].rows * blocks[b].cols == 0)
			return GC_EINVAL;
		total += blocks[b].rows * blocks[b].cols;
	}
	if (nb == 0 || k < nb || k > total)
		return GC_EINVAL;
	quota = gg_malloc(nb * sizeof(*quota));
	if (!quota)
		return GC_ENOMEM;
	/* one each, the rest in proportion to the remaining sizes */
	for (size_t b = 0; b < nb; b++) {
		size_t spare = blocks[b].rows * blocks[b].cols - 1, extra = 0;

		if (total > nb && spare > 0) {
			if (k - nb <= SIZE_MAX / spare)
				extra = (k - nb) * spare / (total - nb);
			else
				extra = (size_t)((double)(k - nb) * (double)spare /
						 (double)(total - nb));
		}
		if (extra > spare)
			extra = spare;
		if (extra > k - assigned - (nb - b))   /* keep one for each later block */
			extra = k - assigned - (nb - b);
		quota[b] = 1 + extra;
		assigned += quota[b];
	}
	left = k - assigned;
	for (size_t b = 0; left > 0; b = (b + 1) % nb) {
		if (quota[b] < blocks[b].rows * blocks[b].cols) {
			quota[b]++;
			left--;
		}
	}
	for (size_t b = 0; b < nb; b++) {
		size_t N = blocks[b].rows * blocks[b].cols, need = quota[b];

		/* Algorithm S: take item t with probability need_left / N_left */
		for (size_t t = 0; t < N && need > 0; t++) {
			if ((double)(N - t) * unit_closed(&st) < (double)need) {
				coords[out++] = blocks[b].offset + t;
				need--;
			}
		}
	}
	gg_free(quota);
	return GC_OK;
}

void gradcheck_locate(const struct gc_block *blocks, size_t nb,
		      const size_t *coords, size_t n, size_t *blk, size_t *pos)
{
	for (size_t t = 0; t < n; t++) {
		size_t lo = 0, hi = nb - 1;

		while (lo < hi) {
			size_t mid = lo + (hi - lo + 1) / 2;

			if (blocks[mid].offset <= coords[t])
				lo = mid;
			else
				hi = mid - 1;
		}
		blk[t] = lo;
		pos[t] = coords[t] - blocks[lo].offset;
	}
}

/* ---- comparison ------------------------------------------------------------ */

/* Scaled sum of squares (LAPACK dlassq): norm = scale * sqrt(ssq). */
struct ssq {
	double scale, ssq;
};

static void ssq_add(struct ssq *a, double x)
{
	double ax = fabs(x);

	if (ax == 0 || isnan(ax)) {
		if (isnan(ax))
			a->scale = NAN;
		return;
	}
	if (a->scale < ax) {
		a->ssq = 1.0 + a->ssq * (a->scale / ax) * (a->scale / ax);
		a->scale = ax;
	} else {
		a->ssq += (ax / a->scale) * (ax / a->scale);
	}
}

/* ||d|| / (||a|| + ||n||) from the scaled sums: each norm is taken in
 * units of 2^e, the power of two at the largest scale, so neither a norm
 * (sqrt(k) times the largest entry) nor the sum can overflow. Scaling by a
 * power of two is exact, so where nothing overflows this equals the plain
 * formula to the last bit. */
static double rel_error(const struct ssq *d, const struct ssq *a,
			const struct ssq *n)
{
	double m = fmax(d->scale, fmax(a->scale, n->scale));
	double nd, na, nn;
	int e;

	if (isnan(d->scale) || isnan(a->scale) || isnan(n->scale) ||
	    !isfinite(m))
		return NAN;
	if (m == 0)
		return 0.0;
	frexp(m, &e);
	nd = ldexp(d->scale, -e) * sqrt(d->ssq);
	na = ldexp(a->scale, -e) * sqrt(a->ssq);
	nn = ldexp(n->scale, -e) * sqrt(n->ssq);
	if (na == 0 && nn == 0)
		return nd == 0 ? 0.0 : NAN;
	return nd / (na + nn);
}

void gradcheck_auto_eps(const double *theta, size_t n_params,
			const struct gc_block *blocks, size_t nb,
			double *coord_eps, double *block_eps)
{
	for (size_t i = 0; i < n_params; i++)
		coord_eps[i] = GC_AUTO_EPS_SCALE * fmax(1.0, fabs(theta[i]));
	for (size_t b = 0; b < nb; b++) {
		double mx = 1.0;

		for (size_t i = 0; i < blocks[b].rows * blocks[b].cols; i++)
			mx = fmax(mx, fabs(theta[blocks[b].offset + i]));
		block_eps[b] = GC_AUTO_EPS_SCALE * mx;
	}
}

/* ||r|| / (||a|| + ||n||) over items with blk[t] == b (b == nb: all). */
static double noise_of(double J, const double *eps, const double *an,
		       const double *nu, const size_t *blk, size_t n, size_t nb,
		       size_t b)
{
	struct ssq r = {0, 1}, a = {0, 1}, v = {0, 1};
	size_t k = 0;

	for (size_t t = 0; t < n; t++) {
		if (b < nb && blk[t] != b)
			continue;
		k++;
		ssq_add(&r, GC_UNIT_ROUNDOFF * fabs(J) / eps[t]);
		ssq_add(&a, an[t]);
		ssq_add(&v, nu[t]);
	}
	return k && isfinite(J) ? rel_error(&r, &a, &v) : NAN;
}

void gradcheck_noise_floor(double J, const double *eps, const double *analytic,
			   const double *numeric, const size_t *blk, size_t n,
			   size_t nb, struct gc_report *r)
{
	for (size_t b = 0; b < nb; b++)
		r->blocks[b].noise_floor = noise_of(J, eps, analytic, numeric,
						    blk, n, nb, b);
	r->noise_floor = noise_of(J, eps, analytic, numeric, blk, n, nb, nb);
}

size_t gradcheck_first_overflow(const double *analytic, const double *numeric,
				size_t n)
{
	for (size_t t = 0; t < n; t++)
		if (isfinite(analytic[t]) && isfinite(numeric[t]) &&
		    isinf(analytic[t] - numeric[t]))
			return t;
	return n;
}

static double abs_err(const double *an, const double *nu, size_t t)
{
	double d = fabs(an[t] - nu[t]);

	return isnan(d) ? INFINITY : d;
}

/* Heap order: x ranks below y (smaller error, or equal and later). */
static bool heap_less(const double *an, const double *nu, size_t x, size_t y)
{
	double ex = abs_err(an, nu, x), ey = abs_err(an, nu, y);

	return ex < ey || (ex == ey && x > y);
}

static void sift_down(const double *an, const double *nu, size_t *hp,
		      size_t h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, rr = l + 1, s = i, v;

		if (l < h && heap_less(an, nu, hp[l], hp[s]))
			s = l;
		if (rr < h && heap_less(an, nu, hp[rr], hp[s]))
			s = rr;
		if (s == i)
			return;
		v = hp[s];
		hp[s] = hp[i];
		hp[i] = v;
		i = s;
	}
}

void gradcheck_compare(const double *analytic, const double *numeric,
		       const bool *kink, const size_t *blk, const size_t *pos,
		       size_t n, size_t nb, const struct gc_thresholds *th,
		       size_t top, struct gc_report *r)
{
	struct ssq d = {0, 1}, a = {0, 1}, nu = {0, 1};
	size_t h = 0;
	double f = 1.0;

	/* entries from 2^1022 up: |a - n| may overflow; the relative error
	 * is a ratio, so compare a/2 and n/2 instead (exact at that size) */
	for (size_t t = 0; t < n; t++)
		if (fabs(analytic[t]) >= 0x1p1022 || fabs(numeric[t]) >= 0x1p1022)
			f = 0.5;
	r->n_checked = n;
	r->kinks = 0;
	r->noise_floor = NAN;
	for (size_t b = 0; b < nb; b++) {
		struct gc_block_report *br = &r->blocks[b];
		struct ssq bd = {0, 1}, ba = {0, 1}, bn = {0, 1};

		br->n_checked = 0;
		br->noise_floor = NAN;
		br->max_abs_error = -1.0;
		br->worst_pos = 0;
		for (size_t t = 0; t < n; t++) {
			double e;

			if (blk[t] != b)
				continue;
			br->n_checked++;
			ssq_add(&bd, f * analytic[t] - f * numeric[t]);
			ssq_add(&ba, f * analytic[t]);
			ssq_add(&bn, f * numeric[t]);
			e = abs_err(analytic, numeric, t);
			if (e > br->max_abs_error) {
				br->max_abs_error = e;
				br->worst_pos = pos[t];
			}
		}
		br->relative_error = br->n_checked ? rel_error(&bd, &ba, &bn) : NAN;
		br->verdict = isnan(br->relative_error) ? GC_FAIL :
			      gc_verdict_of(br->relative_error, th);
		if (br->max_abs_error < 0)
			br->max_abs_error = 0;
	}
	for (size_t t = 0; t < n; t++) {
		ssq_add(&d, f * analytic[t] - f * numeric[t]);
		ssq_add(&a, f * analytic[t]);
		ssq_add(&nu, f * numeric[t]);
		if (kink && kink[t])
			r->kinks++;
	}
	r->relative_error = rel_error(&d, &a, &nu);
	r->verdict = isnan(r->relative_error) ? GC_FAIL :
		     gc_verdict_of(r->relative_error, th);

	/* top items by |a - n|: a min-heap of size top, then heap-sorted */
	if (top > n)
		top = n;
	for (size_t t = 0; t < n && top > 0; t++) {
		if (h < top) {
			size_t i = h++;

			r->worst[i] = t;
			while (i > 0 && heap_less(analytic, numeric, r->worst[i],
						  r->worst[(i - 1) / 2])) {
				size_t p = (i - 1) / 2, v = r->worst[i];

				r->worst[i] = r->worst[p];
				r->worst[p] = v;
				i = p;
			}
		} else if (heap_less(analytic, numeric, r->worst[0], t)) {
			r->worst[0] = t;
			sift_down(analytic, numeric, r->worst, h, 0);
		}
	}
	r->n_worst = h;
	/* popping the minimum to the back leaves the largest error first */
	for (size_t k = h; k > 1; k--) {
		size_t v = r->worst[0];

		r->worst[0] = r->worst[k - 1];
		r->worst[k - 1] = v;
		sift_down(analytic, numeric, r->worst, k - 1, 0);
	}
}

/* ---- a network as a cost source -------------------------------------------- */

static size_t layer_at(const struct mlp_cache *c, size_t L, size_t i)
{
	size_t l = 1;

	while (l < L && c->off[l + 1] <= i)
		l++;
	return l;
}

static int mlp_coord_costs(void *ctx, double *work, const size_t *idx,
			   const double *delta, size_t n, double *cost,
			   bool *kink)
{
	const struct gc_mlp *g = ctx;
	const struct mlp *net = g->net;
	size_t np = g->base->off[net->n_layers + 1];
	double *th = work, *ew = work + np;

	if (g->fast) {
		mlp_perturb_costs(net, g->base, idx, delta, n, work, cost, kink);
		return 0;
	}
	/* the naive loop: a full forward pass at theta with one entry moved */
	memcpy(th, net->theta, np * sizeof(double));
	for (size_t t = 0; t < n; t++) {
		th[idx[t]] = net->theta[idx[t]] + delta[t];
		cost[t] = mlp_eval(net, th, g->base, 1, ew, &kink[t]);
		th[idx[t]] = net->theta[idx[t]];
	}
	return 0;
}

static int mlp_dir_cost(void *ctx, double *work, size_t off, const double *u,
			size_t len, double delta, double *cost, bool *kink)
{
	const struct gc_mlp *g = ctx;
	const struct mlp *net = g->net;
	size_t L = net->n_layers, np = g->base->off[L + 1];
	double *th = work, *ew = work + np;

	memcpy(th, net->theta, np * sizeof(double));
	for (size_t i = 0; i < len; i++)
		th[off + i] = net->theta[off + i] + delta * u[i];
	*cost = mlp_eval(net, th, g->base, g->fast ? layer_at(g->base, L, off) : 1,
			 ew, kink);
	return 0;
}

void gc_mlp_source(struct gc_source *s, struct gc_mlp *ctx,
		   const struct mlp *net, const struct mlp_cache *base,
		   bool fast)
{
	size_t np = base->off[net->n_layers + 1], m = base->m, w = 1, full;

	for (size_t l = 1; l <= net->n_layers; l++)
		if (net->dims[l] > w)
			w = net->dims[l];
	ctx->net = net;
	ctx->base = base;
	ctx->fast = fast;
	memset(s, 0, sizeof(*s));
	s->n_params = np;
	s->ctx = ctx;
	s->coord_costs = mlp_coord_costs;
	s->dir_cost = mlp_dir_cost;
	full = np + mlp_eval_work(net, m);
	if (!fast) {
		s->batch = 2;
		s->work = full;
		return;
	}
	/* about 512 KiB of batch activations per thread */
	s->batch = 32768 / (w * m);
	if (s->batch < 2)
		s->batch = 2;
	if (s->batch > 512)
		s->batch = 512;
	s->batch &= ~(size_t)1;
	s->work = mlp_perturb_work(net, m, s->batch);
	if (s->work < full)
		s->work = full;
}
