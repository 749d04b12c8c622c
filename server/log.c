/* stderr logging, text or JSON lines; see log.h. */
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handlers/buf.h"
#include "handlers/json.h"

static void log_time(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char day[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03ldZ", day, ts.tv_nsec / 1000000);
}

static void log_write(struct buf *b)
{
	const char *p = b->data;
	size_t left = b->len;

	if (b->failed)
		return;
	while (left) {
		ssize_t n = write(STDERR_FILENO, p, left);

		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
}

/* Bytes a text-log value may hold as they are: no space, quote, '=' or
 * backslash, so that a value can neither start another field nor end the
 * line. */
static bool plain_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("._:/-{}+@,", c));
}

/* Appends s to b with every byte outside printable ASCII, and the
 * backslash, as \xNN; with quote also '"' (a field value), the
 * whole then in double quotes unless every byte is plain_byte. */
static void put_escaped(struct buf *b, const char *s, bool quote)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	bool plain = *p != '\0';

	for (const unsigned char *q = p; *q && plain; q++)
		plain = plain_byte(*q);
	if (quote && plain) {
		buf_puts(b, (const char *)p);
		return;
	}
	if (quote)
		buf_putc(b, '"');
	for (; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\' &&
		    !(quote && *p == '"')) {
			buf_putc(b, (char)*p);
			continue;
		}
		buf_putc(b, '\\');
		buf_putc(b, 'x');
		buf_putc(b, hex[*p >> 4]);
		buf_putc(b, hex[*p & 15]);
	}
	if (quote)
		buf_putc(b, '"');
}

/* " name=value" with the value escaped (put_escaped). */
static void put_field(struct buf *b, const char *name, const char *value)
{
	buf_printf(b, " %s=", name);
	put_escaped(b, value, true);
}

/* Starts one line in b: ts gets the time; in JSON, w has opened the object
 * and written "ts". */
static void line_begin(enum log_format f, struct buf *b, struct jw *w,
		       char *ts, size_t ts_len)
{
	buf_init(b, 4096);
	log_time(ts, ts_len);
	if (f == LOG_JSON) {
		jw_init(w, b);
		jw_obj_begin(w);
		jw_key(w, "ts");
		jw_string(w, ts);
	}
}

/* Ends the line begun by line_begin, writes it and frees b. */
static void line_end(enum log_format f, struct buf *b, struct jw *w)
{
	if (f == LOG_JSON) {
		jw_obj_end(w);
		buf_putc(b, '\n');
	}
	log_write(b);
	buf_free(b);
}

void log_access(enum log_format f, const struct access_entry *e)
{
	struct buf b;
	struct jw w;
	char ts[48];
	double ms = (double)e->duration_ns / 1e6;

	line_begin(f, &b, &w, ts, sizeof(ts));
	if (f == LOG_JSON) {
		jw_key(&w, "request_id");
		jw_string(&w, e->request_id);
		jw_key(&w, "method");
		jw_string(&w, e->method);
		jw_key(&w, "route");
		jw_string(&w, e->route);
		jw_key(&w, "status");
		jw_uint(&w, e->status);
		jw_key(&w, "bytes");
		jw_uint(&w, e->bytes);
		jw_key(&w, "duration_ms");
		jw_double(&w, (double)(uint64_t)(ms * 1000.0) / 1000.0);
	} else {
		buf_printf(&b, "%s access", ts);
		put_field(&b, "id", e->request_id);
		put_field(&b, "method", e->method);
		put_field(&b, "route", e->route);
		buf_printf(&b, " status=%u bytes=%llu ms=%.3f\n", e->status,
			   (unsigned long long)e->bytes, ms);
	}
	line_end(f, &b, &w);
}

void log_vmsg(enum log_format f, const char *level, const char *fmt,
	      va_list ap)
{
	struct buf b;
	struct jw w;
	char ts[48], msg[1024];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	line_begin(f, &b, &w, ts, sizeof(ts));
	if (f == LOG_JSON) {
		jw_key(&w, "level");
		jw_string(&w, level);
		jw_key(&w, "msg");
		jw_string(&w, msg);
	} else {
		buf_printf(&b, "%s %s ", ts, level);
		put_escaped(&b, msg, false);
		buf_putc(&b, '\n');
	}
	line_end(f, &b, &w);
}

void log_msg(enum log_format f, const char *level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(f, level, fmt, ap);
	va_end(ap);
}
