/* Unit tests for auth/compauth: one case table that reaches every reason
 * code the engine emits (checked against the list in docs/compauth.md),
 * every EOP action= value and dmarc=bestguesspass, plus the precedence of
 * block over allow, of a pass over the admin lists, and the domain and
 * prefix matching of accepted domains, spoof pairs and trusted sealers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/compauth.h"

static const char *const accepted[] = { "contoso.com", "contoso.net." };
static const char *const trusted[] = { "lists.example.org" };
static const struct compauth_pair allow[] = {
	{ "partner.example", "198.51.100.0/24" },
	{ "bulk.example", "mailer.example.net" },
	{ "blocked-too.example", "198.51.100.7" },
};
static const struct compauth_pair block[] = {
	{ "fabrikam.com", "203.0.113.0/24" },
	{ "*", "evil.example" },
	{ "blocked-too.example", "198.51.100.0/28" },
};

enum { N = DMARC_POLICY_NONE, Q = DMARC_POLICY_QUARANTINE, R = DMARC_POLICY_REJECT };

struct ca_case {
	const char *name;
	const char *from;
	const char *ip;
	enum spf_result spf;
	const char *spf_domain;
	enum spf_result helo;
	const char *helo_domain;
	const char *dkim_d;
	enum dkim_result dkim;
	enum dmarc_result dmarc;
	bool rec;
	int policy;
	bool sampled;
	const char *ptr;
	enum arc_result arc;
	const char *sealer;
	bool aar_pass;
	enum compauth_bypass bypass;
	bool no_reject;
	/* wanted */
	enum compauth_result result;
	unsigned reason;
	const char *dmarc_text;
	const char *action;
};

#define IP "192.0.2.10"

static const struct ca_case cases[] = {
	/* 1xx pass */
	{ "dmarc pass", "example.com", IP, SPF_PASS, "example.com", .dkim_d = NULL,
	  .dmarc = DMARC_RESULT_PASS, .rec = true, .policy = R, .result = COMPAUTH_PASS,
	  .reason = 100, .dmarc_text = "pass", .action = "none" },
	{ "dmarc pass, p=none", "example.com", IP, SPF_NONE, NULL, .dkim_d = "example.com",
	  .dkim = DKIM_PASS, .dmarc = DMARC_RESULT_PASS, .rec = true, .policy = N,
	  .result = COMPAUTH_PASS, .reason = 100, .dmarc_text = "pass", .action = "none" },
	/* EOP's first example: SPF aligned, no DMARC record */
	{ "implicit pass by spf", "fabrikam.com", "10.2.3.4", SPF_PASS, "fabrikam.com",
	  .dmarc = DMARC_RESULT_NONE, .result = COMPAUTH_PASS, .reason = 109,
	  .dmarc_text = "bestguesspass", .action = "none" },
	{ "implicit pass by spf, subdomain", "fabrikam.com", IP, SPF_PASS, "bounce.fabrikam.com",
	  .dmarc = DMARC_RESULT_NONE, .result = COMPAUTH_PASS, .reason = 109,
	  .dmarc_text = "bestguesspass", .action = "none" },
	{ "implicit pass by dkim", "news.example.com", IP, SPF_SOFTFAIL, "esp.example",
	  .dkim_d = "example.com", .dkim = DKIM_PASS, .dmarc = DMARC_RESULT_NONE,
	  .result = COMPAUTH_PASS, .reason = 109, .dmarc_text = "bestguesspass", .action = "none" },
	{ "implicit pass, dmarc permerror", "example.com", IP, SPF_PASS, "example.com",
	  .dmarc = DMARC_RESULT_PERMERROR, .result = COMPAUTH_PASS, .reason = 109,
	  .dmarc_text = "permerror", .action = "permerror" },
	{ "implicit pass, blocked pair ignored", "fabrikam.com", "203.0.113.5", SPF_PASS,
	  "fabrikam.com", .dmarc = DMARC_RESULT_NONE, .result = COMPAUTH_PASS, .reason = 109,
	  .dmarc_text = "bestguesspass", .action = "none" },
	{ "arc override of reject", "example.com", IP, SPF_FAIL, "list.example",
	  .dkim_d = "example.com", .dkim = DKIM_FAIL, .dmarc = DMARC_RESULT_FAIL, .rec = true,
	  .policy = R, .arc = ARC_PASS, .sealer = "lists.example.org", .aar_pass = true,
	  .result = COMPAUTH_PASS, .reason = 130, .dmarc_text = "fail", .action = "oreject" },
	{ "arc override of quarantine, subdomain sealer", "example.com", IP, SPF_FAIL,
	  "list.example", .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = Q, .arc = ARC_PASS,
	  .sealer = "mx.lists.example.org", .aar_pass = true, .result = COMPAUTH_PASS,
	  .reason = 130, .dmarc_text = "fail", .action = "none" },
	{ "arc override of implicit fail", "example.com", IP, SPF_SOFTFAIL, "list.example",
	  .dmarc = DMARC_RESULT_NONE, .arc = ARC_PASS, .sealer = "lists.example.org",
	  .aar_pass = true, .result = COMPAUTH_PASS, .reason = 130, .dmarc_text = "none",
	  .action = "none" },
	{ "arc: untrusted sealer", "example.com", IP, SPF_FAIL, "list.example",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = R, .arc = ARC_PASS,
	  .sealer = "evil-lists.example.org", .aar_pass = true, .result = COMPAUTH_FAIL,
	  .reason = 0, .dmarc_text = "fail", .action = "reject" },
	{ "arc: trusted sealer saw no dmarc pass", "example.com", IP, SPF_FAIL, "list.example",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = R, .arc = ARC_PASS,
	  .sealer = "lists.example.org", .aar_pass = false, .result = COMPAUTH_FAIL, .reason = 0,
	  .dmarc_text = "fail", .action = "reject" },
	{ "arc: chain failed", "example.com", IP, SPF_FAIL, "list.example",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = R, .arc = ARC_FAIL,
	  .sealer = "lists.example.org", .aar_pass = true, .result = COMPAUTH_FAIL, .reason = 0,
	  .dmarc_text = "fail", .action = "reject" },
	/* 7xx admin allow */
	{ "admin allow by prefix", "partner.example", "198.51.100.77", SPF_FAIL, "x.example",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = R, .result = COMPAUTH_PASS,
	  .reason = 701, .dmarc_text = "fail", .action = "oreject" },
	{ "admin allow by ptr org domain", "bulk.example", IP, SPF_NONE, NULL,
	  .dmarc = DMARC_RESULT_NONE, .ptr = "out12.mailer.example.net", .result = COMPAUTH_PASS,
	  .reason = 701, .dmarc_text = "none", .action = "none" },
	{ "admin allow by dkim domain", "bulk.example", IP, SPF_NONE, NULL,
	  .dkim_d = "mailer.example.net", .dkim = DKIM_PASS, .dmarc = DMARC_RESULT_FAIL,
	  .rec = true, .policy = Q, .result = COMPAUTH_PASS, .reason = 701, .dmarc_text = "fail",
	  .action = "none" },
	{ "admin allow: dkim did not pass", "bulk.example", IP, SPF_NONE, NULL,
	  .dkim_d = "mailer.example.net", .dkim = DKIM_FAIL, .dmarc = DMARC_RESULT_NONE,
	  .result = COMPAUTH_FAIL, .reason = 1, .dmarc_text = "none", .action = "none" },
	{ "admin allow: other prefix", "partner.example", "198.51.101.1", SPF_NONE, NULL,
	  .dmarc = DMARC_RESULT_NONE, .result = COMPAUTH_FAIL, .reason = 1, .dmarc_text = "none",
	  .action = "none" },
	/* 2xx softpass */
	{ "softpass by ptr", "example.com", IP, SPF_SOFTFAIL, "example.com",
	  .dmarc = DMARC_RESULT_NONE, .ptr = "mail.example.com", .result = COMPAUTH_SOFTPASS,
	  .reason = 201, .dmarc_text = "none", .action = "none" },
	{ "softpass by ptr under p=none", "example.com", IP, SPF_NEUTRAL, "example.com",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = N, .ptr = "smtp1.example.com",
	  .result = COMPAUTH_SOFTPASS, .reason = 201, .dmarc_text = "fail", .action = "none" },
	{ "softpass by helo", "example.com", IP, SPF_NONE, "esp.example", SPF_PASS,
	  "mta7.example.com", .dmarc = DMARC_RESULT_NONE, .result = COMPAUTH_SOFTPASS,
	  .reason = 202, .dmarc_text = "none", .action = "none" },
	{ "helo passes for another domain", "example.com", IP, SPF_NONE, "esp.example", SPF_PASS,
	  "mta7.esp.example", .dmarc = DMARC_RESULT_NONE, .result = COMPAUTH_FAIL, .reason = 1,
	  .dmarc_text = "none", .action = "none" },
	{ "no softpass under an enforcing policy", "example.com", IP, SPF_SOFTFAIL, "example.com",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = Q, .ptr = "mail.example.com",
	  .result = COMPAUTH_FAIL, .reason = 0, .dmarc_text = "fail", .action = "quarantine" },
	/* 000, 010 explicit fail and the actions */
	{ "explicit fail reject", "example.com", IP, SPF_FAIL, "example.com",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = R, .result = COMPAUTH_FAIL,
	  .reason = 0, .dmarc_text = "fail", .action = "reject" },
	{ "explicit fail reject, not honoured", "example.com", IP, SPF_FAIL, "example.com",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = R, .no_reject = true,
	  .result = COMPAUTH_FAIL, .reason = 0, .dmarc_text = "fail", .action = "oreject" },
	{ "explicit fail reject sampled out", "example.com", IP, SPF_FAIL, "example.com",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = R, .sampled = true,
	  .result = COMPAUTH_FAIL, .reason = 0, .dmarc_text = "fail", .action = "pct.reject" },
	{ "explicit fail quarantine", "example.com", IP, SPF_SOFTFAIL, "example.com",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = Q, .result = COMPAUTH_FAIL,
	  .reason = 0, .dmarc_text = "fail", .action = "quarantine" },
	{ "explicit fail quarantine sampled out", "example.com", IP, SPF_SOFTFAIL, "example.com",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = Q, .sampled = true,
	  .result = COMPAUTH_FAIL, .reason = 0, .dmarc_text = "fail", .action = "pct.quarantine" },
	{ "explicit fail of our domain", "contoso.com", IP, SPF_FAIL, "contoso.com",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = R, .result = COMPAUTH_FAIL,
	  .reason = 10, .dmarc_text = "fail", .action = "reject" },
	{ "explicit fail of our subdomain", "hr.contoso.net", IP, SPF_FAIL, "x.example",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = Q, .result = COMPAUTH_FAIL,
	  .reason = 10, .dmarc_text = "fail", .action = "quarantine" },
	/* 001, 601 implicit fail; EOP's second example */
	{ "implicit fail, eop example", "contoso.com.example", IP, SPF_NONE, "maliciousdomain.com",
	  .dkim_d = "maliciousdomain.com", .dkim = DKIM_PASS, .dmarc = DMARC_RESULT_NONE,
	  .result = COMPAUTH_FAIL, .reason = 1, .dmarc_text = "none", .action = "none" },
	{ "implicit fail, p=none", "example.com", IP, SPF_SOFTFAIL, "example.com",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = N, .result = COMPAUTH_FAIL,
	  .reason = 1, .dmarc_text = "fail", .action = "none" },
	{ "implicit fail, not a lookalike of ours", "notcontoso.com", IP, SPF_NONE, NULL,
	  .dmarc = DMARC_RESULT_NONE, .result = COMPAUTH_FAIL, .reason = 1, .dmarc_text = "none",
	  .action = "none" },
	{ "intra-org spoof", "contoso.com", IP, SPF_NONE, "maliciousdomain.com",
	  .dkim_d = "maliciousdomain.com", .dkim = DKIM_PASS, .dmarc = DMARC_RESULT_NONE,
	  .result = COMPAUTH_FAIL, .reason = 601, .dmarc_text = "none", .action = "none" },
	{ "intra-org spoof, p=none", "CONTOSO.COM", IP, SPF_FAIL, "contoso.com",
	  .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = N, .result = COMPAUTH_FAIL,
	  .reason = 601, .dmarc_text = "fail", .action = "none" },
	/* 002 admin block */
	{ "admin block by prefix", "fabrikam.com", "203.0.113.9", SPF_NONE, NULL,
	  .dmarc = DMARC_RESULT_NONE, .result = COMPAUTH_FAIL, .reason = 2, .dmarc_text = "none",
	  .action = "none" },
	{ "admin block by ptr, any domain", "example.com", IP, SPF_SOFTFAIL, "example.com",
	  .dmarc = DMARC_RESULT_NONE, .ptr = "host.evil.example", .result = COMPAUTH_FAIL,
	  .reason = 2, .dmarc_text = "none", .action = "none" },
	{ "admin block wins over allow", "blocked-too.example", "198.51.100.7", SPF_NONE, NULL,
	  .dmarc = DMARC_RESULT_NONE, .result = COMPAUTH_FAIL, .reason = 2, .dmarc_text = "none",
	  .action = "none" },
	{ "admin block of a softpass", "fabrikam.com", "203.0.113.25", SPF_NONE, NULL,
	  .dmarc = DMARC_RESULT_NONE, .ptr = "mail.fabrikam.com", .result = COMPAUTH_FAIL,
	  .reason = 2, .dmarc_text = "none", .action = "none" },
	{ "ptr name only looks like the From domain", "example.com", "192.0.2.99", SPF_NONE, NULL,
	  .dmarc = DMARC_RESULT_NONE, .ptr = "example.com.evil.example", .result = COMPAUTH_FAIL,
	  .reason = 2, .dmarc_text = "none", .action = "none" },
	{ "dmarc pass beats admin block", "example.com", IP, SPF_PASS, "example.com",
	  .dmarc = DMARC_RESULT_PASS, .rec = true, .policy = R, .ptr = "host.evil.example",
	  .result = COMPAUTH_PASS, .reason = 100, .dmarc_text = "pass", .action = "none" },
	/* 003 unusable From */
	{ "no from domain", NULL, IP, SPF_PASS, "example.com", .dmarc = DMARC_RESULT_PERMERROR,
	  .result = COMPAUTH_FAIL, .reason = 3, .dmarc_text = "permerror", .action = "permerror" },
	/* 301 not checked */
	{ "dmarc temperror", "example.com", IP, SPF_PASS, "example.com",
	  .dmarc = DMARC_RESULT_TEMPERROR, .result = COMPAUTH_NONE, .reason = 301,
	  .dmarc_text = "temperror", .action = "temperror" },
	{ "spf temperror, no record", "example.com", IP, SPF_TEMPERROR, "example.com",
	  .dmarc = DMARC_RESULT_NONE, .result = COMPAUTH_NONE, .reason = 301, .dmarc_text = "none",
	  .action = "none" },
	{ "dkim temperror, p=none", "example.com", IP, SPF_NONE, NULL, .dkim_d = "example.com",
	  .dkim = DKIM_TEMPERROR, .dmarc = DMARC_RESULT_FAIL, .rec = true, .policy = N,
	  .result = COMPAUTH_NONE, .reason = 301, .dmarc_text = "fail", .action = "none" },
	{ "temperror but dkim passes aligned", "example.com", IP, SPF_TEMPERROR, "example.com",
	  .dkim_d = "example.com", .dkim = DKIM_PASS, .dmarc = DMARC_RESULT_NONE,
	  .result = COMPAUTH_PASS, .reason = 109, .dmarc_text = "bestguesspass", .action = "none" },
	/* 451, 905 bypass */
	{ "bypass internal", "contoso.com", IP, SPF_NONE, NULL, .dmarc = DMARC_RESULT_NONE,
	  .bypass = COMPAUTH_BYPASS_INTERNAL, .result = COMPAUTH_NONE, .reason = 451,
	  .dmarc_text = "none", .action = "none" },
	{ "bypass skipped", "example.com", IP, SPF_FAIL, "example.com", .dmarc = DMARC_RESULT_FAIL,
	  .rec = true, .policy = R, .bypass = COMPAUTH_BYPASS_SKIPPED, .result = COMPAUTH_NONE,
	  .reason = 905, .dmarc_text = "fail", .action = "reject" },
};

/* every code compauth emits: docs/compauth.md has one row for each */
static const unsigned emitted[] = {
	0, 1, 2, 3, 10, 100, 109, 130, 201, 202, 301, 451, 601, 701, 905
};

static void run_case(const struct ca_case *c, struct compauth_outcome *out)
{
	struct compauth_input in;
	struct dmarc_dkim dk = { c->dkim_d, c->dkim };
	struct compauth_sealer s = { c->sealer, 1, c->aar_pass };

	memset(&in, 0, sizeof(in));
	in.from_domain = c->from;
	if (c->ip != NULL) {
		assert_int_equal(net_addr_parse(c->ip, &in.ip), 0);
		in.has_ip = true;
	}
	in.spf = c->spf;
	in.spf_domain = c->spf_domain;
	in.spf_helo = c->helo;
	in.helo_domain = c->helo_domain;
	if (c->dkim_d != NULL) {
		in.dkim = &dk;
		in.ndkim = 1;
	}
	in.dmarc.result = c->dmarc;
	in.dmarc.has_record = c->rec;
	in.dmarc.policy = (enum dmarc_policy)c->policy;
	in.dmarc.sampled_out = c->sampled;
	in.ptr_name = c->ptr;
	in.arc = c->arc;
	if (c->sealer != NULL) {
		in.sealers = &s;
		in.nsealers = 1;
	}
	in.accepted_domains = accepted;
	in.naccepted = 2;
	in.trusted_sealers = trusted;
	in.ntrusted = 1;
	in.allow = allow;
	in.nallow = sizeof(allow) / sizeof(allow[0]);
	in.block = block;
	in.nblock = sizeof(block) / sizeof(block[0]);
	in.bypass = c->bypass;
	in.dmarc_no_reject = c->no_reject;
	compauth_eval(&in, out);
}

static void test_table(void **state)
{
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ca_case *c = &cases[i];
		struct compauth_outcome o;

		run_case(c, &o);
		if (o.result != c->result || o.reason != c->reason ||
		    strcmp(o.dmarc, c->dmarc_text) != 0 || strcmp(o.action, c->action) != 0) {
			print_error("%s: got %s reason=%03u dmarc=%s action=%s (%s), want %s "
			            "reason=%03u dmarc=%s action=%s\n",
			            c->name, compauth_result_name(o.result), o.reason, o.dmarc,
			            o.action, o.why, compauth_result_name(c->result), c->reason,
			            c->dmarc_text, c->action);
			bad++;
		}
		assert_non_null(o.why);
	}
	assert_int_equal(bad, 0);
}

/* test_every_code - the table reaches every emitted code, and only those */
static void test_every_code(void **state)
{
	size_t i, j;

	(void)state;
	for (j = 0; j < sizeof(emitted) / sizeof(emitted[0]); j++) {
		bool seen = false;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			seen |= cases[i].reason == emitted[j];
		if (!seen)
			print_error("reason %03u is not covered by the table\n", emitted[j]);
		assert_true(seen);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool listed = false;

		for (j = 0; j < sizeof(emitted) / sizeof(emitted[0]); j++)
			listed |= cases[i].reason == emitted[j];
		assert_true(listed);
	}
}

/* test_docs - docs/compauth.md has a row for every emitted code */
static void test_docs(void **state)
{
	const char *root = *state;
	char path[4096], line[1024], want[16];
	bool seen[sizeof(emitted) / sizeof(emitted[0])] = { false };
	size_t j;
	FILE *f;

	if (root == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/docs/compauth.md", root);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		for (j = 0; j < sizeof(emitted) / sizeof(emitted[0]); j++) {
			snprintf(want, sizeof(want), "| %03u |", emitted[j]);
			if (strncmp(line, want, strlen(want)) == 0)
				seen[j] = true;
		}
	fclose(f);
	for (j = 0; j < sizeof(emitted) / sizeof(emitted[0]); j++) {
		if (!seen[j])
			print_error("docs/compauth.md: no row for %03u\n", emitted[j]);
		assert_true(seen[j]);
	}
}

static void test_names_and_matching(void **state)
{
	static const char *const list[] = { "example.com", "b.example.net." };

	(void)state;
	assert_string_equal(compauth_result_name(COMPAUTH_PASS), "pass");
	assert_string_equal(compauth_result_name(COMPAUTH_FAIL), "fail");
	assert_string_equal(compauth_result_name(COMPAUTH_SOFTPASS), "softpass");
	assert_string_equal(compauth_result_name(COMPAUTH_NONE), "none");
	assert_true(compauth_domain_covered("example.com", list, 2));
	assert_true(compauth_domain_covered("Mail.EXAMPLE.com.", list, 2));
	assert_true(compauth_domain_covered("a.b.example.net", list, 2));
	assert_false(compauth_domain_covered("badexample.com", list, 2));
	assert_false(compauth_domain_covered("example.com.evil", list, 2));
	assert_false(compauth_domain_covered("example.net", list, 2));
	assert_false(compauth_domain_covered(NULL, list, 2));
	assert_false(compauth_domain_covered("example.com", list, 0));
}

/* test_bad_pairs - malformed admin entries never match nor crash */
static void test_bad_pairs(void **state)
{
	static const struct compauth_pair odd[] = {
		{ NULL, "192.0.2.0/24" },        { "example.com", NULL },
		{ "example.com", "" },           { "example.com", "192.0.2.0/99" },
		{ "example.com", "192.0.2.0/" }, { "example.com", "2001:db8::/32" },
	};
	struct compauth_input in;
	struct compauth_outcome o;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.from_domain = "example.com";
	assert_int_equal(net_addr_parse("192.0.2.1", &in.ip), 0);
	in.has_ip = true;
	in.dmarc.result = DMARC_RESULT_NONE;
	in.allow = odd;
	in.nallow = sizeof(odd) / sizeof(odd[0]);
	compauth_eval(&in, &o);
	assert_int_equal(o.result, COMPAUTH_FAIL);
	assert_int_equal(o.reason, COMPAUTH_R_IMPLICIT_FAIL);
	assert_null(o.matched);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_every_code),
		cmocka_unit_test_prestate(test_docs, argc > 1 ? argv[1] : NULL),
		cmocka_unit_test(test_names_and_matching),
		cmocka_unit_test(test_bad_pairs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
