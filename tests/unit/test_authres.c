/* Unit tests for auth/authres: the RFC 8601 grammar corners the
 * conformance cases leave out, the limits, the raw spans an ARC sealer
 * copies, the formatter (quoting, folding, round trips), and what the
 * lenient mode accepts (a trailing ';', EOP's bare action=). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/authres.h"
#include "core/arena.h"
#include "core/buf.h"

struct parse_case {
	const char *text;
	unsigned flags;
	int rc;
	size_t nresults;
	const char *why; /* prefix of the error message */
};

static const struct parse_case parse_cases[] = {
	{ "example.com; none", 0, 0, 0, NULL },
	{ "example.com;none(x)", 0, 0, 0, NULL },
	{ "\"quoted id\"; spf=pass", 0, 0, 1, NULL },
	{ "example.com 1 ; spf=pass", 0, 0, 1, NULL },
	{ "example.com; spf=pass; dkim=fail", 0, 0, 2, NULL },
	{ "example.com; spf=pass;", 0, -1, 0, "expected keyword at 22" },
	{ "example.com; spf=pass;", AUTHRES_LENIENT, 0, 1, NULL },
	{ "example.com; spf=pass; ;", AUTHRES_LENIENT, -1, 0, "expected keyword" },
	{ "example.com;", AUTHRES_LENIENT, -1, 0, "expected keyword at 12" },
	{ "example.com", 0, -1, 0, "expected ';' at 11" },
	{ "example.com; none; spf=pass", 0, -1, 0, "expected '='" },
	{ "example.com; spf=pass (unterminated", 0, -1, 0, "expected ')'" },
	{ "example.com; spf=pass (a (nested) comment) smtp.mailfrom=a@b.c", 0, 0, 1, NULL },
	{ "example.com; spf=pass smtp.mailfrom=\"unterminated", 0, -1, 0, "expected '\"'" },
	{ "example.com; spf-=pass", 0, -1, 0, "expected '='" },
	{ "example.com; spf=pass smtp.mailfrom=", 0, -1, 0, "expected value" },
	{ "example.com; spf=pass smtp.mailfrom=a@", 0, -1, 0, "expected domain name" },
	{ "example.com; spf=pass smtp.mailfrom=@example.com", 0, 0, 1, NULL },
	{ "example.com; spf=pass smtp.mailfrom=a/b=c@example.com", 0, 0, 1, NULL },
	{ "example.com; spf=pass smtp.mailfrom=a/b", 0, -1, 0, "expected keyword" },
	{ "example.com; spf=passsmtp.mailfrom=x", 0, -1, 0, "expected keyword at 25" },
	{ "example.com; spf=pass(c)smtp.mailfrom=x", 0, 0, 1, NULL },
	{ "example.com; dkim/=pass", 0, -1, 0, "expected method version" },
	{ "example.com; dkim/99999999999=pass", 0, -1, 0, "expected method version" },
	{ "example.com; spf=pass reason=x reason=y", 0, -1, 0, "expected '.'" },
	{ "example.com; spf=pass header.d=x reason=y", 0, -1, 0, "expected '.'" },
	{ "", 0, -1, 0, "expected token at 0" },
	/* EOP's bare action=: lenient only, and only that property name */
	{ "example.com; dmarc=pass action=none header.from=contoso.com", 0, -1, 0,
	  "expected '.' at 30" },
	{ "example.com; dmarc=pass action=none header.from=contoso.com", AUTHRES_LENIENT, 0, 1,
	  NULL },
	{ "example.com; dmarc=fail action = oreject; compauth=fail reason=000", AUTHRES_LENIENT, 0,
	  2, NULL },
	{ "example.com; dmarc=fail header.from=x action=pct.quarantine", AUTHRES_LENIENT, 0, 1,
	  NULL },
	{ "example.com; dmarc=pass ACTION=\"none\"", AUTHRES_LENIENT, 0, 1, NULL },
	{ "example.com; dmarc=pass action=", AUTHRES_LENIENT, -1, 0, "expected action value" },
	{ "example.com; dmarc=pass action", AUTHRES_LENIENT, -1, 0, "expected '.'" },
	{ "example.com; dmarc=pass disposition=none", AUTHRES_LENIENT, -1, 0, "expected '.'" },
	{ "example.com; dmarc=pass action=none(x)header.from=y", AUTHRES_LENIENT, 0, 1, NULL },
	{ "example.com; dmarc=pass action=nonesmtp.x=y", AUTHRES_LENIENT, -1, 0,
	  "expected keyword" },
	/* EOP's own Authentication-Results has no authserv-id: still refused
	 * (smexop analyze reads those with its own lenient reader) */
	{ "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=contoso.com; dmarc=pass action=none "
	  "header.from=contoso.com",
	  AUTHRES_LENIENT, -1, 0, "expected ';' at 3" },
};

static void test_parse_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct arena *a = arena_new();
		struct authres ar;
		struct sx_err err = { 0 };
		int rc = authres_parse(&ar, a, c->text, strlen(c->text), c->flags, &err);

		printf("parse %zu: %s -> %d %s\n", i, c->text, rc, rc < 0 ? err.msg : "");
		assert_int_equal(rc, c->rc);
		if (rc == 0)
			assert_int_equal(ar.nresults, c->nresults);
		else
			assert_true(strncmp(err.msg, c->why, strlen(c->why)) == 0);
		arena_free(a);
	}
}

static void test_fields(void **state)
{
	static const char text[] =
	    " mx.example.org (us) 1;\r\n\tDKIM/1=Pass (good sig) reason=\"a \\\"b\\\"\"\r\n"
	    "  Header.D=example.com header.b=\"ab/cd\" ;  spf = none  ";
	struct arena *a = arena_new();
	struct authres ar;
	struct sx_err err = { 0 };
	const struct authres_result *r;
	size_t from = 0;

	(void)state;
	assert_int_equal(authres_parse(&ar, a, text, strlen(text), 0, &err), 0);
	assert_string_equal(ar.authserv_id, "mx.example.org");
	assert_int_equal(ar.version, 1);
	assert_int_equal(ar.nresults, 2);
	r = &ar.results[0];
	assert_string_equal(r->method, "dkim");
	assert_int_equal(r->method_version, 1);
	assert_string_equal(r->result, "pass");
	assert_string_equal(r->comment, "good sig");
	assert_string_equal(r->reason, "a \"b\"");
	assert_int_equal(r->nprops, 2);
	assert_string_equal(r->props[0].ptype, "header");
	assert_string_equal(r->props[0].property, "d");
	assert_string_equal(r->props[1].value, "ab/cd");
	assert_string_equal(authres_prop_find(r, "HEADER", "b"), "ab/cd");
	assert_null(authres_prop_find(r, "header", "i"));
	/* the raw span: from the method to the end, trimmed, comments kept */
	assert_int_equal(r->raw_len, strlen("DKIM/1=Pass (good sig) reason=\"a \\\"b\\\"\"\r\n"
	                                    "  Header.D=example.com header.b=\"ab/cd\""));
	assert_memory_equal(r->raw, "DKIM/1=Pass (good sig)", 22);
	assert_int_equal(ar.results[1].raw_len, strlen("spf = none"));
	assert_ptr_equal(authres_find(&ar, "spf", &from), &ar.results[1]);
	assert_null(authres_find(&ar, "spf", &from));
	arena_free(a);
}

/* a Microsoft ARC-Authentication-Results value (after "i=1;"), as Outlook.com
 * and Exchange Online write it */
static void test_eop_action(void **state)
{
	static const char text[] =
	    " mx.microsoft.com 1; spf=pass (sender ip is 192.0.2.1)\r\n"
	    " smtp.rcpttodomain=contoso.com smtp.mailfrom=fabrikam.com; dmarc=pass\r\n"
	    " (p=none sp=none pct=100) action=none header.from=fabrikam.com; dkim=pass\r\n"
	    " (signature was verified) header.d=fabrikam.com; arc=none";
	struct arena *a = arena_new();
	struct authres ar;
	struct sx_err err = { 0 };
	const struct authres_result *r;
	struct buf b;

	(void)state;
	assert_int_equal(authres_parse(&ar, a, text, strlen(text), 0, &err), -1);
	assert_non_null(strstr(err.msg, "expected '.'"));
	assert_int_equal(authres_parse(&ar, a, text, strlen(text), AUTHRES_LENIENT, &err), 0);
	assert_string_equal(ar.authserv_id, "mx.microsoft.com");
	assert_int_equal(ar.version, 1);
	assert_int_equal(ar.nresults, 4);
	r = authres_find(&ar, "dmarc", NULL);
	assert_non_null(r);
	assert_string_equal(r->result, "pass");
	assert_string_equal(r->comment, "p=none sp=none pct=100");
	assert_int_equal(r->nprops, 2);
	assert_string_equal(r->props[0].ptype, "");
	assert_string_equal(r->props[0].property, "action");
	assert_string_equal(authres_prop_find(r, "", "action"), "none");
	assert_null(authres_prop_find(r, "policy", "action"));
	assert_string_equal(authres_prop_find(r, "header", "from"), "fabrikam.com");
	assert_string_equal(authres_prop_find(&ar.results[2], "header", "d"), "fabrikam.com");
	/* the raw span keeps it, and the formatter writes it back bare */
	assert_memory_equal(r->raw, "dmarc=pass\r\n (p=none sp=none pct=100) action=none", 48);
	buf_init(&b, 4096);
	assert_int_equal(authres_format_result(&b, r), 0);
	assert_string_equal(
	    b.data, "dmarc=pass (p=none sp=none pct=100) action=none header.from=fabrikam.com");
	buf_free(&b);
	arena_free(a);
}

static void test_limits(void **state)
{
	struct arena *a = arena_new();
	struct authres ar;
	struct sx_err err = { 0 };
	struct buf b;
	int i;

	(void)state;
	buf_init(&b, AUTHRES_MAX_LEN * 2);
	assert_int_equal(buf_puts(&b, "x"), 0);
	for (i = 0; i < AUTHRES_MAX_RESULTS; i++)
		assert_int_equal(buf_puts(&b, "; spf=pass"), 0);
	assert_int_equal(authres_parse(&ar, a, b.data, b.len, 0, &err), 0);
	assert_int_equal(ar.nresults, AUTHRES_MAX_RESULTS);
	assert_int_equal(buf_puts(&b, "; spf=pass"), 0);
	assert_int_equal(authres_parse(&ar, a, b.data, b.len, 0, &err), -1);
	assert_non_null(strstr(err.msg, "more than"));

	buf_clear(&b);
	assert_int_equal(buf_puts(&b, "x; spf=pass"), 0);
	for (i = 0; i <= AUTHRES_MAX_PROPS; i++)
		assert_int_equal(buf_printf(&b, " smtp.p%c=v", 'a' + i % 26), 0);
	assert_int_equal(authres_parse(&ar, a, b.data, b.len, 0, &err), -1);
	assert_non_null(strstr(err.msg, "properties"));

	buf_clear(&b);
	assert_int_equal(buf_puts(&b, "x; spf=pass "), 0);
	for (i = 0; i < 65; i++)
		assert_int_equal(buf_putc(&b, '('), 0);
	for (i = 0; i < 65; i++)
		assert_int_equal(buf_putc(&b, ')'), 0);
	assert_int_equal(authres_parse(&ar, a, b.data, b.len, 0, &err), -1);
	assert_non_null(strstr(err.msg, "nested"));

	buf_clear(&b);
	assert_int_equal(buf_puts(&b, "x; spf=pass smtp.mailfrom="), 0);
	while (b.len <= AUTHRES_MAX_LEN)
		assert_int_equal(buf_putc(&b, 'a'), 0);
	assert_int_equal(authres_parse(&ar, a, b.data, b.len, 0, &err), -1);
	buf_free(&b);
	arena_free(a);
}

static void format_to(struct buf *b, const struct authres *ar, size_t col)
{
	struct authres_format_opts o = { .first_col = col };

	buf_clear(b);
	assert_int_equal(authres_format(b, ar, &o), 0);
}

static void test_format(void **state)
{
	struct authres_prop dprops[] = {
		{ "header", "d", "example.com" },
		{ "header", "s", "sel" },
		{ "header", "b", "ab/cd+ef" },
	};
	struct authres_prop sprops[] = { { "smtp", "mailfrom", "a b\"c\r\n@example.com" } };
	struct authres_result res[] = {
		{ .method = "dkim",
		  .method_version = -1,
		  .result = "pass",
		  .comment = "2048-bit (rsa) key",
		  .props = dprops,
		  .nprops = 3 },
		{ .method = "spf",
		  .method_version = -1,
		  .result = "fail",
		  .reason = "not permitted",
		  .props = sprops,
		  .nprops = 1 },
		{ .method = "arc", .method_version = 1, .result = "none" },
	};
	struct authres ar = { "mx.example.org", -1, res, 1 }, back;
	struct arena *a = arena_new();
	struct sx_err err = { 0 };
	struct buf b;
	const char *line, *next;

	(void)state;
	buf_init(&b, 65536);
	res[0].nprops = 1;
	format_to(&b, &ar, 0);
	assert_string_equal(
	    b.data, "mx.example.org; dkim=pass (2048-bit \\(rsa\\) key) header.d=example.com");
	res[0].nprops = 3;
	ar.nresults = 3;
	format_to(&b, &ar, 24);
	printf("%s\n", b.data);
	/* folded: every result on a line of its own, no line over 78 */
	assert_non_null(strstr(b.data, ";\r\n\tdkim=pass"));
	assert_non_null(strstr(b.data, ";\r\n\tspf=fail reason=\"not permitted\""));
	assert_non_null(strstr(b.data, "smtp.mailfrom=\"a b\\\"c@example.com\""));
	assert_non_null(strstr(b.data, ";\r\n\tarc/1=none"));
	for (line = b.data; line != NULL; line = next != NULL ? next + 1 : NULL) {
		next = strchr(line, '\n');
		assert_true((size_t)((next != NULL ? next : line + strlen(line)) - line) <= 79);
	}
	/* and it parses back */
	format_to(&b, &ar, 24);
	assert_int_equal(authres_parse(&back, a, b.data, b.len, 0, &err), 0);
	assert_int_equal(back.nresults, 3);
	assert_string_equal(back.results[0].comment, "2048-bit \\(rsa\\) key");
	assert_string_equal(back.results[0].props[2].value, "ab/cd+ef");
	assert_string_equal(back.results[1].props[0].value, "a b\"c@example.com");
	assert_int_equal(back.results[2].method_version, 1);

	ar.nresults = 0;
	format_to(&b, &ar, 0);
	assert_string_equal(b.data, "mx.example.org; none");
	ar.version = 1;
	ar.authserv_id = "odd;id";
	format_to(&b, &ar, 0);
	assert_string_equal(b.data, "\"odd;id\" 1; none");

	/* an address value stays bare, LF folding on request */
	sprops[0].value = "user+tag@example.com";
	ar.results = &res[1];
	ar.nresults = 1;
	ar.authserv_id = "a-rather-long-authserv-id.mail.example.org";
	{
		struct authres_format_opts o = { .first_col = 24, .width = 60, .lf = true };

		buf_clear(&b);
		assert_int_equal(authres_format(&b, &ar, &o), 0);
		assert_non_null(strstr(b.data, ";\n\tspf=fail"));
		assert_null(strchr(b.data, '\r'));
		assert_non_null(strstr(b.data, "smtp.mailfrom=user+tag@example.com"));
	}
	buf_free(&b);
	arena_free(a);
}

static void test_format_cap(void **state)
{
	struct authres_result r = { .method = "spf", .method_version = -1, .result = "pass" };
	struct authres ar = { "example.com", -1, &r, 1 };
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(authres_format(&b, &ar, NULL), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cases), cmocka_unit_test(test_fields),
		cmocka_unit_test(test_limits),      cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_cap),  cmocka_unit_test(test_eop_action),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
