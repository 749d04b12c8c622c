/* Small helpers shared by all handlers; see handler.h. */
#include "handler.h"

#include <time.h>

void hres_init(struct hres *res, size_t max_response)
{
	res->status = 200;
	buf_init(&res->body, max_response);
	problem_init(&res->problem);
	res->content_type = NULL;
	res->location[0] = '\0';
	res->headers = NULL;
}

void hres_free(struct hres *res)
{
	buf_free(&res->body);
}

void hres_body_failed(struct hres *res)
{
	if (res->body.nomem)
		problem_set(&res->problem, PROB_OUT_OF_MEMORY,
			    "out of memory writing the response");
	else
		problem_set(&res->problem, PROB_TOO_LARGE,
			    "the response exceeds the limit max_response = %zu bytes",
			    res->body.max);
}

uint64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool hctx_expired(const struct hctx *ctx)
{
	return ctx->deadline_ns && clock_now_ns() >= ctx->deadline_ns;
}
