/* Fuzzes POST /normalize: bytes -> json_parse -> handle_normalize against a
 * memory: store where sessions "a" (1 feature) and "b" (2 features) are
 * reset before every input, so transforms have something to use and runs
 * stay deterministic; sessions the input creates are deleted afterwards.
 * Checks: mean/var/scale have n_features finite entries (null only for a
 * feature without values; var >= 0, scale > 0);
 * output data has the input's shape with nulls exactly where it had them. */
#include <math.h>
#include <string.h>

#include "fuzz.h"

static void reset(const char *id, const char *stats)
{
	cJSON *body = fuzz_literal(stats), *out;
	unsigned st;

	out = fuzz_call(handle_session_put, id, body, &st);
	if (st != 200 && st != 201)
		fuzz_fail("resetting session %s: status %u", id, st);
	cJSON_Delete(out);
	cJSON_Delete(body);
}

/* mean, var, scale each n_features long, numbers (var >= 0, scale > 0);
 * null only for a feature whose per-feature count is 0. */
static void check_stats(const cJSON *out)
{
	static const char *const fields[] = {"mean", "var", "scale"};
	const cJSON *arr, *it, *counts, *cnt;
	double nf = fuzz_number(out, "n_features", -1);
	size_t f, j;

	if (nf < 1 || nf > fuzz_limits()->max_features)
		fuzz_fail("normalize: n_features %g", nf);
	counts = cJSON_GetObjectItemCaseSensitive(out, "n_samples_seen");
	for (f = 0; f < 3; f++) {
		arr = cJSON_GetObjectItemCaseSensitive(out, fields[f]);
		if (fuzz_array_len(out, fields[f]) != (int)nf)
			fuzz_fail("normalize: %s has %d entries, n_features %g",
				  fields[f], fuzz_array_len(out, fields[f]), nf);
		cnt = cJSON_IsArray(counts) ? counts->child : NULL;
		j = 0;
		cJSON_ArrayForEach(it, arr) {
			if (cJSON_IsNull(it) && !(cnt && cJSON_IsNumber(cnt) &&
						  cnt->valuedouble == 0))
				fuzz_fail("normalize: %s[%zu] is null (not "
					  "finite?) with samples seen",
					  fields[f], j);
			if (!cJSON_IsNull(it) && !cJSON_IsNumber(it))
				fuzz_fail("normalize: %s holds a non-number",
					  fields[f]);
			if (cJSON_IsNumber(it) &&
			    ((f == 1 && !(it->valuedouble >= 0)) ||
			     (f == 2 && !(it->valuedouble > 0))))
				fuzz_fail("normalize: %s entry %g", fields[f],
					  it->valuedouble);
			cnt = cnt ? cnt->next : NULL;
			j++;
		}
	}
}

/* A transform's output "data" has the request's shape, and a cell is null
 * exactly where the request's is (missing: ignore keeps nulls). */
static void check_data(const cJSON *body, const cJSON *out)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "data");
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(out, "data");
	const cJSON *r1, *r2, *c1, *c2;

	if (!res)
		return;
	if (!cJSON_IsArray(in) || !cJSON_IsArray(res) ||
	    cJSON_GetArraySize(in) != cJSON_GetArraySize(res))
		fuzz_fail("normalize: output data has %d rows, input %d",
			  cJSON_GetArraySize(res), cJSON_GetArraySize(in));
	for (r1 = in->child, r2 = res->child; r1 && r2;
	     r1 = r1->next, r2 = r2->next) {
		if (!cJSON_IsArray(r1) || !cJSON_IsArray(r2) ||
		    cJSON_GetArraySize(r1) != cJSON_GetArraySize(r2))
			fuzz_fail("normalize: output row shape differs");
		for (c1 = r1->child, c2 = r2->child; c1 && c2;
		     c1 = c1->next, c2 = c2->next)
			if (cJSON_IsNull(c1) != cJSON_IsNull(c2) ||
			    (!cJSON_IsNull(c2) && !cJSON_IsNumber(c2)))
				fuzz_fail("normalize: output cell is %s where "
					  "the input is %s",
					  cJSON_IsNull(c2) ? "null" : "a value",
					  cJSON_IsNull(c1) ? "null" : "a value");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *body, *out, *gone;
	const cJSON *sess;
	unsigned st;

	reset("a", "{\"n_samples_seen\": 3, \"mean\": [2], \"var\": [0.5]}");
	reset("b", "{\"n_samples_seen\": [4, 3], \"mean\": [0, -1], "
		   "\"var\": [1, 0]}");
	body = fuzz_parse_request(data, size);
	if (!body)
		return 0;
	out = fuzz_call(handle_normalize, NULL, body, &st);
	if (out) {
		if (st != 200)
			fuzz_fail("normalize: success status %u", st);
		check_stats(out);
		check_data(body, out);
		sess = cJSON_GetObjectItemCaseSensitive(out, "session");
		/* null: a stateless fit_transform, which stored nothing */
		if (cJSON_IsNull(sess) &&
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "session")) &&
		    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "op")) &&
		    !strcmp(cJSON_GetObjectItemCaseSensitive(body, "op")
				    ->valuestring, "fit_transform"))
			sess = NULL;
		else if (!cJSON_IsString(sess))
			fuzz_fail("normalize: no session in the response");
		if (sess && strcmp(sess->valuestring, "a") != 0 &&
		    strcmp(sess->valuestring, "b") != 0) {
			gone = fuzz_call(handle_session_delete,
					 sess->valuestring, NULL, &st);
			if (st != 204 || gone)
				fuzz_fail("normalize: deleting session %s: %u",
					  sess->valuestring, st);
		}
	}
	cJSON_Delete(out);
	cJSON_Delete(body);
	return 0;
}
