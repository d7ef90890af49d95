/* Unit tests for auth/arc: seal -> validate round trips over three hops,
 * tampering, broken structure, cv= rules, key problems, the AAR text, the
 * ARC flavour of the AMS parser and the async driver on an in-memory zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "auth/arc.h"
#include "auth/authres.h"
#include "auth/dkim_sign.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/dns_zone.h"
#include "mime/raw.h"

#define NOW 1700000000

static const char msg_crlf[] = "Received: from a.example by b.example; Tue, 14 Nov 2023\r\n"
                               "From: Alice <alice@example.com>\r\n"
                               "To: bob@example.net\r\n"
                               "Subject: lunch\r\n"
                               "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                               "Message-ID: <1@example.com>\r\n"
                               "\r\n"
                               "Shall we?\r\n";

static struct arena *keys;
static struct dns_zone *zone;
static struct dkim_signer hop[3]; /* example.org rsa, example.net ed25519, example.com rsa */

/* add_txt - a TXT record in strings of at most 255 bytes */
static void add_txt(const char *owner, const char *txt)
{
	const char *strs[8];
	char chunk[8][256];
	size_t len = strlen(txt), n = 0, off;

	for (off = 0; off < len && n < 8; off += 255, n++) {
		size_t l = len - off > 255 ? 255 : len - off;

		memcpy(chunk[n], txt + off, l);
		chunk[n][l] = '\0';
		strs[n] = chunk[n];
	}
	assert_int_equal(dns_zone_add_txt(zone, owner, strs, n), 0);
}

static struct dkim_signer make_signer(const char *type, unsigned bits, const char *domain,
                                      const char *sel)
{
	struct dkim_signer s;
	struct sx_err err = { 0 };
	EVP_PKEY *pk = dkim_keygen(keys, type, bits, &err);
	const char *txt;
	char owner[256];
	char *pem;

	assert_non_null(pk);
	pem = dkim_key_pem(keys, pk);
	assert_non_null(pem);
	if (dkim_signer_from_pem(&s, keys, pem, strlen(pem), domain, sel, &err) < 0)
		fail_msg("%s", err.msg);
	txt = dkim_dns_record(keys, pk);
	assert_non_null(txt);
	snprintf(owner, sizeof(owner), "%s._domainkey.%s", sel, domain);
	add_txt(owner, txt);
	return s;
}

static int setup(void **state)
{
	(void)state;
	keys = arena_new();
	zone = dns_zone_new();
	hop[0] = make_signer("rsa", 1024, "example.org", "arc1");
	hop[1] = make_signer("ed25519", 0, "example.net", "arc2");
	hop[2] = make_signer("rsa", 2048, "Example.COM", "arc3");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dns_zone_free(zone);
	arena_free(keys);
	return 0;
}

/* verdict - validate text, answering keys from the zone */
static const struct arc_verdict *verdict(struct arena *a, const char *text)
{
	struct raw_message *m = arena_alloc(a, sizeof(*m));
	struct dkim_query *const *q;
	struct arc_verify *v;
	size_t i, n;

	assert_non_null(m);
	assert_int_equal(raw_message_parse(m, a, text, strlen(text), NULL, NULL), 0);
	v = arc_verify_new(a, m, NULL);
	assert_non_null(v);
	n = arc_verify_queries(v, &q);
	for (i = 0; i < n; i++) {
		struct dns_answer ans;

		memset(&ans, 0, sizeof(ans));
		if (dns_zone_answer(zone, a, q[i]->name, DNS_T_TXT, &ans) < 0) {
			memset(&ans, 0, sizeof(ans));
			ans.status = DNS_TIMEOUT;
		}
		assert_int_equal(arc_verify_answer(v, q[i]->name, &ans), 0);
	}
	assert_null(arc_verify_verdict(v));
	assert_int_equal(arc_verify_step(v), ARC_STEP_DONE);
	assert_non_null(arc_verify_verdict(v));
	return arc_verify_verdict(v);
}

static void expect(const struct arc_verdict *vd, enum arc_result r, const char *why_part)
{
	printf("  -> %s (%s)\n", arc_result_name(vd->result), vd->reason);
	if (vd->result != r)
		fail_msg("got %s (%s), want %s", arc_result_name(vd->result), vd->reason,
		         arc_result_name(r));
	if (why_part != NULL && strstr(vd->reason, why_part) == NULL)
		fail_msg("reason \"%s\" does not say \"%s\"", vd->reason, why_part);
}

/* seal - text with the next ARC set on top (rc of arc_seal in *rc) */
static char *seal_rc(struct arena *a, const char *text, const struct dkim_signer *s,
                     enum arc_result cv, const char *ar_text, int *rc, struct arc_sealed *out)
{
	struct raw_message m;
	struct arc_seal_options o = { 0 };
	struct authres ar;
	struct sx_err err = { 0 };

	assert_int_equal(raw_message_parse(&m, a, text, strlen(text), NULL, NULL), 0);
	o.authserv_id = "mx.example.org";
	o.cv = cv;
	o.timestamp = NOW;
	if (ar_text != NULL) {
		assert_int_equal(authres_parse(&ar, a, ar_text, strlen(ar_text), 0, &err), 0);
		o.results = &ar;
	}
	*rc = arc_seal(a, &m, s, &o, out, &err);
	if (*rc != 0)
		return arena_strdup(a, err.msg);
	return arena_printf(a, "%s%s%s%s", out->as, out->ams, out->aar, text);
}

static char *seal(struct arena *a, const char *text, const struct dkim_signer *s,
                  enum arc_result cv)
{
	struct arc_sealed out;
	int rc;
	char *r = seal_rc(a, text, s, cv, "x; arc=pass", &rc, &out);

	if (rc != 0)
		fail_msg("seal: %d %s", rc, r);
	return r;
}

/* replace - text with the first `from` replaced by `to` */
static char *replace(struct arena *a, const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);

	assert_non_null(p);
	return arena_printf(a, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
}

/* drop_line - text without the field that starts with prefix (with its folding) */
static char *drop_field(struct arena *a, const char *text, const char *prefix)
{
	const char *p = strstr(text, prefix), *e;

	assert_non_null(p);
	e = p;
	do {
		e = strchr(e, '\n');
		assert_non_null(e);
		e++;
	} while (*e == ' ' || *e == '\t');
	return arena_printf(a, "%.*s%s", (int)(p - text), text, e);
}

static void test_round_trips(void **state)
{
	struct arena *a = arena_new();
	const struct arc_verdict *vd;
	char *m1, *m2, *m3, *lf;
	size_t i;

	(void)state;
	vd = verdict(a, msg_crlf);
	expect(vd, ARC_NONE, NULL);
	assert_int_equal(vd->instances, 0);

	m1 = seal(a, msg_crlf, &hop[0], ARC_NONE);
	vd = verdict(a, m1);
	expect(vd, ARC_PASS, NULL);
	assert_int_equal(vd->instances, 1);
	assert_int_equal(vd->oldest_pass, 1);
	assert_string_equal(vd->sets[0].as_d, "example.org");
	assert_int_equal(vd->sets[0].as, ARC_CHECK_PASS);

	m2 = seal(a, m1, &hop[1], ARC_PASS);
	vd = verdict(a, m2);
	expect(vd, ARC_PASS, NULL);
	assert_int_equal(vd->instances, 2);
	assert_int_equal(vd->oldest_pass, 1);
	assert_string_equal(vd->sets[1].ams_d, "example.net");

	m3 = seal(a, m2, &hop[2], ARC_PASS);
	vd = verdict(a, m3);
	expect(vd, ARC_PASS, NULL);
	assert_int_equal(vd->instances, 3);
	assert_int_equal(vd->nsets, 3);
	assert_string_equal(vd->sets[2].as_d, "example.com"); /* values are written lower-case */
	for (i = 0; i < 3; i++) {
		assert_int_equal(vd->sets[i].instance, i + 1);
		assert_int_equal(vd->sets[i].cv, i == 0 ? ARC_NONE : ARC_PASS);
		assert_int_equal(vd->sets[i].ams, ARC_CHECK_PASS);
	}
	assert_memory_equal(vd->sets[2].aar, "mx.example.org; arc=pass", 24);

	/* a hop that changes the subject breaks the older AMS: oldest-pass moves up */
	m3 = seal(a, replace(a, m2, "Subject: lunch", "Subject: [list] lunch"), &hop[2], ARC_PASS);
	vd = verdict(a, m3);
	expect(vd, ARC_PASS, NULL);
	assert_int_equal(vd->oldest_pass, 3);
	assert_int_equal(vd->sets[1].ams, ARC_CHECK_FAIL);

	/* an LF message is sealed with LF line breaks and validates */
	lf = arena_strdup(a, msg_crlf);
	for (i = 0; lf[i] != '\0'; i++)
		if (lf[i] == '\r')
			memmove(lf + i, lf + i + 1, strlen(lf + i));
	m1 = seal(a, lf, &hop[0], ARC_NONE);
	assert_null(strchr(m1, '\r'));
	expect(verdict(a, m1), ARC_PASS, NULL);
	arena_free(a);
}

static void test_tamper(void **state)
{
	struct arena *a = arena_new();
	const struct arc_verdict *vd;
	char *m2 = seal(a, seal(a, msg_crlf, &hop[0], ARC_NONE), &hop[1], ARC_PASS);

	(void)state;
	/* a signed header */
	vd = verdict(a, replace(a, m2, "Subject: lunch", "Subject: dinner"));
	expect(vd, ARC_FAIL, "instance 2: ARC-Message-Signature");
	assert_int_equal(vd->failed_instance, 2);
	/* the body */
	expect(verdict(a, replace(a, m2, "Shall we?", "Shall we not?")), ARC_FAIL,
	       "body hash mismatch");
	/* an older AAR: the newest seal covers it */
	vd = verdict(
	    a, replace(a, m2, "i=1; mx.example.org; arc=pass", "i=1; mx.example.org; arc=fail"));
	expect(vd, ARC_FAIL, "instance 2: ARC-Seal");
	/* a seal's cv= */
	expect(verdict(a, replace(a, m2, "cv=pass", "cv=none")), ARC_FAIL, "cv=none");
	/* a seal's signature */
	expect(verdict(a, replace(a, m2, "cv=none; d=example.org", "cv=none;  d=example.org")),
	       ARC_PASS, NULL); /* relaxed: white space is free */
	expect(verdict(a, replace(a, m2, "d=example.org; i=1; s=arc1",
	                          "d=example.org; i=1; s=arc1; x=y")),
	       ARC_FAIL, "instance 2: ARC-Seal: signature mismatch"); /* AS(2) covers AS(1) */
	/* a new unsigned header changes nothing */
	expect(verdict(a, arena_printf(a, "X-Spam: no\r\n%s", m2)), ARC_PASS, NULL);
	arena_free(a);
}

static void test_structure(void **state)
{
	struct arena *a = arena_new();
	char *m2 = seal(a, seal(a, msg_crlf, &hop[0], ARC_NONE), &hop[1], ARC_PASS);
	char *m;

	(void)state;
	/* a missing field of an instance */
	expect(verdict(a, drop_field(a, m2, "ARC-Message-Signature: a=rsa-sha256")), ARC_FAIL,
	       "instance 1 lacks its ARC-Message-Signature");
	/* a missing instance: i=1 gone whole */
	m = drop_field(a, m2, "ARC-Message-Signature: a=rsa-sha256");
	m = drop_field(a, m, "ARC-Seal: a=rsa-sha256");
	m = drop_field(a, m, "ARC-Authentication-Results: i=1");
	expect(verdict(a, m), ARC_FAIL, "instance 1 lacks");
	/* a duplicate */
	expect(verdict(a, arena_printf(a, "ARC-Authentication-Results: i=2; x; none\r\n%s", m2)),
	       ARC_FAIL, "two ARC-Authentication-Results");
	/* out of range */
	expect(verdict(a, arena_printf(a,
	                               "ARC-Seal: i=51; a=rsa-sha256; cv=pass; d=x.org; s=s; "
	                               "b=AAAA\r\n%s",
	                               m2)),
	       ARC_FAIL, "ARC-Seal without a valid i=");
	expect(verdict(a, replace(a, m2, "ARC-Authentication-Results: i=2",
	                          "ARC-Authentication-Results: i=0")),
	       ARC_FAIL, "ARC-Authentication-Results without a valid i=");
	expect(verdict(a, replace(a, m2, "ARC-Authentication-Results: i=2;",
	                          "ARC-Authentication-Results: mx; i=2;")),
	       ARC_FAIL, "without a valid i=");
	/* a seal with h= */
	expect(verdict(a, replace(a, m2, "cv=pass", "h=from; cv=pass")), ARC_FAIL,
	       "h= is not allowed");
	/* an empty tag-spec */
	expect(verdict(a, replace(a, m2, "cv=pass", "; cv=pass")), ARC_FAIL, "empty tag-spec");
	/* the newest seal says fail: no key needed, the chain is over */
	expect(verdict(a, replace(a, m2, "cv=pass", "cv=fail")), ARC_FAIL, "says cv=fail");
	arena_free(a);
}

static void test_cv_fail(void **state)
{
	struct arena *a = arena_new();
	char *m1 = seal(a, msg_crlf, &hop[0], ARC_NONE), *broken, *m2, *why;
	const struct arc_verdict *vd;
	struct arc_sealed out;
	int rc;

	(void)state;
	broken = replace(a, m1, "Subject: lunch", "Subject: dinner");
	expect(verdict(a, broken), ARC_FAIL, NULL);
	/* sealing a broken chain as pass is refused; as fail it is done */
	why = seal_rc(a, broken, &hop[1], ARC_PASS, NULL, &rc, &out);
	assert_int_equal(rc, 0); /* the structure is intact: our cv is taken as given */
	why = seal_rc(a, drop_field(a, broken, "ARC-Seal:"), &hop[1], ARC_PASS, NULL, &rc, &out);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(why, "broken"));
	m2 = seal_rc(a, broken, &hop[1], ARC_FAIL, "x; arc=fail", &rc, &out);
	assert_int_equal(rc, 0);
	assert_int_equal(out.instance, 2);
	assert_non_null(strstr(out.as_value, "cv=fail"));
	vd = verdict(a, m2);
	expect(vd, ARC_FAIL, "says cv=fail");
	/* after cv=fail no set may be added */
	why = seal_rc(a, m2, &hop[2], ARC_FAIL, NULL, &rc, &out);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(why, "cv=fail"));
	arena_free(a);
}

static void test_seal_errors(void **state)
{
	struct arena *a = arena_new();
	struct arc_seal_options o = { 0 };
	static const char *const no_from[] = { "to", "subject", NULL };
	static const char *const with_as[] = { "from", "arc-seal", NULL };
	static const char *const bad_name[] = { "from", "a b", NULL };
	struct arc_sealed out;
	struct raw_message m;
	struct sx_err err = { 0 };
	char *m1 = seal(a, msg_crlf, &hop[0], ARC_NONE), *why;
	int rc;

	(void)state;
	why = seal_rc(a, msg_crlf, &hop[0], ARC_PASS, NULL, &rc, &out);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(why, "without ARC sets"));
	why = seal_rc(a, m1, &hop[1], ARC_NONE, NULL, &rc, &out);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(why, "cv=none"));
	why = seal_rc(a, arena_printf(a, "ARC-Seal: i=50; cv=pass\r\n%s", m1), &hop[1], ARC_FAIL,
	              NULL, &rc, &out);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(why, "50"));

	assert_int_equal(raw_message_parse(&m, a, msg_crlf, strlen(msg_crlf), NULL, NULL), 0);
	o.authserv_id = "mx.example.org";
	o.timestamp = -1;
	o.headers = no_from;
	assert_int_equal(arc_seal(a, &m, &hop[0], &o, &out, &err), -1);
	o.headers = with_as;
	assert_int_equal(arc_seal(a, &m, &hop[0], &o, &out, &err), -1);
	o.headers = bad_name;
	assert_int_equal(arc_seal(a, &m, &hop[0], &o, &out, &err), -1);
	o.headers = NULL;
	o.authserv_id = "bad id";
	assert_int_equal(arc_seal(a, &m, &hop[0], &o, &out, &err), -1);
	/* no t= when asked, the default header list, "none" without results */
	o.authserv_id = "mx.example.org";
	assert_int_equal(arc_seal(a, &m, &hop[0], &o, &out, &err), 0);
	assert_null(strstr(out.as_value, "t="));
	assert_string_equal(out.aar_value, "i=1; mx.example.org; none");
	assert_non_null(strstr(out.ams_value, "; h=from:to:subject:date:message-id; "));
	arena_free(a);
}

static void test_aar_and_format(void **state)
{
	struct arena *a = arena_new();
	struct arc_sealed out;
	struct authres ar;
	struct raw_message m;
	const char *text =
	    "Authentication-Results: mx.example.org; spf=pass\r\n\t smtp.mailfrom=a@example.com\r\n"
	    "Authentication-Results: other.example; dkim=fail\r\n"
	    "Authentication-Results: MX.example.org; dkim=pass (good) header.d=example.com;\r\n"
	    "Authentication-Results: mx.example.org; broken=\r\n";
	char *full = arena_printf(a, "%s%s", text, msg_crlf), *sealed;
	const char *p;
	int rc;

	(void)state;
	assert_int_equal(raw_message_parse(&m, a, full, strlen(full), NULL, NULL), 0);
	assert_int_equal(arc_collect_results(a, &m, "mx.example.org", &ar), 0);
	assert_int_equal(ar.nresults, 2);
	sealed = seal_rc(a, full, &hop[2], ARC_NONE, NULL, &rc, &out);
	assert_int_equal(rc, 0);
	{
		struct arc_seal_options o = { "mx.example.org", ARC_NONE, &ar, NULL, NOW };
		struct sx_err err;

		assert_int_equal(arc_seal(a, &m, &hop[2], &o, &out, &err), 0);
	}
	assert_string_equal(out.aar_value,
	                    "i=1; mx.example.org; spf=pass smtp.mailfrom=a@example.com; "
	                    "dkim=pass (good) header.d=example.com");
	/* the canonical tag order; folded only at "; ", lines within 78 where possible */
	assert_true(strncmp(out.as_value, "a=rsa-sha256; b=", 16) == 0);
	assert_non_null(
	    strstr(out.as_value, "; cv=none; d=example.com; i=1; s=arc3; t=1700000000"));
	assert_true(strncmp(out.ams_value, "a=rsa-sha256; b=", 16) == 0);
	assert_non_null(strstr(out.ams_value, "; c=relaxed/relaxed; d=example.com; h="));
	assert_non_null(strstr(out.ams, ";\r\n "));
	for (p = out.ams; (p = strstr(p, "\r\n")) != NULL; p += 2)
		assert_true(p[2] == ' ' || p[2] == '\0');
	(void)sealed;
	arena_free(a);
}

static void test_keys(void **state)
{
	struct arena *a = arena_new();
	struct dkim_signer small = hop[0], other = hop[0];
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	char *m1 = seal(a, msg_crlf, &hop[0], ARC_NONE), *m;
	const struct arc_verdict *vd;
	const char *txt, *strs[1];

	(void)state;
	/* a selector with no key */
	other.selector = "nokey";
	expect(verdict(a, seal(a, msg_crlf, &other, ARC_NONE)), ARC_FAIL, "no key");
	/* a key that times out: a temporary failure */
	assert_int_equal(dns_zone_add_timeout(zone, "slow._domainkey.example.org", 0), 0);
	other.selector = "slow";
	vd = verdict(a, seal(a, msg_crlf, &other, ARC_NONE));
	expect(vd, ARC_FAIL, "timed out");
	assert_true(vd->temporary);
	/* RSA under 1024 bits */
	assert_non_null(pk);
	small.pkey = pk;
	small.bits = 512;
	small.selector = "small";
	txt = dkim_dns_record(a, pk);
	strs[0] = txt;
	assert_int_equal(dns_zone_add_txt(zone, "small._domainkey.example.org", strs, 1), 0);
	vd = verdict(a, seal(a, msg_crlf, &small, ARC_NONE));
	expect(vd, ARC_FAIL, "key too small");
	assert_false(vd->temporary);
	EVP_PKEY_free(pk);
	/* a revoked key */
	strs[0] = "v=DKIM1; p=";
	assert_int_equal(dns_zone_add_txt(zone, "gone._domainkey.example.org", strs, 1), 0);
	other.selector = "gone";
	expect(verdict(a, seal(a, msg_crlf, &other, ARC_NONE)), ARC_FAIL, "revoked");
	/* an answer nobody asked for */
	m = m1;
	{
		struct raw_message *rm = arena_alloc(a, sizeof(*rm));
		struct arc_verify *v;
		struct dns_answer ans = { 0 };

		assert_int_equal(raw_message_parse(rm, a, m, strlen(m), NULL, NULL), 0);
		v = arc_verify_new(a, rm, NULL);
		assert_int_equal(arc_verify_answer(v, "x._domainkey.example.org", &ans), -1);
		assert_int_equal(arc_verify_step(v), ARC_STEP_NEED_DNS);
		arc_verify_abort(v, NULL);
		expect(arc_verify_verdict(v), ARC_FAIL, "timed out");
	}
	arena_free(a);
}

static void test_ams_parse(void **state)
{
	static const struct {
		const char *value;
		int rc;
		unsigned instance;
	} cases[] = {
		{ "i=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=dGVzdA==; b=dGVzdA==", 0, 1 },
		{ "i=50; a=rsa-sha256; d=x.org; s=s; h=; bh=dGVzdA==; b=dGVzdA==", 0, 50 },
		{ "i=2; a=rsa-sha256; d=x.org; s=s; h=to::date; bh=dGVzdA==; b=dGVzdA==", 0, 2 },
		{ "i=0; a=rsa-sha256; d=x.org; s=s; h=from; bh=dGVzdA==; b=dGVzdA==", -1, 0 },
		{ "i=51; a=rsa-sha256; d=x.org; s=s; h=from; bh=dGVzdA==; b=dGVzdA==", -1, 0 },
		{ "a=rsa-sha256; d=x.org; s=s; h=from; bh=dGVzdA==; b=dGVzdA==", -1, 0 },
		{ "i=1; a=rsa-sha256; d=x.org; s=s; bh=dGVzdA==; b=dGVzdA==", -1, 0 },
	};
	struct arena *a = arena_new();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dkim_sig sig;
		enum dkim_reason r;
		const char *why;
		int rc = dkim_sig_parse_flags(&sig, a, cases[i].value, strlen(cases[i].value),
		                              DKIM_SIG_ARC, &r, &why);

		printf("ams %zu: %s -> %d\n", i, cases[i].value, rc);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(sig.instance, cases[i].instance);
			assert_int_equal(sig.hcanon, DKIM_CANON_RELAXED);
			assert_null(sig.i);
		}
	}
	/* the same value is no DKIM signature: no v=, From not signed */
	{
		struct dkim_sig sig;
		enum dkim_reason r;
		const char *why;

		assert_int_equal(
		    dkim_sig_parse(&sig, a, cases[0].value, strlen(cases[0].value), &r, &why), -1);
	}
	arena_free(a);
}

struct async_ctx {
	struct event_base *base;
	struct arc_verify *v;
	int calls;
};

static void async_done(struct arc_verify *v, void *arg)
{
	struct async_ctx *c = arg;

	c->v = v;
	c->calls++;
	event_base_loopbreak(c->base);
}

static void test_async(void **state)
{
	struct arena *a = arena_new();
	struct event_base *base = event_base_new();
	struct dns *dns = dns_new_zone(base, zone);
	struct async_ctx c = { base, NULL, 0 };
	struct arc_verify_options o = { 100 };
	struct raw_message m;
	struct dkim_signer slow = hop[0];
	char *m2 = seal(a, seal(a, msg_crlf, &hop[0], ARC_NONE), &hop[1], ARC_PASS), *ms;

	(void)state;
	assert_non_null(dns);
	assert_int_equal(raw_message_parse(&m, a, m2, strlen(m2), NULL, NULL), 0);
	assert_non_null(arc_verify_start(dns, base, a, &m, &o, async_done, &c));
	assert_int_equal(c.calls, 0);
	event_base_dispatch(base);
	assert_int_equal(c.calls, 1);
	expect(arc_verify_verdict(c.v), ARC_PASS, NULL);

	/* nothing to look up: called back on the next loop turn */
	c.calls = 0;
	assert_int_equal(raw_message_parse(&m, a, msg_crlf, strlen(msg_crlf), NULL, NULL), 0);
	assert_non_null(arc_verify_start(dns, base, a, &m, &o, async_done, &c));
	assert_int_equal(c.calls, 0);
	event_base_dispatch(base);
	assert_int_equal(c.calls, 1);
	expect(arc_verify_verdict(c.v), ARC_NONE, NULL);

	/* a key that never answers: the deadline */
	assert_int_equal(dns_zone_add_timeout(zone, "late._domainkey.example.org", 0), 0);
	slow.selector = "late";
	ms = seal(a, msg_crlf, &slow, ARC_NONE);
	c.calls = 0;
	assert_int_equal(raw_message_parse(&m, a, ms, strlen(ms), NULL, NULL), 0);
	assert_non_null(arc_verify_start(dns, base, a, &m, &o, async_done, &c));
	event_base_dispatch(base);
	assert_int_equal(c.calls, 1);
	assert_true(arc_verify_verdict(c.v)->temporary);

	/* cancelled, or the arena freed: never called back */
	c.calls = 0;
	assert_int_equal(raw_message_parse(&m, a, m2, strlen(m2), NULL, NULL), 0);
	arc_verify_cancel(arc_verify_start(dns, base, a, &m, &o, async_done, &c));
	assert_non_null(arc_verify_start(dns, base, a, &m, &o, async_done, &c));
	arena_free(a);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(c.calls, 0);
	dns_free(dns);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips), cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_structure),   cmocka_unit_test(test_cv_fail),
		cmocka_unit_test(test_seal_errors), cmocka_unit_test(test_aar_and_format),
		cmocka_unit_test(test_keys),        cmocka_unit_test(test_ams_parse),
		cmocka_unit_test(test_async),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
