/* server/speedtest_http.c: the ckSize argument of GET /garbage. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "speedtest_http.h"

static void test_cksize(void **state)
{
	size_t mib = 0;

	(void)state;
	assert_int_equal(speedtest_http_parse_cksize(NULL, &mib), 0);
	assert_int_equal(mib, 4);
	assert_int_equal(speedtest_http_parse_cksize("1", &mib), 0);
	assert_int_equal(mib, 1);
	assert_int_equal(speedtest_http_parse_cksize("256", &mib), 0);
	assert_int_equal(mib, 256);
	/* Larger asks (LibreSpeed clients ask for up to 1024) are served 256 MiB. */
	assert_int_equal(speedtest_http_parse_cksize("257", &mib), 0);
	assert_int_equal(mib, SPEEDTEST_CHUNK_MIB_MAX);
	assert_int_equal(speedtest_http_parse_cksize("1024", &mib), 0);
	assert_int_equal(mib, 256);
	assert_int_equal(speedtest_http_parse_cksize("18446744073709551615", &mib), 0);
	assert_int_equal(mib, 256);
	assert_int_equal(speedtest_http_parse_cksize("18446744073709551616", &mib), -EINVAL);
	assert_int_equal(speedtest_http_parse_cksize("0", &mib), -EINVAL);
	assert_int_equal(speedtest_http_parse_cksize("-1", &mib), -EINVAL);
	assert_int_equal(speedtest_http_parse_cksize("4x", &mib), -EINVAL);
	assert_int_equal(speedtest_http_parse_cksize("", &mib), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cksize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
