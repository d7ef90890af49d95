/*
 * store_sqlite - what the SQLite backend's files share: the connection
 * state, the prepared-statement cache and the write transaction helpers
 *
 * store_sqlite.c opens the database and runs migrations; each concern
 * has its operations in store_sqlite_<concern>.c, using these helpers.
 */
#ifndef SMEXOP_STORE_STORE_SQLITE_H
#define SMEXOP_STORE_STORE_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "store/store_impl.h"

#define STORE_SQLITE_MAX_STMTS 64

struct store_sqlite {
	struct store base;
	sqlite3 *db;
	int version;
	bool in_tx; /* the caller's store_begin() is open */
	struct {
		const char *sql; /* the key: compared by address */
		sqlite3_stmt *stmt;
	} cache[STORE_SQLITE_MAX_STMTS];
	size_t ncache;
};

/* store_sqlite_stmt - the cached statement for sql (a static string),
 * reset and unbound; NULL with err */
sqlite3_stmt *store_sqlite_stmt(struct store_sqlite *sq, const char *sql, struct sx_err *err);
/* store_sqlite_error - err gets "what: sqlite's message"; returns -1 */
int store_sqlite_error(struct store_sqlite *sq, struct sx_err *err, const char *what);
/* store_sqlite_write_begin - start a write transaction unless the caller
 * has one open; *own says whether to end it */
int store_sqlite_write_begin(struct store_sqlite *sq, bool *own, struct sx_err *err);
/* store_sqlite_write_end - commit (ok) or roll back what write_begin started */
int store_sqlite_write_end(struct store_sqlite *sq, bool own, bool ok, struct sx_err *err);
/* store_sqlite_text - bind s (NULL: SQL NULL) as parameter i */
int store_sqlite_text(sqlite3_stmt *st, int i, const char *s);
/*
 * store_sqlite_report_import - a received report stored once: in a write
 * transaction, 1 when sql_find (?1 the organisation, ?2 the report id)
 * finds it already, else add(sq, arg, err) writes it; 0, 1 or -1 with
 * err ("what: ...")
 */
int store_sqlite_report_import(struct store_sqlite *sq, const char *sql_find, const char *org,
                               const char *report_id, const char *what,
                               int (*add)(struct store_sqlite *, const void *, struct sx_err *),
                               const void *arg, struct sx_err *err);
/* store_sqlite_rows_end - after a loop over the rows of s that ended with
 * step code rc and callback result ret: ret, or -1 with err ("what: ...")
 * when the step failed; s is reset */
int store_sqlite_rows_end(struct store_sqlite *sq, sqlite3_stmt *s, int rc, int ret,
                          const char *what, struct sx_err *err);
/* store_sqlite_text_nz - bind s (NULL: "", for NOT NULL columns) as parameter i */
int store_sqlite_text_nz(sqlite3_stmt *st, int i, const char *s);
/* store_sqlite_step_done - run s, a statement that returns no rows, and
 * reset it; 0, or -1 with err ("what: sqlite's message") */
int store_sqlite_step_done(struct store_sqlite *sq, sqlite3_stmt *s, const char *what,
                           struct sx_err *err);
/* store_sqlite_step_exists - run s and reset it; 1 when it returned a
 * row, 0 when none, -1 with err */
int store_sqlite_step_exists(struct store_sqlite *sq, sqlite3_stmt *s, const char *what,
                             struct sx_err *err);
/* store_sqlite_col - column i as text, "" for NULL */
const char *store_sqlite_col(sqlite3_stmt *st, int i);

extern const struct store_ops store_sqlite_ops;

/* store_sqlite_dmarc.c */
int store_sqlite_dmarc_event_add(struct store *st, const struct store_dmarc_event *ev,
                                 struct sx_err *err);
int store_sqlite_dmarc_pending(struct store *st, const char *domain, int64_t since, int64_t until,
                               store_dmarc_pending_cb cb, void *arg, struct sx_err *err);
int store_sqlite_dmarc_rows(struct store *st, const char *domain, int64_t begin, int64_t end,
                            store_dmarc_row_cb cb, void *arg, struct sx_err *err);
int store_sqlite_dmarc_mark_reported(struct store *st, const struct store_dmarc_sent *s,
                                     struct sx_err *err);
int store_sqlite_dmarc_import_add(struct store *st, const struct store_dmarc_import *r,
                                  struct sx_err *err);
int store_sqlite_dmarc_summary(struct store *st, const char *domain, int64_t since, int64_t until,
                               enum store_dmarc_group group, store_dmarc_summary_cb cb, void *arg,
                               struct sx_err *err);

/* store_sqlite_mtasts.c */
int store_sqlite_mtasts_put(struct store *st, const struct store_mtasts *p, struct sx_err *err);
int store_sqlite_mtasts_get(struct store *st, const char *domain, store_mtasts_cb cb, void *arg,
                            struct sx_err *err);
int store_sqlite_mtasts_expiring(struct store *st, int64_t after, int64_t before, size_t limit,
                                 store_mtasts_cb cb, void *arg, struct sx_err *err);
int store_sqlite_mtasts_delete(struct store *st, const char *domain, struct sx_err *err);

/* store_sqlite_quarantine.c */
int store_sqlite_quarantine_add(struct store *st, const struct store_quarantine *q,
                                struct sx_err *err);
int store_sqlite_quarantine_list(struct store *st, const struct store_quarantine_filter *f,
                                 store_quarantine_cb cb, void *arg, struct sx_err *err);
int store_sqlite_quarantine_get(struct store *st, const char *id, store_quarantine_cb cb, void *arg,
                                struct sx_err *err);
int store_sqlite_quarantine_release(struct store *st, const char *id, int64_t at, const char *by,
                                    const char *to, struct sx_err *err);
int store_sqlite_quarantine_delete(struct store *st, const char *id, struct sx_err *err);
int store_sqlite_quarantine_expired(struct store *st, int64_t now, store_quarantine_cb cb,
                                    void *arg, struct sx_err *err);

/* store_sqlite_outbound.c */
int store_sqlite_sender_counts(struct store *st, const char *sender, int64_t now,
                               struct store_sender_counts *out, struct sx_err *err);
int store_sqlite_sender_count_add(struct store *st, const char *sender, int64_t now,
                                  uint64_t external, uint64_t internal, struct sx_err *err);
int store_sqlite_restricted_add(struct store *st, const struct store_restricted *r,
                                struct sx_err *err);
int store_sqlite_restricted_get(struct store *st, const char *sender, int64_t now,
                                store_restricted_cb cb, void *arg, struct sx_err *err);
int store_sqlite_restricted_list(struct store *st, int64_t now, store_restricted_cb cb, void *arg,
                                 struct sx_err *err);
int store_sqlite_restricted_release(struct store *st, const char *sender, struct sx_err *err);
int store_sqlite_directory_add(struct store *st, const char *address, const char *target,
                               struct sx_err *err);
int store_sqlite_directory_remove(struct store *st, const char *address, struct sx_err *err);
int store_sqlite_directory_list(struct store *st, store_directory_cb cb, void *arg,
                                struct sx_err *err);
int store_sqlite_directory_version(struct store *st, uint64_t *version, struct sx_err *err);

/* store_sqlite_trace.c */
int store_sqlite_trace_add(struct store *st, const struct store_trace_event *ev,
                           struct sx_err *err);
int store_sqlite_trace_messages(struct store *st, const struct store_trace_filter *f,
                                store_trace_message_cb cb, void *arg, struct sx_err *err);
int store_sqlite_trace_events(struct store *st, const char *key, store_trace_event_cb cb, void *arg,
                              struct sx_err *err);
int store_sqlite_trace_expire(struct store *st, int64_t before, uint64_t *removed,
                              struct sx_err *err);

/* store_sqlite_tlsrpt.c */
int store_sqlite_tlsrpt_add(struct store *st, int64_t time, const struct store_tlsrpt_policy *p,
                            const struct store_tlsrpt_failure *f, struct sx_err *err);
int store_sqlite_tlsrpt_pending(struct store *st, const char *domain, int64_t since, int64_t until,
                                store_tlsrpt_pending_cb cb, void *arg, struct sx_err *err);
int store_sqlite_tlsrpt_policies(struct store *st, const char *domain, int64_t begin, int64_t end,
                                 store_tlsrpt_policy_cb cb, void *arg, struct sx_err *err);
int store_sqlite_tlsrpt_dest_set(struct store *st, const struct store_tlsrpt_dest *d,
                                 struct sx_err *err);
int store_sqlite_tlsrpt_dests(struct store *st, const char *domain, int64_t begin,
                              store_tlsrpt_dest_cb cb, void *arg, struct sx_err *err);
int store_sqlite_tlsrpt_mark_reported(struct store *st, const char *domain, int64_t begin,
                                      int64_t end, const char *report_id, struct sx_err *err);
int store_sqlite_tlsrpt_import_add(struct store *st, const struct store_tlsrpt_report *r,
                                   struct sx_err *err);
int store_sqlite_tlsrpt_summary(struct store *st, const char *domain, int64_t since, int64_t until,
                                enum store_tlsrpt_group group, store_tlsrpt_summary_cb cb,
                                void *arg, struct sx_err *err);

#endif
