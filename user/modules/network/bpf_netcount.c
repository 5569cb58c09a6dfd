#include "bpf_netcount.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bpf/netcount.skel.h"
#include "bpf_pin.h"
#include "bpf_log.h"
#include "log.h"
#include "peakrate.h"

struct bpf_netcount {
	struct netcount *skel;
	int map_fd;
	int stats_fd;
	int peaks_fd; /* -1: peak tracking off */
	int ncpus;
	void *values;		       /* ncpus per-CPU values, for lookups */
	struct srvmon_if_peaks *peaks; /* ncpus of them, for peak lookups */
};

int bpf_netcount_self_netns(uint32_t *ret_ino)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	*ret_ino = (uint32_t)st.st_ino;
	return 0;
}

/* The maps bpftool users want: per-interface counters and peaks, loss counters. */
static const char *const pinned_maps[] = {"if_counters", "if_peaks", "net_stats", NULL};

void bpf_netcount_free(struct bpf_netcount *nc)
{
	if (!nc)
		return;
	free(nc->values);
	free(nc->peaks);
	if (nc->skel)
		bpf_pin_remove(nc->skel->obj);
	netcount__destroy(nc->skel); /* detaches, then unloads */
	free(nc);
}

struct bpf_netcount *bpf_netcount_new(const struct bpf_netcount_opts *opts, const char **ret_step)
{
	uint32_t entries =
		opts && opts->max_entries ? opts->max_entries : BPF_NETCOUNT_DEFAULT_ENTRIES;
	const char *step = "calloc";
	struct bpf_netcount *nc;
	size_t value_size;
	int r;

	bpf_log_init();

	nc = calloc(1, sizeof(*nc));
	if (!nc) {
		r = -ENOMEM;
		goto fail;
	}
	nc->peaks_fd = -1;
	step = "libbpf_num_possible_cpus";
	nc->ncpus = libbpf_num_possible_cpus();
	if (nc->ncpus <= 0) {
		r = nc->ncpus < 0 ? nc->ncpus : -EINVAL;
		goto fail;
	}
	/* One buffer for both per-CPU lookups (values are 8-byte aligned; ours already are). */
	value_size = sizeof(struct srvmon_if_counters);
	if (value_size < sizeof(struct srvmon_net_stats))
		value_size = sizeof(struct srvmon_net_stats);
	step = "calloc";
	nc->values = calloc((size_t)nc->ncpus, value_size);
	if (!nc->values) {
		r = -ENOMEM;
		goto fail;
	}
	if (opts && opts->peak_window_ns) {
		nc->peaks = calloc((size_t)nc->ncpus, sizeof(*nc->peaks));
		if (!nc->peaks) {
			r = -ENOMEM;
			goto fail;
		}
	}

	/* Open the object. */
	step = "netcount__open";
	nc->skel = netcount__open();
	if (!nc->skel) {
		r = -errno;
		goto fail;
	}
	/* Knobs and map size from the caller. */
	step = "set rodata/map sizes";
	nc->skel->rodata->netns_filter = opts ? opts->netns_ino : 0;
	nc->skel->rodata->peak_window_ns = opts ? opts->peak_window_ns : 0;
	r = bpf_map__set_max_entries(nc->skel->maps.if_counters, entries);
	if (r < 0)
		goto fail;
	r = bpf_map__set_max_entries(nc->skel->maps.if_peaks, opts && opts->peak_entries
								      ? opts->peak_entries
								      : BPF_NETCOUNT_DEFAULT_PEAKS);
	if (r < 0)
		goto fail;
	/* Pins for bpftool; without them the agent still runs. */
	r = opts ? bpf_pin_maps(nc->skel->obj, opts->pin_dir, pinned_maps) : 0;
	if (r < 0)
		log_warn_errno(r, "network: cannot pin the BPF maps under '%s', ignoring",
			       opts->pin_dir);
	/* Verify and load into the kernel. */
	step = "netcount__load";
	r = netcount__load(nc->skel);
	if (r < 0)
		goto fail;
	/* Attach both tracepoints. */
	step = "netcount__attach";
	r = netcount__attach(nc->skel);
	if (r < 0)
		goto fail;

	nc->map_fd = bpf_map__fd(nc->skel->maps.if_counters);
	nc->stats_fd = bpf_map__fd(nc->skel->maps.net_stats);
	if (nc->peaks)
		nc->peaks_fd = bpf_map__fd(nc->skel->maps.if_peaks);
	log_debug("network: BPF counters attached (%u interface slots, netns %u)", entries,
		  nc->skel->rodata->netns_filter);
	return nc;

fail:
	if (r >= 0)
		r = -EINVAL;
	log_debug("network: BPF %s failed: %s", step, strerror(-r));
	if (ret_step)
		*ret_step = step;
	bpf_netcount_free(nc);
	errno = -r;
	return NULL;
}

static int sum_entry(struct bpf_netcount *nc, const struct srvmon_if_key *key,
		     struct srvmon_if_counters *v, struct srvmon_if_counters *ret)
{
	if (bpf_map_lookup_elem(nc->map_fd, key, v) < 0)
		return -errno;
	memset(ret, 0, sizeof(*ret));
	for (int cpu = 0; cpu < nc->ncpus; cpu++) {
		ret->rx_bytes += v[cpu].rx_bytes;
		ret->rx_packets += v[cpu].rx_packets;
		ret->tx_bytes += v[cpu].tx_bytes;
		ret->tx_packets += v[cpu].tx_packets;
	}
	return 0;
}

int bpf_netcount_read(struct bpf_netcount *nc, uint32_t netns_ino, struct bpf_netcount_entry *ret,
		      size_t cap, size_t *ret_n)
{
	struct srvmon_if_key key;
	struct srvmon_if_key next;
	const struct srvmon_if_key *prev = NULL;
	struct srvmon_if_counters *values;
	bool full = false;
	size_t n = 0;
	int r = 0;

	/* Its own buffer: the speed test reads totals from another thread. */
	values = calloc((size_t)nc->ncpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	for (;;) {

		if (bpf_map_get_next_key(nc->map_fd, prev, &next) < 0) {
			if (errno != ENOENT)
				r = -errno;
			break; /* else: end of map */
		}
		key = next;
		prev = &key;
		if (netns_ino && key.netns_ino != netns_ino)
			continue;
		if (n >= cap) {
			full = true;
			continue;
		}
		r = sum_entry(nc, &key, values, &ret[n].c);
		if (r == -ENOENT) {
			r = 0;
			continue; /* forgotten meanwhile */
		}
		if (r < 0)
			break;
		ret[n].key = key;
		n++;
	}
	free(values);
	if (r < 0)
		return r;
	*ret_n = n;
	return full ? -ENOBUFS : 0;
}

int bpf_netcount_forget(struct bpf_netcount *nc, const struct srvmon_if_key *key)
{
	if (bpf_map_delete_elem(nc->map_fd, key) < 0)
		return -errno;
	return 0;
}

int bpf_netcount_stats(struct bpf_netcount *nc, struct srvmon_net_stats *ret)
{
	const struct srvmon_net_stats *v = nc->values;
	struct srvmon_net_stats sum = {0};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(nc->stats_fd, &zero, nc->values) < 0)
		return -errno;
	for (int cpu = 0; cpu < nc->ncpus; cpu++) {
		sum.if_map_full += v[cpu].if_map_full;
		sum.peak_map_full += v[cpu].peak_map_full;
	}
	*ret = sum;
	return 0;
}

int bpf_netcount_add_windows(struct bpf_netcount *nc, const struct srvmon_if_key *key,
			     uint64_t first_win, uint64_t n, uint64_t *rx, uint64_t *tx)
{
	if (nc->peaks_fd < 0 || n > SRVMON_PEAK_SLOTS)
		return -EINVAL;
	if (bpf_map_lookup_elem(nc->peaks_fd, key, nc->peaks) < 0)
		return errno == ENOENT ? 0 : -errno;
	peakrate_add_windows(nc->peaks, (size_t)nc->ncpus, first_win, n, rx, tx);
	return 0;
}

int bpf_netcount_forget_peaks(struct bpf_netcount *nc, const struct srvmon_if_key *key)
{
	if (nc->peaks_fd < 0)
		return 0;
	if (bpf_map_delete_elem(nc->peaks_fd, key) < 0)
		return -errno;
	return 0;
}
