/*
 * arc_async - run the ARC validation step engine on core/dns.h
 *
 * Every key query of the message is sent at once (keyjob.c); the body is
 * hashed while they are in flight.  Unanswered keys at the deadline
 * become temporary failures.
 */
#include "auth/arc.h"
#include "auth/keyjob.h"
#include "core/arena.h"

struct arc_verify_job {
	struct arc_verify *v;
	struct keyjob *job;
	arc_verify_cb cb;
	void *arg;
};

static void answer(void *engine, const char *name, const struct dns_answer *ans)
{
	arc_verify_answer(engine, name, ans);
}

static bool step_done(void *engine)
{
	return arc_verify_step(engine) == ARC_STEP_DONE;
}

static void abort_engine(void *engine, const char *why)
{
	arc_verify_abort(engine, why);
}

static void finished(void *engine, void *arg)
{
	struct arc_verify_job *dj = arg;

	dj->cb(engine, dj->arg);
}

static const struct keyjob_ops arc_keyjob_ops = { answer, step_done, abort_engine, finished };

struct arc_verify_job *arc_verify_start(struct dns *dns, struct event_base *base, struct arena *a,
                                        const struct raw_message *msg,
                                        const struct arc_verify_options *opts, arc_verify_cb cb,
                                        void *arg)
{
	struct arc_verify_job *dj = arena_zalloc(a, sizeof(*dj));
	struct dkim_query *const *list;
	size_t n;

	if (dj == NULL)
		return NULL;
	dj->cb = cb;
	dj->arg = arg;
	dj->v = arc_verify_new(a, msg, opts);
	if (dj->v == NULL)
		return NULL;
	n = arc_verify_queries(dj->v, &list);
	dj->job = keyjob_start(
	    dns, base, a, dj->v, &arc_keyjob_ops, list, n,
	    opts != NULL && opts->timeout_ms > 0 ? opts->timeout_ms : ARC_DEFAULT_TIMEOUT_MS, dj);
	if (dj->job == NULL)
		return NULL;
	/* hash the body while the lookups are in flight */
	arc_verify_hash_body(dj->v);
	return dj;
}

void arc_verify_cancel(struct arc_verify_job *dj)
{
	if (dj != NULL)
		keyjob_cancel(dj->job);
}
