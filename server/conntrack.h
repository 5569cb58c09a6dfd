/*
 * The connections of the server: a fixed table that caps them (in all and per client
 * address), holds each one's request deadline and counts its speed-test requests. Pure (no
 * I/O, no clock): the caller passes the key (the lws wsi), the address text and a monotonic
 * millisecond time.
 */
#ifndef SRVMON_SERVER_CONNTRACK_H
#define SRVMON_SERVER_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest address text kept (an IPv6 literal with scope fits). */
#define CONNTRACK_ADDR_MAX 64

struct conntrack;

/* max_total connections in all, max_per_addr from one address (1..max_total), and at most
 * max_speedtest speed-test requests at once from one address. NULL + errno (EINVAL, ENOMEM). */
struct conntrack *conntrack_new(size_t max_total, size_t max_per_addr, size_t max_speedtest);
void conntrack_free(struct conntrack *ct);

/*
 * Registers a new connection key from addr with a request deadline (0: none). 0; -EMFILE
 * when max_total are open; -EUSERS when addr has max_per_addr open (the connection is
 * then not registered: the caller closes it).
 */
int conntrack_add(struct conntrack *ct, const void *key, const char *addr, uint64_t deadline_ms);
/* Whether a connection from addr would be registered now: 0, -EMFILE or -EUSERS. */
int conntrack_admit(const struct conntrack *ct, const char *addr);
/* Forgets key (also its speed-test request); unknown keys are ignored. */
void conntrack_remove(struct conntrack *ct, const void *key);
/* Sets the deadline of key's current request (0: none). -ENOENT for an unknown key. */
int conntrack_set_deadline(struct conntrack *ct, const void *key, uint64_t deadline_ms);
/* Marks key as running a speed-test request (until conntrack_speedtest_end or removal).
 * 0, -EBUSY when its address already runs max_speedtest, -ENOENT. */
int conntrack_speedtest_begin(struct conntrack *ct, const void *key);
void conntrack_speedtest_end(struct conntrack *ct, const void *key);

/* Calls cb for each connection whose deadline has passed at now_ms, and clears that deadline
 * (each one is reported once). Returns the number reported. */
size_t conntrack_expire(struct conntrack *ct, uint64_t now_ms,
			void (*cb)(const void *key, const char *addr, void *arg), void *arg);
/* Open connections in all, and from addr. */
size_t conntrack_count(const struct conntrack *ct);
size_t conntrack_count_addr(const struct conntrack *ct, const char *addr);

#endif
