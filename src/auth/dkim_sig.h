/*
 * dkim_sig - the DKIM-Signature header field (RFC 6376 section 3.5)
 *
 * dkim_sig_parse() turns the field's value into a struct dkim_sig and
 * checks everything that can be checked without the key or the message:
 * required tags (v a b bh d h s), v=1, known a= and c=, a usable q=,
 * i= within d=, x= not before t=, From in h=, numbers and base64.  Unknown
 * tags are ignored, z= is not used.  Every failure is a permerror; the
 * reason comes back as an enum dkim_reason and a short text that names
 * the tag ("missing tag bh=").
 *
 * The reason vocabulary of the whole DKIM engine lives here, so the
 * parsers, the verifier and the printers share one list.
 */
#ifndef SMEXOP_AUTH_DKIM_SIG_H
#define SMEXOP_AUTH_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

enum dkim_alg {
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
	DKIM_ALG_RSA_SHA1, /* parsed so it can be refused by name (RFC 8301) */
};

enum dkim_canon {
	DKIM_CANON_SIMPLE,
	DKIM_CANON_RELAXED,
};

enum dkim_reason {
	DKIM_R_OK,
	DKIM_R_BODY_HASH,       /* fail: body hash mismatch */
	DKIM_R_SIGNATURE,       /* fail: signature mismatch */
	DKIM_R_SYNTAX,          /* permerror: missing or bad tag */
	DKIM_R_VERSION,         /* permerror: v= not 1 */
	DKIM_R_ALGORITHM,       /* permerror: unknown a= */
	DKIM_R_SHA1,            /* permerror: rsa-sha1 not allowed */
	DKIM_R_CANON,           /* permerror: unknown c= */
	DKIM_R_QUERY,           /* permerror: no usable q= */
	DKIM_R_IDENTITY,        /* permerror: i= not within d= */
	DKIM_R_TIMESTAMPS,      /* permerror: x= before t= */
	DKIM_R_FROM_NOT_SIGNED, /* permerror: From not in h= */
	DKIM_R_EXPIRED,         /* permerror: x= in the past */
	DKIM_R_FUTURE,          /* permerror: t= in the future */
	DKIM_R_LENGTH,          /* permerror: l= beyond the body */
	DKIM_R_NO_KEY,          /* permerror: NXDOMAIN or no TXT record */
	DKIM_R_KEY_SYNTAX,      /* permerror: key record syntax error */
	DKIM_R_KEY_REVOKED,     /* permerror: empty p= */
	DKIM_R_KEY_TOO_SMALL,   /* permerror: RSA under 1024 bits */
	DKIM_R_KEY_TYPE,        /* permerror: k= does not match a= */
	DKIM_R_KEY_HASH,        /* permerror: a= not allowed by the key's h= */
	DKIM_R_KEY_SERVICE,     /* permerror: key s= excludes email */
	DKIM_R_KEY_STRICT,      /* permerror: t=s and i= is a subdomain of d= */
	DKIM_R_KEY_POLICY,      /* policy: key below the local minimum size */
	DKIM_R_DNS,             /* temperror: key lookup SERVFAIL or timeout */
	DKIM_R_TOO_MANY,        /* neutral: not verified: too many signatures */
	DKIM_R_INTERNAL,        /* temperror: out of memory, crypto library failure */
};

/* dkim_reason_text - "body hash mismatch", "no key", ... */
const char *dkim_reason_text(enum dkim_reason r);
/* dkim_alg_name - "rsa-sha256", "ed25519-sha256", "rsa-sha1" */
const char *dkim_alg_name(enum dkim_alg alg);
/* dkim_canon_name - "simple" or "relaxed" */
const char *dkim_canon_name(enum dkim_canon c);

#define DKIM_SIG_MAX_H 256 /* names in h=; over-signing rarely needs 40 */

struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	uint8_t *b, *bh; /* decoded */
	size_t b_len, bh_len;
	char *d, *s;    /* as written (compare case-insensitively) */
	char *i;        /* decoded; "@d" when absent */
	char *i_domain; /* points into i, after the '@' */
	char **h;       /* names in h=, as written */
	size_t nh;
	bool has_l, has_t, has_x;
	uint64_t l, t, x;
	/* where the b= value lies in the parsed text: [b_start, b_end) is what
	 * is removed before hashing (everything after "b=" up to ';' or the end) */
	size_t b_start, b_end;
	unsigned instance; /* DKIM_SIG_ARC: i= (1..DKIM_SIG_ARC_MAX_INSTANCE) */
};

/*
 * dkim_sig_parse - parse a DKIM-Signature value (the bytes after the
 * colon).  0, or -1 with *reason and *why set.  On error the fields that
 * were read (d, s) are still filled where possible, for reporting.
 */
int dkim_sig_parse(struct dkim_sig *sig, struct arena *a, const char *value, size_t len,
                   enum dkim_reason *reason, const char **why);

/*
 * DKIM_SIG_ARC - parse an ARC-Message-Signature (RFC 8617 section 4.1.2)
 * instead: no v=; i= is the instance number (1..50, in sig->instance;
 * sig->i and sig->i_domain stay NULL); h= need not list From and may be
 * empty or hold empty names, which sign nothing; c= defaults to
 * relaxed/relaxed, as dkimpy and the ARC test suite have it.
 */
#define DKIM_SIG_ARC              0x1u
#define DKIM_SIG_ARC_MAX_INSTANCE 50

/* dkim_sig_parse_flags - dkim_sig_parse with DKIM_SIG_* flags */
int dkim_sig_parse_flags(struct dkim_sig *sig, struct arena *a, const char *value, size_t len,
                         unsigned flags, enum dkim_reason *reason, const char **why);

/* dkim_domain_check - d= / s= syntax: labels of [A-Za-z0-9_-], 1..63 long,
 * at most 253 in all; 0 or -1 */
int dkim_domain_check(const char *s, size_t len);

#endif
