/*
 * domaincheck_dmarc - the DMARC area of check-domain
 *
 * The record of _dmarc.DOMAIN, or when there is none and DOMAIN is below
 * its organisational domain, the one of _dmarc.ORG that it inherits
 * (RFC 7489 6.6.3), parsed by auth/dmarc_record.  Report destinations
 * come from report/dmarc_report (dmarc_report_dests), and the external
 * ones are checked for their <policy>._report._dmarc.<dest> record by
 * the same code that decides where our own reports go.
 */
#include <string.h>

#include "auth/dmarc_record.h"
#include "core/arena.h"
#include "core/orgdomain.h"
#include "core/str.h"
#include "report/dmarc_report.h"
#include "report/domaincheck_impl.h"

struct dc_dmarc_auth {
	struct dc_ctx *c;
	bool held;
};

struct dc_dmarc {
	char org[ORGDOMAIN_BUF];
	bool has_org; /* DOMAIN is below its organisational domain */
	struct dns_answer *own, *organs;
	bool own_done, org_done, judged;
	/* the record that applies */
	const char *policy_domain;
	const char *text;
	size_t len;
	bool inherited;
	struct dmarc_record rec;
	struct dmarc_report_dest *rua, *ruf;
	size_t nrua, nruf;
	struct dc_dmarc_auth auth[2];
};

/* dc_dmarc_count - the v=DMARC1 records of an answer; *text the first */
static size_t dc_dmarc_count(const struct dns_answer *ans, const char **text, size_t *len)
{
	size_t i, n = 0;

	if (ans == NULL || ans->status != DNS_OK)
		return 0;
	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		if (rr->type != DNS_T_TXT || !dmarc_record_is_dmarc(rr->u.txt.data, rr->u.txt.len))
			continue;
		if (n++ == 0) {
			*text = rr->u.txt.data;
			*len = rr->u.txt.len;
		}
	}
	return n;
}

static void dc_dmarc_auth_done(void *arg)
{
	struct dc_dmarc_auth *w = arg;

	if (w->held) {
		w->held = false;
		dc_release(w->c);
	}
}

static void dc_dmarc_authorise(struct dc_ctx *c, struct dc_dmarc *d, int k,
                               struct dmarc_report_dest *dest, size_t n)
{
	struct dc_dmarc_auth *w = &d->auth[k];

	if (n == 0)
		return;
	w->c = c;
	w->held = true;
	dc_hold(c);
	if (dmarc_report_authorise_start(c->dns, c->a, d->policy_domain, dest, n,
	                                 dc_dmarc_auth_done, w) != 0) {
		/* 1: nothing external; -1: it could not start (what did not
		 * start stays PENDING and is reported so) */
		w->held = false;
		dc_release(c);
	}
}

/* dc_dmarc_try - once the answers needed are in: pick, parse, and check
 * the report destinations */
static void dc_dmarc_try(struct dc_ctx *c, struct dc_dmarc *d)
{
	const char *text = NULL;
	size_t len = 0, n;

	if (d->judged || !d->own_done || (d->has_org && !d->org_done))
		return;
	d->judged = true;
	n = dc_dmarc_count(d->own, &text, &len);
	if (n == 1) {
		d->policy_domain = c->domain;
	} else if (n == 0 && d->has_org && dc_dmarc_count(d->organs, &text, &len) == 1) {
		d->policy_domain = d->org;
		d->inherited = true;
	} else {
		return;
	}
	d->text = arena_strndup(c->a, text, len);
	d->len = len;
	if (d->text == NULL) {
		c->nomem = true;
		return;
	}
	dmarc_record_parse(c->a, d->text, d->len, &d->rec);
	if (!d->rec.usable)
		return;
	d->nrua = dmarc_report_dests(c->a, NULL, d->policy_domain, &d->rec, false, &d->rua);
	d->nruf = dmarc_report_dests(c->a, NULL, d->policy_domain, &d->rec, true, &d->ruf);
	dc_dmarc_authorise(c, d, 0, d->rua, d->nrua);
	dc_dmarc_authorise(c, d, 1, d->ruf, d->nruf);
}

static void dc_dmarc_own(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	struct dc_dmarc *d = arg;

	d->own = dc_keep(c, ans);
	d->own_done = true;
	dc_dmarc_try(c, d);
}

static void dc_dmarc_org(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	struct dc_dmarc *d = arg;

	d->organs = dc_keep(c, ans);
	d->org_done = true;
	dc_dmarc_try(c, d);
}

void dc_dmarc_start(struct dc_ctx *c)
{
	struct dc_dmarc *d = arena_zalloc(c->a, sizeof(*d));

	c->dmarc = d;
	if (d == NULL) {
		c->nomem = true;
		return;
	}
	if (orgdomain_registrable(orgdomain_default(), c->domain, d->org, sizeof(d->org)) == 0 &&
	    strcmp(d->org, c->domain) != 0)
		d->has_org = true;
	dc_lookup(c, dc_str(c, "_dmarc.%s", c->domain), DNS_T_TXT, dc_dmarc_own, d);
	if (d->has_org)
		dc_lookup(c, dc_str(c, "_dmarc.%s", d->org), DNS_T_TXT, dc_dmarc_org, d);
}

/* dc_dmarc_raw_uris - how many URIs the record's tag lists, valid or not
 * (auth/dmarc_record keeps only the valid ones) */
static size_t dc_dmarc_raw_uris(const char *text, size_t len, const char *tag)
{
	size_t i = 0, n = 0, tl = strlen(tag);

	while (i < len) {
		size_t s = i, e, eq;
		while (i < len && text[i] != ';')
			i++;
		e = i++;
		while (s < e && str_is_space((unsigned char)text[s]))
			s++;
		for (eq = s; eq < e && text[eq] != '='; eq++)
			;
		if (eq >= e)
			continue;
		{
			size_t ne = eq;
			while (ne > s && str_is_space((unsigned char)text[ne - 1]))
				ne--;
			if (!str_case_eq_n(text + s, ne - s, tag, tl))
				continue;
		}
		/* count the non-empty ',' pieces of the value */
		{
			bool piece = false;
			size_t k;
			for (k = eq + 1; k < e; k++) {
				if (text[k] == ',') {
					n += piece;
					piece = false;
				} else if (!str_is_space((unsigned char)text[k])) {
					piece = true;
				}
			}
			n += piece;
		}
		return n;
	}
	return 0;
}

static void dc_dmarc_dests(struct dc_ctx *c, struct dc_dmarc *d, const char *tag,
                           const struct dmarc_report_dest *dest, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct dmarc_report_dest *x = &dest[i];
		switch (x->status) {
		case DMARC_DEST_NOT_MAILTO:
			dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.uri-http",
			       "use a mailto: address: hardly any receiver sends reports over HTTP",
			       "%s destination %s is not mailto:", tag, x->uri);
			break;
		case DMARC_DEST_UNAUTHORISED:
			dc_add(c, DC_AREA_DMARC, DC_ERROR, "dmarc.report-unauthorised",
			       dc_str(c, "publish %s._report._dmarc.%s. TXT \"v=DMARC1\"",
			              d->policy_domain, x->domain),
			       "%s destination %s is at another organisation (%s) that has not "
			       "agreed to take reports for %s: receivers drop it (RFC 7489 7.1)",
			       tag, x->uri, x->domain, d->policy_domain);
			break;
		case DMARC_DEST_TEMPFAIL:
		case DMARC_DEST_PENDING:
			dc_add(c, DC_AREA_DMARC, DC_ERROR, "dmarc.report-dns",
			       "check the name servers of the destination's domain, then run this "
			       "again",
			       "cannot tell whether %s may receive reports for %s (%s)", x->domain,
			       d->policy_domain, x->why ? x->why : "the lookup failed");
			break;
		default:
			if (x->external)
				dc_add(c, DC_AREA_DMARC, DC_OK, "dmarc.report-authorised", NULL,
				       "%s destination %s (another organisation) accepts reports "
				       "for %s",
				       tag, x->uri, d->policy_domain);
			break;
		}
	}
}

static enum dmarc_policy dc_dmarc_sub(const struct dmarc_record *r)
{
	return r->sp;
}

void dc_dmarc_finish(struct dc_ctx *c)
{
	struct dc_dmarc *d = c->dmarc;
	const struct dmarc_record *r;
	const char *t1 = NULL;
	size_t l1 = 0, nown, nraw;
	enum dmarc_policy eff;
	const char *where;

	if (!dc_want(c, DC_AREA_DMARC) || d == NULL)
		return;
	if (d->own == NULL || (d->own->status != DNS_OK && d->own->status != DNS_NXDOMAIN &&
	                       d->own->status != DNS_NODATA)) {
		dc_add(c, DC_AREA_DMARC, DC_ERROR, "dmarc.dns",
		       "check the domain's name servers, then run this again",
		       "the lookup of _dmarc.%s failed (%s)", c->domain, dc_dns_why(c, d->own));
		return;
	}
	nown = dc_dmarc_count(d->own, &t1, &l1);
	if (nown > 1) {
		dc_add(c, DC_AREA_DMARC, DC_ERROR, "dmarc.multiple",
		       "keep one v=DMARC1 record at _dmarc of the domain",
		       "_dmarc.%s has %zu DMARC records: receivers apply none of them", c->domain,
		       nown);
		return;
	}
	if (nown == 0 && d->has_org && d->organs != NULL && d->organs->status != DNS_OK &&
	    d->organs->status != DNS_NXDOMAIN && d->organs->status != DNS_NODATA) {
		dc_add(c, DC_AREA_DMARC, DC_ERROR, "dmarc.dns",
		       "check the domain's name servers, then run this again",
		       "the lookup of _dmarc.%s failed (%s)", d->org, dc_dns_why(c, d->organs));
		return;
	}
	if (d->text == NULL) {
		dc_add(c, DC_AREA_DMARC, DC_ERROR, "dmarc.none",
		       dc_str(c,
		              "publish _dmarc.%s. TXT \"v=DMARC1; p=none; rua=mailto:dmarc@%s\", "
		              "read the reports, then move to p=quarantine and p=reject",
		              d->has_org ? d->org : c->domain, d->has_org ? d->org : c->domain),
		       "no DMARC record at _dmarc.%s%s%s: receivers apply no policy to forged "
		       "mail",
		       c->domain, d->has_org ? " nor at _dmarc." : "", d->has_org ? d->org : "");
		return;
	}
	r = &d->rec;
	where = dc_str(c, "_dmarc.%s", d->policy_domain);
	if (!r->usable) {
		dc_add(c, DC_AREA_DMARC, DC_ERROR, "dmarc.syntax",
		       "start the record with v=DMARC1; p=none|quarantine|reject",
		       "the record at %s is not usable (%s%s%s): receivers apply no policy", where,
		       dmarc_record_status_name(r->status), r->bad_tag ? ", tag " : "",
		       r->bad_tag ? r->bad_tag : "");
		return;
	}
	if (d->inherited)
		dc_add(c, DC_AREA_DMARC, DC_OK, "dmarc.inherited", NULL,
		       "%s has no record of its own; the record at %s applies, with its sp=%s",
		       c->domain, where, dmarc_policy_name(dc_dmarc_sub(r)));
	eff = d->inherited ? dc_dmarc_sub(r) : r->p;
	dc_add(c, DC_AREA_DMARC, DC_OK, "dmarc.ok", NULL, "DMARC record at %s: %s (policy %s)",
	       where, d->text, dmarc_policy_name(eff));
	if (r->p_implicit)
		dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.no-p",
		       "add p=none, p=quarantine or p=reject",
		       "the record at %s has no valid p= tag: receivers treat it as p=none", where);
	else if (r->status == DMARC_RECORD_BAD_VALUE && r->bad_tag != NULL)
		dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.bad-value",
		       dc_str(c, "correct the value of %s= (see RFC 7489 6.3)", r->bad_tag),
		       "the record at %s has an invalid %s= value: receivers use the default",
		       where, r->bad_tag);
	if (eff == DMARC_POLICY_NONE && !r->p_implicit)
		dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.p-none",
		       "once the reports show all real mail passing, move to p=quarantine, then "
		       "p=reject",
		       "the policy is none: forged mail from %s is only reported, not stopped",
		       c->domain);
	if (r->pct < 100 && eff != DMARC_POLICY_NONE)
		dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.pct", "raise pct to 100 (or remove pct=)",
		       "pct=%u: the policy applies to %u%% of failing mail only", r->pct, r->pct);
	if (r->t)
		dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.testing", "remove t=y",
		       "t=y (testing): receivers apply the policy one step weaker");
	dc_add(c, DC_AREA_DMARC, DC_OK, "dmarc.subdomains", NULL,
	       "subdomains of %s get sp=%s%s; names that do not exist get np=%s%s",
	       d->policy_domain, dmarc_policy_name(r->sp), r->has_sp ? "" : " (from p)",
	       dmarc_policy_name(r->np), r->has_np ? "" : " (from sp)");
	if (r->has_sp && r->sp < r->p)
		dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.sp-weaker",
		       dc_str(c, "set sp=%s, or remove sp= so subdomains get p",
		              dmarc_policy_name(r->p)),
		       "sp=%s is weaker than p=%s: forgers can use made-up subdomains",
		       dmarc_policy_name(r->sp), dmarc_policy_name(r->p));
	if (r->has_np && r->np < r->p)
		dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.np-weaker",
		       dc_str(c,
		              "set np=%s or stronger (np=reject is best: those names send no mail)",
		              dmarc_policy_name(r->p)),
		       "np=%s is weaker than p=%s: forgers can use names that do not exist",
		       dmarc_policy_name(r->np), dmarc_policy_name(r->p));
	dc_add(c, DC_AREA_DMARC, DC_OK, "dmarc.alignment", NULL, "alignment: DKIM %s, SPF %s%s",
	       r->adkim == DMARC_ALIGN_STRICT ? "strict" : "relaxed",
	       r->aspf == DMARC_ALIGN_STRICT ? "strict" : "relaxed",
	       r->adkim == DMARC_ALIGN_STRICT || r->aspf == DMARC_ALIGN_STRICT
	           ? " (strict: mail signed or sent from subdomains does not align)"
	           : "");
	if (r->nrua == 0)
		dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.rua-none",
		       dc_str(c, "add rua=mailto:dmarc@%s (or a report service's address)",
		              d->policy_domain),
		       "no valid rua=: you get no aggregate reports, so you cannot see who sends "
		       "as %s",
		       d->policy_domain);
	nraw = dc_dmarc_raw_uris(d->text, d->len, "rua");
	if (nraw > r->nrua && nraw <= DMARC_RECORD_MAX_URIS)
		dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.uri-syntax",
		       "write each destination as mailto:user@domain, separated by commas",
		       "%zu of the %zu rua= destinations are not valid URIs and are ignored",
		       nraw - r->nrua, nraw);
	nraw = dc_dmarc_raw_uris(d->text, d->len, "ruf");
	if (nraw > r->nruf && nraw <= DMARC_RECORD_MAX_URIS)
		dc_add(c, DC_AREA_DMARC, DC_WARN, "dmarc.uri-syntax",
		       "write each destination as mailto:user@domain, separated by commas",
		       "%zu of the %zu ruf= destinations are not valid URIs and are ignored",
		       nraw - r->nruf, nraw);
	dc_dmarc_dests(c, d, "rua", d->rua, d->nrua);
	dc_dmarc_dests(c, d, "ruf", d->ruf, d->nruf);
}
