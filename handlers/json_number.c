/* JSON number formatting: shortest round-trip digits (Grisu3 with a
 * printf fallback), in the form Python's repr(float) prints. */
#include "json.h"

#include "core/alloc.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers: shortest round-trip digits ------------------------------------
 * Grisu3 (Loitsch, "Printing Floating-Point Numbers Quickly and Accurately
 * with Integers", PLDI 2010): exact shortest digits or a refusal (~0.5% of
 * doubles), then the %.15e/%.16e/%.17e + strtod fallback. Output follows
 * Python's repr(float): fixed notation for 1e-4 <= |v| < 1e16 ("0.1",
 * "3.0", "-0.0"), else "1e+23", "5e-324". */

struct diyfp {
	uint64_t f;
	int e;
};

/* 10^k ~ f * 2^e, f normalized and rounded to nearest, k = -348 .. 340. */
static const struct {
	uint64_t f;
	int e;
	int k;
} pow10_cache[] = {
	{0xfa8fd5a0081c0288ull, -1220, -348}, {0xbaaee17fa23ebf76ull, -1193, -340},
	{0x8b16fb203055ac76ull, -1166, -332}, {0xcf42894a5dce35eaull, -1140, -324},
	{0x9a6bb0aa55653b2dull, -1113, -316}, {0xe61acf033d1a45dfull, -1087, -308},
	{0xab70fe17c79ac6caull, -1060, -300}, {0xff77b1fcbebcdc4full, -1034, -292},
	{0xbe5691ef416bd60cull, -1007, -284}, {0x8dd01fad907ffc3cull, -980, -276},
	{0xd3515c2831559a83ull, -954, -268}, {0x9d71ac8fada6c9b5ull, -927, -260},
	{0xea9c227723ee8bcbull, -901, -252}, {0xaecc49914078536dull, -874, -244},
	{0x823c12795db6ce57ull, -847, -236}, {0xc21094364dfb5637ull, -821, -228},
	{0x9096ea6f3848984full, -794, -220}, {0xd77485cb25823ac7ull, -768, -212},
	{0xa086cfcd97bf97f4ull, -741, -204}, {0xef340a98172aace5ull, -715, -196},
	{0xb23867fb2a35b28eull, -688, -188}, {0x84c8d4dfd2c63f3bull, -661, -180},
	{0xc5dd44271ad3cdbaull, -635, -172}, {0x936b9fcebb25c996ull, -608, -164},
	{0xdbac6c247d62a584ull, -582, -156}, {0xa3ab66580d5fdaf6ull, -555, -148},
	{0xf3e2f893dec3f126ull, -529, -140}, {0xb5b5ada8aaff80b8ull, -502, -132},
	{0x87625f056c7c4a8bull, -475, -124}, {0xc9bcff6034c13053ull, -449, -116},
	{0x964e858c91ba2655ull, -422, -108}, {0xdff9772470297ebdull, -396, -100},
	{0xa6dfbd9fb8e5b88full, -369, -92}, {0xf8a95fcf88747d94ull, -343, -84},
	{0xb94470938fa89bcfull, -316, -76}, {0x8a08f0f8bf0f156bull, -289, -68},
	{0xcdb02555653131b6ull, -263, -60}, {0x993fe2c6d07b7facull, -236, -52},
	{0xe45c10c42a2b3b06ull, -210, -44}, {0xaa242499697392d3ull, -183, -36},
	{0xfd87b5f28300ca0eull, -157, -28}, {0xbce5086492111aebull, -130, -20},
	{0x8cbccc096f5088ccull, -103, -12}, {0xd1b71758e219652cull, -77, -4},
	{0x9c40000000000000ull, -50, 4}, {0xe8d4a51000000000ull, -24, 12},
	{0xad78ebc5ac620000ull, 3, 20}, {0x813f3978f8940984ull, 30, 28},
	{0xc097ce7bc90715b3ull, 56, 36}, {0x8f7e32ce7bea5c70ull, 83, 44},
	{0xd5d238a4abe98068ull, 109, 52}, {0x9f4f2726179a2245ull, 136, 60},
	{0xed63a231d4c4fb27ull, 162, 68}, {0xb0de65388cc8ada8ull, 189, 76},
	{0x83c7088e1aab65dbull, 216, 84}, {0xc45d1df942711d9aull, 242, 92},
	{0x924d692ca61be758ull, 269, 100}, {0xda01ee641a708deaull, 295, 108},
	{0xa26da3999aef774aull, 322, 116}, {0xf209787bb47d6b85ull, 348, 124},
	{0xb454e4a179dd1877ull, 375, 132}, {0x865b86925b9bc5c2ull, 402, 140},
	{0xc83553c5c8965d3dull, 428, 148}, {0x952ab45cfa97a0b3ull, 455, 156},
	{0xde469fbd99a05fe3ull, 481, 164}, {0xa59bc234db398c25ull, 508, 172},
	{0xf6c69a72a3989f5cull, 534, 180}, {0xb7dcbf5354e9beceull, 561, 188},
	{0x88fcf317f22241e2ull, 588, 196}, {0xcc20ce9bd35c78a5ull, 614, 204},
	{0x98165af37b2153dfull, 641, 212}, {0xe2a0b5dc971f303aull, 667, 220},
	{0xa8d9d1535ce3b396ull, 694, 228}, {0xfb9b7cd9a4a7443cull, 720, 236},
	{0xbb764c4ca7a44410ull, 747, 244}, {0x8bab8eefb6409c1aull, 774, 252},
	{0xd01fef10a657842cull, 800, 260}, {0x9b10a4e5e9913129ull, 827, 268},
	{0xe7109bfba19c0c9dull, 853, 276}, {0xac2820d9623bf429ull, 880, 284},
	{0x80444b5e7aa7cf85ull, 907, 292}, {0xbf21e44003acdd2dull, 933, 300},
	{0x8e679c2f5e44ff8full, 960, 308}, {0xd433179d9c8cb841ull, 986, 316},
	{0x9e19db92b4e31ba9ull, 1013, 324}, {0xeb96bf6ebadf77d9ull, 1039, 332},
	{0xaf87023b9bf0ee6bull, 1066, 340},
};

#define POW10_N (sizeof(pow10_cache) / sizeof(pow10_cache[0]))

static struct diyfp diy_mul(struct diyfp x, struct diyfp y)
{
	const uint64_t m32 = 0xFFFFFFFFu;
	uint64_t a = x.f >> 32, b = x.f & m32, c = y.f >> 32, d = y.f & m32;
	uint64_t ac = a * c, bc = b * c, ad = a * d, bd = b * d, tmp;
	struct diyfp r;

	tmp = (bd >> 32) + (ad & m32) + (bc & m32) + (1u << 31);
	r.f = ac + (ad >> 32) + (bc >> 32) + (tmp >> 32);
	r.e = x.e + y.e + 64;
	return r;
}

static struct diyfp diy_norm(struct diyfp x)
{
	int s = __builtin_clzll(x.f);

	x.f <<= s;
	x.e -= s;
	return x;
}

static int round_weed(char *buf, int len, uint64_t dist_high_w,
		      uint64_t unsafe, uint64_t rest, uint64_t ten_kappa,
		      uint64_t unit)
{
	uint64_t small = dist_high_w - unit, big = dist_high_w + unit;

	while (rest < small && unsafe - rest >= ten_kappa &&
	       (rest + ten_kappa < small ||
		small - rest >= rest + ten_kappa - small)) {
		buf[len - 1]--;
		rest += ten_kappa;
	}
	if (rest < big && unsafe - rest >= ten_kappa &&
	    (rest + ten_kappa < big || big - rest > rest + ten_kappa - big))
		return 0;
	return 2 * unit <= rest && rest <= unsafe - 4 * unit;
}

static int digit_gen(struct diyfp low, struct diyfp w, struct diyfp high,
		     char *buf, int *len, int *kappa)
{
	static const uint32_t p10[] = {1, 10, 100, 1000, 10000, 100000,
		1000000, 10000000, 100000000, 1000000000};
	uint64_t unit = 1, too_low = low.f - unit, too_high = high.f + unit;
	uint64_t unsafe = too_high - too_low, rest, fractionals;
	int sh = -w.e, k, d;
	char rev[10];
	uint64_t one = (uint64_t)1 << sh;
	uint32_t integrals = (uint32_t)(too_high >> sh), divisor;

	fractionals = too_high & (one - 1);
	*len = 0;
	/* integral digits by constant division (no divide by a variable) */
	for (k = 0, divisor = integrals; divisor; divisor /= 10)
		rev[k++] = (char)('0' + divisor % 10);
	while (k > 0) {
		d = rev[--k] - '0';
		buf[(*len)++] = (char)('0' + d);
		integrals -= (uint32_t)d * p10[k];
		rest = ((uint64_t)integrals << sh) + fractionals;
		if (rest < unsafe) {
			*kappa = k;
			return round_weed(buf, *len, too_high - w.f, unsafe,
					  rest, (uint64_t)p10[k] << sh, unit);
		}
	}
	for (;;) {
		fractionals *= 10;
		unit *= 10;
		unsafe *= 10;
		d = (int)(fractionals >> sh);
		buf[(*len)++] = (char)('0' + d);
		fractionals &= one - 1;
		k--;
		if (fractionals < unsafe) {
			*kappa = k;
			return round_weed(buf, *len, (too_high - w.f) * unit,
					  unsafe, fractionals, one, unit);
		}
		if (*len >= 20)
			return 0;
	}
}

/* Shortest digits of a positive finite v: v ~ d1.d2d3... * 10^*e10.
 * Returns the digit count, or 0 when Grisu3 cannot guarantee the result. */
static int grisu3(double v, char *buf, int *e10)
{
	uint64_t bits, frac;
	int bexp, len, kappa, min_e, max_e, k;
	size_t idx;
	struct diyfp w, mp, mm, c;

	memcpy(&bits, &v, sizeof(bits));
	frac = bits & (((uint64_t)1 << 52) - 1);
	bexp = (int)((bits >> 52) & 0x7FF);
	if (bexp) {
		w.f = frac | ((uint64_t)1 << 52);
		w.e = bexp - 1075;
	} else {
		w.f = frac;
		w.e = -1074;
	}
	mp.f = (w.f << 1) + 1;
	mp.e = w.e - 1;
	mp = diy_norm(mp);
	if (frac == 0 && bexp > 1) {
		mm.f = (w.f << 2) - 1;
		mm.e = w.e - 2;
	} else {
		mm.f = (w.f << 1) - 1;
		mm.e = w.e - 1;
	}
	mm.f <<= mm.e - mp.e;
	mm.e = mp.e;
	w = diy_norm(w);
	/* the product exponent must land in [-60, -32] */
	min_e = -60 - 64 - w.e;
	max_e = -32 - 64 - w.e;
	k = (min_e + 63) * 1233 / 4096;    /* ~ log10(2) = 1233 / 4096 */
	idx = (size_t)((k + 348 + 7) / 8);
	if (idx >= POW10_N)
		idx = POW10_N - 1;
	while (idx + 1 < POW10_N && pow10_cache[idx].e < min_e)
		idx++;
	while (idx > 0 && pow10_cache[idx].e > max_e)
		idx--;
	if (pow10_cache[idx].e < min_e || pow10_cache[idx].e > max_e)
		return 0;
	c.f = pow10_cache[idx].f;
	c.e = pow10_cache[idx].e;
	if (!digit_gen(diy_mul(mm, c), diy_mul(w, c), diy_mul(mp, c), buf,
		       &len, &kappa))
		return 0;
	*e10 = len - 1 + kappa - pow10_cache[idx].k;
	return len;
}

/* The fallback: the fewest of 15, 16, 17 correctly rounded digits that
 * strtod reads back as v. */
static int digits_printf(double v, char *buf, int *e10)
{
	char tmp[40], *end;
	int prec, n = 0;
	const char *s;

	for (prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (prec == 17 || strtod(tmp, &end) == v)
			break;
	}
	for (s = tmp; *s && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			buf[n++] = *s;
	*e10 = (int)strtol(s + 1, NULL, 10);
	return n;
}

size_t json_format_double(char *out, double v)
{
	char d[32];
	int n = 0, e10 = 0, decpt, i;
	char *o = out;

	if (!isfinite(v)) {
		memcpy(out, "null", 5);
		return 4;
	}
	if (signbit(v))
		*o++ = '-';
	v = fabs(v);
	if (v == 0) {
		d[n++] = '0';
	} else if (v < 0x1p53 && v == (double)(uint64_t)v) {
		uint64_t u = (uint64_t)v;
		char t[24];
		int m = 0;

		while (u) {
			t[m++] = (char)('0' + u % 10);
			u /= 10;
		}
		e10 = m - 1;
		while (m > 0)
			d[n++] = t[--m];
	} else {
		n = grisu3(v, d, &e10);
		if (!n)
			n = digits_printf(v, d, &e10);
	}
	while (n > 1 && d[n - 1] == '0')
		n--;
	decpt = e10 + 1;
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			*o++ = '0';
			*o++ = '.';
			for (i = decpt; i < 0; i++)
				*o++ = '0';
			memcpy(o, d, (size_t)n);
			o += n;
		} else if (decpt < n) {
			memcpy(o, d, (size_t)decpt);
			o += decpt;
			*o++ = '.';
			memcpy(o, d + decpt, (size_t)(n - decpt));
			o += n - decpt;
		} else {
			memcpy(o, d, (size_t)n);
			o += n;
			for (i = n; i < decpt; i++)
				*o++ = '0';
			*o++ = '.';
			*o++ = '0';
		}
	} else {
		*o++ = d[0];
		if (n > 1) {
			*o++ = '.';
			memcpy(o, d + 1, (size_t)(n - 1));
			o += n - 1;
		}
		*o++ = 'e';
		*o++ = e10 < 0 ? '-' : '+';
		if (e10 < 0)
			e10 = -e10;
		if (e10 >= 100)
			*o++ = (char)('0' + e10 / 100);
		*o++ = (char)('0' + e10 / 10 % 10);
		*o++ = (char)('0' + e10 % 10);
	}
	*o = '\0';
	return (size_t)(o - out);
}

