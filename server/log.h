/* Logging on stderr: one access-log line per request (text or JSON, never
 * anything from bodies) and startup/shutdown messages. Each line is written
 * with a single write so lines from many threads do not interleave. No value
 * can forge a field or a line: JSON strings are escaped, and in the text
 * format a value with a byte outside [A-Za-z0-9._:/{}+@,-] is written in
 * double quotes with '"', '\\' and non-printable bytes as \xNN
 * (messages: '\\' and non-printable bytes as \xNN). */
#ifndef GRADGUARD_LOG_H
#define GRADGUARD_LOG_H

#include <stdarg.h>
#include <stdint.h>

#include "config.h"

struct access_entry {
	const char *request_id;
	const char *method;     /* sanitised by the caller */
	const char *route;      /* the pattern, or "unmatched" */
	unsigned status;        /* 0: no response was sent */
	uint64_t bytes;         /* response body bytes */
	uint64_t duration_ns;
};

void log_access(enum log_format f, const struct access_entry *e);
/* A message line ("level" is "info", "error", ...). */
void log_msg(enum log_format f, const char *level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_format f, const char *level, const char *fmt,
	      va_list ap) __attribute__((format(printf, 3, 0)));

#endif
