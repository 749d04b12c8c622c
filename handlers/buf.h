/* A growable byte buffer with a hard cap (curl's dynbuf "toobig" idea).
 * Used for response bodies: handlers write JSON text straight into one. */
#ifndef GRADGUARD_BUF_H
#define GRADGUARD_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;     /* owned; NUL-terminated when len > 0 or after buf_cstr */
	size_t len;
	size_t cap;     /* bytes allocated */
	size_t max;     /* appends that would pass this fail; 0 means no cap */
	bool failed;    /* sticky: an append failed (cap or out of memory) */
	bool nomem;     /* the failure was an allocation, not the cap */
};

/* An empty buffer that refuses to grow past max bytes (0: unbounded). */
void buf_init(struct buf *b, size_t max);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* Ensures room for n more bytes. Returns 0, or -1 and sets failed (and
 * nomem when the allocation failed rather than the cap). */
int buf_reserve(struct buf *b, size_t n);
/* Best effort: grows the storage to hold n more bytes (at most up to the
 * cap) in one allocation, so that a body whose size is known roughly up
 * front is not copied while it doubles. Failing changes nothing. */
void buf_presize(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hands the storage to the caller (who frees it) and empties the buffer. */
char *buf_detach(struct buf *b, size_t *len);

#endif
