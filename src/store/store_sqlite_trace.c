/*
 * store_sqlite_trace - the message trace operations of the SQLite backend
 *
 * trace_event holds one row per event.  Its msg column groups the events
 * of one message: the spool id once there is one, else the session id
 * (a message refused before DATA).  The summary is a GROUP BY over msg;
 * a time range first picks the messages through the time index so the
 * grouping never runs over the whole table when a range is given.
 */
#include <string.h>

#include "store/store_sqlite.h"

static const char sql_t_add[] =
    "INSERT INTO trace_event (time, msg, kind, spool_id, session_id, message_id, sender,"
    " recipient, client_ip, verdict, reasons, detail, size)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

static const char sql_t_messages[] =
    "SELECT t.msg, max(t.message_id), max(t.sender),"
    " replace(group_concat(DISTINCT NULLIF(t.recipient, '')), ',', ', '),"
    " max(t.client_ip), min(t.time), max(t.time), max(t.size), count(*),"
    " (SELECT l.kind FROM trace_event l WHERE l.msg = t.msg ORDER BY l.time DESC, l.id DESC"
    "  LIMIT 1),"
    " sum(t.kind = 'delivered'), sum(t.kind IN ('failed', 'rejected'))"
    " FROM trace_event t"
    " WHERE (?1 = 0 OR t.msg IN (SELECT s.msg FROM trace_event s WHERE s.time >= ?1"
    "  AND (?2 = 0 OR s.time < ?2)))"
    " GROUP BY t.msg"
    " HAVING (?1 = 0 OR min(t.time) >= ?1) AND (?2 = 0 OR min(t.time) < ?2)"
    " AND (?3 IS NULL OR sum(t.sender = ?3 COLLATE NOCASE) > 0)"
    " AND (?4 IS NULL OR sum(t.recipient = ?4 COLLATE NOCASE) > 0)"
    " AND (?5 IS NULL OR t.msg = ?5 OR sum(t.message_id = ?5) > 0"
    "  OR sum(t.session_id = ?5) > 0)"
    " ORDER BY min(t.time) DESC, t.msg DESC LIMIT ?6";

static const char sql_t_events[] =
    "SELECT time, kind, spool_id, session_id, message_id, sender, recipient, client_ip, verdict,"
    " reasons, detail, size FROM trace_event"
    " WHERE msg = ?1 OR message_id = ?1 OR session_id = ?1 ORDER BY time, id";

static const char sql_t_expire[] = "DELETE FROM trace_event WHERE time < ?1";

int store_sqlite_trace_add(struct store *st, const struct store_trace_event *ev, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_t_add, err);
	const char *msg =
	    ev->spool_id != NULL && ev->spool_id[0] != '\0' ? ev->spool_id : ev->session_id;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, ev->time);
	store_sqlite_text(s, 2, msg);
	store_sqlite_text(s, 3, store_trace_kind_name(ev->kind));
	store_sqlite_text_nz(s, 4, ev->spool_id);
	store_sqlite_text_nz(s, 5, ev->session_id);
	store_sqlite_text_nz(s, 6, ev->message_id);
	store_sqlite_text_nz(s, 7, ev->sender);
	store_sqlite_text_nz(s, 8, ev->recipient);
	store_sqlite_text_nz(s, 9, ev->client_ip);
	store_sqlite_text_nz(s, 10, ev->verdict);
	store_sqlite_text_nz(s, 11, ev->reasons);
	store_sqlite_text_nz(s, 12, ev->detail);
	sqlite3_bind_int64(s, 13, (sqlite3_int64)ev->size);
	return store_sqlite_step_done(sq, s, "trace add", err);
}

/* trace_status - the final status of a message from its last event */
static const char *trace_status(const char *last, int64_t delivered, int64_t failed)
{
	if (strcmp(last, "delivered") == 0)
		return failed > 0 ? "partial" : "delivered";
	if (strcmp(last, "failed") == 0)
		return delivered > 0 ? "partial" : "failed";
	if (strcmp(last, "received") == 0 || strcmp(last, "accepted") == 0)
		return "pending";
	return last; /* quarantined released rejected deferred expired deleted */
}

int store_sqlite_trace_messages(struct store *st, const struct store_trace_filter *f,
                                store_trace_message_cb cb, void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_t_messages, err);
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, f->since);
	sqlite3_bind_int64(s, 2, f->until);
	store_sqlite_text(s, 3, f->sender);
	store_sqlite_text(s, 4, f->recipient);
	store_sqlite_text(s, 5, f->message_id);
	sqlite3_bind_int64(s, 6, f->limit > 0 ? (sqlite3_int64)f->limit : -1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_trace_message m = {
			.key = store_sqlite_col(s, 0),
			.message_id = store_sqlite_col(s, 1),
			.sender = store_sqlite_col(s, 2),
			.recipients = store_sqlite_col(s, 3),
			.client_ip = store_sqlite_col(s, 4),
			.first = sqlite3_column_int64(s, 5),
			.last = sqlite3_column_int64(s, 6),
			.size = (uint64_t)sqlite3_column_int64(s, 7),
			.events = (uint64_t)sqlite3_column_int64(s, 8),
		};
		m.status = trace_status(store_sqlite_col(s, 9), sqlite3_column_int64(s, 10),
		                        sqlite3_column_int64(s, 11));
		ret = cb(&m, arg);
		if (ret != 0)
			break;
	}
	return store_sqlite_rows_end(sq, s, rc, ret, "trace messages", err);
}

int store_sqlite_trace_events(struct store *st, const char *key, store_trace_event_cb cb, void *arg,
                              struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_t_events, err);
	size_t rows = 0;
	int rc, ret = 0, k;

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, key);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_trace_event ev = {
			.time = sqlite3_column_int64(s, 0),
			.spool_id = store_sqlite_col(s, 2),
			.session_id = store_sqlite_col(s, 3),
			.message_id = store_sqlite_col(s, 4),
			.sender = store_sqlite_col(s, 5),
			.recipient = store_sqlite_col(s, 6),
			.client_ip = store_sqlite_col(s, 7),
			.verdict = store_sqlite_col(s, 8),
			.reasons = store_sqlite_col(s, 9),
			.detail = store_sqlite_col(s, 10),
			.size = (uint64_t)sqlite3_column_int64(s, 11),
		};
		const char *kind = store_sqlite_col(s, 1);
		for (k = 0; store_trace_kind_name((enum store_trace_kind)k) != NULL; k++)
			if (strcmp(kind, store_trace_kind_name((enum store_trace_kind)k)) == 0)
				break;
		ev.kind = (enum store_trace_kind)k;
		rows++;
		ret = cb(&ev, arg);
		if (ret != 0)
			break;
	}
	ret = store_sqlite_rows_end(sq, s, rc, ret, "trace events", err);
	return ret == 0 && rows == 0 ? 1 : ret;
}

int store_sqlite_trace_expire(struct store *st, int64_t before, uint64_t *removed,
                              struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_t_expire, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, before);
	if (store_sqlite_step_done(sq, s, "trace expire", err) < 0)
		return -1;
	if (removed != NULL)
		*removed = (uint64_t)sqlite3_changes(sq->db);
	return 0;
}
