/* The service's route table (data; see router.h for matching). */
#ifndef GRADGUARD_ROUTES_H
#define GRADGUARD_ROUTES_H

#include <stddef.h>

#include "router.h"

/* The table and its length; static storage. */
const struct route *routes_table(size_t *n);

#endif
