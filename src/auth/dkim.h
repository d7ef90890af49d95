/*
 * dkim - DKIM verification (RFC 6376, RFC 8463 Ed25519, RFC 8301)
 *
 * Same two layers as the SPF engine (auth/spf.h):
 *
 *   - a step engine that never touches the network, the clock or the
 *     event loop.  dkim_verify_new() parses every DKIM-Signature of a
 *     message (at most max_signatures are verified; the rest are reported
 *     neutral "not verified: too many signatures") and lists the key
 *     queries (s._domainkey.d, TXT) of all of them at once, deduplicated,
 *     so they can run concurrently.  The caller feeds the answers with
 *     dkim_verify_answer() and calls dkim_verify_step() until it returns
 *     DKIM_STEP_DONE; dkim_verify_results() then gives one result per
 *     signature, in header order.
 *
 *   - dkim_verify_start(), an asynchronous driver on core/dns.h (in
 *     dkim_async.c).
 *
 * Body hashes are computed once per (canonicalisation, l=, hash) in one
 * pass over the body, whatever the number of signatures sharing them;
 * dkim_verify_hash_body() can be called while the lookups are in flight.
 *
 * Results use the RFC 8601 names.  Policy: rsa-sha1 is refused (RFC
 * 8301), RSA keys under 1024 bits are permerror, x= in the past and t=
 * beyond now + clock_skew are permerror.  `now` is an input.  A key below
 * the local minimum (min_rsa_bits above 1024) gives "policy".
 *
 * Everything is allocated from the caller's arena; the message buffer
 * must outlive the verification.
 */
#ifndef SMEXOP_AUTH_DKIM_H
#define SMEXOP_AUTH_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/dkim_key.h"
#include "auth/dkim_sig.h"
#include "core/dns.h"

struct arena;
struct event_base;
struct evp_pkey_st;
struct raw_field;
struct raw_message;

enum dkim_result {
	DKIM_NONE,
	DKIM_PASS,
	DKIM_FAIL,
	DKIM_POLICY,
	DKIM_NEUTRAL,
	DKIM_TEMPERROR,
	DKIM_PERMERROR,
};

/* dkim_result_name - "pass", "fail", ... (RFC 8601) */
const char *dkim_result_name(enum dkim_result r);

#define DKIM_MAX_SIGNATURES     10
#define DKIM_DEFAULT_CLOCK_SKEW 300 /* seconds t= may lie in the future */
#define DKIM_MIN_RSA_BITS       1024
#define DKIM_DEFAULT_TIMEOUT_MS 15000

struct dkim_verify_options {
	int64_t now;             /* seconds since the epoch: the caller's clock */
	unsigned clock_skew;     /* DKIM_DEFAULT_CLOCK_SKEW */
	unsigned max_signatures; /* DKIM_MAX_SIGNATURES */
	unsigned min_rsa_bits;   /* DKIM_MIN_RSA_BITS; more gives policy below it */
	unsigned timeout_ms;     /* overall deadline of dkim_verify_start() */
};

/* dkim_verify_options_init - the defaults above, at time now */
void dkim_verify_options_init(struct dkim_verify_options *o, int64_t now);

struct dkim_sig_result {
	enum dkim_result result;
	enum dkim_reason reason;
	const char *why;            /* reason text to print: names the tag for syntax errors */
	const char *d, *s;          /* "" when the signature did not say */
	const char *i;              /* the identity (decoded i=, or "@d"); NULL if unparsed */
	const char *a;              /* algorithm name; NULL if unparsed */
	const char *b;              /* the first bytes of b= as written, for RFC 8601 header.b */
	const struct dkim_sig *sig; /* NULL when the field did not parse */
	size_t field;               /* index of the field in the raw message */
	unsigned key_bits;          /* 0 when no key was used */
	bool testing;               /* the key says t=y */
	bool has_l;
	uint64_t l;
	uint64_t body_len;      /* canonical body length */
	uint64_t unsigned_tail; /* canonical body bytes past l= (0 without l=) */
};

/* One key query.  The caller may use sent and user. */
struct dkim_query {
	const char *name; /* selector._domainkey.domain */
	bool answered;
	bool sent;
	void *user;
};

enum dkim_step {
	DKIM_STEP_DONE,
	DKIM_STEP_NEED_DNS,
};

struct dkim_verify;

/* dkim_verify_new - parse the signatures of msg; NULL when memory runs
 * out.  opts NULL: the defaults at now = 0 (only useful in tests). */
struct dkim_verify *dkim_verify_new(struct arena *a, const struct raw_message *msg,
                                    const struct dkim_verify_options *opts);
/* dkim_verify_queries - the key queries (answered or not) */
size_t dkim_verify_queries(struct dkim_verify *v, struct dkim_query *const **list);
/* dkim_verify_answer - feed the TXT answer for name (parsed at once, not
 * kept); -1 when no such query was asked */
int dkim_verify_answer(struct dkim_verify *v, const char *name, const struct dns_answer *ans);
/* dkim_verify_hash_body - compute the body hashes now (step does it too) */
void dkim_verify_hash_body(struct dkim_verify *v);
/* dkim_verify_step - DONE once every answer is in and results are set */
enum dkim_step dkim_verify_step(struct dkim_verify *v);
/* dkim_verify_abort - finish now: unanswered keys are temperror (why) */
void dkim_verify_abort(struct dkim_verify *v, const char *why);
/* dkim_verify_results - one per DKIM-Signature field, in header order;
 * valid after DONE or abort */
size_t dkim_verify_results(const struct dkim_verify *v, const struct dkim_sig_result **list);

/*
 * dkim_verify_start - verify asynchronously: every key query is sent at
 * once; cb runs exactly once from the event loop (never before this
 * returns), unless cancelled.  base carries the deferral and the overall
 * deadline (opts->timeout_ms).  NULL on resource failure.  The arena must
 * outlive the verification; freeing it cancels the outstanding queries.
 */
struct dkim_verify_job;
typedef void (*dkim_verify_cb)(struct dkim_verify *v, void *arg);
struct dkim_verify_job *dkim_verify_start(struct dns *dns, struct event_base *base, struct arena *a,
                                          const struct raw_message *msg,
                                          const struct dkim_verify_options *opts, dkim_verify_cb cb,
                                          void *arg);
/* dkim_verify_cancel - cb will not run; outstanding queries are cancelled */
void dkim_verify_cancel(struct dkim_verify_job *job);

/*
 * dkim_header_digest - SHA-256 of the fields named by sig->h (picked from
 * the bottom, a missing instance adds nothing) and of the signature field
 * itself with its b= value emptied, canonicalised as sig->hcanon says;
 * shared with signing.  sig_field is the DKIM-Signature field from its
 * name to its last byte (no final line break); value_off is where its
 * value starts (sig->b_start/b_end are relative to it).  0 or -1.
 */
int dkim_header_digest(const struct raw_message *msg, const struct dkim_sig *sig,
                       const char *sig_field, size_t sig_len, size_t value_off, uint8_t digest[32]);

/*
 * dkim_digest_fields - the core of dkim_header_digest, for callers that
 * pick the fields themselves (ARC seals take them by instance, not by
 * name): SHA-256 of fields[0..n), each canonicalised as c says and ended
 * with CRLF, then of sig_field[0..sig_len) with [b_start, b_end) removed
 * and no CRLF.  0 or -1.
 */
int dkim_digest_fields(const struct raw_field *const *fields, size_t n, enum dkim_canon c,
                       const char *sig_field, size_t sig_len, size_t b_start, size_t b_end,
                       uint8_t digest[32]);

/*
 * A public key fetched from DNS, shared by DKIM and ARC verification.
 * dkim_key_state_answer() reads the TXT answer for s._domainkey.d: the
 * first record that parses is used; DNS errors and unusable records give
 * result and reason (result DKIM_NONE: a key is there, maybe revoked).
 */
struct dkim_key_state {
	enum dkim_result result; /* DKIM_NONE when a key record was read */
	enum dkim_reason reason;
	const char *why;
	struct dkim_key key;
	struct evp_pkey_st *pk; /* NULL when revoked */
	unsigned bits;
};

void dkim_key_state_answer(struct dkim_key_state *k, struct arena *a, const struct dns_answer *ans);

/*
 * dkim_key_state_check - whether the key may verify a signature made with
 * alg: not revoked, k= matching a=, a= allowed by h=, s= covering email,
 * RSA of at least DKIM_MIN_RSA_BITS.  DKIM_R_OK, or the reason with *why
 * (an arena string when it names the size).
 */
enum dkim_reason dkim_key_state_check(const struct dkim_key_state *k, enum dkim_alg alg,
                                      struct arena *a, const char **why);

/* dkim_crypto_verify - 1 when sig is a valid signature of the header
 * digest by pkey for alg, 0 when not, -1 on a library failure */
int dkim_crypto_verify(struct evp_pkey_st *pkey, enum dkim_alg alg, const uint8_t digest[32],
                       const uint8_t *sig, size_t sig_len);

#endif
