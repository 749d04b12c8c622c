/* Test support: assertions shared by the handler and HTTP suites that
 * compare a response with reference numbers, exactly. Each fails the
 * running Check test with the first difference. */
#ifndef GRADGUARD_TEST_EXPECT_H
#define GRADGUARD_TEST_EXPECT_H

#include <stddef.h>

#include <cJSON.h>

/* Matrices a and b (JSON arrays of rows) have the same shape and every
 * entry of a is a number equal (==) to b's; what names the matrix. */
void expect_same_matrix(const cJSON *a, const cJSON *b, const char *what);

/* The rows x cols matrix after "\"<key>\":[" in the JSON text equals want
 * (row-major) exactly, read with strtod: no cJSON tree, since 2M numbers
 * would cost hundreds of MB under ASan. */
void expect_text_matrix(const char *text, const char *key, const double *want,
			size_t rows, size_t cols);

#endif
