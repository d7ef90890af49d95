/* Crash test for transport/spool: a child process commits messages (and
 * rewrites envelopes, as delivery does) as fast as it can and is killed
 * with SIGKILL at a random moment, many times over.  After every kill:
 * each entry the child reported as committed is in queue/, complete and
 * parseable (its data matches the checksum in its envelope), and every
 * entry visible in queue/ is complete too -- nothing half-written is ever
 * an entry.  Every few rounds recovery runs and must leave incoming/
 * empty and only good entries.
 *
 * SIGKILL stops the process, not the machine: this checks the order of
 * operations (write, fsync, rename data, rename envelope), not what a
 * power loss does to an unsynced disk cache. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/spool.h"

#define ROUNDS 150

static char dir[64];

static uint64_t fnv(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct spool *open_spool(void)
{
	struct spool_options o = { .dir = dir, .node_id = "crash" };
	struct sx_err err = { 0 };
	struct spool *sp = spool_open(&o, &err);

	if (sp == NULL)
		fprintf(stderr, "%s\n", err.msg);
	return sp;
}

/* writer - the child: commit and update entries until killed */
static void writer(int out, unsigned seed)
{
	struct spool *sp = open_spool();
	static char chunk[8192];
	unsigned n = 0;

	if (sp == NULL)
		_exit(1);
	srandom(seed);
	for (;;) {
		struct sx_err err = { 0 };
		struct spool_rcpt r[2] = { { .addr = "a@example.org" },
			                   { .addr = "b@example.org" } };
		struct spool_envelope e = { .received = 1700000000 + n,
			                    .sender = "s@example.net",
			                    .rcpts = r,
			                    .nrcpts = 2,
			                    .client_ip = "192.0.2.7" };
		struct spool_tx *tx = spool_tx_begin(sp, &err);
		uint64_t h = 0xcbf29ce484222325ULL;
		size_t total = (size_t)(random() % (256 * 1024)), done = 0, i;
		char hdr[64], line[SPOOL_ID_MAX + 2];
		const char *hdrs[1] = { hdr };

		if (tx == NULL)
			_exit(2);
		while (done < total) {
			size_t k = total - done < sizeof(chunk) ? total - done : sizeof(chunk);
			for (i = 0; i < k; i++) {
				chunk[i] = (char)('a' + (done + i + n) % 26);
				h ^= (unsigned char)chunk[i];
				h *= 0x100000001b3ULL;
			}
			if (spool_tx_write(tx, chunk, k) < 0)
				_exit(3);
			done += k;
		}
		snprintf(hdr, sizeof(hdr), "X-Test-Sum: %016llx", (unsigned long long)h);
		e.headers = hdrs;
		e.nheaders = 1;
		if (spool_tx_finish(tx, &err) < 0 || spool_tx_commit(tx, &e, SPOOL_QUEUE, &err) < 0)
			_exit(4);
		snprintf(line, sizeof(line), "%s\n", spool_tx_id(tx));
		if (write(out, line, strlen(line)) < 0)
			_exit(5);
		/* progress on the entry just made, as delivery records it */
		if (random() % 2) {
			struct spool_entry *en =
			    spool_entry_load(sp, SPOOL_QUEUE, spool_tx_id(tx), &err);
			if (en == NULL)
				_exit(6);
			en->env.rcpts[0].state = SPOOL_RCPT_DELIVERED;
			en->env.rcpts[0].done = 1700000000;
			if (spool_entry_update(sp, en, &en->env, &err) < 0)
				_exit(7);
			spool_entry_free(en);
		}
		spool_tx_free(tx);
		n++;
	}
}

/* check_entry - the entry is complete: data matches the envelope's sum */
static void check_entry(struct spool *sp, const char *id)
{
	struct sx_err err = { 0 };
	struct spool_entry *e = spool_entry_load(sp, SPOOL_QUEUE, id, &err);
	char want[64];

	if (e == NULL)
		fail_msg("committed entry %s: %s", id, err.msg);
	assert_int_equal(e->env.nheaders, 1);
	snprintf(want, sizeof(want), "X-Test-Sum: %016llx",
	         (unsigned long long)fnv(e->data, e->len));
	assert_string_equal(e->env.headers[0], want);
	spool_entry_free(e);
}

static int check_cb(const char *id, void *arg)
{
	check_entry(arg, id);
	return 0;
}

static int fail_cb(const char *id, void *arg)
{
	(void)arg;
	fail_msg("an envelope in corrupt/: %s", id);
	return -1;
}

static int remove_cb(const char *id, void *arg)
{
	struct sx_err err = { 0 };
	return spool_entry_remove(arg, SPOOL_QUEUE, id, &err);
}

static void test_crash(void **state)
{
	struct spool *sp;
	struct sx_err err = { 0 };
	unsigned round, reported = 0, recovered = 0, corrupt = 0;
	char cmd[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_spool_crash.XXXXXX");
	assert_non_null(mkdtemp(dir));
	sp = open_spool();
	assert_non_null(sp);
	for (round = 0; round < ROUNDS; round++) {
		int fds[2], status;
		unsigned delay;
		char buf[65536];
		size_t have = 0;
		ssize_t n;
		pid_t pid;

		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			writer(fds[1], round * 7919 + 1);
		}
		close(fds[1]);
		assert_int_equal(getrandom(&delay, sizeof(delay), 0), (ssize_t)sizeof(delay));
		usleep(delay % 30000);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("writer exited by itself: status %d", WEXITSTATUS(status));
		while ((n = read(fds[0], buf + have, sizeof(buf) - 1 - have)) > 0)
			have += (size_t)n;
		close(fds[0]);
		buf[have] = '\0';
		/* every reported commit is there and whole */
		for (char *p = buf, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
			*nl = '\0';
			check_entry(sp, p);
			reported++;
		}
		/* nothing visible in queue/ is half-written */
		assert_int_equal(spool_scan(sp, SPOOL_QUEUE, check_cb, sp, &err), 0);
		if (round % 10 == 9) {
			struct spool_recover_stats s;
			assert_int_equal(spool_recover(sp, &s, &err), 0);
			recovered += s.incoming_removed;
			corrupt += s.corrupt;
			/* only data whose envelope never arrived goes to corrupt/: a
			 * committed (renamed) envelope is never damaged */
			assert_int_equal(spool_scan(sp, SPOOL_CORRUPT, fail_cb, NULL, &err), 0);
			assert_int_equal(spool_scan(sp, SPOOL_QUEUE, check_cb, sp, &err), 0);
			assert_int_equal(spool_scan(sp, SPOOL_QUEUE, remove_cb, sp, &err), 0);
			snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s/incoming)\"", dir);
			assert_int_equal(system(cmd), 0);
		}
	}
	print_message("%u rounds, %u commits checked, %u incoming leftovers removed, %u "
	              "uncommitted data files set aside\n",
	              ROUNDS, reported, recovered, corrupt);
	assert_true(reported > 0);
	spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
