/*
 * Unit tests for smtp/smtp_session: the engine driven by byte scripts
 * through a fake hooks implementation, as case tables.  Every script runs
 * three times: in one piece, one byte at a time and in 7-byte pieces; the
 * replies, the message bytes and the hook calls must be the same.
 *
 * Covered: pipelining, every limit, SMTP smuggling variants, BDAT, DSN
 * parameters carried to the hooks, RSET, STARTTLS plaintext injection,
 * hooks answering later, hook replies that are malformed.  argv[1] is the
 * source root: docs/smtp-replies.md must equal smtp_reply_doc().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "smtp/smtp_reply.h"
#include "smtp/smtp_session.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *source_root = ".";

/* a buf's text ("" while nothing was appended) */
#define OUT(h) ((h).out.data != NULL ? (h).out.data : "")
#define LOG(h) ((h).f.log.data != NULL ? (h).f.log.data : "")

/* ---- fake hooks ---- */

struct fake {
	struct buf log;  /* hook calls, ";"-separated */
	struct buf data; /* message bytes as data_write got them */
	bool async;      /* answer later, through fake_answer */
	smtp_done_fn done;
	void *done_session;
	const char *pending_addr;
	int begin_rc;
	int write_rc;
	unsigned connects, closes;
	unsigned connect_code; /* 0, or a refusal */
};

static void fake_log(struct fake *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fake_log(struct fake *f, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	assert_int_equal(buf_printf(&f->log, "%s;", line), 0);
}

/* fake_reply - the answer for an address: bad* 550, tmp* 451, inject* a CRLF in
 * the text, weird* code 399, bye* 421 with disconnect, else default */
static struct smtp_reply fake_reply(const char *addr)
{
	struct smtp_reply r = { 0, NULL, NULL, false };

	if (addr == NULL)
		return r;
	if (strncmp(addr, "badenh", 6) == 0)
		r = (struct smtp_reply){ 550, "4.1.1", "class mismatch", false };
	else if (strncmp(addr, "bad", 3) == 0)
		r = (struct smtp_reply){ 550, "5.1.1", "User unknown", false };
	else if (strncmp(addr, "tmp", 3) == 0)
		r = (struct smtp_reply){ 451, "4.2.0", "Try later", false };
	else if (strncmp(addr, "inject", 6) == 0)
		r = (struct smtp_reply){ 250, "2.1.5", "ok\r\n250 fake", false };
	else if (strncmp(addr, "weird", 5) == 0)
		r = (struct smtp_reply){ 399, NULL, "what", false };
	else if (strncmp(addr, "bye", 3) == 0)
		r = (struct smtp_reply){ 421, "4.7.0", "Go away", true };
	return r;
}

static void fake_answer_now(struct fake *f, smtp_done_fn done, void *session, const char *addr)
{
	if (f->async) {
		assert_null(f->done); /* one question at a time */
		f->done = done;
		f->done_session = session;
		f->pending_addr = addr;
		return;
	}
	struct smtp_reply r = fake_reply(addr);
	done(session, &r);
}

static void *fake_connect(void *arg, const struct smtp_conn_info *ci, smtp_done_fn done,
                          void *session)
{
	struct fake *f = arg;
	struct smtp_reply r = { f->connect_code, "5.7.606", "Access denied, banned sending IP",
		                false };

	(void)ci;
	f->connects++;
	fake_log(f, "connect");
	if (f->connect_code != 0) {
		done(session, &r);
		return f;
	}
	fake_answer_now(f, done, session, NULL);
	return f;
}

static void fake_helo(void *h, const char *name, bool esmtp, smtp_done_fn done, void *session)
{
	struct fake *f = h;

	fake_log(f, "helo %s %d", name, esmtp);
	fake_answer_now(f, done, session, strcmp(name, "bad.test") == 0 ? "bad" : NULL);
}

static void fake_tls(void *h, const struct smtp_tls_info *tls)
{
	fake_log(h, "tls %s", tls->version);
}

static void fake_mail(void *h, const char *sender, const struct smtp_mail_params *p,
                      smtp_done_fn done, void *session)
{
	struct fake *f = h;

	fake_log(f, "mail <%s> size=%llu 8bit=%d binary=%d utf8=%d ret=%s envid=%s", sender,
	         (unsigned long long)p->size, p->body_8bitmime, p->body_binarymime, p->smtputf8,
	         p->dsn_ret ? p->dsn_ret : "-", p->dsn_envid ? p->dsn_envid : "-");
	fake_answer_now(f, done, session, sender);
}

static void fake_rcpt(void *h, const char *rcpt, const struct smtp_rcpt_params *p,
                      smtp_done_fn done, void *session)
{
	struct fake *f = h;

	fake_log(f, "rcpt <%s> notify=%s orcpt=%s", rcpt, p->dsn_notify ? p->dsn_notify : "-",
	         p->dsn_orcpt ? p->dsn_orcpt : "-");
	fake_answer_now(f, done, session, rcpt);
}

static int fake_data_begin(void *h)
{
	struct fake *f = h;

	fake_log(f, "begin");
	buf_clear(&f->data);
	return f->begin_rc;
}

static int fake_data_write(void *h, const char *p, size_t n)
{
	struct fake *f = h;

	assert_int_equal(buf_append(&f->data, p, n), 0);
	return f->write_rc;
}

static void fake_data_end(void *h, smtp_done_fn done, void *session)
{
	struct fake *f = h;

	fake_log(f, "end %zu", f->data.len);
	fake_answer_now(f, done, session, NULL);
}

static void fake_reset(void *h)
{
	fake_log(h, "reset");
}

static void fake_close(void *h)
{
	struct fake *f = h;

	f->closes++;
	fake_log(f, "close");
}

/* fake_answer - answer the outstanding question (async mode) */
static void fake_answer(struct fake *f, const struct smtp_reply *r)
{
	smtp_done_fn done = f->done;
	void *session = f->done_session;

	assert_non_null(done);
	f->done = NULL;
	if (r == NULL) {
		struct smtp_reply def = fake_reply(f->pending_addr);
		done(session, &def);
	} else {
		done(session, r);
	}
}

/* ---- harness: the owner of the session ---- */

struct harness {
	struct smtp_session *s;
	struct fake f;
	struct smtp_hooks hooks;
	struct buf out; /* everything the session wrote */
	struct buf in;  /* bytes the session has not consumed */
	unsigned wakeups;
};

static void h_write(void *owner, const char *data, size_t len)
{
	struct harness *h = owner;

	assert_int_equal(buf_append(&h->out, data, len), 0);
}

static void pump(struct harness *h);

static void h_wakeup(void *owner)
{
	struct harness *h = owner;

	h->wakeups++;
	pump(h);
}

static void tight_limits(struct smtp_session_config *cfg)
{
	smtp_session_config_default(cfg);
	cfg->hostname = "mx.test";
	cfg->starttls = true;
	cfg->limits.message_size_max = 200;
	cfg->limits.rcpts_max = 3;
	cfg->limits.errors_max = 5;
	cfg->limits.cmds_pre_mail_max = 8;
	cfg->limits.data_line_max = 80;
	cfg->limits.cmd_line_max = 128;
	cfg->limits.cmd_line_max_pre_mail = 100;
}

static void h_open(struct harness *h, const struct smtp_session_config *cfg)
{
	static const struct smtp_session_ops ops = { h_write, h_wakeup };
	struct smtp_conn_info ci;

	memset(h, 0, sizeof(*h));
	buf_init(&h->f.log, 1 << 20);
	buf_init(&h->f.data, 1 << 20);
	buf_init(&h->out, 1 << 20);
	buf_init(&h->in, 1 << 20);
	h->hooks =
	    (struct smtp_hooks){ &h->f,         fake_connect, fake_helo,       fake_tls,
		                 fake_mail,     fake_rcpt,    fake_data_begin, fake_data_write,
		                 fake_data_end, fake_reset,   fake_close };
	memset(&ci, 0, sizeof(ci));
	ci.session_id = 0x1234;
	ci.listener = "test";
	h->s = smtp_session_new(cfg, &h->hooks, &ci, &ops, h);
	assert_non_null(h->s);
}

static void h_close(struct harness *h)
{
	h->s = smtp_session_free(h->s);
	buf_free(&h->f.log);
	buf_free(&h->f.data);
	buf_free(&h->out);
	buf_free(&h->in);
}

static void pump(struct harness *h)
{
	while (h->in.len > 0 && smtp_session_want(h->s) == SMTP_WANT_INPUT) {
		size_t used = smtp_session_input(h->s, h->in.data, h->in.len);

		assert_true(used <= h->in.len);
		memmove(h->in.data, h->in.data + used, h->in.len - used);
		h->in.len -= used;
		if (used == 0)
			break;
	}
	if (smtp_session_want(h->s) == SMTP_WANT_CLOSE)
		buf_clear(&h->in);
}

static void feed_str(struct harness *h, const char *s);

/* feed - bytes from the peer in pieces of step octets */
static void feed(struct harness *h, const char *p, size_t n, size_t step)
{
	size_t off, k;

	for (off = 0; off < n; off += k) {
		k = n - off < step ? n - off : step;
		assert_int_equal(buf_append(&h->in, p + off, k), 0);
		pump(h);
	}
}

static void feed_str(struct harness *h, const char *s)
{
	feed(h, s, strlen(s), 1 << 20);
}

/* ---- the scripts ---- */

#define GREET "220 mx.test ESMTP smexop\r\n"
#define EHLO  "EHLO c.test\r\n"
#define EHLO_R0                                                                                    \
	"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 200\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"        \
	"250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-BINARYMIME\r\n"
#define EHLO_R   EHLO_R0 "250-DSN\r\n250 STARTTLS\r\n"
#define EHLO_TLS EHLO_R0 "250 DSN\r\n"
#define TX       "MAIL FROM:<a@b.test>\r\nRCPT TO:<r@d.test>\r\n"
#define TX_R     "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n"
#define DATA_R   "354 End data with <CR><LF>.<CR><LF>\r\n"
#define QUEUED   "250 2.0.0 Ok: queued\r\n"
#define BYE      "221 2.0.0 Bye\r\n"
#define OK       "250 2.0.0 Ok\r\n"
#define BARE     "550 5.5.2 Bare LF or CR in message data not allowed\r\n"
#define UNKNOWN  "500 5.5.1 Command unrecognized\r\n"
#define CHUNK    "250 2.0.0 Ok: chunk received\r\n"
#define NEEDM    "503 5.5.1 Need MAIL command\r\n"
#define BIG      "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
#define ERRS     "421 4.7.0 Too many errors, closing connection\r\n"
#define SMUGGLE  "MAIL FROM:<evil@x.test>\r\nRCPT TO:<v@d.test>\r\nDATA\r\nspoofed\r\n"

/* a line of n 'x' */
#define X10  "xxxxxxxxxx"
#define X70  X10 X10 X10 X10 X10 X10 X10
#define X100 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10

struct script {
	const char *name;
	const char *in;
	const char *want_out;  /* after the greeting */
	const char *want_data; /* NULL: not checked */
	const char *want_log;  /* substring of the hook log, NULL: not checked */
	const char *not_log;   /* must not appear in the log */
	int begin_rc, write_rc;
	enum smtp_session_want want_end;
};

static const struct script scripts[] = {
	{ "plain message", EHLO TX "DATA\r\nSubject: x\r\n\r\nhello\r\n..dot\r\n.\r\nQUIT\r\n",
	  EHLO_R TX_R DATA_R QUEUED BYE, "Subject: x\r\n\r\nhello\r\n.dot\r\n",
	  "helo c.test 1;reset;mail <a@b.test> size=0 8bit=0 binary=0 utf8=0 ret=- envid=-;"
	  "rcpt <r@d.test> notify=- orcpt=-;begin;end 27;",
	  NULL, 0, 0, SMTP_WANT_CLOSE },
	{ "empty message", EHLO TX "DATA\r\n.\r\n", EHLO_R TX_R DATA_R QUEUED, "", "end 0;", NULL,
	  0, 0, SMTP_WANT_INPUT },
	{ "HELO (no extensions)", "HELO c.test\r\nMAIL FROM:<a@b.test> SIZE=10\r\n",
	  "250 mx.test\r\n555 5.5.4 Unsupported MAIL FROM/RCPT TO parameter\r\n", NULL,
	  "helo c.test 0;", NULL, 0, 0, SMTP_WANT_INPUT },
	{ "8-bit and SMTPUTF8",
	  EHLO "MAIL FROM:<j\xc3\xb6rg@b.test> BODY=8BITMIME SMTPUTF8\r\n"
	       "RCPT TO:<\xe7\x94\xa8@d.test>\r\nDATA\r\n\xc3\xa4\r\n.\r\n",
	  EHLO_R TX_R DATA_R QUEUED, "\xc3\xa4\r\n",
	  "mail <j\xc3\xb6rg@b.test> size=0 8bit=1 binary=0 utf8=1", NULL, 0, 0, SMTP_WANT_INPUT },
	{ "UTF-8 without SMTPUTF8", EHLO "MAIL FROM:<j\xc3\xb6rg@b.test>\r\n",
	  EHLO_R "553 5.6.7 Non-ASCII addresses require SMTPUTF8\r\n", NULL, NULL, "mail", 0, 0,
	  SMTP_WANT_INPUT },
	{ "DSN parameters to hooks",
	  EHLO "MAIL FROM:<a@b.test> SIZE=100 RET=HDRS ENVID=QQ+2B1\r\n"
	       "RCPT TO:<r@d.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;r+40d.test\r\n",
	  EHLO_R TX_R, NULL,
	  "mail <a@b.test> size=100 8bit=0 binary=0 utf8=0 ret=HDRS envid=QQ+1;"
	  "rcpt <r@d.test> notify=FAILURE,DELAY orcpt=rfc822;r@d.test;",
	  NULL, 0, 0, SMTP_WANT_INPUT },
	{ "pipelining, one recipient refused",
	  EHLO "MAIL FROM:<a@b.test>\r\nRCPT TO:<bad@d.test>\r\nRCPT TO:<r@d.test>\r\nDATA\r\n"
	       "x\r\n.\r\nQUIT\r\n",
	  EHLO_R
	  "250 2.1.0 Sender ok\r\n550 5.1.1 User unknown\r\n250 2.1.5 Recipient ok\r\n" DATA_R
	      QUEUED BYE,
	  "x\r\n", NULL, NULL, 0, 0, SMTP_WANT_CLOSE },
	{ "no valid recipients", EHLO "MAIL FROM:<a@b.test>\r\nRCPT TO:<bad@d.test>\r\nDATA\r\n",
	  EHLO_R
	  "250 2.1.0 Sender ok\r\n550 5.1.1 User unknown\r\n554 5.5.1 No valid recipients\r\n",
	  NULL, NULL, "begin", 0, 0, SMTP_WANT_INPUT },
	{ "sequence",
	  "MAIL FROM:<a@b.test>\r\n" EHLO "RCPT TO:<r@d.test>\r\nDATA\r\n" TX
	  "MAIL FROM:<a@b.test>\r\n",
	  "503 5.5.1 Send HELO/EHLO first\r\n" EHLO_R NEEDM NEEDM TX_R
	  "503 5.5.1 Nested MAIL command\r\n",
	  NULL, NULL, NULL, 0, 0, SMTP_WANT_INPUT },
	{ "RSET drops the transaction", EHLO TX "RSET\r\nRCPT TO:<r@d.test>\r\nRSET x\r\n",
	  EHLO_R TX_R OK NEEDM "501 5.5.4 Syntax error, no parameters allowed\r\n", NULL,
	  "rcpt <r@d.test> notify=- orcpt=-;reset;", NULL, 0, 0, SMTP_WANT_INPUT },
	{ "NOOP VRFY HELP", "NOOP\r\nVRFY root\r\nHELP\r\n",
	  OK
	  "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
	  "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\r\n",
	  NULL, NULL, NULL, 0, 0, SMTP_WANT_INPUT },
	{ "bare LF ends command lines", "NOOP\nNOOP\r\n", OK OK, NULL, NULL, NULL, 0, 0,
	  SMTP_WANT_INPUT },
	{ "bare CR in a command", "NO\rOP\r\n", UNKNOWN, NULL, NULL, NULL, 0, 0, SMTP_WANT_INPUT },
	{ "HELO refused by the hook", "EHLO bad.test\r\nMAIL FROM:<a@b.test>\r\n",
	  "550 5.1.1 User unknown\r\n503 5.5.1 Send HELO/EHLO first\r\n", NULL, NULL, "mail", 0, 0,
	  SMTP_WANT_INPUT },
	/* SMTP smuggling: none of these may end the data, nothing after them runs */
	{ "smuggling LF.LF", EHLO TX "DATA\r\nx\n.\n" SMUGGLE "\r\n.\r\nQUIT\r\n",
	  EHLO_R TX_R DATA_R BARE BYE, NULL, "begin;reset;", "evil", 0, 0, SMTP_WANT_CLOSE },
	{ "smuggling CR.CR", EHLO TX "DATA\r\nx\r.\r" SMUGGLE "\r\n.\r\nQUIT\r\n",
	  EHLO_R TX_R DATA_R BARE BYE, NULL, "begin;reset;", "evil", 0, 0, SMTP_WANT_CLOSE },
	{ "smuggling LF.CRLF", EHLO TX "DATA\r\nx\n.\r\n" SMUGGLE "\r\n.\r\nQUIT\r\n",
	  EHLO_R TX_R DATA_R BARE BYE, NULL, "begin;reset;", "evil", 0, 0, SMTP_WANT_CLOSE },
	{ "smuggling CRLF.LF", EHLO TX "DATA\r\nx\r\n.\n" SMUGGLE "\r\n.\r\nQUIT\r\n",
	  EHLO_R TX_R DATA_R BARE BYE, NULL, "begin;reset;", "evil", 0, 0, SMTP_WANT_CLOSE },
	{ "smuggling CRLF.CR", EHLO TX "DATA\r\nx\r\n.\r" SMUGGLE "\r\n.\r\nQUIT\r\n",
	  EHLO_R TX_R DATA_R BARE BYE, NULL, "begin;reset;", "evil", 0, 0, SMTP_WANT_CLOSE },
	{ "smuggling LF at the start", EHLO TX "DATA\r\n\n.\n" SMUGGLE "\r\n.\r\nQUIT\r\n",
	  EHLO_R TX_R DATA_R BARE BYE, NULL, "begin;reset;", "evil", 0, 0, SMTP_WANT_CLOSE },
	{ "smuggling CR CRLF", EHLO TX "DATA\r\nx\r\r\n.\r\r\n" SMUGGLE "\r\n.\r\nQUIT\r\n",
	  EHLO_R TX_R DATA_R BARE BYE, NULL, "begin;reset;", "evil", 0, 0, SMTP_WANT_CLOSE },
	/* limits */
	{ "too many recipients",
	  EHLO "MAIL FROM:<a@b.test>\r\nRCPT TO:<r1@d.test>\r\nRCPT TO:<r2@d.test>\r\n"
	       "RCPT TO:<r3@d.test>\r\nRCPT TO:<r4@d.test>\r\nDATA\r\n",
	  EHLO_R "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n250 2.1.5 Recipient ok\r\n"
	         "250 2.1.5 Recipient ok\r\n452 4.5.3 Too many recipients\r\n" DATA_R,
	  NULL, NULL, "r4", 0, 0, SMTP_WANT_INPUT },
	{ "too many errors", "FOO\r\nBAR\r\nBAZ\r\nQUX\r\nQUUX\r\nNOOP\r\n",
	  UNKNOWN UNKNOWN UNKNOWN UNKNOWN UNKNOWN ERRS, NULL, NULL, NULL, 0, 0, SMTP_WANT_CLOSE },
	{ "refused recipients count as errors",
	  EHLO "MAIL FROM:<a@b.test>\r\nRCPT TO:<bad1@d.test>\r\nRCPT TO:<bad2@d.test>\r\n"
	       "RCPT TO:<bad3@d.test>\r\nRCPT TO:<bad4@d.test>\r\nRCPT TO:<bad5@d.test>\r\n",
	  EHLO_R
	  "250 2.1.0 Sender ok\r\n550 5.1.1 User unknown\r\n550 5.1.1 User unknown\r\n"
	  "550 5.1.1 User unknown\r\n550 5.1.1 User unknown\r\n550 5.1.1 User unknown\r\n" ERRS,
	  NULL, NULL, NULL, 0, 0, SMTP_WANT_CLOSE },
	{ "too many commands before MAIL",
	  "NOOP\r\nNOOP\r\nRSET\r\nNOOP\r\nVRFY x\r\nNOOP\r\nNOOP\r\nHELP\r\nNOOP\r\nNOOP\r\n",
	  OK OK OK OK
	  "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n" OK OK
	  "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\r\n"
	  "421 4.7.0 Too many commands, closing connection\r\n",
	  NULL, NULL, NULL, 0, 0, SMTP_WANT_CLOSE },
	{ "command line too long before MAIL (100)", "NOOP " X100 "\r\nNOOP\r\n",
	  "500 5.5.2 Line too long\r\n" OK, NULL, NULL, NULL, 0, 0, SMTP_WANT_INPUT },
	{ "command line cap after MAIL (128)",
	  EHLO TX "NOOP " X100 "\r\nNOOP " X100 X10 X10 X10 "\r\n",
	  EHLO_R TX_R OK "500 5.5.2 Line too long\r\n", NULL, NULL, NULL, 0, 0, SMTP_WANT_INPUT },
	{ "SIZE over the cap",
	  EHLO "MAIL FROM:<a@b.test> SIZE=201\r\nMAIL FROM:<a@b.test> SIZE=200\r\n",
	  EHLO_R BIG "250 2.1.0 Sender ok\r\n", NULL, NULL, NULL, 0, 0, SMTP_WANT_INPUT },
	{ "message over the cap: drained, refused",
	  EHLO TX "DATA\r\n" X70 "\r\n" X70 "\r\n" X70 "\r\n.\r\nNOOP\r\n",
	  EHLO_R TX_R DATA_R BIG OK, NULL, "begin;reset;", "end", 0, 0, SMTP_WANT_INPUT },
	{ "message exactly at the cap",
	  EHLO TX "DATA\r\n" X70 "\r\n" X70 "\r\n" X10 X10 X10 X10 X10 "xxxx\r\n.\r\n",
	  EHLO_R TX_R DATA_R QUEUED, NULL, "end 200;", NULL, 0, 0, SMTP_WANT_INPUT },
	{ "data line too long", EHLO TX "DATA\r\n" X10 X10 X10 X10 X10 X10 X10 X10 "x\r\n.\r\n",
	  EHLO_R TX_R DATA_R "552 5.5.2 Message line too long\r\n", NULL, NULL, "end", 0, 0,
	  SMTP_WANT_INPUT },
	{ "data line at the cap (78 + CRLF... 80)",
	  EHLO TX "DATA\r\n" X10 X10 X10 X10 X10 X10 X10 "xxxxxxxx\r\n.\r\n",
	  EHLO_R TX_R DATA_R QUEUED, NULL, "end 80;", NULL, 0, 0, SMTP_WANT_INPUT },
	{ "sink fails at begin", EHLO TX "DATA\r\nRCPT TO:<r@d.test>\r\n",
	  EHLO_R TX_R "451 4.3.0 Temporary failure, try again later\r\n" NEEDM, NULL,
	  "begin;reset;", NULL, -1, 0, SMTP_WANT_INPUT },
	{ "sink fails on write", EHLO TX "DATA\r\nabc\r\n.\r\n",
	  EHLO_R TX_R DATA_R "451 4.3.0 Temporary failure, try again later\r\n", NULL,
	  "begin;reset;", "end", 0, -1, SMTP_WANT_INPUT },
	/* BDAT */
	{ "BDAT chunks", EHLO TX "BDAT 5\r\nhelloBDAT 6 LAST\r\n world", EHLO_R TX_R CHUNK QUEUED,
	  "hello world", "begin;end 11;", NULL, 0, 0, SMTP_WANT_INPUT },
	{ "BDAT 0 LAST", EHLO TX "BDAT 0 LAST\r\n", EHLO_R TX_R QUEUED, "", "begin;end 0;", NULL, 0,
	  0, SMTP_WANT_INPUT },
	{ "BDAT is binary", EHLO TX "BDAT 9 LAST\r\na\n.\n\r\n.\r\n", EHLO_R TX_R QUEUED,
	  "a\n.\n\r\n.\r\n", NULL, NULL, 0, 0, SMTP_WANT_INPUT },
	{ "BDAT BINARYMIME",
	  EHLO "MAIL FROM:<a@b.test> BODY=BINARYMIME\r\nRCPT TO:<r@d.test>\r\n"
	       "DATA\r\nBDAT 2 LAST\r\n\x01\xff",
	  EHLO_R TX_R "503 5.5.1 BODY=BINARYMIME requires BDAT\r\n" QUEUED, NULL, "binary=1", NULL,
	  0, 0, SMTP_WANT_INPUT },
	{ "BDAT over the cap",
	  EHLO TX "BDAT 150\r\n" X100 X10 X10 X10 X10 X10 "BDAT 100 LAST\r\n" X100
	          "NOOP\r\nBDAT 3 LAST\r\nabcQUIT\r\n",
	  EHLO_R TX_R CHUNK BIG OK NEEDM BYE, NULL, "begin;reset;", "end", 0, 0, SMTP_WANT_CLOSE },
	{ "BDAT chunk that can never fit", EHLO TX "BDAT 201\r\n" X100, EHLO_R TX_R BIG, NULL, NULL,
	  "begin", 0, 0, SMTP_WANT_CLOSE },
	{ "BDAT without MAIL: drained", EHLO "BDAT 4\r\nNOOPNOOP\r\n", EHLO_R NEEDM OK, NULL, NULL,
	  "begin", 0, 0, SMTP_WANT_INPUT },
	{ "BDAT without recipients", EHLO "MAIL FROM:<a@b.test>\r\nBDAT 4 LAST\r\nNOOPNOOP\r\n",
	  EHLO_R "250 2.1.0 Sender ok\r\n554 5.5.1 No valid recipients\r\n" OK, NULL, NULL, "begin",
	  0, 0, SMTP_WANT_INPUT },
	{ "DATA after BDAT", EHLO TX "BDAT 3\r\nabcDATA\r\nBDAT 0 LAST\r\n",
	  EHLO_R TX_R CHUNK "503 5.5.1 DATA and BDAT cannot be mixed\r\n" QUEUED, "abc", NULL, NULL,
	  0, 0, SMTP_WANT_INPUT },
	{ "BDAT after DATA", EHLO TX "DATA\r\nx\r\n.\r\nBDAT 3 LAST\r\nabcNOOP\r\n",
	  EHLO_R TX_R DATA_R QUEUED NEEDM OK, "x\r\n", NULL, NULL, 0, 0, SMTP_WANT_INPUT },
	{ "BDAT syntax error closes", EHLO TX "BDAT 3x\r\nMAIL FROM:<evil@x.test>\r\n",
	  EHLO_R TX_R "501 5.5.2 Syntax error in parameters or arguments\r\n", NULL, NULL, "evil",
	  0, 0, SMTP_WANT_CLOSE },
	/* hook replies */
	{ "hook reply text cannot inject a reply",
	  EHLO "MAIL FROM:<a@b.test>\r\nRCPT TO:<inject@d.test>\r\n",
	  EHLO_R "250 2.1.0 Sender ok\r\n250 2.1.5 ok  250 fake\r\n", NULL, NULL, NULL, 0, 0,
	  SMTP_WANT_INPUT },
	{ "hook reply code out of range is 451", EHLO "MAIL FROM:<weird@b.test>\r\n",
	  EHLO_R "451 4.3.0 Temporary failure, try again later\r\n", NULL, NULL, NULL, 0, 0,
	  SMTP_WANT_INPUT },
	{ "hook enhanced code of the wrong class", EHLO "MAIL FROM:<badenh@b.test>\r\n",
	  EHLO_R "550 5.0.0 class mismatch\r\n", NULL, NULL, NULL, 0, 0, SMTP_WANT_INPUT },
	{ "hook disconnects", EHLO "MAIL FROM:<bye@b.test>\r\nNOOP\r\n",
	  EHLO_R "421 4.7.0 Go away\r\n", NULL, NULL, NULL, 0, 0, SMTP_WANT_CLOSE },
	{ "STARTTLS not twice (no TLS here: offered, so answered)", "STARTTLS x\r\n",
	  "501 5.5.4 Syntax error, no parameters allowed\r\n", NULL, NULL, NULL, 0, 0,
	  SMTP_WANT_INPUT },
};

static void run_script(const struct script *sc, size_t step)
{
	struct smtp_session_config cfg;
	struct harness h;
	char want[8192];

	tight_limits(&cfg);
	h_open(&h, &cfg);
	h.f.begin_rc = sc->begin_rc;
	h.f.write_rc = sc->write_rc;
	smtp_session_start(h.s, NULL);
	/* the scripts hold NULs: their length is the array's, not strlen */
	feed(&h, sc->in, strlen(sc->in), step);
	snprintf(want, sizeof(want), "%s%s", GREET, sc->want_out);
	if (strcmp(OUT(h), want) != 0)
		fail_msg("%s (step %zu):\n--- got\n%s--- want\n%s", sc->name, step, OUT(h), want);
	if (sc->want_data != NULL &&
	    (h.f.data.len != strlen(sc->want_data) ||
	     (h.f.data.len > 0 && memcmp(h.f.data.data, sc->want_data, h.f.data.len) != 0)))
		fail_msg("%s (step %zu): data '%s'", sc->name, step, h.f.data.data);
	if (sc->want_log != NULL && strstr(LOG(h), sc->want_log) == NULL)
		fail_msg("%s (step %zu): log '%s' lacks '%s'", sc->name, step, LOG(h),
		         sc->want_log);
	if (sc->not_log != NULL && strstr(LOG(h), sc->not_log) != NULL)
		fail_msg("%s (step %zu): log '%s' has '%s'", sc->name, step, LOG(h), sc->not_log);
	if (smtp_session_want(h.s) != sc->want_end)
		fail_msg("%s (step %zu): want %d, not %d", sc->name, step, smtp_session_want(h.s),
		         sc->want_end);
	h.s = smtp_session_free(h.s);
	assert_int_equal(h.f.closes, 1);
	h_close(&h);
}

static void test_scripts(void **state)
{
	static const size_t steps[] = { 1 << 20, 1, 7 };
	size_t i, k;

	(void)state;
	for (i = 0; i < N(scripts); i++)
		for (k = 0; k < N(steps); k++)
			run_script(&scripts[i], steps[k]);
}

/* NUL bytes in the input: the table above uses strlen, so this one is by hand */
static void test_nul_in_data(void **state)
{
	static const char in[] = EHLO TX "DATA\r\na\0b\r\n.\r\n";
	struct smtp_session_config cfg;
	struct harness h;

	(void)state;
	tight_limits(&cfg);
	h_open(&h, &cfg);
	smtp_session_start(h.s, NULL);
	feed(&h, in, sizeof(in) - 1, 3);
	assert_string_equal(OUT(h), GREET EHLO_R TX_R DATA_R QUEUED);
	assert_int_equal(h.f.data.len, 5);
	assert_memory_equal(h.f.data.data, "a\0b\r\n", 5);
	h_close(&h);
}

/* STARTTLS: plaintext pipelined behind it is dropped; the session starts over */
static void test_starttls(void **state)
{
	static const struct smtp_tls_info tls = { .active = true,
		                                  .version = "TLSv1.3",
		                                  .cipher = "TLS_AES_256_GCM_SHA384" };
	struct smtp_session_config cfg;
	struct harness h;

	(void)state;
	tight_limits(&cfg);
	h_open(&h, &cfg);
	smtp_session_start(h.s, NULL);
	feed_str(&h, EHLO "MAIL FROM:<a@b.test>\r\nSTARTTLS\r\nRCPT TO:<evil@x.test>\r\nRSET\r\n");
	assert_string_equal(OUT(h),
	                    GREET EHLO_R "250 2.1.0 Sender ok\r\n220 2.0.0 Ready to start TLS\r\n");
	assert_int_equal(smtp_session_want(h.s), SMTP_WANT_TLS);
	assert_int_equal(h.in.len, 0); /* consumed, i.e. discarded */
	assert_null(strstr(LOG(h), "evil"));
	buf_clear(&h.out);
	smtp_session_tls_done(h.s, &tls);
	assert_non_null(strstr(LOG(h), "reset;tls TLSv1.3;"));
	assert_int_equal(smtp_session_want(h.s), SMTP_WANT_INPUT);
	feed_str(&h, "MAIL FROM:<a@b.test>\r\n" EHLO "STARTTLS\r\n");
	/* HELO forgotten; STARTTLS no longer offered nor accepted */
	assert_string_equal(OUT(h), "503 5.5.1 Send HELO/EHLO first\r\n" EHLO_TLS
	                            "503 5.5.1 TLS already active\r\n");
	h_close(&h);
}

/* a NUL in a command line is a syntax error, never a shorter command */
static void test_nul_in_command(void **state)
{
	static const char in[] = "EHLO c\0x\r\nRCPT TO:<a@b>\0\r\n";
	struct smtp_session_config cfg;
	struct harness h;

	(void)state;
	tight_limits(&cfg);
	h_open(&h, &cfg);
	smtp_session_start(h.s, NULL);
	feed(&h, in, sizeof(in) - 1, 1 << 20);
	assert_string_equal(OUT(h),
	                    GREET "501 5.5.2 Syntax error in parameters or arguments\r\n" NEEDM);
	h_close(&h);
}

/* hooks that answer later: input stops, replies stay in order, wakeup resumes */
static void test_async(void **state)
{
	struct smtp_session_config cfg;
	struct harness h;

	(void)state;
	tight_limits(&cfg);
	h_open(&h, &cfg);
	h.f.async = true;
	smtp_session_start(h.s, NULL);
	assert_int_equal(smtp_session_want(h.s), SMTP_WANT_WAIT);
	assert_string_equal(OUT(h), "");
	/* an early talker: nothing is consumed before the greeting */
	feed_str(&h, EHLO TX "DATA\r\nhi\r\n.\r\nNOOP\r\n");
	assert_string_equal(OUT(h), "");
	assert_true(h.in.len > 0);
	fake_answer(&h.f, NULL); /* connect */
	assert_string_equal(OUT(h), GREET);
	assert_int_equal(smtp_session_want(h.s), SMTP_WANT_WAIT); /* helo asked */
	fake_answer(&h.f, NULL);                                  /* helo */
	assert_string_equal(OUT(h), GREET EHLO_R);
	fake_answer(&h.f, NULL); /* mail */
	assert_string_equal(OUT(h), GREET EHLO_R "250 2.1.0 Sender ok\r\n");
	{
		struct smtp_reply r = { 250, "2.1.5", "Later ok", false };
		fake_answer(&h.f, &r); /* rcpt */
	}
	/* DATA and the message run through without a question, then data_end waits */
	assert_string_equal(OUT(h),
	                    GREET EHLO_R "250 2.1.0 Sender ok\r\n250 2.1.5 Later ok\r\n" DATA_R);
	assert_int_equal(smtp_session_want(h.s), SMTP_WANT_WAIT);
	assert_memory_equal(h.f.data.data, "hi\r\n", 4);
	{
		struct smtp_reply r = { 250, "2.0.0", "Ok: queued as 1A2B", false };
		fake_answer(&h.f, &r); /* data_end */
	}
	assert_string_equal(OUT(h),
	                    GREET EHLO_R "250 2.1.0 Sender ok\r\n250 2.1.5 Later ok\r\n" DATA_R
	                                 "250 2.0.0 Ok: queued as 1A2B\r\n" OK);
	assert_int_equal(h.in.len, 0);
	assert_true(h.wakeups >= 5);
	/* close with a question outstanding: close is called once, a late done is ignored */
	feed_str(&h, "MAIL FROM:<a@b.test>\r\n");
	assert_non_null(h.f.done);
	smtp_session_timeout(h.s, SMTP_TIMEOUT_COMMAND);
	assert_non_null(strstr(OUT(h), "421 4.4.2 Timeout exceeded, closing connection\r\n"));
	assert_int_equal(smtp_session_want(h.s), SMTP_WANT_CLOSE);
	fake_answer(&h.f, NULL);
	assert_null(strstr(OUT(h), "Sender ok\r\n250 2.1.0"));
	h.s = smtp_session_free(h.s);
	assert_int_equal(h.f.closes, 1);
	h_close(&h);
}

/* a refused greeting: every command but QUIT is 503 (RFC 5321 section 3.1) */
static void test_connect_refused(void **state)
{
	struct smtp_session_config cfg;
	struct harness h;

	(void)state;
	tight_limits(&cfg);
	h_open(&h, &cfg);
	h.f.connect_code = 554;
	smtp_session_start(h.s, NULL);
	feed_str(&h, EHLO "NOOP\r\nQUIT\r\nNOOP\r\n");
	assert_string_equal(OUT(h), "554 5.7.606 Access denied, banned sending IP\r\n"
	                            "503 5.5.1 Bad sequence of commands\r\n"
	                            "503 5.5.1 Bad sequence of commands\r\n" BYE);
	assert_int_equal(smtp_session_want(h.s), SMTP_WANT_CLOSE);
	h_close(&h);

	h_open(&h, &cfg);
	h.f.connect_code = 421;
	smtp_session_start(h.s, NULL);
	assert_int_equal(smtp_session_want(h.s), SMTP_WANT_CLOSE);
	assert_string_equal(OUT(h), "421 4.0.0 Access denied, banned sending IP\r\n");
	h_close(&h);
}

/* timeouts and shutdown */
static void test_timeouts(void **state)
{
	static const struct {
		int what; /* -1: shutdown */
		const char *want;
	} cases[] = {
		{ SMTP_TIMEOUT_COMMAND, "421 4.4.2 Timeout exceeded, closing connection\r\n" },
		{ SMTP_TIMEOUT_SESSION,
		  "421 4.4.2 Session time limit exceeded, closing connection\r\n" },
		{ -1, "421 4.3.2 Service shutting down, closing connection\r\n" },
	};
	struct smtp_session_config cfg;
	struct harness h;
	char want[256];
	size_t i;

	(void)state;
	tight_limits(&cfg);
	for (i = 0; i < N(cases); i++) {
		h_open(&h, &cfg);
		smtp_session_start(h.s, NULL);
		feed_str(&h, EHLO TX "DATA\r\npartial");
		buf_clear(&h.out);
		if (cases[i].what < 0)
			smtp_session_shutdown(h.s);
		else
			smtp_session_timeout(h.s, (enum smtp_timeout)cases[i].what);
		snprintf(want, sizeof(want), "%s", cases[i].want);
		assert_string_equal(OUT(h), want);
		assert_int_equal(smtp_session_want(h.s), SMTP_WANT_CLOSE);
		assert_null(strstr(LOG(h), "end"));
		/* nothing more is processed */
		feed_str(&h, "\r\n.\r\n");
		assert_string_equal(OUT(h), want);
		h.s = smtp_session_free(h.s);
		assert_int_equal(h.f.closes, 1);
		h_close(&h);
	}
}

/* a 1 MB message through DATA, bytes arriving in odd pieces, never held whole */
static void test_big_message(void **state)
{
	struct smtp_session_config cfg;
	struct harness h;
	struct buf msg;
	size_t i;

	(void)state;
	tight_limits(&cfg);
	cfg.limits.message_size_max = 2 * 1024 * 1024;
	h_open(&h, &cfg);
	smtp_session_start(h.s, NULL);
	feed_str(&h, EHLO TX "DATA\r\n");
	buf_init(&msg, 4 * 1024 * 1024);
	for (i = 0; msg.len < 1024 * 1024; i++)
		assert_int_equal(
		    buf_printf(&msg, "%sline %zu %s\r\n", i % 7 ? "" : ".", i, X10 X10), 0);
	feed(&h, msg.data, msg.len, 4093);
	feed_str(&h, ".\r\n");
	assert_non_null(strstr(OUT(h), QUEUED));
	/* every stuffed dot removed, nothing else changed */
	assert_true(h.f.data.len == msg.len - (i + 6) / 7);
	buf_free(&msg);
	h_close(&h);
}

/* docs/smtp-replies.md is generated from the catalogue */
static void test_reply_doc(void **state)
{
	struct buf want, have;
	char path[4096];

	(void)state;
	buf_init(&want, 1 << 20);
	buf_init(&have, 1 << 20);
	assert_int_equal(smtp_reply_doc(&want), 0);
	snprintf(path, sizeof(path), "%s/docs/smtp-replies.md", source_root);
	assert_int_equal(buf_read_file(&have, path), 0);
	if (want.len != have.len || memcmp(want.data, have.data, want.len) != 0)
		fail_msg("docs/smtp-replies.md differs from smtp_reply_doc(); regenerate it:\n%s",
		         want.data);
	buf_free(&want);
	buf_free(&have);
}

/* the catalogue: every enhanced code is well formed and of the reply's class */
static void test_reply_table(void **state)
{
	struct buf b;
	int i;

	(void)state;
	buf_init(&b, 4096);
	for (i = 0; i < SMTP_R_COUNT; i++) {
		const struct smtp_reply_def *r = smtp_reply_get((enum smtp_reply_id)i);

		assert_int_equal(r->id, i);
		assert_non_null(r->text);
		if (r->code != 220 && r->code != 354)
			assert_true(smtp_reply_enhanced_ok(r->enhanced, r->code));
		buf_clear(&b);
		assert_int_equal(smtp_reply_format(&b, (enum smtp_reply_id)i), 0);
		assert_true(b.len > 6 && b.data[b.len - 2] == '\r' && b.data[b.len - 1] == '\n');
	}
	assert_true(smtp_reply_enhanced_ok("5.7.606", 550));
	assert_false(smtp_reply_enhanced_ok("5.7.6060", 550));
	assert_false(smtp_reply_enhanced_ok("4.7.1", 550));
	assert_false(smtp_reply_enhanced_ok("5.07.1", 550));
	assert_false(smtp_reply_enhanced_ok("5.7", 550));
	assert_false(smtp_reply_enhanced_ok("5.7.1 ", 550));
	buf_free(&b);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scripts),   cmocka_unit_test(test_nul_in_data),
		cmocka_unit_test(test_starttls),  cmocka_unit_test(test_nul_in_command),
		cmocka_unit_test(test_async),     cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_timeouts),  cmocka_unit_test(test_big_message),
		cmocka_unit_test(test_reply_doc), cmocka_unit_test(test_reply_table),
	};

	if (argc > 1)
		source_root = argv[1];
	log_setup(LOG_TARGET_STDERR, LOG_LEVEL_ERROR, "test_smtp_session");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
