/* Test support: common steps of the endpoint suites; see http_util.h. */
#include "http_util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

void http_start(struct gg_server *s, const char *const args[])
{
	ck_assert_msg(gg_server_start(s, args) == 0, "daemon did not start "
		      "(GRADGUARD_BIN=%s)", getenv("GRADGUARD_BIN"));
}

cJSON *http_call(const struct gg_server *s, const char *method, const char *path,
		 const char *body, long want, const char *want_type)
{
	struct gg_response r;
	cJSON *j = NULL;

	ck_assert_int_eq(gg_request(s, method, path, body ? HTTP_JSON : NULL, body,
				    body ? strlen(body) : 0, NULL, &r), 0);
	ck_assert_msg(r.status == want, "%s %s: status %ld want %ld: %.300s",
		      method, path, r.status, want, r.body);
	if (want_type)
		ck_assert_str_eq(r.content_type, want_type);
	if (r.body_len)
		j = gg_response_json(&r);
	gg_response_free(&r);
	return j;
}

cJSON *http_post(const struct gg_server *s, const char *path, const char *body,
		 long want, const char *want_type)
{
	cJSON *j = http_call(s, "POST", path, body, want, want_type);

	ck_assert_msg(j != NULL, "POST %s: the answer is not JSON", path);
	return j;
}

double http_metric(const struct gg_server *s, const char *name)
{
	struct gg_response r;
	double v = -1;
	size_t n = strlen(name);

	if (gg_request(s, "GET", "/metrics", NULL, NULL, 0, NULL, &r) == 0 &&
	    r.status == 200)
		for (const char *p = r.body; p && *p;
		     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (!strncmp(p, name, n) && p[n] == ' ')
				v = strtod(p + n + 1, NULL);
	gg_response_free(&r);
	return v;
}

double http_metric_at_least(const struct gg_server *s, const char *name,
			    double want, unsigned timeout_ms)
{
	const struct timespec pause = {0, 10 * 1000 * 1000};
	double v;

	for (unsigned waited = 0;; waited += 10) {
		v = http_metric(s, name);
		if (v >= want || waited >= timeout_ms)
			return v;
		nanosleep(&pause, NULL);
	}
}

bool http_file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	bool found = false;

	ck_assert_msg(f != NULL, "cannot read %s", path);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}
