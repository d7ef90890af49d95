/*
 * stage_outbound - outbound mail from the organisation's own servers
 * (inbound connectors with relay rights): the outbound spam policy and
 * DKIM signing, in place of the inbound authentication and action stages
 *
 * At RCPT (after the envelope stage accepted the recipient), for mail
 * through a relay connector: a sender on the restricted list is refused
 *     550 5.1.8 Access denied, bad outbound sender
 * (EOP's NDR for a restricted sender).
 *
 * At the end of data, for mail through a relay connector: the sender's
 * recipients are counted in the store per clock hour and UTC day
 * (external ones, outside the accepted domains, and internal ones) and
 * checked against outbound_spam.  Over a limit, the action is
 *     block_today  the sender is restricted until the next UTC day and
 *                  this message refused with 5.1.8 (EOP's default)
 *     restrict     the same until `smexop restricted release`
 *     alert        an `alert` log line and a reason in the trace; the
 *                  message goes on
 * A refused message is not counted.  The null sender (bounces) is not
 * counted or restricted.
 *
 * Outbound messages (m->outbound) are then DKIM-signed with the From
 * domain's dkim.signing configuration and active selector (auth/
 * dkim_keys), the DKIM-Signature fields going to the prepended header
 * fields above our Received field, and the stage ends the pipeline
 * (DONE): inbound authentication verdicts and spam actions do not apply
 * to our own outbound mail, as in EOP.  A signing failure is logged and
 * the message goes unsigned (an outage of the key files should not stop
 * the organisation's mail).  In `smexop serve` the keys are the key
 * holder's (env->dkim_remote, src/keyholder/): this process asks it which
 * selector is active and for each signature over a 32-byte digest; a key
 * holder that is down or slower than its client's timeout (a second)
 * leaves the message unsigned the same way, with an error line.
 * Internal mail from a relay connector goes on through the inbound
 * stages.
 *
 * The store is used synchronously (one SQLite row read or written); a
 * store failure defers (4xx), the policy is never silently skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dkim_keys.h"
#include "auth/dkim_sign.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "mime/address.h"
#include "pipeline/headers.h"
#include "pipeline/stage.h"
#include "pipeline/stage_outbound.h"
#include "store/store.h"

#define STAGE_OUTBOUND_SIG_MAX (64 * 1024) /* bytes of DKIM-Signature fields */

#define STAGE_OUTBOUND_REPLY_CODE 550
#define STAGE_OUTBOUND_REPLY_ENH  "5.1.8"
#define STAGE_OUTBOUND_REPLY_TEXT "Access denied, bad outbound sender"

struct stage_outbound_state {
	struct stage_outbound_limits limits;
};

void stage_outbound_limits_config(const struct config_outbound_spam *c,
                                  struct stage_outbound_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->external_per_hour = 500;
	l->internal_per_hour = 1000;
	l->per_day = 1000;
	l->action = STAGE_OUTBOUND_BLOCK_TODAY;
	if (c == NULL)
		return;
	l->external_per_hour = c->external_per_hour;
	l->internal_per_hour = c->internal_per_hour;
	l->per_day = c->per_day;
	l->action = c->action == CONFIG_OUTBOUND_RESTRICT ? STAGE_OUTBOUND_RESTRICT
	            : c->action == CONFIG_OUTBOUND_ALERT  ? STAGE_OUTBOUND_ALERT
	                                                  : STAGE_OUTBOUND_BLOCK_TODAY;
}

const char *stage_outbound_over(const struct stage_outbound_limits *l,
                                const struct store_sender_counts *c, uint64_t external,
                                uint64_t internal)
{
	if (l->external_per_hour > 0 && c->hour_external + external > l->external_per_hour)
		return "external_per_hour";
	if (l->internal_per_hour > 0 && c->hour_internal + internal > l->internal_per_hour)
		return "internal_per_hour";
	if (l->per_day > 0 && c->day + external + internal > l->per_day)
		return "per_day";
	return NULL;
}

const char *stage_outbound_action_name(enum stage_outbound_action a)
{
	switch (a) {
	case STAGE_OUTBOUND_BLOCK_TODAY:
		return "block_today";
	case STAGE_OUTBOUND_RESTRICT:
		return "restrict";
	case STAGE_OUTBOUND_ALERT:
		return "alert";
	}
	return "?";
}

static int stage_outbound_init(const struct pipeline_env *env, void **state, struct sx_err *err)
{
	struct stage_outbound_state *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		sx_err_set(err, "outbound stage: out of memory");
		return -1;
	}
	stage_outbound_limits_config(env->cfg != NULL ? &env->cfg->outbound_spam : NULL,
	                             &s->limits);
	*state = s;
	return 0;
}

static void stage_outbound_deinit(void *state)
{
	free(state);
}

static size_t stage_outbound_mem_used(const struct stage *st)
{
	(void)st;
	return sizeof(struct stage_outbound_state);
}

/* stage_outbound_applies - mail through a relay connector, with a sender */
static bool stage_outbound_applies(const struct stage *st, const struct msg *m)
{
	return m->conn->relay && st->env->store != NULL && m->sender != NULL &&
	       m->sender[0] != '\0';
}

static enum stage_result stage_outbound_store_fail(struct msg *m, const struct sx_err *err)
{
	msg_log(m, LOG_LEVEL_ERROR, "outbound", "event=store-error error=\"%s\"", err->msg);
	return STAGE_TEMPFAIL;
}

static enum stage_result stage_outbound_rcpt(struct stage *st, struct msg *m)
{
	struct msg_rcpt *rc = &m->rcpts[m->nrcpts - 1];
	struct sx_err err = { 0 };
	int r;

	if (!stage_outbound_applies(st, m) || rc->status != MSG_RCPT_ACCEPTED)
		return STAGE_CONTINUE;
	r = store_restricted_get(st->env->store, m->sender, pipeline_now(st->env), NULL, NULL,
	                         &err);
	if (r < 0)
		return stage_outbound_store_fail(m, &err);
	if (r == 1)
		return STAGE_CONTINUE;
	rc->status = MSG_RCPT_REJECTED;
	rc->why = "restricted_sender";
	rc->reply.code = STAGE_OUTBOUND_REPLY_CODE;
	rc->reply.enhanced = STAGE_OUTBOUND_REPLY_ENH;
	rc->reply.text = STAGE_OUTBOUND_REPLY_TEXT;
	return STAGE_DONE;
}

/* stage_outbound_next_day - the first second of the UTC day after now */
static int64_t stage_outbound_next_day(int64_t now)
{
	return now - now % 86400 + 86400;
}

/* stage_outbound_limits - count the message, or act when it goes over */
static enum stage_result stage_outbound_limit(struct stage *st, struct msg *m)
{
	const struct stage_outbound_state *s = st->state;
	struct store *store = st->env->store;
	int64_t now = pipeline_now(st->env);
	uint64_t n = msg_rcpt_accepted(m), ext = m->outbound ? n : 0, in = m->outbound ? 0 : n;
	struct store_sender_counts c;
	struct store_restricted r;
	struct sx_err err = { 0 };
	const char *over;

	if (store_sender_counts(store, m->sender, now, &c, &err) < 0)
		return stage_outbound_store_fail(m, &err);
	over = stage_outbound_over(&s->limits, &c, ext, in);
	if (over != NULL) {
		/* one line an alerting system can match, whatever the action */
		msg_log(m, LOG_LEVEL_WARN, "alert",
		        "kind=outbound-limit sender=%s limit=%s action=%s hour_external=%llu "
		        "hour_internal=%llu day=%llu message_rcpts=%llu",
		        m->sender, over, stage_outbound_action_name(s->limits.action),
		        (unsigned long long)c.hour_external, (unsigned long long)c.hour_internal,
		        (unsigned long long)c.day, (unsigned long long)n);
		msg_reason_add(m, "OUTBOUND_LIMIT", 0);
		if (s->limits.action == STAGE_OUTBOUND_ALERT) {
			m->verdict.action_why = "outbound_spam_alert"; /* what the trace shows */
		} else {
			memset(&r, 0, sizeof(r));
			r.sender = m->sender;
			r.since = now;
			r.until = s->limits.action == STAGE_OUTBOUND_BLOCK_TODAY
			              ? stage_outbound_next_day(now)
			              : 0;
			r.reason = over;
			if (store_restricted_add(store, &r, &err) < 0)
				return stage_outbound_store_fail(m, &err);
			m->verdict.action = MSG_ACTION_REJECT;
			m->verdict.action_why = s->limits.action == STAGE_OUTBOUND_BLOCK_TODAY
			                            ? "outbound_spam_block_today"
			                            : "outbound_spam_restrict";
			m->verdict.cat = "OSPM";
			msg_set_reply(m, STAGE_OUTBOUND_REPLY_CODE, STAGE_OUTBOUND_REPLY_ENH,
			              STAGE_OUTBOUND_REPLY_TEXT);
			msg_log(m, LOG_LEVEL_WARN, "outbound",
			        "event=sender-restricted sender=%s limit=%s until=%lld", m->sender,
			        over, (long long)r.until);
			return STAGE_DONE;
		}
	}
	if (store_sender_count_add(store, m->sender, now, ext, in, &err) < 0)
		return stage_outbound_store_fail(m, &err);
	return STAGE_CONTINUE;
}

/* stage_outbound_prepend - the DKIM-Signature fields in b (each ending in
 * a line break, continuation lines starting with white space) go to the
 * top of the prepended fields, each without its final line break */
static int stage_outbound_prepend(struct msg *m, const char *p, size_t n)
{
	const char *fields[MSG_MAX_PREPEND];
	size_t nf = 0, start = 0, i, len;

	for (i = 0; i < n; i++) {
		if (p[i] != '\n' || (i + 1 < n && (p[i + 1] == ' ' || p[i + 1] == '\t')))
			continue;
		len = i - start;
		if (len > 0 && p[start + len - 1] == '\r')
			len--;
		if (nf == MSG_MAX_PREPEND)
			return -1;
		if ((fields[nf++] = arena_strndup(m->arena, p + start, len)) == NULL)
			return -1;
		start = i + 1;
	}
	if (nf + m->nprepend > MSG_MAX_PREPEND)
		return -1;
	memmove(m->prepend + nf, m->prepend, m->nprepend * sizeof(m->prepend[0]));
	memcpy(m->prepend, fields, nf * sizeof(fields[0]));
	m->nprepend += nf;
	return 0;
}

/* stage_outbound_sign - DKIM-sign m with its From domain's active
 * selector; a missing configuration or a failure leaves it unsigned */
static void stage_outbound_sign(struct stage *st, struct msg *m)
{
	struct address_from from;
	struct dkim_signing ds;
	struct sx_err err = { 0 };
	struct buf b;
	int r;

	if (!m->raw_ok || st->env->cfg == NULL ||
	    address_from_domains(m->arena, &m->raw, &from) != ADDRESS_FROM_OK ||
	    from.ndomains != 1) {
		msg_log(m, LOG_LEVEL_INFO, "outbound",
		        "event=unsigned reason=no-single-from-domain");
		return;
	}
	/* in serve the key holder signs (a blocking round trip on the loop,
	 * bounded by its client's timeout); the CLI reads the key files */
	if (st->env->dkim_remote != NULL)
		r = dkim_signing_remote(st->env->cfg, from.domains[0], st->env->dkim_remote,
		                        m->arena, &ds, &err);
	else
		r = dkim_signing_for_domain(st->env->cfg, from.domains[0], m->arena, &ds, &err);
	if (r == 0) {
		msg_log(m, LOG_LEVEL_INFO, "outbound", "event=unsigned domain=%s reason=no-signing",
		        from.domains[0]);
		return;
	}
	if (r < 0) {
		msg_log(m, LOG_LEVEL_ERROR, "outbound", "event=sign-failed domain=%s error=\"%s\"",
		        from.domains[0], err.msg);
		msg_reason_add(m, "DKIM_SIGN_FAILED", 0);
		return;
	}
	ds.opts.timestamp = pipeline_now(st->env);
	buf_init(&b, STAGE_OUTBOUND_SIG_MAX);
	if (dkim_sign(m->arena, &m->raw, ds.signers, ds.nsigners, &ds.opts, &b, &err) < 0 ||
	    stage_outbound_prepend(m, b.data, b.len) < 0) {
		msg_log(m, LOG_LEVEL_ERROR, "outbound", "event=sign-failed domain=%s error=\"%s\"",
		        from.domains[0], err.msg[0] != '\0' ? err.msg : "no room for the fields");
		msg_reason_add(m, "DKIM_SIGN_FAILED", 0);
		buf_free(&b);
		return;
	}
	buf_free(&b);
	msg_reason_add(m, "DKIM_SIGNED", 0);
	msg_log(m, LOG_LEVEL_INFO, "outbound", "event=signed domain=%s selector=%s signatures=%zu",
	        from.domains[0], ds.selector, ds.nsigners);
}

static enum stage_result stage_outbound_eom(struct stage *st, struct msg *m)
{
	enum stage_result r;

	if (stage_outbound_applies(st, m)) {
		r = stage_outbound_limit(st, m);
		if (r != STAGE_CONTINUE)
			return r;
	}
	if (!m->outbound)
		return STAGE_CONTINUE;
	if (st->env->cfg != NULL) {
		struct headers_opts o = { st->env->cfg->server.hostname,
			                  st->env->cfg->server.authserv_id };

		/* our hop (RFC 5321 4.4); the signature goes above it */
		if (headers_build_received(m, &o) < 0)
			return STAGE_ERROR;
	}
	stage_outbound_sign(st, m);
	m->verdict.action = MSG_ACTION_DELIVER;
	if (m->verdict.action_why == NULL)
		m->verdict.action_why = "outbound";
	return STAGE_DONE;
}

static enum stage_result stage_outbound_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	if (ev == STAGE_EV_RCPT)
		return m->nrcpts > 0 ? stage_outbound_rcpt(st, m) : STAGE_ERROR;
	return stage_outbound_eom(st, m);
}

const struct stage_ops stage_outbound_ops = {
	.name = "outbound",
	.events = STAGE_EV_RCPT | STAGE_EV_EOM,
	.repeat = true, /* every RCPT, then the end of data */
	.init = stage_outbound_init,
	.deinit = stage_outbound_deinit,
	.run = stage_outbound_run,
	.mem_used = stage_outbound_mem_used,
};
