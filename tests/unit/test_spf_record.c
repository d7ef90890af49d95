/* Unit tests for auth/spf_record: record selection and the term parser
 * (valid records, every kind of syntax error, CIDR forms, caps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "auth/spf_record.h"
#include "core/arena.h"
#include "core/dns.h"

static struct spf_record *parse(struct arena *a, const char *s)
{
	struct spf_record *r = spf_record_parse(a, s, strlen(s));
	assert_non_null(r);
	return r;
}

/* records that must parse; nterms is the number of mechanisms */
struct good {
	const char *rec;
	size_t nterms;
};

static const struct good good_cases[] = {
	{ "v=spf1", 0 },
	{ "V=SpF1 ~ALL", 1 },
	{ "v=spf1 a  -all", 2 },
	{ "v=spf1 a -all ", 2 },
	{ "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all", 3 },
	{ "v=spf1 ip4:1.1.1.1/0 ip4:1.2.3.4/32 -all", 3 },
	{ "v=spf1 ip6:::1.1.1.1/0", 1 },
	{ "v=spf1 ip6:Cafe:Babe:8000::/33", 1 },
	{ "v=spf1 a//33 a/24//64 mx//48 a:foo.example.com/24 mx:mx.example.com/30//120 -all", 6 },
	{ "v=spf1 a:foo:bar/baz.example.com", 1 },
	{ "v=spf1 a:foo.example.xn--zckzah -all", 2 },
	{ "v=spf1 include:_spf.example.com. ~all", 2 },
	{ "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", 2 },
	{ "v=spf1 a:%{H} -all", 2 },
	{ "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all", 2 },
	{ "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", 2 },
	{ "v=spf1 default=pass", 0 },
	{ "v=spf1 default=+", 0 },
	{ "v=spf1 foo=", 0 },
	{ "v=spf1 redirect=_spf.example.com", 0 },
	{ "v=spf1 -all exp=explain._spf.%{d}", 1 },
	{ "v=spf1 ptr ptr:example.com ?all", 3 },
	{ "v=spf1 mx:a-1.example.1-2", 1 },
	{ "v=spf1 a:.com", 1 },
	{ "v=spf1 a:foo.bar%%", 1 },
};

static void test_good(void **state)
{
	struct arena *a = arena_new();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		struct spf_record *r = parse(a, good_cases[i].rec);
		if (r->error != NULL)
			fail_msg("'%s': unexpected error %s", good_cases[i].rec, r->error);
		assert_int_equal(r->nterms, good_cases[i].nterms);
	}
	arena_free(a);
}

/* records that are a permerror, with a word the reason must contain */
struct bad {
	const char *rec;
	size_t len; /* 0: strlen */
	const char *reason;
};

static const struct bad bad_cases[] = {
	{ "v=spf1 ip4:1.2.3.4 -all moo", 0, "unknown mechanism 'moo'" },
	{ "v=spf1 moo.cow/far_out=man:dog/cat ip4:1.2.3.4 -all", 0, "unknown mechanism" },
	{ "v=spf1 moo.cow:far_out=man:dog/cat ip4:1.2.3.4 -all", 0, "unknown mechanism" },
	{ "v=spf1 ip4:1.2.3.4 redirect:t2.example.com", 0, "modifier" },
	{ "v=spf1 a:foo-bar -all", 0, "top-level" },
	{ "v=spf1 -all.", 0, "unknown mechanism" },
	{ "v=spf1 -all:foobar", 0, "no argument" },
	{ "v=spf1 -all/8", 0, "no argument" },
	{ "v=spf1 ptr/0 -all", 0, "prefix" },
	{ "v=spf1 ptr:", 0, "empty" },
	{ "v=spf1 a/33//64 -all", 0, "out of range" },
	{ "v=spf1 a/33 -all", 0, "out of range" },
	{ "v=spf1 a//129 -all", 0, "out of range" },
	{ "v=spf1 a/24/64 -all", 0, "out of range" },
	{ "v=spf1 a:example.com:8080", 0, "top-level" },
	{ "v=spf1 a:111.222.33.44", 0, "all digits" },
	{ "v=spf1 a:abc.123", 0, "all digits" },
	{ "v=spf1 a:museum", 0, "must end" },
	{ "v=spf1 a:museum.", 0, "must end" },
	{ "v=spf1 a:example.-com", 0, "top-level" },
	{ "v=spf1 a:", 0, "empty" },
	{ "v=spf1 include +all", 0, "needs ':'" },
	{ "v=spf1 include: -all", 0, "empty" },
	{ "v=spf1 include:ip5.example.com/24 -all", 0, "top-level" },
	{ "v=spf1 mx:abc.123", 0, "all digits" },
	{ "v=spf1 mx: -all", 0, "empty" },
	{ "v=spf1 exists:", 0, "empty" },
	{ "v=spf1 exists", 0, "needs ':'" },
	{ "v=spf1 exists:mail.example.com/24", 0, "top-level" },
	{ "v=spf1 ip4:1.2.3.4/33 -all", 0, "out of range" },
	{ "v=spf1 ip4:1.2.3.4/032 -all", 0, "leading zero" },
	{ "v=spf1 ip4", 0, "needs ':'" },
	{ "v=spf1 ip4:1.2.3.4//32", 0, "dual" },
	{ "v=spf1 ip4:1.2.3.4:8080", 0, "not an IPv4" },
	{ "v=spf1 ip4:1.2.3", 0, "not an IPv4" },
	{ "v=spf1 ip4:01.2.3.4", 0, "not an IPv4" },
	{ "v=spf1 ip4:1.2.3.4/", 0, "prefix" },
	{ "v=spf1 -all ip6", 0, "needs ':'" },
	{ "v=spf1 ip6:::1.1.1.1/129", 0, "out of range" },
	{ "v=spf1 ip6:::1.1.1.1//33", 0, "dual" },
	{ "v=spf1 ip6::CAFE::BABE", 0, "not an IPv6" },
	{ "v=spf1 ip6:1.2.3.4", 0, "not an IPv6" },
	{ "v=spf1 redirect=t5.example.com redirect=t6.example.com", 0, "more than once" },
	{ "v=spf1 exp=a.example.com -all exp=b.example.com", 0, "more than once" },
	{ "v=spf1 exp= -all", 0, "empty" },
	{ "v=spf1 exp=-all", 0, "must end" },
	{ "v=spf1 redirect=-all ?all", 0, "must end" },
	{ "v=spf1 ?all redirect=", 0, "empty" },
	{ "v=spf1 1up=foo", 0, "unknown mechanism" },
	{ "v=spf1 =all", 0, "unknown mechanism" },
	{ "v=spf1 -all foo=%abc", 0, "not a macro" },
	{ "v=spf1 -all exp=%{r}.example.com", 0, "explanation" },
	{ "v=spf1 a:%{a}.example.com -all", 0, "unknown macro letter" },
	{ "v=spf1 -exists:%(ir).sbl.example.com ?all", 0, "not a macro" },
	{ "v=spf1 exists:foo%.sbl.example.com ?all", 0, "not a macro" },
	{ "v=spf1 a:ctrl.example.com\rptr -all", 0, "0x0d" },
	{ "v=spf1 ip4:192.0.2.5\n include:spf.protection.outlook.com ~all", 0, "0x0a" },
	{ "v=spf1 a:\xef\xbb\xbfgarbage.example.net -all", 0, "0xef" },
	{ "v=spf1 \x80"
	  "a:example.net -all",
	  0, "0x80" },
	{ "v=spf1 a:example.net \x96"
	  "all",
	  0, "0x96" },
	{ "v=spf1 a:foo.example.com\0", 25, "0x00" },
	{ "v=spf1 a:%{d}com", 0, "must end" },
	{ "v=spf10", 0, "not an SPF record" },
	{ "v=spf1\tall", 0, "not an SPF record" },
	{ "spf1 all", 0, "not an SPF record" },
};

static void test_bad(void **state)
{
	struct arena *a = arena_new();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *c = &bad_cases[i];
		size_t len = c->len ? c->len : strlen(c->rec);
		struct spf_record *r = spf_record_parse(a, c->rec, len);
		assert_non_null(r);
		if (r->error == NULL)
			fail_msg("'%s' should be a permerror", c->rec);
		if (strstr(r->error, c->reason) == NULL)
			fail_msg("'%s': reason '%s' lacks '%s'", c->rec, r->error, c->reason);
		/* messages stay printable whatever the record holds */
		for (const char *p = r->error; *p; p++)
			assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
		assert_int_equal(r->nterms, 0);
	}
	arena_free(a);
}

static void test_fields(void **state)
{
	struct arena *a = arena_new();
	struct spf_record *r;

	(void)state;
	r = parse(a, "v=spf1 -a:Foo.example.com/24//64 ~mx//48 ?ip4:192.0.2.0/24 "
	             "+ip6:2001:db8::/32 include:%{d2}._spf.example.com ptr exists:%{i}.x.example "
	             "redirect=r.example.com exp=e.%{d}");
	assert_null(r->error);
	assert_int_equal(r->nterms, 7);
	assert_int_equal(r->terms[0].mech, SPF_MECH_A);
	assert_int_equal(r->terms[0].qual, '-');
	assert_int_equal(r->terms[0].cidr4, 24);
	assert_int_equal(r->terms[0].cidr6, 64);
	assert_int_equal(r->terms[0].domain_len, strlen("Foo.example.com"));
	assert_memory_equal(r->terms[0].domain, "Foo.example.com", r->terms[0].domain_len);
	assert_string_equal(r->terms[0].text, "-a:Foo.example.com/24//64");
	assert_int_equal(r->terms[1].mech, SPF_MECH_MX);
	assert_int_equal(r->terms[1].qual, '~');
	assert_int_equal(r->terms[1].cidr4, 32);
	assert_int_equal(r->terms[1].cidr6, 48);
	assert_null(r->terms[1].domain);
	assert_int_equal(r->terms[2].mech, SPF_MECH_IP4);
	assert_int_equal(r->terms[2].addr.family, AF_INET);
	assert_int_equal(r->terms[2].cidr4, 24);
	assert_int_equal(r->terms[3].mech, SPF_MECH_IP6);
	assert_int_equal(r->terms[3].addr.family, AF_INET6);
	assert_int_equal(r->terms[3].cidr6, 32);
	assert_int_equal(r->terms[4].mech, SPF_MECH_INCLUDE);
	assert_true(r->terms[4].domain_macros);
	assert_int_equal(r->terms[5].mech, SPF_MECH_PTR);
	assert_int_equal(r->terms[6].mech, SPF_MECH_EXISTS);
	assert_non_null(r->redirect);
	assert_memory_equal(r->redirect, "r.example.com", r->redirect_len);
	assert_false(r->redirect_macros);
	assert_memory_equal(r->exp, "e.%{d}", r->exp_len);
	assert_int_equal(r->dns_terms, 6); /* a mx include ptr exists redirect */
	/* an ip6: network of IPv4-mapped addresses is an IPv4 network */
	r = parse(a, "v=spf1 ip6:::FFFF:1.2.3.4 ip6:::ffff:10.0.0.0/104 ip6:::ffff:0:0/80");
	assert_null(r->error);
	assert_int_equal(r->terms[0].addr.family, AF_INET);
	assert_int_equal(r->terms[0].cidr4, 32);
	assert_int_equal(r->terms[1].addr.family, AF_INET);
	assert_int_equal(r->terms[1].cidr4, 8);
	assert_int_equal(r->terms[2].addr.family, AF_INET6);
	/* but ::a.b.c.d (IPv4-compatible) stays IPv6 */
	r = parse(a, "v=spf1 ip6:::1.1.1.1/0");
	assert_int_equal(r->terms[0].addr.family, AF_INET6);
	arena_free(a);
}

static void test_caps(void **state)
{
	struct arena *a = arena_new();
	char big[SPF_RECORD_MAX_LEN + 100];
	struct spf_record *r;
	size_t n = 6, i;

	(void)state;
	memcpy(big, "v=spf1", 6);
	while (n + 2 < sizeof(big) - 1) {
		big[n++] = ' ';
		big[n++] = 'a';
	}
	big[n] = '\0';
	r = parse(a, big);
	assert_non_null(r->error);
	assert_non_null(strstr(r->error, "bytes long"));
	/* more than the term cap within the length cap */
	n = 6;
	for (i = 0; i < SPF_RECORD_MAX_TERMS + 1; i++) {
		big[n++] = ' ';
		big[n++] = 'a';
	}
	big[n] = '\0';
	r = parse(a, big);
	assert_non_null(r->error);
	assert_non_null(strstr(r->error, "terms"));
	/* exactly at the term cap is fine */
	big[n - 2] = '\0';
	r = parse(a, big);
	assert_null(r->error);
	assert_int_equal(r->nterms, SPF_RECORD_MAX_TERMS);
	arena_free(a);
}

static void add_txt(struct dns_answer *ans, struct dns_rr *rr, const char *text)
{
	rr[ans->count].type = DNS_T_TXT;
	rr[ans->count].u.txt.data = (char *)text;
	rr[ans->count].u.txt.len = strlen(text);
	ans->count++;
}

static void test_select(void **state)
{
	struct dns_rr rr[4];
	struct dns_answer ans = { .status = DNS_OK, .rr = rr };
	const char *text;
	size_t len;

	(void)state;
	add_txt(&ans, rr, "google-site-verification=x");
	add_txt(&ans, rr, "v=spf1 -all");
	add_txt(&ans, rr, "v=spf10 +all");
	assert_int_equal(spf_record_select(&ans, &text, &len), 1);
	assert_string_equal(text, "v=spf1 -all");
	assert_int_equal(len, 11);
	add_txt(&ans, rr, "V=SPF1");
	assert_int_equal(spf_record_select(&ans, &text, &len), 2);
	assert_null(text);
	ans.count = 1;
	assert_int_equal(spf_record_select(&ans, &text, &len), 0);
	ans.status = DNS_NXDOMAIN;
	assert_int_equal(spf_record_select(&ans, &text, &len), 0);
	assert_true(spf_record_is_spf("v=spf1", 6));
	assert_false(spf_record_is_spf("v=spf1mx", 8));
	assert_false(spf_record_is_spf("v=spf", 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),   cmocka_unit_test(test_bad),
		cmocka_unit_test(test_fields), cmocka_unit_test(test_caps),
		cmocka_unit_test(test_select),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
