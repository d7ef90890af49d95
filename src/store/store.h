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

#endif
