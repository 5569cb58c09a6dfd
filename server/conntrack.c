#include "conntrack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct conn {
	const void *key; /* NULL: free slot */
	char addr[CONNTRACK_ADDR_MAX];
	uint64_t deadline_ms;
	bool speedtest;
};

struct conntrack {
	size_t max_total;
	size_t max_per_addr;
	size_t max_speedtest;
	size_t n; /* slots in use */
	struct conn *slots;
};

struct conntrack *conntrack_new(size_t max_total, size_t max_per_addr, size_t max_speedtest)
{
	struct conntrack *ct;

	if (max_total == 0 || max_total > 1000000 || max_per_addr == 0 ||
	    max_per_addr > max_total || max_speedtest == 0) {
		errno = EINVAL;
		return NULL;
	}
	ct = calloc(1, sizeof(*ct));
	if (!ct)
		return NULL;
	ct->slots = calloc(max_total, sizeof(*ct->slots));
	if (!ct->slots) {
		free(ct);
		errno = ENOMEM;
		return NULL;
	}
	ct->max_total = max_total;
	ct->max_per_addr = max_per_addr;
	ct->max_speedtest = max_speedtest;
	return ct;
}

void conntrack_free(struct conntrack *ct)
{
	if (!ct)
		return;
	free(ct->slots);
	free(ct);
}

static struct conn *find(const struct conntrack *ct, const void *key)
{
	for (size_t i = 0; i < ct->max_total; i++) {
		if (ct->slots[i].key == key)
			return &ct->slots[i];
	}
	return NULL;
}

size_t conntrack_count(const struct conntrack *ct)
{
	return ct->n;
}

size_t conntrack_count_addr(const struct conntrack *ct, const char *addr)
{
	size_t n = 0;

	for (size_t i = 0; i < ct->max_total; i++) {
		if (ct->slots[i].key &&
		    strncmp(ct->slots[i].addr, addr, CONNTRACK_ADDR_MAX - 1) == 0)
			n++;
	}
	return n;
}

int conntrack_admit(const struct conntrack *ct, const char *addr)
{
	if (ct->n >= ct->max_total)
		return -EMFILE;
	if (conntrack_count_addr(ct, addr) >= ct->max_per_addr)
		return -EUSERS;
	return 0;
}

int conntrack_add(struct conntrack *ct, const void *key, const char *addr, uint64_t deadline_ms)
{
	struct conn *c;
	size_t len = strnlen(addr, CONNTRACK_ADDR_MAX - 1);
	int r;

	if (!key)
		return -EINVAL;
	r = conntrack_admit(ct, addr);
	if (r < 0)
		return r;
	c = find(ct, NULL);
	if (!c)
		return -EMFILE;
	memset(c, 0, sizeof(*c));
	c->key = key;
	memcpy(c->addr, addr, len);
	c->addr[len] = '\0';
	c->deadline_ms = deadline_ms;
	ct->n++;
	return 0;
}

void conntrack_remove(struct conntrack *ct, const void *key)
{
	struct conn *c = key ? find(ct, key) : NULL;

	if (!c)
		return;
	memset(c, 0, sizeof(*c));
	ct->n--;
}

int conntrack_set_deadline(struct conntrack *ct, const void *key, uint64_t deadline_ms)
{
	struct conn *c = key ? find(ct, key) : NULL;

	if (!c)
		return -ENOENT;
	c->deadline_ms = deadline_ms;
	return 0;
}

int conntrack_speedtest_begin(struct conntrack *ct, const void *key)
{
	struct conn *c = key ? find(ct, key) : NULL;
	size_t n = 0;

	if (!c)
		return -ENOENT;
	if (c->speedtest)
		return 0;
	for (size_t i = 0; i < ct->max_total; i++) {
		if (ct->slots[i].key && ct->slots[i].speedtest &&
		    strcmp(ct->slots[i].addr, c->addr) == 0)
			n++;
	}
	if (n >= ct->max_speedtest)
		return -EBUSY;
	c->speedtest = true;
	return 0;
}

void conntrack_speedtest_end(struct conntrack *ct, const void *key)
{
	struct conn *c = key ? find(ct, key) : NULL;

	if (c)
		c->speedtest = false;
}

size_t conntrack_expire(struct conntrack *ct, uint64_t now_ms,
			void (*cb)(const void *key, const char *addr, void *arg), void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < ct->max_total; i++) {
		struct conn *c = &ct->slots[i];

		if (!c->key || !c->deadline_ms || c->deadline_ms > now_ms)
			continue;
		c->deadline_ms = 0;
		cb(c->key, c->addr, arg);
		n++;
	}
	return n;
}
