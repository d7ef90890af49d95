/* Unit tests for filter/directory: lookups from a case table (aliases,
 * sub-addresses with one or several separators, catch-alls, case
 * folding or not), the file syntax and its errors, a custom backend
 * through the vtable (tempfail), and the stage 2 verdicts with their
 * exact replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "filter/directory.h"

static const char dir_text[] = "# the directory\n"
                               "user@example.com\n"
                               "  Alias@Example.COM : user@example.com   # an alias\n"
                               "c++@example.com\n"
                               "a#b@example.com\n"
                               "MixedCase@example.com\n"
                               "@catchall.example: postmaster@catchall.example\n"
                               "user@example.com: someone-else@example.com\n"
                               "\n";

struct lookup_case {
	const char *sep;
	bool cs;
	const char *address;
	enum directory_status st;
	const char *key;
	const char *target;
	bool sub, catch_all;
};

static const struct lookup_case lookups[] = {
	{ "+", false, "user@example.com", DIRECTORY_FOUND, "user@example.com", "user@example.com",
	  false, false },
	{ "+", false, "USER@EXAMPLE.COM.", DIRECTORY_FOUND, "user@example.com", NULL, false,
	  false },
	{ "+", false, "alias@example.com", DIRECTORY_FOUND, "alias@example.com", "user@example.com",
	  false, false },
	{ "+", false, "user+tag@example.com", DIRECTORY_FOUND, "user@example.com", NULL, true,
	  false },
	{ "+", false, "user+a+b@example.com", DIRECTORY_FOUND, "user@example.com", NULL, true,
	  false },
	{ "+", false, "user-tag@example.com", DIRECTORY_NOT_FOUND, NULL, NULL, false, false },
	{ "+-", false, "user-tag@example.com", DIRECTORY_FOUND, "user@example.com", NULL, true,
	  false },
	{ "", false, "user+tag@example.com", DIRECTORY_NOT_FOUND, NULL, NULL, false, false },
	/* an address that contains the separator is found as it is */
	{ "+", false, "c++@example.com", DIRECTORY_FOUND, "c++@example.com", NULL, false, false },
	{ "+", false, "a#b@example.com", DIRECTORY_FOUND, "a#b@example.com", NULL, false, false },
	{ "+", false, "+tag@example.com", DIRECTORY_NOT_FOUND, NULL, NULL, false, false },
	{ "+", false, "nobody@example.com", DIRECTORY_NOT_FOUND, NULL, NULL, false, false },
	{ "+", false, "anyone@CatchAll.example", DIRECTORY_FOUND, "@catchall.example",
	  "postmaster@catchall.example", false, true },
	{ "+", false, "user@other.example", DIRECTORY_NOT_FOUND, NULL, NULL, false, false },
	/* case-sensitive local parts */
	{ "+", true, "MixedCase@EXAMPLE.com", DIRECTORY_FOUND, "MixedCase@example.com", NULL, false,
	  false },
	{ "+", true, "mixedcase@example.com", DIRECTORY_NOT_FOUND, NULL, NULL, false, false },
	{ "+", false, "mixedcase@example.com", DIRECTORY_FOUND, "mixedcase@example.com", NULL,
	  false, false },
};

static void test_lookups(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		const struct lookup_case *c = &lookups[i];
		struct sx_err err = { 0 };
		struct directory *d =
		    directory_load_text("dir", dir_text, strlen(dir_text), c->sep, c->cs, &err);
		struct directory_result r;
		assert_non_null(d);
		assert_int_equal(directory_count(d), 6);
		assert_int_equal(directory_lookup(d, c->address, &r), 0);
		if (r.status != c->st)
			fail_msg("%s (sep '%s'): status %d, want %d", c->address, c->sep, r.status,
			         c->st);
		if (c->key != NULL)
			assert_string_equal(r.key, c->key);
		if (c->target != NULL)
			assert_string_equal(r.target, c->target);
		else if (c->st == DIRECTORY_FOUND)
			assert_string_equal(r.target, r.key);
		assert_int_equal(r.subaddress, c->sub);
		assert_int_equal(r.catch_all, c->catch_all);
		directory_free(d);
	}
}

static void test_bad_addresses(void **state)
{
	struct directory *d =
	    directory_load_text("dir", dir_text, strlen(dir_text), "+", false, NULL);
	struct directory_result r;
	static const char *const bad[] = { "",     "user",        "@example.com", "user@",
		                           "a@b@", "us er@x.com", "user@.x",      NULL };
	char longaddr[400];
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++)
		if (directory_lookup(d, bad[i], &r) != -1)
			fail_msg("'%s' was taken for an address", bad[i]);
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	longaddr[200] = '@';
	assert_int_equal(directory_lookup(d, longaddr, &r), -1);
	assert_int_equal(directory_lookup(NULL, "a@b.c", &r), -1);
	directory_free(d);
}

struct error_case {
	const char *text;
	const char *err;
};

static const struct error_case errors[] = {
	{ "user\n", "f:1:1: not an address, alias or @domain catch-all: 'user'" },
	{ "ok@x.com\n  bad@\n", "f:2:3: not an address, alias or @domain catch-all: 'bad@'" },
	{ "a@x.com:\n", "f:1:9: a target address is missing after ':'" },
	{ "a@x.com: b\n", "f:1:10: the target is not an address: 'b'" },
	{ "a@x.com: @x.com\n", "f:1:10: the target is not an address: '@x.com'" },
	{ "a b@x.com\n", "f:1:1: not an address, alias or @domain catch-all: 'a b@x.com'" },
	{ "a@x.com\0\n", "f:1:1: NUL byte in the line" },
};

static void test_file_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct sx_err err = { 0 };
		char buf[600];
		size_t len = strlen(errors[i].text);
		if (strcmp(errors[i].err, "f:1:1: NUL byte in the line") == 0)
			len = 9;
		assert_null(directory_load_text("f", errors[i].text, len, "+", false, &err));
		assert_string_equal(sx_err_format(&err, buf, sizeof(buf)), errors[i].err);
	}
}

/* a backend through the vtable: the store later */
static int freed;

static enum directory_status fake_lookup(void *ctx, const char *key, const char **target)
{
	(void)ctx;
	*target = NULL;
	if (strcmp(key, "down@example.com") == 0)
		return DIRECTORY_TEMPFAIL;
	if (strcmp(key, "ceo@example.com") == 0)
		return DIRECTORY_FOUND;
	return DIRECTORY_NOT_FOUND;
}

static void fake_free(void *ctx)
{
	(void)ctx;
	freed++;
}

static const struct directory_ops fake_ops = { fake_lookup, fake_free };

struct edge_case {
	const char *rcpt;
	bool relay;
	bool with_dir;
	enum edge_verdict v;
	enum edge_reason r;
	const char *reply;
};

static const struct edge_case edges[] = {
	{ "ceo@example.com", false, true, EDGE_ACCEPT, EDGE_R_KNOWN, "" },
	{ "CEO+news@Example.com", false, true, EDGE_ACCEPT, EDGE_R_KNOWN, "" },
	{ "nobody@example.com", false, true, EDGE_REJECT, EDGE_R_UNKNOWN,
	  "550 5.4.1 Recipient address rejected: Access denied" },
	{ "nobody@example.com", false, false, EDGE_ACCEPT, EDGE_R_NO_DIRECTORY, "" },
	{ "down@example.com", false, true, EDGE_TEMPFAIL, EDGE_R_DIRECTORY_FAIL,
	  "451 4.3.0 Directory lookup failed, try again later" },
	{ "nobody@relay.example", false, true, EDGE_ACCEPT, EDGE_R_INTERNAL_RELAY, "" },
	{ "nobody@sub.relay.example", false, true, EDGE_ACCEPT, EDGE_R_INTERNAL_RELAY, "" },
	{ "someone@elsewhere.example", false, true, EDGE_REJECT, EDGE_R_RELAY_DENIED,
	  "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain" },
	{ "someone@elsewhere.example", true, true, EDGE_ACCEPT, EDGE_R_RELAY, "" },
	{ "someone@sub.example.com", false, true, EDGE_REJECT, EDGE_R_RELAY_DENIED,
	  "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain" },
	{ "no-at-sign", false, true, EDGE_REJECT, EDGE_R_BAD_ADDRESS,
	  "501 5.1.3 Bad recipient address syntax" },
	{ "", true, true, EDGE_REJECT, EDGE_R_BAD_ADDRESS,
	  "501 5.1.3 Bad recipient address syntax" },
};

static void test_edge(void **state)
{
	struct domains *doms = domains_new();
	struct directory *dir = directory_new(&fake_ops, NULL, "+", false);
	struct sx_err err = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(domains_add(doms, "example.com", DOMAIN_AUTHORITATIVE, false, &err), 0);
	assert_int_equal(domains_add(doms, "relay.example", DOMAIN_INTERNAL_RELAY, true, &err), 0);
	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		const struct edge_case *c = &edges[i];
		struct edge_result r;
		directory_edge_check(doms, c->with_dir ? dir : NULL, c->rcpt, c->relay, &r);
		if (r.verdict != c->v || r.reason != c->r)
			fail_msg("%s: %s/%s, want %s/%s", c->rcpt, edge_verdict_name(r.verdict),
			         edge_reason_name(r.reason), edge_verdict_name(c->v),
			         edge_reason_name(c->r));
		assert_string_equal(r.reply, c->reply);
	}
	domains_free(doms);
	freed = 0;
	directory_free(dir);
	assert_int_equal(freed, 1);
}

static void test_file(void **state)
{
	char path[] = "/tmp/test_directory_XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct sx_err err = { 0 };
	struct directory *d;
	struct directory_result r;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("a@example.com\nb@example.com: a@example.com\n", f);
	fclose(f);
	d = directory_load_file(path, "+", false, &err);
	assert_non_null(d);
	assert_int_equal(directory_lookup(d, "b+x@example.com", &r), 0);
	assert_int_equal(r.status, DIRECTORY_FOUND);
	assert_string_equal(r.target, "a@example.com");
	directory_free(d);
	unlink(path);
	assert_null(directory_load_file(path, "+", false, &err));
}

/* many entries: the table grows */
static void test_many(void **state)
{
	struct buf_like {
		char *p;
		size_t n;
	} b = { NULL, 0 };
	struct directory *d;
	struct directory_result r;
	char line[64];
	int i;
	FILE *m = open_memstream(&b.p, &b.n);

	(void)state;
	for (i = 0; i < 50000; i++)
		fprintf(m, "user%d@example.com\n", i);
	fclose(m);
	d = directory_load_text("m", b.p, b.n, "+", false, NULL);
	assert_non_null(d);
	assert_int_equal(directory_count(d), 50000);
	for (i = 0; i < 50000; i += 997) {
		snprintf(line, sizeof(line), "USER%d+x@example.com", i);
		assert_int_equal(directory_lookup(d, line, &r), 0);
		assert_int_equal(r.status, DIRECTORY_FOUND);
	}
	assert_int_equal(directory_lookup(d, "user50000@example.com", &r), 0);
	assert_int_equal(r.status, DIRECTORY_NOT_FOUND);
	directory_free(d);
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),     cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_file_errors), cmocka_unit_test(test_edge),
		cmocka_unit_test(test_file),        cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
