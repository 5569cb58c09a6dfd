#include "speedtest_rule.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int speedtest_windows_add(struct speedtest_windows *w, uint64_t t_us, uint64_t bytes)
{
	if (w->n >= SPEEDTEST_MAX_WINDOWS)
		return -ENOSPC;
	w->n++;
	w->t_us[w->n] = t_us;
	w->bytes[w->n] = bytes;
	return 0;
}

static double rate_between(const struct speedtest_windows *w, size_t a, size_t b)
{
	uint64_t dt = w->t_us[b] - w->t_us[a];

	if (dt == 0)
		return 0;
	return (double)(w->bytes[b] - w->bytes[a]) * 8e6 / (double)dt;
}

bool speedtest_stable(const struct speedtest_windows *w, double *ret_rate)
{
	double min = INFINITY, max = 0, sum = 0;

	if (w->n < SPEEDTEST_STABLE_N || w->t_us[w->n] < SPEEDTEST_MIN_MS * 1000ull)
		return false;
	for (size_t i = w->n - SPEEDTEST_STABLE_N + 1; i <= w->n; i++) {
		double r = rate_between(w, i - 1, i);

		min = r < min ? r : min;
		max = r > max ? r : max;
		sum += r;
	}
	if (max <= 0 || max - min > SPEEDTEST_STABLE_SPREAD * sum / SPEEDTEST_STABLE_N)
		return false;
	*ret_rate = rate_between(w, w->n - SPEEDTEST_STABLE_N, w->n);
	return true;
}

double speedtest_fallback_rate(const struct speedtest_windows *w, uint64_t end_t_us,
			       uint64_t end_bytes)
{
	size_t from = w->n >= 2 ? w->n / 2 : 0;
	uint64_t dt;

	if (end_t_us <= w->t_us[from] || end_bytes < w->bytes[from])
		from = 0;
	dt = end_t_us - w->t_us[from];
	if (dt == 0)
		return 0;
	return (double)(end_bytes - w->bytes[from]) * 8e6 / (double)dt;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int speedtest_latency(const double *rtt_ms, size_t n, double *ret_latency, double *ret_jitter)
{
	double sorted[64];
	double jit = 0;

	if (n == 0 || n > 64)
		return -EINVAL;
	memcpy(sorted, rtt_ms, n * sizeof(*rtt_ms));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	*ret_latency = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	for (size_t i = 1; i < n; i++)
		jit += fabs(rtt_ms[i] - rtt_ms[i - 1]);
	*ret_jitter = n > 1 ? jit / (double)(n - 1) : 0;
	return 0;
}
