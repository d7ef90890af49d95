/*
 * tlsrpt - TLS-RPT reports as a sending MTA (RFC 8460 4 and 5): the
 * report of a policy domain and day from the store's counters, its JSON
 * (jansson), gzip, file name and mail (see tlsrpt.h)
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "report/report_util.h"
#include "report/tlsrpt.h"

#define TLSRPT_MAIL_CAP (256 * 1024 * 1024)

const char *tlsrpt_submitter(const struct tlsrpt_conf *c)
{
	const char *at;

	if (c->submitter != NULL && c->submitter[0] != '\0')
		return c->submitter;
	at = c->email ? strrchr(c->email, '@') : NULL;
	return at ? at + 1 : (c->org_name ? c->org_name : "localhost");
}

static void tlsrpt_iso(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *tlsrpt_report_id_new(struct arena *a, const struct tlsrpt_conf *c, const char *domain,
                           int64_t day)
{
	time_t t = (time_t)day;
	uint8_t rnd[8];
	char date[16];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	report_random(rnd, sizeof(rnd));
	return arena_printf(a, "%s.%s.%02x%02x%02x%02x%02x%02x%02x%02x@%s", date, domain, rnd[0],
	                    rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7],
	                    tlsrpt_submitter(c));
}

char *tlsrpt_report_filename(struct arena *a, const char *submitter, const char *domain,
                             int64_t begin, int64_t end_last, const char *report_id)
{
	/* unique-id = 1*(ALPHA / DIGIT): a hash of the report-id */
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p;

	for (p = report_id ? report_id : ""; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	return arena_printf(a, "%s!%s!%lld!%lld!%016llx.json.gz", submitter, domain,
	                    (long long)begin, (long long)end_last, (unsigned long long)h);
}

/* ---- JSON ------------------------------------------------------------------- */

/* jstr - a JSON string of s, invalid UTF-8 replaced; NULL on failure */
static json_t *jstr(struct arena *a, const char *s)
{
	size_t len = strlen(s), flen;
	bool fail;
	char *fixed = report_utf8_fix(a, s, len, &flen, &fail);

	if (fail)
		return NULL;
	return fixed ? json_stringn(fixed, flen) : json_stringn(s, len);
}

/* jset - o[key] = s when s is non-empty; false on failure */
static bool jset_str(struct arena *a, json_t *o, const char *key, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return true;
	return json_object_set_new(o, key, jstr(a, s)) == 0;
}

static bool jset_int(json_t *o, const char *key, uint64_t v)
{
	return json_object_set_new(o, key, json_integer((json_int_t)v)) == 0;
}

static json_t *jlist(struct arena *a, const char *const *v, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < n; i++)
		if (json_array_append_new(arr, jstr(a, v[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *jpolicy(struct arena *a, const struct store_tlsrpt_policy *p)
{
	json_t *o = json_object(), *pol = json_object(), *sum = json_object(), *fd = json_array();
	size_t i;
	bool ok = o && pol && sum && fd;

	ok = ok && jset_str(a, pol, "policy-type", p->policy_type);
	if (ok && p->npolicy_string > 0)
		ok = json_object_set_new(pol, "policy-string",
		                         jlist(a, p->policy_string, p->npolicy_string)) == 0;
	ok = ok && jset_str(a, pol, "policy-domain", p->policy_domain);
	if (ok && p->nmx_host == 1)
		ok = jset_str(a, pol, "mx-host", p->mx_host[0]);
	else if (ok && p->nmx_host > 1)
		ok = json_object_set_new(pol, "mx-host", jlist(a, p->mx_host, p->nmx_host)) == 0;
	ok = ok && jset_int(sum, "total-successful-session-count", p->successful);
	ok = ok && jset_int(sum, "total-failure-session-count", p->failed);
	for (i = 0; ok && i < p->nfailures; i++) {
		const struct store_tlsrpt_failure *f = &p->failures[i];
		json_t *d = json_object();
		ok = d != NULL && jset_str(a, d, "result-type", f->result_type) &&
		     jset_str(a, d, "sending-mta-ip", f->sending_mta_ip) &&
		     jset_str(a, d, "receiving-mx-hostname", f->receiving_mx_hostname) &&
		     jset_str(a, d, "receiving-mx-helo", f->receiving_mx_helo) &&
		     jset_str(a, d, "receiving-ip", f->receiving_ip) &&
		     jset_int(d, "failed-session-count", f->count) &&
		     jset_str(a, d, "additional-information", f->additional_information) &&
		     jset_str(a, d, "failure-reason-code", f->failure_reason_code);
		if (d != NULL && json_array_append_new(fd, d) < 0)
			ok = false;
	}
	if (ok) {
		ok = json_object_set_new(o, "policy", pol) == 0;
		pol = NULL;
		ok = ok && json_object_set_new(o, "summary", sum) == 0;
		sum = NULL;
		ok = ok && json_object_set_new(o, "failure-details", fd) == 0;
		fd = NULL;
	}
	json_decref(pol);
	json_decref(sum);
	json_decref(fd);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *tlsrpt_report_json(struct arena *a, const struct store_tlsrpt_report *r, size_t *len)
{
	json_t *root = json_object(), *dr = json_object(), *pols = json_array();
	char start[32], end[32], *s = NULL, *out = NULL;
	size_t i;
	bool ok = root && dr && pols;

	tlsrpt_iso(r->begin, start, sizeof(start));
	tlsrpt_iso(r->end, end, sizeof(end));
	ok = ok && jset_str(a, root, "organization-name", r->org_name);
	ok = ok && jset_str(a, dr, "start-datetime", start) && jset_str(a, dr, "end-datetime", end);
	if (ok) {
		ok = json_object_set_new(root, "date-range", dr) == 0;
		dr = NULL;
	}
	ok = ok && jset_str(a, root, "contact-info", r->contact_info);
	ok = ok && jset_str(a, root, "report-id", r->report_id);
	for (i = 0; ok && i < r->npolicies; i++) {
		json_t *p = jpolicy(a, &r->policies[i]);
		ok = p != NULL && json_array_append_new(pols, p) == 0;
	}
	if (ok) {
		ok = json_object_set_new(root, "policies", pols) == 0;
		pols = NULL;
	}
	if (ok)
		s = json_dumps(root, JSON_INDENT(2));
	if (s != NULL) {
		size_t n = strlen(s);
		out = arena_alloc(a, n + 2);
		if (out != NULL) {
			memcpy(out, s, n);
			out[n++] = '\n';
			out[n] = '\0';
			if (len != NULL)
				*len = n;
		}
		free(s);
	}
	json_decref(dr);
	json_decref(pols);
	json_decref(root);
	return out;
}

/* ---- building from the store --------------------------------------------------- */

struct build_policies {
	struct arena *a;
	struct store_tlsrpt_policy *v;
	size_t n, size;
	struct sx_err *err;
};

static const char *dup(struct arena *a, const char *s, bool *fail)
{
	char *d;

	if (s == NULL || s[0] == '\0')
		return NULL;
	d = arena_strdup(a, s);
	if (d == NULL)
		*fail = true;
	return d;
}

static const char *const *dup_list(struct arena *a, const char *const *v, size_t n, bool *fail)
{
	const char **w;
	size_t i;

	if (n == 0)
		return NULL;
	w = arena_array(a, n, sizeof(*w));
	if (w == NULL) {
		*fail = true;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		w[i] = arena_strdup(a, v[i]);
		if (w[i] == NULL)
			*fail = true;
	}
	return w;
}

static int build_policy_cb(const struct store_tlsrpt_policy *p, void *arg)
{
	struct build_policies *bp = arg;
	struct store_tlsrpt_policy *w;
	struct store_tlsrpt_failure *f = NULL;
	bool fail = false;
	size_t i;

	if (bp->n >= TLSRPT_MAX_POLICIES) {
		sx_err_set(bp->err, "more than %d policies", TLSRPT_MAX_POLICIES);
		return -1;
	}
	if (ARENA_GROW(bp->a, bp->v, bp->size, bp->n, 8) < 0)
		goto nomem;
	w = &bp->v[bp->n];
	*w = *p;
	w->policy_type = dup(bp->a, p->policy_type, &fail);
	w->policy_domain = dup(bp->a, p->policy_domain, &fail);
	w->policy_string = dup_list(bp->a, p->policy_string, p->npolicy_string, &fail);
	w->mx_host = dup_list(bp->a, p->mx_host, p->nmx_host, &fail);
	if (p->nfailures > 0) {
		f = arena_array(bp->a, p->nfailures, sizeof(*f));
		if (f == NULL)
			goto nomem;
	}
	for (i = 0; i < p->nfailures; i++) {
		const struct store_tlsrpt_failure *s = &p->failures[i];
		f[i].result_type = dup(bp->a, s->result_type, &fail);
		f[i].sending_mta_ip = dup(bp->a, s->sending_mta_ip, &fail);
		f[i].receiving_mx_hostname = dup(bp->a, s->receiving_mx_hostname, &fail);
		f[i].receiving_mx_helo = dup(bp->a, s->receiving_mx_helo, &fail);
		f[i].receiving_ip = dup(bp->a, s->receiving_ip, &fail);
		f[i].additional_information = dup(bp->a, s->additional_information, &fail);
		f[i].failure_reason_code = dup(bp->a, s->failure_reason_code, &fail);
		f[i].count = s->count;
	}
	w->failures = f;
	if (fail)
		goto nomem;
	bp->n++;
	return 0;
nomem:
	sx_err_set(bp->err, "out of memory");
	return -1;
}

int tlsrpt_report_build(struct arena *a, struct store *st, const struct tlsrpt_conf *c,
                        const char *domain, int64_t begin, int64_t end, const char *report_id,
                        struct tlsrpt_built *out, struct sx_err *err)
{
	struct build_policies bp = { .a = a, .err = err };
	size_t i;

	memset(out, 0, sizeof(*out));
	if (store_tlsrpt_policies(st, domain, begin, end, build_policy_cb, &bp, err) != 0)
		return -1;
	if (bp.n == 0)
		return 1;
	for (i = 0; i < bp.n; i++) {
		out->successful += bp.v[i].successful;
		out->failed += bp.v[i].failed;
	}
	out->policy_domain = arena_strdup(a, domain);
	out->submitter = tlsrpt_submitter(c);
	out->rep.org_name = c->org_name;
	out->rep.contact_info = c->email;
	out->rep.report_id =
	    report_id ? arena_strdup(a, report_id) : tlsrpt_report_id_new(a, c, domain, begin);
	out->rep.begin = begin;
	out->rep.end = end - 1;
	out->rep.policies = bp.v;
	out->rep.npolicies = bp.n;
	if (out->policy_domain == NULL || out->rep.report_id == NULL)
		goto nomem;
	out->filename =
	    tlsrpt_report_filename(a, out->submitter, domain, begin, end - 1, out->rep.report_id);
	out->json = tlsrpt_report_json(a, &out->rep, &out->json_len);
	if (out->filename == NULL || out->json == NULL)
		goto nomem;
	out->gz = report_gzip(a, out->json, out->json_len, &out->gz_len);
	if (out->gz == NULL)
		goto nomem;
	return 0;
nomem:
	sx_err_set(err, "out of memory");
	return -1;
}

/* ---- the mail (RFC 8460 5.3) --------------------------------------------------------- */

char *tlsrpt_report_message(struct arena *a, const struct tlsrpt_conf *c,
                            const struct tlsrpt_built *b, const char *to, int64_t now, size_t *len)
{
	const char *boundary = "=_smexop_tlsrpt_report";
	char date[64], start[32], end[32];
	struct buf m;
	int rc = 0;

	buf_init(&m, TLSRPT_MAIL_CAP);
	report_date(now, date, sizeof(date));
	tlsrpt_iso(b->rep.begin, start, sizeof(start));
	tlsrpt_iso(b->rep.end, end, sizeof(end));
	rc |=
	    buf_printf(&m,
	               "From: %s <%s>\r\nTo: <%s>\r\n"
	               "Subject: Report Domain: %s\r\n Submitter: %s\r\n Report-ID: <%s>\r\n"
	               "Date: %s\r\nMessage-ID: <%s>\r\n"
	               "TLS-Report-Domain: %s\r\nTLS-Report-Submitter: %s\r\n"
	               "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
	               "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n"
	               "\tboundary=\"%s\"\r\n\r\n"
	               "This is a multipart message in MIME format.\r\n\r\n",
	               c->org_name, c->email, to, b->policy_domain, b->submitter, b->rep.report_id,
	               date, b->rep.report_id, b->policy_domain, b->submitter, boundary);
	rc |= buf_printf(&m,
	                 "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	                 "Content-Transfer-Encoding: 7bit\r\n\r\n"
	                 "This is an aggregate TLS report (RFC 8460) from %s\r\n"
	                 "for %s covering %s to %s: %llu successful and %llu failed\r\n"
	                 "sessions in %zu policies.\r\n\r\n",
	                 boundary, b->submitter, b->policy_domain, start, end,
	                 (unsigned long long)b->successful, (unsigned long long)b->failed,
	                 b->rep.npolicies);
	rc |= buf_printf(&m,
	                 "--%s\r\nContent-Type: application/tlsrpt+gzip\r\n"
	                 "Content-Transfer-Encoding: base64\r\n"
	                 "Content-Disposition: attachment;\r\n\tfilename=\"%s\"\r\n\r\n",
	                 boundary, b->filename);
	rc |= report_base64(&m, b->gz, b->gz_len);
	rc |= buf_printf(&m, "\r\n--%s--\r\n", boundary);
	return report_buf_take(a, &m, rc == 0, len);
}
