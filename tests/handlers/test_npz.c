/* Binary answers (Accept: application/x-npz / x-npy) without sockets: each
 * endpoint runs twice on the same request, once for JSON and once for the
 * binary format; tests/handlers/check_npz.py reads the binary one with
 * numpy's np.load and checks it holds the JSON answer's bits (every array
 * a member, the rest in response.json). Streamed answers are read through
 * the same pump the server uses, in small pieces. */
#include <check.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handlers/handler.h"
#include "handlers/limits.h"
#include "handlers/store.h"
#include "tests/lib/suite_run.h"

static char dir[] = "/tmp/gg_npz_XXXXXX";

static struct limits lim;

/* fn on json with the default limits, answering in format f; res is for
 * the caller to hres_free. */
static void call(handler_fn *fn, struct store *st, const char *json,
		 enum jw_format f, struct hres *res)
{
	struct hctx ctx;
	cJSON *body = cJSON_ParseWithLength(json, strlen(json));

	ck_assert_ptr_nonnull(body);
	limits_default(&lim);
	memset(&ctx, 0, sizeof(ctx));
	ctx.limits = &lim;
	ctx.store = st;
	ctx.tenant = "";
	hres_init(res, lim.max_response);
	res->format = f;
	fn(&ctx, body, res);
	cJSON_Delete(body);
}

/* Runs fn on json with format f; the answer's bytes land in path. A
 * streamed answer is read 1000 bytes at a time. */
static void run(handler_fn *fn, struct store *st, const char *json,
		enum jw_format f, const char *path)
{
	struct hres res;
	FILE *out = fopen(path, "wb");
	char piece[1000];
	long n;

	ck_assert_ptr_nonnull(out);
	call(fn, st, json, f, &res);
	ck_assert_msg(!problem_is_set(&res.problem), "%s: %s", json,
		      res.problem.detail);
	if (res.stream.step) {
		struct hpump pump;

		ck_assert_uint_eq(res.body.len, 0);
		hpump_init(&pump, &res);
		while ((n = hpump_read(&pump, piece, sizeof(piece))) > 0)
			ck_assert(fwrite(piece, 1, (size_t)n, out) == (size_t)n);
		ck_assert_int_eq(n, 0);
		hpump_free(&pump);
	} else {
		ck_assert(fwrite(res.body.data, 1, res.body.len, out) ==
			  res.body.len);
	}
	ck_assert_int_eq(fclose(out), 0);
	hres_free(&res);
}

/* check_npz.py on the two answers; members is a space-separated list. */
static void check(const char *json_path, const char *bin_path,
		  const char *members)
{
	char cmd[1024];
	int rc;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 tests/handlers/check_npz.py"
		 " %s %s %s", json_path, bin_path, members);
	rc = system(cmd);
	ck_assert_msg(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
		      "%s failed", cmd);
}

static void twins(handler_fn *fn, struct store *st, const char *json,
		  const char *members, const char *tag)
{
	char jp[256], zp[256];

	snprintf(jp, sizeof(jp), "%s/%s.json", dir, tag);
	snprintf(zp, sizeof(zp), "%s/%s.npz", dir, tag);
	run(fn, st, json, JW_JSON, jp);
	run(fn, st, json, JW_NPZ, zp);
	check(jp, zp, members);
}

static const struct {
	const char *tag, *body, *members;
} inits[] = {
	{ "init_diag", "{\"layer_dims\":[4,3,2],\"seed\":3,"
	  "\"diagnose\":{\"activation\":\"tanh\",\"batch\":8}}",
	  "W1 b1 W2 b2 activation_std gradient_norm" },
	/* 3.6 MB as npz, 10 MB as JSON: both streamed */
	{ "init_big", "{\"layer_dims\":[600,500,300],\"seed\":7,"
	  "\"distribution\":\"truncated_normal\"}", "W1 b1 W2 b2" },
	{ "init_orth", "{\"layer_dims\":[5,3,4],\"method\":\"orthogonal\","
	  "\"seed\":2}", "W1 b1 W2 b2" },
	{ "init_fast", "{\"layer_dims\":[2,1],\"rng\":\"fast\",\"seed\":9}",
	  "W1 b1" },
};

START_TEST(init_npz_holds_the_json_answer)
{
	twins(handle_init, NULL, inits[_i].body, inits[_i].members,
	      inits[_i].tag);
}
END_TEST

START_TEST(normalize_npz_and_npy_hold_the_json_answer)
{
	static const char ft[] =
		"{\"op\":\"fit_transform\",\"session\":\"s1\","
		"\"layout\":\"samples_in_columns\",\"missing\":\"ignore\","
		"\"report\":true,\"data\":[[1,2,null,4],[2,0,1,5],[7,1,1,2]]}";
	static const char fit[] = "{\"op\":\"fit\",\"session\":\"s2\","
				  "\"data\":[[1,2],[3,5],[0.1,0.7]]}";
	struct store *st = NULL;
	char err[256], jp[256], yp[256];

	ck_assert_msg(store_open("memory:", 0, &st, err, sizeof(err)) == 0,
		      "%s", err);
	twins(handle_normalize, st, ft, "data mean var scale", "norm_ft");
	twins(handle_normalize, st, fit, "mean var scale", "norm_fit");
	snprintf(jp, sizeof(jp), "%s/norm_ft.json", dir);
	snprintf(yp, sizeof(yp), "%s/norm_ft.npy", dir);
	run(handle_normalize, st, ft, JW_NPY, yp);
	check(jp, yp, "");
	store_close(st);
}
END_TEST

START_TEST(gradcheck_npz_holds_the_json_answer)
{
	static const char gc[] =
		"{\"model\": {\"layer_dims\": [2, 3, 1], \"activations\": "
		"[\"relu\", \"sigmoid\"], \"loss\": \"binary_cross_entropy\"}, "
		"\"X\": [[0.1, 0.2], [0.3, -0.1]], \"Y\": [[1], [0]], "
		"\"parameters\": {\"W1\": [[0.1, 0.2], [-0.3, 0.4], [0.5, 0.6]], "
		"\"b1\": [[0], [0.1], [0]], \"W2\": [[0.2, -0.1, 0.3]], "
		"\"b2\": [[0]]}, \"return_gradients\": true}";

	twins(handle_gradcheck, NULL, gc, "dW1 db1 dW2 db2", "gradcheck");
}
END_TEST

/* A normalize op without a data array cannot be answered as one .npy. */
START_TEST(npy_without_data_is_406)
{
	static const char fit[] = "{\"op\":\"fit\",\"session\":\"s3\","
				  "\"data\":[[1,2],[3,5]]}";
	struct store *st = NULL;
	struct hres res;
	char err[256];

	ck_assert_msg(store_open("memory:", 0, &st, err, sizeof(err)) == 0,
		      "%s", err);
	call(handle_normalize, st, fit, JW_NPY, &res);
	ck_assert_uint_eq(problem_status(res.problem.kind), 406);
	ck_assert_uint_eq(res.body.len, 0);
	hres_free(&res);
	store_close(st);
}
END_TEST

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static Suite *npz_suite(void)
{
	Suite *s = suite_create("npz");
	TCase *t = tcase_create("twins");

	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, init_npz_holds_the_json_answer, 0,
			    (int)(sizeof(inits) / sizeof(*inits)));
	tcase_add_test(t, normalize_npz_and_npy_hold_the_json_answer);
	tcase_add_test(t, gradcheck_npz_holds_the_json_answer);
	tcase_add_test(t, npy_without_data_is_406);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	int rc;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	rc = suite_run(npz_suite());
	cleanup();
	return rc;
}
