#include "netrate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct netrate {
	struct net_counters *prev;
	size_t n;
};

struct netrate *netrate_new(void)
{
	struct netrate *nr = calloc(1, sizeof(*nr));

	if (!nr)
		errno = ENOMEM;
	return nr;
}

void netrate_free(struct netrate *nr)
{
	if (!nr)
		return;
	free(nr->prev);
	free(nr);
}

static const struct net_counters *find_prev(const struct netrate *nr, const char *name)
{
	for (size_t i = 0; i < nr->n; i++) {
		if (strncmp(nr->prev[i].name, name, sizeof(nr->prev[i].name)) == 0)
			return &nr->prev[i];
	}
	return NULL;
}

static double bits_per_s(uint64_t delta_bytes, uint64_t interval_ms)
{
	return (double)delta_bytes * 8.0 * 1000.0 / (double)interval_ms;
}

int netrate_update(struct netrate *nr, const struct net_counters *cur, size_t n,
		   uint64_t interval_ms, struct netrate_result *ret)
{
	struct net_counters *next = NULL;

	if (n > 0) {
		next = malloc(n * sizeof(*next));
		if (!next)
			return -ENOMEM;
		memcpy(next, cur, n * sizeof(*next));
	}
	for (size_t i = 0; i < n; i++) {
		const struct net_counters *p = find_prev(nr, cur[i].name);

		memset(&ret[i], 0, sizeof(ret[i]));
		/* New interface or a counter going backwards (reset, re-created device,
		 * 32-bit wrap in a driver): no honest delta exists, start over. */
		if (!p || cur[i].rx_bytes < p->rx_bytes || cur[i].tx_bytes < p->tx_bytes ||
		    cur[i].rx_packets < p->rx_packets || cur[i].tx_packets < p->tx_packets) {
			ret[i].baseline = true;
			continue;
		}
		if (interval_ms == 0)
			continue;
		ret[i].rx_rate = bits_per_s(cur[i].rx_bytes - p->rx_bytes, interval_ms);
		ret[i].tx_rate = bits_per_s(cur[i].tx_bytes - p->tx_bytes, interval_ms);
	}
	free(nr->prev);
	nr->prev = next;
	nr->n = n;
	return 0;
}
