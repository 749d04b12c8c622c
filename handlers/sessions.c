/* PLACEHOLDER: replaced by the /sessions implementation. */
#include "handler.h"

#define PLACEHOLDER(fn) \
	void fn(struct hctx *ctx, const cJSON *body, struct hres *res) \
	{ \
		(void)ctx; \
		(void)body; \
		problem_set(&res->problem, PROB_INTERNAL, "not implemented yet"); \
	}
PLACEHOLDER(handle_session_get)
PLACEHOLDER(handle_session_put)
PLACEHOLDER(handle_session_delete)
