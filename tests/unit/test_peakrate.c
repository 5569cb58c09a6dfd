/* The pure peak-window rules (user/modules/network/peakrate.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "peakrate.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_add_windows_and_max),
		cmocka_unit_test(test_effective_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
