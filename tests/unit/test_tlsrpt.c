/* Unit tests for report/tlsrpt: the _smtp._tls record parser (case
 * table) and the choice among several records, the result type names of
 * RFC 8460 4.3, aggregation of recorded outcomes per UTC day and policy
 * in a SQLite store, the report JSON checked against the structure of
 * RFC 8460 4.4, file name and mail (5.1, 5.3), a build -> parse round
 * trip, report destinations and retries, import of hostile input (depth,
 * gzip bomb, counts, duplicates) and the received-report summary. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/dns.h"
#include "report/report_util.h"
#include "report/tlsrpt.h"

#define DAY 86400
#define T0  1700006400 /* 2023-11-15T00:00:00Z */

static const struct tlsrpt_conf conf = {
	.org_name = "Sender & Co",
	.email = "tlsrpt@sender.example",
};

static struct store *open_store(void)
{
	struct store_options so = { .backend = STORE_BACKEND_SQLITE, .path = ":memory:" };
	struct sx_err err = { 0 };
	struct store *st = store_open(&so, &err);

	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

/* ---- record ---------------------------------------------------------------- */

struct record_case {
	const char *txt;
	int ok;            /* 0 parses, -1 refused */
	size_t nrua;       /* usable URIs */
	const char *first; /* first URI's address (mailto) or host (https) */
};

static const struct record_case record_cases[] = {
	{ "v=TLSRPTv1; rua=mailto:reports@example.com", 0, 1, "reports@example.com" },
	{ "v=TLSRPTv1;rua=https://reporting.example.com/v1/tlsrpt", 0, 1, "reporting.example.com" },
	{ "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.net/x", 0, 2, "a@example.com" },
	{ "v=TLSRPTv1; rua=mailto:a@example.com , mailto:b@example.org;", 0, 2, "a@example.com" },
	{ "v=TLSRPTv1 ; rua=mailto:tls%2Drpt@example.com", 0, 1, "tls-rpt@example.com" },
	{ "v=TLSRPTv1; rua=mailto:r@EXAMPLE.com?subject=x", 0, 1, "r@example.com" },
	{ "v=TLSRPTv1; ext-1=foo; rua=mailto:r@example.com", 0, 1, "r@example.com" },
	{ "v=TLSRPTv1; rua=ftp://x.example, mailto:r@example.com", 0, 1, "r@example.com" },
	{ "v=TLSRPTv1; rua=https://r.example:8443/p?q=1", 0, 1, "r.example" },
	{ "v=TLSRPTv1; rua=mailto:r@example.com;", 0, 1, "r@example.com" },
	/* refused */
	{ "v=TLSRPTv1", -1, 0, NULL },
	{ "v=TLSRPTv1;", -1, 0, NULL },
	{ "v=tlsrptv1; rua=mailto:r@example.com", -1, 0, NULL },
	{ "rua=mailto:r@example.com; v=TLSRPTv1", -1, 0, NULL },
	{ "v=TLSRPTv10; rua=mailto:r@example.com", -1, 0, NULL },
	{ "v=TLSRPTv1; rua=ftp://x.example", -1, 0, NULL },
	{ "v=TLSRPTv1; rua=mailto:no-at-sign", -1, 0, NULL },
	{ "v=TLSRPTv1; rua=mailto:a@b@example.com", -1, 0, NULL },
	{ "v=TLSRPTv1; rua=https://user@r.example/", -1, 0, NULL },
	{ "v=TLSRPTv1; rua=https://r.example:99999/", -1, 0, NULL },
	{ "v=TLSRPTv1; rua=", -1, 0, NULL },
	{ "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", -1, 0, NULL },
	{ "v=TLSRPTv1 rua=mailto:a@example.com", -1, 0, NULL },
	{ "v=TLSRPTv1; =x; rua=mailto:a@example.com", -1, 0, NULL },
	{ "v=TLSRPTv1; rua=mailto:a%zz@example.com", -1, 0, NULL },
	{ "", -1, 0, NULL },
};

static void test_record_parse(void **state)
{
	struct arena *a = arena_new();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
		const struct record_case *c = &record_cases[i];
		struct tlsrpt_record r;
		struct sx_err err = { 0 };
		int rc = tlsrpt_record_parse(a, c->txt, strlen(c->txt), &r, &err);
		if (rc != c->ok)
			fail_msg("'%s': got %d (%s), want %d", c->txt, rc, err.msg, c->ok);
		if (rc < 0) {
			assert_true(err.msg[0] != '\0');
			continue;
		}
		if (r.nrua != c->nrua)
			fail_msg("'%s': %zu URIs, want %zu", c->txt, r.nrua, c->nrua);
		const struct tlsrpt_uri *u = &r.rua[0];
		const char *got = u->kind == TLSRPT_URI_MAILTO ? u->addr : u->host;
		if (strcmp(got, c->first) != 0)
			fail_msg("'%s': first %s, want %s", c->txt, got, c->first);
	}
	/* the https parts */
	struct tlsrpt_record r;
	struct sx_err err = { 0 };
	const char *t = "v=TLSRPTv1; rua=https://r.example:8443/p?q=1,https://x.example";
	assert_int_equal(tlsrpt_record_parse(a, t, strlen(t), &r, &err), 0);
	assert_int_equal(r.rua[0].kind, TLSRPT_URI_HTTPS);
	assert_int_equal(r.rua[0].port, 8443);
	assert_string_equal(r.rua[0].path, "/p?q=1");
	assert_int_equal(r.rua[1].port, 443);
	assert_string_equal(r.rua[1].path, "/");
	assert_string_equal(r.rua[0].uri, "https://r.example:8443/p?q=1");
	assert_string_equal(tlsrpt_record_name(a, "example.com."), "_smtp._tls.example.com");
	arena_free(a);
}

static void test_record_select(void **state)
{
	struct arena *a = arena_new();
	struct dns_rr rr[3];
	struct dns_answer ans = { .status = DNS_OK, .rr = rr };
	struct tlsrpt_record r;
	struct sx_err err = { 0 };
	char t1[] = "v=TLSRPTv1; rua=mailto:a@example.com";
	char t2[] = "v=TLSRPTv1; rua=mailto:b@example.com";
	char t3[] = "v=spf1 -all";

	(void)state;
	memset(rr, 0, sizeof(rr));
	for (int i = 0; i < 3; i++)
		rr[i].type = DNS_T_TXT;
	rr[0].u.txt.data = t3;
	rr[0].u.txt.len = strlen(t3);
	rr[1].u.txt.data = t1;
	rr[1].u.txt.len = strlen(t1);
	rr[2].u.txt.data = t2;
	rr[2].u.txt.len = strlen(t2);
	ans.count = 2; /* one TLS-RPT record among others */
	assert_int_equal(tlsrpt_record_select(a, &ans, &r, &err), 0);
	assert_string_equal(r.rua[0].addr, "a@example.com");
	ans.count = 3; /* two: none */
	assert_int_equal(tlsrpt_record_select(a, &ans, &r, &err), 1);
	assert_non_null(strstr(err.msg, "2 TLS-RPT records"));
	ans.count = 1; /* no TLS-RPT record */
	assert_int_equal(tlsrpt_record_select(a, &ans, &r, &err), 1);
	ans.status = DNS_NXDOMAIN;
	assert_int_equal(tlsrpt_record_select(a, &ans, &r, &err), 1);
	ans.status = DNS_SERVFAIL;
	assert_int_equal(tlsrpt_record_select(a, &ans, &r, &err), -1);
	arena_free(a);
}

/* ---- names ------------------------------------------------------------------- */

static void test_result_names(void **state)
{
	static const char *const rfc[] = {
		"starttls-not-supported", "certificate-host-mismatch",
		"certificate-expired",    "certificate-not-trusted",
		"validation-failure",     "tlsa-invalid",
		"dnssec-invalid",         "dane-required",
		"sts-policy-fetch-error", "sts-policy-invalid",
		"sts-webpki-invalid",
	};
	size_t i;

	(void)state;
	assert_int_equal(TLSRPT_NRESULTS, 12);
	for (i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		int r = tlsrpt_result_parse(rfc[i]);
		assert_true(r > 0);
		assert_string_equal(tlsrpt_result_name((enum tlsrpt_result)r), rfc[i]);
	}
	assert_int_equal(tlsrpt_result_parse("no-such-result"), -1);
	assert_null(tlsrpt_result_name(TLSRPT_NRESULTS));
	assert_string_equal(tlsrpt_policy_type_name(TLSRPT_POLICY_STS), "sts");
	assert_string_equal(tlsrpt_policy_type_name(TLSRPT_POLICY_TLSA), "tlsa");
	assert_string_equal(tlsrpt_policy_type_name(TLSRPT_POLICY_NONE), "no-policy-found");
}

/* ---- recording and building --------------------------------------------------- */

static const char *const sts_lines[] = { "version: STSv1", "mode: enforce",
	                                 "mx: *.mail.example.net", "max_age: 86400" };
static const char *const sts_mx[] = { "*.mail.example.net" };

static void record(struct store *st, const char *domain, enum tlsrpt_policy_type type,
                   enum tlsrpt_result res, const char *mx, const char *ip, int64_t t)
{
	struct tlsrpt_outcome o = {
		.policy_domain = domain,
		.policy_type = type,
		.policy_strings = type == TLSRPT_POLICY_STS ? sts_lines : NULL,
		.npolicy_strings = type == TLSRPT_POLICY_STS ? 4 : 0,
		.mx_hosts = type == TLSRPT_POLICY_STS ? sts_mx : NULL,
		.nmx_hosts = type == TLSRPT_POLICY_STS ? 1 : 0,
		.result = res,
		.sending_mta_ip = "192.0.2.1",
		.receiving_mx_hostname = mx,
		.receiving_ip = ip,
		.failure_reason_code = res == TLSRPT_VALIDATION_FAILURE ? "X509_V_ERR_X" : NULL,
	};
	struct sx_err err = { 0 };

	if (tlsrpt_record(st, &o, t, &err) < 0)
		fail_msg("tlsrpt_record: %s", err.msg);
}

/* record_day - a fixed mix of outcomes for example.net on day d */
static void record_day(struct store *st, int64_t d)
{
	int i;

	for (i = 0; i < 5; i++)
		record(st, "Example.NET.", TLSRPT_POLICY_STS, TLSRPT_SUCCESS,
		       "mx1.mail.example.net", "198.51.100.1", d + 60 * i);
	for (i = 0; i < 3; i++)
		record(st, "example.net", TLSRPT_POLICY_STS, TLSRPT_CERTIFICATE_EXPIRED,
		       "mx1.mail.example.net", "198.51.100.1", d + 3600 + i);
	record(st, "example.net", TLSRPT_POLICY_STS, TLSRPT_VALIDATION_FAILURE,
	       "mx2.mail.example.net", "198.51.100.2", d + 7200);
	record(st, "example.net", TLSRPT_POLICY_NONE, TLSRPT_SUCCESS, "mx.other", NULL,
	       d + DAY - 1);
	record(st, "example.net", TLSRPT_POLICY_NONE, TLSRPT_STARTTLS_NOT_SUPPORTED, "mx.other",
	       "203.0.113.9", d + 10);
}

struct pending_list {
	int n;
	int64_t day[8];
	uint64_t ok[8], bad[8];
};

static int pending_cb(const struct store_tlsrpt_pending *p, void *arg)
{
	struct pending_list *l = arg;

	assert_string_equal(p->policy_domain, "example.net");
	if (l->n < 8) {
		l->day[l->n] = p->day;
		l->ok[l->n] = p->successful;
		l->bad[l->n] = p->failed;
	}
	l->n++;
	return 0;
}

static void test_aggregate(void **state)
{
	struct store *st = open_store();
	struct arena *a = arena_new();
	struct tlsrpt_built b;
	struct pending_list pl = { 0 };
	struct sx_err err = { 0 };
	size_t i;

	(void)state;
	record_day(st, T0);
	record_day(st, T0 + DAY);
	assert_int_equal(store_tlsrpt_pending(st, NULL, 0, T0 + 10 * DAY, pending_cb, &pl, &err),
	                 0);
	assert_int_equal(pl.n, 2); /* one line per day, not per message */
	assert_int_equal(pl.day[0], T0);
	assert_int_equal(pl.day[1], T0 + DAY);
	assert_int_equal(pl.ok[0], 6);
	assert_int_equal(pl.bad[0], 5);

	assert_int_equal(
	    tlsrpt_report_build(a, st, &conf, "example.net", T0, T0 + DAY, NULL, &b, &err), 0);
	assert_int_equal(b.successful, 6);
	assert_int_equal(b.failed, 5);
	assert_int_equal(b.rep.npolicies, 2);
	assert_int_equal(b.rep.begin, T0);
	assert_int_equal(b.rep.end, T0 + DAY - 1);
	/* by type: no-policy-found, then sts */
	const struct store_tlsrpt_policy *np = &b.rep.policies[0], *sts = &b.rep.policies[1];
	assert_string_equal(np->policy_type, "no-policy-found");
	assert_int_equal(np->successful, 1);
	assert_int_equal(np->failed, 1);
	assert_int_equal(np->npolicy_string, 0);
	assert_string_equal(sts->policy_type, "sts");
	assert_string_equal(sts->policy_domain, "example.net");
	assert_int_equal(sts->npolicy_string, 4);
	assert_string_equal(sts->policy_string[2], "mx: *.mail.example.net");
	assert_int_equal(sts->nmx_host, 1);
	assert_int_equal(sts->successful, 5);
	assert_int_equal(sts->failed, 4);
	assert_int_equal(sts->nfailures, 2); /* largest first */
	assert_string_equal(sts->failures[0].result_type, "certificate-expired");
	assert_int_equal(sts->failures[0].count, 3);
	assert_string_equal(sts->failures[0].receiving_mx_hostname, "mx1.mail.example.net");
	assert_string_equal(sts->failures[1].result_type, "validation-failure");
	assert_string_equal(sts->failures[1].failure_reason_code, "X509_V_ERR_X");
	/* a two-day report sums both days */
	struct tlsrpt_built b2;
	assert_int_equal(
	    tlsrpt_report_build(a, st, &conf, "example.net", T0, T0 + 2 * DAY, NULL, &b2, &err), 0);
	assert_int_equal(b2.successful, 12);
	assert_int_equal(b2.rep.policies[1].failures[0].count, 6);
	/* nothing for another domain */
	assert_int_equal(
	    tlsrpt_report_build(a, st, &conf, "example.org", T0, T0 + DAY, NULL, &b2, &err), 1);

	/* marked reported: gone from pending; a late outcome for the same day
	 * starts a new counter instead of changing the reported one */
	assert_int_equal(
	    store_tlsrpt_mark_reported(st, "example.net", T0, T0 + DAY, b.rep.report_id, &err), 0);
	memset(&pl, 0, sizeof(pl));
	assert_int_equal(store_tlsrpt_pending(st, NULL, 0, T0 + 10 * DAY, pending_cb, &pl, &err),
	                 0);
	assert_int_equal(pl.n, 1);
	assert_int_equal(pl.day[0], T0 + DAY);
	record(st, "example.net", TLSRPT_POLICY_STS, TLSRPT_SUCCESS, "mx1.mail.example.net", NULL,
	       T0 + 5);
	memset(&pl, 0, sizeof(pl));
	assert_int_equal(store_tlsrpt_pending(st, NULL, 0, T0 + 10 * DAY, pending_cb, &pl, &err),
	                 0);
	assert_int_equal(pl.n, 2);
	assert_int_equal(pl.ok[0], 1);

	/* bad arguments */
	struct tlsrpt_outcome o = { .policy_domain = "", .result = TLSRPT_SUCCESS };
	assert_int_equal(tlsrpt_record(st, &o, T0, &err), -1);
	o.policy_domain = "x.example";
	o.result = (enum tlsrpt_result)99;
	assert_int_equal(tlsrpt_record(st, &o, T0, &err), -1);
	assert_int_equal(tlsrpt_record(NULL, &o, T0, &err), -1);
	(void)i;
	arena_free(a);
	store_close(st);
}

/* every result type is stored and reported under its RFC name */
static void test_all_results(void **state)
{
	struct store *st = open_store();
	struct arena *a = arena_new();
	struct tlsrpt_built b;
	struct sx_err err = { 0 };
	int r;

	(void)state;
	for (r = 0; r < TLSRPT_NRESULTS; r++)
		record(st, "all.example", TLSRPT_POLICY_TLSA, (enum tlsrpt_result)r,
		       "mx.all.example", "198.51.100.7", T0 + r);
	assert_int_equal(
	    tlsrpt_report_build(a, st, &conf, "all.example", T0, T0 + DAY, NULL, &b, &err), 0);
	assert_int_equal(b.rep.npolicies, 1);
	assert_int_equal(b.rep.policies[0].successful, 1);
	assert_int_equal(b.rep.policies[0].failed, TLSRPT_NRESULTS - 1);
	assert_int_equal(b.rep.policies[0].nfailures, TLSRPT_NRESULTS - 1);
	for (r = 1; r < TLSRPT_NRESULTS; r++) {
		bool found = false;
		for (size_t i = 0; i < b.rep.policies[0].nfailures; i++)
			found |= strcmp(b.rep.policies[0].failures[i].result_type,
			                tlsrpt_result_name((enum tlsrpt_result)r)) == 0;
		if (!found)
			fail_msg("%s missing", tlsrpt_result_name((enum tlsrpt_result)r));
		assert_non_null(strstr(b.json, tlsrpt_result_name((enum tlsrpt_result)r)));
	}
	arena_free(a);
	store_close(st);
}

/* ---- JSON structure (RFC 8460 4.4) ----------------------------------------------- */

static void expect_keys(json_t *o, const char *const *required, const char *const *allowed)
{
	const char *key;
	json_t *v;
	size_t i;

	assert_true(json_is_object(o));
	for (i = 0; required[i] != NULL; i++)
		if (json_object_get(o, required[i]) == NULL)
			fail_msg("member %s missing", required[i]);
	json_object_foreach(o, key, v)
	{
		bool ok = false;
		for (i = 0; required[i] != NULL && !ok; i++)
			ok = strcmp(key, required[i]) == 0;
		for (i = 0; allowed[i] != NULL && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok)
			fail_msg("unexpected member %s", key);
	}
}

static void test_json_structure(void **state)
{
	static const char *const top[] = { "organization-name", "date-range", "contact-info",
		                           "report-id",         "policies",   NULL };
	static const char *const none[] = { NULL };
	static const char *const dr[] = { "start-datetime", "end-datetime", NULL };
	static const char *const pol[] = { "policy", "summary", NULL };
	static const char *const pol_opt[] = { "failure-details", NULL };
	static const char *const policy[] = { "policy-type", NULL };
	static const char *const policy_opt[] = { "policy-string", "policy-domain", "mx-host",
		                                  NULL };
	static const char *const sum[] = { "total-successful-session-count",
		                           "total-failure-session-count", NULL };
	static const char *const fd[] = { "result-type", "failed-session-count", NULL };
	static const char *const fd_opt[] = { "sending-mta-ip",
		                              "receiving-mx-hostname",
		                              "receiving-mx-helo",
		                              "receiving-ip",
		                              "additional-information",
		                              "failure-reason-code",
		                              NULL };
	struct store *st = open_store();
	struct arena *a = arena_new();
	struct tlsrpt_built b;
	struct sx_err err = { 0 };
	json_error_t je;
	json_t *root, *p, *e;
	size_t i, j;

	(void)state;
	record_day(st, T0);
	assert_int_equal(
	    tlsrpt_report_build(a, st, &conf, "example.net", T0, T0 + DAY, NULL, &b, &err), 0);
	root = json_loads(b.json, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		fail_msg("JSON: %s", je.text);
	expect_keys(root, top, none);
	assert_string_equal(json_string_value(json_object_get(root, "organization-name")),
	                    "Sender & Co");
	assert_string_equal(json_string_value(json_object_get(root, "contact-info")),
	                    "tlsrpt@sender.example");
	expect_keys(json_object_get(root, "date-range"), dr, none);
	assert_string_equal(json_string_value(json_object_get(json_object_get(root, "date-range"),
	                                                      "start-datetime")),
	                    "2023-11-15T00:00:00Z");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(root, "date-range"), "end-datetime")),
	    "2023-11-15T23:59:59Z");
	json_array_foreach(json_object_get(root, "policies"), i, p)
	{
		expect_keys(p, pol, pol_opt);
		expect_keys(json_object_get(p, "policy"), policy, policy_opt);
		expect_keys(json_object_get(p, "summary"), sum, none);
		assert_true(json_is_integer(
		    json_object_get(json_object_get(p, "summary"), "total-failure-session-count")));
		json_array_foreach(json_object_get(p, "failure-details"), j, e)
		{
			expect_keys(e, fd, fd_opt);
			assert_true(json_is_integer(json_object_get(e, "failed-session-count")));
			assert_true(tlsrpt_result_parse(
			                json_string_value(json_object_get(e, "result-type"))) > 0);
		}
	}
	assert_int_equal(json_array_size(json_object_get(root, "policies")), 2);
	json_t *sts =
	    json_object_get(json_array_get(json_object_get(root, "policies"), 1), "policy");
	assert_string_equal(json_string_value(json_object_get(sts, "mx-host")),
	                    "*.mail.example.net");
	assert_int_equal(json_array_size(json_object_get(sts, "policy-string")), 4);
	json_decref(root);

	/* gzip of the JSON */
	size_t n;
	unsigned char *raw = report_gunzip(a, b.gz, b.gz_len, 1 << 20, 1 << 20, &n, &err);
	assert_non_null(raw);
	assert_int_equal(n, b.json_len);
	assert_memory_equal(raw, b.json, n);
	/* file name: sender!policy-domain!begin!end!id.json.gz */
	char want[128];
	snprintf(want, sizeof(want), "sender.example!example.net!%d!%d!", T0, T0 + DAY - 1);
	assert_int_equal(strncmp(b.filename, want, strlen(want)), 0);
	const char *id = b.filename + strlen(want);
	assert_int_equal(strlen(id), 16 + 8);
	for (i = 0; i < 16; i++)
		assert_true((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
	assert_string_equal(id + 16, ".json.gz");
	/* report-id: unique per build, msg-id shaped */
	struct tlsrpt_built b2;
	assert_int_equal(
	    tlsrpt_report_build(a, st, &conf, "example.net", T0, T0 + DAY, NULL, &b2, &err), 0);
	assert_string_not_equal(b.rep.report_id, b2.rep.report_id);
	assert_int_equal(strncmp(b.rep.report_id, "20231115.example.net.", 21), 0);
	assert_non_null(strstr(b.rep.report_id, "@sender.example"));
	/* given a report-id (a retry), the same one */
	assert_int_equal(tlsrpt_report_build(a, st, &conf, "example.net", T0, T0 + DAY,
	                                     b.rep.report_id, &b2, &err),
	                 0);
	assert_string_equal(b2.rep.report_id, b.rep.report_id);
	assert_string_equal(b2.filename, b.filename);
	arena_free(a);
	store_close(st);
}

/* ---- round trip and mail ----------------------------------------------------------- */

static void expect_same_report(const struct store_tlsrpt_report *x,
                               const struct store_tlsrpt_report *y)
{
	size_t i, j, k;

#define SAME(a, b) assert_string_equal((a) ? (a) : "", (b) ? (b) : "")
	SAME(x->org_name, y->org_name);
	SAME(x->contact_info, y->contact_info);
	SAME(x->report_id, y->report_id);
	assert_int_equal(x->begin, y->begin);
	assert_int_equal(x->end, y->end);
	assert_int_equal(x->npolicies, y->npolicies);
	for (i = 0; i < x->npolicies; i++) {
		const struct store_tlsrpt_policy *p = &x->policies[i], *q = &y->policies[i];
		SAME(p->policy_type, q->policy_type);
		SAME(p->policy_domain, q->policy_domain);
		assert_int_equal(p->npolicy_string, q->npolicy_string);
		for (k = 0; k < p->npolicy_string; k++)
			SAME(p->policy_string[k], q->policy_string[k]);
		assert_int_equal(p->nmx_host, q->nmx_host);
		for (k = 0; k < p->nmx_host; k++)
			SAME(p->mx_host[k], q->mx_host[k]);
		assert_int_equal(p->successful, q->successful);
		assert_int_equal(p->failed, q->failed);
		assert_int_equal(p->nfailures, q->nfailures);
		for (j = 0; j < p->nfailures; j++) {
			const struct store_tlsrpt_failure *f = &p->failures[j],
			                                  *g = &q->failures[j];
			SAME(f->result_type, g->result_type);
			SAME(f->sending_mta_ip, g->sending_mta_ip);
			SAME(f->receiving_mx_hostname, g->receiving_mx_hostname);
			SAME(f->receiving_mx_helo, g->receiving_mx_helo);
			SAME(f->receiving_ip, g->receiving_ip);
			SAME(f->additional_information, g->additional_information);
			SAME(f->failure_reason_code, g->failure_reason_code);
			assert_int_equal(f->count, g->count);
		}
	}
#undef SAME
}

static void test_roundtrip(void **state)
{
	struct store *st = open_store();
	struct arena *a = arena_new();
	struct store_tlsrpt_report *got;
	struct tlsrpt_built b;
	struct sx_err err = { 0 };
	size_t n, mlen;
	char *msg;
	static const char *const two_mx[] = { "mx1.example.org", "mx2.example.org" };
	static const char *const tlsa[] = { "3 1 1 0123abcd" };

	(void)state;
	record_day(st, T0);
	/* several mx-host patterns, a TLSA policy, non-ASCII and odd bytes */
	struct tlsrpt_outcome o = {
		.policy_domain = "example.net",
		.policy_type = TLSRPT_POLICY_TLSA,
		.policy_strings = tlsa,
		.npolicy_strings = 1,
		.mx_hosts = two_mx,
		.nmx_hosts = 2,
		.result = TLSRPT_DANE_REQUIRED,
		.receiving_mx_helo = "mx1 \"helo\" \xc3\xa9",
		.additional_information = "https://info.example/x?a=1&b=2",
		.failure_reason_code = "bad\r\nline \xff",
	};
	assert_int_equal(tlsrpt_record(st, &o, T0 + 99, &err), 0);
	assert_int_equal(
	    tlsrpt_report_build(a, st, &conf, "example.net", T0, T0 + DAY, NULL, &b, &err), 0);
	/* the gzip back */
	assert_int_equal(tlsrpt_import_parse(a, "x.json.gz", b.gz, b.gz_len, 0, &got, &n, &err), 0);
	assert_int_equal(n, 1);
	/* the stored invalid byte went out as U+FFFD */
	for (size_t i = 0; i < b.rep.npolicies; i++)
		for (size_t j = 0; j < b.rep.policies[i].nfailures; j++)
			if (b.rep.policies[i].failures[j].failure_reason_code &&
			    strstr(b.rep.policies[i].failures[j].failure_reason_code, "bad"))
				((struct store_tlsrpt_failure *)&b.rep.policies[i].failures[j])
				    ->failure_reason_code = "bad  line \xef\xbf\xbd";
	expect_same_report(&b.rep, &got[0]);
	/* the plain JSON back */
	assert_int_equal(tlsrpt_import_parse(a, "x.json", (const unsigned char *)b.json, b.json_len,
	                                     0, &got, &n, &err),
	                 0);
	expect_same_report(&b.rep, &got[0]);

	/* the mail (RFC 8460 5.3) back */
	msg = tlsrpt_report_message(a, &conf, &b, "reports@example.net", T0 + DAY + 60, &mlen);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "\r\nTLS-Report-Domain: example.net\r\n"));
	assert_non_null(strstr(msg, "\r\nTLS-Report-Submitter: sender.example\r\n"));
	assert_non_null(strstr(msg, "multipart/report; report-type=\"tlsrpt\""));
	assert_non_null(strstr(msg, "Content-Type: application/tlsrpt+gzip\r\n"));
	assert_non_null(strstr(msg, "Subject: Report Domain: example.net\r\n Submitter: "
	                            "sender.example\r\n Report-ID: <"));
	assert_non_null(strstr(msg, b.filename));
	assert_non_null(strstr(msg, "To: <reports@example.net>\r\n"));
	assert_int_equal(
	    tlsrpt_import_parse(a, "x.eml", (const unsigned char *)msg, mlen, 0, &got, &n, &err),
	    0);
	assert_int_equal(n, 1);
	expect_same_report(&b.rep, &got[0]);
	arena_free(a);
	store_close(st);
}

/* ---- hostile input ------------------------------------------------------------------ */

static unsigned char *gzip_of(struct arena *a, const void *data, size_t len, size_t *outlen)
{
	unsigned char *g = report_gzip(a, data, len, outlen);
	assert_non_null(g);
	return g;
}

static void expect_import_error(const void *data, size_t len, size_t max, const char *want)
{
	struct arena *a = arena_new();
	struct store_tlsrpt_report *r;
	struct sx_err err = { 0 };
	size_t n;

	if (tlsrpt_import_parse(a, "x", data, len, max, &r, &n, &err) == 0)
		fail_msg("accepted; want an error with '%s'", want);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error '%s', want '%s'", err.msg, want);
	arena_free(a);
}

#define GOOD_HEAD                                                                                  \
	"{\"organization-name\":\"X\",\"date-range\":{\"start-datetime\":\"2020-01-01T00:00:"      \
	"00Z\","                                                                                   \
	"\"end-datetime\":\"2020-01-01T23:59:59Z\"},\"report-id\":\"r1\",\"policies\":"

static void test_import_hostile(void **state)
{
	struct arena *a = arena_new();
	struct store_tlsrpt_report *r;
	struct sx_err err = { 0 };
	size_t n, glen, big = 64 * 1024 * 1024;
	char *deep;
	unsigned char *gz, *zeros;
	const char *s;

	(void)state;
	/* depth */
	deep = calloc(1, 20000);
	assert_non_null(deep);
	memcpy(deep, GOOD_HEAD, strlen(GOOD_HEAD));
	for (n = strlen(GOOD_HEAD); n < 19000; n++)
		deep[n] = '[';
	expect_import_error(deep, strlen(deep), 0, "nested more than");
	free(deep);
	/* gzip bomb: 64 MiB of zeros against a 1 MiB cap */
	zeros = calloc(1, big);
	assert_non_null(zeros);
	gz = gzip_of(a, zeros, big, &glen);
	free(zeros);
	assert_true(glen < 200 * 1024);
	expect_import_error(gz, glen, 1024 * 1024, "exceeds 1048576 bytes");
	/* gzip bomb inside a mail */
	/* broken JSON, wrong types, ranges, duplicates, missing fields */
	s = GOOD_HEAD "[{\"policy\":{\"policy-type\":\"sts\"},\"summary\":{"
	              "\"total-successful-session-count\":-1}}]}";
	expect_import_error(s, strlen(s), 0, "out of range");
	s = GOOD_HEAD "[{\"policy\":{\"policy-type\":\"sts\"},\"summary\":{"
	              "\"total-successful-session-count\":1e3}}]}";
	expect_import_error(s, strlen(s), 0, "not an integer");
	s = GOOD_HEAD "[{\"policy\":{\"policy-type\":\"sts\"},\"summary\":{"
	              "\"total-successful-session-count\":99999999999999999999}}]}";
	expect_import_error(s, strlen(s), 0, "JSON");
	s = GOOD_HEAD "[],"
	              "\"report-id\":\"again\"}";
	expect_import_error(s, strlen(s), 0, "duplicate");
	s = GOOD_HEAD "[{\"summary\":{}}]}";
	expect_import_error(s, strlen(s), 0, "policy");
	s = GOOD_HEAD "[{\"policy\":{\"policy-type\":7}}]}";
	expect_import_error(s, strlen(s), 0, "not a string");
	s = GOOD_HEAD "[{\"policy\":{\"policy-type\":\"sts\"},\"failure-details\":[{}]}]}";
	expect_import_error(s, strlen(s), 0, "result-type");
	s = "{\"organization-name\":\"X\",\"report-id\":\"r\",\"policies\":[]}";
	expect_import_error(s, strlen(s), 0, "date-range");
	s = "{\"organization-name\":\"X\",\"date-range\":{\"start-datetime\":\"yesterday\","
	    "\"end-datetime\":\"2020-01-01T23:59:59Z\"},\"report-id\":\"r\",\"policies\":[]}";
	expect_import_error(s, strlen(s), 0, "RFC 3339");
	s = "{\"organization-name\":\"X\"";
	expect_import_error(s, strlen(s), 0, "JSON");
	s = "{\"a\":\"\\u0000\"}";
	expect_import_error(s, strlen(s), 0, "JSON");
	s = "[1,2]";
	expect_import_error(s, strlen(s), 0, "neither");
	s = "Subject: hi\r\n\r\nno report here\r\n";
	expect_import_error(s, strlen(s), 0, "without a TLS-RPT report");
	expect_import_error("", 0, 0, "empty");
	/* a truncated gzip */
	gz = gzip_of(a, GOOD_HEAD "[]}", strlen(GOOD_HEAD "[]}"), &glen);
	expect_import_error(gz, glen - 6, 0, "gzip");
	/* a good one: mx-host as a string or a list, unknown types kept */
	s = GOOD_HEAD "[{\"policy\":{\"policy-type\":\"other-type\",\"mx-host\":\"a.example\"},"
	              "\"summary\":{\"total-successful-session-count\":3},"
	              "\"failure-details\":[{\"result-type\":\"new-kind\","
	              "\"failed-session-count\":2}]},"
	              "{\"policy\":{\"policy-type\":\"sts\",\"mx-host\":[\"a\",\"b\"]}}],"
	              "\"unknown\":{\"x\":[1]}}";
	assert_int_equal(
	    tlsrpt_import_parse(a, "x", (const unsigned char *)s, strlen(s), 0, &r, &n, &err), 0);
	assert_int_equal(r[0].npolicies, 2);
	assert_string_equal(r[0].policies[0].policy_type, "other-type");
	assert_int_equal(r[0].policies[0].nmx_host, 1);
	assert_string_equal(r[0].policies[0].failures[0].result_type, "new-kind");
	assert_int_equal(r[0].policies[1].nmx_host, 2);
	assert_int_equal(r[0].begin, 1577836800);
	arena_free(a);
}

struct time_case {
	const char *s;
	int rc;
	int64_t t;
};

static void test_time_parse(void **state)
{
	static const struct time_case cases[] = {
		{ "2016-04-01T00:00:00Z", 0, 1459468800 },
		{ "2016-04-01T23:59:59Z", 0, 1459555199 },
		{ "2016-04-01t23:59:59z", 0, 1459555199 },
		{ "2016-04-01T23:59:59.999Z", 0, 1459555199 },
		{ "2016-04-02T01:59:59+02:00", 0, 1459555199 },
		{ "2016-04-01T22:59:59-01:00", 0, 1459555199 },
		{ "2016-04-01 23:59:59Z", 0, 1459555199 },
		{ "2016-04-01", -1, 0 },
		{ "2016-04-01T23:59:59", -1, 0 },
		{ "2016-13-01T00:00:00Z", -1, 0 },
		{ "2016-04-01T24:00:00Z", -1, 0 },
		{ "2016-04-01T23:59:59.Z", -1, 0 },
		{ "2016-04-01T23:59:59+0200", -1, 0 },
		{ "+016-04-01T23:59:59Z", -1, 0 },
		{ "2016-04-01T23:59:59Zjunk", -1, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t t = 0;
		int rc = tlsrpt_time_parse(cases[i].s, &t);
		if (rc != cases[i].rc || (rc == 0 && t != cases[i].t))
			fail_msg("%s: %d %lld", cases[i].s, rc, (long long)t);
	}
	assert_int_equal(tlsrpt_time_parse(NULL, &(int64_t){ 0 }), -1);
}

/* ---- destinations, import and summary ------------------------------------------------ */

struct dest_seen {
	int n;
	char status[4][16];
	char report_id[64];
	unsigned tries[4];
};

static int dest_cb(const struct store_tlsrpt_dest *d, void *arg)
{
	struct dest_seen *s = arg;

	if (s->n < 4) {
		snprintf(s->status[s->n], sizeof(s->status[0]), "%s", d->status);
		snprintf(s->report_id, sizeof(s->report_id), "%s", d->report_id);
		s->tries[s->n] = d->tries;
	}
	s->n++;
	return 0;
}

struct summary_seen {
	int n;
	char line[8][160];
};

static int summary_cb(const struct store_tlsrpt_summary *s, void *arg)
{
	struct summary_seen *w = arg;

	if (w->n < 8)
		snprintf(w->line[w->n], sizeof(w->line[0]), "%s|%s|%s|%s|%s|%llu|%llu|%llu",
		         s->policy_domain, s->org_name ? s->org_name : "-",
		         s->policy_type ? s->policy_type : "-",
		         s->result_type ? s->result_type : "-",
		         s->receiving_mx_hostname ? s->receiving_mx_hostname : "-",
		         (unsigned long long)s->reports, (unsigned long long)s->successful,
		         (unsigned long long)s->failed);
	w->n++;
	return 0;
}

static void test_dest_import_summary(void **state)
{
	struct store *st = open_store();
	struct arena *a = arena_new();
	struct store_tlsrpt_report *r;
	struct dest_seen ds = { 0 };
	struct summary_seen ss = { 0 };
	struct sx_err err = { 0 };
	size_t n;
	struct store_tlsrpt_dest d = { .policy_domain = "example.net",
		                       .begin = T0,
		                       .report_id = "id-1@x",
		                       .uri = "https://r.example/",
		                       .status = "pending",
		                       .note = "https not available",
		                       .time = T0 };
	const char *rfc =
	    "{\"organization-name\":\"Company-X\",\"date-range\":{\"start-datetime\":"
	    "\"2016-04-01T00:00:00Z\",\"end-datetime\":\"2016-04-01T23:59:59Z\"},\"contact-info\":"
	    "\"sts-reporting@company-x.example\",\"report-id\":\"5065427c\",\"policies\":[{"
	    "\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"Company-Y.example\"},"
	    "\"summary\":{\"total-successful-session-count\":5326,\"total-failure-session-count\":"
	    "303},\"failure-details\":[{\"result-type\":\"certificate-expired\","
	    "\"receiving-mx-hostname\":\"mx1.mail.company-y.example\",\"failed-session-count\":"
	    "100},{\"result-type\":\"starttls-not-supported\",\"receiving-mx-hostname\":"
	    "\"mx2.mail.company-y.example\",\"failed-session-count\":200},{\"result-type\":"
	    "\"certificate-expired\",\"receiving-mx-hostname\":\"mx1.mail.company-y.example\","
	    "\"failed-session-count\":3}]}]}";

	(void)state;
	assert_int_equal(store_tlsrpt_dest_set(st, &d, &err), 0);
	d.uri = "mailto:r@example.net";
	d.status = "sent";
	assert_int_equal(store_tlsrpt_dest_set(st, &d, &err), 0);
	d.uri = "https://r.example/";
	d.status = "sent";
	assert_int_equal(store_tlsrpt_dest_set(st, &d, &err), 0);
	assert_int_equal(store_tlsrpt_dests(st, "Example.net", T0, dest_cb, &ds, &err), 0);
	assert_int_equal(ds.n, 2);
	assert_string_equal(ds.status[0], "sent");
	assert_int_equal(ds.tries[0], 2); /* https: pending, then sent */
	assert_int_equal(ds.tries[1], 1);
	assert_string_equal(ds.report_id, "id-1@x");
	d.status = NULL;
	assert_int_equal(store_tlsrpt_dest_set(st, &d, &err), -1);

	assert_int_equal(tlsrpt_import_parse(a, "rfc.json", (const unsigned char *)rfc, strlen(rfc),
	                                     0, &r, &n, &err),
	                 0);
	assert_int_equal(store_tlsrpt_import_add(st, &r[0], &err), 0);
	assert_int_equal(store_tlsrpt_import_add(st, &r[0], &err), 1); /* duplicate */
	assert_int_equal(store_tlsrpt_summary(st, "company-y.example", 0, INT64_MAX,
	                                      STORE_TLSRPT_BY_ORG, summary_cb, &ss, &err),
	                 0);
	assert_int_equal(ss.n, 1);
	assert_string_equal(ss.line[0], "company-y.example|Company-X|sts|-|-|1|5326|303");
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(store_tlsrpt_summary(st, NULL, 0, INT64_MAX, STORE_TLSRPT_BY_FAILURE,
	                                      summary_cb, &ss, &err),
	                 0);
	assert_int_equal(ss.n, 2);
	assert_string_equal(
	    ss.line[0],
	    "company-y.example|-|-|starttls-not-supported|mx2.mail.company-y.example|1|0|200");
	assert_string_equal(
	    ss.line[1],
	    "company-y.example|-|-|certificate-expired|mx1.mail.company-y.example|1|0|103");
	/* outside the time window: nothing */
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(store_tlsrpt_summary(st, NULL, 1459555199, INT64_MAX, STORE_TLSRPT_BY_ORG,
	                                      summary_cb, &ss, &err),
	                 0);
	assert_int_equal(ss.n, 0);
	arena_free(a);
	store_close(st);
}

/* ---- the tls_reports section ------------------------------------------------- */

static void test_config_section(void **state)
{
	static const char good[] = "server:\n  hostname: mx.sender.example\n"
	                           "tls_reports:\n  enabled: true\n  interval: 2d\n"
	                           "  submitter: reports.sender.example\n";
	static const char bad[] = "tls_reports:\n  interval: 36h\n";
	struct config_diag diag = { 0 };
	struct smexop_config *cfg;
	char line[512];

	(void)state;
	cfg = config_load_mem("good.yaml", good, strlen(good), &diag);
	assert_non_null(cfg);
	assert_true(cfg->tls_reports.enabled);
	assert_int_equal(cfg->tls_reports.interval_ms, 2 * DAY * 1000ULL);
	assert_string_equal(cfg->tls_reports.email, "noreply-tlsrpt@mx.sender.example");
	assert_string_equal(cfg->tls_reports.org_name, "mx.sender.example");
	struct tlsrpt_conf c = { .org_name = cfg->tls_reports.org_name,
		                 .email = cfg->tls_reports.email,
		                 .submitter = cfg->tls_reports.submitter };
	assert_string_equal(tlsrpt_submitter(&c), "reports.sender.example");
	c.submitter = NULL;
	assert_string_equal(tlsrpt_submitter(&c), "mx.sender.example");
	config_free(cfg);
	/* defaults: off, one day, 16 MiB */
	cfg = config_load(NULL, &diag);
	assert_non_null(cfg);
	assert_false(cfg->tls_reports.enabled);
	assert_int_equal(cfg->tls_reports.interval_ms, DAY * 1000ULL);
	assert_int_equal(cfg->tls_reports.max_import_size, 16 * 1024 * 1024);
	config_free(cfg);
	/* whole days only */
	memset(&diag, 0, sizeof(diag));
	cfg = config_load_mem("bad.yaml", bad, strlen(bad), &diag);
	assert_null(cfg);
	assert_true(diag.n >= 1);
	assert_non_null(strstr(config_error_format(&diag, 0, line, sizeof(line)), "whole days"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_parse),   cmocka_unit_test(test_record_select),
		cmocka_unit_test(test_result_names),   cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_all_results),    cmocka_unit_test(test_json_structure),
		cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_import_hostile),
		cmocka_unit_test(test_time_parse),     cmocka_unit_test(test_dest_import_summary),
		cmocka_unit_test(test_config_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
