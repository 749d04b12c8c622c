/* .npy reader (numpy's format.py: magic, version, header dict, raw data)
 * into block nodes; see npy.h. */
#include "npy.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

#define NPY_MAX_DIMS 2

struct dtype {
	char order;     /* '<', '>' or '|' */
	char kind;      /* 'f', 'i', 'u' */
	unsigned size;  /* bytes */
};

struct header {
	struct dtype dt;
	bool fortran;
	size_t shape[NPY_MAX_DIMS];
	unsigned ndim;
	bool has_descr, has_fortran, has_shape;
};

size_t npy_max_elements(const struct limits *lim)
{
	return lim->max_elements > lim->max_parameters ? lim->max_elements
						       : lim->max_parameters;
}

static int bad(struct problem *p, const char *ptr, const char *what)
{
	problem_add(p, PROB_MALFORMED_BODY, ptr, "not a valid .npy file: %s",
		    what);
	return -1;
}

/* ---- the header dict: a Python literal, parsed strictly ------------------ */

struct lex {
	const char *s;
	size_t n, i;
};

static void lex_ws(struct lex *x)
{
	while (x->i < x->n && (x->s[x->i] == ' ' || x->s[x->i] == '\t'))
		x->i++;
}

static bool lex_char(struct lex *x, char c)
{
	lex_ws(x);
	if (x->i < x->n && x->s[x->i] == c) {
		x->i++;
		return true;
	}
	return false;
}

/* A quoted string without escapes ('...' or "..."), at most cap-1 bytes. */
static bool lex_string(struct lex *x, char *out, size_t cap)
{
	char q;
	size_t k = 0;

	lex_ws(x);
	if (x->i >= x->n || (x->s[x->i] != '\'' && x->s[x->i] != '"'))
		return false;
	q = x->s[x->i++];
	while (x->i < x->n && x->s[x->i] != q) {
		if (x->s[x->i] == '\\' || k + 1 >= cap)
			return false;
		out[k++] = x->s[x->i++];
	}
	if (x->i >= x->n)
		return false;
	x->i++;
	out[k] = '\0';
	return true;
}

static bool lex_word(struct lex *x, const char *w)
{
	size_t len = strlen(w);

	lex_ws(x);
	if (x->n - x->i < len || memcmp(x->s + x->i, w, len))
		return false;
	x->i += len;
	return true;
}

/* A tuple of non-negative integers: (), (n,), (n, m) or (n, m,). */
static bool lex_shape(struct lex *x, struct header *h)
{
	size_t v;
	unsigned k = 0;
	bool comma = true;

	if (!lex_char(x, '('))
		return false;
	for (;;) {
		if (lex_char(x, ')'))
			break;
		if (!comma || k == NPY_MAX_DIMS + 1)
			return false;
		lex_ws(x);
		if (x->i >= x->n || x->s[x->i] < '0' || x->s[x->i] > '9')
			return false;
		for (v = 0; x->i < x->n && x->s[x->i] >= '0' && x->s[x->i] <= '9';
		     x->i++) {
			if (v > (SIZE_MAX - 9) / 10)
				return false;
			v = v * 10 + (size_t)(x->s[x->i] - '0');
		}
		if (k < NPY_MAX_DIMS)
			h->shape[k] = v;
		k++;
		comma = lex_char(x, ',');
	}
	/* (n) is an int in Python, not a tuple */
	if (k == 1 && !comma)
		return false;
	h->ndim = k;
	return true;
}

static bool parse_descr(const char *s, struct dtype *dt)
{
	if (strlen(s) != 3 || !strchr("<>|", s[0]) || !strchr("fiu", s[1]) ||
	    !strchr("1248", s[2]))
		return false;
	dt->order = s[0];
	dt->kind = s[1];
	dt->size = (unsigned)(s[2] - '0');
	if (dt->kind == 'f' && dt->size != 4 && dt->size != 8)
		return false;
	return (dt->size == 1) == (dt->order == '|');
}

/* {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), } and
 * nothing else: each key exactly once. Returns 0, or -1 with *why. */
static int parse_header(const char *s, size_t n, struct header *h,
			const char **why, char *descr, size_t dcap)
{
	struct lex x = { s, n, 0 };
	char key[32];

	memset(h, 0, sizeof(*h));
	*why = "the header is not a Python dict literal";
	if (!lex_char(&x, '{'))
		return -1;
	while (!lex_char(&x, '}')) {
		if (!lex_string(&x, key, sizeof(key)) || !lex_char(&x, ':'))
			return -1;
		if (!strcmp(key, "descr") && !h->has_descr) {
			h->has_descr = true;
			if (!lex_string(&x, descr, dcap))
				return -1;
		} else if (!strcmp(key, "fortran_order") && !h->has_fortran) {
			h->has_fortran = true;
			if (lex_word(&x, "True"))
				h->fortran = true;
			else if (!lex_word(&x, "False"))
				return -1;
		} else if (!strcmp(key, "shape") && !h->has_shape) {
			h->has_shape = true;
			if (!lex_shape(&x, h))
				return -1;
		} else {
			*why = "the header dict has an unknown or repeated key";
			return -1;
		}
		if (!lex_char(&x, ',')) {
			if (!lex_char(&x, '}'))
				return -1;
			break;
		}
	}
	lex_ws(&x);
	if (x.i + 1 != n || s[x.i] != '\n') {
		*why = "the header dict is not followed by padding and a newline";
		return -1;
	}
	if (!h->has_descr || !h->has_fortran || !h->has_shape) {
		*why = "the header dict needs the keys descr, fortran_order and shape";
		return -1;
	}
	return 0;
}

/* ---- data ------------------------------------------------------------------ */

static uint64_t load(const unsigned char *b, unsigned size, bool big)
{
	uint64_t v = 0;
	unsigned k;

	for (k = 0; k < size; k++)
		v |= (uint64_t)b[big ? size - 1 - k : k] << (8 * k);
	return v;
}

static double cell(const unsigned char *b, const struct dtype *dt)
{
	uint64_t u;
	uint32_t u32;
	double d;
	float f;
	unsigned bits = 8 * dt->size;

	u = load(b, dt->size, dt->order == '>');
	if (dt->kind == 'f') {
		if (dt->size == 8) {
			memcpy(&d, &u, sizeof(d));
			return d;
		}
		u32 = (uint32_t)u;
		memcpy(&f, &u32, sizeof(f));
		return (double)f;
	}
	if (dt->kind == 'u')
		return (double)u;
	if (bits < 64 && (u >> (bits - 1)) & 1)
		u |= ~UINT64_C(0) << bits;   /* sign-extend */
	return (double)(int64_t)u;
}

static void convert(const unsigned char *src, const struct header *h,
		    size_t rows, size_t cols, double *dst)
{
	size_t i, j, sz = h->dt.size;

	if (h->dt.kind == 'f' && sz == 8 && h->dt.order == '<' &&
	    (!h->fortran || cols == 1 || rows == 1)) {
		memcpy(dst, src, rows * cols * sz);
		return;
	}
	for (i = 0; i < rows; i++)
		for (j = 0; j < cols; j++)
			dst[i * cols + j] = cell(src + (h->fortran ? j * rows + i :
						 i * cols + j) * sz, &h->dt);
}

size_t npy_field_limit(const char *field, const struct limits *lim)
{
	if (!strcmp(field, "theta") || !strcmp(field, "gradient") ||
	    !strcmp(field, "numeric_gradient"))
		return lim->max_parameters;
	return lim->max_elements;
}

int npy_read(const void *data, size_t len, const char *ptr,
	     size_t max, cJSON **out, struct problem *p)
{
	const unsigned char *b = data;
	struct header h;
	char descr[16], msg[96];
	const char *why;
	size_t hlen, off, rows, cols, k;
	cJSON *node;

	*out = NULL;
	if (memcmp(b, "\x93NUMPY", len < 6 ? len : 6))
		return bad(p, ptr, "no \\x93NUMPY magic");
	if (len < 10)
		return bad(p, ptr, "truncated before the header");
	if (b[6] < 1 || b[6] > 3 || b[7] != 0) {
		snprintf(msg, sizeof(msg), "format version %u.%u (1.0, 2.0 and "
			 "3.0 are read)", b[6], b[7]);
		return bad(p, ptr, msg);
	}
	if (b[6] == 1) {
		hlen = (size_t)b[8] | (size_t)b[9] << 8;
		off = 10;
	} else {
		if (len < 12)
			return bad(p, ptr, "truncated before the header");
		hlen = (size_t)load(b + 8, 4, false);
		off = 12;
	}
	if (hlen > NPY_MAX_HEADER)
		return bad(p, ptr, "the header is longer than 4096 bytes");
	if (len - off < hlen)
		return bad(p, ptr, "truncated in the header");
	for (k = 0; k < hlen; k++)
		if (b[off + k] >= 0x80 || (b[off + k] < 0x20 && b[off + k] != '\n'))
			return bad(p, ptr, "the header holds a byte that is not printable ASCII");
	if (parse_header((const char *)b + off, hlen, &h, &why, descr,
			 sizeof(descr)))
		return bad(p, ptr, why);
	off += hlen;
	if (!parse_descr(descr, &h.dt)) {
		problem_add(p, PROB_UNSUPPORTED, ptr, "dtype '%s' is not read: send "
			    "<f8, <f4 or an integer type (i1 ... u8)", descr);
		return -1;
	}
	if (h.ndim > NPY_MAX_DIMS) {
		problem_add(p, PROB_UNSUPPORTED, ptr,
			    "an array of %u dimensions; send 1-D or 2-D arrays",
			    h.ndim);
		return -1;
	}
	rows = h.ndim >= 1 ? h.shape[0] : 1;
	cols = h.ndim == 2 ? h.shape[1] : 1;
	if (cols && rows > max / cols) {
		problem_add(p, PROB_TOO_LARGE, ptr,
			    "an array of shape (%zu, %zu) exceeds the limit of %zu elements",
			    rows, cols, max);
		return -1;
	}
	if (len - off != rows * cols * h.dt.size)
		return bad(p, ptr, len - off < rows * cols * h.dt.size ?
			   "truncated in the data" : "bytes after the data");
	if (h.ndim == 0) {
		node = cJSON_CreateNumber(cell(b + off, &h.dt));
	} else if (rows == 0 || cols == 0) {
		if (h.ndim == 2 && rows) {
			problem_add(p, PROB_INVALID, ptr, "a row must not be empty");
			return -1;
		}
		node = cJSON_CreateArray();
	} else {
		node = json_block_new(rows, cols, h.ndim == 2 ? 2 : 1, true);
		if (node)
			convert(b + off, &h, rows, cols,
				((struct json_block *)(void *)node->valuestring)->v);
	}
	if (!node) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory reading %s", ptr);
		return -1;
	}
	*out = node;
	return 0;
}
