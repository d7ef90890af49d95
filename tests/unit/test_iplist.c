/* Unit tests for filter/iplist: longest-match lookups from a case table,
 * the file syntax and its errors and warnings, the edges of the address
 * space, and the built lookup against the linear scan on random sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "filter/iplist.h"

static const char list_text[] = "# test list\n"
                                "\n"
                                "192.0.2.0/24 office\n"
                                "192.0.2.128/25 office-upper\n"
                                "192.0.2.7 printer   # the label is the words before #\n"
                                "198.51.100.0/22 # partner\n"
                                "203.0.113.5\n"
                                "10.0.0.0/8\tlan\r\n"
                                "0.0.0.0/0 anything-v4\n"
                                "2001:db8::/32 doc-v6\n"
                                "2001:db8:1::/48 site1\n"
                                "2001:db8:1::25 mx\n"
                                "::ffff:100.64.0.0/106 cgnat via mapped\n"
                                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff top\n";

struct lookup_case {
	const char *ip;
	const char *label; /* NULL: no label; "-" : no match */
	const char *entry;
};

static const struct lookup_case lookups[] = {
	{ "192.0.2.1", "office", "192.0.2.0/24" },
	{ "192.0.2.0", "office", "192.0.2.0/24" },
	{ "192.0.2.127", "office", "192.0.2.0/24" },
	{ "192.0.2.128", "office-upper", "192.0.2.128/25" },
	{ "192.0.2.255", "office-upper", "192.0.2.128/25" },
	{ "192.0.2.7", "printer", "192.0.2.7/32" },
	{ "192.0.2.8", "office", "192.0.2.0/24" },
	{ "192.0.2.6", "office", "192.0.2.0/24" },
	{ "198.51.100.0", "partner", "198.51.100.0/22" },
	{ "198.51.103.255", "partner", "198.51.100.0/22" },
	{ "198.51.104.0", "anything-v4", "0.0.0.0/0" },
	{ "203.0.113.5", NULL, "203.0.113.5/32" },
	{ "203.0.113.4", "anything-v4", "0.0.0.0/0" },
	{ "10.255.255.255", "lan", "10.0.0.0/8" },
	{ "0.0.0.0", "anything-v4", "0.0.0.0/0" },
	{ "255.255.255.255", "anything-v4", "0.0.0.0/0" },
	{ "100.64.1.1", "cgnat via mapped", "100.64.0.0/10" },
	{ "::ffff:100.64.1.1", "cgnat via mapped", "100.64.0.0/10" },
	{ "2001:db8::1", "doc-v6", "2001:db8::/32" },
	{ "2001:db8:1::1", "site1", "2001:db8:1::/48" },
	{ "2001:db8:1::25", "mx", "2001:db8:1::25/128" },
	{ "2001:db8:1::26", "site1", "2001:db8:1::/48" },
	{ "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "site1", "2001:db8:1::/48" },
	{ "2001:db8:2::", "doc-v6", "2001:db8::/32" },
	{ "2001:db9::", "-", NULL },
	{ "::", "-", NULL },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "top", NULL },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "-", NULL },
};

static void check_lookups(const struct iplist *l)
{
	size_t i;

	for (i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		const struct lookup_case *c = &lookups[i];
		struct net_addr a;
		const struct iplist_entry *e;
		char buf[80];
		assert_int_equal(net_addr_parse(c->ip, &a), 0);
		e = iplist_lookup(l, &a);
		if (c->label != NULL && strcmp(c->label, "-") == 0) {
			if (e != NULL)
				fail_msg("%s: matched %s", c->ip,
				         iplist_entry_format(e, buf, sizeof(buf)));
			continue;
		}
		if (e == NULL)
			fail_msg("%s: no match", c->ip);
		if (c->label == NULL)
			assert_null(e->label);
		else if (e->label == NULL || strcmp(e->label, c->label) != 0)
			fail_msg("%s: label '%s', want '%s'", c->ip, e->label ? e->label : "(none)",
			         c->label);
		if (c->entry != NULL)
			assert_string_equal(iplist_entry_format(e, buf, sizeof(buf)), c->entry);
	}
}

static unsigned warnings;

static void count_warn(void *arg, const struct sx_err *w)
{
	(void)arg;
	(void)w;
	warnings++;
}

static void test_lookup_table(void **state)
{
	struct iplist *l = iplist_new();
	struct sx_err err = { 0 };

	(void)state;
	warnings = 0;
	assert_int_equal(
	    iplist_load_text(l, "t", list_text, strlen(list_text), count_warn, NULL, &err), 0);
	assert_int_equal(warnings, 0);
	assert_int_equal(iplist_count(l), 12);
	assert_true(iplist_memory(l) > 0);
	check_lookups(l);
	iplist_free(l);
}

/* the same answers before building: the linear scan */
static void test_lookup_unbuilt(void **state)
{
	struct iplist *l = iplist_new();
	struct sx_err err = { 0 };
	const char *p = list_text;
	unsigned line = 0;

	(void)state;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		assert_int_equal(
		    iplist_add_line(l, "t", ++line, p, (size_t)(nl - p), count_warn, NULL, &err),
		    0);
		p = nl + 1;
	}
	check_lookups(l);
	assert_int_equal(iplist_build(l), 0);
	check_lookups(l);
	iplist_free(l);
}

struct error_case {
	const char *text;
	const char *err; /* formatted error, NULL: loads */
	unsigned warnings;
};

static const struct error_case errors[] = {
	{ "192.0.2.0/24\n", NULL, 0 },
	{ "192.0.2.1/24\n", NULL, 1 },                   /* host bits: warning */
	{ "2001:db8::1/32 x\n", NULL, 1 },               /* host bits in IPv6 */
	{ "192.0.2.0/24 a\n192.0.2.0/24 b\n", NULL, 1 }, /* repeated */
	{ "  # only a comment\n\n\t\n", NULL, 0 },
	{ "192.0.2.0/33\n", "f:1:11: prefix /33 is longer than 32 bits", 0 },
	{ "2001:db8::/129\n", "f:1:12: bad prefix length '129'", 0 },
	{ "192.0.2.0/\n", "f:1:11: bad prefix length ''", 0 },
	{ "192.0.2.0/-1\n", "f:1:11: bad prefix length '-1'", 0 },
	{ "192.0.2.0/ 24\n", "f:1:11: bad prefix length ''", 0 },
	{ "\n  example.com\n", "f:2:3: not an IPv4 or IPv6 address: 'example.com'", 0 },
	{ "192.0.2\n", "f:1:1: not an IPv4 or IPv6 address: '192.0.2'", 0 },
	{ "/24\n", "f:1:1: not an IPv4 or IPv6 address: ''", 0 },
	{ "::ffff:192.0.2.0/95\n", "f:1:18: prefix /95 is shorter than the IPv4-mapped range (/96)",
	  0 },
	{ "192.0.2.1\n1.2.3.4.5\n", "f:2:1: not an IPv4 or IPv6 address: '1.2.3.4.5'", 0 },
};

static void test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct iplist *l = iplist_new();
		struct sx_err err = { 0 };
		char buf[600];
		int rc;
		warnings = 0;
		rc = iplist_load_text(l, "f", errors[i].text, strlen(errors[i].text), count_warn,
		                      NULL, &err);
		if (errors[i].err == NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, sx_err_format(&err, buf, sizeof(buf)));
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(sx_err_format(&err, buf, sizeof(buf)), errors[i].err);
		}
		if (warnings != errors[i].warnings)
			fail_msg("case %zu: %u warnings, want %u", i, warnings, errors[i].warnings);
		iplist_free(l);
	}
}

static void test_host_bits_cleared(void **state)
{
	struct iplist *l = iplist_new();
	struct net_addr a;
	const struct iplist_entry *e;
	char buf[80];

	(void)state;
	assert_int_equal(iplist_load_text(l, "t", "192.0.2.77/24 x\n", 16, count_warn, NULL, NULL),
	                 0);
	net_addr_parse("192.0.2.200", &a);
	e = iplist_lookup(l, &a);
	assert_non_null(e);
	assert_string_equal(iplist_entry_format(e, buf, sizeof(buf)), "192.0.2.0/24");
	assert_int_equal(e->line, 1);
	/* repeated: the first label is kept */
	assert_int_equal(iplist_load_text(l, "t", "192.0.2.0/24 y\n", 15, count_warn, NULL, NULL),
	                 0);
	e = iplist_lookup(l, &a);
	assert_string_equal(e->label, "x");
	assert_int_equal(iplist_count(l), 1);
	iplist_free(l);
}

static void test_empty_and_null(void **state)
{
	struct iplist *l = iplist_new();
	struct net_addr a;

	(void)state;
	net_addr_parse("192.0.2.1", &a);
	assert_null(iplist_lookup(NULL, &a));
	assert_null(iplist_lookup(l, &a));
	assert_int_equal(iplist_build(l), 0);
	assert_null(iplist_lookup(l, &a));
	assert_int_equal(iplist_count(NULL), 0);
	assert_int_equal(iplist_add(l, &a, 33, NULL), -1);
	assert_int_equal(iplist_add(l, &a, 32, "one"), 0);
	assert_non_null(iplist_lookup(l, &a));
	assert_null(iplist_free(l));
	assert_null(iplist_free(NULL));
}

/* random_addr - random bytes, sometimes near a listed prefix's edges */
static void random_addr(struct net_addr *a, int family)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->family = family;
	for (i = 0; i < (family == AF_INET ? 4 : 16); i++)
		a->bytes[i] = (uint8_t)(rand() & 0xff);
	/* keep the top byte in a small set so that prefixes nest often */
	a->bytes[0] = (uint8_t)(rand() % 3);
	if (family == AF_INET6)
		a->bytes[1] = (uint8_t)(rand() % 2);
}

/* the built lookup agrees with the scan on random nested sets */
static void test_random_against_scan(void **state)
{
	int round, fam;

	(void)state;
	srand(4711);
	for (round = 0; round < 40; round++) {
		for (fam = 0; fam < 2; fam++) {
			int family = fam ? AF_INET6 : AF_INET;
			unsigned bits = fam ? 128 : 32;
			struct iplist *built = iplist_new(), *scan = iplist_new();
			int i, n = 1 + rand() % 200;
			for (i = 0; i < n; i++) {
				struct net_addr a;
				unsigned prefix = (unsigned)rand() % (bits + 1);
				char label[16];
				random_addr(&a, family);
				if (rand() % 4 == 0)
					prefix = (unsigned)rand() % 12; /* wide ones */
				snprintf(label, sizeof(label), "e%d", i);
				assert_int_equal(iplist_add(built, &a, prefix, label), 0);
				assert_int_equal(iplist_add(scan, &a, prefix, label), 0);
			}
			assert_int_equal(iplist_build(built), 0);
			for (i = 0; i < 2000; i++) {
				struct net_addr q;
				const struct iplist_entry *x, *y;
				random_addr(&q, family);
				x = iplist_lookup(built, &q);
				y = iplist_lookup(scan, &q);
				if ((x == NULL) != (y == NULL) ||
				    (x != NULL &&
				     (x->prefix != y->prefix || strcmp(x->label, y->label) != 0))) {
					char b1[80], b2[80];
					fail_msg("round %d: built %s, scan %s", round,
					         x ? iplist_entry_format(x, b1, sizeof(b1)) : "-",
					         y ? iplist_entry_format(y, b2, sizeof(b2)) : "-");
				}
			}
			iplist_free(built);
			iplist_free(scan);
		}
	}
}

static void test_file(void **state)
{
	char path[] = "/tmp/test_iplist_XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct iplist *l = iplist_new();
	struct sx_err err = { 0 };
	char buf[600];

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("192.0.2.0/24 a\n2001:db8::/32 b\n", f);
	fclose(f);
	if (iplist_load_file(l, path, NULL, NULL, &err) != 0)
		fail_msg("%s", sx_err_format(&err, buf, sizeof(buf)));
	assert_int_equal(iplist_count(l), 2);
	unlink(path);
	assert_int_equal(iplist_load_file(l, "/nonexistent/list", NULL, NULL, &err), -1);
	assert_non_null(strstr(sx_err_format(&err, buf, sizeof(buf)), "/nonexistent/list"));
	iplist_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_table),   cmocka_unit_test(test_lookup_unbuilt),
		cmocka_unit_test(test_errors),         cmocka_unit_test(test_host_bits_cleared),
		cmocka_unit_test(test_empty_and_null), cmocka_unit_test(test_random_against_scan),
		cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
