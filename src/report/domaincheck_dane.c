/*
 * domaincheck_dane - the DANE area of check-domain (RFC 7672)
 *
 * Whether the domain's zone is signed comes from the DNSSEC status of
 * its MX answer (validated by core/dns when a trust anchor is set).  For
 * each MX host transport/dane decides, from the same secure/insecure
 * rules the gateway delivers by, what a DANE sender does (dane_lookup
 * with the MX and address answers' status); when the TLSA records
 * require authentication, smtp/smtp_probe connects to the host, says
 * STARTTLS and hands the handshake to dane_ssl_prepare, and
 * dane_ssl_outcome says whether the certificate the host presents
 * matches.  The probes are blocking and run one host after the other,
 * after every lookup is in (domaincheck_run calls dc_dane_probe).
 */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "report/domaincheck_impl.h"
#include "smtp/smtp_probe.h"
#include "transport/dane.h"

struct dc_dane_host {
	struct dc_ctx *c;
	const struct dc_mxhost *h;
	const struct dane_policy *p;
	bool probed, authenticated;
	int depth;
	enum dane_failure failure;
	char why[1100];
};

static enum dns_sec dc_dane_addr_sec(const struct dns_answer *a, const struct dns_answer *aaaa)
{
	if (a->sec == DNS_SEC_BOGUS || aaaa->sec == DNS_SEC_BOGUS)
		return DNS_SEC_BOGUS;
	if (a->sec == DNS_SEC_SECURE && aaaa->sec == DNS_SEC_SECURE)
		return DNS_SEC_SECURE;
	return DNS_SEC_INSECURE;
}

static void dc_dane_done(const struct dane_policy *p, void *arg)
{
	struct dc_dane_host *d = arg;

	d->p = p;
	if (p != NULL && (p->status == DANE_REQUIRED || p->status == DANE_ENCRYPT))
		d->c->tls_policy = true;
	dc_release(d->c);
}

/* dc_dane_host - the addresses of one MX host are in: start its DANE lookup */
void dc_dane_host(struct dc_ctx *c, struct dc_mxhost *h)
{
	struct dane_input in;
	struct dc_dane_host *d;

	if (!dc_want(c, DC_AREA_DANE) || c->mx == NULL || c->mx->sec != DNS_SEC_SECURE ||
	    h->a == NULL || h->aaaa == NULL)
		return;
	d = arena_zalloc(c->a, sizeof(*d));
	if (d == NULL) {
		c->nomem = true;
		return;
	}
	d->c = c;
	d->h = h;
	h->dane = d;
	memset(&in, 0, sizeof(in));
	in.host = h->host;
	in.port = c->opt->smtp_port;
	in.via_mx = true;
	in.mx_sec = c->mx->sec;
	in.addr_sec = dc_dane_addr_sec(h->a, h->aaaa);
	in.addr_canon = h->a->status == DNS_OK ? h->a->canonname : h->aaaa->canonname;
	dc_hold(c);
	if (dane_lookup(c->dns, c->base, c->a, &in, 0, dc_dane_done, d) == NULL) {
		dc_release(c);
		c->nomem = true;
	}
}

static int dc_dane_setup(SSL *ssl, void *arg, char *err, size_t errsize)
{
	const struct dane_policy *p = arg;

	return dane_ssl_prepare(ssl, p, err, errsize) > 0 ? 0 : -1;
}

/* dc_dane_probe - STARTTLS to every host whose TLSA records require
 * authentication, one after the other (blocking) */
void dc_dane_probe(struct dc_ctx *c)
{
	size_t i;

	if (!dc_want(c, DC_AREA_DANE))
		return;
	for (i = 0; i < c->nmxhosts; i++) {
		struct dc_dane_host *d = c->mxhosts[i].dane;
		struct smtp_probe_options o;
		struct smtp_probe_result r;
		struct dane_outcome out;

		if (d == NULL || d->p == NULL || d->p->status != DANE_REQUIRED)
			continue;
		memset(&o, 0, sizeof(o));
		o.host = d->h->host;
		o.port = c->opt->smtp_port;
		o.helo_name = c->opt->gateway_hostname;
		o.timeout_ms = c->opt->smtp_timeout_ms;
		o.dns = c->dns;
		o.base = c->base;
		o.tls_setup = dc_dane_setup;
		o.tls_setup_arg = (void *)d->p;
		o.keep_ssl = true;
		d->probed = true;
		if (smtp_probe_run(&o, &r) < 0) {
			snprintf(d->why, sizeof(d->why), "%s", r.error);
		} else if (r.ssl == NULL || dane_ssl_outcome(r.ssl, &out) < 0) {
			snprintf(d->why, sizeof(d->why), "%s: no DANE state after the handshake",
			         r.peer);
			d->failure = DANE_FAIL_VALIDATION_FAILURE;
		} else {
			d->authenticated = out.authenticated;
			d->failure = out.failure;
			d->depth = out.depth;
			snprintf(d->why, sizeof(d->why), "%s: %s", r.peer, out.why);
		}
		smtp_probe_result_free(&r);
	}
}

void dc_dane_finish(struct dc_ctx *c)
{
	size_t i;

	if (!dc_want(c, DC_AREA_DANE) || c->mx == NULL)
		return;
	/* a bogus answer comes as a failure (SERVFAIL) with sec BOGUS */
	if (c->mx->sec == DNS_SEC_BOGUS) {
		dc_add(c, DC_AREA_DANE, DC_ERROR, "dane.dnssec-bogus",
		       "re-sign the zone and check the DS record at the parent",
		       "the DNSSEC signatures of %s do not validate (bogus)", c->domain);
		return;
	}
	if (c->mx->status != DNS_OK)
		return; /* the MX area says why */
	if (c->mx->sec != DNS_SEC_SECURE) {
		dc_add(c, DC_AREA_DANE, DC_OK, "dane.unsigned", NULL,
		       "the MX records of %s are not DNSSEC-signed (or not validated: is a trust "
		       "anchor set?): DANE does not apply",
		       c->domain);
		return;
	}
	for (i = 0; i < c->nmxhosts; i++) {
		const struct dc_mxhost *h = &c->mxhosts[i];
		const struct dc_dane_host *d = h->dane;
		const struct dane_policy *p = d ? d->p : NULL;
		const char *tlsa =
		    dc_str(c, "_%u._tcp.%s", c->opt->smtp_port ? c->opt->smtp_port : 25, h->host);

		if (p == NULL)
			continue;
		switch (p->status) {
		case DANE_NONE:
			dc_add(c, DC_AREA_DANE, DC_OK, "dane.none", NULL,
			       "MX host %s: no DANE (%s)", h->host,
			       p->why ? p->why : "no TLSA records");
			break;
		case DANE_UNUSABLE:
			dc_add(
			    c, DC_AREA_DANE, DC_ERROR, "dane.unusable",
			    dc_str(c,
			           "make %s and the TLSA lookup at %s validate (signed zone, DS "
			           "at the parent)",
			           h->host, tlsa),
			    "MX host %s is unusable for DANE senders (%s): they will not deliver "
			    "to it",
			    h->host, p->why ? p->why : dane_failure_name(p->failure));
			break;
		case DANE_ENCRYPT:
			dc_add(
			    c, DC_AREA_DANE, DC_WARN, "dane.tlsa-unusable",
			    dc_str(c,
			           "publish a DANE-EE record: %s. TLSA 3 1 1 <sha256 of the key>",
			           tlsa),
			    "the TLSA records at %s are all unusable for SMTP (only DANE-TA(2) and "
			    "DANE-EE(3) count): senders encrypt but do not authenticate",
			    p->tlsa_name ? p->tlsa_name : tlsa);
			break;
		case DANE_REQUIRED:
			if (!d->probed)
				break;
			if (d->authenticated)
				dc_add(c, DC_AREA_DANE, DC_OK, "dane.ok", NULL,
				       "MX host %s: the certificate after STARTTLS matches %s (%s)",
				       h->host, p->tlsa_name ? p->tlsa_name : tlsa, d->why);
			else if (d->failure == DANE_FAIL_NONE)
				dc_add(c, DC_AREA_DANE, DC_ERROR, "dane.probe-failed",
				       dc_str(c,
				              "make %s accept connections on port %u and offer "
				              "STARTTLS",
				              h->host, c->opt->smtp_port ? c->opt->smtp_port : 25),
				       "MX host %s has TLSA records, but the STARTTLS probe "
				       "failed: %s",
				       h->host, d->why);
			else
				dc_add(
				    c, DC_AREA_DANE, DC_ERROR, "dane.mismatch",
				    dc_str(c,
				           "publish the TLSA record of the certificate the host "
				           "serves (smexop tlsa CERT), or serve the certificate "
				           "the records name; keep both records during a change"),
				    "MX host %s: the certificate does not match the TLSA records "
				    "at "
				    "%s (%s; %s): DANE senders will not deliver",
				    h->host, p->tlsa_name ? p->tlsa_name : tlsa,
				    dane_failure_name(d->failure), d->why);
			break;
		}
	}
}
