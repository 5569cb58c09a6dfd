/* server/connlimit.c: per-connection token buckets on records/s and bytes/s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "connlimit.h"

static void test_burst_then_wait(void **state)
{
	struct connlimit l;

	(void)state;
	/* 100 records/s, 2 s burst: 200 records at once, the 201st waits 10 ms. */
	connlimit_init(&l, 100, 0, 2, 1000);
	for (int i = 0; i < 200; i++)
		assert_int_equal(connlimit_charge(&l, 1, 50, 1000), 0);
	assert_int_equal(connlimit_charge(&l, 1, 50, 1000), 10);
	/* 10 ms later the debt is paid. */
	assert_int_equal(connlimit_charge(&l, 0, 0, 1010), 0);
	/* A batch of 50 records puts it 500 ms in debt. */
	assert_int_equal(connlimit_charge(&l, 50, 0, 1010), 500);
	assert_int_equal(connlimit_charge(&l, 0, 0, 1300), 210);
	assert_int_equal(connlimit_charge(&l, 0, 0, 1510), 0);
	/* Refill stops at the burst: after an hour, still 200 at once. */
	for (int i = 0; i < 200; i++)
		assert_int_equal(connlimit_charge(&l, 1, 0, 3600000), 0);
	assert_true(connlimit_charge(&l, 1, 0, 3600000) > 0);
}

static void test_bytes(void **state)
{
	struct connlimit l;

	(void)state;
	/* 1 MiB/s, 1 s burst: the second MiB in the same instant waits a second. */
	connlimit_init(&l, 0, 1048576, 1, 0);
	assert_int_equal(connlimit_charge(&l, 1000000, 1048576, 0), 0);
	assert_int_equal(connlimit_charge(&l, 0, 1048576, 0), 1000);
	assert_int_equal(connlimit_charge(&l, 0, 0, 999), 1);
	assert_int_equal(connlimit_charge(&l, 0, 0, 1000), 0);
	/* A clock going backwards neither refills nor breaks it. */
	assert_int_equal(connlimit_charge(&l, 0, 524288, 10), 500);
}

static void test_unlimited(void **state)
{
	struct connlimit l;

	(void)state;
	connlimit_init(&l, 0, 0, 0, 5);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(connlimit_charge(&l, UINT64_MAX, UINT64_MAX, 5), 0);
}

/* connlimit_try(): never into debt; a refusal takes nothing. */
static void test_try(void **state)
{
	struct connlimit l;

	(void)state;
	/* 5 records/s, 10 s burst: 50 at once, the 51st refused, 200 ms until one fits. */
	connlimit_init(&l, 5, 0, 10, 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(connlimit_try(&l, 1, 0, 0), 0);
	assert_int_equal(connlimit_try(&l, 1, 0, 0), 200);
	/* Refused ones took nothing: after 200 ms exactly one fits. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(connlimit_try(&l, 1, 0, 100), 100);
	assert_int_equal(connlimit_try(&l, 1, 0, 200), 0);
	assert_int_equal(connlimit_try(&l, 1, 0, 200), 200);
	/* A charge larger than the whole bucket would never fit: it is let into debt. */
	connlimit_init(&l, 5, 0, 1, 0);
	assert_int_equal(connlimit_try(&l, 6, 0, 0), 0);
	assert_true(connlimit_try(&l, 1, 0, 0) > 0);
	/* Unlimited: always. */
	connlimit_init(&l, 0, 0, 1, 0);
	assert_int_equal(connlimit_try(&l, UINT64_MAX, UINT64_MAX, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_wait),
		cmocka_unit_test(test_try),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_unlimited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
