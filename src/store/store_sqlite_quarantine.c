/*
 * store_sqlite_quarantine - the quarantine operations of the SQLite
 * backend
 *
 * quarantine holds one row per quarantined message (its spool id is the
 * key); quarantine_rcpt one row per recipient so that `--recipient`
 * finds a message by any of them through an index.  Rows of a deleted
 * message's recipients go with it (ON DELETE CASCADE).
 */
#include <string.h>

#include "core/buf.h"
#include "store/store_sqlite.h"

#define QUARANTINE_TEXT_CAP (256 * 1024)

static const char sql_q_add[] =
    "INSERT OR IGNORE INTO quarantine (id, message_id, sender, recipients, subject, reasons,"
    " policy, verdict, received, expires, size) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
    " ?11)";
static const char sql_q_rcpt_add[] =
    "INSERT OR IGNORE INTO quarantine_rcpt (qid, rcpt) VALUES (?1, ?2)";

#define Q_COLUMNS                                                                                  \
	"q.id, q.message_id, q.sender, q.recipients, q.subject, q.reasons, q.policy, q.verdict,"   \
	" q.received, q.expires, q.size, q.released, q.released_at, q.released_by, q.released_to"

/* a NULL-or-value parameter matches anything when NULL */
static const char sql_q_list[] =
    "SELECT " Q_COLUMNS " FROM quarantine q"
    " WHERE (?1 = 0 OR q.received >= ?1) AND (?2 = 0 OR q.received < ?2)"
    " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM quarantine_rcpt r WHERE r.qid = q.id"
    "  AND r.rcpt = ?3))"
    " AND (?4 IS NULL OR instr(lower(q.reasons), lower(?4)) > 0)"
    " AND (?5 IS NULL OR q.sender = ?5 COLLATE NOCASE)"
    " AND (?6 = 0 OR q.released = 0)"
    " ORDER BY q.received DESC, q.id DESC LIMIT ?7";
static const char sql_q_get[] = "SELECT " Q_COLUMNS " FROM quarantine q WHERE q.id = ?1";
static const char sql_q_expired[] = "SELECT " Q_COLUMNS " FROM quarantine q WHERE q.expires < ?1"
                                    " ORDER BY q.expires, q.id";
static const char sql_q_release_all[] =
    "UPDATE quarantine SET released = 1, released_at = ?2, released_by = ?3, released_to = ''"
    " WHERE id = ?1";
static const char sql_q_release_to[] =
    "UPDATE quarantine SET released = 1, released_at = ?2, released_by = ?3,"
    " released_to = CASE WHEN released_to = '' THEN ?4 ELSE released_to || ', ' || ?4 END"
    " WHERE id = ?1";
static const char sql_q_delete[] = "DELETE FROM quarantine WHERE id = ?1";

/* join - strings joined with sep into b (NUL-terminated); 0 or -1 */
static int join(struct buf *b, const char *const *v, size_t n, const char *sep)
{
	size_t i;

	buf_clear(b);
	for (i = 0; i < n; i++)
		if ((i > 0 && buf_puts(b, sep) < 0) || buf_puts(b, v[i] ? v[i] : "") < 0)
			return -1;
	return buf_putc(b, '\0');
}

int store_sqlite_quarantine_add(struct store *st, const struct store_quarantine *q,
                                struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	struct buf rcpts;
	sqlite3_stmt *s;
	bool own, ok = false;
	int ret = -1;
	size_t i;

	buf_init(&rcpts, QUARANTINE_TEXT_CAP);
	if (join(&rcpts, q->rcpts, q->nrcpts, ", ") < 0) {
		sx_err_set(err, "quarantine add: too many recipients");
		buf_free(&rcpts);
		return -1;
	}
	if (store_sqlite_write_begin(sq, &own, err) < 0) {
		buf_free(&rcpts);
		return -1;
	}
	s = store_sqlite_stmt(sq, sql_q_add, err);
	if (s == NULL)
		goto out;
	store_sqlite_text(s, 1, q->id);
	store_sqlite_text_nz(s, 2, q->message_id);
	store_sqlite_text_nz(s, 3, q->sender);
	store_sqlite_text(s, 4, rcpts.data);
	store_sqlite_text_nz(s, 5, q->subject);
	store_sqlite_text_nz(s, 6, q->reasons);
	store_sqlite_text_nz(s, 7, q->policy);
	store_sqlite_text_nz(s, 8, q->verdict);
	sqlite3_bind_int64(s, 9, q->received);
	sqlite3_bind_int64(s, 10, q->expires);
	sqlite3_bind_int64(s, 11, (sqlite3_int64)q->size);
	if (store_sqlite_step_done(sq, s, "quarantine add", err) < 0)
		goto out;
	if (sqlite3_changes(sq->db) == 0) {
		ok = true;
		ret = 1;
		goto out;
	}
	for (i = 0; i < q->nrcpts; i++) {
		s = store_sqlite_stmt(sq, sql_q_rcpt_add, err);
		if (s == NULL)
			goto out;
		store_sqlite_text(s, 1, q->id);
		store_sqlite_text_nz(s, 2, q->rcpts[i]);
		if (store_sqlite_step_done(sq, s, "quarantine add recipient", err) < 0)
			goto out;
	}
	ok = true;
	ret = 0;
out:
	buf_free(&rcpts);
	if (store_sqlite_write_end(sq, own, ok, err) < 0)
		return -1;
	return ret;
}

/* q_row - the callback's view of the current row */
static int q_row(sqlite3_stmt *s, store_quarantine_cb cb, void *arg)
{
	struct store_quarantine q = {
		.id = store_sqlite_col(s, 0),
		.message_id = store_sqlite_col(s, 1),
		.sender = store_sqlite_col(s, 2),
		.recipients = store_sqlite_col(s, 3),
		.subject = store_sqlite_col(s, 4),
		.reasons = store_sqlite_col(s, 5),
		.policy = store_sqlite_col(s, 6),
		.verdict = store_sqlite_col(s, 7),
		.received = sqlite3_column_int64(s, 8),
		.expires = sqlite3_column_int64(s, 9),
		.size = (uint64_t)sqlite3_column_int64(s, 10),
		.released = sqlite3_column_int(s, 11) != 0,
		.released_at = sqlite3_column_int64(s, 12),
		.released_by = store_sqlite_col(s, 13),
		.released_to = store_sqlite_col(s, 14),
	};
	return cb(&q, arg);
}

/* q_each - run s (bound) and call cb per row; 0, cb's non-zero, or -1 */
static int q_each(struct store_sqlite *sq, sqlite3_stmt *s, store_quarantine_cb cb, void *arg,
                  size_t *rows, struct sx_err *err, const char *what)
{
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (rows != NULL)
			(*rows)++;
		ret = q_row(s, cb, arg);
		if (ret != 0)
			break;
	}
	return store_sqlite_rows_end(sq, s, rc, ret, what, err);
}

int store_sqlite_quarantine_list(struct store *st, const struct store_quarantine_filter *f,
                                 store_quarantine_cb cb, void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_q_list, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, f->since);
	sqlite3_bind_int64(s, 2, f->until);
	store_sqlite_text(s, 3, f->recipient);
	store_sqlite_text(s, 4, f->reason);
	store_sqlite_text(s, 5, f->sender);
	sqlite3_bind_int(s, 6, f->unreleased ? 1 : 0);
	sqlite3_bind_int64(s, 7, f->limit > 0 ? (sqlite3_int64)f->limit : -1);
	return q_each(sq, s, cb, arg, NULL, err, "quarantine list");
}

int store_sqlite_quarantine_get(struct store *st, const char *id, store_quarantine_cb cb, void *arg,
                                struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_q_get, err);
	size_t rows = 0;
	int rc;

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, id);
	rc = q_each(sq, s, cb, arg, &rows, err, "quarantine get");
	return rc == 0 && rows == 0 ? 1 : rc;
}

int store_sqlite_quarantine_expired(struct store *st, int64_t now, store_quarantine_cb cb,
                                    void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_q_expired, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	return q_each(sq, s, cb, arg, NULL, err, "quarantine expired");
}

/* q_change - run a one-row UPDATE or DELETE; 1 when no row matched */
static int q_change(struct store_sqlite *sq, sqlite3_stmt *s, struct sx_err *err, const char *what)
{
	if (store_sqlite_step_done(sq, s, what, err) < 0)
		return -1;
	return sqlite3_changes(sq->db) == 0 ? 1 : 0;
}

int store_sqlite_quarantine_release(struct store *st, const char *id, int64_t at, const char *by,
                                    const char *to, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, to ? sql_q_release_to : sql_q_release_all, err);

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, id);
	sqlite3_bind_int64(s, 2, at);
	store_sqlite_text_nz(s, 3, by);
	if (to != NULL)
		store_sqlite_text(s, 4, to);
	return q_change(sq, s, err, "quarantine release");
}

int store_sqlite_quarantine_delete(struct store *st, const char *id, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_q_delete, err);

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, id);
	return q_change(sq, s, err, "quarantine delete");
}
