/*
 * fuzz_smtp_session - arbitrary bytes into an SMTP session with fake hooks
 * that answer "synchronously deferred": each question is answered right
 * after the input call that asked it returns, with a reply picked from a
 * fixed list.  The first byte picks the piece size and the limits.
 *
 * Checked: every write is whole reply lines ("ddd" then SP or "-", CRLF,
 * no bare CR/LF inside); the sink never gets more than the size cap
 * nor bytes outside a transaction; only one question is open at a
 * time; close is called exactly once; the session never consumes more than it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "smtp/smtp_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct smtp_session *s;
	smtp_done_fn done;
	void *done_session;
	unsigned answers;
	uint64_t written;
	uint64_t cap;
	unsigned closes;
	unsigned data_ends;
	unsigned data_ends_answered;
	bool data_open;
	bool tls_pending;
};

static const struct smtp_reply fz_replies[] = {
	{ 0, NULL, NULL, false },
	{ 250, "2.1.5", "ok", false },
	{ 550, "5.7.1", "no", false },
	{ 451, "4.3.0", "later", false },
	{ 0, NULL, NULL, false },
	{ 421, "4.7.0", "bye", true },
	{ 399, NULL, "odd\r\n250 x", false },
	{ 554, "4.4.4", NULL, false },
};

static void fz_ask(struct fz *f, smtp_done_fn done, void *session)
{
	if (f->done != NULL)
		abort(); /* two questions at once */
	f->done = done;
	f->done_session = session;
}

static void *fz_connect(void *arg, const struct smtp_conn_info *ci, smtp_done_fn done,
                        void *session)
{
	(void)ci;
	fz_ask(arg, done, session);
	return arg;
}

static void fz_helo(void *h, const char *name, bool esmtp, smtp_done_fn done, void *session)
{
	(void)name;
	(void)esmtp;
	fz_ask(h, done, session);
}

static void fz_tls(void *h, const struct smtp_tls_info *tls)
{
	(void)h;
	(void)tls;
}

static void fz_mail(void *h, const char *sender, const struct smtp_mail_params *p,
                    smtp_done_fn done, void *session)
{
	if (strlen(sender) > 512 || (p->dsn_envid != NULL && strlen(p->dsn_envid) > 100))
		abort();
	fz_ask(h, done, session);
}

static void fz_rcpt(void *h, const char *rcpt, const struct smtp_rcpt_params *p, smtp_done_fn done,
                    void *session)
{
	(void)rcpt;
	(void)p;
	fz_ask(h, done, session);
}

static int fz_begin(void *h)
{
	struct fz *f = h;

	f->data_open = true;
	f->written = 0;
	return (f->answers % 11) == 3 ? -1 : 0;
}

static int fz_write(void *h, const char *p, size_t n)
{
	struct fz *f = h;

	(void)p;
	if (!f->data_open)
		abort();
	f->written += n;
	if (f->written > f->cap)
		abort();
	return (f->answers % 13) == 5 ? -1 : 0;
}

static void fz_end(void *h, smtp_done_fn done, void *session)
{
	struct fz *f = h;

	f->data_ends++;
	f->data_open = false;
	fz_ask(h, done, session);
}

static void fz_reset(void *h)
{
	((struct fz *)h)->data_open = false;
}

static void fz_close(void *h)
{
	((struct fz *)h)->closes++;
}

static void fz_write_out(void *owner, const char *p, size_t n)
{
	size_t i = 0;

	(void)owner;
	while (i < n) {
		const char *e = memchr(p + i, '\n', n - i);
		size_t k;

		if (e == NULL || e == p + i || e[-1] != '\r')
			abort();
		if ((size_t)(e - (p + i)) < 4)
			abort();
		for (k = 0; k < 3; k++)
			if (p[i + k] < '0' || p[i + k] > '9')
				abort();
		if (p[i] < '2' || p[i] > '5' || (p[i + 3] != ' ' && p[i + 3] != '-'))
			abort();
		for (k = i; k < (size_t)(e - p) - 1; k++)
			if (p[k] == '\r' || p[k] == '\n')
				abort();
		i = (size_t)(e - p) + 1;
	}
}

static void fz_wakeup(void *owner)
{
	(void)owner;
}

/* fz_answer - answer the question asked, if any */
static void fz_answer(struct fz *f, uint8_t pick)
{
	smtp_done_fn done = f->done;

	if (done == NULL)
		return;
	f->done = NULL;
	f->answers++;
	done(f->done_session, &fz_replies[(pick + f->answers) % 8]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct smtp_session_ops ops = { fz_write_out, fz_wakeup };
	static const struct smtp_tls_info tls = { .active = true,
		                                  .version = "TLSv1.3",
		                                  .cipher = "x" };
	struct smtp_session_config cfg;
	struct smtp_conn_info ci;
	struct smtp_hooks hooks;
	struct fz f;
	size_t off = 1, step;
	unsigned rounds = 0;

	if (size < 1)
		return 0;
	log_setup(LOG_TARGET_STDERR, LOG_LEVEL_ERROR, "fuzz");
	memset(&f, 0, sizeof(f));
	memset(&ci, 0, sizeof(ci));
	smtp_session_config_default(&cfg);
	cfg.starttls = data[0] & 1;
	step = 1 + (data[0] >> 4) * 17;
	if (data[0] & 2) {
		cfg.limits.message_size_max = 300;
		cfg.limits.rcpts_max = 2;
		cfg.limits.errors_max = 4;
		cfg.limits.cmds_pre_mail_max = 6;
		cfg.limits.data_line_max = 40;
		cfg.limits.cmd_line_max = 80;
		cfg.limits.cmd_line_max_pre_mail = 60;
	}
	f.cap = cfg.limits.message_size_max;
	hooks = (struct smtp_hooks){ &f,       fz_connect, fz_helo, fz_tls,   fz_mail, fz_rcpt,
		                     fz_begin, fz_write,   fz_end,  fz_reset, fz_close };
	f.s = smtp_session_new(&cfg, &hooks, &ci, &ops, &f);
	if (f.s == NULL)
		return 0;
	smtp_session_start(f.s, (data[0] & 4) ? &tls : NULL);
	fz_answer(&f, data[0]);
	while (off < size && rounds++ < 100000) {
		size_t n = size - off < step ? size - off : step;
		size_t used;

		switch (smtp_session_want(f.s)) {
		case SMTP_WANT_CLOSE:
			off = size;
			continue;
		case SMTP_WANT_TLS:
			smtp_session_tls_done(f.s, &tls);
			continue;
		case SMTP_WANT_WAIT:
			fz_answer(&f, data[off]);
			continue;
		case SMTP_WANT_INPUT:
			break;
		}
		used = smtp_session_input(f.s, (const char *)data + off, n);
		if (used > n)
			abort();
		off += used;
		fz_answer(&f, data[off - (used ? 1 : 0)]);
	}
	if (data[0] & 8)
		smtp_session_timeout(f.s, SMTP_TIMEOUT_COMMAND);
	f.s = smtp_session_free(f.s);
	if (f.closes != 1)
		abort();
	return 0;
}
