/*
 * arc - Authenticated Received Chain (RFC 8617): validation and sealing
 *
 * An ARC set is three header fields sharing an instance number i=1..50:
 * ARC-Authentication-Results (AAR: what that hop's checks found),
 * ARC-Message-Signature (AMS: a DKIM signature with i= in place of the
 * identity) and ARC-Seal (AS: a signature over the ARC sets so far).
 * The AMS is a DKIM signature in all but name, so this module parses it
 * with dkim_sig (DKIM_SIG_ARC), hashes with dkim_canon / dkim_header_digest,
 * reads keys with dkim_key_state and checks signatures with the DKIM
 * crypto; it adds the chain logic and the seal.
 *
 * Validation (RFC 8617 section 5.2), same two layers as DKIM:
 *
 *   - a step engine: arc_verify_new() collects the sets by instance,
 *     checks structure (every instance 1..N complete, exactly one field of
 *     each kind per instance, N <= 50), the cv= values (i=1 none, later
 *     ones pass; the newest AS saying fail ends the chain as fail) and
 *     the tags, and lists every key query at once (the AMS and AS of every
 *     instance, deduplicated).  Answers go to arc_verify_answer();
 *     arc_verify_step() returns ARC_STEP_DONE when the verdict is ready.
 *     Then: the newest AMS must validate, then every AS from newest to
 *     oldest (relaxed header canonicalisation over the ARC sets 1..i in
 *     instance order, AAR, AMS, AS, with b= of the AS being validated
 *     emptied).  Older AMS are validated only to find "oldest-pass".
 *
 *   - arc_verify_start(), an asynchronous driver on core/dns.h (in
 *     arc_async.c).
 *
 * Results are none, pass or fail (RFC 8617 has no temperror); a fail
 * caused by a temporary DNS failure says so in `temporary`.  rsa-sha1 and
 * RSA keys under 1024 bits fail.  At most 2 * 50 key queries per message.
 *
 * Sealing (RFC 8617 section 5.1): arc_seal() makes the AAR, AMS and AS of
 * instance N+1 with a DKIM signing key.  The fields follow the canonical
 * form of the ARC test suite: tags in alphabetical order, names and values
 * in lower case (b= and bh= aside), "; " between tags, no trailing ";"
 * (AS: a b cv d i s t; AMS: a b bh c d h i s t; relaxed/relaxed).  Long
 * fields are folded only at the "; " separators, which relaxed
 * canonicalisation undoes, so folding never changes a signature.  With
 * cv=fail the AS covers only its own set (RFC 8617 5.1.2); a chain whose
 * newest AS already says cv=fail gets no new set.
 */
#ifndef SMEXOP_AUTH_ARC_H
#define SMEXOP_AUTH_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/dkim.h"
#include "core/dns.h"
#include "core/err.h"

struct arena;
struct authres;
struct buf;
struct dkim_signer;
struct event_base;
struct raw_field;
struct raw_message;

#define ARC_MAX_INSTANCE       DKIM_SIG_ARC_MAX_INSTANCE /* 50 (RFC 8617 4.2.1) */
#define ARC_MAX_FIELDS         (3 * ARC_MAX_INSTANCE)    /* ARC header fields in one message */
#define ARC_DEFAULT_TIMEOUT_MS DKIM_DEFAULT_TIMEOUT_MS

enum arc_result {
	ARC_NONE,
	ARC_PASS,
	ARC_FAIL,
};

/* arc_result_name - "none", "pass", "fail" (RFC 8601 / RFC 8617 names) */
const char *arc_result_name(enum arc_result r);
/* arc_result_parse - the cv= / arc= value; -1 when it is none of them
 * (exact lower case, as ARC tag values are case-sensitive) */
int arc_result_parse(const char *s, size_t len, enum arc_result *out);

/* ---- the sets of a message -------------------------------------------- */

struct arc_fields {
	const struct raw_field *aar, *ams, *as; /* NULL when missing */
};

/*
 * arc_collect - place the ARC header fields of msg by instance:
 * sets[i] for i = 1..*highest (sets[0] unused; the array has
 * ARC_MAX_INSTANCE + 1 entries).  0 (*highest 0: no ARC field), or -1
 * with *why (the first problem) when a field has no valid i= (1..50), an
 * instance has two fields of one kind (the first one is kept), or there
 * are more than ARC_MAX_FIELDS (the scan stops there); *highest is the
 * highest valid instance seen either way.  Incomplete sets are left for
 * the caller to judge.
 */
int arc_collect(const struct raw_message *msg, struct arc_fields sets[ARC_MAX_INSTANCE + 1],
                unsigned *highest, const char **why);

/* ---- validation ------------------------------------------------------- */

enum arc_check {
	ARC_CHECK_NOT_DONE, /* not needed for the verdict, or the chain failed first */
	ARC_CHECK_PASS,
	ARC_CHECK_FAIL,
};

struct arc_set_result {
	unsigned instance;
	enum arc_result cv;        /* the AS's cv= (ARC_NONE when it did not parse) */
	const char *ams_d, *ams_s; /* "" when unknown */
	const char *as_d, *as_s;
	enum arc_check ams, as;       /* what validation found */
	const char *ams_why, *as_why; /* why a check failed, else NULL */
	const char *aar;              /* the AAR value after "i=N;" (trimmed view), or NULL */
	size_t aar_len;
};

struct arc_verdict {
	enum arc_result result;
	const char *reason;       /* why, for the log and the AR comment */
	unsigned instances;       /* N: the highest instance (0 without ARC fields) */
	unsigned oldest_pass;     /* the lowest instance whose AMS validates, all AMS from it to N
	                           * validating; 0 when the chain did not pass */
	unsigned failed_instance; /* the instance that made the chain fail, 0 if none or unknown */
	bool temporary;           /* the fail comes from a DNS timeout or SERVFAIL */
	const struct arc_set_result *sets; /* sets[k] is instance k + 1 */
	size_t nsets;
};

struct arc_verify_options {
	unsigned timeout_ms; /* overall deadline of arc_verify_start(); 0: the default */
};

enum arc_step {
	ARC_STEP_DONE,
	ARC_STEP_NEED_DNS,
};

struct arc_verify;

/* arc_verify_new - collect and check the sets of msg, list the key
 * queries; NULL when memory runs out.  opts may be NULL. */
struct arc_verify *arc_verify_new(struct arena *a, const struct raw_message *msg,
                                  const struct arc_verify_options *opts);
/* arc_verify_queries - the key queries (TXT at s._domainkey.d) */
size_t arc_verify_queries(struct arc_verify *v, struct dkim_query *const **list);
/* arc_verify_answer - feed the answer for name; -1 when not asked */
int arc_verify_answer(struct arc_verify *v, const char *name, const struct dns_answer *ans);
/* arc_verify_hash_body - hash the body now (step does it too) */
void arc_verify_hash_body(struct arc_verify *v);
/* arc_verify_step - DONE once every answer is in and the verdict is set */
enum arc_step arc_verify_step(struct arc_verify *v);
/* arc_verify_abort - finish now: unanswered keys are temporary failures */
void arc_verify_abort(struct arc_verify *v, const char *why);
/* arc_verify_verdict - valid after DONE or abort, else NULL */
const struct arc_verdict *arc_verify_verdict(const struct arc_verify *v);

struct arc_verify_job;
typedef void (*arc_verify_cb)(struct arc_verify *v, void *arg);
/*
 * arc_verify_start - validate asynchronously: all key queries at once; cb
 * runs exactly once from the event loop (never before this returns),
 * unless cancelled.  NULL on resource failure.  Freeing the arena cancels
 * the outstanding queries.
 */
struct arc_verify_job *arc_verify_start(struct dns *dns, struct event_base *base, struct arena *a,
                                        const struct raw_message *msg,
                                        const struct arc_verify_options *opts, arc_verify_cb cb,
                                        void *arg);
void arc_verify_cancel(struct arc_verify_job *job);

/* ---- sealing ---------------------------------------------------------- */

struct arc_seal_options {
	const char *authserv_id; /* ours: first in the AAR */
	enum arc_result cv;      /* the chain validation status we computed */
	/* the results the AAR carries (the authserv-id of this struct is not
	 * used); each is copied from its raw text when it has one, else
	 * formatted.  NULL or no results: "none". */
	const struct authres *results;
	const char *const *headers; /* AMS h=, NULL-terminated; NULL: the DKIM default list,
	                             * each name present signed once per instance */
	int64_t timestamp;          /* t=; negative: no t= */
};

struct arc_sealed {
	unsigned instance;
	/* whole fields, "Name: value" folded, each ending with the message's
	 * line break; put them on top of the message in this order: as, ams, aar */
	char *as, *ams, *aar;
	/* the values alone, unfolded (canonical form, for comparison) */
	char *as_value, *ams_value, *aar_value;
};

/*
 * arc_collect_results - the results of every Authentication-Results field
 * of msg whose authserv-id is authserv_id (case-insensitive), in header
 * order, as one struct authres (raw spans kept); fields that do not parse
 * are skipped.  0, or -1 when memory runs out or there are too many.
 */
int arc_collect_results(struct arena *a, const struct raw_message *msg, const char *authserv_id,
                        struct authres *out);

/*
 * arc_seal - the ARC set for the next instance.  0 with *out filled; 1
 * when no set may be added (the newest AS says cv=fail, or the chain
 * already has 50 sets; err says which); -1 with err on bad input (cv=none
 * on a message with a chain, cv=pass on one without, a broken chain while
 * cv is not fail, a header list without From or with ARC-Seal) or failure.
 */
int arc_seal(struct arena *a, const struct raw_message *msg, const struct dkim_signer *signer,
             const struct arc_seal_options *opts, struct arc_sealed *out, struct sx_err *err);

#endif
