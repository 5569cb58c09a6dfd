/* base64 (user/lib/base64.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "sbuf.h"

static void test_base64(void **state)
{
	static const char *const cases[][2] = {
		{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
	};
	struct sbuf b = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(base64_add(&b, cases[i][0], strlen(cases[i][0])), 0);
		assert_string_equal(b.s ? b.s : "", cases[i][1]);
		sbuf_free(&b);
		assert_int_equal(base64_decode_add(&b, cases[i][1]), 0);
		assert_int_equal(b.len, strlen(cases[i][0]));
		if (b.len)
			assert_memory_equal(b.s, cases[i][0], b.len);
		sbuf_free(&b);
	}
	assert_int_equal(base64_add(&b, "\xff\x00\x80", 3), 0);
	assert_string_equal(b.s, "/wCA");
	sbuf_free(&b);
	assert_int_equal(base64_decode_add(&b, "Zg="), -EINVAL);
	assert_int_equal(base64_decode_add(&b, "Z!=="), -EINVAL);
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
