/*
 * domains - accepted domains: which recipient domains this gateway takes
 * mail for (pipeline stage 2, EOP's accepted domains)
 *
 * Each domain is authoritative (every recipient lives in our directory:
 * unknown ones are refused at the edge, see directory.h) or internal
 * relay (some recipients live elsewhere: unknown ones are passed on).
 * With subdomains set (EOP's "accept mail for all subdomains") the domain
 * also covers every name below it; a subdomain listed on its own wins
 * over its parent, so "example.com (subdomains, authoritative)" and
 * "legacy.example.com (internal relay)" mean what they say.
 *
 * Names compare in ASCII case-insensitively and a trailing dot is
 * ignored.  A set is read-only once filled and can be shared.
 */
#ifndef SMEXOP_FILTER_DOMAINS_H
#define SMEXOP_FILTER_DOMAINS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct smexop_config;

enum domain_type {
	DOMAIN_AUTHORITATIVE,
	DOMAIN_INTERNAL_RELAY,
};

struct accepted_domain {
	const char *domain; /* lower case */
	enum domain_type type;
	bool subdomains;
};

#define DOMAINS_MAX 10000 /* as the configuration allows */

struct domains;

struct domains *domains_new(void);
struct domains *domains_free(struct domains *d);
/* domains_add - 0, or -1 with err (bad name, listed twice, full) */
int domains_add(struct domains *d, const char *domain, enum domain_type type, bool subdomains,
                struct sx_err *err);
/* domains_from_config - cfg->accepted_domains; NULL with err */
struct domains *domains_from_config(const struct smexop_config *cfg, struct sx_err *err);
/* domains_match - the accepted domain covering domain[0..len), or NULL */
const struct accepted_domain *domains_match(const struct domains *d, const char *domain,
                                            size_t len);
size_t domains_count(const struct domains *d);
const char *domain_type_name(enum domain_type t);

#endif
