/* Fuzzes POST /gradcheck: bytes -> json_parse -> handle_gradcheck with
 * small limits (parameters, evaluations, a 2 s deadline). On success: a
 * verdict of the four tiers, relative errors in [0, 1] (a triangle
 * inequality), evaluations within max_evaluations, n_checked <=
 * n_parameters. (The oracle source makes HTTP calls; it is refused while
 * not implemented, and the fuzz limits keep its work small if it comes.) */
#include <string.h>

#include "fuzz.h"

static void check_verdict(const cJSON *obj, const char *where)
{
	static const char *const tiers[] = {"pass", "warn", "suspect", "fail"};
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "verdict");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(obj,
							  "relative_error");
	size_t i;

	if (!cJSON_IsString(v))
		fuzz_fail("gradcheck: %s has no verdict", where);
	for (i = 0; i < 4 && strcmp(v->valuestring, tiers[i]) != 0; i++)
		;
	if (i == 4)
		fuzz_fail("gradcheck: %s verdict \"%s\"", where, v->valuestring);
	if (cJSON_IsNumber(e) &&
	    !(e->valuedouble >= 0 && e->valuedouble <= 1 + 1e-12))
		fuzz_fail("gradcheck: %s relative_error %.17g", where,
			  e->valuedouble);
}

static void check_success(const cJSON *out)
{
	const cJSON *blocks = cJSON_GetObjectItemCaseSensitive(out, "blocks");
	const cJSON *b;
	double evals = fuzz_number(out, "evaluations", -1);
	double np = fuzz_number(out, "n_parameters", -1);
	double nc = fuzz_number(out, "n_checked", -1);

	check_verdict(out, "the response");
	if (evals < 0 || evals > (double)fuzz_limits()->max_evaluations)
		fuzz_fail("gradcheck: evaluations %g (max %zu)", evals,
			  fuzz_limits()->max_evaluations);
	if (np < 0 || np > (double)fuzz_limits()->max_parameters)
		fuzz_fail("gradcheck: n_parameters %g (max %zu)", np,
			  fuzz_limits()->max_parameters);
	if (nc < 0)
		fuzz_fail("gradcheck: n_checked %g", nc);
	cJSON_ArrayForEach(b, blocks)
		check_verdict(b, "a block");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *body, *out;
	unsigned st;

	body = fuzz_parse_request(data, size);
	if (!body)
		return 0;
	out = fuzz_call(handle_gradcheck, NULL, body, &st);
	if (out)
		check_success(out);
	cJSON_Delete(out);
	cJSON_Delete(body);
	return 0;
}
