/* Peak rates over short windows: pure helpers over the in-kernel per-window byte counts. */
#ifndef SRVMON_PEAKRATE_H
#define SRVMON_PEAKRATE_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>

#include "srvmon_abi.h"

/* Windows of an interval: first .. first + n - 1. */
struct peak_range {
	uint64_t first;
	uint64_t n;
};

/*
 * The complete windows not yet harvested at monotonic time now_ns: from next_win (the
 * first window the previous harvest left open) up to the window before the current one,
 * and no further back than the ring holds (SRVMON_PEAK_SLOTS - 2 windows, keeping clear of
 * the slot being written). n is 0 when no window completed. Returns 0 or -EINVAL.
 */
int peakrate_range(uint64_t next_win, uint64_t now_ns, uint64_t window_ns, struct peak_range *ret);

/*
 * Adds the bytes of windows first .. first + n - 1 from ncpus per-CPU rings to rx[0..n)
 * and tx[0..n). A slot holding another window id than the one asked for adds nothing.
 */
void peakrate_add_windows(const struct srvmon_if_peaks *percpu, size_t ncpus, uint64_t first,
			  uint64_t n, uint64_t *rx, uint64_t *tx);

/* The highest of bytes[0..n) as bits/s over windows of window_ns; 0 when n is 0. */
double peakrate_max(const uint64_t *bytes, size_t n, uint64_t window_ns);

/* The window to use for an interval: peak_window_ms, widened so that one interval fits in
 * the ring (interval_ms / PEAKRATE_MAX_WINDOWS, rounded up). */
#define PEAKRATE_MAX_WINDOWS 120
uint64_t peakrate_effective_window_ms(uint64_t peak_window_ms, uint64_t interval_ms);

#endif
