/* Tests for the JSON module: strict parsing, getters and their problems
 * (kind + pointer), matrices, the streaming writer and exact number output. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/json.h"
#include "tests/lib/fixture.h"
#include "tests/lib/suite_run.h"

/* xorshift64 (Marsaglia 2003): explicit state, reproducible. */
static uint64_t xs_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double bits_to_double(uint64_t b)
{
	double v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

static int same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* Significant digits of a formatted number: "0.00120" -> "12". */
static void sig_digits(const char *s, char *out)
{
	size_t n = 0;

	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (n == 0 && *s == '0')
			continue;
		out[n++] = *s;
	}
	while (n > 1 && out[n - 1] == '0')
		n--;
	if (n == 0)
		out[n++] = '0';
	out[n] = '\0';
}

static cJSON *parse_ok(const char *s)
{
	struct problem p;
	cJSON *root = NULL;

	problem_init(&p);
	ck_assert_msg(json_parse(s, strlen(s), &root, &p) == 0,
		      "parse of %s failed: %s", s, p.detail);
	ck_assert_ptr_nonnull(root);
	return root;
}

/* ---- number formatting ------------------------------------------------ */

START_TEST(format_round_trips_a_million_random_bit_patterns)
{
	uint64_t s = 0x9E3779B97F4A7C15ull;
	char out[32], *end;
	size_t len, i, done = 0;
	double v, back;

	for (i = 0; done < 1000000; i++) {
		v = bits_to_double(xs_next(&s));
		if (!isfinite(v))
			continue;
		done++;
		len = json_format_double(out, v);
		back = strtod(out, &end);
		/* ck_assert logs every call: assert only on failure in hot loops */
		if (len >= 32 || len != strlen(out) || *end != '\0' ||
		    !same_bits(back, v))
			ck_abort_msg("%s does not read back as %.17g", out, v);
	}
}
END_TEST

/* The reference for one value, from glibc's correctly rounded printf:
 * the shortest n for which v rounded to n significant digits reads back
 * as v, and those digits (Python's repr rule: shortest, then closest).
 * Checks out's digits equal them; 0 or -1. */
static int shortest_closest(double v, const char *out)
{
	char ref[40], a[32], b[40];
	int prec;

	for (prec = 1; prec <= 17; prec++) {
		snprintf(ref, sizeof(ref), "%.*e", prec - 1, v);
		if (strtod(ref, NULL) == v)
			break;
	}
	sig_digits(out, a);
	sig_digits(ref, b);
	return strcmp(a, b) ? -1 : 0;
}

/* Exactly Python's repr digits (shortest, then closest) for random bit
 * patterns, ordinary magnitudes and every subnormal scale; the 10^7
 * version of this runs in bench/bench_json_format.c --verify. */
START_TEST(format_is_the_shortest_closest_decimal)
{
	uint64_t s = 0xD1B54A32D192ED03ull;
	char out[32];
	double v;

	for (int i = 0; i < 300000; i++) {
		v = bits_to_double(xs_next(&s));
		if (i % 3 == 1)
			v = ldexp((double)(xs_next(&s) >> 11), -(int)(xs_next(&s) % 80));
		if (i % 3 == 2)   /* subnormals: c < 2^52 at q = -1074 */
			v = ldexp((double)(xs_next(&s) >> (12 + xs_next(&s) % 52)),
				  -1074);
		if (!isfinite(v) || v == 0)
			continue;
		json_format_double(out, v);
		if (shortest_closest(v, out))
			ck_abort_msg("%s is not the shortest closest form of %.17g",
				     out, v);
	}
}
END_TEST

/* The classic hard cases, with what Python 3 prints for them. */
START_TEST(format_prints_the_hard_cases_as_python)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 5e-324, "5e-324" },                     /* 2^-1074 */
		{ 1e-323, "1e-323" },                     /* 2 x 2^-1074 */
		{ 1.5e-323, "1.5e-323" },
		{ 7e-323, "7e-323" },
		{ 2.2250738585072014e-308, "2.2250738585072014e-308" }, /* min normal */
		{ 2.225073858507201e-308, "2.225073858507201e-308" },   /* max subnormal */
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },  /* DBL_MAX */
		{ 9007199254740993.0, "9007199254740992.0" }, /* 2^53 + 1 rounds */
		{ 9007199254740994.0, "9007199254740994.0" },
		{ 1e23, "1e+23" },
		{ 8.41e21, "8.41e+21" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 0.3, "0.3" },
		{ 1e16, "1e+16" },
		{ 9999999999999998.0, "9999999999999998.0" },
		{ 1e-4, "0.0001" },
		{ 9.999999999999999e-05, "9.999999999999999e-05" },
		{ 5e-324 * 3, "1.5e-323" },
		{ 0x1p-1022 * 0.5, "1.1125369292536007e-308" },
		{ 0x1p1023, "8.98846567431158e+307" },
		{ 0x1p-1000, "9.332636185032189e-302" },
		{ 2.0, "2.0" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 2.0 / 3, "0.6666666666666666" },
		{ 123456789012345680.0, "1.2345678901234568e+17" },
		{ 4.35, "4.35" },
		{ 2.9802322387695312e-08, "2.9802322387695312e-08" }, /* 2^-25 */
	};
	char out[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		json_format_double(out, cases[i].v);
		ck_assert_msg(!strcmp(out, cases[i].want), "%.17g: got %s, want %s",
			      cases[i].v, out, cases[i].want);
		json_format_double(out, -cases[i].v);
		ck_assert(out[0] == '-' && !strcmp(out + 1, cases[i].want));
	}
}
END_TEST

/* The fewest digits among %.15g/%.16g/%.17g that round-trip: an upper bound
 * on the shortest length; json_format_double must never need more. */
START_TEST(format_never_uses_more_digits_than_the_printf_search)
{
	uint64_t s = 0x2545F4914F6CDD1Dull;
	char out[32], ref[40], a[32], b[40];
	int prec, i;
	double v;

	for (i = 0; i < 100000; i++) {
		v = bits_to_double(xs_next(&s));
		if (!isfinite(v))
			continue;
		if (i % 2)   /* also values of ordinary magnitude */
			v = ldexp((double)(xs_next(&s) >> 11), -(int)(xs_next(&s) % 80));
		for (prec = 1; prec <= 17; prec++) {
			snprintf(ref, sizeof(ref), "%.*g", prec, v);
			if (strtod(ref, NULL) == v)
				break;
		}
		json_format_double(out, v);
		sig_digits(out, a);
		sig_digits(ref, b);
		if (strlen(a) > strlen(b))
			ck_abort_msg("%s is longer than %s", out, ref);
	}
}
END_TEST

/* Any decimal with at most 15 significant digits survives a trip through a
 * double (DBL_DIG), so the shortest output has at most that many digits. */
START_TEST(format_keeps_short_decimals_short)
{
	uint64_t s = 12345;
	char in[48], out[32], a[32], b[32];
	int i, k;
	double v;

	for (i = 0; i < 200000; i++) {
		k = 1 + (int)(xs_next(&s) % 15);
		snprintf(in, sizeof(in), "%.*e", k - 1,
			 (double)(xs_next(&s) % 1000000007u) /
			 (double)(1 + xs_next(&s) % 1000u) *
			 pow(10.0, (double)((int)(xs_next(&s) % 600) - 300)));
		v = strtod(in, NULL);
		if (!isfinite(v) || v == 0 || fabs(v) < DBL_MIN)
			continue;
		json_format_double(out, v);
		sig_digits(out, a);
		sig_digits(in, b);
		if (strcmp(a, b) != 0)
			ck_abort_msg("%s printed as %s", in, out);
	}
}
END_TEST

static const struct {
	double v;
	const char *text;
} known[] = {
	{0.1, "0.1"},
	{0.30000000000000004, "0.30000000000000004"},
	{1e23, "1e+23"},
	{5e-324, "5e-324"},
	{DBL_MAX, "1.7976931348623157e+308"},
	{DBL_MIN, "2.2250738585072014e-308"},
	{2.225073858507201e-308, "2.225073858507201e-308"},
	{0.0, "0.0"},
	{-0.0, "-0.0"},
	{1.0, "1.0"},
	{-3.0, "-3.0"},
	{100.0, "100.0"},
	{1e15, "1000000000000000.0"},
	{1e16, "1e+16"},
	{0.0001, "0.0001"},
	{1e-5, "1e-05"},
	{123456.789, "123456.789"},
	{9007199254740992.0, "9007199254740992.0"},
	{1.0 / 3.0, "0.3333333333333333"},
	{2.0 / 3.0, "0.6666666666666666"},
	{-1.5e-7, "-1.5e-07"},
	{1.7886284734303186, "1.7886284734303186"},
	{1e300, "1e+300"},
	{4.35, "4.35"},
	{0.5, "0.5"},
	{2e-7, "2e-07"},
};

START_TEST(format_prints_known_values_in_their_shortest_form)
{
	char out[32];

	json_format_double(out, known[_i].v);
	ck_assert_str_eq(out, known[_i].text);
}
END_TEST

/* tests/fixtures/json/float_repr.txt: bits and CPython's repr (shortest,
 * closest), recorded by gen_float_repr.py next to it. */
START_TEST(format_matches_python_repr_on_the_recorded_fixture)
{
	char path[512], line[128], text[64], out[32];
	unsigned long long bits;
	size_t n = 0;
	FILE *f;

	fixture_path(path, sizeof(path), "json/float_repr.txt");
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (run from the repo root)", path);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%16llx %63s", &bits, text) != 2)
			continue;
		json_format_double(out, bits_to_double((uint64_t)bits));
		n++;
		if (strcmp(out, text) != 0)
			ck_abort_msg("bits %016llx: got %s, Python says %s", bits, out, text);
	}
	fclose(f);
	ck_assert_uint_gt(n, 6000);
}
END_TEST

START_TEST(format_sum_of_point_one_and_point_two_keeps_every_digit)
{
	char out[32];
	volatile double a = 0.1, b = 0.2;

	json_format_double(out, a + b);
	ck_assert_str_eq(out, "0.30000000000000004");
}
END_TEST

START_TEST(format_round_trips_every_power_of_two_and_its_neighbours)
{
	char out[32];
	double v, w;
	int e;

	for (e = -1074; e <= 1023; e++) {
		v = ldexp(1.0, e);
		for (w = nextafter(v, 0); w <= nextafter(v, INFINITY) && isfinite(w);
		     w = nextafter(w, INFINITY)) {
			json_format_double(out, w);
			if (!same_bits(strtod(out, NULL), w))
				ck_abort_msg("%s", out);
			json_format_double(out, -w);
			if (!same_bits(strtod(out, NULL), -w))
				ck_abort_msg("%s", out);
		}
	}
	json_format_double(out, nextafter(DBL_MIN, 0));  /* largest subnormal */
	ck_assert(same_bits(strtod(out, NULL), nextafter(DBL_MIN, 0)));
}
END_TEST

START_TEST(format_prints_powers_of_ten_with_one_digit)
{
	char in[16], out[32], d[32];
	double v;
	int k;

	for (k = -323; k <= 308; k++) {
		snprintf(in, sizeof(in), "1e%d", k);
		v = strtod(in, NULL);
		json_format_double(out, v);
		sig_digits(out, d);
		if (strcmp(d, "1") != 0 || !same_bits(strtod(out, NULL), v))
			ck_abort_msg("%s printed as %s", in, out);
	}
}
END_TEST

START_TEST(format_prints_non_finite_values_as_null)
{
	char out[32];

	ck_assert_uint_eq(json_format_double(out, NAN), 4);
	ck_assert_str_eq(out, "null");
	json_format_double(out, INFINITY);
	ck_assert_str_eq(out, "null");
	json_format_double(out, -INFINITY);
	ck_assert_str_eq(out, "null");
}
END_TEST

/* ---- parsing ------------------------------------------------------------ */

static const struct {
	const char *body;
	size_t len;              /* 0: strlen */
	const char *detail;      /* expected substring of the detail */
} rejected[] = {
	{"", 0, "empty body"},
	{"   \n\t", 0, "empty body"},
	{"{\"a\":1} x", 0, "trailing data after the JSON value at byte offset 8"},
	{"{\"a\":1}}", 0, "trailing data after the JSON value at byte offset 7"},
	{"{\"a\":1}\0", 8, "trailing data after the JSON value at byte offset 7"},
	{"[1,]", 0, "unexpected character ']' at byte offset 3"},
	{"[01]", 0, "leading zeros are not allowed at byte offset 2"},
	{"[1.]", 0, "expected a digit after the decimal point at byte offset 3"},
	{"[-.5]", 0, "invalid number at byte offset 2"},
	{"[1e]", 0, "expected a digit in the exponent at byte offset 3"},
	{"[1 2]", 0, "expected ',' or ']' at byte offset 3"},
	{"{\"a\" 1}", 0, "expected ':' after a key at byte offset 5"},
	{"{'a':1}", 0, "expected a string key at byte offset 1"},
	{"{\"a\":1,}", 0, "expected a string key at byte offset 7"},
	{"nul", 0, "at byte offset 0"},
	{"[tru]", 0, "unexpected character 't' at byte offset 1"},
	{"[\"\\ud800\"]", 0, "unpaired UTF-16 surrogate escape at byte offset 2"},
	{"[\"\\udc00x\"]", 0, "unpaired UTF-16 surrogate escape at byte offset 2"},
	{"\"a\nb\"", 0, "unescaped control character in a string at byte offset 2"},
	{"\"\\x\"", 0, "invalid escape sequence at byte offset 1"},
	{"\"\\u12G4\"", 0, "invalid escape sequence at byte offset 1"},
	{"\"\\u0000\"", 0, "\\u0000 is not allowed in strings at byte offset 1"},
	{"\"abc", 0, "unterminated string at byte offset 0"},
	{"[1", 0, "unexpected end of input at byte offset 2"},
	{"\"\xC0\xAF\"", 0, "invalid UTF-8 at byte offset 1: overlong encoding"},
	{"\"\xE0\x80\xAF\"", 0, "invalid UTF-8 at byte offset 1: overlong encoding"},
	{"\"\xF0\x80\x80\xAF\"", 0, "invalid UTF-8 at byte offset 1: overlong encoding"},
	{"\"\xED\xA0\x80\"", 0, "invalid UTF-8 at byte offset 1: UTF-16 surrogate"},
	{"\"\xF4\x90\x80\x80\"", 0, "invalid UTF-8 at byte offset 1: code point beyond U+10FFFF"},
	{"\"\xF5\x80\x80\x80\"", 0, "invalid UTF-8 at byte offset 1: code point beyond U+10FFFF"},
	{"\"\xE2\x82\"", 0, "invalid UTF-8 at byte offset 1: truncated sequence"},
	{"\"ab\xE2\x82", 0, "invalid UTF-8 at byte offset 3: truncated sequence"},
	{"\"\x80\"", 0, "invalid UTF-8 at byte offset 1: unexpected continuation byte"},
	{"\"\xFF\"", 0, "invalid UTF-8 at byte offset 1: invalid byte"},
	{"[\xC3\xA9]", 0, "unexpected byte 0xC3 at byte offset 1"},
	{"\xEF\xBB\xBF{}", 0, "unexpected byte 0xEF at byte offset 0"},
};

START_TEST(parse_rejects_malformed_bodies_naming_the_byte_offset)
{
	size_t len = rejected[_i].len ? rejected[_i].len : strlen(rejected[_i].body);
	struct problem p;
	cJSON *root = (cJSON *)&p;   /* must be reset to NULL */

	problem_init(&p);
	ck_assert_int_eq(json_parse(rejected[_i].body, len, &root, &p), -1);
	ck_assert_ptr_null(root);
	ck_assert_int_eq(p.kind, PROB_MALFORMED_JSON);
	ck_assert_uint_eq(problem_status(p.kind), 400);
	ck_assert_msg(strstr(p.detail, rejected[_i].detail) != NULL,
		      "detail '%s' lacks '%s'", p.detail, rejected[_i].detail);
}
END_TEST

START_TEST(parse_accepts_valid_bodies_with_surrounding_whitespace)
{
	const char *s = " \r\n\t{\"a\": [1, 2.5e-3, -0, true, false, null, "
			"\"\\u00e9\\ud83d\\ude00\xF4\x8F\xBF\xBF\xE2\x82\xAC\"], \"b\": {}}\n ";
	cJSON *root = parse_ok(s), *a = cJSON_GetObjectItemCaseSensitive(root, "a");
	const cJSON *last = cJSON_GetArrayItem(a, 6);

	ck_assert_int_eq(cJSON_GetArraySize(a), 7);
	ck_assert(same_bits(cJSON_GetArrayItem(a, 1)->valuedouble, 2.5e-3));
	ck_assert_str_eq(last->valuestring,
			 "\xC3\xA9\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xE2\x82\xAC");
	cJSON_Delete(root);
}
END_TEST

START_TEST(parse_reads_only_len_bytes_of_an_unterminated_buffer)
{
	char body[] = {'[', '1', '2', ']', 'g', 'a', 'r', 'b'};
	char num[] = {'4', '2', '7'};
	struct problem p;
	cJSON *root = NULL;

	problem_init(&p);
	ck_assert_int_eq(json_parse(body, 4, &root, &p), 0);
	ck_assert(same_bits(cJSON_GetArrayItem(root, 0)->valuedouble, 12.0));
	cJSON_Delete(root);
	ck_assert_int_eq(json_parse(num, 2, &root, &p), 0);
	ck_assert(same_bits(root->valuedouble, 42.0));
	cJSON_Delete(root);
	ck_assert_int_eq(p.kind, PROB_NONE);
}
END_TEST

static char *nested(size_t depth, const char *open, const char *mid,
		    const char *close)
{
	size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close), i;
	char *s = malloc(depth * (lo + lc) + lm + 1), *o = s;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < depth; i++, o += lo)
		memcpy(o, open, lo);
	memcpy(o, mid, lm);
	o += lm;
	for (i = 0; i < depth; i++, o += lc)
		memcpy(o, close, lc);
	*o = '\0';
	return s;
}

START_TEST(parse_rejects_deep_nesting_without_recursing)
{
	struct problem p;
	cJSON *root = NULL;
	char *s;

	s = nested(5000, "[", "1", "]");
	problem_init(&p);
	ck_assert_int_eq(json_parse(s, strlen(s), &root, &p), -1);
	ck_assert_int_eq(p.kind, PROB_MALFORMED_JSON);
	ck_assert_ptr_nonnull(strstr(p.detail, "nesting deeper than 512 levels at byte offset 512"));
	free(s);

	s = nested(5000, "{\"a\":", "1", "}");
	problem_init(&p);
	ck_assert_int_eq(json_parse(s, strlen(s), &root, &p), -1);
	ck_assert_int_eq(p.kind, PROB_MALFORMED_JSON);
	free(s);

	s = nested(513, "[", "", "]");
	problem_init(&p);
	ck_assert_int_eq(json_parse(s, strlen(s), &root, &p), -1);
	free(s);

	s = nested(512, "[", "", "]");
	problem_init(&p);
	ck_assert_int_eq(json_parse(s, strlen(s), &root, &p), 0);
	cJSON_Delete(root);
	free(s);
}
END_TEST

START_TEST(parse_rejects_a_null_body)
{
	struct problem p;
	cJSON *root = NULL;

	problem_init(&p);
	ck_assert_int_eq(json_parse(NULL, 0, &root, &p), -1);
	ck_assert_int_eq(p.kind, PROB_MALFORMED_JSON);
}
END_TEST

/* ---- pointers ----------------------------------------------------------- */

START_TEST(pointers_escape_tilde_and_slash)
{
	char out[64];

	json_pointer(out, sizeof(out), "", "data");
	ck_assert_str_eq(out, "/data");
	json_pointer(out, sizeof(out), "/model", "a/b~c");
	ck_assert_str_eq(out, "/model/a~1b~0c");
	json_pointer(out, sizeof(out), "/m", "");
	ck_assert_str_eq(out, "/m/");
	json_pointer_index(out, sizeof(out), "/data/3", 12);
	ck_assert_str_eq(out, "/data/3/12");
	json_pointer_index(out, sizeof(out), "", 0);
	ck_assert_str_eq(out, "/0");
	json_pointer(out, 6, "/abc", "~~");
	ck_assert_str_eq(out, "/abc/");
}
END_TEST

/* ---- getters -------------------------------------------------------------- */

START_TEST(get_bool_reads_defaults_and_rejects_other_types)
{
	cJSON *r = parse_ok("{\"t\": true, \"f\": false, \"n\": null, \"s\": \"yes\"}");
	struct problem p;
	bool b;

	problem_init(&p);
	ck_assert_int_eq(json_get_bool(r, "", "t", 0, false, &b, &p), 1);
	ck_assert(b);
	ck_assert_int_eq(json_get_bool(r, "", "f", 0, true, &b, &p), 1);
	ck_assert(!b);
	ck_assert_int_eq(json_get_bool(r, "", "x", 0, true, &b, &p), 0);
	ck_assert(b);
	ck_assert_int_eq(json_get_bool(r, "", "n", 0, false, &b, &p), 0);
	ck_assert(!b);
	ck_assert_int_eq(json_get_bool(NULL, "", "t", 0, true, &b, &p), 0);
	ck_assert_int_eq(p.kind, PROB_NONE);
	ck_assert_int_eq(json_get_bool(r, "/opts", "s", 0, false, &b, &p), -1);
	ck_assert_int_eq(p.kind, PROB_WRONG_TYPE);
	ck_assert_str_eq(p.errors[0].pointer, "/opts/s");
	ck_assert_str_eq(p.errors[0].detail, "expected a boolean, got a string");
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_reports_a_missing_required_field)
{
	cJSON *r = parse_ok("{\"n\": null}");
	struct problem p;
	double d;

	problem_init(&p);
	ck_assert_int_eq(json_get_double(r, "", "eps", JSON_REQUIRED, 1, 0, 1, &d, &p), -1);
	ck_assert_int_eq(p.kind, PROB_MISSING_FIELD);
	ck_assert_str_eq(p.errors[0].pointer, "/eps");
	ck_assert_int_eq(json_get_double(r, "", "n", JSON_REQUIRED, 1, 0, 1, &d, &p), -1);
	ck_assert_uint_eq(p.n_errors, 2);
	ck_assert_str_eq(p.errors[1].pointer, "/n");
	ck_assert_int_eq(p.errors[1].detail[0] != '\0', 1);
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_double_checks_type_range_and_finiteness)
{
	cJSON *r = parse_ok("{\"a\": 0.5, \"s\": \"1\", \"big\": 1e999, \"neg\": -2,"
			    " \"z\": 0}");
	struct problem p;
	double d;

	problem_init(&p);
	ck_assert_int_eq(json_get_double(r, "", "a", 0, 9, 0, 1, &d, &p), 1);
	ck_assert(same_bits(d, 0.5));
	ck_assert_int_eq(json_get_double(r, "", "none", 0, 9, 0, 1, &d, &p), 0);
	ck_assert(same_bits(d, 9.0));

	ck_assert_int_eq(json_get_double(r, "", "s", 0, 9, 0, 1, &d, &p), -1);
	ck_assert_int_eq(p.kind, PROB_WRONG_TYPE);
	ck_assert_str_eq(p.errors[0].detail, "expected a number, got a string");

	problem_init(&p);
	ck_assert_int_eq(json_get_double(r, "/x", "big", 0, 9, -DBL_MAX, DBL_MAX, &d, &p), -1);
	ck_assert_int_eq(p.kind, PROB_NON_FINITE);
	ck_assert_uint_eq(problem_status(p.kind), 422);
	ck_assert_str_eq(p.errors[0].pointer, "/x/big");

	problem_init(&p);
	ck_assert_int_eq(json_get_double(r, "", "neg", 0, 9, 0, 1, &d, &p), -1);
	ck_assert_int_eq(p.kind, PROB_OUT_OF_RANGE);
	ck_assert_str_eq(p.errors[0].detail, "must be between 0.0 and 1.0, got -2.0");

	problem_init(&p);
	ck_assert_int_eq(json_get_double(r, "", "z", 0, 9, 0x1p-1074, INFINITY, &d, &p), -1);
	ck_assert_str_eq(p.errors[0].detail, "must be greater than 0, got 0.0");
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_int_accepts_integral_numbers_only)
{
	cJSON *r = parse_ok("{\"one\": 1.0, \"half\": 1.5, \"huge\": 1e300,"
			    " \"max\": 4294967295, \"over\": 4294967296, \"neg\": -1,"
			    " \"inf\": -1e400, \"b\": true}");
	struct problem p;
	int64_t v;

	problem_init(&p);
	ck_assert_int_eq(json_get_int(r, "", "one", 0, 7, 0, 10, &v, &p), 1);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(json_get_int(r, "", "max", 0, 7, 0, 4294967295LL, &v, &p), 1);
	ck_assert_int_eq(v, 4294967295LL);
	ck_assert_int_eq(json_get_int(r, "", "nope", 0, 7, 0, 10, &v, &p), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(p.kind, PROB_NONE);

	ck_assert_int_eq(json_get_int(r, "", "half", 0, 7, 0, 10, &v, &p), -1);
	ck_assert_int_eq(p.kind, PROB_WRONG_TYPE);
	ck_assert_str_eq(p.errors[0].detail, "expected an integer, got 1.5");

	problem_init(&p);
	ck_assert_int_eq(json_get_int(r, "", "huge", 0, 7, 0, 10, &v, &p), -1);
	ck_assert_int_eq(p.kind, PROB_OUT_OF_RANGE);
	ck_assert_str_eq(p.errors[0].detail, "must be an integer between 0 and 10, got 1e+300");

	problem_init(&p);
	ck_assert_int_eq(json_get_int(r, "", "over", 0, 7, 0, 4294967295LL, &v, &p), -1);
	ck_assert_int_eq(p.kind, PROB_OUT_OF_RANGE);
	ck_assert_ptr_nonnull(strstr(p.errors[0].detail, "4294967295"));

	problem_init(&p);
	ck_assert_int_eq(json_get_int(r, "", "neg", 0, 7, 0, 10, &v, &p), -1);
	ck_assert_int_eq(p.kind, PROB_OUT_OF_RANGE);

	problem_init(&p);
	ck_assert_int_eq(json_get_int(r, "", "inf", 0, 7, 0, 10, &v, &p), -1);
	ck_assert_int_eq(p.kind, PROB_NON_FINITE);

	problem_init(&p);
	ck_assert_int_eq(json_get_int(r, "", "b", 0, 7, 0, 10, &v, &p), -1);
	ck_assert_str_eq(p.errors[0].detail, "expected an integer, got a boolean");
	cJSON_Delete(r);
}
END_TEST

static const char *const methods[] = {"zeros", "random", "he", "xavier", NULL};

START_TEST(get_enum_maps_names_and_lists_the_allowed_values)
{
	cJSON *r = parse_ok("{\"m\": \"xavier\", \"typo\": \"hee\", \"far\": \"qqqqqq\","
			    " \"num\": 3}");
	struct problem p;
	int i;

	problem_init(&p);
	ck_assert_int_eq(json_get_enum(r, "", "m", 0, methods, 2, &i, &p), 1);
	ck_assert_int_eq(i, 3);
	ck_assert_int_eq(json_get_enum(r, "", "none", 0, methods, 2, &i, &p), 0);
	ck_assert_int_eq(i, 2);

	ck_assert_int_eq(json_get_enum(r, "", "typo", 0, methods, 2, &i, &p), -1);
	ck_assert_int_eq(p.kind, PROB_UNKNOWN_ENUM);
	ck_assert_str_eq(p.errors[0].pointer, "/typo");
	ck_assert_str_eq(p.errors[0].detail, "unknown value 'hee' (did you mean 'he'?);"
			 " expected one of: zeros, random, he, xavier");
	ck_assert_int_eq(json_get_enum(r, "", "far", 0, methods, 2, &i, &p), -1);
	ck_assert_str_eq(p.errors[1].detail, "unknown value 'qqqqqq';"
			 " expected one of: zeros, random, he, xavier");
	ck_assert_int_eq(json_get_enum(r, "", "num", 0, methods, 2, &i, &p), -1);
	ck_assert_int_eq(p.kind, PROB_UNKNOWN_ENUM);   /* the first kind wins */
	ck_assert_str_eq(p.errors[2].detail, "expected a string, got a number");
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_string_enforces_the_maximum_length)
{
	cJSON *r = parse_ok("{\"s\": \"abcdef\", \"o\": {}}");
	struct problem p;
	const char *s;

	problem_init(&p);
	ck_assert_int_eq(json_get_string(r, "", "s", 0, 6, &s, &p), 1);
	ck_assert_str_eq(s, "abcdef");
	ck_assert_int_eq(json_get_string(r, "", "x", 0, 6, &s, &p), 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(json_get_string(r, "", "s", 0, 5, &s, &p), -1);
	ck_assert_int_eq(p.kind, PROB_OUT_OF_RANGE);
	ck_assert_ptr_nonnull(strstr(p.errors[0].detail, "maximum of 5"));
	ck_assert_int_eq(json_get_string(r, "", "o", 0, 5, &s, &p), -1);
	ck_assert_str_eq(p.errors[1].detail, "expected a string, got an object");
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_node_checks_the_container_type)
{
	cJSON *r = parse_ok("{\"o\": {\"k\": 1}, \"a\": [1]}");
	const cJSON *n;
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_get_node(r, "", "o", 0, cJSON_Object, &n, &p), 1);
	ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(n, "k"));
	ck_assert_int_eq(json_get_node(r, "", "x", 0, cJSON_Object, &n, &p), 0);
	ck_assert_ptr_null(n);
	ck_assert_int_eq(json_get_node(r, "", "a", 0, cJSON_Object, &n, &p), -1);
	ck_assert_int_eq(p.kind, PROB_WRONG_TYPE);
	ck_assert_str_eq(p.errors[0].detail, "expected an object, got an array");
	ck_assert_int_eq(json_get_node(r, "", "o", 0, cJSON_Array, &n, &p), -1);
	ck_assert_str_eq(p.errors[1].detail, "expected an array, got an object");
	cJSON_Delete(r);
}
END_TEST

static const char *const fields[] = {"op", "data", "layout", "with_mean", NULL};

START_TEST(check_object_flags_unknown_fields_with_a_hint)
{
	cJSON *r = parse_ok("{\"op\": \"fit\", \"dta\": [], \"zzzzzz\": 1, \"a/b\": 2}");
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_check_object(r, "", fields, &p), -1);
	ck_assert_int_eq(p.kind, PROB_UNKNOWN_FIELD);
	ck_assert_uint_eq(p.n_errors, 3);
	ck_assert_str_eq(p.errors[0].pointer, "/dta");
	ck_assert_str_eq(p.errors[0].detail, "unknown field 'dta'; did you mean 'data'?");
	ck_assert_str_eq(p.errors[1].pointer, "/zzzzzz");
	ck_assert_str_eq(p.errors[1].detail,
			 "unknown field 'zzzzzz'; allowed fields: op, data, layout, with_mean");
	ck_assert_str_eq(p.errors[2].pointer, "/a~1b");
	cJSON_Delete(r);
}
END_TEST

START_TEST(check_object_rejects_duplicate_keys)
{
	cJSON *r = parse_ok("{\"op\": \"fit\", \"data\": [[1]], \"op\": \"transform\"}");
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_check_object(r, "/x", fields, &p), -1);
	ck_assert_int_eq(p.kind, PROB_INVALID);
	ck_assert_uint_eq(p.n_errors, 1);
	ck_assert_str_eq(p.errors[0].pointer, "/x/op");
	ck_assert_str_eq(p.errors[0].detail, "duplicate key 'op'");
	cJSON_Delete(r);

	r = parse_ok("{\"op\": 1, \"data\": 2}");
	problem_init(&p);
	ck_assert_int_eq(json_check_object(r, "", fields, &p), 0);
	ck_assert_int_eq(p.kind, PROB_NONE);
	cJSON_Delete(r);
}
END_TEST

START_TEST(check_object_rejects_a_non_object)
{
	cJSON *r = parse_ok("[1, 2]");
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_check_object(r, "", fields, &p), -1);
	ck_assert_int_eq(p.kind, PROB_WRONG_TYPE);
	ck_assert_str_eq(p.errors[0].pointer, "");
	ck_assert_str_eq(p.errors[0].detail, "expected an object, got an array");
	cJSON_Delete(r);
}
END_TEST

/* ---- arrays and matrices ------------------------------------------------------ */

START_TEST(get_vector_reads_numbers_and_names_bad_elements)
{
	cJSON *r = parse_ok("{\"v\": [1, -2.5, 3e-300], \"e\": [], \"bad\": [1, \"x\", 2, null, 1e999],"
			    " \"n\": 5}");
	struct problem p;
	double *v = NULL;
	size_t n;

	problem_init(&p);
	ck_assert_int_eq(json_get_vector(r, "", "v", 0, 3, &v, &n, &p), 1);
	ck_assert_uint_eq(n, 3);
	ck_assert(same_bits(v[0], 1.0) && same_bits(v[1], -2.5) && same_bits(v[2], 3e-300));
	free(v);
	ck_assert_int_eq(json_get_vector(r, "", "none", 0, 3, &v, &n, &p), 0);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(n, 0);

	ck_assert_int_eq(json_get_vector(r, "", "v", 0, 2, &v, &n, &p), -1);
	ck_assert_int_eq(p.kind, PROB_TOO_LARGE);
	ck_assert_str_eq(p.errors[0].detail, "3 values exceed the limit of 2");
	ck_assert_ptr_null(v);

	problem_init(&p);
	ck_assert_int_eq(json_get_vector(r, "", "e", 0, 9, &v, &n, &p), -1);
	ck_assert_int_eq(p.kind, PROB_INVALID);

	problem_init(&p);
	ck_assert_int_eq(json_get_vector(r, "/g", "bad", 0, 9, &v, &n, &p), -1);
	ck_assert_uint_eq(p.n_errors, 3);
	ck_assert_int_eq(p.kind, PROB_WRONG_TYPE);
	ck_assert_str_eq(p.errors[0].pointer, "/g/bad/1");
	ck_assert_str_eq(p.errors[1].pointer, "/g/bad/3");
	ck_assert_str_eq(p.errors[1].detail, "expected a number, got null");
	ck_assert_str_eq(p.errors[2].pointer, "/g/bad/4");
	ck_assert_ptr_null(v);

	problem_init(&p);
	ck_assert_int_eq(json_get_vector(r, "", "n", 0, 9, &v, &n, &p), -1);
	ck_assert_int_eq(p.kind, PROB_WRONG_TYPE);
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_int_vector_checks_each_element)
{
	cJSON *r = parse_ok("{\"d\": [2, 4, 1], \"bad\": [2, 0, 1.5]}");
	struct problem p;
	int64_t *v = NULL;
	size_t n;

	problem_init(&p);
	ck_assert_int_eq(json_get_int_vector(r, "", "d", JSON_REQUIRED, 8, 1, 100, &v, &n, &p), 1);
	ck_assert_uint_eq(n, 3);
	ck_assert(v[0] == 2 && v[1] == 4 && v[2] == 1);
	free(v);
	ck_assert_int_eq(json_get_int_vector(r, "", "bad", 0, 8, 1, 100, &v, &n, &p), -1);
	ck_assert_uint_eq(p.n_errors, 2);
	ck_assert_int_eq(p.kind, PROB_OUT_OF_RANGE);
	ck_assert_str_eq(p.errors[0].pointer, "/bad/1");
	ck_assert_str_eq(p.errors[1].pointer, "/bad/2");
	ck_assert_int_eq(json_get_int_vector(r, "", "d", 0, 2, 1, 100, &v, &n, &p), -1);
	ck_assert_str_eq(p.errors[2].detail, "3 values exceed the limit of 2");
	ck_assert_int_eq(json_get_int_vector(r, "", "x", JSON_REQUIRED, 8, 1, 100, &v, &n, &p), -1);
	ck_assert_str_eq(p.errors[3].pointer, "/x");
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_matrix_reads_rows_in_row_major_order)
{
	cJSON *r = parse_ok("{\"data\": [[1, 2, 3], [4, 5, 6.5]]}");
	struct json_matrix m;
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_get_matrix(r, "", "data", JSON_REQUIRED, 6, &m, &p), 1);
	ck_assert_uint_eq(m.rows, 2);
	ck_assert_uint_eq(m.cols, 3);
	ck_assert(same_bits(m.v[2], 3.0) && same_bits(m.v[3], 4.0) && same_bits(m.v[5], 6.5));
	free(m.v);
	ck_assert_int_eq(json_get_matrix(r, "", "none", 0, 6, &m, &p), 0);
	ck_assert_ptr_null(m.v);
	ck_assert_int_eq(p.kind, PROB_NONE);
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_matrix_rejects_a_ragged_row_at_its_pointer)
{
	cJSON *r = parse_ok("{\"data\": [[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 2]]}");
	struct json_matrix m;
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_get_matrix(r, "", "data", 0, 100, &m, &p), -1);
	ck_assert_int_eq(p.kind, PROB_SHAPE_MISMATCH);
	ck_assert_uint_eq(p.n_errors, 1);
	ck_assert_str_eq(p.errors[0].pointer, "/data/3");
	ck_assert_str_eq(p.errors[0].detail, "row 3 has 2 values, row 0 has 3");
	ck_assert_ptr_null(m.v);
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_matrix_names_every_bad_cell)
{
	cJSON *r = parse_ok("{\"data\": [[1, 2], [3, 4], [5, 6], [7, \"x\"], [null, 1e999],"
			    " 5, []]}");
	struct json_matrix m;
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_get_matrix(r, "", "data", 0, 100, &m, &p), -1);
	ck_assert_int_eq(p.kind, PROB_WRONG_TYPE);
	ck_assert_uint_eq(p.n_errors, 5);
	ck_assert_str_eq(p.errors[0].pointer, "/data/3/1");
	ck_assert_str_eq(p.errors[0].detail, "expected a number, got a string");
	ck_assert_str_eq(p.errors[1].pointer, "/data/4/0");
	ck_assert_str_eq(p.errors[1].detail, "expected a number, got null");
	ck_assert_str_eq(p.errors[2].pointer, "/data/4/1");
	ck_assert_str_eq(p.errors[3].pointer, "/data/5");
	ck_assert_str_eq(p.errors[4].pointer, "/data/6");
	ck_assert_str_eq(p.errors[4].detail, "row 6 has 0 values, row 0 has 2");
	ck_assert_uint_eq(problem_status(p.kind), 422);
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_matrix_reads_nulls_as_nan_only_when_allowed)
{
	cJSON *r = parse_ok("{\"data\": [[1, null], [null, 4]]}");
	struct json_matrix m;
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_get_matrix(r, "", "data", JSON_ALLOW_NULL, 4, &m, &p), 1);
	ck_assert(isnan(m.v[1]) && isnan(m.v[2]));
	ck_assert(same_bits(m.v[0], 1.0) && same_bits(m.v[3], 4.0));
	free(m.v);
	ck_assert_int_eq(json_get_matrix(r, "", "data", 0, 4, &m, &p), -1);
	ck_assert_uint_eq(p.n_errors, 2);
	ck_assert_str_eq(p.errors[0].pointer, "/data/0/1");
	ck_assert_str_eq(p.errors[1].pointer, "/data/1/0");
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_matrix_reads_a_flat_array_as_a_column_only_when_asked)
{
	cJSON *r = parse_ok("{\"b\": [1, 2, 3], \"bb\": [[0.5], [1]], \"mix\": [1, [2]]}");
	struct json_matrix m;
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_get_matrix(r, "", "b", JSON_FLAT_COLUMN, 100, &m, &p), 1);
	ck_assert_uint_eq(m.rows, 3);
	ck_assert_uint_eq(m.cols, 1);
	ck_assert(same_bits(m.v[0], 1.0) && same_bits(m.v[2], 3.0));
	free(m.v);
	ck_assert_int_eq(json_get_matrix(r, "", "bb", JSON_FLAT_COLUMN, 100, &m, &p), 1);
	ck_assert_uint_eq(m.rows, 2);
	ck_assert_uint_eq(m.cols, 1);
	free(m.v);
	ck_assert_int_eq(json_get_matrix(r, "", "b", JSON_FLAT_COLUMN, 2, &m, &p), -1);
	ck_assert_int_eq(p.kind, PROB_TOO_LARGE);
	ck_assert_int_eq(json_get_matrix(r, "", "mix", JSON_FLAT_COLUMN, 100, &m, &p), -1);
	ck_assert_str_eq(p.errors[1].pointer, "/mix/1");

	problem_init(&p);
	ck_assert_int_eq(json_get_matrix(r, "", "b", 0, 100, &m, &p), -1);
	ck_assert_int_eq(p.kind, PROB_WRONG_TYPE);
	ck_assert_str_eq(p.errors[0].pointer, "/b/0");
	cJSON_Delete(r);
}
END_TEST

/* The size check comes first: a too-large matrix whose cells are also bad
 * reports only the size (nothing was read or allocated). */
START_TEST(get_matrix_checks_the_size_before_reading_cells)
{
	cJSON *r = parse_ok("{\"data\": [[1, \"x\", 3], [4, 5], [null, 6, 7]]}");
	struct json_matrix m;
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_get_matrix(r, "", "data", 0, 8, &m, &p), -1);
	ck_assert_int_eq(p.kind, PROB_TOO_LARGE);
	ck_assert_uint_eq(problem_status(p.kind), 413);
	ck_assert_uint_eq(p.n_errors, 1);
	ck_assert_str_eq(p.errors[0].pointer, "/data");
	ck_assert_str_eq(p.errors[0].detail,
			 "3 x 3 matrix has 9 elements, over the limit of 8");
	ck_assert_ptr_null(m.v);

	problem_init(&p);
	ck_assert_int_eq(json_get_matrix(r, "", "data", 0, 1, &m, &p), -1);
	ck_assert_int_eq(p.kind, PROB_TOO_LARGE);
	ck_assert_uint_eq(p.n_errors, 1);
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_matrix_rejects_empty_matrices_and_rows)
{
	cJSON *r = parse_ok("{\"e\": [], \"er\": [[]], \"s\": \"m\"}");
	struct json_matrix m;
	struct problem p;

	problem_init(&p);
	ck_assert_int_eq(json_get_matrix(r, "", "e", 0, 9, &m, &p), -1);
	ck_assert_int_eq(p.kind, PROB_INVALID);
	ck_assert_str_eq(p.errors[0].pointer, "/e");
	ck_assert_int_eq(json_get_matrix(r, "", "er", 0, 9, &m, &p), -1);
	ck_assert_str_eq(p.errors[1].pointer, "/er/0");
	ck_assert_int_eq(json_get_matrix(r, "", "s", 0, 9, &m, &p), -1);
	ck_assert_str_eq(p.errors[2].detail, "expected a matrix (an array of rows), got a string");
	cJSON_Delete(r);
}
END_TEST

START_TEST(get_matrix_stops_at_the_error_cap)
{
	struct buf b;
	struct json_matrix m;
	struct problem p;
	cJSON *r;
	int i;

	buf_init(&b, 0);
	buf_puts(&b, "{\"data\": [");
	for (i = 0; i < 1000; i++)
		buf_puts(&b, i ? ",[1,true]" : "[1,true]");
	buf_puts(&b, "]}");
	ck_assert(!b.failed);
	r = parse_ok(b.data);
	problem_init(&p);
	ck_assert_int_eq(json_get_matrix(r, "", "data", 0, 100000, &m, &p), -1);
	ck_assert_uint_eq(p.n_errors, PROBLEM_MAX_ERRORS);
	ck_assert_str_eq(p.errors[31].pointer, "/data/31/1");
	ck_assert_str_eq(p.errors[0].detail, "expected a number, got a boolean");
	cJSON_Delete(r);
	buf_free(&b);
}
END_TEST

/* ---- writer ------------------------------------------------------------------- */

START_TEST(writer_manages_commas_and_nesting)
{
	struct buf b;
	struct jw w;
	const double v[] = {1, 2.5};

	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_key(&w, "a");
	jw_double_array(&w, v, 2);
	jw_key(&w, "b");
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_key(&w, "c");
	jw_arr_begin(&w);
	jw_int(&w, -3);
	jw_uint(&w, 18446744073709551615ull);
	jw_bool(&w, true);
	jw_null(&w);
	jw_arr_begin(&w);
	jw_arr_end(&w);
	jw_double(&w, INFINITY);
	jw_string(&w, NULL);
	jw_arr_end(&w);
	jw_key(&w, "e");
	jw_double_array(&w, v, 0);
	jw_obj_end(&w);
	ck_assert(!b.failed);
	ck_assert_str_eq(b.data, "{\"a\":[1.0,2.5],\"b\":{},\"c\":[-3,18446744073709551615,"
			 "true,null,[],null,null],\"e\":[]}");
	buf_free(&b);
}
END_TEST

START_TEST(writer_escapes_strings)
{
	struct buf b;
	struct jw w;

	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_arr_begin(&w);
	jw_string(&w, "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f");
	jw_string(&w, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
	jw_string(&w, "a\xFF" "b\xC0\xAF" "c\xED\xA0\x80");
	jw_arr_end(&w);
	ck_assert_str_eq(b.data, "[\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\","
			 "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\","
			 "\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\\ufffd\"]");
	buf_free(&b);
}
END_TEST

START_TEST(writer_output_parses_back_to_the_same_values)
{
	uint64_t s = 77;
	double v[64], mat[12];
	struct problem p;
	struct buf b;
	struct jw w;
	cJSON *root = NULL, *it, *row;
	size_t i, j;
	const char *key = "k\"ey\\\x02\xE2\x82\xAC";

	for (i = 0; i < 64; i++) {
		do
			v[i] = bits_to_double(xs_next(&s));
		while (!isfinite(v[i]));
	}
	v[0] = -0.0;
	v[1] = 5e-324;
	v[2] = DBL_MAX;
	for (i = 0; i < 12; i++)
		mat[i] = (double)i / 7.0;
	mat[4] = NAN;
	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_key(&w, key);
	jw_double_array(&w, v, 64);
	jw_key(&w, "m");
	jw_matrix(&w, mat, 3, 4, false);
	jw_key(&w, "t");
	jw_matrix(&w, mat, 3, 4, true);
	jw_key(&w, "s");
	jw_string(&w, key);
	jw_obj_end(&w);
	ck_assert(!b.failed);

	problem_init(&p);
	ck_assert_int_eq(json_parse(b.data, b.len, &root, &p), 0);
	it = cJSON_GetObjectItemCaseSensitive(root, key);
	ck_assert_int_eq(cJSON_GetArraySize(it), 64);
	i = 0;
	cJSON_ArrayForEach(row, it) {
		ck_assert_msg(same_bits(row->valuedouble, v[i]), "value %zu", i);
		i++;
	}
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "s")->valuestring, key);

	it = cJSON_GetObjectItemCaseSensitive(root, "m");
	ck_assert_int_eq(cJSON_GetArraySize(it), 3);
	i = 0;
	cJSON_ArrayForEach(row, it) {
		ck_assert_int_eq(cJSON_GetArraySize(row), 4);
		for (j = 0; j < 4; j++) {
			cJSON *c = cJSON_GetArrayItem(row, (int)j);

			if (i * 4 + j == 4)
				ck_assert(cJSON_IsNull(c));
			else
				ck_assert(same_bits(c->valuedouble, mat[i * 4 + j]));
		}
		i++;
	}
	it = cJSON_GetObjectItemCaseSensitive(root, "t");
	ck_assert_int_eq(cJSON_GetArraySize(it), 4);
	i = 0;
	cJSON_ArrayForEach(row, it) {
		ck_assert_int_eq(cJSON_GetArraySize(row), 3);
		for (j = 0; j < 3; j++) {
			cJSON *c = cJSON_GetArrayItem(row, (int)j);

			if (j * 4 + i == 4)
				ck_assert(cJSON_IsNull(c));
			else
				ck_assert(same_bits(c->valuedouble, mat[j * 4 + i]));
		}
		i++;
	}
	cJSON_Delete(root);
	buf_free(&b);
}
END_TEST

START_TEST(writer_failure_is_sticky_at_the_buffer_cap)
{
	struct buf b;
	struct jw w;
	double v[100];
	size_t i;

	for (i = 0; i < 100; i++)
		v[i] = 1.0 / (double)(i + 3);
	buf_init(&b, 64);
	jw_init(&w, &b);
	jw_double_array(&w, v, 100);
	ck_assert(b.failed);
	ck_assert_uint_le(b.len, 64);
	buf_free(&b);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc;

	tc = tcase_create("format");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, format_round_trips_a_million_random_bit_patterns);
	tcase_add_test(tc, format_never_uses_more_digits_than_the_printf_search);
	tcase_add_test(tc, format_is_the_shortest_closest_decimal);
	tcase_add_test(tc, format_prints_the_hard_cases_as_python);
	tcase_add_test(tc, format_keeps_short_decimals_short);
	tcase_add_loop_test(tc, format_prints_known_values_in_their_shortest_form,
			    0, (int)(sizeof(known) / sizeof(known[0])));
	tcase_add_test(tc, format_matches_python_repr_on_the_recorded_fixture);
	tcase_add_test(tc, format_sum_of_point_one_and_point_two_keeps_every_digit);
	tcase_add_test(tc, format_round_trips_every_power_of_two_and_its_neighbours);
	tcase_add_test(tc, format_prints_powers_of_ten_with_one_digit);
	tcase_add_test(tc, format_prints_non_finite_values_as_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, parse_rejects_malformed_bodies_naming_the_byte_offset,
			    0, (int)(sizeof(rejected) / sizeof(rejected[0])));
	tcase_add_test(tc, parse_accepts_valid_bodies_with_surrounding_whitespace);
	tcase_add_test(tc, parse_reads_only_len_bytes_of_an_unterminated_buffer);
	tcase_add_test(tc, parse_rejects_deep_nesting_without_recursing);
	tcase_add_test(tc, parse_rejects_a_null_body);
	tcase_add_test(tc, pointers_escape_tilde_and_slash);
	suite_add_tcase(s, tc);

	tc = tcase_create("getters");
	tcase_add_test(tc, get_bool_reads_defaults_and_rejects_other_types);
	tcase_add_test(tc, get_reports_a_missing_required_field);
	tcase_add_test(tc, get_double_checks_type_range_and_finiteness);
	tcase_add_test(tc, get_int_accepts_integral_numbers_only);
	tcase_add_test(tc, get_enum_maps_names_and_lists_the_allowed_values);
	tcase_add_test(tc, get_string_enforces_the_maximum_length);
	tcase_add_test(tc, get_node_checks_the_container_type);
	tcase_add_test(tc, check_object_flags_unknown_fields_with_a_hint);
	tcase_add_test(tc, check_object_rejects_duplicate_keys);
	tcase_add_test(tc, check_object_rejects_a_non_object);
	suite_add_tcase(s, tc);

	tc = tcase_create("arrays");
	tcase_add_test(tc, get_vector_reads_numbers_and_names_bad_elements);
	tcase_add_test(tc, get_int_vector_checks_each_element);
	tcase_add_test(tc, get_matrix_reads_rows_in_row_major_order);
	tcase_add_test(tc, get_matrix_rejects_a_ragged_row_at_its_pointer);
	tcase_add_test(tc, get_matrix_names_every_bad_cell);
	tcase_add_test(tc, get_matrix_reads_nulls_as_nan_only_when_allowed);
	tcase_add_test(tc, get_matrix_reads_a_flat_array_as_a_column_only_when_asked);
	tcase_add_test(tc, get_matrix_checks_the_size_before_reading_cells);
	tcase_add_test(tc, get_matrix_rejects_empty_matrices_and_rows);
	tcase_add_test(tc, get_matrix_stops_at_the_error_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_test(tc, writer_manages_commas_and_nesting);
	tcase_add_test(tc, writer_escapes_strings);
	tcase_add_test(tc, writer_output_parses_back_to_the_same_values);
	tcase_add_test(tc, writer_failure_is_sticky_at_the_buffer_cap);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(json_suite());
}
