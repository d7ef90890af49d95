/*
 * keyjob - the asynchronous driver shared by DKIM and ARC validation
 * (see keyjob.h)
 */
#include "auth/keyjob.h"

#include <event2/event.h>

#include "core/arena.h"

struct job_query {
	struct keyjob *job;
	struct dns_query *q; /* NULL once answered or cancelled */
	const char *name;
};

struct keyjob {
	void *engine;
	const struct keyjob_ops *ops;
	void *arg;
	struct job_query *jq;
	size_t nq, outstanding;
	struct event *timer; /* deadline, or the deferral when nothing is asked */
	bool over;           /* finished or cancelled: nothing more may happen */
};

static void stop(struct keyjob *job)
{
	size_t i;

	job->over = true;
	for (i = 0; i < job->nq; i++)
		if (job->jq[i].q != NULL) {
			dns_cancel(job->jq[i].q);
			job->jq[i].q = NULL;
		}
	if (job->timer != NULL) {
		event_free(job->timer);
		job->timer = NULL;
	}
}

static void finish(struct keyjob *job)
{
	stop(job);
	job->ops->finished(job->engine, job->arg);
}

static void on_answer(const struct dns_answer *ans, void *arg)
{
	struct job_query *jq = arg;
	struct keyjob *job = jq->job;

	jq->q = NULL;
	if (job->over)
		return;
	job->ops->answer(job->engine, jq->name, ans);
	if (--job->outstanding == 0 && job->ops->step_done(job->engine))
		finish(job);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct keyjob *job = arg;

	(void)fd;
	(void)what;
	if (job->over)
		return;
	if (!job->ops->step_done(job->engine))
		job->ops->abort(job->engine, "key lookup timed out (deadline)");
	finish(job);
}

static void job_cleanup(void *arg)
{
	struct keyjob *job = arg;

	if (!job->over)
		stop(job);
}

struct keyjob *keyjob_start(struct dns *dns, struct event_base *base, struct arena *a, void *engine,
                            const struct keyjob_ops *ops, struct dkim_query *const *list, size_t n,
                            unsigned timeout_ms, void *arg)
{
	struct keyjob *job = arena_zalloc(a, sizeof(*job));
	struct timeval tv = { 0, 0 };
	size_t i;

	if (job == NULL)
		return NULL;
	job->engine = engine;
	job->ops = ops;
	job->arg = arg;
	if (n > 0) {
		job->jq = arena_array(a, n, sizeof(*job->jq));
		if (job->jq == NULL)
			return NULL;
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
	}
	/* nq only once jq exists: stop() walks it */
	job->nq = n;
	if (arena_cleanup(a, job_cleanup, job) < 0)
		return NULL;
	job->timer = evtimer_new(base, on_timer, job);
	if (job->timer == NULL || evtimer_add(job->timer, &tv) < 0) {
		stop(job);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		struct job_query *jq = &job->jq[i];

		jq->job = job;
		jq->name = list[i]->name;
		jq->q = dns_lookup(dns, jq->name, DNS_T_TXT, on_answer, jq);
		if (jq->q == NULL) {
			stop(job);
			return NULL;
		}
		list[i]->sent = true;
		job->outstanding++;
	}
	return job;
}

void keyjob_cancel(struct keyjob *job)
{
	if (job != NULL && !job->over)
		stop(job);
}
