/* UTF-8 validation and repair (user/lib/utf8.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sbuf.h"
#include "utf8.h"

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80", 13));
	assert_false(utf8_valid("\xff", 1));
	assert_false(utf8_valid("\xc0\xaf", 2));	 /* overlong */
	assert_false(utf8_valid("\xed\xa0\x80", 3));	 /* surrogate */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(utf8_valid("\xe6\x97", 2));	 /* cut short */
	/* A bad byte at every place of a longer ASCII string (the 8-byte steps). */
	for (size_t at = 0; at < 40; at++) {
		char s[40];

		memset(s, 'a', sizeof(s));
		assert_true(utf8_valid(s, sizeof(s)));
		s[at] = (char)0xff;
		assert_false(utf8_valid(s, sizeof(s)));
		s[at] = (char)0xc3; /* a 2-byte sequence cut by the end or by 'a' */
		assert_false(utf8_valid(s, sizeof(s)));
		if (at + 1 < sizeof(s)) {
			s[at + 1] = (char)0xa9;
			assert_true(utf8_valid(s, sizeof(s)));
		}
	}
}

static void test_utf8_repair(void **state)
{
	struct sbuf b = {0};

	(void)state;
	assert_int_equal(utf8_repair(&b,
				     "a\xff"
				     "b\xc3\xa9",
				     5),
			 0);
	assert_string_equal(b.s, "a\xef\xbf\xbd"
				 "b\xc3\xa9");
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_repair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
