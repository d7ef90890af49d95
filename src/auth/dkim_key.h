/*
 * dkim_key - the DKIM public key record (RFC 6376 section 3.6.1, RFC 8463)
 *
 * dkim_key_parse() reads the TXT record found at s._domainkey.d: v=DKIM1
 * (first when present), k= rsa or ed25519 (default rsa), h= hash list,
 * p= key data (empty: revoked), s= service types, t= flags y and s.
 * Unknown tags and unknown values inside h=, s= and t= are ignored, as
 * the RFC says; g= (RFC 4871) is historic and ignored.
 *
 * dkim_key_pkey() builds the OpenSSL key: for RSA the p= data is a
 * SubjectPublicKeyInfo, or (tolerated, as OpenDKIM does) a bare PKCS#1
 * RSAPublicKey; for Ed25519 it is the raw 32-byte key (RFC 8463).
 */
#ifndef SMEXOP_AUTH_DKIM_KEY_H
#define SMEXOP_AUTH_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/dkim_sig.h"

struct arena;
struct evp_pkey_st;

enum dkim_key_type {
	DKIM_KEY_RSA,
	DKIM_KEY_ED25519,
};

struct dkim_key {
	enum dkim_key_type type;
	bool revoked;  /* p= is empty */
	bool has_h;    /* h= present */
	bool h_sha256; /* h= lists sha256 */
	bool h_sha1;   /* h= lists sha1 */
	bool email;    /* s= absent, "*" or "email" */
	bool testing;  /* t=y */
	bool strict;   /* t=s: i= must be in d= exactly */
	uint8_t *p;    /* decoded key data */
	size_t p_len;
};

/* dkim_key_parse - parse a key record; 0, or -1 with *why (key syntax error) */
int dkim_key_parse(struct dkim_key *key, struct arena *a, const char *txt, size_t len,
                   const char **why);

/*
 * dkim_key_pkey - the OpenSSL public key (freed with the arena), its size
 * in bits in *bits; NULL with *why when the key data does not decode or
 * does not match k=.
 */
struct evp_pkey_st *dkim_key_pkey(const struct dkim_key *key, struct arena *a, unsigned *bits,
                                  const char **why);

#endif
