/* PLACEHOLDER: replaced by the gradcheck implementation. */
#include "handler.h"

void handle_gradcheck(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	(void)ctx;
	(void)body;
	problem_set(&res->problem, PROB_INTERNAL, "not implemented yet");
}
