/* The worker pool: every accepted job runs exactly once, a full queue
 * refuses at once, stop drains what was queued. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "server/workers.h"

static atomic_int ran;

static void count_job(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ran, 1);
}

/* A job that blocks until the gate opens, to keep workers busy. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
	int entered;
};

static void gate_job(void *arg)
{
	struct gate *g = arg;

	pthread_mutex_lock(&g->lock);
	g->entered++;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	atomic_fetch_add(&ran, 1);
}

static void gate_wait_entered(struct gate *g, int n)
{
	pthread_mutex_lock(&g->lock);
	while (g->entered < n)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

START_TEST(every_accepted_job_runs_once)
{
	struct workers *w;
	int accepted = 0;

	atomic_store(&ran, 0);
	ck_assert_int_eq(workers_start(4, 1000, &w), 0);
	for (int i = 0; i < 5000; i++)
		accepted += workers_submit(w, count_job, NULL) == 0;
	workers_stop(w);
	ck_assert_int_ge(accepted, 1000);
	ck_assert_int_eq(atomic_load(&ran), accepted);
}
END_TEST

START_TEST(full_queue_refuses_at_once_and_stop_drains_it)
{
	struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			 false, 0};
	struct workers *w;

	atomic_store(&ran, 0);
	ck_assert_int_eq(workers_start(2, 3, &w), 0);
	ck_assert_int_eq(workers_submit(w, gate_job, &g), 0);
	ck_assert_int_eq(workers_submit(w, gate_job, &g), 0);
	gate_wait_entered(&g, 2);            /* both workers are busy */
	ck_assert_uint_eq(workers_pending(w), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(workers_submit(w, count_job, NULL), 0);
	ck_assert_uint_eq(workers_pending(w), 3);
	ck_assert_int_eq(workers_submit(w, count_job, NULL), -1);
	ck_assert_int_eq(atomic_load(&ran), 0);
	gate_open(&g);
	workers_stop(w);                     /* runs the 3 queued jobs */
	ck_assert_int_eq(atomic_load(&ran), 5);
}
END_TEST

START_TEST(start_refuses_zero_threads_or_queue_and_stop_takes_null)
{
	struct workers *w = (struct workers *)&w;

	ck_assert_int_eq(workers_start(0, 4, &w), -1);
	ck_assert_ptr_null(w);
	ck_assert_int_eq(workers_start(1, 0, &w), -1);
	workers_stop(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("workers");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, every_accepted_job_runs_once);
	tcase_add_test(tc, full_queue_refuses_at_once_and_stop_drains_it);
	tcase_add_test(tc, start_refuses_zero_threads_or_queue_and_stop_takes_null);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
