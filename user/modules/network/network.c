#include "network.h"

#include <errno.h>
#include <fnmatch.h>
#include <linux/types.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpf_netcount.h"
#include "config.h"
#include "defroute.h"
#include "log.h"
#include "monoclock.h"
#include "netrate.h"
#include "peakrate.h"
#include "procnetdev.h"

/* Interfaces looked at per sample; NET_MAX_IFACES of them are reported. */
#define NET_GATHER_MAX 1024

struct pattern_list {
	char **items;
	size_t n;
};

struct network_collector {
	struct bpf_netcount *bpf; /* NULL: /proc/net/dev */
	uint32_t netns_ino;
	struct pattern_list include;
	struct pattern_list exclude;
	struct netrate *rate;
	struct net_counters *cur;	    /* NET_GATHER_MAX */
	struct netrate_result *res;	    /* NET_GATHER_MAX */
	struct bpf_netcount_entry *entries; /* NET_GATHER_MAX, BPF only */
	struct srvmon_if_key *keys;	    /* NET_GATHER_MAX, BPF only: key of cur[i] */
	uint64_t peak_window_ns;	    /* 0: no peaks (procfs) */
	uint64_t next_win;		    /* first window not yet harvested */
	uint64_t *win_rx;		    /* SRVMON_PEAK_SLOTS: one interface's windows */
	uint64_t *win_tx;
	uint64_t *sum_rx; /* SRVMON_PEAK_SLOTS: the in_total interfaces' windows */
	uint64_t *sum_tx;
	bool warned_peaks;
	struct net_counters *base;	/* NET_GATHER_MAX: first sight */
	struct net_counters *next_base; /* NET_GATHER_MAX: being built */
	size_t n_base;
	uint64_t last_mono_ms;
	int last_err; /* of the previous sample, to log a failure once */
	bool warned_truncated;
	bool warned_routes;
};

static void patterns_free(struct pattern_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static int patterns_copy(struct pattern_list *dst, const struct strlist *src)
{
	if (src->n == 0)
		return 0;
	dst->items = calloc(src->n, sizeof(*dst->items));
	if (!dst->items)
		return -ENOMEM;
	for (size_t i = 0; i < src->n; i++) {
		dst->items[i] = strdup(src->items[i] ? src->items[i] : "");
		if (!dst->items[i])
			return -ENOMEM;
		dst->n++;
	}
	return 0;
}

/* Names or shell globs ("veth*"). */
static bool patterns_match(const struct pattern_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++) {
		if (fnmatch(l->items[i], name, 0) == 0)
			return true;
	}
	return false;
}

static const struct net_counters *find_base(const struct network_collector *nc, const char *name)
{
	for (size_t i = 0; i < nc->n_base; i++) {
		if (strcmp(nc->base[i].name, name) == 0)
			return &nc->base[i];
	}
	return NULL;
}

/* /proc/net/dev counts since the device was created: report since first sight. */
static int gather_procfs(struct network_collector *nc, size_t *ret_n)
{
	struct net_counters *tmp;
	size_t n = 0;
	int r;

	r = procnetdev_read(PROCNETDEV_PATH, nc->cur, NET_GATHER_MAX, &n);
	if (r < 0 && r != -ENOBUFS)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct net_counters *c = &nc->cur[i];
		const struct net_counters *b = find_base(nc, c->name);
		struct net_counters *nb = &nc->next_base[i];

		if (!b) {
			*nb = *c; /* new: count from now on */
		} else if (c->rx_bytes < b->rx_bytes || c->tx_bytes < b->tx_bytes ||
			   c->rx_packets < b->rx_packets || c->tx_packets < b->tx_packets) {
			/* re-created: all of its counts are after our start */
			memset(nb, 0, sizeof(*nb));
			memcpy(nb->name, c->name, sizeof(nb->name));
		} else {
			*nb = *b;
		}
		c->rx_bytes -= nb->rx_bytes;
		c->rx_packets -= nb->rx_packets;
		c->tx_bytes -= nb->tx_bytes;
		c->tx_packets -= nb->tx_packets;
	}
	/* Forget vanished interfaces: keep only this read's baselines. */
	tmp = nc->base;
	nc->base = nc->next_base;
	nc->next_base = tmp;
	nc->n_base = n;
	*ret_n = n;
	return r;
}

/*
 * BPF mode: the totals are the devices' own counters, as in procfs mode, because a tracing
 * program is not guaranteed to run for every event (docs/network.md, "Why the totals are the
 * device's"); the BPF map supplies the keys of the peak windows. Slots of deleted interfaces
 * are freed so that the maps do not fill up.
 */
static int gather_bpf(struct network_collector *nc, size_t *ret_n)
{
	struct if_nameindex *ifs = NULL;
	size_t n_entries = 0;
	size_t n = 0;
	int rp, r;

	rp = gather_procfs(nc, &n);
	if (rp < 0 && rp != -ENOBUFS)
		return rp;
	ifs = if_nameindex();
	if (!ifs)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		nc->keys[i] = (struct srvmon_if_key){.ifindex = 0, .netns_ino = nc->netns_ino};
		for (struct if_nameindex *it = ifs; it->if_index != 0; it++) {
			if (strcmp(it->if_name, nc->cur[i].name) == 0) {
				nc->keys[i].ifindex = it->if_index;
				break;
			}
		}
	}
	if_freenameindex(ifs);
	r = bpf_netcount_read(nc->bpf, nc->netns_ino, nc->entries, NET_GATHER_MAX, &n_entries);
	if (r < 0 && r != -ENOBUFS)
		return r;
	for (size_t e = 0; e < n_entries && r == 0 && rp == 0; e++) {
		bool alive = false;

		for (size_t i = 0; i < n && !alive; i++)
			alive = nc->keys[i].ifindex == nc->entries[e].key.ifindex;
		if (!alive) {
			bpf_netcount_forget(nc->bpf, &nc->entries[e].key);
			bpf_netcount_forget_peaks(nc->bpf, &nc->entries[e].key);
		}
	}
	*ret_n = n;
	return rp < 0 ? rp : r;
}

static int gather(struct network_collector *nc, size_t *ret_n)
{
	int r = nc->bpf ? gather_bpf(nc, ret_n) : gather_procfs(nc, ret_n);

	if (r == -ENOBUFS) {
		if (!nc->warned_truncated)
			log_warn("network: more than %d interfaces, ignoring the rest",
				 NET_GATHER_MAX);
		nc->warned_truncated = true;
		r = 0;
	}
	return r;
}

/* Whether a (not excluded) interface counts in upload/download. */
static bool in_total(const struct network_collector *nc, const struct defroute_set *routes,
		     const char *name)
{
	if (nc->include.n > 0)
		return patterns_match(&nc->include, name);
	if (routes->n > 0)
		return defroute_contains(routes, name);
	return strcmp(name, "lo") != 0;
}

/*
 * Interface i's peaks over the windows of range r into *ret_rx and *ret_tx; its windows are
 * added to the sum of the in_total interfaces when total. A read failure leaves 0 (the
 * cumulative figures are unaffected) and is logged once.
 */
static void iface_peaks(struct network_collector *nc, size_t i, const struct peak_range *r,
			bool total, double *ret_rx, double *ret_tx)
{
	int err;

	*ret_rx = 0;
	*ret_tx = 0;
	if (!nc->peak_window_ns || r->n == 0)
		return;
	memset(nc->win_rx, 0, r->n * sizeof(*nc->win_rx));
	memset(nc->win_tx, 0, r->n * sizeof(*nc->win_tx));
	err = bpf_netcount_add_windows(nc->bpf, &nc->keys[i], r->first, r->n, nc->win_rx,
				       nc->win_tx);
	if (err < 0) {
		if (!nc->warned_peaks)
			log_warn_errno(err,
				       "network: reading peak windows of \"%s\" failed, "
				       "reporting peak 0",
				       nc->cur[i].name);
		nc->warned_peaks = true;
		return;
	}
	*ret_rx = peakrate_max(nc->win_rx, r->n, nc->peak_window_ns);
	*ret_tx = peakrate_max(nc->win_tx, r->n, nc->peak_window_ns);
	if (!total)
		return;
	for (uint64_t w = 0; w < r->n; w++) {
		nc->sum_rx[w] += nc->win_rx[w];
		nc->sum_tx[w] += nc->win_tx[w];
	}
}

static void fill_sample(struct network_collector *nc, size_t n, const struct defroute_set *routes,
			const struct peak_range *range, struct net_sample *ret)
{
	if (nc->peak_window_ns) {
		memset(nc->sum_rx, 0, SRVMON_PEAK_SLOTS * sizeof(*nc->sum_rx));
		memset(nc->sum_tx, 0, SRVMON_PEAK_SLOTS * sizeof(*nc->sum_tx));
	}
	/* Two passes: interfaces in the total are reported first, should there be
	 * more than NET_MAX_IFACES. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct net_counters *c = &nc->cur[i];
			struct net_iface_sample *s;
			double peak_rx, peak_tx;
			bool total;

			if (patterns_match(&nc->exclude, c->name))
				continue;
			total = in_total(nc, routes, c->name);
			if (total != (pass == 0))
				continue;
			if (total) {
				ret->upload_rate += nc->res[i].tx_rate;
				ret->download_rate += nc->res[i].rx_rate;
			}
			/* Interfaces new in this interval have no honest peak either. */
			if (nc->res[i].baseline)
				peak_rx = peak_tx = 0;
			else
				iface_peaks(nc, i, range, total, &peak_rx, &peak_tx);
			if (ret->n_ifaces >= NET_MAX_IFACES)
				continue;
			s = &ret->ifaces[ret->n_ifaces++];
			memcpy(s->name, c->name, sizeof(s->name));
			s->rx_bytes = c->rx_bytes;
			s->tx_bytes = c->tx_bytes;
			s->rx_packets = c->rx_packets;
			s->tx_packets = c->tx_packets;
			s->rx_rate = nc->res[i].rx_rate;
			s->tx_rate = nc->res[i].tx_rate;
			s->rx_peak_rate = peak_rx;
			s->tx_peak_rate = peak_tx;
			s->in_total = total;
		}
	}
	if (nc->peak_window_ns) {
		ret->peak_window_ms = nc->peak_window_ns / 1000000u;
		ret->rx_peak_rate = peakrate_max(nc->sum_rx, range->n, nc->peak_window_ns);
		ret->tx_peak_rate = peakrate_max(nc->sum_tx, range->n, nc->peak_window_ns);
	}
}

int network_sample(struct network_collector *nc, struct net_sample *ret)
{
	struct defroute_set routes = {0};
	struct peak_range range = {0};
	struct timespec ts;
	uint64_t now;
	size_t n = 0;
	int r;

	if (!nc || !ret)
		return -EINVAL;
	/* The counters are read at the start of gather(): the interval ends here. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r = gather(nc, &n);
	if (r < 0) {
		if (r != nc->last_err)
			log_err_errno(r, "network: reading counters from %s failed",
				      nc->bpf ? "\"" PROCNETDEV_PATH "\" and the BPF map"
					      : "\"" PROCNETDEV_PATH "\"");
		nc->last_err = r;
		return r;
	}
	nc->last_err = 0;
	now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	if (nc->peak_window_ns) {
		peakrate_range(nc->next_win,
			       (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
			       nc->peak_window_ns, &range);
		nc->next_win = range.first + range.n;
	}
	r = netrate_update(nc->rate, nc->cur, n, now - nc->last_mono_ms, nc->res);
	if (r < 0)
		return r;

	r = defroute_read(NULL, NULL, &routes);
	if (r < 0) {
		if (!nc->warned_routes)
			log_warn_errno(r,
				       "network: reading default routes from \"%s\" failed, "
				       "counting every interface but lo",
				       DEFROUTE_V4_PATH);
		nc->warned_routes = true;
		routes.n = 0;
	}

	memset(ret, 0, sizeof(*ret));
	ret->ts_ms = wall_ms();
	ret->interval_ms = now - nc->last_mono_ms;
	nc->last_mono_ms = now;
	fill_sample(nc, n, &routes, &range, ret);
	return 0;
}

int network_host_bytes(struct network_collector *nc, uint64_t *ret_rx, uint64_t *ret_tx)
{
	struct defroute_set routes = {0};
	struct net_counters *c;
	uint64_t rx = 0, tx = 0;
	size_t n = 0;
	int r;

	if (!nc)
		return -EINVAL;
	/* The devices' own counters, like the interval totals: a tracing program can miss
	 * transmits (docs/network.md). Its own buffer: called from the speed-test thread. */
	c = calloc(NET_GATHER_MAX, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = procnetdev_read(PROCNETDEV_PATH, c, NET_GATHER_MAX, &n);
	if (r == -ENOBUFS)
		r = 0;
	if (r == 0 && defroute_read(NULL, NULL, &routes) < 0)
		routes.n = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (patterns_match(&nc->exclude, c[i].name) || !in_total(nc, &routes, c[i].name))
			continue;
		rx += c[i].rx_bytes;
		tx += c[i].tx_bytes;
	}
	free(c);
	if (r < 0)
		return r;
	*ret_rx = rx;
	*ret_tx = tx;
	return 0;
}

const char *network_collector_name(const struct network_collector *nc)
{
	return nc && nc->bpf ? "bpf" : "procfs";
}

void network_free(struct network_collector *nc)
{
	if (!nc)
		return;
	bpf_netcount_free(nc->bpf);
	netrate_free(nc->rate);
	patterns_free(&nc->include);
	patterns_free(&nc->exclude);
	free(nc->cur);
	free(nc->res);
	free(nc->entries);
	free(nc->keys);
	free(nc->win_rx);
	free(nc->win_tx);
	free(nc->sum_rx);
	free(nc->sum_tx);
	free(nc->base);
	free(nc->next_base);
	free(nc);
}

struct network_collector *network_new(const struct config *cfg)
{
	struct network_collector *nc = NULL;
	enum net_collector_kind kind;
	size_t n = 0;
	int r;

	if (!cfg) {
		r = -EINVAL;
		goto fail;
	}
	kind = cfg->network.collector;
	if (kind != NET_COLLECTOR_AUTO && kind != NET_COLLECTOR_BPF &&
	    kind != NET_COLLECTOR_PROCFS) {
		log_err("network: unknown collector %d", (int)kind);
		r = -EINVAL;
		goto fail;
	}
	nc = calloc(1, sizeof(*nc));
	if (!nc) {
		r = -ENOMEM;
		goto fail;
	}
	nc->cur = calloc(NET_GATHER_MAX, sizeof(*nc->cur));
	nc->res = calloc(NET_GATHER_MAX, sizeof(*nc->res));
	nc->rate = netrate_new();
	if (!nc->cur || !nc->res || !nc->rate) {
		r = -ENOMEM;
		goto fail;
	}
	r = patterns_copy(&nc->include, &cfg->network.include);
	if (r == 0)
		r = patterns_copy(&nc->exclude, &cfg->network.exclude);
	if (r < 0)
		goto fail;

	if (kind != NET_COLLECTOR_PROCFS) {
		struct bpf_netcount_opts opts = {0};
		const char *step = "?";

		r = bpf_netcount_self_netns(&nc->netns_ino);
		if (r == 0) {
			/* Only our namespace: container hosts have many others. */
			opts.netns_ino = nc->netns_ino;
			opts.peak_window_ns =
				peakrate_effective_window_ms(cfg->network.peak_window_ms,
							     cfg->network.interval_ms) *
				1000000u;
			opts.pin_dir = cfg->agent.bpf_pin_dir;
			nc->bpf = bpf_netcount_new(&opts, &step);
			r = nc->bpf ? 0 : -errno;
		} else {
			step = "stat(\"/proc/self/ns/net\")";
		}
		if (r < 0 && kind == NET_COLLECTOR_BPF) {
			log_err_errno(r, "network: BPF collector: %s failed", step);
			goto fail;
		}
		if (r < 0)
			log_warn_errno(r,
				       "network: BPF collector unavailable (%s failed), "
				       "using \"" PROCNETDEV_PATH "\" instead",
				       step);
	}
	if (nc->bpf) {
		nc->entries = calloc(NET_GATHER_MAX, sizeof(*nc->entries));
		nc->keys = calloc(NET_GATHER_MAX, sizeof(*nc->keys));
		nc->win_rx = calloc(SRVMON_PEAK_SLOTS, sizeof(*nc->win_rx));
		nc->win_tx = calloc(SRVMON_PEAK_SLOTS, sizeof(*nc->win_tx));
		nc->sum_rx = calloc(SRVMON_PEAK_SLOTS, sizeof(*nc->sum_rx));
		nc->sum_tx = calloc(SRVMON_PEAK_SLOTS, sizeof(*nc->sum_tx));
		if (!nc->entries || !nc->keys || !nc->win_rx || !nc->win_tx || !nc->sum_rx ||
		    !nc->sum_tx) {
			r = -ENOMEM;
			goto fail;
		}
		nc->peak_window_ns = peakrate_effective_window_ms(cfg->network.peak_window_ms,
								  cfg->network.interval_ms) *
				     1000000u;
		if (nc->peak_window_ns != cfg->network.peak_window_ms * 1000000u)
			log_warn("network: peak_window %llu ms is too short for interval %llu ms, "
				 "using %llu ms",
				 (unsigned long long)cfg->network.peak_window_ms,
				 (unsigned long long)cfg->network.interval_ms,
				 (unsigned long long)(nc->peak_window_ns / 1000000u));
	}
	/* Both modes: the totals come from the devices' own counters. */
	nc->base = calloc(NET_GATHER_MAX, sizeof(*nc->base));
	nc->next_base = calloc(NET_GATHER_MAX, sizeof(*nc->next_base));
	if (!nc->base || !nc->next_base) {
		r = -ENOMEM;
		goto fail;
	}

	/* Baseline: the first network_sample() has rates over a real interval. */
	nc->last_mono_ms = mono_ms();
	r = gather(nc, &n);
	if (r < 0) {
		log_err_errno(r, "network: reading counters from %s failed",
			      nc->bpf ? "\"" PROCNETDEV_PATH "\" and the BPF map"
				      : "\"" PROCNETDEV_PATH "\"");
		goto fail;
	}
	r = netrate_update(nc->rate, nc->cur, n, 0, nc->res);
	if (r < 0)
		goto fail;
	if (nc->peak_window_ns) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		nc->next_win = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) /
			       nc->peak_window_ns;
	}
	log_info("network: collecting with %s", network_collector_name(nc));
	return nc;

fail:
	network_free(nc);
	errno = -r;
	return NULL;
}
