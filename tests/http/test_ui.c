/* GET /ui/ and its assets over real HTTP: status, Content-Type, the bytes of
 * the files under ui/, and the Cache-Control / CSP headers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/lib/harness.h"

static struct gg_server srv;
static int fixture_failures;

static void shared_start(void)
{
	if (gg_server_start(&srv, NULL) != 0) {
		fprintf(stderr, "cannot start the daemon\n");
		fixture_failures++;
	}
}

static void shared_stop(void)
{
	if (gg_server_stop(&srv) != 0)
		fixture_failures++;
}

static const struct {
	const char *path;
	const char *file;
	const char *type;
} assets[] = {
	{"/ui/", "ui/index.html", "text/html; charset=utf-8"},
	{"/ui/app.js", "ui/app.js", "text/javascript; charset=utf-8"},
	{"/ui/style.css", "ui/style.css", "text/css; charset=utf-8"},
	{"/ui/icon.svg", "ui/icon.svg", "image/svg+xml"},
};

/* The whole file, NUL-terminated; NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1))) {
		*len = fread(p, 1, (size_t)n, f);
		p[*len] = '\0';
	}
	fclose(f);
	return p;
}

START_TEST(ui_assets_are_served_with_their_types)
{
	struct gg_response r;
	size_t len = 0;
	char *want;

	ck_assert_int_eq(gg_request(&srv, "GET", assets[_i].path, NULL, NULL,
				    0, NULL, &r), 0);
	ck_assert_msg(r.status == 200, "%s: status %ld", assets[_i].path,
		      r.status);
	ck_assert_str_eq(r.content_type, assets[_i].type);
	want = slurp(assets[_i].file, &len);
	ck_assert_msg(want != NULL, "cannot read %s", assets[_i].file);
	ck_assert_msg(r.body_len == len && !memcmp(r.body, want, len),
		      "%s: the body is not %s (%zu vs %zu bytes)",
		      assets[_i].path, assets[_i].file, r.body_len, len);
	free(want);
	gg_response_free(&r);
}
END_TEST

/* True when head (a response header block, NUL-terminated after its last
 * line) has the line "name: value" (name case-insensitive). */
static int header_is(const char *head, const char *name, const char *value)
{
	char line[512];
	const char *p = head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		const char *end;

		p += 2;
		end = strstr(p, "\r\n");
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) < sizeof(line) &&
		    !strncasecmp(p, name, n) && p[n] == ':') {
			snprintf(line, sizeof(line), "%.*s", (int)(end - p), p);
			if (!strcmp(line + n + 1 + (line[n + 1] == ' '), value))
				return 1;
		}
	}
	return 0;
}

START_TEST(ui_assets_carry_csp_and_cache_headers)
{
	char req[256], resp[4096], *head_end;
	long n;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Connection: close\r\n\r\n", assets[_i].path);
	n = gg_raw(&srv, req, strlen(req), resp, sizeof(resp), 10000);
	ck_assert_msg(n > 0, "no answer");
	head_end = strstr(resp, "\r\n\r\n");
	ck_assert_msg(head_end != NULL, "no complete header in %s", resp);
	*head_end = '\0';
	ck_assert_msg(!strncmp(resp, "HTTP/1.1 200", 12), "%s", resp);
	ck_assert_msg(header_is(resp, "Content-Security-Policy",
			        "default-src 'self'"), "no CSP in\n%s", resp);
	ck_assert_msg(header_is(resp, "Cache-Control", "no-cache"), "%s", resp);
	ck_assert_msg(header_is(resp, "X-Content-Type-Options", "nosniff"),
		      "%s", resp);
}
END_TEST

START_TEST(ui_without_slash_redirects_and_other_methods_get_405)
{
	struct gg_response r;

	ck_assert_int_eq(gg_request(&srv, "GET", "/ui", NULL, NULL, 0, NULL,
				    &r), 0);
	ck_assert_int_eq(r.status, 308);
	ck_assert_str_eq(r.location, "/ui/");
	gg_response_free(&r);

	ck_assert_int_eq(gg_request(&srv, "HEAD", "/ui/", NULL, NULL, 0, NULL,
				    &r), 0);
	ck_assert_int_eq(r.status, 200);
	gg_response_free(&r);

	ck_assert_int_eq(gg_request(&srv, "POST", "/ui/", "application/json",
				    "{}", 2, NULL, &r), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	gg_response_free(&r);

	ck_assert_int_eq(gg_request(&srv, "GET", "/ui/missing.js", NULL, NULL,
				    0, NULL, &r), 0);
	ck_assert_int_eq(r.status, 404);
	gg_response_free(&r);
}
END_TEST

static Suite *ui_suite(void)
{
	Suite *s = suite_create("ui");
	TCase *tc = tcase_create("assets");
	int n = (int)(sizeof(assets) / sizeof(assets[0]));

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, shared_start, shared_stop);
	tcase_add_loop_test(tc, ui_assets_are_served_with_their_types, 0, n);
	tcase_add_loop_test(tc, ui_assets_carry_csp_and_cache_headers, 0, n);
	tcase_add_test(tc, ui_without_slash_redirects_and_other_methods_get_405);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ui_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed || fixture_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
