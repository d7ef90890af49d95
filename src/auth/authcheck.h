/*
 * authcheck - the combined authentication check of one message: SPF,
 * DKIM, ARC, DMARC, the client's PTR name and composite authentication,
 * written up as one Authentication-Results header field (RFC 8601)
 *
 * An engine with plain inputs like the ones it drives: the client IP, the
 * HELO name, the MAIL FROM address, a read-only view of the raw message
 * and the admin's options.  The pipeline's authentication stage and
 * `smexop auth` both call it.
 *
 * authcheck_start() runs on core/dns.h: SPF for the MAIL FROM and for
 * the HELO identity, DKIM, ARC and the PTR lookup start at once and run
 * concurrently; DMARC starts as soon as the MAIL FROM SPF result and the
 * DKIM results are in (it needs both); compauth (auth/compauth.h) then
 * combines everything.  The PTR name is forward-confirmed: the names of
 * the PTR answer (at most AUTHCHECK_PTR_NAMES) are looked up for A or
 * AAAA, and the first one whose addresses include the client IP is it.
 *
 * Deadlines: each engine keeps its own (opts->timeout_ms when set), so
 * the whole check takes at most two of them (DMARC waits for SPF and
 * DKIM).  Timeouts turn into temperror results, never into a hang.
 *
 * Output: authcheck_authres() fills a struct authres with, in order:
 *   spf (smtp.mailfrom), spf (smtp.helo), one dkim per signature (header.d,
 *   header.s, header.i, header.b: the first 8 characters of b=; at most
 *   AUTHCHECK_AR_MAX_DKIM, the ones past DKIM's limit are not verified), dmarc
 *   (header.from, policy.dmarc: the disposition, policy.action: EOP's
 *   action= value; "bestguesspass" as EOP writes it), arc (smtp.remote-ip,
 *   header.oldest-pass), iprev (policy.iprev) and compauth (reason=).
 * EOP writes its action as a bare "action=" which RFC 8601 does not allow
 * and our own parser (and the ARC sealer reading our results back) would
 * refuse, hence policy.action.  authcheck_header() formats the whole
 * field through authres_format(), folded.
 *
 * authcheck_strip_ours() finds the Authentication-Results fields that
 * already carry our authserv-id (RFC 8601 section 5: forged, or left by
 * an earlier pass) so the caller can drop them while writing the message
 * out; fields of other authserv-ids stay.
 *
 * Everything is allocated from the caller's arena; freeing it cancels a
 * check in flight.
 */
#ifndef SMEXOP_AUTH_AUTHCHECK_H
#define SMEXOP_AUTH_AUTHCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/arc.h"
#include "auth/compauth.h"
#include "auth/dkim.h"
#include "auth/dmarc.h"
#include "auth/spf.h"
#include "core/dns.h"
#include "core/net.h"
#include "mime/address.h"

struct arena;
struct authres;
struct event_base;
struct orgdomain;
struct raw_message;

#define AUTHCHECK_PTR_NAMES   10                  /* PTR names tried for forward confirmation */
#define AUTHCHECK_AR_MAX_DKIM DKIM_MAX_SIGNATURES /* dkim results written (the first ones) */

struct authcheck_options {
	const char *authserv_id; /* ours: the first token of the header field */
	/* the admin's lists, handed to compauth */
	const char *const *accepted_domains;
	size_t naccepted;
	const char *const *trusted_arc_sealers;
	size_t ntrusted;
	const struct compauth_pair *spoof_allow, *spoof_block;
	size_t nallow, nblock;
	enum compauth_bypass bypass;
	bool dmarc_no_reject; /* p=reject fails are not rejected here (action=oreject) */
	/* the engines */
	int64_t now;                         /* seconds since the epoch (DKIM t=/x=, SPF %{t}) */
	int dmarc_sample;                    /* 0..99 for reproducible pct=; -1: random */
	const struct orgdomain *psl;         /* NULL: orgdomain_default() */
	const struct spf_limits *spf_limits; /* NULL: the RFC 7208 defaults */
	unsigned dkim_max_signatures;        /* 0: DKIM_MAX_SIGNATURES */
	unsigned timeout_ms;                 /* each engine's deadline; 0: their defaults */
};

/* authcheck_options_init - no lists, random pct sampling, at time now */
void authcheck_options_init(struct authcheck_options *o, int64_t now);

struct authcheck_input {
	struct net_addr ip;
	const char *helo;      /* as given; NULL or "": not checked */
	const char *mail_from; /* without <>; "" or NULL: the null reverse path */
	const struct raw_message *msg;
	const struct authcheck_options *opts;
};

enum authcheck_ptr_status {
	AUTHCHECK_PTR_PASS,      /* a PTR name resolves back to the IP */
	AUTHCHECK_PTR_FAIL,      /* no PTR, or no name resolves back */
	AUTHCHECK_PTR_TEMPERROR, /* a lookup failed and nothing confirmed */
};

struct authcheck_ptr {
	enum authcheck_ptr_status status;
	const char *name; /* the confirmed name (PASS), else NULL */
	const char *why;  /* for FAIL and TEMPERROR */
};

struct authcheck_result {
	const char *client_ip;              /* text form */
	const struct spf_outcome *spf;      /* MAIL FROM identity */
	const struct spf_outcome *spf_helo; /* NULL when HELO was not checked */
	const struct dkim_sig_result *dkim; /* one per DKIM-Signature, header order */
	size_t ndkim;
	const struct arc_verdict *arc;
	struct address_from from;          /* the From domains DMARC used */
	const struct dmarc_outcome *dmarc; /* NULL when From is unusable */
	struct authcheck_ptr ptr;
	struct compauth_outcome compauth;
};

struct authcheck;
typedef void (*authcheck_cb)(const struct authcheck_result *r, void *arg);

/*
 * authcheck_start - check asynchronously; cb runs exactly once from the
 * event loop (never before this returns) unless cancelled.  in (and what
 * it points to) must stay valid until then.  NULL on resource failure.
 */
struct authcheck *authcheck_start(struct dns *dns, struct event_base *base, struct arena *arena,
                                  const struct authcheck_input *in, authcheck_cb cb, void *arg);
/* authcheck_cancel - cb will not run; every lookup in flight is cancelled */
void authcheck_cancel(struct authcheck *c);

/*
 * authcheck_compauth_input - the compauth inputs for r (without the admin
 * lists of opts unless opts is given); sealers are allocated from a.
 * 0, or -1 when memory runs out.
 */
int authcheck_compauth_input(struct arena *a, const struct authcheck_result *r,
                             const struct authcheck_options *opts, const struct net_addr *ip,
                             struct compauth_input *in);

/* authcheck_authres - the results of r as one struct authres (see above);
 * 0, or -1 when memory runs out */
int authcheck_authres(struct arena *a, const struct authcheck_result *r, const char *authserv_id,
                      struct authres *out);

/*
 * authcheck_header - the whole field "Authentication-Results: ...",
 * folded, ending with the line break (LF when lf, else CRLF); NULL when
 * memory runs out
 */
char *authcheck_header(struct arena *a, const struct authcheck_result *r, const char *authserv_id,
                       bool lf);

/* A byte range of the message: [offset, offset + len). */
struct authcheck_range {
	size_t offset, len;
};

/*
 * authcheck_strip_ours - the Authentication-Results fields of msg whose
 * authserv-id equals authserv_id (ASCII case-insensitive), as byte ranges
 * (whole fields with their line breaks; adjacent ones merged) in message
 * order.  A field is read with the authres parser; one it refuses is
 * judged by its first token, so a malformed field claiming our id goes
 * too.  0 with *ranges (NULL when none) and *n, or -1 when memory runs out.
 */
int authcheck_strip_ours(struct arena *a, const struct raw_message *msg, const char *authserv_id,
                         struct authcheck_range **ranges, size_t *n);

/* authcheck_ptr_status_name - "pass", "fail", "temperror" */
const char *authcheck_ptr_status_name(enum authcheck_ptr_status s);

#endif
