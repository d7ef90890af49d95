/*
 * smtp_proxy - the PROXY protocol version 2 header (binary, HAProxy's
 * proxy-protocol.txt section 2.2) in front of a connection from a load
 * balancer: who the real peer is
 *
 * smtp_proxy_parse() looks at the bytes read so far and says whether a
 * complete header is there, how long it is, or that it is invalid.  Every
 * length field is checked against the bytes at hand and against
 * SMTP_PROXY_MAX; TLVs are walked for bounds and otherwise ignored.
 * Version 1 (text) headers are refused.
 */
#ifndef SMEXOP_SMTP_SMTP_PROXY_H
#define SMEXOP_SMTP_SMTP_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/net.h"

#define SMTP_PROXY_FIXED 16   /* signature, version/command, family, length */
#define SMTP_PROXY_MAX   1024 /* whole header cap; longer ones are refused */

struct smtp_proxy_result {
	bool local;    /* LOCAL command (health check): keep the real addresses */
	bool has_addr; /* PROXY with an INET/INET6 stream address */
	struct net_addr src, dst;
	unsigned src_port, dst_port;
};

/*
 * smtp_proxy_parse - > 0: a complete header of that many octets (out
 * filled); 0: need more (at least SMTP_PROXY_FIXED, then the length the
 * header states); -1: not a valid v2 header
 */
int smtp_proxy_parse(const uint8_t *p, size_t n, struct smtp_proxy_result *out);

/* smtp_proxy_need - how many octets the header needs in total, given what
 * is there (SMTP_PROXY_FIXED until the length is known); 0 when invalid */
size_t smtp_proxy_need(const uint8_t *p, size_t n);

#endif
