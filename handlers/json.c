/* The JSON module: strict parsing on top of cJSON, checked getters that name
 * the offending JSON Pointer, and a streaming writer whose numbers round-trip
 * exactly (Grisu3 shortest digits with a printf fallback). */
#include "json.h"

#include "core/alloc.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper bodies are refused before cJSON (limit 1000) recurses into them. */
#define JSON_MAX_DEPTH 512

/* ---- strict pre-scan: UTF-8 and RFC 8259 grammar ------------------------ */

/* Length of the one valid UTF-8 sequence with a non-ASCII lead byte at s
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), or 0 and
 * *why says what is wrong. */
static size_t utf8_seq(const unsigned char *s, size_t n, const char **why)
{
	unsigned c = s[0], lo = 0x80, hi = 0xBF, b;
	size_t need, k;

	if (c < 0xC0) {
		*why = "unexpected continuation byte";
		return 0;
	}
	if (c < 0xC2) {
		*why = "overlong encoding";
		return 0;
	}
	if (c < 0xE0) {
		need = 1;
	} else if (c < 0xF0) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c < 0xF5) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		*why = c < 0xF8 ? "code point beyond U+10FFFF" : "invalid byte";
		return 0;
	}
	for (k = 1; k <= need; k++) {
		if (k >= n) {
			*why = "truncated sequence";
			return 0;
		}
		b = s[k];
		if (b < 0x80 || b > 0xBF) {
			*why = "truncated sequence";
			return 0;
		}
		if (k == 1 && (b < lo || b > hi)) {
			*why = c == 0xED ? "UTF-16 surrogate" :
			       c == 0xF4 ? "code point beyond U+10FFFF" :
					   "overlong encoding";
			return 0;
		}
	}
	return need + 1;
}

/* Offset of the first byte that is not valid UTF-8, or n. */
static size_t utf8_scan(const unsigned char *s, size_t n, const char **why)
{
	size_t i = 0, k;
	uint64_t w;

	while (i < n) {
		if (s[i] < 0x80) {
			while (n - i >= 8) {
				memcpy(&w, s + i, 8);
				if (w & 0x8080808080808080ull)
					break;
				i += 8;
			}
			while (i < n && s[i] < 0x80)
				i++;
			continue;
		}
		k = utf8_seq(s + i, n - i, why);
		if (!k)
			return i;
		i += k;
	}
	return n;
}

struct scan {
	const unsigned char *s;
	size_t n, i;          /* i: current offset, the error offset on failure */
	const char *why;
	char msg[48];
};

static int is_ws(unsigned c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(unsigned c)
{
	return c >= '0' && c <= '9';
}

static void skip_ws(struct scan *sc)
{
	while (sc->i < sc->n && is_ws(sc->s[sc->i]))
		sc->i++;
}

static int scan_fail(struct scan *sc, size_t at, const char *why)
{
	sc->i = at;
	sc->why = why;
	return -1;
}

static int unexpected(struct scan *sc)
{
	unsigned c;

	if (sc->i >= sc->n)
		return scan_fail(sc, sc->n, "unexpected end of input");
	c = sc->s[sc->i];
	if (c > 0x20 && c < 0x7F)
		snprintf(sc->msg, sizeof(sc->msg), "unexpected character '%c'", (int)c);
	else
		snprintf(sc->msg, sizeof(sc->msg), "unexpected byte 0x%02X", c);
	sc->why = sc->msg;
	return -1;
}

static int hex4(const unsigned char *s, size_t n, size_t i, unsigned *out)
{
	unsigned v = 0, k, c;

	if (i > n || n - i < 4)
		return -1;
	for (k = 0; k < 4; k++) {
		c = s[i + k];
		v <<= 4;
		if (is_digit(c))
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* A string starting at the opening quote. */
static int scan_string(struct scan *sc)
{
	const unsigned char *s = sc->s;
	size_t n = sc->n, i = sc->i + 1;
	unsigned c, cp, lo;

	for (;;) {
		if (i >= n)
			return scan_fail(sc, sc->i, "unterminated string");
		c = s[i];
		if (c == '"')
			break;
		if (c < 0x20)
			return scan_fail(sc, i, "unescaped control character in a string");
		if (c != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= n)
			return scan_fail(sc, sc->i, "unterminated string");
		c = s[i + 1];
		if (c && strchr("\"\\/bfnrt", (int)c)) {
			i += 2;
			continue;
		}
		if (c != 'u' || hex4(s, n, i + 2, &cp))
			return scan_fail(sc, i, "invalid escape sequence");
		if (cp == 0)
			return scan_fail(sc, i, "\\u0000 is not allowed in strings");
		if (cp >= 0xDC00 && cp <= 0xDFFF)
			return scan_fail(sc, i, "unpaired UTF-16 surrogate escape");
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (n - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' ||
			    hex4(s, n, i + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
				return scan_fail(sc, i, "unpaired UTF-16 surrogate escape");
			i += 12;
			continue;
		}
		i += 6;
	}
	sc->i = i + 1;
	return 0;
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(struct scan *sc)
{
	const unsigned char *s = sc->s;
	size_t n = sc->n, i = sc->i;

	if (s[i] == '-')
		i++;
	if (i >= n || !is_digit(s[i]))
		return scan_fail(sc, i, "invalid number");
	if (s[i] == '0') {
		i++;
		if (i < n && is_digit(s[i]))
			return scan_fail(sc, i, "leading zeros are not allowed");
	} else {
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i]))
			return scan_fail(sc, i, "expected a digit after the decimal point");
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !is_digit(s[i]))
			return scan_fail(sc, i, "expected a digit in the exponent");
		while (i < n && is_digit(s[i]))
			i++;
	}
	sc->i = i;
	return 0;
}

static int scan_literal(struct scan *sc, const char *lit)
{
	size_t len = strlen(lit);

	if (sc->n - sc->i < len || memcmp(sc->s + sc->i, lit, len))
		return unexpected(sc);
	sc->i += len;
	return 0;
}

/* The whole body, iteratively (an explicit stack, no recursion). */
static int scan_body(struct scan *sc)
{
	enum { VALUE, ARR_FIRST, OBJ_FIRST, KEY, COLON, AFTER } st = VALUE;
	char stack[JSON_MAX_DEPTH];
	unsigned depth = 0;
	unsigned c;

	skip_ws(sc);
	if (sc->i == sc->n)
		return scan_fail(sc, sc->i, "empty body (no JSON value)");
	for (;;) {
		skip_ws(sc);
		if (sc->i == sc->n) {
			if (st == AFTER && depth == 0)
				return 0;
			return unexpected(sc);
		}
		c = sc->s[sc->i];
		switch (st) {
		case ARR_FIRST:
			if (c == ']') {
				depth--;
				sc->i++;
				st = AFTER;
				break;
			}
			/* fall through */
		case VALUE:
			if (c == '{' || c == '[') {
				if (depth == JSON_MAX_DEPTH)
					return scan_fail(sc, sc->i, "nesting deeper than 512 levels");
				stack[depth++] = (char)c;
				sc->i++;
				st = c == '{' ? OBJ_FIRST : ARR_FIRST;
				break;
			}
			if (c == '"') {
				if (scan_string(sc))
					return -1;
			} else if (c == '-' || is_digit(c)) {
				if (scan_number(sc))
					return -1;
			} else if (c == 't') {
				if (scan_literal(sc, "true"))
					return -1;
			} else if (c == 'f') {
				if (scan_literal(sc, "false"))
					return -1;
			} else if (c == 'n') {
				if (scan_literal(sc, "null"))
					return -1;
			} else {
				return unexpected(sc);
			}
			st = AFTER;
			break;
		case OBJ_FIRST:
			if (c == '}') {
				depth--;
				sc->i++;
				st = AFTER;
				break;
			}
			/* fall through */
		case KEY:
			if (c != '"')
				return scan_fail(sc, sc->i, "expected a string key");
			if (scan_string(sc))
				return -1;
			st = COLON;
			break;
		case COLON:
			if (c != ':')
				return scan_fail(sc, sc->i, "expected ':' after a key");
			sc->i++;
			st = VALUE;
			break;
		case AFTER:
			if (depth == 0)
				return scan_fail(sc, sc->i, "trailing data after the JSON value");
			if (c == ',') {
				sc->i++;
				st = stack[depth - 1] == '{' ? KEY : VALUE;
			} else if (c == (stack[depth - 1] == '{' ? '}' : ']')) {
				depth--;
				sc->i++;
			} else {
				return scan_fail(sc, sc->i, stack[depth - 1] == '{' ?
						 "expected ',' or '}'" : "expected ',' or ']'");
			}
			break;
		}
	}
}

int json_parse(const char *body, size_t len, cJSON **out, struct problem *p)
{
	struct scan sc = {(const unsigned char *)body, len, 0, NULL, ""};
	const char *why = NULL, *end = NULL;
	size_t off;
	cJSON *root;

	*out = NULL;
	if (!body || len == 0) {
		problem_set(p, PROB_MALFORMED_JSON, "empty body (no JSON value)");
		return -1;
	}
	off = utf8_scan(sc.s, len, &why);
	if (off < len) {
		problem_set(p, PROB_MALFORMED_JSON,
			    "invalid UTF-8 at byte offset %zu: %s", off, why);
		return -1;
	}
	if (scan_body(&sc)) {
		problem_set(p, PROB_MALFORMED_JSON, "%s at byte offset %zu",
			    sc.why, sc.i);
		return -1;
	}
	/* require_null_terminated=1 fails on a length-bounded buffer without a
	 * NUL; the scan above already refused trailing garbage. */
	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (!root) {
		/* the scan accepts only what cJSON accepts (fuzzed): a failure
		 * here is cJSON running out of memory */
		problem_set(p, PROB_OUT_OF_MEMORY,
			    "out of memory parsing the body (at byte offset %zu)",
			    end && end >= body ? (size_t)(end - body) : (size_t)0);
		return -1;
	}
	*out = root;
	return 0;
}

/* ---- pointers ------------------------------------------------------------ */

void json_pointer(char *out, size_t n, const char *base, const char *key)
{
	const char *s;
	size_t i = 0;

	if (!n)
		return;
	for (s = base ? base : ""; *s && i + 1 < n; s++)
		out[i++] = *s;
	if (i + 1 < n)
		out[i++] = '/';
	for (s = key ? key : ""; *s; s++) {
		if (*s == '~' || *s == '/') {
			if (i + 2 >= n)
				break;
			out[i++] = '~';
			out[i++] = *s == '~' ? '0' : '1';
		} else {
			if (i + 1 >= n)
				break;
			out[i++] = *s;
		}
	}
	out[i] = '\0';
}

void json_pointer_index(char *out, size_t n, const char *base, size_t i)
{
	char t[24];
	size_t len = 0, m = 0;
	const char *s;

	if (!n)
		return;
	do {
		t[m++] = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	for (s = base ? base : ""; *s && len + 1 < n; s++)
		out[len++] = *s;
	if (len + 1 + m < n) {
		out[len++] = '/';
		while (m)
			out[len++] = t[--m];
	}
	out[len] = '\0';
}

/* ---- reading --------------------------------------------------------------- */

static const char *type_name(const cJSON *node)
{
	if (!node)
		return "nothing";
	switch (node->type & 0xFF) {
	case cJSON_False:
	case cJSON_True:
		return "a boolean";
	case cJSON_NULL:
		return "null";
	case cJSON_Number:
		return "a number";
	case cJSON_String:
		return "a string";
	case cJSON_Array:
		return "an array";
	case cJSON_Object:
		return "an object";
	default:
		return "an invalid value";
	}
}

/* s cut to fit n bytes (n >= 8) at a UTF-8 boundary, "..." marking a cut. */
static const char *excerpt(char *out, size_t n, const char *s)
{
	size_t len = strlen(s), cut = n - 4;

	if (len < n) {
		memcpy(out, s, len + 1);
		return out;
	}
	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	memcpy(out, s, cut);
	memcpy(out + cut, "...", 4);
	return out;
}

/* Levenshtein distance, or a large number for long strings. */
static unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[65], prev, tmp, best;
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > 64 || lb > 64)
		return 1000;
	for (j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = (unsigned)i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* The closest of names[] within edit distance 2, or NULL. */
static const char *closest(const char *s, const char *const names[])
{
	const char *best = NULL;
	unsigned d, bd = 3;
	size_t i;

	for (i = 0; names[i]; i++) {
		d = edit_distance(s, names[i]);
		if (d < bd) {
			bd = d;
			best = names[i];
		}
	}
	return best;
}

/* "a, b, c" into out (truncated to fit). */
static void list_names(char *out, size_t n, const char *const names[])
{
	size_t i, len = 0;
	int w;

	out[0] = '\0';
	for (i = 0; names[i] && len < n; i++) {
		w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", names[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

/* The member `key` of obj, or NULL when absent, null, or obj isn't one. */
static const cJSON *member(const cJSON *obj, const char *key)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj))
		return NULL;
	it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return it && !cJSON_IsNull(it) ? it : NULL;
}

static int absent(const char *ptr, const char *key, unsigned flags,
		  struct problem *p)
{
	if (flags & JSON_REQUIRED) {
		problem_add(p, PROB_MISSING_FIELD, ptr,
			    "required field '%s' is missing", key);
		return -1;
	}
	return 0;
}

/* "must be between lo and hi" and its one-sided forms. */
static void range_text(char *out, size_t n, double lo, double hi)
{
	char a[32], b[32];

	json_format_double(a, lo);
	json_format_double(b, hi);
	if (lo <= -DBL_MAX && hi >= DBL_MAX)
		snprintf(out, n, "must be finite");
	else if (lo <= -DBL_MAX)
		snprintf(out, n, "must be at most %s", b);
	else if (hi >= DBL_MAX)
		snprintf(out, n, lo == 0x1p-1074 ? "must be greater than 0" :
			 "must be at least %s", a);
	else if (lo == 0x1p-1074)
		snprintf(out, n, "must be greater than 0 and at most %s", b);
	else
		snprintf(out, n, "must be between %s and %s", a, b);
}

int json_check_object(const cJSON *obj, const char *base,
		      const char *const allowed[], struct problem *p)
{
	unsigned char seen[256] = {0};
	char ptr[PROBLEM_POINTER_MAX], ex[48], list[256];
	const cJSON *it, *q;
	const char *key, *hint;
	size_t idx;
	int bad = 0, dup;

	if (!cJSON_IsObject(obj)) {
		problem_add(p, PROB_WRONG_TYPE, base ? base : "",
			    "expected an object, got %s", type_name(obj));
		return -1;
	}
	cJSON_ArrayForEach(it, obj) {
		key = it->string ? it->string : "";
		for (idx = 0; allowed[idx] && strcmp(allowed[idx], key); idx++)
			;
		if (!allowed[idx]) {
			bad = 1;
			if (p->n_errors >= PROBLEM_MAX_ERRORS) {
				p->n_dropped++;
				continue;
			}
			json_pointer(ptr, sizeof(ptr), base, key);
			excerpt(ex, sizeof(ex), key);
			hint = closest(key, allowed);
			if (hint) {
				problem_add(p, PROB_UNKNOWN_FIELD, ptr,
					    "unknown field '%s'; did you mean '%s'?",
					    ex, hint);
			} else {
				list_names(list, sizeof(list), allowed);
				problem_add(p, PROB_UNKNOWN_FIELD, ptr,
					    "unknown field '%s'; allowed fields: %s",
					    ex, list);
			}
			continue;
		}
		if (idx < sizeof(seen)) {
			dup = seen[idx];
			seen[idx] = 1;
		} else {
			for (dup = 0, q = obj->child; q != it && !dup; q = q->next)
				dup = q->string && !strcmp(q->string, key);
		}
		if (dup) {
			bad = 1;
			json_pointer(ptr, sizeof(ptr), base, key);
			problem_add(p, PROB_INVALID, ptr,
				    "duplicate key '%s'", key);
		}
	}
	return bad ? -1 : 0;
}

int json_get_bool(const cJSON *obj, const char *base, const char *key,
		  unsigned flags, bool dflt, bool *out, struct problem *p)
{
	const cJSON *it = member(obj, key);
	char ptr[PROBLEM_POINTER_MAX];

	json_pointer(ptr, sizeof(ptr), base, key);
	*out = dflt;
	if (!it)
		return absent(ptr, key, flags, p);
	if (!cJSON_IsBool(it)) {
		problem_add(p, PROB_WRONG_TYPE, ptr,
			    "expected a boolean, got %s", type_name(it));
		return -1;
	}
	*out = cJSON_IsTrue(it) != 0;
	return 1;
}

int json_as_double(const cJSON *node, const char *ptr, double *out,
		   struct problem *p)
{
	if (!cJSON_IsNumber(node)) {
		problem_add(p, PROB_WRONG_TYPE, ptr, "expected a number, got %s",
			    type_name(node));
		return -1;
	}
	if (!isfinite(node->valuedouble)) {
		problem_add(p, PROB_NON_FINITE, ptr,
			    "number is beyond the range of a double (non-finite)");
		return -1;
	}
	*out = node->valuedouble;
	return 1;
}

int json_get_double(const cJSON *obj, const char *base, const char *key,
		    unsigned flags, double dflt, double lo, double hi,
		    double *out, struct problem *p)
{
	const cJSON *it = member(obj, key);
	char ptr[PROBLEM_POINTER_MAX], range[128], got[32];
	double v;

	json_pointer(ptr, sizeof(ptr), base, key);
	*out = dflt;
	if (!it)
		return absent(ptr, key, flags, p);
	if (json_as_double(it, ptr, &v, p) < 0)
		return -1;
	if (!(v >= lo && v <= hi)) {
		range_text(range, sizeof(range), lo, hi);
		json_format_double(got, v);
		problem_add(p, PROB_OUT_OF_RANGE, ptr, "%s, got %s", range, got);
		return -1;
	}
	*out = v;
	return 1;
}

int json_as_int(const cJSON *node, const char *ptr, int64_t lo, int64_t hi,
		int64_t *out, struct problem *p)
{
	char got[32];
	double v;
	int64_t iv;

	if (!cJSON_IsNumber(node)) {
		problem_add(p, PROB_WRONG_TYPE, ptr, "expected an integer, got %s",
			    type_name(node));
		return -1;
	}
	v = node->valuedouble;
	if (!isfinite(v)) {
		problem_add(p, PROB_NON_FINITE, ptr,
			    "number is beyond the range of a double (non-finite)");
		return -1;
	}
	json_format_double(got, v);
	if (v != floor(v)) {
		problem_add(p, PROB_WRONG_TYPE, ptr,
			    "expected an integer, got %s", got);
		return -1;
	}
	if (v < -0x1p63 || v >= 0x1p63 || (iv = (int64_t)v) < lo || iv > hi) {
		problem_add(p, PROB_OUT_OF_RANGE, ptr,
			    "must be an integer between %" PRId64 " and %" PRId64
			    ", got %s", lo, hi, got);
		return -1;
	}
	*out = iv;
	return 1;
}

int json_get_int(const cJSON *obj, const char *base, const char *key,
		 unsigned flags, int64_t dflt, int64_t lo, int64_t hi,
		 int64_t *out, struct problem *p)
{
	const cJSON *it = member(obj, key);
	char ptr[PROBLEM_POINTER_MAX];

	json_pointer(ptr, sizeof(ptr), base, key);
	*out = dflt;
	if (!it)
		return absent(ptr, key, flags, p);
	return json_as_int(it, ptr, lo, hi, out, p) < 0 ? -1 : 1;
}

int json_get_enum(const cJSON *obj, const char *base, const char *key,
		  unsigned flags, const char *const names[], int dflt,
		  int *out, struct problem *p)
{
	char ptr[PROBLEM_POINTER_MAX], ex[48], list[320];
	const char *s, *hint;
	int i, rc;

	*out = dflt;
	rc = json_get_string(obj, base, key, flags, SIZE_MAX, &s, p);
	if (rc <= 0)
		return rc;
	for (i = 0; names[i]; i++) {
		if (!strcmp(names[i], s)) {
			*out = i;
			return 1;
		}
	}
	json_pointer(ptr, sizeof(ptr), base, key);
	excerpt(ex, sizeof(ex), s);
	list_names(list, sizeof(list), names);
	hint = closest(s, names);
	if (hint)
		problem_add(p, PROB_UNKNOWN_ENUM, ptr,
			    "unknown value '%s' (did you mean '%s'?); expected one of: %s",
			    ex, hint, list);
	else
		problem_add(p, PROB_UNKNOWN_ENUM, ptr,
			    "unknown value '%s'; expected one of: %s", ex, list);
	return -1;
}

int json_get_string(const cJSON *obj, const char *base, const char *key,
		    unsigned flags, size_t max_len, const char **out,
		    struct problem *p)
{
	const cJSON *it = member(obj, key);
	char ptr[PROBLEM_POINTER_MAX];
	size_t len;

	json_pointer(ptr, sizeof(ptr), base, key);
	*out = NULL;
	if (!it)
		return absent(ptr, key, flags, p);
	if (!cJSON_IsString(it) || !it->valuestring) {
		problem_add(p, PROB_WRONG_TYPE, ptr, "expected a string, got %s",
			    type_name(it));
		return -1;
	}
	len = strlen(it->valuestring);
	if (len > max_len) {
		problem_add(p, PROB_OUT_OF_RANGE, ptr,
			    "string of %zu bytes is longer than the maximum of %zu",
			    len, max_len);
		return -1;
	}
	*out = it->valuestring;
	return 1;
}

int json_get_node(const cJSON *obj, const char *base, const char *key,
		  unsigned flags, int type, const cJSON **out,
		  struct problem *p)
{
	const cJSON *it = member(obj, key);
	char ptr[PROBLEM_POINTER_MAX];
	cJSON probe;

	json_pointer(ptr, sizeof(ptr), base, key);
	*out = NULL;
	if (!it)
		return absent(ptr, key, flags, p);
	if ((it->type & 0xFF) != type) {
		memset(&probe, 0, sizeof(probe));
		probe.type = type;
		problem_add(p, PROB_WRONG_TYPE, ptr, "expected %s, got %s",
			    type_name(&probe), type_name(it));
		return -1;
	}
	*out = it;
	return 1;
}

static size_t array_len(const cJSON *a)
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, a)
		n++;
	return n;
}

/* node is a non-empty array of at most max_len values (of: "numbers",
 * "integers"); reports what it is not. Returns its length, or 0. */
static size_t array_of(const cJSON *node, const char *ptr, const char *of,
		       size_t max_len, struct problem *p)
{
	size_t len;

	if (!cJSON_IsArray(node)) {
		problem_add(p, PROB_WRONG_TYPE, ptr, "expected an array of %s, got %s",
			    of, type_name(node));
		return 0;
	}
	len = array_len(node);
	if (len == 0) {
		problem_add(p, PROB_INVALID, ptr, "must not be empty");
		return 0;
	}
	if (len > max_len) {
		problem_add(p, PROB_TOO_LARGE, ptr,
			    "%zu values exceed the limit of %zu", len, max_len);
		return 0;
	}
	return len;
}

static int out_of_memory(struct problem *p, const char *ptr)
{
	problem_set(p, PROB_OUT_OF_MEMORY, "out of memory reading %s",
		    ptr[0] ? ptr : "the body");
	return -1;
}

/* One cell that is not a finite number (or an allowed null): reports it. */
static void bad_cell(const cJSON *it, const char *ptr, struct problem *p)
{
	double v;

	if (cJSON_IsNull(it))
		problem_add(p, PROB_WRONG_TYPE, ptr, "expected a number, got null");
	else
		json_as_double(it, ptr, &v, p);
}

int json_as_vector(const cJSON *node, const char *ptr, size_t max_len,
		   double **out, size_t *n, struct problem *p)
{
	char cp[PROBLEM_POINTER_MAX];
	const cJSON *it;
	double *v = NULL;
	size_t len, i = 0;
	int bad = 0;

	*out = NULL;
	*n = 0;
	len = array_of(node, ptr, "numbers", max_len, p);
	if (len == 0)
		return -1;
	v = gg_malloc(len * sizeof(*v));
	if (!v)
		return out_of_memory(p, ptr);
	cJSON_ArrayForEach(it, node) {
		if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
			v[i++] = it->valuedouble;
			continue;
		}
		bad = 1;
		json_pointer_index(cp, sizeof(cp), ptr, i++);
		bad_cell(it, cp, p);
		if (p->n_errors >= PROBLEM_MAX_ERRORS)
			break;
	}
	if (bad) {
		gg_free(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 1;
}

int json_get_vector(const cJSON *obj, const char *base, const char *key,
		    unsigned flags, size_t max_len, double **out, size_t *n,
		    struct problem *p)
{
	const cJSON *it = member(obj, key);
	char ptr[PROBLEM_POINTER_MAX];

	json_pointer(ptr, sizeof(ptr), base, key);
	*out = NULL;
	*n = 0;
	if (!it)
		return absent(ptr, key, flags, p);
	return json_as_vector(it, ptr, max_len, out, n, p);
}

int json_get_int_vector(const cJSON *obj, const char *base, const char *key,
			unsigned flags, size_t max_len, int64_t lo, int64_t hi,
			int64_t **out, size_t *n, struct problem *p)
{
	const cJSON *node = member(obj, key), *it;
	char ptr[PROBLEM_POINTER_MAX], cp[PROBLEM_POINTER_MAX];
	int64_t *v = NULL;
	size_t len, i = 0;
	int bad = 0;

	json_pointer(ptr, sizeof(ptr), base, key);
	*out = NULL;
	*n = 0;
	if (!node)
		return absent(ptr, key, flags, p);
	len = array_of(node, ptr, "integers", max_len, p);
	if (len == 0)
		return -1;
	v = gg_malloc(len * sizeof(*v));
	if (!v)
		return out_of_memory(p, ptr);
	cJSON_ArrayForEach(it, node) {
		json_pointer_index(cp, sizeof(cp), ptr, i);
		if (json_as_int(it, cp, lo, hi, &v[i++], p) < 0) {
			bad = 1;
			if (p->n_errors >= PROBLEM_MAX_ERRORS)
				break;
		}
	}
	if (bad) {
		gg_free(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 1;
}

int json_as_matrix(const cJSON *node, const char *ptr, unsigned flags,
		   size_t max_elements, struct json_matrix *m,
		   struct problem *p)
{
	char rp[PROBLEM_POINTER_MAX], cp[PROBLEM_POINTER_MAX];
	const cJSON *row, *it, *first;
	bool flat, nulls = (flags & JSON_ALLOW_NULL) != 0;
	size_t rows, cols, len, i = 0, j;
	double *v = NULL;
	int bad = 0;

	m->v = NULL;
	m->rows = m->cols = 0;
	if (!cJSON_IsArray(node)) {
		problem_add(p, PROB_WRONG_TYPE, ptr,
			    "expected a matrix (an array of rows), got %s",
			    type_name(node));
		return -1;
	}
	first = node->child;
	if (!first) {
		problem_add(p, PROB_INVALID, ptr, "matrix must not be empty");
		return -1;
	}
	flat = (flags & JSON_FLAT_COLUMN) && !cJSON_IsArray(first);
	if (!flat && !cJSON_IsArray(first)) {
		json_pointer_index(rp, sizeof(rp), ptr, 0);
		problem_add(p, PROB_WRONG_TYPE, rp,
			    "expected a row (an array of numbers), got %s",
			    type_name(first));
		return -1;
	}
	rows = array_len(node);
	cols = flat ? 1 : array_len(first);
	if (cols == 0) {
		json_pointer_index(rp, sizeof(rp), ptr, 0);
		problem_add(p, PROB_INVALID, rp, "a row must not be empty");
		return -1;
	}
	if (rows > max_elements / cols) {
		if (rows > SIZE_MAX / cols)
			problem_add(p, PROB_TOO_LARGE, ptr,
				    "%zu x %zu matrix exceeds the limit of %zu elements",
				    rows, cols, max_elements);
		else
			problem_add(p, PROB_TOO_LARGE, ptr,
				    "%zu x %zu matrix has %zu elements, over the limit of %zu",
				    rows, cols, rows * cols, max_elements);
		return -1;
	}
	v = gg_malloc(rows * cols * sizeof(*v));
	if (!v)
		return out_of_memory(p, ptr);
	if (flat) {
		cJSON_ArrayForEach(it, node) {
			if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
				v[i++] = it->valuedouble;
			} else if (nulls && cJSON_IsNull(it)) {
				v[i++] = NAN;
			} else {
				bad = 1;
				json_pointer_index(cp, sizeof(cp), ptr, i++);
				bad_cell(it, cp, p);
				if (p->n_errors >= PROBLEM_MAX_ERRORS)
					break;
			}
		}
		goto out;
	}
	cJSON_ArrayForEach(row, node) {
		if (p->n_errors >= PROBLEM_MAX_ERRORS && bad)
			break;
		if (!cJSON_IsArray(row)) {
			bad = 1;
			json_pointer_index(rp, sizeof(rp), ptr, i++);
			problem_add(p, PROB_WRONG_TYPE, rp,
				    "expected a row (an array of numbers), got %s",
				    type_name(row));
			continue;
		}
		len = array_len(row);
		if (len != cols) {
			bad = 1;
			json_pointer_index(rp, sizeof(rp), ptr, i);
			problem_add(p, PROB_SHAPE_MISMATCH, rp,
				    "row %zu has %zu values, row 0 has %zu",
				    i, len, cols);
			i++;
			continue;
		}
		j = 0;
		cJSON_ArrayForEach(it, row) {
			if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
				v[i * cols + j++] = it->valuedouble;
				continue;
			}
			if (nulls && cJSON_IsNull(it)) {
				v[i * cols + j++] = NAN;
				continue;
			}
			bad = 1;
			json_pointer_index(rp, sizeof(rp), ptr, i);
			json_pointer_index(cp, sizeof(cp), rp, j++);
			bad_cell(it, cp, p);
			if (p->n_errors >= PROBLEM_MAX_ERRORS)
				break;
		}
		i++;
	}
out:
	if (bad) {
		gg_free(v);
		return -1;
	}
	m->v = v;
	m->rows = rows;
	m->cols = cols;
	return 1;
}

int json_get_matrix(const cJSON *obj, const char *base, const char *key,
		    unsigned flags, size_t max_elements, struct json_matrix *m,
		    struct problem *p)
{
	const cJSON *it = member(obj, key);
	char ptr[PROBLEM_POINTER_MAX];

	json_pointer(ptr, sizeof(ptr), base, key);
	m->v = NULL;
	m->rows = m->cols = 0;
	if (!it)
		return absent(ptr, key, flags, p);
	return json_as_matrix(it, ptr, flags, max_elements, m, p);
}

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
		if (is_digit((unsigned char)*s))
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

/* ---- writing ---------------------------------------------------------------- */

void jw_init(struct jw *w, struct buf *b)
{
	w->b = b;
	w->depth = 0;
	w->need_comma[0] = false;
	w->after_key = false;
}

/* The comma (or nothing) before a value. */
static void jw_sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		buf_putc(w->b, ',');
	w->need_comma[w->depth] = true;
}

static void jw_open(struct jw *w, char c)
{
	jw_sep(w);
	buf_putc(w->b, c);
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		w->b->failed = true;
		return;
	}
	w->need_comma[++w->depth] = false;
}

static void jw_close(struct jw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	else
		w->b->failed = true;
	buf_putc(w->b, c);
}

void jw_obj_begin(struct jw *w)
{
	jw_open(w, '{');
}

void jw_obj_end(struct jw *w)
{
	jw_close(w, '}');
}

void jw_arr_begin(struct jw *w)
{
	jw_open(w, '[');
}

void jw_arr_end(struct jw *w)
{
	jw_close(w, ']');
}

/* s as a JSON string: escapes quotes, backslashes and control characters,
 * keeps valid UTF-8, replaces invalid bytes with U+FFFD. */
static void put_string(struct buf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0, n = strlen(str), i = 0, ok;
	const char *why;
	char esc[8];
	unsigned c;

	buf_putc(b, '"');
	while (i < n) {
		c = s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		buf_append(b, s + run, i - run);
		if (c >= 0x80) {
			ok = utf8_seq(s + i, n - i, &why);
			if (ok > 0) {
				buf_append(b, s + i, ok);
				i += ok;
			} else {
				buf_puts(b, "\\ufffd");
				i++;
			}
			run = i;
			continue;
		}
		switch (c) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\r': buf_puts(b, "\\r"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '\b': buf_puts(b, "\\b"); break;
		case '\f': buf_puts(b, "\\f"); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_append(b, esc, 6);
		}
		run = ++i;
	}
	buf_append(b, s + run, i - run);
	buf_putc(b, '"');
}

void jw_key(struct jw *w, const char *key)
{
	jw_sep(w);
	put_string(w->b, key ? key : "");
	buf_putc(w->b, ':');
	w->after_key = true;
}

void jw_string(struct jw *w, const char *s)
{
	jw_sep(w);
	if (s)
		put_string(w->b, s);
	else
		buf_puts(w->b, "null");
}

/* Formats straight into the buffer (the 2M-number hot path). */
static void put_double(struct buf *b, double v)
{
	if (buf_reserve(b, 32))
		return;
	b->len += json_format_double(b->data + b->len, v);
}

void jw_double(struct jw *w, double v)
{
	jw_sep(w);
	put_double(w->b, v);
}

void jw_int(struct jw *w, int64_t v)
{
	jw_sep(w);
	buf_printf(w->b, "%" PRId64, v);
}

void jw_uint(struct jw *w, uint64_t v)
{
	jw_sep(w);
	buf_printf(w->b, "%" PRIu64, v);
}

void jw_bool(struct jw *w, bool v)
{
	jw_sep(w);
	buf_puts(w->b, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
	jw_sep(w);
	buf_puts(w->b, "null");
}

void jw_double_array(struct jw *w, const double *v, size_t n)
{
	size_t i;

	jw_sep(w);
	buf_putc(w->b, '[');
	for (i = 0; i < n && !w->b->failed; i++) {
		if (i)
			buf_putc(w->b, ',');
		put_double(w->b, v[i]);
	}
	buf_putc(w->b, ']');
}

void jw_matrix(struct jw *w, const double *v, size_t rows, size_t cols,
	       bool transpose)
{
	size_t outer = transpose ? cols : rows, inner = transpose ? rows : cols;
	size_t i, j;

	jw_sep(w);
	buf_putc(w->b, '[');
	for (i = 0; i < outer && !w->b->failed; i++) {
		buf_puts(w->b, i ? ",[" : "[");
		for (j = 0; j < inner; j++) {
			if (j)
				buf_putc(w->b, ',');
			put_double(w->b, transpose ? v[j * cols + i] :
				   v[i * cols + j]);
		}
		buf_putc(w->b, ']');
	}
	buf_putc(w->b, ']');
}
