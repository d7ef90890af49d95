/*
 * domaincheck - the run (context, counted lookups, findings) and the MX
 * and PTR areas; SPF, DKIM and DMARC are in domaincheck_<area>.c
 *
 * See domaincheck.h for the contract.  MX: the domain's MX records, the
 * A/AAAA of every MX host, whether the MX points at this gateway.  PTR:
 * each public address of the gateway has a PTR whose name resolves back
 * to it (forward-confirmed reverse DNS) and, ideally, is the name the
 * gateway gives in HELO.
 */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "core/arena.h"
#include "core/orgdomain.h"
#include "core/str.h"
#include "report/domaincheck_impl.h"

/* Every code, in the order of docs/check-domain.md. */
const char *const domaincheck_codes[] = {
	"mx.ok",
	"mx.nxdomain",
	"mx.none",
	"mx.null",
	"mx.dns",
	"mx.not-gateway",
	"mx.bypass",
	"mx.host-ip",
	"mx.host-noaddr",
	"mx.host-cname",
	"mx.host-dns",
	"ptr.ok",
	"ptr.none",
	"ptr.fcrdns",
	"ptr.hostname",
	"ptr.dns",
	"ptr.gateway-noaddr",
	"spf.ok",
	"spf.none",
	"spf.multiple",
	"spf.syntax",
	"spf.dns",
	"spf.include-error",
	"spf.include-loop",
	"spf.lookups",
	"spf.lookups-near",
	"spf.lookups-over",
	"spf.macros",
	"spf.void",
	"spf.void-over",
	"spf.all-pass",
	"spf.all-neutral",
	"spf.no-all",
	"spf.ptr",
	"spf.long",
	"spf.gateway",
	"spf.gateway-unauthorised",
	"dkim.ok",
	"dkim.none",
	"dkim.short",
	"dkim.small",
	"dkim.testing",
	"dkim.revoked",
	"dkim.badrecord",
	"dkim.dns",
	"dkim.mismatch",
	"dkim.retired",
	"dkim.missing",
	"dkim.nokey",
	"dkim.filemode",
	"dkim.config",
	"dmarc.ok",
	"dmarc.inherited",
	"dmarc.none",
	"dmarc.multiple",
	"dmarc.syntax",
	"dmarc.bad-value",
	"dmarc.no-p",
	"dmarc.dns",
	"dmarc.p-none",
	"dmarc.pct",
	"dmarc.testing",
	"dmarc.subdomains",
	"dmarc.sp-weaker",
	"dmarc.np-weaker",
	"dmarc.alignment",
	"dmarc.rua-none",
	"dmarc.uri-syntax",
	"dmarc.uri-http",
	"dmarc.report-authorised",
	"dmarc.report-unauthorised",
	"dmarc.report-dns",
	"mta-sts.ok",
	"mta-sts.none",
	"mta-sts.dns",
	"mta-sts.txt-invalid",
	"mta-sts.fetch",
	"mta-sts.certificate",
	"mta-sts.policy-invalid",
	"mta-sts.testing",
	"mta-sts.mode-none",
	"mta-sts.mx-mismatch",
	"mta-sts.max-age-short",
	"tls-rpt.ok",
	"tls-rpt.none",
	"tls-rpt.dns",
	"tls-rpt.multiple",
	"tls-rpt.invalid",
	"tls-rpt.uri-skipped",
	"dane.ok",
	"dane.unsigned",
	"dane.dnssec-bogus",
	"dane.none",
	"dane.unusable",
	"dane.tlsa-unusable",
	"dane.probe-failed",
	"dane.mismatch",
	NULL,
};

static const char *const dc_area_names[DC_AREA_COUNT] = {
	"mx", "ptr", "spf", "dkim", "dmarc", "mta-sts", "tls-rpt", "dane",
};

const char *dc_level_name(enum dc_level l)
{
	return l == DC_OK ? "ok" : l == DC_WARN ? "warn" : "error";
}

const char *dc_area_name(enum dc_area a)
{
	return (unsigned)a < DC_AREA_COUNT ? dc_area_names[a] : "?";
}

int dc_area_parse(const char *s)
{
	int i;

	for (i = 0; i < DC_AREA_COUNT; i++)
		if (str_casecmp(s, dc_area_names[i]) == 0)
			return i;
	if (str_casecmp(s, "mtasts") == 0)
		return DC_AREA_MTASTS;
	if (str_casecmp(s, "tlsrpt") == 0)
		return DC_AREA_TLSRPT;
	return -1;
}

bool dc_want(const struct dc_ctx *c, enum dc_area area)
{
	unsigned m = c->opt->areas ? c->opt->areas : DC_AREAS_ALL;

	return (m & (1u << area)) != 0;
}

char *dc_str(struct dc_ctx *c, const char *fmt, ...)
{
	va_list ap;
	char buf[2048];
	char *s;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s = arena_strdup(c->a, buf);
	if (s == NULL)
		c->nomem = true;
	return s;
}

struct dc_finding *dc_add(struct dc_ctx *c, enum dc_area area, enum dc_level level,
                          const char *code, const char *fix, const char *fmt, ...)
{
	struct domaincheck *r = c->res;
	struct dc_finding *f;
	va_list ap;
	char buf[2048];

	/* past the cap a finding is dropped, but still counts for the verdict */
	if (level > r->worst)
		r->worst = level;
	if (r->n >= DOMAINCHECK_MAX_FINDINGS)
		return NULL;
	f = &r->findings[r->n];
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	f->area = area;
	f->level = level;
	f->code = code;
	f->message = arena_strdup(c->a, buf);
	f->fix = level == DC_OK ? NULL : fix;
	f->detail = NULL;
	if (f->message == NULL) {
		c->nomem = true;
		return NULL;
	}
	r->n++;
	return f;
}

const char *dc_dns_why(struct dc_ctx *c, const struct dns_answer *ans)
{
	if (ans == NULL)
		return "no answer";
	if (ans->why != NULL)
		return dc_str(c, "%s: %s", dns_status_name(ans->status), ans->why);
	return dns_status_name(ans->status);
}

struct dns_answer *dc_keep(struct dc_ctx *c, const struct dns_answer *ans)
{
	struct dns_answer *d = dns_answer_dup(c->a, ans);

	if (d == NULL)
		c->nomem = true;
	return d;
}

/* ---- counted lookups ------------------------------------------------ */

struct dc_pending {
	struct dc_ctx *c;
	dc_dns_cb cb;
	void *arg;
};

void dc_hold(struct dc_ctx *c)
{
	c->pending++;
}

void dc_release(struct dc_ctx *c)
{
	if (c->pending > 0 && --c->pending == 0)
		event_base_loopbreak(c->base);
}

static void dc_lookup_done(const struct dns_answer *ans, void *arg)
{
	struct dc_pending *p = arg;

	p->cb(p->c, ans, p->arg);
	dc_release(p->c);
}

void dc_lookup(struct dc_ctx *c, const char *name, enum dns_type type, dc_dns_cb cb, void *arg)
{
	struct dc_pending *p = NULL;
	struct dns_answer fail;

	if (name != NULL && c->queries < DOMAINCHECK_MAX_QUERIES)
		p = arena_alloc(c->a, sizeof(*p));
	if (p != NULL) {
		p->c = c;
		p->cb = cb;
		p->arg = arg;
		c->queries++;
		c->pending++;
		if (dns_lookup(c->dns, name, type, dc_lookup_done, p) != NULL)
			return;
		c->pending--;
	}
	memset(&fail, 0, sizeof(fail));
	fail.status = DNS_NOMEM;
	fail.qtype = type;
	fail.qname = name ? name : "";
	fail.canonname = fail.qname;
	fail.why = c->queries >= DOMAINCHECK_MAX_QUERIES ? "too many lookups in one check"
	                                                 : "out of memory";
	cb(c, &fail, arg);
}

/* ---- the gateway's addresses and PTR -------------------------------- */

static void dc_gw_fwd_done(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	struct dns_answer **slot = arg;

	*slot = dc_keep(c, ans);
}

static void dc_gw_ptr_done(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	struct dc_gwaddr *g = arg;
	size_t i;

	g->ptr = dc_keep(c, ans);
	if (g->ptr == NULL || g->ptr->status != DNS_OK)
		return;
	g->fwd = arena_array(c->a, g->ptr->count + 1, sizeof(*g->fwd));
	if (g->fwd == NULL) {
		c->nomem = true;
		return;
	}
	for (i = 0; i < g->ptr->count && i < 10; i++)
		if (g->ptr->rr[i].type == DNS_T_PTR)
			dc_lookup(c, g->ptr->rr[i].u.name,
			          g->ip.family == AF_INET ? DNS_T_A : DNS_T_AAAA, dc_gw_fwd_done,
			          &g->fwd[i]);
}

/* dc_gw_add - one more gateway address (duplicates dropped) */
static void dc_gw_add(struct dc_ctx *c, const struct net_addr *ip)
{
	struct dc_gwaddr *g;
	size_t i;

	for (i = 0; i < c->ngw; i++)
		if (c->gw[i].ip.family == ip->family &&
		    memcmp(c->gw[i].ip.bytes, ip->bytes, sizeof(ip->bytes)) == 0)
			return;
	if (c->ngw >= c->gwcap)
		return;
	g = &c->gw[c->ngw++];
	memset(g, 0, sizeof(*g));
	g->ip = *ip;
	net_addr_format(ip, g->text, sizeof(g->text));
}

/* dc_gw_start - the per-address lookups: PTR, and check_host for SPF */
static void dc_gw_start(struct dc_ctx *c)
{
	char rev[100];
	size_t i;

	for (i = 0; i < c->ngw; i++) {
		struct dc_gwaddr *g = &c->gw[i];
		if (dc_want(c, DC_AREA_PTR))
			dc_lookup(c,
			          dc_str(c, "%s",
			                 net_addr_reverse(&g->ip,
			                                  g->ip.family == AF_INET ? "in-addr.arpa"
			                                                          : "ip6.arpa",
			                                  rev, sizeof(rev))),
			          DNS_T_PTR, dc_gw_ptr_done, g);
		if (dc_want(c, DC_AREA_SPF))
			dc_spf_gateway(c, g);
	}
}

static void dc_gw_host_done(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	struct net_addr ip;
	size_t i;

	if (arg == &c->gw_host_a)
		c->gw_host_a = dc_keep(c, ans);
	else
		c->gw_host_aaaa = dc_keep(c, ans);
	if (c->gw_host_a == NULL || c->gw_host_aaaa == NULL)
		return; /* the other one is still on its way (or memory ran out) */
	for (i = 0; i < c->gw_host_a->count; i++)
		if (c->gw_host_a->rr[i].type == DNS_T_A) {
			memset(&ip, 0, sizeof(ip));
			ip.family = AF_INET;
			memcpy(ip.bytes, c->gw_host_a->rr[i].u.a, 4);
			dc_gw_add(c, &ip);
		}
	for (i = 0; i < c->gw_host_aaaa->count; i++)
		if (c->gw_host_aaaa->rr[i].type == DNS_T_AAAA) {
			memset(&ip, 0, sizeof(ip));
			ip.family = AF_INET6;
			memcpy(ip.bytes, c->gw_host_aaaa->rr[i].u.aaaa, 16);
			dc_gw_add(c, &ip);
		}
	dc_gw_start(c);
}

static void dc_gw_begin(struct dc_ctx *c)
{
	const struct domaincheck_options *o = c->opt;
	size_t i;

	if (!dc_want(c, DC_AREA_PTR) && !dc_want(c, DC_AREA_SPF))
		return;
	c->gwcap = o->ngateway_ip > 0 ? o->ngateway_ip : 32;
	c->gw = arena_array(c->a, c->gwcap, sizeof(*c->gw));
	if (c->gw == NULL) {
		c->nomem = true;
		return;
	}
	if (o->ngateway_ip > 0) {
		for (i = 0; i < o->ngateway_ip; i++)
			dc_gw_add(c, &o->gateway_ip[i]);
		dc_gw_start(c);
	} else if (o->gateway_hostname != NULL) {
		dc_lookup(c, o->gateway_hostname, DNS_T_A, dc_gw_host_done, &c->gw_host_a);
		dc_lookup(c, o->gateway_hostname, DNS_T_AAAA, dc_gw_host_done, &c->gw_host_aaaa);
	}
}

static bool dc_answer_has(const struct dns_answer *ans, const struct net_addr *ip)
{
	size_t i;

	if (ans == NULL || ans->status != DNS_OK)
		return false;
	for (i = 0; i < ans->count; i++) {
		const struct dns_rr *rr = &ans->rr[i];
		if (rr->type == DNS_T_A && ip->family == AF_INET &&
		    memcmp(rr->u.a, ip->bytes, 4) == 0)
			return true;
		if (rr->type == DNS_T_AAAA && ip->family == AF_INET6 &&
		    memcmp(rr->u.aaaa, ip->bytes, 16) == 0)
			return true;
	}
	return false;
}

static bool dc_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return str_case_eq_n(a, la, b, lb);
}

static void dc_ptr_finish(struct dc_ctx *c)
{
	const char *hn = c->opt->gateway_hostname;
	size_t i, k;

	if (!dc_want(c, DC_AREA_PTR))
		return;
	if (c->ngw == 0 && c->opt->ngateway_ip == 0 && hn != NULL) {
		dc_add(c, DC_AREA_PTR, DC_ERROR, "ptr.gateway-noaddr",
		       dc_str(c,
		              "publish A (and AAAA) records for %s, or give the gateway's "
		              "public addresses (server.public_addresses, --gateway-ip)",
		              hn),
		       "the gateway name %s has no address (A %s, AAAA %s)", hn,
		       dc_dns_why(c, c->gw_host_a), dc_dns_why(c, c->gw_host_aaaa));
		return;
	}
	for (i = 0; i < c->ngw; i++) {
		const struct dc_gwaddr *g = &c->gw[i];
		const char *confirmed = NULL, *first = NULL;

		if (g->ptr == NULL || (g->ptr->status != DNS_OK && g->ptr->status != DNS_NXDOMAIN &&
		                       g->ptr->status != DNS_NODATA)) {
			dc_add(c, DC_AREA_PTR, DC_ERROR, "ptr.dns",
			       "check the reverse zone's name servers, then run this again",
			       "the PTR lookup for %s failed (%s)", g->text, dc_dns_why(c, g->ptr));
			continue;
		}
		if (g->ptr->status != DNS_OK) {
			dc_add(
			    c, DC_AREA_PTR, DC_ERROR, "ptr.none",
			    dc_str(c,
			           "ask whoever runs the address block (the hosting provider) to "
			           "set the PTR of %s to %s",
			           g->text, hn ? hn : "the gateway's name"),
			    "%s has no PTR record (%s): many receivers refuse mail from it",
			    g->text, dns_status_name(g->ptr->status));
			continue;
		}
		for (k = 0; k < g->ptr->count && k < 10; k++) {
			if (g->ptr->rr[k].type != DNS_T_PTR)
				continue;
			if (first == NULL)
				first = g->ptr->rr[k].u.name;
			if (confirmed == NULL && g->fwd != NULL && dc_answer_has(g->fwd[k], &g->ip))
				confirmed = g->ptr->rr[k].u.name;
		}
		if (first == NULL)
			first = "";
		if (confirmed == NULL) {
			dc_add(c, DC_AREA_PTR, DC_ERROR, "ptr.fcrdns",
			       dc_str(c, "publish %s %s %s, or point the PTR at a name that has it",
			              first, g->ip.family == AF_INET ? "A" : "AAAA", g->text),
			       "the PTR of %s is %s, which does not resolve back to %s (no "
			       "forward-confirmed reverse DNS)",
			       g->text, first, g->text);
			continue;
		}
		if (hn != NULL && !dc_name_eq(confirmed, hn)) {
			dc_add(c, DC_AREA_PTR, DC_WARN, "ptr.hostname",
			       dc_str(c,
			              "set the PTR of %s to %s, or set server.hostname to %s so "
			              "that HELO, PTR and A agree",
			              g->text, hn, confirmed),
			       "the PTR of %s is %s, not the gateway's HELO name %s", g->text,
			       confirmed, hn);
			continue;
		}
		dc_add(c, DC_AREA_PTR, DC_OK, "ptr.ok", NULL,
		       "%s has PTR %s, which resolves back to it", g->text, confirmed);
	}
}

/* ---- MX ------------------------------------------------------------- */

static void dc_mx_addr_done(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	struct dns_answer **slot = arg;
	size_t i;

	*slot = dc_keep(c, ans);
	for (i = 0; i < c->nmxhosts; i++) {
		struct dc_mxhost *h = &c->mxhosts[i];
		if ((slot == &h->a || slot == &h->aaaa) && h->a != NULL && h->aaaa != NULL)
			dc_dane_host(c, h);
	}
}

static void dc_mx_done(struct dc_ctx *c, const struct dns_answer *ans, void *arg)
{
	size_t i, n = 0;

	(void)arg;
	c->mx = dc_keep(c, ans);
	if (c->mx == NULL || c->mx->status != DNS_OK)
		return;
	c->mxhosts = arena_array(c->a, c->mx->count + 1, sizeof(*c->mxhosts));
	if (c->mxhosts == NULL) {
		c->nomem = true;
		return;
	}
	for (i = 0; i < c->mx->count && n < 20; i++) {
		struct dc_mxhost *h;
		if (c->mx->rr[i].type != DNS_T_MX || c->mx->rr[i].u.mx.host[0] == '\0')
			continue;
		h = &c->mxhosts[n++];
		memset(h, 0, sizeof(*h));
		h->host = c->mx->rr[i].u.mx.host;
		h->pref = c->mx->rr[i].u.mx.preference;
	}
	/* every host is listed before any answer can come back (dc_mx_addr_done
	 * looks them up there) */
	c->nmxhosts = n;
	for (i = 0; i < n; i++) {
		dc_lookup(c, c->mxhosts[i].host, DNS_T_A, dc_mx_addr_done, &c->mxhosts[i].a);
		dc_lookup(c, c->mxhosts[i].host, DNS_T_AAAA, dc_mx_addr_done, &c->mxhosts[i].aaaa);
	}
}

static bool dc_mx_is_gateway(struct dc_ctx *c, const char *host)
{
	const struct domaincheck_options *o = c->opt;
	size_t i;

	for (i = 0; i < o->ngateway_mx; i++)
		if (dc_name_eq(host, o->gateway_mx[i]))
			return true;
	return false;
}

static bool dc_status_empty(const struct dns_answer *a)
{
	return a != NULL && (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA);
}

static void dc_mx_finish(struct dc_ctx *c)
{
	const struct domaincheck_options *o = c->opt;
	const struct dns_answer *mx = c->mx;
	struct net_addr ip;
	size_t i, ngw = 0, nnull = 0;
	char list[1024];
	size_t off = 0;

	if (!dc_want(c, DC_AREA_MX))
		return;
	if (mx == NULL || (mx->status != DNS_OK && !dc_status_empty(mx))) {
		dc_add(c, DC_AREA_MX, DC_ERROR, "mx.dns",
		       "check the domain's name servers, then run this again",
		       "the MX lookup for %s failed (%s)", c->domain, dc_dns_why(c, mx));
		return;
	}
	if (mx->status == DNS_NXDOMAIN) {
		dc_add(c, DC_AREA_MX, DC_ERROR, "mx.nxdomain",
		       "register the domain or delegate it, or check its spelling",
		       "%s does not exist in DNS (NXDOMAIN)", c->domain);
		return;
	}
	for (i = 0; i < mx->count; i++)
		if (mx->rr[i].type == DNS_T_MX && mx->rr[i].u.mx.host[0] == '\0')
			nnull++;
	if (mx->status == DNS_NODATA) {
		dc_add(c, DC_AREA_MX, DC_ERROR, "mx.none",
		       dc_str(c, "publish %s. MX 10 %s.", c->domain,
		              o->ngateway_mx ? o->gateway_mx[0] : "<the gateway's name>"),
		       "%s has no MX record: senders fall back to its A record", c->domain);
		return;
	}
	if (nnull > 0) {
		dc_add(c, DC_AREA_MX, DC_WARN, "mx.null",
		       dc_str(c,
		              "if %s should receive mail, replace the null MX with %s. MX 10 %s.",
		              c->domain, c->domain,
		              o->ngateway_mx ? o->gateway_mx[0] : "<the gateway's name>"),
		       "%s publishes a null MX (RFC 7505): it accepts no mail", c->domain);
		if (c->nmxhosts == 0)
			return;
	}
	list[0] = '\0';
	for (i = 0; i < c->nmxhosts; i++) {
		const struct dc_mxhost *h = &c->mxhosts[i];
		int w = snprintf(list + off, sizeof(list) - off, "%s%u %s", i ? ", " : "", h->pref,
		                 h->host);
		if (w > 0 && (size_t)w < sizeof(list) - off)
			off += (size_t)w;
		if (dc_mx_is_gateway(c, h->host))
			ngw++;
	}
	dc_add(c, DC_AREA_MX, DC_OK, "mx.ok", NULL, "MX of %s: %s", c->domain, list);
	if (o->ngateway_mx > 0 && ngw == 0)
		dc_add(c, DC_AREA_MX, DC_ERROR, "mx.not-gateway",
		       dc_str(c, "publish %s. MX 10 %s. and remove the other MX records", c->domain,
		              o->gateway_mx[0]),
		       "no MX host of %s is this gateway (%s): mail does not pass through it",
		       c->domain, o->gateway_mx[0]);
	else if (o->ngateway_mx > 0 && ngw < c->nmxhosts)
		for (i = 0; i < c->nmxhosts; i++)
			if (!dc_mx_is_gateway(c, c->mxhosts[i].host))
				dc_add(c, DC_AREA_MX, DC_WARN, "mx.bypass",
				       dc_str(c,
				              "remove the MX record for %s, or make that host "
				              "accept mail only from the gateway",
				              c->mxhosts[i].host),
				       "MX host %s is not this gateway: senders can go round "
				       "the filtering through it",
				       c->mxhosts[i].host);
	for (i = 0; i < c->nmxhosts; i++) {
		const struct dc_mxhost *h = &c->mxhosts[i];
		const struct dns_answer *a = h->a, *aaaa = h->aaaa;
		bool cname =
		    (a && a->status == DNS_OK && strcmp(a->canonname, a->qname) != 0) ||
		    (aaaa && aaaa->status == DNS_OK && strcmp(aaaa->canonname, aaaa->qname) != 0);
		if (net_addr_parse(h->host, &ip) == 0) {
			dc_add(c, DC_AREA_MX, DC_ERROR, "mx.host-ip",
			       "an MX must name a host, not an address: publish an A record for a "
			       "name and point the MX at that name",
			       "MX host %s is an IP address (RFC 5321 5.1)", h->host);
			continue;
		}
		if ((a == NULL || (a->status != DNS_OK && !dc_status_empty(a))) ||
		    (aaaa == NULL || (aaaa->status != DNS_OK && !dc_status_empty(aaaa)))) {
			dc_add(c, DC_AREA_MX, DC_ERROR, "mx.host-dns",
			       "check the name servers of the MX host's zone",
			       "the address lookups for MX host %s failed (A %s, AAAA %s)", h->host,
			       dc_dns_why(c, a), dc_dns_why(c, aaaa));
			continue;
		}
		if (a->status != DNS_OK && aaaa->status != DNS_OK) {
			dc_add(c, DC_AREA_MX, DC_ERROR, "mx.host-noaddr",
			       dc_str(c, "publish an A (and AAAA) record for %s", h->host),
			       "MX host %s has no A or AAAA record: mail to it cannot be delivered",
			       h->host);
			continue;
		}
		if (cname)
			dc_add(c, DC_AREA_MX, DC_WARN, "mx.host-cname",
			       dc_str(c, "point the MX at %s itself",
			              a->status == DNS_OK ? a->canonname : aaaa->canonname),
			       "MX host %s is an alias (CNAME), which RFC 2181 10.3 forbids",
			       h->host);
	}
}

/* ---- the run -------------------------------------------------------- */

struct domaincheck *domaincheck_run(struct dns *dns, struct event_base *base, struct arena *a,
                                    const struct domaincheck_options *opts, const char **why)
{
	struct dc_ctx *c;
	char norm[ORGDOMAIN_BUF];

	*why = "out of memory";
	if (opts->domain == NULL ||
	    orgdomain_normalise(opts->domain, strlen(opts->domain), norm, sizeof(norm)) < 0 ||
	    strchr(norm, '.') == NULL) {
		*why = "not a domain name";
		return NULL;
	}
	c = arena_zalloc(a, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->opt = opts;
	c->dns = dns;
	c->base = base;
	c->a = a;
	c->domain = arena_strdup(a, norm);
	c->res = arena_zalloc(a, sizeof(*c->res));
	if (c->domain == NULL || c->res == NULL)
		return NULL;
	c->res->domain = c->domain;
	c->res->findings = arena_array(a, DOMAINCHECK_MAX_FINDINGS, sizeof(*c->res->findings));
	if (c->res->findings == NULL)
		return NULL;

	/* everything starts at once; answers may arrive in any order */
	c->pending = 1; /* held until every area has started */
	if (dc_want(c, DC_AREA_MX) || dc_want(c, DC_AREA_MTASTS) || dc_want(c, DC_AREA_DANE))
		dc_lookup(c, c->domain, DNS_T_MX, dc_mx_done, NULL);
	if (dc_want(c, DC_AREA_SPF))
		dc_spf_start(c);
	dc_gw_begin(c);
	if (dc_want(c, DC_AREA_DKIM))
		dc_dkim_start(c);
	if (dc_want(c, DC_AREA_DMARC))
		dc_dmarc_start(c);
	if (dc_want(c, DC_AREA_MTASTS))
		dc_mtasts_start(c);
	if (dc_want(c, DC_AREA_TLSRPT))
		dc_tlsrpt_start(c);
	if (--c->pending > 0)
		event_base_loop(base, 0);
	dc_mtasts_free(c);
	dc_dane_probe(c);

	/* judged in a fixed order, whatever the answers' order was */
	dc_mx_finish(c);
	dc_ptr_finish(c);
	dc_spf_finish(c);
	dc_dkim_finish(c);
	dc_dmarc_finish(c);
	dc_mtasts_finish(c);
	dc_tlsrpt_finish(c);
	dc_dane_finish(c);
	if (c->nomem)
		return NULL;
	*why = NULL;
	return c->res;
}
