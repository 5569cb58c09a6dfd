/* server/ratelimit.c: token buckets per client address for POST /token. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ratelimit.h"

static void test_bucket(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, 60, 16); /* 3 at once, then 1 per second */
	uint64_t retry = 0;

	(void)state;
	assert_non_null(rl);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, "10.0.0.1", 1000, &retry), 0);
	assert_int_equal(ratelimit_take(rl, "10.0.0.1", 1000, &retry), -EAGAIN);
	assert_true(retry == 1);
	/* Another address is not affected. */
	assert_int_equal(ratelimit_take(rl, "10.0.0.2", 1000, &retry), 0);
	/* 999 ms later still empty; 1000 ms later exactly one more. */
	assert_int_equal(ratelimit_take(rl, "10.0.0.1", 1999, &retry), -EAGAIN);
	assert_int_equal(ratelimit_take(rl, "10.0.0.1", 2000, &retry), 0);
	assert_int_equal(ratelimit_take(rl, "10.0.0.1", 2000, &retry), -EAGAIN);
	/* Refill is capped at the burst. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, "10.0.0.1", 100000, &retry), 0);
	assert_int_equal(ratelimit_take(rl, "10.0.0.1", 100000, &retry), -EAGAIN);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

static void test_retry_after(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 6, 4); /* one per 10 s */
	uint64_t retry = 0;

	(void)state;
	assert_int_equal(ratelimit_take(rl, "::1", 0, &retry), 0);
	assert_int_equal(ratelimit_take(rl, "::1", 2500, &retry), -EAGAIN);
	assert_true(retry == 8); /* 7.5 s rounded up */
	ratelimit_free(rl);
	assert_null(ratelimit_new(0, 6, 4));
	assert_null(ratelimit_new(1, 0, 4));
	assert_null(ratelimit_new(1, 6, 0));
}

/* A full table reuses slots; memory stays what was allocated, and addresses that are
 * throttled stay throttled while others come and go within the probe window. */
static void test_table_full(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 8);
	char addr[32];
	uint64_t retry = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%d", i);
		assert_int_equal(ratelimit_take(rl, addr, 5, &retry), 0);
	}
	/* The last one is tracked and empty. */
	assert_int_equal(ratelimit_take(rl, addr, 5, &retry), -EAGAIN);
	/* Long addresses are cut, not refused. */
	assert_int_equal(ratelimit_take(rl,
					"0123456789012345678901234567890123456789012345678901"
					"23456789012345678901234567890",
					5, &retry),
			 0);
	ratelimit_free(rl);
}

/* ratelimit_peek(): the answer of take, nothing taken (failed logins are charged after). */
static void test_peek(void **state)
{
	struct ratelimit *rl = ratelimit_new(2, 60, 16);
	uint64_t retry = 0;

	(void)state;
	assert_non_null(rl);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ratelimit_peek(rl, "alice", 0, &retry), 0);
	assert_int_equal(ratelimit_take(rl, "alice", 0, &retry), 0);
	assert_int_equal(ratelimit_take(rl, "alice", 0, &retry), 0);
	assert_int_equal(ratelimit_peek(rl, "alice", 0, &retry), -EAGAIN);
	assert_int_equal(retry, 1);
	/* Another key is not affected; a second later alice has one again. */
	assert_int_equal(ratelimit_peek(rl, "bob", 0, &retry), 0);
	assert_int_equal(ratelimit_peek(rl, "alice", 1000, &retry), 0);
	assert_int_equal(ratelimit_take(rl, "alice", 1000, &retry), 0);
	assert_int_equal(ratelimit_peek(rl, "alice", 1000, &retry), -EAGAIN);
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_peek),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_table_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
