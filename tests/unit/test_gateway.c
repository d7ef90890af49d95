/* Unit tests for gateway/: the SMTP session engine (smtp/smtp_session)
 * driven with the gateway's hooks, no sockets: DNS from an in-memory
 * zone, a spool and SQLite store in a temporary directory.  Checks the
 * whole hand-off: a clean message is committed to queue/ with our header
 * fields in its envelope (and a forged Authentication-Results removed
 * from the data), an unknown recipient gets 550 5.4.1, a reputation
 * block 550 5.7.606 at the greeting, DMARC p=reject 550 5.7.509 with
 * nothing left in the spool, p=quarantine lands in quarantine/, and a
 * session closed while the pipeline waits on DNS answers nothing and
 * leaks nothing (ASan). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "core/workpool.h"
#include "gateway/gateway.h"
#include "smtp/smtp_session.h"
#include "store/store.h"
#include "transport/spool.h"

static const char zone_text[] = "$TTL 300\n"
                                "good.example. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                                "_dmarc.good.example. IN TXT \"v=DMARC1; p=none\"\n"
                                "reject.example. IN TXT \"v=spf1 -all\"\n"
                                "_dmarc.reject.example. IN TXT \"v=DMARC1; p=reject\"\n"
                                "quar.example. IN TXT \"v=spf1 -all\"\n"
                                "_dmarc.quar.example. IN TXT \"v=DMARC1; p=quarantine\"\n"
                                "slow.example. IN TXT \"v=spf1 -all\"\n";
/* (every answer comes from the event loop, so a session whose loop does
 * not run is a session waiting on DNS) */

struct fx {
	char dir[64];
	struct event_base *base;
	struct workpool *wp; /* NULL: commits on the loop */
	struct dns_zone *zone;
	struct dns *dns;
	struct store *store;
	struct spool *spool;
	struct gateway *gw;
	/* one session */
	struct smtp_session *s;
	struct buf out;
	uint64_t next_session;
};

static struct fx fx;

static void h_write(void *owner, const char *data, size_t len)
{
	(void)owner;
	assert_int_equal(buf_append(&fx.out, data, len), 0);
}

static void h_wakeup(void *owner)
{
	(void)owner;
}

static const struct smtp_session_ops h_ops = { h_write, h_wakeup };

/* h_open - a session from ip; the greeting (or refusal) is in fx.out */
static void h_open(const char *ip)
{
	struct smtp_session_config sc;
	struct smtp_conn_info ci;
	int guard;

	memset(&ci, 0, sizeof(ci));
	ci.session_id = ++fx.next_session;
	assert_int_equal(net_addr_parse(ip, &ci.peer), 0);
	ci.peer_port = 40000;
	assert_int_equal(net_addr_parse("192.0.2.250", &ci.local), 0);
	ci.local_port = 25;
	ci.listener = "test";
	smtp_session_config_default(&sc);
	sc.hostname = "mx.example.org";
	buf_clear(&fx.out);
	fx.s = smtp_session_new(&sc, gateway_hooks(fx.gw), &ci, &h_ops, NULL);
	assert_non_null(fx.s);
	smtp_session_start(fx.s, NULL);
	for (guard = 0; guard < 1000 && smtp_session_want(fx.s) == SMTP_WANT_WAIT; guard++)
		event_base_loop(fx.base, EVLOOP_ONCE);
}

/* h_send - feed text, running the loop while a hook has not answered */
static void h_send(const char *text)
{
	size_t n = strlen(text), off = 0;
	int guard;

	buf_clear(&fx.out);
	for (guard = 0; guard < 100000; guard++) {
		enum smtp_session_want w;

		if (off < n)
			off += smtp_session_input(fx.s, text + off, n - off);
		w = smtp_session_want(fx.s);
		if (w == SMTP_WANT_WAIT) {
			event_base_loop(fx.base, EVLOOP_ONCE);
			continue;
		}
		if (off >= n || w == SMTP_WANT_CLOSE)
			break;
	}
}

static void h_close(void)
{
	fx.s = smtp_session_free(fx.s);
}

static size_t count_dir(const char *sub)
{
	char path[128];
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/spool/%s", fx.dir, sub);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int setup_with(bool pooled)
{
	char yaml[2048], dirfile[128];
	struct smexop_config *cfg;
	struct config_diag diag;
	struct gateway_deps deps;
	struct spool_options po;
	struct store_options so;
	struct sx_err err;
	FILE *f;

	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/smexop-gw-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(dirfile, sizeof(dirfile), "%s/directory", fx.dir);
	f = fopen(dirfile, "w");
	assert_non_null(f);
	fputs("bob@example.org\n", f);
	fclose(f);
	snprintf(yaml, sizeof(yaml),
	         "server: {hostname: mx.example.org, authserv_id: mx.example.org}\n"
	         "accepted_domains: [{domain: example.org}]\n"
	         "directory: {file: %s}\n"
	         "connection_filter: {ip_block: [\"198.51.100.66\"]}\n"
	         "limits: {header_size: 1k}\n"
	         "log: {level: error}\n",
	         dirfile);
	cfg = config_load_mem("gw.yaml", yaml, strlen(yaml), &diag);
	if (cfg == NULL)
		fail_msg("config: %s", diag.n > 0 ? diag.errors[0].msg : "?");
	buf_init(&fx.out, 65536);
	fx.base = event_base_new();
	fx.zone = dns_zone_new();
	assert_int_equal(
	    dns_zone_load_text(fx.zone, "zone", zone_text, sizeof(zone_text) - 1, ".", &err), 0);
	fx.dns = dns_new_zone(fx.base, fx.zone);
	memset(&so, 0, sizeof(so));
	so.backend = STORE_BACKEND_SQLITE;
	so.path = ":memory:";
	fx.store = store_open(&so, &err);
	assert_non_null(fx.store);
	memset(&po, 0, sizeof(po));
	snprintf(dirfile, sizeof(dirfile), "%s/spool", fx.dir);
	po.dir = dirfile;
	fx.spool = spool_open(&po, &err);
	assert_non_null(fx.spool);
	memset(&deps, 0, sizeof(deps));
	deps.base = fx.base;
	deps.dns = fx.dns;
	deps.store = fx.store;
	deps.spool = fx.spool;
	if (pooled) {
		fx.wp = workpool_new(fx.base, 2, &err);
		assert_non_null(fx.wp);
		deps.workpool = fx.wp;
	}
	fx.gw = gateway_new(&deps, cfg, &err);
	if (fx.gw == NULL)
		fail_msg("gateway: %s", err.msg);
	return 0;
}

/* setup - queue commits on the loop; setup_pool - on worker threads */
static int setup(void **state)
{
	(void)state;
	return setup_with(false);
}

static int setup_pool(void **state)
{
	(void)state;
	return setup_with(true);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	h_close();
	fx.wp = workpool_free(fx.wp); /* as serve does: commits finish, sessions go */
	assert_int_equal(gateway_sessions(fx.gw), 0);
	fx.gw = gateway_free(fx.gw);
	fx.spool = spool_close(fx.spool);
	fx.store = store_close(fx.store);
	fx.dns = dns_free(fx.dns);
	fx.zone = dns_zone_free(fx.zone);
	event_base_free(fx.base);
	buf_free(&fx.out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

#define MSG(from, subject)                                                                         \
	"From: <" from ">\r\nTo: <bob@example.org>\r\nSubject: " subject "\r\n"                    \
	"Message-ID: <" subject "@test>\r\n\r\nHello.\r\n.\r\n"

static void test_clean(void **state)
{
	struct spool_entry *e;
	struct sx_err err;
	char id[SPOOL_ID_MAX];
	const char *q;
	size_t i;
	bool report = false, ar = false;

	(void)state;
	h_open("192.0.2.7");
	assert_true(strncmp(fx.out.data, "220 ", 4) == 0);
	h_send("EHLO mail.good.example\r\nMAIL FROM:<alice@good.example>\r\n"
	       "RCPT TO:<bob@example.org>\r\nDATA\r\n");
	assert_non_null(strstr(fx.out.data, "354 "));
	h_send("Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=x.example\r\n" MSG(
	    "alice@good.example", "clean"));
	q = strstr(fx.out.data, "250 2.0.0 Ok: queued as ");
	assert_non_null(q);
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(q + 24, "\r\n"), q + 24);
	assert_int_equal(count_dir("queue"), 2); /* data and .env */
	e = spool_entry_load(fx.spool, SPOOL_QUEUE, id, &err);
	if (e == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(e->env.nrcpts, 1);
	assert_string_equal(e->env.rcpts[0].addr, "bob@example.org");
	assert_string_equal(e->env.sender, "alice@good.example");
	for (i = 0; i < e->env.nheaders; i++) {
		if (strncmp(e->env.headers[i], "X-Smexop-Antispam-Report: CIP:192.0.2.7;", 40) == 0)
			report = strstr(e->env.headers[i], ";SFV:NSPM;CAT:NONE;") != NULL;
		if (strncmp(e->env.headers[i], "Authentication-Results: mx.example.org;", 39) == 0)
			ar = strstr(e->env.headers[i], "spf=pass") != NULL &&
			     strstr(e->env.headers[i], "dmarc=pass") != NULL;
	}
	assert_true(report);
	assert_true(ar);
	/* the forged field claiming our authserv-id is not in the data */
	assert_null(memmem(e->data, e->len, "x.example", 9));
	assert_non_null(memmem(e->data, e->len, "Subject: clean", 14));
	spool_entry_free(e);
	assert_int_equal(count_dir("incoming"), 0);
}

static void test_unknown_rcpt(void **state)
{
	(void)state;
	h_open("192.0.2.7");
	h_send("EHLO mail.good.example\r\nMAIL FROM:<alice@good.example>\r\n"
	       "RCPT TO:<nobody@example.org>\r\n");
	assert_non_null(
	    strstr(fx.out.data, "550 5.4.1 Recipient address rejected: Access denied\r\n"));
	h_send("RCPT TO:<bob@elsewhere.example>\r\n");
	assert_non_null(strstr(fx.out.data, "550 5.7.54 SMTP; Unable to relay recipient in "
	                                    "non-accepted domain\r\n"));
}

static void test_blocked_ip(void **state)
{
	(void)state;
	h_open("198.51.100.66");
	assert_true(strncmp(fx.out.data, "550 5.7.1 ", 10) == 0);
	assert_int_equal(smtp_session_want(fx.s), SMTP_WANT_CLOSE);
}

static void test_dmarc_reject(void **state)
{
	(void)state;
	h_open("192.0.2.7");
	h_send("EHLO x.reject.example\r\nMAIL FROM:<m@reject.example>\r\n"
	       "RCPT TO:<bob@example.org>\r\nDATA\r\n");
	h_send(MSG("ceo@reject.example", "reject"));
	assert_string_equal(fx.out.data,
	                    "550 5.7.509 Access denied, sending domain [reject.example] does not "
	                    "pass DMARC verification and has a DMARC policy of reject.\r\n");
	assert_int_equal(count_dir("queue"), 0);
	assert_int_equal(count_dir("quarantine"), 0);
	assert_int_equal(count_dir("incoming"), 0);
}

static void test_dmarc_quarantine(void **state)
{
	(void)state;
	h_open("192.0.2.7");
	h_send("EHLO x.quar.example\r\nMAIL FROM:<m@quar.example>\r\n"
	       "RCPT TO:<bob@example.org>\r\nDATA\r\n");
	h_send(MSG("ceo@quar.example", "quarantine"));
	assert_non_null(strstr(fx.out.data, "250 2.0.0 Ok: queued as "));
	assert_int_equal(count_dir("quarantine"), 2);
	assert_int_equal(count_dir("queue"), 0);
	/* a second message on the same connection: a fresh transaction */
	h_send("MAIL FROM:<alice@good.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
	h_send(MSG("alice@good.example", "second"));
	assert_non_null(strstr(fx.out.data, "250 2.0.0 Ok: queued as "));
	assert_int_equal(count_dir("queue"), 2);
}

static void test_close_while_waiting(void **state)
{
	(void)state;
	h_open("192.0.2.7");
	h_send("EHLO x.slow.example\r\nMAIL FROM:<m@slow.example>\r\n"
	       "RCPT TO:<bob@example.org>\r\nDATA\r\n");
	/* the end of data without running the loop: every lookup is in flight */
	buf_clear(&fx.out);
	smtp_session_input(fx.s, MSG("ceo@slow.example", "slow"),
	                   strlen(MSG("ceo@slow.example", "slow")));
	assert_int_equal(smtp_session_want(fx.s), SMTP_WANT_WAIT);
	assert_int_equal(count_dir("incoming"), 1);
	h_close(); /* cancels the pipeline, removes incoming/ */
	assert_int_equal(count_dir("incoming"), 0);
	assert_int_equal(gateway_sessions(fx.gw), 0);
	/* the answers that were on their way arrive to nobody */
	event_base_loop(fx.base, EVLOOP_NONBLOCK);
	assert_int_equal(fx.out.len, 0);
}

/* the client leaves while its message is being committed on a thread: the
 * message still lands in the queue (no 250 went out: at-least-once) and
 * the session is freed when the commit is back */
static void test_close_while_committing(void **state)
{
	int guard;

	(void)state;
	h_open("192.0.2.7");
	h_send("EHLO mail.good.example\r\nMAIL FROM:<alice@good.example>\r\n"
	       "RCPT TO:<bob@example.org>\r\nDATA\r\n");
	buf_clear(&fx.out);
	smtp_session_input(fx.s, MSG("alice@good.example", "gone"),
	                   strlen(MSG("alice@good.example", "gone")));
	for (guard = 0; guard < 1000 && workpool_pending(fx.wp) == 0; guard++)
		event_base_loop(fx.base, EVLOOP_ONCE);
	assert_int_equal(workpool_pending(fx.wp), 1);
	h_close();
	assert_int_equal(gateway_sessions(fx.gw), 1);
	for (guard = 0; guard < 1000 && workpool_pending(fx.wp) > 0; guard++)
		event_base_loop(fx.base, EVLOOP_ONCE);
	assert_int_equal(gateway_sessions(fx.gw), 0);
	assert_int_equal(count_dir("queue"), 2);
	assert_int_equal(count_dir("incoming"), 0);
	assert_int_equal(fx.out.len, 0);
}

static void test_header_limit(void **state)
{
	char big[1400];

	(void)state;
	memset(big, 'a', sizeof(big));
	memcpy(big, "X-Big: ", 7);
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	h_open("192.0.2.7");
	h_send("EHLO mail.good.example\r\nMAIL FROM:<alice@good.example>\r\n"
	       "RCPT TO:<bob@example.org>\r\nDATA\r\n");
	h_send(big);
	h_send(MSG("alice@good.example", "big"));
	assert_string_equal(fx.out.data, "552 5.3.4 Message header size exceeds limit\r\n");
	assert_int_equal(count_dir("queue"), 0);
	assert_int_equal(count_dir("incoming"), 0);
}

/* test_alloc_torture - the Nth arena allocation fails, for every N a clean
 * message needs: the session ends with a 250 (the failure hit something
 * that degrades, e.g. a lookup that becomes temperror) or a 4xx, never a
 * 5xx (but for the sequence errors of pipelined commands after a 4xx to
 * MAIL or RCPT), never a crash, never a leak (ASan), never a file left in incoming/ */
static void test_alloc_torture(void **state)
{
	unsigned long n;
	unsigned ok = 0, temp = 0, streak = 0;

	(void)state;
	for (n = 1; n < 5000; n++) {
		const char *p;
		bool done_all;

		arena_fail_after(n);
		h_open("192.0.2.7");
		if (strncmp(fx.out.data, "220 ", 4) != 0) {
			assert_true(fx.out.data[0] == '4');
			h_close();
			temp++;
			continue;
		}
		h_send("EHLO mail.good.example\r\nMAIL FROM:<alice@good.example>\r\n"
		       "RCPT TO:<bob@example.org>\r\nDATA\r\n");
		for (p = fx.out.data; p != NULL && *p != '\0'; p = strstr(p, "\r\n")) {
			if (*p == '\r')
				p += 2;
			/* after a 4xx to MAIL or RCPT the pipelined commands that
			 * follow get their sequence errors: those 5xx are right */
			if (*p == '5' && strncmp(p, "503 ", 4) != 0 &&
			    strncmp(p, "554 5.5.1", 9) != 0)
				fail_msg("allocation %lu: %s", n, p);
		}
		if (strstr(fx.out.data, "354 ") != NULL)
			h_send(MSG("alice@good.example", "torture"));
		if (fx.out.data[0] == '5')
			fail_msg("allocation %lu, end of data: %s", n, fx.out.data);
		done_all = strstr(fx.out.data, "250 2.0.0 Ok: queued as ") != NULL;
		h_close();
		assert_int_equal(count_dir("incoming"), 0);
		if (done_all) {
			ok++;
			/* a long run of successes: past every allocation the
			 * message needs (the hook only fails the Nth one) */
			if (++streak > 150)
				break;
		} else {
			temp++;
			streak = 0;
		}
	}
	arena_fail_after(0);
	print_message("allocation torture: %lu points, %u accepted, %u temporary failures\n", n, ok,
	              temp);
	assert_true(temp > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_rcpt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dmarc_reject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dmarc_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_waiting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_torture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean, setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_dmarc_quarantine, setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_dmarc_reject, setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_waiting, setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_committing, setup_pool, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
