/*
 * domaincheck_impl - what the area files of domaincheck share: the run
 * context, the counted lookup wrapper, adding findings
 *
 * Each area has a start function (sends its first lookups; callbacks may
 * send more and keep what they learn in the area's state) and a finish
 * function (judges, after the loop, in a fixed order).  Not for use
 * outside src/report/domaincheck*.c.
 */
#ifndef SMEXOP_REPORT_DOMAINCHECK_IMPL_H
#define SMEXOP_REPORT_DOMAINCHECK_IMPL_H

#include <stdarg.h>

#include "report/domaincheck.h"

struct dc_ctx;
struct spf_outcome;

typedef void (*dc_dns_cb)(struct dc_ctx *c, const struct dns_answer *ans, void *arg);

/* an address of the gateway and what DNS says about it */
struct dc_gwaddr {
	struct net_addr ip;
	char text[NET_ADDR_STRLEN];
	struct dns_answer *ptr;        /* the PTR answer */
	struct dns_answer **fwd;       /* per PTR name: A or AAAA */
	const struct spf_outcome *spf; /* check_host(ip, postmaster@domain) */
};

/* an MX host and its addresses */
struct dc_mxhost {
	const char *host;
	unsigned pref;
	struct dns_answer *a, *aaaa;
	struct dc_dane_host *dane; /* domaincheck_dane.c */
};

struct dc_ctx {
	const struct domaincheck_options *opt;
	struct domaincheck *res;
	struct dns *dns;
	struct event_base *base;
	struct arena *a;
	const char *domain; /* normalised */
	unsigned pending;   /* lookups and checks in flight */
	unsigned queries;   /* lookups sent */
	bool nomem;

	/* mx */
	struct dns_answer *mx;
	struct dc_mxhost *mxhosts;
	size_t nmxhosts;
	/* the gateway */
	struct dc_gwaddr *gw;
	size_t ngw, gwcap;
	struct dns_answer *gw_host_a, *gw_host_aaaa; /* when its addresses are not given */
	/* spf */
	struct spftree *spf;
	/* dkim: see domaincheck_dkim.c */
	struct dc_dkim *dkim;
	/* dmarc: see domaincheck_dmarc.c */
	struct dc_dmarc *dmarc;
	/* mta-sts: see domaincheck_mtasts.c */
	struct dc_mtasts *mtasts;
	/* tls-rpt: the _smtp._tls answer */
	struct dns_answer *tlsrpt;
	/* the domain publishes an MTA-STS record or usable-or-not TLSA records */
	bool tls_policy;
};

/* dc_lookup - send one lookup; cb runs from the loop (or at once with a
 * DNS_NOMEM answer when it cannot be sent or the run's cap is reached) */
void dc_lookup(struct dc_ctx *c, const char *name, enum dns_type type, dc_dns_cb cb, void *arg);
/* dc_hold/dc_release - count an asynchronous check that is not a lookup */
void dc_hold(struct dc_ctx *c);
void dc_release(struct dc_ctx *c);

/* dc_add - add a finding (fix NULL for ok); the text is formatted into the arena */
struct dc_finding *dc_add(struct dc_ctx *c, enum dc_area area, enum dc_level level,
                          const char *code, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* dc_str - arena_printf that notes a failure in c */
char *dc_str(struct dc_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dc_want - area is asked for */
bool dc_want(const struct dc_ctx *c, enum dc_area area);
/* dc_dns_why - "NXDOMAIN", "SERVFAIL: why", ... (arena string) */
const char *dc_dns_why(struct dc_ctx *c, const struct dns_answer *ans);
/* dc_keep - copy ans into the run's arena (NULL on failure, noted) */
struct dns_answer *dc_keep(struct dc_ctx *c, const struct dns_answer *ans);

/* the areas */
void dc_spf_start(struct dc_ctx *c);
void dc_spf_gateway(struct dc_ctx *c, struct dc_gwaddr *g);
void dc_spf_finish(struct dc_ctx *c);
void dc_dkim_start(struct dc_ctx *c);
void dc_dkim_finish(struct dc_ctx *c);
void dc_dmarc_start(struct dc_ctx *c);
void dc_dmarc_finish(struct dc_ctx *c);
void dc_mtasts_start(struct dc_ctx *c);
void dc_mtasts_finish(struct dc_ctx *c);
void dc_mtasts_free(struct dc_ctx *c);
void dc_tlsrpt_start(struct dc_ctx *c);
void dc_tlsrpt_finish(struct dc_ctx *c);
/* dc_dane_host - an MX host's A and AAAA answers are in */
void dc_dane_host(struct dc_ctx *c, struct dc_mxhost *h);
void dc_dane_probe(struct dc_ctx *c);
void dc_dane_finish(struct dc_ctx *c);

#endif
