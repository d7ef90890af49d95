/* Unit tests for filter/connection: the decision order (allow, safe,
 * block), the exact replies, per-IP limits through the in-memory counter
 * (IPv6 counted per /64, rate windows, eviction), and building from a
 * configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "filter/connection.h"

static const char allow_text[] = "192.0.2.0/24 office\n"
                                 "198.51.100.77 partner-in-blocked-range\n"
                                 "2001:db8:a::/48 v6-office\n";
static const char block_text[] = "198.51.100.0/24 bad range\n"
                                 "192.0.2.9 also-allowed\n"
                                 "203.0.113.0/24\n"
                                 "2001:db8:b::/48 v6-bad\n";
static const char safe_text[] = "203.0.113.50 trusted-relay\n";

struct case_row {
	const char *ip;
	bool safe_on;
	enum conn_verdict verdict;
	enum conn_reason reason;
	const char *label;
	const char *reply;
};

static const struct case_row rows[] = {
	{ "192.0.2.1", false, CONN_ALLOW, CONN_R_ALLOW_LIST, "office", "" },
	/* on both lists: allow wins (EOP's connection filter rule) */
	{ "192.0.2.9", false, CONN_ALLOW, CONN_R_ALLOW_LIST, "office", "" },
	{ "198.51.100.77", false, CONN_ALLOW, CONN_R_ALLOW_LIST, "partner-in-blocked-range", "" },
	{ "198.51.100.78", false, CONN_BLOCK, CONN_R_BLOCK_LIST, "bad range",
	  "550 5.7.1 Service unavailable; Client host [198.51.100.78] blocked using Customer "
	  "Block list" },
	{ "203.0.113.50", false, CONN_BLOCK, CONN_R_BLOCK_LIST, NULL,
	  "550 5.7.1 Service unavailable; Client host [203.0.113.50] blocked using Customer "
	  "Block list" },
	/* the safe list, when enabled, beats the block list too */
	{ "203.0.113.50", true, CONN_ALLOW, CONN_R_SAFE_LIST, "trusted-relay", "" },
	{ "203.0.113.51", true, CONN_BLOCK, CONN_R_BLOCK_LIST, NULL, NULL },
	{ "2001:db8:a::1", false, CONN_ALLOW, CONN_R_ALLOW_LIST, "v6-office", "" },
	{ "2001:db8:b::1", false, CONN_BLOCK, CONN_R_BLOCK_LIST, "v6-bad",
	  "550 5.7.1 Service unavailable; Client host [2001:db8:b::1] blocked using Customer "
	  "Block list" },
	{ "::ffff:198.51.100.1", false, CONN_BLOCK, CONN_R_BLOCK_LIST, "bad range", NULL },
	{ "8.8.8.8", false, CONN_CONTINUE, CONN_R_NONE, NULL, "" },
	{ "2001:db8:c::1", true, CONN_CONTINUE, CONN_R_NONE, NULL, "" },
};

static struct conn_filter *make_filter(void)
{
	struct conn_filter *f = conn_filter_new();

	assert_non_null(f);
	assert_int_equal(iplist_load_text(conn_filter_allow(f), "allow", allow_text,
	                                  strlen(allow_text), NULL, NULL, NULL),
	                 0);
	assert_int_equal(iplist_load_text(conn_filter_block(f), "block", block_text,
	                                  strlen(block_text), NULL, NULL, NULL),
	                 0);
	assert_int_equal(iplist_load_text(conn_filter_safe(f), "safe", safe_text, strlen(safe_text),
	                                  NULL, NULL, NULL),
	                 0);
	assert_int_equal(conn_filter_build(f), 0);
	return f;
}

static void test_decisions(void **state)
{
	struct conn_filter *f = make_filter();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct case_row *c = &rows[i];
		struct net_addr ip;
		struct conn_result r;
		assert_int_equal(net_addr_parse(c->ip, &ip), 0);
		conn_filter_set_safe_list(f, c->safe_on);
		conn_filter_check(f, &ip, 1000, &r);
		if (r.verdict != c->verdict || r.reason != c->reason)
			fail_msg("%s: %s/%s, want %s/%s", c->ip, conn_verdict_name(r.verdict),
			         conn_reason_name(r.reason), conn_verdict_name(c->verdict),
			         conn_reason_name(c->reason));
		if (c->label != NULL) {
			assert_non_null(r.entry);
			assert_string_equal(r.entry->label, c->label);
		}
		if (c->reply != NULL)
			assert_string_equal(r.reply, c->reply);
		assert_int_equal(r.scl, c->verdict == CONN_ALLOW ? -1 : 0);
		if (c->verdict == CONN_ALLOW)
			assert_string_equal(r.ipv, "CAL");
		else
			assert_null(r.ipv);
		assert_false(r.counted);
	}
	conn_filter_free(f);
}

static void test_concurrency_limit(void **state)
{
	struct conn_filter *f = make_filter();
	struct conn_tracker *t = conn_tracker_new(100);
	struct conn_counter c = conn_tracker_counter(t);
	struct conn_result r[4];
	struct net_addr ip, ip2, allowed;
	int i;

	(void)state;
	conn_filter_set_limits(f, 2, 0, &c);
	net_addr_parse("8.8.8.8", &ip);
	net_addr_parse("8.8.4.4", &ip2);
	net_addr_parse("192.0.2.5", &allowed);
	for (i = 0; i < 3; i++)
		conn_filter_check(f, &ip, 1000, &r[i]);
	assert_int_equal(r[0].verdict, CONN_CONTINUE);
	assert_int_equal(r[1].verdict, CONN_CONTINUE);
	assert_int_equal(r[2].verdict, CONN_TEMPFAIL);
	assert_int_equal(r[2].reason, CONN_R_CONCURRENCY);
	assert_int_equal(r[2].concurrent, 3);
	assert_string_equal(r[2].reply,
	                    "421 4.7.0 Too many connections from [8.8.8.8], try again later");
	/* another address is counted apart */
	conn_filter_check(f, &ip2, 1000, &r[3]);
	assert_int_equal(r[3].verdict, CONN_CONTINUE);
	assert_int_equal(r[3].concurrent, 1);
	/* closing frees a place (the refused one closes too) */
	conn_filter_closed(f, &ip, &r[2]);
	conn_filter_closed(f, &ip, &r[0]);
	conn_filter_check(f, &ip, 1000, &r[0]);
	assert_int_equal(r[0].verdict, CONN_CONTINUE);
	assert_int_equal(r[0].concurrent, 2);
	/* the allow list is exempt and not counted */
	for (i = 0; i < 5; i++) {
		conn_filter_check(f, &allowed, 1000, &r[3]);
		assert_int_equal(r[3].verdict, CONN_ALLOW);
		assert_false(r[3].counted);
	}
	conn_filter_free(f);
	conn_tracker_free(t);
}

static void test_rate_limit_and_v6_prefix(void **state)
{
	struct conn_filter *f = make_filter();
	struct conn_tracker *t = conn_tracker_new(100);
	struct conn_counter c = conn_tracker_counter(t);
	struct conn_result r;
	struct net_addr a, b;
	int i;

	(void)state;
	conn_filter_set_limits(f, 0, 3, &c);
	net_addr_parse("2001:db8:ff::1", &a);
	net_addr_parse("2001:db8:ff::2:3", &b); /* same /64 */
	for (i = 0; i < 3; i++) {
		conn_filter_check(f, i % 2 ? &a : &b, 10000 + (uint64_t)i, &r);
		assert_int_equal(r.verdict, CONN_CONTINUE);
		conn_filter_closed(f, &a, &r);
	}
	conn_filter_check(f, &b, 10100, &r);
	assert_int_equal(r.verdict, CONN_TEMPFAIL);
	assert_int_equal(r.reason, CONN_R_RATE);
	assert_int_equal(r.per_minute, 4);
	conn_filter_closed(f, &b, &r);
	/* a new minute starts over */
	conn_filter_check(f, &b, 10000 + 60000, &r);
	assert_int_equal(r.verdict, CONN_CONTINUE);
	assert_int_equal(r.per_minute, 1);
	conn_filter_free(f);
	conn_tracker_free(t);
}

/* a full table forgets idle addresses and fails open when all are busy */
static void test_tracker_full(void **state)
{
	struct conn_tracker *t = conn_tracker_new(1); /* 64 slots */
	struct conn_counter c = conn_tracker_counter(t);
	struct conn_counts n;
	struct net_addr k;
	int i, failed = 0;

	(void)state;
	memset(&k, 0, sizeof(k));
	k.family = 2; /* AF_INET */
	for (i = 0; i < 1000; i++) {
		k.bytes[2] = (uint8_t)(i >> 8);
		k.bytes[3] = (uint8_t)i;
		if (c.ops->opened(c.ctx, &k, (uint64_t)i, &n) < 0)
			failed++;
		else
			assert_int_equal(n.concurrent, 1);
	}
	assert_true(failed > 0);
	/* once closed, they can be replaced */
	for (i = 0; i < 1000; i++) {
		k.bytes[2] = (uint8_t)(i >> 8);
		k.bytes[3] = (uint8_t)i;
		c.ops->closed(c.ctx, &k);
	}
	k.bytes[2] = 0xee;
	assert_int_equal(c.ops->opened(c.ctx, &k, 5000, &n), 0);
	conn_tracker_free(t);
}

static void test_from_config(void **state)
{
	static const char yaml[] = "connection_filter:\n"
	                           "  ip_allow: [\"192.0.2.0/24 office\", \"2001:db8::/32\"]\n"
	                           "  ip_block: [\"192.0.2.0/16 wide\", \"198.51.100.7/24\"]\n"
	                           "  max_connections_per_ip: 5\n";
	struct config_diag diag;
	struct smexop_config *cfg = config_load_mem("t.yaml", yaml, strlen(yaml), &diag);
	struct sx_err err = { 0 };
	struct conn_filter *f;
	struct conn_result r;
	struct net_addr ip;

	(void)state;
	assert_non_null(cfg);
	f = conn_filter_from_config(&cfg->connection_filter, NULL, NULL, &err);
	assert_non_null(f);
	net_addr_parse("192.0.2.1", &ip);
	conn_filter_check(f, &ip, 0, &r);
	assert_int_equal(r.verdict, CONN_ALLOW);
	net_addr_parse("192.0.3.1", &ip);
	conn_filter_check(f, &ip, 0, &r);
	assert_int_equal(r.verdict, CONN_BLOCK);
	assert_string_equal(r.entry->label, "wide");
	net_addr_parse("198.51.100.200", &ip);
	conn_filter_check(f, &ip, 0, &r);
	assert_int_equal(r.verdict, CONN_BLOCK);
	conn_filter_free(f);
	config_free(cfg);

	/* a missing file is an error naming it */
	cfg = config_load_mem("t.yaml", "connection_filter:\n  ip_block_file: /nonexistent/x\n", 51,
	                      &diag);
	assert_non_null(cfg);
	assert_null(conn_filter_from_config(&cfg->connection_filter, NULL, NULL, &err));
	assert_non_null(strstr(err.msg, "cannot read"));
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_concurrency_limit),
		cmocka_unit_test(test_rate_limit_and_v6_prefix),
		cmocka_unit_test(test_tracker_full),
		cmocka_unit_test(test_from_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
