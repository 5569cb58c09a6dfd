/* Pure parts of the speed test: the stop rule over rate windows, latency and jitter. */
#ifndef SRVMON_SPEEDTEST_RULE_H
#define SRVMON_SPEEDTEST_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPEEDTEST_WINDOW_MS	250  /* rate windows of the stop rule */
#define SPEEDTEST_STABLE_N	3    /* successive windows that must agree */
#define SPEEDTEST_STABLE_SPREAD 0.02 /* (max - min) / mean of those windows */
#define SPEEDTEST_MIN_MS	1000 /* no direction stops earlier on stability */
#define SPEEDTEST_MAX_WINDOWS	512

/* Cumulative bytes at the end of each window since the start of a direction. */
struct speedtest_windows {
	size_t n;
	uint64_t t_us[SPEEDTEST_MAX_WINDOWS + 1]; /* [0] = 0: the start */
	uint64_t bytes[SPEEDTEST_MAX_WINDOWS + 1];
};

/* Appends a window boundary. -ENOSPC when full. */
int speedtest_windows_add(struct speedtest_windows *w, uint64_t t_us, uint64_t bytes);

/*
 * Whether the last SPEEDTEST_STABLE_N windows agree within SPEEDTEST_STABLE_SPREAD, at
 * least SPEEDTEST_MIN_MS after the start; then *ret_rate is their rate in bits/s.
 */
bool speedtest_stable(const struct speedtest_windows *w, double *ret_rate);

/*
 * The rate of a direction that stopped without becoming stable (time or byte cap, or
 * the transfers ended): over the second half of its windows, leaving out the TCP ramp;
 * over all of it when fewer than two windows exist. end_t_us/end_bytes: the final count.
 */
double speedtest_fallback_rate(const struct speedtest_windows *w, uint64_t end_t_us,
			       uint64_t end_bytes);

/* Median round trip and jitter (mean absolute difference of successive samples), ms. */
int speedtest_latency(const double *rtt_ms, size_t n, double *ret_latency, double *ret_jitter);

#endif
