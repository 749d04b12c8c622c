/* Test support: exact comparisons of responses with reference numbers; see
 * expect.h. */
#include "expect.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void expect_same_matrix(const cJSON *a, const cJSON *b, const char *what)
{
	const cJSON *ra, *rb = b ? b->child : NULL, *xa, *xb;
	size_t n = 0;

	ck_assert_int_eq(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
	cJSON_ArrayForEach(ra, a) {
		ck_assert_int_eq(cJSON_GetArraySize(ra), cJSON_GetArraySize(rb));
		xb = rb->child;
		cJSON_ArrayForEach(xa, ra) {
			ck_assert_msg(cJSON_IsNumber(xa) && xa->valuedouble == xb->valuedouble,
				      "%s entry %zu: %.17g != %.17g", what, n,
				      xa->valuedouble, xb->valuedouble);
			xb = xb->next;
			n++;
		}
		rb = rb->next;
	}
}

void expect_text_matrix(const char *text, const char *key, const double *want,
			size_t rows, size_t cols)
{
	char pat[32], why[160] = "";
	const char *q;
	char *end;

	/* one assertion at the end: each ck_assert is a write to Check's pipe */
	snprintf(pat, sizeof pat, "\"%s\":[", key);
	q = strstr(text, pat);
	ck_assert_msg(q != NULL, "no %s in the response", key);
	q += strlen(pat);
	for (size_t i = 0; i < rows && !why[0]; i++) {
		if (*q++ != '[') {
			snprintf(why, sizeof why, "row %zu does not start with [", i);
			break;
		}
		for (size_t j = 0; j < cols; j++) {
			double v = strtod(q, &end);

			if (end == q || v != want[i * cols + j] ||
			    *end != (j + 1 < cols ? ',' : ']')) {
				snprintf(why, sizeof why, "[%zu][%zu] reads %.17g, want %.17g",
					 i, j, v, want[i * cols + j]);
				break;
			}
			q = end + 1;
		}
		if (!why[0] && *q++ != (i + 1 < rows ? ',' : ']'))
			snprintf(why, sizeof why, "row %zu is not followed by , or ]", i);
	}
	ck_assert_msg(!why[0], "%s: %s", key, why);
}
