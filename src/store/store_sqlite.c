/*
 * store_sqlite - the embedded SQLite backend of the store (one node)
 *
 * One struct store_sqlite per connection.  At open: the database file
 * is created with mode 0600 before SQLite sees it, WAL journalling (so
 * readers never wait for the writer), a busy timeout for the writer lock
 * other processes hold, foreign keys on, and the migrations below applied
 * in one IMMEDIATE transaction (two processes opening a new database at
 * once serialise there; the second finds the work done).
 *
 * Statements are prepared once per connection and cached by the address
 * of their SQL text (store_sqlite_stmt).  Every write runs in a
 * transaction: the caller's (store_begin) or one of its own.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_sqlite.h"

/* ---- migrations ------------------------------------------------------- */

/*
 * Append, never edit: a database at version N has run exactly the first
 * N entries.  Each concern adds its tables in a new entry.
 */
const struct store_sqlite_migration store_sqlite_migrations[] = {
	{ 1,
	  /* DMARC as a receiver: one row per evaluated message until reported */
	  "CREATE TABLE dmarc_sent ("
	  " id INTEGER PRIMARY KEY,"
	  " policy_domain TEXT NOT NULL,"
	  " begin INTEGER NOT NULL,"
	  " end INTEGER NOT NULL,"
	  " report_id TEXT NOT NULL UNIQUE,"
	  " destinations TEXT NOT NULL DEFAULT '',"
	  " created INTEGER NOT NULL,"
	  " messages INTEGER NOT NULL,"
	  " note TEXT);"
	  "CREATE TABLE dmarc_event ("
	  " id INTEGER PRIMARY KEY,"
	  " time INTEGER NOT NULL,"
	  " policy_domain TEXT NOT NULL,"
	  " record TEXT NOT NULL,"
	  " source_ip TEXT NOT NULL,"
	  " header_from TEXT NOT NULL,"
	  " envelope_from TEXT NOT NULL DEFAULT '',"
	  " envelope_to TEXT NOT NULL DEFAULT '',"
	  " disposition TEXT NOT NULL,"
	  " dkim_eval TEXT NOT NULL,"
	  " spf_eval TEXT NOT NULL,"
	  " reason TEXT NOT NULL DEFAULT '',"
	  " reason_comment TEXT NOT NULL DEFAULT '',"
	  " dkim TEXT NOT NULL DEFAULT '',"
	  " spf TEXT NOT NULL DEFAULT '',"
	  " sent_id INTEGER REFERENCES dmarc_sent(id));"
	  "CREATE INDEX dmarc_event_unsent ON dmarc_event(policy_domain, time)"
	  " WHERE sent_id IS NULL;"
	  /* DMARC as a domain owner: the aggregate reports others sent us */
	  "CREATE TABLE dmarc_report ("
	  " id INTEGER PRIMARY KEY,"
	  " org_name TEXT NOT NULL,"
	  " email TEXT,"
	  " extra_contact_info TEXT,"
	  " report_id TEXT NOT NULL,"
	  " begin INTEGER NOT NULL,"
	  " end INTEGER NOT NULL,"
	  " domain TEXT NOT NULL,"
	  " adkim TEXT, aspf TEXT, p TEXT, sp TEXT, np TEXT, fo TEXT,"
	  " pct INTEGER,"
	  " source TEXT,"
	  " imported INTEGER NOT NULL,"
	  " UNIQUE (org_name, report_id));"
	  "CREATE INDEX dmarc_report_domain ON dmarc_report(domain, end);"
	  "CREATE TABLE dmarc_report_row ("
	  " id INTEGER PRIMARY KEY,"
	  " report INTEGER NOT NULL REFERENCES dmarc_report(id) ON DELETE CASCADE,"
	  " source_ip TEXT NOT NULL,"
	  " count INTEGER NOT NULL,"
	  " disposition TEXT NOT NULL DEFAULT '',"
	  " dkim_eval TEXT NOT NULL DEFAULT '',"
	  " spf_eval TEXT NOT NULL DEFAULT '',"
	  " reasons TEXT NOT NULL DEFAULT '',"
	  " header_from TEXT NOT NULL DEFAULT '',"
	  " envelope_from TEXT NOT NULL DEFAULT '',"
	  " envelope_to TEXT NOT NULL DEFAULT '',"
	  " dkim TEXT NOT NULL DEFAULT '',"
	  " spf TEXT NOT NULL DEFAULT '',"
	  " dkim_pass INTEGER NOT NULL,"
	  " spf_pass INTEGER NOT NULL);"
	  "CREATE INDEX dmarc_report_row_report ON dmarc_report_row(report);" },
	{ 2,
	  /* quarantine: the index of what the spool's quarantine/ holds */
	  "CREATE TABLE quarantine ("
	  " id TEXT PRIMARY KEY,"
	  " message_id TEXT NOT NULL DEFAULT '',"
	  " sender TEXT NOT NULL DEFAULT '',"
	  " recipients TEXT NOT NULL DEFAULT '',"
	  " subject TEXT NOT NULL DEFAULT '',"
	  " reasons TEXT NOT NULL DEFAULT '',"
	  " policy TEXT NOT NULL DEFAULT '',"
	  " verdict TEXT NOT NULL DEFAULT '',"
	  " received INTEGER NOT NULL,"
	  " expires INTEGER NOT NULL,"
	  " size INTEGER NOT NULL DEFAULT 0,"
	  " released INTEGER NOT NULL DEFAULT 0,"
	  " released_at INTEGER NOT NULL DEFAULT 0,"
	  " released_by TEXT NOT NULL DEFAULT '',"
	  " released_to TEXT NOT NULL DEFAULT '');"
	  "CREATE INDEX quarantine_received ON quarantine(received);"
	  "CREATE INDEX quarantine_expires ON quarantine(expires);"
	  "CREATE TABLE quarantine_rcpt ("
	  " qid TEXT NOT NULL REFERENCES quarantine(id) ON DELETE CASCADE,"
	  " rcpt TEXT NOT NULL COLLATE NOCASE,"
	  " PRIMARY KEY (qid, rcpt));"
	  "CREATE INDEX quarantine_rcpt_addr ON quarantine_rcpt(rcpt);"
	  /* message trace: one row per event, grouped by msg (spool id, else
	   * session id) */
	  "CREATE TABLE trace_event ("
	  " id INTEGER PRIMARY KEY,"
	  " time INTEGER NOT NULL,"
	  " msg TEXT NOT NULL,"
	  " kind TEXT NOT NULL,"
	  " spool_id TEXT NOT NULL DEFAULT '',"
	  " session_id TEXT NOT NULL DEFAULT '',"
	  " message_id TEXT NOT NULL DEFAULT '',"
	  " sender TEXT NOT NULL DEFAULT '',"
	  " recipient TEXT NOT NULL DEFAULT '',"
	  " client_ip TEXT NOT NULL DEFAULT '',"
	  " verdict TEXT NOT NULL DEFAULT '',"
	  " reasons TEXT NOT NULL DEFAULT '',"
	  " detail TEXT NOT NULL DEFAULT '',"
	  " size INTEGER NOT NULL DEFAULT 0);"
	  "CREATE INDEX trace_event_msg ON trace_event(msg, time);"
	  "CREATE INDEX trace_event_time ON trace_event(time);"
	  "CREATE INDEX trace_event_message_id ON trace_event(message_id) WHERE message_id != "
	  "'';" },
	/* 3-5 are reserved while the delivery work lands: each concern fills its
	 * own entry (3 MTA-STS policy cache, 4 TLS-RPT results, 5 directory and
	 * outbound sender counters); an empty entry only moves the version */
	{ 3,
	  /* MTA-STS (RFC 8461): the last policy fetched per domain */
	  "CREATE TABLE mtasts_policy ("
	  " domain TEXT PRIMARY KEY,"
	  " id TEXT NOT NULL,"
	  " policy TEXT NOT NULL,"
	  " fetched INTEGER NOT NULL,"
	  " expires INTEGER NOT NULL);"
	  "CREATE INDEX mtasts_policy_expires ON mtasts_policy(expires);" },
	{ 4,
	  /* TLS-RPT as a sending MTA: session counters per UTC day and policy,
	   * failure details per counter, what became of each report per rua */
	  "CREATE TABLE tlsrpt_counter ("
	  " id INTEGER PRIMARY KEY,"
	  " day INTEGER NOT NULL,"
	  " policy_domain TEXT NOT NULL,"
	  " policy_type TEXT NOT NULL,"
	  " policy_string TEXT NOT NULL DEFAULT '',"
	  " mx_host TEXT NOT NULL DEFAULT '',"
	  " successful INTEGER NOT NULL DEFAULT 0,"
	  " failed INTEGER NOT NULL DEFAULT 0,"
	  " report_id TEXT);"
	  "CREATE UNIQUE INDEX tlsrpt_counter_unsent ON tlsrpt_counter(day, policy_domain,"
	  " policy_type, policy_string, mx_host) WHERE report_id IS NULL;"
	  "CREATE INDEX tlsrpt_counter_domain ON tlsrpt_counter(policy_domain, day);"
	  "CREATE TABLE tlsrpt_failure ("
	  " counter INTEGER NOT NULL REFERENCES tlsrpt_counter(id) ON DELETE CASCADE,"
	  " result_type TEXT NOT NULL,"
	  " sending_mta_ip TEXT NOT NULL DEFAULT '',"
	  " receiving_mx_hostname TEXT NOT NULL DEFAULT '',"
	  " receiving_mx_helo TEXT NOT NULL DEFAULT '',"
	  " receiving_ip TEXT NOT NULL DEFAULT '',"
	  " additional_information TEXT NOT NULL DEFAULT '',"
	  " failure_reason_code TEXT NOT NULL DEFAULT '',"
	  " count INTEGER NOT NULL,"
	  " UNIQUE (counter, result_type, sending_mta_ip, receiving_mx_hostname,"
	  " receiving_mx_helo, receiving_ip, additional_information, failure_reason_code));"
	  "CREATE TABLE tlsrpt_dest ("
	  " policy_domain TEXT NOT NULL,"
	  " begin INTEGER NOT NULL,"
	  " uri TEXT NOT NULL,"
	  " report_id TEXT NOT NULL,"
	  " status TEXT NOT NULL,"
	  " note TEXT NOT NULL DEFAULT '',"
	  " tries INTEGER NOT NULL DEFAULT 0,"
	  " time INTEGER NOT NULL,"
	  " PRIMARY KEY (policy_domain, begin, uri));"
	  /* TLS-RPT as a policy domain: the reports others sent us */
	  "CREATE TABLE tlsrpt_report ("
	  " id INTEGER PRIMARY KEY,"
	  " org_name TEXT NOT NULL,"
	  " contact_info TEXT NOT NULL DEFAULT '',"
	  " report_id TEXT NOT NULL,"
	  " begin INTEGER NOT NULL,"
	  " end INTEGER NOT NULL,"
	  " source TEXT NOT NULL DEFAULT '',"
	  " imported INTEGER NOT NULL,"
	  " UNIQUE (org_name, report_id));"
	  "CREATE INDEX tlsrpt_report_end ON tlsrpt_report(end);"
	  "CREATE TABLE tlsrpt_report_policy ("
	  " id INTEGER PRIMARY KEY,"
	  " report INTEGER NOT NULL REFERENCES tlsrpt_report(id) ON DELETE CASCADE,"
	  " policy_type TEXT NOT NULL,"
	  " policy_domain TEXT NOT NULL DEFAULT '',"
	  " policy_string TEXT NOT NULL DEFAULT '',"
	  " mx_host TEXT NOT NULL DEFAULT '',"
	  " successful INTEGER NOT NULL,"
	  " failed INTEGER NOT NULL);"
	  "CREATE INDEX tlsrpt_report_policy_report ON tlsrpt_report_policy(report);"
	  "CREATE INDEX tlsrpt_report_policy_domain ON tlsrpt_report_policy(policy_domain);"
	  "CREATE TABLE tlsrpt_report_failure ("
	  " policy INTEGER NOT NULL REFERENCES tlsrpt_report_policy(id) ON DELETE CASCADE,"
	  " result_type TEXT NOT NULL,"
	  " sending_mta_ip TEXT NOT NULL DEFAULT '',"
	  " receiving_mx_hostname TEXT NOT NULL DEFAULT '',"
	  " receiving_mx_helo TEXT NOT NULL DEFAULT '',"
	  " receiving_ip TEXT NOT NULL DEFAULT '',"
	  " additional_information TEXT NOT NULL DEFAULT '',"
	  " failure_reason_code TEXT NOT NULL DEFAULT '',"
	  " count INTEGER NOT NULL);"
	  "CREATE INDEX tlsrpt_report_failure_policy ON tlsrpt_report_failure(policy);" },
	/* 5: the directory of edge blocking (and its change counter, bumped by
	 * triggers so a gateway's cache knows when to reload), the outbound
	 * spam counters per sender and clock hour, and the restricted senders */
	{ 5, "CREATE TABLE directory_entry ("
	     " address TEXT PRIMARY KEY COLLATE NOCASE,"
	     " target TEXT NOT NULL DEFAULT '');"
	     "CREATE TABLE directory_version ("
	     " id INTEGER PRIMARY KEY CHECK (id = 1),"
	     " version INTEGER NOT NULL);"
	     "INSERT INTO directory_version VALUES (1, 0);"
	     "CREATE TRIGGER directory_entry_ins AFTER INSERT ON directory_entry BEGIN"
	     " UPDATE directory_version SET version = version + 1; END;"
	     "CREATE TRIGGER directory_entry_upd AFTER UPDATE ON directory_entry BEGIN"
	     " UPDATE directory_version SET version = version + 1; END;"
	     "CREATE TRIGGER directory_entry_del AFTER DELETE ON directory_entry BEGIN"
	     " UPDATE directory_version SET version = version + 1; END;"
	     "CREATE TABLE sender_count ("
	     " sender TEXT NOT NULL COLLATE NOCASE,"
	     " hour INTEGER NOT NULL,"
	     " external INTEGER NOT NULL DEFAULT 0,"
	     " internal INTEGER NOT NULL DEFAULT 0,"
	     " PRIMARY KEY (sender, hour));"
	     "CREATE INDEX sender_count_hour ON sender_count(hour);"
	     "CREATE TABLE restricted_sender ("
	     " sender TEXT PRIMARY KEY COLLATE NOCASE,"
	     " since INTEGER NOT NULL,"
	     " until INTEGER NOT NULL DEFAULT 0,"
	     " reason TEXT NOT NULL DEFAULT '');" },
};
const size_t store_sqlite_nmigrations =
    sizeof(store_sqlite_migrations) / sizeof(store_sqlite_migrations[0]);

/* ---- helpers shared with store_sqlite_*.c ------------------------------ */

int store_sqlite_error(struct store_sqlite *sq, struct sx_err *err, const char *what)
{
	sx_err_set(err, "%s: %s", what, sq->db ? sqlite3_errmsg(sq->db) : "no database");
	return -1;
}

sqlite3_stmt *store_sqlite_stmt(struct store_sqlite *sq, const char *sql, struct sx_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;

	for (i = 0; i < sq->ncache; i++)
		if (sq->cache[i].sql == sql) {
			sqlite3_reset(sq->cache[i].stmt);
			sqlite3_clear_bindings(sq->cache[i].stmt);
			return sq->cache[i].stmt;
		}
	if (sq->ncache >= STORE_SQLITE_MAX_STMTS) {
		sx_err_set(err, "store: more than %d statements", STORE_SQLITE_MAX_STMTS);
		return NULL;
	}
	if (sqlite3_prepare_v3(sq->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		store_sqlite_error(sq, err, "prepare");
		sqlite3_finalize(st);
		return NULL;
	}
	sq->cache[sq->ncache].sql = sql;
	sq->cache[sq->ncache].stmt = st;
	sq->ncache++;
	return st;
}

int store_sqlite_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int store_sqlite_report_import(struct store_sqlite *sq, const char *sql_find, const char *org,
                               const char *report_id, const char *what,
                               int (*add)(struct store_sqlite *, const void *, struct sx_err *),
                               const void *arg, struct sx_err *err)
{
	sqlite3_stmt *s;
	bool own;
	int ret = -1;

	if (store_sqlite_write_begin(sq, &own, err) < 0)
		return -1;
	s = store_sqlite_stmt(sq, sql_find, err);
	if (s != NULL) {
		store_sqlite_text(s, 1, org);
		store_sqlite_text(s, 2, report_id);
		ret = store_sqlite_step_exists(sq, s, what, err);
		if (ret == 0) /* 1: a duplicate, nothing to write */
			ret = add(sq, arg, err);
	}
	if (store_sqlite_write_end(sq, own, ret >= 0, err) < 0)
		return -1;
	return ret;
}

int store_sqlite_rows_end(struct store_sqlite *sq, sqlite3_stmt *s, int rc, int ret,
                          const char *what, struct sx_err *err)
{
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_sqlite_error(sq, err, what);
	sqlite3_reset(s);
	return ret;
}

int store_sqlite_text_nz(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s != NULL ? s : "", -1, SQLITE_STATIC);
}

int store_sqlite_step_done(struct store_sqlite *sq, sqlite3_stmt *s, const char *what,
                           struct sx_err *err)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return store_sqlite_error(sq, err, what);
	return 0;
}

int store_sqlite_step_exists(struct store_sqlite *sq, sqlite3_stmt *s, const char *what,
                             struct sx_err *err)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return store_sqlite_error(sq, err, what);
	return 0;
}

const char *store_sqlite_col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s == NULL ? "" : (const char *)s;
}

static int store_sqlite_exec(struct store_sqlite *sq, const char *sql, struct sx_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(sq->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sx_err_set(err, "%s", msg ? msg : sqlite3_errmsg(sq->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * store_sqlite_wal - switch to WAL.  Switching needs the database to
 * itself, and SQLite answers "database is locked" at once, without its busy
 * handler, while another connection opening the same new file holds a lock
 * (processes starting together); so wait and try again within the timeout.
 */
static int store_sqlite_wal(struct store_sqlite *sq, unsigned timeout_ms, struct sx_err *err)
{
	unsigned waited = 0;
	char *msg = NULL;
	int rc;

	for (;;) {
		rc = sqlite3_exec(sq->db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY || waited >= timeout_ms) {
			sx_err_set(err, "%s", msg ? msg : sqlite3_errmsg(sq->db));
			sqlite3_free(msg);
			return -1;
		}
		sqlite3_free(msg);
		msg = NULL;
		usleep(10 * 1000);
		waited += 10;
	}
}

int store_sqlite_write_begin(struct store_sqlite *sq, bool *own, struct sx_err *err)
{
	*own = !sq->in_tx;
	if (!*own)
		return 0;
	/* IMMEDIATE takes the write lock now, so the busy timeout covers the
	 * whole transaction instead of failing at its first write */
	return store_sqlite_exec(sq, "BEGIN IMMEDIATE", err);
}

int store_sqlite_write_end(struct store_sqlite *sq, bool own, bool ok, struct sx_err *err)
{
	if (!own)
		return ok ? 0 : -1;
	if (ok && store_sqlite_exec(sq, "COMMIT", err) == 0)
		return 0;
	sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* ---- open, migrate, close --------------------------------------------- */

/* store_sqlite_create - create path with mode 0600 unless it exists */
static int store_sqlite_create(const char *path, struct sx_err *err)
{
	int fd;

	if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		sx_err_set(err, "%s: %m", path);
		return -1;
	}
	close(fd);
	return 0;
}

static int store_sqlite_migrate(struct store_sqlite *sq, const struct store_sqlite_migration *m,
                                size_t n, const char *path, struct sx_err *err)
{
	sqlite3_stmt *st = NULL;
	int version = 0, target = n > 0 ? m[n - 1].version : 0;
	size_t i;
	char what[128];

	if (store_sqlite_exec(sq, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (store_sqlite_exec(
	        sq, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", err) <
	    0)
		goto fail;
	if (sqlite3_prepare_v2(sq->db, "SELECT max(version) FROM schema_version", -1, &st, NULL) !=
	        SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		store_sqlite_error(sq, err, "schema_version");
		goto fail;
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version > target) {
		sx_err_set(err, "%s: schema version %d is newer than this smexop (%d)", path,
		           version, target);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (m[i].version <= version)
			continue;
		if (store_sqlite_exec(sq, m[i].sql, err) < 0) {
			char msg[sizeof(err->msg)];
			snprintf(msg, sizeof(msg), "%s", err->msg);
			sx_err_set(err, "%s: migration to version %d: %s", path, m[i].version, msg);
			goto fail;
		}
	}
	if (target > version) {
		snprintf(what, sizeof(what),
		         "DELETE FROM schema_version;"
		         "INSERT INTO schema_version VALUES (%d)",
		         target);
		if (store_sqlite_exec(sq, what, err) < 0)
			goto fail;
	}
	if (store_sqlite_exec(sq, "COMMIT", err) < 0)
		goto fail;
	sq->version = target;
	return 0;
fail:
	sqlite3_finalize(st);
	sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static void store_sqlite_close(struct store *st)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;
	size_t i;

	for (i = 0; i < sq->ncache; i++)
		sqlite3_finalize(sq->cache[i].stmt);
	sqlite3_close_v2(sq->db);
	free(sq);
}

struct store *store_sqlite_open_with(const struct store_options *opts,
                                     const struct store_sqlite_migration *m, size_t n,
                                     struct sx_err *err)
{
	struct store_sqlite *sq;
	char msg[sizeof(err->msg)];
	int rc;

	if (store_sqlite_create(opts->path, err) < 0)
		return NULL;
	sq = calloc(1, sizeof(*sq));
	if (sq == NULL) {
		sx_err_set(err, "store: out of memory");
		return NULL;
	}
	sq->base.ops = &store_sqlite_ops;
	rc = sqlite3_open_v2(opts->path, &sq->db,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
	                         SQLITE_OPEN_URI,
	                     NULL);
	if (rc != SQLITE_OK) {
		sx_err_set(err, "%s: %s", opts->path,
		           sq->db ? sqlite3_errmsg(sq->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(sq->db, 1);
	sqlite3_busy_timeout(sq->db, opts->busy_timeout_ms ? (int)opts->busy_timeout_ms
	                                                   : STORE_DEFAULT_BUSY_MS);
	/*
	 * WAL with synchronous=NORMAL: a write no longer waits for an fsync
	 * of the log (the log is synced at checkpoints), so the gateway's
	 * per-message trace rows cost microseconds, not a disk flush.  A
	 * process crash loses nothing; a power failure may lose the last
	 * transactions, never the database.  What must survive a power
	 * failure (the messages) is in the fsync'd spool, not here.
	 */
	if (store_sqlite_wal(sq,
	                     opts->busy_timeout_ms ? opts->busy_timeout_ms : STORE_DEFAULT_BUSY_MS,
	                     err) < 0 ||
	    store_sqlite_exec(sq, "PRAGMA synchronous=NORMAL", err) < 0 ||
	    store_sqlite_exec(sq, "PRAGMA foreign_keys=ON", err) < 0) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		sx_err_set(err, "%s: %s", opts->path, msg);
		goto fail;
	}
	if (store_sqlite_migrate(sq, m, n, opts->path, err) < 0)
		goto fail;
	return &sq->base;
fail:
	store_sqlite_close(&sq->base);
	return NULL;
}

struct store *store_sqlite_open(const struct store_options *opts, struct sx_err *err)
{
	return store_sqlite_open_with(opts, store_sqlite_migrations, store_sqlite_nmigrations, err);
}

static int store_sqlite_schema_version(struct store *st)
{
	return ((struct store_sqlite *)st)->version;
}

static int store_sqlite_begin(struct store *st, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;

	if (sq->in_tx) {
		sx_err_set(err, "store: a transaction is already open");
		return -1;
	}
	if (store_sqlite_exec(sq, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	sq->in_tx = true;
	return 0;
}

static int store_sqlite_commit(struct store *st, struct sx_err *err)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;

	if (!sq->in_tx) {
		sx_err_set(err, "store: no transaction is open");
		return -1;
	}
	sq->in_tx = false;
	if (store_sqlite_exec(sq, "COMMIT", err) < 0) {
		sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int store_sqlite_rollback(struct store *st)
{
	struct store_sqlite *sq = (struct store_sqlite *)st;

	if (!sq->in_tx)
		return -1;
	sq->in_tx = false;
	return sqlite3_exec(sq->db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.close = store_sqlite_close,
	.schema_version = store_sqlite_schema_version,
	.begin = store_sqlite_begin,
	.commit = store_sqlite_commit,
	.rollback = store_sqlite_rollback,
	.dmarc_event_add = store_sqlite_dmarc_event_add,
	.dmarc_pending = store_sqlite_dmarc_pending,
	.dmarc_rows = store_sqlite_dmarc_rows,
	.dmarc_mark_reported = store_sqlite_dmarc_mark_reported,
	.dmarc_import_add = store_sqlite_dmarc_import_add,
	.dmarc_summary = store_sqlite_dmarc_summary,
	.mtasts_put = store_sqlite_mtasts_put,
	.mtasts_get = store_sqlite_mtasts_get,
	.mtasts_expiring = store_sqlite_mtasts_expiring,
	.mtasts_delete = store_sqlite_mtasts_delete,
	.quarantine_add = store_sqlite_quarantine_add,
	.quarantine_list = store_sqlite_quarantine_list,
	.quarantine_get = store_sqlite_quarantine_get,
	.quarantine_release = store_sqlite_quarantine_release,
	.quarantine_delete = store_sqlite_quarantine_delete,
	.quarantine_expired = store_sqlite_quarantine_expired,
	.sender_counts = store_sqlite_sender_counts,
	.sender_count_add = store_sqlite_sender_count_add,
	.restricted_add = store_sqlite_restricted_add,
	.restricted_get = store_sqlite_restricted_get,
	.restricted_list = store_sqlite_restricted_list,
	.restricted_release = store_sqlite_restricted_release,
	.directory_add = store_sqlite_directory_add,
	.directory_remove = store_sqlite_directory_remove,
	.directory_list = store_sqlite_directory_list,
	.directory_version = store_sqlite_directory_version,
	.trace_add = store_sqlite_trace_add,
	.trace_messages = store_sqlite_trace_messages,
	.trace_events = store_sqlite_trace_events,
	.trace_expire = store_sqlite_trace_expire,
	.tlsrpt_add = store_sqlite_tlsrpt_add,
	.tlsrpt_pending = store_sqlite_tlsrpt_pending,
	.tlsrpt_policies = store_sqlite_tlsrpt_policies,
	.tlsrpt_dest_set = store_sqlite_tlsrpt_dest_set,
	.tlsrpt_dests = store_sqlite_tlsrpt_dests,
	.tlsrpt_mark_reported = store_sqlite_tlsrpt_mark_reported,
	.tlsrpt_import_add = store_sqlite_tlsrpt_import_add,
	.tlsrpt_summary = store_sqlite_tlsrpt_summary,
};
