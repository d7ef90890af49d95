/* Unit tests for core/buf: the cap is a hard limit and a refused append
 * leaves the buffer unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"

static void test_append_and_terminate(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	assert_int_equal(buf_putc(&b, 'd'), 0);
	assert_int_equal(buf_printf(&b, "-%d-", 12), 0);
	assert_string_equal(b.data, "abcd-12-");
	assert_int_equal(b.len, 8);
	buf_clear(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_free(&b);
}

static void test_cap(void **state)
{
	struct buf b;
	char big[64];

	(void)state;
	memset(big, 'x', sizeof(big));
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, big, 64), 0);
	assert_int_equal(buf_append(&b, big, 36), 0);
	assert_int_equal(b.len, 100);
	assert_int_equal(buf_putc(&b, 'y'), -1);
	assert_int_equal(buf_printf(&b, "%s", "z"), -1);
	assert_int_equal(b.len, 100);
	assert_int_equal(b.data[100], '\0');
	assert_true(b.size <= 101);
	buf_free(&b);
}

static void test_read_file(void **state)
{
	struct buf b;
	char path[] = "/tmp/smexop-test-buf-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "line1\nline2\n", 12), 12);
	close(fd);
	buf_init(&b, 1000);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_string_equal(b.data, "line1\nline2\n");
	buf_free(&b);
	buf_init(&b, 5);
	assert_int_equal(buf_read_file(&b, path), -1); /* over the cap */
	buf_free(&b);
	unlink(path);
	buf_init(&b, 5);
	assert_int_equal(buf_read_file(&b, "/nonexistent/smexop"), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_terminate),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_read_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
