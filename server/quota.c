#include "quota.h"

#include "connlimit.h"
#include "grant.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS	     (86400ull * 1000)
#define QUOTA_PROBES 8

struct account_quota {
	char name[GRANT_MAX_USERNAME + 1]; /* "": free slot */
	struct connlimit records;
	uint64_t day; /* Unix days of bytes_today */
	uint64_t bytes_today;
	uint64_t last_mono_ms;
};

struct quota {
	uint64_t records_per_s;
	uint64_t bytes_per_day;
	struct account_quota *slots; /* QUOTA_ACCOUNTS */
};

struct quota *quota_new(uint64_t records_per_s, uint64_t bytes_per_day)
{
	struct quota *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->slots = calloc(QUOTA_ACCOUNTS, sizeof(*q->slots));
	if (!q->slots) {
		free(q);
		errno = ENOMEM;
		return NULL;
	}
	q->records_per_s = records_per_s;
	q->bytes_per_day = bytes_per_day;
	return q;
}

void quota_free(struct quota *q)
{
	if (!q)
		return;
	free(q->slots);
	free(q);
}

/* FNV-1a over the account name. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The account's slot among QUOTA_PROBES from its hash: its own, else a free one, else the
 * least recently charged one, which starts afresh. */
static struct account_quota *slot(struct quota *q, const char *account, uint64_t mono_ms)
{
	size_t start = (size_t)(name_hash(account) % QUOTA_ACCOUNTS);
	struct account_quota *victim = NULL;
	size_t len = strnlen(account, GRANT_MAX_USERNAME);

	for (size_t i = 0; i < QUOTA_PROBES; i++) {
		struct account_quota *a = &q->slots[(start + i) % QUOTA_ACCOUNTS];

		if (a->name[0] && strncmp(a->name, account, GRANT_MAX_USERNAME) == 0)
			return a;
		if (!victim ||
		    (victim->name[0] && (!a->name[0] || a->last_mono_ms < victim->last_mono_ms)))
			victim = a;
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->name, account, len);
	victim->name[len] = '\0';
	connlimit_init(&victim->records, q->records_per_s, 0, QUOTA_BURST_S, mono_ms);
	return victim;
}

int quota_charge(struct quota *q, const char *account, uint64_t bytes, uint64_t mono_ms,
		 uint64_t wall_ms, uint64_t *ret_retry_ms)
{
	struct account_quota *a = slot(q, account, mono_ms);
	uint64_t day = wall_ms / DAY_MS;
	uint64_t wait;

	a->last_mono_ms = mono_ms;
	if (a->day != day) {
		a->day = day;
		a->bytes_today = 0;
	}
	if (q->bytes_per_day && a->bytes_today + bytes > q->bytes_per_day) {
		*ret_retry_ms = (day + 1) * DAY_MS - wall_ms;
		return -EDQUOT;
	}
	wait = connlimit_try(&a->records, 1, 0, mono_ms);
	if (wait > 0) {
		*ret_retry_ms = wait;
		return -EAGAIN;
	}
	a->bytes_today += bytes;
	return 0;
}
