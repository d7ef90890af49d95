/*
 * dnsbl - reputation block: a local block list and DNSBL zones
 * (pipeline stage 1, EOP's "reputation block")
 *
 * A client address is looked up in the local list (an iplist) first; a
 * hit blocks at once and no DNS query is sent.  Otherwise every
 * configured zone is asked concurrently for the A record of the reversed
 * address under the zone ("2.0.0.192.zen.example" for 192.0.2.2, the 32
 * reversed nibbles for IPv6).  Per zone:
 *
 *   - an answer in the zone's configured codes ("127.0.0.2" or a range
 *     "127.0.0.4-127.0.0.7", each with an optional meaning; no codes: any
 *     127.0.0.0/8 answer) is a listing and adds the zone's weight;
 *   - another 127.0.0.x answer is ignored (a code the admin did not ask
 *     for, e.g. a PBL code on a zone used for SBL only);
 *   - 127.255.255.x (Spamhaus and others: query refused, open or public
 *     resolver, over quota, typing error) and any answer outside
 *     127.0.0.0/8 (a dead zone, a resolver rewriting NXDOMAIN) are error
 *     answers: not a listing, reported and logged as a warning;
 *   - NXDOMAIN and NODATA: not listed;
 *   - SERVFAIL or a refused query: error, not listed, logged;
 *   - a timeout (the resolver's, or the overall deadline): not listed,
 *     reported and logged.
 *
 * The client is blocked when the weights of the listing zones add up to
 * the threshold, or when the local list has it.  The reply is
 *
 *     550 5.7.606 Access denied, banned sending IP [IP]
 *
 * word for word as EOP writes it (without Microsoft's delisting URL and
 * AS tag), because that is the text admins search for.
 *
 * Two layers, as auth/spf.h: a step engine that never touches the
 * network (dnsbl_eval_*: the queries it wants, answers fed by the caller)
 * and dnsbl_check_start(), a thin asynchronous driver on core/dns.h with
 * an overall deadline.  Results live in the caller's arena.
 */
#ifndef SMEXOP_FILTER_DNSBL_H
#define SMEXOP_FILTER_DNSBL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dns.h"
#include "core/err.h"
#include "core/net.h"
#include "filter/iplist.h"

struct arena;
struct event_base;
struct config_reputation;

#define DNSBL_MAX_ZONES          32
#define DNSBL_MAX_CODES          64 /* code ranges per zone */
#define DNSBL_DEFAULT_TIMEOUT_MS 8000
#define DNSBL_DEFAULT_THRESHOLD  1

/* ---- the policy (read-only once built, shared by workers) ----------- */

struct dnsbl_code {
	uint8_t lo[4], hi[4]; /* inclusive range of A answers */
	const char *meaning;  /* NULL when none */
};

struct dnsbl_zone {
	const char *zone; /* lower case, no trailing dot */
	struct dnsbl_code *codes;
	size_t ncodes; /* 0: any 127.0.0.0/8 answer except 127.255.255.0/24 */
	unsigned weight;
};

struct dnsbl_policy;

struct dnsbl_policy *dnsbl_policy_new(void);
struct dnsbl_policy *dnsbl_policy_free(struct dnsbl_policy *p);
/* dnsbl_policy_block - the local block list, to fill and build */
struct iplist *dnsbl_policy_block(struct dnsbl_policy *p);
/*
 * dnsbl_policy_add_zone - zone with its codes, each "127.0.0.2" or
 * "127.0.0.2-127.0.0.11" optionally followed by a space and a meaning;
 * 0, or -1 with err.
 */
int dnsbl_policy_add_zone(struct dnsbl_policy *p, const char *zone, const char *const *codes,
                          size_t ncodes, unsigned weight, struct sx_err *err);
void dnsbl_policy_set_threshold(struct dnsbl_policy *p, unsigned threshold);
void dnsbl_policy_set_timeout(struct dnsbl_policy *p, unsigned timeout_ms);
size_t dnsbl_policy_zones(const struct dnsbl_policy *p, const struct dnsbl_zone **zones);
/* dnsbl_policy_from_config - the reputation section (block_file loaded
 * and built); NULL with err */
struct dnsbl_policy *dnsbl_policy_from_config(const struct config_reputation *c,
                                              iplist_warn_fn warn, void *warn_arg,
                                              struct sx_err *err);

/* ---- results -------------------------------------------------------- */

enum dnsbl_status {
	DNSBL_NOT_LISTED, /* NXDOMAIN, NODATA, or only codes not configured */
	DNSBL_LISTED,
	DNSBL_ERROR,   /* error answer, SERVFAIL, refused: not listed */
	DNSBL_TIMEOUT, /* not answered in time: not listed */
	DNSBL_SKIPPED, /* not asked: the local list decided */
};

struct dnsbl_zone_result {
	const char *zone;
	const char *qname;
	enum dnsbl_status status;
	const char *codes;   /* the listing answers, "127.0.0.2,127.0.0.4"; NULL when none */
	const char *meaning; /* their meanings, "SBL,XBL"; NULL when none */
	unsigned weight;     /* added to the total: the zone's weight when listed */
	const char *problem; /* error, timeout or ignored answers; NULL otherwise */
};

struct dnsbl_outcome {
	const char *client_ip;
	const struct iplist_entry *local; /* the local block list entry, or NULL */
	size_t nzones;
	struct dnsbl_zone_result *zones;
	size_t nlisted;
	unsigned total_weight, threshold;
	bool blocked;
	const char *reply; /* "550 5.7.606 ..." when blocked, else NULL */
};

/* ---- the step engine ------------------------------------------------ */

struct dnsbl_query {
	const char *name;
	enum dns_type type;
	bool answered;
	bool sent;  /* for the caller */
	void *user; /* for the caller */
};

enum dnsbl_step {
	DNSBL_STEP_DONE,
	DNSBL_STEP_NEED_DNS,
};

struct dnsbl_eval;

/* dnsbl_eval_new - prepare a check of ip against p; NULL on no memory */
struct dnsbl_eval *dnsbl_eval_new(struct arena *a, const struct dnsbl_policy *p,
                                  const struct net_addr *ip);
enum dnsbl_step dnsbl_eval_step(struct dnsbl_eval *e);
/* dnsbl_eval_queries - the unanswered queries; valid until the next call */
size_t dnsbl_eval_queries(struct dnsbl_eval *e, struct dnsbl_query *const **list);
/* dnsbl_eval_answer - feed the answer to (name, type); -1 when not asked */
int dnsbl_eval_answer(struct dnsbl_eval *e, const char *name, enum dns_type type,
                      const struct dns_answer *ans);
/* dnsbl_eval_abort - the deadline passed: unanswered zones time out */
void dnsbl_eval_abort(struct dnsbl_eval *e, const char *why);
/* dnsbl_eval_outcome - valid once a step returned DONE or after abort */
const struct dnsbl_outcome *dnsbl_eval_outcome(const struct dnsbl_eval *e);

/* ---- the asynchronous driver ---------------------------------------- */

struct dnsbl_check;
typedef void (*dnsbl_check_cb)(const struct dnsbl_outcome *outcome, void *arg);

/* dnsbl_check_start - cb runs exactly once from the loop (never before
 * this returns) unless cancelled; NULL on resource failure */
struct dnsbl_check *dnsbl_check_start(struct dns *dns, struct event_base *base, struct arena *a,
                                      const struct dnsbl_policy *p, const struct net_addr *ip,
                                      dnsbl_check_cb cb, void *arg);
void dnsbl_check_cancel(struct dnsbl_check *c);

const char *dnsbl_status_name(enum dnsbl_status s);

#endif
