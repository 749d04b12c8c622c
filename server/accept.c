/* Accept header negotiation; see accept.h. */
#include "accept.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

static const char *const media[] = {
	[JW_JSON] = "application/json",
	[JW_NPZ] = "application/x-npz",
	[JW_NPY] = "application/x-npy",
};

const char *accept_media_type(enum jw_format f)
{
	return media[f];
}

static const char *skip_ows(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* A qvalue ("0", "0.5", "1.000"), in thousandths, or -1. */
static int parse_q(const char *s, const char *end)
{
	int q, scale = 100;

	if (s >= end || (*s != '0' && *s != '1'))
		return -1;
	q = (*s++ - '0') * 1000;
	if (s < end && *s == '.') {
		for (s++; s < end && isdigit((unsigned char)*s) && scale; s++) {
			q += (*s - '0') * scale;
			scale /= 10;
		}
	}
	s = skip_ows(s, end);
	return s == end && q <= 1000 ? q : -1;
}

/* How range [r, r_end) matches type t: 3 exact, 2 "type/ *", 1 "* / *",
 * 0 not at all. */
static int match(const char *r, size_t n, const char *t)
{
	const char *slash = strchr(t, '/');
	size_t tn = (size_t)(slash - t);

	if (n == strlen(t) && !strncasecmp(r, t, n))
		return 3;
	if (n == tn + 2 && !strncasecmp(r, t, tn + 1) && r[tn + 1] == '*')
		return 2;
	if (n == 3 && !memcmp(r, "*/*", 3))
		return 1;
	return 0;
}

int accept_negotiate(const char *accept, unsigned offered,
		     enum jw_format *out)
{
	int best_q[3] = { -1, -1, -1 }, best_spec[3] = { 0, 0, 0 };
	int win = -1, win_q = 0, win_spec = 0;
	const char *s = accept, *end, *elem_end, *p, *r_end;

	*out = JW_JSON;
	if (!accept || !*skip_ows(accept, accept + strlen(accept)))
		return 0;
	end = accept + strlen(accept);
	while (s < end) {
		int q = 1000;

		elem_end = memchr(s, ',', (size_t)(end - s));
		if (!elem_end)
			elem_end = end;
		s = skip_ows(s, elem_end);
		r_end = s;
		while (r_end < elem_end && *r_end != ';' && *r_end != ' ' &&
		       *r_end != '\t')
			r_end++;
		/* parameters: only q matters */
		for (p = r_end; p < elem_end;) {
			const char *pe;

			p = memchr(p, ';', (size_t)(elem_end - p));
			if (!p)
				break;
			p = skip_ows(p + 1, elem_end);
			pe = memchr(p, ';', (size_t)(elem_end - p));
			if (!pe)
				pe = elem_end;
			if (pe - p >= 2 && (p[0] == 'q' || p[0] == 'Q') &&
			    p[1] == '=')
				q = parse_q(p + 2, pe);
			p = pe;
		}
		for (int f = 0; f < 3 && q >= 0 && r_end > s; f++) {
			int m = match(s, (size_t)(r_end - s), media[f]);

			if (m > best_spec[f]) {
				best_spec[f] = m;
				best_q[f] = q;
			}
		}
		s = elem_end + 1;
	}
	for (int f = 0; f < 3; f++) {
		if (f == JW_NPZ && !(offered & ACCEPT_NPZ))
			continue;
		if (f == JW_NPY && !(offered & ACCEPT_NPY))
			continue;
		if (best_q[f] <= 0)
			continue;
		if (best_q[f] > win_q ||
		    (best_q[f] == win_q && best_spec[f] > win_spec)) {
			win = f;
			win_q = best_q[f];
			win_spec = best_spec[f];
		}
	}
	if (win < 0)
		return -1;
	*out = (enum jw_format)win;
	return 0;
}
