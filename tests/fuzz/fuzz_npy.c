/* Fuzzes the .npy reader: bytes -> npy_read with small limits. A refusal
 * must be a well-formed 4xx naming /data; an array must be a block (or a
 * number for 0-D, an empty array for no elements) within the limits, and
 * the getters on it must agree with its shape. The same bytes as a
 * /normalize body (query op=fit_transform, missing=ignore) through
 * request_parse and handle_normalize must keep the response invariants. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "handlers/npy.h"
#include "handlers/request.h"

static void check_refusal(const struct problem *p)
{
	unsigned st = problem_status(p->kind);

	if (st != 400 && st != 413 && st != 422 && st != 503)
		fuzz_fail("npy_read: status %u", st);
	if (!p->detail[0])
		fuzz_fail("npy_read: no detail");
	if (st != 503 && (p->n_errors == 0 ||
			  strncmp(p->errors[0].pointer, "/data", 5)))
		fuzz_fail("npy_read: problem without the /data pointer");
}

static void check_array(const cJSON *node)
{
	const struct json_block *b = json_block_of(node);
	const struct limits *lim = fuzz_limits();
	struct json_matrix m;
	struct problem p;
	int rc;

	if (cJSON_IsNumber(node))
		return;
	if (!b) {
		if (!cJSON_IsArray(node) || node->child)
			fuzz_fail("npy_read: neither a block nor an empty array");
		return;
	}
	if (!b->binary || !b->rows || !b->cols || (b->ndim != 1 && b->ndim != 2) ||
	    (b->ndim == 1 && b->cols != 1) ||
	    b->rows > lim->max_elements / b->cols)
		fuzz_fail("npy_read: block %zu x %zu ndim %u", b->rows, b->cols,
			  b->ndim);
	problem_init(&p);
	memset(&m, 0, sizeof(m));
	rc = json_as_matrix(node, "/data", JSON_ALLOW_NULL | JSON_FLAT_COLUMN,
			    lim->max_elements, &m, &p);
	if (rc == 1 && (m.rows != b->rows || m.cols != b->cols ||
			memcmp(m.v, b->v, m.rows * m.cols * sizeof(double))))
		fuzz_fail("json_as_matrix on a block: %zu x %zu", m.rows, m.cols);
	if (rc != 1 && !problem_is_set(&p))
		fuzz_fail("json_as_matrix: %d without a problem", rc);
	free(m.v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct request_param q[] = {
		{ "op", "fit_transform" }, { "missing", "ignore" },
	};
	struct problem p;
	cJSON *node = NULL, *tree = NULL, *out;
	unsigned status;

	problem_init(&p);
	if (npy_read(data, size, "/data", fuzz_limits()->max_elements, &node,
		     &p)) {
		if (node)
			fuzz_fail("npy_read: failure with a node");
		check_refusal(&p);
	} else {
		check_array(node);
		cJSON_Delete(node);
	}
	problem_init(&p);
	if (request_parse(REQUEST_NPY, (const char *)data, size, q, 2, 0,
			  fuzz_limits(), &tree, &p) == 0) {
		out = fuzz_call(handle_normalize, NULL, tree, &status);
		cJSON_Delete(out);
		cJSON_Delete(tree);
	}
	return 0;
}
