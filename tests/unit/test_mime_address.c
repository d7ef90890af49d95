/* Unit tests for mime/address: the address-list parser on many From
 * shapes (display names with quoted commas, groups, comments, route
 * addresses, obsolete spacing, IDN, trailing dots) and the From-domain
 * rules DMARC needs (missing, repeated, empty, no domain). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "mime/address.h"
#include "mime/raw.h"

struct from_case {
	const char *value;
	enum address_from_status status;
	const char *domains; /* space-separated, normalised */
};

static const struct from_case from_cases[] = {
	{ "user@example.com", ADDRESS_FROM_OK, "example.com" },
	{ " <user@example.com>", ADDRESS_FROM_OK, "example.com" },
	{ "Joe User <joe@Example.COM>", ADDRESS_FROM_OK, "example.com" },
	{ "\"Doe, John\" <john@example.org>", ADDRESS_FROM_OK, "example.org" },
	{ "\"a@evil.example, b\" <john@example.org>", ADDRESS_FROM_OK, "example.org" },
	{ "\"quoted \\\" quote, @x\" <q@example.net>", ADDRESS_FROM_OK, "example.net" },
	{ "john@example.org (Doe, John)", ADDRESS_FROM_OK, "example.org" },
	{ "(comment (nested, @x.y)) john@example.org", ADDRESS_FROM_OK, "example.org" },
	{ "john (c) @ (c) example . org", ADDRESS_FROM_OK, "example.org" },
	{ "John <john@example.org> (trailer)", ADDRESS_FROM_OK, "example.org" },
	{ "a@one.example, b@two.example", ADDRESS_FROM_OK, "one.example two.example" },
	{ "a@one.example, B@ONE.example", ADDRESS_FROM_OK, "one.example" },
	{ "a@one.example,,  , b@one.example", ADDRESS_FROM_OK, "one.example" },
	{ "Team: a@one.example, b@two.example;", ADDRESS_FROM_OK, "one.example two.example" },
	{ "Team: a@one.example;, c@three.example", ADDRESS_FROM_OK, "one.example three.example" },
	{ "undisclosed-recipients:;", ADDRESS_FROM_EMPTY, NULL },
	{ "", ADDRESS_FROM_EMPTY, NULL },
	{ "   (only a comment)  ", ADDRESS_FROM_EMPTY, NULL },
	{ "<@relay.example,@r2.example:user@example.com>", ADDRESS_FROM_OK, "example.com" },
	{ "user@example.com.", ADDRESS_FROM_OK, "example.com" },
	{ "user@EXAMPLE.com.", ADDRESS_FROM_OK, "example.com" },
	{ "user@bücher.example", ADDRESS_FROM_OK, "xn--bcher-kva.example" },
	{ "Bücher <info@BÜCHER.example>", ADDRESS_FROM_OK, "xn--bcher-kva.example" },
	{ "a@xn--bcher-kva.example, b@bücher.example", ADDRESS_FROM_OK, "xn--bcher-kva.example" },
	{ "=?utf-8?q?J=C3=B6rg?= <j@example.de>", ADDRESS_FROM_OK, "example.de" },
	{ "\"weird@local\"@example.com", ADDRESS_FROM_OK, "example.com" },
	{ "user", ADDRESS_FROM_NO_DOMAIN, NULL },
	{ "Joe User", ADDRESS_FROM_NO_DOMAIN, NULL },
	{ "<>", ADDRESS_FROM_NO_DOMAIN, NULL },
	{ "user@", ADDRESS_FROM_NO_DOMAIN, NULL },
	{ "user@[192.0.2.1]", ADDRESS_FROM_NO_DOMAIN, NULL },
	{ "user@exa mple.com", ADDRESS_FROM_NO_DOMAIN, NULL },
	{ "user@\"example.com\"", ADDRESS_FROM_NO_DOMAIN, NULL },
	{ "user@example..com", ADDRESS_FROM_NO_DOMAIN, NULL },
	{ "user@exa$mple.com", ADDRESS_FROM_NO_DOMAIN, NULL },
	{ "a@one.example, nodomain", ADDRESS_FROM_NO_DOMAIN, NULL },
	{ "a@b@c.example", ADDRESS_FROM_SYNTAX, NULL },
	{ "\"unterminated <a@b.example>", ADDRESS_FROM_SYNTAX, NULL },
	{ "(unterminated a@b.example", ADDRESS_FROM_SYNTAX, NULL },
	{ "John <a@b.example", ADDRESS_FROM_SYNTAX, NULL },
	{ "John a@b.example>", ADDRESS_FROM_SYNTAX, NULL },
	{ "<<a@b.example>>", ADDRESS_FROM_SYNTAX, NULL },
	{ "John <a@b.example> junk", ADDRESS_FROM_SYNTAX, NULL },
	{ "a@b.example; c@d.example", ADDRESS_FROM_SYNTAX, NULL },
	{ "x) a@b.example", ADDRESS_FROM_SYNTAX, NULL },
	{ "G1: G2: a@b.example;;", ADDRESS_FROM_SYNTAX, NULL },
	{ "user@[1.2.3.4", ADDRESS_FROM_SYNTAX, NULL },
	{ "user@example.com\r\n (folded comment)", ADDRESS_FROM_OK, "example.com" },
	{ "Joe\r\n <joe@example.com>", ADDRESS_FROM_OK, "example.com" },
};

static void test_from_values(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		const struct from_case *c = &from_cases[i];
		struct arena *a = arena_new();
		struct address_from af;
		char got[512] = "";
		size_t j, n = 0;

		address_from_value(a, c->value, strlen(c->value), &af);
		for (j = 0; j < af.ndomains; j++)
			n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", j ? " " : "",
			                      af.domains[j]);
		if (af.status != c->status ||
		    (c->domains != NULL && strcmp(got, c->domains) != 0)) {
			print_error("case %zu [%s]: status %s (%s), domains [%s]\n", i, c->value,
			            address_from_status_name(af.status), af.why ? af.why : "-",
			            got);
			fail();
		}
		if (af.status != ADDRESS_FROM_OK)
			assert_non_null(af.why);
		arena_free(a);
	}
}

/* the local parts and the list shape */
static void test_list(void **state)
{
	struct arena *a = arena_new();
	struct address_list l;
	const char *why;
	const char *v = "\"Doe, J\" <\"j d\"@a.example>, G: x.y@b.example, (c) z@c.example;, "
	                "<@r:w@d.example>";

	(void)state;
	assert_int_equal(address_list_parse(a, v, strlen(v), &l, &why), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.groups, 1);
	assert_string_equal(l.addr[0].local, "j d");
	assert_string_equal(l.addr[0].domain, "a.example");
	assert_false(l.addr[0].in_group);
	assert_string_equal(l.addr[1].local, "x.y");
	assert_true(l.addr[1].in_group);
	assert_true(l.addr[2].in_group);
	assert_string_equal(l.addr[3].local, "w");
	assert_string_equal(l.addr[3].domain, "d.example");
	/* NULL text is an empty list */
	assert_int_equal(address_list_parse(a, NULL, 0, &l, &why), 0);
	assert_int_equal(l.n, 0);
	arena_free(a);
}

/* limits: too many addresses, deep comments, a long display name is fine */
static void test_limits(void **state)
{
	struct arena *a = arena_new();
	struct address_list l;
	const char *why;
	char big[20000];
	size_t i, n = 0;

	(void)state;
	for (i = 0; i <= ADDRESS_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "a%zu@x.example,", i);
	assert_int_equal(address_list_parse(a, big, n, &l, &why), -1);
	assert_string_equal(why, "too many addresses");
	n = 0;
	for (i = 0; i < ADDRESS_MAX_NESTING + 1; i++)
		big[n++] = '(';
	for (i = 0; i < ADDRESS_MAX_NESTING + 1; i++)
		big[n++] = ')';
	assert_int_equal(address_list_parse(a, big, n, &l, &why), -1);
	assert_string_equal(why, "comments nested too deep");
	/* a display name longer than an address may be is still fine */
	memset(big, 'N', 5000);
	memcpy(big + 5000, " <a@b.example>", 14);
	assert_int_equal(address_list_parse(a, big, 5014, &l, &why), 0);
	assert_int_equal(l.n, 1);
	/* but not as the address itself */
	memcpy(big + 5000, "@b.example", 10);
	assert_int_equal(address_list_parse(a, big, 5010, &l, &why), -1);
	assert_string_equal(why, "address too long");
	arena_free(a);
}

/* whole messages: missing, repeated From */
static void test_messages(void **state)
{
	static const struct {
		const char *msg;
		enum address_from_status st;
	} cases[] = {
		{ "To: a@b.example\r\n\r\nbody\r\n", ADDRESS_FROM_MISSING },
		{ "From: a@b.example\r\nFrom: c@d.example\r\n\r\n", ADDRESS_FROM_REPEATED },
		{ "from: A <a@B.example>\r\nSubject: x\r\n\r\n", ADDRESS_FROM_OK },
		{ "From:\r\n a@b.example\r\n\r\n", ADDRESS_FROM_OK },
		{ "From: \r\n\r\n", ADDRESS_FROM_EMPTY },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arena *a = arena_new();
		struct raw_message m;
		struct address_from af;
		struct sx_err err;

		assert_int_equal(
		    raw_message_parse(&m, a, cases[i].msg, strlen(cases[i].msg), NULL, &err), 0);
		assert_int_equal(address_from_domains(a, &m, &af), cases[i].st);
		if (cases[i].st == ADDRESS_FROM_OK) {
			assert_int_equal(af.ndomains, 1);
			assert_string_equal(af.domains[0], "b.example");
		}
		arena_free(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_values),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
