/* Fuzzes the .npz reader and the request builder: bytes -> request_parse
 * as an application/x-npz body (with the /gradcheck model fields), small
 * limits. A refusal is a well-formed 4xx or an out-of-memory 503; a tree is
 * an object, and /normalize, /init and /gradcheck called on it keep the
 * response invariants (fuzz_call). */
#include <string.h>

#include "fuzz.h"
#include "handlers/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct request_param q[] = { { "op", "fit_transform" } };
	struct problem p;
	cJSON *tree = NULL, *out;
	unsigned status, st;
	handler_fn *const fns[] = { handle_normalize, handle_init,
				    handle_gradcheck };
	size_t k;

	problem_init(&p);
	if (request_parse(REQUEST_NPZ, (const char *)data, size, q, 1,
			  REQUEST_MODEL_FIELDS, fuzz_limits(), &tree, &p)) {
		st = problem_status(p.kind);
		if (tree || (st != 400 && st != 413 && st != 422 && st != 503) ||
		    !p.detail[0])
			fuzz_fail("request_parse(npz): status %u, tree %p", st,
				  (void *)tree);
		return 0;
	}
	if (!cJSON_IsObject(tree))
		fuzz_fail("request_parse(npz): not an object");
	for (k = 0; k < 3; k++) {
		out = fuzz_call(fns[k], NULL, tree, &status);
		cJSON_Delete(out);
	}
	cJSON_Delete(tree);
	return 0;
}
