/* Fuzzes POST /gradcheck: bytes -> json_parse -> handle_gradcheck with
 * small limits (parameters, evaluations, a 2 s deadline). On success: a
 * verdict of the four tiers, relative errors in [0, 1] (a triangle
 * inequality), evaluations and n_parameters within the limits. The oracle source is fuzzed up to its URL check: the
 * allow-list is "none", so no input makes an HTTP call. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *body, *out;
	unsigned st;

	body = fuzz_parse_request(data, size);
	if (!body)
		return 0;
	out = fuzz_call(handle_gradcheck, NULL, body, &st);
	if (out)
		fuzz_check_gradcheck(out);
	cJSON_Delete(out);
	cJSON_Delete(body);
	return 0;
}
