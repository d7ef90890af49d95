/*
 * store - smexop's state behind one interface: SQLite today (one node),
 * PostgreSQL + Redis later (several nodes)
 *
 * SUMMARY
 *	struct store *st = store_open(&opts, &err);
 *	store_dmarc_event_add(st, &ev, &err);
 *	st = store_close(st);
 *
 * DESCRIPTION
 *	Callers never see SQL: every operation is typed and grouped by
 *	concern (DMARC reports now; quarantine, message trace and reputation
 *	will join as further groups of the same shape).  store.c dispatches
 *	each call to the backend's table of operations (store_impl.h); a
 *	backend is one store_<backend>.c plus one store_<backend>_<concern>.c
 *	per concern.
 *
 *	Schema versions: each backend keeps a schema_version table and a
 *	list of migrations; store_open() applies the missing ones in one
 *	transaction, so a database is either at the old version or at the
 *	new one.  A database newer than this program is refused.
 *
 *	Transactions: every write operation is atomic on its own.  A caller
 *	that needs several operations to be atomic together wraps them in
 *	store_begin() / store_commit() (or store_rollback()); these do not
 *	nest.
 *
 *	Iterators take a callback that receives one item at a time; strings
 *	in an item are valid only during the callback.  A callback that
 *	returns non-zero stops the iteration, and the iterator returns that
 *	value.
 *
 *	Time values are seconds since the epoch (UTC).
 *
 * THREADS
 *	A struct store is one connection: use it from one thread at a time.
 *	Several processes (or connections) may open the same database.
 *
 * DIAGNOSTICS
 *	Functions return -1 and fill err (when not NULL) with a message a
 *	human can act on ("database is locked", "schema version 9 is newer
 *	than this smexop (2)").
 */
#ifndef SMEXOP_STORE_STORE_H
#define SMEXOP_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum store_backend {
	STORE_BACKEND_SQLITE,
};

struct store_options {
	enum store_backend backend;
	const char *path;         /* SQLite: the database file (":memory:" for tests) */
	unsigned busy_timeout_ms; /* 0: STORE_DEFAULT_BUSY_MS */
};

#define STORE_DEFAULT_BUSY_MS 5000

struct store;

/* store_open - open (creating and migrating) the store; NULL with err */
struct store *store_open(const struct store_options *opts, struct sx_err *err);
/* store_close - release the connection; returns NULL */
struct store *store_close(struct store *st);
/* store_schema_version - the schema version of the open store */
int store_schema_version(struct store *st);
/* store_backend_name - "sqlite" */
const char *store_backend_name(const struct store *st);

/* store_begin, store_commit, store_rollback - group operations atomically */
int store_begin(struct store *st, struct sx_err *err);
int store_commit(struct store *st, struct sx_err *err);
int store_rollback(struct store *st);

/* ==== DMARC reports: as a receiver (RFC 7489 7.2) ==================== */

#define STORE_DMARC_MAX_AUTH 16 /* DKIM or SPF results kept per message or row */

struct store_dmarc_dkim {
	const char *domain;       /* d= */
	const char *selector;     /* s=; may be NULL */
	const char *result;       /* none pass fail policy neutral temperror permerror */
	const char *human_result; /* may be NULL */
};

struct store_dmarc_spf {
	const char *domain;
	const char *scope;  /* "mfrom" or "helo" */
	const char *result; /* none neutral pass fail softfail temperror permerror */
};

/* One evaluated message, or (in a row) a group of identical ones. */
struct store_dmarc_event {
	int64_t time;
	const char *policy_domain; /* whose _dmarc record applied */
	const char *record;        /* that record's text */
	const char *source_ip;
	const char *header_from;
	const char *envelope_from; /* domain; "" when unknown */
	const char *envelope_to;   /* domain; may be NULL */
	const char *disposition;   /* none quarantine reject */
	const char *dkim_eval;     /* aligned DKIM: pass or fail */
	const char *spf_eval;      /* aligned SPF: pass or fail */
	const char *reason;        /* policy override type, or NULL */
	const char *reason_comment;
	const struct store_dmarc_dkim *dkim;
	size_t ndkim;
	const struct store_dmarc_spf *spf;
	size_t nspf;
};

/* store_dmarc_event_add - record one evaluated message */
int store_dmarc_event_add(struct store *st, const struct store_dmarc_event *ev, struct sx_err *err);

/* A policy domain with messages not reported yet. */
struct store_dmarc_pending {
	const char *policy_domain;
	int64_t first, last; /* times of the oldest and newest */
	uint64_t messages;
};
typedef int (*store_dmarc_pending_cb)(const struct store_dmarc_pending *p, void *arg);

/* store_dmarc_pending - policy domains with unreported messages in
 * [since, until), by name; domain non-NULL: that one only */
int store_dmarc_pending(struct store *st, const char *domain, int64_t since, int64_t until,
                        store_dmarc_pending_cb cb, void *arg, struct sx_err *err);

/* An aggregate row: unreported messages of one domain and interval that
 * share source IP, identifiers, evaluation and authentication results. */
struct store_dmarc_row {
	struct store_dmarc_event ev; /* time is that of the newest message */
	uint64_t count;
};
typedef int (*store_dmarc_row_cb)(const struct store_dmarc_row *r, void *arg);

/* store_dmarc_rows - the rows of domain's unreported messages in
 * [begin, end), by source IP; the newest message's record comes first */
int store_dmarc_rows(struct store *st, const char *domain, int64_t begin, int64_t end,
                     store_dmarc_row_cb cb, void *arg, struct sx_err *err);

/* One report built from the rows of a domain and interval. */
struct store_dmarc_sent {
	const char *policy_domain;
	int64_t begin, end; /* [begin, end) */
	const char *report_id;
	const char *destinations; /* the rua addresses, comma-separated; may be "" */
	int64_t created;
	uint64_t messages;
	const char *note; /* why nothing was sent, or NULL */
};

/* store_dmarc_mark_reported - remember the report and mark domain's
 * unreported messages in [begin, end) as reported by it; -1 (err says
 * so) when report_id was used before */
int store_dmarc_mark_reported(struct store *st, const struct store_dmarc_sent *s,
                              struct sx_err *err);

/* ==== DMARC reports: as a domain owner (received reports) ============= */

struct store_dmarc_import_row {
	const char *source_ip;
	uint64_t count;
	const char *disposition; /* as reported, lower-cased; may be "" */
	const char *dkim_eval;   /* pass, fail or "" */
	const char *spf_eval;
	const char *reasons; /* "type[: comment]" joined with "; "; may be "" */
	const char *header_from;
	const char *envelope_from;
	const char *envelope_to;
	const struct store_dmarc_dkim *dkim;
	size_t ndkim;
	const struct store_dmarc_spf *spf;
	size_t nspf;
};

struct store_dmarc_import {
	const char *org_name;
	const char *email;
	const char *extra_contact_info;
	const char *report_id;
	int64_t begin, end;
	const char *domain;                          /* policy_published */
	const char *adkim, *aspf, *p, *sp, *np, *fo; /* as reported; may be NULL */
	int pct;                                     /* -1: not given */
	const char *source;                          /* the file it came from */
	const struct store_dmarc_import_row *rows;
	size_t nrows;
};

/* store_dmarc_import_add - store a received report; 1 when the same org
 * and report_id are already there (nothing stored), 0 stored, -1 error */
int store_dmarc_import_add(struct store *st, const struct store_dmarc_import *r,
                           struct sx_err *err);

enum store_dmarc_group {
	STORE_DMARC_BY_SOURCE,     /* one line per source IP */
	STORE_DMARC_BY_ORG,        /* one line per reporting organisation */
	STORE_DMARC_BY_SOURCE_ORG, /* one line per (source IP, reporter) */
};

struct store_dmarc_summary {
	const char *source_ip; /* NULL when grouped by org */
	const char *org_name;  /* NULL when grouped by source */
	uint64_t reports;      /* distinct reports the line comes from */
	uint64_t messages;
	uint64_t spf_pass;     /* SPF passed (auth_results), aligned or not */
	uint64_t spf_aligned;  /* policy_evaluated spf=pass */
	uint64_t dkim_pass;    /* some DKIM signature passed */
	uint64_t dkim_aligned; /* policy_evaluated dkim=pass */
	uint64_t dmarc_pass;   /* aligned SPF or aligned DKIM */
	uint64_t disposition_none, disposition_quarantine, disposition_reject;
};
typedef int (*store_dmarc_summary_cb)(const struct store_dmarc_summary *s, void *arg);

/* store_dmarc_summary - totals of the received reports for domain (the
 * published policy domain) whose range ends after since and begins
 * before until; by volume, largest first */
int store_dmarc_summary(struct store *st, const char *domain, int64_t since, int64_t until,
                        enum store_dmarc_group group, store_dmarc_summary_cb cb, void *arg,
                        struct sx_err *err);

/* ==== MTA-STS policy cache (RFC 8461; store_mtasts.c) ================= */

/* One domain's cached policy, as fetched. */
struct store_mtasts {
	const char *domain; /* the policy domain, lower case */
	const char *id;     /* the TXT record's id when the policy was fetched */
	const char *policy; /* the policy file's text */
	int64_t fetched;
	int64_t expires; /* fetched + max_age */
};
typedef int (*store_mtasts_cb)(const struct store_mtasts *p, void *arg);

/* store_mtasts_put - remember domain's policy (replacing the old one) */
int store_mtasts_put(struct store *st, const struct store_mtasts *p, struct sx_err *err);
/* store_mtasts_get - domain's cached policy; 1 when there is none */
int store_mtasts_get(struct store *st, const char *domain, store_mtasts_cb cb, void *arg,
                     struct sx_err *err);
/* store_mtasts_expiring - policies that expire in [after, before),
 * soonest first; limit 0: all */
int store_mtasts_expiring(struct store *st, int64_t after, int64_t before, size_t limit,
                          store_mtasts_cb cb, void *arg, struct sx_err *err);
/* store_mtasts_delete - forget domain's policy; 1 when there was none */
int store_mtasts_delete(struct store *st, const char *domain, struct sx_err *err);

/* ==== quarantine (store_quarantine.c) ================================= */

/* One quarantined message; the message itself is in the spool under the
 * same id (transport/spool.h), this row is what lists and searches use. */
struct store_quarantine {
	const char *id; /* the spool id */
	const char *message_id;
	const char *sender;
	const char *const *rcpts; /* store_quarantine_add: the recipients */
	size_t nrcpts;
	const char *recipients; /* lists: the recipients joined with ", " */
	const char *subject;
	const char *reasons; /* joined with "; " */
	const char *policy;
	const char *verdict;
	int64_t received;
	int64_t expires;
	uint64_t size;
	bool released;
	int64_t released_at;
	const char *released_by;
	const char *released_to; /* "" all recipients, else those released to */
};
typedef int (*store_quarantine_cb)(const struct store_quarantine *q, void *arg);

struct store_quarantine_filter {
	int64_t since, until;  /* received in [since, until); 0: no bound */
	const char *recipient; /* one of the recipients (case-insensitive), or NULL */
	const char *reason;    /* a substring of the reasons, or NULL */
	const char *sender;    /* case-insensitive, or NULL */
	bool unreleased;       /* only messages never released */
	size_t limit;          /* 0: all */
};

/* store_quarantine_add - record a quarantined message; 1 when the id is
 * there already (nothing stored), 0 stored, -1 error */
int store_quarantine_add(struct store *st, const struct store_quarantine *q, struct sx_err *err);
/* store_quarantine_list - matching messages, newest first */
int store_quarantine_list(struct store *st, const struct store_quarantine_filter *f,
                          store_quarantine_cb cb, void *arg, struct sx_err *err);
/* store_quarantine_get - one message; 1 when there is no such id */
int store_quarantine_get(struct store *st, const char *id, store_quarantine_cb cb, void *arg,
                         struct sx_err *err);
/* store_quarantine_release - mark released at `at` by `by`; to NULL: to
 * every recipient, else appended to released_to; 1 when no such id */
int store_quarantine_release(struct store *st, const char *id, int64_t at, const char *by,
                             const char *to, struct sx_err *err);
/* store_quarantine_delete - forget a message; 1 when no such id */
int store_quarantine_delete(struct store *st, const char *id, struct sx_err *err);
/* store_quarantine_expired - messages whose expiry is before now, oldest
 * first */
int store_quarantine_expired(struct store *st, int64_t now, store_quarantine_cb cb, void *arg,
                             struct sx_err *err);

/* ==== outbound senders (store_outbound.c) ============================= */

/* Recipients one sender sent through the relay connectors, counted per
 * clock hour (UTC); external: outside the accepted domains. */
struct store_sender_counts {
	uint64_t hour_external; /* in the hour holding `now` */
	uint64_t hour_internal;
	uint64_t day; /* both kinds, in the UTC day holding `now` */
};

/* store_sender_counts - sender's counts at now (zero when unknown) */
int store_sender_counts(struct store *st, const char *sender, int64_t now,
                        struct store_sender_counts *out, struct sx_err *err);
/* store_sender_count_add - count recipients of sender at now; counts
 * older than two days are forgotten on the way */
int store_sender_count_add(struct store *st, const char *sender, int64_t now, uint64_t external,
                           uint64_t internal, struct sx_err *err);

/* A sender blocked by the outbound spam policy (EOP's restricted entities). */
struct store_restricted {
	const char *sender;
	int64_t since;
	int64_t until; /* 0: until an admin releases */
	const char *reason;
};
typedef int (*store_restricted_cb)(const struct store_restricted *r, void *arg);

/* store_restricted_add - block sender (replacing an older entry) */
int store_restricted_add(struct store *st, const struct store_restricted *r, struct sx_err *err);
/* store_restricted_get - sender's entry when it is blocked at now (cb
 * called); 1 when it is not */
int store_restricted_get(struct store *st, const char *sender, int64_t now, store_restricted_cb cb,
                         void *arg, struct sx_err *err);
/* store_restricted_list - senders blocked at now, newest first */
int store_restricted_list(struct store *st, int64_t now, store_restricted_cb cb, void *arg,
                          struct sx_err *err);
/* store_restricted_release - unblock sender; 1 when it was not blocked */
int store_restricted_release(struct store *st, const char *sender, struct sx_err *err);

/* ==== directory (store_outbound.c) ==================================== */

/* Recipients of the authoritative domains kept in the store (filter/
 * directory asks the file and this table); target "" for an address of
 * its own, else the mailbox an alias goes to.  Addresses compare
 * case-insensitively here; filter/directory applies its own rule. */
typedef int (*store_directory_cb)(const char *address, const char *target, void *arg);

/* store_directory_add - add or replace an entry (target NULL or "") */
int store_directory_add(struct store *st, const char *address, const char *target,
                        struct sx_err *err);
/* store_directory_remove - 1 when there was no such entry */
int store_directory_remove(struct store *st, const char *address, struct sx_err *err);
/* store_directory_list - every entry, by address */
int store_directory_list(struct store *st, store_directory_cb cb, void *arg, struct sx_err *err);
/* store_directory_version - a number that changes with every change to
 * the table (a cache compares it to know when to reload) */
int store_directory_version(struct store *st, uint64_t *version, struct sx_err *err);

/* ==== message trace (store_trace.c) =================================== */

enum store_trace_kind {
	STORE_TRACE_RECEIVED,
	STORE_TRACE_ACCEPTED,
	STORE_TRACE_REJECTED,
	STORE_TRACE_QUARANTINED,
	STORE_TRACE_RELEASED,
	STORE_TRACE_DELIVERED,
	STORE_TRACE_DEFERRED,
	STORE_TRACE_FAILED,
	STORE_TRACE_EXPIRED,
	STORE_TRACE_DELETED,
};

/* One event in a message's life.  A message is known by its spool id once
 * it has one (from DATA on); before that (rejected at MAIL or RCPT) by its
 * session id. */
struct store_trace_event {
	int64_t time;
	enum store_trace_kind kind;
	const char *spool_id;   /* or NULL */
	const char *session_id; /* hex, or NULL */
	const char *message_id; /* the Message-ID field, or NULL */
	const char *sender;
	const char *recipient; /* NULL for events about the whole message */
	const char *client_ip;
	const char *verdict;
	const char *reasons;
	const char *detail; /* the SMTP reply, the mailbox, the error */
	uint64_t size;
};
typedef int (*store_trace_event_cb)(const struct store_trace_event *ev, void *arg);

/* One message as the trace summary shows it. */
struct store_trace_message {
	const char *key; /* spool id, or session id when there is none */
	const char *message_id;
	const char *sender;
	const char *recipients; /* distinct recipients joined with ", " */
	const char *client_ip;
	const char *status; /* delivered, partial, quarantined, released, rejected,
	                       failed, deferred, pending, expired, deleted */
	int64_t first, last;
	uint64_t size;
	uint64_t events;
};
typedef int (*store_trace_message_cb)(const struct store_trace_message *m, void *arg);

struct store_trace_filter {
	int64_t since, until; /* first event in [since, until); 0: no bound */
	const char *sender;   /* case-insensitive, or NULL */
	const char *recipient;
	const char *message_id; /* Message-ID field, spool id or session id */
	size_t limit;           /* 0: all */
};

/* store_trace_kind_name - "received", "accepted", ... */
const char *store_trace_kind_name(enum store_trace_kind k);
/* store_trace_add - record one event */
int store_trace_add(struct store *st, const struct store_trace_event *ev, struct sx_err *err);
/* store_trace_messages - one item per message, newest first */
int store_trace_messages(struct store *st, const struct store_trace_filter *f,
                         store_trace_message_cb cb, void *arg, struct sx_err *err);
/* store_trace_events - the events of the message known by key (spool id,
 * session id or Message-ID), oldest first; 1 when there are none */
int store_trace_events(struct store *st, const char *key, store_trace_event_cb cb, void *arg,
                       struct sx_err *err);
/* store_trace_expire - forget events older than before; the number gone
 * in *removed */
int store_trace_expire(struct store *st, int64_t before, uint64_t *removed, struct sx_err *err);

/* ==== TLS-RPT (RFC 8460; store_tlsrpt.c) ============================== */

#define STORE_TLSRPT_MAX_DETAILS 10000 /* failure-details of one policy in a report we build */

/* One failure-details entry: failed sessions that share every field. */
struct store_tlsrpt_failure {
	const char *result_type; /* RFC 8460 4.3: "certificate-expired", ... */
	/* each NULL or "" when absent */
	const char *sending_mta_ip;
	const char *receiving_mx_hostname;
	const char *receiving_mx_helo;
	const char *receiving_ip;
	const char *additional_information;
	const char *failure_reason_code;
	uint64_t count; /* failed-session-count */
};

/* One policies[] entry: the policy, its summary and failure details. */
struct store_tlsrpt_policy {
	const char *policy_type;   /* "sts", "tlsa", "no-policy-found" (received: any) */
	const char *policy_domain; /* may be "" in received reports */
	const char *const *policy_string;
	size_t npolicy_string;
	const char *const *mx_host;
	size_t nmx_host;
	uint64_t successful; /* total-successful-session-count */
	uint64_t failed;     /* total-failure-session-count */
	const struct store_tlsrpt_failure *failures;
	size_t nfailures;
};

/* A whole report: built by us or received. */
struct store_tlsrpt_report {
	const char *org_name;
	const char *contact_info;
	const char *report_id;
	int64_t begin, end; /* start-datetime, end-datetime */
	const char *source; /* received: the file it came from; may be NULL */
	const struct store_tlsrpt_policy *policies;
	size_t npolicies;
};

/*
 * store_tlsrpt_add - count sessions of the UTC day holding time for
 * policy p (type, domain, strings, MX hosts): p->successful and
 * p->failed are added to its counters, and f (NULL when none) to the
 * failure details with f->count
 */
int store_tlsrpt_add(struct store *st, int64_t time, const struct store_tlsrpt_policy *p,
                     const struct store_tlsrpt_failure *f, struct sx_err *err);

/* A policy domain and day with counters not reported yet. */
struct store_tlsrpt_pending {
	const char *policy_domain;
	int64_t day; /* UTC midnight */
	uint64_t successful, failed;
};
typedef int (*store_tlsrpt_pending_cb)(const struct store_tlsrpt_pending *p, void *arg);

/* store_tlsrpt_pending - unreported days in [since, until), by day then
 * domain; domain non-NULL: that one only */
int store_tlsrpt_pending(struct store *st, const char *domain, int64_t since, int64_t until,
                         store_tlsrpt_pending_cb cb, void *arg, struct sx_err *err);

typedef int (*store_tlsrpt_policy_cb)(const struct store_tlsrpt_policy *p, void *arg);

/* store_tlsrpt_policies - domain's unreported counters of the days in
 * [begin, end), summed per policy, with their failure details (largest
 * first, at most STORE_TLSRPT_MAX_DETAILS); by type, then strings */
int store_tlsrpt_policies(struct store *st, const char *domain, int64_t begin, int64_t end,
                          store_tlsrpt_policy_cb cb, void *arg, struct sx_err *err);

/* What became of one report for one rua destination. */
struct store_tlsrpt_dest {
	const char *policy_domain;
	int64_t begin;         /* the report's first day */
	const char *report_id; /* kept so that a retry sends the same id */
	const char *uri;
	const char *status; /* "sent", "failed" (for good), "pending" (retry later) */
	const char *note;   /* why, or NULL */
	int64_t time;
	unsigned tries; /* store_tlsrpt_dests: attempts so far */
};
typedef int (*store_tlsrpt_dest_cb)(const struct store_tlsrpt_dest *d, void *arg);

/* store_tlsrpt_dest_set - record an attempt (tries goes up by one) */
int store_tlsrpt_dest_set(struct store *st, const struct store_tlsrpt_dest *d, struct sx_err *err);
/* store_tlsrpt_dests - the destinations recorded for domain's report
 * beginning at begin, by uri */
int store_tlsrpt_dests(struct store *st, const char *domain, int64_t begin, store_tlsrpt_dest_cb cb,
                       void *arg, struct sx_err *err);
/* store_tlsrpt_mark_reported - domain's unreported counters of the days
 * in [begin, end) are reported by report_id */
int store_tlsrpt_mark_reported(struct store *st, const char *domain, int64_t begin, int64_t end,
                               const char *report_id, struct sx_err *err);

/* store_tlsrpt_import_add - store a received report; 1 when the same
 * org and report_id are already there (nothing stored), 0 stored */
int store_tlsrpt_import_add(struct store *st, const struct store_tlsrpt_report *r,
                            struct sx_err *err);

enum store_tlsrpt_group {
	STORE_TLSRPT_BY_ORG,     /* per policy domain, reporter and policy type */
	STORE_TLSRPT_BY_FAILURE, /* per policy domain, result type and MX host */
};

struct store_tlsrpt_summary {
	const char *policy_domain;
	const char *org_name;              /* BY_ORG, else NULL */
	const char *policy_type;           /* BY_ORG, else NULL */
	const char *result_type;           /* BY_FAILURE, else NULL */
	const char *receiving_mx_hostname; /* BY_FAILURE, else NULL; may be "" */
	uint64_t reports;                  /* distinct reports the line comes from */
	uint64_t successful;               /* BY_ORG */
	uint64_t failed;
};
typedef int (*store_tlsrpt_summary_cb)(const struct store_tlsrpt_summary *s, void *arg);

/* store_tlsrpt_summary - totals of the received reports whose range ends
 * after since and begins before until; domain NULL: every domain; by
 * domain, then volume */
int store_tlsrpt_summary(struct store *st, const char *domain, int64_t since, int64_t until,
                         enum store_tlsrpt_group group, store_tlsrpt_summary_cb cb, void *arg,
                         struct sx_err *err);

#endif
