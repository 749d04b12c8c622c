/* server/accept: the response media type from an Accept header (RFC 9110
 * §12.5.1): q-values, wildcards, specificity, 406 when nothing offered is
 * acceptable. */
#include <check.h>
#include <stdio.h>

#include "server/accept.h"
#include "tests/lib/suite_run.h"

#define ALL (ACCEPT_NPZ | ACCEPT_NPY)

static const struct {
	const char *accept;
	unsigned offered;
	int want;  /* enum jw_format, or -1 for 406 */
} cases[] = {
	{ NULL, ALL, JW_JSON },
	{ "", ALL, JW_JSON },
	{ "  ", ALL, JW_JSON },
	{ "application/json", ALL, JW_JSON },
	{ "*/*", ALL, JW_JSON },
	{ "application/*", ALL, JW_JSON },
	{ "APPLICATION/X-NPZ", ALL, JW_NPZ },
	{ "application/x-npz", 0, -1 },
	{ "application/x-npy", ACCEPT_NPZ, -1 },
	{ "application/x-npy", ALL, JW_NPY },
	{ "application/x-npz, application/json", ALL, JW_JSON }, /* tie */
	{ "application/x-npz;q=0.5, application/json", ALL, JW_JSON },
	{ "application/x-npz ; q=0.9 , application/json;q=0.8", ALL, JW_NPZ },
	{ "application/x-npz;q=1.0, */*;q=0.1", ALL, JW_NPZ },
	{ "application/x-npz, */*;q=0.1", 0, JW_JSON },
	{ "application/json;q=0, */*", ALL, JW_NPZ },
	{ "application/json;q=0", 0, -1 },
	{ "text/html", ALL, -1 },
	{ "text/*, application/problem+json", ALL, -1 },
	{ "*/*;q=0", ALL, -1 },
	{ "application/x-npz;q=bogus, application/json", ALL, JW_JSON },
	{ "application/x-npz;q=2", ALL, -1 },
	{ "application/x-npy;q=0.001, application/x-npz;q=0.0009", ALL, JW_NPY },
	{ "application/json; charset=utf-8", ALL, JW_JSON },
	{ ",,application/x-npz,,", ALL, JW_NPZ },
};

START_TEST(accept_cases)
{
	enum jw_format f = JW_NPY;
	int rc = accept_negotiate(cases[_i].accept, cases[_i].offered, &f);

	if (cases[_i].want < 0)
		ck_assert_msg(rc == -1, "Accept: %s -> %d, want 406",
			      cases[_i].accept, (int)f);
	else
		ck_assert_msg(rc == 0 && (int)f == cases[_i].want,
			      "Accept: %s -> rc %d format %d, want %d",
			      cases[_i].accept ? cases[_i].accept : "(none)",
			      rc, (int)f, cases[_i].want);
}
END_TEST

static Suite *accept_suite(void)
{
	Suite *s = suite_create("accept");
	TCase *t = tcase_create("negotiate");

	tcase_add_loop_test(t, accept_cases, 0,
			    (int)(sizeof(cases) / sizeof(*cases)));
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return suite_run(accept_suite());
}
