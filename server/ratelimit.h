/* Token buckets per client address (POST /token): bounded memory, pure (no I/O, no clock). */
#ifndef SRVMON_SERVER_RATELIMIT_H
#define SRVMON_SERVER_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Longest address text kept (an IPv6 literal with scope fits). */
#define RATELIMIT_ADDR_MAX 64

struct ratelimit;

/*
 * burst: requests an address may make at once; per_minute: refill rate. slots: how many
 * addresses are tracked (a table of fixed size; when it is full, the entry whose bucket
 * has refilled, else the least recently used one, is reused). NULL + errno (EINVAL, ENOMEM).
 */
struct ratelimit *ratelimit_new(uint64_t burst, uint64_t per_minute, size_t slots);
void ratelimit_free(struct ratelimit *rl);

/*
 * Takes one request from addr's bucket at now_ms (any monotonic millisecond clock).
 * 0 when allowed; -EAGAIN when the bucket is empty, with *ret_retry_after_s the whole
 * seconds (at least 1) until a request would be allowed.
 */
int ratelimit_take(struct ratelimit *rl, const char *addr, uint64_t now_ms,
		   uint64_t *ret_retry_after_s);

/* The same answer as ratelimit_take() without taking anything: for limits charged only when
 * the request turns out to count (per-account failed logins). */
int ratelimit_peek(struct ratelimit *rl, const char *addr, uint64_t now_ms,
		   uint64_t *ret_retry_after_s);

#endif
