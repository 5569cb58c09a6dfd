/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The ABI between srvmon's BPF programs and user space: the only definition of
 * every key, value and record the two sides exchange. Included by the bpf/ programs
 * (after vmlinux.h) and by user/ (after <linux/types.h>). Fixed-size types,
 * explicit padding, sizes pinned below.
 */
#ifndef SRVMON_ABI_H
#define SRVMON_ABI_H

/* Key of the per-CPU interface counter map: interfaces are per network namespace. */
struct srvmon_if_key {
	__u32 ifindex;
	__u32 netns_ino; /* inode number of the device's network namespace */
};

/* Value of the per-CPU interface counter map; user space sums the CPUs. */
struct srvmon_if_counters {
	__u64 rx_bytes; /* link-layer bytes, as /sys/class/net/IF/statistics counts them */
	__u64 rx_packets;
	__u64 tx_bytes;
	__u64 tx_packets;
};

/* Indexes of the per-CPU loss/diagnostic counter array. */
#define SRVMON_NET_STAT_MAP_FULL 0 /* an interface could not be added: map full */
#define SRVMON_NET_STAT_MAX	 1

_Static_assert(sizeof(struct srvmon_if_key) == 8, "srvmon_if_key ABI");
_Static_assert(sizeof(struct srvmon_if_counters) == 32, "srvmon_if_counters ABI");

#endif /* SRVMON_ABI_H */
