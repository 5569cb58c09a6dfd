/* The LibreSpeed endpoint names and URLs (user/modules/speedtest/speedtest_paths.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "speedtest_paths.h"

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(speedtest_names_first(SPEEDTEST_NAMES_AUTO), SPEEDTEST_NAMES_PLAIN);
	assert_int_equal(speedtest_names_first(SPEEDTEST_NAMES_PLAIN), SPEEDTEST_NAMES_PLAIN);
	assert_int_equal(speedtest_names_first(SPEEDTEST_NAMES_PHP), SPEEDTEST_NAMES_PHP);
	assert_int_equal(speedtest_names_other(SPEEDTEST_NAMES_PLAIN), SPEEDTEST_NAMES_PHP);
	assert_int_equal(speedtest_names_other(SPEEDTEST_NAMES_PHP), SPEEDTEST_NAMES_PLAIN);
	assert_int_equal(speedtest_names_other(SPEEDTEST_NAMES_AUTO), SPEEDTEST_NAMES_AUTO);
	assert_string_equal(speedtest_names_str(SPEEDTEST_NAMES_PHP), "php");
	assert_string_equal(speedtest_names_str(SPEEDTEST_NAMES_PLAIN), "plain");
}

static void test_url(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(speedtest_url(buf, sizeof(buf), "http://h/backend", SPEEDTEST_NAMES_PHP,
				       SPEEDTEST_GARBAGE, 25),
			 0);
	assert_string_equal(buf, "http://h/backend/garbage.php?ckSize=25");
	assert_int_equal(speedtest_url(buf, sizeof(buf), "http://h/backend", SPEEDTEST_NAMES_PHP,
				       SPEEDTEST_EMPTY, 0),
			 0);
	assert_string_equal(buf, "http://h/backend/empty.php");
	assert_int_equal(speedtest_url(buf, sizeof(buf), "https://h:8080", SPEEDTEST_NAMES_PLAIN,
				       SPEEDTEST_GARBAGE, 1024),
			 0);
	assert_string_equal(buf, "https://h:8080/garbage?ckSize=1024");
	assert_int_equal(speedtest_url(buf, sizeof(buf), "http://h", SPEEDTEST_NAMES_PLAIN,
				       SPEEDTEST_EMPTY, 0),
			 0);
	assert_string_equal(buf, "http://h/empty");
	/* AUTO is not a name to build a URL with. */
	assert_int_equal(speedtest_url(buf, sizeof(buf), "http://h", SPEEDTEST_NAMES_AUTO,
				       SPEEDTEST_EMPTY, 0),
			 -EINVAL);
	/* Too long for the buffer: an error, not a cut URL. */
	assert_int_equal(
		speedtest_url(buf, 16, "http://h/backend", SPEEDTEST_NAMES_PHP, SPEEDTEST_EMPTY, 0),
		-ENAMETOOLONG);
	assert_int_equal(
		speedtest_url(buf, 26, "http://h/backend", SPEEDTEST_NAMES_PHP, SPEEDTEST_EMPTY, 0),
		-ENAMETOOLONG);
	assert_int_equal(
		speedtest_url(buf, 27, "http://h/backend", SPEEDTEST_NAMES_PHP, SPEEDTEST_EMPTY, 0),
		0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
