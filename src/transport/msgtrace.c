/*
 * msgtrace - message trace events from envelopes (see msgtrace.h)
 */
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "transport/msgtrace.h"

void msgtrace_event(struct store *st, const struct store_trace_event *ev)
{
	struct sx_err err = { 0 };

	if (st == NULL || ev == NULL)
		return;
	if (store_trace_add(st, ev, &err) < 0)
		log_warn("trace event=write_failed kind=%s id=%s error=\"%s\"",
		         store_trace_kind_name(ev->kind) ? store_trace_kind_name(ev->kind) : "?",
		         ev->spool_id ? ev->spool_id : "-", err.msg);
}

void msgtrace_envelope(struct store *st, const struct spool_envelope *env,
                       enum store_trace_kind kind, const char *rcpt, const char *detail,
                       int64_t now)
{
	struct store_trace_event ev = { 0 };
	struct buf reasons;
	size_t i;

	if (st == NULL || env == NULL)
		return;
	buf_init(&reasons, 16 * 1024);
	for (i = 0; i < env->nq_reasons; i++)
		if ((i > 0 && buf_puts(&reasons, "; ") < 0) ||
		    buf_puts(&reasons, env->q_reasons[i]) < 0)
			break;
	ev.time = now;
	ev.kind = kind;
	ev.spool_id = env->id;
	ev.session_id = env->session_id;
	ev.message_id = env->message_id;
	ev.sender = env->sender;
	ev.client_ip = env->client_ip;
	ev.verdict = env->verdict;
	ev.reasons = reasons.data;
	ev.detail = detail;
	ev.size = env->size;
	if (rcpt != NULL || env->nrcpts == 0) {
		ev.recipient = rcpt;
		msgtrace_event(st, &ev);
	}
	/* about the whole message: one row per recipient, as EOP's trace
	 * shows them, so that a search by recipient finds every step */
	for (i = 0; rcpt == NULL && i < env->nrcpts; i++) {
		ev.recipient = env->rcpts[i].addr;
		msgtrace_event(st, &ev);
	}
	buf_free(&reasons);
}
