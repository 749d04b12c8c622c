/* Slow-client guard: connection registry and housekeeping thread; see
 * guard.h. */
#include "guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "core/alloc.h"
#include "handlers/handler.h"

/* How often the housekeeping thread looks (at most): a laggard is cut at
 * most this long after its limit. */
#define GUARD_TICK_MS 200u

enum phase { PH_HEADERS, PH_BODY, PH_BUSY, PH_CUT };

struct guard_conn {
	struct guard_conn *prev, *next;
	int fd;
	enum phase phase;
	uint64_t since;       /* ns: the phase began */
	uint64_t body;        /* body bytes of the current request */
};

struct guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;  /* stop */
	bool stopping;
	struct guard_conn list;   /* sentinel of a circular list */
	uint64_t header_ns, grace_ns, min_rate;
	uint64_t cut_headers, cut_bodies;
	pthread_t thread;
	bool started;
};

/* Whether c is over a limit at now (lock held). */
static bool lagging(const struct guard *g, const struct guard_conn *c,
		    uint64_t now)
{
	uint64_t t = now - c->since;

	if (c->phase == PH_HEADERS)
		return g->header_ns && t > g->header_ns;
	if (c->phase == PH_BODY && g->min_rate && t > g->grace_ns)
		/* body / (t / 1e9) < min_rate, without dividing */
		return (double)c->body * 1e9 < (double)g->min_rate * (double)t;
	return false;
}

static void guard_sweep(struct guard *g)
{
	uint64_t now = clock_now_ns();

	for (struct guard_conn *c = g->list.next; c != &g->list; c = c->next) {
		if (!lagging(g, c, now))
			continue;
		if (c->phase == PH_HEADERS)
			g->cut_headers++;
		else
			g->cut_bodies++;
		c->phase = PH_CUT;
		shutdown(c->fd, SHUT_RDWR);
	}
}

static void *guard_loop(void *arg)
{
	struct guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)GUARD_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&g->wake, &g->lock, &until) ==
		    ETIMEDOUT)
			guard_sweep(g);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int guard_start(uint32_t header_ms, uint64_t min_rate, uint32_t grace_ms,
		struct guard **out)
{
	struct guard *g = gg_calloc(1, sizeof(*g));
	pthread_condattr_t ca;

	*out = NULL;
	if (!g)
		return -1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	g->list.next = g->list.prev = &g->list;
	g->header_ns = (uint64_t)header_ms * 1000000u;
	g->grace_ns = (uint64_t)grace_ms * 1000000u;
	g->min_rate = min_rate;
	if ((g->header_ns || g->min_rate) &&
	    pthread_create(&g->thread, NULL, guard_loop, g) == 0)
		g->started = true;
	else if (g->header_ns || g->min_rate) {
		guard_stop(g);
		return -1;
	}
	*out = g;
	return 0;
}

void guard_stop(struct guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_broadcast(&g->wake);
	pthread_mutex_unlock(&g->lock);
	if (g->started)
		pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	gg_free(g);
}

/* Moves c to phase p now (lock taken here). */
static void enter(struct guard *g, struct guard_conn *c, enum phase p)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->phase != PH_CUT) {
		c->phase = p;
		c->since = clock_now_ns();
		c->body = 0;
	}
	pthread_mutex_unlock(&g->lock);
}

struct guard_conn *guard_open(struct guard *g, int fd)
{
	struct guard_conn *c = gg_calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->phase = PH_HEADERS;
	c->since = clock_now_ns();
	pthread_mutex_lock(&g->lock);
	c->next = g->list.next;
	c->prev = &g->list;
	g->list.next->prev = c;
	g->list.next = c;
	pthread_mutex_unlock(&g->lock);
	return c;
}

void guard_close(struct guard *g, struct guard_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->prev->next = c->next;
	c->next->prev = c->prev;
	pthread_mutex_unlock(&g->lock);
	gg_free(c);
}

void guard_headers_done(struct guard *g, struct guard_conn *c)
{
	enter(g, c, PH_BODY);
}

void guard_body(struct guard *g, struct guard_conn *c, uint64_t n)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->body += n;
	pthread_mutex_unlock(&g->lock);
}

void guard_body_done(struct guard *g, struct guard_conn *c)
{
	enter(g, c, PH_BUSY);
}

void guard_request_done(struct guard *g, struct guard_conn *c)
{
	enter(g, c, PH_HEADERS);
}

void guard_cuts(struct guard *g, uint64_t *headers, uint64_t *bodies)
{
	pthread_mutex_lock(&g->lock);
	*headers = g->cut_headers;
	*bodies = g->cut_bodies;
	pthread_mutex_unlock(&g->lock);
}
