/* Unit tests for pipeline/headers: the exact text of every field we
 * prepend (clean and junk verdicts, TLS or not, one or several
 * recipients), a hostile HELO that tries to add fields or report keys,
 * the removal of incoming Authentication-Results fields that claim our
 * authserv-id (others stay), and the RFC 5322 date. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "pipeline/headers.h"

#define T0 1764377520 /* Sat, 29 Nov 2025 00:52:00 +0000 */

static const struct headers_opts opts = { "mx1.example.org", "mx1.example.org" };

struct fx {
	struct arena *ca;
	struct msg_conn *c;
	struct msg *m;
};

static void fx_open(struct fx *f, const char *helo, bool tls)
{
	struct net_addr ip;

	f->ca = arena_new();
	f->c = msg_conn_new(f->ca, 0x42);
	assert_int_equal(net_addr_parse("192.0.2.10", &ip), 0);
	msg_conn_set_peer(f->c, &ip, 40000);
	f->c->helo = helo;
	f->c->esmtp = true;
	f->c->ptr = "mail.example.com";
	if (tls) {
		f->c->tls.active = true;
		f->c->tls.version = "TLSv1.3";
		f->c->tls.cipher = "TLS_AES_256_GCM_SHA384";
	}
	f->m = msg_new(f->c, 0x1f2e3d4c5b6a7988ULL);
	f->m->received = T0;
}

static void fx_close(struct fx *f)
{
	msg_free(f->m);
	arena_free(f->ca);
}

static void add_rcpt(struct msg *m, const char *addr)
{
	struct msg_rcpt *rc = msg_rcpt_add(m, addr);

	assert_non_null(rc);
	rc->status = MSG_RCPT_ACCEPTED;
}

static void test_clean_tls(void **state)
{
	struct fx f;

	(void)state;
	fx_open(&f, "mail.example.com", true);
	add_rcpt(f.m, "bob@example.org");
	assert_int_equal(headers_build(f.m, &opts), 0);
	assert_int_equal(f.m->nprepend, 4);
	assert_string_equal(f.m->prepend[0],
	                    "X-Smexop-Antispam-Report: CIP:192.0.2.10;CTRY:;LANG:;"
	                    "H:mail.example.com;PTR:mail.example.com;DIR:INB;SCL:1;SRV:;IPV:NLI;"
	                    "SFV:NSPM;CAT:NONE;SFTY:;BCL:0;ACT:deliver;MID:1f2e3d4c5b6a7988;");
	assert_string_equal(f.m->prepend[1], "X-Spam-Flag: NO");
	assert_string_equal(f.m->prepend[2], "X-Spam-Status: No, score=1 required=5 tests=none");
	assert_string_equal(f.m->prepend[3],
	                    "Received: from mail.example.com (mail.example.com [192.0.2.10])\r\n"
	                    "\tby mx1.example.org (smexop) with ESMTPS id 1f2e3d4c5b6a7988\r\n"
	                    "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
	                    "\tfor <bob@example.org>; Sat, 29 Nov 2025 00:52:00 +0000");
	fx_close(&f);
}

static void test_junk_plain(void **state)
{
	struct fx f;

	(void)state;
	fx_open(&f, "mail.example.com", false);
	f.c->ptr = NULL;
	add_rcpt(f.m, "bob@example.org");
	add_rcpt(f.m, "carol@example.org");
	f.m->verdict.scl = 5;
	f.m->verdict.sfv = MSG_SFV_SPM;
	f.m->verdict.cat = "SPOOF";
	f.m->verdict.action = MSG_ACTION_JUNK;
	msg_reason_add(f.m, "SPOOF", 0);
	msg_reason_add(f.m, "OTHER", 2);
	assert_int_equal(headers_build(f.m, &opts), 0);
	assert_string_equal(f.m->prepend[0],
	                    "X-Smexop-Antispam-Report: CIP:192.0.2.10;CTRY:;LANG:;"
	                    "H:mail.example.com;PTR:;DIR:INB;SCL:5;SRV:;IPV:NLI;"
	                    "SFV:SPM;CAT:SPOOF;SFTY:;BCL:0;ACT:junk;MID:1f2e3d4c5b6a7988;");
	assert_string_equal(f.m->prepend[1], "X-Spam-Flag: YES");
	assert_string_equal(f.m->prepend[2],
	                    "X-Spam-Status: Yes, score=5 required=5 tests=SPOOF,OTHER");
	/* two recipients: no "for" clause */
	assert_string_equal(f.m->prepend[3],
	                    "Received: from mail.example.com (unknown [192.0.2.10])\r\n"
	                    "\tby mx1.example.org (smexop) with ESMTP id 1f2e3d4c5b6a7988\r\n"
	                    "\t; Sat, 29 Nov 2025 00:52:00 +0000");
	fx_close(&f);
}

static void test_allowed(void **state)
{
	struct fx f;

	(void)state;
	fx_open(&f, NULL, false);
	f.c->esmtp = false;
	f.c->ipv = MSG_IPV_CAL;
	f.m->verdict.scl = -1;
	f.m->verdict.sfv = MSG_SFV_SKN;
	assert_int_equal(headers_build(f.m, &opts), 0);
	assert_string_equal(f.m->prepend[0],
	                    "X-Smexop-Antispam-Report: CIP:192.0.2.10;CTRY:;LANG:;"
	                    "H:;PTR:mail.example.com;DIR:INB;SCL:-1;SRV:;IPV:CAL;"
	                    "SFV:SKN;CAT:NONE;SFTY:;BCL:0;ACT:deliver;MID:1f2e3d4c5b6a7988;");
	assert_string_equal(f.m->prepend[2], "X-Spam-Status: No, score=-1 required=5 tests=none");
	assert_string_equal(f.m->prepend[3],
	                    "Received: from unknown (mail.example.com [192.0.2.10])\r\n"
	                    "\tby mx1.example.org (smexop) with SMTP id 1f2e3d4c5b6a7988\r\n"
	                    "\t; Sat, 29 Nov 2025 00:52:00 +0000");
	fx_close(&f);
}

static void test_hostile_helo(void **state)
{
	struct fx f;
	char helo[600];

	(void)state;
	fx_open(&f, "evil;SCL:-1;\r\nX-Injected: yes", false);
	assert_int_equal(headers_build(f.m, &opts), 0);
	assert_non_null(strstr(f.m->prepend[0], ";H:evil_SCL:-1___X-Injected:_yes;PTR:"));
	assert_null(strstr(f.m->prepend[3], "\r\nX-Injected"));
	fx_close(&f);
	/* a HELO longer than HEADERS_PEER_MAX is cut */
	memset(helo, 'a', sizeof(helo) - 1);
	helo[sizeof(helo) - 1] = '\0';
	fx_open(&f, helo, false);
	assert_int_equal(headers_build(f.m, &opts), 0);
	assert_non_null(strstr(f.m->prepend[0], "aaaa;PTR:"));
	assert_true(strlen(f.m->prepend[0]) < 500);
	fx_close(&f);
}

static int collect(void *arg, const char *p, size_t n)
{
	return buf_append(arg, p, n);
}

static void test_strip_ours(void **state)
{
	static const char data[] =
	    "Authentication-Results: mx1.example.org; spf=pass smtp.mailfrom=forged.example\r\n"
	    "Authentication-Results: other.example; spf=fail smtp.mailfrom=x.example\r\n"
	    "Authentication-Results: MX1.EXAMPLE.ORG;\r\n dkim=pass header.d=forged.example\r\n"
	    "From: a@example.com\r\n"
	    "Subject: hi\r\n"
	    "\r\n"
	    "body\r\n";
	struct fx f;
	struct sx_err err;
	struct buf out;

	(void)state;
	fx_open(&f, "mail.example.com", false);
	msg_set_data(f.m, data, sizeof(data) - 1);
	assert_int_equal(
	    raw_message_parse(&f.m->raw, f.m->arena, data, sizeof(data) - 1, NULL, &err), 0);
	f.m->raw_ok = true;
	assert_int_equal(headers_build(f.m, &opts), 0);
	assert_int_equal(f.m->nstrip, 2);
	buf_init(&out, 65536);
	assert_int_equal(headers_output_body(f.m, collect, &out), 0);
	assert_string_equal(out.data, "Authentication-Results: other.example; spf=fail "
	                              "smtp.mailfrom=x.example\r\n"
	                              "From: a@example.com\r\n"
	                              "Subject: hi\r\n"
	                              "\r\n"
	                              "body\r\n");
	buf_clear(&out);
	assert_int_equal(headers_output(f.m, collect, &out), 0);
	assert_true(strncmp(out.data, "X-Smexop-Antispam-Report: CIP:192.0.2.10;", 41) == 0);
	assert_non_null(strstr(out.data, "+0000\r\nAuthentication-Results: other.example;"));
	buf_free(&out);
	fx_close(&f);
}

static void test_date(void **state)
{
	char d[64];

	(void)state;
	assert_string_equal(headers_date(T0, d, sizeof(d)), "Sat, 29 Nov 2025 00:52:00 +0000");
	assert_string_equal(headers_date(0, d, sizeof(d)), "Thu, 01 Jan 1970 00:00:00 +0000");
	assert_string_equal(headers_date(951782400, d, sizeof(d)),
	                    "Tue, 29 Feb 2000 00:00:00 +0000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_tls),  cmocka_unit_test(test_junk_plain),
		cmocka_unit_test(test_allowed),    cmocka_unit_test(test_hostile_helo),
		cmocka_unit_test(test_strip_ours), cmocka_unit_test(test_date),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
