/* Small helpers shared by all handlers; see handler.h. */
#include "handler.h"

#include <limits.h>
#include <string.h>
#include <time.h>

/* Hard cap of a streamed response's window: a step appends at most a row
 * of max_layer_width numbers (~400 KiB), so this is never reached. */
#define HPUMP_WINDOW_MAX (16u * 1024u * 1024u)

void hres_init(struct hres *res, size_t max_response)
{
	res->status = 200;
	res->format = JW_JSON;
	memset(&res->stream, 0, sizeof(res->stream));
	buf_init(&res->body, max_response);
	problem_init(&res->problem);
	res->content_type = NULL;
	res->location[0] = '\0';
	res->headers = NULL;
}

static void hstream_free(struct hstream *s)
{
	if (s->step && s->free)
		s->free(s->state);
	memset(s, 0, sizeof(*s));
}

void hres_free(struct hres *res)
{
	buf_free(&res->body);
	hstream_free(&res->stream);
}

int hres_drain(struct hres *res)
{
	int rc = 1;

	while (res->stream.step && rc > 0)
		rc = res->stream.step(res->stream.state, &res->body);
	hstream_free(&res->stream);
	if (rc < 0 || res->body.failed) {
		if (!problem_is_set(&res->problem))
			hres_body_failed(res);
		buf_free(&res->body);
		return -1;
	}
	return 0;
}

int hres_stream(struct hres *res, const struct hstream *s, size_t estimate)
{
	hstream_free(&res->stream);
	res->stream = *s;
	if (estimate <= HRES_STREAM_MIN)
		return hres_drain(res);
	return 0;
}

void hpump_init(struct hpump *p, struct hres *res)
{
	p->s = res->stream;
	memset(&res->stream, 0, sizeof(res->stream));
	buf_init(&p->win, HPUMP_WINDOW_MAX);
	p->pos = 0;
	p->done = false;
	p->sent = 0;
}

long hpump_read(struct hpump *p, char *out, size_t max)
{
	size_t n;
	int rc;

	if (!p->done && p->win.len - p->pos < max && p->pos > 0) {
		/* keep the unread tail at the front: the window stays ~ one step */
		memmove(p->win.data, p->win.data + p->pos, p->win.len - p->pos);
		p->win.len -= p->pos;
		p->pos = 0;
	}
	while (!p->done && p->win.len - p->pos < max) {
		rc = p->s.step(p->s.state, &p->win);
		if (rc < 0 || p->win.failed)
			return -1;
		p->done = rc == 0;
	}
	n = p->win.len - p->pos;
	if (n == 0)
		return 0;
	if (n > max)
		n = max;
	if (n > (size_t)LONG_MAX)
		n = (size_t)LONG_MAX;
	memcpy(out, p->win.data + p->pos, n);
	p->pos += n;
	p->sent += n;
	return (long)n;
}

void hpump_free(struct hpump *p)
{
	hstream_free(&p->s);
	buf_free(&p->win);
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
