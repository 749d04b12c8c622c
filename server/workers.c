/* Bounded job queue served by a thread pool; see workers.h. */
#include "workers.h"

#include "core/alloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

struct job {
	workers_fn *fn;
	void *arg;
};

struct workers {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *ring;       /* queue_max slots */
	size_t cap, head, len;
	size_t busy;            /* jobs running */
	bool stopping;
	pthread_t *threads;
	unsigned n_threads;     /* started */
	int nice;               /* added to each thread's nice value */
};

static void *workers_loop(void *arg)
{
	struct workers *w = arg;

	/* Linux: a thread's own nice value (best effort: a lower priority
	 * never fails for an unprivileged process, but a container may say
	 * no, and the pool works the same either way) */
	if (w->nice)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(),
				  getpriority(PRIO_PROCESS, (id_t)gettid()) +
				  w->nice);
	for (;;) {
		struct job j;

		pthread_mutex_lock(&w->lock);
		while (w->len == 0 && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->len == 0) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		j = w->ring[w->head];
		w->head = (w->head + 1) % w->cap;
		w->len--;
		w->busy++;
		pthread_mutex_unlock(&w->lock);
		j.fn(j.arg);
		pthread_mutex_lock(&w->lock);
		w->busy--;
		pthread_mutex_unlock(&w->lock);
	}
}

int workers_start(unsigned n, size_t queue_max, struct workers **out)
{
	return workers_start_niced(n, queue_max, 0, out);
}

int workers_start_niced(unsigned n, size_t queue_max, int nice,
			struct workers **out)
{
	struct workers *w = NULL;

	*out = NULL;
	if (n == 0 || queue_max == 0)
		return -1;
	w = gg_calloc(1, sizeof(*w));
	if (!w)
		return -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->cap = queue_max;
	w->nice = nice;
	w->ring = gg_calloc(queue_max, sizeof(*w->ring));
	w->threads = gg_calloc(n, sizeof(*w->threads));
	if (!w->ring || !w->threads)
		goto fail;
	for (; w->n_threads < n; w->n_threads++)
		if (pthread_create(&w->threads[w->n_threads], NULL,
				   workers_loop, w))
			goto fail;
	*out = w;
	return 0;
fail:
	workers_stop(w);
	return -1;
}

int workers_submit(struct workers *w, workers_fn *fn, void *arg)
{
	int rc = -1;

	pthread_mutex_lock(&w->lock);
	if (!w->stopping && w->len < w->cap) {
		w->ring[(w->head + w->len) % w->cap] = (struct job){fn, arg};
		w->len++;
		pthread_cond_signal(&w->wake);
		rc = 0;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

size_t workers_pending(struct workers *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->len;
	pthread_mutex_unlock(&w->lock);
	return n;
}

size_t workers_busy(struct workers *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->busy;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void workers_stop(struct workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->n_threads; i++)
		pthread_join(w->threads[i], NULL);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	gg_free(w->threads);
	gg_free(w->ring);
	gg_free(w);
}
