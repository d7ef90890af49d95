/*
 * workpool - blocking calls on worker threads, completions on the loop
 * (see workpool.h)
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/workpool.h"

struct workpool_job {
	workpool_fn run, done;
	void *arg;
	struct workpool_job *next;
};

/* a FIFO of jobs */
struct workpool_list {
	struct workpool_job *head, *tail;
};

struct workpool {
	struct event_base *base;
	struct event *ev; /* the eventfd: completions are waiting */
	int efd;
	pthread_mutex_t lock;
	pthread_cond_t work; /* todo has jobs, or stopping */
	struct workpool_list todo, finished;
	bool stopping;
	size_t pending; /* loop thread only */
	unsigned nthreads;
	pthread_t threads[WORKPOOL_MAX_THREADS];
};

static void workpool_push(struct workpool_list *l, struct workpool_job *j)
{
	j->next = NULL;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct workpool_job *workpool_pop(struct workpool_list *l)
{
	struct workpool_job *j = l->head;

	if (j != NULL) {
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return j;
}

static void *workpool_thread(void *arg)
{
	struct workpool *wp = arg;
	struct workpool_job *j;
	uint64_t one = 1;

	pthread_mutex_lock(&wp->lock);
	for (;;) {
		while (wp->todo.head == NULL && !wp->stopping)
			pthread_cond_wait(&wp->work, &wp->lock);
		j = workpool_pop(&wp->todo);
		if (j == NULL) /* stopping, and nothing left to do */
			break;
		pthread_mutex_unlock(&wp->lock);
		j->run(j->arg);
		pthread_mutex_lock(&wp->lock);
		workpool_push(&wp->finished, j);
		/* an eventfd write only fails when the counter would overflow */
		(void)!write(wp->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&wp->lock);
	return NULL;
}

/* workpool_complete - call done() of every finished job (loop thread) */
static void workpool_complete(struct workpool *wp)
{
	struct workpool_list l;
	struct workpool_job *j;

	pthread_mutex_lock(&wp->lock);
	l = wp->finished;
	wp->finished.head = wp->finished.tail = NULL;
	pthread_mutex_unlock(&wp->lock);
	while ((j = workpool_pop(&l)) != NULL) {
		wp->pending--;
		if (j->done != NULL)
			j->done(j->arg);
		free(j);
	}
}

static void workpool_wakeup(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	(void)!read(fd, &n, sizeof(n));
	workpool_complete(arg);
}

struct workpool *workpool_new(struct event_base *base, unsigned nthreads, struct sx_err *err)
{
	struct workpool *wp;
	unsigned i;

	if (base == NULL || nthreads == 0 || nthreads > WORKPOOL_MAX_THREADS) {
		sx_err_set(err, "workpool: 1 to %d threads", WORKPOOL_MAX_THREADS);
		return NULL;
	}
	wp = calloc(1, sizeof(*wp));
	if (wp == NULL) {
		sx_err_set(err, "workpool: out of memory");
		return NULL;
	}
	wp->base = base;
	wp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wp->efd < 0) {
		sx_err_set(err, "workpool: eventfd: %s", strerror(errno));
		free(wp);
		return NULL;
	}
	pthread_mutex_init(&wp->lock, NULL);
	pthread_cond_init(&wp->work, NULL);
	wp->ev = event_new(base, wp->efd, EV_READ | EV_PERSIST, workpool_wakeup, wp);
	if (wp->ev == NULL || event_add(wp->ev, NULL) < 0) {
		sx_err_set(err, "workpool: cannot watch the eventfd");
		return workpool_free(wp);
	}
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&wp->threads[i], NULL, workpool_thread, wp) != 0) {
			sx_err_set(err, "workpool: cannot start a thread");
			return workpool_free(wp);
		}
		wp->nthreads++;
	}
	return wp;
}

int workpool_submit(struct workpool *wp, workpool_fn run, workpool_fn done, void *arg)
{
	struct workpool_job *j;

	if (wp == NULL || run == NULL || (j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->run = run;
	j->done = done;
	j->arg = arg;
	wp->pending++;
	pthread_mutex_lock(&wp->lock);
	workpool_push(&wp->todo, j);
	pthread_cond_signal(&wp->work);
	pthread_mutex_unlock(&wp->lock);
	return 0;
}

size_t workpool_pending(const struct workpool *wp)
{
	return wp != NULL ? wp->pending : 0;
}

struct workpool *workpool_free(struct workpool *wp)
{
	unsigned i;

	if (wp == NULL)
		return NULL;
	pthread_mutex_lock(&wp->lock);
	wp->stopping = true;
	pthread_cond_broadcast(&wp->work);
	pthread_mutex_unlock(&wp->lock);
	for (i = 0; i < wp->nthreads; i++)
		pthread_join(wp->threads[i], NULL);
	/* every job has run: the completions are owed (a done() may free
	 * what its job was about) */
	workpool_complete(wp);
	if (wp->ev != NULL)
		event_free(wp->ev);
	close(wp->efd);
	pthread_cond_destroy(&wp->work);
	pthread_mutex_destroy(&wp->lock);
	free(wp);
	return NULL;
}
