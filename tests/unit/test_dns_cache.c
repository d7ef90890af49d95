/* Unit tests for core/dns_cache and the cache in front of a backend in
 * core/dns: expiry and TTL countdown on an injected clock, the TTL cap and
 * floor, negative caching, failures never cached, eviction bounds in
 * entries and bytes (least recently used first), entries that outlive
 * their eviction while an answer is being delivered, and through a fake
 * backend: hits delivered from the loop, not inside dns_lookup(), cancel
 * and dns_free with hits pending, cache_off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "core/dns.h"
#include "core/dns_impl.h"

static uint64_t now_ms;

static uint64_t test_clock(void *arg)
{
	(void)arg;
	return now_ms;
}

static struct dns_cache *cache_with(size_t entries, size_t bytes)
{
	struct dns_cache_opts o = { .max_entries = entries,
		                    .max_bytes = bytes,
		                    .clock = test_clock };

	return dns_cache_new(&o);
}

/* answer_a - a DNS_OK answer with one A record (static storage) */
static struct dns_answer *answer_a(const char *name, uint8_t last, uint32_t ttl)
{
	static struct dns_rr rr;
	static struct dns_answer ans;

	memset(&rr, 0, sizeof(rr));
	rr.type = DNS_T_A;
	rr.ttl = ttl;
	rr.u.a[0] = 192;
	rr.u.a[3] = last;
	memset(&ans, 0, sizeof(ans));
	ans.status = DNS_OK;
	ans.qname = name;
	ans.canonname = name;
	ans.count = 1;
	ans.rr = &rr;
	return &ans;
}

static void test_put_get_expire(void **state)
{
	struct dns_cache *c = cache_with(0, 0);
	struct dns_cache_entry *e;
	const struct dns_answer *a;

	(void)state;
	now_ms = 1000;
	assert_int_equal(
	    dns_cache_put(c, "mx.example.com", DNS_T_A, answer_a("mx.example.com", 1, 60), 60), 0);
	assert_null(dns_cache_get(c, "mx.example.com", DNS_T_AAAA));
	assert_null(dns_cache_get(c, "other.example.com", DNS_T_A));
	e = dns_cache_get(c, "mx.example.com", DNS_T_A);
	assert_non_null(e);
	a = dns_cache_entry_answer(e);
	assert_int_equal(a->status, DNS_OK);
	assert_int_equal(a->count, 1);
	assert_int_equal(a->rr[0].u.a[3], 1);
	assert_int_equal(a->rr[0].ttl, 60);
	assert_string_equal(a->qname, "mx.example.com");
	dns_cache_entry_unref(e);

	now_ms += 20500; /* the TTL counts down, rounded up */
	e = dns_cache_get(c, "mx.example.com", DNS_T_A);
	assert_non_null(e);
	assert_int_equal(dns_cache_entry_answer(e)->rr[0].ttl, 40);
	dns_cache_entry_unref(e);

	now_ms = 1000 + 60000; /* expired exactly at the TTL */
	assert_null(dns_cache_get(c, "mx.example.com", DNS_T_A));
	struct dns_cache_stats st;
	dns_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.hits, 2);
	dns_cache_free(c);
}

static void test_what_is_cached(void **state)
{
	struct dns_cache *c;
	struct dns_cache_opts o = { .max_ttl = 100, .neg_ttl = 30, .clock = test_clock };
	struct dns_answer neg = { 0 };
	struct dns_cache_entry *e;
	static const struct {
		enum dns_status status;
		enum dns_sec sec;
		uint32_t ttl;
		int stored;
		uint32_t kept; /* seconds it stays */
	} cases[] = {
		{ DNS_OK, DNS_SEC_INSECURE, 0, -1, 0 },   /* TTL 0: not kept */
		{ DNS_OK, DNS_SEC_SECURE, 5000, 0, 100 }, /* capped by max_ttl */
		{ DNS_NXDOMAIN, DNS_SEC_INSECURE, 10, 0, 10 },
		{ DNS_NXDOMAIN, DNS_SEC_INSECURE, UINT32_MAX, 0, 30 }, /* no SOA: the cap */
		{ DNS_NODATA, DNS_SEC_INSECURE, 3600, 0, 30 },
		{ DNS_SERVFAIL, DNS_SEC_INSECURE, 300, -1, 0 },
		{ DNS_SERVFAIL, DNS_SEC_BOGUS, 300, -1, 0 },
		{ DNS_TIMEOUT, DNS_SEC_INSECURE, 300, -1, 0 },
		{ DNS_BADNAME, DNS_SEC_INSECURE, 300, -1, 0 },
		{ DNS_NOMEM, DNS_SEC_INSECURE, 300, -1, 0 },
	};

	(void)state;
	c = dns_cache_new(&o);
	assert_non_null(c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_answer *a =
		    cases[i].status == DNS_OK ? answer_a("n.example", 1, 1) : &neg;
		now_ms = 0;
		a->status = cases[i].status;
		a->sec = cases[i].sec;
		a->qname = a->canonname = "n.example";
		assert_int_equal(dns_cache_put(c, "n.example", DNS_T_A, a, cases[i].ttl),
		                 cases[i].stored);
		e = dns_cache_get(c, "n.example", DNS_T_A);
		if (cases[i].stored < 0) {
			assert_null(e);
			continue;
		}
		assert_non_null(e);
		assert_int_equal(dns_cache_entry_answer(e)->status, cases[i].status);
		assert_int_equal(dns_cache_entry_answer(e)->sec, cases[i].sec);
		dns_cache_entry_unref(e);
		now_ms = (uint64_t)cases[i].kept * 1000 - 1;
		e = dns_cache_get(c, "n.example", DNS_T_A);
		assert_non_null(e);
		dns_cache_entry_unref(e);
		now_ms++;
		assert_null(dns_cache_get(c, "n.example", DNS_T_A));
	}
	dns_cache_free(c);
}

static void test_eviction(void **state)
{
	struct dns_cache *c = cache_with(3, 0);
	struct dns_cache_entry *e;
	struct dns_cache_stats st;
	char name[32];
	size_t one;

	(void)state;
	now_ms = 0;
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		assert_int_equal(dns_cache_put(c, name, DNS_T_A, answer_a(name, 1, 60), 60), 0);
	}
	/* touch h0: h1 is now the least recently used */
	e = dns_cache_get(c, "h0.example", DNS_T_A);
	dns_cache_entry_unref(e);
	assert_int_equal(dns_cache_put(c, "h3.example", DNS_T_A, answer_a("h3.example", 1, 60), 60),
	                 0);
	dns_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 1);
	assert_null(dns_cache_get(c, "h1.example", DNS_T_A));
	e = dns_cache_get(c, "h0.example", DNS_T_A);
	assert_non_null(e);
	dns_cache_entry_unref(e);
	one = st.bytes / 3;
	dns_cache_free(c);

	/* bounded in bytes: room for two entries */
	c = cache_with(100, 2 * one + one / 2);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "h%d.example", i);
		assert_int_equal(dns_cache_put(c, name, DNS_T_A, answer_a(name, 1, 60), 60), 0);
		dns_cache_get_stats(c, &st);
		assert_true(st.bytes <= 2 * one + one / 2);
		assert_true(st.entries <= 2);
	}
	e = dns_cache_get(c, "h9.example", DNS_T_A);
	assert_non_null(e);
	dns_cache_entry_unref(e);
	assert_null(dns_cache_get(c, "h7.example", DNS_T_A));
	dns_cache_free(c);

	/* an entry larger than the whole cache is not kept */
	c = cache_with(100, one / 2);
	assert_int_equal(dns_cache_put(c, "h.example", DNS_T_A, answer_a("h.example", 1, 60), 60),
	                 -1);
	dns_cache_free(c);
}

static void test_entry_outlives_eviction(void **state)
{
	struct dns_cache *c = cache_with(1, 0);
	struct dns_cache_entry *e;
	struct dns_rr rr[2];
	struct dns_answer ans = { 0 };
	size_t lens[2] = { 3, 4 };

	(void)state;
	now_ms = 0;
	memset(rr, 0, sizeof(rr));
	rr[0].type = DNS_T_TXT;
	rr[0].ttl = 60;
	rr[0].u.txt.data = (char *)"abcdefg";
	rr[0].u.txt.len = 7;
	rr[0].u.txt.nstrings = 2;
	rr[0].u.txt.string_len = lens;
	rr[1] = rr[0];
	ans.status = DNS_OK;
	ans.qname = "t.example";
	ans.canonname = "target.example";
	ans.count = 2;
	ans.rr = rr;
	assert_int_equal(dns_cache_put(c, "t.example", DNS_T_TXT, &ans, 60), 0);
	e = dns_cache_get(c, "t.example", DNS_T_TXT);
	assert_non_null(e);
	/* evicted by a newer entry, then the cache goes away altogether */
	assert_int_equal(dns_cache_put(c, "u.example", DNS_T_A, answer_a("u.example", 1, 60), 60),
	                 0);
	assert_null(dns_cache_get(c, "t.example", DNS_T_TXT));
	dns_cache_free(c);
	const struct dns_answer *a = dns_cache_entry_answer(e);
	assert_int_equal(a->count, 2);
	assert_string_equal(a->canonname, "target.example");
	assert_memory_equal(a->rr[1].u.txt.data, "abcdefg", 8);
	assert_int_equal(a->rr[1].u.txt.string_len[1], 4);
	assert_true(a->rr[1].u.txt.data != rr[1].u.txt.data); /* a copy */
	dns_cache_entry_unref(e);
}

/* ---- the cache in front of a backend ----------------------------------- */

struct fake {
	unsigned starts;
	enum dns_status status; /* what the backend answers */
	uint32_t ttl;
	uint8_t last; /* the A record's last byte */
};

static struct fake fake;

static int fake_start(struct dns *dns, struct dns_query *q, const char **why)
{
	struct dns_answer ans = { 0 };

	(void)dns;
	(void)why;
	fake.starts++;
	ans.status = fake.status;
	if (fake.status == DNS_OK) {
		/* built in the query's arena, as a backend does */
		struct dns_answer *copy =
		    dns_answer_dup(q->arena, answer_a(q->name, fake.last, fake.ttl));
		assert_non_null(copy);
		ans.rr = copy->rr;
		ans.count = 1;
	}
	q->backend_active = false;
	q->ttl = fake.ttl;
	dns_query_answer(q, &ans);
	return 0;
}

static const struct dns_backend_ops fake_ops = { .name = "fake", .start = fake_start };

struct got {
	int calls;
	bool in_lookup;
	enum dns_status status;
	uint8_t last;
	uint32_t ttl;
	char qname[64];
};

static bool in_lookup;

static void got_cb(const struct dns_answer *ans, void *arg)
{
	struct got *g = arg;

	g->calls++;
	g->in_lookup = in_lookup;
	g->status = ans->status;
	snprintf(g->qname, sizeof(g->qname), "%s", ans->qname);
	if (ans->status == DNS_OK) {
		g->last = ans->rr[0].u.a[3];
		g->ttl = ans->rr[0].ttl;
	}
}

static struct dns_query *lookup(struct dns *dns, const char *name, struct got *g)
{
	struct dns_query *q;

	memset(g, 0, sizeof(*g));
	in_lookup = true;
	q = dns_lookup(dns, name, DNS_T_A, got_cb, g);
	in_lookup = false;
	return q;
}

static struct dns *fake_dns(struct event_base *base, const struct dns_options *opts)
{
	struct dns *dns = dns_create(base, &fake_ops, NULL, 0);

	assert_non_null(dns);
	assert_int_equal(dns_cache_attach(dns, opts), 0);
	return dns;
}

static void test_backend_hits(void **state)
{
	struct event_base *base = event_base_new();
	struct dns_options opts = { .cache_clock = test_clock };
	struct dns *dns;
	struct got g;

	(void)state;
	now_ms = 0;
	memset(&fake, 0, sizeof(fake));
	fake.status = DNS_OK;
	fake.ttl = 60;
	fake.last = 7;
	dns = fake_dns(base, &opts);
	assert_non_null(lookup(dns, "MX.Example.COM.", &g));
	assert_int_equal(g.calls, 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(g.calls, 1);
	assert_int_equal(fake.starts, 1);

	/* the same name in another spelling: a hit, still from the loop */
	fake.last = 8;
	now_ms = 10000;
	assert_non_null(lookup(dns, "mx.example.com", &g));
	assert_int_equal(g.calls, 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(g.calls, 1);
	assert_false(g.in_lookup);
	assert_int_equal(fake.starts, 1);
	assert_int_equal(g.last, 7);
	assert_int_equal(g.ttl, 50);
	assert_string_equal(g.qname, "mx.example.com");

	/* expired: the backend again */
	now_ms = 60000;
	lookup(dns, "mx.example.com", &g);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(fake.starts, 2);
	assert_int_equal(g.last, 8);

	/* SERVFAIL is not kept */
	fake.status = DNS_SERVFAIL;
	lookup(dns, "fail.example.com", &g);
	event_base_loop(base, EVLOOP_NONBLOCK);
	lookup(dns, "fail.example.com", &g);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(fake.starts, 4);
	assert_int_equal(g.status, DNS_SERVFAIL);

	/* NXDOMAIN is, for the negative TTL */
	fake.status = DNS_NXDOMAIN;
	fake.ttl = UINT32_MAX;
	lookup(dns, "nx.example.com", &g);
	event_base_loop(base, EVLOOP_NONBLOCK);
	lookup(dns, "nx.example.com", &g);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(fake.starts, 5);
	assert_int_equal(g.status, DNS_NXDOMAIN);
	now_ms += DNS_CACHE_DEFAULT_NEG_TTL * 1000;
	lookup(dns, "nx.example.com", &g);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(fake.starts, 6);

	struct dns_cache_stats st;
	dns_cache_stats(dns, &st);
	assert_int_equal(st.hits, 2);
	dns_free(dns);
	event_base_free(base);
}

static void test_backend_cancel_free_evict(void **state)
{
	struct event_base *base = event_base_new();
	struct dns_options opts = { .cache_clock = test_clock, .cache_max_entries = 2 };
	struct dns *dns;
	struct dns_query *q;
	struct got g, g2, g3;

	(void)state;
	now_ms = 0;
	memset(&fake, 0, sizeof(fake));
	fake.status = DNS_OK;
	fake.ttl = 60;
	fake.last = 1;
	dns = fake_dns(base, &opts);
	lookup(dns, "a.example", &g);
	event_base_loop(base, EVLOOP_NONBLOCK);

	/* a hit cancelled before delivery: no callback, the reference dropped */
	q = lookup(dns, "a.example", &g);
	dns_cancel(q);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(g.calls, 0);

	/* a hit whose entry is evicted before the callback runs */
	fake.last = 2;
	lookup(dns, "a.example", &g);
	lookup(dns, "b.example", &g2);
	lookup(dns, "c.example", &g3); /* a.example leaves the cache */
	assert_int_equal(fake.starts, 3);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.last, 1);
	assert_int_equal(g3.last, 2);
	lookup(dns, "a.example", &g);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(fake.starts, 4);

	/* dns_free with a hit pending: no callback, nothing leaks */
	lookup(dns, "a.example", &g);
	assert_int_equal(fake.starts, 4);
	dns_free(dns);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(g.calls, 0);
	event_base_free(base);
}

static void test_cache_off(void **state)
{
	struct event_base *base = event_base_new();
	struct dns_options opts = { .cache_off = true };
	struct dns *dns;
	struct got g;

	(void)state;
	memset(&fake, 0, sizeof(fake));
	fake.status = DNS_OK;
	fake.ttl = 60;
	dns = fake_dns(base, &opts);
	lookup(dns, "a.example", &g);
	event_base_loop(base, EVLOOP_NONBLOCK);
	lookup(dns, "a.example", &g);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(fake.starts, 2);
	assert_int_equal(g.calls, 1);
	dns_free(dns);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_expire),
		cmocka_unit_test(test_what_is_cached),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_entry_outlives_eviction),
		cmocka_unit_test(test_backend_hits),
		cmocka_unit_test(test_backend_cancel_free_evict),
		cmocka_unit_test(test_cache_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
