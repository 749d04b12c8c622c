/* core/vmath: exp, tanh and log against libm and against long double on
 * 10^7 inputs each over the domains the engine uses (exp: softmax and
 * softplus arguments, x <= 0, and the rest of the finite range; tanh:
 * hidden-layer pre-activations; log: sums of exponentials, [1, 1000], and
 * the rest of the positive range), special values, and the same bits from
 * every instruction set's loop and from one element at a time. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/vmath.h"
#include "tests/lib/suite_run.h"

#define N_INPUTS 10000000u
#define CHUNK 4096u

/* Doubles as a monotone integer line: ulp distance is a difference. */
static int64_t ordered(double x)
{
	int64_t i;

	memcpy(&i, &x, sizeof(i));
	return i < 0 ? INT64_MIN - i : i;
}

static uint64_t ulps(double a, double b)
{
	int64_t x = ordered(a), y = ordered(b);

	return x > y ? (uint64_t)x - (uint64_t)y : (uint64_t)y - (uint64_t)x;
}

/* Within one ulp of the exact value: got is one of the two doubles around
 * the long double reference (its error is 2^-64 relative). */
static int faithful(double got, long double exact)
{
	double lo = (double)exact, hi;

	if ((long double)lo == exact)
		return got == lo;
	if ((long double)lo > exact)
		lo = nextafter(lo, -INFINITY);
	hi = nextafter(lo, INFINITY);
	return got == lo || got == hi;
}

typedef void kernel_fn(const double *, double *, size_t);
typedef double libm_fn(double);
typedef long double ref_fn(long double);

/* Draws N_INPUTS inputs from draw and checks every one: faithful against
 * long double, and within 1 ulp of libm wherever libm is itself faithful
 * (glibc's tanh is documented up to 2 ulp; where it is off by more than
 * one ulp the distance may be 2). Returns the largest distance from libm
 * where libm is faithful. */
static uint64_t sweep(kernel_fn *k, libm_fn *f, ref_fn *ref,
		      double (*draw)(struct rng *), uint32_t seed)
{
	static double x[CHUNK], y[CHUNK];
	static struct rng s;
	uint64_t worst = 0;

	rng_seed(&s, RNG_FAST, seed);
	for (size_t done = 0; done < N_INPUTS; done += CHUNK) {
		for (size_t i = 0; i < CHUNK; i++)
			x[i] = draw(&s);
		k(x, y, CHUNK);
		for (size_t i = 0; i < CHUNK; i++) {
			uint64_t d = ulps(y[i], f(x[i]));

			if (d > worst && faithful(f(x[i]), ref(x[i])))
				worst = d;
			if (!faithful(y[i], ref(x[i])))
				ck_abort_msg("not faithful at %a: got %a, libm %a",
					     x[i], y[i], f(x[i]));
		}
	}
	return worst;
}

/* exp: half in [-40, 0] (softmax shifts, softplus), a quarter over
 * [-746, 0], a quarter over [0, 710]. */
static double draw_exp(struct rng *s)
{
	double u = rng_double(s), v = rng_double(s);

	if (u < 0.5)
		return -40.0 * v;
	return u < 0.75 ? -746.0 * v : 710.0 * v;
}

/* tanh: half uniform in [-5, 5], the rest log-uniform magnitudes from
 * 2^-30 to 2^5 with either sign. */
static double draw_tanh(struct rng *s)
{
	double u = rng_double(s), v = rng_double(s);

	if (u < 0.5)
		return 10.0 * v - 5.0;
	return (u < 0.75 ? 1 : -1) * exp2(35.0 * v - 30.0);
}

/* log: half in [1, 1000] (log-sum-exp of up to 1000 classes), a quarter
 * in [0.5, 2] (near 1, where the result is small), a quarter with a
 * log-uniform magnitude over the whole positive range, subnormals too. */
static double draw_log(struct rng *s)
{
	double u = rng_double(s), v = rng_double(s);

	if (u < 0.5)
		return 1.0 + 999.0 * v;
	return u < 0.75 ? 0.5 + 1.5 * v : exp2(2098.0 * v - 1074.0);
}

START_TEST(exp_is_faithful_on_ten_million_inputs)
{
	uint64_t w = sweep(vm_exp, exp, expl, draw_exp, 1);

	ck_assert_uint_le(w, 1);
}
END_TEST

START_TEST(tanh_is_faithful_on_ten_million_inputs)
{
	uint64_t w = sweep(vm_tanh, tanh, tanhl, draw_tanh, 2);

	ck_assert_uint_le(w, 1);
}
END_TEST

START_TEST(log_is_faithful_on_ten_million_inputs)
{
	uint64_t w = sweep(vm_log, log, logl, draw_log, 4);

	ck_assert_uint_le(w, 1);
}
END_TEST

static void same_bits(const double *a, const double *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(memcmp(&a[i], &b[i], sizeof(double)) == 0,
			      "element %zu: %a vs %a", i, a[i], b[i]);
}

START_TEST(exp_special_values)
{
	double x[] = {0.0, -0.0, 1.0, -1.0, NAN, INFINITY, -INFINITY,
		      709.782712893384, 709.79, 710.0, 1e300, -708.4,
		      -745.1, -745.2, -746.0, -1e300, 0x1p-1074, -0x1p-60};
	size_t n = sizeof(x) / sizeof(x[0]);
	double y[sizeof(x) / sizeof(x[0])];

	vm_exp(x, y, n);
	ck_assert(y[0] == 1.0 && y[1] == 1.0);
	ck_assert(isnan(y[4]));
	ck_assert(y[5] == INFINITY && y[6] == 0.0 && !signbit(y[6]));
	ck_assert(isfinite(y[7]) && y[8] == INFINITY && y[9] == INFINITY);
	ck_assert(y[10] == INFINITY && y[15] == 0.0 && y[14] == 0.0);
	ck_assert(y[16] == 1.0 && y[17] <= 1.0);
	for (size_t i = 0; i < n; i++)
		if (!isnan(x[i]))
			ck_assert_msg(ulps(y[i], exp(x[i])) <= 1, "exp(%a): %a vs %a",
				      x[i], y[i], exp(x[i]));
	/* the subnormal range rounds once */
	for (double t = -708.5; t > -745.5; t -= 0.37) {
		double v;

		vm_exp(&t, &v, 1);
		ck_assert_msg(ulps(v, exp(t)) <= 1, "exp(%a)", t);
	}
}
END_TEST

START_TEST(tanh_special_values)
{
	double x[] = {0.0, -0.0, NAN, INFINITY, -INFINITY, 0x1p-1074, -0x1p-1060,
		      1.0, nextafter(1.0, 0.0), -1.0, 19.0, 25.0, -400.0, 1e-8};
	size_t n = sizeof(x) / sizeof(x[0]);
	double y[sizeof(x) / sizeof(x[0])];

	vm_tanh(x, y, n);
	ck_assert(y[0] == 0.0 && !signbit(y[0]));
	ck_assert(y[1] == 0.0 && signbit(y[1]));
	ck_assert(isnan(y[2]));
	ck_assert(y[3] == 1.0 && y[4] == -1.0);
	ck_assert(y[5] == 0x1p-1074 && y[6] == -0x1p-1060);
	ck_assert(y[11] == 1.0 && y[12] == -1.0 && y[13] == 1e-8);
	for (size_t i = 0; i < n; i++)
		if (!isnan(x[i]))
			ck_assert_msg(ulps(y[i], tanh(x[i])) <= 1, "tanh(%a): %a vs %a",
				      x[i], y[i], tanh(x[i]));
}
END_TEST

START_TEST(log_special_values)
{
	double x[] = {0.0, -0.0, -1.0, NAN, INFINITY, -INFINITY, 1.0,
		      0x1p-1074, 0x1p-1022, 0x1.fffffffffffffp-1023, DBL_MAX,
		      nextafter(1.0, 0.0), nextafter(1.0, 2.0), M_SQRT2,
		      nextafter(M_SQRT2, 0.0), 2.0, 0.5, 10.0};
	size_t n = sizeof(x) / sizeof(x[0]);
	double y[sizeof(x) / sizeof(x[0])];

	vm_log(x, y, n);
	ck_assert(y[0] == -INFINITY && y[1] == -INFINITY);
	ck_assert(isnan(y[2]) && isnan(y[3]) && isnan(y[5]));
	ck_assert(y[4] == INFINITY && y[6] == 0.0 && !signbit(y[6]));
	for (size_t i = 0; i < n; i++)
		if (isfinite(y[i]))
			ck_assert_msg(ulps(y[i], log(x[i])) <= 1, "log(%a): %a vs %a",
				      x[i], y[i], log(x[i]));
}
END_TEST

/* The same bits from every instruction set's loop this CPU can run and
 * from one element at a time (the scalar remainder). */
START_TEST(every_loop_gives_the_same_bits)
{
	enum { N = 1003 };
	static double x[N], best[N], base[N], one[N];
	kernel_fn *k[] = {vm_exp, vm_tanh, vm_log};
	void (*kisa[])(enum isa, const double *, double *, size_t) = {
		vm_exp_isa, vm_tanh_isa, vm_log_isa};
	static struct rng s;

	rng_seed(&s, RNG_FAST, 3);
	for (size_t i = 0; i < N; i++)
		x[i] = i % 2 ? -30.0 * rng_double(&s) : 8.0 * rng_double(&s) - 4.0;
	for (size_t f = 0; f < 3; f++) {
		if (f == 2) /* log: positive arguments, a few others */
			for (size_t i = 0; i < N; i++)
				x[i] = i % 97 ? fabs(x[i]) * 31.0 : -x[i];
		k[f](x, best, N);
		for (int isa = ISA_BASELINE; isa <= (int)isa_best(); isa++) {
			kisa[f]((enum isa)isa, x, base, N);
			same_bits(best, base, N);
		}
		for (size_t i = 0; i < N; i++)
			k[f](x + i, one + i, 1);
		same_bits(best, one, N);
		/* in place */
		memcpy(one, x, sizeof(x));
		k[f](one, one, N);
		same_bits(best, one, N);
	}
}
END_TEST

static Suite *vmath_suite(void)
{
	Suite *s = suite_create("vmath");
	TCase *acc = tcase_create("accuracy"), *sp = tcase_create("special");

	tcase_set_timeout(acc, 120);
	tcase_add_test(acc, exp_is_faithful_on_ten_million_inputs);
	tcase_add_test(acc, tanh_is_faithful_on_ten_million_inputs);
	tcase_add_test(acc, log_is_faithful_on_ten_million_inputs);
	tcase_add_test(sp, exp_special_values);
	tcase_add_test(sp, tanh_special_values);
	tcase_add_test(sp, log_special_values);
	tcase_add_test(sp, every_loop_gives_the_same_bits);
	suite_add_tcase(s, acc);
	suite_add_tcase(s, sp);
	return s;
}

int main(void)
{
	return suite_run(vmath_suite());
}
