/*
 * domaincheck_mtasts - the MTA-STS area of check-domain (RFC 8461)
 *
 * The _mta-sts TXT record is judged with transport/mtasts' own chooser
 * (mtasts_txt_choose), and the policy is had through the resolver the
 * gateway delivers with (mtasts_lookup, memory cache only): the HTTPS
 * fetch of https://mta-sts.DOMAIN/.well-known/mta-sts.txt with WebPKI
 * certificate checks (core/https), status, media type and size, then
 * mtasts_policy_parse.  The policy's mx patterns are matched against the
 * domain's real MX hosts with mtasts_mx_match.
 */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "report/domaincheck_impl.h"
#include "transport/mtasts.h"

#define DC_MTASTS_MIN_AGE (7 * 86400) /* RFC 8461 10: weeks, so a policy outlasts an attack */

struct dc_mtasts {
	struct mtasts *m;
	struct dns_answer *txt;
	bool have; /* mtasts_lookup answered */
	enum mtasts_status status;
	enum mtasts_failure failure;
	char reason[640];
	char txt_id[MTASTS_ID_MAX + 1];
	struct mtasts_policy policy;
};

static void dc_mtasts_txt(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	struct dc_mtasts *s = arg;
	size_t i;

	s->txt = dc_keep(c, ans);
	for (i = 0; s->txt != NULL && s->txt->status == DNS_OK && i < s->txt->count; i++)
		if (s->txt->rr[i].type == DNS_T_TXT &&
		    mtasts_txt_is_sts(s->txt->rr[i].u.txt.data, s->txt->rr[i].u.txt.len))
			c->tls_policy = true;
}

struct dc_mtasts_wait {
	struct dc_ctx *c;
	struct dc_mtasts *s;
};

static void dc_mtasts_done(const struct mtasts_result *r, void *arg)
{
	struct dc_mtasts_wait *w = arg;
	struct dc_mtasts *s = w->s;
	size_t i;

	s->have = true;
	s->status = r->status;
	s->failure = r->failure;
	snprintf(s->reason, sizeof(s->reason), "%s", r->reason);
	snprintf(s->txt_id, sizeof(s->txt_id), "%s", r->txt_id);
	if (r->status == MTASTS_POLICY && r->policy != NULL) {
		s->policy = *r->policy;
		s->policy.mx = arena_array(w->c->a, r->policy->nmx + 1, sizeof(*s->policy.mx));
		if (s->policy.mx == NULL) {
			s->policy.nmx = 0;
			w->c->nomem = true;
		}
		for (i = 0; s->policy.mx != NULL && i < r->policy->nmx; i++) {
			s->policy.mx[i] = arena_strdup(w->c->a, r->policy->mx[i]);
			if (s->policy.mx[i] == NULL) {
				s->policy.nmx = i;
				w->c->nomem = true;
				break;
			}
		}
	}
	dc_release(w->c);
}

void dc_mtasts_start(struct dc_ctx *c)
{
	struct mtasts_options mo;
	struct sx_err err = { 0 };
	struct dc_mtasts *s = arena_zalloc(c->a, sizeof(*s));
	struct dc_mtasts_wait *w = arena_zalloc(c->a, sizeof(*w));

	c->mtasts = s;
	if (s == NULL || w == NULL) {
		c->nomem = true;
		return;
	}
	dc_lookup(c, dc_str(c, "_mta-sts.%s", c->domain), DNS_T_TXT, dc_mtasts_txt, s);
	memset(&mo, 0, sizeof(mo));
	mo.base = c->base;
	mo.dns = c->dns;
	mo.ca_file = c->opt->ca_file;
	mo.port = c->opt->https_port;
	mo.fetch_timeout_ms = c->opt->https_timeout_ms;
	s->m = mtasts_new(&mo, &err);
	if (s->m == NULL) {
		snprintf(s->reason, sizeof(s->reason), "%s", err.msg);
		return;
	}
	w->c = c;
	w->s = s;
	dc_hold(c);
	if (mtasts_lookup(s->m, c->domain, dc_mtasts_done, w) == NULL) {
		dc_release(c);
		snprintf(s->reason, sizeof(s->reason), "out of memory");
	}
}

void dc_mtasts_free(struct dc_ctx *c)
{
	if (c->mtasts != NULL)
		c->mtasts->m = mtasts_free(c->mtasts->m);
}

void dc_mtasts_finish(struct dc_ctx *c)
{
	struct dc_mtasts *s = c->mtasts;
	const struct dns_answer *t;
	const char *recs[16];
	size_t lens[16], n = 0, i, which;
	char id[MTASTS_ID_MAX + 1], why[300], mx[1024];
	const char *txtname, *url;
	size_t off = 0;

	if (!dc_want(c, DC_AREA_MTASTS) || s == NULL)
		return;
	t = s->txt;
	txtname = dc_str(c, "_mta-sts.%s", c->domain);
	url = dc_str(c, "https://mta-sts.%s/.well-known/mta-sts.txt", c->domain);
	if (t == NULL ||
	    (t->status != DNS_OK && t->status != DNS_NXDOMAIN && t->status != DNS_NODATA)) {
		dc_add(c, DC_AREA_MTASTS, DC_ERROR, "mta-sts.dns",
		       "check the domain's name servers, then run this again",
		       "the lookup of %s failed (%s)", txtname, dc_dns_why(c, t));
		return;
	}
	for (i = 0; t->status == DNS_OK && i < t->count && n < 16; i++)
		if (t->rr[i].type == DNS_T_TXT) {
			recs[n] = t->rr[i].u.txt.data;
			lens[n++] = t->rr[i].u.txt.len;
		}
	if (!c->tls_policy) {
		dc_add(c, DC_AREA_MTASTS, DC_OK, "mta-sts.none", NULL,
		       "no MTA-STS policy (no v=STSv1 record at %s): senders may deliver without "
		       "TLS",
		       txtname);
		return;
	}
	if (mtasts_txt_choose(recs, lens, n, id, &which, why, sizeof(why)) < 0) {
		dc_add(c, DC_AREA_MTASTS, DC_ERROR, "mta-sts.txt-invalid",
		       dc_str(c, "publish one record: %s. TXT \"v=STSv1; id=20240101T000000\"",
		              txtname),
		       "the MTA-STS record at %s is not usable: %s", txtname, why);
		return;
	}
	if (!s->have || s->status != MTASTS_POLICY) {
		const char *code = "mta-sts.fetch", *fix;
		if (s->failure == MTASTS_FAIL_WEBPKI) {
			code = "mta-sts.certificate";
			fix = dc_str(
			    c,
			    "serve mta-sts.%s with a certificate for that name from a public "
			    "CA (with its chain)",
			    c->domain);
		} else if (s->failure == MTASTS_FAIL_INVALID) {
			code = "mta-sts.policy-invalid";
			fix = "serve a policy of lines version: STSv1, mode:, mx: and max_age: as "
			      "text/plain (RFC 8461 3.2)";
		} else {
			fix = dc_str(
			    c, "serve the policy at %s (status 200, Content-Type text/plain)", url);
		}
		dc_add(c, DC_AREA_MTASTS, DC_ERROR, code, fix,
		       "the MTA-STS record (id=%s) is there, but the policy cannot be had from %s: "
		       "%s",
		       id, url, s->reason[0] ? s->reason : "no answer");
		return;
	}
	mx[0] = '\0';
	for (i = 0; i < s->policy.nmx; i++) {
		int w =
		    snprintf(mx + off, sizeof(mx) - off, "%s%s", i ? ", " : "", s->policy.mx[i]);
		if (w > 0 && (size_t)w < sizeof(mx) - off)
			off += (size_t)w;
	}
	dc_add(c, DC_AREA_MTASTS, DC_OK, "mta-sts.ok", NULL,
	       "MTA-STS id=%s, policy mode %s, max_age %u, mx %s", id,
	       mtasts_mode_name(s->policy.mode), s->policy.max_age, mx[0] ? mx : "(none)");
	if (s->policy.mode == MTASTS_MODE_TESTING)
		dc_add(c, DC_AREA_MTASTS, DC_WARN, "mta-sts.testing",
		       "once the TLS-RPT reports are clean, set mode: enforce (and change the id)",
		       "mode testing: senders report failures but still deliver without TLS");
	else if (s->policy.mode == MTASTS_MODE_NONE)
		dc_add(c, DC_AREA_MTASTS, DC_WARN, "mta-sts.mode-none",
		       "set mode: testing or enforce, or remove the record if the policy is being "
		       "withdrawn",
		       "mode none: the policy is being withdrawn and protects nothing");
	if (s->policy.mode != MTASTS_MODE_NONE)
		for (i = 0; i < c->nmxhosts; i++)
			if (!mtasts_mx_match(&s->policy, c->mxhosts[i].host))
				dc_add(
				    c, DC_AREA_MTASTS,
				    s->policy.mode == MTASTS_MODE_ENFORCE ? DC_ERROR : DC_WARN,
				    "mta-sts.mx-mismatch",
				    dc_str(c,
				           "add mx: %s to the policy (and change the id in the TXT "
				           "record)",
				           c->mxhosts[i].host),
				    "MX host %s matches no mx: line of the policy: senders %s",
				    c->mxhosts[i].host,
				    s->policy.mode == MTASTS_MODE_ENFORCE
				        ? "that enforce MTA-STS will not deliver to it"
				        : "will report it");
	if (s->policy.max_age < DC_MTASTS_MIN_AGE)
		dc_add(c, DC_AREA_MTASTS, DC_WARN, "mta-sts.max-age-short",
		       "set max_age: 1209600 (two weeks) or more",
		       "max_age %u is under a week: a policy that lapses this fast protects little",
		       s->policy.max_age);
}
