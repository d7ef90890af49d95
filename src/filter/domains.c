/*
 * domains - accepted domains (see domains.h)
 *
 * A sorted array of lower-case names; a match looks the name up, then
 * each parent in turn, and takes the first parent that has subdomains
 * set.  At most 127 parents for a 253-byte name, each one binary search.
 */
#include "filter/domains.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/dns.h"
#include "core/str.h"

struct domains {
	struct accepted_domain *v;
	size_t n, size;
};

struct domains *domains_new(void)
{
	return calloc(1, sizeof(struct domains));
}

struct domains *domains_free(struct domains *d)
{
	size_t i;

	if (d == NULL)
		return NULL;
	for (i = 0; i < d->n; i++)
		free((char *)d->v[i].domain);
	free(d->v);
	free(d);
	return NULL;
}

/* domains_find - exact match of the lower-case name s, or NULL */
static const struct accepted_domain *domains_find(const struct domains *d, const char *s)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s, d->v[mid].domain);
		if (c == 0)
			return &d->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int domains_add(struct domains *d, const char *domain, enum domain_type type, bool subdomains,
                struct sx_err *err)
{
	size_t n = strlen(domain), lo, hi;
	char *name;

	while (n > 0 && domain[n - 1] == '.')
		n--;
	if (n == 0 || n > DNS_NAME_MAX || memchr(domain, '@', n) != NULL) {
		sx_err_set(err, "'%.80s' is not a domain name", domain);
		return -1;
	}
	if (d->n >= DOMAINS_MAX) {
		sx_err_set(err, "more than %d accepted domains", DOMAINS_MAX);
		return -1;
	}
	name = strndup(domain, n);
	if (name == NULL) {
		sx_err_set(err, "out of memory");
		return -1;
	}
	str_lower_inplace(name);
	if (dns_name_check(name) < 0) {
		sx_err_set(err, "'%.80s' is not a domain name", domain);
		free(name);
		return -1;
	}
	if (domains_find(d, name) != NULL) {
		sx_err_set(err, "%s is listed twice", name);
		free(name);
		return -1;
	}
	if (d->n == d->size) {
		size_t size = d->size ? d->size * 2 : 16;
		struct accepted_domain *p = realloc(d->v, size * sizeof(*p));
		if (p == NULL) {
			free(name);
			sx_err_set(err, "out of memory");
			return -1;
		}
		d->v = p;
		d->size = size;
	}
	/* keep the array sorted: insert at the first name greater than ours */
	for (lo = 0, hi = d->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(d->v[mid].domain, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&d->v[lo + 1], &d->v[lo], (d->n - lo) * sizeof(*d->v));
	d->v[lo].domain = name;
	d->v[lo].type = type;
	d->v[lo].subdomains = subdomains;
	d->n++;
	return 0;
}

struct domains *domains_from_config(const struct smexop_config *cfg, struct sx_err *err)
{
	struct domains *d = domains_new();
	size_t i;

	if (d == NULL) {
		sx_err_set(err, "out of memory");
		return NULL;
	}
	for (i = 0; i < cfg->accepted_domains.n; i++) {
		const struct config_accepted_domain *c = &cfg->accepted_domains.v[i];
		if (domains_add(d, c->domain,
		                c->type == CONFIG_DOMAIN_INTERNAL_RELAY ? DOMAIN_INTERNAL_RELAY
		                                                        : DOMAIN_AUTHORITATIVE,
		                c->subdomains, err) < 0)
			return domains_free(d);
	}
	return d;
}

const struct accepted_domain *domains_match(const struct domains *d, const char *domain, size_t len)
{
	char name[DNS_NAME_MAX + 1];
	const struct accepted_domain *a;
	const char *p;
	size_t i;

	if (d == NULL || domain == NULL)
		return NULL;
	while (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return NULL;
	for (i = 0; i < len; i++) {
		if (domain[i] == '\0')
			return NULL;
		name[i] = (char)str_lower((unsigned char)domain[i]);
	}
	name[len] = '\0';
	if ((a = domains_find(d, name)) != NULL)
		return a;
	for (p = strchr(name, '.'); p != NULL; p = strchr(p + 1, '.')) {
		a = domains_find(d, p + 1);
		if (a != NULL && a->subdomains)
			return a;
	}
	return NULL;
}

size_t domains_count(const struct domains *d)
{
	return d == NULL ? 0 : d->n;
}

const char *domain_type_name(enum domain_type t)
{
	return t == DOMAIN_INTERNAL_RELAY ? "internal_relay" : "authoritative";
}
