/* Unit tests for filter/dnsbl through an in-memory dns_zone and the async
 * driver: listed and not listed, several zones with weights and a
 * threshold, configured codes and their meanings, ignored codes, the
 * 127.255.255.x error answers, answers outside 127/8, SERVFAIL, timeouts
 * (dns_zone_add_timeout and the overall deadline), IPv6 reverse nibbles,
 * the local block list, the exact reply, and building from config. */
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "core/log.h"
#include "filter/dnsbl.h"

static const char zone_text[] =
    "$ORIGIN test.\n"
    /* 192.0.2.2: listed in sbl (code 2) and in xbl.other */
    "2.2.0.192.sbl.example.test. 300 IN A 127.0.0.2\n"
    "2.2.0.192.other.example.test. 300 IN A 127.0.0.4\n"
    /* 192.0.2.3: PBL code on sbl only */
    "3.2.0.192.sbl.example.test. 300 IN A 127.0.0.10\n"
    /* 192.0.2.4: two codes at once */
    "4.2.0.192.sbl.example.test. 300 IN A 127.0.0.2\n"
    "4.2.0.192.sbl.example.test. 300 IN A 127.0.0.4\n"
    /* 192.0.2.5: error answers (Spamhaus: public resolver, typo) */
    "5.2.0.192.sbl.example.test. 300 IN A 127.255.255.254\n"
    "5.2.0.192.other.example.test. 300 IN A 127.255.255.252\n"
    /* 192.0.2.6: an answer outside 127/8 (NXDOMAIN rewriting) */
    "6.2.0.192.other.example.test. 300 IN A 198.51.100.1\n"
    /* 192.0.2.8: only in other, and a TXT that is not asked */
    "8.2.0.192.other.example.test. 300 IN A 127.0.0.2\n"
    "8.2.0.192.other.example.test. 300 IN TXT \"listed\"\n"
    /* 2001:db8::1 in sbl */
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.sbl.example.test. 300 IN "
    "A 127.0.0.3\n";

struct run {
	bool done;
	const struct dnsbl_outcome *o;
	struct event_base *base;
};

static void on_done(const struct dnsbl_outcome *o, void *arg)
{
	struct run *r = arg;

	r->done = true;
	r->o = o;
	event_base_loopbreak(r->base);
}

struct fixture {
	struct event_base *base;
	struct dns_zone *zone;
	struct dns *dns;
	struct dnsbl_policy *p;
	struct arena *a;
};

static const char *const sbl_codes[] = { "127.0.0.2 SBL", "127.0.0.3 CSS",
	                                 "127.0.0.4-127.0.0.7 XBL" };

static int setup(void **state)
{
	static struct fixture f;
	struct sx_err err = { 0 };

	memset(&f, 0, sizeof(f));
	f.base = event_base_new();
	f.zone = dns_zone_new();
	assert_int_equal(dns_zone_load_text(f.zone, "z", zone_text, strlen(zone_text), NULL, &err),
	                 0);
	assert_int_equal(dns_zone_add_timeout(f.zone, "9.2.0.192.slow.example.test", 0), 0);
	f.dns = dns_new_zone(f.base, f.zone);
	f.p = dnsbl_policy_new();
	assert_int_equal(dnsbl_policy_add_zone(f.p, "sbl.example.test", sbl_codes, 3, 2, &err), 0);
	assert_int_equal(dnsbl_policy_add_zone(f.p, "Other.Example.test.", NULL, 0, 1, &err), 0);
	dnsbl_policy_set_threshold(f.p, 2);
	f.a = arena_new();
	log_setup(LOG_TARGET_STDERR, LOG_LEVEL_ERROR, "test");
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	arena_free(f->a);
	dnsbl_policy_free(f->p);
	dns_free(f->dns);
	dns_zone_free(f->zone);
	event_base_free(f->base);
	return 0;
}

static const struct dnsbl_outcome *check(struct fixture *f, struct dnsbl_policy *p, const char *ip)
{
	static struct run r;
	struct net_addr a;

	memset(&r, 0, sizeof(r));
	r.base = f->base;
	assert_int_equal(net_addr_parse(ip, &a), 0);
	assert_non_null(dnsbl_check_start(f->dns, f->base, f->a, p, &a, on_done, &r));
	assert_false(r.done); /* never before start returns */
	event_base_dispatch(f->base);
	assert_true(r.done);
	return r.o;
}

struct zone_expect {
	enum dnsbl_status st;
	const char *codes;
	const char *meaning;
	const char *problem_part;
};

struct dnsbl_case {
	const char *ip;
	bool blocked;
	unsigned weight;
	size_t nlisted;
	struct zone_expect z[2];
};

static const struct dnsbl_case cases[] = {
	{ "192.0.2.2",
	  true,
	  3,
	  2,
	  { { DNSBL_LISTED, "127.0.0.2", "SBL", NULL },
	    { DNSBL_LISTED, "127.0.0.4", NULL, NULL } } },
	/* a code the zone's list does not count; threshold not reached */
	{ "192.0.2.3",
	  false,
	  0,
	  0,
	  { { DNSBL_NOT_LISTED, NULL, NULL, "127.0.0.10 is not one of the configured codes" },
	    { DNSBL_NOT_LISTED, NULL, NULL, NULL } } },
	{ "192.0.2.4",
	  true,
	  2,
	  1,
	  { { DNSBL_LISTED, "127.0.0.2,127.0.0.4", "SBL,XBL", NULL },
	    { DNSBL_NOT_LISTED, NULL, NULL, NULL } } },
	{ "192.0.2.5",
	  false,
	  0,
	  0,
	  { { DNSBL_ERROR, NULL, NULL, "error answer 127.255.255.254" },
	    { DNSBL_ERROR, NULL, NULL, "error answer 127.255.255.252" } } },
	{ "192.0.2.6",
	  false,
	  0,
	  0,
	  { { DNSBL_NOT_LISTED, NULL, NULL, NULL },
	    { DNSBL_ERROR, NULL, NULL, "error answer 198.51.100.1" } } },
	/* weight 1 is below the threshold 2 */
	{ "192.0.2.8",
	  false,
	  1,
	  1,
	  { { DNSBL_NOT_LISTED, NULL, NULL, NULL }, { DNSBL_LISTED, "127.0.0.2", NULL, NULL } } },
	{ "192.0.2.100",
	  false,
	  0,
	  0,
	  { { DNSBL_NOT_LISTED, NULL, NULL, NULL }, { DNSBL_NOT_LISTED, NULL, NULL, NULL } } },
	{ "2001:db8::1",
	  true,
	  2,
	  1,
	  { { DNSBL_LISTED, "127.0.0.3", "CSS", NULL }, { DNSBL_NOT_LISTED, NULL, NULL, NULL } } },
};

static void check_zone(const char *ip, const struct dnsbl_zone_result *r,
                       const struct zone_expect *x)
{
	if (r->status != x->st)
		fail_msg("%s %s: %s, want %s (%s)", ip, r->zone, dnsbl_status_name(r->status),
		         dnsbl_status_name(x->st), r->problem ? r->problem : "");
	if ((x->codes == NULL) != (r->codes == NULL) ||
	    (x->codes && strcmp(x->codes, r->codes) != 0))
		fail_msg("%s %s: codes %s, want %s", ip, r->zone, r->codes ? r->codes : "-",
		         x->codes ? x->codes : "-");
	if ((x->meaning == NULL) != (r->meaning == NULL) ||
	    (x->meaning && strcmp(x->meaning, r->meaning) != 0))
		fail_msg("%s %s: meaning %s, want %s", ip, r->zone, r->meaning ? r->meaning : "-",
		         x->meaning ? x->meaning : "-");
	if (x->problem_part != NULL &&
	    (r->problem == NULL || strstr(r->problem, x->problem_part) == NULL))
		fail_msg("%s %s: problem '%s', want '%s'", ip, r->zone,
		         r->problem ? r->problem : "-", x->problem_part);
}

static void test_cases(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dnsbl_case *c = &cases[i];
		const struct dnsbl_outcome *o = check(f, f->p, c->ip);
		char reply[100];
		assert_int_equal(o->nzones, 2);
		assert_string_equal(o->zones[1].zone, "other.example.test");
		check_zone(c->ip, &o->zones[0], &c->z[0]);
		check_zone(c->ip, &o->zones[1], &c->z[1]);
		if (o->blocked != c->blocked || o->total_weight != c->weight ||
		    o->nlisted != c->nlisted)
			fail_msg("%s: blocked %d weight %u listed %zu", c->ip, o->blocked,
			         o->total_weight, o->nlisted);
		assert_int_equal(o->threshold, 2);
		assert_null(o->local);
		if (c->blocked) {
			snprintf(reply, sizeof(reply),
			         "550 5.7.606 Access denied, banned sending IP [%s]", c->ip);
			assert_string_equal(o->reply, reply);
		} else {
			assert_null(o->reply);
		}
	}
}

static void test_ipv6_qname(void **state)
{
	struct fixture *f = *state;
	const struct dnsbl_outcome *o = check(f, f->p, "2001:db8::1");

	assert_string_equal(o->zones[0].qname,
	                    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d."
	                    "0.1.0.0.2.sbl.example.test");
	o = check(f, f->p, "::ffff:192.0.2.2"); /* mapped: asked as IPv4 */
	assert_string_equal(o->zones[0].qname, "2.2.0.192.sbl.example.test");
	assert_true(o->blocked);
}

/* a zone that never answers: timeout, not listed; the others still count */
static void test_timeout_zone(void **state)
{
	struct fixture *f = *state;
	struct dnsbl_policy *p = dnsbl_policy_new();
	struct sx_err err = { 0 };
	const struct dnsbl_outcome *o;

	assert_int_equal(dnsbl_policy_add_zone(p, "slow.example.test", NULL, 0, 5, &err), 0);
	assert_int_equal(dnsbl_policy_add_zone(p, "other.example.test", NULL, 0, 1, &err), 0);
	o = check(f, p, "192.0.2.9");
	assert_int_equal(o->zones[0].status, DNSBL_TIMEOUT);
	assert_non_null(o->zones[0].problem);
	assert_int_equal(o->zones[1].status, DNSBL_NOT_LISTED);
	assert_false(o->blocked);
	dnsbl_policy_free(p);
}

/* the local list blocks without asking any zone */
static void test_local_list(void **state)
{
	struct fixture *f = *state;
	const struct dnsbl_outcome *o;
	static const char text[] = "192.0.2.128/25 spam run 2026-11\n";

	assert_int_equal(iplist_load_text(dnsbl_policy_block(f->p), "local", text, strlen(text),
	                                  NULL, NULL, NULL),
	                 0);
	o = check(f, f->p, "192.0.2.200");
	assert_true(o->blocked);
	assert_non_null(o->local);
	assert_string_equal(o->local->label, "spam run 2026-11");
	assert_int_equal(o->zones[0].status, DNSBL_SKIPPED);
	assert_int_equal(o->zones[1].status, DNSBL_SKIPPED);
	assert_string_equal(o->reply, "550 5.7.606 Access denied, banned sending IP [192.0.2.200]");
	o = check(f, f->p, "192.0.2.100");
	assert_false(o->blocked);
	assert_null(o->local);
}

/* the step engine by hand: SERVFAIL, unknown answers, abort */
static void test_engine(void **state)
{
	struct fixture *f = *state;
	struct dnsbl_eval *e;
	struct dnsbl_query *const *list;
	struct net_addr ip;
	struct dns_answer fail = { .status = DNS_SERVFAIL, .why = "REFUSED" };
	const struct dnsbl_outcome *o;

	net_addr_parse("192.0.2.77", &ip);
	e = dnsbl_eval_new(f->a, f->p, &ip);
	assert_non_null(e);
	assert_int_equal(dnsbl_eval_step(e), DNSBL_STEP_NEED_DNS);
	assert_int_equal(dnsbl_eval_queries(e, &list), 2);
	assert_string_equal(list[0]->name, "77.2.0.192.sbl.example.test");
	assert_int_equal(list[0]->type, DNS_T_A);
	assert_int_equal(dnsbl_eval_answer(e, "nope.example", DNS_T_A, &fail), -1);
	assert_int_equal(dnsbl_eval_answer(e, "77.2.0.192.SBL.example.test", DNS_T_A, &fail), 0);
	assert_int_equal(dnsbl_eval_step(e), DNSBL_STEP_NEED_DNS);
	assert_int_equal(dnsbl_eval_queries(e, &list), 1);
	dnsbl_eval_abort(e, "deadline");
	assert_int_equal(dnsbl_eval_step(e), DNSBL_STEP_DONE);
	o = dnsbl_eval_outcome(e);
	assert_int_equal(o->zones[0].status, DNSBL_ERROR);
	assert_non_null(strstr(o->zones[0].problem, "REFUSED"));
	assert_int_equal(o->zones[1].status, DNSBL_TIMEOUT);
	assert_string_equal(o->zones[1].problem, "deadline");
	assert_false(o->blocked);

	/* no zones at all: done at once */
	{
		struct dnsbl_policy *p = dnsbl_policy_new();
		e = dnsbl_eval_new(f->a, p, &ip);
		assert_int_equal(dnsbl_eval_step(e), DNSBL_STEP_DONE);
		assert_false(dnsbl_eval_outcome(e)->blocked);
		dnsbl_policy_free(p);
	}
}

static void test_policy_errors(void **state)
{
	struct dnsbl_policy *p = dnsbl_policy_new();
	struct sx_err err = { 0 };
	static const char *const bad1[] = { "127.0.0.5-127.0.0.2" };
	static const char *const bad2[] = { "2001:db8::1" };
	static const char *const bad3[] = { "127.0.0" };

	(void)state;
	assert_int_equal(dnsbl_policy_add_zone(p, "a..b", NULL, 0, 1, &err), -1);
	assert_int_equal(dnsbl_policy_add_zone(p, "", NULL, 0, 1, &err), -1);
	assert_int_equal(dnsbl_policy_add_zone(p, "z.test", bad1, 1, 1, &err), -1);
	assert_int_equal(dnsbl_policy_add_zone(p, "z.test", bad2, 1, 1, &err), -1);
	assert_int_equal(dnsbl_policy_add_zone(p, "z.test", bad3, 1, 1, &err), -1);
	assert_non_null(strstr(err.msg, "127.0.0"));
	dnsbl_policy_free(p);
}

static void test_from_config(void **state)
{
	struct fixture *f = *state;
	static const char yaml[] = "reputation:\n"
	                           "  threshold: 3\n"
	                           "  dnsbl:\n"
	                           "    - zone: sbl.example.test\n"
	                           "      codes: [\"127.0.0.2 SBL\"]\n"
	                           "      weight: 3\n"
	                           "    - zone: other.example.test\n";
	struct config_diag diag;
	struct smexop_config *cfg = config_load_mem("t.yaml", yaml, strlen(yaml), &diag);
	struct sx_err err = { 0 };
	struct dnsbl_policy *p;
	const struct dnsbl_outcome *o;
	const struct dnsbl_zone *z;

	assert_non_null(cfg);
	p = dnsbl_policy_from_config(&cfg->reputation, NULL, NULL, &err);
	assert_non_null(p);
	assert_int_equal(dnsbl_policy_zones(p, &z), 2);
	assert_int_equal(z[0].weight, 3);
	assert_int_equal(z[1].weight, 1);
	o = check(f, p, "192.0.2.2");
	assert_true(o->blocked);
	assert_int_equal(o->total_weight, 4);
	o = check(f, p, "192.0.2.8");
	assert_false(o->blocked);
	dnsbl_policy_free(p);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),         cmocka_unit_test(test_ipv6_qname),
		cmocka_unit_test(test_timeout_zone),  cmocka_unit_test(test_engine),
		cmocka_unit_test(test_policy_errors), cmocka_unit_test(test_from_config),
		cmocka_unit_test(test_local_list),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
