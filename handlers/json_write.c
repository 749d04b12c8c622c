/* JSON writing: a streaming writer into a struct buf; commas, nesting and
 * string escapes are its business, numbers come from json_number.c. */
#include "json.h"

#include "core/alloc.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
