/*
 * offline - one whole transaction through the runner, without an SMTP
 * session (see offline.h for what happens between the events)
 *
 * The events are chained from the runner's done callbacks.  A run that
 * completes inside runner_run (nothing suspended) only records that it
 * did, and the loop in offline_step starts the next event, so a message
 * with many recipients never nests callbacks.
 */
#include <string.h>

#include "core/arena.h"
#include "pipeline/offline.h"

enum offline_phase {
	OFFLINE_CONNECT,
	OFFLINE_RCPT,
	OFFLINE_EOM,
	OFFLINE_DONE,
};

struct offline_run {
	struct runner *runner;
	struct msg *m;
	const char *const *rcpts;
	size_t nrcpts, next_rcpt;
	bool check_rcpts;
	enum offline_phase phase;
	bool in_step;   /* offline_step is on the stack */
	bool completed; /* the event started last has finished */
	runner_done_fn done;
	void *arg;
};

static void offline_step(struct offline_run *o);

static void offline_event_done(struct msg *m, void *arg)
{
	struct offline_run *o = arg;

	(void)m;
	o->completed = true;
	if (!o->in_step)
		offline_step(o); /* resumed from the event loop */
}

/* offline_refused - the client was refused at CONNECT */
static bool offline_refused(const struct msg *m)
{
	return m->verdict.action == MSG_ACTION_REJECT || m->verdict.action == MSG_ACTION_TEMPFAIL;
}

/* offline_no_data - no recipient was accepted: the client gets no DATA,
 * the first refusal's reply stands for the message */
static void offline_no_data(struct msg *m)
{
	const struct msg_rcpt *rc = NULL;
	size_t i;

	if (m->nrcpts == 0 || msg_rcpt_accepted(m) > 0 || offline_refused(m))
		return;
	for (i = 0; i < m->nrcpts && rc == NULL; i++)
		if (m->rcpts[i].reply.code != 0)
			rc = &m->rcpts[i];
	if (rc == NULL) { /* no stage answered: never an acceptance */
		m->verdict.action = MSG_ACTION_TEMPFAIL;
		m->verdict.action_why = "no_recipient";
		msg_set_reply(m, 451, "4.3.0", "Temporary server error, please try again later");
		return;
	}
	m->verdict.action = rc->reply.code >= 500 ? MSG_ACTION_REJECT : MSG_ACTION_TEMPFAIL;
	m->verdict.action_why = rc->why != NULL ? rc->why : "recipient";
	msg_set_reply(m, rc->reply.code, rc->reply.enhanced, rc->reply.text);
}

/* offline_start_event - start the next event of o; false when there is none */
static bool offline_start_event(struct offline_run *o)
{
	struct msg *m = o->m;

	for (;;) {
		switch (o->phase) {
		case OFFLINE_CONNECT:
			o->phase = OFFLINE_RCPT;
			return runner_run(o->runner, m, STAGE_EV_CONNECT, offline_event_done, o) ==
			       0;
		case OFFLINE_RCPT:
			if (o->next_rcpt >= o->nrcpts || offline_refused(m)) {
				offline_no_data(m);
				o->phase = OFFLINE_EOM;
				continue;
			}
			{
				struct msg_rcpt *rc = msg_rcpt_add(m, o->rcpts[o->next_rcpt++]);

				if (rc == NULL) { /* over MSG_MAX_RCPTS or no memory:
					           * the rest is not offered */
					o->next_rcpt = o->nrcpts;
					continue;
				}
				if (!o->check_rcpts) {
					rc->status = MSG_RCPT_ACCEPTED;
					rc->why = "not_checked";
					continue;
				}
			}
			return runner_run(o->runner, m, STAGE_EV_RCPT, offline_event_done, o) == 0;
		case OFFLINE_EOM:
			o->phase = OFFLINE_DONE;
			return runner_run(o->runner, m, STAGE_EV_EOM, offline_event_done, o) == 0;
		case OFFLINE_DONE:
			return false;
		}
	}
}

static void offline_step(struct offline_run *o)
{
	o->in_step = true;
	for (;;) {
		o->completed = false;
		if (!offline_start_event(o))
			break;
		if (!o->completed) { /* suspended: offline_event_done continues */
			o->in_step = false;
			return;
		}
	}
	o->in_step = false;
	o->phase = OFFLINE_DONE;
	if (o->done != NULL) {
		runner_done_fn done = o->done;

		o->done = NULL;
		done(o->m, o->arg);
	}
}

struct msg *offline_start(struct runner *r, struct arena *conn_arena, uint64_t id,
                          const struct offline_envelope *e, const char *data, size_t len,
                          runner_done_fn done, void *arg)
{
	struct msg_conn *c;
	struct msg *m;
	struct offline_run *o;

	if (r == NULL || conn_arena == NULL || e == NULL)
		return NULL;
	c = msg_conn_new(conn_arena, id);
	if (c == NULL)
		return NULL;
	msg_conn_set_peer(c, &e->ip, e->port);
	c->local_text = "offline";
	if ((e->helo != NULL && (c->helo = arena_strdup(conn_arena, e->helo)) == NULL) ||
	    (e->ptr != NULL && (c->ptr = arena_strdup(conn_arena, e->ptr)) == NULL))
		return NULL;
	c->esmtp = true;
	c->messages = 1;
	m = msg_new(c, id);
	if (m == NULL)
		return NULL;
	o = arena_zalloc(m->arena, sizeof(*o));
	if (o == NULL || msg_set_sender(m, e->mail_from) < 0) {
		msg_free(m);
		return NULL;
	}
	o->runner = r;
	o->m = m;
	o->rcpts = e->rcpts;
	o->nrcpts = e->rcpts != NULL ? e->nrcpts : 0;
	o->check_rcpts = e->check_rcpts;
	o->phase = OFFLINE_CONNECT;
	o->done = done;
	o->arg = arg;
	msg_set_data(m, data, len);
	m->received = e->received;
	offline_step(o);
	return m;
}
