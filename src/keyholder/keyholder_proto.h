/*
 * keyholder_proto - the key holder's typed request/reply messages
 *
 * SUMMARY
 *	struct keyholder_req q = { KEYHOLDER_SIGN, id, "example.com", "s1",
 *	                           DKIM_ALG_RSA_SHA256, digest };
 *	n = keyholder_req_encode(&q, buf, sizeof(buf));
 *	keyholder_req_decode(buf, n, &q);         0, or -1 (malformed)
 *
 * DESCRIPTION
 *	One message per SOCK_SEQPACKET datagram, integers in network byte
 *	order, every length checked against its cap and against what is left
 *	of the message, and nothing may follow the last field (OpenSMTPD's
 *	m_end).  A request is
 *	  u8 version (1), u8 type, u32 id, u8 domain length, domain,
 *	  u8 selector length, selector, u8 algorithm, u8 digest length, digest
 *	  SIGN: selector 1..63 bytes, algorithm 1 (rsa-sha256) or
 *	        2 (ed25519-sha256), digest 32 bytes (SHA-256)
 *	  INFO: selector, algorithm and digest empty (0): which keys of the
 *	        domain are active
 *	A reply is
 *	  u8 version, u8 type (the request's), u32 id, u8 status, then
 *	  SIGN ok: u16 signature length (1..KEYHOLDER_SIG_MAX), signature
 *	  INFO ok: u8 selector length, the active selector (as configured),
 *	           u8 key count (1..KEYHOLDER_INFO_KEYS), each: u8 length,
 *	           the selector the key is published under, u8 algorithm,
 *	           u16 bits
 *	  any other status: nothing more
 *	Domains are DNS names of at most 253 bytes, selectors DNS labels; the
 *	decoder checks their syntax (dkim_domain_check), so what reaches the
 *	key table is a name, never arbitrary bytes.
 *
 * DIAGNOSTICS
 *	Decoders return -1 on any malformed message; the key holder logs it
 *	and closes its end (the process exits, and is replaced).
 */
#ifndef SMEXOP_KEYHOLDER_PROTO_H
#define SMEXOP_KEYHOLDER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "auth/dkim_sig.h"

#define KEYHOLDER_VERSION    1
#define KEYHOLDER_DOMAIN_MAX 253
#define KEYHOLDER_SEL_MAX    63
#define KEYHOLDER_SIG_MAX    1024 /* RSA up to 8192 bits */
#define KEYHOLDER_INFO_KEYS  2    /* dual: RSA and Ed25519 */
#define KEYHOLDER_MSG_MAX    2048 /* any message; a longer one is malformed */

enum keyholder_type {
	KEYHOLDER_SIGN = 1,
	KEYHOLDER_INFO = 2,
};

enum keyholder_status {
	KEYHOLDER_OK = 0,
	KEYHOLDER_NOKEY = 1,   /* not a key this holder has */
	KEYHOLDER_FAILED = 2,  /* the signing operation failed */
	KEYHOLDER_NOTREADY = 3 /* the key could not be loaded (its file) */
};

struct keyholder_req {
	enum keyholder_type type;
	uint32_t id;
	char domain[KEYHOLDER_DOMAIN_MAX + 1];
	char selector[KEYHOLDER_SEL_MAX + 1]; /* SIGN only */
	enum dkim_alg alg;                    /* SIGN only */
	uint8_t digest[32];                   /* SIGN only */
};

struct keyholder_key_info {
	char selector[KEYHOLDER_SEL_MAX + 1]; /* as published */
	enum dkim_alg alg;
	unsigned bits;
};

struct keyholder_reply {
	enum keyholder_type type;
	uint32_t id;
	enum keyholder_status status;
	/* SIGN */
	uint8_t sig[KEYHOLDER_SIG_MAX];
	size_t sig_len;
	/* INFO */
	char active[KEYHOLDER_SEL_MAX + 1];
	struct keyholder_key_info keys[KEYHOLDER_INFO_KEYS];
	size_t nkeys;
};

/* keyholder_req_encode - the request's bytes in out; their count, or 0
 * when q is not a valid request or out is too small */
size_t keyholder_req_encode(const struct keyholder_req *q, uint8_t *out, size_t size);
/* keyholder_req_decode - 0 with q filled, -1 when malformed */
int keyholder_req_decode(const uint8_t *p, size_t len, struct keyholder_req *q);

size_t keyholder_reply_encode(const struct keyholder_reply *r, uint8_t *out, size_t size);
int keyholder_reply_decode(const uint8_t *p, size_t len, struct keyholder_reply *r);

/* keyholder_status_name - "ok", "nokey", "failed", "notready" */
const char *keyholder_status_name(enum keyholder_status s);

#endif
