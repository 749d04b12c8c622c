/* Fuzzes POST /normalize: bytes -> json_parse -> handle_normalize against a
 * memory: store where sessions "a" (1 feature) and "b" (2 features) are
 * reset before every input, so transforms have something to use and runs
 * stay deterministic; sessions the input creates are deleted afterwards. */
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

/* mean, var, scale each n_features long; var >= 0, scale > 0. */
static void check_stats(const cJSON *out)
{
	static const char *const fields[] = {"mean", "var", "scale"};
	const cJSON *arr, *it;
	double nf = fuzz_number(out, "n_features", -1);
	size_t f;

	if (nf < 1 || nf > fuzz_limits()->max_features)
		fuzz_fail("normalize: n_features %g", nf);
	for (f = 0; f < 3; f++) {
		arr = cJSON_GetObjectItemCaseSensitive(out, fields[f]);
		if (fuzz_array_len(out, fields[f]) != (int)nf)
			fuzz_fail("normalize: %s has %d entries, n_features %g",
				  fields[f], fuzz_array_len(out, fields[f]), nf);
		cJSON_ArrayForEach(it, arr) {
			if (cJSON_IsNull(it))
				continue;  /* a feature without any value */
			if (!cJSON_IsNumber(it))
				fuzz_fail("normalize: %s holds a non-number",
					  fields[f]);
			if ((f == 1 && !(it->valuedouble >= 0)) ||
			    (f == 2 && !(it->valuedouble > 0)))
				fuzz_fail("normalize: %s entry %g", fields[f],
					  it->valuedouble);
		}
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
		sess = cJSON_GetObjectItemCaseSensitive(out, "session");
		if (!cJSON_IsString(sess))
			fuzz_fail("normalize: no session in the response");
		if (strcmp(sess->valuestring, "a") != 0 &&
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
