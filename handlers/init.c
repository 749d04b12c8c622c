/* PLACEHOLDER: replaced by the init implementation. */
#include "handler.h"

void handle_init(struct hctx *ctx, const cJSON *body, struct hres *res)
{
	(void)ctx;
	(void)body;
	problem_set(&res->problem, PROB_INTERNAL, "not implemented yet");
}
