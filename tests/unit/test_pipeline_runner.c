/* Unit tests for pipeline/runner: stage order and event filtering,
 * suspend and resume, the re-entry guard (a resume from inside run, a
 * second run while one is in flight), TEMPFAIL/ERROR mapped to 4xx (on
 * the verdict, and on the recipient at RCPT), DONE skipping to the final
 * stage, the stages_done bitmask (once per message unless repeat), clear
 * on cancel for the stages that ran, and the final stage that may not
 * change the verdict (the process aborts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/arena.h"
#include "pipeline/stage.h"

/* ---- scripted stages -------------------------------------------------- */

#define LOG_MAX 512

static char trail[LOG_MAX]; /* "a b c|" : names of runs, "|" at done */
static int depth, max_depth;
static int cleared[4];
static struct msg *pending; /* a suspended message, for the test to resume */

struct script {
	enum stage_result res[4]; /* results of successive calls */
	int calls;
	bool resume_inside;  /* call runner_resume before returning SUSPEND */
	unsigned reply_code; /* set verdict.reply before returning */
	bool touch_verdict;  /* (final stage) change the verdict */
};

static struct script scripts[4];

static void note(const char *s)
{
	size_t n = strlen(trail);

	snprintf(trail + n, sizeof(trail) - n, "%s", s);
}

static enum stage_result script_run(int i, const char *name, struct msg *m)
{
	struct script *sc = &scripts[i];
	enum stage_result r = sc->res[sc->calls < 4 ? sc->calls : 3];

	depth++;
	if (depth > max_depth)
		max_depth = depth;
	sc->calls++;
	note(name);
	note(" ");
	if (sc->reply_code != 0) {
		m->verdict.reply.code = sc->reply_code;
		m->verdict.reply.enhanced = "4.4.3";
		m->verdict.reply.text = "DNS";
	}
	if (sc->touch_verdict)
		m->verdict.scl = 9;
	if (r == STAGE_SUSPEND) {
		if (sc->resume_inside)
			runner_resume(m);
		else
			pending = m;
	}
	depth--;
	return r;
}

#define STAGE_FN(i, nm)                                                                            \
	static enum stage_result run_##nm(struct stage *st, struct msg *m, enum stage_event ev)    \
	{                                                                                          \
		(void)st;                                                                          \
		(void)ev;                                                                          \
		return script_run(i, #nm, m);                                                      \
	}                                                                                          \
	static void clear_##nm(struct stage *st, struct msg *m)                                    \
	{                                                                                          \
		(void)st;                                                                          \
		(void)m;                                                                           \
		cleared[i]++;                                                                      \
	}

STAGE_FN(0, a)
STAGE_FN(1, b)
STAGE_FN(2, c)
STAGE_FN(3, t)

static const struct stage_ops ops_a = {
	.name = "a", .events = STAGE_EV_CONNECT | STAGE_EV_EOM, .run = run_a, .clear = clear_a
};
static const struct stage_ops ops_b = {
	.name = "b", .events = STAGE_EV_RCPT, .repeat = true, .run = run_b, .clear = clear_b
};
static const struct stage_ops ops_c = {
	.name = "c", .events = STAGE_EV_EOM, .run = run_c, .clear = clear_c
};
static const struct stage_ops ops_t = { .name = "t",
	                                .events = STAGE_EV_CONNECT | STAGE_EV_RCPT | STAGE_EV_EOM,
	                                .repeat = true,
	                                .final = true,
	                                .run = run_t,
	                                .clear = clear_t };

static const struct stage_ops *const table[] = { &ops_a, &ops_b, &ops_c, &ops_t };

static int done_calls;
static void on_done(struct msg *m, void *arg)
{
	(void)m;
	(void)arg;
	done_calls++;
	note("|");
}

struct fixture {
	struct arena *conn_arena;
	struct msg_conn *conn;
	struct msg *m;
	struct runner *r;
	struct pipeline_env env;
};

static struct fixture fx;

static int setup(void **state)
{
	struct sx_err err;
	int i;

	(void)state;
	memset(trail, 0, sizeof(trail));
	memset(scripts, 0, sizeof(scripts));
	memset(cleared, 0, sizeof(cleared));
	for (i = 0; i < 4; i++)
		scripts[i].res[0] = scripts[i].res[1] = scripts[i].res[2] = scripts[i].res[3] =
		    STAGE_CONTINUE;
	depth = max_depth = done_calls = 0;
	pending = NULL;
	memset(&fx, 0, sizeof(fx));
	fx.conn_arena = arena_new();
	fx.conn = msg_conn_new(fx.conn_arena, 0x1234);
	fx.m = msg_new(fx.conn, 0xabcdef);
	fx.r = runner_new(table, 4, &fx.env, &err);
	assert_non_null(fx.r);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx.m = msg_free(fx.m);
	fx.r = runner_free(fx.r);
	arena_free(fx.conn_arena);
	return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_order_and_events(void **state)
{
	(void)state;
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_CONNECT, on_done, NULL), 0);
	assert_string_equal(trail, "a t |");
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_RCPT, on_done, NULL), 0);
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_RCPT, on_done, NULL), 0);
	/* a ran at connect: it is done for this message and not run again at EOM */
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL), 0);
	assert_string_equal(trail, "a t |b t |b t |c t |");
	assert_int_equal(done_calls, 4);
	assert_int_equal(fx.m->run.stages_done, 0x7);
	assert_string_equal(runner_stage_name(fx.r, 2), "c");
	assert_null(runner_stage_name(fx.r, 4));
}

static void test_suspend_resume(void **state)
{
	(void)state;
	scripts[2].res[0] = STAGE_SUSPEND;
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL), 0);
	assert_string_equal(trail, "a c ");
	assert_int_equal(done_calls, 0);
	assert_true(runner_busy(fx.m));
	assert_ptr_equal(pending, fx.m);
	/* a second run while parked is refused: the re-entry guard */
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL), -1);
	runner_resume(fx.m);
	assert_string_equal(trail, "a c c t |");
	assert_int_equal(done_calls, 1);
	assert_false(runner_busy(fx.m));
	/* a stray resume after the end does nothing */
	runner_resume(fx.m);
	assert_int_equal(done_calls, 1);
}

static void test_resume_inside_run(void **state)
{
	(void)state;
	/* the async work completes synchronously, twice: no nesting */
	scripts[2].res[0] = STAGE_SUSPEND;
	scripts[2].res[1] = STAGE_SUSPEND;
	scripts[2].resume_inside = true;
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL), 0);
	assert_string_equal(trail, "a c c c t |");
	assert_int_equal(max_depth, 1);
	assert_int_equal(done_calls, 1);
}

static void test_tempfail_mapping(void **state)
{
	(void)state;
	/* TEMPFAIL with the stage's own 4xx: kept */
	scripts[0].res[0] = STAGE_TEMPFAIL;
	scripts[0].reply_code = 421;
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL), 0);
	assert_string_equal(trail, "a t |");
	assert_int_equal(fx.m->verdict.action, MSG_ACTION_TEMPFAIL);
	assert_int_equal(fx.m->verdict.reply.code, 421);
	assert_string_equal(fx.m->verdict.reply.enhanced, "4.4.3");
}

static void test_tempfail_not_4xx(void **state)
{
	(void)state;
	/* TEMPFAIL with a 5xx reply: never a 5xx for a temporary failure */
	scripts[2].res[0] = STAGE_TEMPFAIL;
	scripts[2].reply_code = 550;
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL), 0);
	assert_int_equal(fx.m->verdict.reply.code, 451);
	assert_string_equal(fx.m->verdict.reply.enhanced, "4.3.0");
}

static void test_error_mapping(void **state)
{
	(void)state;
	scripts[0].res[0] = STAGE_ERROR;
	scripts[0].reply_code = 421; /* ERROR ignores whatever the stage set */
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL), 0);
	assert_string_equal(trail, "a t |");
	assert_int_equal(fx.m->verdict.action, MSG_ACTION_TEMPFAIL);
	assert_int_equal(fx.m->verdict.reply.code, 451);
	assert_string_equal(fx.m->verdict.reply.enhanced, "4.3.0");
}

static void test_rcpt_tempfail(void **state)
{
	struct msg_rcpt *rc;

	(void)state;
	rc = msg_rcpt_add(fx.m, "bob@Example.COM");
	assert_non_null(rc);
	assert_string_equal(rc->domain, "example.com");
	scripts[1].res[0] = STAGE_ERROR;
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_RCPT, on_done, NULL), 0);
	assert_int_equal(fx.m->rcpts[0].status, MSG_RCPT_DEFERRED);
	assert_int_equal(fx.m->rcpts[0].reply.code, 451);
	/* the message's verdict is untouched */
	assert_int_equal(fx.m->verdict.action, MSG_ACTION_DELIVER);
	assert_int_equal(fx.m->verdict.reply.code, 0);
}

static void test_done_skips(void **state)
{
	(void)state;
	scripts[0].res[0] = STAGE_DONE;
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL), 0);
	assert_string_equal(trail, "a t |");
	assert_int_equal(scripts[2].calls, 0);
}

static void test_cancel_clears_started(void **state)
{
	(void)state;
	scripts[2].res[0] = STAGE_SUSPEND;
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL), 0);
	runner_cancel(fx.m);
	assert_int_equal(cleared[0], 1);
	assert_int_equal(cleared[1], 0); /* b never ran */
	assert_int_equal(cleared[2], 1);
	assert_int_equal(cleared[3], 0); /* t never ran */
	assert_false(runner_busy(fx.m));
	/* the callback of the cancelled work arrives late: nothing happens */
	runner_resume(fx.m);
	assert_int_equal(done_calls, 0);
	/* msg_free cancels too: after a full run every started stage is cleared */
	scripts[2].res[1] = STAGE_CONTINUE;
	assert_int_equal(runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL), 0);
	assert_int_equal(done_calls, 1);
	fx.m = msg_free(fx.m);
	assert_int_equal(cleared[3], 1);
}

static void test_final_cannot_change_verdict(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	scripts[3].touch_verdict = true;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* silence the log line in the child */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		runner_run(fx.r, fx.m, STAGE_EV_EOM, on_done, NULL);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_bad_tables(void **state)
{
	static const struct stage_ops *const final_first[] = { &ops_t, &ops_a };
	struct pipeline_env env = { 0 };
	struct sx_err err;

	(void)state;
	assert_null(runner_new(final_first, 2, &env, &err));
	assert_non_null(strstr(err.msg, "not the last"));
	assert_null(runner_new(table, 0, &env, &err));
	assert_null(runner_new(table, MSG_MAX_STAGES + 1, &env, &err));
	assert_int_equal(runner_run(NULL, fx.m, STAGE_EV_EOM, on_done, NULL), -1);
}

static void test_default_order(void **state)
{
	static const char *const eop[] = { "connection", "envelope", "parse", "outbound",
		                           "auth",       "action",   "trace" };
	size_t i;

	(void)state;
	/* EOP's order (docs/architecture.md): the runner's table is the only copy */
	assert_int_equal(runner_ndefault, sizeof(eop) / sizeof(eop[0]));
	for (i = 0; i < runner_ndefault; i++)
		assert_string_equal(runner_default_stages[i]->name, eop[i]);
	assert_true(runner_default_stages[runner_ndefault - 1]->final);
	assert_true(runner_default_stages[0]->events == (STAGE_EV_CONNECT | STAGE_EV_TLS));
	assert_true(runner_default_stages[1]->events == STAGE_EV_RCPT);
	assert_true(runner_default_stages[1]->repeat);
}

static void test_msg_limits(void **state)
{
	size_t i;
	char addr[64];

	(void)state;
	for (i = 0; i < MSG_MAX_RCPTS; i++) {
		snprintf(addr, sizeof(addr), "u%zu@example.org", i);
		assert_non_null(msg_rcpt_add(fx.m, addr));
	}
	assert_null(msg_rcpt_add(fx.m, "one-too-many@example.org"));
	assert_int_equal(fx.m->nrcpts, MSG_MAX_RCPTS);
	assert_string_equal(fx.m->rcpts[999].addr, "u999@example.org");
	for (i = 0; i < MSG_MAX_REASONS + 3; i++)
		msg_reason_add(fx.m, "R", 1);
	assert_int_equal(fx.m->verdict.nreasons, MSG_MAX_REASONS);
	assert_int_equal(fx.m->verdict.reasons_dropped, 3);
	assert_string_equal(fx.m->id_text, "0000000000abcdef");
	assert_int_equal(fx.m->verdict.scl, 1);
	assert_string_equal(msg_action_name(MSG_ACTION_QUARANTINE), "quarantine");
	assert_string_equal(msg_sfv_name(MSG_SFV_SKN), "SKN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_and_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_suspend_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_inside_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tempfail_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tempfail_not_4xx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rcpt_tempfail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_skips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_clears_started, setup, teardown),
		cmocka_unit_test_setup_teardown(test_final_cannot_change_verdict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msg_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_order, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
