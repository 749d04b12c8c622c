/* .npy and .npz request bodies over HTTP against the real daemon: the
 * Content-Type, the query string (scalar and URL-encoded JSON fields) and
 * the body reach the handlers as their JSON twin would (same response
 * bytes), and malformed or unsupported bodies are problems. */
#include <check.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/fixture.h"
#include "tests/lib/harness.h"
#include "tests/lib/http_util.h"
#include "tests/lib/suite_run.h"

static char *read_fixture(const char *name, size_t *len)
{
	char *data = fixture_read(name, len);

	ck_assert_msg(data != NULL, "cannot read fixture %s", name);
	return data;
}

static void post(const struct gg_server *s, const char *path, const char *ct,
		 const char *body, size_t len, long want, struct gg_response *r)
{
	ck_assert_int_eq(gg_request(s, "POST", path, ct, body, len, NULL, r), 0);
	ck_assert_msg(r->status == want, "%s: %ld, want %ld: %s", path,
		      r->status, want, r->body);
}

/* normalize_f8.npy holds the matrix of http_transform_twin.json. */
START_TEST(npy_body_with_query_answers_like_its_json_twin)
{
	static const char *const media[] = {
		"application/x-npy", "application/x-npy; charset=binary",
		" Application/X-NPY",
	};
	struct gg_server s;
	struct gg_response fit, js, bin;
	char *npy, *json;
	size_t len, jlen, k;

	json = read_fixture("npy/http_transform_twin.json", &jlen);
	npy = read_fixture("npy/normalize_f8.npy", &len);
	http_start(&s, NULL);
	post(&s, "/normalize?op=fit&session=twin", "application/x-npy", npy, len,
	     200, &fit);
	gg_response_free(&fit);
	post(&s, "/normalize?ignored=1", "application/json", json, jlen, 200,
	     &js);
	for (k = 0; k < 3; k++) {
		post(&s, "/normalize?op=transform&session=twin", media[k], npy,
		     len, 200, &bin);
		ck_assert_str_eq(bin.content_type, "application/json");
		ck_assert_uint_eq(bin.body_len, js.body_len);
		ck_assert(!memcmp(bin.body, js.body, js.body_len));
		gg_response_free(&bin);
	}
	gg_response_free(&js);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	free(npy);
	free(json);
}
END_TEST

START_TEST(npz_with_url_encoded_json_query_answers_like_its_json_twin)
{
	static const char twin[] = "{\"layer_dims\":[5,4,1],\"method\":\"xavier\","
		"\"seed\":7,\"diagnose\":{\"activation\":\"tanh\",\"batch\":16}}";
	struct gg_server s;
	struct gg_response js, bin;
	char *npz;
	size_t len;

	npz = read_fixture("npy/init_request_json.npz", &len);
	http_start(&s, NULL);
	post(&s, "/init", "application/json", twin, strlen(twin), 200, &js);
	/* the fixture's request.json holds layer_dims and diagnose */
	post(&s, "/init?method=xavier&seed=7", "application/x-npz", npz, len,
	     200, &bin);
	ck_assert_uint_eq(bin.body_len, js.body_len);
	ck_assert(!memcmp(bin.body, js.body, js.body_len));
	gg_response_free(&bin);
	post(&s, "/init?layer_dims=%5B5%2C4%2C1%5D&method=xavier&seed=7&diagnose="
	     "%7B%22activation%22%3A%22tanh%22%2C%22batch%22%3A16%7D",
	     "application/x-npz", "", 0, 200, &bin);
	ck_assert_uint_eq(bin.body_len, js.body_len);
	ck_assert(!memcmp(bin.body, js.body, js.body_len));
	gg_response_free(&bin);
	gg_response_free(&js);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	free(npz);
}
END_TEST

START_TEST(bad_binary_bodies_are_problems)
{
	struct gg_server s;
	struct gg_response r;
	cJSON *j;
	char *npz, q[4096];
	size_t len, k, n = 0;

	npz = read_fixture("npy/normalize_npz_stored.npz", &len);
	http_start(&s, NULL);
	post(&s, "/normalize?op=fit", "application/x-npz", npz, len - 1, 400, &r);
	ck_assert_str_eq(r.content_type, "application/problem+json");
	j = gg_response_json(&r);
	ck_assert_str_eq(cJSON_GetObjectItem(j, "type")->valuestring,
			 "/problems/malformed-body");
	cJSON_Delete(j);
	gg_response_free(&r);
	post(&s, "/normalize?op=fit", "application/x-numpy", npz, len, 415, &r);
	ck_assert_msg(strstr(r.body, "application/x-npz") != NULL, "%s", r.body);
	gg_response_free(&r);
	post(&s, "/normalize?op=fit&session=a%2Fb", "application/x-npz", npz,
	     len, 422, &r);
	ck_assert_msg(strstr(r.body, "\"/session\"") != NULL, "%s", r.body);
	gg_response_free(&r);
	n = (size_t)snprintf(q, sizeof(q), "/normalize?op=fit");
	for (k = 0; k < 70; k++)
		n += (size_t)snprintf(q + n, sizeof(q) - n, "&p%zu=1", k);
	post(&s, q, "application/x-npz", npz, len, 413, &r);
	gg_response_free(&r);
	ck_assert_int_eq(gg_server_stop(&s), 0);
	free(npz);
}
END_TEST

static Suite *npy_http_suite(void)
{
	Suite *s = suite_create("npy_http");
	TCase *tc = tcase_create("bodies");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, npy_body_with_query_answers_like_its_json_twin);
	tcase_add_test(tc, npz_with_url_encoded_json_query_answers_like_its_json_twin);
	tcase_add_test(tc, bad_binary_bodies_are_problems);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return suite_run(npy_http_suite());
}
