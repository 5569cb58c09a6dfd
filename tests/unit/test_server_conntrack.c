/* server/conntrack.c: connection caps (in all, per address), request deadlines, speed-test
 * requests per address. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conntrack.h"

static int keys[16]; /* their addresses serve as connection keys */

static void test_caps(void **state)
{
	struct conntrack *ct = conntrack_new(5, 2, 1);

	(void)state;
	assert_non_null(ct);
	assert_int_equal(conntrack_add(ct, &keys[0], "10.0.0.1", 0), 0);
	assert_int_equal(conntrack_add(ct, &keys[1], "10.0.0.1", 0), 0);
	/* The third from one address is refused and not registered. */
	assert_int_equal(conntrack_admit(ct, "10.0.0.1"), -EUSERS);
	assert_int_equal(conntrack_add(ct, &keys[2], "10.0.0.1", 0), -EUSERS);
	assert_int_equal(conntrack_count_addr(ct, "10.0.0.1"), 2);
	assert_int_equal(conntrack_add(ct, &keys[2], "10.0.0.2", 0), 0);
	assert_int_equal(conntrack_add(ct, &keys[3], "10.0.0.3", 0), 0);
	assert_int_equal(conntrack_add(ct, &keys[4], "10.0.0.4", 0), 0);
	/* Five in all: the sixth is refused whatever its address. */
	assert_int_equal(conntrack_add(ct, &keys[5], "10.0.0.5", 0), -EMFILE);
	assert_int_equal(conntrack_count(ct), 5);
	/* A closed one frees its place, in all and for its address. */
	conntrack_remove(ct, &keys[0]);
	conntrack_remove(ct, &keys[0]); /* twice: ignored */
	conntrack_remove(ct, &keys[9]); /* unknown: ignored */
	assert_int_equal(conntrack_count(ct), 4);
	assert_int_equal(conntrack_add(ct, &keys[5], "10.0.0.1", 0), 0);
	assert_int_equal(conntrack_add(ct, &keys[6], "10.0.0.6", 0), -EMFILE);
	conntrack_free(ct);
	/* Bad sizes. */
	assert_null(conntrack_new(0, 1, 1));
	assert_null(conntrack_new(2, 3, 1));
	assert_null(conntrack_new(2, 1, 0));
}

static void expired_cb(const void *key, const char *addr, void *arg)
{
	int *n = arg;

	assert_ptr_equal(key, &keys[1]);
	assert_string_equal(addr, "::1");
	(*n)++;
}

static void test_deadlines(void **state)
{
	struct conntrack *ct = conntrack_new(4, 4, 1);
	int n = 0;

	(void)state;
	assert_non_null(ct);
	assert_int_equal(conntrack_add(ct, &keys[0], "::1", 1000), 0);
	assert_int_equal(conntrack_add(ct, &keys[1], "::1", 2000), 0);
	assert_int_equal(conntrack_add(ct, &keys[2], "::1", 0), 0); /* none */
	/* keys[0] completed its request: no deadline any more. */
	assert_int_equal(conntrack_set_deadline(ct, &keys[0], 0), 0);
	assert_int_equal(conntrack_set_deadline(ct, &keys[9], 0), -ENOENT);
	assert_int_equal(conntrack_expire(ct, 1999, expired_cb, &n), 0);
	assert_int_equal(conntrack_expire(ct, 2000, expired_cb, &n), 1);
	assert_int_equal(n, 1);
	/* Reported once. */
	assert_int_equal(conntrack_expire(ct, 99999, expired_cb, &n), 0);
	/* A new request's deadline counts again. */
	assert_int_equal(conntrack_set_deadline(ct, &keys[1], 5000), 0);
	assert_int_equal(conntrack_expire(ct, 5000, expired_cb, &n), 1);
	assert_int_equal(n, 2);
	conntrack_free(ct);
}

static void test_speedtest(void **state)
{
	struct conntrack *ct = conntrack_new(8, 8, 2);

	(void)state;
	assert_non_null(ct);
	for (int i = 0; i < 4; i++)
		assert_int_equal(conntrack_add(ct, &keys[i], i < 3 ? "a" : "b", 0), 0);
	assert_int_equal(conntrack_speedtest_begin(ct, &keys[0]), 0);
	assert_int_equal(conntrack_speedtest_begin(ct, &keys[0]), 0); /* same request */
	assert_int_equal(conntrack_speedtest_begin(ct, &keys[1]), 0);
	assert_int_equal(conntrack_speedtest_begin(ct, &keys[2]), -EBUSY);
	assert_int_equal(conntrack_speedtest_begin(ct, &keys[3]), 0); /* other address */
	assert_int_equal(conntrack_speedtest_begin(ct, &keys[9]), -ENOENT);
	/* The end of a request, or of its connection, frees the slot. */
	conntrack_speedtest_end(ct, &keys[0]);
	assert_int_equal(conntrack_speedtest_begin(ct, &keys[2]), 0);
	conntrack_remove(ct, &keys[1]);
	assert_int_equal(conntrack_add(ct, &keys[4], "a", 0), 0);
	assert_int_equal(conntrack_speedtest_begin(ct, &keys[4]), 0);
	assert_int_equal(conntrack_speedtest_begin(ct, &keys[0]), -EBUSY);
	conntrack_free(ct);
}

static void test_long_address(void **state)
{
	char addr[200];
	struct conntrack *ct = conntrack_new(4, 1, 1);

	(void)state;
	memset(addr, 'f', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	assert_int_equal(conntrack_add(ct, &keys[0], addr, 0), 0);
	/* Cut to CONNTRACK_ADDR_MAX - 1: the same address (and cap) as the first. */
	assert_int_equal(conntrack_add(ct, &keys[1], addr, 0), -EUSERS);
	conntrack_free(ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_speedtest),
		cmocka_unit_test(test_long_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
