/* schemas/openapi.json embedded at build time (the Makefile generates the
 * definition into $(BUILD)/gen/openapi.c; "{}" until the file exists). */
#ifndef GRADGUARD_OPENAPI_H
#define GRADGUARD_OPENAPI_H

#include <stddef.h>

extern const unsigned char openapi_json[];  /* NUL-terminated */
extern const size_t openapi_json_len;  /* without the NUL */

#endif
