#include "peakrate.h"

#include <errno.h>

_Static_assert((SRVMON_PEAK_SLOTS & (SRVMON_PEAK_SLOTS - 1)) == 0, "ring size a power of two");
_Static_assert(PEAKRATE_MAX_WINDOWS <= SRVMON_PEAK_SLOTS - 2, "an interval fits in the ring");

int peakrate_range(uint64_t next_win, uint64_t now_ns, uint64_t window_ns, struct peak_range *ret)
{
	uint64_t cur;
	uint64_t oldest;

	if (window_ns == 0)
		return -EINVAL;
	cur = now_ns / window_ns;
	/* The ring holds SLOTS windows, the current one included; one more may be taken
	 * over by a CPU whose clock read raced ours. */
	oldest = cur >= SRVMON_PEAK_SLOTS - 2 ? cur - (SRVMON_PEAK_SLOTS - 2) : 0;
	if (next_win < oldest)
		next_win = oldest;
	ret->first = next_win;
	ret->n = cur > next_win ? cur - next_win : 0;
	return 0;
}

void peakrate_add_windows(const struct srvmon_if_peaks *percpu, size_t ncpus, uint64_t first,
			  uint64_t n, uint64_t *rx, uint64_t *tx)
{
	if (n > SRVMON_PEAK_SLOTS)
		n = SRVMON_PEAK_SLOTS;
	for (size_t cpu = 0; cpu < ncpus; cpu++) {
		for (uint64_t i = 0; i < n; i++) {
			uint64_t win = first + i;
			const struct srvmon_peak_slot *s =
				&percpu[cpu].slot[win & (SRVMON_PEAK_SLOTS - 1)];

			if (s->win != win)
				continue;
			rx[i] += s->rx_bytes;
			tx[i] += s->tx_bytes;
		}
	}
}

double peakrate_max(const uint64_t *bytes, size_t n, uint64_t window_ns)
{
	uint64_t max = 0;

	if (window_ns == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (bytes[i] > max)
			max = bytes[i];
	}
	return (double)max * 8.0 * 1e9 / (double)window_ns;
}

uint64_t peakrate_effective_window_ms(uint64_t peak_window_ms, uint64_t interval_ms)
{
	uint64_t min = (interval_ms + PEAKRATE_MAX_WINDOWS - 1) / PEAKRATE_MAX_WINDOWS;

	return peak_window_ms > min ? peak_window_ms : min;
}
