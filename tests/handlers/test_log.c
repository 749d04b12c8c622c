/* The access and message logs: whatever bytes a value holds, a line stays
 * one line and no value can forge another field (text) or break the JSON. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "server/log.h"
#include "tests/lib/suite_run.h"

/* A request id as an attacker would send it (were it let through). */
static const char hostile_id[] = "abc status=500 route=/admin\nX access "
				 "id=\"forged\" \\x0a\x01\xff";

/* Runs fn(f) with stderr on a temporary file; returns what it wrote
 * (malloc'd, NUL-terminated). */
static char *captured(void (*fn)(enum log_format), enum log_format f)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *out;
	long n;

	ck_assert(tmp != NULL && saved >= 0);
	ck_assert(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	fn(f);
	ck_assert(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	n = (long)lseek(fileno(tmp), 0, SEEK_END);
	ck_assert(n > 0);
	out = calloc(1, (size_t)n + 1);
	ck_assert(pread(fileno(tmp), out, (size_t)n, 0) == (ssize_t)n);
	fclose(tmp);
	return out;
}

static void write_access(enum log_format f)
{
	struct access_entry e = {hostile_id, "GET", "/sessions/{id}", 404, 12,
				 1500000};

	log_access(f, &e);
}

static void write_msg(enum log_format f)
{
	log_msg(f, "error", "request %s failed", hostile_id);
}

static size_t lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

START_TEST(a_text_access_line_cannot_be_forged)
{
	char *out = captured(write_access, LOG_TEXT);

	ck_assert_msg(lines(out) == 1 && out[strlen(out) - 1] == '\n',
		      "not one line: %s", out);
	/* the id is one quoted value; the real fields follow it */
	ck_assert_msg(strstr(out, " access id=\"abc status=500 route=/admin"
			     "\\x0aX access id=\\x22forged\\x22 \\x5cx0a"
			     "\\x01\\xff\" method=GET route=/sessions/{id} "
			     "status=404 bytes=12 ms=1.500\n") != NULL,
		      "%s", out);
	free(out);
}
END_TEST

START_TEST(a_json_access_line_keeps_the_value_as_data)
{
	char *out = captured(write_access, LOG_JSON);
	cJSON *j = cJSON_Parse(out);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "request_id");

	ck_assert_msg(lines(out) == 1, "not one line: %s", out);
	ck_assert_msg(cJSON_IsString(id), "%s", out);
	/* every byte but the invalid UTF-8 one comes back as it was */
	ck_assert(!strncmp(id->valuestring, hostile_id, sizeof(hostile_id) - 2));
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "status")->valueint,
			 404);
	cJSON_Delete(j);
	free(out);
}
END_TEST

START_TEST(a_message_stays_one_line)
{
	for (int f = LOG_TEXT; f <= LOG_JSON; f++) {
		char *out = captured(write_msg, (enum log_format)f);

		ck_assert_msg(lines(out) == 1, "not one line: %s", out);
		if (f == LOG_TEXT)
			ck_assert_msg(strstr(out, "/admin\\x0aX access") != NULL,
				      "%s", out);
		free(out);
	}
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("escaping");

	tcase_add_test(tc, a_text_access_line_cannot_be_forged);
	tcase_add_test(tc, a_json_access_line_keeps_the_value_as_data);
	tcase_add_test(tc, a_message_stays_one_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(log_suite());
}
