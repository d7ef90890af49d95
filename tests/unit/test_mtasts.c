/* Unit tests for transport/mtasts: tables for the TXT record parser, the
 * policy parser, MX pattern matching, the policy domain of a destination
 * and the Content-Type check; then the resolver's cache logic on a zone
 * and an in-memory store, where every fetch fails (mta-sts.<domain> has
 * no address) so the cache rules of RFC 8461 5.1 show; and the store's
 * mtasts operations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "core/https.h"
#include "store/store.h"
#include "transport/mtasts.h"

/* ---- TXT records ---- */

struct txt_case {
	const char *rec;
	int ok; /* 0 valid, -1 invalid */
	const char *id;
};

static const struct txt_case txt_cases[] = {
	{ "v=STSv1; id=20160831085700Z;", 0, "20160831085700Z" },
	{ "v=STSv1;id=20160831085700Z", 0, "20160831085700Z" },
	{ "v=STSv1;        id=20160831085700Z   ", 0, "20160831085700Z" },
	{ "v=STSv1; id=abc;;;", 0, "abc" },
	{ "v=STSv1; id=12345678901234567890123456789012", 0, "12345678901234567890123456789012" },
	{ "v=STSv1; id=x; ext_1.a=some-value", 0, "x" },
	{ "v=STSv1; id=123456789012345678901234567890123", -1, NULL }, /* 33 */
	{ "v=STSv1; id=2018-09-07", -1, NULL },                        /* not alnum */
	{ "v=STSv1; id=", -1, NULL },
	{ "v=STSv1;", -1, NULL },
	{ "v=STSv1", -1, NULL },
	{ "id=20180907T090909; v=STSv1;", -1, NULL },
	{ "v=STSv12;id=1", -1, NULL },
	{ "v=stsv1;id=1", -1, NULL },
	{ " v=STSv1;id=1", -1, NULL },
	{ "v=STSv1; id=1; id=2", -1, NULL },
	{ "v=STSv1; id=1; bad", -1, NULL },
	{ "v=STSv1; id=1; -x=1", -1, NULL },
	{ "v=STSv1; id=1; x=", -1, NULL },
	{ "azazaza;asdasdasdasd", -1, NULL },
	{ "", -1, NULL },
};

static void test_txt_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(txt_cases) / sizeof(txt_cases[0]); i++) {
		const struct txt_case *c = &txt_cases[i];
		char id[MTASTS_ID_MAX + 1], why[200] = "";
		int r = mtasts_txt_parse(c->rec, strlen(c->rec), id, why, sizeof(why));
		if (r != c->ok)
			fail_msg("case %zu '%s': got %d (%s)", i, c->rec, r, why);
		if (r == 0)
			assert_string_equal(id, c->id);
		else
			assert_true(why[0] != '\0');
	}
}

static void test_txt_choose(void **state)
{
	const char *recs[3];
	size_t lens[3], which = 9, i;
	char id[MTASTS_ID_MAX + 1], why[200];

	(void)state;
	recs[0] = "v=spf1 -all";
	recs[1] = "v=STSv1; id=one";
	recs[2] = "something else";
	for (i = 0; i < 3; i++)
		lens[i] = strlen(recs[i]);
	assert_int_equal(mtasts_txt_choose(recs, lens, 3, id, &which, why, sizeof(why)), 0);
	assert_string_equal(id, "one");
	assert_int_equal(which, 1);
	/* two STS records: no policy */
	recs[2] = "v=STSv1; id=two";
	lens[2] = strlen(recs[2]);
	assert_int_equal(mtasts_txt_choose(recs, lens, 3, id, &which, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "2 TXT records"));
	/* none */
	assert_int_equal(mtasts_txt_choose(recs, lens, 1, id, &which, why, sizeof(why)), -1);
	/* one, invalid */
	recs[0] = "v=STSv1; id=";
	lens[0] = strlen(recs[0]);
	assert_int_equal(mtasts_txt_choose(recs, lens, 1, id, &which, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "invalid"));
}

/* ---- policies ---- */

struct policy_case {
	const char *text;
	int ok;
	enum mtasts_mode mode;
	uint32_t max_age;
	const char *mx;  /* the patterns joined with "," */
	const char *err; /* a substring of the error */
};

static const struct policy_case policy_cases[] = {
	{ "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400", 0, MTASTS_MODE_ENFORCE,
	  86400, "mail.loc", NULL },
	{ "version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmx: *.b.example\r\nmax_age: 0\r\n",
	  0, MTASTS_MODE_TESTING, 0, "a.example,*.b.example", NULL },
	{ "version: STSv1\nmode: none\nmax_age: 31557600\n", 0, MTASTS_MODE_NONE, 31557600, "",
	  NULL },
	{ "version:STSv1\nmode:\tenforce  \nmx: MX.Example.COM.\nmax_age: 5\nfoo: bar baz\n", 0,
	  MTASTS_MODE_ENFORCE, 5, "mx.example.com", NULL },
	/* the first of a repeated field counts; mx accumulates */
	{ "version: STSv1\nmode: testing\nmode: enforce\nmx: a.x\nmx: b.x\nmax_age: 1\nmax_age: 2",
	  0, MTASTS_MODE_TESTING, 1, "a.x,b.x", NULL },
	{ "version: STSv1\n\nmode: enforce\nmx: a.x\nmax_age: 1\n\n", 0, MTASTS_MODE_ENFORCE, 1,
	  "a.x", NULL },
	{ "garbage", -1, 0, 0, NULL, "no ':'" },
	{ "", -1, 0, 0, NULL, "no version" },
	{ "version: STSv1\nmode: enforce\nmax_age: 86400", -1, 0, 0, NULL,
	  "needs at least one mx" },
	{ "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: xxx", -1, 0, 0, NULL, "max_age" },
	{ "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 31557601", -1, 0, 0, NULL,
	  "max_age" },
	{ "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: -1", -1, 0, 0, NULL, "max_age" },
	{ "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 00000000001", -1, 0, 0, NULL,
	  "max_age" },
	{ "version: STSv1\nmx: mail.loc\nmax_age: 86400", -1, 0, 0, NULL, "no mode" },
	{ "version: STSv1\nmode: doubt\nmx: mail.loc\nmax_age: 86400", -1, 0, 0, NULL, "line 2" },
	{ "version: STSv1\nmode: ENFORCE\nmx: mail.loc\nmax_age: 86400", -1, 0, 0, NULL, "mode" },
	{ "version: STSv2\nmode: enforce\nmx: mail.loc\nmax_age: 86400", -1, 0, 0, NULL, "line 1" },
	{ "mode: enforce\nmx: mail.loc\nmax_age: 86400", -1, 0, 0, NULL, "no version" },
	{ "version: STSv1\nmode: enforce\nmx: mail.loc", -1, 0, 0, NULL, "no max_age" },
	{ "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1", -1, 0, 0, NULL, "mx" },
	{ "version: STSv1\nmode: enforce\nmx: *.*.x\nmax_age: 1", -1, 0, 0, NULL, "mx" },
	{ "version: STSv1\nmode: enforce\nmx: a.*.x\nmax_age: 1", -1, 0, 0, NULL, "mx" },
	{ "version: STSv1\nmode: enforce\nmx: mail*.x\nmax_age: 1", -1, 0, 0, NULL, "mx" },
	{ "version: STSv1\nmode: enforce\nmx: a..x\nmax_age: 1", -1, 0, 0, NULL, "mx" },
	{ "version: STSv1\nmode: enforce\nmx: \nmax_age: 1", -1, 0, 0, NULL, "mx" },
	{ "version: STSv1\nmode: enforce\nmx: a b\nmax_age: 1", -1, 0, 0, NULL, "mx" },
	{ "version : STSv1\nmode: none\nmax_age: 1", -1, 0, 0, NULL, "bad key" },
	{ "version: STSv1\rmode: none\nmax_age: 1", -1, 0, 0, NULL, "CR" },
};

static void test_policy_parse(void **state)
{
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(policy_cases) / sizeof(policy_cases[0]); i++) {
		const struct policy_case *c = &policy_cases[i];
		struct arena *a = arena_new();
		struct mtasts_policy p;
		struct sx_err err = { .msg = "" };
		char joined[512] = "";
		int r = mtasts_policy_parse(a, c->text, strlen(c->text), &p, &err);

		if (r != c->ok)
			fail_msg("case %zu: got %d (%s)", i, r, err.msg);
		if (r == 0) {
			assert_int_equal(p.mode, c->mode);
			assert_int_equal(p.max_age, c->max_age);
			for (k = 0; k < p.nmx; k++) {
				size_t n = strlen(joined);
				snprintf(joined + n, sizeof(joined) - n, "%s%s", k > 0 ? "," : "",
				         p.mx[k]);
			}
			assert_string_equal(joined, c->mx);
		} else if (strstr(err.msg, c->err) == NULL) {
			fail_msg("case %zu: error '%s' lacks '%s'", i, err.msg, c->err);
		}
		arena_free(a);
	}
}

static void test_policy_too_large(void **state)
{
	static char big[MTASTS_POLICY_MAX + 2];
	struct arena *a = arena_new();
	struct mtasts_policy p;
	struct sx_err err;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	assert_int_equal(mtasts_policy_parse(a, big, sizeof(big) - 1, &p, &err), -1);
	assert_non_null(strstr(err.msg, "larger"));
	arena_free(a);
}

/* ---- MX matching ---- */

struct match_case {
	const char *pattern, *host;
	bool match;
};

static const struct match_case match_cases[] = {
	{ "mail.example.com", "mail.example.com", true },
	{ "mail.example.com", "MAIL.Example.Com", true },
	{ "mail.example.com", "mail.example.com.", true },
	{ "mail.example.com.", "mail.example.com", true },
	{ "mail.example.com", "mail.example.org", false },
	{ "mail.example.com", "xmail.example.com", false },
	{ "mail.example.com", "a.mail.example.com", false },
	{ "*.example.com", "mx1.example.com", true },
	{ "*.example.com", "MX1.EXAMPLE.COM.", true },
	{ "*.example.com", "example.com", false },
	{ "*.example.com", "a.b.example.com", false },
	{ "*.example.com", ".example.com", false },
	{ "*.example.com", "mx1.example.org", false },
	{ "*.example.com", "mx1example.com", false },
	{ "*.com", "example.com", true },
	{ "", "example.com", false },
	{ "example.com", "", false },
};

static void test_mx_match(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		if (mtasts_pattern_match(c->pattern, c->host) != c->match)
			fail_msg("case %zu: '%s' vs '%s'", i, c->pattern, c->host);
	}
}

static void test_mx_match_policy(void **state)
{
	const char *mx[] = { "a.example", "*.b.example" };
	struct mtasts_policy p = { .mode = MTASTS_MODE_ENFORCE, .nmx = 2, .mx = mx };

	(void)state;
	assert_true(mtasts_mx_match(&p, "a.example"));
	assert_true(mtasts_mx_match(&p, "x.b.example"));
	assert_false(mtasts_mx_match(&p, "b.example"));
	assert_false(mtasts_mx_match(NULL, "a.example"));
}

/* ---- policy domains and Content-Type ---- */

struct domain_case {
	const char *dest, *domain; /* NULL: no policy domain */
};

static const struct domain_case domain_cases[] = {
	{ "good.loc", "good.loc" },
	{ "[good.loc]", "good.loc" },
	{ "[good.loc]:123", "good.loc" },
	{ "good.loc:123", "good.loc" },
	{ "good.loc.", "good.loc" },
	{ "Good.LOC", "good.loc" },
	{ ".good.loc", NULL },
	{ "[1.2.3.4]", NULL },
	{ "1.2.3.4", NULL },
	{ "[a:bb:ccc::dddd]:123", NULL },
	{ "a:bb:ccc::dddd", NULL },
	{ "[ipv6:::1]", NULL },
	{ "a..b", NULL },
	{ "", NULL },
	{ "[good.loc", NULL },
};

static void test_policy_domain(void **state)
{
	size_t i;
	char out[256];

	(void)state;
	for (i = 0; i < sizeof(domain_cases) / sizeof(domain_cases[0]); i++) {
		const struct domain_case *c = &domain_cases[i];
		int r = mtasts_policy_domain(c->dest, out, sizeof(out));
		if (c->domain == NULL) {
			if (r != -1)
				fail_msg("case %zu '%s': got '%s'", i, c->dest, out);
		} else {
			if (r != 0)
				fail_msg("case %zu '%s': refused", i, c->dest);
			assert_string_equal(out, c->domain);
		}
	}
}

static void test_content_type(void **state)
{
	(void)state;
	assert_true(mtasts_content_type_ok("text/plain"));
	assert_true(mtasts_content_type_ok("TeXT/PlAiN"));
	assert_true(mtasts_content_type_ok("text/plain ; charset=UTF-8"));
	assert_false(mtasts_content_type_ok("text/html"));
	assert_false(mtasts_content_type_ok("text/plain+"));
	assert_false(mtasts_content_type_ok("application/json+text/plain"));
	assert_false(mtasts_content_type_ok(NULL));
	assert_false(mtasts_content_type_ok(""));
}

static void test_defer_text(void **state)
{
	char out[200];

	(void)state;
	assert_string_equal(mtasts_defer_text("example.com", out, sizeof(out)),
	                    "MX hosts of 'example.com' failed MTA-STS validation.");
	assert_int_equal(MTASTS_DEFER_CODE, 451);
	assert_string_equal(MTASTS_DEFER_ENHANCED, "4.4.8");
	assert_string_equal(mtasts_failure_name(MTASTS_FAIL_WEBPKI), "sts-webpki-invalid");
}

/* ---- the resolver's cache logic ---- */

struct env {
	struct event_base *base;
	struct dns_zone *z;
	struct dns *dns;
	struct store *st;
	struct mtasts *m;
	int64_t now;
	struct mtasts_result r;
	char policy_text[512];
	int mode_seen;
	int calls;
};

static const char *const ENFORCE =
    "version: STSv1\nmode: enforce\nmx: mx.a.example\nmax_age: 100\n";

static int64_t env_now(void *arg)
{
	return ((struct env *)arg)->now;
}

static void env_open(struct env *e, bool with_store)
{
	struct mtasts_options o;
	struct store_options so = { .path = ":memory:" };
	struct sx_err err;
	const char *v1[] = { "v=STSv1; id=one" };
	const char *v2[] = { "v=STSv1; id=two" };

	memset(e, 0, sizeof(*e));
	e->now = 1000000;
	e->base = event_base_new();
	e->z = dns_zone_new();
	assert_int_equal(dns_zone_add_txt(e->z, "_mta-sts.a.example", v1, 1), 0);
	assert_int_equal(dns_zone_add_txt(e->z, "_mta-sts.b.example", v2, 1), 0);
	e->dns = dns_new_zone(e->base, e->z);
	if (with_store) {
		e->st = store_open(&so, &err);
		assert_non_null(e->st);
	}
	memset(&o, 0, sizeof(o));
	o.base = e->base;
	o.dns = e->dns;
	o.store = e->st;
	o.fetch_timeout_ms = 2000;
	o.refresh_margin = 50;
	o.now = env_now;
	o.now_arg = e;
	e->m = mtasts_new(&o, &err);
	assert_non_null(e->m);
}

static void env_close(struct env *e)
{
	mtasts_free(e->m);
	store_close(e->st);
	dns_free(e->dns);
	dns_zone_free(e->z);
	event_base_free(e->base);
}

static void env_done(const struct mtasts_result *r, void *arg)
{
	struct env *e = arg;

	e->r = *r;
	e->r.policy = NULL;
	snprintf(e->policy_text, sizeof(e->policy_text), "%s",
	         r->policy_text != NULL ? r->policy_text : "");
	if (r->policy != NULL)
		e->r.policy_text = e->policy_text;
	e->mode_seen = r->policy != NULL ? (int)r->policy->mode : -1;
	e->calls++;
}

static void env_lookup(struct env *e, const char *domain)
{
	e->calls = 0;
	assert_non_null(mtasts_lookup(e->m, domain, env_done, e));
	assert_int_equal(e->calls, 0); /* never before mtasts_lookup returns */
	while (mtasts_busy(e->m) > 0)
		event_base_loop(e->base, EVLOOP_ONCE);
	assert_int_equal(e->calls, 1);
}

static void cache(struct env *e, const char *domain, const char *id, int64_t fetched,
                  int64_t expires)
{
	struct store_mtasts p = { .domain = domain,
		                  .id = id,
		                  .policy = ENFORCE,
		                  .fetched = fetched,
		                  .expires = expires };
	struct sx_err err;

	assert_int_equal(store_mtasts_put(e->st, &p, &err), 0);
}

static void test_resolver_cache(void **state)
{
	struct env e;

	(void)state;
	env_open(&e, true);

	/* no TXT record, nothing cached: no policy */
	env_lookup(&e, "c.example");
	assert_int_equal(e.r.status, MTASTS_NONE);
	if (strstr(e.r.reason, "nxdomain") == NULL)
		fail_msg("reason: %s", e.r.reason);

	/* not a domain */
	env_lookup(&e, ".a.example");
	assert_int_equal(e.r.status, MTASTS_NONE);
	assert_non_null(strstr(e.r.reason, "not a domain"));

	/* TXT, nothing cached, the fetch fails (no address): fetch error */
	env_lookup(&e, "a.example");
	assert_int_equal(e.r.status, MTASTS_FAILED);
	assert_int_equal(e.r.failure, MTASTS_FAIL_FETCH);
	assert_string_equal(e.r.txt_id, "one");
	assert_non_null(strstr(e.r.reason, "mta-sts.a.example"));

	/* cached under the same id, unexpired: used without a fetch */
	cache(&e, "a.example", "one", e.now - 10, e.now + 90);
	env_lookup(&e, "A.Example.");
	assert_int_equal(e.r.status, MTASTS_POLICY);
	assert_int_equal(e.r.source, MTASTS_SOURCE_CACHE);
	assert_int_equal(e.r.failure, MTASTS_FAIL_NONE);
	assert_int_equal(e.mode_seen, MTASTS_MODE_ENFORCE);
	assert_string_equal(e.r.policy_text, ENFORCE);

	/* the id changed, the fetch fails: the unexpired cached policy stays */
	cache(&e, "b.example", "one", e.now - 10, e.now + 90);
	env_lookup(&e, "b.example");
	assert_int_equal(e.r.status, MTASTS_POLICY);
	assert_int_equal(e.r.source, MTASTS_SOURCE_CACHE);
	assert_int_equal(e.r.failure, MTASTS_FAIL_FETCH);
	assert_string_equal(e.r.txt_id, "two");
	assert_string_equal(e.r.policy_id, "one");
	assert_non_null(strstr(e.r.reason, "cached policy"));

	/* expired: the fetch failure is a failure */
	e.now += 200;
	env_lookup(&e, "a.example");
	assert_int_equal(e.r.status, MTASTS_FAILED);
	assert_int_equal(e.r.failure, MTASTS_FAIL_FETCH);

	/* the TXT record has gone: an unexpired cached policy is used */
	cache(&e, "c.example", "old", e.now - 10, e.now + 90);
	env_lookup(&e, "c.example");
	assert_int_equal(e.r.status, MTASTS_POLICY);
	assert_int_equal(e.r.source, MTASTS_SOURCE_CACHE);
	assert_non_null(strstr(e.r.reason, "until it expires"));

	/* refresh: only what expires within the margin (50 s) */
	cache(&e, "a.example", "one", e.now - 10, e.now + 40);
	cache(&e, "b.example", "one", e.now - 10, e.now + 400);
	assert_int_equal(mtasts_refresh(e.m), 1);
	assert_int_equal(mtasts_busy(e.m), 1);
	while (mtasts_busy(e.m) > 0)
		event_base_loop(e.base, EVLOOP_ONCE);
	/* the failed refresh kept the cached policy */
	env_lookup(&e, "a.example");
	assert_int_equal(e.r.status, MTASTS_POLICY);
	assert_int_equal(e.r.source, MTASTS_SOURCE_CACHE);

	env_close(&e);
}

static void test_resolver_memory(void **state)
{
	struct env e;

	(void)state;
	env_open(&e, false);
	env_lookup(&e, "a.example");
	assert_int_equal(e.r.status, MTASTS_FAILED);
	assert_int_equal(mtasts_refresh(e.m), 0);
	/* cancel before anything ran: no callback */
	e.calls = 0;
	mtasts_cancel(mtasts_lookup(e.m, "a.example", env_done, &e));
	assert_int_equal(mtasts_busy(e.m), 0);
	event_base_loop(e.base, EVLOOP_NONBLOCK);
	assert_int_equal(e.calls, 0);
	env_close(&e);
}

/* ---- the store ---- */

static int count_cb(const struct store_mtasts *p, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%s%s/%s", n > 0 ? "," : "", p->domain, p->id);
	return 0;
}

static void test_store(void **state)
{
	struct store_options so = { .path = ":memory:" };
	struct sx_err err;
	struct store *st = store_open(&so, &err);
	struct store_mtasts p = {
		.domain = "a.example", .id = "1", .policy = "x", .fetched = 10, .expires = 110
	};
	char out[256] = "";

	(void)state;
	assert_non_null(st);
	assert_true(store_schema_version(st) >= 3);
	assert_int_equal(store_mtasts_get(st, "a.example", count_cb, out, &err), 1);
	assert_int_equal(store_mtasts_put(st, &p, &err), 0);
	p.id = "2";
	assert_int_equal(store_mtasts_put(st, &p, &err), 0); /* replaces */
	p.domain = "b.example";
	p.expires = 50;
	assert_int_equal(store_mtasts_put(st, &p, &err), 0);
	assert_int_equal(store_mtasts_get(st, "a.example", count_cb, out, &err), 0);
	assert_string_equal(out, "a.example/2");
	out[0] = '\0';
	assert_int_equal(store_mtasts_expiring(st, 0, 200, 0, count_cb, out, &err), 0);
	assert_string_equal(out, "b.example/2,a.example/2");
	out[0] = '\0';
	assert_int_equal(store_mtasts_expiring(st, 60, 200, 0, count_cb, out, &err), 0);
	assert_string_equal(out, "a.example/2");
	assert_int_equal(store_mtasts_delete(st, "a.example", &err), 0);
	assert_int_equal(store_mtasts_delete(st, "a.example", &err), 1);
	assert_int_equal(store_mtasts_put(NULL, &p, &err), -1);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt_parse),       cmocka_unit_test(test_txt_choose),
		cmocka_unit_test(test_policy_parse),    cmocka_unit_test(test_policy_too_large),
		cmocka_unit_test(test_mx_match),        cmocka_unit_test(test_mx_match_policy),
		cmocka_unit_test(test_policy_domain),   cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_defer_text),      cmocka_unit_test(test_resolver_cache),
		cmocka_unit_test(test_resolver_memory), cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
