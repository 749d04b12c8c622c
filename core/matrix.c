/* Dense matrix kernels; see matrix.h. */
#include "matrix.h"

void mat_transpose(const double *a, size_t rows, size_t cols, double *out)
{
	/* blocked so that both sides stay in cache for large matrices */
	const size_t bs = 32;

	for (size_t i0 = 0; i0 < rows; i0 += bs)
		for (size_t j0 = 0; j0 < cols; j0 += bs)
			for (size_t i = i0; i < rows && i < i0 + bs; i++)
				for (size_t j = j0; j < cols && j < j0 + bs; j++)
					out[j * rows + i] = a[i * cols + j];
}
