/*
 * dkim_sign - DKIM signing (RFC 6376 section 5, RFC 8463) and key making
 *
 * A struct dkim_signer is a private key with the domain and selector its
 * public half is published under.  dkim_signer_load() reads a PEM file
 * (PKCS#8 or traditional RSA; RSA or Ed25519) so the CLI, and later the
 * key holder and `dkim rotate`, share one loader.
 *
 * dkim_sign() makes one DKIM-Signature per signer (dual signing: RSA and
 * Ed25519 in one call) over the same header list and body.  Headers:
 * every instance present of each listed name is signed, and the names in
 * the over-sign list get one more entry so no further instance can be
 * added unnoticed.  From is always signed and over-signed.  The fields are
 * folded at 78 columns where possible, b= last; they are appended to out
 * with the message's own line ending style (CRLF, or LF when the first
 * line of the message ends in a bare LF), ready to be put on top of it.
 *
 * dkim_keygen() makes a new key; dkim_dns_record() gives the TXT record
 * that publishes it, split into strings of at most 255 bytes.
 *
 * A signer may hold, instead of a key, a remote signing hook
 * (struct dkim_sign_remote): dkim_sign_digest() then hands it the digest
 * and the key's identity (domain, selector, algorithm) and copies back
 * what it answers.  That is how `smexop serve` signs without holding a key:
 * the hook asks the key holder process (src/keyholder/).  auth/ knows
 * nothing of processes or sockets; the hook is a plain function.
 */
#ifndef SMEXOP_AUTH_DKIM_SIGN_H
#define SMEXOP_AUTH_DKIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/dkim_sig.h"
#include "core/err.h"

struct arena;
struct buf;
struct evp_pkey_st;
struct raw_message;

struct dkim_signer;

/* One key a remote signer holds, as keys() describes it. */
struct dkim_remote_key {
	char selector[64]; /* as published (dual: SEL-ed25519 for Ed25519) */
	enum dkim_alg alg;
	unsigned bits;
};

/*
 * A remote signer: sign() signs digest with the key s names (s->domain,
 * s->selector, s->alg; s->bits says its size) and writes at most
 * sig_max bytes to sig; 0 with *sig_len set, or -1.  keys() says which
 * selector of domain is active (as configured) and the keys it has for
 * it (at most 2, RSA first): 1, 0 when it holds none, -1 when it cannot
 * tell (down, timeout); may be NULL.
 */
struct dkim_sign_remote {
	int (*sign)(void *ctx, const struct dkim_signer *s, const uint8_t digest[32], uint8_t *sig,
	            size_t sig_max, size_t *sig_len);
	int (*keys)(void *ctx, const char *domain, char active[64], struct dkim_remote_key keys[2],
	            size_t *nkeys, struct sx_err *err);
	void *ctx;
};

struct dkim_signer {
	enum dkim_alg alg;        /* rsa-sha256 or ed25519-sha256, from the key */
	struct evp_pkey_st *pkey; /* freed with the arena; NULL with remote */
	const char *domain, *selector;
	unsigned bits;
	const struct dkim_sign_remote *remote; /* signs instead of pkey when set */
};

/* dkim_signer_remote - a signer whose key another process holds: alg and
 * bits say what it is (RSA bits from DKIM_MIN_RSA_BITS to 8192); 0 or -1 */
int dkim_signer_remote(struct dkim_signer *s, const struct dkim_sign_remote *remote,
                       enum dkim_alg alg, unsigned bits, const char *domain, const char *selector,
                       struct sx_err *err);

/* dkim_signer_sig_max - the size of s's signatures in bytes (0: no key) */
size_t dkim_signer_sig_max(const struct dkim_signer *s);

/* dkim_signer_load - read a PEM private key file; 0, or -1 with err */
int dkim_signer_load(struct dkim_signer *s, struct arena *a, const char *path, const char *domain,
                     const char *selector, struct sx_err *err);
/* dkim_signer_from_pem - the same from memory */
int dkim_signer_from_pem(struct dkim_signer *s, struct arena *a, const char *pem, size_t len,
                         const char *domain, const char *selector, struct sx_err *err);

/* the default header list (NULL-terminated) and over-sign list */
extern const char *const dkim_sign_default_headers[];
extern const char *const dkim_sign_default_oversign[];

struct dkim_sign_options {
	const char *const *headers;     /* NULL-terminated; NULL: the default list */
	const char *const *oversign;    /* NULL-terminated; NULL: the default list */
	enum dkim_canon hcanon, bcanon; /* relaxed/relaxed */
	bool body_length;               /* add l= (the whole body as signed now) */
	int64_t timestamp;              /* t=; negative: no t= */
	uint64_t expire;                /* x= t + expire; 0: no x= */
	const char *identity;           /* i=, or NULL */
};

void dkim_sign_options_init(struct dkim_sign_options *o);

/* dkim_sign - append one DKIM-Signature field per signer to out; 0 or -1 */
int dkim_sign(struct arena *a, const struct raw_message *msg, const struct dkim_signer *signers,
              size_t nsigners, const struct dkim_sign_options *opts, struct buf *out,
              struct sx_err *err);

/* dkim_sign_digest - sign a SHA-256 header digest with s's key (RSA
 * PKCS#1 v1.5, or Ed25519 over the digest, RFC 8463), or through its
 * remote hook; sig must hold dkim_signer_sig_max() bytes, *sig_len is
 * set.  0 or -1.  Shared with ARC. */
int dkim_sign_digest(const struct dkim_signer *s, const uint8_t digest[32], uint8_t *sig,
                     size_t *sig_len);

/* dkim_keygen - a new key: "rsa" (bits 1024..4096) or "ed25519"; NULL with err */
struct evp_pkey_st *dkim_keygen(struct arena *a, const char *type, unsigned bits,
                                struct sx_err *err);
/* dkim_key_pem - the private key as PKCS#8 PEM (arena string) */
char *dkim_key_pem(struct arena *a, struct evp_pkey_st *pkey);
/*
 * dkim_dns_record - the value of the TXT record publishing pkey's public
 * half ("v=DKIM1; k=...; p=..."), as an arena string.
 */
char *dkim_dns_record(struct arena *a, struct evp_pkey_st *pkey);

#endif
