#include "connlimit.h"

#include <string.h>

#define MILLI 1000
/* Above this unit rate the milli-unit arithmetic could overflow: treated as unlimited. */
#define RATE_MAX ((uint64_t)1 << 40)

void connlimit_init(struct connlimit *l, uint64_t records_per_s, uint64_t bytes_per_s,
		    uint64_t burst_s, uint64_t now_ms)
{
	const uint64_t rates[2] = {records_per_s, bytes_per_s};

	memset(l, 0, sizeof(*l));
	if (burst_s == 0)
		burst_s = 1;
	if (burst_s > 3600)
		burst_s = 3600;
	for (int i = 0; i < 2; i++) {
		l->rate[i] = rates[i] > RATE_MAX ? 0 : rates[i];
		l->cap[i] = (int64_t)(l->rate[i] * burst_s) * MILLI;
		l->level[i] = l->cap[i];
	}
	l->last_ms = now_ms;
}

uint64_t connlimit_charge(struct connlimit *l, uint64_t records, uint64_t bytes, uint64_t now_ms)
{
	const uint64_t take[2] = {records, bytes};
	uint64_t dt = now_ms > l->last_ms ? now_ms - l->last_ms : 0;
	uint64_t wait = 0;

	/* An hour refills any bucket: no need to multiply more than that. */
	if (dt > 3600ull * 1000)
		dt = 3600ull * 1000;
	l->last_ms = now_ms > l->last_ms ? now_ms : l->last_ms;
	for (int i = 0; i < 2; i++) {
		uint64_t w;

		if (l->rate[i] == 0)
			continue;
		/* rate units/s = rate milli-units/ms */
		l->level[i] += (int64_t)(l->rate[i] * dt);
		if (l->level[i] > l->cap[i])
			l->level[i] = l->cap[i];
		/* A single charge is at most a message (1 MiB): clamp absurd values. */
		l->level[i] -= (int64_t)((take[i] > RATE_MAX ? RATE_MAX : take[i]) * MILLI);
		if (l->level[i] >= 0)
			continue;
		w = ((uint64_t)-l->level[i] + l->rate[i] - 1) / l->rate[i];
		if (w > wait)
			wait = w;
	}
	return wait;
}

uint64_t connlimit_try(struct connlimit *l, uint64_t records, uint64_t bytes, uint64_t now_ms)
{
	const uint64_t take[2] = {records, bytes};
	uint64_t wait = 0;

	/* Refill only, then see whether each dimension can pay without going into debt. */
	(void)connlimit_charge(l, 0, 0, now_ms);
	for (int i = 0; i < 2; i++) {
		int64_t need;
		uint64_t w;

		if (l->rate[i] == 0)
			continue;
		need = (int64_t)((take[i] > RATE_MAX ? RATE_MAX : take[i]) * MILLI);
		if (need > l->cap[i] || l->level[i] >= need)
			continue;
		w = ((uint64_t)(need - l->level[i]) + l->rate[i] - 1) / l->rate[i];
		if (w > wait)
			wait = w;
	}
	if (wait == 0)
		(void)connlimit_charge(l, records, bytes, now_ms);
	return wait;
}
