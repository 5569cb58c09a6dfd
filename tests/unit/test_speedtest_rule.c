/* The speed test's pure rules (user/modules/speedtest/speedtest_rule.c): when a transfer is
 * stable, the fallback rate, latency and jitter. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "speedtest_rule.h"

static void add_rate(struct speedtest_windows *w, double bps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t t = w->t_us[w->n] + SPEEDTEST_WINDOW_MS * 1000u;
		uint64_t b = w->bytes[w->n] + (uint64_t)(bps / 8 * SPEEDTEST_WINDOW_MS / 1000);

		assert_int_equal(speedtest_windows_add(w, t, b), 0);
	}
}

static void test_stop_rule(void **state)
{
	static struct speedtest_windows w;
	double rate = 0;

	(void)state;
	memset(&w, 0, sizeof(w));
	/* Stable from the start, but never before 1 s. */
	add_rate(&w, 50e6, 3);
	assert_false(speedtest_stable(&w, &rate));
	add_rate(&w, 50e6, 1);
	assert_true(speedtest_stable(&w, &rate));
	assert_true(rate > 49.9e6 && rate < 50.1e6);

	/* A ramp: not stable until three windows agree within 2 %. */
	memset(&w, 0, sizeof(w));
	add_rate(&w, 10e6, 1);
	add_rate(&w, 30e6, 1);
	add_rate(&w, 45e6, 1);
	add_rate(&w, 50e6, 1);
	assert_false(speedtest_stable(&w, &rate));
	add_rate(&w, 50.5e6, 1);
	assert_false(speedtest_stable(&w, &rate));
	add_rate(&w, 50e6, 1);
	assert_true(speedtest_stable(&w, &rate));
	/* 3 % apart: not stable. */
	add_rate(&w, 51.6e6, 1);
	assert_false(speedtest_stable(&w, &rate));

	/* Fallback over the second half: the ramp is left out. */
	memset(&w, 0, sizeof(w));
	add_rate(&w, 10e6, 2);
	add_rate(&w, 40e6, 2);
	rate = speedtest_fallback_rate(&w, w.t_us[w.n], w.bytes[w.n]);
	assert_true(rate > 39.9e6 && rate < 40.1e6);
	/* Fewer than two windows: from the start. */
	memset(&w, 0, sizeof(w));
	rate = speedtest_fallback_rate(&w, 500000, 1000000);
	assert_true(rate > 15.9e6 && rate < 16.1e6);
	assert_true(speedtest_fallback_rate(&w, 0, 0) == 0);
}

static void test_latency(void **state)
{
	const double rtt[] = {10, 12, 11, 30, 10};
	double lat, jit;

	(void)state;
	assert_int_equal(speedtest_latency(rtt, 5, &lat, &jit), 0);
	assert_true(lat == 11);
	/* |2| + |1| + |19| + |20| over 4 */
	assert_true(jit == 10.5);
	assert_int_equal(speedtest_latency(rtt, 0, &lat, &jit), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_rule),
		cmocka_unit_test(test_latency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
