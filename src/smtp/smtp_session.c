/*
 * smtp_session - the SMTP server state machine (see smtp_session.h)
 *
 * Three input modes: command lines (smtp_parse.c's line reader), DATA
 * (a byte state machine that unstuffs dots and only ends at CRLF.CRLF)
 * and BDAT (exactly n raw octets).  One hook call may be outstanding at a
 * time; while it is, input is not consumed, so pipelined commands are
 * answered in order.  Hooks may answer inside the call (synchronously)
 * or later; both paths go through session_done().
 *
 * Every reply the session makes itself comes from smtp_reply.c.  A hook's
 * reply is used as given when its code is 2xx, 4xx or 5xx; anything else
 * becomes 451 4.3.0 (unknown failures are temporary).
 */
#include "smtp/smtp_session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "smtp/smtp_parse.h"
#include "smtp/smtp_reply.h"

#define SESSION_OUT_CAP    (64 * 1024) /* replies batched before a write */
#define SESSION_OUT_FLUSH  (16 * 1024)
#define SESSION_DBUF_CAP   (64 * 1024) /* message bytes batched before data_write */
#define SESSION_DBUF_FLUSH (32 * 1024)
#define SESSION_TEXT_MAX   400 /* a hook's reply text is cut here */

enum session_phase {
	PH_NEW,        /* before smtp_session_start */
	PH_CONNECTING, /* waiting for the connect hook */
	PH_RUN,
	PH_REJECTED, /* greeting refused: only QUIT (RFC 5321 section 3.1) */
	PH_TLS_WAIT, /* STARTTLS answered, handshake pending */
	PH_CLOSING,
};

enum session_mode { MODE_CMD, MODE_DATA, MODE_BDAT };

enum session_pending { P_NONE, P_CONNECT, P_HELO, P_MAIL, P_RCPT, P_DATA_END };

enum tx_error { TXE_NONE, TXE_BARE, TXE_LINE, TXE_SIZE, TXE_SINK };

/* where DATA is within a line */
enum data_state {
	D_BOL,    /* after CRLF (or at the start) */
	D_DOT,    /* a dot at the start of a line */
	D_DOT_CR, /* ".<CR>" at the start of a line */
	D_MID,    /* inside a line */
	D_CR,     /* a CR inside a line */
};

struct smtp_session {
	struct smtp_session_config cfg;
	struct smtp_hooks hooks;
	struct smtp_conn_info ci;
	struct smtp_session_ops ops;
	void *owner;
	void *h;
	bool connected; /* connect was called: close is owed */

	enum session_phase phase;
	enum session_mode mode;
	enum session_pending pending;
	bool in_call;  /* inside a hook call that got our done callback */
	bool in_input; /* inside smtp_session_input */

	bool helo_done;
	bool esmtp;
	bool pend_esmtp;
	bool tls_active;
	bool mail_seen; /* a MAIL was accepted: the looser limits apply */
	unsigned errors;
	unsigned cmds_pre_mail;

	/* the transaction */
	bool tx;
	bool tx_utf8;
	enum smtp_body tx_body;
	unsigned rcpts;
	bool tx_bdat;
	uint64_t tx_size;
	enum tx_error tx_err;

	/* DATA and BDAT */
	enum data_state dstate;
	size_t dline;
	uint64_t bdat_left;
	bool bdat_last;
	int bdat_refuse; /* a reply id to send after draining, or -1 */

	char helo[SMTP_DOMAIN_MAX + 1];
	struct smtp_cmd cmd;
	struct smtp_line line;
	struct buf out;
	struct buf dbuf;
};

void smtp_limits_default(struct smtp_limits *l)
{
	l->cmd_line_max = SMTP_CMD_LINE_MAX;
	l->cmd_line_max_pre_mail = SMTP_CMD_LINE_MAX_PRE_MAIL;
	l->data_line_max = SMTP_DATA_LINE_MAX;
	l->message_size_max = SMTP_MESSAGE_SIZE_MAX;
	l->rcpts_max = SMTP_RCPTS_MAX;
	l->errors_max = SMTP_ERRORS_MAX;
	l->cmds_pre_mail_max = SMTP_CMDS_PRE_MAIL_MAX;
	l->cmd_timeout_ms = SMTP_CMD_TIMEOUT_MS;
	l->session_timeout_ms = SMTP_SESSION_TIMEOUT_MS;
}

void smtp_session_config_default(struct smtp_session_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->hostname = "localhost";
	smtp_limits_default(&cfg->limits);
	cfg->smtputf8 = true;
	cfg->dsn = true;
	cfg->chunking = true;
}

/* ---- output ---- */

static void session_flush(struct smtp_session *s)
{
	if (s->out.len == 0)
		return;
	if (s->ops.write != NULL)
		s->ops.write(s->owner, s->out.data, s->out.len);
	buf_clear(&s->out);
}

static void session_line(struct smtp_session *s, unsigned code, const char *enh, const char *text,
                         bool more)
{
	if (s->out.len > SESSION_OUT_FLUSH)
		session_flush(s);
	if (smtp_reply_format_line(&s->out, code, enh, text, more) < 0) {
		/* cannot happen with lines this short after a flush; never lose order */
		session_flush(s);
		if (smtp_reply_format_line(&s->out, code, enh, text, more) < 0)
			s->phase = PH_CLOSING;
	}
}

static void session_close(struct smtp_session *s)
{
	s->phase = PH_CLOSING;
	s->pending = P_NONE;
}

/* session_error - count a refusal; past the cap answer 421 and close */
static void session_error(struct smtp_session *s)
{
	if (s->phase == PH_CLOSING)
		return;
	if (++s->errors >= s->cfg.limits.errors_max) {
		const struct smtp_reply_def *r = smtp_reply_get(SMTP_R_TOO_MANY_ERRORS);

		session_line(s, r->code, r->enhanced, r->text, false);
		log_info("smtp session=%016" PRIx64 " event=close reason=too-many-errors errors=%u",
		         s->ci.session_id, s->errors);
		session_close(s);
	}
}

/* session_reply - a catalogue reply; 4xx/5xx count as errors except 421 and 452 4.5.3 */
static void session_reply(struct smtp_session *s, enum smtp_reply_id id)
{
	const struct smtp_reply_def *r = smtp_reply_get(id);

	session_line(s, r->code, r->enhanced, r->text, false);
	if (r->code == 421)
		session_close(s);
	else if (r->code >= 400 && id != SMTP_R_TOO_MANY_RCPTS)
		session_error(s);
}

static bool hook_ok(const struct smtp_reply *r)
{
	return r == NULL || r->code == 0 || (r->code >= 200 && r->code <= 299);
}

/*
 * session_hook_reply - send a hook's reply (code 0: the catalogue's id);
 * counts 4xx/5xx as errors when count is set
 */
static void session_hook_reply(struct smtp_session *s, const struct smtp_reply *r,
                               enum smtp_reply_id id, bool count)
{
	char text[SESSION_TEXT_MAX + 1];
	const char *enh;
	unsigned code;
	size_t n;

	if (r == NULL || r->code == 0) {
		session_reply(s, id);
		return;
	}
	code = r->code;
	if (code < 200 || code > 599 || code / 100 == 3) {
		log_warn("smtp session=%016" PRIx64 " event=bad-hook-reply code=%u",
		         s->ci.session_id, code);
		session_reply(s, SMTP_R_TEMP_FAILURE);
		return;
	}
	enh = r->enhanced;
	if (!smtp_reply_enhanced_ok(enh, code))
		enh = code < 300 ? "2.0.0" : code < 500 ? "4.0.0" : "5.0.0";
	n = r->text != NULL ? strlen(r->text) : 0;
	if (n > SESSION_TEXT_MAX)
		n = SESSION_TEXT_MAX;
	if (n > 0)
		memcpy(text, r->text, n);
	text[n] = '\0';
	if (n == 0)
		snprintf(text, sizeof(text), "%s", code < 300 ? "Ok" : "Refused");
	session_line(s, code, enh, text, false);
	if (r->disconnect || code == 421) {
		session_close(s);
		return;
	}
	if (count && code >= 400)
		session_error(s);
}

/* ---- transaction ---- */

static void data_flush(struct smtp_session *s)
{
	if (s->dbuf.len == 0)
		return;
	if (s->tx_err == TXE_NONE && s->hooks.data_write != NULL &&
	    s->hooks.data_write(s->h, s->dbuf.data, s->dbuf.len) < 0)
		s->tx_err = TXE_SINK;
	buf_clear(&s->dbuf);
}

static void tx_fail(struct smtp_session *s, enum tx_error e)
{
	if (s->tx_err == TXE_NONE)
		s->tx_err = e;
	buf_clear(&s->dbuf);
}

/* data_out - message bytes for the sink, counted against the size cap */
static void data_out(struct smtp_session *s, const char *p, size_t n)
{
	if (s->tx_err != TXE_NONE)
		return;
	if (s->tx_size > s->cfg.limits.message_size_max ||
	    n > s->cfg.limits.message_size_max - s->tx_size) {
		tx_fail(s, TXE_SIZE);
		return;
	}
	s->tx_size += n;
	if (s->dbuf.len + n > SESSION_DBUF_FLUSH)
		data_flush(s);
	if (n >= SESSION_DBUF_FLUSH) {
		if (s->hooks.data_write != NULL && s->hooks.data_write(s->h, p, n) < 0)
			s->tx_err = TXE_SINK;
		return;
	}
	if (buf_append(&s->dbuf, p, n) < 0)
		tx_fail(s, TXE_SINK);
}

/* tx_end - the transaction is over; reset tells the hooks to drop it */
static void tx_end(struct smtp_session *s, bool reset)
{
	s->tx = false;
	s->tx_utf8 = false;
	s->tx_body = SMTP_BODY_NONE;
	s->rcpts = 0;
	s->tx_bdat = false;
	s->tx_size = 0;
	s->tx_err = TXE_NONE;
	s->mode = MODE_CMD;
	buf_clear(&s->dbuf);
	if (reset && s->hooks.reset != NULL)
		s->hooks.reset(s->h);
}

static void session_done(void *session, const struct smtp_reply *reply);

static void session_ehlo_lines(const struct smtp_session *s, const char **lines, size_t *n,
                               char *sizebuf, size_t sizebufsize)
{
	size_t k = 0;

	snprintf(sizebuf, sizebufsize, "SIZE %" PRIu64, s->cfg.limits.message_size_max);
	lines[k++] = s->cfg.hostname;
	lines[k++] = "PIPELINING";
	lines[k++] = sizebuf;
	lines[k++] = "8BITMIME";
	if (s->cfg.smtputf8)
		lines[k++] = "SMTPUTF8";
	lines[k++] = "ENHANCEDSTATUSCODES";
	if (s->cfg.chunking) {
		lines[k++] = "CHUNKING";
		lines[k++] = "BINARYMIME";
	}
	if (s->cfg.dsn)
		lines[k++] = "DSN";
	if (s->cfg.starttls && !s->tls_active)
		lines[k++] = "STARTTLS";
	*n = k;
}

/* session_apply - a hook answered the pending question */
static void session_apply(struct smtp_session *s, enum session_pending p,
                          const struct smtp_reply *r)
{
	char text[SMTP_DOMAIN_MAX + 64];

	switch (p) {
	case P_CONNECT:
		if (hook_ok(r)) {
			snprintf(text, sizeof(text), "%s %s", s->cfg.hostname,
			         smtp_reply_get(SMTP_R_GREETING)->text);
			session_line(s, 220, NULL, text, false);
			s->phase = PH_RUN;
			return;
		}
		session_hook_reply(s, r, SMTP_R_TEMP_FAILURE, false);
		if (s->phase == PH_CLOSING)
			return;
		/* a temporary refusal closes; a permanent one waits for QUIT */
		if (r->code < 500)
			session_close(s);
		else
			s->phase = PH_REJECTED;
		return;
	case P_HELO:
		if (!hook_ok(r)) {
			session_hook_reply(s, r, SMTP_R_TEMP_FAILURE, true);
			return;
		}
		s->helo_done = true;
		s->esmtp = s->pend_esmtp;
		if (s->esmtp) {
			const char *lines[12];
			char sizebuf[40];
			size_t n, k;

			session_ehlo_lines(s, lines, &n, sizebuf, sizeof(sizebuf));
			for (k = 0; k < n; k++)
				session_line(s, 250, NULL, lines[k], k + 1 < n);
		} else {
			session_line(s, 250, NULL, s->cfg.hostname, false);
		}
		if (r != NULL && r->disconnect)
			session_close(s);
		return;
	case P_MAIL:
		if (hook_ok(r)) {
			s->tx = true;
			s->mail_seen = true;
			s->cmds_pre_mail = 0;
		}
		session_hook_reply(s, r, SMTP_R_SENDER_OK, true);
		return;
	case P_RCPT:
		if (hook_ok(r))
			s->rcpts++;
		session_hook_reply(s, r, SMTP_R_RCPT_OK, true);
		return;
	case P_DATA_END:
		log_info("smtp session=%016" PRIx64 " event=message size=%" PRIu64
		         " rcpts=%u code=%u",
		         s->ci.session_id, s->tx_size, s->rcpts,
		         r == NULL || r->code == 0 ? 250 : r->code);
		tx_end(s, false);
		session_hook_reply(s, r, SMTP_R_QUEUED, false);
		return;
	case P_NONE:
		break;
	}
}

static void session_done(void *session, const struct smtp_reply *reply)
{
	struct smtp_session *s = session;
	enum session_pending p;

	if (s == NULL || s->pending == P_NONE || s->phase == PH_CLOSING) {
		if (s != NULL && s->phase != PH_CLOSING)
			log_warn("smtp session=%016" PRIx64 " event=unexpected-hook-answer",
			         s->ci.session_id);
		return;
	}
	p = s->pending;
	s->pending = P_NONE;
	session_apply(s, p, reply);
	if (!s->in_call && !s->in_input) {
		session_flush(s);
		if (s->ops.wakeup != NULL)
			s->ops.wakeup(s->owner);
	}
}

/* session_wait - mark the question asked; the hook was given session_done */
static void session_ask(struct smtp_session *s, enum session_pending p)
{
	s->pending = p;
	s->in_call = true;
}

static void session_asked(struct smtp_session *s)
{
	s->in_call = false;
}

/* end_of_data - DATA ended at CRLF.CRLF or the last BDAT chunk arrived */
static void end_of_data(struct smtp_session *s)
{
	static const enum smtp_reply_id err_reply[] = {
		[TXE_NONE] = SMTP_R_TEMP_FAILURE,       [TXE_BARE] = SMTP_R_BARE_LF_CR,
		[TXE_LINE] = SMTP_R_DATA_LINE_TOO_LONG, [TXE_SIZE] = SMTP_R_MSG_TOO_BIG,
		[TXE_SINK] = SMTP_R_TEMP_FAILURE,
	};

	s->mode = MODE_CMD;
	data_flush(s);
	if (s->tx_err != TXE_NONE) {
		enum tx_error e = s->tx_err;

		if (e == TXE_BARE)
			log_warn("smtp session=%016" PRIx64
			         " event=refused reason=bare-lf-cr (smuggling defence)",
			         s->ci.session_id);
		tx_end(s, true);
		session_reply(s, err_reply[e]);
		return;
	}
	session_ask(s, P_DATA_END);
	if (s->hooks.data_end != NULL)
		s->hooks.data_end(s->h, session_done, s);
	else
		session_done(s, NULL);
	session_asked(s);
}

/* ---- DATA ---- */

static void data_line_add(struct smtp_session *s, size_t n)
{
	s->dline += n;
	if (s->dline > s->cfg.limits.data_line_max)
		tx_fail(s, TXE_LINE);
}

/*
 * data_bytes - the DATA state machine.  Only <CRLF>.<CRLF> ends the data
 * (the first CRLF may be the one that ended the DATA command).  A bare
 * LF, or a CR not followed by LF, fails the transaction but is otherwise
 * an ordinary byte: it never starts a line, so a dot after it is data.
 */
static size_t data_bytes(struct smtp_session *s, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		char c = p[i];

		switch (s->dstate) {
		case D_BOL:
			s->dline = 0;
			if (c == '.') {
				s->dstate = D_DOT;
				data_line_add(s, 1);
				i++;
			} else {
				s->dstate = D_MID;
			}
			break;
		case D_DOT:
			if (c == '\r') {
				s->dstate = D_DOT_CR;
				data_line_add(s, 1);
				i++;
			} else {
				/* the leading dot was stuffing (RFC 5321 section 4.5.2) */
				s->dstate = D_MID;
			}
			break;
		case D_DOT_CR:
			if (c == '\n') {
				end_of_data(s);
				return i + 1;
			}
			tx_fail(s, TXE_BARE);
			s->dstate = D_MID;
			break;
		case D_MID: {
			size_t j = i;

			while (j < n && p[j] != '\r' && p[j] != '\n')
				j++;
			if (j > i) {
				data_line_add(s, j - i);
				data_out(s, p + i, j - i);
				i = j;
			} else if (c == '\r') {
				s->dstate = D_CR;
				data_line_add(s, 1);
				i++;
			} else {
				/* bare LF: refused, and it ends no line */
				tx_fail(s, TXE_BARE);
				data_line_add(s, 1);
				i++;
			}
			break;
		}
		case D_CR:
			if (c == '\n') {
				data_line_add(s, 1);
				data_out(s, "\r\n", 2);
				s->dstate = D_BOL;
				i++;
			} else {
				tx_fail(s, TXE_BARE);
				s->dstate = D_MID;
			}
			break;
		}
	}
	return i;
}

/* ---- BDAT ---- */

static void bdat_chunk_end(struct smtp_session *s)
{
	s->mode = MODE_CMD;
	if (s->bdat_refuse >= 0) {
		session_reply(s, (enum smtp_reply_id)s->bdat_refuse);
		return;
	}
	if (s->tx_err != TXE_NONE || s->bdat_last) {
		end_of_data(s);
		return;
	}
	data_flush(s);
	if (s->tx_err != TXE_NONE) {
		end_of_data(s);
		return;
	}
	session_reply(s, SMTP_R_CHUNK_OK);
}

static size_t bdat_bytes(struct smtp_session *s, const char *p, size_t n)
{
	size_t take = n;

	if ((uint64_t)take > s->bdat_left)
		take = (size_t)s->bdat_left;
	if (s->bdat_refuse < 0)
		data_out(s, p, take);
	s->bdat_left -= take;
	if (s->bdat_left == 0)
		bdat_chunk_end(s);
	return take;
}

/* ---- commands ---- */

static enum smtp_reply_id parse_reply(enum smtp_parse_status st, enum smtp_verb v)
{
	switch (st) {
	case SMTP_PARSE_OK:
	case SMTP_PARSE_SYNTAX:
		break;
	case SMTP_PARSE_UNKNOWN_VERB:
		return SMTP_R_UNKNOWN_CMD;
	case SMTP_PARSE_NO_ARGS:
		return SMTP_R_NO_ARGS;
	case SMTP_PARSE_BAD_DOMAIN:
		return SMTP_R_BAD_HELO;
	case SMTP_PARSE_BAD_PATH:
		return v == SMTP_VERB_MAIL ? SMTP_R_BAD_SENDER : SMTP_R_BAD_RCPT;
	case SMTP_PARSE_UTF8:
		return SMTP_R_UTF8_NOT_ALLOWED;
	case SMTP_PARSE_PARAM_UNKNOWN:
		return SMTP_R_PARAM_UNKNOWN;
	case SMTP_PARSE_PARAM_BAD:
		return SMTP_R_PARAM_BAD;
	}
	return SMTP_R_SYNTAX;
}

static void cmd_helo(struct smtp_session *s, const struct smtp_cmd *c)
{
	memcpy(s->helo, c->arg, c->arg_len);
	s->helo[c->arg_len] = '\0';
	/* HELO/EHLO resets like RSET (RFC 5321 section 4.1.4) */
	if (s->tx)
		tx_end(s, true);
	s->pend_esmtp = c->verb == SMTP_VERB_EHLO;
	session_ask(s, P_HELO);
	if (s->hooks.helo != NULL)
		s->hooks.helo(s->h, s->helo, s->pend_esmtp, session_done, s);
	else
		session_done(s, NULL);
	session_asked(s);
}

static void cmd_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_mail_params mp;

	if (c->has_size && c->size > s->cfg.limits.message_size_max) {
		session_reply(s, SMTP_R_MSG_TOO_BIG);
		return;
	}
	memset(&mp, 0, sizeof(mp));
	mp.size = c->has_size ? c->size : 0;
	mp.body_8bitmime = c->body == SMTP_BODY_8BITMIME;
	mp.body_binarymime = c->body == SMTP_BODY_BINARYMIME;
	mp.smtputf8 = c->smtputf8;
	mp.dsn_ret = c->ret == SMTP_RET_FULL ? "FULL" : c->ret == SMTP_RET_HDRS ? "HDRS" : NULL;
	mp.dsn_envid = c->has_envid ? c->envid : NULL;
	tx_end(s, true); /* a new MAIL transaction: the hooks drop the old one */
	s->tx_utf8 = c->smtputf8;
	s->tx_body = c->body;
	session_ask(s, P_MAIL);
	if (s->hooks.mail != NULL)
		s->hooks.mail(s->h, c->path, &mp, session_done, s);
	else
		session_done(s, NULL);
	session_asked(s);
}

static void cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
	struct smtp_rcpt_params rp;

	if (s->rcpts >= s->cfg.limits.rcpts_max) {
		session_reply(s, SMTP_R_TOO_MANY_RCPTS);
		return;
	}
	rp.dsn_notify = c->has_notify ? c->notify : NULL;
	rp.dsn_orcpt = c->has_orcpt ? c->orcpt : NULL;
	session_ask(s, P_RCPT);
	if (s->hooks.rcpt != NULL)
		s->hooks.rcpt(s->h, c->path, &rp, session_done, s);
	else
		session_done(s, NULL);
	session_asked(s);
}

static void cmd_data(struct smtp_session *s)
{
	if (s->tx_bdat) {
		session_reply(s, SMTP_R_DATA_BDAT_MIX);
		return;
	}
	if (s->tx_body == SMTP_BODY_BINARYMIME) {
		session_reply(s, SMTP_R_BINARYMIME_DATA);
		return;
	}
	if (s->rcpts == 0) {
		session_reply(s, SMTP_R_NO_RCPT);
		return;
	}
	if (s->hooks.data_begin != NULL && s->hooks.data_begin(s->h) < 0) {
		tx_end(s, true);
		session_reply(s, SMTP_R_TEMP_FAILURE);
		return;
	}
	s->tx_size = 0;
	s->tx_err = TXE_NONE;
	s->dstate = D_BOL;
	s->dline = 0;
	s->mode = MODE_DATA;
	session_reply(s, SMTP_R_DATA_GO);
}

static void cmd_bdat(struct smtp_session *s, const struct smtp_cmd *c)
{
	s->bdat_left = c->chunk_size;
	s->bdat_last = c->last;
	s->bdat_refuse = -1;
	if (c->chunk_size > s->cfg.limits.message_size_max) {
		/* a chunk that can never fit: draining it could take hours, close */
		session_reply(s, SMTP_R_MSG_TOO_BIG);
		session_close(s);
		return;
	}
	if (!s->tx)
		s->bdat_refuse = SMTP_R_NEED_MAIL;
	else if (s->rcpts == 0)
		s->bdat_refuse = SMTP_R_NO_RCPT;
	else if (!s->tx_bdat) {
		if (s->hooks.data_begin != NULL && s->hooks.data_begin(s->h) < 0) {
			tx_end(s, true);
			s->bdat_refuse = SMTP_R_TEMP_FAILURE;
		} else {
			s->tx_bdat = true;
			s->tx_size = 0;
			s->tx_err = TXE_NONE;
		}
	}
	s->mode = MODE_BDAT;
	if (s->bdat_left == 0)
		bdat_chunk_end(s);
}

static void cmd_starttls(struct smtp_session *s)
{
	if (s->tls_active) {
		session_reply(s, SMTP_R_TLS_ACTIVE);
		return;
	}
	if (!s->cfg.starttls) {
		session_reply(s, SMTP_R_TLS_NOT_AVAIL);
		return;
	}
	if (s->tx)
		tx_end(s, true);
	session_reply(s, SMTP_R_TLS_GO);
	s->phase = PH_TLS_WAIT;
	smtp_line_reset(&s->line);
}

static void session_command(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd *c = &s->cmd;
	enum smtp_parse_status st;
	unsigned flags = 0;

	if (s->esmtp)
		flags |= SMTP_PARSE_ESMTP;
	if (s->tx_utf8)
		flags |= SMTP_PARSE_UTF8_OK;
	if (!s->cfg.smtputf8)
		flags |= SMTP_PARSE_NO_UTF8;
	if (!s->cfg.dsn)
		flags |= SMTP_PARSE_NO_DSN;
	if (!s->cfg.chunking)
		flags |= SMTP_PARSE_NO_BINARY;
	st = smtp_parse_command(line, len, flags, c);

	if (s->phase == PH_REJECTED) {
		if (c->verb == SMTP_VERB_QUIT) {
			session_reply(s, SMTP_R_BYE);
			session_close(s);
		} else {
			session_reply(s, SMTP_R_BAD_SEQUENCE);
		}
		return;
	}
	if (!s->tx && c->verb != SMTP_VERB_MAIL && c->verb != SMTP_VERB_QUIT &&
	    ++s->cmds_pre_mail > s->cfg.limits.cmds_pre_mail_max) {
		log_info("smtp session=%016" PRIx64 " event=close reason=too-many-commands",
		         s->ci.session_id);
		session_reply(s, SMTP_R_TOO_MANY_COMMANDS);
		return;
	}

	/* sequence first (as Postfix and OpenSMTPD do), then syntax */
	switch (c->verb) {
	case SMTP_VERB_MAIL:
		if (!s->helo_done) {
			session_reply(s, SMTP_R_NEED_HELO);
			return;
		}
		if (s->tx) {
			session_reply(s, SMTP_R_NESTED_MAIL);
			return;
		}
		break;
	case SMTP_VERB_RCPT:
	case SMTP_VERB_DATA:
		if (!s->tx) {
			session_reply(s, SMTP_R_NEED_MAIL);
			return;
		}
		break;
	default:
		break;
	}
	if (st != SMTP_PARSE_OK) {
		session_reply(s, parse_reply(st, c->verb));
		/* a bad BDAT leaves us out of step with the chunk bytes: stop */
		if (c->verb == SMTP_VERB_BDAT && s->phase != PH_CLOSING)
			session_close(s);
		return;
	}
	switch (c->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		cmd_helo(s, c);
		break;
	case SMTP_VERB_MAIL:
		cmd_mail(s, c);
		break;
	case SMTP_VERB_RCPT:
		cmd_rcpt(s, c);
		break;
	case SMTP_VERB_DATA:
		cmd_data(s);
		break;
	case SMTP_VERB_BDAT:
		cmd_bdat(s, c);
		break;
	case SMTP_VERB_RSET:
		tx_end(s, true);
		session_reply(s, SMTP_R_OK);
		break;
	case SMTP_VERB_NOOP:
		session_reply(s, SMTP_R_OK);
		break;
	case SMTP_VERB_QUIT:
		session_reply(s, SMTP_R_BYE);
		session_close(s);
		break;
	case SMTP_VERB_VRFY:
		session_reply(s, SMTP_R_VRFY);
		break;
	case SMTP_VERB_HELP:
		session_reply(s, SMTP_R_HELP);
		break;
	case SMTP_VERB_STARTTLS:
		cmd_starttls(s);
		break;
	case SMTP_VERB_UNKNOWN:
		session_reply(s, SMTP_R_UNKNOWN_CMD);
		break;
	}
}

static size_t cmd_bytes(struct smtp_session *s, const char *p, size_t n)
{
	enum smtp_line_status st;
	size_t used = 0;

	s->line.max =
	    s->mail_seen ? s->cfg.limits.cmd_line_max : s->cfg.limits.cmd_line_max_pre_mail;
	st = smtp_line_push(&s->line, p, n, &used);
	if (st == SMTP_LINE_TOO_LONG)
		session_reply(s, SMTP_R_LINE_TOO_LONG);
	else if (st == SMTP_LINE_READY)
		session_command(s, s->line.buf.data, s->line.buf.len);
	return used;
}

/* ---- public ---- */

struct smtp_session *smtp_session_new(const struct smtp_session_config *cfg,
                                      const struct smtp_hooks *hooks,
                                      const struct smtp_conn_info *ci,
                                      const struct smtp_session_ops *ops, void *owner)
{
	struct smtp_session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cfg = *cfg;
	if (s->cfg.hostname == NULL)
		s->cfg.hostname = "localhost";
	if (s->cfg.limits.errors_max == 0)
		s->cfg.limits.errors_max = 1;
	if (hooks != NULL)
		s->hooks = *hooks;
	if (ci != NULL)
		s->ci = *ci;
	if (ops != NULL)
		s->ops = *ops;
	s->owner = owner;
	s->phase = PH_NEW;
	s->bdat_refuse = -1;
	smtp_line_init(&s->line, s->cfg.limits.cmd_line_max_pre_mail);
	buf_init(&s->out, SESSION_OUT_CAP);
	buf_init(&s->dbuf, SESSION_DBUF_CAP);
	return s;
}

void smtp_session_start(struct smtp_session *s, const struct smtp_tls_info *tls)
{
	if (s == NULL || s->phase != PH_NEW)
		return;
	s->phase = PH_CONNECTING;
	s->tls_active = tls != NULL && tls->active;
	s->connected = true;
	session_ask(s, P_CONNECT);
	if (s->hooks.connect != NULL)
		s->h = s->hooks.connect(s->hooks.arg, &s->ci, session_done, s);
	else
		session_done(s, NULL);
	session_asked(s);
	if (s->tls_active && s->hooks.tls != NULL)
		s->hooks.tls(s->h, tls);
	session_flush(s);
}

size_t smtp_session_input(struct smtp_session *s, const char *data, size_t len)
{
	size_t off = 0;

	if (s == NULL)
		return len;
	if (s->phase == PH_CLOSING || s->phase == PH_TLS_WAIT)
		return len; /* nothing more is read; plaintext after STARTTLS is dropped */
	if (s->pending != P_NONE || s->phase == PH_NEW || s->phase == PH_CONNECTING)
		return 0;
	s->in_input = true;
	while (off < len && s->pending == P_NONE &&
	       (s->phase == PH_RUN || s->phase == PH_REJECTED)) {
		switch (s->mode) {
		case MODE_CMD:
			off += cmd_bytes(s, data + off, len - off);
			break;
		case MODE_DATA:
			off += data_bytes(s, data + off, len - off);
			break;
		case MODE_BDAT:
			off += bdat_bytes(s, data + off, len - off);
			break;
		}
	}
	if (s->phase == PH_CLOSING || s->phase == PH_TLS_WAIT)
		off = len;
	if (s->mode != MODE_CMD)
		data_flush(s);
	s->in_input = false;
	session_flush(s);
	return off;
}

void smtp_session_tls_done(struct smtp_session *s, const struct smtp_tls_info *tls)
{
	if (s == NULL || s->phase != PH_TLS_WAIT)
		return;
	/* RFC 3207 section 4.2: forget everything learnt before the handshake */
	s->phase = PH_RUN;
	s->mode = MODE_CMD;
	s->tls_active = true;
	s->helo_done = false;
	s->esmtp = false;
	s->mail_seen = false;
	if (s->tx)
		tx_end(s, true);
	smtp_line_reset(&s->line);
	if (s->hooks.tls != NULL && tls != NULL)
		s->hooks.tls(s->h, tls);
}

void smtp_session_timeout(struct smtp_session *s, enum smtp_timeout what)
{
	if (s == NULL || s->phase == PH_CLOSING)
		return;
	log_info("smtp session=%016" PRIx64 " event=close reason=%s", s->ci.session_id,
	         what == SMTP_TIMEOUT_COMMAND ? "timeout" : "session-timeout");
	session_reply(s, what == SMTP_TIMEOUT_COMMAND ? SMTP_R_TIMEOUT : SMTP_R_SESSION_TIMEOUT);
	session_close(s);
	session_flush(s);
}

void smtp_session_shutdown(struct smtp_session *s)
{
	if (s == NULL || s->phase == PH_CLOSING)
		return;
	session_reply(s, SMTP_R_SHUTDOWN);
	session_close(s);
	session_flush(s);
}

enum smtp_session_want smtp_session_want(const struct smtp_session *s)
{
	if (s == NULL || s->phase == PH_CLOSING)
		return SMTP_WANT_CLOSE;
	if (s->phase == PH_TLS_WAIT)
		return SMTP_WANT_TLS;
	if (s->pending != P_NONE || s->phase == PH_NEW || s->phase == PH_CONNECTING)
		return SMTP_WANT_WAIT;
	return SMTP_WANT_INPUT;
}

bool smtp_session_in_data(const struct smtp_session *s)
{
	return s != NULL && s->mode != MODE_CMD;
}

struct smtp_session *smtp_session_free(struct smtp_session *s)
{
	if (s == NULL)
		return NULL;
	s->phase = PH_CLOSING;
	s->pending = P_NONE;
	if (s->connected && s->hooks.close != NULL)
		s->hooks.close(s->h);
	smtp_line_free(&s->line);
	buf_free(&s->out);
	buf_free(&s->dbuf);
	free(s);
	return NULL;
}
