/* Unit tests for auth/dkim_canon: RFC 6376 3.4.6 and edge cases, any
 * chunking, l= limits and the shared body hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "auth/dkim_canon.h"
#include "core/arena.h"
#include "core/buf.h"

static void buf_sink(void *ctx, const void *p, size_t n)
{
	assert_int_equal(buf_append(ctx, p, n), 0);
}

static void body(enum dkim_canon c, const char *in, size_t len, size_t chunk, struct buf *out)
{
	struct dkim_body_canon bc;
	size_t off;

	buf_clear(out);
	dkim_body_canon_init(&bc, c, buf_sink, out);
	for (off = 0; off < len; off += chunk)
		dkim_body_canon_feed(&bc, in + off, len - off < chunk ? len - off : chunk);
	dkim_body_canon_end(&bc);
	assert_int_equal(bc.out_len, out->len);
}

struct body_case {
	const char *in, *simple, *relaxed;
};

static const struct body_case body_cases[] = {
	/* RFC 6376 3.4.6 */
	{ " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n" },
	{ "", "\r\n", "" },
	{ "\r\n", "\r\n", "" },
	{ "\r\n\r\n\r\n", "\r\n", "" },
	{ "\n\n", "\r\n", "" },
	{ "abc", "abc\r\n", "abc\r\n" },
	{ "abc\r\n\r\n", "abc\r\n", "abc\r\n" },
	{ "a  b \t\r\n", "a  b \t\r\n", "a b\r\n" },
	{ " \t\r\n", " \t\r\n", "" },
	{ "x\r\n \t\r\n", "x\r\n \t\r\n", "x\r\n" },
	{ "\tx\r\n", "\tx\r\n", " x\r\n" },
	{ "a\nb\n", "a\r\nb\r\n", "a\r\nb\r\n" },
	{ "a\r\n\r\nb", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n" },
	{ "x \r\n \r\nY", "x \r\n \r\nY\r\n", "x\r\n\r\nY\r\n" },
	{ "a\rb\r\n", "a\rb\r\n", "a\rb\r\n" },
	{ "a\r", "a\r\r\n", "a\r\r\n" },
	{ "\r", "\r\r\n", "\r\r\n" },
	{ "\r\r\n", "\r\r\n", "\r\r\n" },
	{ "a \r", "a \r\r\n", "a \r\r\n" },
	{ "a\r\n\r\n \r\n\t\r\n", "a\r\n\r\n \r\n\t\r\n", "a\r\n" },
	{ "\xff\x80 \xc3\xa9  x", "\xff\x80 \xc3\xa9  x\r\n", "\xff\x80 \xc3\xa9 x\r\n" },
	{ "trailing   ", "trailing   \r\n", "trailing\r\n" },
};

static void test_body(void **state)
{
	struct buf out;
	size_t i, chunk;

	(void)state;
	buf_init(&out, 4096);
	for (i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		const struct body_case *c = &body_cases[i];
		size_t len = strlen(c->in);

		printf("body %zu\n", i);
		for (chunk = 1; chunk <= len + 1; chunk++) {
			body(DKIM_CANON_SIMPLE, c->in, len, chunk, &out);
			assert_int_equal(out.len, strlen(c->simple));
			assert_memory_equal(out.data, c->simple, out.len);
			body(DKIM_CANON_RELAXED, c->in, len, chunk, &out);
			assert_int_equal(out.len, strlen(c->relaxed));
			assert_memory_equal(out.data, c->relaxed, out.len);
		}
	}
	buf_free(&out);
}

static void test_body_nul(void **state)
{
	static const char in[] = "a\0 \0b\r\n";
	struct buf out;

	(void)state;
	buf_init(&out, 100);
	body(DKIM_CANON_RELAXED, in, sizeof(in) - 1, 100, &out);
	assert_int_equal(out.len, 7);
	assert_memory_equal(out.data, "a\0 \0b\r\n", 7);
	buf_free(&out);
}

static void test_many_empty_lines(void **state)
{
	static char in[100000];
	struct buf out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in); i += 2)
		memcpy(in + i, "\r\n", 2);
	buf_init(&out, 300000);
	body(DKIM_CANON_SIMPLE, in, sizeof(in), 7, &out);
	assert_int_equal(out.len, 2);
	in[sizeof(in) - 2] = 'x'; /* now the empty lines precede data */
	body(DKIM_CANON_SIMPLE, in, sizeof(in), 4096, &out);
	assert_int_equal(out.len, sizeof(in) + 1);
	buf_free(&out);
}

struct header_case {
	const char *in, *simple, *relaxed;
};

static const struct header_case header_cases[] = {
	/* RFC 6376 3.4.6 */
	{ "A: X", "A: X\r\n", "a:X\r\n" },
	{ "B : Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n" },
	{ "SubJect:  Hello \t World  ", "SubJect:  Hello \t World  \r\n",
	  "subject:Hello World\r\n" },
	{ "X:\r\n\tfolded", "X:\r\n\tfolded\r\n", "x:folded\r\n" },
	{ "X: a\n b", "X: a\r\n b\r\n", "x:a b\r\n" },
	{ "X:", "X:\r\n", "x:\r\n" },
	{ "X:   ", "X:   \r\n", "x:\r\n" },
	{ "X: a\rb", "X: a\rb\r\n", "x:a\rb\r\n" },
	{ "NoColon  ", "NoColon  \r\n", "nocolon\r\n" },
	{ "Very-Long-Header-Name-Over-Sixty-Four-Bytes-To-Cross-The-Buffer-Edge-Xy: v",
	  "Very-Long-Header-Name-Over-Sixty-Four-Bytes-To-Cross-The-Buffer-Edge-Xy: v\r\n",
	  "very-long-header-name-over-sixty-four-bytes-to-cross-the-buffer-edge-xy:v\r\n" },
};

static void test_header(void **state)
{
	struct buf out;
	size_t i;

	(void)state;
	buf_init(&out, 4096);
	for (i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct header_case *c = &header_cases[i];

		printf("header %zu\n", i);
		buf_clear(&out);
		dkim_canon_header(DKIM_CANON_SIMPLE, c->in, strlen(c->in), true, buf_sink, &out);
		assert_string_equal(out.data, c->simple);
		buf_clear(&out);
		dkim_canon_header(DKIM_CANON_RELAXED, c->in, strlen(c->in), true, buf_sink, &out);
		assert_string_equal(out.data, c->relaxed);
	}
	buf_clear(&out);
	dkim_canon_header(DKIM_CANON_RELAXED, "A: b ", 5, false, buf_sink, &out);
	assert_string_equal(out.data, "a:b");
	buf_free(&out);
}

static void sha256(const char *p, size_t n, uint8_t *out)
{
	unsigned len;

	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
}

static void test_body_hashes(void **state)
{
	static const char msg[] = "abc  \r\nde\r\n\r\n";
	struct arena *a = arena_new();
	struct dkim_body_hashes *h = dkim_body_hashes_new(a);
	uint8_t want[32];
	const uint8_t *got;
	size_t dlen;
	uint64_t clen;
	int s, r, l0, l3, lbig, s2, sha1;

	(void)state;
	assert_non_null(h);
	s = dkim_body_hashes_add(h, DKIM_CANON_SIMPLE, false, 0, DKIM_HASH_SHA256);
	r = dkim_body_hashes_add(h, DKIM_CANON_RELAXED, false, 0, DKIM_HASH_SHA256);
	l0 = dkim_body_hashes_add(h, DKIM_CANON_RELAXED, true, 0, DKIM_HASH_SHA256);
	l3 = dkim_body_hashes_add(h, DKIM_CANON_RELAXED, true, 3, DKIM_HASH_SHA256);
	lbig = dkim_body_hashes_add(h, DKIM_CANON_SIMPLE, true, 1000, DKIM_HASH_SHA256);
	sha1 = dkim_body_hashes_add(h, DKIM_CANON_SIMPLE, false, 0, DKIM_HASH_SHA1);
	s2 = dkim_body_hashes_add(h, DKIM_CANON_SIMPLE, false, 0, DKIM_HASH_SHA256);
	assert_int_equal(s2, s); /* shared */
	assert_true(s != r && r != l0 && l0 != l3 && l3 != lbig && sha1 != s);
	assert_int_equal(dkim_body_hashes_feed(h, msg, 5), 0);
	assert_int_equal(dkim_body_hashes_feed(h, msg + 5, sizeof(msg) - 1 - 5), 0);
	assert_int_equal(dkim_body_hashes_end(h), 0);

	got = dkim_body_hashes_get(h, s, &dlen, &clen);
	sha256("abc  \r\nde\r\n", 11, want);
	assert_int_equal(dlen, 32);
	assert_int_equal(clen, 11);
	assert_memory_equal(got, want, 32);

	got = dkim_body_hashes_get(h, r, &dlen, &clen);
	sha256("abc\r\nde\r\n", 9, want);
	assert_int_equal(clen, 9);
	assert_memory_equal(got, want, 32);

	got = dkim_body_hashes_get(h, l0, &dlen, &clen);
	sha256("", 0, want);
	assert_int_equal(clen, 9); /* the whole canonical body, for the unsigned tail */
	assert_memory_equal(got, want, 32);

	got = dkim_body_hashes_get(h, l3, &dlen, &clen);
	sha256("abc", 3, want);
	assert_memory_equal(got, want, 32);

	got = dkim_body_hashes_get(h, lbig, &dlen, &clen);
	sha256("abc  \r\nde\r\n", 11, want);
	assert_memory_equal(got, want, 32);

	got = dkim_body_hashes_get(h, sha1, &dlen, &clen);
	assert_non_null(got);
	assert_int_equal(dlen, 20);

	assert_null(dkim_body_hashes_get(h, 99, &dlen, &clen));
	assert_int_equal(dkim_body_hashes_add(h, DKIM_CANON_SIMPLE, true, 5, DKIM_HASH_SHA256), -1);
	arena_free(a);
}

static void test_body_hashes_full(void **state)
{
	struct arena *a = arena_new();
	struct dkim_body_hashes *h = dkim_body_hashes_new(a);
	uint64_t i;

	(void)state;
	for (i = 0; i < DKIM_BODY_HASHES_MAX; i++)
		assert_int_equal(
		    dkim_body_hashes_add(h, DKIM_CANON_SIMPLE, true, i, DKIM_HASH_SHA256), (int)i);
	assert_int_equal(dkim_body_hashes_add(h, DKIM_CANON_SIMPLE, true, i, DKIM_HASH_SHA256), -1);
	arena_free(a); /* frees the digest contexts: ASan checks */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_body_nul),
		cmocka_unit_test(test_many_empty_lines),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_body_hashes),
		cmocka_unit_test(test_body_hashes_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
