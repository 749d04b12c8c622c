/* A request body of any accepted media type as the one representation the
 * handlers read: a cJSON tree of fields, big numeric arrays as block nodes
 * (json.h). JSON bodies are parsed as they are; .npy and .npz bodies
 * (npy.h) become the tree their JSON twin would give, scalar fields taken
 * from the query string and nested objects from a request.json member or
 * a URL-encoded JSON query parameter of the same name. */
#ifndef GRADGUARD_REQUEST_H
#define GRADGUARD_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "limits.h"
#include "problem.h"

enum request_media { REQUEST_JSON, REQUEST_NPY, REQUEST_NPZ };

/* One query-string parameter, URL-decoded; value NULL for "?key". */
struct request_param {
	const char *key, *value;
};

/* Places .npz members named W1, b1 under /parameters and dW1, db1 under
 * /gradients (the /gradcheck model fields), gradient and numeric_gradient
 * under /vector when the request is a vector check. */
#define REQUEST_MODEL_FIELDS 1u

/* The media type of a Content-Type header value (parameters after ';'
 * ignored, case-insensitive); -1 when it is none of the three. */
int request_media_of(const char *content_type);

/* Builds the request tree of body[0..len) (free with cJSON_Delete). The
 * query (n params) is read for binary bodies only. Members and query
 * fields that name the same field twice are 422 with the field's pointer;
 * malformed bodies 400. Returns 0 or -1 with p filled. */
int request_parse(enum request_media media, const char *body, size_t len,
		  const struct request_param *query, size_t n, unsigned flags,
		  const struct limits *lim, cJSON **out, struct problem *p);

#endif
