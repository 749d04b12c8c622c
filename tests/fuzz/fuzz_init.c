/* Fuzzes POST /init: bytes -> json_parse -> handle_init with small limits.
 * On success the parameters must have the shapes layer_dims asks for (W<l>
 * n_l x n_(l-1) numbers, b<l> n_l x 1 zeros), one "layers" entry per
 * layer, the seed echoed, and a seeded request must give the same
 * parameters when repeated. */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

#define MAX_LAYERS 64

static void check_matrix(const cJSON *params, const char *name, int rows,
			 int cols, int zeros)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(params, name);
	const cJSON *row, *cell;
	int r = 0, c;

	if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != rows)
		fuzz_fail("init: %s is not an array of %d rows", name, rows);
	cJSON_ArrayForEach(row, m) {
		if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != cols)
			fuzz_fail("init: %s row %d is not %d long", name, r,
				  cols);
		c = 0;
		cJSON_ArrayForEach(cell, row) {
			if (!cJSON_IsNumber(cell) ||
			    (zeros && cell->valuedouble != 0))
				fuzz_fail("init: %s[%d][%d] is %s", name, r, c,
					  cJSON_IsNumber(cell) ? "not 0" :
					  "not a number");
			c++;
		}
		r++;
	}
}

static void check_success(const cJSON *body, const cJSON *out)
{
	const cJSON *dims = cJSON_GetObjectItemCaseSensitive(body, "layer_dims");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(out, "parameters");
	const cJSON *it;
	int d[MAX_LAYERS + 1], n = 0, l;
	char name[32];
	double seed;

	if (!cJSON_IsArray(dims))
		fuzz_fail("init: success without layer_dims");
	cJSON_ArrayForEach(it, dims) {
		if (n > MAX_LAYERS)
			fuzz_fail("init: more than %d layers accepted",
				  MAX_LAYERS);
		if (!cJSON_IsNumber(it) || it->valuedouble < 1 ||
		    it->valuedouble > (double)fuzz_limits()->max_layer_width)
			fuzz_fail("init: layer_dims entry %d accepted", n);
		d[n++] = (int)it->valuedouble;
	}
	if (n < 2)
		fuzz_fail("init: layer_dims of %d accepted", n);
	if (!cJSON_IsObject(params) || cJSON_GetArraySize(params) != 2 * (n - 1))
		fuzz_fail("init: parameters has not 2 * %d members", n - 1);
	for (l = 1; l < n; l++) {
		snprintf(name, sizeof(name), "W%d", l);
		check_matrix(params, name, d[l], d[l - 1], 0);
		snprintf(name, sizeof(name), "b%d", l);
		check_matrix(params, name, d[l], 1, 1);
	}
	if (fuzz_array_len(out, "layers") != n - 1)
		fuzz_fail("init: layers has %d entries for %d layers",
			  fuzz_array_len(out, "layers"), n - 1);
	seed = fuzz_number(body, "seed", -1);
	if (seed >= 0 && fuzz_number(out, "seed", -2) != seed)
		fuzz_fail("init: seed %.17g echoed as %.17g", seed,
			  fuzz_number(out, "seed", -2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *body, *out, *again;
	unsigned st, st2;

	body = fuzz_parse_request(data, size);
	if (!body)
		return 0;
	out = fuzz_call(handle_init, NULL, body, &st);
	if (out) {
		check_success(body, out);
		if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(body,
								    "seed"))) {
			again = fuzz_call(handle_init, NULL, body, &st2);
			if (again && !cJSON_Compare(
				    cJSON_GetObjectItemCaseSensitive(out,
								     "parameters"),
				    cJSON_GetObjectItemCaseSensitive(again,
								     "parameters"),
				    1))
				fuzz_fail("init: same seed, other parameters");
			cJSON_Delete(again);
		}
	}
	cJSON_Delete(out);
	cJSON_Delete(body);
	return 0;
}
