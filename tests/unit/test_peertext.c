#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "peertext.h"

static void test_escape_controls_and_quotes(void **state)
{
	static const char in[] = "boom\n<0>forged\r\t\"q\\\x01\x7f\xc3\xa9";
	char out[128];
	size_t n;

	(void)state;
	n = peertext_escape(in, sizeof(in) - 1, out, sizeof(out));
	assert_string_equal(out, "boom\\n<0>forged\\r\\t\\\"q\\\\\\x01\\x7f\\xc3\\xa9");
	assert_int_equal(n, strlen(out));
}

static void test_escape_nul_is_escaped(void **state)
{
	char out[32];

	(void)state;
	peertext_escape("a\0b", 3, out, sizeof(out));
	assert_string_equal(out, "a\\x00b");
}

static void test_escape_cut_ends_in_dots(void **state)
{
	char out[10];
	size_t n;

	(void)state;
	n = peertext_escape("0123456789abcdef", 16, out, sizeof(out));
	assert_string_equal(out, "012345...");
	assert_int_equal(n, 9);
	/* Exactly fitting: no dots. */
	n = peertext_escape("012345678", 9, out, sizeof(out));
	assert_string_equal(out, "012345678");
	/* An escape is never cut in half. */
	n = peertext_escape("01234\n\n\n", 8, out, sizeof(out));
	assert_string_equal(out, "01234...");
	for (size_t len = 4; len <= sizeof(out); len++) {
		n = peertext_escape("\n\n\n\n\n\n\n\n\n", 9, out, len);
		assert_true(n < len);
		assert_int_equal(strlen(out), n);
		assert_null(memchr(out, '\n', n));
	}
}

static void test_escape_tiny_buffer(void **state)
{
	char out[3] = "xx";

	(void)state;
	assert_int_equal(peertext_escape("abc", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void test_limit_one_per_window_with_count(void **state)
{
	const struct peertext_policy p = {.window_ms = 60000, .burst = 1};
	struct peertext_limit l = {0};
	uint64_t sup = 99;

	(void)state;
	assert_true(peertext_allow(&l, &p, 1000, &sup));
	assert_int_equal(sup, 0);
	for (int i = 0; i < 4999; i++)
		assert_false(peertext_allow(&l, &p, 1000 + (uint64_t)i, &sup));
	assert_false(peertext_allow(&l, &p, 60999, &sup));
	/* The window has ended: the next one is logged with the count. */
	assert_true(peertext_allow(&l, &p, 61000, &sup));
	assert_int_equal(sup, 5000);
	assert_false(peertext_allow(&l, &p, 61001, &sup));
}

static void test_limit_burst(void **state)
{
	const struct peertext_policy p = {.window_ms = 1000, .burst = 3};
	struct peertext_limit l = {0};
	uint64_t sup = 0;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_true(peertext_allow(&l, &p, 5, &sup));
	assert_false(peertext_allow(&l, &p, 6, &sup));
	assert_true(peertext_allow(&l, &p, 1005, &sup));
	assert_int_equal(sup, 1);
}

static void test_flush_reports_once_after_window(void **state)
{
	const struct peertext_policy p = {.window_ms = 60000, .burst = 1};
	struct peertext_limit l = {0};
	uint64_t sup = 0;

	(void)state;
	assert_false(peertext_flush(&l, &p, 0, &sup)); /* nothing yet */
	assert_true(peertext_allow(&l, &p, 0, &sup));
	assert_false(peertext_flush(&l, &p, 70000, &sup)); /* nothing suppressed */
	assert_true(peertext_allow(&l, &p, 70000, &sup));
	assert_false(peertext_allow(&l, &p, 70001, &sup));
	assert_false(peertext_allow(&l, &p, 70002, &sup));
	assert_false(peertext_flush(&l, &p, 129999, &sup)); /* window not over */
	assert_true(peertext_flush(&l, &p, 130000, &sup));
	assert_int_equal(sup, 2);
	assert_false(peertext_flush(&l, &p, 200000, &sup)); /* reported already */
	/* The report was that window's line: the next within it waits for the next report. */
	assert_false(peertext_allow(&l, &p, 130001, &sup));
	assert_true(peertext_allow(&l, &p, 190000, &sup));
	assert_int_equal(sup, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_controls_and_quotes),
		cmocka_unit_test(test_escape_nul_is_escaped),
		cmocka_unit_test(test_escape_cut_ends_in_dots),
		cmocka_unit_test(test_escape_tiny_buffer),
		cmocka_unit_test(test_limit_one_per_window_with_count),
		cmocka_unit_test(test_limit_burst),
		cmocka_unit_test(test_flush_reports_once_after_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
