/*
 * domaincheck_tlsrpt - the TLS-RPT area of check-domain: the
 * _smtp._tls.DOMAIN record (RFC 8460 3), parsed by report/tlsrpt
 *
 * Without a record the finding is ok, unless the domain publishes an
 * MTA-STS policy or DANE records: then failure reports are what tells
 * the admin that senders cannot deliver, and their absence is a warning.
 */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "report/domaincheck_impl.h"
#include "report/tlsrpt.h"

static void dc_tlsrpt_done(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	(void)arg;
	c->tlsrpt = dc_keep(c, ans);
}

void dc_tlsrpt_start(struct dc_ctx *c)
{
	dc_lookup(c, tlsrpt_record_name(c->a, c->domain), DNS_T_TXT, dc_tlsrpt_done, NULL);
}

void dc_tlsrpt_finish(struct dc_ctx *c)
{
	const struct dns_answer *ans = c->tlsrpt;
	const char *name = dc_str(c, "_smtp._tls.%s", c->domain);
	struct tlsrpt_record rec;
	struct sx_err err = { 0 };
	size_t i, n = 0, pick = 0;
	char list[1024];
	size_t off = 0;

	if (!dc_want(c, DC_AREA_TLSRPT))
		return;
	if (ans == NULL ||
	    (ans->status != DNS_OK && ans->status != DNS_NXDOMAIN && ans->status != DNS_NODATA)) {
		dc_add(c, DC_AREA_TLSRPT, DC_ERROR, "tls-rpt.dns",
		       "check the domain's name servers, then run this again",
		       "the lookup of %s failed (%s)", name, dc_dns_why(c, ans));
		return;
	}
	for (i = 0; ans->status == DNS_OK && i < ans->count; i++)
		if (ans->rr[i].type == DNS_T_TXT &&
		    tlsrpt_record_is_tlsrpt(ans->rr[i].u.txt.data, ans->rr[i].u.txt.len) &&
		    n++ == 0)
			pick = i;
	if (n == 0) {
		bool wanted = c->tls_policy;
		dc_add(c, DC_AREA_TLSRPT, wanted ? DC_WARN : DC_OK, "tls-rpt.none",
		       dc_str(c, "publish %s. TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@%s\"", name,
		              c->domain),
		       "no TLS-RPT record at %s%s", name,
		       wanted ? ": senders that fail MTA-STS or DANE for the domain cannot tell you"
		              : "");
		return;
	}
	if (n > 1) {
		dc_add(
		    c, DC_AREA_TLSRPT, DC_ERROR, "tls-rpt.multiple", "keep one v=TLSRPTv1 record",
		    "%s has %zu TLS-RPT records: senders use none of them (RFC 8460 3)", name, n);
		return;
	}
	if (tlsrpt_record_parse(c->a, ans->rr[pick].u.txt.data, ans->rr[pick].u.txt.len, &rec,
	                        &err) < 0) {
		dc_add(c, DC_AREA_TLSRPT, DC_ERROR, "tls-rpt.invalid",
		       "write it as v=TLSRPTv1; rua=mailto:ADDRESS (or https://...)",
		       "the TLS-RPT record at %s is not valid (%s): senders ignore it", name,
		       err.msg);
		return;
	}
	list[0] = '\0';
	for (i = 0; i < rec.nrua; i++) {
		int w =
		    snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", rec.rua[i].uri);
		if (w > 0 && (size_t)w < sizeof(list) - off)
			off += (size_t)w;
	}
	dc_add(c, DC_AREA_TLSRPT, DC_OK, "tls-rpt.ok", NULL, "TLS-RPT reports go to %s", list);
	if (rec.skipped > 0)
		dc_add(c, DC_AREA_TLSRPT, DC_WARN, "tls-rpt.uri-skipped",
		       "use mailto: or https: destinations only, separated by commas",
		       "%zu rua destination%s of the TLS-RPT record %s not usable (another scheme, "
		       "or malformed) and ignored",
		       rec.skipped, rec.skipped == 1 ? "" : "s", rec.skipped == 1 ? "is" : "are");
}
