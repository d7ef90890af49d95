/*
 * connector - inbound connectors and their matching (see connector.h)
 */
#include "filter/connector.h"

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/str.h"

struct connectors {
	struct connector *v;
	size_t n;
};

struct connectors *connectors_free(struct connectors *s)
{
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < s->n; i++)
		iplist_free(s->v[i].ips);
	free(s->v);
	free(s);
	return NULL;
}

size_t connectors_count(const struct connectors *s)
{
	return s != NULL ? s->n : 0;
}

struct connectors *connectors_from_config(const struct smexop_config *cfg, iplist_warn_fn warn,
                                          void *warn_arg, struct sx_err *err)
{
	struct connectors *s = calloc(1, sizeof(*s));
	size_t i, j, n = cfg != NULL ? cfg->inbound_connectors.n : 0;

	if (s == NULL || (n > 0 && (s->v = calloc(n, sizeof(*s->v))) == NULL)) {
		free(s);
		sx_err_set(err, "connectors: out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const struct config_inbound_connector *c = &cfg->inbound_connectors.v[i];
		struct connector *k = &s->v[s->n];

		if (!c->enabled)
			continue;
		k->name = c->name;
		k->type = c->type == CONFIG_CONNECTOR_ON_PREMISES ? CONNECTOR_ON_PREMISES
		                                                  : CONNECTOR_PARTNER;
		k->require_tls = c->require_tls;
		k->trusted = c->trusted;
		k->relay = c->relay;
		k->names = c->tls_cert_names.v;
		k->nnames = c->tls_cert_names.n;
		s->n++;
		if (c->sender_ip_ranges.n == 0)
			continue;
		k->ips = iplist_new();
		if (k->ips == NULL) {
			sx_err_set(err, "connectors: out of memory");
			return connectors_free(s);
		}
		for (j = 0; j < c->sender_ip_ranges.n; j++) {
			const char *e = c->sender_ip_ranges.v[j];

			if (iplist_add_line(k->ips, c->name, (unsigned)j + 1, e, strlen(e), warn,
			                    warn_arg, err) < 0)
				return connectors_free(s);
		}
		if (iplist_build(k->ips) < 0) {
			sx_err_set(err, "connectors: out of memory");
			return connectors_free(s);
		}
	}
	return s;
}

const struct connector *connectors_match_ip(const struct connectors *s, const struct net_addr *ip)
{
	size_t i;

	for (i = 0; s != NULL && ip != NULL && i < s->n; i++)
		if (s->v[i].nnames == 0 && s->v[i].ips != NULL &&
		    iplist_lookup(s->v[i].ips, ip) != NULL)
			return &s->v[i];
	return NULL;
}

bool connector_name_match(const char *pattern, const char *name)
{
	const char *dot;

	if (pattern == NULL || name == NULL || name[0] == '\0')
		return false;
	if (pattern[0] != '*' || pattern[1] != '.')
		return str_casecmp(pattern, name) == 0;
	/* "*.example.com": one label, not empty, then exactly ".example.com" */
	dot = strchr(name, '.');
	if (dot == NULL || dot == name || memchr(name, '*', (size_t)(dot - name)) != NULL)
		return false;
	return str_casecmp(pattern + 1, dot) == 0;
}

const struct connector *connectors_match_cert(const struct connectors *s, const struct net_addr *ip,
                                              const char *const *names, size_t n)
{
	size_t i, j, k;

	if (n > CONNECTOR_MAX_CERT_NAMES)
		n = CONNECTOR_MAX_CERT_NAMES;
	for (i = 0; s != NULL && i < s->n; i++) {
		const struct connector *c = &s->v[i];

		if (c->nnames == 0)
			continue;
		if (c->ips != NULL && (ip == NULL || iplist_lookup(c->ips, ip) == NULL))
			continue;
		for (j = 0; j < c->nnames; j++)
			for (k = 0; k < n; k++)
				if (connector_name_match(c->names[j], names[k]))
					return c;
	}
	return NULL;
}

const char *connector_type_name(enum connector_type t)
{
	return t == CONNECTOR_ON_PREMISES ? "on_premises" : "partner";
}
