/* JSON reading, part 1: the strict pre-scan (UTF-8 and RFC 8259 grammar,
 * nesting depth) in front of cJSON, so that json_parse refuses what cJSON
 * would accept loosely. */
#include "json.h"

#include "core/alloc.h"
#include "json_strtod.h"

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
size_t json_utf8_seq(const unsigned char *s, size_t n, const char **why)
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
		k = json_utf8_seq(s + i, n - i, why);
		if (!k)
			return i;
		i += k;
	}
	return n;
}

/* A numeric array found by the scan, to become a block node. */
struct found {
	size_t start, end;    /* byte range of the array text */
	size_t empties;       /* genuine empty arrays before it */
	cJSON *node;
};

/* What the scan collects for json_parse_blocks (NULL in struct scan:
 * nothing). */
struct blocks {
	size_t min;               /* elements a block needs */
	struct found *f;
	size_t n, cap;
	size_t empties;           /* empty arrays "[]" seen so far */
	double *tmp;              /* the numbers of the array being read */
	size_t tmp_cap;
	bool nomem;
};

struct scan {
	const unsigned char *s;
	size_t n, i;          /* i: current offset, the error offset on failure */
	const char *why;
	char msg[160];
	struct blocks *bl;
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

/* JSON has no NaN or Infinity (Python's json.dumps writes them). */
static int non_finite_token(struct scan *sc, size_t at)
{
	static const char *const tokens[] = { "NaN", "Infinity", "-Infinity" };
	size_t k, len;

	for (k = 0; k < 3; k++) {
		len = strlen(tokens[k]);
		if (sc->n - at >= len && !memcmp(sc->s + at, tokens[k], len)) {
			snprintf(sc->msg, sizeof(sc->msg), "%s is not JSON: send "
				 "null with \"missing\": \"ignore\" for a missing "
				 "value, or send the array as an application/x-npy "
				 "body,", tokens[k]);
			return scan_fail(sc, at, sc->msg);
		}
	}
	return 0;
}

static int unexpected(struct scan *sc)
{
	unsigned c;

	if (sc->i >= sc->n)
		return scan_fail(sc, sc->n, "unexpected end of input");
	if (non_finite_token(sc, sc->i))
		return -1;
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
	if (i >= n || !is_digit(s[i])) {
		if (non_finite_token(sc, sc->i))
			return -1;
		return scan_fail(sc, i, "invalid number");
	}
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

/* ---- blocks: numeric arrays read straight into doubles ------------------ */

static void skip_ws_at(const unsigned char *s, size_t n, size_t *i)
{
	while (*i < n && is_ws(s[*i]))
		(*i)++;
}

static int tmp_push(struct blocks *bl, size_t k, double v)
{
	double *t;
	size_t cap;

	if (k == bl->tmp_cap) {
		cap = bl->tmp_cap ? 2 * bl->tmp_cap : 1024;
		t = gg_realloc(bl->tmp, cap * sizeof(*t));
		if (!t) {
			bl->nomem = true;
			return -1;
		}
		bl->tmp = t;
		bl->tmp_cap = cap;
	}
	bl->tmp[k] = v;
	return 0;
}

/* The array at sc->i ('['), when it is a flat [number|null, ...] or
 * non-empty rows of those of one length, with at least bl->min numbers:
 * records it as a block, moves past it and returns 1. Anything else
 * returns 0 and the scan reads the array the ordinary way. */
static int try_block(struct scan *sc)
{
	struct blocks *bl = sc->bl;
	const unsigned char *s = sc->s;
	size_t n = sc->n, i = sc->i + 1, rows = 0, cols = 0, k = 0, len, row;
	struct found *f;
	cJSON *node;
	bool two;
	double v;

	skip_ws_at(s, n, &i);
	two = i < n && s[i] == '[';
	for (;;) {
		if (two) {
			if (i >= n || s[i] != '[')
				return 0;
			i++;
		}
		for (row = 0;; row++) {
			skip_ws_at(s, n, &i);
			if (i < n && s[i] == 'n') {
				if (n - i < 4 || memcmp(s + i, "null", 4))
					return 0;
				v = NAN;
				i += 4;
			} else {
				len = json_number_at((const char *)s, n, i, &v);
				if (len == 0 || len == SIZE_MAX)
					return 0;
				i += len;
			}
			if (tmp_push(bl, k++, v))
				return 0;
			skip_ws_at(s, n, &i);
			if (i < n && s[i] == ',') {
				i++;
				continue;
			}
			if (i < n && s[i] == ']') {
				i++;
				break;
			}
			return 0;
		}
		row++;
		if (!two) {
			rows = row;
			cols = 1;
			break;
		}
		if (rows && row != cols)
			return 0;
		cols = row;
		rows++;
		skip_ws_at(s, n, &i);
		if (i < n && s[i] == ',') {
			i++;
			skip_ws_at(s, n, &i);
			continue;
		}
		if (i < n && s[i] == ']') {
			i++;
			break;
		}
		return 0;
	}
	if (k < bl->min)
		return 0;
	if (bl->n == bl->cap) {
		size_t cap = bl->cap ? 2 * bl->cap : 8;

		f = gg_realloc(bl->f, cap * sizeof(*f));
		if (!f) {
			bl->nomem = true;
			return 0;
		}
		bl->f = f;
		bl->cap = cap;
	}
	node = json_block_new(rows, cols, two ? 2 : 1, false);
	if (!node) {
		bl->nomem = true;
		return 0;
	}
	memcpy(((struct json_block *)(void *)node->valuestring)->v, bl->tmp,
	       k * sizeof(double));
	f = &bl->f[bl->n++];
	f->start = sc->i;
	f->end = i;
	f->empties = bl->empties;
	f->node = node;
	sc->i = i;
	return 1;
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
				if (sc->bl)
					sc->bl->empties++;
				depth--;
				sc->i++;
				st = AFTER;
				break;
			}
			/* fall through */
		case VALUE:
			if (c == '[' && sc->bl && try_block(sc)) {
				st = AFTER;
				break;
			}
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

struct attach {
	struct found *f;
	size_t n, next, empties;
};

/* Hands the blocks to the empty arrays that stand for them, in document
 * order (depth is bounded by the scan). */
static void attach(cJSON *node, struct attach *a)
{
	struct found *f;

	for (; node; node = node->next) {
		if (node->child) {
			attach(node->child, a);
			continue;
		}
		if (!cJSON_IsArray(node))
			continue;
		f = a->next < a->n ? &a->f[a->next] : NULL;
		if (f && a->empties == f->empties + a->next) {
			node->type |= JSON_BLOCK;
			node->valuestring = f->node->valuestring;
			f->node->valuestring = NULL;
			f->node->type &= ~JSON_BLOCK;
			a->next++;
		}
		a->empties++;
	}
}

/* The body with every block's text replaced by "[]" (NUL-terminated). */
static char *compact(const char *body, size_t len, const struct blocks *bl,
		     size_t *out_len)
{
	size_t k, at = 0, n = len;
	char *t, *w;

	for (k = 0; k < bl->n; k++)
		n -= bl->f[k].end - bl->f[k].start - 2;
	t = gg_malloc(n + 1);
	if (!t)
		return NULL;
	w = t;
	for (k = 0; k < bl->n; k++) {
		memcpy(w, body + at, bl->f[k].start - at);
		w += bl->f[k].start - at;
		memcpy(w, "[]", 2);
		w += 2;
		at = bl->f[k].end;
	}
	memcpy(w, body + at, len - at);
	w += len - at;
	*w = '\0';
	*out_len = n;
	return t;
}

int json_parse(const char *body, size_t len, cJSON **out, struct problem *p)
{
	return json_parse_blocks(body, len, SIZE_MAX, out, p);
}

int json_parse_blocks(const char *body, size_t len, size_t min_block,
		      cJSON **out, struct problem *p)
{
	struct blocks bl;
	struct scan sc = {(const unsigned char *)body, len, 0, NULL, "", NULL};
	struct attach at;
	const char *why = NULL, *end = NULL, *text = body;
	char *small = NULL;
	size_t off, k, text_len = len;
	cJSON *root = NULL;
	int rc = -1;

	memset(&bl, 0, sizeof(bl));
	bl.min = min_block ? min_block : 1;
	if (min_block != SIZE_MAX)
		sc.bl = &bl;
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
		goto out;
	}
	if (bl.nomem) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory reading the body");
		goto out;
	}
	if (bl.n) {
		small = compact(body, len, &bl, &text_len);
		if (!small) {
			problem_set(p, PROB_OUT_OF_MEMORY,
				    "out of memory reading the body");
			goto out;
		}
		text = small;
	}
	/* require_null_terminated=1 fails on a length-bounded buffer without a
	 * NUL; the scan above already refused trailing garbage. */
	root = cJSON_ParseWithLengthOpts(text, text_len, &end, 0);
	if (!root) {
		/* the scan accepts only what cJSON accepts (fuzzed): a failure
		 * here is cJSON running out of memory */
		problem_set(p, PROB_OUT_OF_MEMORY,
			    "out of memory parsing the body (at byte offset %zu)",
			    end && end >= text ? (size_t)(end - text) : (size_t)0);
		goto out;
	}
	at.f = bl.f;
	at.n = bl.n;
	at.next = at.empties = 0;
	if (bl.n)
		attach(root, &at);
	*out = root;
	rc = 0;
out:
	for (k = 0; k < bl.n; k++)
		cJSON_Delete(bl.f[k].node);
	gg_free(bl.f);
	gg_free(bl.tmp);
	gg_free(small);
	return rc;
}
