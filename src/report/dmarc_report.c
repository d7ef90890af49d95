/*
 * dmarc_report - DMARC aggregate reports as a receiver (RFC 7489 7.2):
 * recording evaluated messages, building the XML and its gzip, checking
 * the destinations (7.1) and wrapping the report in a mail
 *
 * The store groups the messages into rows; this file turns rows into the
 * Appendix C XML with libxml2's writer (which does the escaping), and
 * never holds more than one report in memory.  See dmarc_report.h.
 */
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/dns.h"
#include "core/net.h"
#include "core/orgdomain.h"
#include "core/str.h"
#include "report/dmarc_report.h"
#include "report/report_util.h"
#include "smexop_version.h"

/* ---- recording ---------------------------------------------------------- */

/* report_domain_of - the domain of an address (or the string when it has
 * no '@'), in a; "" for NULL */
static const char *report_domain_of(struct arena *a, const char *addr)
{
	const char *at;
	char *d;
	size_t n;

	if (addr == NULL)
		return "";
	while (*addr == '<' || *addr == ' ')
		addr++;
	at = strrchr(addr, '@');
	if (at != NULL)
		addr = at + 1;
	n = strlen(addr);
	while (n > 0 && (addr[n - 1] == '>' || addr[n - 1] == '.' || addr[n - 1] == ' '))
		n--;
	d = arena_strndup(a, addr, n);
	return d ? str_lower_inplace(d) : "";
}

static int report_record_one(struct store *st, struct arena *a, const struct dmarc_outcome *o,
                             const struct dmarc_report_msg *m, int64_t time, struct sx_err *err)
{
	struct store_dmarc_event ev = { 0 };
	struct store_dmarc_dkim dk[STORE_DMARC_MAX_AUTH];
	struct store_dmarc_spf sp;
	const char *mf = report_domain_of(a, m->mail_from);
	size_t i;

	if (o->record == NULL || o->record_domain == NULL)
		return 0; /* no policy: nobody to report to */
	ev.time = time;
	ev.policy_domain = o->record_domain;
	ev.record = o->record;
	ev.source_ip = m->source_ip;
	ev.header_from = o->from_domain;
	ev.envelope_from = mf;
	ev.envelope_to = m->rcpt_domain;
	ev.disposition = dmarc_policy_name(o->disposition);
	ev.dkim_eval = o->dkim_aligned ? "pass" : "fail";
	ev.spf_eval = o->spf_aligned ? "pass" : "fail";
	if (o->sampled_out && o->rec.t) {
		ev.reason = "other";
		ev.reason_comment = "policy in test mode (t=y)";
	} else if (o->sampled_out) {
		ev.reason = "sampled_out";
	}
	for (i = 0; i < m->ndkim && i < STORE_DMARC_MAX_AUTH; i++) {
		dk[i].domain = m->dkim[i].domain;
		dk[i].selector = m->dkim[i].selector;
		dk[i].result = dkim_result_name(m->dkim[i].result);
		dk[i].human_result = NULL;
	}
	ev.dkim = dk;
	ev.ndkim = i;
	/* there is always one SPF result: MAIL FROM's, or HELO's for <> */
	sp.scope = mf[0] != '\0' ? "mfrom" : "helo";
	sp.domain = mf[0] != '\0' ? mf : report_domain_of(a, m->helo);
	sp.result = spf_result_name(m->spf);
	ev.spf = &sp;
	ev.nspf = 1;
	return store_dmarc_event_add(st, &ev, err);
}

int dmarc_report_record(struct store *st, const struct dmarc_outcome *o,
                        const struct dmarc_report_msg *m, int64_t time, struct sx_err *err)
{
	struct arena *a;
	int rc = 0;
	size_t i;

	if (st == NULL || o == NULL || m == NULL || m->source_ip == NULL) {
		sx_err_set(err, "dmarc report: nothing to record");
		return -1;
	}
	a = arena_new();
	if (a == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	if (o->nper_domain == 0) {
		rc = report_record_one(st, a, o, m, time, err);
	} else {
		bool own = store_begin(st, NULL) == 0;
		for (i = 0; i < o->nper_domain && rc == 0; i++)
			rc = report_record_one(st, a, &o->per_domain[i], m, time, err);
		if (own && rc == 0)
			rc = store_commit(st, err);
		else if (own)
			store_rollback(st);
	}
	arena_free(a);
	return rc;
}

/* ---- rows and XML ------------------------------------------------------- */

struct report_rows {
	struct arena *a;
	struct store_dmarc_row *v;
	size_t n, size;
	int64_t newest;
	const char *record;
	uint64_t messages;
	struct sx_err *err;
};

static const char *dup0(struct arena *a, const char *s, bool *fail)
{
	char *d = arena_strdup(a, s ? s : "");
	if (d == NULL)
		*fail = true;
	return d;
}

static int report_row_cb(const struct store_dmarc_row *r, void *arg)
{
	struct report_rows *rr = arg;
	struct store_dmarc_row *w;
	struct store_dmarc_dkim *dk;
	struct store_dmarc_spf *sp;
	bool fail = false;
	size_t i;

	if (rr->n >= DMARC_REPORT_MAX_ROWS) {
		sx_err_set(rr->err, "more than %d rows", DMARC_REPORT_MAX_ROWS);
		return -1;
	}
	if (ARENA_GROW(rr->a, rr->v, rr->size, rr->n, 64) < 0)
		goto nomem;
	w = &rr->v[rr->n];
	*w = *r;
	w->ev.source_ip = dup0(rr->a, r->ev.source_ip, &fail);
	w->ev.header_from = dup0(rr->a, r->ev.header_from, &fail);
	w->ev.envelope_from = dup0(rr->a, r->ev.envelope_from, &fail);
	w->ev.envelope_to = dup0(rr->a, r->ev.envelope_to, &fail);
	w->ev.disposition = dup0(rr->a, r->ev.disposition, &fail);
	w->ev.dkim_eval = dup0(rr->a, r->ev.dkim_eval, &fail);
	w->ev.spf_eval = dup0(rr->a, r->ev.spf_eval, &fail);
	w->ev.reason = dup0(rr->a, r->ev.reason, &fail);
	w->ev.reason_comment = dup0(rr->a, r->ev.reason_comment, &fail);
	w->ev.policy_domain = dup0(rr->a, r->ev.policy_domain, &fail);
	w->ev.record = NULL;
	dk = arena_array(rr->a, r->ev.ndkim + 1, sizeof(*dk));
	sp = arena_array(rr->a, r->ev.nspf + 1, sizeof(*sp));
	if (dk == NULL || sp == NULL || fail)
		goto nomem;
	for (i = 0; i < r->ev.ndkim; i++) {
		dk[i].domain = dup0(rr->a, r->ev.dkim[i].domain, &fail);
		dk[i].selector = dup0(rr->a, r->ev.dkim[i].selector, &fail);
		dk[i].result = dup0(rr->a, r->ev.dkim[i].result, &fail);
		dk[i].human_result = dup0(rr->a, r->ev.dkim[i].human_result, &fail);
	}
	for (i = 0; i < r->ev.nspf; i++) {
		sp[i].domain = dup0(rr->a, r->ev.spf[i].domain, &fail);
		sp[i].scope = dup0(rr->a, r->ev.spf[i].scope, &fail);
		sp[i].result = dup0(rr->a, r->ev.spf[i].result, &fail);
	}
	w->ev.dkim = dk;
	w->ev.spf = sp;
	if (rr->record == NULL || r->ev.time > rr->newest) {
		rr->newest = r->ev.time;
		rr->record = dup0(rr->a, r->ev.record, &fail);
	}
	if (fail)
		goto nomem;
	rr->messages += r->count;
	rr->n++;
	return 0;
nomem:
	sx_err_set(rr->err, "out of memory");
	return -1;
}

/* report_ip - the address for the XML: IPv6 in eight full groups, which
 * the schema's pattern needs; anything unparsable as it is */
static const char *report_ip(const char *ip, char *out, size_t size)
{
	struct net_addr na;

	if (net_addr_parse(ip, &na) < 0)
		return ip;
	if (na.family != AF_INET6)
		return net_addr_format(&na, out, size);
	snprintf(out, size, "%x:%x:%x:%x:%x:%x:%x:%x", na.bytes[0] << 8 | na.bytes[1],
	         na.bytes[2] << 8 | na.bytes[3], na.bytes[4] << 8 | na.bytes[5],
	         na.bytes[6] << 8 | na.bytes[7], na.bytes[8] << 8 | na.bytes[9],
	         na.bytes[10] << 8 | na.bytes[11], na.bytes[12] << 8 | na.bytes[13],
	         na.bytes[14] << 8 | na.bytes[15]);
	return out;
}

/* report_fo - the fo= value as written in a record */
static const char *report_fo(unsigned fo, char *out, size_t size)
{
	static const struct {
		unsigned bit;
		const char *name;
	} t[] = {
		{ DMARC_FO_0, "0" }, { DMARC_FO_1, "1" }, { DMARC_FO_D, "d" }, { DMARC_FO_S, "s" }
	};
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < 4; i++)
		if (fo & t[i].bit)
			n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ":" : "", t[i].name);
	if (n == 0)
		snprintf(out, size, "0");
	return out;
}

#define W(call)                                                                                    \
	do {                                                                                       \
		if ((call) < 0)                                                                    \
			goto fail;                                                                 \
	} while (0)
#define EL(w, name, val) W(xmlTextWriterWriteElement(w, BAD_CAST(name), BAD_CAST(val)))

char *dmarc_report_xml(struct arena *a, const struct dmarc_report_conf *c,
                       const struct dmarc_report *r, const struct store_dmarc_row *rows, size_t n,
                       size_t *len)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	char num[32], ip[NET_ADDR_STRLEN + 8], fo[16];
	char *out = NULL;
	size_t i, j;

	if (w == NULL)
		goto fail;
	xmlTextWriterSetIndent(w, 1);
	xmlTextWriterSetIndentString(w, BAD_CAST "  ");
	W(xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL));
	W(xmlTextWriterStartElement(w, BAD_CAST "feedback"));
	EL(w, "version", "1.0");
	W(xmlTextWriterStartElement(w, BAD_CAST "report_metadata"));
	EL(w, "org_name", c->org_name);
	EL(w, "email", c->email);
	if (c->extra_contact_info != NULL)
		EL(w, "extra_contact_info", c->extra_contact_info);
	EL(w, "report_id", r->report_id);
	W(xmlTextWriterStartElement(w, BAD_CAST "date_range"));
	snprintf(num, sizeof(num), "%lld", (long long)r->begin);
	EL(w, "begin", num);
	snprintf(num, sizeof(num), "%lld", (long long)(r->end - 1));
	EL(w, "end", num);
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterStartElement(w, BAD_CAST "policy_published"));
	EL(w, "domain", r->domain);
	EL(w, "adkim", r->rec.adkim == DMARC_ALIGN_STRICT ? "s" : "r");
	EL(w, "aspf", r->rec.aspf == DMARC_ALIGN_STRICT ? "s" : "r");
	EL(w, "p", dmarc_policy_name(r->rec.p));
	EL(w, "sp", dmarc_policy_name(r->rec.sp));
	snprintf(num, sizeof(num), "%u", r->rec.pct);
	EL(w, "pct", num);
	EL(w, "fo", report_fo(r->rec.fo, fo, sizeof(fo)));
	W(xmlTextWriterEndElement(w));
	for (i = 0; i < n; i++) {
		const struct store_dmarc_event *e = &rows[i].ev;
		W(xmlTextWriterStartElement(w, BAD_CAST "record"));
		W(xmlTextWriterStartElement(w, BAD_CAST "row"));
		EL(w, "source_ip", report_ip(e->source_ip, ip, sizeof(ip)));
		snprintf(num, sizeof(num), "%llu", (unsigned long long)rows[i].count);
		EL(w, "count", num);
		W(xmlTextWriterStartElement(w, BAD_CAST "policy_evaluated"));
		EL(w, "disposition", e->disposition);
		EL(w, "dkim", e->dkim_eval);
		EL(w, "spf", e->spf_eval);
		if (e->reason != NULL && e->reason[0] != '\0') {
			W(xmlTextWriterStartElement(w, BAD_CAST "reason"));
			EL(w, "type", e->reason);
			if (e->reason_comment != NULL && e->reason_comment[0] != '\0')
				EL(w, "comment", e->reason_comment);
			W(xmlTextWriterEndElement(w));
		}
		W(xmlTextWriterEndElement(w));
		W(xmlTextWriterEndElement(w));
		W(xmlTextWriterStartElement(w, BAD_CAST "identifiers"));
		if (e->envelope_to != NULL && e->envelope_to[0] != '\0')
			EL(w, "envelope_to", e->envelope_to);
		EL(w, "envelope_from", e->envelope_from ? e->envelope_from : "");
		EL(w, "header_from", e->header_from);
		W(xmlTextWriterEndElement(w));
		W(xmlTextWriterStartElement(w, BAD_CAST "auth_results"));
		for (j = 0; j < e->ndkim; j++) {
			W(xmlTextWriterStartElement(w, BAD_CAST "dkim"));
			EL(w, "domain", e->dkim[j].domain);
			if (e->dkim[j].selector != NULL && e->dkim[j].selector[0] != '\0')
				EL(w, "selector", e->dkim[j].selector);
			EL(w, "result", e->dkim[j].result);
			if (e->dkim[j].human_result != NULL && e->dkim[j].human_result[0] != '\0')
				EL(w, "human_result", e->dkim[j].human_result);
			W(xmlTextWriterEndElement(w));
		}
		for (j = 0; j < e->nspf; j++) {
			W(xmlTextWriterStartElement(w, BAD_CAST "spf"));
			EL(w, "domain", e->spf[j].domain);
			EL(w, "scope", e->spf[j].scope);
			EL(w, "result", e->spf[j].result);
			W(xmlTextWriterEndElement(w));
		}
		W(xmlTextWriterEndElement(w));
		W(xmlTextWriterEndElement(w));
	}
	W(xmlTextWriterEndDocument(w));
	xmlFreeTextWriter(w);
	w = NULL;
	out = arena_memdup(a, xmlBufferContent(buf), (size_t)xmlBufferLength(buf) + 1);
	if (out != NULL && len != NULL)
		*len = (size_t)xmlBufferLength(buf);
fail:
	if (w != NULL)
		xmlFreeTextWriter(w);
	if (buf != NULL)
		xmlBufferFree(buf);
	return out;
}

/* report_receiver - the receiver part of file names: conf->receiver, or
 * the domain of conf->email */
static const char *report_receiver(const struct dmarc_report_conf *c)
{
	const char *at;

	if (c->receiver != NULL)
		return c->receiver;
	at = c->email ? strrchr(c->email, '@') : NULL;
	return at ? at + 1 : (c->org_name ? c->org_name : "localhost");
}

int dmarc_report_build(struct arena *a, struct store *st, const struct dmarc_report_conf *c,
                       const char *domain, int64_t begin, int64_t end, struct dmarc_report *out,
                       struct sx_err *err)
{
	struct report_rows rr = { .a = a, .err = err };
	uint8_t rnd[8];

	memset(out, 0, sizeof(*out));
	if (store_dmarc_rows(st, domain, begin, end, report_row_cb, &rr, err) != 0)
		return -1;
	if (rr.n == 0)
		return 1;
	out->domain = arena_strdup(a, domain);
	out->begin = begin;
	out->end = end;
	out->record = rr.record;
	out->messages = rr.messages;
	out->rows = rr.n;
	dmarc_record_parse(a, rr.record, strlen(rr.record), &out->rec);
	report_random(rnd, sizeof(rnd));
	if (c->report_id != NULL)
		out->report_id = arena_strdup(a, c->report_id);
	else
		out->report_id =
		    arena_printf(a, "%s.%lld.%lld.%02x%02x%02x%02x%02x%02x%02x%02x", domain,
		                 (long long)begin, (long long)(end - 1), rnd[0], rnd[1], rnd[2],
		                 rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	out->filename = arena_printf(a, "%s!%s!%lld!%lld.xml.gz", report_receiver(c), domain,
	                             (long long)begin, (long long)(end - 1));
	if (out->domain == NULL || out->report_id == NULL || out->filename == NULL)
		goto nomem;
	out->xml = dmarc_report_xml(a, c, out, rr.v, rr.n, &out->xml_len);
	if (out->xml == NULL)
		goto nomem;
	out->gz = report_gzip(a, out->xml, out->xml_len, &out->gz_len);
	if (out->gz == NULL)
		goto nomem;
	return 0;
nomem:
	sx_err_set(err, "out of memory");
	return -1;
}

/* ---- destinations (RFC 7489 7.1) ------------------------------------------ */

size_t dmarc_report_dests(struct arena *a, const struct orgdomain *psl, const char *policy_domain,
                          const struct dmarc_record *rec, bool ruf, struct dmarc_report_dest **out)
{
	const struct dmarc_uri *u = ruf ? rec->ruf : rec->rua;
	size_t nu = ruf ? rec->nruf : rec->nrua, i, n = 0;
	struct dmarc_report_dest *d;

	*out = NULL;
	if (u == NULL || nu == 0)
		return 0;
	d = arena_array(a, nu, sizeof(*d));
	if (d == NULL)
		return 0;
	if (psl == NULL)
		psl = orgdomain_default();
	for (i = 0; i < nu; i++) {
		struct dmarc_report_dest *x = &d[n];
		memset(x, 0, sizeof(*x));
		x->uri = u[i].uri;
		x->max_bytes = u[i].max_bytes;
		if (u[i].addr == NULL) {
			x->status = DMARC_DEST_NOT_MAILTO;
			x->why = "only mailto: destinations are supported";
			n++;
			continue;
		}
		x->addr = u[i].addr;
		x->domain = report_domain_of(a, u[i].addr);
		x->external = !orgdomain_same(psl, x->domain, policy_domain);
		x->status = x->external ? DMARC_DEST_PENDING : DMARC_DEST_OK;
		n++;
	}
	*out = d;
	return n;
}

char *dmarc_report_auth_name(struct arena *a, const char *policy_domain, const char *dest_domain)
{
	return arena_printf(a, "%s._report._dmarc.%s", policy_domain, dest_domain);
}

void dmarc_report_auth_answer(struct dmarc_report_dest *d, const struct dns_answer *ans)
{
	size_t i;

	switch (ans->status) {
	case DNS_OK:
		for (i = 0; i < ans->count; i++)
			if (ans->rr[i].type == DNS_T_TXT &&
			    dmarc_record_is_dmarc(ans->rr[i].u.txt.data, ans->rr[i].u.txt.len)) {
				d->status = DMARC_DEST_OK;
				d->why = "authorised by its _report._dmarc record";
				return;
			}
		/* TXT records, none of them v=DMARC1 */
		__attribute__((fallthrough));
	case DNS_NXDOMAIN:
	case DNS_NODATA:
	case DNS_BADNAME:
		d->status = DMARC_DEST_UNAUTHORISED;
		d->why = "no v=DMARC1 record at <domain>._report._dmarc.<destination>";
		return;
	default:
		d->status = DMARC_DEST_TEMPFAIL;
		d->why = "the _report._dmarc lookup failed";
		return;
	}
}

struct report_auth {
	struct dmarc_report_dest *d;
	size_t n, pending;
	void (*done)(void *arg);
	void *arg;
	struct report_auth_q {
		struct report_auth *ra;
		size_t i;
	} * q;
};

static void report_auth_cb(const struct dns_answer *ans, void *arg)
{
	struct report_auth_q *q = arg;
	struct report_auth *ra = q->ra;

	dmarc_report_auth_answer(&ra->d[q->i], ans);
	if (--ra->pending == 0)
		ra->done(ra->arg);
}

int dmarc_report_authorise_start(struct dns *dns, struct arena *a, const char *policy_domain,
                                 struct dmarc_report_dest *d, size_t n, void (*done)(void *arg),
                                 void *arg)
{
	struct report_auth *ra = arena_zalloc(a, sizeof(*ra));
	size_t i;

	if (ra == NULL)
		return -1;
	ra->d = d;
	ra->n = n;
	ra->done = done;
	ra->arg = arg;
	ra->q = arena_array(a, n + 1, sizeof(*ra->q));
	if (ra->q == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (d[i].status == DMARC_DEST_PENDING)
			ra->pending++;
	if (ra->pending == 0)
		return 1;
	for (i = 0; i < n; i++) {
		if (d[i].status != DMARC_DEST_PENDING)
			continue;
		const char *name = dmarc_report_auth_name(a, policy_domain, d[i].domain);
		ra->q[i].ra = ra;
		ra->q[i].i = i;
		if (name == NULL ||
		    dns_lookup(dns, name, DNS_T_TXT, report_auth_cb, &ra->q[i]) == NULL)
			return -1;
	}
	return 0;
}

/* ---- the report mail ------------------------------------------------------- */

char *dmarc_report_message(struct arena *a, const struct dmarc_report_conf *c,
                           const struct dmarc_report *r, const struct dmarc_report_dest *d,
                           size_t n, int64_t now, size_t *len)
{
	struct buf b;
	char date[64];
	const char *boundary = "=_smexop_dmarc_report";
	bool first = true;
	size_t i;
	int rc = 0;

	buf_init(&b, 2 * r->gz_len + 64 * 1024);
	report_date(now, date, sizeof(date));
	rc |= buf_printf(&b, "From: %s <%s>\r\nTo: ", c->org_name, c->email);
	for (i = 0; i < n; i++) {
		if (d[i].status != DMARC_DEST_OK || d[i].addr == NULL)
			continue;
		rc |= buf_printf(&b, "%s<%s>", first ? "" : ",\r\n ", d[i].addr);
		first = false;
	}
	if (first)
		rc |= buf_puts(&b, "undisclosed-recipients:;");
	rc |= buf_printf(&b,
	                 "\r\nSubject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n"
	                 "Date: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
	                 "Content-Type: multipart/mixed; boundary=\"%s\"\r\n"
	                 "Auto-Submitted: auto-generated\r\n\r\n"
	                 "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	                 "This is a DMARC aggregate report (RFC 7489) for %s\r\n"
	                 "covering %lld to %lld: %llu messages in %zu rows.\r\n\r\n"
	                 "--%s\r\nContent-Type: application/gzip; name=\"%s\"\r\n"
	                 "Content-Transfer-Encoding: base64\r\n"
	                 "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n",
	                 r->domain, report_receiver(c), r->report_id, date, r->report_id,
	                 report_receiver(c), boundary, boundary, r->domain, (long long)r->begin,
	                 (long long)(r->end - 1), (unsigned long long)r->messages, r->rows,
	                 boundary, r->filename, r->filename);
	rc |= report_base64(&b, r->gz, r->gz_len);
	rc |= buf_printf(&b, "\r\n--%s--\r\n", boundary);
	return report_buf_take(a, &b, rc == 0, len);
}
