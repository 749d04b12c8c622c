/* The oracle allow-list (handlers/oracle.c) without sockets: parsing,
 * CIDR matching, IPv4-mapped addresses, names, and the guarded ranges
 * (link-local, metadata) that a broad network does not open. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/oracle.h"
#include "tests/lib/suite_run.h"

static struct oracle_allow a;

static void parse_ok(const char *list)
{
	char err[256] = "";

	ck_assert_msg(oracle_allow_parse(list, &a, err, sizeof(err)) == 0, "%s: %s",
		      list ? list : "(default)", err);
}

START_TEST(allow_default_is_loopback_only)
{
	parse_ok(NULL);
	ck_assert(oracle_allow_ip(&a, "127.0.0.1"));
	ck_assert(oracle_allow_ip(&a, "127.255.0.9"));
	ck_assert(oracle_allow_ip(&a, "::1"));
	ck_assert(oracle_allow_ip(&a, "::ffff:127.0.0.1"));   /* mapped */
	ck_assert(!oracle_allow_ip(&a, "128.0.0.1"));
	ck_assert(!oracle_allow_ip(&a, "10.0.0.1"));
	ck_assert(!oracle_allow_ip(&a, "169.254.169.254"));
	ck_assert(!oracle_allow_ip(&a, "::2"));
	ck_assert(oracle_allow_host(&a, "localhost"));
	ck_assert(oracle_allow_host(&a, "LocalHost"));
	ck_assert(oracle_allow_host(&a, "[::1]"));
	ck_assert(oracle_allow_host(&a, "127.0.0.1"));
	ck_assert(!oracle_allow_host(&a, "localhost.example"));
	ck_assert(!oracle_allow_host(&a, "example.com"));
	ck_assert(!oracle_allow_ip(&a, "localhost"));          /* not an address */
}
END_TEST

START_TEST(allow_cidrs_match_by_prefix)
{
	parse_ok(" 10.1.2.0/24 , fd00:1::/32,oracle.lan ");
	ck_assert(oracle_allow_ip(&a, "10.1.2.0"));
	ck_assert(oracle_allow_ip(&a, "10.1.2.255"));
	ck_assert(!oracle_allow_ip(&a, "10.1.3.0"));
	ck_assert(oracle_allow_ip(&a, "fd00:1:ffff::5"));
	ck_assert(!oracle_allow_ip(&a, "fd00:2::5"));
	ck_assert(!oracle_allow_ip(&a, "127.0.0.1"));
	ck_assert(oracle_allow_host(&a, "oracle.lan"));
	ck_assert(!oracle_allow_host(&a, "localhost"));
	parse_ok("10.0.0.0/9");
	ck_assert(oracle_allow_ip(&a, "10.127.255.255"));
	ck_assert(!oracle_allow_ip(&a, "10.128.0.0"));
}
END_TEST

START_TEST(allow_broad_networks_do_not_open_guarded_ranges)
{
	parse_ok("0.0.0.0/0,::/0");
	ck_assert(oracle_allow_ip(&a, "8.8.8.8"));
	ck_assert(oracle_allow_ip(&a, "2001:db8::1"));
	ck_assert(!oracle_allow_ip(&a, "169.254.169.254"));
	ck_assert(!oracle_allow_ip(&a, "169.254.0.1"));
	ck_assert(!oracle_allow_ip(&a, "::ffff:169.254.169.254"));
	ck_assert(!oracle_allow_ip(&a, "100.100.100.200"));
	ck_assert(!oracle_allow_ip(&a, "fe80::1"));
	ck_assert(!oracle_allow_ip(&a, "fd00:ec2::254"));
	ck_assert(!oracle_allow_ip(&a, "64:ff9b::a9fe:a9fe"));
	ck_assert(!oracle_allow_ip(&a, "0.0.0.0"));
	ck_assert(!oracle_allow_ip(&a, "::"));
	ck_assert(!oracle_allow_ip(&a, "224.0.0.1"));
	ck_assert(!oracle_allow_ip(&a, "255.255.255.255"));
	/* listed explicitly: allowed */
	parse_ok("169.254.169.254,fe80::/64");
	ck_assert(oracle_allow_ip(&a, "169.254.169.254"));
	ck_assert(!oracle_allow_ip(&a, "169.254.169.253"));
	ck_assert(oracle_allow_ip(&a, "fe80::1"));
}
END_TEST

START_TEST(allow_refuses_bad_entries_and_none_allows_nothing)
{
	static const char *const bad[] = {
		"", ",", "127.0.0.1,", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x",
		"host name", "a_b", "-lead", "1.2.3", "999.1.1.1", "http://x", "[::1",
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(oracle_allow_parse(bad[i], &a, err, sizeof(err)) < 0,
			      "accepted '%s'", bad[i]);
	ck_assert_ptr_nonnull(strstr(err, "[::1"));
	parse_ok("none");
	ck_assert(!oracle_allow_ip(&a, "127.0.0.1"));
	ck_assert(!oracle_allow_host(&a, "localhost"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("oracle allow-list");
	TCase *tc = tcase_create("allow");

	tcase_add_test(tc, allow_default_is_loopback_only);
	tcase_add_test(tc, allow_cidrs_match_by_prefix);
	tcase_add_test(tc, allow_broad_networks_do_not_open_guarded_ranges);
	tcase_add_test(tc, allow_refuses_bad_entries_and_none_allows_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(suite());
}
