/*
 * dmarc - the DMARC evaluator (RFC 7489; DMARCbis where it clarifies)
 *
 * Plain inputs in, one outcome out: the author (RFC 5322.From) domains,
 * which the caller extracts with mime/address.h; the SPF result and the
 * domain it was for; the DKIM results with their d= domains.  No message
 * parsing happens here.
 *
 * Same two layers as SPF and DKIM (auth/spf.h, auth/dkim.h):
 *
 *   - a step engine without network or event loop.  dmarc_eval_step()
 *     replays the evaluation against the answers it has and returns
 *     DMARC_STEP_NEED_DNS with the queries it lacks (dmarc_eval_queries);
 *     the caller feeds them with dmarc_eval_answer() and steps again.
 *     For a From domain that is not its organisational domain, the
 *     organisational record is asked for at once, next to the From
 *     domain's own (not waited for unless needed), so discovery takes one
 *     round trip.
 *
 *   - dmarc_check_start(), an asynchronous driver on core/dns.h with an
 *     overall deadline.
 *
 * Policy discovery (RFC 7489 6.6.3): TXT at _dmarc.<From domain>; only
 * records starting with v=DMARC1 count.  None there: _dmarc.<org domain>
 * (core/orgdomain.h, the Public Suffix List; the DMARCbis DNS tree walk is
 * not done).  Two or more DMARC records at one name: permerror, no
 * policy, and discovery stops.  A record that is unusable (see
 * dmarc_record.h) means no DMARC processing: result none, no fallback.
 * SERVFAIL or timeout: temperror, no policy.  A record found at the org
 * domain for a From domain below it applies sp= (default p=); when it
 * has an explicit np= (DMARCbis) and the message fails, the From domain
 * is checked for existence: A, AAAA and MX all NXDOMAIN or NODATA (RFC
 * 9091 2.1) means np= applies; a lookup failure there keeps sp=.
 *
 * Alignment (RFC 7489 3.1): strict is equality of the normalised names,
 * relaxed equality of their organisational domains.  SPF counts when its
 * result is pass and its domain (MAIL FROM domain, or the HELO name for
 * the null reverse path: dmarc_spf_domain()) aligns under aspf=; DKIM
 * when some signature passed with a d= that aligns under adkim=.
 *
 * Disposition (RFC 7489 6.6.4): pass gives none; fail gives the policy
 * unless the message is sampled out by pct= (sample >= pct, the sample
 * being 0..99) or the record says t=y (DMARCbis), in which case the next
 * lower policy applies (reject -> quarantine, quarantine -> none).  The
 * sample is the caller's (tests, reproducible runs) or random.
 *
 * Several From domains (several addresses in From): each is evaluated;
 * the outcome is that of the strictest disposition (on a tie the worse
 * result: fail, temperror, permerror, none, pass), and every domain's
 * outcome is listed in per_domain.
 *
 * Everything is allocated from the caller's arena.
 */
#ifndef SMEXOP_AUTH_DMARC_H
#define SMEXOP_AUTH_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/dkim.h"
#include "auth/dmarc_record.h"
#include "auth/spf.h"
#include "core/dns.h"

struct arena;
struct event_base;
struct orgdomain;

#define DMARC_MAX_FROM_DOMAINS   8
#define DMARC_MAX_DKIM           32 /* DKIM results looked at; more are ignored */
#define DMARC_DEFAULT_TIMEOUT_MS 15000

enum dmarc_result {
	DMARC_RESULT_NONE,
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,
	DMARC_RESULT_PERMERROR,
};

struct dmarc_dkim {
	const char *domain; /* d= */
	enum dkim_result result;
};

struct dmarc_request {
	const char *const *from_domains; /* as found in From; normalised here */
	size_t nfrom;
	const char *spf_domain; /* see dmarc_spf_domain(); NULL: no SPF result */
	enum spf_result spf;
	const struct dmarc_dkim *dkim;
	size_t ndkim;
	int sample;                  /* 0..99 for reproducible pct sampling; -1: random */
	const struct orgdomain *psl; /* NULL: orgdomain_default() */
	unsigned timeout_ms;         /* dmarc_check_start(); 0: the default */
};

struct dmarc_outcome {
	enum dmarc_result result;
	enum dmarc_policy disposition; /* what to do, after pct= and t= */
	enum dmarc_policy policy;      /* the published policy that applied */
	const char *policy_tag;        /* "p", "sp" or "np"; NULL without a record */
	const char *from_domain;       /* normalised; as given when it is not a name */
	const char *org_domain;        /* its organisational domain (itself for a suffix) */
	const char *record_domain;     /* whose _dmarc record was used, or NULL */
	const char *record;            /* its text, or NULL */
	struct dmarc_record rec;       /* parsed; valid when record != NULL */
	bool spf_aligned, dkim_aligned;
	const char *dkim_domain; /* d= of the first aligned passing signature */
	bool sampled_out;        /* pct= or t=y lowered the policy */
	unsigned sample;         /* the sample used, 0..99 */
	bool nonexistent;        /* the From domain does not exist (np= applied) */
	const char *reason;
	const struct dmarc_outcome *per_domain; /* one per From domain; NULL when one */
	size_t nper_domain;
};

/* One DNS query the engine wants.  The caller may use sent and user. */
struct dmarc_query {
	const char *name;
	enum dns_type type;
	bool needed;   /* the evaluation waits for it (false: asked ahead) */
	bool answered; /* dmarc_eval_answer() has been called for it */
	bool sent;     /* for the caller */
	void *user;    /* for the caller */
};

enum dmarc_step {
	DMARC_STEP_DONE,
	DMARC_STEP_NEED_DNS,
};

struct dmarc_eval;

/* dmarc_eval_new - prepare an evaluation (inputs are copied); NULL when
 * memory runs out */
struct dmarc_eval *dmarc_eval_new(struct arena *a, const struct dmarc_request *req);
/* dmarc_eval_step - run as far as the answers allow */
enum dmarc_step dmarc_eval_step(struct dmarc_eval *e);
/* dmarc_eval_queries - every query asked so far (answered or not), needed
 * ones first among the unanswered; *list valid until the next step */
size_t dmarc_eval_queries(struct dmarc_eval *e, struct dmarc_query *const **list);
/* dmarc_eval_waiting - a needed query is still unanswered */
bool dmarc_eval_waiting(const struct dmarc_eval *e);
/* dmarc_eval_answer - feed the answer to (name, type); -1 when not asked */
int dmarc_eval_answer(struct dmarc_eval *e, const char *name, enum dns_type type,
                      const struct dns_answer *ans);
/* dmarc_eval_abort - unanswered queries count as timed out; the outcome
 * is then final (temperror where a needed record was missing) */
void dmarc_eval_abort(struct dmarc_eval *e, const char *why);
/* dmarc_eval_outcome - valid after DONE or abort */
const struct dmarc_outcome *dmarc_eval_outcome(const struct dmarc_eval *e);

/*
 * dmarc_check_start - evaluate asynchronously; cb runs exactly once from
 * the event loop (never before this returns) unless cancelled.  NULL on
 * resource failure.
 */
struct dmarc_check;
typedef void (*dmarc_check_cb)(const struct dmarc_outcome *o, void *arg);
struct dmarc_check *dmarc_check_start(struct dns *dns, struct event_base *base, struct arena *a,
                                      const struct dmarc_request *req, dmarc_check_cb cb,
                                      void *arg);
/* dmarc_check_cancel - cb will not run; outstanding queries are cancelled */
void dmarc_check_cancel(struct dmarc_check *c);

/*
 * dmarc_aligned - from and auth are aligned in mode: strict is equality,
 * relaxed equality of organisational domains.  Both are normalised
 * (core/orgdomain.h), stray leading and trailing dots ignored as
 * OpenDMARC does.  psl NULL: the default list.
 */
bool dmarc_aligned(const struct orgdomain *psl, const char *from, const char *auth,
                   enum dmarc_align mode);

/* dmarc_spf_domain - the domain SPF authenticated for DMARC: that of the
 * MAIL FROM address, or helo when MAIL FROM is null or has no domain */
const char *dmarc_spf_domain(const char *mail_from, const char *helo);

const char *dmarc_result_name(enum dmarc_result r);
/* dmarc_result_parse - the result named s; 0 or -1 */
int dmarc_result_parse(const char *s, enum dmarc_result *out);

/* dmarc_authres - the method part of Authentication-Results (RFC 8601,
 * RFC 7489 11.2): "dmarc=fail (p=reject dis=quarantine) header.from=d" */
char *dmarc_authres(struct arena *a, const struct dmarc_outcome *o);

#endif
