/* Unit tests for auth/spf_macro: the RFC 7208 7.4 examples, escapes,
 * transformers, URL encoding, exp-only letters, truncation and syntax
 * errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/spf_macro.h"
#include "core/str.h"

static void vars_rfc(struct spf_macro_vars *v, const char *ip)
{
	struct net_addr a;

	memset(v, 0, sizeof(*v));
	v->s = "strong-bad@email.example.com";
	v->l = "strong-bad";
	v->o = "email.example.com";
	v->d = "email.example.com";
	v->h = "mx.example.org";
	v->p = "mx.example.org";
	v->r = "receiver.example.net";
	v->t = 1234567890;
	assert_int_equal(net_addr_parse(ip, &a), 0);
	spf_macro_vars_ip(v, &a);
}

struct xcase {
	const char *in;
	unsigned flags;
	const char *out;
};

/* RFC 7208 7.4, plus the rest of the letters and escapes */
static const struct xcase v4_cases[] = {
	{ "%{s}", 0, "strong-bad@email.example.com" },
	{ "%{o}", 0, "email.example.com" },
	{ "%{d}", 0, "email.example.com" },
	{ "%{d4}", 0, "email.example.com" },
	{ "%{d3}", 0, "email.example.com" },
	{ "%{d2}", 0, "example.com" },
	{ "%{d1}", 0, "com" },
	{ "%{dr}", 0, "com.example.email" },
	{ "%{d2r}", 0, "example.email" },
	{ "%{l}", 0, "strong-bad" },
	{ "%{l-}", 0, "strong.bad" },
	{ "%{lr}", 0, "strong-bad" },
	{ "%{lr-}", 0, "bad.strong" },
	{ "%{l1r-}", 0, "strong" },
	{ "%{ir}.%{v}._spf.%{d2}", 0, "3.2.0.192.in-addr._spf.example.com" },
	{ "%{lr-}.lp._spf.%{d2}", 0, "bad.strong.lp._spf.example.com" },
	{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", 0,
	  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
	{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", 0, "3.2.0.192.in-addr.strong.lp._spf.example.com" },
	{ "%{d2}.trusted-domains.example.net", 0, "example.com.trusted-domains.example.net" },
	{ "%{i}", 0, "192.0.2.3" },
	{ "%{p}", 0, "mx.example.org" },
	{ "%{h}", 0, "mx.example.org" },
	{ "%{v}", 0, "in-addr" },
	{ "%{D}", 0, "email.example.com" },
	{ "%{S}", 0, "strong-bad%40email.example.com" },
	{ "%{c}", SPF_MACRO_EXP, "192.0.2.3" },
	{ "%{r}", SPF_MACRO_EXP, "receiver.example.net" },
	{ "%{t}", SPF_MACRO_EXP, "1234567890" },
	{ "%%%_%-", 0, "% %20" },
	{ "a%%b", 0, "a%b" },
	{ "%{d99}", 0, "email.example.com" },
	{ "%{d0002}", 0, "example.com" },
	{ "%{dR}", 0, "com.example.email" },
	{ "%{l+-=}", 0, "strong.bad" },
	{ "plain.example.com", 0, "plain.example.com" },
	{ "", 0, "" },
	{ "x.example.com.", SPF_MACRO_DOMAIN, "x.example.com" },
	{ "x.example.com.", 0, "x.example.com." },
	{ "This is %{d}.", SPF_MACRO_EXP, "This is email.example.com." },
	{ "%{o} has %{d2r}", SPF_MACRO_EXP, "email.example.com has example.email" },
};

static void test_expand_v4(void **state)
{
	struct spf_macro_vars v;
	char out[512], why[200];
	size_t n, i;

	(void)state;
	vars_rfc(&v, "192.0.2.3");
	for (i = 0; i < sizeof(v4_cases) / sizeof(v4_cases[0]); i++) {
		const struct xcase *c = &v4_cases[i];
		int rc = spf_macro_expand(&v, c->in, strlen(c->in), c->flags, out, sizeof(out), &n,
		                          why, sizeof(why));
		if (rc != SPF_MACRO_OK || strcmp(out, c->out) != 0)
			fail_msg("%s: got rc %d '%s' (%s), want '%s'", c->in, rc, out, why, c->out);
		assert_int_equal(n, strlen(c->out));
		assert_int_equal(
		    spf_macro_check(c->in, strlen(c->in), c->flags, NULL, NULL, why, sizeof(why)),
		    0);
	}
}

static void test_expand_v6(void **state)
{
	struct spf_macro_vars v;
	char out[512];
	size_t n;
	const char *in = "%{ir}.%{v}._spf.%{d2}";

	(void)state;
	vars_rfc(&v, "2001:db8::cb01");
	assert_int_equal(spf_macro_expand(&v, in, strlen(in), 0, out, sizeof(out), &n, NULL, 0),
	                 SPF_MACRO_OK);
	/* RFC 7208 7.4 prints lower-case nibbles; we print upper-case ones
	 * (as the OpenSPF suite expects); DNS names compare without case */
	assert_int_equal(str_casecmp(out,
	                             "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1."
	                             "0.0.2.ip6._spf.example.com"),
	                 0);
	in = "%{c}";
	assert_int_equal(spf_macro_expand(&v, in, 4, SPF_MACRO_EXP, out, sizeof(out), &n, NULL, 0),
	                 SPF_MACRO_OK);
	assert_string_equal(out, "2001:db8::cb01");
	in = "%{i}";
	assert_int_equal(spf_macro_expand(&v, in, 4, 0, out, sizeof(out), &n, NULL, 0),
	                 SPF_MACRO_OK);
	assert_string_equal(out, "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1");
	in = "%{v}";
	assert_int_equal(spf_macro_expand(&v, in, 4, 0, out, sizeof(out), &n, NULL, 0),
	                 SPF_MACRO_OK);
	assert_string_equal(out, "ip6");
}

static void test_url_escape(void **state)
{
	struct spf_macro_vars v;
	char out[512];
	size_t n;
	const char *in = "http://example.com/why.html?l=%{L}";

	(void)state;
	vars_rfc(&v, "192.0.2.3");
	v.l = "~jack&jill=up-a_b3.c";
	assert_int_equal(
	    spf_macro_expand(&v, in, strlen(in), SPF_MACRO_EXP, out, sizeof(out), &n, NULL, 0),
	    SPF_MACRO_OK);
	assert_string_equal(out, "http://example.com/why.html?l=~jack%26jill%3Dup-a_b3.c");
	v.l = "a b/c";
	in = "%{L}";
	assert_int_equal(spf_macro_expand(&v, in, 4, 0, out, sizeof(out), &n, NULL, 0),
	                 SPF_MACRO_OK);
	assert_string_equal(out, "a%20b%2Fc");
}

struct bad {
	const char *in;
	unsigned flags;
};

static const struct bad bad_cases[] = {
	{ "%", 0 },
	{ "foo%", 0 },
	{ "%(ir).sbl.example.com", 0 },
	{ "foo%.sbl.example.com", 0 },
	{ "%{", 0 },
	{ "%{d", 0 },
	{ "%{d2", 0 },
	{ "%{x}", 0 },
	{ "%{a}.example.com", 0 },
	{ "%{c}", 0 },
	{ "%{r}.example.com", 0 },
	{ "%{t}", 0 },
	{ "%{d0}", 0 },
	{ "%{d2r3}", 0 },
	{ "%{d;}", 0 },
	{ "%{}", 0 },
	{ "%{w} is an invalid macro %{d", SPF_MACRO_EXP },
	{ "The %{x}-files.", SPF_MACRO_EXP },
	{ "two words", 0 },
	{ "tab\there", SPF_MACRO_EXP },
	{ "\xef\xbb\xbf"
	  "Explanation",
	  SPF_MACRO_EXP },
	{ "nul\x01", 0 },
};

static void test_syntax_errors(void **state)
{
	struct spf_macro_vars v;
	char out[512], why[200];
	size_t n, i;

	(void)state;
	vars_rfc(&v, "192.0.2.3");
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *c = &bad_cases[i];
		why[0] = '\0';
		if (spf_macro_check(c->in, strlen(c->in), c->flags, NULL, NULL, why, sizeof(why)) !=
		    -1)
			fail_msg("'%s' should be invalid", c->in);
		assert_true(why[0] != '\0');
		assert_int_equal(spf_macro_expand(&v, c->in, strlen(c->in), c->flags, out,
		                                  sizeof(out), &n, why, sizeof(why)),
		                 SPF_MACRO_SYNTAX);
	}
	/* c r t are fine in unknown modifiers */
	assert_int_equal(spf_macro_check("%{c}", 4, SPF_MACRO_ALL, NULL, NULL, why, sizeof(why)),
	                 0);
}

static void test_need_p(void **state)
{
	struct spf_macro_vars v;
	char out[64];
	size_t n, last;
	bool p;

	(void)state;
	vars_rfc(&v, "192.0.2.3");
	v.p = NULL;
	assert_int_equal(spf_macro_expand(&v, "%{p}.x", 6, 0, out, sizeof(out), &n, NULL, 0),
	                 SPF_MACRO_NEED_P);
	assert_int_equal(spf_macro_check("a.%{p}", 6, 0, &last, &p, NULL, 0), 0);
	assert_true(p);
	assert_int_equal(last, 6);
	assert_int_equal(spf_macro_check("%{d}.com", 8, 0, &last, &p, NULL, 0), 0);
	assert_false(p);
	assert_int_equal(last, 4);
}

static void test_truncation(void **state)
{
	struct spf_macro_vars v;
	char out[SPF_MACRO_OUT_MAX], in[64];
	size_t n;
	const char *want = "somewhat.long.exp.example.com.somewhat.long.exp.example.com.somewhat."
	                   "long.exp.example.com.somewhat.long.exp.example.com.somewhat.long.exp."
	                   "example.com.somewhat.long.exp.example.com.somewhat.long.exp.example."
	                   "com.somewhat.long.exp.example.com.example.com";

	(void)state;
	vars_rfc(&v, "192.0.2.3");
	v.o = "somewhat.long.exp.example.com";
	snprintf(in, sizeof(in), "foobar.%s",
	         "%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.example.com");
	assert_int_equal(
	    spf_macro_expand(&v, in, strlen(in), SPF_MACRO_DOMAIN, out, sizeof(out), &n, NULL, 0),
	    SPF_MACRO_OK);
	assert_string_equal(out, want);
	assert_true(n <= 253);
	/* one label longer than 253: nothing is left */
	memset(in, 'a', 60);
	v.o = "";
	{
		char big[300];
		memset(big, 'a', 299);
		big[299] = '\0';
		v.o = big;
		assert_int_equal(spf_macro_expand(&v, "%{o}", 4, SPF_MACRO_DOMAIN, out, sizeof(out),
		                                  &n, NULL, 0),
		                 SPF_MACRO_OK);
		assert_int_equal(n, 0);
	}
}

static void test_too_long(void **state)
{
	struct spf_macro_vars v;
	char out[32];
	size_t n;

	(void)state;
	vars_rfc(&v, "192.0.2.3");
	assert_int_equal(spf_macro_expand(&v, "%{s}%{s}", 8, 0, out, sizeof(out), &n, NULL, 0),
	                 SPF_MACRO_TOOLONG);
	/* exactly fitting output is fine: 31 bytes + NUL */
	assert_int_equal(spf_macro_expand(&v, "0123456789012345678901234567890", 31, 0, out,
	                                  sizeof(out), &n, NULL, 0),
	                 SPF_MACRO_OK);
	assert_int_equal(n, 31);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand_v4),  cmocka_unit_test(test_expand_v6),
		cmocka_unit_test(test_url_escape), cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_need_p),     cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_too_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
