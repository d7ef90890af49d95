/*
 * connection - the connection filter: IP allow, safe and block lists and
 * per-IP connection limits (pipeline stage 1, EOP's connection filter)
 *
 * conn_filter_check() looks at the client address only, before the
 * greeting, and returns one of:
 *
 *   ALLOW     on the IP Allow List or (when enabled) the safe list: spam
 *             filtering is skipped (SCL -1, IPV:CAL in the antispam
 *             report); malware scanning and high-confidence phish still
 *             apply, as in EOP.  Reputation (DNSBL) is not asked.
 *   BLOCK     on the IP Block List:
 *                 550 5.7.1 Service unavailable; Client host [IP] blocked
 *                 using Customer Block list
 *             EOP's own text for its customer block list, minus Microsoft's
 *             "(AS16012607)" tag.  The reputation block (local list and
 *             DNSBL, dnsbl.h) answers 5.7.606 instead, so an admin reading
 *             an NDR can tell "we blocked it" from "it has a bad name".
 *   TEMPFAIL  over a per-IP limit (concurrent connections, connections
 *             per minute):
 *                 421 4.7.0 Too many connections from [IP], try again later
 *   CONTINUE  none of these: reputation and the later stages decide.
 *
 * Order: allow list, safe list, block list, limits.  An address on both
 * the allow and the block list is allowed: that is EOP's documented rule
 * for the connection filter policy ("allow wins over block"), and the
 * longest-prefix match inside each list still lets an admin allow one
 * host of a blocked range.  (EOP's Tenant Allow/Block List does the
 * opposite; smexop has no such second list.)  Allowed and safe senders
 * are exempt from the limits: they are the relays you trust.
 *
 * The limits are counted through a small vtable (struct conn_counter) so
 * that one node counts in memory (conn_tracker_new, here) and several
 * nodes can count in the shared store later.  IPv6 clients are counted
 * per /64, since one host usually owns the whole /64.
 *
 * A filter is read-only once built and can be shared by the workers of
 * one configuration generation; a conn_tracker is per worker.
 */
#ifndef SMEXOP_FILTER_CONNECTION_H
#define SMEXOP_FILTER_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/net.h"
#include "filter/iplist.h"

struct config_connection_filter;

enum conn_verdict {
	CONN_CONTINUE,
	CONN_ALLOW,
	CONN_BLOCK,
	CONN_TEMPFAIL,
};

enum conn_reason {
	CONN_R_NONE,
	CONN_R_ALLOW_LIST,
	CONN_R_SAFE_LIST,
	CONN_R_BLOCK_LIST,
	CONN_R_CONCURRENCY, /* max_connections_per_ip */
	CONN_R_RATE,        /* max_connection_rate */
};

#define CONN_REPLY_MAX 160

struct conn_result {
	enum conn_verdict verdict;
	enum conn_reason reason;
	const struct iplist_entry *entry; /* the list entry that decided, or NULL */
	int scl;                          /* -1 when allowed, else 0 (not decided here) */
	const char *ipv;                  /* "CAL" when allowed, else NULL */
	bool counted;                     /* conn_filter_closed() must be called at disconnect */
	unsigned concurrent, per_minute;  /* the counts, when counted */
	char reply[CONN_REPLY_MAX];       /* BLOCK and TEMPFAIL: the SMTP reply */
};

/* ---- per-IP counting ------------------------------------------------ */

struct conn_counts {
	unsigned concurrent; /* open connections, this one included */
	unsigned per_minute; /* connections in the current minute, this one included */
};

struct conn_counter_ops {
	/* opened - count a new connection of key (an IPv4 address or an
	 * IPv6 /64, host bits zero) at now_ms; 0, or -1 when it could not be
	 * counted (the filter then lets it through) */
	int (*opened)(void *ctx, const struct net_addr *key, uint64_t now_ms,
	              struct conn_counts *out);
	/* closed - one connection of key ended */
	void (*closed)(void *ctx, const struct net_addr *key);
};

struct conn_counter {
	const struct conn_counter_ops *ops;
	void *ctx;
};

/* conn_tracker - the in-memory counter of one worker; at most max_keys
 * addresses are tracked (idle ones are forgotten first) */
struct conn_tracker;
struct conn_tracker *conn_tracker_new(size_t max_keys);
struct conn_tracker *conn_tracker_free(struct conn_tracker *t);
/* conn_tracker_counter - the vtable view of t */
struct conn_counter conn_tracker_counter(struct conn_tracker *t);

/* ---- the filter ----------------------------------------------------- */

struct conn_filter;

/* conn_filter_new - empty lists, no limits */
struct conn_filter *conn_filter_new(void);
struct conn_filter *conn_filter_free(struct conn_filter *f);

/* the lists, for filling by hand (tests, tools); built by the caller or
 * by conn_filter_build() */
struct iplist *conn_filter_allow(struct conn_filter *f);
struct iplist *conn_filter_block(struct conn_filter *f);
struct iplist *conn_filter_safe(struct conn_filter *f);
/* conn_filter_set_safe_list - use the safe list (off by default) */
void conn_filter_set_safe_list(struct conn_filter *f, bool on);
/* conn_filter_set_limits - 0 means no limit; counter may be NULL (no
 * counting) and must outlive the filter's use */
void conn_filter_set_limits(struct conn_filter *f, unsigned max_concurrent, unsigned max_per_minute,
                            const struct conn_counter *counter);
/* conn_filter_build - build the lists after filling them; 0 or -1 */
int conn_filter_build(struct conn_filter *f);

/*
 * conn_filter_from_config - the lists of a configuration section,
 * inline entries and files; warn gets the loaders' warnings (NULL: they
 * are logged).  NULL with err on a bad entry or an unreadable file.
 */
struct conn_filter *conn_filter_from_config(const struct config_connection_filter *c,
                                            iplist_warn_fn warn, void *warn_arg,
                                            struct sx_err *err);

/* conn_filter_check - the verdict for a new connection from ip */
void conn_filter_check(const struct conn_filter *f, const struct net_addr *ip, uint64_t now_ms,
                       struct conn_result *out);
/* conn_filter_closed - the connection that r was for has ended */
void conn_filter_closed(const struct conn_filter *f, const struct net_addr *ip,
                        const struct conn_result *r);

const char *conn_verdict_name(enum conn_verdict v);
const char *conn_reason_name(enum conn_reason r);

#endif
