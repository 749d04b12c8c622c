/* A fixed pool of compute threads fed by a bounded FIFO queue: the HTTP
 * polling threads hand heavy work here and never block on it. When the
 * queue is full, submission fails at once (the caller answers 429). */
#ifndef GRADGUARD_WORKERS_H
#define GRADGUARD_WORKERS_H

#include <stddef.h>

struct workers;

typedef void workers_fn(void *arg);

/* Starts n threads with room for queue_max jobs waiting. Returns 0 and
 * *out, or -1 (out of memory, thread creation failed). */
int workers_start(unsigned n, size_t queue_max, struct workers **out);
/* The same with each thread's nice value raised by nice (>= 0): CPU-bound
 * pools yield the cores to the polling threads and the light pool when
 * both want them. */
int workers_start_niced(unsigned n, size_t queue_max, int nice,
			struct workers **out);
/* Queues fn(arg). Returns 0, or -1 when the queue is full or the pool is
 * stopping (fn is then not called and arg stays the caller's). */
int workers_submit(struct workers *w, workers_fn *fn, void *arg);
/* Jobs waiting (not yet picked up by a thread). */
size_t workers_pending(struct workers *w);
/* Jobs running on a thread now. */
size_t workers_busy(struct workers *w);
/* Runs every queued job, joins the threads and frees the pool. NULL ok. */
void workers_stop(struct workers *w);

#endif
