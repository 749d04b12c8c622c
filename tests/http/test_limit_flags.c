/* Run-time limits on /normalize data: --max-rows and --max-features are
 * enforced with 413 (naming /data) before the matrix is read. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/harness.h"
#include "tests/lib/suite_run.h"

static const struct {
	const char *body;
	long status;
} cases[] = {
	{"{\"op\":\"fit\",\"data\":[[1,2,3],[4,5,6]]}", 200},
	{"{\"op\":\"fit\",\"data\":[[1,2,3],[4,5,6],[7,8,9]]}", 413},
	{"{\"op\":\"fit\",\"data\":[[1,2,3,4],[5,6,7,8]]}", 413},
	{"{\"op\":\"fit\",\"layout\":\"samples_in_columns\","
	 "\"data\":[[1,2,3],[4,5,6]]}", 413},
	{"{\"op\":\"fit\",\"layout\":\"samples_in_columns\","
	 "\"data\":[[1,2],[3,4],[5,6]]}", 200},
};

START_TEST(row_and_feature_limits_come_from_the_flags)
{
	const char *args[] = { "--max-rows", "2", "--max-features", "3",
			       NULL };
	struct gg_server s;
	struct gg_response r;
	cJSON *j;

	ck_assert_int_eq(gg_server_start(&s, args), 0);
	gg_post_json(&s, "/normalize", cases[_i].body, &r);
	ck_assert_msg(r.status == cases[_i].status, "%s: %ld %s",
		      cases[_i].body, r.status, r.body);
	if (r.status == 413) {
		j = gg_response_json(&r);
		ck_assert_ptr_nonnull(j);
		ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "type")
				 ->valuestring, "/problems/limit-exceeded");
		ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
				j, "errors"), 0), "pointer")->valuestring,
			"/data");
		cJSON_Delete(j);
	}
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("limit flags");
	TCase *tc = tcase_create("normalize");

	tcase_add_loop_test(tc, row_and_feature_limits_come_from_the_flags, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(su, tc);
	return suite_run(su);
}
