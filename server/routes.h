/* The service's route table (data; see router.h for matching). */
#ifndef GRADGUARD_ROUTES_H
#define GRADGUARD_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "router.h"

/* The table and its length; static storage. */
const struct route *routes_table(size_t *n);

/* For a ROUTE_LIGHT_SMALL row whose cost its body's size does not tell
 * (/init: a 34-byte body may ask for 8 million weights), a test of the
 * parsed body that is true for cheap work; NULL when size alone decides. */
typedef bool route_light_fn(const cJSON *body);
route_light_fn *routes_light_test(const struct route *row);

#endif
