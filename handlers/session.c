/* Session ids, keys, store problems and statistics output; see session.h. */
#include "session.h"

#include "core/alloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/stats.h"

bool session_id_valid(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++) {
		unsigned char c = (unsigned char)id[n];

		if (n == SESSION_ID_MAX)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return n > 0;
}

int session_generate(char *out, size_t n)
{
	static const char b64url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[16];
	size_t got = 0, k = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (n < 23)
		return -1;
	while (got < sizeof(r)) {
		ssize_t rc = getrandom(r + got, sizeof(r) - got, 0);

		if (rc < 0)
			return -1;
		got += (size_t)rc;
	}
	/* base64url (RFC 4648 section 5): 128 bits = 21 sextets + 2 bits */
	for (size_t i = 0; i < sizeof(r); i++) {
		acc = (acc << 8) | r[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[k++] = b64url[(acc >> bits) & 63];
		}
	}
	out[k++] = b64url[(acc << (6 - bits)) & 63];
	out[k] = '\0';
	return 0;
}

int session_key(char *out, size_t n, const char *tenant, const char *id)
{
	int len = snprintf(out, n, "%s/%s", tenant ? tenant : "", id);

	return len < 0 || (size_t)len >= n ? -1 : 0;
}

void session_store_problem(struct problem *p, enum store_status st,
			   const char *id, const char *pointer)
{
	/* a path parameter is no field of the body: no errors[] entry, so the
	 * detail does not read "body: ..." */
	bool in_body = pointer && pointer[0];
	static const char full[] = "this tenant's session limit is reached "
				   "(max_sessions); delete sessions or let "
				   "them expire";

	switch (st) {
	case STORE_OK:
		break;
	case STORE_NOT_FOUND:
		if (in_body)
			problem_add(p, PROB_SESSION_NOT_FOUND, pointer,
				    "no session '%s'", id);
		else
			problem_set(p, PROB_SESSION_NOT_FOUND,
				    "no session '%s'", id);
		break;
	case STORE_MISMATCH:
		problem_add(p, PROB_SHAPE_MISMATCH, "/data",
			    "feature count differs from session '%s'", id);
		break;
	case STORE_FULL:
		if (in_body)
			problem_add(p, PROB_TOO_LARGE, pointer, "%s", full);
		else
			problem_set(p, PROB_TOO_LARGE, "%s", full);
		break;
	case STORE_NOMEM:
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory in the store");
		break;
	case STORE_UNAVAILABLE:
		problem_set(p, PROB_STORE_UNAVAILABLE,
			    "the session store is unavailable; retry later");
		break;
	case STORE_OVERFLOW:
		session_overflow_problem(p, SIZE_MAX);
		break;
	}
}

void session_overflow_problem(struct problem *p, size_t feature)
{
	static const char why[] = "the statistics overflow the double range "
				  "(|x - mean| too large to square); nothing "
				  "was stored";

	if (feature == SIZE_MAX)
		problem_add(p, PROB_NON_FINITE, "/data", "%s", why);
	else
		problem_add(p, PROB_NON_FINITE, "/data", "feature %zu: %s",
			    feature, why);
}

int session_write_stats(struct jw *w, const char *id, const struct stats *st,
			const double *scale)
{
	size_t d = st->n_features;
	double *tmp = gg_malloc(2 * d * sizeof(double));
	uint64_t n;

	if (!tmp)
		return -1;
	jw_key(w, "session");
	if (id)
		jw_string(w, id);
	else
		jw_null(w);
	jw_key(w, "n_samples_seen");
	if (stats_uniform_count(st, &n)) {
		jw_uint(w, n);
	} else {
		jw_arr_begin(w);
		for (size_t j = 0; j < d; j++)
			jw_uint(w, st->count[j]);
		jw_arr_end(w);
	}
	jw_key(w, "n_features");
	jw_uint(w, d);
	/* a feature with no values has no mean: null, like var and scale */
	for (size_t j = 0; j < d; j++)
		tmp[j] = st->count[j] ? st->mean[j] : NAN;
	jw_key(w, "mean");
	jw_double_array(w, tmp, d);
	stats_var(st, tmp);
	jw_key(w, "var");
	jw_double_array(w, tmp, d);
	if (!scale) {
		stats_scale(st, tmp + d, NULL);
		scale = tmp + d;
	}
	jw_key(w, "scale");
	jw_double_array(w, scale, d);
	gg_free(tmp);
	return 0;
}

void session_format_time(char *out, size_t n, int64_t unix_ms)
{
	time_t sec = (time_t)(unix_ms / 1000);
	int ms = (int)(unix_ms % 1000);
	struct tm tm;
	char date[24];

	if (ms < 0) {
		ms += 1000;
		sec--;
	}
	if (!gmtime_r(&sec, &tm) ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		date[0] = '\0';
	snprintf(out, n, "%s.%03dZ", date, ms);
}

int session_parse_ttl(const char *text, int64_t *ms)
{
	int64_t v = 0;

	if (!text || !*text)
		return -1;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (*c - '0');
		if (v > SESSION_TTL_MAX)
			return -1;
	}
	if (v < 1)
		return -1;
	*ms = v * 1000;
	return 0;
}

void session_write_expiry(struct jw *w, int64_t expires_at_ms)
{
	char t[40];

	jw_key(w, "expires_at");
	if (!expires_at_ms) {
		jw_null(w);
		return;
	}
	session_format_time(t, sizeof(t), expires_at_ms);
	jw_string(w, t);
}
