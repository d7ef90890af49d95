/*
 * test_workpool - jobs run on worker threads, completions on the loop
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include <event2/event.h>

#include "core/workpool.h"

#define NJOBS 200

struct job {
	pthread_t loop;
	bool ran_elsewhere; /* run() was not on the loop thread */
	bool done_on_loop;  /* done() was */
	int ran, completed;
	struct event_base *base;
	int *left;
};

static void job_run(void *arg)
{
	struct job *j = arg;

	j->ran_elsewhere = !pthread_equal(pthread_self(), j->loop);
	j->ran++;
	if (j->ran % 7 == 0)
		usleep(100);
}

static void job_done(void *arg)
{
	struct job *j = arg;

	j->done_on_loop = pthread_equal(pthread_self(), j->loop);
	j->completed++;
	if (--*j->left == 0)
		event_base_loopbreak(j->base);
}

static void test_jobs_complete_on_the_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct workpool *wp = workpool_new(base, 4, NULL);
	static struct job jobs[NJOBS];
	int left = NJOBS, i;

	(void)state;
	assert_non_null(wp);
	for (i = 0; i < NJOBS; i++) {
		jobs[i] = (struct job){ .loop = pthread_self(), .base = base, .left = &left };
		jobs[i].ran = i % 7 == 0 ? 6 : 0; /* some jobs sleep */
		assert_int_equal(workpool_submit(wp, job_run, job_done, &jobs[i]), 0);
	}
	assert_int_equal(workpool_pending(wp), NJOBS);
	/* nothing completes inside submit: done() only from the loop */
	for (i = 0; i < NJOBS; i++)
		assert_int_equal(jobs[i].completed, 0);
	event_base_dispatch(base);
	assert_int_equal(left, 0);
	assert_int_equal(workpool_pending(wp), 0);
	for (i = 0; i < NJOBS; i++) {
		assert_true(jobs[i].ran_elsewhere);
		assert_true(jobs[i].done_on_loop);
		assert_int_equal(jobs[i].completed, 1);
	}
	wp = workpool_free(wp);
	event_base_free(base);
}

static void test_free_finishes_everything(void **state)
{
	struct event_base *base = event_base_new();
	struct workpool *wp = workpool_new(base, 2, NULL);
	static struct job jobs[50];
	int left = 50, i;

	(void)state;
	for (i = 0; i < 50; i++) {
		jobs[i] = (struct job){ .loop = pthread_self(), .base = base, .left = &left };
		assert_int_equal(workpool_submit(wp, job_run, job_done, &jobs[i]), 0);
	}
	/* never dispatched: free owes every run and every done */
	wp = workpool_free(wp);
	assert_null(wp);
	assert_int_equal(left, 0);
	for (i = 0; i < 50; i++) {
		assert_int_equal(jobs[i].ran, 1);
		assert_int_equal(jobs[i].completed, 1);
	}
	event_base_free(base);
}

static void test_bad_arguments(void **state)
{
	struct event_base *base = event_base_new();
	struct sx_err err = { 0 };

	(void)state;
	assert_null(workpool_new(base, 0, &err));
	assert_non_null(strstr(err.msg, "threads"));
	assert_null(workpool_new(base, WORKPOOL_MAX_THREADS + 1, NULL));
	assert_null(workpool_new(NULL, 1, NULL));
	assert_int_equal(workpool_submit(NULL, job_run, NULL, NULL), -1);
	assert_int_equal(workpool_pending(NULL), 0);
	assert_null(workpool_free(NULL));
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_complete_on_the_loop),
		cmocka_unit_test(test_free_finishes_everything),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
