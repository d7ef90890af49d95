/* Unit tests for core/str: ASCII-only case folding and strict numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/str.h"

static void test_case(void **state)
{
	(void)state;
	assert_int_equal(str_casecmp("Example.COM", "example.com"), 0);
	assert_true(str_casecmp("a", "b") < 0);
	assert_true(str_case_prefix("V=SPF1 -all", "v=spf1"));
	assert_false(str_case_prefix("v=sp", "v=spf1"));
	assert_true(str_case_suffix("mail.Example.org", 16, ".example.ORG", 12));
	assert_false(str_case_eq_n("abc", 3, "abd", 3));
	/* no locale folding of 8-bit bytes */
	assert_false(str_case_eq_n("\xc4", 1, "\xe4", 1));
	assert_int_equal(str_case_hash("ABC", 3), str_case_hash("abc", 3));
}

struct num_case {
	const char *in;
	uint64_t min, max;
	int ok;
	uint64_t want;
};

static void test_numbers(void **state)
{
	static const struct num_case cases[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -1, 0 },
		{ "", 0, 10, -1, 0 },
		{ "-1", 0, 10, -1, 0 },
		{ "+1", 0, 10, -1, 0 },
		{ " 1", 0, 10, -1, 0 },
		{ "1x", 0, 10, -1, 0 },
		{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", 0, UINT64_MAX, -1, 0 },
		{ "99999999999999999999999", 0, UINT64_MAX, -1, 0 },
	};
	size_t i;
	uint64_t v;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 12345;
		assert_int_equal(
		    str_to_u64(cases[i].in, strlen(cases[i].in), cases[i].min, cases[i].max, &v),
		    cases[i].ok);
		if (cases[i].ok == 0)
			assert_true(v == cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
