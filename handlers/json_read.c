/* JSON reading, part 2: JSON Pointers and the checked getters that turn
 * request fields into C values, naming the offending pointer in a problem. */
#include "json.h"

#include "core/alloc.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- blocks ------------------------------------------------------------ */

cJSON *json_block_new(size_t rows, size_t cols, unsigned ndim, bool binary)
{
	struct json_block *b;
	cJSON *node;

	if (!rows || !cols || rows > (SIZE_MAX - sizeof(*b)) / sizeof(double) / cols)
		return NULL;
	node = cJSON_CreateArray();
	if (!node)
		return NULL;
	b = cJSON_malloc(sizeof(*b) + rows * cols * sizeof(double));
	if (!b) {
		cJSON_Delete(node);
		return NULL;
	}
	b->rows = rows;
	b->cols = cols;
	b->ndim = ndim;
	b->binary = binary;
	node->type |= JSON_BLOCK;
	node->valuestring = (char *)b;
	return node;
}

const struct json_block *json_block_of(const cJSON *node)
{
	if (!node || (node->type & (0xFF | JSON_BLOCK)) != (cJSON_Array | JSON_BLOCK))
		return NULL;
	return (const struct json_block *)(const void *)node->valuestring;
}

size_t json_array_len(const cJSON *node)
{
	const struct json_block *b = json_block_of(node);
	const cJSON *it;
	size_t n = 0;

	if (b)
		return b->rows;
	if (!cJSON_IsArray(node))
		return 0;
	cJSON_ArrayForEach(it, node)
		n++;
	return n;
}

bool json_array_is_flat(const cJSON *node)
{
	const struct json_block *b = json_block_of(node);

	if (b)
		return b->ndim == 1;
	return cJSON_IsArray(node) && node->child && !cJSON_IsArray(node->child);
}

/* A query-string value (JSON_QUERY_TEXT) read as the scalar a getter
 * expects: 1 and *num / *bool set when the text is one, else 0. */
static bool query_text(const cJSON *node)
{
	return node && (node->type & JSON_QUERY_TEXT) && cJSON_IsString(node) &&
	       node->valuestring;
}

static int query_number(const cJSON *node, double *out)
{
	return query_text(node) &&
	       json_read_number(node->valuestring, strlen(node->valuestring),
				out) == 0;
}

/* "a string" for query text is the text itself: the type it failed to be. */
static const char *scalar_name(const cJSON *node, char *buf, size_t n)
{
	char ex[48];

	if (!query_text(node))
		return type_name(node);
	snprintf(buf, n, "'%s'", excerpt(ex, sizeof(ex), node->valuestring));
	return buf;
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
	char ptr[PROBLEM_POINTER_MAX], qn[56];

	json_pointer(ptr, sizeof(ptr), base, key);
	*out = dflt;
	if (!it)
		return absent(ptr, key, flags, p);
	if (query_text(it) && (!strcmp(it->valuestring, "true") ||
			       !strcmp(it->valuestring, "false"))) {
		*out = it->valuestring[0] == 't';
		return 1;
	}
	if (!cJSON_IsBool(it)) {
		problem_add(p, PROB_WRONG_TYPE, ptr,
			    "expected a boolean, got %s",
			    scalar_name(it, qn, sizeof(qn)));
		return -1;
	}
	*out = cJSON_IsTrue(it) != 0;
	return 1;
}

int json_as_double(const cJSON *node, const char *ptr, double *out,
		   struct problem *p)
{
	char qn[56];
	double v;

	if (query_number(node, &v)) {
		/* as a number in the body */
	} else if (!cJSON_IsNumber(node)) {
		problem_add(p, PROB_WRONG_TYPE, ptr, "expected a number, got %s",
			    scalar_name(node, qn, sizeof(qn)));
		return -1;
	} else {
		v = node->valuedouble;
	}
	if (!isfinite(v)) {
		problem_add(p, PROB_NON_FINITE, ptr,
			    "number is beyond the range of a double (non-finite)");
		return -1;
	}
	*out = v;
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

/* v (a number read from the body) as an integer in [lo, hi]. */
static int int_check(double v, const char *ptr, int64_t lo, int64_t hi,
		     int64_t *out, struct problem *p)
{
	char got[32];
	int64_t iv;

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

int json_as_int(const cJSON *node, const char *ptr, int64_t lo, int64_t hi,
		int64_t *out, struct problem *p)
{
	char qn[56];
	double v;

	if (query_number(node, &v))
		return int_check(v, ptr, lo, hi, out, p);
	if (!cJSON_IsNumber(node)) {
		problem_add(p, PROB_WRONG_TYPE, ptr, "expected an integer, got %s",
			    scalar_name(node, qn, sizeof(qn)));
		return -1;
	}
	return int_check(node->valuedouble, ptr, lo, hi, out, p);
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
	len = json_array_len(node);
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

/* One block cell that is not a finite number (or an allowed missing
 * value): reports it as bad_cell does for the JSON array's cell. */
static void block_bad_cell(const struct json_block *b, double v,
			   const char *ptr, struct problem *p)
{
	if (isnan(v))
		problem_add(p, PROB_WRONG_TYPE, ptr, b->binary ?
			    "expected a number, got NaN (a missing value)" :
			    "expected a number, got null");
	else if (b->binary)
		problem_add(p, PROB_NON_FINITE, ptr, "number is not finite (%s)",
			    v > 0 ? "inf" : "-inf");
	else
		problem_add(p, PROB_NON_FINITE, ptr,
			    "number is beyond the range of a double (non-finite)");
}

/* Each row of a 2-D block, where a number was expected: one error each. */
static void block_rows_not_numbers(const struct json_block *b, const char *ptr,
				   const char *what, struct problem *p)
{
	char cp[PROBLEM_POINTER_MAX];
	size_t i;

	for (i = 0; i < b->rows; i++) {
		json_pointer_index(cp, sizeof(cp), ptr, i);
		problem_add(p, PROB_WRONG_TYPE, cp, "expected %s, got an array",
			    what);
		if (p->n_errors >= PROBLEM_MAX_ERRORS)
			break;
	}
}

/* True when every value is finite (or NaN, with nan_ok). */
static bool block_clean(const struct json_block *b, bool nan_ok)
{
	size_t i, n = b->rows * b->cols;
	double acc = 0;

	for (i = 0; i < n; i++)
		acc += b->v[i] * 0.0;   /* NaN for any non-finite value */
	if (acc == 0)
		return true;
	if (!nan_ok)
		return false;
	for (i = 0; i < n; i++)
		if (isinf(b->v[i]))
			return false;
	return true;
}

static int block_vector(const struct json_block *b, const char *ptr,
			double **out, size_t *n, struct problem *p)
{
	char cp[PROBLEM_POINTER_MAX];
	double *v;
	size_t i;

	if (b->ndim != 1) {
		block_rows_not_numbers(b, ptr, "a number", p);
		return -1;
	}
	if (!block_clean(b, false)) {
		for (i = 0; i < b->rows; i++) {
			if (isfinite(b->v[i]))
				continue;
			json_pointer_index(cp, sizeof(cp), ptr, i);
			block_bad_cell(b, b->v[i], cp, p);
			if (p->n_errors >= PROBLEM_MAX_ERRORS)
				break;
		}
		return -1;
	}
	v = gg_malloc(b->rows * sizeof(*v));
	if (!v)
		return out_of_memory(p, ptr);
	memcpy(v, b->v, b->rows * sizeof(*v));
	*out = v;
	*n = b->rows;
	return 1;
}

static int block_matrix(const struct json_block *b, const char *ptr,
			unsigned flags, struct json_matrix *m,
			struct problem *p)
{
	char rp[PROBLEM_POINTER_MAX], cp[PROBLEM_POINTER_MAX];
	bool nulls = (flags & JSON_ALLOW_NULL) != 0, bad = false;
	size_t i, j, n = b->rows * b->cols;
	double *v, x;

	if (b->ndim == 1 && !(flags & JSON_FLAT_COLUMN)) {
		json_pointer_index(rp, sizeof(rp), ptr, 0);
		problem_add(p, PROB_WRONG_TYPE, rp,
			    "expected a row (an array of numbers), got %s",
			    isnan(b->v[0]) && !b->binary ? "null" : "a number");
		return -1;
	}
	if (!block_clean(b, nulls)) {
		for (i = 0; i < b->rows; i++) {
			if (p->n_errors >= PROBLEM_MAX_ERRORS && bad)
				break;
			json_pointer_index(rp, sizeof(rp), ptr, i);
			for (j = 0; j < b->cols; j++) {
				x = b->v[i * b->cols + j];
				if (isfinite(x) || (nulls && isnan(x)))
					continue;
				bad = true;
				if (b->ndim == 1)
					memcpy(cp, rp, sizeof(cp));
				else
					json_pointer_index(cp, sizeof(cp), rp, j);
				block_bad_cell(b, x, cp, p);
				if (p->n_errors >= PROBLEM_MAX_ERRORS)
					break;
			}
			if (b->ndim == 1 && p->n_errors >= PROBLEM_MAX_ERRORS)
				break;
		}
		return -1;
	}
	v = gg_malloc(n * sizeof(*v));
	if (!v)
		return out_of_memory(p, ptr);
	memcpy(v, b->v, n * sizeof(*v));
	m->v = v;
	m->rows = b->rows;
	m->cols = b->cols;
	return 1;
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
	if (json_block_of(node))
		return block_vector(json_block_of(node), ptr, out, n, p);
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
	const struct json_block *blk;
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
	blk = json_block_of(node);
	if (blk && blk->ndim != 1) {
		block_rows_not_numbers(blk, ptr, "an integer", p);
		return -1;
	}
	v = gg_malloc(len * sizeof(*v));
	if (!v)
		return out_of_memory(p, ptr);
	for (i = 0; blk && i < len; i++) {
		json_pointer_index(cp, sizeof(cp), ptr, i);
		if (isnan(blk->v[i]))
			problem_add(p, PROB_WRONG_TYPE, cp, blk->binary ?
				    "expected an integer, got NaN" :
				    "expected an integer, got null");
		else if (int_check(blk->v[i], cp, lo, hi, &v[i], p) == 1)
			continue;
		bad = 1;
		if (p->n_errors >= PROBLEM_MAX_ERRORS)
			break;
	}
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

/* A block as row i of a matrix that is no block itself (a ragged or mixed
 * one): its cells checked and copied to out as the cells of a JSON row
 * would be. Returns 1 when a cell was bad. */
static int block_row(const struct json_block *b, const char *ptr, size_t i,
		     bool nulls, double *out, struct problem *p)
{
	char rp[PROBLEM_POINTER_MAX], cp[PROBLEM_POINTER_MAX];
	size_t j;
	double x;
	int bad = 0;

	json_pointer_index(rp, sizeof(rp), ptr, i);
	for (j = 0; j < b->rows; j++) {
		x = b->ndim == 1 ? b->v[j] : 0;
		if (b->ndim == 1 && (isfinite(x) || (nulls && isnan(x)))) {
			out[j] = x;
			continue;
		}
		bad = 1;
		json_pointer_index(cp, sizeof(cp), rp, j);
		if (b->ndim == 1)
			block_bad_cell(b, x, cp, p);
		else
			problem_add(p, PROB_WRONG_TYPE, cp,
				    "expected a number, got an array");
		if (p->n_errors >= PROBLEM_MAX_ERRORS)
			break;
	}
	return bad;
}

/* rows x cols within max_elements, else PROB_TOO_LARGE (-1). */
static int matrix_limit(size_t rows, size_t cols, size_t max_elements,
			const char *ptr, struct problem *p)
{
	if (rows <= max_elements / cols)
		return 0;
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

int json_as_matrix(const cJSON *node, const char *ptr, unsigned flags,
		   size_t max_elements, struct json_matrix *m,
		   struct problem *p)
{
	char rp[PROBLEM_POINTER_MAX], cp[PROBLEM_POINTER_MAX];
	const struct json_block *blk;
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
	blk = json_block_of(node);
	first = node->child;
	if (blk) {
		if ((blk->ndim == 2 || (flags & JSON_FLAT_COLUMN)) &&
		    matrix_limit(blk->rows, blk->cols, max_elements, ptr, p))
			return -1;
		return block_matrix(blk, ptr, flags, m, p);
	}
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
	rows = json_array_len(node);
	cols = flat ? 1 : json_array_len(first);
	if (cols == 0) {
		json_pointer_index(rp, sizeof(rp), ptr, 0);
		problem_add(p, PROB_INVALID, rp, "a row must not be empty");
		return -1;
	}
	if (matrix_limit(rows, cols, max_elements, ptr, p))
		return -1;
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
		len = json_array_len(row);
		if (len != cols) {
			bad = 1;
			json_pointer_index(rp, sizeof(rp), ptr, i);
			problem_add(p, PROB_SHAPE_MISMATCH, rp,
				    "row %zu has %zu values, row 0 has %zu",
				    i, len, cols);
			i++;
			continue;
		}
		if (json_block_of(row)) {
			bad |= block_row(json_block_of(row), ptr, i, nulls,
					 v + i * cols, p);
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

