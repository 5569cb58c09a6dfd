/* Loader and reader of the in-kernel interface counters (bpf/netcount.bpf.c). */
#ifndef SRVMON_BPF_NETCOUNT_H
#define SRVMON_BPF_NETCOUNT_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>

#include "srvmon_abi.h"

#define BPF_NETCOUNT_DEFAULT_ENTRIES 1024
#define BPF_NETCOUNT_DEFAULT_PEAKS   256

struct bpf_netcount_opts {
	uint32_t max_entries;	 /* interface slots; 0: BPF_NETCOUNT_DEFAULT_ENTRIES */
	uint32_t netns_ino;	 /* count only this network namespace; 0: all of them */
	uint64_t peak_window_ns; /* per-window byte counts for peak rates; 0: off */
	uint32_t peak_entries;	 /* interfaces with peak slots; 0: BPF_NETCOUNT_DEFAULT_PEAKS */
	const char *pin_dir;	 /* pin the maps there for bpftool (user/lib/bpf_pin.h); NULL: no */
};

/* One interface's counters, summed over CPUs. */
struct bpf_netcount_entry {
	struct srvmon_if_key key;
	struct srvmon_if_counters c;
};

struct bpf_netcount;

/*
 * Opens, sizes, loads and attaches the counter program. On failure returns NULL, sets
 * errno and points *ret_step (if not NULL) at the name of the step that failed
 * ("netcount__open", "netcount__load", ...); the caller logs, knowing whether a
 * fallback follows. libbpf's own messages go to the debug log.
 */
struct bpf_netcount *bpf_netcount_new(const struct bpf_netcount_opts *opts, const char **ret_step);
/*
 * Reads every interface of network namespace netns_ino (0: all) into ret[0..cap).
 * Returns 0 or -errno; -ENOBUFS when more than cap matched (the first cap are stored).
 */
int bpf_netcount_read(struct bpf_netcount *nc, uint32_t netns_ino, struct bpf_netcount_entry *ret,
		      size_t cap, size_t *ret_n);
/* Forgets an interface (it was deleted). Returns 0 or -errno (-ENOENT if unknown). */
int bpf_netcount_forget(struct bpf_netcount *nc, const struct srvmon_if_key *key);
/* Sums the per-CPU net_stats diagnostic counters over the CPUs into *ret. 0 or -errno. */
int bpf_netcount_stats(struct bpf_netcount *nc, struct srvmon_net_stats *ret);
/*
 * Adds one interface's bytes per window, summed over CPUs, for windows first_win ..
 * first_win + n - 1 (n <= SRVMON_PEAK_SLOTS) to rx[0..n) and tx[0..n). An interface
 * without peak slots yet adds nothing. Returns 0 or -errno (-EINVAL: peaks off or n too big).
 */
int bpf_netcount_add_windows(struct bpf_netcount *nc, const struct srvmon_if_key *key,
			     uint64_t first_win, uint64_t n, uint64_t *rx, uint64_t *tx);
/* Forgets an interface's peak slots. Returns 0 or -errno. */
int bpf_netcount_forget_peaks(struct bpf_netcount *nc, const struct srvmon_if_key *key);
void bpf_netcount_free(struct bpf_netcount *nc);

/* The inode of the caller's network namespace, as the kernel's ns.inum. 0 or -errno. */
int bpf_netcount_self_netns(uint32_t *ret_ino);

#endif
