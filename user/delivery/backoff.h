/* Reconnect/retry delays: exponential with full jitter, capped. */
#ifndef SRVMON_BACKOFF_H
#define SRVMON_BACKOFF_H

#include <stdint.h>

/* The retry policy, as data (see docs/design.md). */
struct backoff_policy {
	uint64_t base_ms;  /* ceiling of the first delay */
	uint64_t floor_ms; /* no delay is shorter: never a busy loop */
	uint64_t cap_ms;   /* no ceiling is higher (config server.reconnect_max) */
};

struct backoff {
	struct backoff_policy policy;
	unsigned attempt;
	uint64_t rng; /* xorshift64 state, never 0 */
};

void backoff_init(struct backoff *b, const struct backoff_policy *policy, uint64_t seed);
/* min(cap, base * 2^attempt), at least floor. */
uint64_t backoff_ceiling(const struct backoff_policy *policy, unsigned attempt);
/* The next delay, uniform in [floor, ceiling(attempt)]; then attempt++. */
uint64_t backoff_next(struct backoff *b);
/* After a success: the next failure starts from the base again. */
void backoff_reset(struct backoff *b);

#endif
