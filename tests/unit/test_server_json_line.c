/* server/json_line.c: query --json prints each stored JSON text as one terminal-safe line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "json_line.h"

static void expect(const char *in, const char *want)
{
	char *got = json_line_escape(in, strlen(in));

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* The escaped text parses to the same values as the original (cJSON accepts raw control
 * characters in strings, as the server's parser did when it stored them). */
static void same_values(const char *in)
{
	char *got = json_line_escape(in, strlen(in));
	cJSON *a = cJSON_Parse(in);
	cJSON *b;

	assert_non_null(got);
	b = cJSON_Parse(got);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(cJSON_Compare(a, b, true));
	for (const char *p = got; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	cJSON_Delete(a);
	cJSON_Delete(b);
	free(got);
}

static void test_escape(void **state)
{
	(void)state;
	/* Plain JSON is unchanged, escapes included. */
	expect("{\"a\":\"x\\\"y\\n\",\"b\":[1,2]}", "{\"a\":\"x\\\"y\\n\",\"b\":[1,2]}");
	/* Raw control characters in strings: escaped; ESC would start a terminal sequence. */
	expect("{\"a\":\"\x1b[2Jx\ty\n\"}", "{\"a\":\"\\u001b[2Jx\\ty\\n\"}");
	expect("{\"a\":\"\x7f\x01\"}", "{\"a\":\"\\u007f\\u0001\"}");
	/* C1 controls (UTF-8 C2 80..9F), e.g. U+009B CSI; other non-ASCII text stays. */
	expect("{\"a\":\"\xc2\x9b"
	       "31m\xc3\xa9\xc2\xa0\"}",
	       "{\"a\":\"\\u009b31m\xc3\xa9\xc2\xa0\"}");
	/* Whitespace between tokens: a newline would split the line. */
	expect("{\n\t\"a\" :\r\n1}", "{  \"a\" :  1}");
	/* Not JSON-valid but still made safe: a backslash before a control character. */
	expect("{\"a\":\"\\\x1b\"}", "{\"a\":\"\\\\u001b\"}");
	same_values(
		"{\n\"type\":\"exec\",\"argv\":[\"a\x1b]0;title\x07\",\"b\xc2\x85\"],\n\"n\":1}");
	same_values("{\"a\":\"\\u001b\",\"b\":\"\xe2\x82\xac\"}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
