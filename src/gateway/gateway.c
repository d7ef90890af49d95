/*
 * gateway - the hooks of the SMTP server, implemented on pipeline/,
 * transport/spool and transport/quarantine (see gateway.h)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "core/workpool.h"
#include "pipeline/headers.h"
#include "pipeline/stage.h"
#include "smtp/smtp_reply.h"
#include "transport/msgtrace.h"
#include "transport/quarantine.h"
#include "transport/spool.h"
#include "gateway/gateway.h"

#define GW_VERDICT_MAX 300 /* the envelope's verdict summary */

/* ---- configuration generations ---------------------------------------- */

struct gw_gen {
	unsigned refs;
	struct smexop_config *cfg;
	struct pipeline_env env;
	struct runner *runner;
};

static struct gw_gen *gw_gen_unref(struct gw_gen *g)
{
	if (g == NULL || --g->refs > 0)
		return NULL;
	runner_free(g->runner);
	config_free(g->cfg);
	free(g);
	return NULL;
}

struct gateway {
	struct gateway_deps deps;
	struct gw_gen *gen;
	struct smtp_hooks hooks;
	uint64_t next_id; /* message ids: a random start, then counting */
	unsigned sessions;
	struct quarantine_options qopts;
};

static struct gw_gen *gw_gen_new(struct gateway *gw, struct smexop_config *cfg, struct sx_err *err)
{
	struct gw_gen *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		sx_err_set(err, "gateway: out of memory");
		return NULL;
	}
	g->refs = 1;
	g->cfg = cfg;
	g->env.cfg = cfg;
	g->env.base = gw->deps.base;
	g->env.dns = gw->deps.dns;
	g->env.store = gw->deps.store;
	g->env.dkim_remote = gw->deps.dkim_remote;
	g->runner = runner_new(runner_default_stages, runner_ndefault, &g->env, err);
	if (g->runner == NULL) {
		free(g);
		return NULL;
	}
	return g;
}

/* ---- sessions ------------------------------------------------------------ */

struct gw_session {
	struct gateway *gw;
	struct gw_gen *gen;
	struct arena *arena; /* the connection arena */
	struct msg_conn *conn;
	struct msg *m;
	struct spool_tx *tx;
	smtp_done_fn done;
	void *session;
	bool tx_used;     /* m has a MAIL FROM: the next MAIL starts a new msg */
	bool tls_pending; /* TLS came up while the connect stages still ran */
	/* a queue commit running on the work pool: the session outlives a
	 * close until it is back (the threads use tx and env) */
	bool committing, closed;
	struct spool_envelope env;
	struct sx_err commit_err;
	int commit_rc;
	char reply[512];
	char qid[SPOOL_ID_MAX];
};

static uint64_t gw_next_id(struct gateway *gw)
{
	return gw->next_id++;
}

/* gw_answer - hand a reply to the SMTP session (once per question).  It
 * is often called from deep inside a stage's DNS callback; that is safe
 * because the server picks answers up in a fresh loop turn
 * (smtp_server.c conn_wakeup), so nothing frees the session or the
 * message while that callback is still on the stack. */
static void gw_answer(struct gw_session *s, unsigned code, const char *enhanced, const char *text,
                      bool disconnect)
{
	struct smtp_reply r = { code, enhanced, text, disconnect };
	smtp_done_fn done = s->done;

	s->done = NULL;
	if (done != NULL)
		done(s->session, code != 0 ? &r : NULL);
}

static void gw_answer_tempfail(struct gw_session *s)
{
	gw_answer(s, 451, "4.3.0", "Temporary server error, please try again later", false);
}

/* gw_tx_drop - forget the transaction: spool file and message */
static void gw_tx_drop(struct gw_session *s)
{
	s->tx = spool_tx_abort(s->tx);
	s->m = msg_free(s->m);
	s->tx_used = false;
}

/* gw_tx_fresh - a new transaction context; -1 when memory runs out */
static int gw_tx_fresh(struct gw_session *s)
{
	gw_tx_drop(s);
	s->m = msg_new(s->conn, gw_next_id(s->gw));
	return s->m != NULL ? 0 : -1;
}

static void gw_tls_run(struct gw_session *s);

static void gw_connect_done(struct msg *m, void *arg)
{
	struct gw_session *s = arg;
	const struct msg_reply *r = &m->verdict.reply;

	if (s->tls_pending && m->verdict.action != MSG_ACTION_REJECT &&
	    m->verdict.action != MSG_ACTION_TEMPFAIL)
		gw_tls_run(s); /* implicit TLS: the certificate's connector, now */

	if (m->verdict.action == MSG_ACTION_REJECT || m->verdict.action == MSG_ACTION_TEMPFAIL) {
		/* refused before the greeting: RFC 5321 3.1 allows 554; EOP
		 * answers the block with its 5xx and hangs up, and so do we */
		gw_answer(s, r->code, r->enhanced, r->text, true);
		return;
	}
	gw_answer(s, 0, NULL, NULL, false);
}

static void *gw_connect(void *arg, const struct smtp_conn_info *ci, smtp_done_fn done,
                        void *session)
{
	struct gateway *gw = arg;
	struct gw_session *s;
	struct arena *a = arena_new();
	char local[NET_ADDR_STRLEN];

	if (a == NULL || (s = arena_zalloc(a, sizeof(*s))) == NULL) {
		arena_free(a);
		done(session, &(struct smtp_reply){ 421, "4.3.2", "Service not available", true });
		return NULL;
	}
	s->gw = gw;
	s->arena = a;
	s->gen = gw->gen;
	s->gen->refs++;
	gw->sessions++;
	s->done = done;
	s->session = session;
	s->conn = msg_conn_new(a, ci->session_id);
	if (s->conn == NULL)
		goto fail;
	msg_conn_set_peer(s->conn, &ci->peer, ci->peer_port);
	s->conn->local_text = arena_strdup(a, net_addr_format(&ci->local, local, sizeof(local)));
	s->conn->local_port = ci->local_port;
	s->conn->listener = ci->listener != NULL ? arena_strdup(a, ci->listener) : NULL;
	s->conn->ptr = ci->ptr_name != NULL ? arena_strdup(a, ci->ptr_name) : NULL;
	if (gw_tx_fresh(s) < 0)
		goto fail;
	s->tx_used = true; /* MAIL starts a transaction of its own */
	if (runner_run(s->gen->runner, s->m, STAGE_EV_CONNECT, gw_connect_done, s) < 0)
		goto fail;
	return s;
fail:
	gw_answer(s, 421, "4.3.2", "Service not available", true);
	return s;
}

static void gw_helo(void *h, const char *name, bool esmtp, smtp_done_fn done, void *session)
{
	struct gw_session *s = h;

	if (s == NULL) {
		done(session, NULL);
		return;
	}
	s->conn->helo = arena_strdup(s->arena, name);
	s->conn->esmtp = esmtp;
	done(session, NULL);
}

static void gw_tls(void *h, const struct smtp_tls_info *tls)
{
	struct gw_session *s = h;
	struct msg_tls *t;
	size_t i;

	if (s == NULL || tls == NULL)
		return;
	t = &s->conn->tls;
	t->active = tls->active;
	t->version = tls->version != NULL ? arena_strdup(s->arena, tls->version) : NULL;
	t->cipher = tls->cipher != NULL ? arena_strdup(s->arena, tls->cipher) : NULL;
	t->peer_subject =
	    tls->peer_subject != NULL ? arena_strdup(s->arena, tls->peer_subject) : NULL;
	t->peer_verified = tls->peer_verified;
	t->npeer_names = 0;
	t->peer_names = tls->npeer_names > 0
	                    ? arena_array(s->arena, tls->npeer_names, sizeof(*t->peer_names))
	                    : NULL;
	for (i = 0; t->peer_names != NULL && i < tls->npeer_names; i++)
		if ((t->peer_names[t->npeer_names] = arena_strdup(s->arena, tls->peer_names[i])) !=
		    NULL)
			t->npeer_names++;
	gw_tls_run(s);
}

static void gw_tls_done(struct msg *m, void *arg)
{
	(void)m;
	(void)arg;
}

/* gw_tls_run - the TLS event: the connection stage matches connectors by
 * certificate (synchronous: no stage suspends on it) */
static void gw_tls_run(struct gw_session *s)
{
	if (s->m == NULL)
		return;
	if (runner_busy(s->m)) { /* implicit TLS before the connect stages are done */
		s->tls_pending = true;
		return;
	}
	s->tls_pending = false;
	if (runner_run(s->gen->runner, s->m, STAGE_EV_TLS, gw_tls_done, s) < 0)
		msg_conn_log(s->conn, LOG_LEVEL_WARN, "gateway", "event=tls-stage-failed");
}

/* gw_trace_refused - one refusal into the message trace under the session
 * id; ev holds what differs between the refusals, the rest is set here */
static void gw_trace_refused(struct gw_session *s, struct store_trace_event *ev)
{
	char sid[17];

	snprintf(sid, sizeof(sid), "%016llx", (unsigned long long)s->conn->session_id);
	ev->kind = STORE_TRACE_REJECTED;
	ev->session_id = sid;
	ev->client_ip = s->conn->ip_text;
	msgtrace_event(s->gw->deps.store, ev);
}

/* gw_refuse_mail - a connector that requires TLS, before STARTTLS:
 * RFC 3207's 530, traced under the session id */
static void gw_refuse_mail(struct gw_session *s, const char *sender)
{
	const struct smtp_reply_def *r = smtp_reply_get(SMTP_R_TLS_REQUIRED);
	struct store_trace_event ev;
	char reply[200];

	snprintf(reply, sizeof(reply), "%u %s %s", r->code, r->enhanced, r->text);
	msg_conn_log(s->conn, LOG_LEVEL_INFO, "mail",
	             "event=refused reason=require_tls connector=%s", s->conn->connector);
	memset(&ev, 0, sizeof(ev));
	ev.time = pipeline_now(&s->gen->env);
	ev.sender = sender;
	ev.verdict = "reject";
	ev.reasons = "require_tls";
	ev.detail = reply;
	gw_trace_refused(s, &ev);
	gw_answer(s, r->code, r->enhanced, r->text, false);
}

static void gw_mail(void *h, const char *sender, const struct smtp_mail_params *p,
                    smtp_done_fn done, void *session)
{
	struct gw_session *s = h;

	if (s == NULL) {
		done(session, NULL);
		return;
	}
	s->done = done;
	s->session = session;
	if (s->conn->require_tls && !s->conn->tls.active) {
		gw_refuse_mail(s, sender);
		return;
	}
	if ((s->tx_used || s->m == NULL || runner_busy(s->m)) && gw_tx_fresh(s) < 0) {
		gw_answer_tempfail(s);
		return;
	}
	s->tx_used = true;
	if (msg_set_sender(s->m, sender) < 0) {
		gw_answer_tempfail(s);
		return;
	}
	s->m->size_param = p->size;
	s->m->smtputf8 = p->smtputf8;
	s->m->body_8bit = p->body_8bitmime || p->body_binarymime;
	s->m->dsn_ret = p->dsn_ret != NULL ? arena_strdup(s->m->arena, p->dsn_ret) : NULL;
	s->m->dsn_envid = p->dsn_envid != NULL ? arena_strdup(s->m->arena, p->dsn_envid) : NULL;
	gw_answer(s, 0, NULL, NULL, false);
}

/* gw_trace_rcpt - a recipient refused at RCPT goes into the message trace
 * under the session id (EOP's trace shows edge blocking too) */
static void gw_trace_rcpt(struct gw_session *s, const struct msg *m, const struct msg_rcpt *rc)
{
	struct store_trace_event ev;
	char reply[400];

	snprintf(reply, sizeof(reply), "%u %s %s", rc->reply.code,
	         rc->reply.enhanced != NULL ? rc->reply.enhanced : "",
	         rc->reply.text != NULL ? rc->reply.text : "");
	memset(&ev, 0, sizeof(ev));
	ev.time = pipeline_now(&s->gen->env);
	ev.sender = m->sender;
	ev.recipient = rc->addr;
	ev.verdict = "reject";
	ev.reasons = rc->why;
	ev.detail = reply;
	gw_trace_refused(s, &ev);
}

static void gw_rcpt_done(struct msg *m, void *arg)
{
	struct gw_session *s = arg;
	const struct msg_rcpt *rc = &m->rcpts[m->nrcpts - 1];

	if (rc->status == MSG_RCPT_REJECTED)
		gw_trace_rcpt(s, m, rc);
	if (rc->status == MSG_RCPT_ACCEPTED) {
		gw_answer(s, 0, NULL, NULL, false);
		return;
	}
	if (rc->reply.code == 0) { /* no stage decided: never accept by default */
		gw_answer_tempfail(s);
		return;
	}
	gw_answer(s, rc->reply.code, rc->reply.enhanced, rc->reply.text, false);
}

static void gw_rcpt(void *h, const char *rcpt, const struct smtp_rcpt_params *p, smtp_done_fn done,
                    void *session)
{
	struct gw_session *s = h;
	struct msg_rcpt *rc;

	if (s == NULL) {
		done(session, NULL);
		return;
	}
	s->done = done;
	s->session = session;
	if (s->m == NULL || runner_busy(s->m)) {
		gw_answer_tempfail(s);
		return;
	}
	if (s->m->nrcpts >= MSG_MAX_RCPTS) {
		gw_answer(s, 452, "4.5.3", "Too many recipients", false);
		return;
	}
	rc = msg_rcpt_add(s->m, rcpt);
	if (rc == NULL) {
		gw_answer_tempfail(s);
		return;
	}
	rc->notify = p->dsn_notify != NULL ? arena_strdup(s->m->arena, p->dsn_notify) : NULL;
	rc->orcpt = p->dsn_orcpt != NULL ? arena_strdup(s->m->arena, p->dsn_orcpt) : NULL;
	if (runner_run(s->gen->runner, s->m, STAGE_EV_RCPT, gw_rcpt_done, s) < 0)
		gw_answer_tempfail(s);
}

static int gw_data_begin(void *h)
{
	struct gw_session *s = h;
	struct sx_err err;

	if (s == NULL || s->m == NULL || s->tx != NULL)
		return -1;
	s->tx = spool_tx_begin(s->gw->deps.spool, &err);
	if (s->tx == NULL) {
		msg_log(s->m, LOG_LEVEL_ERROR, "gateway", "event=spool-error error=\"%s\"",
		        err.msg);
		return -1;
	}
	return 0;
}

static int gw_data_write(void *h, const char *buf, size_t len)
{
	struct gw_session *s = h;

	if (s == NULL || s->tx == NULL)
		return -1;
	return spool_tx_write(s->tx, buf, len);
}

/* ---- the end of data: verdict, then one durable place ------------------- */

/* gw_envelope - the spool envelope of m (strings in m's arena) */
static int gw_envelope(struct gw_session *s, struct spool_envelope *env)
{
	struct msg *m = s->m;
	const struct msg_verdict *v = &m->verdict;
	size_t i, n = 0;
	char verdict[GW_VERDICT_MAX];

	memset(env, 0, sizeof(*env));
	env->received = m->received;
	env->session_id =
	    arena_printf(m->arena, "%016llx", (unsigned long long)m->conn->session_id);
	env->message_id = m->hdr.message_id != NULL ? m->hdr.message_id : "";
	env->sender = m->sender;
	env->dsn_ret = m->dsn_ret != NULL ? m->dsn_ret : "";
	env->dsn_envid = m->dsn_envid != NULL ? m->dsn_envid : "";
	env->rcpts = arena_array(m->arena, m->nrcpts > 0 ? m->nrcpts : 1, sizeof(*env->rcpts));
	if (env->session_id == NULL || env->rcpts == NULL)
		return -1;
	for (i = 0; i < m->nrcpts; i++) {
		const struct msg_rcpt *rc = &m->rcpts[i];

		if (rc->status != MSG_RCPT_ACCEPTED)
			continue;
		env->rcpts[n].addr = rc->addr;
		env->rcpts[n].notify = rc->notify != NULL ? rc->notify : "";
		env->rcpts[n].orcpt = rc->orcpt != NULL ? rc->orcpt : "";
		env->rcpts[n].state = SPOOL_RCPT_PENDING;
		n++;
	}
	env->nrcpts = n;
	env->client_ip = m->conn->ip_text;
	env->helo = m->conn->helo != NULL ? m->conn->helo : "";
	env->ptr = m->conn->ptr != NULL ? m->conn->ptr : "";
	env->direction = m->outbound ? SPOOL_OUTBOUND : SPOOL_INBOUND;
	env->connector = m->conn->connector != NULL ? m->conn->connector : "";
	snprintf(verdict, sizeof(verdict),
	         "action=%s scl=%d sfv=%s cat=%s ipv=%s compauth=%s reason=%03u dmarc=%s msg=%s "
	         "direction=%s connector=%.64s",
	         msg_action_name(v->action), v->scl, msg_sfv_name(v->sfv),
	         v->cat != NULL ? v->cat : "NONE", msg_ipv_name(m->conn->ipv),
	         v->compauth != NULL ? v->compauth : "none", v->compauth_reason,
	         v->dmarc != NULL ? v->dmarc : "none", m->id_text,
	         m->outbound ? "outbound" : "inbound",
	         m->conn->connector != NULL ? m->conn->connector : "-");
	env->verdict = arena_strdup(m->arena, verdict);
	env->headers = (const char **)m->prepend;
	env->nheaders = m->nprepend;
	if (env->verdict == NULL)
		return -1;
	if (v->action == MSG_ACTION_QUARANTINE) {
		env->quarantined = true;
		env->q_policy = v->action_why != NULL ? v->action_why : "policy";
		env->q_reasons = arena_array(m->arena, v->nreasons > 0 ? v->nreasons : 1,
		                             sizeof(*env->q_reasons));
		if (env->q_reasons == NULL)
			return -1;
		for (i = 0; i < v->nreasons; i++)
			env->q_reasons[i] = v->reasons[i].name;
		env->nq_reasons = v->nreasons;
	}
	return 0;
}

static int gw_copy_write(void *arg, const char *p, size_t n)
{
	return spool_tx_write(arg, p, n);
}

/* gw_strip - when incoming fields claim our authserv-id, the spool file
 * gets rewritten without them (rare: forged, or a second pass) */
static int gw_strip(struct gw_session *s, struct sx_err *err)
{
	struct spool_tx *copy;

	if (s->m->nstrip == 0)
		return 0;
	copy = spool_tx_begin(s->gw->deps.spool, err);
	if (copy == NULL)
		return -1;
	if (headers_output_body(s->m, gw_copy_write, copy) != 0 || spool_tx_finish(copy, err) < 0) {
		sx_err_set(err, "spool: cannot rewrite without our Authentication-Results");
		spool_tx_abort(copy);
		return -1;
	}
	/* m->data pointed into the old file: nothing reads it from here on */
	s->m->data = NULL;
	s->m->len = 0;
	s->tx = spool_tx_abort(s->tx);
	s->tx = copy;
	return 0;
}

static void gw_trace_reject(struct gw_session *s, const char *reply)
{
	struct msg *m = s->m;
	struct store_trace_event ev;
	size_t i;

	for (i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].status != MSG_RCPT_ACCEPTED)
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.time = m->received;
		ev.spool_id = s->tx != NULL ? spool_tx_id(s->tx) : NULL;
		ev.message_id = m->hdr.message_id;
		ev.sender = m->sender;
		ev.recipient = m->rcpts[i].addr;
		ev.verdict = msg_action_name(m->verdict.action);
		ev.reasons = m->verdict.action_why;
		ev.detail = reply;
		ev.size = m->len;
		gw_trace_refused(s, &ev);
	}
}

/* gw_committed - the message is in its durable place (rc 0) or not: trace
 * it and answer; on a session whose client has gone only the trace */
static void gw_committed(struct gw_session *s, int rc, enum store_trace_kind kind,
                         const struct sx_err *err)
{
	struct msg *m = s->m;

	s->tx = spool_tx_free(s->tx);
	if (rc < 0) {
		msg_log(m, LOG_LEVEL_ERROR, "gateway", "event=commit-failed error=\"%s\"",
		        err->msg);
		if (!s->closed)
			gw_answer_tempfail(s);
		return;
	}
	m->queue_id = s->qid;
	s->env.id = s->qid;
	msg_log(m, LOG_LEVEL_INFO, "gateway", "event=%s spool_id=%s rcpts=%zu size=%zu%s",
	        kind == STORE_TRACE_QUARANTINED ? "quarantined" : "queued", s->qid, s->env.nrcpts,
	        m->len, s->closed ? " client=gone" : "");
	if (kind == STORE_TRACE_ACCEPTED) /* quarantine_commit writes its own */
		msgtrace_envelope(s->gw->deps.store, &s->env, kind, NULL, m->verdict.action_why,
		                  m->received);
	if (kind == STORE_TRACE_ACCEPTED && s->gw->deps.queued != NULL)
		s->gw->deps.queued(s->gw->deps.queued_arg, s->qid);
	if (s->closed)
		return;
	snprintf(s->reply, sizeof(s->reply), "Ok: queued as %s", s->qid);
	gw_answer(s, 250, "2.0.0", s->reply, false);
}

/* gw_commit_run - on a worker thread: only the spool transaction and the
 * envelope, which nothing on the loop touches until gw_commit_done */
static void gw_commit_run(void *arg)
{
	struct gw_session *s = arg;

	s->commit_rc = spool_tx_commit(s->tx, &s->env, SPOOL_QUEUE, &s->commit_err);
}

static void gw_session_free(struct gw_session *s);

static void gw_commit_done(void *arg)
{
	struct gw_session *s = arg;

	s->committing = false;
	gw_committed(s, s->commit_rc, STORE_TRACE_ACCEPTED, &s->commit_err);
	if (s->closed)
		gw_session_free(s);
}

static void gw_eom_done(struct msg *m, void *arg)
{
	struct gw_session *s = arg;
	const struct msg_verdict *v = &m->verdict;
	struct sx_err err = { 0 };
	enum store_trace_kind kind = STORE_TRACE_ACCEPTED;
	int rc;

	switch (v->action) {
	case MSG_ACTION_REJECT:
	case MSG_ACTION_TEMPFAIL:
		snprintf(s->reply, sizeof(s->reply), "%u %s %s", v->reply.code,
		         v->reply.enhanced != NULL ? v->reply.enhanced : "",
		         v->reply.text != NULL ? v->reply.text : "");
		if (v->action == MSG_ACTION_REJECT)
			gw_trace_reject(s, s->reply);
		s->tx = spool_tx_abort(s->tx);
		gw_answer(s, v->reply.code, v->reply.enhanced, v->reply.text, false);
		return;
	case MSG_ACTION_DROP:
		msg_log(m, LOG_LEVEL_INFO, "gateway", "event=dropped");
		s->tx = spool_tx_abort(s->tx);
		gw_answer(s, 250, "2.0.0", "Ok", false);
		return;
	case MSG_ACTION_DELIVER:
	case MSG_ACTION_JUNK:
	case MSG_ACTION_QUARANTINE:
		break;
	}
	if (gw_envelope(s, &s->env) < 0 || gw_strip(s, &err) < 0) {
		msg_log(m, LOG_LEVEL_ERROR, "gateway", "event=commit-failed error=\"%s\"",
		        err.msg[0] != '\0' ? err.msg : "out of memory");
		s->tx = spool_tx_abort(s->tx);
		gw_answer_tempfail(s);
		return;
	}
	snprintf(s->qid, sizeof(s->qid), "%s", spool_tx_id(s->tx));
	if (v->action == MSG_ACTION_QUARANTINE) {
		rc = quarantine_commit(s->tx, &s->env, &s->gw->qopts, s->gw->deps.store,
		                       m->received, &err);
		kind = STORE_TRACE_QUARANTINED;
	} else if (s->gw->deps.workpool != NULL) {
		s->committing = true;
		if (workpool_submit(s->gw->deps.workpool, gw_commit_run, gw_commit_done, s) == 0)
			return;
		s->committing = false;
		rc = spool_tx_commit(s->tx, &s->env, SPOOL_QUEUE, &err);
	} else {
		rc = spool_tx_commit(s->tx, &s->env, SPOOL_QUEUE, &err);
	}
	gw_committed(s, rc, kind, &err);
}

static void gw_data_end(void *h, smtp_done_fn done, void *session)
{
	struct gw_session *s = h;
	struct sx_err err = { 0 };
	const char *data;
	size_t len;

	if (s == NULL) {
		done(session,
		     &(struct smtp_reply){ 451, "4.3.0", "Temporary server error", false });
		return;
	}
	s->done = done;
	s->session = session;
	if (s->m == NULL || s->tx == NULL || runner_busy(s->m) || msg_rcpt_accepted(s->m) == 0 ||
	    spool_tx_finish(s->tx, &err) < 0 || spool_tx_data(s->tx, &data, &len) < 0) {
		if (err.msg[0] != '\0')
			msg_conn_log(s->conn, LOG_LEVEL_ERROR, "gateway",
			             "event=spool-error error=\"%s\"", err.msg);
		s->tx = spool_tx_abort(s->tx);
		gw_answer_tempfail(s);
		return;
	}
	s->conn->messages++;
	msg_set_data(s->m, data, len);
	s->m->received = pipeline_now(&s->gen->env);
	if (runner_run(s->gen->runner, s->m, STAGE_EV_EOM, gw_eom_done, s) < 0) {
		s->tx = spool_tx_abort(s->tx);
		gw_answer_tempfail(s);
	}
}

static void gw_reset(void *h)
{
	struct gw_session *s = h;

	if (s == NULL)
		return;
	if (gw_tx_fresh(s) < 0)
		msg_conn_log(s->conn, LOG_LEVEL_WARN, "gateway", "event=reset-nomem");
}

static void gw_close(void *h)
{
	struct gw_session *s = h;

	if (s == NULL)
		return;
	s->done = NULL; /* no answer after close */
	s->closed = true;
	if (s->committing) /* gw_commit_done frees it */
		return;
	gw_session_free(s);
}

static void gw_session_free(struct gw_session *s)
{
	struct gateway *gw = s->gw;

	gw_tx_drop(s); /* cancels stages in flight, removes incoming/ */
	if (s->conn != NULL)
		msg_conn_log(s->conn, LOG_LEVEL_INFO, "disconnect", "ip=%s messages=%u",
		             s->conn->ip_text, s->conn->messages);
	gw_gen_unref(s->gen);
	gw->sessions--;
	arena_free(s->arena); /* s lives in it; connection counts are released */
}

/* ---- the gateway ---------------------------------------------------------- */

struct gateway *gateway_new(const struct gateway_deps *deps, struct smexop_config *cfg,
                            struct sx_err *err)
{
	struct gateway *gw = calloc(1, sizeof(*gw));

	if (gw == NULL) {
		sx_err_set(err, "gateway: out of memory");
		return NULL;
	}
	gw->deps = *deps;
	gw->qopts.retention = deps->quarantine_retention;
	if (getrandom(&gw->next_id, sizeof(gw->next_id), 0) != sizeof(gw->next_id))
		gw->next_id = (uint64_t)time(NULL) << 20;
	gw->gen = gw_gen_new(gw, cfg, err);
	if (gw->gen == NULL) {
		free(gw);
		return NULL;
	}
	gw->hooks.arg = gw;
	gw->hooks.connect = gw_connect;
	gw->hooks.helo = gw_helo;
	gw->hooks.tls = gw_tls;
	gw->hooks.mail = gw_mail;
	gw->hooks.rcpt = gw_rcpt;
	gw->hooks.data_begin = gw_data_begin;
	gw->hooks.data_write = gw_data_write;
	gw->hooks.data_end = gw_data_end;
	gw->hooks.reset = gw_reset;
	gw->hooks.close = gw_close;
	return gw;
}

int gateway_reload(struct gateway *gw, struct smexop_config *cfg, struct sx_err *err)
{
	struct gw_gen *g = gw_gen_new(gw, cfg, err);

	if (g == NULL)
		return -1;
	gw_gen_unref(gw->gen);
	gw->gen = g;
	return 0;
}

const struct smtp_hooks *gateway_hooks(struct gateway *gw)
{
	return &gw->hooks;
}

unsigned gateway_sessions(const struct gateway *gw)
{
	return gw->sessions;
}

const struct smexop_config *gateway_config(const struct gateway *gw)
{
	return gw->gen->cfg;
}

struct gateway *gateway_free(struct gateway *gw)
{
	if (gw == NULL)
		return NULL;
	gw_gen_unref(gw->gen);
	free(gw);
	return NULL;
}
