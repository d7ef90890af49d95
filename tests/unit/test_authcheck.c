/* Unit tests for auth/authcheck: the whole check end to end on an
 * in-memory zone -- messages signed here with dkim_sign (Ed25519, so the
 * signatures and the header text are the same every run), SPF, DMARC and
 * PTR records -- down to the exact Authentication-Results text; several
 * DKIM signatures; temperror paths (SERVFAIL and timeouts for SPF, DKIM
 * keys, DMARC and PTR); the ARC override of a DMARC fail by a trusted
 * sealer; the removal of our authserv-id's fields (others stay);
 * cancelling; and running out of memory at every allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "auth/arc.h"
#include "auth/authcheck.h"
#include "auth/authres.h"
#include "auth/dkim_sign.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/dns_zone.h"
#include "mime/raw.h"

#define NOW 1790000000

/* tests/data/dkim/ed25519.pem */
static const char ed_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MC4CAQAwBQYDK2VwBCIEIIh5gCTjUL40+NeRnUH6HPUkaRtwWiviUqvaHVdj/o9x\n"
                             "-----END PRIVATE KEY-----\n";

static const char zone_text[] = "$TTL 300\n"
                                "example.com. TXT \"v=spf1 ip4:192.0.2.0/25 -all\"\n"
                                "_dmarc.example.com. TXT \"v=DMARC1; p=reject\"\n"
                                "1.2.0.192.in-addr.arpa. PTR mx1.example.com.\n"
                                "1.2.0.192.in-addr.arpa. PTR other.example.net.\n"
                                "mx1.example.com. A 192.0.2.1\n"
                                "fabrikam.com. TXT \"v=spf1 ip4:10.2.3.4 -all\"\n"
                                "contoso.com. A 192.0.2.80\n"
                                "northwind.example. TXT \"v=spf1 ?all\"\n"
                                "_dmarc.northwind.example. TXT \"v=DMARC1; p=none\"\n"
                                "7.113.0.203.in-addr.arpa. PTR smtp.northwind.example.\n"
                                "smtp.northwind.example. A 203.0.113.7\n"
                                "lists.example.org. TXT \"v=spf1 ip4:198.51.100.25 -all\"\n"
                                "slow.example. TXT \"v=spf1 -all\"\n"
                                "_dmarc.slow.example. TXT \"v=DMARC1; p=quarantine\"\n";

struct fx {
	struct arena *keys;
	struct dns_zone *zone;
	struct event_base *base;
	struct dns *dns;
	struct dkim_signer ed[3]; /* example.com, maliciousdomain.com, lists.example.org */
};

static struct fx fx;

static void add_txt(const char *owner, const char *txt)
{
	const char *strs[1] = { txt };

	assert_int_equal(dns_zone_add_txt(fx.zone, owner, strs, 1), 0);
}

static int setup(void **state)
{
	static const char *const domains[] = { "example.com", "maliciousdomain.com",
		                               "lists.example.org" };
	struct sx_err err = { 0 };
	size_t i;

	(void)state;
	fx.keys = arena_new();
	fx.zone = dns_zone_new();
	assert_non_null(fx.zone);
	if (dns_zone_load_text(fx.zone, "test", zone_text, strlen(zone_text), NULL, &err) < 0)
		fail_msg("%s", err.msg);
	for (i = 0; i < 3; i++) {
		char owner[128];

		assert_int_equal(dkim_signer_from_pem(&fx.ed[i], fx.keys, ed_pem, strlen(ed_pem),
		                                      domains[i], "ed", &err),
		                 0);
		snprintf(owner, sizeof(owner), "ed._domainkey.%s", domains[i]);
		add_txt(owner, dkim_dns_record(fx.keys, fx.ed[i].pkey));
	}
	/* failures: SPF record timeout, DKIM key SERVFAIL, DMARC SERVFAIL, PTR SERVFAIL */
	assert_int_equal(dns_zone_add_timeout(fx.zone, "slow.example", DNS_T_TXT), 0);
	assert_int_equal(
	    dns_zone_add_failure(fx.zone, "ed._domainkey.slow.example", DNS_T_TXT, DNS_SERVFAIL),
	    0);
	assert_int_equal(
	    dns_zone_add_failure(fx.zone, "_dmarc.broken.example", DNS_T_TXT, DNS_SERVFAIL), 0);
	assert_int_equal(
	    dns_zone_add_failure(fx.zone, "9.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_SERVFAIL), 0);
	fx.base = event_base_new();
	fx.dns = dns_new_zone(fx.base, fx.zone);
	assert_non_null(fx.dns);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx.dns = dns_free(fx.dns);
	event_base_free(fx.base);
	fx.zone = dns_zone_free(fx.zone);
	fx.keys = arena_free(fx.keys);
	return 0;
}

static const char plain[] = "From: Alice <alice@%s>\r\n"
                            "To: Bob <bob@contoso.com>\r\n"
                            "Subject: report\r\n"
                            "Date: Sat, 26 Sep 2026 12:00:00 +0000\r\n"
                            "Message-ID: <t1@example.com>\r\n"
                            "\r\n"
                            "Hello Bob.\r\n";

/* message - the plain message From alice@from_domain, signed by signers */
static char *message(struct arena *a, const char *from_domain, const struct dkim_signer *signers,
                     size_t n)
{
	char *text = arena_printf(a, plain, from_domain);
	struct dkim_sign_options o;
	struct raw_message m;
	struct sx_err err = { 0 };
	struct buf out;
	char *signed_text;

	if (n == 0)
		return text;
	dkim_sign_options_init(&o);
	o.timestamp = NOW;
	assert_int_equal(raw_message_parse(&m, a, text, strlen(text), NULL, &err), 0);
	buf_init(&out, 65536);
	assert_int_equal(dkim_sign(a, &m, signers, n, &o, &out, &err), 0);
	signed_text = arena_printf(a, "%.*s%s", (int)out.len, out.data, text);
	buf_free(&out);
	return signed_text;
}

struct done {
	const struct authcheck_result *r;
	int calls;
};

static void on_done(const struct authcheck_result *r, void *arg)
{
	struct done *d = arg;

	d->r = r;
	d->calls++;
}

/* check - run the whole check on text; the result lives in a */
static const struct authcheck_result *check(struct arena *a, const char *text, const char *ip,
                                            const char *helo, const char *mail_from,
                                            const struct authcheck_options *opts)
{
	struct authcheck_input *in = arena_zalloc(a, sizeof(*in));
	struct raw_message *m = arena_zalloc(a, sizeof(*m));
	struct done *d = arena_zalloc(a, sizeof(*d));

	assert_non_null(in);
	assert_int_equal(raw_message_parse(m, a, text, strlen(text), NULL, NULL), 0);
	assert_int_equal(net_addr_parse(ip, &in->ip), 0);
	in->helo = helo;
	in->mail_from = mail_from;
	in->msg = m;
	in->opts = opts;
	assert_non_null(authcheck_start(fx.dns, fx.base, a, in, on_done, d));
	assert_int_equal(d->calls, 0); /* never before start returns */
	event_base_dispatch(fx.base);
	assert_int_equal(d->calls, 1);
	return d->r;
}

static void options(struct authcheck_options *o)
{
	authcheck_options_init(o, NOW + 100);
	o->authserv_id = "mx.test.example";
	o->dmarc_sample = 0;
}

static void expect_header(struct arena *a, const struct authcheck_result *r, const char *want)
{
	const char *got = authcheck_header(a, r, "mx.test.example", true);

	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("header:\n%s\nwant:\n%s", got, want);
}

/* ---- end to end ------------------------------------------------------- */

static void test_dmarc_pass_two_signatures(void **state)
{
	struct arena *a = arena_new();
	struct authcheck_options o;
	const struct dkim_signer two[2] = { fx.ed[0], fx.ed[1] };
	const struct authcheck_result *r;

	(void)state;
	options(&o);
	r = check(a, message(a, "example.com", two, 2), "192.0.2.1", "mx1.example.com",
	          "alice@example.com", &o);
	assert_int_equal(r->ndkim, 2);
	assert_int_equal(r->dkim[0].result, DKIM_PASS);
	assert_int_equal(r->dkim[1].result, DKIM_PASS);
	assert_int_equal(r->ptr.status, AUTHCHECK_PTR_PASS);
	assert_string_equal(r->ptr.name, "mx1.example.com");
	assert_int_equal(r->compauth.reason, COMPAUTH_R_DMARC_PASS);
	expect_header(a, r,
	              "Authentication-Results: mx.test.example;\n"
	              "\tspf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.com;\n"
	              "\tspf=none smtp.helo=mx1.example.com;\n"
	              "\tdkim=pass (signature was verified) header.d=example.com header.s=ed\n"
	              "\theader.i=@example.com header.b=Ac+BPwRJ;\n"
	              "\tdkim=pass (signature was verified) header.d=maliciousdomain.com\n"
	              "\theader.s=ed header.i=@maliciousdomain.com header.b=XRH8gJXz;\n"
	              "\tdmarc=pass (p=reject sp=reject dis=none) header.from=example.com\n"
	              "\tpolicy.dmarc=none policy.action=none;\n"
	              "\tarc=none;\n"
	              "\tiprev=pass (mx1.example.com) policy.iprev=192.0.2.1;\n"
	              "\tcompauth=pass reason=100\n");
	arena_free(a);
}

/* EOP's examples from the seed deck */
static void test_eop_examples(void **state)
{
	struct arena *a = arena_new();
	struct authcheck_options o;
	const struct authcheck_result *r;

	(void)state;
	options(&o);
	r = check(a, message(a, "fabrikam.com", NULL, 0), "10.2.3.4", "mail.fabrikam.com",
	          "chris@fabrikam.com", &o);
	expect_header(a, r,
	              "Authentication-Results: mx.test.example;\n"
	              "\tspf=pass (sender IP is 10.2.3.4) smtp.mailfrom=fabrikam.com;\n"
	              "\tspf=none smtp.helo=mail.fabrikam.com;\n"
	              "\tdkim=none (message not signed);\n"
	              "\tdmarc=bestguesspass header.from=fabrikam.com policy.action=none;\n"
	              "\tarc=none;\n"
	              "\tiprev=fail (no PTR record) policy.iprev=10.2.3.4;\n"
	              "\tcompauth=pass reason=109\n");

	r = check(a, message(a, "contoso.com", &fx.ed[1], 1), "192.168.1.8",
	          "mail.maliciousdomain.com", "chris@maliciousdomain.com", &o);
	assert_int_equal(r->compauth.result, COMPAUTH_FAIL);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_IMPLICIT_FAIL);
	expect_header(a, r,
	              "Authentication-Results: mx.test.example;\n"
	              "\tspf=none (sender IP is 192.168.1.8) smtp.mailfrom=maliciousdomain.com;\n"
	              "\tspf=none smtp.helo=mail.maliciousdomain.com;\n"
	              "\tdkim=pass (signature was verified) header.d=maliciousdomain.com\n"
	              "\theader.s=ed header.i=@maliciousdomain.com header.b=hHgBVPEF;\n"
	              "\tdmarc=none header.from=contoso.com policy.action=none;\n"
	              "\tarc=none;\n"
	              "\tiprev=fail (no PTR record) policy.iprev=192.168.1.8;\n"
	              "\tcompauth=fail reason=001\n");

	/* the same From is ours: intra-org spoof */
	{
		static const char *const ours[] = { "contoso.com" };

		o.accepted_domains = ours;
		o.naccepted = 1;
		r = check(a, message(a, "contoso.com", &fx.ed[1], 1), "192.168.1.8",
		          "mail.maliciousdomain.com", "chris@maliciousdomain.com", &o);
		assert_int_equal(r->compauth.reason, COMPAUTH_R_IMPLICIT_FAIL_OURS);
		assert_true(r->compauth.from_accepted);
	}
	arena_free(a);
}

static void test_explicit_fail_and_softpass(void **state)
{
	struct arena *a = arena_new();
	struct authcheck_options o;
	const struct authcheck_result *r;

	(void)state;
	options(&o);
	/* example.com from outside its SPF, unsigned: p=reject */
	r = check(a, message(a, "example.com", NULL, 0), "203.0.113.7", "smtp.northwind.example",
	          "alice@example.com", &o);
	assert_int_equal(r->spf->result, SPF_FAIL);
	assert_int_equal(r->compauth.result, COMPAUTH_FAIL);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_EXPLICIT_FAIL);
	assert_string_equal(r->compauth.action, "reject");
	expect_header(a, r,
	              "Authentication-Results: mx.test.example;\n"
	              "\tspf=fail (sender IP is 203.0.113.7) smtp.mailfrom=example.com;\n"
	              "\tspf=none smtp.helo=smtp.northwind.example;\n"
	              "\tdkim=none (message not signed);\n"
	              "\tdmarc=fail (p=reject sp=reject dis=reject) header.from=example.com\n"
	              "\tpolicy.dmarc=reject policy.action=reject;\n"
	              "\tarc=none;\n"
	              "\tiprev=pass (smtp.northwind.example) policy.iprev=203.0.113.7;\n"
	              "\tcompauth=fail reason=000\n");

	/* northwind.example: p=none, SPF ?all, but its own server (PTR): softpass */
	r = check(a, message(a, "northwind.example", NULL, 0), "203.0.113.7",
	          "smtp.northwind.example", "nora@northwind.example", &o);
	assert_int_equal(r->compauth.result, COMPAUTH_SOFTPASS);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_SOFT_PTR);
	assert_string_equal(r->compauth.dmarc, "fail");
	assert_string_equal(r->compauth.action, "none");

	/* the null reverse path: SPF checks postmaster@HELO and DMARC uses it */
	r = check(a, message(a, "fabrikam.com", NULL, 0), "10.2.3.4", "fabrikam.com", "", &o);
	assert_int_equal(r->spf->result, SPF_PASS);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_IMPLICIT_PASS);
	arena_free(a);
}

static void test_temperror(void **state)
{
	struct arena *a = arena_new();
	struct authcheck_options o;
	const struct authcheck_result *r;
	const char *hdr;

	(void)state;
	options(&o);
	o.timeout_ms = 2000;
	/* SPF record times out, the DKIM key SERVFAILs, PTR SERVFAILs */
	{
		struct dkim_signer slow = fx.ed[0];

		slow.domain = "slow.example";
		r = check(a, message(a, "slow.example", &slow, 1), "192.0.2.9", "",
		          "a@slow.example", &o);
	}
	assert_int_equal(r->spf->result, SPF_TEMPERROR);
	assert_null(r->spf_helo);
	assert_int_equal(r->ndkim, 1);
	assert_int_equal(r->dkim[0].result, DKIM_TEMPERROR);
	assert_int_equal(r->ptr.status, AUTHCHECK_PTR_TEMPERROR);
	assert_int_equal(r->dmarc->result, DMARC_RESULT_FAIL);
	/* p=quarantine is explicit even when the failures were temporary */
	assert_int_equal(r->compauth.reason, COMPAUTH_R_EXPLICIT_FAIL);
	hdr = authcheck_header(a, r, "mx.test.example", false);
	assert_non_null(strstr(hdr, "\tspf=temperror (sender IP is 192.0.2.9)"));
	assert_non_null(strstr(hdr, "dkim=temperror"));
	assert_non_null(strstr(hdr, "iprev=temperror (the PTR lookup failed)"));
	assert_non_null(strstr(hdr, "\r\n\t"));
	assert_null(strstr(hdr, "smtp.helo"));

	/* the DMARC record SERVFAILs: dmarc=temperror, compauth not checked */
	r = check(a, message(a, "broken.example", NULL, 0), "192.0.2.1", "mx1.example.com",
	          "a@broken.example", &o);
	assert_int_equal(r->dmarc->result, DMARC_RESULT_TEMPERROR);
	assert_int_equal(r->compauth.result, COMPAUTH_NONE);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_TEMPERROR);
	hdr = authcheck_header(a, r, "mx.test.example", true);
	assert_non_null(strstr(hdr, "dmarc=temperror header.from=broken.example "
	                            "policy.action=temperror;\n"));
	assert_non_null(strstr(hdr, "compauth=none reason=301\n"));
	arena_free(a);
}

static void test_from_unusable(void **state)
{
	static const char two_from[] = "From: a@example.com\r\nFrom: b@example.com\r\n"
	                               "Subject: x\r\n\r\nbody\r\n";
	struct arena *a = arena_new();
	struct authcheck_options o;
	const struct authcheck_result *r;
	const char *hdr;

	(void)state;
	options(&o);
	r = check(a, two_from, "192.0.2.1", "mx1.example.com", "a@example.com", &o);
	assert_null(r->dmarc);
	assert_int_equal(r->from.status, ADDRESS_FROM_REPEATED);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_FROM_UNUSABLE);
	hdr = authcheck_header(a, r, "mx.test.example", true);
	assert_non_null(strstr(hdr, "dmarc=permerror (From: "));
	assert_non_null(strstr(hdr, "policy.action=permerror;\n"));
	assert_non_null(strstr(hdr, "compauth=fail reason=003\n"));
	arena_free(a);
}

/* seal_as_list - text as lists.example.org passes it on: sealed, with an
 * AAR saying what the list saw when the message reached it */
static char *seal_as_list(struct arena *a, const char *text, const char *aar)
{
	struct raw_message m;
	struct arc_seal_options so = { 0 };
	struct arc_sealed out;
	struct authres ar;
	struct sx_err err = { 0 };
	char *sealed;

	assert_int_equal(raw_message_parse(&m, a, text, strlen(text), NULL, NULL), 0);
	assert_int_equal(authres_parse(&ar, a, aar, strlen(aar), 0, &err), 0);
	so.authserv_id = "lists.example.org";
	so.cv = ARC_NONE;
	so.results = &ar;
	so.timestamp = NOW;
	if (arc_seal(a, &m, &fx.ed[2], &so, &out, &err) != 0)
		fail_msg("arc_seal: %s", err.msg);
	sealed = arena_printf(a, "%s%s%s%s", out.as, out.ams, out.aar, text);
	return sealed;
}

static void test_arc_override(void **state)
{
	static const char *const trusted[] = { "lists.example.org" };
	struct arena *a = arena_new();
	struct authcheck_options o;
	const struct authcheck_result *r;
	char *orig, *changed, *sealed;
	const char *hdr;

	(void)state;
	options(&o);
	/* alice@example.com signs; the list adds a footer (DKIM breaks), then seals */
	orig = message(a, "example.com", &fx.ed[0], 1);
	changed = arena_printf(a, "%s-- \r\nlist footer\r\n", orig);
	sealed = seal_as_list(a, changed,
	                      "lists.example.org; spf=pass smtp.mailfrom=example.com; "
	                      "dkim=pass header.d=example.com; dmarc=pass header.from=example.com");

	r = check(a, sealed, "198.51.100.25", "lists.example.org", "alice@example.com", &o);
	assert_int_equal(r->dkim[0].result, DKIM_FAIL);
	assert_int_equal(r->arc->result, ARC_PASS);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_EXPLICIT_FAIL);

	o.trusted_arc_sealers = trusted;
	o.ntrusted = 1;
	r = check(a, sealed, "198.51.100.25", "lists.example.org", "alice@example.com", &o);
	assert_int_equal(r->compauth.result, COMPAUTH_PASS);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_ARC_OVERRIDE);
	assert_string_equal(r->compauth.matched, "lists.example.org");
	assert_string_equal(r->compauth.action, "oreject");
	hdr = authcheck_header(a, r, "mx.test.example", true);
	assert_non_null(strstr(hdr, "\tarc=pass (i=1) smtp.remote-ip=198.51.100.25 "
	                            "header.oldest-pass=1;\n"));
	assert_non_null(strstr(hdr, "compauth=pass reason=130\n"));

	/* the sealer's AAR may hold several dmarc results: any pass for From counts */
	sealed = seal_as_list(a, changed,
	                      "lists.example.org; dmarc=fail header.from=example.org; "
	                      "dmarc=pass header.from=example.com");
	r = check(a, sealed, "198.51.100.25", "lists.example.org", "alice@example.com", &o);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_ARC_OVERRIDE);

	/* a trusted sealer that saw DMARC fail does not override */
	sealed = seal_as_list(a, changed, "lists.example.org; dmarc=fail header.from=example.com");
	r = check(a, sealed, "198.51.100.25", "lists.example.org", "alice@example.com", &o);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_EXPLICIT_FAIL);

	/* nor does one whose seal is broken */
	sealed = seal_as_list(a, changed, "lists.example.org; dmarc=pass header.from=example.com");
	sealed = arena_printf(a, "%sanother footer\r\n", sealed);
	r = check(a, sealed, "198.51.100.25", "lists.example.org", "alice@example.com", &o);
	assert_int_equal(r->arc->result, ARC_FAIL);
	assert_int_equal(r->compauth.reason, COMPAUTH_R_EXPLICIT_FAIL);
	arena_free(a);
}

/* test_many_signatures - past AUTHCHECK_AR_MAX_DKIM signatures the field
 * stops listing them, so it stays within what parsers accept */
static void test_many_signatures(void **state)
{
	struct dkim_signer s[AUTHCHECK_AR_MAX_DKIM + 2];
	struct arena *a = arena_new();
	struct authcheck_options o;
	const struct authcheck_result *r;
	struct authres ar;
	struct sx_err err;
	const char *hdr;
	size_t i, from = 0, ndkim = 0;

	(void)state;
	for (i = 0; i < AUTHCHECK_AR_MAX_DKIM + 2; i++)
		s[i] = fx.ed[0];
	options(&o);
	r = check(a, message(a, "example.com", s, AUTHCHECK_AR_MAX_DKIM + 2), "192.0.2.1",
	          "mx1.example.com", "alice@example.com", &o);
	assert_int_equal(r->ndkim, AUTHCHECK_AR_MAX_DKIM + 2);
	assert_int_equal(r->dkim[0].result, DKIM_PASS);
	assert_int_equal(r->dkim[AUTHCHECK_AR_MAX_DKIM + 1].result, DKIM_NEUTRAL);
	hdr = authcheck_header(a, r, "mx.test.example", true);
	assert_non_null(hdr);
	hdr = strchr(hdr, ':') + 1;
	assert_int_equal(authres_parse(&ar, a, hdr, strlen(hdr) - 1, 0, &err), 0);
	while (authres_find(&ar, "dkim", &from) != NULL)
		ndkim++;
	assert_int_equal(ndkim, AUTHCHECK_AR_MAX_DKIM);
	assert_int_equal(ar.nresults, 6 + AUTHCHECK_AR_MAX_DKIM);
	arena_free(a);
}

/* ---- removing our fields ---------------------------------------------- */

static void test_strip_ours(void **state)
{
	static const char text[] =
	    "Authentication-Results: mx.test.example; spf=pass smtp.mailfrom=a.example\r\n"
	    "Received: from x by y\r\n"
	    "Authentication-Results: other.example; dkim=pass header.d=a.example\r\n"
	    "Authentication-Results: MX.Test.Example;\r\n"
	    "\tdkim=pass header.d=forged.example\r\n"
	    "authentication-results: (comment) mx.test.example; this does not parse\r\n"
	    "Authentication-Results: \"mx.test.example\"; none\r\n"
	    "Authentication-Results: mx.test.example.evil; none\r\n"
	    "Authentication-Results: mx.test.exampl; none\r\n"
	    "X-Authentication-Results: mx.test.example; none\r\n"
	    "Authentication-Results: mx.test.example\r\n"
	    "From: a@a.example\r\n"
	    "\r\n"
	    "Authentication-Results: mx.test.example; in the body\r\n";
	struct arena *a = arena_new();
	struct raw_message m;
	struct authcheck_range *rg;
	struct buf out;
	size_t n, i, pos = 0;

	(void)state;
	assert_int_equal(raw_message_parse(&m, a, text, strlen(text), NULL, NULL), 0);
	assert_int_equal(authcheck_strip_ours(a, &m, "mx.test.example", &rg, &n), 0);
	/* rewrite the message without the ranges */
	buf_init(&out, 65536);
	for (i = 0; i < n; i++) {
		assert_true(rg[i].offset >= pos);
		assert_int_equal(buf_append(&out, text + pos, rg[i].offset - pos), 0);
		pos = rg[i].offset + rg[i].len;
	}
	assert_int_equal(buf_append(&out, text + pos, strlen(text) - pos), 0);
	assert_int_equal(n, 3); /* the 3rd..5th fields are adjacent: merged */
	assert_string_equal(
	    out.data, "Received: from x by y\r\n"
	              "Authentication-Results: other.example; dkim=pass header.d=a.example\r\n"
	              "Authentication-Results: mx.test.example.evil; none\r\n"
	              "Authentication-Results: mx.test.exampl; none\r\n"
	              "X-Authentication-Results: mx.test.example; none\r\n"
	              "From: a@a.example\r\n"
	              "\r\n"
	              "Authentication-Results: mx.test.example; in the body\r\n");
	buf_free(&out);

	/* nothing to drop: other ids only, or no id to compare with */
	assert_int_equal(authcheck_strip_ours(a, &m, "nobody.example", &rg, &n), 0);
	assert_int_equal(n, 0);
	assert_null(rg);
	assert_int_equal(authcheck_strip_ours(a, &m, "", &rg, &n), 0);
	assert_int_equal(n, 0);
	arena_free(a);
}

/* ---- the driver ------------------------------------------------------- */

static void test_cancel_and_free(void **state)
{
	struct authcheck_options o;
	struct authcheck_input in = { 0 };
	struct raw_message m;
	struct done d = { 0 };
	struct arena *a = arena_new();
	struct arena *msg_a = arena_new();
	const char *text = message(msg_a, "example.com", &fx.ed[0], 1);
	struct authcheck *c;

	(void)state;
	options(&o);
	assert_int_equal(raw_message_parse(&m, msg_a, text, strlen(text), NULL, NULL), 0);
	assert_int_equal(net_addr_parse("192.0.2.1", &in.ip), 0);
	in.helo = "mx1.example.com";
	in.mail_from = "alice@example.com";
	in.msg = &m;
	in.opts = &o;
	c = authcheck_start(fx.dns, fx.base, a, &in, on_done, &d);
	assert_non_null(c);
	authcheck_cancel(c);
	authcheck_cancel(c);
	event_base_dispatch(fx.base);
	assert_int_equal(d.calls, 0);
	arena_free(a);

	/* freeing the arena cancels a check in flight */
	a = arena_new();
	assert_non_null(authcheck_start(fx.dns, fx.base, a, &in, on_done, &d));
	arena_free(a);
	event_base_dispatch(fx.base);
	assert_int_equal(d.calls, 0);

	/* IPv6 client without PTR */
	a = arena_new();
	assert_int_equal(net_addr_parse("2001:db8::25", &in.ip), 0);
	assert_non_null(authcheck_start(fx.dns, fx.base, a, &in, on_done, &d));
	event_base_dispatch(fx.base);
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.r->ptr.status, AUTHCHECK_PTR_FAIL);
	assert_int_equal(d.r->spf->result, SPF_FAIL);
	arena_free(a);
	arena_free(msg_a);
}

/* test_oom - fail every allocation in turn: start fails cleanly or the
 * check completes with some result; never a crash or a leak (ASan) */
static void test_oom(void **state)
{
	struct authcheck_options o;
	struct authcheck_input in = { 0 };
	struct raw_message m;
	struct arena *msg_a = arena_new();
	/* unsigned: dkim_async.c and arc_async.c crash when the allocation of
	 * their query array fails (job->nq is set before job->jq); reported */
	const char *text = message(msg_a, "example.com", NULL, 0);
	unsigned long n;
	unsigned completed = 0, refused = 0;

	(void)state;
	options(&o);
	assert_int_equal(raw_message_parse(&m, msg_a, text, strlen(text), NULL, NULL), 0);
	assert_int_equal(net_addr_parse("192.0.2.1", &in.ip), 0);
	in.helo = "mx1.example.com";
	in.mail_from = "alice@example.com";
	in.msg = &m;
	in.opts = &o;
	for (n = 1; n < 3000; n++) {
		struct arena *a = arena_new();
		struct done d = { 0 };

		assert_non_null(a);
		arena_fail_after(n);
		if (authcheck_start(fx.dns, fx.base, a, &in, on_done, &d) == NULL) {
			refused++;
		} else {
			event_base_dispatch(fx.base);
			assert_int_equal(d.calls, 1);
			arena_fail_after(0);
			(void)authcheck_header(a, d.r, "mx.test.example", true);
			completed++;
		}
		arena_fail_after(0);
		arena_free(a);
	}
	printf("  oom: %u refused at start, %u completed\n", refused, completed);
	assert_true(completed > 0);
	assert_true(refused > 0);
	arena_free(msg_a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dmarc_pass_two_signatures),
		cmocka_unit_test(test_eop_examples),
		cmocka_unit_test(test_explicit_fail_and_softpass),
		cmocka_unit_test(test_temperror),
		cmocka_unit_test(test_from_unusable),
		cmocka_unit_test(test_arc_override),
		cmocka_unit_test(test_many_signatures),
		cmocka_unit_test(test_strip_ours),
		cmocka_unit_test(test_cancel_and_free),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
