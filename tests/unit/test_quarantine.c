/* Unit tests for the quarantine and the message trace: the store
 * operations on a temporary SQLite database (add, duplicates, list
 * filters, release, delete, expiry; trace events, per-message status,
 * filters, detail, expiry), and transport/quarantine over a temporary
 * spool (commit with its row and trace event, Subject extraction,
 * release with SFV:SKQ, X-Spam-Flag NO and X-Smexop-Released (a case
 * table of spam verdict fields), release to one recipient,
 * delete, expire, rows rebuilt from envelopes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport/quarantine.h"

static char dir[64];
static struct spool *sp;
static struct store *st;

static int setup(void **state)
{
	struct spool_options so = { .node_id = "q" };
	struct store_options to = { .backend = STORE_BACKEND_SQLITE };
	struct sx_err err = { 0 };
	char p[128], d[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_quarantine.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(d, sizeof(d), "%s/spool", dir);
	snprintf(p, sizeof(p), "%s/db", dir);
	so.dir = d;
	to.path = p;
	sp = spool_open(&so, &err);
	st = store_open(&to, &err);
	if (st == NULL)
		fprintf(stderr, "%s\n", err.msg);
	return sp && st ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	sp = spool_close(sp);
	st = store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- store: quarantine rows ----------------------------------------- */

struct seen {
	char ids[1024];
	int n;
	struct store_quarantine last;
	char recipients[256], released_to[256];
};

static int seen_cb(const struct store_quarantine *q, void *arg)
{
	struct seen *s = arg;
	size_t n = strlen(s->ids);

	snprintf(s->ids + n, sizeof(s->ids) - n, "%s ", q->id);
	s->n++;
	s->last = *q;
	snprintf(s->recipients, sizeof(s->recipients), "%s", q->recipients);
	snprintf(s->released_to, sizeof(s->released_to), "%s", q->released_to);
	s->last.recipients = s->recipients;
	s->last.released_to = s->released_to;
	s->last.id = s->last.subject = s->last.sender = s->last.reasons = "";
	return 0;
}

static void add_row(const char *id, const char *sender, const char *r1, const char *r2,
                    const char *reasons, int64_t received)
{
	const char *rc[] = { r1, r2 };
	struct store_quarantine q = { .id = id,
		                      .sender = sender,
		                      .rcpts = rc,
		                      .nrcpts = r2 ? 2 : 1,
		                      .subject = "s",
		                      .reasons = reasons,
		                      .policy = "AdminOnlyAccessPolicy",
		                      .received = received,
		                      .expires = received + 100 };
	struct sx_err err = { 0 };

	assert_int_equal(store_quarantine_add(st, &q, &err), 0);
	assert_int_equal(store_quarantine_add(st, &q, &err), 1); /* already there */
}

static void test_store_quarantine(void **state)
{
	struct store_quarantine_filter f = { 0 };
	struct sx_err err = { 0 };
	struct seen s = { 0 };

	(void)state;
	add_row("q1", "a@x.example", "bob@example.org", NULL, "spam (SCL 9)", 1000);
	add_row("q2", "b@y.example", "carol@example.org", "Bob@Example.org", "phish; malware",
	        2000);
	add_row("q3", "A@X.example", "dave@example.org", NULL, "bulk", 3000);

	assert_int_equal(store_quarantine_list(st, NULL, seen_cb, &s, &err), 0);
	assert_string_equal(s.ids, "q3 q2 q1 "); /* newest first */
	memset(&s, 0, sizeof(s));
	f.recipient = "bob@example.org"; /* case-insensitive, any recipient */
	assert_int_equal(store_quarantine_list(st, &f, seen_cb, &s, &err), 0);
	assert_string_equal(s.ids, "q2 q1 ");
	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	f.reason = "MALWARE";
	assert_int_equal(store_quarantine_list(st, &f, seen_cb, &s, &err), 0);
	assert_string_equal(s.ids, "q2 ");
	assert_string_equal(s.recipients, "carol@example.org, Bob@Example.org");
	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	f.sender = "a@x.example";
	f.since = 1500;
	assert_int_equal(store_quarantine_list(st, &f, seen_cb, &s, &err), 0);
	assert_string_equal(s.ids, "q3 ");
	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	f.until = 2000;
	f.limit = 5;
	assert_int_equal(store_quarantine_list(st, &f, seen_cb, &s, &err), 0);
	assert_string_equal(s.ids, "q1 ");

	assert_int_equal(store_quarantine_release(st, "q1", 5000, "admin", NULL, &err), 0);
	assert_int_equal(
	    store_quarantine_release(st, "q2", 5001, "admin", "carol@example.org", &err), 0);
	assert_int_equal(store_quarantine_release(st, "q2", 5002, "admin", "bob@example.org", &err),
	                 0);
	assert_int_equal(store_quarantine_release(st, "nope", 1, "a", NULL, &err), 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_quarantine_get(st, "q2", seen_cb, &s, &err), 0);
	assert_true(s.last.released);
	assert_int_equal(s.last.released_at, 5002);
	assert_string_equal(s.released_to, "carol@example.org, bob@example.org");
	assert_int_equal(store_quarantine_get(st, "nope", seen_cb, &s, &err), 1);
	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	f.unreleased = true;
	assert_int_equal(store_quarantine_list(st, &f, seen_cb, &s, &err), 0);
	assert_string_equal(s.ids, "q3 ");

	memset(&s, 0, sizeof(s));
	assert_int_equal(store_quarantine_expired(st, 2101, seen_cb, &s, &err), 0);
	assert_string_equal(s.ids, "q1 q2 "); /* expires 1100 and 2100 */
	assert_int_equal(store_quarantine_delete(st, "q1", &err), 0);
	assert_int_equal(store_quarantine_delete(st, "q1", &err), 1);
	memset(&s, 0, sizeof(s));
	f.unreleased = false;
	f.recipient = "bob@example.org";
	assert_int_equal(store_quarantine_list(st, &f, seen_cb, &s, &err), 0);
	assert_string_equal(s.ids, "q2 "); /* q1's recipient rows went with it */
	assert_int_equal(store_quarantine_add(NULL, NULL, &err), -1);
}

/* ---- store: message trace ------------------------------------------- */

struct tseen {
	char out[2048];
};

static int tmsg_cb(const struct store_trace_message *m, void *arg)
{
	struct tseen *t = arg;
	size_t n = strlen(t->out);

	snprintf(t->out + n, sizeof(t->out) - n, "%s:%s:%s:%llu|", m->key, m->status, m->recipients,
	         (unsigned long long)m->events);
	return 0;
}

static int tev_cb(const struct store_trace_event *ev, void *arg)
{
	struct tseen *t = arg;
	size_t n = strlen(t->out);

	snprintf(t->out + n, sizeof(t->out) - n, "%s:%s|", store_trace_kind_name(ev->kind),
	         ev->recipient);
	return 0;
}

static void ev(int64_t t, enum store_trace_kind k, const char *spool, const char *session,
               const char *rcpt)
{
	struct store_trace_event e = { .time = t,
		                       .kind = k,
		                       .spool_id = spool,
		                       .session_id = session,
		                       .message_id = spool ? "<m@x>" : NULL,
		                       .sender = "s@x.example",
		                       .recipient = rcpt,
		                       .client_ip = "192.0.2.9",
		                       .size = 10 };
	struct sx_err err = { 0 };

	if (spool != NULL && strcmp(spool, "m3") == 0)
		e.message_id = "<other@x>";
	assert_int_equal(store_trace_add(st, &e, &err), 0);
}

static void test_store_trace(void **state)
{
	struct store_trace_filter f = { 0 };
	struct sx_err err = { 0 };
	struct tseen t = { "" };
	uint64_t removed = 0;
	struct store_trace_event bad = { .kind = STORE_TRACE_RECEIVED };

	(void)state;
	ev(100, STORE_TRACE_RECEIVED, "m1", "s1", NULL);
	ev(101, STORE_TRACE_ACCEPTED, "m1", "s1", NULL);
	ev(102, STORE_TRACE_DELIVERED, "m1", "s1", "a@example.org");
	ev(103, STORE_TRACE_FAILED, "m1", "s1", "b@example.org");
	ev(200, STORE_TRACE_REJECTED, NULL, "s2", "c@example.org");
	ev(300, STORE_TRACE_RECEIVED, "m3", "s3", NULL);
	ev(301, STORE_TRACE_QUARANTINED, "m3", "s3", NULL);
	ev(400, STORE_TRACE_RECEIVED, "m4", "s4", NULL);
	assert_int_equal(store_trace_add(st, &bad, &err), -1); /* neither id */

	assert_int_equal(store_trace_messages(st, NULL, tmsg_cb, &t, &err), 0);
	assert_string_equal(t.out, "m4:pending::1|m3:quarantined::2|s2:rejected:c@example.org:1|"
	                           "m1:partial:a@example.org, b@example.org:4|");
	t.out[0] = '\0';
	f.recipient = "B@example.org";
	assert_int_equal(store_trace_messages(st, &f, tmsg_cb, &t, &err), 0);
	assert_string_equal(t.out, "m1:partial:a@example.org, b@example.org:4|");
	t.out[0] = '\0';
	memset(&f, 0, sizeof(f));
	f.since = 150;
	f.until = 350;
	assert_int_equal(store_trace_messages(st, &f, tmsg_cb, &t, &err), 0);
	assert_string_equal(t.out, "m3:quarantined::2|s2:rejected:c@example.org:1|");
	t.out[0] = '\0';
	memset(&f, 0, sizeof(f));
	f.message_id = "<other@x>";
	assert_int_equal(store_trace_messages(st, &f, tmsg_cb, &t, &err), 0);
	assert_string_equal(t.out, "m3:quarantined::2|");
	t.out[0] = '\0';
	f.message_id = NULL;
	f.sender = "S@X.EXAMPLE";
	f.limit = 1;
	assert_int_equal(store_trace_messages(st, &f, tmsg_cb, &t, &err), 0);
	assert_string_equal(t.out, "m4:pending::1|");

	t.out[0] = '\0';
	assert_int_equal(store_trace_events(st, "m1", tev_cb, &t, &err), 0);
	assert_string_equal(t.out,
	                    "received:|accepted:|delivered:a@example.org|failed:b@example.org|");
	t.out[0] = '\0';
	assert_int_equal(store_trace_events(st, "s2", tev_cb, &t, &err), 0);
	assert_string_equal(t.out, "rejected:c@example.org|");
	assert_int_equal(store_trace_events(st, "nothing", tev_cb, &t, &err), 1);
	assert_int_equal(store_trace_expire(st, 300, &removed, &err), 0);
	assert_int_equal(removed, 5);
	t.out[0] = '\0';
	assert_int_equal(store_trace_messages(st, NULL, tmsg_cb, &t, &err), 0);
	assert_string_equal(t.out, "m4:pending::1|m3:quarantined::2|");
}

/* ---- transport/quarantine ------------------------------------------- */

static void test_subject(void **state)
{
	static const struct {
		const char *msg, *want;
	} cases[] = {
		{ "From: a\r\nSubject: Hello\r\n\r\nbody", "Hello" },
		{ "subject:  folded\r\n  line\r\nTo: b\r\n\r\n", "folded  line" },
		{ "From: a\r\n\r\nSubject: in body\r\n", "" },
		{ "X-Subject: no\r\nSubject:\tctl\x01x\r\n", "ctl x" },
		{ "Subject: last line no newline", "last line no newline" },
		{ "", "" },
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(
		    quarantine_subject(cases[i].msg, strlen(cases[i].msg), out, sizeof(out)),
		    cases[i].want);
	quarantine_subject("Subject: 0123456789012345678901234567890123456789\r\n", 51, out, 8);
	assert_string_equal(out, "0123456");
}

static void quarantine_with(char id[SPOOL_ID_MAX], const char **hdrs, size_t nhdrs);

/* quarantine_one - a spam message for bob and carol, quarantined */
static void quarantine_one(char id[SPOOL_ID_MAX])
{
	static const char *hdrs[] = { "X-Smexop-Antispam-Report: CIP:192.0.2.1;SFV:SPM;SCL:9;",
		                      "X-Spam-Flag: YES",
		                      "X-Spam-Status: Yes, score=9 required=5 tests=spam" };

	quarantine_with(id, hdrs, sizeof(hdrs) / sizeof(hdrs[0]));
}

/* quarantine_with - one message for bob and carol, with these H records */
static void quarantine_with(char id[SPOOL_ID_MAX], const char **hdrs, size_t nhdrs)
{
	static const char msg[] = "Subject: Win a prize\r\nFrom: x@spam.example\r\n\r\nclick\r\n";
	static const char *reasons[] = { "spam (SCL 9)", "url reputation" };
	struct spool_rcpt r[2] = { { .addr = "bob@example.org" }, { .addr = "carol@example.org" } };
	struct spool_envelope e = { .received = 1700000000,
		                    .session_id = "0a0b",
		                    .message_id = "<p@spam.example>",
		                    .sender = "x@spam.example",
		                    .rcpts = r,
		                    .nrcpts = 2,
		                    .client_ip = "192.0.2.1",
		                    .verdict = "spam",
		                    .headers = hdrs,
		                    .nheaders = nhdrs,
		                    .q_policy = "DefaultFullAccessPolicy",
		                    .q_reasons = reasons,
		                    .nq_reasons = 2 };
	struct quarantine_options o = { .retention = 3600 };
	struct sx_err err = { 0 };
	struct spool_tx *tx = spool_tx_begin(sp, &err);

	assert_int_equal(spool_tx_write(tx, msg, sizeof(msg) - 1), 0);
	assert_int_equal(spool_tx_finish(tx, &err), 0);
	if (quarantine_commit(tx, &e, &o, st, 1700000001, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(id, SPOOL_ID_MAX, "%s", spool_tx_id(tx));
	spool_tx_free(tx);
}

struct row {
	char subject[128], reasons[128], policy[64];
	int64_t expires;
	bool released;
};

static int row_cb(const struct store_quarantine *q, void *arg)
{
	struct row *r = arg;

	snprintf(r->subject, sizeof(r->subject), "%s", q->subject);
	snprintf(r->reasons, sizeof(r->reasons), "%s", q->reasons);
	snprintf(r->policy, sizeof(r->policy), "%s", q->policy);
	r->expires = q->expires;
	r->released = q->released;
	return 0;
}

static void test_commit_release(void **state)
{
	char id[SPOOL_ID_MAX], copy[SPOOL_ID_MAX], again[SPOOL_ID_MAX];
	struct sx_err err = { 0 };
	struct spool_entry *e;
	struct tseen t = { "" };
	struct row r = { 0 };

	(void)state;
	quarantine_one(id);
	e = spool_entry_load(sp, SPOOL_QUARANTINE, id, &err);
	assert_non_null(e);
	assert_true(e->env.quarantined);
	assert_int_equal(e->env.q_expires, 1700003600);
	spool_entry_free(e);
	assert_int_equal(store_quarantine_get(st, id, row_cb, &r, &err), 0);
	assert_string_equal(r.subject, "Win a prize");
	assert_string_equal(r.reasons, "spam (SCL 9); url reputation");
	assert_string_equal(r.policy, "DefaultFullAccessPolicy");
	assert_int_equal(r.expires, 1700003600);
	assert_int_equal(store_trace_events(st, id, tev_cb, &t, &err), 0);
	assert_string_equal(t.out, "quarantined:bob@example.org|quarantined:carol@example.org|");

	/* to one recipient: a copy, the quarantined entry stays */
	assert_int_equal(
	    quarantine_release(sp, st, id, "nobody@example.org", "admin", 1700000100, copy, &err),
	    -1);
	assert_non_null(strstr(err.msg, "not a recipient"));
	assert_int_equal(
	    quarantine_release(sp, st, id, "Carol@example.org", "admin", 1700000100, copy, &err),
	    0);
	assert_string_not_equal(copy, id);
	e = spool_entry_load(sp, SPOOL_QUEUE, copy, &err);
	assert_non_null(e);
	assert_int_equal(e->env.nrcpts, 1);
	assert_string_equal(e->env.rcpts[0].addr, "carol@example.org");
	assert_int_equal(e->env.released, 1700000100);
	assert_string_equal(e->env.released_by, "admin");
	assert_int_equal(e->env.nheaders, 4);
	assert_string_equal(e->env.headers[0],
	                    "X-Smexop-Antispam-Report: CIP:192.0.2.1;SFV:SKQ;SCL:9;");
	/* released mail is wanted mail: Sieve must not file it into Junk */
	assert_string_equal(e->env.headers[1], "X-Spam-Flag: NO");
	assert_string_equal(e->env.headers[2], "X-Spam-Status: No, score=9 required=5 tests=spam");
	assert_string_equal(e->env.headers[3],
	                    "X-Smexop-Released: Tue, 14 Nov 2023 22:15:00 +0000 by admin");
	spool_entry_free(e);
	e = spool_entry_load(sp, SPOOL_QUARANTINE, id, &err);
	assert_non_null(e);
	spool_entry_free(e);

	assert_int_equal(
	    quarantine_release(sp, st, id, "carol@example.org", "admin", 1700000100, copy, &err),
	    -1);
	assert_non_null(strstr(err.msg, "already released"));

	/* to everyone else: a move under the same id, without carol */
	assert_int_equal(quarantine_release(sp, st, id, NULL, "admin2", 1700000200, again, &err),
	                 0);
	assert_string_equal(again, id);
	assert_null(spool_entry_load(sp, SPOOL_QUARANTINE, id, &err));
	e = spool_entry_load(sp, SPOOL_QUEUE, id, &err);
	assert_non_null(e);
	assert_int_equal(e->env.nrcpts, 1);
	assert_string_equal(e->env.rcpts[0].addr, "bob@example.org");
	assert_int_equal(e->env.nheaders, 4); /* one X-Smexop-Released, SKQ once */
	assert_string_equal(e->env.headers[1], "X-Spam-Flag: NO");
	assert_string_equal(e->env.headers[2], "X-Spam-Status: No, score=9 required=5 tests=spam");
	assert_string_equal(e->env.headers[3],
	                    "X-Smexop-Released: Tue, 14 Nov 2023 22:16:40 +0000 by admin2");
	spool_entry_free(e);
	assert_int_equal(store_quarantine_get(st, id, row_cb, &r, &err), 0);
	assert_true(r.released);
	t.out[0] = '\0';
	assert_int_equal(store_trace_events(st, id, tev_cb, &t, &err), 0);
	assert_string_equal(t.out, "quarantined:bob@example.org|quarantined:carol@example.org|"
	                           "released:carol@example.org|released:bob@example.org|");
	/* nothing left to release */
	assert_int_equal(quarantine_release(sp, st, id, NULL, "a", 1700000300, NULL, &err), -1);
}

/* release turns the spam verdict fields into "no", whatever their case and
 * spacing, and leaves everything else alone */
static void test_release_unflag(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "X-Spam-Flag: YES", "X-Spam-Flag: NO" },
		{ "x-spam-flag:yes", "x-spam-flag: NO" },
		{ "X-Spam-Flag: NO", "X-Spam-Flag: NO" },
		{ "X-Spam-Status: Yes, score=6 required=5 tests=SPOOF",
		  "X-Spam-Status: No, score=6 required=5 tests=SPOOF" },
		{ "x-spam-status:\tYES, score=9", "x-spam-status:\tNo, score=9" },
		{ "X-Spam-Status: No, score=1 required=5 tests=none",
		  "X-Spam-Status: No, score=1 required=5 tests=none" },
		{ "X-Spam-Status: unknown", "X-Spam-Status: unknown" },
		{ "X-Spam-Status:", "X-Spam-Status:" },
		{ "X-Spam-Flagged: YES", "X-Spam-Flagged: YES" },
		{ "X-Spam-Level: ***", "X-Spam-Level: ***" },
	};
	const char *hdrs[1];
	char id[SPOOL_ID_MAX];
	struct sx_err err = { 0 };
	struct spool_entry *e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hdrs[0] = cases[i].in;
		quarantine_with(id, hdrs, 1);
		assert_int_equal(
		    quarantine_release(sp, st, id, NULL, "admin", 1700000100, NULL, &err), 0);
		e = spool_entry_load(sp, SPOOL_QUEUE, id, &err);
		assert_non_null(e);
		/* the field, then the SFV:SKQ report added because there was none */
		assert_true(e->env.nheaders >= 2);
		assert_string_equal(e->env.headers[0], cases[i].want);
		spool_entry_free(e);
	}
}

static void test_delete_expire_reconcile(void **state)
{
	char a[SPOOL_ID_MAX], b[SPOOL_ID_MAX], c[SPOOL_ID_MAX];
	struct sx_err err = { 0 };
	struct row r = { 0 };
	unsigned n = 0;

	(void)state;
	quarantine_one(a);
	quarantine_one(b);
	quarantine_one(c);
	assert_int_equal(quarantine_delete(sp, st, a, 1700000100, &err), 0);
	assert_null(spool_entry_load(sp, SPOOL_QUARANTINE, a, &err));
	assert_int_equal(store_quarantine_get(st, a, row_cb, &r, &err), 1);
	assert_int_equal(quarantine_delete(sp, st, a, 1700000100, &err), -1);
	assert_int_equal(quarantine_delete(sp, st, "../x", 1700000100, &err), -1);

	/* c's row is lost (as if the store failed at commit): rebuilt */
	assert_int_equal(store_quarantine_delete(st, c, &err), 0);
	assert_int_equal(quarantine_reconcile(sp, st, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_quarantine_get(st, c, row_cb, &r, &err), 0);
	assert_string_equal(r.subject, "Win a prize");

	assert_int_equal(quarantine_expire(sp, st, 1700003600, &n, &err), 0);
	assert_int_equal(n, 0); /* expires is not before now yet */
	assert_int_equal(quarantine_expire(sp, st, 1700003601, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_null(spool_entry_load(sp, SPOOL_QUARANTINE, b, &err));
	assert_null(spool_entry_load(sp, SPOOL_QUARANTINE, c, &err));
	assert_int_equal(store_quarantine_get(st, b, row_cb, &r, &err), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_trace, setup, teardown),
		cmocka_unit_test(test_subject),
		cmocka_unit_test_setup_teardown(test_commit_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_unflag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_expire_reconcile, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
