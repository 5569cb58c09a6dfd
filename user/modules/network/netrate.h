/* Pure rate computation over cumulative per-interface counters. */
#ifndef SRVMON_NETRATE_H
#define SRVMON_NETRATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Cumulative counters of one interface, as a collector read them. */
struct net_counters {
	char name[IF_NAMESIZE];
	uint64_t rx_bytes;
	uint64_t rx_packets;
	uint64_t tx_bytes;
	uint64_t tx_packets;
};

struct netrate_result {
	double rx_rate; /* bits/s */
	double tx_rate;
	/* true when this interval only (re)took the baseline: the interface is new, or a
	 * counter went backwards (reset, device re-created). Rates are 0 then. */
	bool baseline;
};

/* The previous counters, per interface name. */
struct netrate;

/* NULL + errno (ENOMEM). */
struct netrate *netrate_new(void);
/*
 * Rates of cur[0..n) over interval_ms against the previous call, into ret[0..n).
 * rate = delta bytes * 8 * 1000 / interval_ms. An interface seen for the first time,
 * or whose rx or tx counters went backwards, gets rate 0 and is re-baselined; one
 * missing from cur is forgotten. interval_ms == 0 gives rate 0 everywhere (and still
 * stores cur as the new baseline). Returns 0 or -ENOMEM (state unchanged then).
 */
int netrate_update(struct netrate *nr, const struct net_counters *cur, size_t n,
		   uint64_t interval_ms, struct netrate_result *ret);
void netrate_free(struct netrate *nr);

#endif
