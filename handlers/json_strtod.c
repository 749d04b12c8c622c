/* JSON number reading: RFC 8259 numbers to correctly rounded doubles,
 * bit-identical to strtod, without strtod for the common cases: Clinger's
 * exact fast path, then Eisel-Lemire (Lemire, "Number Parsing at a
 * Gigabyte per Second", SPE 2021) with a 128-bit power-of-five table, then
 * strtod itself for the few inputs near a rounding tie. */
#include "json.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "json_strtod.h"

__extension__ typedef unsigned __int128 u128;

#define POW5_MIN (-342)
#define POW5_MAX 308

/* 5^q ~ (hi * 2^64 + lo) * 2^-s, truncated, 2^127 <= hi:lo < 2^128. */
static const struct {
	uint64_t hi, lo;
	int s;
} pow5[] = {
#include "json_pow5.inc"
};

/* 10^0 .. 10^22: exact doubles (Clinger's fast path). */
static const double exact10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static double from_bits(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

/* w * 10^q for w != 0 (at most 19 digits): 0 and *out, or -1 when the
 * 128-bit product is too close to a rounding tie to decide (and for
 * subnormal or overflowing results): the caller then asks strtod. */
static int eisel_lemire(uint64_t w, int q, bool neg, double *out)
{
	u128 first, second;
	uint64_t upper, lower, add, m, tail, mask;
	int lz, ub, shift, e;

	if (q < POW5_MIN || q > POW5_MAX)
		return -1;
	lz = __builtin_clzll(w);
	w <<= lz;
	first = (u128)w * pow5[q - POW5_MIN].hi;
	second = (u128)w * pow5[q - POW5_MIN].lo;
	upper = (uint64_t)(first >> 64);
	lower = (uint64_t)first;
	add = (uint64_t)(second >> 64);
	lower += add;
	upper += lower < add;
	/* upper:lower is within 2 units of lower of the exact product */
	ub = (int)(upper >> 63);
	shift = ub + 9;
	m = upper >> shift;                 /* 54 bits: 53 and a round bit */
	mask = (UINT64_C(1) << shift) - 1;
	tail = upper & mask;
	if ((m & 1) ? (tail == 0 && lower < 4) :
		      (tail == mask && lower > UINT64_MAX - 4))
		return -1;
	m = (m + 1) >> 1;
	e = 190 + ub + q - pow5[q - POW5_MIN].s - lz + 1023;
	if (m >> 53) {
		m >>= 1;
		e++;
	}
	if (e <= 0 || e >= 2047)
		return -1;
	*out = from_bits((uint64_t)neg << 63 | (uint64_t)e << 52 |
			 (m & ((UINT64_C(1) << 52) - 1)));
	return 0;
}

/* strtod on a NUL-terminated copy of s[0..n). */
static int slow_path(const char *s, size_t n, double *out)
{
	char local[128], *t = local;

	if (n >= sizeof(local)) {
		t = gg_malloc(n + 1);
		if (!t)
			return -1;
	}
	memcpy(t, s, n);
	t[n] = '\0';
	*out = strtod(t, NULL);
	if (t != local)
		gg_free(t);
	return 0;
}

size_t json_number_at(const char *str, size_t n, size_t i, double *out)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t start = i, digits = 0;
	uint64_t w = 0;
	int64_t q = 0, ex = 0;
	bool neg = false, eneg = false;

	if (i < n && s[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	if (s[i] == '0') {
		i++;
		if (i < n && s[i] >= '0' && s[i] <= '9')
			return 0;
	} else {
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (digits < 19)
				w = w * 10 + (s[i] - '0');
			else
				q++;
			digits++;
		}
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (digits == 0 && s[i] == '0') {
				q--;
				continue;
			}
			if (digits < 19) {
				w = w * 10 + (s[i] - '0');
				q--;
			}
			digits++;
		}
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		if (i >= n || s[i] < '0' || s[i] > '9')
			return 0;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			if (ex < 100000)
				ex = ex * 10 + (s[i] - '0');
	}
	q += eneg ? -ex : ex;
	if (w == 0) {
		*out = neg ? -0.0 : 0.0;
		return i - start;
	}
	if (digits <= 19) {
		if (w <= (UINT64_C(1) << 53) && q >= -22 && q <= 22) {
			double v = (double)w;

			v = q < 0 ? v / exact10[-q] : v * exact10[q];
			*out = neg ? -v : v;
			return i - start;
		}
		if (q >= POW5_MIN && q <= POW5_MAX &&
		    eisel_lemire(w, (int)q, neg, out) == 0)
			return i - start;
	}
	if (slow_path(str + start, i - start, out))
		return SIZE_MAX;
	return i - start;
}

int json_read_number(const char *s, size_t n, double *out)
{
	size_t len = json_number_at(s, n, 0, out);

	return len == n && n > 0 ? 0 : -1;
}
