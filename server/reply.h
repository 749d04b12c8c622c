/* Turns a struct problem into RFC 9457 problem+json text. */
#ifndef GRADGUARD_REPLY_H
#define GRADGUARD_REPLY_H

#include "handlers/buf.h"
#include "handlers/problem.h"

#define REPLY_PROBLEM_TYPE "application/problem+json"

/* Appends {"type","title","status","detail","instance","errors":[{pointer,
 * detail}]} to b; instance is the request id (NULL: left out). Errors
 * dropped past PROBLEM_MAX_ERRORS are counted in "errors_dropped". Check
 * b->failed afterwards. */
void reply_problem(struct buf *b, const struct problem *p,
		   const char *instance);

#endif
