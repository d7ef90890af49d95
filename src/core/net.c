/*
 * net - IP addresses as values (see net.h)
 */
#include "core/net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/str.h"

int net_addr_parse_n(const char *s, size_t n, struct net_addr *out)
{
	char tmp[NET_ADDR_STRLEN];

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, tmp, out->bytes) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, out->bytes) == 1) {
		out->family = AF_INET6;
		net_addr_unmap(out);
		return 0;
	}
	return -1;
}

void net_addr_unmap(struct net_addr *a)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t v4[4];

	if (a->family != AF_INET6 || memcmp(a->bytes, v4mapped, sizeof(v4mapped)) != 0)
		return;
	memcpy(v4, a->bytes + 12, sizeof(v4));
	memset(a->bytes, 0, sizeof(a->bytes));
	memcpy(a->bytes, v4, sizeof(v4));
	a->family = AF_INET;
}

int net_addr_parse(const char *s, struct net_addr *out)
{
	return net_addr_parse_n(s, strlen(s), out);
}

const char *net_addr_format(const struct net_addr *a, char *out, size_t outsize)
{
	if (inet_ntop(a->family, a->bytes, out, (socklen_t)outsize) == NULL)
		snprintf(out, outsize, "?");
	return out;
}

unsigned net_addr_bits(const struct net_addr *a)
{
	return a->family == AF_INET ? 32 : 128;
}

bool net_addr_match(const struct net_addr *a, const struct net_addr *b, unsigned prefix)
{
	unsigned full, rest;
	uint8_t mask;

	if (a->family != b->family)
		return false;
	if (prefix > net_addr_bits(a))
		prefix = net_addr_bits(a);
	full = prefix / 8;
	rest = prefix % 8;
	if (memcmp(a->bytes, b->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a->bytes[full] & mask) == (b->bytes[full] & mask);
}

const char *net_addr_reverse(const struct net_addr *a, const char *suffix, char *out,
                             size_t outsize)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int i;

	out[0] = '\0';
	if (a->family == AF_INET) {
		snprintf(out, outsize, "%u.%u.%u.%u%s%s", a->bytes[3], a->bytes[2], a->bytes[1],
		         a->bytes[0], suffix ? "." : "", suffix ? suffix : "");
		return out;
	}
	for (i = 15; i >= 0 && o + 4 < outsize; i--) {
		out[o++] = hex[a->bytes[i] & 15];
		out[o++] = '.';
		out[o++] = hex[a->bytes[i] >> 4];
		out[o++] = '.';
	}
	if (o > 0)
		o--; /* the last dot */
	out[o] = '\0';
	if (suffix != NULL && o + 1 + strlen(suffix) < outsize) {
		out[o++] = '.';
		memcpy(out + o, suffix, strlen(suffix) + 1);
	}
	return out;
}

int net_hostport_parse(const char *s, unsigned default_port, char *host, size_t hostsize,
                       unsigned *port)
{
	const char *colon, *hend;
	uint64_t p = default_port;

	if (s[0] == '[') {
		hend = strchr(s, ']');
		if (hend == NULL)
			return -1;
		s++;
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (hend[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strrchr(s, ':');
		/* a bare IPv6 address has several colons and no port */
		if (colon != NULL && strchr(s, ':') != colon)
			colon = NULL;
		hend = colon ? colon : s + strlen(s);
	}
	if (hend == s || (size_t)(hend - s) >= hostsize)
		return -1;
	if (colon != NULL && str_to_u64(colon + 1, strlen(colon + 1), 1, 65535, &p) < 0)
		return -1;
	memcpy(host, s, (size_t)(hend - s));
	host[hend - s] = '\0';
	*port = (unsigned)p;
	return 0;
}
