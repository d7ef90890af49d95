/*
 * cli_analyze - `smexop analyze`: a message header analyser
 *
 * Reads one message (FILE or standard input; an mbox "From " line on top
 * is skipped) and explains its header the way Microsoft's Message Header
 * Analyzer does:
 *
 *   Summary         From, To, Subject, Date, Message-ID, total delivery time
 *   Hops            the Received chain oldest first (mime/received.h): hosts,
 *                   addresses, protocol, TLS, time, delay since the previous
 *                   hop that has a time; a negative delay is flagged as
 *                   clock skew
 *   Authentication  every Authentication-Results field by method (auth/
 *                   authres.h; EOP's fields without authserv-id and with a
 *                   bare action= are read leniently), the ARC sets by instance
 *   Antispam        X-Smexop-Antispam-Report, X-Forefront-Antispam-Report,
 *                   X-Microsoft-Antispam(-Mailbox-Delivery) spelled out
 *                   (report/antispam_hdr.h), other filters' fields as written
 *   DKIM            each DKIM-Signature's tags, t= and x= as dates
 *   Verification    with --verify: DKIM and ARC checked again through the
 *                   resolver (DNS options as everywhere)
 *
 * --json prints one object with the same content.  Nothing here depends on
 * the clock except --verify (--now sets it).  Exit 0 whatever the message
 * holds, 2 on usage or input errors.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "auth/arc.h"
#include "auth/authres.h"
#include "auth/dkim.h"
#include "auth/dkim_sig.h"
#include "auth/dkim_tag.h"
#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "mime/date.h"
#include "mime/raw.h"
#include "mime/received.h"
#include "report/antispam_hdr.h"

static const char usage_text[] =
    "usage: smexop analyze [--json] [--verify [--now T] [DNS OPTIONS]] [FILE]\n"
    "\n"
    "Explains a message's header: the Received chain as hops (hosts, addresses,\n"
    "TLS, times, delays), Authentication-Results and ARC sets decoded, the\n"
    "antispam report fields (X-Forefront-Antispam-Report, X-Microsoft-Antispam,\n"
    "X-Smexop-Antispam-Report) in words, and the DKIM signatures.\n"
    "\n"
    "  --json                one JSON object\n"
    "  --verify              verify DKIM and ARC again through DNS\n"
    "  --now T               the time DKIM signatures are checked at (seconds since\n"
    "                        the epoch; default: now)\n" CLI_DNS_USAGE "\n"
    "A message is read from FILE, or standard input when FILE is '-' or missing.\n";

static void usage(FILE *out)
{
	fputs(usage_text, out);
}

#define MAX_HOPS     200 /* Received fields read; more are counted, not shown */
#define MAX_AR       50  /* Authentication-Results fields decoded */
#define MAX_DKIM     50  /* DKIM-Signature fields shown */
#define MAX_ANTISPAM 20  /* antispam fields shown */

/* ---- output helpers ------------------------------------------------------ */

/* text - s with control bytes as '?' (header bytes are not trusted) */
static void text(FILE *out, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

/* utf8_len - length of a valid UTF-8 sequence at s, or 0 */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

/* jstr - a JSON string; NULL is null; bytes that are not UTF-8 become U+FFFD */
static void jstr(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (s == NULL) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p == '"' || *p == '\\')
				fprintf(out, "\\%c", *p);
			else if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
			p++;
		} else if ((n = utf8_len(p)) > 0) {
			fwrite(p, 1, n, out);
			p += n;
		} else {
			fputs("\\ufffd", out);
			p++;
		}
	}
	fputc('"', out);
}

/* jkey - ,"key": (the comma unless first) */
static void jkey(FILE *out, bool *first, const char *key)
{
	if (!*first)
		fputc(',', out);
	*first = false;
	jstr(out, key);
	fputc(':', out);
}

static void jkv(FILE *out, bool *first, const char *key, const char *val)
{
	jkey(out, first, key);
	jstr(out, val);
}

/* field_text - the first field called name, unfolded; NULL if none */
static const char *field_text(struct arena *a, const struct raw_message *m, const char *name)
{
	const struct raw_field *f = raw_find_first(m, name, strlen(name));
	const char *v;
	size_t n;

	if (f == NULL)
		return NULL;
	raw_field_value(f, &v, &n);
	return antispam_collapse(a, v, n);
}

/* ---- the model ---------------------------------------------------------- */

struct hop {
	struct received r;
	bool parsed;
	const char *raw;    /* the whole value unfolded, shown when little was read */
	bool has_delay;     /* delay is set */
	int64_t delay;      /* seconds since the reference time */
	unsigned delay_ref; /* the hop it is measured from (0: the Date field) */
};

struct ar_field {
	const char *name; /* "Authentication-Results", "ARC-Authentication-Results" */
	const char *raw;
	struct authres ar;
	bool ok;
	bool lenient; /* read by the lenient reader */
	const char *error;
};

struct arc_set_view {
	unsigned i;
	const char *cv, *as_d, *as_s, *as_t;
	const char *ams_d, *ams_s, *ams_h;
	struct ar_field aar;
	bool has_aar, has_as, has_ams;
};

struct antispam_view {
	const char *field;
	struct antispam_report rep;
	bool ok;
};

struct other_field {
	const char *field, *value;
};

struct dkim_view {
	const char *d, *s, *a, *c, *i, *h, *t, *x, *l, *bh;
	bool has_t, has_x;
	int64_t tv, xv;
	const char *error; /* the tag list or a tag does not parse */
};

struct analysis {
	const char *from, *to, *cc, *subject, *date, *message_id, *return_path;
	bool has_date;
	struct date_time date_t;
	struct hop *hops;
	size_t nhops, hops_total;
	struct ar_field *ars;
	size_t nars;
	struct arc_set_view *arc;
	size_t narc;
	const char *arc_problem;
	struct antispam_view *spam;
	size_t nspam;
	struct other_field *other;
	size_t nother;
	struct dkim_view *dkim;
	size_t ndkim, dkim_total;
	/* --verify */
	bool verified;
	const struct dkim_sig_result *vdkim;
	size_t nvdkim;
	const struct arc_verdict *varc;
};

/* ---- Authentication-Results, also EOP's -------------------------------- */

/* lenient_split - the next ';'-separated part outside comments and quotes */
static const char *lenient_part(const char *p, const char *end)
{
	int depth = 0;
	bool q = false;

	for (; p < end; p++) {
		if (*p == '\\' && p + 1 < end && (q || depth > 0))
			p++;
		else if (q)
			q = *p != '"';
		else if (*p == '"' && depth == 0)
			q = true;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (*p == ';' && depth == 0)
			return p;
	}
	return end;
}

/* lenient_token - a word (with quoted parts) or a comment in [*pp, end) */
static bool lenient_token(const char **pp, const char *end, const char **s, size_t *n, bool *cmt)
{
	const char *p = *pp;

	while (p < end && str_is_space((unsigned char)*p))
		p++;
	if (p == end)
		return false;
	*s = p;
	if (*p == '(') {
		int depth = 0;

		for (; p < end; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
		*cmt = true;
	} else {
		while (p < end && !str_is_space((unsigned char)*p) && *p != '(') {
			if (*p == '"') {
				for (p++; p < end && *p != '"'; p++)
					if (*p == '\\' && p + 1 < end)
						p++;
			}
			if (p < end)
				p++;
		}
		*cmt = false;
	}
	*n = (size_t)(p - *s);
	*pp = p;
	return true;
}

/* unquote - v without the quotes of a quoted string */
static char *unquote(struct arena *a, const char *v, size_t n)
{
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		return antispam_collapse(a, v + 1, n - 2);
	return antispam_collapse(a, v, n);
}

/*
 * lenient_authres - what EOP writes: "spf=pass (sender IP is 192.0.2.1)
 * smtp.mailfrom=contoso.com; ...; dmarc=pass action=none header.from=...;
 * compauth=pass reason=100", with no authserv-id and a bare action=.
 */
static int lenient_authres(struct arena *a, const char *v, size_t len, struct authres *out)
{
	const char *p = v, *end = v + len, *part, *s;
	size_t n;
	bool cmt, first = true;

	memset(out, 0, sizeof(*out));
	out->version = -1;
	out->results = arena_array(a, AUTHRES_MAX_RESULTS, sizeof(*out->results));
	if (out->results == NULL)
		return -1;
	for (; p < end; p = part + 1) {
		const char *q;
		struct authres_result *r = NULL;

		part = lenient_part(p, end);
		q = p;
		while (lenient_token(&q, part, &s, &n, &cmt)) {
			const char *eq = cmt ? NULL : memchr(s, '=', n);

			if (first && r == NULL && eq == NULL && !cmt) {
				if (out->authserv_id == NULL)
					out->authserv_id = antispam_collapse(a, s, n);
				continue;
			}
			if (r == NULL) {
				if (eq == NULL)
					continue; /* "none", a version number, a stray comment */
				if (out->nresults == AUTHRES_MAX_RESULTS)
					return 0;
				r = &out->results[out->nresults++];
				memset(r, 0, sizeof(*r));
				r->method_version = -1;
				r->method =
				    str_lower_inplace(antispam_collapse(a, s, (size_t)(eq - s)));
				r->result =
				    str_lower_inplace(unquote(a, eq + 1, n - (size_t)(eq + 1 - s)));
				r->props = arena_array(a, AUTHRES_MAX_PROPS, sizeof(*r->props));
				if (r->method == NULL || r->result == NULL || r->props == NULL)
					return -1;
				continue;
			}
			if (cmt) {
				if (r->comment == NULL && n >= 2)
					r->comment = antispam_collapse(a, s + 1, n - 2);
				continue;
			}
			if (eq == NULL)
				continue;
			if (eq - s == 6 && str_ncasecmp(s, "reason", 6) == 0) {
				r->reason = unquote(a, eq + 1, n - 7);
			} else if (r->nprops < AUTHRES_MAX_PROPS) {
				struct authres_prop *pr = &r->props[r->nprops++];
				const char *dot = memchr(s, '.', (size_t)(eq - s));

				pr->ptype = dot != NULL ? str_lower_inplace(antispam_collapse(
				                              a, s, (size_t)(dot - s)))
				                        : "";
				pr->property =
				    dot != NULL
				        ? antispam_collapse(a, dot + 1, (size_t)(eq - dot - 1))
				        : antispam_collapse(a, s, (size_t)(eq - s));
				pr->value = unquote(a, eq + 1, n - (size_t)(eq + 1 - s));
			}
		}
		first = false;
		if (part == end)
			break;
	}
	return 0;
}

/* decode_ar - one Authentication-Results value: strict, then lenient */
static void decode_ar(struct arena *a, struct ar_field *f, const char *v, size_t n)
{
	struct sx_err err = { 0 };

	f->raw = antispam_collapse(a, v, n);
	if (authres_parse(&f->ar, a, v, n, AUTHRES_LENIENT, &err) == 0) {
		f->ok = true;
		return;
	}
	f->error = arena_strdup(a, err.msg);
	if (n <= AUTHRES_MAX_LEN && lenient_authres(a, v, n, &f->ar) == 0 && f->ar.nresults > 0) {
		f->ok = true;
		f->lenient = true;
	}
}

/* compauth reason codes (docs/compauth.md) */
static const char *compauth_reason_text(const char *code)
{
	static const struct {
		const char *code, *text;
	} t[] = {
		{ "000", "explicit fail: DMARC fails and the domain says p=quarantine/reject" },
		{ "001", "implicit fail: nothing aligned passes, no enforcing DMARC policy" },
		{ "002", "the admin blocked this spoofed sender/domain pair" },
		{ "003", "the From field is missing, repeated or has no usable domain" },
		{ "010", "explicit fail, the From domain is one of the accepted domains" },
		{ "100", "pass: DMARC passes" },
		{ "109", "pass: no DMARC record, SPF or DKIM passes (bestguesspass)" },
		{ "130", "pass: a trusted ARC sealer's result overrode the failure" },
		{ "201", "softpass: the client's PTR name is in the From domain" },
		{ "202", "softpass: SPF passes for a HELO name in the From domain" },
		{ "301", "none: not checked (a DNS lookup failed)" },
		{ "451", "none: bypassed, own organisation through a trusted connector" },
		{ "601", "implicit fail, the From domain is one of the accepted domains" },
		{ "701", "pass: the admin allowed this sender/domain pair" },
		{ "905", "none: bypassed by a connector or rule" },
	};
	size_t i;

	for (i = 0; code != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(code, t[i].code) == 0)
			return t[i].text;
	if (code != NULL && code[0] == '1')
		return "pass";
	if (code != NULL && code[0] == '2')
		return "softpass";
	if (code != NULL && code[0] == '3')
		return "not checked";
	if (code != NULL && (code[0] == '4' || code[0] == '9'))
		return "bypassed";
	if (code != NULL && code[0] == '7')
		return "pass (allowed)";
	return NULL;
}

/* result_meaning - words for what a result says beyond its name */
static const char *result_meaning(const struct authres_result *r)
{
	const char *act;
	size_t i;

	if (strcmp(r->method, "compauth") == 0)
		return compauth_reason_text(r->reason);
	if (strcmp(r->method, "dmarc") == 0) {
		if (strcmp(r->result, "bestguesspass") == 0)
			return "no DMARC record, but it would have passed (EOP)";
		act = NULL;
		for (i = 0; i < r->nprops; i++)
			if (strcmp(r->props[i].property, "action") == 0)
				act = r->props[i].value;
		if (act == NULL)
			return NULL;
		if (str_casecmp(act, "oreject") == 0)
			return "action oreject: p=reject not enforced here (override)";
		if (str_casecmp(act, "pct.quarantine") == 0 || str_casecmp(act, "pct.reject") == 0)
			return "action pct.*: the policy's pct= sampled the message out";
		if (str_casecmp(act, "quarantine") == 0 || str_casecmp(act, "reject") == 0)
			return "the domain's policy was applied";
	}
	return NULL;
}

/* ---- gathering ---------------------------------------------------------- */

static const char *const antispam_fields[] = {
	"X-Smexop-Antispam-Report",
	"X-Forefront-Antispam-Report",
	"X-Forefront-Antispam-Report-Untrusted",
	"X-Microsoft-Antispam",
	"X-Microsoft-Antispam-Untrusted",
	"X-Microsoft-Antispam-Mailbox-Delivery",
};

static const char *const other_spam_fields[] = {
	"X-CustomSpam",
	"X-MS-Exchange-Organization-SCL",
	"X-Spam-Flag",
	"X-Spam-Status",
	"X-Spam-Level",
	"X-Spam-Score",
	"X-Spam-Checker-Version",
};

static bool name_in(const struct raw_field *f, const char *const *list, size_t n,
                    const char **which)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (raw_field_is(f, list[i], strlen(list[i]))) {
			*which = list[i];
			return true;
		}
	return false;
}

/* tag_text - the value of tag name in list, unfolded; NULL if absent */
static const char *tag_text(struct arena *a, const struct dkim_tag_list *l, const char *name)
{
	const struct dkim_tag *t = dkim_tag_find(l, name);
	char *v, *o, *p;

	if (t == NULL)
		return NULL;
	v = antispam_collapse(a, t->value, t->value_len);
	if (v != NULL && strcmp(name, "h") == 0) {
		/* folding in h= is no part of the names */
		for (o = p = v; *p != '\0'; p++)
			if (*p != ' ')
				*o++ = *p;
		*o = '\0';
	}
	return v;
}

static void gather_dkim(struct arena *a, struct dkim_view *d, const char *v, size_t n)
{
	struct dkim_tag_list *l = arena_zalloc(a, sizeof(*l));
	const char *why = NULL;
	uint64_t u;

	if (l == NULL) {
		d->error = "out of memory";
		return;
	}
	if (dkim_tag_parse(l, v, n, &why) < 0) {
		d->error = why != NULL ? why : "tag list does not parse";
		return;
	}
	d->d = tag_text(a, l, "d");
	d->s = tag_text(a, l, "s");
	d->a = tag_text(a, l, "a");
	d->c = tag_text(a, l, "c");
	d->i = tag_text(a, l, "i");
	d->h = tag_text(a, l, "h");
	d->t = tag_text(a, l, "t");
	d->x = tag_text(a, l, "x");
	d->l = tag_text(a, l, "l");
	d->bh = tag_text(a, l, "bh");
	if (d->t != NULL && str_to_u64(d->t, strlen(d->t), 0, INT64_MAX / 2, &u) == 0) {
		d->has_t = true;
		d->tv = (int64_t)u;
	}
	if (d->x != NULL && str_to_u64(d->x, strlen(d->x), 0, INT64_MAX / 2, &u) == 0) {
		d->has_x = true;
		d->xv = (int64_t)u;
	}
	if (d->d == NULL || d->s == NULL || d->h == NULL)
		d->error = "missing d=, s= or h=";
}

static void gather_arc(struct arena *a, const struct raw_message *m, struct analysis *an)
{
	struct arc_fields sets[ARC_MAX_INSTANCE + 1];
	unsigned highest = 0, i;
	const char *why = NULL;
	struct dkim_tag_list *l = arena_zalloc(a, sizeof(*l));

	memset(sets, 0, sizeof(sets));
	if (arc_collect(m, sets, &highest, &why) < 0)
		an->arc_problem = why;
	if (highest == 0 || l == NULL)
		return;
	an->arc = arena_array(a, highest, sizeof(*an->arc));
	if (an->arc == NULL)
		return;
	for (i = 1; i <= highest; i++) {
		struct arc_set_view *s = &an->arc[an->narc++];
		const char *v, *semi;
		size_t n;

		memset(s, 0, sizeof(*s));
		s->i = i;
		if (sets[i].as != NULL) {
			raw_field_value(sets[i].as, &v, &n);
			s->has_as = true;
			memset(l, 0, sizeof(*l));
			if (dkim_tag_parse(l, v, n, &why) == 0) {
				s->cv = tag_text(a, l, "cv");
				s->as_d = tag_text(a, l, "d");
				s->as_s = tag_text(a, l, "s");
				s->as_t = tag_text(a, l, "t");
			}
		}
		if (sets[i].ams != NULL) {
			raw_field_value(sets[i].ams, &v, &n);
			s->has_ams = true;
			memset(l, 0, sizeof(*l));
			if (dkim_tag_parse(l, v, n, &why) == 0) {
				s->ams_d = tag_text(a, l, "d");
				s->ams_s = tag_text(a, l, "s");
				s->ams_h = tag_text(a, l, "h");
			}
		}
		if (sets[i].aar != NULL) {
			raw_field_value(sets[i].aar, &v, &n);
			s->has_aar = true;
			s->aar.name = "ARC-Authentication-Results";
			semi = memchr(v, ';', n);
			if (semi != NULL)
				decode_ar(a, &s->aar, semi + 1, n - (size_t)(semi + 1 - v));
			else
				s->aar.error = "no \"i=N;\" in front";
		}
	}
}

static int gather(struct arena *a, const struct raw_message *m, struct analysis *an)
{
	size_t i, nrecv = 0;
	const char *which;

	an->from = field_text(a, m, "From");
	an->to = field_text(a, m, "To");
	an->cc = field_text(a, m, "Cc");
	an->subject = field_text(a, m, "Subject");
	an->date = field_text(a, m, "Date");
	an->message_id = field_text(a, m, "Message-ID");
	an->return_path = field_text(a, m, "Return-Path");
	if (an->date != NULL && date_parse(an->date, strlen(an->date), &an->date_t) == 0)
		an->has_date = true;

	an->hops_total = raw_count(m, "Received", 8);
	nrecv = an->hops_total < MAX_HOPS ? an->hops_total : MAX_HOPS;
	an->hops = arena_array(a, nrecv + 1, sizeof(*an->hops));
	an->ars = arena_array(a, MAX_AR, sizeof(*an->ars));
	an->spam = arena_array(a, MAX_ANTISPAM, sizeof(*an->spam));
	an->other = arena_array(a, MAX_ANTISPAM, sizeof(*an->other));
	an->dkim = arena_array(a, MAX_DKIM, sizeof(*an->dkim));
	if (an->hops == NULL || an->ars == NULL || an->spam == NULL || an->other == NULL ||
	    an->dkim == NULL)
		return -1;

	/* the Received fields are newest first: the hops are numbered from the
	 * bottom, keeping the MAX_HOPS oldest when there are more */
	for (i = 0; i < nrecv; i++) {
		const struct raw_field *f = raw_find_from_bottom(m, "Received", 8, i, NULL);
		struct hop *h = &an->hops[an->nhops++];
		const char *v;
		size_t n;

		memset(h, 0, sizeof(*h));
		raw_field_value(f, &v, &n);
		h->raw = antispam_collapse(a, v, n < 2048 ? n : 2048);
		h->parsed = received_parse(&h->r, a, v, n) == 0;
	}
	/* delays: from the nearest older hop with a time; hop 1 from Date */
	for (i = 0; i < an->nhops; i++) {
		struct hop *h = &an->hops[i];
		size_t k;

		if (!h->parsed || !h->r.has_date)
			continue;
		for (k = i; k > 0; k--)
			if (an->hops[k - 1].parsed && an->hops[k - 1].r.has_date)
				break;
		if (k > 0) {
			h->has_delay = true;
			h->delay = h->r.date.utc - an->hops[k - 1].r.date.utc;
			h->delay_ref = (unsigned)k;
		} else if (an->has_date) {
			h->has_delay = true;
			h->delay = h->r.date.utc - an->date_t.utc;
			h->delay_ref = 0;
		}
	}

	for (i = 0; i < m->nfields; i++) {
		const struct raw_field *f = &m->fields[i];
		const char *v;
		size_t n;

		raw_field_value(f, &v, &n);
		if (raw_field_is(f, "Authentication-Results", 22) && an->nars < MAX_AR) {
			struct ar_field *ar = &an->ars[an->nars++];

			memset(ar, 0, sizeof(*ar));
			ar->name = "Authentication-Results";
			decode_ar(a, ar, v, n);
		} else if (name_in(f, antispam_fields,
		                   sizeof(antispam_fields) / sizeof(antispam_fields[0]), &which) &&
		           an->nspam < MAX_ANTISPAM) {
			struct antispam_view *s = &an->spam[an->nspam++];

			s->field = which;
			s->ok = antispam_report_parse(&s->rep, a, v, n) == 0;
		} else if (name_in(f, other_spam_fields,
		                   sizeof(other_spam_fields) / sizeof(other_spam_fields[0]),
		                   &which) &&
		           an->nother < MAX_ANTISPAM) {
			an->other[an->nother].field = which;
			an->other[an->nother++].value =
			    antispam_collapse(a, v, n < 1024 ? n : 1024);
		} else if (raw_field_is(f, "DKIM-Signature", 14)) {
			an->dkim_total++;
			if (an->ndkim < MAX_DKIM) {
				struct dkim_view *d = &an->dkim[an->ndkim++];

				memset(d, 0, sizeof(*d));
				gather_dkim(a, d, v, n);
			}
		}
	}
	gather_arc(a, m, an);
	return 0;
}

/* ---- verification ------------------------------------------------------- */

struct vctx {
	struct cli_wait w;
	struct dkim_verify *dv;
	struct arc_verify *av;
};

static void dkim_done(struct dkim_verify *v, void *arg)
{
	struct vctx *c = arg;

	c->dv = v;
	cli_wait_done(&c->w, v);
}

static void arc_done(struct arc_verify *v, void *arg)
{
	struct vctx *c = arg;

	c->av = v;
	cli_wait_done(&c->w, v);
}

/* verify - DKIM and ARC at once through the resolver; -1 with a message */
static int verify(struct cli_dns *d, struct arena *a, const struct raw_message *m, int64_t now,
                  struct analysis *an)
{
	struct dkim_verify_options o;
	struct arc_verify_options ao = { 0 };
	struct vctx c = { 0 };

	if (cli_dns_open(d, "analyze") < 0)
		return -1;
	dkim_verify_options_init(&o, now);
	if (d->opts.timeout_ms > 0) {
		o.timeout_ms = d->opts.timeout_ms * 2;
		ao.timeout_ms = d->opts.timeout_ms * 2;
	}
	cli_wait_init(&c.w, d->base, 2);
	if (dkim_verify_start(d->dns, d->base, a, m, &o, dkim_done, &c) == NULL ||
	    arc_verify_start(d->dns, d->base, a, m, &ao, arc_done, &c) == NULL) {
		fprintf(stderr, "smexop analyze: out of memory\n");
		return -1;
	}
	if (cli_wait_run(&c.w) < 0) {
		fprintf(stderr, "smexop analyze: event loop failure\n");
		return -1;
	}
	an->verified = true;
	an->nvdkim = dkim_verify_results(c.dv, &an->vdkim);
	an->varc = arc_verify_verdict(c.av);
	return 0;
}

/* ---- human output ------------------------------------------------------- */

static void line(const char *label, const char *value)
{
	printf("  %-12s ", label);
	text(stdout, value != NULL ? value : "(none)");
	printf("\n");
}

static void print_tls(const struct received *r)
{
	if (r->tls) {
		printf("TLS");
		if (r->tls_version != NULL) {
			printf(" ");
			text(stdout, r->tls_version);
		}
		if (r->tls_cipher != NULL) {
			printf(" ");
			text(stdout, r->tls_cipher);
		}
	} else {
		printf("no TLS recorded");
	}
}

static void print_hop(const struct analysis *an, size_t i)
{
	const struct hop *h = &an->hops[i];
	const struct received *r = &h->r;
	char buf[64], dur[64];

	printf("  [%zu] ", i + 1);
	if (!h->parsed) {
		printf("(not read: too long)\n");
		return;
	}
	if (r->has_date)
		printf("%s", date_format(&r->date, buf, sizeof(buf)));
	else if (r->date_text != NULL) {
		printf("time unknown: \"");
		text(stdout, r->date_text);
		printf("\"");
	} else
		printf("no time");
	if (h->has_delay) {
		printf("   delay %s", date_format_duration(h->delay, dur, sizeof(dur)));
		if (h->delay_ref == 0)
			printf(" since Date");
		else if (h->delay_ref != i)
			printf(" since hop %u", h->delay_ref);
		if (h->delay < 0)
			printf("  ** CLOCK SKEW **");
	}
	printf("\n");
	if (r->from == NULL && r->by == NULL) {
		printf("        text  ");
		text(stdout, h->raw);
		printf("\n");
		return;
	}
	if (r->from != NULL) {
		const char *name = r->rdns != NULL ? r->rdns : r->from;

		printf("        from  ");
		text(stdout, name);
		if (r->ip != NULL && name[0] != '[') {
			printf(" [");
			text(stdout, r->ip);
			printf("]");
		}
		if (r->helo != NULL && str_casecmp(r->helo, name) != 0) {
			printf("  HELO ");
			text(stdout, r->helo);
		}
		printf("\n");
	}
	if (r->by != NULL) {
		printf("        by    ");
		text(stdout, r->by);
		if (r->by_ip != NULL && strcmp(r->by_ip, r->by) != 0) {
			printf(" [");
			text(stdout, r->by_ip);
			printf("]");
		}
		if (r->by_software != NULL) {
			printf(" (");
			text(stdout, r->by_software);
			printf(")");
		}
		printf("\n");
	}
	printf("        with  ");
	text(stdout, r->with != NULL ? r->with : "(protocol not given)");
	if (r->via != NULL) {
		printf(" via ");
		text(stdout, r->via);
	}
	printf(", ");
	print_tls(r);
	if (r->authenticated)
		printf(", authenticated");
	printf("\n");
	if (r->id != NULL || r->for_rcpt != NULL || r->envelope_from != NULL) {
		const char *sep = "";

		printf("        ");
		if (r->id != NULL) {
			printf("id ");
			text(stdout, r->id);
			sep = "  ";
		}
		if (r->for_rcpt != NULL) {
			printf("%sfor ", sep);
			text(stdout, r->for_rcpt);
			sep = "  ";
		}
		if (r->envelope_from != NULL) {
			printf("%senvelope-from ", sep);
			text(stdout, r->envelope_from);
		}
		printf("\n");
	}
}

static void print_results(const struct authres *ar, const char *indent)
{
	size_t i, k;

	if (ar->nresults == 0)
		printf("%s(none)\n", indent);
	for (i = 0; i < ar->nresults; i++) {
		const struct authres_result *r = &ar->results[i];
		const char *why = result_meaning(r);

		printf("%s%-10s ", indent, r->method);
		text(stdout, r->result);
		if (r->reason != NULL) {
			printf("  reason=");
			text(stdout, r->reason);
		}
		if (why != NULL)
			printf("  -- %s", why);
		printf("\n");
		if (r->comment != NULL) {
			printf("%s%-10s (", indent, "");
			text(stdout, r->comment);
			printf(")\n");
		}
		for (k = 0; k < r->nprops; k++) {
			printf("%s%-10s %s%s", indent, "", r->props[k].ptype,
			       r->props[k].ptype[0] != '\0' ? "." : "");
			text(stdout, r->props[k].property);
			printf("=");
			text(stdout, r->props[k].value);
			printf("\n");
		}
	}
}

static void print_ar(const struct ar_field *f, const char *indent)
{
	if (!f->ok) {
		printf("%sdoes not parse: %s\n%s  ", indent, f->error != NULL ? f->error : "?",
		       indent);
		text(stdout, f->raw);
		printf("\n");
		return;
	}
	if (f->lenient)
		printf("%s(not RFC 8601: read leniently, as EOP writes it)\n", indent);
	print_results(&f->ar, indent);
}

static void print_antispam(const struct antispam_view *s)
{
	size_t i;

	printf("  %s%s\n", s->field, s->ok ? "" : ": too long, not read");
	for (i = 0; s->ok && i < s->rep.n; i++) {
		const struct antispam_item *it = &s->rep.items[i];
		size_t vl = strlen(it->value);

		printf("    %-6s ", it->key);
		text(stdout, it->value);
		if (vl > 16)
			printf("\n    %-6s %-16s", "", "");
		else
			printf("%*s", (int)(16 - vl), "");
		printf("  %s", it->name != NULL ? it->name : "(not documented)");
		if (it->meaning != NULL)
			printf(": %s", it->meaning);
		else if (it->name != NULL && it->value[0] != '\0' &&
		         (str_casecmp(it->key, "SFV") == 0 || str_casecmp(it->key, "CAT") == 0 ||
		          str_casecmp(it->key, "IPV") == 0 || str_casecmp(it->key, "SCL") == 0 ||
		          str_casecmp(it->key, "BCL") == 0 || str_casecmp(it->key, "SFTY") == 0 ||
		          str_casecmp(it->key, "DIR") == 0 || str_casecmp(it->key, "SRV") == 0 ||
		          str_casecmp(it->key, "PCL") == 0))
			printf(": (value not documented)");
		printf("\n");
	}
	if (s->ok && s->rep.truncated)
		printf("    ... more items not shown\n");
}

static void print_dkim(const struct dkim_view *d, size_t i)
{
	char b1[40];

	printf("  [%zu] d=", i + 1);
	text(stdout, d->d != NULL ? d->d : "?");
	printf(" s=");
	text(stdout, d->s != NULL ? d->s : "?");
	printf("\n");
	if (d->error != NULL)
		printf("        does not parse: %s\n", d->error);
	if (d->a != NULL)
		line("      a", d->a);
	if (d->c != NULL)
		line("      c", d->c);
	if (d->i != NULL)
		line("      i", d->i);
	if (d->h != NULL)
		line("      h", d->h);
	if (d->t != NULL)
		line("      t", d->has_t ? date_format_utc(d->tv, b1, sizeof(b1)) : d->t);
	if (d->x != NULL)
		line("      x", d->has_x ? date_format_utc(d->xv, b1, sizeof(b1)) : d->x);
	if (d->l != NULL)
		line("      l", d->l);
}

static void print_text_report(const struct analysis *an)
{
	char buf[64], dur[64];
	size_t i;
	int64_t first = 0, last = 0;
	bool any = false;

	printf("Summary\n");
	line("From", an->from);
	line("To", an->to);
	if (an->cc != NULL)
		line("Cc", an->cc);
	line("Subject", an->subject);
	if (an->has_date) {
		printf("  %-12s %s\n", "Date", date_format(&an->date_t, buf, sizeof(buf)));
	} else {
		printf("  %-12s ", "Date");
		if (an->date != NULL) {
			printf("not a date: \"");
			text(stdout, an->date);
			printf("\"\n");
		} else {
			printf("(none)\n");
		}
	}
	line("Message-ID", an->message_id);
	if (an->return_path != NULL)
		line("Return-Path", an->return_path);
	for (i = 0; i < an->nhops; i++)
		if (an->hops[i].parsed && an->hops[i].r.has_date) {
			if (!any)
				first = an->hops[i].r.date.utc;
			last = an->hops[i].r.date.utc;
			any = true;
		}
	printf("  %-12s %zu", "Hops", an->hops_total);
	if (an->hops_total > an->nhops)
		printf(" (the oldest %zu shown)", an->nhops);
	printf("\n");
	printf("  %-12s ", "Delivery");
	if (any && an->has_date)
		printf("%s from Date to the last hop, ",
		       date_format_duration(last - an->date_t.utc, dur, sizeof(dur)));
	if (any)
		printf("%s from the first to the last hop\n",
		       date_format_duration(last - first, dur, sizeof(dur)));
	else
		printf("unknown (no hop has a time)\n");

	printf("\nHops (oldest first)\n");
	if (an->nhops == 0)
		printf("  (no Received fields)\n");
	for (i = 0; i < an->nhops; i++)
		print_hop(an, i);

	printf("\nAuthentication\n");
	if (an->nars == 0 && an->narc == 0)
		printf("  (no Authentication-Results or ARC fields)\n");
	for (i = 0; i < an->nars; i++) {
		printf("  Authentication-Results [%zu] by ", i + 1);
		text(stdout, an->ars[i].ok && an->ars[i].ar.authserv_id != NULL
		                 ? an->ars[i].ar.authserv_id
		                 : "(no authserv-id)");
		printf("\n");
		print_ar(&an->ars[i], "    ");
	}
	if (an->arc_problem != NULL)
		printf("  ARC: %s\n", an->arc_problem);
	for (i = 0; i < an->narc; i++) {
		const struct arc_set_view *s = &an->arc[i];

		printf("  ARC set i=%u  cv=", s->i);
		text(stdout, s->cv != NULL ? s->cv : "?");
		if (!s->has_as || !s->has_ams || !s->has_aar)
			printf("  (incomplete:%s%s%s)", s->has_as ? "" : " no ARC-Seal",
			       s->has_ams ? "" : " no ARC-Message-Signature",
			       s->has_aar ? "" : " no ARC-Authentication-Results");
		printf("\n");
		if (s->has_as) {
			printf("    seal       d=");
			text(stdout, s->as_d != NULL ? s->as_d : "?");
			printf(" s=");
			text(stdout, s->as_s != NULL ? s->as_s : "?");
			printf("\n");
		}
		if (s->has_ams) {
			printf("    signature  d=");
			text(stdout, s->ams_d != NULL ? s->ams_d : "?");
			printf(" s=");
			text(stdout, s->ams_s != NULL ? s->ams_s : "?");
			printf(" h=");
			text(stdout, s->ams_h != NULL ? s->ams_h : "?");
			printf("\n");
		}
		if (s->has_aar) {
			printf("    results by ");
			text(stdout, s->aar.ok && s->aar.ar.authserv_id != NULL
			                 ? s->aar.ar.authserv_id
			                 : "?");
			printf("\n");
			print_ar(&s->aar, "      ");
		}
	}

	printf("\nAntispam\n");
	if (an->nspam == 0 && an->nother == 0)
		printf("  (no antispam report fields)\n");
	for (i = 0; i < an->nspam; i++)
		print_antispam(&an->spam[i]);
	for (i = 0; i < an->nother; i++) {
		printf("  %s: ", an->other[i].field);
		text(stdout, an->other[i].value);
		printf("\n");
	}

	printf("\nDKIM signatures\n");
	if (an->dkim_total == 0)
		printf("  (none)\n");
	for (i = 0; i < an->ndkim; i++)
		print_dkim(&an->dkim[i], i);
	if (an->dkim_total > an->ndkim)
		printf("  ... %zu more not shown\n", an->dkim_total - an->ndkim);

	if (an->verified) {
		printf("\nVerification\n");
		if (an->nvdkim == 0)
			printf("  dkim       none\n");
		for (i = 0; i < an->nvdkim; i++) {
			const struct dkim_sig_result *r = &an->vdkim[i];

			printf("  dkim       %-9s d=", dkim_result_name(r->result));
			text(stdout, r->d);
			printf(" s=");
			text(stdout, r->s);
			printf(" (%s)\n", r->why != NULL ? r->why : "");
		}
		if (an->varc != NULL) {
			printf("  arc        %-9s %s%s, %u instance%s",
			       arc_result_name(an->varc->result), an->varc->reason,
			       an->varc->temporary ? " (temporary)" : "", an->varc->instances,
			       an->varc->instances == 1 ? "" : "s");
			if (an->varc->result == ARC_PASS)
				printf(", oldest-pass %u", an->varc->oldest_pass);
			printf("\n");
		}
	}
}

/* ---- JSON output -------------------------------------------------------- */

static void json_ar(const struct ar_field *f)
{
	bool first = true;
	size_t i, k;

	printf("{");
	jkv(stdout, &first, "raw", f->raw);
	jkey(stdout, &first, "parsed");
	printf(f->ok ? "true" : "false");
	if (f->error != NULL)
		jkv(stdout, &first, "error", f->error);
	if (!f->ok) {
		printf("}");
		return;
	}
	jkey(stdout, &first, "lenient");
	printf(f->lenient ? "true" : "false");
	jkv(stdout, &first, "authserv_id", f->ar.authserv_id);
	jkey(stdout, &first, "results");
	printf("[");
	for (i = 0; i < f->ar.nresults; i++) {
		const struct authres_result *r = &f->ar.results[i];
		bool f2 = true;

		printf("%s{", i > 0 ? "," : "");
		jkv(stdout, &f2, "method", r->method);
		jkv(stdout, &f2, "result", r->result);
		jkv(stdout, &f2, "reason", r->reason);
		jkv(stdout, &f2, "comment", r->comment);
		jkv(stdout, &f2, "meaning", result_meaning(r));
		jkey(stdout, &f2, "properties");
		printf("[");
		for (k = 0; k < r->nprops; k++) {
			bool f3 = true;

			printf("%s{", k > 0 ? "," : "");
			jkv(stdout, &f3, "ptype", r->props[k].ptype);
			jkv(stdout, &f3, "property", r->props[k].property);
			jkv(stdout, &f3, "value", r->props[k].value);
			printf("}");
		}
		printf("]}");
	}
	printf("]}");
}

static void json_hop(const struct analysis *an, size_t i)
{
	const struct hop *h = &an->hops[i];
	const struct received *r = &h->r;
	bool first = true;
	char buf[64];

	printf("%s{\"hop\":%zu", i > 0 ? "," : "", i + 1);
	first = false;
	jkv(stdout, &first, "raw", h->raw);
	jkey(stdout, &first, "parsed");
	printf(h->parsed ? "true" : "false");
	jkv(stdout, &first, "from", r->from);
	jkv(stdout, &first, "helo", r->helo);
	jkv(stdout, &first, "rdns", r->rdns);
	jkv(stdout, &first, "ip", r->ip);
	jkv(stdout, &first, "by", r->by);
	jkv(stdout, &first, "by_ip", r->by_ip);
	jkv(stdout, &first, "by_software", r->by_software);
	jkv(stdout, &first, "with", r->with);
	jkv(stdout, &first, "via", r->via);
	jkv(stdout, &first, "id", r->id);
	jkv(stdout, &first, "for", r->for_rcpt);
	jkv(stdout, &first, "envelope_from", r->envelope_from);
	jkey(stdout, &first, "tls");
	printf(r->tls ? "true" : "false");
	jkv(stdout, &first, "tls_version", r->tls_version);
	jkv(stdout, &first, "tls_cipher", r->tls_cipher);
	jkey(stdout, &first, "authenticated");
	printf(r->authenticated ? "true" : "false");
	jkv(stdout, &first, "date", r->date_text);
	jkv(stdout, &first, "time",
	    r->has_date ? date_format_utc(r->date.utc, buf, sizeof(buf)) : NULL);
	jkey(stdout, &first, "zone_known");
	printf(r->has_date && r->date.zone_known ? "true" : "false");
	jkey(stdout, &first, "delay_seconds");
	if (h->has_delay)
		printf("%lld", (long long)h->delay);
	else
		printf("null");
	if (h->has_delay) {
		jkey(stdout, &first, "delay_from");
		if (h->delay_ref == 0)
			printf("\"date\"");
		else
			printf("%u", h->delay_ref);
	}
	jkey(stdout, &first, "clock_skew");
	printf(h->has_delay && h->delay < 0 ? "true" : "false");
	printf("}");
}

static void print_json_report(const struct analysis *an)
{
	bool first = true, any = false;
	char buf[64];
	int64_t t0 = 0, t1 = 0;
	size_t i, k;

	printf("{\"summary\":{");
	jkv(stdout, &first, "from", an->from);
	jkv(stdout, &first, "to", an->to);
	jkv(stdout, &first, "cc", an->cc);
	jkv(stdout, &first, "subject", an->subject);
	jkv(stdout, &first, "date", an->date);
	jkv(stdout, &first, "date_utc",
	    an->has_date ? date_format_utc(an->date_t.utc, buf, sizeof(buf)) : NULL);
	jkv(stdout, &first, "message_id", an->message_id);
	jkv(stdout, &first, "return_path", an->return_path);
	jkey(stdout, &first, "hops");
	printf("%zu", an->hops_total);
	for (i = 0; i < an->nhops; i++)
		if (an->hops[i].parsed && an->hops[i].r.has_date) {
			if (!any)
				t0 = an->hops[i].r.date.utc;
			t1 = an->hops[i].r.date.utc;
			any = true;
		}
	jkey(stdout, &first, "delivery_seconds");
	if (any)
		printf("%lld", (long long)(t1 - t0));
	else
		printf("null");
	jkey(stdout, &first, "since_date_seconds");
	if (any && an->has_date)
		printf("%lld", (long long)(t1 - an->date_t.utc));
	else
		printf("null");
	printf("},\"hops\":[");
	for (i = 0; i < an->nhops; i++)
		json_hop(an, i);
	printf("],\"authentication_results\":[");
	for (i = 0; i < an->nars; i++) {
		if (i > 0)
			printf(",");
		json_ar(&an->ars[i]);
	}
	printf("],\"arc_sets\":[");
	for (i = 0; i < an->narc; i++) {
		const struct arc_set_view *s = &an->arc[i];

		first = true;
		printf("%s{", i > 0 ? "," : "");
		jkey(stdout, &first, "i");
		printf("%u", s->i);
		jkv(stdout, &first, "cv", s->cv);
		jkv(stdout, &first, "seal_d", s->as_d);
		jkv(stdout, &first, "seal_s", s->as_s);
		jkv(stdout, &first, "ams_d", s->ams_d);
		jkv(stdout, &first, "ams_s", s->ams_s);
		jkv(stdout, &first, "ams_h", s->ams_h);
		jkey(stdout, &first, "aar");
		if (s->has_aar)
			json_ar(&s->aar);
		else
			printf("null");
		printf("}");
	}
	printf("]");
	if (an->arc_problem != NULL) {
		printf(",\"arc_problem\":");
		jstr(stdout, an->arc_problem);
	}
	printf(",\"antispam\":[");
	for (i = 0; i < an->nspam; i++) {
		const struct antispam_view *s = &an->spam[i];

		printf("%s{\"field\":", i > 0 ? "," : "");
		jstr(stdout, s->field);
		printf(",\"parsed\":%s,\"items\":[", s->ok ? "true" : "false");
		for (k = 0; s->ok && k < s->rep.n; k++) {
			const struct antispam_item *it = &s->rep.items[k];

			first = true;
			printf("%s{", k > 0 ? "," : "");
			jkv(stdout, &first, "key", it->key);
			jkv(stdout, &first, "value", it->value);
			jkv(stdout, &first, "name", it->name);
			jkv(stdout, &first, "meaning", it->meaning);
			printf("}");
		}
		printf("]}");
	}
	printf("],\"other_spam_fields\":[");
	for (i = 0; i < an->nother; i++) {
		printf("%s{\"field\":", i > 0 ? "," : "");
		jstr(stdout, an->other[i].field);
		printf(",\"value\":");
		jstr(stdout, an->other[i].value);
		printf("}");
	}
	printf("],\"dkim_signatures\":[");
	for (i = 0; i < an->ndkim; i++) {
		const struct dkim_view *d = &an->dkim[i];

		first = true;
		printf("%s{", i > 0 ? "," : "");
		jkv(stdout, &first, "d", d->d);
		jkv(stdout, &first, "s", d->s);
		jkv(stdout, &first, "a", d->a);
		jkv(stdout, &first, "c", d->c);
		jkv(stdout, &first, "i", d->i);
		jkv(stdout, &first, "h", d->h);
		jkv(stdout, &first, "t", d->t);
		jkv(stdout, &first, "t_utc",
		    d->has_t ? date_format_utc(d->tv, buf, sizeof(buf)) : NULL);
		jkv(stdout, &first, "x", d->x);
		jkv(stdout, &first, "x_utc",
		    d->has_x ? date_format_utc(d->xv, buf, sizeof(buf)) : NULL);
		jkv(stdout, &first, "l", d->l);
		jkv(stdout, &first, "error", d->error);
		printf("}");
	}
	printf("]");
	if (an->verified) {
		printf(",\"verify\":{\"dkim\":[");
		for (i = 0; i < an->nvdkim; i++) {
			const struct dkim_sig_result *r = &an->vdkim[i];

			first = true;
			printf("%s{", i > 0 ? "," : "");
			jkv(stdout, &first, "result", dkim_result_name(r->result));
			jkv(stdout, &first, "d", r->d);
			jkv(stdout, &first, "s", r->s);
			jkv(stdout, &first, "reason", r->why);
			printf("}");
		}
		printf("],\"arc\":");
		if (an->varc != NULL) {
			first = true;
			printf("{");
			jkv(stdout, &first, "result", arc_result_name(an->varc->result));
			jkv(stdout, &first, "reason", an->varc->reason);
			printf(",\"instances\":%u,\"oldest_pass\":%u,\"temporary\":%s}",
			       an->varc->instances, an->varc->oldest_pass,
			       an->varc->temporary ? "true" : "false");
		} else {
			printf("null");
		}
		printf("}");
	}
	printf("}\n");
}

/* ---- the command -------------------------------------------------------- */

int cli_analyze(int argc, char **argv)
{
	struct cli_dns d;
	struct arena *a = NULL;
	struct buf b = { 0 };
	struct raw_message m;
	struct analysis an;
	struct sx_err err = { 0 };
	const char *file = NULL, *data;
	bool json = false, do_verify = false;
	int64_t now = (int64_t)time(NULL);
	uint64_t t;
	size_t len;
	int i, r, rc = CLI_EXIT_USAGE;

	memset(&d, 0, sizeof(d));
	memset(&an, 0, sizeof(an));
	for (i = 1; i < argc; i++) {
		r = cli_common_option(&d, &json, usage, argc, argv, &i);
		if (r < 0)
			return cli_opt_exit(r);
		if (r > 0)
			continue;
		if (strcmp(argv[i], "--verify") == 0) {
			do_verify = true;
		} else if (strcmp(argv[i], "--now") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error("analyze", "--now needs a value");
			i++;
			if (str_to_u64(argv[i], strlen(argv[i]), 0, INT64_MAX, &t) < 0)
				return cli_usage_error("analyze", "--now: not a time: %s", argv[i]);
			now = (int64_t)t;
		} else if (cli_file_arg("analyze", argv[i], &file) != 0) {
			return CLI_EXIT_USAGE;
		}
	}
	a = arena_new();
	if (a == NULL) {
		fprintf(stderr, "smexop analyze: out of memory\n");
		goto out;
	}
	if (cli_read_file("analyze", file, &b) < 0)
		goto out;
	data = b.data != NULL ? b.data : "";
	len = b.len;
	/* an mbox envelope line ("From addr date") is not a header field */
	if (len > 5 && memcmp(data, "From ", 5) == 0) {
		const char *nl = memchr(data, '\n', len);

		len = nl != NULL ? len - (size_t)(nl + 1 - data) : 0;
		data = nl != NULL ? nl + 1 : data + b.len;
	}
	if (raw_message_parse(&m, a, data, len, NULL, &err) < 0) {
		fprintf(stderr, "smexop analyze: %s\n", err.msg);
		goto out;
	}
	if (gather(a, &m, &an) < 0) {
		fprintf(stderr, "smexop analyze: out of memory\n");
		goto out;
	}
	if (do_verify && verify(&d, a, &m, now, &an) < 0)
		goto out;
	if (json)
		print_json_report(&an);
	else
		print_text_report(&an);
	rc = CLI_EXIT_OK;
out:
	cli_dns_close(&d);
	buf_free(&b);
	arena_free(a);
	return rc;
}
