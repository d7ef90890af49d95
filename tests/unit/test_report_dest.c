/*
 * test_report_dest - the per-destination state shared by TLS-RPT and
 * DMARC reports (report/report_dest.h) on an in-memory store: actions by
 * earlier outcomes, the report-id a retry keeps, giving up after
 * REPORT_DEST_MAX_TRIES runs, and the two kinds kept apart
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "report/report_dest.h"
#include "store/store.h"

static struct store *open_store(void)
{
	struct store_options so = { .backend = STORE_BACKEND_SQLITE, .path = ":memory:" };
	struct sx_err err = { 0 };
	struct store *st = store_open(&so, &err);

	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

static void load(struct store *st, struct arena *a, enum report_kind k, struct report_dests *s)
{
	struct sx_err err = { 0 };

	if (report_dests_load(st, a, k, "example.com", 86400, s, &err) < 0)
		fail_msg("load: %s", err.msg);
}

static void set(struct store *st, struct report_dests *s, const char *id, const char *uri,
                const char *status)
{
	struct sx_err err = { 0 };

	if (report_dests_set(st, s, id, uri, status, NULL, 100, &err) < 0)
		fail_msg("set: %s", err.msg);
}

/* test_actions - new: send; sent and failed: skip; pending: send again
 * with the same id until the tries are used up */
static void test_actions(void **state)
{
	struct store *st = open_store();
	struct arena *a = arena_new();
	struct report_dests s;
	struct sx_err err = { 0 };
	unsigned i;

	(void)state;
	load(st, a, REPORT_KIND_DMARC, &s);
	assert_null(s.report_id);
	assert_string_equal(s.key, "dmarc:example.com");
	assert_int_equal(report_dests_action(&s, "mailto:a@x"), REPORT_DEST_SEND);
	set(st, &s, "id-1", "mailto:a@x", "sent");
	set(st, &s, "id-1", "mailto:b@y", "pending");
	set(st, &s, "id-1", "mailto:c@z", "failed");
	assert_int_equal(s.sent, 1);
	assert_int_equal(s.pending, 1);
	assert_int_equal(s.failed, 1);
	assert_int_equal(report_dests_set(st, &s, "id-1", "mailto:d@w", "maybe", NULL, 1, &err),
	                 -1);

	load(st, a, REPORT_KIND_DMARC, &s);
	assert_string_equal(s.report_id, "id-1");
	assert_int_equal(s.n, 3);
	assert_int_equal(report_dests_action(&s, "mailto:a@x"), REPORT_DEST_SKIP);
	assert_int_equal(report_dests_action(&s, "mailto:c@z"), REPORT_DEST_SKIP);
	assert_int_equal(report_dests_action(&s, "mailto:b@y"), REPORT_DEST_SEND);
	assert_int_equal(report_dests_action(&s, "mailto:new@v"), REPORT_DEST_SEND);
	assert_string_equal(report_dests_prev(&s, "mailto:b@y")->status, "pending");
	assert_null(report_dests_prev(&s, "mailto:new@v"));
	for (i = 1; i < REPORT_DEST_MAX_TRIES; i++) {
		load(st, a, REPORT_KIND_DMARC, &s);
		assert_int_equal(report_dests_action(&s, "mailto:b@y"), REPORT_DEST_SEND);
		set(st, &s, s.report_id, "mailto:b@y", "pending");
	}
	load(st, a, REPORT_KIND_DMARC, &s);
	assert_int_equal(report_dests_prev(&s, "mailto:b@y")->tries, REPORT_DEST_MAX_TRIES);
	assert_int_equal(report_dests_action(&s, "mailto:b@y"), REPORT_DEST_GIVE_UP);
	assert_string_equal(s.report_id, "id-1");
	arena_free(a);
	store_close(st);
}

/* test_kinds - TLS-RPT rows keep the bare domain (as before) and never
 * meet DMARC rows of the same domain and day */
static void test_kinds(void **state)
{
	struct store *st = open_store();
	struct arena *a = arena_new();
	struct report_dests s;

	(void)state;
	load(st, a, REPORT_KIND_TLSRPT, &s);
	assert_string_equal(s.key, "example.com");
	set(st, &s, "tls-id", "mailto:a@x", "sent");
	load(st, a, REPORT_KIND_DMARC, &s);
	assert_null(s.report_id);
	assert_int_equal(s.n, 0);
	assert_int_equal(report_dests_action(&s, "mailto:a@x"), REPORT_DEST_SEND);
	load(st, a, REPORT_KIND_TLSRPT, &s);
	assert_string_equal(s.report_id, "tls-id");
	assert_int_equal(report_dests_action(&s, "mailto:a@x"), REPORT_DEST_SKIP);
	arena_free(a);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
