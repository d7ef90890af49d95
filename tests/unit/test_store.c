/* Unit tests for store/: opening and migrating a SQLite database (file
 * mode, version table, a database newer than us, a failing migration
 * rolled back), transactions, several connections opening one new
 * database at once, and the DMARC operations (grouping into rows,
 * marking reported, duplicate imports, summaries). */
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store_impl.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *db_path(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static struct store *open_db(const char *name)
{
	struct store_options o = { .backend = STORE_BACKEND_SQLITE, .path = db_path(name) };
	struct sx_err err = { 0 };
	struct store *st = store_open(&o, &err);

	if (st == NULL)
		print_error("%s\n", err.msg);
	assert_non_null(st);
	return st;
}

/* sql_int - one integer from a query run on a side connection */
static int sql_int(const char *name, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int v = -1;

	assert_int_equal(sqlite3_open(db_path(name), &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return v;
}

static void test_open_migrate(void **state)
{
	struct store *st;
	struct stat sb;

	(void)state;
	st = open_db("a.db");
	assert_int_equal(store_schema_version(st), (int)store_sqlite_nmigrations);
	assert_string_equal(store_backend_name(st), "sqlite");
	st = store_close(st);
	assert_null(st);
	assert_int_equal(stat(db_path("a.db"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sql_int("a.db", "SELECT version FROM schema_version"),
	                 (int)store_sqlite_nmigrations);
	assert_int_equal(sql_int("a.db", "SELECT count(*) FROM schema_version"), 1);
	assert_int_equal(
	    sql_int("a.db", "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"),
	    1);
	/* reopening runs nothing again */
	st = open_db("a.db");
	assert_int_equal(store_schema_version(st), (int)store_sqlite_nmigrations);
	store_close(st);
	assert_null(store_close(NULL));
	assert_int_equal(store_schema_version(NULL), -1);
}

static void test_newer_refused(void **state)
{
	struct store_options o = { .backend = STORE_BACKEND_SQLITE, .path = db_path("new.db") };
	struct sx_err err = { 0 };
	sqlite3 *db;

	(void)state;
	store_close(open_db("new.db"));
	assert_int_equal(sqlite3_open(db_path("new.db"), &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_open(&o, &err));
	assert_non_null(strstr(err.msg, "schema version 99 is newer"));
	o.path = NULL;
	assert_null(store_open(&o, &err));
	o.path = "/nonexistent-dir/x.db";
	assert_null(store_open(&o, &err));
}

static void test_migration_rollback(void **state)
{
	static const struct store_sqlite_migration good[] = {
		{ 1, "CREATE TABLE a (x INTEGER)" },
	};
	static const struct store_sqlite_migration bad[] = {
		{ 1, "CREATE TABLE a (x INTEGER)" },
		{ 2, "CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (1); THIS IS NOT SQL" },
	};
	struct store_options o = { .backend = STORE_BACKEND_SQLITE, .path = db_path("m.db") };
	struct sx_err err = { 0 };
	struct store *st;

	(void)state;
	st = store_sqlite_open_with(&o, good, 1, &err);
	assert_non_null(st);
	assert_int_equal(store_schema_version(st), 1);
	store_close(st);
	assert_null(store_sqlite_open_with(&o, bad, 2, &err));
	assert_non_null(strstr(err.msg, "migration to version 2"));
	/* nothing of the failed migration stayed */
	assert_int_equal(sql_int("m.db", "SELECT version FROM schema_version"), 1);
	assert_int_equal(sql_int("m.db", "SELECT count(*) FROM sqlite_master WHERE name = 'b'"), 0);
	assert_int_equal(sql_int("m.db", "SELECT count(*) FROM a"), 0);
}

static struct store_dmarc_event event(int64_t time, const char *ip, const char *dkim_eval)
{
	static const struct store_dmarc_dkim dk[] = { { "example.com", "s1", "pass", NULL },
		                                      { "other.net", NULL, "fail", "bad sig" } };
	static const struct store_dmarc_spf sp[] = { { "example.com", "mfrom", "pass" } };
	struct store_dmarc_event ev = {
		.time = time,
		.policy_domain = "Example.COM",
		.record = "v=DMARC1; p=none; rua=mailto:d@example.com",
		.source_ip = ip,
		.header_from = "example.com",
		.envelope_from = "example.com",
		.disposition = "none",
		.dkim_eval = dkim_eval,
		.spf_eval = "pass",
		.dkim = dk,
		.ndkim = 2,
		.spf = sp,
		.nspf = 1,
	};
	return ev;
}

static int count_pending(const struct store_dmarc_pending *p, void *arg)
{
	*(uint64_t *)arg += p->messages;
	return 0;
}

static uint64_t pending(struct store *st)
{
	uint64_t n = 0;
	assert_int_equal(store_dmarc_pending(st, NULL, 0, INT64_MAX, count_pending, &n, NULL), 0);
	return n;
}

static void test_transactions(void **state)
{
	struct store *st = open_db("t.db");
	struct store_dmarc_event ev = event(100, "192.0.2.1", "pass");
	struct sx_err err = { 0 };

	(void)state;
	assert_int_equal(store_begin(st, &err), 0);
	assert_int_equal(store_begin(st, &err), -1); /* no nesting */
	assert_int_equal(store_dmarc_event_add(st, &ev, &err), 0);
	assert_int_equal(store_dmarc_event_add(st, &ev, &err), 0);
	assert_int_equal(pending(st), 2);
	assert_int_equal(store_rollback(st), 0);
	assert_int_equal(pending(st), 0);
	assert_int_equal(store_rollback(st), -1);
	assert_int_equal(store_commit(st, &err), -1);
	assert_int_equal(store_begin(st, &err), 0);
	assert_int_equal(store_dmarc_event_add(st, &ev, &err), 0);
	assert_int_equal(store_commit(st, &err), 0);
	assert_int_equal(pending(st), 1);
	/* a failing write leaves nothing behind */
	ev.source_ip = NULL;
	assert_int_equal(store_dmarc_event_add(st, &ev, &err), -1);
	assert_int_equal(pending(st), 1);
	assert_int_equal(store_begin(NULL, &err), -1);
	assert_int_equal(store_dmarc_event_add(NULL, &ev, &err), -1);
	store_close(st);
}

#define NTHREADS 6
#define NEVENTS  20

static void *thread_main(void *arg)
{
	struct store_options o = { .backend = STORE_BACKEND_SQLITE,
		                   .path = db_path("c.db"),
		                   .busy_timeout_ms = 20000 };
	struct sx_err err = { 0 };
	struct store *st = store_open(&o, &err);
	struct store_dmarc_event ev = event(100, "192.0.2.9", "pass");
	intptr_t ok = st != NULL;

	(void)arg;
	for (int i = 0; ok && i < NEVENTS; i++)
		ok = store_dmarc_event_add(st, &ev, &err) == 0;
	if (!ok)
		fprintf(stderr, "thread: %s\n", err.msg);
	store_close(st);
	return (void *)ok;
}

static void test_concurrent_open(void **state)
{
	pthread_t t[NTHREADS];
	struct store *st;
	void *ok;
	int i;

	(void)state;
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_main, NULL), 0);
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], &ok), 0);
		assert_true(ok != NULL);
	}
	st = open_db("c.db");
	assert_int_equal(pending(st), NTHREADS * NEVENTS);
	store_close(st);
	assert_int_equal(sql_int("c.db", "SELECT count(*) FROM schema_version"), 1);
}

struct rows {
	size_t n;
	uint64_t counts[8];
	char ips[8][64];
	size_t ndkim[8];
	char dkim1_human[8][32];
};

static int collect_rows(const struct store_dmarc_row *r, void *arg)
{
	struct rows *rs = arg;

	if (rs->n < 8) {
		rs->counts[rs->n] = r->count;
		snprintf(rs->ips[rs->n], sizeof(rs->ips[0]), "%s", r->ev.source_ip);
		rs->ndkim[rs->n] = r->ev.ndkim;
		if (r->ev.ndkim > 1)
			snprintf(rs->dkim1_human[rs->n], 32, "%s", r->ev.dkim[1].human_result);
		assert_string_equal(r->ev.policy_domain, "example.com");
		assert_int_equal(r->ev.nspf, 1);
		assert_string_equal(r->ev.spf[0].scope, "mfrom");
	}
	rs->n++;
	return 0;
}

static void test_dmarc_rows(void **state)
{
	struct store *st = open_db("r.db");
	struct store_dmarc_event ev;
	struct store_dmarc_sent sent = { .policy_domain = "example.com",
		                         .begin = 0,
		                         .end = 1000,
		                         .report_id = "r1",
		                         .created = 5,
		                         .messages = 5 };
	struct sx_err err = { 0 };
	struct rows rs = { 0 };

	(void)state;
	for (int i = 0; i < 3; i++) {
		ev = event(100 + i, "192.0.2.1", "pass");
		assert_int_equal(store_dmarc_event_add(st, &ev, &err), 0);
	}
	ev = event(200, "192.0.2.1", "fail"); /* other evaluation: its own row */
	assert_int_equal(store_dmarc_event_add(st, &ev, &err), 0);
	ev = event(300, "198.51.100.7", "pass");
	assert_int_equal(store_dmarc_event_add(st, &ev, &err), 0);
	ev = event(1000, "192.0.2.1", "pass"); /* at end: outside [0, 1000) */
	assert_int_equal(store_dmarc_event_add(st, &ev, &err), 0);
	assert_int_equal(store_dmarc_rows(st, "EXAMPLE.com", 0, 1000, collect_rows, &rs, &err), 0);
	assert_int_equal(rs.n, 3);
	assert_string_equal(rs.ips[0], "192.0.2.1");
	assert_int_equal(rs.counts[0], 3);
	assert_int_equal(rs.counts[1], 1);
	assert_string_equal(rs.ips[2], "198.51.100.7");
	assert_int_equal(rs.ndkim[0], 2);
	assert_string_equal(rs.dkim1_human[0], "bad sig");
	assert_int_equal(store_dmarc_mark_reported(st, &sent, &err), 0);
	assert_int_equal(pending(st), 1);
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(store_dmarc_rows(st, "example.com", 0, 1000, collect_rows, &rs, &err), 0);
	assert_int_equal(rs.n, 0);
	/* a report id is used once */
	sent.begin = 1000;
	sent.end = 2000;
	assert_int_equal(store_dmarc_mark_reported(st, &sent, &err), -1);
	assert_non_null(strstr(err.msg, "used before"));
	assert_int_equal(pending(st), 1);
	sent.report_id = "r2";
	assert_int_equal(store_dmarc_mark_reported(st, &sent, &err), 0);
	assert_int_equal(pending(st), 0);
	store_close(st);
}

struct sums {
	size_t n;
	struct store_dmarc_summary v[8];
	char names[8][64];
};

static int collect_sums(const struct store_dmarc_summary *s, void *arg)
{
	struct sums *ss = arg;

	if (ss->n < 8) {
		ss->v[ss->n] = *s;
		snprintf(ss->names[ss->n], 64, "%s", s->source_ip ? s->source_ip : s->org_name);
	}
	ss->n++;
	return 0;
}

static void test_dmarc_import(void **state)
{
	static const struct store_dmarc_dkim dk_pass[] = { { "example.com", "s", "pass", NULL } };
	static const struct store_dmarc_spf spf_fail[] = { { "example.com", "mfrom", "fail" } };
	struct store_dmarc_import_row rows[] = {
		{ .source_ip = "192.0.2.1",
		  .count = 10,
		  .disposition = "none",
		  .dkim_eval = "pass",
		  .spf_eval = "fail",
		  .header_from = "example.com",
		  .dkim = dk_pass,
		  .ndkim = 1,
		  .spf = spf_fail,
		  .nspf = 1 },
		{ .source_ip = "203.0.113.5",
		  .count = 4,
		  .disposition = "reject",
		  .dkim_eval = "fail",
		  .spf_eval = "fail",
		  .header_from = "example.com",
		  .spf = spf_fail,
		  .nspf = 1 },
	};
	struct store_dmarc_import r = { .org_name = "google.com",
		                        .report_id = "123",
		                        .begin = 1000,
		                        .end = 2000,
		                        .domain = "example.com",
		                        .p = "reject",
		                        .pct = -1,
		                        .rows = rows,
		                        .nrows = 2 };
	struct store *st = open_db("i.db");
	struct sx_err err = { 0 };
	struct sums ss = { 0 };

	(void)state;
	assert_int_equal(store_dmarc_import_add(st, &r, &err), 0);
	assert_int_equal(store_dmarc_import_add(st, &r, &err), 1); /* duplicate */
	r.org_name = "Yahoo";                                      /* same id, other org */
	r.nrows = 1;
	assert_int_equal(store_dmarc_import_add(st, &r, &err), 0);
	assert_int_equal(store_dmarc_summary(st, "example.com", 0, INT64_MAX, STORE_DMARC_BY_SOURCE,
	                                     collect_sums, &ss, &err),
	                 0);
	assert_int_equal(ss.n, 2);
	assert_string_equal(ss.names[0], "192.0.2.1");
	assert_int_equal(ss.v[0].messages, 20);
	assert_int_equal(ss.v[0].reports, 2);
	assert_int_equal(ss.v[0].dkim_pass, 20);
	assert_int_equal(ss.v[0].dkim_aligned, 20);
	assert_int_equal(ss.v[0].spf_pass, 0);
	assert_int_equal(ss.v[0].dmarc_pass, 20);
	assert_int_equal(ss.v[1].messages, 4);
	assert_int_equal(ss.v[1].dmarc_pass, 0);
	assert_int_equal(ss.v[1].disposition_reject, 4);
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(store_dmarc_summary(st, "example.com", 0, INT64_MAX, STORE_DMARC_BY_ORG,
	                                     collect_sums, &ss, &err),
	                 0);
	assert_int_equal(ss.n, 2);
	assert_string_equal(ss.names[0], "google.com");
	assert_int_equal(ss.v[0].messages, 14);
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(store_dmarc_summary(st, "example.com", 0, INT64_MAX,
	                                     STORE_DMARC_BY_SOURCE_ORG, collect_sums, &ss, &err),
	                 0);
	assert_int_equal(ss.n, 3);
	/* time filter: reports must overlap [since, until) */
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(store_dmarc_summary(st, "example.com", 2001, INT64_MAX,
	                                     STORE_DMARC_BY_SOURCE, collect_sums, &ss, &err),
	                 0);
	assert_int_equal(ss.n, 0);
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(store_dmarc_summary(st, "other.org", 0, INT64_MAX, STORE_DMARC_BY_SOURCE,
	                                     collect_sums, &ss, &err),
	                 0);
	assert_int_equal(ss.n, 0);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_migrate),       cmocka_unit_test(test_newer_refused),
		cmocka_unit_test(test_migration_rollback), cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_concurrent_open),    cmocka_unit_test(test_dmarc_rows),
		cmocka_unit_test(test_dmarc_import),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
