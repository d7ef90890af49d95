/* Unit tests for transport/maildir: mailbox paths (and the addresses that
 * cannot name one), delivery of a queue entry into per-recipient and
 * single Maildirs in a temporary directory (file name, content with the
 * prepended fields and LF line ends), progress kept across a temporary
 * failure, permanent failures, and the trace events written. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/maildir.h"

static char dir[64], spooldir[128], mailroot[128];
static struct spool *sp;

static int setup(void **state)
{
	struct spool_options o = { .node_id = "t" };
	struct sx_err err = { 0 };

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_maildir.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(spooldir, sizeof(spooldir), "%s/spool", dir);
	snprintf(mailroot, sizeof(mailroot), "%s/mail", dir);
	o.dir = spooldir;
	sp = spool_open(&o, &err);
	return sp ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	sp = spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_path(void **state)
{
	static const struct {
		const char *rcpt;
		const char *want; /* NULL: permanent failure */
	} cases[] = {
		{ "Bob@Example.ORG", "/m/example.org/bob" },
		{ "a.b+tag@x.example", "/m/x.example/a.b+tag" },
		{ "\"odd\"@x.example", "/m/x.example/\"odd\"" },
		{ "no-domain", NULL },
		{ "../etc@x.example", NULL },
		{ "a/b@x.example", NULL },
		{ "a@../x", NULL },
		{ ".hidden@x.example", NULL },
		{ "@x.example", NULL },
		{ "a@", NULL },
		{ "a\n@x.example", NULL },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.example",
		  NULL },
	};
	struct maildir_options o = { .root = "/m" };
	struct sx_err err;
	char out[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = maildir_path(&o, cases[i].rcpt, out, sizeof(out), &err);
		if (cases[i].want == NULL) {
			if (rc == 0)
				fail_msg("%s gave %s", cases[i].rcpt, out);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(out, cases[i].want);
		}
	}
	o.mode = MAILDIR_SINGLE;
	assert_int_equal(maildir_path(&o, "anything", out, sizeof(out), &err), 0);
	assert_string_equal(out, "/m");
}

static void commit(const char *const *rcpts, size_t n, char id[SPOOL_ID_MAX])
{
	static const char msg[] = "From: a@a.example\r\nSubject: t\r\n\r\nline 1\r\nline 2\r\n";
	static const char *hdrs[] = { "X-Smexop-Antispam-Report: SFV:NSPM;SCL:1",
		                      "Authentication-Results: mx;\r\n\tspf=pass" };
	struct spool_rcpt r[4] = { { 0 } };
	struct spool_envelope e = { .received = 1700000000,
		                    .sender = "a@a.example",
		                    .rcpts = r,
		                    .nrcpts = n,
		                    .client_ip = "192.0.2.1",
		                    .headers = hdrs,
		                    .nheaders = 2 };
	struct sx_err err = { 0 };
	struct spool_tx *tx = spool_tx_begin(sp, &err);
	size_t i;

	for (i = 0; i < n; i++)
		r[i].addr = rcpts[i];
	assert_int_equal(spool_tx_write(tx, msg, sizeof(msg) - 1), 0);
	assert_int_equal(spool_tx_finish(tx, &err), 0);
	assert_int_equal(spool_tx_commit(tx, &e, SPOOL_QUEUE, &err), 0);
	snprintf(id, SPOOL_ID_MAX, "%s", spool_tx_id(tx));
	spool_tx_free(tx);
}

/* one_file - the single file in d/new; its content into out */
static void one_file(const char *d, char *name, size_t namesize, char *out, size_t outsize)
{
	char p[512];
	struct dirent *de;
	DIR *dd;
	FILE *f;
	int count = 0;
	size_t n;

	snprintf(p, sizeof(p), "%s/new", d);
	dd = opendir(p);
	assert_non_null(dd);
	while ((de = readdir(dd)) != NULL)
		if (de->d_name[0] != '.') {
			snprintf(name, namesize, "%s", de->d_name);
			count++;
		}
	closedir(dd);
	assert_int_equal(count, 1);
	snprintf(p, sizeof(p), "%s/new/%s", d, name);
	f = fopen(p, "r");
	assert_non_null(f);
	n = fread(out, 1, outsize - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void test_deliver(void **state)
{
	static const char *const rcpts[] = { "Bob@Example.org", "carol@example.org",
		                             "bad/name@example.org" };
	struct maildir_options o = { .root = mailroot, .hostname = "mx/1:a" };
	struct maildir_stats s = { 0 };
	struct sx_err err = { 0 };
	char id[SPOOL_ID_MAX], d[256], name[256], text[2048], p[512], size[32];
	struct stat st;

	(void)state;
	commit(rcpts, 3, id);
	assert_int_equal(maildir_deliver_pending(sp, &o, NULL, 1700000100, &s, &err), 0);
	assert_int_equal(s.entries, 1);
	assert_int_equal(s.delivered, 2);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.deferred, 0);
	assert_int_equal(s.removed, 1);
	assert_null(spool_entry_load(sp, SPOOL_QUEUE, id, &err)); /* done: removed */

	snprintf(d, sizeof(d), "%s/example.org/bob", mailroot);
	one_file(d, name, sizeof(name), text, sizeof(text));
	assert_string_equal(text, "Return-Path: <a@a.example>\n"
	                          "Delivered-To: Bob@Example.org\n"
	                          "X-Smexop-Antispam-Report: SFV:NSPM;SCL:1\n"
	                          "Authentication-Results: mx;\n\tspf=pass\n"
	                          "From: a@a.example\nSubject: t\n\nline 1\nline 2\n");
	/* TIME.PID_SEQ.HOST,S=SIZE with / and : escaped */
	assert_non_null(strstr(name, ".mx\\0571\\072a,S="));
	snprintf(size, sizeof(size), ",S=%zu", strlen(text));
	assert_non_null(strstr(name, size));
	snprintf(p, sizeof(p), "%s/tmp", d);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(p, sizeof(p), "%s/cur", d);
	assert_int_equal(stat(p, &st), 0);
	snprintf(d, sizeof(d), "%s/example.org/carol", mailroot);
	one_file(d, name, sizeof(name), text, sizeof(text));
	assert_non_null(strstr(text, "Delivered-To: carol@example.org\n"));
}

static void test_single_and_retry(void **state)
{
	static const char *const rcpts[] = { "x@example.org", "y@example.org" };
	struct maildir_options o = { .root = mailroot, .mode = MAILDIR_SINGLE };
	struct maildir_stats s = { 0 };
	struct sx_err err = { 0 };
	struct spool_entry *e;
	char id[SPOOL_ID_MAX];
	FILE *f;

	(void)state;
	/* a file where the Maildir should be: every recipient is deferred */
	f = fopen(mailroot, "w");
	assert_non_null(f);
	fclose(f);
	commit(rcpts, 2, id);
	assert_int_equal(maildir_deliver_pending(sp, &o, NULL, 1700000100, &s, &err), 0);
	assert_int_equal(s.deferred, 2);
	assert_int_equal(s.removed, 0);
	e = spool_entry_load(sp, SPOOL_QUEUE, id, &err);
	assert_non_null(e);
	assert_int_equal(e->env.rcpts[0].state, SPOOL_RCPT_PENDING);
	/* half done: the first recipient is marked delivered in the entry */
	e->env.rcpts[0].state = SPOOL_RCPT_DELIVERED;
	e->env.rcpts[0].done = 1700000050;
	assert_int_equal(spool_entry_update(sp, e, &e->env, &err), 0);
	spool_entry_free(e);
	unlink(mailroot);
	memset(&s, 0, sizeof(s));
	assert_int_equal(maildir_deliver_pending(sp, &o, NULL, 1700000200, &s, &err), 0);
	assert_int_equal(s.delivered, 1); /* only y: x is not delivered twice */
	assert_int_equal(s.removed, 1);
	char name[256], text[2048];
	one_file(mailroot, name, sizeof(name), text, sizeof(text));
	if (strstr(text, "Delivered-To: y@example.org\n") == NULL)
		fail_msg("%s: [%s]", name, text);
}

static void test_locked_entry_skipped(void **state)
{
	static const char *const rcpts[] = { "z@example.org" };
	struct maildir_options o = { .root = mailroot };
	struct maildir_stats s = { 0 };
	struct sx_err err = { 0 };
	struct spool_entry *e;
	char id[SPOOL_ID_MAX];
	pid_t pid;
	int status;

	(void)state;
	commit(rcpts, 1, id);
	e = spool_entry_load(sp, SPOOL_QUEUE, id, &err);
	assert_int_equal(spool_entry_lock(e), 1);
	/* another process (flock locks belong to open files) finds it locked */
	pid = fork();
	if (pid == 0) {
		struct maildir_stats cs = { 0 };
		struct sx_err cerr = { 0 };
		maildir_deliver_pending(sp, &o, NULL, 1700000100, &cs, &cerr);
		_exit(cs.delivered == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	spool_entry_free(e);
	assert_int_equal(maildir_deliver_pending(sp, &o, NULL, 1700000100, &s, &err), 0);
	assert_int_equal(s.delivered, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test_setup_teardown(test_deliver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_and_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked_entry_skipped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
