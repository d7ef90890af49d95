/*
 * arc_async - run the ARC validation step engine on core/dns.h
 *
 * The same driver shape as dkim_async: every key query is sent at once,
 * the body is hashed while they are in flight, and the callback runs from
 * the event loop after the last answer, at the deadline (unanswered keys
 * become temporary failures), or on the next loop turn when the verdict
 * needs no key at all.
 */
#include <event2/event.h>
#include <string.h>

#include "auth/arc.h"
#include "core/arena.h"

struct job_query {
	struct arc_verify_job *job;
	struct dns_query *q; /* NULL once answered or cancelled */
	const char *name;
};

struct arc_verify_job {
	struct arc_verify *v;
	struct job_query *jq;
	size_t nq, outstanding;
	struct event *timer; /* deadline, or the deferral when nothing is asked */
	arc_verify_cb cb;
	void *arg;
	bool over; /* finished or cancelled: nothing more may happen */
};

static void stop(struct arc_verify_job *job)
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

static void finish(struct arc_verify_job *job)
{
	stop(job);
	job->cb(job->v, job->arg);
}

static void on_answer(const struct dns_answer *ans, void *arg)
{
	struct job_query *jq = arg;
	struct arc_verify_job *job = jq->job;

	jq->q = NULL;
	if (job->over)
		return;
	arc_verify_answer(job->v, jq->name, ans);
	if (--job->outstanding == 0 && arc_verify_step(job->v) == ARC_STEP_DONE)
		finish(job);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct arc_verify_job *job = arg;

	(void)fd;
	(void)what;
	if (job->over)
		return;
	if (arc_verify_step(job->v) != ARC_STEP_DONE)
		arc_verify_abort(job->v, "key lookup timed out (deadline)");
	finish(job);
}

static void job_cleanup(void *arg)
{
	struct arc_verify_job *job = arg;

	if (!job->over)
		stop(job);
}

struct arc_verify_job *arc_verify_start(struct dns *dns, struct event_base *base, struct arena *a,
                                        const struct raw_message *msg,
                                        const struct arc_verify_options *opts, arc_verify_cb cb,
                                        void *arg)
{
	struct arc_verify_job *job = arena_zalloc(a, sizeof(*job));
	struct dkim_query *const *list;
	struct timeval tv = { 0, 0 };
	unsigned ms;
	size_t i;

	if (job == NULL)
		return NULL;
	job->cb = cb;
	job->arg = arg;
	job->v = arc_verify_new(a, msg, opts);
	if (job->v == NULL || arena_cleanup(a, job_cleanup, job) < 0)
		return NULL;
	job->nq = arc_verify_queries(job->v, &list);
	if (job->nq > 0) {
		job->jq = arena_array(a, job->nq, sizeof(*job->jq));
		if (job->jq == NULL)
			return NULL;
		ms = opts != NULL && opts->timeout_ms > 0 ? opts->timeout_ms
		                                          : ARC_DEFAULT_TIMEOUT_MS;
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
	}
	job->timer = evtimer_new(base, on_timer, job);
	if (job->timer == NULL || evtimer_add(job->timer, &tv) < 0) {
		stop(job);
		return NULL;
	}
	for (i = 0; i < job->nq; i++) {
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
	/* hash the body while the lookups are in flight */
	arc_verify_hash_body(job->v);
	return job;
}

void arc_verify_cancel(struct arc_verify_job *job)
{
	if (job != NULL && !job->over)
		stop(job);
}
