#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netrate.h"

/* cmocka 1.1 has no assert_double_equal */
#define assert_rate(got, want) assert_rate_at((got), (want), __FILE__, __LINE__)

static void assert_rate_at(double got, double want, const char *file, int line)
{
	double diff = got > want ? got - want : want - got;

	if (diff > 1e-6) {
		print_error("rate %.6f != %.6f\n", got, want);
		_fail(file, line);
	}
}

static struct net_counters ctr(const char *name, uint64_t rx, uint64_t tx)
{
	struct net_counters c = {0};

	strncpy(c.name, name, sizeof(c.name) - 1);
	c.rx_bytes = rx;
	c.tx_bytes = tx;
	c.rx_packets = rx / 100;
	c.tx_packets = tx / 100;
	return c;
}

static int setup(void **state)
{
	*state = netrate_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	netrate_free(*state);
	return 0;
}

static void test_first_is_baseline(void **state)
{
	struct net_counters c[2] = {ctr("eth0", 5000, 7000), ctr("eth1", 1, 2)};
	struct netrate_result r[2];

	assert_int_equal(netrate_update(*state, c, 2, 1000, r), 0);
	for (int i = 0; i < 2; i++) {
		assert_true(r[i].baseline);
		assert_true(r[i].rx_rate == 0.0);
		assert_true(r[i].tx_rate == 0.0);
	}
}

static void test_steady_rate(void **state)
{
	struct net_counters c = ctr("eth0", 1000, 2000);
	struct netrate_result r;

	assert_int_equal(netrate_update(*state, &c, 1, 0, &r), 0);
	c = ctr("eth0", 1000 + 125000, 2000 + 250000);
	assert_int_equal(netrate_update(*state, &c, 1, 1000, &r), 0);
	assert_false(r.baseline);
	assert_rate(r.rx_rate, 1e6);
	assert_rate(r.tx_rate, 2e6);
	/* same delta over half the time: twice the rate */
	c = ctr("eth0", 1000 + 250000, 2000 + 500000);
	assert_int_equal(netrate_update(*state, &c, 1, 500, &r), 0);
	assert_rate(r.rx_rate, 2e6);
	assert_rate(r.tx_rate, 4e6);
	/* no traffic */
	assert_int_equal(netrate_update(*state, &c, 1, 1000, &r), 0);
	assert_false(r.baseline);
	assert_true(r.rx_rate == 0.0);
}

static void test_reset_rebaselines(void **state)
{
	struct net_counters c = ctr("eth0", UINT64_MAX - 10, 900000);
	struct netrate_result r;

	assert_int_equal(netrate_update(*state, &c, 1, 0, &r), 0);
	/* 64-bit wrap or device reset: never a huge or negative rate */
	c = ctr("eth0", 5, 900100);
	assert_int_equal(netrate_update(*state, &c, 1, 1000, &r), 0);
	assert_true(r.baseline);
	assert_true(r.rx_rate == 0.0);
	assert_true(r.tx_rate == 0.0);
	/* counting resumes from the new baseline */
	c = ctr("eth0", 1005, 900200);
	assert_int_equal(netrate_update(*state, &c, 1, 1000, &r), 0);
	assert_false(r.baseline);
	assert_rate(r.rx_rate, 8000.0);
	assert_rate(r.tx_rate, 800.0);
}

static void test_appear_vanish(void **state)
{
	struct net_counters c[2] = {ctr("eth0", 0, 0), ctr("eth1", 0, 0)};
	struct netrate_result r[2];

	assert_int_equal(netrate_update(*state, c, 1, 0, r), 0);
	/* eth1 appears with counters already high: no rate for it yet */
	c[0] = ctr("eth0", 1000, 0);
	c[1] = ctr("eth1", 1000000, 1000000);
	assert_int_equal(netrate_update(*state, c, 2, 1000, r), 0);
	assert_false(r[0].baseline);
	assert_rate(r[0].rx_rate, 8000.0);
	assert_true(r[1].baseline);
	assert_true(r[1].rx_rate == 0.0);
	/* order does not matter: matched by name */
	c[0] = ctr("eth1", 1001000, 1000000);
	c[1] = ctr("eth0", 2000, 0);
	assert_int_equal(netrate_update(*state, c, 2, 1000, r), 0);
	assert_rate(r[0].rx_rate, 8000.0);
	assert_rate(r[1].rx_rate, 8000.0);
	/* eth1 vanishes ... */
	c[0] = ctr("eth0", 3000, 0);
	assert_int_equal(netrate_update(*state, c, 1, 1000, r), 0);
	assert_rate(r[0].rx_rate, 8000.0);
	/* ... and comes back (re-created): baseline again, not a delta to its old self */
	c[1] = ctr("eth1", 5000000, 5000000);
	assert_int_equal(netrate_update(*state, c, 2, 1000, r), 0);
	assert_true(r[1].baseline);
	assert_true(r[1].rx_rate == 0.0);
	/* everything vanishes */
	assert_int_equal(netrate_update(*state, c, 0, 1000, r), 0);
	assert_int_equal(netrate_update(*state, c, 1, 1000, r), 0);
	assert_true(r[0].baseline);
}

static void test_zero_interval(void **state)
{
	struct net_counters c = ctr("eth0", 0, 0);
	struct netrate_result r;

	assert_int_equal(netrate_update(*state, &c, 1, 0, &r), 0);
	c = ctr("eth0", 1000, 1000);
	assert_int_equal(netrate_update(*state, &c, 1, 0, &r), 0);
	assert_false(r.baseline);
	assert_true(r.rx_rate == 0.0);
	assert_true(r.tx_rate == 0.0);
	/* the zero-length interval still moved the baseline */
	c = ctr("eth0", 2000, 1000);
	assert_int_equal(netrate_update(*state, &c, 1, 1000, &r), 0);
	assert_rate(r.rx_rate, 8000.0);
	assert_true(r.tx_rate == 0.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_is_baseline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steady_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_rebaselines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appear_vanish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_interval, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
