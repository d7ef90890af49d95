/*
 * store_impl - what a store backend provides: one table of typed
 * operations (see store.h for their contracts)
 *
 * store.c holds the public functions and calls through struct store_ops;
 * a backend fills the table and embeds struct store at the start of its
 * own connection state.  Only store/ includes this file (and the store
 * unit tests, which reach the SQLite migration list through it).
 */
#ifndef SMEXOP_STORE_STORE_IMPL_H
#define SMEXOP_STORE_STORE_IMPL_H

#include "store/store.h"

struct store_ops {
	const char *name;
	void (*close)(struct store *st);
	int (*schema_version)(struct store *st);
	int (*begin)(struct store *st, struct sx_err *err);
	int (*commit)(struct store *st, struct sx_err *err);
	int (*rollback)(struct store *st);

	/* DMARC */
	int (*dmarc_event_add)(struct store *st, const struct store_dmarc_event *ev,
	                       struct sx_err *err);
	int (*dmarc_pending)(struct store *st, const char *domain, int64_t since, int64_t until,
	                     store_dmarc_pending_cb cb, void *arg, struct sx_err *err);
	int (*dmarc_rows)(struct store *st, const char *domain, int64_t begin, int64_t end,
	                  store_dmarc_row_cb cb, void *arg, struct sx_err *err);
	int (*dmarc_mark_reported)(struct store *st, const struct store_dmarc_sent *s,
	                           struct sx_err *err);
	int (*dmarc_import_add)(struct store *st, const struct store_dmarc_import *r,
	                        struct sx_err *err);
	int (*dmarc_summary)(struct store *st, const char *domain, int64_t since, int64_t until,
	                     enum store_dmarc_group group, store_dmarc_summary_cb cb, void *arg,
	                     struct sx_err *err);

	/* MTA-STS policy cache */
	int (*mtasts_put)(struct store *st, const struct store_mtasts *p, struct sx_err *err);
	int (*mtasts_get)(struct store *st, const char *domain, store_mtasts_cb cb, void *arg,
	                  struct sx_err *err);
	int (*mtasts_expiring)(struct store *st, int64_t after, int64_t before, size_t limit,
	                       store_mtasts_cb cb, void *arg, struct sx_err *err);
	int (*mtasts_delete)(struct store *st, const char *domain, struct sx_err *err);

	/* quarantine */
	int (*quarantine_add)(struct store *st, const struct store_quarantine *q,
	                      struct sx_err *err);
	int (*quarantine_list)(struct store *st, const struct store_quarantine_filter *f,
	                       store_quarantine_cb cb, void *arg, struct sx_err *err);
	int (*quarantine_get)(struct store *st, const char *id, store_quarantine_cb cb, void *arg,
	                      struct sx_err *err);
	int (*quarantine_release)(struct store *st, const char *id, int64_t at, const char *by,
	                          const char *to, struct sx_err *err);
	int (*quarantine_delete)(struct store *st, const char *id, struct sx_err *err);
	int (*quarantine_expired)(struct store *st, int64_t now, store_quarantine_cb cb, void *arg,
	                          struct sx_err *err);

	/* outbound senders and the directory */
	int (*sender_counts)(struct store *st, const char *sender, int64_t now,
	                     struct store_sender_counts *out, struct sx_err *err);
	int (*sender_count_add)(struct store *st, const char *sender, int64_t now,
	                        uint64_t external, uint64_t internal, struct sx_err *err);
	int (*restricted_add)(struct store *st, const struct store_restricted *r,
	                      struct sx_err *err);
	int (*restricted_get)(struct store *st, const char *sender, int64_t now,
	                      store_restricted_cb cb, void *arg, struct sx_err *err);
	int (*restricted_list)(struct store *st, int64_t now, store_restricted_cb cb, void *arg,
	                       struct sx_err *err);
	int (*restricted_release)(struct store *st, const char *sender, struct sx_err *err);
	int (*directory_add)(struct store *st, const char *address, const char *target,
	                     struct sx_err *err);
	int (*directory_remove)(struct store *st, const char *address, struct sx_err *err);
	int (*directory_list)(struct store *st, store_directory_cb cb, void *arg,
	                      struct sx_err *err);
	int (*directory_version)(struct store *st, uint64_t *version, struct sx_err *err);

	/* message trace */
	int (*trace_add)(struct store *st, const struct store_trace_event *ev, struct sx_err *err);
	int (*trace_messages)(struct store *st, const struct store_trace_filter *f,
	                      store_trace_message_cb cb, void *arg, struct sx_err *err);
	int (*trace_events)(struct store *st, const char *key, store_trace_event_cb cb, void *arg,
	                    struct sx_err *err);
	int (*trace_expire)(struct store *st, int64_t before, uint64_t *removed,
	                    struct sx_err *err);

	/* TLS-RPT */
	int (*tlsrpt_add)(struct store *st, int64_t time, const struct store_tlsrpt_policy *p,
	                  const struct store_tlsrpt_failure *f, struct sx_err *err);
	int (*tlsrpt_pending)(struct store *st, const char *domain, int64_t since, int64_t until,
	                      store_tlsrpt_pending_cb cb, void *arg, struct sx_err *err);
	int (*tlsrpt_policies)(struct store *st, const char *domain, int64_t begin, int64_t end,
	                       store_tlsrpt_policy_cb cb, void *arg, struct sx_err *err);
	int (*tlsrpt_dest_set)(struct store *st, const struct store_tlsrpt_dest *d,
	                       struct sx_err *err);
	int (*tlsrpt_dests)(struct store *st, const char *domain, int64_t begin,
	                    store_tlsrpt_dest_cb cb, void *arg, struct sx_err *err);
	int (*tlsrpt_mark_reported)(struct store *st, const char *domain, int64_t begin,
	                            int64_t end, const char *report_id, struct sx_err *err);
	int (*tlsrpt_import_add)(struct store *st, const struct store_tlsrpt_report *r,
	                         struct sx_err *err);
	int (*tlsrpt_summary)(struct store *st, const char *domain, int64_t since, int64_t until,
	                      enum store_tlsrpt_group group, store_tlsrpt_summary_cb cb, void *arg,
	                      struct sx_err *err);
};

struct store {
	const struct store_ops *ops;
};

/* ---- the SQLite backend (store_sqlite.c, store_sqlite_*.c) ------------ */

struct store_sqlite_migration {
	int version;     /* 1, 2, ... in order */
	const char *sql; /* statements run in the migration's transaction */
};

struct store *store_sqlite_open(const struct store_options *opts, struct sx_err *err);
/* store_sqlite_open_with - the same with another migration list (tests) */
struct store *store_sqlite_open_with(const struct store_options *opts,
                                     const struct store_sqlite_migration *m, size_t n,
                                     struct sx_err *err);
extern const struct store_sqlite_migration store_sqlite_migrations[];
extern const size_t store_sqlite_nmigrations;

#endif
