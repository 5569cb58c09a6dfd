/* What of a speed test's upload stream counts as received, for any LibreSpeed server
 * (user/modules/speedtest/speedtest_upload.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "speedtest_upload.h"

/* The bug of issue 15: stock empty.php answers an empty 200, and a finished POST then
 * counted 0. */
static void test_finished_empty_reply(void **state)
{
	struct speedtest_upload u = {.done = true, .http_code = 200, .sent = 31250000};

	(void)state;
	assert_int_equal(speedtest_upload_counted(&u), 31250000);
	/* Any 2xx: a 204 also means the server read the body. */
	u.http_code = 204;
	assert_int_equal(speedtest_upload_counted(&u), 31250000);
	/* A finished one's socket is not asked (it may be closed, its number reused). */
	u.outq_valid = true;
	u.outq = 1000;
	assert_int_equal(speedtest_upload_counted(&u), 31250000);
}

static void test_finished_server_count(void **state)
{
	struct speedtest_upload u = {
		.done = true, .http_code = 200, .sent = 1000, .reply_valid = true};

	(void)state;
	/* srvmon-server's own count wins... */
	u.reply_bytes = 900;
	assert_int_equal(speedtest_upload_counted(&u), 900);
	u.reply_bytes = 0;
	assert_int_equal(speedtest_upload_counted(&u), 0);
	/* ...but never above what was sent. */
	u.reply_bytes = 5000;
	assert_int_equal(speedtest_upload_counted(&u), 1000);
}

static void test_in_flight(void **state)
{
	struct speedtest_upload u = {.sent = 10000000, .outq_valid = true, .outq = 2500000};

	(void)state;
	/* Sent minus still in the send queue: what the server's TCP acknowledged. */
	assert_int_equal(speedtest_upload_counted(&u), 7500000);
	u.outq = u.sent;
	assert_int_equal(speedtest_upload_counted(&u), 0);
	u.outq = u.sent + 1; /* the queue read after more was sent: never negative */
	assert_int_equal(speedtest_upload_counted(&u), 0);
	/* No way to read the queue: nothing is known received. */
	u.outq_valid = false;
	assert_int_equal(speedtest_upload_counted(&u), 0);
}

static void test_failed(void **state)
{
	struct speedtest_upload u = {
		.done = true, .http_code = 500, .sent = 4096, .reply_valid = true};

	(void)state;
	u.reply_bytes = 4096;
	/* A refused POST did not deliver its body: no 2xx, no finished count. */
	assert_int_equal(speedtest_upload_counted(&u), 0);
	u.http_code = 0; /* the connection broke */
	assert_int_equal(speedtest_upload_counted(&u), 0);
	u.http_code = 302;
	assert_int_equal(speedtest_upload_counted(&u), 0);
}

static void test_parse_received(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(speedtest_parse_received("{\"received\":31250000}", &v), 0);
	assert_int_equal(v, 31250000);
	assert_int_equal(speedtest_parse_received("{\"received\": 0 }", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(
		speedtest_parse_received("{\"received\":18446744073709551615,\"x\":1}", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(speedtest_parse_received("", &v), -ENOENT);
	assert_int_equal(speedtest_parse_received("OK", &v), -ENOENT);
	assert_int_equal(speedtest_parse_received("{\"received\":\"12\"}", &v), -EINVAL);
	assert_int_equal(speedtest_parse_received("{\"received\":12x}", &v), -EINVAL);
	assert_int_equal(speedtest_parse_received("{\"received\":12", &v), -EINVAL);
	assert_int_equal(speedtest_parse_received("{\"received\":18446744073709551616}", &v),
			 -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_finished_empty_reply),
		cmocka_unit_test(test_finished_server_count),
		cmocka_unit_test(test_in_flight),
		cmocka_unit_test(test_failed),
		cmocka_unit_test(test_parse_received),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
