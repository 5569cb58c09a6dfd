#include "ratelimit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Buckets hold milli-requests so that refill is exact integer arithmetic. */
#define MILLI	   1000u
#define MAX_PROBES 8u

struct bucket {
	char addr[RATELIMIT_ADDR_MAX];
	uint64_t level; /* milli-requests available */
	uint64_t last_ms;
	bool used;
};

struct ratelimit {
	uint64_t capacity;	 /* burst * MILLI */
	uint64_t refill_per_min; /* milli-requests added per minute = per_minute * MILLI */
	size_t n;
	struct bucket *slots;
};

struct ratelimit *ratelimit_new(uint64_t burst, uint64_t per_minute, size_t slots)
{
	struct ratelimit *rl;

	if (burst == 0 || burst > 1000000 || per_minute == 0 || per_minute > 6000000 ||
	    slots == 0 || slots > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->slots = calloc(slots, sizeof(*rl->slots));
	if (!rl->slots) {
		free(rl);
		errno = ENOMEM;
		return NULL;
	}
	rl->capacity = burst * MILLI;
	rl->refill_per_min = per_minute * MILLI;
	rl->n = slots;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	free(rl);
}

/* FNV-1a over the address text. */
static uint64_t addr_hash(const char *addr)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *addr; addr++) {
		h ^= (unsigned char)*addr;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void refill(const struct ratelimit *rl, struct bucket *b, uint64_t now_ms)
{
	uint64_t elapsed = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
	uint64_t add;

	/* Past one full refill the bucket is full whatever the exact figure. */
	if (elapsed >= 60000u * (rl->capacity / rl->refill_per_min + 1))
		add = rl->capacity;
	else
		add = elapsed * rl->refill_per_min / 60000u;
	b->level = b->level + add > rl->capacity ? rl->capacity : b->level + add;
	/* Keep the remainder of a partial milli-request: advance only by what was added. */
	if (b->level == rl->capacity)
		b->last_ms = now_ms;
	else
		b->last_ms += add * 60000u / rl->refill_per_min;
}

/* The slot for addr: its own, else a free one, else a refilled (full) one, else the least
 * recently used among the probed slots. */
static struct bucket *find_slot(struct ratelimit *rl, const char *addr, uint64_t now_ms)
{
	size_t start = (size_t)(addr_hash(addr) % rl->n);
	size_t probes = rl->n < MAX_PROBES ? rl->n : MAX_PROBES;
	struct bucket *free_slot = NULL;
	struct bucket *victim = NULL;

	for (size_t i = 0; i < probes; i++) {
		struct bucket *b = &rl->slots[(start + i) % rl->n];

		if (!b->used) {
			if (!free_slot)
				free_slot = b;
			continue;
		}
		if (strcmp(b->addr, addr) == 0)
			return b;
		refill(rl, b, now_ms);
		if (!victim || (b->level == rl->capacity && victim->level != rl->capacity) ||
		    (victim->level != rl->capacity && b->last_ms < victim->last_ms))
			victim = b;
	}
	if (free_slot)
		victim = free_slot;
	memset(victim, 0, sizeof(*victim));
	victim->used = true;
	memcpy(victim->addr, addr, strlen(addr) + 1);
	victim->level = rl->capacity;
	victim->last_ms = now_ms;
	return victim;
}

/* Whether addr's bucket holds a whole request (taking it when take is set). */
static int check(struct ratelimit *rl, const char *addr, uint64_t now_ms,
		 uint64_t *ret_retry_after_s, bool take)
{
	char key[RATELIMIT_ADDR_MAX];
	size_t len = strnlen(addr, sizeof(key) - 1);
	struct bucket *b;
	uint64_t missing_ms;

	memcpy(key, addr, len);
	key[len] = '\0';
	b = find_slot(rl, key, now_ms);
	refill(rl, b, now_ms);
	if (b->level >= MILLI) {
		if (take)
			b->level -= MILLI;
		return 0;
	}
	/* Time until the bucket holds one whole request again, rounded up to seconds. */
	missing_ms = ((MILLI - b->level) * 60000u + rl->refill_per_min - 1) / rl->refill_per_min;
	*ret_retry_after_s = (missing_ms + 999) / 1000;
	if (*ret_retry_after_s == 0)
		*ret_retry_after_s = 1;
	return -EAGAIN;
}

int ratelimit_take(struct ratelimit *rl, const char *addr, uint64_t now_ms,
		   uint64_t *ret_retry_after_s)
{
	return check(rl, addr, now_ms, ret_retry_after_s, true);
}

int ratelimit_peek(struct ratelimit *rl, const char *addr, uint64_t now_ms,
		   uint64_t *ret_retry_after_s)
{
	return check(rl, addr, now_ms, ret_retry_after_s, false);
}
