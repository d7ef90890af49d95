/* Unit tests for filter/domains: exact and subdomain matches, the more
 * specific entry winning, case and trailing dots, bad names, repeats and
 * building from a configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "filter/domains.h"

struct match_case {
	const char *name;
	const char *want; /* NULL: no match */
	enum domain_type type;
};

static const struct match_case matches[] = {
	{ "example.com", "example.com", DOMAIN_AUTHORITATIVE },
	{ "EXAMPLE.com.", "example.com", DOMAIN_AUTHORITATIVE },
	{ "sub.example.com", NULL, 0 }, /* no subdomains on example.com */
	{ "example.org", "example.org", DOMAIN_INTERNAL_RELAY },
	{ "a.b.example.org", "example.org", DOMAIN_INTERNAL_RELAY },
	{ "legacy.example.org", "legacy.example.org", DOMAIN_AUTHORITATIVE },
	{ "x.legacy.example.org", "example.org", DOMAIN_INTERNAL_RELAY },
	{ "notexample.org", NULL, 0 },
	{ "org", NULL, 0 },
	{ "example.net", NULL, 0 },
	{ "", NULL, 0 },
	{ ".", NULL, 0 },
};

static void test_match(void **state)
{
	struct domains *d = domains_new();
	struct sx_err err = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(domains_add(d, "Example.COM", DOMAIN_AUTHORITATIVE, false, &err), 0);
	assert_int_equal(domains_add(d, "example.org.", DOMAIN_INTERNAL_RELAY, true, &err), 0);
	assert_int_equal(domains_add(d, "legacy.example.org", DOMAIN_AUTHORITATIVE, false, &err),
	                 0);
	assert_int_equal(domains_count(d), 3);
	for (i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
		const struct match_case *c = &matches[i];
		const struct accepted_domain *a = domains_match(d, c->name, strlen(c->name));
		if (c->want == NULL) {
			if (a != NULL)
				fail_msg("%s: matched %s", c->name, a->domain);
			continue;
		}
		if (a == NULL)
			fail_msg("%s: no match", c->name);
		assert_string_equal(a->domain, c->want);
		assert_int_equal(a->type, c->type);
	}
	assert_null(domains_match(NULL, "example.com", 11));
	domains_free(d);
}

static void test_errors(void **state)
{
	struct domains *d = domains_new();
	struct sx_err err = { 0 };

	(void)state;
	assert_int_equal(domains_add(d, "a..b", DOMAIN_AUTHORITATIVE, false, &err), -1);
	assert_int_equal(domains_add(d, "", DOMAIN_AUTHORITATIVE, false, &err), -1);
	assert_int_equal(domains_add(d, "user@example.com", DOMAIN_AUTHORITATIVE, false, &err), -1);
	assert_int_equal(domains_add(d, "example.com", DOMAIN_AUTHORITATIVE, false, &err), 0);
	assert_int_equal(domains_add(d, "EXAMPLE.COM", DOMAIN_INTERNAL_RELAY, false, &err), -1);
	assert_string_equal(err.msg, "example.com is listed twice");
	domains_free(d);
	assert_null(domains_free(NULL));
}

/* many domains stay sorted whatever the insertion order */
static void test_many(void **state)
{
	struct domains *d = domains_new();
	struct sx_err err = { 0 };
	char name[64];
	int i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "d%d.example", (i * 7919) % 2000);
		assert_int_equal(domains_add(d, name, DOMAIN_AUTHORITATIVE, i % 2, &err), 0);
	}
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "d%d.example", i);
		assert_non_null(domains_match(d, name, strlen(name)));
	}
	assert_null(domains_match(d, "d2000.example", 13));
	domains_free(d);
}

static void test_from_config(void **state)
{
	static const char yaml[] = "accepted_domains:\n"
	                           "  - domain: Example.com\n"
	                           "  - domain: example.org\n"
	                           "    type: internal_relay\n"
	                           "    subdomains: true\n";
	struct config_diag diag;
	struct smexop_config *cfg = config_load_mem("t.yaml", yaml, strlen(yaml), &diag);
	struct sx_err err = { 0 };
	struct domains *d;
	const struct accepted_domain *a;

	(void)state;
	assert_non_null(cfg);
	d = domains_from_config(cfg, &err);
	assert_non_null(d);
	a = domains_match(d, "mail.example.org", 16);
	assert_non_null(a);
	assert_int_equal(a->type, DOMAIN_INTERNAL_RELAY);
	assert_string_equal(domain_type_name(a->type), "internal_relay");
	a = domains_match(d, "example.com", 11);
	assert_non_null(a);
	assert_int_equal(a->type, DOMAIN_AUTHORITATIVE);
	domains_free(d);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_from_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
