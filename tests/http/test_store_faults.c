/* The SQLite store failing under a running daemon: a database another
 * process holds locked (root-proof, unlike file permissions) makes writes
 * answer 503 store-unavailable without applying them; reads go on; once
 * the lock is gone the same daemon recovers. A file that is not a database
 * stops the daemon at start. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tests/lib/harness.h"
#include "tests/lib/suite_run.h"

#define PROBLEM_JSON "application/problem+json"
/* The daemon's wait for a lock before it gives up (SQ_BUSY_MS in
 * server/store_sqlite.c, 5 s) plus slack for sanitizer builds. */
#define LOCKED_ANSWER_MS 20000

static char tmpdir[64];
static char db_path[128];
static char store_arg[160];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gg_faults_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(db_path, sizeof(db_path), "%s/sessions.db", tmpdir);
	snprintf(store_arg, sizeof(store_arg), "sqlite:%s", db_path);
}

static void remove_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char fit[] = "{\"op\": \"fit\", \"session\": \"s\", "
			  "\"data\": [[1, 2], [3, 4]]}";
static const char more[] = "{\"op\": \"partial_fit\", \"session\": \"s\", "
			   "\"data\": [[5, 6]]}";

/* n_samples_seen of session s, or -1. */
static double samples_seen(const struct gg_server *s)
{
	struct gg_response r;
	cJSON *j = NULL, *n;
	double v = -1;

	if (gg_request(s, "GET", "/sessions/s", NULL, NULL, 0, NULL, &r) ==
	    0 && r.status == 200 && (j = gg_response_json(&r)) != NULL &&
	    cJSON_IsNumber(n = cJSON_GetObjectItemCaseSensitive(
				   j, "n_samples_seen")))
		v = n->valuedouble;
	cJSON_Delete(j);
	gg_response_free(&r);
	return v;
}

START_TEST(locked_database_answers_503_and_the_daemon_recovers)
{
	const char *args[] = {"--store", store_arg, NULL};
	struct gg_server s;
	struct gg_response r;
	sqlite3 *db = NULL;
	cJSON *j;
	long long t0, dt;

	make_tmpdir();
	ck_assert_int_eq(gg_server_start(&s, args), 0);
	ck_assert_int_eq(gg_post_json(&s, "/normalize", fit, &r), 0);
	ck_assert_msg(r.status == 200, "fit: %ld %s", r.status, r.body);
	gg_response_free(&r);

	/* another process takes the write lock and keeps it */
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL),
			 SQLITE_OK);
	t0 = now_ms();
	ck_assert_int_eq(gg_post_json(&s, "/normalize", more, &r), 0);
	dt = now_ms() - t0;
	ck_assert_msg(r.status == 503, "locked: %ld %s", r.status, r.body);
	ck_assert_str_eq(r.content_type, PROBLEM_JSON);
	j = gg_response_json(&r);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "type")
			 ->valuestring, "/problems/store-unavailable");
	cJSON_Delete(j);
	gg_response_free(&r);
	ck_assert_msg(dt <= LOCKED_ANSWER_MS, "503 after %lld ms", dt);
	/* WAL: readers are not blocked by a writer; the failed update was
	 * not applied; liveness does not depend on the store */
	ck_assert(samples_seen(&s) == 2);
	ck_assert_int_eq(gg_request(&s, "GET", "/healthz", NULL, NULL, 0, NULL,
				    &r), 0);
	ck_assert_int_eq(r.status, 200);
	gg_response_free(&r);

	/* lock gone: the same daemon writes again */
	ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	ck_assert_int_eq(gg_post_json(&s, "/normalize", more, &r), 0);
	ck_assert_msg(r.status == 200, "recovered: %ld %s", r.status, r.body);
	gg_response_free(&r);
	ck_assert(samples_seen(&s) == 3);
	ck_assert_int_eq(gg_request(&s, "GET", "/readyz", NULL, NULL, 0, NULL,
				    &r), 0);
	ck_assert_int_eq(r.status, 200);
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	remove_tmpdir();
}
END_TEST

/* A body of `rows` rows of `feat` values (row i: i + 1 + j / 1000). */
static char *wide_body(const char *op, int rows, int feat)
{
	size_t cap = 64 + (size_t)rows * (size_t)feat * 16;
	char *b = malloc(cap);
	size_t n;

	ck_assert_ptr_nonnull(b);
	n = (size_t)snprintf(b, cap, "{\"op\": \"%s\", \"session\": \"w\", "
			     "\"data\": [", op);
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < feat; j++)
			n += (size_t)snprintf(b + n, cap - n, "%s%s%d.%03d%s",
					      j ? "" : (i ? ", " : ""),
					      j ? ", " : "[", i + 1, j,
					      j == feat - 1 ? "]" : "");
	snprintf(b + n, cap - n, "]}");
	return b;
}

static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* n_samples_seen of session w, or -1. */
static double wide_seen(const struct gg_server *s)
{
	struct gg_response r;
	cJSON *j = NULL, *n;
	double v = -1;

	if (gg_request(s, "GET", "/sessions/w", NULL, NULL, 0, NULL, &r) ==
	    0 && r.status == 200 && (j = gg_response_json(&r)) != NULL &&
	    cJSON_IsNumber(n = cJSON_GetObjectItemCaseSensitive(
				   j, "n_samples_seen")))
		v = n->valuedouble;
	cJSON_Delete(j);
	gg_response_free(&r);
	return v;
}

/* Lines of the daemon's log containing level and what. */
static int log_count(const struct gg_server *s, const char *level,
		     const char *what)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(s->log_path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, level) && strstr(line, what);
	fclose(f);
	return n;
}

/* Whether the daemon's log has an "error" line containing what. */
static bool log_has(const struct gg_server *s, const char *what)
{
	return log_count(s, "error", what) > 0;
}

static long readyz(const struct gg_server *s)
{
	struct gg_response r;
	long st;

	gg_request(s, "GET", "/readyz", NULL, NULL, 0, NULL, &r);
	st = r.status;
	gg_response_free(&r);
	return st;
}

/* The database's directory deleted under a running daemon: writes would
 * go to unlinked files and be lost at restart, so they answer 503 (an
 * acknowledged write is durable); /readyz says not ready; the cause is
 * logged once. Reads of what the daemon still has open may go on. */
START_TEST(a_deleted_database_fails_writes_and_readiness)
{
	const char *args[] = {"--store", store_arg, NULL};
	struct gg_server s;
	struct gg_response r;
	char cmd[640];

	make_tmpdir();
	ck_assert_int_eq(gg_server_start(&s, args), 0);
	ck_assert_int_eq(gg_post_json(&s, "/normalize", fit, &r), 0);
	ck_assert_int_eq(r.status, 200);
	gg_response_free(&r);
	ck_assert_int_eq(readyz(&s), 200);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(gg_post_json(&s, "/normalize", more, &r), 0);
		ck_assert_msg(r.status == 503, "write %d: %ld %s", i, r.status,
			      r.body);
		gg_response_free(&r);
	}
	gg_request(&s, "DELETE", "/sessions/s", NULL, NULL, 0, NULL, &r);
	ck_assert_int_eq(r.status, 503);
	gg_response_free(&r);
	ck_assert_int_eq(readyz(&s), 503);
	ck_assert_int_eq(readyz(&s), 503);
	ck_assert_int_eq(log_count(&s, "error", "the database file is gone"), 1);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	/* the same file replaced by another one is noticed as well */
	make_tmpdir();
	ck_assert_int_eq(gg_server_start(&s, args), 0);
	ck_assert_int_eq(gg_post_json(&s, "/normalize", fit, &r), 0);
	ck_assert_int_eq(r.status, 200);
	gg_response_free(&r);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s.new' && mv '%s.new' '%s'",
		 db_path, db_path, db_path, db_path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(gg_post_json(&s, "/normalize", more, &r), 0);
	ck_assert_msg(r.status == 503, "replaced: %ld %s", r.status, r.body);
	gg_response_free(&r);
	ck_assert_int_eq(readyz(&s), 503);
	ck_assert_int_eq(log_count(&s, "error", "the database file was replaced"), 1);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	remove_tmpdir();
}
END_TEST

/* A full disk, simulated root-proof: the test lowers the running daemon's
 * RLIMIT_FSIZE with prlimit(2), so that growing the database or its WAL
 * fails with EFBIG as on a full file system (the daemon ignores SIGXFSZ).
 * Writes answer 503 and are not applied, the stored session stays
 * readable, and once the limit is lifted the same daemon writes again. */
START_TEST(full_disk_answers_503_keeps_the_session_and_recovers)
{
	const char *args[] = {"--store", store_arg, NULL};
	char wal[160];
	struct gg_server s;
	struct gg_response r;
	struct rlimit lim;
	char *fit_body = wide_body("fit", 2, 512);
	char *more_body = wide_body("partial_fit", 1, 512);
	long long cap;
	cJSON *j;

	make_tmpdir();
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	ck_assert_int_eq(gg_server_start(&s, args), 0);
	ck_assert_int_eq(gg_post_json(&s, "/normalize", fit_body, &r), 0);
	ck_assert_msg(r.status == 200, "fit: %ld %s", r.status, r.body);
	gg_response_free(&r);
	ck_assert(wide_seen(&s) == 2);

	/* no file of the daemon may grow past what the store holds now */
	cap = file_size(db_path);
	if (file_size(wal) > cap)
		cap = file_size(wal);
	cap += 1024;
	lim.rlim_cur = (rlim_t)cap;
	lim.rlim_max = RLIM_INFINITY;
	ck_assert_int_eq(prlimit(s.pid, RLIMIT_FSIZE, &lim, NULL), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(gg_post_json(&s, "/normalize", more_body, &r),
				 0);
		ck_assert_msg(r.status == 503, "full: %ld %s", r.status,
			      r.body);
		ck_assert_str_eq(r.content_type, PROBLEM_JSON);
		j = gg_response_json(&r);
		ck_assert_ptr_nonnull(j);
		ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "type")
				 ->valuestring, "/problems/store-unavailable");
		cJSON_Delete(j);
		gg_response_free(&r);
	}
	ck_assert(wide_seen(&s) == 2);  /* unchanged and readable */
	ck_assert_msg(log_has(&s, "/problems/store-unavailable"),
		      "no error line with context in %s", s.log_path);
	/* a store that cannot write is not ready */
	ck_assert_int_eq(readyz(&s), 503);
	/* the cause is logged (SQLite's message), once, not per request */
	ck_assert_int_ge(log_count(&s, "error", "store sqlite: "), 1);
	ck_assert_int_le(log_count(&s, "error", "store sqlite: "), 2);
	ck_assert_int_eq(gg_request(&s, "GET", "/healthz", NULL, NULL, 0, NULL,
				    &r), 0);
	ck_assert_int_eq(r.status, 200);
	gg_response_free(&r);

	/* space again: the same daemon writes, nothing was corrupted */
	lim.rlim_cur = RLIM_INFINITY;
	ck_assert_int_eq(prlimit(s.pid, RLIMIT_FSIZE, &lim, NULL), 0);
	ck_assert_int_eq(gg_post_json(&s, "/normalize", more_body, &r), 0);
	ck_assert_msg(r.status == 200, "recovered: %ld %s", r.status, r.body);
	gg_response_free(&r);
	ck_assert(wide_seen(&s) == 3);
	ck_assert_int_eq(readyz(&s), 200);
	ck_assert_msg(log_count(&s, "info", "working again") == 1,
		      "no recovery line in %s", s.log_path);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	/* and the file reopens as a sound database with the session */
	ck_assert_int_eq(gg_server_start(&s, args), 0);
	ck_assert(wide_seen(&s) == 3);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	free(fit_body);
	free(more_body);
	remove_tmpdir();
}
END_TEST

/* A store path that holds something else than a database: the daemon
 * says so and exits instead of serving 503s forever. */
START_TEST(a_file_that_is_not_a_database_stops_the_daemon_at_start)
{
	const char *args[] = {"--port", "0", "--bind", "127.0.0.1",
			      "--store", store_arg, NULL};
	FILE *f;
	int rc;

	make_tmpdir();
	f = fopen(db_path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 512; i++)
		fputs("this is not an SQLite database\n", f);
	ck_assert_int_eq(fclose(f), 0);
	rc = gg_run(args, NULL, 0);
	ck_assert_msg(rc > 0, "daemon exit status %d", rc);
	remove_tmpdir();
}
END_TEST

static Suite *store_faults_suite(void)
{
	Suite *s = suite_create("store_faults");
	TCase *lock = tcase_create("sqlite");

	tcase_set_timeout(lock, 120);
	tcase_add_test(lock, locked_database_answers_503_and_the_daemon_recovers);
	tcase_add_test(lock,
		       full_disk_answers_503_keeps_the_session_and_recovers);
	tcase_add_test(lock,
		       a_file_that_is_not_a_database_stops_the_daemon_at_start);
	tcase_add_test(lock, a_deleted_database_fails_writes_and_readiness);
	suite_add_tcase(s, lock);
	return s;
}

int main(void)
{
	return suite_run(store_faults_suite());
}
