/*
 * Unit tests for smtp/smtp_parse: the line reader (caps, bare LF, skip
 * after a long line) and the command parser (verbs, RFC 5321 paths,
 * ESMTP and DSN parameters, xtext, BDAT), as case tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_parse.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct cmd_case {
	const char *line;
	unsigned flags;
	enum smtp_parse_status want;
	enum smtp_verb verb;
	const char *path; /* or arg for HELO/VRFY; NULL: not checked */
};

#define E SMTP_PARSE_ESMTP

static void test_commands(void **state)
{
	static const struct cmd_case cases[] = {
		/* verbs */
		{ "HELO mail.example.com", 0, SMTP_PARSE_OK, SMTP_VERB_HELO, "mail.example.com" },
		{ "ehlo [192.0.2.1]", 0, SMTP_PARSE_OK, SMTP_VERB_EHLO, "[192.0.2.1]" },
		{ "EHLO [IPv6:2001:db8::1]", 0, SMTP_PARSE_OK, SMTP_VERB_EHLO, NULL },
		{ "EHLO  host_with_underscore  ", 0, SMTP_PARSE_OK, SMTP_VERB_EHLO,
		  "host_with_underscore" },
		{ "EHLO", 0, SMTP_PARSE_BAD_DOMAIN, SMTP_VERB_EHLO, NULL },
		{ "EHLO a b", 0, SMTP_PARSE_BAD_DOMAIN, SMTP_VERB_EHLO, NULL },
		{ "EHLO [300.1.1.1]", 0, SMTP_PARSE_BAD_DOMAIN, SMTP_VERB_EHLO, NULL },
		{ "EHLO <x>", 0, SMTP_PARSE_BAD_DOMAIN, SMTP_VERB_EHLO, NULL },
		{ "DATA", 0, SMTP_PARSE_OK, SMTP_VERB_DATA, NULL },
		{ "data  ", 0, SMTP_PARSE_OK, SMTP_VERB_DATA, NULL },
		{ "DATA x", 0, SMTP_PARSE_NO_ARGS, SMTP_VERB_DATA, NULL },
		{ "RSET", 0, SMTP_PARSE_OK, SMTP_VERB_RSET, NULL },
		{ "QUIT", 0, SMTP_PARSE_OK, SMTP_VERB_QUIT, NULL },
		{ "StartTLS", 0, SMTP_PARSE_OK, SMTP_VERB_STARTTLS, NULL },
		{ "STARTTLS now", 0, SMTP_PARSE_NO_ARGS, SMTP_VERB_STARTTLS, NULL },
		{ "NOOP whatever", 0, SMTP_PARSE_OK, SMTP_VERB_NOOP, "whatever" },
		{ "VRFY root", 0, SMTP_PARSE_OK, SMTP_VERB_VRFY, "root" },
		{ "VRFY", 0, SMTP_PARSE_SYNTAX, SMTP_VERB_VRFY, NULL },
		{ "HELP", 0, SMTP_PARSE_OK, SMTP_VERB_HELP, "" },
		{ "EXPN list", 0, SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
		{ "", 0, SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
		{ "MAILFROM:<a@b.c>", 0, SMTP_PARSE_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
		/* paths */
		{ "MAIL FROM:<a@example.com>", 0, SMTP_PARSE_OK, SMTP_VERB_MAIL, "a@example.com" },
		{ "mail from:<>", 0, SMTP_PARSE_OK, SMTP_VERB_MAIL, "" },
		{ "MAIL FROM: <a@example.com>", 0, SMTP_PARSE_OK, SMTP_VERB_MAIL, "a@example.com" },
		{ "MAIL FROM:a@example.com", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@example.com", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL TO:<a@example.com>", 0, SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<@relay.example,@r2.example:a@example.com>", 0, SMTP_PARSE_OK,
		  SMTP_VERB_MAIL, "a@example.com" },
		{ "MAIL FROM:<@relay.example:>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<\"john doe\"@example.com>", 0, SMTP_PARSE_OK, SMTP_VERB_MAIL,
		  "\"john doe\"@example.com" },
		{ "MAIL FROM:<\"a\\\"b\"@example.com>", 0, SMTP_PARSE_OK, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<\"unterminated@example.com>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL,
		  NULL },
		{ "MAIL FROM:<a..b@example.com>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<.a@example.com>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@example.com.>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@-example.com>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@example-.com>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@ex_ample.com>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@[192.0.2.1]>", 0, SMTP_PARSE_OK, SMTP_VERB_MAIL, "a@[192.0.2.1]" },
		{ "MAIL FROM:<a@[IPv6:2001:db8::1]>", 0, SMTP_PARSE_OK, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@[IPv6:zz::1]>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@[1.2.3]>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@[x-tag:foo]>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b>x", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a\x01@b>", 0, SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL, NULL },
		{ "RCPT TO:<Postmaster>", 0, SMTP_PARSE_OK, SMTP_VERB_RCPT, "Postmaster" },
		{ "RCPT TO:<postmaster@example.com>", 0, SMTP_PARSE_OK, SMTP_VERB_RCPT, NULL },
		{ "RCPT TO:<>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_RCPT, NULL },
		{ "RCPT TO:<user>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_RCPT, NULL },
		{ "MAIL FROM:<Postmaster>", 0, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL, NULL },
		/* SMTPUTF8 (RFC 6531) */
		{ "MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc"
		  "cher.example> SMTPUTF8",
		  E, SMTP_PARSE_OK, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<j\xc3\xb6rg@example.com>", E, SMTP_PARSE_UTF8, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<j\xc3\xb6rg@example.com> SMTPUTF8", E | SMTP_PARSE_NO_UTF8,
		  SMTP_PARSE_PARAM_UNKNOWN, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<j\xc3@example.com> SMTPUTF8", E, SMTP_PARSE_BAD_PATH, SMTP_VERB_MAIL,
		  NULL },
		{ "MAIL FROM:<\xc0\xaf@example.com> SMTPUTF8", E, SMTP_PARSE_BAD_PATH,
		  SMTP_VERB_MAIL, NULL },
		{ "RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@example.com>", E | SMTP_PARSE_UTF8_OK,
		  SMTP_PARSE_OK, SMTP_VERB_RCPT, NULL },
		{ "RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@example.com>", E, SMTP_PARSE_UTF8,
		  SMTP_VERB_RCPT, NULL },
		/* parameters */
		{ "MAIL FROM:<a@b.c> SIZE=1000", 0, SMTP_PARSE_PARAM_UNKNOWN, SMTP_VERB_MAIL,
		  NULL },
		{ "MAIL FROM:<a@b.c> SIZE=1000 BODY=8BITMIME", E, SMTP_PARSE_OK, SMTP_VERB_MAIL,
		  NULL },
		{ "MAIL FROM:<a@b.c>  size=1000  ", E, SMTP_PARSE_OK, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> SIZE=", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> SIZE=12x", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> SIZE=99999999999999999999999", E, SMTP_PARSE_PARAM_BAD,
		  SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> SIZE=1 SIZE=2", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_MAIL,
		  NULL },
		{ "MAIL FROM:<a@b.c> BODY=BINARYMIME", E, SMTP_PARSE_OK, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> BODY=BINARYMIME", E | SMTP_PARSE_NO_BINARY,
		  SMTP_PARSE_PARAM_BAD, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> BODY=9BIT", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> SMTPUTF8=yes", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> RET=HDRS ENVID=QQ314159", E, SMTP_PARSE_OK, SMTP_VERB_MAIL,
		  NULL },
		{ "MAIL FROM:<a@b.c> RET=ALL", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> RET=FULL", E | SMTP_PARSE_NO_DSN, SMTP_PARSE_PARAM_UNKNOWN,
		  SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> ENVID=a+2", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> ENVID=a+00", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> AUTH=<>", E, SMTP_PARSE_PARAM_UNKNOWN, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> X-FOO", E, SMTP_PARSE_PARAM_UNKNOWN, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> =x", E, SMTP_PARSE_SYNTAX, SMTP_VERB_MAIL, NULL },
		{ "MAIL FROM:<a@b.c> NOTIFY=NEVER", E, SMTP_PARSE_PARAM_UNKNOWN, SMTP_VERB_MAIL,
		  NULL },
		{ "RCPT TO:<a@b.c> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb@b.c", E, SMTP_PARSE_OK,
		  SMTP_VERB_RCPT, NULL },
		{ "RCPT TO:<a@b.c> NOTIFY=NEVER,DELAY", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_RCPT,
		  NULL },
		{ "RCPT TO:<a@b.c> NOTIFY=DELAY,DELAY", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_RCPT,
		  NULL },
		{ "RCPT TO:<a@b.c> NOTIFY=SUCCESS,", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_RCPT,
		  NULL },
		{ "RCPT TO:<a@b.c> ORCPT=rfc822", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_RCPT, NULL },
		{ "RCPT TO:<a@b.c> ORCPT=;a@b.c", E, SMTP_PARSE_PARAM_BAD, SMTP_VERB_RCPT, NULL },
		{ "RCPT TO:<a@b.c> SIZE=10", E, SMTP_PARSE_PARAM_UNKNOWN, SMTP_VERB_RCPT, NULL },
		/* BDAT */
		{ "BDAT 100", 0, SMTP_PARSE_OK, SMTP_VERB_BDAT, NULL },
		{ "BDAT 0 LAST", 0, SMTP_PARSE_OK, SMTP_VERB_BDAT, NULL },
		{ "bdat 5 last", 0, SMTP_PARSE_OK, SMTP_VERB_BDAT, NULL },
		{ "BDAT", 0, SMTP_PARSE_SYNTAX, SMTP_VERB_BDAT, NULL },
		{ "BDAT -1", 0, SMTP_PARSE_SYNTAX, SMTP_VERB_BDAT, NULL },
		{ "BDAT 10 FIRST", 0, SMTP_PARSE_SYNTAX, SMTP_VERB_BDAT, NULL },
		{ "BDAT 99999999999999999999", 0, SMTP_PARSE_SYNTAX, SMTP_VERB_BDAT, NULL },
		{ "BDAT 10LAST", 0, SMTP_PARSE_SYNTAX, SMTP_VERB_BDAT, NULL },
	};
	struct smtp_cmd c;
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		enum smtp_parse_status st =
		    smtp_parse_command(cases[i].line, strlen(cases[i].line), cases[i].flags, &c);

		if (st != cases[i].want || c.verb != cases[i].verb)
			fail_msg("case %zu '%s': status %d verb %d, want %d %d", i, cases[i].line,
			         st, c.verb, cases[i].want, cases[i].verb);
		if (st == SMTP_PARSE_OK && cases[i].path != NULL) {
			if (c.verb == SMTP_VERB_MAIL || c.verb == SMTP_VERB_RCPT)
				assert_string_equal(c.path, cases[i].path);
			else
				assert_true(c.arg_len == strlen(cases[i].path) &&
				            memcmp(c.arg, cases[i].path, c.arg_len) == 0);
		}
	}
}

static void test_values(void **state)
{
	struct smtp_cmd c;
	const char *l;

	(void)state;
	l = "MAIL FROM:<a@b.c> SIZE=12345 BODY=8BITMIME RET=FULL ENVID=id+2Bx+3D1 SMTPUTF8";
	assert_int_equal(smtp_parse_command(l, strlen(l), E, &c), SMTP_PARSE_OK);
	assert_true(c.has_size && c.size == 12345);
	assert_int_equal(c.body, SMTP_BODY_8BITMIME);
	assert_int_equal(c.ret, SMTP_RET_FULL);
	assert_true(c.smtputf8);
	assert_string_equal(c.envid, "id+x=1");

	l = "RCPT TO:<a@b.c> notify=failure,success ORCPT=rfc822;Jo+20Smith+40x@b.c";
	assert_int_equal(smtp_parse_command(l, strlen(l), E, &c), SMTP_PARSE_OK);
	assert_string_equal(c.notify, "FAILURE,SUCCESS");
	assert_string_equal(c.orcpt, "rfc822;Jo Smith@x@b.c");

	l = "BDAT 18446744073709551615 LAST";
	assert_int_equal(smtp_parse_command(l, strlen(l), 0, &c), SMTP_PARSE_OK);
	assert_true(c.chunk_size == UINT64_MAX && c.last);

	/* a NUL inside the line is a syntax error, never a shorter string */
	assert_int_equal(smtp_parse_command("RCPT TO:<a@b.c>\0x", 17, 0, &c), SMTP_PARSE_SYNTAX);
}

static void test_xtext(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} cases[] = {
		{ "abc", 0, "abc" }, { "a+2Bb", 0, "a+b" }, { "a+2bb", 0, "a+b" },
		{ "+", -1, NULL },   { "+2", -1, NULL },    { "+ZZ", -1, NULL },
		{ "+0A", -1, NULL }, { "a=b", -1, NULL },   { "a b", -1, NULL },
		{ "", 0, "" },
	};
	char out[8];
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		assert_int_equal(
		    smtp_xtext_decode(cases[i].in, strlen(cases[i].in), out, sizeof(out)),
		    cases[i].rc);
		if (cases[i].rc == 0)
			assert_string_equal(out, cases[i].out);
	}
	/* output cap */
	assert_int_equal(smtp_xtext_decode("12345678", 8, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("1234567", 7, out, sizeof(out)), 0);
}

/* feed - push text into the reader in pieces of step bytes, collect results */
static void feed(struct smtp_line *l, const char *text, size_t step, char *got, size_t gotsize)
{
	size_t off = 0, n = strlen(text), used, g = 0;

	got[0] = '\0';
	while (off < n) {
		size_t k = n - off < step ? n - off : step;

		while (k > 0) {
			enum smtp_line_status st = smtp_line_push(l, text + off, k, &used);

			assert_true(used > 0 && used <= k);
			off += used;
			k -= used;
			if (st == SMTP_LINE_READY)
				g += (size_t)snprintf(got + g, gotsize - g, "[%s]", l->buf.data);
			else if (st == SMTP_LINE_TOO_LONG)
				g += (size_t)snprintf(got + g, gotsize - g, "[!]");
		}
	}
}

static void test_lines(void **state)
{
	static const struct {
		const char *in;
		size_t max;
		const char *want;
	} cases[] = {
		{ "NOOP\r\nQUIT\r\n", 512, "[NOOP][QUIT]" },
		{ "NOOP\nQUIT\n", 512, "[NOOP][QUIT]" },
		{ "\r\n\r\n", 512, "[][]" },
		{ "NOOP", 512, "" },
		{ "12345678\r\nabc\r\n", 10, "[12345678][abc]" },
		{ "123456789\r\nabc\r\n", 10, "[!][abc]" },
		{ "123456789\nabc\n", 10, "[!][abc]" },
		{ "1234567890123456789012345\r\nabc\r\n", 10, "[!][abc]" },
		{ "a\rb\r\n", 10, "[a\rb]" },
	};
	char got[256];
	size_t i, step;

	(void)state;
	for (i = 0; i < N(cases); i++)
		for (step = 1; step <= strlen(cases[i].in); step++) {
			struct smtp_line l;

			smtp_line_init(&l, cases[i].max);
			feed(&l, cases[i].in, step, got, sizeof(got));
			if (strcmp(got, cases[i].want) != 0)
				fail_msg("case %zu step %zu: got %s want %s", i, step, got,
				         cases[i].want);
			smtp_line_free(&l);
		}
}

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{ "abc", true },           { "\xc3\xa4", true },
		{ "\xe2\x82\xac", true },  { "\xf0\x9f\x98\x80", true },
		{ "\xc3", false },         { "\xc0\x80", false },
		{ "\xed\xa0\x80", false }, { "\xf4\x90\x80\x80", false },
		{ "\xff", false },         { "\xe2\x82", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++)
		assert_int_equal(
		    smtp_utf8_valid((const unsigned char *)cases[i].s, strlen(cases[i].s)),
		    cases[i].ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands), cmocka_unit_test(test_values),
		cmocka_unit_test(test_xtext),    cmocka_unit_test(test_lines),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
