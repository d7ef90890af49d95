/*
 * Unit tests for smtp/smtp_response (the reply parser, as a case table)
 * and smtp/smtp_client_proto (the client engine driven by scripted
 * server replies, no sockets): what it writes, in which order, and the
 * result of every recipient.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "smtp/smtp_client_proto.h"
#include "smtp/smtp_response.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the reply parser ---- */

struct reply_case {
	const char *in;
	int want; /* 1 complete, 0 more, -1 error */
	unsigned code;
	const char *enhanced;
	const char *text;
	unsigned nlines;
};

static void test_response_cases(void **state)
{
	static const struct reply_case cases[] = {
		{ "250 Ok\r\n", 1, 250, "", "Ok", 1 },
		{ "250 2.1.5 Recipient ok\r\n", 1, 250, "2.1.5", "Recipient ok", 1 },
		{ "250\r\n", 1, 250, "", "", 1 },
		{ "250 \r\n", 1, 250, "", "", 1 },
		{ "250 ok\n", 1, 250, "", "ok", 1 }, /* bare LF accepted */
		{ "550-5.1.1 No such\r\n550 5.1.1 user\r\n", 1, 550, "5.1.1", "No such user", 2 },
		{ "550-5.1.1 first\r\n550 other\r\n", 1, 550, "5.1.1", "first other", 2 },
		{ "250-mx.example.com\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", 1, 250, "",
		  "mx.example.com PIPELINING SIZE 1000", 3 },
		{ "450 4.2.0 busy\r\n", 1, 450, "4.2.0", "busy", 1 },
		{ "450 5.2.0 wrong class\r\n", 1, 450, "", "5.2.0 wrong class", 1 },
		{ "250 2.0 not enhanced\r\n", 1, 250, "", "2.0 not enhanced", 1 },
		{ "250 2.0.0000 long detail\r\n", 1, 250, "", "2.0.0000 long detail", 1 },
		{ "250 x\x01y\r\n", 1, 250, "", "x y", 1 },
		{ "250-partial\r\n", 0, 250, "", "partial", 1 },
		{ "250 no line end", 0, 0, "", "", 0 },
		{ "", 0, 0, "", "", 0 },
		{ "25 short\r\n", -1, 0, "", "", 0 },
		{ "2500 four digits\r\n", -1, 0, "", "", 0 },
		{ "150 one\r\n", -1, 0, "", "", 0 },
		{ "650 six\r\n", -1, 0, "", "", 0 },
		{ "250_underscore\r\n", -1, 0, "", "", 0 },
		{ "abc\r\n", -1, 0, "", "", 0 },
		{ "250-a\r\n251 b\r\n", -1, 0, "", "", 0 },
	};
	size_t i, used;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct smtp_response r;
		int rc;

		smtp_response_init(&r);
		rc = smtp_response_input(&r, cases[i].in, strlen(cases[i].in), &used);
		if (rc != cases[i].want)
			fail_msg("case %zu (%s): rc %d, want %d", i, cases[i].in, rc,
			         cases[i].want);
		if (rc >= 0 && cases[i].nlines > 0) {
			assert_int_equal(r.code, cases[i].code);
			assert_string_equal(r.enhanced, cases[i].enhanced);
			assert_string_equal(r.text, cases[i].text);
			assert_int_equal(r.nlines, cases[i].nlines);
		}
		smtp_response_free(&r);
	}
}

static void test_response_limits(void **state)
{
	struct smtp_response r;
	struct buf b;
	size_t used, i;

	(void)state;
	/* a line without an end beyond the cap is an error, not more buffering */
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_puts(&b, "250 "), 0);
	for (i = 0; i < SMTP_RESPONSE_LINE_MAX; i++)
		assert_int_equal(buf_putc(&b, 'x'), 0);
	smtp_response_init(&r);
	assert_int_equal(smtp_response_input(&r, b.data, b.len, &used), -1);
	smtp_response_free(&r);
	/* too many lines in one reply */
	buf_clear(&b);
	for (i = 0; i < SMTP_RESPONSE_LINES_MAX + 1; i++)
		assert_int_equal(buf_puts(&b, "250-x\r\n"), 0);
	smtp_response_init(&r);
	assert_int_equal(smtp_response_input(&r, b.data, b.len, &used), -1);
	smtp_response_free(&r);
	/* the bytes after a complete reply are left alone */
	smtp_response_init(&r);
	assert_int_equal(smtp_response_input(&r, "220 hi\r\n250 next\r\n", 18, &used), 1);
	assert_int_equal(used, 8);
	smtp_response_free(&r);
	buf_free(&b);
}

static void test_response_keyword(void **state)
{
	static const char ehlo[] = "250-mx.example.com Hello\r\n250-SIZE 52428800\r\n"
	                           "250-8bitmime\r\n250-STARTTLSX\r\n250 DSN\r\n";
	struct smtp_response r;
	const char *p;
	size_t n, used;

	(void)state;
	smtp_response_init(&r);
	assert_int_equal(smtp_response_input(&r, ehlo, strlen(ehlo), &used), 1);
	assert_true(smtp_response_keyword(&r, "SIZE", &p, &n));
	assert_int_equal(n, 8);
	assert_memory_equal(p, "52428800", 8);
	assert_true(smtp_response_keyword(&r, "8BITMIME", &p, &n));
	assert_int_equal(n, 0);
	assert_true(smtp_response_keyword(&r, "dsn", &p, &n));
	assert_false(smtp_response_keyword(&r, "STARTTLS", &p, &n));
	/* the first line is the server's name, never a keyword */
	assert_false(smtp_response_keyword(&r, "mx.example.com", &p, &n));
	smtp_response_free(&r);
}

/* ---- the engine ---- */

struct h {
	struct smtp_client_proto *c;
	struct buf out;
	int done;
	struct smtp_client_rcpt_result res[8];
	size_t nres;
	bool data_sent;
	int fail_write;
};

static int h_write(void *owner, const void *p, size_t n)
{
	struct h *h = owner;

	if (h->fail_write)
		return -1;
	return buf_append(&h->out, p, n);
}

static void h_msg_done(void *owner, const struct smtp_client_msg_result *res)
{
	struct h *h = owner;

	h->done++;
	h->nres = res->nrcpts < 8 ? res->nrcpts : 8;
	memcpy(h->res, res->rcpts, h->nres * sizeof(h->res[0]));
	h->data_sent = res->data_sent;
}

static void h_init(struct h *h, bool lmtp, enum smtp_client_tls_mode tls)
{
	struct smtp_client_proto_config cfg = { 0 };
	struct smtp_client_proto_ops ops = { h_write, h_msg_done, NULL };

	memset(h, 0, sizeof(*h));
	buf_init(&h->out, 1 << 20);
	cfg.helo_name = "client.example";
	cfg.lmtp = lmtp;
	cfg.tls = tls;
	h->c = smtp_client_proto_new(&cfg, &ops, h);
	assert_non_null(h->c);
}

static void h_free(struct h *h)
{
	h->c = smtp_client_proto_free(h->c);
	buf_free(&h->out);
}

/* h_server - the server says s; everything is consumed */
static void h_server(struct h *h, const char *s)
{
	assert_int_equal(smtp_client_proto_input(h->c, s, strlen(s)), strlen(s));
}

/* h_expect - the client wrote exactly want since the last call */
static void h_expect(struct h *h, const char *want)
{
	if (h->out.len != strlen(want) || memcmp(h->out.data, want, h->out.len) != 0)
		fail_msg("client wrote\n[%.*s]\nwant\n[%s]", (int)h->out.len,
		         h->out.data ? h->out.data : "", want);
	buf_clear(&h->out);
}

/* h_pump - let the engine write its message data */
static void h_pump(struct h *h)
{
	int i;

	for (i = 0; i < 1000 && smtp_client_proto_pumping(h->c); i++)
		smtp_client_proto_pump(h->c, 7); /* small budgets: the resume path */
}

static const struct smtp_client_rcpt two_rcpts[] = {
	{ "a@example.com", NULL, NULL },
	{ "b@example.com", NULL, NULL },
};

static void h_ready(struct h *h, const char *ehlo)
{
	h_server(h, "220 mx.example.com ESMTP\r\n");
	h_expect(h, h->c != NULL ? "EHLO client.example\r\n" : "");
	h_server(h, ehlo);
}

static void test_plain_session(void **state)
{
	struct h h;
	struct smtp_client_msg m = { 0 };

	(void)state;
	h_init(&h, false, SMTP_CLIENT_TLS_TRY);
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_REPLY);
	assert_int_equal(smtp_client_proto_timeout_ms(h.c), SMTP_CLIENT_TIMEOUT_CMD_MS);
	h_ready(&h, "250-mx.example.com\r\n250 8BITMIME\r\n");
	h_expect(&h, "");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_MESSAGE);
	m.sender = "s@example.org";
	m.rcpts = two_rcpts;
	m.nrcpts = 2;
	/* LF line ends become CRLF, lines starting with '.' are stuffed, a
	 * missing last line end is added */
	m.data = "Subject: x\n\n.hidden\r\n..two\r\nlast";
	m.len = strlen(m.data);
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	/* no PIPELINING: one command at a time */
	h_expect(&h, "MAIL FROM:<s@example.org>\r\n");
	h_server(&h, "250 2.1.0 Ok\r\n");
	h_expect(&h, "RCPT TO:<a@example.com>\r\n");
	h_server(&h, "550 5.1.1 No such user\r\n");
	h_expect(&h, "RCPT TO:<b@example.com>\r\n");
	h_server(&h, "250 2.1.5 Ok\r\n");
	h_expect(&h, "DATA\r\n");
	assert_int_equal(smtp_client_proto_timeout_ms(h.c), SMTP_CLIENT_TIMEOUT_DATA_MS);
	h_server(&h, "354 go\r\n");
	h_pump(&h);
	h_expect(&h, "Subject: x\r\n\r\n..hidden\r\n...two\r\nlast\r\n.\r\n");
	assert_int_equal(smtp_client_proto_timeout_ms(h.c), SMTP_CLIENT_TIMEOUT_END_MS);
	assert_int_equal(h.done, 0);
	h_server(&h, "250 2.0.0 queued as X\r\n");
	assert_int_equal(h.done, 1);
	assert_int_equal(h.res[0].reply.code, 550);
	assert_string_equal(h.res[0].reply.enhanced, "5.1.1");
	assert_true(h.res[0].at_rcpt);
	assert_int_equal(h.res[1].reply.code, 250);
	assert_string_equal(h.res[1].reply.text, "queued as X");
	assert_true(h.data_sent);
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_MESSAGE);
	/* the next message on the same session: no RSET after a clean end */
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	h_expect(&h, "MAIL FROM:<s@example.org>\r\n");
	h_server(&h, "451 4.3.0 try later\r\n");
	assert_int_equal(h.done, 2);
	assert_int_equal(h.res[0].reply.code, 451);
	assert_false(h.res[0].at_rcpt);
	assert_int_equal(h.res[1].reply.code, 451);
	assert_false(h.data_sent);
	/* after a transaction that did not end: RSET first */
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	h_expect(&h, "RSET\r\n");
	h_server(&h, "250 ok\r\n");
	h_expect(&h, "MAIL FROM:<s@example.org>\r\n");
	smtp_client_proto_abort(h.c, "lost");
	assert_int_equal(h.done, 3);
	assert_int_equal(h.res[1].reply.code, 0);
	assert_string_equal(h.res[1].reply.text, "lost");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_CLOSE);
	h_free(&h);
}

static void test_pipelining_dsn(void **state)
{
	struct h h;
	struct smtp_client_msg m = { 0 };
	static const struct smtp_client_rcpt rc[] = {
		{ "a@example.com", "SUCCESS,FAILURE", "rfc822;a@example.com" },
		{ "b@example.com", "NEVER", NULL },
	};

	(void)state;
	h_init(&h, false, SMTP_CLIENT_TLS_NO);
	h_ready(&h, "250-mx\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-DSN\r\n250-STARTTLS\r\n"
	            "250 8BITMIME\r\n");
	h_expect(&h, ""); /* TLS_NO: STARTTLS is not used */
	m.sender = "";
	m.dsn_ret = "HDRS";
	m.dsn_envid = "QQ314159";
	m.rcpts = rc;
	m.nrcpts = 2;
	m.data = "a\r\n";
	m.len = 3;
	m.eightbit = true; /* flagged, but all ASCII: no BODY= */
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	h_expect(&h, "MAIL FROM:<> SIZE=3 RET=HDRS ENVID=QQ314159\r\n"
	             "RCPT TO:<a@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.com\r\n"
	             "RCPT TO:<b@example.com> NOTIFY=NEVER\r\n"
	             "DATA\r\n");
	h_server(&h, "250 ok\r\n250 ok\r\n452 4.5.3 too many\r\n354 go\r\n");
	h_pump(&h);
	h_expect(&h, "a\r\n.\r\n");
	h_server(&h, "250 2.0.0 ok\r\n");
	assert_int_equal(h.done, 1);
	assert_int_equal(h.res[0].reply.code, 250);
	assert_int_equal(h.res[1].reply.code, 452);
	assert_true(h.res[1].at_rcpt);
	/* every recipient refused, DATA still answered 354: end the data at once */
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	buf_clear(&h.out);
	h_server(&h, "250 ok\r\n550 no\r\n550 no\r\n354 go\r\n");
	h_expect(&h, ".\r\n");
	assert_int_equal(h.done, 1);
	h_server(&h, "250 ignored\r\n");
	assert_int_equal(h.done, 2);
	assert_int_equal(h.res[0].reply.code, 550);
	assert_int_equal(h.res[1].reply.code, 550);
	h_free(&h);
}

static void test_bdat(void **state)
{
	struct h h;
	struct smtp_client_msg m = { 0 };
	static const char *pre[] = { "Received: from x", "X-Test: y" };

	(void)state;
	h_init(&h, false, SMTP_CLIENT_TLS_NO);
	h_ready(&h, "250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n");
	m.sender = "s@example.org";
	m.rcpts = two_rcpts;
	m.nrcpts = 2;
	m.prepend = pre;
	m.nprepend = 2;
	m.data = ".dot\n\xc3\xa9\n";
	m.len = strlen(m.data);
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	/* BDAT waits for the RCPT replies */
	h_expect(&h, "MAIL FROM:<s@example.org> BODY=8BITMIME\r\nRCPT TO:<a@example.com>\r\n"
	             "RCPT TO:<b@example.com>\r\n");
	h_server(&h, "250 ok\r\n250 ok\r\n");
	h_expect(&h, "");
	h_server(&h, "250 ok\r\n");
	h_pump(&h);
	/* no dot-stuffing in BDAT; the size counts the CRLF line ends */
	h_expect(&h, "BDAT 39 LAST\r\nReceived: from x\r\nX-Test: y\r\n.dot\r\n\xc3\xa9\r\n");
	assert_int_equal(strlen("Received: from x\r\nX-Test: y\r\n.dot\r\n\xc3\xa9\r\n"), 39);
	h_server(&h, "250 2.0.0 ok\r\n");
	assert_int_equal(h.done, 1);
	assert_int_equal(h.res[0].reply.code, 250);
	assert_int_equal(h.res[1].reply.code, 250);
	h_free(&h);
}

static void test_lmtp(void **state)
{
	struct h h;
	struct smtp_client_msg m = { 0 };
	static const struct smtp_client_rcpt rc[] = {
		{ "a@example.com", NULL, NULL },
		{ "b@example.com", NULL, NULL },
		{ "c@example.com", NULL, NULL },
	};

	(void)state;
	h_init(&h, true, SMTP_CLIENT_TLS_NO);
	h_server(&h, "220 lmtp\r\n");
	h_expect(&h, "LHLO client.example\r\n");
	h_server(&h, "250-lmtp\r\n250 PIPELINING\r\n");
	m.sender = "s@example.org";
	m.rcpts = rc;
	m.nrcpts = 3;
	m.data = "x\r\n";
	m.len = 3;
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	buf_clear(&h.out);
	h_server(&h, "250 ok\r\n250 ok\r\n550 5.1.1 unknown\r\n250 ok\r\n354 go\r\n");
	h_pump(&h);
	h_expect(&h, "x\r\n.\r\n");
	/* one reply per accepted recipient, in order */
	h_server(&h, "250 2.0.0 a saved\r\n");
	assert_int_equal(h.done, 0);
	h_server(&h, "452 4.2.2 c over quota\r\n");
	assert_int_equal(h.done, 1);
	assert_int_equal(h.res[0].reply.code, 250);
	assert_int_equal(h.res[1].reply.code, 550);
	assert_true(h.res[1].at_rcpt);
	assert_int_equal(h.res[2].reply.code, 452);
	assert_true(h.res[2].at_rcpt);
	h_free(&h);

	/* LMTP never falls back to HELO */
	h_init(&h, true, SMTP_CLIENT_TLS_NO);
	h_server(&h, "220 lmtp\r\n");
	buf_clear(&h.out);
	h_server(&h, "500 what\r\n");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_CLOSE);
	assert_int_equal(smtp_client_proto_error(h.c)->code, 500);
	h_free(&h);
}

static void test_helo_fallback(void **state)
{
	struct h h;
	struct smtp_client_msg m = { 0 };

	(void)state;
	h_init(&h, false, SMTP_CLIENT_TLS_TRY);
	h_ready(&h, "502 5.5.1 no EHLO here\r\n");
	h_expect(&h, "HELO client.example\r\n");
	h_server(&h, "250 hi\r\n");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_MESSAGE);
	assert_false(smtp_client_proto_caps(h.c)->esmtp);
	m.sender = "s@example.org";
	m.rcpts = two_rcpts;
	m.nrcpts = 1;
	m.data = "\xff\r\n";
	m.len = 3;
	/* 8-bit data and no 8BITMIME: returned, nothing written */
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	h_expect(&h, "");
	assert_int_equal(h.done, 1);
	assert_int_equal(h.res[0].reply.code, 554);
	assert_string_equal(h.res[0].reply.enhanced, "5.6.3");
	/* required TLS without HELO extensions: the session ends */
	h_free(&h);
	h_init(&h, false, SMTP_CLIENT_TLS_MUST);
	h_ready(&h, "250-mx\r\n250 PIPELINING\r\n");
	h_expect(&h, "QUIT\r\n");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_CLOSE);
	assert_int_equal(smtp_client_proto_error(h.c)->code, 0);
	assert_string_equal(smtp_client_proto_error(h.c)->enhanced, "4.7.4");
	h_free(&h);
}

static void test_starttls(void **state)
{
	struct h h;
	static const char after[] = "220 go ahead\r\n250 injected\r\n";

	(void)state;
	h_init(&h, false, SMTP_CLIENT_TLS_MUST);
	h_ready(&h, "250-mx\r\n250 STARTTLS\r\n");
	h_expect(&h, "STARTTLS\r\n");
	/* the bytes after the 220 are not consumed: the owner drops them */
	assert_int_equal(smtp_client_proto_input(h.c, after, strlen(after)), 14);
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_TLS);
	smtp_client_proto_tls_done(h.c);
	h_expect(&h, "EHLO client.example\r\n");
	h_server(&h, "250-mx\r\n250 SIZE 10\r\n");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_MESSAGE);
	assert_int_equal(smtp_client_proto_caps(h.c)->size, 10);
	h_free(&h);

	/* opportunistic: a refused STARTTLS goes on in plain text */
	h_init(&h, false, SMTP_CLIENT_TLS_TRY);
	h_ready(&h, "250-mx\r\n250 STARTTLS\r\n");
	buf_clear(&h.out);
	h_server(&h, "454 4.7.0 TLS not available\r\n");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_MESSAGE);
	h_free(&h);
}

static void test_refusals(void **state)
{
	struct h h;
	struct smtp_client_msg m = { 0 };
	static const struct smtp_client_rcpt rc[] = {
		{ "j\xc3\xb6rg@example.com", NULL, NULL },
		{ "b@example.com", NULL, NULL },
		{ "evil@example.com>\r\nRSET", NULL, NULL },
	};
	char big[64];

	(void)state;
	h_init(&h, false, SMTP_CLIENT_TLS_NO);
	h_ready(&h, "250-mx\r\n250-SIZE 20\r\n250 8BITMIME\r\n");
	m.sender = "s@example.org";
	m.rcpts = rc;
	m.nrcpts = 3;
	m.smtputf8 = true;
	m.data = "short\r\n";
	m.len = strlen(m.data);
	/* no SMTPUTF8: the UTF-8 recipient fails, the others go; CRLF in an
	 * address never reaches the wire */
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	h_expect(&h, "MAIL FROM:<s@example.org> SIZE=7\r\n");
	h_server(&h, "250 ok\r\n");
	h_expect(&h, "RCPT TO:<b@example.com>\r\n");
	h_server(&h, "250 ok\r\n");
	h_expect(&h, "DATA\r\n");
	h_server(&h, "354 go\r\n");
	h_pump(&h);
	buf_clear(&h.out);
	h_server(&h, "250 ok\r\n");
	assert_int_equal(h.res[0].reply.code, 553);
	assert_string_equal(h.res[0].reply.enhanced, "5.6.7");
	assert_int_equal(h.res[1].reply.code, 250);
	assert_int_equal(h.res[2].reply.code, 553);
	assert_string_equal(h.res[2].reply.enhanced, "5.1.3");
	/* over the announced SIZE: failed before MAIL */
	memset(big, 'x', sizeof(big) - 3);
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	m.data = big;
	m.len = strlen(big);
	m.nrcpts = 2;
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	h_expect(&h, "");
	assert_int_equal(h.res[1].reply.code, 552);
	assert_string_equal(h.res[1].reply.enhanced, "5.3.4");
	/* a 421 while idle ends the session */
	h_server(&h, "421 4.4.2 idle too long\r\n");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_CLOSE);
	assert_int_equal(smtp_client_proto_error(h.c)->code, 421);
	h_free(&h);

	/* a refused greeting; a malformed reply */
	h_init(&h, false, SMTP_CLIENT_TLS_NO);
	h_server(&h, "554 5.7.1 go away\r\n");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_CLOSE);
	assert_int_equal(smtp_client_proto_error(h.c)->code, 554);
	h_free(&h);
	h_init(&h, false, SMTP_CLIENT_TLS_NO);
	h_server(&h, "hello there\r\n");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_CLOSE);
	assert_int_equal(smtp_client_proto_error(h.c)->code, 0);
	h_free(&h);
}

static void test_abort_after_data(void **state)
{
	struct h h;
	struct smtp_client_msg m = { 0 };

	(void)state;
	h_init(&h, false, SMTP_CLIENT_TLS_NO);
	h_ready(&h, "250-mx\r\n250 PIPELINING\r\n");
	m.sender = "s@example.org";
	m.rcpts = two_rcpts;
	m.nrcpts = 1;
	m.data = "x\r\n";
	m.len = 3;
	assert_int_equal(smtp_client_proto_send(h.c, &m), 0);
	h_server(&h, "250 ok\r\n250 ok\r\n354 go\r\n");
	h_pump(&h);
	smtp_client_proto_abort(h.c, "timeout waiting for the server's reply");
	assert_int_equal(h.done, 1);
	assert_true(h.data_sent); /* the owner must not try another host */
	assert_int_equal(h.res[0].reply.code, 0);
	/* quit on an idle session */
	h_free(&h);
	h_init(&h, false, SMTP_CLIENT_TLS_NO);
	h_ready(&h, "250 mx\r\n");
	smtp_client_proto_quit(h.c);
	h_expect(&h, "QUIT\r\n");
	h_server(&h, "221 bye\r\n");
	assert_int_equal(smtp_client_proto_want(h.c), SMTP_CLIENT_WANT_CLOSE);
	assert_null(smtp_client_proto_error(h.c));
	h_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_cases),
		cmocka_unit_test(test_response_limits),
		cmocka_unit_test(test_response_keyword),
		cmocka_unit_test(test_plain_session),
		cmocka_unit_test(test_pipelining_dsn),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_lmtp),
		cmocka_unit_test(test_helo_fallback),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_abort_after_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
