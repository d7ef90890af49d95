/*
 * dane - DANE for SMTP (RFC 7672, on RFC 6698 and RFC 7671): TLSA
 * records, the DNSSEC rules that decide whether DANE applies to an MX
 * host, and the SSL set-up and outcome around OpenSSL's own DANE matching
 *
 * SUMMARY
 *	Delivery (transport/outbound.c), per MX host, after its A/AAAA lookup:
 *
 *	struct dane_input in = {
 *		.host = "mx.example.com", .port = 25, .via_mx = true,
 *		.mx_sec = <sec of the MX answer>, .addr_sec = <A/AAAA answers>,
 *		.addr_canon = <canonname of the address answer>,
 *	};
 *	dane_lookup(dns, base, arena, &in, timeout_ms, done, arg);
 *	...
 *	static void done(const struct dane_policy *p, void *arg)
 *	switch (p->status) {
 *	case DANE_NONE:      no DANE: MTA-STS or the connector's TLS setting decide
 *	case DANE_UNUSABLE:  do not connect to this host: try the next one,
 *	                     defer when none is left (p->failure for TLS-RPT)
 *	case DANE_ENCRYPT:   STARTTLS required (defer without), no authentication
 *	case DANE_REQUIRED:  STARTTLS required; before the handshake
 *	                     dane_ssl_prepare(ssl, p, ...); after it
 *	                     dane_ssl_outcome(ssl, p, &o): deliver only when
 *	                     o.authenticated, else defer with o.failure
 *	}
 *
 *	The policy and everything in it live in the arena given to dane_lookup.
 *
 * WHAT THE CALLER PASSES (dane_input), exactly:
 *	host      the MX host name as the MX record gave it (via_mx true), or
 *	          for a domain without MX records the domain itself (the
 *	          implicit MX, via_mx false).  Never an address literal.
 *	port      the TCP port (25; tests use others); 0 means 25.
 *	via_mx    host came from an MX RRset.
 *	mx_sec    the DNSSEC status of that MX answer (with every CNAME that led
 *	          to it: core/dns gives one sec for the chain).  Ignored when
 *	          via_mx is false.  RFC 7672 2.2.1: an insecure MX RRset means
 *	          DANE does not apply to any of its hosts (DANE_NONE); a bogus
 *	          one gives DANE_UNUSABLE (the caller should not have got this
 *	          far: a bogus MX answer is a lookup failure and defers).
 *	addr_sec  the DNSSEC status of the host's address records: SECURE only
 *	          when the A and AAAA answers (found or NODATA) were both
 *	          secure; BOGUS when either was bogus; else INSECURE.  RFC 7672
 *	          2.2.2: insecure address records mean no DANE for this host;
 *	          bogus ones make the host unusable.
 *	addr_canon the canonname of the address answer (core/dns gives it; equal
 *	          to host, or NULL, when there was no CNAME).  With secure
 *	          address records and a CNAME, the TLSA base domain is this
 *	          expanded name first, then host (RFC 7672 2.2.3).
 *	require   the sender's policy requires DANE for this destination: a
 *	          host without DANE is then DANE_UNUSABLE with dane-required.
 *
 * RULES (the TLSA lookup at _<port>._tcp.<base>, for each candidate base
 * domain in turn):
 *	secure answer with a usable record   -> DANE_REQUIRED
 *	secure answer, no usable record      -> DANE_ENCRYPT (tlsa-invalid for
 *	                                        TLS-RPT; RFC 7672 2.2, 3.1.3)
 *	insecure answer, NXDOMAIN or NODATA  -> the next candidate; none left:
 *	                                        DANE_NONE
 *	bogus answer                         -> DANE_UNUSABLE, dnssec-invalid
 *	SERVFAIL, timeout, other failure     -> DANE_UNUSABLE, dnssec-invalid
 *	                                        (RFC 7672 2.2: a failed TLSA
 *	                                        lookup makes the host unusable)
 *	Usable: usage DANE-TA(2) or DANE-EE(3), selector 0 or 1, matching type
 *	0 (non-empty), 1 (32 octets) or 2 (64 octets).  PKIX-TA(0) and
 *	PKIX-EE(1) are unusable for SMTP (RFC 7672 3.1.3), and so is anything
 *	unknown.  A TLSA RRset reached through a CNAME counts when the whole
 *	chain validated (core/dns's sec covers it).
 *
 * AUTHENTICATION (dane_ssl_prepare, dane_ssl_outcome):
 *	OpenSSL does the matching (SSL_dane_enable, SSL_dane_tlsa_add).  SNI
 *	is the TLSA base domain (RFC 7672 8.1).  DANE-EE(3): the key or
 *	certificate matches, no name check, dates ignored (RFC 7672 3.1.1).
 *	DANE-TA(2): the chain must lead to the matched trust anchor and the
 *	leaf must carry one of the reference identifiers of RFC 7672 3.2.2:
 *	the TLSA base domain and, when different, host (the MX name before
 *	CNAME expansion; for an implicit MX, the domain); wildcards only as a
 *	whole left-most label.
 *
 * FAILURE TYPES (enum dane_failure, the TLS-RPT result types of RFC 8460
 * 4.3 that concern DANE): tlsa-invalid (no usable record), dnssec-invalid
 * (bogus or failed TLSA/MX/address lookup), dane-required (policy asks for
 * DANE and the host has none), starttls-not-supported (for the caller to
 * use when a DANE host does not offer STARTTLS), certificate-host-mismatch
 * (DANE-TA matched, names did not), certificate-expired (DANE-TA chain
 * out of date), certificate-not-trusted (no record matched the chain),
 * validation-failure (anything else).
 */
#ifndef SMEXOP_TRANSPORT_DANE_H
#define SMEXOP_TRANSPORT_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "core/dns.h"
#include "core/err.h"

struct arena;
struct buf;
struct event_base;

/* ---- TLSA records (RFC 6698 2.1) ------------------------------------- */

enum dane_usage {
	DANE_USAGE_PKIX_TA = 0,
	DANE_USAGE_PKIX_EE = 1,
	DANE_USAGE_DANE_TA = 2,
	DANE_USAGE_DANE_EE = 3,
};
enum dane_selector { DANE_SELECTOR_CERT = 0, DANE_SELECTOR_SPKI = 1 };
enum dane_mtype { DANE_MTYPE_FULL = 0, DANE_MTYPE_SHA256 = 1, DANE_MTYPE_SHA512 = 2 };

/* the largest association data: an RDATA is at most 65535 octets */
#define DANE_TLSA_DATA_MAX 65532
/* TLSA records of one RRset that are kept; the rest are ignored */
#define DANE_TLSA_RRSET_MAX 64

struct dane_tlsa {
	uint8_t usage, selector, mtype;
	size_t len;
	const uint8_t *data; /* len octets (in an arena, or borrowed) */
};

/* dane_tlsa_parse_rdata - the wire RDATA; data points into rd (borrowed);
 * 0, or -1 with err (shorter than 4 octets, longer than 65535) */
int dane_tlsa_parse_rdata(const uint8_t *rd, size_t len, struct dane_tlsa *out, struct sx_err *err);
/* dane_tlsa_parse_text - presentation form "3 1 1 <hex>": three decimal
 * octets and the hex data (white space inside the hex allowed, at least
 * one octet); the data is copied into a.  0, or -1 with err */
int dane_tlsa_parse_text(struct arena *a, const char *s, size_t len, struct dane_tlsa *out,
                         struct sx_err *err);
/* dane_tlsa_format - "3 1 1 abcd..." (lower-case hex) appended to b; 0 or -1 (cap) */
int dane_tlsa_format(const struct dane_tlsa *t, struct buf *b);
/* dane_tlsa_usable - usable for SMTP (see RULES); *why says why not */
bool dane_tlsa_usable(const struct dane_tlsa *t, const char **why);
/* dane_usage_name - "DANE-EE", "DANE-TA", "PKIX-EE", "PKIX-TA" or "unknown" */
const char *dane_usage_name(uint8_t usage);

/* dane_tlsa_from_cert - the record for x at (usage, selector, mtype);
 * data in a.  0, or -1 (unknown selector/mtype, encoding failure) */
int dane_tlsa_from_cert(struct arena *a, X509 *x, uint8_t usage, uint8_t selector, uint8_t mtype,
                        struct dane_tlsa *out);

/* ---- the policy for one MX host --------------------------------------- */

enum dane_status {
	DANE_NONE,     /* DANE does not apply; other policies decide */
	DANE_UNUSABLE, /* do not deliver to this host (next host; defer if none) */
	DANE_ENCRYPT,  /* secure RRset without a usable record: TLS, no authentication */
	DANE_REQUIRED, /* authenticate the server with the usable records */
};

/* TLS-RPT result types (RFC 8460 4.3) */
enum dane_failure {
	DANE_FAIL_NONE,
	DANE_FAIL_TLSA_INVALID,
	DANE_FAIL_DNSSEC_INVALID,
	DANE_FAIL_DANE_REQUIRED,
	DANE_FAIL_STARTTLS_NOT_SUPPORTED,
	DANE_FAIL_CERT_HOST_MISMATCH,
	DANE_FAIL_CERT_EXPIRED,
	DANE_FAIL_CERT_NOT_TRUSTED,
	DANE_FAIL_VALIDATION_FAILURE,
};

struct dane_input {
	const char *host; /* see the header comment for each field */
	unsigned port;    /* 0: 25 */
	bool via_mx;
	enum dns_sec mx_sec;
	enum dns_sec addr_sec;
	const char *addr_canon; /* NULL or == host: no CNAME */
	bool require;
};

#define DANE_REFIDS_MAX 2

struct dane_policy {
	enum dane_status status;
	enum dane_failure failure;           /* UNUSABLE: why; ENCRYPT: TLSA_INVALID; else NONE */
	const char *host;                    /* as given */
	const char *base_domain;             /* the TLSA base domain (ENCRYPT, REQUIRED), or NULL */
	const char *tlsa_name;               /* "_25._tcp.<base>" of the deciding answer, or NULL */
	const char *refids[DANE_REFIDS_MAX]; /* DANE-TA reference identifiers */
	size_t nrefids;
	struct dane_tlsa *records; /* every record of the RRset (up to the max) */
	size_t nrecords;
	size_t nusable;
	const char *why; /* one line for logs and DSNs, e.g.
	                  * "TLSA lookup for _25._tcp.mx.example.com: DNSSEC bogus" */
};

/*
 * dane_policy_make - the policy for a secure TLSA RRset already in hand
 * (the records are copied into a): DANE_REQUIRED when one is usable, else
 * DANE_ENCRYPT.  base is the TLSA base domain, host as in dane_input (NULL:
 * base).  NULL when out of memory.  dane_lookup builds its REQUIRED and
 * ENCRYPT policies with it; tests and tools (smexop tlsa --verify) too.
 */
struct dane_policy *dane_policy_make(struct arena *a, const char *base, const char *host,
                                     unsigned port, const struct dane_tlsa *recs, size_t n);

/* ---- the rule engine, without DNS (step engine) ----------------------- */

/*
 * dane_eval: dane_eval_new, then repeatedly: dane_eval_query() names the
 * TLSA query to make (or NULL when done), feed its answer with
 * dane_eval_answer(); dane_eval_policy() is the result once done.
 * dane_lookup drives it on core/dns; tests feed answers by hand.
 */
struct dane_eval;
struct dane_eval *dane_eval_new(struct arena *a, const struct dane_input *in);
/* dane_eval_query - the TLSA owner name to look up now, or NULL when done */
const char *dane_eval_query(const struct dane_eval *e);
void dane_eval_answer(struct dane_eval *e, const struct dns_answer *ans);
/* dane_eval_abort - give up (deadline): DANE_UNUSABLE, dnssec-invalid */
void dane_eval_abort(struct dane_eval *e, const char *why);
/* dane_eval_policy - the result (valid once dane_eval_query is NULL) */
const struct dane_policy *dane_eval_policy(const struct dane_eval *e);

/* ---- asynchronous lookup ---------------------------------------------- */

typedef void (*dane_lookup_cb)(const struct dane_policy *p, void *arg);
struct dane_lookup;

/*
 * dane_lookup - evaluate in on dns (running on base) within timeout_ms
 * (0: DNS_DEFAULT_TIMEOUT_MS * 2).  cb runs exactly once, from the loop
 * (never inside dane_lookup), unless cancelled; the policy lives in a.
 * NULL on resource failure (nothing will be called).
 */
struct dane_lookup *dane_lookup(struct dns *dns, struct event_base *base, struct arena *a,
                                const struct dane_input *in, unsigned timeout_ms, dane_lookup_cb cb,
                                void *arg);
/* dane_lookup_cancel - cb will not run; NULL is ignored */
void dane_lookup_cancel(struct dane_lookup *l);

/* ---- the TLS handshake -------------------------------------------------- */

/*
 * dane_ssl_prepare - set up ssl (not yet connected) for a DANE handshake
 * under p (DANE_REQUIRED): enables DANE on its SSL_CTX if needed, SNI and
 * base domain, the reference identifiers, no name checks for DANE-EE,
 * no partial wildcards, and the usable records.  Returns how many
 * records OpenSSL accepted (> 0), or -1 with err (p not REQUIRED, OpenSSL
 * failure, or no record accepted).  The caller keeps SSL_VERIFY_NONE (so
 * that it can say QUIT) and decides with dane_ssl_outcome() after the
 * handshake, before any mail is sent.
 */
int dane_ssl_prepare(SSL *ssl, const struct dane_policy *p, char *err, size_t errsize);

struct dane_outcome {
	bool authenticated;        /* a usable record matched and the chain verified */
	enum dane_failure failure; /* when not authenticated */
	long verify_error;         /* SSL_get_verify_result() */
	int depth;                 /* depth of the matched certificate (0: leaf), -1 */
	struct dane_tlsa matched;  /* the matched record (data borrowed from ssl) */
	char why[256];             /* "DANE-TA(2) match at depth 1, but ..." */
};

/* dane_ssl_outcome - read the result after the handshake of an SSL
 * prepared with dane_ssl_prepare; 0, or -1 when ssl has no DANE state */
int dane_ssl_outcome(SSL *ssl, struct dane_outcome *o);

/* dane_failure_name - "tlsa-invalid", ... ; "" for DANE_FAIL_NONE */
const char *dane_failure_name(enum dane_failure f);
/* dane_status_name - "none", "unusable", "encrypt", "required" */
const char *dane_status_name(enum dane_status s);

#endif
