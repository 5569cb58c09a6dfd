#include "backoff.h"

void backoff_init(struct backoff *b, const struct backoff_policy *policy, uint64_t seed)
{
	b->policy = *policy;
	b->attempt = 0;
	b->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

uint64_t backoff_ceiling(const struct backoff_policy *policy, unsigned attempt)
{
	uint64_t c = policy->base_ms;

	for (unsigned i = 0; i < attempt && c < policy->cap_ms; i++)
		c = c > UINT64_MAX / 2 ? UINT64_MAX : c * 2;
	if (c > policy->cap_ms)
		c = policy->cap_ms;
	if (c < policy->floor_ms)
		c = policy->floor_ms;
	return c;
}

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

uint64_t backoff_next(struct backoff *b)
{
	uint64_t ceiling = backoff_ceiling(&b->policy, b->attempt);
	uint64_t span = ceiling - b->policy.floor_ms;
	uint64_t d = b->policy.floor_ms;

	if (span > 0)
		d += xorshift64(&b->rng) % (span + 1);
	if (b->attempt < 64)
		b->attempt++;
	return d;
}

void backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
