/*
 * keyjob - the asynchronous driver shared by DKIM and ARC validation
 * (see keyjob.h): a TXT-only user of core/stepjob.h whose list of key
 * queries is fixed when the job starts, all sent before it returns.
 */
#include "auth/keyjob.h"

#include "core/arena.h"
#include "core/stepjob.h"

struct keyjob {
	void *engine;
	const struct keyjob_ops *ops;
	void *arg;
	struct dkim_query *const *list;
	size_t n;
	struct stepjob *job;
};

static bool keyjob_step(void *kj)
{
	struct keyjob *job = kj;

	return job->ops->step_done(job->engine);
}

static size_t keyjob_queries(void *kj)
{
	return ((struct keyjob *)kj)->n;
}

static bool keyjob_take(void *kj, size_t i, struct stepjob_query *sq)
{
	struct keyjob *job = kj;
	struct dkim_query *q = job->list[i];

	if (q->sent)
		return false;
	q->sent = true;
	sq->name = q->name;
	sq->type = DNS_T_TXT;
	sq->slot = q;
	return true;
}

static void keyjob_answer(void *kj, void *slot, const struct dns_answer *ans)
{
	struct keyjob *job = kj;
	struct dkim_query *q = slot;

	job->ops->answer(job->engine, q->name, ans);
}

static void keyjob_abort(void *kj)
{
	struct keyjob *job = kj;

	if (!job->ops->step_done(job->engine))
		job->ops->abort(job->engine, "key lookup timed out (deadline)");
}

static void keyjob_finished(void *kj)
{
	struct keyjob *job = kj;

	job->ops->finished(job->engine, job->arg);
}

static const struct stepjob_ops keyjob_stepjob_ops = {
	.step = keyjob_step,
	.queries = keyjob_queries,
	.take = keyjob_take,
	.answer = keyjob_answer,
	.abort = keyjob_abort,
	.finished = keyjob_finished,
};

struct keyjob *keyjob_start(struct dns *dns, struct event_base *base, struct arena *a, void *engine,
                            const struct keyjob_ops *ops, struct dkim_query *const *list, size_t n,
                            unsigned timeout_ms, void *arg)
{
	struct keyjob *job = arena_zalloc(a, sizeof(*job));

	if (job == NULL)
		return NULL;
	job->engine = engine;
	job->ops = ops;
	job->arg = arg;
	job->list = list;
	job->n = n;
	job->job =
	    stepjob_start(dns, base, a, job, &keyjob_stepjob_ops, timeout_ms, STEPJOB_SEND_NOW);
	return job->job != NULL ? job : NULL;
}

void keyjob_cancel(struct keyjob *job)
{
	if (job != NULL)
		stepjob_cancel(job->job);
}
