/*
 * mtasts - SMTP MTA Strict Transport Security (RFC 8461): the TXT record,
 * the policy file, MX matching, and the asynchronous policy resolver
 * with its cache
 *
 * SUMMARY
 *	struct mtasts *m = mtasts_new(&opts, &err);     (opts.store NULL: memory only)
 *	mtasts_lookup(m, "example.com", done, arg);     done(&result, arg) later, once
 *	mtasts_refresh(m);                               from a timer: refetch what expires soon
 *	m = mtasts_free(m);
 *
 * DESCRIPTION
 *	Discovery (RFC 8461 3.1, 5.1): the TXT records at _mta-sts.<domain>
 *	are read; those not beginning with "v=STSv1" are ignored; not exactly
 *	one left, or that one invalid (v=STSv1 first, id = 1..32 letters and
 *	digits, extensions by the ABNF), means no policy.  When the cache
 *	holds an unexpired policy fetched under the same id, it is used;
 *	otherwise https://mta-sts.<domain>/.well-known/mta-sts.txt is fetched
 *	(core/https.h: WebPKI certificate for mta-sts.<domain>, status 200,
 *	Content-Type text/plain with any parameters, body <= 64 KiB, no
 *	redirects) and parsed.  A fetch or parse failure falls back to an
 *	unexpired cached policy (RFC 8461 5.1, 10.2: an attacker blocking the
 *	fetch must not remove the policy); without one it is a failure.  When
 *	the TXT record has gone, an unexpired cached policy is used until it
 *	expires.  DNS failures of the TXT lookup count as "no record".
 *
 *	The cache: the store (store_mtasts_*: domain, id, policy text, fetch
 *	time, expiry = fetch time + max_age), or an in-memory table of at most
 *	MTASTS_MEMORY_MAX domains when no store is given.  mtasts_refresh()
 *	refetches every cached policy that expires within refresh_margin, so
 *	a policy in use is renewed before it lapses (RFC 8461 5.1 and 10.2
 *	recommend it); a failed refresh keeps the cached policy.
 *
 * APPLYING A POLICY (transport/outbound.c; the delivery side)
 *	enforce: deliver only to MX hosts whose name matches one of the
 *	    policy's mx patterns (mtasts_mx_match) and which present, after
 *	    STARTTLS (TLS 1.2 or later), a certificate valid for the MX host
 *	    name under WebPKI (SNI = MX name, SSL_set1_host(MX name), the
 *	    system or configured trust store).  An MX that does not match is
 *	    skipped; one whose TLS fails is not used (never fall back to
 *	    plain text).  When no MX passes, defer every recipient with
 *	        451 4.4.8 MX hosts of '<domain>' failed MTA-STS validation.
 *	    (MTASTS_DEFER_CODE, MTASTS_DEFER_ENHANCED, mtasts_defer_text();
 *	    EOP's wording).  DANE, when usable, goes before MTA-STS (RFC 8461 2).
 *	testing: deliver as without a policy; record each failure that
 *	    enforce would have refused for TLS-RPT (result type
 *	    "validation-failure" / "certificate-*" per RFC 8460).
 *	none: the domain has withdrawn its policy: nothing to apply.
 *	A failed lookup (MTASTS_FAILED) delivers as without a policy and
 *	reports the failure type (mtasts_failure_name) to TLS-RPT.
 *
 * THREADS
 *	One struct mtasts per event loop (it shares the loop's dns).
 */
#ifndef SMEXOP_TRANSPORT_MTASTS_H
#define SMEXOP_TRANSPORT_MTASTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct arena;
struct dns;
struct event_base;
struct store;

#define MTASTS_ID_MAX                 32
#define MTASTS_MAX_AGE_MAX            31557600u /* RFC 8461 3.2: about one year */
#define MTASTS_POLICY_MAX             65536     /* RFC 8461 3.3: 64 KiB */
#define MTASTS_MX_MAX                 256       /* mx lines kept from one policy */
#define MTASTS_MEMORY_MAX             10000     /* domains in the memory-only cache */
#define MTASTS_PATH                   "/.well-known/mta-sts.txt"
#define MTASTS_DEFAULT_TIMEOUT_MS     30000
#define MTASTS_DEFAULT_REFRESH_MARGIN 86400 /* seconds before expiry */

#define MTASTS_DEFER_CODE     451
#define MTASTS_DEFER_ENHANCED "4.4.8"

/* ---- the TXT record --------------------------------------------------- */

struct mtasts_tag {
	const char *name, *value; /* into the record, not NUL-terminated */
	size_t name_len, value_len;
};

/* mtasts_txt_tags - split a record into tags (";"-separated, spaces
 * around each trimmed, empty ones skipped); the count (at most max), or
 * -1 when a tag has no "=" */
int mtasts_txt_tags(const char *rec, size_t len, struct mtasts_tag *tags, size_t max);
/* mtasts_txt_parse - one record, strictly (RFC 8461 3.1): 0 with its id,
 * -1 with the reason in why */
int mtasts_txt_parse(const char *rec, size_t len, char id[MTASTS_ID_MAX + 1], char *why,
                     size_t whysize);
/* mtasts_txt_is_sts - the record begins with "v=STSv1" (so it counts) */
bool mtasts_txt_is_sts(const char *rec, size_t len);
/* mtasts_txt_choose - among n records (TXT strings concatenated), the
 * one STS record: 0 with its id and index, -1 with why (none, several,
 * or invalid) */
int mtasts_txt_choose(const char *const *recs, const size_t *lens, size_t n,
                      char id[MTASTS_ID_MAX + 1], size_t *which, char *why, size_t whysize);

/* ---- the policy -------------------------------------------------------- */

enum mtasts_mode { MTASTS_MODE_NONE, MTASTS_MODE_TESTING, MTASTS_MODE_ENFORCE };

struct mtasts_policy {
	enum mtasts_mode mode;
	uint32_t max_age;
	size_t nmx;
	const char **mx; /* lower case, without a trailing dot; "*.x.y" wildcards */
};

/* mtasts_policy_parse - parse a policy file (LF or CRLF lines); the
 * policy lives in arena.  -1 with err ("line 3: max_age: ... ") */
int mtasts_policy_parse(struct arena *arena, const char *text, size_t len,
                        struct mtasts_policy *out, struct sx_err *err);
/* mtasts_mode_name - "none", "testing", "enforce" */
const char *mtasts_mode_name(enum mtasts_mode mode);
/* mtasts_content_type_ok - the media type is text/plain (any case,
 * parameters allowed) */
bool mtasts_content_type_ok(const char *content_type);

/* mtasts_pattern_match - host matches one mx pattern: equal, or "*.rest"
 * with exactly one label before rest; any case, trailing dots ignored */
bool mtasts_pattern_match(const char *pattern, const char *host);
/* mtasts_mx_match - host matches one of the policy's patterns */
bool mtasts_mx_match(const struct mtasts_policy *p, const char *host);

/* mtasts_policy_domain - the policy domain for a destination: a domain
 * lower-cased without its trailing dot.  Also takes Postfix-style next
 * hops ("[host]", "host:port", "[host]:port").  -1 for an address literal
 * or a name that is not a domain (".x", "a..b") */
int mtasts_policy_domain(const char *dest, char *out, size_t outsize);

/* mtasts_defer_text - "MX hosts of '<domain>' failed MTA-STS validation." */
const char *mtasts_defer_text(const char *domain, char *out, size_t outsize);

/* ---- the resolver ------------------------------------------------------ */

struct mtasts_options {
	struct event_base *base;
	struct dns *dns;
	struct store *store;       /* the cache; NULL: memory only */
	const char *ca_file;       /* trust store for policy hosts; NULL: system */
	unsigned port;             /* policy host port; 0: 443 (tests change it) */
	unsigned fetch_timeout_ms; /* the whole fetch; 0: MTASTS_DEFAULT_TIMEOUT_MS */
	uint32_t refresh_margin;   /* seconds; 0: MTASTS_DEFAULT_REFRESH_MARGIN */
	int64_t (*now)(void *arg); /* seconds since the epoch; NULL: time() */
	void *now_arg;
};

enum mtasts_status {
	MTASTS_NONE,   /* no policy applies */
	MTASTS_POLICY, /* a policy applies (policy, source) */
	MTASTS_FAILED, /* a TXT record says there is a policy, but none could be had */
};

enum mtasts_source { MTASTS_SOURCE_FETCHED, MTASTS_SOURCE_CACHE };

/* the TLS-RPT result types of RFC 8460 4.3.2 for policy failures */
enum mtasts_failure {
	MTASTS_FAIL_NONE,
	MTASTS_FAIL_FETCH,   /* sts-policy-fetch-error */
	MTASTS_FAIL_INVALID, /* sts-policy-invalid */
	MTASTS_FAIL_WEBPKI,  /* sts-webpki-invalid */
};

struct mtasts_result {
	enum mtasts_status status;
	const char *domain;                 /* the policy domain */
	const char *txt;                    /* the STS TXT record, or NULL */
	char txt_id[MTASTS_ID_MAX + 1];     /* its id, or "" */
	const struct mtasts_policy *policy; /* MTASTS_POLICY */
	const char *policy_text;            /* the policy as fetched */
	char policy_id[MTASTS_ID_MAX + 1];  /* the id the policy was fetched under */
	enum mtasts_source source;
	int64_t fetched, expires;
	/* a failure: with MTASTS_FAILED, and with a cached policy used
	 * because the fetch failed */
	enum mtasts_failure failure;
	char reason[640];     /* human text: why no policy, what failed, or what was done */
	unsigned http_status; /* of the fetch, 0 when none */
};

typedef void (*mtasts_cb)(const struct mtasts_result *r, void *arg);

struct mtasts;
struct mtasts_job;

struct mtasts *mtasts_new(const struct mtasts_options *o, struct sx_err *err);
/* mtasts_free - cancel every lookup (no callback) and free; returns NULL */
struct mtasts *mtasts_free(struct mtasts *m);
/* mtasts_lookup - resolve domain's policy; cb runs once, from the loop,
 * never before this returns.  NULL on resource failure (no callback). */
struct mtasts_job *mtasts_lookup(struct mtasts *m, const char *domain, mtasts_cb cb, void *arg);
/* mtasts_cancel - the callback will not run */
void mtasts_cancel(struct mtasts_job *j);
/* mtasts_refresh - start a forced refetch of every cached policy that
 * expires within the refresh margin (and has not expired); the number
 * started.  They run in the background (no callback). */
int mtasts_refresh(struct mtasts *m);
/* mtasts_busy - lookups still running (tests and the CLI wait on it) */
size_t mtasts_busy(const struct mtasts *m);

/* mtasts_failure_name - "sts-policy-fetch-error", ...; NULL for NONE */
const char *mtasts_failure_name(enum mtasts_failure f);
const char *mtasts_status_name(enum mtasts_status s);

#endif
