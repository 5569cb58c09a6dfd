/* The speed-test module's schedule (user/modules/speedtest/speedtest_module.c): the next delay
 * with its jitter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "speedtest_module.h"

static void test_next_delay(void **state)
{
	(void)state;
	assert_int_equal(speedtest_next_delay_ms(3600000, 0, 12345), 3600000);
	assert_int_equal(speedtest_next_delay_ms(3600000, 300000, 300000), 3900000);
	assert_int_equal(speedtest_next_delay_ms(3600000, 300000, 300001), 3600000);
	assert_int_equal(speedtest_next_delay_ms(0, 10, 7), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_delay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
