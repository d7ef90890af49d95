/*
 * spf - the SPF evaluator: check_host() of RFC 7208
 *
 * Two layers:
 *
 *   - a resumable step engine that never touches the network or the event
 *     loop.  spf_eval_step() runs check_host() from the start against a
 *     per-evaluation answer cache and stops at the first answer it lacks;
 *     it then returns SPF_STEP_NEED_DNS and spf_eval_queries() lists the
 *     (name, type) queries to send.  Where one term needs several
 *     independent answers (the address lookups of the names an MX or PTR
 *     answer returned) they are all asked for in the same step, so they
 *     run concurrently.  The caller feeds answers with spf_eval_answer()
 *     and steps again.  Replaying is deterministic, so the RFC limits
 *     (10 DNS-querying terms, 2 void lookups) are counted exactly, and
 *     cheap: each TXT answer is parsed once and the parsed record is kept
 *     next to it.  When a record is parsed, the records of its include:
 *     and redirect= targets without macros are asked for speculatively
 *     (never waited for, not counted against the limits).
 *
 *   - spf_check_start(), a thin asynchronous driver on core/dns.h that
 *     sends every query of a step at once, steps again when the needed
 *     answers are in, and enforces an overall deadline (temperror).
 *
 * Work is always bounded: besides the RFC limits there is a hard cap on
 * the queries of one evaluation and on include/redirect depth.
 *
 * Everything is allocated from the caller's arena; the outcome stays
 * valid until the arena is freed.
 */
#ifndef SMEXOP_AUTH_SPF_H
#define SMEXOP_AUTH_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dns.h"
#include "core/net.h"

struct arena;
struct event_base;

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

enum spf_identity {
	SPF_ID_MAILFROM, /* MAIL FROM, or postmaster@HELO for the null path */
	SPF_ID_HELO,     /* the HELO/EHLO name itself (RFC 7208 2.3) */
};

struct spf_request {
	struct net_addr ip;
	const char *mail_from;      /* address without <>; "" or NULL: null path */
	const char *helo;           /* HELO/EHLO argument as given */
	const char *receiver;       /* %{r} and Received-SPF; NULL: "unknown" */
	enum spf_identity identity; /* which identity to check */
	int64_t now;                /* %{t}; 0: the current time */
};

struct spf_limits {
	unsigned dns_terms;    /* include a mx ptr exists redirect: RFC 10 */
	unsigned void_lookups; /* NXDOMAIN/NODATA answers to term lookups: RFC 2 */
	unsigned mx_names;     /* more MX names than this: permerror (RFC 10) */
	unsigned ptr_names;    /* only this many PTR names are used (RFC 10) */
	unsigned queries;      /* hard cap on the DNS queries of one evaluation */
	unsigned depth;        /* include/redirect nesting */
	unsigned timeout_ms;   /* overall deadline of spf_check_start() */
	unsigned prefetch;     /* speculative record lookups; 0 disables */
};

#define SPF_DEFAULT_DNS_TERMS  10
#define SPF_DEFAULT_VOID       2
#define SPF_DEFAULT_MX_NAMES   10
#define SPF_DEFAULT_PTR_NAMES  10
#define SPF_DEFAULT_QUERIES    50
#define SPF_DEFAULT_DEPTH      20
#define SPF_DEFAULT_TIMEOUT_MS 20000 /* RFC 7208 4.6.4: at least 20 seconds */
#define SPF_DEFAULT_PREFETCH   10

#define SPF_DEFAULT_EXPLANATION "SPF fail - not authorized"

/* spf_limits_default - the RFC 7208 defaults above */
void spf_limits_default(struct spf_limits *l);

struct spf_outcome {
	enum spf_result result;
	const char *identity;    /* "mailfrom" or "helo" */
	const char *domain;      /* the domain checked */
	const char *sender;      /* <sender> as used: local@domain */
	const char *helo;        /* as given, or "" */
	const char *receiver;    /* as given, or NULL */
	const char *client_ip;   /* text form */
	const char *mechanism;   /* the term that decided, or "default" */
	const char *explanation; /* on fail: the exp= text, or the default */
	bool explanation_default;
	const char *problem; /* why, for permerror, temperror and none; else NULL */
	unsigned dns_terms, void_lookups, queries;
};

/* One DNS query the engine wants.  The caller may use sent and user. */
struct spf_query {
	const char *name;
	enum dns_type type;
	bool needed;   /* the evaluation waits for it (false: prefetch) */
	bool answered; /* spf_eval_answer() has been called for it */
	bool sent;     /* for the caller: handed to the resolver */
	void *user;    /* for the caller */
};

enum spf_step {
	SPF_STEP_DONE,
	SPF_STEP_NEED_DNS,
};

struct spf_eval;

/* spf_eval_new - prepare an evaluation; NULL when memory runs out.
 * limits may be NULL (defaults). */
struct spf_eval *spf_eval_new(struct arena *a, const struct spf_request *req,
                              const struct spf_limits *limits);
/* spf_eval_step - run as far as the answers allow */
enum spf_step spf_eval_step(struct spf_eval *e);
/*
 * spf_eval_queries - the unanswered queries after the last step, needed
 * ones first; *list stays valid until the next step.
 */
size_t spf_eval_queries(struct spf_eval *e, struct spf_query *const **list);
/* spf_eval_waiting - some needed query is still unanswered */
bool spf_eval_waiting(const struct spf_eval *e);
/*
 * spf_eval_answer - feed the answer to (name, type); it is copied.
 * -1 when no such query was asked (ignored) or memory ran out (the
 * query then counts as failed: temperror).
 */
int spf_eval_answer(struct spf_eval *e, const char *name, enum dns_type type,
                    const struct dns_answer *ans);
/* spf_eval_abort - stop now (deadline): temperror, or the result already
 * known when only the explanation was still being fetched */
void spf_eval_abort(struct spf_eval *e, const char *why);
/* spf_eval_outcome - valid once a step returned DONE or after abort */
const struct spf_outcome *spf_eval_outcome(const struct spf_eval *e);

/*
 * spf_check_start - evaluate asynchronously; cb runs exactly once, from
 * the event loop (never before this returns), unless cancelled.  base is
 * used for the deadline; dns for every query.  NULL on resource failure.
 */
struct spf_check;
typedef void (*spf_check_cb)(const struct spf_outcome *outcome, void *arg);
struct spf_check *spf_check_start(struct dns *dns, struct event_base *base, struct arena *a,
                                  const struct spf_request *req, const struct spf_limits *limits,
                                  spf_check_cb cb, void *arg);
/* spf_check_cancel - cb will not run; outstanding queries are cancelled */
void spf_check_cancel(struct spf_check *c);

/* spf_result_name - "pass", "fail", ... */
const char *spf_result_name(enum spf_result r);
/* spf_result_parse - the result named s (any case); 0 or -1 */
int spf_result_parse(const char *s, enum spf_result *out);

/*
 * spf_received_spf - the Received-SPF header field of RFC 7208 9.1 on one
 * line, without CRLF: "Received-SPF: pass (comment) client-ip=...; ...".
 */
char *spf_received_spf(struct arena *a, const struct spf_outcome *o);
/* spf_authres - the method part for Authentication-Results (RFC 8601):
 * "spf=pass smtp.mailfrom=example.com" */
char *spf_authres(struct arena *a, const struct spf_outcome *o);

#endif
