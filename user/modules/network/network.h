/* network module: per-interface byte counters (in-kernel BPF, or /proc/net/dev) and rates. */
#ifndef SRVMON_NETWORK_H
#define SRVMON_NETWORK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

#define NET_MAX_IFACES 64

struct net_iface_sample {
	char name[IF_NAMESIZE];
	uint64_t rx_bytes; /* cumulative since the collector started */
	uint64_t tx_bytes;
	uint64_t rx_packets;
	uint64_t tx_packets;
	double rx_rate; /* bits/s over the interval */
	double tx_rate;
	double rx_peak_rate; /* bits/s, highest window of peak_window_ms in the interval */
	double tx_peak_rate;
	bool in_total; /* counted in upload_rate/download_rate */
};

struct net_sample {
	uint64_t ts_ms;	      /* Unix epoch ms at the end of the interval */
	uint64_t interval_ms; /* measured on CLOCK_MONOTONIC */
	double upload_rate;   /* bits/s, sum of tx_rate over in_total interfaces */
	double download_rate;
	/* Peaks of the in_total interfaces' summed traffic; valid when peak_window_ms > 0
	 * (the BPF collector), absent otherwise. */
	uint64_t peak_window_ms;
	double rx_peak_rate;
	double tx_peak_rate;
	size_t n_ifaces;
	struct net_iface_sample ifaces[NET_MAX_IFACES];
};

struct network_collector;

/* Loads the BPF counter program, or falls back to /proc/net/dev with one warning
 * (config network.collector = auto); takes the baseline. NULL + errno on failure. */
struct network_collector *network_new(const struct config *cfg);
/* Rates over the time since the previous call. Returns 0 or -errno. */
int network_sample(struct network_collector *nc, struct net_sample *ret);
/* "bpf" or "procfs". */
const char *network_collector_name(const struct network_collector *nc);
/*
 * Cumulative link-layer bytes of the interfaces counted in the totals, from the devices'
 * own counters (/proc/net/dev, either collector); safe to call from another thread than
 * network_sample()'s. Only differences of two calls mean anything (a device re-created
 * between them restarts its count). 0 or -errno.
 */
int network_host_bytes(struct network_collector *nc, uint64_t *ret_rx, uint64_t *ret_tx);
void network_free(struct network_collector *nc);

#endif
