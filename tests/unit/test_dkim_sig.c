/* Unit tests for auth/dkim_tag and auth/dkim_sig: the tag-list syntax,
 * base64 with FWS, and every check a DKIM-Signature gets before its key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/dkim_sig.h"
#include "auth/dkim_tag.h"
#include "core/arena.h"

#define GOOD_B  "b=dGVzdA==;"
#define GOOD_BH "bh=dGVzdA==;"
#define BASE    "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; " GOOD_BH " " GOOD_B

struct tag_case {
	const char *text;
	int rc;
	size_t n;
	const char *why;
};

static const struct tag_case tag_cases[] = {
	{ "a=1; b=2", 0, 2, NULL },
	{ "a=1; b=2;", 0, 2, NULL },
	{ " a = 1 ;\r\n\tb=\r\n 2 x ; ", 0, 2, NULL },
	{ "a=", 0, 1, NULL },
	{ "", 0, 0, NULL },
	{ ";;a=1;;", 0, 1, NULL },
	{ "a=1; a=2", -1, 0, "duplicate tag" },
	{ "a", -1, 0, "tag without '='" },
	{ "a b=1", -1, 0, "bad tag name" },
	{ "1a=1", -1, 0, "bad tag name" },
	{ "a_1=1", 0, 1, NULL },
	{ "a=\x01", -1, 0, "bad character in tag value" },
	{ "a=x\x7f", -1, 0, "bad character in tag value" },
	{ "a=\xc3\xa9", 0, 1, NULL },
	{ "A=1; a=2", 0, 2, NULL }, /* tag names are case-sensitive */
};

static void test_tags(void **state)
{
	struct dkim_tag_list list;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tag_cases) / sizeof(tag_cases[0]); i++) {
		const struct tag_case *c = &tag_cases[i];
		const char *why = NULL;
		int rc = dkim_tag_parse(&list, c->text, strlen(c->text), &why);

		printf("tags %zu: %s\n", i, c->text);
		assert_int_equal(rc, c->rc);
		if (rc == 0)
			assert_int_equal(list.n, c->n);
		else
			assert_string_equal(why, c->why);
	}
	assert_int_equal(dkim_tag_parse(&list, " a = 1 ;\r\n\tb=\r\n 2 x ; ",
	                                strlen(" a = 1 ;\r\n\tb=\r\n 2 x ; "),
	                                &(const char *){ 0 }),
	                 0);
	assert_int_equal(list.tag[1].value_len, 3);
	assert_memory_equal(list.tag[1].value, "2 x", 3);
}

static void test_too_many_tags(void **state)
{
	struct dkim_tag_list list;
	char text[2000];
	const char *why;
	size_t i, n = 0;

	(void)state;
	for (i = 0; i <= DKIM_TAG_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "t%zu=1;", i);
	assert_int_equal(dkim_tag_parse(&list, text, n, &why), -1);
	assert_string_equal(why, "too many tags");
}

struct b64_case {
	const char *in;
	long len;
	const char *out;
};

static const struct b64_case b64_cases[] = {
	{ "dGVzdA==", 4, "test" },  { "dGVzdA", 4, "test" },     { "dG Vz\r\n\tdA ==", 4, "test" },
	{ "dGVzdDE=", 5, "test1" }, { "dGVzdDEy", 6, "test12" }, { "", 0, "" },
	{ "dGVzdA=", -1, NULL },    { "dGVzdA===", -1, NULL },   { "dGVzd", -1, NULL },
	{ "dG=Vz", -1, NULL },      { "dGV*", -1, NULL },        { "====", -1, NULL },
};

static void test_b64(void **state)
{
	uint8_t out[64];
	char enc[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		const struct b64_case *c = &b64_cases[i];
		long n = dkim_b64_decode(c->in, strlen(c->in), out);

		printf("b64 %s\n", c->in);
		assert_int_equal(n, c->len);
		if (n > 0)
			assert_memory_equal(out, c->out, (size_t)n);
	}
	assert_int_equal(dkim_b64_encode((const uint8_t *)"test1", 5, enc), 8);
	assert_string_equal(enc, "dGVzdDE=");
	assert_int_equal(dkim_b64_encode((const uint8_t *)"test", 4, enc), 8);
	assert_string_equal(enc, "dGVzdA==");
	assert_int_equal(dkim_b64_encode((const uint8_t *)"", 0, enc), 0);
}

struct sig_case {
	const char *text;
	int rc;
	enum dkim_reason reason;
	const char *why;
};

static const struct sig_case sig_cases[] = {
	{ BASE, 0, DKIM_R_OK, NULL },
	{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=to; " GOOD_BH GOOD_B, -1,
	  DKIM_R_FROM_NOT_SIGNED, "From not signed" },
	{ "a=rsa-sha256; d=example.com; s=sel; h=from; " GOOD_BH GOOD_B, -1, DKIM_R_VERSION,
	  "missing tag v=" },
	{ "v=2; a=rsa-sha256; d=example.com; s=sel; h=from; " GOOD_BH GOOD_B, -1, DKIM_R_VERSION,
	  "unsupported version" },
	{ "v=1; d=example.com; s=sel; h=from; " GOOD_BH GOOD_B, -1, DKIM_R_SYNTAX,
	  "missing tag a=" },
	{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " GOOD_B, -1, DKIM_R_SYNTAX,
	  "missing tag bh=" },
	{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " GOOD_BH, -1, DKIM_R_SYNTAX,
	  "missing tag b=" },
	{ "v=1; a=rsa-sha256; s=sel; h=from; " GOOD_BH GOOD_B, -1, DKIM_R_SYNTAX,
	  "missing tag d=" },
	{ "v=1; a=rsa-sha256; d=example.com; h=from; " GOOD_BH GOOD_B, -1, DKIM_R_SYNTAX,
	  "missing tag s=" },
	{ "v=1; a=rsa-sha256; d=example.com; s=sel; " GOOD_BH GOOD_B, -1, DKIM_R_SYNTAX,
	  "missing tag h=" },
	{ BASE " v=1", -1, DKIM_R_SYNTAX, "duplicate tag" },
	{ "v=1; a=rsa-md5; d=example.com; s=sel; h=from; " GOOD_BH GOOD_B, -1, DKIM_R_ALGORITHM,
	  NULL },
	{ "v=1; a=rsa-sha1; d=example.com; s=sel; h=from; " GOOD_BH GOOD_B, 0, DKIM_R_OK, NULL },
	{ BASE " c=relaxed/foo", -1, DKIM_R_CANON, NULL },
	{ BASE " c=relaxed", 0, DKIM_R_OK, NULL },
	{ BASE " q=dns", -1, DKIM_R_QUERY, NULL },
	{ BASE " q=http:dns/txt", 0, DKIM_R_OK, NULL },
	{ BASE " i=@example.com", 0, DKIM_R_OK, NULL },
	{ BASE " i=joe@sub.example.com", 0, DKIM_R_OK, NULL },
	{ BASE " i=joe@EXAMPLE.com", 0, DKIM_R_OK, NULL },
	{ BASE " i=joe@badexample.com", -1, DKIM_R_IDENTITY, NULL },
	{ BASE " i=joe@example.org", -1, DKIM_R_IDENTITY, NULL },
	{ BASE " i=joe", -1, DKIM_R_SYNTAX, "bad tag i=" },
	{ BASE " i=j=3Doe@example.com", 0, DKIM_R_OK, NULL },
	{ BASE " i=joe=4@example.com", -1, DKIM_R_SYNTAX, "bad tag i=" },
	{ BASE " t=100; x=99", -1, DKIM_R_TIMESTAMPS, NULL },
	{ BASE " t=100; x=100", 0, DKIM_R_OK, NULL },
	{ BASE " t=-1", -1, DKIM_R_SYNTAX, "bad tag t=" },
	{ BASE " x=12a", -1, DKIM_R_SYNTAX, "bad tag x=" },
	{ BASE " l=abc", -1, DKIM_R_SYNTAX, "bad tag l=" },
	{ BASE " l=99999999999999999999999", -1, DKIM_R_SYNTAX, "bad tag l=" },
	{ BASE " l=0", 0, DKIM_R_OK, NULL },
	{ "v=1; a=rsa-sha256; d=exa mple.com; s=sel; h=from; " GOOD_BH GOOD_B, -1, DKIM_R_SYNTAX,
	  "bad tag d=" },
	{ "v=1; a=rsa-sha256; d=example..com; s=sel; h=from; " GOOD_BH GOOD_B, -1, DKIM_R_SYNTAX,
	  "bad tag d=" },
	{ "v=1; a=rsa-sha256; d=example.com; s=se/l; h=from; " GOOD_BH GOOD_B, -1, DKIM_R_SYNTAX,
	  "bad tag s=" },
	{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from::to; " GOOD_BH GOOD_B, -1, DKIM_R_SYNTAX,
	  "bad tag h=" },
	{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=*; " GOOD_B, -1, DKIM_R_SYNTAX,
	  "bad tag bh=" },
	{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; b=; " GOOD_BH, -1, DKIM_R_SYNTAX,
	  "bad tag b=" },
	{ BASE " z=From:foo|To:bar; foo=bar", 0, DKIM_R_OK, NULL },
	{ "v=1;a=rsa-sha256;d=example.com;s=sel;h=from;bh=dG\r\n VzdA==;b=dGVz\r\n\tdA==", 0,
	  DKIM_R_OK, NULL },
	{ "v=1; a=ed25519-sha256; d=example.com; s=sel; h = From : To ; " GOOD_BH GOOD_B, 0,
	  DKIM_R_OK, NULL },
	{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=From; " GOOD_BH GOOD_B " x", -1,
	  DKIM_R_SYNTAX, "tag without '='" },
};

static void test_sig_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sig_cases) / sizeof(sig_cases[0]); i++) {
		const struct sig_case *c = &sig_cases[i];
		struct arena *a = arena_new();
		struct dkim_sig sig;
		enum dkim_reason reason;
		const char *why;
		int rc = dkim_sig_parse(&sig, a, c->text, strlen(c->text), &reason, &why);

		printf("sig %zu: %s -> %s\n", i, c->text, rc < 0 ? why : "ok");
		assert_int_equal(rc, c->rc);
		assert_int_equal(reason, c->reason);
		if (c->why != NULL)
			assert_string_equal(why, c->why);
		arena_free(a);
	}
}

static void test_sig_fields(void **state)
{
	static const char text[] =
	    "v=1; a=ed25519-sha256; c=simple/relaxed; d=Example.COM; s=s1;\r\n"
	    "\th=from : to:FROM; i=joe=40x@sub.example.com; l=42; t=10; x=20;\r\n"
	    "\tbh=dGVzdA==; b=dG Vz\r\n dA== ;";
	struct arena *a = arena_new();
	struct dkim_sig sig;
	enum dkim_reason reason;
	const char *why;

	(void)state;
	assert_int_equal(dkim_sig_parse(&sig, a, text, strlen(text), &reason, &why), 0);
	assert_int_equal(sig.alg, DKIM_ALG_ED25519_SHA256);
	assert_int_equal(sig.hcanon, DKIM_CANON_SIMPLE);
	assert_int_equal(sig.bcanon, DKIM_CANON_RELAXED);
	assert_string_equal(sig.d, "Example.COM");
	assert_string_equal(sig.s, "s1");
	assert_int_equal(sig.nh, 3);
	assert_string_equal(sig.h[0], "from");
	assert_string_equal(sig.h[1], "to");
	assert_string_equal(sig.h[2], "FROM");
	assert_string_equal(sig.i, "joe@x@sub.example.com");
	assert_string_equal(sig.i_domain, "sub.example.com");
	assert_true(sig.has_l && sig.l == 42);
	assert_true(sig.has_t && sig.t == 10);
	assert_true(sig.has_x && sig.x == 20);
	assert_int_equal(sig.b_len, 4);
	assert_memory_equal(sig.b, "test", 4);
	/* the span to blank is everything after "b=" up to the ';' */
	assert_int_equal(text[sig.b_start - 1], '=');
	assert_int_equal(text[sig.b_end], ';');
	assert_int_equal(sig.b_end - sig.b_start, strlen("dG Vz\r\n dA== "));
	/* c= defaults to simple/simple; i= to @d */
	assert_int_equal(dkim_sig_parse(&sig, a, BASE, strlen(BASE), &reason, &why), 0);
	assert_int_equal(sig.hcanon, DKIM_CANON_SIMPLE);
	assert_int_equal(sig.bcanon, DKIM_CANON_SIMPLE);
	assert_string_equal(sig.i, "@example.com");
	assert_false(sig.has_l);
	/* b= last without ';': the span runs to the end */
	assert_int_equal(sig.b_end, strlen(BASE) - 1);
	arena_free(a);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(dkim_reason_text(DKIM_R_BODY_HASH), "body hash mismatch");
	assert_string_equal(dkim_reason_text(DKIM_R_SHA1), "rsa-sha1 not allowed");
	assert_string_equal(dkim_reason_text((enum dkim_reason)999), "unknown");
	assert_string_equal(dkim_alg_name(DKIM_ALG_ED25519_SHA256), "ed25519-sha256");
	assert_int_equal(dkim_domain_check("a.b-c_d.e", 9), 0);
	assert_int_equal(dkim_domain_check("a.", 2), -1);
	assert_int_equal(dkim_domain_check(".a", 2), -1);
	assert_int_equal(dkim_domain_check("", 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),       cmocka_unit_test(test_too_many_tags),
		cmocka_unit_test(test_b64),        cmocka_unit_test(test_sig_cases),
		cmocka_unit_test(test_sig_fields), cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
