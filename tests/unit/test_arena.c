/* Unit tests for core/arena: alignment, growth, big objects, cleanups,
 * reset, overflow checks and the allocation-failure hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"

static void test_alignment_and_growth(void **state)
{
	struct arena *a = arena_new();
	size_t i;

	(void)state;
	assert_non_null(a);
	for (i = 1; i < 5000; i += 7) {
		char *p = arena_alloc(a, i);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xab, i); /* ASan catches overlap or overrun */
	}
	assert_true(arena_used(a) > 5000);
	arena_free(a);
}

static void test_big_object(void **state)
{
	struct arena *a = arena_new();
	char *small1, *big, *small2;

	(void)state;
	small1 = arena_alloc(a, 10);
	big = arena_alloc(a, 3 * 1024 * 1024);
	small2 = arena_alloc(a, 10);
	assert_non_null(small1);
	assert_non_null(big);
	assert_non_null(small2);
	memset(big, 1, 3 * 1024 * 1024);
	/* the small objects still share the first chunk */
	assert_true(small2 - small1 == 16);
	arena_free(a);
}

static int cleanup_order[4];
static int cleanup_count;

static void record_cleanup(void *arg)
{
	cleanup_order[cleanup_count++] = (int)(intptr_t)arg;
}

static void test_cleanups_newest_first(void **state)
{
	struct arena *a = arena_new();

	(void)state;
	cleanup_count = 0;
	assert_int_equal(arena_cleanup(a, record_cleanup, (void *)1), 0);
	assert_int_equal(arena_cleanup(a, record_cleanup, (void *)2), 0);
	arena_reset(a);
	assert_int_equal(cleanup_count, 2);
	assert_int_equal(cleanup_order[0], 2);
	assert_int_equal(cleanup_order[1], 1);
	assert_int_equal(arena_used(a), 0);
	assert_int_equal(arena_cleanup(a, record_cleanup, (void *)3), 0);
	arena_free(a);
	assert_int_equal(cleanup_count, 3);
	assert_null(arena_free(NULL));
}

static void test_strings(void **state)
{
	struct arena *a = arena_new();

	(void)state;
	assert_string_equal(arena_strdup(a, "hello"), "hello");
	assert_string_equal(arena_strndup(a, "hello", 3), "hel");
	assert_string_equal(arena_printf(a, "%s=%d", "n", 42), "n=42");
	assert_memory_equal(arena_memdup(a, "\0x\0", 3), "\0x\0", 3);
	arena_free(a);
}

static void test_array_overflow(void **state)
{
	struct arena *a = arena_new();
	int *v;

	(void)state;
	assert_null(arena_array(a, SIZE_MAX / 2, 4));
	assert_null(arena_alloc(a, SIZE_MAX));
	v = arena_array(a, 100, sizeof(int));
	assert_non_null(v);
	assert_int_equal(v[99], 0);
	arena_free(a);
}

static void test_grow(void **state)
{
	struct arena *a = arena_new();
	int *v = NULL, *before;
	size_t size = 0, n;

	(void)state;
	for (n = 0; n < 100; n++) {
		assert_int_equal(ARENA_GROW(a, v, size, n, 4), 0);
		assert_true(size > n);
		v[n] = (int)n;
	}
	assert_int_equal(size, 128); /* 4, 8, ... 128 */
	for (n = 0; n < 100; n++)
		assert_int_equal(v[n], (int)n);
	before = v;
	assert_int_equal(ARENA_GROW(a, v, size, 100, 4), 0); /* room left: unchanged */
	assert_ptr_equal(v, before);
	arena_fail_after(1);
	assert_int_equal(ARENA_GROW(a, v, size, 128, 4), -1); /* out of memory */
	arena_fail_after(0);
	assert_ptr_equal(v, before);
	assert_int_equal(size, 128);
	size = SIZE_MAX / 2 + 1; /* doubling would overflow */
	assert_int_equal(arena_grow(a, (void **)&v, &size, size, 1, 4), -1);
	arena_free(a);
}

static void test_fail_after(void **state)
{
	struct arena *a = arena_new();

	(void)state;
	arena_fail_after(2);
	assert_non_null(arena_alloc(a, 8));
	assert_null(arena_alloc(a, 8));
	assert_non_null(arena_alloc(a, 8)); /* fires once */
	arena_fail_after(0);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment_and_growth),
		cmocka_unit_test(test_big_object),
		cmocka_unit_test(test_cleanups_newest_first),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_array_overflow),
		cmocka_unit_test(test_fail_after),
		cmocka_unit_test(test_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
