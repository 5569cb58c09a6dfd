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
#include <unistd.h>

#include "bpf/netcount.skel.h"
#include "bpf_loader.h"
#include "bpf_pin.h"
#include "bpf_log.h"
#include "log.h"
#include "peakrate.h"

struct bpf_netcount {
	struct bpf_loader_result fds; /* FD_*: maps and links, loaded by a child */
	int map_fd;
	int stats_fd;
	int peaks_fd; /* -1: peak tracking off */
	int ncpus;
	char *pin_dir;		       /* the maps are pinned there; NULL: not pinned */
	void *values;		       /* ncpus per-CPU values, for lookups */
	struct srvmon_if_peaks *peaks; /* ncpus of them, for peak lookups */
};

/* The descriptors the loader child hands back, in this order. */
enum { FD_COUNTERS, FD_STATS, FD_PEAKS, FD_LINK_RX, FD_LINK_TX, FD_COUNT };

/* The child's steps, by the index it reports. */
enum { STEP_OPEN, STEP_KNOBS, STEP_LOAD, STEP_ATTACH };
static const char *const step_names[] = {
	[STEP_OPEN] = "netcount__open",
	[STEP_KNOBS] = "set rodata/map sizes",
	[STEP_LOAD] = "netcount__load",
	[STEP_ATTACH] = "netcount__attach",
};

#define LOADED_PINNED	  1u /* result flag: the maps are pinned under opts->pin_dir */
#define LOADER_TIMEOUT_MS 60000

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
	/* Links first (detaches), then the maps. */
	for (int i = FD_COUNT - 1; i >= 0; i--) {
		if (nc->fds.fds[i] >= 0)
			close(nc->fds.fds[i]);
		nc->fds.fds[i] = -1;
	}
	if (nc->pin_dir)
		bpf_pin_remove_names(nc->pin_dir, pinned_maps);
	free(nc->pin_dir);
	free(nc);
}

struct load_args {
	const struct bpf_netcount_opts *opts;
	uint32_t entries;
};

/* In the loader child: open, size, pin, load and attach; the descriptors into *ret. */
static void load_child(void *arg, struct bpf_loader_result *ret)
{
	const struct load_args *a = arg;
	const struct bpf_netcount_opts *opts = a->opts;
	struct netcount *skel;
	int r;

	/* Open the object. */
	ret->step = STEP_OPEN;
	skel = netcount__open();
	if (!skel) {
		ret->r = -errno;
		return;
	}
	/* Knobs and map size from the caller. */
	ret->step = STEP_KNOBS;
	skel->rodata->netns_filter = opts ? opts->netns_ino : 0;
	skel->rodata->peak_window_ns = opts ? opts->peak_window_ns : 0;
	r = bpf_map__set_max_entries(skel->maps.if_counters, a->entries);
	if (r < 0)
		goto out;
	r = bpf_map__set_max_entries(skel->maps.if_peaks, opts && opts->peak_entries
								  ? opts->peak_entries
								  : BPF_NETCOUNT_DEFAULT_PEAKS);
	if (r < 0)
		goto out;
	/* Pins for bpftool; without them the agent still runs. */
	r = opts ? bpf_pin_maps(skel->obj, opts->pin_dir, pinned_maps) : 0;
	if (r < 0)
		log_warn_errno(r, "network: cannot pin the BPF maps under '%s', ignoring",
			       opts->pin_dir);
	else if (opts && opts->pin_dir && *opts->pin_dir)
		ret->flags |= LOADED_PINNED;
	/* Verify and load into the kernel. */
	ret->step = STEP_LOAD;
	r = netcount__load(skel);
	if (r < 0)
		goto out;
	/* Attach both tracepoints. */
	ret->step = STEP_ATTACH;
	r = netcount__attach(skel);
	if (r < 0)
		goto out;
	ret->fds[FD_COUNTERS] = bpf_map__fd(skel->maps.if_counters);
	ret->fds[FD_STATS] = bpf_map__fd(skel->maps.net_stats);
	ret->fds[FD_PEAKS] = bpf_map__fd(skel->maps.if_peaks);
	ret->fds[FD_LINK_RX] = bpf_link__fd(skel->links.netcount_rx);
	ret->fds[FD_LINK_TX] = bpf_link__fd(skel->links.netcount_tx);
	ret->n_fds = FD_COUNT;
out:
	/* The skeleton stays: the child exits after sending, the parent keeps the fds. */
	ret->r = r < 0 ? r : 0;
}

struct bpf_netcount *bpf_netcount_new(const struct bpf_netcount_opts *opts, const char **ret_step)
{
	struct load_args args = {
		.opts = opts,
		.entries = opts && opts->max_entries ? opts->max_entries
						     : BPF_NETCOUNT_DEFAULT_ENTRIES,
	};
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
	for (int i = 0; i < BPF_LOADER_MAX_FDS; i++)
		nc->fds.fds[i] = -1;
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
	/* Open, size, load and attach in a child: the kernel BTF it parses stays there. */
	step = "loader child";
	r = bpf_loader_run(load_child, &args, LOADER_TIMEOUT_MS, &nc->fds);
	if (r < 0)
		goto fail;
	if (nc->fds.flags & LOADED_PINNED) {
		nc->pin_dir = strdup(opts->pin_dir);
		if (!nc->pin_dir)
			log_warn("network: out of memory: the BPF map pins under '%s' stay on exit",
				 opts->pin_dir);
	}
	if (nc->fds.r < 0) {
		r = nc->fds.r;
		step = nc->fds.step < sizeof(step_names) / sizeof(step_names[0])
			       ? step_names[nc->fds.step]
			       : "loader child";
		goto fail;
	}
	step = "loader child";
	r = -EPROTO;
	if (nc->fds.n_fds != FD_COUNT || nc->fds.fds[FD_COUNTERS] < 0 ||
	    nc->fds.fds[FD_STATS] < 0 || nc->fds.fds[FD_PEAKS] < 0)
		goto fail;
	nc->map_fd = nc->fds.fds[FD_COUNTERS];
	nc->stats_fd = nc->fds.fds[FD_STATS];
	if (nc->peaks)
		nc->peaks_fd = nc->fds.fds[FD_PEAKS];
	log_debug("network: BPF counters attached (%u interface slots, netns %u)", args.entries,
		  opts ? opts->netns_ino : 0);
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
