/* Route matching over a table of patterns; see router.h. */
#include "router.h"

#include "handlers/request.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Matches path against pattern; a "{…}" segment is copied to param. A
 * "{…}" that ends the pattern takes the rest of the path, slashes
 * included, so that "/sessions/a%2Fb" or an id longer than param reaches
 * the handler's validation (422) instead of missing the route (404); an
 * overlong rest is cut to param_len - 1 bytes, which no valid parameter
 * is as long as. */
static bool pattern_match(const char *pat, const char *path, char *param,
			  size_t param_len)
{
	param[0] = '\0';
	while (*pat && *path) {
		if (*pat == '{') {
			const char *close = strchr(pat, '}');
			size_t len = close && close[1] == '\0'
				     ? strlen(path) : strcspn(path, "/");
			size_t keep = len < param_len ? len : param_len - 1;

			if (!close || len == 0 || (len >= param_len &&
						   close[1] != '\0'))
				return false;
			memcpy(param, path, keep);
			param[keep] = '\0';
			path += len;
			pat = close + 1;
			continue;
		}
		if (*pat != *path)
			return false;
		pat++;
		path++;
	}
	return *pat == '\0' && *path == '\0';
}

static bool allow_has(const char *allow, const char *method)
{
	size_t mlen = strlen(method);

	for (const char *p = allow; *p;) {
		size_t len = strcspn(p, ",");

		if (len == mlen && !strncmp(p, method, mlen))
			return true;
		p += len;
		p += strspn(p, ", ");
	}
	return false;
}

static void allow_add(char *allow, size_t n, const char *method)
{
	size_t len = strlen(allow);

	if (!allow_has(allow, method))
		snprintf(allow + len, n - len, "%s%s", len ? ", " : "",
			 method);
}

void router_match(const struct route *table, size_t n, const char *method,
		  const char *path, struct route_match *m)
{
	char param[ROUTER_PARAM_MAX];
	const char *want = strcmp(method, "HEAD") ? method : "GET";

	m->status = 404;
	m->row = -1;
	m->path_row = -1;
	m->param[0] = '\0';
	m->allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!pattern_match(table[i].pattern, path, param,
				   sizeof(param)))
			continue;
		if (m->path_row < 0)
			m->path_row = (int)i;
		allow_add(m->allow, sizeof(m->allow), table[i].method);
		if (!strcmp(table[i].method, "GET"))
			allow_add(m->allow, sizeof(m->allow), "HEAD");
		if (m->row < 0 && !strcmp(table[i].method, want)) {
			m->row = (int)i;
			memcpy(m->param, param, sizeof(param));
		}
	}
	if (m->row >= 0)
		m->status = 200;
	else if (m->path_row >= 0)
		m->status = 405;
}

bool router_is_json_type(const char *ct)
{
	return request_media_of(ct) == REQUEST_JSON;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t router_unescape(char *s)
{
	char *w = s;

	for (const char *r = s; *r;) {
		int hi = r[0] == '%' ? hex_value(r[1]) : -1;
		int lo = hi >= 0 ? hex_value(r[2]) : -1;

		if (lo >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}
