/*
 * domaincheck - what an admin checks before and after putting a domain
 * behind smexop: MX, PTR, SPF, DKIM, DMARC (and, where their engines
 * exist, MTA-STS, TLS-RPT and DANE), as a list of typed findings
 *
 * `smexop check-domain` (cli/cli_check_domain.c) is this module and two
 * printers.  domaincheck_run() starts every lookup of every area at once
 * on core/dns (chains such as MX -> A/AAAA of the MX hosts, or SPF
 * include levels, start their next lookups from the callbacks), runs the
 * loop until all are answered, and only then judges each area in a fixed
 * order, so the findings come out in the same order whatever order the
 * answers arrived in.  The judging reuses the engines: auth/spf_record
 * and auth/spf (the gateway's addresses through check_host), auth/dkim_key
 * and auth/dkim_keys (our signing keys against DNS), auth/dmarc_record,
 * report/dmarc_report (external report destinations), core/orgdomain.
 *
 * Every finding has an area, a level (ok, warn, error), a stable code
 * ("spf.lookups-over"), a sentence and, unless it is ok, the fix.
 * docs/check-domain.md lists every code; tests/unit/test_domaincheck.c
 * keeps the list and domaincheck_codes[] in sync.
 *
 * The SPF lookup-count tree is a step engine of its own (spftree_*),
 * with no I/O, so that it is unit-tested from canned answers: it expands
 * include: and redirect= without macros, counts the DNS-querying terms
 * of each record and of each subtree (RFC 7208 4.6.4: at most 10) and the
 * void lookups of the a, mx and exists terms (at most 2).
 *
 * Work is bounded: at most DOMAINCHECK_MAX_QUERIES lookups per run, at
 * most SPFTREE_MAX_NODES records in the tree, SPFTREE_MAX_DEPTH levels.
 */
#ifndef SMEXOP_REPORT_DOMAINCHECK_H
#define SMEXOP_REPORT_DOMAINCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dns.h"
#include "core/net.h"

struct arena;
struct event_base;
struct smexop_config;

enum dc_level { DC_OK, DC_WARN, DC_ERROR };

enum dc_area {
	DC_AREA_MX,
	DC_AREA_PTR,
	DC_AREA_SPF,
	DC_AREA_DKIM,
	DC_AREA_DMARC,
	DC_AREA_MTASTS,
	DC_AREA_TLSRPT,
	DC_AREA_DANE,
	DC_AREA_COUNT,
};

#define DC_AREAS_ALL ((1u << DC_AREA_COUNT) - 1)

struct dc_finding {
	enum dc_area area;
	enum dc_level level;
	const char *code;    /* "spf.lookups-over": listed in docs/check-domain.md */
	const char *message; /* one sentence, with the names and values involved */
	const char *fix;     /* what to change; NULL when ok */
	const char *detail;  /* more lines (the SPF include tree), or NULL */
};

struct domaincheck_options {
	const char *domain;
	unsigned areas; /* bits (1u << DC_AREA_x); 0: all */
	/* this gateway: the names the MX should point at, its public
	 * addresses (PTR, FCrDNS, SPF), the name it gives in HELO */
	const char *const *gateway_mx;
	size_t ngateway_mx;
	const struct net_addr *gateway_ip;
	size_t ngateway_ip;
	const char *gateway_hostname;
	/* dkim.signing (our keys and selectors); may be NULL */
	const struct smexop_config *cfg;
	/* more selectors to look at besides the configured and common ones */
	const char *const *selectors;
	size_t nselectors;
	/* MTA-STS policy fetches: trust store (NULL: the system's), port
	 * (0: 443; tests change it), deadline (0: the resolver's default) */
	const char *ca_file;
	unsigned https_port;
	unsigned https_timeout_ms;
	/* DANE STARTTLS probes: port (0: 25; tests change it), per-step timeout */
	unsigned smtp_port;
	unsigned smtp_timeout_ms;
};

struct domaincheck {
	const char *domain;
	struct dc_finding *findings;
	size_t n;
	enum dc_level worst;
};

#define DOMAINCHECK_MAX_QUERIES  400
#define DOMAINCHECK_MAX_FINDINGS 200

/*
 * domaincheck_run - check opts->domain: runs base's loop until every
 * lookup is answered (each has the resolver's timeout).  Everything lives
 * in a.  The DANE area then probes the MX hosts whose TLSA records ask
 * for authentication (blocking STARTTLS, one host after the other).
 * NULL only when memory runs out or the domain is not a domain name
 * (then *why says so).
 */
struct domaincheck *domaincheck_run(struct dns *dns, struct event_base *base, struct arena *a,
                                    const struct domaincheck_options *opts, const char **why);

/* dc_level_name - "ok", "warn", "error" */
const char *dc_level_name(enum dc_level l);
/* dc_area_name - "mx", "ptr", "spf", "dkim", "dmarc", "mta-sts", "tls-rpt", "dane" */
const char *dc_area_name(enum dc_area a);
/* dc_area_parse - the area named s (any case), or -1 */
int dc_area_parse(const char *s);

/* Every code this module can emit, NULL-terminated (for the doc test). */
extern const char *const domaincheck_codes[];

/* ---- the SPF lookup-count tree -------------------------------------- */

#define SPFTREE_MAX_NODES   64
#define SPFTREE_MAX_DEPTH   10
#define SPFTREE_MAX_QUERIES 200

enum spftree_status {
	SPFTREE_PENDING,  /* not answered yet */
	SPFTREE_OK,       /* one valid record */
	SPFTREE_NONE,     /* the name exists but has no SPF record */
	SPFTREE_NXDOMAIN, /* the name does not exist */
	SPFTREE_MULTIPLE, /* more than one v=spf1 record */
	SPFTREE_SYNTAX,   /* the record does not parse */
	SPFTREE_DNS,      /* the lookup failed (SERVFAIL, timeout) */
	SPFTREE_LOOP,     /* the name is already being evaluated above */
	SPFTREE_TOO_DEEP, /* deeper than SPFTREE_MAX_DEPTH, or too many records */
};

struct spf_record;

struct spftree_node {
	const char *name;
	const char *via; /* "include", "redirect", NULL for the root */
	unsigned depth;
	enum spftree_status status;
	const char *record; /* the record text when found */
	size_t record_len;
	const char *error; /* SYNTAX: the parser's reason; DNS: the status */
	const struct spf_record *rec;
	unsigned own_terms, total_terms; /* DNS-querying terms: this record, subtree */
	unsigned own_void, total_void;   /* void lookups: this record, subtree */
	bool macros;                     /* a term's target has a macro: not expanded */
	const struct spftree_node *parent;
	struct spftree_node **child;
	size_t nchild;
};

struct spftree_query {
	const char *name;
	enum dns_type type;
	bool sent;     /* for the caller */
	bool answered; /* spftree_answer() had it */
};

struct spftree;

/* spftree_new - a tree for domain's record; NULL when memory runs out */
struct spftree *spftree_new(struct arena *a, const char *domain);
/* spftree_queries - every query asked so far (answered ones too); *list
 * is valid until the next spftree_answer() */
size_t spftree_queries(struct spftree *t, struct spftree_query *const **list);
/* spftree_answer - feed the answer to (name, type): every unanswered
 * query for it is answered; may ask for more.  -1 when none was asked. */
int spftree_answer(struct spftree *t, const char *name, enum dns_type type,
                   const struct dns_answer *ans);
/* spftree_done - every query is answered: the counts are final */
bool spftree_done(const struct spftree *t);
/* spftree_root - the root node (counts are totals once done) */
const struct spftree_node *spftree_root(const struct spftree *t);
/* spftree_format - the tree as indented lines "name (own N, total M)" */
char *spftree_format(struct arena *a, const struct spftree_node *root);
/* spftree_status_name - "ok", "none", "nxdomain", ... */
const char *spftree_status_name(enum spftree_status s);

#endif
