/*
 * smtp_client_proto - the SMTP/LMTP client engine (see smtp_client_proto.h)
 *
 * One transaction is a list of steps (RSET, MAIL, RCPT..., DATA or
 * BDAT) and a queue of the replies we wait for.  Without PIPELINING a
 * step is written when the previous one was answered; with it every step
 * up to DATA goes at once (BDAT waits for the RCPT replies: there is no
 * point sending a megabyte to nobody).  Replies are matched to the queue
 * in order, which RFC 2920 guarantees.
 */
#include "smtp/smtp_client_proto.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/str.h"
#include "smtp/smtp_response.h"

#define CMD_CAP 4096 /* one command line we write */

enum cp_state {
	CP_GREETING,
	CP_EHLO,
	CP_HELO,
	CP_STARTTLS,
	CP_TLS,
	CP_READY,
	CP_TRANS,
	CP_QUIT,
	CP_CLOSED,
};

enum cp_step {
	STEP_RSET,
	STEP_MAIL,
	STEP_RCPT,
	STEP_DATA,       /* DATA, or BDAT <size> LAST and the data */
	STEP_END,        /* a reply to the end of data (LMTP: one per accepted recipient) */
	STEP_DOT_IGNORE, /* "." after a 354 nobody wanted */
};

struct cp_expect {
	enum cp_step step;
	size_t idx; /* the recipient for RCPT and LMTP END; SIZE_MAX: all */
};

struct cp_trans {
	struct smtp_client_msg m;
	struct smtp_client_rcpt_result *res;
	bool *done;     /* the recipient has its final result */
	bool *accepted; /* 2xx to RCPT */
	size_t naccepted;
	struct cp_expect *steps; /* what to write, in order */
	size_t nsteps, next_step;
	struct cp_expect *q; /* replies we wait for */
	size_t qhead, qtail, qcap;
	bool stop;        /* write nothing more (MAIL refused, ...) */
	bool rset;        /* RSET first */
	bool bdat;        /* CHUNKING instead of DATA */
	bool eightbit;    /* BODY=8BITMIME */
	bool smtputf8;    /* SMTPUTF8 parameter */
	uint64_t size;    /* the normalised size on the wire (without stuffing) */
	bool pumping;     /* message data is being written */
	bool data_sent;   /* the end of data went out */
	bool end_reached; /* the server answered the end of data */
	/* the data pump */
	size_t seg; /* 0..nprepend-1: a prepended field, nprepend: the data */
	size_t off; /* in the segment */
	bool line_start;
	bool eol_pending; /* the segment ended, its line end is still to be written */
};

struct smtp_client_proto {
	struct smtp_client_proto_config cfg;
	struct smtp_client_proto_ops ops;
	void *owner;
	enum cp_state state;
	struct smtp_client_caps caps;
	struct smtp_response r;
	struct buf cmd;
	bool tls_active;
	bool need_rset;
	unsigned messages;
	bool have_error;
	struct smtp_client_reply error;
	char greeting[SMTP_CLIENT_TEXT_MAX];
	struct cp_trans *t;
	unsigned in_data_wait; /* the reply waited for is the 354 */
};

static void cp_reply_set(struct smtp_client_reply *out, unsigned code, const char *enh,
                         const char *text)
{
	out->code = code;
	snprintf(out->enhanced, sizeof(out->enhanced), "%s", enh ? enh : "");
	snprintf(out->text, sizeof(out->text), "%s", text ? text : "");
	out->local = true;
}

static void cp_reply_from(struct smtp_client_reply *out, const struct smtp_response *r)
{
	cp_reply_set(out, r->code, r->enhanced, r->text);
	out->local = false;
}

static void cp_trans_free(struct cp_trans *t)
{
	if (t == NULL)
		return;
	free(t->res);
	free(t->done);
	free(t->accepted);
	free(t->steps);
	free(t->q);
	free(t);
}

struct smtp_client_proto *smtp_client_proto_new(const struct smtp_client_proto_config *cfg,
                                                const struct smtp_client_proto_ops *ops,
                                                void *owner)
{
	struct smtp_client_proto *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->cfg = *cfg;
	c->ops = *ops;
	c->owner = owner;
	c->tls_active = cfg->tls_active;
	c->state = CP_GREETING;
	smtp_response_init(&c->r);
	buf_init(&c->cmd, CMD_CAP);
	return c;
}

struct smtp_client_proto *smtp_client_proto_free(struct smtp_client_proto *c)
{
	if (c == NULL)
		return NULL;
	cp_trans_free(c->t);
	smtp_response_free(&c->r);
	buf_free(&c->cmd);
	free(c);
	return NULL;
}

/* cp_write - write bytes; a failure ends the session */
static int cp_write(struct smtp_client_proto *c, const void *p, size_t n);

static void cp_close(struct smtp_client_proto *c, const struct smtp_client_reply *why);

/* cp_command - write one command line (the caller's text has no CR or LF) */
static int cp_command(struct smtp_client_proto *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int cp_command(struct smtp_client_proto *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	buf_clear(&c->cmd);
	va_start(ap, fmt);
	rc = buf_vprintf(&c->cmd, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		struct smtp_client_reply why;
		cp_reply_set(&why, 0, "", "command too long");
		cp_close(c, &why);
		return -1;
	}
	if (c->ops.transcript != NULL)
		c->ops.transcript(c->owner, true, c->cmd.data, c->cmd.len);
	if (buf_append(&c->cmd, "\r\n", 2) < 0)
		return -1;
	return cp_write(c, c->cmd.data, c->cmd.len);
}

static int cp_write(struct smtp_client_proto *c, const void *p, size_t n)
{
	if (c->state == CP_CLOSED)
		return -1;
	if (c->ops.write(c->owner, p, n) < 0) {
		struct smtp_client_reply why;
		cp_reply_set(&why, 0, "", "write to the server failed");
		cp_close(c, &why);
		return -1;
	}
	return 0;
}

/* cp_trans_finish - every recipient without a result gets why; msg_done */
static void cp_trans_finish(struct smtp_client_proto *c, const struct smtp_client_reply *why)
{
	struct cp_trans *t = c->t;
	struct smtp_client_msg_result mr;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->m.nrcpts; i++)
		if (!t->done[i]) {
			t->res[i].reply = *why;
			t->res[i].at_rcpt = false;
			t->done[i] = true;
		}
	if (t->next_step > 0) /* something was written: did it end cleanly? */
		c->need_rset = !t->end_reached;
	mr.rcpts = t->res;
	mr.nrcpts = t->m.nrcpts;
	mr.data_sent = t->data_sent;
	c->t = NULL;
	c->messages++;
	if (c->state == CP_TRANS)
		c->state = CP_READY;
	if (c->ops.msg_done != NULL)
		c->ops.msg_done(c->owner, &mr);
	cp_trans_free(t);
}

/* cp_close - the session ends: a message in flight ends with why */
static void cp_close(struct smtp_client_proto *c, const struct smtp_client_reply *why)
{
	if (c->state == CP_CLOSED)
		return;
	if (why != NULL && !c->have_error) {
		c->error = *why;
		c->have_error = true;
	}
	c->state = CP_CLOSED;
	if (c->t != NULL) {
		struct smtp_client_reply none;
		if (why == NULL)
			cp_reply_set(&none, 0, "", "session closed");
		cp_trans_finish(c, why != NULL ? why : &none);
	}
}

/* cp_fail - the server refused the session: say goodbye and close */
static void cp_fail(struct smtp_client_proto *c, const struct smtp_client_reply *why)
{
	if (c->state != CP_CLOSED && why->code != 421)
		(void)cp_command(c, "QUIT");
	cp_close(c, why);
}

static void cp_fail_text(struct smtp_client_proto *c, const char *enh, const char *text)
{
	struct smtp_client_reply why;

	cp_reply_set(&why, 0, enh, text);
	cp_fail(c, &why);
}

/* cp_hello - EHLO, LHLO or HELO */
static void cp_hello(struct smtp_client_proto *c, bool helo)
{
	memset(&c->caps, 0, sizeof(c->caps));
	c->state = helo ? CP_HELO : CP_EHLO;
	(void)cp_command(c, "%s %s",
	                 helo          ? "HELO"
	                 : c->cfg.lmtp ? "LHLO"
	                               : "EHLO",
	                 c->cfg.helo_name != NULL && c->cfg.helo_name[0] ? c->cfg.helo_name
	                                                                 : "localhost");
}

static void cp_parse_caps(struct smtp_client_proto *c)
{
	const char *p;
	size_t n;
	uint64_t v;

	c->caps.esmtp = true;
	c->caps.pipelining =
	    smtp_response_keyword(&c->r, "PIPELINING", &p, &n) && !c->cfg.no_pipelining;
	c->caps.eightbitmime = smtp_response_keyword(&c->r, "8BITMIME", &p, &n);
	c->caps.smtputf8 = smtp_response_keyword(&c->r, "SMTPUTF8", &p, &n);
	c->caps.dsn = smtp_response_keyword(&c->r, "DSN", &p, &n);
	c->caps.chunking = smtp_response_keyword(&c->r, "CHUNKING", &p, &n);
	c->caps.starttls = smtp_response_keyword(&c->r, "STARTTLS", &p, &n);
	c->caps.enhanced = smtp_response_keyword(&c->r, "ENHANCEDSTATUSCODES", &p, &n);
	c->caps.size = 0;
	c->caps.sizeext = smtp_response_keyword(&c->r, "SIZE", &p, &n);
	if (c->caps.sizeext && n > 0 && n <= 20 && str_to_u64(p, n, 0, UINT64_MAX, &v) == 0)
		c->caps.size = v;
}

/* cp_hello_done - after EHLO/HELO: STARTTLS, or ready */
static void cp_hello_done(struct smtp_client_proto *c)
{
	if (!c->tls_active && c->cfg.tls != SMTP_CLIENT_TLS_NO && c->caps.starttls) {
		c->state = CP_STARTTLS;
		(void)cp_command(c, "STARTTLS");
		return;
	}
	if (!c->tls_active && c->cfg.tls == SMTP_CLIENT_TLS_MUST) {
		cp_fail_text(c, "4.7.4", "TLS is required, but was not offered by the server");
		return;
	}
	c->state = CP_READY;
}

/* ---- the message data ---- */

static bool cp_is_ascii(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static bool cp_clean(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* cp_seg - segment i of the message: a prepended field (line end forced) or the data */
static void cp_seg(const struct cp_trans *t, size_t i, const char **p, size_t *n, bool *force_eol)
{
	if (i < t->m.nprepend) {
		*p = t->m.prepend[i] != NULL ? t->m.prepend[i] : "";
		*n = strlen(*p);
		*force_eol = *n > 0;
	} else {
		*p = t->m.data != NULL ? t->m.data : "";
		*n = t->m.data != NULL ? t->m.len : 0;
		*force_eol = false;
	}
}

/* cp_measure - the size of the normalised message (CRLF line ends, no
 * stuffing) and whether it has 8-bit bytes */
static void cp_measure(struct cp_trans *t)
{
	size_t s, i;
	uint64_t size = 0;
	bool eight = false;

	for (s = 0; s <= t->m.nprepend; s++) {
		const char *p;
		size_t n;
		bool force, line_start = true;

		cp_seg(t, s, &p, &n, &force);
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)p[i];

			if (ch == '\r' && i + 1 < n && p[i + 1] == '\n') {
				size += 2;
				i++;
				line_start = true;
			} else if (ch == '\r' || ch == '\n') {
				size += 2;
				line_start = true;
			} else {
				if (ch >= 0x80)
					eight = true;
				size++;
				line_start = false;
			}
		}
		(void)force;
		if (!line_start)
			size += 2; /* the pump ends the last line */
	}
	t->size = size;
	t->eightbit = eight;
}

bool smtp_client_proto_pumping(const struct smtp_client_proto *c)
{
	return c->t != NULL && c->t->pumping;
}

/* cp_end_of_data - the data is out: "." for DATA, and the replies we wait for */
static void cp_end_of_data(struct smtp_client_proto *c)
{
	struct cp_trans *t = c->t;
	size_t i;

	t->pumping = false;
	if (!t->bdat && cp_write(c, ".\r\n", 3) < 0)
		return;
	if (c->ops.transcript != NULL)
		c->ops.transcript(c->owner, true, t->bdat ? "<data>" : "<data> .", t->bdat ? 6 : 8);
	t->data_sent = true;
	if (c->cfg.lmtp) {
		for (i = 0; i < t->m.nrcpts; i++)
			if (t->accepted[i])
				t->q[t->qtail++] = (struct cp_expect){ STEP_END, i };
	} else {
		t->q[t->qtail++] = (struct cp_expect){ STEP_END, SIZE_MAX };
	}
}

void smtp_client_proto_pump(struct smtp_client_proto *c, size_t budget)
{
	struct cp_trans *t = c->t;
	size_t done = 0;

	if (t == NULL || !t->pumping || c->state != CP_TRANS)
		return;
	while (t->seg <= t->m.nprepend && done < budget) {
		const char *p;
		size_t n, i, run;
		bool force;

		cp_seg(t, t->seg, &p, &n, &force);
		if (t->off == 0 && n == 0) {
			t->seg++;
			continue;
		}
		i = run = t->off;
		while (i < n && done + (i - t->off) < budget) {
			unsigned char ch = (unsigned char)p[i];

			if (ch == '\r' && i + 1 < n && p[i + 1] == '\n') {
				i += 2;
				t->line_start = true;
			} else if (ch == '\r' || ch == '\n') {
				/* a bare CR or LF ends the line: written as CRLF */
				if ((i > run && cp_write(c, p + run, i - run) < 0) ||
				    cp_write(c, "\r\n", 2) < 0)
					return;
				run = ++i;
				t->line_start = true;
			} else {
				if (t->line_start && ch == '.' && !t->bdat) {
					if ((i > run && cp_write(c, p + run, i - run) < 0) ||
					    cp_write(c, ".", 1) < 0)
						return;
					run = i;
				}
				t->line_start = false;
				i++;
			}
		}
		if (i > run && cp_write(c, p + run, i - run) < 0)
			return;
		done += i - t->off;
		t->off = i;
		if (i < n)
			break;
		/* the segment is out: end its last line */
		if (!t->line_start) {
			if (cp_write(c, "\r\n", 2) < 0)
				return;
			t->line_start = true;
		}
		t->seg++;
		t->off = 0;
	}
	if (t->seg > t->m.nprepend)
		cp_end_of_data(c);
}

/* ---- the transaction ---- */

static int cp_param_ok(const char *v)
{
	/* xtext and keywords: printable ASCII without spaces or '=' surprises */
	for (; v != NULL && *v != '\0'; v++)
		if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
			return 0;
	return 1;
}

/* cp_trans_write - write the steps that may go now */
static void cp_trans_write(struct smtp_client_proto *c)
{
	struct cp_trans *t = c->t;

	while (t != NULL && c->t == t && !t->stop && t->next_step < t->nsteps &&
	       c->state == CP_TRANS) {
		struct cp_expect *s = &t->steps[t->next_step];
		bool outstanding = t->qhead != t->qtail;
		int rc = 0;

		if (outstanding && !c->caps.pipelining)
			return;
		if (s->step == STEP_DATA && (t->bdat && outstanding))
			return;
		if (s->step == STEP_DATA && !outstanding && t->naccepted == 0)
			return; /* nobody to send to: the transaction ends below */
		t->next_step++;
		switch (s->step) {
		case STEP_RSET:
			rc = cp_command(c, "RSET");
			break;
		case STEP_MAIL: {
			char size[32] = "";

			if (c->caps.sizeext)
				snprintf(size, sizeof(size), " SIZE=%" PRIu64, t->size);
			rc = cp_command(
			    c, "MAIL FROM:<%s>%s%s%s%s%s%s%s", t->m.sender ? t->m.sender : "",
			    c->caps.esmtp ? size : "", t->eightbit ? " BODY=8BITMIME" : "",
			    t->smtputf8 ? " SMTPUTF8" : "",
			    c->caps.dsn && t->m.dsn_ret && t->m.dsn_ret[0] ? " RET=" : "",
			    c->caps.dsn && t->m.dsn_ret && t->m.dsn_ret[0] ? t->m.dsn_ret : "",
			    c->caps.dsn && t->m.dsn_envid && t->m.dsn_envid[0] ? " ENVID=" : "",
			    c->caps.dsn && t->m.dsn_envid && t->m.dsn_envid[0] ? t->m.dsn_envid
			                                                       : "");
			break;
		}
		case STEP_RCPT: {
			const struct smtp_client_rcpt *r = &t->m.rcpts[s->idx];
			bool dsn = c->caps.dsn;

			rc = cp_command(c, "RCPT TO:<%s>%s%s%s%s", r->addr,
			                dsn && r->notify && r->notify[0] ? " NOTIFY=" : "",
			                dsn && r->notify && r->notify[0] ? r->notify : "",
			                dsn && r->orcpt && r->orcpt[0] ? " ORCPT=" : "",
			                dsn && r->orcpt && r->orcpt[0] ? r->orcpt : "");
			break;
		}
		case STEP_DATA:
			if (t->bdat) {
				rc = cp_command(c, "BDAT %" PRIu64 " LAST", t->size);
				if (rc == 0) {
					t->pumping = true;
					t->seg = t->off = 0;
					t->line_start = true;
					smtp_client_proto_pump(c, 65536);
				}
				continue; /* the END replies are queued by the pump */
			}
			rc = cp_command(c, "DATA");
			break;
		default:
			break;
		}
		if (rc < 0)
			return;
		t->q[t->qtail++] = *s;
	}
}

/* cp_trans_check - end the transaction when nothing more can happen */
static void cp_trans_check(struct smtp_client_proto *c)
{
	struct cp_trans *t = c->t;
	struct smtp_client_reply why;

	if (t == NULL || t->pumping || t->qhead != t->qtail)
		return;
	if (!t->stop && t->next_step < t->nsteps &&
	    !(t->steps[t->next_step].step == STEP_DATA && t->naccepted == 0))
		return;
	cp_reply_set(&why, 0, "", "no recipient was accepted");
	cp_trans_finish(c, &why);
}

/* cp_trans_reply - one reply of the transaction */
static void cp_trans_reply(struct smtp_client_proto *c)
{
	struct cp_trans *t = c->t;
	struct cp_expect e;
	struct smtp_client_reply rep;
	size_t i;
	bool ok = c->r.code >= 200 && c->r.code < 300;

	if (t->qhead == t->qtail) {
		cp_reply_from(&rep, &c->r);
		cp_fail(c, &rep); /* a reply nobody asked for */
		return;
	}
	e = t->q[t->qhead++];
	cp_reply_from(&rep, &c->r);
	switch (e.step) {
	case STEP_RSET:
	case STEP_MAIL:
		if (!ok) {
			/* the whole transaction fails; pipelined replies still come */
			t->stop = true;
			for (i = 0; i < t->m.nrcpts; i++)
				if (!t->done[i]) {
					t->res[i].reply = rep;
					t->res[i].at_rcpt = false;
					t->done[i] = true;
				}
			if (e.step == STEP_RSET || c->r.code == 421) {
				cp_fail(c, &rep);
				return;
			}
		}
		break;
	case STEP_RCPT:
		if (t->done[e.idx])
			break;
		if (ok) {
			t->accepted[e.idx] = true;
			t->naccepted++;
		} else {
			t->res[e.idx].reply = rep;
			t->res[e.idx].at_rcpt = true;
			t->done[e.idx] = true;
		}
		break;
	case STEP_DATA:
		if (c->r.code == 354) {
			if (t->naccepted == 0 || t->stop) {
				/* RFC 2920 section 3.1: nobody to send to, end the data at once */
				if (cp_write(c, ".\r\n", 3) < 0)
					return;
				t->q[t->qtail++] = (struct cp_expect){ STEP_DOT_IGNORE, SIZE_MAX };
				break;
			}
			t->pumping = true;
			t->seg = t->off = 0;
			t->line_start = true;
			smtp_client_proto_pump(c, 65536);
			return;
		}
		t->stop = true;
		for (i = 0; i < t->m.nrcpts; i++)
			if (!t->done[i]) {
				t->res[i].reply = rep;
				t->done[i] = true;
			}
		break;
	case STEP_END:
		t->end_reached = true;
		for (i = 0; i < t->m.nrcpts; i++)
			if (!t->done[i] && t->accepted[i] && (e.idx == SIZE_MAX || e.idx == i)) {
				t->res[i].reply = rep;
				t->res[i].at_rcpt = e.idx != SIZE_MAX;
				t->done[i] = true;
			}
		break;
	case STEP_DOT_IGNORE:
		break;
	}
	if (c->r.code == 421) {
		cp_fail(c, &rep);
		return;
	}
	cp_trans_write(c);
	cp_trans_check(c);
}

int smtp_client_proto_send(struct smtp_client_proto *c, const struct smtp_client_msg *m)
{
	struct cp_trans *t;
	size_t i, n = m->nrcpts;
	bool sender_ascii = cp_is_ascii(m->sender), any = false;

	if (c->state != CP_READY || c->t != NULL || n == 0 || n > SMTP_CLIENT_RCPTS_MAX)
		return -1;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->m = *m;
	t->res = calloc(n, sizeof(*t->res));
	t->done = calloc(n, sizeof(*t->done));
	t->accepted = calloc(n, sizeof(*t->accepted));
	t->steps = calloc(n + 3, sizeof(*t->steps));
	t->qcap = 2 * n + 4;
	t->q = calloc(t->qcap, sizeof(*t->q));
	if (t->res == NULL || t->done == NULL || t->accepted == NULL || t->steps == NULL ||
	    t->q == NULL) {
		cp_trans_free(t);
		return -1;
	}
	c->t = t;
	c->state = CP_TRANS;
	cp_measure(t);
	/* BODY=8BITMIME follows the bytes, not the flag: a message marked 8-bit
	 * that is all ASCII needs nothing from the server */
	t->bdat = c->caps.chunking && !c->cfg.no_chunking;

	/* decisions before anything is written (see the header: 8-bit, UTF-8, SIZE) */
	if (c->caps.size > 0 && t->size > c->caps.size) {
		char text[128];
		snprintf(text, sizeof(text),
		         "message size %" PRIu64 " exceeds size limit %" PRIu64 " of the server",
		         t->size, c->caps.size);
		struct smtp_client_reply why;
		cp_reply_set(&why, 552, "5.3.4", text);
		t->stop = true;
		cp_trans_finish(c, &why);
		return 0;
	}
	if (t->eightbit && !c->caps.eightbitmime) {
		struct smtp_client_reply why;
		cp_reply_set(&why, 554, "5.6.3",
		             "message has 8-bit content but the server does not offer 8BITMIME");
		cp_trans_finish(c, &why);
		return 0;
	}
	t->smtputf8 = m->smtputf8 && c->caps.smtputf8;
	if (!sender_ascii && !t->smtputf8) {
		struct smtp_client_reply why;
		cp_reply_set(&why, 553, "5.6.7",
		             m->smtputf8 ? "SMTPUTF8 is required but the server does not offer it"
		                         : "non-ASCII sender address without SMTPUTF8");
		cp_trans_finish(c, &why);
		return 0;
	}
	if (!cp_clean(m->sender) || (m->dsn_ret && !cp_param_ok(m->dsn_ret)) ||
	    (m->dsn_envid && !cp_param_ok(m->dsn_envid))) {
		struct smtp_client_reply why;
		cp_reply_set(&why, 553, "5.1.7", "bad sender address or parameters");
		cp_trans_finish(c, &why);
		return 0;
	}
	if (c->need_rset)
		t->steps[t->nsteps++] = (struct cp_expect){ STEP_RSET, SIZE_MAX };
	t->steps[t->nsteps++] = (struct cp_expect){ STEP_MAIL, SIZE_MAX };
	for (i = 0; i < n; i++) {
		const struct smtp_client_rcpt *r = &m->rcpts[i];

		if (r->addr == NULL || !cp_clean(r->addr) ||
		    (r->notify && !cp_param_ok(r->notify)) ||
		    (r->orcpt && !cp_param_ok(r->orcpt))) {
			cp_reply_set(&t->res[i].reply, 553, "5.1.3",
			             "bad recipient address syntax");
			t->done[i] = true;
		} else if (!cp_is_ascii(r->addr) && !t->smtputf8) {
			cp_reply_set(&t->res[i].reply, 553, "5.6.7",
			             "SMTPUTF8 is required but the server does not offer it");
			t->done[i] = true;
		} else {
			t->steps[t->nsteps++] = (struct cp_expect){ STEP_RCPT, i };
			any = true;
		}
	}
	if (!any) {
		struct smtp_client_reply why;
		cp_reply_set(&why, 0, "", "no recipient left");
		cp_trans_finish(c, &why);
		return 0;
	}
	t->steps[t->nsteps++] = (struct cp_expect){ STEP_DATA, SIZE_MAX };
	cp_trans_write(c);
	return 0;
}

/* ---- replies ---- */

static void cp_reply(struct smtp_client_proto *c)
{
	struct smtp_client_reply rep;
	unsigned code = c->r.code;

	cp_reply_from(&rep, &c->r);
	switch (c->state) {
	case CP_GREETING:
		snprintf(c->greeting, sizeof(c->greeting), "%s", c->r.text);
		if (code != 220) {
			cp_fail(c, &rep);
			return;
		}
		cp_hello(c, false);
		return;
	case CP_EHLO:
		if (code >= 200 && code < 300) {
			cp_parse_caps(c);
			cp_hello_done(c);
		} else if (code >= 500 && !c->cfg.lmtp) {
			cp_hello(c, true);
		} else {
			cp_fail(c, &rep);
		}
		return;
	case CP_HELO:
		if (code >= 200 && code < 300)
			cp_hello_done(c);
		else
			cp_fail(c, &rep);
		return;
	case CP_STARTTLS:
		if (code == 220) {
			c->state = CP_TLS;
		} else if (c->cfg.tls == SMTP_CLIENT_TLS_MUST || code == 421) {
			cp_fail(c, &rep);
		} else {
			c->state = CP_READY; /* opportunistic: go on in plaintext */
		}
		return;
	case CP_TRANS:
		cp_trans_reply(c);
		return;
	case CP_QUIT:
		cp_close(c, NULL);
		return;
	case CP_READY:
		/* a reply nobody asked for, typically 421 on an idle session */
		cp_fail(c, &rep);
		return;
	case CP_TLS:
	case CP_CLOSED:
		return;
	}
}

size_t smtp_client_proto_input(struct smtp_client_proto *c, const char *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		const char *start = p + off;
		const char *nl;
		size_t len;
		int rc;

		if (c->state == CP_CLOSED)
			return n; /* nothing more is read */
		if (c->state == CP_TLS)
			return off;
		nl = memchr(start, '\n', n - off);
		if (nl == NULL) {
			if (n - off + 1 > SMTP_RESPONSE_LINE_MAX)
				cp_fail_text(c, "", "reply line too long");
			return c->state == CP_CLOSED ? n : off;
		}
		len = (size_t)(nl - start);
		off += len + 1;
		if (len > 0 && start[len - 1] == '\r')
			len--;
		if (c->ops.transcript != NULL)
			c->ops.transcript(c->owner, false, start, len);
		rc = smtp_response_line(&c->r, start, len);
		if (rc < 0) {
			char text[128];
			snprintf(text, sizeof(text), "protocol error: %s", c->r.error);
			smtp_response_reset(&c->r);
			cp_fail_text(c, "", text);
			return n;
		}
		if (rc == 1) {
			cp_reply(c);
			smtp_response_reset(&c->r);
		}
	}
	return off;
}

enum smtp_client_want smtp_client_proto_want(const struct smtp_client_proto *c)
{
	switch (c->state) {
	case CP_TLS:
		return SMTP_CLIENT_WANT_TLS;
	case CP_READY:
		return SMTP_CLIENT_WANT_MESSAGE;
	case CP_CLOSED:
		return SMTP_CLIENT_WANT_CLOSE;
	default:
		return SMTP_CLIENT_WANT_REPLY;
	}
}

unsigned smtp_client_proto_timeout_ms(const struct smtp_client_proto *c)
{
	unsigned cmd = c->cfg.command_timeout_ms;
	const struct cp_trans *t = c->t;

	if (c->state == CP_TRANS && t != NULL) {
		if (t->pumping)
			return cmd ? cmd : SMTP_CLIENT_TIMEOUT_BLOCK_MS;
		if (t->data_sent)
			return c->cfg.data_timeout_ms ? c->cfg.data_timeout_ms
			                              : SMTP_CLIENT_TIMEOUT_END_MS;
		if (t->qhead != t->qtail && t->q[t->qhead].step == STEP_DATA)
			return cmd ? cmd : SMTP_CLIENT_TIMEOUT_DATA_MS;
	}
	return cmd ? cmd : SMTP_CLIENT_TIMEOUT_CMD_MS;
}

void smtp_client_proto_tls_done(struct smtp_client_proto *c)
{
	if (c->state != CP_TLS)
		return;
	c->tls_active = true;
	smtp_response_reset(&c->r);
	cp_hello(c, false);
}

void smtp_client_proto_abort(struct smtp_client_proto *c, const char *why)
{
	struct smtp_client_reply r;

	if (c->state == CP_QUIT) {
		cp_close(c, NULL);
		return;
	}
	cp_reply_set(&r, 0, "", why);
	cp_close(c, &r);
}

void smtp_client_proto_quit(struct smtp_client_proto *c)
{
	if (c->state != CP_READY)
		return;
	c->state = CP_QUIT;
	(void)cp_command(c, "QUIT");
}

const struct smtp_client_caps *smtp_client_proto_caps(const struct smtp_client_proto *c)
{
	return &c->caps;
}

const struct smtp_client_reply *smtp_client_proto_error(const struct smtp_client_proto *c)
{
	return c->have_error ? &c->error : NULL;
}

const char *smtp_client_proto_greeting(const struct smtp_client_proto *c)
{
	return c->greeting;
}

unsigned smtp_client_proto_messages(const struct smtp_client_proto *c)
{
	return c->messages;
}
