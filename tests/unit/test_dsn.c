/* Unit tests for transport/dsn: when a DSN is wanted (RFC 3461 NOTIFY
 * rules, never to the null sender), and the structure of the report
 * (RFC 3464): header fields, the three parts of multipart/report, the
 * per-message and per-recipient fields, the original headers only (RET
 * default, HDRS) or the whole message (RET=FULL), status defaults, and
 * cleaning of control bytes out of diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "transport/dsn.h"

static void test_wanted(void **state)
{
	static const struct {
		const char *sender, *notify;
		enum dsn_kind kind;
		bool want;
	} cases[] = {
		{ "a@b", "", DSN_FAILURE, true },
		{ "a@b", "", DSN_DELAY, true },
		{ "a@b", "", DSN_SUCCESS, false },
		{ "", "", DSN_FAILURE, false },
		{ "", "SUCCESS,FAILURE", DSN_FAILURE, false },
		{ "<>", "", DSN_FAILURE, false },
		{ "a@b", "NEVER", DSN_FAILURE, false },
		{ "a@b", "never", DSN_DELAY, false },
		{ "a@b", "SUCCESS", DSN_SUCCESS, true },
		{ "a@b", "SUCCESS", DSN_FAILURE, false },
		{ "a@b", "success,Failure", DSN_FAILURE, true },
		{ "a@b", "FAILURE,DELAY", DSN_DELAY, true },
		{ "a@b", "FAILURE", DSN_DELAY, false },
		{ "a@b", "FAILUREX", DSN_FAILURE, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (dsn_wanted(cases[i].sender, cases[i].notify, cases[i].kind) != cases[i].want)
			fail_msg("case %zu: '%s' '%s' kind %d", i, cases[i].sender, cases[i].notify,
			         (int)cases[i].kind);
}

static const char original[] = "From: Alice <alice@a.example>\r\n"
                               "To: bob@example.org\r\n"
                               "Subject: the report\r\n"
                               "Message-ID: <m1@a.example>\r\n"
                               "\r\n"
                               "The body, secret line.\r\n";
static const char *prepend[] = { "X-Smexop-Antispam-Report: SCL:1;" };

static void fill(struct dsn_report *r, struct dsn_rcpt *x)
{
	memset(r, 0, sizeof(*r));
	memset(x, 0, 2 * sizeof(*x));
	x[0].addr = "bob@example.org";
	x[0].orcpt = "rfc822;Bob+2B1@example.org";
	x[0].status = "5.1.1";
	x[0].remote_mta = "mx.example.org";
	x[0].diag = "550 5.1.1 <bob@example.org>: no\r\nsuch user";
	x[0].last_attempt = 1700000100;
	x[1].addr = "carol@example.org";
	x[1].status = "2.0.0"; /* not a failure status: the default replaces it */
	r->kind = DSN_FAILURE;
	r->reporting_mta = "mx.example.net";
	r->sender = "alice@a.example";
	r->envid = "env+2D1";
	r->ret = "";
	r->id = "18b2c3d4e5f60-mx1-0a0b0c0d";
	r->arrival = 1700000000;
	r->now = 1700000200;
	r->rcpts = x;
	r->nrcpts = 2;
	r->prepend = prepend;
	r->nprepend = 1;
	r->data = original;
	r->len = strlen(original);
}

/* count - occurrences of needle in hay */
static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static void test_failure_structure(void **state)
{
	struct dsn_report r;
	struct dsn_rcpt x[2];
	struct sx_err err = { 0 };
	struct buf b;
	const char *status, *hdrs;

	(void)state;
	fill(&r, x);
	buf_init(&b, 1 << 20);
	if (dsn_build(&r, &b, &err) < 0)
		fail_msg("%s", err.msg);
	/* the top header section */
	assert_true(strncmp(b.data, "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n",
	                    59) == 0);
	assert_non_null(strstr(b.data, "\r\nTo: <alice@a.example>\r\n"));
	assert_non_null(strstr(b.data, "\r\nSubject: Undelivered Mail Returned to Sender\r\n"));
	assert_non_null(strstr(b.data, "\r\nDate: Tue, 14 Nov 2023 22:16:40 +0000\r\n"));
	assert_non_null(strstr(b.data, "\r\nAuto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(b.data, "\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(b.data,
	                       "Content-Type: multipart/report; report-type=delivery-status;"
	                       "\r\n\tboundary=\"=_smexop_dsn_18b2c3d4e5f60-mx1-0a0b0c0d\""));
	/* three parts and the closing delimiter */
	assert_int_equal(count(b.data, "\r\n--=_smexop_dsn_18b2c3d4e5f60-mx1-0a0b0c0d\r\n"), 3);
	assert_int_equal(count(b.data, "\r\n--=_smexop_dsn_18b2c3d4e5f60-mx1-0a0b0c0d--\r\n"), 1);
	assert_non_null(strstr(b.data, "Content-Type: text/plain; charset=utf-8\r\n"));
	status = strstr(b.data, "Content-Type: message/delivery-status\r\n");
	hdrs = strstr(b.data, "Content-Type: text/rfc822-headers\r\n");
	assert_non_null(status);
	assert_non_null(hdrs);
	assert_true(status < hdrs);
	/* per message */
	assert_non_null(strstr(status, "\r\n\r\nReporting-MTA: dns; mx.example.net\r\n"
	                               "Original-Envelope-Id: env-1\r\n"
	                               "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n"));
	/* per recipient: ORCPT xtext decoded, the CRLF in the reply flattened */
	assert_non_null(strstr(status,
	                       "Original-Recipient: rfc822;Bob+1@example.org\r\n"
	                       "Final-Recipient: rfc822; bob@example.org\r\n"
	                       "Action: failed\r\n"
	                       "Status: 5.1.1\r\n"
	                       "Remote-MTA: dns; mx.example.org\r\n"
	                       "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: no  such "
	                       "user\r\n"
	                       "Last-Attempt-Date: Tue, 14 Nov 2023 22:15:00 +0000\r\n"));
	assert_non_null(strstr(status, "\r\nFinal-Recipient: rfc822; carol@example.org\r\n"
	                               "Action: failed\r\nStatus: 5.0.0\r\n"));
	assert_null(strstr(b.data, "Will-Retry-Until"));
	/* the original's header section with our fields, not its body */
	assert_non_null(strstr(hdrs, "\r\n\r\nX-Smexop-Antispam-Report: SCL:1;\r\n"
	                             "From: Alice <alice@a.example>\r\n"));
	assert_non_null(strstr(hdrs, "Message-ID: <m1@a.example>\r\n\r\n--=_smexop_dsn_"));
	assert_null(strstr(b.data, "secret line"));
	/* no bare LF anywhere, no line over 998 */
	for (size_t i = 0, col = 0; i < b.len; i++, col++) {
		if (b.data[i] == '\n') {
			assert_true(i > 0 && b.data[i - 1] == '\r');
			col = 0;
		}
		assert_true(col < 998);
	}
	buf_free(&b);
}

static void test_full_delay_success(void **state)
{
	struct dsn_report r;
	struct dsn_rcpt x[2];
	struct sx_err err = { 0 };
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 20);
	fill(&r, x);
	r.ret = "full";
	assert_int_equal(dsn_build(&r, &b, &err), 0);
	assert_non_null(strstr(b.data, "Content-Type: message/rfc822\r\n"));
	assert_non_null(strstr(b.data, "The body, secret line.\r\n\r\n--=_smexop_dsn_"));

	buf_clear(&b);
	fill(&r, x);
	r.kind = DSN_DELAY;
	x[0].status = "4.4.1";
	x[0].retry_until = 1700172800;
	assert_int_equal(dsn_build(&r, &b, &err), 0);
	assert_non_null(strstr(b.data, "Subject: Delayed Mail (still being retried)\r\n"));
	assert_non_null(strstr(b.data, "Action: delayed\r\nStatus: 4.4.1\r\n"));
	assert_non_null(strstr(b.data, "Will-Retry-Until: Thu, 16 Nov 2023 22:13:20 +0000\r\n"));
	assert_non_null(strstr(b.data, "Action: delayed\r\nStatus: 4.0.0\r\n")); /* carol */

	buf_clear(&b);
	fill(&r, x);
	r.kind = DSN_SUCCESS;
	r.nrcpts = 1;
	x[0].status = "2.0.0";
	assert_int_equal(dsn_build(&r, &b, &err), 0);
	assert_non_null(strstr(b.data, "Subject: Successful Mail Delivery Report\r\n"));
	assert_non_null(strstr(b.data, "Action: delivered\r\nStatus: 2.0.0\r\n"));

	/* a 4.x.x status stays on a final failure (lifetime expired) */
	buf_clear(&b);
	fill(&r, x);
	x[0].status = "4.4.1";
	assert_int_equal(dsn_build(&r, &b, &err), 0);
	assert_non_null(strstr(b.data, "Action: failed\r\nStatus: 4.4.1\r\n"));
	buf_free(&b);
}

static void test_refused(void **state)
{
	struct dsn_report r;
	struct dsn_rcpt x[2];
	struct sx_err err = { 0 };
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 20);
	fill(&r, x);
	r.sender = "";
	assert_int_equal(dsn_build(&r, &b, &err), -1);
	assert_non_null(strstr(err.msg, "null sender"));
	fill(&r, x);
	r.nrcpts = 0;
	assert_int_equal(dsn_build(&r, &b, &err), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	/* too small a buffer: nothing half written */
	buf_init(&b, 600);
	fill(&r, x);
	assert_int_equal(dsn_build(&r, &b, &err), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_failure_structure),
		cmocka_unit_test(test_full_delay_success),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
