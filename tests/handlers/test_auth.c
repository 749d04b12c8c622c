/* API keys (server/auth.c): SHA-256 against FIPS 180-4 vectors, key file
 * parsing and its errors, Bearer checks, tenants stable and distinct, and
 * a check that takes the same time whichever key matches. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/auth.h"
#include "tests/lib/suite_run.h"

#define KEY_A "key-aaaaaaaaaaaaaaaa"
#define KEY_B "key-bbbbbbbbbbbbbbbb"

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- SHA-256 ------------------------------------------------------------- */

/* Expected digests from Python's hashlib (and FIPS 180-2 appendix B for
 * "abc", the 56-byte message and a million 'a's); 55, 56 and 64 bytes
 * are the padding edge cases. */
static const struct {
	size_t repeat;       /* 0: msg as is; else msg[0] repeated */
	const char *msg;
	const char *digest;
} sha_cases[] = {
	{0, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{0, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{0, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{55, "a", "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
	{56, "a", "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
	{64, "a", "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
	{1000000, "a", "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

START_TEST(sha256_matches_the_reference_vectors)
{
	unsigned char d[32];
	char got[65];
	size_t len = sha_cases[_i].repeat ? sha_cases[_i].repeat
					  : strlen(sha_cases[_i].msg);
	char *msg = malloc(len + 1);

	ck_assert_ptr_nonnull(msg);
	if (sha_cases[_i].repeat)
		memset(msg, sha_cases[_i].msg[0], len);
	else
		memcpy(msg, sha_cases[_i].msg, len);
	auth_sha256(msg, len, d);
	hex(d, 32, got);
	ck_assert_str_eq(got, sha_cases[_i].digest);
	free(msg);
}
END_TEST

START_TEST(digest_equal_sees_every_byte)
{
	unsigned char a[32], b[32];

	auth_sha256("x", 1, a);
	memcpy(b, a, 32);
	ck_assert(auth_digest_equal(a, b));
	for (int i = 0; i < 32; i++)
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (unsigned char)(1u << bit);
			ck_assert_msg(!auth_digest_equal(a, b), "byte %d bit %d",
				      i, bit);
			b[i] ^= (unsigned char)(1u << bit);
		}
}
END_TEST

/* ---- key files --------------------------------------------------------- */

START_TEST(key_file_skips_comments_blanks_and_trims)
{
	static const char text[] = "# gradguard keys\n\n   \n"
				   "  " KEY_A "  \r\n"
				   "\t# another comment\n"
				   KEY_B;    /* no final newline */
	struct auth *a = NULL;
	char err[256] = "", tenant[AUTH_TENANT_LEN], want[AUTH_TENANT_LEN];

	ck_assert_int_eq(auth_parse(text, strlen(text), "keys", &a, err,
				    sizeof(err)), 0);
	ck_assert_uint_eq(auth_count(a), 2);
	ck_assert_int_eq(auth_check(a, "Bearer " KEY_A, tenant), AUTH_OK);
	auth_tenant_of(KEY_A, strlen(KEY_A), want);
	ck_assert_str_eq(tenant, want);
	ck_assert_int_eq(auth_check(a, "Bearer " KEY_B, tenant), AUTH_OK);
	auth_tenant_of(KEY_B, strlen(KEY_B), want);
	ck_assert_str_eq(tenant, want);
	/* a comment line is not a key */
	ck_assert_int_eq(auth_check(a, "Bearer # gradguard keys", tenant),
			 AUTH_INVALID);
	auth_free(a);
}
END_TEST

static const struct {
	const char *text;
	const char *want;    /* in the message */
} bad_files[] = {
	{"# only a comment\n\n", "no API keys"},
	{"", "no API keys"},
	{KEY_A "\nshort-key-123\n", "line 2: an API key must have 16"},
	{"\n\nkey with blanks inside!\n", "line 3: an API key must be printable"},
	{"key-\x01" "aaaaaaaaaaaaaaaaa\n", "line 1: an API key must be printable"},
};

START_TEST(bad_key_files_are_refused_without_echoing_keys)
{
	struct auth *a = (struct auth *)&a;   /* must be reset to NULL */
	char err[256] = "";

	ck_assert_int_eq(auth_parse(bad_files[_i].text,
				    strlen(bad_files[_i].text), "keys.txt", &a,
				    err, sizeof(err)), -1);
	ck_assert_ptr_null(a);
	ck_assert_msg(strstr(err, bad_files[_i].want), "message: %s", err);
	ck_assert_msg(!strstr(err, "short-key") && !strstr(err, "blanks "
		      "inside") && !strstr(err, KEY_A), "leaks: %s", err);
}
END_TEST

START_TEST(key_file_is_read_from_disk_and_missing_file_is_an_error)
{
	char path[] = "/tmp/gg-auth-XXXXXX", err[512] = "";
	char tenant[AUTH_TENANT_LEN];
	struct auth *a = NULL;
	FILE *f;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs("# test\n" KEY_A "\n", f);
	fclose(f);
	ck_assert_int_eq(auth_load(path, &a, err, sizeof(err)), 0);
	ck_assert_uint_eq(auth_count(a), 1);
	ck_assert_int_eq(auth_check(a, "Bearer " KEY_A, tenant), AUTH_OK);
	auth_free(a);
	unlink(path);
	ck_assert_int_eq(auth_load(path, &a, err, sizeof(err)), -1);
	ck_assert_ptr_null(a);
	ck_assert_msg(strstr(err, path) && strstr(err, "No such file"),
		      "message: %s", err);
}
END_TEST

/* ---- Authorization header ------------------------------------------------ */

static const struct {
	const char *header;
	enum auth_result want;
} headers[] = {
	{NULL, AUTH_MISSING},
	{"", AUTH_MISSING},
	{"Basic a2V5OnNlY3JldA==", AUTH_MISSING},
	{"Bearer", AUTH_MISSING},
	{"Bearerkey-aaaaaaaaaaaaaaaa", AUTH_MISSING},
	{"Bearer ", AUTH_INVALID},
	{"Bearer key-aaaaaaaaaaaaaaa", AUTH_INVALID},     /* a prefix */
	{"Bearer key-aaaaaaaaaaaaaaaaa", AUTH_INVALID},   /* one more */
	{"Bearer KEY-AAAAAAAAAAAAAAAA", AUTH_INVALID},    /* keys are exact */
	{"Bearer key-aaaaaaaaaaaaaaab", AUTH_INVALID},
	{"Bearer " KEY_A, AUTH_OK},
	{"bearer " KEY_A, AUTH_OK},                       /* scheme: any case */
	{"BEARER \t " KEY_A "  ", AUTH_OK},
};

START_TEST(bearer_header_is_checked_exactly)
{
	static const char text[] = KEY_A "\n" KEY_B "\n";
	char tenant[AUTH_TENANT_LEN] = "unchanged";
	struct auth *a = NULL;
	char err[256];

	ck_assert_int_eq(auth_parse(text, strlen(text), "k", &a, err,
				    sizeof(err)), 0);
	ck_assert_msg(auth_check(a, headers[_i].header, tenant) ==
		      headers[_i].want, "header '%s'",
		      headers[_i].header ? headers[_i].header : "(none)");
	if (headers[_i].want != AUTH_OK)
		ck_assert_str_eq(tenant, "unchanged");
	auth_free(a);
}
END_TEST

/* ---- tenants ------------------------------------------------------------- */

START_TEST(tenant_is_stable_distinct_and_not_the_key)
{
	char t1[AUTH_TENANT_LEN], t2[AUTH_TENANT_LEN], t3[AUTH_TENANT_LEN];
	unsigned char d[32];
	char dhex[65];

	auth_tenant_of(KEY_A, strlen(KEY_A), t1);
	auth_tenant_of(KEY_A, strlen(KEY_A), t2);
	auth_tenant_of(KEY_B, strlen(KEY_B), t3);
	ck_assert_str_eq(t1, t2);
	ck_assert_str_ne(t1, t3);
	ck_assert_uint_eq(strlen(t1), AUTH_TENANT_LEN - 1);
	ck_assert_uint_eq(strspn(t1, "0123456789abcdef"), strlen(t1));
	/* SHA-256("gradguard-tenant:" KEY_A), from Python's hashlib */
	ck_assert_str_eq(t1, "19d49cad6a782555");
	/* not the digest auth_check compares */
	auth_sha256(KEY_A, strlen(KEY_A), d);
	hex(d, 8, dhex);
	ck_assert_str_ne(t1, dhex);
}
END_TEST

/* ---- timing ------------------------------------------------------------ */

static double check_ns(const struct auth *a, const char *header)
{
	char tenant[AUTH_TENANT_LEN];
	double best = 1e30;

	/* the minimum of many runs: robust to preemption */
	for (int run = 0; run < 30; run++) {
		struct timespec t0, t1;
		double ns;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int k = 0; k < 5; k++)
			(void)auth_check(a, header, tenant);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 +
		     (double)(t1.tv_nsec - t0.tv_nsec);
		if (ns < best)
			best = ns;
	}
	return best;
}

/* With 4096 keys, a check that stopped at the first match would be
 * thousands of times faster for the first key than for a wrong one. */
START_TEST(check_time_does_not_depend_on_which_key_matches)
{
	enum { N = AUTH_KEYS_MAX };
	const size_t line = 24;
	char *text = malloc(N * line + 1), err[256];
	char first[32], last[32], wrong[32];
	struct auth *a = NULL;
	double t_first, t_last, t_wrong, lo, hi;

	ck_assert_ptr_nonnull(text);
	for (int i = 0; i < N; i++)
		snprintf(text + (size_t)i * line, line + 1,
			 "key-%019d\n", i);
	ck_assert_int_eq(auth_parse(text, N * line, "k", &a, err,
				    sizeof(err)), 0);
	ck_assert_uint_eq(auth_count(a), N);
	snprintf(first, sizeof(first), "Bearer key-%019d", 0);
	snprintf(last, sizeof(last), "Bearer key-%019d", N - 1);
	snprintf(wrong, sizeof(wrong), "Bearer key-%019d", N);
	ck_assert_int_eq(auth_check(a, first, err), AUTH_OK);
	ck_assert_int_eq(auth_check(a, last, err), AUTH_OK);
	ck_assert_int_eq(auth_check(a, wrong, err), AUTH_INVALID);
	t_first = check_ns(a, first);
	t_last = check_ns(a, last);
	t_wrong = check_ns(a, wrong);
	lo = t_first < t_last ? t_first : t_last;
	lo = lo < t_wrong ? lo : t_wrong;
	hi = t_first > t_last ? t_first : t_last;
	hi = hi > t_wrong ? hi : t_wrong;
	ck_assert_msg(hi < 4 * lo, "first %.0f ns, last %.0f ns, wrong %.0f "
		      "ns", t_first, t_last, t_wrong);
	auth_free(a);
	free(text);
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("sha256");

	tcase_add_loop_test(tc, sha256_matches_the_reference_vectors, 0,
			    (int)(sizeof(sha_cases) / sizeof(sha_cases[0])));
	tcase_add_test(tc, digest_equal_sees_every_byte);
	suite_add_tcase(s, tc);
	tc = tcase_create("keys");
	tcase_add_test(tc, key_file_skips_comments_blanks_and_trims);
	tcase_add_loop_test(tc, bad_key_files_are_refused_without_echoing_keys,
			    0, (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tc,
		key_file_is_read_from_disk_and_missing_file_is_an_error);
	tcase_add_loop_test(tc, bearer_header_is_checked_exactly, 0,
			    (int)(sizeof(headers) / sizeof(headers[0])));
	tcase_add_test(tc, tenant_is_stable_distinct_and_not_the_key);
	suite_add_tcase(s, tc);
	tc = tcase_create("timing");
	tcase_add_test(tc, check_time_does_not_depend_on_which_key_matches);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(auth_suite());
}
