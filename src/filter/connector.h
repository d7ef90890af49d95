/*
 * connector - inbound connectors: who a client is (partner, our own
 * on-premises server) and what its mail may do (pipeline stage 1, EOP's
 * inbound connectors)
 *
 * A connector is matched by the client's IP address (sender_ip_ranges,
 * an iplist) and/or by the names of a verified TLS client certificate
 * (tls_cert_names: the subject CN and the DNS subjectAltNames; a pattern
 * "*.example.com" matches exactly one more label, as in RFC 6125 6.4.3).
 *
 *   connectors_match_ip    at connect: the first enabled connector, in
 *                          configuration order, that has IP ranges only
 *                          and contains the address
 *   connectors_match_cert  after STARTTLS (or implicit TLS): the first
 *                          enabled connector with certificate names one of
 *                          which matches, and whose IP ranges (when it has
 *                          any) contain the address too
 *
 * A client no connector matches is plain Internet mail.  What a matched
 * connector changes is up to the stages: require_tls (MAIL refused before
 * STARTTLS), trusted (the inbound filters are skipped), relay (recipients
 * in domains that are not accepted are taken: outbound mail).
 *
 * A set is read-only once built and may be shared by the workers of one
 * configuration generation.
 */
#ifndef SMEXOP_FILTER_CONNECTOR_H
#define SMEXOP_FILTER_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/net.h"
#include "filter/iplist.h"

struct smexop_config;

#define CONNECTOR_MAX_CERT_NAMES 64 /* names of one client certificate looked at */

enum connector_type {
	CONNECTOR_PARTNER,
	CONNECTOR_ON_PREMISES,
};

struct connector {
	const char *name;
	enum connector_type type;
	bool require_tls;
	bool trusted;
	bool relay;
	struct iplist *ips;       /* NULL: no IP condition */
	const char *const *names; /* certificate name patterns, lower case */
	size_t nnames;
};

struct connectors;

/* connectors_from_config - the enabled inbound_connectors of cfg (an
 * empty set when there are none); NULL with err */
struct connectors *connectors_from_config(const struct smexop_config *cfg, iplist_warn_fn warn,
                                          void *warn_arg, struct sx_err *err);
struct connectors *connectors_free(struct connectors *s);
size_t connectors_count(const struct connectors *s);

/* connectors_match_ip - the connector of ip at connect, or NULL */
const struct connector *connectors_match_ip(const struct connectors *s, const struct net_addr *ip);
/* connectors_match_cert - the connector of a client whose verified
 * certificate carries names[0..n), or NULL */
const struct connector *connectors_match_cert(const struct connectors *s, const struct net_addr *ip,
                                              const char *const *names, size_t n);

/* connector_name_match - pattern ("host.example.com" or "*.example.com")
 * against a certificate name, ASCII case-insensitively */
bool connector_name_match(const char *pattern, const char *name);

const char *connector_type_name(enum connector_type t);

#endif
