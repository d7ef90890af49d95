/* Unit tests for auth/dmarc: the step engine answered from an in-memory
 * zone (no event loop) over a case table -- alignment (relaxed, strict,
 * SPF, DKIM), pct sampling and t=y, sp= and np=, the organisational-domain
 * fallback, several and mixed records, unusable records, temperror --
 * plus the number of DNS round trips, abort, several From domains,
 * dmarc_aligned(), formatting and the async driver. */
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/dmarc.h"
#include "core/arena.h"
#include "core/dns_zone.h"
#include "core/orgdomain.h"

static const char zone_text[] = "$ORIGIN example.\n"
                                "$TTL 300\n"
                                "_dmarc.strict TXT \"v=DMARC1; p=reject; adkim=s; aspf=s\"\n"
                                "_dmarc.relaxed TXT \"v=DMARC1; p=reject\"\n"
                                "_dmarc.pct TXT \"v=DMARC1; p=reject; pct=30\"\n"
                                "_dmarc.pctq TXT \"v=DMARC1; p=quarantine; pct=30\"\n"
                                "_dmarc.pct0 TXT \"v=DMARC1; p=reject; pct=0\"\n"
                                "_dmarc.testing TXT \"v=DMARC1; p=reject; t=y\"\n"
                                "_dmarc.sp TXT \"v=DMARC1; p=reject; sp=none\"\n"
                                "_dmarc.own.sp TXT \"v=DMARC1; p=quarantine\"\n"
                                "_dmarc.np TXT \"v=DMARC1; p=quarantine; sp=none; np=reject\"\n"
                                "exists.np A 192.0.2.1\n"
                                "mx.np MX 10 mail.example.net.\n"
                                "_dmarc.multi TXT \"v=DMARC1; p=none\"\n"
                                "_dmarc.multi TXT \"v=DMARC1; p=reject\"\n"
                                "_dmarc.mixed TXT \"v=spf1 -all\"\n"
                                "_dmarc.mixed TXT \"some verification token\"\n"
                                "_dmarc.mixed TXT \"v=DMARC1; p=reject\"\n"
                                "_dmarc.bad TXT \"v=DMARC1; p=bogus\"\n"
                                "_dmarc.implicit TXT \"v=DMARC1; rua=mailto:r@implicit.example\"\n"
                                "_dmarc.split TXT \"v=DMARC1; \" \"p=quarantine\"\n"
                                "_dmarc.notdmarc TXT \"v=spf1 -all\"\n"
                                "_dmarc.sub.nodmarc TXT \"v=DMARC1; p=none\"\n"
                                "_dmarc.orgfail TXT \"v=DMARC1; p=reject\"\n";

static struct dns_zone *zone_make(void)
{
	struct dns_zone *z = dns_zone_new();
	struct sx_err err;

	assert_non_null(z);
	if (dns_zone_load_text(z, "test", zone_text, strlen(zone_text), NULL, &err) < 0) {
		print_error("%s\n", err.msg);
		fail();
	}
	assert_int_equal(
	    dns_zone_add_failure(z, "_dmarc.servfail.example", DNS_T_TXT, DNS_SERVFAIL), 0);
	assert_int_equal(dns_zone_add_timeout(z, "_dmarc.slow.example", 0), 0);
	assert_int_equal(dns_zone_add_failure(z, "_dmarc.orgfail.example", DNS_T_TXT, DNS_SERVFAIL),
	                 0);
	assert_int_equal(
	    dns_zone_add_failure(z, "_dmarc.a.orgfail2.example", DNS_T_TXT, DNS_SERVFAIL), 0);
	assert_int_equal(dns_zone_add_failure(z, "flaky.np.example", DNS_T_MX, DNS_SERVFAIL), 0);
	return z;
}

struct run {
	const struct dmarc_outcome *o;
	unsigned rounds;    /* steps that returned NEED_DNS */
	size_t queries;     /* answers fed */
	size_t first_asked; /* queries listed after the first step */
};

/* drive - run e to the end, answering from z */
static void drive(struct arena *a, struct dns_zone *z, struct dmarc_eval *e, struct run *r)
{
	memset(r, 0, sizeof(*r));
	while (dmarc_eval_step(e) == DMARC_STEP_NEED_DNS) {
		struct dmarc_query *const *list;
		size_t i, n = dmarc_eval_queries(e, &list);

		if (r->rounds++ == 0)
			r->first_asked = n;
		assert_true(r->rounds < 10);
		for (i = 0; i < n; i++) {
			struct dns_answer ans;
			if (list[i]->answered)
				continue;
			memset(&ans, 0, sizeof(ans));
			if (dns_zone_answer(z, a, list[i]->name, list[i]->type, &ans) < 0)
				ans.status = DNS_TIMEOUT;
			assert_int_equal(dmarc_eval_answer(e, list[i]->name, list[i]->type, &ans),
			                 0);
			r->queries++;
		}
	}
	r->o = dmarc_eval_outcome(e);
}

struct dcase {
	const char *from;
	const char *spf_domain; /* NULL: no SPF */
	enum spf_result spf;
	const char *dkim; /* "d:result,d:result" */
	int sample;
	enum dmarc_result result;
	enum dmarc_policy dis;
	const char *tag;         /* policy tag, NULL: none */
	const char *record_from; /* record domain, NULL: none */
	int spf_al, dkim_al;
};

#define P  DMARC_RESULT_PASS
#define F  DMARC_RESULT_FAIL
#define NO DMARC_RESULT_NONE
#define TE DMARC_RESULT_TEMPERROR
#define PE DMARC_RESULT_PERMERROR
#define DN DMARC_POLICY_NONE
#define DQ DMARC_POLICY_QUARANTINE
#define DR DMARC_POLICY_REJECT

static const struct dcase cases[] = {
	/* alignment, relaxed */
	{ "relaxed.example", "relaxed.example", SPF_PASS, NULL, 0, P, DN, "p", "relaxed.example", 1,
	  0 },
	{ "relaxed.example", "bounce.relaxed.example", SPF_PASS, NULL, 0, P, DN, "p",
	  "relaxed.example", 1, 0 },
	{ "relaxed.example", "relaxed.example", SPF_SOFTFAIL, NULL, 0, F, DR, "p",
	  "relaxed.example", 0, 0 },
	{ "relaxed.example", "other.example", SPF_PASS, NULL, 0, F, DR, "p", "relaxed.example", 0,
	  0 },
	{ "relaxed.example", NULL, SPF_NONE, "mail.relaxed.example:pass", 0, P, DN, "p",
	  "relaxed.example", 0, 1 },
	{ "relaxed.example", NULL, SPF_NONE, "relaxed.example:fail", 0, F, DR, "p",
	  "relaxed.example", 0, 0 },
	{ "relaxed.example", NULL, SPF_NONE, "other.example:pass,relaxed.example:temperror", 0, F,
	  DR, "p", "relaxed.example", 0, 0 },
	{ "relaxed.example", NULL, SPF_NONE, "other.example:pass,RELAXED.example.:pass", 0, P, DN,
	  "p", "relaxed.example", 0, 1 },
	{ "relaxed.example", "relaxed.example", SPF_PASS, "relaxed.example:pass", 0, P, DN, "p",
	  "relaxed.example", 1, 1 },
	/* strict */
	{ "strict.example", "strict.example", SPF_PASS, NULL, 0, P, DN, "p", "strict.example", 1,
	  0 },
	{ "strict.example", "bounce.strict.example", SPF_PASS, NULL, 0, F, DR, "p",
	  "strict.example", 0, 0 },
	{ "strict.example", NULL, SPF_NONE, "sub.strict.example:pass", 0, F, DR, "p",
	  "strict.example", 0, 0 },
	{ "strict.example", NULL, SPF_NONE, "Strict.Example:pass", 0, P, DN, "p", "strict.example",
	  0, 1 },
	{ "a.strict.example", NULL, SPF_NONE, "strict.example:pass", 0, F, DR, "p",
	  "strict.example", 0, 0 },
	/* pct sampling: sample < pct applies the policy, otherwise one lower */
	{ "pct.example", NULL, SPF_NONE, NULL, 29, F, DR, "p", "pct.example", 0, 0 },
	{ "pct.example", NULL, SPF_NONE, NULL, 30, F, DQ, "p", "pct.example", 0, 0 },
	{ "pct.example", NULL, SPF_NONE, NULL, 99, F, DQ, "p", "pct.example", 0, 0 },
	{ "pctq.example", NULL, SPF_NONE, NULL, 0, F, DQ, "p", "pctq.example", 0, 0 },
	{ "pctq.example", NULL, SPF_NONE, NULL, 50, F, DN, "p", "pctq.example", 0, 0 },
	{ "pct0.example", NULL, SPF_NONE, NULL, 0, F, DQ, "p", "pct0.example", 0, 0 },
	{ "relaxed.example", NULL, SPF_NONE, NULL, 99, F, DR, "p", "relaxed.example", 0, 0 },
	{ "testing.example", NULL, SPF_NONE, NULL, 0, F, DQ, "p", "testing.example", 0, 0 },
	/* sp=, the organisational fallback, a subdomain's own record */
	{ "a.b.relaxed.example", NULL, SPF_NONE, NULL, 0, F, DR, "p", "relaxed.example", 0, 0 },
	{ "a.b.relaxed.example", "relaxed.example", SPF_PASS, NULL, 0, P, DN, "p",
	  "relaxed.example", 1, 0 },
	{ "x.sp.example", NULL, SPF_NONE, NULL, 0, F, DN, "sp", "sp.example", 0, 0 },
	{ "sp.example", NULL, SPF_NONE, NULL, 0, F, DR, "p", "sp.example", 0, 0 },
	{ "own.sp.example", NULL, SPF_NONE, NULL, 0, F, DQ, "p", "own.sp.example", 0, 0 },
	{ "sub.nodmarc.example", NULL, SPF_NONE, NULL, 0, F, DN, "p", "sub.nodmarc.example", 0, 0 },
	/* np=: only for a non-existent subdomain */
	{ "ghost.np.example", NULL, SPF_NONE, NULL, 0, F, DR, "np", "np.example", 0, 0 },
	{ "exists.np.example", NULL, SPF_NONE, NULL, 0, F, DN, "sp", "np.example", 0, 0 },
	{ "mx.np.example", NULL, SPF_NONE, NULL, 0, F, DN, "sp", "np.example", 0, 0 },
	{ "flaky.np.example", NULL, SPF_NONE, NULL, 0, F, DN, "sp", "np.example", 0, 0 },
	{ "np.example", NULL, SPF_NONE, NULL, 0, F, DQ, "p", "np.example", 0, 0 },
	{ "ghost.np.example", "np.example", SPF_PASS, NULL, 0, P, DN, "sp", "np.example", 1, 0 },
	/* no record, several, mixed, unusable */
	{ "nothing.example", NULL, SPF_NONE, NULL, 0, NO, DN, NULL, NULL, 0, 0 },
	{ "a.nothing.example", NULL, SPF_NONE, NULL, 0, NO, DN, NULL, NULL, 0, 0 },
	{ "notdmarc.example", NULL, SPF_NONE, NULL, 0, NO, DN, NULL, NULL, 0, 0 },
	{ "multi.example", NULL, SPF_NONE, NULL, 0, PE, DN, NULL, NULL, 0, 0 },
	{ "a.multi.example", NULL, SPF_NONE, NULL, 0, PE, DN, NULL, NULL, 0, 0 },
	{ "mixed.example", NULL, SPF_NONE, NULL, 0, F, DR, "p", "mixed.example", 0, 0 },
	{ "bad.example", NULL, SPF_NONE, NULL, 0, NO, DN, NULL, "bad.example", 0, 0 },
	{ "implicit.example", NULL, SPF_NONE, NULL, 0, F, DN, "p", "implicit.example", 0, 0 },
	{ "split.example", NULL, SPF_NONE, NULL, 0, F, DQ, "p", "split.example", 0, 0 },
	/* temporary failures */
	{ "servfail.example", "servfail.example", SPF_PASS, NULL, 0, TE, DN, NULL, NULL, 0, 0 },
	{ "slow.example", NULL, SPF_NONE, NULL, 0, TE, DN, NULL, NULL, 0, 0 },
	{ "a.orgfail.example", NULL, SPF_NONE, NULL, 0, TE, DN, NULL, NULL, 0, 0 },
	{ "a.orgfail2.example", NULL, SPF_NONE, NULL, 0, TE, DN, NULL, NULL, 0, 0 },
	/* bad From domains */
	{ "exa mple.example", NULL, SPF_NONE, NULL, 0, PE, DN, NULL, NULL, 0, 0 },
	{ "a..example", NULL, SPF_NONE, NULL, 0, PE, DN, NULL, NULL, 0, 0 },
	/* trailing dot and case */
	{ "RELAXED.example.", NULL, SPF_NONE, "relaxed.example:pass", 0, P, DN, "p",
	  "relaxed.example", 0, 1 },
};

static size_t parse_dkim(char *spec, struct dmarc_dkim *d)
{
	size_t n = 0;
	char *p = spec;

	while (p != NULL && *p != '\0' && n < 8) {
		char *comma = strchr(p, ','), *colon;
		if (comma != NULL)
			*comma = '\0';
		colon = strrchr(p, ':');
		assert_non_null(colon);
		*colon = '\0';
		d[n].domain = p;
		d[n].result = strcmp(colon + 1, "pass") == 0   ? DKIM_PASS
		              : strcmp(colon + 1, "fail") == 0 ? DKIM_FAIL
		                                               : DKIM_TEMPERROR;
		n++;
		p = comma != NULL ? comma + 1 : NULL;
	}
	return n;
}

static void test_cases(void **state)
{
	struct dns_zone *z = zone_make();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		struct arena *a = arena_new();
		struct dmarc_dkim dk[8];
		char spec[256] = "";
		struct dmarc_request req = { 0 };
		struct dmarc_eval *e;
		struct run r;
		const struct dmarc_outcome *o;

		if (c->dkim != NULL)
			snprintf(spec, sizeof(spec), "%s", c->dkim);
		req.from_domains = &c->from;
		req.nfrom = 1;
		req.spf_domain = c->spf_domain;
		req.spf = c->spf;
		req.dkim = dk;
		req.ndkim = parse_dkim(spec, dk);
		req.sample = c->sample;
		e = dmarc_eval_new(a, &req);
		assert_non_null(e);
		drive(a, z, e, &r);
		o = r.o;
		if (o->result != c->result || o->disposition != c->dis ||
		    (c->tag == NULL) != (o->policy_tag == NULL || o->result == DMARC_RESULT_NONE) ||
		    (c->tag != NULL && o->policy_tag != NULL &&
		     strcmp(c->tag, o->policy_tag) != 0) ||
		    (c->record_from == NULL) != (o->record_domain == NULL) ||
		    (c->record_from != NULL && o->record_domain != NULL &&
		     strcmp(c->record_from, o->record_domain) != 0) ||
		    o->spf_aligned != (c->spf_al != 0) || o->dkim_aligned != (c->dkim_al != 0) ||
		    o->reason == NULL) {
			print_error("case %zu (%s): %s %s tag %s record %s spf %d dkim %d: %s\n", i,
			            c->from, dmarc_result_name(o->result),
			            dmarc_policy_name(o->disposition),
			            o->policy_tag ? o->policy_tag : "-",
			            o->record_domain ? o->record_domain : "-", o->spf_aligned,
			            o->dkim_aligned, o->reason ? o->reason : "(no reason)");
			fail();
		}
		arena_free(a);
	}
	dns_zone_free(z);
}

/* one round trip for a subdomain: its record and the org record together;
 * the np= existence checks in one more, all three at once */
static void test_rounds(void **state)
{
	struct dns_zone *z = zone_make();
	struct arena *a = arena_new();
	struct dmarc_request req = { .nfrom = 1, .sample = 0 };
	const char *from = "a.b.relaxed.example";
	struct run r;

	(void)state;
	req.from_domains = &from;
	drive(a, z, dmarc_eval_new(a, &req), &r);
	assert_int_equal(r.rounds, 1);
	assert_int_equal(r.first_asked, 2);
	assert_int_equal(r.queries, 2);
	from = "ghost.np.example";
	drive(a, z, dmarc_eval_new(a, &req), &r);
	assert_int_equal(r.rounds, 2);
	assert_int_equal(r.queries, 5);
	/* the org domain itself: one query */
	from = "relaxed.example";
	drive(a, z, dmarc_eval_new(a, &req), &r);
	assert_int_equal(r.queries, 1);
	/* a pass never asks for the existence of the domain */
	req.spf_domain = "np.example";
	req.spf = SPF_PASS;
	from = "ghost.np.example";
	drive(a, z, dmarc_eval_new(a, &req), &r);
	assert_int_equal(r.queries, 2);
	arena_free(a);
	dns_zone_free(z);
}

/* several From domains: the strictest disposition wins */
static void test_multi_from(void **state)
{
	struct dns_zone *z = zone_make();
	struct arena *a = arena_new();
	const char *from[] = { "relaxed.example", "sp.example", "nothing.example" };
	struct dmarc_dkim dk = { "relaxed.example", DKIM_PASS };
	struct dmarc_request req = { .from_domains = from, .nfrom = 3, .dkim = &dk, .ndkim = 1 };
	struct run r;
	const char *many[DMARC_MAX_FROM_DOMAINS + 1];
	size_t i;

	(void)state;
	drive(a, z, dmarc_eval_new(a, &req), &r);
	assert_int_equal(r.o->result, DMARC_RESULT_FAIL);
	assert_int_equal(r.o->disposition, DMARC_POLICY_REJECT);
	assert_string_equal(r.o->from_domain, "sp.example");
	assert_int_equal(r.o->nper_domain, 3);
	assert_int_equal(r.o->per_domain[0].result, DMARC_RESULT_PASS);
	assert_int_equal(r.o->per_domain[2].result, DMARC_RESULT_NONE);
	/* all three records in the first round */
	assert_int_equal(r.rounds, 1);
	/* no From domain, too many */
	req.nfrom = 0;
	drive(a, z, dmarc_eval_new(a, &req), &r);
	assert_int_equal(r.o->result, DMARC_RESULT_PERMERROR);
	for (i = 0; i < DMARC_MAX_FROM_DOMAINS + 1; i++)
		many[i] = "relaxed.example";
	req.from_domains = many;
	req.nfrom = DMARC_MAX_FROM_DOMAINS + 1;
	drive(a, z, dmarc_eval_new(a, &req), &r);
	assert_int_equal(r.o->result, DMARC_RESULT_PERMERROR);
	assert_int_equal(r.queries, 0);
	arena_free(a);
	dns_zone_free(z);
}

static void test_abort(void **state)
{
	struct arena *a = arena_new();
	const char *from = "a.b.example.org";
	struct dmarc_request req = { .from_domains = &from, .nfrom = 1 };
	struct dmarc_eval *e = dmarc_eval_new(a, &req);
	struct dmarc_query *const *list;
	struct dns_answer nx = { .status = DNS_NXDOMAIN };

	(void)state;
	assert_int_equal(dmarc_eval_step(e), DMARC_STEP_NEED_DNS);
	assert_int_equal(dmarc_eval_queries(e, &list), 2);
	assert_string_equal(list[0]->name, "_dmarc.a.b.example.org");
	assert_true(list[0]->needed);
	assert_string_equal(list[1]->name, "_dmarc.example.org");
	assert_false(list[1]->needed);
	assert_int_equal(dmarc_eval_answer(e, "_dmarc.A.B.example.org", DNS_T_TXT, &nx), 0);
	assert_int_equal(dmarc_eval_answer(e, "_dmarc.A.B.example.org", DNS_T_TXT, &nx), -1);
	assert_int_equal(dmarc_eval_answer(e, "_dmarc.unknown.org", DNS_T_TXT, &nx), -1);
	assert_int_equal(dmarc_eval_step(e), DMARC_STEP_NEED_DNS);
	assert_true(dmarc_eval_waiting(e));
	dmarc_eval_abort(e, "deadline");
	assert_int_equal(dmarc_eval_outcome(e)->result, DMARC_RESULT_TEMPERROR);
	assert_non_null(strstr(dmarc_eval_outcome(e)->reason, "deadline"));
	arena_free(a);
}

static void test_aligned(void **state)
{
	(void)state;
	assert_true(dmarc_aligned(NULL, "a.example.co.uk", "b.example.co.uk", DMARC_ALIGN_RELAXED));
	assert_false(dmarc_aligned(NULL, "example.co.uk", "other.co.uk", DMARC_ALIGN_RELAXED));
	assert_false(dmarc_aligned(NULL, "co.uk", "example.co.uk", DMARC_ALIGN_RELAXED));
	assert_false(dmarc_aligned(NULL, "a.example.com", "example.com", DMARC_ALIGN_STRICT));
	assert_true(dmarc_aligned(NULL, "Example.COM.", "example.com", DMARC_ALIGN_STRICT));
	assert_true(
	    dmarc_aligned(NULL, "bücher.example", "xn--bcher-kva.example", DMARC_ALIGN_STRICT));
	assert_false(dmarc_aligned(NULL, "", "", DMARC_ALIGN_STRICT));
	assert_false(dmarc_aligned(NULL, NULL, "a", DMARC_ALIGN_STRICT));
	assert_string_equal(dmarc_spf_domain("user@Bounce.example", "helo.example"),
	                    "Bounce.example");
	assert_string_equal(dmarc_spf_domain("", "helo.example"), "helo.example");
	assert_string_equal(dmarc_spf_domain(NULL, "helo.example"), "helo.example");
	assert_string_equal(dmarc_spf_domain("user@", "helo.example"), "helo.example");
}

static void test_format(void **state)
{
	struct arena *a = arena_new();
	struct dmarc_outcome o = { 0 };
	enum dmarc_result r;

	(void)state;
	o.result = DMARC_RESULT_NONE;
	o.from_domain = "example.com";
	assert_string_equal(dmarc_authres(a, &o), "dmarc=none header.from=example.com");
	o.result = DMARC_RESULT_FAIL;
	o.record = "v=DMARC1; p=reject";
	o.rec.usable = true;
	o.rec.p = o.rec.sp = DMARC_POLICY_REJECT;
	o.disposition = DMARC_POLICY_QUARANTINE;
	assert_string_equal(
	    dmarc_authres(a, &o),
	    "dmarc=fail (p=reject sp=reject dis=quarantine) header.from=example.com");
	assert_int_equal(dmarc_result_parse("TempError", &r), 0);
	assert_int_equal(r, DMARC_RESULT_TEMPERROR);
	assert_int_equal(dmarc_result_parse("softfail", &r), -1);
	arena_free(a);
}

struct async_run {
	const struct dmarc_outcome *o;
	struct event_base *base;
	int calls;
};

static void async_done(const struct dmarc_outcome *o, void *arg)
{
	struct async_run *r = arg;

	r->o = o;
	r->calls++;
	event_base_loopbreak(r->base);
}

static void test_async(void **state)
{
	struct dns_zone *z = zone_make();
	struct event_base *base = event_base_new();
	struct dns *dns = dns_new_zone(base, z);
	struct arena *a = arena_new();
	const char *from = "x.sp.example";
	struct dmarc_request req = { .from_domains = &from, .nfrom = 1, .sample = 5 };
	struct async_run r = { .base = base };
	struct dmarc_check *c;

	(void)state;
	c = dmarc_check_start(dns, base, a, &req, async_done, &r);
	assert_non_null(c);
	assert_int_equal(r.calls, 0);
	event_base_dispatch(base);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.o->result, DMARC_RESULT_FAIL);
	assert_string_equal(r.o->policy_tag, "sp");
	assert_int_equal(r.o->sample, 5);
	/* cancelled: the callback never runs; freeing the arena is safe */
	c = dmarc_check_start(dns, base, a, &req, async_done, &r);
	dmarc_check_cancel(c);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(r.calls, 1);
	/* a timeout from the zone: temperror through the driver */
	from = "slow.example";
	c = dmarc_check_start(dns, base, a, &req, async_done, &r);
	event_base_dispatch(base);
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.o->result, DMARC_RESULT_TEMPERROR);
	/* freeing the arena with an evaluation in flight cancels it */
	from = "relaxed.example";
	assert_non_null(dmarc_check_start(dns, base, a, &req, async_done, &r));
	arena_free(a);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(r.calls, 2);
	dns_free(dns);
	dns_zone_free(z);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),      cmocka_unit_test(test_rounds),
		cmocka_unit_test(test_multi_from), cmocka_unit_test(test_abort),
		cmocka_unit_test(test_aligned),    cmocka_unit_test(test_format),
		cmocka_unit_test(test_async),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
