/* Internal to the JSON module: the number reader behind json_read_number,
 * for the parser's block scan. */
#ifndef GRADGUARD_JSON_STRTOD_H
#define GRADGUARD_JSON_STRTOD_H

#include <stddef.h>

/* Reads the RFC 8259 number at s[i..n) into *out (correctly rounded).
 * Returns its length in bytes, 0 when no number starts there, SIZE_MAX
 * when out of memory (a number over 127 bytes long needs a copy). */
size_t json_number_at(const char *s, size_t n, size_t i, double *out);

#endif
