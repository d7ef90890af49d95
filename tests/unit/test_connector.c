/* Unit tests for the connectors' pieces: certificate name patterns,
 * inbound connector matching by IP and by certificate name (from YAML,
 * as the gateway builds them), the configuration's refusals, the
 * outbound spam limits, the store's sender counters, restricted senders
 * and directory table, the directory union over the file and the
 * store's entries (sub-addressing included), and the replies the stages
 * give agreeing with the reply catalogue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/config.h"
#include "filter/connector.h"
#include "filter/directory.h"
#include "filter/domains.h"
#include "pipeline/stage_outbound.h"
#include "smtp/smtp_reply.h"
#include "store/store.h"

/* ---- certificate names ------------------------------------------------ */

struct name_case {
	const char *pattern, *name;
	bool match;
};

static const struct name_case name_cases[] = {
	{ "mail.example.com", "mail.example.com", true },
	{ "mail.example.com", "MAIL.Example.COM", true },
	{ "mail.example.com", "mail2.example.com", false },
	{ "*.example.com", "mail.example.com", true },
	{ "*.example.com", "Relay.EXAMPLE.com", true },
	{ "*.example.com", "example.com", false },     /* one label, not none */
	{ "*.example.com", "a.b.example.com", false }, /* one label, not two */
	{ "*.example.com", ".example.com", false },    /* an empty label */
	{ "*.example.com", "mail.example.com.evil", false },
	{ "*.example.com", "mailexample.com", false },
	{ "*.example.com", "*.example.com", false }, /* no wildcard in the label */
	{ "mail.example.com", "", false },
	{ "*.example.com", "x.example.co", false },
};

static void test_name_match(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++)
		if (connector_name_match(name_cases[i].pattern, name_cases[i].name) !=
		    name_cases[i].match)
			fail_msg("case %zu: %s vs %s", i, name_cases[i].pattern,
			         name_cases[i].name);
	assert_false(connector_name_match(NULL, "a"));
	assert_false(connector_name_match("a", NULL));
}

/* ---- matching ------------------------------------------------------------ */

static const char yaml[] = "inbound_connectors:\n"
                           "  - name: onprem\n"
                           "    type: on_premises\n"
                           "    sender_ip_ranges: [\"192.0.2.0/28 exchange\", \"2001:db8::/64\"]\n"
                           "    trusted: true\n"
                           "    relay: true\n"
                           "  - name: disabled\n"
                           "    enabled: false\n"
                           "    sender_ip_ranges: [\"198.51.100.0/24\"]\n"
                           "  - name: partner-ip\n"
                           "    sender_ip_ranges: [\"198.51.100.0/24\"]\n"
                           "    require_tls: true\n"
                           "  - name: partner-cert\n"
                           "    tls_cert_names: [\"*.partner.example\", \"mx.other.example\"]\n"
                           "  - name: both\n"
                           "    sender_ip_ranges: [\"203.0.113.0/24\"]\n"
                           "    tls_cert_names: [\"relay.both.example\"]\n"
                           "    relay: true\n";

static struct smexop_config *load(const char *text)
{
	struct config_diag d;
	struct smexop_config *cfg = config_load_mem("t.yaml", text, strlen(text), &d);

	if (cfg == NULL && d.n > 0) {
		char line[400];
		print_message("%s\n", config_error_format(&d, 0, line, sizeof(line)));
	}
	return cfg;
}

static const struct connector *by_ip(const struct connectors *s, const char *ip)
{
	struct net_addr a;

	assert_int_equal(net_addr_parse(ip, &a), 0);
	return connectors_match_ip(s, &a);
}

static const struct connector *by_cert(const struct connectors *s, const char *ip, const char *name)
{
	struct net_addr a;
	const char *names[2] = { "ignored.cn.example", name };

	assert_int_equal(net_addr_parse(ip, &a), 0);
	return connectors_match_cert(s, &a, names, 2);
}

struct match_case {
	const char *ip, *cert; /* cert NULL: at connect */
	const char *want;      /* NULL: Internet mail */
};

static const struct match_case match_cases[] = {
	{ "192.0.2.1", NULL, "onprem" },
	{ "192.0.2.15", NULL, "onprem" },
	{ "192.0.2.16", NULL, NULL },
	{ "2001:db8::25", NULL, "onprem" },
	{ "2001:db8:0:1::25", NULL, NULL },
	{ "198.51.100.9", NULL, "partner-ip" }, /* "disabled" comes first but is off */
	{ "203.0.113.5", NULL, NULL },          /* "both" needs the certificate too */
	{ "192.0.2.1", "mx1.partner.example", "partner-cert" },
	{ "8.8.8.8", "MX1.Partner.Example", "partner-cert" },
	{ "8.8.8.8", "partner.example", NULL },
	{ "8.8.8.8", "a.mx1.partner.example", NULL },
	{ "8.8.8.8", "mx.other.example", "partner-cert" },
	{ "203.0.113.5", "relay.both.example", "both" },
	{ "8.8.8.8", "relay.both.example", NULL }, /* the right name from the wrong place */
};

static void test_match(void **state)
{
	struct smexop_config *cfg = load(yaml);
	struct sx_err err = { 0 };
	struct connectors *s;
	size_t i;

	(void)state;
	assert_non_null(cfg);
	s = connectors_from_config(cfg, NULL, NULL, &err);
	assert_non_null(s);
	assert_int_equal(connectors_count(s), 4);
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		const struct connector *k =
		    c->cert == NULL ? by_ip(s, c->ip) : by_cert(s, c->ip, c->cert);

		if ((k == NULL) != (c->want == NULL) ||
		    (k != NULL && strcmp(k->name, c->want) != 0))
			fail_msg("case %zu (%s %s): got %s", i, c->ip, c->cert ? c->cert : "-",
			         k ? k->name : "none");
	}
	{
		const struct connector *k = by_ip(s, "192.0.2.3");
		assert_true(k->trusted && k->relay && !k->require_tls);
		assert_int_equal(k->type, CONNECTOR_ON_PREMISES);
		k = by_ip(s, "198.51.100.1");
		assert_true(!k->trusted && !k->relay && k->require_tls);
	}
	/* no certificate names, no set */
	assert_null(connectors_match_cert(s, NULL, NULL, 0));
	assert_null(connectors_match_ip(NULL, NULL));
	connectors_free(s);
	config_free(cfg);
}

static void test_config_errors(void **state)
{
	static const char *const bad[] = {
		"inbound_connectors:\n  - name: x\n",                           /* matches nobody */
		"inbound_connectors:\n  - sender_ip_ranges: [\"192.0.2.1\"]\n", /* no name */
		"inbound_connectors:\n  - name: x\n    sender_ip_ranges: [\"192.0.2\"]\n",
		"inbound_connectors:\n  - name: x\n    tls_cert_names: [\"a.*.example\"]\n",
		"inbound_connectors:\n  - name: x\n    tls_cert_names: [\"*\"]\n",
		("inbound_connectors:\n  - name: x\n    sender_ip_ranges: [\"192.0.2.1\"]\n"
		 "  - name: X\n    sender_ip_ranges: [\"192.0.2.2\"]\n"), /* the same name */
		"outbound_spam:\n  action: delete\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config_diag d;
		struct smexop_config *cfg = config_load_mem("t.yaml", bad[i], strlen(bad[i]), &d);
		if (cfg != NULL)
			fail_msg("case %zu loaded:\n%s", i, bad[i]);
	}
}

/* ---- outbound limits ------------------------------------------------------ */

static void test_limits(void **state)
{
	struct stage_outbound_limits l;
	struct store_sender_counts c = { 0 };
	struct smexop_config *cfg;

	(void)state;
	stage_outbound_limits_config(NULL, &l);
	assert_int_equal(l.external_per_hour, 500);
	assert_int_equal(l.internal_per_hour, 1000);
	assert_int_equal(l.per_day, 1000);
	assert_int_equal(l.action, STAGE_OUTBOUND_BLOCK_TODAY);
	/* the configuration's defaults are the same (EOP's Standard preset) */
	cfg = load("server: {}\n");
	assert_non_null(cfg);
	stage_outbound_limits_config(&cfg->outbound_spam, &l);
	assert_int_equal(l.external_per_hour, 500);
	assert_int_equal(l.per_day, 1000);
	assert_int_equal(l.action, STAGE_OUTBOUND_BLOCK_TODAY);
	config_free(cfg);

	assert_null(stage_outbound_over(&l, &c, 500, 0));
	assert_string_equal(stage_outbound_over(&l, &c, 501, 0), "external_per_hour");
	c.hour_external = 499;
	assert_null(stage_outbound_over(&l, &c, 1, 0));
	assert_string_equal(stage_outbound_over(&l, &c, 2, 0), "external_per_hour");
	c.hour_external = 0;
	c.hour_internal = 1000;
	assert_string_equal(stage_outbound_over(&l, &c, 0, 1), "internal_per_hour");
	c.hour_internal = 0;
	c.day = 999;
	assert_null(stage_outbound_over(&l, &c, 1, 0));
	assert_string_equal(stage_outbound_over(&l, &c, 1, 1), "per_day");
	/* 0: no limit */
	l.external_per_hour = l.internal_per_hour = l.per_day = 0;
	c.day = c.hour_external = 1000000;
	assert_null(stage_outbound_over(&l, &c, 1000, 1000));
	cfg = load("outbound_spam:\n  external_per_hour: 3\n  action: restrict\n");
	assert_non_null(cfg);
	stage_outbound_limits_config(&cfg->outbound_spam, &l);
	assert_int_equal(l.external_per_hour, 3);
	assert_int_equal(l.action, STAGE_OUTBOUND_RESTRICT);
	assert_string_equal(stage_outbound_action_name(l.action), "restrict");
	config_free(cfg);
}

/* ---- the store ------------------------------------------------------------ */

static char dir[64];

static struct store *open_store(void)
{
	struct store_options o = { STORE_BACKEND_SQLITE, NULL, 0 };
	struct sx_err err = { 0 };
	char path[128];
	struct store *st;

	snprintf(dir, sizeof(dir), "/tmp/test_connector.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	o.path = path;
	st = store_open(&o, &err);
	if (st == NULL)
		fail_msg("%s", err.msg);
	return st;
}

static void close_store(struct store *st)
{
	char path[160];

	store_close(st);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

#define T0 1700000000 /* 2023-11-14 22:13:20 UTC */

static void test_store_counts(void **state)
{
	struct store *st = open_store();
	struct store_sender_counts c;
	struct sx_err err = { 0 };
	int64_t hour = T0 - T0 % 3600, day = T0 - T0 % 86400;

	(void)state;
	assert_int_equal(store_sender_counts(st, "a@example.com", T0, &c, &err), 0);
	assert_int_equal(c.hour_external + c.hour_internal + c.day, 0);
	assert_int_equal(store_sender_count_add(st, "a@example.com", T0, 3, 1, &err), 0);
	assert_int_equal(store_sender_count_add(st, "A@Example.com", T0 + 10, 2, 0, &err), 0);
	assert_int_equal(store_sender_count_add(st, "b@example.com", T0, 50, 0, &err), 0);
	assert_int_equal(store_sender_counts(st, "a@EXAMPLE.com", T0 + 20, &c, &err), 0);
	assert_int_equal(c.hour_external, 5);
	assert_int_equal(c.hour_internal, 1);
	assert_int_equal(c.day, 6);
	/* the next hour: the hour starts over, the day goes on */
	assert_int_equal(store_sender_count_add(st, "a@example.com", hour + 3600, 4, 0, &err), 0);
	assert_int_equal(store_sender_counts(st, "a@example.com", hour + 3600, &c, &err), 0);
	assert_int_equal(c.hour_external, 4);
	assert_int_equal(c.day, 10);
	/* the next UTC day: both start over */
	assert_int_equal(store_sender_counts(st, "a@example.com", day + 86400, &c, &err), 0);
	assert_int_equal(c.hour_external + c.day, 0);
	/* two days later the old rows are pruned on the next count */
	assert_int_equal(store_sender_count_add(st, "a@example.com", day + 3 * 86400, 1, 0, &err),
	                 0);
	assert_int_equal(store_sender_counts(st, "a@example.com", T0, &c, &err), 0);
	assert_int_equal(c.day, 0);
	assert_int_equal(store_sender_counts(st, "b@example.com", T0, &c, &err), 0);
	assert_int_equal(c.day, 50); /* another sender's rows stay */
	close_store(st);
}

static int count_cb(const struct store_restricted *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static int until_cb(const struct store_restricted *r, void *arg)
{
	*(int64_t *)arg = r->until;
	return 0;
}

static void test_store_restricted(void **state)
{
	struct store *st = open_store();
	struct sx_err err = { 0 };
	struct store_restricted r = { "spammer@example.com", T0, 0, "external_per_hour" };
	int n = 0;
	int64_t until = -1;

	(void)state;
	assert_int_equal(store_restricted_get(st, "spammer@example.com", T0, NULL, NULL, &err), 1);
	assert_int_equal(store_restricted_add(st, &r, &err), 0);
	assert_int_equal(
	    store_restricted_get(st, "SPAMMER@example.com", T0 + 999999, until_cb, &until, &err),
	    0);
	assert_int_equal(until, 0); /* until released */
	r.sender = "today@example.com";
	r.until = T0 + 100;
	assert_int_equal(store_restricted_add(st, &r, &err), 0);
	assert_int_equal(store_restricted_get(st, "today@example.com", T0 + 99, NULL, NULL, &err),
	                 0);
	assert_int_equal(store_restricted_get(st, "today@example.com", T0 + 100, NULL, NULL, &err),
	                 1);
	assert_int_equal(store_restricted_list(st, T0, count_cb, &n, &err), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_restricted_list(st, T0 + 200, count_cb, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_restricted_release(st, "Spammer@Example.com", &err), 0);
	assert_int_equal(store_restricted_release(st, "spammer@example.com", &err), 1);
	assert_int_equal(store_restricted_get(st, "spammer@example.com", T0, NULL, NULL, &err), 1);
	assert_int_equal(store_restricted_add(st, NULL, &err), -1);
	close_store(st);
}

static int dir_line(const char *address, const char *target, void *arg)
{
	struct buf *b = arg;

	if (target[0] != '\0')
		return buf_printf(b, "%s: %s\n", address, target) < 0 ? -1 : 0;
	return buf_printf(b, "%s\n", address) < 0 ? -1 : 0;
}

struct dir_case {
	const char *addr;
	enum directory_status want;
	const char *target;
};

static const struct dir_case dir_cases[] = {
	{ "alice@example.com", DIRECTORY_FOUND, "alice@example.com" }, /* the store */
	{ "Alice+news@Example.COM", DIRECTORY_FOUND, "alice@example.com" },
	{ "sales@example.com", DIRECTORY_FOUND, "bob@example.com" }, /* an alias */
	{ "sales+x@example.com", DIRECTORY_FOUND, "bob@example.com" },
	{ "carol@example.com", DIRECTORY_FOUND, "carol@example.com" }, /* the file */
	{ "carol+x@example.com", DIRECTORY_FOUND, "carol@example.com" },
	{ "dave@example.com", DIRECTORY_NOT_FOUND, NULL }, /* removed */
	{ "nobody@example.com", DIRECTORY_NOT_FOUND, NULL },
};

static void test_store_directory(void **state)
{
	struct store *st = open_store();
	struct sx_err err = { 0 };
	struct directory *u, *file, *db;
	struct directory_result r;
	struct buf b;
	uint64_t v0, v1, v2;
	size_t i;

	(void)state;
	assert_int_equal(store_directory_version(st, &v0, &err), 0);
	assert_int_equal(store_directory_add(st, "alice@example.com", NULL, &err), 0);
	assert_int_equal(store_directory_add(st, "sales@example.com", "carol@example.com", &err),
	                 0);
	assert_int_equal(store_directory_add(st, "Sales@example.com", "bob@example.com", &err),
	                 0); /* replaces */
	assert_int_equal(store_directory_add(st, "dave@example.com", "", &err), 0);
	assert_int_equal(store_directory_version(st, &v1, &err), 0);
	assert_true(v1 > v0);
	assert_int_equal(store_directory_remove(st, "DAVE@example.com", &err), 0);
	assert_int_equal(store_directory_remove(st, "dave@example.com", &err), 1);
	assert_int_equal(store_directory_version(st, &v2, &err), 0);
	assert_true(v2 > v1);
	/* the gateway's way: the table as file lines, in a union with the file */
	buf_init(&b, 1 << 20);
	assert_int_equal(store_directory_list(st, dir_line, &b, &err), 0);
	assert_non_null(strstr(b.data, "Sales@example.com: bob@example.com\n"));
	db = directory_load_text("store", b.data, b.len, "+", false, &err);
	assert_non_null(db);
	buf_free(&b);
	file = directory_load_text("file", "carol@example.com\n", 18, "+", false, &err);
	assert_non_null(file);
	u = directory_union_new("+", false);
	assert_false(directory_union_active(u));
	assert_int_equal(directory_union_set(u, 0, file), 0);
	assert_int_equal(directory_union_set(u, 1, db), 0);
	assert_int_equal(directory_union_set(u, DIRECTORY_UNION_MAX, NULL), -1);
	assert_true(directory_union_active(u));
	for (i = 0; i < sizeof(dir_cases) / sizeof(dir_cases[0]); i++) {
		assert_int_equal(directory_lookup(u, dir_cases[i].addr, &r), 0);
		if (r.status != dir_cases[i].want ||
		    (dir_cases[i].target != NULL && strcmp(r.target, dir_cases[i].target) != 0))
			fail_msg("case %zu %s: status %d target %s", i, dir_cases[i].addr, r.status,
			         r.target ? r.target : "-");
	}
	/* a refreshed copy replaces the old one */
	assert_int_equal(directory_union_set(u, 1, NULL), 0);
	assert_int_equal(directory_lookup(u, "alice@example.com", &r), 0);
	assert_int_equal(r.status, DIRECTORY_NOT_FOUND);
	assert_int_equal(directory_union_set(u, 0, NULL), 0);
	assert_false(directory_union_active(u));
	directory_free(u);
	close_store(st);
}

/* ---- replies ---------------------------------------------------------------- */

static void test_replies(void **state)
{
	const struct smtp_reply_def *d = smtp_reply_get(SMTP_R_RELAY_DENIED);
	struct domains *dom = domains_new();
	struct sx_err err = { 0 };
	struct edge_result r;
	char want[200];

	(void)state;
	assert_int_equal(domains_add(dom, "example.com", DOMAIN_AUTHORITATIVE, false, &err), 0);
	directory_edge_check(dom, NULL, "x@elsewhere.example", false, &r);
	snprintf(want, sizeof(want), "%u %s %s", d->code, d->enhanced, d->text);
	assert_string_equal(r.reply, want);
	assert_string_equal(r.reply,
	                    "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain");
	directory_edge_check(dom, NULL, "x@elsewhere.example", true, &r);
	assert_int_equal(r.verdict, EDGE_ACCEPT);
	assert_int_equal(r.reason, EDGE_R_RELAY);
	domains_free(dom);
	d = smtp_reply_get(SMTP_R_TLS_REQUIRED);
	assert_int_equal(d->code, 530);
	assert_string_equal(d->enhanced, "5.7.0");
	d = smtp_reply_get(SMTP_R_BAD_OUTBOUND_SENDER);
	assert_string_equal(d->text, "Access denied, bad outbound sender");
	assert_true(smtp_reply_enhanced_ok(d->enhanced, d->code));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_match),      cmocka_unit_test(test_match),
		cmocka_unit_test(test_config_errors),   cmocka_unit_test(test_limits),
		cmocka_unit_test(test_store_counts),    cmocka_unit_test(test_store_restricted),
		cmocka_unit_test(test_store_directory), cmocka_unit_test(test_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
