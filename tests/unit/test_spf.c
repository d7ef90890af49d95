/* Unit tests for auth/spf: the step engine with answers fed by hand from a
 * small table (no event loop): results, limit counting, void lookups,
 * concurrency of the MX address lookups, error propagation, bounded work
 * on hostile records, exp=, %{p}, prefetch, identities and formatting. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/spf.h"
#include "core/arena.h"
#include "core/str.h"

/* One row per record; a status other than DNS_OK applies to the whole
 * (name, type).  Names not listed are NXDOMAIN. */
struct row {
	const char *name;
	enum dns_type type;
	enum dns_status st;
	const char *data; /* TXT text, address, "pref host" for MX, name for PTR */
};

#define OK DNS_OK

struct run {
	const struct spf_outcome *o;
	unsigned steps;
	size_t max_needed; /* most needed queries asked in one step */
	size_t prefetched; /* queries offered that were not needed */
	size_t answered;
};

/* answer - build the answer to (name, type) from the table */
static void answer(struct arena *a, const struct row *z, const char *name, enum dns_type type,
                   struct dns_answer *ans)
{
	size_t i, n = 0;
	bool exists = false;

	memset(ans, 0, sizeof(*ans));
	ans->qname = ans->canonname = name;
	ans->qtype = type;
	ans->rr = arena_array(a, 32, sizeof(*ans->rr));
	for (i = 0; z[i].name != NULL; i++) {
		struct dns_rr *rr;
		if (str_casecmp(z[i].name, name) != 0)
			continue;
		exists = true;
		if (z[i].type != type)
			continue;
		if (z[i].st != DNS_OK) {
			ans->status = z[i].st;
			ans->count = 0;
			return;
		}
		assert_true(n < 32);
		rr = &ans->rr[n++];
		rr->type = type;
		switch (type) {
		case DNS_T_TXT:
			rr->u.txt.data = (char *)z[i].data;
			rr->u.txt.len = strlen(z[i].data);
			break;
		case DNS_T_A:
			assert_int_equal(inet_pton(AF_INET, z[i].data, rr->u.a), 1);
			break;
		case DNS_T_AAAA:
			assert_int_equal(inet_pton(AF_INET6, z[i].data, rr->u.aaaa), 1);
			break;
		case DNS_T_MX: {
			const char *sp = strchr(z[i].data, ' ');
			rr->u.mx.preference = (uint16_t)(z[i].data[0] - '0');
			rr->u.mx.host = (char *)(sp ? sp + 1 : "");
			break;
		}
		case DNS_T_PTR:
			rr->u.name = (char *)z[i].data;
			break;
		default:
			fail();
		}
	}
	ans->count = n;
	ans->status = n ? DNS_OK : exists ? DNS_NODATA : DNS_NXDOMAIN;
}

static struct run evaluate(struct arena *a, const struct row *z, const char *ip,
                           const char *mail_from, const char *helo, enum spf_identity id,
                           const struct spf_limits *lim)
{
	struct spf_request req = { .mail_from = mail_from,
		                   .helo = helo,
		                   .identity = id,
		                   .receiver = "mx.receiver.example",
		                   .now = 1000 };
	struct run r = { 0 };
	struct spf_eval *e;

	assert_int_equal(net_addr_parse(ip, &req.ip), 0);
	e = spf_eval_new(a, &req, lim);
	assert_non_null(e);
	while (spf_eval_step(e) == SPF_STEP_NEED_DNS) {
		struct spf_query *const *list;
		size_t n = spf_eval_queries(e, &list), i, needed = 0;
		assert_true(++r.steps < 100);
		for (i = 0; i < n; i++) {
			struct dns_answer ans;
			if (!list[i]->needed) {
				r.prefetched++;
				continue;
			}
			needed++;
			answer(a, z, list[i]->name, list[i]->type, &ans);
			assert_int_equal(spf_eval_answer(e, list[i]->name, list[i]->type, &ans), 0);
			r.answered++;
		}
		assert_true(needed > 0);
		if (needed > r.max_needed)
			r.max_needed = needed;
	}
	r.o = spf_eval_outcome(e);
	return r;
}

static struct run mf(struct arena *a, const struct row *z, const char *ip, const char *sender)
{
	return evaluate(a, z, ip, sender, "helo.example.net", SPF_ID_MAILFROM, NULL);
}

#define assert_result(r, want)                                                                     \
	do {                                                                                       \
		if ((r).o->result != (want))                                                       \
			fail_msg("result %s, want %s (problem: %s)",                               \
			         spf_result_name((r).o->result), spf_result_name(want),            \
			         (r).o->problem ? (r).o->problem : "-");                           \
	} while (0)

static const struct row basic[] = {
	{ "p.example", DNS_T_TXT, OK, "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all" },
	{ "p.example", DNS_T_TXT, OK, "some other text" },
	{ "s.example", DNS_T_TXT, OK, "v=spf1 a ~all" },
	{ "s.example", DNS_T_A, OK, "198.51.100.1" },
	{ "n.example", DNS_T_TXT, OK, "v=spf1 ?all" },
	{ "d.example", DNS_T_TXT, OK, "v=spf1 ip4:203.0.113.1" },
	{ "nospf.example", DNS_T_TXT, OK, "hello" },
	{ "two.example", DNS_T_TXT, OK, "v=spf1 -all" },
	{ "two.example", DNS_T_TXT, OK, "v=spf1 +all" },
	{ "sf.example", DNS_T_TXT, DNS_SERVFAIL, NULL },
	{ "to.example", DNS_T_TXT, DNS_TIMEOUT, NULL },
	{ "bad.example", DNS_T_TXT, OK, "v=spf1 ip4:1.2.3.4 frob -all" },
	{ NULL, 0, 0, NULL },
};

static void test_basic(void **state)
{
	struct arena *a = arena_new();
	struct run r;

	(void)state;
	r = mf(a, basic, "192.0.2.9", "u@p.example");
	assert_result(r, SPF_PASS);
	assert_string_equal(r.o->mechanism, "ip4:192.0.2.0/24");
	assert_string_equal(r.o->domain, "p.example");
	assert_string_equal(r.o->identity, "mailfrom");
	assert_null(r.o->problem);
	assert_int_equal(r.steps, 1);
	r = mf(a, basic, "2001:db8::5", "u@p.example");
	assert_result(r, SPF_PASS);
	r = mf(a, basic, "::ffff:192.0.2.9", "u@p.example");
	assert_result(r, SPF_PASS);
	r = mf(a, basic, "198.51.100.2", "u@p.example");
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.o->mechanism, "-all");
	assert_true(r.o->explanation_default);
	assert_string_equal(r.o->explanation, SPF_DEFAULT_EXPLANATION);
	r = mf(a, basic, "198.51.100.1", "u@s.example");
	assert_result(r, SPF_PASS);
	assert_int_equal(r.o->dns_terms, 1);
	r = mf(a, basic, "198.51.100.2", "u@s.example");
	assert_result(r, SPF_SOFTFAIL);
	r = mf(a, basic, "198.51.100.2", "u@n.example");
	assert_result(r, SPF_NEUTRAL);
	r = mf(a, basic, "198.51.100.2", "u@d.example");
	assert_result(r, SPF_NEUTRAL);
	assert_string_equal(r.o->mechanism, "default");
	r = mf(a, basic, "198.51.100.2", "u@nospf.example");
	assert_result(r, SPF_NONE);
	r = mf(a, basic, "198.51.100.2", "u@nx.example");
	assert_result(r, SPF_NONE);
	assert_non_null(r.o->problem);
	r = mf(a, basic, "198.51.100.2", "u@two.example");
	assert_result(r, SPF_PERMERROR);
	assert_non_null(strstr(r.o->problem, "2 SPF records"));
	r = mf(a, basic, "198.51.100.2", "u@sf.example");
	assert_result(r, SPF_TEMPERROR);
	assert_non_null(strstr(r.o->problem, "servfail"));
	r = mf(a, basic, "198.51.100.2", "u@to.example");
	assert_result(r, SPF_TEMPERROR);
	/* syntax errors anywhere count, even after a match */
	r = mf(a, basic, "1.2.3.4", "u@bad.example");
	assert_result(r, SPF_PERMERROR);
	assert_non_null(strstr(r.o->problem, "frob"));
	arena_free(a);
}

static void test_identities(void **state)
{
	struct arena *a = arena_new();
	struct run r;
	static const struct row z[] = {
		{ "helo.example.net", DNS_T_TXT, OK, "v=spf1 exists:%{l}.%{o}.l.example -all" },
		{ "postmaster.helo.example.net.l.example", DNS_T_A, OK, "127.0.0.2" },
		{ "m.example", DNS_T_TXT, OK, "v=spf1 exists:%{l}.%{o}.l.example -all" },
		{ "postmaster.m.example.l.example", DNS_T_A, OK, "127.0.0.2" },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	/* null path: postmaster@HELO */
	r = evaluate(a, z, "192.0.2.1", "", "helo.example.net", SPF_ID_MAILFROM, NULL);
	assert_result(r, SPF_PASS);
	assert_string_equal(r.o->sender, "postmaster@helo.example.net");
	assert_string_equal(r.o->identity, "mailfrom");
	r = evaluate(a, z, "192.0.2.1", NULL, "helo.example.net.", SPF_ID_MAILFROM, NULL);
	assert_result(r, SPF_PASS);
	/* HELO identity */
	r = evaluate(a, z, "192.0.2.1", "x@m.example", "helo.example.net", SPF_ID_HELO, NULL);
	assert_result(r, SPF_PASS);
	assert_string_equal(r.o->identity, "helo");
	assert_string_equal(r.o->domain, "helo.example.net");
	/* empty local-part */
	r = mf(a, z, "192.0.2.1", "@m.example");
	assert_result(r, SPF_PASS);
	assert_string_equal(r.o->sender, "postmaster@m.example");
	/* no '@' at all: the whole is the domain */
	r = mf(a, z, "192.0.2.1", "m.example");
	assert_result(r, SPF_PASS);
	/* 4.3: malformed domains give none without any lookup */
	static const char *const badnames[] = {
		"x@[192.0.2.1]",
		"x@single",
		"x@a..example",
		"x@",
		"x@a123456789012345678901234567890123456789012345678901234567890123.example",
	};
	for (size_t i = 0; i < sizeof(badnames) / sizeof(badnames[0]); i++) {
		r = mf(a, z, "192.0.2.1", badnames[i]);
		assert_result(r, SPF_NONE);
		assert_int_equal(r.steps, 0);
	}
	r = evaluate(a, z, "192.0.2.1", "", "OEMCOMPUTER", SPF_ID_MAILFROM, NULL);
	assert_result(r, SPF_NONE);
	r = evaluate(a, z, "192.0.2.1", "x@m.example", "[192.0.2.1]", SPF_ID_HELO, NULL);
	assert_result(r, SPF_NONE);
	arena_free(a);
}

static void test_term_limit(void **state)
{
	struct arena *a = arena_new();
	struct run r;
	static const struct row z[] = {
		/* 1 + 1 + 8 = 10 terms, then ip4 matches */
		{ "at.example", DNS_T_TXT, OK, "v=spf1 a include:inc.example ip4:1.2.3.4 mx -all" },
		{ "at.example", DNS_T_A, OK, "1.2.3.8" },
		{ "inc.example", DNS_T_TXT, OK, "v=spf1 a a a a a a a a" },
		{ "inc.example", DNS_T_A, OK, "1.2.3.10" },
		/* 1 + 1 + 8 + 1 = 11 before ip4 */
		{ "over.example", DNS_T_TXT, OK,
		  "v=spf1 a include:inc.example a ip4:1.2.3.4 -all" },
		{ "over.example", DNS_T_A, OK, "1.2.3.21" },
		/* redirect counts too, and loops end at the limit */
		{ "loop.example", DNS_T_TXT, OK, "v=spf1 ip4:1.1.1.1 redirect=loop.example" },
		{ "i1.example", DNS_T_TXT, OK, "v=spf1 include:i2.example" },
		{ "i2.example", DNS_T_TXT, OK, "v=spf1 include:i1.example" },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	r = mf(a, z, "1.2.3.4", "u@at.example");
	assert_result(r, SPF_PASS);
	assert_int_equal(r.o->dns_terms, 10);
	r = mf(a, z, "1.2.3.4", "u@over.example");
	assert_result(r, SPF_PERMERROR);
	assert_int_equal(r.o->dns_terms, 11);
	assert_non_null(strstr(r.o->problem, "more than 10 DNS-querying terms"));
	r = mf(a, z, "1.2.3.4", "u@loop.example");
	assert_result(r, SPF_PERMERROR);
	assert_true(r.o->queries <= 2);
	r = mf(a, z, "1.2.3.4", "u@i1.example");
	assert_result(r, SPF_PERMERROR);
	assert_true(r.o->queries <= 2);
	/* a configured limit */
	struct spf_limits lim;
	spf_limits_default(&lim);
	lim.dns_terms = 9;
	r = evaluate(a, z, "1.2.3.4", "u@at.example", "h.example", SPF_ID_MAILFROM, &lim);
	assert_result(r, SPF_PERMERROR);
	arena_free(a);
}

static void test_void_limit(void **state)
{
	struct arena *a = arena_new();
	struct run r;
	static const struct row z[] = {
		{ "v2.example", DNS_T_TXT, OK, "v=spf1 a:nx1.example mx:nx2.example ?all" },
		{ "v3.example", DNS_T_TXT, OK,
		  "v=spf1 a:nx1.example mx:nodata.example exists:nx3.example ?all" },
		{ "nodata.example", DNS_T_A, OK, "192.0.2.1" },
		{ "err.example", DNS_T_TXT, OK, "v=spf1 a:sf.example ?all" },
		{ "sf.example", DNS_T_A, DNS_SERVFAIL, NULL },
		{ "ex.example", DNS_T_TXT, OK, "v=spf1 exists:sf.example ?all" },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	r = mf(a, z, "1.2.3.4", "u@v2.example");
	assert_result(r, SPF_NEUTRAL);
	assert_int_equal(r.o->void_lookups, 2);
	r = mf(a, z, "1.2.3.4", "u@v3.example");
	assert_result(r, SPF_PERMERROR);
	assert_int_equal(r.o->void_lookups, 3);
	assert_non_null(strstr(r.o->problem, "void"));
	/* a server failure is not void: temperror */
	r = mf(a, z, "1.2.3.4", "u@err.example");
	assert_result(r, SPF_TEMPERROR);
	assert_int_equal(r.o->void_lookups, 0);
	r = mf(a, z, "1.2.3.4", "u@ex.example");
	assert_result(r, SPF_TEMPERROR);
	arena_free(a);
}

static void test_mx_concurrent(void **state)
{
	struct arena *a = arena_new();
	struct run r;
	static const struct row z[] = {
		{ "m.example", DNS_T_TXT, OK, "v=spf1 mx -all" },
		{ "m.example", DNS_T_MX, OK, "1 mx1.m.example" },
		{ "m.example", DNS_T_MX, OK, "2 mx2.m.example" },
		{ "m.example", DNS_T_MX, OK, "3 mx3.m.example" },
		{ "m.example", DNS_T_MX, OK, "4 mx4.m.example" },
		{ "m.example", DNS_T_MX, OK, "5 mx5.m.example" },
		{ "mx1.m.example", DNS_T_A, OK, "192.0.2.1" },
		{ "mx2.m.example", DNS_T_A, OK, "192.0.2.2" },
		{ "mx3.m.example", DNS_T_AAAA, OK, "2001:db8::3" },
		{ "mx5.m.example", DNS_T_A, OK, "192.0.2.5" },
		{ "e.example", DNS_T_TXT, OK, "v=spf1 mx:m2.example -all" },
		{ "m2.example", DNS_T_MX, OK, "1 ok.example" },
		{ "m2.example", DNS_T_MX, OK, "2 broken.example" },
		{ "m2.example", DNS_T_MX, OK, "3 good.example" },
		{ "ok.example", DNS_T_A, OK, "192.0.2.77" },
		{ "broken.example", DNS_T_A, DNS_SERVFAIL, NULL },
		{ "good.example", DNS_T_A, OK, "192.0.2.1" },
		{ "nullmx.example", DNS_T_TXT, OK, "v=spf1 mx" },
		{ "nullmx.example", DNS_T_MX, OK, "0 " },
		{ "eleven.example", DNS_T_TXT, OK, "v=spf1 mx" },
		{ "eleven.example", DNS_T_MX, OK, "0 a.example" },
		{ "eleven.example", DNS_T_MX, OK, "1 a.example" },
		{ "eleven.example", DNS_T_MX, OK, "2 a.example" },
		{ "eleven.example", DNS_T_MX, OK, "3 a.example" },
		{ "eleven.example", DNS_T_MX, OK, "4 a.example" },
		{ "eleven.example", DNS_T_MX, OK, "5 a.example" },
		{ "eleven.example", DNS_T_MX, OK, "6 a.example" },
		{ "eleven.example", DNS_T_MX, OK, "7 a.example" },
		{ "eleven.example", DNS_T_MX, OK, "8 a.example" },
		{ "eleven.example", DNS_T_MX, OK, "9 eleven.example" },
		{ "eleven.example", DNS_T_MX, OK, "9 a.example" },
		{ "eleven.example", DNS_T_MX, OK, "1 b.example" },
		{ "b.example", DNS_T_A, OK, "192.0.2.8" },
		{ "eleven.example", DNS_T_A, OK, "192.0.2.1" },
		{ "eleven.example", DNS_T_A, OK, "192.0.2.7" },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	r = mf(a, z, "192.0.2.5", "u@m.example");
	assert_result(r, SPF_PASS);
	/* TXT, MX, then all five address lookups in one step */
	assert_int_equal(r.steps, 3);
	assert_int_equal(r.max_needed, 5);
	assert_int_equal(r.o->dns_terms, 1);
	r = mf(a, z, "192.0.2.9", "u@m.example");
	assert_result(r, SPF_FAIL);
	r = mf(a, z, "2001:db8::3", "u@m.example");
	assert_result(r, SPF_PASS);
	/* answers are taken in order: a failure before a match is temperror */
	r = mf(a, z, "192.0.2.1", "u@e.example");
	assert_result(r, SPF_TEMPERROR);
	r = mf(a, z, "192.0.2.77", "u@e.example");
	assert_result(r, SPF_PASS);
	/* null MX matches nothing */
	r = mf(a, z, "192.0.2.1", "u@nullmx.example");
	assert_result(r, SPF_NEUTRAL);
	/* more than 10 MX names: permerror when the first 10 (by preference)
	 * do not match (RFC 7208 4.6.4) */
	r = mf(a, z, "192.0.2.1", "u@eleven.example");
	assert_result(r, SPF_PERMERROR);
	assert_non_null(strstr(r.o->problem, "12 MX"));
	r = mf(a, z, "192.0.2.7", "u@eleven.example");
	assert_result(r, SPF_PERMERROR);
	r = mf(a, z, "192.0.2.8", "u@eleven.example");
	assert_result(r, SPF_PASS);
	arena_free(a);
}

static void test_hostile(void **state)
{
	struct arena *a = arena_new();
	struct row z[200];
	char names[200][64], txt[512];
	size_t n = 0, i, k;
	struct run r;

	(void)state;
	/* 10 mx terms, each with 10 MX names, none of which answers a match */
	snprintf(txt, sizeof(txt), "v=spf1");
	for (i = 0; i < 10; i++) {
		size_t l = strlen(txt);
		snprintf(txt + l, sizeof(txt) - l, " mx:m%zu.example", i);
	}
	z[n++] = (struct row){ "h.example", DNS_T_TXT, OK, txt };
	for (i = 0; i < 10; i++) {
		for (k = 0; k < 10; k++) {
			snprintf(names[i * 10 + k], sizeof(names[0]), "m%zu.example", i);
			snprintf(names[100 + i * 10 + k], sizeof(names[0]), "1 h%zu-%zu.example", i,
			         k);
			z[n++] = (struct row){ names[i * 10 + k], DNS_T_MX, OK,
				               names[100 + i * 10 + k] };
		}
	}
	z[n] = (struct row){ NULL, 0, 0, NULL };
	r = mf(a, z, "192.0.2.1", "u@h.example");
	assert_result(r, SPF_PERMERROR);
	assert_non_null(strstr(r.o->problem, "DNS queries"));
	assert_true(r.o->queries <= SPF_DEFAULT_QUERIES);
	assert_true(r.answered <= SPF_DEFAULT_QUERIES);
	/* nested includes stop at the configured depth */
	struct spf_limits lim;
	spf_limits_default(&lim);
	lim.depth = 3;
	static const struct row deep[] = {
		{ "d0.example", DNS_T_TXT, OK, "v=spf1 include:d1.example" },
		{ "d1.example", DNS_T_TXT, OK, "v=spf1 include:d2.example" },
		{ "d2.example", DNS_T_TXT, OK, "v=spf1 include:d3.example" },
		{ "d3.example", DNS_T_TXT, OK, "v=spf1 include:d4.example" },
		{ "d4.example", DNS_T_TXT, OK, "v=spf1 +all" },
		{ NULL, 0, 0, NULL },
	};
	r = evaluate(a, deep, "192.0.2.1", "u@d0.example", "h.example", SPF_ID_MAILFROM, &lim);
	assert_result(r, SPF_PERMERROR);
	assert_non_null(strstr(r.o->problem, "nested"));
	r = evaluate(a, deep, "192.0.2.1", "u@d0.example", "h.example", SPF_ID_MAILFROM, NULL);
	assert_result(r, SPF_PASS);
	arena_free(a);
}

static void test_include(void **state)
{
	struct arena *a = arena_new();
	struct run r;
	static const struct row z[] = {
		{ "ip5.example", DNS_T_TXT, OK, "v=spf1 ip4:1.2.3.5 -all" },
		{ "e1.example", DNS_T_TXT, OK, "v=spf1 include:ip5.example ~all" },
		{ "e4.example", DNS_T_TXT, OK, "v=spf1 include:to.example -all" },
		{ "to.example", DNS_T_TXT, DNS_TIMEOUT, NULL },
		{ "e5.example", DNS_T_TXT, OK, "v=spf1 include:e6.example -all" },
		{ "e6.example", DNS_T_TXT, OK, "v=spf1 include +all" },
		{ "e7.example", DNS_T_TXT, OK, "v=spf1 include:none.example -all" },
		{ "none.example", DNS_T_TXT, OK, "v=spfl am not an SPF record" },
		{ "r1.example", DNS_T_TXT, OK, "v=spf1 redirect=none.example" },
		{ "r2.example", DNS_T_TXT, OK, "v=spf1 redirect=%{d}.x.example" },
		{ "r2.example.x.example", DNS_T_TXT, OK, "v=spf1 ip4:1.2.3.4 -all" },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	r = mf(a, z, "1.2.3.5", "u@e1.example");
	assert_result(r, SPF_PASS);
	assert_string_equal(r.o->mechanism, "include:ip5.example");
	r = mf(a, z, "1.2.3.4", "u@e1.example");
	assert_result(r, SPF_SOFTFAIL);
	r = mf(a, z, "1.2.3.4", "u@e4.example");
	assert_result(r, SPF_TEMPERROR);
	r = mf(a, z, "1.2.3.4", "u@e5.example");
	assert_result(r, SPF_PERMERROR);
	r = mf(a, z, "1.2.3.4", "u@e7.example");
	assert_result(r, SPF_PERMERROR);
	assert_non_null(strstr(r.o->problem, "no SPF record"));
	r = mf(a, z, "1.2.3.4", "u@r1.example");
	assert_result(r, SPF_PERMERROR);
	r = mf(a, z, "1.2.3.4", "u@r2.example");
	assert_result(r, SPF_PASS);
	assert_string_equal(r.o->mechanism, "ip4:1.2.3.4");
	arena_free(a);
}

static void test_ptr_and_p(void **state)
{
	struct arena *a = arena_new();
	struct run r;
	static const struct row z[] = {
		{ "4.2.0.192.in-addr.arpa", DNS_T_PTR, OK, "other.example" },
		{ "4.2.0.192.in-addr.arpa", DNS_T_PTR, OK, "mail.p.example" },
		{ "mail.p.example", DNS_T_A, OK, "192.0.2.4" },
		{ "other.example", DNS_T_A, OK, "192.0.2.4" },
		{ "p.example", DNS_T_TXT, OK, "v=spf1 ptr -all exp=why.example" },
		{ "why.example", DNS_T_TXT, OK, "%{i} is %{p}, not in %{d} (%{c} %{r} %{t} %{v})" },
		{ "q.example", DNS_T_TXT, OK, "v=spf1 exists:%{p}.ok.example -all" },
		{ "mail.p.example.ok.example", DNS_T_A, OK, "127.0.0.2" },
		{ "other.example.ok.example", DNS_T_A, OK, "127.0.0.2" },
		{ "5.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_SERVFAIL, NULL },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	r = mf(a, z, "192.0.2.4", "u@p.example");
	assert_result(r, SPF_PASS);
	r = mf(a, z, "192.0.2.5", "u@p.example");
	assert_result(r, SPF_FAIL); /* a PTR error is no match */
	assert_false(r.o->explanation_default);
	assert_string_equal(r.o->explanation, "192.0.2.5 is unknown, not in p.example (192.0.2.5 "
	                                      "mx.receiver.example 1000 in-addr)");
	/* %{p} in a domain-spec: other.example validates first, but a name
	 * under the domain (none here for q.example) would be preferred */
	r = mf(a, z, "192.0.2.4", "u@q.example");
	assert_result(r, SPF_PASS);
	arena_free(a);
}

static void test_exp(void **state)
{
	struct arena *a = arena_new();
	struct run r;
	static const struct row z[] = {
		{ "e.example", DNS_T_TXT, OK, "v=spf1 -all exp=x.%{d}" },
		{ "x.e.example", DNS_T_TXT, OK, "Denied for %{l}." },
		{ "two.example", DNS_T_TXT, OK, "v=spf1 -all exp=x2.example" },
		{ "x2.example", DNS_T_TXT, OK, "one" },
		{ "x2.example", DNS_T_TXT, OK, "two" },
		{ "bad.example", DNS_T_TXT, OK, "v=spf1 -all exp=x3.example" },
		{ "x3.example", DNS_T_TXT, OK, "The %{x}-files." },
		{ "sf.example", DNS_T_TXT, OK, "v=spf1 -all exp=x4.example" },
		{ "x4.example", DNS_T_TXT, DNS_SERVFAIL, NULL },
		{ "rd.example", DNS_T_TXT, OK, "v=spf1 exp=x.e.example redirect=e2.example" },
		{ "e2.example", DNS_T_TXT, OK, "v=spf1 -all" },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	r = mf(a, z, "1.2.3.4", "joe@e.example");
	assert_result(r, SPF_FAIL);
	assert_string_equal(r.o->explanation, "Denied for joe.");
	r = mf(a, z, "1.2.3.4", "joe@two.example");
	assert_true(r.o->explanation_default);
	r = mf(a, z, "1.2.3.4", "joe@bad.example");
	assert_true(r.o->explanation_default);
	r = mf(a, z, "1.2.3.4", "joe@sf.example");
	assert_result(r, SPF_FAIL);
	assert_true(r.o->explanation_default);
	r = mf(a, z, "1.2.3.4", "joe@rd.example");
	assert_result(r, SPF_FAIL);
	assert_true(r.o->explanation_default);
	arena_free(a);
}

static void test_abort_and_prefetch(void **state)
{
	struct arena *a = arena_new();
	struct spf_request req = { .mail_from = "u@e.example", .helo = "h.example" };
	struct spf_query *const *list;
	struct dns_answer ans;
	struct spf_eval *e;
	size_t n;
	static const struct row z[] = {
		{ "e.example", DNS_T_TXT, OK, "v=spf1 a include:i.example -all exp=x.example" },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	net_addr_parse("192.0.2.1", &req.ip);
	/* abort while the record is outstanding: temperror */
	e = spf_eval_new(a, &req, NULL);
	assert_int_equal(spf_eval_step(e), SPF_STEP_NEED_DNS);
	spf_eval_abort(e, "deadline");
	assert_int_equal(spf_eval_outcome(e)->result, SPF_TEMPERROR);
	assert_string_equal(spf_eval_outcome(e)->problem, "deadline");
	/* the include target is prefetched with the a lookup */
	e = spf_eval_new(a, &req, NULL);
	assert_int_equal(spf_eval_step(e), SPF_STEP_NEED_DNS);
	n = spf_eval_queries(e, &list);
	assert_int_equal(n, 1);
	answer(a, z, list[0]->name, list[0]->type, &ans);
	assert_int_equal(spf_eval_answer(e, list[0]->name, list[0]->type, &ans), 0);
	assert_int_equal(spf_eval_answer(e, "unknown.example", DNS_T_A, &ans), -1);
	assert_int_equal(spf_eval_step(e), SPF_STEP_NEED_DNS);
	n = spf_eval_queries(e, &list);
	assert_int_equal(n, 2);
	assert_true(list[0]->needed);
	assert_int_equal(list[0]->type, DNS_T_A);
	assert_false(list[1]->needed);
	assert_string_equal(list[1]->name, "i.example");
	assert_int_equal(list[1]->type, DNS_T_TXT);
	/* a: NXDOMAIN; include: not an SPF domain -> permerror */
	answer(a, z, "e.example", DNS_T_A, &ans);
	spf_eval_answer(e, "e.example", DNS_T_A, &ans);
	assert_false(spf_eval_waiting(e));
	assert_int_equal(spf_eval_step(e), SPF_STEP_NEED_DNS);
	n = spf_eval_queries(e, &list);
	assert_int_equal(n, 1);
	assert_true(list[0]->needed); /* the prefetched query became needed */
	/* answer -all path: pretend i.example says fail, so exp= is fetched */
	static const struct row z2[] = {
		{ "i.example", DNS_T_TXT, OK, "v=spf1 -all" },
		{ NULL, 0, 0, NULL },
	};
	answer(a, z2, "i.example", DNS_T_TXT, &ans);
	spf_eval_answer(e, "i.example", DNS_T_TXT, &ans);
	assert_int_equal(spf_eval_step(e), SPF_STEP_NEED_DNS);
	n = spf_eval_queries(e, &list);
	assert_int_equal(n, 1);
	assert_string_equal(list[0]->name, "x.example");
	/* the deadline hits while only exp= is outstanding: the fail stands */
	spf_eval_abort(e, "deadline");
	assert_int_equal(spf_eval_outcome(e)->result, SPF_FAIL);
	assert_true(spf_eval_outcome(e)->explanation_default);
	assert_int_equal(spf_eval_step(e), SPF_STEP_DONE);
	arena_free(a);
}

static void test_format(void **state)
{
	struct arena *a = arena_new();
	struct run r;
	enum spf_result res;
	char *h;
	static const struct row z[] = {
		{ "example.com", DNS_T_TXT, OK, "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all" },
		{ "bad.example", DNS_T_TXT, OK, "v=spf1 a:\"x\".example.com(" },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	r = mf(a, z, "192.0.2.1", "myname@example.com");
	h = spf_received_spf(a, r.o);
	assert_string_equal(h, "Received-SPF: pass (mx.receiver.example: domain of "
	                       "myname@example.com designates 192.0.2.1 as permitted sender) "
	                       "client-ip=192.0.2.1; envelope-from=\"myname@example.com\"; "
	                       "helo=helo.example.net; receiver=mx.receiver.example; "
	                       "identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\";");
	assert_string_equal(spf_authres(a, r.o), "spf=pass smtp.mailfrom=example.com");
	r = mf(a, z, "2001:db8::1", "myname@example.com");
	h = spf_received_spf(a, r.o);
	assert_non_null(strstr(h, "client-ip=\"2001:db8::1\";"));
	r = mf(a, z, "192.0.2.1", "x@bad.example");
	assert_result(r, SPF_PERMERROR);
	h = spf_received_spf(a, r.o);
	assert_non_null(strstr(h, "problem=\""));
	assert_non_null(strstr(h, "\\\"x\\\""));
	r = evaluate(a, z, "192.0.2.1", "x@y.example", "example.com", SPF_ID_HELO, NULL);
	assert_string_equal(spf_authres(a, r.o), "spf=pass smtp.helo=example.com");
	for (res = SPF_NONE; res <= SPF_PERMERROR; res++) {
		enum spf_result back;
		assert_int_equal(spf_result_parse(spf_result_name(res), &back), 0);
		assert_int_equal(back, res);
	}
	assert_int_equal(spf_result_parse("PASS", &res), 0);
	assert_int_equal(res, SPF_PASS);
	assert_int_equal(spf_result_parse("softpass", &res), -1);
	arena_free(a);
}

static void test_nomem(void **state)
{
	struct run r;
	unsigned long n;
	static const struct row z[] = {
		{ "m.example", DNS_T_TXT, OK, "v=spf1 a mx include:i.example -all exp=x.example" },
		{ "m.example", DNS_T_A, OK, "192.0.2.9" },
		{ "m.example", DNS_T_MX, OK, "1 mx.m.example" },
		{ "i.example", DNS_T_TXT, OK, "v=spf1 ip4:192.0.2.10" },
		{ "x.example", DNS_T_TXT, OK, "no %{i}" },
		{ NULL, 0, 0, NULL },
	};

	(void)state;
	/* every allocation failure gives an outcome or a NULL, never a crash */
	for (n = 1; n < 200; n++) {
		struct arena *a = arena_new();
		struct spf_request req = { .mail_from = "u@m.example", .helo = "h.example" };
		struct spf_eval *e;
		int steps = 0;

		net_addr_parse("192.0.2.1", &req.ip);
		arena_fail_after(n);
		e = spf_eval_new(a, &req, NULL);
		if (e != NULL) {
			while (spf_eval_step(e) == SPF_STEP_NEED_DNS && steps++ < 50) {
				struct spf_query *const *list;
				size_t k, cnt = spf_eval_queries(e, &list);
				for (k = 0; k < cnt; k++) {
					struct dns_answer ans;
					if (!list[k]->needed)
						continue;
					arena_fail_after(0);
					answer(a, z, list[k]->name, list[k]->type, &ans);
					arena_fail_after(n > 100 ? 1 : 0);
					spf_eval_answer(e, list[k]->name, list[k]->type, &ans);
				}
			}
			assert_true(steps < 50);
		}
		arena_fail_after(0);
		arena_free(a);
	}
	r = (struct run){ 0 };
	(void)r;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),         cmocka_unit_test(test_identities),
		cmocka_unit_test(test_term_limit),    cmocka_unit_test(test_void_limit),
		cmocka_unit_test(test_mx_concurrent), cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_include),       cmocka_unit_test(test_ptr_and_p),
		cmocka_unit_test(test_exp),           cmocka_unit_test(test_abort_and_prefetch),
		cmocka_unit_test(test_format),        cmocka_unit_test(test_nomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
