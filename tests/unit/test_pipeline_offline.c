/* Unit tests for pipeline/offline (a whole transaction without SMTP:
 * CONNECT, RCPT per recipient, EOM, and what the SMTP dialogue does
 * between them) with scripted stages, and for pipeline/verdict (the
 * mapping of SCL, BCL, CAT and a refused client to one verdict word). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "pipeline/offline.h"
#include "pipeline/stage.h"
#include "pipeline/verdict.h"

static char trail[1024];
static struct msg *pending; /* suspended at CONNECT, for the test to resume */
static int dones;

static void note(const char *s)
{
	size_t n = strlen(trail);

	snprintf(trail + n, sizeof(trail) - n, "%s", s);
}

static enum stage_result conn_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	void **slot = stage_slot(st, m);

	(void)ev;
	note("C ");
	if (strcmp(m->conn->ip_text, "192.0.2.77") == 0 && *slot == NULL) {
		*slot = m; /* suspend once, resumed by the test */
		pending = m;
		return STAGE_SUSPEND;
	}
	if (strcmp(m->conn->ip_text, "192.0.2.66") == 0) {
		m->conn->ip_blocked = true;
		m->conn->block_why = "ip_block";
		m->verdict.action = MSG_ACTION_REJECT;
		m->verdict.action_why = "ip_block";
		msg_set_reply(m, 550, "5.7.606", "banned");
		return STAGE_DONE;
	}
	return STAGE_CONTINUE;
}

static enum stage_result env_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	struct msg_rcpt *rc = &m->rcpts[m->nrcpts - 1];

	(void)st;
	(void)ev;
	note("R ");
	if (strncmp(rc->addr, "bad", 3) == 0) {
		rc->status = MSG_RCPT_REJECTED;
		rc->why = "unknown_recipient";
		msg_reply_parse(m->arena, "550 5.4.1 Recipient address rejected: Access denied",
		                &rc->reply);
		return STAGE_DONE;
	}
	if (strncmp(rc->addr, "slow", 4) == 0) {
		rc->status = MSG_RCPT_DEFERRED;
		rc->why = "directory_failure";
		msg_reply_parse(m->arena, "451 4.3.0 Directory lookup failed", &rc->reply);
		return STAGE_DONE;
	}
	rc->status = MSG_RCPT_ACCEPTED;
	rc->why = "known";
	return STAGE_CONTINUE;
}

static enum stage_result eom_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	(void)st;
	(void)ev;
	note("E ");
	if (m->verdict.action == MSG_ACTION_REJECT || m->verdict.action == MSG_ACTION_TEMPFAIL)
		return STAGE_DONE; /* a decision already taken stays */
	if (m->len >= 5 && memcmp(m->data, "SPOOF", 5) == 0) {
		m->verdict.cat = "SPOOF";
		m->verdict.scl = 5;
		m->verdict.action = MSG_ACTION_JUNK;
	}
	return STAGE_CONTINUE;
}

static enum stage_result final_run(struct stage *st, struct msg *m, enum stage_event ev)
{
	(void)st;
	(void)m;
	note(ev == STAGE_EV_CONNECT ? "c " : ev == STAGE_EV_RCPT ? "r " : "e ");
	return STAGE_CONTINUE;
}

static const struct stage_ops conn_ops = { .name = "conn",
	                                   .events = STAGE_EV_CONNECT,
	                                   .run = conn_run };
static const struct stage_ops env_ops = {
	.name = "env", .events = STAGE_EV_RCPT, .repeat = true, .run = env_run
};
static const struct stage_ops eom_ops = { .name = "eom", .events = STAGE_EV_EOM, .run = eom_run };
static const struct stage_ops final_ops = { .name = "final",
	                                    .events =
	                                        STAGE_EV_CONNECT | STAGE_EV_RCPT | STAGE_EV_EOM,
	                                    .repeat = true,
	                                    .final = true,
	                                    .run = final_run };
static const struct stage_ops *const table[] = { &conn_ops, &env_ops, &eom_ops, &final_ops };

static void on_done(struct msg *m, void *arg)
{
	(void)m;
	(void)arg;
	dones++;
	note("|");
}

struct ocase {
	const char *name;
	const char *ip;
	const char *rcpts[4];
	bool check;
	const char *data;
	const char *trail;
	enum msg_action action;
	unsigned code;
	const char *why;
	size_t accepted;
	const char *verdict;
};

static const struct ocase ocases[] = {
	{ "two accepted recipients",
	  "192.0.2.1",
	  { "a@x", "b@x" },
	  true,
	  "hello",
	  "C c R r R r E e |",
	  MSG_ACTION_DELIVER,
	  0,
	  NULL,
	  2,
	  "clean" },
	{ "one refused, one accepted: the message goes on",
	  "192.0.2.1",
	  { "bad@x", "b@x" },
	  true,
	  "SPOOF",
	  "C c R r R r E e |",
	  MSG_ACTION_JUNK,
	  0,
	  NULL,
	  1,
	  "spoof" },
	{ "every recipient refused: no DATA, the first refusal",
	  "192.0.2.1",
	  { "bad@x", "bad2@x" },
	  true,
	  "SPOOF",
	  "C c R r R r E e |",
	  MSG_ACTION_REJECT,
	  550,
	  "unknown_recipient",
	  0,
	  "clean" },
	{ "only deferred recipients: tempfail",
	  "192.0.2.1",
	  { "slow@x" },
	  true,
	  "hello",
	  "C c R r E e |",
	  MSG_ACTION_TEMPFAIL,
	  451,
	  "directory_failure",
	  0,
	  "clean" },
	{ "refused at connect: no RCPT, EOM still shows the rest",
	  "192.0.2.66",
	  { "a@x" },
	  true,
	  "SPOOF",
	  "C c E e |",
	  MSG_ACTION_REJECT,
	  550,
	  "ip_block",
	  0,
	  "hcspam" },
	{ "recipients not checked",
	  "192.0.2.1",
	  { "bad@x" },
	  false,
	  "hello",
	  "C c E e |",
	  MSG_ACTION_DELIVER,
	  0,
	  NULL,
	  1,
	  "clean" },
	{ "no recipient at all",
	  "192.0.2.1",
	  { NULL },
	  true,
	  "SPOOF",
	  "C c E e |",
	  MSG_ACTION_JUNK,
	  0,
	  NULL,
	  0,
	  "spoof" },
};

static void test_offline(void **state)
{
	struct pipeline_env env = { 0 };
	struct runner *r;
	struct sx_err err = { 0 };
	size_t i;

	(void)state;
	r = runner_new(table, 4, &env, &err);
	assert_non_null(r);
	for (i = 0; i < sizeof(ocases) / sizeof(ocases[0]); i++) {
		const struct ocase *c = &ocases[i];
		struct offline_envelope e = { 0 };
		struct arena *a = arena_new();
		struct msg *m;
		size_t n = 0;

		while (n < 4 && c->rcpts[n] != NULL)
			n++;
		assert_int_equal(net_addr_parse(c->ip, &e.ip), 0);
		e.helo = "h.example";
		e.mail_from = "s@example.org";
		e.rcpts = c->rcpts;
		e.nrcpts = n;
		e.check_rcpts = c->check;
		e.received = 1700000000;
		trail[0] = '\0';
		dones = 0;
		m = offline_start(r, a, i + 1, &e, c->data, strlen(c->data), on_done, NULL);
		assert_non_null(m);
		if (strcmp(trail, c->trail) != 0)
			fail_msg("%s: trail [%s] wanted [%s]", c->name, trail, c->trail);
		assert_int_equal(dones, 1);
		if (m->verdict.action != c->action)
			fail_msg("%s: action %s", c->name, msg_action_name(m->verdict.action));
		assert_int_equal(m->verdict.reply.code, c->code);
		if (c->why != NULL)
			assert_string_equal(m->verdict.action_why, c->why);
		assert_int_equal(msg_rcpt_accepted(m), c->accepted);
		assert_string_equal(m->sender, "s@example.org");
		assert_string_equal(m->conn->helo, "h.example");
		assert_int_equal(m->received, 1700000000);
		{
			struct verdict_summary vs;

			verdict_summarize(m, &vs);
			assert_string_equal(verdict_class_name(vs.cls), c->verdict);
		}
		msg_free(m);
		arena_free(a);
	}
	runner_free(r);
}

/* a stage that suspends: done comes from the event loop, later */
static void test_offline_async(void **state)
{
	struct pipeline_env env = { 0 };
	struct offline_envelope e = { 0 };
	const char *rcpts[] = { "a@x", "b@x" };
	struct sx_err err = { 0 };
	struct runner *r = runner_new(table, 4, &env, &err);
	struct arena *a = arena_new();
	struct msg *m;

	(void)state;
	assert_non_null(r);
	assert_int_equal(net_addr_parse("192.0.2.77", &e.ip), 0);
	e.rcpts = rcpts;
	e.nrcpts = 2;
	e.check_rcpts = true;
	trail[0] = '\0';
	dones = 0;
	pending = NULL;
	m = offline_start(r, a, 1, &e, "x", 1, on_done, NULL);
	assert_non_null(m);
	assert_ptr_equal(pending, m);
	assert_int_equal(dones, 0);
	assert_string_equal(trail, "C ");
	runner_resume(m);
	assert_int_equal(dones, 1);
	assert_string_equal(trail, "C C c R r R r E e |");
	assert_string_equal(m->sender, ""); /* NULL mail_from: the null reverse path */
	assert_null(m->conn->helo);
	msg_free(m);
	arena_free(a);
	runner_free(r);
	assert_null(offline_start(NULL, NULL, 1, &e, "", 0, on_done, NULL));
}

struct vcase {
	const char *cat;
	int scl, bcl;
	bool blocked;
	const char *cls, *rule, *out_cat;
	int out_scl;
};

static const struct vcase vcases[] = {
	{ "NONE", 1, 0, false, "clean", "clean", "NONE", 1 },
	{ "NONE", -1, 0, false, "clean", "clean", "NONE", -1 },
	{ NULL, 1, 0, false, "clean", "clean", "NONE", 1 },
	{ "SPOOF", 5, 0, false, "spoof", "cat", "SPOOF", 5 },
	{ "MALW", 1, 0, false, "malware", "cat", "MALW", 1 },
	{ "FTBP", 1, 0, false, "malware", "cat", "FTBP", 1 },
	{ "HPHSH", 9, 0, false, "hcphish", "cat", "HPHSH", 9 },
	{ "PHSH", 9, 0, false, "phish", "cat", "PHSH", 9 },
	{ "UIMP", 5, 0, false, "phish", "cat", "UIMP", 5 },
	{ "DIMP", 5, 0, false, "phish", "cat", "DIMP", 5 },
	{ "HSPM", 9, 0, false, "hcspam", "cat", "HSPM", 9 },
	{ "SPM", 5, 0, false, "spam", "cat", "SPM", 5 },
	{ "BULK", 6, 8, false, "bulk", "cat", "BULK", 6 },
	{ "NONE", 7, 0, false, "hcspam", "scl", "NONE", 7 },
	{ "NONE", 6, 0, false, "spam", "scl", "NONE", 6 },
	{ "NONE", 1, 7, false, "bulk", "bcl", "NONE", 1 },
	{ "NONE", 1, 6, false, "clean", "clean", "NONE", 1 },
	{ "SPOOF", 5, 0, true, "hcspam", "ip_blocked", "HSPM", 9 },
	{ "XYZ", 1, 0, false, "clean", "clean", "XYZ", 1 },
};

static void test_verdict(void **state)
{
	struct arena *a = arena_new();
	struct msg_conn *c = msg_conn_new(a, 1);
	struct msg *m = msg_new(c, 1);
	size_t i;

	(void)state;
	assert_non_null(m);
	for (i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct vcase *v = &vcases[i];
		struct verdict_summary s;

		m->verdict.cat = v->cat;
		m->verdict.scl = v->scl;
		m->verdict.bcl = v->bcl;
		c->ip_blocked = v->blocked;
		verdict_summarize(m, &s);
		if (strcmp(verdict_class_name(s.cls), v->cls) != 0 || strcmp(s.rule, v->rule) != 0)
			fail_msg("case %zu: %s/%s, wanted %s/%s", i, verdict_class_name(s.cls),
			         s.rule, v->cls, v->rule);
		assert_string_equal(s.cat, v->out_cat);
		assert_int_equal(s.scl, v->out_scl);
		assert_int_equal(s.bcl, v->bcl);
	}
	assert_string_equal(verdict_class_name((enum verdict_class)99), "clean");
	assert_int_equal(verdict_cat_class(NULL), -1);
	assert_int_equal(verdict_cat_class("spoof"), VERDICT_SPOOF);
	msg_free(m);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_offline_async),
		cmocka_unit_test(test_verdict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
