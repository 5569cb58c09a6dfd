#include "bpf_exec.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <unistd.h>

#include "bpf/exec.skel.h"
#include "bpf_pin.h"
#include "bpf_log.h"
#include "log.h"

#define TRACEFS "/sys/kernel/tracing"

struct bpf_exec {
	struct exec *skel;
	struct ring_buffer *rb;
	int epfd;   /* the ring's epoll fd and wakefd */
	int wakefd; /* eventfd: bpf_exec_wake() */
	int stats_fd;
	int ncpus;
	struct srvmon_exec_stats *values; /* ncpus of them, for stats lookups */
	bpf_exec_record_fn fn;
	void *arg;
};

/* The syscall tracepoints are found through tracefs, not mounted at boot here. */
static int tracefs_ensure(void)
{
	if (access(TRACEFS "/events/syscalls", F_OK) == 0)
		return 0;
	if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) < 0 && errno != EBUSY)
		return -errno;
	return access(TRACEFS "/events/syscalls", F_OK) == 0 ? 0 : -ENOENT;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct bpf_exec *e = ctx;
	const struct srvmon_rec_hdr *h = data;

	/* Every record's size is checked before it is used. */
	if (size < sizeof(*h) || h->size > size) {
		log_debug("exec: ring-buffer sample of %zu bytes malformed, ignoring", size);
		return 0;
	}
	if (h->type == SRVMON_REC_WAKE)
		return 0; /* it only woke us */
	e->fn(e->arg, data, h->size);
	return 0;
}

static const char *const pinned_maps[] = {"exec_stats", NULL};

void bpf_exec_free(struct bpf_exec *e)
{
	if (!e)
		return;
	ring_buffer__free(e->rb);
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->wakefd >= 0)
		close(e->wakefd);
	if (e->skel)
		bpf_pin_remove(e->skel->obj);
	exec__destroy(e->skel); /* detaches, then unloads */
	free(e->values);
	free(e);
}

/* Attaches the failed-exec programs; 0 or -errno (then neither is attached). */
static int attach_failed(struct bpf_exec *e)
{
	struct bpf_program *progs[] = {e->skel->progs.exec_exit, e->skel->progs.execat_exit};
	struct bpf_link **links[] = {&e->skel->links.exec_exit, &e->skel->links.execat_exit};
	int r = tracefs_ensure();

	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		*links[i] = bpf_program__attach(progs[i]);
		if (!*links[i]) {
			r = -errno;
			for (size_t j = 0; j <= i; j++) {
				bpf_link__destroy(*links[j]);
				*links[j] = NULL;
			}
			return r;
		}
	}
	return 0;
}

struct bpf_exec *bpf_exec_new(const struct bpf_exec_opts *opts, bpf_exec_record_fn fn, void *arg,
			      const char **ret_step, bool *ret_failed_off)
{
	const char *step = "calloc";
	struct bpf_exec *e;
	uint32_t slots;
	int r;

	bpf_log_init();
	if (ret_failed_off)
		*ret_failed_off = false;
	e = calloc(1, sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto fail;
	}
	e->epfd = -1;
	e->wakefd = -1;
	e->fn = fn;
	e->arg = arg;
	step = "libbpf_num_possible_cpus";
	e->ncpus = libbpf_num_possible_cpus();
	if (e->ncpus <= 0) {
		r = e->ncpus < 0 ? e->ncpus : -EINVAL;
		goto fail;
	}
	e->values = calloc((size_t)e->ncpus, sizeof(*e->values));
	if (!e->values) {
		r = -ENOMEM;
		goto fail;
	}
	/* Open the object. */
	step = "exec__open";
	e->skel = exec__open();
	if (!e->skel) {
		r = -errno;
		goto fail;
	}
	/* Knobs and map sizes from the configuration. */
	step = "set rodata/map sizes";
	r = -EINVAL;
	if (opts->argv_max == 0 || opts->argv_max > SRVMON_EXEC_ARGV_CAP)
		goto fail;
	e->skel->rodata->argv_max = opts->argv_max;
	e->skel->rodata->min_uid = opts->min_uid;
	e->skel->rodata->login_only = opts->login_only;
	e->skel->rodata->capture_failed = opts->capture_failed;
	e->skel->rodata->capture_cwd = opts->capture_cwd;
	e->skel->rodata->filter_comm = opts->n_exclude_comm > 0;
	/* Wake the consumer early only when a quarter of the ring is unread. */
	e->skel->rodata->wake_bytes = opts->ringbuf_size / 4;
	/* Each CPU looks at the ring's fill level once per this many bytes it submits: at
	 * most wake_bytes * 1.5 unread before the forced wake-up, on any number of CPUs. */
	e->skel->rodata->query_bytes = opts->ringbuf_size / 4 / 2 / (uint32_t)e->ncpus;
	r = bpf_map__set_max_entries(e->skel->maps.events, opts->ringbuf_size);
	if (r < 0)
		goto fail;
	r = bpf_map__set_max_entries(e->skel->maps.scratch, (uint32_t)e->ncpus);
	if (r < 0)
		goto fail;
	/* The cwd cache: slots per CPU, a power of two (0: the default). */
	r = -EINVAL;
	slots = opts->cwd_cache_slots ? opts->cwd_cache_slots : BPF_EXEC_CWD_CACHE_DEFAULT;
	if (slots > BPF_EXEC_CWD_CACHE_MAX || (slots & (slots - 1)))
		goto fail;
	e->skel->rodata->cwd_cache_slots = slots;
	r = bpf_map__set_max_entries(e->skel->maps.cwd_cache, slots);
	if (r < 0)
		goto fail;
	/* Pins for bpftool (the loss counters); without them the agent still runs. */
	r = bpf_pin_maps(e->skel->obj, opts->pin_dir, pinned_maps);
	if (r < 0)
		log_warn_errno(r, "history: cannot pin the BPF maps under '%s', ignoring",
			       opts->pin_dir);
	/* Verify and load into the kernel. */
	step = "exec__load";
	r = exec__load(e->skel);
	if (r < 0)
		goto fail;
	step = "exclude_comm map";
	for (size_t i = 0; i < opts->n_exclude_comm; i++) {
		struct srvmon_comm_key key = {0};
		__u8 one = 1;

		strncpy(key.comm, opts->exclude_comm[i], sizeof(key.comm) - 1);
		r = bpf_map__update_elem(e->skel->maps.excluded_comm, &key, sizeof(key), &one,
					 sizeof(one), BPF_ANY);
		if (r < 0)
			goto fail;
	}
	/* Attach: sched_process_exec, then the failed-exec syscall exits. */
	step = "attach tp_btf/sched_process_exec";
	e->skel->links.exec_ok = bpf_program__attach(e->skel->progs.exec_ok);
	if (!e->skel->links.exec_ok) {
		r = -errno;
		goto fail;
	}
	if (opts->capture_failed) {
		r = attach_failed(e);
		if (r < 0) {
			log_debug("exec: syscall tracepoints not attached: %s", strerror(-r));
			if (ret_failed_off)
				*ret_failed_off = true;
		}
	}
	/* The consumer. */
	step = "ring_buffer__new";
	e->rb = ring_buffer__new(bpf_map__fd(e->skel->maps.events), on_sample, e, NULL);
	if (!e->rb) {
		r = -errno;
		goto fail;
	}
	/* One epoll set for the ring and the stop eventfd: a sleep without a timer ends
	 * at the next exec or at bpf_exec_wake(). */
	step = "epoll";
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->epfd < 0 || e->wakefd < 0 ||
	    epoll_ctl(e->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(e->rb),
		      &(struct epoll_event){.events = EPOLLIN}) < 0 ||
	    epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wakefd, &(struct epoll_event){.events = EPOLLIN}) <
		    0) {
		r = -errno;
		goto fail;
	}
	e->stats_fd = bpf_map__fd(e->skel->maps.exec_stats);
	return e;

fail:
	if (r >= 0)
		r = -EINVAL;
	if (ret_step)
		*ret_step = step;
	bpf_exec_free(e);
	errno = -r;
	return NULL;
}

/* Sleeps up to timeout_ms (-1: no limit) for the ring or the wakefd. 0 or -errno. */
static int wait_events(struct bpf_exec *e, int timeout_ms)
{
	struct epoll_event ev[2];
	uint64_t v;

	if (epoll_wait(e->epfd, ev, 2, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	/* A stop request stays visible to the caller through its own flag. */
	if (read(e->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int bpf_exec_poll(struct bpf_exec *e, int timeout_ms)
{
	int r;

	/* Submissions do not wake us (BPF_RB_NO_WAKEUP) unless the ring fills up. */
	r = wait_events(e, timeout_ms);
	if (r < 0)
		return r;
	return ring_buffer__consume(e->rb);
}

int bpf_exec_idle(struct bpf_exec *e)
{
	int n;

	__atomic_store_n(&e->skel->bss->consumer_idle, 1, __ATOMIC_SEQ_CST);
	/* A record committed before the program saw the flag: no wake-up follows it. */
	n = ring_buffer__consume(e->rb);
	if (n == 0)
		n = wait_events(e, -1);
	__atomic_store_n(&e->skel->bss->consumer_idle, 0, __ATOMIC_SEQ_CST);
	return n;
}

int bpf_exec_wake(struct bpf_exec *e)
{
	uint64_t one = 1;

	if (write(e->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int bpf_exec_stats(struct bpf_exec *e, struct srvmon_exec_stats *ret)
{
	struct srvmon_exec_stats sum = {0};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(e->stats_fd, &zero, e->values) < 0)
		return -errno;
	for (int cpu = 0; cpu < e->ncpus; cpu++) {
		const struct srvmon_exec_stats *v = &e->values[cpu];

		sum.ringbuf_full += v->ringbuf_full;
		sum.argv_truncated += v->argv_truncated;
		sum.filtered += v->filtered;
		sum.emitted += v->emitted;
		sum.read_fault += v->read_fault;
		sum.cwd_cached += v->cwd_cached;
		sum.cwd_walked += v->cwd_walked;
	}
	*ret = sum;
	return 0;
}

int bpf_exec_prog_fd(struct bpf_exec *e)
{
	return bpf_program__fd(e->skel->progs.exec_ok);
}
