/*
 * dmarc_import - read the DMARC aggregate reports other receivers send
 * us (RFC 7489 7.2, and the RFC 9990 form) into store structures
 *
 * A file is sniffed, not trusted by its name: gzip (magic 1f 8b), zip
 * (PK\3\4), XML (first '<'), or else a mail whose leaves are sniffed in
 * turn, a few levels deep at most (report_util.h: report_import_any).
 * Every decompression is capped at max_size; libxml2 reads with no
 * network, no DTD and no entity substitution, and a document that
 * declares a DOCTYPE is refused.  Elements are found by local name, so
 * reports with no namespace, the RFC 7489 one or RFC 9990's read alike;
 * unknown elements are ignored.
 */
#include <archive.h>
#include <archive_entry.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <string.h>

#include "core/arena.h"
#include "core/net.h"
#include "core/str.h"
#include "mime/multipart.h"
#include "report/dmarc_report.h"
#include "report/report_util.h"

#define IMPORT_MAX_ROWS 1000000

/* ---- decompression --------------------------------------------------------- */

/* import_unzip - every regular entry of a zip archive, sniffed in turn */
static int import_unzip(struct report_import *ri, const unsigned char *data, size_t len,
                        unsigned depth, struct sx_err *err)
{
	struct archive *ar = archive_read_new();
	struct archive_entry *e;
	unsigned entries = 0;
	int rc, ret = -1;

	if (ar == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	archive_read_support_format_zip(ar);
	if (archive_read_open_memory(ar, data, len) != ARCHIVE_OK) {
		sx_err_set(err, "zip: %s", archive_error_string(ar));
		goto out;
	}
	while ((rc = archive_read_next_header(ar, &e)) == ARCHIVE_OK) {
		size_t cap = ri->max_size - ri->used, n = 0, size = 64 * 1024;
		unsigned char *buf;
		la_ssize_t r;

		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (++entries > DMARC_IMPORT_MAX_ZIP_FILES) {
			sx_err_set(err, "zip: more than %d files", DMARC_IMPORT_MAX_ZIP_FILES);
			goto out;
		}
		buf = arena_alloc(ri->a, size + 1);
		if (buf == NULL)
			goto nomem;
		for (;;) {
			if (n == size) {
				if (size > cap) {
					sx_err_set(err, "decompressed data exceeds %zu bytes",
					           ri->max_size);
					goto out;
				}
				size_t nsize = size * 2 > cap + 1 ? cap + 1 : size * 2;
				unsigned char *nb = arena_alloc(ri->a, nsize + 1);
				if (nb == NULL)
					goto nomem;
				memcpy(nb, buf, n);
				buf = nb;
				size = nsize;
			}
			r = archive_read_data(ar, buf + n, size - n);
			if (r < 0) {
				sx_err_set(err, "zip: %s", archive_error_string(ar));
				goto out;
			}
			if (r == 0)
				break;
			n += (size_t)r;
		}
		if (n > cap) {
			sx_err_set(err, "decompressed data exceeds %zu bytes", ri->max_size);
			goto out;
		}
		ri->used += n;
		buf[n] = '\0';
		if (report_import_any(ri, buf, n, depth + 1) < 0)
			continue; /* the error is kept; other entries may hold the report */
	}
	if (rc != ARCHIVE_EOF) {
		sx_err_set(err, "zip: %s", archive_error_string(ar));
		goto out;
	}
	ret = 0;
	goto out;
nomem:
	sx_err_set(err, "out of memory");
out:
	archive_read_free(ar);
	return ret;
}

/* ---- XML ------------------------------------------------------------------- */

static bool xname(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* xchild - the first element child called name (local name) */
static xmlNode *xchild(const xmlNode *n, const char *name)
{
	xmlNode *c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (xname(c, name))
			return c;
	return NULL;
}

/* xtext - the trimmed text of n (NULL for no node), in the arena */
static const char *xtext(struct arena *a, const xmlNode *n)
{
	xmlChar *t;
	const char *s;
	size_t len;
	char *out;

	if (n == NULL)
		return NULL;
	t = xmlNodeGetContent(n);
	if (t == NULL)
		return "";
	s = (const char *)t;
	while (str_is_space((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && str_is_space((unsigned char)s[len - 1]))
		len--;
	out = arena_strndup(a, s, len);
	xmlFree(t);
	return out;
}

static const char *xget(struct arena *a, const xmlNode *n, const char *name)
{
	return xtext(a, xchild(n, name));
}

/* xlower - a keyword value lower-cased ("Pass" is pass) */
static const char *xlower(struct arena *a, const xmlNode *n, const char *name)
{
	const char *t = xget(a, n, name);
	char *d;

	if (t == NULL)
		return NULL;
	d = arena_strdup(a, t);
	return d ? str_lower_inplace(d) : NULL;
}

/* xint - an integer; "123.0" accepted (some reporters write it) */
static int xint(const char *s, uint64_t max, uint64_t *out)
{
	size_t n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	const char *dot = memchr(s, '.', n);
	if (dot != NULL) {
		for (const char *p = dot + 1; *p != '\0'; p++)
			if (*p != '0')
				return -1;
		n = (size_t)(dot - s);
	}
	return str_to_u64(s, n, 0, max, out);
}

static int import_row(struct arena *a, const xmlNode *rec, size_t idx,
                      struct store_dmarc_import_row *w, struct sx_err *err)
{
	const xmlNode *row = xchild(rec, "row"), *pe = xchild(row, "policy_evaluated");
	const xmlNode *id = xchild(rec, "identifiers"), *ar = xchild(rec, "auth_results"), *c;
	struct store_dmarc_dkim *dk;
	struct store_dmarc_spf *sp;
	struct net_addr na;
	uint64_t count;
	char ipbuf[NET_ADDR_STRLEN];
	char *reasons;
	size_t rlen = 0;

	memset(w, 0, sizeof(*w));
	if (row == NULL) {
		sx_err_set(err, "record %zu: no <row>", idx + 1);
		return -1;
	}
	w->source_ip = xget(a, row, "source_ip");
	if (w->source_ip == NULL || net_addr_parse(w->source_ip, &na) < 0) {
		sx_err_set(err, "record %zu: source_ip %s is not an IP address", idx + 1,
		           w->source_ip ? w->source_ip : "(missing)");
		return -1;
	}
	w->source_ip = arena_strdup(a, net_addr_format(&na, ipbuf, sizeof(ipbuf)));
	if (xint(xget(a, row, "count"), UINT32_MAX, &count) < 0) {
		sx_err_set(err, "record %zu: no count, or not a number", idx + 1);
		return -1;
	}
	w->count = count;
	w->disposition = xlower(a, pe, "disposition");
	w->dkim_eval = xlower(a, pe, "dkim");
	w->spf_eval = xlower(a, pe, "spf");
	reasons = arena_strdup(a, "");
	for (c = pe ? pe->children : NULL; c != NULL && reasons != NULL; c = c->next) {
		if (!xname(c, "reason"))
			continue;
		const char *type = xget(a, c, "type"), *comment = xget(a, c, "comment");
		if ((type == NULL || *type == '\0') && (comment == NULL || *comment == '\0'))
			continue;
		reasons = arena_printf(a, "%s%s%s%s%s", reasons, rlen ? "; " : "", type ? type : "",
		                       comment && *comment ? ": " : "", comment ? comment : "");
		rlen = reasons ? strlen(reasons) : 0;
	}
	w->reasons = reasons;
	w->header_from = xlower(a, id, "header_from");
	w->envelope_from = xlower(a, id, "envelope_from");
	w->envelope_to = xlower(a, id, "envelope_to");
	dk = arena_array(a, STORE_DMARC_MAX_AUTH, sizeof(*dk));
	sp = arena_array(a, STORE_DMARC_MAX_AUTH, sizeof(*sp));
	if (dk == NULL || sp == NULL)
		goto nomem;
	for (c = ar ? ar->children : NULL; c != NULL; c = c->next) {
		if (xname(c, "dkim") && w->ndkim < STORE_DMARC_MAX_AUTH) {
			struct store_dmarc_dkim *d = &dk[w->ndkim++];
			d->domain = xlower(a, c, "domain");
			d->selector = xget(a, c, "selector");
			d->result = xlower(a, c, "result");
			d->human_result = xget(a, c, "human_result");
		} else if (xname(c, "spf") && w->nspf < STORE_DMARC_MAX_AUTH) {
			struct store_dmarc_spf *s = &sp[w->nspf++];
			s->domain = xlower(a, c, "domain");
			s->scope = xlower(a, c, "scope");
			s->result = xlower(a, c, "result");
		}
	}
	w->dkim = dk;
	w->spf = sp;
	if (w->source_ip == NULL || reasons == NULL)
		goto nomem;
	return 0;
nomem:
	sx_err_set(err, "out of memory");
	return -1;
}

/* import_report - the report in the parsed document */
static int import_report(struct arena *a, const xmlNode *root, struct store_dmarc_import *r,
                         struct sx_err *err)
{
	const xmlNode *md, *dr, *pp, *c;
	struct store_dmarc_import_row *rows = NULL;
	size_t n = 0, size = 0;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	if (!xname(root, "feedback")) {
		sx_err_set(err, "not a DMARC aggregate report: the root element is <%s>",
		           root ? (const char *)root->name : "");
		return -1;
	}
	md = xchild(root, "report_metadata");
	pp = xchild(root, "policy_published");
	if (md == NULL || pp == NULL) {
		sx_err_set(err, "no <%s>", md == NULL ? "report_metadata" : "policy_published");
		return -1;
	}
	r->org_name = xget(a, md, "org_name");
	r->email = xget(a, md, "email");
	r->extra_contact_info = xget(a, md, "extra_contact_info");
	r->report_id = xget(a, md, "report_id");
	if (r->org_name == NULL || r->org_name[0] == '\0') {
		/* seen in the wild: an empty org_name; the address still names them */
		const char *at = r->email ? strrchr(r->email, '@') : NULL;
		r->org_name = at && at[1] ? at + 1 : NULL;
	}
	if (r->org_name == NULL || r->report_id == NULL || r->report_id[0] == '\0') {
		sx_err_set(err, "no %s in <report_metadata>",
		           r->org_name == NULL ? "org_name" : "report_id");
		return -1;
	}
	dr = xchild(md, "date_range");
	if (xint(xget(a, dr, "begin"), INT64_MAX, &v) < 0) {
		sx_err_set(err, "no date_range begin, or not a number");
		return -1;
	}
	r->begin = (int64_t)v;
	if (xint(xget(a, dr, "end"), INT64_MAX, &v) < 0) {
		sx_err_set(err, "no date_range end, or not a number");
		return -1;
	}
	r->end = (int64_t)v;
	r->domain = xlower(a, pp, "domain");
	if (r->domain == NULL || r->domain[0] == '\0') {
		sx_err_set(err, "no domain in <policy_published>");
		return -1;
	}
	r->adkim = xlower(a, pp, "adkim");
	r->aspf = xlower(a, pp, "aspf");
	r->p = xlower(a, pp, "p");
	r->sp = xlower(a, pp, "sp");
	r->np = xlower(a, pp, "np");
	r->fo = xget(a, pp, "fo");
	r->pct = xint(xget(a, pp, "pct"), 100, &v) == 0 ? (int)v : -1;
	for (c = root->children; c != NULL; c = c->next) {
		if (!xname(c, "record"))
			continue;
		if (n >= IMPORT_MAX_ROWS) {
			sx_err_set(err, "more than %d records", IMPORT_MAX_ROWS);
			return -1;
		}
		if (ARENA_GROW(a, rows, size, n, 16) < 0) {
			sx_err_set(err, "out of memory");
			return -1;
		}
		if (import_row(a, c, n, &rows[n], err) < 0)
			return -1;
		n++;
	}
	r->rows = rows;
	r->nrows = n;
	return 0;
}

/* import_encoding_utf8 - the XML declaration names no encoding, or UTF-8 */
static bool import_encoding_utf8(const char *xml, size_t len)
{
	const char *end, *enc;

	if (len < 5 || memcmp(xml, "<?xml", 5) != 0)
		return true;
	end = memchr(xml, '>', len);
	if (end == NULL)
		return true;
	enc = memmem(xml, (size_t)(end - xml), "encoding", 8);
	if (enc == NULL)
		return true;
	enc += 8;
	while (enc < end && (*enc == ' ' || *enc == '=' || *enc == '"' || *enc == '\''))
		enc++;
	return (size_t)(end - enc) >= 5 &&
	       (str_ncasecmp(enc, "utf-8", 5) == 0 || str_ncasecmp(enc, "utf8", 4) == 0);
}

/* import_xml_parse - parse xml into a document; NULL with err */
static xmlDocPtr import_xml_parse(const char *xml, size_t len, struct sx_err *err)
{
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	xmlDocPtr doc;

	if (ctxt == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "report.xml", NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	                            XML_PARSE_NOCDATA);
	if (doc == NULL) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[200];
		size_t n;
		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "not well-formed");
		n = strlen(msg);
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		sx_err_set(err, "invalid XML at line %d: %s", e ? e->line : 0, msg);
	}
	xmlFreeParserCtxt(ctxt);
	return doc;
}

/* import_feedback_only - the span from "<feedback" to the end of the
 * last "</feedback>", for documents wrapped in stray markup (an unclosed
 * <xs:schema> start tag has been seen); NULL when there is none */
static const char *import_feedback_only(const char *xml, size_t len, size_t *outlen)
{
	const char *b = memmem(xml, len, "<feedback", 9), *e = NULL, *p = xml;

	if (b == NULL || b == xml)
		return NULL;
	while ((p = memmem(p, len - (size_t)(p - xml), "</feedback>", 11)) != NULL) {
		e = p + 11;
		p = e;
	}
	if (e == NULL || e <= b)
		return NULL;
	*outlen = (size_t)(e - b);
	return b;
}

int dmarc_import_xml(struct arena *a, const char *xml, size_t len, struct store_dmarc_import *r,
                     struct sx_err *err)
{
	xmlDocPtr doc;
	size_t fixed_len = 0;
	bool fail;
	int rc;

	if (len > INT_MAX) {
		sx_err_set(err, "XML too large");
		return -1;
	}
	/* no DTD at all: entities are how XML bombs and XXE work, and a
	 * report never needs one */
	if (memmem(xml, len, "<!DOCTYPE", 9) != NULL || memmem(xml, len, "<!ENTITY", 8) != NULL) {
		sx_err_set(err, "XML with a DOCTYPE or ENTITY declaration is not accepted");
		return -1;
	}
	if (import_encoding_utf8(xml, len)) {
		char *fixed = report_utf8_fix(a, xml, len, &fixed_len, &fail);
		if (fail) {
			sx_err_set(err, "out of memory");
			return -1;
		}
		if (fixed != NULL) {
			xml = fixed;
			len = fixed_len;
		}
	}
	doc = import_xml_parse(xml, len, err);
	if (doc == NULL) {
		size_t flen;
		const char *f = import_feedback_only(xml, len, &flen);
		struct sx_err err2 = { 0 };
		if (f == NULL || (doc = import_xml_parse(f, flen, &err2)) == NULL)
			return -1;
	}
	rc = import_report(a, xmlDocGetRootElement(doc), r, err);
	xmlFreeDoc(doc);
	return rc;
}

/* ---- sniffing ------------------------------------------------------------- */

/* import_doc - a zip archive (PK\3\4) or an XML report (first '<') */
static int import_doc(struct report_import *ri, const unsigned char *data, size_t len, size_t i,
                      unsigned depth, struct sx_err *err)
{
	struct store_dmarc_import r;

	if (len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0)
		return import_unzip(ri, data, len, depth, err) < 0 ? -1 : 1;
	if (data[i] != '<')
		return 0;
	if (dmarc_import_xml(ri->a, (const char *)data + i, len - i, &r, err) < 0)
		return -1;
	r.source = ri->name;
	if (report_import_add(ri, &r) < 0) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	return 1;
}

/* import_leaf - a MIME leaf that may hold a report: by type or name */
static bool import_leaf(const struct multipart_leaf *leaf)
{
	const char *t = leaf->type, *f = leaf->filename;
	size_t flen = f ? strlen(f) : 0;

	return strstr(t, "gzip") != NULL || strstr(t, "zip") != NULL || strstr(t, "xml") != NULL ||
	       strcmp(t, "application/octet-stream") == 0 ||
	       (f != NULL &&
	        (str_case_suffix(f, flen, ".xml", 4) || str_case_suffix(f, flen, ".gz", 3) ||
	         str_case_suffix(f, flen, ".zip", 4)));
}

static const struct report_import_format import_format = {
	.sniff = import_doc,
	.leaf = import_leaf,
	.failure_type = "message/feedback-report", /* ARF */
	.failure_msg = "a failure report (RFC 6591), not an aggregate report",
	.no_report = "a mail without a DMARC report attached",
	.neither = "neither XML, gzip, zip nor a mail",
};

int dmarc_import_parse(struct arena *a, const char *name, const unsigned char *data, size_t len,
                       size_t max_size, struct store_dmarc_import **out, size_t *n,
                       struct sx_err *err)
{
	struct report_import ri = {
		.format = &import_format,
		.a = a,
		.name = name,
		.max_size = max_size ? max_size : DMARC_IMPORT_DEFAULT_MAX,
		.esize = sizeof(**out),
		.max = DMARC_IMPORT_MAX_REPORTS,
	};

	*out = NULL;
	*n = 0;
	report_import_any(&ri, data, len, 0);
	if (report_import_done(&ri, "no DMARC aggregate report found", err) < 0)
		return -1;
	*out = ri.v;
	*n = ri.n;
	return 0;
}
