/* Unit tests for core/net: parsing, mapped addresses, prefix matching,
 * reverse names and HOST:PORT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "core/net.h"

static void test_parse_format(void **state)
{
	struct net_addr a;
	char out[NET_ADDR_STRLEN];

	(void)state;
	assert_int_equal(net_addr_parse("192.0.2.1", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(net_addr_format(&a, out, sizeof(out)), "192.0.2.1");
	assert_int_equal(net_addr_parse("2001:DB8:0:0::1", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(net_addr_format(&a, out, sizeof(out)), "2001:db8::1");
	assert_int_equal(net_addr_parse("::ffff:1.2.3.4", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(net_addr_format(&a, out, sizeof(out)), "1.2.3.4");
	assert_int_equal(net_addr_parse("1.2.3", &a), -1);
	assert_int_equal(net_addr_parse("01.2.3.4", &a), -1);
	assert_int_equal(net_addr_parse("", &a), -1);
	assert_int_equal(net_addr_parse("[::1]", &a), -1);
}

static void test_match(void **state)
{
	struct net_addr a, b;

	(void)state;
	net_addr_parse("192.0.2.130", &a);
	net_addr_parse("192.0.2.1", &b);
	assert_true(net_addr_match(&a, &b, 24));
	assert_false(net_addr_match(&a, &b, 25));
	assert_true(net_addr_match(&a, &b, 0));
	assert_true(net_addr_match(&a, &a, 32));
	assert_true(net_addr_match(&a, &a, 200)); /* clamped */
	net_addr_parse("2001:db8::1", &b);
	assert_false(net_addr_match(&a, &b, 0)); /* families differ */
	net_addr_parse("2001:db8:ffff::1", &a);
	assert_true(net_addr_match(&a, &b, 32));
	assert_false(net_addr_match(&a, &b, 33));
}

static void test_reverse(void **state)
{
	struct net_addr a;
	char out[128];

	(void)state;
	net_addr_parse("192.0.2.1", &a);
	assert_string_equal(net_addr_reverse(&a, "in-addr.arpa", out, sizeof(out)),
	                    "1.2.0.192.in-addr.arpa");
	assert_string_equal(net_addr_reverse(&a, NULL, out, sizeof(out)), "1.2.0.192");
	net_addr_parse("2001:db8::cb01", &a);
	assert_string_equal(
	    net_addr_reverse(&a, "ip6.arpa", out, sizeof(out)),
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

static void test_hostport(void **state)
{
	char host[64];
	unsigned port;

	(void)state;
	assert_int_equal(net_hostport_parse("127.0.0.1:5353", 53, host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 5353);
	assert_int_equal(net_hostport_parse("127.0.0.1", 53, host, sizeof(host), &port), 0);
	assert_int_equal(port, 53);
	assert_int_equal(net_hostport_parse("[::1]:5300", 53, host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 5300);
	assert_int_equal(net_hostport_parse("::1", 53, host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(net_hostport_parse("h:0", 53, host, sizeof(host), &port), -1);
	assert_int_equal(net_hostport_parse("h:65536", 53, host, sizeof(host), &port), -1);
	assert_int_equal(net_hostport_parse(":53", 53, host, sizeof(host), &port), -1);
	assert_int_equal(net_hostport_parse("[::1", 53, host, sizeof(host), &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_reverse),
		cmocka_unit_test(test_hostport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
