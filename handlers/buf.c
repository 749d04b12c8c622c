/* Growable byte buffer with a cap; see buf.h. */
#include "buf.h"

#include "core/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->failed = false;
	b->nomem = false;
}

void buf_free(struct buf *b)
{
	gg_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
	b->nomem = false;
}

int buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;
	char *p;

	if (b->failed)
		return -1;
	if (n > SIZE_MAX - b->len - 1)
		goto fail;
	need = b->len + n + 1;
	if (b->max && need > b->max + 1)
		goto fail;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (b->max && ncap > b->max + 1)
		ncap = b->max + 1;
	p = gg_realloc(b->data, ncap);
	if (!p) {
		b->nomem = true;
		goto fail;
	}
	b->data = p;
	b->cap = ncap;
	return 0;
fail:
	b->failed = true;
	return -1;
}

void buf_presize(struct buf *b, size_t n)
{
	size_t need;
	char *p;

	if (b->failed || n > SIZE_MAX - b->len - 1)
		return;
	need = b->len + n + 1;
	if (b->max && need > b->max + 1)
		need = b->max + 1;
	if (need <= b->cap)
		return;
	p = gg_realloc(b->data, need);
	if (!p)
		return;
	b->data = p;
	b->cap = need;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n))
		return b->failed = true, -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
