/*
 * store_sqlite_mtasts - the MTA-STS policy cache of the SQLite backend
 *
 * mtasts_policy (migration 3) keeps one row per policy domain: the last
 * policy fetched, the TXT id it was fetched under and its expiry.  A new
 * fetch replaces the row; the refresh timer walks the expiry index.
 */
#include "store/store_sqlite.h"

static const char sql_m_put[] =
    "INSERT INTO mtasts_policy (domain, id, policy, fetched, expires) VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT(domain) DO UPDATE SET id = excluded.id, policy = excluded.policy,"
    " fetched = excluded.fetched, expires = excluded.expires";
static const char sql_m_get[] =
    "SELECT domain, id, policy, fetched, expires FROM mtasts_policy WHERE domain = ?1";
static const char sql_m_expiring[] =
    "SELECT domain, id, policy, fetched, expires FROM mtasts_policy"
    " WHERE expires >= ?1 AND expires < ?2 ORDER BY expires, domain LIMIT ?3";
static const char sql_m_delete[] = "DELETE FROM mtasts_policy WHERE domain = ?1";

int store_sqlite_mtasts_put(struct store *st, const struct store_mtasts *p, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_m_put, err);

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, p->domain);
	store_sqlite_text(s, 2, p->id);
	store_sqlite_text(s, 3, p->policy);
	sqlite3_bind_int64(s, 4, p->fetched);
	sqlite3_bind_int64(s, 5, p->expires);
	return store_sqlite_step_done(sq, s, "mta-sts put", err);
}

/* rows - call cb for each row of s; 1 when there was none and none_is_1 */
static int rows(struct store_sqlite *sq, sqlite3_stmt *s, store_mtasts_cb cb, void *arg,
                bool none_is_1, struct sx_err *err)
{
	size_t n = 0;
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_mtasts p = {
			.domain = store_sqlite_col(s, 0),
			.id = store_sqlite_col(s, 1),
			.policy = store_sqlite_col(s, 2),
			.fetched = sqlite3_column_int64(s, 3),
			.expires = sqlite3_column_int64(s, 4),
		};
		n++;
		ret = cb(&p, arg);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_sqlite_error(sq, err, "mta-sts read");
	sqlite3_reset(s);
	if (ret == 0 && n == 0 && none_is_1)
		return 1;
	return ret;
}

int store_sqlite_mtasts_get(struct store *st, const char *domain, store_mtasts_cb cb, void *arg,
                            struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_m_get, err);

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, domain);
	return rows(sq, s, cb, arg, true, err);
}

int store_sqlite_mtasts_expiring(struct store *st, int64_t after, int64_t before, size_t limit,
                                 store_mtasts_cb cb, void *arg, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_m_expiring, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, before);
	sqlite3_bind_int64(s, 3, limit > 0 ? (sqlite3_int64)limit : -1);
	return rows(sq, s, cb, arg, false, err);
}

int store_sqlite_mtasts_delete(struct store *st, const char *domain, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	sqlite3_stmt *s = store_sqlite_stmt(sq, sql_m_delete, err);

	if (s == NULL)
		return -1;
	store_sqlite_text(s, 1, domain);
	if (store_sqlite_step_done(sq, s, "mta-sts delete", err) < 0)
		return -1;
	return sqlite3_changes(sq->db) > 0 ? 0 : 1;
}
