/* Quoting a command line for a POSIX shell (user/modules/history/shell_quote.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sbuf.h"
#include "shell_quote.h"

static void test_shell_quote(void **state)
{
	static const char *const cases[][2] = {
		{"ls", "ls"},
		{"/usr/bin/x-y_z.1", "/usr/bin/x-y_z.1"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", "'it'\\''s'"},
		{"$HOME", "'$HOME'"},
		{"caf\xc3\xa9", "'caf\xc3\xa9'"},
		{"a\nb", "$'a\\nb'"},
		{"t\tq'\\", "$'t\\tq\\'\\\\'"},
		{"\xff\x01", "$'\\xff\\x01'"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf b = {0};

		assert_int_equal(shell_quote_add(&b, cases[i][0], strlen(cases[i][0])), 0);
		assert_string_equal(b.s, cases[i][1]);
		sbuf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shell_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
