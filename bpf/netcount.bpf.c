// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-interface link-layer byte and packet counters, kept in the kernel.
 *
 * rx: tp_btf/netif_receive_skb fires once per skb at the top of
 *     __netif_receive_skb_core(), before bond/VLAN rx handlers re-run the loop
 *     ("another_round"), so a packet is counted once, on the device it arrived on.
 * tx: tp_btf/net_dev_xmit fires after each ndo_start_xmit(), so a packet is counted
 *     once per device it is handed to (bond and slave, VLAN and lower device), like
 *     each device's own statistics.
 * No kprobes or trampolines: this kernel refuses them.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "srvmon_abi.h"

#define EEXIST 17
/* skb->mac_header when no MAC header was set (skb_mac_header_was_set()). */
#define MAC_HEADER_UNSET ((__u16)~0U)
/* Larger "MAC headers" are not headers: ignore them rather than inflate a count. */
#define MAC_HEADER_MAX 256

/* 0: count every network namespace; otherwise only this netns inode. */
const volatile __u32 netns_filter = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024); /* resized by the loader */
	__type(key, struct srvmon_if_key);
	__type(value, struct srvmon_if_counters);
} if_counters SEC(".maps");

/* Window of the peak buckets in ns; 0: peak tracking off. */
const volatile __u64 peak_window_ns = 0;

/* Per-window byte counts for the peak rates; allocated on an interface's first packet. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 256); /* resized by the loader */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct srvmon_if_key);
	__type(value, struct srvmon_if_peaks);
} if_peaks SEC(".maps");

/* One entry (key 0) of named counters: bpftool prints the field names from the BTF. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct srvmon_net_stats);
} net_stats SEC(".maps");

static const struct srvmon_if_peaks zero_peaks;

static __always_inline struct srvmon_net_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&net_stats, &zero);
}

/* Bumps one named counter of struct srvmon_net_stats on this CPU (no atomics needed). */
#define stat_inc(field)                                                                            \
	do {                                                                                       \
		struct srvmon_net_stats *s__ = stats_get();                                        \
		if (s__)                                                                           \
			s__->field += 1;                                                           \
	} while (0)

/* Adds to the current window's slot on this CPU; a stale slot is taken over. */
static __always_inline void peak_add(const struct srvmon_if_key *key, __u64 rx, __u64 tx)
{
	struct srvmon_peak_slot *s;
	struct srvmon_if_peaks *p;
	__u64 win;

	if (!peak_window_ns)
		return;
	p = bpf_map_lookup_elem(&if_peaks, key);
	if (!p) {
		/* Zeroed value: a static one, 3 KiB does not fit the BPF stack. */
		long err = bpf_map_update_elem(&if_peaks, key, &zero_peaks, BPF_NOEXIST);

		if (err && err != -EEXIST) {
			stat_inc(peak_map_full);
			return;
		}
		p = bpf_map_lookup_elem(&if_peaks, key);
		if (!p)
			return;
	}
	/* An rx softirq interrupting a tx on this CPU at a window change can lose one
	 * packet from one window's count; the cumulative counters are unaffected. */
	win = bpf_ktime_get_ns() / peak_window_ns;
	s = &p->slot[win & (SRVMON_PEAK_SLOTS - 1)];
	if (s->win != win) {
		s->win = win;
		s->rx_bytes = 0;
		s->tx_bytes = 0;
	}
	s->rx_bytes += rx;
	s->tx_bytes += tx;
}

/* The device's counter slot on this CPU, created on first use. */
static __always_inline struct srvmon_if_counters *counters_of(struct net_device *dev,
							      struct srvmon_if_key *key)
{
	struct srvmon_if_counters zero = {};
	struct srvmon_if_counters *c;
	long err;

	if (!dev)
		return NULL;
	key->ifindex = BPF_CORE_READ(dev, ifindex);
	key->netns_ino = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	if (netns_filter && key->netns_ino != netns_filter)
		return NULL;

	c = bpf_map_lookup_elem(&if_counters, key);
	if (c)
		return c;
	err = bpf_map_update_elem(&if_counters, key, &zero, BPF_NOEXIST);
	/* -EEXIST: another CPU created it first, which is fine. */
	if (err && err != -EEXIST) {
		stat_inc(if_map_full);
		return NULL;
	}
	return bpf_map_lookup_elem(&if_counters, key);
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(netcount_rx, struct sk_buff *skb)
{
	struct srvmon_if_key key = {};
	struct srvmon_if_counters *c;
	__u64 len = BPF_CORE_READ(skb, len);
	__u16 mac = BPF_CORE_READ(skb, mac_header);

	/* eth_type_trans() has pulled the MAC header; the device counted it. */
	if (mac != MAC_HEADER_UNSET) {
		__s64 pulled = (__s64)(unsigned long)BPF_CORE_READ(skb, data) -
			       (__s64)(unsigned long)BPF_CORE_READ(skb, head) - mac;

		if (pulled > 0 && pulled <= MAC_HEADER_MAX)
			len += pulled;
	}
	c = counters_of(BPF_CORE_READ(skb, dev), &key);
	if (!c)
		return 0;
	/* Per-CPU slot, and rx never nests inside rx on one CPU: plain adds suffice. */
	c->rx_bytes += len;
	c->rx_packets += 1;
	peak_add(&key, len, 0);
	return 0;
}

SEC("tp_btf/net_dev_xmit")
int BPF_PROG(netcount_tx, struct sk_buff *skb, int rc, struct net_device *dev, unsigned int skb_len)
{
	struct srvmon_if_key key = {};
	struct srvmon_if_counters *c;

	/* skb may already be freed here; only rc, dev and skb_len are safe to use. */
	if (rc != NETDEV_TX_OK)
		return 0;
	c = counters_of(dev, &key);
	if (!c)
		return 0;
	c->tx_bytes += skb_len;
	c->tx_packets += 1;
	peak_add(&key, 0, skb_len);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
