/* Unit tests for core/dns_rdata and core/dns_name: wire rdata decoding
 * (good records and malformed ones, which must be refused, never read
 * past their end), and names between text and wire form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_impl.h"

/* decode - copy the rdata to an exact-size heap block so that ASan sees
 * any read past its end */
static int decode(struct arena *a, enum dns_type type, const void *data, size_t len,
                  struct dns_rr *rr, const char **why)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	if (len)
		memcpy(copy, data, len);
	*why = NULL;
	r = dns_rdata_decode(a, type, 300, copy, len, rr, why);
	free(copy);
	return r;
}

#define DECODE_OK(type, lit) assert_int_equal(decode(a, type, lit, sizeof(lit) - 1, &rr, &why), 0)

static void test_good(void **state)
{
	struct arena *a = arena_new();
	struct dns_rr rr;
	const char *why;

	(void)state;
	DECODE_OK(DNS_T_A, "\xc0\x00\x02\x01");
	assert_int_equal(rr.type, DNS_T_A);
	assert_int_equal(rr.ttl, 300);
	assert_memory_equal(rr.u.a, "\xc0\x00\x02\x01", 4);

	DECODE_OK(DNS_T_AAAA, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01");
	assert_int_equal(rr.u.aaaa[15], 1);

	DECODE_OK(DNS_T_NS, "\x03NS1\x07"
	                    "Example\x03"
	                    "COM\x00");
	assert_string_equal(rr.u.name, "ns1.example.com");
	DECODE_OK(DNS_T_CNAME, "\x03"
	                       "a.b\x03"
	                       "c d\x00");
	assert_string_equal(rr.u.name, "a\\.b.c\\032d");
	DECODE_OK(DNS_T_PTR, "\x02mx\x07"
	                     "example\x03"
	                     "net\x00");
	assert_string_equal(rr.u.name, "mx.example.net");

	DECODE_OK(DNS_T_MX, "\x00\x0a\x02mx\x07"
	                    "example\x03"
	                    "com\x00");
	assert_int_equal(rr.u.mx.preference, 10);
	assert_string_equal(rr.u.mx.host, "mx.example.com");
	DECODE_OK(DNS_T_MX, "\x00\x00\x00"); /* null MX, RFC 7505 */
	assert_string_equal(rr.u.mx.host, "");

	DECODE_OK(DNS_T_TXT, "\x07v=spf1 \x04-all\x00");
	assert_int_equal(rr.u.txt.nstrings, 3);
	assert_int_equal(rr.u.txt.len, 11);
	assert_int_equal(rr.u.txt.string_len[0], 7);
	assert_int_equal(rr.u.txt.string_len[1], 4);
	assert_int_equal(rr.u.txt.string_len[2], 0);
	assert_string_equal(rr.u.txt.data, "v=spf1 -all");
	DECODE_OK(DNS_T_TXT, "\x03"
	                     "a\x00"
	                     "b");
	assert_int_equal(rr.u.txt.len, 3);
	assert_memory_equal(rr.u.txt.data, "a\0b", 4);
	assert_int_equal(decode(a, DNS_T_TXT, "", 0, &rr, &why), 0);
	assert_int_equal(rr.u.txt.nstrings, 0);
	assert_string_equal(rr.u.txt.data, "");
	DECODE_OK(DNS_T_SPF, "\x0bv=spf1 -all");
	assert_int_equal(rr.type, DNS_T_SPF);
	assert_string_equal(rr.u.txt.data, "v=spf1 -all");

	DECODE_OK(DNS_T_TLSA, "\x03\x01\x01\xab\xcd");
	assert_int_equal(rr.u.tlsa.usage, 3);
	assert_int_equal(rr.u.tlsa.selector, 1);
	assert_int_equal(rr.u.tlsa.mtype, 1);
	assert_int_equal(rr.u.tlsa.len, 2);
	assert_memory_equal(rr.u.tlsa.data, "\xab\xcd", 2);

	DECODE_OK(DNS_T_SOA, "\x02ns\x00\x04host\x00"
	                     "\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04"
	                     "\x00\x00\x00\x05");
	assert_string_equal(rr.u.soa.mname, "ns");
	assert_string_equal(rr.u.soa.rname, "host");
	assert_int_equal(rr.u.soa.serial, 1);
	assert_int_equal(rr.u.soa.minimum, 5);
	arena_free(a);
}

struct bad_case {
	enum dns_type type;
	const char *data;
	size_t len;
};

#define BAD(type, lit)                                                                             \
	{                                                                                          \
		type, lit, sizeof(lit) - 1                                                         \
	}

static void test_malformed(void **state)
{
	static uint8_t long_name[300];
	static const struct bad_case cases[] = {
		BAD(DNS_T_A, "\x01\x02\x03"),
		BAD(DNS_T_A, "\x01\x02\x03\x04\x05"),
		BAD(DNS_T_A, ""),
		BAD(DNS_T_AAAA, "\x20\x01\x0d\xb8"),
		BAD(DNS_T_NS, ""),
		BAD(DNS_T_NS, "\x03"
		              "ab"), /* label runs past the end */
		BAD(DNS_T_NS, "\x02"
		              "ab"),       /* no root label */
		BAD(DNS_T_NS, "\xc0\x0c"), /* compression pointer */
		BAD(DNS_T_NS, "\x02"
		              "ab\xc0\x0c"), /* pointer after a label */
		BAD(DNS_T_NS, "\x41"
		              "a"), /* extended label type */
		BAD(DNS_T_CNAME, "\x01"
		                 "a\x00\x00"), /* trailing byte */
		BAD(DNS_T_PTR, "\x00\x01"),
		BAD(DNS_T_MX, "\x00\x0a"),
		BAD(DNS_T_MX, "\x00"),
		BAD(DNS_T_MX, "\x00\x0a\x05"
		              "ab"),
		BAD(DNS_T_MX, "\x00\x0a\x00\x01"),
		BAD(DNS_T_TXT, "\x05"
		               "abc"),
		BAD(DNS_T_TXT, "\x03"
		               "abc\x01"),
		BAD(DNS_T_SPF, "\xff"),
		BAD(DNS_T_TLSA, "\x03\x01"),
		BAD(DNS_T_TLSA, ""),
		BAD(DNS_T_SOA, "\x00\x00"),
		BAD(DNS_T_SOA, "\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00"
		               "\x00\x04\x00\x00\x00"), /* 19 bytes of numbers */
		BAD(DNS_T_SOA, "\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00"
		               "\x00\x04\x00\x00\x00\x05\x00"), /* 21 */
		BAD(DNS_T_SOA, "\x02ns"),
		BAD((enum dns_type)255, "\x00"),
		{ DNS_T_NS, (const char *)long_name, sizeof(long_name) },
	};
	struct arena *a = arena_new();
	struct dns_rr rr;
	const char *why;
	size_t i;

	(void)state;
	/* 5 labels of 63 bytes: 320 wire bytes, over the 255 limit */
	memset(long_name, 'a', sizeof(long_name));
	for (i = 0; i + 64 < sizeof(long_name); i += 64)
		long_name[i] = 63;
	long_name[sizeof(long_name) - 1] = 0;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (decode(a, cases[i].type, cases[i].data, cases[i].len, &rr, &why) != -1)
			fail_msg("case %zu decoded", i);
		assert_non_null(why);
	}
	assert_int_equal(dns_rdata_decode(a, DNS_T_A, 0, NULL, 4, &rr, &why), -1);
	arena_free(a);
}

struct name_case {
	const char *text;
	int ok;
	const char *canon;
};

static void test_names(void **state)
{
	static char n253[254], n254[255];
	static char l63[70], l64[70];
	const struct name_case cases[] = {
		{ "example.com", 0, "example.com" },
		{ "Example.COM.", 0, "example.com" },
		{ "a\\.b.example", 0, "a\\.b.example" },
		{ "\\065bc.example", 0, "abc.example" },
		{ "sp\\032ace", 0, "sp\\032ace" },
		{ "x\\(y", 0, "x\\(y" },
		{ "_spf.%{d}", 0, "_spf.%{d}" },
		{ "*.example", 0, "*.example" },
		{ "", -1, NULL },
		{ "a..b", -1, NULL },
		{ ".a", -1, NULL },
		{ "a.b..", -1, NULL },
		{ "\\256", -1, NULL },
		{ "\\25", -1, NULL },
		{ "a\\", -1, NULL },
		{ n253, 0, n253 },
		{ n254, -1, NULL },
		{ l63, 0, l63 },
		{ l64, -1, NULL },
	};
	char out[DNS_TEXT_NAME_MAX];
	const char *why;
	size_t i;

	(void)state;
	/* 253 characters: 126 labels "a." and a final "a" */
	for (i = 0; i < 253; i++)
		n253[i] = i % 2 ? '.' : 'a';
	memcpy(n254, n253, 253);
	n254[253] = 'b';
	n254[252] = 'b'; /* "...a.bb": 254 characters */
	memset(l63, 'x', 63);
	memset(l64, 'x', 64);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = dns_name_canon(cases[i].text, out, sizeof(out), &why);
		if (r != cases[i].ok)
			fail_msg("case %zu '%s': got %d", i, cases[i].text, r);
		if (r == 0)
			assert_string_equal(out, cases[i].canon);
		assert_int_equal(dns_name_check(cases[i].text), cases[i].ok);
	}
	assert_int_equal(dns_name_canon(".", out, sizeof(out), &why), 0);
	assert_string_equal(out, "");
	assert_int_equal(dns_name_check("."), -1);
	assert_int_equal(dns_name_check(NULL), -1);
	/* an output buffer too small is refused, not overrun */
	assert_int_equal(dns_name_canon("example.com", out, 5, &why), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
