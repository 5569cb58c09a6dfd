/* Unit tests of the pure peak-window and speed-test rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "peakrate.h"
#include "speedtest_module.h"
#include "speedtest_rule.h"

static void test_range(void **state)
{
	struct peak_range r;

	(void)state;
	assert_int_equal(peakrate_range(0, 1, 0, &r), -EINVAL);
	/* 100 ms windows, now in window 25: windows 10..24 are complete. */
	assert_int_equal(peakrate_range(10, 2550000000ull, 100000000ull, &r), 0);
	assert_int_equal(r.first, 10);
	assert_int_equal(r.n, 15);
	/* Nothing completed yet. */
	assert_int_equal(peakrate_range(25, 2550000000ull, 100000000ull, &r), 0);
	assert_int_equal(r.n, 0);
	/* Older than the ring: clipped. */
	assert_int_equal(peakrate_range(0, 1000ull * 100000000ull, 100000000ull, &r), 0);
	assert_int_equal(r.first, 1000 - (SRVMON_PEAK_SLOTS - 2));
	assert_int_equal(r.n, SRVMON_PEAK_SLOTS - 2);
}

static void test_add_windows_and_max(void **state)
{
	struct srvmon_if_peaks *cpu = calloc(2, sizeof(*cpu));
	uint64_t rx[4] = {0}, tx[4] = {0};

	(void)state;
	assert_non_null(cpu);
	/* Window 200 on both CPUs, 201 on CPU 1 only, and a stale slot for 202. */
	cpu[0].slot[200 % SRVMON_PEAK_SLOTS] = (struct srvmon_peak_slot){200, 1000, 10};
	cpu[1].slot[200 % SRVMON_PEAK_SLOTS] = (struct srvmon_peak_slot){200, 500, 5};
	cpu[1].slot[201 % SRVMON_PEAK_SLOTS] = (struct srvmon_peak_slot){201, 3000, 0};
	cpu[0].slot[202 % SRVMON_PEAK_SLOTS] =
		(struct srvmon_peak_slot){202 - SRVMON_PEAK_SLOTS, 9999, 9999};
	peakrate_add_windows(cpu, 2, 200, 4, rx, tx);
	assert_int_equal(rx[0], 1500);
	assert_int_equal(tx[0], 15);
	assert_int_equal(rx[1], 3000);
	assert_int_equal(rx[2], 0);
	assert_int_equal(tx[2], 0);
	/* 3000 bytes in 100 ms = 240 kbit/s */
	assert_true(peakrate_max(rx, 4, 100000000ull) == 240000.0);
	assert_true(peakrate_max(rx, 0, 100000000ull) == 0);
	assert_true(peakrate_max(rx, 4, 0) == 0);
	free(cpu);
}

static void test_effective_window(void **state)
{
	(void)state;
	assert_int_equal(peakrate_effective_window_ms(100, 1000), 100);
	assert_int_equal(peakrate_effective_window_ms(100, 10000), 100);
	assert_int_equal(peakrate_effective_window_ms(100, 60000), 500);
	assert_int_equal(peakrate_effective_window_ms(10, 1001), 10);
}

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
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_add_windows_and_max),
		cmocka_unit_test(test_effective_window),
		cmocka_unit_test(test_stop_rule),
		cmocka_unit_test(test_latency),
		cmocka_unit_test(test_next_delay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
