/* server/quota.c: per-account records/s and bytes per UTC day. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "quota.h"

#define DAY_MS (86400ull * 1000)

static void test_records(void **state)
{
	struct quota *q = quota_new(5, 0);
	uint64_t retry = 0;

	(void)state;
	assert_non_null(q);
	/* 5/s with a QUOTA_BURST_S (10 s) burst: 50 at once over all connections. */
	for (int i = 0; i < 5 * QUOTA_BURST_S; i++)
		assert_int_equal(quota_charge(q, "alice", 100, 0, 0, &retry), 0);
	assert_int_equal(quota_charge(q, "alice", 100, 0, 0, &retry), -EAGAIN);
	assert_int_equal(retry, 200);
	/* Refused records are not charged: 200 ms later one fits. */
	assert_int_equal(quota_charge(q, "alice", 100, 100, 0, &retry), -EAGAIN);
	assert_int_equal(quota_charge(q, "alice", 100, 200, 0, &retry), 0);
	/* Accounts are independent. */
	assert_int_equal(quota_charge(q, "bob", 100, 200, 0, &retry), 0);
	quota_free(q);
}

static void test_bytes_per_day(void **state)
{
	uint64_t day = 20000 * DAY_MS; /* a UTC midnight */
	struct quota *q = quota_new(0, 1000);
	uint64_t retry = 0;

	(void)state;
	assert_non_null(q);
	assert_int_equal(quota_charge(q, "alice", 600, 0, day + 10, &retry), 0);
	assert_int_equal(quota_charge(q, "alice", 400, 0, day + 20, &retry), 0);
	/* Exactly 1000 stored: one more byte is refused until the next UTC day. */
	assert_int_equal(quota_charge(q, "alice", 1, 0, day + 30, &retry), -EDQUOT);
	assert_int_equal(retry, DAY_MS - 30);
	assert_int_equal(quota_charge(q, "bob", 1000, 0, day + 30, &retry), 0);
	assert_int_equal(quota_charge(q, "alice", 1000, 0, day + DAY_MS, &retry), 0);
	quota_free(q);
}

static void test_many_accounts(void **state)
{
	struct quota *q = quota_new(1, 0);
	char name[32];
	uint64_t retry = 0;

	(void)state;
	assert_non_null(q);
	/* More accounts than slots: each still gets its quota (the least recently charged
	 * among its probed slots starts afresh), memory stays fixed. */
	for (int i = 0; i < 3 * QUOTA_ACCOUNTS; i++) {
		(void)snprintf(name, sizeof(name), "acct%d", i);
		assert_int_equal(quota_charge(q, name, 1, (uint64_t)i, 0, &retry), 0);
	}
	/* An account charged just now is still known: its burst of 10 is spent after 9 more. */
	(void)snprintf(name, sizeof(name), "acct%d", 3 * QUOTA_ACCOUNTS - 1);
	for (int i = 0; i < QUOTA_BURST_S - 1; i++)
		assert_int_equal(quota_charge(q, name, 1, (uint64_t)3 * QUOTA_ACCOUNTS, 0, &retry),
				 0);
	assert_int_equal(quota_charge(q, name, 1, (uint64_t)3 * QUOTA_ACCOUNTS, 0, &retry),
			 -EAGAIN);
	quota_free(q);
}

static void test_unlimited(void **state)
{
	struct quota *q = quota_new(0, 0);
	uint64_t retry = 0;

	(void)state;
	assert_non_null(q);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(quota_charge(q, "alice", 1 << 20, 0, 0, &retry), 0);
	quota_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_bytes_per_day),
		cmocka_unit_test(test_many_accounts),
		cmocka_unit_test(test_unlimited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
