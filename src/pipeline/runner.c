/*
 * runner - runs the pipeline's stages over a message, in EOP's order
 *
 * The only code that knows the order of stages (the table passed to
 * runner_new, runner_default_stages for the gateway).  A message carries
 * its own run state (struct msg_run): which stage is next, which are
 * done, whether it is parked on a suspended stage.  The loop below is
 * the whole scheduler: there are no threads, a suspended stage is resumed
 * from the event loop by its own callback through runner_resume().
 *
 * Re-entry: a stage's callback may fire while the runner is still inside
 * that stage's run (an answer already cached); runner_resume then only
 * notes it and the loop picks it up when run returns SUSPEND, so stages
 * never nest and the stack never grows with the number of lookups.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "pipeline/stage.h"

struct runner {
	struct stage stages[MSG_MAX_STAGES];
	size_t n;
	const struct pipeline_env *env;
};

const struct stage_ops *const runner_default_stages[] = {
	&stage_connection_ops, &stage_envelope_ops, &stage_parse_ops, &stage_outbound_ops,
	&stage_auth_ops,       &stage_action_ops,   &stage_trace_ops,
};
const size_t runner_ndefault = sizeof(runner_default_stages) / sizeof(runner_default_stages[0]);

int64_t pipeline_now(const struct pipeline_env *env)
{
	if (env != NULL && env->now != NULL)
		return env->now();
	return (int64_t)time(NULL);
}

void **stage_slot(struct stage *st, struct msg *m)
{
	return &m->run.slot[st->index];
}

int runner_startup(const struct stage_ops *const *ops, size_t n, const struct pipeline_env *env,
                   struct sx_err *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ops[i]->startup != NULL && ops[i]->startup(env, err) < 0)
			return -1;
	return 0;
}

struct runner *runner_new(const struct stage_ops *const *ops, size_t n,
                          const struct pipeline_env *env, struct sx_err *err)
{
	struct runner *r;
	size_t i;

	if (n == 0 || n > MSG_MAX_STAGES) {
		sx_err_set(err, "pipeline: %zu stages (1 to %d)", n, MSG_MAX_STAGES);
		return NULL;
	}
	for (i = 0; i + 1 < n; i++)
		if (ops[i]->final) {
			sx_err_set(err, "pipeline: final stage %s is not the last", ops[i]->name);
			return NULL;
		}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		sx_err_set(err, "pipeline: out of memory");
		return NULL;
	}
	r->env = env;
	for (i = 0; i < n; i++) {
		struct stage *st = &r->stages[i];

		st->ops = ops[i];
		st->index = (unsigned)i;
		st->env = env;
		if (ops[i]->init != NULL && ops[i]->init(env, &st->state, err) < 0) {
			r->n = i;
			runner_free(r);
			return NULL;
		}
		r->n = i + 1;
	}
	return r;
}

struct runner *runner_free(struct runner *r)
{
	size_t i;

	if (r == NULL)
		return NULL;
	for (i = r->n; i-- > 0;)
		if (r->stages[i].ops->deinit != NULL)
			r->stages[i].ops->deinit(r->stages[i].state);
	free(r);
	return NULL;
}

size_t runner_mem_used(const struct runner *r)
{
	size_t i, total = 0;

	if (r == NULL)
		return 0;
	for (i = 0; i < r->n; i++)
		if (r->stages[i].ops->mem_used != NULL)
			total += r->stages[i].ops->mem_used(&r->stages[i]);
	return total;
}

const char *runner_stage_name(const struct runner *r, unsigned i)
{
	return r != NULL && i < r->n ? r->stages[i].ops->name : NULL;
}

bool runner_busy(const struct msg *m)
{
	return m->run.runner != NULL;
}

/* runner_tempfail - map TEMPFAIL/ERROR of stage st to a 4xx, at RCPT on
 * the recipient being checked, otherwise on the verdict */
static void runner_tempfail(struct msg *m, const struct stage *st, enum stage_result res)
{
	struct msg_reply *rep;
	bool keep;

	if (m->run.event == STAGE_EV_RCPT && m->nrcpts > 0) {
		struct msg_rcpt *rc = &m->rcpts[m->nrcpts - 1];

		rc->status = MSG_RCPT_DEFERRED;
		rep = &rc->reply;
	} else {
		m->verdict.action = MSG_ACTION_TEMPFAIL;
		rep = &m->verdict.reply;
	}
	/* a stage may have chosen a more precise 4xx for a TEMPFAIL; an ERROR,
	 * or anything that is not a 4xx, becomes the generic one */
	keep = res == STAGE_TEMPFAIL && rep->code >= 400 && rep->code < 500;
	if (!keep) {
		rep->code = 451;
		rep->enhanced = "4.3.0";
		rep->text = "Temporary server error, please try again later";
	}
	msg_log(m, LOG_LEVEL_WARN, "pipeline", "stage=%s result=%s reply=%u", st->ops->name,
	        res == STAGE_TEMPFAIL ? "tempfail" : "error", rep->code);
}

/* runner_final - run the final (trace) stage; it may not touch the verdict */
static void runner_final(struct runner *r, struct msg *m)
{
	struct stage *st = &r->stages[r->n - 1];
	struct msg_verdict before;

	if (!st->ops->final || !(st->ops->events & (unsigned)m->run.event))
		return;
	memcpy(&before, &m->verdict, sizeof(before));
	m->run.stages_started |= 1u << st->index;
	(void)st->ops->run(st, m, (enum stage_event)m->run.event);
	if (memcmp(&before, &m->verdict, sizeof(before)) != 0) {
		/* a broken invariant, not a message failure: dump core */
		log_error("pipeline stage=%s changed the verdict", st->ops->name);
		abort();
	}
}

/* runner_loop - run from m->run.next until a suspend or the end */
static void runner_loop(struct msg *m)
{
	struct runner *r = m->run.runner;
	enum stage_event ev = (enum stage_event)m->run.event;
	runner_done_fn done;
	void *arg;

	m->run.running = true;
	while (m->run.next < r->n) {
		struct stage *st = &r->stages[m->run.next];
		uint32_t bit = 1u << st->index;
		enum stage_result res;

		if (st->ops->final || !(st->ops->events & (unsigned)ev) ||
		    ((m->run.stages_done & bit) && !st->ops->repeat)) {
			m->run.next++;
			continue;
		}
		m->run.stages_started |= bit;
		m->run.resumed = false;
		res = st->ops->run(st, m, ev);
		if (res == STAGE_SUSPEND) {
			if (m->run.resumed)
				continue; /* it finished while we were inside: run it again */
			m->run.suspended = true;
			m->run.running = false;
			return;
		}
		m->run.stages_done |= bit;
		m->run.next++;
		if (res == STAGE_CONTINUE)
			continue;
		if (res == STAGE_TEMPFAIL || res == STAGE_ERROR)
			runner_tempfail(m, st, res);
		break; /* DONE, TEMPFAIL, ERROR: straight to the final stage */
	}
	runner_final(r, m);
	done = m->run.done;
	arg = m->run.done_arg;
	m->run.running = false;
	m->run.suspended = false;
	m->run.runner = NULL;
	m->run.done = NULL;
	m->run.done_arg = NULL;
	if (done != NULL)
		done(m, arg);
}

int runner_run(struct runner *r, struct msg *m, enum stage_event ev, runner_done_fn done, void *arg)
{
	if (r == NULL || m == NULL || m->run.runner != NULL)
		return -1;
	if (m->run.owner != NULL && m->run.owner != r)
		return -1; /* stages of another generation still hold state: cancel first */
	m->run.runner = r;
	m->run.owner = r;
	m->run.event = (int)ev;
	m->run.next = 0;
	m->run.suspended = false;
	m->run.resumed = false;
	m->run.done = done;
	m->run.done_arg = arg;
	runner_loop(m);
	return 0;
}

void runner_resume(struct msg *m)
{
	if (m == NULL || m->run.runner == NULL)
		return;
	if (m->run.running) {
		m->run.resumed = true;
		return;
	}
	if (!m->run.suspended)
		return;
	m->run.suspended = false;
	runner_loop(m);
}

void runner_cancel(struct msg *m)
{
	struct runner *r;
	size_t i;

	if (m == NULL)
		return;
	r = m->run.owner;
	if (r != NULL) {
		for (i = 0; i < r->n; i++)
			if ((m->run.stages_started & (1u << i)) && r->stages[i].ops->clear != NULL)
				r->stages[i].ops->clear(&r->stages[i], m);
	}
	m->run.stages_started = 0;
	m->run.owner = NULL;
	m->run.runner = NULL;
	m->run.suspended = false;
	m->run.running = false;
	m->run.done = NULL;
	m->run.done_arg = NULL;
}
