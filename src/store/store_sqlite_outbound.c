/*
 * store_sqlite_outbound - the outbound sender counters, the restricted
 * senders and the directory table in SQLite (schema: migration 5)
 *
 * sender_count has one row per sender and clock hour (hour = the hour's
 * first second); the day's count is a sum over at most 24 rows of the
 * primary key.  Rows older than two days go when the sender is counted
 * again, so the table holds about two days of active senders.
 */
#include <string.h>

#include "store/store_sqlite.h"

#define HOUR 3600
#define DAY  86400

static const char sql_o_counts[] =
    "SELECT coalesce(sum(CASE WHEN hour = ?2 THEN external END), 0),"
    " coalesce(sum(CASE WHEN hour = ?2 THEN internal END), 0),"
    " coalesce(sum(external + internal), 0)"
    " FROM sender_count WHERE sender = ?1 AND hour >= ?3 AND hour < ?3 + 86400";
static const char sql_o_add[] =
    "INSERT INTO sender_count (sender, hour, external, internal) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (sender, hour) DO UPDATE SET external = external + excluded.external,"
    " internal = internal + excluded.internal";
static const char sql_o_prune[] = "DELETE FROM sender_count WHERE sender = ?1 AND hour < ?2";
static const char sql_r_add[] =
    "INSERT INTO restricted_sender (sender, since, until, reason) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (sender) DO UPDATE SET since = excluded.since, until = excluded.until,"
    " reason = excluded.reason";
static const char sql_r_get[] = "SELECT sender, since, until, reason FROM restricted_sender"
                                " WHERE sender = ?1 AND (until = 0 OR until > ?2)";
static const char sql_r_list[] = "SELECT sender, since, until, reason FROM restricted_sender"
                                 " WHERE until = 0 OR until > ?1 ORDER BY since DESC, sender";
static const char sql_r_release[] = "DELETE FROM restricted_sender WHERE sender = ?1";
static const char sql_d_add[] =
    "INSERT INTO directory_entry (address, target) VALUES (?1, ?2)"
    " ON CONFLICT (address) DO UPDATE SET address = excluded.address, target = excluded.target";
static const char sql_d_remove[] = "DELETE FROM directory_entry WHERE address = ?1";
static const char sql_d_list[] = "SELECT address, target FROM directory_entry ORDER BY address";
static const char sql_d_version[] = "SELECT version FROM directory_version WHERE id = 1";

/* store_sqlite_o_write - run one write statement s (bound) in its own
 * transaction unless the caller has one; changes in *changed */
static int store_sqlite_o_write(struct store_sqlite *sq, sqlite3_stmt *s, const char *what,
                                int *changed, struct sx_err *err)
{
	bool own;
	int rc;

	if (store_sqlite_write_begin(sq, &own, err) < 0) {
		sqlite3_reset(s);
		return -1;
	}
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_sqlite_error(sq, err, what);
		store_sqlite_write_end(sq, own, false, NULL);
		return -1;
	}
	if (changed != NULL)
		*changed = sqlite3_changes(sq->db);
	return store_sqlite_write_end(sq, own, true, err);
}

int store_sqlite_sender_counts(struct store *st, const char *sender, int64_t now,
                               struct store_sender_counts *out, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_o_counts, err);
	int rc;

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, sender);
	sqlite3_bind_int64(s, 2, now - now % HOUR);
	sqlite3_bind_int64(s, 3, now - now % DAY);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->hour_external = (uint64_t)sqlite3_column_int64(s, 0);
		out->hour_internal = (uint64_t)sqlite3_column_int64(s, 1);
		out->day = (uint64_t)sqlite3_column_int64(s, 2);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : store_sqlite_error(sq, err, "sender counts");
}

int store_sqlite_sender_count_add(struct store *st, const char *sender, int64_t now,
                                  uint64_t external, uint64_t internal, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s;
	bool own;

	if (store_sqlite_write_begin(sq, &own, err) < 0)
		return -1;
	s = store_sqlite_stmt(sq, sql_o_prune, err);
	if (s == NULL)
		goto fail;
	store_sqlite_text(s, 1, sender);
	sqlite3_bind_int64(s, 2, now - now % DAY - DAY);
	if (store_sqlite_step_done(sq, s, "sender count prune", err) < 0)
		goto fail;
	s = store_sqlite_stmt(sq, sql_o_add, err);
	if (s == NULL)
		goto fail;
	store_sqlite_text(s, 1, sender);
	sqlite3_bind_int64(s, 2, now - now % HOUR);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)external);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)internal);
	if (store_sqlite_step_done(sq, s, "sender count add", err) < 0)
		goto fail;
	return store_sqlite_write_end(sq, own, true, err);
fail:
	store_sqlite_write_end(sq, own, false, NULL);
	return -1;
}

int store_sqlite_restricted_add(struct store *st, const struct store_restricted *r,
                                struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_r_add, err);

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, r->sender);
	sqlite3_bind_int64(s, 2, r->since);
	sqlite3_bind_int64(s, 3, r->until);
	store_sqlite_text(s, 4, r->reason != NULL ? r->reason : "");
	return store_sqlite_o_write(sq, s, "restricted add", NULL, err);
}

/* store_sqlite_r_rows - every row of s (bound) to cb; the count in *n */
static int store_sqlite_r_rows(struct store_sqlite *sq, sqlite3_stmt *s, store_restricted_cb cb,
                               void *arg, size_t *n, struct sx_err *err)
{
	struct store_restricted r;
	int rc, ret = 0;

	*n = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r.sender = store_sqlite_col(s, 0);
		r.since = sqlite3_column_int64(s, 1);
		r.until = sqlite3_column_int64(s, 2);
		r.reason = store_sqlite_col(s, 3);
		(*n)++;
		if (cb != NULL && (ret = cb(&r, arg)) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_reset(s);
		return store_sqlite_error(sq, err, "restricted senders");
	}
	sqlite3_reset(s);
	return ret;
}

int store_sqlite_restricted_get(struct store *st, const char *sender, int64_t now,
                                store_restricted_cb cb, void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_r_get, err);
	size_t n;
	int rc;

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, sender);
	sqlite3_bind_int64(s, 2, now);
	rc = store_sqlite_r_rows(sq, s, cb, arg, &n, err);
	if (rc != 0)
		return rc;
	return n > 0 ? 0 : 1;
}

int store_sqlite_restricted_list(struct store *st, int64_t now, store_restricted_cb cb, void *arg,
                                 struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_r_list, err);
	size_t n;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	return store_sqlite_r_rows(sq, s, cb, arg, &n, err);
}

int store_sqlite_restricted_release(struct store *st, const char *sender, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_r_release, err);
	int changed = 0;

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, sender);
	if (store_sqlite_o_write(sq, s, "restricted release", &changed, err) < 0)
		return -1;
	return changed > 0 ? 0 : 1;
}

int store_sqlite_directory_add(struct store *st, const char *address, const char *target,
                               struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_d_add, err);

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, address);
	store_sqlite_text(s, 2, target);
	return store_sqlite_o_write(sq, s, "directory add", NULL, err);
}

int store_sqlite_directory_remove(struct store *st, const char *address, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_d_remove, err);
	int changed = 0;

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, address);
	if (store_sqlite_o_write(sq, s, "directory remove", &changed, err) < 0)
		return -1;
	return changed > 0 ? 0 : 1;
}

int store_sqlite_directory_list(struct store *st, store_directory_cb cb, void *arg,
                                struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_d_list, err);
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((ret = cb(store_sqlite_col(s, 0), store_sqlite_col(s, 1), arg)) != 0)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_reset(s);
		return store_sqlite_error(sq, err, "directory list");
	}
	sqlite3_reset(s);
	return ret;
}

int store_sqlite_directory_version(struct store *st, uint64_t *version, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_d_version, err);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	*version = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : store_sqlite_error(sq, err, "directory version");
}
