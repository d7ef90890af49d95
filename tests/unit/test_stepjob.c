/*
 * test_stepjob - the shared asynchronous step driver (core/stepjob.h)
 *
 * A fake engine asks its queries in rounds (two per round: a TXT and an
 * A) against an in-memory zone, so the driver's contract is checked on
 * its own: the kick before any callback, several rounds, the deadline,
 * cancel, arena free while in flight, and every allocation failing in
 * turn.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/dns.h"
#include "core/dns_zone.h"
#include "core/stepjob.h"

#define ROUNDS_MAX 4
#define QMAX       (2 * ROUNDS_MAX)

struct fake_q {
	char name[32];
	enum dns_type type;
	bool sent, answered;
	enum dns_status status;
	bool nomem; /* answered DNS_NOMEM: could not be sent */
};

struct fake {
	struct fake_q q[QMAX];
	size_t nq;
	int rounds; /* how many rounds of queries before the verdict */
	int round;  /* rounds listed so far */
	bool done, aborted;
	bool stuck; /* after its last round the engine waits for ever */
	int nanswers;
	struct stepjob *cancel_in_cb; /* cancelled by the finished callback */
	int finished;
	bool started; /* stepjob_start() has returned */
	bool finished_early;
	struct arena *free_in_cb; /* freed by the finished callback */
	struct event_base *base;
};

static void fake_round(struct fake *f)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		struct fake_q *q = &f->q[f->nq++];

		snprintf(q->name, sizeof(q->name), "q%d-%zu.example", f->round, i);
		q->type = i == 0 ? DNS_T_TXT : DNS_T_A;
	}
	f->round++;
}

static bool fake_step(void *engine)
{
	struct fake *f = engine;
	size_t i;

	if (f->done)
		return true;
	for (i = 0; i < f->nq; i++)
		if (!f->q[i].answered)
			return false;
	if (f->round == f->rounds) {
		if (f->stuck)
			return false;
		f->done = true;
		return true;
	}
	fake_round(f);
	return false;
}

static size_t fake_queries(void *engine)
{
	return ((struct fake *)engine)->nq;
}

static bool fake_take(void *engine, size_t i, struct stepjob_query *sq)
{
	struct fake *f = engine;
	struct fake_q *q = &f->q[i];

	if (q->sent)
		return false;
	q->sent = true;
	sq->name = q->name;
	sq->type = q->type;
	sq->slot = q;
	return true;
}

static bool fake_waiting(void *engine)
{
	struct fake *f = engine;
	size_t i;

	for (i = 0; i < f->nq; i++)
		if (!f->q[i].answered)
			return true;
	return f->stuck && f->round == f->rounds;
}

static void fake_answer(void *engine, void *slot, const struct dns_answer *ans)
{
	struct fake *f = engine;
	struct fake_q *q = slot;

	f->nanswers++;
	assert_false(q->answered);
	q->answered = true;
	/* never NULL: a query that could not be sent is answered DNS_NOMEM */
	assert_non_null(ans);
	q->nomem = ans->status == DNS_NOMEM;
	assert_string_equal(ans->qname, q->name);
	assert_int_equal(ans->qtype, q->type);
	q->status = ans->status;
}

static void fake_abort(void *engine)
{
	struct fake *f = engine;

	f->aborted = true;
	f->done = true;
}

static void fake_finished(void *engine)
{
	struct fake *f = engine;

	f->finished++;
	if (!f->started)
		f->finished_early = true;
	if (f->cancel_in_cb != NULL)
		stepjob_cancel(f->cancel_in_cb);
	if (f->free_in_cb != NULL)
		arena_free(f->free_in_cb);
	event_base_loopbreak(f->base);
}

static const struct stepjob_ops ops_waiting = {
	fake_step, fake_queries, fake_take, fake_waiting, fake_answer, fake_abort, fake_finished,
};
/* no waiting operation: the driver counts the queries in flight */
static const struct stepjob_ops ops_inflight = {
	fake_step, fake_queries, fake_take, NULL, fake_answer, fake_abort, fake_finished,
};

struct env {
	struct event_base *base;
	struct dns_zone *z;
	struct dns *dns;
};

static void env_init(struct env *env)
{
	const char *strs[1] = { "hello" };
	struct dns_rr rr = { .type = DNS_T_A, .ttl = 60, .u.a = { 192, 0, 2, 1 } };
	char name[32];
	int r;

	env->base = event_base_new();
	env->z = dns_zone_new();
	assert_non_null(env->base);
	assert_non_null(env->z);
	for (r = 0; r < ROUNDS_MAX; r++) {
		snprintf(name, sizeof(name), "q%d-0.example", r);
		assert_int_equal(dns_zone_add_txt(env->z, name, strs, 1), 0);
		snprintf(name, sizeof(name), "q%d-1.example", r);
		assert_int_equal(dns_zone_add(env->z, name, &rr), 0);
	}
	env->dns = dns_new_zone(env->base, env->z);
	assert_non_null(env->dns);
}

static void env_fini(struct env *env)
{
	dns_free(env->dns);
	dns_zone_free(env->z);
	event_base_free(env->base);
}

static struct stepjob *start(struct env *env, struct arena *a, struct fake *f,
                             const struct stepjob_ops *ops, unsigned timeout_ms, unsigned flags)
{
	struct stepjob *job;

	f->base = env->base;
	job = stepjob_start(env->dns, env->base, a, f, ops, timeout_ms, flags);
	f->started = true;
	return job;
}

static const struct {
	const char *what;
	int rounds;
	bool inflight; /* ops_inflight instead of ops_waiting */
	unsigned flags;
} cases[] = {
	{ "nothing to ask", 0, false, 0 },
	{ "nothing to ask, counted", 0, true, 0 },
	{ "nothing to ask, send now", 0, true, STEPJOB_SEND_NOW },
	{ "one round", 1, false, 0 },
	{ "three rounds", 3, false, 0 },
	{ "three rounds, counted", 3, true, 0 },
	{ "four rounds, counted", ROUNDS_MAX, true, 0 },
};

/* test_rounds - finished once, from the loop, after every round's answers */
static void test_rounds(void **state)
{
	struct env env;
	size_t c, i;

	(void)state;
	env_init(&env);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct arena *a = arena_new();
		struct fake f = { .rounds = cases[c].rounds };

		assert_non_null(start(&env, a, &f, cases[c].inflight ? &ops_inflight : &ops_waiting,
		                      5000, cases[c].flags));
		assert_int_equal(f.finished, 0);
		event_base_dispatch(env.base);
		assert_int_equal(f.finished, 1);
		assert_false(f.finished_early);
		assert_false(f.aborted);
		assert_int_equal(f.round, cases[c].rounds);
		assert_int_equal(f.nq, 2 * (size_t)cases[c].rounds);
		for (i = 0; i < f.nq; i++) {
			assert_true(f.q[i].answered);
			assert_int_equal(f.q[i].status, DNS_OK);
		}
		arena_free(a);
	}
	env_fini(&env);
}

/* test_send_now - the listed queries are out before start returns */
static void test_send_now(void **state)
{
	struct env env;
	struct arena *a = arena_new();
	struct fake f = { .rounds = 1 };

	(void)state;
	env_init(&env);
	fake_round(&f); /* a key-query engine lists its queries up front */
	assert_non_null(start(&env, a, &f, &ops_inflight, 5000, STEPJOB_SEND_NOW));
	assert_true(f.q[0].sent);
	assert_true(f.q[1].sent);
	assert_int_equal(f.finished, 0);
	event_base_dispatch(env.base);
	assert_int_equal(f.finished, 1);
	assert_false(f.aborted);
	assert_true(f.q[0].answered && f.q[1].answered);
	arena_free(a);
	env_fini(&env);
}

/* test_deadline - a query never answered: abort at the deadline */
static void test_deadline(void **state)
{
	struct env env;
	int k;

	(void)state;
	env_init(&env);
	for (k = 0; k < 2; k++) {
		struct arena *a = arena_new();
		struct fake f = { .rounds = 2, .stuck = true };

		assert_non_null(start(&env, a, &f, k ? &ops_inflight : &ops_waiting, 50, 0));
		event_base_dispatch(env.base);
		assert_int_equal(f.finished, 1);
		assert_true(f.aborted);
		assert_int_equal(f.round, 2); /* stuck after the second round */
		assert_true(f.q[3].answered);
		arena_free(a);
	}
	env_fini(&env);
}

/*
 * test_cancel - before the kick, or from another job's callback while
 * queries are in flight (the job B is stuck: only its deadline, 5 s
 * away, would end it)
 */
static void test_cancel(void **state)
{
	struct env env;
	struct arena *a = arena_new();
	struct fake f = { .rounds = 2 }, ja = { .rounds = 1 }, jb = { .rounds = 3, .stuck = true };
	struct stepjob *job;

	(void)state;
	env_init(&env);
	job = start(&env, a, &f, &ops_waiting, 5000, 0);
	assert_non_null(job);
	stepjob_cancel(job);
	stepjob_cancel(job); /* twice is harmless */
	stepjob_cancel(NULL);
	event_base_dispatch(env.base); /* nothing left: returns at once */
	assert_int_equal(f.finished, 0);
	assert_int_equal(f.nq, 0);

	assert_non_null(start(&env, a, &ja, &ops_waiting, 5000, 0));
	ja.cancel_in_cb = start(&env, a, &jb, &ops_inflight, 5000, 0);
	assert_non_null(ja.cancel_in_cb);
	event_base_dispatch(env.base);
	assert_int_equal(ja.finished, 1);
	assert_int_equal(jb.finished, 0);
	assert_true(jb.nq > (size_t)jb.nanswers); /* it had queries in flight */
	arena_free(a);
	env_fini(&env);
}

/*
 * test_arena_free - freeing the arena cancels: before the kick, and from
 * another job's callback while queries are in flight
 */
static void test_arena_free(void **state)
{
	struct env env;
	struct arena *a = arena_new();
	struct fake f = { .rounds = 2 }, ja = { .rounds = 1 }, jb = { .rounds = 3, .stuck = true };
	struct fake h = { .rounds = 1 };

	(void)state;
	env_init(&env);
	assert_non_null(start(&env, a, &f, &ops_waiting, 5000, 0));
	arena_free(a); /* before the kick */
	event_base_dispatch(env.base);
	assert_int_equal(f.finished, 0);

	a = arena_new();
	ja.free_in_cb = a;
	assert_non_null(start(&env, a, &ja, &ops_waiting, 5000, 0));
	assert_non_null(start(&env, a, &jb, &ops_waiting, 5000, 0));
	event_base_dispatch(env.base); /* would wait 5 s if jb were left running */
	assert_int_equal(ja.finished, 1);
	assert_int_equal(jb.finished, 0);
	assert_true(jb.nq > (size_t)jb.nanswers);

	a = arena_new();
	h.free_in_cb = a;
	assert_non_null(start(&env, a, &h, &ops_inflight, 5000, 0));
	event_base_dispatch(env.base);
	assert_int_equal(h.finished, 1);
	env_fini(&env);
}

/* test_nomem - every allocation fails in turn: NULL, or finished once */
static void test_nomem(void **state)
{
	struct env env;
	unsigned long n;
	size_t c;
	int clean = 0;

	(void)state;
	env_init(&env);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (n = 1; n < 40; n++) {
			struct arena *a = arena_new();
			struct fake f = { .rounds = cases[c].rounds };
			struct stepjob *job;
			size_t i, nomem = 0;

			arena_fail_after(n);
			job = start(&env, a, &f, cases[c].inflight ? &ops_inflight : &ops_waiting,
			            5000, cases[c].flags);
			if (job != NULL) {
				event_base_dispatch(env.base);
				assert_int_equal(f.finished, 1);
				assert_false(f.finished_early);
				assert_false(f.aborted); /* a failed send is an answer */
				for (i = 0; i < f.nq; i++) {
					assert_true(f.q[i].answered);
					nomem += f.q[i].nomem;
				}
				if (nomem == 0)
					clean++;
			}
			arena_fail_after(0);
			arena_free(a);
		}
	assert_true(clean > 0);
	env_fini(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rounds),     cmocka_unit_test(test_send_now),
		cmocka_unit_test(test_deadline),   cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_arena_free), cmocka_unit_test(test_nomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
