/*
 * stepjob - the asynchronous driver shared by every DNS step engine
 * (see stepjob.h)
 *
 * Each query sent gets a pend record on the job's list, linked only once
 * its lookup exists, so cancelling (stepjob_cancel, arena free, finish)
 * walks nothing that is half made.
 */
#include "core/stepjob.h"

#include <event2/event.h>

#include "core/arena.h"

struct stepjob_pend {
	struct stepjob *job;
	struct dns_query *q; /* NULL once answered or cancelled */
	void *slot;
	struct stepjob_pend *next;
};

struct stepjob {
	struct dns *dns;
	struct arena *a;
	void *engine;
	const struct stepjob_ops *ops;
	struct stepjob_pend *pends; /* every query sent, newest first */
	size_t inflight;
	struct event *deadline;
	struct event *kick; /* the first step, from the loop */
	bool over;          /* finished or cancelled: nothing more may happen */
};

static void stepjob_stop(struct stepjob *job)
{
	struct stepjob_pend *p;

	job->over = true;
	for (p = job->pends; p != NULL; p = p->next)
		if (p->q != NULL) {
			dns_cancel(p->q);
			p->q = NULL;
		}
	job->inflight = 0;
	if (job->deadline != NULL)
		event_free(job->deadline);
	if (job->kick != NULL)
		event_free(job->kick);
	job->deadline = job->kick = NULL;
}

static void stepjob_finish(struct stepjob *job)
{
	stepjob_stop(job);
	job->ops->finished(job->engine); /* may free the arena: job is gone */
}

static bool stepjob_waiting(const struct stepjob *job)
{
	return job->ops->waiting != NULL ? job->ops->waiting(job->engine) : job->inflight > 0;
}

static void stepjob_on_answer(const struct dns_answer *ans, void *arg);

/* stepjob_send - start the lookup for q; -1 when it cannot be sent */
static int stepjob_send(struct stepjob *job, const struct stepjob_query *q)
{
	struct stepjob_pend *p;

	if (q->name == NULL)
		return -1;
	p = arena_alloc(job->a, sizeof(*p));
	if (p == NULL)
		return -1;
	p->job = job;
	p->slot = q->slot;
	p->q = dns_lookup(job->dns, q->name, q->type, stepjob_on_answer, p);
	if (p->q == NULL)
		return -1;
	/* linked only now: the lookup never answers before it returns */
	p->next = job->pends;
	job->pends = p;
	job->inflight++;
	return 0;
}

/* stepjob_advance - step until DNS is needed; send what is not sent yet */
static void stepjob_advance(struct stepjob *job)
{
	const struct stepjob_ops *ops = job->ops;
	size_t i, n, taken;

	for (;;) {
		if (ops->step(job->engine)) {
			stepjob_finish(job);
			return;
		}
		n = ops->queries(job->engine);
		for (i = 0, taken = 0; i < n; i++) {
			struct stepjob_query q = { 0 };

			if (!ops->take(job->engine, i, &q))
				continue;
			taken++;
			if (stepjob_send(job, &q) < 0) {
				/* the engine hears of it as an answer, as for any failure */
				struct dns_answer fail = { .status = DNS_NOMEM,
					                   .qname = q.name,
					                   .qtype = q.type,
					                   .canonname = q.name,
					                   .why = "out of memory" };

				ops->answer(job->engine, q.slot, &fail);
			}
		}
		if (stepjob_waiting(job))
			return;
		/* without the engine's own test, nothing new means no progress */
		if (ops->waiting == NULL && taken == 0)
			return;
	}
}

static void stepjob_on_answer(const struct dns_answer *ans, void *arg)
{
	struct stepjob_pend *p = arg;
	struct stepjob *job = p->job;

	p->q = NULL;
	if (job->over)
		return;
	job->inflight--;
	job->ops->answer(job->engine, p->slot, ans);
	if (!stepjob_waiting(job))
		stepjob_advance(job);
}

static void stepjob_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct stepjob *job = arg;

	(void)fd;
	(void)what;
	if (job->over)
		return;
	job->ops->abort(job->engine);
	stepjob_finish(job);
}

static void stepjob_on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct stepjob *job = arg;

	(void)fd;
	(void)what;
	if (!job->over)
		stepjob_advance(job);
}

static void stepjob_cleanup(void *arg)
{
	struct stepjob *job = arg;

	if (!job->over)
		stepjob_stop(job);
}

/* stepjob_send_now - send the listed queries; -1 when one cannot be sent */
static int stepjob_send_now(struct stepjob *job)
{
	size_t i, n = job->ops->queries(job->engine);

	for (i = 0; i < n; i++) {
		struct stepjob_query q = { 0 };

		if (job->ops->take(job->engine, i, &q) && stepjob_send(job, &q) < 0)
			return -1;
	}
	return 0;
}

struct stepjob *stepjob_start(struct dns *dns, struct event_base *base, struct arena *a,
                              void *engine, const struct stepjob_ops *ops, unsigned timeout_ms,
                              unsigned flags)
{
	struct stepjob *job = arena_zalloc(a, sizeof(*job));
	struct timeval now = { 0, 0 };
	struct timeval tv = { (time_t)(timeout_ms / 1000),
		              (suseconds_t)(timeout_ms % 1000) * 1000 };

	if (job == NULL)
		return NULL;
	job->dns = dns;
	job->a = a;
	job->engine = engine;
	job->ops = ops;
	if (arena_cleanup(a, stepjob_cleanup, job) < 0)
		return NULL;
	job->deadline = evtimer_new(base, stepjob_on_deadline, job);
	job->kick = evtimer_new(base, stepjob_on_kick, job);
	if (job->deadline == NULL || job->kick == NULL ||
	    ((flags & STEPJOB_SEND_NOW) && stepjob_send_now(job) < 0)) {
		stepjob_stop(job);
		return NULL;
	}
	/* the first step runs from the loop, so finished never runs before we
	 * return; with the queries already out, their answers step instead */
	if (((flags & STEPJOB_SEND_NOW) == 0 || job->inflight == 0) &&
	    evtimer_add(job->kick, &now) < 0) {
		stepjob_stop(job);
		return NULL;
	}
	if (evtimer_add(job->deadline, &tv) < 0) {
		stepjob_stop(job);
		return NULL;
	}
	return job;
}

void stepjob_cancel(struct stepjob *job)
{
	if (job != NULL && !job->over)
		stepjob_stop(job);
}
