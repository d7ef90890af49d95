/* Unit tests for transport/dane: TLSA parsing and formatting, the usable
 * record rules, the RFC 7672 policy rules fed with answers of every DNSSEC
 * status (tables), the asynchronous lookup on the zone backend, and the
 * SSL set-up and outcome on certificate chains made here (DANE-EE match
 * and mismatch, DANE-TA with the base domain, the MX name and a wrong
 * name, expired DANE-TA leaf, expired DANE-EE leaf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/dns_zone.h"
#include "transport/dane.h"

#define HEX64 "3111668338043de264d0256a702248696c9484b6221a42740f920187b4c61838"

/* ---- parsing ---- */

static const struct {
	const char *text;
	int ok;
	uint8_t u, s, m;
	size_t len;
} parse_cases[] = {
	{ "3 1 1 " HEX64, 0, 3, 1, 1, 32 },
	{ "  2 0 2  ab cd\tEF\n", 0, 2, 0, 2, 3 },
	{ "255 255 255 00", 0, 255, 255, 255, 1 },
	{ "3 1 1", -1, 0, 0, 0, 0 },
	{ "3 1 1 ", -1, 0, 0, 0, 0 },
	{ "256 1 1 ab", -1, 0, 0, 0, 0 },
	{ "3 1 1 abc", -1, 0, 0, 0, 0 },
	{ "3 1 1 zz", -1, 0, 0, 0, 0 },
	{ "x 1 1 ab", -1, 0, 0, 0, 0 },
	{ "-3 1 1 ab", -1, 0, 0, 0, 0 },
	{ "0003 1 1 ab", -1, 0, 0, 0, 0 },
	{ "", -1, 0, 0, 0, 0 },
};

static void test_parse_text(void **state)
{
	struct arena *a = arena_new();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		struct dane_tlsa t;
		struct sx_err err = { 0 };
		int r = dane_tlsa_parse_text(a, parse_cases[i].text, strlen(parse_cases[i].text),
		                             &t, &err);
		if (r != parse_cases[i].ok)
			fail_msg("case %zu (%s): %d, %s", i, parse_cases[i].text, r, err.msg);
		if (r < 0) {
			assert_true(err.msg[0] != '\0');
			continue;
		}
		assert_int_equal(t.usage, parse_cases[i].u);
		assert_int_equal(t.selector, parse_cases[i].s);
		assert_int_equal(t.mtype, parse_cases[i].m);
		assert_int_equal(t.len, parse_cases[i].len);
	}
	arena_free(a);
}

static void test_format_roundtrip(void **state)
{
	struct arena *a = arena_new();
	struct dane_tlsa t, u;
	struct sx_err err = { 0 };
	struct buf b;
	const uint8_t rd[] = { 3, 1, 1, 0xab, 0x01 };

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(dane_tlsa_parse_text(a, "3 1 1 " HEX64, strlen("3 1 1 " HEX64), &t, &err),
	                 0);
	assert_int_equal(dane_tlsa_format(&t, &b), 0);
	assert_string_equal(b.data, "3 1 1 " HEX64);
	assert_int_equal(dane_tlsa_parse_rdata(rd, sizeof(rd), &u, &err), 0);
	assert_int_equal(u.len, 2);
	buf_clear(&b);
	assert_int_equal(dane_tlsa_format(&u, &b), 0);
	assert_string_equal(b.data, "3 1 1 ab01");
	assert_int_equal(dane_tlsa_parse_rdata(rd, 3, &u, &err), -1);
	buf_free(&b);
	arena_free(a);
}

static const struct {
	uint8_t u, s, m;
	size_t len;
	bool usable;
} usable_cases[] = {
	{ 3, 1, 1, 32, true },  { 3, 0, 1, 32, true },    { 2, 1, 1, 32, true },
	{ 2, 0, 2, 64, true },  { 3, 1, 0, 91, true },    { 0, 1, 1, 32, false },
	{ 1, 0, 1, 32, false }, { 4, 1, 1, 32, false },   { 3, 2, 1, 32, false },
	{ 3, 1, 3, 32, false }, { 3, 1, 1, 31, false },   { 3, 1, 2, 32, false },
	{ 3, 1, 0, 0, false },  { 255, 1, 1, 32, false },
};

static void test_usable(void **state)
{
	static const uint8_t zero[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(usable_cases) / sizeof(usable_cases[0]); i++) {
		struct dane_tlsa t = { usable_cases[i].u, usable_cases[i].s, usable_cases[i].m,
			               usable_cases[i].len, zero };
		const char *why = NULL;
		bool u = dane_tlsa_usable(&t, &why);
		if (u != usable_cases[i].usable)
			fail_msg("case %zu: %d", i, u);
		assert_true(u ? why == NULL : why != NULL);
	}
	assert_string_equal(dane_usage_name(2), "DANE-TA");
	assert_string_equal(dane_usage_name(9), "unknown");
	assert_string_equal(dane_failure_name(DANE_FAIL_TLSA_INVALID), "tlsa-invalid");
	assert_string_equal(dane_failure_name(DANE_FAIL_DNSSEC_INVALID), "dnssec-invalid");
	assert_string_equal(dane_failure_name(DANE_FAIL_DANE_REQUIRED), "dane-required");
	assert_string_equal(dane_failure_name(DANE_FAIL_CERT_HOST_MISMATCH),
	                    "certificate-host-mismatch");
}

/* ---- the rules ---- */

enum rec { R_NONE, R_USABLE, R_PKIX, R_MIXED };

/* one answer fed to the engine */
struct ans {
	enum dns_status status;
	enum dns_sec sec;
	enum rec rec;
};

static const struct {
	const char *name;
	bool via_mx;
	enum dns_sec mx_sec, addr_sec;
	const char *canon;
	bool require;
	struct ans answers[2];
	size_t nanswers;
	const char *queries[2]; /* the names asked, in order */
	enum dane_status status;
	enum dane_failure failure;
	const char *base;
} rule_cases[] = {
	{ "usable records",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_OK, DNS_SEC_SECURE, R_USABLE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_REQUIRED,
	  DANE_FAIL_NONE,
	  "mx.example.com" },
	{ "mixed: one usable is enough",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_OK, DNS_SEC_SECURE, R_MIXED } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_REQUIRED,
	  DANE_FAIL_NONE,
	  "mx.example.com" },
	{ "only PKIX records: encrypt",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_OK, DNS_SEC_SECURE, R_PKIX } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_ENCRYPT,
	  DANE_FAIL_TLSA_INVALID,
	  "mx.example.com" },
	{ "secure NODATA",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_NODATA, DNS_SEC_SECURE, R_NONE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_NONE,
	  DANE_FAIL_NONE,
	  NULL },
	{ "secure NXDOMAIN",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_NXDOMAIN, DNS_SEC_SECURE, R_NONE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_NONE,
	  DANE_FAIL_NONE,
	  NULL },
	{ "insecure TLSA answer",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_OK, DNS_SEC_INSECURE, R_USABLE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_NONE,
	  DANE_FAIL_NONE,
	  NULL },
	{ "bogus TLSA",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_SERVFAIL, DNS_SEC_BOGUS, R_NONE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_UNUSABLE,
	  DANE_FAIL_DNSSEC_INVALID,
	  NULL },
	{ "bogus TLSA with data",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_OK, DNS_SEC_BOGUS, R_USABLE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_UNUSABLE,
	  DANE_FAIL_DNSSEC_INVALID,
	  NULL },
	{ "SERVFAIL",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_SERVFAIL, DNS_SEC_INSECURE, R_NONE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_UNUSABLE,
	  DANE_FAIL_DNSSEC_INVALID,
	  NULL },
	{ "timeout",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_TIMEOUT, DNS_SEC_INSECURE, R_NONE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_UNUSABLE,
	  DANE_FAIL_DNSSEC_INVALID,
	  NULL },
	{ "insecure MX: no lookup",
	  true,
	  DNS_SEC_INSECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { 0 } },
	  0,
	  { NULL },
	  DANE_NONE,
	  DANE_FAIL_NONE,
	  NULL },
	{ "bogus MX",
	  true,
	  DNS_SEC_BOGUS,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { 0 } },
	  0,
	  { NULL },
	  DANE_UNUSABLE,
	  DANE_FAIL_DNSSEC_INVALID,
	  NULL },
	{ "insecure addresses: no lookup",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_INSECURE,
	  NULL,
	  false,
	  { { 0 } },
	  0,
	  { NULL },
	  DANE_NONE,
	  DANE_FAIL_NONE,
	  NULL },
	{ "bogus addresses",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_BOGUS,
	  NULL,
	  false,
	  { { 0 } },
	  0,
	  { NULL },
	  DANE_UNUSABLE,
	  DANE_FAIL_DNSSEC_INVALID,
	  NULL },
	{ "implicit MX: mx_sec ignored",
	  false,
	  DNS_SEC_INSECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  false,
	  { { DNS_OK, DNS_SEC_SECURE, R_USABLE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_REQUIRED,
	  DANE_FAIL_NONE,
	  "mx.example.com" },
	{ "CNAME: expanded name first",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  "Host.Provider.NET.",
	  false,
	  { { DNS_OK, DNS_SEC_SECURE, R_USABLE } },
	  1,
	  { "_25._tcp.host.provider.net" },
	  DANE_REQUIRED,
	  DANE_FAIL_NONE,
	  "host.provider.net" },
	{ "CNAME: then the original name",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  "host.provider.net",
	  false,
	  { { DNS_NODATA, DNS_SEC_SECURE, R_NONE }, { DNS_OK, DNS_SEC_SECURE, R_USABLE } },
	  2,
	  { "_25._tcp.host.provider.net", "_25._tcp.mx.example.com" },
	  DANE_REQUIRED,
	  DANE_FAIL_NONE,
	  "mx.example.com" },
	{ "CNAME: neither",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  "host.provider.net",
	  false,
	  { { DNS_NXDOMAIN, DNS_SEC_SECURE, R_NONE }, { DNS_NODATA, DNS_SEC_SECURE, R_NONE } },
	  2,
	  { "_25._tcp.host.provider.net", "_25._tcp.mx.example.com" },
	  DANE_NONE,
	  DANE_FAIL_NONE,
	  NULL },
	{ "CNAME: bogus expanded name stops",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  "host.provider.net",
	  false,
	  { { DNS_SERVFAIL, DNS_SEC_BOGUS, R_NONE } },
	  1,
	  { "_25._tcp.host.provider.net" },
	  DANE_UNUSABLE,
	  DANE_FAIL_DNSSEC_INVALID,
	  NULL },
	{ "CNAME equal to host",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  "MX.example.com.",
	  false,
	  { { DNS_OK, DNS_SEC_SECURE, R_USABLE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_REQUIRED,
	  DANE_FAIL_NONE,
	  "mx.example.com" },
	{ "required, none published",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  true,
	  { { DNS_NODATA, DNS_SEC_SECURE, R_NONE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_UNUSABLE,
	  DANE_FAIL_DANE_REQUIRED,
	  NULL },
	{ "required, insecure MX",
	  true,
	  DNS_SEC_INSECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  true,
	  { { 0 } },
	  0,
	  { NULL },
	  DANE_UNUSABLE,
	  DANE_FAIL_DANE_REQUIRED,
	  NULL },
	{ "required and published",
	  true,
	  DNS_SEC_SECURE,
	  DNS_SEC_SECURE,
	  NULL,
	  true,
	  { { DNS_OK, DNS_SEC_SECURE, R_USABLE } },
	  1,
	  { "_25._tcp.mx.example.com" },
	  DANE_REQUIRED,
	  DANE_FAIL_NONE,
	  "mx.example.com" },
};

static void fill_answer(struct dns_answer *ans, struct dns_rr *rr, const struct ans *a,
                        const char *qname)
{
	static uint8_t digest[32];
	size_t n = 0;

	memset(ans, 0, sizeof(*ans));
	ans->status = a->status;
	ans->sec = a->sec;
	ans->qtype = DNS_T_TLSA;
	ans->qname = ans->canonname = qname;
	if (a->status == DNS_OK) {
		if (a->rec == R_USABLE || a->rec == R_MIXED) {
			rr[n].type = DNS_T_TLSA;
			rr[n].u.tlsa = (struct dns_tlsa){ 3, 1, 1, 32, digest };
			n++;
		}
		if (a->rec == R_PKIX || a->rec == R_MIXED) {
			rr[n].type = DNS_T_TLSA;
			rr[n].u.tlsa = (struct dns_tlsa){ 1, 1, 1, 32, digest };
			n++;
			rr[n].type = DNS_T_TLSA;
			rr[n].u.tlsa = (struct dns_tlsa){ 0, 0, 1, 32, digest };
			n++;
		}
	}
	ans->count = n;
	ans->rr = rr;
}

static void test_rules(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		struct arena *a = arena_new();
		struct dane_input in = { .host = "MX.Example.COM.",
			                 .via_mx = rule_cases[i].via_mx,
			                 .mx_sec = rule_cases[i].mx_sec,
			                 .addr_sec = rule_cases[i].addr_sec,
			                 .addr_canon = rule_cases[i].canon,
			                 .require = rule_cases[i].require };
		struct dane_eval *e = dane_eval_new(a, &in);
		const struct dane_policy *p;

		assert_non_null(e);
		for (k = 0; k < rule_cases[i].nanswers; k++) {
			struct dns_answer ans;
			struct dns_rr rr[4];
			const char *q = dane_eval_query(e);
			if (q == NULL || strcmp(q, rule_cases[i].queries[k]) != 0)
				fail_msg("%s: query %zu is %s", rule_cases[i].name, k,
				         q ? q : "none");
			fill_answer(&ans, rr, &rule_cases[i].answers[k], q);
			dane_eval_answer(e, &ans);
		}
		if (dane_eval_query(e) != NULL)
			fail_msg("%s: still asks %s", rule_cases[i].name, dane_eval_query(e));
		p = dane_eval_policy(e);
		assert_non_null(p);
		if (p->status != rule_cases[i].status || p->failure != rule_cases[i].failure)
			fail_msg("%s: %s/%s (%s)", rule_cases[i].name, dane_status_name(p->status),
			         dane_failure_name(p->failure), p->why);
		assert_non_null(p->why);
		if (rule_cases[i].base != NULL) {
			assert_string_equal(p->base_domain, rule_cases[i].base);
			assert_string_equal(p->refids[0], rule_cases[i].base);
			/* the MX name is the second reference identifier when it differs */
			if (strcmp(rule_cases[i].base, "mx.example.com") != 0) {
				assert_int_equal(p->nrefids, 2);
				assert_string_equal(p->refids[1], "mx.example.com");
			} else {
				assert_int_equal(p->nrefids, 1);
			}
		}
		arena_free(a);
	}
}

static void test_abort_and_port(void **state)
{
	struct arena *a = arena_new();
	struct dane_input in = { .host = "mx.example.com",
		                 .port = 2525,
		                 .via_mx = true,
		                 .mx_sec = DNS_SEC_SECURE,
		                 .addr_sec = DNS_SEC_SECURE };
	struct dane_eval *e = dane_eval_new(a, &in);

	(void)state;
	assert_string_equal(dane_eval_query(e), "_2525._tcp.mx.example.com");
	assert_null(dane_eval_policy(e));
	dane_eval_abort(e, "timed out");
	assert_null(dane_eval_query(e));
	assert_int_equal(dane_eval_policy(e)->status, DANE_UNUSABLE);
	assert_string_equal(dane_eval_policy(e)->why,
	                    "TLSA lookup for _2525._tcp.mx.example.com: timed out");
	in.host = "bad..name";
	e = dane_eval_new(a, &in);
	assert_null(dane_eval_query(e));
	assert_int_equal(dane_eval_policy(e)->status, DANE_UNUSABLE);
	arena_free(a);
}

/* ---- the asynchronous lookup on the zone backend (always insecure) ---- */

struct lookup_res {
	int calls;
	enum dane_status status;
	char why[256];
	struct event_base *base;
};

static void lookup_done(const struct dane_policy *p, void *arg)
{
	struct lookup_res *r = arg;

	r->calls++;
	r->status = p->status;
	snprintf(r->why, sizeof(r->why), "%s", p->why);
	event_base_loopbreak(r->base);
}

static void test_lookup_async(void **state)
{
	static const char zone[] = "_25._tcp.mx.example.com. 300 IN TLSA 3 1 1 " HEX64 "\n";
	struct event_base *base = event_base_new();
	struct dns_zone *z = dns_zone_new();
	struct sx_err err = { 0 };
	struct dns *dns;
	struct arena *a = arena_new();
	struct lookup_res r = { .base = base };
	struct dane_input in = {
		.host = "mx.example.com",
		.via_mx = true,
		.mx_sec = DNS_SEC_SECURE,
		.addr_sec = DNS_SEC_SECURE,
	};

	(void)state;
	assert_int_equal(dns_zone_load_text(z, "t", zone, strlen(zone), NULL, &err), 0);
	dns = dns_new_zone(base, z);
	assert_non_null(dane_lookup(dns, base, a, &in, 2000, lookup_done, &r));
	assert_int_equal(r.calls, 0); /* never inside dane_lookup */
	event_base_dispatch(base);
	assert_int_equal(r.calls, 1);
	/* the zone backend cannot sign: the records are insecure, so no DANE */
	assert_int_equal(r.status, DANE_NONE);
	assert_string_equal(r.why, "TLSA records at _25._tcp.mx.example.com not DNSSEC-signed");

	/* decided without DNS: still called back from the loop */
	in.addr_sec = DNS_SEC_INSECURE;
	r.calls = 0;
	assert_non_null(dane_lookup(dns, base, a, &in, 2000, lookup_done, &r));
	assert_int_equal(r.calls, 0);
	event_base_dispatch(base);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, DANE_NONE);

	/* cancelled: never called */
	r.calls = 0;
	in.addr_sec = DNS_SEC_SECURE;
	dane_lookup_cancel(dane_lookup(dns, base, a, &in, 2000, lookup_done, &r));
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(r.calls, 0);

	arena_free(a);
	dns_free(dns);
	dns_zone_free(z);
	event_base_free(base);
}

/* ---- SSL set-up and outcome on chains made here ---- */

static EVP_PKEY *ca_key, *leaf_key;
static X509 *ca_cert;

static X509 *make_cert(const char *cn, const char *san, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
                       bool ca, long from, long to)
{
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 1 : 2);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
	                          ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (san != NULL) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

/* verify - as a handshake would: X509_STORE_CTX with the SSL's DANE state */
static void verify(SSL *ssl, STACK_OF(X509) * chain)
{
	X509_STORE_CTX *sc = X509_STORE_CTX_new();

	X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl)), NULL, chain);
	X509_STORE_CTX_set_ex_data(sc, SSL_get_ex_data_X509_STORE_CTX_idx(), ssl);
	X509_STORE_CTX_set_default(sc, "ssl_server");
	X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(sc), SSL_get0_param(ssl));
	X509_STORE_CTX_set0_dane(sc, SSL_get0_dane(ssl));
	(void)X509_STORE_CTX_verify(sc);
	SSL_set_verify_result(ssl, X509_STORE_CTX_get_error(sc));
	X509_STORE_CTX_free(sc);
}

static const struct {
	const char *name;
	const char *leaf_san;
	long leaf_to;     /* seconds from now */
	bool ta;          /* DANE-TA 2 1 1 of the CA, else DANE-EE 3 1 1 of the leaf */
	bool wrong;       /* publish a record that does not match */
	const char *base; /* TLSA base domain */
	const char *host; /* the MX name */
	bool authenticated;
	enum dane_failure failure;
	int depth;
} ssl_cases[] = {
	{ "EE match, any name", "DNS:other.invalid", 3600, false, false, "mx.example.com",
	  "mx.example.com", true, DANE_FAIL_NONE, 0 },
	{ "EE match, expired", "DNS:mx.example.com", -60, false, false, "mx.example.com",
	  "mx.example.com", true, DANE_FAIL_NONE, 0 },
	{ "EE mismatch", "DNS:mx.example.com", 3600, false, true, "mx.example.com",
	  "mx.example.com", false, DANE_FAIL_CERT_NOT_TRUSTED, -1 },
	{ "TA, base domain", "DNS:mx.example.com", 3600, true, false, "mx.example.com",
	  "mx.example.com", true, DANE_FAIL_NONE, 1 },
	{ "TA, MX name before CNAME", "DNS:mx.example.com", 3600, true, false, "host.provider.net",
	  "mx.example.com", true, DANE_FAIL_NONE, 1 },
	{ "TA, CNAME target", "DNS:host.provider.net", 3600, true, false, "host.provider.net",
	  "mx.example.com", true, DANE_FAIL_NONE, 1 },
	{ "TA, wildcard", "DNS:*.example.com", 3600, true, false, "mx.example.com",
	  "mx.example.com", true, DANE_FAIL_NONE, 1 },
	{ "TA, partial wildcard refused", "DNS:m*.example.com", 3600, true, false, "mx.example.com",
	  "mx.example.com", false, DANE_FAIL_CERT_HOST_MISMATCH, 1 },
	{ "TA, wrong name", "DNS:www.example.com", 3600, true, false, "mx.example.com",
	  "mx.example.com", false, DANE_FAIL_CERT_HOST_MISMATCH, 1 },
	{ "TA, expired leaf", "DNS:mx.example.com", -60, true, false, "mx.example.com",
	  "mx.example.com", false, DANE_FAIL_CERT_EXPIRED, 1 },
	{ "TA mismatch", "DNS:mx.example.com", 3600, true, true, "mx.example.com", "mx.example.com",
	  false, DANE_FAIL_CERT_NOT_TRUSTED, -1 },
};

static void test_ssl(void **state)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	size_t i;

	(void)state;
	assert_non_null(ctx); /* dane_ssl_prepare enables DANE on it itself */
	for (i = 0; i < sizeof(ssl_cases) / sizeof(ssl_cases[0]); i++) {
		struct arena *a = arena_new();
		X509 *leaf = make_cert("leaf", ssl_cases[i].leaf_san, leaf_key, ca_cert, ca_key,
		                       false, -3600, ssl_cases[i].leaf_to);
		STACK_OF(X509) *chain = sk_X509_new_null();
		struct dane_tlsa rec;
		struct dane_policy *p;
		struct dane_outcome o;
		char err[256];
		SSL *ssl = SSL_new(ctx);

		sk_X509_push(chain, leaf);
		sk_X509_push(chain, ca_cert);
		assert_int_equal(dane_tlsa_from_cert(a, ssl_cases[i].ta ? ca_cert : leaf,
		                                     ssl_cases[i].ta ? 2 : 3, 1, 1, &rec),
		                 0);
		if (ssl_cases[i].wrong) {
			uint8_t *d = arena_memdup(a, rec.data, rec.len);
			d[0] ^= 1;
			rec.data = d;
		}
		p = dane_policy_make(a, ssl_cases[i].base, ssl_cases[i].host, 25, &rec, 1);
		assert_non_null(p);
		assert_int_equal(p->status, DANE_REQUIRED);
		assert_int_equal(dane_ssl_prepare(ssl, p, err, sizeof(err)), 1);
		assert_string_equal(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
		                    ssl_cases[i].base);
		verify(ssl, chain);
		assert_int_equal(dane_ssl_outcome(ssl, &o), 0);
		if (o.authenticated != ssl_cases[i].authenticated ||
		    o.failure != ssl_cases[i].failure || o.depth != ssl_cases[i].depth)
			fail_msg("%s: authenticated %d failure %s depth %d (%s)", ssl_cases[i].name,
			         o.authenticated, dane_failure_name(o.failure), o.depth, o.why);
		if (o.depth >= 0)
			assert_int_equal(o.matched.usage, ssl_cases[i].ta ? 2 : 3);
		SSL_free(ssl);
		sk_X509_free(chain);
		X509_free(leaf);
		arena_free(a);
	}
	SSL_CTX_free(ctx);
}

static void test_prepare_refuses(void **state)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	struct arena *a = arena_new();
	static const uint8_t d[32];
	struct dane_tlsa pkix = { 1, 1, 1, 32, d };
	struct dane_policy *p = dane_policy_make(a, "mx.example.com", NULL, 25, &pkix, 1);
	char err[256];

	(void)state;
	assert_int_equal(p->status, DANE_ENCRYPT);
	assert_int_equal(p->failure, DANE_FAIL_TLSA_INVALID);
	assert_int_equal(p->nusable, 0);
	assert_int_equal(dane_ssl_prepare(ssl, p, err, sizeof(err)), -1);
	assert_int_equal(dane_ssl_prepare(ssl, NULL, err, sizeof(err)), -1);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_abort_and_port),
		cmocka_unit_test(test_lookup_async),
		cmocka_unit_test(test_ssl),
		cmocka_unit_test(test_prepare_refuses),
	};
	int rc;

	ca_key = EVP_EC_gen("P-256");
	leaf_key = EVP_EC_gen("P-256");
	ca_cert = make_cert("Test CA", NULL, ca_key, NULL, ca_key, true, -7200, 7200);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	return rc;
}
