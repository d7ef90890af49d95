/* Unit tests for core/dns_zone: the master-file loader (every feature, and
 * bad inputs with their exact file:line:col: message) and the answers
 * (NXDOMAIN vs NODATA, empty non-terminals, CNAME chains and loops,
 * wildcards, case, timeout marks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_zone.h"

static const char zone_good[] =
    "; a zone that uses every feature of the loader\r\n"
    "$ORIGIN example.com.\n"
    "$TTL 1h\n"
    "@\tIN SOA ns1 hostmaster ( 2024010101 ; serial\n"
    "\t\t2h 1h ; refresh, retry\n"
    "\t\t2w 5m )\n"
    "@\tNS ns1\n"
    "\tNS ns2.example.net.\n"
    "@\tMX 10 mx\n"
    "\tMX 20 MX2.Example.NET.\n"
    "\tTXT \"v=spf1 \" \"ip4:192.0.2.0/24; -all\" ; a comment after\n"
    "mx 300 IN A 192.0.2.1\n"
    "   IN 600 AAAA 2001:DB8::1\n"
    "ttl1 1h30m A 192.0.2.2\n"
    "ttl2 2D IN A 192.0.2.3\n"
    "ttl3 IN 1w A 192.0.2.4\n"
    "WwW CNAME mx\n"
    "words TXT hello world\n"
    "esc TXT \"say \\\"hi\\\"\" \"back\\\\slash\" \"\\065\\066\\067\" \"\"\n"
    "multi TXT ( \"first\"\n"
    "            \"second\" )\n"
    "spf SPF \"v=spf1 -all\"\n"
    "_25._tcp.mx TLSA 3 1 1 ( AB12 cd34\n"
    "                         ef )\n"
    "4.3.2.1.in-addr.arpa. PTR mx\n"
    "*.wild A 192.0.2.50\n"
    "deep.a.b A 192.0.2.60\n"
    "abs.example.org. A 192.0.2.70\n"
    "$ORIGIN sub.example.com.\n"
    "host A 192.0.2.80\n"
    "null MX 0 .\n";

static struct dns_zone *load_ok(const char *text)
{
	struct dns_zone *z = dns_zone_new();
	struct sx_err err = { 0 };
	char msg[700];
	int r;

	assert_non_null(z);
	r = dns_zone_load_text(z, "t.zone", text, strlen(text), NULL, &err);
	if (r != 0)
		fail_msg("load failed: %s", sx_err_format(&err, msg, sizeof(msg)));
	return z;
}

/* answer - query z, the answer allocated from a */
static struct dns_answer answer(struct dns_zone *z, struct arena *a, const char *name,
                                enum dns_type type)
{
	struct dns_answer ans;

	assert_int_equal(dns_zone_answer(z, a, name, type, &ans), 0);
	return ans;
}

static void test_load_features(void **state)
{
	struct dns_zone *z = load_ok(zone_good);
	struct arena *a = arena_new();
	struct dns_answer ans;
	static const uint8_t tlsa[] = { 0xab, 0x12, 0xcd, 0x34, 0xef };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	(void)state;
	ans = answer(z, a, "example.com", DNS_T_SOA);
	assert_int_equal(ans.status, DNS_OK);
	assert_int_equal(ans.count, 1);
	assert_string_equal(ans.rr[0].u.soa.mname, "ns1.example.com");
	assert_string_equal(ans.rr[0].u.soa.rname, "hostmaster.example.com");
	assert_int_equal(ans.rr[0].u.soa.serial, 2024010101u);
	assert_int_equal(ans.rr[0].u.soa.refresh, 7200);
	assert_int_equal(ans.rr[0].u.soa.retry, 3600);
	assert_int_equal(ans.rr[0].u.soa.expire, 14 * 86400);
	assert_int_equal(ans.rr[0].u.soa.minimum, 300);
	assert_int_equal(ans.rr[0].ttl, 3600);

	ans = answer(z, a, "example.com", DNS_T_NS);
	assert_int_equal(ans.count, 2);
	assert_string_equal(ans.rr[0].u.name, "ns1.example.com");
	assert_string_equal(ans.rr[1].u.name, "ns2.example.net");

	ans = answer(z, a, "example.com", DNS_T_MX);
	assert_int_equal(ans.count, 2);
	assert_int_equal(ans.rr[0].u.mx.preference, 10);
	assert_string_equal(ans.rr[0].u.mx.host, "mx.example.com");
	assert_int_equal(ans.rr[1].u.mx.preference, 20);
	assert_string_equal(ans.rr[1].u.mx.host, "mx2.example.net"); /* lower-cased */

	/* ';' inside quotes is data, after them a comment */
	ans = answer(z, a, "example.com", DNS_T_TXT);
	assert_int_equal(ans.count, 1);
	assert_int_equal(ans.rr[0].u.txt.nstrings, 2);
	assert_int_equal(ans.rr[0].u.txt.string_len[0], 7);
	assert_int_equal(ans.rr[0].u.txt.string_len[1], 22);
	assert_string_equal(ans.rr[0].u.txt.data, "v=spf1 ip4:192.0.2.0/24; -all");

	ans = answer(z, a, "mx.example.com", DNS_T_A);
	assert_int_equal(ans.rr[0].ttl, 300);
	assert_memory_equal(ans.rr[0].u.a, ((uint8_t[]){ 192, 0, 2, 1 }), 4);
	/* blank owner is the previous one; class and TTL in the other order */
	ans = answer(z, a, "mx.example.com", DNS_T_AAAA);
	assert_int_equal(ans.status, DNS_OK);
	assert_int_equal(ans.rr[0].ttl, 600);
	assert_memory_equal(ans.rr[0].u.aaaa, v6, 16);

	assert_int_equal(answer(z, a, "ttl1.example.com", DNS_T_A).rr[0].ttl, 5400);
	assert_int_equal(answer(z, a, "ttl2.example.com", DNS_T_A).rr[0].ttl, 2 * 86400);
	assert_int_equal(answer(z, a, "ttl3.example.com", DNS_T_A).rr[0].ttl, 7 * 86400);

	ans = answer(z, a, "www.example.com", DNS_T_CNAME);
	assert_string_equal(ans.rr[0].u.name, "mx.example.com");

	/* unquoted words are one string each */
	ans = answer(z, a, "words.example.com", DNS_T_TXT);
	assert_int_equal(ans.rr[0].u.txt.nstrings, 2);
	assert_string_equal(ans.rr[0].u.txt.data, "helloworld");

	ans = answer(z, a, "esc.example.com", DNS_T_TXT);
	assert_int_equal(ans.rr[0].u.txt.nstrings, 4);
	assert_string_equal(ans.rr[0].u.txt.data, "say \"hi\"back\\slashABC");
	assert_int_equal(ans.rr[0].u.txt.string_len[3], 0);

	ans = answer(z, a, "multi.example.com", DNS_T_TXT);
	assert_int_equal(ans.rr[0].u.txt.nstrings, 2);
	assert_string_equal(ans.rr[0].u.txt.data, "firstsecond");

	ans = answer(z, a, "spf.example.com", DNS_T_SPF);
	assert_int_equal(ans.status, DNS_OK);
	assert_int_equal(ans.rr[0].type, DNS_T_SPF);
	assert_string_equal(ans.rr[0].u.txt.data, "v=spf1 -all");
	assert_int_equal(answer(z, a, "spf.example.com", DNS_T_TXT).status, DNS_NODATA);

	ans = answer(z, a, "_25._tcp.mx.example.com", DNS_T_TLSA);
	assert_int_equal(ans.rr[0].u.tlsa.usage, 3);
	assert_int_equal(ans.rr[0].u.tlsa.selector, 1);
	assert_int_equal(ans.rr[0].u.tlsa.mtype, 1);
	assert_int_equal(ans.rr[0].u.tlsa.len, 5);
	assert_memory_equal(ans.rr[0].u.tlsa.data, tlsa, 5);

	ans = answer(z, a, "4.3.2.1.in-addr.arpa", DNS_T_PTR);
	assert_string_equal(ans.rr[0].u.name, "mx.example.com");

	assert_int_equal(answer(z, a, "abs.example.org", DNS_T_A).status, DNS_OK);
	assert_int_equal(answer(z, a, "host.sub.example.com", DNS_T_A).status, DNS_OK);
	ans = answer(z, a, "null.sub.example.com", DNS_T_MX);
	assert_string_equal(ans.rr[0].u.mx.host, "");

	arena_free(a);
	dns_zone_free(z);
}

static void test_load_ttl_rules(void **state)
{
	/* without $TTL an omitted TTL is the last one given (RFC 1035), and
	 * 3600 before any */
	struct dns_zone *z = load_ok("a.example.com. A 192.0.2.1\n"
	                             "b.example.com. 120 A 192.0.2.2\n"
	                             "c.example.com. A 192.0.2.3\n"
	                             "$TTL 60\n"
	                             "d.example.com. A 192.0.2.4\n");
	struct arena *a = arena_new();

	(void)state;
	assert_int_equal(answer(z, a, "a.example.com", DNS_T_A).rr[0].ttl, 3600);
	assert_int_equal(answer(z, a, "b.example.com", DNS_T_A).rr[0].ttl, 120);
	assert_int_equal(answer(z, a, "c.example.com", DNS_T_A).rr[0].ttl, 120);
	assert_int_equal(answer(z, a, "d.example.com", DNS_T_A).rr[0].ttl, 60);
	arena_free(a);
	dns_zone_free(z);
}

static void test_load_origin_arg(void **state)
{
	struct dns_zone *z = dns_zone_new();
	struct arena *a = arena_new();
	struct sx_err err = { 0 };
	static const char text[] = "@ A 192.0.2.1\nwww A 192.0.2.2\n";

	(void)state;
	assert_int_equal(dns_zone_load_text(z, "t.zone", text, strlen(text), "example.net", &err),
	                 0);
	assert_int_equal(answer(z, a, "example.net", DNS_T_A).status, DNS_OK);
	assert_int_equal(answer(z, a, "www.example.net", DNS_T_A).status, DNS_OK);
	/* empty text is an empty zone */
	assert_int_equal(dns_zone_load_text(z, "e.zone", "", 0, NULL, &err), 0);
	arena_free(a);
	dns_zone_free(z);
}

struct bad_case {
	const char *text;
	const char *want; /* sx_err_format() of the error */
};

#define L63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define S256                                                                                       \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxx"                                                                                      \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxx"                                                                                      \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static void test_load_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "$ORIGIN example.com.\nwww IN BOGUS 192.0.2.1\n",
		  "t.zone:2:8: unknown record type 'BOGUS'" },
		{ "$ORIGIN example.com.\nwww A 192.0.2.300\n",
		  "t.zone:2:7: bad IPv4 address '192.0.2.300'" },
		{ "$ORIGIN example.com.\nwww AAAA 2001:db8::zz\n",
		  "t.zone:2:10: bad IPv6 address '2001:db8::zz'" },
		{ "a" L63 ".example.com. A 192.0.2.1\n", "t.zone:1:1: label longer than 63 bytes" },
		{ L63 "." L63 "." L63 "." L63 ".com. A 192.0.2.1\n",
		  "t.zone:1:1: domain name longer than 255 bytes" },
		{ "$ORIGIN " L63 "." L63 "." L63 ".\n" L63 " A 192.0.2.1\n",
		  "t.zone:2:1: domain name longer than 255 bytes with the origin" },
		{ "example.com. TXT \"abc\nx.example.com. A 192.0.2.1\n",
		  "t.zone:1:18: unterminated quoted string" },
		{ "example.com. TXT \"abc", "t.zone:1:18: unterminated quoted string" },
		{ "example.com. SOA ns. host. ( 1 2 3\n 4\n\n",
		  "t.zone:1:28: unterminated parenthesis" },
		{ "a.example.com. A 192.0.2.1\na.example.com. CNAME b.example.com.\n",
		  "t.zone:2:16: CNAME and other data at a.example.com" },
		{ "a.example.com. CNAME b.example.com.\na.example.com. A 192.0.2.1\n",
		  "t.zone:2:16: CNAME and other data at a.example.com" },
		{ "a.example.com. CNAME b.example.com.\nA.example.com. CNAME c.example.com.\n",
		  "t.zone:2:16: more than one CNAME at a.example.com" },
		{ "example.com. TXT \"ok\" \"" S256 "\"\n",
		  "t.zone:1:23: character-string longer than 255 bytes" },
		{ "$INCLUDE other.zone\n", "t.zone:1:1: $INCLUDE is not supported" },
		{ "$GENERATE 1-2 a A 192.0.2.1\n", "t.zone:1:1: unknown directive '$GENERATE'" },
		{ "www A 192.0.2.1\n", "t.zone:1:1: relative name 'www' but no $ORIGIN is set" },
		{ "@ A 192.0.2.1\n", "t.zone:1:1: '@' but no $ORIGIN is set" },
		{ "  A 192.0.2.1\n",
		  "t.zone:1:3: no owner name, and no previous record to take it from" },
		{ "example.com. 1x A 192.0.2.1\n", "t.zone:1:14: bad TTL '1x'" },
		{ "example.com. 4294967296 A 192.0.2.1\n", "t.zone:1:14: bad TTL '4294967296'" },
		{ "$TTL forever\n", "t.zone:1:6: bad TTL 'forever'" },
		{ "example.com. CH A 192.0.2.1\n",
		  "t.zone:1:14: unsupported class 'CH' (only IN)" },
		{ "example.com. MX 10\n", "t.zone:1:14: MX record needs a preference and a host" },
		{ "example.com. MX 70000 mx.example.com.\n",
		  "t.zone:1:17: bad MX preference '70000' (0-65535)" },
		{ "example.com. A 192.0.2.1 192.0.2.2\n",
		  "t.zone:1:26: unexpected '192.0.2.2' after the record data" },
		{ "example.com. A 192.0.2.1 )\n", "t.zone:1:26: ')' without '('" },
		{ "example.com. TXT ( ( \"a\" ) )\n", "t.zone:1:20: nested parenthesis" },
		{ "x.example.com. TLSA 3 1 1 abc\n",
		  "t.zone:1:27: odd number of hex digits in TLSA data" },
		{ "x.example.com. TLSA 3 1 1 ab zz\n", "t.zone:1:30: bad hex in TLSA data 'zz'" },
		{ "x.example.com. TLSA 256 1 1 ab\n", "t.zone:1:21: bad TLSA field '256' (0-255)" },
		{ "example.com. 300 IN\n", "t.zone:1:20: missing record type" },
		{ "example.com. TXT \"\\300\"\n", "t.zone:1:18: bad \\DDD escape" },
		{ "a..example.com. A 192.0.2.1\n", "t.zone:1:1: empty label in domain name" },
		{ "example.com. SOA ns. host. 1 2 3 4\n",
		  "t.zone:1:14: SOA record needs mname, rname, serial, refresh, retry, expire and "
		  "minimum" },
		{ "example.com. CNAME \"quoted.example.com.\"\n",
		  "t.zone:1:20: a domain name cannot be quoted" },
		{ "example.com. TXT\n", "t.zone:1:14: TXT record needs at least one string" },
		/* line counting goes on inside parentheses and across comments */
		{ "example.com. SOA ns. host. ( ; start\n 1 2 3 4 5 )\n; comment\n"
		  "bad.example.com. A x\n",
		  "t.zone:4:20: bad IPv4 address 'x'" },
	};
	size_t i;
	char msg[700];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_zone *z = dns_zone_new();
		struct sx_err err = { 0 };
		int r = dns_zone_load_text(z, "t.zone", cases[i].text, strlen(cases[i].text), NULL,
		                           &err);
		if (r != -1)
			fail_msg("case %zu loaded: %s", i, cases[i].text);
		sx_err_format(&err, msg, sizeof(msg));
		if (strcmp(msg, cases[i].want) != 0)
			fail_msg("case %zu:\n got  %s\n want %s", i, msg, cases[i].want);
		dns_zone_free(z);
	}
}

static void test_load_nul_and_file(void **state)
{
	struct dns_zone *z = dns_zone_new();
	struct sx_err err = { 0 };
	char msg[700];
	static const char text[] = "example.com. A 192.0.2.1\nx\0y A 192.0.2.2\n";

	(void)state;
	assert_int_equal(dns_zone_load_text(z, "t.zone", text, sizeof(text) - 1, NULL, &err), -1);
	assert_string_equal(sx_err_format(&err, msg, sizeof(msg)),
	                    "t.zone:2:2: NUL byte in the zone file");
	assert_int_equal(dns_zone_load_file(z, "/nonexistent/zone", &err), -1);
	assert_non_null(strstr(sx_err_format(&err, msg, sizeof(msg)), "/nonexistent/zone"));
	dns_zone_free(z);
}

/* load_fail - load text, return the formatted error */
static void load_fail(const char *text, size_t len, char *msg, size_t msgsize)
{
	struct dns_zone *z = dns_zone_new();
	struct sx_err err = { 0 };

	assert_int_equal(dns_zone_load_text(z, "t.zone", text, len, NULL, &err), -1);
	sx_err_format(&err, msg, msgsize);
	dns_zone_free(z);
}

static void test_load_limits(void **state)
{
	char *text = malloc(100000);
	char msg[700];
	size_t n, i;

	(void)state;
	assert_non_null(text);
	/* 4096 fields in one record at most */
	n = (size_t)snprintf(text, 100000, "example.com. TXT");
	for (i = 0; i < 4100; i++)
		n += (size_t)snprintf(text + n, 100000 - n, " a");
	load_fail(text, n, msg, sizeof(msg));
	assert_string_equal(msg, "t.zone:1:8206: too many fields in one record");
	/* 65536 bytes in one line at most */
	n = (size_t)snprintf(text, 100000, "example.com. TXT");
	for (i = 0; i < 700; i++)
		n += (size_t)snprintf(text + n, 100000 - n, " \"%0100d\"", 0);
	load_fail(text, n, msg, sizeof(msg));
	assert_string_equal(msg, "t.zone:1:65537: line longer than 65536 bytes");
	/* 65535 bytes of rdata at most */
	n = (size_t)snprintf(text, 100000, "example.com. TXT (");
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(text + n, 100000 - n, "\n \"%0250d\"", 0);
	n += (size_t)snprintf(text + n, 100000 - n, " )\n");
	load_fail(text, n, msg, sizeof(msg));
	assert_string_equal(msg, "t.zone:263:2: record longer than 65535 bytes");
	free(text);
}

static const char zone_answers[] =
    "$ORIGIN example.com.\n"
    "www A 192.0.2.1\n"
    "a.b.c A 192.0.2.2\n"
    "c1 CNAME c2\n"
    "c2 CNAME c3.example.com.\n"
    "c3 A 192.0.2.3\n"
    "dangling CNAME nowhere\n"
    "loop1 CNAME loop2\n"
    "loop2 CNAME loop1\n"
    "self CNAME self\n"
    "l0 CNAME l1\nl1 CNAME l2\nl2 CNAME l3\nl3 CNAME l4\nl4 CNAME l5\n"
    "l5 CNAME l6\nl6 CNAME l7\nl7 CNAME l8\nl8 CNAME l9\nl9 A 192.0.2.9\n"
    "*.wild A 192.0.2.10\n"
    "*.wild TXT \"wildcard\"\n"
    "exact.wild A 192.0.2.11\n"
    "*.wc CNAME www\n"
    "MiXeD A 192.0.2.12\n";

static void test_answers(void **state)
{
	struct dns_zone *z = load_ok(zone_answers);
	struct arena *a = arena_new();
	struct dns_answer ans;

	(void)state;
	ans = answer(z, a, "www.example.com", DNS_T_A);
	assert_int_equal(ans.status, DNS_OK);
	assert_int_equal(ans.sec, DNS_SEC_INSECURE);
	assert_string_equal(ans.qname, "www.example.com");
	assert_string_equal(ans.canonname, "www.example.com");

	/* NXDOMAIN vs NODATA vs empty non-terminal */
	assert_int_equal(answer(z, a, "nope.example.com", DNS_T_A).status, DNS_NXDOMAIN);
	assert_int_equal(answer(z, a, "www.example.com", DNS_T_MX).status, DNS_NODATA);
	assert_int_equal(answer(z, a, "b.c.example.com", DNS_T_A).status, DNS_NODATA);
	assert_int_equal(answer(z, a, "c.example.com", DNS_T_TXT).status, DNS_NODATA);
	assert_int_equal(answer(z, a, "example.com", DNS_T_A).status, DNS_NODATA);
	assert_int_equal(answer(z, a, "x.b.c.example.com", DNS_T_A).status, DNS_NXDOMAIN);
	assert_int_equal(answer(z, a, "com", DNS_T_A).status, DNS_NXDOMAIN);

	/* CNAME chains: followed, reported in canonname; the CNAME itself on request */
	ans = answer(z, a, "c1.example.com", DNS_T_A);
	assert_int_equal(ans.status, DNS_OK);
	assert_string_equal(ans.canonname, "c3.example.com");
	assert_memory_equal(ans.rr[0].u.a, ((uint8_t[]){ 192, 0, 2, 3 }), 4);
	ans = answer(z, a, "c1.example.com", DNS_T_CNAME);
	assert_int_equal(ans.status, DNS_OK);
	assert_string_equal(ans.rr[0].u.name, "c2.example.com");
	ans = answer(z, a, "c1.example.com", DNS_T_MX);
	assert_int_equal(ans.status, DNS_NODATA);
	assert_string_equal(ans.canonname, "c3.example.com");
	ans = answer(z, a, "dangling.example.com", DNS_T_A);
	assert_int_equal(ans.status, DNS_NXDOMAIN);
	assert_string_equal(ans.canonname, "nowhere.example.com");

	/* eight links are fine, nine are not; loops are SERVFAIL */
	ans = answer(z, a, "l1.example.com", DNS_T_A);
	assert_int_equal(ans.status, DNS_OK);
	assert_string_equal(ans.canonname, "l9.example.com");
	ans = answer(z, a, "l0.example.com", DNS_T_A);
	assert_int_equal(ans.status, DNS_SERVFAIL);
	assert_non_null(ans.why);
	ans = answer(z, a, "loop1.example.com", DNS_T_A);
	assert_int_equal(ans.status, DNS_SERVFAIL);
	assert_string_equal(ans.why, "CNAME loop");
	assert_int_equal(answer(z, a, "self.example.com", DNS_T_TXT).status, DNS_SERVFAIL);

	/* wildcards (RFC 4592) */
	ans = answer(z, a, "anything.wild.example.com", DNS_T_A);
	assert_int_equal(ans.status, DNS_OK);
	assert_string_equal(ans.qname, "anything.wild.example.com");
	assert_memory_equal(ans.rr[0].u.a, ((uint8_t[]){ 192, 0, 2, 10 }), 4);
	assert_int_equal(answer(z, a, "x.y.wild.example.com", DNS_T_A).status, DNS_OK);
	assert_int_equal(answer(z, a, "anything.wild.example.com", DNS_T_MX).status, DNS_NODATA);
	ans = answer(z, a, "exact.wild.example.com", DNS_T_A);
	assert_memory_equal(ans.rr[0].u.a, ((uint8_t[]){ 192, 0, 2, 11 }), 4);
	/* an existing name blocks the wildcard, below it too */
	assert_int_equal(answer(z, a, "exact.wild.example.com", DNS_T_TXT).status, DNS_NODATA);
	assert_int_equal(answer(z, a, "x.exact.wild.example.com", DNS_T_A).status, DNS_NXDOMAIN);
	assert_int_equal(answer(z, a, "wild.example.com", DNS_T_A).status, DNS_NODATA);
	ans = answer(z, a, "foo.wc.example.com", DNS_T_A);
	assert_int_equal(ans.status, DNS_OK);
	assert_string_equal(ans.canonname, "www.example.com");

	/* case and the trailing dot do not matter; answers are lower-case */
	ans = answer(z, a, "WWW.Example.COM.", DNS_T_A);
	assert_int_equal(ans.status, DNS_OK);
	assert_string_equal(ans.qname, "www.example.com");
	assert_int_equal(answer(z, a, "mixed.example.com", DNS_T_A).status, DNS_OK);
	assert_int_equal(answer(z, a, "MIXED.EXAMPLE.COM", DNS_T_A).status, DNS_OK);

	/* names that cannot be queried */
	assert_int_equal(answer(z, a, "a..example.com", DNS_T_A).status, DNS_BADNAME);
	assert_int_equal(answer(z, a, ".", DNS_T_A).status, DNS_BADNAME);
	assert_int_equal(answer(z, a, "", DNS_T_A).status, DNS_BADNAME);

	arena_free(a);
	dns_zone_free(z);
}

static void test_timeouts(void **state)
{
	struct dns_zone *z = load_ok(zone_answers);
	struct arena *a = arena_new();
	struct dns_answer ans;

	(void)state;
	assert_int_equal(dns_zone_add_timeout(z, "Slow.Example.com.", 0), 0);
	assert_int_equal(dns_zone_add_timeout(z, "www.example.com", DNS_T_MX), 0);
	assert_int_equal(dns_zone_add_timeout(z, "c3.example.com", DNS_T_A), 0);
	assert_int_equal(dns_zone_add_timeout(z, "a..b", 0), -1);

	assert_int_equal(dns_zone_answer(z, a, "slow.example.com", DNS_T_A, &ans), -1);
	assert_int_equal(dns_zone_answer(z, a, "SLOW.example.com", DNS_T_TXT, &ans), -1);
	assert_int_equal(dns_zone_answer(z, a, "www.example.com", DNS_T_MX, &ans), -1);
	assert_int_equal(dns_zone_answer(z, a, "www.example.com", DNS_T_A, &ans), 0);
	assert_int_equal(ans.status, DNS_OK);
	/* through a CNAME chain too */
	assert_int_equal(dns_zone_answer(z, a, "c1.example.com", DNS_T_A, &ans), -1);
	assert_int_equal(dns_zone_answer(z, a, "c1.example.com", DNS_T_TXT, &ans), 0);
	assert_int_equal(ans.status, DNS_NODATA);

	/* SERVFAIL marks answer at once with that status; other statuses are refused */
	assert_int_equal(dns_zone_add_failure(z, "broken.example.com", DNS_T_TXT, DNS_SERVFAIL), 0);
	assert_int_equal(dns_zone_add_failure(z, "x.example.com", 0, DNS_NXDOMAIN), -1);
	assert_int_equal(dns_zone_answer(z, a, "broken.example.com", DNS_T_TXT, &ans), 0);
	assert_int_equal(ans.status, DNS_SERVFAIL);
	assert_int_equal(dns_zone_answer(z, a, "broken.example.com", DNS_T_A, &ans), 0);
	assert_int_not_equal(ans.status, DNS_SERVFAIL);
	arena_free(a);
	dns_zone_free(z);
}

static void test_add_api(void **state)
{
	struct dns_zone *z = dns_zone_new();
	struct arena *a = arena_new();
	struct dns_answer ans;
	struct dns_rr rr;
	const char *strings[] = { "v=spf1 ", "a -all" };
	char mx[] = "MX.Example.COM.";

	(void)state;
	memset(&rr, 0, sizeof(rr));
	rr.type = DNS_T_MX;
	rr.ttl = 60;
	rr.u.mx.preference = 5;
	rr.u.mx.host = mx;
	assert_int_equal(dns_zone_add(z, "Example.COM", &rr), 0);
	mx[0] = 'X'; /* the zone keeps its own copy */
	assert_int_equal(dns_zone_add_txt(z, "example.com.", strings, 2), 0);
	memset(&rr, 0, sizeof(rr));
	rr.type = DNS_T_CNAME;
	rr.u.name = "example.com";
	assert_int_equal(dns_zone_add(z, "example.com", &rr), -1); /* CNAME and other data */
	assert_int_equal(dns_zone_add(z, "a..b", &rr), -1);

	ans = answer(z, a, "example.com", DNS_T_MX);
	assert_int_equal(ans.status, DNS_OK);
	assert_string_equal(ans.rr[0].u.mx.host, "mx.example.com");
	ans = answer(z, a, "example.com", DNS_T_TXT);
	assert_int_equal(ans.rr[0].u.txt.nstrings, 2);
	assert_string_equal(ans.rr[0].u.txt.data, "v=spf1 a -all");
	arena_free(a);
	dns_zone_free(z);
	assert_null(dns_zone_free(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_features),     cmocka_unit_test(test_load_ttl_rules),
		cmocka_unit_test(test_load_origin_arg),   cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_nul_and_file), cmocka_unit_test(test_load_limits),
		cmocka_unit_test(test_answers),           cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_add_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
