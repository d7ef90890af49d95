/* Unit tests for transport/spool: a transaction written in pieces and
 * committed into queue/ or quarantine/ (file modes, what is visible when),
 * abort, the size limit, scanning, loading with its checks, envelope
 * updates, requeue (move and copy), hold and release (queue/ <-> hold/),
 * removal, and recovery of every kind of leftover a crash can leave. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/spool.h"

static char dir[64];
static struct spool *sp;

static int setup(void **state)
{
	struct spool_options o = { .node_id = "mx1" };
	struct sx_err err = { 0 };

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_spool.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	o.dir = dir;
	o.max_size = 1024 * 1024;
	sp = spool_open(&o, &err);
	return sp ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	sp = spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static bool exists(const char *sub, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
	return access(p, F_OK) == 0;
}

static void make_env(struct spool_envelope *e, struct spool_rcpt *r)
{
	memset(e, 0, sizeof(*e));
	r[0] = (struct spool_rcpt){ .addr = "bob@example.org" };
	r[1] = (struct spool_rcpt){ .addr = "carol@example.org" };
	e->received = 1700000000;
	e->sender = "alice@a.example";
	e->rcpts = r;
	e->nrcpts = 2;
	e->client_ip = "192.0.2.1";
	e->helo = "a.example";
	e->message_id = "<1@a.example>";
}

/* commit_one - a message of text into dest; its id into id */
static void commit_one(const char *text, enum spool_dest dest, char id[SPOOL_ID_MAX])
{
	struct spool_envelope e;
	struct spool_rcpt r[2];
	struct sx_err err = { 0 };
	struct spool_tx *tx = spool_tx_begin(sp, &err);
	size_t n = strlen(text);

	assert_non_null(tx);
	/* in two pieces, as SMTP data arrives */
	assert_int_equal(spool_tx_write(tx, text, n / 2), 0);
	assert_int_equal(spool_tx_write(tx, text + n / 2, n - n / 2), 0);
	assert_int_equal(spool_tx_finish(tx, &err), 0);
	make_env(&e, r);
	if (spool_tx_commit(tx, &e, dest, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(id, SPOOL_ID_MAX, "%s", spool_tx_id(tx));
	spool_tx_free(tx);
}

static void test_commit(void **state)
{
	static const char msg[] = "Subject: hi\r\n\r\nbody\r\n";
	struct spool_envelope e;
	struct spool_rcpt r[2];
	struct sx_err err = { 0 };
	struct spool_tx *tx;
	struct spool_entry *en;
	struct stat st;
	const char *data;
	size_t len;
	char id[SPOOL_ID_MAX], env[SPOOL_ID_MAX + 8], p[256];

	(void)state;
	tx = spool_tx_begin(sp, &err);
	assert_non_null(tx);
	snprintf(id, sizeof(id), "%s", spool_tx_id(tx));
	snprintf(env, sizeof(env), "%s.env", id);
	assert_non_null(strstr(id, "-mx1-"));
	assert_true(spool_envelope_id_valid(id));
	assert_true(exists("incoming", id));
	snprintf(p, sizeof(p), "%s/incoming/%s", dir, id);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* no data view before finish, no commit before finish */
	assert_int_equal(spool_tx_data(tx, &data, &len), -1);
	make_env(&e, r);
	assert_int_equal(spool_tx_commit(tx, &e, SPOOL_QUEUE, &err), -1);
	assert_int_equal(spool_tx_write(tx, msg, sizeof(msg) - 1), 0);
	assert_int_equal(spool_tx_finish(tx, &err), 0);
	assert_int_equal(spool_tx_data(tx, &data, &len), 0);
	assert_int_equal(len, sizeof(msg) - 1);
	assert_memory_equal(data, msg, len);
	assert_false(exists("queue", id));
	e.id = "ignored";
	e.size = 999; /* the spool sets both */
	assert_int_equal(spool_tx_commit(tx, &e, SPOOL_QUEUE, &err), 0);
	assert_true(exists("queue", id));
	assert_true(exists("queue", env));
	assert_false(exists("incoming", id));
	assert_false(exists("incoming", env));
	/* the view stays valid after the commit */
	assert_int_equal(spool_tx_data(tx, &data, &len), 0);
	assert_memory_equal(data, msg, len);
	assert_null(spool_tx_free(tx));
	assert_true(exists("queue", id)); /* free after commit keeps it */

	en = spool_entry_load(sp, SPOOL_QUEUE, id, &err);
	if (en == NULL)
		fail_msg("%s", err.msg);
	assert_string_equal(en->env.id, id);
	assert_int_equal(en->env.size, sizeof(msg) - 1);
	assert_int_equal(en->len, sizeof(msg) - 1);
	assert_memory_equal(en->data, msg, en->len);
	assert_string_equal(en->env.rcpts[1].addr, "carol@example.org");
	assert_int_equal(spool_entry_lock(en), 1);
	spool_entry_free(en);
	en = spool_entry_find(sp, id, &err);
	assert_non_null(en);
	assert_int_equal(en->where, SPOOL_QUEUE);
	spool_entry_free(en);
	assert_null(spool_entry_load(sp, SPOOL_QUARANTINE, id, &err));
	assert_non_null(strstr(err.msg, "no such entry"));
	assert_null(spool_entry_load(sp, SPOOL_QUEUE, "../x", &err));
}

static void test_abort_and_limit(void **state)
{
	struct sx_err err = { 0 };
	struct spool_tx *tx;
	static char big[600 * 1024];
	char id[SPOOL_ID_MAX];

	(void)state;
	tx = spool_tx_begin(sp, &err);
	snprintf(id, sizeof(id), "%s", spool_tx_id(tx));
	assert_int_equal(spool_tx_write(tx, "abc", 3), 0);
	assert_null(spool_tx_abort(tx));
	assert_false(exists("incoming", id));

	tx = spool_tx_begin(sp, &err);
	memset(big, 'x', sizeof(big));
	assert_int_equal(spool_tx_write(tx, big, sizeof(big)), 0);
	assert_int_equal(spool_tx_write(tx, big, sizeof(big)), -1); /* past 1 MiB */
	assert_int_equal(spool_tx_write(tx, "a", 1), -1);           /* stays failed */
	assert_int_equal(spool_tx_finish(tx, &err), -1);
	assert_non_null(strstr(err.msg, "limit"));
	spool_tx_abort(tx);
	assert_null(spool_tx_abort(NULL));
}

static void test_empty_message(void **state)
{
	char id[SPOOL_ID_MAX];
	struct sx_err err = { 0 };
	struct spool_entry *e;

	(void)state;
	commit_one("", SPOOL_QUEUE, id);
	e = spool_entry_load(sp, SPOOL_QUEUE, id, &err);
	assert_non_null(e);
	assert_int_equal(e->len, 0);
	spool_entry_free(e);
}

static int collect(const char *id, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s ", id);
	return 0;
}

static void test_scan_update_remove(void **state)
{
	char a[SPOOL_ID_MAX], b[SPOOL_ID_MAX], q[SPOOL_ID_MAX], list[1024] = "", want[1024];
	char name[SPOOL_ID_MAX + 8];
	struct sx_err err = { 0 };
	struct spool_entry *e;
	struct spool_envelope env;

	(void)state;
	commit_one("m1\r\n", SPOOL_QUEUE, a);
	usleep(2000);
	commit_one("m2\r\n", SPOOL_QUEUE, b);
	commit_one("q1\r\n", SPOOL_QUARANTINE, q);
	assert_int_equal(spool_scan(sp, SPOOL_QUEUE, collect, list, &err), 0);
	snprintf(want, sizeof(want), "%s %s ", a, b); /* oldest first */
	assert_string_equal(list, want);
	list[0] = '\0';
	assert_int_equal(spool_scan(sp, SPOOL_QUARANTINE, collect, list, &err), 0);
	snprintf(want, sizeof(want), "%s ", q);
	assert_string_equal(list, want);

	e = spool_entry_load(sp, SPOOL_QUEUE, a, &err);
	env = e->env;
	env.rcpts[0].state = SPOOL_RCPT_DELIVERED;
	env.rcpts[0].done = 1700000001;
	assert_int_equal(spool_entry_update(sp, e, &env, &err), 0);
	spool_entry_free(e);
	e = spool_entry_load(sp, SPOOL_QUEUE, a, &err);
	assert_int_equal(e->env.rcpts[0].state, SPOOL_RCPT_DELIVERED);
	assert_int_equal(e->env.rcpts[1].state, SPOOL_RCPT_PENDING);
	spool_entry_free(e);

	assert_int_equal(spool_entry_remove(sp, SPOOL_QUEUE, a, &err), 0);
	assert_false(exists("queue", a));
	snprintf(name, sizeof(name), "%s.env", a);
	assert_false(exists("incoming", name)); /* its way out is cleaned up too */
	assert_int_equal(spool_entry_remove(sp, SPOOL_QUEUE, a, &err), 0); /* idempotent */
	assert_int_equal(spool_entry_remove(sp, SPOOL_QUEUE, b, &err), 0);
	assert_int_equal(spool_entry_remove(sp, SPOOL_QUARANTINE, q, &err), 0);
}

static void test_requeue(void **state)
{
	char q[SPOOL_ID_MAX], copy[SPOOL_ID_MAX], env[SPOOL_ID_MAX + 8];
	struct sx_err err = { 0 };
	struct spool_entry *e, *c;
	struct spool_envelope ne;

	(void)state;
	commit_one("held\r\n", SPOOL_QUARANTINE, q);
	e = spool_entry_load(sp, SPOOL_QUARANTINE, q, &err);
	ne = e->env;
	ne.nrcpts = 1;
	ne.released = 1700000500;
	ne.released_by = "test";
	assert_int_equal(spool_entry_requeue(sp, e, &ne, copy, &err), 0);
	assert_string_not_equal(copy, q);
	assert_true(exists("quarantine", q)); /* a copy leaves the original */
	c = spool_entry_load(sp, SPOOL_QUEUE, copy, &err);
	assert_non_null(c);
	assert_int_equal(c->env.nrcpts, 1);
	assert_int_equal(c->env.released, 1700000500);
	assert_memory_equal(c->data, "held\r\n", 6);
	spool_entry_free(c);
	spool_entry_remove(sp, SPOOL_QUEUE, copy, &err);

	assert_int_equal(spool_entry_requeue(sp, e, &e->env, NULL, &err), 0); /* a move */
	snprintf(env, sizeof(env), "%s.env", q);
	assert_false(exists("quarantine", q));
	assert_false(exists("quarantine", env));
	assert_true(exists("queue", env));
	spool_entry_free(e);
	spool_entry_remove(sp, SPOOL_QUEUE, q, &err);
}

/* hold and release: spool_entry_move between queue/ and hold/, and the
 * two states a crash can leave in the middle of a move */
static void test_hold(void **state)
{
	char id[SPOOL_ID_MAX], cut1[SPOOL_ID_MAX], cut2[SPOOL_ID_MAX], n[SPOOL_ID_MAX + 8];
	char p1[256], p2[256];
	struct spool_recover_stats s;
	struct sx_err err = { 0 };
	struct spool_entry *e;

	(void)state;
	commit_one("hold me\r\n", SPOOL_QUEUE, id);
	e = spool_entry_load(sp, SPOOL_QUEUE, id, &err);
	assert_non_null(e);
	assert_int_equal(spool_entry_lock(e), 1);
	assert_int_equal(spool_entry_move(sp, e, SPOOL_HOLD, &err), 0);
	assert_int_equal(e->where, SPOOL_HOLD);
	assert_false(exists("queue", id));
	assert_true(exists("hold", id));
	/* only queue/ <-> hold/: not to where it is, not to quarantine/ */
	assert_int_equal(spool_entry_move(sp, e, SPOOL_HOLD, &err), -1);
	assert_int_equal(spool_entry_move(sp, e, SPOOL_QUARANTINE, &err), -1);
	spool_entry_free(e);
	e = spool_entry_find(sp, id, &err);
	assert_non_null(e);
	assert_int_equal(e->where, SPOOL_HOLD);
	assert_string_equal(spool_dest_name(e->where), "hold");
	assert_int_equal(spool_entry_move(sp, e, SPOOL_QUEUE, &err), 0);
	spool_entry_free(e);
	assert_true(exists("queue", id));
	assert_false(exists("hold", id));

	/* crash after the second link: data in both, envelope in queue/ */
	commit_one("cut one\r\n", SPOOL_QUEUE, cut1);
	snprintf(p1, sizeof(p1), "%s/queue/%s", dir, cut1);
	snprintf(p2, sizeof(p2), "%s/hold/%s", dir, cut1);
	assert_int_equal(link(p1, p2), 0);
	/* crash after the envelope's rename: envelope in hold/, data in both */
	commit_one("cut two\r\n", SPOOL_QUEUE, cut2);
	snprintf(p1, sizeof(p1), "%s/queue/%s", dir, cut2);
	snprintf(p2, sizeof(p2), "%s/hold/%s", dir, cut2);
	assert_int_equal(link(p1, p2), 0);
	snprintf(n, sizeof(n), "%s.env", cut2);
	snprintf(p1, sizeof(p1), "%s/queue/%s", dir, n);
	snprintf(p2, sizeof(p2), "%s/hold/%s", dir, n);
	assert_int_equal(rename(p1, p2), 0);
	assert_int_equal(spool_recover(sp, &s, &err), 0);
	assert_int_equal(s.corrupt, 0);
	assert_int_equal(s.duplicates_removed, 2);
	assert_int_equal(s.queue, 2); /* id, cut1 */
	assert_int_equal(s.hold, 1);  /* cut2 */
	assert_true(exists("queue", cut1));
	assert_false(exists("hold", cut1));
	assert_true(exists("hold", cut2));
	assert_false(exists("queue", cut2));
	e = spool_entry_load(sp, SPOOL_HOLD, cut2, &err);
	assert_non_null(e);
	assert_memory_equal(e->data, "cut two\r\n", 9);
	spool_entry_free(e);
	spool_entry_remove(sp, SPOOL_QUEUE, id, &err);
	spool_entry_remove(sp, SPOOL_QUEUE, cut1, &err);
	spool_entry_remove(sp, SPOOL_HOLD, cut2, &err);
	assert_false(exists("hold", cut2));
}

static void put_file(const char *sub, const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_recover(void **state)
{
	char ok[SPOOL_ID_MAX], bad[SPOOL_ID_MAX], shortd[SPOOL_ID_MAX], dup[SPOOL_ID_MAX];
	char n[SPOOL_ID_MAX + 8], p1[256], p2[256];
	struct spool_recover_stats s;
	struct sx_err err = { 0 };
	struct spool_tx *tx;

	(void)state;
	commit_one("good\r\n", SPOOL_QUEUE, ok);
	commit_one("bad\r\n", SPOOL_QUEUE, bad);
	commit_one("short\r\n", SPOOL_QUEUE, shortd);
	commit_one("dup\r\n", SPOOL_QUARANTINE, dup);
	/* an envelope damaged, a data file cut short, data alone, a stray file */
	snprintf(n, sizeof(n), "%s.env", bad);
	put_file("queue", n, "V 1\nI x\n");
	put_file("queue", shortd, "sh");
	put_file("queue", "0123-mx1-dead", "orphan data");
	put_file("queue", "notes.txt", "?");
	/* released, then a crash before the quarantine copy was removed */
	snprintf(n, sizeof(n), "%s.env", dup);
	snprintf(p1, sizeof(p1), "%s/quarantine/%s", dir, n);
	snprintf(p2, sizeof(p2), "%s/queue/%s", dir, n);
	assert_int_equal(link(p1, p2), 0);
	snprintf(p1, sizeof(p1), "%s/quarantine/%s", dir, dup);
	snprintf(p2, sizeof(p2), "%s/queue/%s", dir, dup);
	assert_int_equal(link(p1, p2), 0);
	/* a transaction the crash interrupted */
	tx = spool_tx_begin(sp, &err);
	assert_int_equal(spool_tx_write(tx, "x", 1), 0);
	put_file("incoming", "left.env", "V 1\n");
	/* a commit or a removal interrupted between its two steps: the data in
	 * queue/ (and quarantine/), the envelope in incoming/: not corrupt */
	put_file("queue", "0123-mx1-beef", "uncommitted");
	put_file("incoming", "0123-mx1-beef.env", "V 1\n");
	put_file("quarantine", "0123-mx1-cafe", "being removed");
	put_file("incoming", "0123-mx1-cafe.env", "V 1\n");

	assert_int_equal(spool_recover(sp, &s, &err), 0);
	assert_false(exists("queue", "0123-mx1-beef"));
	assert_false(exists("corrupt", "0123-mx1-beef"));
	assert_false(exists("quarantine", "0123-mx1-cafe"));
	assert_false(exists("corrupt", "0123-mx1-cafe"));
	assert_int_equal(s.incoming_removed, 2 + 4);
	assert_int_equal(s.duplicates_removed, 1);
	assert_int_equal(s.queue, 2); /* ok and dup */
	assert_int_equal(s.quarantine, 0);
	assert_int_equal(s.corrupt, 6); /* bad (2 files), short (2), orphan, notes */
	assert_true(exists("queue", ok));
	assert_false(exists("queue", bad));
	assert_true(exists("corrupt", bad));
	assert_true(exists("corrupt", shortd));
	assert_true(exists("corrupt", "0123-mx1-dead"));
	assert_true(exists("corrupt", "notes.txt"));
	assert_false(exists("quarantine", dup));
	assert_true(exists("queue", dup));
	assert_false(exists("incoming", spool_tx_id(tx)));
	spool_tx_abort(tx);
	spool_entry_remove(sp, SPOOL_QUEUE, ok, &err);
	spool_entry_remove(sp, SPOOL_QUEUE, dup, &err);
}

static void test_open_errors(void **state)
{
	struct spool_options o = { .dir = "/proc/nonexistent/spool" };
	struct sx_err err = { 0 };

	(void)state;
	assert_null(spool_open(&o, &err));
	o.dir = dir;
	o.node_id = "bad-node";
	assert_null(spool_open(&o, &err));
	assert_non_null(strstr(err.msg, "node id"));
	assert_null(spool_open(NULL, &err));
	assert_null(spool_close(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_and_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_update_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requeue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
