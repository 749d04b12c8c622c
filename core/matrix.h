/* Dense row-major double matrices: the small kernels the numeric core shares.
 * Pure C; callers own all storage. */
#ifndef GRADGUARD_MATRIX_H
#define GRADGUARD_MATRIX_H

#include <stddef.h>

/* out (cols x rows) = a (rows x cols) transposed; out and a must not alias. */
void mat_transpose(const double *a, size_t rows, size_t cols, double *out);

#endif
