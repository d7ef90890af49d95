/* Unit tests for transport/spool_envelope: a full envelope formats and
 * parses back to the same values (escapes, folded headers, quarantine,
 * release, delivery and delivery-state records), and a table of damaged
 * files each fails with the expected message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "transport/spool_envelope.h"

static const char *hdrs[] = {
	"X-Smexop-Antispam-Report: CIP:192.0.2.1;SFV:SPM;SCL:9",
	"Authentication-Results: mx.example.net;\r\n\tspf=pass smtp.mailfrom=a.example",
	"X-Odd: 100% -",
};
static const char *reasons[] = { "spam (SCL 9)", "phish: impersonation of ceo@example.org" };

static void fill(struct spool_envelope *e, struct spool_rcpt *r)
{
	memset(e, 0, sizeof(*e));
	r[0] = (struct spool_rcpt){ .addr = "bob@example.org",
		                    .notify = "SUCCESS,FAILURE",
		                    .orcpt = "rfc822;bob@example.org" };
	r[1] = (struct spool_rcpt){ .addr = "x y@example.org",
		                    .state = SPOOL_RCPT_DELIVERED,
		                    .done = 1700000100 };
	r[2] = (struct spool_rcpt){ .addr = "-", .state = SPOOL_RCPT_FAILED, .done = 1700000200 };
	/* delivery state: deferred twice with a delay notice, a failure with a DSN */
	r[0].attempts = 2;
	r[0].last_attempt = 1700000400;
	r[0].first_deferral = 1700000050;
	r[0].next_attempt = 1700001000;
	r[0].notices = SPOOL_NOTICE_DELAY;
	r[0].status = "4.4.1";
	r[0].remote_mta = "mx.example.org";
	r[0].diag = "451 4.4.1 try again - later";
	r[2].attempts = 1;
	r[2].notices = SPOOL_NOTICE_FAILURE | SPOOL_NOTICE_SUCCESS;
	r[2].diag = "-";
	e->id = "18b2c3d4e5f60-mx1-0a0b0c0d";
	e->received = 1700000000;
	e->session_id = "00ab12cd34ef5678";
	e->message_id = "<m1@a.example>";
	e->sender = "";
	e->dsn_ret = "HDRS";
	e->dsn_envid = "env 1";
	e->rcpts = r;
	e->nrcpts = 3;
	e->client_ip = "2001:db8::1";
	e->helo = "mail.a.example";
	e->ptr = "";
	e->direction = SPOOL_OUTBOUND;
	e->connector = "on prem";
	e->report = SPOOL_REPORT_TLSRPT;
	e->size = 12345;
	e->verdict = "spam SCL:9 action=quarantine";
	e->headers = hdrs;
	e->nheaders = 3;
	e->quarantined = true;
	e->q_expires = 1702592000;
	e->q_policy = "DefaultFullAccessPolicy";
	e->q_reasons = reasons;
	e->nq_reasons = 2;
	e->released = 1700000300;
	e->released_by = "cli:root";
}

static void test_round_trip(void **state)
{
	struct spool_envelope e, b;
	struct spool_rcpt r[3];
	struct arena *a = arena_new();
	struct sx_err err = { 0 };
	struct buf out;
	size_t i;

	(void)state;
	fill(&e, r);
	buf_init(&out, SPOOL_ENVELOPE_MAX);
	assert_int_equal(spool_envelope_format(&e, &out), 0);
	/* escapes as documented: the empty sender, a space in a field, "-" */
	assert_non_null(strstr(out.data, "\nS -\n"));
	assert_non_null(strstr(out.data, "\nR x%20y@example.org - -\n"));
	assert_non_null(strstr(out.data, "\nR %2D - -\n"));
	assert_non_null(strstr(out.data, "\nH X-Odd: 100%25 -\n"));
	assert_non_null(strstr(out.data, "mx.example.net;%0D%0A%09spf=pass"));
	if (spool_envelope_parse(out.data, out.len, a, &b, &err) < 0)
		fail_msg("%s\n%s", err.msg, out.data);
	assert_string_equal(b.id, e.id);
	assert_int_equal(b.received, e.received);
	assert_string_equal(b.session_id, e.session_id);
	assert_string_equal(b.message_id, e.message_id);
	assert_string_equal(b.sender, "");
	assert_string_equal(b.dsn_ret, "HDRS");
	assert_string_equal(b.dsn_envid, "env 1");
	assert_int_equal(b.nrcpts, 3);
	for (i = 0; i < 3; i++) {
		assert_string_equal(b.rcpts[i].addr, r[i].addr);
		assert_int_equal(b.rcpts[i].state, r[i].state);
		assert_int_equal(b.rcpts[i].done, r[i].done);
	}
	assert_non_null(strstr(out.data, "\nA 0 2 1700000400 1700000050 1700001000 d\n"));
	assert_non_null(strstr(out.data, "\nA 2 1 0 0 0 fs\n"));
	assert_non_null(
	    strstr(out.data, "\nB 0 4.4.1 mx.example.org 451%204.4.1%20try%20again%20-%20later\n"));
	assert_non_null(strstr(out.data, "\nB 2 - - %2D\n"));
	assert_null(strstr(out.data, "\nA 1 "));
	for (i = 0; i < 3; i++) {
		assert_int_equal(b.rcpts[i].attempts, r[i].attempts);
		assert_int_equal(b.rcpts[i].last_attempt, r[i].last_attempt);
		assert_int_equal(b.rcpts[i].first_deferral, r[i].first_deferral);
		assert_int_equal(b.rcpts[i].next_attempt, r[i].next_attempt);
		assert_int_equal(b.rcpts[i].notices, r[i].notices);
	}
	assert_string_equal(b.rcpts[0].status, "4.4.1");
	assert_string_equal(b.rcpts[0].remote_mta, "mx.example.org");
	assert_string_equal(b.rcpts[0].diag, "451 4.4.1 try again - later");
	assert_string_equal(b.rcpts[1].status, "");
	assert_string_equal(b.rcpts[1].diag, "");
	assert_string_equal(b.rcpts[2].diag, "-");
	assert_string_equal(b.rcpts[0].notify, "SUCCESS,FAILURE");
	assert_string_equal(b.rcpts[0].orcpt, "rfc822;bob@example.org");
	assert_string_equal(b.rcpts[1].notify, "");
	assert_string_equal(b.client_ip, "2001:db8::1");
	assert_string_equal(b.ptr, "");
	assert_non_null(strstr(out.data, "\nG outbound on%20prem\n"));
	assert_int_equal(b.direction, SPOOL_OUTBOUND);
	assert_string_equal(b.connector, "on prem");
	assert_non_null(strstr(out.data, "\nG outbound on%20prem\nK tlsrpt\nZ "));
	assert_int_equal(b.report, SPOOL_REPORT_TLSRPT);
	assert_int_equal(b.size, 12345);
	assert_string_equal(b.verdict, e.verdict);
	assert_int_equal(b.nheaders, 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(b.headers[i], hdrs[i]);
	assert_true(b.quarantined);
	assert_int_equal(b.q_expires, e.q_expires);
	assert_string_equal(b.q_policy, e.q_policy);
	assert_int_equal(b.nq_reasons, 2);
	assert_string_equal(b.q_reasons[1], reasons[1]);
	assert_int_equal(b.released, e.released);
	assert_string_equal(b.released_by, "cli:root");
	buf_free(&out);
	arena_free(a);
}

static void test_format_limits(void **state)
{
	struct spool_envelope e;
	struct spool_rcpt r[3];
	struct buf out;

	(void)state;
	buf_init(&out, SPOOL_ENVELOPE_MAX);
	fill(&e, r);
	e.nrcpts = 0;
	assert_int_equal(spool_envelope_format(&e, &out), -1);
	fill(&e, r);
	e.id = "../etc/passwd";
	assert_int_equal(spool_envelope_format(&e, &out), -1);
	fill(&e, r);
	e.quarantined = false; /* W without Q */
	assert_int_equal(spool_envelope_format(&e, &out), -1);
	fill(&e, r);
	r[0].notices = 8;
	assert_int_equal(spool_envelope_format(&e, &out), -1);
	fill(&e, r);
	r[1].next_attempt = -1;
	assert_int_equal(spool_envelope_format(&e, &out), -1);
	fill(&e, r);
	r[1].attempts = SPOOL_MAX_ATTEMPTS + 1;
	assert_int_equal(spool_envelope_format(&e, &out), -1);
	fill(&e, r);
	e.report = (enum spool_report)7;
	assert_int_equal(spool_envelope_format(&e, &out), -1);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

#define GOOD_HEAD "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 192.0.2.1 h -\nZ 3\n"

struct bad_case {
	const char *text;
	const char *msg; /* a substring of the error */
};

static const struct bad_case bad_cases[] = {
	{ "", "truncated" },
	{ GOOD_HEAD "E 7", "truncated" },
	{ GOOD_HEAD, "no E record" },
	{ "V 2\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nZ 3\nE 7\n", "version 2" },
	{ "I abc-n-1\nV 1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nZ 3\nE 7\n",
	  "line 1: the first record is not V" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nZ 3\nE 6\n", "count does not match" },
	{ GOOD_HEAD "E 7\nH x\n", "after the E record" },
	{ GOOD_HEAD "J 1\nE 8\n", "unknown record type" },
	{ GOOD_HEAD "D a\nD b\nE 9\n", "record repeated" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nC 1 h -\nZ 3\nE 6\n", "required record" },
	{ "V 1\nI ../x\nT 5\nS a@b\nR c@d - -\nC 1 h -\nZ 3\nE 7\n", "line 2: bad fields" },
	{ "V 1\nI abc-n-1\nT -5\nS a@b\nR c@d - -\nC 1 h -\nZ 3\nE 7\n", "line 3" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d -\nC 1 h -\nZ 3\nE 7\n", "line 5: bad fields" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - - x\nC 1 h -\nZ 3\nE 7\n", "line 5" },
	{ "V 1\nI abc-n-1\nT 5\nS a b\nR c@d - -\nC 1 h -\nZ 3\nE 7\n", "line 4" },
	{ "V 1\nI abc-n-1\nT 5\nS a%zz\nR c@d - -\nC 1 h -\nZ 3\nE 7\n", "line 4" },
	{ "V 1\nI abc-n-1\nT 5\nS a%00\nR c@d - -\nC 1 h -\nZ 3\nE 7\n", "line 4" },
	{ "V 1\nI abc-n-1\nT 5\nS a%4\nR c@d - -\nC 1 h -\nZ 3\nE 7\n", "line 4" },
	{ "V 1\nI abc-n-1\nT 5\nS a\tb\nR c@d - -\nC 1 h -\nZ 3\nE 7\n", "line 4" },
	{ "V 1\nI abc-n-1\nT 5\nS a\r\nR c@d - -\nC 1 h -\nZ 3\nE 7\n", "line 4" },
	{ GOOD_HEAD "W why\nE 8\n", "W without Q" },
	{ GOOD_HEAD "Y 1 delivered 5\nE 8\n", "line 8" },
	{ GOOD_HEAD "Y 0 lost 5\nE 8\n", "line 8" },
	{ GOOD_HEAD "Y 0 failed 5\nY 0 delivered 6\nE 9\n", "too many records" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nR e@f - -\nC 1 h -\nZ 3\n"
	  "Y 0 failed 5\nY 0 delivered 6\nE 10\n",
	  "line 10: recipient state" },
	{ GOOD_HEAD "H \nE 8\n", "line 8" },
	{ GOOD_HEAD "H -\nE 8\n", "line 8" },
	{ GOOD_HEAD "L 0 x\nE 8\n", "line 8" },
	{ GOOD_HEAD "\nE 8\n", "line 8: not a record" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nG sideways -\nZ 3\nE 8\n", "line 7" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nG outbound\nZ 3\nE 8\n", "line 7" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nG outbound -\nC 1 h -\nZ 3\nE 8\n",
	  "out of order" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nG outbound -\nG inbound -\nZ 3\nE 9\n",
	  "record repeated" },
	{ GOOD_HEAD "Dx\nE 8\n", "line 8: not a record" },
	/* the report mark (K) */
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nK weekly\nZ 3\nE 8\n", "line 7" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nK -\nZ 3\nE 8\n", "line 7" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nK TLSRPT\nZ 3\nE 8\n", "line 7" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nK tlsrpt dmarc\nZ 3\nE 8\n", "line 7" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nK\nZ 3\nE 8\n", "line 7" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nK tlsrpt\nK dmarc\nZ 3\nE 9\n",
	  "record repeated" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\nK dmarc\nG outbound -\nZ 3\nE 9\n",
	  "out of order" },
	{ GOOD_HEAD "K dmarc\nE 8\n", "out of order" },
	/* delivery state records */
	{ GOOD_HEAD "A 1 1 5 5 9 -\nE 8\n", "line 8" },
	{ GOOD_HEAD "A 0 1 5 5 9\nE 8\n", "line 8" },
	{ GOOD_HEAD "A 0 1 5 5 9 x\nE 8\n", "line 8: bad notices" },
	{ GOOD_HEAD "A 0 1 5 5 9 fd\nE 8\n", "line 8: bad notices" },
	{ GOOD_HEAD "A 0 1 5 5 9 dd\nE 8\n", "line 8: bad notices" },
	{ GOOD_HEAD "A 0 1000001 5 5 9 -\nE 8\n", "line 8" },
	{ GOOD_HEAD "A 0 1 -5 5 9 -\nE 8\n", "line 8" },
	{ GOOD_HEAD "A 0 1 5 5 9 -\nA 0 1 5 5 9 -\nE 9\n", "too many records" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nR e@f - -\nC 1 h -\nZ 3\n"
	  "A 1 1 5 5 9 -\nA 0 1 5 5 9 -\nE 10\n",
	  "line 10: A records out of recipient order" },
	{ "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nR e@f - -\nC 1 h -\nZ 3\n"
	  "B 1 4.0.0 h x\nB 1 4.0.0 h y\nE 10\n",
	  "line 10: B records out of recipient order" },
	{ GOOD_HEAD "B 0 - - -\nE 8\n", "line 8" },
	{ GOOD_HEAD "B 0 5.1.1 mx\nE 8\n", "line 8" },
	{ GOOD_HEAD "B 0 5.1.1 mx a b\nE 8\n", "line 8" },
	{ GOOD_HEAD "B 0 5.1.1 mx x\nA 0 1 5 5 9 -\nE 9\n", "out of order" },
	{ GOOD_HEAD "A 0 1 5 5 9 -\nY 0 failed 5\nE 9\n", "out of order" },
};

static void test_bad(void **state)
{
	struct spool_envelope e;
	struct sx_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct arena *a = arena_new();
		memset(&err, 0, sizeof(err));
		if (spool_envelope_parse(bad_cases[i].text, strlen(bad_cases[i].text), a, &e,
		                         &err) == 0)
			fail_msg("case %zu parsed: %s", i, bad_cases[i].text);
		if (strstr(err.msg, bad_cases[i].msg) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad_cases[i].msg);
		arena_free(a);
	}
}

static void test_good_minimal(void **state)
{
	static const char text[] = GOOD_HEAD "Q 9 -\nW a b c\nY 0 delivered 7\nE 10\n";
	struct arena *a = arena_new();
	struct spool_envelope e;
	struct sx_err err = { 0 };

	(void)state;
	if (spool_envelope_parse(text, strlen(text), a, &e, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(e.id, "abc-n-1");
	assert_string_equal(e.helo, "h");
	assert_string_equal(e.ptr, "");
	assert_string_equal(e.q_policy, "");
	assert_string_equal(e.q_reasons[0], "a b c");
	assert_int_equal(e.rcpts[0].state, SPOOL_RCPT_DELIVERED);
	assert_int_equal(e.nheaders, 0);
	assert_int_equal(e.direction, SPOOL_INBOUND); /* no G record */
	assert_string_equal(e.connector, "");
	assert_int_equal(e.report, SPOOL_REPORT_NONE); /* no K record: an ordinary message */
	/* an envelope written before the delivery state existed: never tried */
	assert_int_equal(e.rcpts[0].attempts, 0);
	assert_int_equal(e.rcpts[0].next_attempt, 0);
	assert_int_equal(e.rcpts[0].notices, 0);
	assert_string_equal(e.rcpts[0].diag, "");
	assert_string_equal(e.rcpts[0].remote_mta, "");
	arena_free(a);
}

/* test_report_kinds - a DMARC report mail round-trips, an ordinary
 * message writes no K record */
static void test_report_kinds(void **state)
{
	static const char text[] = "V 1\nI abc-n-1\nT 5\nS a@b\nR c@d - -\nC 1 h -\n"
	                           "G outbound -\nK dmarc\nZ 3\nE 9\n";
	struct arena *a = arena_new();
	struct spool_envelope e, b;
	struct spool_rcpt r[3];
	struct sx_err err = { 0 };
	struct buf out;

	(void)state;
	if (spool_envelope_parse(text, strlen(text), a, &e, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(e.report, SPOOL_REPORT_DMARC);
	assert_string_equal(spool_envelope_report_name(e.report), "dmarc");
	buf_init(&out, SPOOL_ENVELOPE_MAX);
	assert_int_equal(spool_envelope_format(&e, &out), 0);
	assert_int_equal(out.len, strlen(text));
	assert_memory_equal(out.data, text, out.len);
	buf_clear(&out);
	fill(&b, r);
	b.report = SPOOL_REPORT_NONE;
	assert_int_equal(spool_envelope_format(&b, &out), 0);
	assert_null(strstr(out.data, "\nK "));
	buf_free(&out);
	arena_free(a);
}

static void test_id_valid(void **state)
{
	(void)state;
	assert_true(spool_envelope_id_valid("18b2c3d4e5f60-mx1-0a0b0c0d"));
	assert_false(spool_envelope_id_valid(""));
	assert_false(spool_envelope_id_valid(NULL));
	assert_false(spool_envelope_id_valid("a/b"));
	assert_false(spool_envelope_id_valid(".."));
	assert_false(spool_envelope_id_valid("a.env"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip), cmocka_unit_test(test_format_limits),
		cmocka_unit_test(test_bad),        cmocka_unit_test(test_good_minimal),
		cmocka_unit_test(test_id_valid),   cmocka_unit_test(test_report_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
