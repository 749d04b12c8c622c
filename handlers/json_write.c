/* JSON writing: a streaming writer into a struct buf; commas, nesting and
 * string escapes are its business, numbers come from json_number.c. The
 * same writer emits numpy's .npz / .npy (arrays at object members become
 * stored zip members; PKWARE APPNOTE 6.3.x, numpy's NEP 1 .npy format). */
#include "json.h"

#include "core/alloc.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error ".npy output writes host doubles as <f8: little-endian hosts only"
#endif

/* ---- writing ---------------------------------------------------------------- */

void jw_init_format(struct jw *w, struct buf *b, enum jw_format f)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->fmt = f;
	w->j = b;
	if (f != JW_JSON) {
		buf_init(&w->side, b->max);
		w->j = &w->side;
	}
}

void jw_init(struct jw *w, struct buf *b)
{
	jw_init_format(w, b, JW_JSON);
}

void jw_set_output(struct jw *w, struct buf *b)
{
	w->b = b;
	if (w->fmt == JW_JSON)
		w->j = b;
}

void jw_free(struct jw *w)
{
	if (w->fmt != JW_JSON)
		buf_free(&w->side);
	gg_free(w->members);
	w->members = NULL;
	w->n_members = w->cap_members = 0;
}

static void put_string(struct buf *b, const char *str);

/* The comma (or nothing) before a value; a held key goes out first. */
static void jw_sep(struct jw *w)
{
	if (w->key_pending) {
		w->key_pending = false;
		if (w->need_comma[w->depth])
			buf_putc(w->j, ',');
		w->need_comma[w->depth] = true;
		put_string(w->j, w->key);
		buf_putc(w->j, ':');
		return;
	}
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		buf_putc(w->j, ',');
	w->need_comma[w->depth] = true;
}

/* ---- npz / npy ------------------------------------------------------------ */

static void out_bytes(struct jw *w, const void *p, size_t n)
{
	if (buf_append(w->b, p, n) == 0)
		w->off += n;
}

static void put_le(unsigned char *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Member data: counted and checksummed. */
static void member_data(struct jw *w, const void *p, size_t n)
{
	if (w->fmt == JW_NPZ)
		w->crc = (uint32_t)crc32_z(w->crc, p, n);
	w->msize += n;
	out_bytes(w, p, n);
}

/* The 30-byte local header of a stored member whose CRC and sizes follow
 * in a data descriptor (general purpose flag bit 3). */
static void zip_local_header(struct jw *w, const char *name, uint32_t crc,
			     uint32_t size, bool descriptor)
{
	unsigned char h[30];
	size_t n = strlen(name);

	put_le(h, 0x04034b50u, 4);
	put_le(h + 4, 20, 2);                     /* version needed: 2.0 */
	put_le(h + 6, descriptor ? 8u : 0u, 2);  /* flags */
	put_le(h + 8, 0, 2);                      /* method: stored */
	put_le(h + 10, 0, 2);                     /* time 00:00:00 */
	put_le(h + 12, 0x21, 2);                  /* date 1980-01-01 */
	put_le(h + 14, crc, 4);
	put_le(h + 18, size, 4);
	put_le(h + 22, size, 4);
	put_le(h + 26, n, 2);
	put_le(h + 28, 0, 2);
	out_bytes(w, h, sizeof(h));
	out_bytes(w, name, n);
}

static int member_add(struct jw *w, const char *name, uint32_t crc,
		      uint64_t size, uint64_t offset)
{
	struct jw_member *m;

	if (size > UINT32_MAX || offset > UINT32_MAX || w->off > UINT32_MAX) {
		w->b->failed = true;  /* would need zip64 */
		return -1;
	}
	if (w->n_members == w->cap_members) {
		size_t cap = w->cap_members ? 2 * w->cap_members : 16;

		m = gg_realloc(w->members, cap * sizeof(*m));
		if (!m) {
			w->b->failed = w->b->nomem = true;
			return -1;
		}
		w->members = m;
		w->cap_members = cap;
	}
	m = &w->members[w->n_members++];
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->crc = crc;
	m->size = (uint32_t)size;
	m->offset = (uint32_t)offset;
	return 0;
}

/* Opens the array at the held key as a member (npz) or the body (npy) when
 * the format makes it one; 1-D when cols == 0. Returns false when the
 * array goes to the JSON text instead. */
static bool member_begin(struct jw *w, size_t rows, size_t cols)
{
	char hdr[256], name[JW_KEY_MAX + 8];
	size_t n;
	int len;

	if (w->fmt == JW_JSON || !w->key_pending ||
	    (w->fmt == JW_NPY && (w->wrote_data || strcmp(w->key, "data"))))
		return false;
	w->key_pending = false;
	if (cols)
		len = snprintf(hdr + 10, sizeof(hdr) - 10,
			       "{'descr': '<f8', 'fortran_order': False, "
			       "'shape': (%zu, %zu), }", rows, cols);
	else
		len = snprintf(hdr + 10, sizeof(hdr) - 10,
			       "{'descr': '<f8', 'fortran_order': False, "
			       "'shape': (%zu,), }", rows);
	/* at most ~110 bytes with two 20-digit sizes: room for the padding */
	if (len < 0 || (size_t)len > sizeof(hdr) - 10 - 64) {
		w->b->failed = true;
		return true;
	}
	n = (size_t)len;
	/* pad with spaces and a newline to a multiple of 64 bytes */
	while ((10 + n + 1) % 64)
		hdr[10 + n++] = ' ';
	hdr[10 + n++] = '\n';
	memcpy(hdr, "\x93NUMPY\x01\x00", 8);
	put_le((unsigned char *)hdr + 8, n - 0, 2);
	w->in_member = true;
	w->msize = 0;
	w->crc = 0;
	if (w->fmt == JW_NPY) {
		w->wrote_data = true;
	} else {
		snprintf(name, sizeof(name), "%s.npy", w->key);
		w->moff = w->off;
		zip_local_header(w, name, 0, 0, true);
	}
	member_data(w, hdr, 10 + n);
	return true;
}

static void member_end(struct jw *w)
{
	unsigned char d[16];
	char name[JW_KEY_MAX + 8];

	w->in_member = false;
	if (w->fmt != JW_NPZ)
		return;
	put_le(d, 0x08074b50u, 4);
	put_le(d + 4, w->crc, 4);
	put_le(d + 8, w->msize, 4);
	put_le(d + 12, w->msize, 4);
	out_bytes(w, d, sizeof(d));
	snprintf(name, sizeof(name), "%s.npy", w->key);
	member_add(w, name, w->crc, w->msize, w->moff);
}

/* response.json, the central directory and its end record. */
static void npz_close(struct jw *w)
{
	const char *json = w->side.data ? w->side.data : "";
	unsigned char h[46];
	uint64_t cd;
	uint32_t crc;

	if (w->b->failed)
		return;
	crc = (uint32_t)crc32_z(0, (const unsigned char *)json, w->side.len);
	if (member_add(w, "response.json", crc, w->side.len, w->off))
		return;
	zip_local_header(w, "response.json", crc, (uint32_t)w->side.len, false);
	out_bytes(w, json, w->side.len);
	cd = w->off;
	for (size_t i = 0; i < w->n_members; i++) {
		const struct jw_member *m = &w->members[i];
		size_t n = strlen(m->name);
		bool desc = strcmp(m->name, "response.json") != 0;

		memset(h, 0, sizeof(h));
		put_le(h, 0x02014b50u, 4);
		put_le(h + 4, 20, 2);          /* made by: 2.0, MS-DOS */
		put_le(h + 6, 20, 2);
		put_le(h + 8, desc ? 8u : 0u, 2);
		put_le(h + 14, 0x21, 2);
		put_le(h + 16, m->crc, 4);
		put_le(h + 20, m->size, 4);
		put_le(h + 24, m->size, 4);
		put_le(h + 28, n, 2);
		put_le(h + 42, m->offset, 4);
		out_bytes(w, h, sizeof(h));
		out_bytes(w, m->name, n);
	}
	memset(h, 0, 22);
	put_le(h, 0x06054b50u, 4);
	put_le(h + 8, w->n_members, 2);
	put_le(h + 10, w->n_members, 2);
	put_le(h + 12, w->off - cd, 4);
	put_le(h + 16, cd, 4);
	if (w->n_members > 0xffff || w->off > UINT32_MAX)
		w->b->failed = true;
	out_bytes(w, h, 22);
}

int jw_finish(struct jw *w)
{
	if (w->fmt != JW_JSON && w->side.failed) {
		w->b->failed = true;
		w->b->nomem |= w->side.nomem;
	}
	if (w->fmt == JW_NPZ)
		npz_close(w);
	else if (w->fmt == JW_NPY && !w->wrote_data)
		w->b->failed = true;
	jw_free(w);
	return w->b->failed ? -1 : 0;
}

/* ---- JSON ------------------------------------------------------------------ */

static void jw_open(struct jw *w, char c)
{
	jw_sep(w);
	buf_putc(w->j, c);
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		w->j->failed = true;
		return;
	}
	w->need_comma[++w->depth] = false;
}

static void jw_close(struct jw *w, char c)
{
	if (w->depth > 0)
		w->depth--;
	else
		w->j->failed = true;
	buf_putc(w->j, c);
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
			ok = json_utf8_seq(s + i, n - i, &why);
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
	if (w->fmt != JW_JSON && key && strlen(key) <= JW_KEY_MAX) {
		if (w->key_pending)
			jw_null(w);  /* a key without a value: keep JSON valid */
		snprintf(w->key, sizeof(w->key), "%s", key);
		w->key_pending = true;
		return;
	}
	jw_sep(w);
	put_string(w->j, key ? key : "");
	buf_putc(w->j, ':');
	w->after_key = true;
}

void jw_string(struct jw *w, const char *s)
{
	jw_sep(w);
	if (s)
		put_string(w->j, s);
	else
		buf_puts(w->j, "null");
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
	put_double(w->j, v);
}

void jw_int(struct jw *w, int64_t v)
{
	jw_sep(w);
	buf_printf(w->j, "%" PRId64, v);
}

void jw_uint(struct jw *w, uint64_t v)
{
	jw_sep(w);
	buf_printf(w->j, "%" PRIu64, v);
}

void jw_bool(struct jw *w, bool v)
{
	jw_sep(w);
	buf_puts(w->j, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
	jw_sep(w);
	buf_puts(w->j, "null");
}

void jw_double_array(struct jw *w, const double *v, size_t n)
{
	size_t i;

	if (member_begin(w, n, 0)) {
		member_data(w, v, n * sizeof(*v));
		member_end(w);
		return;
	}
	jw_sep(w);
	buf_putc(w->j, '[');
	for (i = 0; i < n && !w->j->failed; i++) {
		if (i)
			buf_putc(w->j, ',');
		put_double(w->j, v[i]);
	}
	buf_putc(w->j, ']');
}

void jw_matrix_begin(struct jw *w, size_t rows, size_t cols)
{
	w->mcols = cols;
	w->mrow = 0;
	if (member_begin(w, rows, cols ? cols : 1))
		return;
	jw_sep(w);
	buf_putc(w->j, '[');
}

/* Numbers written between two checks of the buffer's room. */
#define JW_RUN 64

void jw_matrix_rows(struct jw *w, const double *v, size_t n)
{
	size_t i, j, cols = w->mcols;

	if (w->in_member) {
		member_data(w, v, n * cols * sizeof(*v));
		return;
	}
	for (i = 0; i < n && !w->j->failed; i++, w->mrow++) {
		buf_puts(w->j, w->mrow ? ",[" : "[");
		for (j = 0; j < cols; j++) {
			/* room for the next JW_RUN numbers checked once */
			if (j % JW_RUN == 0 &&
			    buf_reserve(w->j, JW_RUN * (JSON_DOUBLE_MAX + 1)))
				return;
			if (j)
				w->j->data[w->j->len++] = ',';
			w->j->len += json_format_double(w->j->data + w->j->len,
							v[i * cols + j]);
		}
		buf_putc(w->j, ']');
	}
}

void jw_matrix_end(struct jw *w)
{
	if (w->in_member)
		member_end(w);
	else
		buf_putc(w->j, ']');
}

void jw_matrix(struct jw *w, const double *v, size_t rows, size_t cols,
	       bool transpose)
{
	double t[512];
	size_t i, j, k;

	if (!transpose) {
		jw_matrix_begin(w, rows, cols);
		jw_matrix_rows(w, v, rows);
		jw_matrix_end(w);
		return;
	}
	if (member_begin(w, cols, rows)) {
		/* C order of the transpose, a chunk at a time */
		for (i = 0, k = 0; i < cols; i++)
			for (j = 0; j < rows; j++) {
				t[k++] = v[j * cols + i];
				if (k == sizeof(t) / sizeof(*t)) {
					member_data(w, t, sizeof(t));
					k = 0;
				}
			}
		member_data(w, t, k * sizeof(*t));
		member_end(w);
		return;
	}
	jw_sep(w);
	buf_putc(w->j, '[');
	for (i = 0; i < cols && !w->j->failed; i++) {
		buf_puts(w->j, i ? ",[" : "[");
		for (j = 0; j < rows; j++) {
			if (j)
				buf_putc(w->j, ',');
			put_double(w->j, v[j * cols + i]);
		}
		buf_putc(w->j, ']');
	}
	buf_putc(w->j, ']');
}
