/* Content negotiation of a success response's media type from the Accept
 * header (RFC 9110 §12.5.1): q-values and wildcard ranges. */
#ifndef GRADGUARD_ACCEPT_H
#define GRADGUARD_ACCEPT_H

#include <stdbool.h>

#include "handlers/json.h"

/* Media types a route can answer with, besides application/json. */
#define ACCEPT_NPZ 1u  /* application/x-npz */
#define ACCEPT_NPY 2u  /* application/x-npy */

/* The media type of a format ("application/json", ...). */
const char *accept_media_type(enum jw_format f);

/* Picks the format for an Accept header value (NULL or blank: JSON) among
 * JSON and the `offered` ones: the highest q wins, then the more specific
 * range, then JSON before npz before npy. Returns 0 and *out, or -1 when
 * every offered type has q = 0 (406). */
int accept_negotiate(const char *accept, unsigned offered,
		     enum jw_format *out);

#endif
