/* numpy's binary formats as request input: .npy arrays (npy.c) and .npz
 * zips of them (npz.c), read hostile-input safe: every size and shape is
 * checked against the limits before anything is allocated or inflated, the
 * header dict is parsed strictly, zip members are CRC-checked and their
 * inflated sizes bounded (declared vs actual, a ratio cap). An array
 * becomes a block node of json.h, so handlers read it through the same
 * getters as a JSON array. */
#ifndef GRADGUARD_NPY_H
#define GRADGUARD_NPY_H

#include <stddef.h>

#include <cJSON.h>

#include "limits.h"
#include "problem.h"

/* Bytes of an .npy header dict we read (numpy writes ~120). */
#define NPY_MAX_HEADER 4096u

/* Elements one array may hold before a getter applies its own limit: the
 * largest limit of any field (a matrix's max_elements, a parameter vector's
 * max_parameters). */
size_t npy_max_elements(const struct limits *lim);

/* The elements a field's array may hold: max_parameters for the parameter
 * vectors theta, gradient and numeric_gradient, else max_elements. */
size_t npy_field_limit(const char *field, const struct limits *lim);

/* Reads the .npy file data[0..len) (format 1.0, 2.0 or 3.0; dtype <f8,
 * <f4, an integer type, or those big-endian; 0 to 2 dimensions, C or
 * Fortran order) into *out: a block node (json.h) with NaN for NaN cells,
 * an empty array for zero elements. ptr names the field in problems:
 * truncated or malformed files are 400 PROB_MALFORMED_BODY, unsupported
 * dtypes and shapes 422, more than max_elements elements 413 (before
 * anything is allocated). Returns 0, or -1 with p filled. */
int npy_read(const void *data, size_t len, const char *ptr,
	     size_t max_elements, cJSON **out, struct problem *p);

/* Member names longer than this are refused (numpy's are field names). */
#define NPZ_NAME_MAX 128u

/* The field a member name stands for: name without a ".npy" suffix; out
 * holds NPZ_NAME_MAX + 1 bytes. */
void npz_field_name(char *out, const char *name);

/* One member of an .npz, by its name in the zip. */
typedef int npz_member_fn(void *arg, const char *name, const void *data,
			  size_t len, struct problem *p);

/* Walks the zip data[0..len): checks the central directory, sizes, the
 * ratio cap and CRCs, inflates deflated members and calls fn for each
 * member in order (fn returns 0, or -1 to stop). Malformed zips are 400
 * PROB_MALFORMED_BODY with the member's pointer when one is known; sizes
 * over the limits 413. Returns 0 or -1. */
int npz_walk(const void *data, size_t len, const struct limits *lim,
	     npz_member_fn *fn, void *arg, struct problem *p);

#endif
