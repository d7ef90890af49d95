/*
 * net - IP addresses as values: parse, format, compare under a prefix
 *
 * One type for IPv4 and IPv6 so that engines (SPF, DNSBL, connection
 * filter) never juggle sockaddrs.  An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1) is turned into plain IPv4 on parse, as RFC 7208
 * section 5 asks for SPF and as every mail admin expects.
 */
#ifndef SMEXOP_CORE_NET_H
#define SMEXOP_CORE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_addr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t bytes[16]; /* network order; IPv4 uses the first 4 */
};

#define NET_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

/* net_addr_parse - textual IPv4 or IPv6 (no brackets, no zone); 0 or -1 */
int net_addr_parse(const char *s, struct net_addr *out);
int net_addr_parse_n(const char *s, size_t n, struct net_addr *out);
/* net_addr_unmap - turn an IPv4-mapped IPv6 address into plain IPv4 */
void net_addr_unmap(struct net_addr *a);
/* net_addr_format - the canonical text form (RFC 5952 for IPv6) */
const char *net_addr_format(const struct net_addr *a, char *out, size_t outsize);
/* net_addr_match - a and b agree in their first prefix bits (same family) */
bool net_addr_match(const struct net_addr *a, const struct net_addr *b, unsigned prefix);
/* net_addr_bits - 32 or 128 */
unsigned net_addr_bits(const struct net_addr *a);

/*
 * net_addr_reverse - the reverse-lookup name without the trailing dot:
 * "1.2.0.192.in-addr.arpa" or the 32 nibbles of "ip6.arpa".
 * With suffix NULL the .in-addr.arpa / .ip6.arpa suffix is left off
 * (as DNSBL queries and the SPF %{i} macro need it, dotted nibbles).
 */
const char *net_addr_reverse(const struct net_addr *a, const char *suffix, char *out,
                             size_t outsize);

/* net_hostport_parse - "HOST:PORT", "[V6]:PORT" or "HOST" (default port) */
int net_hostport_parse(const char *s, unsigned default_port, char *host, size_t hostsize,
                       unsigned *port);

#endif
