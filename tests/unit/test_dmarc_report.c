/* Unit tests for report/: aggregate report XML validated against the
 * RFC 7489 Appendix C schema, grouping, report ids and interval
 * boundaries, destination authorisation (RFC 7489 7.1) on an in-memory
 * zone, import of every sample in ../shared/conformance (with the
 * stalwart expectations compared field by field), broken and hostile
 * inputs (XXE, gzip and zip bombs), a record -> report -> import ->
 * summary round trip, failure reports and fo=, and the MIME walker.
 * argv[1] is the shared directory. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <event2/event.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/dns_zone.h"
#include "core/str.h"
#include "mime/multipart.h"
#include "report/dmarc_report.h"
#include "report/report_util.h"

static const char *shared = "../shared";
static char tmpdir[64];

static const struct dmarc_report_conf conf = {
	.org_name = "Receiver & Co",
	.email = "dmarc@receiver.example",
	.extra_contact_info = "https://receiver.example/dmarc",
};

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_dmarc_report.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	*len = fread(p, 1, (size_t)n, f);
	p[*len] = '\0';
	fclose(f);
	return p;
}

static struct store *open_store(const char *name)
{
	char path[128];
	struct store_options o = { .backend = STORE_BACKEND_SQLITE, .path = path };
	struct sx_err err = { 0 };
	struct store *st;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	st = store_open(&o, &err);
	if (st == NULL)
		print_error("%s\n", err.msg);
	assert_non_null(st);
	return st;
}

/* ---- schema validation ---------------------------------------------------- */

/* validate - 0 when xml is valid under the Appendix C schema.  The schema
 * has a target namespace but no elementFormDefault, so only the root is
 * qualified in a valid document; our reports (like Google's, Yahoo's and
 * Microsoft's) use no namespace, so the root is put into it here. */
static int validate(const char *xml, size_t len)
{
	char xsd[512];
	xmlSchemaParserCtxtPtr pc;
	xmlSchemaPtr schema;
	xmlSchemaValidCtxtPtr vc;
	xmlDocPtr doc;
	int rc;

	snprintf(xsd, sizeof(xsd), "%s/conformance/dmarc-schema/rfc7489-rua-schema.xsd", shared);
	/* The schema refers to its own types unprefixed without declaring its
	 * target namespace as the default one, which libxml2 (rightly) takes as
	 * references to no namespace; the declaration is added here. */
	size_t xlen;
	char *text = (char *)read_all(xsd, &xlen);
	assert_non_null(text);
	const char *tn = "targetNamespace=\"http://dmarc.org/dmarc-xml/0.1\"";
	char *at = strstr(text, tn);
	assert_non_null(at);
	char *fixed = malloc(xlen + 64);
	size_t pre = (size_t)(at - text);
	memcpy(fixed, text, pre);
	static const char decl[] = "xmlns=\"http://dmarc.org/dmarc-xml/0.1\" ";
	memcpy(fixed + pre, decl, sizeof(decl) - 1);
	size_t k = pre + sizeof(decl) - 1;
	memcpy(fixed + k, at, xlen - pre);
	pc = xmlSchemaNewMemParserCtxt(fixed, (int)(k + xlen - pre));
	assert_non_null(pc);
	schema = xmlSchemaParse(pc);
	assert_non_null(schema);
	doc = xmlReadMemory(xml, (int)len, "r.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlSetNs(root, xmlNewNs(root, BAD_CAST "http://dmarc.org/dmarc-xml/0.1", BAD_CAST "d"));
	vc = xmlSchemaNewValidCtxt(schema);
	rc = xmlSchemaValidateDoc(vc, doc);
	xmlSchemaFreeValidCtxt(vc);
	xmlFreeDoc(doc);
	xmlSchemaFree(schema);
	xmlSchemaFreeParserCtxt(pc);
	free(fixed);
	free(text);
	return rc;
}

static void test_xml_schema(void **state)
{
	static const struct store_dmarc_dkim dk[] = {
		{ "example.com", "s1", "pass", NULL },
		{ "other.net", "x", "fail", "body hash <&> \"mismatch\"" },
	};
	static const struct store_dmarc_spf sp[] = { { "example.com", "mfrom", "softfail" } };
	struct store_dmarc_row rows[3] = { 0 };
	struct dmarc_report r = {
		.domain = "example.com", .begin = 86400, .end = 2 * 86400, .report_id = "id-1"
	};
	const char *rec = "v=DMARC1; p=reject; sp=quarantine; pct=50; fo=1:d; adkim=s";
	struct arena *a = arena_new();
	char *xml;
	size_t len;

	(void)state;
	dmarc_record_parse(a, rec, strlen(rec), &r.rec);
	for (int i = 0; i < 3; i++) {
		rows[i].count = (uint64_t)i + 1;
		rows[i].ev.header_from = "example.com";
		rows[i].ev.envelope_from = i == 2 ? "" : "bounce.example.com";
		rows[i].ev.disposition = "reject";
		rows[i].ev.dkim_eval = "fail";
		rows[i].ev.spf_eval = "pass";
		rows[i].ev.spf = sp;
		rows[i].ev.nspf = 1;
	}
	rows[0].ev.source_ip = "192.0.2.1";
	rows[1].ev.source_ip = "2001:db8::1";
	rows[1].ev.dkim = dk;
	rows[1].ev.ndkim = 2;
	rows[1].ev.envelope_to = "receiver.example";
	rows[2].ev.source_ip = "::ffff:198.51.100.3";
	rows[2].ev.reason = "sampled_out";
	rows[2].ev.reason_comment = "pct=50";
	rows[2].ev.disposition = "quarantine";
	xml = dmarc_report_xml(a, &conf, &r, rows, 3, &len);
	assert_non_null(xml);
	assert_int_equal(validate(xml, len), 0);
	assert_non_null(strstr(xml, "<source_ip>2001:db8:0:0:0:0:0:1</source_ip>"));
	assert_non_null(strstr(xml, "<source_ip>198.51.100.3</source_ip>"));
	assert_non_null(strstr(xml, "<end>172799</end>"));
	assert_non_null(strstr(xml, "<fo>1:d</fo>"));
	assert_non_null(strstr(xml, "<org_name>Receiver &amp; Co</org_name>"));
	assert_non_null(strstr(xml, "&lt;&amp;&gt;"));
	/* the validation can fail: a report without <version> does not pass */
	char *v = strstr(xml, "<version>1.0</version>");
	assert_non_null(v);
	memcpy(v, "<!-- sion>1.0</vers-->", 22);
	assert_int_not_equal(validate(xml, len), 0);
	arena_free(a);
}

/* ---- recording, grouping, intervals ---------------------------------------- */

static struct dmarc_outcome outcome(struct arena *a, const char *record, bool spf_al, bool dkim_al,
                                    enum dmarc_policy disp)
{
	struct dmarc_outcome o = { 0 };

	o.result = spf_al || dkim_al ? DMARC_RESULT_PASS : DMARC_RESULT_FAIL;
	o.disposition = disp;
	o.from_domain = "example.com";
	o.org_domain = "example.com";
	o.record_domain = "example.com";
	o.record = record;
	dmarc_record_parse(a, record, strlen(record), &o.rec);
	o.policy = o.rec.p;
	o.policy_tag = "p";
	o.spf_aligned = spf_al;
	o.dkim_aligned = dkim_al;
	o.dkim_domain = dkim_al ? "example.com" : NULL;
	o.reason = "test";
	return o;
}

static void record(struct store *st, struct arena *a, int64_t t, const char *ip, bool pass)
{
	static const struct dmarc_report_dkim dk[] = { { "example.com", "sel", DKIM_PASS } };
	static const struct dmarc_report_dkim dkf[] = { { "example.com", "sel", DKIM_FAIL } };
	struct dmarc_outcome o = outcome(a, "v=DMARC1; p=reject; rua=mailto:agg@example.com", pass,
	                                 pass, pass ? DMARC_POLICY_NONE : DMARC_POLICY_REJECT);
	struct dmarc_report_msg m = {
		.source_ip = ip,
		.mail_from = pass ? "bounce@Example.com" : "x@spammer.test",
		.helo = "mx.example.com",
		.rcpt_domain = "receiver.example",
		.spf = pass ? SPF_PASS : SPF_FAIL,
		.dkim = pass ? dk : dkf,
		.ndkim = 1,
	};
	struct sx_err err = { 0 };

	if (dmarc_report_record(st, &o, &m, t, &err) != 0)
		fail_msg("%s", err.msg);
}

static char *gunzip(const unsigned char *gz, size_t len, size_t *outlen)
{
	z_stream z = { 0 };
	char *out = malloc(1 << 20);

	assert_int_equal(inflateInit2(&z, 15 + 32), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)gz;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (1 << 20) - 1;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = z.total_out;
	out[*outlen] = '\0';
	inflateEnd(&z);
	return out;
}

static void test_build(void **state)
{
	struct store *st = open_store("build.db");
	struct arena *a = arena_new();
	struct dmarc_report r, r2;
	struct sx_err err = { 0 };
	const int64_t B = 1700006400, E = B + 86400; /* a UTC midnight */
	size_t len;

	(void)state;
	record(st, a, B - 1, "192.0.2.1", true); /* the interval before */
	record(st, a, B, "192.0.2.1", true);     /* first second: in */
	record(st, a, B + 10, "192.0.2.1", true);
	record(st, a, B + 20, "192.0.2.1", false);
	record(st, a, E - 1, "2001:db8::5", true); /* last second: in */
	record(st, a, E, "192.0.2.1", true);       /* the next interval */
	assert_int_equal(dmarc_report_build(a, st, &conf, "example.com", B, E, &r, &err), 0);
	assert_int_equal(r.messages, 4);
	assert_int_equal(r.rows, 3);
	assert_string_equal(r.filename,
	                    "receiver.example!example.com!1700006400!1700092799.xml.gz");
	assert_non_null(strstr(r.report_id, "example.com.1700006400.1700092799."));
	assert_int_equal(validate(r.xml, r.xml_len), 0);
	char *x = gunzip(r.gz, r.gz_len, &len);
	assert_int_equal(len, r.xml_len);
	assert_memory_equal(x, r.xml, len);
	free(x);
	assert_non_null(strstr(r.xml, "<count>2</count>"));
	assert_non_null(strstr(r.xml, "<envelope_from>example.com</envelope_from>"));
	assert_non_null(strstr(r.xml, "<envelope_to>receiver.example</envelope_to>"));
	assert_non_null(strstr(r.xml, "<envelope_from>spammer.test</envelope_from>"));
	/* a second build of the same interval gets another id */
	assert_int_equal(dmarc_report_build(a, st, &conf, "example.com", B, E, &r2, &err), 0);
	assert_string_not_equal(r.report_id, r2.report_id);
	struct store_dmarc_sent sent = { .policy_domain = "example.com",
		                         .begin = B,
		                         .end = E,
		                         .report_id = r.report_id,
		                         .created = E };
	assert_int_equal(store_dmarc_mark_reported(st, &sent, &err), 0);
	assert_int_equal(dmarc_report_build(a, st, &conf, "example.com", B, E, &r2, &err), 1);
	/* the neighbours are still there */
	assert_int_equal(dmarc_report_build(a, st, &conf, "example.com", E, E + 86400, &r2, &err),
	                 0);
	assert_int_equal(r2.messages, 1);
	assert_int_equal(dmarc_report_build(a, st, &conf, "example.com", B - 86400, B, &r2, &err),
	                 0);
	assert_int_equal(r2.messages, 1);
	assert_int_equal(dmarc_report_build(a, st, &conf, "other.org", B, E, &r2, &err), 1);
	/* no record: nothing is stored */
	struct dmarc_outcome none = { .result = DMARC_RESULT_NONE, .from_domain = "x.org" };
	struct dmarc_report_msg m = { .source_ip = "192.0.2.1" };
	assert_int_equal(dmarc_report_record(st, &none, &m, B, &err), 0);
	assert_int_equal(dmarc_report_record(NULL, &none, &m, B, &err), -1);
	store_close(st);
	arena_free(a);
}

/* ---- destinations ------------------------------------------------------------- */

static void auth_done(void *arg)
{
	*(int *)arg += 1;
}

static void test_authorise(void **state)
{
	static const char zone[] = "$TTL 300\n"
	                           "example.com._report._dmarc.thirdparty.net. TXT \"v=DMARC1\"\n"
	                           "example.com._report._dmarc.wrong.net. TXT \"v=spf1 -all\"\n"
	                           "other.org._report._dmarc.nothing.org. TXT \"v=DMARC1\"\n";
	const char *rec = "v=DMARC1; p=none; rua=mailto:a@example.com,"
	                  "mailto:b@thirdparty.net!10m,mailto:c@wrong.net,mailto:d@nothing.org,"
	                  "mailto:e@tempfail.net,https://reports.example.com/x,"
	                  "mailto:f@reports.Example.com";
	struct dmarc_report_dest *d;
	struct dmarc_record r;
	struct arena *a = arena_new();
	struct dns_zone *z = dns_zone_new();
	struct event_base *base = event_base_new();
	struct sx_err err = { 0 };
	struct dns *dns;
	int done = 0;
	size_t n;

	(void)state;
	assert_int_equal(dns_zone_load_text(z, "t", zone, strlen(zone), NULL, &err), 0);
	assert_int_equal(dns_zone_add_failure(z, "example.com._report._dmarc.tempfail.net",
	                                      DNS_T_TXT, DNS_SERVFAIL),
	                 0);
	dns = dns_new_zone(base, z);
	dmarc_record_parse(a, rec, strlen(rec), &r);
	n = dmarc_report_dests(a, NULL, "example.com", &r, false, &d);
	assert_int_equal(n, 7);
	assert_int_equal(d[0].status, DMARC_DEST_OK);
	assert_false(d[0].external);
	assert_int_equal(d[1].status, DMARC_DEST_PENDING);
	assert_int_equal(d[1].max_bytes, 10 * 1024 * 1024);
	assert_int_equal(d[5].status, DMARC_DEST_NOT_MAILTO);
	assert_int_equal(d[6].status, DMARC_DEST_OK); /* a subdomain of the same org */
	assert_string_equal(dmarc_report_auth_name(a, "example.com", "thirdparty.net"),
	                    "example.com._report._dmarc.thirdparty.net");
	assert_int_equal(
	    dmarc_report_authorise_start(dns, a, "example.com", d, n, auth_done, &done), 0);
	event_base_dispatch(base);
	assert_int_equal(done, 1);
	assert_int_equal(d[1].status, DMARC_DEST_OK);
	assert_int_equal(d[2].status, DMARC_DEST_UNAUTHORISED);
	assert_int_equal(d[3].status, DMARC_DEST_UNAUTHORISED); /* authorised for other.org only */
	assert_int_equal(d[4].status, DMARC_DEST_TEMPFAIL);
	/* nothing pending: done is not called */
	assert_int_equal(
	    dmarc_report_authorise_start(dns, a, "example.com", d, 1, auth_done, &done), 1);
	/* the report mail goes to the authorised ones only */
	struct dmarc_report rep = { .domain = "example.com",
		                    .begin = 0,
		                    .end = 86400,
		                    .report_id = "rid",
		                    .messages = 1,
		                    .rows = 1,
		                    .filename = "receiver.example!example.com!0!86399.xml.gz" };
	unsigned char gz[] = { 1, 2, 3, 4, 5 };
	rep.gz = gz;
	rep.gz_len = sizeof(gz);
	size_t mlen;
	char *msg = dmarc_report_message(a, &conf, &rep, d, n, 1700000000, &mlen);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "<a@example.com>"));
	assert_non_null(strstr(msg, "<b@thirdparty.net>"));
	assert_null(strstr(msg, "c@wrong.net"));
	assert_non_null(strstr(msg,
	                       "Subject: Report Domain: example.com Submitter: receiver.example "
	                       "Report-ID: <rid>"));
	assert_non_null(strstr(msg, "filename=\"receiver.example!example.com!0!86399.xml.gz\""));
	assert_non_null(strstr(msg, "AQIDBAU=")); /* the gzip bytes, base64 */
	dns_free(dns);
	dns_zone_free(z);
	event_base_free(base);
	arena_free(a);
}

/* ---- import --------------------------------------------------------------------- */

static bool expected_broken(const char *path, const char *name)
{
	static const char *const broken[] = {
		"bad.com!example.com!1337140800!1337227200.xml", /* `<foo` in a value */
		"invalid_xml.xml",                               /* `<bad-xml@...>` */
		"empty.xml",
	};
	/* the five failure (ruf) reports are not aggregate reports */
	if (strstr(path, "/failure/") != NULL)
		return true;
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++)
		if (strcmp(name, broken[i]) == 0)
			return true;
	return false;
}

static void import_dir(const char *path, unsigned *ok, unsigned *bad)
{
	DIR *d = opendir(path);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char p[1024];
		struct stat sb;
		if (e->d_name[0] == '.' || strcmp(e->d_name, "LICENSE") == 0 ||
		    strstr(e->d_name, ".txt") != NULL)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		assert_int_equal(stat(p, &sb), 0);
		if (S_ISDIR(sb.st_mode)) {
			import_dir(p, ok, bad);
			continue;
		}
		size_t len, n;
		unsigned char *data = read_all(p, &len);
		struct arena *a = arena_new();
		struct store_dmarc_import *r;
		struct sx_err err = { 0 };
		int rc = dmarc_import_parse(a, p, data, len, 0, &r, &n, &err);
		if (expected_broken(p, e->d_name)) {
			if (rc == 0)
				fail_msg("%s: imported, but it is broken", p);
			assert_true(err.msg[0] != '\0');
			(*bad)++;
		} else {
			if (rc != 0)
				fail_msg("%s: %s", p, err.msg);
			assert_true(n >= 1);
			assert_true(r[0].nrows >= 1);
			assert_non_null(r[0].org_name);
			assert_non_null(r[0].report_id);
			assert_true(r[0].end >= r[0].begin);
			(*ok)++;
		}
		arena_free(a);
		free(data);
	}
	closedir(d);
}

static void test_import_samples(void **state)
{
	char p[512];
	unsigned ok = 0, bad = 0;

	(void)state;
	snprintf(p, sizeof(p), "%s/conformance/dmarc-report-samples", shared);
	import_dir(p, &ok, &bad);
	assert_int_equal(bad, 8);
	assert_int_equal(ok, 27);
}

/* jstr_lower - a JSON enum value as we store it: "Quarantine" -> quarantine;
 * "Unspecified" and null -> NULL */
static const char *jstr_lower(json_t *j, char *buf, size_t size)
{
	const char *s = json_string_value(j);

	if (s == NULL || strcmp(s, "Unspecified") == 0)
		return NULL;
	snprintf(buf, size, "%s", strcmp(s, "MailFrom") == 0 ? "mfrom" : s);
	return str_lower_inplace(buf);
}

static void expect_str(const char *file, const char *what, const char *want, const char *got)
{
	if (want == NULL || want[0] == '\0')
		return; /* not given: ours may be NULL or "" */
	if (got == NULL || strcmp(want, got) != 0)
		fail_msg("%s: %s: want '%s', got '%s'", file, what, want, got ? got : "(null)");
}

static void test_import_stalwart(void **state)
{
	static const char *const names[] = {
		"001.xml", "002.xml", "003.xml", "004.xml", "005.xml",
		"100.eml", "101.eml", "102.eml", "103.eml", "104.eml"
	};
	char p[512], b1[64];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct store_dmarc_import *r;
		struct sx_err err = { 0 };
		struct arena *a = arena_new();
		json_error_t jerr;
		size_t len, n;

		snprintf(p, sizeof(p), "%s/conformance/stalwart-mail-auth/dmarc-feedback/%s",
		         shared, names[i]);
		unsigned char *data = read_all(p, &len);
		assert_non_null(data);
		if (dmarc_import_parse(a, p, data, len, 0, &r, &n, &err) != 0)
			fail_msg("%s: %s", p, err.msg);
		assert_int_equal(n, 1);
		memcpy(p + strlen(p) - 3, "json", 5);
		json_t *j = json_load_file(p, 0, &jerr);
		assert_non_null(j);
		json_t *md = json_object_get(j, "report_metadata"),
		       *pp = json_object_get(j, "policy_published"),
		       *recs = json_object_get(j, "record");
		expect_str(p, "org_name", json_string_value(json_object_get(md, "org_name")),
		           r->org_name);
		expect_str(p, "report_id", json_string_value(json_object_get(md, "report_id")),
		           r->report_id);
		expect_str(p, "email", json_string_value(json_object_get(md, "email")), r->email);
		json_t *dr = json_object_get(md, "date_range");
		assert_int_equal(json_integer_value(json_object_get(dr, "begin")), r->begin);
		assert_int_equal(json_integer_value(json_object_get(dr, "end")), r->end);
		expect_str(p, "domain", json_string_value(json_object_get(pp, "domain")),
		           r->domain);
		expect_str(p, "p", jstr_lower(json_object_get(pp, "p"), b1, sizeof(b1)), r->p);
		expect_str(p, "sp", jstr_lower(json_object_get(pp, "sp"), b1, sizeof(b1)), r->sp);
		assert_int_equal(json_array_size(recs), r->nrows);
		for (size_t k = 0; k < r->nrows; k++) {
			json_t *rec = json_array_get(recs, k), *row = json_object_get(rec, "row"),
			       *id = json_object_get(rec, "identifiers"),
			       *ar = json_object_get(rec, "auth_results"),
			       *pe = json_object_get(row, "policy_evaluated");
			const struct store_dmarc_import_row *w = &r->rows[k];
			expect_str(p, "source_ip",
			           json_string_value(json_object_get(row, "source_ip")),
			           w->source_ip);
			assert_int_equal(json_integer_value(json_object_get(row, "count")),
			                 w->count);
			expect_str(p, "header_from",
			           json_string_value(json_object_get(id, "header_from")),
			           w->header_from);
			expect_str(p, "envelope_from",
			           json_string_value(json_object_get(id, "envelope_from")),
			           w->envelope_from);
			expect_str(p, "disposition",
			           jstr_lower(json_object_get(pe, "disposition"), b1, sizeof(b1)),
			           w->disposition);
			expect_str(p, "dkim",
			           jstr_lower(json_object_get(pe, "dkim"), b1, sizeof(b1)),
			           w->dkim_eval);
			expect_str(p, "spf", jstr_lower(json_object_get(pe, "spf"), b1, sizeof(b1)),
			           w->spf_eval);
			json_t *jd = json_object_get(ar, "dkim"), *js = json_object_get(ar, "spf");
			assert_int_equal(json_array_size(jd), w->ndkim);
			assert_int_equal(json_array_size(js), w->nspf);
			for (size_t q = 0; q < w->ndkim; q++) {
				json_t *x = json_array_get(jd, q);
				expect_str(p, "dkim domain",
				           json_string_value(json_object_get(x, "domain")),
				           w->dkim[q].domain);
				expect_str(p, "dkim selector",
				           json_string_value(json_object_get(x, "selector")),
				           w->dkim[q].selector);
				expect_str(p, "dkim result",
				           jstr_lower(json_object_get(x, "result"), b1, sizeof(b1)),
				           w->dkim[q].result);
			}
			for (size_t q = 0; q < w->nspf; q++) {
				json_t *x = json_array_get(js, q);
				expect_str(p, "spf domain",
				           json_string_value(json_object_get(x, "domain")),
				           w->spf[q].domain);
				expect_str(p, "spf scope",
				           jstr_lower(json_object_get(x, "scope"), b1, sizeof(b1)),
				           w->spf[q].scope);
				expect_str(p, "spf result",
				           jstr_lower(json_object_get(x, "result"), b1, sizeof(b1)),
				           w->spf[q].result);
			}
		}
		json_decref(j);
		arena_free(a);
		free(data);
	}
}

/* gzip_of - data gzip'ed (malloc) */
static unsigned char *gzip_of(const void *data, size_t len, size_t *outlen)
{
	z_stream z = { 0 };
	size_t cap = len / 100 + 4096;
	unsigned char *out = malloc(cap);

	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

/* zip_of - a zip archive holding data as name (malloc) */
static unsigned char *zip_of(const char *name, const void *data, size_t len, size_t *outlen)
{
	size_t cap = len / 100 + 4096, used = 0;
	unsigned char *out = malloc(cap);
	struct archive *w = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_zip(w);
	assert_int_equal(archive_write_open_memory(w, out, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(w, data, len), (la_ssize_t)len);
	archive_entry_free(e);
	archive_write_close(w);
	archive_write_free(w);
	*outlen = used;
	return out;
}

static const char small_report[] =
    "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>o</org_name>"
    "<email>e@o.example</email><report_id>1</report_id><date_range><begin>1</begin>"
    "<end>2</end></date_range></report_metadata><policy_published><domain>example.com"
    "</domain><p>none</p></policy_published><record><row><source_ip>192.0.2.1</source_ip>"
    "<count>3</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
    "<spf>fail</spf></policy_evaluated></row><identifiers><header_from>example.com"
    "</header_from></identifiers><auth_results><spf><domain>example.com</domain>"
    "<result>fail</result></spf></auth_results></record></feedback>";

static void expect_error(const void *data, size_t len, size_t max, const char *want)
{
	struct arena *a = arena_new();
	struct store_dmarc_import *r;
	struct sx_err err = { 0 };
	size_t n;

	if (dmarc_import_parse(a, "t", data, len, max, &r, &n, &err) == 0)
		fail_msg("imported, expected '%s'", want);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error '%s', expected '%s'", err.msg, want);
	arena_free(a);
}

static void expect_ok(const void *data, size_t len, size_t max)
{
	struct arena *a = arena_new();
	struct store_dmarc_import *r;
	struct sx_err err = { 0 };
	size_t n;

	if (dmarc_import_parse(a, "t", data, len, max, &r, &n, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].rows[0].count, 3);
	arena_free(a);
}

static void test_import_hostile(void **state)
{
	size_t big = 64 * 1024 * 1024, glen, zlen, g2len;
	char *zeros = calloc(1, big);
	unsigned char *gz, *zip, *gz2;

	(void)state;
	expect_ok(small_report, strlen(small_report), 0);
	/* gzip bomb: 64 MiB of zeros in ~64 KiB, against a 1 MiB cap */
	gz = gzip_of(zeros, big, &glen);
	assert_true(glen < 100 * 1024);
	expect_error(gz, glen, 1024 * 1024, "exceeds 1048576 bytes");
	zip = zip_of("r.xml", zeros, big, &zlen);
	expect_error(zip, zlen, 1024 * 1024, "exceeds 1048576 bytes");
	free(zip);
	/* a good report in both, plus trailing junk after the gzip */
	free(gz);
	gz = gzip_of(small_report, strlen(small_report), &glen);
	unsigned char *junk = malloc(glen + 2);
	memcpy(junk, gz, glen);
	memcpy(junk + glen, "\r\n", 2);
	expect_ok(junk, glen + 2, 0);
	free(junk);
	expect_error(gz, glen - 10, 0, "truncated");
	zip = zip_of("r.xml", small_report, strlen(small_report), &zlen);
	expect_ok(zip, zlen, 0);
	free(zip);
	/* gzip in gzip in ...: bounded */
	gz2 = gzip_of(gz, glen, &g2len);
	for (int i = 0; i < 5; i++) {
		unsigned char *g3 = gzip_of(gz2, g2len, &glen);
		free(gz2);
		gz2 = g3;
		g2len = glen;
	}
	expect_error(gz2, g2len, 0, "nested more than");
	free(gz2);
	free(gz);
	free(zeros);
	/* XXE and entity bombs never reach the parser */
	static const char xxe[] = "<?xml version=\"1.0\"?><!DOCTYPE f [<!ENTITY x SYSTEM "
	                          "\"file:///etc/passwd\">]><feedback>&x;</feedback>";
	expect_error(xxe, strlen(xxe), 0, "DOCTYPE");
	static const char notfb[] = "<html><body>hi</body></html>";
	expect_error(notfb, strlen(notfb), 0, "root element is <html>");
	static const char noid[] = "<feedback><report_metadata><org_name>o</org_name>"
	                           "</report_metadata><policy_published/></feedback>";
	expect_error(noid, strlen(noid), 0, "no report_id");
	static const char badip[] =
	    "<feedback><report_metadata><org_name>o</org_name><report_id>1</report_id>"
	    "<date_range><begin>1</begin><end>2</end></date_range></report_metadata>"
	    "<policy_published><domain>d</domain></policy_published><record><row>"
	    "<source_ip>1.2.3</source_ip><count>1</count></row></record></feedback>";
	expect_error(badip, strlen(badip), 0, "record 1: source_ip 1.2.3 is not an IP");
	expect_error("", 0, 0, "empty");
	expect_error("\x00\x01\x02garbage", 10, 0, "neither XML");
	static const char mail[] = "From: a@b\r\nSubject: hi\r\n\r\nno report here\r\n";
	expect_error(mail, strlen(mail), 0, "without a DMARC report");
	/* invalid UTF-8 is replaced, not fatal */
	char *bad = malloc(sizeof(small_report) + 1);
	memcpy(bad, small_report, sizeof(small_report));
	bad[strstr(bad, ">o<") - bad + 1] = (char)0x91;
	expect_ok(bad, strlen(bad), 0);
	free(bad);
}

/* ---- round trip ------------------------------------------------------------------ */

struct sum {
	uint64_t messages, pass, lines;
};

static int sum_cb(const struct store_dmarc_summary *s, void *arg)
{
	struct sum *t = arg;

	t->messages += s->messages;
	t->pass += s->dmarc_pass;
	t->lines++;
	return 0;
}

static void test_roundtrip(void **state)
{
	struct store *st = open_store("rt-send.db"), *own = open_store("rt-own.db");
	struct arena *a = arena_new();
	struct dmarc_report r;
	struct dmarc_report_dest *d;
	struct store_dmarc_import *imp;
	struct sx_err err = { 0 };
	struct sum s = { 0 };
	size_t n, mlen;
	const int64_t B = 1700006400;

	(void)state;
	for (int i = 0; i < 7; i++)
		record(st, a, B + i, "192.0.2.1", true);
	for (int i = 0; i < 3; i++)
		record(st, a, B + 100 + i, "203.0.113.9", false);
	record(st, a, B + 200, "2001:db8::7", true);
	assert_int_equal(dmarc_report_build(a, st, &conf, "example.com", B, B + 86400, &r, &err),
	                 0);
	n = dmarc_report_dests(a, NULL, "example.com", &r.rec, false, &d);
	assert_int_equal(n, 1);
	char *msg = dmarc_report_message(a, &conf, &r, d, n, B + 86400, &mlen);
	assert_non_null(msg);
	assert_int_equal(report_write_file(tmpdir, "report.eml", msg, mlen, &err), 0);
	assert_int_equal(
	    dmarc_import_parse(a, "mail", (const unsigned char *)msg, mlen, 0, &imp, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(imp->report_id, r.report_id);
	assert_string_equal(imp->org_name, conf.org_name);
	assert_int_equal(imp->begin, B);
	assert_int_equal(imp->end, B + 86399);
	assert_int_equal(imp->nrows, 3);
	assert_int_equal(store_dmarc_import_add(own, imp, &err), 0);
	assert_int_equal(store_dmarc_import_add(own, imp, &err), 1);
	assert_int_equal(store_dmarc_summary(own, "example.com", 0, INT64_MAX,
	                                     STORE_DMARC_BY_SOURCE, sum_cb, &s, &err),
	                 0);
	assert_int_equal(s.messages, 11);
	assert_int_equal(s.pass, 8);
	assert_int_equal(s.lines, 3);
	store_close(st);
	store_close(own);
	arena_free(a);
}

/* ---- failure reports ---------------------------------------------------------------- */

static void test_failure(void **state)
{
	static const struct {
		const char *fo;
		bool spf_al, dkim_al;
		enum spf_result spf;
		enum dkim_result dkim;
		bool want;
	} cases[] = {
		{ "0", false, false, SPF_FAIL, DKIM_FAIL, true },
		{ "0", true, false, SPF_PASS, DKIM_FAIL, false },
		{ "1", true, false, SPF_PASS, DKIM_FAIL, true },
		{ "1", true, true, SPF_PASS, DKIM_PASS, false },
		{ "d", true, true, SPF_PASS, DKIM_FAIL, true },
		{ "d", false, false, SPF_FAIL, DKIM_PASS, false },
		{ "s", true, true, SPF_SOFTFAIL, DKIM_PASS, true },
		{ "s", false, false, SPF_PASS, DKIM_FAIL, false },
		{ "0:s", true, false, SPF_FAIL, DKIM_PASS, true },
	};
	static const char msg[] = "From: Boss <boss@example.com>\nTo: you@receiver.example\n"
	                          "Subject: urgent wire transfer\n\nThe secret body text.\n";
	struct dmarc_failure_conf fc = { .enabled = true,
		                         .org_name = "Receiver",
		                         .email = "dmarc@receiver.example" };
	struct arena *a = arena_new();
	char rec[200], path[256];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dmarc_report_dkim dk = { "example.com", "sel", cases[i].dkim };
		struct dmarc_report_msg m = { .source_ip = "192.0.2.66",
			                      .mail_from = "x@example.com",
			                      .spf = cases[i].spf,
			                      .dkim = &dk,
			                      .ndkim = 1 };
		snprintf(rec, sizeof(rec), "v=DMARC1; p=reject; ruf=mailto:ruf@example.com; fo=%s",
		         cases[i].fo);
		struct dmarc_outcome o = outcome(a, arena_strdup(a, rec), cases[i].spf_al,
		                                 cases[i].dkim_al, DMARC_POLICY_REJECT);
		if (dmarc_failure_wanted(&fc, &o, &m) != cases[i].want)
			fail_msg("case %zu (fo=%s): want %d", i, cases[i].fo, cases[i].want);
	}
	struct dmarc_report_dkim dk = { "example.com", "sel", DKIM_FAIL };
	struct dmarc_report_msg m = { .source_ip = "192.0.2.66",
		                      .mail_from = "x@example.com",
		                      .spf = SPF_FAIL,
		                      .dkim = &dk,
		                      .ndkim = 1 };
	struct dmarc_outcome o = outcome(a, "v=DMARC1; p=reject; ruf=mailto:ruf@example.com", false,
	                                 false, DMARC_POLICY_REJECT);
	/* off by default, and nothing without ruf= */
	fc.enabled = false;
	assert_false(dmarc_failure_wanted(&fc, &o, &m));
	fc.enabled = true;
	assert_true(dmarc_failure_wanted(&fc, &o, &m));
	struct dmarc_outcome o2 =
	    outcome(a, "v=DMARC1; p=reject", false, false, DMARC_POLICY_REJECT);
	assert_false(dmarc_failure_wanted(&fc, &o2, &m));
	char *r = dmarc_failure_build(a, &fc, &o, &m, msg, strlen(msg), "ruf@example.com",
	                              1700000000, &len);
	assert_non_null(r);
	assert_non_null(strstr(r, "Content-Type: multipart/report; report-type=feedback-report;"));
	assert_non_null(strstr(r, "Feedback-Type: auth-failure\r\n"));
	assert_non_null(strstr(r, "Auth-Failure: dmarc\r\n"));
	assert_non_null(strstr(r, "Source-IP: 192.0.2.66\r\n"));
	assert_non_null(strstr(r, "Reported-Domain: example.com\r\n"));
	assert_non_null(strstr(r, "Delivery-Result: reject\r\n"));
	assert_non_null(strstr(r, "DKIM-Domain: example.com\r\nDKIM-Selector: sel\r\n"));
	assert_non_null(strstr(r, "Content-Type: text/rfc822-headers"));
	assert_non_null(strstr(r, "Subject: urgent wire transfer\r\n"));
	assert_null(strstr(r, "secret body"));
	assert_int_equal(strlen(r), len);
	struct sx_err err = { 0 };
	assert_int_equal(report_write_file(tmpdir, "failure.eml", r, len, &err), 0);
	snprintf(path, sizeof(path), "%s/failure.eml", tmpdir);
	size_t flen;
	unsigned char *back = read_all(path, &flen);
	assert_int_equal(flen, len);
	free(back);
	fc.include_body = true;
	r = dmarc_failure_build(a, &fc, &o, &m, msg, strlen(msg), "ruf@example.com", 1700000000,
	                        &len);
	assert_non_null(strstr(r, "Content-Type: message/rfc822"));
	assert_non_null(strstr(r, "The secret body text.\r\n"));
	arena_free(a);
}

/* ---- the MIME walker and small helpers -------------------------------------------------- */

struct leaves {
	unsigned n;
	char types[4][64];
	char names[4][64];
	char data[4][64];
};

static int leaf_cb(const struct multipart_leaf *l, void *arg)
{
	struct leaves *lv = arg;

	if (lv->n < 4) {
		snprintf(lv->types[lv->n], 64, "%s", l->type);
		snprintf(lv->names[lv->n], 64, "%s", l->filename ? l->filename : "-");
		snprintf(lv->data[lv->n], 64, "%.*s", (int)l->len, (const char *)l->data);
	}
	lv->n++;
	return 0;
}

static void test_multipart(void **state)
{
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n"
	    "--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n"
	    "--b2\r\nContent-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: "
	    "quoted-printable\r\n\r\n<p>caf=C3=A9=\r\n!</p>\r\n--b2--\r\n"
	    "--b1\r\nContent-Type: application/gzip;\r\n name=\"ignored.gz\"\r\n"
	    "Content-Disposition: attachment; filename*=utf-8''r%C3%A9port.xml.gz\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8g "
	    "d29y\r\nbGQ=\r\n--b1--\r\nepilogue";
	struct arena *a = arena_new();
	struct leaves lv = { 0 };
	struct sx_err err = { 0 };
	int64_t t;

	(void)state;
	assert_int_equal(multipart_walk(a, m, strlen(m), leaf_cb, &lv, &err), 0);
	assert_int_equal(lv.n, 3);
	assert_string_equal(lv.types[0], "text/plain");
	assert_string_equal(lv.data[0], "hello");
	assert_string_equal(lv.types[1], "text/html");
	assert_string_equal(lv.data[1], "<p>caf\xc3\xa9!</p>");
	assert_string_equal(lv.types[2], "application/gzip");
	assert_string_equal(lv.names[2], "r\xc3\xa9port.xml.gz");
	assert_string_equal(lv.data[2], "hello world");
	assert_null(multipart_param(a, "text/plain", 10, "charset"));
	const char *ct = "text/plain; a=\"x;y\"; Charset = \"u\\\"s\"";
	assert_string_equal(multipart_param(a, ct, strlen(ct), "charset"), "u\"s");
	/* time values for the command line */
	assert_int_equal(report_time_parse("1700000000", &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(report_time_parse("2023-11-15", &t), 0);
	assert_int_equal(t, 1700006400);
	assert_int_equal(report_time_parse("2023-11-15T00:00:10Z", &t), 0);
	assert_int_equal(t, 1700006410);
	assert_int_equal(report_time_parse("yesterday", &t), -1);
	assert_int_equal(report_time_parse("2023-11-15x", &t), -1);
	arena_free(a);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_schema),      cmocka_unit_test(test_build),
		cmocka_unit_test(test_authorise),       cmocka_unit_test(test_import_samples),
		cmocka_unit_test(test_import_stalwart), cmocka_unit_test(test_import_hostile),
		cmocka_unit_test(test_roundtrip),       cmocka_unit_test(test_failure),
		cmocka_unit_test(test_multipart),
	};
	if (argc > 1)
		shared = argv[1];
	return cmocka_run_group_tests(tests, setup, teardown);
}
