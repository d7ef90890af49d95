/* Unit tests for mime/mbox (splitting, >From unquoting) and
 * mime/maildir_list (the messages of a Maildir, in order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mime/maildir_list.h"
#include "mime/mbox.h"

#define MAXM 8

/* one splitting case: the input and the messages wanted, "|" between them */
struct split_case {
	const char *name;
	const char *in;
	const char *want;       /* messages joined by '|', NULL: no message at all */
	const char *from_lines; /* From_ lines joined by '|' ("" for none) */
};

static const struct split_case split_cases[] = {
	{ "empty input", "", NULL, NULL },
	{ "one message", "From a@b Mon Jan 1 00:00:00 2024\nSubject: x\n\nbody\n\n",
	  "Subject: x\n\nbody\n", "From a@b Mon Jan 1 00:00:00 2024" },
	{ "two messages", "From a\nA: 1\n\nx\n\nFrom b\nB: 2\n\ny\n", "A: 1\n\nx\n|B: 2\n\ny\n",
	  "From a|From b" },
	{ "unquoted From in a body without an empty line before it stays text",
	  "From a\nA: 1\n\nline\nFrom here on\n\nFrom b\nB: 2\n\n",
	  "A: 1\n\nline\nFrom here on\n|B: 2\n", "From a|From b" },
	{ "CRLF line ends", "From a\r\nA: 1\r\n\r\nx\r\n\r\nFrom b\r\nB: 2\r\n\r\ny\r\n\r\n",
	  "A: 1\r\n\r\nx\r\n|B: 2\r\n\r\ny\r\n", "From a|From b" },
	{ "empty message between two", "From a\n\nFrom b\nB: 1\n\n", "|B: 1\n", "From a|From b" },
	{ "bytes before the first From_ line", "X: 1\n\nhello\n\nFrom b\nB: 2\n",
	  "X: 1\n\nhello\n|B: 2\n", "|From b" },
	{ "no final line end", "From a\nA: 1\n\nbody", "A: 1\n\nbody", "From a" },
	{ "From_ line only", "From a", "", "From a" },
	{ "From_ line at the very start of a body line after the From_ line", "From a\nFrom b\n",
	  "From b\n", "From a" },
	{ "three with blank lines in bodies", "From a\n\n\nx\n\n\nFrom b\nq\n\nFrom c\nr\n",
	  "\n\nx\n\n|q\n|r\n", "From a|From b|From c" },
};

static void check_split(const struct split_case *c)
{
	struct mbox_iter it;
	struct mbox_msg mm;
	char got[4096], froms[4096];
	size_t o = 0, fo = 0, n = 0;

	got[0] = froms[0] = '\0';
	mbox_iter_init(&it, c->in, strlen(c->in));
	while (mbox_next(&it, &mm)) {
		assert_true(mm.offset + mm.len <= strlen(c->in));
		assert_int_equal(mm.index, n + 1);
		o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%.*s", n > 0 ? "|" : "",
		                      (int)mm.len, c->in + mm.offset);
		fo += (size_t)snprintf(froms + fo, sizeof(froms) - fo, "%s%.*s", n > 0 ? "|" : "",
		                       (int)mm.from_len, c->in + mm.from_off);
		n++;
		assert_true(n < MAXM);
	}
	if (c->want == NULL) {
		if (n != 0)
			fail_msg("%s: %zu messages, wanted none", c->name, n);
		return;
	}
	if (strcmp(got, c->want) != 0)
		fail_msg("%s: got [%s] wanted [%s]", c->name, got, c->want);
	if (strcmp(froms, c->from_lines) != 0)
		fail_msg("%s: From_ lines [%s] wanted [%s]", c->name, froms, c->from_lines);
}

static void test_split(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++)
		check_split(&split_cases[i]);
}

struct unquote_case {
	enum mbox_quoting q;
	const char *in, *want;
};

static const struct unquote_case unquote_cases[] = {
	{ MBOX_QUOTING_RD, ">From x\n", "From x\n" },
	{ MBOX_QUOTING_RD, ">>From x\n>>>From y", ">From x\n>>From y" },
	{ MBOX_QUOTING_RD, "a\n>From x\r\nb\n", "a\nFrom x\r\nb\n" },
	{ MBOX_QUOTING_RD, ">Fromx\n> From x\n>from x\n", ">Fromx\n> From x\n>from x\n" },
	{ MBOX_QUOTING_RD, "x >From y\n", "x >From y\n" },
	{ MBOX_QUOTING_O, ">From x\n", "From x\n" },
	{ MBOX_QUOTING_O, ">>From x\n", ">>From x\n" },
	{ MBOX_QUOTING_NONE, ">From x\n", ">From x\n" },
	{ MBOX_QUOTING_RD, ">", ">" },
	{ MBOX_QUOTING_RD, "", "" },
	{ MBOX_QUOTING_RD, ">From ", "From " },
};

static void test_unquote(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(unquote_cases) / sizeof(unquote_cases[0]); i++) {
		const struct unquote_case *c = &unquote_cases[i];
		size_t len = strlen(c->in), n;
		char *out = malloc(len + 1);

		assert_non_null(out);
		n = mbox_unquote(out, c->in, len, c->q);
		out[n] = '\0';
		if (strcmp(out, c->want) != 0)
			fail_msg("case %zu: got [%s] wanted [%s]", i, out, c->want);
		/* in place gives the same */
		memcpy(out, c->in, len);
		n = mbox_unquote(out, out, len, c->q);
		out[n] = '\0';
		assert_string_equal(out, c->want);
		free(out);
	}
}

static void test_quoting_parse(void **state)
{
	enum mbox_quoting q;

	(void)state;
	assert_int_equal(mbox_quoting_parse("rd", &q), 0);
	assert_int_equal(q, MBOX_QUOTING_RD);
	assert_int_equal(mbox_quoting_parse("mboxo", &q), 0);
	assert_int_equal(q, MBOX_QUOTING_O);
	assert_int_equal(mbox_quoting_parse("none", &q), 0);
	assert_int_equal(q, MBOX_QUOTING_NONE);
	assert_int_equal(mbox_quoting_parse("cl", &q), -1);
	assert_int_equal(mbox_quoting_parse(NULL, &q), -1);
	assert_true(mbox_is_mbox("From x", 6));
	assert_false(mbox_is_mbox("From", 4));
	assert_false(mbox_is_mbox(">From x", 7));
	assert_false(mbox_is_mbox(NULL, 0));
}

static void put(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("Subject: x\n\n", f);
	fclose(f);
}

static void test_maildir(void **state)
{
	char dir[] = "/tmp/smexop-test-maildir-XXXXXX";
	char p[512], rm[600];
	struct maildir_list l;
	struct sx_err err = { 0 };
	const char *names[] = { "cur/2:2,S", "cur/1:2,", "new/b", "new/a", "tmp/t", "cur/.hidden" };
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* not (yet) a Maildir */
	assert_false(maildir_list_is_maildir(dir));
	assert_int_equal(maildir_list_read(dir, &l, &err), -1);
	assert_non_null(strstr(err.msg, "not a Maildir"));
	snprintf(p, sizeof(p), "%s/cur", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_false(maildir_list_is_maildir(dir));
	snprintf(p, sizeof(p), "%s/new", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tmp", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/cur/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_true(maildir_list_is_maildir(dir));
	/* empty */
	assert_int_equal(maildir_list_read(dir, &l, &err), 0);
	assert_int_equal(l.n, 0);
	maildir_list_free(&l);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		put(p);
	}
	assert_int_equal(maildir_list_read(dir, &l, &err), 0);
	assert_int_equal(l.n, 4);
	snprintf(p, sizeof(p), "%s/cur/1:2,", dir);
	assert_string_equal(l.paths[0], p);
	snprintf(p, sizeof(p), "%s/cur/2:2,S", dir);
	assert_string_equal(l.paths[1], p);
	snprintf(p, sizeof(p), "%s/new/a", dir);
	assert_string_equal(l.paths[2], p);
	snprintf(p, sizeof(p), "%s/new/b", dir);
	assert_string_equal(l.paths[3], p);
	maildir_list_free(&l);
	assert_null(l.paths);
	maildir_list_free(NULL);
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	assert_int_equal(system(rm), 0);
	assert_false(maildir_list_is_maildir(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_unquote),
		cmocka_unit_test(test_quoting_parse),
		cmocka_unit_test(test_maildir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
