/*
 * stage_trace - the last stage: one key=value log line per event with the
 * session and message ids, from which message trace is built
 *
 * It reads the verdict and never changes it (the runner checks).  Lines:
 *
 *   connect session=… ip=… port=… ptr=… listener=… result=accept|reject reason=…
 *   rcpt session=… msg=… rcpt=… result=accepted|rejected|deferred reply=… reason=…
 *   message session=… msg=… from=… rcpts=… size=… message_id=… subject=…
 *       action=… scl=… sfv=… cat=… ipv=… compauth=… reason=… dmarc=…
 *       policy=… why=… reasons=A:0,B:0 reply=…
 *
 * Values from the peer go through log_quote().  The durable trace record
 * (the store's trace group) is written by the gateway once the message
 * is committed, because only then is its final place known.
 */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "pipeline/stage.h"

#define TRACE_VALUE_MAX 300 /* a quoted value in a log line */

static const char *q(char *out, size_t outsize, const char *s)
{
	return log_quote(out, outsize, s != NULL ? s : "");
}

static void stage_trace_connect(const struct msg *m)
{
	const struct msg_conn *c = m->conn;
	char ptr[TRACE_VALUE_MAX], listener[TRACE_VALUE_MAX];

	msg_conn_log(c, LOG_LEVEL_INFO, "connect",
	             "ip=%s port=%u ptr=%s listener=%s ipv=%s result=%s reason=%s connector=%s",
	             c->ip_text, c->port, q(ptr, sizeof(ptr), c->ptr),
	             q(listener, sizeof(listener), c->listener), msg_ipv_name(c->ipv),
	             c->ip_blocked ? "reject" : "accept", c->block_why != NULL ? c->block_why : "-",
	             c->connector != NULL ? c->connector : "-");
}

/* stage_trace_tls - TLS is up: the client certificate and the connector */
static void stage_trace_tls(const struct msg *m)
{
	const struct msg_conn *c = m->conn;
	char subject[TRACE_VALUE_MAX], name[TRACE_VALUE_MAX];

	msg_conn_log(c, LOG_LEVEL_INFO, "tls",
	             "version=%s peer=%s verified=%d connector=%s by=%s trusted=%d relay=%d",
	             c->tls.version != NULL ? c->tls.version : "-",
	             q(subject, sizeof(subject), c->tls.peer_subject), c->tls.peer_verified,
	             q(name, sizeof(name), c->connector),
	             c->connector_by != NULL ? c->connector_by : "-", c->trusted, c->relay);
}

static void stage_trace_rcpt(const struct msg *m)
{
	const struct msg_rcpt *rc;
	char addr[TRACE_VALUE_MAX];

	if (m->nrcpts == 0)
		return;
	rc = &m->rcpts[m->nrcpts - 1];
	msg_log(m, LOG_LEVEL_INFO, "rcpt", "rcpt=%s result=%s reply=%u reason=%s",
	        q(addr, sizeof(addr), rc->addr), msg_rcpt_status_name(rc->status),
	        rc->reply.code != 0 ? rc->reply.code : 250, rc->why != NULL ? rc->why : "-");
}

static void stage_trace_message(const struct msg *m)
{
	const struct msg_verdict *v = &m->verdict;
	char from[TRACE_VALUE_MAX], mid[TRACE_VALUE_MAX], subj[TRACE_VALUE_MAX];
	char reasons[TRACE_VALUE_MAX];
	size_t i, o = 0;

	reasons[0] = '\0';
	for (i = 0; i < v->nreasons && o < sizeof(reasons); i++) {
		int n = snprintf(reasons + o, sizeof(reasons) - o, "%s%s:%d", i > 0 ? "," : "",
		                 v->reasons[i].name, v->reasons[i].score);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	msg_log(m, LOG_LEVEL_INFO, "message",
	        "from=%s rcpts=%zu size=%zu message_id=%s subject=%s action=%s scl=%d sfv=%s "
	        "cat=%s ipv=%s compauth=%s reason=%03u dmarc=%s policy=%s why=%s reasons=%s "
	        "reply=%u direction=%s connector=%s",
	        q(from, sizeof(from), m->sender), msg_rcpt_accepted(m), m->len,
	        q(mid, sizeof(mid), m->hdr.message_id), q(subj, sizeof(subj), m->hdr.subject),
	        msg_action_name(v->action), v->scl, msg_sfv_name(v->sfv),
	        v->cat != NULL ? v->cat : "NONE", msg_ipv_name(m->conn->ipv),
	        v->compauth != NULL ? v->compauth : "-", v->compauth_reason,
	        v->dmarc != NULL ? v->dmarc : "-", v->dmarc_policy != NULL ? v->dmarc_policy : "-",
	        v->action_why != NULL ? v->action_why : "-", reasons[0] != '\0' ? reasons : "-",
	        v->reply.code, m->outbound ? "outbound" : "inbound",
	        m->conn->connector != NULL ? m->conn->connector : "-");
}

static enum stage_result stage_trace_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	(void)st;
	switch (ev) {
	case STAGE_EV_CONNECT:
		stage_trace_connect(m);
		break;
	case STAGE_EV_RCPT:
		stage_trace_rcpt(m);
		break;
	case STAGE_EV_EOM:
		stage_trace_message(m);
		break;
	case STAGE_EV_TLS:
		stage_trace_tls(m);
		break;
	}
	return STAGE_CONTINUE;
}

const struct stage_ops stage_trace_ops = {
	.name = "trace",
	.events = STAGE_EV_CONNECT | STAGE_EV_RCPT | STAGE_EV_EOM | STAGE_EV_TLS,
	.repeat = true,
	.final = true,
	.run = stage_trace_run,
};
