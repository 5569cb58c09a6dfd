#include "hosts.h"

#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int hosts_check(struct db *db, struct hosts_cache *cache, const char *host_id, const char *account,
		uint64_t now_ms, bool *ret_owned, const char **ret_owner)
{
	int r;

	if (cache->host_id[0] == '\0' || strcmp(cache->host_id, host_id) != 0 ||
	    now_ms < cache->checked_ms || now_ms - cache->checked_ms >= HOSTS_RECHECK_MS) {
		cache->host_id[0] = '\0';
		if (strlen(host_id) >= sizeof(cache->host_id))
			return -EIO;
		r = store_host_claim(db, host_id, account, now_ms, cache->owner,
				     sizeof(cache->owner));
		if (r < 0)
			return -EIO;
		memcpy(cache->host_id, host_id, strlen(host_id) + 1);
		cache->checked_ms = now_ms;
	}
	*ret_owned = strcmp(cache->owner, account) == 0;
	if (ret_owner)
		*ret_owner = cache->owner;
	return 0;
}

void hosts_refusal_note(struct hosts_refusals *r, uint64_t seq)
{
	if (r->n == 0 || seq < r->min_seq)
		r->min_seq = seq;
	r->n++;
}

bool hosts_ack_cap(const struct hosts_refusals *r, uint64_t committed, uint64_t *ret)
{
	if (r->n == 0 || committed < r->min_seq) {
		*ret = committed;
		return true;
	}
	if (r->min_seq == 0)
		return false;
	*ret = r->min_seq - 1;
	return true;
}

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void out_clean(struct out *o, const char *s)
{
	for (size_t i = 0; s[i] && o->len + 1 < o->size; i++) {
		unsigned char c = (unsigned char)s[i];

		/* A tab would split the columns; the others could drive a terminal. */
		if (c < 0x20 || c == 0x7f)
			o->buf[o->len++] = '?';
		else
			o->buf[o->len++] = s[i];
	}
	o->buf[o->len] = '\0';
}

static void out_sep(struct out *o)
{
	if (o->len + 1 >= o->size)
		return;
	o->buf[o->len++] = '\t';
	o->buf[o->len] = '\0';
}

static void out_time(struct out *o, uint64_t ms)
{
	char t[32] = "-";
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	if (ms > 0 && gmtime_r(&s, &tm))
		(void)strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	out_clean(o, t);
}

void hosts_clean(const char *s, char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size, .len = 0};

	if (size == 0)
		return;
	buf[0] = '\0';
	out_clean(&o, s);
}

size_t hosts_format_row(const struct hosts_row *row, char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size, .len = 0};

	if (size == 0)
		return 0;
	buf[0] = '\0';
	out_clean(&o, row->host_id);
	out_sep(&o);
	out_clean(&o, row->account);
	out_sep(&o);
	out_time(&o, row->first_seen_ms);
	out_sep(&o);
	out_time(&o, row->last_seen_ms);
	return o.len;
}
