/* Unit tests for mime/raw: fields with their folding, bottom-up lookup,
 * body range, line endings and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "mime/raw.h"

struct raw_case {
	const char *name;
	const char *msg;
	size_t len; /* 0: strlen */
	int rc;
	size_t nfields;
	bool has_body;
	const char *body;   /* expected body, NULL: skip */
	const char *field0; /* raw bytes of the first field, NULL: skip */
	const char *name0;  /* name of the first field */
	bool bare_lf;
};

static const struct raw_case cases[] = {
	{ "crlf", "A: 1\r\nB: 2\r\n\r\nbody\r\n", 0, 0, 2, true, "body\r\n", "A: 1\r\n", "A",
	  false },
	{ "lf", "A: 1\nB: 2\n\nbody\n", 0, 0, 2, true, "body\n", "A: 1\n", "A", true },
	{ "folded", "Subject: a\r\n b\r\n\tc\r\nX: y\r\n\r\n", 0, 0, 2, true, "",
	  "Subject: a\r\n b\r\n\tc\r\n", "Subject", false },
	{ "no body", "A: 1\r\nB: 2\r\n", 0, 0, 2, false, "", NULL, NULL, false },
	{ "no final eol", "A: 1\r\nB: 2", 0, 0, 2, false, "", NULL, NULL, false },
	{ "body no final eol", "A: 1\r\n\r\nlast", 0, 0, 1, true, "last", NULL, NULL, false },
	{ "empty body", "A: 1\r\n\r\n", 0, 0, 1, true, "", NULL, NULL, false },
	{ "only blank", "\r\nbody", 0, 0, 0, true, "body", NULL, NULL, false },
	{ "empty", "", 0, 0, 0, false, "", NULL, NULL, false },
	{ "space before colon", "Subject : x\r\n\r\n", 0, 0, 1, true, "", NULL, "Subject", false },
	{ "no colon", "garbage line\r\nA: 1\r\n\r\n", 0, 0, 2, true, "", "garbage line\r\n", "",
	  false },
	{ "leading continuation", " cont\r\nA: 1\r\n\r\n", 0, 0, 2, true, "", " cont\r\n", "",
	  false },
	{ "nul and 8bit", "A: \0\xff\r\n\r\n\0x", 11, 0, 1, true, NULL, NULL, "A", false },
	{ "bare cr is data", "A: 1\r2\r\n\r\n", 0, 0, 1, true, "", "A: 1\r2\r\n", "A", false },
	{ "mixed", "A: 1\nB: 2\r\n\nx", 0, 0, 2, true, "x", NULL, "A", true },
};

static void test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct raw_case *c = &cases[i];
		struct arena *a = arena_new();
		struct raw_message m;
		struct sx_err err = { 0 };
		size_t len = c->len ? c->len : strlen(c->msg);
		int rc = raw_message_parse(&m, a, c->msg, len, NULL, &err);

		printf("case %s\n", c->name);
		assert_int_equal(rc, c->rc);
		assert_int_equal(m.nfields, c->nfields);
		assert_int_equal(m.has_body, c->has_body);
		assert_int_equal(m.bare_lf, c->bare_lf);
		if (c->body != NULL) {
			assert_int_equal(m.body_len, strlen(c->body));
			assert_memory_equal(m.body, c->body, m.body_len);
		}
		if (c->field0 != NULL) {
			assert_int_equal(m.fields[0].raw_len, strlen(c->field0));
			assert_memory_equal(m.fields[0].raw, c->field0, m.fields[0].raw_len);
		}
		if (c->name0 != NULL) {
			assert_int_equal(m.fields[0].name_len, strlen(c->name0));
			assert_memory_equal(m.fields[0].name, c->name0, m.fields[0].name_len);
		}
		/* every byte of the header is in exactly one field, in order */
		if (m.nfields > 0) {
			size_t j, off = 0;
			for (j = 0; j < m.nfields; j++) {
				assert_int_equal(m.fields[j].offset, off);
				off += m.fields[j].raw_len;
			}
			assert_int_equal(off, m.header_len);
		}
		arena_free(a);
	}
}

static void test_lookup(void **state)
{
	static const char msg[] = "Received: 1\r\nFrom: a\r\nreceived: 2\r\nTo: b\r\n"
	                          "RECEIVED: 3\r\n\r\n";
	struct arena *a = arena_new();
	struct raw_message m;
	const struct raw_field *f;
	const char *v;
	size_t vlen, idx;

	(void)state;
	assert_int_equal(raw_message_parse(&m, a, msg, strlen(msg), NULL, NULL), 0);
	assert_int_equal(raw_count(&m, "received", 8), 3);
	f = raw_find_from_bottom(&m, "Received", 8, 0, &idx);
	assert_non_null(f);
	assert_int_equal(idx, 4);
	raw_field_value(f, &v, &vlen);
	assert_int_equal(vlen, 2);
	assert_memory_equal(v, " 3", 2);
	f = raw_find_from_bottom(&m, "received", 8, 2, &idx);
	assert_non_null(f);
	assert_int_equal(idx, 0);
	assert_null(raw_find_from_bottom(&m, "received", 8, 3, NULL));
	assert_null(raw_find_from_bottom(&m, "cc", 2, 0, NULL));
	f = raw_find_first(&m, "to", 2);
	assert_non_null(f);
	assert_int_equal(f->offset, strlen("Received: 1\r\nFrom: a\r\nreceived: 2\r\n"));
	assert_null(raw_find_first(&m, "Receive", 7)); /* no prefix match */
	arena_free(a);
}

static void test_value_folded(void **state)
{
	static const char msg[] = "Subject:a\r\n b\r\nX:\r\n\r\n";
	struct arena *a = arena_new();
	struct raw_message m;
	const char *v;
	size_t vlen;

	(void)state;
	assert_int_equal(raw_message_parse(&m, a, msg, strlen(msg), NULL, NULL), 0);
	raw_field_value(&m.fields[0], &v, &vlen);
	assert_int_equal(vlen, 5);
	assert_memory_equal(v, "a\r\n b", 5);
	raw_field_value(&m.fields[1], &v, &vlen);
	assert_int_equal(vlen, 0);
	assert_true(m.crlf);
	arena_free(a);
}

static void test_limits(void **state)
{
	struct arena *a = arena_new();
	struct raw_message m;
	struct sx_err err = { 0 };
	struct raw_limits lim = { 3, 0 };
	char *big;
	size_t i;

	(void)state;
	assert_int_equal(raw_message_parse(&m, a, "A: 1\nB: 2\nC: 3\n\n",
	                                   strlen("A: 1\nB: 2\nC: 3\n\n"), &lim, &err),
	                 0);
	assert_int_equal(raw_message_parse(&m, a, "A: 1\nB: 2\nC: 3\nD: 4\n\n",
	                                   strlen("A: 1\nB: 2\nC: 3\nD: 4\n\n"), &lim, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "more than 3"));
	assert_int_equal(m.error, RAW_ERR_TOO_MANY_FIELDS);
	assert_true(raw_error_is_limit(m.error));
	/* continuation lines do not count as fields */
	assert_int_equal(raw_message_parse(&m, a, "A: 1\n 2\n 3\n 4\nB: 2\n\n",
	                                   strlen("A: 1\n 2\n 3\n 4\nB: 2\n\n"), &lim, &err),
	                 0);
	assert_int_equal(m.error, RAW_OK);
	/* 1001 fields with the default limit */
	big = malloc(1001 * 5 + 2);
	assert_non_null(big);
	for (i = 0; i < 1001; i++)
		memcpy(big + i * 5, "A: 1\n", 5);
	big[1001 * 5] = '\n';
	assert_int_equal(raw_message_parse(&m, a, big, 1001 * 5 + 1, NULL, &err), -1);
	assert_int_equal(m.error, RAW_ERR_TOO_MANY_FIELDS);
	assert_int_equal(raw_message_parse(&m, a, big + 5, 1000 * 5 + 1, NULL, &err), 0);
	assert_int_equal(m.nfields, 1000);
	free(big);
	/* header section over 1 MiB: one huge folded field */
	big = malloc(RAW_MAX_HEADER_BYTES + 100);
	assert_non_null(big);
	memset(big, ' ', RAW_MAX_HEADER_BYTES + 100);
	memcpy(big, "X: ", 3);
	big[RAW_MAX_HEADER_BYTES + 98] = '\n';
	big[RAW_MAX_HEADER_BYTES + 99] = '\n';
	assert_int_equal(raw_message_parse(&m, a, big, RAW_MAX_HEADER_BYTES + 100, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "header section longer"));
	assert_int_equal(m.error, RAW_ERR_HEADER_TOO_BIG);
	assert_true(raw_error_is_limit(m.error));
	free(big);
	arena_free(a);
}

static void test_alloc_failure(void **state)
{
	struct arena *a = arena_new();
	struct raw_message m;
	struct sx_err err = { 0 };

	(void)state;
	arena_fail_after(1);
	assert_int_equal(raw_message_parse(&m, a, "A: 1\n\n", strlen("A: 1\n\n"), NULL, &err), -1);
	arena_fail_after(0);
	assert_int_equal(m.error, RAW_ERR_NOMEM);
	assert_false(raw_error_is_limit(m.error));
	/* a later success clears the kind */
	assert_int_equal(raw_message_parse(&m, a, "A: 1\n\n", strlen("A: 1\n\n"), NULL, &err), 0);
	assert_int_equal(m.error, RAW_OK);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),         cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_value_folded),  cmocka_unit_test(test_limits),
		cmocka_unit_test(test_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
