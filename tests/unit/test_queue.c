/* Unit tests for transport/queue: the back-off schedule (doubling, cap,
 * jitter bound), connector domain patterns, routing (connector first,
 * accepted and inbound mail to the built-in Maildir, relayed mail to MX),
 * and the manager itself on a temporary spool without DNS: one entry with
 * a Maildir recipient (delivered), one that names no mailbox (failed, a
 * DSN to the sender, delivered to the sender's Maildir) and one through
 * an SMTP connector (deferred: no SMTP here; attempts, next attempt and
 * reply kept in the envelope); then the lifetime runs out and the entry
 * ends with a second DSN and is removed; a destination where nobody
 * answers rests (what waits behind the failed connection is deferred
 * without one). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "core/buf.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "transport/queue.h"
#include "transport/spool.h"

static void test_backoff(void **state)
{
	static const struct {
		unsigned attempts;
		uint64_t min, max;
		uint32_t rnd;
		uint64_t want;
	} cases[] = {
		{ 1, 300000, 3600000, 0, 300000 },
		{ 2, 300000, 3600000, 0, 600000 },
		{ 3, 300000, 3600000, 0, 1200000 },
		{ 4, 300000, 3600000, 0, 2400000 },
		{ 5, 300000, 3600000, 0, 3600000 },
		{ 60, 300000, 3600000, 0, 3600000 },
		{ 0, 300000, 3600000, 0, 300000 },
		{ 1, 300000, 3600000, 7, 300007 },
		{ 1, 300000, 3600000, 30001, 300000 }, /* rnd % (30000 + 1) */
		{ 3, 1000, 1000, 0, 1000 },
		{ 1, 5000, 1000, 0, 5000 },                   /* max < min */
		{ 70, 1, UINT64_MAX / 2, 0, UINT64_MAX / 2 }, /* no overflow */
	};
	size_t i;
	uint32_t r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t got =
		    queue_backoff_ms(cases[i].attempts, cases[i].min, cases[i].max, cases[i].rnd);
		if (got != cases[i].want)
			fail_msg("case %zu: %llu, want %llu", i, (unsigned long long)got,
			         (unsigned long long)cases[i].want);
	}
	/* jitter never adds more than 10% */
	for (r = 0; r < 100000; r += 997) {
		uint64_t w = queue_backoff_ms(3, 300000, 3600000, r * 2654435761u);
		assert_true(w >= 1200000 && w <= 1320000);
	}
}

/* test_sts_period - the MTA-STS refresh timer: an eighth of the margin,
 * within 1 s and 1 h; the default margin (1 day) gives the 1 h cap */
static void test_sts_period(void **state)
{
	static const struct {
		uint64_t margin, want;
	} cases[] = {
		{ 0, 3600000 }, { 60000, 7500 },       { 86400000, 3600000 }, { 8000, 1000 },
		{ 1000, 1000 }, { 16000000, 2000000 }, { 28800000, 3600000 }, { 28792000, 3599000 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (queue_sts_period_ms(cases[i].margin) != cases[i].want)
			fail_msg("case %zu: %llu -> %llu, want %llu", i,
			         (unsigned long long)cases[i].margin,
			         (unsigned long long)queue_sts_period_ms(cases[i].margin),
			         (unsigned long long)cases[i].want);
}

static void test_domain_match(void **state)
{
	static const struct {
		const char *pattern, *domain;
		bool want;
	} cases[] = {
		{ "example.com", "example.com", true },
		{ "example.com", "EXAMPLE.com", true },
		{ "example.com", "a.example.com", false },
		{ "*.example.com", "a.example.com", true },
		{ "*.example.com", "a.b.Example.COM", true },
		{ "*.example.com", "example.com", false },
		{ "*.example.com", "badexample.com", false },
		{ "*", "anything.example", true },
		{ "*", "", false },
		{ "example.com", "example.co", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (queue_domain_match(cases[i].pattern, cases[i].domain) != cases[i].want)
			fail_msg("case %zu: %s vs %s", i, cases[i].pattern, cases[i].domain);
}

static const char route_cfg[] = "accepted_domains:\n"
                                "  - domain: example.org\n"
                                "  - domain: corp.example\n"
                                "    subdomains: true\n"
                                "outbound_connectors:\n"
                                "  - name: exchange\n"
                                "    domains: [corp.example, \"*.corp.example\"]\n"
                                "    type: smtp\n"
                                "    smart_hosts: [\"exch.corp.example:2525\"]\n"
                                "  - name: lmtp\n"
                                "    domains: [lmtp.example]\n"
                                "    type: lmtp\n"
                                "    smart_hosts: [\"[127.0.0.1]:24\"]\n"
                                "  - name: partners\n"
                                "    domains: [\"*.partner.example\"]\n";

static void test_route(void **state)
{
	static const struct {
		const char *rcpt;
		bool outbound;
		int rc;
		enum queue_route_kind kind;
		const char *key;
	} cases[] = {
		{ "bob@example.org", false, 0, QUEUE_ROUTE_MAILDIR, "maildir" },
		{ "bob@Example.ORG", true, 0, QUEUE_ROUTE_MAILDIR, "maildir" },
		{ "ceo@corp.example", false, 0, QUEUE_ROUTE_CONNECTOR, "connector:exchange" },
		{ "ceo@eu.corp.example", true, 0, QUEUE_ROUTE_CONNECTOR, "connector:exchange" },
		{ "x@lmtp.example", true, 0, QUEUE_ROUTE_CONNECTOR, "connector:lmtp" },
		{ "x@a.partner.example", true, 0, QUEUE_ROUTE_CONNECTOR, "connector:partners" },
		{ "x@partner.example", true, 0, QUEUE_ROUTE_DIRECT, "mx:partner.example" },
		{ "someone@gmail.example", true, 0, QUEUE_ROUTE_DIRECT, "mx:gmail.example" },
		/* received for us, domain no longer accepted: where it always went */
		{ "someone@gmail.example", false, 0, QUEUE_ROUTE_MAILDIR, "maildir" },
		{ "x@[192.0.2.1]", true, 0, QUEUE_ROUTE_DIRECT, "mx:[192.0.2.1]" },
		{ "no-domain", true, -1, QUEUE_ROUTE_DIRECT, "" },
		{ "trailing@", true, -1, QUEUE_ROUTE_DIRECT, "" },
	};
	struct config_diag diag;
	struct smexop_config *cfg = config_load_mem("route", route_cfg, strlen(route_cfg), &diag);
	struct queue_route r;
	size_t i;

	(void)state;
	if (cfg == NULL)
		fail_msg("config: %s", diag.n ? diag.errors[0].msg : "?");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = queue_route(cfg, cases[i].rcpt, cases[i].outbound, &r);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d", i, rc);
		if (rc == 0 && (r.kind != cases[i].kind || strcmp(r.key, cases[i].key) != 0))
			fail_msg("case %zu: %s: kind %d key %s", i, cases[i].rcpt, (int)r.kind,
			         r.key);
	}
	assert_int_equal(queue_route(cfg, "ceo@corp.example", false, &r), 0);
	assert_string_equal(r.conn->smart_hosts.v[0], "exch.corp.example:2525");
	assert_string_equal(r.domain, "corp.example");
	config_free(cfg);
}

static void test_config_errors(void **state)
{
	static const char *bad[] = {
		"outbound_connectors:\n  - domains: [a.example]\n",
		"outbound_connectors:\n  - name: x\n",
		"outbound_connectors:\n  - name: x\n    domains: [\"a*.example\"]\n",
		"outbound_connectors:\n  - name: x\n    domains: [a.example]\n    type: lmtp\n",
		"outbound_connectors:\n  - name: x\n    domains: [a.example]\n"
		"    smart_hosts: [\"h:99999\"]\n",
		"outbound_connectors:\n  - name: x\n    domains: [a.example]\n    type: maildir\n"
		"    smart_hosts: [h]\n",
		"queue:\n  retry_min: 2h\n  retry_max: 1h\n",
		"queue:\n  lifetime: 1h\n  delay_warning: 2h\n",
	};
	struct config_diag diag;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct smexop_config *cfg = config_load_mem("bad", bad[i], strlen(bad[i]), &diag);
		if (cfg != NULL)
			fail_msg("case %zu loaded", i);
	}
}

/* ---- the manager on a temporary spool ---------------------------------- */

static char dir[64];

static struct smexop_config *engine_cfg(void)
{
	char text[2048];
	struct config_diag diag;
	struct smexop_config *cfg;

	snprintf(text, sizeof(text),
	         "server:\n  hostname: mx.test.example\n"
	         "delivery:\n  maildir: %s/mail\n"
	         "accepted_domains:\n  - domain: example.org\n"
	         "queue:\n  lifetime: 1h\n  retry_min: 10m\n  retry_max: 1h\n"
	         "outbound_connectors:\n"
	         "  - name: relay\n    domains: [\"*.relay.example\"]\n"
	         "    smart_hosts: [\"127.0.0.1:9\"]\n",
	         dir);
	cfg = config_load_mem("engine", text, strlen(text), &diag);
	if (cfg == NULL)
		fail_msg("config: %s", diag.n ? diag.errors[0].msg : "?");
	return cfg;
}

static void engine_idle(evutil_socket_t fd, short what, void *arg)
{
	void **a = arg;

	(void)fd;
	(void)what;
	if (queue_idle(a[0]))
		event_base_loopexit(a[1], NULL);
}

/* engine_run - one manager until idle; its stats */
static struct queue_stats engine_run(struct spool *sp)
{
	struct event_base *base = event_base_new();
	struct queue_deps deps = { .base = base, .spool = sp };
	struct sx_err err = { 0 };
	struct queue *q = queue_new(&deps, engine_cfg(), &err);
	struct timeval tick = { 0, 5000 };
	struct queue_stats st;
	void *a[2] = { q, base };
	struct event *idle = event_new(base, -1, EV_PERSIST, engine_idle, a);

	assert_non_null(q);
	event_add(idle, &tick);
	assert_int_equal(queue_start(q), 0);
	event_base_dispatch(base);
	queue_stats_get(q, &st);
	event_free(idle);
	queue_free(q);
	event_base_free(base);
	return st;
}

/* files - the files of DIR/mail/example.org/USER/new concatenated into out */
static unsigned files(const char *user, struct buf *out)
{
	char path[256], f[512];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	buf_clear(out);
	snprintf(path, sizeof(path), "%s/mail/example.org/%s/new", dir, user);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
		assert_int_equal(buf_read_file(out, f), 0);
		n++;
	}
	closedir(d);
	return n;
}

static int count_entries(const char *id, void *arg)
{
	(void)id;
	(*(unsigned *)arg)++;
	return 0;
}

static void test_engine(void **state)
{
	static const char msg[] = "From: alice@example.org\r\nSubject: engine\r\n"
	                          "Message-ID: <e1@example.org>\r\n\r\nbody\r\n";
	struct spool_options so = { .node_id = "t" };
	struct spool_rcpt r[3];
	struct spool_envelope env;
	struct sx_err err = { 0 };
	struct spool_tx *tx;
	struct spool_entry *e;
	struct queue_stats st;
	struct buf b;
	struct spool *sp;
	char spooldir[128], id[SPOOL_ID_MAX], cmd[160];
	int64_t now = (int64_t)time(NULL);
	unsigned n;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_queue.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(spooldir, sizeof(spooldir), "%s/spool", dir);
	so.dir = spooldir;
	sp = spool_open(&so, &err);
	assert_non_null(sp);
	memset(&env, 0, sizeof(env));
	memset(r, 0, sizeof(r));
	r[0] = (struct spool_rcpt){ .addr = "bob@example.org", .notify = "", .orcpt = "" };
	r[1] = (struct spool_rcpt){ .addr = ".hidden@example.org", .notify = "", .orcpt = "" };
	r[2] = (struct spool_rcpt){ .addr = "x@a.relay.example", .notify = "", .orcpt = "" };
	env.received = now;
	env.sender = "alice@example.org";
	env.rcpts = r;
	env.nrcpts = 3;
	env.client_ip = "192.0.2.1";
	env.helo = "h";
	env.ptr = "";
	tx = spool_tx_begin(sp, &err);
	assert_non_null(tx);
	assert_int_equal(spool_tx_write(tx, msg, strlen(msg)), 0);
	assert_int_equal(spool_tx_finish(tx, &err), 0);
	assert_int_equal(spool_tx_commit(tx, &env, SPOOL_QUEUE, &err), 0);
	snprintf(id, sizeof(id), "%s", spool_tx_id(tx));
	spool_tx_free(tx);

	st = engine_run(sp);
	/* bob delivered, .hidden failed, the relay deferred; the DSN delivered */
	assert_int_equal(st.delivered, 2);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.deferred, 1);
	assert_int_equal(st.dsns, 1);
	buf_init(&b, 1 << 20);
	assert_int_equal(files("bob", &b), 1);
	assert_non_null(strstr(b.data, "Subject: engine\n"));
	assert_int_equal(files("alice", &b), 1);
	assert_non_null(strstr(b.data, "Return-Path: <>\n"));
	assert_non_null(strstr(b.data, "Subject: Undelivered Mail Returned to Sender\n"));
	assert_non_null(strstr(b.data, "Final-Recipient: rfc822; .hidden@example.org\n"
	                               "Action: failed\nStatus: 5.1.3\n"));
	assert_non_null(strstr(b.data, "Subject: engine\n")); /* the original headers */
	assert_null(strstr(b.data, "x@a.relay.example"));     /* still being tried */

	e = spool_entry_load(sp, SPOOL_QUEUE, id, &err);
	assert_non_null(e);
	assert_int_equal(e->env.rcpts[0].state, SPOOL_RCPT_DELIVERED);
	assert_int_equal(e->env.rcpts[1].state, SPOOL_RCPT_FAILED);
	assert_int_equal(e->env.rcpts[1].notices, SPOOL_NOTICE_FAILURE);
	assert_int_equal(e->env.rcpts[2].state, SPOOL_RCPT_PENDING);
	assert_int_equal(e->env.rcpts[2].attempts, 1);
	assert_true(e->env.rcpts[2].first_deferral >= now);
	assert_true(e->env.rcpts[2].next_attempt >= now + 600 &&
	            e->env.rcpts[2].next_attempt <= now + 662);
	assert_non_null(strstr(e->env.rcpts[2].diag, "not"));
	assert_string_equal(e->env.rcpts[2].status, "4.3.0");

	/* not due: a second pass leaves it alone */
	st = engine_run(sp);
	assert_int_equal(st.attempts, 0);

	/* the lifetime (1h) is over: due now, deferred again, so it fails */
	e->env.received = now - 7200;
	e->env.rcpts[2].next_attempt = 0;
	assert_int_equal(spool_entry_update(sp, e, &e->env, &err), 0);
	spool_entry_free(e);
	st = engine_run(sp);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.dsns, 1);
	assert_int_equal(st.removed, 2); /* the entry and the second DSN */
	assert_int_equal(files("alice", &b), 2);
	assert_non_null(strstr(b.data, "Final-Recipient: rfc822; x@a.relay.example\n"
	                               "Action: failed\nStatus: 4.3.0\n"));
	e = spool_entry_load(sp, SPOOL_QUEUE, id, &err);
	assert_null(e);
	n = 0;
	assert_int_equal(spool_scan(sp, SPOOL_QUEUE, count_entries, &n, &err), 0);
	assert_int_equal(n, 0);

	buf_free(&b);
	spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* a destination where nobody answers rests: the first transaction gets
 * "connection refused", what waits behind it is deferred without trying */
static void test_suspended(void **state)
{
	static const char msg[] = "Subject: s\r\n\r\nbody\r\n";
	struct spool_options so = { .node_id = "t" };
	struct spool_rcpt r;
	struct spool_envelope env;
	struct sx_err err = { 0 };
	struct config_diag diag;
	struct spool *sp;
	char spooldir[128], ids[3][SPOOL_ID_MAX], cmd[160], text[1024];
	unsigned i, refused = 0, suspended = 0;
	struct event_base *base = event_base_new();
	struct dns_zone *zone = dns_zone_new();
	struct dns *dns = dns_new_zone(base, zone);
	struct queue_deps deps = { .base = base, .dns = dns };
	struct timeval tick = { 0, 5000 };
	struct smexop_config *cfg;
	struct queue *q;
	void *a[2];
	struct event *idle;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_queue.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(spooldir, sizeof(spooldir), "%s/spool", dir);
	so.dir = spooldir;
	sp = spool_open(&so, &err);
	assert_non_null(sp);
	for (i = 0; i < 3; i++) {
		struct spool_tx *tx = spool_tx_begin(sp, &err);
		memset(&env, 0, sizeof(env));
		r = (struct spool_rcpt){ .addr = "x@dead.example", .notify = "NEVER", .orcpt = "" };
		env.received = (int64_t)time(NULL);
		env.sender = "a@example.org";
		env.rcpts = &r;
		env.nrcpts = 1;
		env.client_ip = env.helo = env.ptr = "";
		assert_non_null(tx);
		assert_int_equal(spool_tx_write(tx, msg, strlen(msg)), 0);
		assert_int_equal(spool_tx_finish(tx, &err), 0);
		assert_int_equal(spool_tx_commit(tx, &env, SPOOL_QUEUE, &err), 0);
		snprintf(ids[i], sizeof(ids[i]), "%s", spool_tx_id(tx));
		spool_tx_free(tx);
	}
	snprintf(text, sizeof(text),
	         "server:\n  hostname: mx.test.example\n"
	         "accepted_domains:\n  - domain: dead.example\n"
	         "queue:\n  retry_min: 10m\n  destination_concurrency: 1\n"
	         "outbound_connectors:\n"
	         "  - name: dead\n    domains: [dead.example]\n"
	         "    smart_hosts: [\"127.0.0.1:1\"]\n    tls: none\n");
	cfg = config_load_mem("suspended", text, strlen(text), &diag);
	assert_non_null(cfg);
	deps.spool = sp;
	q = queue_new(&deps, cfg, &err);
	assert_non_null(q);
	a[0] = q;
	a[1] = base;
	idle = event_new(base, -1, EV_PERSIST, engine_idle, a);
	event_add(idle, &tick);
	assert_int_equal(queue_start(q), 0);
	event_base_dispatch(base);
	for (i = 0; i < 3; i++) {
		struct spool_entry *e = spool_entry_load(sp, SPOOL_QUEUE, ids[i], &err);
		assert_non_null(e);
		assert_int_equal(e->env.rcpts[0].state, SPOOL_RCPT_PENDING);
		assert_int_equal(e->env.rcpts[0].attempts, 1);
		if (strstr(e->env.rcpts[0].diag, "delivery temporarily suspended") != NULL)
			suspended++;
		else if (strstr(e->env.rcpts[0].diag, "refused") != NULL)
			refused++;
		spool_entry_free(e);
	}
	assert_int_equal(refused, 1);
	assert_int_equal(suspended, 2);
	event_free(idle);
	queue_free(q);
	dns_free(dns);
	dns_zone_free(zone);
	event_base_free(base);
	spool_close(sp);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),    cmocka_unit_test(test_domain_match),
		cmocka_unit_test(test_route),      cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_engine),     cmocka_unit_test(test_suspended),
		cmocka_unit_test(test_sts_period),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
