/* Unit tests for core/https's response parser: a table of responses with
 * the outcome, status, body and Content-Type expected, each fed whole and
 * again one byte at a time (the result must not depend on the split);
 * then the client's argument checks and error names.  The client itself
 * runs against real servers in tests/integration/test_https.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/https.h"

struct parse_case {
	const char *in;
	enum https_parse_status want;
	unsigned status;
	const char *body;
	const char *ctype;
	size_t max_body;
};

#define DONE HTTPS_PARSE_DONE
#define ERR  HTTPS_PARSE_ERROR
#define BIG  HTTPS_PARSE_TOO_LARGE

static const struct parse_case cases[] = {
	{ "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", DONE,
	  200, "hello", "text/plain", 0 },
	/* bytes after the response are ignored */
	{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhixxxx", DONE, 200, "hi", NULL, 0 },
	{ "HTTP/1.1 200 OK\nContent-Type:  text/plain ; charset=x \n\nto the close", DONE, 200,
	  "to the close", "text/plain ; charset=x", 0 },
	{ "HTTP/1.0 200\r\n\r\n", DONE, 200, "", NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\n"
	  "X-Trailer: y\r\n\r\n",
	  DONE, 200, "hello!", NULL, 0 },
	{ "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", DONE,
	  200, "0123456789", NULL, 0 },
	/* chunked wins over Content-Length */
	{ "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n"
	  "0\r\n\r\n",
	  DONE, 200, "ok", NULL, 0 },
	{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop",
	  DONE, 404, "nop", NULL, 0 },
	{ "HTTP/1.1 204 No Content\r\n\r\n", DONE, 204, "", NULL, 0 },
	{ "HTTP/1.1 301 Moved\r\nLocation: https://elsewhere/\r\nContent-Length: 0\r\n\r\n", DONE,
	  301, "", NULL, 0 },
	/* limits */
	{ "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", BIG, 200, NULL, NULL, 10 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", DONE, 200, "0123456789", NULL,
	  10 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	  "chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n0\r\n\r\n",
	  BIG, 200, NULL, NULL, 10 },
	{ "HTTP/1.1 200 OK\r\n\r\n01234567890", BIG, 200, NULL, NULL, 10 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", ERR, 200,
	  NULL, NULL, 0 },
	/* malformed */
	{ "HTTP/2 200 OK\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 20 OK\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 2000 OK\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	{ "SMTP 220 hello\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", ERR, 0, NULL, NULL,
	  0 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nno colon\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n", ERR, 0, NULL, NULL,
	  0 },
	{ "HTTP/1.1 101 Switching Protocols\r\n\r\n", ERR, 0, NULL, NULL, 0 },
	/* truncated: an error at the end of input */
	{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", ERR, 0, NULL, NULL, 0 },
	{ "HTTP/1.1 200 OK\r\nContent-Le", ERR, 0, NULL, NULL, 0 },
	{ "", ERR, 0, NULL, NULL, 0 },
};

static enum https_parse_status feed(struct https_parser *p, const char *in, size_t n, bool bytewise)
{
	enum https_parse_status r = HTTPS_PARSE_MORE;
	size_t i;

	if (!bytewise)
		r = https_parser_feed(p, in, n);
	for (i = 0; bytewise && i < n && r == HTTPS_PARSE_MORE; i++)
		r = https_parser_feed(p, in + i, 1);
	if (r == HTTPS_PARSE_MORE)
		r = https_parser_eof(p);
	return r;
}

static void test_parse_table(void **state)
{
	size_t i;
	int pass;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		for (pass = 0; pass < 2; pass++) {
			struct https_parser p;
			enum https_parse_status r;

			https_parser_init(&p, c->max_body);
			r = feed(&p, c->in, strlen(c->in), pass == 1);
			if (r != c->want)
				fail_msg("case %zu (%s): got %d, want %d (%s)", i,
				         pass ? "bytewise" : "whole", r, c->want, p.error);
			if (r == DONE) {
				assert_int_equal(p.status, c->status);
				assert_int_equal(p.body.len, strlen(c->body));
				assert_memory_equal(p.body.len ? p.body.data : "", c->body,
				                    strlen(c->body));
				if (c->ctype == NULL)
					assert_null(p.content_type);
				else
					assert_string_equal(p.content_type, c->ctype);
			} else {
				assert_true(p.error[0] != '\0');
			}
			https_parser_free(&p);
		}
	}
}

static void test_head_limit(void **state)
{
	static char big[HTTPS_MAX_HEAD + 64];
	struct https_parser p;
	size_t n;

	(void)state;
	n = (size_t)snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nX: ");
	memset(big + n, 'a', sizeof(big) - n);
	https_parser_init(&p, 0);
	assert_int_equal(https_parser_feed(&p, big, sizeof(big)), HTTPS_PARSE_TOO_LARGE);
	https_parser_free(&p);
}

static void test_location(void **state)
{
	const char *in = "HTTP/1.1 302 Found\r\nLocation: https://x.example/p\r\n\r\n";
	struct https_parser p;

	(void)state;
	https_parser_init(&p, 0);
	assert_int_equal(feed(&p, in, strlen(in), false), DONE);
	assert_int_equal(p.status, 302);
	assert_string_equal(p.location, "https://x.example/p");
	https_parser_free(&p);
}

static void test_client_args(void **state)
{
	struct https_request rq = { .host = "example.com" };

	(void)state;
	assert_null(https_start(NULL, &rq, NULL, NULL));
	assert_null(https_client_free(NULL));
	assert_string_equal(https_error_name(HTTPS_ERR_CERT), "certificate");
	assert_string_equal(https_error_name(HTTPS_ERR_TOO_LARGE), "too-large");
	assert_string_equal(https_error_name((enum https_error)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_head_limit),
		cmocka_unit_test(test_location),
		cmocka_unit_test(test_client_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
